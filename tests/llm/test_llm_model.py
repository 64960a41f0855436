"""Models from their config.json (issue 16): the shipped architectures, Hugging Face's defaults,
and errors that name the file, the field and the fix."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from npusim.llm import ModelError, load_model

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "workloads" / "llm"


def test_the_shipped_models_load_with_their_architecture() -> None:
    llama1 = load_model(MODELS / "llama-3.2-1b.json")
    assert (llama1.name, llama1.model_type, llama1.hidden_size, llama1.num_hidden_layers) == ("Llama-3.2-1B", "llama",
                                                                                              2048, 16)
    assert (llama1.num_attention_heads, llama1.num_key_value_heads, llama1.head_dim, llama1.group) == (32, 8, 64, 4)
    assert llama1.tie_word_embeddings and not llama1.attention_bias
    assert 1.23e9 < llama1.parameters < 1.25e9  # Meta: 1.23 B (1.24 B counted with the norms)
    llama3 = load_model(MODELS / "llama-3.2-3b.json")
    assert (llama3.hidden_size, llama3.num_hidden_layers, llama3.head_dim, llama3.q_dim) == (3072, 28, 128, 3072)
    assert 3.2e9 < llama3.parameters < 3.22e9
    qwen = load_model(MODELS / "qwen2.5-1.5b.json")
    assert qwen.model_type == "qwen2" and qwen.attention_bias and qwen.head_dim == 128  # 1536 / 12, the default
    assert 1.53e9 < qwen.parameters < 1.55e9
    for path in MODELS.glob("*.json"):
        assert "_source" in json.loads(path.read_text()), f"{path.name} names no source"


def write(tmp_path: Path, **fields: object) -> Path:
    base = json.loads((MODELS / "tiny-llama.json").read_text())
    base.update(fields)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({k: v for k, v in base.items() if v is not None}, indent=2))
    return path


def test_hugging_face_defaults_fill_the_fields_a_config_leaves_out(tmp_path: Path) -> None:
    m = load_model(write(tmp_path, num_key_value_heads=None, head_dim=None, rms_norm_eps=None, rope_theta=None,
                         tie_word_embeddings=None, _name_or_path=None))
    assert (m.num_key_value_heads, m.head_dim, m.rms_norm_eps, m.rope_theta) == (4, 16, 1e-6, 10000.0)
    assert not m.tie_word_embeddings and m.name == "config"


def test_a_config_without_hidden_size_names_the_field_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, hidden_size=None)
    with pytest.raises(ModelError) as err:
        load_model(path)
    assert str(err.value) == (f"{path}: hidden_size: required field is missing: the width of the residual stream "
                              "(2048 for Llama 3.2 1B); add it (a Hugging Face config.json gives it; see "
                              "workloads/llm/llama-3.2-1b.json)")


@pytest.mark.parametrize("fields, message", [
    ({"model_type": "gpt2"}, r"model_type: 'gpt2' is not a decoder npusim models; use one of llama, mistral, qwen2, "
                             r"qwen3"),
    ({"num_key_value_heads": 3}, r":\d+: num_key_value_heads: num_key_value_heads 3 does not divide "
                                 r"num_attention_heads 4"),
    ({"head_dim": 15}, r":\d+: head_dim: head_dim 15 is odd: RoPE rotates pairs"),
    ({"hidden_size": "64"}, r":\d+: hidden_size: Input should be a valid integer, got '64'"),
    ({"intermediate_size": 0}, r":\d+: intermediate_size: Input should be greater than or equal to 1, got 0"),
    ({"hidden_act": "gelu"}, r":\d+: hidden_act: Input should be 'silu', got 'gelu'"),
])
def test_bad_fields_are_named_with_their_line(tmp_path: Path, fields: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        load_model(write(tmp_path, **fields))


def test_a_file_that_is_not_json_or_not_there(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "hidden_size": 64,\n  oops\n}')
    with pytest.raises(ModelError, match=rf"^{bad}:3: not valid JSON: Expecting property name"):
        load_model(bad)
    with pytest.raises(ModelError, match="cannot read the model config"):
        load_model(tmp_path / "missing.json")
