"""Language models on the NPU: prefill and decode of decoder-only transformers (Llama-style:
grouped-query attention, RoPE, RMSNorm, SiLU-gated MLP) read from a Hugging Face config.json.

>>> from npusim import load_config
>>> from npusim.llm import LlmRun, load_model, run_llm
>>> report = run_llm(load_config("configs/npu2.yaml"), load_model("workloads/llm/llama-3.2-1b.json"),
...                  LlmRun(prompt=512, generate=16, weights="int8"))
>>> report.to_dict()["decode_tokens_per_s"]

See ``docs/llm.md`` for what is and is not modelled.
"""
from .graph import GROUPS, LlmError, LlmRun, Step, decode_steps, prefill_steps
from .model import ModelError, ModelSpec, load_model, model_from_dict
from .report import ContextPoint, LlmReport, Reuse
from .run import run_llm
from .text import format_llm
from .timings import Cost, TimingCache

__all__ = [
    "GROUPS", "ContextPoint", "Cost", "LlmError", "LlmReport", "LlmRun", "ModelError", "ModelSpec", "Reuse", "Step",
    "TimingCache", "decode_steps", "format_llm", "load_model", "model_from_dict", "prefill_steps", "run_llm",
]
