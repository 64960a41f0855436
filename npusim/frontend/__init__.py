"""The frontend: layers (GEMM, conv2d, the vector operators between them), workloads and ONNX
models lowered to Programs that use the whole array."""
from .layers.matmul import AnyLayer, Conv2d, Gemm, Layer, ops
from .lower import Lowered, lower
from .onnx.graph import OnnxImportError
from .onnx.importer import ImportedModel, import_onnx, save_workload
from .mapper.tiling import LoweringError, TilePlan, plan
from .layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Rope, Softmax, VectorLayer
from .mapper.vector import VectorPlan, plan_vector
from .program.vector import VectorLowered, lower_vector
from .layers.workload import Workload, WorkloadError, load_workload

__all__ = [
    "AnyLayer", "Conv2d", "Elementwise", "Embedding", "Gemm", "ImportedModel", "Layer", "LayerNorm", "Lowered",
    "LoweringError", "OnnxImportError", "Pool", "RMSNorm", "Rope", "Softmax", "TilePlan", "VectorLayer",
    "VectorLowered", "VectorPlan", "Workload", "WorkloadError", "import_onnx", "load_workload", "lower",
    "lower_vector", "ops", "plan", "plan_vector", "save_workload",
]
