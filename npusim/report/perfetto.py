"""Perfetto / Chrome trace-event JSON of a run, built from its recorded intervals.

One process per tile (``compute (0,2)``, ``mem tile (0,1)``, ``shim (0,0)``), one thread (track)
per core and DMA channel, a complete event (``ph: "X"``) per span a unit spent in a state, and
counter tracks (``ph: "C"``) on an ``NPU`` process for the DDR bandwidth (read and write) and
the power by component (:func:`npusim.power.power_timeline`) with its total. Timestamps are microseconds (cycles / clock in MHz). A workload
lays its layers end to end, each run once (a layer with ``count`` N is shown once), with a
``layers`` track naming them. Open the file in the Perfetto UI (ui.perfetto.dev) or chrome://tracing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import NPUConfig
from ..output import write_text
from ..power import power_timeline
from ..runner import WorkloadReport
from ..stats.intervals import UnitId, by_unit, merge, report_units
from ..stats.report import Report

NPU_PID = 1
_KIND = {"shim": "shim", "mem": "mem tile", "compute": "compute"}
_STATE = {"busy": "busy", "lock_stall": "lock stall", "dma_stall": "DMA stall"}
Event = dict[str, Any]


def _us(cycles: float, clock_mhz: float) -> float:
    return round(cycles / clock_mhz, 6)


class _Tracks:
    """Process and thread ids of the tiles and units, and their metadata events."""

    def __init__(self) -> None:
        self.pids: dict[tuple[int, int], int] = {}
        self.tids: dict[str, tuple[int, int]] = {}
        self.meta: list[Event] = [_meta("process_name", NPU_PID, 0, name="NPU"),
                                  _meta("process_sort_index", NPU_PID, 0, sort_index=0)]

    def add(self, u: UnitId) -> tuple[int, int]:
        if u.name in self.tids:
            return self.tids[u.name]
        if u.tile not in self.pids:
            pid = self.pids[u.tile] = NPU_PID + 1 + len(self.pids)
            self.meta += [_meta("process_name", pid, 0, name=f"{_KIND[u.kind]} ({u.col},{u.row})"),
                          _meta("process_sort_index", pid, 0, sort_index=pid)]
        pid = self.pids[u.tile]
        tid = 1 + sum(1 for p, _ in self.tids.values() if p == pid)
        self.tids[u.name] = (pid, tid)
        self.meta += [_meta("thread_name", pid, tid, name=u.track), _meta("thread_sort_index", pid, tid, sort_index=tid)]
        return pid, tid


def _meta(what: str, pid: int, tid: int, **args: Any) -> Event:
    return {"name": what, "ph": "M", "pid": pid, "tid": tid, "args": args}


def _slices(report: Report, tracks: _Tracks, offset: int) -> list[Event]:
    """Complete events of every unit; spans of one state that overlap (an S2MM channel starts its
    next BD before the last one's words have landed) are joined, so a track's slices never overlap."""
    assert report.intervals is not None
    spans = by_unit(report.intervals)
    clock = report.clock_mhz
    out: list[Event] = []
    for u in report_units(report):
        pid, tid = tracks.add(u)
        for start, end, state in merge(spans.get(u.name, []), gap=-1):
            out.append({"name": _STATE.get(state, state), "cat": "core" if u.is_core else "dma", "ph": "X",
                        "pid": pid, "tid": tid, "ts": _us(offset + start, clock), "dur": _us(end - start, clock),
                        "args": {"start_cycle": offset + start, "end_cycle": offset + end}})
    return out


def ddr_bandwidth(report: Report, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin start cycles, read GB/s, write GB/s) of the shim channels (MM2S read DDR, S2MM write
    it). A channel's recorded span is a BD in flight: it waits for its stream peer first, then
    moves, so each span's last ``busy / (busy + stream_stall)`` of its cycles are taken as moving,
    and the channel's bytes are spread evenly over those moving cycles."""
    assert report.intervals is not None
    cycles = max(report.cycles, 1)
    bins = max(1, min(bins, cycles))
    edges = np.linspace(0, cycles, bins + 1)
    per_bin = {"mm2s": np.zeros(bins), "s2mm": np.zeros(bins)}
    spans = by_unit(report.intervals)
    for t in report.tiles:
        if t.kind != "shim":
            continue
        for ch in t.channels:
            active = ch.busy + ch.stream_stall
            mine = merge(spans.get(UnitId("shim", t.col, t.row, ch.channel).name, []))
            moving = [(e - (e - s) * ch.busy / active, e) for s, e, _ in mine] if active else []
            total = sum(e - s for s, e in moving)
            for s, e in moving:
                covered = np.clip(np.minimum(edges[1:], e) - np.maximum(edges[:-1], s), 0, None)
                per_bin[ch.channel[:4]] += covered * ch.bytes / total
    seconds = (edges[1] - edges[0]) / (report.clock_mhz * 1e6)
    return edges[:-1], per_bin["mm2s"] / seconds / 1e9, per_bin["s2mm"] / seconds / 1e9


def _counter(name: str, ts: list[float], series: dict[str, np.ndarray], end: float) -> list[Event]:
    out = [{"name": name, "ph": "C", "pid": NPU_PID, "tid": 0, "ts": float(t),
            "args": {k: round(float(v[i]), 6) for k, v in series.items()}} for i, t in enumerate(ts)]
    out.append({"name": name, "ph": "C", "pid": NPU_PID, "tid": 0, "ts": end, "args": {k: 0.0 for k in series}})
    return out


def _counters(report: Report, config: NPUConfig, offset: int, bins: int) -> list[Event]:
    clock = report.clock_mhz
    end = _us(offset + report.cycles, clock)
    starts, read, write = ddr_bandwidth(report, bins)
    out = _counter("DDR bandwidth (GB/s)", [_us(offset + s, clock) for s in starts],
                   {"read": read, "write": write}, end)
    power = power_timeline(report, config, bins=bins)
    ts = [_us(offset, clock) + round(float(t) * 1e6, 6) for t in power.t_s]
    series = dict(power.watts)
    series["total"] = power.total_w
    return out + _counter("power (W)", ts, series, end)


def perfetto_trace(report: Report | WorkloadReport, config: NPUConfig, bins: int = 200) -> dict[str, Any]:
    """The trace-event JSON object (``{"traceEvents": [...], ...}``) of a run whose intervals were
    recorded (``RunOptions(record_intervals=True)``); counters in ``bins`` time bins per run."""
    runs = list(report.layers) if isinstance(report, WorkloadReport) else [report]
    if any(r.intervals is None for r in runs):
        raise ValueError("the report has no intervals: run with RunOptions(record_intervals=True) "
                         "(npusim run --perfetto does)")
    tracks = _Tracks()
    events: list[Event] = []
    offset = 0
    for i, r in enumerate(runs):
        events += _slices(r, tracks, offset) + _counters(r, config, offset, bins)
        if isinstance(report, WorkloadReport):
            events.append(_layer_slice(r, i, report.counts[i], offset))
        offset += r.cycles
    if isinstance(report, WorkloadReport):
        tracks.meta.append(_meta("thread_name", NPU_PID, 1, name="layers"))
    events = _drop_duplicate_counters(events)
    events.sort(key=lambda e: (e["pid"], e["tid"], e["ts"]))
    name = report.workload if isinstance(report, WorkloadReport) else report.program
    return {"traceEvents": tracks.meta + events, "displayTimeUnit": "ns",
            "otherData": {"program": name, "config": report.config, "clock_mhz": config.clock_mhz,
                          "cycles": report.cycles if isinstance(report, Report) else offset}}


def _layer_slice(r: Report, i: int, count: int, offset: int) -> Event:
    what = str((r.lowering or {}).get("layer", r.program))
    return {"name": f"{i} {r.program}", "cat": "layer", "ph": "X", "pid": NPU_PID, "tid": 1,
            "ts": _us(offset, r.clock_mhz), "dur": _us(r.cycles, r.clock_mhz),
            "args": {"layer": what, "cycles": r.cycles, "count": count}}


def _drop_duplicate_counters(events: list[Event]) -> list[Event]:
    """A counter's closing zero at the end of one layer and the next layer's first sample share a
    timestamp: keep the later one only, so each counter track's timestamps strictly increase."""
    last: dict[tuple[str, float], int] = {}
    for i, e in enumerate(events):
        if e["ph"] == "C":
            last[(e["name"], e["ts"])] = i
    return [e for i, e in enumerate(events) if e["ph"] != "C" or last[(e["name"], e["ts"])] == i]


def write_perfetto(report: Report | WorkloadReport, config: NPUConfig, path: str | Path, bins: int = 200) -> None:
    """Write :func:`perfetto_trace` to ``path`` (parent folders created; whole or not at all)."""
    write_text(path, json.dumps(perfetto_trace(report, config, bins), separators=(",", ":")))
