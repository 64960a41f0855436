"""Run a program on a config: verify, build, run event to event, and end every run cleanly.

A run ends when every unit the program waits for has finished. If the event queue runs dry
before that, or only never-ending BD chains keep running past the stall limit, it ends with a
:class:`DeadlockError` naming every blocked unit; past ``max_cycles`` with work still running,
with a :class:`MaxCyclesError`.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping

import simpy

from ..config import NPUConfig
from ..hw.data import Bytes
from ..hw.errors import Livelock
from ..hw.lock import PairLock
from ..hw.unit import ArrayClock
from ..isa import Layout, Program, verify
from ..stats.recorder import Recorder
from .build import Machine, build
from .deadlock import DeadlockError, MaxCyclesError, deadlock_error
from .options import RunOptions

_NEVER = 2**62


def _guard(machine: Machine, limit: int, stop: simpy.Event) -> None:
    def at_limit(_: simpy.Event) -> None:
        if not stop.triggered:
            stop.fail(MaxCyclesError("", limit))
    machine.env.timeout(limit + 1).callbacks.append(at_limit)


def _ticker(env: ArrayClock, every: int, report: Callable[[int], object]) -> None:
    """Call ``report(cycle)`` every ``every`` cycles while other events are due besides the
    max-cycles guard (so that a run with nothing left to do still ends, as a deadlock)."""
    def tick(_: simpy.Event) -> None:
        report(env.now)
        if len(env._queue) > 1:  # more than the max-cycles guard is due
            env.timeout(every).callbacks.append(tick)
    env.timeout(every).callbacks.append(tick)


def _events(env: ArrayClock) -> int:
    eid = getattr(env, "_eid", None)
    return next(eid) if isinstance(eid, itertools.count) else 0


def run_machine(machine: Machine, options: RunOptions, source: str = "<program>") -> Recorder:
    """Run a built machine to completion and return its recorder."""
    env, watch = machine.env, machine.watch
    if watch.unfinished == 0:
        watch.done.succeed()
    stop = simpy.Event(env)

    def finished(_: simpy.Event) -> None:
        if not stop.triggered:
            stop.succeed()

    watch.done.callbacks.append(finished)
    limit = options.max_cycles if options.max_cycles is not None else _NEVER
    _guard(machine, limit, stop)
    if options.progress is not None:
        _ticker(env, options.progress_cycles, options.progress)
    try:
        env.run(until=stop)
    except MaxCyclesError:
        if watch.since is not None:
            raise deadlock_error(machine.units, watch.since, source, "every unit is blocked") from None
        raise MaxCyclesError(
            f"{source}: the run went past max_cycles = {limit} with work left; raise --max-cycles "
            "or check for a program that never ends", limit) from None
    except Livelock:
        raise deadlock_error(machine.units, watch.since or 0, source,
                             "only never-ending BD chains kept running; every other unit is blocked") from None
    for lock in machine.locks.values():
        if isinstance(lock, PairLock):
            lock.settle()
    rec = machine.rec
    rec.cycles = watch.last_finish if watch.unfinished == 0 else env.now
    rec.events = _events(env)
    for name, lock in machine.locks.items():
        tile = machine.lock_tiles[name]
        rec.lock_operations[tile] = rec.lock_operations.get(tile, 0) + lock.acquires + lock.releases
    rec.hardware_events = (sum(c.calls for c in rec.cores.values()) + sum(c.bds for c in rec.channels.values())
                           + sum(r.segments for r in rec.routes.values()) + sum(rec.lock_operations.values()))
    return rec


def run_program(config: NPUConfig, program: Program, options: RunOptions | None = None,
                source: str = "<program>", layout: Layout | None = None) -> Recorder:
    """Verify ``program`` against ``config`` (unless its ``layout`` from a verification is
    given), simulate it and return the recorder."""
    t = time.perf_counter()
    options = options or RunOptions()
    layout = layout or verify(program, config, source)
    machine = build(config, program, layout, options)
    rec = run_machine(machine, options, source)
    rec.wall_seconds = time.perf_counter() - t
    return rec


def run_functional(config: NPUConfig, program: Program, tensors: Mapping[str, Bytes],
                   options: RunOptions | None = None, source: str = "<program>",
                   layout: Layout | None = None) -> tuple[Recorder, dict[str, Bytes]]:
    """Simulate ``program`` with data: DDR tensors start as ``tensors`` (bytes by name; others
    zeroed), DMAs move the bytes and kernels compute. Returns the recorder (the same cycles as
    a timing-only run) and every DDR tensor's final bytes."""
    t = time.perf_counter()
    options = options or RunOptions()
    layout = layout or verify(program, config, source)
    machine = build(config, program, layout, options, tensors, source)
    rec = run_machine(machine, options, source)
    rec.wall_seconds = time.perf_counter() - t
    assert machine.data is not None
    return rec, machine.data.tensors


__all__ = ["DeadlockError", "MaxCyclesError", "run_functional", "run_machine", "run_program"]
