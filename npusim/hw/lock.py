"""Lock: the semaphore that pairs producers and consumers of a buffer (DESIGN §1).

``acquire(n)`` waits until the value is at least ``n`` and subtracts it; ``release(n)`` adds
``n``. A request the value allows is granted at once, even if others wait for more; waiters are
granted in arrival order, skipping those whose request the value cannot yet meet. A grant's
event carries who made the release that allowed it ("core" or "dma"), so a core can tell a stall
on data movement from a stall on another core.

Units meet a lock through ``request(n, unit, at)`` and ``post(n, at, by)``: a request made at cycle
``at`` is answered with the cycle of its grant when that is already known, or with an event; a
release is posted for cycle ``at`` without holding up the poster. A :class:`Lock` answers only
requests made at the current cycle, and posts a future release as a timed callback.

A :class:`PairLock` is the lock of a producer-consumer pair: one unit acquires it and one unit
releases it (the engine checks the program to choose it). Each side's cycles never go backwards,
so a release posted for a future cycle can be kept as a number instead of an event: a request,
even one made ahead of the array's clock (the core's run-ahead, compute_tile.py), is granted at
the first cycle at which the releases known so far meet it; a request they cannot meet waits,
and the release that meets it schedules the waiter's wake-up at that cycle directly. The grant
cycles, and who is named as releaser, are those of a lock driven cycle by cycle; a release that
overflows the lock is reported with its cycle when the lock next counts it (at a request, or at
the end of the run), and one made while the acquirer ran ahead is checked against the value
after that acquire.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import simpy

from .errors import SimulationError
from .unit import ArrayClock


def _overflow(name: str, value: int, n: int, max_value: int, cycle: int) -> SimulationError:
    return SimulationError(
        f"lock '{name}' overflows: {value} + {n} > {max_value} (locks.max_value) at cycle {cycle}; "
        "a release has no matching acquire")


class Lock:
    __slots__ = ("env", "name", "value", "max_value", "waiters", "acquires", "releases")
    answers_ahead = False  # requests must be made at the current cycle
    granted_by = ""  # (a Lock names the releaser in the grant event's value)

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

    def request(self, n: int, unit: Any, at: int) -> int | simpy.Event:
        """Acquire at cycle ``at`` (the current cycle): the grant cycle, or an event."""
        assert at == self.env.now, "a Lock answers requests of the current cycle only"
        ev = self.acquire(n, unit)
        return at if ev is None else ev

    def post(self, n: int, at: int, by: str) -> None:
        """Release ``n`` at cycle ``at`` (now or later), without holding up the caller."""
        post_release(self.env, self, n, at - self.env.now, by)

    def release(self, n: int, by: str) -> None:
        """Add ``n`` (released by a ``"core"`` or a ``"dma"``) and grant what can be granted."""
        value = self.value + n
        if value > self.max_value:
            raise _overflow(self.name, self.value, n, self.max_value, self.env.now)
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


def post_release(env: ArrayClock, lock: Lock, value: int, delay: int, by: str) -> None:
    """Add ``value`` to ``lock`` after ``delay`` cycles, without holding up the caller."""
    if delay == 0:
        lock.release(value, by)
    else:
        env.timeout(delay).callbacks.append(lambda _: lock.release(value, by))


class PairLock:
    """A lock with one acquiring and one releasing unit (module doc): future releases are kept as
    (cycle, value, releaser) in cycle order, and a grant is found by adding them up."""

    __slots__ = ("env", "name", "value", "max_value", "future", "posted", "waiter", "granted_by",
                 "acquires", "releases")
    answers_ahead = True

    def __init__(self, env: ArrayClock, name: str, init: int, max_value: int) -> None:
        self.env = env
        self.name = name
        self.value = init
        self.max_value = max_value
        self.future: deque[tuple[int, int, str]] = deque()
        self.posted = 0  # the sum of the future releases' values
        self.waiter: tuple[int, int, simpy.Event, Any] | None = None
        self.granted_by = ""  # who released what the last grant took
        self.acquires = 0
        self.releases = 0

    def _count(self, until: int) -> None:
        """Add the posted releases up to cycle ``until`` to the value, in order."""
        while self.future and self.future[0][0] <= until:
            self._count_first()

    def _count_first(self) -> None:
        cycle, n, by = self.future.popleft()
        self.posted -= n
        if self.value + n > self.max_value:
            raise _overflow(self.name, self.value, n, self.max_value, cycle)
        self.value += n
        self.granted_by = by

    def settle(self) -> None:
        """Count every posted release (at the end of a run, so that no overflow goes unseen)."""
        self._count(2**62)

    def request(self, n: int, unit: Any, at: int) -> int | simpy.Event:
        """Acquire ``n`` at cycle ``at`` (now or, for a running-ahead core, later): the grant
        cycle if the releases posted so far meet it (``granted_by`` names the releaser), else an
        event that fires at the grant with the releaser as its value."""
        future = self.future
        if future and future[0][0] <= at:
            self._count_first()  # inline the usual case of _count(at): one release due
            if future and future[0][0] <= at:
                self._count(at)
        if self.value < n:
            if self.value + self.posted >= n:
                # count the posted releases one by one up to the one that meets the request: its
                # cycle is the grant's and its releaser the one named (later ones wait their turn)
                while self.value < n:
                    at = self.future[0][0]
                    self._count_first()
            else:
                ev = simpy.Event(self.env)
                self.waiter = (n, at, ev, unit)
                unit.block(self, at)
                return ev
        self.value -= n
        self.acquires += 1
        return at

    def post(self, n: int, at: int, by: str) -> None:
        """Release ``n`` at cycle ``at`` (now or later); wake a waiter it satisfies at its grant."""
        self.releases += 1
        self.future.append((at, n, by))
        self.posted += n
        if self.waiter is None:
            if at == self.env._now:
                self._count(at)
            return
        want, since, ev, unit = self.waiter
        if self.value + self.posted < want:
            return
        self._count(at)
        self.value -= want
        self.acquires += 1
        self.waiter = None
        unit.unblock()
        ev._ok = True
        ev._value = by
        self.env.schedule(ev, delay=max(at, since) - self.env.now)

    def describe_wait(self, unit: Any) -> str:
        want = self.waiter[0] if self.waiter is not None else 0
        return f"acquire lock '{self.name}' >= {want} (value {self.value})"
