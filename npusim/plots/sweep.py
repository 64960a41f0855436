"""Sweep curves: a figure against a swept key, one line per other key; and cost against latency
with the Pareto front marked. Both take a sweep table (:func:`npusim.sweep`), per layer (summed
per point with :func:`npusim.sweep.totals`) or already per point.

Made to go in a paper as they are: the title names the sweep (its workloads, configs and
points), a swept key's axis label is its description and unit from the config schema
(:func:`npusim.config.describe.describe`), an axis whose values are all powers of two is drawn
on a log2 scale, and failed points are marked (a red cross on the x axis of a curve, a list on
the Pareto figure) rather than silently left out.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from ..config.describe import describe
from ..sweep.table import parameters, pareto_front, totals

if TYPE_CHECKING:
    import pandas as pd

# figure -> (axis label, unit, scale)
AXES: dict[str, tuple[str, str, float]] = {
    "seconds": ("latency", "ms", 1e3),
    "cycles": ("latency", "cycles", 1.0),
    "energy_j": ("energy", "mJ", 1e3),
    "average_power_w": ("average power", "W", 1.0),
    "npu_power_w": ("NPU power, DRAM excluded", "W", 1.0),
    "peak_power_w": ("peak power", "W", 1.0),
    "achieved_tops": ("achieved", "TOPS", 1.0),
    "tops_per_watt": ("efficiency", "TOPS/W", 1.0),
    "ddr.bytes_accessed": ("DDR traffic", "MB", 1e-6),
}
FALLBACK_COSTS = ("energy_j", "ddr.bytes_accessed", "cycles")
"""The cost axis of :func:`pareto_figure` when none is named: energy, or when the table has no
energy figures, DDR traffic (the largest energy item on these devices)."""
FAILED_COLOUR = "#c1121f"


def _points(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the points that ran, the points that failed with an ``error_kind``) of a sweep table."""
    points = totals(table) if "layer_index" in table.columns else table.copy()
    if "status" not in points.columns:
        return points, points.iloc[0:0]
    failed = points[points["status"] != "ok"].copy()
    if "error_kind" in table.columns and "point" in table.columns and "point" in failed.columns:
        kinds = table[table["status"] != "ok"].groupby("point")["error_kind"].first()
        failed["error_kind"] = failed["point"].map(kinds)
    return points[points["status"] == "ok"], failed


def _label(column: str) -> str:
    if column in AXES:
        name, unit, _ = AXES[column]
        return f"{name} ({unit})" if unit else name
    return describe(column).label


def _name(column: str) -> str:
    return AXES[column][0] if column in AXES else column


def _scaled(points: pd.DataFrame, column: str) -> pd.Series[Any]:
    import pandas as pd

    return pd.to_numeric(points[column], errors="coerce") * AXES.get(column, ("", "", 1.0))[2]


def _varying(points: pd.DataFrame, exclude: tuple[str, ...]) -> list[str]:
    """The columns that tell points apart, other than ``exclude``: swept keys, configs, workloads."""
    keys = ["config_file", "workload", *parameters(points)]
    return [k for k in keys if k in points.columns and k not in exclude and points[k].nunique(dropna=False) > 1]


def _legend_name(keys: list[str], values: Any) -> str:
    vals = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, vals))


def _stem(value: Any) -> str:
    return Path(str(value)).stem if str(value).endswith((".yaml", ".yml", ".onnx")) else str(value)


def sweep_title(table: pd.DataFrame, what: str) -> str:
    """``what``, then the sweep: its workload(s) on its config(s), points and failures."""
    points, failed = _points(table)
    both = [points, failed]
    names = []
    for column in ("workload", "config_file"):
        values = sorted({_stem(v) for part in both if column in part for v in part[column].dropna()})
        names.append(values[0] if len(values) == 1 else f"{len(values)} {column.split('_')[0]}s")
    total = len(points) + len(failed)
    return f"{what}\n{names[0]} on {names[1]}: {total} points" + (f", {len(failed)} failed" if len(failed) else "")


def powers_of_two(values: Any) -> bool:
    """Whether ``values`` are at least three positive whole powers of two spanning 4x or more."""
    import pandas as pd

    nums = sorted(set(pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()))
    if len(nums) < 3 or nums[0] <= 0 or nums[-1] / nums[0] < 4:
        return False
    return all(float(v).is_integer() and int(v) & (int(v) - 1) == 0 for v in nums)


