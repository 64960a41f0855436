"""Plots of a Report: matplotlib Figures (no pyplot state), saved by the caller or the CLI."""
from .heatmap import heatmap_figure
from .layers import layers_figure
from .power import power_figure
from .roofline import roofline_figure
from .sweep import pareto_figure, sweep_figure
from .timeline import timeline_figure
from .utilisation import utilisation_figure

__all__ = ["heatmap_figure", "layers_figure", "pareto_figure", "power_figure", "roofline_figure", "sweep_figure",
           "timeline_figure", "utilisation_figure"]
