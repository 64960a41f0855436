"""The operators between the matmuls, run on the compute tiles' vector unit.

``Elementwise`` (unary ``relu``, ``sigmoid``, ``tanh``, ``gelu``; binary ``add``, ``sub``, ``mul``,
``div``), ``Pool`` (max or average, a global pool being a window of the whole image),
``Softmax`` (optionally scaled and causally masked) and ``LayerNorm`` (over the last axis), and
the language models' ``RMSNorm``, ``Rope`` (rotary position embedding), ``silu`` / ``swiglu``
elementwise kinds and ``Embedding`` (a row gather from a table in DDR). Shapes are in the NPU's layout, the innermost
axis last: NHWC for images (an ONNX ``N x C x H x W`` tensor is ``N x H x W x C`` here), so a
per-channel operand is a row broadcast over the pixels.

The nonlinear operators (``sigmoid``, ``tanh``, ``gelu``, ``silu``, ``swiglu``, ``div``, softmax,
layernorm, rmsnorm, rope) are defined in bf16 only; relu, add, sub, mul and pooling also in int8 and int16, saturating.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from ...config import DType, Spec, VectorKind
from ...vector_math import BINARY, NONLINEAR

Pos = Annotated[int, Field(ge=1)]
ElementwiseKind = Literal["relu", "sigmoid", "tanh", "gelu", "silu", "add", "sub", "mul", "div", "swiglu"]


class _VectorLayer(Spec):
    name: str = Field("layer", description="Name shown in reports.")
    dtype: DType = Field(description="Element type of the tensors.")
    count: Pos = Field(1, description="Identical instances run back to back.")
    fused: Annotated[tuple[str, ...], Field(strict=False)] = Field(
        (), description="Names of the graph nodes folded into this layer (a Relu after an Add).")

    @property
    def vector_kind(self) -> VectorKind:
        """The vector kernel (``compute_tile.vector`` entry) the layer calls."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _bf16_only(self) -> "_VectorLayer":
        if self.vector_kind in NONLINEAR and self.dtype != "bf16":
            raise ValueError(f"{self.vector_kind} is defined in bf16 only (an integer type carries no scale to "
                             f"define it with), got dtype {self.dtype}; use bf16")
        return self


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


class Elementwise(_VectorLayer):
    """``out = f(x)``, or ``out = x op y`` (``swiglu``: ``silu(x) * y``, the gated unit of a
    Llama-style MLP) with ``y`` of the same shape (``same``), one row of
    ``shape[-1]`` elements broadcast over the others (``row``), or a constant (``scalar``)."""

    op: Literal["elementwise"] = "elementwise"
    kind: ElementwiseKind
    shape: Annotated[tuple[Pos, ...], Field(strict=False, min_length=1)] = Field(
        description="Shape of the tensor, innermost axis last (NHWC for images).")
    broadcast: Literal["same", "row", "scalar"] | None = Field(
        None, description="Binary operators: the shape of the second operand.")
    scalar: float | None = Field(None, description="The constant of a 'scalar' operand (None: drawn at random).")
    relu: bool = Field(False, description="Fused: clamp the result at zero (a following Relu).")

    @model_validator(mode="after")
    def _operands(self) -> "Elementwise":
        if (self.kind in BINARY) != (self.broadcast is not None):
            need = "needs broadcast: same, row or scalar" if self.kind in BINARY else "takes no broadcast"
            raise ValueError(f"{self.kind} is {'binary' if self.kind in BINARY else 'unary'}: it {need}")
        return self

    @property
    def vector_kind(self) -> VectorKind:
        return self.kind

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def row(self) -> int:
        """Elements of the innermost axis."""
        return self.shape[-1]

    def describe(self) -> str:
        operand = {None: "", "same": " with same", "row": f" with row of {self.row}",
                   "scalar": " with scalar" if self.scalar is None else f" with {self.scalar:g}"}[self.broadcast]
        return f"{self.kind} {_dims(self.shape)}{operand} {self.dtype}{' +relu' if self.relu else ''}"


