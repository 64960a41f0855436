"""Property tests of the lowering (issue 3): random GEMM and conv2d layers on random geometries, in
every data type, compute numpy's answer in functional mode, in exactly the cycles of timing mode."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npusim import NPUConfig, load_config
from npusim.engine import run_functional, run_program
from npusim.frontend import Conv2d, Gemm, lower
from npusim.frontend.data.matmul import compare, pack, random_operands, unpack
from npusim.numerics import OUTPUTS

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def geometry(columns: int, rows: int) -> NPUConfig:
    return load_config(ROOT / "configs/npu1.yaml", [f"columns={columns}", f"compute_rows={rows}"])


@st.composite
def types(draw: st.DrawFn) -> dict[str, object]:
    dtype = draw(st.sampled_from(["int8", "int16", "bf16"]))
    out = draw(st.sampled_from(OUTPUTS[dtype]))
    shift = draw(st.integers(0, 14)) if out in ("int8", "int16") else 0
    return {"dtype": dtype, "out_dtype": out, "shift": shift}


@st.composite
def convs(draw: st.DrawFn) -> Conv2d:
    pad = draw(st.integers(0, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * pad), 11))
    w = draw(st.integers(max(1, kw - 2 * pad), 11))
    return Conv2d(batch=draw(st.integers(1, 2)), in_channels=draw(st.integers(1, 9)), height=h, width=w,
                  out_channels=draw(st.integers(1, 12)), kernel_h=kh, kernel_w=kw, stride=draw(st.integers(1, 3)),
                  padding=pad, **draw(types()))


gemms = st.builds(lambda m, k, n, t: Gemm(m=m, k=k, n=n, **t), st.integers(1, 70), st.integers(1, 90),
                  st.integers(1, 70), types())


def check(config: NPUConfig, layer: Gemm | Conv2d, seed: int) -> None:
    low = lower(config, layer)
    operands = random_operands(layer, seed)
    rec, tensors = run_functional(config, low.program, pack(low.plan, operands, low.a_bytes))
    ok, err, detail = compare(layer, operands, unpack(low.plan, tensors))
    assert ok, f"{layer.describe()} on {config.columns}x{config.compute_rows}: max error {err}, {detail}"
    assert run_program(config, low.program).cycles == rec.cycles  # timing-only == functional


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=gemms, columns=st.integers(1, 8), rows=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_random_gemm_on_random_geometry(layer: Gemm, columns: int, rows: int, seed: int) -> None:
    check(geometry(columns, rows), layer, seed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=convs(), columns=st.integers(1, 8), rows=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_random_conv2d_on_random_geometry(layer: Conv2d, columns: int, rows: int, seed: int) -> None:
    check(geometry(columns, rows), layer, seed)


def test_shipped_configs_compute_right() -> None:
    layers = [Gemm(m=100, k=200, n=30, dtype="int8", out_dtype="int32"),
              Gemm(m=33, k=70, n=17, dtype="bf16"),
              Conv2d(in_channels=3, height=15, width=15, out_channels=8, kernel_h=7, kernel_w=7, stride=2,
                     padding=3, dtype="int8", out_dtype="int8", shift=9),
              Conv2d(in_channels=16, height=7, width=7, out_channels=20, kernel_h=1, kernel_w=1, stride=2,
                     dtype="int16", out_dtype="int32")]
    for name in ("tiny", "npu1", "npu2"):
        config = load_config(ROOT / f"configs/{name}.yaml")
        for i, layer in enumerate(layers):
            check(config, layer, i)
