"""Recording (counters, optional intervals) and the Report a run condenses into."""
from .recorder import Recorder
from .report import ChannelReport, CoreReport, DdrReport, Report, RouteReport, TileReport, make_report

__all__ = ["ChannelReport", "CoreReport", "DdrReport", "Recorder", "Report", "RouteReport",
           "TileReport", "make_report"]
