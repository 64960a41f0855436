"""The operators between the matmuls, run on the compute tiles' vector unit.

``Elementwise`` (unary ``relu``, ``sigmoid``, ``tanh``, ``gelu``; binary ``add``, ``sub``, ``mul``,
``div``), ``Pool`` (max or average, a global pool being a window of the whole image),
``Softmax`` and ``LayerNorm`` (over the last axis). Shapes are in the NPU's layout, the innermost
axis last: NHWC for images (an ONNX ``N x C x H x W`` tensor is ``N x H x W x C`` here), so a
per-channel operand is a row broadcast over the pixels.

The nonlinear operators (``sigmoid``, ``tanh``, ``gelu``, ``div``, softmax, layernorm) are
defined in bf16 only; relu, add, sub, mul and pooling also in int8 and int16, saturating.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from ...config import DType, Spec, VectorKind
from ...vector_math import BINARY, NONLINEAR

Pos = Annotated[int, Field(ge=1)]
ElementwiseKind = Literal["relu", "sigmoid", "tanh", "gelu", "add", "sub", "mul", "div"]


class _VectorLayer(Spec):
    name: str = Field("layer", description="Name shown in reports.")
    dtype: DType = Field(description="Element type of the tensors.")
    count: Pos = Field(1, description="Identical instances run back to back.")
    fused: Annotated[tuple[str, ...], Field(strict=False)] = Field(
        (), description="Names of the graph nodes folded into this layer (a Relu after an Add).")
    inputs: Annotated[tuple[str, ...], Field(strict=False)] | None = Field(
        None, description="The layers whose outputs this layer reads, by name, in operand order (a binary "
        "elementwise operator's x, then y); [] for inputs from the host. Unset: in a chained workload, the "
        "previous layer's output when its shape is this layer's input; otherwise the host's.")

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
    """``out = f(x)``, or ``out = x op y`` with ``y`` of the same shape (``same``), one row of
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
    """Softmax of each of ``rows`` rows of ``length`` elements."""

    op: Literal["softmax"] = "softmax"
    rows: Pos
    length: Pos

    @property
    def vector_kind(self) -> VectorKind:
        return "softmax"

    def describe(self) -> str:
        return f"softmax {self.rows}x{self.length} {self.dtype}"


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


VectorLayer = Union[Elementwise, Pool, Softmax, LayerNorm]
