"""The shipped traces, each checked cycle for cycle against a count worked out by hand.

Every expected total below is written out from the config's figures and the rules of docs/model/timing.md
"Timing model"; nothing here calls the engine's timing functions. The derivations follow the data
through the array event by event; the names used throughout:

    acq, rel   locks.acquire_cycles / locks.release_cycles
    hop        stream_switch.hop_latency_cycles (a route's latency = hop x switches crossed,
               source and destination switches included: 2 for neighbouring tiles)
    s_shim, s_mem, s_tile   dma.startup_cycles of the shim, memory and compute tile DMAs
    ddr_lat    ceil(ddr.latency_ns * clock_mhz / 1000)
    rate       a route's bytes per cycle (all routes here: min of the stream and the DMAs)
    kernel()   ceil(m*k*n / (macs_per_cycle * efficiency) + cycles_per_output * m*n) + overhead_cycles

Recurring facts of the model used in the derivations:

* A tile BD with an acquire starts moving data ``acq + s`` after its lock is granted (``s``
  without an acquire); a shim MM2S task starts ``s_shim + ddr_lat`` after it is queued, a shim
  S2MM task ``s_shim`` after.
* A segment moves when source and every destination have offered; it lasts ``ceil(bytes/rate)``.
* An S2MM BD posts its release ``latency + rel`` after its segment ended (and goes on to its next
  BD at once); an MM2S BD ``rel`` after. A shim S2MM task completes ``latency + ddr_lat`` after its
  last segment ended; a shim MM2S task when its last segment ended.
* A core's ``acquire`` takes ``acq`` after the grant, ``release`` takes ``rel`` before the value
  changes, a compute call takes kernel() cycles.
* A run ends when the last core, finite BD chain or the runtime sequence finished.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import npusim
from npusim import DeadlockError, load_config, load_program, simulate
from npusim.cli import main
from npusim.isa import program_from_dict
from npusim.report import report_json

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "traces"
CONFIGS = ROOT / "configs"


def cfg_of(name: str, overrides: list[str] | None = None) -> npusim.NPUConfig:
    return load_config(CONFIGS / f"{name}.yaml", overrides or [])


def trace(name: str) -> npusim.Program:
    return load_program(TRACES / f"{name}.json")


def trace_dict(name: str) -> dict:
    return json.loads((TRACES / f"{name}.json").read_text())


def run(cfg: npusim.NPUConfig, program: npusim.Program) -> int:
    return simulate(cfg, program).cycles


def figures(cfg: npusim.NPUConfig) -> SimpleNamespace:
    """The config's figures under the names of the module docstring."""
    return SimpleNamespace(
        acq=cfg.locks.acquire_cycles,
        rel=cfg.locks.release_cycles,
        hop=cfg.stream_switch.hop_latency_cycles,
        s_shim=cfg.shim_tile.dma.startup_cycles,
        s_mem=cfg.mem_tile.dma.startup_cycles,
        s_tile=cfg.compute_tile.dma.startup_cycles,
        ddr_lat=math.ceil(cfg.ddr.latency_ns * cfg.clock_mhz / 1000),
        # GB/s -> bytes per array cycle: 1e9 B/s / (clock_mhz * 1e6 cycles/s)
        ddr_bpc=cfg.ddr.bandwidth_gb_per_s * 1000 / cfg.clock_mhz,
        # every route in these traces joins two or more of the tile DMAs through the switches
        rate=min(cfg.stream_switch.bytes_per_cycle, cfg.shim_tile.dma.bytes_per_cycle,
                 cfg.mem_tile.dma.bytes_per_cycle, cfg.compute_tile.dma.bytes_per_cycle),
    )


def kernel(cfg: npusim.NPUConfig, m: int, k: int, n: int, dtype: str = "int8") -> int:
    """Cycles of one kernel call, written out from the compute rule (docs/model/timing.md)."""
    spec = cfg.compute_tile.kernel(None, dtype)
    exact = m * k * n / (spec.macs_per_cycle * spec.efficiency) + spec.cycles_per_output * m * n
    return math.ceil(exact - 1e-9) + spec.overhead_cycles


