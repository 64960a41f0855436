"""The recorder: counters the hardware units update, and optional per-event intervals.

Units hold a reference to their own stats object and add to its slots; nothing here touches
SimPy. Intervals (start, end, unit, state) are kept only when a run asks for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

Tile = tuple[int, int]


class CoreStats:
    """A core's cycles and work. ``macs_by_dtype`` and ``vector_elements_by_dtype`` count what its
    kernel calls did per operand type; ``read_bytes`` and ``write_bytes`` what they read from and
    wrote to data memory (operands, accumulators, results)."""

    __slots__ = ("busy", "lock_stall", "dma_stall", "calls", "macs", "finish", "macs_by_dtype",
                 "vector_elements_by_dtype", "read_bytes", "write_bytes")

    def __init__(self) -> None:
        self.busy = self.lock_stall = self.dma_stall = self.calls = self.macs = self.finish = 0
        self.read_bytes = self.write_bytes = 0
        self.macs_by_dtype: dict[str, int] = {}
        self.vector_elements_by_dtype: dict[str, int] = {}


class ChannelStats:
    __slots__ = ("bytes", "bds", "active", "stream_stall", "lock_stall", "finish")

    def __init__(self) -> None:
        self.bytes = self.bds = self.active = self.stream_stall = self.lock_stall = self.finish = 0


class RouteStats:
    __slots__ = ("bytes", "busy", "segments", "switches")

    def __init__(self, switches: tuple[int, ...]) -> None:
        self.bytes = self.busy = self.segments = 0
        self.switches = switches


class DdrStats:
    __slots__ = ("busy", "bytes_accessed", "bytes_read", "bytes_written")

    def __init__(self) -> None:
        self.bytes_read = self.bytes_written = self.bytes_accessed = self.busy = 0


@dataclass
class Recorder:
    """Every counter of a run, by unit; ``intervals`` is None unless recording was asked for."""

    cores: dict[Tile, CoreStats] = field(default_factory=dict)
    channels: dict[tuple[Tile, str], ChannelStats] = field(default_factory=dict)
    routes: dict[str, RouteStats] = field(default_factory=dict)
    ddr: DdrStats = field(default_factory=DdrStats)
    intervals: list[tuple[int, int, str, str]] | None = None
    cycles: int = 0
    events: int = 0
    """Events the SimPy engine scheduled and processed."""
    hardware_events: int = 0
    """What was simulated, counted the same way whatever the engine merges: kernel calls, lock
    acquires and releases, BDs and shim tasks moved, and route segments."""
    wall_seconds: float = 0.0
    """Wall-clock time of the run (verify, build and simulate)."""
    lock_operations: dict[Tile, int] = field(default_factory=dict)
    """Lock acquires plus releases, by the tile the lock lives in."""

    def core(self, tile: Tile) -> CoreStats:
        return self.cores.setdefault(tile, CoreStats())

    def channel(self, tile: Tile, channel: str) -> ChannelStats:
        return self.channels.setdefault((tile, channel), ChannelStats())

    def route(self, name: str, switches: tuple[int, ...]) -> RouteStats:
        return self.routes.setdefault(name, RouteStats(switches))

    def interval(self, start: int, end: int, unit: str, state: str) -> None:
        """Record that ``unit`` was in ``state`` from ``start`` to ``end`` (if recording)."""
        if self.intervals is not None and end > start:
            self.intervals.append((start, end, unit, state))
