"""Blocks and placement of a vector operator on the array, and why they were chosen.

The operator's tensor is cut into *tiles*, each computed by one core from its own stream of
blocks: ``rb`` rows of the tensor seen as a matrix with the operator's axis innermost
(elementwise operators, softmax, the norms, rope: one kernel call per tile; an embedding: one
row per tile, gathered from the table by its token id; a softmax whose rows do not fit the data
memory: ``segments`` segments per row, in two passes, see :attr:`VectorPlan.segments`), or, for pooling, ``m``
output pixels of one output row times ``cs`` channels, reduced over the window in ``steps``
calls of ``kr`` window rows each. Every column's memory tile feeds ``rows`` compute rows, each
its own blocks (no broadcast): a column uses as many compute rows as its memory tile has
channels for (one MM2S per row and input, one S2MM per row for the results). Tiles are dealt
out round-robin: tile ``i`` runs on column ``(i // rows) % columns``, row ``i % rows``.

Sizes are chosen from candidates that fit both memories (double-buffered) by an estimate of the
run's time, the largest of compute, DDR and stream time (as for a matmul, see :mod:`.tiling`);
ties go to less padding, then larger blocks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ...config import NPUConfig
from ...hw.timing import ddr_access_bytes, ddr_bytes_per_cycle, stream_bytes_per_cycle, vector_cycles
from ...isa import WORD_BYTES as W, Dim
from ...numerics import ACC_BYTES, IN_BYTES
from ..errors import LoweringError
from .design import STACK_BYTES, up
from .estimate import Estimate
from ..layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Rope, Softmax, VectorLayer

FLAT_ROW = 64
"""Elements per row when an elementwise operator's tensor is cut into rows (no broadcast row)."""
_RB = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_M = (1, 2, 4, 7, 8, 14, 16, 28, 32, 56, 64)


