"""The lowering: its plan and program, its bounds on large GEMMs, its explanation and its errors."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from npusim import load_config
from npusim.engine import RunOptions, run_functional
from npusim.frontend import Conv2d, Gemm, LoweringError, Pins, lower
from npusim.frontend.data.matmul import compare, pack, random_operands, unpack
from npusim.frontend.mapper.explain import explain
from npusim.hw.timing import ddr_bytes_per_cycle
from npusim.isa import Compute, Instruction, Loop, Program, TileProgram, verify
from npusim.runner import run_layer

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")
NPU1 = load_config(ROOT / "configs/npu1.yaml")
NPU2 = load_config(ROOT / "configs/npu2.yaml")


def whole(config: object, tiles: tuple[int, int, int] | None = None, **options: object) -> Pins:
    """Pins of the first round's design on the whole array: C as 32-bit accumulators in two
    buffers, nothing resident, B tile by tile (and ``tiles``, if given)."""
    pinned: dict[str, object] = {"c_buffers": 2, "c_storage": "acc", "reuse": "none", "b_layout": "tiled"}
    pinned.update(options)
    return Pins(columns=config.columns, rows=config.compute_rows, tiles=tiles, **pinned)  # type: ignore[attr-defined, arg-type]


def test_every_core_of_the_array_computes_and_the_program_stays_small() -> None:
    small, big = (lower(NPU2, Gemm(m=s, k=s, n=s, dtype="int8"), pins=whole(NPU2, (64, 64, 64))) for s in (1024, 4096))
    for low in (small, big):
        cores = [tp for tp in low.program.tiles if tp.core]
        assert len(cores) == NPU2.columns * NPU2.compute_rows
    # loops stay loops: the tiles' programs do not grow with the layer; the runtime grows by
    # one set of tasks per super-tile row only
    size = [sum(len(tp.core) + sum(len(ch.bds) for ch in tp.dma) for tp in low.program.tiles) for low in (small, big)]
    assert size[0] == size[1]
    assert len(big.program.runtime) < 3 * NPU2.columns * big.plan.mb + 2


def test_a_is_broadcast_along_rows_and_b_down_columns() -> None:
    low = lower(NPU1, Gemm(m=512, k=512, n=512, dtype="int8"), pins=Pins(columns=4, rows=4))
    routes = {r.name: r for r in low.program.routes}
    for i in range(NPU1.compute_rows):
        assert sorted(d.tile for d in routes[f"a_row{i}"].destinations) == [(j, i + 2) for j in range(NPU1.columns)]
    for j in range(NPU1.columns):
        assert sorted(d.tile for d in routes[f"b_col{j}"].destinations) == [(j, i + 2) for i in range(NPU1.compute_rows)]
        assert routes[f"c_ddr{j}"].destinations[0].tile == (j, 0)


@pytest.mark.parametrize("c_buffers, c_storage, c_bytes", [(2, "acc", 4), (1, "acc", 4), (2, "out", 2), (1, "out", 2)])
def test_c_buffers_are_what_the_design_says(c_buffers: int, c_storage: str, c_bytes: int) -> None:
    low = lower(NPU1, Gemm(m=1024, k=1024, n=1024, dtype="bf16"), pins=Pins(c_buffers=c_buffers, c_storage=c_storage))  # type: ignore[arg-type]
    p = low.plan
    names = {b.name: b.size_bytes for b in low.program.tiles[1].buffers}
    assert names == {**{f"t0_0_{x}{i}": p.m * p.k * 2 for x in "ab" for i in (0, 1)},
                     **{f"t0_0_c{i}": p.m * p.n * c_bytes for i in range(c_buffers)}}
    assert p.l1_bytes == sum(names.values()) + 1024 <= NPU1.compute_tile.data_mem_kib * 1024
    calls = [ins for ins in _calls(low.program.tiles[1].core)]
    assert {c.c_type for c in calls} == ({None} if c_storage == "acc" else {"bf16"})


def _calls(body: tuple[Instruction, ...]) -> list[Compute]:
    out: list[Compute] = []
    for ins in body:
        if isinstance(ins, Compute):
            out.append(ins)
        elif isinstance(ins, Loop):
            out += _calls(ins.body)
    return out


@pytest.mark.parametrize("name, size, dtype", [("npu1", 2048, "int8"), ("npu2", 2048, "bf16")])
def test_large_square_gemm_runs_at_its_bound(name: str, size: int, dtype: str) -> None:
    config = {"npu1": NPU1, "npu2": NPU2}[name]
    layer = Gemm(m=size, k=size, n=size, dtype=dtype)  # type: ignore[arg-type]
    low = lower(config, layer)
    report = run_layer(config, layer)
    p = low.plan
    compute_bound = p.calls_per_core * p.kernel_cycles
    ddr_bound = p.estimate.ddr_bytes / ddr_bytes_per_cycle(config.ddr, config.clock_mhz)
    # the design's DDR traffic, as the estimate counts it, is exactly what the run moved
    assert report.ddr.bytes_accessed == p.estimate.ddr_bytes
    bound = max(compute_bound, ddr_bound)
    assert bound <= report.cycles <= 1.25 * bound


def test_large_gemm_with_ample_ddr_runs_at_the_compute_bound() -> None:
    config = load_config(ROOT / "configs/npu1.yaml", ["ddr.bandwidth_gb_per_s=200"])
    layer = Gemm(m=1024, k=1024, n=1024, dtype="int8")
    low = lower(config, layer, pins=Pins(columns=4, rows=4))
    p = low.plan
    # the kernel rule at the chosen tile (its sustained rate depends on the tile's shape: the
    # calibrated per-output cycles), times the calls of one core; 1024 needs no padding
    compute_bound = p.calls_per_core * p.kernel_cycles
    sustained = p.m * p.k * p.n / p.kernel_cycles  # MACs per cycle of one core
    intensity = 2 * 1024 ** 3 / low.plan.estimate.ddr_bytes
    ridge = 2 * 16 * sustained / ddr_bytes_per_cycle(config.ddr, config.clock_mhz)
    assert intensity > ridge and low.plan.estimate.bound == "compute"
    cycles = run_layer(config, layer).cycles
    assert compute_bound <= cycles <= 1.25 * compute_bound


def _with_first_compute(program: Program, change: dict[str, object]) -> Program:
    """The program with the first compute call of the first core changed."""
    done = False

    def walk(body: tuple[Instruction, ...]) -> tuple[Instruction, ...]:
        nonlocal done
        out: list[Instruction] = []
        for ins in body:
            if isinstance(ins, Compute) and not done:
                done = True
                ins = dataclasses.replace(ins, **change)  # type: ignore[arg-type]
            elif isinstance(ins, Loop):
                ins = dataclasses.replace(ins, body=walk(ins.body))
            out.append(ins)
        return tuple(out)

    tiles: list[TileProgram] = []
    for tp in program.tiles:
        tiles.append(dataclasses.replace(tp, core=walk(tp.core)) if tp.core and not done else tp)
    return dataclasses.replace(program, tiles=tuple(tiles))


@pytest.mark.parametrize("change", [{"a": "t0_0_a1"}, {"zero": False}, {"b": "t0_0_b1"}])
def test_the_functional_check_catches_a_wrong_program(change: dict[str, object]) -> None:
    layer = Gemm(m=40, k=64, n=24, dtype="int16", out_dtype="int32")
    low = lower(TINY, layer, pins=whole(TINY, (8, 16, 8)))
    operands = random_operands(layer, 3)
    broken = _with_first_compute(low.program, change)
    verify(broken, TINY)
    _, tensors = run_functional(TINY, broken, pack(low.plan, operands, low.a_bytes))
    ok, err, _ = compare(layer, operands, unpack(low.plan, tensors))
    assert not ok and err > 0
    _, tensors = run_functional(TINY, low.program, pack(low.plan, operands, low.a_bytes))
    assert compare(layer, operands, unpack(low.plan, tensors))[0]


def test_explain_names_design_memory_routes_bounds_and_search() -> None:
    low = lower(NPU1, Gemm(m=1024, k=1024, n=1024, dtype="bf16"), pins=Pins(columns=4, rows=4))
    p = low.plan
    text = explain(NPU1, low)
    assert f"tiles      m={p.m} k={p.k} n={p.n} per core" in text
    assert f"= {p.l1_bytes} of 65536 B" in text
    assert f"routes     {len(low.program.routes)}: a_in0(1), a_row0(4), b_in0(1), b_col0(4)" in text
    assert f"compute {p.estimate.compute:,} cycles" in text and f"{p.estimate.bound}-bound" in text
    assert "compute bound of the unpadded layer" in text
    assert "(parts of the array x options x tile sizes; pins: columns=4, rows=4), ranked by the estimate; leaders:" in text
    assert f"\n         * {p.design.describe()}: estimate {p.estimate.cycles:,}, simulated" in text
    assert f"why        {p.design.describe()}: the fewest simulated cycles" in text
    conv = explain(NPU1, lower(NPU1, Conv2d(in_channels=64, height=56, width=56, out_channels=64, kernel_h=3,
                                            kernel_w=3, padding=1, dtype="int8")))
    assert "implicit GEMM" in conv and "no im2col copy" in conv


def test_tile_sizes_can_be_given_and_are_checked() -> None:
    low = lower(NPU1, Gemm(m=100, k=100, n=100, dtype="int8"), (32, 32, 32))
    assert (low.plan.m, low.plan.k, low.plan.n) == (32, 32, 32)
    with pytest.raises(LoweringError, match=(
            r"\(gemm 512x512x512 int8->int8\): the tiles m=128 k=256 n=128 need 148480 bytes of compute-tile data "
            r"memory \(A and B double-buffered, C in the smallest storage the pins allow, \+ 1024 B stack; limit "
            r"compute_tile.data_mem_kib = 64\)")):
        lower(NPU1, Gemm(m=512, k=512, n=512, dtype="int8"), (128, 256, 128))
    with pytest.raises(LoweringError, match=r"tiles m=30 k=32 n=32: m must be a multiple of 4, k and n of 8"):
        lower(NPU1, Gemm(m=512, k=512, n=512, dtype="int8"), (30, 32, 32))


def test_a_data_type_without_a_kernel_is_a_clear_error() -> None:
    config = load_config(ROOT / "configs/npu1.yaml",
                         ["compute_tile.kernels.tuned.variants={int8: {outputs: [int8], tile_multiple: [4, 8, 8], "
                          "macs_per_cycle: 256, efficiency: 0.9, overhead_cycles: 0}}",
                          "power.mac_pj={int8: 0.1, int16: 0.1, bf16: 0.1}"])
    with pytest.raises(LoweringError, match=(
            r"layer 'layer' \(gemm 64x64x64 bf16->bf16\): fields kernel=None \(the default\), dtype=bf16, b_dtype=None, "
                r"out_dtype=bf16: config 'npu1 \(Phoenix XDNA, AIE-ML\)': kernel 'tuned' has "
            r"no bf16 variant \(compute_tile.kernels.tuned.variants has: int8\); add compute_tile.kernels.tuned.variants.bf16 "
            r"or use another kernel or data type")):
        lower(config, Gemm(m=64, k=64, n=64, dtype="bf16"))


def test_memory_too_small_for_any_tile_is_a_clear_error() -> None:
    config = load_config(ROOT / "configs/npu1.yaml", ["compute_tile.data_mem_kib=1"])
    with pytest.raises(LoweringError, match=(
            r"no design fits. The smallest candidate, m=4 k=8 n=8, needs 1248 bytes of compute-tile data "
            r"memory .* limit compute_tile.data_mem_kib = 1\)")):
        lower(config, Gemm(m=64, k=64, n=64, dtype="int8"))


def test_rows_the_memory_tile_cannot_serve_are_left_unused() -> None:
    # each used row needs a memory-tile S2MM channel for its C: of 5 rows, 4 can be fed
    config = load_config(ROOT / "configs/npu1.yaml", ["compute_rows=5"])
    low = lower(config, Gemm(m=256, k=64, n=256, dtype="int8"))
    assert low.plan.rows <= 4 and "of 5 compute rows" in explain(config, low)
    with pytest.raises(LoweringError, match=r"no part of config 'npu1 \(Phoenix XDNA, AIE-ML\)' can run it"):
        lower(config, Gemm(m=256, k=64, n=256, dtype="int8"), pins=Pins(rows=5))


def test_a_design_the_switches_cannot_route_is_passed_over_with_its_reason() -> None:
    config = load_config(ROOT / "configs/tiny.yaml", ["compute_rows=4", "compute_tile.stream_ports.south=4"])
    low = lower(config, Gemm(m=64, k=64, n=64, dtype="int8"))
    assert low.search is not None and low.plan.rows <= 3
    with pytest.raises(LoweringError, match=(
            r"no candidate design could be built on config 'tiny \(test array\)': 2x4 cores, tiles 8x64x32, .*: not "
            r"built: layer 'layer': route 'a_row3' .* needs a north stream port of compute tile \(0,2\)")):
        lower(config, Gemm(m=64, k=64, n=64, dtype="int8"), pins=Pins(columns=2, rows=4, tiles=(8, 64, 32)))


def test_shim_tasks_split_at_the_iteration_limit() -> None:
    layer = Gemm(m=16, k=16, n=200, dtype="int8", out_dtype="int32")
    wide = lower(TINY, layer, pins=whole(TINY, (8, 16, 8)))
    config = load_config(ROOT / "configs/tiny.yaml", ["shim_tile.dma.max_iterations=2"])
    split = lower(config, layer, pins=whole(config, (8, 16, 8)))
    assert wide.plan.nb == 13
    assert len(wide.program.runtime) == 3 * 2 + 1  # A, B, C per column, one wait
    assert len(split.program.runtime) == 7 * 3 * 2 + 1  # 13 super-tile columns in 7 tasks of <= 2
    assert max(op.dims[-1].size if op.dims else 1 for op in split.program.runtime if op.op == "dma" and op.name[0] == "b") == 2
    assert run_layer(config, layer, RunOptions(functional=True), pins=whole(config, (8, 16, 8))).functional_ok


def test_functional_mode_needs_operands_on_every_compute_call() -> None:
    from npusim import load_program
    from npusim.isa import ProgramError

    program = load_program(ROOT / "traces/pingpong.json")
    with pytest.raises(ProgramError, match=(
            r"<program>: core \(0,2\): core\[\d+\].*: functional mode needs the operand buffers of every compute "
            r"call; give it a, b and c \(or run timing-only\)")):
        run_functional(TINY, program, {})


def test_a_trace_cannot_run_functional() -> None:
    from npusim import load_program, simulate

    with pytest.raises(ValueError, match=r"functional mode needs a layer with data .*: run it timing-only"):
        simulate(TINY, load_program(ROOT / "traces/pingpong.json"), RunOptions(functional=True))
