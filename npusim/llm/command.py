"""``npusim llm``: prefill and decode of a language model on a config (registered by
:mod:`npusim.cli`, which imports this module only when the command runs); also the ``context``
figure of ``npusim plot``.

    npusim llm --config configs/npu2.yaml --model workloads/llm/llama-3.2-1b.json --prompt 512 --generate 128
    npusim llm ... --contexts 1024,2048,4096 --json
    npusim llm --config configs/tiny.yaml --model workloads/llm/tiny-llama.json --prompt 8 --generate 4 \\
        --weights bf16 --functional
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import NPUConfig, load_config
from ..engine import RunOptions
from ..frontend import AnyLayer
from ..progress import interactive
from .functional import functional_summary, generate, random_prompt
from .graph import LlmError, LlmRun
from .model import load_model
from .report import LlmReport
from .run import run_llm
from .text import format_llm


def add_llm_arguments(p: argparse.ArgumentParser, prompt_required: bool = True) -> None:
    """The model and run flags (``npusim llm``; ``npusim plot context``, where none is required)."""
    p.add_argument("--model", required=prompt_required, metavar="CONFIG_JSON",
                   help="a Hugging Face style config.json, e.g. workloads/llm/llama-3.2-1b.json")
    p.add_argument("--prompt", type=int, required=prompt_required, default=1, metavar="TOKENS", help="prompt tokens")
    p.add_argument("--generate", type=int, default=128 if prompt_required else 0, metavar="TOKENS",
                   help="tokens generated one by one (decode steps; the first token comes from the prefill)")
    p.add_argument("--weights", choices=("int4", "int8", "bf16"), default="int8",
                   help="type of the weights (int4: group-quantised, a scale per 128 weights along K) (int8)")
    p.add_argument("--kv-dtype", choices=("int8", "bf16"), default="bf16", help="type of the KV cache in DDR (bf16)")
    p.add_argument("--prefill-chunk", type=int, default=1024, metavar="TOKENS", help="prompt tokens per prefill pass")
    p.add_argument("--contexts", metavar="N,N,...", help="also one decode step at each of these attention lengths, "
                   "e.g. 1024,2048,4096,8192")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="decode attention: interpolate between simulated contexts within this relative error (0.01)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``npusim llm``."""
    p.add_argument("--config", required=True, help="hardware config YAML, e.g. configs/npu2.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, dotted: --set ddr.bandwidth_gb_per_s=120")
    add_llm_arguments(p)
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--functional", action="store_true", help="also run seeded random weights through the simulated "
                   "kernels (bf16 weights and KV cache), every layer checked against numpy; print the greedy tokens")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and prompt in functional mode (0)")
    p.add_argument("--max-cycles", type=int, default=None, help="stop a layer's run that goes past this cycle")


def _contexts(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise LlmError(f"--contexts {text!r}: expected attention lengths >= 1 separated by commas, e.g. 1024,2048")
    return values


def llm_run(args: argparse.Namespace) -> LlmRun:
    """The run the flags describe (errors name the flag)."""
    from pydantic import ValidationError

    try:
        return LlmRun(prompt=args.prompt, generate=args.generate, weights=args.weights, kv_dtype=args.kv_dtype,
                      prefill_chunk=args.prefill_chunk, contexts=_contexts(args.contexts), tolerance=args.tolerance)
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = "--" + str(err["loc"][0]).replace("_", "-")
        raise LlmError(f"{flag} {err.get('input')!r}: {err['msg']}") from None


class _Progress:
    """Which layer is being simulated, on one terminal line (only when interactive)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0

    def __call__(self, layer: AnyLayer) -> None:
        self.count += 1
        if self.enabled:
            print(f"\r\x1b[Ksimulating layer {self.count}: {layer.describe()}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled and self.count:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)


def simulate(args: argparse.Namespace, config: NPUConfig, quiet: bool) -> LlmReport:
    """Load the model and cost the run the flags describe."""
    model = load_model(args.model)
    run = llm_run(args)
    bar = _Progress(not quiet and interactive())
    try:
        return run_llm(config, model, run, RunOptions(max_cycles=getattr(args, "max_cycles", None)), on_simulate=bar)
    finally:
        bar.done()


def main(args: argparse.Namespace) -> int:
    """Run ``npusim llm``: 0 when done, 1 when the functional check fails."""
    config = load_config(args.config, args.overrides)
    report = simulate(args, config, args.json)
    if args.functional:
        model, run = load_model(args.model), report.run
        tokens, _, f = generate(config, model, run, random_prompt(model, run, args.seed), args.seed)
        report = replace(report, functional=functional_summary(tokens, f))
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_llm(report))
    return 1 if report.functional is not None and not report.functional["ok"] else 0


def plot(args: argparse.Namespace) -> tuple[Any, str]:
    """``npusim plot context``: decode tokens/s and NPU power against the context lengths of
    ``--contexts``; the figure and what it shows."""
    from .plot import context_figure

    if not args.model or not args.contexts:
        raise LlmError("npusim plot context: give the model and the attention lengths to draw, --model "
                       "workloads/llm/llama-3.2-1b.json --contexts 1024,2048,4096,...")
    config = load_config(args.config, args.overrides)
    report = simulate(args, config, False)
    return context_figure(report), f"decode against context of {report.model.name} ({Path(args.model).name})"
