"""The program of a tiled matrix multiplication over the whole array (see :mod:`.tiling`).

Per column ``j``: the shim's MM2S0 brings the A tiles of the column's row group into the memory
tile, MM2S1 the B tiles of the column (B, the weights, is stored in DDR tile by tile, ``k x n``
blocks with the reduction steps of one column of tiles next to each other: a layout made once,
offline, so that each B read is one long contiguous run; a fused bias follows each ``k x n`` block);
the memory tile sends each row's A slice to its row
(broadcast along the row) and B down the column (broadcast), and collects every core's C block
and sends the joined super-tile rows to the shim's S2MM0. Every buffer on the way is
double-buffered with a full/empty lock pair, as ObjectFIFOs of depth 2 are.

A core runs, for each output tile: acquire an empty C, then for each of the ``kt`` reduction
steps acquire the next A and B, call the kernel (zeroing C on the first step, emitting the
output type on the last), release A and B; then release C. Loops stay loops: the core program
and the BD chains have a fixed size whatever the layer's size; only the runtime sequence grows,
by one set of shim tasks per super-tile row (and per ``max_iterations`` super-tile columns).
"""
from __future__ import annotations

from collections.abc import Callable

from ...isa import (
    WORD_BYTES as W,
    Acquire, Buffer, BufferDescriptor, Compute, Dim, DmaChannelProgram, DmaTask, Endpoint, Instruction,
    LockDecl, LockOp, Loop, Program, Release, Route, Tensor, TileProgram, Wait, pattern_bytes,
)
from ...numerics import ACC_BYTES
from ..mapper.tiling import TilePlan

ATransfer = Callable[[TilePlan, int, int, int, int], list[tuple[int, tuple[Dim, ...]]]]
"""(plan, super-tile row, first super-tile column, columns in the chunk, feeder column) ->
the A tasks' (offset_bytes, dims) for them, in stream order."""


def _name(col: int, row: int) -> str:
    return f"t{col}_{row}"


