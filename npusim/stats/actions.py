"""The actions a run counted, as the power model prices them (docs/model/power.md).

``ActionCounts`` sums the recorder's counters over the whole array by action class: MACs and
vector elements per data type, bytes read and written in each memory kind, bytes times stream
switches crossed, DDR bytes accessed, lock operations, and the cycles each tile kind was active.
``npusim.power`` multiplies these by ``config.power``; nothing here knows an energy.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..config import NPUConfig
from .recorder import Recorder

Tile = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ActionCounts:
    """Counted actions of a run, whole array. Memory bytes are split by who moved them:
    ``data_memory_*`` the kernels (operands, accumulators, results), ``dma_memory_*`` the compute
    tiles' DMA channels (MM2S reads, S2MM writes), ``mem_tile_*`` the memory tiles' channels."""

    macs: dict[str, int] = field(default_factory=dict)
    """Multiply-accumulates of matmul kernel calls, by operand type."""
    vector_elements: dict[str, int] = field(default_factory=dict)
    """Elements read by vector-unit kernel calls, by operand type."""
    data_memory_read_bytes: int = 0
    data_memory_write_bytes: int = 0
    dma_memory_read_bytes: int = 0
    dma_memory_write_bytes: int = 0
    mem_tile_read_bytes: int = 0
    mem_tile_write_bytes: int = 0
    stream_byte_switches: int = 0
    """Sum over routes of bytes sent x stream switches of the route's tree (a broadcast's shared
    trunk counted once)."""
    ddr_bytes: int = 0
    """DDR bytes accessed (reads and writes, runs rounded up to whole accesses)."""
    lock_operations: int = 0
    active_cycles: dict[str, int] = field(default_factory=dict)
    """By tile kind: the sum over tiles of their active cycles (:func:`active_cycles`)."""
    tiles: dict[str, int] = field(default_factory=dict)
    """Tiles of the array by kind (``compute``, ``mem``, ``shim``), used or not."""


def active_cycles(core_busy: int | None, channel_busy: list[int]) -> int:
    """A tile's active cycles: those of its busiest unit, its core's busy cycles or a DMA
    channel's busy cycles (units overlap in steady state, so the busiest one bounds the time the
    tile's clock must run; a lower bound on their union, and exact for a single unit)."""
    return max([core_busy or 0, *channel_busy])


def array_tiles(config: NPUConfig) -> dict[str, int]:
    """Tiles of the array by kind."""
    return {"compute": config.columns * config.compute_rows, "mem": config.columns * config.mem_tile_rows,
            "shim": config.columns}


def count_actions(rec: Recorder, config: NPUConfig, tree_switches: Mapping[str, int]) -> ActionCounts:
    """Sum ``rec`` into :class:`ActionCounts`; ``tree_switches`` gives each route's switch count."""
    macs: dict[str, int] = {}
    elements: dict[str, int] = {}
    for c in rec.cores.values():
        for t, n in c.macs_by_dtype.items():
            macs[t] = macs.get(t, 0) + n
        for t, n in c.vector_elements_by_dtype.items():
            elements[t] = elements.get(t, 0) + n
    moved = {(kind, d): 0 for kind in ("compute", "mem", "shim") for d in ("mm2s", "s2mm")}
    busy: dict[Tile, list[int]] = {}
    for (tile, name), ch in rec.channels.items():
        moved[config.tile_kind(tile[1]), name[:4]] += ch.bytes
        busy.setdefault(tile, []).append(ch.active - ch.stream_stall)
    active = {"compute": 0, "mem": 0, "shim": 0}
    for tile in set(busy) | set(rec.cores):
        core = rec.cores[tile].busy if tile in rec.cores else None
        active[config.tile_kind(tile[1])] += active_cycles(core, busy.get(tile, []))
    return ActionCounts(
        macs, elements, sum(c.read_bytes for c in rec.cores.values()), sum(c.write_bytes for c in rec.cores.values()),
        moved["compute", "mm2s"], moved["compute", "s2mm"], moved["mem", "mm2s"], moved["mem", "s2mm"],
        sum(r.bytes * tree_switches.get(n, max(r.switches, default=0)) for n, r in rec.routes.items()),
        rec.ddr.bytes_accessed, sum(rec.lock_operations.values()), active, array_tiles(config))