def ddr_read_into_memtile(f: SimpleNamespace, nbytes: int) -> int:
    """Cycle at which the memory tile's MM2S (waiting on its ``*_full`` lock) starts streaming a
    tensor that one runtime task reads from DDR into it (the traces' shared prologue)."""
    assert f.ddr_bpc >= f.rate, "these derivations assume the stream, not DDR, sets the pace"
    # the shim MM2S task starts after its start-up and the DDR latency (the memtile S2MM BD was
    # ready since acq + s_mem, earlier), then streams at the route rate (one DDR flow, not capped)
    ddr_end = f.s_shim + f.ddr_lat + math.ceil(nbytes / f.rate)
    assert f.acq + f.s_mem <= f.s_shim + f.ddr_lat
    # the memtile S2MM posts *_full one route latency (2 switches) + rel later; the memtile MM2S
    # is granted it and needs acq + s_mem before the first word leaves
    return ddr_end + 2 * f.hop + f.rel + f.acq + f.s_mem


CONFIG_NAMES = ["tiny", "npu1", "npu2"]


# -- passthrough ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_passthrough_cycles(name: str) -> None:
    cfg = cfg_of(name)
    f = figures(cfg)
    nbytes = 4096
    xfer = math.ceil(nbytes / f.rate)  # each of the four hops moves 4 KiB in one segment
    assert f.ddr_bpc >= f.rate
    # hop 1, DDR -> memtile: the shim task waits s_shim + ddr_lat, then streams
    t1 = f.s_shim + f.ddr_lat + xfer
    # hop 2, memtile -> core tile: stage_in_full posted 2*hop + rel after t1 (S2MM release), the
    # memtile MM2S acquires it (acq) and starts (s_mem); the core tile's S2MM waits since cycle 6
    t2 = t1 + 2 * f.hop + f.rel + f.acq + f.s_mem + xfer
    # hop 3, core tile -> memtile: core_full posted 2*hop + rel after t2, compute MM2S acq + s_tile
    t3 = t2 + 2 * f.hop + f.rel + f.acq + f.s_tile + xfer
    # hop 4, memtile -> DDR: stage_out_full likewise, then memtile MM2S acq + s_mem; the shim S2MM
    # task offered since s_shim
    t4 = t3 + 2 * f.hop + f.rel + f.acq + f.s_mem + xfer
    # the write task completes when the last word crossed the route (2 switches) and DDR wrote it;
    # the runtime's wait for 'out' is the last thing to finish
    expected = t4 + 2 * f.hop + f.ddr_lat
    if name == "tiny":
        assert expected == 4338  # 105 + 1024, +1035, +1035, +1035, +104
    assert run(cfg, trace("passthrough")) == expected


# -- pingpong ------------------------------------------------------------------------------

PP_BLOCKS, PP_BLOCK_BYTES = 8, 1024  # 8 blocks of 32x32 int8


def test_pingpong_trace_shape() -> None:
    """The figures the formulas below assume are the ones in the trace."""
    p = trace_dict("pingpong")
    assert p["tensors"][0]["size_bytes"] == PP_BLOCKS * PP_BLOCK_BYTES
    core_tile = p["tiles"][1]
    assert core_tile["dma"][0]["repeat"] * len(core_tile["dma"][0]["bds"]) == PP_BLOCKS
    assert all(bd["length_bytes"] == PP_BLOCK_BYTES for bd in core_tile["dma"][0]["bds"])
    assert core_tile["core"][0]["count"] * 2 == PP_BLOCKS


def pingpong_parts(cfg: npusim.NPUConfig) -> SimpleNamespace:
    f = figures(cfg)
    n, blk = PP_BLOCKS, PP_BLOCK_BYTES
    start = ddr_read_into_memtile(f, n * blk)   # first word of block 0 leaves the memory tile
    xfer = math.ceil(blk / f.rate)              # one block on the stream
    dma_block = f.acq + f.s_tile + xfer         # S2MM per block: lock + start-up + stream
    deliver = 2 * f.hop + f.rel                 # segment end -> *_full visible to the core
    compute = kernel(cfg, 32, 32, 32)
    core_block = f.acq + compute + f.rel        # core per block: acquire, kernel, release
    return SimpleNamespace(f=f, n=n, start=start, xfer=xfer, dma_block=dma_block,
                           deliver=deliver, compute=compute, core_block=core_block)


