"""The mapper's analytical estimate of a design's cycles, evaluated over many tile sizes at once.

The estimate is a pipeline model: every resource the design keeps busy — each core (kernel calls,
lock operations, and, with one C buffer, waiting for its C to drain), each stream (A along a
row, B down a column, A and B into the memory tiles, C out of the cores and joined for the shim)
and DDR (every byte the design moves, in whole ``ddr.access_bytes`` accesses per contiguous run,
over the bandwidth) — is charged its total busy time, and the run takes as long as the busiest
one, plus the time to fill the pipeline (DDR latency, the first blocks, a resident block before
its first use) and to drain it (the last C to DDR). It is cheap and it ranks candidates; the
search then simulates the leaders, so the choice is what the simulator itself measures.

Every rule it uses is a function of :mod:`npusim.hw.timing`; here they are applied to numpy arrays
of candidate tile sizes (one array element per candidate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...config import KernelSpec, NPUConfig
from ...hw.timing import (
    compute_cycles, ddr_bytes_per_cycle, ddr_latency_cycles, ddr_runs_bytes, epilogue_cycles,
    stream_bytes_per_cycle,
)
from ...numerics import OUT_BYTES
from ..layers.matmul import Conv2d, Gemm
from .sizes import a_run_bytes as _ar, b_plain_bytes

Arr = Any
"""A numpy integer array (one element per candidate tile size) or a plain integer."""
RESIDENT_A, RESIDENT_B = 1, 2
"""Codes of ``reuse`` in a grid's ``reuse`` array (0: nothing resident)."""


@dataclass(frozen=True, slots=True)
class Estimate:
    compute: int
    """Cycles of one core's kernel calls and lock operations (and C waits with one C buffer)."""
    ddr: int
    """Cycles DDR needs for every byte the design moves (access granularity included)."""
    stream: int
    """Cycles the busiest stream or DMA channel needs."""
    ddr_bytes: int
    overhead: int = 0
    """Pipeline fill and drain: cycles before the first kernel call and after the last one."""

    @property
    def cycles(self) -> int:
        return max(self.compute, self.ddr, self.stream) + self.overhead

    @property
    def bound(self) -> str:
        return max((self.compute, "compute"), (self.ddr, "DDR"), (self.stream, "stream"))[1]


@dataclass(frozen=True, slots=True)
class Context:
    """What the estimate needs of a config and a layer, read once per search."""

    config: NPUConfig
    layer: Gemm | Conv2d
    rate: int
    """Bytes per cycle of a route (stream and DMA channels)."""
    startup: int
    """Cycles a BD costs before its data moves (DMA start-up and the lock acquire)."""
    hop: int
    bpc: float
    """DDR bytes per array cycle."""
    ddr_latency: int
    lock_ops: int
    """Core cycles of one acquire plus one release."""

    @property
    def kernel(self) -> KernelSpec:
        """The layer's kernel variant (its kernel library, or the config's default; its operand types)."""
        layer = self.layer
        return self.config.compute_tile.kernel(layer.kernel, layer.dtype, layer.b_dtype, layer.output)

    @staticmethod
    def of(config: NPUConfig, layer: Gemm | Conv2d) -> "Context":
        rate = stream_bytes_per_cycle(config.stream_switch, config.shim_tile.dma,
                                      [config.mem_tile.dma, config.compute_tile.dma])
        return Context(config, layer, rate, config.compute_tile.dma.startup_cycles + config.locks.acquire_cycles,
                       config.stream_switch.hop_latency_cycles, ddr_bytes_per_cycle(config.ddr, config.clock_mhz),
                       ddr_latency_cycles(config.ddr, config.clock_mhz),
                       config.locks.acquire_cycles + config.locks.release_cycles)


