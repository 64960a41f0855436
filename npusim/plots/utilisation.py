"""Utilisation bars: where each core's and each DMA channel's cycles went."""
from __future__ import annotations

from matplotlib.figure import Figure

from ..stats.report import Report

CORE_STATES = (("busy", "#2a9d8f"), ("dma_stall", "#e9c46a"), ("lock_stall", "#e76f51"), ("idle", "#d9d9d9"))
CHANNEL_STATES = (("busy", "#2a9d8f"), ("stream_stall", "#8ab17d"), ("lock_stall", "#e76f51"))


def _rows(report: Report) -> list[tuple[str, dict[str, int]]]:
    rows: list[tuple[str, dict[str, int]]] = []
    for t in report.tiles:
        if t.core is not None:
            c = t.core
            rows.append((f"core ({t.col},{t.row})", {"busy": c.busy, "dma_stall": c.dma_stall,
                                                     "lock_stall": c.lock_stall, "idle": c.idle}))
    for t in report.tiles:
        for ch in t.channels:
            rows.append((f"{t.kind} ({t.col},{t.row}) {ch.channel}",
                         {"busy": ch.busy, "stream_stall": ch.stream_stall, "lock_stall": ch.lock_stall}))
    return rows


def utilisation_figure(report: Report) -> Figure:
    """A horizontal stacked bar per core and DMA channel, in % of the run's cycles: busy, stalled
    on data movement (DMA or stream), stalled on a lock, idle."""
    rows = _rows(report)
    fig = Figure(figsize=(9, 0.35 * len(rows) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    total = max(report.cycles, 1)
    labels = {"busy": "busy", "dma_stall": "core waits for DMA", "lock_stall": "waits for a lock",
              "idle": "idle", "stream_stall": "DMA waits for its stream peer"}
    colours = dict(CORE_STATES + CHANNEL_STATES)
    for state in ("busy", "dma_stall", "stream_stall", "lock_stall", "idle"):
        left = [sum(100 * v / total for s, v in r[1].items() if order(s) < order(state)) for r in rows]
        widths = [100 * r[1].get(state, 0) / total for r in rows]
        if any(widths):
            ax.barh([r[0] for r in rows], widths, left=left, color=colours[state], label=labels[state])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {report.cycles:,} cycles")
    ax.set_title(f"{report.program} on {report.config}")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncols=5, fontsize="small", frameon=False)
    return fig


def order(state: str) -> int:
    return ("busy", "dma_stall", "stream_stall", "lock_stall", "idle").index(state)
