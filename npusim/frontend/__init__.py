"""The frontend: layers (GEMM, conv2d, the vector operators between them), workloads and ONNX
models lowered to Programs that use the whole array."""
from .layers import AnyLayer, Conv2d, Gemm, Layer, ops
from .lower import Lowered, lower
from .onnx_graph import OnnxImportError
from .onnx_import import ImportedModel, import_onnx, save_workload
from .tiling import LoweringError, TilePlan, plan
from .vector_layers import Elementwise, LayerNorm, Pool, Softmax, VectorLayer
from .vector_plan import VectorPlan, plan_vector
from .vector_program import VectorLowered, lower_vector
from .workload import Workload, WorkloadError, load_workload

__all__ = [
    "AnyLayer", "Conv2d", "Elementwise", "Gemm", "ImportedModel", "Layer", "LayerNorm", "Lowered", "LoweringError",
    "OnnxImportError", "Pool", "Softmax", "TilePlan", "VectorLayer", "VectorLowered", "VectorPlan", "Workload",
    "WorkloadError", "import_onnx", "load_workload", "lower", "lower_vector", "ops", "plan", "plan_vector",
    "save_workload",
]
