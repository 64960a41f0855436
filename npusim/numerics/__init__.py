"""Number formats of the compute tiles, on numpy: bf16, accumulators and output conversion.

bf16 values are kept as their 16-bit patterns (``uint16``): the upper half of an IEEE float32.
Conversion to bf16 rounds to nearest, ties to even, as the AIE-ML vector unit's ``to_vector``
does in its default rounding mode. Integer outputs narrower than the accumulator are produced by
an arithmetic right shift with rounding half up, then saturation (AIE-ML's shift-round-saturate
on store, rounding mode "positive infinity", saturation on).

The block and group formats (bfp16, group-quantised int4) and the storage size of any operand tile
(:func:`operand_bytes`) are in :mod:`npusim.numerics.blocks`.

This package imports nothing from npusim: the kernels (functional mode) and the frontend's numpy
reference use the same rules.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]

OutType = Literal["int8", "int16", "int32", "bf16", "fp32"]
"""Element types a matmul can emit."""

IN_BYTES = {"int8": 1, "int16": 2, "bf16": 2}
OUT_BYTES = {"int8": 1, "int16": 2, "int32": 4, "bf16": 2, "fp32": 4}
ACC_BYTES = 4
"""Accumulators are 32 bits: int32 for the integer types, fp32 for bf16."""

OUTPUTS: dict[str, tuple[OutType, ...]] = {
    "int8": ("int8", "int16", "int32"), "int16": ("int16", "int32"), "bf16": ("bf16", "fp32"),
    "bfp16": ("bf16", "fp32"),
}
"""Output types each operand type can emit; the first is the default."""

_STORAGE: dict[str, type[Any]] = {"int8": np.int8, "int16": np.int16, "bf16": np.uint16,
            "int32": np.int32, "fp32": np.float32}


def storage_dtype(kind: str) -> np.dtype[Any]:
    """numpy dtype that holds elements of ``kind`` in memory (bf16 as ``uint16`` bit patterns)."""
    return np.dtype(_STORAGE[kind])


def bf16_to_f32(bits: Array) -> Array:
    """Widen bf16 bit patterns to float32 (exact)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x: npt.ArrayLike) -> Array:
    """Round float32 values to bf16 bit patterns: nearest, ties to even; NaN stays NaN."""
    f = np.ascontiguousarray(x, dtype=np.float32)
    u = f.view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    out = rounded.astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():
        out[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return out


def as_operand(values: Array, kind: str) -> Array:
    """Operand elements as numbers for arithmetic: int64 for integer types, float32 for bf16."""
    if kind == "bf16":
        return bf16_to_f32(values.view(np.uint16))
    return values.astype(np.int64)


FLOAT_KINDS = ("bf16", "bfp16", "int4")
"""Operand types whose products accumulate in fp32 (int4 weights are dequantised to bf16)."""


def accumulate_dtype(kind: str) -> np.dtype[Any]:
    """Accumulator element type of an operand type: int32, or float32 for the float family."""
    return np.dtype(np.float32 if kind in FLOAT_KINDS else np.int32)


def wrap_int32(x: Array) -> Array:
    """Two's-complement wrap to 32 bits, as a 32-bit accumulator does."""
    return x.astype(np.int64).astype(np.int32)


def narrow(acc: Array, out: str, shift: int = 0) -> Array:
    """Convert accumulators to the output type ``out`` (shift-round-saturate for integers)."""
    if out == "bf16":
        return f32_to_bf16(acc.astype(np.float32))
    if out == "fp32":
        return acc.astype(np.float32)
    wide = acc.astype(np.int64)
    if shift:
        wide = (wide + (1 << (shift - 1))) >> shift
    info = np.iinfo(np.dtype(_STORAGE[out]))
    return np.clip(wide, info.min, info.max).astype(_STORAGE[out])


def widen(stored: Array, kind: str, shift: int = 0) -> Array:
    """Stored output-type values back in the accumulator type: integers scaled up by ``shift``
    (the inverse of :func:`narrow`'s scaling, wrapping at 32 bits), bf16 widened to fp32."""
    if kind == "bf16":
        return bf16_to_f32(stored)
    if kind == "fp32":
        return stored.astype(np.float32)
    return wrap_int32(stored.astype(np.int64) << shift)


def reference_matmul(a: Array, b: Array, kind: str, out: str,
                     shift: int = 0, bias: Array | None = None, relu: bool = False) -> Array:
    """What the hardware should produce for ``a @ b``: the exact product in the accumulator
    (int32 wrap-around; float64 summation for bf16), plus ``bias`` (accumulator type, one per
    column) and clamped at zero if ``relu``, then converted to ``out``."""
    acc: Array
    if kind == "bf16":
        exact = as_operand(a, kind).astype(np.float64) @ as_operand(b, kind).astype(np.float64)
        acc = exact.astype(np.float32)
        if bias is not None:
            acc = (acc + bias.astype(np.float32)).astype(np.float32)
    else:
        acc = wrap_int32(as_operand(a, kind) @ as_operand(b, kind))
        if bias is not None:
            acc = wrap_int32(acc.astype(np.int64) + bias.astype(np.int64))
    if relu:
        acc = np.maximum(acc, 0)
    return narrow(acc, out, shift)


def values(x: Array, kind: str) -> Array:
    """Elements of type ``kind`` as float64 numbers, for error measures."""
    if kind == "bf16":
        return bf16_to_f32(x.view(np.uint16)).astype(np.float64)
    return x.astype(np.float64)


from .blocks import (  # noqa: E402  (the block formats build on the rules above)
    BFP16_BLOCK, BFP16_BLOCK_BYTES, INT4_SCALE_BYTES, bfp16_bytes, bfp16_decode, bfp16_encode, bfp16_round, int4_decode,
    int4_encode, int4_pack,
    operand_bytes, pack_operand, unpack_operand,
)

__all__ = [
    "ACC_BYTES", "Array", "BFP16_BLOCK", "BFP16_BLOCK_BYTES", "FLOAT_KINDS", "IN_BYTES", "INT4_SCALE_BYTES", "OUTPUTS",
    "OUT_BYTES", "OutType", "accumulate_dtype", "as_operand", "bf16_to_f32", "bfp16_decode", "bfp16_encode",
    "bfp16_bytes", "bfp16_round", "f32_to_bf16", "int4_decode", "int4_encode", "int4_pack", "narrow", "operand_bytes", "pack_operand",
    "reference_matmul",
    "storage_dtype", "unpack_operand", "values", "wrap_int32",
]
