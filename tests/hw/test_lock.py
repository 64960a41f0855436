"""Lock (npusim.hw.lock) driven directly: acquirer and releaser processes in a bare environment.

Each test states the cycle at which a grant must arrive and who must be named as its releaser;
the units are real ``Unit``s on a ``ProgressWatch``, so blocking is checked too.
"""
from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import pytest
import simpy

from npusim.hw.errors import SimulationError
from npusim.hw.lock import Lock
from npusim.hw.unit import ProgressWatch, Unit

MAX = 63  # locks.max_value of npu1 / tiny


def make(init: int = 0, name: str = "L") -> tuple[simpy.Environment, ProgressWatch, Lock]:
    env = simpy.Environment()
    return env, ProgressWatch(env), Lock(env, name, init, MAX)


def acquirer(env: simpy.Environment, lock: Lock, unit: Unit, n: int, at: int,
             log: list[tuple[str, int, Any]]) -> Generator[simpy.Event, Any, None]:
    """At cycle ``at``, acquire ``n``; log (unit, grant cycle, releaser or None if immediate)."""
    yield env.timeout(at)
    ev = lock.acquire(n, unit)
    by = None if ev is None else (yield ev)
    log.append((unit.name, int(env.now), by))


def releaser(env: simpy.Environment, lock: Lock, at: int, n: int, by: str) -> Generator[simpy.Event, Any, None]:
    yield env.timeout(at)
    lock.release(n, by)


def test_immediate_acquire_returns_none_and_subtracts() -> None:
    env, watch, lock = make(init=3)
    core = Unit(env, "core", watch, required=True)
    assert lock.acquire(2, core) is None
    assert lock.value == 1
    assert lock.acquires == 1
    assert core.waiting is None and watch.blocked == 0
    assert lock.acquire(1, core) is None
    assert lock.value == 0


@pytest.mark.parametrize("by", ["core", "dma"])
def test_waiting_acquire_fires_at_release_naming_the_releaser(by: str) -> None:
    env, watch, lock = make(init=0)
    core = Unit(env, "core", watch, required=True)
    log: list[tuple[str, int, Any]] = []
    env.process(acquirer(env, lock, core, 1, at=0, log=log))
    env.process(releaser(env, lock, at=7, n=1, by=by))
    env.run(until=3)
    # Waiting: the unit is blocked on the lock and counted by the watch.
    assert core.waiting is lock
    assert watch.blocked == 1 and watch.since == 0  # the only required unit, blocked since 0
    env.run()
    assert log == [("core", 7, by)]
    assert lock.value == 0  # 0 + 1 released - 1 granted
    assert core.waiting is None and watch.blocked == 0
    assert (lock.acquires, lock.releases) == (1, 1)


def test_acquire_two_waits_for_two_releases() -> None:
    env, watch, lock = make(init=0)
    core = Unit(env, "core", watch, required=True)
    log: list[tuple[str, int, Any]] = []
    env.process(acquirer(env, lock, core, 2, at=0, log=log))
    env.process(releaser(env, lock, at=3, n=1, by="dma"))
    env.process(releaser(env, lock, at=8, n=1, by="core"))
    env.run(until=5)
    assert log == [] and lock.value == 1  # one release is not enough for >= 2
    env.run()
    assert log == [("core", 8, "core")]  # granted by the second release, at its cycle
    assert lock.value == 0


def test_one_release_of_two_grants_two_waiters_in_arrival_order() -> None:
    env, watch, lock = make(init=0)
    a, b = Unit(env, "a", watch, True), Unit(env, "b", watch, True)
    log: list[tuple[str, int, Any]] = []
    env.process(acquirer(env, lock, b, 1, at=2, log=log))  # started first, arrives later
    env.process(acquirer(env, lock, a, 1, at=1, log=log))
    env.process(releaser(env, lock, at=5, n=2, by="dma"))
    env.run()
    assert log == [("a", 5, "dma"), ("b", 5, "dma")]
    assert lock.value == 0


def test_fifo_between_equal_requests() -> None:
    env, watch, lock = make(init=0)
    a, b = Unit(env, "a", watch, True), Unit(env, "b", watch, True)
    log: list[tuple[str, int, Any]] = []
    env.process(acquirer(env, lock, a, 1, at=1, log=log))
    env.process(acquirer(env, lock, b, 1, at=2, log=log))
    env.process(releaser(env, lock, at=10, n=1, by="core"))
    env.process(releaser(env, lock, at=20, n=1, by="dma"))
    env.run()
    assert log == [("a", 10, "core"), ("b", 20, "dma")]


def test_grant_skips_waiters_whose_request_cannot_be_met() -> None:
    # A (t=0) wants 2, B (t=1) wants 1, C (t=2) wants 1.
    # t=5 release 1: value 1; A cannot (1 < 2), B can      -> B at 5, value 0
    # t=6 release 1: value 1; A cannot, C can               -> C at 6, value 0
    # t=7 release 2: value 2; A can                         -> A at 7, value 0
    env, watch, lock = make(init=0)
    a, b, c = (Unit(env, n, watch, True) for n in "abc")
    log: list[tuple[str, int, Any]] = []
    env.process(acquirer(env, lock, a, 2, at=0, log=log))
    env.process(acquirer(env, lock, b, 1, at=1, log=log))
    env.process(acquirer(env, lock, c, 1, at=2, log=log))
    env.process(releaser(env, lock, at=5, n=1, by="dma"))
    env.process(releaser(env, lock, at=6, n=1, by="core"))
    env.process(releaser(env, lock, at=7, n=2, by="dma"))
    env.run()
    assert log == [("b", 5, "dma"), ("c", 6, "core"), ("a", 7, "dma")]
    assert lock.value == 0
    assert watch.blocked == 0


def test_release_without_waiters_adds_up_to_max_value() -> None:
    _, _, lock = make(init=60)
    lock.release(3, "core")
    assert lock.value == MAX


def test_overflow_raises_naming_the_lock_and_the_limit() -> None:
    env, _, lock = make(init=62, name="buf_full")
    env.process(releaser(env, lock, at=12, n=2, by="dma"))
    with pytest.raises(SimulationError, match="^" + re.escape(
            "lock 'buf_full' overflows: 62 + 2 > 63 (locks.max_value) at cycle 12; "
            "a release has no matching acquire") + "$"):
        env.run()
    assert lock.value == 62  # the failed release did not change the value


def test_describe_wait_names_lock_request_and_value() -> None:
    env, watch, lock = make(init=1, name="in_full")
    core = Unit(env, "core (0,2)", watch, True)
    ev = lock.acquire(3, core)
    assert ev is not None
    assert lock.describe_wait(core) == "acquire lock 'in_full' >= 3 (value 1)"
    assert core.describe() == "acquire lock 'in_full' >= 3 (value 1)"
    lock.release(2, "dma")
    assert core.describe() == "running"
    assert lock.value == 0


def test_not_required_unit_waits_without_touching_the_watch() -> None:
    env, watch, lock = make(init=0)
    daemon = Unit(env, "looping dma", watch, required=False)
    assert lock.acquire(1, daemon) is not None
    assert daemon.waiting is lock
    assert (watch.unfinished, watch.blocked) == (0, 0)


def test_new_request_the_value_allows_is_not_held_behind_a_bigger_waiter() -> None:
    env, watch, lock = make(init=1)
    a, b = Unit(env, "a", watch, True), Unit(env, "b", watch, True)
    assert lock.acquire(2, a) is not None  # 1 < 2: A waits
    # Had B arrived first it would have been granted; arriving second, _grant would skip A too.
    assert lock.acquire(1, b) is None
    assert lock.value == 0
