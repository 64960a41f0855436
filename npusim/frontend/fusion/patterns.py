"""Access patterns that visit a given sequence of word addresses, in order: how a fused group's
runtime writes a producer's stream into its consumer's layout.

A DMA access pattern visits ``offset + sum(i_d * stride_d)`` for every index vector, the innermost
dimension fastest. :func:`compress` cuts an address sequence into as few patterns as it can,
bottom up: runs of consecutive words, then runs of equally shaped runs at a constant distance,
and so on, up to ``dims`` dimensions, the outermost (the DMA's iteration dimension) of at most
``iterations``. Words without a place (:data:`~.layout.JUNK`) form runs of their own, sent to a
scratch buffer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...isa import WORD_BYTES as W
from ...isa import Dim, pattern_bytes
from .layout import JUNK

Unit = tuple[int, tuple[Dim, ...]]
"""(first word address, dimensions innermost first)."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One transfer of a sequence: ``dims`` from word ``offset`` (scratch: into the scratch buffer)."""

    offset_bytes: int
    dims: tuple[Dim, ...]
    scratch: bool

    @property
    def length_bytes(self) -> int:
        return pattern_bytes(self.dims)


def _runs(addrs: np.ndarray) -> list[tuple[int, int, bool]]:
    """(first address, length, junk) of the maximal runs of consecutive addresses (junk runs:
    consecutive junk words)."""
    if not len(addrs):
        return []
    junk = addrs == JUNK
    both = junk[1:] & junk[:-1]
    cut = np.flatnonzero((junk[1:] != junk[:-1]) | (~both & (np.diff(addrs) != 1))) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [len(addrs)]))
    return [(int(addrs[s]), int(e - s), bool(junk[s])) for s, e in zip(starts, ends)]


def merge(units: list[Unit], cap: int) -> list[Unit]:
    """Units with equal dims at a constant non-negative distance, merged under one more dimension
    of at most ``cap`` (greedy, left to right)."""
    out: list[Unit] = []
    i = 0
    while i < len(units):
        start, dims = units[i]
        j = i + 1
        if j < len(units) and units[j][1] == dims and units[j][0] >= start:
            stride = units[j][0] - start
            while j < len(units) and j - i < cap and units[j][1] == dims and units[j][0] - units[j - 1][0] == stride:
                j += 1
        out.append((start, dims + (Dim(j - i, units[i + 1][0] - start),)) if j - i > 1 else (start, dims))
        i = j
    return out


def compress(addrs: np.ndarray, dims: int, iterations: int) -> list[Piece]:
    """Patterns visiting word addresses ``addrs`` in order (junk words into scratch from its start),
    each of at most ``dims`` dimensions plus an iteration dimension of at most ``iterations``."""
    pieces: list[Piece] = []
    group: list[Unit] = []

    def flush() -> None:
        units = group[:]
        for level in range(dims):
            units = merge(units, iterations if level == dims - 1 else 1 << 30)
        pieces.extend(Piece(start * W, d, False) for start, d in units)
        group.clear()

    for first, length, junk in _runs(np.asarray(addrs, dtype=np.int64)):
        if junk:
            flush()
            pieces.append(Piece(0, (Dim(length, 1),), True))
        else:
            group.append((first, (Dim(length, 1),)))
    flush()
    return pieces
