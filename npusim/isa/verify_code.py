"""Checks of core ``code`` blocks before a run (called by :mod:`npusim.isa.verify`).

Every statement names a known operation and type; a register is written before it is read
(registers live for the whole core program, in program order); a loop inside a block has
immediate bounds (its cost must be static); a memory statement's buffer exists, is reachable by
the core, and its view (``offset`` + ``shape``) fits in it.
"""
from __future__ import annotations

from collections.abc import Callable

from .core_code import SCALAR_TYPES, Code, Stmt, known_fn, split_type
from .errors import ProgramError

_ELEM_BYTES = {"i1": 1, "i8": 1, "ui8": 1, "i16": 2, "ui16": 2, "bf16": 2, "i32": 4, "ui32": 4, "f32": 4,
               "i64": 8, "index": 8}
_MEMORY = ("load", "store", "vload", "vstore", "fill")


class CodeChecker:
    """Checks the blocks of one core; ``buffer_size(name, where)`` gives a reachable buffer's
    size or raises the verifier's error."""

    def __init__(self, buffer_size: Callable[[str, str], int], fail: Callable[[str, str], ProgramError]) -> None:
        self.buffer_size = buffer_size
        self.fail = fail
        self.defined: set[str] = set()

    def code(self, ins: Code, where: str) -> None:
        self.block(ins.body, where)

    def block(self, body: tuple[Stmt, ...], where: str) -> None:
        for i, s in enumerate(body):
            self.stmt(s, f"{where}.body[{i}] ({s.fn})")

    def use(self, s: Stmt, where: str, args: tuple[object, ...]) -> None:
        for a in args:
            if isinstance(a, str) and a not in self.defined:
                raise self.fail(where, f"reads register '{a}' before any statement writes it; compute it first")

    def stmt(self, s: Stmt, where: str) -> None:
        if not known_fn(s.fn):
            raise self.fail(where, f"unknown core-code operation '{s.fn}'; see npusim.isa.core_code for the list")
        lanes, elem = split_type(s.type)
        for ty in (elem, s.src_type):
            if ty and ty not in SCALAR_TYPES:
                raise self.fail(where, f"unknown type '{ty}'; core code has {', '.join(SCALAR_TYPES)} and vectors of them")
        if s.fn == "for":
            self.loop(s, where)
            return
        self.use(s, where, s.args)
        if s.fn == "if":
            for part in (s.body, s.orelse):
                self.block(part, where)
        elif s.fn in _MEMORY:
            self.memory(s, where, lanes, elem)
        self.defined.update(s.dst)

    def loop(self, s: Stmt, where: str) -> None:
        if len(s.args) < 3 or not all(isinstance(a, int) for a in s.args[:3]) or int(s.args[2]) <= 0:
            raise self.fail(where, "a loop in core code needs immediate bounds and a positive step (lb, ub, step), "
                            "so that its cycles are known before the run")
        self.use(s, where, s.args[3:])
        self.defined.update(s.dst)
        self.block(s.body, where)
        if not s.body or s.body[-1].fn != "yield":
            raise self.fail(where, "a loop body ends with a 'yield' of its carried values")

    def memory(self, s: Stmt, where: str, lanes: int, elem: str) -> None:
        if s.buffer is None:
            raise self.fail(where, f"{s.fn} names no buffer")
        size = self.buffer_size(s.buffer, where)
        eb = _ELEM_BYTES.get(elem, 1)
        if s.fn == "fill":
            end = s.offset * eb + (int(s.args[0]) if s.args and isinstance(s.args[0], int) else 0)
        else:
            count = 1
            for d in s.shape:
                count *= d
            end = (s.offset + count) * eb
            want = len(s.shape) + (1 if s.fn in ("store", "vstore") else 0)
            if len(s.args) != want:
                raise self.fail(where, f"{s.fn} of a {len(s.shape)}-d view takes {want} operands, got {len(s.args)}")
        if end > size:
            raise self.fail(where, f"its view of buffer '{s.buffer}' reaches byte {end}, past the buffer's "
                            f"{size} bytes; fix the shape or offset")
