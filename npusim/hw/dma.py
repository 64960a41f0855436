"""DMA channel of a compute or memory tile: walks its chain of buffer descriptors.

Per BD: acquire the BD's lock (waiting is lock stall), pay the lock-acquire and DMA start-up
cycles, move ``length_bytes`` over the channel's route (waiting for the peer is stream stall),
then post the BD's release. An S2MM channel's data lands ``latency`` cycles after the source sent
it, so its release is posted that much later, while the channel already starts its next BD.

In functional mode an MM2S BD reads its bytes through its access pattern when it offers them, and
an S2MM BD writes what it received through its pattern before it releases its lock (hw/data.py).

A chain whose ``next`` links loop never ends: the channel is a daemon, not a unit the program
waits for, and it checks the progress watch so that a livelock ends the run instead of hanging.
"""
from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import simpy

from ..config import DmaSpec, LockTimingSpec
from ..isa import DmaChannelProgram
from ..stats.recorder import ChannelStats, Recorder
from .data import DataPlane, gather, scatter
from .errors import Livelock
from .lock import Lock, PairLock
from .stream_switch import StreamRoute
from .timing import dma_startup_cycles
from .unit import ArrayClock, ProgressWatch, Unit


def chain_order(ch: DmaChannelProgram) -> tuple[list[int | None], bool]:
    """Successor of each BD (None ends the chain) and whether the chain from ``start`` loops."""
    n = len(ch.bds)
    nxt: list[int | None] = []
    for k, bd in enumerate(ch.bds):
        if bd.next is None:
            nxt.append(k + 1 if k + 1 < n else None)
        else:
            nxt.append(None if bd.next == "end" else bd.next)
    seen: set[int] = set()
    i: int | None = ch.start
    while i is not None and i not in seen:
        seen.add(i)
        i = nxt[i]
    return nxt, i is not None


class TileDmaChannel(Unit):
    __slots__ = ("program", "nxt", "locks", "route", "idx", "startup", "release_cycles",
                 "latency", "stats", "rec", "stall_limit", "data")

    def __init__(self, env: ArrayClock, name: str, program: DmaChannelProgram,
                 spec: DmaSpec, lock_timing: LockTimingSpec, locks: Mapping[str, Lock | PairLock],
                 route: StreamRoute, idx: int, rec: Recorder, stats: ChannelStats,
                 watch: ProgressWatch, stall_limit: int, data: DataPlane | None = None) -> None:
        nxt, loops = chain_order(program)
        super().__init__(env, name, watch, required=not loops)
        self.program = program
        self.nxt = nxt
        self.locks = locks
        self.route = route
        self.idx = idx
        self.startup = (dma_startup_cycles(spec, lock_timing, False),
                        dma_startup_cycles(spec, lock_timing, True))
        self.release_cycles = lock_timing.release_cycles
        self.latency = route.latency[idx]
        self.stats = stats
        self.rec = rec
        self.stall_limit = stall_limit
        self.data = data  # functional mode: the buffers' bytes move with the BDs
        env.process(self.run())

    def run(self) -> Generator[simpy.Event, Any, None]:
        repeats = self.program.repeat if self.required else 1
        last_done = 0
        for _ in range(repeats):
            i: int | None = self.program.start
            while i is not None:
                last_done = yield from self.step(i)
                i = self.nxt[i]
        if last_done > self.env.now:
            yield self.env.timeout(last_done - self.env.now)
        self.stats.finish = self.env.now
        self.finish()

    def step(self, i: int) -> Generator[simpy.Event, Any, int]:
        env, stats = self.env, self.stats
        if not self.required and self.watch.stuck_cycles() > self.stall_limit:
            raise Livelock(self.name)
        bd = self.program.bds[i]
        t0 = env.now
        if bd.acquire is not None:
            got = self.locks[bd.acquire.lock].request(bd.acquire.value, self, t0)
            if not isinstance(got, int):
                yield got
                got = env.now
            stats.lock_stall += got - t0
            t1 = got + self.startup[1]
        else:
            t1 = t0 + self.startup[0]
        if self.data is not None and self.idx == 0:
            self.route.data.push(gather(self.data.buffers[bd.buffer], bd.offset_bytes, bd.length_bytes, bd.dims))
        yield self.route.offer(self.idx, bd.length_bytes, self, ready=t1)
        if self.data is not None and self.idx:
            scatter(self.data.buffers[bd.buffer], bd.offset_bytes, bd.dims,
                    self.route.data.pull(self.idx, bd.length_bytes))
        done = env.now + self.latency
        stats.bytes += bd.length_bytes
        stats.bds += 1
        stats.active += done - t1
        self.rec.interval(t1, done, self.name, "busy")
        if bd.release is not None:
            self.locks[bd.release.lock].post(bd.release.value, done + self.release_cycles, "dma")
        return done
