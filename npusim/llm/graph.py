"""The decoder graph of a phase: the layers a forward pass runs, in order, with how many times
each runs (decoder layers x K/V heads) and the operator group a report books it under.

A pass processes ``tokens`` new tokens at positions ``position ...`` against ``context`` keys
(the KV cache after the pass has appended its own). Per decoder layer:

- ``input_norm`` (RMSNorm), then the ``q_proj``, ``k_proj``, ``v_proj`` GEMMs (GEMVs when one
  token; Qwen2's biases fused into them); Qwen3's per-head ``q_norm`` / ``k_norm``;
- ``q_rope``, ``k_rope``; the new K and V rows are the projections' outputs, written to the KV
  cache in DDR (the conversion to ``--kv-dtype`` is folded into them, not run apart);
- attention per K/V head (grouped-query: the ``group`` query heads sharing a K/V head are one
  GEMM's rows): ``scores`` = Q K^T over the whole cache, ``softmax`` of all heads' scores
  (scaled by 1/sqrt(head_dim), causal: each row is given its count of keys, as a kernel is given
  the cache's valid length, which also keeps its cost smooth from one context to the next),
  ``context`` = P V;
- ``o_proj``, ``attn_residual`` (add), ``post_norm``, ``gate_proj`` and ``up_proj``, ``swiglu``
  (silu(gate) x up), ``down_proj``, ``mlp_residual``.

Around the layers: ``embed`` (a row gather: only the pass's tokens are read), and after the last
chunk ``final_norm`` and ``lm_head`` on the last token only (generation needs no other logits).
Prefill runs the prompt in chunks of ``prefill_chunk`` tokens, each attending to everything
before it (the causal mask skips no work inside a chunk but the chunks skip the keys after
them); decode runs one token per pass.

Types: weight GEMMs in ``--weights`` (int8: int8 operands; bf16: bf16; int4: group-quantised
weights, a bf16 scale per 128 along K, dequantised in the kernel: bf16 A with int4 B), attention GEMMs in
``--kv-dtype`` with the cache as their B operand, the vector operators in bf16.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from ..config import DType, Spec
from ..frontend import AnyLayer, Elementwise, Embedding, Gemm, RMSNorm, Rope, Softmax
from .model import ModelSpec

WeightType = Literal["int4", "int8", "bf16"]
KvType = Literal["int8", "bf16"]
GROUPS = ("embedding", "norms", "projections", "attention", "mlp", "residual", "lm_head")
"""The operator groups of the reports, in order."""
INT4_GROUP = 128
"""Weights sharing one scale in the int4 format (AWQ's usual group along K)."""


class LlmError(ValueError):
    """A language-model run cannot be set up as asked; the message says why and what to change."""


class LlmRun(Spec):
    """What to run: a prompt, generated tokens, the types, the prefill chunk and the contexts
    to report decode at (a sweepable workload: ``llm.<field>`` keys)."""

    prompt: int = Field(ge=1, description="Prompt tokens (prefill).")
    generate: int = Field(128, ge=0, description="Tokens generated one by one (decode steps).")
    weights: WeightType = Field("int8", description="Type of the weights of every GEMM.")
    kv_dtype: KvType = Field("bf16", description="Type of the KV cache in DDR (and of the attention GEMMs).")
    prefill_chunk: int = Field(1024, ge=1, description="Prompt tokens per prefill pass.")
    contexts: Annotated[tuple[Annotated[int, Field(ge=1)], ...], Field(strict=False)] = Field(
        (), description="Attention lengths to report one decode step at.")
    tolerance: float = Field(0.01, gt=0, le=0.5, description="Decode attention: the interpolation's bound, relative.")


@dataclass(frozen=True, slots=True)
class Step:
    """One operator of a pass: the layer simulated, the times it runs per pass, its group."""

    name: str
    group: str
    layer: AnyLayer
    count: int
    grows: bool = False
    """Its shape depends on the attention length (decode interpolates it over contexts)."""


def gemm_dtype(run: LlmRun) -> DType:
    """The operand type of the weight GEMMs (int4 weights meet bf16 activations)."""
    return "int8" if run.weights == "int8" else "bf16"


def weight_gemm(name: str, m: int, k: int, n: int, run: LlmRun, bias: bool = False) -> Gemm:
    """A projection: activations ``m x k`` times weights ``k x n`` in the run's weight type."""
    extra: dict[str, Any] = {"b_dtype": "int4", "group_size": INT4_GROUP} if run.weights == "int4" else {}
    return Gemm(name=name, m=m, k=k, n=n, dtype=gemm_dtype(run), bias=bias, **extra)


def kv_gemm(name: str, m: int, k: int, n: int, run: LlmRun, layout: str) -> Gemm:
    """An attention GEMM whose B operand is the KV cache, stored ``layout`` (K^T column-major,
    V row-major) when the frontend can say so."""
    extra: dict[str, Any] = {"b_layout": layout} if "b_layout" in Gemm.model_fields else {}
    return Gemm(name=name, m=m, k=k, n=n, dtype=run.kv_dtype, **extra)


def _attention(model: ModelSpec, run: LlmRun, tokens: int, context: int, position: int) -> list[Step]:
    layers, kv, heads, hd = model.num_hidden_layers, model.num_key_value_heads, model.num_attention_heads, model.head_dim
    steps = []
    if model.qk_norm:
        steps += [Step("q_norm", "norms", RMSNorm(name="q_norm", rows=tokens * heads, length=hd,
                                                  epsilon=model.rms_norm_eps, dtype="bf16"), layers),
                  Step("k_norm", "norms", RMSNorm(name="k_norm", rows=tokens * kv, length=hd,
                                                  epsilon=model.rms_norm_eps, dtype="bf16"), layers)]
    def rope(name: str, n: int) -> Rope:
        return Rope(name=name, rows=tokens * n, heads=n, length=hd, position=position, theta=model.rope_theta,
                    dtype="bf16")

    return steps + [
        Step("q_rope", "attention", rope("q_rope", heads), layers),
        Step("k_rope", "attention", rope("k_rope", kv), layers),
        Step("scores", "attention", kv_gemm("scores", model.group * tokens, hd, context, run, "col"), layers * kv, True),
        Step("softmax", "attention", Softmax(name="softmax", rows=heads * tokens, length=context, dtype="bf16",
                                             scale=model.softmax_scale, causal_queries=tokens), layers, True),
        Step("context", "attention", kv_gemm("context", model.group * tokens, context, hd, run, "row"),
             layers * kv, True),
    ]


def block(model: ModelSpec, run: LlmRun, tokens: int, context: int, position: int) -> list[Step]:
    """Every decoder layer once, for ``tokens`` tokens at ``position...`` against ``context`` keys."""
    layers, h, inter = model.num_hidden_layers, model.hidden_size, model.intermediate_size
    eps, bias = model.rms_norm_eps, model.attention_bias

    def norm(name: str) -> Step:
        return Step(name, "norms", RMSNorm(name=name, rows=tokens, length=h, epsilon=eps, dtype="bf16"), layers)

    def add(name: str) -> Step:
        return Step(name, "residual", Elementwise(name=name, kind="add", shape=(tokens, h), broadcast="same",
                                                  dtype="bf16"), layers)

    return [
        norm("input_norm"),
        Step("q_proj", "projections", weight_gemm("q_proj", tokens, h, model.q_dim, run, bias), layers),
        Step("k_proj", "projections", weight_gemm("k_proj", tokens, h, model.kv_dim, run, bias), layers),
        Step("v_proj", "projections", weight_gemm("v_proj", tokens, h, model.kv_dim, run, bias), layers),
        *_attention(model, run, tokens, context, position),
        Step("o_proj", "projections", weight_gemm("o_proj", tokens, model.q_dim, h, run), layers),
        add("attn_residual"),
        norm("post_norm"),
        Step("gate_proj", "mlp", weight_gemm("gate_proj", tokens, h, inter, run), layers),
        Step("up_proj", "mlp", weight_gemm("up_proj", tokens, h, inter, run), layers),
        Step("swiglu", "mlp", Elementwise(name="swiglu", kind="swiglu", shape=(tokens, inter), broadcast="same",
                                          dtype="bf16"), layers),
        Step("down_proj", "mlp", weight_gemm("down_proj", tokens, inter, h, run), layers),
        add("mlp_residual"),
    ]


def embed(model: ModelSpec, tokens: int, ids: tuple[int, ...] | None = None) -> Step:
    """The embedding lookup of ``tokens`` tokens: their rows of the table, nothing else."""
    return Step("embed", "embedding", Embedding(name="embed", rows=tokens, length=model.hidden_size,
                                                vocab=model.vocab_size, tokens=ids, dtype="bf16"), 1)


def head(model: ModelSpec, run: LlmRun) -> list[Step]:
    """The final norm and the LM head (a full GEMV over the vocabulary) of the last token."""
    return [Step("final_norm", "norms", RMSNorm(name="final_norm", rows=1, length=model.hidden_size,
                                                epsilon=model.rms_norm_eps, dtype="bf16"), 1),
            Step("lm_head", "lm_head", weight_gemm("lm_head", 1, model.hidden_size, model.vocab_size, run), 1)]


def chunks(run: LlmRun) -> list[tuple[int, int]]:
    """The prefill passes: (first position, tokens) of each chunk of the prompt."""
    return [(start, min(run.prefill_chunk, run.prompt - start)) for start in range(0, run.prompt, run.prefill_chunk)]


def prefill_steps(model: ModelSpec, run: LlmRun) -> list[Step]:
    """The prompt's passes, chunk by chunk, then the last token's head."""
    steps: list[Step] = []
    for start, tokens in chunks(run):
        steps += [embed(model, tokens), *block(model, run, tokens, start + tokens, start)]
    return steps + head(model, run)


def decode_steps(model: ModelSpec, run: LlmRun, context: int) -> list[Step]:
    """One generated token's pass: the token at position ``context - 1`` against ``context`` keys."""
    if context < 1:
        raise LlmError(f"a decode step attends to at least its own token: context {context} < 1")
    return [embed(model, 1), *block(model, run, 1, context, context - 1), *head(model, run)]
