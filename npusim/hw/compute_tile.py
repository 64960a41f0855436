"""The core of a compute tile: runs its instruction stream.

``compute`` takes the cycles of the compute rule (one timeout, however long the call);
``acquire`` waits for its lock (a stall on data movement if a DMA's release granted it, a lock
stall if a core's did) and then takes ``locks.acquire_cycles``; ``release`` takes
``locks.release_cycles`` and then adds to the lock. Loops are run, never unrolled. In functional
mode ``compute`` and ``vector`` also compute on their buffers (hw/kernels.py, hw/vector_kernels.py),
taking the same cycles.

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
from ..isa import Acquire, Compute, Instruction, Loop, Release, Vector
from ..stats.recorder import CoreStats, Recorder
from .data import DataPlane
from .kernels import matmul_memory_bytes, run_matmul
from .lock import Lock, PairLock
from .timing import kernel_call_cycles
from .unit import ArrayClock, ProgressWatch, Unit
from .vector_kernels import run_vector, vector_memory_bytes


# A core's program, compiled once into tuples so that the hot loop does no attribute look-ups or
# isinstance tests: (COMPUTE | VECTOR, cycles, MACs or elements, instruction, read bytes, written
# bytes), (ACQUIRE | RELEASE, lock, value), (LOOP, count, body).
COMPUTE, VECTOR, ACQUIRE, RELEASE, LOOP = range(5)
Op = tuple[Any, ...]


class Core(Unit):
    __slots__ = ("code", "acquire_cycles", "release_cycles", "stats", "rec", "data", "ahead")

    def __init__(self, env: ArrayClock, name: str, program: tuple[Instruction, ...],
                 spec: ComputeTileSpec, lock_timing: LockTimingSpec, locks: Mapping[str, Lock | PairLock],
                 rec: Recorder, stats: CoreStats, watch: ProgressWatch,
                 data: DataPlane | None = None) -> None:
        super().__init__(env, name, watch, required=True)
        self.code = compile_program(program, spec, locks)
        self.acquire_cycles = lock_timing.acquire_cycles
        self.release_cycles = lock_timing.release_cycles
        self.stats = stats
        self.rec = rec
        self.data = data  # functional mode: kernels compute on the buffers
        self.ahead = 0  # cycles this core's own clock runs ahead of the array's (see module doc)
        env.process(self.run())

    def run(self) -> Generator[simpy.Event, Any, None]:
        yield from self.execute(self.code)
        if self.ahead:
            yield self.env.timeout(self.ahead)
            self.ahead = 0
        self.stats.finish = self.env.now
        self.finish()

    def execute(self, body: tuple[Op, ...]) -> Generator[simpy.Event, Any, None]:
        stats = self.stats
        for op in body:
            kind = op[0]
            if kind == COMPUTE:
                _, cycles, macs, ins, read, written = op
                if self.data is not None:
                    buf = self.data.buffers
                    run_matmul(ins, buf[ins.a], buf[ins.b], buf[ins.c])
                start = self.env._now + self.ahead
                self.ahead += cycles
                stats.busy += cycles
                stats.calls += 1
                stats.macs += macs
                stats.macs_by_dtype[ins.dtype] = stats.macs_by_dtype.get(ins.dtype, 0) + macs
                stats.read_bytes += read
                stats.write_bytes += written
                if self.rec.intervals is not None:
                    self.rec.interval(start, start + cycles, self.name, "busy")
            elif kind == ACQUIRE:
                lock = op[1]
                if lock.answers_ahead:
                    # the common case, inline: the releases posted so far decide the grant
                    at = self.env._now + self.ahead
                    got = lock.request(op[2], self, at)
                    if got.__class__ is int:
                        if got > at:
                            self.stalled(at, got, lock.granted_by)
                        self.ahead = got - self.env._now + self.acquire_cycles
                        stats.busy += self.acquire_cycles
                        continue
                    yield from self.wait(got, at)
                else:
                    yield from self.acquire(lock, op[2])
            elif kind == RELEASE:
                self.ahead += self.release_cycles
                stats.busy += self.release_cycles
                op[1].post(op[2], self.env._now + self.ahead, "core")
            elif kind == VECTOR:
                _, cycles, elements, ins, read, written = op
                if self.data is not None:
                    run_vector(ins, self.data.buffers)
                start = self.env._now + self.ahead
                self.ahead += cycles
                stats.busy += cycles
                stats.calls += 1
                by_dtype = stats.vector_elements_by_dtype
                by_dtype[ins.dtype] = by_dtype.get(ins.dtype, 0) + elements
                stats.read_bytes += read
                stats.write_bytes += written
                if self.rec.intervals is not None:
                    self.rec.interval(start, start + cycles, self.name, "busy")
            else:
                body = op[2]
                for _ in range(op[1]):
                    yield from self.execute(body)

    def wait(self, ev: simpy.Event, at: int) -> Generator[simpy.Event, Any, None]:
        """Wait for a grant requested at the core's clock ``at``; the core resumes at it."""
        by = yield ev
        self.stalled(at, self.env.now, by)
        self.ahead = self.acquire_cycles
        self.stats.busy += self.acquire_cycles

    def acquire(self, lock: Lock | PairLock, value: int) -> Generator[simpy.Event, Any, None]:
        """Acquire a shared lock: the array's clock first catches up with the core's."""
        env = self.env
        if self.ahead:
            yield env.timeout(self.ahead)
            self.ahead = 0
        got = lock.request(value, self, env.now)
        if isinstance(got, int):
            self.ahead = self.acquire_cycles
            self.stats.busy += self.acquire_cycles
        else:
            yield from self.wait(got, env.now)

    def stalled(self, start: int, end: int, by: str) -> None:
        """A wait from ``start`` to ``end``: on data movement if a DMA released the grant, else
        on another core."""
        if by == "dma":
            self.stats.dma_stall += end - start
            self.rec.interval(start, end, self.name, "dma_stall")
        else:
            self.stats.lock_stall += end - start
            self.rec.interval(start, end, self.name, "lock_stall")


def compile_program(body: tuple[Instruction, ...], spec: ComputeTileSpec,
                    locks: Mapping[str, Lock | PairLock]) -> tuple[Op, ...]:
    """The core's instructions as tuples, kernel cycles computed and locks looked up once."""
    code: list[Op] = []
    for ins in body:
        if isinstance(ins, Compute):
            code.append((COMPUTE, kernel_call_cycles(spec, ins), ins.m * ins.k * ins.n, ins,
                         *matmul_memory_bytes(ins)))
        elif isinstance(ins, Vector):
            code.append((VECTOR, kernel_call_cycles(spec, ins), ins.elements, ins, *vector_memory_bytes(ins)))
        elif isinstance(ins, Acquire):
            code.append((ACQUIRE, locks[ins.lock], ins.value))
        elif isinstance(ins, Release):
            code.append((RELEASE, locks[ins.lock], ins.value))
        else:
            code.append((LOOP, ins.count, compile_program(ins.body, spec, locks)))
    return tuple(code)
