"""Tile sizes fit the memories they are placed in, checked through the public ``lower()`` and
the verified layout (where each buffer was placed), not through the planner's own arithmetic or
its messages: a memory tile holds what the lowering stages in it, and a core keeps its stack
free (mlir-aie reserves 0x400 bytes of each core's data memory for the stack)."""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim import Gemm, NPUConfig, load_config, lower

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs/tiny.yaml"
LAYER = Gemm(name="g", m=128, k=256, n=128, dtype="bf16")
STACK = 0x400


def _used(config: NPUConfig, low: object, kind: str) -> int:
    """The highest byte the layout uses in any tile of ``kind``."""
    ends: dict[tuple[int, int], int] = {}
    for b in low.layout.buffers.values():  # type: ignore[attr-defined]
        if config.tile_kind(b.tile[1]) == kind:
            ends[b.tile] = max(ends.get(b.tile, 0), b.offset_bytes + b.size_bytes)
    return max(ends.values())


@pytest.mark.parametrize("kib", [4, 8, 12, 16, 24, 32, 48])
def test_the_tiles_fit_the_memory_tile(kib: int) -> None:
    config = load_config(TINY, [f"mem_tile.size_kib={kib}"])
    low = lower(config, LAYER)  # smaller tiles than with the default 512 KiB, not a refusal
    assert _used(config, low, "mem") <= kib * 1024
    assert low.plan.m * low.plan.n < 64 * 64 or kib >= 48


def test_each_core_keeps_its_stack_free() -> None:
    headroom = {}
    for kib in range(5, 31):
        config = load_config(TINY, [f"compute_tile.data_mem_kib={kib}"])
        low = lower(config, LAYER)
        headroom[kib] = kib * 1024 - _used(config, low, "compute")
    assert min(headroom.values()) >= STACK, headroom
    # the reservation is what binds: at most sizes the tiles take all but the stack
    assert sum(h == STACK for h in headroom.values()) >= 5, headroom
