"""The command processor: walks the runtime sequence.

``dma`` queues a task on a shim channel, ``buffer_dma`` one on a memory-tile channel (waiting
while the channel's queue is full); ``wait``
blocks until the named tasks have completed. The sequence ends when every task it issued has
completed, as a host waits for its outputs.
"""
from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from ..isa import BufferTask, DmaTask, Endpoint, RuntimeOp
from .shim_tile import ShimChannel, ShimTask
from .unit import ArrayClock, ProgressWatch, Unit


class _TaskWait:
    """What the sequence waits on while a task runs, for deadlock reports."""

    __slots__ = ("name", "channel")

    def __init__(self, name: str, channel: ShimChannel) -> None:
        self.name, self.channel = name, channel

    def describe_wait(self, unit: Unit) -> str:
        inner = f"; the channel waits to {self.channel.describe()}" if self.channel.waiting else ""
        return f"see task '{self.name}' complete on {self.channel.name}{inner}"


class CommandProcessor(Unit):
    __slots__ = ("ops", "channels", "tasks")

    def __init__(self, env: ArrayClock, ops: tuple[RuntimeOp, ...],
                 channels: dict[Endpoint, ShimChannel], watch: ProgressWatch) -> None:
        super().__init__(env, "runtime", watch, required=True)
        self.ops = ops
        self.channels = channels
        self.tasks: dict[str, tuple[ShimTask, ShimChannel]] = {}
        env.process(self.run())

    def run(self) -> Generator[simpy.Event, Any, None]:
        for op in self.ops:
            if isinstance(op, (DmaTask, BufferTask)):
                channel = self.channels[Endpoint(op.tile, op.channel)]
                while channel.full():
                    self.block(channel)
                    yield channel.slot_freed()
                    self.unblock()
                task = ShimTask(op, simpy.Event(self.env))
                self.tasks[op.name] = (task, channel)
                channel.push(task)
            else:
                yield from self.wait(op.tasks)
        yield from self.wait(tuple(self.tasks))
        self.finish()

    def wait(self, names: tuple[str, ...]) -> Generator[simpy.Event, Any, None]:
        for name in names:
            task, channel = self.tasks[name]
            if not task.done.triggered:
                self.block(_TaskWait(name, channel))
                yield task.done
                self.unblock()
