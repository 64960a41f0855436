"""Every timing rule of the model, as pure functions of specs (docs/model/timing.md).

Units call these and never inline the arithmetic, so each rule is stated, tested and changed in
one place. Time is an integer count of array clock cycles.
"""
from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ..config import (
    ComputeTileSpec, CoreOpsSpec, DdrSpec, DmaSpec, DType, KernelSpec, LockTimingSpec, StreamSwitchSpec, VectorKind,
)
from ..isa import Compute, Dim, Vector
from ..isa.core_code import Stmt, split_type, trip_count
from ..isa.instructions import WORD_BYTES
from ..numerics import OutType


IntArray = npt.NDArray[np.int64]
"""The mapper evaluates some rules over many candidate tile sizes at once: those rules accept
numpy integer arrays as well as integers and apply element by element."""


def _ceil(x: Any) -> Any:
    """``ceil`` after forgiving float error below 1e-9 of a cycle, for a number or an array."""
    if isinstance(x, np.ndarray):
        return np.ceil(x - 1e-9).astype(np.int64)
    return math.ceil(x - 1e-9)


@overload
def compute_cycles(kernel: KernelSpec, m: int, k: int, n: int, out: OutType | None = None) -> int: ...
@overload
def compute_cycles(kernel: KernelSpec, m: IntArray, k: IntArray, n: IntArray, out: OutType | None = None) -> IntArray: ...
def compute_cycles(kernel: KernelSpec, m: Any, k: Any, n: Any, out: OutType | None = None) -> Any:
    """A matmul kernel call (one variant of a kernel library, ``ComputeTileSpec.kernel``):
    ``ceil(m*k*n / (macs_per_cycle * efficiency) + cycles_per_output(out) * m*n) + overhead_cycles``
    (rounded up after forgiving float error below 1e-9 of a cycle). The MAC term is the vector
    unit's sustained rate; the output term is the C tile's load, accumulate and store on every call,
    which is what makes published kernels with a large m*n against k slower per MAC. Its figure
    depends on the type ``out`` C is kept in (``out_cycles_per_output``; None: the variant's default
    output), since a wider C moves more bytes through the core on every call: arXiv 2512.13282's
    int8->int32 kernels lose 2-4x the cycles per output of its int8->int8 ones (Tables 1-3)."""
    exact = m * k * n / (kernel.macs_per_cycle * kernel.efficiency) + kernel.output_cycles(out) * m * n
    return _ceil(exact) + kernel.overhead_cycles


def vector_cycles(tile: ComputeTileSpec, kind: VectorKind, dtype: DType, elements: int) -> int:
    """A vector-unit kernel call reading ``elements`` elements:
    ``ceil(elements * cycles_per_element) + overhead_cycles`` from ``compute_tile.vector.<kind>.<dtype>``
    (the quotient rounded up after forgiving float error below 1e-9 of a cycle)."""
    spec = tile.vector[kind][dtype]
    return math.ceil(elements * spec.cycles_per_element - 1e-9) + spec.overhead_cycles


@overload
def epilogue_cycles(tile: ComputeTileSpec, dtype: DType, outputs: int, bias: bool, relu: bool) -> int: ...
@overload
def epilogue_cycles(tile: ComputeTileSpec, dtype: DType, outputs: IntArray, bias: bool, relu: bool) -> IntArray: ...
def epilogue_cycles(tile: ComputeTileSpec, dtype: DType, outputs: Any, bias: bool, relu: bool) -> Any:
    """A matmul's fused epilogue on ``outputs`` accumulators: ``ceil(outputs * (cycles_per_element of
    vector.bias if bias + of vector.relu if relu))``; no overhead, it runs inside the kernel call."""
    per = 0.0
    if bias:
        per += tile.vector["bias"][dtype].cycles_per_element
    if relu:
        per += tile.vector["relu"][dtype].cycles_per_element
    return _ceil(outputs * per) if per else 0 * outputs


