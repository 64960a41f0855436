"""The language-model validation table (validation/llm_cases.yaml, validation/llm.py): every case
cited with the machine it ran on; cases this build cannot simulate listed as pending with why;
run.py runs the table after the layer cases."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from npusim.frontend import Gemm  # noqa: E402
from validation.llm import LLM_TABLE, load_llm_table, pending, run_llm_cases  # noqa: E402
from validation.run import main  # noqa: E402


def test_every_case_names_its_source_machine_and_software() -> None:
    table = load_llm_table(LLM_TABLE)
    assert len(table.cases) >= 10 and len({c.id for c in table.cases}) == len(table.cases)
    for case in table.cases:
        assert case.source.url.startswith("https://") and case.source.where.strip(), case.id
        assert case.machine.strip() and case.software.strip(), case.id
        assert (ROOT / "configs" / f"{case.device}.yaml").exists(), case.id
        assert (ROOT / "workloads" / "llm" / f"{case.model}.json").exists(), case.id
    assert {c.metric for c in table.cases} == {"decode_tokens_per_s", "npu_power_w", "ttft_s"}


def test_int4_cases_wait_for_int4_gemms() -> None:
    table = load_llm_table(LLM_TABLE)
    int4 = [c for c in table.cases if c.weights == "int4"]
    assert int4
    if "b_dtype" in Gemm.model_fields:
        assert all(pending(c) == "" for c in int4)
    else:
        results = run_llm_cases(table, [int4[0].id])
        assert results[0].status == "pending" and results[0].simulated is None
        assert "int4" in results[0].why


def test_run_py_runs_the_language_model_cases_after_the_others(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # a made-up case on the tiny model and config (fast): run.py --only with its id runs the language-model
    # table alone and prints its row, the miss's explanation and the summary
    table = tmp_path / "llm.yaml"
    table.write_text("""tolerance_pct: 25
cases:
  - id: tiny-decode
    title: tiny model decode
    source: {citation: made up, url: https://example.org, where: nowhere}
    tag: MEAS
    machine: none
    software: none
    device: tiny
    clock_mhz: 1000
    model: tiny-llama
    weights: bf16
    metric: decode_tokens_per_s
    context: 64
    published: 1.0
    explanation: a made-up figure, far from any simulation
""")
    assert main(["--only", "tiny-decode", "--llm-table", str(table)]) == 0
    out = capsys.readouterr().out
    assert "tiny-decode" in out and "explained" in out and "a made-up figure" in out
    assert "1 language-model cases: 0 within +-25%, 1 outside with an explanation" in out
    assert "xdna-k-i8" not in out  # the layer table was not run
    table.write_text(table.read_text().replace("    explanation: a made-up figure, far from any simulation\n", ""))
    assert main(["--only", "tiny-decode", "--llm-table", str(table)]) == 1  # a miss without an explanation
