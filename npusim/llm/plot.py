"""The figure of decode against context: tokens per second and power at each attention length
of a report's ``contexts`` (``npusim plot context``)."""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from .report import LlmReport


def context_figure(report: LlmReport) -> Figure:
    """Decode tokens/s (left axis) and power (right axis: the NPU's, and with the DRAM's)
    against the context length, on a log2 x axis."""
    if not report.contexts:
        raise ValueError("the report has no context points: run it with contexts (--contexts 1024,2048,...)")
    rows = [c.to_dict() for c in report.contexts]
    x = [r["context"] for r in rows]
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(x, [r["decode_tokens_per_s"] for r in rows], "o-", color="tab:blue", label="decode tokens/s")
    ax.set_xscale("log", base=2)
    ax.set_xticks(x)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("context (tokens in the KV cache)")
    ax.set_ylabel("decode tokens/s", color="tab:blue")
    ax.set_ylim(bottom=0)
    right = ax.twinx()
    right.plot(x, [r["npu_power_w"] for r in rows], "s--", color="tab:red", label="NPU power (W)")
    total = [r["energy_per_token_j"] / r["seconds_per_token"] for r in rows]
    right.plot(x, total, "^:", color="tab:orange", label="with DRAM (W)")
    right.set_ylabel("power (W)", color="tab:red")
    right.set_ylim(bottom=0)
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [str(ln.get_label()) for ln in lines], loc="lower left", fontsize="small")
    run = report.run
    ax.set_title(f"{report.model.name} on {report.config}: weights {run.weights}, KV cache {run.kv_dtype}",
                 fontsize="medium")
    return fig
