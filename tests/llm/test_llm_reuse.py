"""Simulate once, reuse (issue 16): cached and interpolated costs against the full simulation.

The house rule for any cached or interpolated result: a test against the simulation it stands for.
Here: layers that differ only in data-only fields take the same cycles; a whole run of a small
model, every layer of every pass simulated afresh, equals the cached run; the decode attention
interpolated between anchor contexts is within its tolerance of a simulation at every context."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from npusim import NPUConfig, load_config
from npusim.frontend import AnyLayer, Embedding, Gemm, Pins, RMSNorm, Rope, Softmax
from npusim.llm import Cost, LlmRun, TimingCache, decode_steps, load_model, prefill_steps, run_llm
from npusim.llm.interpolate import ContextCurve
from npusim.llm.run import attention_curve
from npusim.llm.timings import DATA_ONLY, deviation, layer_key
from npusim.runner import run_layer

ROOT = Path(__file__).resolve().parents[2]
TINY = load_model(ROOT / "workloads/llm/tiny-llama.json")


@lru_cache(maxsize=None)
def config(name: str) -> NPUConfig:
    return load_config(ROOT / f"configs/{name}.yaml")


@pytest.mark.parametrize("a, b", [
    (Rope(rows=8, length=16, heads=4, position=0, theta=10000.0, dtype="bf16"),
     Rope(rows=8, length=16, heads=4, position=4000, theta=500000.0, dtype="bf16")),
    (Embedding(rows=3, length=64, vocab=900, dtype="bf16"),
     Embedding(rows=3, length=64, vocab=900, tokens=(899, 5, 450), dtype="bf16")),
    (RMSNorm(rows=4, length=64, epsilon=1e-5, dtype="bf16"), RMSNorm(rows=4, length=64, epsilon=1e-6, dtype="bf16")),
    (Softmax(rows=4, length=64, dtype="bf16"), Softmax(rows=4, length=64, scale=0.125, dtype="bf16")),
])
def test_data_only_fields_leave_the_simulated_cost_alone(a: AnyLayer, b: AnyLayer) -> None:
    assert layer_key(a) == layer_key(b)
    ra, rb = run_layer(config("npu2"), a), run_layer(config("npu2"), b)
    assert (ra.cycles, ra.energy_j, ra.ddr.bytes_read) == (rb.cycles, rb.energy_j, rb.ddr.bytes_read)


def test_the_data_only_fields_are_the_ones_the_layers_have() -> None:
    fields = set().union(*(m.model_fields for m in (Rope, Embedding, RMSNorm, Softmax)))
    assert DATA_ONLY - {"name", "fused"} <= fields


def full(cfg: NPUConfig, layers: list[tuple[AnyLayer, int, Pins | None]]) -> Cost:
    """Every layer simulated afresh (no cache), times its count."""
    out = Cost()
    for layer, count, pins in layers:
        out.add(Cost.of(run_layer(cfg, layer, pins=pins)), count)
    return out


def test_a_cached_run_equals_every_layer_simulated_afresh() -> None:
    cfg, run = config("tiny"), LlmRun(prompt=12, generate=3, prefill_chunk=8, weights="bf16", tolerance=1e-9)
    report = run_llm(cfg, TINY, run)
    want = full(cfg, [(s.layer, s.count, None) for s in prefill_steps(TINY, run)])
    got = report.prefill_total
    assert got.seconds == pytest.approx(want.seconds, rel=1e-12) and got.ddr_bytes == want.ddr_bytes
    assert got.energy_j == pytest.approx(want.energy_j, rel=1e-12)
    cache = TimingCache(cfg)  # the decode attention's matmuls keep the design chosen at the longest context
    pins = {s.name: Pins.of(cache.search(s.layer).winner.design) for s in decode_steps(TINY, run, 15)
            if s.grows and isinstance(s.layer, Gemm)}
    steps = [(s.layer, s.count, pins.get(s.name)) for c in (13, 14, 15) for s in decode_steps(TINY, run, c)]
    want = full(cfg, steps)
    assert report.decode_total.seconds == pytest.approx(want.seconds, rel=1e-12)
    assert report.decode_total.energy_j == pytest.approx(want.energy_j, rel=1e-12)
    assert report.reuse.interpolated == 0  # a tolerance of 1e-9 simulates every context
    assert report.reuse.simulated + report.reuse.reused == report.reuse.layer_runs
    assert report.reuse.simulated < report.reuse.layer_runs / 4


def attention(run: LlmRun, cache: TimingCache, context: int, pins: dict[str, Pins]) -> Cost:
    out = Cost()
    for s in decode_steps(TINY, run, context):
        if s.grows:
            out.add(cache.cost(s.layer, pins.get(s.name)), s.count)
    return out


@pytest.mark.parametrize("name, lo, hi", [
    ("tiny", 2, 130), pytest.param("npu2", 1, 100, marks=pytest.mark.slow),
    pytest.param("npu2", 1000, 1060, marks=pytest.mark.slow)])
def test_interpolated_decode_attention_is_within_its_tolerance_at_every_context(name: str, lo: int, hi: int) -> None:
    # the ranges cross boundaries of the lowering's tiles and padding (steps in the cost) and changes of its plan
    cfg, run = config(name), LlmRun(prompt=lo, weights="bf16", tolerance=0.01)
    curve = attention_curve(TINY, run, TimingCache(cfg), hi)
    curve.cover(lo, hi)
    exact = TimingCache(cfg)
    pins = {s.name: Pins.of(exact.search(s.layer).winner.design) for s in decode_steps(TINY, run, hi)
            if s.grows and isinstance(s.layer, Gemm)}  # the design the curve fixes: chosen at the longest
    worst = max(deviation(curve.cost(c), attention(run, exact, c, pins)) for c in range(lo, hi + 1))
    assert worst <= 0.01, f"interpolation off by {100 * worst:.2f}% somewhere in {lo}..{hi}"
    assert curve.max_deviation <= 0.005
    assert len(curve.anchors) < (hi - lo + 1) * 3 / 4


def test_without_plan_signatures_the_curve_still_bisects_to_its_tolerance() -> None:
    # a made-up cost with a step and a kink: the pieces are refined where the midpoint is off the line
    def cost(c: int) -> Cost:
        return Cost(seconds=1e-6 * (c + (40 if c >= 77 else 0) + (0.5 * (c - 150) if c > 150 else 0)), runs=1)

    curve = ContextCurve(cost, tolerance=0.01, max_span=64)
    curve.cover(1, 300)
    assert max(deviation(curve.cost(c), cost(c)) for c in range(1, 301)) <= 0.01
    assert 76 in curve.anchors and 77 in curve.anchors  # the step, found
