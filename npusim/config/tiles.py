"""Specs of the three tile kinds: compute tile, memory tile and shim tile."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..numerics import OutType
from ._base import BytesPerCycle, Count, Cycles, DType, Fraction01, KiB, PositiveCount, Spec, VectorKind


class DmaSpec(Spec):
    """The DMA engine of one tile: channels, buffer descriptors and per-BD timing."""

    s2mm_channels: Count = Field(description="Stream-to-memory-map channels (stream in, write to memory).")
    mm2s_channels: Count = Field(description="Memory-map-to-stream channels (read memory, stream out).")
    bds: PositiveCount = Field(description="Buffer descriptors shared by the tile's channels.")
    address_dims: PositiveCount = Field(
        description="Dimensions of the address generator (sizes/strides) a BD may use."
    )
    bytes_per_cycle: BytesPerCycle = Field(
        description="Memory-side rate of one channel; the stream side is limited by the stream width."
    )
    startup_cycles: Cycles = Field(
        description="Cycles from a BD's lock grant to its first word leaving memory (BD fetch + memory read)."
    )
    max_repeat: PositiveCount = Field(256, description="Largest task repeat count a channel accepts.")
    max_iterations: PositiveCount = Field(
        64, description="Largest size of the iteration dimension: one more, outermost dimension "
        "an access pattern may have beyond address_dims (aie-rt: a 6-bit iteration wrap).")
    padding: bool = Field(
        False, description="Whether the MM2S channels can insert zero padding around each dimension of "
        "an access pattern (AIE-ML: the memory tile's DMA only).")
    bd_pools: Literal[1, 2] = Field(
        1, description="1: every channel may use every BD. 2: the BDs are split in two halves, one "
        "for the even-numbered channels and one for the odd ones (the memory tile's 24 + 24).")

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names of this DMA: ``s2mm0.. , mm2s0..``."""
        return tuple(f"s2mm{i}" for i in range(self.s2mm_channels)) + tuple(
            f"mm2s{i}" for i in range(self.mm2s_channels)
        )


class StreamPortsSpec(Spec):
    """Outgoing (master) stream-switch ports of a tile towards each neighbour.

    A circuit-switched route leaving a tile northwards holds one of its ``north`` ports for the
    life of the program; each port connects to one incoming port of the neighbour, so counting the
    outgoing side is enough to enforce the limit.
    """

    north: Count = Field(description="Outgoing stream ports towards the tile above (AIE-ML compute tile: 6).")
    south: Count = Field(description="Outgoing stream ports towards the tile below (AIE-ML compute tile: 4).")
    east: Count = Field(description="Outgoing stream ports towards the tile on the right; 0 where a tile has none "
                        "(memory tiles).")
    west: Count = Field(description="Outgoing stream ports towards the tile on the left; 0 where a tile has none "
                        "(memory tiles).")


class KernelSpec(Spec):
    """Timing of one matmul kernel variant (one operand-type combination) in a kernel library (the
    compute rule, docs/model/timing.md; :func:`npusim.hw.timing.compute_cycles`), and the tile
    shapes it accepts."""

    macs_per_cycle: PositiveCount = Field(description="Peak MACs per cycle of the vector unit in this variant's "
                                          "operand types (the mmul shape's MACs per vmac).")
    efficiency: Fraction01 = Field(description="Sustained fraction of the peak in a call's MAC loop.")
    overhead_cycles: Cycles = Field(description="Fixed cycles per call (prologue, epilogue, call).")
    cycles_per_output: Annotated[float, Field(ge=0.0)] = Field(
        0.0, description="Cycles per element of the call's m x n output tile, beyond the MACs: the core "
        "loads the C tile, accumulates into it and stores it back on every call, so a kernel's sustained "
        "rate falls as m*n grows against k (calibrated on published kernels of several shapes). This is the "
        "figure for C kept in the variant's first output type; out_cycles_per_output overrides it per type.")
    out_cycles_per_output: dict[OutType, Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=dict, description="Cycles per output element when C is kept in this output type, for "
        "the types whose C tile costs differently from cycles_per_output (a wider C moves more bytes "
        "through the core's load and store units on every call, e.g. int32 against int8).")
    outputs: tuple[OutType, ...] = Field(
        min_length=1, strict=False, description="Output types the variant can emit; the first is the default.")
    tile_multiple: tuple[PositiveCount, PositiveCount, PositiveCount] = Field(
        strict=False, description="The kernel's tile (m, k, n) must be a multiple of these: its mmul shape times the "
        "blocking of its loops (e.g. mlir-aie's 2 x 2 mmul blocks per iteration).")
    max_tile: tuple[PositiveCount, PositiveCount, PositiveCount] | None = Field(
        None, strict=False, description="Largest (m, k, n) the kernel accepts, where its code fixes a limit (None: only the "
        "data memory limits the tile).")
    emulation: Literal["bfp16"] | None = Field(
        None, description="bfp16: the kernel emulates its bf16 operands on the bfp16 datapath (AIE-API "
        "AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16), so functional mode rounds them to bfp16 blocks along K "
        "before multiplying. None: the operands are used as they are.")

    def output_cycles(self, out: OutType | None) -> float:
        """Cycles per output element with C kept in ``out`` (None: the variant's default output)."""
        if out is None:
            return self.cycles_per_output
        return self.out_cycles_per_output.get(out, self.cycles_per_output)

    def tile_problem(self, m: int, k: int, n: int) -> str | None:
        """Why this variant cannot run an ``m x k x n`` call (None: it can)."""
        rm, rk, rn = self.tile_multiple
        if m % rm or k % rk or n % rn:
            return f"m={m} k={k} n={n} are not multiples of its tile_multiple {rm}x{rk}x{rn}"
        if self.max_tile is not None and (m > self.max_tile[0] or k > self.max_tile[1] or n > self.max_tile[2]):
            return f"m={m} k={k} n={n} exceed its max_tile {'x'.join(map(str, self.max_tile))}"
        return None


