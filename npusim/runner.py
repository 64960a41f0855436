"""Running layers and workloads: lower, simulate (timing-only or functional), report.

>>> from npusim import load_config
>>> from npusim.runner import run_layer
>>> from npusim.frontend import Gemm
>>> from npusim.engine import RunOptions
>>> report = run_layer(load_config("configs/npu1.yaml"), Gemm(m=256, k=256, n=256, dtype="int8"),
...                    RunOptions(functional=True))
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .config import NPUConfig
from .engine import RunOptions, run_functional, run_program
from .frontend.data.matmul import compare, pack, random_operands, unpack
from .frontend.layers.matmul import AnyLayer, Conv2d, Gemm, category, ops
from .frontend.fusion import Dispatch, Fused, FusionCache, plan_fusion
from .frontend.fusion.report import group_data, group_summary, on_chip_bytes
from .frontend.lower import Lowered, lower
from .frontend import TilePlan
from .frontend.mapper.design import Pins
from .frontend.mapper.search import MappingCache
from .frontend.data.vector import compare_vector, pack_vector, random_vector_operands, unpack_vector, x_shape
from .frontend.program.vector import VectorLowered, lower_vector, tensor_bytes
from .frontend.layers.workload import Workload
from .isa import Layout, Program
from .limits import check_before_lowering, check_estimate, check_memory, check_size, functional_bytes, gemm_elements
from .numerics import Array
from .power import attach_power
from .stats import Recorder, Report, make_report
from .dispatch import configuration_key, dispatch_costs
from .workload_report import OPERATOR_ORDER, FusedGroup, OperatorShare, WorkloadReport

__all__ = ["OPERATOR_ORDER", "FusedGroup", "OperatorShare", "WorkloadReport", "lowering_summary", "report_with_power",
           "run_layer", "run_lowered", "run_vector_lowered", "run_workload", "vector_summary"]



def report_with_power(rec: Recorder, config: NPUConfig, program_name: str, layout: Layout, **details: Any) -> Report:
    """Condense a run into its :class:`Report` (``details`` as :func:`~npusim.stats.make_report`
    takes them) with the power model's energy and power filled in; ``layout`` (the program's
    verification) gives each route's switch tree for the stream energy."""
    trees = {name: len(path.links) + 1 for name, path in layout.paths.items()}
    return attach_power(make_report(rec, config, program_name, tree_switches=trees, **details), config)


def lowering_summary(low: Lowered) -> dict[str, Any]:
    """What a layer's report says about its lowering (JSON-ready)."""
    p = low.plan
    d = p.design
    return {
        "layer": p.layer.describe(),
        "tiles": {"m": p.m, "k": p.k, "n": p.n},
        "design": {"columns": d.columns, "rows": d.rows, "c_buffers": d.c_buffers, "c_storage": d.c_storage,
                   "reuse": d.reuse, "b_layout": d.b_layout},
        "gemm": {"m": p.M, "k": p.K, "n": p.N},
        "padded": {"m": p.Mp, "k": p.Kp, "n": p.Np},
        "kernel_calls_per_core": p.calls_per_core,
        "expected_cycles": {"compute": p.estimate.compute, "ddr": p.estimate.ddr,
                            "stream": p.estimate.stream, "overhead": p.estimate.overhead},
        "bound": p.estimate.bound,
    }


def vector_summary(low: VectorLowered) -> dict[str, Any]:
    """What a vector operator's report says about its lowering (JSON-ready)."""
    p = low.plan
    return {
        "layer": p.layer.describe(),
        "block": list(p.block),
        "cores": {"columns": p.columns, "rows": p.rows},
        "kernel_calls_per_core": p.rounds * p.steps,
        "expected_cycles": {"compute": p.estimate.compute, "ddr": p.estimate.ddr, "stream": p.estimate.stream},
        "bound": p.estimate.bound,
    }


def estimate_of(low: Lowered | VectorLowered) -> tuple[int, int, int, int]:
    """What the limits (:mod:`npusim.limits`) check of a lowered layer: its cycles as the mapper
    knows them (simulated or extrapolated by its search, else its estimate), its kernel calls
    (all cores), and the operand and output elements of a functional run."""
    p = low.plan
    if isinstance(p, TilePlan):
        cycles = low.search.winner.cycles if isinstance(low, Lowered) and low.search is not None else p.estimate.cycles
        return cycles, p.calls_per_core * p.columns * p.rows, *gemm_elements(p.layer, p.M, p.K, p.N)
    elements = math.prod(x_shape(p.layer))  # the output has as many (a pool's: fewer)
    return p.estimate.cycles, p.rounds * p.steps * p.cores, elements * (1 + (p.y_elements > 0)), elements


Check = Callable[[dict[str, Array]], tuple[bool, float]]
"""Functional mode: from the DDR tensors after the run, (output equals numpy's, max abs error)."""


