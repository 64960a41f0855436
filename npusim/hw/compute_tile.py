"""The core of a compute tile: runs its instruction stream.

``compute`` and ``vector`` take the cycles of their rules (one timeout, however long the call);
``acquire`` waits for its lock (a stall on data movement if a DMA's release granted it, a lock
stall if a core's did) and then takes ``locks.acquire_cycles``; ``release`` takes
``locks.release_cycles`` and then adds to the lock. Loops are run, never unrolled. In functional
mode they also compute on their buffers (hw/kernels.py, hw/vector_kernels.py), taking the same cycles.
"""
from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from ..config import ComputeTileSpec, LockTimingSpec
from ..isa import Acquire, Compute, Instruction, Loop, Release, Vector
from ..stats.recorder import CoreStats, Recorder
from .data import DataPlane
from .kernels import run_matmul
from .lock import Lock
from .timing import kernel_call_cycles
from .vector_kernels import run_vector
from .unit import ArrayClock, ProgressWatch, Unit


class Core(Unit):
    __slots__ = ("program", "locks", "cycles", "acquire_cycles", "release_cycles", "stats", "rec", "data")

    def __init__(self, env: ArrayClock, name: str, program: tuple[Instruction, ...],
                 spec: ComputeTileSpec, lock_timing: LockTimingSpec, locks: dict[str, Lock],
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
        env.process(self.run())

    def _time_kernels(self, body: tuple[Instruction, ...], spec: ComputeTileSpec) -> None:
        for ins in body:
            if isinstance(ins, (Compute, Vector)):
                self.cycles[id(ins)] = kernel_call_cycles(spec, ins)
            elif isinstance(ins, Loop):
                self._time_kernels(ins.body, spec)

    def run(self) -> Generator[simpy.Event, Any, None]:
        yield from self.execute(self.program)
        self.stats.finish = self.env.now
        self.finish()

    def execute(self, body: tuple[Instruction, ...]) -> Generator[simpy.Event, Any, None]:
        env, stats, rec = self.env, self.stats, self.rec
        for ins in body:
            if isinstance(ins, Compute):
                cycles = self.cycles[id(ins)]
                if self.data is not None:
                    buf = self.data.buffers
                    run_matmul(ins, buf[ins.a], buf[ins.b], buf[ins.c])  # type: ignore[index]
                yield env.timeout(cycles)
                stats.busy += cycles
                stats.calls += 1
                stats.macs += ins.m * ins.k * ins.n
                rec.interval(env.now - cycles, env.now, self.name, "busy")
            elif isinstance(ins, Acquire):
                yield from self.acquire(ins)
            elif isinstance(ins, Release):
                if self.release_cycles:
                    yield env.timeout(self.release_cycles)
                    stats.busy += self.release_cycles
                self.locks[ins.lock].release(ins.value, "core")
            elif isinstance(ins, Vector):
                cycles = self.cycles[id(ins)]
                if self.data is not None:
                    run_vector(ins, self.data.buffers)
                yield env.timeout(cycles)
                stats.busy += cycles
                stats.calls += 1
                rec.interval(env.now - cycles, env.now, self.name, "busy")
            else:
                assert isinstance(ins, Loop)
                for _ in range(ins.count):
                    yield from self.execute(ins.body)

    def acquire(self, ins: Acquire) -> Generator[simpy.Event, Any, None]:
        env, stats = self.env, self.stats
        t0 = env.now
        ev = self.locks[ins.lock].acquire(ins.value, self)
        if ev is not None:
            by = yield ev
            if by == "dma":
                stats.dma_stall += env.now - t0
                self.rec.interval(t0, env.now, self.name, "dma_stall")
            else:
                stats.lock_stall += env.now - t0
                self.rec.interval(t0, env.now, self.name, "lock_stall")
        if self.acquire_cycles:
            yield env.timeout(self.acquire_cycles)
            stats.busy += self.acquire_cycles
