"""Functional mode's core-code interpreter: what a ``code`` block does to the registers and buffers.

Statements run in order on the core's register file (kept for the whole program, so a later
block reads what an earlier one computed) and the bytes of the buffers (row-major views of
``shape`` at element ``offset``); the arithmetic is :mod:`npusim.scalar_math`'s. An access outside
a buffer stops the run with a :class:`~npusim.hw.errors.SimulationError` naming the buffer and
index. Time is not counted here: a block's cycles are static (:func:`npusim.hw.timing.code_cycles`).
"""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping

import numpy as np

from ..isa.core_code import Code, Stmt, split_type
from ..numerics import Array
from .. import scalar_math as sm
from .data import Bytes
from .errors import SimulationError

Registers = MutableMapping[str, Array]


def _get(regs: Registers, x: int | float | str, ty: str) -> Array:
    if isinstance(x, str):
        return regs[x]
    lanes, elem = split_type(ty)
    return sm.value(elem, x, lanes)


def _flat_index(s: Stmt, idx: list[int], where: str) -> int:
    flat = 0
    for i, (n, size) in enumerate(zip(idx, s.shape)):
        if not 0 <= n < size:
            raise SimulationError(f"{where}: index {idx} is outside buffer '{s.buffer}' of shape {list(s.shape)} "
                                  f"(dimension {i}); the core code reads or writes past its buffer")
        flat = flat * size + n
    return s.offset + flat


def _element(s: Stmt, regs: Registers, first: int, where: str) -> int:
    idx = [int(_get(regs, a, "index")[0]) for a in s.args[first:]]
    return _flat_index(s, idx, where)


def _memory(s: Stmt, regs: Registers, buffers: Mapping[str, Bytes], where: str) -> None:
    lanes, elem = split_type(s.type)
    eb = sm.elem_bytes(elem)
    mem = buffers[s.buffer]  # type: ignore[index]
    if s.fn == "fill":
        start = s.offset * eb
        mem[start:start + int(s.args[0])] = 0
        return
    at = _element(s, regs, 1 if s.fn in ("store", "vstore") else 0, where) * eb
    if at + lanes * eb > len(mem):
        raise SimulationError(f"{where}: {s.fn} of {lanes} element(s) at byte {at} runs past buffer '{s.buffer}' "
                              f"({len(mem)} bytes)")
    if s.fn in ("load", "vload"):
        regs[s.dst[0]] = sm.from_bytes(mem[at:at + lanes * eb], elem)
    else:
        mem[at:at + lanes * eb] = sm.to_bytes(_get(regs, s.args[0], s.type), elem)


def _yield(s: Stmt, regs: Registers, body: tuple[Stmt, ...], dst: tuple[str, ...], buffers: Mapping[str, Bytes],
           where: str) -> None:
    run(body[:-1], regs, buffers, where)
    last = body[-1]
    values = [regs[a] if isinstance(a, str) else _get(regs, a, last.type) for a in last.args]
    for name, v in zip(dst, values):
        regs[name] = v


def _loop(s: Stmt, regs: Registers, buffers: Mapping[str, Bytes], where: str) -> None:
    lb, ub, step = (int(_get(regs, a, "index")[0]) for a in s.args[:3])
    iv, carried = s.dst[0], s.dst[1:]
    for name, init in zip(carried, s.args[3:]):
        regs[name] = _get(regs, init, s.type)
    for i in range(lb, ub, step):
        regs[iv] = sm.value("index", i)
        _yield(s, regs, s.body, carried, buffers, where)


def run(body: tuple[Stmt, ...], regs: Registers, buffers: Mapping[str, Bytes], where: str) -> None:
    """Run statements on ``regs`` and ``buffers`` (``where`` names the core, for errors)."""
    for s in body:
        fn = s.fn
        if fn in ("load", "store", "vload", "vstore", "fill"):
            _memory(s, regs, buffers, where)
        elif fn == "copy":
            values = [_get(regs, a, s.type) for a in s.args]
            for name, v in zip(s.dst, values):
                regs[name] = v
        elif fn == "broadcast":
            lanes, elem = split_type(s.type)
            regs[s.dst[0]] = np.broadcast_to(_get(regs, s.args[0], elem), (lanes,)).copy()
        elif fn == "for":
            _loop(s, regs, buffers, where)
        elif fn == "if":
            taken = s.body if bool(_get(regs, s.args[0], "i1")[0]) else s.orelse
            if taken:
                _yield(s, regs, taken, s.dst, buffers, where)
        elif fn == "call":
            continue  # a fixed-cost kernel: its outputs stay as they are
        else:
            ty = s.src_type or s.type
            regs[s.dst[0]] = sm.apply(fn, split_type(s.type)[1], [_get(regs, a, ty) for a in s.args])


def run_code(code: Code, regs: Registers, buffers: Mapping[str, Bytes], where: str) -> None:
    """Execute one ``code`` instruction."""
    run(code.body, regs, buffers, where)


def code_memory_bytes(body: tuple[Stmt, ...]) -> tuple[int, int]:
    """Data-memory bytes a block reads and writes (loops times their trip counts)."""
    from ..isa.core_code import trip_count

    read = written = 0
    for s in body:
        lanes, elem = split_type(s.type)
        size = lanes * sm.elem_bytes(elem) if elem and sm.known_type(elem) else 0
        if s.fn in ("load", "vload"):
            read += size
        elif s.fn in ("store", "vstore"):
            written += size
        elif s.fn == "fill":
            written += int(s.args[0])
        elif s.fn in ("for", "if"):
            r, w = code_memory_bytes(s.body)
            r2, w2 = code_memory_bytes(s.orelse)
            times = trip_count(s) if s.fn == "for" else 1
            read, written = read + times * max(r, r2), written + times * max(w, w2)
    return read, written
