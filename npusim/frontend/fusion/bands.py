"""Tensors a resident group keeps on chip, in row bands across the memory tiles.

Column ``f`` of a resident group computes the output rows of band ``f`` (rows
``[f * bh, (f + 1) * bh)``, ``bh = ceil(rows / bands)``) of every member, and memory tile ``f``
holds band ``f`` of every tensor: the rows that column writes, the rows it reads next
(a 3x3 window's top and bottom row come from the neighbouring bands, which memory-tile DMA
channels 0-3 reach directly, and from a zero row above and below the image).

A band stores its rows as pixel slots of ``cp`` elements, ``wp`` slots a row, the real pixels
from slot ``pad`` on, zeros around them (the buffers start zeroed, as the array's configuration
loads them): the layout its consumers' window reads need, whatever their padding.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..layers.matmul import Conv2d
from ..mapper.design import TilePlan
from ..program.conv import input_dims


@dataclass(frozen=True, slots=True)
class Bands:
    """A tensor of ``rows x cols`` pixels of ``channels`` elements of ``eb`` bytes in ``count``
    bands of ``bh`` rows, each band the buffer ``{name}_{f}`` in memory tile ``f``."""

    name: str
    rows: int
    cols: int
    channels: int
    cp: int
    wp: int
    pad: int
    eb: int
    bh: int
    count: int

    def buffer(self, band: int) -> str:
        return f"{self.name}_{band}"

    @property
    def row_bytes(self) -> int:
        return self.wp * self.cp * self.eb

    @property
    def band_bytes(self) -> int:
        return self.bh * self.row_bytes

    def band_rows(self, band: int) -> range:
        """Image rows of band ``band`` (fewer in the last bands when ``rows`` is not a multiple)."""
        return range(min(self.rows, band * self.bh), min(self.rows, (band + 1) * self.bh))

    def at(self, row: int, col: int, channel: int = 0) -> tuple[str, int]:
        """(buffer, byte offset) of pixel ``(row, col)``'s channel ``channel``."""
        band = row // self.bh
        return self.buffer(band), (((row - band * self.bh) * self.wp + col + self.pad) * self.cp + channel) * self.eb


def reach_slots(p: TilePlan, pad: int) -> int:
    """Pixel slots a row must have for ``p``'s window reads, its real pixels from slot ``pad``
    (its own padding is ``p.layer.padding``): the DDR layout's width (:func:`..program.conv.input_dims`)
    moved by the difference."""
    layer = p.layer
    assert isinstance(layer, Conv2d)
    return input_dims(p)[1] + pad - layer.padding


def band_layout(name: str, rows: int, cols: int, channels: int, eb: int, count: int,
                readers: list[TilePlan], writer_channels: int) -> Bands:
    """The bands of a tensor read by the convolutions of ``readers`` (all with the same padded
    channel count), written with ``writer_channels`` channels a pixel (0: loaded from DDR)."""
    cps = {p.conv_cp for p in readers}
    if len(cps) > 1:
        raise ValueError(f"readers of {name} pad its channels differently: {sorted(cps)}")
    cp = cps.pop() if cps else max(writer_channels, channels)
    if writer_channels > cp:
        raise ValueError(f"{name} is written with {writer_channels} channels a pixel, its readers take {cp}")
    pad = max((p.layer.padding for p in readers if isinstance(p.layer, Conv2d)), default=0)
    wp = max([cols + 2 * pad] + [reach_slots(p, pad) for p in readers])
    return Bands(name, rows, cols, channels, cp, wp, pad, eb, -(-rows // count), count)
