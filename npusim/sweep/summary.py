"""``npusim sweep-summary``: a sweep table summed per variant and set against a baseline, without pandas.

A sweep table has one row per point and layer (:mod:`npusim.sweep.table`). This module reads it
with the standard library (CSV) or pyarrow (Parquet), sums each point's layers times their
``count`` (cycles, seconds, operations, energy and its DDR part), and prints one line per point:
its swept values, totals, the NPU's own power, and the speed-up (baseline seconds / seconds) and
energy ratio (energy / baseline energy) against a baseline point of the same workload and config
file. The baseline is the point whose swept values match every ``--baseline KEY=VALUE``, or the
first point of its group. A point with a failed layer shows ``failed`` and its error kind, and no
figures: a partial sum would read as a fast variant.

The per-point sums are the ones :func:`npusim.sweep.totals` makes with pandas (a test holds the
two to the same figures), so the summary is quick to start and needs no DataFrame.
"""
from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..report.text import _table
from .execute import OK
from .grid import SweepError
from .output import _read_parquet_rows

SUMMED = ("cycles", "seconds", "ops", "energy_j", "energy_by_component.ddr")
GROUP = ("config_file", "workload")


@dataclass
class Variant:
    """One point of a sweep, its layers summed."""

    point: int
    group: tuple[str, str]
    """(config file, workload): a baseline is chosen within each group."""
    params: dict[str, str]
    status: str = OK
    error_kind: str = ""
    layers: int = 0
    sums: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def figure(self, name: str) -> float | None:
        """A total (``cycles``, ``seconds``, ...) or a rate from them, None when not known."""
        s = self.sums
        secs = s.get("seconds")
        if not self.ok or name not in ("tops", "average_power_w", "npu_power_w") and name not in s:
            return None
        if name == "tops":
            return s["ops"] / secs / 1e12 if secs and "ops" in s else None
        if name == "average_power_w":
            return s["energy_j"] / secs if secs and "energy_j" in s else None
        if name == "npu_power_w":
            if not secs or "energy_j" not in s or "energy_by_component.ddr" not in s:
                return None
            return (s["energy_j"] - s["energy_by_component.ddr"]) / secs
        return s[name]


