"""The design space of a matmul layer: every design that fits the config, with its estimate.

Tile sizes are multiples of the AIE-ML matmul shapes (``m`` of 4, ``k`` and ``n`` of 8) from a
grid that includes the published kernels' sizes, up to the layer's size, and only those the
layer's kernel supports (``KernelSpec.tile_problem``: its mmul multiples and size limits). For each part of the
array (1..``columns`` columns x 1..usable compute rows) and each combination of the other options
(C buffers, C storage, reuse, B layout) the whole grid of tile sizes is evaluated at once by
:func:`.estimate.estimate_grid`, after dropping the tile sizes that do not fit the compute tile's
data memory or the memory tile. A design that fits a smaller array or smaller memories is still a
candidate on a larger one.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...numerics import OUT_BYTES
from ..errors import LoweringError
from ..layers.matmul import Conv2d, Gemm
from .design import B_LAYOUTS, C_STORAGE, REUSE, SPLITS, STACK_BYTES, Design, Pins, TilePlan, conv_channels, shape_of, up
from .estimate import RESIDENT_A, RESIDENT_B, Context, Estimate, estimate_grid
from .sizes import BLOCK_B, a_run_bytes, b_tile_bytes, k_problem

TILE_M = (4, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 192, 256)
TILE_K = (8, 16, 24, 32, 40, 48, 56, 64, 72, 96, 104, 112, 128, 152, 192, 232, 256, 384, 512)
TILE_N = (8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 192, 256)
"""Tile sizes considered: powers of two and their halves, and the sizes of published kernels
(arXiv 2512.13282 Tables 1-3: e.g. 64x232x64, 112x112x112, 112x104x128, 96x56x96, 144x72x144,
160x64x144, 48x152x48, 160x40x80)."""


@dataclass(frozen=True, slots=True)
class Group:
    """The candidates of one part of the array and one shape of data movement (B layout, A block,
    split, pixels): parallel arrays over the tile sizes and C and reuse options that fit, with
    their estimates."""

    columns: int
    rows: int
    shape: tuple[str, str, str, str]
    """(b_layout, a_block, split, pixels)."""
    grid: dict[str, Any]
    est: dict[str, Any]

    def design(self, i: int) -> Design:
        g = self.grid
        bl, ab, sp, px = self.shape
        if ab == "row" and px == "strip" and int(g["lp"][i]) == int(g["k"][i]) and REUSE[int(g["reuse"][i])] != "a":
            ab = "step"  # one step per kernel row: the same design (whole rows and resident A need "row")
        return Design(self.columns, self.rows, int(g["m"][i]), int(g["k"][i]), int(g["n"][i]), int(g["c_buffers"][i]),
                      C_STORAGE[int(g["c_storage"][i])], REUSE[int(g["reuse"][i])], bl, ab, sp, px)  # type: ignore[arg-type]


def usable_rows(ctx: Context) -> int:
    """Compute rows a design can use: each needs a memory-tile S2MM channel for its C, besides the
    two that bring A and B in."""
    return min(ctx.config.compute_rows, ctx.config.mem_tile.dma.s2mm_channels - 2)


def row_tiles(layer: Conv2d) -> list[int]:
    """Sizes ``m`` of tiles of whole output rows: multiples of the output width and of 4, up to 256
    pixels and one tile more than the image's rows."""
    return [j * layer.out_w for j in range(1, layer.out_h + 4) if j * layer.out_w % 4 == 0 and j * layer.out_w <= 256]


