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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config import NPUConfig
from .engine import RunOptions, run_functional, run_program
from .frontend.data.matmul import compare, pack, random_operands, unpack
from .frontend.layers.matmul import AnyLayer, Conv2d, Gemm, category, ops
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
from .power import MOVEMENT, attach_power
from .stats import Recorder, Report, make_report

if TYPE_CHECKING:
    import pandas as pd


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
    check_size(layer)
    check_before_lowering(config, layer, options or RunOptions(), pins)
    t = time.perf_counter()
    if isinstance(layer, (Gemm, Conv2d)):
        low = lower(config, layer, tiles, pins, cache)
        lowering = time.perf_counter() - t
        report = run_lowered(config, low, options)
    else:
        vlow = lower_vector(config, layer)
        lowering = time.perf_counter() - t
        report = run_vector_lowered(config, vlow, options)
    return replace(report, wall_seconds=report.wall_seconds + lowering)


@dataclass(frozen=True, slots=True)
class OperatorShare:
    """One row of a workload's per-operator-type summary. A layer's cycles are split into the
    busiest core's busy cycles (its kernel calls and lock operations), booked under the layer's
    operator type, and the rest of the layer's run (cores waiting for data: DDR, streams, pipeline
    fill and drain), booked under ``data movement``. A layer's energy splits the same way: the
    components that move data (:data:`npusim.power.MOVEMENT`: DMA traffic in the compute tiles'
    and memory tiles' memories, streams, DDR) under ``data movement``, the rest (MACs, vector,
    kernels' data-memory traffic, locks, clock, static) under the layer's operator type."""

    operator: str
    layers: int
    """Layer runs of this type (a layer with ``count`` N counts N times); 0 for data movement."""
    cycles: int
    time_share: float
    """``cycles`` over the workload's cycles."""
    energy_j: float = 0.0
    energy_share: float = 0.0
    """``energy_j`` over the workload's energy."""

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "layers": self.layers, "cycles": self.cycles, "time_share": self.time_share,
                "energy_j": self.energy_j, "energy_share": self.energy_share}


OPERATOR_ORDER = ("matmul", "conv", "elementwise", "pool", "softmax", "layernorm", "data movement")


def _compute_cycles(report: Report) -> int:
    return max((t.core.busy for t in report.tiles if t.core is not None), default=0)


