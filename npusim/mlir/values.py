"""What an SSA value of core code is while the importer lowers it.

A value is known at import time (:class:`Known`: constants and what folds from them, as a
compiler folds them, costing nothing), lives in a core register (:class:`Reg`: loads, induction
variables and what is computed from them), is a buffer view (:class:`View`: an ``aie.buffer`` or
an ObjectFIFO element) or an acquired ObjectFIFO subview (:class:`Subview`).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..numerics import Array


@dataclass(frozen=True)
class Known:
    value: Array
    type: str


@dataclass(frozen=True)
class Reg:
    name: str
    type: str


@dataclass(frozen=True)
class View:
    buffer: str
    shape: tuple[int, ...]
    elem: str
    offset: int = 0


@dataclass(frozen=True)
class Subview:
    fifo: str
    port: str
    views: tuple[View, ...]


Value = Known | Reg | View | Subview


def stmt_type(text: str) -> str:
    """A statement type from an MLIR type: ``i32`` as is, ``vector<4x8xi32>`` as ``32xi32``."""
    if text.startswith("vector<") and text.endswith(">"):
        parts = text[7:-1].split("x")
        lanes = 1
        for p in parts[:-1]:
            lanes *= int(p)
        return f"{lanes}x{parts[-1]}"
    return text
