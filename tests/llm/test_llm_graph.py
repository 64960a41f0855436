"""The decoder graph of a phase (issue 16): what a prefill chunk and a decode step run, their
shapes, counts, types and groups."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from npusim import load_config
from npusim.cli import main
from npusim.frontend import Embedding, Gemm, RMSNorm, Rope, Softmax
from npusim.llm import GROUPS, LlmError, LlmRun, decode_steps, load_model, model_from_dict, prefill_steps
from npusim.llm.graph import chunks
from npusim.runner import RunOptions, run_layer

ROOT = Path(__file__).resolve().parents[2]
LLAMA = load_model(ROOT / "workloads/llm/llama-3.2-1b.json")


def by_name(steps: list) -> dict:  # type: ignore[type-arg]
    return {s.name: s for s in steps}


def test_a_decode_step_is_gemvs_over_the_weights_and_attention_over_the_whole_cache() -> None:
    run = LlmRun(prompt=512, weights="int8", kv_dtype="bf16")
    s = by_name(decode_steps(LLAMA, run, 700))
    for name, (k, n) in {"q_proj": (2048, 2048), "k_proj": (2048, 512), "v_proj": (2048, 512), "o_proj": (2048, 2048),
                         "gate_proj": (2048, 8192), "up_proj": (2048, 8192), "down_proj": (8192, 2048),
                         "lm_head": (2048, 128256)}.items():
        g = s[name].layer
        assert isinstance(g, Gemm) and (g.m, g.k, g.n, g.dtype) == (1, k, n, "int8"), name
    scores, context = s["scores"].layer, s["context"].layer
    assert isinstance(scores, Gemm) and (scores.m, scores.k, scores.n, scores.dtype) == (4, 64, 700, "bf16")
    assert isinstance(context, Gemm) and (context.m, context.k, context.n) == (4, 700, 64)
    assert s["scores"].count == s["context"].count == 16 * 8  # per layer and K/V head (GQA: 4 query heads each)
    soft = s["softmax"].layer
    assert isinstance(soft, Softmax) and (soft.rows, soft.length, soft.causal_queries) == (32, 700, 1)
    assert soft.keys() == (700,) * 32  # every key of the cache, its count given to the kernel
    assert soft.scale == pytest.approx(1 / 8)
    assert {n for n, st in s.items() if st.grows} == {"scores", "softmax", "context"}
    emb = s["embed"].layer
    assert isinstance(emb, Embedding) and (emb.rows, emb.vocab) == (1, 128256)  # one row read, not the table
    q_rope = s["q_rope"].layer
    assert isinstance(q_rope, Rope) and q_rope.position == 699 and q_rope.rows == 32
    assert [st.count for st in s.values() if st.group == "lm_head"] == [1]
    assert {st.group for st in s.values()} == set(GROUPS)


def test_prefill_runs_the_prompt_in_chunks_each_attending_to_what_came_before() -> None:
    run = LlmRun(prompt=2500, prefill_chunk=1024)
    assert chunks(run) == [(0, 1024), (1024, 1024), (2048, 452)]
    steps = prefill_steps(LLAMA, run)
    softmaxes = [st.layer for st in steps if st.name == "softmax"]
    assert [(sm.rows, sm.length, sm.causal_queries) for sm in softmaxes] == [  # type: ignore[union-attr]
        (32 * 1024, 1024, 1024), (32 * 1024, 2048, 1024), (32 * 452, 2500, 452)]
    scores = [st.layer for st in steps if st.name == "scores"]
    assert [(g.m, g.n) for g in scores] == [(4 * 1024, 1024), (4 * 1024, 2048), (4 * 452, 2500)]  # type: ignore[union-attr]
    lm = [st.layer for st in steps if st.name == "lm_head"]
    assert len(lm) == 1 and lm[0].m == 1  # type: ignore[union-attr] # only the last token's logits
    norms = [st.layer for st in steps if st.name == "final_norm"]
    assert len(norms) == 1 and isinstance(norms[0], RMSNorm) and norms[0].rows == 1


def test_qwen_variants_add_biases_or_head_norms() -> None:
    base = json.loads((ROOT / "workloads/llm/tiny-llama.json").read_text())
    qwen2 = model_from_dict(dict(base, model_type="qwen2"), Path("q2.json"))
    s = by_name(decode_steps(qwen2, LlmRun(prompt=4), 5))
    assert all(s[p].layer.bias for p in ("q_proj", "k_proj", "v_proj")) and not s["o_proj"].layer.bias  # type: ignore[union-attr]
    qwen3 = model_from_dict(dict(base, model_type="qwen3"), Path("q3.json"))
    s = by_name(decode_steps(qwen3, LlmRun(prompt=4), 5))
    assert s["q_norm"].layer.rows == 4 and s["k_norm"].layer.rows == 2 and s["q_norm"].group == "norms"  # type: ignore[union-attr]


def test_types_follow_the_weights_and_the_kv_cache() -> None:
    s = by_name(decode_steps(LLAMA, LlmRun(prompt=8, weights="bf16", kv_dtype="int8"), 9))
    assert s["q_proj"].layer.dtype == "bf16" and s["scores"].layer.dtype == "int8" and s["context"].layer.dtype == "int8"
    assert s["softmax"].layer.dtype == "bf16" and s["input_norm"].layer.dtype == "bf16"


def test_int4_weights_are_bf16_gemms_with_int4_b_in_groups_of_128() -> None:
    s = by_name(decode_steps(LLAMA, LlmRun(prompt=8, weights="int4"), 9))
    for name in ("q_proj", "o_proj", "lm_head"):
        layer = s[name].layer
        assert isinstance(layer, Gemm) and (layer.dtype, layer.b_dtype, layer.group_size) == ("bf16", "int4", 128)
    assert getattr(s["scores"].layer, "b_dtype") is None  # the KV cache stays in its own type


def test_a_decode_step_attends_to_its_own_token_at_least() -> None:
    with pytest.raises(LlmError, match="context 0 < 1"):
        decode_steps(LLAMA, LlmRun(prompt=8), 0)


def test_int4_weight_gemvs_read_a_quarter_of_bf16_and_compute_what_numpy_computes() -> None:
    npu2 = load_config(ROOT / "configs/npu2.yaml")
    steps = {w: by_name(decode_steps(LLAMA, LlmRun(prompt=8, weights=w), 9))["q_proj"].layer for w in ("int4", "bf16")}
    reports = {w: run_layer(npu2, layer) for w, layer in steps.items()}
    k, n = 2048, 2048  # Llama 3.2 1B's q_proj: hidden x hidden
    int4_b = k * n // 2 + k // 128 * n * 2  # nibbles and a bf16 scale per 128 weights
    assert reports["int4"].ddr.bytes_read < 0.3 * reports["bf16"].ddr.bytes_read
    assert int4_b < reports["int4"].ddr.bytes_read < 1.05 * int4_b  # B, and A (a few padded rows of k bf16)
    assert reports["int4"].cycles < 0.5 * reports["bf16"].cycles  # a decode GEMV is DDR-bound
    small = steps["int4"].model_copy(update={"k": 256, "n": 128})
    assert run_layer(npu2, small, RunOptions(functional=True)).functional_ok is True


def test_npusim_llm_runs_int4_weights_and_refuses_them_where_no_kernel_has_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    tiny = str(ROOT / "workloads/llm/tiny-llama.json")
    assert main(["llm", "--config", str(ROOT / "configs/npu2.yaml"), "--model", tiny, "--prompt", "4", "--generate",
                 "1", "--weights", "int4", "--json"]) == 0
    assert main(["llm", "--config", str(ROOT / "configs/npu1.yaml"), "--model", tiny, "--prompt", "4", "--generate",
                 "1", "--weights", "int4"]) == 2
    assert "kernel 'tuned' has no bf16xint4 variant" in capsys.readouterr().err
