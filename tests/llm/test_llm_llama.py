"""Llama 3.2 1B on npu2 with prompts of 512 and 2048 tokens (issue 16, what must be shown, at a
context the suite can afford; docs/llm.md gives 8192): every report key, decode slower at the
longer context, prefill faster per token than decode."""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim import load_config
from npusim.llm import LlmRun, TimingCache, load_model, run_llm

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("ttft_s", "prefill_tokens_per_s", "decode_tokens_per_s", "energy_per_token_j", "npu_power_w",
        "average_power_w", "dram_energy_j", "dram_energy_per_token_j", "ddr_bytes_per_token")


@pytest.mark.slow
def test_llama_3_2_1b_on_npu2_at_512_and_2048() -> None:
    config = load_config(ROOT / "configs/npu2.yaml")
    model = load_model(ROOT / "workloads/llm/llama-3.2-1b.json")
    cache = TimingCache(config)  # the weight GEMVs are simulated once for both
    runs = {p: run_llm(config, model, LlmRun(prompt=p, generate=8), cache=cache).to_dict() for p in (512, 2048)}
    for prompt, d in runs.items():
        assert all(isinstance(d[k], float) and d[k] > 0 for k in KEYS), prompt
        assert d["ttft_s"] / prompt < 1 / d["decode_tokens_per_s"], prompt  # prefill faster per token than decode
        for phase in ("prefill", "decode_per_token"):
            groups = {row["operator"] for row in d["operators"][phase]}
            assert {"projections", "attention", "mlp", "norms", "lm_head"} <= groups
        assert d["npu_power_w"] < d["average_power_w"]  # DRAM excluded
    assert runs[2048]["decode_tokens_per_s"] < runs[512]["decode_tokens_per_s"]
    assert runs[2048]["ddr_bytes_per_token"] > runs[512]["ddr_bytes_per_token"]  # the KV cache read
    # weights dominate the traffic at 512: int8, about the model's size per token
    assert 1.2e9 < runs[512]["ddr_bytes_per_token"] < 1.6e9
