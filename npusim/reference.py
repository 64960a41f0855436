"""The numpy reference of functional mode, written apart from the simulated kernels.

Functional mode checks the array's output against this module's answer. So that the check can
catch a bug in the kernels' arithmetic (``npusim.numerics``, ``npusim.vector_math``), this module
imports nothing from npusim and shares none of their code: every result is computed exactly
(integers in int64, or float64 sums of integers below 2^53) or in float64, then rounded **once**
to the output type by this module's own rules:

- **bf16**: round to nearest, ties to even, on the float64 value (:func:`to_bf16`: ``frexp``, an
  8-bit significand by ``rint``, subnormals on the fixed 2^-133 grid, overflow to infinity), not
  by the kernels' bit manipulation of float32 patterns.
- **fp32**: numpy's IEEE conversion of the float64 value.
- **narrow integers** from 32-bit accumulators: wrap the exact sum to 32 bits (a 32-bit
  accumulator's arithmetic is exact modulo 2^32), shift right rounding half up as
  ``floor(x / 2^s + 1/2)``, saturate to the type.
- **Vector operators** from their textbook definitions in float64: sigmoid ``1 / (1 + e^-x)``,
  tanh, GELU in its tanh form ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (Hendrycks &
  Gimpel 2016, eq. for the approximation), softmax with the maximum subtracted, layer norm with
  the biased variance; integer add, sub, mul exact then saturated; pools as the maximum, or the
  sum divided by the window's size (integers rounded half up).

- **bfp16** operands (XDNA2's block floating point) from the format's definition
  (:func:`bfp16`): blocks of 8 values along K share the exponent of their largest magnitude, each
  value keeps a signed 8-bit mantissa, 7 bits below the largest's leading one (rounded to
  nearest, ties to even; a block whose largest rounds up to 128 takes the next exponent).
- **int4** weights (:func:`int4_weights`): each 4-bit value times its group's bf16 scale, rounded
  once to bf16 (the kernels dequantise to bf16 before their bf16 datapath).

The simulated kernels compute bf16 in float32 and round to bf16 at their end, and a matmul sums
in chunks: results may differ from this module's by one bf16 rounding, which the comparisons
allow; integers must be equal.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]

_INT: dict[str, type[np.signedinteger[Any]]] = {"int8": np.int8, "int16": np.int16, "int32": np.int32}
_BF16_MAX = (2 - 2.0**-7) * 2.0**127
_BF16_QUANTUM_MIN = -133
"""The exponent of the smallest bf16 subnormal (2^-126 with 7 fraction bits)."""


def decode(x: Array, kind: str) -> Array:
    """Elements in storage form (bf16 as uint16 bit patterns) as float64 values (exact)."""
    if kind == "bf16":
        return (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return np.asarray(x).astype(np.float64)


def to_bf16(v: npt.ArrayLike) -> Array:
    """float64 values rounded once to bf16 (nearest, ties to even), as uint16 bit patterns."""
    x = np.asarray(v, dtype=np.float64)
    finite = np.isfinite(x)
    _, e = np.frexp(np.where(finite, x, 1.0))  # x = m * 2^e, 0.5 <= |m| < 1
    quantum = np.maximum(e - 8, _BF16_QUANTUM_MIN)  # 8 significant bits, or the subnormal grid
    with np.errstate(over="ignore"):  # past 2^1024: infinite, as it rounds anyway
        rounded = np.ldexp(np.rint(np.ldexp(np.where(finite, x, 0.0), -quantum)), quantum)
    rounded = np.where(np.abs(rounded) > _BF16_MAX, np.copysign(np.inf, x), rounded)
    out = np.where(finite, rounded, x).astype(np.float32)  # exact: every bf16 value is a float32
    return (out.view(np.uint32) >> 16).astype(np.uint16)


def bfp16(x: npt.ArrayLike, axis: int) -> Array:
    """float64 values rounded to bfp16, blocks of 8 along ``axis`` (the reduction dimension K;
    its length a multiple of 8): per block, ``q = rint(x / 2^(e - 6))`` with ``2^e <= max |x| <
    2^(e + 1)`` (``e`` at least -127, the 8-bit biased exponent's range), and ``2^(e + 1 - 6)`` if
    a ``|q|`` reaches 128."""
    v = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    blocks = v.reshape(*v.shape[:-1], v.shape[-1] // 8, 8)
    big = np.abs(blocks).max(axis=-1, keepdims=True)
    _, e = np.frexp(np.where(big > 0, big, 1.0))  # big = f * 2^e, 0.5 <= f < 1: its leading one is 2^(e - 1)
    quantum = np.ldexp(1.0, np.maximum(e - 1, -127) - 6)
    quantum = np.where(np.abs(np.rint(blocks / quantum)).max(axis=-1, keepdims=True) > 127, 2 * quantum, quantum)
    return np.moveaxis((np.rint(blocks / quantum) * quantum).reshape(v.shape), -1, axis)


def int4_weights(q: Array, scale_bits: Array, group: int) -> Array:
    """int4 weights ``q`` (``k x n``) dequantised by their group's bf16 scale (one per ``group``
    rows, ``ceil(k / group) x n``), each rounded once to bf16, as float64 values."""
    scale = np.repeat(decode(scale_bits, "bf16"), group, axis=0)[:q.shape[0]]
    return decode(to_bf16(np.asarray(q, dtype=np.float64) * scale), "bf16")


def _saturate(v: Array, kind: str) -> Array:
    info = np.iinfo(_INT[kind])
    return np.clip(v, info.min, info.max).astype(_INT[kind])


def encode(v: Array, kind: str) -> Array:
    """Exact (or float64) results rounded once to ``kind`` in storage form."""
    if kind == "bf16":
        return to_bf16(v)
    if kind == "fp32":
        return np.asarray(v, dtype=np.float64).astype(np.float32)
    return _saturate(np.asarray(v), kind)


def _finish(v: Array, kind: str, exact: bool) -> Array:
    """A result rounded once to ``kind`` (storage form), or with ``exact``, as float64 values
    before that rounding (integer results saturated: they are exact)."""
    if exact:
        return np.asarray(v, dtype=np.float64) if kind in ("bf16", "fp32") else decode(encode(v, kind), kind)
    return encode(v, kind)


def half_ulp(exact: Array, kind: str) -> Array:
    """Half a unit in the last place of ``kind`` (bf16 or fp32) at each exact value: the most a
    correct rounding to nearest can move it."""
    bits, smallest = (8, _BF16_QUANTUM_MIN) if kind == "bf16" else (24, -149)
    _, e = np.frexp(np.where(np.isfinite(exact), exact, 1.0))
    return np.asarray(np.ldexp(1.0, np.maximum(e - bits, smallest) - 1), dtype=np.float64)


def rounded_right(got: Array, want: Array, exact: Array, kind: str, slack: Array | float) -> Array:
    """Which simulated results (storage form) are a correct rounding to ``kind`` (bf16 or fp32):
    equal to the reference ``want``, or within half an ulp of the ``exact`` value plus ``slack``
    (what the kernels' float32 arithmetic may add before their one rounding). A rounding that
    truncates is off by up to a whole ulp, and fails."""
    g, w = decode(got, kind), decode(want, kind)
    same = (g == w) | (np.isnan(g) & np.isnan(w))
    with np.errstate(invalid="ignore"):
        near = np.abs(g - exact) <= half_ulp(exact, kind) + slack
    return np.asarray(same | near)


FLOAT = ("bf16", "f64")
"""Operand kinds summed in float64: bf16 (storage form), and ``f64``, operands given as float64
values (block and group formats already rounded by :func:`bfp16` or :func:`int4_weights`)."""


def _exact(x: Array, kind: str) -> Array:
    """Integer elements as int64, bf16 as float64."""
    return decode(x, kind) if kind == "bf16" else np.asarray(x).astype(np.int64)


def _int_matmul(a: Array, b: Array) -> Array:
    """The exact integer product: float64 BLAS while every partial sum stays below 2^53 (then
    any order of summation is exact), int64 otherwise."""
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0)) * a.shape[-1]
    if bound < 2.0**53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a @ b


def _wrap32(v: Array) -> Array:
    """Two's-complement wrap of exact integers to 32 bits."""
    return ((v + 2**31) % 2**32) - 2**31


def shift_round(v: Array, shift: int) -> Array:
    """``floor(v / 2^shift + 1/2)`` of exact integers (rounding half up), as integer arithmetic."""
    if not shift:
        return v
    return (2 * v + (1 << shift)) // (1 << (shift + 1))


def gemm(a: Array, b: Array, kind: str, out: str, shift: int = 0, bias: Array | None = None,
         relu: bool = False, exact: bool = False) -> Array:
    """``a @ b`` (operands in storage form) as the hardware should emit it: the exact sum in the
    accumulator (integers wrapped to 32 bits), plus ``bias`` (one accumulator-type value per
    column), clamped at zero if ``relu``, then rounded once to ``out`` (with ``exact``: the
    float64 values before that rounding, see :func:`_finish`)."""
    if kind in FLOAT:
        acc = decode(a, kind) @ decode(b, kind)
        if bias is not None:
            acc = acc + np.asarray(bias, dtype=np.float64)
        if relu:
            acc = np.maximum(acc, 0.0)
        return _finish(acc, out, exact)
    total = _int_matmul(_exact(a, kind), _exact(b, kind))
    if bias is not None:
        total = total + np.asarray(bias).astype(np.int64)
    acc = _wrap32(total)
    if relu:
        acc = np.maximum(acc, 0)
    return _finish(shift_round(acc, shift) if out in ("int8", "int16") else acc, out, exact)


def gemm_steps(a: Array, b: Array, step: int, kind: str, out: str, shift: int = 0, bias: Array | None = None,
               relu: bool = False, exact: bool = False) -> Array:
    """``a @ b`` as a design that keeps C in the output type computes it: the reduction in steps
    of ``step``; each step's exact products (float64; in the 32-bit accumulator type: fp32 by
    IEEE rounding, or int32 wrapped) added to the stored C brought back to the accumulator (bf16
    exactly; integers scaled up by ``shift`` and wrapped), the bias and ReLU on the last step, and
    the sum rounded to ``out`` at every step (with ``exact``: the last sum, before its rounding)."""
    stored: Array | None = None
    acc: Array = np.zeros(0)
    steps = range(0, a.shape[1], step)
    for i, s in enumerate(steps):
        part = decode(a[:, s:s + step], kind) @ decode(b[s:s + step], kind) if kind in FLOAT else \
            _int_matmul(_exact(a[:, s:s + step], kind), _exact(b[s:s + step], kind))
        if kind in FLOAT:
            acc = part.astype(np.float32)
            if stored is not None:
                acc = (decode(stored, out).astype(np.float32) + acc).astype(np.float32)
        else:
            acc = _wrap32(part if stored is None else (_wrap32(decode(stored, out).astype(np.int64) << shift) + part))
        if i == len(steps) - 1:
            if bias is not None:
                acc = ((acc + np.asarray(bias, dtype=np.float32)).astype(np.float32) if kind in FLOAT
                       else _wrap32(acc + np.asarray(bias).astype(np.int64)))
            if relu:
                acc = np.maximum(acc, 0)
        stored = encode(shift_round(acc, shift) if out in ("int8", "int16") else acc, out)
    if exact:
        return _finish(shift_round(acc, shift) if out in ("int8", "int16") else acc.astype(np.float64), out, True)
    assert stored is not None
    return stored


def relu(x: Array, kind: str, exact: bool = False) -> Array:
    """max(x, 0) (``x`` in storage form; with ``exact``, float64 values work too)."""
    v = x if x.dtype == np.float64 else _exact(x, kind)
    return _finish(np.maximum(v, 0), kind, exact)


def _gelu(v: Array) -> Array:
    out: Array = 0.5 * v * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (v + 0.044715 * v**3)))
    return out


