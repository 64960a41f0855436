"""Operands in the block and group formats (bfp16, int4 weights): random values and their DDR
layouts.

A bfp16 operand is given as plain float32 values; the packer rounds them to bfp16 blocks of 8
along K, as an offline converter does, so the simulated product is that of the rounded values.
The check (:func:`.matmul.compare`) rounds the given values with the independent reference's own
bfp16 rule (:func:`npusim.reference.bfp16`), not the packer's.

An int4 operand is given as it is stored: the 4-bit values ``q`` (``b``, ``k x n``) and one bf16
scale per ``group_size`` weights along K (``b_scale``, ``ceil(k / group) x n``); the reference
dequantises them by its own rule (:func:`npusim.reference.int4_weights`).
"""
from __future__ import annotations

import numpy as np

from ...numerics import Array, bfp16_bytes, f32_to_bf16
from ..layers.matmul import Conv2d, Gemm

def random_block_b(layer: Gemm | Conv2d, rng: np.random.Generator, k: int, n: int) -> dict[str, Array]:
    """B of a block or group type: bfp16 as float32 values, int4 as ``q`` and its scales."""
    if layer.b_type == "bfp16":
        return {"b": rng.standard_normal((k, n), dtype=np.float32)}
    groups = -(-k // layer.group_size)
    scale = np.abs(rng.standard_normal((groups, n))) * 0.05 + 1e-3
    return {"b": rng.integers(-8, 7, size=(k, n), endpoint=True).astype(np.int8),
            "b_scale": f32_to_bf16(scale.astype(np.float32))}


def pack_a_bfp16(a: Array, mp: int, kp: int, nbytes: int) -> Array:
    """A (``m x k`` values) zero-padded to ``mp x kp`` as bfp16 rows of blocks, in ``nbytes`` bytes."""
    full = np.zeros((mp, kp), dtype=np.float32)
    full[:a.shape[0], :a.shape[1]] = a
    out = np.zeros(nbytes, dtype=np.uint8)
    raw = bfp16_bytes(full).reshape(-1)
    out[:raw.size] = raw
    return out


def pack_b_tiles(layer: Gemm | Conv2d, b: Array, scale: Array | None, k: int, n: int) -> Array:
    """B (``Kp x Np``, padded) of a block type as ``[column of tiles][step][tile bytes]``: bfp16
    tiles as ``k / 8`` block rows of the ``n`` columns' blocks; int4 tiles as their nibbles row-major
    (two per byte, even element low) then their scales row-major (:mod:`npusim.numerics.blocks`)."""
    kp, np_ = b.shape
    kt, nt = kp // k, np_ // n
    if layer.b_type == "bfp16":
        blocks = bfp16_bytes(np.ascontiguousarray(b.T, dtype=np.float32))  # (Np, Kp / 8, 9)
        tiles = blocks.reshape(nt, n, kt, k // 8, 9).transpose(0, 2, 3, 1, 4)
        return np.ascontiguousarray(tiles).reshape(nt, kt, -1)
    assert scale is not None
    q = b.reshape(kt, k, nt, n).transpose(2, 0, 1, 3).reshape(nt, kt, -1).astype(np.uint8) & 0xF
    nibbles = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    g = layer.group_size
    s = np.ascontiguousarray(scale.reshape(kt, k // g, nt, n).transpose(2, 0, 1, 3), dtype=np.uint16)
    return np.concatenate([nibbles, s.reshape(nt, kt, -1).view(np.uint8)], axis=2)


def padded_scales(layer: Gemm | Conv2d, scale: Array, kp: int, np_: int) -> Array:
    """int4 scales zero-padded to the padded B's groups (``kp / group x np``)."""
    out = np.zeros((kp // layer.group_size, np_), dtype=np.uint16)
    out[:scale.shape[0], :scale.shape[1]] = scale
    return out
