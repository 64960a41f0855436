"""The sweep table: row order, column order, per-point totals and the Pareto front.

Rows are sorted by point, then layer; columns are the meta columns (``point``, ``point_key``,
``config_file``, ``workload``), the swept keys, the status columns (``status``, ``error_kind``,
``error``, ``layer_index``, ``layer``), then the figures in the order the first rows give them.
So the same sweep gives the same table whatever order its points finished in.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .execute import META, STATUS

if TYPE_CHECKING:
    import pandas as pd

ADDITIVE = ("cycles", "seconds", "ops", "energy_j", "engine_events", "hardware_events", "ddr.bytes_read",
            "ddr.bytes_written", "ddr.bytes_accessed", "tiles.dma_bytes")
"""Figures that add up over a workload's layers (each layer times its ``count``)."""
ADDITIVE_PREFIXES = ("energy_by_component.",)
PEAKS = ("peak_tops", "peak_power_w")


def _index(value: Any) -> int:
    """A cell as a sort index: None, NaN and "" (a point's failure row) sort before layer 0."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return -1
    return int(float(value))


def sort_key(row: Mapping[str, Any]) -> tuple[int, int]:
    return _index(row.get("point")), _index(row.get("layer_index"))


def ordered_columns(rows: Iterable[Mapping[str, Any]], params: Sequence[str]) -> list[str]:
    """Meta columns, swept keys, status columns, then the rest in order of first appearance."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    head = [c for c in (*META, *params, *STATUS) if c in seen or c in META or c in STATUS]
    return head + [c for c in seen if c not in head]


def sorted_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(rows, key=sort_key)


def parameters(table: pd.DataFrame) -> list[str]:
    """The swept keys of a sweep table: the columns between ``workload`` and ``status``."""
    cols = list(table.columns)
    if "workload" not in cols or "status" not in cols:
        return []
    return cols[cols.index("workload") + 1: cols.index("status")]


def totals(table: pd.DataFrame) -> pd.DataFrame:
    """One row per point: its meta columns and swept keys, ``status`` (``failed`` if any of its
    layers failed), ``failed`` (the same as a bool, for figures that mark failed points),
    ``layers``; additive figures summed over the layers times their ``count`` (cycles, seconds,
    ops, DDR bytes, energy and its components when present); the peaks; and the rates from the
    sums (``achieved_tops``; ``average_power_w``, ``npu_power_w`` (DRAM excluded) and
    ``tops_per_watt`` with energy).

    A failed point has no totals: its figures and rates are NaN, never the sums of the layers
    that did run (a variant whose slowest layer failed would look fast)."""
    import pandas as pd

    keys = [c for c in (*META, *parameters(table)) if c in table.columns]
    count = pd.to_numeric(table["count"], errors="coerce").fillna(1) if "count" in table else 1
    add = [c for c in table.columns if c in ADDITIVE or c.startswith(ADDITIVE_PREFIXES)]
    weighted = table[add].apply(pd.to_numeric, errors="coerce").mul(count, axis=0)
    frame = pd.concat([table[["point"]], weighted], axis=1)
    out = table.groupby("point", sort=True)[keys].first()
    out["status"] = table.groupby("point")["status"].agg(lambda s: "ok" if (s == "ok").all() else "failed")
    out["layers"] = table.groupby("point").size()
    out = out.join(frame.groupby("point")[add].sum(min_count=1))
    for c in PEAKS:
        if c in table:
            out[c] = table.groupby("point")[c].max()
    if "ops" in out and "seconds" in out:
        out["achieved_tops"] = out["ops"] / out["seconds"] / 1e12
    if "energy_j" in out and "seconds" in out:
        out["average_power_w"] = out["energy_j"] / out["seconds"]
        if "energy_by_component.ddr" in out:
            out["npu_power_w"] = (out["energy_j"] - out["energy_by_component.ddr"]) / out["seconds"]
        if "achieved_tops" in out:
            out["tops_per_watt"] = out["achieved_tops"] / out["average_power_w"]
    failed = out["status"] == "failed"
    out.insert(list(out.columns).index("status") + 1, "failed", failed)
    figures = [c for c in out.columns if c not in (*keys, "status", "failed", "layers")]
    if failed.any():  # NaN makes the columns float; a sweep without failures keeps its integers
        out[figures] = out[figures].astype(float).mask(failed)
    return out.drop(columns="point", errors="ignore").reset_index()


def pareto_front(table: pd.DataFrame, x: str, y: str) -> pd.Series[bool]:
    """Which rows no other row beats on both ``x`` and ``y`` (both minimised; rows missing
    either are never on the front)."""
    import pandas as pd

    xs = pd.to_numeric(table[x], errors="coerce")
    ys = pd.to_numeric(table[y], errors="coerce")
    order = sorted((i for i in table.index if pd.notna(xs[i]) and pd.notna(ys[i])), key=lambda i: (xs[i], ys[i]))
    front = pd.Series(False, index=table.index)
    best = math.inf
    for i in order:
        if ys[i] < best:
            front[i] = True
            best = ys[i]
    return front