def tile_grid(ctx: Context, columns: int, rows: int, pins: Pins, pixels: str = "strip") -> tuple[Any, Any, Any]:
    """Arrays (m, k, n) of the tile sizes considered for this part of the array."""
    layer = ctx.layer
    if pins.tiles is not None:
        if pixels == "rows" and isinstance(layer, Conv2d) and pins.tiles[0] not in row_tiles(layer):
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(3))  # type: ignore[return-value]
        return tuple(np.array([v], dtype=np.int64) for v in pins.tiles)  # type: ignore[return-value]
    M, K, N = shape_of(layer)
    kmax = up(K if isinstance(layer, Gemm) else layer.kernel_w * conv_channels(layer), 8)
    kernel = ctx.kernel  # only the tile sizes the layer's kernel supports (its mmul multiples, its limits)
    rm, rk, rn = kernel.tile_multiple
    ms = [m for m in TILE_M if m <= max(rm, up(-(-M // rows), 4))]
    if pixels == "rows" and isinstance(layer, Conv2d):
        ms = row_tiles(layer)
    ks = [k for k in TILE_K if kernel.tile_problem(rm, k, rn) is None and k_problem(layer, k) is None]
    ks = [k for k in ks if k <= kmax] or ks[:1]  # up to the layer's K, or the smallest the types allow
    ns = [n for n in TILE_N if n <= max(rn, up(-(-N // columns), 8))]
    ms = [m for m in ms if kernel.tile_problem(m, rk, rn) is None]
    ns = [n for n in ns if kernel.tile_problem(rm, rk, n) is None]
    mm, kk, nn = np.meshgrid(ms, ks, ns, indexing="ij")
    return mm.ravel().astype(np.int64), kk.ravel().astype(np.int64), nn.ravel().astype(np.int64)


def padded_grid(ctx: Context, columns: int, rows: int, m: Any, k: Any, n: Any, split: str = "m",
                pixels: str = "strip") -> dict[str, Any]:
    """The padded shapes and super-tile counts of each tile size (``Mp, Kp, Np, kt, mb, nb``;
    convolutions also ``cp, lp, qt``), and the part of the array's shape: ``Sm`` cores along M and
    ``Sn`` B slices per column in a super-tile, ``group`` A tiles per feeder memory tile, and
    ``feeders`` as (A tiles, how many feeders take that many) pairs."""
    layer = ctx.layer
    M, K, N = shape_of(layer)
    feeders: tuple[tuple[int, int], ...]
    if split == "m":
        sm, sn, group = rows, 1, -(-rows // columns)
        feeders = ((group, -(-rows // group) - 1), (rows - (-(-rows // group) - 1) * group, 1))
    else:
        sm, sn, group, feeders = 1, rows, 1, ((1, 1),)
    Np = -(-N // (columns * sn * n)) * (columns * sn * n)
    g: dict[str, Any] = {"m": m, "k": k, "n": n, "R": rows, "C": columns, "group": group, "Np": Np, "Sm": sm,
                         "Sn": sn, "feeders": feeders, "split": split}
    if isinstance(layer, Gemm):
        g["Mp"] = -(-M // (sm * m)) * (sm * m)
        g["Kp"] = -(-K // k) * k
        g["lp"] = g["Kp"]
    else:
        cp = conv_channels(layer)
        lp = -(-(layer.kernel_w * cp) // k) * k
        if pixels == "rows":  # tiles of m // out_w whole output rows, per image
            tpi = -(-layer.out_h // (m // layer.out_w))
            if group > 1:  # a feeder's rows take consecutive tiles of one image
                tpi = -(-tpi // rows) * rows
            tiles, qt = layer.batch * tpi, 0
        else:
            qt, tpi = -(-layer.out_w // m), 0
            if group > 1:  # a feeder's rows take consecutive pixel tiles: keep a super-tile in one output row
                qt = -(-qt // rows) * rows
            tiles = layer.batch * layer.out_h * qt
        g.update(Mp=-(-tiles // sm) * sm * m, Kp=layer.kernel_h * lp, lp=lp, qt=qt, tpi=tpi, cp=cp, pixels=pixels)
    g["kt"] = g["Kp"] // k
    g["mb"] = g["Mp"] // (sm * m)
    g["nb"] = Np // (columns * sn * n)
    g["b_tile"] = b_tile_bytes(layer, k, n)
    return g


def _fits(ctx: Context, g: dict[str, Any], a_block: str, pinned_reuse: bool = False) -> Any:
    """Which candidates (with their ``c_buffers``, ``c_storage`` and ``reuse`` arrays) fit the
    compute tile's data memory and the memory tile (and are worth it: a block resident for a single
    super-tile is left out unless ``pinned_reuse``)."""
    cfg, layer = ctx.config, ctx.layer
    ob = OUT_BYTES[layer.output]
    m, k, n, R = g["m"], g["k"], g["n"], g["R"]
    cb = np.where(g["c_storage"] == 0, 4, ob)
    l1 = np.where(g["c_storage"] < 0, 1 << 62,
                  2 * (m * a_run_bytes(layer, k) + g["b_tile"]) + g["c_buffers"] * m * n * cb + STACK_BYTES)
    a_steps = np.where(g["reuse"] == RESIDENT_A, g["kt"], g["lp"] // k if a_block == "row" else 1)
    b_steps = np.where(g["reuse"] == RESIDENT_B, g["kt"], 1)
    l2 = 2 * (g["group"] * m * a_run_bytes(layer, a_steps * k) + g["Sn"] * b_steps * g["b_tile"] + R * m * n * ob)
    # a block resident for one super-tile only is streaming with more memory: left to "none"
    moot = (g["reuse"] == RESIDENT_A) & (g["nb"] == 1) | (g["reuse"] == RESIDENT_B) & (g["mb"] == 1)
    return (l1 <= cfg.compute_tile.data_mem_kib * 1024) & (l2 <= cfg.mem_tile.size_kib * 1024) & (~moot | pinned_reuse)


def option_sets(ctx: Context, columns: int, rows: int, pins: Pins) -> Iterator[tuple[int, str, str, str, str, str, str]]:
    """The (c_buffers, c_storage, reuse, b_layout, a_block, split, pixels) combinations open to this layer
    and part of the array: C kept in the output type only where that type is narrower than 32 bits;
    A resident in a convolution only with one A tile per memory tile (its block is every kernel
    row); A by kernel rows only in a convolution; B layouts other than ``tiled`` only where the layer
    allows them (weights are tiled offline) and without a fused bias (the bias rides with each tile);
    rows splitting N only where the memory tile has a channel and port for each row's B; tiles of
    whole output rows only in a convolution, with A by kernel rows (or resident)."""
    layer = ctx.layer
    conv = isinstance(layer, Conv2d)
    storages = C_STORAGE if OUT_BYTES[layer.output] < 4 else ("acc",)
    stored = layer.b_layout if isinstance(layer, Gemm) else "weight"
    allowed = B_LAYOUTS if stored == "weight" else (stored,)
    layouts = allowed if pins.b_layout is not None else ("tiled",) if stored == "weight" else allowed
    if layer.b_type in BLOCK_B:  # block formats are packed offline tile by tile
        layouts = ("tiled",)
    splits = [sp for sp in SPLITS if _channels_fit(ctx, columns, rows, sp)]
    pixel_kinds = ("strip", "rows") if conv else ("strip",)
    for cb, cs, reuse, bl, ab, sp, px in itertools.product((2, 1), storages, REUSE, layouts, ("step", "row"), splits,
                                                           pixel_kinds):
        group = -(-rows // columns) if sp == "m" else 1
        if reuse == "a" and conv and (group > 1 or ab == "step") or ab == "row" and not conv:
            continue
        if bl != "tiled" and layer.bias or px == "rows" and ab == "step":
            continue  # whole output rows take the pattern's last dimension: A by kernel rows only
        if all(getattr(pins, f) in (None, v) for f, v in (("c_buffers", cb), ("c_storage", cs), ("reuse", reuse),
                                                             ("b_layout", bl), ("a_block", ab), ("split", sp),
                                                             ("pixels", px))):
            yield cb, cs, reuse, bl, ab, sp, px


def _channels_fit(ctx: Context, columns: int, rows: int, split: str) -> bool:
    """Whether a memory tile has the MM2S channels and north ports for the A streams it sends (one
    per fed row, or one to every core), its B streams (one broadcast, or one per row) and the C out,
    and the lowest compute tile has the north ports for the streams passing it (rows split N)."""
    mem, core = ctx.config.mem_tile, ctx.config.compute_tile
    a, b = (-(-rows // columns), 1) if split == "m" else (1, rows)
    if split == "n" and rows > core.stream_ports.north:
        return False
    return a + b + 1 <= mem.dma.mm2s_channels and a + b <= mem.stream_ports.north


def geometries(ctx: Context, pins: Pins) -> Iterator[tuple[int, int]]:
    """Parts of the array a design may use: (columns, rows), every one up to the config's."""
    shim = ctx.config.shim_tile.dma
    if shim.mm2s_channels < 2 or shim.s2mm_channels < 1:
        return
    core = ctx.config.compute_tile
    for columns in range(1, ctx.config.columns + 1):
        for rows in range(1, usable_rows(ctx) + 1):
            if rows > core.stream_ports.south:
                continue  # every row's C passes the lowest compute tile going south
            if pins.columns in (None, columns) and pins.rows in (None, rows):
                yield columns, rows


C_PREFERENCE = ((2, "acc"), (2, "out"), (1, "acc"), (1, "out"))
"""C options in the order the search prefers them for one tile size: two buffers (the core never
waits for a drain) before one, then 32-bit accumulators (exact) before the output type; the
estimate depends only on the buffers, so each tile size keeps the first that fits."""


def _with_options(ctx: Context, g: dict[str, Any], combos: list[tuple[int, str, str]]) -> dict[str, Any]:
    """Grid ``g`` repeated once per reuse option of ``combos``, each tile size with the first C
    option (:data:`C_PREFERENCE`) among ``combos`` that fits its data memory: ``c_buffers``,
    ``c_storage`` (an index into :data:`C_STORAGE`, -1 where none fits) and ``reuse`` (an index into
    :data:`REUSE`) as arrays."""
    ob, m, n = OUT_BYTES[ctx.layer.output], g["m"], g["n"]
    budget = ctx.config.compute_tile.data_mem_kib * 1024 - 2 * (m * a_run_bytes(ctx.layer, g["k"]) + g["b_tile"]) \
        - STACK_BYTES
    parts = []
    for reuse in dict.fromkeys(c[2] for c in combos):
        buffers = np.zeros(len(m), dtype=np.int64)
        storage = np.full(len(m), -1, dtype=np.int64)
        for cb, cs in [c for c in C_PREFERENCE if (c[0], c[1], reuse) in combos][::-1]:  # the first fitting wins
            fits = cb * m * n * (4 if cs == "acc" else ob) <= budget
            buffers, storage = np.where(fits, cb, buffers), np.where(fits, C_STORAGE.index(cs), storage)
        parts.append((reuse, buffers, storage))
    out = {key: np.tile(v, len(parts)) if isinstance(v, np.ndarray) else v for key, v in g.items()}
    out["c_buffers"] = np.concatenate([p[1] for p in parts])
    out["c_storage"] = np.concatenate([p[2] for p in parts])
    out["reuse"] = np.repeat(np.array([REUSE.index(p[0]) for p in parts], dtype=np.int64), len(m))
    return out


def candidates(ctx: Context, pins: Pins) -> Iterator[Group]:
    """Every group of fitting candidates with its estimates."""
    for columns, rows in geometries(ctx, pins):
        shapes: dict[tuple[str, str, str, str], list[tuple[int, str, str]]] = {}
        for cb, cs, reuse, bl, ab, sp, px in option_sets(ctx, columns, rows, pins):
            shapes.setdefault((bl, ab, sp, px), []).append((cb, cs, reuse))
        grids: dict[tuple[str, str], dict[str, Any]] = {}
        for (bl, ab, sp, px), combos in shapes.items():
            if (sp, px) not in grids:
                grids[sp, px] = padded_grid(ctx, columns, rows, *tile_grid(ctx, columns, rows, pins, px), sp, px)
            if not len(grids[sp, px]["m"]):
                continue
            g = _with_options(ctx, grids[sp, px], combos)
            fit = _fits(ctx, g, ab, pins.reuse is not None)
            if fit.any():
                sub = {key: (v[fit] if isinstance(v, np.ndarray) else v) for key, v in g.items()}
                yield Group(columns, rows, (bl, ab, sp, px), sub, estimate_grid(ctx, sub, bl, ab))


def smallest_need(ctx: Context, pins: Pins) -> tuple[int, int, tuple[int, int, int]] | None:
    """(data memory, memory tile, tiles) of the candidate that needs the least data memory, with
    its best options: what the error says when nothing fits."""
    best: tuple[int, int, tuple[int, int, int]] | None = None
    layer = ctx.layer
    ob = OUT_BYTES[layer.output]
    for columns, rows in geometries(ctx, pins):
        m, k, n = tile_grid(ctx, columns, rows, pins)
        g = padded_grid(ctx, columns, rows, m, k, n)
        cb = min(4 if pins.c_storage in (None, "acc") else ob, ob if pins.c_storage != "acc" else 4)
        bufs = pins.c_buffers or 1
        l1 = 2 * (m * a_run_bytes(layer, k) + g["b_tile"]) + bufs * m * n * cb + STACK_BYTES
        l2 = 2 * (g["group"] * m * a_run_bytes(layer, k) + g["b_tile"] + rows * m * n * ob)
        i = int(np.argmin(l1))
        if best is None or int(l1[i]) < best[0]:
            best = (int(l1[i]), int(l2[i]), (int(m[i]), int(k[i]), int(n[i])))
    return best


def plan_of(ctx: Context, d: Design, outer: int | None = None) -> TilePlan:
    """Design ``d`` applied to the layer: its padded shapes and estimate. ``outer`` truncates the
    plan to its first ``outer`` super-tile rows (``mn`` order) or columns (``nm`` order): a
    representative part of the layer, for the search to simulate."""
    if d.pixels == "rows" and (not isinstance(ctx.layer, Conv2d) or d.m not in row_tiles(ctx.layer)):
        raise LoweringError(f"layer '{ctx.layer.name}': tiles of whole output rows need a convolution and m of whole "
                            f"rows and a multiple of 4 (here one of {row_tiles(ctx.layer) if isinstance(ctx.layer, Conv2d) else []}); "
                            f"m={d.m} is not")
    m, k, n = (np.array([v], dtype=np.int64) for v in (d.m, d.k, d.n))
    g = padded_grid(ctx, d.columns, d.rows, m, k, n, d.split, d.pixels)
    g = dict(g, c_buffers=np.array([d.c_buffers]), c_storage=np.array([C_STORAGE.index(d.c_storage)]),
             reuse=np.array([REUSE.index(d.reuse)]))
    e = estimate_grid(ctx, g, d.b_layout, d.a_block)
    M, K, N = shape_of(ctx.layer)
    val = {key: int(v[0]) if isinstance(v, np.ndarray) else v for key, v in g.items()}
    est = Estimate(int(e["compute"][0]), int(e["ddr"][0]), int(e["stream"][0]), int(e["ddr_bytes"][0]),
                   int(e["overhead"][0]))
    Mp, Np = val["Mp"], val["Np"]
    if outer is not None and d.order == "mn":
        Mp = min(Mp, outer * d.tile_rows * d.m)
    elif outer is not None:
        Np = min(Np, outer * d.columns * d.slices * d.n)
    cfg = ctx.config
    return TilePlan(ctx.layer, d, M, K, N, Mp, val["Kp"], Np, int(e["kernel_cycles"][0]), est,
                    val.get("cp", 0), val["lp"] if isinstance(ctx.layer, Conv2d) else 0, val.get("qt", 0),
                    val.get("tpi", 0), cfg.shim_tile.dma.max_iterations, cfg.mem_tile.dma.max_iterations)
