"""Tokens of MLIR's textual form, each with its line (for errors that name the line).

What the parser needs from MLIR's lexical grammar (mlir.llvm.org/docs/LangRef, "Lexical
Structure"): SSA values ``%name`` (``%x#1`` for one result of several), symbols ``@name`` (or
``@"quoted"``), block labels ``^bb1``, bare identifiers (``aie.tile``, ``i32``, ``DMA``),
integers (decimal and hex), floats, strings, ``//`` comments and punctuation. A bare identifier,
``!dialect.type`` or ``#dialect.attr`` written straight before ``<`` (``memref<16x16xi32>``,
``!aie.objectfifo<memref<16xi32>>``, ``dense<[1, 2]>``) is one token carrying the text between
the brackets: the shapes inside (``16x16xi32``) are not MLIR tokens, and the parser reads them
with :mod:`npusim.mlir.types` when it needs them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MlirError

_PATTERNS = [
    ("ws", r"[ \t\r]+"),
    ("nl", r"\n"),
    ("comment", r"//[^\n]*"),
    ("value", r"%[A-Za-z0-9_$.\-]+(?:#\d+)?"),
    ("symbol", r"@(?:[A-Za-z_$.][\w$.\-]*|\"(?:[^\"\\]|\\.)*\")"),
    ("label", r"\^[A-Za-z0-9_$.\-]+"),
    ("angled", r"[!#]?[A-Za-z_][\w$.]*<"),
    ("dialect", r"[!#][A-Za-z_][\w$.]*"),
    ("float", r"-?\d+\.\d*(?:[eE][+-]?\d+)?|-?\d+[eE][+-]?\d+"),
    ("int", r"-?0x[0-9A-Fa-f]+|-?\d+"),
    ("bare", r"[A-Za-z_][\w$.]*"),
    ("string", r"\"(?:[^\"\\\n]|\\.)*\""),
    ("arrow", r"->"),
    ("punct", r"[()\[\]{},:=<>?*+\-|]"),
]
_TOKEN = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _PATTERNS))


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its ``kind`` (a name of ``_PATTERNS``), its text and its 1-based line.

    An ``angled`` token's ``text`` is the name before ``<`` and ``inner`` the text between the
    brackets."""

    kind: str
    text: str
    line: int
    inner: str = ""

    def __str__(self) -> str:
        return f"{self.text}<{self.inner}>" if self.kind == "angled" else self.text


def integer(text: str) -> int:
    """The value of an integer token (decimal, or hex with ``0x``; leading zeros are decimal)."""
    return int(text, 16) if text.lstrip("-").lower().startswith("0x") else int(text, 10)


def _angle_end(src: str, start: int, line: int, source: str) -> int:
    """Index just past the ``>`` that closes the ``<`` before ``start``."""
    depth, i, n = 1, start, len(src)
    while i < n:
        c = src[i]
        if c == '"':
            close = src.find('"', i + 1)
            while close != -1 and src[close - 1] == "\\":
                close = src.find('"', close + 1)
            i = close if close != -1 else n
        elif c == "-" and src.startswith("->", i):
            i += 1
        elif c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise MlirError(source, line, "a '<' is never closed with '>'; close the type or attribute")


def tokenize(src: str, source: str = "<mlir>") -> list[Token]:
    """Split ``src`` into tokens; raise :class:`MlirError` at the first character that starts none."""
    out: list[Token] = []
    pos, line, n = 0, 1, len(src)
    while pos < n:
        m = _TOKEN.match(src, pos)
        if m is None:
            raise MlirError(source, line, f"unexpected character {src[pos]!r}; this is not MLIR text")
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "angled":
            end = _angle_end(src, m.end(), line, source)
            inner = src[m.end():end - 1]
            out.append(Token(kind, text[:-1], line, inner))
            line += inner.count("\n")
            pos = end
            continue
        if kind == "nl":
            line += 1
        elif kind not in ("ws", "comment"):
            out.append(Token(kind, text, line))
        pos = m.end()
    return out
