"""Convolution as an implicit GEMM whose A matrix the shim DMA gathers from the input.

The input sits in DDR in NHWC, zero-padded by ``padding`` on every side and with its channels
padded to whole 32-bit words (``cp``). The GEMM's reduction index runs over (kernel row ``r``,
then ``kernel_w * cp`` elements), because for a fixed ``r`` the ``kernel_w`` pixels a window
covers are next to each other in memory: one window row is one contiguous run. That run is
padded to a multiple of ``k`` (``lp``); the padded positions read whatever follows in memory and
meet zero rows of B, so they add nothing. Output pixels are tiled ``m`` at a time along an
output row (the row is padded to ``qt * m`` pixels), so the ``m`` runs of one tile are
``stride * cp`` elements apart: the A tile of a reduction step is a 2-D pattern, and a whole
output tile's A is a 4-D one (element, pixel, step within a kernel row, kernel row).

Nothing is copied on the host besides the zero padding: every A element the cores see was
read from DDR by the shim DMA, so a ``kh x kw`` convolution reads its input up to ``kh * kw``
times (divided by the stride squared), and the report's DDR bytes count it.
"""
from __future__ import annotations

from ...isa import WORD_BYTES as W, Dim, pattern_extent_bytes
from ..layers.matmul import Conv2d
from ..mapper.tiling import TilePlan


def input_dims(p: TilePlan) -> tuple[int, int]:
    """Rows and columns of the padded input in DDR (``Hp, Wp``)."""
    layer = p.layer
    assert isinstance(layer, Conv2d)
    reach = -(-p.conv_lp // p.conv_cp)  # pixels one window row reads, padding included
    wp = max(layer.width + 2 * layer.padding, (p.conv_qt * p.m - 1) * layer.stride + reach)
    return layer.height + 2 * layer.padding, wp


def conv_a_transfer(p: TilePlan, mb: int, nb0: int, count: int, col: int) -> list[tuple[int, tuple[Dim, ...]]]:
    """A tasks of one feeder column for super-tile row ``mb``: the rows' pixel tiles over every
    reduction step, once per super-tile column (``count`` identical tasks)."""
    layer = p.layer
    assert isinstance(layer, Conv2d)
    hp, wp = input_dims(p)
    rows = p.group_rows(col)
    tile = mb * p.rows + rows[0]
    image, rest = divmod(tile, layer.out_h * p.conv_qt)
    prow, qt = divmod(rest, p.conv_qt)
    st, cp, ib = layer.stride, p.conv_cp, p.ib
    base = ((image * hp + prow * st) * wp + qt * p.m * st) * cp
    dims = (Dim(p.k * ib // W, 1), Dim(len(rows) * p.m, st * cp * ib // W),
            Dim(p.conv_lp // p.k, p.k * ib // W), Dim(layer.kernel_h, wp * cp * ib // W))
    return [(base * ib, dims)] * count


def a_tensor_bytes(p: TilePlan) -> int:
    """Size of the input tensor in DDR: the padded image, and what the last tiles read past it."""
    hp, wp = input_dims(p)
    layer = p.layer
    assert isinstance(layer, Conv2d)
    size = layer.batch * hp * wp * p.conv_cp * p.ib
    for col in range(p.feeders):
        off, dims = conv_a_transfer(p, p.mb - 1, 0, 1, col)[0]
        size = max(size, off + pattern_extent_bytes(dims))
    return size
