"""`npusim lower` and `npusim run --gemm/--conv2d/--workload`: traces, reports, JSON and errors."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from npusim.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "configs/tiny.yaml")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_lowered_trace_runs_in_the_same_cycles_as_the_layer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "traces" / "gemm.json"
    code, out, _ = run(capsys, "lower", "--config", TINY, "--gemm", "96x64x80", "--dtype", "bf16", "-o", str(trace),
                       "--explain")
    assert code == 0 and out.startswith("layer      gemm_96x64x80: gemm 96x64x80 bf16->bf16")
    assert f"trace    {trace}: 6 tiles" in out
    code, out, _ = run(capsys, "run", "--config", TINY, "--trace", str(trace), "--json")
    from_trace = json.loads(out)
    code, out, _ = run(capsys, "run", "--config", TINY, "--gemm", "96x64x80", "--dtype", "bf16", "--json",
                       "--functional")
    from_layer = json.loads(out)
    assert code == 0 and from_trace["cycles"] == from_layer["cycles"]
    assert from_layer["functional_ok"] is True and from_layer["max_abs_error"] >= 0
    assert from_layer["ops"] == 2 * 96 * 64 * 80 and from_layer["peak_tops"] == 2 * 4 * 128 * 1e9 / 1e12
    assert from_layer["achieved_tops"] == pytest.approx(from_layer["ops"] / from_layer["seconds"] / 1e12)
    # a trace knows no layer: its ops are every MAC computed, padding included
    padded = from_layer["lowering"]["padded"]
    assert from_trace["functional_ok"] is None and from_trace["ops"] == 2 * padded["m"] * padded["k"] * padded["n"]


def test_conv2d_run_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "--config", TINY, "--conv2d", "1,5,9,9,8,3,3,2,1", "--dtype", "int8",
                       "--out-dtype", "int8", "--shift", "6", "--functional")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "program  conv2d_5x9x9_8_3x3"
    assert any(ln.startswith("ops      18,000 -> ") for ln in lines)  # 2 x 5x5 pixels x 8 x 5 x 3 x 3
    assert any(ln.startswith("lowering conv2d 1x5x9x9 -> 8, 3x3/2 pad 1 int8->int8: tiles m=") for ln in lines)
    assert lines[-2].startswith("check    functional: output matches numpy (max abs error 0)")
    assert re.fullmatch(r"run      \d+\.\d\d s wall, [\d,]+ hardware events \([\d,]+ engine events\), [\d,]+ cycles/s",
                        lines[-1])


def test_workload_json_has_layers_and_totals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "--config", TINY, "--workload", str(ROOT / "workloads/small_gemms.yaml"),
                       "--json", "--functional")
    data = json.loads(out)
    assert code == 0 and data["workload"] == "small_gemms" and len(data["layers"]) == 6
    assert data["cycles"] == sum(ly["cycles"] * ly["count"] for ly in data["layers"])
    assert data["ops"] == sum(ly["ops"] for ly in data["layers"])
    assert data["functional_ok"] is True and all(ly["functional_ok"] for ly in data["layers"])
    assert {"achieved_tops", "peak_tops", "max_abs_error", "engine_events", "hardware_events",
            "wall_seconds"} <= set(data)
    assert data["layers"][0]["lowering"]["tiles"].keys() == {"m", "k", "n"}


def test_workload_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "--config", TINY, "--workload", str(ROOT / "workloads/small_gemms.yaml"))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "workload small_gemms on tiny (test array)"
    assert lines[2].split() == ["#", "layer", "shape", "tiles", "count", "cycles", "time", "us", "TOPS", "bound"]
    assert lines[4].split()[:2] == ["0", "gemm_64"] and len(lines) == 4 + 6 + 7 + 6
    assert lines[11].startswith("total    ") and "over 6 layer runs" in lines[11]
    assert lines[12].startswith("dispatch 6 dispatches, 6 reconfigurations: ") and lines[13].startswith("ddr      read ")
    assert lines[14].startswith("energy   ") and lines[15].startswith("power    average ")
    assert lines[16].startswith("run      ")
    assert lines[18].startswith("time by operator type") and lines[21].split()[0] == "matmul"  # the summary
    assert lines[-1].split()[:3] == ["data", "movement", "-"] and lines[-1].endswith("%")


@pytest.mark.parametrize("args, message", [
    (["--gemm", "5x5"], "error: --gemm '5x5': expected 3 integers separated by 'x', e.g. 1024x1024x1024"),
    (["--gemm", "0x5x5"], "error: --gemm: m: Input should be greater than or equal to 1, got 0"),
    (["--conv2d", "1,3,2,2,8,3,3,1,0"], "error: --conv2d: <top level>: a 3x3 kernel does not fit a 2x2 input"),
    (["--gemm", "8x8x8", "--tiles", "8,8"], "error: --tiles '8,8': expected 3 integers separated by ','"),
    (["--gemm", "8x8x8", "--trace", "x.json"], "error: npusim run: give exactly one of --trace, --workload, "
                                                "--onnx, --gemm, --conv2d or --mlir (got --trace, --gemm)"),
    (["--trace", str(ROOT / "traces/passthrough.json"), "--functional"], "error: --functional needs a layer"),
    (["--workload", "nope.yaml"], "error: nope.yaml: cannot read workload file"),
    (["--gemm", "64x64x64", "--set", "compute_tile.data_mem_kib=1"],
     "error: layer 'gemm_64x64x64' (gemm 64x64x64 int8->int8): no design fits."),
])
def test_bad_layer_arguments_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, "run", "--config", TINY, *args)
    assert code == 2 and err.startswith(message)
