"""Program verification and trace files: every bad program is a ProgramError naming the file, the
tile (or route, or runtime op), the limit with its config field, and a fix; plus route placement.

Programs are built as dicts from traces/passthrough.json's structure. Messages are pinned whole
with ``re.fullmatch``, so a vaguer message fails the test.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from npusim.config import NPUConfig, load_config
from npusim.isa import ProgramError, RoutePath, load_program, program_from_dict, verify

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
TINY = load_config(CONFIGS / "tiny.yaml")
NPU1 = load_config(CONFIGS / "npu1.yaml")
PASSTHROUGH: dict[str, Any] = json.loads((ROOT / "traces" / "passthrough.json").read_text())

MEM, CORE = 0, 1  # indices in PASSTHROUGH["tiles"]: memory tile (0,1), compute tile (0,2)


def base() -> dict[str, Any]:
    """A fresh copy of passthrough.json: DDR -> (0,1) -> (0,2) -> (0,1) -> DDR."""
    return copy.deepcopy(PASSTHROUGH)


def routes_only(*routes: tuple[str, tuple[int, int], str, list[tuple[tuple[int, int], str]]]) -> dict[str, Any]:
    """A program of routes only: (name, source tile, source channel, [(tile, channel), ...])."""
    return {"name": "routes", "tiles": [], "routes": [
        {"name": name, "source": {"tile": list(src), "channel": ch},
         "destinations": [{"tile": list(t), "channel": c} for t, c in dsts]}
        for name, src, ch, dsts in routes]}


def error(data: dict[str, Any], config: NPUConfig = TINY) -> str:
    with pytest.raises(ProgramError) as info:
        verify(program_from_dict(data, "x.json"), config, source="x.json")
    return str(info.value)


def check(data: dict[str, Any], pattern: str, config: NPUConfig = TINY) -> None:
    message = error(data, config)
    assert re.fullmatch(pattern, message), message


# -- the shipped trace is fine everywhere ------------------------------------------------------

@pytest.mark.parametrize("config", ["tiny", "npu1", "npu2"])
def test_passthrough_verifies_and_places_buffers(config: str) -> None:
    layout = verify(program_from_dict(base()), load_config(CONFIGS / f"{config}.yaml"), "p.json")
    assert layout.buffers["stage_in"].offset_bytes == 0
    assert layout.buffers["stage_out"].offset_bytes == 4096  # placed after the previous buffer
    assert layout.buffers["core_buf"].tile == (0, 2)
    assert layout.locks["core_empty"] == ((0, 2), 1)
    assert set(layout.paths) == {"ddr_to_mem", "mem_to_core", "core_to_mem", "mem_to_ddr"}


# -- tiles, buffers, locks ---------------------------------------------------------------------

def test_unknown_tile() -> None:
    d = base()
    d["tiles"][CORE]["tile"] = [5, 2]
    check(d, r"x\.json: tile \(5,2\): no such tile: the array has columns 0\.\.1 and rows 0\.\.3 "
             r"\(columns = 2, rows = 1 \+ mem_tile_rows \+ compute_rows = 4\); fix the coordinates or use "
             r"a bigger config")


def test_tile_listed_twice() -> None:
    d = base()
    d["tiles"].append({"tile": [0, 2]})
    check(d, r"x\.json: tile \(0,2\): listed twice; merge its entries into one")


def test_unknown_lock_in_core_instruction() -> None:
    d = base()
    d["tiles"][CORE]["core"] = [{"op": "acquire", "lock": "core_full"}, {"op": "release", "lock": "nolock"}]
    check(d, r"x\.json: compute tile \(0,2\): core\[1\]: unknown lock 'nolock'; declare it in a tile's 'locks'")


def test_unknown_lock_in_loop_body() -> None:
    d = base()
    d["tiles"][CORE]["core"] = [{"op": "loop", "count": 2, "body": [{"op": "acquire", "lock": "nolock"}]}]
    check(d, r"x\.json: compute tile \(0,2\): core\[0\]\.body\[0\]: unknown lock 'nolock'; declare it in "
             r"a tile's 'locks'")


def test_unknown_lock_in_bd() -> None:
    d = base()
    d["tiles"][CORE]["dma"][1]["bds"][0]["release"] = {"lock": "nolock"}
    check(d, r"x\.json: compute tile \(0,2\): channel mm2s0: bds\[0\]: unknown lock 'nolock'; declare it "
             r"in a tile's 'locks'")


def test_lock_not_reachable_from_core() -> None:
    # (1,3) reaches its own memory and those south (1,2) and west (0,3); the lock is on (0,2)
    d = base()
    d["tiles"].append({"tile": [1, 3], "core": [{"op": "acquire", "lock": "core_full"}]})
    check(d, r"x\.json: compute tile \(1,3\): core\[0\]: lock 'core_full' lives on tile \(0,2\), which "
             r"\(1,3\) cannot reach \(reachable: \(1,3\), \(1,2\), \(0,3\)\); declare the lock on one of "
             r"those tiles")


def test_lock_not_reachable_from_bd() -> None:
    # a compute tile's DMA reaches only its own locks
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0]["acquire"] = {"lock": "stage_in_empty"}
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: lock 'stage_in_empty' lives on "
             r"tile \(0,1\), which \(0,2\) cannot reach \(reachable: \(0,2\)\); declare the lock on one "
             r"of those tiles")


def test_unknown_buffer_in_bd() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0]["buffer"] = "nobuf"
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: unknown buffer 'nobuf'; declare "
             r"it in a tile's 'buffers'")


def test_buffer_on_another_tile_in_bd() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0]["buffer"] = "stage_in"
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: buffer 'stage_in' lives on tile "
             r"\(0,1\), which this DMA channel cannot reach \(reachable: \(0,2\)\)")


def test_buffer_overflows_compute_tile_memory() -> None:
    d = base()  # core_buf holds bytes 0..4095; 61 KiB more ends at 4096 + 62464 = 66560 > 65536
    d["tiles"][CORE]["buffers"].append({"name": "big", "size_bytes": 61 * 1024})
    check(d, r"x\.json: compute tile \(0,2\): buffer 'big' ends at byte 66560, past the 65536-byte "
             r"memory \(limit compute_tile\.data_mem_kib = 64\); shrink the buffers or move one to another "
             r"tile")


def test_buffer_that_just_fits_compute_tile_memory() -> None:
    d = base()
    d["tiles"][CORE]["buffers"].append({"name": "big", "size_bytes": 60 * 1024})
    assert verify(program_from_dict(d), TINY).buffers["big"].offset_bytes == 4096


def test_buffer_at_explicit_offset_overflows_memory_tile() -> None:
    d = base()
    d["tiles"][MEM]["buffers"].append({"name": "big", "size_bytes": 8, "offset_bytes": 512 * 1024 - 4})
    check(d, r"x\.json: memory tile \(0,1\): buffer 'big' ends at byte 524292, past the 524288-byte "
             r"memory \(limit mem_tile\.size_kib = 512\); shrink the buffers or move one to another tile")


def test_buffer_on_shim_tile() -> None:
    d = base()
    d["tiles"].append({"tile": [0, 0], "buffers": [{"name": "host", "size_bytes": 16}]})
    check(d, r"x\.json: shim tile \(0,0\): buffer 'host': a shim tile has no data memory; put DDR data in "
             r"'tensors' and move it with runtime 'dma' tasks")


def test_too_many_locks_on_a_tile() -> None:
    d = base()  # the compute tile declares 2; 15 more make 17 > 16
    d["tiles"][CORE]["locks"] += [{"name": f"extra{i}"} for i in range(15)]
    check(d, r"x\.json: compute tile \(0,2\): 17 locks declared, but the tile has 16 \(limit "
             r"compute_tile\.locks = 16\); share locks or spread buffers over tiles")


def test_sixteen_locks_are_fine() -> None:
    d = base()
    d["tiles"][CORE]["locks"] += [{"name": f"extra{i}"} for i in range(14)]
    verify(program_from_dict(d), TINY)


def test_lock_init_above_max_value() -> None:
    d = base()
    d["tiles"][CORE]["locks"][0]["init"] = 64
    check(d, r"x\.json: compute tile \(0,2\): lock 'core_empty' starts at 64, above the largest lock "
             r"value \(limit locks\.max_value = 63\); lower its init")



def test_lock_value_above_max_value() -> None:
    d = base()
    d["tiles"][CORE]["core"] = [{"op": "acquire", "lock": "core_full", "value": 64}]
    check(d, r"x\.json: compute tile \(0,2\): core\[0\]: lock value 64 is above the largest lock value "
             r"\(limit locks\.max_value = 63\); use a smaller value")


# -- DMA channels and BDs ----------------------------------------------------------------------

def test_too_many_bds() -> None:
    d = base()  # 16 BDs on s2mm0 + 1 on mm2s0 = 17 > 16
    d["tiles"][CORE]["dma"][0]["bds"] *= 16
    check(d, r"x\.json: compute tile \(0,2\): 17 buffer descriptors used, but the tile has 16 \(limit "
             r"compute_tile\.dma\.bds = 16\); use loops \(next\) or repeat counts")


def test_bd_next_out_of_range() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"] *= 2
    d["tiles"][CORE]["dma"][0]["bds"][1] = dict(d["tiles"][CORE]["dma"][0]["bds"][1], next=2)
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[1\]: next BD 2 does not exist \(the "
             r"channel has 2 BDs\); use an index 0\.\.1, or \"end\" to end the chain")


def test_bd_start_out_of_range() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["start"] = 1
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: start BD 1 does not exist \(it has 1 BDs\); "
             r"use an index 0\.\.0")


def test_channel_without_bds() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"] = []
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: has no buffer descriptors; give it at least "
             r"one or remove the channel")


def test_repeat_above_limit() -> None:
    d = base()
    d["tiles"][MEM]["dma"][0]["repeat"] = 257
    check(d, r"x\.json: memory tile \(0,1\): channel s2mm0: repeat 257 is above the limit "
             r"mem_tile\.dma\.max_repeat = 256; loop the BD chain \(next\) instead")


DIMS_4096 = [{"size": 4, "stride": 1}, {"size": 4, "stride": 4}, {"size": 8, "stride": 16}, {"size": 8, "stride": 128}]


def test_dims_more_than_compute_dma_allows() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0]["dims"] = DIMS_4096  # 4 x 4 x 8 x 8 words = 4096 bytes
    verify(program_from_dict(d), TINY)  # 3 address dimensions + the iteration dimension
    d["tiles"][CORE]["dma"][0]["bds"][0]["dims"] = [{"size": 1, "stride": 0}] + DIMS_4096
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: access pattern has 5 dimensions, "
             r"the DMA has 3 and an iteration dimension \(limit compute_tile\.dma\.address_dims = 3\); "
             r"fold dimensions or split the BD")


def test_iteration_dimension_is_limited() -> None:
    d = base()
    dims = [{"size": 4, "stride": 1}, {"size": 2, "stride": 4}, {"size": 2, "stride": 8}, {"size": 64, "stride": 0}]
    d["tiles"][CORE]["dma"][0]["bds"][0]["dims"] = dims  # 4 x 2 x 2 x 64 words = 4096 bytes
    verify(program_from_dict(d), TINY)
    dims[-1] = {"size": 128, "stride": 0}
    dims[0] = {"size": 2, "stride": 1}
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: the outermost dimension of a "
             r"4-dimension pattern is the iteration dimension, and its size 128 is above the limit "
             r"compute_tile\.dma\.max_iterations = 64; split the transfer into several")


def test_four_dims_are_fine_on_a_memory_tile() -> None:
    d = base()
    d["tiles"][MEM]["dma"][1]["bds"][0]["dims"] = DIMS_4096
    verify(program_from_dict(d), TINY)
    d["tiles"][MEM]["dma"][1]["bds"][0]["dims"] = [{"size": 1, "stride": 0}] * 2 + DIMS_4096
    check(d, r"x\.json: memory tile \(0,1\): channel mm2s0: bds\[0\]: access pattern has 6 dimensions, "
             r"the DMA has 4 and an iteration dimension \(limit mem_tile\.dma\.address_dims = 4\); "
             r"fold dimensions or split the BD")


def test_dims_product_does_not_match_length() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0]["dims"] = [{"size": 16, "stride": 1}, {"size": 8, "stride": 16}]
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: access pattern moves 512 bytes "
             r"\(product of sizes x 4\) but length_bytes is 4096; make them agree")


def test_dims_reaching_past_the_buffer() -> None:
    d = base()  # 1024 words, 2 words apart: last word at 4 * (1 + 1023 * 2) = 8188
    d["tiles"][CORE]["dma"][0]["bds"][0]["dims"] = [{"size": 1024, "stride": 2}]
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: reaches byte 8188 of buffer "
             r"'core_buf', which has 4096 bytes; shorten the transfer or its strides")


def test_length_not_a_multiple_of_the_word() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0]["length_bytes"] = 4094
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: length_bytes 4094 is not a multiple "
             r"of the 4-byte DMA word; pad the transfer to a multiple of 4")


def test_offset_not_a_multiple_of_the_word() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["bds"][0].update(length_bytes=4, offset_bytes=2)
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: bds\[0\]: offset_bytes 2 is not a multiple "
             r"of the 4-byte DMA word; align it to 4 bytes")


def test_channel_that_does_not_exist() -> None:
    d = base()
    d["tiles"][CORE]["dma"][0]["channel"] = "s2mm2"  # a compute tile has 2 S2MM channels
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm2: no such DMA channel; this tile has s2mm0, "
             r"s2mm1, mm2s0, mm2s1 \(compute_tile\.dma\.s2mm_channels / mm2s_channels\)")


def test_channel_programmed_twice() -> None:
    d = base()
    d["tiles"][CORE]["dma"].append(copy.deepcopy(d["tiles"][CORE]["dma"][0]))
    check(d, r"x\.json: compute tile \(0,2\): channel s2mm0: programmed twice; give each channel one BD chain")


def test_bd_chain_on_a_shim_tile() -> None:
    d = base()
    d["tiles"].append({"tile": [0, 0], "dma": [{"channel": "mm2s0", "bds": []}]})
    check(d, r"x\.json: shim tile \(0,0\): shim DMA channels are driven by the runtime sequence, not by "
             r"BD chains; use runtime 'dma' tasks")


def test_channel_with_bds_but_no_route() -> None:
    d = base()
    d["routes"] = [r for r in d["routes"] if r["name"] != "mem_to_core"]
    check(d, r"x\.json: memory tile \(0,1\): channel mm2s0: has BDs but no route; add a route with this "
             r"channel as source")


def test_core_on_a_memory_tile() -> None:
    d = base()
    d["tiles"][MEM]["core"] = [{"op": "acquire", "lock": "stage_in_full"}]
    check(d, r"x\.json: memory tile \(0,1\): has no core; only compute tiles run core programs")


# -- routes ------------------------------------------------------------------------------------

def test_route_from_an_s2mm_channel() -> None:
    d = base()
    d["routes"][1]["source"]["channel"] = "s2mm3"
    check(d, r"x\.json: route 'mem_to_core': endpoint \(0,1\)\.s2mm3: a route starts at an MM2S channel; "
             r"memory tile \(0,1\) has mm2s0, mm2s1, mm2s2, mm2s3, mm2s4, mm2s5")


def test_route_to_an_mm2s_channel() -> None:
    d = base()
    d["routes"][1]["destinations"][0]["channel"] = "mm2s1"
    check(d, r"x\.json: route 'mem_to_core': endpoint \(0,2\)\.mm2s1: a route ends at an S2MM channel; "
             r"compute tile \(0,2\) has s2mm0, s2mm1")


def test_route_endpoint_off_the_array() -> None:
    d = base()
    d["routes"][1]["destinations"][0]["tile"] = [2, 2]
    check(d, r"x\.json: route 'mem_to_core': endpoint \(2,2\)\.s2mm0: no such tile in a 2x4 array")


def test_two_routes_on_one_channel() -> None:
    d = base()
    d["routes"].append({"name": "again", "source": {"tile": [0, 1], "channel": "mm2s0"},
                        "destinations": [{"tile": [1, 2], "channel": "s2mm0"}]})
    check(d, r"x\.json: route 'again': channel \(0,1\)\.mm2s0 is already used by route 'mem_to_core'; a "
             r"circuit-switched channel carries one route")


def test_two_routes_into_one_channel() -> None:
    d = routes_only(("a", (0, 1), "mm2s0", [((0, 2), "s2mm0")]), ("b", (0, 1), "mm2s1", [((0, 2), "s2mm0")]))
    check(d, r"x\.json: route 'b': channel \(0,2\)\.s2mm0 is already used by route 'a'; a circuit-switched "
             r"channel carries one route")


def test_route_names_are_unique_and_routes_have_destinations() -> None:
    check(routes_only(("a", (0, 1), "mm2s0", [((0, 2), "s2mm0")]), ("a", (0, 1), "mm2s1", [((0, 2), "s2mm1")])),
          r"x\.json: route 'a': declared twice; route names are program-wide")
    check(routes_only(("a", (0, 1), "mm2s0", [])),
          r"x\.json: route 'a': has no destinations; add at least one S2MM channel")


def test_routes_need_more_south_ports_than_a_compute_tile_has() -> None:
    # all three leave compute tile (0,2) southwards; tiny's compute_tile.stream_ports.south = 2
    d = routes_only(("r1", (0, 3), "mm2s0", [((0, 1), "s2mm0")]),
                    ("r2", (0, 3), "mm2s1", [((0, 1), "s2mm1")]),
                    ("r3", (0, 2), "mm2s0", [((0, 1), "s2mm2")]))
    check(d, r"x\.json: route 'r3' from \(0,2\)\.mm2s0 to \(0,1\)\.s2mm2 needs a south stream port of "
             r"compute tile \(0,2\), but all 2 are taken by routes 'r1', 'r2' \(limit "
             r"compute_tile\.stream_ports\.south = 2\); use fewer routes through that switch, broadcast "
             r"instead, or move an endpoint")
    d["routes"].pop()
    verify(program_from_dict(d), TINY)  # two fit


def test_routes_need_more_north_ports_than_a_compute_tile_has() -> None:
    # three S2MM channels on (0,3) so that three routes can climb through (0,2)
    config = load_config(CONFIGS / "tiny.yaml", ["compute_tile.dma.s2mm_channels=3"])
    d = routes_only(*[(f"up{i}", (0, 1), f"mm2s{i}", [((0, 3), f"s2mm{i}")]) for i in range(3)])
    check(d, r"x\.json: route 'up2' from \(0,1\)\.mm2s2 to \(0,3\)\.s2mm2 needs a north stream port of "
             r"compute tile \(0,2\), but all 2 are taken by routes 'up0', 'up1' \(limit "
             r"compute_tile\.stream_ports\.north = 2\); use fewer routes through that switch, broadcast "
             r"instead, or move an endpoint", config)


def test_a_tile_without_ports_in_a_direction() -> None:
    config = load_config(CONFIGS / "tiny.yaml", ["compute_tile.stream_ports.north=0"])
    check(routes_only(("up", (0, 2), "mm2s0", [((0, 3), "s2mm0")])),
          r"x\.json: route 'up' from \(0,2\)\.mm2s0 to \(0,3\)\.s2mm0 needs a north stream port of compute "
          r"tile \(0,2\), but it has none \(limit compute_tile\.stream_ports\.north = 0\); use fewer routes "
          r"through that switch, broadcast instead, or move an endpoint", config)


def test_broadcast_up_a_column_shares_its_links() -> None:
    # npu1 with 2 north ports per compute tile: one 4-destination broadcast from the memory tile
    # holds one port per link; four separate routes need 3 north ports of (0,2) and do not fit.
    config = load_config(CONFIGS / "npu1.yaml", ["compute_tile.stream_ports.north=2"])
    rows = (2, 3, 4, 5)
    layout = verify(program_from_dict(routes_only(
        ("bcast", (0, 1), "mm2s0", [((0, r), "s2mm0") for r in rows]))), config, "b.json")
    assert layout.paths["bcast"] == RoutePath(
        "bcast", links=(((0, 1), "north"), ((0, 2), "north"), ((0, 3), "north"), ((0, 4), "north")),
        switches=(2, 3, 4, 5))
    check(routes_only(*[(f"to{r}", (0, 1), f"mm2s{i}", [((0, r), "s2mm0")]) for i, r in enumerate(rows)]),
          r"x\.json: route 'to5' from \(0,1\)\.mm2s3 to \(0,5\)\.s2mm0 needs a north stream port of compute "
          r"tile \(0,2\), but all 2 are taken by routes 'to3', 'to4' \(limit "
          r"compute_tile\.stream_ports\.north = 2\); use fewer routes through that switch, broadcast "
          r"instead, or move an endpoint", config)


# -- route placement (npusim/isa/routing.py) ---------------------------------------------------

def paths(*routes: tuple[str, tuple[int, int], str, list[tuple[tuple[int, int], str]]],
          config: NPUConfig = TINY) -> dict[str, RoutePath]:
    return verify(program_from_dict(routes_only(*routes)), config, "r.json").paths


def test_route_from_shim_to_far_compute_tile_crosses_in_the_shim_row() -> None:
    # rows 0, 2 and 3 have east/west ports and all cost 3 extra hops; ties go to the lowest row
    path = paths(("r", (0, 0), "mm2s0", [((1, 3), "s2mm0")]))["r"]
    assert path.links == (((0, 0), "east"), ((1, 0), "north"), ((1, 1), "north"), ((1, 2), "north"))
    assert path.switches == (5,)


def test_route_from_memory_tile_goes_north_then_east() -> None:
    # the memory-tile row has no east/west ports: the route climbs to row 2, then turns east
    path = paths(("r", (0, 1), "mm2s0", [((1, 2), "s2mm0")]))["r"]
    assert path.links == (((0, 1), "north"), ((0, 2), "east"))
    assert path.switches == (3,)


def test_route_inside_one_tile_crosses_one_switch() -> None:
    path = paths(("loopback", (0, 2), "mm2s0", [((0, 2), "s2mm0")]))["loopback"]
    assert path.links == ()
    assert path.switches == (1,)


def test_neighbours_cross_two_switches() -> None:
    assert paths(("r", (1, 3), "mm2s0", [((1, 2), "s2mm0")]))["r"] == RoutePath(
        "r", links=(((1, 3), "south"),), switches=(2,))


def test_broadcast_to_two_channels_of_one_tile_uses_one_link() -> None:
    path = paths(("b", (0, 1), "mm2s0", [((0, 2), "s2mm0"), ((0, 2), "s2mm1"), ((0, 3), "s2mm0")]))["b"]
    assert path.links == (((0, 1), "north"), ((0, 2), "north"))
    assert path.switches == (2, 2, 3)


def test_route_takes_the_next_row_when_ports_are_taken() -> None:
    # e1 and e2 hold both east ports of (0,2); (0,3) -> (1,2) would cross in row 2, so it crosses in row 3
    placed = paths(("e1", (0, 2), "mm2s0", [((1, 2), "s2mm0")]),
                   ("e2", (0, 2), "mm2s1", [((1, 3), "s2mm0")]),
                   ("r", (0, 3), "mm2s0", [((1, 2), "s2mm1")]))
    assert placed["e2"].links == (((0, 2), "east"), ((1, 2), "north"))
    assert placed["r"].links == (((0, 3), "east"), ((1, 3), "south"))
    assert placed["r"].switches == (3,)


def test_no_row_to_cross_columns() -> None:
    config = load_config(CONFIGS / "tiny.yaml", ["shim_tile.stream_ports.east=0", "compute_tile.stream_ports.west=0"])
    check(routes_only(("r", (0, 1), "mm2s0", [((1, 2), "s2mm0")])),
          r"x\.json: route 'r' from \(0,1\)\.mm2s0 to \(1,2\)\.s2mm0 must change column, but no row of the "
          r"array has east/west stream ports .*", config)


# -- compute -----------------------------------------------------------------------------------

def test_compute_in_a_dtype_the_config_has_no_kernel_for(tmp_path: Path) -> None:
    text = (CONFIGS / "tiny.yaml").read_text()
    bf16 = ("        bf16:  {outputs: [bf16, fp32], tile_multiple: [1, 1, 1], macs_per_cycle: 128, efficiency: 0.5, "
            "overhead_cycles: 20}\n")
    assert bf16 in text
    path = tmp_path / "no_bf16.yaml"
    path.write_text(text.replace(bf16, ""))
    config = load_config(path)
    d = base()
    d["tiles"][CORE]["core"] = [{"op": "loop", "count": 4, "body": [
        {"op": "compute", "m": 4, "k": 8, "n": 4, "dtype": "int8"},
        {"op": "compute", "m": 4, "k": 8, "n": 4, "dtype": "bf16"}]}]
    check(d, r"x\.json: compute tile \(0,2\): core\[0\]\.body\[1\]: compute bf16: kernel 'tuned' has no bf16 variant "
             r"\(compute_tile\.kernels\.tuned\.variants has: int8, int16\); add compute_tile\.kernels\.tuned\.variants\.bf16 "
             r"or use another kernel or data type", config)
    verify(program_from_dict(d), TINY)  # tiny has bf16


# -- runtime sequence --------------------------------------------------------------------------

def test_runtime_task_on_a_non_shim_tile() -> None:
    d = base()
    d["runtime"][0]["tile"] = [0, 1]
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): tile \(0,1\) is not a shim tile \(row 0, column < 2\); "
             r"runtime tasks run on shim DMA channels")


def test_runtime_wait_for_a_task_never_issued() -> None:
    d = base()
    d["runtime"][2]["tasks"] = ["out", "inn"]
    check(d, r"x\.json: runtime\[2\]: waits for task 'inn', which no earlier 'dma' op issued; fix the name "
             r"or issue the task before the wait")


def test_runtime_wait_before_the_task_is_issued() -> None:
    d = base()
    d["runtime"] = [d["runtime"][2]] + d["runtime"][:2]
    check(d, r"x\.json: runtime\[0\]: waits for task 'out', which no earlier 'dma' op issued; .*")


def test_runtime_task_reads_past_the_tensor() -> None:
    d = base()
    d["runtime"][0]["offset_bytes"] = 16  # 16 + 4096 > 4096
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): reaches byte 4112 of tensor 'input', which has 4096 "
             r"bytes; shorten the transfer or its strides")


def test_runtime_task_pattern_past_the_tensor() -> None:
    d = base()  # 2 rows of 512 words, 1024 words apart: last word ends at 4 * (1 + 511 + 1024) = 6144
    d["runtime"][0]["dims"] = [{"size": 512, "stride": 1}, {"size": 2, "stride": 1024}]
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): reaches byte 6144 of tensor 'input', which has 4096 "
             r"bytes; shorten the transfer or its strides")


def test_runtime_task_dims_limited_by_the_shim_dma() -> None:
    d = base()
    d["runtime"][0]["dims"] = [{"size": 1, "stride": 0}] + DIMS_4096
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): access pattern has 5 dimensions, the DMA has 3 and an "
             r"iteration dimension \(limit shim_tile\.dma\.address_dims = 3\); fold dimensions or split the BD")


def test_runtime_task_on_an_unrouted_channel_or_unknown_tensor() -> None:
    d = base()
    d["runtime"][0]["channel"] = "mm2s1"
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): shim channel \(0,0\)\.mm2s1 has no route; add a route "
             r"with this channel as source")
    d = base()
    d["runtime"][0]["tensor"] = "inptu"
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): unknown tensor 'inptu'; declare it in 'tensors'")
    d = base()
    d["runtime"][0]["channel"] = "mm2s2"
    check(d, r"x\.json: runtime\[0\] \(task 'in'\): no channel mm2s2 on a shim tile; it has s2mm0, s2mm1, "
             r"mm2s0, mm2s1")


def test_runtime_names_are_unique() -> None:
    d = base()
    d["runtime"][1]["name"] = "in"
    check(d, r"x\.json: runtime\[1\] \(task 'in'\): task name used twice; give each runtime task its own name")
    d = base()
    d["tensors"].append({"name": "input", "size_bytes": 4})
    check(d, r"x\.json: tensors: tensor 'input' is declared twice; give each tensor its own name")


# -- trace files -------------------------------------------------------------------------------

def load_error(path: Path) -> str:
    with pytest.raises(ProgramError) as info:
        load_program(path)
    return str(info.value)


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data, indent=1) if not isinstance(data, str) else data)
    return path


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n "name": "x",\n "tiles": [\n  {"tile": [0, 2],}\n ]\n}\n')
    assert re.fullmatch(re.escape(str(path)) + r":4: not valid JSON: Expecting property name enclosed in "
                        r"double quotes \(column 19\); fix the JSON syntax there", load_error(path))


def test_missing_trace_file(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    assert load_error(path) == f"{path}: cannot read trace file: No such file or directory"


def test_trace_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, [])
    assert load_error(path) == f"{path}: a trace is a JSON object with 'name' and 'tiles'"


@pytest.mark.parametrize(("mutate", "pattern"), [
    (lambda d: d["tiles"][0]["dma"][0]["bds"][0].update(bogus=1),
     r"{p}: tiles\[0\]\.dma\[0\]\.bds\[0\]\.bogus: unknown field; remove it or fix its spelling"),
    (lambda d: d["tiles"][0]["dma"][0]["bds"][0]["acquire"].update(valeu=1),
     r"{p}: tiles\[0\]\.dma\[0\]\.bds\[0\]\.acquire\.valeu: unknown field; remove it or fix its spelling"),
    (lambda d: d["tiles"][1].update(core=[{"op": "release", "lock": "core_full", "count": 1}]),
     r"{p}: tiles\[1\]\.core\[0\]\.count: unknown field; remove it or fix its spelling"),
    (lambda d: d["tiles"][1].update(core=[{"op": "loop", "count": 2, "body": [
        {"op": "compute", "m": 1, "k": 1, "n": 1, "dtype": "fp32"}]}]),
     r"{p}: tiles\[1\]\.core\[0\]\.body\[0\]\.dtype: Input should be 'int8', 'int16', 'bf16', 'bfp16' or 'int4', "
     r"got 'fp32'"),
    (lambda d: d["tiles"][1].update(core=[{"op": "jump"}]),
     (r"{p}: tiles\[1\]\.core\[0\]: Input tag 'jump' found using 'op' does not match any of the expected "
      r"tags: 'acquire', 'release', 'compute', 'vector', 'loop', 'code'")),
    (lambda d: d["runtime"][0].update(bogus=1),
     r"{p}: runtime\[0\]\.bogus: unknown field; remove it or fix its spelling"),
    (lambda d: d["tiles"][0]["dma"][0]["bds"][0].pop("length_bytes"),
     r"{p}: tiles\[0\]\.dma\[0\]\.bds\[0\]\.length_bytes: required field is missing; add it"),
    (lambda d: d.pop("name"), r"{p}: name: required field is missing; add it"),
    (lambda d: d["tiles"][0]["dma"][0]["bds"][0].update(length_bytes=0),
     r"{p}: tiles\[0\]\.dma\[0\]\.bds\[0\]\.length_bytes: Input should be greater than or equal to 1, got 0"),
    (lambda d: d["tiles"][0]["dma"][0]["bds"][0].update(next="stop"),
     (r"{p}: tiles\[0\]\.dma\[0\]\.bds\[0\]\.next: Input should be a valid integer, got 'stop'; "
      r"or Input should be 'end', got 'stop'")),
    (lambda d: d["tiles"][0].update(tile=[0, 1, 0]),
     r"{p}: tiles\[0\]\.tile: Tuple should have at most 2 items after validation, not 3"),
    (lambda d: d.update(version=3),
     (r"{p}: version: trace format version 3 is not supported; this npusim reads versions 1 and 2 "
      r"\(\"version\": 2\); convert the trace to that format \(see docs/model/hardware.md, Programs\)")),
    (lambda d: d.update(format="mlir-aie"), r"{p}: format: expected 'npusim-trace', got 'mlir-aie'"),
])
def test_bad_trace_file(tmp_path: Path, mutate: Any, pattern: str) -> None:
    d = base()
    mutate(d)
    path = write(tmp_path, d)
    message = load_error(path)
    assert re.fullmatch(pattern.format(p=re.escape(str(path))), message), message


def test_trace_roundtrip_and_end_marker(tmp_path: Path) -> None:
    d = base()
    d["tiles"][0]["dma"][0]["bds"][0]["next"] = "end"
    program = load_program(write(tmp_path, d))
    assert program.tiles[0].dma[0].bds[0].next == "end"
    assert program.version == 1


# -- overlapping buffers, repeated destinations, loose types -----------------------------------

def test_buffers_at_explicit_offsets_must_not_overlap() -> None:
    d = base()
    d["tiles"][MEM]["buffers"].append({"name": "alias", "size_bytes": 64, "offset_bytes": 4000})
    check(d, r"x\.json: memory tile \(0,1\): buffer 'alias' \(bytes 4000\.\.4063\) overlaps buffer 'stage_in' "
             r"\(bytes 0\.\.4095\); move one of them, or leave offset_bytes out to place them one after another")


def test_adjacent_buffers_do_not_overlap() -> None:
    d = base()
    d["tiles"][MEM]["buffers"].append({"name": "next", "size_bytes": 64, "offset_bytes": 8192})
    assert verify(program_from_dict(d), TINY).buffers["next"].offset_bytes == 8192


def test_route_listing_a_destination_twice() -> None:
    d = routes_only(("twice", (0, 1), "mm2s0", [((0, 2), "s2mm0"), ((0, 2), "s2mm0")]))
    check(d, r"x\.json: route 'twice': lists destination \(0,2\)\.s2mm0 twice; name each channel once")


@pytest.mark.parametrize("value", [True, "4096", 4096.0])
def test_integer_fields_take_integers_only(value: Any) -> None:
    d = base()
    d["tiles"][0]["dma"][0]["bds"][0]["length_bytes"] = value
    with pytest.raises(ProgramError, match=r"^x\.json: tiles\[0\]\.dma\[0\]\.bds\[0\]\.length_bytes: "
                                           r"Input should be a valid integer, got "):
        program_from_dict(d, "x.json")


def test_buffer_and_lock_names_are_program_wide() -> None:
    d = base()
    d["tiles"][CORE]["buffers"].append({"name": "stage_in", "size_bytes": 64})
    check(d, r"x\.json: compute tile \(0,2\): buffer 'stage_in' is declared twice; names are program-wide")
    d = base()
    d["tiles"][CORE]["locks"].append({"name": "stage_in_full"})
    check(d, r"x\.json: compute tile \(0,2\): lock 'stage_in_full' is declared twice; names are program-wide")


def test_memory_tile_bds_are_split_between_even_and_odd_channels() -> None:
    # passthrough's memory tile: s2mm0 and mm2s0 (even) and s2mm1 and mm2s1 (odd), one BD each.
    # 24 BDs on s2mm0 + 1 on mm2s0 = 25 even-channel BDs: over the even half although the tile
    # uses only 27 of its 48 BDs.
    d = base()
    d["tiles"][MEM]["dma"][0]["bds"] *= 24
    check(d, r"x\.json: memory tile \(0,1\): 25 buffer descriptors used by the even-numbered channels, but "
             r"they share half of the tile's BDs, 24 \(limit mem_tile\.dma\.bds = 48, mem_tile\.dma\.bd_pools "
             r"= 2\); move a chain to an odd-numbered channel or use loops")
    d["tiles"][MEM]["dma"][0]["bds"] = d["tiles"][MEM]["dma"][0]["bds"][:23]  # 23 + 1 = 24 fits
    verify(program_from_dict(d), TINY)
    assert verify(program_from_dict(d), load_config(CONFIGS / "tiny.yaml", ["mem_tile.dma.bd_pools=1"]))
