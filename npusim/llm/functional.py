"""Functional mode of a language model: seeded random weights, real numbers through the
simulated kernels, greedy decoding.

Every layer of every pass (the same layers the timing graph costs, :mod:`.graph`) is lowered and
simulated with data: its operands are laid out in DDR as its program reads them, the DMAs move
the bytes, the kernels compute, and its output, read back from DDR, feeds the next layer. Each
layer's output is also checked against the frontend's numpy answer for that layer. The KV cache
is the K (after RoPE) and V rows of the passes so far. Greedy decoding: the prefill's last-token
logits give the first token, each decode step feeds the previous token back and gives the next.

Weights and the KV cache are bf16 (the types whose numbers need no quantisation scales the
config.json does not carry); other types are timing-only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import NPUConfig
from ..engine import run_functional
from ..frontend import AnyLayer, Conv2d, Gemm, MappingCache, lower, lower_vector
from ..frontend.data.matmul import compare, pack, unpack
from ..frontend.data.vector import compare_vector, pack_vector, side_operands, unpack_vector
from ..frontend.program.vector import tensor_bytes
from ..numerics import Array, bf16_to_f32, f32_to_bf16
from .graph import LlmError, LlmRun, block, chunks, embed, head
from .model import ModelSpec


def _bf16(rng: np.random.Generator, shape: tuple[int, ...], scale: float, offset: float = 0.0) -> Array:
    return f32_to_bf16(offset + scale * rng.standard_normal(shape, dtype=np.float32))


@dataclass
class Weights:
    """A model's weights in storage form (bf16 bit patterns; biases as float32 of bf16 values)."""

    embed: Array
    """``vocab x hidden``."""
    lm_head: Array
    """``hidden x vocab`` (the embedding transposed when tied)."""
    final_norm: Array
    layers: list[dict[str, Array]] = field(default_factory=list)
    """Per decoder layer: ``input_norm``, ``q_proj``, ``k_proj``, ``v_proj`` (``k x n``),
    ``q_bias`` ..., ``q_norm``, ``k_norm`` (Qwen3), ``o_proj``, ``post_norm``, ``gate_proj``,
    ``up_proj``, ``down_proj``."""


def random_weights(model: ModelSpec, seed: int) -> Weights:
    """Weights drawn from ``seed``: projections N(0, 1/fan_in), norms' gammas 1 + N(0, 0.1^2),
    the embedding N(0, 1), biases N(0, 0.1^2)."""
    rng = np.random.default_rng(seed)
    h, inter, q, kv = model.hidden_size, model.intermediate_size, model.q_dim, model.kv_dim
    emb = _bf16(rng, (model.vocab_size, h), 1.0)
    layers = []
    for _ in range(model.num_hidden_layers):
        w = {"input_norm": _bf16(rng, (h,), 0.1, 1.0), "q_proj": _bf16(rng, (h, q), h ** -0.5),
             "k_proj": _bf16(rng, (h, kv), h ** -0.5), "v_proj": _bf16(rng, (h, kv), h ** -0.5),
             "o_proj": _bf16(rng, (q, h), q ** -0.5), "post_norm": _bf16(rng, (h,), 0.1, 1.0),
             "gate_proj": _bf16(rng, (h, inter), h ** -0.5), "up_proj": _bf16(rng, (h, inter), h ** -0.5),
             "down_proj": _bf16(rng, (inter, h), inter ** -0.5)}
        if model.attention_bias:
            w.update({f"{p}_bias": bf16_to_f32(_bf16(rng, (n,), 0.1)) for p, n in (("q", q), ("k", kv), ("v", kv))})
        if model.qk_norm:
            w.update({"q_norm": _bf16(rng, (model.head_dim,), 0.1, 1.0), "k_norm": _bf16(rng, (model.head_dim,), 0.1, 1.0)})
        layers.append(w)
    lm = emb.T.copy() if model.tie_word_embeddings else _bf16(rng, (h, model.vocab_size), h ** -0.5)
    return Weights(emb, lm, _bf16(rng, (h,), 0.1, 1.0), layers)


