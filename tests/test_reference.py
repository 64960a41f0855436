"""The independent numpy reference (npusim.reference): its roundings against definitions
written a third way (exact fractions), and the point of it: a kernel whose rounding truncates
now fails the functional check (it passed every functional test while the reference shared the
kernels' rounding code)."""
from __future__ import annotations

import ast
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import npusim.numerics as numerics
import npusim.vector_math as vector_math
from npusim import Elementwise, Gemm, Pool, RunOptions, load_config, run_layer
from npusim import reference as ref
from npusim.numerics import Array

ROOT = Path(__file__).resolve().parents[1]
TINY = load_config(ROOT / "configs/tiny.yaml")


def test_it_imports_nothing_from_npusim() -> None:
    tree = ast.parse((ROOT / "npusim/reference.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "." for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "typing", "numpy", "numpy.typing"}, imported


def _bf16_by_fractions(x: float) -> float:
    """Round ``x`` to bf16 (8 significant bits, exponents down to the 2^-133 subnormal step,
    nearest, ties to even) with exact fractions."""
    if x == 0 or math.isnan(x) or math.isinf(x):
        return x
    q = max(math.frexp(x)[1] - 8, -133)
    scaled = Fraction(x) / Fraction(2) ** q
    low = math.floor(scaled)
    rest = scaled - low
    r = low + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and low % 2) else 0)
    value = r * Fraction(2) ** q
    if abs(value) > (2 - Fraction(1, 128)) * Fraction(2) ** 127:
        return math.copysign(math.inf, x)
    return math.copysign(float(value), x)  # a negative that rounds to zero is -0


@settings(max_examples=400, deadline=None)
@given(st.floats(allow_nan=False, width=64))
def test_bf16_rounding_is_nearest_even(x: float) -> None:
    bits = ref.to_bf16(np.array([x]))
    got = float(ref.decode(bits, "bf16")[0])
    want = _bf16_by_fractions(x)
    assert got == want and math.copysign(1, got) == math.copysign(1, want)


def test_bf16_edge_cases() -> None:
    one = 1.0
    ulp = 2.0**-7
    cases = {one + ulp / 2: one, one + 3 * ulp / 2: one + 2 * ulp, 2.0**-133: 2.0**-133, 2.0**-134: 0.0,
             3 * 2.0**-135: 2.0**-133, 3.39e38: 3.3895313892515355e38, 3.4e38: math.inf, -3.5e38: -math.inf}
    for x, want in cases.items():
        assert float(ref.decode(ref.to_bf16(np.array([x])), "bf16")[0]) == want, x
    assert np.isnan(ref.decode(ref.to_bf16(np.array([math.nan])), "bf16")[0])


@settings(max_examples=200, deadline=None)
@given(st.integers(-2**40, 2**40), st.integers(0, 31))
def test_shift_rounds_half_up(x: int, shift: int) -> None:
    got = int(ref.shift_round(np.array([x], dtype=np.int64), shift)[0])
    assert got == math.floor(Fraction(x, 2**shift) + Fraction(1, 2))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["int8", "int16"]), st.integers(1, 6), st.integers(1, 40), st.integers(1, 6),
       st.integers(0, 12), st.booleans(), st.integers(0, 2**16))
def test_integer_gemm_by_python_integers(kind: str, m: int, k: int, n: int, shift: int, relu: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    info = np.iinfo(kind)
    a = rng.integers(info.min, info.max, (m, k), endpoint=True).astype(kind)
    b = rng.integers(info.min, info.max, (k, n), endpoint=True).astype(kind)
    bias = rng.integers(-2**31, 2**31, n).astype(np.int32)
    got = ref.gemm(a, b, kind, kind, shift, bias, relu)
    for i in range(m):
        for j in range(n):
            acc = sum(int(a[i, t]) * int(b[t, j]) for t in range(k)) + int(bias[j])
            acc = (acc + 2**31) % 2**32 - 2**31
            acc = max(acc, 0) if relu else acc
            out = math.floor(Fraction(acc, 2**shift) + Fraction(1, 2))
            assert got[i, j] == min(max(out, int(info.min)), int(info.max))


def test_a_truncation_is_not_a_correct_rounding() -> None:
    exact = np.random.default_rng(1).standard_normal(10_000)
    right = ref.to_bf16(exact)
    truncated = (exact.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    assert ref.rounded_right(right, right, exact, "bf16", 0.0).all()
    assert (~ref.rounded_right(truncated, right, exact, "bf16", 0.0)).mean() > 0.4


def _truncating(x: object) -> Array:
    """f32_to_bf16 with the rounding left out: the upper 16 bits of each float32."""
    f = np.ascontiguousarray(x, dtype=np.float32)
    return (f.view(np.uint32) >> 16).astype(np.uint16)


@pytest.mark.parametrize("layer", [
    Gemm(name="gemm", m=64, k=96, n=48, dtype="bf16"),
    Elementwise(name="gelu", kind="gelu", shape=(16, 64), dtype="bf16"),
    Pool(name="avg", kind="avg", channels=16, height=8, width=8, kernel_h=2, kernel_w=2, stride=2, dtype="bf16"),
])
def test_a_kernel_that_truncates_to_bf16_fails_the_check(layer: Gemm | Elementwise | Pool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_layer(TINY, layer, RunOptions(functional=True)).functional_ok is True
    monkeypatch.setattr(numerics, "f32_to_bf16", _truncating)  # what numerics.narrow calls
    monkeypatch.setattr(vector_math, "f32_to_bf16", _truncating)
    assert run_layer(TINY, layer, RunOptions(functional=True)).functional_ok is False


def test_a_kernel_that_truncates_its_shift_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = Gemm(name="gemm", m=32, k=64, n=32, dtype="int8", shift=7)
    assert run_layer(TINY, layer, RunOptions(functional=True)).functional_ok is True
    real = numerics.narrow

    def truncating(acc: Array, out: str, shift: int = 0) -> Array:
        return real(acc.astype(np.int64) >> shift, out, 0)
    import npusim.hw.kernels as kernels

    monkeypatch.setattr(numerics, "narrow", truncating)  # the function, wherever it is called from
    monkeypatch.setattr(kernels, "narrow", truncating)
    assert run_layer(TINY, layer, RunOptions(functional=True)).functional_ok is False
