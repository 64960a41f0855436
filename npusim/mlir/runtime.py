"""The runtime sequence to DDR tensors, shim DMA tasks and waits.

Each argument of ``aiex.runtime_sequence`` (or ``aie.runtime_sequence``, or the older
``func.func @sequence``) is a DDR tensor named after it without ``%`` (``%in`` is ``in``).
``aiex.npu.dma_memcpy_nd`` queues a task on the shim channel its ``metadata`` names (an
ObjectFIFO's shim end, or an ``aie.shim_dma_allocation``) with its offsets, sizes and strides as
the access pattern; ``aiex.npu.dma_wait`` (and ``aiex.npu.sync``) wait for the tasks issued on
that channel so far. The task forms: ``aiex.dma_configure_task_for`` prepares a task's BDs (its
``repeat_count`` runs them again), ``aiex.dma_start_task`` issues them, ``aiex.dma_await_task``
waits for them, ``aiex.dma_free_task`` does nothing the model needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..isa import DmaTask, Endpoint, Tensor, Wait
from .design import check_attrs
from .dims import Transfer, element_bytes, transfer
from .ir import Group, Item, Op, Sym, Typed
from .lexer import Token
from .lower_physical import bd_transfer
from .syntax import MemRefType

if TYPE_CHECKING:
    from .importer import Context

SUPPORTED = ("aiex.npu.dma_memcpy_nd", "aiex.npu.dma_wait", "aiex.npu.sync", "aiex.dma_configure_task_for",
             "aiex.dma_start_task", "aiex.dma_await_task", "aiex.dma_free_task", "arith.constant")
_ATTRS = frozenset({"id", "metadata", "issue_token", "symbol", "column", "row", "direction", "channel", "column_num",
                    "row_num", "repeat_count", "burst_length", "packet"})


@dataclass(frozen=True)
class Argument:
    """A runtime-sequence argument: its DDR tensor and its declared type."""

    name: str
    type: MemRefType


class RuntimeLowering:
    def __init__(self, ctx: "Context") -> None:
        self.ctx, self.rd = ctx, ctx.rd
        self.args: dict[str, Argument] = {}
        self.consts: dict[str, int] = {}
        self.issued: dict[Endpoint, list[str]] = {}
        self.tasks: dict[str, tuple[Endpoint, list[tuple[str, Transfer]], int]] = {}
        self.task_names: dict[str, list[str]] = {}
        self.count = 0

    def run(self) -> dict[str, Argument]:
        seq = self.ctx.dev.sequence
        if seq is None:
            return {}
        group = next((it for it in seq.items if isinstance(it, Group) and it.open == "("), None)
        for part in group.parts() if group else []:
            name = self.rd.value(seq, part, "an argument")
            ty = self.rd.memref(seq, part[-1])
            tensor = name.lstrip("%")
            self.args[name] = Argument(tensor, ty)
            self.ctx.b.tensors.append(Tensor(tensor, max(4, -(-ty.count * element_bytes(ty.elem) // 4) * 4)))
        for op in self.rd.region(seq).ops:
            self.op(op)
        return {a.name: a for a in self.args.values()}

    def op(self, op: Op) -> None:
        if op.name in ("func.return", "aie.end"):
            return
        if op.name not in SUPPORTED:
            raise self.rd.fail(op, f"op not modelled in a runtime sequence; npusim runs: {', '.join(SUPPORTED)}")
        check_attrs(self.rd, op, _ATTRS)
        if op.name == "arith.constant":
            self.consts[op.result] = self.rd.int_of(op, op.head()[0] if op.head() else op.attrs.get("value"), "a constant")
        elif op.name == "aiex.npu.dma_memcpy_nd":
            self.memcpy(op)
        elif op.name == "aiex.npu.dma_wait":
            self.wait(self.endpoint(op, self.rd.symbol(op)))
        elif op.name == "aiex.npu.sync":
            col, row, way, ch = (self.rd.int_of(op, op.attrs.get(k), k) for k in ("column", "row", "direction", "channel"))
            self.wait(Endpoint((col, row), f"{'s2mm' if way == 0 else 'mm2s'}{ch}"))
        elif op.name == "aiex.dma_configure_task_for":
            self.configure(op)
        elif op.name in ("aiex.dma_start_task", "aiex.dma_await_task", "aiex.dma_free_task"):
            task = self.rd.value(op, self.rd.parens(op)[0], "the task")
            if task not in self.tasks:
                raise self.rd.fail(op, f"{task} is not a task made by aiex.dma_configure_task_for")
            if op.name == "aiex.dma_start_task":
                self.start(task)
            elif op.name == "aiex.dma_await_task":
                self.ctx.b.runtime.append(Wait("wait", tuple(self.task_names.get(task, []))))

    def endpoint(self, op: Op, sym: str) -> Endpoint:
        ep = self.ctx.fifos.shim_ends.get(sym) or self.ctx.phys.shim.get(sym)
        if ep is None:
            raise self.rd.fail(op, f"@{sym} names no ObjectFIFO with a shim-tile end and no aie.shim_dma_allocation")
        return ep

    def number(self, op: Op, it: Item) -> int:
        if isinstance(it, Token) and it.kind == "value":
            if it.text not in self.consts:
                raise self.rd.fail(op, f"{it.text} is not a constant defined in the runtime sequence")
            return self.consts[it.text]
        return self.rd.int_of(op, it, "an offset, size or stride")

    def memcpy(self, op: Op) -> None:
        head = next(p for p in self.rd.parens(op) if any(isinstance(i, Group) for i in p))
        arg = self.rd.value(op, head, "the tensor")
        groups = [g for g in head if isinstance(g, Group) and g.open == "["]
        if arg not in self.args or len(groups) != 3:
            raise self.rd.fail(op, "expected aiex.npu.dma_memcpy_nd(%arg[offsets][sizes][strides]) with a runtime "
                               "sequence argument")
        offs, sizes, strides = ([self.number(op, p[0]) for p in g.parts()] for g in groups)
        ty = self.args[arg].type
        offset = sum(o * (s if i < len(offs) - 1 else 1) for i, (o, s) in enumerate(zip(offs, strides)))
        length = 1
        for s in sizes:
            length *= s
        dims = [{"size": s, "stride": t} for s, t in zip(sizes, strides)]
        sym = op.attrs.get("metadata")
        if not isinstance(sym, Sym):
            raise self.rd.fail(op, "needs metadata = @objectfifo (the shim channel it runs on)")
        self.issue(self.endpoint(op, sym.name), [(self.args[arg].name, transfer(self.rd, op, ty, offset, length, dims, []))])

    def issue(self, ep: Endpoint, moves: list[tuple[str, Transfer]]) -> list[str]:
        names = []
        for tensor, t in moves:
            self.count += 1
            name = f"task{self.count}"
            self.ctx.b.runtime.append(DmaTask("dma", name, ep.tile, ep.channel, tensor, t.length_bytes, t.offset_bytes,
                                              t.dims))
            self.issued.setdefault(ep, []).append(name)
            names.append(name)
        return names

    def wait(self, ep: Endpoint) -> None:
        pending = self.issued.pop(ep, [])
        if pending:
            self.ctx.b.runtime.append(Wait("wait", tuple(pending)))

    def configure(self, op: Op) -> None:
        ep = self.endpoint(op, self.rd.symbol(op))
        moves = []
        for blk in self.rd.region(op).blocks:
            for bd in blk.ops:
                if bd.name == "aie.dma_bd":
                    name, _, t = bd_transfer(self.rd, bd, self.ctx.phys, {a: v.type for a, v in self.args.items()})
                    moves.append((name, t))
                elif bd.name not in ("aie.end", "aie.next_bd"):
                    raise self.rd.fail(bd, "a runtime DMA task holds aie.dma_bd, aie.next_bd and aie.end")
        repeat = op.attrs.get("repeat_count", 0)
        self.tasks[op.result] = (ep, moves, self.rd.int_of(op, repeat.value if isinstance(repeat, Typed) else repeat,
                                                           "repeat_count"))

    def start(self, task: str) -> None:
        ep, moves, repeat = self.tasks[task]
        self.task_names[task] = self.issue(ep, moves * (repeat + 1))
