"""A workload's report: one entry per dispatch (an unfused layer, or a fused group of layers),
its totals, and what the dispatches cost on top of the array's time.

``cycles`` and ``array_seconds`` are the array's own time (each entry's cycles times its count);
``seconds`` adds ``dispatch_seconds``, what the host and the command processor cost per dispatch
and per change of design (:mod:`npusim.dispatch`). Rates and powers are over the array's time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .power import MOVEMENT
from .stats import Report

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class FusedGroup:
    """A dispatch that ran several layers as one fused program (docs/model/fusion.md)."""

    name: str
    layers: tuple[str, ...]
    """The member layers, in workload order."""
    kinds: tuple[str, ...]
    """Each member's operator type."""
    on_chip_bytes: int
    """Bytes that went from a member to another through the memory tiles instead of DDR (written
    once, read by each consumer as often as its design reads them)."""
    ddr_saved_bytes: int
    """DDR bytes accessed by the members run one by one, minus the group's."""
    unfused_cycles: int
    """Cycles of the members run one by one (the schedule the group replaced)."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "layers": list(self.layers), "kinds": list(self.kinds),
                "on_chip_bytes": self.on_chip_bytes, "ddr_saved_bytes": self.ddr_saved_bytes,
                "unfused_cycles": self.unfused_cycles}


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
    """One report per entry: an unfused layer, or a fused group (its ``groups`` entry says which)."""
    counts: tuple[int, ...]
    categories: tuple[str, ...] = ()
    """Each entry's operator type (:func:`npusim.frontend.layers.matmul.category`; a fused group:
    its member with the most operations)."""
    groups: tuple[FusedGroup | None, ...] = ()
    """Per entry: the fused group it ran, or None for a single layer (empty: no fusion)."""
    dispatches: int = 0
    reconfigurations: int = 0
    dispatch_seconds: float = 0.0
    """Host and command-processor time of the dispatches and reconfigurations (:mod:`npusim.dispatch`)."""

    @property
    def cycles(self) -> int:
        return sum(r.cycles * n for r, n in zip(self.layers, self.counts))

    @property
    def array_seconds(self) -> float:
        """The array's time: every entry's seconds times its count."""
        return sum(r.seconds * n for r, n in zip(self.layers, self.counts))

    @property
    def seconds(self) -> float:
        """End to end: the array's time plus ``dispatch_seconds``."""
        return self.array_seconds + self.dispatch_seconds

    @property
    def dispatch_share(self) -> float:
        return self.dispatch_seconds / self.seconds if self.seconds else 0.0

    @property
    def ddr(self) -> dict[str, int]:
        """DDR totals (each entry times its count): ``bytes_read``, ``bytes_written`` and
        ``bytes_accessed`` (whole accesses per contiguous run)."""
        return {key: sum(getattr(r.ddr, key) * n for r, n in zip(self.layers, self.counts))
                for key in ("bytes_read", "bytes_written", "bytes_accessed")}

    def group(self, i: int) -> FusedGroup | None:
        """The fused group entry ``i`` ran (None: a single layer)."""
        return self.groups[i] if i < len(self.groups) else None

    @property
    def ops(self) -> int:
        return sum(r.ops * n for r, n in zip(self.layers, self.counts))

    @property
    def achieved_tops(self) -> float:
        """Operations over the array's time (without dispatch)."""
        return self.ops / self.array_seconds / 1e12 if self.array_seconds else 0.0

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
        return None if energy is None else energy / self.array_seconds if self.array_seconds else 0.0

    @property
    def npu_power_w(self) -> float | None:
        """The NPU alone (each layer's power without DRAM, weighted by its time); None if a layer
        has no energy."""
        if self.energy_j is None:
            return None
        npu = sum((r.npu_power_w or 0.0) * r.seconds * n for r, n in zip(self.layers, self.counts))
        return npu / self.array_seconds if self.array_seconds else 0.0

    @property
    def peak_power_w(self) -> float | None:
        """The highest of the layers' peak powers (the layers run one after another); None if
        no layer recorded intervals."""
        return max((r.peak_power_w for r in self.layers if r.peak_power_w is not None), default=None)

    @property
    def tops_per_watt(self) -> float | None:
        energy = self.energy_j
        return None if energy is None else self.ops / energy / 1e12 if energy else 0.0

    def _entry_groups(self) -> list[FusedGroup | None]:
        return [self.group(i) for i in range(len(self.layers))]

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
        """JSON-ready: the totals at the top level (``ddr`` totals, ``dispatch_seconds`` included in
        ``seconds``), a ``layers`` list of entry reports (each with its ``group``, None for a
        single layer) and the per-operator-type summary ``operators``."""
        return {
            "workload": self.workload, "config": self.config, "cycles": self.cycles, "seconds": self.seconds,
            "array_seconds": self.array_seconds, "dispatch_seconds": self.dispatch_seconds,
            "dispatches": self.dispatches, "reconfigurations": self.reconfigurations, "ddr": self.ddr,
            "ops": self.ops, "achieved_tops": self.achieved_tops, "peak_tops": self.peak_tops,
            "functional_ok": self.functional_ok, "max_abs_error": self.max_abs_error,
            "energy_j": self.energy_j, "average_power_w": self.average_power_w, "npu_power_w": self.npu_power_w,
            "peak_power_w": self.peak_power_w,
            "tops_per_watt": self.tops_per_watt, "energy_by_component": self.energy_by_component,
            "engine_events": sum(r.engine_events for r in self.layers),
            "hardware_events": sum(r.hardware_events for r in self.layers),
            "wall_seconds": sum(r.wall_seconds for r in self.layers),
            "operators": [o.to_dict() for o in self.operators()],
            "groups": [g.to_dict() for g in self.groups if g is not None],
            "layers": [dict(r.to_dict(), count=n, operator=kind, group=g.to_dict() if g is not None else None)
                       for r, n, kind, g in zip(self.layers, self.counts, self.kinds, self._entry_groups())],
        }


