"""Sweep views: per-point totals, the Pareto front, and the two figures drawn from them."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from npusim import sweep
from npusim.plots import pareto_figure, sweep_figure
from npusim.sweep import parameters, pareto_front, totals

ROOT = Path(__file__).resolve().parents[2]


def _table() -> pd.DataFrame:
    """A hand-made per-layer sweep table: 3 points of 2 layers (the second run twice); point 2
    failed on one layer."""
    rows = []
    for point, (cols, lat, energy) in enumerate([(1, 4.0, 1.0), (2, 2.0, 3.0), (4, 1.0, 5.0)]):
        for layer, count in ((0, 1), (1, 2)):
            rows.append({"point": point, "point_key": f"k{point}", "config_file": "c.yaml", "workload": "w",
                         "columns": cols, "status": "failed" if (point, layer) == (2, 1) else "ok",
                         "error_kind": None, "error": None, "layer_index": layer, "layer": f"l{layer}",
                         "cycles": 100 * (layer + 1), "seconds": lat, "ops": 10**12, "energy_j": energy,
                         "energy_by_component.ddr": energy / 2, "peak_power_w": point + layer, "count": count})
    return pd.DataFrame(rows)


def test_totals_sum_the_layers_times_their_count() -> None:
    t = totals(_table())
    assert list(t.columns[:7]) == ["point", "point_key", "config_file", "workload", "columns", "status", "failed"]
    assert parameters(t) == ["columns"]
    assert t["status"].tolist() == ["ok", "ok", "failed"] and t["failed"].tolist() == [False, False, True]
    assert t["layers"].tolist() == [2, 2, 2]
    ok = t[~t["failed"]]
    assert ok["cycles"].tolist() == [100 + 2 * 200] * 2
    assert ok["seconds"].tolist() == [12.0, 6.0]
    assert ok["energy_j"].tolist() == [3.0, 9.0]
    assert ok["energy_by_component.ddr"].tolist() == [1.5, 4.5]
    assert ok["peak_power_w"].tolist() == [1, 2]
    assert ok["achieved_tops"].tolist() == pytest.approx([3 / 12, 3 / 6])
    assert ok["average_power_w"].tolist() == pytest.approx([3 / 12, 9 / 6])


def test_a_failed_point_has_no_totals() -> None:
    """Point 2's second layer failed: a sum over what is left of it (a real failed row has no
    figures: 1 s for layer 0 alone, a false 6x speed-up over point 1's 6 s) must not stand for
    the point."""
    t = totals(_table()).set_index("point")
    figures = ["cycles", "seconds", "ops", "energy_j", "energy_by_component.ddr", "peak_power_w", "achieved_tops",
               "average_power_w", "tops_per_watt"]
    assert t.loc[2, figures].isna().all()
    assert t.loc[2, ["status", "failed", "layers", "columns"]].tolist() == ["failed", True, 2, 4]
    assert t.loc[[0, 1], figures].notna().all().all()
    # a sweep without failures keeps its integer columns
    assert totals(_table()[_table()["point"] < 2])["cycles"].dtype.kind == "i"


def test_the_pareto_front() -> None:
    t = pd.DataFrame({"seconds": [1.0, 2.0, 3.0, 2.0, 4.0, None], "energy_j": [5.0, 3.0, 3.0, 4.0, 1.0, 0.1]})
    assert pareto_front(t, "seconds", "energy_j").tolist() == [True, True, False, False, True, False]


def test_figures_draw_the_points() -> None:
    lines = sweep_figure(_table(), "columns", "seconds")
    (line,) = lines.axes[0].get_lines()  # failed point 2 left out: one line of two points
    assert list(line.get_xdata()) == [1, 2]
    assert list(line.get_ydata()) == pytest.approx([12e3, 6e3])  # ms
    assert lines.axes[0].get_ylabel() == "latency (ms)"
    pareto = pareto_figure(_table())
    ax = pareto.axes[0]
    assert ax.get_ylabel() == "energy (mJ)"
    assert ax.get_title() == "energy against latency: 2 of 2 points on the front\nw on c: 3 points, 1 failed"
    assert [t.get_text() for t in ax.texts] == ["columns=2", "columns=1"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["design points", "Pareto front",
                                                                   "failed, not drawn: columns=4"]


def test_figures_fit_for_a_paper() -> None:
    # a swept key's axis label is its schema description with the unit from the field name
    fig = sweep_figure(_table(), "columns", "seconds")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Columns of the array usable by one design"
    assert ax.get_title() == "latency against columns\nw on c: 3 points, 1 failed"
    # 1, 2, 4 are powers of two spanning 4x: a log2 axis ticked at the values
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    # the failed point 2 (columns=4) is marked on the x axis, not left out
    (cross,) = [c for c in ax.collections if c.get_label().startswith("failed")]
    assert [float(x) for x, _ in cross.get_offsets()] == [4.0]
    table = _table().assign(**{"clock_mhz": [1000, 1000, 1500, 1500, 2000, 2000]}).drop(columns="columns")
    table.insert(4, "clock_mhz", table.pop("clock_mhz"))
    ax = sweep_figure(table, "clock_mhz", "energy_j").axes[0]
    assert ax.get_xlabel() == "Array clock (MHz)" and ax.get_xscale() == "linear"
    assert ax.get_ylabel() == "energy (mJ)"


def test_a_real_sweep_plotted(tmp_path: Path) -> None:
    table = sweep(ROOT / "configs/tiny.yaml", ROOT / "workloads/small_gemms.yaml",
                  {"columns": [1, 2], "ddr.bandwidth_gb_per_s": [4, 16]}, workers=1)
    fig = sweep_figure(table, "ddr.bandwidth_gb_per_s", "seconds", by="columns")
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["columns=1", "columns=2"]
    # with no energy figures, the cost is DDR traffic
    no_energy = table.drop(columns=[c for c in table.columns if c.startswith("energy")])
    ax = pareto_figure(no_energy).axes[0]
    assert ax.get_ylabel() == "DDR traffic (MB)"
    fig.savefig(tmp_path / "lines.png")
    pareto_figure(table).savefig(tmp_path / "pareto.svg")
