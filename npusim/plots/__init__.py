"""Plots of a Report: matplotlib Figures (no pyplot state), saved by the caller or the CLI."""
from .utilisation import utilisation_figure

__all__ = ["utilisation_figure"]
