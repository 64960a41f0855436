"""The JSON report: one object with stable keys (`npusim run --json`)."""
from __future__ import annotations

import json

from ..runner import WorkloadReport
from ..stats.report import Report


def report_json(report: Report | WorkloadReport) -> str:
    """Serialise ``report``; top-level keys include cycles, seconds, tiles, routes, ddr (a
    workload: its totals, and ``layers``, a list of layer reports)."""
    return json.dumps(report.to_dict(), indent=2)