class FunctionalRun:
    """Passes of ``model`` with data on ``config`` (see the module docstring)."""

    def __init__(self, config: NPUConfig, model: ModelSpec, run: LlmRun, seed: int) -> None:
        if run.weights != "bf16" or run.kv_dtype != "bf16":
            raise LlmError(f"functional mode runs bf16 weights and a bf16 KV cache (got weights {run.weights}, KV "
                           f"{run.kv_dtype}): other types need quantisation scales a config.json does not give; use "
                           "--weights bf16 --kv-dtype bf16, or drop --functional for timing")
        self.config, self.model, self.run = config, model, run
        self.weights = random_weights(model, seed)
        self.k: list[Array] = [np.zeros((0, model.num_key_value_heads, model.head_dim), np.uint16)
                               for _ in range(model.num_hidden_layers)]
        self.v = [c.copy() for c in self.k]
        self.checked, self.ok, self.max_abs_error = 0, True, 0.0
        self.mapping = MappingCache()  # layers of one shape mapped once

    def layer(self, layer: AnyLayer, operands: dict[str, Array]) -> Array:
        """Simulate ``layer`` on ``operands``; its output read back from DDR (and checked)."""
        if isinstance(layer, (Gemm, Conv2d)):
            low = lower(self.config, layer, cache=self.mapping)
            _, out = run_functional(self.config, low.program, pack(low.plan, operands, low.a_bytes), layout=low.layout)
            got = unpack(low.plan, out)
            ok, err, _ = compare(layer, operands, got)
        else:
            vlow = lower_vector(self.config, layer)
            operands = {**side_operands(layer), **operands}
            tensors = pack_vector(vlow.plan, operands, tensor_bytes(vlow.plan))
            _, out = run_functional(self.config, vlow.program, tensors, layout=vlow.layout)
            got = unpack_vector(vlow.plan, out)
            ok, err, _ = compare_vector(layer, operands, got)
        self.checked += 1
        self.ok = self.ok and ok
        self.max_abs_error = max(self.max_abs_error, err)
        return got

    def _attention(self, steps: dict[str, AnyLayer], q: Array, i: int, tokens: int) -> Array:
        m = self.model
        grp, hd, ctx = m.group, m.head_dim, self.k[i].shape[0]
        qh = q.reshape(tokens, m.num_attention_heads, hd)
        rows = []
        for g in range(m.num_key_value_heads):  # the group's heads' queries as one GEMM's rows
            a = qh[:, g * grp:(g + 1) * grp, :].transpose(1, 0, 2).reshape(grp * tokens, hd)
            rows.append(self.layer(steps["scores"], {"a": a, "b": self.k[i][:, g, :].T.copy()}))
        p = self.layer(steps["softmax"], {"x": np.concatenate(rows).reshape(-1, ctx)})
        out = [self.layer(steps["context"], {"a": p[g * grp * tokens:(g + 1) * grp * tokens],
                                             "b": self.v[i][:, g, :].copy()}) for g in range(m.num_key_value_heads)]
        heads = np.stack(out).reshape(m.num_attention_heads, tokens, hd)
        return heads.transpose(1, 0, 2).reshape(tokens, m.q_dim).copy()

    def _decoder_layer(self, steps: dict[str, AnyLayer], x: Array, i: int, tokens: int) -> Array:
        m, w = self.model, self.weights.layers[i]
        h = self.layer(steps["input_norm"], {"x": x, "gamma": w["input_norm"]})
        proj = {}
        for p in ("q", "k", "v"):
            bias = {"bias": w[f"{p}_bias"]} if m.attention_bias else {}
            proj[p] = self.layer(steps[f"{p}_proj"], {"a": h, "b": w[f"{p}_proj"], **bias})
        q = proj["q"].reshape(-1, m.head_dim)
        k = proj["k"].reshape(-1, m.head_dim)
        if m.qk_norm:
            q = self.layer(steps["q_norm"], {"x": q, "gamma": w["q_norm"]})
            k = self.layer(steps["k_norm"], {"x": k, "gamma": w["k_norm"]})
        q = self.layer(steps["q_rope"], {"x": q})
        k = self.layer(steps["k_rope"], {"x": k})
        self.k[i] = np.concatenate([self.k[i], k.reshape(tokens, m.num_key_value_heads, m.head_dim)])
        self.v[i] = np.concatenate([self.v[i], proj["v"].reshape(tokens, m.num_key_value_heads, m.head_dim)])
        o = self.layer(steps["o_proj"], {"a": self._attention(steps, q, i, tokens), "b": w["o_proj"]})
        x = self.layer(steps["attn_residual"], {"x": x, "y": o})
        h = self.layer(steps["post_norm"], {"x": x, "gamma": w["post_norm"]})
        gate = self.layer(steps["gate_proj"], {"a": h, "b": w["gate_proj"]})
        up = self.layer(steps["up_proj"], {"a": h, "b": w["up_proj"]})
        act = self.layer(steps["swiglu"], {"x": gate, "y": up})
        d = self.layer(steps["down_proj"], {"a": act, "b": w["down_proj"]})
        return self.layer(steps["mlp_residual"], {"x": x, "y": d})

    def forward(self, ids: tuple[int, ...], position: int, last: bool) -> Array | None:
        """One pass over ``ids`` at ``position...``; the last token's logits (float32) if ``last``."""
        tokens = len(ids)
        steps = {s.name: s.layer for s in block(self.model, self.run, tokens, position + tokens, position)}
        x = self.layer(embed(self.model, tokens, ids).layer, {"x": self.weights.embed})
        for i in range(self.model.num_hidden_layers):
            x = self._decoder_layer(steps, x, i, tokens)
        if not last:
            return None
        hd = {s.name: s.layer for s in head(self.model, self.run)}
        n = self.layer(hd["final_norm"], {"x": x[-1:], "gamma": self.weights.final_norm})
        logits: Array = bf16_to_f32(self.layer(hd["lm_head"], {"a": n, "b": self.weights.lm_head}))[0]
        return logits


