"""The program an imported design becomes, built up piece by piece, with its name map.

Generated names follow mlir-aie's objectfifo-stateful-transform (``of_buff_0``, ``of_cons_buff_1``,
``of_prod_lock_0``, ``of_cons_cons_lock_0``) so that they read as the design's own after
``aie-opt --aie-objectFifo-stateful-transform``; physical-level buffers and locks keep their
``sym_name`` (or SSA name). The :class:`NameMap` says what each generated name is in the design's
terms (which ObjectFIFO, which side, which tile), for deadlock reports and Perfetto tracks.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..isa.trace_io import needs_version_2
from ..isa import Buffer, DmaChannelProgram, Endpoint, Instruction, LockDecl, Program, Route, RuntimeOp, Tensor, TileProgram

TileXY = tuple[int, int]


@dataclass
class NameMap:
    """What generated names mean in the design: buffers and locks (``meaning``), tiles (their SSA
    name, e.g. ``%tile_0_2``) and DMA channels (the ObjectFIFO or flow they serve)."""

    meaning: dict[str, str] = field(default_factory=dict)
    tiles: dict[TileXY, str] = field(default_factory=dict)
    channels: dict[tuple[TileXY, str], str] = field(default_factory=dict)

    def explain(self, name: str) -> str | None:
        return self.meaning.get(name)


@dataclass
class _Tile:
    buffers: list[Buffer] = field(default_factory=list)
    locks: list[LockDecl] = field(default_factory=list)
    core: list[Instruction] = field(default_factory=list)
    dma: dict[str, DmaChannelProgram] = field(default_factory=dict)


class Builder:
    """Collects the parts of the program; ``names`` records what each part is in the design."""

    def __init__(self) -> None:
        self.tiles: dict[TileXY, _Tile] = {}
        self.routes: list[Route] = []
        self.tensors: list[Tensor] = []
        self.runtime: list[RuntimeOp] = []
        self.names = NameMap()
        self.used: dict[tuple[TileXY, str], set[int]] = {}

    def tile(self, xy: TileXY) -> _Tile:
        return self.tiles.setdefault(xy, _Tile())

    def buffer(self, xy: TileXY, name: str, size: int, meaning: str, offset: int | None = None) -> None:
        self.tile(xy).buffers.append(Buffer(name, max(4, -(-size // 4) * 4), offset))
        self.names.meaning[name] = meaning

    def lock(self, xy: TileXY, name: str, init: int, meaning: str) -> None:
        self.tile(xy).locks.append(LockDecl(name, init))
        self.names.meaning[name] = meaning

    def reserve(self, xy: TileXY, channel: str) -> None:
        direction, index = channel[:4], int(channel[4:])
        self.used.setdefault((xy, direction), set()).add(index)

    def channel(self, xy: TileXY, direction: str, limit: int) -> str | None:
        """The first free channel of ``direction`` ("mm2s" or "s2mm") on a tile (None if all
        ``limit`` are taken), as mlir-aie's DMA channel analysis allocates them."""
        used = self.used.setdefault((xy, direction), set())
        for i in range(limit):
            if i not in used:
                used.add(i)
                return f"{direction}{i}"
        return None

    def dma(self, xy: TileXY, program: DmaChannelProgram, serves: str) -> None:
        self.tile(xy).dma[program.channel] = program
        self.names.channels[(xy, program.channel)] = serves

    def route(self, name: str, source: Endpoint, destinations: list[Endpoint], serves: str) -> None:
        self.routes.append(Route(name, source, tuple(destinations)))
        for ep in [source, *destinations]:
            self.names.channels.setdefault((ep.tile, ep.channel), serves)

    def program(self, name: str, description: str) -> Program:
        tiles = tuple(TileProgram(xy, tuple(t.buffers), tuple(t.locks), tuple(t.core), tuple(t.dma.values()))
                      for xy, t in sorted(self.tiles.items()))
        program = Program(name=name, tiles=tiles, routes=tuple(self.routes), tensors=tuple(self.tensors),
                          runtime=tuple(self.runtime), description=description)
        return replace(program, version=2) if needs_version_2(program) else program
