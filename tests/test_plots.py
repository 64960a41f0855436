"""The utilisation plot draws one bar segment per unit and state, sized from the report."""
from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.patches import Rectangle

from npusim import load_config, load_program, simulate
from npusim.cli import main
from npusim.plots import utilisation_figure

ROOT = Path(__file__).resolve().parents[1]


def test_bars_match_the_report() -> None:
    report = simulate(load_config(ROOT / "configs/npu1.yaml"), load_program(ROOT / "traces/pipeline_2core.json"))
    fig = utilisation_figure(report)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == ["core (0,2)", "core (0,3)"]
    assert "shim (0,0) mm2s0" in labels
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    core = next(t.core for t in report.tiles if (t.col, t.row) == (0, 3))
    assert core is not None
    # the busy segment of core (0,3) starts at 0 and is busy/cycles wide; its lock-stall segment
    # starts where the busy one ends (core (0,3) waits for core (0,2): lock stall, no DMA stall)
    y = labels.index("core (0,3)")
    row = sorted((b for b in bars if abs(b.get_y() + b.get_height() / 2 - y) < 1e-9 and b.get_width() > 0),
                 key=lambda b: b.get_x())
    busy, lock, idle = (100 * v / report.cycles for v in (core.busy, core.lock_stall, core.idle))
    assert [round(b.get_width(), 9) for b in row] == [round(busy, 9), round(lock, 9), round(idle, 9)]
    assert row[1].get_x() == pytest.approx(busy)
    assert sum(b.get_width() for b in row) == pytest.approx(100)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "busy", "core waits for DMA", "DMA waits for its stream peer", "waits for a lock", "idle"]


def test_cli_writes_the_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "run.png"
    code = main(["run", "--config", str(ROOT / "configs/tiny.yaml"), "--trace",
                 str(ROOT / "traces/passthrough.json"), "--plot", str(out)])
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.rstrip().endswith(f"plot     {out}")


def test_a_whole_array_run_gets_the_grouped_view() -> None:
    from npusim import Gemm
    from npusim.plots.utilisation import GROUP_ABOVE
    from npusim.runner import run_layer

    report = run_layer(load_config(ROOT / "configs/npu2.yaml"), Gemm(m=256, k=256, n=256, dtype="int8"))
    channels = [(t, ch) for t in report.tiles for ch in t.channels]
    cores = [t for t in report.tiles if t.core is not None]
    assert len(cores) == 32 and len(cores) + len(channels) > GROUP_ABOVE
    fig = utilisation_figure(report)
    width, height = fig.get_size_inches() * 120
    assert height < 1400 and width <= 1200  # was one 0.35-inch bar per unit: ~9000 px tall at 120 dpi
    top, bottom = fig.axes[:2]
    # the cores: one vertical bar per core, its busy segment busy/cycles of the run
    busy_bars = sorted((b for b in top.patches if isinstance(b, Rectangle) and b.get_y() == 0),
                       key=lambda b: b.get_x())
    expected = [100 * t.core.busy / report.cycles for t in sorted(cores, key=lambda t: (t.col, t.row))
                if t.core is not None]
    assert [b.get_height() for b in busy_bars] == pytest.approx(expected)
    assert [t.get_text() for t in top.get_xticklabels()] == ["2", "3", "4", "5"] * 8
    # the channels: one bar per (tile kind, channel), the mean busy share of the tiles using it
    labels = [t.get_text() for t in bottom.get_yticklabels()]
    s2mm0 = [ch.busy for t, ch in channels if t.kind == "compute" and ch.channel == "s2mm0"]
    assert f"compute s2mm0 x{len(s2mm0)}" in labels
    y = labels.index(f"compute s2mm0 x{len(s2mm0)}")
    bar = next(b for b in bottom.patches if isinstance(b, Rectangle) and b.get_x() == 0
               and abs(b.get_y() + b.get_height() / 2 - y) < 1e-9)
    assert bar.get_width() == pytest.approx(100 * sum(s2mm0) / len(s2mm0) / report.cycles)
    assert sum(int(label.rsplit("x", 1)[1]) for label in labels) == len(channels)
