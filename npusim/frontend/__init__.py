"""The frontend: layers (GEMM, conv2d) and workloads lowered to Programs that use the whole array."""
from .layers import Conv2d, Gemm, Layer, ops
from .lower import Lowered, lower
from .tiling import LoweringError, TilePlan, plan
from .workload import Workload, WorkloadError, load_workload

__all__ = [
    "Conv2d", "Gemm", "Layer", "Lowered", "LoweringError", "TilePlan", "Workload", "WorkloadError",
    "load_workload", "lower", "ops", "plan",
]
