"""The core of a compute tile: runs its instruction stream.

``compute`` takes the cycles of the compute rule (one timeout, however long the call);
``acquire`` waits for its lock (a stall on data movement if a DMA's release granted it, a lock
stall if a core's did) and then takes ``locks.acquire_cycles``; ``release`` takes
``locks.release_cycles`` and then adds to the lock. Loops are run, never unrolled. In functional
mode ``compute`` and ``vector`` also compute on their buffers (hw/kernels.py, hw/vector_kernels.py),
taking the same cycles. A ``code`` block (core code) is a kernel call whose cycles come from the
per-operation cost table (``timing.code_cycles``); functional mode interprets it on the core's
registers and buffers (hw/core_code.py). A program ending in an endless loop (``isa.ENDLESS``) is
not waited for, as the host does not wait for such a core.

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
from ..isa import ENDLESS, Acquire, Code, Compute, Instruction, Loop, Release, Vector
from ..stats.recorder import CoreStats, Recorder
from .core_code import Registers, code_memory_bytes, run_code
from .data import DataPlane
from .kernels import matmul_memory_bytes, run_matmul
from .lock import Lock, PairLock
from .timing import code_cycles, kernel_call_cycles
from .unit import ArrayClock, ProgressWatch, Unit
from .vector_kernels import run_vector, vector_memory_bytes


# A core's program, compiled once into a flat list of tuples run by one loop, so that the hot path
# does no attribute look-ups, isinstance tests or nested generators: (KERNEL, cycles, instruction),
# (ACQUIRE | RELEASE, lock, value), (LOOP, count), (END,) closing the innermost loop. What kernel
# calls do is counted per instruction and added to the core's stats when it finishes.
KERNEL, ACQUIRE, RELEASE, LOOP, END = range(5)
Op = tuple[Any, ...]


class Core(Unit):
    __slots__ = ("code", "calls", "acquire_cycles", "release_cycles", "stats", "rec", "data", "ahead", "regs", "spec")

    def __init__(self, env: ArrayClock, name: str, program: tuple[Instruction, ...],
                 spec: ComputeTileSpec, lock_timing: LockTimingSpec, locks: Mapping[str, Lock | PairLock],
                 rec: Recorder, stats: CoreStats, watch: ProgressWatch,
                 data: DataPlane | None = None) -> None:
        endless = bool(program) and isinstance(program[-1], Loop) and program[-1].count >= ENDLESS
        super().__init__(env, name, watch, required=not endless)
        self.code = compile_program(program, spec, locks)
        self.spec = spec
        self.calls = [0] * len(self.code)  # kernel calls made, per instruction
        self.acquire_cycles = lock_timing.acquire_cycles
        self.release_cycles = lock_timing.release_cycles
        self.stats = stats
        self.rec = rec
        self.data = data  # functional mode: kernels compute on the buffers
        self.ahead = 0  # cycles this core's own clock runs ahead of the array's (see module doc)
        self.regs: Registers = {}  # functional mode: core code's registers
        env.process(self.run())

    def run(self) -> Generator[simpy.Event, Any, None]:
        yield from self.execute()
        if self.ahead:
            yield self.env.timeout(self.ahead)
            self.ahead = 0
        self.count_calls()
        self.stats.finish = self.env.now
        self.finish()

    def execute(self) -> Generator[simpy.Event, Any, None]:
        code, calls, stats, env = self.code, self.calls, self.stats, self.env
        loops: list[list[int]] = []  # [pc of the LOOP, iterations left] of the open loops
        pc, end = 0, len(code)
        while pc < end:
            op = code[pc]
            kind = op[0]
            if kind == KERNEL:
                cycles = op[1]
                if self.data is not None:
                    self.compute(op[2])
                if self.rec.intervals is not None:
                    start = env._now + self.ahead
                    self.rec.interval(start, start + cycles, self.name, "busy")
                self.ahead += cycles
                calls[pc] += 1
            elif kind == ACQUIRE:
                lock = op[1]
                if lock.answers_ahead:
                    # the common case, inline: the releases posted so far decide the grant
                    at = env._now + self.ahead
                    got = lock.request(op[2], self, at)
                    if got.__class__ is int:
                        if got > at:
                            self.stalled(at, got, lock.granted_by)
                        self.ahead = got - env._now + self.acquire_cycles
                    else:
                        by = yield got
                        self.stalled(at, env._now, by)
                        self.ahead = self.acquire_cycles
                else:
                    yield from self.acquire(lock, op[2])
                stats.busy += self.acquire_cycles
            elif kind == RELEASE:
                self.ahead += self.release_cycles
                stats.busy += self.release_cycles
                op[1].post(op[2], env._now + self.ahead, "core")
            elif kind == LOOP:
                loops.append([pc, op[1]])
            else:
                top = loops[-1]
                top[1] -= 1
                if top[1]:
                    pc = top[0]
                else:
                    loops.pop()
            pc += 1

    def compute(self, ins: Compute | Vector | Code) -> None:
        """Functional mode: what a kernel call (or a block of core code) does to the numbers."""
        assert self.data is not None
        buf = self.data.buffers
        if isinstance(ins, Compute):
            emulate = self.spec.kernel(ins.kernel, ins.dtype, ins.b_dtype).emulation == "bfp16"
            run_matmul(ins, buf[ins.a], buf[ins.b], buf[ins.c], emulate)  # type: ignore[index]
        elif isinstance(ins, Code):
            run_code(ins, self.regs, buf, self.name)
        else:
            run_vector(ins, buf)

    def count_calls(self) -> None:
        """Add what the kernel calls did to the core's stats."""
        stats = self.stats
        for op, n in zip(self.code, self.calls):
            if not n:
                continue
            _, cycles, ins, macs, elements, read, written = op
            stats.busy += n * cycles
            stats.calls += n
            stats.macs += n * macs
            if macs:
                key = ins.types  # only a Compute does MACs
                stats.macs_by_dtype[key] = stats.macs_by_dtype.get(key, 0) + n * macs
            if elements:
                by_dtype = stats.vector_elements_by_dtype
                by_dtype[ins.dtype] = by_dtype.get(ins.dtype, 0) + n * elements
            stats.read_bytes += n * read
            stats.write_bytes += n * written

    def acquire(self, lock: Lock | PairLock, value: int) -> Generator[simpy.Event, Any, None]:
        """Acquire a shared lock: the array's clock first catches up with the core's."""
        env = self.env
        if self.ahead:
            yield env.timeout(self.ahead)
            self.ahead = 0
        at = env._now
        got = lock.request(value, self, at)
        if not isinstance(got, int):
            by = yield got
            self.stalled(at, env._now, by)
        self.ahead = self.acquire_cycles

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
                    locks: Mapping[str, Lock | PairLock]) -> list[Op]:
    """The core's instructions as a flat list of tuples, kernel cycles and the work each call
    does computed and locks looked up once: (KERNEL, cycles, instruction, MACs, vector elements,
    bytes read, bytes written)."""
    code: list[Op] = []
    for ins in body:
        if isinstance(ins, Compute):
            code.append((KERNEL, kernel_call_cycles(spec, ins), ins, ins.m * ins.k * ins.n, 0,
                         *matmul_memory_bytes(ins)))
        elif isinstance(ins, Vector):
            code.append((KERNEL, kernel_call_cycles(spec, ins), ins, 0, ins.elements, *vector_memory_bytes(ins)))
        elif isinstance(ins, Code):
            code.append((KERNEL, code_cycles(spec.core_ops, ins.body), ins, 0, 0, *code_memory_bytes(ins.body)))
        elif isinstance(ins, Acquire):
            code.append((ACQUIRE, locks[ins.lock], ins.value))
        elif isinstance(ins, Release):
            code.append((RELEASE, locks[ins.lock], ins.value))
        else:
            code.append((LOOP, ins.count))
            code += compile_program(ins.body, spec, locks)
            code.append((END,))
    return code
