"""Running a language model: prefill of the prompt, then decode token by token, on one config.

>>> from npusim import load_config
>>> from npusim.llm import LlmRun, load_model, run_llm
>>> report = run_llm(load_config("configs/npu2.yaml"), load_model("workloads/llm/llama-3.2-1b.json"),
...                  LlmRun(prompt=512, generate=128))
>>> report.ttft_s, report.decode_tokens_per_s

Every layer of every pass is costed by a :class:`~npusim.llm.timings.TimingCache`: each
distinct layer is simulated once and reused wherever it repeats (decoder layers, K/V heads,
prefill chunks of one size, decode steps). The decode attention layers, whose shape grows with
the cache, are costed by a :class:`~npusim.llm.interpolate.ContextCurve` over the decode's
contexts. ``--contexts`` points are single decode steps at those attention lengths, simulated
exactly. The report counts the layer runs simulated, reused and interpolated.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable

from ..config import NPUConfig
from ..engine import RunOptions
from ..frontend import AnyLayer, Conv2d, Gemm, Pins
from .graph import GROUPS, LlmRun, Step, decode_steps, prefill_steps
from .interpolate import ContextCurve
from .model import ModelSpec
from .report import ContextPoint, LlmReport, Reuse
from .timings import Cost, TimingCache


def groups() -> dict[str, Cost]:
    return {g: Cost() for g in GROUPS}


def add_steps(out: dict[str, Cost], steps: Iterable[Step], cache: TimingCache, grows: bool = True) -> None:
    """Add every step's cost (a run times its count) to its group; with ``grows`` False, leave
    out the steps whose shape depends on the attention length."""
    for s in steps:
        if grows or not s.grows:
            out[s.group].add(cache.cost(s.layer), s.count)


def total(parts: dict[str, Cost]) -> Cost:
    out = Cost()
    for c in parts.values():
        out.add(c)
    return out


def _decode(model: ModelSpec, run: LlmRun, cache: TimingCache, curve: ContextCurve) -> tuple[dict[str, Cost], int]:
    """The generated tokens' passes (contexts ``prompt + 1 .. prompt + generate``) by group, and
    the layer runs interpolated."""
    out, interpolated = groups(), 0
    lo, hi = run.prompt + 1, run.prompt + run.generate
    curve.cover(lo, hi)
    for context in range(lo, hi + 1):
        steps = decode_steps(model, run, context)
        add_steps(out, steps, cache, grows=False)
        attention = curve.cost(context)
        out["attention"].add(attention)
        if not curve.is_anchor(context):
            interpolated += attention.runs
    return out, interpolated


def attention_curve(model: ModelSpec, run: LlmRun, cache: TimingCache, hi: int) -> ContextCurve:
    """The cost of a decode step's attention-length-dependent layers (``Step.grows``) against the
    context, up to ``hi``: their matmuls in the design the mapper chooses at ``hi`` (a kernel
    compiled once for the longest cache, run at every length), simulated by ``cache`` at the
    curve's anchors, the curve cut where their padded sizes or vector blocks change (see
    :mod:`.interpolate`)."""
    fixed = {s.name: cache.search(s.layer) for s in decode_steps(model, run, hi)
             if s.grows and isinstance(s.layer, (Gemm, Conv2d))}
    pins = {name: Pins.of(r.winner.design) for name, r in fixed.items()}

    def attention_at(context: int) -> Cost:
        part = Cost()
        for s in decode_steps(model, run, context):
            if s.grows:
                part.add(cache.cost(s.layer, pins.get(s.name)), s.count)
        return part

    def signature_at(context: int) -> tuple[Hashable, ...]:
        return tuple(cache.signature(s.layer, fixed.get(s.name)) for s in decode_steps(model, run, context) if s.grows)

    return ContextCurve(attention_at, run.tolerance, signature_at)


def _step(model: ModelSpec, run: LlmRun, cache: TimingCache, context: int, curve: ContextCurve | None = None) -> Cost:
    """One decode step at ``context``: its attention from ``curve`` when given."""
    parts = groups()
    add_steps(parts, decode_steps(model, run, context), cache, grows=curve is None)
    if curve is not None:
        parts["attention"].add(curve.cost(context))
    return total(parts)


def run_llm(config: NPUConfig, model: ModelSpec, run: LlmRun, options: RunOptions | None = None,
            cache: TimingCache | None = None, on_simulate: Callable[[AnyLayer], None] | None = None) -> LlmReport:
    """Cost the prefill of ``run.prompt`` tokens and ``run.generate`` decode steps (and one
    decode step at each of ``run.contexts``) of ``model`` on ``config``. A ``cache`` made for the
    same config may be passed in to reuse its simulations across runs."""
    t = time.perf_counter()
    cache = cache or TimingCache(config, options, on_simulate)
    if cache.config is not config and cache.config != config:
        raise ValueError("the timing cache was made for another config; make one per config")
    before = cache.simulated
    prefill = groups()
    add_steps(prefill, prefill_steps(model, run), cache)

    curve = attention_curve(model, run, cache, run.prompt + max(run.generate, 1))
    decode, interpolated = _decode(model, run, cache, curve) if run.generate else (groups(), 0)
    first = last = None
    if run.generate:
        first = _step(model, run, cache, run.prompt + 1, curve)
        last = _step(model, run, cache, run.prompt + run.generate, curve)
    contexts = tuple(ContextPoint(c, _step(model, run, cache, c)) for c in run.contexts)
    runs = total(prefill).runs + total(decode).runs + sum(p.cost.runs for p in contexts)
    reuse = Reuse(runs, cache.simulated - before, interpolated, curve.anchors if run.generate else (),
                  curve.max_deviation, run.tolerance)
    return LlmReport(model, config.name, config.clock_mhz, run, prefill, decode, first, last, contexts, reuse,
                     time.perf_counter() - t)
