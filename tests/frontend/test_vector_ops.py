"""The operators between the matmuls (issue 8): vector layers and fused epilogues compute numpy's
answer in functional mode, in the cycles of timing mode; their timing rule, instruction, verifier
checks and trace form; the per-operator summary of a workload."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from npusim import NPUConfig, load_config
from npusim.engine import RunOptions, run_functional, run_program
from npusim.frontend import (
    Conv2d, Elementwise, Gemm, LayerNorm, LoweringError, Pins, Pool, Softmax, VectorLayer, Workload, lower_vector,
)
from npusim.frontend.mapper.explain import explain, explain_vector
from npusim.frontend.lower import lower
from npusim.frontend.data.vector import compare_vector, pack_vector, random_vector_operands, unpack_vector
from npusim.frontend.program.vector import tensor_bytes
from npusim.hw.timing import epilogue_cycles, kernel_call_cycles, vector_cycles
from npusim.isa import Compute, Program, ProgramError, TileProgram, Vector, program_from_dict, program_to_dict, verify
from npusim.runner import run_layer, run_workload

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def config(name: str, *overrides: str) -> NPUConfig:
    return load_config(ROOT / f"configs/{name}.yaml", list(overrides))


def check(cfg: NPUConfig, layer: VectorLayer, seed: int = 0) -> None:
    low = lower_vector(cfg, layer)
    operands = random_vector_operands(layer, seed)
    rec, tensors = run_functional(cfg, low.program, pack_vector(low.plan, operands, tensor_bytes(low.plan)))
    ok, err, detail = compare_vector(layer, operands, unpack_vector(low.plan, tensors))
    assert ok, f"{layer.describe()} on {cfg.columns}x{cfg.compute_rows}: max error {err}, {detail}"
    assert run_program(cfg, low.program).cycles == rec.cycles  # timing-only == functional


LAYERS = [
    Elementwise(kind="relu", shape=(1, 5, 7, 6), dtype="int8"),
    Elementwise(kind="sigmoid", shape=(3, 50), dtype="bf16"),
    Elementwise(kind="tanh", shape=(2, 3, 9), dtype="bf16"),
    Elementwise(kind="gelu", shape=(4, 33), dtype="bf16"),
    Elementwise(kind="add", shape=(1, 9, 9, 32), broadcast="same", dtype="bf16", relu=True),
    Elementwise(kind="sub", shape=(5, 7), broadcast="same", dtype="int16"),
    Elementwise(kind="mul", shape=(10, 6), broadcast="row", dtype="int8"),
    Elementwise(kind="div", shape=(6, 10), broadcast="row", dtype="bf16"),
    Elementwise(kind="mul", shape=(7, 9), broadcast="scalar", scalar=0.125, dtype="bf16"),
    Softmax(rows=12, length=64, dtype="bf16"),
    LayerNorm(rows=9, length=32, dtype="bf16"),
    Pool(kind="max", channels=6, height=11, width=11, kernel_h=3, kernel_w=3, stride=2, padding=1, dtype="int8"),
    Pool(kind="max", channels=16, height=12, width=12, kernel_h=3, kernel_w=3, stride=2, padding=1, dtype="bf16"),
    Pool(kind="avg", channels=40, height=7, width=7, kernel_h=7, kernel_w=7, dtype="bf16"),
    Pool(kind="avg", channels=10, height=6, width=6, kernel_h=2, kernel_w=2, stride=2, dtype="int16", relu=True),
    Pool(kind="max", channels=32, height=60, width=60, kernel_h=60, kernel_w=60, dtype="int8"),  # several steps
]


@pytest.mark.parametrize("name", ["tiny", "npu1", "npu2"])
def test_vector_layers_compute_right_on_the_shipped_configs(name: str) -> None:
    for i, layer in enumerate(LAYERS):
        check(config(name), layer, i)


def test_a_window_too_big_for_one_block_is_reduced_in_steps() -> None:
    low = lower_vector(config("tiny"), LAYERS[-1])
    assert low.plan.steps > 1 and low.plan.block[0] * low.plan.steps == 60


@st.composite
def vector_layers(draw: st.DrawFn) -> VectorLayer:
    what = draw(st.sampled_from(["unary", "binary", "softmax", "layernorm", "pool"]))
    dtype = draw(st.sampled_from(["int8", "int16", "bf16"]))
    if what == "unary":
        kind = draw(st.sampled_from(["relu", "sigmoid", "gelu"] if dtype == "bf16" else ["relu"]))
        return Elementwise(kind=kind, shape=(draw(st.integers(1, 9)), draw(st.integers(1, 70))), dtype=dtype)
    if what == "binary":
        bc = draw(st.sampled_from(["same", "row", "scalar"]))
        return Elementwise(kind=draw(st.sampled_from(["add", "sub", "mul"])), broadcast=bc, dtype=dtype,
                           shape=(draw(st.integers(1, 9)), draw(st.integers(1, 40))),
                           scalar=draw(st.integers(-3, 3)) if bc == "scalar" else None, relu=draw(st.booleans()))
    if what in ("softmax", "layernorm"):
        cls = Softmax if what == "softmax" else LayerNorm
        return cls(rows=draw(st.integers(1, 20)), length=2 * draw(st.integers(1, 40)), dtype="bf16")
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = draw(st.integers(0, min(kh, kw) - 1))
    return Pool(kind=draw(st.sampled_from(["max", "avg"])), batch=draw(st.integers(1, 2)),
                channels=draw(st.integers(1, 9)), height=draw(st.integers(kh, 9)), width=draw(st.integers(kw, 9)),
                kernel_h=kh, kernel_w=kw, stride=draw(st.integers(1, 2)), padding=pad, dtype=dtype)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=vector_layers(), columns=st.integers(1, 4), rows=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_random_vector_layer_on_random_geometry(layer: VectorLayer, columns: int, rows: int, seed: int) -> None:
    check(config("npu1", f"columns={columns}", f"compute_rows={rows}"), layer, seed)


@pytest.mark.parametrize("name", ["tiny", "npu1"])
@pytest.mark.parametrize("layer", [
    Gemm(m=40, k=70, n=30, dtype="int8", out_dtype="int32", bias=True, relu=True),
    Gemm(m=33, k=70, n=17, dtype="bf16", bias=True, relu=True),
    Gemm(m=20, k=24, n=16, dtype="int16", relu=True),
    Conv2d(in_channels=5, height=9, width=9, out_channels=8, kernel_h=3, kernel_w=3, padding=1, dtype="int8",
           shift=8, bias=True, relu=True),
], ids=lambda ly: ly.describe())
def test_fused_epilogue_computes_right_and_costs_cycles(name: str, layer: Gemm | Conv2d) -> None:
    cfg = config(name)
    p = lower(cfg, layer).plan
    report = run_layer(cfg, layer, RunOptions(functional=True, seed=3), pins=Pins.of(p.design))
    assert report.functional_ok, report.max_abs_error
    # the same design without the epilogue: it is charged in the last kernel call of each output tile
    plain = run_layer(cfg, layer.model_copy(update={"bias": False, "relu": False}), pins=Pins.of(p.design))
    extra = p.mb * p.nb * epilogue_cycles(cfg.compute_tile, layer.dtype, p.m * p.n, layer.bias, layer.relu)
    busy = [t.core.busy for t in report.tiles if t.core is not None]
    assert extra > 0 and busy == [t.core.busy + extra for t in plain.tiles if t.core is not None]


def test_vector_timing_rule_is_calibrated_on_the_published_int16_figure() -> None:
    # mlir-aie programming guide section 4b: vector x scalar on 1024 int16, 72 cycles pipelined
    assert vector_cycles(config("npu1").compute_tile, "mul", "int16", 1024) == 72
    tile = config("tiny").compute_tile
    assert vector_cycles(tile, "softmax", "bf16", 100) == 100 + 10
    assert kernel_call_cycles(tile, Vector("vector", "add", "int8", (3, 5), relu=True)) == 4 + 10 + 4
    matmul = Compute("compute", 8, 8, 8, "int8", emit="int8", bias=True, relu=True)
    assert kernel_call_cycles(tile, matmul) == kernel_call_cycles(
        tile, Compute("compute", 8, 8, 8, "int8", emit="int8")) + 32  # 64 outputs x (0.25 + 0.25)


def test_vector_instruction_round_trips_through_a_trace() -> None:
    core = ({"op": "vector", "kind": "max_pool", "dtype": "bf16", "shape": [3, 4, 3, 8], "inputs": ["x"],
             "out": "c", "zero": True, "emit": True, "relu": True},
            {"op": "vector", "kind": "add", "dtype": "int8", "shape": [2, 8], "inputs": ["x", "y"], "out": "c",
             "broadcast": True},
            {"op": "compute", "m": 4, "k": 8, "n": 8, "dtype": "int8", "emit": "int8", "bias": True, "relu": True})
    program = program_from_dict({"name": "v", "tiles": [{"tile": [0, 2], "core": list(core)}]})
    assert program_to_dict(program)["tiles"][0]["core"] == list(core)
    assert isinstance(program.tiles[0].core[0], Vector) and program.tiles[0].core[0].elements == 288


def test_verifier_names_a_missing_vector_timing() -> None:
    cfg = config("tiny", "compute_tile.vector={}")
    program = Program("p", (TileProgram((0, 2), core=(Vector("vector", "softmax", "bf16", (4, 8)),)),))
    with pytest.raises(ProgramError) as err:
        verify(program, cfg, "p.json")
    assert str(err.value) == (
        "p.json: compute tile (0,2): core[0]: vector softmax in bf16, but the config gives no timing for it "
        "(compute_tile.vector.softmax has: none); add compute_tile.vector.softmax.bf16")
    with pytest.raises(LoweringError, match=r"the config 'tiny \(test array\)' gives no bf16 timing for the vector "
                       r"operator layernorm \(compute_tile.vector.layernorm has: none\)"):
        lower_vector(cfg, LayerNorm(rows=4, length=8, dtype="bf16"))
    with pytest.raises(LoweringError, match=r"the fused relu needs its vector timing.*compute_tile.vector.relu.int8"):
        lower(cfg, Gemm(m=8, k=8, n=8, dtype="int8", relu=True))


def test_layer_errors() -> None:
    with pytest.raises(ValidationError, match="softmax is defined in bf16 only"):
        Softmax(rows=2, length=4, dtype="int8")
    with pytest.raises(ValidationError, match="add is binary: it needs broadcast: same, row or scalar"):
        Elementwise(kind="add", shape=(4,), dtype="int8")
    with pytest.raises(LoweringError, match=r"rows of 7 bf16 elements are not whole 32-bit DMA words; layernorm rows "
                       "must hold a multiple of 2 elements"):
        lower_vector(config("tiny"), LayerNorm(rows=3, length=7, dtype="bf16"))


def test_explain_names_what_was_fused() -> None:
    cfg = config("npu1")
    conv = Conv2d(name="conv1", in_channels=8, height=8, width=8, out_channels=16, kernel_h=3, kernel_w=3,
                  padding=1, dtype="int8", bias=True, relu=True, fused=("relu1",))
    text = explain(cfg, lower(cfg, conv))
    assert "fused      bias, relu into conv1 (graph nodes relu1): applied to the accumulators" in text
    add = Elementwise(name="add", kind="add", shape=(1, 8, 8, 16), broadcast="same", dtype="int8", relu=True)
    text = explain_vector(cfg, lower_vector(cfg, add))
    assert "fused      relu into add: in the same call" in text and text.startswith("layer      add: add 1x8x8x16")


def test_workload_operator_summary_splits_compute_and_data_movement() -> None:
    wl = Workload(name="mix", layers=[Gemm(m=64, k=64, n=64, dtype="int8", count=2),
                                      Softmax(rows=64, length=64, dtype="bf16"),
                                      Pool(kind="max", channels=8, height=8, width=8, kernel_h=2, kernel_w=2,
                                           stride=2, dtype="int8")])
    wr = run_workload(config("tiny"), wl)
    ops = {o.operator: o for o in wr.operators()}
    assert list(ops) == ["matmul", "pool", "softmax", "data movement"]
    assert (ops["matmul"].layers, ops["pool"].layers, ops["data movement"].layers) == (2, 1, 0)
    assert sum(o.cycles for o in ops.values()) == wr.cycles
    assert sum(o.time_share for o in ops.values()) == pytest.approx(1.0)
    busiest = max(t.core.busy for t in wr.layers[1].tiles if t.core is not None)
    assert ops["softmax"].cycles == busiest
    data = wr.to_dict()
    assert [o["operator"] for o in data["operators"]] == list(ops)
    assert [ly["operator"] for ly in data["layers"]] == ["matmul", "softmax", "pool"]
