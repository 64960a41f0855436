"""Published measurements of language models on Ryzen AI NPUs (``validation/llm_cases.yaml``):
their schema, and the simulation of each by ``npusim.llm``.

A case names its source, the machine it ran on, the device config it is simulated on (at the
publication's clock), the model (``workloads/llm/<model>.json``), the weight and KV-cache types
and one figure: decode tokens/s at a context, decode NPU power at a context, time to first token
or prefill tokens/s for a prompt. Cases whose types this build cannot simulate yet (int4 weights
need the frontend's int4 GEMMs) are listed as ``pending`` with the reason, not simulated.

    .venv/bin/python validation/llm.py [--only ID ...] [--markdown]     (validation/run.py runs them too)
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `validation` and `npusim` importable
    sys.path.insert(0, str(ROOT))

from npusim import load_config  # noqa: E402
from npusim.config import ConfigError, validation_message  # noqa: E402
from npusim.config.load import read_yaml  # noqa: E402
from npusim.frontend import Gemm  # noqa: E402
from npusim.llm import LlmRun, TimingCache, load_model, run_llm  # noqa: E402
from validation.table import Source  # noqa: E402

LLM_TABLE = ROOT / "validation" / "llm_cases.yaml"
Metric = Literal["decode_tokens_per_s", "npu_power_w", "ttft_s", "prefill_tokens_per_s"]
UNITS = {"decode_tokens_per_s": "tokens/s", "npu_power_w": "W", "ttft_s": "s", "prefill_tokens_per_s": "tokens/s"}


class LlmCase(BaseModel):
    """One published figure of a language model on an NPU."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    source: Source
    tag: Literal["MEAS", "3P"]
    machine: str = Field(min_length=1, description="The machine (processor, memory) the figure was measured on.")
    software: str = Field(min_length=1, description="The runtime that produced it (its kernels and mapping).")
    device: str = Field(description="The config it is simulated on (configs/<device>.yaml).")
    clock_mhz: Annotated[float, Field(gt=0)]
    model: str = Field(description="workloads/llm/<model>.json")
    weights: Literal["int4", "int8", "bf16"]
    kv_dtype: Literal["int8", "bf16"] = "bf16"
    metric: Metric
    prompt: Annotated[int, Field(ge=1)] | None = Field(None, description="ttft_s, prefill_tokens_per_s: the prompt.")
    context: Annotated[int, Field(ge=1)] | None = Field(None, description="decode figures: the attention length.")
    published: Annotated[float, Field(gt=0)]
    prefill_chunk: Annotated[int, Field(ge=1)] = Field(1024, description="Prompt tokens per prefill pass.")
    overrides: list[str] = []
    explanation: str | None = None


class LlmTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tolerance_pct: Annotated[float, Field(gt=0)]
    sources: dict[str, object] = {}
    cases: list[LlmCase] = Field(min_length=1)


def load_llm_table(path: Path = LLM_TABLE) -> LlmTable:
    """Read and check the table; errors name the file, the line and the field."""
    data, lines = read_yaml(path, "validation table")
    try:
        table = LlmTable.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, str(path), lines)) from None
    for case in table.cases:
        need = "context" if case.metric in ("decode_tokens_per_s", "npu_power_w") else "prompt"
        if getattr(case, need) is None:
            raise ConfigError(f"{path}: case '{case.id}': a {case.metric} case needs its {need}")
    return table


@dataclass(frozen=True, slots=True)
class LlmResult:
    """A case and what npusim made of it (``simulated`` None: pending, ``why`` says why)."""

    case: LlmCase
    simulated: float | None
    tolerance_pct: float
    why: str = ""

    @property
    def error_pct(self) -> float | None:
        if self.simulated is None:
            return None
        return 100.0 * (self.simulated - self.case.published) / self.case.published

    @property
    def status(self) -> str:
        err = self.error_pct
        if err is None:
            return "pending"
        if abs(err) <= self.tolerance_pct:
            return "ok"
        return "explained" if self.case.explanation else "MISSED"


def pending(case: LlmCase) -> str:
    """Why this build cannot simulate ``case`` yet ("" if it can)."""
    if case.weights == "int4" and "b_dtype" not in Gemm.model_fields:
        return "int4 weights: the frontend has no int4 GEMM yet"
    return ""


