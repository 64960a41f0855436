"""An independent numpy implementation of a Llama-style decoder (float64, no npusim code), to
check functional mode's logits and greedy tokens against.

Written from the architecture's definition: RMSNorm ``x / sqrt(mean(x^2) + eps) * g``; rotary
embedding as a complex rotation of the pairs ``(x_i, x_{i + d/2})`` by ``pos * theta^(-2i/d)``;
grouped-query attention (query head ``h`` reads K/V head ``h // group``) with a causal mask over
the whole sequence; SiLU-gated MLP; logits of the last position. The prompt is processed in one
pass (the simulator's chunks must not change the answer).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def as_float(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) as float64."""
    return (np.asarray(bits).astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def rmsnorm(x: np.ndarray, g: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * g


def rotate(x: np.ndarray, positions: np.ndarray, theta: float) -> np.ndarray:
    """``x``: (tokens, heads, d); each token's heads rotated by its position's angles."""
    d = x.shape[-1]
    angle = positions[:, None] * theta ** (-np.arange(d // 2) * 2.0 / d)[None, :]
    z = (x[..., :d // 2] + 1j * x[..., d // 2:]) * np.exp(1j * angle)[:, None, :]
    return np.concatenate([z.real, z.imag], axis=-1)


class Decoder:
    """The model with its weights (storage form, as npusim.llm.functional.random_weights gives them)."""

    def __init__(self, cfg: dict[str, Any], weights: Any) -> None:
        self.c = cfg
        self.w = weights
        self.k: list[np.ndarray] = [np.zeros((0, cfg["kv"], cfg["hd"])) for _ in weights.layers]
        self.v: list[np.ndarray] = [np.zeros((0, cfg["kv"], cfg["hd"])) for _ in weights.layers]

    def _layer(self, x: np.ndarray, i: int, positions: np.ndarray) -> np.ndarray:
        c, w = self.c, self.w.layers[i]
        t = x.shape[0]
        h = rmsnorm(x, as_float(w["input_norm"]), c["eps"])
        q = h @ as_float(w["q_proj"]) + (w["q_bias"] if "q_bias" in w else 0)
        k = h @ as_float(w["k_proj"]) + (w["k_bias"] if "k_bias" in w else 0)
        v = h @ as_float(w["v_proj"]) + (w["v_bias"] if "v_bias" in w else 0)
        q = q.reshape(t, c["heads"], c["hd"])
        k = k.reshape(t, c["kv"], c["hd"])
        if "q_norm" in w:
            q, k = rmsnorm(q, as_float(w["q_norm"]), c["eps"]), rmsnorm(k, as_float(w["k_norm"]), c["eps"])
        q, k = rotate(q, positions, c["theta"]), rotate(k, positions, c["theta"])
        self.k[i] = np.concatenate([self.k[i], k])
        self.v[i] = np.concatenate([self.v[i], v.reshape(t, c["kv"], c["hd"])])
        keys = self.k[i].shape[0]
        out = np.zeros((t, c["heads"], c["hd"]))
        for head in range(c["heads"]):
            kv = head // (c["heads"] // c["kv"])
            s = q[:, head, :] @ self.k[i][:, kv, :].T / np.sqrt(c["hd"])
            s = np.where(np.arange(keys)[None, :] <= positions[:, None], s, -np.inf)
            p = np.exp(s - s.max(axis=1, keepdims=True))
            out[:, head, :] = (p / p.sum(axis=1, keepdims=True)) @ self.v[i][:, kv, :]
        x = x + out.reshape(t, -1) @ as_float(w["o_proj"])
        h = rmsnorm(x, as_float(w["post_norm"]), c["eps"])
        gate, up = h @ as_float(w["gate_proj"]), h @ as_float(w["up_proj"])
        return x + (gate / (1 + np.exp(-gate)) * up) @ as_float(w["down_proj"])

    def forward(self, ids: list[int], start: int) -> np.ndarray:
        """Logits of the last of ``ids`` (at positions ``start...``)."""
        x = as_float(self.w.embed)[ids]
        positions = np.arange(start, start + len(ids))
        for i in range(len(self.w.layers)):
            x = self._layer(x, i, positions)
        last = rmsnorm(x[-1], as_float(self.w.final_norm), self.c["eps"])
        return last @ as_float(self.w.lm_head)

    def greedy(self, prompt: list[int], steps: int) -> tuple[list[int], list[np.ndarray]]:
        logits = [self.forward(prompt, 0)]
        tokens = [int(np.argmax(logits[-1]))]
        for step in range(steps):
            logits.append(self.forward([tokens[-1]], len(prompt) + step))
            tokens.append(int(np.argmax(logits[-1])))
        return tokens, logits
