"""Block and group formats (npusim.numerics.blocks) and the matmul kernel on them, against
references written here without the simulator's conversion code: bfp16 by exact rational
arithmetic per block (fractions.Fraction), bf16 rounding by ml_dtypes, int4 nibbles parsed bit by
bit, integer outputs with Python integers."""
from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim import reference
from npusim.hw.kernels import matmul_memory_bytes, run_matmul
from npusim.isa import Compute
from npusim.numerics import bfp16_round, operand_bytes, pack_operand, unpack_operand


def ref_bfp16_block(block: list[float]) -> list[Fraction]:
    """One block of 8 as bfp16 holds it: shared exponent from the largest magnitude (+127, at
    least 0), mantissas rounded half to even; one exponent more when the largest rounds to 128."""
    big = max(abs(x) for x in block)
    if big == 0:
        return [Fraction(0)] * len(block)
    e = max(math.frexp(big)[1] - 1 + 127, 0)
    while True:
        step = Fraction(2) ** (e - 133)
        q = [round(Fraction(x) / step) for x in block]  # Fraction rounds half to even
        if max(abs(v) for v in q) <= 127:
            return [v * step for v in q]
        e += 1


def ref_bfp16(x: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(x.astype(np.float64), axis, -1)
    out = np.empty(moved.shape, dtype=np.float64)
    for idx in np.ndindex(*moved.shape[:-1]):
        row = [float(v) for v in moved[idx]]
        out[idx] = [float(v) for b in range(0, len(row), 8) for v in ref_bfp16_block(row[b:b + 8])]
    return np.moveaxis(out, -1, axis)


def bf16(x: np.ndarray) -> np.ndarray:
    """bf16 values (as float64) by ml_dtypes' round-to-nearest-even."""
    return np.asarray(x, dtype=np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)


finite = st.floats(min_value=-2.0 ** 100, max_value=2.0 ** 100, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=16, max_size=16), st.sampled_from([0, 1]))
def test_bfp16_rounding_equals_the_exact_reference(values: list[float], axis: int) -> None:
    x = np.array(values, dtype=np.float32).reshape((2, 8) if axis == 1 else (8, 2))
    assert np.array_equal(bfp16_round(x, axis=axis), ref_bfp16(x, axis))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=16, max_size=16), st.sampled_from([0, 1]))
def test_the_functional_reference_rounds_bfp16_as_the_exact_reference(values: list[float], axis: int) -> None:
    x = np.array(values, dtype=np.float32).reshape((2, 8) if axis == 1 else (8, 2))
    assert np.array_equal(reference.bfp16(x, axis), ref_bfp16(x, axis))


def test_bfp16_ties_zeros_tiny_and_the_round_up_to_a_new_exponent() -> None:
    x = np.array([[1.0, 1 / 128, 3 / 256, 0, 0, 0, 0, -1.0],       # 1/128 = 0.5 step: a tie, to even (0)
                  [0.0] * 8,
                  [2.0 ** -140] * 8,                                # below the smallest exponent: E = 0
                  [127.75, 3, 0, 0, 0, 0, 0, 0]], dtype=np.float64)  # 127.75 rounds to 128: exponent + 1
    got = bfp16_round(x)
    assert np.array_equal(got, ref_bfp16(x, 1))
    assert np.array_equal(reference.bfp16(x, 1), got)  # the functional check's own rule too
    assert got[0, :3].tolist() == [1.0, 0.0, 1 / 64]
    assert got[3, :2].tolist() == [128.0, 4.0]  # step 2: 3 -> 1.5 steps, to even 2
    assert not got[1].any() and not got[2].any()


def test_bfp16_error_is_within_half_a_block_step() -> None:
    # the step is 2**(floor(log2 max) - 6), doubled in the blocks whose largest rounds up to 128: half a
    # step of the block's own exponent is at most 2**(floor(log2 max) - 6)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 64)) * np.exp2(rng.integers(-20, 20, size=(64, 1)))
    err = np.abs(bfp16_round(x) - x).reshape(64, 8, 8)
    big = np.abs(x).reshape(64, 8, 8).max(axis=-1, keepdims=True)
    assert (err <= np.exp2(np.floor(np.log2(big)) - 6) * (1 + 1e-12)).all()


