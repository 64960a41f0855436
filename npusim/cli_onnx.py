"""The command line's ONNX parts: importing a model for ``run --onnx`` and ``lower --onnx``
(which explains every layer's lowering and, with ``--fusion on``, which layers fuse), and
``npusim import-onnx``."""
from __future__ import annotations

import argparse
import sys

from .cli_errors import UsageError
from .cli_types import refuse_for_onnx
from .config import NPUConfig
from .frontend import Conv2d, Gemm, lower
from .frontend.mapper.explain import explain, explain_vector
from .frontend.onnx.importer import ImportedModel, import_onnx, save_workload
from .frontend.program.vector import lower_vector
from .limits import check_size


def imported(args: argparse.Namespace, quiet: bool) -> ImportedModel:
    """``--onnx MODEL`` imported (``--dtype``, ``--skip-unsupported``), its summary printed (to
    stderr when ``quiet``); the layer type flags an ONNX model cannot take are refused."""
    refuse_for_onnx(args)
    model = import_onnx(args.onnx, args.dtype, args.skip_unsupported)
    print("\n".join(model.summary()), file=sys.stderr if quiet else sys.stdout)
    if not quiet:
        print()
    return model


def lower_onnx(args: argparse.Namespace, config: NPUConfig) -> int:
    """``npusim lower --onnx MODEL``: every layer's lowering explained, then (``--fusion on``)
    the fusion plan."""
    if args.output:
        raise UsageError("npusim lower --onnx explains every layer; -o writes one layer's trace: use --gemm or "
                         "--conv2d with -o")
    parts: list[str] = []
    workload = imported(args, False).workload
    for layer in workload.layers:
        check_size(layer)
        if isinstance(layer, (Gemm, Conv2d)):
            parts.append(explain(config, lower(config, layer)))
        else:
            parts.append(explain_vector(config, lower_vector(config, layer)))
    if args.fusion == "on":
        from .frontend.fusion.explain import explain_fusion  # lazy: the fusion search simulates

        parts.append(explain_fusion(config, workload))
    print("\n\n".join(parts))
    return 0


def import_onnx_command(args: argparse.Namespace) -> int:
    """``npusim import-onnx MODEL -o WORKLOAD``."""
    model = import_onnx(args.model, args.dtype, args.skip_unsupported, args.name)
    header = tuple(model.summary()) + (f"regenerate: npusim import-onnx {args.model} -o {args.output}",)
    save_workload(model.workload, args.output, header)
    print("\n".join(model.summary()))
    print(f"workload {args.output}: {len(model.workload.layers)} layers")
    return 0
