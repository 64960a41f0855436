"""The text report of ``npusim llm``: the headline figures, then tables by operator group,
decode against context, and the simulated / reused / interpolated counts."""
from __future__ import annotations

from typing import Any

from ..report.power_text import joules
from ..report.text import _table
from .report import LlmReport, npu_power


def _ms(s: float) -> str:
    return f"{s * 1e3:,.3f}"


def _mb(b: float) -> str:
    return f"{b / 1e6:,.2f}"


def _operators(rows: list[dict[str, Any]]) -> list[str]:
    body = [[r["operator"], f"{r['layer_runs']:,}", _ms(r["seconds"]), f"{100 * r['time_share']:5.1f}%",
             joules(r["energy_j"]), f"{100 * r['energy_share']:5.1f}%", joules(r["dram_energy_j"]), _mb(r["ddr_bytes"])]
            for r in rows]
    return _table(["operator", "layer runs", "time ms", "share", "energy", "share", "DRAM energy", "DDR MB"], body)


def _headline(r: LlmReport) -> list[str]:
    run, m = r.run, r.model
    p = r.prefill_total
    size = f"{m.parameters / 1e9:.2f} B" if m.parameters >= 1e8 else f"{m.parameters / 1e6:.2f} M"
    lines = [f"llm      {m.name} ({size} parameters, {m.num_hidden_layers} layers) on {r.config}: "
             f"prompt {run.prompt}, {run.generate} generated, weights {run.weights}, KV cache {run.kv_dtype}, "
             f"prefill chunk {run.prefill_chunk}",
             f"prefill  ttft {r.ttft_s:.4f} s = {r.prefill_tokens_per_s:,.1f} tokens/s; {joules(p.energy_j)} "
             f"(DRAM {joules(p.dram_energy_j)}), NPU power {npu_power(p):.2f} W"]
    if run.generate and r.first_token and r.last_token:
        d = r.decode_total
        lines.append(
            f"decode   {r.decode_tokens_per_s:,.2f} tokens/s over contexts {run.prompt + 1}..{run.prompt + run.generate} "
            f"({_ms(d.seconds / run.generate)} ms/token: first {_ms(r.first_token.seconds)}, last "
            f"{_ms(r.last_token.seconds)}); {joules(r.energy_per_token_j or 0.0)}/token (DRAM "
            f"{joules(d.dram_energy_j / run.generate)}), NPU power {r.npu_power_w or 0.0:.2f} W "
            f"({r.average_power_w or 0.0:.2f} W with DRAM); {_mb(r.ddr_bytes_per_token or 0.0)} MB of DDR traffic "
            "per token")
    return lines


def format_llm(r: LlmReport) -> str:
    """The report as text (see the module docstring)."""
    d = r.to_dict()
    lines = _headline(r) + ["", "prefill by operator", *_operators(d["operators"]["prefill"])]
    if r.run.generate:
        lines += ["", "decode by operator (per token, averaged over the generated tokens)",
                  *_operators(d["operators"]["decode_per_token"])]
    if r.contexts:
        rows = [[f"{c['context']:,}", f"{c['decode_tokens_per_s']:,.2f}", _ms(c["seconds_per_token"]),
                 joules(c["energy_per_token_j"]), f"{c['npu_power_w']:.2f}", joules(c["dram_energy_per_token_j"]),
                 _mb(c["ddr_bytes_per_token"])] for c in d["contexts"]]
        lines += ["", "decode against context (one step at each attention length)",
                  *_table(["context", "tokens/s", "ms/token", "energy/token", "NPU W", "DRAM/token", "DDR MB"], rows)]
    u = r.reuse
    interp = ""
    if r.run.generate:
        interp = (f"; decode attention simulated at {len(u.anchors)} of {r.run.generate} contexts, interpolated "
                  f"between them within {100 * u.tolerance:g}% (largest midpoint deviation {100 * u.max_deviation:.2f}%)")
    lines += ["", f"reuse    {u.layer_runs:,} layer runs: {u.simulated:,} simulated, {u.reused:,} reused, "
              f"{u.interpolated:,} interpolated{interp}"]
    if r.functional:
        f = r.functional
        lines.append(f"check    functional: {'every layer matches numpy' if f['ok'] else 'MISMATCH'} "
                     f"({f['layers_checked']:,} layer runs, max abs error {f['max_abs_error']:.3g}); "
                     f"tokens {', '.join(str(t) for t in f['tokens'])}")
    lines.append(f"run      wall {r.wall_seconds:.2f} s")
    return "\n".join(lines)
