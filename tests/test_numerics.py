"""npusim.numerics: bf16 rounding (nearest, ties to even, NaN kept), shift-round-saturate narrowing,
int32 wrap-around and the matmul reference, checked on exact bit patterns and against plain
Python / int64 computations."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from npusim.numerics import (
    ACC_BYTES,
    IN_BYTES,
    OUT_BYTES,
    OUTPUTS,
    accumulate_dtype,
    as_operand,
    bf16_to_f32,
    f32_to_bf16,
    narrow,
    reference_matmul,
    storage_dtype,
    values,
    wrap_int32,
)

Array = npt.NDArray[Any]


def f32(bits: int) -> npt.NDArray[np.float32]:
    """A one-element float32 array with exactly the bit pattern ``bits``."""
    return np.array([bits], dtype=np.uint32).view(np.float32)


def bf16_bits(bits: int) -> int:
    """f32_to_bf16 of the float32 with bit pattern ``bits``, as a Python int."""
    out = f32_to_bf16(f32(bits))
    assert out.dtype == np.uint16 and out.shape == (1,)
    return int(out[0])


def is_bf16_nan(bits: int) -> bool:
    return (bits >> 7) & 0xFF == 0xFF and bits & 0x7F != 0


# -- f32_to_bf16 ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("bits", "expected"), [
    (0x3F800000, 0x3F80),  # 1.0, exact
    (0x3F807FFF, 0x3F80),  # just below half an ulp: down
    (0x3F808000, 0x3F80),  # tie, 0x3F80 even: down
    (0x3F808001, 0x3F81),  # just above the tie: up
    (0x3F818000, 0x3F82),  # tie, 0x3F81 odd: up to even 0x3F82
    (0x3F81FFFF, 0x3F82),  # nearly a whole ulp: up
    (0xBF808000, 0xBF80),  # negative tie to even: magnitude down
    (0xBF818000, 0xBF82),  # negative tie from odd: magnitude up
    (0x3FFF8000, 0x4000),  # tie from odd 0x3FFF: the carry goes into the exponent (2.0)
    (0x00000000, 0x0000),  # +0
    (0x80000000, 0x8000),  # -0 keeps its sign
    (0x00008000, 0x0000),  # subnormal tie to even zero
    (0x00018000, 0x0002),  # subnormal tie from odd: up
    (0x7F7F7FFF, 0x7F7F),  # largest finite bf16, rounded down
    (0x7F7F8000, 0x7F80),  # tie above the largest finite (odd): up to +inf
    (0x7F7FFFFF, 0x7F80),  # largest float32: overflows to +inf
    (0xFF7FFFFF, 0xFF80),  # ... and to -inf when negative
])
def test_f32_to_bf16_rounds_to_nearest_ties_to_even(bits: int, expected: int) -> None:
    assert bf16_bits(bits) == expected


def test_f32_to_bf16_keeps_infinities() -> None:
    assert bf16_bits(0x7F800000) == 0x7F80
    assert bf16_bits(0xFF800000) == 0xFF80
    out = f32_to_bf16(np.array([np.inf, -np.inf], dtype=np.float32))
    assert out.tolist() == [0x7F80, 0xFF80]


@pytest.mark.parametrize("bits", [
    0x7FC00000,  # quiet NaN
    0x7F800001,  # signalling NaN whose payload is only in the low half (truncation gives inf)
    0x7F80FFFF,  # low-half payload that rounding would carry into +inf's pattern
    0x7FFFFFFF,  # all-ones mantissa: plain rounding would carry out of the sign bit
    0xFF800001,  # negative NaN
    0xFFFFFFFF,
])
def test_f32_to_bf16_keeps_nan(bits: int) -> None:
    out = bf16_bits(bits)
    assert is_bf16_nan(out), hex(out)
    assert out >> 15 == bits >> 31  # sign kept
    assert np.isnan(bf16_to_f32(np.array([out], dtype=np.uint16))[0])


def test_f32_to_bf16_nan_among_numbers() -> None:
    out = f32_to_bf16(np.array([1.0, np.nan, -2.0, np.inf], dtype=np.float32))
    assert out[0] == 0x3F80 and out[2] == 0xC000 and out[3] == 0x7F80
    assert is_bf16_nan(int(out[1]))


def test_f32_to_bf16_accepts_lists_and_keeps_shape() -> None:
    assert f32_to_bf16([1.0, -0.5, 3.0]).tolist() == [0x3F80, 0xBF00, 0x4040]
    grid = np.array([[1.0, 2.0], [4.0, 8.0]], dtype=np.float32)
    out = f32_to_bf16(grid)
    assert out.shape == (2, 2) and out.dtype == np.uint16
    assert out.tolist() == [[0x3F80, 0x4000], [0x4080, 0x4100]]
    # a non-contiguous view is converted element by element, not through its memory
    assert f32_to_bf16(grid.T).tolist() == [[0x3F80, 0x4080], [0x4000, 0x4100]]


def test_bf16_to_f32_is_the_upper_half() -> None:
    bits = np.array([0x3F80, 0xC000, 0x0001, 0x7F80], dtype=np.uint16)
    wide = bf16_to_f32(bits)
    assert wide.dtype == np.float32
    assert wide.view(np.uint32).tolist() == [0x3F800000, 0xC0000000, 0x00010000, 0x7F800000]


def test_every_bf16_pattern_round_trips() -> None:
    """Every non-NaN bf16 value is exactly representable: widening then rounding is the identity."""
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    keep = ~np.isnan(bf16_to_f32(bits))
    assert keep.sum() == (1 << 16) - 2 * 127  # NaNs: 2 signs x 127 non-zero 7-bit mantissas
    exact = bits[keep]
    assert np.array_equal(f32_to_bf16(bf16_to_f32(exact)), exact)


@given(st.integers(0, 0xFFFF))
def test_representable_value_is_unchanged(pattern: int) -> None:
    x = bf16_to_f32(np.array([pattern], dtype=np.uint16))
    if np.isnan(x[0]):
        return
    back = bf16_to_f32(f32_to_bf16(x))
    assert back.view(np.uint32)[0] == x.view(np.uint32)[0]


MAGNITUDES = st.floats(min_value=float(np.float32(1e-30)), max_value=float(np.float32(1e30)),
                       width=32, allow_nan=False, allow_infinity=False)


@given(MAGNITUDES, st.booleans())
def test_rounding_error_is_at_most_half_an_ulp(magnitude: float, negative: bool) -> None:
    x = np.array([-magnitude if negative else magnitude], dtype=np.float32)
    r = bf16_to_f32(f32_to_bf16(x))
    xv, rv = float(x[0]), float(r[0])
    assert math.copysign(1.0, rv) == math.copysign(1.0, xv)
    assert abs(xv - rv) <= 2.0 ** -8 * abs(xv)
    # and it is the nearest bf16: neither neighbour is strictly closer
    bits = int(f32_to_bf16(x)[0])
    for neighbour in (bits - 1, bits + 1):
        n = float(bf16_to_f32(np.array([neighbour], dtype=np.uint16))[0])
        assert abs(xv - n) >= abs(xv - rv)


@given(st.integers(0, 0x7F7F), st.booleans())
def test_exact_ties_go_to_the_even_pattern(upper: int, negative: bool) -> None:
    """The float32 halfway between bf16 ``upper`` and ``upper + 1`` rounds to the even one."""
    sign = 0x80000000 if negative else 0
    tie = sign | (upper << 16) | 0x8000
    expected = upper if upper % 2 == 0 else upper + 1
    assert bf16_bits(tie) == (sign >> 16) | expected


# -- narrow --------------------------------------------------------------------------------------

def acc(*xs: int) -> npt.NDArray[np.int32]:
    return np.array(xs, dtype=np.int32)


@pytest.mark.parametrize(("value", "shift", "expected"), [
    (383, 1, 127),     # (383 + 1) >> 1 = 192: saturated
    (5, 1, 3),         # 2.5 rounds half up to 3
    (-5, 1, -2),       # -2.5 rounds half up (towards +inf) to -2
    (-6, 1, -3),
    (7, 2, 2),         # 1.75 -> 2
    (6, 2, 2),         # 1.5 -> 2
    (5, 2, 1),         # 1.25 -> 1
    (-1000, 2, -128),  # -250: saturated
    (254, 1, 127),
    (255, 1, 127),     # 127.5 -> 128: saturated
    (-256, 1, -128),
    (-257, 1, -128),   # -128.5 -> -128
    (-258, 1, -128),   # -129 saturates
    (127, 0, 127),
    (128, 0, 127),
    (-128, 0, -128),
    (-129, 0, -128),
    (2**31 - 1, 24, 127),  # 128: saturated (and the rounding add does not overflow)
    (-2**31, 24, -128),
    (2**31 - 1, 31, 1),
    (-2**31, 31, -1),
])
def test_narrow_int8_shift_round_saturate(value: int, shift: int, expected: int) -> None:
    out = narrow(acc(value), "int8", shift)
    assert out.dtype == np.int8
    assert out.tolist() == [expected]


@given(st.lists(st.integers(-2**31, 2**31 - 1), min_size=1, max_size=8), st.integers(0, 31),
       st.sampled_from(["int8", "int16", "int32"]))
def test_narrow_integers_match_exact_arithmetic(xs: list[int], shift: int, out: str) -> None:
    bits = {"int8": 8, "int16": 16, "int32": 32}[out]
    lo, hi = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    expected = [min(max(math.floor(Fraction(x, 2**shift) + Fraction(1, 2)) if shift else x, lo), hi)
                for x in xs]
    got = narrow(np.array(xs, dtype=np.int32), out, shift)
    assert got.dtype == storage_dtype(out)
    assert got.tolist() == expected


def test_narrow_int16_saturates() -> None:
    out = narrow(acc(32767, 32768, -32768, -32769, 2**31 - 1, -2**31, 100), "int16")
    assert out.dtype == np.int16
    assert out.tolist() == [32767, 32767, -32768, -32768, 32767, -32768, 100]
    assert narrow(acc(65535, 65533, -65537), "int16", 1).tolist() == [32767, 32767, -32768]


def test_narrow_int32_passes_through() -> None:
    xs = acc(0, 1, -1, 2**31 - 1, -2**31, 123456789)
    out = narrow(xs, "int32")
    assert out.dtype == np.int32
    assert out.tolist() == xs.tolist()
    assert narrow(acc(2**31 - 1, -2**31, 3), "int32", 1).tolist() == [2**30, -2**30, 2]


def test_narrow_to_bf16_rounds_to_nearest_even() -> None:
    accs = np.array([1.0, 1.00390625, 1.01171875, -3.5, 0.1], dtype=np.float32)
    out = narrow(accs, "bf16")
    assert out.dtype == np.uint16
    # 1 + 2**-8 is a tie -> 1.0; 1 + 3 * 2**-8 is a tie from odd -> 1 + 2**-6
    assert out.tolist()[:4] == [0x3F80, 0x3F80, 0x3F82, 0xC060]
    assert np.array_equal(out, f32_to_bf16(accs))


def test_narrow_to_fp32_is_the_accumulator() -> None:
    accs = np.array([1.5, -0.1, 3e38], dtype=np.float32)
    out = narrow(accs, "fp32")
    assert out.dtype == np.float32
    assert out.view(np.uint32).tolist() == accs.view(np.uint32).tolist()


# -- wrap_int32 ----------------------------------------------------------------------------------

def test_wrap_int32() -> None:
    xs = np.array([2**31, 2**31 - 1, -2**31 - 1, 2**32, 2**32 + 5, -2**31, 0], dtype=np.int64)
    out = wrap_int32(xs)
    assert out.dtype == np.int32
    assert out.tolist() == [-2**31, 2**31 - 1, 2**31 - 1, 0, 5, -2**31, 0]


# -- reference_matmul ----------------------------------------------------------------------------

def wrap(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


@st.composite
def int_operands(draw: st.DrawFn, dtype: type[np.integer[Any]]) -> tuple[Array, Array]:
    m, k, n = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    a = draw(hnp.arrays(dtype, (m, k)))
    b = draw(hnp.arrays(dtype, (k, n)))
    return a, b


@given(int_operands(np.int8))
def test_reference_int8_to_int32_is_the_exact_product(ab: tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]) -> None:
    a, b = ab
    out = reference_matmul(a, b, "int8", "int32")
    assert out.dtype == np.int32
    assert np.array_equal(out, a.astype(np.int64) @ b.astype(np.int64))


@given(int_operands(np.int8), st.integers(0, 12))
def test_reference_int8_to_int8_narrows_the_exact_product(
        ab: tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]], shift: int) -> None:
    a, b = ab
    exact = a.astype(np.int64) @ b.astype(np.int64)
    out = reference_matmul(a, b, "int8", "int8", shift)
    assert out.dtype == np.int8
    expected = [[min(max((int(x) + (1 << shift >> 1)) >> shift, -128), 127) for x in row]
                for row in exact.tolist()]
    assert out.tolist() == expected


def test_reference_int16_wraps_like_a_32_bit_accumulator() -> None:
    k = 4
    a = np.full((2, k), 32767, dtype=np.int16)
    a[1] = -32768
    b = np.full((k, 3), 32767, dtype=np.int16)
    b[:, 2] = -32768
    exact = a.astype(np.int64) @ b.astype(np.int64)
    assert np.abs(exact).max() > 2**31  # the test is only meaningful if it overflows
    expected = [[wrap(int(x)) for x in row] for row in exact.tolist()]
    assert expected != exact.tolist()
    out = reference_matmul(a, b, "int16", "int32")
    assert out.dtype == np.int32
    assert out.tolist() == expected
    # narrowing applies to the wrapped accumulator, not the exact value
    assert reference_matmul(a, b, "int16", "int16").tolist() == [
        [min(max(x, -32768), 32767) for x in row] for row in expected]


@given(int_operands(np.int16))
def test_reference_int16_is_the_int64_product_wrapped(
        ab: tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]) -> None:
    a, b = ab
    exact = a.astype(np.int64) @ b.astype(np.int64)
    out = reference_matmul(a, b, "int16", "int32")
    assert out.tolist() == [[wrap(int(x)) for x in row] for row in exact.tolist()]


def bf16(xs: npt.ArrayLike) -> npt.NDArray[np.uint16]:
    return f32_to_bf16(np.asarray(xs, dtype=np.float32))


def test_reference_bf16_small_example() -> None:
    a = bf16([[1.5, 2.0], [-1.0, 0.5]])
    b = bf16([[2.0], [0.25]])
    out = reference_matmul(a, b, "bf16", "bf16")
    assert out.dtype == np.uint16
    assert out.tolist() == [[0x4060], [0xBFF0]]  # 3.5, -1.875
    fp = reference_matmul(a, b, "bf16", "fp32")
    assert fp.dtype == np.float32
    assert fp.tolist() == [[3.5], [-1.875]]


def test_reference_bf16_sums_in_float64() -> None:
    """1 + 2**-30 - 1 is 2**-30 when summed exactly (float32 summation would give 0)."""
    a = bf16([[1.0, 2.0 ** -30, -1.0]])
    b = bf16([[1.0], [1.0], [1.0]])
    assert reference_matmul(a, b, "bf16", "fp32").tolist() == [[2.0 ** -30]]


bf16_values = st.floats(min_value=-1e6, max_value=1e6, width=32, allow_nan=False,
                        allow_infinity=False)


@st.composite
def bf16_operands(draw: st.DrawFn) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]:
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    a = draw(hnp.arrays(np.float32, (m, k), elements=bf16_values))
    b = draw(hnp.arrays(np.float32, (k, n), elements=bf16_values))
    return f32_to_bf16(a), f32_to_bf16(b)


@given(bf16_operands())
def test_reference_bf16_is_the_rounded_float64_product(
        ab: tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]) -> None:
    a, b = ab
    exact = bf16_to_f32(a).astype(np.float64) @ bf16_to_f32(b).astype(np.float64)
    out = reference_matmul(a, b, "bf16", "bf16")
    assert out.dtype == np.uint16
    assert np.array_equal(out, f32_to_bf16(exact))
    fp = reference_matmul(a, b, "bf16", "fp32")
    assert np.array_equal(fp.view(np.uint32), exact.astype(np.float32).view(np.uint32))


# -- tables and small helpers --------------------------------------------------------------------

def test_output_and_size_tables() -> None:
    assert OUTPUTS == {"int8": ("int8", "int16", "int32"), "int16": ("int16", "int32"),
                       "bf16": ("bf16", "fp32"), "bfp16": ("bf16", "fp32")}
    assert IN_BYTES == {"int8": 1, "int16": 2, "bf16": 2}
    assert OUT_BYTES == {"int8": 1, "int16": 2, "int32": 4, "bf16": 2, "fp32": 4}
    assert ACC_BYTES == 4
    for kind, outs in OUTPUTS.items():
        if kind != "bfp16":  # a block format: no numpy element type (npusim.numerics.blocks)
            assert storage_dtype(kind).itemsize == IN_BYTES[kind]
        for out in outs:
            assert storage_dtype(out).itemsize == OUT_BYTES[out]
        assert accumulate_dtype(kind).itemsize == ACC_BYTES


def test_storage_and_accumulate_dtypes() -> None:
    assert [storage_dtype(k) for k in ("int8", "int16", "bf16", "int32", "fp32")] == [
        np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.uint16), np.dtype(np.int32),
        np.dtype(np.float32)]
    assert accumulate_dtype("int8") == np.int32
    assert accumulate_dtype("int16") == np.int32
    assert accumulate_dtype("bf16") == np.float32


def test_as_operand_and_values() -> None:
    ints = np.array([-128, 127], dtype=np.int8)
    assert as_operand(ints, "int8").dtype == np.int64
    assert as_operand(ints, "int8").tolist() == [-128, 127]
    halves = bf16([1.5, -2.0])
    assert as_operand(halves, "bf16").dtype == np.float32
    assert as_operand(halves, "bf16").tolist() == [1.5, -2.0]
    assert values(halves, "bf16").dtype == np.float64
    assert values(halves, "bf16").tolist() == [1.5, -2.0]
    assert values(ints, "int8").tolist() == [-128.0, 127.0]
