"""Which layer of a workload reads which: the edges fusion may keep on chip.

A layer's *activation operands* are what it reads from other layers: a matmul's A, a vector
operator's x (and the y of a binary elementwise operator whose y has the same shape). Each is
either another layer's output (an *edge*) or the host's (DDR). Edges come from the layers'
``inputs`` (names of earlier layers), or, in a ``chained`` workload, from the previous layer when
its output is this layer's input.

An edge exists only where the tensors agree: the same element type, and the same shape, seen as
an NHWC image (convolutions, pools, 4-D elementwise operators) or, when either side is a matrix
(a GEMM, softmax, layer norm), as ``pixels x channels``; an explicit input that does not agree
(the layout changes in between, as a transpose does) is read from the host.
"""
from __future__ import annotations

import math

from ..layers.matmul import AnyLayer, Conv2d, Gemm
from ..layers.vector import Elementwise, Pool
from ..layers.workload import Workload

Shape = tuple[int, int, int, int]
"""(batch, rows, columns, channels) of an activation tensor."""


def _as_image(shape: tuple[int, ...]) -> Shape:
    if len(shape) == 4:
        return shape[0], shape[1], shape[2], shape[3]
    return 1, 1, math.prod(shape[:-1]), shape[-1]


def out_shape(layer: AnyLayer) -> Shape:
    """The layer's output as an activation tensor."""
    if isinstance(layer, Conv2d):
        return layer.batch, layer.out_h, layer.out_w, layer.out_channels
    if isinstance(layer, Gemm):
        return 1, 1, layer.m, layer.n
    if isinstance(layer, Pool):
        return layer.batch, layer.out_h, layer.out_w, layer.channels
    if isinstance(layer, Elementwise):
        return _as_image(layer.shape)
    return 1, 1, layer.rows, layer.length


def in_shape(layer: AnyLayer) -> Shape:
    """The shape of the layer's activation operands (x, and y when it has the same shape)."""
    if isinstance(layer, Conv2d):
        return layer.batch, layer.height, layer.width, layer.in_channels
    if isinstance(layer, Gemm):
        return 1, 1, layer.m, layer.k
    if isinstance(layer, Pool):
        return layer.batch, layer.height, layer.width, layer.channels
    return out_shape(layer)


def operands(layer: AnyLayer) -> int:
    """Activation operands: two for an elementwise operator whose y has x's shape, else one."""
    return 2 if isinstance(layer, Elementwise) and layer.broadcast == "same" else 1


def out_type(layer: AnyLayer) -> str:
    return layer.output if isinstance(layer, (Gemm, Conv2d)) else layer.dtype


def is_image(layer: AnyLayer) -> bool:
    """Whether the layer sees its tensors as images (rows and columns), not as matrices."""
    return isinstance(layer, (Conv2d, Pool)) or (isinstance(layer, Elementwise) and len(layer.shape) == 4)


def agree(producer: AnyLayer, consumer: AnyLayer) -> bool:
    """Whether ``consumer`` can read ``producer``'s output as its activation operand."""
    if out_type(producer) != consumer.dtype or producer.count != consumer.count:
        return False
    a, b = out_shape(producer), in_shape(consumer)
    if is_image(producer) and is_image(consumer):
        return a == b
    return (a[0] * a[1] * a[2], a[3]) == (b[0] * b[1] * b[2], b[3])


def producers(workload: Workload) -> list[tuple[int | None, ...]]:
    """For each layer, the index of the layer each activation operand reads (None: the host)."""
    index = {ly.name: i for i, ly in enumerate(workload.layers)}
    out: list[tuple[int | None, ...]] = []
    for i, layer in enumerate(workload.layers):
        names: tuple[str, ...] | None = layer.inputs
        if names is None:
            prev = i - 1 if workload.chained and i and agree(workload.layers[i - 1], layer) else None
            srcs: list[int | None] = [prev] + [None] * (operands(layer) - 1)
        else:
            srcs = [index.get(n) for n in names[:operands(layer)]]
            srcs += [None] * (operands(layer) - len(srcs))
            srcs = [s if s is not None and s < i and agree(workload.layers[s], layer) else None for s in srcs]
        out.append(tuple(srcs))
    return out


def consumers(edges: list[tuple[int | None, ...]]) -> list[list[tuple[int, int]]]:
    """For each layer, the (consumer, operand) pairs that read its output."""
    out: list[list[tuple[int, int]]] = [[] for _ in edges]
    for c, srcs in enumerate(edges):
        for k, p in enumerate(srcs):
            if p is not None:
                out[p].append((c, k))
    return out
