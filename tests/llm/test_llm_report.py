"""The report of a language-model run (issue 16): its keys, how its figures add up, the text
tables, the command line's errors, the decode-against-context figure and the sweep of llm keys."""
from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from npusim import load_config
from npusim.cli import main
from npusim.llm import GROUPS, LlmReport, LlmRun, format_llm, load_model, run_llm
from npusim.llm.plot import context_figure

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "workloads/llm/tiny-llama.json"
KEYS = {"ttft_s", "prefill_tokens_per_s", "decode_tokens_per_s", "energy_per_token_j", "npu_power_w",
        "average_power_w", "dram_energy_j", "dram_energy_per_token_j", "ddr_bytes_per_token", "prefill", "decode",
        "operators", "contexts", "reuse"}


@lru_cache(maxsize=None)
def report() -> LlmReport:
    return run_llm(load_config(ROOT / "configs/tiny.yaml"), load_model(TINY),
                   LlmRun(prompt=16, generate=8, weights="bf16", contexts=(8, 64, 512)))


def test_the_report_has_every_key_and_they_add_up() -> None:
    r = report()
    d = r.to_dict()
    assert KEYS <= set(d)
    dec = r.decode_total
    assert d["decode_tokens_per_s"] == pytest.approx(8 / dec.seconds)
    assert d["energy_per_token_j"] == pytest.approx(dec.energy_j / 8)
    assert d["npu_power_w"] == pytest.approx((dec.energy_j - dec.energy_by_component["ddr"]) / dec.seconds)
    assert d["average_power_w"] > d["npu_power_w"] > 0
    assert d["ddr_bytes_per_token"] == pytest.approx(dec.ddr_bytes / 8)
    assert d["ttft_s"] == pytest.approx(r.prefill_total.seconds) and d["prefill_tokens_per_s"] == pytest.approx(
        16 / d["ttft_s"])
    for phase in ("prefill", "decode_per_token"):
        rows = d["operators"][phase]
        assert [row["operator"] for row in rows] == list(GROUPS)
        assert sum(row["time_share"] for row in rows) == pytest.approx(1.0)
        assert sum(row["energy_share"] for row in rows) == pytest.approx(1.0)
    per_token = sum(row["seconds"] for row in d["operators"]["decode_per_token"])
    assert per_token == pytest.approx(dec.seconds / 8)
    assert d["decode"]["first_token_s"] <= d["decode"]["last_token_s"]
    u = d["reuse"]
    assert u["simulated"] + u["reused"] + u["interpolated"] == u["layer_runs"]
    json.dumps(d)  # JSON-ready


def test_decode_slows_down_as_the_context_grows() -> None:
    points = report().to_dict()["contexts"]
    assert [p["context"] for p in points] == [8, 64, 512]
    speeds = [p["decode_tokens_per_s"] for p in points]
    assert speeds[0] > speeds[1] > speeds[2]
    traffic = [p["ddr_bytes_per_token"] for p in points]
    assert traffic[0] < traffic[1] < traffic[2]  # the KV cache read grows


def test_the_text_report_has_the_same_as_tables() -> None:
    text = format_llm(report())
    lines = text.splitlines()
    assert lines[0].startswith("llm      tiny-llama (") and "prompt 16, 8 generated, weights bf16, KV cache bf16" in lines[0]
    assert lines[1].startswith("prefill  ttft ") and "tokens/s" in lines[1] and "NPU power" in lines[1]
    assert lines[2].startswith("decode   ") and "over contexts 17..24" in lines[2] and "MB of DDR traffic per token" in lines[2]
    for title in ("prefill by operator", "decode by operator (per token", "decode against context"):
        assert any(line.startswith(title) for line in lines), title
    assert "operator     layer runs" in text and "ms/token  energy/token  NPU W  DRAM/token  DDR MB" in text
    assert any(line.startswith("reuse    ") and "simulated" in line and "interpolated" in line for line in lines)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "npusim.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_a_model_without_hidden_size_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.json"
    data = json.loads(TINY.read_text())
    del data["hidden_size"]
    bad.write_text(json.dumps(data))
    out = cli("llm", "--config", "configs/tiny.yaml", "--model", str(bad), "--prompt", "4")
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: {bad}: hidden_size: required field is missing")


