"""Exit codes (npusim.cli_errors): 0 ok, 1 numerical mismatch only, 2 bad input or option
(unwritable paths included), 3 deadlock or hardware error, 4 internal error with a one-line
message (``--debug`` shows the traceback); a closed output pipe ends quietly."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import npusim.hw.kernels as kernels
from npusim.cli import main
from npusim.numerics import Array

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "configs/tiny.yaml")
NPUSIM = str(Path(sys.executable).with_name("npusim"))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ok_is_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "run", "--config", TINY, "--gemm", "64x64x64", "--functional")[0] == 0


def test_a_numerical_mismatch_is_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = kernels.narrow

    def off_by_one(acc: Array, out: str, shift: int = 0) -> Array:
        got = real(acc, out, shift)
        return got ^ np.ones_like(got)  # the lowest bit of every output flipped
    monkeypatch.setattr(kernels, "narrow", off_by_one)
    code, out, err = _run(capsys, "run", "--config", TINY, "--gemm", "64x64x64", "--functional")
    assert code == 1 and err == "" and "DOES NOT match numpy" in out


@pytest.mark.parametrize("args", [
    ["run", "--config", "missing.yaml", "--trace", "traces/passthrough.json"],
    ["run", "--config", TINY, "--gemm", "64x64"],
    ["lower", "--config", TINY, "--gemm", "64x64x64", "-o", "/proc/npusim-test/t.json"],
])
def test_bad_input_is_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = _run(capsys, *args)
    assert code == 2 and err.startswith("error: ") and err.count("\n") >= 1 and "Traceback" not in err


def test_a_deadlock_is_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", "--config", TINY, "--trace", str(ROOT / "traces/deadlock.json"))
    assert code == 3 and "deadlock" in err


def test_an_internal_error_is_4_in_one_line(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import npusim.cli as cli

    def broken(*_: object, **__: object) -> None:
        raise KeyError("tile (0, 2)")
    monkeypatch.setattr(cli, "format_report", broken)
    args = ["run", "--config", TINY, "--trace", str(ROOT / "traces/passthrough.json")]
    code, _, err = _run(capsys, *args)
    assert code == 4
    assert err == ("error: internal error: KeyError: 'tile (0, 2)' (a bug in npusim; run again with --debug for "
                   "the traceback, and report it)\n")
    for where in (["--debug", *args], [*args, "--debug"]):
        code, _, err = _run(capsys, *where)
        assert code == 4 and err.startswith("Traceback (most recent call last):") and "in broken" in err
        assert err.endswith("report it)\n")


def test_out_of_memory_is_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import npusim.cli as cli

    def no_memory(*_: object, **__: object) -> None:
        raise MemoryError()
    monkeypatch.setattr(cli, "load_program", no_memory)
    code, _, err = _run(capsys, "run", "--config", TINY, "--trace", str(ROOT / "traces/passthrough.json"))
    assert code == 2 and err.startswith("error: out of memory: the input is too large for this machine")


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly_in_process(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["run", "--config", TINY, "--trace", str(ROOT / "traces/passthrough.json")]) == 0
    assert capsys.readouterr().err == ""


def test_npusim_run_into_head_ends_quietly() -> None:
    # more output than a pipe holds (2001 points listed, about 120 KB), read 100 bytes of it, then
    # close the pipe
    proc = subprocess.Popen([NPUSIM, "sweep", "--config", TINY, "--gemm", "64x64x64", "--set", "clock_mhz=1000:3000:1",
                             "--dry-run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        head = proc.stdout.read(100)
        proc.stdout.close()
        err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and head.startswith(b"point 0 (clock_mhz=1000) gemm_64x64x64")
    assert err == b""
