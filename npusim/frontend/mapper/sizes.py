"""Storage sizes of a matmul layer's operand tiles and runs, in the layer's operand types: every
memory-fit and DDR-traffic size the mapper and the program builders use comes from here, through
:func:`npusim.numerics.operand_bytes` (bfp16 at 9 bytes per block of 8 along K, int4 weights at
half a byte plus a bf16 scale per group)."""
from __future__ import annotations

from typing import Any

from ...numerics import ACC_BYTES, IN_BYTES, operand_bytes
from ..layers.matmul import BLOCK_FORMATS as BLOCK_B, Conv2d, Gemm

__all__ = ["BLOCK_B", "a_run_bytes", "b_plain_bytes", "b_tile_bytes", "k_problem"]


def b_tile_bytes(layer: Gemm | Conv2d, k: Any, n: Any) -> Any:
    """A B tile: ``k x n`` operands in B's type (:func:`npusim.numerics.operand_bytes`: bfp16 block
    exponents and int4 scales included), followed by ``n`` 32-bit bias values when a bias is fused
    (the bias rides with every B tile, a layout made offline with the weights). ``k`` and ``n`` may
    be numpy arrays."""
    return operand_bytes(layer.b_type, k, n, True, layer.group_size) + (n * ACC_BYTES if layer.bias else 0)


def a_run_bytes(layer: Gemm | Conv2d, elems: Any) -> Any:
    """Bytes of ``elems`` consecutive A elements along K (a row of a tile, a whole row of A): their
    element size, or whole bfp16 blocks with their exponents (``elems`` a multiple of 8)."""
    return operand_bytes(layer.dtype, 1, elems)


def b_plain_bytes(layer: Gemm | Conv2d) -> int:
    """Bytes of a B element in B's row-major and column-major layouts (plain types only: the block
    formats are weights, packed offline tile by tile)."""
    if layer.b_type not in IN_BYTES:
        raise ValueError(f"B of type {layer.b_type} has no row- or column-major layout (it is packed tile by tile)")
    return IN_BYTES[layer.b_type]


def k_problem(layer: Gemm | Conv2d, k: int) -> str | None:
    """Why a reduction tile ``k`` cannot hold the layer's operands in whole DMA words (None: it can):
    a bfp16 A row of ``k`` is ``9 k / 8`` bytes, so ``k`` must be a multiple of 32; int4 weights
    need ``k`` in whole quantisation groups."""
    if layer.dtype not in IN_BYTES and (k % 8 or a_run_bytes(layer, k) % 4):
        return f"a {layer.dtype} A row of k={k} elements is not a whole number of 32-bit words (k a multiple of 32)"
    if layer.b_type == "int4" and k % layer.group_size:
        return f"int4 weights need k in whole groups of {layer.group_size} (k={k})"
    return None
