"""Block and group formats of matmul operands, and the storage size of any operand tile.

**bfp16** (XDNA2's block floating point, Jena "Hello XDNA" isa.rst; facts §2): blocks of 8 values
*along K* (a row of A, a column of B) share one 8-bit exponent ``E``; each value keeps a signed
8-bit mantissa ``q`` in [-127, 127]: ``value = q * 2**(E - 127 - 6)``. A block is stored as 9
bytes, ``E`` then ``q0..q7`` (1.125 bytes per element). Conversion: ``E`` is the unbiased exponent
of the block's largest magnitude plus 127 (0 for an all-zero block, never below 0), the mantissas
are rounded to nearest, ties to even; if that rounds the largest up to 128, ``E`` goes up by one
and the block is rounded again. So every value is within half a unit of ``2**(E - 133)`` of its
input, and the largest keeps 7 bits. Inf and NaN are not representable.

**int4** weights (B only), group-quantised along K: a signed 4-bit ``q`` in [-8, 7] per weight
and one **bf16 scale** per group of ``group`` consecutive weights along K of a column (symmetric,
no zero point). The kernel dequantises each weight to bf16, ``w = bf16(q * scale)``, and feeds it
to its bf16 datapath. Stored as the ``k x n`` nibbles row-major, two per byte (even element in the
low nibble), then the ``(k / group) x n`` scales row-major: 0.5 bytes per weight plus
``2 / group`` for the scales.

Layouts in memory (what a DMA moves and a kernel reads):

- A (``m x k``, K along the columns): rows one after another; bfp16 rows are ``k / 8`` blocks.
- B (``k x n``, K along the rows): plain types row-major; bfp16 as ``k / 8`` block rows, each the
  ``n`` columns' blocks in turn (``[k // 8][n][9 bytes]``); int4 as above.
"""
from __future__ import annotations

from typing import Any, overload

import numpy as np

from . import IN_BYTES, OUT_BYTES, Array, as_operand, bf16_to_f32, f32_to_bf16

BFP16_BLOCK = 8
"""Values sharing one exponent."""
BFP16_BLOCK_BYTES = 9
"""Bytes of a bfp16 block: the exponent and eight mantissas."""
INT4_SCALE_BYTES = 2
"""Bytes of an int4 group's scale (bf16)."""
_BIAS, _MANT = 127, 6


@overload
def operand_bytes(kind: str, rows: int, cols: int, k_rows: bool = False, group: int = 32) -> int: ...
@overload
def operand_bytes(kind: str, rows: Any, cols: Any, k_rows: bool = False, group: int = 32) -> Any: ...


def operand_bytes(kind: str, rows: Any, cols: Any, k_rows: bool = False, group: int = 32) -> Any:
    """Bytes of a ``rows x cols`` tile of ``kind`` in memory: plain types (operands, accumulators,
    outputs) at their element size; bfp16 with its block exponents (K along the columns, or the
    rows when ``k_rows``, in whole blocks of 8); int4 (K along the rows) with a bf16 scale per
    ``group`` weights. ``rows`` and ``cols`` may be integers or numpy integer arrays (one tile
    shape per element; the result is then an array). Raises ValueError for a shape the format
    cannot hold."""
    if kind in IN_BYTES or kind in OUT_BYTES:
        return rows * cols * {**OUT_BYTES, **IN_BYTES}[kind]
    k = rows if k_rows else cols
    if kind == "bfp16":
        if np.any(np.asarray(k) % BFP16_BLOCK):
            raise ValueError(f"a bfp16 tile needs K in whole blocks of {BFP16_BLOCK}, got K = {k}")
        return rows * cols // BFP16_BLOCK * BFP16_BLOCK_BYTES
    if kind == "int4":
        if not k_rows:
            raise ValueError("int4 is a weight format: B, with K along the rows (k_rows=True)")
        if np.any(np.asarray(k) % group) or np.any(np.asarray(rows * cols) % 2):
            raise ValueError(f"an int4 tile needs K in whole groups of {group} and an even element count, "
                             f"got {rows} x {cols}")
        return rows * cols // 2 + (k // group) * cols * INT4_SCALE_BYTES
    raise ValueError(f"unknown operand type {kind!r}")


