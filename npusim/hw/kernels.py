"""Functional mode's matmul kernel: what a ``compute`` call does to the numbers.

The call reads ``a`` (``m x k``) and ``b`` (``k x n``, or ``n x k`` when ``b_transposed``)
row-major in the operand type. With 32-bit accumulators in ``c`` (int32, wrapping; fp32 for bf16)
it adds their product to them, or overwrites them when ``zero``; ``emit`` then packs the
accumulators, converted to the output type, from the start of ``c``, after the fused epilogue:
``bias`` adds the ``n`` accumulator-type values stored in ``b`` after its operands, ``relu`` clamps
at zero. With ``c_type`` the call keeps ``c`` in that type instead: it widens the stored values
(integers scaled back up by ``shift``), adds the product, applies the epilogue on the last call
and stores the result converted to ``c_type`` again, so a long reduction is rounded once per call.
The arithmetic rules are in :mod:`npusim.numerics`.
"""
from __future__ import annotations

import numpy as np

from ..isa import Compute
from ..numerics import (
    ACC_BYTES, Array, IN_BYTES, OUT_BYTES, accumulate_dtype, as_operand, narrow, storage_dtype, widen,
)
from .data import Bytes


def _matrix(mem: Bytes, kind: str, rows: int, cols: int, nbytes: int) -> Array:
    return mem[:rows * cols * nbytes].view(storage_dtype(kind)).reshape(rows, cols)


def _product(ins: Compute, a: Bytes, b: Bytes) -> Array:
    """``a @ b`` of one call in the accumulator type: exact int64 sums wrapped to int32, or float64
    sums of the (exact) bf16 products rounded once to fp32, independent of BLAS summation order."""
    m, k, n, t = ins.m, ins.k, ins.n, ins.dtype
    am: Array = as_operand(_matrix(a, t, m, k, IN_BYTES[t]), t)
    if ins.b_transposed:
        bm: Array = as_operand(_matrix(b, t, n, k, IN_BYTES[t]), t).T
    else:
        bm = as_operand(_matrix(b, t, k, n, IN_BYTES[t]), t)
    exact = am.astype(np.float64) @ bm.astype(np.float64)  # int8/int16 sums are exact below 2**53
    if t == "bf16":
        return exact.astype(np.float32)
    return exact.astype(np.int64).astype(np.int32)  # wraps, as a 32-bit accumulator does


def _epilogue(ins: Compute, acc: Array, b: Bytes) -> None:
    if ins.bias:
        start = ins.k * ins.n * IN_BYTES[ins.dtype]
        acc += b[start:start + ins.n * ACC_BYTES].view(accumulate_dtype(ins.dtype))  # int32 wraps, as the adder does
    if ins.relu:
        np.maximum(acc, 0, out=acc)


def run_matmul(ins: Compute, a: Bytes, b: Bytes, c: Bytes) -> None:
    """Execute one kernel call on the operand memories (in place on ``c``)."""
    m, n, t = ins.m, ins.n, ins.dtype
    prod = _product(ins, a, b)
    if ins.c_type is not None:
        stored = c[:m * n * OUT_BYTES[ins.c_type]]
        acc = prod
        if not ins.zero:
            acc = widen(stored.view(storage_dtype(ins.c_type)), ins.c_type, ins.shift).reshape(m, n) + prod
        if ins.emit is not None:
            _epilogue(ins, acc, b)
        stored[...] = narrow(acc, ins.c_type, ins.shift).reshape(-1).view(np.uint8)
        return
    acc = c[:m * n * ACC_BYTES].view(accumulate_dtype(t)).reshape(m, n)
    if ins.zero:
        acc[...] = prod
    else:
        acc += prod  # int32 wraps, fp32 rounds, as the accumulator does
    if ins.emit is not None:
        _epilogue(ins, acc, b)
        out = narrow(acc, ins.emit, ins.shift).reshape(-1).view(np.uint8)
        c[:m * n * OUT_BYTES[ins.emit]] = out


def matmul_memory_bytes(ins: Compute) -> tuple[int, int]:
    """Data-memory bytes one call reads and writes: ``A`` and ``B`` (and the bias row after
    ``B`` when it emits with a bias), the stored ``C`` (read unless ``zero``, always written: 32-bit
    accumulators, or ``c_type`` elements), and the emitted results."""
    m, k, n, t = ins.m, ins.k, ins.n, ins.dtype
    cb = OUT_BYTES[ins.c_type] if ins.c_type is not None else ACC_BYTES
    read = (m * k + k * n) * IN_BYTES[t] + (0 if ins.zero else m * n * cb)
    written = m * n * cb
    if ins.emit is not None:
        read += n * ACC_BYTES if ins.bias else 0
        written += m * n * OUT_BYTES[ins.emit] if ins.c_type is None else 0
    return read, written
