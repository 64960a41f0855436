"""DMA channel of a compute or memory tile: walks its chain of buffer descriptors.

Per BD: acquire the BD's lock (waiting is lock stall), pay the lock-acquire and DMA start-up
cycles, move ``length_bytes`` over the channel's route (waiting for the peer is stream stall),
then post the BD's release. An S2MM channel's data lands ``latency`` cycles after the source sent
it, so its release is posted that much later, while the channel already starts its next BD.

In functional mode an MM2S BD reads its bytes through its access pattern when it offers them, and
an S2MM BD writes what it received through its pattern before it releases its lock (hw/data.py).

A chain whose ``next`` links loop never ends: the channel is a daemon, not a unit the program
waits for, and it checks the progress watch so that a livelock ends the run instead of hanging.

The channel is a state machine driven by callbacks, not a SimPy process: ``next_bd`` asks the
BD's lock (a grant already decided costs nothing; otherwise the grant event calls ``granted``),
offers the bytes from the cycle its start-up ends, and the route calls ``moved`` when they have
left the source, which posts the release and starts the next BD.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import simpy

from ..config import DmaSpec, LockTimingSpec
from ..isa import BufferDescriptor, DmaChannelProgram
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


Step = tuple[BufferDescriptor, Any, int, Any, int, int]
"""A BD as the channel walks it: (BD, acquired lock, value, released lock, value, bytes)."""


class TileDmaChannel(Unit):
    __slots__ = ("program", "steps", "loop_from", "route", "idx", "startup_free", "startup_locked", "release_cycles",
                 "latency", "stats", "rec", "stall_limit", "data", "runs", "left", "bd", "t0", "ready",
                 "last_done")

    def __init__(self, env: ArrayClock, name: str, program: DmaChannelProgram,
                 spec: DmaSpec, lock_timing: LockTimingSpec, locks: Mapping[str, Lock | PairLock],
                 route: StreamRoute, idx: int, rec: Recorder, stats: ChannelStats,
                 watch: ProgressWatch, stall_limit: int, data: DataPlane | None = None) -> None:
        nxt, loops = chain_order(program)
        super().__init__(env, name, watch, required=not loops)
        self.program = program
        # the chain from its start, each BD once, as (BD, acquired lock, value, released lock,
        # value, bytes): no look-ups per BD. A looping chain goes on from ``loop_from`` forever.
        self.steps: list[Step] = []
        order: list[int] = []
        i: int | None = program.start
        while i is not None and i not in order:
            order.append(i)
            bd = program.bds[i]
            acq, rel = bd.acquire, bd.release
            self.steps.append((bd, locks[acq.lock] if acq else None, acq.value if acq else 0,
                               locks[rel.lock] if rel else None, rel.value if rel else 0, bd.length_bytes))
            i = nxt[i]
        self.loop_from = order.index(i) if i is not None else len(order)
        self.route = route
        self.idx = idx
        self.startup_free = dma_startup_cycles(spec, lock_timing, False)
        self.startup_locked = dma_startup_cycles(spec, lock_timing, True)
        self.release_cycles = lock_timing.release_cycles
        self.latency = route.latency[idx]
        self.stats = stats
        self.rec = rec
        self.stall_limit = stall_limit
        self.data = data  # functional mode: the buffers' bytes move with the BDs
        self.runs: Iterator[list[Step]] = iter(())
        self.left: Iterator[Step] = iter(())
        self.bd: Step = self.steps[0]
        self.t0 = self.ready = self.last_done = 0
        env.timeout(0).callbacks.append(self.begin)

    def begin(self, _: simpy.Event | None = None) -> None:
        """Start the chain (called at cycle 0)."""
        self.runs = self.walk()
        self.left = iter(())
        self.next_bd()

    def next_bd(self) -> None:
        """Start the next BD: acquire its lock, or wait for it, then offer its bytes."""
        step = next(self.left, None)
        if step is None:
            run = next(self.runs, None)
            if run is None:
                self.end()
                return
            self.left = iter(run)
            step = next(self.left)
        self.bd = step
        self.t0 = t0 = self.env._now
        if not self.required:
            since = self.watch.since  # inline ProgressWatch.stuck_cycles: every BD of a daemon
            if since is not None and t0 - since > self.stall_limit:
                raise Livelock(self.name)
        acq = step[1]
        if acq is None:
            ready = t0 + self.startup_free
        else:
            got = acq.request(step[2], self, t0)
            if got.__class__ is not int:
                got.callbacks.append(self.granted)
                return
            if got != t0:
                self.stats.lock_stall += got - t0
            ready = got + self.startup_locked
        self.ready = ready
        if self.data is not None and self.idx == 0:
            self.push(step[0])
        self.route.offer(self.idx, step[5], self, 0.0, ready, self.moved)

    def granted(self, _: simpy.Event) -> None:
        """The BD's lock was granted after a wait: offer its bytes once started up."""
        now = self.env._now
        self.stats.lock_stall += now - self.t0
        self.ready = ready = now + self.startup_locked
        if self.data is not None and self.idx == 0:
            self.push(self.bd[0])
        self.route.offer(self.idx, self.bd[5], self, 0.0, ready, self.moved)

    def push(self, bd: BufferDescriptor) -> None:
        """Functional mode, source end: gather the BD's bytes into the route."""
        assert self.data is not None
        self.route.data.push(gather(self.data.buffers[bd.buffer], bd.offset_bytes, bd.length_bytes, bd.dims, bd.pad))

    def moved(self) -> None:
        """The BD's bytes have left the source: count them, post the release, start the next."""
        bd, _, _, rel, rel_value, length = self.bd
        if self.data is not None and self.idx:
            scatter(self.data.buffers[bd.buffer], bd.offset_bytes, bd.dims, self.route.data.pull(self.idx, length))
        stats = self.stats
        self.last_done = done = self.env._now + self.latency
        stats.bytes += length
        stats.bds += 1
        stats.active += done - self.ready
        if self.rec.intervals is not None:
            self.rec.interval(self.ready, done, self.name, "busy")
        if rel is not None:
            rel.post(rel_value, done + self.release_cycles, "dma")
        self.next_bd()

    def end(self) -> None:
        """The chain is done once its last bytes have landed."""
        wait = self.last_done - self.env._now
        if wait > 0:
            self.env.timeout(wait).callbacks.append(lambda _: self.end())
            return
        self.stats.finish = self.env.now
        self.finish()

    def walk(self) -> Iterator[list[Step]]:
        """The chain's BDs in runs: the whole chain ``repeat`` times, or, for a looping chain,
        the whole chain and then its loop for ever."""
        if self.required:
            for _ in range(self.program.repeat):
                yield self.steps
        else:
            yield self.steps
            while True:
                yield self.steps[self.loop_from:]
