"""Lowering: a layer and a config in, a verified Program (and the plan behind it) out."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import NPUConfig
from ..isa import Layout, Program
from .program.conv import a_tensor_bytes, conv_a_transfer
from .layers.matmul import Conv2d, Gemm
from .program.matmul import build_program, gemm_a_transfer
from .mapper.tiling import LoweringError, TilePlan, plan, verify_lowering


@dataclass(frozen=True, slots=True)
class Lowered:
    """A lowered layer: its plan, its program, and the program's verified layout."""

    plan: TilePlan
    program: Program
    layout: Layout

    @property
    def a_bytes(self) -> int:
        return next(t.size_bytes for t in self.program.tensors if t.name == "A")


def _check_geometry(config: NPUConfig, p: TilePlan) -> None:
    mem = config.mem_tile.dma
    need_in = 2 + p.rows
    need_out = p.group + 2
    if mem.s2mm_channels < need_in or mem.mm2s_channels < need_out:
        raise LoweringError(
            f"config '{config.name}': a memory tile stages A and B and joins the C blocks of "
            f"{p.rows} compute rows, which takes {need_in} S2MM and {need_out} MM2S channels; it has "
            f"{mem.s2mm_channels} and {mem.mm2s_channels} (mem_tile.dma.s2mm_channels / mm2s_channels); "
            "use fewer compute rows or more memory-tile channels")
    shim = config.shim_tile.dma
    if shim.mm2s_channels < 2 or shim.s2mm_channels < 1:
        raise LoweringError(
            f"config '{config.name}': each column's shim tile needs 2 MM2S channels (A and B) and 1 S2MM "
            f"channel (C); it has {shim.mm2s_channels} and {shim.s2mm_channels} "
            "(shim_tile.dma.mm2s_channels / s2mm_channels)")
    if config.mem_tile_rows != 1:
        raise LoweringError(
            f"config '{config.name}': the frontend stages data in one row of memory tiles; this config has "
            f"mem_tile_rows = {config.mem_tile_rows}")


def lower(config: NPUConfig, layer: Gemm | Conv2d, tiles: tuple[int, int, int] | None = None) -> Lowered:
    """Lower ``layer`` onto ``config``: choose the tiling (or use ``tiles`` = ``(m, k, n)``), build
    the program and verify it. Raises :class:`LoweringError` if it cannot be done, saying why."""
    p = plan(config, layer, tiles)
    _check_geometry(config, p)
    desc = f"{layer.describe()} lowered by npusim: tiles m={p.m} k={p.k} n={p.n} on {p.columns}x{p.rows} cores"
    if isinstance(layer, Gemm):
        program = build_program(p, gemm_a_transfer, p.Mp * p.Kp * p.ib, layer.name, desc)
    else:
        program = build_program(p, conv_a_transfer, a_tensor_bytes(p), layer.name, desc)
    layout = verify_lowering(program, config, layer.name, f"{layer.describe()} with m={p.m} k={p.k} n={p.n}")
    return Lowered(p, program, layout)
