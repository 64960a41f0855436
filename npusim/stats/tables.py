"""A Report's tables as pandas DataFrames (``Report.to_dataframe``), one row per unit.

Columns (cycles are array clock cycles, bytes are bytes, energies joules):

- ``tiles``: ``col``, ``row``, ``kind`` (``shim``, ``mem``, ``compute``), ``busy``,
  ``lock_stall``, ``dma_stall``, ``idle``, ``kernel_calls``, ``macs`` (the core's; 0 for a tile
  without a core), ``has_core``, ``bytes_in`` (its S2MM channels), ``bytes_out`` (its MM2S
  channels), ``channels`` (DMA channels used), ``lock_operations``.
- ``channels``: ``col``, ``row``, ``kind``, ``channel`` (``mm2s0``, ``s2mm1``, ...), ``bytes``,
  ``bds``, ``busy``, ``stream_stall``, ``lock_stall``.
- ``routes``: ``route``, ``bytes``, ``busy``, ``destinations``, ``switches`` (per destination,
  ``;``-separated), ``tree_switches``.
- ``energy``: ``component`` (``macs`` ... ``static``), ``energy_j``, ``share`` (of the total),
  ``average_w`` (the component's energy over the run's seconds); empty before the power model ran.

A workload (``WorkloadReport.to_dataframe``) adds:

- ``layers``: ``layer_index``, ``layer`` (its name), ``operator`` (matmul, conv, elementwise, ...),
  ``count``, ``shape`` (the lowering's description), ``tiles`` (``MxKxN`` or a vector block),
  ``bound`` (``compute``, ``DDR`` or ``stream``, as the lowering expected), ``cycles``,
  ``seconds``, ``ops``, ``achieved_tops``, ``peak_tops``, ``energy_j``, ``average_power_w``,
  ``npu_power_w`` (DRAM excluded), ``peak_power_w``, ``tops_per_watt``, then ``energy_<component>_j`` for every component (one
  run of the layer; multiply by ``count`` for the workload's share);
- the tables above for every layer, stacked, with ``layer_index`` and ``layer`` first.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .report import Report

TILE_COLUMNS = ("col", "row", "kind", "busy", "lock_stall", "dma_stall", "idle", "kernel_calls", "macs", "has_core",
                "bytes_in", "bytes_out", "channels", "lock_operations")
CHANNEL_COLUMNS = ("col", "row", "kind", "channel", "bytes", "bds", "busy", "stream_stall", "lock_stall")
ROUTE_COLUMNS = ("route", "bytes", "busy", "destinations", "switches", "tree_switches")
ENERGY_COLUMNS = ("component", "energy_j", "share", "average_w")
TABLES = ("tiles", "channels", "routes", "energy")


def _tiles(report: Report) -> list[dict[str, Any]]:
    rows = []
    for t in report.tiles:
        c = t.core
        rows.append({
            "col": t.col, "row": t.row, "kind": t.kind, "busy": c.busy if c else 0,
            "lock_stall": c.lock_stall if c else 0, "dma_stall": c.dma_stall if c else 0, "idle": c.idle if c else 0,
            "kernel_calls": c.kernel_calls if c else 0, "macs": c.macs if c else 0, "has_core": c is not None,
            "bytes_in": sum(ch.bytes for ch in t.channels if ch.channel.startswith("s2mm")),
            "bytes_out": sum(ch.bytes for ch in t.channels if ch.channel.startswith("mm2s")),
            "channels": len(t.channels), "lock_operations": t.lock_operations})
    return rows


def _channels(report: Report) -> list[dict[str, Any]]:
    return [{"col": t.col, "row": t.row, "kind": t.kind, "channel": ch.channel, "bytes": ch.bytes, "bds": ch.bds,
             "busy": ch.busy, "stream_stall": ch.stream_stall, "lock_stall": ch.lock_stall}
            for t in report.tiles for ch in t.channels]


def _routes(report: Report) -> list[dict[str, Any]]:
    return [{"route": r.name, "bytes": r.bytes, "busy": r.busy, "destinations": len(r.switches),
             "switches": ";".join(map(str, r.switches)), "tree_switches": r.tree_switches} for r in report.routes]


def _energy(report: Report) -> list[dict[str, Any]]:
    parts = report.energy_by_component or {}
    total = sum(parts.values())
    return [{"component": c, "energy_j": e, "share": e / total if total else 0.0,
             "average_w": e / report.seconds if report.seconds else 0.0} for c, e in parts.items()]


_BUILD = {"tiles": (_tiles, TILE_COLUMNS), "channels": (_channels, CHANNEL_COLUMNS),
          "routes": (_routes, ROUTE_COLUMNS), "energy": (_energy, ENERGY_COLUMNS)}


def report_table(report: Report, table: str = "tiles") -> pd.DataFrame:
    """The report's ``table`` (one of :data:`TABLES`) as a DataFrame with the columns above."""
    if table not in _BUILD:
        raise ValueError(f"unknown table {table!r}: expected one of {', '.join(TABLES)}")
    build, columns = _BUILD[table]
    return pd.DataFrame(build(report), columns=list(columns))


LAYER_COLUMNS = ("layer_index", "layer", "operator", "count", "shape", "tiles", "bound", "cycles", "seconds", "ops",
                 "achieved_tops", "peak_tops", "energy_j", "average_power_w", "npu_power_w", "peak_power_w", "tops_per_watt")


def _tiles_of(lowering: dict[str, Any]) -> str:
    if "block" in lowering:
        return "x".join(map(str, lowering["block"]))
    t = lowering.get("tiles")
    return f"{t['m']}x{t['k']}x{t['n']}" if t else ""


def workload_layers_table(layers: Sequence[Report], counts: Sequence[int], kinds: Sequence[str]) -> pd.DataFrame:
    """One row per layer run of a workload (columns ``LAYER_COLUMNS`` then ``energy_<c>_j``)."""
    comps = list(next((r.energy_by_component for r in layers if r.energy_by_component), {}))
    rows = []
    for i, (r, n, kind) in enumerate(zip(layers, counts, kinds)):
        low = r.lowering or {}
        row: dict[str, Any] = {
            "layer_index": i, "layer": r.program, "operator": kind, "count": n, "shape": str(low.get("layer", "")),
            "tiles": _tiles_of(low), "bound": str(low.get("bound", "")), "cycles": r.cycles, "seconds": r.seconds,
            "ops": r.ops, "achieved_tops": r.achieved_tops, "peak_tops": r.peak_tops, "energy_j": r.energy_j,
            "average_power_w": r.average_power_w, "npu_power_w": r.npu_power_w, "peak_power_w": r.peak_power_w,
            "tops_per_watt": r.tops_per_watt}
        row.update({f"energy_{c}_j": (r.energy_by_component or {}).get(c) for c in comps})
        rows.append(row)
    return pd.DataFrame(rows, columns=list(LAYER_COLUMNS) + [f"energy_{c}_j" for c in comps])


def stacked_table(layers: Sequence[Report], table: str) -> pd.DataFrame:
    """``table`` of every layer, one under the other, with ``layer_index`` and ``layer`` first."""
    frames = []
    for i, r in enumerate(layers):
        frame = report_table(r, table)
        frame.insert(0, "layer", r.program)
        frame.insert(0, "layer_index", i)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["layer_index", "layer", *_BUILD[table][1]] if table in _BUILD else [])
    return pd.concat(frames, ignore_index=True)
