"""Reading an op's custom form: the helpers the lowering uses to take its operands apart.

Each helper names the op and its line when the text is not what mlir-aie writes, so a design
with a typo stops with an error that says where and what was expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import MlirError
from .ir import Group, Item, Op, Region, Sym, Typed
from .lexer import Token, integer

_SHAPE = re.compile(r"^\s*((?:\d+x)*)([a-z][a-z0-9]*)\s*(?:,.*)?$", re.S)


@dataclass(frozen=True, slots=True)
class MemRefType:
    """``memref<16x16xi32>``: its shape and element type."""

    shape: tuple[int, ...]
    elem: str

    @property
    def count(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __str__(self) -> str:
        return f"memref<{'x'.join(map(str, self.shape))}x{self.elem}>" if self.shape else f"memref<{self.elem}>"


class Reader:
    """The source file's name, for errors."""

    def __init__(self, source: str) -> None:
        self.src = source

    def fail(self, op: Op | None, what: str) -> MlirError:
        return MlirError(self.src, op.line if op else None, f"{op.name}: {what}" if op else what)

    def memref(self, op: Op, item: Any) -> MemRefType:
        """A ``memref<...>`` type (also inside ``!aie.objectfifo<...>``, ``!aie.objectfifosubview<...>``)."""
        tok = item.type if isinstance(item, Typed) else item
        if isinstance(tok, Token) and tok.kind == "angled":
            if tok.text in ("!aie.objectfifo", "!aie.objectfifosubview"):
                inner = tok.inner.strip()
                if inner.startswith("memref<") and inner.endswith(">"):
                    return self._shape(op, inner[7:-1])
            if tok.text == "memref":
                return self._shape(op, tok.inner)
        raise self.fail(op, f"expected a memref type such as memref<16xi32>, got '{tok}'")

    def _shape(self, op: Op, inner: str) -> MemRefType:
        m = _SHAPE.match(inner)
        if m is None:
            raise self.fail(op, f"cannot read the memref type memref<{inner}>; write it as memref<16x16xi32>")
        dims = tuple(int(d) for d in m.group(1).split("x") if d)
        if "," in inner and not re.search(r",\s*\d+\s*(?::\s*i32)?\s*$", inner):
            raise self.fail(op, f"memref<{inner}> has a layout npusim does not model; use a plain row-major memref")
        return MemRefType(dims, m.group(2))

    def int_of(self, op: Op, item: Item | Any, what: str) -> int:
        if isinstance(item, Typed):
            item = item.value
        if isinstance(item, bool):
            return int(item)
        if isinstance(item, int):
            return item
        if isinstance(item, Token) and item.kind == "int":
            return integer(item.text)
        raise self.fail(op, f"expected an integer for {what}, got '{item}'")

    def group(self, op: Op, items: list[Item], i: int, open_: str, what: str) -> Group:
        if i < len(items) and isinstance(items[i], Group) and items[i].open == open_:  # type: ignore[union-attr]
            return items[i]  # type: ignore[return-value]
        got = str(items[i]) if i < len(items) else "nothing"
        raise self.fail(op, f"expected '{open_}' with {what}, got {got}")

    def parens(self, op: Op, need: int = 1) -> list[list[Item]]:
        """The comma-separated parts of the op's first ``( ... )`` group; at least ``need`` of
        them, none of those empty."""
        for it in op.items:
            if isinstance(it, Group) and it.open == "(":
                parts = it.parts()
                if len(parts) < need or not all(parts[:need]):
                    raise self.fail(op, f"expected at least {need} comma-separated operand(s) in its parentheses")
                return parts
        raise self.fail(op, "expected its operands in parentheses")

    def region(self, op: Op) -> Region:
        if not op.regions:
            raise self.fail(op, "expected a region { ... }")
        return op.regions[0]

    def symbol(self, op: Op, items: list[Item] | None = None) -> str:
        for it in op.items if items is None else items:
            if isinstance(it, Token) and it.kind == "symbol":
                return it.text[1:].strip('"')
        for key in ("sym_name", "symbol", "metadata"):
            v = op.attrs.get(key)
            if isinstance(v, Sym):
                return v.name
            if isinstance(v, str):
                return v
        raise self.fail(op, "expected a symbol name @name")

    def value(self, op: Op, part: list[Item], what: str) -> str:
        for it in part:
            if isinstance(it, Token) and it.kind == "value":
                return it.text
        raise self.fail(op, f"expected an SSA value (%name) for {what}, got '{' '.join(map(str, part))}'")

    def word(self, op: Op, part: list[Item], what: str, choices: tuple[str, ...]) -> str:
        for it in part:
            if isinstance(it, Token) and it.kind in ("bare", "string"):
                text = it.text.strip('"')
                if text in choices:
                    return text
        raise self.fail(op, f"expected {what} ({' or '.join(choices)}), got '{' '.join(map(str, part))}'")


def layouts(group: Group | list[Any] | Token | None) -> list[dict[str, int]]:
    """``[<size = 16, stride = 1>, ...]`` (as written, outermost first) as dicts of their fields;
    also from ``#aie<bd_dim_layout_array[...]>`` and pad layouts."""
    if group is None:
        return []
    if isinstance(group, Token):
        return [{k: int(v) for k, v in re.findall(r"(\w+)\s*=\s*(-?\d+)", part)}
                for part in re.findall(r"<([^<>]*)>", group.inner)]
    items = group.items if isinstance(group, Group) else group
    out = []
    for it in items:
        if isinstance(it, Group) and it.open == "<":
            fields: dict[str, int] = {}
            for part in it.parts():
                toks = [t for t in part if isinstance(t, Token)]
                if len(toks) == 3 and toks[1].text == "=" and toks[2].kind == "int":
                    fields[toks[0].text] = integer(toks[2].text)
            out.append(fields)
    return out
