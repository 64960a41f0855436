"""Wall time of a language-model run: Llama 3.2 1B on npu2, a prompt of 1024 tokens and 128
generated (the issue-16 budget: under 60 s on a 2-core machine), with what was simulated, reused
and interpolated, and the figures the run gives.

Each case runs in a fresh process (so that nothing is cached from another case, and its CPU time
is its own); wall and CPU seconds are printed, the machine's load average beside them (other work
on a shared machine slows the wall clock, not the CPU time).

    .venv/bin/python benchmarks/bench_llm.py [--weights int8] [--prompt 1024] [--generate 128]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "workloads/llm/llama-3.2-1b.json"
BUDGET_S = 60.0

CHILD = """
import json, sys, time
from npusim import load_config
from npusim.llm import LlmRun, load_model, run_llm
t, c = time.perf_counter(), time.process_time()
r = run_llm(load_config(sys.argv[1]), load_model(sys.argv[2]),
            LlmRun(prompt=int(sys.argv[3]), generate=int(sys.argv[4]), weights=sys.argv[5]))
out = r.to_dict()
out["bench_wall_s"], out["bench_cpu_s"] = time.perf_counter() - t, time.process_time() - c
print(json.dumps(out))
"""


def run(config: str, prompt: int, generate: int, weights: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", CHILD, config, str(MODEL), str(prompt), str(generate), weights],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs/npu2.yaml"))
    ap.add_argument("--prompt", type=int, default=1024)
    ap.add_argument("--generate", type=int, default=128)
    ap.add_argument("--weights", default="int8", choices=("int4", "int8", "bf16"))
    args = ap.parse_args()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    r = run(args.config, args.prompt, args.generate, args.weights)
    u = r["reuse"]
    assert isinstance(u, dict)
    print(f"Llama 3.2 1B on {r['config']}: prompt {args.prompt} + {args.generate} generated, weights {args.weights}, "
          f"KV cache bf16")
    print(f"wall     {r['bench_wall_s']:.1f} s (cpu {r['bench_cpu_s']:.1f} s; process with imports "
          f"{time.perf_counter() - start:.1f} s; load average {load:.2f} on {os.cpu_count()} cores); budget "
          f"{BUDGET_S:.0f} s: {'within' if float(r['bench_wall_s']) < BUDGET_S else 'OVER'}")  # type: ignore[arg-type]
    print(f"layers   {u['layer_runs']:,} layer runs: {u['simulated']:,} simulated, {u['reused']:,} reused, "
          f"{u['interpolated']:,} interpolated (decode attention simulated at {len(u['anchor_contexts'])} of "
          f"{args.generate} contexts)")
    print(f"figures  ttft {r['ttft_s']:.3f} s ({r['prefill_tokens_per_s']:,.0f} tokens/s), decode "
          f"{r['decode_tokens_per_s']:.2f} tokens/s, {1e3 * float(r['energy_per_token_j']):.1f} mJ/token, "  # type: ignore[arg-type]
          f"NPU {r['npu_power_w']:.2f} W")
    return 0


if __name__ == "__main__":
    sys.exit(main())
