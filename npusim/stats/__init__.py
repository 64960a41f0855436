"""Recording (counters, optional intervals) and the Report a run condenses into."""
from .actions import ActionCounts
from .recorder import Recorder
from .report import ChannelReport, CoreReport, DdrReport, Report, RouteReport, TileReport, make_report

__all__ = ["ActionCounts", "ChannelReport", "CoreReport", "DdrReport", "Recorder", "Report", "RouteReport",
           "TileReport", "make_report"]
