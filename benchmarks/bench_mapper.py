"""The mapper's figures: how its automatic designs compare with the best published ones, how
long the search takes, and how well its estimate ranks what the simulation then measures.

    .venv/bin/python benchmarks/bench_mapper.py [--quick] [--json out.json]

1. **Published designs.** Every whole-array GEMM of arXiv 2512.13282 in validation/cases.yaml
   (XDNA and XDNA2), on the shipped config at the publication's clock: the published TOPS, the
   simulated TOPS of the published tiles (pinned, the rest chosen by the mapper), and of the
   mapper's own choice with nothing pinned, with the design it chose.
2. **4096^3 GEMMs** in int8 and bf16 on npu1 and npu2 at the shipped clocks: the automatic
   design's TOPS and the search's CPU time.
3. **ResNet-50 int8 on npu1** (left out by ``--quick``): total cycles and the CPU time of the
   whole run, mapping included (each layer shape searched once).
4. **Estimate against simulation**: for every leader the searches above simulated whole, the
   ratio of simulated to estimated cycles (median and spread), and how often the estimate's best
   was also the simulation's best.

CPU times are process times (the machine may be shared); each figure is one run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from npusim import Conv2d, Gemm, load_config, load_workload  # noqa: E402
from npusim.frontend import MappingCache, Pins, SearchResult, lower  # noqa: E402
from npusim.runner import run_lowered, run_workload  # noqa: E402
from validation.table import GemmWorkload, load_table  # noqa: E402

PAPER = "paper"
"""The origin of arXiv 2512.13282's cases in validation/cases.yaml."""


def tops(layer: Gemm, cycles: int, clock_mhz: float) -> float:
    return 2 * layer.m * layer.k * layer.n * clock_mhz * 1e6 / cycles / 1e12


def simulate(config_path: Path, overrides: list[str], layer: Gemm, pins: Pins) -> tuple[int, SearchResult, float]:
    """Cycles of ``layer`` with the mapper's design within ``pins`` (the search's own simulation
    where it ran one whole), its search, and the CPU seconds of search and run."""
    config = load_config(config_path, overrides)
    t = time.process_time()
    low = lower(config, layer, pins=pins)
    assert low.search is not None
    cycles = run_lowered(config, low).cycles
    return cycles, low.search, time.process_time() - t


def published(results: list[SearchResult]) -> list[dict[str, Any]]:
    rows = []
    for case in load_table(ROOT / "validation" / "cases.yaml").cases:
        w = case.workload
        if case.origin != PAPER or not isinstance(w, GemmWorkload) or case.metric != "tops":
            continue
        layer = Gemm(m=w.m, k=w.k, n=w.n, dtype=case.dtype, out_dtype=case.out_dtype)  # type: ignore[arg-type]
        path, clock = ROOT / "configs" / f"{case.device}.yaml", [f"clock_mhz={case.clock_mhz}"]
        pinned, _, _ = simulate(path, clock, layer, Pins(tiles=w.tiles))
        auto, search, cpu = simulate(path, clock, layer, Pins())
        results.append(search)
        rows.append({"case": case.id, "device": case.device, "published": case.published,
                     "pinned_tiles": tops(layer, pinned, case.clock_mhz), "auto": tops(layer, auto, case.clock_mhz),
                     "design": search.winner.design.describe(), "cpu_s": cpu})
    return rows


def squares(results: list[SearchResult]) -> list[dict[str, Any]]:
    rows = []
    for device in ("npu1", "npu2"):
        for dtype in ("int8", "bf16"):
            layer = Gemm(m=4096, k=4096, n=4096, dtype=dtype)  # type: ignore[arg-type]
            path = ROOT / "configs" / f"{device}.yaml"
            cycles, search, cpu = simulate(path, [], layer, Pins())
            results.append(search)
            rows.append({"device": device, "dtype": dtype, "cycles": cycles,
                         "tops": tops(layer, cycles, load_config(path).clock_mhz),
                         "design": search.winner.design.describe(), "cpu_s": cpu})
    return rows


