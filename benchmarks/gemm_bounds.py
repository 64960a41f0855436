"""Large square GEMMs against their bounds: simulated cycles, the compute bound (one core's kernel
calls at the chosen tile, each timed by the kernel rule: its sustained rate depends on the tile's
shape) and the DDR bound (the bytes the lowering moves, in whole DDR accesses, over the DDR
bandwidth), with the bound that applies.

    .venv/bin/python benchmarks/gemm_bounds.py
"""
from __future__ import annotations

import time
from pathlib import Path

from npusim import Gemm, load_config, lower, run_layer
from npusim.hw.timing import ddr_bytes_per_cycle

ROOT = Path(__file__).resolve().parents[1]
CASES = [("npu1", 2048, "int8", []), ("npu2", 2048, "bf16", []), ("npu2", 2048, "int8", []),
         ("npu1", 1024, "int8", ["ddr.bandwidth_gb_per_s=200"])]


def main() -> None:
    print(f"{'config':<34} {'gemm':>10} {'tiles':>9} {'cycles':>11} {'compute':>11} {'DDR':>11} "
          f"{'bound':>7} {'ratio':>6} {'TOPS':>6} {'peak':>6} {'wall s':>7}")
    for name, size, dtype, overrides in CASES:
        config = load_config(ROOT / f"configs/{name}.yaml", overrides)
        layer = Gemm(m=size, k=size, n=size, dtype=dtype)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        low = lower(config, layer)
        report = run_layer(config, layer)
        wall = time.perf_counter() - t0
        p = low.plan
        compute = p.calls_per_core * p.kernel_cycles
        ddr = p.estimate.ddr_bytes / ddr_bytes_per_cycle(config.ddr, config.clock_mhz)
        bound, which = max((compute, "compute"), (ddr, "DDR"))
        label = name + ("".join(f" {o}" for o in overrides))
        print(f"{label:<34} {f'{size}^3 {dtype}':>10} {f'{p.m}x{p.k}x{p.n}':>9} {report.cycles:>11,} "
              f"{compute:>11,.0f} {ddr:>11,.0f} {which:>7} {report.cycles / bound:>6.3f} "
              f"{report.achieved_tops:>6.2f} {report.peak_tops:>6.2f} {wall:>7.1f}")


if __name__ == "__main__":
    main()
