"""Where an activation lives: the layout a consumer reads it in, and where each word a producer
sends belongs in that layout.

An on-chip tensor is stored in its consumer's layout, the one the consumer's design reads from
DDR when it runs alone (its A tensor; a binary operator's y): an NHWC image of ``hp x wp`` pixel
slots of ``cp`` elements, the real image at row and column offset ``pad`` inside a zero border.
A convolution's padded input, a GEMM's ``M x K`` matrix (pixels in order), a vector operator's
rows (pixels of ``cp`` elements, or the tensor cut in rows of 64) and a pool's padded input are
all such images, stated in the producer's geometry (batch, rows, columns).

A producer's words are placed by decoding where its design would have written them in DDR (its C
tensor: a GEMM's ``Mp x Np`` rows of pixel slots, a vector operator's rows, a pool's pixel rows):
each element's (image, row, column, channel) gives its place in the consumer's layout, or none
for padding (pixels past the image, the last tile's pixels past a row's end), which goes to
scratch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...isa import WORD_BYTES as W
from ...isa import Program
from ...numerics import IN_BYTES, OUT_BYTES
from ..layers.matmul import Conv2d, Gemm
from ..layers.vector import Pool
from ..mapper.design import TilePlan
from ..mapper.vector import FLAT_ROW, VectorPlan, matrix
from ..program.conv import input_dims
from .dataflow import Shape

Plan = TilePlan | VectorPlan
JUNK = -1
"""A word that has no place in the consumer's layout (goes to scratch)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """An image of ``batch x hp x wp`` pixel slots of ``cp`` elements of ``eb`` bytes; the real
    ``rows x cols`` pixels start at slot ``(pad, pad)``; ``size_bytes`` with the slack reads reach."""

    batch: int
    rows: int
    cols: int
    channels: int
    hp: int
    wp: int
    cp: int
    pad: int
    eb: int
    size_bytes: int

    def offset(self, b: np.ndarray, y: np.ndarray, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Element offsets of the given pixels' channels."""
        out: np.ndarray = ((b * self.hp + y + self.pad) * self.wp + x + self.pad) * self.cp + c
        return out


def tensor_size(program: Program, name: str) -> int:
    return next(t.size_bytes for t in program.tensors if t.name == name)


def consumer_layout(plan: Plan, program: Program, shape: Shape, operand: int) -> Layout | None:
    """The layout ``plan``'s layer reads operand ``operand`` in (0: A or x, 1: y), stated in the
    producer's geometry ``shape``; None when its padding is not zero (a max pool's border)."""
    b, h, w, c = shape
    size = tensor_size(program, "A" if operand == 0 else "B")
    if isinstance(plan, TilePlan):
        eb = IN_BYTES[plan.dtype]
        if isinstance(plan.layer, Conv2d):
            hp, wp = input_dims(plan)
            return Layout(b, h, w, c, hp, wp, plan.conv_cp, plan.layer.padding, eb, size)
        return Layout(b, h, w, c, h, w, plan.Kp, 0, eb, size)
    layer = plan.layer
    eb = IN_BYTES[layer.dtype]
    if isinstance(layer, Pool):
        if layer.padding and layer.kind == "max":
            return None
        return Layout(b, h, w, c, plan.hp, plan.wp, plan.cp, layer.padding, eb, size)
    _, length, row_len = matrix(layer)
    if length == c:  # rows are pixels
        return Layout(b, h, w, c, h, w, row_len, 0, eb, size)
    if length == FLAT_ROW == row_len:  # the tensor cut in rows of 64: dense
        return Layout(b, h, w, c, h, w, c, 0, eb, size)
    return None


def _unflatten(pixel: np.ndarray, shape: Shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, h, w, _ = shape
    b, rest = np.divmod(pixel, h * w)
    y, x = np.divmod(rest, w)
    return b, y, x


def producer_elements(plan: Plan, elems: np.ndarray, shape: Shape) -> tuple[np.ndarray, ...]:
    """(image, row, column, channel, real) of elements ``elems`` of ``plan``'s C tensor (its DDR
    output layout), in the producer's geometry ``shape``."""
    batch, h, w, c = shape
    if isinstance(plan, TilePlan):
        r, col = np.divmod(elems, plan.Np)
        if isinstance(plan.layer, Gemm):
            b, y, x = _unflatten(r, shape)
            return b, y, x, col, r < plan.layer.m
        tile, local = np.divmod(r, plan.m)
        image, rest = np.divmod(tile, plan.layer.out_h * plan.conv_qt)
        y, q = np.divmod(rest, plan.conv_qt)
        x = q * plan.m + local
        return image, y, x, col, (image < batch) & (x < w)
    layer = plan.layer
    if isinstance(layer, Pool):
        pixel, col = np.divmod(elems, plan.cp)
        prow, x = np.divmod(pixel, plan.qt * plan.block[1])
        b, y = np.divmod(prow, h)
        return b, y, x, col, (b < batch) & (x < w)
    _, length, row_len = matrix(layer)
    r, col = np.divmod(elems, row_len)
    if length == c:
        b, y, x = _unflatten(r, shape)
        return b, y, x, col, r < batch * h * w
    e = r * length + col
    pixel, ch = np.divmod(e, c)
    b, y, x = _unflatten(pixel, shape)
    return b, y, x, ch, pixel < batch * h * w


def out_bytes(plan: Plan) -> int:
    """Bytes of one element of the producer's output."""
    if isinstance(plan, TilePlan):
        return OUT_BYTES[plan.layer.output]
    return IN_BYTES[plan.layer.dtype]


def place_words(plan: Plan, words: np.ndarray, shape: Shape, into: Layout) -> np.ndarray:
    """For words ``words`` of the producer's C tensor (word indices), their word index in the
    consumer's layout ``into``, or :data:`JUNK`."""
    eb = out_bytes(plan)
    elems = words * (W // eb)
    b, y, x, ch, real = producer_elements(plan, elems, shape)
    real = real & (ch < into.cp)
    where = into.offset(b, y, x, ch) * eb // W
    return np.where(real, where, JUNK)


def channel_slices_fit(plan: Plan, into: Layout) -> bool:
    """Whether every channel the producer writes (its padded slices) falls inside a pixel slot of
    the consumer's layout, so that no word spills into the next pixel."""
    if isinstance(plan, TilePlan):
        return plan.Np <= into.cp
    if isinstance(plan.layer, Pool):
        return plan.cp <= into.cp
    _, length, row_len = matrix(plan.layer)
    return row_len <= into.cp if length == into.channels else into.cp == into.channels
