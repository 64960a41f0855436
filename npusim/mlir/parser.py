"""A recursive-descent parser of MLIR's textual form, for the subset mlir-aie designs use.

It reads both forms MLIR prints: the generic form (``%0 = "aie.tile"() {col = 0 : i32, row = 2 :
i32} : () -> index``, what ``--mlir-print-op-generic`` writes) into operands, attributes and
regions; and each op's custom form (``%0 = aie.tile(0, 2)``) into the tokens and bracketed
groups after the op's name, which :mod:`npusim.mlir.syntax` reads op by op.

Where a custom form ends: MLIR prints one op a line, so an op ends at the end of a line with no
bracket open, unless the line ends with ``,``, ``=``, ``:`` or ``->`` or the next line starts with
``:``, ``->``, ``attributes`` or an attribute dictionary (printers wrap long ops there). A ``{``
opens a region when what follows is an op, a block label or ``}`` closing a one-op region, and an
attribute dictionary when it is ``name =``, ``name,`` or ``name}`` (attribute names have no dots,
op names always do).
"""
from __future__ import annotations

from typing import Any

from .errors import MlirError
from .ir import Block, Group, Item, Op, Region, Sym, Typed
from .lexer import Token, integer, tokenize

_CLOSE = {"(": ")", "[": "]", "<": ">", "{": "}"}
_CONTINUES = {",", "=", ":", "->"}
_LEADS = {":", "->", "attributes"}


