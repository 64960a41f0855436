"""The vector operators a decoder-only transformer needs (issue 16): RMSNorm, rotary position
embedding, SiLU and the SwiGLU gate, the scaled causal softmax and the embedding row gather.

Each computes numpy's answer in functional mode through the whole array (data movement proven),
in the cycles of timing mode; their formulas are checked against numpy written here, apart from
``npusim.vector_math`` (the formulas proven); the gather reads only the rows it needs."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from npusim import NPUConfig, load_config
from npusim import vector_math as vm
from npusim.frontend import Elementwise, Embedding, RMSNorm, Rope, Softmax, VectorLayer, lower_vector
from npusim.hw.timing import vector_cycles
from npusim.numerics import bf16_to_f32, f32_to_bf16
from npusim.runner import run_layer
from test_vector_ops import check  # functional == numpy, timing-only cycles == functional

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def config(name: str) -> NPUConfig:
    return load_config(ROOT / f"configs/{name}.yaml")


LAYERS = [
    RMSNorm(rows=9, length=64, epsilon=1e-6, dtype="bf16"),
    Rope(rows=12, length=16, heads=3, position=5, theta=500000.0, dtype="bf16"),
    Softmax(rows=8, length=10, causal_queries=4, scale=0.5, dtype="bf16"),
    Softmax(rows=6, length=34, scale=0.25, dtype="bf16"),
    Softmax(rows=4, length=9, scale=0.25, dtype="bf16"),  # odd rows: padded to words, the padding masked
    Elementwise(kind="silu", shape=(5, 40), dtype="bf16"),
    Elementwise(kind="swiglu", shape=(3, 64), broadcast="same", dtype="bf16"),
    Embedding(rows=5, length=32, vocab=50, tokens=(3, 49, 0, 7, 3), dtype="bf16"),
    Embedding(rows=3, length=64, vocab=10, dtype="int8"),
    Embedding(rows=300, length=32, vocab=700, dtype="bf16"),  # many rounds: more tasks than a shim queue holds
]


@pytest.mark.parametrize("name", ["tiny", "npu1", "npu2"])
def test_language_model_operators_compute_right_on_the_shipped_configs(name: str) -> None:
    for i, layer in enumerate(LAYERS):
        check(config(name), layer, i)


@pytest.mark.parametrize("layer", [
    Softmax(rows=8, length=1000, causal_queries=4, scale=0.5, dtype="bf16"),
    Softmax(rows=3, length=999, dtype="bf16"),
    Softmax(rows=5, length=3000, scale=0.125, dtype="bf16"),
], ids=lambda ly: ly.describe())
def test_softmax_rows_longer_than_the_data_memory_run_in_segments(layer: Softmax) -> None:
    # a 4 KiB data memory holds no whole row: each row streams twice, segment by segment (running max and sum,
    # then the normalised segments); the answer is the one-shot softmax's
    cfg = load_config(ROOT / "configs/tiny.yaml", ["compute_tile.data_mem_kib=4"])
    low = lower_vector(cfg, layer)
    assert low.plan.segments >= 2 and low.plan.segments % 2 == 0 and low.plan.steps == 2 * low.plan.segments
    check(cfg, layer)


def test_a_segmented_softmax_reads_its_rows_twice() -> None:
    cfg = load_config(ROOT / "configs/tiny.yaml", ["compute_tile.data_mem_kib=4"])
    layer = Softmax(rows=4, length=2048, dtype="bf16")
    report = run_layer(cfg, layer)
    low = lower_vector(cfg, layer)
    rows = low.plan.rounds * low.plan.cores * low.plan.block[0]
    keys = rows * low.plan.segments * 4
    assert report.ddr.bytes_read == 2 * (rows * 2048 * 2 + keys)
    assert report.ddr.bytes_written == rows * 2048 * 2


@st.composite
def llm_layers(draw: st.DrawFn) -> VectorLayer:
    what = draw(st.sampled_from(["rmsnorm", "rope", "causal", "swiglu", "embedding"]))
    rows = draw(st.integers(1, 40))
    length = 2 * draw(st.integers(1, 40))
    if what == "rmsnorm":
        return RMSNorm(rows=rows, length=length, dtype="bf16")
    if what == "rope":
        heads = draw(st.integers(1, 4))
        return Rope(rows=rows * heads, length=length, heads=heads, position=draw(st.integers(0, 5000)),
                    theta=draw(st.sampled_from([10000.0, 500000.0])), dtype="bf16")
    if what == "causal":
        queries = draw(st.integers(1, length))
        return Softmax(rows=queries * draw(st.integers(1, 4)), length=length, causal_queries=queries,
                       scale=draw(st.sampled_from([1.0, 0.125])), dtype="bf16")
    if what == "swiglu":
        return Elementwise(kind="swiglu", shape=(rows, length), broadcast="same", dtype="bf16")
    vocab = draw(st.integers(1, 60))
    tokens = tuple(draw(st.lists(st.integers(0, vocab - 1), min_size=rows, max_size=rows)))
    dtype = draw(st.sampled_from(["int8", "bf16"]))
    return Embedding(rows=rows, length=2 * length if dtype == "int8" else length, vocab=vocab, tokens=tokens,
                     dtype=dtype)  # rows of whole 32-bit words


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=llm_layers(), seed=st.integers(0, 2**16))
def test_property_llm_operators_move_and_compute_any_shape(layer: VectorLayer, seed: int) -> None:
    check(config("tiny"), layer, seed)


# ---- the formulas, against numpy written here ---------------------------------------------------

def bf16(x: np.ndarray) -> np.ndarray:
    return f32_to_bf16(np.asarray(x, dtype=np.float32))


def num(bits: np.ndarray) -> np.ndarray:
    return bf16_to_f32(bits).astype(np.float64)


def close(got: np.ndarray, want: np.ndarray) -> None:
    """Within two bf16 roundings of the exact value (float32 evaluation plus the final rounding)."""
    g = num(got)
    assert np.all(np.abs(g - want) <= 2.0 ** -7 * np.abs(want) + 1e-6), np.abs(g - want).max()


def test_rmsnorm_formula() -> None:
    rng = np.random.default_rng(1)
    x, gamma = bf16(rng.standard_normal((7, 48))), bf16(rng.standard_normal(48))
    xv, gv = num(x), num(gamma)
    want = xv / np.sqrt((xv ** 2).sum(axis=1, keepdims=True) / 48 + 1e-5) * gv
    close(vm.rmsnorm(x, gamma, 1e-5, "bf16"), want)


def test_rope_rotates_each_pair_by_its_position_angle() -> None:
    # as a complex rotation: (x_i + j x_{i+d/2}) * exp(j * pos * theta^(-2i/d))
    rng = np.random.default_rng(2)
    d, pos = 32, np.array([0, 1, 7, 300])
    x = bf16(rng.standard_normal((4, d)))
    freq = 10000.0 ** (-np.arange(d // 2) * 2.0 / d)
    z = (num(x)[:, :d // 2] + 1j * num(x)[:, d // 2:]) * np.exp(1j * pos[:, None] * freq[None, :])
    table = bf16(vm.rope_table(pos, d, 10000.0))
    got = num(vm.rope(x, table, "bf16"))
    assert np.allclose(got[:, :d // 2], z.real, atol=0.03) and np.allclose(got[:, d // 2:], z.imag, atol=0.03)
    assert np.array_equal(got[0], num(x)[0])  # position 0: no rotation


def test_causal_softmax_masks_the_future_keys() -> None:
    rng = np.random.default_rng(3)
    layer = Softmax(rows=6, length=5, causal_queries=3, scale=0.5, dtype="bf16")
    assert layer.keys() == (3, 4, 5, 3, 4, 5)
    x = bf16(rng.standard_normal((6, 5)))
    want = np.zeros((6, 5))
    for r, keys in enumerate(layer.keys()):
        e = np.exp(0.5 * num(x)[r, :keys] - (0.5 * num(x)[r, :keys]).max())
        want[r, :keys] = e / e.sum()
    got = vm.softmax(x, "bf16", 0.5, np.array(layer.keys()))
    close(got, want)
    assert np.all(num(got)[np.arange(5)[None, :] >= np.array(layer.keys())[:, None]] == 0)


def test_silu_and_swiglu_formulas() -> None:
    rng = np.random.default_rng(4)
    gate, up = bf16(4 * rng.standard_normal((3, 16))), bf16(rng.standard_normal((3, 16)))
    silu = num(gate) / (1 + np.exp(-num(gate)))
    close(vm.unary("silu", gate, "bf16"), silu)
    close(vm.binary("swiglu", gate, up, "bf16"), silu * num(up))


# ---- timing and what moves -----------------------------------------------------------------------

def test_the_gather_reads_only_the_rows_it_needs() -> None:
    cfg = config("npu2")
    small = run_layer(cfg, Embedding(rows=4, length=2048, vocab=1000, dtype="bf16"))
    large = run_layer(cfg, Embedding(rows=4, length=2048, vocab=128256, dtype="bf16"))
    row = 2048 * 2
    assert small.ddr.bytes_read == large.ddr.bytes_read
    cores = lower_vector(cfg, Embedding(rows=4, length=2048, vocab=1000, dtype="bf16")).plan.cores
    assert small.ddr.bytes_read == cores * row  # a row per core (the layer's 4, then re-reads of row 0)
    assert small.cycles == large.cycles


def test_a_causal_softmax_call_is_timed_by_the_softmax_rule() -> None:
    cfg = config("npu2")
    low = lower_vector(cfg, Softmax(rows=64, length=256, causal_queries=16, dtype="bf16"))
    rb = low.plan.block[0]
    assert low.plan.kernel_cycles == vector_cycles(cfg.compute_tile, "softmax", "bf16", rb * 256)
    assert low.plan.y_bytes == 4 * rb  # one key count per row


@pytest.mark.parametrize("make, message", [
    (lambda: Rope(rows=2, length=7, dtype="bf16"), "rope rotates pairs: length 7 must be even"),
    (lambda: Embedding(rows=2, length=8, vocab=4, tokens=(1, 4), dtype="bf16"),
     "token id 4 is not below the vocabulary size 4"),
    (lambda: Embedding(rows=2, length=8, vocab=4, tokens=(1,), dtype="bf16"), "tokens has 1 ids for 2 rows"),
    (lambda: Softmax(rows=2, length=3, causal_queries=4, dtype="bf16"), "causal_queries 4 is more than the 3 keys"),
    (lambda: RMSNorm(rows=2, length=8, dtype="int8"), "rmsnorm is defined in bf16 only"),
    (lambda: Elementwise(kind="swiglu", shape=(2, 8), dtype="bf16"), "swiglu is binary: it needs broadcast"),
])
def test_bad_llm_layers_say_what_is_wrong(make: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make()  # type: ignore[operator]
