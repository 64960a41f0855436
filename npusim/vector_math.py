"""The arithmetic of the vector operators, on numpy, shared by functional mode's vector kernels
(``hw/vector_kernels.py``) and the frontend's numpy reference.

Arrays hold elements in storage form (:func:`npusim.numerics.storage_dtype`: bf16 as ``uint16``
bit patterns). Integer results are computed exactly and saturated to the type (AIE-ML stores with
saturation on); bf16 operators compute in float32 and round the result to bf16 (nearest, ties to
even). GELU is the tanh form. Pooling accumulates in 32 bits (int32, or fp32 for bf16), as the
matmul does.

The functional check runs each operator once per block on the array and once on the whole tensor
in the reference, with these same functions: what it proves is the data movement (tiling, access
patterns, broadcasting, padding), not the formulas.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .numerics import Array, accumulate_dtype, bf16_to_f32, f32_to_bf16, storage_dtype

UNARY = ("relu", "sigmoid", "tanh", "gelu", "silu")
BINARY = ("add", "sub", "mul", "div", "swiglu")
POOLS = ("max_pool", "avg_pool")
NONLINEAR = ("sigmoid", "tanh", "gelu", "div", "softmax", "layernorm", "silu", "swiglu", "rmsnorm", "rope")
"""Operators defined in bf16 only: an integer type carries no scale to define them with."""


def _num(x: Array, dtype: str) -> Array:
    """Elements as numbers: float32 for bf16, int64 for integers."""
    return bf16_to_f32(x.view(np.uint16)) if dtype == "bf16" else x.astype(np.int64)


def _store(v: Array, dtype: str) -> Array:
    """Numbers back to storage form: bf16 rounded, integers saturated."""
    if dtype == "bf16":
        return f32_to_bf16(v.astype(np.float32))
    info = np.iinfo(storage_dtype(dtype))
    return np.clip(v, info.min, info.max).astype(storage_dtype(dtype))


def relu(x: Array, dtype: str) -> Array:
    """max(x, 0) in storage form (a bf16 -0 stays a zero)."""
    return _store(np.maximum(_num(x, dtype), 0), dtype)


def unary(kind: str, x: Array, dtype: str) -> Array:
    """``relu``, ``sigmoid``, ``tanh`` or ``gelu`` of ``x``."""
    if kind == "relu":
        return relu(x, dtype)
    v = _num(x, dtype).astype(np.float32)
    with np.errstate(over="ignore"):
        if kind == "sigmoid":
            r = np.float32(1) / (np.float32(1) + np.exp(-v))
        elif kind == "tanh":
            r = np.tanh(v)
        elif kind == "silu":
            r = _silu(v)
        else:  # gelu, tanh form
            c = np.float32(np.sqrt(2 / np.pi))
            r = np.float32(0.5) * v * (np.float32(1) + np.tanh(c * (v + np.float32(0.044715) * v * v * v)))
    return _store(r, dtype)


def _silu(v: Array) -> Array:
    """``v * sigmoid(v)`` in float32."""
    with np.errstate(over="ignore"):
        out: Array = v / (np.float32(1) + np.exp(-v))
    return out


def _swiglu(a: Array, b: Array) -> Array:
    """The gated linear unit of Llama-style MLPs: ``silu(gate) * up``."""
    out: Array = _silu(a.astype(np.float32)) * b
    return out


def binary(kind: str, x: Array, y: Array | float, dtype: str) -> Array:
    """``x op y`` (``y`` broadcast the numpy way, or a constant); ``swiglu`` is ``silu(x) * y``."""
    a = _num(x, dtype)
    b = _num(y, dtype) if isinstance(y, np.ndarray) else (np.float32(y) if dtype == "bf16" else np.int64(round(y)))
    ops: dict[str, Callable[[Any, Any], Array]] = {
        "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "swiglu": _swiglu}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = ops[kind](a, b)
    return _store(r, dtype)


def softmax(x: Array, dtype: str, scale: float = 1.0, keys: Array | None = None) -> Array:
    """Softmax over the last axis of ``x * scale`` (max subtracted first), bf16. With ``keys`` (one
    count per row), a row attends to its first ``keys[row]`` elements only: the rest are masked to
    zero (a causal mask); a row with no keys is all zeros."""
    v = _num(x, dtype).astype(np.float32) * np.float32(scale)
    if keys is not None:
        cols = np.arange(v.shape[-1])
        mask = cols[None, :] >= np.asarray(keys, dtype=np.int64).reshape(-1, 1)
        v = np.where(mask.reshape(v.shape), np.float32(-np.inf), v)
    top = v.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.exp(v - np.where(np.isfinite(top), top, np.float32(0)))
    total = e.sum(axis=-1, keepdims=True, dtype=np.float32)
    return _store(np.where(total > 0, e / np.where(total > 0, total, np.float32(1)), np.float32(0)), dtype)


def _masked(x: Array, dtype: str, scale: float, keys: Array) -> Array:
    v = _num(x, dtype).astype(np.float32) * np.float32(scale)
    cols = np.arange(v.shape[-1])
    return np.where(cols[None, :] >= np.asarray(keys, dtype=np.int64).reshape(-1, 1), np.float32(-np.inf), v)


def softmax_stats(x: Array, dtype: str, scale: float, keys: Array, stats: Array | None) -> Array:
    """One segment of each row of a softmax computed in segments (first pass): the running
    maximum and sum of exponentials, ``stats`` ``(rows, 2)`` float32, updated by this segment's
    first ``keys[row]`` elements of ``x * scale`` (started afresh when ``stats`` is None)."""
    v = _masked(x, dtype, scale, keys)
    top = v.max(axis=-1)
    m = top if stats is None else np.maximum(stats[:, 0], top)
    safe = np.where(np.isfinite(m), m, np.float32(0))
    with np.errstate(invalid="ignore", over="ignore"):
        add = np.exp(v - safe[:, None]).sum(axis=-1, dtype=np.float32)
        old = np.float32(0) if stats is None else np.where(
            np.isfinite(stats[:, 0]), stats[:, 1] * np.exp(stats[:, 0] - safe), np.float32(0))
    return np.stack([m, old + add], axis=1).astype(np.float32)


def softmax_normalised(x: Array, dtype: str, scale: float, keys: Array, stats: Array) -> Array:
    """One segment of each row of a segmented softmax (second pass): ``exp(x * scale - max) /
    sum`` by the row's ``stats``, the masked elements zero."""
    v = _masked(x, dtype, scale, keys)
    m, total = stats[:, :1], stats[:, 1:]
    with np.errstate(invalid="ignore"):
        e = np.exp(v - np.where(np.isfinite(m), m, np.float32(0)))
    return _store(np.where(total > 0, e / np.where(total > 0, total, np.float32(1)), np.float32(0)), dtype)


