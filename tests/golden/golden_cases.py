"""Golden runs: every counter of a fixed set of programs, to prove that engine speed-ups change
nothing but the wall time.

Each case is a shipped trace, a lowered layer or a lowered vector operator on a shipped config. What is pinned: total cycles,
every core, channel, route and DDR counter, a digest of the recorded intervals, and for functional
cases a digest of every DDR tensor's final bytes. Engine events are not pinned (removing events is
the point of a speed-up).

Regenerate after a deliberate timing change (and say why in the commit):

    .venv/bin/python tests/golden/golden_cases.py --write
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from npusim import Conv2d, Gemm, load_config
from npusim.engine import RunOptions, run_functional, run_program
from npusim.frontend.data.matmul import pack, random_operands
from npusim.frontend.lower import lower
from npusim.frontend.mapper.design import Pins
from npusim.frontend.data.vector import pack_vector, random_vector_operands
from npusim.frontend.layers.vector import Elementwise, LayerNorm, Pool, Softmax, VectorLayer
from npusim.frontend.program.vector import lower_vector, tensor_bytes
from npusim.isa import load_program
from npusim.stats.recorder import Recorder

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("cycles.json")

TRACES = {
    "passthrough": "tiny", "pingpong": "tiny", "broadcast": "npu1", "pipeline_2core": "npu1",
}
LAYERS: dict[str, tuple[str, Gemm | Conv2d, bool]] = {
    "npu1 gemm 256^3 int8": ("npu1", Gemm(m=256, k=256, n=256, dtype="int8"), False),
    "npu2 gemm 512^3 bf16": ("npu2", Gemm(m=512, k=512, n=512, dtype="bf16"), False),
    "npu2 gemm 300x200x100 int16": ("npu2", Gemm(m=300, k=200, n=100, dtype="int16"), False),
    "npu1 conv 32->64 3x3 28x28": ("npu1", Conv2d(batch=1, in_channels=32, height=28, width=28, out_channels=64,
                                                  kernel_h=3, kernel_w=3, stride=1, padding=1, dtype="int8"), False),
    "npu2 conv 16->32 3x3 s2 bf16": ("npu2", Conv2d(batch=1, in_channels=16, height=30, width=30, out_channels=32,
                                                    kernel_h=3, kernel_w=3, stride=2, padding=1, dtype="bf16"), False),
    "tiny gemm 64x96x40 int8->int8 functional": (
        "tiny", Gemm(m=64, k=96, n=40, dtype="int8", out_dtype="int8", shift=4), True),
    "npu1 conv 8->16 3x3 functional": (
        "npu1", Conv2d(batch=1, in_channels=8, height=12, width=12, out_channels=16, kernel_h=3, kernel_w=3,
                       stride=1, padding=1, dtype="int8", out_dtype="int32"), True),
    "npu2 gemm 128x64x96 bf16 functional": ("npu2", Gemm(m=128, k=64, n=96, dtype="bf16"), True),
    "npu1 conv 16->32 3x3 +bias +relu int8 functional": (
        "npu1", Conv2d(batch=1, in_channels=16, height=14, width=14, out_channels=32, kernel_h=3, kernel_w=3,
                       stride=1, padding=1, dtype="int8", out_dtype="int8", shift=6, bias=True, relu=True), True),
}
VECTORS: dict[str, tuple[str, VectorLayer, bool]] = {
    "npu1 add 64x256 int8 functional": ("npu1", Elementwise(kind="add", shape=(64, 256), broadcast="row", dtype="int8"), True),
    "npu2 gelu 128x768 bf16": ("npu2", Elementwise(kind="gelu", shape=(128, 768), dtype="bf16"), False),
    "npu1 max pool 3x3 s2 int8 functional": (
        "npu1", Pool(kind="max", channels=16, height=28, width=28, kernel_h=3, kernel_w=3, stride=2, padding=1,
                     dtype="int8"), True),
    "npu2 softmax 512x512 bf16": ("npu2", Softmax(rows=512, length=512, dtype="bf16"), False),
    "npu1 layernorm 128x768 bf16 functional": ("npu1", LayerNorm(rows=128, length=768, dtype="bf16"), True),
}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def counters(rec: Recorder) -> dict[str, Any]:
    """Every counter of a run, as JSON-ready plain values."""
    def slots(obj: Any) -> dict[str, Any]:
        return {k: getattr(obj, k) for k in type(obj).__slots__ if k != "switches"}
    return {
        "cycles": rec.cycles,
        "lock_operations": {f"{t}": n for t, n in sorted(rec.lock_operations.items())},
        "cores": {f"{t}": slots(c) for t, c in sorted(rec.cores.items())},
        "channels": {f"{t} {ch}": slots(c) for (t, ch), c in sorted(rec.channels.items())},
        "routes": {n: slots(r) for n, r in sorted(rec.routes.items())},
        "ddr": slots(rec.ddr),
        "intervals": _digest(json.dumps(sorted(rec.intervals or [])).encode()),
    }


def measure_trace(name: str) -> dict[str, Any]:
    config = load_config(ROOT / f"configs/{TRACES[name]}.yaml")
    program = load_program(ROOT / f"traces/{name}.json")
    return counters(run_program(config, program, RunOptions(record_intervals=True)))


TILES = {
    "npu1 gemm 256^3 int8": (64, 64, 64), "npu2 gemm 512^3 bf16": (64, 32, 64),
    "npu2 gemm 300x200x100 int16": (48, 32, 16), "npu1 conv 32->64 3x3 28x28": (32, 32, 16),
    "npu2 conv 16->32 3x3 s2 bf16": (16, 48, 8), "tiny gemm 64x96x40 int8->int8 functional": (32, 96, 24),
    "npu1 conv 8->16 3x3 functional": (16, 8, 8), "npu2 gemm 128x64x96 bf16 functional": (32, 64, 16),
    "npu1 conv 16->32 3x3 +bias +relu int8 functional": (16, 16, 8),
}
"""Each layer's design is pinned (the whole array, these tiles, C as 32-bit accumulators in two
buffers, nothing resident, B tile by tile: the lowering of the first round), so that what the
golden runs pin is the program builder and the engine, whatever the mapper's search prefers."""


