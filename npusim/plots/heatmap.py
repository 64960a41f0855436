"""Heatmap: how busy each tile of the array was, laid out as the array (row 0, the shims, at the
bottom). A compute tile shows its core's busy share of the run; a memory tile or a shim tile the
mean share of the run its used DMA channels spent moving data (the text report's channel ``busy``)."""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from ..config import NPUConfig
from ..stats.report import Report, TileReport

_KIND = {"shim": "shim", "mem": "mem tile", "compute": "compute"}


def tile_busy(tile: TileReport, cycles: int) -> tuple[float, str] | None:
    """(busy share in %, what it measures) of one tile; None for a tile with nothing to show."""
    if not cycles:
        return None
    if tile.core is not None:
        return 100 * tile.core.busy / cycles, "core"
    if tile.channels:
        busy = [c.busy for c in tile.channels]
        return 100 * sum(busy) / len(busy) / cycles, f"{len(busy)} DMA ch"
    return None


def _grid(report: Report, config: NPUConfig | None) -> tuple[int, int, dict[int, str]]:
    cols = max([t.col + 1 for t in report.tiles] + [config.columns if config else 0])
    rows = max([t.row + 1 for t in report.tiles] + [config.rows if config else 0])
    kinds = {t.row: t.kind for t in report.tiles}
    if config is not None:
        kinds.update({r: config.tile_kind(r) for r in range(rows)})
    return cols, rows, kinds


def heatmap_figure(report: Report, config: NPUConfig | None = None) -> Figure:
    """Busy share of every tile over the array's columns x rows, the number written in each cell.
    With ``config``, tiles the run did not use show as blank cells of the full array."""
    cols, rows, kinds = _grid(report, config)
    values = np.full((rows, cols), np.nan)
    notes: dict[tuple[int, int], str] = {}
    for t in report.tiles:
        got = tile_busy(t, report.cycles)
        if got is not None:
            values[t.row, t.col], notes[(t.col, t.row)] = got
    fig = Figure(figsize=(max(1.0 * cols + 3.2, 7.0), 0.75 * rows + 2.0), layout="constrained")
    ax = fig.add_subplot()
    cmap = _cmap()
    image = ax.imshow(np.ma.masked_invalid(values), origin="lower", cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for (col, row), note in notes.items():
        v = float(values[row, col])
        colour = "white" if v < 55 else "black"
        ax.text(col, row + 0.08, f"{v:.0f}%", ha="center", va="bottom", fontsize=9, color=colour, weight="bold")
        ax.text(col, row - 0.08, note, ha="center", va="top", fontsize=6.5, color=colour)
    ax.set_xticks(range(cols), [f"col {c}" for c in range(cols)], fontsize=8)
    ax.set_yticks(range(rows), [f"row {r}\n{_KIND.get(kinds.get(r, ''), '')}" for r in range(rows)], fontsize=8)
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="both", length=0)
    what = str((report.lowering or {}).get("layer", report.program))
    ax.set_title(f"{what} on {report.config}\nbusy share of {report.cycles:,} cycles", fontsize="medium")
    ax.set_xlabel("compute tile: its core's busy share; mem tile and shim: the mean share\n"
                  "of its used DMA channels (n DMA ch) moving data; grey: not used", fontsize=8)
    fig.colorbar(image, ax=ax, label="busy (% of the run)", shrink=0.9)
    return fig


def _cmap() -> Colormap:
    return colormaps["viridis"].with_extremes(bad="#eeeeee")