def unary(kind: str, x: Array, dtype: str, exact: bool = False) -> Array:
    """``relu``, ``sigmoid``, ``tanh``, ``gelu`` or ``silu`` (``x * sigmoid(x)``) of ``x`` (all but
    ``relu`` in bf16)."""
    if kind == "relu":
        return relu(x, dtype, exact)
    v = decode(x, dtype)
    with np.errstate(over="ignore"):
        if kind == "sigmoid":
            r = 1.0 / (1.0 + np.exp(-v))
        elif kind == "tanh":
            r = np.tanh(v)
        elif kind == "gelu":
            r = _gelu(v)
        elif kind == "silu":
            r = v / (1.0 + np.exp(-v))
        else:
            raise ValueError(f"no reference for the unary operator {kind!r}")
    return _finish(r, dtype, exact)


def binary(kind: str, x: Array, y: Array | float, dtype: str, exact: bool = False) -> Array:
    """``x op y`` (``swiglu``: ``silu(x) * y``): ``y`` an array broadcast the numpy way, or a
    constant (an integer type's constant is the nearest integer)."""
    a = _exact(x, dtype)
    if isinstance(y, np.ndarray):
        b: Array | float | int = _exact(y, dtype)
    else:
        b = float(y) if dtype == "bf16" else int(np.rint(y))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "swiglu":  # Llama's gated unit: silu(gate) * up
            r = a / (1.0 + np.exp(-a)) * b
        else:
            r = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[kind](a, b)
    return _finish(r, dtype, exact)


