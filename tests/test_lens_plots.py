"""The lens's figures, each drawn from a real run: the test reads back what was drawn (bars,
lines, texts, labels) and sets it against the report."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from npusim import Gemm, RunOptions, load_config, load_program, load_workload, run_layer, run_workload, simulate
from npusim.cli import main
from npusim.plots import heatmap_figure, layers_figure, roofline_figure, timeline_figure
from npusim.plots.roofline import intensity
from npusim.runner import WorkloadReport
from npusim.stats import Report
from npusim.stats.intervals import by_unit, merge, parse_unit, report_units

ROOT = Path(__file__).resolve().parents[1]
GEMM = Gemm(name="g", m=256, k=256, n=256, dtype="int8")


@pytest.fixture(scope="module")
def npu1():  # type: ignore[no-untyped-def]
    return load_config(ROOT / "configs/npu1.yaml")


@pytest.fixture(scope="module")
def gemm_run(npu1) -> Report:  # type: ignore[no-untyped-def]
    return run_layer(npu1, GEMM, RunOptions(record_intervals=True))


@pytest.fixture(scope="module")
def workload(npu1) -> WorkloadReport:  # type: ignore[no-untyped-def]
    return run_workload(npu1, load_workload(ROOT / "workloads/small_gemms.yaml"), RunOptions(record_intervals=True))


def test_unit_names_round_trip(gemm_run: Report) -> None:
    units = report_units(gemm_run)
    assert {u.name for u in units} == {unit for _, _, unit, _ in gemm_run.intervals or ()}
    for u in units:
        assert parse_unit(u.name) == u
    assert units[0].name == "shim (0,0) mm2s0"
    assert [u.name for u in units if u.tile == (0, 2)] == ["core (0,2)", "tile (0,2) mm2s0", "tile (0,2) s2mm0",
                                                         "tile (0,2) s2mm1"]
    with pytest.raises(ValueError, match="expected e.g."):
        parse_unit("router 3")


def test_merge_joins_one_state_only() -> None:
    spans = [(0, 10, "busy"), (10, 12, "busy"), (13, 20, "busy"), (20, 25, "dma_stall"), (25, 30, "busy")]
    assert merge(spans) == [(0, 12, "busy"), (13, 20, "busy"), (20, 25, "dma_stall"), (25, 30, "busy")]
    assert merge(spans, gap=1) == [(0, 20, "busy"), (20, 25, "dma_stall"), (25, 30, "busy")]
    assert merge([(0, 10, "busy"), (5, 8, "busy"), (10, 11, "busy")], gap=-1) == [(0, 10, "busy"), (10, 11, "busy")]


def _rects(coll: PolyCollection) -> list[tuple[float, float, float]]:
    """(x, width, y centre) of each rectangle a broken_barh drew."""
    out = []
    for path in coll.get_paths():
        v = path.vertices
        out.append((float(v[:, 0].min()), float(v[:, 0].max() - v[:, 0].min()), float(v[:, 1].min() + v[:, 1].max()) / 2))
    return out


def test_timeline_draws_every_span_of_every_lane(gemm_run: Report) -> None:
    fig = timeline_figure(gemm_run, width_px=gemm_run.cycles + 1)  # one pixel per cycle: no merging
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(report_units(gemm_run)) == 16 * 4 + 4 * 9 + 4 * 3  # cores with their 3 channels, mem tiles, shims
    assert labels[0] == "shim (0,0)  mm2s0" and "compute (0,2)  core" in labels and "s2mm1" in labels
    y = ax.get_yticks()[labels.index("compute (0,2)  core")]
    bars = [r for c in ax.collections if isinstance(c, PolyCollection) for r in _rects(c)]
    spans = merge(by_unit(gemm_run.intervals or ())["core (0,2)"])
    mine = sorted((x, w) for x, w, yc in bars if abs(yc - y) < 1e-6)
    assert np.allclose(mine, sorted((s / 1000, (e - s) / 1000) for s, e, _ in spans))
    busy_us = sum(e - s for s, e, st in spans if st == "busy") / gemm_run.clock_mhz
    assert busy_us > 0
    assert ax.get_xlabel() == "time (\u00b5s)"
    assert ax.get_xlim() == pytest.approx((0, gemm_run.cycles / gemm_run.clock_mhz))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:3] == ["core busy", "core waits for a lock", "core waits for DMA"]
    assert "gemm 256x256x256" in ax.get_title()


def test_timeline_filters_and_needs_intervals(gemm_run: Report, npu1) -> None:  # type: ignore[no-untyped-def]
    ax = timeline_figure(gemm_run, columns=[1], channels=False, time_unit="cycles").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"compute (1,{r})  core" for r in range(2, 6)]
    assert ax.get_xlabel() == "cycle"
    ax = timeline_figure(gemm_run, max_units=5).axes[0]
    assert len(ax.get_yticks()) == 5 and "(first 5 of 112 lanes)" in ax.get_title()
    ax = timeline_figure(gemm_run, window=(2.0, 4.0)).axes[0]
    assert ax.get_xlim() == pytest.approx((2.0, 4.0)) and "2 to 4 \u00b5s shown" in ax.get_title()
    starts = [x for c in ax.collections if isinstance(c, PolyCollection) for x, w, _ in _rects(c)]
    assert starts and all(x < 4.0 for x in starts)  # only spans that reach into the window
    with pytest.raises(ValueError, match=r"^window \(5.0, 1.0\): expected start < end"):
        timeline_figure(gemm_run, window=(5.0, 1.0))
    with pytest.raises(ValueError, match=r"record_intervals=True"):
        timeline_figure(run_layer(npu1, GEMM))


def test_heatmap_writes_each_tiles_share(npu1) -> None:  # type: ignore[no-untyped-def]
    report = simulate(npu1, load_program(ROOT / "traces/pipeline_2core.json"))
    fig = heatmap_figure(report, npu1)
    ax = fig.axes[0]
    image = next(a for a in ax.get_children() if isinstance(a, AxesImage))
    data = image.get_array()
    assert data.shape == (npu1.rows, npu1.columns)
    used = {(t.col, t.row) for t in report.tiles}
    assert np.ma.count_masked(data) == npu1.rows * npu1.columns - len(used)  # unused tiles are blank
    core = next(t for t in report.tiles if t.core is not None)
    assert core.core is not None
    share = 100 * core.core.busy / report.cycles
    assert data[core.row, core.col] == pytest.approx(share)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 2 * len(used)
    assert f"{share:.0f}%" in texts and "core" in texts
    assert any(t.endswith("DMA ch") for t in texts)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "busy (% of the run)"  # the colour bar
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["row 0\nshim", "row 1\nmem tile"]


def test_roofline_of_a_layer_and_of_a_workload(gemm_run: Report, workload: WorkloadReport) -> None:
    ax = roofline_figure(gemm_run).axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1
    assert list(points[0].get_offsets()[0]) == pytest.approx([intensity(gemm_run), gemm_run.achieved_tops])
    roof = ax.lines[0]
    x, y = roof.get_data()
    assert max(y) == pytest.approx(gemm_run.peak_tops)  # the compute roof
    slope = y[0] / x[0] * 1e12 / 1e9
    assert slope == pytest.approx(gemm_run.ddr.peak_gb_per_s)  # the DDR roof: GB/s x ops/byte
    ridge = gemm_run.peak_tops * 1e12 / (gemm_run.ddr.peak_gb_per_s * 1e9)
    assert any(t.get_text().startswith("ridge point") for t in ax.texts)
    assert any(line.get_xdata()[0] == pytest.approx(ridge) for line in ax.lines[1:])
    assert "arithmetic intensity" in ax.get_xlabel() and "TOPS" in ax.get_ylabel()
    ax = roofline_figure(workload).axes[0]
    offsets = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert len(offsets) == len(workload.layers)
    assert ax.get_legend() is not None


def test_layers_bars_are_latency_and_energy(workload: WorkloadReport, npu1) -> None:  # type: ignore[no-untyped-def]
    fig = layers_figure(workload, npu1)
    left, right = fig.axes[:2]
    n = len(workload.layers)
    lat = [p.get_width() for p in left.patches]
    assert lat == pytest.approx([r.seconds * c * 1e6 for r, c in zip(workload.layers, workload.counts)])
    energy = [p.get_width() for p in right.patches]
    assert len(energy) == n and all(e > 0 for e in energy)
    assert left.get_xlabel() == "latency (\u00b5s)" and right.get_xlabel().startswith("energy (\u00b5J")
    assert [t.get_text() for t in left.get_yticklabels()][0].startswith("0 ")


@pytest.mark.parametrize("kind,source,suffix", [
    ("timeline", ["--trace", "traces/pipeline_2core.json"], ".svg"),
    ("heatmap", ["--gemm", "128x128x128"], ".png"),
    ("roofline", ["--workload", "workloads/small_gemms.yaml"], ".png"),
    ("utilisation", ["--gemm", "64x64x64", "--tiles", "16,32,16"], ".png"),
    ("power", ["--workload", "workloads/small_gemms.yaml", "--layer", "1"], ".png"),
    ("layers", ["--workload", "workloads/small_gemms.yaml"], ".svg"),
])
def test_cli_writes_each_kind(kind: str, source: list[str], suffix: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / f"{kind}{suffix}"
    args = [str(ROOT / a) if "/" in a else a for a in source]
    assert main(["plot", kind, "--config", str(ROOT / "configs/tiny.yaml"), *args, "-o", str(out)]) == 0
    head = out.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n" if suffix == ".png" else b"<?xml" in head
    assert capsys.readouterr().out.startswith(f"plot     {out} ({kind} of ")


def test_cli_plot_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", str(ROOT / "configs/tiny.yaml"), "--gemm", "64x64x64"]
    assert main(["plot", "layers", *base, "-o", str(tmp_path / "l.png")]) == 2
    assert "npusim plot layers needs a workload (--workload or --onnx)" in capsys.readouterr().err
    assert main(["plot", "heatmap", *base, "-o", str(tmp_path / "h.pdf")]) == 2
    assert "name it .png or .svg" in capsys.readouterr().err
    assert main(["plot", "heatmap", *base, "--layer", "1", "-o", str(tmp_path / "h.png")]) == 2
    assert "--layer picks a layer of a workload" in capsys.readouterr().err


def test_power_stacks_components_and_bars_their_energy(gemm_run: Report, npu1) -> None:  # type: ignore[no-untyped-def]
    from npusim.plots import power_figure
    from npusim.plots.power import LABELS

    fig = power_figure(gemm_run, npu1, bins=50)
    left, right = fig.axes[:2]
    energy = gemm_run.energy_by_component
    assert energy is not None and gemm_run.energy_j is not None
    shown = [c for c, j in energy.items() if j > 0]
    stacked = [c for c in left.collections if isinstance(c, PolyCollection)]
    assert len(stacked) == len(shown)  # one band per component that spent energy
    bars = [p.get_width() for p in right.patches]
    assert bars == pytest.approx([energy[c] * 1e6 for c in shown])
    assert [t.get_text() for t in right.get_yticklabels()] == [LABELS[c] for c in shown]
    # the total line integrates to the run's energy; the dashed line is the average power
    total = next(line for line in left.lines if line.get_label() == "total")
    watts = np.asarray(total.get_ydata())[:-1]
    assert watts.sum() * gemm_run.seconds / 50 == pytest.approx(gemm_run.energy_j, rel=1e-6)
    average = next(line for line in left.lines if str(line.get_label()).startswith("average"))
    assert average.get_ydata()[0] == pytest.approx(gemm_run.energy_j / gemm_run.seconds)
    assert left.get_xlabel() == "time (\u00b5s)" and right.get_xlabel() == "energy (\u00b5J)"
    assert "W" in left.get_ylabel() and fig.legends
