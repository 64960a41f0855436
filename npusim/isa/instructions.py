"""The instructions of a Program: frozen, slotted dataclasses (validated by pydantic on load).

Units: sizes and offsets are bytes; access-pattern strides are 32-bit words, the DMA's address
granularity on AIE-ML (mlir-aie ``getAddressGenGranularity() = 32``). Tiles are ``(column, row)``
with row 0 the shim row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal, Union

from pydantic import ConfigDict, Field, Strict

from ..config import DType, OperandType, VectorKind, type_pair
from ..numerics import OutType
from .core_code import Code

_STRICT = ConfigDict(extra="forbid")
StrictInt = Annotated[int, Strict()]
Tile = tuple[StrictInt, StrictInt]
NonNeg = Annotated[int, Field(ge=0), Strict()]
Pos = Annotated[int, Field(ge=1), Strict()]

WORD_BYTES = 4
"""DMA address granularity: one 32-bit word."""

_VECTOR_TYPE: dict[OperandType, DType] = {"int8": "int8", "int16": "int16", "bf16": "bf16", "bfp16": "bf16",
                                          "int4": "bf16"}


@dataclass(frozen=True, slots=True)
class LockOp:
    """A lock and the amount an acquire waits for and takes, or a release adds."""

    __pydantic_config__ = _STRICT
    lock: str
    value: Pos = 1


@dataclass(frozen=True, slots=True)
class Acquire:
    """Core waits until ``lock`` >= ``value``, then subtracts ``value``."""

    __pydantic_config__ = _STRICT
    op: Literal["acquire"]
    lock: str
    value: Pos = 1


@dataclass(frozen=True, slots=True)
class Release:
    """Core adds ``value`` to ``lock``."""

    __pydantic_config__ = _STRICT
    op: Literal["release"]
    lock: str
    value: Pos = 1


@dataclass(frozen=True, slots=True)
class Compute:
    """A matmul kernel call of ``m x k x n`` MACs on the core's vector unit.

    The operands are optional for timing and required for functional mode: ``a`` (``m x k``) and
    ``b`` (``k x n``) are buffers of ``dtype`` elements, row-major; ``c`` holds ``m x n`` 32-bit
    accumulators (int32, or fp32 for bf16), row-major. The call adds ``a @ b`` to ``c``, or
    overwrites it when ``zero`` (the first call of a reduction). ``emit`` converts the
    accumulators to an output type in place, packed from the start of ``c`` (the last call of a
    reduction); integer outputs are shifted right by ``shift`` with rounding, then saturated.

    A fused epilogue applies on ``emit``, to the accumulators before the conversion: ``bias`` adds
    ``n`` 32-bit values (the accumulator type) stored in ``b`` right after its ``k x n`` operands
    (the bias rides with each B tile); ``relu`` clamps at zero.

    ``c_type`` keeps ``c`` in that (narrow) type between calls instead of 32-bit accumulators, as
    the stock mlir-aie kernels do: each call widens ``c`` (integers scaled back up by ``shift``),
    adds the products, and stores the result converted to ``c_type`` again (shift-round-saturate,
    or bf16 rounding), so a reduction is rounded once per call; ``emit``, if given, must be
    ``c_type``. ``b_transposed``: ``b`` holds the tile as ``n x k`` (B stored column-major).

    ``b_dtype`` is B's type when it differs from A's (``dtype``): e.g. bf16 A with bfp16 or int4 B
    (int4 weights carry a bf16 scale per ``group_size`` weights along K).
    ``kernel`` names the kernel library that times the call (``compute_tile.kernels``; None: the
    config's ``default_kernel``). Operand layouts of the block and group formats (bfp16, int4) are
    those of :func:`npusim.numerics.operand_bytes`.
    """

    __pydantic_config__ = _STRICT
    op: Literal["compute"]
    m: Pos
    k: Pos
    n: Pos
    dtype: OperandType
    a: str | None = None
    b: str | None = None
    c: str | None = None
    zero: bool = False
    emit: OutType | None = None
    shift: Annotated[int, Field(ge=0, le=31), Strict()] = 0
    bias: bool = False
    relu: bool = False
    c_type: OutType | None = None
    b_transposed: bool = False
    b_dtype: OperandType | None = None
    kernel: str | None = None
    group_size: Pos = 32

    @property
    def b_type(self) -> OperandType:
        """B's element type (``dtype`` unless ``b_dtype`` says otherwise)."""
        return self.dtype if self.b_dtype is None else self.b_dtype

    @property
    def types(self) -> str:
        """The operand-type combination, as kernel variants and MAC energies key it: ``int8``, or
        ``bf16xbfp16`` for bf16 A with bfp16 B."""
        return type_pair(self.dtype, self.b_dtype)

    @property
    def epilogue_type(self) -> DType:
        """The vector type that prices and computes a fused epilogue: A's type, or bf16 for the
        block formats (their accumulators are fp32, as bf16's)."""
        return _VECTOR_TYPE[self.dtype]


@dataclass(frozen=True, slots=True)
class Vector:
    """A vector-unit kernel call on a block of ``shape`` elements of ``dtype`` (row-major, the
    last dimension innermost) read from ``inputs[0]``; its time depends on the element count.

    What it computes (functional mode), by ``kind``:

    - unary ``relu``, ``sigmoid``, ``tanh``, ``gelu``, ``silu``: ``out = f(x)``;
    - binary ``add``, ``sub``, ``mul``, ``div``, ``swiglu`` (``silu(x) * y``): ``out = x op y`` with ``y`` the block of
      ``inputs[1]`` (same shape; or, when ``broadcast``, one row of ``shape[-1]`` elements
      broadcast over the rows), or the constant ``scalar`` when there is no second input;
    - ``softmax``, ``layernorm``, ``rmsnorm``: per row (last dimension); softmax scales by
      ``scalar`` (1 when None) and, given ``inputs[1]``, reads a key count per row (int32) and
      masks the keys past it; layernorm reads ``gamma`` then ``beta`` (``shape[-1]`` each) from
      ``inputs[1]``, rmsnorm ``gamma``; ``scalar`` is their epsilon;
    - a softmax whose rows come in ``divisor`` segments (``divisor`` > 0): each call reads a
      segment and its rows' key counts (``inputs[1]``); without ``emit`` it updates the rows'
      running max and sum (fp32 pairs) in ``out``, started afresh when ``zero``; with ``emit`` it
      writes the segment normalised by the statistics in ``inputs[2]``;
    - ``rope``: each row rotated by its row of ``inputs[1]`` (``cos | sin``, same shape);
    - ``gather``: ``out = x`` (an embedding's rows, gathered by the shim DMA);
    - ``max_pool``, ``avg_pool``: a block ``(rows, pixels, window columns, channels)`` reduced
      over rows and window columns into ``pixels x channels`` 32-bit accumulators in ``out``
      (started when ``zero``); ``emit`` converts them to ``dtype`` in place, packed from the
      start (the average divides by ``divisor``).

    ``relu`` clamps the result at zero (a fused activation). Integer results saturate.
    """

    __pydantic_config__ = _STRICT
    op: Literal["vector"]
    kind: VectorKind
    dtype: DType
    shape: tuple[Pos, ...]
    inputs: tuple[str, ...] = ()
    out: str | None = None
    scalar: float | None = None
    broadcast: bool = False
    relu: bool = False
    zero: bool = False
    emit: bool = False
    divisor: NonNeg = 0

    @property
    def elements(self) -> int:
        """Elements the call reads from its first input."""
        count = 1
        for d in self.shape:
            count *= d
        return count


@dataclass(frozen=True, slots=True)
class Loop:
    """Run ``body`` ``count`` times. Loops stay loops: they are never unrolled.

    A count of :data:`ENDLESS` or more is an endless loop (an mlir-aie core's
    ``scf.for ... to 9223372036854775807``, IRON's ``range_(sys.maxsize)``): a core whose program
    ends with one is not waited for, as the host does not wait for it."""

    __pydantic_config__ = _STRICT
    op: Literal["loop"]
    count: Pos
    body: tuple["Instruction", ...]


ENDLESS = 2**40
"""Loop counts from here on are endless loops (see :class:`Loop`)."""

Instruction = Annotated[Union[Acquire, Release, Compute, Vector, Loop, Code], Field(discriminator="op")]


@dataclass(frozen=True, slots=True)
class Dim:
    """One dimension of a DMA access pattern: ``size`` words, ``stride`` words apart."""

    __pydantic_config__ = _STRICT
    size: Pos
    stride: NonNeg


def pattern_bytes(dims: tuple[Dim, ...], pad: tuple[tuple[int, int], ...] = ()) -> int:
    """Bytes an access pattern moves: the product of its sizes (each with its padding), in words."""
    words = 1
    for i, d in enumerate(dims):
        words *= d.size + (sum(pad[i]) if i < len(pad) else 0)
    return WORD_BYTES * words


def pattern_extent_bytes(dims: tuple[Dim, ...]) -> int:
    """Bytes from a pattern's first address to one past the last word it touches."""
    return WORD_BYTES * (1 + sum((d.size - 1) * d.stride for d in dims))


@dataclass(frozen=True, slots=True)
class BufferDescriptor:
    """What one DMA step moves: ``length_bytes`` of ``buffer`` from ``offset_bytes``, through an
    optional access pattern (``dims``, innermost first), guarded by locks, then ``next``.

    ``next`` is the index of the following BD in the channel's list; ``None`` means the BD after
    this one in the list (or the end of the chain after the last one); ``"end"`` ends the chain.

    ``pad`` (a memory tile's MM2S only, ``dma.padding``) gives ``(before, after)`` words of zeros
    the DMA inserts around each dimension of ``dims`` (same order): the stream then carries
    ``length_bytes`` = the padded pattern's words, of which only the unpadded ones are read.
    """

    __pydantic_config__ = _STRICT
    buffer: str
    length_bytes: Pos
    offset_bytes: NonNeg = 0
    dims: tuple[Dim, ...] = ()
    acquire: LockOp | None = None
    release: LockOp | None = None
    next: NonNeg | Literal["end"] | None = None
    pad: tuple[tuple[NonNeg, NonNeg], ...] = ()

    def extent_bytes(self) -> int:
        """Bytes from ``offset_bytes`` to one past the last byte the pattern touches."""
        return pattern_extent_bytes(self.dims) if self.dims else self.length_bytes


@dataclass(frozen=True, slots=True)
class DmaChannelProgram:
    """The BD chain of one DMA channel, started at ``start`` and run ``repeat`` times.

    A chain whose ``next`` links form a cycle never ends (the channel serves forever, as
    ObjectFIFO designs do); ``repeat`` then has no effect.
    """

    __pydantic_config__ = _STRICT
    channel: str
    bds: tuple[BufferDescriptor, ...]
    start: NonNeg = 0
    repeat: Pos = 1


@dataclass(frozen=True, slots=True)
class Buffer:
    """A named region of a tile's memory; ``offset_bytes`` None places it after the previous one."""

    __pydantic_config__ = _STRICT
    name: str
    size_bytes: Pos
    offset_bytes: NonNeg | None = None


@dataclass(frozen=True, slots=True)
class LockDecl:
    """A named lock of a tile with its initial value."""

    __pydantic_config__ = _STRICT
    name: str
    init: NonNeg = 0


@dataclass(frozen=True, slots=True)
class TileProgram:
    """Everything a program puts on one tile."""

    __pydantic_config__ = _STRICT
    tile: Tile
    buffers: tuple[Buffer, ...] = ()
    locks: tuple[LockDecl, ...] = ()
    core: tuple[Instruction, ...] = ()
    dma: tuple[DmaChannelProgram, ...] = ()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A DMA channel of a tile, as the end of a route."""

    __pydantic_config__ = _STRICT
    tile: Tile
    channel: str

    def __str__(self) -> str:
        return f"({self.tile[0]},{self.tile[1]}).{self.channel}"


@dataclass(frozen=True, slots=True)
class Route:
    """A circuit-switched stream from one MM2S channel to one or more S2MM channels."""

    __pydantic_config__ = _STRICT
    name: str
    source: Endpoint
    destinations: tuple[Endpoint, ...]


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor in host DDR."""

    __pydantic_config__ = _STRICT
    name: str
    size_bytes: Pos


@dataclass(frozen=True, slots=True)
class DmaTask:
    """Runtime: queue a transfer between a DDR tensor and a shim DMA channel."""

    __pydantic_config__ = _STRICT
    op: Literal["dma"]
    name: str
    tile: Tile
    channel: str
    tensor: str
    length_bytes: Pos
    offset_bytes: NonNeg = 0
    dims: tuple[Dim, ...] = ()


@dataclass(frozen=True, slots=True)
class Wait:
    """Runtime: wait until the named DMA tasks have completed."""

    __pydantic_config__ = _STRICT
    op: Literal["wait"]
    tasks: tuple[str, ...]


RuntimeOp = Annotated[Union[DmaTask, Wait], Field(discriminator="op")]


@dataclass(frozen=True, slots=True)
class Program:
    """A whole NPU program: per-tile programs, routes, DDR tensors and the runtime sequence."""

    __pydantic_config__ = _STRICT
    name: str
    tiles: tuple[TileProgram, ...]
    routes: tuple[Route, ...] = ()
    tensors: tuple[Tensor, ...] = ()
    runtime: tuple[RuntimeOp, ...] = ()
    description: str = ""
    format: Literal["npusim-trace"] = "npusim-trace"
    version: int = field(default=1)
