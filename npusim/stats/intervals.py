"""Reading recorded intervals: which unit of which tile, in array order, merged for drawing.

A run with ``RunOptions(record_intervals=True)`` keeps ``(start, end, unit, state)`` tuples; the
unit names are those the engine gives (``core (0,2)``, ``tile (0,2) s2mm1``, ``mem (0,1) mm2s0``,
``shim (0,0) s2mm0``). Timelines and Perfetto traces read them through these helpers.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .report import Report

Interval = tuple[int, int, str, str]
Span = tuple[int, int, str]
"""(start cycle, end cycle, state) of one unit."""

_PREFIX = {"shim": "shim", "mem": "mem", "compute": "tile"}
_NAME = re.compile(r"^(core|tile|mem|shim) \((\d+),(\d+)\)(?: (\w+))?$")


@dataclass(frozen=True, slots=True)
class UnitId:
    """A core or a DMA channel: the tile it is in (``kind`` as in :class:`TileReport`), and its
    track within the tile (``core``, ``mm2s0``, ``s2mm1``, ...)."""

    kind: str
    col: int
    row: int
    track: str

    @property
    def name(self) -> str:
        """The engine's name for the unit, as in the recorded intervals."""
        if self.track == "core":
            return f"core ({self.col},{self.row})"
        return f"{_PREFIX[self.kind]} ({self.col},{self.row}) {self.track}"

    @property
    def tile(self) -> tuple[int, int]:
        return self.col, self.row

    @property
    def is_core(self) -> bool:
        return self.track == "core"


def parse_unit(name: str) -> UnitId:
    """The :class:`UnitId` of an engine unit name; ``ValueError`` for a name of another shape."""
    m = _NAME.match(name)
    if m is None:
        raise ValueError(f"unit name {name!r}: expected e.g. 'core (0,2)' or 'mem (0,1) mm2s0'")
    prefix, col, row, track = m.groups()
    kind = {"core": "compute", "tile": "compute"}.get(prefix, prefix)
    if (prefix == "core") != (track is None):
        raise ValueError(f"unit name {name!r}: a core has no channel, a channel needs one")
    return UnitId(kind, int(col), int(row), track or "core")


def _track_key(track: str) -> tuple[int, str, int]:
    if track == "core":
        return 0, "", 0
    return 1, track[:4], int(track[4:]) if track[4:].isdigit() else 0


def report_units(report: Report) -> list[UnitId]:
    """Every core and DMA channel of the report, by column, then row (shim first), then core,
    MM2S and S2MM channels."""
    units = []
    for t in sorted(report.tiles, key=lambda t: (t.col, t.row)):
        tracks = (["core"] if t.core is not None else []) + [c.channel for c in t.channels]
        units += [UnitId(t.kind, t.col, t.row, tr) for tr in sorted(tracks, key=_track_key)]
    return units


def by_unit(intervals: Iterable[Interval]) -> dict[str, list[Span]]:
    """The intervals of each unit, sorted by start."""
    out: dict[str, list[Span]] = {}
    for start, end, unit, state in intervals:
        out.setdefault(unit, []).append((start, end, state))
    for spans in out.values():
        spans.sort()
    return out


def merge(spans: Sequence[Span], gap: int = 0) -> list[Span]:
    """Join each span to the one before it when both are in the same state and overlap, touch or
    lie at most ``gap`` cycles apart (spans of another state in between are never covered).
    ``spans`` must be sorted by start."""
    out: list[Span] = []
    for start, end, state in spans:
        if out and out[-1][2] == state and start - out[-1][1] <= gap:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end, state)
            continue
        out.append((start, end, state))
    return out


def busy_share(spans: Sequence[Span], cycles: int) -> float:
    """Fraction of ``cycles`` the spans in state ``busy`` cover (overlaps counted once)."""
    covered = sum(e - s for s, e, st in merge([sp for sp in spans if sp[2] == "busy"]))
    return covered / cycles if cycles else 0.0


__all__ = ["Interval", "Span", "UnitId", "busy_share", "by_unit", "merge", "parse_unit", "report_units"]