def measure_layer(name: str) -> dict[str, Any]:
    cfg, layer, functional = LAYERS[name]
    config = load_config(ROOT / f"configs/{cfg}.yaml")
    pins = Pins(columns=config.columns, rows=config.compute_rows, tiles=TILES[name], c_buffers=2, c_storage="acc",
                reuse="none", b_layout="tiled")
    low = lower(config, layer, pins=pins)
    options = RunOptions(record_intervals=True)
    if not functional:
        return counters(run_program(config, low.program, options))
    tensors = pack(low.plan, random_operands(layer, 0), low.a_bytes)
    rec, out = run_functional(config, low.program, tensors, options)
    return dict(counters(rec), tensors={n: _digest(b.tobytes()) for n, b in sorted(out.items())})


def measure_vector(name: str) -> dict[str, Any]:
    cfg, layer, functional = VECTORS[name]
    config = load_config(ROOT / f"configs/{cfg}.yaml")
    low = lower_vector(config, layer)
    options = RunOptions(record_intervals=True)
    if not functional:
        return counters(run_program(config, low.program, options))
    tensors = pack_vector(low.plan, random_vector_operands(layer, 0), tensor_bytes(low.plan))
    rec, out = run_functional(config, low.program, tensors, options)
    return dict(counters(rec), tensors={n: _digest(b.tobytes()) for n, b in sorted(out.items())})


def measure_all() -> dict[str, Any]:
    return {**{f"trace {n}": measure_trace(n) for n in TRACES}, **{n: measure_layer(n) for n in LAYERS},
            **{n: measure_vector(n) for n in VECTORS}}


def main() -> None:
    ap = argparse.ArgumentParser(description="Check or rewrite the golden counters.")
    ap.add_argument("--write", action="store_true", help=f"rewrite {GOLDEN.name}")
    args = ap.parse_args()
    now = measure_all()
    if args.write:
        GOLDEN.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
        return
    old = json.loads(GOLDEN.read_text())
    bad = [k for k in now if now[k] != old.get(k)]
    print("\n".join(f"changed: {k}" for k in bad) or "all golden runs unchanged")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
