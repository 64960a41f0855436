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
