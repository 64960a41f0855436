"""Pieces every program builder uses: ping-pong BDs, looping chains, the core's loop of output
tiles, repeated reads of a resident block, and the verification of a finished program."""
from __future__ import annotations

from collections.abc import Callable

from ...config import NPUConfig
from ...isa import (
    WORD_BYTES as W,
    Acquire, BufferDescriptor, Dim, Instruction, Layout, LockOp, Loop, Program, ProgramError, Release, verify,
)
from ..errors import LoweringError


def verify_lowering(program: Program, config: NPUConfig, name: str, what: str) -> Layout:
    """Verify a lowering's program; a program the config cannot hold is a :class:`LoweringError`
    naming ``what`` was lowered (the layer and its design) and the config."""
    try:
        return verify(program, config, f"layer '{name}'")
    except ProgramError as exc:
        raise LoweringError(f"{exc}\n(the lowering of {what} does not fit config '{config.name}')") from None


def ping_pong(buffer: str, length: int, full: str, empty: str, offset: int = 0) -> list[BufferDescriptor]:
    """Two BDs moving ``length`` bytes of ``{buffer}0`` and ``{buffer}1``, each acquiring
    ``empty`` and releasing ``full`` (an ObjectFIFO of depth 2, one side)."""
    return [BufferDescriptor(f"{buffer}{x}", length, offset, acquire=LockOp(empty), release=LockOp(full))
            for x in (0, 1)]


def loop_chain(bds: list[BufferDescriptor]) -> tuple[BufferDescriptor, ...]:
    """A BD chain whose last BD links back to the first: the channel serves forever."""
    last = bds[-1]
    return tuple(bds[:-1]) + (BufferDescriptor(last.buffer, last.length_bytes, last.offset_bytes, last.dims,
                                               last.acquire, last.release, 0),)


def repeated_reads(buffer: str, length: int, offset: int, dims: tuple[Dim, ...], reads: int, max_iterations: int,
                   full: str, empty: str) -> list[BufferDescriptor]:
    """BDs that read a resident block ``reads`` times through the pattern ``dims`` (or straight
    through, without one): its iteration dimension repeats the pattern (stride 0) at most
    ``max_iterations`` times per BD; the first BD acquires ``full``, the last releases ``empty``."""
    pattern = dims or ((Dim(length // W, 1),) if reads > 1 else ())
    chunks = [min(max_iterations, reads - r) for r in range(0, reads, max_iterations)]
    return [BufferDescriptor(buffer, length * count, offset, pattern + ((Dim(count, 0),) if count > 1 else ()),
                             acquire=LockOp(full) if i == 0 else None,
                             release=LockOp(empty) if i == len(chunks) - 1 else None)
            for i, count in enumerate(chunks)]


Step = Callable[[int, str, bool, bool], list[Instruction]]
"""(input buffer parity, output buffer, first step, last step) -> one reduction step's instructions."""


def output_tile(kt: int, par: int, c: str, step: Step, t: str) -> list[Instruction]:
    """One output tile of ``kt`` reduction steps into buffer ``c``, the inputs starting on parity
    ``par`` and ping-ponging from step to step, guarded by ``{t}_c_empty``/``{t}_c_full``."""
    body: list[Instruction] = [Acquire("acquire", f"{t}_c_empty")]
    body += step(par, c, True, kt == 1)
    middle = kt - 2
    if middle >= 2:
        body.append(Loop("loop", middle // 2, tuple(step(1 - par, c, False, False) + step(par, c, False, False))))
    if middle > 0 and middle % 2:
        body += step((par + middle) % 2, c, False, False)
    if kt > 1:
        body += step((par + kt - 1) % 2, c, False, True)
    return body + [Release("release", f"{t}_c_full")]


def core_program(out_tiles: int, kt: int, step: Step, t: str, c_buffers: int = 2) -> tuple[Instruction, ...]:
    """A core's whole program: ``out_tiles`` output tiles of ``kt`` steps each
    (:func:`output_tile`), the output tile in ``{t}_c0`` (and ``{t}_c1`` with two C buffers,
    alternating); loops, never unrolled."""
    def tile(par: int, c: str) -> list[Instruction]:
        return output_tile(kt, par, c, step, t)

    odd = kt % 2  # with an odd step count the input parity flips from one output tile to the next
    pair = tile(0, f"{t}_c0") + tile(odd, f"{t}_c{1 if c_buffers > 1 else 0}")
    prog: list[Instruction] = []
    if out_tiles >= 2:
        prog.append(Loop("loop", out_tiles // 2, tuple(pair)))
    if out_tiles % 2:
        prog += tile(0, f"{t}_c0")
    return tuple(prog)
