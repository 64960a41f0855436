"""DDR: one bandwidth shared by every shim channel, served as a fair fluid (DESIGN §3).

Each transfer is a flow with a rate cap (the stream rate of its route). While flows overlap,
the bandwidth is split max-min fairly: no flow gets more than its cap, and what a capped flow
leaves is shared by the others. Rates are recomputed whenever a flow starts or ends, so a
transfer is served at its fair share of what is left. Completion times round up to whole cycles.
Flows are served as an exact fluid: when one ends part-way through a cycle, the others get its
share from that instant. The access latency is charged by the shim channel, not here.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from ..stats.recorder import DdrStats
from .unit import ArrayClock

_EPS = 1e-6


class _Flow:
    __slots__ = ("left", "cap", "rate", "done")

    def __init__(self, left: float, cap: float, done: Callable[[], object]) -> None:
        self.left, self.cap, self.rate, self.done = left, cap, 0.0, done


class Ddr:
    __slots__ = ("env", "bytes_per_cycle", "flows", "last", "generation", "wake_at", "stats", "busy_since")

    def __init__(self, env: ArrayClock, bytes_per_cycle: float, stats: DdrStats) -> None:
        self.env = env
        self.bytes_per_cycle = bytes_per_cycle
        self.flows: list[_Flow] = []
        self.last = 0.0  # exact (fractional) time up to which the flows have been served
        self.generation = 0
        self.wake_at = -1  # the cycle of the wake-up that counts (-1: none)
        self.stats = stats
        self.busy_since = 0

    def transfer(self, nbytes: int, cap: float,
                 done: Callable[[], object] | None = None) -> simpy.Event | None:
        """Serve ``nbytes`` at most ``cap`` B/cycle from now; then call ``done()``, or, without
        it, fire the returned event."""
        ev = None
        if done is None:
            ev = simpy.Event(self.env)
            done = ev.succeed
        now = self.env._now
        finished = self._serve_until(now)
        if not self.flows:
            self.busy_since = now
            self.last = float(now)
        self.flows.append(_Flow(float(nbytes), float(cap), done))
        self._share()
        self._reschedule()
        for fin in finished:
            fin()
        return ev

    def _share(self) -> None:
        """Max-min fair rates: no flow above its cap; what capped flows leave goes to the rest."""
        flows = self.flows
        fair = self.bytes_per_cycle / len(flows)
        if min(f.cap for f in flows) >= fair:  # the usual case: nobody is capped below a fair share
            for f in flows:
                f.rate = fair
            return
        left = self.bytes_per_cycle
        ordered = sorted(flows, key=lambda f: f.cap)
        for i, f in enumerate(ordered):
            f.rate = min(f.cap, left / (len(ordered) - i))
            left -= f.rate

    def _serve_until(self, t: float) -> list[Callable[[], object]]:
        """Serve the flows as a fluid up to time ``t``, completing (at the current cycle) every
        flow whose exact completion time is at or before ``t`` and re-sharing after each.
        Returns the completed flows' ``done`` callbacks, for the caller to call once the DDR's
        state is whole again (a callback may start a new transfer)."""
        finished: list[Callable[[], object]] = []
        while self.flows:
            step = min(f.left / f.rate for f in self.flows)
            if self.last + step > t + _EPS:
                break
            self.last += step
            done: list[_Flow] = []
            kept: list[_Flow] = []
            for f in self.flows:
                f.left -= f.rate * step
                (done if f.left <= _EPS * f.cap else kept).append(f)
            self.flows = kept
            finished += [f.done for f in done]
            if kept:
                self._share()
            else:
                self.stats.busy += math.ceil(self.last - _EPS) - self.busy_since
        if self.flows:
            dt = t - self.last
            for f in self.flows:
                f.left -= f.rate * dt
            self.last = t
        return finished

    def _reschedule(self) -> None:
        """Make sure a wake-up is due at the cycle the next flow completes (an earlier one that
        is no longer right is ignored when it fires)."""
        soonest = self.last + min(f.left / f.rate for f in self.flows)
        at = max(self.env._now, math.ceil(soonest - _EPS))
        if at == self.wake_at:
            return
        self.generation += 1
        self.wake_at = at
        self.env.timeout(at - self.env._now, self.generation).callbacks.append(self._wake)

    def _wake(self, ev: simpy.Event) -> None:
        if ev.value == self.generation:
            self.wake_at = -1
            finished = self._serve_until(self.env._now)
            if self.flows:
                self._reschedule()
            for fin in finished:
                fin()
