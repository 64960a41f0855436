"""Voltage-frequency scaling and the NPU's own power.

The energy table holds at one clock and voltage; at another clock dynamic energy scales with
(V/Vref)^2 and leakage power with V/Vref, DDR energy not at all (npusim/power/voltage.py). So a
clock what-if changes the energy per operation. ``npu_power_w`` is the power without DRAM.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim import Gemm, RunOptions, load_config, load_workload, run_workload
from npusim.cli import main
from npusim.config import ConfigError, VoltagePoint, VoltageSpec
from npusim.frontend import Pins, lower
from npusim.power import COMPONENTS, operating_power, scaled_power, volts_at
from npusim.report import format_report, format_workload
from npusim.runner import run_layer

ROOT = Path(__file__).resolve().parents[2]
NPU2 = ROOT / "configs/npu2.yaml"
CURVE = VoltageSpec(reference_clock_mhz=1000, points=[VoltagePoint(clock_mhz=500, volts=0.6),
                                                     VoltagePoint(clock_mhz=1000, volts=0.8),
                                                     VoltagePoint(clock_mhz=2000, volts=1.0)])


@pytest.mark.parametrize(("clock", "volts"), [
    (100, 0.6), (500, 0.6),            # at and below the lowest point: its voltage (the rail's minimum)
    (750, 0.7), (1000, 0.8),           # linear between points
    (1500, 0.9), (2000, 1.0),
    (3000, 1.2),                       # above the highest: the top segment's slope, 0.2 V per 1000 MHz
])
def test_volts_are_interpolated_on_the_curve(clock: float, volts: float) -> None:
    assert volts_at(CURVE, clock) == pytest.approx(volts)


def test_a_single_point_curve_is_flat() -> None:
    flat = VoltageSpec(reference_clock_mhz=1000, points=[VoltagePoint(clock_mhz=1000, volts=0.75)])
    assert volts_at(flat, 300) == volts_at(flat, 5000) == 0.75


def test_the_table_at_its_reference_clock_is_the_table() -> None:
    config = load_config(NPU2)
    assert config.power.voltage is not None and config.clock_mhz == config.power.voltage.reference_clock_mhz
    assert operating_power(config) == config.power


def test_every_figure_scales_by_its_rule() -> None:
    power = load_config(ROOT / "configs/tiny.yaml").power  # Vref 0.8 V at 1000 MHz
    at = scaled_power(power, 2000)                         # 1.0 V: dynamic x (1/0.8)^2, leakage x 1/0.8
    dyn, leak = (1.0 / 0.8) ** 2, 1.0 / 0.8
    assert at.mac_pj["int8"] == pytest.approx(power.mac_pj["int8"] * dyn)
    assert at.vector_pj_per_element["bf16"] == pytest.approx(power.vector_pj_per_element["bf16"] * dyn)
    assert at.data_memory.write_pj_per_byte == pytest.approx(power.data_memory.write_pj_per_byte * dyn)
    assert at.mem_tile_memory.read_pj_per_byte == pytest.approx(power.mem_tile_memory.read_pj_per_byte * dyn)
    assert at.stream_hop_pj_per_byte == pytest.approx(power.stream_hop_pj_per_byte * dyn)
    assert at.lock_op_pj == pytest.approx(power.lock_op_pj * dyn)
    assert at.static_w.mem == pytest.approx(power.static_w.mem * leak)
    # clock-tree watts x (f/fref) x (V/Vref)^2: its energy per active cycle scales with V^2 alone
    assert at.clock_w.compute == pytest.approx(power.clock_w.compute * 2 * dyn)
    assert at.ddr_pj_per_byte == power.ddr_pj_per_byte  # the DRAM is on its own rails


def test_a_faster_clock_costs_more_energy_for_the_same_gemm() -> None:
    gemm = Gemm(m=512, k=512, n=512, dtype="int8")
    pins = Pins.of(lower(load_config(NPU2, ["clock_mhz=1000"]), gemm).plan.design)  # one design at both clocks
    slow = run_layer(load_config(NPU2, ["clock_mhz=1000"]), gemm, pins=pins)
    fast = run_layer(load_config(NPU2, ["clock_mhz=1800"]), gemm, pins=pins)
    assert fast.energy_j is not None and slow.energy_j is not None and fast.seconds < slow.seconds
    assert fast.energy_j > slow.energy_j
    parts_fast, parts_slow = fast.energy_by_component or {}, slow.energy_by_component or {}
    assert parts_fast["macs"] / parts_slow["macs"] == pytest.approx((0.90 / volts_at(
        load_config(NPU2).power.voltage, 1000)) ** 2)  # type: ignore[arg-type]
    assert parts_fast["ddr"] == pytest.approx(parts_slow["ddr"])
    # without the curve the old model priced every action alike at any clock, and the faster clock,
    # paying less static energy over a shorter run, looked cheaper: the curve is what turns it round
    flat = ["power.voltage=null"]
    assert (run_layer(load_config(NPU2, ["clock_mhz=1800", *flat]), gemm, pins=pins).energy_j or 0) < \
        (run_layer(load_config(NPU2, ["clock_mhz=1000", *flat]), gemm, pins=pins).energy_j or 0)


def test_npu_power_leaves_out_the_dram_and_only_the_dram() -> None:
    r = run_layer(load_config(NPU2), Gemm(m=256, k=256, n=256, dtype="bf16"))
    parts = r.energy_by_component or {}
    assert set(parts) == set(COMPONENTS)
    assert r.npu_power_w == pytest.approx((sum(parts.values()) - parts["ddr"]) / r.seconds)
    assert r.average_power_w == pytest.approx(sum(parts.values()) / r.seconds)


CONFIGS = ("configs/tiny.yaml", "configs/npu1.yaml", "configs/npu2.yaml")


@settings(max_examples=12, deadline=None)
@given(config=st.sampled_from(CONFIGS), clock=st.sampled_from((600, 1000, 1400, 2200)),
       m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), dtype=st.sampled_from(("int8", "bf16")))
def test_npu_power_never_exceeds_average_power(config: str, clock: int, m: int, k: int, n: int, dtype: str) -> None:
    r = run_layer(load_config(ROOT / config, [f"clock_mhz={clock}"]),
                  Gemm(m=32 * m, k=32 * k, n=32 * n, dtype=dtype))  # type: ignore[arg-type]
    assert r.npu_power_w is not None and r.average_power_w is not None
    assert 0 < r.npu_power_w <= r.average_power_w
    assert r.to_dict()["npu_power_w"] == r.npu_power_w


def test_every_view_gives_npu_power_beside_average_power(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(ROOT / "configs/tiny.yaml")
    wr = run_workload(config, load_workload(ROOT / "workloads/small_gemms.yaml"), RunOptions())
    assert wr.npu_power_w is not None and wr.average_power_w is not None
    assert 0 < wr.npu_power_w <= wr.average_power_w
    ddr = sum((r.energy_by_component or {})["ddr"] * n for r, n in zip(wr.layers, wr.counts))
    assert wr.npu_power_w == pytest.approx(((wr.energy_j or 0) - ddr) / wr.seconds)
    data = wr.to_dict()
    assert data["npu_power_w"] == wr.npu_power_w and all(ly["npu_power_w"] <= ly["average_power_w"]
                                                         for ly in data["layers"])
    assert f"NPU alone {wr.npu_power_w:.3f} W, DRAM excluded" in format_workload(wr)
    assert f"NPU alone {wr.layers[0].npu_power_w:.3f} W" in format_report(wr.layers[0])
    assert list(wr.to_dataframe()["npu_power_w"]) == [r.npu_power_w for r in wr.layers]
    assert main(["run", "--config", str(ROOT / "configs/tiny.yaml"), "--gemm", "64x64x64", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert 0 < one["npu_power_w"] <= one["average_power_w"]
    assert main(["run", "--config", str(ROOT / "configs/tiny.yaml"), "--gemm", "64x64x64", "--csv",
                 str(tmp_path)]) == 0
    header, row = (tmp_path / "layers.csv").read_text().splitlines()[:2]
    values = dict(zip(header.split(","), row.split(",")))
    assert 0 < float(values["npu_power_w"]) <= float(values["average_power_w"])


@pytest.mark.parametrize(("points", "message"), [
    ("[{clock_mhz: 1000, volts: 0.8}, {clock_mhz: 500, volts: 0.6}]",
     r"points must be in strictly increasing clock_mhz order, got \[1000\.0, 500\.0\]; sort them"),
    ("[{clock_mhz: 500, volts: 0.9}, {clock_mhz: 1000, volts: 0.6}]",
     r"points: the voltage falls as the clock rises \(\[0\.9, 0\.6\] V\)"),
    ("[]", r"points: List should have at least 1 item"),
])
def test_a_bad_curve_is_named(points: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(ROOT / "configs/tiny.yaml", [f"power.voltage.points={points}"])
