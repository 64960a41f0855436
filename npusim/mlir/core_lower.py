"""A core's body (``aie.core``) to its instruction stream.

Lock operations (``aie.objectfifo.acquire/release``, ``aie.use_lock``) become ``acquire`` and
``release``; calls of external kernels become kernel instructions (:mod:`npusim.mlir.kernels`);
everything between them becomes ``code`` blocks. An ``scf.for`` that holds lock operations or
kernel calls becomes a ``loop`` (never unrolled beyond what buffer rotation needs: as mlir-aie's
objectfifo-stateful-transform unrolls such loops so that each ObjectFIFO element access names one
buffer, the body is repeated the fewest times after which every ObjectFIFO is back at its first
buffer, the rest of the trip count following as straight-line copies); one without them is a
``for`` statement inside a block. Loop bounds must be constants; an ``scf.if`` whose condition is
known at import time is resolved then, one depending on data becomes an ``if`` statement (costing
its longer branch in both modes) and may not hold lock operations or kernel calls. Functions the
design defines are inlined.

ObjectFIFO accesses follow mlir-aie's rules: an acquire of ``n`` elements takes only those not
already held; ``subview.access i`` is the ``i``-th held element, oldest first; a release of ``n``
gives back the oldest ``n``. A loop body must release what it acquires (as mlir-aie requires).
"""
from __future__ import annotations

from math import gcd
from typing import TYPE_CHECKING

import numpy as np

from ..isa import ENDLESS, Acquire, Code, Instruction, Loop, Release, Stmt
from ..isa.core_code import split_type
from . import core_ops
from .ir import Group, Op
from .lexer import Token
from .values import Known, Reg, Subview, Value, View

if TYPE_CHECKING:
    from .importer import Context

_SYNC = ("aie.objectfifo.acquire", "aie.objectfifo.release", "aie.use_lock", "func.call")


