"""Utilisation bars: where each core's and each DMA channel's cycles went.

A small run gets one horizontal bar per core and per channel. A whole-array design has too many
for that (npu2: 32 cores and ~80 channels, a strip thousands of pixels tall), so past
``GROUP_ABOVE`` bars the figure groups them: the cores as columns of narrow vertical bars laid out
as the array (one group per array column, a bar per row), and the channels by tile kind and
channel name, each bar the mean over the tiles that use it with the range of their busy shares.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..stats.report import Report

CORE_STATES = (("busy", "#2a9d8f"), ("dma_stall", "#e9c46a"), ("lock_stall", "#e76f51"), ("idle", "#d9d9d9"))
CHANNEL_STATES = (("busy", "#2a9d8f"), ("stream_stall", "#8ab17d"), ("lock_stall", "#e76f51"))
ORDER = ("busy", "dma_stall", "stream_stall", "lock_stall", "idle")
LABELS = {"busy": "busy", "dma_stall": "core waits for DMA", "lock_stall": "waits for a lock", "idle": "idle",
          "stream_stall": "DMA waits for its stream peer"}
COLOURS = dict(CORE_STATES + CHANNEL_STATES)
GROUP_ABOVE = 40
"""More bars than this (cores and channels together) and the figure groups them."""
_KIND = {"shim": "shim", "mem": "mem tile", "compute": "compute"}

Row = tuple[str, dict[str, int]]


def _cores(report: Report) -> list[tuple[int, int, dict[str, int]]]:
    return [(t.col, t.row, {"busy": t.core.busy, "dma_stall": t.core.dma_stall, "lock_stall": t.core.lock_stall,
                            "idle": t.core.idle}) for t in report.tiles if t.core is not None]


def _channels(report: Report) -> list[tuple[str, str, dict[str, int]]]:
    return [(t.kind, ch.channel, {"busy": ch.busy, "stream_stall": ch.stream_stall, "lock_stall": ch.lock_stall})
            for t in report.tiles for ch in t.channels]


def _rows(report: Report) -> list[Row]:
    rows: list[Row] = [(f"core ({c},{r})", s) for c, r, s in _cores(report)]
    rows += [(f"{t.kind} ({t.col},{t.row}) {ch.channel}",
              {"busy": ch.busy, "stream_stall": ch.stream_stall, "lock_stall": ch.lock_stall})
             for t in report.tiles for ch in t.channels]
    return rows


def _stacked(ax: Axes, positions: Sequence[float], shares: Sequence[dict[str, float]], horizontal: bool,
             width: float, labelled: set[str]) -> None:
    """Bars of ``shares`` (% by state) stacked in :data:`ORDER`; each state labelled once."""
    base = np.zeros(len(positions))
    for state in ORDER:
        values = np.array([s.get(state, 0.0) for s in shares])
        if values.any():
            label = None if state in labelled else LABELS[state]
            labelled.add(state)
            if horizontal:
                ax.barh(positions, values, left=base, height=width, color=COLOURS[state], label=label)
            else:
                ax.bar(positions, values, bottom=base, width=width, color=COLOURS[state], label=label)
            base += values


def _what(report: Report) -> str:
    return str((report.lowering or {}).get("layer", report.program))


def _pct(states: dict[str, int], total: int) -> dict[str, float]:
    return {s: 100 * v / total for s, v in states.items()}


def utilisation_figure(report: Report) -> Figure:
    """Where each core's and DMA channel's cycles went, in % of the run: busy, stalled on data
    movement (DMA or stream), stalled on a lock, idle. Grouped past :data:`GROUP_ABOVE` bars."""
    rows = _rows(report)
    if len(rows) > GROUP_ABOVE:
        return _grouped_figure(report)
    fig = Figure(figsize=(9, 0.35 * len(rows) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    total = max(report.cycles, 1)
    _stacked(ax, range(len(rows)), [_pct(r[1], total) for r in rows], True, 0.8, set())
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {report.cycles:,} cycles")
    ax.set_title(f"{_what(report)} on {report.config}")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncols=5, fontsize="small", frameon=False)
    return fig


def _grouped_figure(report: Report) -> Figure:
    total = max(report.cycles, 1)
    groups: dict[tuple[str, str], list[dict[str, int]]] = {}
    for kind, channel, states in _channels(report):
        groups.setdefault((kind, channel), []).append(states)
    fig = Figure(figsize=(10, 4.2 + 0.28 * len(groups)), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[3.2, 0.9 + 0.28 * len(groups)])
    labelled: set[str] = set()
    _core_panel(top, report, total, labelled)
    _channel_panel(bottom, groups, total, labelled)
    fig.suptitle(f"{_what(report)} on {report.config}: {report.cycles:,} cycles")
    fig.legend(loc="outside lower center", ncols=6, fontsize="small", frameon=False)
    return fig


def _core_panel(ax: Axes, report: Report, total: int, labelled: set[str]) -> None:
    cores = sorted(_cores(report))
    columns = sorted({c for c, _, _ in cores})
    per = max(sum(1 for c, _, _ in cores if c == col) for col in columns) if cores else 1
    pos = [columns.index(c) * (per + 1) + i for c, i in _rank(cores)]
    _stacked(ax, pos, [_pct(s, total) for _, _, s in cores], False, 0.85, labelled)
    ax.set_xticks(pos, [str(r) for _, r, _ in cores], fontsize=7)
    for k, col in enumerate(columns):
        ax.annotate(f"col {col}", ((k * (per + 1) + (per - 1) / 2), 0), xycoords=("data", "axes fraction"),
                    xytext=(0, -22), textcoords="offset points", ha="center", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of the run")
    ax.set_title(f"{len(cores)} cores, by array column (bar labels: row)", fontsize="medium")


def _rank(cores: Sequence[tuple[int, int, dict[str, int]]]) -> list[tuple[int, int]]:
    """(column, index of the core within its column) of each core, in order."""
    seen: dict[int, int] = {}
    out = []
    for col, _, _ in cores:
        out.append((col, seen.get(col, 0)))
        seen[col] = seen.get(col, 0) + 1
    return out


def _channel_panel(ax: Axes, groups: dict[tuple[str, str], list[dict[str, int]]], total: int,
                   labelled: set[str]) -> None:
    keys = sorted(groups, key=lambda g: (("shim", "mem", "compute").index(g[0]), g[1][:4], int(g[1][4:])))
    means = [{s: float(np.mean([100 * u.get(s, 0) / total for u in groups[g]])) for s in ORDER} for g in keys]
    _stacked(ax, range(len(keys)), means, True, 0.75, labelled)
    busy = [[100 * u["busy"] / total for u in groups[g]] for g in keys]
    lo = [m["busy"] - min(b) for m, b in zip(means, busy)]
    hi = [max(b) - m["busy"] for m, b in zip(means, busy)]
    ax.errorbar([m["busy"] for m in means], range(len(keys)), xerr=[lo, hi], fmt="none", ecolor="#264653",
                capsize=2, linewidth=0.8, label="busy: lowest to highest tile")
    ax.set_yticks(range(len(keys)), [f"{_KIND[k]} {ch} x{len(groups[(k, ch)])}" for k, ch in keys], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the run: mean over the tiles using the channel")
    ax.set_title(f"DMA channels by tile kind and channel ({sum(len(v) for v in groups.values())} in all)",
                 fontsize="medium")
