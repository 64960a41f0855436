"""The text report: headline, tables and the DDR line carry the report's figures."""
from __future__ import annotations

from pathlib import Path

from npusim import load_config, load_program, simulate
from npusim.isa import program_from_dict
from npusim.report import format_report

ROOT = Path(__file__).resolve().parents[1]
TINY = load_config(ROOT / "configs/tiny.yaml")


def test_passthrough_text_report() -> None:
    text = format_report(simulate(TINY, load_program(ROOT / "traces/passthrough.json")))
    lines = text.splitlines()
    assert lines[:3] == ["program  passthrough", "config   tiny (test array) @ 1000 MHz",
                         "total    4,338 cycles = 4.338 us"]
    assert "cores" not in lines  # no core runs in this trace
    row = next(line for line in lines if line.startswith("(0,0) shim") and "mm2s0" in line).split()
    assert row[3:] == ["4,096", "1", "1,024", "23.6%", "0", "0"]  # bytes, bds, busy, busy%, stalls
    assert lines[-1].startswith("run      ") and "hardware events" in lines[-1]
    ddr = next(i for i, line in enumerate(lines) if line.startswith("ddr      "))
    assert lines[ddr] == ("ddr      read 4,096 B, written 4,096 B, busy 2,048 cycles, average 1.89 GB/s "
                          "of 8.00 GB/s")
    # then the energy table (one row per component and a total) and the power line
    assert lines[ddr + 2] == "energy by component" and lines[ddr + 5].split()[0] == "MACs"
    assert lines[ddr + 15].split()[0] == "total" and lines[-2].startswith("power    average ")


def test_core_table_and_wasted_ddr_accesses() -> None:
    program = program_from_dict({
        "name": "strided", "tensors": [{"name": "a", "size_bytes": 16384}],
        "tiles": [{"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 1024}],
                   "dma": [{"channel": "s2mm0", "bds": [{"buffer": "m", "length_bytes": 1024}]}]},
                  {"tile": [0, 2], "core": [{"op": "compute", "m": 16, "k": 16, "n": 16, "dtype": "int8"}]}],
        "routes": [{"name": "in", "source": {"tile": [0, 0], "channel": "mm2s0"},
                    "destinations": [{"tile": [0, 1], "channel": "s2mm0"}]}],
        "runtime": [{"op": "dma", "name": "a", "tile": [0, 0], "channel": "mm2s0", "tensor": "a",
                     "length_bytes": 1024, "dims": [{"size": 256, "stride": 16}]}]})
    lines = format_report(simulate(TINY, program)).splitlines()
    header = lines.index("cores")
    assert lines[header + 1].split() == ["tile", "busy", "busy%", "lock", "stall", "dma", "stall", "idle", "calls"]
    assert lines[header + 3].split() == ["(0,2)", "26", "1.2%", "0", "0", "2,131", "1"]
    assert next(line for line in lines if line.startswith("ddr      ")).startswith(
        "ddr      read 1,024 B, written 0 B (+15,360 B in partly used accesses), ")
    # 16 x 16 x 16 int8 MACs = 8192 ops in 2157 cycles at 1 GHz; peak 2 x 4 cores x 256 x 1 GHz
    assert lines[-2] == "ops      8,192 -> 0.004 TOPS achieved of 2.048 peak (0.2%)"