def _xfer(ctx: Context, nbytes: Arr) -> Arr:
    """Cycles of one BD moving ``nbytes`` over a route: start-up plus the bytes at the route's rate."""
    return -(-nbytes // ctx.rate) + ctx.startup


def ddr_bytes(ctx: Context, g: dict[str, Arr], b_layout: str, a_block: str) -> Arr:
    """Bytes DDR serves for a design (reads of A and B, writes of C), whole accesses per run."""
    ddr, layer = ctx.config.ddr, ctx.layer
    ob = OUT_BYTES[layer.output]
    m, k, n, kt, mb, nb, R, C = g["m"], g["k"], g["n"], g["kt"], g["mb"], g["nb"], g["R"], g["C"]
    res_a, res_b = g["reuse"] == RESIDENT_A, g["reuse"] == RESIDENT_B
    a_reads = mb * np.where(res_a, 1, nb)  # each row block of A is read once, or once per super-tile column
    a = 0
    for rows, count in g["feeders"]:  # (A tiles a feeder takes, feeders taking that many)
        if isinstance(layer, Gemm):  # rows of k elements, or whole rows when they are all of K
            whole = (kt == 1) | res_a
            run = np.where(whole, rows * m * _ar(layer, g["Kp"]), _ar(layer, k))
            runs = np.where(whole, 1, rows * m * kt)
            if rows == g["Sm"]:  # B resident, one feeder: a wave's super-tile rows of A abut, one run
                it, blk = ctx.config.shim_tile.dma.max_iterations, rows * m * _ar(layer, g["Kp"])
                joined = nb * (ddr_runs_bytes(ddr, mb // it, it * blk)
                               + ddr_runs_bytes(ddr, np.minimum(mb % it, 1), mb % it * blk))
                a = a + count * np.where(res_b & (kt == 1), joined, a_reads * ddr_runs_bytes(ddr, runs, run))
                continue
        else:  # a step's (or kernel row's) run per pixel; the pixels' runs merge where their windows abut,
            # across a strip, or across an output row when tiles are of whole rows
            step = np.where(res_a | (a_block == "row"), _ar(layer, g["lp"]), _ar(layer, k))
            merge = _ar(layer, layer.stride * g["cp"]) == step
            span = layer.out_w if g["pixels"] == "rows" else rows * m
            run = np.where(merge, span * step, step)
            runs = np.where(merge, rows * m // span, rows * m) * (_ar(layer, g["Kp"]) // step)
        a = a + count * a_reads * ddr_runs_bytes(ddr, runs, run)
    b_reads = nb * np.where(res_b, 1, mb)
    wide = g["Sn"] * n  # a column's B: one slice, or one per row
    narrow = g["Np"] == n  # one column of tiles: B's and C's rows abut and their runs merge
    if b_layout == "tiled":  # the column's columns of tiles are one run, or a run per tile step by step
        whole = (kt == 1) | res_b | (g["Sn"] == 1)
        b = _b_reads(ctx, g, whole & (C == 1), np.where(whole, 1, g["Sn"] * kt),
                     np.where(whole, g["Sn"] * kt * g["b_tile"], g["b_tile"]))
    elif b_layout == "col":  # wide runs of k, or of all of K (resident, or a single step)
        jb = b_plain_bytes(layer)
        whole = (kt == 1) | res_b
        b = _b_reads(ctx, g, whole & (C == 1), np.where(whole, 1, wide * kt),
                     np.where(whole, wide * g["Kp"] * jb, k * jb))
    else:  # Kp runs of wide
        jb = b_plain_bytes(layer)
        one = g["Np"] == wide
        b = ddr_runs_bytes(ddr, b_reads * C * np.where(one, 1, g["Kp"]), np.where(one, g["Kp"] * wide * jb, wide * jb))
    c = ddr_runs_bytes(ddr, mb * nb * C * np.where(narrow, 1, R * m), np.where(narrow, R * m * n * ob, n * ob))
    return a + b + c


def _b_reads(ctx: Context, g: dict[str, Arr], merge: Arr, runs: Arr, run: Arr) -> Arr:
    """DDR bytes of B's reads, each ``runs`` runs of ``run`` bytes; where ``merge``, a task's
    repeats over consecutive super-tile columns (one column used) join into one run. Resident B
    comes in one task per super-tile column, without repeats."""
    ddr, mb, nb, C = ctx.config.ddr, g["mb"], g["nb"], g["C"]
    it = ctx.config.shim_tile.dma.max_iterations
    full, rest = nb // it, nb % it  # per super-tile row: tasks of it repeats, and one of the rest
    joined = full * ddr_runs_bytes(ddr, 1, it * run) + np.where(rest > 0, ddr_runs_bytes(ddr, 1, rest * run), 0)
    streamed = mb * C * np.where(merge, joined, nb * ddr_runs_bytes(ddr, runs, run))
    return np.where(g["reuse"] == RESIDENT_B, ddr_runs_bytes(ddr, nb * C * runs, run), streamed)


SOFT_MAX_POWER = 6.0
"""How the busy times of the resources combine: ``(c**p + d**p + s**p) ** (1/p)``. Resources that
are nearly as busy as the busiest one take turns rather than overlapping perfectly (DDR serves the
A, B and C flows in bursts, the cores wait for the later of A and B); fitted on simulations of the
leading designs of a set of layers (benchmarks/bench_mapper.py prints the fit)."""


def soft_max(*times: Arr) -> Arr:
    """The run's length from its resources' busy times (see :data:`SOFT_MAX_POWER`)."""
    arrays = [np.asarray(t, dtype=np.float64) for t in times]
    top = np.maximum(np.maximum.reduce(arrays), 1)
    total = sum(_pow(a / top) for a in arrays)
    return np.ceil(top * total ** (1 / SOFT_MAX_POWER)).astype(np.int64)


def _pow(x: Arr) -> Arr:
    """``x ** SOFT_MAX_POWER``, by multiplications when the power is 6."""
    if SOFT_MAX_POWER == 6.0:
        cube = x * x * x
        return cube * cube
    return x ** SOFT_MAX_POWER


def _shim_channels(ctx: Context, g: dict[str, Arr], a_block: str) -> tuple[Arr, Arr, Arr]:
    """Busy time of a feeder's A channel, a column's B channel and its C channel in the shim: each
    task pays the DMA start-up and the DDR latency, then moves its bytes at the channel's rate. The
    runtime issues one task per channel per wave (:mod:`..program.matmul`)."""
    layer = ctx.layer
    ob = OUT_BYTES[layer.output]
    m, n, kt, mb, nb, R = g["m"], g["n"], g["kt"], g["mb"], g["nb"], g["R"]
    res_a, res_b = g["reuse"] == RESIDENT_A, g["reuse"] == RESIDENT_B
    conv = isinstance(layer, Conv2d)
    it = np.full(np.shape(m), ctx.config.shim_tile.dma.max_iterations)
    if conv and a_block == "step":  # a convolution's A by steps: one task per super-tile
        it = np.where(res_a | (g["lp"] == g["k"]), it, 1)
    if conv and g["pixels"] == "rows":  # whole output rows: no dimension left to repeat
        it = np.where(res_a, it, 1)
    # columns of super-tiles outer when B is resident (a convolution's A one super-tile row per task)
    waves = np.where(res_b, nb * -(-mb // (1 if conv else it)), mb * -(-nb // it))
    a_tasks = np.where(res_a, mb, waves)
    a_blocks = np.where(res_a, mb, mb * nb)
    b_tasks, b_blocks = np.where(res_b, nb, waves), np.where(res_b, nb, mb * nb)
    per_task = ctx.startup + ctx.ddr_latency
    a = a_tasks * per_task + -(-(a_blocks * g["group"] * m * _ar(layer, g["Kp"])) // ctx.rate)
    b = b_tasks * per_task + -(-(b_blocks * g["Sn"] * kt * g["b_tile"]) // ctx.rate)
    c = waves * per_task + -(-(mb * nb * R * m * n * ob) // ctx.rate)
    return a, b, c


def estimate_grid(ctx: Context, g: dict[str, Arr], b_layout: str, a_block: str = "step") -> dict[str, Arr]:
    """The estimate's parts for every candidate of grid ``g`` (arrays from
    :func:`.candidates.padded_grid`, with each candidate's C buffers ``g["c_buffers"]`` and reuse
    ``g["reuse"]``): ``compute``, ``ddr``, ``stream``, ``overhead``, ``cycles`` and ``ddr_bytes``."""
    cfg, layer = ctx.config, ctx.layer
    ob = OUT_BYTES[layer.output]
    m, k, n, kt, mb, nb, R, grp = g["m"], g["k"], g["n"], g["kt"], g["mb"], g["nb"], g["R"], g["group"]
    res_a, res_b = g["reuse"] == RESIDENT_A, g["reuse"] == RESIDENT_B
    tiles = mb * nb  # output tiles per core
    kc = np.where(g["c_storage"] == 1, compute_cycles(ctx.kernel, m, k, n, layer.output),
                  compute_cycles(ctx.kernel, m, k, n, None))  # C kept in the output type: its kernel rule
    epi = epilogue_cycles(cfg.compute_tile, layer.vector_type, m * n, layer.bias, layer.relu)
    c_out = _xfer(ctx, m * n * ob)  # one core's C block to its memory tile
    compute = tiles * (kt * (kc + 2 * ctx.lock_ops) + epi + ctx.lock_ops)
    # with one C buffer the core waits for it to drain before the next output tile
    compute = compute + np.where(g["c_buffers"] == 1, tiles * (c_out + ctx.lock_ops + 2 * ctx.hop), 0)
    a_tile, b_tile = m * _ar(layer, k), g["b_tile"]
    a_row = tiles * kt * _xfer(ctx, a_tile)
    b_col = tiles * kt * _xfer(ctx, b_tile)
    a_steps = np.where(res_a, kt, g["lp"] // k if a_block == "row" else 1)
    a_in = mb * np.where(res_a, 1, nb) * (kt // a_steps) * grp * _xfer(ctx, m * _ar(layer, a_steps * k))
    b_in = g["Sn"] * np.where(res_b, nb * _xfer(ctx, kt * b_tile), b_col)
    join = tiles * R * _xfer(ctx, m * n * ob)
    shims = _shim_channels(ctx, g, a_block)
    stream = np.maximum.reduce([np.broadcast_to(x, np.shape(m))
                                for x in (a_row, b_col, a_in, b_in, join, tiles * c_out) + shims])
    nbytes = ddr_bytes(ctx, g, b_layout, a_block)
    ddr = np.ceil(nbytes / ctx.bpc).astype(np.int64)
    # before the first kernel call: DDR latency, then the first A and B blocks (a resident block
    # whole) into the memory tiles, each at its channel's rate and all together within DDR's
    # bandwidth, and on to the core; after the last: its C out, joined, written
    a_first, b_first = grp * m * _ar(layer, a_steps * k), np.where(res_b, kt, 1) * b_tile
    feeders = sum(count for _, count in g["feeders"])
    first_ddr = np.ceil((feeders * a_first + g["C"] * g["Sn"] * b_first) / ctx.bpc).astype(np.int64)
    first = np.maximum(np.maximum(_xfer(ctx, a_first), g["Sn"] * _xfer(ctx, b_first)), first_ddr)
    fill = ctx.ddr_latency + first + _xfer(ctx, np.maximum(a_tile, b_tile)) + 6 * ctx.hop
    tail = c_out + _xfer(ctx, R * m * n * ob) + ctx.ddr_latency + 6 * ctx.hop
    cycles = fill + soft_max(compute, np.maximum(ddr - first_ddr, 0), stream) + tail
    overhead = cycles - np.maximum(np.maximum(compute, ddr), stream)
    return {"compute": compute, "ddr": ddr, "stream": stream, "overhead": overhead, "cycles": cycles,
            "ddr_bytes": nbytes, "kernel_cycles": kc}
