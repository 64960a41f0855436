"""A memory-tile DMA channel driven by runtime tasks (:class:`~npusim.isa.BufferTask`).

The command processor queues tasks on it as on a shim channel (at most
``mem_tile.task_queue_depth`` waiting) and the channel runs them in order, each a BD over one of
the memory tile's buffers (or a neighbour's, for channels 0-3): start-up, then the words move at
the route's rate, with no DDR in the way. An S2MM task completes when its last word has landed.

It is the shim channel's machinery (queue, completion events, statistics) with a buffer instead
of a DDR tensor, so that the two kinds of task share one behaviour.
"""
from __future__ import annotations

from ..config import DdrSpec
from ..isa import BufferTask, DmaTask
from ..stats.recorder import ChannelStats, Recorder
from .data import Bytes, DataPlane
from .shim_tile import ShimChannel
from .stream_switch import StreamRoute
from .unit import ArrayClock, ProgressWatch


class BufferTaskChannel(ShimChannel):
    __slots__ = ()

    def __init__(self, env: ArrayClock, name: str, route: StreamRoute, idx: int, depth: int,
                 startup_cycles: int, ddr: DdrSpec, rec: Recorder, stats: ChannelStats, watch: ProgressWatch,
                 data: DataPlane | None = None) -> None:
        super().__init__(env, name, route, idx, depth, startup_cycles, ddr, 0, rec, stats, watch, data)

    def memory(self, op: DmaTask | BufferTask) -> Bytes:
        """Functional mode: the buffer the task reads or writes."""
        assert self.data is not None and isinstance(op, BufferTask)
        return self.data.buffers[op.buffer]

    def ddr_scale(self, op: DmaTask | BufferTask) -> float:
        return 0.0