def simulate(case: LlmCase, caches: dict[tuple[str, ...], TimingCache]) -> float:
    """The case's figure as npusim simulates it (one timing cache per device variant)."""
    config = load_config(ROOT / "configs" / f"{case.device}.yaml", [f"clock_mhz={case.clock_mhz}", *case.overrides])
    key = (case.device, str(case.clock_mhz), *case.overrides)
    cache = caches.setdefault(key, TimingCache(config))
    model = load_model(ROOT / "workloads" / "llm" / f"{case.model}.json")
    if case.context is not None:
        run = LlmRun(prompt=case.context, generate=0, weights=case.weights, kv_dtype=case.kv_dtype,
                     contexts=(case.context,))
        point = run_llm(config, model, run, cache=cache).contexts[0].to_dict()
        return float(point[case.metric])
    assert case.prompt is not None
    report = run_llm(config, model, LlmRun(prompt=case.prompt, generate=0, weights=case.weights,
                                           kv_dtype=case.kv_dtype, prefill_chunk=case.prefill_chunk), cache=cache)
    return report.ttft_s if case.metric == "ttft_s" else report.prefill_tokens_per_s


def run_llm_cases(table: LlmTable, only: Sequence[str] = ()) -> list[LlmResult]:
    """Simulate the cases (all, or those in ``only``); pending ones are listed, not run."""
    caches: dict[tuple[str, ...], TimingCache] = {}
    out = []
    for case in table.cases:
        if only and case.id not in only:
            continue
        why = pending(case)
        out.append(LlmResult(case, None if why else simulate(case, caches), table.tolerance_pct, why))
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


HEADER = ["#", "case", "machine", "model", "types", "metric", "at", "published", "simulated", "error %", "status"]


def format_llm_cases(results: Sequence[LlmResult]) -> str:
    """The comparison as a text table, the reason of each pending case and the explanation of
    each miss, and a summary line."""
    from npusim.report.text import _table

    rows = [[str(i), r.case.id, r.case.machine.split(",")[0].split(";")[0], r.case.model,
             f"{r.case.weights}/kv {r.case.kv_dtype}", UNITS[r.case.metric],
             f"ctx {r.case.context}" if r.case.context else f"prompt {r.case.prompt}", _fmt(r.case.published),
             _fmt(r.simulated), "" if r.error_pct is None else f"{r.error_pct:+.1f}", r.status]
            for i, r in enumerate(results, 1)]
    lines = _table(HEADER, rows, left=5)
    for r in results:
        if r.status == "pending":
            lines.append(f"\n{r.case.id}: pending: {r.why}")
        elif r.status in ("explained", "MISSED"):
            lines.append(f"\n{r.case.id} ({r.error_pct:+.1f}%): {r.case.explanation or 'NO EXPLANATION IN THE TABLE'}")
    return "\n".join(lines) + "\n\n" + llm_summary(results)


def format_llm_markdown(results: Sequence[LlmResult]) -> str:
    """The comparison as a Markdown table (for docs/llm.md), with each case's machine and software."""
    head = ["#", "case", "machine", "software", "types", "metric", "at", "published", "simulated", "error %", "status"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(results, 1):
        c = r.case
        at = f"context {c.context}" if c.context else f"prompt {c.prompt}"
        err = "" if r.error_pct is None else f"{r.error_pct:+.1f}"
        out.append(f"| {i} | {c.id} | {c.machine} | {c.software} | {c.weights}, KV {c.kv_dtype} | {UNITS[c.metric]} | "
                   f"{at} | {_fmt(c.published)} | {_fmt(r.simulated)} | {err} | {r.status} |")
    return "\n".join(out)


def llm_summary(results: Sequence[LlmResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "explained", "MISSED", "pending")}
    tol = results[0].tolerance_pct if results else 0.0
    return (f"{len(results)} language-model cases: {counts['ok']} within +-{tol:g}%, {counts['explained']} outside "
            f"with an explanation, {counts['MISSED']} outside without one, {counts['pending']} pending")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Simulate the published language-model cases and compare.")
    ap.add_argument("--table", type=Path, default=LLM_TABLE, help="the table of cases (default: %(default)s)")
    ap.add_argument("--only", nargs="+", default=(), metavar="ID", help="simulate these cases only")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table instead of text")
    args = ap.parse_args(argv)
    try:
        results = run_llm_cases(load_llm_table(args.table), args.only)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_llm_markdown(results) + "\n\n" + llm_summary(results) if args.markdown else format_llm_cases(results))
    return 1 if any(r.status == "MISSED" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
