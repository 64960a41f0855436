"""The search: rank every candidate design by the analytical estimate, simulate the leaders,
keep the fastest.

Candidates come from :mod:`.candidates` (every part of the array, every option, every tile size
that fits), ranked by :mod:`.estimate`; the best few of each part of the array and combination of
options go into one ranking. The leaders — every design within ``close`` of the best estimate, at
most ``leaders`` of them — are built, verified and simulated: whole when the layer is small
enough (``whole_macs``), otherwise on a representative part (the first one and two super-tile
rows, or columns, of the layer) whose difference gives the cycles of one more, from which the
whole layer's cycles are extrapolated. Small layers (``small_macs``), whose fixed costs the
estimate knows least well, simulate the best few designs of every part of the array. The
winner is the leader with the fewest (simulated or extrapolated) cycles; ties go to the better
estimate, then to larger arrays and tiles (:meth:`.design.Design.key`), so the search is
deterministic.

Why the result is monotonic: a design for a smaller array or smaller memories is a candidate on
a larger one, and the simulated cycles of a design do not depend on hardware it does not use;
as long as the estimate is within about ``close / 2`` of the simulation, the smaller config's
winner is among the larger config's leaders, and the larger config's winner simulates no slower.
The property tests check it over random layers and geometries.

A search result is cached per (config, layer shape, pins) in a :class:`MappingCache` the caller
owns (a workload run keeps one), with the recorder of the winner's whole simulation, which a run
of the same layer reuses (the engine is deterministic).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ...config import NPUConfig
from ...engine import DeadlockError, MaxCyclesError, RunOptions, run_program
from ...isa import Layout, Program
from ..errors import LoweringError
from ..layers.matmul import Conv2d, Gemm
from ..program.build import program_of
from ..program.common import verify_lowering
from .candidates import Group, candidates, plan_of, smallest_need
from .design import STACK_BYTES, Design, Pins, TilePlan
from .estimate import Context, Estimate

if TYPE_CHECKING:
    from ...stats import Recorder


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How hard the search looks."""

    leaders: int = 3
    """Designs simulated at most."""
    close: float = 0.10
    """Designs whose estimate is within this fraction of the best are leaders."""
    small_macs: int = 1 << 22
    """Layers of at most this many MACs are small enough to simulate the best designs of every part
    of the array: their fixed costs (fill, drain, latencies) weigh most, where the estimate is least
    exact."""
    small_leaders: int = 2
    """Best designs of each part of the array a small layer simulates."""
    small_close: float = 0.25
    """A small layer simulates only the parts of the array whose best estimate is within this
    fraction of the best part's (a part estimated far slower does not win)."""
    per_group: int = 4
    """Best candidates kept from each part of the array and shape of data movement (C and reuse
    options vary inside a group)."""
    whole_macs: int = 1 << 30
    """Layers of at most this many MACs have their leaders simulated whole; beyond, on a
    representative part, extrapolated."""
    part_close: float = 0.03
    """For layers too large to simulate whole, only leaders within this fraction of the best
    estimate are simulated (in part), at most two (or ``leaders``); a single one is only checked
    to build, its estimate trusted."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A design the search ranked: its estimate and, for leaders, what the simulation said."""

    design: Design
    estimate: Estimate
    measured: int | None = None
    """Simulated (or extrapolated) cycles; None if not simulated."""
    how: str = "estimate"
    """``simulated``, ``extrapolated from N super-tile rows`` (or columns), ``estimate``, or why it
    could not be built."""

    @property
    def cycles(self) -> int:
        return self.measured if self.measured is not None else self.estimate.cycles

    @property
    def ok(self) -> bool:
        """The design was built and (if simulated) finished."""
        return not self.how.startswith(("not built", "did not finish"))


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What the search considered and why it chose what it chose (for ``--explain``)."""

    winner: Choice
    leaders: tuple[Choice, ...]
    considered: int
    """Candidate designs that fit and were estimated."""
    pins: Pins
    recorder: "Recorder | None" = field(default=None, compare=False)
    """The winner's whole simulation (timing-only), when the search ran it."""
    built: tuple[Program, Layout] | None = field(default=None, compare=False)
    """The winner's program and its verified layout, when the search built it whole."""

    @property
    def runner_up(self) -> Choice | None:
        rest = [c for c in self.leaders if c.design != self.winner.design and c.measured is not None]
        return min(rest, key=_rank) if rest else None


def _rank(c: Choice) -> tuple[object, ...]:
    return (c.cycles, c.estimate.cycles, c.design.key())


