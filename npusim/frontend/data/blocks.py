"""Operands in the block and group formats (bfp16, int4 weights): random values, their DDR
layouts, and what numpy's answer may differ by.

A bfp16 operand is given as plain float32 values; the packer rounds them to bfp16 blocks of 8
along K, as an offline converter does, so the simulated product is that of the rounded values.
The check compares with the exact product of the *given* values and allows the block format's
rounding, bounded from the format's definition alone (no conversion code): a value rounded to a
block's 8-bit mantissas moves by at most half a unit of ``2**(E - 133)``, and the block's largest
magnitude is at least ``2**(E - 127)``, so each value moves by at most ``2**-7`` times its block's
largest magnitude. A bf16 operand of a kernel that emulates bf16 through bfp16 gets the same
allowance.

An int4 operand is given as it is stored: the 4-bit values ``q`` (``b``, ``k x n``) and one bf16
scale per ``group_size`` weights along K (``b_scale``, ``ceil(k / group) x n``); numpy's answer
uses the weights ``q * scale`` exactly, and the kernel's rounding of each dequantised weight to
bf16 (``2**-8`` relative) is allowed for.
"""
from __future__ import annotations

import numpy as np

from ...numerics import Array, bf16_to_f32, bfp16_bytes, f32_to_bf16
from ..layers.matmul import Conv2d, Gemm

BFP16_STEP = 2.0 ** -7
"""Largest move of a value rounded to bfp16, relative to its block's largest magnitude."""
BF16_STEP = 2.0 ** -8
"""Largest relative move of a value rounded to bf16 (half a unit in the last of 8 bits)."""


def random_block_b(layer: Gemm | Conv2d, rng: np.random.Generator, k: int, n: int) -> dict[str, Array]:
    """B of a block or group type: bfp16 as float32 values, int4 as ``q`` and its scales."""
    if layer.b_type == "bfp16":
        return {"b": rng.standard_normal((k, n), dtype=np.float32)}
    groups = -(-k // layer.group_size)
    scale = np.abs(rng.standard_normal((groups, n))) * 0.05 + 1e-3
    return {"b": rng.integers(-8, 7, size=(k, n), endpoint=True).astype(np.int8),
            "b_scale": f32_to_bf16(scale.astype(np.float32))}


def int4_weights(q: Array, scale_bits: Array, group: int) -> Array:
    """The weights ``q * scale`` (float64, exact) of int4 values and their group scales."""
    scale = np.repeat(bf16_to_f32(scale_bits).astype(np.float64), group, axis=0)[:q.shape[0]]
    return q.astype(np.float64) * scale


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


def _block_max(x: Array, axis: int) -> Array:
    """Each element replaced by the largest magnitude of its block of 8 along ``axis`` (K)."""
    moved = np.moveaxis(np.abs(x), axis, -1)
    k = moved.shape[-1]
    pad = np.zeros((*moved.shape[:-1], -(-k // 8) * 8), dtype=np.float64)
    pad[..., :k] = moved
    big = pad.reshape(*moved.shape[:-1], -1, 8).max(axis=-1)
    return np.moveaxis(np.repeat(big, 8, axis=-1)[..., :k], -1, axis)


def format_error(a: Array, b: Array, a_kind: str, b_kind: str, emulated: bool) -> Array:
    """A bound on how far ``a @ b`` moves when its operands are rounded to their formats (``a``
    and ``b`` the exact values): bfp16 operands (and both, when the kernel emulates bf16 through
    bfp16) by ``2**-7`` of their block's largest magnitude, int4 weights by their bf16 rounding."""
    da = np.zeros_like(a) if a_kind != "bfp16" and not emulated else BFP16_STEP * _block_max(a, 1)
    if b_kind == "bfp16" or emulated:
        db = BFP16_STEP * _block_max(b, 0)
    elif b_kind == "int4":
        db = BF16_STEP * np.abs(b)
    else:
        db = np.zeros_like(b)
    return np.asarray(da @ np.abs(b) + np.abs(a) @ db + da @ db)