def kernel_call_cycles(tile: ComputeTileSpec, ins: Compute | Vector) -> int:
    """Cycles of one core kernel call: a matmul (:func:`compute_cycles` plus any fused epilogue)
    or a vector call (:func:`vector_cycles`, plus relu's cycles per element when fused)."""
    if isinstance(ins, Compute):
        kernel = tile.kernel(ins.kernel, ins.dtype, ins.b_dtype)
        cycles = compute_cycles(kernel, ins.m, ins.k, ins.n, c_type(ins))
        if ins.emit is not None and (ins.bias or ins.relu):
            cycles += epilogue_cycles(tile, ins.epilogue_type, ins.m * ins.n, ins.bias, ins.relu)
        return cycles
    cycles = vector_cycles(tile, ins.kind, ins.dtype, ins.elements)
    if ins.relu and ins.kind != "relu":
        cycles += epilogue_cycles(tile, ins.dtype, ins.elements, False, True)
    return cycles


def c_type(ins: Compute) -> OutType | None:
    """The type a call keeps its C tile in, for the output term of :func:`compute_cycles`: its
    ``c_type``, else the type it emits (None: neither, the kernel variant's default)."""
    return ins.c_type if ins.c_type is not None else ins.emit


def stream_bytes_per_cycle(stream: StreamSwitchSpec, src: DmaSpec, dsts: list[DmaSpec]) -> int:
    """Rate of a route: the slowest of the stream and every channel on it (the DMA rule)."""
    return min([stream.bytes_per_cycle, src.bytes_per_cycle] + [d.bytes_per_cycle for d in dsts])


def transfer_cycles(nbytes: int, bytes_per_cycle: float) -> int:
    """Cycles to move ``nbytes`` at ``bytes_per_cycle``, rounded up to whole cycles."""
    return math.ceil(nbytes / bytes_per_cycle)


def route_latency_cycles(stream: StreamSwitchSpec, switches: int) -> int:
    """First-word latency of a route: ``hop_latency_cycles`` per stream switch crossed."""
    return stream.hop_latency_cycles * switches


def dma_startup_cycles(dma: DmaSpec, locks: LockTimingSpec, acquires: bool) -> int:
    """Cycles from a BD's start (after any lock grant) until its data can move: the lock
    acquire cost, if the BD acquires, plus the DMA's start-up latency."""
    return dma.startup_cycles + (locks.acquire_cycles if acquires else 0)


def ddr_bytes_per_cycle(ddr: DdrSpec, clock_mhz: float) -> float:
    """DDR bandwidth in bytes per array cycle: ``GB/s * 1e9 / (clock_mhz * 1e6)``."""
    return ddr.bandwidth_gb_per_s * 1e3 / clock_mhz


def ddr_limits_bytes_per_cycle(ddr: DdrSpec, clock_mhz: float) -> tuple[float, float, float]:
    """The reads', the writes' and one shim channel's DDR limits in bytes per array cycle, as
    :func:`ddr_bytes_per_cycle` converts GB/s (``inf`` where the config sets none)."""
    def bpc(gb: float | None) -> float:
        return math.inf if gb is None else gb * 1e3 / clock_mhz
    return bpc(ddr.read_gb_per_s), bpc(ddr.write_gb_per_s), bpc(ddr.channel_gb_per_s)


def ddr_latency_cycles(ddr: DdrSpec, clock_mhz: float) -> int:
    """DDR access latency in array cycles, rounded up: ``ceil(latency_ns * clock_mhz / 1000)``."""
    return math.ceil(ddr.latency_ns * clock_mhz / 1000 - 1e-9)


def contiguous_run_bytes(length_bytes: int, dims: tuple[Dim, ...]) -> int:
    """Bytes of each contiguous run of an access pattern (``dims`` innermost first, strides in
    words): dimensions merge while each stride equals the words gathered so far."""
    if not dims:
        return length_bytes
    run = 1
    for d in dims:
        if d.size == 1:
            continue
        if d.stride != run:
            break
        run *= d.size
    return run * WORD_BYTES


