"""The access-pattern check of :mod:`npusim.isa.verify` (BDs and runtime tasks)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import NPUConfig
from .errors import ProgramError
from .instructions import WORD_BYTES, Dim, pattern_bytes


@dataclass(frozen=True, slots=True)
class PatternUse:
    """An access pattern and what it runs over: ``length`` bytes from ``offset`` through ``dims``
    (with ``pad``), reaching ``extent`` bytes, in a memory of ``size`` bytes."""

    dims: tuple[Dim, ...]
    length: int
    offset: int
    extent: int
    size: int
    pad: tuple[tuple[int, int], ...] = ()


def check_pattern(config: NPUConfig, fail: Callable[[str, str], ProgramError], use: PatternUse, what: str,
                  where: str, spec: str) -> None:
    """Check an access pattern; ``spec`` is the config section of the DMA ('shim_tile', ...)."""
    dims, length, offset, extent, size, pad = use.dims, use.length, use.offset, use.extent, use.size, use.pad
    dma = getattr(config, spec).dma
    max_dims = dma.address_dims
    if length % WORD_BYTES:
        raise fail(where, (
            f"length_bytes {length} is not a multiple of the {WORD_BYTES}-byte DMA word; "
            f"pad the transfer to a multiple of {WORD_BYTES}"))
    if offset % WORD_BYTES:
        raise fail(where, (
            f"offset_bytes {offset} is not a multiple of the {WORD_BYTES}-byte DMA word; "
            f"align it to {WORD_BYTES} bytes"))
    if dims:
        if len(dims) > max_dims + 1:
            raise fail(where, (
                f"access pattern has {len(dims)} dimensions, the DMA has {max_dims} and an iteration "
                f"dimension (limit {spec}.dma.address_dims = {max_dims}); fold dimensions or split the BD"))
        if len(dims) == max_dims + 1 and dims[-1].size > dma.max_iterations:
            raise fail(where, (
                f"the outermost dimension of a {len(dims)}-dimension pattern is the iteration "
                f"dimension, and its size {dims[-1].size} is above the limit {spec}.dma.max_iterations "
                f"= {dma.max_iterations}; split the transfer into several"))
        if len(pad) > len(dims):
            raise fail(where, f"pads {len(pad)} dimensions of a {len(dims)}-dimension pattern; give one "
                            "(before, after) pair per dimension at most")
        if pattern_bytes(dims, pad) != length:
            raise fail(where, (
                f"access pattern moves {pattern_bytes(dims, pad)} bytes (product of sizes"
                f"{' with padding' if pad else ''} x {WORD_BYTES}) but length_bytes is {length}; make them agree"))
    if offset + extent > size:
        raise fail(where, (
            f"reaches byte {offset + extent} of {what}, which has {size} bytes; "
            "shorten the transfer or its strides"))
