"""Fusion through the workload runner and its faces: a residual CNN (tests/fusion/residual.yaml)
run whole with fusion on and off: fused no slower and with less DDR traffic, the groups in the
JSON, the text report and the Perfetto trace, functional mode, the command line (run, lower,
an ONNX model with --functional) and the sweep's ``options.fusion``."""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from npusim.cli import main
from npusim.config import load_config
from npusim.engine import RunOptions
from npusim.frontend import load_workload
from npusim.models import residual_cnn
from npusim.report.perfetto import perfetto_trace
from npusim.report.text import format_workload
from npusim.runner import WorkloadReport, run_workload
from npusim.sweep import sweep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NPU1_PATH = str(ROOT / "configs/npu1.yaml")
NPU1 = load_config(NPU1_PATH)
WORKLOAD = HERE / "residual.yaml"


@pytest.fixture(scope="module")
def runs() -> tuple[WorkloadReport, WorkloadReport]:
    wl = load_workload(WORKLOAD)
    on = run_workload(NPU1, wl, RunOptions(record_intervals=True))
    off = run_workload(NPU1, wl, RunOptions(record_intervals=True, fusion=False))
    return on, off


def test_fused_is_no_slower_reads_less_ddr_and_dispatches_less(runs: tuple[WorkloadReport, WorkloadReport]) -> None:
    on, off = runs
    assert on.cycles <= off.cycles and on.ddr["bytes_accessed"] < off.ddr["bytes_accessed"]
    assert on.dispatches < off.dispatches == 7 and on.dispatch_seconds < off.dispatch_seconds
    groups = [g for g in on.groups if g is not None]
    assert groups and all(off.groups[i] is None for i in range(len(off.groups)))
    for entry, g in zip(on.layers, on.groups):
        if g is not None:  # each group measured no slower than its layers one by one
            assert entry.cycles <= g.unfused_cycles and g.on_chip_bytes > 0 and g.ddr_saved_bytes > 0
    assert sum(len(g.layers) if g else 1 for g in on.groups) == 7


def test_the_json_has_ddr_totals_dispatch_time_and_groups(runs: tuple[WorkloadReport, WorkloadReport]) -> None:
    on, off = runs
    d = json.loads(json.dumps(on.to_dict()))
    assert set(d["ddr"]) == {"bytes_read", "bytes_written", "bytes_accessed"}
    assert d["ddr"]["bytes_read"] == sum(r.ddr.bytes_read * c for r, c in zip(on.layers, on.counts))
    assert d["seconds"] == pytest.approx(d["array_seconds"] + d["dispatch_seconds"])
    assert d["dispatch_seconds"] == pytest.approx(on.dispatches * 159.5e-6 + on.reconfigurations * 3.4e-3)
    assert [g["layers"] for g in d["groups"]] == [list(g.layers) for g in on.groups if g is not None]
    assert [row["group"] is not None for row in d["layers"]] == [g is not None for g in on.groups]
    assert off.to_dict()["groups"] == [] and all(row["group"] is None for row in off.to_dict()["layers"])


def test_the_text_report_names_each_group_and_what_it_saved(runs: tuple[WorkloadReport, WorkloadReport]) -> None:
    on, off = runs
    text = format_workload(on)
    fused = [line for line in text.splitlines() if line.startswith("fused ")]
    groups = [g for g in on.groups if g is not None]
    assert len(fused) == len(groups)
    for line, g in zip(fused, groups):
        assert ", ".join(g.layers) in line and f"{g.on_chip_bytes:,} B kept on chip" in line
    assert "dispatch " in text and "% of" in text
    assert not [line for line in format_workload(off).splitlines() if line.startswith("fused ")]


def test_the_trace_shows_each_group_as_one_span_with_its_layers_inside(
        runs: tuple[WorkloadReport, WorkloadReport]) -> None:
    on, _ = runs
    events = perfetto_trace(on, NPU1)["traceEvents"]
    spans = [e for e in events if e.get("cat") == "fused group"]
    assert len(spans) == sum(g is not None for g in on.groups)
    layers = [e for e in events if e.get("cat") == "layer" and e.get("tid") == 1]
    for span, g in zip(spans, [g for g in on.groups if g is not None]):
        inside = [e for e in layers if span["ts"] <= e["ts"] and e["ts"] + e["dur"] <= span["ts"] + span["dur"] + 1e-6]
        assert [e["name"] for e in inside] == list(g.layers)


def test_fused_groups_run_in_functional_mode() -> None:
    wr = run_workload(NPU1, load_workload(WORKLOAD), RunOptions(functional=True, seed=3))
    assert any(g is not None for g in wr.groups)
    assert wr.functional_ok, [(r.program, r.max_abs_error) for r in wr.layers if not r.functional_ok]


@pytest.mark.slow
def test_run_and_lower_take_fusion_on_and_off(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", NPU1_PATH, "--workload", str(WORKLOAD), "--json"]) == 0
    on = json.loads(capsys.readouterr().out)
    assert main(["run", "--config", NPU1_PATH, "--workload", str(WORKLOAD), "--json", "--fusion", "off"]) == 0
    off = json.loads(capsys.readouterr().out)
    assert on["groups"] and not off["groups"] and on["cycles"] <= off["cycles"] and len(off["layers"]) == 7
    assert main(["lower", "--config", NPU1_PATH, "--onnx", str(_model(ROOT / "build")), "--fusion", "on"]) == 0
    assert "fused" in capsys.readouterr().out


def _model(where: Path) -> Path:
    where.mkdir(exist_ok=True)
    path = where / "residual_cnn_test.onnx"
    onnx.save(residual_cnn(size=8, channels=16), str(path))
    return path


@pytest.mark.parametrize("dtype", [[], ["--dtype", "int8"]], ids=["bf16", "int8"])
def test_an_onnx_residual_cnn_runs_fused_and_matches_numpy(tmp_path: Path, dtype: list[str],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    model = _model(tmp_path)
    assert main(["run", "--config", NPU1_PATH, "--onnx", str(model), "--functional", *dtype]) == 0
    out = capsys.readouterr().out
    assert "fused    #" in out and "check    functional: every layer matches numpy" in out, out


@pytest.mark.slow
def test_a_sweep_runs_each_point_whole_with_options_fusion() -> None:
    table = sweep(NPU1_PATH, str(WORKLOAD), points=[{"options.fusion": True}, {"options.fusion": False}], workers=1)
    fused = table[table["options.fusion"] == True]  # noqa: E712 - a column of booleans
    alone = table[table["options.fusion"] == False]  # noqa: E712
    assert len(alone) == 7 and 1 < len(fused) < 7 and (table["status"] == "ok").all()
    assert fused["layer"].str.contains(r"\+").any() and fused["cycles"].sum() <= alone["cycles"].sum()