KernelName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$")]
TypePair = Annotated[str, Field(pattern=r"^(int8|int16|bf16|bfp16|int4)(x(int8|int16|bf16|bfp16|int4))?$")]


def type_pair(a: str, b: str | None = None) -> str:
    """The key of an operand-type combination: ``int8`` when A and B are both int8, ``bf16xbfp16``
    for bf16 A with bfp16 B."""
    return a if b is None or b == a else f"{a}x{b}"


class KernelLibrarySpec(Spec):
    """A named set of matmul kernels (e.g. ``tuned``, ``mlir-aie``): one variant per operand-type
    combination, each with its own timing rule, and where its figures come from."""

    source: str = Field(min_length=1, description="Where the kernels come from and what their figures rest on "
                        "(code, paper, measurement).")
    variants: dict[TypePair, KernelSpec] = Field(
        description="Variants by operand types: 'int8' (A and B int8) or 'AxB' for mixed operands, e.g. "
        "'bf16xbfp16' (bf16 A, bfp16 B) or 'bf16xint4' (bf16 A, group-quantised int4 B).")


class KernelError(ValueError):
    """No kernel for what was asked; the message lists what there is."""


class VectorKernelSpec(Spec):
    """Timing of a vector-unit kernel call of one operator in one data type (the vector rule, docs/model/timing.md)."""

    cycles_per_element: Annotated[float, Field(gt=0.0)] = Field(
        description="Cycles per element the call reads (its inner loop, pipelined), e.g. 0.0625 = 16 a cycle.")
    overhead_cycles: Cycles = Field(0, description="Fixed cycles per call (prologue, epilogue, call).")


class CoreOpsSpec(Spec):
    """Cycles of the core's own operations in core code (not kernel calls): each operation waits
    for the one before (no bundling into VLIW words), so a block costs the sum (DESIGN §3)."""

    scalar_alu_cycles: Cycles = Field(1, description="Integer add, subtract, logic, shift, compare, select, "
                                      "cast or register move on the scalar unit.")
    scalar_mul_cycles: Cycles = Field(2, description="Integer multiply on the scalar unit.")
    scalar_div_cycles: Cycles = Field(40, description="Integer divide or remainder (no divider: a software "
                                      "routine).")
    scalar_float_cycles: Cycles = Field(20, description="A scalar floating-point operation (no scalar FPU: "
                                        "emulated in software).")
    load_cycles: Cycles = Field(6, description="A scalar load from data memory, until its value can be used.")
    store_cycles: Cycles = Field(1, description="A scalar store to data memory.")
    vector_alu_cycles: Cycles = Field(1, description="An elementwise vector add, subtract, logic, compare, "
                                      "select, broadcast or cast.")
    vector_mul_cycles: Cycles = Field(6, description="An elementwise vector multiply (the vector MAC unit's "
                                      "latency).")
    vector_load_cycles: Cycles = Field(7, description="A vector load, until its value can be used.")
    vector_store_cycles: Cycles = Field(2, description="A vector store.")
    vector_bytes: PositiveCount = Field(32, description="Bytes one vector store writes (a zeroing kernel "
                                        "stores its buffer in these).")
    loop_iteration_cycles: Cycles = Field(1, description="Per iteration of a loop inside core code (the "
                                          "induction variable's update; the loop itself is a zero-overhead "
                                          "hardware loop).")
    branch_cycles: Cycles = Field(6, description="An if: the jump and its delay slots.")


