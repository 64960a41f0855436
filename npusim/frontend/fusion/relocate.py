"""Moving a program to other columns under other names: how a fused group places its members'
designs side by side.

A member's design is built for a one-column array and lands in the group's column ``col``:
every tile moves right by ``col`` columns (the columns are alike, so the program stays valid), and
every name a program declares (buffers, locks, routes, DDR tensors, runtime tasks) gets a prefix,
so that the members' programs can be merged into one.
"""
from __future__ import annotations

from dataclasses import replace

from ...isa import (
    Acquire, BufferDescriptor, BufferTask, Compute, DmaChannelProgram, DmaTask, Endpoint, Instruction, LockOp, Loop,
    Program, Release, Route, RuntimeOp, Tensor, TileProgram, Vector, Wait,
)
from ...isa.instructions import Buffer, LockDecl, Tile


class Renamer:
    """Names and tiles of one member in the group's program."""

    def __init__(self, col: int, prefix: str) -> None:
        self.col, self.prefix = col, prefix

    def __call__(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def tile(self, tile: Tile) -> Tile:
        return tile[0] + self.col, tile[1]

    def end(self, ep: Endpoint) -> Endpoint:
        return Endpoint(self.tile(ep.tile), ep.channel)

    def lock(self, op: LockOp | None) -> LockOp | None:
        return None if op is None else LockOp(self(op.lock), op.value)

    def instruction(self, ins: Instruction) -> Instruction:
        if isinstance(ins, (Acquire, Release)):
            return replace(ins, lock=self(ins.lock))
        if isinstance(ins, Compute):
            return replace(ins, a=self._opt(ins.a), b=self._opt(ins.b), c=self._opt(ins.c))
        if isinstance(ins, Vector):
            return replace(ins, inputs=tuple(self(n) for n in ins.inputs), out=self._opt(ins.out))
        if isinstance(ins, Loop):
            return replace(ins, body=tuple(self.instruction(b) for b in ins.body))
        raise TypeError(f"core code cannot be relocated: {type(ins).__name__}")

    def _opt(self, name: str | None) -> str | None:
        return None if name is None else self(name)

    def bd(self, bd: BufferDescriptor) -> BufferDescriptor:
        return replace(bd, buffer=self(bd.buffer), acquire=self.lock(bd.acquire), release=self.lock(bd.release))

    def tile_program(self, tp: TileProgram) -> TileProgram:
        return TileProgram(self.tile(tp.tile), tuple(Buffer(self(b.name), b.size_bytes, b.offset_bytes) for b in tp.buffers),
                           tuple(LockDecl(self(lk.name), lk.init) for lk in tp.locks),
                           tuple(self.instruction(i) for i in tp.core),
                           tuple(DmaChannelProgram(ch.channel, tuple(self.bd(bd) for bd in ch.bds), ch.start, ch.repeat)
                                 for ch in tp.dma))

    def route(self, rt: Route) -> Route:
        return Route(self(rt.name), self.end(rt.source), tuple(self.end(d) for d in rt.destinations))

    def op(self, op: RuntimeOp) -> RuntimeOp:
        if isinstance(op, DmaTask):
            return replace(op, name=self(op.name), tile=self.tile(op.tile), tensor=self(op.tensor))
        if isinstance(op, BufferTask):
            return replace(op, name=self(op.name), tile=self.tile(op.tile), buffer=self(op.buffer))
        assert isinstance(op, Wait)
        return Wait("wait", tuple(self(n) for n in op.tasks))


def relocate(program: Program, col: int, prefix: str) -> Program:
    """``program`` moved ``col`` columns to the right, every name it declares prefixed."""
    r = Renamer(col, prefix)
    return Program(program.name, tuple(r.tile_program(tp) for tp in program.tiles),
                   tuple(r.route(rt) for rt in program.routes),
                   tuple(Tensor(r(t.name), t.size_bytes) for t in program.tensors),
                   tuple(r.op(op) for op in program.runtime), program.description)
