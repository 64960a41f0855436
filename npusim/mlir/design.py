"""The design inside ``aie.device``: its ops sorted by kind, checked against what npusim models.

An op or attribute that npusim does not model stops the import with an error naming it, its
line and what is supported, rather than being skipped: a design that runs is the design as
written. Attributes that only steer code generation for the real device (``link_with``,
``stack_size``, ``burst_length``, ``issue_token``, ``id``...) do not change what the hardware
does in npusim's model and are accepted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import NPUConfig
from .errors import MlirError
from .ir import Op
from .syntax import Reader

TileXY = tuple[int, int]

ATTRS: dict[str, frozenset[str]] = {
    "aie.device": frozenset({"sym_name", "device"}),
    "aie.tile": frozenset({"col", "row", "allocation_scheme", "controller_id"}),
    "aie.objectfifo": frozenset({"sym_name", "padDimensions", "via_DMA", "plio", "disable_synchronization",
                                 "elemNumber", "elemType", "dimensionsToStream", "dimensionsFromStreamPerConsumer"}),
    "aie.objectfifo.link": frozenset({"fifoIns", "fifoOuts", "src_offsets", "dst_offsets"}),
    "aie.buffer": frozenset({"sym_name", "address", "mem_bank"}),
    "aie.lock": frozenset({"sym_name", "init"}),
    "aie.mem": frozenset(), "aie.memtile_dma": frozenset(), "aie.end": frozenset(),
    "aie.flow": frozenset(), "aie.packet_flow": frozenset({"keep_pkt_header"}),
    "aie.shim_dma_allocation": frozenset({"sym_name", "plio"}),
    "aie.core": frozenset({"link_with", "link_files", "stack_size", "elf_file", "measured_stack_size", "dynamic_objfifo_lowering"}),
    "func.func": frozenset({"sym_visibility", "link_with", "llvm.emit_c_interface", "function_type", "sym_name"}),
    "aiex.runtime_sequence": frozenset({"sym_name"}), "aie.runtime_sequence": frozenset({"sym_name"}),
}
"""Top-level ops of a device and the attributes each may carry."""
SUPPORTED = sorted(ATTRS)


@dataclass
class Device:
    """The ops of one ``aie.device``, by kind, in the order written."""

    name: str
    tiles: dict[str, TileXY] = field(default_factory=dict)
    fifos: list[Op] = field(default_factory=list)
    links: list[Op] = field(default_factory=list)
    buffers: list[Op] = field(default_factory=list)
    locks: list[Op] = field(default_factory=list)
    mems: list[Op] = field(default_factory=list)
    flows: list[Op] = field(default_factory=list)
    shim_allocs: list[Op] = field(default_factory=list)
    cores: list[Op] = field(default_factory=list)
    funcs: dict[str, Op] = field(default_factory=dict)
    sequence: Op | None = None


def check_attrs(rd: Reader, op: Op, allowed: frozenset[str]) -> None:
    for name in op.attrs:
        if name not in allowed:
            have = ", ".join(sorted(allowed)) or "none"
            raise rd.fail(op, f"attribute '{name}' is not modelled by npusim (this op takes: {have}); remove it "
                          "or simulate without it")


def find_device(rd: Reader, ops: list[Op]) -> Op:
    """The (only) ``aie.device`` op, at the top level or inside ``module``."""
    found = []
    for op in ops:
        if op.name == "aie.device":
            found.append(op)
        elif op.name in ("module", "builtin.module"):
            found += [o for r in op.regions for o in r.ops if o.name == "aie.device"]
        else:
            raise rd.fail(op, "expected a module or aie.device at the top of the file")
    if len(found) != 1:
        raise MlirError(rd.src, found[1].line if found else None,
                        "expected exactly one aie.device in the file" + (f", found {len(found)}" if found else ""))
    return found[0]


def _tile(rd: Reader, op: Op, config: NPUConfig) -> TileXY:
    if op.generic:
        col, row = rd.int_of(op, op.attrs.get("col"), "col"), rd.int_of(op, op.attrs.get("row"), "row")
    else:
        parts = rd.parens(op)
        if len(parts) != 2:
            raise rd.fail(op, "expected aie.tile(column, row)")
        col, row = (rd.int_of(op, p[0] if p else None, "the tile's column and row") for p in parts)
    if not config.has_tile(col, row):
        raise rd.fail(op, f"tile ({col}, {row}) is not in the config's {config.columns} x {config.rows} array "
                      f"({config.name}); use a config with this tile, e.g. --set columns={col + 1}")
    return col, row


def collect(rd: Reader, device: Op, config: NPUConfig) -> Device:
    """Sort the device's ops by kind; refuse any op or attribute npusim does not model."""
    parts = [p for p in (rd.parens(device) if not device.generic else []) if p]
    name = str(parts[0][0]) if parts else str(device.attrs.get("device", "?"))
    dev = Device(name)
    for op in rd.region(device).ops:
        if op.name not in ATTRS:
            raise rd.fail(op, f"op not modelled by npusim; a device may hold: {', '.join(SUPPORTED)}")
        check_attrs(rd, op, ATTRS[op.name])
        if op.name == "aie.tile":
            dev.tiles[op.result] = _tile(rd, op, config)
        elif op.name == "func.func":
            fname = rd.symbol(op)
            if fname == "sequence" and op.regions:
                dev.sequence = op
            else:
                dev.funcs[fname] = op
        elif op.name in ("aiex.runtime_sequence", "aie.runtime_sequence"):
            dev.sequence = op
        elif op.name != "aie.end":
            kind = {"aie.objectfifo": dev.fifos, "aie.objectfifo.link": dev.links, "aie.buffer": dev.buffers,
                    "aie.lock": dev.locks, "aie.mem": dev.mems, "aie.memtile_dma": dev.mems,
                    "aie.flow": dev.flows, "aie.packet_flow": dev.flows, "aie.shim_dma_allocation": dev.shim_allocs,
                    "aie.core": dev.cores, "aie.device": []}[op.name]
            kind.append(op)
    return dev


def tile_of(rd: Reader, dev: Device, op: Op, value: str) -> TileXY:
    """The tile an SSA value names."""
    if value not in dev.tiles:
        raise rd.fail(op, f"{value} is not a tile declared with aie.tile in this device")
    return dev.tiles[value]
