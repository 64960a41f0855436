"""Perfetto traces of imported designs: tracks named after the design's tiles and ObjectFIFOs.

The trace is npusim's (:func:`npusim.report.perfetto.perfetto_trace`); each tile's process gets its
SSA name (``compute (0,2) %tile_0_2``) and each DMA channel's track the ObjectFIFO or flow it
serves (``mm2s0 @in_core``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..config import NPUConfig
from ..output import write_text
from ..report.perfetto import perfetto_trace
from ..stats import Report
from .builder import NameMap

_PROCESS = re.compile(r"\((\d+),(\d+)\)$")


def rename(trace: dict[str, Any], names: NameMap) -> dict[str, Any]:
    """Rename the trace's process and thread tracks after the design (in place; returned)."""
    tiles: dict[int, tuple[int, int]] = {}
    for ev in trace["traceEvents"]:
        if ev.get("ph") == "M" and ev["name"] == "process_name":
            m = _PROCESS.search(ev["args"]["name"])
            if m:
                xy = (int(m.group(1)), int(m.group(2)))
                tiles[ev["pid"]] = xy
                if xy in names.tiles:
                    ev["args"]["name"] += f" {names.tiles[xy]}"
    for ev in trace["traceEvents"]:
        if ev.get("ph") == "M" and ev["name"] == "thread_name" and ev["pid"] in tiles:
            serves = names.channels.get((tiles[ev["pid"]], ev["args"]["name"]))
            if serves:
                ev["args"]["name"] += " " + serves.replace("ObjectFIFO ", "")
    return trace


def write_named_perfetto(report: Report, config: NPUConfig, path: str | Path, names: NameMap) -> None:
    trace = rename(perfetto_trace(report, config), names)
    write_text(path, json.dumps(trace))
