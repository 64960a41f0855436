"""An mlir-aie design (textual MLIR) to an npusim Program, with the names that explain it.

The passes: parse (:mod:`~npusim.mlir.parser`), sort the device's ops (:mod:`~npusim.mlir.design`),
the physical level (:mod:`~npusim.mlir.lower_physical`), ObjectFIFOs
(:mod:`~npusim.mlir.lower_objectfifo`), each core's body (:mod:`~npusim.mlir.core_lower`), the
runtime sequence (:mod:`~npusim.mlir.runtime`); then the program is verified against the config.

Columns: a design's ``aie.tile(col, row)`` is npusim's tile ``(col, row)``: mlir-aie's npu1
device models number the partition's columns from 0, as npusim's configs do (Phoenix's first
physical column, without a shim, is not part of either).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import NPUConfig
from ..isa import Program, verify
from .builder import Builder, NameMap
from .core_lower import CoreLowering
from .design import Device, collect, find_device, tile_of
from .kernels import KernelBinder, KernelBinding
from .lower_objectfifo import FifoLowering
from .lower_physical import Physical, declare, dma_regions, flows, shim_allocations
from .parser import parse
from .runtime import Argument, RuntimeLowering
from .syntax import Reader


@dataclass
class Context:
    rd: Reader
    dev: Device
    config: NPUConfig
    b: Builder
    phys: Physical
    fifos: FifoLowering
    kernels: KernelBinder


@dataclass
class Imported:
    """An imported design: its program, what its names mean, its runtime arguments (by tensor
    name) and notes for the report (fixed-cost kernels, device and config)."""

    program: Program
    names: NameMap
    args: dict[str, Argument]
    notes: list[str] = field(default_factory=list)
    device: str = ""


def import_mlir(text: str, config: NPUConfig, source: str = "<mlir>",
                kernels: dict[str, KernelBinding] | None = None) -> Imported:
    """Lower a design to a Program verified against ``config``; errors name ``source`` and the line."""
    rd = Reader(source)
    dev = collect(rd, find_device(rd, parse(text, source)), config)
    b, phys = Builder(), Physical()
    declare(rd, dev, b, phys)
    dma_regions(rd, dev, b, phys)
    shim_allocations(rd, dev, b, phys)
    flows(rd, dev, b, config)
    fifos = FifoLowering(rd, dev, config, b)
    fifos.run()
    ctx = Context(rd, dev, config, b, phys, fifos, KernelBinder(kernels or {}))
    for core in dev.cores:
        xy = tile_of(rd, dev, core, rd.value(core, rd.parens(core)[0], "the tile"))
        b.tile(xy).core = list(CoreLowering(ctx, xy, core).lower())
    args = RuntimeLowering(ctx).run()
    b.names.tiles = {xy: ssa for ssa, xy in dev.tiles.items()}
    notes = list(ctx.kernels.notes)
    family = dev.name.split("_")[0]
    if not config.name.lower().startswith(family.lower()):
        notes.append(f"the design targets {dev.name}; it runs here on {config.name}")
    program = b.program(Path(source).stem, f"imported from {source} (aie.device {dev.name})")
    verify(program, config, source)
    return Imported(program, b.names, args, notes, dev.name)


def import_file(path: str | Path, config: NPUConfig, kernels: dict[str, KernelBinding] | None = None) -> Imported:
    """:func:`import_mlir` of a file."""
    from .errors import MlirError

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise MlirError(str(path), None, f"cannot read the design: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MlirError(str(path), None, "not a text file; give the textual MLIR (aie-opt output or IRON's print)") from None
    return import_mlir(text, config, str(path), kernels)
