"""Engine speed: wall time, engine events and simulated cycles per wall-second, peak memory, and how
they scale, against a bare SimPy baseline measured in the same run.

Table 1, the issue's cases, each run in a fresh process (so that its peak memory is its own):
GEMM 512^3, 2048^3 and 4096^3 bf16 on npu2, the conv layers of ResNet-50 on npu2 (timing-only and
with interval recording), and the BERT-base layer on npu1. Every events/s figure is also given as
a ratio to a bare SimPy producer -> four Stores -> consumer chain.

Table 2, scaling: wall time against the number of kernel calls and transfers (GEMMs of growing
size, and a double-buffered stream of growing length), with the fitted exponent; the same stream
with 1000x longer kernel calls (wall time must not grow with cycles); peak traced memory against
the stream's length with interval recording off (it must stay flat).

    .venv/bin/python benchmarks/bench_engine.py [--quick] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import simpy

from npusim import Gemm, load_config, load_workload, simulate
from npusim.engine import RunOptions, run_program
from npusim.frontend.layers.matmul import Conv2d
from npusim.frontend.lower import lower
from npusim.isa import program_from_dict
from npusim.stats.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the baseline


def bare_simpy_chain(tokens: int) -> float:
    """Events per second of a bare SimPy producer -> 4 Stores -> consumer chain."""
    env = simpy.Environment()
    stores = [simpy.Store(env, capacity=1) for _ in range(4)]

    def producer():  # type: ignore[no-untyped-def]
        for i in range(tokens):
            yield env.timeout(1)
            yield stores[0].put(i)

    def stage(a, b):  # type: ignore[no-untyped-def]
        while True:
            item = yield a.get()
            yield b.put(item)

    def consumer():  # type: ignore[no-untyped-def]
        for _ in range(tokens):
            yield stores[-1].get()

    env.process(producer())
    for a, b in zip(stores, stores[1:]):
        env.process(stage(a, b))
    done = env.process(consumer())
    t = time.perf_counter()
    env.run(until=done)
    wall = time.perf_counter() - t
    return next(env._eid) / wall  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the cases


def _work(rec: Recorder) -> int:
    """Kernel calls and transfers (BDs and shim tasks) of a run."""
    return sum(c.calls for c in rec.cores.values()) + sum(c.bds for c in rec.channels.values())


def _layers(config_name: str, layers: list[Gemm | Conv2d], intervals: bool = False) -> dict[str, Any]:
    """Lower and simulate ``layers`` one after another (timing-only); totals of the runs."""
    config = load_config(ROOT / f"configs/{config_name}.yaml")
    options = RunOptions(record_intervals=intervals)
    cycles = events = hardware = work = 0
    t = time.perf_counter()
    for layer in layers:
        low = lower(config, layer, None)
        rec = run_program(config, low.program, options, layout=low.layout)
        cycles += rec.cycles
        events += rec.events
        hardware += rec.hardware_events
        work += _work(rec)
    return {"wall_s": time.perf_counter() - t, "cycles": cycles, "events": events, "hardware_events": hardware,
            "work": work}


def _workload(config_name: str, path: str, kind: str | None = None, intervals: bool = False) -> dict[str, Any]:
    layers = [ly for ly in load_workload(ROOT / path).layers if kind is None or ly.op == kind]
    return _layers(config_name, layers, intervals)


def _gemm(size: int) -> Callable[[], dict[str, Any]]:
    return lambda: _layers("npu2", [Gemm(m=size, k=size, n=size, dtype="bf16")])


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "GEMM 512^3 bf16, npu2": _gemm(512),
    "GEMM 2048^3 bf16, npu2": _gemm(2048),
    "GEMM 4096^3 bf16, npu2": _gemm(4096),
    "ResNet-50 convs, npu2": lambda: _workload("npu2", "workloads/resnet50.yaml", "conv2d"),
    "ResNet-50 convs, npu2, intervals": lambda: _workload("npu2", "workloads/resnet50.yaml", "conv2d", True),
    "BERT-base layer, npu1": lambda: _workload("npu1", "workloads/bert_base_layer.yaml"),
}
QUICK = ("GEMM 512^3 bf16, npu2", "GEMM 2048^3 bf16, npu2", "BERT-base layer, npu1")


def _child(name: str, out: Any) -> None:
    row = CASES[name]()
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send(row)


def run_isolated(name: str) -> dict[str, Any]:
    """Run one case in a fresh interpreter and return its figures (peak RSS is the child's)."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(name, send))
    proc.start()
    row: dict[str, Any] = recv.recv()
    proc.join()
    return dict(row, case=name)


# ---------------------------------------------------------------- scaling


def stream_program(blocks: int, kernel_m: int) -> dict[str, Any]:
    """A memory tile streaming ``blocks`` 1 KiB blocks into a core's ping/pong buffers."""
    def bd(buf: str, acq: str, rel: str, nxt: int | None = None) -> dict[str, Any]:
        return {"buffer": buf, "length_bytes": 1024, "next": nxt, "acquire": {"lock": acq}, "release": {"lock": rel}}

    def step(full: str, empty: str) -> list[dict[str, Any]]:
        return [{"op": "acquire", "lock": full},
                {"op": "compute", "m": kernel_m, "k": 32, "n": 32, "dtype": "int8"},
                {"op": "release", "lock": empty}]
    return {
        "name": f"stream x{blocks}",
        "tiles": [
            {"tile": [0, 1], "buffers": [{"name": "src", "size_bytes": 1024}],
             "dma": [{"channel": "mm2s0", "bds": [{"buffer": "src", "length_bytes": 1024, "next": 0}]}]},
            {"tile": [0, 2], "buffers": [{"name": "ping", "size_bytes": 1024}, {"name": "pong", "size_bytes": 1024}],
             "locks": [{"name": "ping_empty", "init": 1}, {"name": "ping_full"},
                       {"name": "pong_empty", "init": 1}, {"name": "pong_full"}],
             "dma": [{"channel": "s2mm0", "repeat": 1, "bds": [
                 bd("ping", "ping_empty", "ping_full"), bd("pong", "pong_empty", "pong_full", 0)]}],
             "core": [{"op": "loop", "count": blocks // 2,
                       "body": step("ping_full", "ping_empty") + step("pong_full", "pong_empty")}]},
        ],
        "routes": [{"name": "feed", "source": {"tile": [0, 1], "channel": "mm2s0"},
                    "destinations": [{"tile": [0, 2], "channel": "s2mm0"}]}],
    }


def stream_run(blocks: int, kernel_m: int, trace_memory: bool = False) -> dict[str, Any]:
    config = load_config(ROOT / "configs/tiny.yaml")
    program = program_from_dict(stream_program(blocks, kernel_m))
    if trace_memory:
        tracemalloc.start()
    t = time.perf_counter()
    report = simulate(config, program)
    wall = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace_memory else None
    if trace_memory:
        tracemalloc.stop()
    return {"blocks": blocks, "kernel_m": kernel_m, "cycles": report.cycles, "events": report.engine_events,
            "wall_s": wall, "peak_traced_mib": peak}


def exponent(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


# ---------------------------------------------------------------- printing


def print_cases(rows: list[dict[str, Any]], baseline: float) -> None:
    """Per case: engine events (what SimPy scheduled) and hardware events (what was simulated:
    kernel calls, lock operations, BDs and tasks, route segments), each per second and as a
    ratio to the bare chain's events per second."""
    print(f"{'case':<34} {'wall s':>6} {'cycles':>11} {'engine ev':>10} {'per s':>8} {'x chain':>7} "
          f"{'hw events':>10} {'per s':>9} {'x chain':>7} {'cycles/s':>10} {'MiB':>4}")
    for r in rows:
        eps, hps = r["events"] / r["wall_s"], r["hardware_events"] / r["wall_s"]
        print(f"{r['case']:<34} {r['wall_s']:>6.2f} {r['cycles']:>11,} {r['events']:>10,} {eps:>8,.0f} "
              f"{eps / baseline:>7.2f} {r['hardware_events']:>10,} {hps:>9,.0f} {hps / baseline:>7.2f} "
              f"{r['cycles'] / r['wall_s']:>10,.0f} {r['peak_rss_mib']:>4.0f}")


def scaling(quick: bool) -> dict[str, Any]:
    sizes = [256, 512, 1024, 2048] + ([] if quick else [4096])
    gemms = [dict(_layers("npu2", [Gemm(m=s, k=s, n=s, dtype="bf16")]), size=s) for s in sizes]
    print(f"\n{'GEMM bf16 npu2':<16} {'calls+transfers':>15} {'cycles':>13} {'wall s':>8} {'us per item':>11}")
    for g in gemms:
        print(f"{g['size']:>6}^3{'':<8} {g['work']:>15,} {g['cycles']:>13,} {g['wall_s']:>8.3f} "
              f"{1e6 * g['wall_s'] / g['work']:>11.2f}")
    g_exp = exponent([g["work"] for g in gemms[1:]], [g["wall_s"] for g in gemms[1:]])
    print(f"wall time ~ (kernel calls + transfers)^{g_exp:.2f} (fitted from 512^3 up)")
    blocks = [1_000, 10_000, 100_000]
    streams = [stream_run(b, k) for k in (32, 32_000) for b in blocks]
    print(f"\n{'stream blocks':>13} {'kernel m':>8} {'cycles':>14} {'events':>10} {'wall s':>8}")
    for s in streams:
        print(f"{s['blocks']:>13,} {s['kernel_m']:>8,} {s['cycles']:>14,} {s['events']:>10,} {s['wall_s']:>8.3f}")
    s_exp = {k: exponent([float(b) for b in blocks], [s["wall_s"] for s in streams if s["kernel_m"] == k])
             for k in (32, 32_000)}
    for k, e in s_exp.items():
        print(f"kernel m={k}: wall time ~ blocks^{e:.2f}")
    mem = [stream_run(b, 32, trace_memory=True) for b in blocks]
    print("peak traced memory, intervals off: " + ", ".join(
        f"{m['blocks']:,} blocks {m['peak_traced_mib']:.2f} MiB" for m in mem))
    return {"gemms": gemms, "gemm_exponent": g_exp, "streams": streams, "stream_exponents": s_exp, "memory": mem}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}; scaling up to 2048^3")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    baseline = bare_simpy_chain(200_000)
    print(f"bare SimPy 4-Store chain: {baseline:,.0f} events/s (in this run)\n")
    rows = [run_isolated(name) for name in CASES if not args.quick or name in QUICK]
    print_cases(rows, baseline)
    scale = scaling(args.quick)
    if args.json:
        args.json.write_text(json.dumps({"baseline_events_per_s": baseline, "cases": rows, "scaling": scale},
                                        indent=2))


if __name__ == "__main__":
    main()
