"""The memory-tile end of an ``aie.objectfifo.link`` (see :mod:`npusim.mlir.lower_objectfifo`).

The link's buffers belong to its target: for 1-to-1 the larger element's ObjectFIFO (the input if
equal), for a distribute the input, for a join the output. The input's S2MM and the output's
MM2S walk the same buffers. With several parts (distribute or join), part ``r`` at its offset
has its own lock pair ``_prod_lock_r`` / ``_cons_lock_r``: the whole side moves every part of a
buffer, each under its pair, and each part's side moves its part under the same pair.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .dims import element_bytes, transfer

if TYPE_CHECKING:
    from .lower_objectfifo import Fifo, FifoLowering


def lower_link_end(low: "FifoLowering", f: "Fifo") -> None:
    """Emit the memory-tile BDs of ``f``'s end of its link (once per link, for every member)."""
    link = low.links[f.name]
    ins, outs, src, dst = link.attrs["_link"]
    if link.attrs.get("_done"):
        return
    link.attrs["_done"] = True
    rd = low.rd
    fin, fout = [low.fifos[n] for n in ins], [low.fifos[n] for n in outs]
    mem = fin[0].consumers[0]
    if len(fin[0].consumers) != 1 or any(o.producer != mem for o in fout) or any(i.consumers != [mem] for i in fin):
        raise rd.fail(link, "a link's inputs must end, and its outputs start, on the same memory tile")
    if low.c.tile_kind(mem[1]) != "mem":
        raise rd.fail(link, f"links through tile {mem}, which is not a memory tile; npusim models links on memory tiles")
    parts = fout if len(fout) > 1 else fin if len(fin) > 1 else []
    offsets = dst if len(fout) > 1 else src
    if parts and len(offsets) != len(parts):
        raise rd.fail(link, f"gives {len(offsets)} offsets for {len(parts)} ObjectFIFOs; give one offset each")
    if len(fout) > 1 or (not parts and fin[0].nbytes >= fout[0].nbytes):
        target, prefix, depth = fin[0], f"{fin[0].name}_cons", fin[0].depths[1]
    else:
        target, prefix, depth = fout[0], fout[0].name, fout[0].depths[0]
    meaning = f"ObjectFIFO link @{' @'.join(ins)} -> @{' @'.join(outs)} on memory tile {mem}"
    bufs = low.storage(mem, prefix, depth, target.nbytes, meaning)
    pairs = [low.lock_pair(mem, prefix, r, depth, f"{meaning}, part {r}") for r in range(max(1, len(parts)))]
    eb = element_bytes(target.elem.elem)
    for fifo in fin + fout:
        out = fifo in fout
        dims = fifo.to_stream if out else fifo.from_stream[0]
        if parts and fifo is not target:
            r = parts.index(fifo)
            spans = [(offsets[r], fifo.elem.count * element_bytes(fifo.elem.elem) // eb, r)]
        elif parts:
            spans = [(offsets[r], p.nbytes // eb, r) for r, p in enumerate(parts)]
        else:
            spans = [(0, max(fin[0].nbytes, fout[0].nbytes) // eb, 0)]
        steps = []
        for b in bufs:
            for off, length, r in spans:
                whole = not parts or fifo is not target
                t = transfer(rd, fifo.op, target.elem, off, length, dims if whole else [],
                             fifo.pad if out else [])
                prod, cons = pairs[r]
                steps.append((b, t, (cons, prod) if out else (prod, cons)))
        low.chain(mem, fifo, steps)
