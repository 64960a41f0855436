"""Issue 15 in the frontend: layers with B of its own type (bfp16, int4 weights), bfp16 operands,
int8 -> int16 and a layer's kernel library, lowered, simulated on real data and checked against
references written here from the formats' definitions (not the simulator's conversion code)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npusim import NPUConfig, load_config
from npusim.cli import main
from npusim.engine import run_functional, run_program
from npusim.frontend import Conv2d, Gemm, LoweringError, Pins, lower
from npusim.frontend.data.matmul import compare, pack, random_operands, unpack
from npusim.hw.timing import ddr_access_bytes
from npusim.isa import DmaTask
from npusim.runner import RunOptions, run_layer

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


@lru_cache(maxsize=None)
def npu2(columns: int = 4, rows: int = 4) -> NPUConfig:
    return load_config(CONFIGS / "npu2.yaml", [f"columns={columns}", f"compute_rows={rows}"])


def quantise_bfp16(x: np.ndarray, axis: int) -> np.ndarray:
    """bfp16 from its definition: blocks of 8 along ``axis`` share the exponent of their largest
    magnitude; each value keeps a signed 8-bit mantissa (7 bits below the largest's leading one),
    rounded to nearest even; a block whose largest rounds up to 128 takes the next exponent."""
    v = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    out = np.zeros_like(v)
    for idx in np.ndindex(*v.shape[:-1]):
        for s in range(0, v.shape[-1], 8):
            block = v[idx][s:s + 8]
            big = float(np.abs(block).max())
            if big == 0:
                continue
            step = 2.0 ** (int(np.floor(np.log2(big))) - 6)
            q = np.round(block / step)  # numpy rounds half to even
            if np.abs(q).max() > 127:
                step *= 2
                q = np.round(block / step)
            out[idx][s:s + 8] = q * step
    return np.moveaxis(out, -1, axis)


def bf16_values(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def simulate(config: NPUConfig, layer: Gemm | Conv2d, seed: int = 1, pins: Pins | None = None
             ) -> tuple[dict[str, np.ndarray], np.ndarray, object]:
    low = lower(config, layer, pins=pins)
    operands = random_operands(layer, seed)
    rec, tensors = run_functional(config, low.program, pack(low.plan, operands, low.a_bytes))
    return operands, unpack(low.plan, tensors), low


@pytest.mark.parametrize("b_dtype", [None, "bfp16"])
def test_bfp16_gemm_equals_the_product_of_independently_rounded_operands(b_dtype: str | None) -> None:
    # fp32 out, C kept as fp32 accumulators: the simulated output is the exact product of the
    # bfp16-rounded operands up to fp32 summation
    layer = Gemm(m=40, k=96, n=24, dtype="bfp16" if b_dtype is None else "bf16", b_dtype=b_dtype, out_dtype="fp32")
    operands, got, _ = simulate(npu2(2, 2), layer, pins=Pins(c_storage="acc"))
    a = operands["a"].astype(np.float64) if layer.dtype == "bfp16" else bf16_values(operands["a"])
    a_q = quantise_bfp16(a, 1) if b_dtype is None else a
    want = a_q @ quantise_bfp16(operands["b"], 0)
    mag = np.abs(a) @ np.abs(operands["b"].astype(np.float64))
    assert np.all(np.abs(got - want) <= 2.0 ** -20 * mag)
    # and not the unrounded product: the rounding of the operands shows
    exact = a @ operands["b"].astype(np.float64)
    assert np.abs(got - exact).max() > 100 * np.abs(got - want).max()


@pytest.mark.parametrize("group", [32, 128])
def test_int4_weights_are_dequantised_by_their_group_scale(group: int) -> None:
    layer = Gemm(m=24, k=256, n=40, dtype="bf16", b_dtype="int4", group_size=group)
    operands, got, low = simulate(npu2(2, 2), layer, pins=Pins(c_storage="acc"))
    q, scales = operands["b"].astype(np.float64), bf16_values(operands["b_scale"])
    w = q * np.repeat(scales, group, axis=0)  # each weight times its group's scale
    want = bf16_values(operands["a"]) @ w
    mag = np.abs(bf16_values(operands["a"])) @ np.abs(w)
    assert np.all(np.abs(bf16_values(got) - want) <= 2.0 ** -8 * np.abs(want) + 2.0 ** -8 * mag)
    assert low.plan.k % group == 0  # type: ignore[attr-defined]


def test_int8_to_int16_output_matches_on_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(CONFIGS / "npu1.yaml"), "--gemm", "96x200x72", "--dtype", "int8",
                 "--out-dtype", "int16", "--shift", "6", "--functional", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["functional_ok"], out["max_abs_error"]) == (True, 0.0)


@pytest.mark.parametrize("args", [["--dtype", "bfp16"], ["--dtype", "bf16", "--b-dtype", "bfp16"],
                                  ["--dtype", "bf16", "--b-dtype", "int4", "--group-size", "128"],
                                  ["--dtype", "bf16", "--kernel", "mlir-aie-bfp16", "--bias", "--relu"]])
def test_block_types_run_functional_on_npu2_and_match(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(CONFIGS / "npu2.yaml"), "--gemm", "128x256x96", *args, "--functional",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["functional_ok"] is True


def test_the_check_catches_an_output_a_little_off_or_without_the_operands_rounding() -> None:
    layer = Gemm(m=32, k=128, n=32, dtype="bf16", b_dtype="bfp16")
    operands, got, low = simulate(npu2(2, 2), layer)
    plan = low.plan  # type: ignore[attr-defined]
    assert compare(layer, operands, got, plan)[0]
    worse = (bf16_values(got) * 1.01).astype(np.float32)  # 1 %: a few bf16 units
    assert not compare(layer, operands, (worse.view(np.uint32) >> 16).astype(np.uint16), plan)[0]
    # the product of B as given, not rounded to bfp16 first: off by the block rounding
    unrounded = (bf16_values(operands["a"]) @ operands["b"].astype(np.float64)).astype(np.float32)
    assert not compare(layer, operands, (unrounded.view(np.uint32) >> 16).astype(np.uint16), plan)[0]
    assert not compare(layer, operands, got[:, ::-1].copy(), plan)[0]


block_layers = st.builds(
    lambda m, k, n, t, bias: Gemm(m=m, k=k, n=n, bias=bias, **t),
    st.integers(1, 70), st.integers(1, 300), st.integers(1, 70),
    st.sampled_from([{"dtype": "bfp16"}, {"dtype": "bf16", "b_dtype": "bfp16"}, {"dtype": "bf16", "b_dtype": "int4"},
                     {"dtype": "bf16", "b_dtype": "int4", "group_size": 128}, {"dtype": "bfp16", "out_dtype": "fp32"}]),
    st.booleans())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=block_layers, columns=st.integers(1, 4), rows=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_block_formats_on_random_geometry_match_in_the_estimated_ddr_bytes(layer: Gemm, columns: int, rows: int,
                                                                           seed: int) -> None:
    config = npu2(columns, rows)
    operands, got, low = simulate(config, layer, seed)
    ok, err, detail = compare(layer, operands, got, low.plan)  # type: ignore[attr-defined]
    assert ok, f"{layer.describe()} on {columns}x{rows}: max error {err}, {detail}"
    report = run_program(config, low.program)  # type: ignore[attr-defined]
    # the estimate's DDR bytes are what the program's shim tasks cost (the timing rule the shims
    # charge), and what the run moved up to the simulator's rounding of each stream segment's share
    # of a task's accesses (bfp16 runs of 9-byte blocks rarely fill whole accesses)
    tasks = [op for op in low.program.runtime if isinstance(op, DmaTask)]  # type: ignore[attr-defined]
    charged = sum(ddr_access_bytes(config.ddr, op.length_bytes, op.dims) for op in tasks)
    assert charged == low.plan.estimate.ddr_bytes  # type: ignore[attr-defined]
    assert abs(report.ddr.bytes_accessed - charged) <= 5e-3 * charged


def test_conv_with_bfp16_weights_matches() -> None:
    layer = Conv2d(in_channels=16, height=6, width=6, out_channels=24, kernel_h=3, kernel_w=3, padding=1,
                   dtype="bf16", b_dtype="bfp16")
    report = run_layer(npu2(2, 2), layer, RunOptions(functional=True))
    assert report.functional_ok is True


@pytest.mark.parametrize("config", ["npu1", "npu2", "npu1-8700g", "npu2-hx370"])
def test_stock_kernel_is_slower_on_the_same_design_on_every_machine(config: str) -> None:
    cfg = load_config(CONFIGS / f"{config}.yaml")
    # a part of the array small enough for the kernels to set the time, not DDR
    tuned = lower(cfg, Gemm(m=512, k=512, n=512, dtype="int8", kernel="tuned"), tiles=(64, 64, 64),
                  pins=Pins(columns=2, rows=2))
    stock_layer = Gemm(m=512, k=512, n=512, dtype="int8", kernel="mlir-aie")
    stock = lower(cfg, stock_layer, pins=Pins.of(tuned.plan.design))
    assert stock.plan.design == tuned.plan.design
    fast, slow = run_program(cfg, tuned.program).cycles, run_program(cfg, stock.program).cycles
    assert slow > 1.15 * fast, (config, fast, slow)
    assert stock.plan.kernel_cycles > 1.5 * tuned.plan.kernel_cycles


def test_a_combination_the_kernel_library_lacks_names_the_layer_fields_and_variants() -> None:
    layer = Gemm(name="w4", m=64, k=64, n=64, dtype="bf16", b_dtype="int4")
    with pytest.raises(LoweringError, match=r"layer 'w4' \(gemm 64x64x64 bf16->bf16 B int4/32\): fields kernel=None "
                       r"\(the default\), dtype=bf16, b_dtype=int4, out_dtype=bf16: config 'npu1 .*': kernel 'tuned' has "
                       r"no bf16xint4 variant \(compute_tile.kernels.tuned.variants has: int8, int16, bf16\)"):
        lower(load_config(CONFIGS / "npu1.yaml"), layer)


@pytest.mark.parametrize("fields, message", [
    ({"dtype": "int4"}, "Input should be 'int8', 'int16', 'bf16' or 'bfp16'"),
    ({"dtype": "bf16", "b_dtype": "int8"}, "A and B must both be integers or both floats"),
    ({"dtype": "bf16", "b_dtype": "bfp16", "b_layout": "row"}, "b_layout must be 'weight'"),
    ({"dtype": "bf16", "b_dtype": "int4", "group_size": 64}, "Input should be 32 or 128"),
    ({"dtype": "int8", "out_dtype": "bf16"}, "out_dtype bf16 is not produced from int8 operands"),
])
def test_bad_layer_types_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Gemm(m=8, k=8, n=8, **fields)  # type: ignore[arg-type]


def test_convolutions_refuse_bfp16_activations_and_int4_weights() -> None:
    conv = {"in_channels": 8, "height": 4, "width": 4, "out_channels": 8, "kernel_h": 3, "kernel_w": 3}
    with pytest.raises(ValueError, match="use dtype bf16 with b_dtype bfp16"):
        Conv2d(dtype="bfp16", **conv)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lowered for Gemm layers only"):
        Conv2d(dtype="bf16", b_dtype="int4", **conv)  # type: ignore[arg-type]


def test_pinning_a_row_major_b_of_a_block_type_is_refused() -> None:
    with pytest.raises(LoweringError, match="B of type bfp16 is packed offline tile by tile; b_layout row"):
        lower(npu2(2, 2), Gemm(m=32, k=64, n=32, dtype="bfp16"), pins=Pins(b_layout="row"))


def test_bfp16_a_takes_reduction_tiles_of_whole_words() -> None:
    low = lower(npu2(2, 2), Gemm(m=64, k=200, n=64, dtype="bfp16"))
    assert low.plan.k % 32 == 0  # a row of k bfp16 values is 9 k / 8 bytes
    with pytest.raises(LoweringError):
        lower(npu2(2, 2), Gemm(m=64, k=200, n=64, dtype="bfp16"), tiles=(16, 48, 16))


def test_onnx_models_refuse_block_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(CONFIGS / "npu2.yaml"), "--onnx", "x.onnx", "--dtype", "bfp16"]) == 2
    assert "an ONNX model's layers take --dtype int8, int16 or bf16" in capsys.readouterr().err
