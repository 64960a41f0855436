"""Functional mode's data: the bytes in tile memories and DDR, and the words on each route.

Memories are ``uint8`` arrays, one per buffer and one per DDR tensor. A DMA moves whole 32-bit
words through its access pattern (``dims`` innermost first, strides in words), exactly as the BD
says: :func:`gather` reads them in stream order, :func:`scatter` writes them back.

A route carries what its source sent, in order: the source's BD pushes its words when it offers
them (its lock is held, so they are final), and each destination's BD pulls its own length when
its transfer completes, before it releases its lock. Timing never depends on the data, so a
functional run takes exactly the cycles of a timing-only run.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from ..isa import Dim
from ..isa.instructions import WORD_BYTES

Bytes = npt.NDArray[np.uint8]

_INDEX_CACHE: dict[tuple[int, tuple[Dim, ...]], npt.NDArray[np.intp]] = {}


def _word_index(offset_words: int, dims: tuple[Dim, ...]) -> npt.NDArray[np.intp]:
    """Word addresses of an access pattern, in the order the DMA visits them."""
    key = (offset_words, dims)
    idx = _INDEX_CACHE.get(key)
    if idx is None:
        idx = np.full((), offset_words, dtype=np.intp)
        for d in reversed(dims):  # outermost first, so the innermost dimension varies fastest
            idx = idx[..., None] + np.arange(d.size, dtype=np.intp) * d.stride
        idx = idx.reshape(-1)
        if len(_INDEX_CACHE) > 4096:
            _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = idx
    return idx


def words(mem: Bytes) -> npt.NDArray[np.uint32]:
    """A memory as 32-bit words (memories are allocated in whole words)."""
    return mem.view(np.uint32)


def _padded_index(offset_words: int, dims: tuple[Dim, ...],
                  pad: tuple[tuple[int, int], ...]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Word addresses of a padded pattern in stream order, and which of them are real (not padding)."""
    idx = np.full((), offset_words, dtype=np.intp)
    real = np.ones((), dtype=np.bool_)
    for i in reversed(range(len(dims))):
        d = dims[i]
        before, after = pad[i] if i < len(pad) else (0, 0)
        pos = np.arange(-before, d.size + after, dtype=np.intp)
        idx = idx[..., None] + np.clip(pos, 0, d.size - 1) * d.stride
        real = real[..., None] & ((pos >= 0) & (pos < d.size))
    return idx.reshape(-1), real.reshape(-1)


def gather(mem: Bytes, offset_bytes: int, length_bytes: int, dims: tuple[Dim, ...],
           pad: tuple[tuple[int, int], ...] = ()) -> Bytes:
    """The bytes a transfer reads from ``mem``, in stream order (zero words where ``pad`` inserts them)."""
    if pad:
        idx, real = _padded_index(offset_bytes // WORD_BYTES, dims, pad)
        out = np.zeros(len(idx), dtype=np.uint32)
        out[real] = words(mem)[idx[real]]
        return out.view(np.uint8)
    if not dims:
        return mem[offset_bytes:offset_bytes + length_bytes].copy()
    return words(mem)[_word_index(offset_bytes // WORD_BYTES, dims)].view(np.uint8)


def scatter(mem: Bytes, offset_bytes: int, dims: tuple[Dim, ...], data: Bytes) -> None:
    """Write ``data`` (stream order) into ``mem`` through an access pattern."""
    if not dims:
        mem[offset_bytes:offset_bytes + len(data)] = data
        return
    words(mem)[_word_index(offset_bytes // WORD_BYTES, dims)] = data.view(np.uint32)


def allocate(size_bytes: int) -> Bytes:
    """A zeroed memory of ``size_bytes``, rounded up to whole words."""
    return np.zeros(-(-size_bytes // WORD_BYTES) * WORD_BYTES, dtype=np.uint8)


class RouteData:
    """The words in flight on one route: one queue per destination (participants 1..k)."""

    __slots__ = ("queues", "heads")

    def __init__(self, participants: int) -> None:
        self.queues: list[deque[Bytes]] = [deque() for _ in range(participants)]
        self.heads = [0] * participants  # bytes already taken from each queue's first chunk

    def push(self, data: Bytes) -> None:
        for q in self.queues[1:]:
            q.append(data)

    def pull(self, idx: int, nbytes: int) -> Bytes:
        q, head = self.queues[idx], self.heads[idx]
        parts = []
        while nbytes:
            chunk = q[0]
            take = min(nbytes, len(chunk) - head)
            parts.append(chunk[head:head + take])
            nbytes -= take
            head += take
            if head == len(chunk):
                q.popleft()
                head = 0
        self.heads[idx] = head
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class DataPlane:
    """Every memory of a functional run: tile buffers by name, DDR tensors by name."""

    __slots__ = ("buffers", "tensors")

    def __init__(self, buffers: Mapping[str, int], tensors: Mapping[str, int],
                 initial: Mapping[str, Bytes]) -> None:
        self.buffers = {name: allocate(size) for name, size in buffers.items()}
        self.tensors = {name: allocate(size) for name, size in tensors.items()}
        for name, data in initial.items():
            if name not in tensors:
                raise ValueError(f"initial data for tensor '{name}', which the program does not declare "
                                 f"(its tensors: {', '.join(tensors) or 'none'}); fix the name")
            flat = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
            if len(flat) > tensors[name]:
                raise ValueError(f"initial data for tensor '{name}' has {len(flat)} bytes, the tensor "
                                 f"{tensors[name]}; give at most the tensor's size")
            self.tensors[name][:len(flat)] = flat
