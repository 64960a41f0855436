"""``arith``, ``memref`` and ``vector`` ops of core code to statements (or folded constants).

An op whose operands are all known at import time folds (computed with :mod:`npusim.scalar_math`,
the interpreter's own arithmetic); any other becomes a statement writing a register.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import scalar_math as sm
from ..isa import Stmt
from ..isa.core_code import ARITH, CASTS, CMPF, CMPI, split_type
from .ir import Group, Item, Op, Typed
from .lexer import Token, integer
from .values import Known, Reg, View, stmt_type

if TYPE_CHECKING:
    from .core_lower import CoreLowering

MEMORY_OPS = frozenset({"memref.load", "memref.store", "vector.load", "vector.store", "vector.broadcast"})


def _types(op: Op) -> list[str]:
    """The op's types after ``:`` as statement types (``i32``, ``16xi32``)."""
    out = []
    for it in op.type_items():
        if isinstance(it, Token) and it.kind in ("bare", "angled"):
            out.append(stmt_type(str(it)))
        elif isinstance(it, Typed) and isinstance(it.type, tuple):
            out += [stmt_type(str(t)) for t in it.type[1].items if isinstance(t, Token) and t.text != ","] \
                if isinstance(it.type[1], Group) else [stmt_type(str(it.type[1]))]
    return out


def _operands(op: Op) -> list[str]:
    if op.generic:
        return op.operands
    return [it.text for it in op.head() if isinstance(it, Token) and it.kind == "value"]


def constant(low: "CoreLowering", op: Op) -> None:
    if op.generic:
        v = op.attrs.get("value")
    else:
        v = op.head()[0] if op.head() else None
    if isinstance(v, Token) and v.text in ("true", "false"):
        low.env[op.result] = Known(sm.value("i1", v.text == "true"), "i1")
        return
    ty = _types(op)[0] if _types(op) else (str(v.type) if isinstance(v, Typed) else "")
    if isinstance(v, Typed):
        v = v.value
    if isinstance(v, Token) and v.kind == "angled" and v.text == "dense":
        lanes, elem = split_type(ty)
        text = v.inner.strip().strip("[]")
        try:
            nums = [float(x) if "." in x or "e" in x else integer(x) for x in text.replace(" ", "").split(",") if x]
        except ValueError:
            raise low.rd.fail(op, f"cannot read the constant dense<{v.inner}>") from None
        if not nums:
            raise low.rd.fail(op, "an empty dense constant")
        low.env[op.result] = Known(sm.value(elem, nums if len(nums) > 1 else nums[0], lanes), ty)
        return
    if isinstance(v, Token) and v.kind in ("int", "float"):
        v = integer(v.text) if v.kind == "int" else float(v.text)
    if not isinstance(v, (int, float)) or not ty:
        raise low.rd.fail(op, "expected a constant such as arith.constant 1 : i32")
    lanes, elem = split_type(ty)
    if not sm.known_type(elem):
        raise low.rd.fail(op, f"type {ty} is not modelled in core code; use i1, i8, i16, i32, i64, index, bf16 or f32")
    low.env[op.result] = Known(sm.value(elem, v, lanes), ty)


def arith(low: "CoreLowering", op: Op) -> None:
    """An ``arith`` op: fold it or emit its statement."""
    fn = op.name.split(".", 1)[1]
    args = _operands(op)
    types = _types(op)
    src_type = ""
    if fn in ("cmpi", "cmpf"):
        pred = _predicate(op)
        if pred not in (CMPI if fn == "cmpi" else CMPF):
            raise low.rd.fail(op, f"predicate '{pred}' is not modelled")
        fn = f"{fn}:{pred}"
        src_type = types[0] if types else ""
        lanes = split_type(src_type)[0]
        ty = f"{lanes}xi1" if lanes > 1 else "i1"
    elif fn in ARITH and fn in ("extsi", "extui", "trunci", "index_cast", "sitofp", "uitofp", "fptosi", "fptoui",
                                "extf", "truncf", "index_castui"):
        src_type, ty = types[0], types[-1]
    elif fn == "select":
        ty = types[-1]
    elif fn in ARITH:
        ty = types[0] if types else ""
    else:
        raise low.rd.fail(op, f"arith op not modelled in core code; npusim has: {', '.join(sorted(ARITH))}, "
                          "cmpi, cmpf, constant")
    arity = 3 if fn == "select" else 1 if fn in CASTS or fn == "negf" else 2
    if len(args) != arity:
        raise low.rd.fail(op, f"takes {arity} operand(s), got {len(args)}")
    vals = [low.get(op, a) for a in args]
    if all(isinstance(v, Known) for v in vals):
        arrays = [v.value for v in vals if isinstance(v, Known)]
        result = sm.apply(fn, split_type(ty)[1] if not fn.startswith("cmp") else "i1", arrays)
        low.env[op.result] = Known(np.asarray(result).reshape(-1), ty)
        return
    low.emit(Stmt(fn, ty, (low.reg(op.result, ty),), tuple(low.operand(op, a, src_type or ty) for a in args),
                  src_type=src_type if src_type != ty else ""))


