"""A resident group: consecutive convolutions run one after another on the whole array, their
tensors kept in the memory tiles in row bands (:mod:`.bands`), one program and one dispatch.

Every member uses the same part of the array and the same tile, so the compute tiles keep one
configuration and run the members' loops in turn (:mod:`.phases`). The roles of rows and columns
are those of the mapper's designs swapped: column ``j`` computes band ``j`` of each output (the
image rows of its band; its memory tile holds band ``j`` of every tensor), row ``i`` one channel
slice of each super-tile column (``n`` channels; the super-tile columns one after another, each
one's B block resident: ``nm`` order). So a band's A tiles go up one column, a slice's B tiles
along one row, and each core's output lands in its own column's memory tile, in its band. The
memory tiles run no BD chain of their own: the runtime drives every transfer with buffer tasks.

- Weights: memory tile ``i`` loads row ``i``'s B block of each super-tile column into one of two
  slots (through its shim, once) and sends it along its row once per output tile; the next block,
  of this member or the next, loads while this one is used.
- Activations: memory tile ``j`` sends its column each output tile's A tiles straight from the
  bands (its own, a neighbour's for a window's edge rows, a zero row past the image); the tasks of
  its S2MM channels write each core's real pixels into the output's band and the rest to scratch.
- Tensors from outside the group are loaded into bands first; outputs leave through the shims.

The runtime orders the tasks that share a buffer with waits (:mod:`.hazards`): a member starts as
soon as the rows it reads have landed, while the one before it finishes. It issues the output
tiles' writes one tile of every core at a time, so that no task queue fills while another core
starves for its next write (a core that cannot drain holds up its row's B and its column's A).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...config import NPUConfig
from ...isa import (
    WORD_BYTES as W, Buffer, BufferTask, Dim, DmaTask, Endpoint, Layout as Placed, Program, Route, Tensor,
    TileProgram, pattern_bytes,
)
from ..errors import LoweringError
from ..layers.matmul import Conv2d
from ..mapper.design import TilePlan
from ..program.common import verify_lowering
from .bands import Bands, band_layout
from .hazards import Task, with_waits
from .layout import JUNK
from .patterns import compress, merge
from .phases import compute_tile


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident group to build: the members' plans (one tile, ``plan.columns`` channel slices a
    super-tile column), the bands (the columns it uses), and for each member the index of the member
    it reads (None: a tensor from DDR) and whether its output leaves the group."""

    plans: tuple[TilePlan, ...]
    sources: tuple[int | None, ...]
    external: tuple[bool, ...]
    bands: int

    @property
    def slices(self) -> int:
        """Compute rows used: channel slices of a super-tile column."""
        return self.plans[0].columns


@dataclass
class _Build:
    g: Resident
    bands: dict[int, Bands] = field(default_factory=dict)
    """Member index -> its output's bands; -1 - i for the DDR input of member i."""
    tasks: list[Task] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    scratch: dict[tuple[int, int], int] = field(default_factory=dict)
    slot: int = 0


def _conv(p: TilePlan) -> Conv2d:
    assert isinstance(p.layer, Conv2d)
    return p.layer


