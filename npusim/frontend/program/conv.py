"""Convolution as an implicit GEMM whose A matrix the shim DMA gathers from the input.

The input sits in DDR in NHWC, zero-padded by ``padding`` on every side and with its channels
padded to whole 32-bit words (``cp``). The GEMM's reduction index runs over (kernel row ``r``,
then ``kernel_w * cp`` elements), because for a fixed ``r`` the ``kernel_w`` pixels a window
covers are next to each other in memory: one window row is one contiguous run. That run is
padded to a multiple of ``k`` (``lp``); the padded positions read whatever follows in memory and
meet zero rows of B, so they add nothing. Output pixels are tiled ``m`` at a time along an
output row (the row is padded to ``qt * m`` pixels), so the ``m`` runs of one tile are
``stride * cp`` elements apart. A memory-tile block of A is one kernel row's runs of the rows'
pixels (``lp`` elements each), or, when A is resident, every kernel row's: the shim task is a 3-D
pattern (window row, pixel, kernel row).

Nothing is copied on the host besides the zero padding: every A element the cores see was
read from DDR by the shim DMA, so a ``kh x kw`` convolution reads its input up to ``kh * kw``
times (divided by the stride squared), and the report's DDR bytes count it.
"""
from __future__ import annotations

from ...isa import WORD_BYTES as W, Dim
from ..layers.matmul import Conv2d
from ..mapper.design import TilePlan
from .matmul import Task


def input_dims(p: TilePlan) -> tuple[int, int]:
    """Rows and columns of the padded input in DDR (``Hp, Wp``)."""
    layer = p.layer
    assert isinstance(layer, Conv2d)
    reach = -(-p.conv_lp // p.conv_cp)  # pixels one window row reads, padding included
    row = p.conv_qt * p.m if p.conv_qt else layer.out_w  # output pixels of a row as tiled
    wp = max(layer.width + 2 * layer.padding, (row - 1) * layer.stride + reach)
    return layer.height + 2 * layer.padding, wp


def conv_a_transfer(p: TilePlan, mb: int, nb: int, count: int, col: int) -> list[Task]:
    """The A task of one feeder column for super-tile row ``mb``. By kernel rows (or resident):
    the rows' pixels' window rows, one kernel row after another, repeated for ``count`` super-tile
    columns (``mn`` order) unless A is resident. By steps: ``k`` elements of each pixel's window row
    per step, every step of a kernel row, every kernel row (a 4-D pattern: one super-tile per task)."""
    layer = p.layer
    assert isinstance(layer, Conv2d)
    hp, wp = input_dims(p)
    st, cp, ib = layer.stride, p.conv_cp, p.ib
    kernel_rows = Dim(layer.kernel_h, wp * cp * ib // W)
    if p.design.pixels == "rows":  # tiles of whole output rows: pixels along a row, then rows
        image, tile = divmod(p.a_first_tile(mb, col), p.conv_tpi)
        base = (image * hp + tile * (p.m // layer.out_w) * st) * wp * cp
        dims = (Dim(p.conv_lp * ib // W, 1), Dim(layer.out_w, st * cp * ib // W),
                Dim(p.a_tiles(col) * p.m // layer.out_w, st * wp * cp * ib // W), kernel_rows)
        return [(base * ib, dims)]
    image, rest = divmod(p.a_first_tile(mb, col), layer.out_h * p.conv_qt)
    prow, qt = divmod(rest, p.conv_qt)
    base = ((image * hp + prow * st) * wp + qt * p.m * st) * cp
    pixels = Dim(p.a_tiles(col) * p.m, st * cp * ib // W)
    if p.a_block_steps == 1 and p.kt > layer.kernel_h:
        assert count == 1, "a convolution's A by steps comes one super-tile per task"
        return [(base * ib, (Dim(p.k * ib // W, 1), pixels, Dim(p.conv_lp // p.k, p.k * ib // W), kernel_rows))]
    again = count > 1 and p.design.reuse != "a"  # a resident block comes once, the memory tile re-reads it
    strip: tuple[Dim, ...] = (Dim(p.conv_lp * ib // W, 1), pixels, kernel_rows)
    return [(base * ib, strip + ((Dim(count, 0),) if again else ()))]


def a_tensor_bytes(p: TilePlan) -> int:
    """Size of the padded input image in DDR (the program grows it to what the last tiles read)."""
    hp, wp = input_dims(p)
    layer = p.layer
    assert isinstance(layer, Conv2d)
    return layer.batch * hp * wp * p.conv_cp * p.ib
