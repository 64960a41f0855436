"""The power model: energy is the counted events times the config's table (DESIGN §5), power is
energy over time, and npu2 at full compute load stays inside AMD's envelope for the NPU."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from npusim import Elementwise, Gemm, RunOptions, load_config, load_program, lower, lower_vector
from npusim.config import ConfigError, NPUConfig
from npusim.engine import run_program
from npusim.isa import Layout, Program, verify
from npusim.power import COMPONENTS, attach_power, power_timeline
from npusim.runner import report_with_power, run_layer
from npusim.stats import Recorder, make_report

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")
NPU1 = load_config(ROOT / "configs/npu1.yaml")
NPU2 = load_config(ROOT / "configs/npu2.yaml")


def by_hand(rec: Recorder, config: NPUConfig, layout: Layout) -> dict[str, float]:
    """Every counted event of ``rec`` times ``config.power``, written out without npusim.power."""
    p, pj, spc = config.power, 1e-12, config.seconds_per_cycle
    e = dict.fromkeys(COMPONENTS, 0.0)
    for core in rec.cores.values():
        e["macs"] += sum(n * p.mac_pj[t] for t, n in core.macs_by_dtype.items()) * pj  # type: ignore[index]
        e["vector"] += sum(n * p.vector_pj_per_element[t]  # type: ignore[index]
                           for t, n in core.vector_elements_by_dtype.items()) * pj
        e["data_memory"] += (core.read_bytes * p.data_memory.read_pj_per_byte
                             + core.write_bytes * p.data_memory.write_pj_per_byte) * pj
    busiest: dict[tuple[int, int], int] = {t: c.busy for t, c in rec.cores.items()}
    for (tile, name), ch in rec.channels.items():
        kind, reads = config.tile_kind(tile[1]), name.startswith("mm2s")
        mem = {"compute": ("dma_memory", p.data_memory), "mem": ("mem_tile", p.mem_tile_memory)}.get(kind)
        if mem is not None:
            e[mem[0]] += ch.bytes * (mem[1].read_pj_per_byte if reads else mem[1].write_pj_per_byte) * pj
        busiest[tile] = max(busiest.get(tile, 0), ch.active - ch.stream_stall)
    for name, route in rec.routes.items():
        e["stream"] += route.bytes * (len(layout.paths[name].links) + 1) * p.stream_hop_pj_per_byte * pj
    e["ddr"] = rec.ddr.bytes_accessed * p.ddr_pj_per_byte * pj
    e["locks"] = sum(rec.lock_operations.values()) * p.lock_op_pj * pj
    e["clock"] = sum(cycles * getattr(p.clock_w, config.tile_kind(t[1])) for t, cycles in busiest.items()) * spc
    tiles = {"compute": config.columns * config.compute_rows, "mem": config.columns * config.mem_tile_rows,
             "shim": config.columns}
    e["static"] = sum(n * getattr(p.static_w, kind) for kind, n in tiles.items()) * rec.cycles * spc
    return e


def traced(config: NPUConfig, program: Program, source: str, layout: Layout | None = None) -> tuple[Recorder, Layout]:
    layout = layout or verify(program, config, source)
    return run_program(config, program, RunOptions(record_intervals=True), source, layout), layout


def run_case(case: str) -> tuple[NPUConfig, Recorder, Layout]:
    """Run one of ``CASES`` with intervals; return its config, recorder and verified layout."""
    config, what = CASES[case]
    if isinstance(what, str):
        return (config, *traced(config, load_program(ROOT / "traces" / what), what))
    low = lower(config, what) if isinstance(what, Gemm) else lower_vector(config, what)
    return (config, *traced(config, low.program, case, low.layout))


CASES: dict[str, tuple[NPUConfig, str | Gemm | Elementwise]] = {
    "tiny pingpong": (TINY, "pingpong.json"),
    "npu1 broadcast": (NPU1, "broadcast.json"),
    "npu1 gemm 256^3 int8": (NPU1, Gemm(m=256, k=256, n=256, dtype="int8")),
    "npu2 gemm 128x96x160 bf16": (NPU2, Gemm(m=128, k=96, n=160, dtype="bf16")),
    "npu2 add 64x512 bf16": (NPU2, Elementwise(kind="add", shape=(64, 512), broadcast="same", dtype="bf16")),
}


@pytest.mark.parametrize("case", CASES)
def test_energy_is_the_counted_events_times_the_table(case: str) -> None:
    config, rec, layout = run_case(case)
    report = report_with_power(rec, config, case, layout)
    expected = by_hand(rec, config, layout)
    assert report.energy_by_component is not None and list(report.energy_by_component) == list(COMPONENTS)
    for comp in COMPONENTS:
        assert report.energy_by_component[comp] == pytest.approx(expected[comp], rel=1e-12, abs=1e-24), comp
    assert report.energy_j == pytest.approx(sum(expected.values()), rel=1e-12)
    assert report.energy_j > 0 and expected["static"] > 0 and expected["clock"] > 0
    # average power x time = energy; TOPS/W = ops per joule / 1e12
    assert report.average_power_w is not None and report.tops_per_watt is not None
    assert report.average_power_w * report.seconds == pytest.approx(report.energy_j, rel=1e-12)
    assert report.tops_per_watt == pytest.approx(report.ops / report.energy_j / 1e12, rel=1e-12)


def test_each_kind_of_event_is_counted() -> None:
    # the cases above exercise every component: MACs in two types, vector elements, every memory
    energy = {}
    for case in ("npu2 gemm 128x96x160 bf16", "npu2 add 64x512 bf16"):
        config, rec, layout = run_case(case)
        energy[case] = report_with_power(rec, config, case, layout).energy_by_component or {}
    assert energy["npu2 gemm 128x96x160 bf16"]["macs"] > 0 and energy["npu2 gemm 128x96x160 bf16"]["vector"] == 0
    assert energy["npu2 add 64x512 bf16"]["vector"] > 0 and energy["npu2 add 64x512 bf16"]["macs"] == 0
    assert all(v > 0 for k, v in energy["npu2 gemm 128x96x160 bf16"].items() if k != "vector")


def test_a_broadcast_pays_its_shared_trunk_once() -> None:
    config, rec, layout = run_case("npu1 broadcast")
    report = report_with_power(rec, config, "broadcast", layout)
    cast = max(report.routes, key=lambda r: len(r.switches))
    assert len(cast.switches) > 1 and max(cast.switches) <= cast.tree_switches < sum(cast.switches)
    assert report.actions.stream_byte_switches == sum(r.bytes * r.tree_switches for r in report.routes)


def test_power_timeline_integrates_to_the_energy() -> None:
    config, rec, layout = run_case("npu1 gemm 256^3 int8")
    report = report_with_power(rec, config, "gemm", layout)
    tl = power_timeline(report, config, bins=50)
    assert tl.resolved and len(tl.t_s) == 50 and set(tl.watts) == set(COMPONENTS)
    assert tl.t_s[0] == 0 and np.allclose(np.diff(tl.t_s), tl.bin_s)
    assert tl.bin_s * 50 == pytest.approx(report.seconds)
    assert np.allclose(tl.total_w, sum(tl.watts.values()))
    for comp in COMPONENTS:
        assert (tl.watts[comp] * tl.bin_s).sum() == pytest.approx((report.energy_by_component or {})[comp], rel=1e-9)
    assert np.all(tl.total_w >= 0) and np.allclose(tl.watts["static"], tl.watts["static"][0])
    # the peak is the highest of the 200 windows the report uses, at least the average
    assert report.peak_power_w == pytest.approx(float(power_timeline(report, config).total_w.max()))
    assert report.average_power_w is not None and report.peak_power_w >= report.average_power_w
    assert report.peak_power_window_s == pytest.approx(report.seconds / 200)


def test_without_intervals_the_energy_is_the_same_and_the_peak_unknown() -> None:
    layer = Gemm(m=256, k=256, n=256, dtype="int8")
    plain = run_layer(NPU1, layer)
    traced_ = run_layer(NPU1, layer, RunOptions(record_intervals=True))
    assert plain.energy_j == traced_.energy_j and plain.energy_by_component == traced_.energy_by_component
    assert plain.peak_power_w is None and plain.peak_power_window_s is None and traced_.peak_power_w is not None
    tl = power_timeline(plain, NPU1, bins=10)
    assert not tl.resolved and np.allclose(tl.total_w, plain.average_power_w or 0.0)


def test_attach_power_fills_a_bare_report() -> None:
    rec, layout = traced(TINY, load_program(ROOT / "traces/pingpong.json"), "pingpong")
    bare = make_report(rec, TINY, "pingpong")
    assert bare.energy_j is None and bare.to_dict()["energy_j"] is None
    full = attach_power(bare, TINY)
    assert full.energy_j == pytest.approx(sum(by_hand(rec, TINY, layout).values()))
    with pytest.raises(ValueError, match=r"^power_timeline: bins must be at least 1, got 0$"):
        power_timeline(full, TINY, bins=0)


# -- AMD's envelope ------------------------------------------------------------------------------
# AMD rates XDNA2 at 50 TOPS in Ryzen AI 300 SoCs whose TDP is configurable from 15 W (default 28 W,
# up to 54 W) and presented it as a 50 TOPS-class NPU "within the confines of its 15 W TDP"
# (configs/npu2.yaml, end of the power section). The NPU at full load must fit well inside 15 W.
ENVELOPE_W = 15.0
FAST_FEEDS = ["ddr.bandwidth_gb_per_s=1000", "stream_switch.bytes_per_cycle=8", "compute_tile.dma.bytes_per_cycle=8",
              "mem_tile.dma.bytes_per_cycle=8", "shim_tile.dma.bytes_per_cycle=8"]


def test_npu2_at_full_compute_load_is_inside_amds_power_envelope() -> None:
    # faster streams and DDR (the AM027 64-bit what-if) so that the cores, not the feeds, set the pace
    config = load_config(ROOT / "configs/npu2.yaml", FAST_FEEDS)
    report = run_layer(config, Gemm(m=1024, k=1024, n=1024, dtype="int8"), RunOptions(record_intervals=True))
    cores = [t.core for t in report.tiles if t.core is not None]
    assert len(cores) == 32 and min(c.busy for c in cores) >= 0.9 * report.cycles  # every core computing
    assert report.energy_by_component is not None and report.average_power_w is not None
    on_chip = report.average_power_w - report.energy_by_component["ddr"] / report.seconds
    assert 2.0 < on_chip < ENVELOPE_W  # the array itself
    assert report.average_power_w < ENVELOPE_W  # with the DRAM traffic it drives
    assert report.peak_power_w is not None and report.peak_power_w < ENVELOPE_W
    assert 5.0 < report.ops / (report.energy_j - report.energy_by_component["ddr"]) / 1e12 < 20.0  # TOPS/W on chip


# -- config ----------------------------------------------------------------------------------------

def test_every_kernel_type_needs_an_energy(tmp_path: Path) -> None:
    text = (ROOT / "configs/tiny.yaml").read_text().replace("  mac_pj: {int8: 0.1, int16: 0.4, bf16: 0.5}",
                                                            "  mac_pj: {int8: 0.1, int16: 0.4}")
    path = tmp_path / "no_bf16.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert re.fullmatch(re.escape(str(path)) + r": <top level>: the compute tile has kernels without an energy: add "
                        r"power\.mac_pj\.bf16 \(pJ per MAC or per element\)", str(err.value)), str(err.value)


def test_power_fields_are_validated_and_overridable() -> None:
    with pytest.raises(ConfigError, match=r"power\.ddr_pj_per_byte: Input should be greater than or equal to 0"):
        load_config(ROOT / "configs/tiny.yaml", ["power.ddr_pj_per_byte=-1"])
    with pytest.raises(ConfigError, match=r"power\.static_w\.core: unknown field"):
        load_config(ROOT / "configs/tiny.yaml", ["power.static_w.core=1"])
    assert load_config(ROOT / "configs/npu2.yaml", ["power.mac_pj.int8=0.2"]).power.mac_pj["int8"] == 0.2


def test_shipped_tables_are_ordered_sensibly() -> None:
    for config in (NPU1, NPU2):
        p = config.power
        assert p.mac_pj["int8"] < p.mac_pj["int16"] and p.mac_pj["int8"] < p.mac_pj["bf16"]
        assert p.data_memory.read_pj_per_byte < p.mem_tile_memory.read_pj_per_byte < p.ddr_pj_per_byte
        assert p.static_w.shim < p.static_w.compute < p.static_w.mem
