"""What core code's operations compute: MLIR's ``arith`` semantics on numpy.

Shared by functional mode's interpreter (:mod:`npusim.hw.core_code`) and the mlir-aie importer's
constant folding (:mod:`npusim.mlir`), so a folded constant equals what the core would compute.

A value is a 1-D numpy array: one lane for a scalar, ``n`` for a ``vector<n x T>``. Integers wrap
at their width (``arith`` ops are signless; the ``u`` ops and predicates read the bits as
unsigned); ``index`` is 64 bits; ``i1`` is bool. ``bf16`` values are kept as float32 numbers
rounded to bf16 after every operation (round to nearest, ties to even, :mod:`npusim.numerics`).
Division by zero, which MLIR leaves undefined, gives 0; a float-to-integer cast saturates.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .numerics import Array, bf16_to_f32, f32_to_bf16

_NP: dict[str, Any] = {
    "i1": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64, "index": np.int64,
    "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64, "f32": np.float32,
    "bf16": np.float32,
}
_UNSIGNED = {np.dtype(np.int8): np.uint8, np.dtype(np.int16): np.uint16, np.dtype(np.int32): np.uint32,
             np.dtype(np.int64): np.uint64, np.dtype(np.bool_): np.bool_}


def elem_bytes(ty: str) -> int:
    """Bytes of one element of ``ty`` in memory (bf16: 2)."""
    return 2 if ty == "bf16" else 1 if ty == "i1" else np.dtype(_NP[ty]).itemsize


def known_type(ty: str) -> bool:
    return ty in _NP


def value(ty: str, x: Any, lanes: int = 1) -> Array:
    """``x`` (a number or sequence) as a value of element type ``ty``."""
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.integer) and ty in _NP and np.dtype(_NP[ty]).kind in "iub":
        out = arr.astype(np.int64).astype(_NP[ty]) if ty != "i1" else arr.astype(np.bool_)
    else:
        with np.errstate(all="ignore"):
            out = arr.astype(_NP[ty])
    out = np.broadcast_to(out.reshape(-1), (lanes,)).copy() if out.size == 1 else out.reshape(-1)
    return _round(out, ty)


def _round(x: Array, ty: str) -> Array:
    return bf16_to_f32(f32_to_bf16(x.astype(np.float32))) if ty == "bf16" else x


def _unsigned(x: Array) -> Array:
    return x.astype(_UNSIGNED.get(x.dtype, x.dtype))


def _div(a: Array, b: Array, signed: bool) -> Array:
    if not signed:
        a, b = _unsigned(a), _unsigned(b)
    safe = np.where(b == 0, 1, b)
    q = a // safe
    if signed:
        q = q + (((a % safe) != 0) & ((a < 0) ^ (safe < 0))).astype(q.dtype)
    return np.where(b == 0, 0, q)


def _shift_amount(b: Array, a: Array) -> Array:
    return b.astype(np.int64) & (a.dtype.itemsize * 8 - 1)


_CMP: dict[str, Callable[[Array, Array], Array]] = {
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
}


def _cmpi(pred: str, a: Array, b: Array) -> Array:
    if pred[0] == "u":
        a, b = _unsigned(a), _unsigned(b)
    return _CMP[pred[1:] if pred[0] in "su" else pred](a, b)


def _cmpf(pred: str, a: Array, b: Array) -> Array:
    nan = np.isnan(a) | np.isnan(b)
    if pred in ("ord", "uno"):
        return ~nan if pred == "ord" else nan
    base = _CMP[pred[1:]](a, b)
    return (base & ~nan) if pred[0] == "o" else (base | nan)


def _float_to_int(x: Array, ty: str, unsigned: bool) -> Array:
    target = np.dtype(_NP[ty])
    kind = np.iinfo(_UNSIGNED[target] if unsigned and target in _UNSIGNED else target)
    clipped: Array = np.asarray(np.clip(np.nan_to_num(np.trunc(x)), kind.min, kind.max))
    return clipped.astype(kind.dtype).astype(target)


_BINARY: dict[str, Callable[[Array, Array], Array]] = {
    "addi": np.add, "subi": np.subtract, "muli": np.multiply, "andi": np.bitwise_and, "ori": np.bitwise_or,
    "xori": np.bitwise_xor, "maxsi": np.maximum, "minsi": np.minimum,
    "maxui": lambda a, b: np.maximum(_unsigned(a), _unsigned(b)),
    "minui": lambda a, b: np.minimum(_unsigned(a), _unsigned(b)),
    "divsi": lambda a, b: _div(a, b, True), "divui": lambda a, b: _div(a, b, False),
    "remsi": lambda a, b: a - b * _div(a, b, True),
    "remui": lambda a, b: _unsigned(a) - _unsigned(b) * _div(a, b, False),
    "shli": lambda a, b: np.left_shift(a, _shift_amount(b, a).astype(a.dtype)),
    "shrsi": lambda a, b: np.right_shift(a, _shift_amount(b, a).astype(a.dtype)),
    "shrui": lambda a, b: np.right_shift(_unsigned(a), _shift_amount(b, a).astype(_unsigned(a).dtype)),
    "addf": np.add, "subf": np.subtract, "mulf": np.multiply, "divf": np.divide,
    "maximumf": np.maximum, "minimumf": np.minimum,
}


def apply(fn: str, ty: str, args: list[Array], src_type: str = "") -> Array:
    """The result of statement ``fn`` (:mod:`npusim.isa.core_code`) with result type ``ty``
    (element type; comparisons: the operands' type) on ``args``."""
    with np.errstate(all="ignore"):
        if fn.startswith("cmpi:"):
            return _cmpi(fn[5:], args[0], args[1]).astype(np.bool_)
        if fn.startswith("cmpf:"):
            return _cmpf(fn[5:], args[0], args[1]).astype(np.bool_)
        if fn == "select":
            return np.where(args[0], args[1], args[2]).astype(_NP[ty])
        if fn == "negf":
            return _round(-args[0], ty)
        if fn in ("fptosi", "fptoui"):
            return _float_to_int(args[0], ty, fn == "fptoui")
        if fn in ("extui", "uitofp"):
            return _round(_unsigned(args[0]).astype(_NP[ty]), ty)
        if fn in ("extsi", "trunci", "index_cast", "sitofp", "extf", "truncf"):
            return value(ty, args[0]) if fn != "trunci" else args[0].astype(_NP[ty])
        out: Array = np.asarray(_BINARY[fn](args[0], args[1]))
        return _round(out.astype(_NP[ty]), ty)


def from_bytes(raw: Array, ty: str) -> Array:
    """Elements of ``ty`` stored in ``raw`` (``uint8``)."""
    if ty == "bf16":
        return bf16_to_f32(raw.view(np.uint16))
    return raw.view(np.uint8 if ty == "i1" else _NP[ty]).astype(_NP[ty])


def to_bytes(x: Array, ty: str) -> Array:
    """``x`` as the bytes that store it."""
    if ty == "bf16":
        return f32_to_bf16(x).view(np.uint8)
    return np.ascontiguousarray(x.astype(np.uint8 if ty == "i1" else _NP[ty])).view(np.uint8)
