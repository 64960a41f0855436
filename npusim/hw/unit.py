"""What every active hardware unit shares: a name, what it waits on, and the progress watch.

The watch counts the units the program needs to finish (cores, finite BD chains, the runtime
sequence) and how many of them are blocked. When all of them are blocked and no event is left,
or only never-ending BD chains keep running for longer than the run's stall limit, the program
cannot progress: the engine reports a deadlock instead of hanging.
"""
from __future__ import annotations

from typing import Any

import simpy


class ArrayClock(simpy.Environment):
    """The SimPy environment of an array: time is an integer count of array clock cycles.

    The hot paths read ``_now`` directly (the attribute behind ``now``, without a property call)."""

    _now: int  # every delay the units schedule is an int

    @property
    def now(self) -> int:
        return self._now


class ProgressWatch:
    __slots__ = ("env", "unfinished", "blocked", "since", "done", "last_finish", "latest")

    def __init__(self, env: ArrayClock) -> None:
        self.env = env
        self.unfinished = 0
        self.blocked = 0
        self.since: int | None = None
        self.done = simpy.Event(env)
        self.last_finish = 0
        self.latest = 0  # the latest cycle from which any unit has been blocked

    def _all_blocked(self) -> None:
        # a unit blocks from a later cycle than now only when it waits ahead of the array's clock;
        # it stays blocked at least until then, so the latest such cycle is when all were blocked
        if self.blocked == self.unfinished and self.unfinished:
            self.since = max(self.env.now, self.latest)
        else:
            self.since = None

    def block(self, at: int) -> None:
        self.blocked += 1
        if at > self.latest:
            self.latest = at
        if self.blocked == self.unfinished:
            self._all_blocked()
        else:
            self.since = None

    def unblock(self) -> None:
        self.blocked -= 1
        self.since = None

    def finish(self) -> None:
        self.unfinished -= 1
        self.last_finish = self.env.now
        if self.unfinished == 0:
            self.done.succeed()
        else:
            self._all_blocked()

    def stuck_cycles(self) -> int:
        """Cycles for which every unfinished required unit has been blocked (0 if not)."""
        return 0 if self.since is None else self.env.now - self.since


class Unit:
    """Base of units that block: cores, DMA channels, the runtime sequence."""

    __slots__ = ("env", "name", "required", "waiting", "watch", "finished")

    def __init__(self, env: ArrayClock, name: str, watch: ProgressWatch, required: bool) -> None:
        self.env = env
        self.name = name
        self.watch = watch
        self.required = required
        self.waiting: Any = None
        self.finished = False
        if required:
            watch.unfinished += 1

    def block(self, on: Any, at: int | None = None) -> None:
        """Wait on ``on`` from cycle ``at`` (now, unless the unit runs ahead of the clock)."""
        self.waiting = on
        if self.required:
            self.watch.block(self.env._now if at is None else at)

    def unblock(self) -> None:
        self.waiting = None
        if self.required:
            watch = self.watch  # inline ProgressWatch.unblock: this is on every hot path
            watch.blocked -= 1
            watch.since = None

    def finish(self) -> None:
        self.finished = True
        if self.required:
            self.watch.finish()

    def describe(self) -> str:
        """What this unit waits for, in words (for deadlock reports)."""
        if self.waiting is None:
            return "running"
        return str(self.waiting.describe_wait(self))