def window_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Outputs of a ``kernel``-wide window sliding ``stride`` at a time over ``size`` inputs padded
    by ``padding`` on each side (convolutions and pools)."""
    return (size + 2 * padding - kernel) // stride + 1


class Pool(_VectorLayer):
    """Max or average over ``kernel_h x kernel_w`` windows, ``stride`` apart, of an NHWC image
    padded by ``padding`` (the maximum ignores the padding; the average counts it, as ONNX's
    ``count_include_pad=1``)."""

    op: Literal["pool"] = "pool"
    kind: Literal["max", "avg"]
    batch: Pos = 1
    channels: Pos
    height: Pos
    width: Pos
    kernel_h: Pos
    kernel_w: Pos
    stride: Pos = 1
    padding: Annotated[int, Field(ge=0)] = 0
    relu: bool = Field(False, description="Fused: clamp the result at zero.")

    @model_validator(mode="after")
    def _fits(self) -> "Pool":
        if self.out_h < 1 or self.out_w < 1:
            raise ValueError(f"a {self.kernel_h}x{self.kernel_w} window does not fit a {self.height}x{self.width} "
                             f"input with padding {self.padding}; make the window smaller")
        if self.padding >= max(self.kernel_h, self.kernel_w) and self.padding:
            raise ValueError(f"padding {self.padding} is not smaller than the {self.kernel_h}x{self.kernel_w} window")
        return self

    @property
    def vector_kind(self) -> VectorKind:
        return "max_pool" if self.kind == "max" else "avg_pool"

    @property
    def out_h(self) -> int:
        return window_out(self.height, self.kernel_h, self.stride, self.padding)

    @property
    def out_w(self) -> int:
        return window_out(self.width, self.kernel_w, self.stride, self.padding)

    @property
    def is_global(self) -> bool:
        return (self.kernel_h, self.kernel_w, self.padding) == (self.height, self.width, 0)

    def describe(self) -> str:
        what = "global " if self.is_global else ""
        window = "" if self.is_global else f", {self.kernel_h}x{self.kernel_w}/{self.stride} pad {self.padding}"
        return (f"{what}{self.kind} pool {self.batch}x{self.height}x{self.width}x{self.channels}{window} "
                f"{self.dtype}{' +relu' if self.relu else ''}")


class Softmax(_VectorLayer):
    """Softmax of each of ``rows`` rows of ``length`` elements, scaled by ``scale`` first.

    ``causal_queries`` = ``q`` makes it an attention's causal softmax: the rows are groups of ``q``
    queries, the last ``q`` positions of a sequence of ``length`` keys, and query ``i`` of a group
    (row ``r``, ``i = r % q``) sees the first ``length - q + i + 1`` keys; the rest are masked to
    zero. Each kernel call reads its rows' key counts (one 32-bit word per row) beside the rows;
    so does a softmax of rows that are not whole 32-bit words long, whose padding is masked."""

    op: Literal["softmax"] = "softmax"
    rows: Pos
    length: Pos
    scale: Annotated[float, Field(gt=0)] = Field(1.0, description="Multiplies the inputs first (1/sqrt(d) in attention).")
    causal_queries: Pos | None = Field(None, description="Causal mask: queries per group of rows (None: no mask).")

    @model_validator(mode="after")
    def _queries_fit(self) -> "Softmax":
        if self.causal_queries is not None and self.causal_queries > self.length:
            raise ValueError(f"causal_queries {self.causal_queries} is more than the {self.length} keys: the queries "
                             "are the last positions of the keys")
        return self

    @property
    def vector_kind(self) -> VectorKind:
        return "softmax"

    @property
    def masked(self) -> bool:
        """Whether each row's key count goes beside it: a causal mask, or rows of an odd number
        of bf16 elements (padded in DDR to whole 32-bit words, the padding masked)."""
        return self.causal_queries is not None or self.length % 2 == 1

    def keys(self) -> tuple[int, ...]:
        """Keys each row sees (all of them without a causal mask)."""
        q = self.causal_queries
        if q is None:
            return (self.length,) * self.rows
        return tuple(self.length - q + r % q + 1 for r in range(self.rows))

    def describe(self) -> str:
        extra = (f" x{self.scale:g}" if self.scale != 1.0 else "") + (
            f" causal {self.causal_queries}q" if self.causal_queries else "")
        return f"softmax {self.rows}x{self.length}{extra} {self.dtype}"


class LayerNorm(_VectorLayer):
    """Each of ``rows`` rows of ``length`` elements normalised to mean 0 and variance 1, then
    scaled by ``gamma`` and shifted by ``beta`` (``length`` each)."""

    op: Literal["layernorm"] = "layernorm"
    rows: Pos
    length: Pos
    epsilon: Annotated[float, Field(gt=0)] = 1e-5

    @property
    def vector_kind(self) -> VectorKind:
        return "layernorm"

    def describe(self) -> str:
        return f"layernorm {self.rows}x{self.length} {self.dtype}"


class RMSNorm(_VectorLayer):
    """Each of ``rows`` rows of ``length`` elements divided by its root mean square (plus
    ``epsilon``), then scaled by ``gamma`` (``length`` elements): Llama's RMSNorm."""

    op: Literal["rmsnorm"] = "rmsnorm"
    rows: Pos
    length: Pos
    epsilon: Annotated[float, Field(gt=0)] = 1e-5

    @property
    def vector_kind(self) -> VectorKind:
        return "rmsnorm"

    def describe(self) -> str:
        return f"rmsnorm {self.rows}x{self.length} {self.dtype}"


