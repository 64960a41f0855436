"""ObjectFIFOs to buffers, lock pairs, BD chains and routes, as mlir-aie's
objectfifo-stateful-transform (``AIEObjectFifoStatefulTransform.cpp``) builds them on AIE-ML.

- An ObjectFIFO of depth ``d`` between tiles without shared memory: ``d`` buffers and a lock pair
  on each side that has memory (producer lock starting at ``d``, consumer lock at 0); the
  producer's MM2S walks its buffers in a looping BD chain (acquire consumer lock, move, release
  producer lock), each consumer's S2MM the other way round; one route from the producer's
  channel to every consumer (a broadcast has several destinations). A shim tile has no buffers:
  the runtime sequence's transfers drive its channel.
- Between neighbouring compute tiles (one consumer that can reach the producer's memory, or the
  other way round), no DMA: one set of buffers and locks, on the producer's tile unless only the
  producer reaches the consumer's (mlir-aie's ``isSharedMemory``).
- ``aie.objectfifo.link`` through a memory tile shares one set of buffers between its input and
  output: 1-to-1, those of the larger element (input if equal); a distribute (one input, several
  outputs at ``dst`` offsets) or a join (several inputs at ``src`` offsets, one output), those of the
  whole element, with one lock pair per part: the whole side moves each part under its own pair.
- ``dimensionsToStream`` is the producer's MM2S access pattern, ``dimensionsFromStream`` a
  consumer's S2MM pattern, ``padDimensions`` a memory tile's MM2S padding.

Channels are the first free of each direction on each tile, in declaration order (mlir-aie's
DMA channel analysis). The core-side view of each end (:class:`FifoEnd`) is what core code's
``objectfifo.acquire`` / ``release`` / ``subview.access`` use.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import NPUConfig
from ..isa import BufferDescriptor, DmaChannelProgram, Endpoint, LockOp
from .builder import Builder, TileXY
from .design import Device, tile_of
from .dims import Transfer, element_bytes, transfer
from .ir import Group, Op, Sym, Typed
from .lexer import Token
from .syntax import MemRefType, Reader, layouts


@dataclass
class Fifo:
    name: str
    op: Op
    producer: TileXY
    consumers: list[TileXY]
    depths: list[int]
    elem: MemRefType
    to_stream: list[dict[str, int]] = field(default_factory=list)
    from_stream: list[list[dict[str, int]]] = field(default_factory=list)
    pad: list[dict[str, int]] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return self.elem.count * element_bytes(self.elem.elem)


@dataclass(frozen=True)
class FifoEnd:
    """One end of an ObjectFIFO as a core sees it: its buffers in order, the lock its acquire
    takes and the one its release gives."""

    fifo: str
    buffers: tuple[str, ...]
    acquire: str
    release: str
    elem: MemRefType


def _affine(config: NPUConfig, core: TileXY, mem: TileXY) -> bool:
    """Whether the core of ``core`` reaches the memory of ``mem`` (own, north, south, west)."""
    c, r = core
    both = config.tile_kind(core[1]) == "compute" and config.tile_kind(mem[1]) == "compute"
    return both and mem in ((c, r), (c, r + 1), (c, r - 1), (c - 1, r))


class FifoLowering:
    def __init__(self, rd: Reader, dev: Device, config: NPUConfig, b: Builder) -> None:
        self.rd, self.dev, self.c, self.b = rd, dev, config, b
        self.fifos: dict[str, Fifo] = {}
        self.ends: dict[tuple[str, str, TileXY], FifoEnd] = {}
        self.shim_ends: dict[str, Endpoint] = {}
        self.chan: dict[tuple[str, TileXY], str] = {}
        self.links: dict[str, Op] = {}

    # -- reading ----------------------------------------------------------------------------
    def parse(self, op: Op) -> Fifo:
        rd = self.rd
        name = rd.symbol(op)
        if op.generic:
            prod = tile_of(rd, self.dev, op, op.operands[0])
            cons = [tile_of(rd, self.dev, op, v) for v in op.operands[1:]]
            depth = op.attrs.get("elemNumber")
            elem = rd.memref(op, op.attrs.get("elemType"))
            to_s = layouts(op.attrs.get("dimensionsToStream"))
            from_s: list[list[dict[str, int]]] = [[] for _ in cons]
        else:
            parts = rd.parens(op, 3)
            if len(parts) != 3:
                raise rd.fail(op, "expected aie.objectfifo @name(%producer, {%consumers}, depth) : !aie.objectfifo<memref<...>>")
            prod = tile_of(rd, self.dev, op, rd.value(op, parts[0], "the producer tile"))
            to_s = layouts(next((g for g in parts[0] if isinstance(g, Group) and g.open == "["), None))
            group = parts[1][0] if parts[1] and isinstance(parts[1][0], Group) else None
            if group is None or group.open != "{":
                raise rd.fail(op, "expected the consumer tiles in braces, {%tile_0_2}")
            cons, from_s = [], []
            for part in group.parts():
                cons.append(tile_of(rd, self.dev, op, rd.value(op, part, "a consumer tile")))
                from_s.append(layouts(next((g for g in part if isinstance(g, Group) and g.open == "["), None)))
            depth = parts[2][0] if len(parts[2]) == 1 else Typed(parts[2][0], None)
            elem = rd.memref(op, op.type_items()[0] if op.type_items() else None)
        depths = self._depths(op, depth, len(cons))
        for flag in ("via_DMA", "plio", "disable_synchronization"):
            if op.attrs.get(flag):
                raise rd.fail(op, f"attribute '{flag}' is not modelled by npusim; remove it")
        pad = layouts(op.attrs.get("padDimensions"))
        return Fifo(name, op, prod, cons, depths, elem, to_s, from_s, pad)

    def _depths(self, op: Op, depth: object, consumers: int) -> list[int]:
        if isinstance(depth, Group) and depth.open == "[":
            values = [self.rd.int_of(op, p[0], "a depth") for p in depth.parts()]
            if len(values) != consumers + 1:
                raise self.rd.fail(op, f"gives {len(values)} depths for 1 producer and {consumers} consumers")
            return values
        return [self.rd.int_of(op, depth, "the depth")] * (consumers + 1)

    # -- lowering ---------------------------------------------------------------------------
    def run(self) -> None:
        for op in self.dev.fifos:
            f = self.parse(op)
            if f.name in self.fifos:
                raise self.rd.fail(op, f"ObjectFIFO @{f.name} is declared twice")
            self.fifos[f.name] = f
        for op in self.dev.links:
            self.link_op(op)
        for f in self.fifos.values():
            if self.shared(f):
                self.lower_shared(f)
            else:
                self.allocate(f)
        for f in self.fifos.values():
            if not self.shared(f):
                self.lower_dma(f)

    def link_op(self, op: Op) -> None:
        rd = self.rd
        groups = [it for it in op.items if isinstance(it, Group)]
        if op.generic:
            ins = [s.name for s in op.attrs.get("fifoIns", []) if isinstance(s, Sym)]
            outs = [s.name for s in op.attrs.get("fifoOuts", []) if isinstance(s, Sym)]
            src = [rd.int_of(op, v, "an offset") for v in op.attrs.get("src_offsets", [])]
            dst = [rd.int_of(op, v, "an offset") for v in op.attrs.get("dst_offsets", [])]
        else:
            if len(groups) < 2:
                raise rd.fail(op, "expected aie.objectfifo.link [@in] -> [@out] ([src offsets] [dst offsets])")
            ins, outs = ([str(t)[1:] for t in g.items if isinstance(t, Token) and t.kind == "symbol"] for g in groups[:2])
            offs = groups[2].items if len(groups) > 2 else ()
            src, dst = ([rd.int_of(op, p[0], "an offset") for p in g.parts()] if isinstance(g, Group) else []
                        for g in (list(offs) + [None, None])[:2])
        if not ins or not outs:
            raise rd.fail(op, "a link needs at least one input and one output ObjectFIFO: [@in] -> [@out]")
        for name in ins + outs:
            if name not in self.fifos:
                raise rd.fail(op, f"links @{name}, which no aie.objectfifo declares")
            self.links[name] = op
        op.attrs["_link"] = (ins, outs, src, dst)
        if len(ins) > 1 and len(outs) > 1:
            raise rd.fail(op, "a link joins several inputs or distributes to several outputs, not both")

    def shared(self, f: Fifo) -> bool:
        if f.name in self.links or len(f.consumers) != 1 or f.to_stream or any(f.from_stream):
            return False
        return _affine(self.c, f.consumers[0], f.producer) or _affine(self.c, f.producer, f.consumers[0])

    def lower_shared(self, f: Fifo) -> None:
        home = f.producer if _affine(self.c, f.consumers[0], f.producer) else f.consumers[0]
        bufs = self.storage(home, f.name, f.depths[0], f.nbytes, f"ObjectFIFO @{f.name} (shared memory)")
        prod, cons = self.lock_pair(home, f.name, 0, f.depths[0], f"ObjectFIFO @{f.name}")
        self.ends[(f.name, "Produce", f.producer)] = FifoEnd(f.name, bufs, prod, cons, f.elem)
        self.ends[(f.name, "Consume", f.consumers[0])] = FifoEnd(f.name, bufs, cons, prod, f.elem)

    def allocate(self, f: Fifo) -> None:
        for xy, direction in [(f.producer, "mm2s")] + [(t, "s2mm") for t in f.consumers]:
            spec = self.c.tile_spec(xy[1]).dma
            ch = self.b.channel(xy, direction, spec.mm2s_channels if direction == "mm2s" else spec.s2mm_channels)
            if ch is None:
                raise self.rd.fail(f.op, f"tile {xy} has no free {direction.upper()} channel left for ObjectFIFO @{f.name}")
            self.chan[(f.name, xy)] = ch
        ends = [Endpoint(f.producer, self.chan[(f.name, f.producer)])]
        ends += [Endpoint(t, self.chan[(f.name, t)]) for t in f.consumers]
        self.b.route(f.name, ends[0], ends[1:], f"ObjectFIFO @{f.name}")
        for ep in ends:
            if self.c.tile_kind(ep.tile[1]) == "shim":
                self.shim_ends[f.name] = ep

    def storage(self, xy: TileXY, prefix: str, depth: int, nbytes: int, meaning: str) -> tuple[str, ...]:
        names = tuple(f"{prefix}_buff_{i}" for i in range(depth))
        for i, n in enumerate(names):
            self.b.buffer(xy, n, nbytes, f"{meaning}, buffer {i} of {depth} on tile {xy}")
        return names

    def lock_pair(self, xy: TileXY, prefix: str, index: int, depth: int, meaning: str) -> tuple[str, str]:
        prod, cons = f"{prefix}_prod_lock_{index}", f"{prefix}_cons_lock_{index}"
        self.b.lock(xy, prod, depth, f"{meaning} on tile {xy}: free buffers (producer lock)")
        self.b.lock(xy, cons, 0, f"{meaning} on tile {xy}: filled buffers (consumer lock)")
        return prod, cons

    def side(self, f: Fifo, xy: TileXY) -> tuple[str, int, str]:
        """(name prefix, depth, meaning) of the storage of ``f`` at tile ``xy``."""
        if xy == f.producer:
            return f.name, f.depths[0], f"ObjectFIFO @{f.name}, producer side"
        j = f.consumers.index(xy)
        prefix = f"{f.name}_cons" if len(f.consumers) == 1 else f"{f.name}_{j}_cons"
        return prefix, f.depths[1 + j], f"ObjectFIFO @{f.name}, consumer side"

    def lower_dma(self, f: Fifo) -> None:
        if f.name in self.links:
            from .lower_link import lower_link_end

            lower_link_end(self, f)
        for xy in [f.producer] + f.consumers:
            if self.c.tile_kind(xy[1]) in ("shim",) or (f.name in self.links and self.c.tile_kind(xy[1]) == "mem"):
                continue
            prefix, depth, meaning = self.side(f, xy)
            bufs = self.storage(xy, prefix, depth, f.nbytes, meaning)
            prod, cons = self.lock_pair(xy, prefix, 0, depth, meaning)
            out = xy == f.producer
            dims = f.to_stream if out else f.from_stream[f.consumers.index(xy)]
            t = transfer(self.rd, f.op, f.elem, 0, f.elem.count, dims, [])
            self.chain(xy, f, [(b, t, (cons, prod) if out else (prod, cons)) for b in bufs])
            port = "Produce" if out else "Consume"
            self.ends[(f.name, port, xy)] = FifoEnd(f.name, bufs, prod if out else cons, cons if out else prod, f.elem)

    def chain(self, xy: TileXY, f: Fifo, steps: list[tuple[str, Transfer, tuple[str, str]]]) -> None:
        """A looping BD chain on ``f``'s channel at ``xy``: each step moves a buffer's transfer
        between its (acquired, released) locks."""
        bds = [BufferDescriptor(buf, t.length_bytes, t.offset_bytes, t.dims, LockOp(acq), LockOp(rel),
                                next=(i + 1) % len(steps), pad=t.pad)
               for i, (buf, t, (acq, rel)) in enumerate(steps)]
        ch = self.chan[(f.name, xy)]
        self.b.dma(xy, DmaChannelProgram(ch, tuple(bds)), f"ObjectFIFO @{f.name}")