def band_rows(p: TilePlan, bands: int) -> int:
    """Output rows of a band."""
    return -(-_conv(p).out_h // bands)


def tiles_per_band(p: TilePlan, bands: int) -> int:
    return band_rows(p, bands) * p.conv_qt


def _tensors(b: _Build) -> None:
    """The bands of every tensor the group holds: each member's output, each DDR input."""
    g = b.g
    for i, p in enumerate(g.plans):
        layer = _conv(p)
        if layer.batch != 1:
            raise LoweringError(f"'{layer.name}': a resident group runs batch 1")
        readers = [g.plans[c] for c, s in enumerate(g.sources) if s == i]
        b.bands[i] = band_layout(f"x{i + 1}", layer.out_h, layer.out_w, layer.out_channels, p.ob, g.bands, readers,
                                 p.Np)
        if g.sources[i] is None:
            b.bands[-1 - i] = band_layout(f"in{i}", layer.height, layer.width, layer.in_channels, p.ib, g.bands,
                                          [p], 0)


def _ddr_bands(x: Bands) -> list[tuple[int, int, int, tuple[Dim, Dim]]]:
    """How a tensor's bands meet its dense NHWC image in DDR: per band with rows (band, its bytes,
    its first byte in DDR, its pattern over the band's buffer: the real pixels of each row)."""
    run = x.cols * x.cp * x.eb
    return [(j, run * len(rows), rows[0] * run, (Dim(run // W, 1), Dim(len(rows), x.row_bytes // W)))
            for j in range(x.count) if (rows := x.band_rows(j))]


def _load_input(b: _Build, i: int) -> None:
    """Member ``i``'s DDR input (NHWC, ``cp`` channels a pixel) into its bands."""
    x = b.bands[-1 - i]
    b.tensors.append(Tensor(f"in{i}", x.rows * x.cols * x.cp * x.eb))
    for j, length, offset, dims in _ddr_bands(x):
        b.tasks.append(DmaTask("dma", f"in{i}_{j}", (j, 0), "mm2s0", f"in{i}", length, offset))
        b.tasks.append(BufferTask("buffer_dma", f"load{i}_{j}", (j, 1), "s2mm0", x.buffer(j), length,
                                  x.pad * x.cp * x.eb, dims))


def _b_block(b: _Build, i: int, nb: int, s: int) -> str:
    """Load row ``s``'s B block of super-tile column ``nb`` of member ``i`` into a slot; its name."""
    p = b.g.plans[i]
    length = p.kt * p.b_bytes
    slot = f"b{s}_{b.slot % 2}"
    b.tasks.append(DmaTask("dma", f"L{i}.b{nb}_{s}", (s, 0), "mm2s1", f"L{i}.B", length, (nb * p.columns + s) * length))
    b.tasks.append(BufferTask("buffer_dma", f"L{i}.bl{nb}_{s}", (s, 1), "s2mm1", slot, length))
    return slot


def _send_b(b: _Build, i: int, nb: int, s: int, slot: str) -> None:
    p = b.g.plans[i]
    length = p.kt * p.b_bytes
    tiles = tiles_per_band(p, b.g.bands)
    b.tasks.append(BufferTask("buffer_dma", f"L{i}.bs{nb}_{s}", (s, 1), "mm2s1", slot, length * tiles, 0,
                              (Dim(length // W, 1), Dim(tiles, 0))))


def _a_units(b: _Build, i: int, j: int) -> list[tuple[str, int, tuple[Dim, ...]]]:
    """Column ``j``'s A reads of one super-tile column of member ``i``: (buffer, word, dims) per
    output tile and kernel row, in stream order."""
    g, p = b.g, b.g.plans[i]
    src = g.sources[i]
    x = b.bands[src if src is not None else -1 - i]
    layer = _conv(p)
    st, eb = layer.stride, p.ib
    dims = (Dim(p.k * eb // W, 1), Dim(p.m, st * x.cp * eb // W), Dim(p.conv_lp // p.k, p.k * eb // W))
    bo = band_rows(p, g.bands)
    units: list[tuple[str, int, tuple[Dim, ...]]] = []
    for t in range(tiles_per_band(p, g.bands)):
        lr, q = divmod(t, p.conv_qt)
        out_row = j * bo + lr
        for r in range(layer.kernel_h):
            y = out_row * st - layer.padding + r
            if out_row >= layer.out_h or not 0 <= y < layer.height:
                units.append((f"zero{j}", 0, dims))
                continue
            if abs(y // x.bh - j) > 1:
                raise LoweringError(f"'{layer.name}': column {j}'s windows reach band {y // x.bh}, past its neighbours")
            buf, off = x.at(y, q * p.m * st - layer.padding)
            units.append((buf, off // W, dims))
    return units


def _read_a(b: _Build, i: int, j: int, nb: int) -> list[tuple[int, Task]]:
    """Column ``j``'s A reads of super-tile column ``nb`` of member ``i``, merged into few tasks,
    each with the first output tile it feeds."""
    units = _a_units(b, i, j)
    kh = _conv(b.g.plans[i]).kernel_h
    out: list[tuple[int, Task]] = []
    k = 0
    while k < len(units):
        end = k
        while end < len(units) and units[end][0] == units[k][0]:
            end += 1
        first = k
        for n, (w, d) in enumerate(merge(merge([(w, d) for _, w, d in units[k:end]], 1 << 30), 64)):
            out.append((first // kh, BufferTask("buffer_dma", f"L{i}.a{nb}_{j}_{k}_{n}", (j, 1), "mm2s0",
                                                units[k][0], pattern_bytes(d), w * W, d)))
            first += pattern_bytes(d) // (pattern_bytes(units[k][2]))
        k = end
    return out


def _write_c(b: _Build, i: int, j: int, s: int, nb: int, t: int) -> list[BufferTask]:
    """Core ``(j, s)``'s output tile ``t`` of super-tile column ``nb`` into member ``i``'s band ``j``
    (its real pixels; the rest into the channel's scratch)."""
    p, y = b.g.plans[i], b.bands[i]
    layer = _conv(p)
    per = W // p.ob
    out_row = j * band_rows(p, b.g.bands) + t // p.conv_qt
    x = (t % p.conv_qt) * p.m + np.arange(p.m)
    ch = (nb * p.columns + s) * p.n + np.arange(p.n // per) * per
    real = (out_row < layer.out_h) & (x < layer.out_w)[:, None] & (ch < y.cp)[None, :]
    where = (((out_row - j * y.bh) * y.wp + x[:, None] + y.pad) * y.cp + ch[None, :]) * p.ob // W
    out = []
    for n, piece in enumerate(compress(np.where(real, where, JUNK).reshape(-1), 4, 64)):
        buf = f"scratch{j}_{s}" if piece.scratch else y.buffer(j)
        if piece.scratch:
            b.scratch[(j, s)] = max(b.scratch.get((j, s), 0), piece.length_bytes)
        out.append(BufferTask("buffer_dma", f"L{i}.c{nb}_{t}_{j}_{s}_{n}", (j, 1), f"s2mm{2 + s}", buf,
                              piece.length_bytes, piece.offset_bytes, piece.dims))
    return out


def _copy_out(b: _Build, i: int) -> None:
    """Member ``i``'s output bands to DDR (NHWC, ``cp`` channels a pixel), through the shims."""
    y = b.bands[i]
    b.tensors.append(Tensor(f"L{i}.out", y.rows * y.cols * y.cp * y.eb))
    for j, length, offset, dims in _ddr_bands(y):
        b.tasks.append(BufferTask("buffer_dma", f"L{i}.out_{j}", (j, 1), "mm2s2", y.buffer(j), length,
                                  y.pad * y.cp * y.eb, dims))
        b.tasks.append(DmaTask("dma", f"L{i}.store_{j}", (j, 0), "s2mm0", f"L{i}.out", length, offset))


def _schedule(b: _Build) -> None:
    """Every task in issue order: inputs; then per member and super-tile column its weights (the
    next block loading meanwhile) and, in the order of the output tiles they serve, its A reads and
    output writes (so that a task queue only fills with work whose inputs are issued); outputs to
    DDR last."""
    g = b.g
    for i, src in enumerate(g.sources):
        if src is None:
            _load_input(b, i)
    blocks = [(i, nb) for i, p in enumerate(g.plans) for nb in range(p.nb)]
    slots = [_b_block(b, 0, 0, s) for s in range(g.slices)]
    for n, (i, nb) in enumerate(blocks):
        for s in range(g.slices):
            _send_b(b, i, nb, s, slots[s])
        timed: list[tuple[int, int, Task]] = []
        for j in range(g.bands):
            timed += [(t, 0, op) for t, op in _read_a(b, i, j, nb)]
        for t in range(tiles_per_band(g.plans[i], g.bands)):
            for j in range(g.bands):
                for s in range(g.slices):
                    timed += [(t, 1, op) for op in _write_c(b, i, j, s, nb, t)]
        b.tasks += [op for _, _, op in sorted(timed, key=lambda e: (e[0], e[1]))]
        if n + 1 < len(blocks):
            b.slot += 1
            slots = [_b_block(b, *blocks[n + 1], s) for s in range(g.slices)]
    for i, ext in enumerate(g.external):
        if ext:
            _copy_out(b, i)


def _routes(g: Resident) -> tuple[Route, ...]:
    C, R = g.bands, g.slices
    out = []
    for j in range(C):
        out += [Route(f"in{j}", Endpoint((j, 0), "mm2s0"), (Endpoint((j, 1), "s2mm0"),)),
                Route(f"a_col{j}", Endpoint((j, 1), "mm2s0"), tuple(Endpoint((j, s + 2), "s2mm0") for s in range(R))),
                Route(f"out{j}", Endpoint((j, 1), "mm2s2"), (Endpoint((j, 0), "s2mm0"),))]
        out += [Route(f"c{j}_{s}", Endpoint((j, s + 2), "mm2s0"), (Endpoint((j, 1), f"s2mm{2 + s}"),)) for s in range(R)]
    for s in range(R):
        out += [Route(f"b_in{s}", Endpoint((s, 0), "mm2s1"), (Endpoint((s, 1), "s2mm1"),)),
                Route(f"b_row{s}", Endpoint((s, 1), "mm2s1"), tuple(Endpoint((j, s + 2), "s2mm1") for j in range(C)))]
    return tuple(out)


def _mem_tiles(b: _Build) -> list[TileProgram]:
    g = b.g
    block = max(p.kt * p.b_bytes for p in g.plans)
    zero = max(y.row_bytes for y in b.bands.values())
    tiles = []
    for j in range(g.bands):
        bufs = [Buffer(f"b{j}_{s}", block) for s in (0, 1)] if j < g.slices else []
        bufs += [Buffer(y.buffer(j), y.band_bytes) for _, y in sorted(b.bands.items())]
        bufs += [Buffer(f"zero{j}", zero)]
        bufs += [Buffer(f"scratch{j}_{s}", size) for (c, s), size in sorted(b.scratch.items()) if c == j]
        tiles.append(TileProgram((j, 1), tuple(bufs)))
    return tiles


def build_resident(config: NPUConfig, g: Resident, name: str = "group") -> tuple[Program, Placed, dict[int, Bands]]:
    """The resident group's verified program, and the bands of each tensor it keeps."""
    if g.slices > g.bands or g.slices > config.mem_tile.dma.s2mm_channels - 2 or g.bands > config.columns:
        raise LoweringError(f"a resident group needs slices <= bands <= columns ({config.columns}) and slices <= "
                            f"{config.mem_tile.dma.s2mm_channels - 2}")
    b = _Build(g)
    try:
        _tensors(b)
    except ValueError as exc:
        raise LoweringError(str(exc)) from None
    _schedule(b)
    counts = [p.nb * tiles_per_band(p, g.bands) for p in g.plans]
    computes = [compute_tile(list(g.plans), counts, j, s) for j in range(g.bands) for s in range(g.slices)]
    weights = tuple(Tensor(f"L{i}.B", p.Np // p.n * p.kt * p.b_bytes) for i, p in enumerate(g.plans))
    program = Program(name, tuple(_mem_tiles(b)) + tuple(computes), _routes(g), weights + tuple(b.tensors),
                      with_waits(b.tasks), f"resident group of {', '.join(p.layer.name for p in g.plans)}")
    return program, verify_lowering(program, config, name, f"the resident group {name}"), b.bands
