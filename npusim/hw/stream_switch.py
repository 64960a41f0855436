"""A circuit-switched stream route through the stream switches, at run time.

The route joins one MM2S channel (the source, participant 0) with one or more S2MM channels
(participants 1..k). Each offers the bytes of its current BD; when every participant has offered,
a *segment* of the smallest offer moves at the route's rate (the slowest of the stream and the
channels) — or through the DDR port when a shim channel is an end of the route. A shim end offers
with the DDR bytes its transfer costs per byte moved (``ddr_scale``, 1 for contiguous data, more
when short runs waste DDR accesses); the segment asks DDR for that many bytes, capped to match. Back-pressure is
exact at segment granularity: a broadcast moves only when every destination is ready.

Times are source times: a segment's words leave the source from its start to its end; a
destination has the last word ``latency`` cycles after the end (the channel charges that, so its
next BD can already accept the words that follow, as the switch FIFOs allow).

An offer may be made before its channel is ready (``ready``: the cycle its start-up ends), so that
start-up costs no event of its own; the segment starts when the last participant is ready. A
finished participant is told by calling its ``done`` continuation (tile DMA channels), or by an
event (shim channels, tests).
"""
from __future__ import annotations

from collections.abc import Callable

import simpy

from ..stats.recorder import ChannelStats, DdrStats, RouteStats
from .data import RouteData
from .ddr import Ddr
from .timing import transfer_cycles
from .unit import ArrayClock, Unit


class StreamRoute:
    __slots__ = ("env", "name", "rate", "latency", "labels", "ddr", "ddr_reads", "ddr_writes",
                 "left", "done", "units", "since", "chan", "missing", "seg", "seg_start",
                 "stats", "ddr_stats", "scale", "seg_ddr", "data", "pending")

    def __init__(self, env: ArrayClock, name: str, rate: int, latency: list[int],
                 labels: list[str], stats: RouteStats, chan: list[ChannelStats],
                 ddr: Ddr | None, ddr_reads: int, ddr_writes: int) -> None:
        self.env = env
        self.name = name
        self.rate = rate
        self.latency = latency  # per participant; 0 for the source
        self.labels = labels
        self.stats = stats
        self.chan = chan
        self.ddr = ddr if ddr_reads or ddr_writes else None
        self.ddr_stats: DdrStats | None = self.ddr.stats if self.ddr is not None else None
        self.ddr_reads, self.ddr_writes = ddr_reads, ddr_writes
        n = len(labels)
        self.left = [0] * n
        self.done: list[Callable[[], object] | None] = [None] * n
        self.units: list[Unit | None] = [None] * n
        self.since = [0] * n
        self.scale = [0.0] * n  # DDR bytes per byte moved, for the shim ends
        self.missing = n
        self.seg = 0
        self.seg_start = 0
        self.seg_ddr = 0  # DDR bytes the current segment costs
        self.data = RouteData(n)  # the words in flight, used in functional mode only
        self.pending = 0  # DDR flows of the segment still moving (a route that reads and writes DDR: 2)

    def offer(self, idx: int, nbytes: int, unit: Unit, ddr_scale: float = 0.0, ready: int = -1,
              done: Callable[[], object] | None = None) -> simpy.Event | None:
        """Participant ``idx`` is ready to move ``nbytes`` from cycle ``ready`` (now, or later when
        it is still starting up). When they have moved (in source time), ``done()`` is called, or,
        without ``done``, the returned event fires. A shim end gives the DDR bytes its transfer
        costs per byte moved."""
        ev = None
        if done is None:
            ev = simpy.Event(self.env)
            done = ev.succeed
        if ready < self.env._now:
            ready = self.env._now
        self.scale[idx] = ddr_scale
        self.left[idx] = nbytes
        self.done[idx] = done
        self.units[idx] = unit
        self.since[idx] = ready
        self.missing -= 1
        if self.missing == 0:
            self._start()
        else:
            unit.block(self, ready)
        return ev

    def _start(self) -> None:
        """Every participant has offered: the segment starts when the last of them is ready."""
        since, chan = self.since, self.chan
        self.seg_start = start = max(since)
        self.seg = seg = min(self.left)
        for i, unit in enumerate(self.units):
            if start != since[i]:
                chan[i].stream_stall += start - since[i]
            if unit.waiting is self:  # type: ignore[union-attr]  # every participant has offered
                unit.unblock()  # type: ignore[union-attr]
        ddr = self.ddr
        if ddr is not None:
            scale = sum(self.scale)
            self.seg_ddr = round(seg * scale)
            cap = min(self.rate, ddr.channel_bpc)
            read = self.scale[0]  # the source's DDR bytes per byte (0 unless a shim reads DDR)
            if read and scale > read and ddr.directed:  # reads and writes DDR, each under its own limit
                self.pending = 2
                ddr.transfer(round(seg * read), cap * read, self._half, start, False)
                ddr.transfer(self.seg_ddr - round(seg * read), cap * (scale - read), self._half, start, True)
            else:
                ddr.transfer(self.seg_ddr, cap * scale, self._end, start, not read)
        else:
            self.env.timeout(start - self.env._now + transfer_cycles(seg, self.rate)).callbacks.append(self._end)

    def _half(self) -> None:
        """One of a segment's two DDR flows is done; the segment ends with the second."""
        self.pending -= 1
        if not self.pending:
            self._end()

    def _end(self, _: simpy.Event | None = None) -> None:
        now = self.env._now
        seg = self.seg
        self.stats.busy += now - self.seg_start
        self.stats.bytes += seg
        self.stats.segments += 1
        if self.ddr_stats is not None:
            self.ddr_stats.bytes_read += seg * self.ddr_reads
            self.ddr_stats.bytes_written += seg * self.ddr_writes
            self.ddr_stats.bytes_accessed += self.seg_ddr
        left = self.left
        n = len(left)
        if left.count(seg) == n:  # the usual case: every participant's offer is used up
            finished = self.done
            self.done = [None] * n
            self.left = [0] * n
            self.missing = n
        else:
            finished = []
            for i in range(n):
                left[i] -= seg
                if left[i] == 0:
                    self.missing += 1
                    finished.append(self.done[i])
                    self.done[i] = None
                else:
                    self.since[i] = now
            # the route waits for a new offer; those with bytes left wait again
            for i, unit in enumerate(self.units):
                if left[i] and unit is not None:
                    unit.block(self)
        # then the finished participants go on (and may offer again)
        for done in finished:
            done()  # type: ignore[misc]  # set with the offer

    def describe_wait(self, unit: Unit) -> str:
        idx = self.units.index(unit)
        verb = "send" if idx == 0 else "receive"
        absent = [self.labels[i] for i, n in enumerate(self.left) if n == 0]
        return (f"{verb} {self.left[idx]} bytes on route '{self.name}'; not ready: "
                f"{', '.join(absent)}")