def read_rows(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """A sweep table's rows and its swept keys (the columns between ``workload`` and ``status``)."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise SweepError(f"{path}: expected a sweep table, a .csv or .parquet file written by npusim sweep")
    parts = path.with_name(path.name + ".parts")
    if not path.exists() and not parts.exists():
        raise SweepError(f"{path}: no such sweep table; run npusim sweep ... -o {path} first")
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            rows, columns = [dict(r) for r in reader], list(reader.fieldnames or ())
    else:
        rows = _read_parquet_rows(path)
        columns = list(rows[0]) if rows else []
    if rows and not {"point", "workload", "status"} <= set(columns):
        raise SweepError(f"{path}: not a sweep table (it has no point, workload and status columns)")
    params = columns[columns.index("workload") + 1: columns.index("status")] if rows else []
    return rows, params


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: Any) -> str:
    number = _number(value)
    if number is not None and number.is_integer() and not isinstance(value, bool):
        return str(int(number))
    return "" if value is None else str(value)


def variants(rows: Sequence[Mapping[str, Any]], params: Sequence[str]) -> list[Variant]:
    """The points of a sweep table, in point order, each with its layers summed."""
    out: dict[int, Variant] = {}
    for row in rows:
        point = int(_number(row["point"]) or 0)
        v = out.setdefault(point, Variant(point, (str(row.get("config_file", "")), str(row.get("workload", ""))),
                                          {k: _text(row.get(k)) for k in params}))
        if row.get("status") != OK:
            v.status, v.error_kind = "failed", str(row.get("error_kind") or "")
            continue
        v.layers += 1
        count = _number(row.get("count")) or 1.0
        for name in SUMMED:
            value = _number(row.get(name))
            if value is not None:
                v.sums[name] = v.sums.get(name, 0.0) + value * count
    return [out[p] for p in sorted(out)]


def parse_baseline(items: Sequence[str], params: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` items as a mapping of swept keys to values (as the table writes them)."""
    chosen = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in params:
            raise SweepError(f"--baseline {item!r}: expected KEY=VALUE with KEY one of the swept keys "
                             f"({', '.join(params) or 'none in this table'})")
        chosen[key] = _text(value.strip())
    return chosen


def baselines(found: Sequence[Variant], chosen: Mapping[str, str]) -> dict[tuple[str, str], Variant]:
    """Per (config file, workload): the point matching ``chosen``, or its first point."""
    out: dict[tuple[str, str], Variant] = {}
    for v in found:
        if v.group not in out and all(v.params.get(k) == val for k, val in chosen.items()):
            out[v.group] = v
    missing = sorted({v.group for v in found} - set(out))
    if missing:
        wanted = ", ".join(f"{k}={val}" for k, val in chosen.items())
        raise SweepError(f"--baseline {wanted}: no point of workload {missing[0][1]} ({missing[0][0]}) has these "
                         "values; pick values the sweep ran")
    return out


COLUMNS = (("cycles", "cycles", 1.0, "{:,.0f}"), ("seconds", "ms", 1e3, "{:,.3f}"), ("energy_j", "mJ", 1e3, "{:,.3f}"),
           ("average_power_w", "W", 1.0, "{:.3f}"), ("npu_power_w", "NPU W", 1.0, "{:.3f}"),
           ("tops", "TOPS", 1.0, "{:.3f}"))


def _cells(v: Variant, base: Variant) -> list[str]:
    figures = [(v.figure(name), scale, fmt) for name, _, scale, fmt in COLUMNS]
    cells = ["-" if value is None else fmt.format(value * scale) for value, scale, fmt in figures]
    secs, energy, b_secs, b_energy = (v.figure("seconds"), v.figure("energy_j"), base.figure("seconds"),
                                      base.figure("energy_j"))
    cells.append(f"{b_secs / secs:.2f}x" if secs and b_secs else "-")
    cells.append(f"{energy / b_energy:.2f}x" if energy and b_energy else "-")
    return cells


def format_summary(found: Sequence[Variant], params: Sequence[str], chosen: Mapping[str, str]) -> str:
    """The summary as text: a table per (config file, workload), its baseline first named."""
    base = baselines(found, chosen)
    out: list[str] = []
    for group in dict.fromkeys(v.group for v in found):
        members = [v for v in found if v.group == group]
        b = base[group]
        named = ", ".join(f"{k}={b.params[k]}" for k in params) or "the only variant"
        out += [f"workload {group[1]} on {group[0]}: {len(members)} variants, baseline point {b.point} ({named})", ""]
        header = ["point", *params, "status"] + [unit for _, unit, _, _ in COLUMNS] + ["speed-up", "energy"]
        rows = [[str(v.point), *(v.params[k] for k in params),
                 v.status if v.ok else f"failed ({v.error_kind})", *_cells(v, b)] for v in members]
        out += _table(header, rows, left=0) + [""]
    out.append("speed-up: baseline time / time; energy: energy / baseline energy (below 1x saves energy); "
               "NPU W: the NPU alone, DRAM excluded")
    return "\n".join(out)


def summarise(path: str | Path, baseline: Sequence[str] = ()) -> str:
    """The text summary of the sweep table at ``path`` (see the module docstring)."""
    rows, params = read_rows(path)
    if not rows:
        raise SweepError(f"{path}: the sweep table has no rows yet")
    return format_summary(variants(rows, params), params, parse_baseline(baseline, params))


def add_summary_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``npusim sweep-summary`` on the top-level subparsers."""
    p = sub.add_parser("sweep-summary", help="per-variant totals of a sweep table, with speed-up and energy "
                       "against a baseline variant", description=__doc__.split("\n\n")[1].replace("\n", " "))
    p.add_argument("table", metavar="TABLE", help="a sweep table written by npusim sweep -o (.csv or .parquet)")
    add_baseline_argument(p)


def add_baseline_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--baseline", action="append", default=[], metavar="KEY=VALUE",
                   help="the variant the others are compared with, by its swept values (repeat for several keys), "
                   "e.g. --baseline columns=4; default: the first point of each workload")


def main(args: argparse.Namespace) -> int:
    """Run ``npusim sweep-summary``: print the summary; 0, or 2 on a bad table or baseline."""
    print(summarise(args.table, args.baseline))
    return 0


__all__ = ["Variant", "add_summary_parser", "format_summary", "read_rows", "summarise", "variants"]
