"""StreamRoute (npusim.hw.stream_switch) driven directly: each participant is a process that
offers BDs at given cycles; the test asserts the cycle each offer's event fires (source time)."""
from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy

from npusim.hw.ddr import Ddr
from npusim.hw.stream_switch import StreamRoute
from npusim.hw.unit import ProgressWatch, Unit
from npusim.stats.recorder import ChannelStats, DdrStats, RouteStats


class Bench:
    """A route with ``k`` destinations, a Unit per participant and per-participant logs."""

    def __init__(self, k: int = 1, rate: int = 4, latency: int = 8, ddr: Ddr | None = None,
                 ddr_reads: int = 0, ddr_writes: int = 0, env: simpy.Environment | None = None) -> None:
        self.env = env or simpy.Environment()
        self.watch = ProgressWatch(self.env)
        self.labels = ["src"] + [f"dst{i}" for i in range(1, k + 1)]
        self.stats = RouteStats((2,) * k)
        self.chan = [ChannelStats() for _ in self.labels]
        self.route = StreamRoute(self.env, "r", rate, [0] + [latency] * k, self.labels, self.stats,
                                 self.chan, ddr, ddr_reads, ddr_writes)
        self.units = [Unit(self.env, lab, self.watch, required=True) for lab in self.labels]
        # DDR bytes per byte moved offered by each end: 1 for the shim ends (the source if it
        # reads DDR, the first ``ddr_writes`` destinations), 0 for tile DMAs
        self.scale = [float(ddr_reads > 0)] + [float(i < ddr_writes) for i in range(k)]
        self.log: dict[str, list[int]] = {lab: [] for lab in self.labels}

    def offers(self, idx: int, bds: list[tuple[int, int]]) -> None:
        """Participant ``idx`` offers each (delay after the previous BD ended, bytes) in turn."""
        def proc() -> Generator[simpy.Event, Any, None]:
            for delay, nbytes in bds:
                yield self.env.timeout(delay)
                yield self.route.offer(idx, nbytes, self.units[idx], self.scale[idx])
                self.log[self.labels[idx]].append(int(self.env.now))
        self.env.process(proc())

    def run(self) -> dict[str, list[int]]:
        self.env.run()
        return self.log


def test_equal_bds_take_ceil_bytes_over_rate() -> None:
    # 1002 B at 4 B/cycle = 250.5 -> 251; events are in source time (latency 8 not added here)
    b = Bench()
    b.offers(0, [(0, 1002)])
    b.offers(1, [(0, 1002)])
    assert b.run() == {"src": [251], "dst1": [251]}
    assert (b.stats.bytes, b.stats.busy) == (1002, 251)
    assert [c.stream_stall for c in b.chan] == [0, 0]


def test_rate_sets_the_duration() -> None:
    # same BD at 2 B/cycle: 1002 / 2 = 501
    b = Bench(rate=2)
    b.offers(0, [(0, 1002)])
    b.offers(1, [(0, 1002)])
    assert b.run() == {"src": [501], "dst1": [501]}


def test_late_destination_stalls_the_source() -> None:
    # src ready at 0, dst at 30: 400 B move 30..130; the source waited 30 cycles
    b = Bench()
    b.offers(0, [(0, 400)])
    b.offers(1, [(30, 400)])
    b.env.run(until=10)
    src = b.units[0]
    assert src.waiting is b.route and b.watch.blocked == 1
    assert src.describe() == "send 400 bytes on route 'r'; not ready: dst1"
    assert b.run() == {"src": [130], "dst1": [130]}
    assert [c.stream_stall for c in b.chan] == [30, 0]
    assert src.waiting is None and b.watch.blocked == 0
    assert (b.stats.bytes, b.stats.busy) == (400, 100)


def test_late_source_stalls_the_destination() -> None:
    b = Bench()
    b.offers(0, [(25, 400)])
    b.offers(1, [(0, 400)])
    b.env.run(until=10)
    assert b.units[1].describe() == "receive 400 bytes on route 'r'; not ready: src"
    assert b.run() == {"src": [125], "dst1": [125]}
    assert [c.stream_stall for c in b.chan] == [0, 25]


def test_destination_bds_smaller_than_the_source_bd() -> None:
    # src offers 1000 once; dst offers 500, then (10 cycles later) 500 more.
    #   segment 1: 0..125 (500 / 4) -> dst's first BD done at 125
    #   dst re-offers at 135: segment 2: 135..260 -> src's BD and dst's second BD done at 260
    # The source waited 125..135 for the destination's next BD.
    b = Bench()
    b.offers(0, [(0, 1000)])
    b.offers(1, [(0, 500), (10, 500)])
    b.env.run(until=130)
    # Mid-BD and waiting for the other end: the source counts as blocked on the route.
    assert b.units[0].describe() == "send 500 bytes on route 'r'; not ready: dst1"
    assert b.watch.blocked == 1  # the source; the destination is in its 10-cycle gap
    assert b.run() == {"src": [260], "dst1": [125, 260]}
    assert [c.stream_stall for c in b.chan] == [10, 0]
    assert (b.stats.bytes, b.stats.busy) == (1000, 250)


