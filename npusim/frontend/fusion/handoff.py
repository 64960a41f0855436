"""An on-chip edge of a fused group: the producer's output stays in its memory tile, and the
consumer reads it from there instead of from DDR.

Producer side (:func:`keep_output`): the memory tile no longer joins its compute rows' output
tiles for the shim. Each row's stream lands, through the runtime's buffer tasks on that row's
S2MM channel, straight in a buffer ``T`` laid out as the consumer reads it (its padded image, its
matrix); the words the producer's design pads with (pixels past a row or the image) go to a
scratch buffer, or, where every output tile is one row of pixels, are not sent at all (each
core's drain BD sends only the row's real pixels). The join channel and its route go.

Consumer side (:func:`read_on_chip`): its input channel is fed by a free MM2S channel of the
producer's memory tile (a *reader*), over a route through the switches (the shim row's east/west
ports: memory tiles have none), with the very transfers its design made from DDR, now buffer
tasks over ``T``. A producer whose output also leaves the group sends a copy of ``T``'s image to
DDR through its own shim (:func:`copy_to_ddr`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ...config import NPUConfig
from ...isa import (
    WORD_BYTES as W, Buffer, BufferTask, Dim, DmaTask, Endpoint, Program, Route, RuntimeOp, TileProgram,
    pattern_bytes,
)
from ..layers.matmul import Conv2d
from ..layers.vector import Pool
from ..mapper.design import TilePlan
from .dataflow import Shape
from .layout import Layout, Plan, out_bytes, place_words
from .patterns import compress


Move = Callable[[BufferTask, np.ndarray], list[BufferTask]]
"""A read of an on-chip tensor (and its words in stream order) as the transfers that make it."""


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a group as placed: its plan, its relocated program, its column and name prefix."""

    plan: Plan
    program: Program
    col: int
    prefix: str

    @property
    def mem(self) -> tuple[int, int]:
        return self.col, 1

    @property
    def shim(self) -> tuple[int, int]:
        return self.col, 0


def _tile(program: Program, tile: tuple[int, int]) -> TileProgram:
    return next(tp for tp in program.tiles if tp.tile == tile)


def _with_tile(program: Program, new: TileProgram) -> Program:
    return replace(program, tiles=tuple(new if tp.tile == new.tile else tp for tp in program.tiles))


def crops(plan: Plan) -> bool:
    """Whether each output tile is one row of pixels with padding after it: then each core's drain
    sends the row's real pixels only."""
    layer = plan.layer
    return isinstance(plan, TilePlan) and isinstance(layer, Conv2d) and plan.conv_qt == 1 and plan.m > layer.out_w


