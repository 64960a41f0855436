"""The design of a resident group: the part of the array and the one tile its members share,
ranked by an estimate over every tile size at once (as the mapper ranks a layer's designs,
:mod:`..mapper.estimate`), so that only the leaders are built and simulated.

A member's estimate is that of a pipeline whose busiest resource sets its pace: each core's
kernel calls and lock operations, its column's A stream (every output tile's A tiles), its row's
B stream (the B block once per output tile), its drain; the group's is the members' sum, or the
DDR time of everything it loads and stores (weights once, DDR inputs, outputs) if longer, plus
the time to fill the first member's pipeline.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...config import NPUConfig
from ...hw.timing import compute_cycles, ddr_bytes_per_cycle, ddr_latency_cycles, epilogue_cycles
from ...numerics import IN_BYTES, OUT_BYTES
from ..layers.matmul import Conv2d
from ..mapper.candidates import TILE_K, TILE_M, TILE_N, plan_of
from ..mapper.design import STACK_BYTES, Design, conv_channels, up
from ..mapper.estimate import Context
from .resident import Resident

Arr = Any


@dataclass(frozen=True, slots=True)
class Ranked:
    """A resident design and its estimated cycles."""

    cycles: int
    group: Resident


def chainable(layers: list[Conv2d]) -> bool:
    """Whether convolutions can share a resident group: batch 1, one operand and output type (each
    member's output is an operand of the type; int8, int16 or bf16, B of A's type), one bias setting
    (B tiles are one size), one kernel library."""
    first = layers[0]
    return all(ly.batch == 1 and ly.dtype == first.dtype and ly.output == first.dtype and ly.bias == first.bias
               and ly.b_dtype is None and ly.dtype in ("int8", "int16", "bf16") and ly.kernel == first.kernel
               for ly in layers)


def _member(ctx: Context, ly: Conv2d, slices: int, bands: int, m: Arr, k: Arr, n: Arr) -> tuple[Arr, Arr]:
    """(cycles, DDR bytes of its weights) of one member for every tile size."""
    cfg, ib, ob = ctx.config, IN_BYTES[ly.dtype], OUT_BYTES[ly.output]
    cp = conv_channels(ly)
    lp = -(-(ly.kernel_w * cp) // k) * k
    kt = ly.kernel_h * lp // k
    nb = -(-ly.out_channels // (slices * n))
    tiles = -(-ly.out_h // bands) * -(-ly.out_w // m) * nb
    b_tile = k * n * ib + (n * 4 if ly.bias else 0)
    kc = compute_cycles(ctx.kernel, m, k, n)
    epi = epilogue_cycles(cfg.compute_tile, ly.vector_type, m * n, ly.bias, ly.relu)
    compute = tiles * (kt * (kc + 2 * ctx.lock_ops) + epi + ctx.lock_ops)
    def xfer(nbytes: Arr) -> Arr:
        return -(-nbytes // ctx.rate) + ctx.startup

    streams = np.maximum.reduce([tiles * kt * xfer(m * k * ib), tiles * kt * xfer(b_tile), tiles * xfer(m * n * ob)])
    return np.maximum(compute, streams), nb * slices * kt * b_tile


def rank(config: NPUConfig, layers: list[Conv2d], sources: tuple[int | None, ...], external: tuple[bool, ...],
         leaders: int = 2) -> list[Ranked]:
    """The best ``leaders`` resident designs of the group (estimated), best first; none when the
    layers cannot share one."""
    if not chainable(layers):
        return []
    ib = IN_BYTES[layers[0].dtype]
    ctxs = [Context.of(config, ly) for ly in layers]
    widths = sorted({up(-(-ly.out_w // q), 4) for ly in layers for q in range(1, 5)} | set(TILE_M))
    widest = max(up(ly.out_w, 4) for ly in layers)
    mm, kk, nn = (a.ravel() for a in np.meshgrid([w for w in widths if w <= widest], TILE_K, TILE_N, indexing="ij"))
    l1 = 2 * (mm * kk * ib + kk * nn * ib + (nn * 4 if layers[0].bias else 0)) + 2 * mm * nn * 4 + STACK_BYTES
    keep = l1 <= config.compute_tile.data_mem_kib * 1024
    mm, kk, nn = mm[keep], kk[keep], nn[keep]
    found: list[tuple[int, tuple[int, int, int, int, int]]] = []
    for slices, bands in _geometries(config):
        fits = _fits(layers, sources, slices, mm, nn) & _room(config, layers, sources, bands, kk, nn)
        if not fits.any():
            continue
        m, k, n = mm[fits], kk[fits], nn[fits]
        total, weights = 0, 0
        for ctx, ly in zip(ctxs, layers):
            cycles, wbytes = _member(ctx, ly, slices, bands, m, k, n)
            total, weights = total + cycles, weights + wbytes
        io = sum(ly.height * ly.width * conv_channels(ly) * ib for ly, s in zip(layers, sources) if s is None)
        io += sum(ly.out_h * ly.out_w * up(ly.out_channels, 4) * OUT_BYTES[ly.output]
                  for ly, e in zip(layers, external) if e)
        ctx = ctxs[0]
        ddr = np.ceil((weights + io) / ddr_bytes_per_cycle(config.ddr, config.clock_mhz)).astype(np.int64)
        cycles = np.maximum(total, ddr) + ddr_latency_cycles(config.ddr, config.clock_mhz) + 20 * ctx.hop
        order = np.lexsort((-m * n * k, cycles))[:leaders]
        found += [(int(cycles[i]), (slices, bands, int(m[i]), int(k[i]), int(n[i]))) for i in order]
    found.sort()
    return [Ranked(c, _group(config, layers, sources, external, *d)) for c, d in found[:leaders]]


def _geometries(config: NPUConfig) -> list[tuple[int, int]]:
    """(slices, bands): rows used (at most the memory tile's S2MM channels for the cores' outputs)
    and columns used (at least the rows, whose B comes through their own memory tile)."""
    rows = min(config.compute_rows, config.mem_tile.dma.s2mm_channels - 2)
    return [(r, c) for r, c in itertools.product(range(1, rows + 1), range(1, config.columns + 1)) if r <= c]


def _fits(layers: list[Conv2d], sources: tuple[int | None, ...], slices: int, m: Arr, n: Arr) -> Arr:
    """Tile sizes whose padded output channels fit the pixel slots of the members that read them."""
    ok = np.ones(len(m), dtype=bool)
    for i, ly in enumerate(layers):
        if any(s == i for s in sources):
            padded = -(-ly.out_channels // (slices * n)) * slices * n
            ok &= padded <= up(ly.out_channels, 4 // IN_BYTES[ly.dtype])
    return ok


def _room(config: NPUConfig, layers: list[Conv2d], sources: tuple[int | None, ...], bands: int, k: Arr,
          n: Arr) -> Arr:
    """Tile sizes whose two weight slots fit a memory tile beside the group's bands (each tensor's
    band with a pixel of border on each side, about; the build checks exactly)."""
    ib = IN_BYTES[layers[0].dtype]
    held = 0
    for ly, src in zip(layers, sources):
        cp = conv_channels(ly)
        held += -(-ly.out_h // bands) * (ly.out_w + 2) * up(ly.out_channels, 4) * OUT_BYTES[ly.output]
        if src is None:
            held += -(-ly.height // bands) * (ly.width + 2 * ly.padding + 2) * cp * ib
    block = np.zeros(len(k), dtype=np.int64)
    for ly in layers:
        lp = -(-(ly.kernel_w * conv_channels(ly)) // k) * k
        block = np.maximum(block, ly.kernel_h * lp * n * ib + (n * 4 if ly.bias else 0) * (ly.kernel_h * lp // k))
    return 2 * block + held <= config.mem_tile.size_kib * 1024


def _group(config: NPUConfig, layers: list[Conv2d], sources: tuple[int | None, ...], external: tuple[bool, ...],
           slices: int, bands: int, m: int, k: int, n: int) -> Resident:
    plans = tuple(plan_of(Context.of(config, ly), Design(slices, 1, m, k, n, reuse="b")) for ly in layers)
    return Resident(plans, sources, external, bands)