def _predicate(op: Op) -> str:
    if op.generic:
        pred = op.attrs.get("predicate")
        return {0: "eq", 1: "ne", 2: "slt", 3: "sle", 4: "sgt", 5: "sge", 6: "ult", 7: "ule", 8: "ugt",
                9: "uge"}.get(pred.value if isinstance(pred, Typed) else -1, "?")
    first = op.head()[0] if op.head() else None
    return first.text if isinstance(first, Token) else "?"


def memory(low: "CoreLowering", op: Op) -> None:
    """``memref.load/store``, ``vector.load/store/broadcast``."""
    head = op.head()
    values = [it.text for it in head if isinstance(it, Token) and it.kind == "value"]
    index_group = next((it for it in head if isinstance(it, Group) and it.open == "["), None)
    types = _types(op)
    want = 2 if op.name.endswith("store") else 1
    if len(values) != want or not types:
        raise low.rd.fail(op, f"expected {want} SSA operand(s) and a type, e.g. memref.load %buf[%i] : memref<16xi32>")
    if op.name == "vector.broadcast":
        ty = types[-1]
        low.emit(Stmt("broadcast", ty, (low.reg(op.result, ty),), (low.operand(op, values[0], split_type(ty)[1]),)))
        return
    store = op.name.endswith("store")
    view = low.get(op, values[1] if store else values[0])
    if not isinstance(view, View):
        raise low.rd.fail(op, f"{values[1] if store else values[0]} is not a buffer the core can address")
    indices = [it.text for it in (index_group.items if index_group else ()) if isinstance(it, Token)
               and it.kind in ("value", "int")]
    if len(indices) != len(view.shape):
        raise low.rd.fail(op, f"indexes a {len(view.shape)}-d memref with {len(indices)} indices")
    idx = tuple(low.operand(op, i, "index") if i.startswith("%") else int(i) for i in indices)
    vector = op.name.startswith("vector.")
    ty = types[-1] if vector else view.elem
    fn = ("vstore" if store else "vload") if vector else ("store" if store else "load")
    if store:
        low.emit(Stmt(fn, ty, (), (low.operand(op, values[0], ty),) + idx, buffer=view.buffer, shape=view.shape,
                      offset=view.offset))
    else:
        low.emit(Stmt(fn, ty, (low.reg(op.result, ty),), idx, buffer=view.buffer, shape=view.shape,
                      offset=view.offset))


def reshape(low: "CoreLowering", op: Op) -> None:
    """``memref.collapse_shape`` / ``expand_shape`` / ``reinterpret_cast`` to a new shape: the same
    bytes seen with the result type's shape."""
    src = low.get(op, _operands(op)[0])
    if not isinstance(src, View):
        raise low.rd.fail(op, "reshapes something that is not a buffer")
    ty = low.rd.memref(op, op.type_items()[-1] if op.type_items() else None)
    low.env[op.result] = View(src.buffer, ty.shape, ty.elem, src.offset)


def items_mention(items: list[Item], name: str) -> bool:
    """Whether ``name`` (an SSA value) appears among ``items`` (recursively)."""
    for it in items:
        if isinstance(it, Token) and it.text == name:
            return True
        if isinstance(it, Group) and items_mention(list(it.items), name):
            return True
    return False