def generate(config: NPUConfig, model: ModelSpec, run: LlmRun, prompt: tuple[int, ...],
             seed: int) -> tuple[list[int], list[Array], FunctionalRun]:
    """Greedy decoding of ``run.generate`` steps after the prefill of ``prompt``: the tokens (the
    prefill's, then one per decode step), the logits each came from, and the run (its checks)."""
    f = FunctionalRun(config, model, run, seed)
    logits = []
    for n, (start, tokens) in enumerate(chunks(run)):
        out = f.forward(prompt[start:start + tokens], start, n == len(chunks(run)) - 1)
        if out is not None:
            logits.append(out)
    tokens_out = [int(np.argmax(logits[-1]))]
    for step in range(run.generate):
        logits.append(_checked(f.forward((tokens_out[-1],), run.prompt + step, True)))
        tokens_out.append(int(np.argmax(logits[-1])))
    return tokens_out, logits, f


def _checked(logits: Array | None) -> Array:
    assert logits is not None
    return logits


def random_prompt(model: ModelSpec, run: LlmRun, seed: int) -> tuple[int, ...]:
    """``run.prompt`` token ids drawn from ``seed``."""
    return tuple(int(t) for t in np.random.default_rng(seed + 1).integers(0, model.vocab_size, run.prompt))


def functional_summary(tokens: list[int], f: FunctionalRun) -> dict[str, Any]:
    """What the report says of a functional run."""
    return {"tokens": tokens, "ok": f.ok, "layers_checked": f.checked, "max_abs_error": f.max_abs_error}
