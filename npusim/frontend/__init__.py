"""The frontend: layers (GEMM, conv2d, the vector operators between them), workloads and ONNX
models lowered to Programs that use the whole array."""
from .layers.matmul import AnyLayer, Conv2d, Gemm, Layer, ops
from .lower import Lowered, lower
from .onnx.graph import OnnxImportError
from .onnx.importer import ImportedModel, import_onnx, save_workload
from .errors import LoweringError
from .mapper.design import Design, Pins, TilePlan
from .mapper.search import MappingCache, SearchResult, search
from .layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Rope, Softmax, VectorLayer
from .mapper.vector import VectorPlan, plan_vector
from .program.vector import VectorLowered, lower_vector
from .layers.workload import Workload, WorkloadError, load_workload

__all__ = [
    "AnyLayer", "Conv2d", "Design", "Elementwise", "Embedding", "Gemm", "ImportedModel", "Layer", "LayerNorm",
    "Lowered", "LoweringError", "MappingCache", "OnnxImportError", "Pins", "Pool", "RMSNorm", "Rope", "SearchResult",
    "Softmax", "TilePlan", "VectorLayer", "VectorLowered", "VectorPlan", "Workload", "WorkloadError", "import_onnx",
    "load_workload", "lower", "lower_vector", "ops", "plan_vector", "save_workload", "search",
]
