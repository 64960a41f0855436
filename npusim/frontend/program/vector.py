"""The program of a vector operator over the whole array (see :mod:`.vector_plan`).

Per column ``j``: the shim's MM2S0 streams the first input's blocks of the column's cores into
the memory tile (MM2S1 the second input's, if any), which sends each compute row its own block
(one MM2S per row and input); each core calls the vector kernel on it and sends its result down
to the memory tile, which joins the rows' results for the shim's S2MM0. Every buffer on the way
is double-buffered with a full/empty lock pair, the BD chains loop and the core program is loops
(the same shape as the matmul's, :mod:`.matmul`). Elementwise operators, softmax, the norms and
rope move each column's blocks as one shim task per input and one for the results; an embedding
reads each of its rows from the table with a shim task of its own (one row per tile); pooling gathers
each block from the padded NHWC input with a 4-D access pattern (channels, window columns,
pixels ``stride`` apart, window rows), one task per block, and writes each tile's pixels into
the NHWC output.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...config import NPUConfig
from ...isa import (
    WORD_BYTES as W,
    Acquire, Buffer, BufferDescriptor, Dim, DmaChannelProgram, DmaTask, Endpoint, Instruction, Layout, LockDecl,
    LockOp, Loop, Program, Release, Route, Tensor, TileProgram, Vector, Wait, pattern_bytes,
)
from ..errors import LoweringError
from .common import core_program, loop_chain, ping_pong, verify_lowering
from ..layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Softmax, VectorLayer
from ..mapper.vector import (
    VectorPlan, plan_vector, pool_input_transfer, pool_output_bytes, pool_output_transfer, streams_second,
)


@dataclass(frozen=True, slots=True)
class VectorLowered:
    """A lowered vector operator: its plan, its program, and the program's verified layout."""

    plan: VectorPlan
    program: Program
    layout: Layout


def _call(p: VectorPlan, t: str, par: int, c: str, first: bool, last: bool) -> Vector:
    layer = p.layer
    inputs = (f"{t}_x{par}",) + ((f"{t}_y{par}",) if p.y_elements else ())
    if isinstance(layer, Pool):
        return Vector("vector", layer.vector_kind, layer.dtype, p.block, inputs, c, relu=layer.relu, zero=first,
                      emit=last, divisor=layer.kernel_h * layer.kernel_w)
    scalar, broadcast, relu = None, False, False
    if isinstance(layer, Elementwise):
        scalar, broadcast, relu = layer.scalar, layer.broadcast == "row", layer.relu
    elif isinstance(layer, (LayerNorm, RMSNorm)):
        scalar = layer.epsilon
    elif isinstance(layer, Softmax) and layer.scale != 1.0:
        scalar = layer.scale
    return Vector("vector", layer.vector_kind, layer.dtype, p.block, inputs, c, scalar, broadcast, relu)


