"""Layer fusion: consecutive layers run as one dispatch with their activations on chip
(docs/model/fusion.md). :func:`plan_fusion` chooses the groups of a workload; a group is either
*resident* (convolutions one after another on the whole array, tensors in row bands across the
memory tiles, :mod:`.resident`) or *spatial* (each member on its own column, all at once, tensors
in the producer's memory tile, :mod:`.group`)."""
from .dataflow import consumers, producers
from .search import Dispatch, Fused, FusionCache, measure_group, plan_fusion

__all__ = ["Dispatch", "Fused", "FusionCache", "consumers", "measure_group", "plan_fusion", "producers"]
