"""Views of a Report: text, JSON and CSV."""
from .csv import write_csv
from .json import report_json
from .text import format_report, format_workload

__all__ = ["format_report", "format_workload", "report_json", "write_csv"]