def bfp16_encode(x: Array) -> tuple[Array, Array]:
    """Blocks of 8 along the last axis of ``x`` (finite values) -> (exponents ``uint8`` of shape
    ``(..., n // 8)``, mantissas ``int8`` of shape ``(..., n // 8, 8)``)."""
    v = np.asarray(x, dtype=np.float64)
    blocks = v.reshape(*v.shape[:-1], v.shape[-1] // BFP16_BLOCK, BFP16_BLOCK)
    big = np.abs(blocks).max(axis=-1)
    _, e2 = np.frexp(big)  # big = f * 2**e2, f in [0.5, 1): unbiased exponent e2 - 1
    exp = np.where(big > 0, np.maximum(e2 - 1 + _BIAS, 0), 0).astype(np.int64)
    q = np.rint(blocks / np.exp2(exp - _BIAS - _MANT)[..., None])
    over = np.abs(q).max(axis=-1) > 127  # the largest rounded up to 128: one exponent more, round again
    exp = exp + over
    q = np.rint(blocks / np.exp2(exp - _BIAS - _MANT)[..., None])
    return exp.astype(np.uint8), q.astype(np.int8)


def bfp16_decode(exp: Array, mant: Array) -> Array:
    """(exponents, mantissas) of :func:`bfp16_encode` -> float64 values, blocks flattened."""
    v = mant.astype(np.float64) * np.exp2(exp.astype(np.int64) - _BIAS - _MANT)[..., None]
    return v.reshape(*v.shape[:-2], v.shape[-2] * BFP16_BLOCK)


def bfp16_round(x: Array, axis: int = -1) -> Array:
    """``x`` as bfp16 represents it, blocks of 8 along ``axis`` (float64)."""
    moved = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    return np.moveaxis(bfp16_decode(*bfp16_encode(moved)), -1, axis)


def _bfp16_values(raw: Array) -> Array:
    return bfp16_decode(raw[..., 0], raw[..., 1:].view(np.int8))


def int4_encode(w: Array, group: int = 32) -> tuple[Array, Array]:
    """Quantise weights ``w`` (``k x n``) -> (``q`` int8 in [-8, 7], bf16 scale bits ``(k / group)
    x n``): per group, scale = bf16(max |w| / 7), ``q = clip(rint(w / scale), -8, 7)``."""
    k, n = w.shape
    g = np.asarray(w, dtype=np.float64).reshape(k // group, group, n)
    scale_bits = f32_to_bf16((np.abs(g).max(axis=1) / 7).astype(np.float32))
    scale = bf16_to_f32(scale_bits).astype(np.float64)
    safe = np.where(scale > 0, scale, 1.0)[:, None, :]
    q = np.clip(np.rint(g / safe), -8, 7).astype(np.int8).reshape(k, n)
    return q, scale_bits


def int4_decode(q: Array, scale_bits: Array, group: int = 32) -> Array:
    """Dequantised weights as the kernel computes them: bf16(q * scale), as float32."""
    scale = np.repeat(bf16_to_f32(scale_bits), group, axis=0)
    return bf16_to_f32(f32_to_bf16(q.astype(np.float32) * scale))


def int4_pack(q: Array, scale_bits: Array) -> Array:
    """A ``k x n`` int4 tile (``q`` in [-8, 7], bf16 ``scale_bits`` per group) as its bytes: the
    nibbles row-major, two per byte (even element low), then the scales row-major."""
    flat = q.reshape(-1).astype(np.uint8) & 0xF
    nibbles = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)
    return np.concatenate([nibbles, np.ascontiguousarray(scale_bits, dtype=np.uint16).reshape(-1).view(np.uint8)])


def bfp16_bytes(x: Array) -> Array:
    """Values ``x`` as bfp16 blocks of 8 along the last axis: ``(..., n // 8, 9)`` bytes (the
    exponent, then the eight mantissas)."""
    exp, mant = bfp16_encode(x)
    return np.concatenate([exp[..., None], mant.view(np.uint8)], axis=-1)


def pack_operand(values: Array, kind: str, k_rows: bool = False, group: int = 32) -> Array:
    """A tile of ``kind`` as the bytes :func:`unpack_operand` reads: plain types from their
    storage elements; bfp16 and int4 from float values (converted, as an offline packer does)."""
    if kind == "bfp16":
        if k_rows:
            return np.ascontiguousarray(bfp16_bytes(values.T).transpose(1, 0, 2)).reshape(-1)
        return np.ascontiguousarray(bfp16_bytes(values)).reshape(-1)
    if kind == "int4":
        return int4_pack(*int4_encode(values, group))
    return np.ascontiguousarray(values).reshape(-1).view(np.uint8)


def unpack_operand(mem: Array, kind: str, rows: int, cols: int, k_rows: bool = False, group: int = 32) -> Array:
    """The ``rows x cols`` tile of ``kind`` at the start of ``mem`` (bytes) as numbers for
    arithmetic: int64 for the integer types, float32 for bf16 and dequantised int4, float64
    (exact) for bfp16."""
    nbytes = operand_bytes(kind, rows, cols, k_rows, group)
    raw = np.asarray(mem[:nbytes], dtype=np.uint8)
    if kind == "bfp16":
        if k_rows:
            blocks = raw.reshape(rows // BFP16_BLOCK, cols, BFP16_BLOCK_BYTES).transpose(1, 0, 2)
            return _bfp16_values(blocks).T
        return _bfp16_values(raw.reshape(rows, cols // BFP16_BLOCK, BFP16_BLOCK_BYTES))
    if kind == "int4":
        half = rows * cols // 2
        nib = raw[:half]
        flat: Array = np.empty(rows * cols, dtype=np.int8)
        flat[0::2], flat[1::2] = nib & 0xF, nib >> 4
        q = np.where(flat > 7, flat - 16, flat).astype(np.int8).reshape(rows, cols)
        return int4_decode(q, raw[half:].view(np.uint16).reshape(rows // group, cols), group)
    storage = {"int8": np.int8, "int16": np.int16, "bf16": np.uint16}[kind]
    return as_operand(raw.view(storage).reshape(rows, cols), kind)
