"""Lowering: a layer and a config in, a verified Program (and the design behind it) out."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import KernelError, NPUConfig
from ..isa import Layout, Program
from .errors import LoweringError
from .layers.matmul import BLOCK_FORMATS, Conv2d, Gemm
from .mapper.design import Pins, TilePlan
from .mapper.sizes import k_problem
from .mapper.search import MappingCache, SearchResult, build, plan_for, search


@dataclass(frozen=True, slots=True)
class Lowered:
    """A lowered layer: its plan (the chosen design), its program, the program's verified layout,
    and the search that chose the design."""

    plan: TilePlan
    program: Program
    layout: Layout
    search: SearchResult | None = None

    @property
    def a_bytes(self) -> int:
        return next(t.size_bytes for t in self.program.tensors if t.name == "A")


def _check(config: NPUConfig, layer: Gemm | Conv2d, pins: Pins) -> None:
    if config.mem_tile_rows != 1:
        raise LoweringError(
            f"config '{config.name}': the frontend stages data in one row of memory tiles; this config has "
            f"mem_tile_rows = {config.mem_tile_rows}")
    tiles = pins.tiles
    if tiles is not None:
        m, k, n = tiles
        if m < 1 or k < 1 or n < 1 or m % 4 or k % 8 or n % 8:
            raise LoweringError(f"layer '{layer.name}': tiles m={m} k={k} n={n}: m must be a multiple of 4, k and n "
                                "of 8 (the AIE-ML matmul shapes and whole DMA words)")
    try:
        kernel = config.compute_tile.kernel(layer.kernel, layer.dtype, layer.b_dtype, layer.output)
    except KernelError as exc:
        raise LoweringError(
            f"layer '{layer.name}' ({layer.describe()}): fields kernel={layer.kernel or 'None (the default)'}, "
            f"dtype={layer.dtype}, b_dtype={layer.b_dtype}, out_dtype={layer.output}: config '{config.name}': {exc}"
        ) from None
    problem = None if tiles is None else kernel.tile_problem(*tiles) or k_problem(layer, tiles[1])
    if tiles is not None and problem:
        raise LoweringError(f"layer '{layer.name}': tiles m={tiles[0]} k={tiles[1]} n={tiles[2]}: the kernel cannot run "
                            f"them: {problem}")
    if layer.b_type in BLOCK_FORMATS and pins.b_layout not in (None, "tiled"):
        raise LoweringError(f"layer '{layer.name}': B of type {layer.b_type} is packed offline tile by tile; "
                            f"b_layout {pins.b_layout} is not possible (use tiled)")
    for step in layer.epilogue:
        if layer.vector_type not in config.compute_tile.vector.get(step, {}):  # type: ignore[call-overload]
            raise LoweringError(
                f"layer '{layer.name}' ({layer.describe()}): the fused {step} needs its vector timing, but the "
                f"config '{config.name}' gives none (compute_tile.vector.{step}.{layer.vector_type}); add it")


def lower(config: NPUConfig, layer: Gemm | Conv2d, tiles: tuple[int, int, int] | None = None,
          pins: Pins | None = None, cache: MappingCache | None = None) -> Lowered:
    """Lower ``layer`` onto ``config``: search the designs (within ``pins``; ``tiles`` = ``(m, k, n)``
    pins the tile sizes), build the winner's program and verify it. Raises :class:`LoweringError`
    if it cannot be done, saying why. ``cache`` keeps search results for layers of the same shape."""
    pins = pins or Pins()
    if tiles is not None:
        pins = replace(pins, tiles=tiles)
    _check(config, layer, pins)
    result = search(config, layer, pins, cache)
    plan = plan_for(config, result, layer)
    if result.built is not None:  # the search built this design for a layer of this shape: same program
        program, layout = result.built
        program = replace(program, name=layer.name,
                          description=f"{layer.describe()} lowered by npusim: {plan.design.describe()}")
    else:
        program, layout = build(config, plan)
    return Lowered(plan, program, layout, result)