def softmax(x: Array, dtype: str, exact: bool = False, scale: float = 1.0, keys: Array | None = None) -> Array:
    """Softmax over the last axis of ``x * scale``; with ``keys`` (one count per row), a row
    attends to its first ``keys[row]`` elements only, the others (and a row without keys) zero."""
    v = decode(x, dtype) * scale
    if keys is not None:
        kept = np.arange(v.shape[-1])[None, :] < np.asarray(keys, dtype=np.int64).reshape(-1, 1)
        v = np.where(kept.reshape(v.shape), v, -np.inf)
    top = v.max(axis=-1, keepdims=True)
    e = np.exp(v - np.where(np.isfinite(top), top, 0.0))
    total = e.sum(axis=-1, keepdims=True)
    return _finish(np.divide(e, total, out=np.zeros_like(e), where=total > 0), dtype, exact)


def rmsnorm(x: Array, gamma: Array, epsilon: float, dtype: str, exact: bool = False) -> Array:
    """``x / sqrt(mean(x^2) + epsilon) * gamma`` over the last axis."""
    v = decode(x, dtype)
    return _finish(v / np.sqrt((v**2).mean(axis=-1, keepdims=True) + epsilon) * decode(gamma, dtype), dtype, exact)


def rope(x: Array, table: Array, dtype: str, exact: bool = False) -> Array:
    """Rotary embedding: each row's halves ``(x1, x2)`` become ``(x1 cos - x2 sin, x2 cos + x1 sin)``
    with the row of ``table`` holding the cosines, then the sines."""
    v, t = decode(x, dtype), decode(table, dtype)
    h = v.shape[-1] // 2
    cos, sin = t[..., :h], t[..., h:]
    return _finish(np.concatenate([v[..., :h] * cos - v[..., h:] * sin, v[..., h:] * cos + v[..., :h] * sin],
                                  axis=-1), dtype, exact)


def layernorm(x: Array, gamma: Array, beta: Array, epsilon: float, dtype: str, exact: bool = False) -> Array:
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis (biased variance)."""
    v = decode(x, dtype)
    mean = v.mean(axis=-1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
    return _finish((v - mean) / np.sqrt(var + epsilon) * decode(gamma, dtype) + decode(beta, dtype), dtype, exact)


def pool(kind: str, windows: Array, dtype: str, exact: bool = False) -> Array:
    """A pool over axis 0 of ``windows`` (each window's elements stacked there): the maximum, or
    (``avg``) the exact sum divided by the window's size, integers rounded half up."""
    v = _exact(windows, dtype)
    if kind == "max":
        return _finish(v.max(axis=0), dtype, exact)
    size = windows.shape[0]
    if dtype == "bf16":
        return _finish(v.sum(axis=0) / size, dtype, exact)
    return _finish((2 * v.sum(axis=0) + size) // (2 * size), dtype, exact)
