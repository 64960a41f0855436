"""Energy and power in the views: JSON keys, text, CSV files, DataFrames, workload totals."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from npusim import Gemm, Report, RunOptions, load_config, load_program, load_workload, run_workload, simulate
from npusim.cli import main
from npusim.power import COMPONENTS, MOVEMENT
from npusim.report import format_report, report_json, write_csv
from npusim.runner import run_layer
from npusim.stats.tables import CHANNEL_COLUMNS, ENERGY_COLUMNS, LAYER_COLUMNS, ROUTE_COLUMNS, TILE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")
POWER_KEYS = {"energy_j", "average_power_w", "peak_power_w", "tops_per_watt", "energy_by_component"}


@pytest.fixture(scope="module")
def gemm() -> Report:
    return run_layer(TINY, Gemm(m=64, k=96, n=40, dtype="int8"), RunOptions(record_intervals=True))


def test_json_has_the_power_keys(gemm: Report) -> None:
    data = json.loads(report_json(gemm))
    assert POWER_KEYS | {"peak_power_window_s", "actions"} <= set(data)
    assert list(data["energy_by_component"]) == list(COMPONENTS)
    assert data["energy_j"] == pytest.approx(sum(data["energy_by_component"].values()))
    assert data["average_power_w"] == pytest.approx(data["energy_j"] / data["seconds"])
    assert data["peak_power_w"] >= data["average_power_w"] > 0
    assert data["tops_per_watt"] == pytest.approx(data["ops"] / data["energy_j"] / 1e12)
    assert set(data["actions"]) >= {"macs", "ddr_bytes", "stream_byte_switches", "active_cycles", "tiles"}
    assert all("lock_operations" in t for t in data["tiles"]) and all("tree_switches" in r for r in data["routes"])


def test_workload_totals_and_energy_by_operator(capsys: pytest.CaptureFixture[str]) -> None:
    wr = run_workload(TINY, load_workload(ROOT / "workloads/small_gemms.yaml"))
    assert wr.energy_j == pytest.approx(sum((r.energy_j or 0) * n for r, n in zip(wr.layers, wr.counts)))
    assert wr.average_power_w == pytest.approx(wr.energy_j / wr.seconds)
    assert wr.tops_per_watt == pytest.approx(wr.ops / wr.energy_j / 1e12)
    assert wr.peak_power_w is None  # no intervals recorded
    ops = wr.operators()
    assert sum(o.energy_j for o in ops) == pytest.approx(wr.energy_j)
    assert sum(o.energy_share for o in ops) == pytest.approx(1.0)
    moving = sum((r.energy_by_component or {})[c] * n for r, n in zip(wr.layers, wr.counts) for c in MOVEMENT)
    assert ops[-1].operator == "data movement" and ops[-1].energy_j == pytest.approx(moving)
    data = wr.to_dict()
    assert POWER_KEYS <= set(data) and {"energy_j", "energy_share"} <= set(data["operators"][0])
    assert data["energy_by_component"]["ddr"] == pytest.approx(sum(ly["energy_by_component"]["ddr"] * ly["count"]
                                                                   for ly in data["layers"]))


def test_text_report_has_the_energy_table_and_power_line(gemm: Report) -> None:
    lines = format_report(gemm).splitlines()
    start = lines.index("energy by component")
    assert lines[start + 1].split() == ["component", "energy", "share", "average", "W"]
    assert [ln.split()[0] for ln in lines[start + 3:start + 14]] == [
        "MACs", "vector", "data", "data", "memory", "streams", "DDR", "locks", "clock", "static", "total"]
    assert lines[start + 13].split()[3] == "100.0%"
    power = next(ln for ln in lines if ln.startswith("power    "))
    assert "W, DRAM excluded), peak " in power and power.endswith("TOPS/W")


def test_dataframes_have_the_documented_columns(gemm: Report) -> None:
    r = gemm
    for table, columns in (("tiles", TILE_COLUMNS), ("channels", CHANNEL_COLUMNS), ("routes", ROUTE_COLUMNS),
                           ("energy", ENERGY_COLUMNS)):
        frame = r.to_dataframe(table)
        assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(columns) and len(frame) > 0
    assert list(r.to_dataframe()["kind"]) == [t.kind for t in r.tiles]
    assert r.to_dataframe("energy")["energy_j"].sum() == pytest.approx(r.energy_j)
    with pytest.raises(ValueError, match=r"^unknown table 'cores': expected one of tiles, channels, routes, energy$"):
        r.to_dataframe("cores")
    wr = run_workload(TINY, load_workload(ROOT / "workloads/small_gemms.yaml"))
    layers = wr.to_dataframe()
    assert list(layers.columns) == list(LAYER_COLUMNS) + [f"energy_{c}_j" for c in COMPONENTS]
    assert len(layers) == len(wr.layers) and layers["energy_j"].mul(layers["count"]).sum() == pytest.approx(wr.energy_j)
    tiles = wr.to_dataframe("tiles")
    assert list(tiles.columns) == ["layer_index", "layer", *TILE_COLUMNS]
    assert set(tiles["layer_index"]) == set(range(len(wr.layers)))
    assert list(wr.to_dataframe("operators")["operator"]) == [o.operator for o in wr.operators()]


def test_cli_csv_files_are_written_and_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--config", str(ROOT / "configs/tiny.yaml"), "--gemm", "64x96x40", "--csv", str(tmp_path),
                 "--intervals"])
    out = capsys.readouterr().out
    assert code == 0 and "csv      " in out and "peak " in out  # --intervals: peak power shown
    frames = {p.stem: pd.read_csv(p) for p in sorted(tmp_path.glob("*.csv"))}
    assert set(frames) == {"layers", "tiles", "channels", "routes", "energy", "operators"}
    assert list(frames["tiles"].columns) == ["layer_index", "layer", *TILE_COLUMNS]
    assert list(frames["energy"]["component"]) == list(COMPONENTS)
    layer = frames["layers"].iloc[0]
    assert layer["energy_j"] == pytest.approx(frames["energy"]["energy_j"].sum())
    assert layer["peak_power_w"] >= layer["average_power_w"] > 0 and layer["operator"] == "matmul"


def test_write_csv_of_a_workload(tmp_path: Path) -> None:
    wr = run_workload(TINY, load_workload(ROOT / "workloads/small_gemms.yaml"))
    paths = write_csv(wr, tmp_path / "out")
    assert [p.name for p in paths] == ["layers.csv", "tiles.csv", "channels.csv", "routes.csv", "energy.csv",
                                       "operators.csv"]
    assert len(pd.read_csv(paths[0])) == len(wr.layers)
    assert pd.read_csv(paths[4])["layer_index"].nunique() == len(wr.layers)


def test_a_trace_report_carries_its_energy() -> None:
    report = simulate(TINY, load_program(ROOT / "traces/passthrough.json"))
    assert report.energy_j is not None and report.energy_by_component is not None
    assert report.energy_by_component["macs"] == 0 and report.energy_by_component["ddr"] > 0
    assert report.tops_per_watt == 0.0  # a trace with no compute
