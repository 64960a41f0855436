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

import simpy

from ..stats.recorder import DdrStats
from .unit import ArrayClock

_EPS = 1e-6


class _Flow:
    __slots__ = ("left", "cap", "rate", "event")

    def __init__(self, left: float, cap: float, event: simpy.Event) -> None:
        self.left, self.cap, self.rate, self.event = left, cap, 0.0, event


class Ddr:
    __slots__ = ("env", "bytes_per_cycle", "flows", "last", "generation", "stats", "busy_since")

    def __init__(self, env: ArrayClock, bytes_per_cycle: float, stats: DdrStats) -> None:
        self.env = env
        self.bytes_per_cycle = bytes_per_cycle
        self.flows: list[_Flow] = []
        self.last = 0.0  # exact (fractional) time up to which the flows have been served
        self.generation = 0
        self.stats = stats
        self.busy_since = 0

    def transfer(self, nbytes: int, cap: float) -> simpy.Event:
        """Return an event that fires when ``nbytes`` have been served at most ``cap`` B/cycle."""
        now = self.env.now
        self._serve_until(now)
        if not self.flows:
            self.busy_since = now
            self.last = float(now)
        ev = simpy.Event(self.env)
        self.flows.append(_Flow(float(nbytes), float(cap), ev))
        self._share()
        self._reschedule()
        return ev

    def _share(self) -> None:
        """Max-min fair rates: no flow above its cap; what capped flows leave goes to the rest."""
        left = self.bytes_per_cycle
        flows = sorted(self.flows, key=lambda f: f.cap)
        for i, f in enumerate(flows):
            f.rate = min(f.cap, left / (len(flows) - i))
            left -= f.rate

    def _serve_until(self, t: float) -> None:
        """Serve the flows as a fluid up to time ``t``, completing (at the current cycle) every
        flow whose exact completion time is at or before ``t`` and re-sharing after each."""
        while self.flows:
            step = min(f.left / f.rate for f in self.flows)
            if self.last + step > t + _EPS:
                break
            self.last += step
            for f in self.flows:
                f.left -= f.rate * step
            done = [f for f in self.flows if f.left <= _EPS * f.cap]
            self.flows = [f for f in self.flows if f.left > _EPS * f.cap]
            for f in done:
                f.event.succeed()
            if self.flows:
                self._share()
            else:
                self.stats.busy += math.ceil(self.last - _EPS) - self.busy_since
        if self.flows:
            for f in self.flows:
                f.left -= f.rate * (t - self.last)
            self.last = t

    def _reschedule(self) -> None:
        self.generation += 1
        soonest = self.last + min(f.left / f.rate for f in self.flows)
        wake = self.env.timeout(max(0, math.ceil(soonest - _EPS) - self.env.now))
        wake.callbacks.append(self._make_wake(self.generation))

    def _make_wake(self, generation: int):  # type: ignore[no-untyped-def]
        def wake(_: simpy.Event) -> None:
            if generation == self.generation:
                self._serve_until(self.env.now)
                if self.flows:
                    self._reschedule()
        return wake
