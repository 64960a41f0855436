"""Properties of the mapper over random layers and geometries (hypothesis): every design it can
emit computes what numpy computes and never deadlocks, the estimate's DDR bytes are what the
simulation moves, and more hardware is never slower."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from npusim import load_config
from npusim.config import NPUConfig
from npusim.engine import RunOptions, run_program
from npusim.frontend import Conv2d, Gemm, Pins, lower
from npusim.frontend.lower import Lowered
from npusim.frontend.mapper.candidates import option_sets, plan_of, row_tiles
from npusim.frontend.mapper.design import Design
from npusim.frontend.mapper.estimate import Context
from npusim.frontend.mapper.search import build
from npusim.runner import run_lowered

ROOT = Path(__file__).resolve().parents[2]
def examples(n: int) -> settings:
    """Hypothesis settings of these tests: ``n`` examples, no deadline (each simulates), derandomized
    so that the suite is reproducible."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def npu(name: str, *overrides: str) -> NPUConfig:
    return load_config(ROOT / f"configs/{name}.yaml", list(overrides))


@st.composite
def layers(draw: st.DrawFn) -> Gemm | Conv2d:
    """Small GEMMs (square, skinny, GEMVs, B stored by rows or columns) and convolutions."""
    dtype = draw(st.sampled_from(["int8", "bf16", "int16"]))
    out = draw(st.sampled_from([None, "int32"])) if dtype != "bf16" else draw(st.sampled_from([None, "fp32"]))
    shift = draw(st.integers(0, 6)) if out is None and dtype != "bf16" else 0
    if draw(st.booleans()):
        m = draw(st.sampled_from([1, 2, 5, 16, 40, 96]))
        layout = draw(st.sampled_from(["weight", "weight", "row", "col"]))
        bias = layout == "weight" and draw(st.booleans())
        return Gemm(m=m, k=draw(st.integers(1, 160)), n=draw(st.integers(1, 120)), dtype=dtype, out_dtype=out,
                    shift=shift, bias=bias, relu=draw(st.booleans()), b_layout=layout)
    size, kernel = draw(st.integers(3, 12)), draw(st.sampled_from([1, 3]))
    return Conv2d(in_channels=draw(st.integers(1, 24)), height=size, width=draw(st.integers(3, 12)),
                  out_channels=draw(st.integers(1, 40)), kernel_h=kernel, kernel_w=kernel,
                  stride=draw(st.sampled_from([1, 2])), padding=kernel // 2, dtype=dtype, out_dtype=out, shift=shift,
                  bias=draw(st.booleans()), relu=draw(st.booleans()))


@st.composite
def designs(draw: st.DrawFn, layer: Gemm | Conv2d, config: NPUConfig) -> Design:
    """Any design the mapper could consider for ``layer`` on ``config`` (fitting or not)."""
    ctx = Context.of(config, layer)
    columns, rows = draw(st.integers(1, config.columns)), draw(st.integers(1, min(config.compute_rows, 4)))
    options = list(option_sets(ctx, columns, rows, Pins()))
    assume(options)
    opts = draw(st.sampled_from(options))
    ms = row_tiles(layer) if opts[6] == "rows" and isinstance(layer, Conv2d) else [4, 8, 16, 32]
    assume(ms)
    return Design(columns, rows, draw(st.sampled_from(ms)), draw(st.sampled_from([8, 16, 32, 48])),
                  draw(st.sampled_from([8, 16, 24])), *opts)  # type: ignore[arg-type]


@examples(30)
@given(st.data())
def test_every_design_computes_what_numpy_computes_and_moves_the_bytes_it_estimates(data: st.DataObject) -> None:
    config = npu(data.draw(st.sampled_from(["npu1", "npu2", "tiny"])))
    layer = data.draw(layers())
    design = data.draw(designs(layer, config))
    plan = plan_of(Context.of(config, layer), design)
    try:
        program, layout = build(config, plan)
    except Exception:  # a design the switches cannot route or the memories cannot hold: the search skips it
        assume(False)
        raise
    report = run_lowered(config, Lowered(plan, program, layout), RunOptions(functional=True, seed=5))
    assert report.functional_ok, f"{layer.describe()} with {design.describe()}: max error {report.max_abs_error}"
    # the engine prices DDR runs segment by segment: within a rounding of the estimate's exact count
    assert abs(report.ddr.bytes_accessed - plan.estimate.ddr_bytes) <= 1e-3 * plan.estimate.ddr_bytes + 64


