"""The fusion decision on random chains of layers (hypothesis): the schedule covers the workload
in order, every fused group in it was simulated no slower than its layers run one by one (so the
whole is never slower than the layer-by-layer schedule), and each fused group, run in functional
mode, computes what numpy computes without a deadlock."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from npusim.config import load_config
from npusim.engine import RunOptions
from npusim.frontend import Conv2d, Elementwise, Pool
from npusim.frontend.fusion import FusionCache, plan_fusion
from npusim.frontend.fusion.explain import layer_cycles
from npusim.frontend.layers.workload import Workload
from npusim.runner import run_fused

ROOT = Path(__file__).resolve().parents[2]
NPU1 = load_config(ROOT / "configs/npu1.yaml")


@st.composite
def networks(draw: st.DrawFn) -> Workload:
    dtype = draw(st.sampled_from(["int8", "int8", "bf16"]))
    size = draw(st.integers(6, 12))
    cin = draw(st.sampled_from([8, 16]))
    layers: list[Conv2d | Elementwise | Pool] = []
    for i in range(draw(st.integers(2, 4))):
        k = draw(st.sampled_from([1, 3]))
        stride = draw(st.sampled_from([1, 1, 2])) if size >= 8 else 1
        cout = draw(st.sampled_from([8, 16, 32]))
        layers.append(Conv2d(name=f"conv{i}", in_channels=cin, height=size, width=size, out_channels=cout,
                             kernel_h=k, kernel_w=k, stride=stride, padding=k // 2, dtype=dtype,  # type: ignore[arg-type]
                             shift=draw(st.integers(5, 8)) if dtype == "int8" else 0, relu=draw(st.booleans())))
        size, cin = layers[-1].out_h, cout  # type: ignore[union-attr]
    tail = draw(st.sampled_from(["none", "add", "pool"]))
    shape = (1, size, size, cin)
    if tail == "add":  # a skip: the last convolution's output plus an earlier one of its shape, or the host's
        skip = next((ly.name for ly in layers[:-1] if isinstance(ly, Conv2d)
                     and (1, ly.out_h, ly.out_w, ly.out_channels) == shape), None)
        layers.append(Elementwise(name="add", kind="add", shape=shape, broadcast="same", dtype=dtype, relu=True,
                                  inputs=(layers[-1].name,) + ((skip,) if skip else ())))
    elif tail == "pool" and size % 2 == 0:
        layers.append(Pool(name="pool", kind="avg", channels=cin, height=size, width=size, kernel_h=2, kernel_w=2,
                           stride=2, dtype=dtype))
    return Workload(name="random", chained=True, layers=layers)  # type: ignore[arg-type]


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(0, 3))
def test_fused_schedules_are_never_slower_and_compute_numpys_answer(wl: Workload, seed: int) -> None:
    alone = layer_cycles(NPU1, wl)
    schedule = plan_fusion(NPU1, wl, alone, FusionCache())
    assert [(d.start, d.stop) for d in schedule][0][0] == 0 and schedule[-1].stop == len(wl.layers)
    assert all(a.stop == b.start for a, b in zip(schedule, schedule[1:]))
    total = 0
    for d in schedule:
        if d.fused is None:
            total += alone[d.start]
            continue
        event(f"fused {d.fused.kind} of {d.stop - d.start}")
        assert d.fused.cycles <= sum(alone[d.start:d.stop])
        total += d.fused.cycles
        report = run_fused(NPU1, d.fused, d.start, RunOptions(functional=True, seed=seed, max_cycles=20_000_000),
                           list(wl.layers[d.start:d.stop]))
        assert report.functional_ok, (d.fused.program.name, report.max_abs_error)
    assert total <= sum(alone)
    if all(d.fused is None for d in schedule):
        event("nothing fused")
