"""Layers the frontend lowers: matrix multiplication (``Gemm``) and 2-D convolution (``Conv2d``).

Data types: operands int8, int16, bf16 or bfp16 (XDNA2's block floating point, blocks of 8 along
K); B may have a type of its own (``b_dtype``: e.g. bf16 A with bfp16 or group-quantised int4
weights), and the config's kernel library must have a variant for the pair (``kernel`` names the
library). 32-bit accumulation (int32, or fp32 for the float family); the output type is
``out_dtype`` (int8 -> int8, int16 or int32, int16 -> int16 or int32, bf16 and bfp16 -> bf16 or
fp32; the default is the operand type, bf16 for bfp16). Integer outputs narrower than the accumulator are
``shift``-ed right with rounding and saturated. Tensors are row-major: GEMM ``A`` is ``m x k``,
``B`` is ``k x n``; convolutions use NHWC activations and ``kernel_h x kernel_w x in x out``
(HWIO) weights, the layouts an NPU keeps them in.

A fused epilogue (``bias``, ``relu``) is applied to the accumulators before the conversion to the
output type, inside the last kernel call of each output tile, as a compiler fuses a following bias
add and ReLU into the matmul; ``fused`` names the graph nodes folded in. The operators between
the matmuls are in :mod:`.vector_layers`.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from ...config import DType, OperandType, Spec, type_pair
from ...numerics import FLOAT_KINDS, OUTPUTS, OutType
from ..layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Rope, Softmax, VectorLayer, window_out

Pos = Annotated[int, Field(ge=1)]
AType = Literal["int8", "int16", "bf16", "bfp16"]
"""Element types of A (and of B, unless ``b_dtype`` says otherwise)."""
BLOCK_FORMATS = ("bfp16", "int4")
"""Operand types stored in blocks or groups along K (:mod:`npusim.numerics.blocks`)."""


class _Layer(Spec):
    name: str = Field("layer", description="Name shown in reports.")
    dtype: AType = Field(description="Operand data type (A's, and B's unless b_dtype is given).")
    b_dtype: OperandType | None = Field(
        None, description="B's data type when it differs from A's: e.g. bfp16 (block floating point) or int4 (weights "
        "quantised in groups along K with a bf16 scale per group) with bf16 A. None: the same as dtype.")
    group_size: Literal[32, 128] = Field(32, description="int4 weights: consecutive weights along K sharing one "
                                         "bf16 scale.")
    kernel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$")] | None = Field(
        None, description="The kernel library the layer's matmul kernels come from (compute_tile.kernels, e.g. tuned "
        "or mlir-aie); None: the config's default_kernel.")
    out_dtype: OutType | None = Field(None, description="Output type; default: the operand type.")
    shift: Annotated[int, Field(ge=0, le=31)] = Field(
        0, description="Right shift (rounded, saturated) to an integer output narrower than 32 bits.")
    count: Pos = Field(1, description="Identical instances run back to back (e.g. attention heads).")
    bias: bool = Field(False, description="Fused epilogue: add a bias per output column (channel).")
    relu: bool = Field(False, description="Fused epilogue: clamp the outputs at zero.")
    fused: Annotated[tuple[str, ...], Field(strict=False)] = Field(
        (), description="Names of the graph nodes folded into this layer (reports and --explain).")

    @model_validator(mode="after")
    def _out_type(self) -> "_Layer":
        if self.b_dtype is not None and self.b_dtype != "int4" and (self.dtype in FLOAT_KINDS) != (
                self.b_dtype in FLOAT_KINDS):
            raise ValueError(f"b_dtype {self.b_dtype} with dtype {self.dtype}: A and B must both be integers or both "
                             f"floats (bf16, bfp16; int4 weights are dequantised to bf16)")
        allowed = OUTPUTS[self.dtype]
        if self.out_dtype is not None and self.out_dtype not in allowed:
            raise ValueError(f"out_dtype {self.out_dtype} is not produced from {self.dtype} operands; "
                             f"use one of {', '.join(allowed)}")
        if self.shift and self.output not in ("int8", "int16"):
            raise ValueError(f"shift applies to int8 and int16 outputs only; the output here is {self.output}")
        return self

    @property
    def output(self) -> OutType:
        """The output element type."""
        return self.out_dtype or OUTPUTS[self.dtype][0]

    @property
    def b_type(self) -> OperandType:
        """B's element type."""
        return self.dtype if self.b_dtype is None else self.b_dtype

    @property
    def types(self) -> str:
        """The operand-type combination, as the kernel library keys its variants: ``int8``, or
        ``bf16xbfp16`` for bf16 A with bfp16 B."""
        return type_pair(self.dtype, self.b_type)

    @property
    def vector_type(self) -> DType:
        """The vector unit's type for the fused epilogue: the operand type, bf16 for bfp16 (fp32
        accumulators, as bf16's)."""
        return "bf16" if self.dtype == "bfp16" else self.dtype

    @property
    def epilogue(self) -> tuple[str, ...]:
        """The fused epilogue's steps, in order: ``bias``, ``relu``."""
        return tuple(step for step, on in (("bias", self.bias), ("relu", self.relu)) if on)

    def _suffix(self) -> str:
        b = f" B {self.b_type}" + (f"/{self.group_size}" if self.b_type == "int4" else "") if self.b_dtype else ""
        return b + (f" kernel {self.kernel}" if self.kernel else "") + "".join(f" +{step}" for step in self.epilogue)


