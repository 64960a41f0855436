"""Views of a Report: text and JSON."""
from .json import report_json
from .text import format_report, format_workload

__all__ = ["format_report", "format_workload", "report_json"]
