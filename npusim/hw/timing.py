"""Every timing rule of the model, as pure functions of specs (docs/model/timing.md).

Units call these and never inline the arithmetic, so each rule is stated, tested and changed in
one place. Time is an integer count of array clock cycles.
"""
from __future__ import annotations

import math

from ..config import ComputeTileSpec, DdrSpec, DmaSpec, DType, KernelSpec, LockTimingSpec, StreamSwitchSpec, VectorKind
from ..isa import Compute, Dim, Vector
from ..isa.instructions import WORD_BYTES


def compute_cycles(kernel: KernelSpec, m: int, k: int, n: int) -> int:
    """A matmul kernel call:
    ``ceil(m*k*n / (macs_per_cycle * efficiency) + cycles_per_output * m*n) + overhead_cycles``
    (rounded up after forgiving float error below 1e-9 of a cycle). The MAC term is the vector
    unit's sustained rate; the output term is the C tile's load, accumulate and store on every call,
    which is what makes published kernels with a large m*n against k slower per MAC."""
    exact = m * k * n / (kernel.macs_per_cycle * kernel.efficiency) + kernel.cycles_per_output * m * n
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
        cycles = compute_cycles(tile.kernels[ins.dtype], ins.m, ins.k, ins.n)
        if ins.emit is not None and (ins.bias or ins.relu):
            cycles += epilogue_cycles(tile, ins.dtype, ins.m * ins.n, ins.bias, ins.relu)
        return cycles
    cycles = vector_cycles(tile, ins.kind, ins.dtype, ins.elements)
    if ins.relu and ins.kind != "relu":
        cycles += epilogue_cycles(tile, ins.dtype, ins.elements, False, True)
    return cycles


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
    """DDR bandwidth a shim transfer uses: each contiguous run costs whole accesses,
    ``runs * ceil(run_bytes / access_bytes) * access_bytes`` (run alignment is not modelled)."""
    run = contiguous_run_bytes(length_bytes, dims)
    return (length_bytes // run) * math.ceil(run / ddr.access_bytes) * ddr.access_bytes
