"""Fusion and dispatch costs on whole networks: each workload run layer by layer (``--fusion off``)
and fused (the default), with the figures the issue asks for: total cycles, DDR bytes (read,
written, accessed), dispatches and reconfigurations and their time, the fused groups, and the
wall time of each run. The two runs share the mapper's cache (each layer is mapped once).

    .venv/bin/python benchmarks/bench_fusion.py [--quick] [--config configs/npu1.yaml] [--json out.json]

``--quick`` leaves ResNet-50 out (its two runs take about a minute). The issue's targets are
checked and printed: fused DDR bytes accessed at most 70% of layer by layer on ResNet-50, and
fused cycles no more than layer by layer on every workload. The same figures come from
``npusim run --config configs/npu1.yaml --workload workloads/resnet50.yaml --fusion off --json``
and without ``--fusion off``. Figures and what they mean: docs/model/fusion.md.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from npusim import load_config, load_workload
from npusim.engine import RunOptions
from npusim.frontend.mapper.search import MappingCache
from npusim.runner import WorkloadReport, run_workload

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("resnet50", "resnet18", "bert_base_layer")


def figures(wr: WorkloadReport, wall: float) -> dict[str, Any]:
    groups = [g for g in wr.groups if g is not None]
    return {"cycles": wr.cycles, "ddr": wr.ddr, "dispatches": wr.dispatches,
            "reconfigurations": wr.reconfigurations, "dispatch_ms": wr.dispatch_seconds * 1e3,
            "array_ms": wr.array_seconds * 1e3, "total_ms": wr.seconds * 1e3, "groups": len(groups),
            "fused_layers": sum(len(g.layers) for g in groups), "wall_s": wall}


def run(config_path: Path, name: str) -> dict[str, Any]:
    config = load_config(config_path)
    workload = load_workload(ROOT / f"workloads/{name}.yaml")
    cache = MappingCache()
    out: dict[str, Any] = {"workload": name, "config": config.name}
    for label, fusion in (("off", False), ("on", True)):
        t = time.perf_counter()
        wr = run_workload(config, workload, RunOptions(fusion=fusion), cache=cache)
        out[label] = figures(wr, time.perf_counter() - t)
    out["ddr_ratio"] = out["on"]["ddr"]["bytes_accessed"] / out["off"]["ddr"]["bytes_accessed"]
    out["cycle_ratio"] = out["on"]["cycles"] / out["off"]["cycles"]
    return out


def show(r: dict[str, Any]) -> None:
    print(f"{r['workload']} on {r['config']}")
    print(f"  {'':6} {'cycles':>12} {'DDR read':>12} {'written':>12} {'accessed':>12} {'dispatches':>10} "
          f"{'reconf':>6} {'dispatch ms':>11} {'total ms':>9} {'groups':>6} {'wall s':>7}")
    for label in ("off", "on"):
        f = r[label]
        d = f["ddr"]
        print(f"  {label:6} {f['cycles']:>12,} {d['bytes_read']:>12,} {d['bytes_written']:>12,} "
              f"{d['bytes_accessed']:>12,} {f['dispatches']:>10} {f['reconfigurations']:>6} "
              f"{f['dispatch_ms']:>11.1f} {f['total_ms']:>9.2f} {f['groups']:>6} {f['wall_s']:>7.1f}")
    print(f"  fused/unfused: DDR accessed {r['ddr_ratio']:.1%}, cycles {r['cycle_ratio']:.1%}")
    ddr_target = r["workload"] != "resnet50" or r["ddr_ratio"] <= 0.70
    print(f"  targets: cycles no more than layer by layer: {'met' if r['cycle_ratio'] <= 1 else 'MISSED'}"
          + ("" if r["workload"] != "resnet50" else
             f"; DDR accessed at most 70%: {'met' if ddr_target else 'MISSED'}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs/npu1.yaml"))
    ap.add_argument("--quick", action="store_true", help="leave ResNet-50 out")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    results = []
    for name in WORKLOADS[1:] if args.quick else WORKLOADS:
        results.append(run(Path(args.config), name))
        show(results[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