@dataclass(frozen=True, slots=True)
class WorkloadReport:
    """Per-layer reports of a workload and its totals (a layer with ``count`` N counts N times)."""

    workload: str
    config: str
    layers: tuple[Report, ...]
    counts: tuple[int, ...]
    categories: tuple[str, ...] = ()
    """Each layer's operator type (:func:`npusim.frontend.layers.matmul.category`)."""

    @property
    def cycles(self) -> int:
        return sum(r.cycles * n for r, n in zip(self.layers, self.counts))

    @property
    def seconds(self) -> float:
        return sum(r.seconds * n for r, n in zip(self.layers, self.counts))

    @property
    def ops(self) -> int:
        return sum(r.ops * n for r, n in zip(self.layers, self.counts))

    @property
    def achieved_tops(self) -> float:
        return self.ops / self.seconds / 1e12 if self.seconds else 0.0

    @property
    def peak_tops(self) -> float:
        return max((r.peak_tops for r in self.layers), default=0.0)

    @property
    def functional_ok(self) -> bool | None:
        checked = [r.functional_ok for r in self.layers if r.functional_ok is not None]
        return all(checked) if checked else None

    @property
    def max_abs_error(self) -> float | None:
        errs = [r.max_abs_error for r in self.layers if r.max_abs_error is not None]
        return max(errs) if errs else None

    @property
    def kinds(self) -> tuple[str, ...]:
        """Each layer's operator type (``categories``, or read off its lowering for reports made
        without them)."""
        if self.categories:
            return self.categories
        first = [str((r.lowering or {}).get("layer", "other")).split(" ")[0] for r in self.layers]
        return tuple({"gemm": "matmul", "conv2d": "conv"}.get(w, w) for w in first)

    def operators(self) -> tuple[OperatorShare, ...]:
        """Where the time and energy went, per operator type (those present), then data movement."""
        cycles: dict[str, int] = {}
        runs: dict[str, int] = {}
        energy: dict[str, float] = {}
        for r, n, kind in zip(self.layers, self.counts, self.kinds):
            busy = min(_compute_cycles(r), r.cycles)
            cycles[kind] = cycles.get(kind, 0) + n * busy
            runs[kind] = runs.get(kind, 0) + n
            cycles["data movement"] = cycles.get("data movement", 0) + n * (r.cycles - busy)
            parts = r.energy_by_component or {}
            moving = sum(parts.get(c, 0.0) for c in MOVEMENT)
            energy[kind] = energy.get(kind, 0.0) + n * (sum(parts.values()) - moving)
            energy["data movement"] = energy.get("data movement", 0.0) + n * moving
        total, joules = self.cycles, sum(energy.values())
        order = [op for op in OPERATOR_ORDER if op in cycles and op != "data movement"]
        order += sorted(set(cycles) - set(OPERATOR_ORDER)) + ["data movement"] * ("data movement" in cycles)
        return tuple(OperatorShare(op, runs.get(op, 0), cycles[op], cycles[op] / total if total else 0.0,
                                   energy[op], energy[op] / joules if joules else 0.0) for op in order)

    @property
    def energy_j(self) -> float | None:
        """Energy of the workload in joules (each layer times its count); None if a layer has none."""
        if any(r.energy_j is None for r in self.layers):
            return None
        return sum((r.energy_j or 0.0) * n for r, n in zip(self.layers, self.counts))

    @property
    def energy_by_component(self) -> dict[str, float] | None:
        """Joules by power-model component, summed over the layers (times their counts)."""
        if self.energy_j is None:
            return None
        out: dict[str, float] = {}
        for r, n in zip(self.layers, self.counts):
            for comp, e in (r.energy_by_component or {}).items():
                out[comp] = out.get(comp, 0.0) + n * e
        return out

    @property
    def average_power_w(self) -> float | None:
        energy = self.energy_j
        return None if energy is None else energy / self.seconds if self.seconds else 0.0

    @property
    def npu_power_w(self) -> float | None:
        """The NPU alone (each layer's power without DRAM, weighted by its time); None if a layer
        has no energy."""
        if self.energy_j is None:
            return None
        npu = sum((r.npu_power_w or 0.0) * r.seconds * n for r, n in zip(self.layers, self.counts))
        return npu / self.seconds if self.seconds else 0.0

    @property
    def peak_power_w(self) -> float | None:
        """The highest of the layers' peak powers (the layers run one after another); None if
        no layer recorded intervals."""
        return max((r.peak_power_w for r in self.layers if r.peak_power_w is not None), default=None)

    @property
    def tops_per_watt(self) -> float | None:
        energy = self.energy_j
        return None if energy is None else self.ops / energy / 1e12 if energy else 0.0

    def to_dataframe(self, table: str = "layers") -> "pd.DataFrame":
        """A table as a pandas DataFrame (columns in :mod:`npusim.stats.tables`): ``layers`` (one
        row per layer), ``operators`` (the per-operator-type summary), or a layer table
        (``tiles``, ``channels``, ``routes``, ``energy``) of every layer stacked, with
        ``layer_index`` and ``layer`` columns first."""
        import pandas as pd

        from .stats.tables import stacked_table, workload_layers_table  # pandas: imported when a table is asked for

        if table == "layers":
            return workload_layers_table(self.layers, self.counts, self.kinds)
        if table == "operators":
            return pd.DataFrame([o.to_dict() for o in self.operators()],
                                columns=["operator", "layers", "cycles", "time_share", "energy_j", "energy_share"])
        return stacked_table(self.layers, table)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the totals at the top level, a ``layers`` list of layer reports and the
        per-operator-type summary ``operators``."""
        return {
            "workload": self.workload, "config": self.config, "cycles": self.cycles, "seconds": self.seconds,
            "ops": self.ops, "achieved_tops": self.achieved_tops, "peak_tops": self.peak_tops,
            "functional_ok": self.functional_ok, "max_abs_error": self.max_abs_error,
            "energy_j": self.energy_j, "average_power_w": self.average_power_w, "npu_power_w": self.npu_power_w,
            "peak_power_w": self.peak_power_w,
            "tops_per_watt": self.tops_per_watt, "energy_by_component": self.energy_by_component,
            "engine_events": sum(r.engine_events for r in self.layers),
            "hardware_events": sum(r.hardware_events for r in self.layers),
            "wall_seconds": sum(r.wall_seconds for r in self.layers),
            "operators": [o.to_dict() for o in self.operators()],
            "layers": [dict(r.to_dict(), count=n, operator=kind) for r, n, kind in
                       zip(self.layers, self.counts, self.kinds)],
        }


def run_workload(config: NPUConfig, workload: Workload, options: RunOptions | None = None,
                 on_layer: Callable[[int, Report], None] | None = None, pins: Pins | None = None,
                 cache: MappingCache | None = None) -> WorkloadReport:
    """Run every layer of ``workload`` in order (layer ``i`` draws its operands with seed
    ``options.seed + i``); ``on_layer(i, report)`` is called after each. ``pins`` fix mapping
    choices of every matmul layer; layers of one shape are mapped once (``cache``, or one made for
    this run) and, timing-only, simulated once."""
    options = options or RunOptions()
    reports = []
    cache = cache if cache is not None else MappingCache()
    for i, layer in enumerate(workload.layers):
        reports.append(run_layer(config, layer, replace(options, seed=options.seed + i), pins=pins, cache=cache))
        if on_layer is not None:
            on_layer(i, reports[-1])
    return WorkloadReport(workload.name, config.name, tuple(reports), tuple(ly.count for ly in workload.layers),
                          tuple(category(ly) for ly in workload.layers))