def _simulate(config: NPUConfig, program: Program, layout: Layout, name: str, options: RunOptions | None,
              data: Callable[[int], tuple[dict[str, Array], Check]], estimate: tuple[int, int, int, int],
              done: Recorder | None = None, **details: Any) -> Report:
    """Simulate a lowered layer's program; with ``options.functional``, on the DDR tensors
    ``data(seed)`` gives, checked by the check it returns. ``estimate`` is the lowering's (cycles,
    kernel calls, operand elements, output elements), checked against the options' limits first
    (:mod:`npusim.limits`). ``done``: the recorder of a timing-only simulation of this very
    program (the mapper's), used instead of simulating again when the options ask for nothing it
    lacks. ``details`` go to the report."""
    options = options or RunOptions()
    source = f"layer '{name}'"
    cycles, calls, operands, outputs = estimate
    reuse = done is not None and not options.functional and _reusable(done, options)
    if not reuse:  # (a run the mapper simulated already is not refused for its estimate)
        check_estimate(name, cycles, calls, options)
    result: tuple[bool, float] | None = None
    if options.functional:
        buffers = (b.size_bytes for tile in program.tiles for b in tile.buffers)
        check_memory(name, functional_bytes((t.size_bytes for t in program.tensors), buffers, operands, outputs),
                     options)
        tensors, check = data(options.seed)
        rec, out = run_functional(config, program, tensors, options, source, layout)
        result = check(out)
    elif reuse and done is not None:
        rec = replace(done, wall_seconds=0.0)  # simulated while lowering: its time is the lowering's
    else:
        rec = run_program(config, program, options, source, layout)
    return report_with_power(rec, config, name, layout, functional=result, **details)


def _reusable(rec: Recorder, options: RunOptions) -> bool:
    """Whether a recorder of a plain timing-only run answers a run with ``options``: no intervals,
    no progress callback, and within the cycle limit."""
    return (not options.record_intervals and options.progress is None
            and (options.max_cycles is None or rec.cycles <= options.max_cycles))


def run_vector_lowered(config: NPUConfig, low: VectorLowered, options: RunOptions | None = None) -> Report:
    """Simulate a lowered vector operator; with ``options.functional``, on random operands,
    checked against numpy."""
    layer = low.plan.layer

    def data(seed: int) -> tuple[dict[str, Array], Check]:
        operands = random_vector_operands(layer, seed)
        return (pack_vector(low.plan, operands, tensor_bytes(low.plan)),
                lambda out: compare_vector(layer, operands, unpack_vector(low.plan, out))[:2])
    return _simulate(config, low.program, low.layout, layer.name, options, data, estimate_of(low), ops=0,
                     dtype=layer.dtype, lowering=vector_summary(low))


def run_lowered(config: NPUConfig, low: Lowered, options: RunOptions | None = None) -> Report:
    """Simulate a lowered layer; with ``options.functional``, on random operands
    (``options.seed``), checked against numpy."""
    layer = low.plan.layer

    def data(seed: int) -> tuple[dict[str, Array], Check]:
        operands = random_operands(layer, seed)
        return (pack(low.plan, operands, low.a_bytes),
                lambda out: compare(layer, operands, unpack(low.plan, out), low.plan, emulated)[:2])
    emulated = config.compute_tile.kernel(layer.kernel, layer.dtype, layer.b_dtype).emulation == "bfp16"
    done = low.search.recorder if low.search is not None else None
    return _simulate(config, low.program, low.layout, layer.name, options, data, estimate_of(low), done,
                     ops=ops(layer), dtype=layer.types, lowering=lowering_summary(low))


def run_layer(config: NPUConfig, layer: AnyLayer, options: RunOptions | None = None,
              tiles: tuple[int, int, int] | None = None, pins: Pins | None = None,
              cache: MappingCache | None = None) -> Report:
    """Lower ``layer`` onto ``config`` (a matmul's design chosen by the mapper within ``pins``, or
    with ``tiles``; ``cache`` keeps the mapper's results for layers of the same shape) and simulate it."""
    return _run_layer(config, layer, options, tiles, pins, cache)[0]


def _run_layer(config: NPUConfig, layer: AnyLayer, options: RunOptions | None = None,
               tiles: tuple[int, int, int] | None = None, pins: Pins | None = None,
               cache: MappingCache | None = None) -> tuple[Report, Program]:
    """:func:`run_layer`, and the program it ran."""
    check_size(layer)
    check_before_lowering(config, layer, options or RunOptions(), pins)
    t = time.perf_counter()
    if isinstance(layer, (Gemm, Conv2d)):
        low = lower(config, layer, tiles, pins, cache)
        lowering = time.perf_counter() - t
        report, program = run_lowered(config, low, options), low.program
    else:
        vlow = lower_vector(config, layer)
        lowering = time.perf_counter() - t
        report, program = run_vector_lowered(config, vlow, options), vlow.program
    return replace(report, wall_seconds=report.wall_seconds + lowering), program


