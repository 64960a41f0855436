"""The physical level, one to one: ``aie.buffer`` and ``aie.lock`` become a tile's buffers and
locks (named by ``sym_name``, else by their SSA name), each ``aie.dma_start`` of an ``aie.mem`` or
``aie.memtile_dma`` a channel's BD chain (``aie.use_lock`` before a ``aie.dma_bd`` acquires, after
it releases; ``aie.next_bd`` links the chain, a block with ``aie.end`` ends it), ``aie.flow`` and
``aie.packet_flow`` routes (flows from one source are one route with several destinations), and
``aie.shim_dma_allocation`` names a shim channel for the runtime sequence.

Packet flows are modelled as circuits: a channel used by two packet flows (packets from several
sources merged onto one stream) is refused, as npusim does not arbitrate packets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ..config import NPUConfig
from ..isa import BufferDescriptor, DmaChannelProgram, Endpoint, LockOp
from .builder import Builder, TileXY
from .design import Device, check_attrs, tile_of
from .dims import Transfer, transfer
from .ir import Block, Group, Item, Op, Typed
from .lexer import Token
from .syntax import MemRefType, Reader, layouts

_BD_ATTRS = frozenset({"bd_id", "next_bd_id", "burst_length", "len", "offset", "dimensions", "pad_dimensions"})
_ENDPOINT = re.compile(r"(%[\w.$\-]+)\s*,\s*(\w+)\s*:\s*(\d+)")


@dataclass
class Physical:
    """What the physical ops declared: SSA values of buffers and locks, their names and types."""

    values: dict[str, str] = field(default_factory=dict)
    types: dict[str, MemRefType] = field(default_factory=dict)
    shim: dict[str, Endpoint] = field(default_factory=dict)


def _named(op: Op) -> str:
    return str(op.attrs.get("sym_name") or op.result.lstrip("%"))


def declare(rd: Reader, dev: Device, b: Builder, phys: Physical) -> None:
    """Buffers and locks."""
    for op in dev.buffers:
        xy = tile_of(rd, dev, op, rd.value(op, rd.parens(op)[0], "the tile"))
        ty = rd.memref(op, op.type_items()[0] if op.type_items() else None)
        if len(op.type_items()) > 1:
            raise rd.fail(op, "initial values of a buffer are not modelled; fill it from DDR in the runtime sequence")
        name = _named(op)
        address = op.attrs.get("address")
        offset = rd.int_of(op, address, "address") if address is not None else None
        from .dims import element_bytes

        b.buffer(xy, name, ty.count * element_bytes(ty.elem), f"buffer {name} (aie.buffer) on tile {xy}", offset)
        phys.values[op.result], phys.types[name] = name, ty
    for op in dev.locks:
        parts = rd.parens(op)
        xy = tile_of(rd, dev, op, rd.value(op, parts[0], "the tile"))
        name = _named(op)
        init = rd.int_of(op, op.attrs.get("init", 0), "init")
        b.lock(xy, name, init, f"lock {name} (aie.lock) on tile {xy}")
        phys.values[op.result] = name


def bd_transfer(rd: Reader, op: Op, phys: Physical, args: dict[str, MemRefType] | None = None) -> tuple[str, MemRefType, Transfer]:
    """An ``aie.dma_bd``: its buffer (or runtime argument) name, type and transfer, in any of the
    forms mlir-aie prints."""
    check_attrs(rd, op, _BD_ATTRS)
    parts = rd.parens(op)
    head = parts[0]
    value = rd.value(op, head, "the buffer")
    colon = next((i for i, it in enumerate(head) if isinstance(it, Token) and it.text == ":"), None)
    if colon is None or colon + 1 >= len(head):
        raise rd.fail(op, "expected aie.dma_bd(%buffer : memref<...>, offset, length)")
    ty = rd.memref(op, head[colon + 1])
    name = (args or {}).get(value) and value.lstrip("%") or phys.values.get(value)
    if name is None:
        raise rd.fail(op, f"{value} is not a buffer (aie.buffer) of this design")
    kw = _keywords(head[colon + 2:])
    offset = rd.int_of(op, kw.get("offset", op.attrs.get("offset", 0)), "the offset")
    length = rd.int_of(op, kw.get("len", op.attrs.get("len", ty.count)), "the length")
    dims = layouts(op.attrs.get("dimensions"))
    pad_kw, sizes_kw, strides_kw = (kw.get(k) for k in ("pad", "sizes", "strides"))
    pads = layouts(op.attrs.get("pad_dimensions")) or layouts(pad_kw if isinstance(pad_kw, Group) else None)
    if isinstance(sizes_kw, Group) and isinstance(strides_kw, Group):
        sizes = [rd.int_of(op, p[0], "a size") for p in sizes_kw.parts()]
        strides = [rd.int_of(op, p[0], "a stride") for p in strides_kw.parts()]
        dims = [{"size": s, "stride": t} for s, t in zip(sizes, strides)]
    rest = [p for p in parts[1:] if p]
    if rest:
        offset = rd.int_of(op, rest[0][0], "the offset")
        length = rd.int_of(op, rest[1][0], "the length") if len(rest) > 1 else length
        groups = [p[0] for p in rest[2:] if isinstance(p[0], Group)]
        dims = layouts(groups[0]) if groups else dims
        pads = layouts(groups[1]) if len(groups) > 1 else pads
    return name, ty, transfer(rd, op, ty, offset, length, dims, pads)


def _keywords(items: list[Item]) -> dict[str, Item]:
    """``offset = 0 len = 16 sizes = [...] strides = [...] pad [...]`` of the newer dma_bd form."""
    out: dict[str, Item] = {}
    i = 0
    while i < len(items):
        it = items[i]
        if isinstance(it, Token) and it.kind == "bare":
            j = i + 2 if i + 1 < len(items) and isinstance(items[i + 1], Token) and items[i + 1].text == "=" else i + 1  # type: ignore[union-attr]
            if j < len(items):
                out[it.text] = items[j]
            i = j + 1
        else:
            i += 1
    return out


def dma_regions(rd: Reader, dev: Device, b: Builder, phys: Physical) -> None:
    """``aie.mem`` / ``aie.memtile_dma``: one BD chain per ``aie.dma_start``."""
    for op in dev.mems:
        xy = tile_of(rd, dev, op, rd.value(op, rd.parens(op)[0], "the tile"))
        blocks = {blk.label: blk for blk in rd.region(op).blocks}
        for blk in rd.region(op).blocks:
            if _is_bd(blk):
                continue
            for start in blk.ops:
                if start.name == "aie.dma_start":
                    _channel(rd, start, xy, blocks, b, phys)
                elif start.name not in ("aie.end", "aie.next_bd"):
                    raise rd.fail(start, "in a DMA region npusim models aie.dma_start, aie.use_lock, aie.dma_bd, "
                                  "aie.next_bd and aie.end")


def _channel(rd: Reader, op: Op, xy: TileXY, blocks: dict[str, Block], b: Builder, phys: Physical) -> None:
    check_attrs(rd, op, frozenset({"repeat_count"}))
    parts = rd.parens(op, 3)
    direction = rd.word(op, parts[0], "a direction", ("S2MM", "MM2S")).lower()
    channel = f"{direction}{rd.int_of(op, parts[1][0], 'the channel')}"
    first = str(parts[2][0])
    repeat = op.attrs.get("repeat_count", 0)
    for p in parts[4:]:
        if len(p) == 3 and str(p[0]) == "repeat_count":
            repeat = p[2]
    order: list[str] = []
    label: str | None = first
    while label is not None and label not in order and label in blocks and _is_bd(blocks[label]):
        order.append(label)
        label = _next(blocks[label])
    bds = [_bd(rd, blocks[lb], phys, order) for lb in order]
    if not bds:
        raise rd.fail(op, f"starts {channel} at {first}, which holds no aie.dma_bd")
    b.reserve(xy, channel)
    b.dma(xy, DmaChannelProgram(channel, tuple(bds), repeat=rd.int_of(op, repeat, "repeat_count") + 1),
          f"DMA channel {channel.upper()} of tile {xy}")


def _is_bd(blk: Block) -> bool:
    return any(o.name == "aie.dma_bd" for o in blk.ops)


def _next(blk: Block) -> str | None:
    for o in blk.ops:
        if o.name == "aie.next_bd" and o.items:
            return str(o.items[0])
    return None


def _bd(rd: Reader, blk: Block, phys: Physical, order: list[str]) -> BufferDescriptor:
    acquire = release = None
    seen_bd = False
    bd: tuple[str, MemRefType, Transfer] | None = None
    for o in blk.ops:
        if o.name == "aie.use_lock":
            lock, action, value = use_lock(rd, o, phys)
            if action == "Release":
                release = LockOp(lock, value)
            elif seen_bd:
                raise rd.fail(o, "acquires a lock after the BD's transfer; acquire before aie.dma_bd")
            else:
                acquire = LockOp(lock, value)
        elif o.name == "aie.dma_bd":
            bd, seen_bd = bd_transfer(rd, o, phys), True
        elif o.name not in ("aie.next_bd", "aie.end"):
            raise rd.fail(o, "in a BD block npusim models aie.use_lock, aie.dma_bd and aie.next_bd")
    assert bd is not None
    nxt = _next(blk)
    link: int | Literal["end"] = order.index(nxt) if nxt in order else "end"
    t = bd[2]
    return BufferDescriptor(bd[0], t.length_bytes, t.offset_bytes, t.dims, acquire, release, link, t.pad)


def use_lock(rd: Reader, op: Op, phys: Physical) -> tuple[str, str, int]:
    """(lock name, action, value) of an ``aie.use_lock``."""
    parts = rd.parens(op, 2)
    value = rd.value(op, parts[0], "the lock")
    if value not in phys.values:
        raise rd.fail(op, f"{value} is not a lock (aie.lock) of this design")
    action = rd.word(op, parts[1], "a lock action", ("AcquireGreaterEqual", "Release", "Acquire"))
    if action == "Acquire":
        raise rd.fail(op, "the AIE1 action 'Acquire' is not modelled on AIE-ML; use AcquireGreaterEqual")
    amount = parts[2][0] if len(parts) > 2 and parts[2] else 1
    if isinstance(amount, Token) and amount.kind == "value":
        raise rd.fail(op, f"lock value {amount} is not a constant; npusim needs the value written in the op")
    return phys.values[value], action, rd.int_of(op, amount, "the lock value")


def flows(rd: Reader, dev: Device, b: Builder, config: NPUConfig) -> None:
    """``aie.flow`` / ``aie.packet_flow`` to routes (one per source channel)."""
    grouped: dict[Endpoint, list[Endpoint]] = {}
    lines: dict[Endpoint, Op] = {}
    for op in dev.flows:
        for src, dsts in _flow_ends(rd, dev, op):
            if op.name == "aie.packet_flow" and any(d in e for e in grouped.values() for d in dsts):
                raise rd.fail(op, "shares a destination channel with another packet flow: merging packet streams is "
                              "not modelled by npusim; give each flow its own channels")
            grouped.setdefault(src, []).extend(dsts)
            lines.setdefault(src, op)
    for src, dsts in grouped.items():
        b.route(f"flow_{src.tile[0]}_{src.tile[1]}_{src.channel}", src, dsts,
                f"{lines[src].name} from tile {src.tile} (line {lines[src].line})")
        for ep in [src, *dsts]:
            b.reserve(ep.tile, ep.channel)


def _flow_ends(rd: Reader, dev: Device, op: Op) -> list[tuple[Endpoint, list[Endpoint]]]:
    if op.name == "aie.flow":
        parts = rd.parens(op, 4)
        if len(parts) != 4:
            raise rd.fail(op, "expected aie.flow(%source, DMA : channel, %dest, DMA : channel)")
        ends = []
        for tile_part, port_part, direction in ((parts[0], parts[1], "mm2s"), (parts[2], parts[3], "s2mm")):
            tile = tile_of(rd, dev, op, rd.value(op, tile_part, "a tile"))
            ends.append(_port(rd, op, tile, str(port_part[0]), port_part[-1], direction))
        return [(ends[0], [ends[1]])]
    src: Endpoint | None = None
    dsts: list[Endpoint] = []
    for inner in rd.region(op).ops:
        raw = next((t.inner for t in inner.items if isinstance(t, Token) and t.kind == "angled"), "")
        m = _ENDPOINT.search(raw)
        if inner.name == "aie.end":
            continue
        if m is None or inner.name not in ("aie.packet_source", "aie.packet_dest"):
            raise rd.fail(inner, "in a packet flow npusim models aie.packet_source<%tile, DMA : n> and aie.packet_dest")
        tile = tile_of(rd, dev, inner, m.group(1))
        ep = _port(rd, inner, tile, m.group(2), Token("int", m.group(3), inner.line),
                   "mm2s" if inner.name == "aie.packet_source" else "s2mm")
        if inner.name == "aie.packet_source":
            src = ep
        else:
            dsts.append(ep)
    if src is None or not dsts:
        raise rd.fail(op, "a packet flow needs one aie.packet_source and at least one aie.packet_dest")
    return [(src, dsts)]


def _port(rd: Reader, op: Op, tile: TileXY, bundle: str, channel: Item, direction: str) -> Endpoint:
    if bundle != "DMA":
        raise rd.fail(op, f"bundle {bundle}: npusim models flows between DMA channels (DMA : n) only")
    return Endpoint(tile, f"{direction}{rd.int_of(op, channel, 'the channel')}")


def shim_allocations(rd: Reader, dev: Device, b: Builder, phys: Physical) -> None:
    """``aie.shim_dma_allocation @sym(MM2S, channel, column)`` (or ``(%tile, MM2S, channel)``)."""
    for op in dev.shim_allocs:
        parts = rd.parens(op, 2)
        if isinstance(parts[0][0], Token) and parts[0][0].kind == "value":
            xy = tile_of(rd, dev, op, parts[0][0].text)
            parts = rd.parens(op, 3)[1:]
        else:
            xy = (rd.int_of(op, parts[2][0] if len(parts) > 2 else None, "the column"), 0)
        direction = rd.word(op, parts[0], "a direction", ("MM2S", "S2MM")).lower()
        phys.shim[rd.symbol(op)] = Endpoint(xy, f"{direction}{rd.int_of(op, parts[1][0], 'the channel')}")


def typed_int(rd: Reader, op: Op, item: Item | Typed) -> int:
    return rd.int_of(op, item, "a number")
