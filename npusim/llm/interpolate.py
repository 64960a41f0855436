"""Decode attention over a growing KV cache: simulated at enough context lengths, interpolated
between them.

Each generated token attends to one more key than the one before, so the attention layers of
every decode step have a shape of their own. Simulating them all would simulate ``generate``
times three layers; a :class:`ContextCurve` simulates the cost of those layers at *anchor*
contexts instead and interpolates linearly between neighbouring anchors. Anchors are placed by
bisection: a segment's midpoint is simulated and compared with the line through its ends; where
they differ by more than ``tolerance`` (time or energy, relative) both halves are refined, down
to adjacent contexts (exact). Segments start at most ``max_span`` contexts long, so that a
coarse first guess cannot hide two steps of the lowering's padding that cancel at a midpoint.

The property that must hold: the interpolated cost at any context is within ``tolerance`` of a
simulation at that context. ``tests/llm/test_interpolation.py`` checks it against the full
simulation of every context of a small model; ``max_deviation`` reports the largest difference
seen at an accepted midpoint (what the line would have been off by there).
"""
from __future__ import annotations

import bisect
from collections.abc import Callable

from .timings import Cost, between, deviation

MAX_SPAN = 512
"""Longest segment between the first anchors (contexts)."""


class ContextCurve:
    """The cost of the attention-length-dependent layers of a decode step, against the context."""

    def __init__(self, cost_at: Callable[[int], Cost], tolerance: float, max_span: int = MAX_SPAN) -> None:
        self._cost_at = cost_at
        self.tolerance = tolerance
        self.max_span = max_span
        self._anchors: dict[int, Cost] = {}
        self._sorted: list[int] = []
        self.max_deviation = 0.0
        """The largest relative difference at a midpoint the bisection accepted."""

    @property
    def anchors(self) -> tuple[int, ...]:
        """The contexts simulated, in order."""
        return tuple(self._sorted)

    def _at(self, context: int) -> Cost:
        if context not in self._anchors:
            self._anchors[context] = self._cost_at(context)
            bisect.insort(self._sorted, context)
        return self._anchors[context]

    def cover(self, lo: int, hi: int) -> None:
        """Place anchors over ``lo..hi`` (contexts, both included) until every segment passes."""
        if lo > hi:
            raise ValueError(f"empty context range {lo}..{hi}")
        edges = list(range(lo, hi, self.max_span)) + [hi]
        stack = list(zip(edges, edges[1:]))
        for c in edges:
            self._at(c)
        while stack:
            a, b = stack.pop()
            if b - a < 2:
                continue
            m = (a + b) // 2
            line = between(self._at(a), self._at(b), (m - a) / (b - a))
            dev = deviation(line, self._at(m))
            if dev > self.tolerance:
                stack += [(a, m), (m, b)]
            else:
                self.max_deviation = max(self.max_deviation, dev)

    def cost(self, context: int) -> Cost:
        """The cost at ``context``: simulated at an anchor, interpolated between two, else an error."""
        if context in self._anchors:
            return self._anchors[context]
        i = bisect.bisect_left(self._sorted, context)
        if i == 0 or i == len(self._sorted):
            raise ValueError(f"context {context} is outside the anchors {self._sorted[:1]}..{self._sorted[-1:]}; "
                             "cover() its range first")
        a, b = self._sorted[i - 1], self._sorted[i]
        return between(self._anchors[a], self._anchors[b], (context - a) / (b - a))

    def is_anchor(self, context: int) -> bool:
        return context in self._anchors
