"""The runtime sequence of a fused group: its members' sequences interleaved, each read of an
on-chip tensor after the writes it reads.

Each member's sequence comes in *waves* (:mod:`..program.matmul`: a wave queues at most one task
per channel and ends with the tasks that take its output). A consumer's wave that reads an on-chip
tensor is preceded by a wait for the producer's buffer tasks that write the bytes it reads (their
access patterns' extents overlap). The members go round in turn, one wave each, a consumer's wave
only once its producer has issued one wave past the last it needs, so that the producer has work
queued while the command processor waits for it: the producer never idles on the runtime.

Why it cannot deadlock: a wave only needs tasks of earlier waves, of its own member or of its
producers, all issued before it; a wait names writes of waves already issued, which complete
from tasks already queued; and no producer ever waits for its consumer (the on-chip tensor is
whole, nothing is overwritten).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...isa import BufferTask, DmaTask, RuntimeOp, Wait, pattern_extent_bytes

Task = DmaTask | BufferTask


@dataclass(frozen=True, slots=True)
class Stream:
    """A member's runtime ops (no waits) and which of them end a wave (its output tasks)."""

    ops: tuple[Task, ...]
    outputs: frozenset[str]


def waves(stream: Stream) -> list[list[Task]]:
    """The member's ops cut after each run of output tasks."""
    out: list[list[Task]] = []
    cur: list[Task] = []
    for i, op in enumerate(stream.ops):
        cur.append(op)
        nxt = stream.ops[i + 1] if i + 1 < len(stream.ops) else None
        if op.name in stream.outputs and (nxt is None or nxt.name not in stream.outputs):
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def extent(op: Task) -> tuple[int, int]:
    end = op.offset_bytes + (pattern_extent_bytes(op.dims) if op.dims else op.length_bytes)
    return op.offset_bytes, end


def interleave(streams: Sequence[Stream], writes: dict[str, list[BufferTask]]) -> tuple[RuntimeOp, ...]:
    """One runtime sequence of the members' ``streams``; ``writes`` are the buffer tasks that write
    each on-chip buffer."""
    cut = [waves(s) for s in streams]
    where: dict[str, tuple[int, int]] = {op.name: (m, w) for m, ws in enumerate(cut) for w, ops in enumerate(ws)
                                         for op in ops}
    deps = [[_needs(ops, writes) for ops in ws] for ws in cut]
    pos = [0] * len(cut)
    waited: set[str] = set()
    out: list[RuntimeOp] = []
    while any(p < len(ws) for p, ws in zip(pos, cut)):
        for m, ws in enumerate(cut):
            if pos[m] == len(ws) or not _ready(deps[m][pos[m]], where, pos, cut):
                continue
            need = sorted(deps[m][pos[m]] - waited, key=lambda n: where[n])
            if need:
                out.append(Wait("wait", tuple(need)))
                waited |= set(need)
            out.extend(ws[pos[m]])
            pos[m] += 1
    return tuple(out)


def _needs(ops: list[Task], writes: dict[str, list[BufferTask]]) -> set[str]:
    """The writes of on-chip buffers that the wave's reads overlap."""
    need: set[str] = set()
    for op in ops:
        if isinstance(op, BufferTask) and op.buffer in writes and op.channel.startswith("mm2s"):
            lo, hi = extent(op)
            need |= {w.name for w in writes[op.buffer] if w.buffer == op.buffer and _overlap(extent(w), (lo, hi))}
    return need


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _ready(need: set[str], where: dict[str, tuple[int, int]], pos: list[int], cut: list[list[list[Task]]]) -> bool:
    """Every wave the needed writes belong to is issued, and its member has issued one more (or all)."""
    for name in need:
        m, w = where[name]
        if not (w < pos[m] - 1 or pos[m] == len(cut[m])):
            return False
    return True