def _segmented_core(p: VectorPlan, t: str) -> tuple[Instruction, ...]:
    """A segmented softmax's core: per tile, the first pass's calls accumulate each row's running
    max and sum in ``{t}_s`` (from zero at the first segment), the second pass's write each
    normalised segment; an even segment count keeps every buffer's parity the same per tile."""
    layer = p.layer
    assert isinstance(layer, Softmax)
    scale = layer.scale if layer.scale != 1.0 else None

    def call(par: int, zero: bool, second: bool) -> list[Instruction]:
        body: list[Instruction] = [Acquire("acquire", f"{t}_x_full"), Acquire("acquire", f"{t}_y_full")]
        inputs = (f"{t}_x{par}", f"{t}_y{par}") + ((f"{t}_s",) if second else ())
        out = f"{t}_c{par}" if second else f"{t}_s"
        if second:
            body.append(Acquire("acquire", f"{t}_c_empty"))
        body.append(Vector("vector", "softmax", layer.dtype, p.block, inputs, out, scale, zero=zero, emit=second,
                           divisor=p.segments))
        body += [Release("release", f"{t}_x_empty"), Release("release", f"{t}_y_empty")]
        return body + ([Release("release", f"{t}_c_full")] if second else [])

    tile = call(0, True, False) + call(1, False, False)
    if p.segments > 2:
        tile.append(Loop("loop", p.segments // 2 - 1, tuple(call(0, False, False) + call(1, False, False))))
    tile.append(Loop("loop", p.segments // 2, tuple(call(0, False, True) + call(1, False, True))))
    return (Loop("loop", p.rounds, tuple(tile)),)


def _compute_tile(p: VectorPlan, col: int, row: int) -> TileProgram:
    t = f"t{col}_{row}"
    sizes = [("x", p.x_bytes), ("y", p.y_bytes), ("c", p.acc_bytes)]
    sizes = [(x, size) for x, size in sizes if size]
    stats = (Buffer(f"{t}_s", p.stats_bytes),) if p.segments > 1 else ()
    buffers = tuple(Buffer(f"{t}_{x}{i}", size) for x, size in sizes for i in (0, 1)) + stats
    locks = tuple(LockDecl(f"{t}_{x}_{s}", 2 if s == "empty" else 0) for x, _ in sizes for s in ("empty", "full"))
    dma = [DmaChannelProgram("s2mm0", loop_chain(ping_pong(f"{t}_x", p.x_bytes, f"{t}_x_full", f"{t}_x_empty")))]
    if p.y_elements:
        dma.append(DmaChannelProgram("s2mm1", loop_chain(ping_pong(f"{t}_y", p.y_bytes, f"{t}_y_full", f"{t}_y_empty"))))
    dma.append(DmaChannelProgram("mm2s0", loop_chain(ping_pong(f"{t}_c", p.out_bytes, f"{t}_c_empty", f"{t}_c_full"))))
    ins = [x for x, _ in sizes if x != "c"]

    def step(par: int, c: str, first: bool, last: bool) -> list[Instruction]:
        body: list[Instruction] = [Acquire("acquire", f"{t}_{x}_full") for x in ins]
        body.append(_call(p, t, par, c, first, last))
        return body + [Release("release", f"{t}_{x}_empty") for x in ins]

    core = _segmented_core(p, t) if p.segments > 1 else core_program(p.rounds, p.steps, step, t)
    return TileProgram((col, row + 2), buffers, locks, core, tuple(dma))


def _mem_tile(p: VectorPlan, col: int) -> tuple[TileProgram, list[Route]]:
    t, rows = f"m{col}", range(p.rows)
    buffers: list[Buffer] = []
    locks: list[LockDecl] = []
    chans: list[DmaChannelProgram] = []
    routes: list[Route] = []
    for i, (x, size) in enumerate([(x, size) for x, size in (("x", p.x_bytes), ("y", p.y_bytes)) if size]):
        buffers += [Buffer(f"{t}_{x}{b}", p.rows * size) for b in (0, 1)]
        chain = [BufferDescriptor(f"{t}_{x}{b}", size, r * size, acquire=LockOp(f"{t}_{x}{r}_empty"),
                                  release=LockOp(f"{t}_{x}{r}_full")) for b in (0, 1) for r in rows]
        chans.append(DmaChannelProgram(f"s2mm{i}", loop_chain(chain)))
        routes.append(Route(f"{x}_in{col}", Endpoint((col, 0), f"mm2s{i}"), (Endpoint((col, 1), f"s2mm{i}"),)))
        for r in rows:
            locks += [LockDecl(f"{t}_{x}{r}_empty", 2), LockDecl(f"{t}_{x}{r}_full", 0)]
            chan = f"mm2s{i * p.rows + r}"
            chans.append(DmaChannelProgram(chan, loop_chain(
                ping_pong(f"{t}_{x}", size, f"{t}_{x}{r}_empty", f"{t}_{x}{r}_full", r * size))))
            routes.append(Route(f"{x}_row{col}_{r}", Endpoint((col, 1), chan), (Endpoint((col, r + 2), f"s2mm{i}"),)))
    join: list[BufferDescriptor] = []
    for r in rows:
        buffers += [Buffer(f"{t}_c{r}_{b}", p.out_bytes) for b in (0, 1)]
        locks += [LockDecl(f"{t}_c{r}_empty", 2), LockDecl(f"{t}_c{r}_full", 0)]
        chan = f"s2mm{p.inputs + r}"
        chans.append(DmaChannelProgram(chan, loop_chain(
            ping_pong(f"{t}_c{r}_", p.out_bytes, f"{t}_c{r}_full", f"{t}_c{r}_empty"))))
        routes.append(Route(f"c_out{col}_{r}", Endpoint((col, r + 2), "mm2s0"), (Endpoint((col, 1), chan),)))
    for b in (0, 1):
        join += [BufferDescriptor(f"{t}_c{r}_{b}", p.out_bytes, acquire=LockOp(f"{t}_c{r}_full"),
                                  release=LockOp(f"{t}_c{r}_empty")) for r in rows]
    chan = f"mm2s{p.inputs * p.rows}"
    chans.append(DmaChannelProgram(chan, loop_chain(join)))
    routes.append(Route(f"c_ddr{col}", Endpoint((col, 1), chan), (Endpoint((col, 0), "s2mm0"),)))
    return TileProgram((col, 1), tuple(buffers), tuple(locks), (), tuple(chans)), routes


def _streamed(p: VectorPlan, size: int, col: int) -> tuple[int, tuple[Dim, ...]]:
    """A column's blocks of ``size`` bytes over every round: the ``rows`` blocks of one round are
    next to each other, rounds ``columns * rows`` blocks apart."""
    dims = (Dim(p.rows * size // W, 1),) + ((Dim(p.rounds, p.cores * size // W),) if p.rounds > 1 else ())
    return col * p.rows * size, dims


def _gathered(p: VectorPlan) -> list[DmaTask | Wait]:
    """An embedding's rows: one shim task per tile reads its token's row of the table (tiles past
    the layer re-read row 0); the results stream back as a row-wise operator's do."""
    layer = p.layer
    assert isinstance(layer, Embedding)
    ops: list[DmaTask | Wait] = []
    outputs = []
    for col in range(p.columns):  # queued first: the runtime may then wait on a full input queue
        off, dims = _streamed(p, p.out_bytes, col)
        ops.append(DmaTask("dma", f"c{col}", (col, 0), "s2mm0", "C", pattern_bytes(dims), off, dims))
        outputs.append(f"c{col}")
    ids = layer.ids()
    for s in range(p.rounds):
        for r in range(p.rows):
            for col in range(p.columns):
                tile = (s * p.columns + col) * p.rows + r
                off = (ids[tile] if tile < len(ids) else 0) * p.x_bytes
                row: tuple[Dim, ...] = (Dim(p.x_bytes // W, 1),)
                ops.append(DmaTask("dma", f"x{tile}", (col, 0), "mm2s0", "A", p.x_bytes, off, row))
    return ops + [Wait("wait", tuple(outputs))]


def _segmented_runtime(p: VectorPlan) -> list[DmaTask | Wait]:
    """A segmented softmax's tasks, per round and column: the rows' segments twice (one task a pass:
    segment by segment, each compute row's block of ``rb`` rows), their key counts twice (laid out
    in that order by the data), and the normalised segments back into the rows."""
    ops: list[DmaTask | Wait] = []
    outputs = []
    rb, seg = p.block
    ib = p.ib
    keys = p.segments * p.rows * p.y_bytes
    for s in range(p.rounds):
        for col in range(p.columns):
            first = (s * p.columns + col) * p.rows * rb  # the column's first row this round
            dims = (Dim(seg * ib // W, 1), Dim(rb, p.row_len * ib // W), Dim(p.rows, rb * p.row_len * ib // W),
                    Dim(p.segments, seg * ib // W))
            off = first * p.row_len * ib
            kdims = (Dim(keys // W, 1),)
            for pas in (1, 2):
                ops.append(DmaTask("dma", f"x{s}_{col}_{pas}", (col, 0), "mm2s0", "A", pattern_bytes(dims), off, dims))
                ops.append(DmaTask("dma", f"y{s}_{col}_{pas}", (col, 0), "mm2s1", "B", keys,
                                   (s * p.columns + col) * keys, kdims))
            ops.append(DmaTask("dma", f"c{s}_{col}", (col, 0), "s2mm0", "C", pattern_bytes(dims), off, dims))
            outputs.append(f"c{s}_{col}")
    return ops + [Wait("wait", tuple(outputs))]


def _runtime(p: VectorPlan) -> list[DmaTask | Wait]:
    ops: list[DmaTask | Wait] = []
    outputs: list[str] = []
    cols = range(p.columns)
    if isinstance(p.layer, Embedding):
        return _gathered(p)
    if p.segments > 1:
        return _segmented_runtime(p)
    if not isinstance(p.layer, Pool):
        for col in cols:
            off, dims = _streamed(p, p.x_bytes, col)
            ops.append(DmaTask("dma", f"x{col}", (col, 0), "mm2s0", "A", pattern_bytes(dims), off, dims))
            if p.y_elements:
                same = streams_second(p.layer)
                off, dims = _streamed(p, p.y_bytes, col) if same else (
                    0, (Dim(p.y_bytes // W, 1), Dim(p.rows * p.rounds, 0)))
                ops.append(DmaTask("dma", f"y{col}", (col, 0), "mm2s1", "B", pattern_bytes(dims), off, dims))
            off, dims = _streamed(p, p.out_bytes, col)
            ops.append(DmaTask("dma", f"c{col}", (col, 0), "s2mm0", "C", pattern_bytes(dims), off, dims))
            outputs.append(f"c{col}")
        return ops + [Wait("wait", tuple(outputs))]
    for s in range(p.rounds):
        for step in range(p.steps):
            for r in range(p.rows):
                for col in cols:
                    tile = (s * p.columns + col) * p.rows + r
                    off, dims = pool_input_transfer(p, tile, step)
                    ops.append(DmaTask("dma", f"x{tile}_{step}", (col, 0), "mm2s0", "A", pattern_bytes(dims), off, dims))
        for r in range(p.rows):
            for col in cols:
                tile = (s * p.columns + col) * p.rows + r
                off, dims = pool_output_transfer(p, tile)
                ops.append(DmaTask("dma", f"c{tile}", (col, 0), "s2mm0", "C", pattern_bytes(dims), off, dims))
                outputs.append(f"c{tile}")
    return ops + [Wait("wait", tuple(outputs))]


def tensor_bytes(p: VectorPlan) -> dict[str, int]:
    """Sizes of the DDR tensors: ``A`` (first input), ``B`` (second input, if any), ``C``."""
    slots = p.rounds * p.cores
    if isinstance(p.layer, Pool):
        _, m, _, cs = p.block
        return {"A": p.layer.batch * p.hp * p.wp * p.cp * p.ib,
                "C": pool_output_bytes(p) + (slots - p.tiles) * m * cs * p.ib}
    if p.segments > 1:
        rows = slots * p.block[0]
        return {"A": rows * p.row_len * p.ib, "B": rows * p.segments * p.y_bytes // p.block[0],
                "C": rows * p.row_len * p.ib}
    out = {"A": slots * p.x_bytes, "C": slots * p.out_bytes}
    if isinstance(p.layer, Embedding):
        out["A"] = p.layer.vocab * p.x_bytes
    if p.y_elements:
        out["B"] = slots * p.y_bytes if streams_second(p.layer) else p.y_bytes
    return out


def build_vector_program(p: VectorPlan, name: str, description: str) -> Program:
    tiles: list[TileProgram] = []
    routes: list[Route] = []
    for col in range(p.columns):
        mem, rts = _mem_tile(p, col)
        tiles.append(mem)
        routes += rts
        tiles += [_compute_tile(p, col, row) for row in range(p.rows)]
    tensors = tuple(Tensor(n, size) for n, size in tensor_bytes(p).items())
    return Program(name, tuple(tiles), tuple(routes), tensors, tuple(_runtime(p)), description)


def lower_vector(config: NPUConfig, layer: VectorLayer) -> VectorLowered:
    """Lower a vector operator onto ``config``: choose the blocks, build the program and verify
    it. Raises :class:`LoweringError` if it cannot be done, saying why."""
    p = plan_vector(config, layer)
    if config.mem_tile_rows != 1:
        raise LoweringError(f"config '{config.name}': the frontend stages data in one row of memory tiles; this "
                            f"config has mem_tile_rows = {config.mem_tile_rows}")
    block = "x".join(map(str, p.block))
    desc = f"{layer.describe()} lowered by npusim: blocks {block} on {p.columns}x{p.rows} cores"
    program = build_vector_program(p, layer.name, desc)
    layout = verify_lowering(program, config, layer.name, f"{layer.describe()} with blocks {block}")
    return VectorLowered(p, program, layout)
