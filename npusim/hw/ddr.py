"""DDR: one bandwidth shared by every shim channel, served as a fair fluid (DESIGN §3).

Each transfer is a flow with a rate cap (the stream rate of its route). While flows overlap,
the bandwidth is split max-min fairly: no flow gets more than its cap, and what a capped flow
leaves is shared by the others. Rates are recomputed whenever a flow starts or ends, so a
transfer is served at its fair share of what is left. Completion times round up to whole cycles.
The access latency is charged by the shim channel, not here.
"""
from __future__ import annotations

import math

import simpy

from ..stats.recorder import DdrStats

_EPS = 1e-6


class _Flow:
    __slots__ = ("left", "cap", "rate", "event")

    def __init__(self, left: float, cap: float, event: simpy.Event) -> None:
        self.left, self.cap, self.rate, self.event = left, cap, 0.0, event


class Ddr:
    __slots__ = ("env", "bytes_per_cycle", "flows", "last", "generation", "stats", "busy_since")

    def __init__(self, env: simpy.Environment, bytes_per_cycle: float, stats: DdrStats) -> None:
        self.env = env
        self.bytes_per_cycle = bytes_per_cycle
        self.flows: list[_Flow] = []
        self.last = 0
        self.generation = 0
        self.stats = stats
        self.busy_since = 0

    def transfer(self, nbytes: int, cap: float) -> simpy.Event:
        """Return an event that fires when ``nbytes`` have been served at most ``cap`` B/cycle."""
        self._advance()
        if not self.flows:
            self.busy_since = self.env.now
        ev = simpy.Event(self.env)
        self.flows.append(_Flow(float(nbytes), float(cap), ev))
        self._reschedule()
        return ev

    def _advance(self) -> None:
        elapsed = self.env.now - self.last
        if elapsed:
            for f in self.flows:
                f.left -= f.rate * elapsed
        self.last = self.env.now

    def _share(self) -> None:
        left = self.bytes_per_cycle
        flows = sorted(self.flows, key=lambda f: f.cap)
        for i, f in enumerate(flows):
            f.rate = min(f.cap, left / (len(flows) - i))
            left -= f.rate

    def _reschedule(self) -> None:
        self._share()
        self.generation += 1
        soonest = min(f.left / f.rate for f in self.flows)
        wake = self.env.timeout(max(0, math.ceil(soonest - _EPS)))
        wake.callbacks.append(self._make_wake(self.generation))

    def _make_wake(self, generation: int):  # type: ignore[no-untyped-def]
        def wake(_: simpy.Event) -> None:
            if generation == self.generation:
                self._complete()
        return wake

    def _complete(self) -> None:
        self._advance()
        done = [f for f in self.flows if f.left <= _EPS * max(1.0, f.cap)]
        self.flows = [f for f in self.flows if f.left > _EPS * max(1.0, f.cap)]
        for f in done:
            f.event.succeed()
        if self.flows:
            self._reschedule()
        else:
            self.stats.busy += self.env.now - self.busy_since
            self.generation += 1
