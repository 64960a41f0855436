"""A network end to end: a residual CNN (convolutions with bias and ReLU, a residual Add reading
the stem's output, a 1x1 widening, a global average pool, a fully connected layer) runs through
its fusion schedule (tests/fusion/residual.yaml) on real weights, each dispatch reading what the ones before it left in DDR,
and its output equals numpy's.

The reference below is written here, from the operators' definitions (int8 operands, exact 32-bit
sums, bias, ReLU, a right shift rounding half up, saturation; an average rounding half up), with
plain numpy and none of the simulator's kernels or rounding code."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from npusim.config import load_config
from npusim.engine import RunOptions
from npusim.frontend import load_workload
from npusim.frontend.fusion import Dispatch, FusionCache, measure_group, plan_fusion
from npusim.frontend.fusion.explain import layer_cycles
from npusim.frontend.fusion.network import run_network
from npusim.frontend.layers.workload import Workload

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NPU1 = load_config(ROOT / "configs/npu1.yaml")
SIZE, C = 10, 16


def network() -> Workload:
    return load_workload(HERE / "residual.yaml")


def weights(seed: int) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(seed)
    image = rng.integers(-40, 41, (1, SIZE, SIZE, 8)).astype(np.int8)
    w: dict[str, dict[str, np.ndarray]] = {}
    for name, (k, cin, cout) in {"stem": (3, 8, C), "conv1": (3, C, C), "conv2": (3, C, C),
                                 "widen": (1, C, 2 * C)}.items():
        w[name] = {"w": rng.integers(-6, 7, (k, k, cin, cout)).astype(np.int8),
                   "bias": rng.integers(-300, 301, cout).astype(np.int32)}
    w["fc"] = {"b": rng.integers(-6, 7, (2 * C, 10)).astype(np.int8), "bias": rng.integers(-50, 51, 10).astype(np.int32)}
    return image, w


def requantize(acc: np.ndarray, shift: int) -> np.ndarray:
    return np.clip((acc + (1 << (shift - 1))) >> shift, -128, 127).astype(np.int64)


def conv_ref(x: np.ndarray, w: np.ndarray, bias: np.ndarray, shift: int, relu: bool) -> np.ndarray:
    k = w.shape[0]
    pad = k // 2
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    h, wd = x.shape[1], x.shape[2]
    acc = np.zeros((x.shape[0], h, wd, w.shape[3]), dtype=np.int64)
    for r in range(k):
        for s in range(k):
            acc += np.einsum("bhwc,co->bhwo", xp[:, r:r + h, s:s + wd, :].astype(np.int64), w[r, s].astype(np.int64))
    acc += bias
    return requantize(np.maximum(acc, 0) if relu else acc, shift)


def reference(image: np.ndarray, w: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    out["stem"] = conv_ref(image, w["stem"]["w"], w["stem"]["bias"], 6, True)
    out["conv1"] = conv_ref(out["stem"], w["conv1"]["w"], w["conv1"]["bias"], 7, True)
    out["conv2"] = conv_ref(out["conv1"], w["conv2"]["w"], w["conv2"]["bias"], 7, False)
    out["add"] = np.clip(np.maximum(out["conv2"] + out["stem"], 0), -128, 127)
    out["widen"] = conv_ref(out["add"], w["widen"]["w"], w["widen"]["bias"], 5, True)
    total = out["widen"].sum(axis=(1, 2))
    out["gap"] = np.clip((total + SIZE * SIZE // 2) // (SIZE * SIZE), -128, 127)
    acc = out["gap"].reshape(1, -1) @ w["fc"]["b"].astype(np.int64) + w["fc"]["bias"]
    out["fc"] = requantize(acc, 4)
    return out


@pytest.fixture(scope="module")
def schedules() -> dict[str, list[Dispatch]]:
    wl = network()
    block, head = measure_group(NPU1, wl, 0, 4), measure_group(NPU1, wl, 4, 7)
    assert block is not None and block.kind == "spatial" and head is not None
    return {"searched": plan_fusion(NPU1, wl, layer_cycles(NPU1, wl), FusionCache()),
            "block with its skip": [Dispatch(0, 4, block), Dispatch(4, 7, head)],
            "layer by layer": [Dispatch(i, i + 1) for i in range(len(wl.layers))]}


def test_the_search_fuses_the_block_and_the_head(schedules: dict[str, list[Dispatch]]) -> None:
    fused = [(d.start, d.stop) for d in schedules["searched"] if d.fused is not None]
    assert len(fused) >= 2 and fused[-1][1] == 7 and sum(b - a for a, b in fused) >= 5, fused


@pytest.mark.parametrize("name", ["searched", "block with its skip", "layer by layer"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_network_output_read_back_from_ddr_equals_numpys(schedules: dict[str, list[Dispatch]], name: str,
                                                             seed: int) -> None:
    wl = network()
    image, w = weights(seed)
    got = run_network(NPU1, wl, {"stem": {"x": image}}, w, RunOptions(max_cycles=20_000_000), schedules[name])
    want = reference(image, w)
    assert "fc" in got
    for layer, value in got.items():  # every output that reached DDR, the network's output among them
        assert np.array_equal(value.reshape(-1).astype(np.int64), want[layer].reshape(-1)), layer
    assert len(np.unique(want["fc"])) > 3 and len(np.unique(want["add"])) > 20  # neither saturated nor all zero
