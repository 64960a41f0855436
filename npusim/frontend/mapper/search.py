"""The search: rank every candidate design by the analytical estimate, simulate the leaders,
keep the fastest.

Candidates come from :mod:`.candidates` (every part of the array, every option, every tile size
that fits), ranked by :mod:`.estimate`; the best few of each part of the array and combination of
options go into one ranking. The leaders — every design within ``close`` of the best estimate, at
most ``leaders`` of them — are built, verified and simulated: whole when the layer is small
enough (``whole_macs``), otherwise on a representative part (the first one and two super-tile
rows, or columns, of the layer) whose difference gives the cycles of one more, from which the
whole layer's cycles are extrapolated. Small layers (``small_macs``), whose fixed costs the
estimate knows least well, take leaders within a wider margin. A layer simulated whole also
simulates the leaders every narrower array (fewer columns) would have. The
winner is the leader with the fewest (simulated or extrapolated) cycles; ties go to the better
estimate, then to larger arrays and tiles (:meth:`.design.Design.key`), so the search is
deterministic.

Why the result is monotonic: a design for a smaller array or smaller memories is a candidate on
a larger one, and the simulated cycles of a design do not depend on hardware it does not use.
In columns, for layers simulated whole, the leaders of every narrower array are simulated too
(unless its best estimate is ``prune`` slower than a leader simulated already), so the narrower
array's winner is among the leaders; in compute rows, memory sizes and DDR bandwidth it holds as
long as the estimate is within about ``close / 2`` of the simulation. The property tests check
it over random layers and geometries.

A search result is cached per (config, layer shape, pins) in a :class:`MappingCache` the caller
owns (a workload run keeps one), with the recorder of the winner's whole simulation, which a run
of the same layer reuses (the engine is deterministic).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from collections.abc import Callable, Iterator
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
    """Leaders simulated at most, for the array and for each narrower one."""
    close: float = 0.10
    """Designs whose estimate is within this fraction of the best are leaders."""
    small_macs: int = 1 << 22
    """Layers of at most this many MACs are small: their fixed costs (fill, drain, latencies) weigh
    most, where the estimate is least exact, so more of their designs are leaders."""
    small_leaders: int = 3
    """Leaders of a small layer, for the array and for each narrower one."""
    small_close: float = 0.25
    """A small layer's leaders are the designs within this fraction of the best estimate."""
    prune: float = 0.5
    """A narrower array whose best estimate is this fraction slower than a leader already simulated
    is not searched (its leaders would not win)."""
    per_group: int = 4
    """Best candidates kept from each part of the array and shape of data movement (C and reuse
    options vary inside a group)."""
    whole_macs: int = 1 << 30
    """Layers of at most this many MACs have their leaders simulated whole; beyond, on a
    representative part, extrapolated."""
    part_close: float = 0.06
    """For layers too large to simulate whole, only leaders within this fraction of the best
    estimate are simulated (in part), at most ``leaders``; a single one is only checked to build,
    its estimate trusted."""


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
        shape = layer.model_copy(update={"name": "layer", "fused": (), "inputs": None})
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


def _prefixes(ranked: list[Choice]) -> Iterator[list[Choice]]:
    """The ranked choices an array of ``c`` columns would have, for every ``c`` up to this one's
    (the largest first), each in rank order. A design's estimate and simulation do not depend on
    the columns it leaves unused, so the leaders of each are the leaders the narrower array's
    search simulates: with them among this search's leaders, more columns are never slower."""
    for most in sorted({c.design.columns for c in ranked}, reverse=True):
        yield [c for c in ranked if c.design.columns <= most]


def _lead(ranked: list[Choice], close: float, cap: int, measure: Callable[[Choice], Choice]) -> None:
    """Simulate the leaders of ``ranked``: every choice within ``close`` of its best estimate, at
    most ``cap``; one that cannot be built is replaced by the next in rank."""
    if not ranked:
        return
    best = ranked[0].estimate.cycles
    target = len([c for c in ranked if c.estimate.cycles <= best * (1 + close)][:cap])
    built = 0
    for c in ranked[:target + 64]:
        if built >= target:
            break
        built += measure(c).ok


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


def _measure(ctx: Context, choice: Choice, whole: bool, beat: int | None = None) -> tuple[Choice, Run | None]:
    """Simulate a leader, whole or in part; a design the config cannot hold or that does not finish
    is dropped with the reason. A whole simulation stops past ``beat`` cycles (a leader already
    simulated that fast): the design cannot win."""
    plan = plan_of(ctx, choice.design)
    limit = 4 * plan.estimate.cycles + 1_000_000
    outer = plan.mb if choice.design.order == "mn" else plan.nb
    try:
        if whole or outer <= 2:
            run = None
            if beat is not None and beat < limit:
                try:
                    run = _simulate(ctx.config, plan, beat)
                except MaxCyclesError:
                    return replace(choice, measured=beat + 1, how=f"stopped past {beat:,} cycles (slower than a "
                                   "simulated leader)"), None
                except DeadlockError:
                    pass  # every unit waiting at the stop looks like a deadlock: the full run tells
            if run is None:
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
        done = [c.measured for c in leaders if c.ok and c.measured is not None]
        measured, run = _measure(ctx, choice, whole, min(done) if done and whole else None)
        leaders.append(measured)
        if run is not None:
            runs[choice.design] = run
        return measured

    if whole:  # the leaders of every narrower array too: its winner stays a candidate here
        small = layer.macs <= settings.small_macs
        close, cap = (settings.small_close, settings.small_leaders) if small else (settings.close, settings.leaders)
        for sub in _prefixes(ranked):  # the whole array first: its leaders set the pace
            done = [c.measured for c in leaders if c.ok and c.measured is not None]
            if done and sub[0].estimate.cycles > (1 + settings.prune) * min(done):
                continue  # even this part's best is estimated far slower than a simulated leader
            _lead(sub, close, cap, measure)
    else:
        target = len([c for c in ranked if c.estimate.cycles <= best * (1 + settings.part_close)][:settings.leaders])
        for choice in ranked[:target + 64]:  # leaders that cannot be built are replaced by the next in rank
            if sum(1 for c in leaders if c.ok) >= target:
                break
            if target == 1:  # a clear winner of a large layer: check it builds, trust the estimate
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