def pingpong_dma_bound(q: SimpleNamespace) -> int:
    """Double buffering, DMA slower than the core: the S2MM never waits for an empty lock, so
    block k's segment ends at start + xfer + k*dma_block (the memtile MM2S offers all blocks at
    once with its single BD; each next S2MM BD is ready acq + s_tile after the previous ended).
    The core waits for each block and finishes the last one deliver + core_block after it."""
    # DMA-bound: block k+2 reuses block k's buffer, which the core frees deliver + core_block
    # after block k's segment ended; the S2MM wants it one dma_block later
    assert q.deliver + q.core_block <= q.dma_block
    last_segment_end = q.start + q.xfer + (q.n - 1) * q.dma_block
    return last_segment_end + q.deliver + q.core_block


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_pingpong_cycles(name: str) -> None:
    cfg = cfg_of(name)
    q = pingpong_parts(cfg)
    expected = pingpong_dma_bound(q)
    if name == "tiny":
        # 2164 = 5 + 100 + 2048 + 4 + 1 + 1 + 5; 8 blocks of 6 + 256 less the first 6; 5 + 140
        assert (q.start, q.dma_block, q.core_block) == (2164, 262, 140)
        assert expected == 2164 + 256 + 7 * 262 + 5 + 140 == 4399
    assert run(cfg, trace("pingpong")) == expected


def single_buffered_pingpong() -> npusim.Program:
    """pingpong.json with one buffer instead of two: the S2MM chain is 1 BD repeated 8 times and
    the core loops 8 x {acquire ping_full, kernel, release ping_empty}."""
    p = trace_dict("pingpong")
    tile = p["tiles"][1]
    tile["dma"][0]["bds"] = tile["dma"][0]["bds"][:1]
    tile["dma"][0]["repeat"] = PP_BLOCKS
    tile["core"][0]["count"] = PP_BLOCKS
    tile["core"][0]["body"] = tile["core"][0]["body"][:3]
    p["name"] = "single_buffered"
    return program_from_dict(p)


def test_double_buffering_overlaps_dma_with_compute() -> None:
    cfg = cfg_of("tiny")
    q = pingpong_parts(cfg)
    double = run(cfg, trace("pingpong"))
    single = run(cfg, single_buffered_pingpong())

    # With one buffer nothing overlaps: the S2MM waits for the core to free the buffer before each
    # next block. Per block: stream (xfer), deliver, core acquire + kernel + release
    # (core_block), then the S2MM's acq + s_tile before the next segment can move.
    s2mm_restart = q.f.acq + q.f.s_tile
    serial_block = q.xfer + q.deliver + q.core_block + s2mm_restart
    # n such blocks, less the restart after the last one, which never happens
    expected_single = q.start + q.n * serial_block - s2mm_restart
    assert single == expected_single
    assert expected_single == 2164 + 8 * (256 + 5 + 140 + 6) - 6 == 5414

    # Double buffered: total < start + all DMA time + all compute time (no overlap at all) ...
    no_overlap = q.start + q.n * q.dma_block + q.n * q.core_block + q.deliver
    assert double < no_overlap
    assert double < single
    # ... and it is exactly the overlapped (DMA-bound) formula: compute hides behind the DMA
    # except for the last block's
    assert double == pingpong_dma_bound(q)
    assert single - double == (q.n - 1) * (serial_block - q.dma_block)


def test_double_buffering_compute_bound() -> None:
    """The same trace with a slow kernel (overhead 300 cycles): now the core sets the pace and the
    DMA hides behind the compute."""
    cfg = cfg_of("tiny", ["compute_tile.kernels.tuned.variants.int8.overhead_cycles=300"])
    q = pingpong_parts(cfg)
    assert q.compute == 128 + 300
    # compute-bound: a freed buffer is refilled and delivered before the core wants it
    assert q.dma_block + q.deliver <= q.core_block
    # block 0 arrives as before; from then on the core runs back to back: n core blocks
    first_full = q.start + q.xfer + q.deliver
    expected = first_full + q.n * q.core_block
    assert expected == 2164 + 256 + 5 + 8 * 430 == 5865
    total = run(cfg, trace("pingpong"))
    assert total == expected
    assert total < q.start + q.n * q.dma_block + q.n * q.core_block


# -- pipeline_2core ------------------------------------------------------------------------

PIPE_BLOCKS, PIPE_BLOCK_BYTES, B_CALLS = 4, 1024, 4


