"""A plan's whole program, for either kind of matmul layer."""
from __future__ import annotations

from ...isa import Program
from ..layers.matmul import Gemm
from ..mapper.design import TilePlan
from .conv import a_tensor_bytes, conv_a_transfer
from .matmul import build_program, gemm_a_transfer


def program_of(p: TilePlan) -> Program:
    """The program of plan ``p``: a GEMM reads A row-major; a convolution gathers it from the
    padded NHWC input, one task per super-tile row when super-tile rows come innermost, and one per
    super-tile when it moves A a step at a time (its pattern has no dimension left to repeat)."""
    layer = p.layer
    desc = f"{layer.describe()} lowered by npusim: {p.design.describe()}"
    if isinstance(layer, Gemm):
        return build_program(p, gemm_a_transfer, p.Mp * p.a_run(p.Kp), layer.name, desc)
    return build_program(p, conv_a_transfer, a_tensor_bytes(p), layer.name, desc, a_chunk=1,
                         a_repeats=(p.a_block_steps > 1 or p.kt == layer.kernel_h) and p.design.pixels == "strip")
