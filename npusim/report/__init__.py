"""Views of a Report: text and JSON."""
from .json import report_json
from .text import format_report

__all__ = ["format_report", "report_json"]
