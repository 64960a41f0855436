"""Engine speed: simulated cycles and engine events per wall-second, and how they scale.

Runs a double-buffered stream (memory tile -> compute tile, ping/pong, the core computing on each
block) with a growing number of blocks, and the same with 1000x longer kernel calls, on the tiny
config. Prints a table and the fitted exponent of wall time against the number of blocks, and the
events/s of a bare SimPy producer-consumer chain of four Stores as a baseline.

    .venv/bin/python benchmarks/bench_engine.py [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import simpy

from npusim import load_config, simulate
from npusim.isa import program_from_dict

ROOT = Path(__file__).resolve().parents[1]


def stream_program(blocks: int, kernel: int) -> dict:
    """A memory tile streaming ``blocks`` 1 KiB blocks into a core's ping/pong buffers."""
    bd = lambda buf, acq, rel, nxt=None: {"buffer": buf, "length_bytes": 1024, "next": nxt,  # noqa: E731
                                          "acquire": {"lock": acq}, "release": {"lock": rel}}
    step = lambda full, empty: [{"op": "acquire", "lock": full},  # noqa: E731
                                {"op": "compute", "m": kernel, "k": 32, "n": 32, "dtype": "int8"},
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


def measure(blocks: int, kernel: int) -> dict:
    config = load_config(ROOT / "configs/tiny.yaml")
    program = program_from_dict(stream_program(blocks, kernel))
    t = time.perf_counter()
    report = simulate(config, program)
    wall = time.perf_counter() - t
    return {"blocks": blocks, "kernel_m": kernel, "cycles": report.cycles, "events": report.engine_events,
            "wall_s": wall, "events_per_s": report.engine_events / wall, "cycles_per_s": report.cycles / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    baseline = bare_simpy_chain(100_000)
    rows = [measure(b, k) for k in (32, 32_000) for b in (1_000, 10_000, 100_000)]
    print(f"bare SimPy 4-Store chain: {baseline:,.0f} events/s\n")
    print(f"{'blocks':>8} {'kernel m':>8} {'cycles':>14} {'events':>10} {'wall s':>8} {'events/s':>11} "
          f"{'x chain':>7} {'cycles/s':>14}")
    for r in rows:
        print(f"{r['blocks']:>8,} {r['kernel_m']:>8,} {r['cycles']:>14,} {r['events']:>10,} {r['wall_s']:>8.3f} "
              f"{r['events_per_s']:>11,.0f} {r['events_per_s'] / baseline:>7.2f} {r['cycles_per_s']:>14,.0f}")
    for k in (32, 32_000):
        pts = [(math.log(r["blocks"]), math.log(r["wall_s"])) for r in rows if r["kernel_m"] == k]
        n = len(pts)
        mx, my = sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
        slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
        print(f"kernel m={k}: wall time ~ blocks^{slope:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"baseline_events_per_s": baseline, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