def rmsnorm(x: Array, gamma: Array, epsilon: float, dtype: str) -> Array:
    """``x / sqrt(mean(x^2) + epsilon) * gamma`` over the last axis, bf16 (Llama's RMSNorm)."""
    v = _num(x, dtype).astype(np.float32)
    ms = (v * v).mean(axis=-1, keepdims=True, dtype=np.float32)
    return _store(v / np.sqrt(ms + np.float32(epsilon)) * _num(gamma, dtype), dtype)


def rope_table(positions: Array, head_dim: int, theta: float) -> Array:
    """The rotary table of each position: ``cos`` of the ``head_dim / 2`` frequencies, then their
    ``sin`` (``head_dim`` float32 per row), frequency ``i`` being ``theta ** (-2i / head_dim)``."""
    freq = np.float64(theta) ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angle = np.asarray(positions, dtype=np.float64).reshape(-1, 1) * freq[None, :]
    return np.concatenate([np.cos(angle), np.sin(angle)], axis=1).astype(np.float32)


def rope(x: Array, table: Array, dtype: str) -> Array:
    """Rotary position embedding of each row of ``x`` by its row of ``table`` (``cos | sin``, as
    :func:`rope_table`), the two halves of a row rotated as pairs (``rotate_half``), bf16."""
    v = _num(x, dtype).astype(np.float32)
    t = _num(table, dtype).astype(np.float32)
    half = v.shape[-1] // 2
    cos, sin = t[..., :half], t[..., half:]
    x1, x2 = v[..., :half], v[..., half:]
    return _store(np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1), dtype)


def layernorm(x: Array, gamma: Array, beta: Array, epsilon: float, dtype: str) -> Array:
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis, bf16."""
    v = _num(x, dtype).astype(np.float32)
    mean = v.mean(axis=-1, keepdims=True, dtype=np.float32)
    var = ((v - mean) ** 2).mean(axis=-1, keepdims=True, dtype=np.float32)
    norm = (v - mean) / np.sqrt(var + np.float32(epsilon))
    return _store(norm * _num(gamma, dtype) + _num(beta, dtype), dtype)


def pool_partial(kind: str, block: Array, dtype: str) -> Array:
    """One block ``(rows, pixels, window columns, channels)`` reduced over rows and window
    columns: ``pixels x channels`` accumulators (max or sum)."""
    v = _num(block, dtype)
    r: Array = v.max(axis=(0, 2)) if kind == "max_pool" else v.sum(axis=(0, 2))
    return r.astype(accumulate_dtype(dtype))


def pool_combine(kind: str, acc: Array, part: Array) -> Array:
    """Accumulators after one more block."""
    out: Array = np.maximum(acc, part) if kind == "max_pool" else acc + part
    return out


def pool_emit(kind: str, acc: Array, dtype: str, divisor: int) -> Array:
    """Accumulators to the element type: the maximum as it is, the average divided by
    ``divisor`` (integers: rounded half up)."""
    if kind == "max_pool":
        return _store(acc.astype(np.float32) if dtype == "bf16" else acc.astype(np.int64), dtype)
    if dtype == "bf16":
        return _store(acc.astype(np.float32) / np.float32(divisor), dtype)
    return _store((acc.astype(np.int64) + divisor // 2) // divisor, dtype)
