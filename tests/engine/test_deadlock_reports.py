"""Runs that cannot progress end with a DeadlockError naming who waits on what; never a hang."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from npusim import DeadlockError, RunOptions, load_config, simulate
from npusim.isa import program_from_dict

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")


def _stream(blocks_src: int, blocks_dst: int, src_loops: bool = False, dst_loops: bool = False) -> list[dict]:
    """Memory tile (0,1) mm2s0 -> compute tile (0,2) s2mm0, 256-byte BDs, no locks."""
    src = [{"buffer": "m", "length_bytes": 256, **({"next": 0} if src_loops else {})}]
    dst = [{"buffer": "c", "length_bytes": 256, **({"next": 0} if dst_loops else {})}]
    return [
        {"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 256}],
         "dma": [{"channel": "mm2s0", "bds": src, "repeat": blocks_src}]},
        {"tile": [0, 2], "buffers": [{"name": "c", "size_bytes": 256}],
         "locks": [{"name": "never", "init": 0}],
         "dma": [{"channel": "s2mm0", "bds": dst, "repeat": blocks_dst}]},
    ]


ROUTE = [{"name": "feed", "source": {"tile": [0, 1], "channel": "mm2s0"},
          "destinations": [{"tile": [0, 2], "channel": "s2mm0"}]}]


def test_receiver_waiting_for_bytes_never_sent_names_route_and_missing_end() -> None:
    program = program_from_dict({"name": "short", "tiles": _stream(2, 3), "routes": ROUTE})
    with pytest.raises(DeadlockError) as info:
        simulate(TINY, program, source="short.json")
    err = info.value
    assert err.blocked == [("tile (0,2) s2mm0", "receive 256 bytes on route 'feed'; not ready: mem (0,1) mm2s0")]
    assert re.match(r"^short\.json: deadlock: every unit is blocked since cycle \d+; blocked units", str(err))


def test_livelock_of_never_ending_chains_is_a_deadlock_not_a_hang() -> None:
    tiles = _stream(1, 1, src_loops=True, dst_loops=True)
    tiles[1]["core"] = [{"op": "acquire", "lock": "never"}]
    program = program_from_dict({"name": "spin", "tiles": tiles, "routes": ROUTE})
    with pytest.raises(DeadlockError) as info:
        simulate(TINY, program, RunOptions(stall_limit_cycles=20_000), source="spin.json")
    msg = str(info.value)
    assert "only never-ending BD chains kept running" in msg
    assert "core (0,2): waits to acquire lock 'never' >= 1 (value 0)" in msg
    assert info.value.cycle == 0  # the core blocked at cycle 0 and nothing ever released it


def test_runtime_waiting_on_a_task_reports_the_shim_channel_and_its_route() -> None:
    program = program_from_dict({
        "name": "no_sink",
        "tensors": [{"name": "out", "size_bytes": 1024}],
        "tiles": [{"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 512}],
                   "dma": [{"channel": "mm2s0", "bds": [{"buffer": "m", "length_bytes": 512}]}]}],
        "routes": [{"name": "drain", "source": {"tile": [0, 1], "channel": "mm2s0"},
                    "destinations": [{"tile": [0, 0], "channel": "s2mm0"}]}],
        "runtime": [{"op": "dma", "name": "get", "tile": [0, 0], "channel": "s2mm0", "tensor": "out",
                     "length_bytes": 1024},
                    {"op": "wait", "tasks": ["get"]}],
    })
    with pytest.raises(DeadlockError) as info:
        simulate(TINY, program)
    blocked = dict(info.value.blocked)
    assert blocked["runtime"] == (
        "see task 'get' complete on shim (0,0) s2mm0; the channel waits to receive 512 bytes on route "
        "'drain'; not ready: mem (0,1) mm2s0")
    assert blocked["shim (0,0) s2mm0"].startswith("receive 512 bytes on route 'drain'")


def test_runtime_blocked_on_a_full_task_queue_says_so() -> None:
    config = load_config(ROOT / "configs/tiny.yaml", ["shim_tile.task_queue_depth=1"])
    tasks = [{"op": "dma", "name": f"t{i}", "tile": [0, 0], "channel": "s2mm0", "tensor": "out",
              "length_bytes": 256} for i in range(3)]
    program = program_from_dict({
        "name": "full_queue",
        "tensors": [{"name": "out", "size_bytes": 256}],
        "tiles": [{"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 256}], "locks": [{"name": "never"}],
                   "dma": [{"channel": "mm2s0", "bds": [{"buffer": "m", "length_bytes": 256,
                                                        "acquire": {"lock": "never"}}]}]}],
        "routes": [{"name": "drain", "source": {"tile": [0, 1], "channel": "mm2s0"},
                    "destinations": [{"tile": [0, 0], "channel": "s2mm0"}]}],
        "runtime": tasks,
    })
    with pytest.raises(DeadlockError) as info:
        simulate(config, program)
    assert dict(info.value.blocked)["runtime"] == "get a free task slot on shim (0,0) s2mm0 (queue depth 1)"
    assert dict(info.value.blocked)["mem (0,1) mm2s0"] == "acquire lock 'never' >= 1 (value 0)"


def test_a_program_with_nothing_to_run_takes_no_cycles() -> None:
    assert simulate(TINY, program_from_dict({"name": "empty", "tiles": []})).cycles == 0


def test_a_progress_callback_does_not_keep_a_deadlocked_run_alive() -> None:
    program = program_from_dict({"name": "short", "tiles": _stream(2, 3), "routes": ROUTE})
    seen: list[int] = []
    with pytest.raises(DeadlockError) as info:
        simulate(TINY, program, RunOptions(progress=seen.append, progress_cycles=10), source="short.json")
    plain = pytest.raises(DeadlockError, simulate, TINY, program, source="short.json")
    assert info.value.cycle == plain.value.cycle and str(info.value) == str(plain.value)
    assert seen and seen == sorted(seen) and all(c % 10 == 0 for c in seen)


def test_progress_is_reported_along_the_run_and_changes_no_count() -> None:
    program = program_from_dict({"name": "ok", "tiles": _stream(40, 40), "routes": ROUTE})
    seen: list[int] = []
    with_progress = simulate(TINY, program, RunOptions(progress=seen.append, progress_cycles=500))
    plain = simulate(TINY, program)
    assert with_progress.cycles == plain.cycles and with_progress.tiles == plain.tiles
    assert seen == list(range(500, plain.cycles + 1, 500))[:len(seen)] and len(seen) >= plain.cycles // 500 - 1