@dataclass
class MappingCache:
    """Search results by (config, layer shape, pins), owned by whoever lowers many layers."""

    results: dict[tuple[str, str, Pins], SearchResult] = field(default_factory=dict)

    def key(self, config: NPUConfig, layer: Gemm | Conv2d, pins: Pins) -> tuple[str, str, Pins]:
        shape = layer.model_copy(update={"name": "layer", "fused": ()})
        return config.model_dump_json(), shape.model_dump_json(), pins


def _ranked(groups: list[Group], per_group: int) -> list[Choice]:
    """The best ``per_group`` tile sizes of each group (fewest estimated cycles, then least padding,
    then larger tiles, larger m, larger k), all groups in one ranking; of designs that differ only
    in how C is kept and estimate the same, the first in :meth:`.Design.key` order."""
    out: list[Choice] = []
    for grp in groups:
        g, e = grp.grid, grp.est
        near = np.arange(len(e["cycles"]))
        if len(near) > 8 * per_group:  # the few fastest first (ties broken among them below)
            near = near[e["cycles"] <= np.partition(e["cycles"], 8 * per_group)[8 * per_group]]
        keys = [v[near] if np.ndim(v) else np.full(len(near), v) for v in
                (-g["k"], -g["m"], -(g["m"] * g["k"] * g["n"]), g["Mp"] * g["Kp"] * g["Np"], e["cycles"])]
        order = near[np.lexsort(keys)[:per_group]]
        for i in order:
            out.append(Choice(grp.design(int(i)), Estimate(int(e["compute"][i]), int(e["ddr"][i]),
                                                           int(e["stream"][i]), int(e["ddr_bytes"][i]),
                                                           int(e["overhead"][i]))))
    out.sort(key=lambda c: (c.estimate.cycles, c.design.key()))
    seen: set[tuple[object, ...]] = set()
    unique = []
    for c in out:
        d = c.design
        same = (d.columns, d.rows, d.m, d.k, d.n, d.reuse, d.b_layout, c.estimate.cycles)
        if same not in seen:
            seen.add(same)
            unique.append(c)
    return unique


def build(config: NPUConfig, plan: TilePlan) -> tuple[Program, Layout]:
    """The verified program of ``plan``; a :class:`LoweringError` if the config cannot hold it."""
    program = program_of(plan)
    return program, verify_lowering(program, config, plan.layer.name, f"{plan.layer.describe()} with "
                                    f"{plan.design.describe()}")


def _by_part(ranked: list[Choice]) -> dict[tuple[int, int], list[Choice]]:
    """The ranked choices by the part of the array they use (columns, rows), each in rank order.
    A small layer simulates the best of every part: a smaller array's are among them on a larger
    array, so more columns or rows are never slower."""
    parts: dict[tuple[int, int], list[Choice]] = {}
    for c in ranked:
        parts.setdefault((c.design.columns, c.design.rows), []).append(c)
    return parts


Run = tuple["Recorder", Program, Layout]
"""A whole simulation of a design: its recorder, program and verified layout."""


def _simulate(config: NPUConfig, plan: TilePlan, limit: int) -> Run:
    program, layout = build(config, plan)
    rec = run_program(config, program, RunOptions(max_cycles=limit), f"layer '{plan.layer.name}'", layout)
    return rec, program, layout


def _buildable(ctx: Context, choice: Choice) -> Choice:
    """The choice, or why its program cannot be built (checked on its first super-tile row)."""
    try:
        build(ctx.config, plan_of(ctx, choice.design, 1))
        return choice
    except LoweringError as exc:
        return replace(choice, how=f"not built: {str(exc).splitlines()[0]}")


def _measure(ctx: Context, choice: Choice, whole: bool) -> tuple[Choice, Run | None]:
    """Simulate a leader, whole or in part; a design the config cannot hold or that does not finish
    is dropped with the reason."""
    plan = plan_of(ctx, choice.design)
    limit = 4 * plan.estimate.cycles + 1_000_000
    outer = plan.mb if choice.design.order == "mn" else plan.nb
    try:
        if whole or outer <= 2:
            run = _simulate(ctx.config, plan, limit)
            return replace(choice, measured=run[0].cycles, how="simulated"), run
        one, two = (_simulate(ctx.config, plan_of(ctx, choice.design, w), limit)[0].cycles for w in (1, 2))
        what = "rows" if choice.design.order == "mn" else "columns"
        return replace(choice, measured=two + (outer - 2) * (two - one),
                       how=f"extrapolated from 1 and 2 of {outer} super-tile {what}"), None
    except LoweringError as exc:
        return replace(choice, how=f"not built: {str(exc).splitlines()[0]}"), None
    except (DeadlockError, MaxCyclesError) as exc:
        return replace(choice, how=f"did not finish: {type(exc).__name__}"), None