@dataclass(frozen=True, slots=True)
class VectorPlan:
    """Everything the program generator needs, and what ``--explain`` prints."""

    layer: VectorLayer
    columns: int
    rows: int
    """Compute rows used in each column."""
    block: tuple[int, ...]
    """Shape of the block one kernel call reads from the first input."""
    y_elements: int
    """Elements one call reads from the second input (0: none)."""
    out_elements: int
    """Elements a tile writes back."""
    steps: int
    """Kernel calls per tile (pooling: window-row chunks; otherwise 1)."""
    tiles: int
    """Tiles of the layer (before rounding up to whole rounds of every core)."""
    kernel_cycles: int
    estimate: Estimate
    row_len: int = 0
    """Rows of elementwise/softmax/layernorm: elements per row in DDR (padded to whole words)."""
    nrows: int = 0
    """Rows of the tensor as a matrix."""
    cp: int = 0
    """Pooling: channels padded to whole words; ``cs`` = ``block[3]`` channels per tile."""
    qt: int = 0
    """Pooling: pixel tiles per output row."""
    wp: int = 0
    """Pooling: width of the padded input in DDR (with room for the last tile's reads)."""
    segments: int = 1
    """A softmax whose rows do not fit the data memory: segments per row (``block[1]`` elements
    each), streamed twice (running max and sum, then the normalised segments); 1: whole rows."""

    @property
    def ib(self) -> int:
        return IN_BYTES[self.layer.dtype]

    @property
    def inputs(self) -> int:
        return 2 if self.y_elements else 1

    @property
    def x_bytes(self) -> int:
        return math.prod(self.block) * self.ib

    @property
    def y_bytes(self) -> int:
        return self.y_elements * self.ib

    @property
    def out_bytes(self) -> int:
        return self.out_elements * self.ib

    @property
    def acc_bytes(self) -> int:
        """The core's output buffer: pooling keeps 32-bit accumulators there."""
        return self.out_elements * ACC_BYTES if isinstance(self.layer, Pool) else self.out_bytes

    @property
    def stats_bytes(self) -> int:
        """A segmented softmax's running maximum and sum per row (fp32 each), kept in the core."""
        return 2 * ACC_BYTES * self.block[0] if self.segments > 1 else 0

    @property
    def cores(self) -> int:
        return self.columns * self.rows

    @property
    def rounds(self) -> int:
        """Tiles per core (the tiles rounded up to whole rounds of every core)."""
        return -(-self.tiles // self.cores)

    @property
    def l1_bytes(self) -> int:
        return 2 * (self.x_bytes + self.y_bytes + self.acc_bytes) + self.stats_bytes + STACK_BYTES

    @property
    def memtile_bytes(self) -> int:
        return 2 * self.rows * (self.x_bytes + self.y_bytes + self.out_bytes)

    @property
    def hp(self) -> int:
        layer = self.layer
        assert isinstance(layer, Pool)
        return layer.height + 2 * layer.padding


def rows_usable(config: NPUConfig, inputs: int) -> int:
    """Compute rows a column can feed: one memory-tile MM2S per row and input plus one to the
    shim, one S2MM per input plus one per row."""
    mem = config.mem_tile.dma
    return min(config.compute_rows, (mem.mm2s_channels - 1) // inputs, mem.s2mm_channels - inputs)


def streams_second(layer: VectorLayer) -> bool:
    """Whether the second input is a block per call beside the first (an operand of the same
    shape, rope's table rows, a causal softmax's key counts) rather than one row re-read by
    every call (a broadcast row, norms' gamma and beta)."""
    return ((isinstance(layer, Elementwise) and layer.broadcast == "same") or isinstance(layer, Rope)
            or (isinstance(layer, Softmax) and layer.masked))


def _second_input(layer: VectorLayer, row_len: int, rb: int) -> int:
    if isinstance(layer, LayerNorm):
        return 2 * row_len  # gamma, beta
    if isinstance(layer, RMSNorm):
        return row_len  # gamma
    if isinstance(layer, Softmax):
        return rb * (W // IN_BYTES[layer.dtype]) if layer.masked else 0  # a key count per row
    if isinstance(layer, Rope) or (isinstance(layer, Elementwise) and layer.broadcast == "same"):
        return rb * row_len
    if isinstance(layer, Elementwise) and layer.broadcast == "row":
        return row_len
    return 0


def matrix(layer: VectorLayer) -> tuple[int, int, int]:
    """(rows, elements per row, elements per row padded to whole words) of a row-wise layer."""
    per_word = W // IN_BYTES[layer.dtype]
    if isinstance(layer, Elementwise):
        length = layer.row if layer.broadcast == "row" else FLAT_ROW
        return -(-layer.elements // length), length, up(length, per_word)
    assert not isinstance(layer, Pool)
    if isinstance(layer, Softmax) and layer.masked:  # the padding is masked by the key counts
        return layer.rows, layer.length, up(layer.length, per_word)
    if layer.length % per_word:
        raise LoweringError(
            f"layer '{layer.name}' ({layer.describe()}): rows of {layer.length} {layer.dtype} elements are not "
            f"whole 32-bit DMA words; {layer.op} rows must hold a multiple of {per_word} elements")
    return layer.rows, layer.length, layer.length


def pool_input_transfer(p: VectorPlan, tile: int, step: int) -> tuple[int, tuple[Dim, ...]]:
    """(offset_bytes, dims) of one pooling block: ``kr`` window rows of ``m`` pixels, each
    ``kernel_w`` pixels of ``cs`` channels (tiles past the layer's re-read tile 0)."""
    layer = p.layer
    assert isinstance(layer, Pool)
    kr, m, kw, cs = p.block
    slices = p.cp // cs
    image, rest = divmod(tile if tile < p.tiles else 0, layer.out_h * p.qt * slices)
    prow, rest = divmod(rest, p.qt * slices)
    q, c = divmod(rest, slices)
    st, ib, cp = layer.stride, p.ib, p.cp
    base = ((image * p.hp + prow * st + step * kr) * p.wp + q * m * st) * cp + c * cs
    dims: tuple[Dim, ...] = (Dim(cs * ib // W, 1), Dim(kw, cp * ib // W), Dim(m, st * cp * ib // W),
                             Dim(kr, p.wp * cp * ib // W))
    if cs == cp:
        dims = (Dim(kw * cp * ib // W, 1),) + dims[2:]
    return base * ib, dims


def pool_output_transfer(p: VectorPlan, tile: int) -> tuple[int, tuple[Dim, ...]]:
    """(offset_bytes, dims) of one pooling tile's result in the NHWC output (tiles past the
    layer's go to scratch space after it)."""
    layer = p.layer
    assert isinstance(layer, Pool)
    _, m, _, cs = p.block
    ib, cp = p.ib, p.cp
    if tile >= p.tiles:
        return pool_output_bytes(p) + (tile - p.tiles) * m * cs * ib, (Dim(m * cs * ib // W, 1),)
    slices = cp // cs
    pixel_row, rest = divmod(tile, p.qt * slices)
    q, c = divmod(rest, slices)
    base = (pixel_row * p.qt * m + q * m) * cp + c * cs
    if cs == cp:
        return base * ib, (Dim(m * cp * ib // W, 1),)
    return base * ib, (Dim(cs * ib // W, 1), Dim(m, cp * ib // W))


def pool_output_bytes(p: VectorPlan) -> int:
    layer = p.layer
    assert isinstance(layer, Pool)
    return layer.batch * layer.out_h * p.qt * p.block[1] * p.cp * p.ib


def _estimate(config: NPUConfig, p: VectorPlan) -> Estimate:
    lock_ops = (p.inputs * p.steps + 1) * (config.locks.acquire_cycles + config.locks.release_cycles)
    compute = p.rounds * (p.steps * p.kernel_cycles + lock_ops)
    ddr_bytes = 0
    if isinstance(p.layer, Pool):
        off, dims = pool_input_transfer(p, 0, 0)
        ddr_bytes += ddr_access_bytes(config.ddr, p.x_bytes, dims) * p.steps * p.rounds * p.cores
        off, dims = pool_output_transfer(p, 0)
        ddr_bytes += ddr_access_bytes(config.ddr, p.out_bytes, dims) * p.rounds * p.cores
    else:
        per_tile = ddr_access_bytes(config.ddr, p.x_bytes + p.out_bytes, ()) + (
            ddr_access_bytes(config.ddr, p.y_bytes, ()) if p.y_bytes else 0)
        if p.segments > 1:  # each segment read twice with its key counts, written once
            per_tile = p.segments * (2 * ddr_access_bytes(config.ddr, p.x_bytes + p.y_bytes, ())
                                     + ddr_access_bytes(config.ddr, p.out_bytes, ()))
        ddr_bytes = per_tile * p.rounds * p.cores
    rate = stream_bytes_per_cycle(config.stream_switch, config.shim_tile.dma,
                                  [config.mem_tile.dma, config.compute_tile.dma])
    startup = config.compute_tile.dma.startup_cycles + config.locks.acquire_cycles
    per_call = math.ceil(max(p.x_bytes, p.y_bytes) * p.rows / rate) + startup  # one shim channel feeds the rows
    return Estimate(compute=compute, ddr=math.ceil(ddr_bytes / ddr_bytes_per_cycle(config.ddr, config.clock_mhz)),
                    stream=p.rounds * p.steps * per_call, ddr_bytes=ddr_bytes)


def _candidates(config: NPUConfig, layer: VectorLayer, rows: int) -> list[VectorPlan]:
    cols = config.columns
    kind, dtype = layer.vector_kind, layer.dtype
    cands = []
    if isinstance(layer, Pool):
        cp = up(layer.channels, W // IN_BYTES[dtype])
        slices = [d for d in (1, 2, 4, 8, 16, 32) if cp % d == 0 and (cp // d) * IN_BYTES[dtype] % W == 0]
        chunks = [d for d in range(1, layer.kernel_h + 1)
                  if layer.kernel_h % d == 0 and d <= config.shim_tile.dma.max_iterations]
        whole_row = next((m for m in _M if m >= layer.out_w), _M[-1])
        for m in sorted({m for m in _M if m <= layer.out_w} | {whole_row}):
            qt = -(-layer.out_w // m)
            wp = max(layer.width + 2 * layer.padding, (qt * m - 1) * layer.stride + layer.kernel_w)
            for d in slices:
                for kr in chunks:
                    block: tuple[int, ...] = (kr, m, layer.kernel_w, cp // d)
                    tiles = layer.batch * layer.out_h * qt * d
                    kc = vector_cycles(config.compute_tile, kind, dtype, math.prod(block))
                    cands.append(VectorPlan(layer, cols, rows, block, 0, m * (cp // d), layer.kernel_h // kr, tiles,
                                            kc, Estimate(0, 0, 0, 0), cp=cp, qt=qt, wp=wp))
        return cands
    nrows, _, row_len = matrix(layer)
    for rb in [rb for rb in _RB if rb < 2 * nrows and (rb == 1 or not isinstance(layer, Embedding))]:
        block = (rb, row_len)
        kc = vector_cycles(config.compute_tile, kind, dtype, rb * row_len)
        cands.append(VectorPlan(layer, cols, rows, block, _second_input(layer, row_len, rb), rb * row_len, 1,
                                -(-nrows // rb), kc, Estimate(0, 0, 0, 0), row_len=row_len, nrows=nrows))
    return cands


def _segmented(config: NPUConfig, layer: Softmax, rows: int) -> list[VectorPlan]:
    """A softmax's rows cut into an even number of segments (see :attr:`VectorPlan.segments`)."""
    per_word = W // IN_BYTES[layer.dtype]
    cands = []
    for segments in (2, 4, 8, 16, 32, 64):
        seg = up(-(-layer.length // segments), per_word)
        for rb in [rb for rb in _RB if rb < 2 * layer.rows]:
            kc = vector_cycles(config.compute_tile, "softmax", layer.dtype, rb * seg)
            cands.append(VectorPlan(layer, config.columns, rows, (rb, seg), rb * per_word, rb * seg, 2 * segments,
                                    -(-layer.rows // rb), kc, Estimate(0, 0, 0, 0), row_len=seg * segments,
                                    nrows=layer.rows, segments=segments))
    return cands


def plan_vector(config: NPUConfig, layer: VectorLayer) -> VectorPlan:
    """Choose block sizes for ``layer`` on ``config``; raise :class:`LoweringError` saying why not."""
    kind, dtype = layer.vector_kind, layer.dtype
    table = config.compute_tile.vector
    if dtype not in table.get(kind, {}):
        have = ", ".join(table.get(kind, {})) or "none"
        raise LoweringError(
            f"layer '{layer.name}' ({layer.describe()}): the config '{config.name}' gives no {dtype} timing for "
            f"the vector operator {kind} (compute_tile.vector.{kind} has: {have}); add "
            f"compute_tile.vector.{kind}.{dtype} or use another data type")
    inputs = 2 if _second_input(layer, 2, 2) else 1
    rows = rows_usable(config, inputs)
    if rows < 1:
        raise LoweringError(
            f"config '{config.name}': a memory tile feeding a compute row with {inputs} input(s) takes "
            f"{inputs + 1} MM2S and {inputs + 1} S2MM channels (mem_tile.dma.mm2s_channels / s2mm_channels); "
            "give the memory tile more channels")
    l1, l2 = config.compute_tile.data_mem_kib * 1024, config.mem_tile.size_kib * 1024
    best: tuple[tuple[int, int, int], VectorPlan] | None = None
    smallest: VectorPlan | None = None
    cands = _candidates(config, layer, rows)
    if isinstance(layer, Softmax) and not any(c.l1_bytes <= l1 and c.memtile_bytes <= l2 for c in cands):
        cands += _segmented(config, layer, rows_usable(config, 2))  # rows too long for the data memory
    for cand in cands:
        if cand.l1_bytes > l1 or cand.memtile_bytes > l2:
            if smallest is None or cand.l1_bytes < smallest.l1_bytes:
                smallest = cand
            continue
        p = replace(cand, estimate=_estimate(config, cand))
        key = (p.estimate.cycles, p.rounds * p.cores * p.out_elements, -p.x_bytes)
        if best is None or key < best[0]:
            best = (key, p)
    if best is None:
        assert smallest is not None
        raise LoweringError(
            f"layer '{layer.name}' ({layer.describe()}): no block size fits. The smallest, {smallest.block}, needs "
            f"{smallest.l1_bytes} bytes of compute-tile data memory (inputs and output double-buffered + "
            f"{STACK_BYTES} B stack; limit compute_tile.data_mem_kib = {config.compute_tile.data_mem_kib}) and "
            f"{smallest.memtile_bytes} bytes of memory tile (limit mem_tile.size_kib = {config.mem_tile.size_kib})")
    return best[1]
