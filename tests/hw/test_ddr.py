"""Ddr (npusim.hw.ddr) driven directly: flows started by source processes, completion cycles
computed by hand (max-min fair fluid, completion rounded up to whole cycles)."""
from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import simpy

from npusim.hw.ddr import Ddr
from npusim.stats.recorder import DdrStats


def run_flows(bandwidth: float, flows: list[tuple[int, int, float]]) -> tuple[list[int], DdrStats]:
    """Start each (start cycle, bytes, cap) flow; return each flow's completion cycle."""
    env = simpy.Environment()
    stats = DdrStats()
    ddr = Ddr(env, bandwidth, stats)
    done = [-1] * len(flows)

    def flow(i: int, start: int, nbytes: int, cap: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(start)
        yield ddr.transfer(nbytes, cap)
        done[i] = int(env.now)

    for i, (start, nbytes, cap) in enumerate(flows):
        env.process(flow(i, start, nbytes, cap))
    env.run()
    assert ddr.flows == []
    return done, stats


def test_one_flow_capped_below_bandwidth() -> None:
    # bandwidth 8 B/cycle, the flow's route allows 4: 1001 / 4 = 250.25 -> 251
    done, stats = run_flows(8.0, [(0, 1001, 4)])
    assert done == [251]
    assert stats.busy == 251


def test_one_flow_uncapped_gets_the_whole_bandwidth() -> None:
    # cap 100 > bandwidth 8: 1001 / 8 = 125.125 -> 126
    done, _ = run_flows(8.0, [(0, 1001, 100)])
    assert done == [126]


def test_flow_started_later_counts_from_its_start() -> None:
    # starts at 40: 400 / 8 = 50 cycles -> 90
    done, stats = run_flows(8.0, [(40, 400, 8)])
    assert done == [90]
    assert stats.busy == 50


def test_two_equal_flows_share_half_each() -> None:
    # 8 B/cycle split 4 + 4: 1000 / 4 = 250 each (alone each would take 125)
    done, stats = run_flows(8.0, [(0, 1000, 8), (0, 1000, 8)])
    assert done == [250, 250]
    assert stats.busy == 250


def test_max_min_share_gives_what_a_capped_flow_leaves_to_the_other() -> None:
    # A capped at 2, B at 8, bandwidth 8: A gets 2, B gets the other 6 (not an equal 4).
    # B: 600 / 6 = 100 -> done at 100.  A: 2 B/cycle throughout (its cap) -> 400 / 2 = 200.
    done, stats = run_flows(8.0, [(0, 400, 2), (0, 600, 8)])
    assert done == [200, 100]
    assert stats.busy == 200


def test_freed_bandwidth_goes_to_the_remaining_flow() -> None:
    # A 200 B, B 1000 B, both cap 8, bandwidth 8: 4 + 4 until A ends at 200 / 4 = 50;
    # B then has 1000 - 200 = 800 left alone at 8 -> 100 more -> 150.
    done, _ = run_flows(8.0, [(0, 200, 8), (0, 1000, 8)])
    assert done == [50, 150]


def test_staggered_start_piecewise() -> None:
    # A: 1000 B from 0; B: 400 B from 50; caps 8, bandwidth 8.
    #   0..50   A alone at 8       -> A has 1000 - 400 = 600 left
    #   50..150 A and B at 4 each  -> B done at 50 + 400/4 = 150; A has 600 - 400 = 200 left
    #   150..   A alone at 8       -> A done at 150 + 200/8 = 175
    done, stats = run_flows(8.0, [(0, 1000, 8), (50, 400, 8)])
    assert done == [175, 150]
    assert stats.busy == 175


def test_three_flows_water_filling() -> None:
    # bandwidth 9, caps 1, 4, 100: the cap-1 flow gets 1; 8 left for two -> 4 each (the cap-4
    # flow is exactly at its cap). Bytes chosen to end together at 100: 100, 400, 400.
    done, _ = run_flows(9.0, [(0, 100, 1), (0, 400, 4), (0, 400, 100)])
    assert done == [100, 100, 100]


def test_non_integer_bandwidth_rounds_completion_up() -> None:
    # npu2-like: 50 GB/s at 1800 MHz = 27.77... B/cycle. 1000 / 27.77... = 36.0 exactly -> 36;
    # 1001 bytes -> 36.036 -> 37.
    bw = 50.0 * 1e3 / 1800
    assert run_flows(bw, [(0, 1000, 100)])[0] == [36]
    assert run_flows(bw, [(0, 1001, 100)])[0] == [37]


def test_non_integer_fair_share_rounds_up() -> None:
    # bandwidth 5, two flows share 2.5 each: 100 / 2.5 = 40 -> 40; 101 / 2.5 = 40.4 -> 41,
    # and the 100-byte flow ends at 40 while the other is still moving.
    done, _ = run_flows(5.0, [(0, 100, 5), (0, 100, 5)])
    assert done == [40, 40]
    # 0..40: 2.5 each -> the 101-byte flow has 1 byte left at 40, alone at 5 -> 0.2 -> 41
    done, _ = run_flows(5.0, [(0, 100, 5), (0, 101, 5)])
    assert done == [40, 41]


def test_busy_counts_only_cycles_with_a_flow() -> None:
    # A: 0..100 (800 B at 8); idle 100..150; B: 150..200 (400 B at 8) -> busy 100 + 50 = 150
    done, stats = run_flows(8.0, [(0, 800, 8), (150, 400, 8)])
    assert done == [100, 200]
    assert stats.busy == 150


def test_back_to_back_flows_keep_busy_continuous() -> None:
    # B starts the cycle A ends: busy is 0..100 + 100..150 = 150 either way
    done, stats = run_flows(8.0, [(0, 800, 8), (100, 400, 8)])
    assert done == [100, 150]
    assert stats.busy == 150


def test_sharing_is_work_conserving_between_cycles() -> None:
    # fluid: 0..2/3 each at 1.5 -> A done (1 B), B has 5 - 1 = 4 left; alone at 3 -> 4/3 more
    # -> B ends at 2/3 + 4/3 = 2. A is reported at ceil(2/3) = 1.
    done, _ = run_flows(3.0, [(0, 1, 3), (0, 5, 3)])
    assert done == [1, 2]


def run_flows_announced(bandwidth: float, flows: list[tuple[int, int, float]]) -> tuple[list[int], DdrStats]:
    """The same flows, each registered at cycle 0 with its start cycle (``transfer(start=...)``),
    the way a route announces a segment whose participants are still starting up."""
    env = simpy.Environment()
    stats = DdrStats()
    ddr = Ddr(env, bandwidth, stats)
    done = [-1] * len(flows)
    for i, (start, nbytes, cap) in enumerate(flows):
        def finished(i: int = i) -> None:
            done[i] = int(env.now)
        ddr.transfer(nbytes, cap, finished, start)
    env.run()
    assert ddr.flows == [] and ddr.arrivals == []
    return done, stats


def test_a_short_flow_announced_later_completes_first() -> None:
    # A: 1000 B from 0; B: 40 B from 10; caps 8, bandwidth 8. B completes at 10 + 40/4 = 20,
    # before A, whose lone-rate completion (125) would be too late a wake-up for B.
    assert run_flows_announced(8.0, [(0, 1000, 8), (10, 40, 8)])[0] == [130, 20]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(1, 2000), st.sampled_from([1.0, 2.0, 4.0, 100.0])),
                min_size=1, max_size=8),
       st.sampled_from([8.0, 9.0, 50.0 * 1e3 / 1800]))
