"""Nothing finished is lost: a sweep killed part way (SIGKILL to its process group: no clean-up
at all) keeps the points it finished, and ``--resume`` runs the rest, each point exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from npusim import sweep
from npusim.sweep import read_table

ROOT = Path(__file__).resolve().parents[2]
NPUSIM = str(Path(sys.executable).with_name("npusim"))
# 6 points of ResNet-18's first convolution on npu1, about 0.4 s each
SWEEP = ["sweep", "--config", str(ROOT / "configs/npu1.yaml"), "--set", "columns=1,2",
         "--set", "ddr.bandwidth_gb_per_s=10,20,30", "--conv2d", "1,3,224,224,64,7,7,2,3"]


def _finished(out: Path) -> int:
    """Points in the output so far (CSV rows, or Parquet part files)."""
    if out.suffix == ".csv":
        return max(0, len(out.read_text().splitlines()) - 1) if out.exists() else 0
    parts = out.with_name(out.name + ".parts")
    return len(list(parts.glob("*.parquet"))) if parts.exists() else 0


def _kill_after(cmd: list[str], out: Path, points: int, timeout: float = 60.0) -> None:
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while _finished(out) < points:
            assert proc.poll() is None, "the sweep ended before it was killed"
            assert time.monotonic() < deadline, "the sweep wrote nothing in time"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and the workers it started
        proc.wait()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_killed_sweep_resumes_with_every_point_once(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"results{suffix}"
    _kill_after([NPUSIM, *SWEEP, "-o", str(out), "--workers", "1"], out, points=2)
    kept = read_table(out)
    assert 2 <= kept["point"].nunique() < 6
    if suffix == ".parquet":
        assert not out.exists()  # only parts so far: each one whole
    done = subprocess.run([NPUSIM, *SWEEP, "-o", str(out), "--resume", "--workers", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    skipped = kept["point"].nunique()
    assert done.stdout.startswith(f"sweep    6 points: {6 - skipped} ok, 0 failed, {skipped} already in {out}; "
                                  f"{6 - skipped} run in ")
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert table["point"].tolist() == list(range(6))
    assert table["point_key"].is_unique and (table["status"] == "ok").all()
    # the points kept from the killed run are unchanged
    merged = table.set_index("point_key").loc[kept["point_key"], "cycles"]
    assert merged.tolist() == kept["cycles"].tolist()
    assert not out.with_name(out.name + ".parts").exists()


def test_resume_drops_a_point_cut_short_and_keeps_other_sweeps_points(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    config = str(ROOT / "configs/tiny.yaml")
    workload = str(ROOT / "workloads/small_gemms.yaml")
    full = sweep(config, workload, {"columns": [1, 2]}, workers=1, output=out)
    lines = out.read_text().splitlines(keepends=True)
    # cut the file as an interruption would: point 1 has 2 of its 6 rows, the last one cut mid-way
    out.write_text("".join(lines[:1 + 6 + 2]) + lines[9][:20])
    again = sweep(config, workload, {"columns": [1, 2]}, workers=1, output=out, resume=True)
    pd.testing.assert_frame_equal(again, full)
    # another sweep's points in the file are kept
    more = sweep(config, workload, {"columns": [1, 2, 4]}, workers=1, output=out, resume=True)
    assert more["point"].tolist() == [p for p in range(3) for _ in range(6)]
    assert more["point_key"].nunique() == 3