MID_SIZE = [
    ("npu1", Gemm(m=256, k=256, n=256, dtype="int8")),
    ("npu1", Gemm(m=512, k=768, n=512, dtype="bf16")),
    ("npu2", Gemm(m=1024, k=1024, n=1024, dtype="int8")),
    ("npu1", Gemm(m=1, k=2048, n=1000, dtype="int8")),
    ("npu1", Gemm(m=64, k=4096, n=64, dtype="bf16")),
    ("npu1", Conv2d(in_channels=64, height=56, width=56, out_channels=64, kernel_h=3, kernel_w=3, padding=1,
                    dtype="int8")),
    ("npu1", Conv2d(in_channels=256, height=14, width=14, out_channels=256, kernel_h=3, kernel_w=3, padding=1,
                    dtype="int8")),
    ("npu2", Conv2d(in_channels=512, height=7, width=7, out_channels=2048, kernel_h=1, kernel_w=1, dtype="int8")),
]
"""Layers whose searches simulate their leaders whole (square and skinny GEMMs, a GEMV, 3x3 and
1x1 convolutions): the estimate's fit is measured on them (and on ResNet-50's layers)."""


def mid_size(results: list[SearchResult]) -> None:
    for device, layer in MID_SIZE:
        results.append(lower(load_config(ROOT / "configs" / f"{device}.yaml"), layer).search)  # type: ignore[arg-type]


def resnet50(results: list[SearchResult]) -> dict[str, Any]:
    config = load_config(ROOT / "configs" / "npu1.yaml")
    cache = MappingCache()
    t = time.process_time()
    report = run_workload(config, load_workload(ROOT / "workloads" / "resnet50.yaml"), cache=cache)
    cpu = time.process_time() - t
    results += cache.results.values()
    return {"cycles": report.cycles, "cpu_s": cpu, "layer_shapes": len(cache.results)}


def estimate_fit(results: list[SearchResult]) -> dict[str, Any]:
    ratios, agree, searches = [], 0, 0
    for r in results:
        whole = [c for c in r.leaders if c.how == "simulated" and c.measured is not None]
        ratios += [c.measured / c.estimate.cycles for c in whole if c.measured is not None]
        if len(whole) > 1:
            searches += 1
            agree += min(whole, key=lambda c: c.estimate.cycles).design == r.winner.design
    ratios.sort()
    return {"leaders": len(ratios), "median_ratio": statistics.median(ratios) if ratios else None,
            "p10_ratio": ratios[len(ratios) // 10] if ratios else None,
            "p90_ratio": ratios[(9 * len(ratios)) // 10] if ratios else None,
            "searches_with_several": searches, "estimate_best_won": agree}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="leave ResNet-50 out")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    results: list[SearchResult] = []
    out: dict[str, Any] = {"published": published(results)}
    print(f"{'case':34} {'device':6} {'published':>9} {'pinned':>7} {'auto':>7} {'auto/pub':>8} {'cpu s':>6}  design")
    for r in out["published"]:
        print(f"{r['case']:34} {r['device']:6} {r['published']:9.2f} {r['pinned_tiles']:7.2f} {r['auto']:7.2f} "
              f"{r['auto'] / r['published']:8.2f} {r['cpu_s']:6.1f}  {r['design']}")
    out["squares"] = squares(results)
    print(f"\n{'4096^3':12} {'cycles':>12} {'TOPS':>7} {'cpu s':>6}  design")
    for r in out["squares"]:
        print(f"{r['device'] + ' ' + r['dtype']:12} {r['cycles']:12,} {r['tops']:7.2f} {r['cpu_s']:6.1f}  {r['design']}")
    if not args.quick:
        out["resnet50"] = r50 = resnet50(results)
        print(f"\nResNet-50 int8 npu1: {r50['cycles']:,} cycles, {r50['cpu_s']:.1f} s CPU (mapping and simulation; "
              f"{r50['layer_shapes']} layer shapes searched)")
    mid_size(results)
    out["estimate"] = fit = estimate_fit(results)
    if fit["leaders"]:
        print(f"\nestimate: {fit['leaders']} leaders simulated whole, simulated/estimated cycles median "
              f"{fit['median_ratio']:.3f} (10th-90th percentile {fit['p10_ratio']:.3f}-{fit['p90_ratio']:.3f}); "
              f"the estimate's best won {fit['estimate_best_won']} of {fit['searches_with_several']} searches "
              "that simulated several")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
