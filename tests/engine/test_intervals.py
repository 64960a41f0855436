"""Per-event intervals are kept only when asked for, and agree with the counters."""
from __future__ import annotations

from pathlib import Path

from npusim import RunOptions, load_config, load_program
from npusim.engine import run_program
from npusim.isa import Acquire, Instruction, Loop, Release

ROOT = Path(__file__).resolve().parents[2]


def lock_ops(body: tuple[Instruction, ...]) -> int:
    """Acquire and release instructions a core executes, loops included."""
    n = 0
    for ins in body:
        if isinstance(ins, Loop):
            n += ins.count * lock_ops(ins.body)
        elif isinstance(ins, (Acquire, Release)):
            n += 1
    return n


def test_intervals_off_by_default_and_consistent_when_on() -> None:
    config = load_config(ROOT / "configs/tiny.yaml")
    program = load_program(ROOT / "traces/pipeline_2core.json")
    assert run_program(config, program).intervals is None
    rec = run_program(config, program, RunOptions(record_intervals=True))
    assert rec.intervals
    for tile, stats in rec.cores.items():
        name = f"core ({tile[0]},{tile[1]})"
        mine = [(s, e, st) for s, e, unit, st in rec.intervals if unit == name]
        computed = sum(e - s for s, e, st in mine if st == "busy")
        core = next(tp.core for tp in program.tiles if tp.tile == tile)
        # busy = kernel intervals + 1 cycle per lock operation (tiny: acquire and release take 1)
        assert computed == stats.busy - lock_ops(core)
        assert sum(e - s for s, e, st in mine if st == "lock_stall") == stats.lock_stall
        assert sum(e - s for s, e, st in mine if st == "dma_stall") == stats.dma_stall
    assert all(s < e for s, e, _, _ in rec.intervals)
    assert max(e for _, e, _, _ in rec.intervals) <= rec.cycles
