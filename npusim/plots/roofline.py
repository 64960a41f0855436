"""Roofline: achieved operations per second against arithmetic intensity (operations per DDR
byte), under the array's compute roof and the DDR roof, log-log; a workload gives one point per
layer. A point near the slanted roof is DDR-bound, near the flat one compute-bound."""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from ..runner import WorkloadReport
from ..stats.report import Report

NAMED = 8
"""A workload's roofline names its this many longest layers."""
CATEGORY_COLOURS = ("#2a9d8f", "#e76f51", "#3a6ea5", "#e9c46a", "#8e6c8a", "#6a994e", "#bc4749", "#5c677d")


def intensity(report: Report) -> float:
    """Operations per byte of DDR traffic (read + written payload); 0 without DDR traffic."""
    moved = report.ddr.bytes_read + report.ddr.bytes_written
    return report.ops / moved if moved else 0.0


def _points(report: Report | WorkloadReport) -> tuple[list[Report], list[str], list[str]]:
    if isinstance(report, WorkloadReport):
        return list(report.layers), [f"{i}" for i in range(len(report.layers))], list(report.kinds)
    return [report], [str((report.lowering or {}).get("layer", report.program))], [""]


def _roofs(ax: Axes, peaks: list[float], ddr_gb_s: float, x: np.ndarray) -> None:
    for i, peak in enumerate(sorted(set(peaks), reverse=True)):
        tops = np.minimum(peak, ddr_gb_s * 1e9 * x / 1e12)
        label = (f"roof: min({peak:.2f} TOPS peak, {ddr_gb_s:g} GB/s DDR \u00d7 intensity)" if i == 0
                 else f"roof at {peak:.2f} TOPS peak (another data type)")
        ax.plot(x, tops, color="#333333", linewidth=1.6 if i == 0 else 1.0, linestyle="-" if i == 0 else "--",
                label=label)
        ridge = peak * 1e12 / (ddr_gb_s * 1e9)
        ax.axvline(ridge, color="#999999", linewidth=0.8, linestyle=":")
        ax.plot([ridge], [peak], marker="o", color="#333333", markersize=4)
        ax.annotate(f"ridge point\n{ridge:,.0f} ops/B", (ridge, peak), textcoords="offset points",
                    xytext=(6, 6), fontsize=7.5, color="#333333")


def _spans(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3,5``."""
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ",".join(out)


def _label_points(ax: Axes, ai: np.ndarray, tops: np.ndarray, keep: list[int], names: list[str],
                  time: list[float]) -> None:
    """Name the ``NAMED`` layers that take the most time (all of them in a short workload); layers
    at the same spot share one label (``1 name (also 2-4)``)."""
    longest = set(sorted(range(len(keep)), key=lambda n: -time[n])[:NAMED])
    spots: dict[tuple[float, float], list[int]] = {}
    for n in sorted(longest):
        spots.setdefault((round(float(np.log10(ai[n])), 2), round(float(np.log10(tops[n])), 2)), []).append(n)
    for (lx, ly), members in spots.items():
        first = keep[members[0]]
        rest = _spans([keep[n] for n in members[1:]])
        text = f"{first} {names[first]}" + (f" (also {rest})" if rest else "")
        ax.annotate(text, (10 ** lx, 10 ** ly), textcoords="offset points", xytext=(7, -3), fontsize=7)


def roofline_figure(report: Report | WorkloadReport) -> Figure:
    """The run's point (a workload: one point per layer, coloured by operator type, its area the
    layer's share of the workload's time, the ``NAMED`` longest layers named)
    under the roofs: the compute roof ``peak_tops`` and the DDR roof ``ddr.peak_gb_per_s`` x
    intensity. Layers without MACs (vector operators, ops = 0) cannot sit on a log scale and are
    left out, the title says how many."""
    runs, labels, kinds = _points(report)
    keep = [i for i, r in enumerate(runs) if r.ops > 0 and intensity(r) > 0 and r.seconds > 0]
    if not keep:
        raise ValueError("no layer with operations and DDR traffic to place on a roofline")
    ai = np.array([intensity(runs[i]) for i in keep])
    tops = np.array([runs[i].achieved_tops for i in keep])
    peaks = [r.peak_tops for r in runs if r.peak_tops > 0]
    ddr = runs[keep[0]].ddr.peak_gb_per_s
    ridge = max(peaks) * 1e12 / (ddr * 1e9)
    x = np.geomspace(min(ai.min(), ridge) / 8, max(ai.max(), ridge) * 8, 200)
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    _roofs(ax, peaks, ddr, x)
    order = list(dict.fromkeys(kinds[i] for i in keep))
    counts = report.counts if isinstance(report, WorkloadReport) else (1,)
    time = [runs[i].seconds * counts[i] for i in keep]
    size = 28 * np.ones(len(keep)) if len(keep) == 1 else 12 + 600 * np.array(time) / sum(time)
    for j, kind in enumerate(order):
        sel = [n for n, i in enumerate(keep) if kinds[i] == kind]
        ax.scatter(ai[sel], tops[sel], s=size[sel], color=CATEGORY_COLOURS[j % len(CATEGORY_COLOURS)], zorder=3,
                   label=kind or None, edgecolors="white", linewidths=0.5, alpha=0.85)
    if isinstance(report, WorkloadReport):
        _label_points(ax, ai, tops, keep, [r.program for r in runs], time)
    else:
        roof = min(runs[0].peak_tops, ddr * 1e9 * ai[0] / 1e12)
        ax.annotate(f"{labels[0]}\n{tops[0]:.3g} TOPS: {100 * tops[0] / roof:.0f}% of the roof, "
                    f"{100 * tops[0] / runs[0].peak_tops:.0f}% of peak", (ai[0], tops[0]),
                    textcoords="offset points", xytext=(6, -16), fontsize=7.5)
    ax.set_ylim(tops.min() / 10, max(peaks) * 3)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("arithmetic intensity (operations per DDR byte read or written)")
    ax.set_ylabel("achieved TOPS (10\u00b9\u00b2 operations/s)")
    ax.grid(which="major", color="#dddddd", linewidth=0.6)
    left = len(runs) - len(keep)
    note = f"; {left} layer{'s' * (left != 1)} without MACs left out" if left else ""
    name = report.workload if isinstance(report, WorkloadReport) else labels[0]
    ax.set_title(f"roofline: {name} on {report.config}{note}", fontsize="medium")
    legend = ax.legend(title="layers by operator type (area: share of the time;\nthe longest named, numbered "
                       "as in the text report)" if isinstance(report, WorkloadReport) else None,
                       fontsize="small", title_fontsize="small", loc="lower right")
    for handle in legend.legend_handles:
        if isinstance(handle, PathCollection):
            handle.set_sizes([28])
    return fig
