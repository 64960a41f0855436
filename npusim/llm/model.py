"""Language models from their Hugging Face ``config.json``: the architecture fields of a
decoder-only transformer (Llama-style: grouped-query attention, RoPE, RMSNorm, SiLU-gated MLP).

Llama (``llama``, ``mistral``) and Qwen (``qwen2``: biases on the Q/K/V projections; ``qwen3``:
an RMSNorm on each query and key head) read the same fields; other ``model_type`` values are
refused with the list of those supported. Fields a config.json may leave out take Hugging Face's
defaults (``num_key_value_heads`` = ``num_attention_heads``, ``head_dim`` = ``hidden_size /
num_attention_heads``, ``rms_norm_eps`` 1e-6, ``rope_theta`` 10000, untied embeddings). Keys this
model does not use (``architectures``, ``torch_dtype``, ``rope_scaling``, token ids, ...) are
ignored: they do not change the work of a forward pass. Every error names the file and the field.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from ..config import ConfigError, Spec

Pos = Annotated[int, Field(ge=1)]
MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
REQUIRED = {
    "hidden_size": "the width of the residual stream (2048 for Llama 3.2 1B)",
    "num_hidden_layers": "the number of decoder layers (16 for Llama 3.2 1B)",
    "num_attention_heads": "the number of query heads (32 for Llama 3.2 1B)",
    "intermediate_size": "the width of the MLP (8192 for Llama 3.2 1B)",
    "vocab_size": "the number of tokens the LM head scores (128256 for Llama 3.2 1B)",
}


class ModelError(ConfigError):
    """A model config file is invalid; the message names the file, the field and the fix."""


class ModelSpec(Spec):
    """The architecture of a decoder-only transformer, in Hugging Face's field names."""

    name: str = Field(description="Shown in reports: the file's stem unless the config names the model.")
    model_type: Literal["llama", "mistral", "qwen2", "qwen3"]
    hidden_size: Pos
    num_hidden_layers: Pos
    num_attention_heads: Pos
    num_key_value_heads: Pos
    head_dim: Pos
    intermediate_size: Pos
    vocab_size: Pos
    rms_norm_eps: Annotated[float, Field(gt=0)] = 1e-6
    rope_theta: Annotated[float, Field(gt=1)] = 10000.0
    tie_word_embeddings: bool = False
    attention_bias: bool = Field(False, description="Biases on the Q, K and V projections (Qwen2).")
    qk_norm: bool = Field(False, description="An RMSNorm on each query and key head before RoPE (Qwen3).")
    hidden_act: Literal["silu"] = "silu"

    @model_validator(mode="after")
    def _groups(self) -> "ModelSpec":
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"num_key_value_heads {self.num_key_value_heads} does not divide num_attention_heads "
                             f"{self.num_attention_heads}: grouped-query attention shares each K/V head among a whole "
                             "number of query heads")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} is odd: RoPE rotates pairs of elements")
        return self

    @property
    def group(self) -> int:
        """Query heads that share one K/V head."""
        return self.num_attention_heads // self.num_key_value_heads

    @property
    def q_dim(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_key_value_heads * self.head_dim

    @property
    def parameters(self) -> int:
        """Weights of the model (embedding and LM head once when tied; norms included)."""
        h, layers = self.hidden_size, self.num_hidden_layers
        attn = h * (self.q_dim + 2 * self.kv_dim) + self.q_dim * h
        mlp = 3 * h * self.intermediate_size
        embed = self.vocab_size * h * (1 if self.tie_word_embeddings else 2)
        return layers * (attn + mlp + 2 * h) + embed + h

    @property
    def softmax_scale(self) -> float:
        return 1.0 / math.sqrt(self.head_dim)


def _field_line(text: str, field: str) -> str:
    for i, line in enumerate(text.splitlines(), 1):
        if f'"{field}"' in line:
            return f":{i}"
    return ""


def _spec_data(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The fields of :class:`ModelSpec` from a config.json's keys, with Hugging Face's defaults."""
    missing = [f for f in REQUIRED if f not in data]
    if missing:
        f = missing[0]
        raise ModelError(f"{path}: {f}: required field is missing: {REQUIRED[f]}; add it (a Hugging Face "
                         f"config.json gives it; see workloads/llm/llama-3.2-1b.json)")
    kind = data.get("model_type")
    if kind not in MODEL_TYPES:
        raise ModelError(f"{path}: model_type: {kind!r} is not a decoder npusim models; use one of "
                         f"{', '.join(MODEL_TYPES)} (Llama-style: grouped-query attention, RoPE, RMSNorm, SiLU-gated MLP)")
    fields = set(ModelSpec.model_fields) - {"name", "qk_norm", "attention_bias"}
    out = {k: v for k, v in data.items() if k in fields}
    out["name"] = str(data.get("_name_or_path") or path.stem).rstrip("/").split("/")[-1]
    out.setdefault("num_key_value_heads", data["num_attention_heads"])
    if "head_dim" not in out or out["head_dim"] is None:
        heads = data["num_attention_heads"]
        out["head_dim"] = data["hidden_size"] // heads if isinstance(heads, int) and heads > 0 else heads
    out["attention_bias"] = bool(data.get("attention_bias", kind == "qwen2"))
    out["qk_norm"] = kind == "qwen3"
    return out


def model_from_dict(data: Any, path: Path, text: str = "") -> ModelSpec:
    """Validate a parsed config.json; errors name ``path``, the line and the field."""
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object of config fields (a Hugging Face config.json), "
                         f"got {type(data).__name__}")
    try:
        return ModelSpec.model_validate(_spec_data(data, path))
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or str(err.get("ctx", {}).get("error", "")).split(" ")[0]
            where = f"{path}{_field_line(text, field)}" if text else str(path)
            detail = err["ctx"]["error"] if err["type"] == "value_error" else f"{err['msg']}, got {err.get('input')!r}"
            msgs.append(f"{where}: {field}: {detail}")
        raise ModelError("\n".join(msgs)) from None


def load_model(path: str | Path) -> ModelSpec:
    """Read a Hugging Face style ``config.json``; raise :class:`ModelError` naming file and field."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model config: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}); a model config "
                         "is a Hugging Face config.json") from None
    return model_from_dict(data, path, text)
