"""The parsed design: operations with their operands, attributes, types and regions.

The parser keeps MLIR's structure and nothing of any dialect's meaning: an :class:`Op` is its
name, result names, line, and what followed the name. For the generic form
(``"aie.tile"() {col = 0 : i32, row = 2 : i32} : () -> index``) that is operands, attributes and
regions as MLIR defines them; for an op's custom (pretty) form, ``items``: the tokens and
bracketed groups after the name, read by the lowering, which knows each op's syntax
(:mod:`npusim.mlir.syntax`). Attribute values are Python values: ``int``, ``float``, ``str``,
``bool``, :class:`Sym` (``@name``), lists, :class:`Typed` (``0 : i32``) and tokens for the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from .lexer import Token


@dataclass(frozen=True, slots=True)
class Sym:
    """A symbol reference ``@name``."""

    name: str

    def __str__(self) -> str:
        return f"@{self.name}"


@dataclass(frozen=True, slots=True)
class Typed:
    """A value with a type: ``2 : i32`` (an attribute) or ``%x : memref<16xi32>`` (an operand)."""

    value: Any
    type: Any


@dataclass(frozen=True, slots=True)
class Group:
    """Items between brackets: ``open`` is ``(``, ``[``, ``<`` or ``{`` (an attribute dictionary
    in an op's custom form is a :class:`dict` instead)."""

    open: str
    items: tuple["Item", ...]
    line: int

    def parts(self) -> list[list["Item"]]:
        """The items split at the commas of this level."""
        out: list[list[Item]] = [[]]
        for it in self.items:
            if isinstance(it, Token) and it.text == ",":
                out.append([])
            else:
                out[-1].append(it)
        return out if out != [[]] else []


Item = Union[Token, Group, "Region", dict[str, Any]]


@dataclass(slots=True)
class Block:
    """A block: its label (``^bb1``, or "" for an entry block without one), arguments and ops."""

    label: str
    args: list[tuple[str, str]]
    ops: list["Op"] = field(default_factory=list)


@dataclass(slots=True)
class Region:
    """A region: a list of blocks."""

    blocks: list[Block]
    line: int

    @property
    def ops(self) -> list["Op"]:
        """The ops of the entry block (most regions of a design have one block)."""
        return self.blocks[0].ops if self.blocks else []


@dataclass(slots=True)
class Op:
    """One operation as written."""

    name: str
    results: list[str]
    line: int
    items: list[Item] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)
    successors: list[str] = field(default_factory=list)
    generic: bool = False

    @property
    def result(self) -> str:
        return self.results[0] if self.results else ""

    def type_items(self) -> list[Item]:
        """The items after the op's first top-level ``:`` (its types, in the custom form)."""
        for i, it in enumerate(self.items):
            if isinstance(it, Token) and it.text == ":":
                return self.items[i + 1:]
        return []

    def head(self) -> list[Item]:
        """The items before the op's first top-level ``:``."""
        for i, it in enumerate(self.items):
            if isinstance(it, Token) and it.text == ":":
                return self.items[:i]
        return self.items
