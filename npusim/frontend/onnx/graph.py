"""An ONNX graph read for import: nodes in graph order, every tensor's shape (onnx's shape
inference) and element type, the constants, and who consumes each tensor.

Every problem with the file raises :class:`OnnxImportError` naming the file and what is wrong.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from ...config import DType
from ...numerics import Array
from ..layers.workload import WorkloadError

_T = onnx.TensorProto
_DTYPES: dict[int, DType] = {
    _T.FLOAT: "bf16", _T.FLOAT16: "bf16", _T.BFLOAT16: "bf16", _T.DOUBLE: "bf16",
    _T.INT8: "int8", _T.UINT8: "int8", _T.INT16: "int16", _T.UINT16: "int16"}
"""ONNX element types and the NPU type they compute in: float types in bf16."""


class OnnxImportError(WorkloadError):
    """An ONNX model cannot be imported; the message names the file, what is wrong and the fix."""


class Unsupported(Exception):
    """A node the importer cannot turn into a layer; ``label`` is what the error lists (the
    operator, with the reason for a variant: ``Conv (group=2)``)."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


@dataclass
class Graph:
    """What the importer reads off an ONNX model."""

    source: str
    nodes: list[onnx.NodeProto]
    shapes: dict[str, tuple[int, ...]]
    types: dict[str, int]
    consts: dict[str, Array]
    consumers: dict[str, list[int]]
    outputs: set[str]
    name: str
    dynamic: dict[str, str] = field(default_factory=dict)
    """Tensors whose shape inference left a symbolic or unknown dimension: tensor -> why."""

    def shape(self, tensor: str, node: onnx.NodeProto) -> tuple[int, ...]:
        """Static shape of ``tensor`` (an input or output of ``node``)."""
        if tensor in self.shapes:
            return self.shapes[tensor]
        why = self.dynamic.get(tensor, "shape inference gave it no shape")
        raise OnnxImportError(
            f"{self.source}: node '{node.name or node.op_type}' ({node.op_type}): tensor '{tensor}' has no static "
            f"shape ({why}); give the graph's inputs fixed dimensions (e.g. batch 1) and export again")

    def dtype(self, tensor: str) -> DType:
        """The NPU data type for ``tensor``'s element type: float types compute in bf16."""
        elem = self.types.get(tensor, onnx.TensorProto.FLOAT)
        if elem not in _DTYPES:
            raise Unsupported(f"{onnx.TensorProto.DataType.Name(elem).lower()} tensors")
        return _DTYPES[elem]

    def sole_consumer(self, tensor: str) -> int | None:
        """The one node reading ``tensor``, if exactly one does and it is not a graph output."""
        users = self.consumers.get(tensor, [])
        return users[0] if len(users) == 1 and tensor not in self.outputs else None

    def attr(self, node: onnx.NodeProto, name: str, default: Any) -> Any:
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    def const(self, tensor: str) -> Array | None:
        return self.consts.get(tensor)


def _model(source: str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    if isinstance(source, onnx.ModelProto):
        return source, f"<model {source.graph.name or 'unnamed'}>"
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OnnxImportError(f"{path}: cannot read ONNX file: {exc.strerror}") from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 -- protobuf's DecodeError (untyped), or a RuntimeError
        raise OnnxImportError(f"{path}: not an ONNX model: the protobuf does not parse ({exc}); give a .onnx "
                              "file saved by onnx.save or an exporter") from None
    if not model.graph.node:
        raise OnnxImportError(f"{path}: not an ONNX model: it has no graph nodes ({len(data)} bytes read); give a "
                              ".onnx file saved by onnx.save or an exporter")
    return model, str(path)


def read_graph(source: str | Path | onnx.ModelProto) -> Graph:
    """Load, check and shape-infer a model; raise :class:`OnnxImportError` on a malformed one."""
    model, where = _model(source)
    try:
        onnx.checker.check_model(model)
        inferred = shape_inference.infer_shapes(model, strict_mode=True)
    except (onnx.checker.ValidationError, shape_inference.InferenceError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxImportError(f"{where}: not a valid ONNX model: {first}; fix the graph or export it again") from None
    graph = inferred.graph
    shapes: dict[str, tuple[int, ...]] = {}
    types: dict[str, int] = {}
    dynamic: dict[str, str] = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type
        types[vi.name] = t.elem_type
        if not t.HasField("shape"):
            dynamic[vi.name] = "unknown rank"
            continue
        sym = [d.dim_param or "?" for d in t.shape.dim if not d.HasField("dim_value")]
        if sym:
            dynamic[vi.name] = f"dimension '{sym[0]}' is not fixed"
        else:
            shapes[vi.name] = tuple(int(d.dim_value) for d in t.shape.dim)
    consts: dict[str, Array] = {}
    for init in graph.initializer:
        consts[init.name] = numpy_helper.to_array(init)
        shapes[init.name] = tuple(int(d) for d in init.dims)
        types[init.name] = init.data_type
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            value = numpy_helper.to_array(node.attribute[0].t)
            consts[node.output[0]] = value
            shapes[node.output[0]] = tuple(value.shape)
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            if name:
                consumers.setdefault(name, []).append(i)
    return Graph(where, list(graph.node), shapes, types, consts, consumers, {o.name for o in graph.output},
                 graph.name or (Path(where).stem if not where.startswith("<") else "model"), dynamic)


def count_text(counts: Counter[str]) -> str:
    """``Erf x2, Pow x1``: names by count, most frequent first."""
    return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def as_float(value: Array) -> float:
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])
