"""Per-layer bars of a workload: latency and energy of each layer (times its ``count``), side by
side, one row per layer in workload order, coloured by operator type."""
from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..config import NPUConfig
from ..power import run_energy
from ..runner import WorkloadReport
from ..stats.report import Report
from .roofline import CATEGORY_COLOURS


def layer_energy_j(report: Report, config: NPUConfig) -> float:
    """Energy of one run of a layer, in joules (the report's, or priced from its actions)."""
    if report.energy_j is not None:
        return report.energy_j
    return sum(run_energy(report, config).values())


def _bars(ax: Axes, values: list[float], colours: list[str], labels: list[str]) -> None:
    y = range(len(values))
    ax.barh(y, values, color=colours, height=0.75)
    top = max(values, default=0.0) or 1.0
    for i, (v, text) in enumerate(zip(values, labels)):
        ax.text(v + top * 0.01, i, text, va="center", fontsize=6.5)
    ax.set_xlim(0, top * 1.3)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def layers_figure(workload: WorkloadReport, config: NPUConfig) -> Figure:
    """Latency (us) and energy (uJ, with the average power) of every layer of ``workload`` (a layer with ``count`` N: N
    runs, marked ``xN``), totals in the panel titles."""
    n = len(workload.layers)
    kinds = list(workload.kinds)
    order = list(dict.fromkeys(kinds))
    colours = [CATEGORY_COLOURS[order.index(k) % len(CATEGORY_COLOURS)] for k in kinds]
    us = [r.seconds * c * 1e6 for r, c in zip(workload.layers, workload.counts)]
    uj = [layer_energy_j(r, config) * c * 1e6 for r, c in zip(workload.layers, workload.counts)]
    fig = Figure(figsize=(11, 0.22 * n + 1.8), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    _bars(left, us, colours, [f"{v:,.1f}" for v in us])
    _bars(right, uj, colours, [f"{e:,.1f} ({e / t:.2f} W)" if t else f"{e:,.1f}" for e, t in zip(uj, us)])
    labels = [f"{i} {r.program}" + (f" \u00d7{c}" if c > 1 else "")
              for i, (r, c) in enumerate(zip(workload.layers, workload.counts))]
    left.set_yticks(range(n), labels, fontsize=7 if n <= 40 else 5.5)
    left.set_ylim(n - 0.5, -0.5)
    left.set_xlabel("latency (\u00b5s)")
    right.set_xlabel("energy (\u00b5J; average power in brackets)")
    left.set_title(f"latency: {sum(us):,.1f} \u00b5s in total", fontsize="medium")
    right.set_title(f"energy: {sum(uj):,.1f} \u00b5J in total", fontsize="medium")
    fig.suptitle(f"{workload.workload} on {workload.config}: per layer (\u00d7N: a layer run N times)")
    fig.legend(handles=[Patch(facecolor=CATEGORY_COLOURS[j % len(CATEGORY_COLOURS)], label=k)
                        for j, k in enumerate(order)], loc="outside lower center", ncols=len(order),
               fontsize="small", frameon=False, title="operator type", title_fontsize="small")
    return fig