def _row_of(plan: Plan, task: int, words: np.ndarray) -> np.ndarray:
    """The compute row (of the one column) that sent each word of the ``task``-th C task."""
    eb = out_bytes(plan)
    elems = words * (W // eb)
    if isinstance(plan, TilePlan):
        return (elems // plan.Np // plan.m) % plan.rows
    if isinstance(plan.layer, Pool):
        order = [(s * plan.columns) * plan.rows + r for s in range(plan.rounds) for r in range(plan.rows)]
        return np.full(len(words), order[task] % plan.rows)
    return (elems * eb // plan.out_bytes) % plan.rows


def _stream_words(op: DmaTask | BufferTask) -> np.ndarray:
    """Word indices of a task's access pattern in stream order."""
    if not op.dims:
        return np.arange(op.offset_bytes // W, (op.offset_bytes + op.length_bytes) // W)
    idx = np.full((), op.offset_bytes // W, dtype=np.int64)
    for d in reversed(op.dims):
        idx = idx[..., None] + np.arange(d.size, dtype=np.int64) * d.stride
    return idx.reshape(-1)


def keep_output(config: NPUConfig, m: Member, shape: Shape, into: Layout, name: str) -> tuple[Program, list[str]]:
    """``m``'s program with its output kept in buffer ``name`` (layout ``into``) in its memory tile;
    also the names of the buffer tasks that write it."""
    p, plan = m.program, m.plan
    rows = {rt.source.tile[1] - 2: rt.destinations[0] for rt in p.routes
            if rt.source.channel == "mm2s0" and rt.source.tile[1] >= 2 and rt.destinations[0].tile == m.mem}
    join = next(rt for rt in p.routes if rt.destinations[0] == Endpoint(m.shim, "s2mm0"))
    dropped = {ep.channel for ep in rows.values()} | {join.source.channel}
    mem = _tile(p, m.mem)
    kept = tuple(ch for ch in mem.dma if ch.channel not in dropped)
    used_b = {bd.buffer for ch in kept for bd in ch.bds}
    used_l = {op.lock for ch in kept for bd in ch.bds for op in (bd.acquire, bd.release) if op is not None}
    crop = crops(plan)
    writes: list[str] = []
    scratch = 0
    c_tasks = [op for op in p.runtime if isinstance(op, DmaTask) and op.channel == "s2mm0" and op.tile == m.shim]
    eb = out_bytes(plan)
    runtime: list[RuntimeOp] = []
    for op in p.runtime:
        if op not in c_tasks:
            runtime.append(op)
            continue
        k = c_tasks.index(op)
        words = _stream_words(op)
        sender = _row_of(plan, k, words)
        where = place_words(plan, words, shape, into)
        if crop:
            assert isinstance(plan, TilePlan) and isinstance(plan.layer, Conv2d)
            x = (words * (W // eb) // plan.Np) % plan.m
            keep = x < plan.layer.out_w
            words, sender, where = words[keep], sender[keep], where[keep]
        for r, dst in sorted(rows.items()):
            for j, piece in enumerate(compress(where[sender == r], config.mem_tile.dma.address_dims,
                                               config.mem_tile.dma.max_iterations)):
                task = f"{op.name}_r{r}_{j}"
                runtime.append(BufferTask("buffer_dma", task, m.mem, dst.channel, f"{name}_scratch" if piece.scratch
                                          else name, piece.length_bytes, piece.offset_bytes, piece.dims))
                writes.append(task)
                scratch = max(scratch, piece.length_bytes if piece.scratch else 0)
    buffers = tuple(b for b in mem.buffers if b.name in used_b) + (Buffer(name, into.size_bytes),)
    buffers += (Buffer(f"{name}_scratch", scratch),) if scratch else ()
    locks = tuple(lk for lk in mem.locks if lk.name in used_l)
    out = _with_tile(p, TileProgram(mem.tile, buffers, locks, mem.core, kept))
    out = replace(out, routes=tuple(rt for rt in p.routes if rt.name != join.name), runtime=tuple(runtime),
                  tensors=tuple(t for t in p.tensors if t.name != f"{m.prefix}C"))
    return (_cropped(out, plan, m) if crop else out), writes


def _cropped(p: Program, plan: Plan, m: Member) -> Program:
    """Each compute tile's drain sends only the real pixels of its output tile (the first rows)."""
    assert isinstance(plan, TilePlan) and isinstance(plan.layer, Conv2d)
    length = plan.layer.out_w * plan.n * out_bytes(plan)
    tiles = []
    for tp in p.tiles:
        if tp.tile[0] == m.col and tp.tile[1] >= 2:
            dma = tuple(replace(ch, bds=tuple(replace(bd, length_bytes=length) for bd in ch.bds))
                        if ch.channel == "mm2s0" else ch for ch in tp.dma)
            tp = replace(tp, dma=dma)
        tiles.append(tp)
    return replace(p, tiles=tuple(tiles))


def free_mm2s(config: NPUConfig, p: Program, mem: tuple[int, int], taken: set[str]) -> str | None:
    """An MM2S channel of memory tile ``mem`` that no chain, route or reader uses."""
    used = {ch.channel for ch in _tile(p, mem).dma} | {rt.source.channel for rt in p.routes if rt.source.tile == mem}
    for ch in config.mem_tile.dma.channels:
        if ch.startswith("mm2s") and ch not in used | taken:
            return ch
    return None


def read_on_chip(consumer: Program, c: Member, operand: int, producer: Member, reader: str,
                 name: str, move: Move | None = None) -> tuple[Program, Route, list[BufferTask]]:
    """The consumer's program without its DDR input ``operand`` (its shim tasks and route), the
    route from the producer's reader to its input channel, and its reads as buffer tasks (in the
    consumer's task order, to be issued where its shim tasks were): each the DDR task's pattern
    over ``T``, or, when the consumer reads another layout than ``T``'s, what ``move`` makes of it
    and its words in stream order (:mod:`.remap`)."""
    shim_ch, mem_ch = f"mm2s{operand}", f"s2mm{operand}"
    tensor = f"{c.prefix}{'A' if operand == 0 else 'B'}"
    route = next(rt for rt in consumer.routes if rt.source == Endpoint(c.shim, shim_ch))
    reads: list[BufferTask] = []
    runtime: list[RuntimeOp] = []
    for op in consumer.runtime:
        if isinstance(op, DmaTask) and op.tensor == tensor:
            task = BufferTask("buffer_dma", op.name, producer.mem, reader, name, op.length_bytes, op.offset_bytes,
                              op.dims)
            tasks = [task] if move is None else move(task, _stream_words(op))
            reads += tasks
            runtime += tasks
        else:
            runtime.append(op)
    new = Route(f"{route.name}_on_chip", Endpoint(producer.mem, reader), (Endpoint(c.mem, mem_ch),))
    out = replace(consumer, routes=tuple(rt for rt in consumer.routes if rt.name != route.name),
                  runtime=tuple(runtime), tensors=tuple(t for t in consumer.tensors if t.name != tensor))
    return out, new, reads


def copy_to_ddr(m: Member, into: Layout, name: str, reader: str) -> tuple[Route, list[RuntimeOp], int]:
    """A copy of ``T``'s image (``batch x rows x cols`` pixels of ``cp`` elements, dense) to the DDR
    tensor ``{prefix}out`` through the producer's shim, once every write has landed: the route,
    the runtime ops, the tensor's size."""
    run = into.cols * into.cp * into.eb // W
    dims = (Dim(run, 1), Dim(into.rows, into.wp * into.cp * into.eb // W),
            Dim(into.batch, into.hp * into.wp * into.cp * into.eb // W))
    start = int(into.offset(np.array(0), np.array(0), np.array(0), np.array(0))) * into.eb
    length = pattern_bytes(dims)
    route = Route(f"{m.prefix}copy", Endpoint(m.mem, reader), (Endpoint(m.shim, "s2mm0"),))
    ops: list[RuntimeOp] = [BufferTask("buffer_dma", f"{m.prefix}copy_read", m.mem, reader, name, length, start, dims),
                            DmaTask("dma", f"{m.prefix}copy_write", m.shim, "s2mm0", f"{m.prefix}out", length)]
    return route, ops, length


def with_zeros(p: Program, mem: tuple[int, int], name: str, size: int) -> Program:
    """``p`` with a buffer of ``size`` zero bytes in memory tile ``mem`` (none if ``size`` is 0;
    memories start cleared, and nothing writes it)."""
    if not size:
        return p
    tile = _tile(p, mem)
    return _with_tile(p, replace(tile, buffers=tile.buffers + (Buffer(name, size),)))


def tensors_used(p: Program) -> Program:
    """``p`` with only the DDR tensors its runtime tasks name."""
    names = {op.tensor for op in p.runtime if isinstance(op, DmaTask)}
    return replace(p, tensors=tuple(t for t in p.tensors if t.name in names))
