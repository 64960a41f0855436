"""CSV files of a run or a workload (`npusim run ... --csv DIR`).

A single run is written as a workload of one layer, so every file has the same columns either
way (documented in :mod:`npusim.stats.tables`):

- ``layers.csv``: one row per layer (totals, bound, energy, power, TOPS/W, energy by component);
- ``tiles.csv``, ``channels.csv``, ``routes.csv``, ``energy.csv``: each layer's table, stacked,
  with ``layer_index`` and ``layer`` first;
- ``operators.csv``: time and energy by operator type, then data movement.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..output import write_with
from ..runner import WorkloadReport
from ..stats.report import Report

if TYPE_CHECKING:
    import pandas as pd

FILES = ("layers", "tiles", "channels", "routes", "energy", "operators")


def write_csv(report: Report | WorkloadReport, directory: str | Path) -> list[Path]:
    """Write the tables of ``report`` as CSV files in ``directory`` (made if missing); return
    their paths in :data:`FILES` order. The files are renamed into place together, after all
    were written (:func:`npusim.output.write_with`): a full disk leaves no partial set."""
    wr = report if isinstance(report, WorkloadReport) else WorkloadReport(
        report.program, report.config, (report,), (1,))
    tables = {Path(directory) / f"{name}.csv": wr.to_dataframe(name) for name in FILES}

    def writer(frame: "pd.DataFrame") -> Callable[[Path], None]:
        return lambda tmp: frame.to_csv(tmp, index=False)
    write_with({path: writer(frame) for path, frame in tables.items()})
    return list(tables)