class ComputeTileSpec(Spec):
    """A compute tile: VLIW/SIMD core, its data memory, locks, DMA and stream ports."""

    data_mem_kib: KiB = Field(description="Compute-tile data memory in KiB (64 on AIE-ML and AIE2P); what the "
                              "lowering's double buffers must fit in.")
    banks: PositiveCount = Field(description="Data-memory banks as seen by software (checked, not timed: bank "
                                 "conflicts are not modelled).")
    program_mem_kib: KiB = Field(description="Program memory in KiB.")
    locks: PositiveCount = Field(description="Semaphore locks in the tile's memory module.")
    dma: DmaSpec = Field(description="The tile's DMA: 2 S2MM + 2 MM2S channels on AIE-ML, its BDs and timing.")
    stream_ports: StreamPortsSpec = Field(description="Outgoing stream-switch ports towards each neighbour.")
    default_kernel: KernelName = Field(description="The kernel library a matmul uses when none is named "
                                       "(a Compute instruction's kernel, a layer's kernel, --kernel).")
    kernels: dict[KernelName, KernelLibrarySpec] = Field(
        description="Matmul kernel libraries by name (e.g. tuned, mlir-aie), each with a timing rule per "
        "operand-type combination; a combination a library lacks cannot be computed with it.")
    vector: dict[VectorKind, dict[DType, VectorKernelSpec]] = Field(
        default_factory=dict, description="Vector-unit kernel timing per operator and data type (elementwise, "
        "pooling, softmax, layernorm; bias and relu also price a matmul's fused epilogue); a missing "
        "entry cannot be computed.")
    core_ops: CoreOpsSpec = Field(default_factory=CoreOpsSpec, description="Cycles of the core's own "
                                  "scalar and vector operations in core code (mlir-aie core bodies).")


    @model_validator(mode="after")
    def _default_kernel_exists(self) -> "ComputeTileSpec":
        if self.default_kernel not in self.kernels:
            raise ValueError(f"default_kernel '{self.default_kernel}' is not one of the kernels "
                             f"({', '.join(self.kernels) or 'none'}); name one of them or add it under kernels")
        return self

    def kernel(self, name: str | None, a: str, b: str | None = None, out: str | None = None) -> KernelSpec:
        """The variant of kernel library ``name`` (None: ``default_kernel``) for A of type ``a`` and B of
        type ``b`` (None: as A), emitting ``out`` (None: any). Raises :class:`KernelError` naming the
        kernels, or the library's operand types and outputs, that there are."""
        lib_name = self.default_kernel if name is None else name
        lib = self.kernels.get(lib_name)
        if lib is None:
            raise KernelError(f"no kernel named '{lib_name}' (compute_tile.kernels has: {', '.join(self.kernels)})")
        pair = type_pair(a, b)
        spec = lib.variants.get(pair)
        if spec is None:
            raise KernelError(f"kernel '{lib_name}' has no {pair} variant (compute_tile.kernels.{lib_name}.variants "
                              f"has: {', '.join(lib.variants) or 'none'}); add compute_tile.kernels.{lib_name}."
                              f"variants.{pair} or use another kernel or data type")
        if out is not None and out not in spec.outputs:
            raise KernelError(f"kernel '{lib_name}' {pair} cannot emit {out} (it emits: {', '.join(spec.outputs)})")
        return spec

    def peak_macs_per_cycle(self, pair: str) -> int:
        """The vector unit's peak MACs per cycle in operand types ``pair`` (the largest any kernel
        library states; 0 when none has the combination)."""
        return max((lib.variants[pair].macs_per_cycle for lib in self.kernels.values() if pair in lib.variants),
                   default=0)

    def kernel_pairs(self) -> set[str]:
        """Every operand-type combination some kernel library has."""
        return {pair for lib in self.kernels.values() for pair in lib.variants}


class MemTileSpec(Spec):
    """A memory tile: a large banked SRAM with its own DMA, locks and stream switch."""

    size_kib: KiB = Field(description="Memory-tile SRAM capacity in KiB (512 on AIE-ML and AIE2P).")
    banks: PositiveCount = Field(description="Memory-tile SRAM banks (checked, not timed: bank conflicts are not "
                                 "modelled).")
    locks: PositiveCount = Field(description="Semaphore locks of the memory tile (64 on AIE-ML).")
    dma: DmaSpec = Field(description="The memory tile's DMA: 6 S2MM + 6 MM2S channels on AIE-ML, 48 BDs in two "
                         "pools, 4-D access patterns.")
    stream_ports: StreamPortsSpec = Field(description="Outgoing stream-switch ports towards each neighbour (no "
                                          "east/west ports on AIE-ML memory tiles).")
    task_queue_depth: PositiveCount = Field(
        4, description="Transfers the runtime sequence can hold queued on a memory-tile channel (buffer tasks); "
        "the runtime waits when it is full. AM020 gives four tasks per shim channel; the memory tile's channels "
        "have the same task queue, taken to be as deep.")


class ShimTileSpec(Spec):
    """A shim (interface) tile: the array's door to host DDR. It has no data memory."""

    locks: PositiveCount = Field(description="Semaphore locks of the shim tile (16 on AIE-ML).")
    dma: DmaSpec = Field(description="The shim DMA between DDR and the array: 2 S2MM + 2 MM2S channels per shim "
                         "tile on AIE-ML.")
    stream_ports: StreamPortsSpec = Field(description="Outgoing stream-switch ports towards each neighbour.")
    task_queue_depth: PositiveCount = Field(
        description="Transfers a shim channel can hold queued; the runtime waits when it is full."
    )

    @model_validator(mode="after")
    def _has_channels(self) -> "ShimTileSpec":
        if self.dma.s2mm_channels + self.dma.mm2s_channels == 0:
            raise ValueError("a shim tile needs at least one DMA channel to reach DDR")
        return self
