"""Core code: a block of scalar and vector operations a core runs between its lock operations and
kernel calls (what an mlir-aie core body computes with ``arith``, ``memref``, ``vector`` and
``scf``).

A :class:`Code` instruction holds :class:`Stmt` statements over the core's registers (names such as
``"%3"``, kept for the whole core program, so a value computed in one block is read in a later
one) and the buffers the core reaches. Its time is static, from the config's per-operation cost
table (``compute_tile.core_ops``; :func:`npusim.hw.timing.code_cycles`): an ``scf.for`` inside a
block needs a constant trip count, an ``if`` costs its longer branch. So functional and
timing-only runs take the same cycles, and data-dependent branches are evaluated in functional
mode only. What each ``fn`` computes: :mod:`npusim.scalar_math` and :mod:`npusim.hw.core_code`.

Statements (``args`` are registers, as strings, or immediates):

- arithmetic (``ARITH``, elementwise on vectors): ``dst[0] = fn(*args)`` in ``type``;
  ``cmpi:<pred>``/``cmpf:<pred>`` compare (``type`` is the operands' type), casts read ``args[0]``
  in ``src_type``;
- ``copy``: ``dst[i] = args[i]``;
- ``load``/``store``: element ``args`` (indices; a store's value first) of the ``shape``d view at
  element ``offset`` of ``buffer``; ``vload``/``vstore`` move ``type``'s lanes from the flat
  element index the indices give; ``broadcast`` fills a vector with ``args[0]``;
- ``fill``: ``buffer`` bytes ``offset`` .. ``offset + args[0]`` set to zero (a zeroing kernel);
- ``for``: ``dst = (iv, *carried)``, ``args = (lb, ub, step, *initial)``, ``body`` ending with a
  ``yield`` of the next carried values; ``if``: ``args = (cond,)``, ``body``/``orelse`` each ending
  with a ``yield`` of ``dst``;
- ``call``: an external kernel call of fixed ``cycles`` that changes nothing (named ``callee``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, Strict

_STRICT = ConfigDict(extra="forbid")
Operand = Annotated[int, Strict()] | Annotated[float, Strict()] | str

ARITH = frozenset({
    "addi", "subi", "muli", "divsi", "divui", "remsi", "remui", "andi", "ori", "xori", "shli", "shrsi",
    "shrui", "maxsi", "minsi", "maxui", "minui", "addf", "subf", "mulf", "divf", "maximumf", "minimumf",
    "negf", "select", "extsi", "extui", "trunci", "index_cast", "sitofp", "uitofp", "fptosi", "fptoui",
    "extf", "truncf",
})
"""Arithmetic statements (``arith`` ops); comparisons are ``cmpi:<predicate>`` and ``cmpf:<predicate>``."""
CASTS = frozenset({"extsi", "extui", "trunci", "index_cast", "sitofp", "uitofp", "fptosi", "fptoui", "extf", "truncf"})
CMPI = frozenset({"eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"})
CMPF = frozenset({"oeq", "one", "olt", "ole", "ogt", "oge", "ueq", "une", "ult", "ule", "ugt", "uge", "ord", "uno"})
OTHER = frozenset({"copy", "load", "store", "vload", "vstore", "broadcast", "fill", "for", "if", "yield", "call"})
SCALAR_TYPES = ("i1", "i8", "i16", "i32", "i64", "index", "ui8", "ui16", "ui32", "bf16", "f32")


def known_fn(fn: str) -> bool:
    """Whether ``fn`` names a statement this ISA has."""
    if fn.startswith("cmpi:"):
        return fn[5:] in CMPI
    if fn.startswith("cmpf:"):
        return fn[5:] in CMPF
    return fn in ARITH or fn in OTHER


def split_type(ty: str) -> tuple[int, str]:
    """``(lanes, element type)`` of a statement type: ``"16xi32"`` is 16 lanes of ``i32``, a
    scalar type is 1 lane (0 for the empty type)."""
    if "x" in ty and ty.split("x")[0].isdigit():
        lanes, elem = ty.split("x", 1)
        return int(lanes), elem
    return (1 if ty else 0), ty


@dataclass(frozen=True, slots=True)
class Stmt:
    """One statement of core code (module doc)."""

    __pydantic_config__ = _STRICT
    fn: str
    type: str = ""
    dst: tuple[str, ...] = ()
    args: tuple[Operand, ...] = ()
    src_type: str = ""
    buffer: str | None = None
    shape: tuple[Annotated[int, Field(ge=1), Strict()], ...] = ()
    offset: Annotated[int, Field(ge=0), Strict()] = 0
    body: tuple["Stmt", ...] = ()
    orelse: tuple["Stmt", ...] = ()
    cycles: Annotated[int, Field(ge=0), Strict()] = 0
    callee: str = ""


@dataclass(frozen=True, slots=True)
class Code:
    """A block of core code (module doc); ``label`` names where it comes from (for reports)."""

    __pydantic_config__ = _STRICT
    op: Literal["code"]
    body: tuple[Stmt, ...]
    label: str = ""


def trip_count(stmt: Stmt) -> int:
    """Iterations of a ``for`` statement with immediate bounds (0 if it has none)."""
    lb, ub, step = stmt.args[:3]
    if not all(isinstance(v, int) for v in (lb, ub, step)) or step <= 0:  # type: ignore[operator]
        return 0
    return int(max(0, -(-(ub - lb) // step)))  # type: ignore[operator]


def buffers_used(body: tuple[Stmt, ...]) -> set[str]:
    """The buffers a block reads or writes."""
    out: set[str] = set()
    for s in body:
        if s.buffer is not None:
            out.add(s.buffer)
        out |= buffers_used(s.body) | buffers_used(s.orelse)
    return out
