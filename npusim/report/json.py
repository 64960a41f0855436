"""The JSON report: one object with stable keys (`npusim run --json`)."""
from __future__ import annotations

import json

from ..stats.report import Report


def report_json(report: Report) -> str:
    """Serialise ``report``; top-level keys include cycles, seconds, tiles, routes, ddr."""
    return json.dumps(report.to_dict(), indent=2)
