"""Small end-to-end checks of the units through npusim.simulate on configs/tiny.yaml.

tiny: 1 GHz; int8 kernel 256 MAC/cycle at 1.0 + 10 cycles (16x16x16 = 4096 MACs -> 26 cycles);
locks acquire 1, release 1; DMA start-up 5; streams and DMAs 4 B/cycle; 2 cycles per switch
(neighbouring tiles: 4); shim task queue depth 4; DDR 8 B/cycle, 100 ns = 100 cycles.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from npusim import (
    DeadlockError,
    MaxCyclesError,
    Report,
    RunOptions,
    load_config,
    simulate,
)
from npusim.engine import run_program
from npusim.isa import program_from_dict
from npusim.stats.report import ChannelReport, CoreReport, TileReport

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
KERNEL = 26  # tiny int8 16x16x16: 4096 / 256 + 10


def run(data: dict[str, Any], overrides: tuple[str, ...] = (), **options: Any) -> Report:
    config = load_config(TINY, overrides=list(overrides))
    return simulate(config, program_from_dict(data), RunOptions(**options))


def compute(m: int = 16, k: int = 16, n: int = 16) -> dict[str, Any]:
    return {"op": "compute", "m": m, "k": k, "n": n, "dtype": "int8"}


def core_only(*body: dict[str, Any]) -> dict[str, Any]:
    return {"name": "core", "tiles": [{"tile": [0, 2], "core": list(body)}]}


def tile(report: Report, col: int, row: int) -> TileReport:
    return next(t for t in report.tiles if (t.col, t.row) == (col, row))


def channel(report: Report, col: int, row: int, name: str) -> ChannelReport:
    return next(c for c in tile(report, col, row).channels if c.channel == name)


def route(name: str, src: tuple[int, int, str], dst: tuple[int, int, str]) -> dict[str, Any]:
    return {"name": name, "source": {"tile": list(src[:2]), "channel": src[2]},
            "destinations": [{"tile": list(dst[:2]), "channel": dst[2]}]}


# -- (a) compute: loops stay loops, cost does not grow with cycles -------------------------------

def test_loop_of_compute_calls_takes_count_times_kernel_cycles() -> None:
    r = run(core_only({"op": "loop", "count": 1000, "body": [compute()]}))
    assert r.cycles == 1000 * KERNEL == 26000
    assert tile(r, 0, 2).core == CoreReport(busy=26000, lock_stall=0, dma_stall=0, idle=0,
                                            kernel_calls=1000, macs=1000 * 4096)
    assert r.seconds == pytest.approx(26000e-9)


def test_nested_loops_multiply() -> None:
    r = run(core_only({"op": "loop", "count": 10, "body": [
        compute(), {"op": "loop", "count": 3, "body": [compute(1, 1, 256)]}]}))
    # 10 * (26 + 3 * (256 / 256 + 10 = 11)) = 10 * 59 = 590
    assert r.cycles == 590
    assert tile(r, 0, 2).core.kernel_calls == 40  # type: ignore[union-attr]


def test_engine_events_do_not_grow_with_cycles() -> None:
    small = run(core_only(compute()))
    huge = run(core_only(compute(4096, 4096, 4096)))
    assert small.cycles == KERNEL
    assert huge.cycles == 4096**3 // 256 + 10 == 268435466
    assert huge.engine_events == small.engine_events
    # a core that never waits runs ahead on its own clock: 1000 calls cost no more events than one
    looped = run(core_only({"op": "loop", "count": 1000, "body": [compute(4096, 4096, 4096)]}))
    assert looped.cycles == 1000 * 268435466
    assert looped.engine_events == small.engine_events


# -- (b) core stalls: on another core (lock_stall) or on a DMA (dma_stall) -----------------------

def test_core_waiting_on_a_core_release_counts_lock_stall() -> None:
    # core (0,2): compute 0..26, release (1 cycle) -> L = 1 at 27.
    # core (0,3): acquire L at 0, granted at 27 by a core -> lock_stall 27; + 1 acquire -> 28.
    prog = {"name": "lock_stall", "tiles": [
        {"tile": [0, 2], "locks": [{"name": "L"}], "core": [compute(), {"op": "release", "lock": "L"}]},
        {"tile": [0, 3], "core": [{"op": "acquire", "lock": "L"}]},
    ]}
    r = run(prog)
    assert r.cycles == 28
    assert tile(r, 0, 3).core == CoreReport(busy=1, lock_stall=27, dma_stall=0, idle=0,
                                            kernel_calls=0, macs=0)
    assert tile(r, 0, 2).core == CoreReport(busy=27, lock_stall=0, dma_stall=0, idle=1,
                                            kernel_calls=1, macs=4096)


def test_core_waiting_on_a_dma_release_counts_dma_stall() -> None:
    # mem (0,1) mm2s0 -> tile (0,2) s2mm0, 400 B, no acquire: both start-ups 5 -> data 5..105
    # (400 / 4). The S2MM lands its last word at 105 + 4 (2 switches x 2) = 109 and posts its
    # release 1 cycle later: 'full' = 1 at 110. The core waited 0..110 on a DMA, then 1 cycle.
    prog = {"name": "dma_stall", "tiles": [
        {"tile": [0, 1], "buffers": [{"name": "src", "size_bytes": 400}],
         "dma": [{"channel": "mm2s0", "bds": [{"buffer": "src", "length_bytes": 400}]}]},
        {"tile": [0, 2], "buffers": [{"name": "dst", "size_bytes": 400}], "locks": [{"name": "full"}],
         "dma": [{"channel": "s2mm0", "bds": [
             {"buffer": "dst", "length_bytes": 400, "release": {"lock": "full"}}]}],
         "core": [{"op": "acquire", "lock": "full"}]},
    ], "routes": [route("r", (0, 1, "mm2s0"), (0, 2, "s2mm0"))]}
    r = run(prog)
    assert r.cycles == 111
    assert tile(r, 0, 2).core == CoreReport(busy=1, lock_stall=0, dma_stall=110, idle=0,
                                            kernel_calls=0, macs=0)
    assert r.routes[0].bytes == 400 and r.routes[0].busy == 100


# -- (c) the shim task queue -----------------------------------------------------------------

# DDR accesses of one word: no transfer is rounded up to whole 64-byte accesses, so only the
# queue shows in these counts (400 B would otherwise cost 448 B of DDR bandwidth)
EXACT_DDR = "ddr.access_bytes=4"


def queue_program() -> dict[str, Any]:
    """Three 400-byte tasks on shim mm2s0, then one 4000-byte task on shim mm2s1."""
    tasks = [{"op": "dma", "name": f"a{i}", "tile": [0, 0], "channel": "mm2s0", "tensor": "a",
              "length_bytes": 400} for i in range(3)]
    tasks.append({"op": "dma", "name": "b", "tile": [0, 0], "channel": "mm2s1", "tensor": "b",
                  "length_bytes": 4000})
    return {"name": "queue", "tensors": [{"name": "a", "size_bytes": 400}, {"name": "b", "size_bytes": 4000}],
            "tiles": [{"tile": [0, 1],
                       "buffers": [{"name": "ma", "size_bytes": 400}, {"name": "mb", "size_bytes": 4000}],
                       "dma": [{"channel": "s2mm0", "repeat": 3, "bds": [{"buffer": "ma", "length_bytes": 400}]},
                               {"channel": "s2mm1", "bds": [{"buffer": "mb", "length_bytes": 4000}]}]}],
            "routes": [route("ra", (0, 0, "mm2s0"), (0, 1, "s2mm0")),
                       route("rb", (0, 0, "mm2s1"), (0, 1, "s2mm1"))],
            "runtime": tasks}


def test_task_queue_depth_one_serialises_the_runtime() -> None:
    # Each a-task on mm2s0: start-up 5 + DDR latency 100, then 400 B at 4 B/cycle = 100 cycles:
    # a0 data 105..205, a1 data 310..410, a2 data 515..615 (serial: 3 x 205).
    # Depth 1: a0 is taken at 0 and a1 queued; a2 can be queued only when a1 is taken (205), so
    # the runtime reaches task b only at 205: b's data 310..1310 (4000 / 4; the DDR's 8 B/cycle
    # covers both channels at 4), landing at 1310 + 4 = 1314.
    r = run(queue_program(), ("shim_tile.task_queue_depth=1", EXACT_DDR))
    assert channel(r, 0, 0, "mm2s0") == ChannelReport("mm2s0", 1200, 3, 300, 0, 0)
    assert r.cycles == 1314
    # b's S2MM was ready at 5 and waited for data until 310
    assert channel(r, 0, 1, "s2mm1").stream_stall == 310 - 5
    # a's S2MM is ready 5 cycles after each segment (5, 210, 415) and waits 100 each time
    assert channel(r, 0, 1, "s2mm0").stream_stall == 3 * 100


def test_task_queue_depth_four_lets_the_runtime_run_ahead() -> None:
    # Depth 4: all three a-tasks are queued at 0 and b is issued at 0: b's data 105..1105,
    # landing at 1109; the a-tasks take the same serial 615 as with depth 1.
    r = run(queue_program(), (EXACT_DDR,))
    assert r.cycles == 1109
    assert channel(r, 0, 1, "s2mm1").stream_stall == 105 - 5
    assert channel(r, 0, 0, "mm2s0") == ChannelReport("mm2s0", 1200, 3, 300, 0, 0)


# -- (d) never-ending BD chains do not hold the run open ---------------------------------------

def looping_chains(*core: dict[str, Any]) -> dict[str, Any]:
    return {"name": "looping", "tiles": [
        {"tile": [0, 1], "buffers": [{"name": "s", "size_bytes": 40}],
         "dma": [{"channel": "mm2s0", "bds": [{"buffer": "s", "length_bytes": 40, "next": 0}]}]},
        {"tile": [0, 2], "buffers": [{"name": "d", "size_bytes": 40}], "locks": [{"name": "never"}],
         "dma": [{"channel": "s2mm0", "bds": [{"buffer": "d", "length_bytes": 40, "next": 0}]}],
         "core": list(core)},
    ], "routes": [route("r", (0, 1, "mm2s0"), (0, 2, "s2mm0"))]}


def test_looping_chain_ends_with_the_core() -> None:
    # The core ends at 26. The chains: start-up 5, 40 B in 10 cycles (5..15), start-up again,
    # 20..30 -- only the first segment has ended when the run stops at 26.
    r = run(looping_chains(compute()))
    assert r.cycles == KERNEL
    assert r.routes[0].bytes == 40


def test_looping_chain_with_a_blocked_core_is_a_deadlock_after_the_stall_limit() -> None:
    with pytest.raises(DeadlockError, match="only never-ending BD chains kept running") as exc:
        run(looping_chains({"op": "acquire", "lock": "never"}), stall_limit_cycles=1000)
    assert exc.value.blocked == [("core (0,2)", "acquire lock 'never' >= 1 (value 0)")]
    assert exc.value.cycle == 0


# -- (e) max_cycles ----------------------------------------------------------------------------

def test_max_cycles_stops_a_long_run() -> None:
    with pytest.raises(MaxCyclesError) as exc:
        run(core_only({"op": "loop", "count": 1000, "body": [compute()]}), max_cycles=1000)
    assert str(exc.value) == (
        "<program>: the run went past max_cycles = 1000 with work left; raise --max-cycles or "
        "check for a program that never ends")
    assert exc.value.cycle == 1000  # the limit it went past


def test_max_cycles_above_the_run_does_not_change_it() -> None:
    r = run(core_only({"op": "loop", "count": 1000, "body": [compute()]}), max_cycles=26001)
    assert r.cycles == 26000


def test_max_cycles_message_names_the_source() -> None:
    config = load_config(TINY)
    prog = program_from_dict(core_only({"op": "loop", "count": 10, "body": [compute()]}))
    with pytest.raises(MaxCyclesError, match=r"^long\.json: the run went past max_cycles = 100 "):
        simulate(config, prog, RunOptions(max_cycles=100), source="long.json")


def test_run_ending_exactly_at_max_cycles_succeeds() -> None:
    r = run(core_only({"op": "loop", "count": 1000, "body": [compute()]}), max_cycles=26000)
    assert r.cycles == 26000


# -- (f) RunOptions validation ------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"max_cycles": 0}, "max_cycles must be at least 1, got 0"),
    ({"max_cycles": -5}, "max_cycles must be at least 1, got -5"),
    ({"stall_limit_cycles": 0}, "stall_limit_cycles must be at least 1, got 0"),
])
def test_run_options_reject_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        RunOptions(**kwargs)


def test_run_options_defaults_and_limits() -> None:
    opts = RunOptions()
    assert (opts.max_cycles, opts.stall_limit_cycles, opts.record_intervals) == (None, 1_000_000, False)
    assert RunOptions(max_cycles=1, stall_limit_cycles=1).max_cycles == 1
    with pytest.raises(AttributeError):
        opts.max_cycles = 5  # type: ignore[misc]


# -- (g) short contiguous runs in DDR cost whole accesses --------------------------------------

def strided_read(dims: list[dict[str, int]]) -> dict[str, Any]:
    """One 1 KiB shim read of tensor 'a' through ``dims`` into memory tile (0,1)."""
    return {"name": "strided", "tensors": [{"name": "a", "size_bytes": 16384}],
            "tiles": [{"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 1024}],
                       "dma": [{"channel": "s2mm0", "bds": [{"buffer": "m", "length_bytes": 1024}]}]}],
            "routes": [route("in", (0, 0, "mm2s0"), (0, 1, "s2mm0"))],
            "runtime": [{"op": "dma", "name": "a", "tile": [0, 0], "channel": "mm2s0", "tensor": "a",
                         "length_bytes": 1024, "dims": dims}]}


def test_one_word_runs_make_a_ddr_read_ddr_bound() -> None:
    # Every 16th word: 256 runs of 4 B, each a whole 64 B access: 16384 DDR bytes at tiny's 8 B/cycle
    # = 2048 cycles (the 4 B/cycle stream alone needs 256). Start-up 5 + DDR latency 100, then
    # 105..2153; the memory tile has the last word 2 switches x 2 cycles later: 2157.
    r = run(strided_read([{"size": 256, "stride": 16}]))
    assert r.cycles == 105 + 2048 + 4
    assert (r.ddr.bytes_read, r.ddr.bytes_accessed) == (1024, 16384)


def test_runs_of_whole_accesses_waste_nothing() -> None:
    # rows of 16 words (64 B) 32 words apart: 16 runs of one access each, 1024 DDR bytes: the
    # stream's 256 cycles set the pace, as for a contiguous read.
    r = run(strided_read([{"size": 16, "stride": 1}, {"size": 16, "stride": 32}]))
    assert r.cycles == 105 + 256 + 4
    assert r.ddr.bytes_accessed == 1024


# -- (e) what the power model counts --------------------------------------------------------------

def test_kernel_calls_count_their_memory_bytes_and_macs_per_type() -> None:
    config = load_config(TINY)
    body = [{"op": "loop", "count": 3, "body": [
        {"op": "compute", "m": 16, "k": 32, "n": 8, "dtype": "int8", "zero": True},
        {"op": "compute", "m": 16, "k": 32, "n": 8, "dtype": "int8", "emit": "int8"}]}]
    rec = run_program(config, program_from_dict(core_only(*body)))
    core = rec.cores[(0, 2)]
    operands = 16 * 32 + 32 * 8  # int8 A and B, read by every call
    acc = 16 * 8 * 4  # int32 accumulators: written by both calls, read by the second
    assert core.read_bytes == 3 * (2 * operands + acc)
    assert core.write_bytes == 3 * (2 * acc + 16 * 8)  # + the emitted int8 results
    assert core.macs_by_dtype == {"int8": 6 * 16 * 32 * 8} and core.vector_elements_by_dtype == {}


def test_lock_operations_are_counted_by_the_tile_the_lock_lives_in() -> None:
    config = load_config(TINY)
    program = {"name": "locks", "tiles": [{"tile": [0, 2], "locks": [{"name": "L", "init": 1}], "core": [
        {"op": "loop", "count": 5, "body": [{"op": "acquire", "lock": "L"}, compute(),
                                            {"op": "release", "lock": "L"}]}]}]}
    rec = run_program(config, program_from_dict(program))
    assert rec.lock_operations == {(0, 2): 10}