def test_flows_announced_ahead_complete_as_flows_started_on_time(
        flows: list[tuple[int, int, float]], bandwidth: float) -> None:
    # the DDR serves a flow registered ahead of its start exactly as one registered at its start
    on_time, stats = run_flows(bandwidth, flows)
    ahead, stats_ahead = run_flows_announced(bandwidth, flows)
    assert ahead == on_time
    assert stats_ahead.busy == stats.busy


# -- reads and writes with limits of their own ---------------------------------------------------

def run_directed(bandwidth: float, read: float, write: float,
                 flows: list[tuple[int, int, float, bool]]) -> list[int]:
    """Start each (start, bytes, cap, is_write) flow on a DDR with read and write limits."""
    env = simpy.Environment()
    ddr = Ddr(env, bandwidth, DdrStats(), read, write)
    done = [-1] * len(flows)

    def flow(i: int, start: int, nbytes: int, cap: float, write: bool) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(start)
        yield ddr.transfer(nbytes, cap, write=write)
        done[i] = int(env.now)

    for i, f in enumerate(flows):
        env.process(flow(i, *f))
    env.run()
    return done


def test_reads_and_writes_each_get_their_own_limit() -> None:
    # 4 reads and 4 writes at 4 B/cycle each; reads limited to 8, writes to 8, all to 100: each gets 2
    # B/cycle: 1000 / 2 = 500 cycles. Without direction limits all 8 would run at their caps (250 cycles)
    flows = [(0, 1000, 4.0, w) for w in (False,) * 4 + (True,) * 4]
    assert run_directed(100.0, 8.0, 8.0, flows) == [500] * 8
    assert run_directed(100.0, float("inf"), float("inf"), flows) == [250] * 8


def test_a_direction_below_its_limit_leaves_the_rest_to_the_other() -> None:
    # total 10: one write capped at 2 by its route, reads limited to 16 share the 8 left: 4 each
    from npusim.hw.ddr import directed_rates
    assert directed_rates(10.0, 16.0, 16.0, [(2.0, True), (100.0, False), (100.0, False)]) == [2.0, 4.0, 4.0]
    # the writes' own limit binds first: 3 for the two writes together, the reads take the rest of 10
    assert directed_rates(10.0, 100.0, 3.0, [(100.0, True), (100.0, True), (100.0, False)]) == [1.5, 1.5, 7.0]


@settings(max_examples=100, deadline=None)
@given(st.floats(1.0, 64.0), st.lists(st.tuples(st.floats(0.5, 64.0), st.booleans()), min_size=1, max_size=8))
def test_without_direction_limits_the_rates_are_the_plain_fair_share(bandwidth: float,
                                                                   flows: list[tuple[float, bool]]) -> None:
    from npusim.hw.ddr import directed_rates, fair_rates
    got = directed_rates(bandwidth, float("inf"), float("inf"), flows)
    assert got == pytest.approx(fair_rates(bandwidth, [c for c, _ in flows]), rel=1e-9, abs=1e-9)
