"""The lowering: its plan and program, its bounds on large GEMMs, its explanation and its errors."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from npusim import load_config
from npusim.engine import RunOptions, run_functional
from npusim.frontend import Conv2d, Gemm, LoweringError, lower
from npusim.frontend.data.matmul import compare, pack, random_operands, unpack
from npusim.frontend.mapper.explain import explain
from npusim.hw.timing import ddr_bytes_per_cycle
from npusim.isa import Compute, Instruction, Loop, Program, TileProgram, verify
from npusim.runner import run_layer

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")
NPU1 = load_config(ROOT / "configs/npu1.yaml")
NPU2 = load_config(ROOT / "configs/npu2.yaml")


def test_every_core_of_the_array_computes_and_the_program_stays_small() -> None:
    small, big = (lower(NPU2, Gemm(m=s, k=s, n=s, dtype="int8"), (64, 64, 64)) for s in (1024, 4096))
    for low in (small, big):
        cores = [tp for tp in low.program.tiles if tp.core]
        assert len(cores) == NPU2.columns * NPU2.compute_rows
    # loops stay loops: the tiles' programs do not grow with the layer; the runtime grows by
    # one set of tasks per super-tile row only
    size = [sum(len(tp.core) + sum(len(ch.bds) for ch in tp.dma) for tp in low.program.tiles) for low in (small, big)]
    assert size[0] == size[1]
    assert len(big.program.runtime) < 3 * NPU2.columns * big.plan.mb + 2


def test_a_is_broadcast_along_rows_and_b_down_columns() -> None:
    low = lower(NPU1, Gemm(m=512, k=512, n=512, dtype="int8"))
    routes = {r.name: r for r in low.program.routes}
    for i in range(NPU1.compute_rows):
        assert sorted(d.tile for d in routes[f"a_row{i}"].destinations) == [(j, i + 2) for j in range(NPU1.columns)]
    for j in range(NPU1.columns):
        assert sorted(d.tile for d in routes[f"b_col{j}"].destinations) == [(j, i + 2) for i in range(NPU1.compute_rows)]
        assert routes[f"c_ddr{j}"].destinations[0].tile == (j, 0)


def test_buffers_fit_double_buffered() -> None:
    low = lower(NPU1, Gemm(m=1024, k=1024, n=1024, dtype="bf16"))
    p = low.plan
    names = {b.name: b.size_bytes for b in low.program.tiles[1].buffers}
    assert names == {f"t0_0_{x}{i}": size for x, size in (("a", p.m * p.k * 2), ("b", p.k * p.n * 2),
                                                           ("c", p.m * p.n * 4)) for i in (0, 1)}
    assert p.l1_bytes <= NPU1.compute_tile.data_mem_kib * 1024


@pytest.mark.parametrize("name, size, dtype", [("npu1", 2048, "int8"), ("npu2", 2048, "bf16")])
def test_large_square_gemm_runs_at_its_bound(name: str, size: int, dtype: str) -> None:
    config = {"npu1": NPU1, "npu2": NPU2}[name]
    layer = Gemm(m=size, k=size, n=size, dtype=dtype)  # type: ignore[arg-type]
    low = lower(config, layer)
    report = run_layer(config, layer)
    kern = config.compute_tile.kernel(None, layer.dtype)
    cores = config.columns * config.compute_rows
    compute_bound = size ** 3 / (cores * kern.macs_per_cycle * kern.efficiency)
    bpc = ddr_bytes_per_cycle(config.ddr, config.clock_mhz)
    ddr_bound = low.plan.estimate.ddr_bytes / bpc
    # the plan's DDR traffic is exactly what the run moved
    assert report.ddr.bytes_accessed == low.plan.estimate.ddr_bytes
    # which bound applies, and why: the tiling's operations per DDR byte are below the ridge point
    # of the roofline (the array's sustained MACs per cycle x 2 over DDR bytes per cycle)
    intensity = 2 * size ** 3 / low.plan.estimate.ddr_bytes
    ridge = 2 * cores * kern.macs_per_cycle * kern.efficiency / bpc
    assert intensity < ridge and ddr_bound > compute_bound  # DDR-bound on the shipped configs
    assert abs(report.cycles - ddr_bound) <= 0.25 * ddr_bound


def test_large_gemm_with_ample_ddr_runs_at_the_compute_bound() -> None:
    config = load_config(ROOT / "configs/npu1.yaml", ["ddr.bandwidth_gb_per_s=200"])
    layer = Gemm(m=1024, k=1024, n=1024, dtype="int8")
    low = lower(config, layer)
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
    low = lower(TINY, layer, (8, 16, 8))
    operands = random_operands(layer, 3)
    broken = _with_first_compute(low.program, change)
    verify(broken, TINY)
    _, tensors = run_functional(TINY, broken, pack(low.plan, operands, low.a_bytes))
    ok, err, _ = compare(layer, operands, unpack(low.plan, tensors))
    assert not ok and err > 0
    _, tensors = run_functional(TINY, low.program, pack(low.plan, operands, low.a_bytes))
    assert compare(layer, operands, unpack(low.plan, tensors))[0]


def test_explain_names_tiles_memory_routes_and_bounds() -> None:
    low = lower(NPU1, Gemm(m=1024, k=1024, n=1024, dtype="bf16"))
    p = low.plan
    text = explain(NPU1, low)
    assert f"tiles      m={p.m} k={p.k} n={p.n} per core" in text
    assert f"= {p.l1_bytes} of 65536 B" in text
    assert f"routes     {len(low.program.routes)}: a_in0(1), a_row0(4), b_in0(1), b_col0(4)" in text
    assert f"compute {p.estimate.compute:,} cycles" in text and "DDR-bound" in text
    assert "compute bound of the unpadded layer" in text
    conv = explain(NPU1, lower(NPU1, Conv2d(in_channels=64, height=56, width=56, out_channels=64, kernel_h=3,
                                            kernel_w=3, padding=1, dtype="int8")))
    assert "implicit GEMM" in conv and "no im2col copy" in conv


def test_tile_sizes_can_be_given_and_are_checked() -> None:
    low = lower(NPU1, Gemm(m=100, k=100, n=100, dtype="int8"), (32, 32, 32))
    assert (low.plan.m, low.plan.k, low.plan.n) == (32, 32, 32)
    with pytest.raises(LoweringError, match=(
            r"\(gemm 512x512x512 int8->int8\): the tiles m=128 k=256 n=128 need 263168 bytes of compute-tile data "
            r"memory \(A, B and 32-bit C double-buffered \+ 1024 B stack; limit compute_tile.data_mem_kib = 64\)")):
        lower(NPU1, Gemm(m=512, k=512, n=512, dtype="int8"), (128, 256, 128))
    with pytest.raises(LoweringError, match=r"tiles m=30 k=32 n=32: m must be a multiple of 4, k and n of 8"):
        lower(NPU1, Gemm(m=512, k=512, n=512, dtype="int8"), (30, 32, 32))


def test_a_data_type_without_a_kernel_is_a_clear_error() -> None:
    config = load_config(ROOT / "configs/npu1.yaml",
                         ["compute_tile.kernels.tuned.variants={int8: {outputs: [int8], tile_multiple: [4, 8, 8], "
                          "macs_per_cycle: 256, efficiency: 0.9, overhead_cycles: 0}}", "power.mac_pj={int8: 0.1}"])
    with pytest.raises(LoweringError, match=(
            r"layer 'layer' \(gemm 64x64x64 bf16->bf16\): config 'npu1 \(Phoenix XDNA, AIE-ML\)': kernel 'tuned' has "
            r"no bf16 variant \(compute_tile.kernels.tuned.variants has: int8\); add compute_tile.kernels.tuned.variants.bf16 "
            r"or use another kernel or data type")):
        lower(config, Gemm(m=64, k=64, n=64, dtype="bf16"))


def test_memory_too_small_for_any_tile_is_a_clear_error() -> None:
    config = load_config(ROOT / "configs/npu1.yaml", ["compute_tile.data_mem_kib=1"])
    with pytest.raises(LoweringError, match=(
            r"no tile size fits. The smallest candidate, m=4 k=8 n=8, needs 1472 bytes of compute-tile data "
            r"memory .* limit compute_tile.data_mem_kib = 1\)")):
        lower(config, Gemm(m=64, k=64, n=64, dtype="int8"))


def test_geometries_the_dataflow_cannot_place_are_clear_errors() -> None:
    with pytest.raises(LoweringError, match=r"joins the C blocks of 5 compute rows, which takes 7 S2MM"):
        lower(load_config(ROOT / "configs/npu1.yaml", ["compute_rows=5"]), Gemm(m=64, k=64, n=64, dtype="int8"))
    with pytest.raises(LoweringError, match=(
            r"route 'c_out0_2' .* needs a south stream port of compute tile \(0,2\), but all 2 are taken .*"
            r"\n\(the lowering of gemm 64x64x64 int8->int8 with m=\d+ k=\d+ n=\d+ does not fit config 'tiny")):
        lower(load_config(ROOT / "configs/tiny.yaml", ["compute_rows=4"]), Gemm(m=64, k=64, n=64, dtype="int8"))


def test_shim_tasks_split_at_the_iteration_limit() -> None:
    layer = Gemm(m=16, k=16, n=200, dtype="int8", out_dtype="int32")
    wide = lower(TINY, layer, (8, 16, 8))
    config = load_config(ROOT / "configs/tiny.yaml", ["shim_tile.dma.max_iterations=2"])
    split = lower(config, layer, (8, 16, 8))
    assert wide.plan.nb == 13
    assert len(wide.program.runtime) == 3 * 2 + 1  # A, B, C per column, one wait
    assert len(split.program.runtime) == 7 * 3 * 2 + 1  # 13 super-tile columns in 7 tasks of <= 2
    assert max(op.dims[-1].size for op in split.program.runtime if op.op == "dma" and op.name[0] == "b") == 2
    assert run_layer(config, layer, RunOptions(functional=True), tiles=(8, 16, 8)).functional_ok


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
