"""The core of a compute tile: runs its instruction stream.

``compute`` takes the cycles of the compute rule (one timeout, however long the call);
``acquire`` waits for its lock (a stall on data movement if a DMA's release granted it, a lock
stall if a core's did) and then takes ``locks.acquire_cycles``; ``release`` takes
``locks.release_cycles`` and then adds to the lock. Loops are run, never unrolled. In functional
mode ``compute`` also computes on its operand buffers (hw/kernels.py), taking the same cycles.

Run-ahead: a core keeps its own clock, ``ahead`` cycles in front of the array's, and yields to
the engine only when it must meet another unit at an exact cycle. Compute and lock-operation
cycles just advance its clock; a release is posted for the core's clock; an acquire of a
producer-consumer lock (hw/lock.py ``PairLock``) is answered at the core's clock, with its grant
cycle when the releases posted so far decide it, and the core yields only when they do not.
Other locks first let the array's clock catch up. So a kernel call costs no engine event unless
the core must wait for a release not yet posted, and every cycle count is that of a core that
yields at every instruction.
"""
from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import simpy

from ..config import ComputeTileSpec, LockTimingSpec
from ..isa import Acquire, Compute, Instruction, Loop, Release
from ..stats.recorder import CoreStats, Recorder
from .data import DataPlane
from .kernels import run_matmul
from .lock import Lock, PairLock
from .timing import compute_cycles
from .unit import ArrayClock, ProgressWatch, Unit


class Core(Unit):
    __slots__ = ("program", "locks", "cycles", "acquire_cycles", "release_cycles", "stats", "rec", "data",
                 "ahead")

    def __init__(self, env: ArrayClock, name: str, program: tuple[Instruction, ...],
                 spec: ComputeTileSpec, lock_timing: LockTimingSpec, locks: Mapping[str, Lock | PairLock],
                 rec: Recorder, stats: CoreStats, watch: ProgressWatch,
                 data: DataPlane | None = None) -> None:
        super().__init__(env, name, watch, required=True)
        self.program = program
        self.locks = locks
        self.cycles: dict[int, int] = {}  # id(Compute) -> cycles: no dataclass hashing per call
        self._time_kernels(program, spec)
        self.acquire_cycles = lock_timing.acquire_cycles
        self.release_cycles = lock_timing.release_cycles
        self.stats = stats
        self.rec = rec
        self.data = data  # functional mode: kernels compute on the buffers
        self.ahead = 0  # cycles this core's own clock runs ahead of the array's (see module doc)
        env.process(self.run())

    def _time_kernels(self, body: tuple[Instruction, ...], spec: ComputeTileSpec) -> None:
        for ins in body:
            if isinstance(ins, Compute):
                self.cycles[id(ins)] = compute_cycles(spec.kernels[ins.dtype], ins.m, ins.k, ins.n)
            elif isinstance(ins, Loop):
                self._time_kernels(ins.body, spec)

    def run(self) -> Generator[simpy.Event, Any, None]:
        yield from self.execute(self.program)
        if self.ahead:
            yield self.env.timeout(self.ahead)
            self.ahead = 0
        self.stats.finish = self.env.now
        self.finish()

    def execute(self, body: tuple[Instruction, ...]) -> Generator[simpy.Event, Any, None]:
        stats, rec = self.stats, self.rec
        for ins in body:
            if isinstance(ins, Compute):
                cycles = self.cycles[id(ins)]
                if self.data is not None:
                    buf = self.data.buffers
                    run_matmul(ins, buf[ins.a], buf[ins.b], buf[ins.c])  # type: ignore[index]
                start = self.env.now + self.ahead
                self.ahead += cycles
                stats.busy += cycles
                stats.calls += 1
                stats.macs += ins.m * ins.k * ins.n
                rec.interval(start, start + cycles, self.name, "busy")
            elif isinstance(ins, Acquire):
                yield from self.acquire(self.locks[ins.lock], ins.value)
            elif isinstance(ins, Release):
                self.ahead += self.release_cycles
                stats.busy += self.release_cycles
                self.locks[ins.lock].post(ins.value, self.env.now + self.ahead, "core")
            else:
                assert isinstance(ins, Loop)
                for _ in range(ins.count):
                    yield from self.execute(ins.body)

    def acquire(self, lock: Lock | PairLock, value: int) -> Generator[simpy.Event, Any, None]:
        """Acquire at the core's clock (a Lock first lets the array's clock catch up); a wait is
        a stall on data movement or on another core, by who released what was granted."""
        env = self.env
        if self.ahead and not lock.answers_ahead:
            yield env.timeout(self.ahead)
            self.ahead = 0
        at = env.now + self.ahead
        got = lock.request(value, self, at)
        if isinstance(got, int):
            by = lock.granted_by
        else:
            by = yield got
            got = env.now
        if got > at:
            self.stalled(at, got, by)
        self.ahead = got - env.now + self.acquire_cycles
        self.stats.busy += self.acquire_cycles

    def stalled(self, start: int, end: int, by: str) -> None:
        if by == "dma":
            self.stats.dma_stall += end - start
            self.rec.interval(start, end, self.name, "dma_stall")
        else:
            self.stats.lock_stall += end - start
            self.rec.interval(start, end, self.name, "lock_stall")