class Rope(_VectorLayer):
    """Rotary position embedding of ``rows`` rows of ``length`` (a head's dimension, even)
    elements: ``heads`` consecutive rows per token, the tokens at positions ``position``,
    ``position + 1``, ... Each row's two halves are rotated as pairs by its token's angles
    (``rotate_half``, frequency ``i`` = ``theta ** (-2i / length)``). The kernel reads each row's
    ``cos | sin`` table row from DDR beside it."""

    op: Literal["rope"] = "rope"
    rows: Pos
    length: Pos
    heads: Pos = Field(1, description="Consecutive rows that belong to one token.")
    position: Annotated[int, Field(ge=0)] = Field(0, description="Position of the first token.")
    theta: Annotated[float, Field(gt=1)] = Field(10000.0, description="RoPE base (rope_theta).")

    @model_validator(mode="after")
    def _even(self) -> "Rope":
        if self.length % 2:
            raise ValueError(f"rope rotates pairs: length {self.length} must be even")
        return self

    @property
    def vector_kind(self) -> VectorKind:
        return "rope"

    def positions(self) -> tuple[int, ...]:
        """Each row's token position."""
        return tuple(self.position + r // self.heads for r in range(self.rows))

    def describe(self) -> str:
        return f"rope {self.rows}x{self.length} from position {self.position} {self.dtype}"


class Embedding(_VectorLayer):
    """Rows of a ``vocab x length`` table in DDR gathered by token id: only the ``rows`` rows
    named in ``tokens`` are read (ids ``0, 1, ...`` when none are given; the timing does not
    depend on which)."""

    op: Literal["embedding"] = "embedding"
    rows: Pos
    length: Pos
    vocab: Pos
    tokens: Annotated[tuple[Annotated[int, Field(ge=0)], ...] | None, Field(strict=False)] = None

    @model_validator(mode="after")
    def _ids(self) -> "Embedding":
        if self.tokens is not None:
            if len(self.tokens) != self.rows:
                raise ValueError(f"tokens has {len(self.tokens)} ids for {self.rows} rows")
            if max(self.tokens) >= self.vocab:
                raise ValueError(f"token id {max(self.tokens)} is not below the vocabulary size {self.vocab}")
        return self

    @property
    def vector_kind(self) -> VectorKind:
        return "gather"

    def ids(self) -> tuple[int, ...]:
        return self.tokens if self.tokens is not None else tuple(r % self.vocab for r in range(self.rows))

    def describe(self) -> str:
        return f"embedding {self.rows} of {self.vocab}x{self.length} {self.dtype}"


VectorLayer = Union[Elementwise, Pool, Softmax, LayerNorm, RMSNorm, Rope, Embedding]