def _log2_axis(ax: Axes, values: Any) -> None:
    import pandas as pd

    ticks = sorted(set(pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()))
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.xaxis.set_minor_locator(NullLocator())


def _mark_failed(ax: Axes, failed: pd.DataFrame, x: str) -> None:
    """A red cross on the x axis at each failed point's x value (its figures do not exist)."""
    import pandas as pd

    xs: list[float] = [float(v) for v in pd.to_numeric(failed[x], errors="coerce").dropna()] \
        if x in failed.columns else []
    if len(xs):
        kinds = sorted({str(k) for k in failed.get("error_kind", pd.Series(dtype=object)).dropna()})
        ax.scatter(xs, [0.02] * len(xs), transform=ax.get_xaxis_transform(), marker="x", color=FAILED_COLOUR,
                   s=60, clip_on=False, zorder=4, label="failed" + (f" ({', '.join(kinds)})" if kinds else ""))


def sweep_figure(table: pd.DataFrame, x: str, y: str = "seconds", by: str | None = None,
                 logy: bool = False) -> Figure:
    """``y`` (a figure, summed per point) against the swept key ``x``, one line per value of
    ``by`` and of every other key that varies (so no line mixes points); failed points marked."""
    points, failed = _points(table)
    groups = ([by] if by else []) + [k for k in _varying(points, (x, by or "")) if k != by]
    fig = Figure(figsize=(7, 4.4), layout="constrained")
    ax = fig.add_subplot()
    parts = points.groupby(groups, sort=True, dropna=False) if groups else [((), points)]
    for values, part in parts:
        part = part.sort_values(x)
        ax.plot(part[x], _scaled(part, y), marker="o", label=_legend_name(groups, values) if groups else None)
    _mark_failed(ax, failed, x)
    if powers_of_two(list(points[x]) + (list(failed[x]) if x in failed.columns else [])):
        _log2_axis(ax, list(points[x]) + (list(failed[x]) if x in failed.columns else []))
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.set_title(sweep_title(table, f"{_name(y)} against {x}"), fontsize="medium")
    if groups or len(failed):
        ax.legend(fontsize="small", frameon=False)
    return fig


def pareto_figure(table: pd.DataFrame, x: str = "seconds", y: str | None = None) -> Figure:
    """Every point at (``x``, ``y``), the Pareto front (no other point is better on both) joined
    and labelled with its swept values; failed points listed. ``y`` defaults to energy, or to DDR
    traffic when the table has no energy figures."""
    points, failed = _points(table)
    if y is None:
        y = next((c for c in FALLBACK_COSTS if c in points.columns and points[c].notna().any()), "cycles")
    points = points[points[x].notna() & points[y].notna()]
    front = pareto_front(points, x, y)
    keys = _varying(points, ())
    fig = Figure(figsize=(7, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(_scaled(points, x), _scaled(points, y), color="#b0b0b0", label="design points", zorder=2)
    best = points[front].sort_values(x)
    ax.plot(_scaled(best, x), _scaled(best, y), color="#e76f51", marker="o", drawstyle="steps-post",
            label="Pareto front", zorder=3)
    for _, row in best.iterrows():
        ax.annotate(_legend_name(keys, tuple(row[k] for k in keys)), (row[x] * AXES.get(x, ("", "", 1.0))[2],
                    row[y] * AXES.get(y, ("", "", 1.0))[2]), fontsize="x-small", xytext=(4, 4),
                    textcoords="offset points")
    if len(failed):
        _failed_note(ax, failed, keys or _varying(failed, ()))
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.grid(alpha=0.3)
    ax.set_title(sweep_title(table, f"{_name(y)} against {_name(x)}: {int(front.sum())} of {len(points)} points "
                             "on the front"), fontsize="medium")
    ax.legend(fontsize="small", frameon=False)
    return fig


def _failed_note(ax: Axes, failed: pd.DataFrame, keys: list[str], shown: int = 5) -> None:
    """The failed points as legend entries (a legend finds room the points leave free)."""
    for _, row in failed.head(shown).iterrows():
        name = _legend_name(keys, tuple(row[k] for k in keys)) or f"point {row.get('point')}"
        kind = f" ({row['error_kind']})" if isinstance(row.get("error_kind"), str) else ""
        ax.plot([], [], "x", color=FAILED_COLOUR, label=f"failed, not drawn: {name}{kind}")
    if len(failed) > shown:
        ax.plot([], [], "x", color=FAILED_COLOUR, label=f"... and {len(failed) - shown} more failed")
