"""Lock (npusim.hw.lock) driven directly: acquirer and releaser processes in a bare environment.

Each test states the cycle at which a grant must arrive and who must be named as its releaser;
the units are real ``Unit``s on a ``ProgressWatch``, so blocking is checked too.
"""
from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import simpy

from npusim.hw.errors import SimulationError
from npusim.hw.lock import Lock, PairLock
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


# -- PairLock: one acquirer, one releaser; future releases kept as numbers ----------------------

def pair(init: int = 0) -> tuple[simpy.Environment, ProgressWatch, PairLock]:
    env = simpy.Environment()
    return env, ProgressWatch(env), PairLock(env, "P", init, MAX)  # type: ignore[arg-type]


def test_pair_lock_grants_at_the_cycle_of_a_posted_release() -> None:
    env, watch, lock = pair()
    dma = Unit(env, "dma", watch, True)
    lock.post(1, 40, "core")  # posted at 0 for cycle 40
    assert lock.request(1, dma, 10) == 40 and lock.granted_by == "core"
    assert lock.value == 0 and watch.blocked == 0  # decided without waiting or an event


def test_pair_lock_request_ahead_of_the_clock_sees_releases_up_to_its_cycle() -> None:
    env, watch, lock = pair()
    core = Unit(env, "core", watch, True)
    lock.post(1, 30, "dma")
    assert lock.request(1, core, 50) == 50  # a core running ahead at 50: the release at 30 is in


def test_pair_lock_waiter_wakes_at_the_later_of_release_and_request() -> None:
    env, watch, lock = pair()
    core = Unit(env, "core", watch, True)
    ev = lock.request(1, core, 25)  # requested for cycle 25 (ahead), nothing posted yet
    assert isinstance(ev, simpy.Event) and core.waiting is lock and watch.since == 25
    env.process(releaser_post(env, lock, post_at=5, at=12, n=1, by="dma"))
    env.run()
    assert (env.now, ev.value) == (25, "dma")  # released at 12, but asked for at 25
    assert core.waiting is None and lock.value == 0


def test_pair_lock_overflow_is_found_when_the_lock_settles() -> None:
    env, _, lock = pair(init=63)
    lock.post(1, 7, "core")
    with pytest.raises(SimulationError, match=re.escape("lock 'P' overflows: 63 + 1 > 63 (locks.max_value) "
                                                        "at cycle 7")):
        lock.settle()


def releaser_post(env: simpy.Environment, lock: PairLock, post_at: int, at: int, n: int,
                  by: str) -> Generator[simpy.Event, Any, None]:
    yield env.timeout(post_at)
    lock.post(n, at, by)


@settings(max_examples=200, deadline=None)
@given(init=st.integers(0, 2),
       releases=st.lists(st.tuples(st.integers(0, 20), st.integers(1, 2), st.integers(0, 30)), max_size=12),
       acquires=st.lists(st.tuples(st.integers(0, 15), st.integers(1, 2), st.booleans()), max_size=12))
def test_pair_lock_grants_as_a_lock_driven_cycle_by_cycle(
        init: int, releases: list[tuple[int, int, int]], acquires: list[tuple[int, int, bool]]) -> None:
    """One releaser (each release ``gap`` cycles after the last, posted up to ``lead`` cycles
    early) and one acquirer (each request ``gap`` cycles after its last grant, made either at its
    cycle or ahead of the clock, as a running-ahead core does): same grants, cycles and releasers."""
    cycles, t = [], 0
    for gap, _, _ in releases:
        t += gap
        cycles.append(t)

    def reference() -> list[tuple[int, Any]]:
        env, watch, lock = make(init)
        unit = Unit(env, "a", watch, True)
        log: list[tuple[int, Any]] = []

        def rel() -> Generator[simpy.Event, Any, None]:
            for k, (c, (_, n, _)) in enumerate(zip(cycles, releases)):
                yield env.timeout(c - env.now)
                lock.release(n, "core" if k % 2 else "dma")

        def acq() -> Generator[simpy.Event, Any, None]:
            for gap, n, _ in acquires:
                yield env.timeout(gap)
                asked = env.now
                ev = lock.acquire(n, unit)
                by = None if ev is None else (yield ev)
                log.append((int(env.now), by if env.now > asked else None))  # (a 0-cycle wait is none)
        env.process(rel())
        env.process(acq())
        env.run()
        return log

    def paired() -> list[tuple[int, Any]]:
        env, watch, lock = pair(init)
        unit = Unit(env, "a", watch, True)
        log: list[tuple[int, Any]] = []

        def rel() -> Generator[simpy.Event, Any, None]:
            posted = 0
            for k, (c, (_, n, lead)) in enumerate(zip(cycles, releases)):
                posted = max(posted, c - lead)  # posts in order, each no later than its cycle
                yield env.timeout(posted - env.now)
                lock.post(n, c, "core" if k % 2 else "dma")

        def acq() -> Generator[simpy.Event, Any, None]:
            clock = 0  # the acquirer's own clock, ahead of env.now when it runs ahead
            for gap, n, ahead in acquires:
                clock += gap
                if not ahead:
                    yield env.timeout(clock - env.now)
                got = lock.request(n, unit, clock)
                if isinstance(got, int):
                    log.append((got, lock.granted_by if got > clock else None))
                    clock = got
                else:
                    by = yield got
                    waited = int(env.now) > clock
                    clock = int(env.now)
                    log.append((clock, by if waited else None))
        env.process(rel())
        env.process(acq())
        env.run()
        return log

    assert paired() == reference()
