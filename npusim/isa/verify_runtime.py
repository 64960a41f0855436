"""The check of a program's runtime sequence, a part of :mod:`npusim.isa.verify`: task names, waits,
and each task's tile, channel, route, tensor or buffer and access pattern (shim tasks on DDR
tensors, :class:`~.instructions.BufferTask` on memory-tile buffers)."""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from ..config import NPUConfig
from .errors import ProgramError
from .instructions import BufferTask, DmaTask, Endpoint, Program, Tensor, Tile, Wait, pattern_extent_bytes

Fail = Callable[[str, str], ProgramError]
Pattern = Callable[..., None]
"""The verifier's pattern check: (dims, length, offset, extent, size, what, where, spec)."""


def _t(tile: Tile) -> str:
    return f"({tile[0]},{tile[1]})"


def check_buffer_task(config: NPUConfig, fail: Fail, op: BufferTask, where: str,
                      route_of: Mapping[Endpoint, tuple[str, int]], chained: Collection[Endpoint],
                      buffers: Mapping[str, tuple[Tile, int]], reach: Callable[[Tile, str], list[Tile]],
                      pattern: Pattern) -> None:
    """Check ``op``; ``chained`` are the channels that run a BD chain of the program's, ``buffers``
    every buffer's (tile, size), ``reach`` the tiles a DMA channel reaches."""
    if not config.has_tile(*op.tile) or config.tile_kind(op.tile[1]) != "mem":
        raise fail(where, (f"tile {_t(op.tile)} is not a memory tile (rows 1..{config.mem_tile_rows}); "
                           "buffer tasks run on memory-tile DMA channels"))
    channels = config.mem_tile.dma.channels
    if op.channel not in channels:
        raise fail(where, f"no channel {op.channel} on a memory tile; it has {', '.join(channels)}")
    end = Endpoint(op.tile, op.channel)
    if end in chained:
        raise fail(where, (f"memory tile {_t(op.tile)} channel {op.channel} runs a BD chain of the program; a "
                           "channel is driven by its chain or by runtime tasks, not both: use another channel"))
    if end not in route_of:
        raise fail(where, (f"memory tile channel {end} has no route; add a route with this channel as "
                           f"{'source' if op.channel.startswith('mm2s') else 'destination'}"))
    if op.buffer not in buffers:
        raise fail(where, f"unknown buffer '{op.buffer}'; declare it in a memory tile's 'buffers'")
    home, size = buffers[op.buffer]
    tiles = reach(op.tile, op.channel)
    if home not in tiles:
        raise fail(where, (f"buffer '{op.buffer}' lives on tile {_t(home)}, which this DMA channel cannot reach "
                           f"(reachable: {', '.join(_t(t) for t in tiles)})"))
    extent = pattern_extent_bytes(op.dims) if op.dims else op.length_bytes
    pattern(op.dims, op.length_bytes, op.offset_bytes, extent, size, f"buffer '{op.buffer}'", where, "mem_tile")


def check_runtime(program: Program, config: NPUConfig, fail: Fail, route_of: Mapping[Endpoint, tuple[str, int]],
                  buffers: Mapping[str, tuple[Tile, int]], reach: Callable[[Tile, str], list[Tile]],
                  pattern: Pattern) -> None:
    """Check ``program``'s tensors and runtime sequence (arguments as :func:`check_buffer_task`'s)."""
    tensors: dict[str, Tensor] = {}
    for t in program.tensors:
        if t.name in tensors:
            raise fail("tensors", f"tensor '{t.name}' is declared twice; give each tensor its own name")
        tensors[t.name] = t
    issued: set[str] = set()
    chained = {Endpoint(tp.tile, ch.channel) for tp in program.tiles for ch in tp.dma}
    for i, op in enumerate(program.runtime):
        where = f"runtime[{i}]"
        if isinstance(op, Wait):
            for name in op.tasks:
                if name not in issued:
                    raise fail(where, (f"waits for task '{name}', which no earlier 'dma' op issued; fix the "
                                       "name or issue the task before the wait"))
            continue
        where = f"runtime[{i}] (task '{op.name}')"
        if op.name in issued:
            raise fail(where, "task name used twice; give each runtime task its own name")
        issued.add(op.name)
        if isinstance(op, BufferTask):
            check_buffer_task(config, fail, op, where, route_of, chained, buffers, reach, pattern)
        else:
            _check_dma_task(config, fail, op, where, route_of, tensors, pattern)


def _check_dma_task(config: NPUConfig, fail: Fail, op: DmaTask, where: str,
                    route_of: Mapping[Endpoint, tuple[str, int]], tensors: Mapping[str, Tensor],
                    pattern: Pattern) -> None:
    if not config.has_tile(*op.tile) or config.tile_kind(op.tile[1]) != "shim":
        raise fail(where, (f"tile {_t(op.tile)} is not a shim tile (row 0, column < {config.columns}); "
                           "runtime tasks run on shim DMA channels"))
    channels = config.shim_tile.dma.channels
    if op.channel not in channels:
        raise fail(where, f"no channel {op.channel} on a shim tile; it has {', '.join(channels)}")
    if Endpoint(op.tile, op.channel) not in route_of:
        raise fail(where, (f"shim channel ({op.tile[0]},{op.tile[1]}).{op.channel} has no route; add a route "
                           f"with this channel as {'source' if op.channel.startswith('mm2s') else 'destination'}"))
    if op.tensor not in tensors:
        raise fail(where, f"unknown tensor '{op.tensor}'; declare it in 'tensors'")
    extent = pattern_extent_bytes(op.dims) if op.dims else op.length_bytes
    pattern(op.dims, op.length_bytes, op.offset_bytes, extent, tensors[op.tensor].size_bytes,
            f"tensor '{op.tensor}'", where, "shim_tile")
