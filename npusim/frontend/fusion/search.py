"""Which layers to fuse: the partition of a workload into dispatches (single layers and fused
groups) with the fewest array cycles, chosen by the mapper's rule, estimate then simulate.

The candidates are every run of consecutive layers (of one ``count``) that a group can hold: a
resident group (:mod:`.resident`: convolutions, at least one of them reading another) or a
spatial group (:mod:`.group`: at most one member per column). A single layer costs what the
layer-by-layer schedule measured. A partition's cost is the sum of its dispatches' costs, known
(simulated) or estimated; dynamic programming finds the cheapest; its fused groups not simulated
yet are simulated one at a time (the one the estimate says saves the most first, in the design the
estimate leads with), its cost replaced, and the search repeated until the cheapest partition is
made of simulated dispatches only (then a second look with the plain estimates, a few groups more).
The estimate of a group not yet simulated is corrected by how
far off the estimates of the simulated groups that share a layer with it were (:func:`_corrected`),
so that an estimate that flatters a part of the network does not send the search through every
group there.

Why fused never costs more: a single layer is always a candidate, at its measured cost, and the
final partition is the cheapest over costs that are all simulated; a group is chosen only where it
is measured no slower than the layers it replaces, run one by one. Groups of the same layers
(the same shapes and edges, as ResNet's repeated blocks) are simulated once (:class:`FusionCache`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...config import NPUConfig
from ...engine import DeadlockError, MaxCyclesError, RunOptions, run_program
from ...isa import Layout, Program
from ..errors import LoweringError
from ..layers.matmul import AnyLayer, Conv2d
from ..layers.workload import Workload
from .choose import rank
from .dataflow import consumers, producers
from .group import Spec, build, member_config, member_design
from .resident import Resident, build_resident

INF = 1 << 62


@dataclass(frozen=True)
class Fused:
    """A fused group as simulated: its kind, program and the recorder of its timing-only run."""

    kind: str
    """``resident`` or ``spatial``."""
    program: Program
    layout: Layout
    cycles: int
    recorder: Any = field(compare=False)
    detail: Any = field(compare=False)
    """The built group: a :class:`.resident.Resident` with its bands, or a :class:`.group.Built`."""
    spec: Spec


@dataclass(frozen=True)
class Dispatch:
    """One entry of a schedule: layers ``[start, stop)``, fused when ``fused`` is set."""

    start: int
    stop: int
    fused: Fused | None = None


@dataclass
class FusionCache:
    """Simulated groups by their layers' shapes and edges, owned by whoever plans many workloads."""

    groups: dict[str, Fused | None] = field(default_factory=dict)
    members: dict[str, tuple[Any, int]] = field(default_factory=dict)


def _spec(workload: Workload, edges: list[tuple[int | None, ...]], start: int, stop: int) -> Spec:
    cons = consumers(edges)
    layers = tuple(workload.layers[start:stop])
    sources = tuple(tuple(s - start if s is not None and start <= s < stop else None for s in edges[i])
                    for i in range(start, stop))
    external = tuple(not cons[i] or any(c >= stop for c, _ in cons[i]) for i in range(start, stop))
    return Spec(layers, sources, external)


def _key(kind: str, spec: Spec) -> str:
    shapes = [ly.model_copy(update={"name": "layer", "fused": (), "inputs": None}).model_dump_json() for ly in spec.layers]
    return f"{kind}|{shapes}|{spec.sources}|{spec.external}"


def _simulate(config: NPUConfig, program: Program, layout: Layout, budget: int) -> Any:
    try:
        return run_program(config, program, RunOptions(max_cycles=budget), f"group '{program.name}'", layout)
    except (DeadlockError, MaxCyclesError):
        return None


def _resident_candidates(config: NPUConfig, spec: Spec) -> list[Any]:
    layers = list(spec.layers)
    if not all(isinstance(ly, Conv2d) for ly in layers) or not any(s[0] is not None for s in spec.sources):
        return []
    return rank(config, layers, tuple(s[0] for s in spec.sources), spec.external)  # type: ignore[arg-type]


def _spatial_estimate(config: NPUConfig, spec: Spec, cache: FusionCache) -> int:
    """The slowest member's estimate on its one-column array (the members run at once)."""
    if len(spec.layers) > config.columns:
        return INF
    worst = 0
    for i, layer in enumerate(spec.layers):
        readers = len(spec.readers(i))
        key = f"{layer.model_copy(update={'name': 'layer', 'fused': (), 'inputs': None}).model_dump_json()}|{readers}"
        if key not in cache.members:
            try:
                cache.members[key] = member_design(member_config(config, 0, readers + spec.external[i]), layer)
            except (LoweringError, ValueError):
                cache.members[key] = (None, INF)
        worst = max(worst, cache.members[key][1])
    return worst


def _run_resident(config: NPUConfig, spec: Spec, ranked: list[Any], name: str, budget: int) -> Fused | None:
    best: Fused | None = None
    for r in ranked:
        try:
            program, layout, bands = build_resident(config, r.group, name)
        except LoweringError:
            continue
        rec = _simulate(config, program, layout, budget)
        if rec is not None and (best is None or rec.cycles < best.cycles):
            best = Fused("resident", program, layout, rec.cycles, rec, (r.group, bands), spec)
    return best


def _run_spatial(config: NPUConfig, spec: Spec, name: str, budget: int) -> Fused | None:
    try:
        built = build(config, spec, name=name)
    except (LoweringError, ValueError):
        return None
    rec = _simulate(config, built.program, built.layout, budget)
    return None if rec is None else Fused("spatial", built.program, built.layout, rec.cycles, rec, built, spec)