def gemm_a_transfer(p: TilePlan, mb: int, nb0: int, count: int, col: int) -> list[tuple[int, tuple[Dim, ...]]]:
    """A of a dense GEMM: the group's ``m``-row slices for every reduction step, repeated for
    each super-tile column (the iteration dimension, stride 0)."""
    rows, ib = p.group_rows(col), p.ib
    first = (mb * p.rows + rows[0]) * p.m
    dims = (Dim(p.k * ib // W, 1), Dim(len(rows) * p.m, p.Kp * ib // W), Dim(p.kt, p.k * ib // W), Dim(count, 0))
    return [(first * p.Kp * ib, dims)]


Step = Callable[[int, str, bool, bool], list[Instruction]]
"""(input buffer parity, output buffer, first step, last step) -> one reduction step's instructions."""


def core_program(out_tiles: int, kt: int, step: Step, t: str) -> tuple[Instruction, ...]:
    """A core's whole program: ``out_tiles`` output tiles of ``kt`` steps each, the inputs
    ping-ponging from step to step and the output buffer (``{t}_c0``/``{t}_c1``, guarded by
    ``{t}_c_empty``/``{t}_c_full``) from tile to tile; loops, never unrolled."""
    def tile(par: int, c: str) -> list[Instruction]:
        body: list[Instruction] = [Acquire("acquire", f"{t}_c_empty")]
        body += step(par, c, True, kt == 1)
        middle = kt - 2
        if middle >= 2:
            body.append(Loop("loop", middle // 2, tuple(step(1 - par, c, False, False) + step(par, c, False, False))))
        if middle > 0 and middle % 2:
            body += step((par + middle) % 2, c, False, False)
        if kt > 1:
            body += step((par + kt - 1) % 2, c, False, True)
        return body + [Release("release", f"{t}_c_full")]

    odd = kt % 2  # with an odd step count the input parity flips from one output tile to the next
    pair = tile(0, f"{t}_c0") + tile(odd, f"{t}_c1")
    prog: list[Instruction] = []
    if out_tiles >= 2:
        prog.append(Loop("loop", out_tiles // 2, tuple(pair)))
    if out_tiles % 2:
        prog += tile(0, f"{t}_c0")
    return tuple(prog)


def _core(p: TilePlan, t: str) -> tuple[Instruction, ...]:
    layer = p.layer

    def step(par: int, c: str, first: bool, last: bool) -> list[Instruction]:
        return [Acquire("acquire", f"{t}_a_full"), Acquire("acquire", f"{t}_b_full"),
                Compute("compute", p.m, p.k, p.n, layer.dtype, f"{t}_a{par}", f"{t}_b{par}", c,
                        zero=first, emit=p.out if last else None, shift=layer.shift if last else 0,
                        bias=layer.bias and last, relu=layer.relu and last),
                Release("release", f"{t}_a_empty"), Release("release", f"{t}_b_empty")]

    return core_program(p.mb * p.nb, p.kt, step, t)


def ping_pong(buffer: str, length: int, full: str, empty: str, offset: int = 0) -> list[BufferDescriptor]:
    return [BufferDescriptor(f"{buffer}{x}", length, offset, acquire=LockOp(empty), release=LockOp(full))
            for x in (0, 1)]


def loop_chain(bds: list[BufferDescriptor]) -> tuple[BufferDescriptor, ...]:
    """A BD chain whose last BD links back to the first: the channel serves forever."""
    last = bds[-1]
    return tuple(bds[:-1]) + (BufferDescriptor(last.buffer, last.length_bytes, last.offset_bytes, last.dims,
                                               last.acquire, last.release, 0),)


def _compute_tile(p: TilePlan, col: int, row: int) -> TileProgram:
    t = _name(col, row)
    a, b, c = p.m * p.k * p.ib, p.b_bytes, p.m * p.n * ACC_BYTES
    buffers = tuple(Buffer(f"{t}_{x}{i}", size) for x, size in (("a", a), ("b", b), ("c", c)) for i in (0, 1))
    locks = tuple(LockDecl(f"{t}_{x}_{s}", 2 if s == "empty" else 0) for x in "abc" for s in ("empty", "full"))
    dma = (
        DmaChannelProgram("s2mm0", loop_chain(ping_pong(f"{t}_a", a, f"{t}_a_full", f"{t}_a_empty"))),
        DmaChannelProgram("s2mm1", loop_chain(ping_pong(f"{t}_b", b, f"{t}_b_full", f"{t}_b_empty"))),
        # the core releases c_full once C holds the output, so the drain BD is "full -> empty"
        DmaChannelProgram("mm2s0", loop_chain(ping_pong(f"{t}_c", p.m * p.n * p.ob, f"{t}_c_empty", f"{t}_c_full"))),
    )
    return TileProgram((col, row + 2), buffers, locks, _core(p, t), dma)


def _mem_tile(p: TilePlan, col: int) -> tuple[TileProgram, list[Route]]:
    t = f"m{col}"
    rows = p.group_rows(col)
    a_slice, b, c_slice = p.m * p.k * p.ib, p.b_bytes, p.m * p.n * p.ob
    buffers = [Buffer(f"{t}_b{x}", b) for x in (0, 1)]
    locks = [LockDecl(f"{t}_b_empty", 2), LockDecl(f"{t}_b_full", 0)]
    chans: list[DmaChannelProgram] = []
    routes: list[Route] = []
    mm2s = 0
    if rows:
        buffers += [Buffer(f"{t}_a{x}", len(rows) * a_slice) for x in (0, 1)]
        a_in: list[BufferDescriptor] = []
        for x in (0, 1):
            for s, r in enumerate(rows):
                a_in.append(BufferDescriptor(f"{t}_a{x}", a_slice, s * a_slice, acquire=LockOp(f"{t}_a{r}_empty"),
                                             release=LockOp(f"{t}_a{r}_full")))
        chans.append(DmaChannelProgram("s2mm0", loop_chain(a_in)))
        routes.append(Route(f"a_in{col}", Endpoint((col, 0), "mm2s0"), (Endpoint((col, 1), "s2mm0"),)))
        for s, r in enumerate(rows):
            locks += [LockDecl(f"{t}_a{r}_empty", 2), LockDecl(f"{t}_a{r}_full", 0)]
            chans.append(DmaChannelProgram(f"mm2s{mm2s}", loop_chain(
                ping_pong(f"{t}_a", a_slice, f"{t}_a{r}_empty", f"{t}_a{r}_full", s * a_slice))))
            routes.append(Route(f"a_row{r}", Endpoint((col, 1), f"mm2s{mm2s}"),
                                tuple(Endpoint((j, r + 2), "s2mm0") for j in range(p.columns))))
            mm2s += 1
    chans.append(DmaChannelProgram("s2mm1", loop_chain(ping_pong(f"{t}_b", b, f"{t}_b_full", f"{t}_b_empty"))))
    routes.append(Route(f"b_in{col}", Endpoint((col, 0), "mm2s1"), (Endpoint((col, 1), "s2mm1"),)))
    chans.append(DmaChannelProgram(f"mm2s{mm2s}", loop_chain(ping_pong(f"{t}_b", b, f"{t}_b_empty", f"{t}_b_full"))))
    routes.append(Route(f"b_col{col}", Endpoint((col, 1), f"mm2s{mm2s}"),
                        tuple(Endpoint((col, i + 2), "s2mm1") for i in range(p.rows))))
    mm2s += 1
    c_out: list[BufferDescriptor] = []
    for i in range(p.rows):
        buffers += [Buffer(f"{t}_c{i}_{x}", c_slice) for x in (0, 1)]
        locks += [LockDecl(f"{t}_c{i}_empty", 2), LockDecl(f"{t}_c{i}_full", 0)]
        chans.append(DmaChannelProgram(f"s2mm{2 + i}", loop_chain(
            ping_pong(f"{t}_c{i}_", c_slice, f"{t}_c{i}_full", f"{t}_c{i}_empty"))))
        routes.append(Route(f"c_out{col}_{i}", Endpoint((col, i + 2), "mm2s0"), (Endpoint((col, 1), f"s2mm{2 + i}"),)))
    for x in (0, 1):
        for i in range(p.rows):
            c_out.append(BufferDescriptor(f"{t}_c{i}_{x}", c_slice, acquire=LockOp(f"{t}_c{i}_full"),
                                          release=LockOp(f"{t}_c{i}_empty")))
    chans.append(DmaChannelProgram(f"mm2s{mm2s}", loop_chain(c_out)))
    routes.append(Route(f"c_ddr{col}", Endpoint((col, 1), f"mm2s{mm2s}"), (Endpoint((col, 0), "s2mm0"),)))
    return TileProgram((col, 1), tuple(buffers), tuple(locks), (), tuple(chans)), routes


def _runtime(p: TilePlan, a_transfer: ATransfer) -> list[DmaTask | Wait]:
    ops: list[DmaTask | Wait] = []
    ib, ob = p.ib, p.ob
    outputs = []
    for mb in range(p.mb):
        for nb0 in range(0, p.nb, p.iterations):
            count = min(p.iterations, p.nb - nb0)
            for col in range(p.columns):
                tag = f"{mb}_{nb0}_{col}"
                if p.group_rows(col):
                    for s, (off, dims) in enumerate(a_transfer(p, mb, nb0, count, col)):
                        ops.append(DmaTask("dma", f"a{tag}_{s}", (col, 0), "mm2s0", "A", pattern_bytes(dims), off, dims))
                n0 = (nb0 * p.columns + col) * p.n
                column = p.kt * p.b_bytes  # B is stored tile by tile: one column of tiles is contiguous
                b_dims = (Dim(column // W, 1), Dim(count, p.columns * column // W))
                ops.append(DmaTask("dma", f"b{tag}", (col, 0), "mm2s1", "B", pattern_bytes(b_dims),
                                   (nb0 * p.columns + col) * column, b_dims))
                c_dims = (Dim(p.n * ob // W, 1), Dim(p.rows * p.m, p.Np * ob // W),
                          Dim(count, p.columns * p.n * ob // W))
                off = (mb * p.rows * p.m * p.Np + n0) * ob
                ops.append(DmaTask("dma", f"c{tag}", (col, 0), "s2mm0", "C", pattern_bytes(c_dims), off, c_dims))
                outputs.append(f"c{tag}")
    ops.append(Wait("wait", tuple(outputs)))
    return ops


def build_program(p: TilePlan, a_transfer: ATransfer, a_bytes: int, name: str, description: str) -> Program:
    """The whole program of plan ``p``; ``a_transfer`` lays out the A tasks, ``a_bytes`` is the
    size of the A tensor in DDR."""
    tiles: list[TileProgram] = []
    routes: list[Route] = []
    for col in range(p.columns):
        mem, rts = _mem_tile(p, col)
        tiles.append(mem)
        routes += rts
        tiles += [_compute_tile(p, col, row) for row in range(p.rows)]
    tensors = (Tensor("A", a_bytes), Tensor("B", p.Np // p.n * p.kt * p.b_bytes), Tensor("C", p.Mp * p.Np * p.ob))
    return Program(name, tuple(tiles), tuple(routes), tensors, tuple(_runtime(p, a_transfer)), description)
