"""Base model and unit-typed aliases for the hardware description.

Every spec is a frozen pydantic model that rejects unknown keys, so a typo in a YAML file is an
error rather than a silently ignored setting. Units live in field names (``size_kib``,
``bytes_per_cycle``, ``latency_ns``); the aliases below add the constraint that goes with each unit.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Cycles = Annotated[int, Field(ge=0)]
"""A duration in array clock cycles."""
Count = Annotated[int, Field(ge=0)]
"""A number of hardware resources (channels, ports, locks, ...)."""
PositiveCount = Annotated[int, Field(ge=1)]
KiB = Annotated[int, Field(ge=1)]
BytesPerCycle = Annotated[int, Field(ge=1)]
Fraction01 = Annotated[float, Field(gt=0.0, le=1.0)]

DType = Literal["int8", "int16", "bf16"]
"""Operand data types a compute kernel can be timed for."""

DTYPES: tuple[DType, ...] = ("int8", "int16", "bf16")

OperandType = Literal["int8", "int16", "bf16", "bfp16", "int4"]
"""Element types a matmul kernel can read as an operand: the tensor types (:data:`DType`) plus the
block and group formats, ``bfp16`` (XDNA2's block floating point: eight 8-bit mantissas sharing an
8-bit exponent) and ``int4`` (weights quantised in groups along K, a bf16 scale per group)."""

OPERAND_TYPES: tuple[OperandType, ...] = ("int8", "int16", "bf16", "bfp16", "int4")

VectorKind = Literal[
    "relu", "sigmoid", "tanh", "gelu", "add", "sub", "mul", "div", "max_pool", "avg_pool", "softmax",
    "layernorm", "bias", "rmsnorm", "rope", "silu", "swiglu", "gather",
]
"""Operators the compute tiles' vector unit runs (``bias`` and ``relu`` also as a matmul epilogue;
``rmsnorm``, ``rope``, ``silu``, ``swiglu`` and ``gather`` for language models)."""


class Spec(BaseModel):
    """Base of every hardware spec: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, strict=True, allow_inf_nan=False)
