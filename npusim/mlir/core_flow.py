"""``scf.for`` and ``scf.if`` of core code (rules in :mod:`npusim.mlir.core_lower`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..isa import ENDLESS, Acquire, Instruction, Loop, Stmt
from .core_ops import _types, items_mention
from .ir import Group, Item, Op
from .lexer import Token
from .values import Known, Reg

if TYPE_CHECKING:
    from .core_lower import CoreLowering


def _values(items: list[Item] | tuple[Item, ...]) -> list[str]:
    return [it.text for it in items if isinstance(it, Token) and it.kind == "value"]


def _for_parts(low: "CoreLowering", op: Op) -> tuple[str, list[str], list[tuple[str, str]], str]:
    """(induction variable, [lb, ub, step], [(carried, initial)], carried type) of an ``scf.for``."""
    if op.generic:
        block = op.regions[0].blocks[0]
        names = [a for a, _ in block.args]
        return names[0], op.operands[:3], list(zip(names[1:], op.operands[3:])), \
            (block.args[1][1] if len(block.args) > 1 else "index")
    head = op.head()
    vals = _values(head[:7])
    if len(vals) < 4:
        raise low.rd.fail(op, "expected scf.for %iv = %lb to %ub step %step { ... }")
    carried: list[tuple[str, str]] = []
    for it in head[7:]:
        if isinstance(it, Group) and it.open == "(":
            carried = [(p[0].text, p[2].text) for p in it.parts()
                       if len(p) >= 3 and isinstance(p[0], Token) and isinstance(p[2], Token)]
            break
    types = [str(it) for it in head if isinstance(it, Token) and it.kind == "bare" and it.text[0] in "ibf"]
    return vals[0], vals[1:4], carried, (types[-1] if types and carried else "index")


def _yield_args(op: Op) -> list[str]:
    ops = op.regions[0].blocks[-1].ops if op.regions else []
    last = ops[-1] if ops and ops[-1].name == "scf.yield" else None
    if last is None:
        return []
    return last.operands if last.generic else _values(last.head())


def _body(op: Op) -> list[Op]:
    return [o for o in op.regions[0].blocks[0].ops if o.name != "scf.yield"]


def lower_for(low: "CoreLowering", op: Op) -> None:
    if len(op.regions) != 1 or not op.regions[0].blocks:
        raise low.rd.fail(op, "expected scf.for %iv = %lb to %ub step %step { body }")
    iv, (lb_n, ub_n, step_n), carried, cty = _for_parts(low, op)
    lb, ub, step = (low.known_int(op, n) for n in (lb_n, ub_n, step_n))
    if step <= 0:
        raise low.rd.fail(op, f"step {step}: a loop steps forward")
    trip = max(0, -(-(ub - lb) // step))
    inits = [low.operand(op, init, cty) for _, init in carried]
    regs = [low.reg(c, cty) for c, _ in carried]
    if not low.has_sync(_body(op)):
        ivreg = low.reg(iv, "index")
        saved, low.code = low.code, []
        low.depth += 1
        low.walk(_body(op))
        body = low.code + [Stmt("yield", cty, (), tuple(low.operand(op, y, cty) for y in _yield_args(op)))]
        low.depth -= 1
        low.code = saved
        low.emit(Stmt("for", cty, (ivreg, *regs), (lb, ub, step, *inits), body=tuple(body)))
    else:
        _sync_loop(low, op, iv, (lb, step, trip), regs, inits, cty)
    for res, reg in zip(op.results, regs):
        low.env[low.scope + res] = Reg(reg, cty)


def _sync_loop(low: "CoreLowering", op: Op, iv: str, bounds: tuple[int, int, int], regs: list[str],
               inits: list[int | float | str], cty: str) -> None:
    lb, step, trip = bounds
    used = any(items_mention(o.items, iv) or _mentions_in_regions(o, iv) for o in _body(op))
    ivreg = low.reg(iv, "index") if used else ""
    if used:
        low.emit(Stmt("copy", "index", (ivreg,), (lb,)))
    if regs:
        low.emit(Stmt("copy", cty, tuple(regs), tuple(inits)))
    if not used:
        low.env[low.scope + iv] = Known(np.array([lb]), "index")

    def one_copy() -> None:
        low.walk(_body(op))
        if regs:
            low.emit(Stmt("copy", cty, tuple(regs), tuple(low.operand(op, y, cty) for y in _yield_args(op))))
        if used:
            low.emit(Stmt("addi", "index", (ivreg,), (ivreg, step)))

    held, head = dict(low.held), dict(low.head)
    saved_out, saved_code = list(low.out), list(low.code)
    one_copy()
    factor = low.rotation_factor(head, held, op)
    low.out, low.code, low.held, low.head = saved_out, saved_code, held, dict(head)
    endless = trip >= ENDLESS
    factor = factor if endless else min(factor, max(trip, 1))
    main, rem = (trip // factor, 0) if endless else divmod(trip, factor)
    if main:
        low.flush()
        outer, low.out = low.out, []
        for _ in range(factor):
            one_copy()
        low.flush()
        body, low.out = low.out, outer
        if endless and not _acquires(body):
            raise low.rd.fail(op, "an endless loop must acquire a lock in every iteration (it would spin forever); "
                              "give it a finite trip count")
        if main == 1:
            low.out.extend(body)
        else:
            low.out.append(Loop("loop", main, tuple(body)))
    for _ in range(rem):
        one_copy()


def _acquires(body: list[Instruction] | tuple[Instruction, ...]) -> bool:
    return any(isinstance(i, Acquire) or (isinstance(i, Loop) and _acquires(i.body)) for i in body)


def _mentions_in_regions(op: Op, name: str) -> bool:
    return any(items_mention(o.items, name) or name in o.operands or _mentions_in_regions(o, name)
               for r in op.regions for b in r.blocks for o in b.ops)


def lower_if(low: "CoreLowering", op: Op) -> None:
    if not op.regions or not (op.operands if op.generic else _values(op.head())):
        raise low.rd.fail(op, "expected scf.if %condition { then } else { otherwise }")
    cond_name = op.operands[0] if op.generic else _values(op.head())[0]
    cond = low.get(op, cond_name)
    then_ops = [o for o in op.regions[0].ops if o.name != "scf.yield"] if op.regions else []
    else_ops = [o for o in op.regions[1].ops if o.name != "scf.yield"] if len(op.regions) > 1 else []
    yields = [_yield_args_of(r) for r in op.regions]
    if isinstance(cond, Known):
        taken = 0 if bool(cond.value[0]) else 1
        low.walk(then_ops if taken == 0 else else_ops)
        if taken < len(yields):
            for res, y in zip(op.results, yields[taken]):
                low.env[low.scope + res] = low.get(op, y)
        return
    if low.has_sync(then_ops + else_ops):
        raise low.rd.fail(op, "an scf.if on data (known only while running) may not hold lock operations or kernel "
                          "calls: their timing would depend on the data")
    types = _types(op) or [str(it) for it in op.head() if isinstance(it, Token) and it.kind == "bare"
                           and it.text[:1] in "ibf" and it.text != "if"]
    ty = types[0] if types else ""
    dst = tuple(low.reg(r, ty) for r in op.results)
    branches = []
    for ops, ys in zip((then_ops, else_ops), yields + [[]] * (2 - len(yields))):
        saved, low.code = low.code, []
        low.depth += 1
        low.walk(ops)
        low.depth -= 1
        body = low.code + [Stmt("yield", ty, (), tuple(low.operand(op, y, ty) for y in ys))]
        low.code = saved
        branches.append(tuple(body) if ops or ys else ())
    low.emit(Stmt("if", ty, dst, (low.operand(op, cond_name, "i1"),), body=branches[0], orelse=branches[1]))


def _yield_args_of(region: object) -> list[str]:
    ops = region.ops  # type: ignore[attr-defined]
    last = ops[-1] if ops and ops[-1].name == "scf.yield" else None
    if last is None:
        return []
    return last.operands if last.generic else _values(last.head())
