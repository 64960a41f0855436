"""The program of a matmul design (see :mod:`..mapper.design`).

Per used column ``j``: the shim's MM2S0 brings the A blocks of the column's row group into the
memory tile (feeder columns only), MM2S1 the column's B blocks, and S2MM0 takes the joined C
blocks to DDR. The memory tile sends each row its A tiles (broadcast along the row), B tiles down
the column (broadcast), and joins every core's C block. A block is one reduction step (a kernel
row of a convolution), or, when resident, a whole row block of A (all of ``K`` for ``rows/columns``
rows) or column block of B, read again for every super-tile that uses it. Every buffer is
double-buffered with a full/empty lock pair, as ObjectFIFOs of depth 2 are (C in the compute tile
has ``c_buffers`` buffers).

A core runs, for each output tile: acquire an empty C, then for each of the ``kt`` reduction
steps acquire the next A and B, call the kernel (zeroing C on the first step, emitting the output
type on the last), release A and B; then release C. Loops stay loops: the core program and the BD
chains have a fixed size whatever the layer's size; only the runtime sequence grows.

The runtime sequence is issued in *waves*, one per group of super-tiles (at most
``shim_tile.dma.max_iterations``, the iteration dimension of one task): a wave queues every shim
task the group needs, at most one per shim channel, before the next wave's. A task then completes
using only tasks already queued, so the runtime never blocks on a full task queue in a way that
starves the array: the program cannot deadlock on its runtime sequence, whatever the geometry.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from ...isa import (
    WORD_BYTES as W,
    Acquire, Buffer, BufferDescriptor, Compute, Dim, DmaChannelProgram, DmaTask, Endpoint, Instruction,
    LockDecl, LockOp, Program, Release, Route, Tensor, TileProgram, Wait, pattern_bytes, pattern_extent_bytes,
)
from ..mapper.design import TilePlan
from .common import core_program, loop_chain, ping_pong, repeated_reads

Task = tuple[int, tuple[Dim, ...]]
"""A shim transfer: (offset_bytes, dims) in its DDR tensor."""
ATransfer = Callable[[TilePlan, int, int, int, int], list[Task]]
"""(plan, super-tile row, super-tile column, count, feeder column) -> the A tasks that bring
``count`` super-tiles' worth of A (the next super-tile rows in ``nm`` order, the same row again
in ``mn`` order; a resident block once) for the feeder's rows, in stream order."""


def _name(col: int, row: int) -> str:
    return f"t{col}_{row}"