def ddr_access_bytes(ddr: DdrSpec, length_bytes: int, dims: tuple[Dim, ...]) -> int:
    """DDR bandwidth a shim transfer uses: each contiguous run costs whole accesses and the run's
    own overhead, ``runs * (ceil(run_bytes / access_bytes) * access_bytes + run_overhead_bytes)``
    (run alignment is not modelled; a run's overhead stands for its row activation and commands,
    which a long streaming run amortises)."""
    run = contiguous_run_bytes(length_bytes, dims)
    return ddr_runs_bytes(ddr, length_bytes // run, run)


@overload
def ddr_runs_bytes(ddr: DdrSpec, runs: int, run_bytes: int) -> int: ...
@overload
def ddr_runs_bytes(ddr: DdrSpec, runs: IntArray, run_bytes: IntArray | int) -> IntArray: ...
@overload
def ddr_runs_bytes(ddr: DdrSpec, runs: int, run_bytes: IntArray) -> IntArray: ...
def ddr_runs_bytes(ddr: DdrSpec, runs: Any, run_bytes: Any) -> Any:
    """DDR bandwidth ``runs`` contiguous runs of ``run_bytes`` each use: whole accesses of
    ``ddr.access_bytes`` per run plus the run's own ``run_overhead_bytes`` (the rule of
    :func:`ddr_access_bytes`, for the mapper's estimates)."""
    return runs * ((-(-run_bytes // ddr.access_bytes)) * ddr.access_bytes + ddr.run_overhead_bytes)


def _stmt_cycles(ops: CoreOpsSpec, s: Stmt) -> int:
    """Cycles of one statement of core code (see :func:`code_cycles`)."""
    lanes, elem = split_type(s.type)
    vector = lanes > 1
    fn = s.fn
    if fn == "for":
        return trip_count(s) * (code_cycles(ops, s.body) + ops.loop_iteration_cycles)
    if fn == "if":
        return ops.branch_cycles + max(code_cycles(ops, s.body), code_cycles(ops, s.orelse))
    if fn in ("yield", "call"):
        return s.cycles
    if fn in ("load", "store", "vload", "vstore"):
        return {"load": ops.load_cycles, "store": ops.store_cycles, "vload": ops.vector_load_cycles,
                "vstore": ops.vector_store_cycles}[fn]
    if fn == "fill":
        return math.ceil(int(s.args[0]) / ops.vector_bytes) * ops.vector_store_cycles
    floating = elem in ("f32", "bf16") or s.src_type in ("f32", "bf16") or fn.startswith("cmpf")
    if fn in ("muli", "mulf") or (fn == "divf" and vector):
        return ops.vector_mul_cycles if vector else ops.scalar_float_cycles if floating else ops.scalar_mul_cycles
    if fn in ("divsi", "divui", "remsi", "remui"):
        return lanes * ops.scalar_div_cycles
    if vector:
        return ops.vector_alu_cycles
    return ops.scalar_float_cycles if floating and fn not in ("copy", "select") else ops.scalar_alu_cycles


def code_cycles(ops: CoreOpsSpec, body: tuple[Stmt, ...]) -> int:
    """Cycles of a block of core code: the sum of its statements' costs from
    ``compute_tile.core_ops`` (each waits for the one before; no VLIW bundling). Integer
    add/logic/shift/compare/select/cast/move: ``scalar_alu``; multiply: ``scalar_mul``; divide or
    remainder: ``scalar_div`` (per lane: there is no divider); scalar floating point:
    ``scalar_float`` (emulated); on vectors: ``vector_alu``, multiplies (and float divides)
    ``vector_mul``; loads and stores: ``load``/``store`` or ``vector_load``/``vector_store``;
    zeroing ``n`` bytes: ``ceil(n / vector_bytes)`` vector stores; a loop: its trip count x (body +
    ``loop_iteration``); an if: ``branch`` + its longer branch (data-dependent branches cost the
    same in both modes); a fixed-cost kernel call: its given cycles. Sources: configs/*.yaml."""
    return sum(_stmt_cycles(ops, s) for s in body)
