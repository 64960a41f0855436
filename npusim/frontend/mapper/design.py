"""A matmul design: every choice the mapper makes for a layer, and the plan it implies.

A layer is computed as ``C[M, N] = A[M, K] @ B[K, N]`` (a convolution as an implicit GEMM, see
:mod:`..program.conv`) on the first ``columns`` columns and the lowest ``rows`` compute rows of the
array. Core ``(column j, row i)`` owns an ``m x n`` block of each *super-tile* of
``rows*m x columns*n`` outputs and reduces over ``K`` in ``k`` steps; row ``i``'s A tile is
broadcast along the row, column ``j``'s B tile down the column, from the memory tiles, which also
join the cores' C blocks for the shim. Rows are fed in groups of ``g = ceil(rows / columns)`` by
the memory tiles of the first columns ("feeders").

The options of a :class:`Design`:

- ``columns``, ``rows``: the part of the array used (a design for a smaller array is a candidate on
  a larger one, so more hardware is never slower);
- ``m``, ``k``, ``n``: the per-core tile;
- ``c_buffers``: 1 or 2 C buffers in each compute tile (single-buffered, the core waits while its
  C drains; double-buffered, the drain overlaps the next output tile);
- ``c_storage``: ``acc`` keeps C as 32-bit accumulators between reduction steps and converts once
  (exact integer sums; fp32 sums for bf16); ``out`` keeps it in the output type, as mlir-aie's
  stock kernels do: each step widens C, adds its products and rounds back (bf16: one rounding per
  step; narrow integers: shift-round-saturate per step), half or a quarter of the memory;
- ``reuse``: ``a`` keeps the A row block of a super-tile row resident in the feeders' memory tiles
  across all super-tile columns (A read from DDR once), ``b`` keeps each column's B column block
  resident across all super-tile rows (B read once); ``none`` streams both (A read once per
  super-tile column, B once per super-tile row). Resident blocks are double-buffered, so the next
  block loads while the current one is used;
- ``b_layout``: how B is stored in DDR: ``tiled`` (``k x n`` tiles, one contiguous run per column
  of tiles: a layout made offline, for weights), ``col`` (column-major, runs of ``k`` elements per
  column; the core reads ``n x k`` tiles), ``row`` (row-major, runs of ``n`` elements);
- ``split``: how the rows of a column divide the work: ``m`` (each row owns other output rows: A
  per row, broadcast along the row; B broadcast down the column) or ``n`` (each core owns other
  output columns: the first column's memory tile broadcasts one A to every core and each column's
  sends each row its own B, so a column's B reaches its cores ``rows`` times as fast: for layers
  with few output rows, and GEMVs);
- ``pixels`` (convolutions): a tile's ``m`` output pixels are a ``strip`` of one output row (the
  row padded to whole tiles), or ``rows``: whole output rows (``m`` a multiple of the output
  width), which lets layers with narrow outputs (7x7, 14x14) use large tiles;
- ``a_block`` (convolutions): the shim gathers A one reduction ``step`` at a time (``k`` channels of
  ``m`` pixels: contiguous runs when the pixels' windows abut, one task per super-tile) or one kernel
  ``row`` at a time (each pixel's window row, ``lp`` elements, one run each; a task may repeat for
  several super-tiles). A GEMM's A moves a step at a time, or a row block when resident.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from ...numerics import ACC_BYTES, IN_BYTES, OUT_BYTES, OutType
from ..layers.matmul import Conv2d, Gemm
from .estimate import Estimate
from .sizes import a_run_bytes, b_plain_bytes, b_tile_bytes

STACK_BYTES = 1024
"""Data memory a core keeps for its stack (mlir-aie's default core stack size, 0x400)."""

Reuse = Literal["none", "a", "b"]
CStorage = Literal["acc", "out"]
BLayout = Literal["tiled", "col", "row"]
ABlock = Literal["step", "row"]
Split = Literal["m", "n"]
Pixels = Literal["strip", "rows"]
REUSE: tuple[Reuse, ...] = ("none", "a", "b")
C_STORAGE: tuple[CStorage, ...] = ("acc", "out")
B_LAYOUTS: tuple[BLayout, ...] = ("tiled", "col", "row")
SPLITS: tuple[Split, ...] = ("m", "n")


def up(x: int, mult: int) -> int:
    """``x`` rounded up to a multiple of ``mult``."""
    return -(-x // mult) * mult


@dataclass(frozen=True, slots=True)
class Design:
    """Every choice of a matmul mapping (see the module doc)."""

    columns: int
    rows: int
    m: int
    k: int
    n: int
    c_buffers: int = 2
    c_storage: CStorage = "acc"
    reuse: Reuse = "none"
    b_layout: BLayout = "tiled"
    a_block: ABlock = "step"
    split: Split = "m"
    pixels: Pixels = "strip"

    @property
    def group(self) -> int:
        """Distinct A tiles one memory tile feeds: the rows it feeds when rows split M, else one."""
        return -(-self.rows // self.columns) if self.split == "m" else 1

    @property
    def tile_rows(self) -> int:
        """Cores along M in a super-tile: every row when rows split M, else one."""
        return self.rows if self.split == "m" else 1

    @property
    def slices(self) -> int:
        """B slices a column's memory tile sends: one broadcast, or one per row when rows split N."""
        return 1 if self.split == "m" else self.rows

    @property
    def order(self) -> str:
        """Loop order of the super-tiles: ``mn`` (rows outer) or ``nm`` (columns outer, B resident)."""
        return "nm" if self.reuse == "b" else "mn"

    def describe(self) -> str:
        return (f"{self.columns}x{self.rows} cores, tiles {self.m}x{self.k}x{self.n}, C {self.c_storage} "
                f"x{self.c_buffers}, reuse {self.reuse}, B {self.b_layout}"
                + (f", A by {self.a_block}" if self.a_block != "step" else "")
                + (", rows split N" if self.split == "n" else "")
                + (", tiles of whole output rows" if self.pixels == "rows" else ""))

    def key(self) -> tuple[object, ...]:
        """A total order for deterministic tie-breaks: larger arrays and tiles first."""
        return (-self.columns, -self.rows, -self.m * self.n * self.k, -self.m, -self.k, -self.c_buffers,
                C_STORAGE.index(self.c_storage), REUSE.index(self.reuse), B_LAYOUTS.index(self.b_layout),
                self.a_block != "step", self.split, self.pixels)


@dataclass(frozen=True, slots=True)
class Pins:
    """Choices the user fixes; ``None`` leaves a choice to the search."""

    columns: int | None = None
    rows: int | None = None
    tiles: tuple[int, int, int] | None = None
    c_buffers: int | None = None
    c_storage: CStorage | None = None
    reuse: Reuse | None = None
    b_layout: BLayout | None = None
    a_block: ABlock | None = None
    split: Split | None = None
    pixels: Pixels | None = None

    @staticmethod
    def of(d: Design) -> "Pins":
        """Pins that fix every choice of design ``d``."""
        return Pins(d.columns, d.rows, (d.m, d.k, d.n), d.c_buffers, d.c_storage, d.reuse, d.b_layout, d.a_block,
                    d.split, d.pixels)

    def allows(self, d: Design) -> bool:
        if self.tiles is not None and (d.m, d.k, d.n) != self.tiles:
            return False
        return all(getattr(self, f.name) in (None, getattr(d, f.name)) for f in fields(self) if f.name != "tiles")

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                         if getattr(self, f.name) is not None) or "none"


def c_bytes(c_storage: str, out: OutType) -> int:
    """Bytes of one stored C element: a 32-bit accumulator, or the output type."""
    return ACC_BYTES if c_storage == "acc" else OUT_BYTES[out]


def shape_of(layer: Gemm | Conv2d) -> tuple[int, int, int]:
    """The implicit GEMM of a layer: (M, K, N)."""
    if isinstance(layer, Gemm):
        return layer.m, layer.k, layer.n
    return (layer.batch * layer.out_h * layer.out_w, layer.kernel_h * layer.kernel_w * layer.in_channels,
            layer.out_channels)


def conv_channels(layer: Conv2d) -> int:
    """Input channels padded so that a pixel is a whole number of 32-bit words."""
    return up(layer.in_channels, 4 // IN_BYTES[layer.dtype])


@dataclass(frozen=True, slots=True)
class TilePlan:
    """A design applied to a layer: the padded shapes and everything the program builder needs."""

    layer: Gemm | Conv2d
    design: Design
    M: int
    K: int
    N: int
    Mp: int
    Kp: int
    Np: int
    kernel_cycles: int
    estimate: Estimate
    conv_cp: int = 0
    """Convolutions: input channels padded to whole DMA words."""
    conv_lp: int = 0
    """Convolutions: one kernel row's ``kernel_w * cp`` elements, padded to a multiple of ``k``."""
    conv_qt: int = 0
    """Convolutions, strip tiles: pixel tiles per output row."""
    conv_tpi: int = 0
    """Convolutions, tiles of whole output rows: tiles per image (``m / out_w`` rows each)."""
    iterations: int = 64
    """Largest iteration dimension of a shim task (``shim_tile.dma.max_iterations``)."""
    mem_iterations: int = 64
    """Largest iteration dimension of a memory-tile BD (``mem_tile.dma.max_iterations``)."""

    @property
    def columns(self) -> int:
        return self.design.columns

    @property
    def rows(self) -> int:
        return self.design.rows

    @property
    def m(self) -> int:
        return self.design.m

    @property
    def k(self) -> int:
        return self.design.k

    @property
    def n(self) -> int:
        return self.design.n

    @property
    def group(self) -> int:
        return self.design.group

    @property
    def dtype(self) -> str:
        return self.layer.dtype

    @property
    def out(self) -> OutType:
        return self.layer.output

    @property
    def ib(self) -> int:
        """Bytes of an A element (plain types; a convolution's A is one)."""
        return IN_BYTES[self.layer.dtype]

    def a_run(self, elems: int) -> int:
        """Bytes of ``elems`` A elements along K (:func:`a_run_bytes`)."""
        return int(a_run_bytes(self.layer, elems))

    @property
    def jb(self) -> int:
        """Bytes of a B element in B's row- or column-major layouts (:func:`b_plain_bytes`)."""
        return b_plain_bytes(self.layer)

    @property
    def a_tile_bytes(self) -> int:
        """One A tile (``m x k``) in the compute tile."""
        return self.design.m * self.a_run(self.design.k)

    @property
    def ob(self) -> int:
        return OUT_BYTES[self.layer.output]

    @property
    def cb(self) -> int:
        """Bytes of a stored C element in the compute tile."""
        return c_bytes(self.design.c_storage, self.out)

    @property
    def c_type(self) -> OutType | None:
        """The type C is kept in between reduction steps (None: 32-bit accumulators)."""
        return self.out if self.design.c_storage == "out" else None

    @property
    def kt(self) -> int:
        """Reduction steps per output tile."""
        return self.Kp // self.k

    @property
    def mb(self) -> int:
        """Super-tile rows."""
        return self.Mp // (self.design.tile_rows * self.m)

    @property
    def nb(self) -> int:
        """Super-tile columns."""
        return self.Np // (self.columns * self.design.slices * self.n)

    @property
    def feeders(self) -> int:
        """Columns whose memory tile feeds A: those of the row groups, or the first alone."""
        return -(-self.rows // self.group) if self.design.split == "m" else 1

    def group_rows(self, col: int) -> range:
        """Compute rows (0-based) whose A tiles come through column ``col``'s memory tile (every
        row of every column from the first one's when rows split N)."""
        if self.design.split == "n":
            return range(self.rows if col == 0 else 0)
        return range(col * self.group, min(self.rows, (col + 1) * self.group))

    def a_tiles(self, col: int) -> int:
        """Distinct A tiles (of ``m`` rows each) column ``col``'s memory tile takes per step."""
        return len(self.group_rows(col)) if self.design.split == "m" else 1

    def a_first_tile(self, mb: int, col: int) -> int:
        """Index (along M, in tiles of ``m``) of the first A tile column ``col`` takes for super-tile row ``mb``."""
        return mb * self.rows + self.group_rows(col)[0] if self.design.split == "m" else mb

    @property
    def b_bytes(self) -> int:
        """Bytes of one B tile as it travels: ``k x n`` operands, then the bias if fused."""
        return int(b_tile_bytes(self.layer, self.k, self.n))

    @property
    def a_block_steps(self) -> int:
        """Reduction steps of A one memory-tile block holds: all of them when A is resident, one
        kernel row's for a convolution's A by rows, else one."""
        if self.design.reuse == "a":
            return self.kt
        return self.conv_lp // self.k if self.design.a_block == "row" else 1

    @property
    def b_block_steps(self) -> int:
        """Reduction steps of B one memory-tile block holds: all of them when B is resident, else one."""
        return self.kt if self.design.reuse == "b" else 1

    @property
    def l1_bytes(self) -> int:
        """A compute tile's data memory use: A and B double-buffered, C, the stack."""
        d = self.design
        return 2 * (self.a_tile_bytes + self.b_bytes) + d.c_buffers * d.m * d.n * self.cb + STACK_BYTES

    @property
    def memtile_bytes(self) -> int:
        """A feeder memory tile's use: the A blocks of its rows, the B blocks (slices) of its column,
        the C blocks of every row, each double-buffered."""
        d = self.design
        a = self.a_tiles(0) * d.m * self.a_run(self.a_block_steps * d.k)
        return 2 * (a + d.slices * self.b_block_steps * self.b_bytes + d.rows * d.m * d.n * self.ob)

    @property
    def calls_per_core(self) -> int:
        return self.mb * self.nb * self.kt