class Parser:
    def __init__(self, text: str, source: str) -> None:
        self.toks = tokenize(text, source)
        self.pos = 0
        self.src = source

    # -- tokens ---------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token | None:
        i = self.pos + k
        return self.toks[i] if i < len(self.toks) else None

    def line(self) -> int:
        tok = self.peek() or (self.toks[-1] if self.toks else None)
        return tok.line if tok else 1

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise MlirError(self.src, self.line(), "the file ends inside an op or region; a bracket is not closed")
        self.pos += 1
        return tok

    def at(self, text: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.text == text and tok.kind in ("punct", "arrow", "bare")

    def expect(self, text: str, what: str) -> Token:
        tok = self.peek()
        if tok is None or tok.text != text:
            got = f"'{tok}'" if tok else "the end of the file"
            raise MlirError(self.src, self.line(), f"expected '{text}' {what}, got {got}")
        return self.next()

    def fail(self, what: str) -> MlirError:
        return MlirError(self.src, self.line(), what)

    # -- structure ------------------------------------------------------------------------
    def parse_file(self) -> list[Op]:
        ops = []
        while self.peek() is not None:
            if self.peek().kind == "dialect" and self.at("=", 1):  # type: ignore[union-attr]
                self.pos += 2  # an alias definition (#loc = ..., #map = ...): its value is not needed
                self.attr_value()
                continue
            ops.append(self.op())
        return ops

    def region(self) -> Region:
        line = self.expect("{", "to open a region").line
        blocks = [Block("", [])]
        while not self.at("}"):
            tok = self.peek()
            if tok is None:
                raise MlirError(self.src, line, "this region is never closed with '}'")
            if tok.kind == "label":
                blocks.append(self.block_head())
            else:
                blocks[-1].ops.append(self.op())
        self.next()
        if not blocks[0].ops and len(blocks) > 1 and not blocks[0].label:
            blocks.pop(0)
        return Region(blocks, line)

    def block_head(self) -> Block:
        label = self.next().text
        args: list[tuple[str, str]] = []
        if self.at("("):
            self.next()
            while not self.at(")"):
                name = self.next().text
                self.expect(":", "after a block argument")
                args.append((name, str(self.next())))
                if self.at(","):
                    self.next()
            self.next()
        self.expect(":", f"after the block label {label}")
        return Block(label, args)

    def op(self) -> Op:
        results: list[str] = []
        tok = self.peek()
        if tok is not None and tok.kind == "value":
            while True:
                results.append(self.next().text)
                if self.at(","):
                    self.next()
                    continue
                self.expect("=", "after the results of an op")
                break
        tok = self.next()
        if tok.kind == "string":
            return self.generic(tok.text[1:-1], results, tok.line)
        if tok.kind not in ("bare", "angled"):
            raise MlirError(self.src, tok.line, f"expected an op, got '{tok}'")
        op = Op(tok.text, results, tok.line)
        if tok.kind == "angled":
            op.items.append(Token("angled", "", tok.line, tok.inner))
        self.custom(op)
        return op

    def custom(self, op: Op) -> None:
        last: Token | None = None
        while True:
            tok = self.peek()
            if tok is None or tok.text == "}":
                return
            last_line = last.line if last else op.line
            if tok.line != last_line and not (last is not None and last.text in _CONTINUES) \
                    and tok.text not in _LEADS and not (tok.text == "{" and self.is_attr_dict()):
                return
            if tok.text == "loc" and self.at("(", 1):
                self.next()
                self.group()
                continue
            item = self.item()
            op.items.append(item)
            last = self.toks[self.pos - 1]
            if isinstance(item, Region):
                op.regions.append(item)
            elif isinstance(item, dict):
                op.attrs.update(item)

    def item(self) -> Item:
        tok = self.peek()
        assert tok is not None
        if tok.text == "{" and tok.kind == "punct":
            if self.is_attr_dict():
                return self.attr_dict()
            return self.group() if self.is_value_list() else self.region()
        if tok.text in ("(", "[", "<") and tok.kind == "punct":
            return self.group()
        return self.next()

    def group(self) -> Group:
        open_tok = self.next()
        close = _CLOSE[open_tok.text]
        items: list[Item] = []
        while not self.at(close):
            if self.peek() is None:
                raise MlirError(self.src, open_tok.line, f"'{open_tok.text}' is never closed with '{close}'")
            items.append(self.item())
        self.next()
        return Group(open_tok.text, tuple(items), open_tok.line)

    def is_value_list(self) -> bool:
        """``{%a, %b}`` (a list of values, such as an ObjectFIFO's consumer tiles), not a region
        whose first op has results (``{ %0 = ...``)."""
        k = 1
        while (tok := self.peek(k)) is not None and (tok.kind == "value" or tok.text == ","):
            k += 1
        return k > 1 and (tok is None or tok.text != "=")

    def is_attr_dict(self) -> bool:
        first, second = self.peek(1), self.peek(2)
        if first is None:
            return False
        if first.text == "}":
            return True
        if first.kind == "string" and second is not None and second.text == "=":
            return True
        return first.kind == "bare" and "." not in first.text and second is not None \
            and second.text in ("=", ",", "}")

    # -- attributes -----------------------------------------------------------------------
    def attr_dict(self) -> dict[str, Any]:
        self.expect("{", "to open an attribute dictionary")
        out: dict[str, Any] = {}
        while not self.at("}"):
            key = self.next()
            name = key.text[1:-1] if key.kind == "string" else key.text
            if self.at("="):
                self.next()
                out[name] = self.attr_value()
            else:
                out[name] = True  # a unit attribute
            if self.at(","):
                self.next()
            elif not self.at("}"):
                raise self.fail(f"expected ',' or '}}' in the attribute dictionary after '{name}'")
        self.next()
        return out

    def attr_value(self) -> Any:
        tok = self.next()
        value: Any
        if tok.kind == "int":
            value = integer(tok.text)
        elif tok.kind == "float":
            value = float(tok.text)
        elif tok.kind == "string":
            value = tok.text[1:-1]
        elif tok.kind == "symbol":
            value = Sym(tok.text[1:].strip('"'))
        elif tok.text in ("true", "false") and tok.kind == "bare":
            value = tok.text == "true"
        elif tok.text == "[":
            value = []
            while not self.at("]"):
                value.append(self.attr_value())
                if self.at(","):
                    self.next()
            self.next()
        elif tok.text in ("(", "<", "{"):
            self.pos -= 1
            value = self.attr_dict() if tok.text == "{" else self.group()
        else:
            value = tok
        if self.at(":") and tok.kind in ("int", "float", "bare", "angled") and not isinstance(value, Token):
            self.next()
            value = Typed(value, self.type_())
        elif self.at(":") and tok.kind == "angled" and tok.text == "dense":
            self.next()
            value = Typed(value, self.type_())
        return value

    def type_(self) -> Any:
        if self.at("("):
            inputs = self.group()
            if self.at("->"):
                self.next()
                return (inputs, self.type_())
            return inputs
        return self.next()

    # -- the generic form -----------------------------------------------------------------
    def generic(self, name: str, results: list[str], line: int) -> Op:
        op = Op(name, results, line, generic=True)
        self.expect("(", f"after the generic op name \"{name}\"")
        while not self.at(")"):
            tok = self.next()
            if tok.kind == "value":
                op.operands.append(tok.text)
            elif tok.text != ",":
                raise MlirError(self.src, tok.line, f"expected an SSA value among the operands of \"{name}\", got '{tok}'")
        self.next()
        if self.at("["):
            op.successors = [str(t) for t in self.group().items if isinstance(t, Token) and t.kind == "label"]
        if self.at("<") and self.at("{", 1):
            self.next()
            op.attrs.update(self.attr_dict())
            self.expect(">", "to close the properties")
        if self.at("(") and self.at("{", 1):
            self.next()
            while not self.at(")"):
                op.regions.append(self.region())
                if self.at(","):
                    self.next()
            self.next()
        if self.at("{"):
            op.attrs.update(self.attr_dict())
        self.expect(":", f"before the type of the generic op \"{name}\"")
        op.items = [Token("punct", ":", line), Typed(None, self.type_())]  # type: ignore[list-item]
        if self.at("loc") and self.at("(", 1):
            self.next()
            self.group()
        return op


def parse(text: str, source: str = "<mlir>") -> list[Op]:
    """The top-level ops of an MLIR file (a ``module`` op, usually)."""
    return Parser(text, source).parse_file()
