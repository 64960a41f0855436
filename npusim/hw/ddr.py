"""DDR: bandwidth shared by the shim channels, served as a fair fluid (DESIGN §3).

Each transfer is a flow, a read or a write, with a rate cap (the stream rate of its route, and at
most what one shim channel moves, ``ddr.channel_gb_per_s``). While flows overlap, the bandwidth is
split max-min fairly under up to three shared limits: all flows together (``bandwidth_gb_per_s``),
the reads (``read_gb_per_s``) and the writes (``write_gb_per_s``): no flow gets more than its cap,
and what a capped flow leaves is shared by the others. Rates are recomputed whenever a flow starts or ends, so a
transfer is served at its fair share of what is left. Completion times round up to whole cycles.
Flows are served as an exact fluid: when one ends part-way through a cycle, the others get its
share from that instant. The access latency is charged by the shim channel, not here.

A flow may be announced before it starts (a route segment whose ends are still starting up): it
waits in ``arrivals`` and joins the fluid at its start cycle, with no event of its own. The DDR
wakes only to complete flows, at a lower bound of the next completion, so that a flow that starts
meanwhile and slows the others costs at most one early wake-up.
"""
from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable

import simpy

from ..stats.recorder import DdrStats
from .unit import ArrayClock

_EPS = 1e-6


class _Flow:
    __slots__ = ("left", "cap", "rate", "done", "write")

    def __init__(self, left: float, cap: float, done: Callable[[], object], write: bool = False) -> None:
        self.left, self.cap, self.rate, self.done, self.write = left, cap, 0.0, done, write


def fair_rates(bandwidth: float, caps: list[float]) -> list[float]:
    """Max-min fair rates (water filling): no flow above its cap; what capped flows leave goes to
    the rest. (``Ddr._share`` handles the two usual cases without it.)"""
    rates = [0.0] * len(caps)
    left = bandwidth
    for i, k in enumerate(sorted(range(len(caps)), key=caps.__getitem__)):
        rates[k] = min(caps[k], left / (len(caps) - i))
        left -= rates[k]
    return rates


def directed_rates(bandwidth: float, read: float, write: float, flows: list[tuple[float, bool]]) -> list[float]:
    """Max-min fair rates of ``(cap, is_write)`` flows under three shared limits: every flow's
    total ``bandwidth``, the reads' ``read`` and the writes' ``write`` (progressive filling: all
    flows not yet held by a limit rise together until a flow reaches its cap or a limit is used
    up, which holds the flows it binds)."""
    rates = [0.0] * len(flows)
    active = set(range(len(flows)))
    left = {None: bandwidth, False: read, True: write}
    while active:
        count = {d: sum(1 for i in active if flows[i][1] == d) for d in (False, True)}
        step = min([flows[i][0] - rates[i] for i in active] + [left[None] / len(active)]
                   + [left[d] / count[d] for d in (False, True) if count[d]])
        for i in active:
            rates[i] += step
        left[None] -= step * len(active)
        for d in (False, True):
            left[d] -= step * count[d]
        full = {d for d in (None, False, True) if left[d] <= _EPS * max(1.0, bandwidth)}
        active = {i for i in active if flows[i][0] - rates[i] > _EPS * flows[i][0] and None not in full
                  and flows[i][1] not in full}
    return rates


