"""Sweep curves: a figure against a swept key, one line per other key; and cost against latency
with the Pareto front marked. Both take a sweep table (:func:`npusim.sweep`), per layer (summed
per point with :func:`npusim.sweep.totals`) or already per point; failed points are left out."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from ..sweep.table import parameters, pareto_front, totals

if TYPE_CHECKING:
    import pandas as pd

# figure -> (axis label, unit, scale)
AXES: dict[str, tuple[str, str, float]] = {
    "seconds": ("latency", "ms", 1e3),
    "cycles": ("latency", "cycles", 1.0),
    "energy_j": ("energy", "mJ", 1e3),
    "average_power_w": ("average power", "W", 1.0),
    "peak_power_w": ("peak power", "W", 1.0),
    "achieved_tops": ("achieved", "TOPS", 1.0),
    "tops_per_watt": ("efficiency", "TOPS/W", 1.0),
    "ddr.bytes_accessed": ("DDR traffic", "MB", 1e-6),
}
FALLBACK_COSTS = ("energy_j", "ddr.bytes_accessed", "cycles")
"""The cost axis of :func:`pareto_figure` when none is named: energy, or when the table has no
energy figures, DDR traffic (the largest energy item on these devices)."""


def _per_point(table: pd.DataFrame) -> pd.DataFrame:
    points = totals(table) if "layer_index" in table.columns else table
    return points[points["status"] == "ok"] if "status" in points.columns else points


def _label(column: str) -> str:
    name, unit, _ = AXES.get(column, (column, "", 1.0))
    return f"{name} ({unit})" if unit else name


def _scaled(points: pd.DataFrame, column: str) -> pd.Series[Any]:
    import pandas as pd

    return pd.to_numeric(points[column], errors="coerce") * AXES.get(column, ("", "", 1.0))[2]


def _varying(points: pd.DataFrame, exclude: tuple[str, ...]) -> list[str]:
    """The columns that tell points apart, other than ``exclude``: swept keys, configs, workloads."""
    keys = ["config_file", "workload", *parameters(points)]
    return [k for k in keys if k in points.columns and k not in exclude and points[k].nunique(dropna=False) > 1]


def _name(keys: list[str], values: Any) -> str:
    vals = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, vals))


def sweep_figure(table: pd.DataFrame, x: str, y: str = "seconds", by: str | None = None,
                 logy: bool = False) -> Figure:
    """``y`` (a figure, summed per point) against the swept key ``x``, one line per value of
    ``by`` and of every other key that varies (so no line mixes points)."""
    points = _per_point(table)
    groups = ([by] if by else []) + [k for k in _varying(points, (x, by or "")) if k != by]
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    parts = points.groupby(groups, sort=True, dropna=False) if groups else [((), points)]
    for values, part in parts:
        part = part.sort_values(x)
        ax.plot(part[x], _scaled(part, y), marker="o", label=_name(groups, values) if groups else None)
    ax.set_xlabel(x)
    ax.set_ylabel(_label(y))
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.set_title(f"{AXES.get(y, (y,))[0]} against {x}")
    if groups:
        ax.legend(fontsize="small", frameon=False)
    return fig


def pareto_figure(table: pd.DataFrame, x: str = "seconds", y: str | None = None) -> Figure:
    """Every point at (``x``, ``y``), the Pareto front (no other point is better on both) joined
    and labelled with its swept values. ``y`` defaults to energy, or to DDR traffic when the table
    has no energy figures."""
    points = _per_point(table)
    if y is None:
        y = next((c for c in FALLBACK_COSTS if c in points.columns and points[c].notna().any()), "cycles")
    points = points[points[x].notna() & points[y].notna()]
    front = pareto_front(points, x, y)
    keys = _varying(points, ())
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(_scaled(points, x), _scaled(points, y), color="#b0b0b0", label="design points", zorder=2)
    best = points[front].sort_values(x)
    ax.plot(_scaled(best, x), _scaled(best, y), color="#e76f51", marker="o", drawstyle="steps-post",
            label="Pareto front", zorder=3)
    for _, row in best.iterrows():
        ax.annotate(_name(keys, tuple(row[k] for k in keys)), (row[x] * AXES.get(x, ("", "", 1.0))[2],
                    row[y] * AXES.get(y, ("", "", 1.0))[2]), fontsize="x-small", xytext=(4, 4),
                    textcoords="offset points")
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.grid(alpha=0.3)
    ax.set_title(f"{AXES.get(y, (y,))[0]} against {AXES.get(x, (x,))[0]}: {int(front.sum())} of {len(points)} "
                 "points on the front")
    ax.legend(fontsize="small", frameon=False)
    return fig
