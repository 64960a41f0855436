"""Decode attention over a growing KV cache: simulated at enough context lengths, interpolated
between them.

Each generated token attends to one more key than the one before, so the attention layers of
every decode step have a shape of their own. Simulating them all would simulate ``generate``
times three layers; a :class:`ContextCurve` simulates them at *anchor* contexts and interpolates
linearly between the two ends of the segment a context lies in.

The cost is piecewise: the lowering pads and tiles the growing dimension, so a GEMM's cost
steps where a tile boundary is crossed (and stays flat between), while a softmax's grows in
proportion to its row. So the contexts are first cut where the lowering's plan of any of the
layers changes (``signature_at``: its tiling and padding, not the length itself); inside one plan
the cost is a line. Each piece is then checked: its midpoint is simulated and compared with the
line through its ends, and where they differ by more than half the ``tolerance`` (time or
energy, relative) both halves are refined, down to adjacent contexts (exact). One step of height
``s`` in a piece puts its midpoint ``s/2`` off the line and no context more than ``s`` off it, so
accepting at half the tolerance keeps such a piece within the tolerance. Without a signature the
pieces start ``max_span`` contexts long.

The property that must hold: the interpolated cost at any context is within ``tolerance`` of a
simulation at that context. ``tests/llm/test_llm_reuse.py`` checks it against the full
simulation of every context of small models; ``max_deviation`` reports the largest difference
seen at an accepted midpoint (at most half the tolerance).
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable

from .timings import Cost, between, deviation

MAX_SPAN = 64
"""Longest first piece when no plan signature cuts the range (contexts)."""


class ContextCurve:
    """The cost of the attention-length-dependent layers of a decode step, against the context."""

    def __init__(self, cost_at: Callable[[int], Cost], tolerance: float,
                 signature_at: Callable[[int], Hashable] | None = None, max_span: int = MAX_SPAN) -> None:
        self._cost_at = cost_at
        self._signature_at = signature_at
        self.tolerance = tolerance
        self.max_span = max_span
        self._anchors: dict[int, Cost] = {}
        self._sorted: list[int] = []
        self._segments: dict[int, int] = {}
        """Accepted pieces: start -> end (interpolated between the two)."""
        self._starts: list[int] = []
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

    def _pieces(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """``lo..hi`` cut where the plan signature changes (or every ``max_span`` contexts)."""
        if self._signature_at is None:
            edges = list(range(lo, hi, self.max_span)) + [hi]
            return list(zip(edges, edges[1:])) or [(lo, hi)]
        pieces, start, sig = [], lo, self._signature_at(lo)
        for c in range(lo + 1, hi + 1):
            here = self._signature_at(c)
            if here != sig:
                pieces.append((start, c - 1))
                start, sig = c, here
        return pieces + [(start, hi)]

    def _accept(self, a: int, b: int, dev: float) -> None:
        self.max_deviation = max(self.max_deviation, dev)
        self._segments[a] = b
        bisect.insort(self._starts, a)

    def cover(self, lo: int, hi: int) -> None:
        """Place anchors over ``lo..hi`` (contexts, both included) until every piece passes."""
        if lo > hi:
            raise ValueError(f"empty context range {lo}..{hi}")
        stack = self._pieces(lo, hi)
        while stack:
            a, b = stack.pop()
            fa, fb = self._at(a), self._at(b)
            if b - a < 2:
                self._accept(a, b, 0.0)
                continue
            m = (a + b) // 2
            dev = deviation(between(fa, fb, (m - a) / (b - a)), self._at(m))
            if dev > self.tolerance / 2:
                stack += [(a, m), (m, b)]
            else:
                self._accept(a, b, dev)

    def cost(self, context: int) -> Cost:
        """The cost at ``context``: simulated at an anchor, else interpolated between the ends of its
        piece (an error outside the ranges covered)."""
        if context in self._anchors:
            return self._anchors[context]
        i = bisect.bisect_right(self._starts, context) - 1
        if i < 0 or self._segments[self._starts[i]] < context:
            raise ValueError(f"context {context} is in no piece the curve covers; cover() its range first")
        a = self._starts[i]
        b = self._segments[a]
        return between(self._anchors[a], self._anchors[b], (context - a) / (b - a))

    def is_anchor(self, context: int) -> bool:
        return context in self._anchors