def test_operand_bytes_of_every_format() -> None:
    assert operand_bytes("int8", 64, 32) == 2048 and operand_bytes("bf16", 64, 32) == 4096
    assert operand_bytes("int32", 8, 8) == 256 and operand_bytes("fp32", 8, 8) == 256
    assert operand_bytes("bfp16", 64, 64) == 64 * 64 * 9 // 8  # 1.125 bytes per element
    assert operand_bytes("bfp16", 64, 8, k_rows=True) == 576
    # int4: 0.5 B per weight + one bf16 scale per 32 (or 128) weights along K
    assert operand_bytes("int4", 128, 64, k_rows=True) == 128 * 64 // 2 + 4 * 64 * 2
    assert operand_bytes("int4", 128, 64, k_rows=True, group=128) == 128 * 64 // 2 + 64 * 2
    with pytest.raises(ValueError, match="whole blocks of 8, got K = 12"):
        operand_bytes("bfp16", 4, 12)
    with pytest.raises(ValueError, match="K in whole groups of 32"):
        operand_bytes("int4", 48, 8, k_rows=True)
    with pytest.raises(ValueError, match="weight format"):
        operand_bytes("int4", 32, 8)


def test_bfp16_b_layout_is_block_rows_of_columns() -> None:
    k, n = 16, 3
    b = np.arange(k * n, dtype=np.float64).reshape(k, n) + 1.0
    raw = pack_operand(b, "bfp16", k_rows=True)
    # element (k=9, n=2): block row 1, column 2, mantissa 1 -> byte (1 * n + 2) * 9 + 1 + 1
    block = raw[(1 * n + 2) * 9:(1 * n + 3) * 9]
    col = [float(v) for v in b[8:16, 2]]
    step = ref_bfp16_block(col)[1] / Fraction(int(block[2].astype(np.int8)))
    assert step == Fraction(2) ** (int(block[0]) - 133)
    assert np.array_equal(unpack_operand(raw, "bfp16", k, n, k_rows=True), ref_bfp16(b, 0))