class CoreLowering:
    def __init__(self, ctx: "Context", tile: tuple[int, int], core: Op) -> None:
        self.ctx, self.rd, self.tile, self.core = ctx, ctx.rd, tile, core
        self.env: dict[str, Value] = {v: View(n, t.shape, t.elem) for v, n in ctx.phys.values.items()
                                      if (t := ctx.phys.types.get(n)) is not None}
        self.held: dict[tuple[str, str], int] = {}
        self.head: dict[tuple[str, str], int] = {}
        self.out: list[Instruction] = []
        self.code: list[Stmt] = []
        self.scope = ""
        self.depth = 0  # inside a block's for/if: no lock operations or kernel calls

    # -- values -------------------------------------------------------------------------------
    def get(self, op: Op, name: str) -> Value:
        key = self.scope + name
        if key not in self.env:
            raise self.rd.fail(op, f"uses {name}, which is not defined before it in this core")
        return self.env[key]

    def reg(self, ssa: str, ty: str) -> str:
        name = self.scope + ssa
        self.env[name] = Reg(name, ty)
        return name

    def operand(self, op: Op, name: str, ty: str) -> int | float | str:
        v = self.get(op, name)
        if isinstance(v, Reg):
            return v.name
        if isinstance(v, Known):
            if v.value.size == 1:
                item = v.value.reshape(-1)[0].item()
                return float(item) if isinstance(item, float) else int(item)
            if np.all(v.value == v.value[0]):
                reg = self.scope + name + ".splat"
                self.emit(Stmt("broadcast", ty, (reg,), (v.value[0].item(),)))
                return reg
        raise self.rd.fail(op, f"{name} cannot be an operand here (it is a buffer or a non-splat constant vector)")

    def emit(self, stmt: Stmt) -> None:
        self.code.append(stmt)

    def flush(self) -> None:
        if self.code:
            self.out.append(Code("code", tuple(self.code), f"core {self.tile}"))
            self.code = []

    def instr(self, ins: Instruction) -> None:
        if self.depth:
            raise self.rd.fail(self.core, "a lock operation or kernel call inside a loop with a non-constant trip "
                               "count or inside an if on data is not modelled; restructure the core code")
        self.flush()
        self.out.append(ins)

    # -- walking ------------------------------------------------------------------------------
    def lower(self) -> tuple[Instruction, ...]:
        self.walk(self.rd.region(self.core).ops)
        self.flush()
        return tuple(self.out)

    def walk(self, ops: list[Op]) -> None:
        for op in ops:
            self.op(op)

    def op(self, op: Op) -> None:
        name = op.name
        if name == "arith.constant":
            core_ops.constant(self, op)
        elif name.startswith("arith."):
            core_ops.arith(self, op)
        elif name in core_ops.MEMORY_OPS:
            core_ops.memory(self, op)
        elif name in ("memref.collapse_shape", "memref.expand_shape", "memref.reinterpret_cast"):
            core_ops.reshape(self, op)
        elif name == "scf.for":
            self.loop(op)
        elif name == "scf.if":
            self.branch(op)
        elif name in ("aie.end", "scf.yield", "func.return"):
            return
        elif name == "aie.objectfifo.acquire":
            self.acquire(op)
        elif name == "aie.objectfifo.subview.access":
            self.access(op)
        elif name == "aie.objectfifo.release":
            self.release(op)
        elif name == "aie.use_lock":
            from .lower_physical import use_lock

            lock, action, value = use_lock(self.rd, op, self.ctx.phys)
            self.instr(Release("release", lock, value) if action == "Release" else Acquire("acquire", lock, value))
        elif name == "func.call":
            self.call(op)
        else:
            raise self.rd.fail(op, "op not modelled in core code; npusim runs arith, memref.load/store, "
                               "vector.load/store/broadcast, scf.for/if/yield, func.call, aie.objectfifo.acquire/"
                               "release/subview.access, aie.use_lock")

    # -- ObjectFIFOs ----------------------------------------------------------------------------
    def _fifo(self, op: Op) -> tuple[str, str, int]:
        parts = self.rd.parens(op, 2)
        port = self.rd.word(op, parts[0], "a port", ("Consume", "Produce"))
        return self.rd.symbol(op), port, self.rd.int_of(op, parts[1][0] if len(parts) > 1 else None, "the count")

    def end(self, op: Op, fifo: str, port: str):  # type: ignore[no-untyped-def]
        end = self.ctx.fifos.ends.get((fifo, port, self.tile))
        if end is None:
            raise self.rd.fail(op, f"ObjectFIFO @{fifo} has no {port} end on tile {self.tile}")
        return end

    def acquire(self, op: Op) -> None:
        fifo, port, n = self._fifo(op)
        end = self.end(op, fifo, port)
        key = (fifo, port)
        held, head = self.held.get(key, 0), self.head.get(key, 0)
        if n > len(end.buffers):
            raise self.rd.fail(op, f"acquires {n} elements of @{fifo}, which has {len(end.buffers)} here")
        if n > held:
            self.instr(Acquire("acquire", end.acquire, n - held))
            self.held[key] = held = n
        t = end.elem
        views = tuple(View(end.buffers[(head + i) % len(end.buffers)], t.shape, t.elem) for i in range(held))
        self.env[self.scope + op.result] = Subview(fifo, port, views)

    def access(self, op: Op) -> None:
        values = [it.text for it in op.head() if isinstance(it, Token) and it.kind == "value"]
        group = next((it for it in op.head() if isinstance(it, Group)), None)
        if not values or group is None or not group.items:
            raise self.rd.fail(op, "expected aie.objectfifo.subview.access %subview[index]")
        sv = self.get(op, values[0])
        i = self.rd.int_of(op, group.items[0], "the element index")
        if not isinstance(sv, Subview) or i >= len(sv.views):
            raise self.rd.fail(op, f"element {i} is not among the acquired elements")
        self.env[self.scope + op.result] = sv.views[i]

    def release(self, op: Op) -> None:
        fifo, port, n = self._fifo(op)
        end = self.end(op, fifo, port)
        key = (fifo, port)
        if n > self.held.get(key, 0):
            raise self.rd.fail(op, f"releases {n} elements of @{fifo} but holds {self.held.get(key, 0)}")
        self.instr(Release("release", end.release, n))
        self.held[key] -= n
        self.head[key] = (self.head.get(key, 0) + n) % len(end.buffers)

    # -- calls --------------------------------------------------------------------------------
    def call(self, op: Op) -> None:
        callee = self.rd.symbol(op)
        fn = self.ctx.dev.funcs.get(callee)
        if fn is None:
            raise self.rd.fail(op, f"calls @{callee}, which the design does not declare (func.func)")
        args = [it.text for it in self.rd.group(op, op.head(), 1, "(", "the call's operands").items
                if isinstance(it, Token) and it.kind == "value"]
        if fn.regions:
            self.inline(op, fn, args)
            return
        values = [self.get(op, a) for a in args]
        for ins in self.ctx.kernels.bind(op, callee, fn, values, self):
            if isinstance(ins, Code):
                self.code += ins.body
            else:
                self.instr(ins)

    def inline(self, op: Op, fn: Op, args: list[str]) -> None:
        block = fn.regions[0].blocks[0]
        params = [it.text for g in fn.items if isinstance(g, Group) and g.open == "(" for it in g.items
                  if isinstance(it, Token) and it.kind == "value"]
        outer, self.scope = self.scope, f"{self.scope}{self.rd.symbol(fn)}:{op.line}:"
        for p, a in zip(params, args):
            self.env[self.scope + p] = self.env[outer + a] if outer + a in self.env else self.get(op, a)
        self.walk(block.ops)
        self.scope = outer

    # -- control flow -------------------------------------------------------------------------
    def known_int(self, op: Op, name: str) -> int:
        v = self.get(op, name)
        if not isinstance(v, Known):
            raise self.rd.fail(op, f"bound {name} is not a constant: npusim needs loop bounds known before the run "
                               "(a data-dependent trip count has no static cost)")
        return int(v.value[0])

    def has_sync(self, ops: list[Op]) -> bool:
        for op in ops:
            if op.name in _SYNC and not (op.name == "func.call" and self.defined_without_sync(op)):
                return True
            if any(self.has_sync(b.ops) for r in op.regions for b in r.blocks):
                return True
        return False

    def defined_without_sync(self, op: Op) -> bool:
        fn = self.ctx.dev.funcs.get(self.rd.symbol(op))
        return fn is not None and bool(fn.regions) and not self.has_sync(fn.regions[0].ops)

    def loop(self, op: Op) -> None:
        from .core_flow import lower_for

        lower_for(self, op)

    def branch(self, op: Op) -> None:
        from .core_flow import lower_if

        lower_if(self, op)

    def rotation_factor(self, before: dict[tuple[str, str], int], held: dict[tuple[str, str], int], op: Op) -> int:
        """The fewest body repetitions after which every ObjectFIFO is back at its first buffer."""
        factor = 1
        for key in set(self.head) | set(before):
            if self.held.get(key, 0) != held.get(key, 0):
                raise self.rd.fail(op, f"the loop body acquires and releases @{key[0]} ({key[1]}) unevenly; "
                                   "release in each iteration what it acquires")
            depth = len(self.end(op, key[0], key[1]).buffers)
            step = (self.head.get(key, 0) - before.get(key, 0)) % depth
            need = depth // gcd(step, depth) if step else 1
            factor = factor * need // gcd(factor, need)
        return factor


def endless(count: int) -> bool:
    return count >= ENDLESS


def lanes_of(ty: str) -> int:
    return split_type(ty)[0]
