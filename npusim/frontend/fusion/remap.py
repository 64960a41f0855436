"""A second reader of an on-chip tensor that reads it in another layout.

An on-chip tensor is stored in one layout (:mod:`.layout`), that of its first reader. A residual
block's input has two readers that want it differently: the convolution its padded image, the
residual Add its dense rows. The other reader's transfers are kept, word for word, as its design
made them from DDR; each word it would have read (in its own layout) is found in the stored one,
the same pixel's same channels, and the sequence is cut into access patterns (:mod:`.patterns`).
A word of the reader's border is the stored layout's border word where it has one (zero: only
real pixels are ever written there); words the stored layout does not hold (a wider border, more
channel padding, zero in DDR) are read from a buffer of zeros. So the reader's stream is the one it had from DDR, byte for byte.
"""
from __future__ import annotations

import numpy as np

from ...isa import WORD_BYTES as W
from ...isa import BufferTask
from ..errors import LoweringError
from .layout import JUNK, Layout
from .patterns import compress


def words_in(own: Layout, stored: Layout, words: np.ndarray) -> np.ndarray:
    """For words ``words`` of a tensor in layout ``own`` (word indices), their word index in
    ``stored`` (the same pixel slot, relative to the real image, and channels), or :data:`JUNK`
    where ``stored`` has no such slot (padding: zeros)."""
    per = W // own.eb
    if own.eb != stored.eb or own.cp % per or stored.cp % per:
        raise LoweringError(f"pixel slots of {own.cp} and {stored.cp} elements do not both hold whole words")
    slot, c = np.divmod(words * per, own.cp)
    b, rest = np.divmod(slot, own.hp * own.wp)
    ys, xs = np.divmod(rest, own.wp)
    y, x = ys - own.pad, xs - own.pad
    held = ((b < own.batch) & (y >= -stored.pad) & (y < stored.hp - stored.pad) & (x >= -stored.pad)
            & (x < stored.wp - stored.pad) & (c < stored.cp))
    where = stored.offset(b, y, x, c) // per
    return np.where(held, where, JUNK)


def remapped(op: BufferTask, stream: np.ndarray, own: Layout, stored: Layout, zeros: str, dims: int,
             iterations: int) -> list[BufferTask]:
    """The transfers that send what buffer task ``op`` (a read of a tensor in layout ``own``,
    its words in stream order ``stream``) sends, from the tensor stored in ``stored`` and from the
    buffer of zeros ``zeros``."""
    out = []
    for j, piece in enumerate(compress(words_in(own, stored, stream), dims, iterations)):
        out.append(BufferTask("buffer_dma", f"{op.name}_{j}", op.tile, op.channel, zeros if piece.scratch else op.buffer,
                              piece.length_bytes, piece.offset_bytes, piece.dims if not piece.scratch else ()))
    return out


def zero_bytes(tasks: list[BufferTask], zeros: str) -> int:
    """The size the buffer of zeros needs for ``tasks``."""
    return max((t.length_bytes for t in tasks if t.buffer == zeros), default=0)

