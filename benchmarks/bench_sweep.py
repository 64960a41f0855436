"""Sweep throughput: points per second in this process (serial), in a local process pool, and on a
Dask LocalCluster (loopback), for two kinds of point:

- small: the six small GEMMs of workloads/small_gemms.yaml on configs/tiny.yaml (tens of
  milliseconds a point: start-up and scheduling costs show);
- conv1: ResNet-18's first convolution on configs/npu1.yaml (about half a second a point: the
  simulation dominates).

Each backend runs the same grid and must give the same table. The first pool row includes
starting the fork server (which imports npusim once) and the workers; "pool, again" is a second
sweep in the same process, whose workers fork from the running fork server. The Dask rows run on
a cluster started beforehand (its start-up time is printed below the table).

    .venv/bin/python benchmarks/bench_sweep.py [--quick] [--no-dask] [--workers N]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from npusim.sweep import define, run_sweep

ROOT = Path(__file__).resolve().parents[1]
CONV1 = {"op": "conv2d", "name": "conv1", "in_channels": 3, "height": 224, "width": 224, "out_channels": 64,
         "kernel_h": 7, "kernel_w": 7, "stride": 2, "padding": 3}


def cases(quick: bool) -> dict[str, Any]:
    bandwidths = [4, 8] if quick else [4, 6, 8, 12, 16, 24]
    return {
        "small": define(ROOT / "configs/tiny.yaml", ROOT / "workloads/small_gemms.yaml",
                        {"columns": [1, 2], "compute_rows": [1, 2], "ddr.bandwidth_gb_per_s": bandwidths}),
        "conv1": define(ROOT / "configs/npu1.yaml", CONV1,
                        {"columns": [1, 2], "ddr.bandwidth_gb_per_s": [10, 15, 20, 30] if not quick else [10, 20]}),
    }


def timed(spec: Any, **how: Any) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    table, summary = run_sweep(spec, progress=False, **how)
    assert summary.failed == 0, summary.lines()
    return time.perf_counter() - start, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer points")
    ap.add_argument("--no-dask", action="store_true", help="leave the Dask LocalCluster out")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="pool and cluster processes")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; pool and cluster of {args.workers} processes\n")
    print(f"{'case':<6} {'points':>6} {'backend':<22} {'seconds':>8} {'points/s':>9} {'speed-up':>9}")
    cluster = client = None
    if not args.no_dask:
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0")
        client = Client(cluster)
        cluster_start = time.perf_counter() - start
    try:
        for name, spec in cases(args.quick).items():
            n = len(spec.points())
            pool = {"workers": args.workers}
            runs = {"serial (this process)": {"workers": 1}, f"pool ({args.workers} processes)": pool,
                    "pool, again": pool}
            if client is not None:
                runs[f"Dask ({args.workers} workers)"] = {"client": client}
            base: pd.DataFrame | None = None
            serial_s = 0.0
            for backend, how in runs.items():
                seconds, table = timed(spec, **how)
                if base is None:
                    base, serial_s = table, seconds
                else:
                    pd.testing.assert_frame_equal(base, table)
                print(f"{name:<6} {n:>6} {backend:<22} {seconds:>8.2f} {n / seconds:>9.2f} {serial_s / seconds:>8.2f}x")
        if client is not None:
            print(f"\nthe LocalCluster took {cluster_start:.2f} s to start (not in the Dask rows)")
    finally:
        if client is not None and cluster is not None:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