def run_workload(config: NPUConfig, workload: Workload, options: RunOptions | None = None,
                 on_layer: Callable[[int, Report], None] | None = None, pins: Pins | None = None,
                 cache: MappingCache | None = None, fusion_cache: FusionCache | None = None) -> WorkloadReport:
    """Run ``workload``: every layer on its own first (layer ``i`` draws its operands with seed
    ``options.seed + i``; ``on_layer(i, report)`` is called after each), then, with
    ``options.fusion``, the groups of consecutive layers that run faster fused
    (:func:`npusim.frontend.fusion.plan_fusion`) instead of their layers. ``pins`` fix mapping
    choices of every matmul layer run alone; layers of one shape are mapped once (``cache``, or one
    made for this run) and, timing-only, simulated once; so are groups (``fusion_cache``). Each
    dispatch (a layer instance, a group) is charged with ``config.dispatch`` (:mod:`npusim.dispatch`)."""
    options = options or RunOptions()
    reports = []
    programs = []
    cache = cache if cache is not None else MappingCache()
    for i, layer in enumerate(workload.layers):
        report, program = _run_layer(config, layer, replace(options, seed=options.seed + i), pins=pins, cache=cache)
        reports.append(report)
        programs.append(program)
        if on_layer is not None:
            on_layer(i, reports[-1])
    layers = workload.layers
    schedule = [Dispatch(i, i + 1) for i in range(len(layers))]
    planning = 0.0
    if options.fusion and len(layers) > 1:
        t = time.perf_counter()
        schedule = plan_fusion(config, workload, [r.cycles for r in reports], fusion_cache)
        planning = (time.perf_counter() - t) / max(1, sum(d.fused is not None for d in schedule))
    entries: list[Report] = []
    keys: list[int] = []
    groups: list[FusedGroup | None] = []
    for d in schedule:
        if d.fused is None:
            entries.append(reports[d.start])
            keys.append(configuration_key(programs[d.start]))
            groups.append(None)
            continue
        members = layers[d.start:d.stop]
        alone = sum(r.wall_seconds for r in reports[d.start:d.stop]) + planning  # the time it took to choose it
        report = run_fused(config, d.fused, d.start, options, members)
        entries.append(replace(report, wall_seconds=report.wall_seconds + alone))
        keys.append(configuration_key(d.fused.program))
        groups.append(_group_info(d, reports, entries[-1], members))
    counts = tuple(layers[d.start].count for d in schedule)
    costs = dispatch_costs(config, keys, counts)
    kinds = tuple(_kind(layers[d.start:d.stop]) for d in schedule)
    return WorkloadReport(workload.name, config.name, tuple(entries), counts, kinds, tuple(groups), costs.dispatches,
                          costs.reconfigurations, costs.seconds)


def _kind(members: list[AnyLayer]) -> str:
    """The operator type an entry books under: its member with the most operations."""
    return category(max(members, key=ops))


def _group_info(d: Dispatch, reports: list[Report], report: Report, members: list[AnyLayer]) -> FusedGroup:
    assert d.fused is not None
    alone = reports[d.start:d.stop]
    return FusedGroup(report.program, tuple(ly.name for ly in members), tuple(category(ly) for ly in members),
                      on_chip_bytes(d.fused), sum(r.ddr.bytes_accessed for r in alone) - report.ddr.bytes_accessed,
                      sum(r.cycles for r in alone))


def run_fused(config: NPUConfig, fused: Fused, start: int, options: RunOptions, members: list[AnyLayer]) -> Report:
    """A fused group's report (``members``: its layers in the workload; the group simulated may
    have been planned for other layers of the same shapes): its timing-only simulation (the
    search's, when the options ask for nothing more), or, with ``options.functional``, a run on
    random operands (member ``i`` with seed ``options.seed + start + i``), checked against numpy."""
    spec = fused.spec
    name = "+".join(ly.name for ly in members)
    source = f"group '{name}'"
    result: tuple[bool, float] | None = None
    t = time.perf_counter()
    if options.functional:
        tensors, check = group_data(fused, options.seed + start)
        rec, out = run_functional(config, fused.program, tensors, options, source, fused.layout)
        result = check(out)
    elif _reusable(fused.recorder, options):
        rec = replace(fused.recorder, wall_seconds=0.0)
    else:
        rec = run_program(config, fused.program, options, source, fused.layout)
    rec.wall_seconds = time.perf_counter() - t if not rec.wall_seconds else rec.wall_seconds
    total = sum(ops(ly) for ly in spec.layers)
    return report_with_power(rec, config, name, fused.layout, functional=result, ops=total,
                             dtype=spec.layers[0].dtype, lowering=group_summary(fused, members))