def test_source_bds_smaller_than_the_destination_bd() -> None:
    # src: 300 then 700 immediately; dst: 1000. Segments 0..75 and 75..250.
    b = Bench()
    b.offers(0, [(0, 300), (0, 700)])
    b.offers(1, [(0, 1000)])
    assert b.run() == {"src": [75, 250], "dst1": [250]}
    assert (b.stats.bytes, b.stats.busy) == (1000, 250)


def test_broadcast_moves_only_when_every_destination_is_ready() -> None:
    # src and dst1 ready at 0, dst2 at 100: nothing moves before 100; 800 B -> 100..300
    b = Bench(k=2)
    b.offers(0, [(0, 800)])
    b.offers(1, [(0, 800)])
    b.offers(2, [(100, 800)])
    b.env.run(until=50)
    assert b.stats.bytes == 0
    assert b.units[0].describe() == "send 800 bytes on route 'r'; not ready: dst2"
    assert b.run() == {"src": [300], "dst1": [300], "dst2": [300]}
    assert [c.stream_stall for c in b.chan] == [100, 100, 0]
    # a broadcast segment counts its bytes once on the route
    assert (b.stats.bytes, b.stats.busy) == (800, 200)


def test_broadcast_runs_at_the_pace_of_the_slowest_destination() -> None:
    # dst1 takes 400-byte BDs with 50 cycles between them; dst2 one 800-byte BD.
    #   segment 1: 0..100 (400 B); dst1 re-offers at 150 -> segment 2: 150..250
    b = Bench(k=2)
    b.offers(0, [(0, 800)])
    b.offers(1, [(0, 400), (50, 400)])
    b.offers(2, [(0, 800)])
    assert b.run() == {"src": [250], "dst1": [100, 250], "dst2": [250]}
    assert [c.stream_stall for c in b.chan] == [50, 0, 50]
    assert (b.stats.bytes, b.stats.busy) == (800, 200)


def test_route_without_ddr_ends_ignores_the_ddr() -> None:
    # A Ddr is passed but the route touches no shim: stream rate applies (1000 / 4 = 250).
    env = simpy.Environment()
    ddr_stats = DdrStats()
    b = Bench(ddr=Ddr(env, 1.0, ddr_stats), env=env)
    b.offers(0, [(0, 1000)])
    b.offers(1, [(0, 1000)])
    assert b.run() == {"src": [250], "dst1": [250]}
    assert (ddr_stats.bytes_read, ddr_stats.bytes_written, ddr_stats.busy) == (0, 0, 0)


@pytest.mark.parametrize("reads, writes", [(1, 0), (0, 1)])
def test_ddr_share_sets_the_segment_duration(reads: int, writes: int) -> None:
    # A shim end: the segment is a DDR flow capped at the route rate (4); the DDR gives 2 B/cycle
    # -> 1000 / 2 = 500 cycles, not 1000 / 4 = 250.
    env = simpy.Environment()
    ddr_stats = DdrStats()
    b = Bench(ddr=Ddr(env, 2.0, ddr_stats), ddr_reads=reads, ddr_writes=writes, env=env)
    b.offers(0, [(0, 1000)])
    b.offers(1, [(0, 1000)])
    assert b.run() == {"src": [500], "dst1": [500]}
    assert (ddr_stats.bytes_read, ddr_stats.bytes_written) == (1000 * reads, 1000 * writes)
    assert ddr_stats.busy == 500
    assert (b.stats.bytes, b.stats.busy) == (1000, 500)


def test_two_routes_share_the_ddr() -> None:
    # Two shim routes at 4 B/cycle each on a 6 B/cycle DDR: 3 each -> 1200 / 3 = 400.
    # Alone, each would be capped by its route rate: 1200 / 4 = 300.
    env = simpy.Environment()
    ddr_stats = DdrStats()
    ddr = Ddr(env, 6.0, ddr_stats)
    b1 = Bench(ddr=ddr, ddr_reads=1, env=env)
    b2 = Bench(ddr=ddr, ddr_reads=1, env=env)
    for b in (b1, b2):
        b.offers(0, [(0, 1200)])
        b.offers(1, [(0, 1200)])
    env.run()
    assert b1.log == b2.log == {"src": [400], "dst1": [400]}
    assert ddr_stats.bytes_read == 2400 and ddr_stats.busy == 400


def test_short_runs_cost_more_ddr_bytes_than_they_move() -> None:
    # A shim source whose pattern uses 4 DDR bytes per byte moved: 1000 B need 4000 DDR bytes;
    # the DDR gives 8 B/cycle -> 500 cycles (the 4 B/cycle stream alone would need 250).
    env = simpy.Environment()
    ddr_stats = DdrStats()
    b = Bench(ddr=Ddr(env, 8.0, ddr_stats), ddr_reads=1, env=env)
    b.scale[0] = 4.0
    b.offers(0, [(0, 1000)])
    b.offers(1, [(0, 1000)])
    assert b.run() == {"src": [500], "dst1": [500]}
    assert (ddr_stats.bytes_read, ddr_stats.bytes_accessed) == (1000, 4000)
