"""ONNX nodes to workload layers, one converter per operator (see :mod:`.onnx_import`).

Conv, Gemm and MatMul become ``conv2d`` and ``gemm`` layers (a MatMul's batch dimensions become
its ``count``; a 2-D right operand folds the left's batch into ``m``), and take in what a compiler
fuses into them: a bias (Conv's and Gemm's own, or a following Add of a per-column constant) and
a following Relu. Relu, Sigmoid, Tanh, Gelu, Add, Sub, Mul and Div become ``elementwise`` layers
(a binary operator with a same-shape operand, a scalar, or a per-channel / last-axis row; a Relu
after it fused); MaxPool, AveragePool and the global pools ``pool`` layers; Softmax (last axis)
and LayerNormalization (last axis) their own. An ONNX image is NCHW; the NPU keeps it NHWC.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import onnx

from ...config import DType
from ...vector_math import NONLINEAR
from ..layers.matmul import AnyLayer, Conv2d, Gemm
from ..onnx.graph import Graph, Unsupported, as_float
from ..layers.vector import Elementwise, ElementwiseKind, LayerNorm, Pool, Softmax

LAYOUT_ONLY = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Dropout", "Constant")
"""Operators that only relabel or reorder a tensor: a compiler folds them into the access patterns
of their neighbours; they are counted, not simulated."""
UNARY: dict[str, ElementwiseKind] = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu"}
BINARY: dict[str, ElementwiseKind] = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}
POOLS = ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")
SUPPORTED = ("Conv", "Gemm", "MatMul", "Softmax", "LayerNormalization") + tuple(UNARY) + tuple(BINARY) + POOLS


@dataclass
class Converted:
    """A node's layer, the later nodes folded into it, and the tensors it reads from other layers
    (its activation operands, in order; empty: the node's first input)."""

    layer: AnyLayer
    consumed: tuple[int, ...] = ()
    reads: tuple[str, ...] = ()


def _name(node: onnx.NodeProto, i: int) -> str:
    return node.name or f"{node.op_type.lower()}_{i}"


def _dtype(g: Graph, node: onnx.NodeProto, override: DType | None, kind: str = "") -> DType:
    if kind in NONLINEAR:
        g.dtype(node.input[0])  # still refuse tensors of a type we cannot map
        return "bf16"
    return override or g.dtype(node.input[0])


def _epilogue(g: Graph, out: str, bias: bool, bias_shape: Callable[[tuple[int, ...]], bool],
              node: onnx.NodeProto) -> tuple[bool, bool, list[int], list[str]]:
    """Fold a following bias Add and Relu: (bias, relu, consumed node indices, their names)."""
    consumed: list[int] = []
    names: list[str] = []
    nxt = g.sole_consumer(out)
    if not bias and nxt is not None and g.nodes[nxt].op_type == "Add":
        add = g.nodes[nxt]
        other = add.input[1] if add.input[0] == out else add.input[0]
        if g.const(other) is not None and bias_shape(g.shape(other, add)):
            bias = True
            consumed.append(nxt)
            names.append(_name(add, nxt))
            out = add.output[0]
            nxt = g.sole_consumer(out)
    relu = nxt is not None and g.nodes[nxt].op_type == "Relu"
    if relu:
        assert nxt is not None
        consumed.append(nxt)
        names.append(_name(g.nodes[nxt], nxt))
    return bias, relu, consumed, names


def _conv(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    x = g.shape(node.input[0], node)
    w = g.shape(node.input[1], node)
    if len(x) != 4:
        raise Unsupported(f"Conv ({len(x) - 2}-D)")
    if g.attr(node, "group", 1) != 1:
        raise Unsupported(f"Conv (group={g.attr(node, 'group', 1)})")
    if set(g.attr(node, "dilations", [1, 1])) != {1}:
        raise Unsupported("Conv (dilation)")
    if g.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise Unsupported("Conv (auto_pad SAME)")
    strides, pads = g.attr(node, "strides", [1, 1]), g.attr(node, "pads", [0, 0, 0, 0])
    if len(set(strides)) != 1 or len(set(pads)) != 1:
        raise Unsupported("Conv (unequal strides or pads)")
    k = w[0]
    bias, relu, consumed, fused = _epilogue(g, node.output[0], len(node.input) > 2 and bool(node.input[2]),
                                            lambda s: math.prod(s) == k and len(s) >= 3 and s[-3] == k, node)
    layer = Conv2d(name=_name(node, i), batch=x[0], in_channels=x[1], height=x[2], width=x[3], out_channels=k,
                   kernel_h=w[2], kernel_w=w[3], stride=strides[0], padding=pads[0],
                   dtype=_dtype(g, node, override), bias=bias, relu=relu, fused=tuple(fused))
    return Converted(layer, tuple(consumed))


def _matmul(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    a, b = g.shape(node.input[0], node), g.shape(node.input[1], node)
    count = 1
    has_bias = False
    if node.op_type == "Gemm":
        if g.attr(node, "alpha", 1.0) != 1.0 or (len(node.input) > 2 and g.attr(node, "beta", 1.0) != 1.0):
            raise Unsupported("Gemm (alpha or beta != 1)")
        m, k = (a[1], a[0]) if g.attr(node, "transA", 0) else a
        n = b[0] if g.attr(node, "transB", 0) else b[1]
        if len(node.input) > 2 and node.input[2]:
            c = g.shape(node.input[2], node)
            if math.prod(c) != n or (c and c[-1] != n):
                raise Unsupported("Gemm (C not a bias row)")
            has_bias = True
    else:
        a2 = (1,) + a if len(a) == 1 else a
        b2 = b + (1,) if len(b) == 1 else b
        k, n = a2[-1], b2[-1]
        if math.prod(b2[:-2]) == 1:  # weights: the left operand's batch is just more rows
            m = math.prod(a2[:-1])
        else:
            m, count = a2[-2], math.prod(max(x, y) for x, y in zip(
                (1,) * (len(b2) - len(a2)) + a2[:-2], (1,) * (len(a2) - len(b2)) + b2[:-2]))
    bias, relu, consumed, fused = _epilogue(g, node.output[0], has_bias,
                                            lambda s: math.prod(s) == n and s[-1] == n, node)
    layer = Gemm(name=_name(node, i), m=m, k=k, n=n, count=count, dtype=_dtype(g, node, override),
                 bias=bias, relu=relu, fused=tuple(fused))
    return Converted(layer, tuple(consumed))


def _nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0],) + shape[2:] + (shape[1],)


def _binary(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    op, kind = node.op_type, BINARY[node.op_type]
    x, y = g.shape(node.input[0], node), g.shape(node.input[1], node)
    out = g.shape(node.output[0], node)
    first, second = node.input[0], node.input[1]
    if x != out:  # the second operand is the full tensor: swap, if the operator allows
        if y != out or kind in ("sub", "div"):
            raise Unsupported(f"{op} (broadcast of {list(x)} and {list(y)})")
        first, second, x, y = second, first, y, x
    shape, scalar = out, None
    broadcast: Literal["same", "row", "scalar"] = "same"
    if y == out:
        pass
    elif math.prod(y) == 1:
        broadcast = "scalar"
        value = g.const(second)
        scalar = as_float(value) if value is not None else 1.0
    else:
        axes = [len(out) - len(y) + j for j, d in enumerate(y) if d != 1]
        if len(axes) != 1 or out[axes[0]] != y[axes[0] - len(out) + len(y)]:
            raise Unsupported(f"{op} (broadcast of {list(y)} to {list(out)})")
        if axes[0] == len(out) - 1:
            broadcast = "row"
        elif len(out) == 4 and axes[0] == 1:  # per-channel operand of an NCHW image: a row in NHWC
            broadcast, shape = "row", _nhwc(out)
        else:
            raise Unsupported(f"{op} (broadcast along axis {axes[0]} of {len(out)})")
    fractional = scalar is not None and scalar != round(scalar)
    dtype = _dtype(g, node, override, "div" if fractional else kind)  # a fraction needs bf16, as div does
    relu_at = g.sole_consumer(node.output[0])
    relu = relu_at is not None and g.nodes[relu_at].op_type == "Relu"
    consumed = (relu_at,) if relu and relu_at is not None else ()
    fused = (_name(g.nodes[relu_at], relu_at),) if relu and relu_at is not None else ()
    return Converted(Elementwise(name=_name(node, i), kind=kind, shape=shape, broadcast=broadcast, scalar=scalar,
                                 dtype=dtype, relu=relu, fused=fused), consumed,
                     (first, second) if broadcast == "same" else (first,))


def _pool(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    op = node.op_type
    x = g.shape(node.input[0], node)
    if len(x) != 4:
        raise Unsupported(f"{op} ({len(x) - 2}-D)")
    kind: Literal["max", "avg"] = "max" if "Max" in op else "avg"
    dtype = _dtype(g, node, override)

    def pool(kernel_h: int, kernel_w: int, stride: int = 1, padding: int = 0) -> Converted:
        return Converted(Pool(name=_name(node, i), kind=kind, batch=x[0], channels=x[1], height=x[2], width=x[3],
                              kernel_h=kernel_h, kernel_w=kernel_w, stride=stride, padding=padding, dtype=dtype))

    if op.startswith("Global"):
        return pool(x[2], x[3])
    if len(node.output) > 1 and node.output[1]:
        raise Unsupported(f"{op} (indices output)")
    kernel = g.attr(node, "kernel_shape", [1, 1])
    strides, pads = g.attr(node, "strides", [1, 1]), g.attr(node, "pads", [0, 0, 0, 0])
    if g.attr(node, "ceil_mode", 0) or set(g.attr(node, "dilations", [1, 1])) != {1}:
        raise Unsupported(f"{op} (ceil_mode or dilation)")
    if g.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise Unsupported(f"{op} (auto_pad SAME)")
    if len(set(strides)) != 1 or len(set(pads)) != 1:
        raise Unsupported(f"{op} (unequal strides or pads)")
    if kind == "avg" and pads[0] and not g.attr(node, "count_include_pad", 0):
        raise Unsupported("AveragePool (padding with count_include_pad=0)")
    return pool(kernel[0], kernel[1], strides[0], pads[0])


def _rows(g: Graph, node: onnx.NodeProto, default_axis: int) -> tuple[int, int]:
    x = g.shape(node.input[0], node)
    axis = g.attr(node, "axis", default_axis)
    if axis % len(x) != len(x) - 1:
        raise Unsupported(f"{node.op_type} (axis {axis} of {len(x)}, not the last)")
    return math.prod(x[:-1]), x[-1]


def _softmax(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    rows, length = _rows(g, node, -1)
    return Converted(Softmax(name=_name(node, i), rows=rows, length=length, dtype=_dtype(g, node, override, "softmax")))


def _layernorm(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    rows, length = _rows(g, node, -1)
    return Converted(LayerNorm(name=_name(node, i), rows=rows, length=length, epsilon=g.attr(node, "epsilon", 1e-5),
                               dtype=_dtype(g, node, override, "layernorm")))


def _unary(g: Graph, i: int, node: onnx.NodeProto, override: DType | None) -> Converted:
    kind = UNARY[node.op_type]
    return Converted(Elementwise(name=_name(node, i), kind=kind, shape=g.shape(node.input[0], node),
                                 dtype=_dtype(g, node, override, kind)))


CONVERTERS: dict[str, Callable[[Graph, int, onnx.NodeProto, DType | None], Converted]] = {
    "Conv": _conv, "Gemm": _matmul, "MatMul": _matmul, "Softmax": _softmax, "LayerNormalization": _layernorm,
    **{op: _unary for op in UNARY}, **{op: _binary for op in BINARY}, **{op: _pool for op in POOLS},
}