def plan_fusion(config: NPUConfig, workload: Workload, unfused: Sequence[int], cache: FusionCache | None = None,
                max_members: int = 6, on_group: Callable[[str], None] | None = None,
                second_look: int = 6) -> list[Dispatch]:
    """The schedule: the cheapest partition of ``workload`` into single layers (``unfused[i]``
    cycles each, one instance) and fused groups, every group in it simulated. After the search on
    corrected estimates, up to ``second_look`` more groups are simulated that the plain estimates
    lead with (a correction learnt on one kind of group can hide a good one of another)."""
    cache = cache if cache is not None else FusionCache()
    edges = producers(workload)
    layers = workload.layers
    n = len(layers)
    est: dict[tuple[int, int], tuple[int, str]] = {}
    for a in range(n):
        for b in range(a + 2, min(n, a + max_members) + 1):
            if len({ly.count for ly in layers[a:b]}) != 1:
                break
            spec = _spec(workload, edges, a, b)
            options = [(r.cycles, "resident") for r in _resident_candidates(config, spec)[:1]]
            spatial = _spatial_estimate(config, spec, cache)
            if spatial < INF:
                options.append((spatial, "spatial"))
            if options:
                est[(a, b)] = min(options)
    known: dict[tuple[int, int], Fused | None] = {}
    errors: dict[tuple[int, int], tuple[float, int]] = {}
    for corrected, budget in ((True, INF), (False, second_look)):
        for _ in range(budget):
            scaled = {r: (_corrected(r, v[0], errors) if corrected else v[0], v[1]) for r, v in est.items()}
            todo = [(a, b) for a, b in _cheapest(n, unfused, scaled, known, layers) if b - a > 1 and (a, b) not in known]
            if not todo:
                break
            a, b = max(todo, key=lambda r: sum(unfused[r[0]:r[1]]) - scaled[r][0])  # the most promising first
            known[(a, b)] = found = _measure(config, workload, edges, a, b, est[(a, b)][1], unfused, cache, on_group)
            if found is not None and est[(a, b)][0]:
                errors[(a, b)] = (found.cycles / est[(a, b)][0], found.cycles - est[(a, b)][0])
    chosen = _cheapest(n, unfused, {r: v for r, v in est.items() if r in known}, known, layers)  # simulated only
    return [Dispatch(a, b, known.get((a, b)) if b - a > 1 else None) for a, b in chosen]


def measure_group(config: NPUConfig, workload: Workload, start: int, stop: int, kind: str = "spatial") -> Fused | None:
    """Layers ``[start, stop)`` of ``workload`` fused (``kind`` tried first) and simulated, or
    None if no group of them can be built or run."""
    unfused = [0] * len(workload.layers)
    return _measure(config, workload, producers(workload), start, stop, kind, unfused, FusionCache(), None)


def _corrected(r: tuple[int, int], estimate: int, errors: dict[tuple[int, int], tuple[float, int]]) -> int:
    """The estimate of group ``r`` corrected by how far off the estimates of the simulated groups
    that share a layer with it were: by their median ratio of simulated to estimated cycles, or by
    their median difference, whichever is lower (a ratio corrects an estimate that is off in
    proportion, a difference one off by a fixed start-up; the lower keeps the group a candidate)."""
    near = [v for (a, b), v in errors.items() if a < r[1] and r[0] < b]
    if not near:
        return estimate
    ratio = sorted(v[0] for v in near)[len(near) // 2]
    diff = sorted(v[1] for v in near)[len(near) // 2]
    return int(min(estimate * ratio, estimate + diff))


def _measure(config: NPUConfig, workload: Workload, edges: list[tuple[int | None, ...]], a: int, b: int, kind: str,
             unfused: Sequence[int], cache: FusionCache, on_group: Callable[[str], None] | None) -> Fused | None:
    spec = _spec(workload, edges, a, b)
    key = _key(kind, spec)
    name = "+".join(ly.name for ly in spec.layers)
    if key not in cache.groups:
        if on_group is not None:
            on_group(name)
        budget = 4 * sum(unfused[a:b]) + 1_000_000
        for k in (kind, "spatial" if kind == "resident" else "resident"):  # the estimate's kind first
            if k == "resident":
                found = _run_resident(config, spec, _resident_candidates(config, spec)[:1], name, budget)
            else:
                found = _run_spatial(config, spec, name, budget) if len(spec.layers) <= config.columns else None
            if found is not None:
                break
        cache.groups[key] = found
    return cache.groups[key]


def _cheapest(n: int, unfused: Sequence[int], est: dict[tuple[int, int], tuple[int, str]],
              known: dict[tuple[int, int], Fused | None], layers: Sequence[AnyLayer]) -> list[tuple[int, int]]:
    """The partition with the fewest cycles (ties: fewer dispatches), simulated costs where known."""
    best: list[tuple[int, int]] = [(0, 0)] + [(INF, 0)] * n
    cut = [0] * (n + 1)
    for i in range(1, n + 1):
        for j in range(max(0, i - 64), i):
            if j < i - 1:
                if (j, i) not in est:
                    continue
                fused = known.get((j, i), "unknown")
                cost = est[(j, i)][0] if fused == "unknown" else (INF if fused is None else fused.cycles)  # type: ignore[union-attr]
                cost *= layers[j].count
            else:
                cost = unfused[j] * layers[j].count
            cand = (best[j][0] + cost, best[j][1] + 1)
            if cand < best[i]:
                best[i], cut[i] = cand, j
    out = []
    i = n
    while i:
        out.append((cut[i], i))
        i = cut[i]
    return out[::-1]
