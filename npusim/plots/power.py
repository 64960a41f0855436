"""Power over time, stacked by component, beside the run's energy by component.

The timeline is the power model's (:func:`npusim.power.power_timeline`): each component's energy
spread over the busy intervals of the units that spent it, so its area is the run's energy.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..config import NPUConfig
from ..power import COMPONENTS, power_timeline, run_energy
from ..stats.report import Report

COLOURS = {
    "macs": "#2a9d8f", "vector": "#6a994e", "data_memory": "#8ab17d", "dma_memory": "#e9c46a",
    "mem_tile": "#f4a261", "stream": "#3a6ea5", "ddr": "#e76f51", "locks": "#8e6c8a", "clock": "#a5a58d",
    "static": "#bcbcbc",
}
LABELS = {
    "macs": "MACs", "vector": "vector unit", "data_memory": "core data memory (kernels)",
    "dma_memory": "core data memory (DMA)", "mem_tile": "memory tile SRAM", "stream": "stream switches",
    "ddr": "DDR", "locks": "locks", "clock": "clock tree", "static": "static (leakage)",
}


def report_energy(report: Report, config: NPUConfig) -> dict[str, float]:
    """Joules by component: the report's, or priced from its actions if the power model has not
    filled it in."""
    if report.energy_by_component is not None:
        return dict(report.energy_by_component)
    return run_energy(report, config)


def power_figure(report: Report, config: NPUConfig, bins: int = 200) -> Figure:
    """Left: power (W) over the run in ``bins`` bins, stacked by component, with the average.
    Right: energy by component (uJ, and % of the total). Components that spent nothing are left
    out. Without recorded intervals the timeline is flat (the title says so)."""
    tl = power_timeline(report, config, bins=bins)
    energy = report_energy(report, config)
    shown = [c for c in COMPONENTS if energy.get(c, 0.0) > 0]
    total_j = sum(energy.values())
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(2.3, 1))
    t_us = np.append(tl.t_s, tl.t_s[-1] + tl.bin_s) * 1e6
    stack = np.vstack([np.append(tl.watts[c], tl.watts[c][-1]) for c in shown])
    left.stackplot(t_us, stack, step="post", colors=[COLOURS[c] for c in shown],
                   labels=[LABELS[c] for c in shown], linewidth=0)
    left.step(t_us, np.append(tl.total_w, tl.total_w[-1]), where="post", color="black", linewidth=0.8,
              label="total")
    average = total_j / report.seconds if report.seconds else 0.0
    left.axhline(average, color="black", linestyle="--", linewidth=1, label=f"average {average:.2f} W")
    left.set_xlim(0, t_us[-1])
    left.set_ylim(0, max(float(tl.total_w.max()), average) * 1.15 or 1.0)
    left.set_xlabel("time (\u00b5s)")
    left.set_ylabel(f"power (W), mean over {tl.bin_s * 1e6:.3g} \u00b5s bins")
    flat = "" if tl.resolved else "\n(flat: the run recorded no intervals)"
    left.set_title(f"power over time: average {average:.2f} W, peak {float(tl.total_w.max()):.2f} W{flat}",
                   fontsize="medium")
    _energy_bars(right, shown, energy, total_j)
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=6, fontsize="small",
               frameon=False)
    what = str((report.lowering or {}).get("layer", report.program))
    fig.suptitle(f"{what} on {report.config}: {total_j * 1e6:,.2f} \u00b5J in {report.seconds * 1e6:,.1f} \u00b5s")
    return fig


def _energy_bars(ax: Axes, shown: list[str], energy: dict[str, float], total_j: float) -> None:
    uj = [energy[c] * 1e6 for c in shown]
    ax.barh(range(len(shown)), uj, color=[COLOURS[c] for c in shown])
    top = max(uj, default=0.0) or 1.0
    for i, v in enumerate(uj):
        ax.text(v + top * 0.01, i, f"{v:,.2f} ({100 * v / (total_j * 1e6):.0f}%)", va="center", fontsize=7)
    ax.set_yticks(range(len(shown)), [LABELS[c] for c in shown], fontsize=8)
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.set_xlim(0, top * 1.35)
    ax.set_xlabel("energy (\u00b5J)")
    ax.set_title("energy by component", fontsize="medium")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