@pytest.mark.parametrize("args, message", [
    (["--contexts", "1024,x"], "--contexts '1024,x': expected attention lengths >= 1"),
    (["--prefill-chunk", "0"], "--prefill-chunk 0: Input should be greater than or equal to 1"),
    (["--set", "columns=0"], "columns"),
])
def test_bad_flags_exit_2_naming_the_flag(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["llm", "--config", "configs/tiny.yaml", "--model", str(TINY), "--prompt", "4", *args]) == 2
    assert message in capsys.readouterr().err


def test_npusim_plot_context_draws_decode_against_context(tmp_path: Path) -> None:
    out = tmp_path / "ctx.png"
    proc = cli("plot", "context", "--config", "configs/tiny.yaml", "--model", str(TINY), "--contexts", "16,64,256",
               "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000 and "decode against context of tiny-llama" in proc.stdout
    fig = context_figure(report())
    ax = fig.axes[0]
    assert [round(x) for x in ax.get_lines()[0].get_xdata()] == [8, 64, 512]  # type: ignore[union-attr]
    assert main(["plot", "context", "--config", "configs/tiny.yaml", "-o", str(out)]) == 2


def test_a_sweep_of_llm_keys_gives_a_row_per_point_and_context(tmp_path: Path) -> None:
    from npusim import sweep

    table = sweep(ROOT / "configs/tiny.yaml", {"llm": str(TINY), "prompt": 8, "generate": 2, "contexts": [32]},
                  {"llm.weights": ["int8", "bf16"], "llm.kv_dtype": ["bf16", "int8"], "columns": [2]}, workers=1)
    assert len(table) == 8 and set(table["status"]) == {"ok"}
    main_rows = table[table["layer"] == "prefill+decode"]
    assert list(zip(main_rows["llm.weights"], main_rows["llm.kv_dtype"])) == [
        ("int8", "bf16"), ("int8", "int8"), ("bf16", "bf16"), ("bf16", "int8")]
    assert (main_rows["weights"] == main_rows["llm.weights"]).all() and main_rows["ttft_s"].gt(0).all()
    ctx = table[table["layer"] == "context 32"]
    assert len(ctx) == 4 and ctx["decode_tokens_per_s"].gt(0).all()
    # int8 weights move half the bytes of bf16 ones
    by = main_rows.set_index(["llm.weights", "llm.kv_dtype"])["ddr_bytes_per_token"]
    assert by[("int8", "bf16")] < by[("bf16", "bf16")]


def test_sweep_errors_for_llm_keys(tmp_path: Path) -> None:
    from npusim.sweep import SweepError, define

    with pytest.raises(SweepError, match="swept key 'llm.weights': llm.\\* keys set a language model's run"):
        define(ROOT / "configs/tiny.yaml", {"op": "gemm", "m": 8, "k": 8, "n": 8}, {"llm.weights": ["int8"]})
    with pytest.raises(SweepError, match="swept key 'llm.tokens': not a field of a language-model run"):
        define(ROOT / "configs/tiny.yaml", {"llm": str(TINY)}, {"llm.tokens": [1]})
    with pytest.raises(SweepError, match="an llm entry takes llm, name and the run's fields"):
        define(ROOT / "configs/tiny.yaml", {"llm": str(TINY), "promt": 8})
    spec = define(ROOT / "configs/tiny.yaml", {"llm": str(TINY)}, {"llm.prompt": [8, 4096]})
    assert [p.llm_run().prompt for p in spec.points()] == [8, 4096]
