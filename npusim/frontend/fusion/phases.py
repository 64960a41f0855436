"""The compute tiles of a resident group: one DMA configuration, the members' kernel loops one
after another.

Every member of a resident group uses the same ``m x k x n`` tile, so each core keeps one set
of buffers and BD chains (A and B ping-pong, C drained from two buffers) for the whole group and
only its program changes from member to member: each member's output tiles of ``kt`` reduction
steps, as :func:`..program.common.core_program` lays out one layer's. The ping-pong buffers do
not restart at each member: a member starts on the A/B buffer and the C buffer the previous one
left off at, so the core stays in step with its BD chains.
"""
from __future__ import annotations

from ...isa import (
    Acquire, Buffer, BufferDescriptor, Compute, DmaChannelProgram, Instruction, LockDecl, LockOp, Loop, Release,
    TileProgram,
)
from ..mapper.design import TilePlan
from ..program.common import Step, loop_chain, output_tile, ping_pong


def member_core(tiles: int, kt: int, step: Step, t: str, par: int, cpar: int) -> tuple[list[Instruction], int, int]:
    """A member's ``tiles`` output tiles from parities (``par``, ``cpar``): its instructions and
    the parities it leaves."""
    first = output_tile(kt, par, f"{t}_c{cpar}", step, t)
    pair = first + output_tile(kt, (par + kt) % 2, f"{t}_c{1 - cpar}", step, t)
    prog: list[Instruction] = [Loop("loop", tiles // 2, tuple(pair))] if tiles >= 2 else []
    if tiles % 2:
        prog += first
    return prog, (par + tiles * kt) % 2, (cpar + tiles) % 2


def compute_step(p: TilePlan, t: str) -> Step:
    """The kernel call of a member's reduction step (its epilogue on the last)."""
    layer = p.layer

    def step(par: int, c: str, first: bool, last: bool) -> list[Instruction]:
        return [Acquire("acquire", f"{t}_a_full"), Acquire("acquire", f"{t}_b_full"),
                Compute("compute", p.m, p.k, p.n, layer.dtype, f"{t}_a{par}", f"{t}_b{par}", c,
                        zero=first, emit=p.out if last else None, shift=layer.shift if last else 0,
                        bias=layer.bias and last, relu=layer.relu and last, kernel=layer.kernel),
                Release("release", f"{t}_a_empty"), Release("release", f"{t}_b_empty")]
    return step


def compute_tile(plans: list[TilePlan], tiles: list[int], col: int, row: int) -> TileProgram:
    """The compute tile ``(col, row)`` (row 0 = the lowest compute row) of a group whose members
    have ``plans`` and run ``tiles[i]`` output tiles on each core."""
    first = plans[0]
    t = f"t{col}_{row}"
    a, b, c, out = first.m * first.k * first.ib, first.b_bytes, first.m * first.n * 4, first.m * first.n * first.ob
    buffers = tuple(Buffer(f"{t}_{x}{i}", size) for x, size in (("a", a), ("b", b), ("c", c)) for i in (0, 1))
    locks = tuple(LockDecl(f"{t}_{x}_{s}", 2 if s == "empty" else 0) for x in "abc" for s in ("empty", "full"))
    drain = [BufferDescriptor(f"{t}_c{i}", out, acquire=LockOp(f"{t}_c_full"), release=LockOp(f"{t}_c_empty"))
             for i in (0, 1)]
    dma = (DmaChannelProgram("s2mm0", loop_chain(ping_pong(f"{t}_a", a, f"{t}_a_full", f"{t}_a_empty"))),
           DmaChannelProgram("s2mm1", loop_chain(ping_pong(f"{t}_b", b, f"{t}_b_full", f"{t}_b_empty"))),
           DmaChannelProgram("mm2s0", loop_chain(drain)))
    core: list[Instruction] = []
    par = cpar = 0
    for p, n in zip(plans, tiles):
        body, par, cpar = member_core(n, p.kt, compute_step(p, t), t, par, cpar)
        core += body
    return TileProgram((col, row + 2), buffers, locks, tuple(core), dma)