def ref_int4(raw: np.ndarray, k: int, n: int, group: int) -> np.ndarray:
    """Dequantised weights from the packed bytes, parsed nibble by nibble."""
    out = np.empty((k, n))
    scales = raw[k * n // 2:]
    for i in range(k):
        for j in range(n):
            e = i * n + j
            nib = (int(raw[e // 2]) >> (4 * (e % 2))) & 0xF
            q = nib - 16 if nib >= 8 else nib
            s = (i // group) * n + j
            scale = np.array([int(scales[2 * s]) | int(scales[2 * s + 1]) << 8], dtype=np.uint16).view(ml_dtypes.bfloat16)
            out[i, j] = bf16(np.array([q * float(scale[0])]))[0]
    return out


@pytest.mark.parametrize("group", [32, 128])
def test_int4_weights_dequantise_as_the_reference(group: int) -> None:
    rng = np.random.default_rng(group)
    w = rng.normal(size=(128, 6))
    raw = pack_operand(w, "int4", k_rows=True, group=group)
    assert raw.size == operand_bytes("int4", 128, 6, k_rows=True, group=group)
    got = unpack_operand(raw, "int4", 128, 6, k_rows=True, group=group)
    assert np.array_equal(got, ref_int4(raw, 128, 6, group))
    assert np.abs(got - w).max() < np.abs(w).max() / 7  # within one quantisation step of a group's largest
    q = np.array([[(int(raw[(i * 6 + j) // 2]) >> (4 * ((i * 6 + j) % 2))) & 0xF for j in range(6)] for i in range(128)])
    scales = raw[128 * 6 // 2:].view(np.uint16).reshape(128 // group, 6)
    assert np.array_equal(reference.int4_weights(np.where(q > 7, q - 16, q), scales, group), got)


def call(m: int, k: int, n: int, a_t: str, b_t: str | None, emit: str, shift: int = 0) -> Compute:
    return Compute(op="compute", m=m, k=k, n=n, dtype=a_t, b_dtype=b_t, zero=True, emit=emit,  # type: ignore[arg-type]
                   shift=shift)


def run(ins: Compute, a_raw: np.ndarray, b_raw: np.ndarray, emulate: bool = False) -> np.ndarray:
    c = np.zeros(ins.m * ins.n * 4, dtype=np.uint8)
    run_matmul(ins, a_raw.copy(), b_raw.copy(), c, emulate)
    return c


def test_int8_to_int16_output_shifts_rounds_and_saturates() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, size=(8, 32), dtype=np.int8)
    b = rng.integers(-128, 128, size=(32, 8), dtype=np.int8)
    ins = call(8, 32, 8, "int8", None, "int16", shift=3)
    got = run(ins, a.view(np.uint8), b.view(np.uint8))[:8 * 8 * 2].view(np.int16).reshape(8, 8)
    for i in range(8):
        for j in range(8):
            acc = sum(int(a[i, t]) * int(b[t, j]) for t in range(32))
            want = max(-32768, min(32767, (acc + 4) >> 3))
            assert int(got[i, j]) == want


def test_bf16_a_with_bfp16_b_matches_the_reference() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(8, 64)).astype(np.float32).astype(ml_dtypes.bfloat16)
    b = rng.normal(size=(64, 8))
    ins = call(8, 64, 8, "bf16", "bfp16", "fp32")
    got = run(ins, a.view(np.uint8).reshape(-1), pack_operand(b, "bfp16", k_rows=True))[:256].view(np.float32)
    want = np.array([[math.fsum(float(a[i, t]) * float(v) for t, v in enumerate(ref_bfp16(b, 0)[:, j]))
                      for j in range(8)] for i in range(8)], dtype=np.float32)
    assert np.array_equal(got.reshape(8, 8), want)  # one fp32 rounding of the exact sum
    assert matmul_memory_bytes(ins) == (8 * 64 * 2 + 64 * 8 * 9 // 8, 8 * 8 * 4 * 2)


def test_bfp16_emulated_bf16_kernel_rounds_both_operands_to_blocks() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=(8, 32)).astype(np.float32).astype(ml_dtypes.bfloat16)
    b = rng.normal(size=(32, 8)).astype(np.float32).astype(ml_dtypes.bfloat16)
    ins = call(8, 32, 8, "bf16", None, "bf16")
    native = run(ins, a.view(np.uint8).reshape(-1), b.view(np.uint8).reshape(-1))[:128].view(ml_dtypes.bfloat16)
    emulated = run(ins, a.view(np.uint8).reshape(-1), b.view(np.uint8).reshape(-1), emulate=True)[:128]
    ra, rb = ref_bfp16(a.astype(np.float64), 1), ref_bfp16(b.astype(np.float64), 0)
    want = bf16(np.array([[math.fsum(ra[i, t] * rb[t, j] for t in range(32)) for j in range(8)] for i in range(8)],
                         dtype=np.float32))
    assert np.array_equal(emulated.view(ml_dtypes.bfloat16).astype(np.float64).reshape(8, 8), want)
    assert not np.array_equal(native.astype(np.float64).reshape(8, 8), want)  # the two kernels differ


def test_bf16_a_with_int4_b_dequantises_in_the_kernel() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(4, 64)).astype(np.float32).astype(ml_dtypes.bfloat16)
    raw = pack_operand(rng.normal(size=(64, 8)), "int4", k_rows=True)
    ins = call(4, 64, 8, "bf16", "int4", "fp32")
    got = run(ins, a.view(np.uint8).reshape(-1), raw)[:128].view(np.float32).reshape(4, 8)
    w = ref_int4(raw, 64, 8, 32)
    want = np.array([[math.fsum(float(a[i, t]) * w[t, j] for t in range(64)) for j in range(8)] for i in range(4)],
                    dtype=np.float32)
    assert np.array_equal(got, want)