@examples(20)
@given(st.data())
def test_no_design_deadlocks_on_any_geometry(data: st.DataObject) -> None:
    """Every program the mapper can emit runs to completion on every geometry the schema allows."""
    config = npu("npu2", f"columns={data.draw(st.integers(1, 8))}", f"compute_rows={data.draw(st.integers(1, 6))}")
    layer = data.draw(layers())
    design = data.draw(designs(layer, config))
    plan = plan_of(Context.of(config, layer), design)
    try:
        program, layout = build(config, plan)
    except Exception:
        assume(False)
        raise
    rec = run_program(config, program, RunOptions(max_cycles=50 * plan.estimate.cycles + 10 ** 6), "x", layout)
    assert rec.cycles > 0


def _cycles(config: NPUConfig, layer: Gemm | Conv2d) -> int:
    low = lower(config, layer)
    assert low.search is not None and all(c.ok or c.how.startswith("not built") for c in low.search.leaders), \
        [c.how for c in low.search.leaders]  # no leader deadlocked
    return low.search.winner.cycles


MORE = [
    ("columns", lambda a: f"columns={a}", (1, 2, 3, 4)),
    ("compute rows", lambda a: f"compute_rows={a}", (1, 2, 4)),
    ("memory tile", lambda a: f"mem_tile.size_kib={a}", (64, 128, 512, 2048)),
    ("data memory", lambda a: f"compute_tile.data_mem_kib={a}", (16, 32, 64)),
    ("DDR bandwidth", lambda a: f"ddr.bandwidth_gb_per_s={a}", (4, 17, 60)),
]


@examples(6)
@pytest.mark.parametrize("what, override, values", MORE, ids=[m[0] for m in MORE])
@given(layer=layers())
def test_more_hardware_is_never_slower(what: str, override: object, values: tuple[int, ...],
                                       layer: Gemm | Conv2d) -> None:
    cycles = []
    for value in values:
        try:
            cycles.append(_cycles(npu("npu1", override(value)), layer))  # type: ignore[operator]
        except Exception as exc:  # nothing fits the smallest: the larger ones must still work
            assert "no design fits" in str(exc) and not cycles, exc
    assert cycles
    for small, large in zip(cycles, cycles[1:]):
        assert large <= 1.01 * small, f"{layer.describe()}: more {what} is slower: {cycles} for {values}"


@examples(10)
@given(name=st.sampled_from(["npu1", "tiny"]), layer=layers())
def test_the_chosen_design_can_be_pinned(name: str, layer: Gemm | Conv2d) -> None:
    """Pins.of(the winner) lowers to the winner: every design the search returns is one its pins reach
    (the CLI's --use-columns ... --pixels and the golden tests pin designs this way)."""
    config = npu(name)
    chosen = lower(config, layer).plan.design
    assert lower(config, layer, pins=Pins.of(chosen)).plan.design == chosen


def test_a_wider_array_keeps_the_narrower_winner() -> None:
    """ResNet's 3x3 convolution on npu2: on 8 columns the estimate's leaders were all 8-column
    designs, 6.6% slower in simulation than the 4-column winner it no longer simulated. The search
    now simulates the leaders of every narrower array too."""
    layer = Conv2d(in_channels=128, height=28, width=28, out_channels=128, kernel_h=3, kernel_w=3, padding=1,
                   dtype="int8")
    four = lower(npu("npu2", "columns=4"), layer).search
    eight = lower(npu("npu2", "columns=8"), layer).search
    assert four is not None and eight is not None
    assert eight.winner.cycles <= four.winner.cycles
    assert four.winner.design in {c.design for c in eight.leaders}
