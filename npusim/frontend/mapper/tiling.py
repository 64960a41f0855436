"""Tile sizes and placement of a matrix multiplication on the array, and why they were chosen.

The layer is computed as ``C[M, N] = A[M, K] @ B[K, N]`` (a convolution as an implicit GEMM, see
:mod:`.conv`). Every compute tile ``(column j, row i)`` owns an ``m x n`` block of each
*super-tile* of ``rows*m x columns*n`` outputs and reduces over ``K`` in steps of ``k``: the
``A`` tile of row ``i`` is broadcast along the row, the ``B`` tile of column ``j`` down the
column. Rows are fed in groups of ``g = ceil(rows / columns)`` from the memory tiles of the first
columns ("feeders").

Sizes are multiples of the AIE-ML matmul shapes (``m`` of 4, ``k`` and ``n`` of 8), and chosen
from the candidates that fit the tile memories by an estimate of the run's time: the largest of
the compute time, the DDR time and the stream time; ties go to less padding, then larger tiles.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from ...config import KernelError, NPUConfig
from ...hw.timing import (
    compute_cycles, ddr_access_bytes, epilogue_cycles, ddr_bytes_per_cycle, stream_bytes_per_cycle,
)
from ...isa import WORD_BYTES as W, Dim, Layout, Program, ProgramError, verify
from ...numerics import ACC_BYTES, IN_BYTES, OUT_BYTES, OutType
from ..layers.matmul import Conv2d, Gemm

STACK_BYTES = 1024
"""Data memory a core keeps for its stack (mlir-aie's default core stack size, 0x400)."""

_M = (4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256)
_K = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
_N = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256)


class LoweringError(ValueError):
    """A layer cannot be lowered onto a config; the message says why and what to change."""


def verify_lowering(program: Program, config: NPUConfig, name: str, what: str) -> Layout:
    """Verify a lowering's program; a program the config cannot hold is a :class:`LoweringError`
    naming ``what`` was lowered (the layer and its tiling) and the config."""
    try:
        return verify(program, config, f"layer '{name}'")
    except ProgramError as exc:
        raise LoweringError(f"{exc}\n(the lowering of {what} does not fit config '{config.name}')") from None


