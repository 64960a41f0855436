"""``npusim sweep-summary``: each variant's totals, speed-up and energy against a baseline, from the
table alone and without pandas."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from npusim import Gemm, sweep
from npusim.cli import main
from npusim.sweep import totals
from npusim.sweep.summary import read_rows, summarise, variants

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs/tiny.yaml")
PAIR = {"name": "pair", "layers": [{"op": "gemm", "m": 64, "k": 64, "n": 64, "count": 3},
                                    {"op": "gemm", "m": 128, "k": 64, "n": 64, "dtype": "bf16"}]}


@pytest.fixture(scope="module")
def table_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # columns=0 is an invalid variant: a failed point the summary must show as failed
    out = tmp_path_factory.mktemp("summary") / "whatif.csv"
    sweep(TINY, [PAIR], {"columns": [0, 1, 2], "clock_mhz": [500, 1000]}, output=out, workers=1)
    return out


def test_per_variant_sums_are_those_of_totals(table_path: Path) -> None:
    rows, params = read_rows(table_path)
    assert params == ["columns", "clock_mhz"]
    found = variants(rows, params)
    frame = totals(pd.read_csv(table_path)).set_index("point")
    assert [v.point for v in found] == list(frame.index)
    for v in found:
        expected = frame.loc[v.point]
        assert v.status == expected["status"]
        if not v.ok:
            assert v.figure("seconds") is None and v.figure("npu_power_w") is None
            continue
        for name, column in (("cycles", "cycles"), ("seconds", "seconds"), ("energy_j", "energy_j"),
                             ("tops", "achieved_tops"), ("average_power_w", "average_power_w"),
                             ("npu_power_w", "npu_power_w")):
            assert v.figure(name) == pytest.approx(float(expected[column]), rel=1e-12), name
        assert v.figure("npu_power_w") < v.figure("average_power_w")  # type: ignore[operator]


def test_speed_up_and_energy_against_the_chosen_baseline(table_path: Path) -> None:
    text = summarise(table_path, ["columns=1", "clock_mhz=1000"])
    lines = text.splitlines()
    assert lines[0] == f"workload pair on {TINY}: 6 variants, baseline point 3 (columns=1, clock_mhz=1000)"
    header = lines[2].split()
    assert header == ["point", "columns", "clock_mhz", "status", "cycles", "ms", "mJ", "W", "NPU", "W", "TOPS",
                      "speed-up", "energy"]
    cells = {int(ln.split()[0]): ln.split() for ln in lines[4:10]}
    found = {v.point: v for v in variants(*read_rows(table_path))}
    base = found[3]
    assert cells[3][-2:] == ["1.00x", "1.00x"]
    for p in (2, 4, 5):
        v = found[p]
        assert cells[p][-2] == f"{base.figure('seconds') / v.figure('seconds'):.2f}x"  # type: ignore[operator]
        assert cells[p][-1] == f"{v.figure('energy_j') / base.figure('energy_j'):.2f}x"  # type: ignore[operator]
    # two columns at the same clock are faster than one (the layers spread over more cores)
    assert float(cells[5][-2].rstrip("x")) > 1
    # the invalid variants: failed, with the error kind, and no figures
    assert cells[0][3:5] == ["failed", "(ConfigError)"] and set(cells[0][5:]) == {"-"}
    assert lines[-1].startswith("speed-up: baseline time / time; energy: energy / baseline energy")


def test_the_default_baseline_is_the_first_point_of_the_workload(table_path: Path) -> None:
    assert "baseline point 0 (columns=0, clock_mhz=500)" in summarise(table_path)


def test_the_command_line(table_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep-summary", str(table_path), "--baseline", "columns=2", "--baseline", "clock_mhz=500"]) == 0
    assert "baseline point 4 (columns=2, clock_mhz=500)" in capsys.readouterr().out
    out = tmp_path / "again.parquet"
    assert main(["sweep", "--config", TINY, "--set", "columns=1,2", "--gemm", "64x64x64", "-o", str(out),
                 "--workers", "1", "--quiet", "--summary"]) == 0
    printed = capsys.readouterr().out
    assert "2 variants, baseline point 0 (columns=1)" in printed and printed.count("ok") >= 2
    for args, message in (
            (["sweep-summary", str(table_path), "--baseline", "rows=2"],
             "--baseline 'rows=2': expected KEY=VALUE with KEY one of the swept keys (columns, clock_mhz)"),
            (["sweep-summary", str(table_path), "--baseline", "columns=7"],
             "--baseline columns=7: no point of workload pair"),
            (["sweep-summary", str(tmp_path / "none.csv")], "none.csv: no such sweep table; run npusim sweep"),
            (["sweep-summary", str(ROOT / "configs/tiny.yaml")], "expected a sweep table, a .csv or .parquet")):
        assert main(args) == 2
        assert message in capsys.readouterr().err


def test_the_summary_needs_no_pandas(table_path: Path) -> None:
    code = (f"import sys\nfrom npusim.cli import main\nmain(['sweep-summary', {str(table_path)!r}])\n"
            "assert 'pandas' not in sys.modules, 'pandas was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "6 variants" in done.stdout


def test_totals_is_reachable_as_the_docs_say(table_path: Path) -> None:
    import npusim
    import npusim.sweep as module
    from npusim import sweep as called

    table = pd.read_csv(table_path)
    assert npusim.sweep.totals is totals and module.totals is totals  # not shadowed by the sweep function
    assert list(npusim.sweep.totals(table)["point"]) == list(range(6))
    again = called(TINY, [PAIR], {"columns": [1]}, workers=1)  # calling the module runs a sweep
    assert list(again["status"]) == ["ok", "ok"]
