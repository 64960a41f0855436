"""CSV files of a run or a workload (`npusim run ... --csv DIR`).

A single run is written as a workload of one layer, so every file has the same columns either
way (documented in :mod:`npusim.stats.tables`):

- ``layers.csv``: one row per layer (totals, bound, energy, power, TOPS/W, energy by component);
- ``tiles.csv``, ``channels.csv``, ``routes.csv``, ``energy.csv``: each layer's table, stacked,
  with ``layer_index`` and ``layer`` first;
- ``operators.csv``: time and energy by operator type, then data movement.
"""
from __future__ import annotations

from pathlib import Path

from ..runner import WorkloadReport
from ..stats.report import Report

FILES = ("layers", "tiles", "channels", "routes", "energy", "operators")


def write_csv(report: Report | WorkloadReport, directory: str | Path) -> list[Path]:
    """Write the tables of ``report`` as CSV files in ``directory`` (made if missing); return
    their paths in :data:`FILES` order."""
    wr = report if isinstance(report, WorkloadReport) else WorkloadReport(
        report.program, report.config, (report,), (1,))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in FILES:
        path = out / f"{name}.csv"
        wr.to_dataframe(name).to_csv(path, index=False)
        paths.append(path)
    return paths
