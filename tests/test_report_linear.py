"""Building a report is linear in the array's size: each channel's stats are read a bounded
number of times, however many tiles there are (a pass over every channel per tile made
``columns=10000`` take hours). Counted, not timed: the recorder's mappings count what they hand out."""
from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from pathlib import Path
from typing import Any

from npusim import load_config
from npusim.stats import make_report
from npusim.stats.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]


class CountingDict(dict[Any, Any]):
    """A dict that counts the entries its iterations hand out."""

    handed = 0

    def _count(self, it: Iterator[Any]) -> Iterator[Any]:
        for x in it:
            CountingDict.handed += 1
            yield x

    def __iter__(self) -> Iterator[Any]:
        return self._count(super().__iter__())

    def items(self) -> ItemsView[Any, Any]:
        return self._count(iter(super().items()))  # type: ignore[return-value]

    def keys(self) -> KeysView[Any]:
        return self._count(iter(super().keys()))  # type: ignore[return-value]

    def values(self) -> ValuesView[Any]:
        return self._count(iter(super().values()))  # type: ignore[return-value]


def _recorder(columns: int) -> Recorder:
    """A run's counters on ``columns`` columns: a core per compute tile, four channels per tile."""
    rec = Recorder()
    rec.channels = CountingDict()
    rec.cores = CountingDict()
    for col in range(columns):
        for row in range(6):
            if row >= 2:
                rec.core((col, row)).busy = 10
            for name in ("mm2s0", "mm2s1", "s2mm0", "s2mm1"):
                rec.channel((col, row), name).bytes = 64
    rec.cycles = 100
    return rec


def test_report_building_reads_each_channel_a_bounded_number_of_times() -> None:
    handed = {}
    config = load_config(ROOT / "configs/npu1.yaml")  # its rows name the tile kinds; columns come from the recorder
    for columns in (10, 50, 500):
        rec = _recorder(columns)
        CountingDict.handed = 0
        report = make_report(rec, config, "p")
        handed[columns] = CountingDict.handed
        assert len(report.tiles) == 6 * columns
        assert [c.channel for c in report.tiles[-1].channels] == ["mm2s0", "mm2s1", "s2mm0", "s2mm1"]
    per_entry = {c: n / (6 * c * 5) for c, n in handed.items()}  # 4 channels and about one core per tile
    assert max(per_entry.values()) <= 10, per_entry
    assert handed[500] <= 11 * handed[50], handed  # linear, not quadratic (which would be 100x)
