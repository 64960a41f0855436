"""The Perfetto trace is Chrome trace-event JSON: metadata naming every process and thread,
complete events in microseconds that never overlap on a track, and counter tracks."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from npusim import Gemm, RunOptions, load_config, load_workload, run_layer, run_workload
from npusim.cli import main
from npusim.report.perfetto import ddr_bandwidth, perfetto_trace

ROOT = Path(__file__).resolve().parents[1]
PHASES = {"X", "C", "M"}


def check_trace_events(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Assert the trace-event format rules npusim's traces keep; return the events."""
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    assert trace.get("displayTimeUnit") in (None, "ms", "ns")
    names: dict[tuple[str, int, int], str] = {}
    for e in events:
        assert isinstance(e["name"], str) and e["name"]
        assert e["ph"] in PHASES
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index", "thread_sort_index")
            names[(e["name"], e["pid"], e["tid"] if e["name"].startswith("thread") else 0)] = str(e["args"])
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] > 0
            assert ("thread_name", e["pid"], e["tid"]) in names, f"unnamed track {e['pid']}/{e['tid']}"
        else:
            assert e["args"] and all(isinstance(v, (int, float)) for v in e["args"].values())
        assert ("process_name", e["pid"], 0) in names, f"unnamed process {e['pid']}"
    tracks: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            tracks[(e["pid"], e["tid"])].append(e)
        elif e["ph"] == "C":
            tracks[(e["pid"], e["name"])].append(e)
    for key, evs in tracks.items():
        ts = [e["ts"] for e in evs]
        assert ts == sorted(ts) and len(set(ts)) == len(ts), f"track {key}: timestamps not increasing"
        for a, b in zip(evs, evs[1:]):
            if a["ph"] == "X":
                assert a["ts"] + a["dur"] <= b["ts"] + 1e-6, f"track {key}: slices overlap at {b['ts']}"
    return events


def test_a_layers_trace_follows_the_format(tmp_path: Path) -> None:
    config = load_config(ROOT / "configs/npu1.yaml")
    report = run_layer(config, Gemm(name="g", m=256, k=256, n=256, dtype="int8"), RunOptions(record_intervals=True))
    trace = perfetto_trace(report, config, bins=50)
    events = check_trace_events(trace)
    meta = {(e["pid"], e["args"]["name"]) for e in events if e["name"] == "process_name"}
    assert (1, "NPU") in meta and any(n == "compute (0,2)" for _, n in meta) and any(n == "shim (0,0)" for _, n in meta)
    assert len(meta) == 1 + len(report.tiles)  # one process per tile
    threads = [e for e in events if e["name"] == "thread_name" and e["pid"] > 1]
    assert len(threads) == sum((t.core is not None) + len(t.channels) for t in report.tiles)  # a track per unit
    # timestamps are microseconds: the cycles over the clock in MHz
    last = max(e["ts"] + e.get("dur", 0) for e in events if e["ph"] != "M")
    assert last == pytest.approx(report.cycles / report.clock_mhz)
    core = next(e for e in events if e["ph"] == "X" and e["cat"] == "core")
    assert core["ts"] == pytest.approx(core["args"]["start_cycle"] / report.clock_mhz)
    assert core["name"] in ("busy", "lock stall", "DMA stall")
    busy = sum(e["dur"] for e in events if e["ph"] == "X" and e["pid"] == core["pid"] and e["tid"] == core["tid"]
               and e["name"] == "busy")
    assert busy > 0
    ddr = [e for e in events if e["ph"] == "C" and e["name"] == "DDR bandwidth (GB/s)"]
    assert len(ddr) == 51 and set(ddr[0]["args"]) == {"read", "write"}
    # the counter carries every DDR byte: GB/s x bin seconds summed over the bins
    bin_s = report.seconds / 50
    moved = sum((e["args"]["read"] + e["args"]["write"]) * 1e9 * bin_s for e in ddr)
    assert moved == pytest.approx(report.ddr.bytes_read + report.ddr.bytes_written, rel=1e-4)
    json.dumps(trace)  # plain JSON types only


def test_ddr_bandwidth_stays_under_the_peak_on_average() -> None:
    config = load_config(ROOT / "configs/npu2.yaml")
    report = run_layer(config, Gemm(name="g", m=512, k=512, n=512, dtype="bf16"), RunOptions(record_intervals=True))
    _, read, write = ddr_bandwidth(report, 100)
    assert (read + write).mean() == pytest.approx(report.ddr.bandwidth_gb_per_s, rel=1e-6)
    assert (read + write).mean() <= report.ddr.peak_gb_per_s


def test_a_workload_lays_its_layers_end_to_end() -> None:
    config = load_config(ROOT / "configs/tiny.yaml")
    wr = run_workload(config, load_workload(ROOT / "workloads/small_gemms.yaml"), RunOptions(record_intervals=True))
    events = check_trace_events(perfetto_trace(wr, config))
    layers = [e for e in events if e.get("cat") == "layer"]
    assert [e["args"]["cycles"] for e in layers] == [r.cycles for r in wr.layers]
    assert layers[-1]["ts"] + layers[-1]["dur"] == pytest.approx(sum(r.cycles for r in wr.layers) / config.clock_mhz)


def test_the_run_command_writes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t" / "run.json"
    assert main(["run", "--config", str(ROOT / "configs/tiny.yaml"), "--trace", str(ROOT / "traces/pingpong.json"),
                 "--perfetto", str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"perfetto {out}")
    check_trace_events(json.loads(out.read_text()))
    assert main(["run", "--config", str(ROOT / "configs/tiny.yaml"), "--trace", str(ROOT / "traces/pingpong.json"),
                 "--json", "--perfetto", str(out)]) == 0
    json.loads(capsys.readouterr().out)  # --json output stays one JSON object


def test_a_report_without_intervals_is_refused() -> None:
    config = load_config(ROOT / "configs/tiny.yaml")
    report = run_layer(config, Gemm(name="g", m=64, k=64, n=64, dtype="int8"))
    with pytest.raises(ValueError, match=r"RunOptions\(record_intervals=True\)"):
        perfetto_trace(report, config)


def test_the_power_counter_integrates_to_the_runs_energy() -> None:
    config = load_config(ROOT / "configs/npu1.yaml")
    report = run_layer(config, Gemm(name="g", m=256, k=256, n=256, dtype="int8"), RunOptions(record_intervals=True))
    events = check_trace_events(perfetto_trace(report, config, bins=40))
    power = [e for e in events if e["ph"] == "C" and e["name"] == "power (W)"]
    assert len(power) == 41 and "total" in power[0]["args"] and "macs" in power[0]["args"]
    bin_s = report.seconds / 40
    assert sum(e["args"]["total"] for e in power) * bin_s == pytest.approx(report.energy_j, rel=1e-4)