def test_pipeline_trace_shape() -> None:
    p = trace_dict("pipeline_2core")
    assert [t["size_bytes"] for t in p["tensors"]] == [PIPE_BLOCKS * PIPE_BLOCK_BYTES] * 2
    b_body = p["tiles"][2]["core"][0]["body"]
    assert b_body[2] == {"op": "loop", "count": B_CALLS, "body": [
        {"op": "compute", "m": 32, "k": 32, "n": 32, "dtype": "int8"}]}


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_pipeline_2core_cycles(name: str) -> None:
    cfg = cfg_of(name)
    f = figures(cfg)
    n, blk = PIPE_BLOCKS, PIPE_BLOCK_BYTES
    xfer = math.ceil(blk / f.rate)
    c = kernel(cfg, 32, 32, 32)
    # per block: A acquires a_in_full and mid_empty, computes once, releases both
    a_block = 2 * f.acq + c + 2 * f.rel
    # per block: B acquires mid_full and b_out_empty, computes B_CALLS times, releases both
    b_block = 2 * f.acq + B_CALLS * c + 2 * f.rel
    dma_block = f.acq + f.s_tile + xfer  # the input S2MM and the drain MM2S alike
    # B is the bottleneck: everything else keeps ahead of it (two buffers at each hand-over)
    assert b_block >= dma_block + f.rel and b_block >= a_block

    start = ddr_read_into_memtile(f, n * blk)
    # block 0 lands in a_in_ping: a_in_ping_full 2 switches later + rel
    a_in_full = start + xfer + 2 * f.hop + f.rel
    # A's first block: mid_ping_full released a_block after (mid_ping_empty starts at 1)
    b_starts = a_in_full + a_block
    # B then runs n blocks back to back; its last release (b_out_pong_full) is at
    b_done = b_starts + n * b_block
    # the drain MM2S on (0,3) is granted it, starts (acq + s_tile), streams the block into DDR
    # (the shim S2MM task is waiting), and the task completes when the last word crossed the
    # route (0,3) -> (0,0), 4 switches, and DDR wrote it: the runtime ends then
    expected = b_done + f.acq + f.s_tile + xfer + 4 * f.hop + f.ddr_lat
    if name == "tiny":
        assert (start, a_in_full, b_starts, b_block) == (1140, 1401, 1543, 556)
        assert expected == 1543 + 4 * 556 + 6 + 256 + 8 + 100 == 4137
    assert run(cfg, trace("pipeline_2core")) == expected


# -- broadcast -----------------------------------------------------------------------------

BC_BLOCKS, BC_BLOCK_BYTES = 4, 1024
# destination tile -> (stream switches from (0,1), kernel width n). The route climbs column 0
# and turns east in row 2 (memory tiles have no east/west ports), so:
# (0,2): (0,1),(0,2); (0,3): +(0,3); (1,2): (0,1),(0,2),(1,2); (1,3): +(1,3)
BC_DESTS = {(0, 2): (2, 64), (0, 3): (3, 32), (1, 2): (3, 16), (1, 3): (4, 32)}


def broadcast_expected(cfg: npusim.NPUConfig, dests: dict) -> int:
    f = figures(cfg)
    xfer = math.ceil(BC_BLOCK_BYTES / f.rate)
    # after block k's segment ends, destination d has it latency_d + rel later; its core takes
    # acq + kernel + rel, and its S2MM (waiting for the empty lock) then needs acq + s_tile to
    # offer again. The broadcast moves only when all four offered: the slowest d sets the gap.
    per_dest = {t: sw * f.hop + kernel(cfg, 32, 32, nn) for t, (sw, nn) in dests.items()}
    slowest = max(per_dest.values())
    gap = f.rel + f.acq + slowest + f.rel + f.acq + f.s_tile
    start = ddr_read_into_memtile(f, BC_BLOCKS * BC_BLOCK_BYTES)
    last_segment_end = start + xfer + (BC_BLOCKS - 1) * (gap + xfer)
    # the run ends when the slowest core has released its buffer after the last block
    return last_segment_end + f.rel + f.acq + slowest + f.rel


def test_broadcast_trace_shape() -> None:
    p = trace_dict("broadcast")
    route = next(r for r in p["routes"] if r["name"] == "broadcast")
    assert {tuple(d["tile"]) for d in route["destinations"]} == set(BC_DESTS)
    for t in p["tiles"][1:]:
        assert t["core"][0]["body"][1]["n"] == BC_DESTS[tuple(t["tile"])][1]
    rep = simulate(cfg_of("tiny"), trace("broadcast"))
    assert next(r for r in rep.routes if r.name == "broadcast").switches == tuple(
        BC_DESTS[tuple(d["tile"])][0] for d in route["destinations"])


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_broadcast_cycles(name: str) -> None:
    cfg = cfg_of(name)
    expected = broadcast_expected(cfg, BC_DESTS)
    if name == "tiny":
        # slowest destination: (0,2), 2 switches * 2 + kernel 32x32x64 (256 + 10) = 270
        assert expected == 1140 + 256 + 3 * (1 + 1 + 270 + 1 + 1 + 5 + 256) + 1 + 1 + 270 + 1 == 3274
    assert run(cfg, trace("broadcast")) == expected


