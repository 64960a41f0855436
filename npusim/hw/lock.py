"""Lock: the semaphore that pairs producers and consumers of a buffer (DESIGN §1).

``acquire(n)`` waits until the value is at least ``n`` and subtracts it; ``release(n)`` adds
``n``. A request the value allows is granted at once, even if others wait for more; waiters are
granted in arrival order, skipping those whose request the value cannot yet meet. A grant's
event carries who made the release that allowed it ("core" or "dma"), so a core can tell a stall
on data movement from a stall on another core.
"""
from __future__ import annotations

from typing import Any

import simpy

from .errors import SimulationError
from .unit import ArrayClock


class Lock:
    __slots__ = ("env", "name", "value", "max_value", "waiters", "acquires", "releases")

    def __init__(self, env: ArrayClock, name: str, init: int, max_value: int) -> None:
        self.env = env
        self.name = name
        self.value = init
        self.max_value = max_value
        self.waiters: list[tuple[int, simpy.Event, Any]] = []
        self.acquires = 0
        self.releases = 0

    def acquire(self, n: int, unit: Any) -> simpy.Event | None:
        """Take ``n`` now and return None, or return an event that fires when it is granted.

        While it waits, ``unit.waiting`` names this lock (for deadlock reports)."""
        if self.value >= n:
            self.value -= n
            self.acquires += 1
            return None
        ev = simpy.Event(self.env)
        self.waiters.append((n, ev, unit))
        unit.block(self)
        return ev

    def release(self, n: int, by: str) -> None:
        """Add ``n`` (released by a ``"core"`` or a ``"dma"``) and grant what can be granted."""
        value = self.value + n
        if value > self.max_value:
            raise SimulationError(
                f"lock '{self.name}' overflows: {self.value} + {n} > {self.max_value} "
                f"(locks.max_value) at cycle {self.env.now}; a release has no matching acquire")
        self.value = value
        self.releases += 1
        if self.waiters:
            self._grant(by)

    def _grant(self, by: str) -> None:
        kept = []
        for n, ev, unit in self.waiters:
            if self.value >= n:
                self.value -= n
                self.acquires += 1
                unit.unblock()
                ev.succeed(by)
            else:
                kept.append((n, ev, unit))
        self.waiters = kept

    def describe_wait(self, unit: Any) -> str:
        want = next((n for n, _, u in self.waiters if u is unit), 0)
        return f"acquire lock '{self.name}' >= {want} (value {self.value})"
