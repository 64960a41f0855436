"""Where the figures of the estimate before a run come from (npusim/limits.py): hardware events
per kernel call, hardware events simulated per wall-clock second, and how the estimated cycles
and wall time compare with the run's.

For each layer below (GEMMs, convolutions and vector operators, npu1 and npu2, timing-only) it
lowers, takes the estimate the limits check (``npusim.runner.estimate_of``: the lowering's
cycles, and its kernel calls over all cores), simulates, and prints the run's cycles, hardware
events, events per kernel call and events per second, then the estimated wall time
(``limits.wall_seconds``) against the measured one.

``EVENTS_PER_KERNEL_CALL`` in npusim/limits.py is the largest events-per-call ratio printed;
``EVENTS_PER_SECOND`` about the slowest events-per-second rate of the layers of more than
100,000 events (small runs carry a fixed cost and are not what a wall-time budget is for).

    .venv/bin/python benchmarks/bench_estimate.py
"""
from __future__ import annotations

import time
from pathlib import Path

from npusim import Conv2d, Elementwise, Gemm, LayerNorm, Pool, Softmax, load_config, lower, lower_vector
from npusim.engine import RunOptions, run_program
from npusim.frontend import AnyLayer
from npusim.limits import EVENTS_PER_KERNEL_CALL, EVENTS_PER_SECOND, wall_seconds
from npusim.runner import estimate_of

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[tuple[str, AnyLayer]] = [
    ("npu2", Gemm(name="gemm 512^3 bf16", m=512, k=512, n=512, dtype="bf16")),
    ("npu2", Gemm(name="gemm 2048^3 bf16", m=2048, k=2048, n=2048, dtype="bf16")),
    ("npu1", Gemm(name="gemm 1024^3 int8", m=1024, k=1024, n=1024, dtype="int8")),
    ("npu1", Gemm(name="gemm 4096x64x4096 int8", m=4096, k=64, n=4096, dtype="int8")),
    ("npu2", Conv2d(name="conv 56x56 64->64 3x3", in_channels=64, height=56, width=56, out_channels=64,
                    kernel_h=3, kernel_w=3, padding=1, dtype="int8")),
    ("npu1", Conv2d(name="conv 224x224 3->64 7x7/2", in_channels=3, height=224, width=224, out_channels=64,
                    kernel_h=7, kernel_w=7, stride=2, padding=3, dtype="int8")),
    ("npu1", Elementwise(name="gelu 512x3072 bf16", kind="gelu", shape=(512, 3072), dtype="bf16")),
    ("npu2", Elementwise(name="add 1x56x56x256 int8", kind="add", shape=(1, 56, 56, 256), broadcast="same",
                         dtype="int8")),
    ("npu1", Softmax(name="softmax 1536x512 bf16", rows=1536, length=512, dtype="bf16")),
    ("npu1", LayerNorm(name="layernorm 512x768 bf16", rows=512, length=768, dtype="bf16")),
    ("npu2", Pool(name="max pool 112x112x64 3x3/2", kind="max", channels=64, height=112, width=112, kernel_h=3,
                  kernel_w=3, stride=2, padding=1, dtype="int8")),
]


def main() -> None:
    print(f"limits.py: EVENTS_PER_KERNEL_CALL = {EVENTS_PER_KERNEL_CALL}, EVENTS_PER_SECOND = {EVENTS_PER_SECOND:,.0f}\n")
    head = (f"{'layer':<28} {'config':<6} {'est cycles':>13} {'cycles':>13} {'calls':>9} {'hw events':>10} "
            f"{'ev/call':>7} {'ev/s':>9} {'est wall s':>10} {'wall s':>7}")
    print(head)
    ratios, rates = [], []
    for config_name, layer in LAYERS:
        config = load_config(ROOT / f"configs/{config_name}.yaml")
        low = lower(config, layer) if isinstance(layer, (Gemm, Conv2d)) else lower_vector(config, layer)
        cycles, calls, _, _ = estimate_of(low)
        t = time.perf_counter()
        rec = run_program(config, low.program, RunOptions(), layout=low.layout)
        wall = time.perf_counter() - t
        per_call, per_s = rec.hardware_events / calls, rec.hardware_events / wall
        ratios.append(per_call)
        if rec.hardware_events > 100_000:
            rates.append(per_s)
        print(f"{layer.name:<28} {config_name:<6} {cycles:>13,} {rec.cycles:>13,} {calls:>9,} "
              f"{rec.hardware_events:>10,} {per_call:>7.2f} {per_s:>9,.0f} {wall_seconds(calls):>10.2f} {wall:>7.2f}")
    print(f"\nhardware events per kernel call: {min(ratios):.2f} to {max(ratios):.2f}")
    if rates:
        print(f"hardware events per second (runs of more than 100,000 events): {min(rates):,.0f} to {max(rates):,.0f}")


if __name__ == "__main__":
    main()
