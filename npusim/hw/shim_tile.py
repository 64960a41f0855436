"""A DMA channel of a shim tile: moves runtime tasks between DDR tensors and its route.

The command processor queues tasks (at most ``task_queue_depth`` waiting); the channel runs them
in order. MM2S (DDR -> array): start-up plus the DDR read latency, then the data streams at the
fair DDR share, each contiguous run of the task's access pattern costing whole DDR accesses.
S2MM (array -> DDR): the data streams into DDR, and the task completes when the last word has
crossed the route and the DDR write latency has passed.

In functional mode a task reads or writes its DDR tensor's bytes through its access pattern.

A channel counts as a unit the program waits for only while it holds tasks.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

import simpy

from ..config import DdrSpec
from ..isa import BufferTask, DmaTask
from ..stats.recorder import ChannelStats, Recorder
from .data import Bytes, DataPlane, gather, scatter
from .stream_switch import StreamRoute
from .timing import ddr_access_bytes
from .unit import ArrayClock, ProgressWatch, Unit


class ShimTask:
    """A queued runtime DMA task and the event that fires when it completes."""

    __slots__ = ("op", "done")

    def __init__(self, op: DmaTask | BufferTask, done: simpy.Event) -> None:
        self.op = op
        self.done = done

    def complete(self, _: simpy.Event | None = None) -> None:
        self.done.succeed()


class ShimChannel(Unit):
    __slots__ = ("route", "idx", "depth", "queue", "wake", "slot", "startup", "latency", "stats", "rec",
                 "ddr", "data")

    def __init__(self, env: ArrayClock, name: str, route: StreamRoute, idx: int,
                 depth: int, startup_cycles: int, ddr: DdrSpec, ddr_latency: int, rec: Recorder,
                 stats: ChannelStats, watch: ProgressWatch, data: DataPlane | None = None) -> None:
        super().__init__(env, name, watch, required=False)
        self.route = route
        self.idx = idx
        self.depth = depth
        self.queue: deque[ShimTask] = deque()
        self.wake: simpy.Event | None = None
        self.slot: simpy.Event | None = None
        reads = idx == 0
        self.startup = startup_cycles + (ddr_latency if reads else 0)
        self.latency = route.latency[idx] + (0 if reads else ddr_latency)
        self.stats = stats
        self.rec = rec
        self.ddr = ddr
        self.data = data  # functional mode: tasks move the DDR tensors' bytes
        env.process(self.run())

    def full(self) -> bool:
        return len(self.queue) >= self.depth

    def slot_freed(self) -> simpy.Event:
        """An event that fires when the queue next has room."""
        if self.slot is None:
            self.slot = simpy.Event(self.env)
        return self.slot

    def push(self, task: ShimTask) -> None:
        if not self.required:
            self.required = True
            self.watch.unfinished += 1
        self.queue.append(task)
        if self.wake is not None:
            wake, self.wake = self.wake, None
            wake.succeed()

    def run(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            if not self.queue:
                if self.required:
                    self.required = False
                    self.watch.finish()
                self.wake = simpy.Event(env)
                yield self.wake
            task = self.queue.popleft()
            if self.slot is not None:
                slot, self.slot = self.slot, None
                slot.succeed()
            yield from self.serve(task)

    def memory(self, op: DmaTask | BufferTask) -> Bytes:
        """Functional mode: the bytes a task reads or writes (a DDR tensor)."""
        assert self.data is not None and isinstance(op, DmaTask)
        return self.data.tensors[op.tensor]

    def ddr_scale(self, op: DmaTask | BufferTask) -> float:
        """DDR bytes a task costs per byte it moves (whole accesses per contiguous run)."""
        return ddr_access_bytes(self.ddr, op.length_bytes, op.dims) / op.length_bytes

    def serve(self, task: ShimTask) -> Generator[simpy.Event, Any, None]:
        env, stats = self.env, self.stats
        t1 = env.now + self.startup
        op = task.op
        if self.data is not None and self.idx == 0:
            self.route.data.push(gather(self.memory(op), op.offset_bytes, op.length_bytes, op.dims))
        moved = self.route.offer(self.idx, op.length_bytes, self, self.ddr_scale(op), ready=t1)
        assert moved is not None
        yield moved
        if self.data is not None and self.idx:
            scatter(self.memory(op), op.offset_bytes, op.dims, self.route.data.pull(self.idx, op.length_bytes))
        done = env.now + self.latency
        stats.bytes += task.op.length_bytes
        stats.bds += 1
        stats.active += done - t1
        stats.finish = max(stats.finish, done)
        self.rec.interval(t1, done, self.name, "busy")
        if self.latency:
            env.timeout(self.latency).callbacks.append(task.complete)
        else:
            task.complete()

    def describe_wait(self, unit: Unit) -> str:
        return f"get a free task slot on {self.name} (queue depth {self.depth})"
