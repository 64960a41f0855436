"""The workload progress bar shows on a terminal only, and never in --json mode or in a pipe."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from npusim import Gemm, load_config, progress, run_layer
from npusim.cli import main
from npusim.engine import RunOptions
from npusim.progress import CycleProgress, LayerProgress, interactive

ROOT = Path(__file__).resolve().parents[1]
RUN = ["run", "--config", str(ROOT / "configs/tiny.yaml"), "--workload", str(ROOT / "workloads/small_gemms.yaml")]


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _terminals(monkeypatch: pytest.MonkeyPatch, stdout_tty: bool = True) -> tuple[io.StringIO, Terminal]:
    out: io.StringIO = Terminal() if stdout_tty else io.StringIO()
    err = Terminal()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # show at once, so that a bar would be seen
    return out, err


def test_on_a_terminal_the_bar_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = _terminals(monkeypatch)
    assert main(RUN) == 0
    assert "layer" in err.getvalue() and "/6" in err.getvalue()  # the control: 6 layers counted on stderr
    assert out.getvalue().startswith("workload small_gemms")


def test_quiet_in_json_mode_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = _terminals(monkeypatch)
    assert main(RUN + ["--json"]) == 0
    assert err.getvalue() == ""
    assert json.loads(out.getvalue())["workload"] == "small_gemms"


def test_quiet_when_stdout_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    _, err = _terminals(monkeypatch, stdout_tty=False)
    assert main(RUN) == 0
    assert err.getvalue() == ""


def test_quiet_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    monkeypatch.setattr("sys.stdout", Terminal())
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert not interactive()
    assert main(RUN) == 0
    assert err.getvalue() == ""


def test_a_disabled_bar_is_inert() -> None:
    sink = io.StringIO()
    with LayerProgress(["a", "b"], enabled=False, file=sink) as bar:
        bar.on_layer(0, None)  # type: ignore[arg-type]
    assert bar.bar is None and sink.getvalue() == ""
    with LayerProgress(["a", "b"], enabled=True, delay=0, file=sink) as bar:
        bar.on_layer(0, None)  # type: ignore[arg-type]
    assert "layer 0: a" in sink.getvalue() and "0/2" in sink.getvalue()


def test_cycle_progress_follows_the_engine_and_changes_no_count() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "configs/tiny.yaml")
    layer = Gemm(m=128, k=128, n=128, dtype="int8")
    plain = run_layer(config, layer)
    out = io.StringIO()
    with CycleProgress(plain.cycles, enabled=True, delay=0, file=out) as bar:
        options = bar.options(RunOptions())
        assert options.progress is not None and options.progress_cycles == max(1, plain.cycles // 200)
        shown = run_layer(config, layer, options)
        assert bar.bar is not None and bar.bar.n >= plain.cycles - options.progress_cycles
    assert shown.cycles == plain.cycles and shown.tiles == plain.tiles
    assert "simulating" in out.getvalue()
    off = CycleProgress(plain.cycles, enabled=False)
    assert off.options(RunOptions()).progress is None