def test_broadcast_paced_by_farthest_slow_destination() -> None:
    """Make (1,3), the farthest destination (4 switches), the widest kernel (n = 128): now it
    sets the pace, and its longer route latency counts too."""
    cfg = cfg_of("tiny")
    p = trace_dict("broadcast")
    for t in p["tiles"]:
        if t["tile"] == [1, 3]:
            t["core"][0]["body"][1]["n"] = 128
    dests = dict(BC_DESTS)
    dests[(1, 3)] = (4, 128)
    expected = broadcast_expected(cfg, dests)
    # slowest: 4 * 2 + (128 * 32 * 32 / 256 + 10 = 522) = 530
    assert expected == 1140 + 256 + 3 * (4 + 530 + 5 + 256) + 3 + 530 == 4314
    assert run(cfg, program_from_dict(p)) == expected


# -- DDR bandwidth as the bottleneck -------------------------------------------------------

def reads(*sizes: int) -> npusim.Program:
    """Shim (0,0) MM2S channel i reads tensor i (sizes[i] bytes) from DDR into memory-tile
    buffer i through S2MM channel i, all tasks queued at cycle 0 (BDs without locks)."""
    idx = range(len(sizes))
    return program_from_dict({
        "name": "ddr_reads",
        "tensors": [{"name": f"t{i}", "size_bytes": sizes[i]} for i in idx],
        "tiles": [{"tile": [0, 1],
                   "buffers": [{"name": f"b{i}", "size_bytes": sizes[i]} for i in idx],
                   "dma": [{"channel": f"s2mm{i}", "bds": [{"buffer": f"b{i}", "length_bytes": sizes[i]}]}
                           for i in idx]}],
        "routes": [{"name": f"r{i}", "source": {"tile": [0, 0], "channel": f"mm2s{i}"},
                    "destinations": [{"tile": [0, 1], "channel": f"s2mm{i}"}]} for i in idx],
        "runtime": [{"op": "dma", "name": f"read{i}", "tile": [0, 0], "channel": f"mm2s{i}",
                     "tensor": f"t{i}", "length_bytes": sizes[i]} for i in idx],
    })


def test_ddr_bandwidth_is_the_bottleneck() -> None:
    slow = cfg_of("tiny", ["ddr.bandwidth_gb_per_s=2"])
    fast = cfg_of("tiny")
    f, ff = figures(slow), figures(fast)
    assert f.ddr_bpc == 2.0 and f.rate == 4  # DDR gives 2 B/cycle, a stream takes 4
    x, y = 4096, 2048
    # both tasks start streaming at s_shim + ddr_lat (the memtile BDs, no locks, were ready at
    # s_mem); the last word is in the memory tile one route latency (2 switches) after it left,
    # and the memtile S2MM chains end then
    t0 = f.s_shim + f.ddr_lat

    # one task alone: DDR's 2 B/cycle, below the stream's 4, sets its rate
    alone = t0 + math.ceil(x / min(f.rate, f.ddr_bpc)) + 2 * f.hop
    assert alone == 105 + 2048 + 4
    assert run(slow, reads(x)) == alone

    # two tasks: max-min fair sharing gives each 1 B/cycle (half of 2, under the cap of 4) until
    # y is done after y / 1 cycles; then x has DDR to itself, at min(4, 2) = 2 B/cycle
    share = f.ddr_bpc / 2
    y_done = t0 + math.ceil(y / share)
    x_done = y_done + math.ceil((x - y) / f.ddr_bpc)  # x moved y bytes meanwhile, at 1 B/cycle too
    expected = x_done + 2 * f.hop
    assert expected == 105 + 2048 + 1024 + 4 == 3181
    assert run(slow, reads(x, y)) == expected

    # with the default 8 B/cycle, both streams run at their own 4 B/cycle: the stream is the
    # limit, and the same program is much faster
    assert ff.ddr_bpc >= 2 * ff.rate
    stream_bound = ff.s_shim + ff.ddr_lat + math.ceil(x / ff.rate) + 2 * ff.hop
    assert run(fast, reads(x, y)) == stream_bound == 105 + 1024 + 4
    assert expected > stream_bound