def gemm_a_transfer(p: TilePlan, mb: int, nb: int, count: int, col: int) -> list[Task]:
    """A of a dense GEMM (row-major ``Mp x Kp``): the feeder's ``m``-row slices, for every
    reduction step (``k`` elements at a time) or, resident, whole rows."""
    tiles, row, step = p.a_tiles(col), p.a_run(p.Kp), p.a_run(p.k)  # bytes of a row of A, of a step's part
    first = p.a_first_tile(mb, col) * p.m
    if p.design.reuse == "a":
        return [(first * row, ())]
    dims = (Dim(step // W, 1), Dim(tiles * p.m, row // W), Dim(p.kt, step // W))
    again = Dim(count, 0) if p.design.order == "mn" else Dim(count, p.design.tile_rows * p.m * row // W)
    return [(first * row, dims + ((again,) if count > 1 else ()))]


def _b_task(p: TilePlan, nt: int, count: int) -> Task:
    """B of the column's ``slices`` columns of tiles from ``nt`` on (``count`` such groups,
    ``columns`` groups apart), in the design's layout: ``tiled`` (one contiguous run per column of
    tiles), ``col`` (``B^T``, ``Np x Kp``) or ``row`` (``Kp x Np``); resident B comes whole, once."""
    n, k, kt, d = p.n, p.k, p.kt, p.design
    resident, wide = d.reuse == "b", d.slices * n
    if d.b_layout == "tiled":
        column = kt * p.b_bytes
        again = (Dim(count, p.columns * d.slices * column // W),) if count > 1 else ()
        if d.slices > 1 and not resident:  # step by step, each step's tile of every slice
            return nt * column, (Dim(p.b_bytes // W, 1), Dim(d.slices, column // W), Dim(kt, p.b_bytes // W)) + again
        return nt * column, ((Dim(d.slices * column // W, 1),) + again) if again else ()
    ib = p.jb
    if d.b_layout == "col":
        dims = () if resident else (Dim(k * ib // W, 1), Dim(wide, p.Kp * ib // W), Dim(kt, k * ib // W))
        again = (Dim(count, p.columns * wide * p.Kp * ib // W),) if count > 1 else ()
        return nt * n * p.Kp * ib, (dims + again) if dims else ()
    rows = (Dim(p.Kp, p.Np * ib // W),) if resident else (Dim(k, p.Np * ib // W), Dim(kt, k * p.Np * ib // W))
    again = (Dim(count, p.columns * wide * ib // W),) if count > 1 else ()
    return nt * n * ib, (Dim(wide * ib // W, 1),) + rows + again


def _length(p: TilePlan, dims: tuple[Dim, ...], whole: int) -> int:
    return pattern_bytes(dims) if dims else whole


def _compute_tile(p: TilePlan, col: int, row: int) -> TileProgram:
    t, d = _name(col, row), p.design
    a, b, c = p.a_tile_bytes, p.b_bytes, p.m * p.n * p.cb
    buffers = tuple(Buffer(f"{t}_{x}{i}", size) for x, size in (("a", a), ("b", b)) for i in (0, 1))
    buffers += tuple(Buffer(f"{t}_c{i}", c) for i in range(d.c_buffers))
    locks = tuple(LockDecl(f"{t}_{x}_{s}", (2 if x != "c" else d.c_buffers) if s == "empty" else 0)
                  for x in "abc" for s in ("empty", "full"))
    drain = [BufferDescriptor(f"{t}_c{i}", p.m * p.n * p.ob, acquire=LockOp(f"{t}_c_full"),
                              release=LockOp(f"{t}_c_empty")) for i in range(d.c_buffers)]
    dma = (
        DmaChannelProgram("s2mm0", loop_chain(ping_pong(f"{t}_a", a, f"{t}_a_full", f"{t}_a_empty"))),
        DmaChannelProgram("s2mm1", loop_chain(ping_pong(f"{t}_b", b, f"{t}_b_full", f"{t}_b_empty"))),
        DmaChannelProgram("mm2s0", loop_chain(drain)),  # the core releases c_full once C holds the output
    )
    return TileProgram((col, row + 2), buffers, locks, _core(p, t), dma)


def _core(p: TilePlan, t: str) -> tuple[Instruction, ...]:
    layer = p.layer

    def step(par: int, c: str, first: bool, last: bool) -> list[Instruction]:
        return [Acquire("acquire", f"{t}_a_full"), Acquire("acquire", f"{t}_b_full"),
                Compute("compute", p.m, p.k, p.n, layer.dtype, f"{t}_a{par}", f"{t}_b{par}", c,
                        zero=first, emit=p.out if last else None, shift=layer.shift if last or p.c_type else 0,
                        bias=layer.bias and last, relu=layer.relu and last, c_type=p.c_type,
                        b_transposed=p.design.b_layout == "col", b_dtype=layer.b_dtype, kernel=layer.kernel,
                        group_size=layer.group_size),
                Release("release", f"{t}_a_empty"), Release("release", f"{t}_b_empty")]

    return core_program(p.mb * p.nb, p.kt, step, t, p.design.c_buffers)


def _a_reads(p: TilePlan, sub: int) -> tuple[Dim, ...]:
    """How a row's MM2S reads its part of an A block (``sub`` bytes, ``m`` rows of ``span``
    elements: all of ``K``, or one kernel row of a convolution, then the next kernel row's):
    ``m x k`` tiles, one per reduction step, in step order."""
    m, k = p.m, p.k
    if p.a_block_steps == 1:
        return ()
    span = p.conv_lp or p.Kp
    step, row = p.a_run(k), p.a_run(span)
    dims: tuple[Dim, ...] = (Dim(step // W, 1), Dim(m, row // W), Dim(span // k, step // W))
    if row * m < sub:  # a resident convolution block: one such part per kernel row
        dims += (Dim(sub // (row * m), m * row // W),)
    return dims


def _a_streams(p: TilePlan, col: int) -> list[tuple[str, tuple[Endpoint, ...]]]:
    """The A streams a feeder's memory tile sends: (route name, destinations). Rows split M: one
    per fed row, broadcast along it; rows split N: one, broadcast to every core."""
    if p.design.split == "n":
        return [("a_all", tuple(Endpoint((j, r + 2), "s2mm0") for j in range(p.columns) for r in range(p.rows)))]
    return [(f"a_row{r}", tuple(Endpoint((j, r + 2), "s2mm0") for j in range(p.columns))) for r in p.group_rows(col)]


def _mem_a(p: TilePlan, col: int) -> tuple[list[Buffer], list[LockDecl], list[DmaChannelProgram], list[Route]]:
    t, streams = f"m{col}", _a_streams(p, col)
    rows = p.group_rows(col) if p.design.split == "m" else range(1)
    sub = p.m * p.a_run(p.a_block_steps * p.k)
    buffers = [Buffer(f"{t}_a{x}", len(rows) * sub) for x in (0, 1)]
    locks = [LockDecl(f"{t}_a{r}_{s}", 2 if s == "empty" else 0) for r in rows for s in ("empty", "full")]
    fill = [BufferDescriptor(f"{t}_a{x}", sub, s * sub, acquire=LockOp(f"{t}_a{r}_empty"),
                             release=LockOp(f"{t}_a{r}_full")) for x in (0, 1) for s, r in enumerate(rows)]
    chans = [DmaChannelProgram("s2mm0", loop_chain(fill))]
    routes = [Route(f"a_in{col}", Endpoint((col, 0), "mm2s0"), (Endpoint((col, 1), "s2mm0"),))]
    reads = p.nb if p.design.reuse == "a" else 1
    for s, (r, (name, dests)) in enumerate(zip(rows, streams)):
        bds = [bd for x in (0, 1) for bd in repeated_reads(f"{t}_a{x}", sub, s * sub, _a_reads(p, sub), reads,
                                                            p.mem_iterations, f"{t}_a{r}_full", f"{t}_a{r}_empty")]
        chans.append(DmaChannelProgram(f"mm2s{s}", loop_chain(bds)))
        routes.append(Route(name, Endpoint((col, 1), f"mm2s{s}"), dests))
    return buffers, locks, chans, routes


def _b_reads(p: TilePlan, block: int) -> tuple[tuple[int, tuple[Dim, ...]], ...]:
    """How the memory tile reads each slice of a B block (``block`` bytes per slice, ``slices``
    slices): (offset, pattern) giving ``k x n`` (``n x k`` for ``col``) tiles in step order."""
    d, n, k = p.design, p.n, p.k
    wide, steps = d.slices * n, p.b_block_steps
    out: list[tuple[int, tuple[Dim, ...]]] = []
    dims: tuple[Dim, ...]
    for s in range(d.slices):
        if d.b_layout == "tiled":
            out.append((s * block, ()))
            continue
        ib = p.jb
        if d.b_layout == "col":  # the block holds wide columns of steps * k elements
            dims = (Dim(k * ib // W, 1), Dim(n, steps * k * ib // W), Dim(steps, k * ib // W))
            out.append((s * n * steps * k * ib, dims if steps > 1 else ()))
        else:  # the block holds steps * k rows of wide elements
            dims = (Dim(n * ib // W, 1), Dim(steps * k, wide * ib // W))
            out.append((s * n * ib, dims if d.slices > 1 else ()))
    return tuple(out)


def _mem_b(p: TilePlan, col: int, mm2s: int) -> tuple[list[Buffer], list[LockDecl], list[DmaChannelProgram], list[Route]]:
    """The memory tile's B: blocks of every slice in, each slice's tiles out. One slice (rows split
    M) is a ping-pong pair broadcast down the column. Several (rows split N) fill each block whole
    and hand it to the rows' readers with a lock per block: the fill takes ``slices`` from its
    empty lock and gives them to its full lock, each reader takes one and gives it back."""
    t, d = f"m{col}", p.design
    block = p.b_block_steps * p.b_bytes
    buffers = [Buffer(f"{t}_b{x}", d.slices * block) for x in (0, 1)]
    routes = [Route(f"b_in{col}", Endpoint((col, 0), "mm2s1"), (Endpoint((col, 1), "s2mm1"),))]
    reads = p.mb if d.reuse == "b" else 1
    if d.split == "m":
        locks = [LockDecl(f"{t}_b_empty", 2), LockDecl(f"{t}_b_full", 0)]
        fill = ping_pong(f"{t}_b", block, f"{t}_b_full", f"{t}_b_empty")
        readers = [("", [(x, f"{t}_b_full", f"{t}_b_empty") for x in (0, 1)],
                    tuple(Endpoint((col, i + 2), "s2mm1") for i in range(p.rows)))]
    else:
        n = d.slices
        locks = [LockDecl(f"{t}_b{x}_{s}", n if s == "empty" else 0) for x in (0, 1) for s in ("empty", "full")]
        fill = [BufferDescriptor(f"{t}_b{x}", n * block, acquire=LockOp(f"{t}_b{x}_empty", n),
                                 release=LockOp(f"{t}_b{x}_full", n)) for x in (0, 1)]
        readers = [(f"_{r}", [(x, f"{t}_b{x}_full", f"{t}_b{x}_empty") for x in (0, 1)],
                    (Endpoint((col, r + 2), "s2mm1"),)) for r in range(p.rows)]
    chans = [DmaChannelProgram("s2mm1", loop_chain(fill))]
    for s, ((suffix, locks_of, dests), (off, dims)) in enumerate(zip(readers, _b_reads(p, block))):
        bds = [bd for x, full, empty in locks_of for bd in repeated_reads(f"{t}_b{x}", block, off, dims, reads,
                                                                           p.mem_iterations, full, empty)]
        chans.append(DmaChannelProgram(f"mm2s{mm2s + s}", loop_chain(bds)))
        routes.append(Route(f"b_col{col}{suffix}", Endpoint((col, 1), f"mm2s{mm2s + s}"), dests))
    return buffers, locks, chans, routes


def _mem_tile(p: TilePlan, col: int) -> tuple[TileProgram, list[Route]]:
    t = f"m{col}"
    buffers: list[Buffer] = []
    locks: list[LockDecl] = []
    chans: list[DmaChannelProgram] = []
    routes: list[Route] = []
    if col < p.feeders:
        buffers, locks, chans, routes = _mem_a(p, col)
    mm2s = len(chans) - 1 if chans else 0
    b = _mem_b(p, col, mm2s)
    buffers, locks, chans, routes = buffers + b[0], locks + b[1], chans + b[2], routes + b[3]
    mm2s += p.design.slices
    c_slice = p.m * p.n * p.ob
    for i in range(p.rows):
        buffers += [Buffer(f"{t}_c{i}_{x}", c_slice) for x in (0, 1)]
        locks += [LockDecl(f"{t}_c{i}_empty", 2), LockDecl(f"{t}_c{i}_full", 0)]
        chans.append(DmaChannelProgram(f"s2mm{2 + i}", loop_chain(
            ping_pong(f"{t}_c{i}_", c_slice, f"{t}_c{i}_full", f"{t}_c{i}_empty"))))
        routes.append(Route(f"c_out{col}_{i}", Endpoint((col, i + 2), "mm2s0"), (Endpoint((col, 1), f"s2mm{2 + i}"),)))
    c_out = [BufferDescriptor(f"{t}_c{i}_{x}", c_slice, acquire=LockOp(f"{t}_c{i}_full"),
                              release=LockOp(f"{t}_c{i}_empty")) for x in (0, 1) for i in range(p.rows)]
    chans.append(DmaChannelProgram(f"mm2s{mm2s}", loop_chain(c_out)))
    routes.append(Route(f"c_ddr{col}", Endpoint((col, 1), f"mm2s{mm2s}"), (Endpoint((col, 0), "s2mm0"),)))
    return TileProgram((col, 1), tuple(buffers), tuple(locks), (), tuple(chans)), routes


def waves(p: TilePlan, a_chunk: int, a_repeats: bool = True) -> Iterator[tuple[int, int, int, bool]]:
    """The runtime's waves: (super-tile row, super-tile column, count, first of its outer
    iteration). In ``mn`` order a wave covers ``count`` super-tile columns of one row (one, when
    an A task cannot repeat), in ``nm`` order ``count`` super-tile rows of one column (at most
    ``a_chunk`` when A comes in one task per super-tile row)."""
    if p.design.order == "mn":
        step = p.iterations if a_repeats or p.design.reuse == "a" else 1
        for mb in range(p.mb):
            for nb0 in range(0, p.nb, step):
                yield mb, nb0, min(step, p.nb - nb0), nb0 == 0
    else:
        step = min(p.iterations, a_chunk)
        for nb in range(p.nb):
            for mb0 in range(0, p.mb, step):
                yield mb0, nb, min(step, p.mb - mb0), mb0 == 0


def _c_task(p: TilePlan, mb: int, nb: int, count: int, col: int) -> Task:
    """C of a column's cores for ``count`` super-tiles: ``rows`` blocks of ``m x n`` one under
    another (rows split M) or side by side (rows split N)."""
    ob, d = p.ob, p.design
    wide = p.columns * d.slices * p.n * ob // W
    again = Dim(count, wide) if d.order == "mn" else Dim(count, d.tile_rows * p.m * p.Np * ob // W)
    dims: tuple[Dim, ...]
    if d.split == "m":
        dims = (Dim(p.n * ob // W, 1), Dim(p.rows * p.m, p.Np * ob // W))
    else:
        dims = (Dim(p.n * ob // W, 1), Dim(p.m, p.Np * ob // W), Dim(p.rows, p.n * ob // W))
    nt = (nb * p.columns + col) * d.slices
    return (mb * d.tile_rows * p.m * p.Np + nt * p.n) * ob, dims + ((again,) if count > 1 else ())


def _runtime(p: TilePlan, a_transfer: ATransfer, a_chunk: int, a_repeats: bool) -> list[DmaTask | Wait]:
    ops: list[DmaTask | Wait] = []
    outputs = []
    b_whole = p.design.slices * (p.kt * p.b_bytes if p.design.b_layout == "tiled" else p.n * p.Kp * p.jb)
    for mb, nb, count, first in waves(p, a_chunk, a_repeats):
        for col in range(p.columns):
            tag = f"{mb}_{nb}_{col}"
            if col < p.feeders and (first or p.design.reuse != "a"):
                for s, (off, dims) in enumerate(a_transfer(p, mb, nb, count, col)):
                    size = _length(p, dims, p.a_tiles(col) * p.m * p.a_run(p.Kp))
                    ops.append(DmaTask("dma", f"a{tag}_{s}", (col, 0), "mm2s0", "A", size, off, dims))
            if first or p.design.reuse != "b":
                off, dims = _b_task(p, (nb * p.columns + col) * p.design.slices, count if p.design.reuse != "b" else 1)
                ops.append(DmaTask("dma", f"b{tag}", (col, 0), "mm2s1", "B", _length(p, dims, b_whole), off, dims))
            off, dims = _c_task(p, mb, nb, count, col)
            ops.append(DmaTask("dma", f"c{tag}", (col, 0), "s2mm0", "C", pattern_bytes(dims), off, dims))
            outputs.append(f"c{tag}")
    ops.append(Wait("wait", tuple(outputs)))
    return ops


def _tensors(runtime: list[DmaTask | Wait], sizes: dict[str, int]) -> tuple[Tensor, ...]:
    """The DDR tensors: at least ``sizes``, and as far as any task reaches."""
    reach = dict(sizes)
    for op in runtime:
        if isinstance(op, DmaTask):
            end = op.offset_bytes + (pattern_extent_bytes(op.dims) if op.dims else op.length_bytes)
            reach[op.tensor] = max(reach[op.tensor], end)
    return tuple(Tensor(name, size) for name, size in reach.items())


def b_tensor_bytes(p: TilePlan) -> int:
    """Size of B in DDR in the design's layout."""
    if p.design.b_layout == "tiled":
        return p.Np // p.n * p.kt * p.b_bytes
    return p.Np * p.Kp * p.jb


def build_program(p: TilePlan, a_transfer: ATransfer, a_bytes: int, name: str, description: str,
                  a_chunk: int | None = None, a_repeats: bool = True) -> Program:
    """The whole program of plan ``p``; ``a_transfer`` lays out the A tasks, ``a_bytes`` is the
    size of the A tensor in DDR; ``a_chunk`` bounds the super-tile rows one A task covers in
    ``nm`` order; without ``a_repeats`` an A task covers one super-tile in ``mn`` order too."""
    tiles: list[TileProgram] = []
    routes: list[Route] = []
    for col in range(p.columns):
        mem, rts = _mem_tile(p, col)
        tiles.append(mem)
        routes += rts
        tiles += [_compute_tile(p, col, row) for row in range(p.rows)]
    runtime = _runtime(p, a_transfer, a_chunk or p.iterations, a_repeats)
    tensors = _tensors(runtime, {"A": a_bytes, "B": b_tensor_bytes(p), "C": p.Mp * p.Np * p.ob})
    return Program(name, tuple(tiles), tuple(routes), tensors, tuple(runtime), description)
