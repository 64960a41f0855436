"""Axis labels from the schema: ``describe(key)`` walks the config models down a dotted key."""
from __future__ import annotations

import pytest

from npusim.config.describe import describe


@pytest.mark.parametrize(("key", "label", "unit"), [
    ("clock_mhz", "Array clock (MHz)", "MHz"),
    ("columns", "Columns of the array usable by one design", ""),
    ("mem_tile.size_kib", "Memory-tile SRAM capacity (KiB)", "KiB"),
    ("ddr.bandwidth_gb_per_s", "Sustained DDR bandwidth available to the NPU (GB/s)", "GB/s"),
    ("ddr.latency_ns", "Latency of a DDR access from a shim DMA (ns)", "ns"),
    ("stream_switch.bytes_per_cycle", "Bytes a stream moves per cycle (B/cycle)", "B/cycle"),
    # through a table keyed by data type, and by operator then data type
    ("compute_tile.kernels.tuned.variants.int8.efficiency", "Sustained fraction of the peak in a call's MAC loop", ""),
    ("compute_tile.vector.add.int8.cycles_per_element", "Cycles per element the call reads", ""),
    ("power.mac_pj.int8", "Energy per multiply-accumulate of a matmul kernel (pJ)", "pJ"),
    # the unit from the description when the field's name (a tile kind) has none
    ("power.static_w.compute", "Per compute tile (W)", "W"),
    # through an optional section
    ("power.voltage.reference_clock_mhz", "Reference clock of the energy table (MHz)", "MHz"),
])
def test_labels_of_config_fields(key: str, label: str, unit: str) -> None:
    doc = describe(key)
    assert (doc.label, doc.unit) == (label, unit)
    assert doc.description


@pytest.mark.parametrize("key", ["options.seed", "report.clock_mhz", "columns.nothing", "nowhere"])
def test_a_key_that_is_no_config_field_is_its_own_label(key: str) -> None:
    doc = describe(key)
    assert doc.description == "" and doc.short == key
