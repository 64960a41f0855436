"""Timeline (Gantt): what every core and DMA channel did over the run, lane by lane.

Lanes are grouped by tile (column by column, shim row first), a core lane coloured by busy / waits
for a lock / waits for DMA, a channel lane by busy (moving or offering data; MM2S and S2MM in two
blues: from the BD's start to its last word, waits for the stream peer included). Blank is idle. Spans closer than a pixel are merged, so a long run draws quickly.
"""
from __future__ import annotations

from collections.abc import Collection

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..stats.intervals import Span, UnitId, by_unit, merge, report_units
from ..stats.report import Report

STATES = (
    ("core", "busy", "#2a9d8f", "core busy"),
    ("core", "lock_stall", "#e76f51", "core waits for a lock"),
    ("core", "dma_stall", "#e9c46a", "core waits for DMA"),
    ("mm2s", "busy", "#3a6ea5", "MM2S channel (memory to stream): a BD in flight"),
    ("s2mm", "busy", "#8fb8de", "S2MM channel (stream to memory): a BD in flight"),
)
_KIND = {"shim": "shim", "mem": "mem tile", "compute": "compute"}
LANE_IN = 0.13
"""Height of a lane in inches."""


def _lane_kind(unit: UnitId) -> str:
    return "core" if unit.is_core else unit.track[:4]


def select_units(report: Report, tiles: Collection[tuple[int, int]] | None = None,
                 columns: Collection[int] | None = None, channels: bool = True) -> list[UnitId]:
    """The report's cores and channels in array order, restricted to ``tiles`` ((col, row)
    pairs) and ``columns`` when given, and to cores alone without ``channels``."""
    units = report_units(report)
    if tiles is not None:
        units = [u for u in units if u.tile in set(tiles)]
    if columns is not None:
        units = [u for u in units if u.col in set(columns)]
    if not channels:
        units = [u for u in units if u.is_core]
    return units


def _lanes(units: list[UnitId]) -> tuple[list[float], list[str], list[tuple[float, float]]]:
    """y of each lane (a half-lane gap between tiles), its label, and each tile's y extent."""
    ys: list[float] = []
    labels: list[str] = []
    groups: list[tuple[float, float]] = []
    y = 0.0
    for i, u in enumerate(units):
        first = i == 0 or units[i - 1].tile != u.tile
        if first and i:
            y += 0.5
        if first:
            groups.append((y - 0.5, y + 0.5))
        ys.append(y)
        labels.append(f"{_KIND[u.kind]} ({u.col},{u.row})  {u.track}" if first else u.track)
        groups[-1] = (groups[-1][0], y + 0.5)
        y += 1.0
    return ys, labels, groups


def _draw(ax: Axes, spans: list[Span], y: float, kind: str, scale: float) -> int:
    drawn = 0
    for lane_kind, state, colour, _ in STATES:
        if lane_kind != kind:
            continue
        ranges = [(s / scale, (e - s) / scale) for s, e, st in spans if st == state]
        if ranges:
            ax.broken_barh(ranges, (y - 0.4, 0.8), facecolors=colour, linewidth=0)
            drawn += len(ranges)
    return drawn


def timeline_figure(report: Report, *, tiles: Collection[tuple[int, int]] | None = None,
                    columns: Collection[int] | None = None, channels: bool = True, max_units: int | None = None,
                    time_unit: str = "us", window: tuple[float, float] | None = None,
                    width_px: int = 1600) -> Figure:
    """A Gantt chart of the run's recorded intervals (``RunOptions(record_intervals=True)``).

    ``tiles`` / ``columns`` keep only those tiles or columns, ``channels=False`` only the cores,
    ``max_units`` the first lanes; ``time_unit`` is ``"us"`` or ``"cycles"``; ``window`` (start,
    end), in that unit, zooms in on part of the run. Spans of one state less than a pixel apart
    (``width_px`` across the window) are drawn as one.
    """
    if report.intervals is None:
        raise ValueError("the report has no intervals: run with RunOptions(record_intervals=True) "
                         "(npusim plot timeline does)")
    if time_unit not in ("us", "cycles"):
        raise ValueError(f"time_unit {time_unit!r}: expected 'us' or 'cycles'")
    units = select_units(report, tiles, columns, channels)
    total = len(units)
    if max_units is not None:
        units = units[:max_units]
    if not units:
        raise ValueError("no core or DMA channel left to draw: check tiles= / columns=")
    spans = by_unit(report.intervals)
    scale = report.clock_mhz if time_unit == "us" else 1.0
    lo, hi = _window(report, window, scale)
    gap = (hi - lo) // max(width_px, 1)
    ys, labels, groups = _lanes(units)
    fig = Figure(figsize=(12, LANE_IN * (ys[-1] + 1) + 1.9), layout="constrained")
    ax = fig.add_subplot()
    for i, (bottom, top) in enumerate(groups):
        if i % 2:
            ax.axhspan(bottom, top, color="#f2f2f2", zorder=0, linewidth=0)
    for u, y in zip(units, ys):
        mine = [sp for sp in spans.get(u.name, []) if sp[1] > lo and sp[0] < hi]
        _draw(ax, merge(mine, gap), y, _lane_kind(u), scale)
    _decorate(ax, ys, labels, time_unit)
    ax.set_xlim(lo / scale, hi / scale)
    shown = "" if len(units) == total else f" (first {len(units)} of {total} lanes)"
    what = str((report.lowering or {}).get("layer", report.program))
    unit = "\u00b5s" if time_unit == "us" else "cycles"
    part = "" if window is None else f"; {lo / scale:,.6g} to {hi / scale:,.6g} {unit} shown"
    ax.set_title(f"{what} on {report.config}: {report.cycles:,} cycles = "
                 f"{report.seconds * 1e6:,.1f} \u00b5s{part}{shown}", fontsize="medium")
    return fig


def _window(report: Report, window: tuple[float, float] | None, scale: float) -> tuple[int, int]:
    """The cycles [lo, hi) to draw: the whole run, or ``window`` (in the time unit) within it."""
    if window is None:
        return 0, max(report.cycles, 1)
    lo, hi = max(0, int(window[0] * scale)), min(report.cycles, int(window[1] * scale + 0.999))
    if hi <= lo:
        raise ValueError(f"window {window}: expected start < end within the run (0 to {report.cycles / scale:g})")
    return lo, hi


def _decorate(a: Axes, ys: list[float], labels: list[str], time_unit: str) -> None:
    size = 7 if len(ys) <= 60 else 5.5
    a.set_yticks(ys, labels, fontsize=size)
    for tick in a.get_yticklabels():
        if "(" in tick.get_text():
            tick.set_fontweight("bold")
    a.set_ylim(ys[-1] + 0.7, -0.7)
    a.set_xlabel("time (\u00b5s)" if time_unit == "us" else "cycle")
    a.tick_params(axis="y", length=0)
    a.tick_params(axis="x", labeltop=len(ys) > 40, top=len(ys) > 40)
    a.grid(axis="x", color="#cccccc", linewidth=0.5)
    a.set_axisbelow(True)
    handles = [Patch(facecolor=c, label=lab) for _, _, c, lab in STATES]
    fig = a.get_figure()
    assert isinstance(fig, Figure)
    fig.legend(handles=handles, loc="outside upper center", ncols=3, fontsize="small", frameon=False)
