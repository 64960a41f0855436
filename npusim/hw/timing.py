"""Every timing rule of the model, as pure functions of specs (DESIGN §3).

Units call these and never inline the arithmetic, so each rule is stated, tested and changed in
one place. Time is an integer count of array clock cycles.
"""
from __future__ import annotations

import math

from ..config import (
    ComputeTileSpec, DdrSpec, DmaSpec, DType, KernelSpec, LockTimingSpec, StreamSwitchSpec, VectorKind,
)
from ..isa import Compute, Dim, Vector
from ..isa.instructions import WORD_BYTES
from ..numerics import OutType


def compute_cycles(kernel: KernelSpec, m: int, k: int, n: int, out: OutType | None = None) -> int:
    """A matmul kernel call (one variant of a kernel library, ``ComputeTileSpec.kernel``):
    ``ceil(m*k*n / (macs_per_cycle * efficiency) + cycles_per_output(out) * m*n) + overhead_cycles``
    (rounded up after forgiving float error below 1e-9 of a cycle). The MAC term is the vector
    unit's sustained rate; the output term is the C tile's load, accumulate and store on every call,
    which is what makes published kernels with a large m*n against k slower per MAC. Its figure
    depends on the type ``out`` C is kept in (``out_cycles_per_output``; None: the variant's default
    output), since a wider C moves more bytes through the core on every call: arXiv 2512.13282's
    int8->int32 kernels lose 2-4x the cycles per output of its int8->int8 ones (Tables 1-3)."""
    exact = m * k * n / (kernel.macs_per_cycle * kernel.efficiency) + kernel.output_cycles(out) * m * n
    return math.ceil(exact - 1e-9) + kernel.overhead_cycles


def vector_cycles(tile: ComputeTileSpec, kind: VectorKind, dtype: DType, elements: int) -> int:
    """A vector-unit kernel call reading ``elements`` elements:
    ``ceil(elements * cycles_per_element) + overhead_cycles`` from ``compute_tile.vector.<kind>.<dtype>``
    (the quotient rounded up after forgiving float error below 1e-9 of a cycle)."""
    spec = tile.vector[kind][dtype]
    return math.ceil(elements * spec.cycles_per_element - 1e-9) + spec.overhead_cycles


def epilogue_cycles(tile: ComputeTileSpec, dtype: DType, outputs: int, bias: bool, relu: bool) -> int:
    """A matmul's fused epilogue on ``outputs`` accumulators: ``ceil(outputs * (cycles_per_element of
    vector.bias if bias + of vector.relu if relu))``; no overhead, it runs inside the kernel call."""
    per = 0.0
    if bias:
        per += tile.vector["bias"][dtype].cycles_per_element
    if relu:
        per += tile.vector["relu"][dtype].cycles_per_element
    return math.ceil(outputs * per - 1e-9) if per else 0


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
    """The type a call keeps its C tile in, for the output term of :func:`compute_cycles`: the
    instruction's ``c_type`` where the ISA carries one, else the type it emits (None: neither,
    the kernel variant's default)."""
    kept: OutType | None = getattr(ins, "c_type", None)
    return kept if kept is not None else ins.emit


def stream_bytes_per_cycle(stream: StreamSwitchSpec, src: DmaSpec, dsts: list[DmaSpec]) -> int:
    """Rate of a route: the slowest of the stream and every channel on it (DESIGN §3 DMA rule)."""
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
    return (length_bytes // run) * (math.ceil(run / ddr.access_bytes) * ddr.access_bytes + ddr.run_overhead_bytes)
