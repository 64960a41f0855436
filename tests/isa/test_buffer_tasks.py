"""Runtime tasks on memory-tile buffers (BufferTask): the command processor queues them on a memory
tile's channel as on a shim channel. A program moves a tensor into a memory-tile buffer, transposes
it there with a second task's access pattern, and sends it on to a neighbour's buffer and back to
DDR; every bad use is a ProgramError naming the task and the fix."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from npusim.config import load_config
from npusim.engine import DeadlockError, RunOptions, run_functional, run_program
from npusim.isa import (
    Buffer, BufferDescriptor, BufferTask, Dim, DmaChannelProgram, DmaTask, Endpoint, Program, ProgramError, Route,
    Tensor, TileProgram, Wait, load_program, save_program, verify,
)

ROOT = Path(__file__).resolve().parents[2]
NPU1 = load_config(ROOT / "configs/npu1.yaml")
N = 16  # a 16 x 16 matrix of 32-bit words


def program(wait: bool = True, **change: object) -> Program:
    """DDR x -> (0,1) buffer T (row-major) -> read column-major -> (1,1) buffer U -> DDR y."""
    tiles = (TileProgram((0, 1), (Buffer("T", N * N * 4),)), TileProgram((1, 1), (Buffer("U", N * N * 4),)))
    routes = (Route("in", Endpoint((0, 0), "mm2s0"), (Endpoint((0, 1), "s2mm0"),)),
              Route("across", Endpoint((0, 1), "mm2s0"), (Endpoint((1, 1), "s2mm0"),)),
              Route("out", Endpoint((1, 1), "mm2s0"), (Endpoint((1, 0), "s2mm0"),)))
    transpose = (Dim(1, 1), Dim(N, N), Dim(N, 1))  # one word, N rows apart, then the next column
    runtime: list[DmaTask | BufferTask | Wait] = [
        DmaTask("dma", "load", (0, 0), "mm2s0", "x", N * N * 4),
        BufferTask("buffer_dma", "fill", (0, 1), "s2mm0", "T", N * N * 4),
        Wait("wait", ("fill",)),
        BufferTask("buffer_dma", "send", (0, 1), "mm2s0", "T", N * N * 4, 0, transpose),
        BufferTask("buffer_dma", "take", (1, 1), "s2mm0", "U", N * N * 4),
        Wait("wait", ("take",)),
        BufferTask("buffer_dma", "drain", (1, 1), "mm2s0", "U", N * N * 4),
        DmaTask("dma", "store", (1, 0), "s2mm0", "y", N * N * 4)]
    if not wait:
        runtime = [op for op in runtime if not isinstance(op, Wait)]
    fields: dict[str, object] = {"tiles": tiles, "routes": routes, "runtime": tuple(runtime),
                                 "tensors": (Tensor("x", N * N * 4), Tensor("y", N * N * 4))} | change
    return Program("buffer tasks", **fields)  # type: ignore[arg-type]


def test_buffer_tasks_move_and_transpose_data_through_memory_tiles() -> None:
    x = np.arange(N * N, dtype=np.uint32)
    rec, out = run_functional(NPU1, program(), {"x": x.view(np.uint8)})
    assert (out["y"].view(np.uint32).reshape(N, N) == x.reshape(N, N).T).all()
    # timing: no DDR on the middle hops; each hop costs start-up + its words at 4 B/cycle
    assert rec.ddr.bytes_read == rec.ddr.bytes_written == N * N * 4
    mem = rec.channels[((0, 1), "mm2s0")]
    assert mem.bytes == N * N * 4 and mem.bds == 1
    assert rec.cycles > 3 * N * N  # three hops of 256 words, one after another (the waits)
    assert run_program(NPU1, program()).cycles == rec.cycles


def test_without_the_waits_the_tasks_still_run_in_stream_order() -> None:
    x = np.arange(N * N, dtype=np.uint32)
    rec, out = run_functional(NPU1, program(wait=False), {"x": x.view(np.uint8)})
    # nothing orders the transpose after the fill: it reads T while T fills, and gets what is there
    assert rec.cycles < run_program(NPU1, program()).cycles
    assert not (out["y"].view(np.uint32).reshape(N, N) == x.reshape(N, N).T).all()


def test_a_trace_with_buffer_tasks_round_trips_as_version_2(tmp_path: Path) -> None:
    save_program(program(), tmp_path / "t.json")
    assert '"version": 2' in (tmp_path / "t.json").read_text()
    assert load_program(tmp_path / "t.json") == replace(program(), version=2)


def _runtime(*ops: DmaTask | BufferTask | Wait) -> tuple[DmaTask | BufferTask | Wait, ...]:
    return tuple(ops)


@pytest.mark.parametrize("change, message", [
    ({"runtime": _runtime(BufferTask("buffer_dma", "t", (0, 0), "mm2s0", "T", 64))},
     r"runtime\[0\] \(task 't'\): tile \(0,0\) is not a memory tile \(rows 1..1\); buffer tasks run on memory-tile "
     r"DMA channels"),
    ({"runtime": _runtime(BufferTask("buffer_dma", "t", (0, 1), "mm2s9", "T", 64))},
     r"runtime\[0\] \(task 't'\): no channel mm2s9 on a memory tile; it has .*"),
    ({"runtime": _runtime(BufferTask("buffer_dma", "t", (0, 1), "mm2s3", "T", 64))},
     r"runtime\[0\] \(task 't'\): memory tile channel \(0,1\).mm2s3 has no route; add a route with this channel "
     r"as source"),
    ({"runtime": _runtime(BufferTask("buffer_dma", "t", (0, 1), "mm2s0", "V", 64))},
     r"runtime\[0\] \(task 't'\): unknown buffer 'V'; declare it in a memory tile's 'buffers'"),
    ({"runtime": _runtime(BufferTask("buffer_dma", "t", (0, 1), "mm2s0", "T", 4 * N * N + 4))},
     r"runtime\[0\] \(task 't'\): reaches byte 1028 of buffer 'T', which has 1024 bytes; shorten the transfer or "
     r"its strides"),
])
def test_bad_buffer_tasks_are_named_with_a_fix(change: dict[str, object], message: str) -> None:
    with pytest.raises(ProgramError) as err:
        verify(program(**change), NPU1, "p")
    assert re.fullmatch("p: " + message, str(err.value)), str(err.value)


def test_a_buffer_out_of_the_channels_reach_and_a_chained_channel_are_refused() -> None:
    far = program(tiles=(TileProgram((0, 1), (Buffer("T", 1024),)), TileProgram((1, 1), (Buffer("U", 1024),)),
                         TileProgram((3, 1), (Buffer("W", 1024),))),
                  runtime=_runtime(BufferTask("buffer_dma", "t", (0, 1), "mm2s0", "W", 64)))
    with pytest.raises(ProgramError, match=r"buffer 'W' lives on tile \(3,1\), which this DMA channel cannot reach "
                       r"\(reachable: \(0,1\), \(1,1\)\)"):
        verify(far, NPU1, "p")
    chain = DmaChannelProgram("mm2s0", (BufferDescriptor("T", 64),))
    both = program(tiles=(TileProgram((0, 1), (Buffer("T", 1024),), dma=(chain,)),
                          TileProgram((1, 1), (Buffer("U", 1024),))))
    with pytest.raises(ProgramError, match=r"channel mm2s0 runs a BD chain of the program; a channel is driven by its "
                       r"chain or by runtime tasks, not both: use another channel"):
        verify(both, NPU1, "p")


def test_a_task_waiting_for_data_that_never_comes_is_a_deadlock() -> None:
    stuck = program(runtime=_runtime(BufferTask("buffer_dma", "take", (1, 1), "s2mm0", "U", 64),
                                     Wait("wait", ("take",))))
    with pytest.raises(DeadlockError, match=r"runtime: waits to see task 'take' complete on mem \(1,1\) s2mm0; "
                       r"the channel waits to receive 64 bytes on route 'across'; not ready: mem \(0,1\) mm2s0"):
        run_program(NPU1, stuck, RunOptions(max_cycles=100_000))