class Ddr:
    __slots__ = ("env", "bytes_per_cycle", "flows", "arrivals", "order", "last", "next_done", "generation",
                 "wake_at", "stats", "busy_since", "read_bpc", "write_bpc", "channel_bpc")

    def __init__(self, env: ArrayClock, bytes_per_cycle: float, stats: DdrStats, read_bpc: float = math.inf,
                 write_bpc: float = math.inf, channel_bpc: float = math.inf) -> None:
        self.env = env
        self.bytes_per_cycle = bytes_per_cycle
        self.read_bpc, self.write_bpc = read_bpc, write_bpc  # the reads' and writes' own limits
        self.channel_bpc = channel_bpc  # what one shim channel moves per cycle, per direction
        self.flows: list[_Flow] = []
        self.arrivals: list[tuple[int, int, _Flow]] = []  # (start, order, flow), sorted: flows to come
        self.last = 0.0  # exact (fractional) time of the flows' ``left`` (the last start or end)
        self.next_done = math.inf  # exact time the next running flow completes at current rates
        self.order = 0
        self.generation = 0
        self.wake_at = -1  # the cycle of the wake-up that counts (-1: none)
        self.stats = stats
        self.busy_since = 0

    @property
    def directed(self) -> bool:
        """Whether reads or writes have a limit of their own."""
        return self.read_bpc != math.inf or self.write_bpc != math.inf

    def transfer(self, nbytes: int, cap: float, done: Callable[[], object] | None = None,
                 start: int | None = None, write: bool = False) -> simpy.Event | None:
        """Serve ``nbytes`` at most ``cap`` B/cycle from cycle ``start`` (now, or later), a write
        to DDR if ``write`` (else a read); then call ``done()``, or, without it, fire the returned
        event. A flow that starts later is served from then on, without an event of its own."""
        ev = None
        if done is None:
            ev = simpy.Event(self.env)
            done = ev.succeed
        now = self.env._now
        start = now if start is None else start
        self.order += 1  # flows that start at the same cycle are admitted in the order they came
        insort(self.arrivals, (start, self.order, _Flow(float(nbytes), float(cap), done, write)))
        finished = self._serve_until(now)
        self._reschedule()
        for fin in finished:
            fin()
        return ev

    def _share(self) -> None:
        """Re-share the bandwidth (at ``last``) and note when the next flow will complete."""
        flows = self.flows
        if self.directed:
            for f, rate in zip(flows, directed_rates(self.bytes_per_cycle, self.read_bpc, self.write_bpc,
                                                     [(f.cap, f.write) for f in flows])):
                f.rate = rate
            self.next_done = self.last + min(f.left / f.rate for f in flows)
            return
        fair = self.bytes_per_cycle / len(flows)
        # fair_rates' two usual cases, without building lists: nobody capped below a fair share
        # (all get it), or the caps add up to no more than the bandwidth (each gets its cap)
        if all(f.cap >= fair for f in flows):
            for f in flows:
                f.rate = fair
            self.next_done = self.last + min(f.left for f in flows) / fair
            return
        if sum(f.cap for f in flows) <= self.bytes_per_cycle:
            for f in flows:
                f.rate = f.cap
        else:
            for f, rate in zip(flows, fair_rates(self.bytes_per_cycle, [f.cap for f in flows])):
                f.rate = rate
        self.next_done = self.last + min(f.left / f.rate for f in flows)

    def _serve_until(self, t: float) -> list[Callable[[], object]]:
        """Serve the flows as a fluid up to time ``t``: completing (at the current cycle) every
        flow whose exact completion time is at or before ``t``, admitting every flow that starts
        by ``t``, in time order (a completion first when both fall at the same time), and
        re-sharing after each. Returns the completed flows' ``done`` callbacks, for the caller
        to call once the DDR's state is whole again (a callback may start a new transfer)."""
        finished: list[Callable[[], object]] = []
        while True:
            arrival = self.arrivals[0][0] if self.arrivals else math.inf
            done = self.next_done
            if done <= arrival + _EPS:
                if done > t + _EPS:
                    break
                finished += self._complete(done - self.last)
            elif arrival <= t:
                self._admit(self.arrivals[0][0])
            else:
                break
        return finished

    def _complete(self, step: float) -> list[Callable[[], object]]:
        """Serve ``step`` cycles, at whose end at least one flow completes; their callbacks."""
        self.last += step
        done: list[_Flow] = []
        kept: list[_Flow] = []
        for f in self.flows:
            f.left -= f.rate * step
            (done if f.left <= _EPS * f.cap else kept).append(f)
        self.flows = kept
        if kept:
            self._share()
        else:
            self.next_done = math.inf
            self.stats.busy += math.ceil(self.last - _EPS) - self.busy_since
        return [f.done for f in done]

    def _admit(self, at: int) -> None:
        """Serve the flows up to cycle ``at``, when the next flow starts; add it."""
        if self.flows:
            dt = at - self.last
            for f in self.flows:
                f.left -= f.rate * dt
        else:
            self.busy_since = at
        self.last = float(at)
        self.flows.append(self.arrivals.pop(0)[2])  # the earliest flow to come (the list is sorted)
        self._share()

    def _next_completion(self) -> float:
        """A lower bound of the time the next flow completes: a running flow at its current rate
        (flows still to start can only slow it), a flow to come as if served alone from its
        start. (A wake-up at the bound that finds nothing done schedules the next one.)"""
        bound = self.next_done
        bw = self.bytes_per_cycle
        for start, _, f in self.arrivals:
            if start >= bound:
                break
            bound = min(bound, start + f.left / min(f.cap, bw, self.write_bpc if f.write else self.read_bpc))
        return bound

    def _reschedule(self) -> None:
        """Make sure a wake-up is due by the cycle the next flow completes (an earlier one that
        is no longer right is ignored when it fires)."""
        if not self.flows and not self.arrivals:
            return
        at = max(self.env._now, math.ceil(self._next_completion() - _EPS))
        if at == self.wake_at:
            return
        self.generation += 1
        self.wake_at = at
        self.env.timeout(at - self.env._now, self.generation).callbacks.append(self._wake)

    def _wake(self, ev: simpy.Event) -> None:
        if ev.value == self.generation:
            self.wake_at = -1
            finished = self._serve_until(self.env._now)
            self._reschedule()
            for fin in finished:
                fin()

