"""Functional mode's vector kernels: what a ``vector`` call does to the numbers.

The call reads its block (``shape``, row-major) from ``inputs[0]`` and writes ``out``; see
:class:`npusim.isa.Vector` for each kind, and :mod:`npusim.vector_math` for the arithmetic.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..isa import Vector
from ..numerics import ACC_BYTES, IN_BYTES, Array, accumulate_dtype, storage_dtype
from .. import vector_math as vm
from .data import Bytes


def _view(mem: Bytes, dtype: str, count: int, nbytes: int) -> Array:
    return mem[:count * nbytes].view(storage_dtype(dtype))


def _write(mem: Bytes, values: Array) -> None:
    raw = np.ascontiguousarray(values).reshape(-1).view(np.uint8)
    mem[:len(raw)] = raw


def run_vector(ins: Vector, buffers: Mapping[str, Bytes]) -> None:
    """Execute one vector call on the tile's buffers (in place on ``out``)."""
    t, ib, n = ins.dtype, IN_BYTES[ins.dtype], ins.elements
    x = _view(buffers[ins.inputs[0]], t, n, ib).reshape(ins.shape)
    out = buffers[ins.out]  # type: ignore[index]
    if ins.kind in vm.POOLS:
        _pool(ins, x, out)
        return
    if ins.kind in vm.UNARY:
        r = vm.unary(ins.kind, x, t)
    elif ins.kind in vm.BINARY:
        if len(ins.inputs) > 1:
            rows = 1 if ins.broadcast else n // ins.shape[-1]
            y: Array | float = _view(buffers[ins.inputs[1]], t, rows * ins.shape[-1], ib).reshape(
                (1 if ins.broadcast else -1, ins.shape[-1]))
            r = vm.binary(ins.kind, x.reshape(-1, ins.shape[-1]), y, t)
        else:
            r = vm.binary(ins.kind, x, ins.scalar or 0.0, t)
    elif ins.kind == "softmax" and ins.divisor:
        _segment(ins, x, buffers, out)
        return
    elif ins.kind == "softmax":
        keys = buffers[ins.inputs[1]][:ins.shape[0] * 4].view(np.int32) if len(ins.inputs) > 1 else None
        r = vm.softmax(x, t, 1.0 if ins.scalar is None else ins.scalar, keys)
    elif ins.kind == "layernorm":
        length = ins.shape[-1]
        gb = _view(buffers[ins.inputs[1]], t, 2 * length, ib)
        r = vm.layernorm(x, gb[:length], gb[length:], ins.scalar or 0.0, t)
    elif ins.kind == "rmsnorm":
        r = vm.rmsnorm(x, _view(buffers[ins.inputs[1]], t, ins.shape[-1], ib), ins.scalar or 0.0, t)
    elif ins.kind == "rope":
        r = vm.rope(x, _view(buffers[ins.inputs[1]], t, n, ib).reshape(ins.shape), t)
    elif ins.kind == "gather":
        r = x  # the shim DMA gathered the rows; the core copies them through
    else:
        raise ValueError(f"vector kind {ins.kind!r} has no functional kernel")
    if ins.relu:
        r = vm.relu(r, t)
    _write(out, r)


def _segment(ins: Vector, x: Array, buffers: Mapping[str, Bytes], out: Bytes) -> None:
    """One segment of a softmax computed in ``divisor`` segments: without ``emit``, update the
    rows' running max and sum in ``out`` (from scratch when ``zero``); with ``emit``, write the
    segment normalised by the statistics in ``inputs[2]``."""
    rows = ins.shape[0]
    keys = buffers[ins.inputs[1]][:rows * 4].view(np.int32)
    scale = 1.0 if ins.scalar is None else ins.scalar
    if ins.emit:
        stats = buffers[ins.inputs[2]][:rows * 2 * ACC_BYTES].view(np.float32).reshape(rows, 2)
        _write(out, vm.softmax_normalised(x, ins.dtype, scale, keys, stats))
        return
    acc = out[:rows * 2 * ACC_BYTES].view(np.float32).reshape(rows, 2)
    acc[...] = vm.softmax_stats(x, ins.dtype, scale, keys, None if ins.zero else acc.copy())


def _pool(ins: Vector, x: Array, out: Bytes) -> None:
    pixels, channels = ins.shape[1], ins.shape[3]
    acc = out[:pixels * channels * ACC_BYTES].view(accumulate_dtype(ins.dtype)).reshape(pixels, channels)
    part = vm.pool_partial(ins.kind, x, ins.dtype)
    acc[...] = part if ins.zero else vm.pool_combine(ins.kind, acc, part)
    if ins.emit:
        r = vm.pool_emit(ins.kind, acc, ins.dtype, ins.divisor)
        if ins.relu:
            r = vm.relu(r, ins.dtype)
        _write(out, r)


def vector_memory_bytes(ins: Vector) -> tuple[int, int]:
    """Data-memory bytes one call reads and writes: its block, its second operand (a block, a
    broadcast row, the norms' gamma (and beta), rope's table rows, a causal softmax's key counts),
    a pool's accumulators, and its results."""
    ib, n = IN_BYTES[ins.dtype], ins.elements
    if ins.kind in vm.POOLS:
        acc = ins.shape[1] * ins.shape[3] * ACC_BYTES
        return n * ib + (0 if ins.zero else acc), acc + (ins.shape[1] * ins.shape[3] * ib if ins.emit else 0)
    second = 0
    if ins.kind == "layernorm":
        second = 2 * ins.shape[-1] * ib
    elif ins.kind == "rmsnorm":
        second = ins.shape[-1] * ib
    elif ins.kind == "softmax" and ins.divisor:  # a segment: key counts (and the running statistics)
        stats = 2 * ACC_BYTES * ins.shape[0]
        return n * ib + ins.shape[0] * 4 + (stats if ins.emit or not ins.zero else 0), (n * ib if ins.emit else stats)
    elif ins.kind == "softmax" and len(ins.inputs) > 1:
        second = ins.shape[0] * 4  # a key count per row
    elif len(ins.inputs) > 1:
        second = ins.shape[-1] * ib if ins.broadcast else n * ib
    return n * ib + second, n * ib
