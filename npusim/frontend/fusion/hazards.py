"""Waits between a runtime's tasks that share a memory-tile buffer.

When the runtime drives memory-tile channels with tasks (:class:`~npusim.isa.BufferTask`), nothing
but the runtime orders two tasks of different channels: a read of bytes another channel writes,
a write over bytes another channel still reads or writes. :func:`with_waits` walks a task list in
issue order and puts, before each task, a wait for every earlier task of another channel whose
access overlaps its own on the same buffer, one a read (MM2S) and the other a write (S2MM), unless
an earlier wait already covers it. Tasks of one channel run in queue order and need no wait; two
writes never need one, since a group's tasks write each byte of a tensor once (scratch buffers
are per channel).
"""
from __future__ import annotations

from collections.abc import Sequence

from ...isa import BufferTask, DmaTask, RuntimeOp, Wait
from .sequence import extent

Task = DmaTask | BufferTask


def _writes(op: BufferTask) -> bool:
    return op.channel.startswith("s2mm")


def with_waits(tasks: Sequence[Task]) -> tuple[RuntimeOp, ...]:
    """``tasks`` in order, each preceded by a wait for the earlier tasks it conflicts with."""
    seen: dict[str, list[tuple[BufferTask, tuple[int, int]]]] = {}
    waited: set[str] = set()
    out: list[RuntimeOp] = []
    for op in tasks:
        if isinstance(op, BufferTask):
            lo, hi = extent(op)
            key = (op.tile, op.channel)
            need = [prev.name for prev, (a, b) in seen.get(op.buffer, ())
                    if (prev.tile, prev.channel) != key and _writes(prev) != _writes(op) and a < hi and lo < b
                    and prev.name not in waited]
            if need:
                out.append(Wait("wait", tuple(need)))
                waited.update(need)
            seen.setdefault(op.buffer, []).append((op, (lo, hi)))
        out.append(op)
    return tuple(out)
