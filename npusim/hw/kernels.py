"""Functional mode's matmul kernel: what a ``compute`` call does to the numbers.

The call reads ``a`` (``m x k``) and ``b`` (``k x n``) in their types' layouts (row-major for the
plain types; bfp16 blocks and int4 groups along K, :mod:`npusim.numerics.blocks`), and adds
their product to the ``m x n`` accumulators in ``c`` (int32, wrapping; fp32 for the float family), or
overwrites them when ``zero``. ``emit`` then packs the accumulators, converted to the output
type, from the start of ``c``, after the fused epilogue: ``bias`` adds the ``n`` accumulator-type
values stored in ``b`` after its operands, ``relu`` clamps at zero. The arithmetic rules are in
:mod:`npusim.numerics`.
"""
from __future__ import annotations

import numpy as np

from ..isa import Compute
from ..numerics import (
    ACC_BYTES, FLOAT_KINDS, OUT_BYTES, accumulate_dtype, bfp16_round, narrow, operand_bytes, unpack_operand,
)
from .data import Bytes


def run_matmul(ins: Compute, a: Bytes, b: Bytes, c: Bytes, emulate: bool = False) -> None:
    """Execute one kernel call on the operand memories (in place on ``c``). ``emulate``: the
    kernel emulates bf16 on the bfp16 datapath, so both operands are first rounded to bfp16
    blocks along K (:func:`npusim.numerics.bfp16_round`)."""
    m, k, n, t = ins.m, ins.k, ins.n, ins.dtype
    am = unpack_operand(a, t, m, k)
    bm = unpack_operand(b, ins.b_type, k, n, True, ins.group_size)
    acc = c[:m * n * ACC_BYTES].view(accumulate_dtype(t)).reshape(m, n)
    if t in FLOAT_KINDS:
        if emulate:
            am, bm = bfp16_round(am, axis=1), bfp16_round(bm, axis=0)
        # bf16 (and bfp16, dequantised int4) products are exact in float64 and their sums nearly so; one
        # rounding to fp32 per call keeps the result independent of the BLAS library's summation order
        prod = (am.astype(np.float64) @ bm.astype(np.float64)).astype(np.float32)
        if ins.zero:
            acc[...] = prod
        else:
            acc += prod
    else:
        # float64 sums of int8/int16 products are exact below 2**53 (k < 2**22 for int16)
        exact = (am.astype(np.float64) @ bm.astype(np.float64)).astype(np.int64)
        if not ins.zero:
            exact += acc
        acc[...] = exact.astype(np.int32)  # wraps, as a 32-bit accumulator does
    if ins.emit is not None:
        if ins.bias:
            start = operand_bytes(ins.b_type, k, n, True, ins.group_size)
            acc += b[start:start + n * ACC_BYTES].view(accumulate_dtype(t))  # int32 wraps, as the adder does
        if ins.relu:
            np.maximum(acc, 0, out=acc)
        out = narrow(acc, ins.emit, ins.shift).reshape(-1).view(np.uint8)
        c[:m * n * OUT_BYTES[ins.emit]] = out


def matmul_memory_bytes(ins: Compute) -> tuple[int, int]:
    """Data-memory bytes one call reads and writes: ``A`` and ``B`` (in their storage formats;
    and the bias row after ``B`` when it emits with a bias), the accumulators (read unless
    ``zero``, always written), and the emitted results."""
    m, k, n = ins.m, ins.k, ins.n
    read = (operand_bytes(ins.dtype, m, k) + operand_bytes(ins.b_type, k, n, True, ins.group_size)
            + (0 if ins.zero else m * n * ACC_BYTES))
    written = m * n * ACC_BYTES
    if ins.emit is not None:
        read += n * ACC_BYTES if ins.bias else 0
        written += m * n * OUT_BYTES[ins.emit]
    return read, written
