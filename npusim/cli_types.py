"""The operand-type flags of the layer commands (run, lower, sweep): ``--dtype``, ``--b-dtype``,
``--group-size`` and ``--out-dtype``."""
from __future__ import annotations

import argparse

from .cli_errors import UsageError
from .config import OPERAND_TYPES


def add_type_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dtype", choices=("int8", "int16", "bf16", "bfp16"), help="operand type (a layer: int8; an "
                   "ONNX model: the model's types, floats as bf16; bfp16: XDNA2's block floating point, a GEMM's)")
    p.add_argument("--b-dtype", choices=OPERAND_TYPES, help="a layer's B type when it differs from --dtype, e.g. "
                   "--dtype bf16 --b-dtype bfp16, or int4 (weights quantised in groups along K, a bf16 scale each)")
    p.add_argument("--group-size", type=int, choices=(32, 128), default=32, help="int4: weights per scale (32)")
    p.add_argument("--out-dtype", choices=("int8", "int16", "int32", "bf16", "fp32"),
                   help="output type (default: the operand type; int8 -> int8, int16 or int32)")


def refuse_for_onnx(args: argparse.Namespace) -> None:
    """An ONNX model's layers take the tensor types only."""
    if args.dtype == "bfp16" or args.b_dtype:
        raise UsageError("--dtype bfp16 and --b-dtype apply to one layer (--gemm, --conv2d or a workload's layers); "
                         "an ONNX model's layers take --dtype int8, int16 or bf16")
