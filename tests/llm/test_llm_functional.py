"""Functional mode of a language model (issue 16): a tiny model (2 layers, hidden 64) with seeded
random weights runs its real numbers through the simulated kernels; its logits match an
independent numpy implementation (tests/llm/llm_reference.py, no npusim code) within the bf16
tolerance, and greedy decoding gives the same tokens."""
from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llm_reference import Decoder
from npusim import NPUConfig, load_config
from npusim.llm import LlmError, LlmRun, ModelSpec, load_model, model_from_dict
from npusim.llm.functional import FunctionalRun, generate, random_prompt

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "workloads/llm/tiny-llama.json"
TOLERANCE = 2.0 ** -5
"""Of the largest logit: bf16 keeps 8 significant bits (2^-8 relative per rounding), and a
logit's path rounds to bf16 at every layer boundary (norm, projections, rope, scores, softmax,
context, residuals, MLP: about a dozen times over two layers, partly cancelling). Observed:
0.3-1.0%."""


@lru_cache(maxsize=None)
def config(name: str) -> NPUConfig:
    return load_config(ROOT / f"configs/{name}.yaml")


def variant(**fields: Any) -> ModelSpec:
    return model_from_dict(dict(json.loads(TINY.read_text()), **fields), TINY)


def reference(model: ModelSpec, f: FunctionalRun) -> Decoder:
    return Decoder({"heads": model.num_attention_heads, "kv": model.num_key_value_heads, "hd": model.head_dim,
                    "eps": model.rms_norm_eps, "theta": model.rope_theta}, f.weights)


@pytest.mark.parametrize("model, seed", [
    (load_model(TINY), 0), (load_model(TINY), 1),
    (variant(model_type="qwen2"), 2),  # biases on Q, K, V
    (variant(model_type="qwen3"), 3),  # RMSNorm on each query and key head
    (variant(tie_word_embeddings=True), 4),
], ids=["llama-0", "llama-1", "qwen2", "qwen3", "tied"])
def test_functional_logits_and_greedy_tokens_match_numpy(model: ModelSpec, seed: int) -> None:
    run = LlmRun(prompt=6, generate=4, weights="bf16", prefill_chunk=4)  # two prefill chunks against one pass
    prompt = random_prompt(model, run, seed)
    tokens, logits, f = generate(config("tiny"), model, run, prompt, seed)
    want_tokens, want_logits = reference(model, f).greedy(list(prompt), run.generate)
    assert f.ok and f.checked > 100  # every layer of every pass matched the frontend's numpy answer
    for got, want in zip(logits, want_logits):
        assert np.abs(got - want).max() <= TOLERANCE * np.abs(want).max()
    assert tokens == want_tokens


def test_functional_runs_on_the_full_size_array_too() -> None:
    model = load_model(TINY)
    run = LlmRun(prompt=3, generate=1, weights="bf16")
    tokens, logits, f = generate(config("npu2"), model, run, random_prompt(model, run, 7), 7)
    want_tokens, want_logits = reference(model, f).greedy(list(random_prompt(model, run, 7)), 1)
    assert f.ok and tokens == want_tokens
    assert np.abs(logits[-1] - want_logits[-1]).max() <= TOLERANCE * np.abs(want_logits[-1]).max()


def test_a_wrong_layer_output_is_caught() -> None:
    # a deliberate bug: the KV cache's first value row is lost (zeroed) before the decode step; the logits move
    model = load_model(TINY)
    run = LlmRun(prompt=5, generate=2, weights="bf16")
    prompt = random_prompt(model, run, 0)
    tokens, logits, f = generate(config("tiny"), model, run, prompt, 0)
    broken = FunctionalRun(config("tiny"), model, run, 0)
    out = broken.forward(prompt, 0, True)
    for v in broken.v:
        v[0] = 0
    step = broken.forward((tokens[0],), run.prompt, True)
    assert out is not None and step is not None and np.array_equal(out, logits[0])
    assert not np.allclose(step, logits[1], atol=TOLERANCE * np.abs(logits[1]).max())


def test_functional_mode_wants_bf16_weights_and_cache() -> None:
    with pytest.raises(LlmError, match="functional mode runs bf16 weights and a bf16 KV cache"):
        FunctionalRun(config("tiny"), load_model(TINY), LlmRun(prompt=2, weights="int8"), 0)


def test_npusim_llm_functional_prints_the_tokens_and_the_check() -> None:
    out = subprocess.run([sys.executable, "-m", "npusim.cli", "llm", "--config", "configs/tiny.yaml", "--model",
                          str(TINY), "--prompt", "6", "--generate", "3", "--weights", "bf16", "--functional",
                          "--seed", "1", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    f = report["functional"]
    assert f["ok"] and len(f["tokens"]) == 4 and f["layers_checked"] > 100
    model = load_model(TINY)
    run = LlmRun(prompt=6, generate=3, weights="bf16")
    want, _ = Decoder({"heads": 4, "kv": 2, "hd": 16, "eps": model.rms_norm_eps, "theta": model.rope_theta},
                      FunctionalRun(config("tiny"), model, run, 1).weights).greedy(list(random_prompt(model, run, 1)), 3)
    assert f["tokens"] == want
