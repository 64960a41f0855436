"""mlir-aie access patterns to npusim's: element units to 32-bit words, outermost-first to
innermost-first.

mlir-aie writes sizes and strides in elements of the memref's type, outermost dimension first
(``[<size = 4, stride = 64>, <size = 16, stride = 1>]``, ``sizes = [...] strides = [...]``,
``dma_memcpy_nd``'s ``[o3, o2, o1, o0][s3, s2, s1, s0][t3, t2, t1, t0]``) and pads (``pad
[<const_pad_before = 2, const_pad_after = 1>, ...]``) per dimension, the innermost in elements and
the others in rows of the dimension inside. The DMA addresses 32-bit words (AIE-ML's address
granularity), so for types narrower than a word the innermost dimension must be contiguous
(stride 1) and a whole number of words, and every other stride a whole number of words, as
mlir-aie's verifier requires. Dimensions of size 1 (and no padding) move nothing and are dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..isa import WORD_BYTES, Dim
from .ir import Op
from .syntax import MemRefType, Reader

_BYTES = {"i8": 1, "ui8": 1, "si8": 1, "i16": 2, "ui16": 2, "bf16": 2, "f16": 2, "i32": 4, "ui32": 4, "f32": 4,
          "i64": 8, "f64": 8}


def element_bytes(elem: str) -> int:
    return _BYTES.get(elem, 0)


@dataclass(frozen=True, slots=True)
class Transfer:
    """A BD's or a runtime task's transfer in npusim's units."""

    length_bytes: int
    offset_bytes: int
    dims: tuple[Dim, ...]
    pad: tuple[tuple[int, int], ...]


def transfer(rd: Reader, op: Op, ty: MemRefType, offset: int, length: int, dims: list[dict[str, int]],
             pads: list[dict[str, int]]) -> Transfer:
    """The transfer of ``length`` elements of ``ty`` from element ``offset`` through ``dims``
    (outermost first, in elements) with ``pads``."""
    eb = element_bytes(ty.elem)
    if not eb:
        raise rd.fail(op, f"element type {ty.elem} has no size npusim knows; use i8, i16, i32, bf16 or f32 data")
    if not dims:
        if pads:
            raise rd.fail(op, "pads a transfer without dimensions; give sizes and strides with the padding")
        return Transfer(length * eb, offset * eb, (), ())
    if len(pads) not in (0, len(dims)):
        raise rd.fail(op, f"gives {len(pads)} pad entries for {len(dims)} dimensions; give one per dimension")
    out: list[Dim] = []
    pad: list[tuple[int, int]] = []
    inner = list(reversed(dims))
    inner_pads = list(reversed(pads)) or [{}] * len(inner)
    for i, (layout, p) in enumerate(zip(inner, inner_pads)):
        size, stride = layout.get("size", 0), layout.get("stride", 0)
        before, after = p.get("const_pad_before", 0), p.get("const_pad_after", 0)
        if size < 1:
            raise rd.fail(op, f"dimension {len(dims) - 1 - i} (from the outermost) has size {size}; sizes are at least 1")
        if i == 0:
            size, stride, before, after = _words(rd, op, eb, size, stride, before, after)
        elif stride * eb % WORD_BYTES:
            raise rd.fail(op, f"stride {stride} of {ty.elem} elements is not a whole number of 32-bit words; the DMA "
                          "addresses words")
        else:
            stride = stride * eb // WORD_BYTES
        if size == 1 and not (before or after):
            continue
        out.append(Dim(size, stride))
        pad.append((before, after))
    words = 1
    for d, (b, a) in zip(out, pad):
        words *= d.size + b + a
    if words * WORD_BYTES != length * eb:
        raise rd.fail(op, f"its sizes move {words * WORD_BYTES // eb} elements (with padding), but its length is "
                      f"{length}; make them agree")
    if not any(b or a for b, a in pad):
        pad = []
        if len(out) == 1 and out[0].stride == 1:
            out = []
    return Transfer(length * eb, offset * eb, tuple(out), tuple(pad))


def _words(rd: Reader, op: Op, eb: int, size: int, stride: int, before: int, after: int) -> tuple[int, int, int, int]:
    if eb == WORD_BYTES:
        return size, stride, before, after
    if stride != 1 and size > 1:
        raise rd.fail(op, f"the innermost dimension has stride {stride}, but for {8 * eb}-bit data it must be 1 "
                      "(the DMA moves whole 32-bit words)")
    for what, n in (("size", size), ("padding", before), ("padding", after)):
        if n * eb % WORD_BYTES:
            raise rd.fail(op, f"the innermost {what} {n} of {8 * eb}-bit elements is not a whole number of 32-bit "
                          "words; make it a multiple of " + str(WORD_BYTES // eb if eb < WORD_BYTES else 1))
    return size * eb // WORD_BYTES, 1, before * eb // WORD_BYTES, after * eb // WORD_BYTES