def up(x: int, mult: int) -> int:
    """``x`` rounded up to a multiple of ``mult``."""
    return -(-x // mult) * mult


@dataclass(frozen=True, slots=True)
class Estimate:
    compute: int
    """Cycles of one core's kernel calls and lock operations (every core does the same)."""
    ddr: int
    """Cycles DDR needs for every byte the plan moves (access granularity included)."""
    stream: int
    """Cycles the busiest stream needs."""
    ddr_bytes: int

    @property
    def cycles(self) -> int:
        return max(self.compute, self.ddr, self.stream)

    @property
    def bound(self) -> str:
        return max((self.compute, "compute"), (self.ddr, "DDR"), (self.stream, "stream"))[1]


@dataclass(frozen=True, slots=True)
class TilePlan:
    """Everything the program generator needs, and what ``--explain`` prints."""

    layer: Gemm | Conv2d
    columns: int
    rows: int
    m: int
    k: int
    n: int
    M: int
    K: int
    N: int
    Mp: int
    Kp: int
    Np: int
    group: int
    """Compute rows fed by one memory tile (``g``)."""
    kernel_cycles: int
    estimate: Estimate
    conv_cp: int = 0
    """Convolutions: input channels padded to whole DMA words."""
    conv_lp: int = 0
    """Convolutions: one kernel row's ``kernel_w * cp`` elements, padded to a multiple of ``k``."""
    conv_qt: int = 0
    """Convolutions: pixel tiles per output row."""
    iterations: int = 64
    """Super-tile columns one shim task covers at most (its iteration dimension,
    ``shim_tile.dma.max_iterations``)."""

    @property
    def dtype(self) -> str:
        return self.layer.dtype

    @property
    def out(self) -> OutType:
        return self.layer.output

    @property
    def ib(self) -> int:
        return IN_BYTES[self.layer.dtype]

    @property
    def ob(self) -> int:
        return OUT_BYTES[self.layer.output]

    @property
    def kt(self) -> int:
        """Reduction steps per output tile."""
        return self.Kp // self.k

    @property
    def mb(self) -> int:
        """Super-tile rows."""
        return self.Mp // (self.rows * self.m)

    @property
    def nb(self) -> int:
        """Super-tile columns."""
        return self.Np // (self.columns * self.n)

    @property
    def feeders(self) -> int:
        """Columns whose memory tile feeds A to a group of compute rows."""
        return -(-self.rows // self.group)

    def group_rows(self, col: int) -> range:
        """Compute rows (0-based) whose A tiles come through column ``col``'s memory tile."""
        return range(col * self.group, min(self.rows, (col + 1) * self.group))

    @property
    def b_bytes(self) -> int:
        """Bytes of one B tile as it travels: ``k x n`` operands, then the bias if fused."""
        return b_tile_bytes(self.k, self.n, self.ib, self.layer.bias)

    @property
    def l1_bytes(self) -> int:
        return l1_bytes(self.m, self.k, self.n, self.ib, self.layer.bias)

    @property
    def memtile_bytes(self) -> int:
        return memtile_bytes(self.m, self.k, self.n, self.ib, self.ob, self.group, self.rows, self.layer.bias)

    @property
    def calls_per_core(self) -> int:
        return self.mb * self.nb * self.kt


def b_tile_bytes(k: int, n: int, ib: int, bias: bool) -> int:
    """A B tile: ``k x n`` operands, followed by ``n`` 32-bit bias values when a bias is fused (the
    bias rides with every B tile, a layout made offline with the weights)."""
    return k * n * ib + (n * ACC_BYTES if bias else 0)


def l1_bytes(m: int, k: int, n: int, ib: int, bias: bool = False) -> int:
    """A compute tile's data memory use: A, B and the 32-bit C accumulators, double-buffered."""
    return 2 * (m * k * ib + b_tile_bytes(k, n, ib, bias) + m * n * ACC_BYTES) + STACK_BYTES


def memtile_bytes(m: int, k: int, n: int, ib: int, ob: int, group: int, rows: int, bias: bool = False) -> int:
    """A memory tile's use: A for its rows, B for its column, C from every row, double-buffered."""
    return 2 * (group * m * k * ib + b_tile_bytes(k, n, ib, bias) + rows * m * n * ob)


def shape_of(layer: Gemm | Conv2d) -> tuple[int, int, int]:
    """The implicit GEMM of a layer: (M, K, N)."""
    if isinstance(layer, Gemm):
        return layer.m, layer.k, layer.n
    return (layer.batch * layer.out_h * layer.out_w, layer.kernel_h * layer.kernel_w * layer.in_channels,
            layer.out_channels)


def conv_channels(layer: Conv2d) -> int:
    """Input channels padded so that a pixel is a whole number of 32-bit words."""
    return up(layer.in_channels, 4 // IN_BYTES[layer.dtype])


def _padded(layer: Gemm | Conv2d, rows: int, cols: int, m: int, k: int, n: int,
            group: int) -> tuple[int, int, int, int, int, int]:
    """(Mp, Kp, Np, cp, lp, qt) for these tile sizes."""
    M, K, N = shape_of(layer)
    Np = up(N, cols * n)
    if isinstance(layer, Gemm):
        return up(M, rows * m), up(K, k), Np, 0, 0, 0
    cp = conv_channels(layer)
    lp = up(layer.kernel_w * cp, k)
    qt = -(-layer.out_w // m)
    if group > 1:  # a feeder's rows take consecutive pixel tiles: keep a super-tile in one output row
        qt = up(qt, rows)
    tiles = layer.batch * layer.out_h * qt
    return up(tiles, rows) * m, layer.kernel_h * lp, Np, cp, lp, qt


def _ddr_estimate(config: NPUConfig, layer: Gemm | Conv2d, m: int, k: int, n: int, Mp: int, Kp: int,
                  Np: int, cols: int, rows: int, group: int, cp: int) -> int:
    ib, ob = IN_BYTES[layer.dtype], OUT_BYTES[layer.output]
    nb, mb, kt = Np // (cols * n), Mp // (rows * m), Kp // k
    if isinstance(layer, Gemm):
        a_dims = (Dim(k * ib // W, 1), Dim(group * m, Kp * ib // W))
    else:
        a_dims = (Dim(k * ib // W, 1), Dim(group * m, layer.stride * cp * ib // W))
    a_len = group * m * k * ib
    a = ddr_access_bytes(config.ddr, a_len, a_dims) * (rows * mb // group) * nb * kt
    b = ddr_access_bytes(config.ddr, kt * b_tile_bytes(k, n, ib, layer.bias), ()) * cols * nb * mb  # tile by tile
    c = ddr_access_bytes(config.ddr, m * n * ob, (Dim(n * ob // W, 1), Dim(m, Np * ob // W))) * rows * cols * nb * mb
    return a + b + c


def plan(config: NPUConfig, layer: Gemm | Conv2d, tiles: tuple[int, int, int] | None = None) -> TilePlan:
    """Choose tile sizes for ``layer`` on ``config`` (or check the given ``(m, k, n)``)."""
    try:
        kernel = config.compute_tile.kernel(None, layer.dtype, None, layer.output)
    except KernelError as exc:
        raise LoweringError(f"layer '{layer.name}' ({layer.describe()}): config '{config.name}': {exc}") from None
    for step in layer.epilogue:
        if layer.dtype not in config.compute_tile.vector.get(step, {}):  # type: ignore[call-overload]
            raise LoweringError(
                f"layer '{layer.name}' ({layer.describe()}): the fused {step} needs its vector timing, but the "
                f"config '{config.name}' gives none (compute_tile.vector.{step}.{layer.dtype}); add it")
    rows, cols = config.compute_rows, config.columns
    if rows < 1:
        raise LoweringError(f"config '{config.name}' has no compute rows (compute_rows = 0); a layer needs "
                            "at least one")
    group = -(-rows // cols)
    ib, ob = IN_BYTES[layer.dtype], OUT_BYTES[layer.output]
    M, K, N = shape_of(layer)
    l1 = config.compute_tile.data_mem_kib * 1024
    l2 = config.mem_tile.size_kib * 1024
    rate = stream_bytes_per_cycle(config.stream_switch, config.shim_tile.dma,
                                  [config.mem_tile.dma, config.compute_tile.dma])
    startup = config.compute_tile.dma.startup_cycles + config.locks.acquire_cycles
    bpc = ddr_bytes_per_cycle(config.ddr, config.clock_mhz)
    kmax = up(K if isinstance(layer, Gemm) else layer.kernel_w * conv_channels(layer), 8)
    if tiles is not None:
        m, k, n = tiles
        if m < 1 or k < 1 or n < 1 or m % 4 or k % 8 or n % 8:
            raise LoweringError(f"layer '{layer.name}': tiles m={m} k={k} n={n}: m must be a multiple of 4, k and n "
                                "of 8 (the AIE-ML matmul shapes and whole DMA words)")
        if kernel.tile_problem(m, k, n):
            raise LoweringError(f"layer '{layer.name}': tiles m={m} k={k} n={n}: the kernel cannot run them: "
                                f"{kernel.tile_problem(m, k, n)}")
        cands = [tiles]
    else:
        rm, rk, rn = kernel.tile_multiple  # the kernel's smallest tile is always a candidate
        cands = [(m, k, n) for m, k, n in itertools.product(_M, _K, _N)
                 if m <= max(rm, up(-(-M // rows), 4)) and k <= max(rk, kmax) and n <= max(rn, up(-(-N // cols), 8))
                 and kernel.tile_problem(m, k, n) is None]
    best: tuple[tuple[int, int, int, int], TilePlan] | None = None
    smallest_need = None
    for m, k, n in cands:
        need1, need2 = l1_bytes(m, k, n, ib, layer.bias), memtile_bytes(m, k, n, ib, ob, group, rows, layer.bias)
        if need1 > l1 or need2 > l2:
            if smallest_need is None or need1 < smallest_need[0]:
                smallest_need = (need1, need2, (m, k, n))
            continue
        Mp, Kp, Np, cp, lp, qt = _padded(layer, rows, cols, m, k, n, group)
        kc = compute_cycles(kernel, m, k, n)
        out_tiles = (Mp // (rows * m)) * (Np // (cols * n))
        steps = out_tiles * (Kp // k)
        lock_ops = 2 * (config.locks.acquire_cycles + config.locks.release_cycles)  # A, B in; A, B out
        ddr_bytes = _ddr_estimate(config, layer, m, k, n, Mp, Kp, Np, cols, rows, group, cp)
        epilogue = epilogue_cycles(config.compute_tile, layer.dtype, m * n, layer.bias, layer.relu)
        est = Estimate(compute=steps * (kc + lock_ops) + out_tiles * epilogue, ddr=math.ceil(ddr_bytes / bpc),
                       stream=steps * (math.ceil(max(group * m * k * ib, b_tile_bytes(k, n, ib, layer.bias)) / rate)
                                       + startup),
                       ddr_bytes=ddr_bytes)
        p = TilePlan(layer, cols, rows, m, k, n, M, K, N, Mp, Kp, Np, group, kc, est, cp, lp, qt,
                     config.shim_tile.dma.max_iterations)
        key = (est.cycles, Mp * Kp * Np, -(m * n * k), m)
        if best is None or key < best[0]:
            best = (key, p)
    if best is None:
        assert smallest_need is not None
        need1, need2, (m, k, n) = smallest_need
        what = ("the tiles" if tiles is not None else "no tile size fits. The smallest candidate,")
        raise LoweringError(
            f"layer '{layer.name}' ({layer.describe()}): {what} m={m} k={k} n={n}"
            f"{' need' if tiles is not None else ', needs'} {need1} bytes of compute-tile data memory (A, B and 32-bit C "
            f"double-buffered + {STACK_BYTES} B stack; limit compute_tile.data_mem_kib = "
            f"{config.compute_tile.data_mem_kib}) and {need2} bytes of memory tile (limit "
            f"mem_tile.size_kib = {config.mem_tile.size_kib}); give the tiles more memory")
    return best[1]