def _nothing_fits(ctx: Context, pins: Pins) -> LoweringError:
    layer, config = ctx.layer, ctx.config
    need = smallest_need(ctx, pins)
    if need is None:
        return LoweringError(f"layer '{layer.name}' ({layer.describe()}): no part of config '{config.name}' can run "
                             f"it with the pins ({pins.describe()}); the memory tiles need 3 S2MM and 3 MM2S "
                             "channels and the shims 2 MM2S and 1 S2MM (mem_tile.dma, shim_tile.dma)")
    l1, l2, (m, k, n) = need
    what = "the tiles" if pins.tiles is not None else "no design fits. The smallest candidate,"
    return LoweringError(
        f"layer '{layer.name}' ({layer.describe()}): {what} m={m} k={k} n={n}"
        f"{' need' if pins.tiles is not None else ', needs'} {l1} bytes of compute-tile data memory (A and B "
        f"double-buffered, C in the smallest storage the pins allow, + {STACK_BYTES} B stack; limit "
        f"compute_tile.data_mem_kib = {config.compute_tile.data_mem_kib}) and {l2} bytes of memory tile (limit "
        f"mem_tile.size_kib = {config.mem_tile.size_kib}) with the pins ({pins.describe()}); give the tiles more "
        "memory or pin less")


def search(config: NPUConfig, layer: Gemm | Conv2d, pins: Pins = Pins(), cache: MappingCache | None = None,
           settings: SearchSettings = SearchSettings()) -> SearchResult:
    """Choose a design for ``layer`` on ``config`` within ``pins``; raise :class:`LoweringError`
    saying why if there is none."""
    key = cache.key(config, layer, pins) if cache is not None else None
    if cache is not None and key in cache.results:
        return cache.results[key]
    ctx = Context.of(config, layer)
    groups = list(candidates(ctx, pins))
    ranked = _ranked(groups, settings.per_group)
    if not ranked:
        raise _nothing_fits(ctx, pins)
    best = ranked[0].estimate.cycles
    # the layer's size, not the leading design's, decides how it is searched: the same on every config
    whole = layer.macs <= settings.whole_macs
    leaders: list[Choice] = []
    runs: dict[Design, Run] = {}

    def measure(choice: Choice) -> Choice:
        if choice.design in runs or any(c.design == choice.design for c in leaders):
            return next(c for c in leaders if c.design == choice.design)
        measured, run = _measure(ctx, choice, whole)
        leaders.append(measured)
        if run is not None:
            runs[choice.design] = run
        return measured

    if layer.macs <= settings.small_macs:  # small: the best few of every part of the array
        for members in _by_part(ranked).values():
            if members[0].estimate.cycles > best * (1 + settings.small_close):
                continue
            built = 0
            for c in members[:settings.small_leaders + 2]:
                built += measure(c).ok
                if built == settings.small_leaders:
                    break
    else:
        close = settings.close if whole else settings.part_close
        target = len([c for c in ranked if c.estimate.cycles <= best * (1 + close)][:settings.leaders if whole else min(settings.leaders, 2)])
        for choice in ranked[:target + 64]:  # leaders that cannot be built are replaced by the next in rank
            if sum(1 for c in leaders if c.ok) >= target:
                break
            if not whole and target == 1:  # a clear winner of a large layer: check it builds, trust the estimate
                leaders.append(_buildable(ctx, choice))
            else:
                measure(choice)
    usable = [c for c in leaders if c.ok]
    if not usable:
        raise LoweringError(f"layer '{layer.name}' ({layer.describe()}): no candidate design could be built on "
                            f"config '{config.name}': " + "; ".join(f"{c.design.describe()}: {c.how}" for c in leaders))
    winner = min(usable, key=_rank)
    run = runs.get(winner.design)
    result = SearchResult(winner, tuple(leaders), sum(len(g.est["cycles"]) for g in groups), pins,
                          run[0] if run else None, run[1:] if run else None)
    if cache is not None and key is not None:
        cache.results[key] = result
    return result


def plan_for(config: NPUConfig, result: SearchResult, layer: Gemm | Conv2d) -> TilePlan:
    """The winner's plan for ``layer`` (the layer searched, or one of the same shape)."""
    return plan_of(Context.of(config, layer), result.winner.design)
