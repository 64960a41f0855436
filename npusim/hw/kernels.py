"""Functional mode's matmul kernel: what a ``compute`` call does to the numbers.

The call reads ``a`` (``m x k``) and ``b`` (``k x n``, or ``n x k`` when ``b_transposed``) in
their types' layouts (row-major for the plain types; bfp16 blocks and int4 groups along K,
:mod:`npusim.numerics.blocks`; B of its own type when ``b_dtype`` says so). With 32-bit
accumulators in ``c`` (int32, wrapping; fp32 for the float family: bf16, bfp16, int4 weights) it
adds their product to them, or overwrites them when ``zero``; ``emit`` then packs the
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
    ACC_BYTES, FLOAT_KINDS, OUT_BYTES, Array, accumulate_dtype, bfp16_round, narrow, operand_bytes, storage_dtype,
    unpack_operand, widen,
)
from .data import Bytes


def _product(ins: Compute, a: Bytes, b: Bytes, emulate: bool) -> Array:
    """``a @ b`` of one call in the accumulator type: exact int64 sums wrapped to int32, or float64
    sums of the float family's products (exact for bf16, bfp16 and dequantised int4) rounded once to
    fp32, independent of BLAS summation order. ``emulate``: the kernel emulates bf16 on the bfp16
    datapath, so both operands are first rounded to bfp16 blocks along K."""
    m, k, n, t = ins.m, ins.k, ins.n, ins.dtype
    am = unpack_operand(a, t, m, k)
    if ins.b_transposed:
        bm = unpack_operand(b, ins.b_type, n, k, False, ins.group_size).T
    else:
        bm = unpack_operand(b, ins.b_type, k, n, True, ins.group_size)
    if emulate:
        am, bm = bfp16_round(am, axis=1), bfp16_round(bm, axis=0)
    exact = am.astype(np.float64) @ bm.astype(np.float64)  # int8/int16 sums are exact below 2**53
    if t in FLOAT_KINDS:
        return exact.astype(np.float32)
    return exact.astype(np.int64).astype(np.int32)  # wraps, as a 32-bit accumulator does


def _b_bytes(ins: Compute) -> int:
    """Bytes of the call's B operands (the bias, when fused, follows them)."""
    if ins.b_transposed:
        return operand_bytes(ins.b_type, ins.n, ins.k, False, ins.group_size)
    return operand_bytes(ins.b_type, ins.k, ins.n, True, ins.group_size)


def _epilogue(ins: Compute, acc: Array, b: Bytes) -> None:
    if ins.bias:
        start = _b_bytes(ins)
        acc += b[start:start + ins.n * ACC_BYTES].view(accumulate_dtype(ins.dtype))  # int32 wraps, as the adder does
    if ins.relu:
        np.maximum(acc, 0, out=acc)


def run_matmul(ins: Compute, a: Bytes, b: Bytes, c: Bytes, emulate: bool = False) -> None:
    """Execute one kernel call on the operand memories (in place on ``c``); ``emulate`` as for
    :func:`_product` (a kernel flagged ``emulation: bfp16``)."""
    m, n, t = ins.m, ins.n, ins.dtype
    prod = _product(ins, a, b, emulate)
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
    """Data-memory bytes one call reads and writes: ``A`` and ``B`` (in their storage formats, and
    the bias row after ``B`` when it emits with a bias), the stored ``C`` (read unless ``zero``,
    always written: 32-bit accumulators, or ``c_type`` elements), and the emitted results."""
    m, n = ins.m, ins.n
    cb = OUT_BYTES[ins.c_type] if ins.c_type is not None else ACC_BYTES
    read = operand_bytes(ins.dtype, m, ins.k) + _b_bytes(ins) + (0 if ins.zero else m * n * cb)
    written = m * n * cb
    if ins.emit is not None:
        read += n * ACC_BYTES if ins.bias else 0
        written += m * n * OUT_BYTES[ins.emit] if ins.c_type is None else 0
    return read, written
