"""A sweep owns its output: a second sweep on the same output stops at once (the first's rows
all kept), ``--resume`` refuses a file it did not write (the user's rows untouched), a torn last
row is dropped and its point run again, a Parquet part is there whole or not at all, and a
sweep too large or with a bad run option is refused before anything runs."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from npusim import sweep
from npusim.cli import main
from npusim.output import OutputError
from npusim.sweep import SweepError, read_table

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs/tiny.yaml")
WORKLOAD = str(ROOT / "workloads/small_gemms.yaml")
NPUSIM = str(Path(sys.executable).with_name("npusim"))
# 6 points of ResNet-18's first convolution on npu1, about 0.4 s each
SLOW = ["sweep", "--config", str(ROOT / "configs/npu1.yaml"), "--set", "columns=1,2",
        "--set", "ddr.bandwidth_gb_per_s=10,20,30", "--conv2d", "1,3,224,224,64,7,7,2,3", "--workers", "1"]


def _points(out: Path) -> int:
    if out.suffix == ".csv":
        return max(0, len(out.read_text().splitlines()) - 1) if out.exists() else 0
    parts = out.with_name(out.name + ".parts")
    return len(list(parts.glob("*.parquet"))) if parts.exists() else 0


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_second_sweep_on_the_same_output_stops_and_the_first_loses_nothing(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"r{suffix}"
    first = subprocess.Popen([NPUSIM, *SLOW, "-o", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _points(out) < 1:
        assert first.poll() is None and time.monotonic() < deadline, "the first sweep wrote nothing"
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # paused mid-sweep, holding its output, however slow the machine
    try:
        for extra in ([], ["--resume"], ["--overwrite"]):
            second = subprocess.run([NPUSIM, *SLOW, "--set", "columns=4", "-o", str(out), *extra], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120, check=False)
            assert second.returncode == 2 and second.stdout == "", second.stderr
            assert second.stderr.startswith(f"error: output {out}: another sweep is writing it (pid {first.pid} on ")
            assert second.stderr.endswith(f"wait for it to finish (then --resume adds the points it lacks) or give "
                                          f"another -o. The lock is {out}.lock\n")
    finally:
        first.send_signal(signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    table = read_table(out)
    assert table["point"].tolist() == list(range(6)) and (table["status"] == "ok").all()
    assert list(table.columns[:6]) == ["point", "point_key", "config_file", "workload", "columns",
                                       "ddr.bandwidth_gb_per_s"]
    assert not Path(f"{out}.lock").exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_resume_refuses_a_file_that_is_not_a_sweep_table(tmp_path: Path, suffix: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"mine{suffix}"
    mine = pd.DataFrame({"name": ["a", "b"], "value": [1, 2]})
    mine.to_csv(out, index=False) if suffix == ".csv" else mine.to_parquet(out)
    before = out.read_bytes()
    code = main(["sweep", "--config", TINY, "--gemm", "64x64x64", "-o", str(out), "--resume", "--workers", "1"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: output {out}: not a sweep table (no point, point_key, config_file, workload, status, error_kind, "
        "error, layer_index, layer columns); --resume continues a sweep in its own output: give another -o, or "
        "--overwrite to replace this file\n")
    assert out.read_bytes() == before and sorted(os.listdir(tmp_path)) == [out.name]


def test_resume_refuses_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    out.write_text("name,value\na,1\n")
    with pytest.raises(SweepError, match=rf"^output {out}: {out} is not a readable Parquet file \(.*\); give another "
                                         r"-o, or --overwrite to replace it$"):
        sweep(TINY, WORKLOAD, workers=1, output=out, resume=True)
    assert out.read_text() == "name,value\na,1\n"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_resume_refuses_another_sweeps_table_and_accepts_an_extended_grid(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"r{suffix}"
    first = sweep(TINY, WORKLOAD, {"columns": [1, 2]}, workers=1, output=out)
    before = out.read_bytes()
    with pytest.raises(SweepError) as exc:
        sweep(TINY, WORKLOAD, {"columns": [1, 4]}, workers=1, output=out, resume=True)
    key = first[first["columns"] == 2]["point_key"].iloc[0]
    assert str(exc.value) == (
        f"output {out}: 1 of its points are not points of this sweep (point_key {key}): another sweep (other configs, "
        "workloads, values or options) wrote it; resume with that sweep's definition (or one that extends its grid), "
        "or give another -o")
    assert out.read_bytes() == before
    more = sweep(TINY, WORKLOAD, {"columns": [1, 2, 4]}, workers=1, output=out, resume=True)
    assert more["point_key"].nunique() == 3 and len(more) == 3 * 6


def test_a_torn_last_row_is_dropped_and_its_point_run_again(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    full = sweep(TINY, WORKLOAD, {"columns": [1, 2]}, workers=1, output=out)
    text = out.read_text()
    # the interruption cut the very last row inside its last cell: every field is there, the
    # last one short (the row would parse, with a wrong value)
    last = text.rstrip("\r\n").rsplit("\n", 1)[1]
    assert not last.endswith(",")
    out.write_bytes(text.encode()[:len(text.rstrip("\r\n")) - 2])
    torn = pd.read_csv(out)
    assert len(torn) == len(full) and torn.iloc[-1].tolist() != full.iloc[-1].tolist()
    again = sweep(TINY, WORKLOAD, {"columns": [1, 2]}, workers=1, output=out, resume=True)
    pd.testing.assert_frame_equal(again, full)


def test_a_parquet_part_cut_by_a_full_disk_is_not_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "r.parquet"
    real = pq.write_table
    calls = []

    def write_table(table: Any, where: Any, **kw: Any) -> None:
        calls.append(where)
        if len(calls) == 3:  # the third point's part: half written, then the disk is full
            Path(where).write_bytes(b"PAR1 half a part")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(where))
        real(table, where, **kw)
    monkeypatch.setattr(pq, "write_table", write_table)
    grid = {"columns": [1, 2], "compute_rows": [1, 2]}
    with pytest.raises(OutputError, match="No space left on device"):
        sweep(TINY, WORKLOAD, grid, workers=1, output=out)
    monkeypatch.setattr(pq, "write_table", real)
    kept = read_table(out)  # every part there is whole
    assert kept["point"].unique().tolist() == [0, 1]
    done = sweep(TINY, WORKLOAD, grid, workers=1, output=out, resume=True)
    assert done["point"].tolist() == [p for p in range(4) for _ in range(6)]
    assert done["point_key"].nunique() == 4 and not out.with_name("r.parquet.parts").exists()


def test_a_bad_run_option_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.csv"
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "--config", TINY, "--gemm", "64x64x64", "-o", str(out), "--max-cycles", "0"])
    assert exc.value.code == 2
    assert "argument --max-cycles: expected a whole number at least 1, e.g. 1e9, got '0'" in capsys.readouterr().err
    assert main(["sweep", "--config", TINY, "--gemm", "64x64x64", "-o", str(out), "--set",
                 "options.max_cycles=1000,0"]) == 2
    assert capsys.readouterr().err == "error: swept options.max_cycles=0: max_cycles must be at least 1, got 0\n"
    f = tmp_path / "s.yaml"
    f.write_text(f"config: {TINY}\nworkload: {WORKLOAD}\noptions: {{max_cycles: 0}}\n")
    assert main(["sweep", str(f), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {f} options: max_cycles must be at least 1, got 0\n"
    assert not out.exists()


def test_a_grid_too_large_is_refused_before_it_is_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", "--config", TINY, "--gemm", "64x64x64", "-o", str(tmp_path / "r.csv"),
            "--set", "columns=1:10000", "--set", "compute_rows=1:10000"]
    assert main(args) == 2  # 10^8 points: refused from their count, none made
    assert capsys.readouterr().err == (
        "error: the sweep has 100,000,000 points (1 configs x 100,000,000 variants x 1 workloads), more than the "
        "limit of 100,000: sweep fewer values (a larger STEP in a range), or raise the limit with --max-points N (in "
        "Python: max_points=N)\n")
    assert main(["sweep", "--config", TINY, "--gemm", "64x64x64", "--set", "columns=1:3", "--dry-run",
                 "--max-points", "2"]) == 2
    assert "the sweep has 3 points" in capsys.readouterr().err