class Gemm(_Layer):
    """``C[m, n] = A[m, k] @ B[k, n]``."""

    op: Literal["gemm"] = "gemm"
    m: Pos
    k: Pos
    n: Pos
    b_layout: Literal["weight", "row", "col"] = Field(
        "weight", description="How B is stored in DDR: 'weight', a constant the compiler lays out offline as it "
        "likes (the mapper stores it tile by tile); 'row', row-major K x N as a previous layer wrote it; 'col', "
        "column-major (N x K, e.g. the keys of attention, K^T).")

    @model_validator(mode="after")
    def _block_b(self) -> "Gemm":
        if self.b_type in BLOCK_FORMATS and self.b_layout != "weight":
            raise ValueError(f"B of type {self.b_type} is a weight format (blocks along K, packed offline): b_layout "
                             f"must be 'weight', got '{self.b_layout}'")
        return self

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    def describe(self) -> str:
        return f"gemm {self.m}x{self.k}x{self.n} {self.dtype}->{self.output}{self._suffix()}"


class Conv2d(_Layer):
    """``out[b, p, q, o] = sum_{r, s, c} x[b, p*stride + r - padding, q*stride + s - padding, c] *
    w[r, s, c, o]``, zero outside the input."""

    op: Literal["conv2d"] = "conv2d"
    batch: Pos = 1
    in_channels: Pos
    height: Pos
    width: Pos
    out_channels: Pos
    kernel_h: Pos
    kernel_w: Pos
    stride: Pos = 1
    padding: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _fits(self) -> "Conv2d":
        if self.dtype == "bfp16":
            raise ValueError("dtype bfp16 (block floating point activations) is not lowered for a convolution (its "
                             "input gather would need whole blocks per pixel); use dtype bf16 with b_dtype bfp16")
        if self.b_dtype == "int4":
            raise ValueError("b_dtype int4 (group-quantised weights) is lowered for Gemm layers only; use bfp16 "
                             "weights in a convolution")
        if self.out_h < 1 or self.out_w < 1:
            raise ValueError(
                f"a {self.kernel_h}x{self.kernel_w} kernel does not fit a {self.height}x{self.width} input "
                f"with padding {self.padding}; make the input larger or the kernel smaller")
        return self

    @property
    def out_h(self) -> int:
        return window_out(self.height, self.kernel_h, self.stride, self.padding)

    @property
    def out_w(self) -> int:
        return window_out(self.width, self.kernel_w, self.stride, self.padding)

    @property
    def macs(self) -> int:
        return (self.batch * self.out_h * self.out_w * self.out_channels
                * self.in_channels * self.kernel_h * self.kernel_w)

    def describe(self) -> str:
        return (f"conv2d {self.batch}x{self.in_channels}x{self.height}x{self.width} -> {self.out_channels}, "
                f"{self.kernel_h}x{self.kernel_w}/{self.stride} pad {self.padding} {self.dtype}->{self.output}"
                f"{self._suffix()}")


MatmulLayer = Union[Gemm, Conv2d]
"""Layers lowered to matrix multiplications (:func:`npusim.frontend.lower`)."""
AnyLayer = Union[Gemm, Conv2d, Elementwise, Pool, Softmax, LayerNorm, RMSNorm, Rope, Embedding]
Layer = Annotated[AnyLayer, Field(discriminator="op")]
LAYER_TAGS = ("gemm", "conv2d", "elementwise", "pool", "softmax", "layernorm", "rmsnorm", "rope", "embedding")


def ops(layer: Gemm | Conv2d | VectorLayer) -> int:
    """Operations of one instance: two per multiply-accumulate (vector operators count none:
    TOPS are the matmul units' figure)."""
    return 2 * layer.macs if isinstance(layer, (Gemm, Conv2d)) else 0


def category(layer: Gemm | Conv2d | VectorLayer) -> str:
    """The operator type a workload's summary books the layer under: ``matmul``, ``conv``, or the
    vector operator's type (``elementwise``, ``pool``, ``softmax``, ``layernorm``)."""
    return {"gemm": "matmul", "conv2d": "conv"}.get(layer.op, layer.op)