# -- deadlock ------------------------------------------------------------------------------

def test_deadlock_trace_raises_naming_the_waiters() -> None:
    t = time.monotonic()
    with pytest.raises(DeadlockError) as info:
        # no DMA and no never-ending chain in this trace: both cores block at cycle 0 and the
        # event queue is empty, so the engine cannot spin; the timing check below makes sure
        simulate(cfg_of("tiny"), trace("deadlock"))
    assert time.monotonic() - t < 10
    err = info.value
    assert err.cycle == 0
    assert err.blocked == [
        ("core (0,2)", "acquire lock 'b2a_full' >= 1 (value 0)"),
        ("core (0,3)", "acquire lock 'a2b_full' >= 1 (value 0)"),
    ]
    msg = str(err)
    assert "deadlock" in msg and "'b2a_full'" in msg and "'a2b_full'" in msg
    assert "core (0,2)" in msg and "core (0,3)" in msg


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_deadlock_trace_verifies_but_deadlocks(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(CONFIGS / f"{name}.yaml"), "--trace", str(TRACES / "deadlock.json")]
    assert main(["check", *args]) == 0
    with pytest.raises(DeadlockError):
        simulate(cfg_of(name), trace("deadlock"))


# -- determinism and CLI -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["passthrough", "pingpong", "pipeline_2core", "broadcast"])
def test_same_program_twice_gives_identical_json(name: str) -> None:
    cfg = cfg_of("tiny")
    first = json.loads(report_json(simulate(cfg, trace(name))))
    second = json.loads(report_json(simulate(cfg, load_program(TRACES / f"{name}.json"))))
    # everything but the wall time a run took
    assert first.pop("wall_seconds") > 0 and second.pop("wall_seconds") > 0
    assert first == second
    assert first["cycles"] > 0


def test_cli_run_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "--config", str(CONFIGS / "tiny.yaml"),
               "--trace", str(TRACES / "passthrough.json"), "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    data = json.loads(out)
    assert {"cycles", "seconds", "tiles", "ddr"} <= set(data)
    assert data["cycles"] == 4338                     # the hand count of test_passthrough_cycles
    assert data["seconds"] == pytest.approx(4338e-9)  # 1 GHz
    assert data["ddr"]["bytes_read"] == data["ddr"]["bytes_written"] == 4096


def test_cli_run_deadlock_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "--config", str(CONFIGS / "tiny.yaml"), "--trace", str(TRACES / "deadlock.json")])
    captured = capsys.readouterr()
    assert rc == 3
    assert captured.out == ""
    assert "deadlock" in captured.err
    assert "core (0,2): waits to acquire lock 'b2a_full'" in captured.err
    assert "core (0,3): waits to acquire lock 'a2b_full'" in captured.err


@pytest.mark.parametrize("name", ["passthrough", "pingpong", "pipeline_2core", "broadcast"])
@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_cli_check_and_run_every_trace(name: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(CONFIGS / f"{config}.yaml"), "--trace", str(TRACES / f"{name}.json")]
    assert main(["check", *args]) == 0
    assert main(["run", *args]) == 0
    assert "cycles" in capsys.readouterr().out


# -- known engine issue --------------------------------------------------------------------

def test_lock_grants_a_later_request_the_value_allows() -> None:
    prog = program_from_dict({"name": "lock_skip", "tiles": [
        # (0,2) asks for 2 of a lock holding 1: it waits
        {"tile": [0, 2], "locks": [{"name": "shared_full", "init": 1}],
         "core": [{"op": "acquire", "lock": "shared_full", "value": 2}]},
        # (0,3) asks for 1 a little later: the value allows it; then it releases 2, which lets
        # (0,2) through
        {"tile": [0, 3], "core": [
            {"op": "compute", "m": 8, "k": 8, "n": 8, "dtype": "int8"},
            {"op": "acquire", "lock": "shared_full", "value": 1},
            {"op": "release", "lock": "shared_full", "value": 2}]}]})
    cfg = cfg_of("tiny")
    f = figures(cfg)
    # (0,3): kernel 512/256 + 10 = 12, acquire 1, release 1 -> value 2 at 14; (0,2) granted, +acq
    expected = kernel(cfg, 8, 8, 8) + f.acq + f.rel + f.acq
    assert expected == 15
    assert run(cfg, prog) == expected
