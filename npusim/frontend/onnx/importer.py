"""ONNX models to workloads: `npusim import-onnx` and `npusim run --onnx`.

The graph is read with the ``onnx`` package, checked, shape-inferred (onnx's shape inference,
strict), and its nodes turned into layers in graph order (:mod:`.onnx_ops`): float models compute
in bf16, int8/int16 tensors in their type, or every layer in ``dtype`` when given (the nonlinear
operators stay in bf16). Operators that only relabel a tensor (Reshape, Transpose, ...) are
counted and left out. Any other operator is unsupported: the import lists them all, by name and
count, in one error, unless ``skip_unsupported``, which imports the rest and says what it left out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx
import yaml
from pydantic import ValidationError

from ...config import DType, validation_message
from ...config.safe_yaml import SafeDumper
from ...output import write_text
from ..layers.matmul import AnyLayer, Conv2d, Gemm
from ..onnx.graph import OnnxImportError, Unsupported, count_text, read_graph
from ..onnx.ops import CONVERTERS, LAYOUT_ONLY, SUPPORTED
from ..layers.vector import Elementwise
from ..layers.workload import Workload


@dataclass(frozen=True)
class ImportedModel:
    """A workload imported from an ONNX model, and what the import did to get it."""

    workload: Workload
    source: str
    nodes: int
    layout_only: Counter[str] = field(default_factory=Counter)
    """Operators counted but not simulated (a compiler folds them into access patterns)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Unsupported operators left out (``skip_unsupported``)."""
    notes: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """What the import did, in lines for the terminal."""
        layers = self.workload.layers
        out = [f"imported {self.source}: {self.nodes} nodes -> {len(layers)} layers"]
        fused = [f"{', '.join(fused_steps(ly))} into {ly.name}" for ly in layers if fused_steps(ly)]
        if fused:
            out.append("fused    " + "; ".join(fused))
        if self.layout_only:
            out.append(f"layout   not simulated (folded into access patterns): {count_text(self.layout_only)}")
        if self.skipped:
            out.append(f"skipped  unsupported, left out of the run: {count_text(self.skipped)}")
        return out + [f"note     {n}" for n in self.notes]


def fused_steps(layer: AnyLayer) -> tuple[str, ...]:
    """What a lowering fuses into ``layer``: a matmul's epilogue (its own bias included), an
    elementwise operator's relu."""
    if isinstance(layer, (Gemm, Conv2d)):
        return layer.epilogue
    return ("relu",) if isinstance(layer, Elementwise) and layer.relu and layer.kind != "relu" else ()


def import_onnx(source: str | Path | onnx.ModelProto, dtype: DType | None = None, skip_unsupported: bool = False,
                name: str | None = None) -> ImportedModel:
    """Turn an ONNX model (a file or a ``ModelProto``) into a :class:`Workload`.

    Raises :class:`OnnxImportError` for a malformed file, or for unsupported operators (all
    listed) unless ``skip_unsupported``.
    """
    g = read_graph(source)
    layers: list[AnyLayer] = []
    consumed: set[int] = set()
    layout: Counter[str] = Counter()
    unsupported: Counter[str] = Counter()
    for i, node in enumerate(g.nodes):
        if i in consumed:
            continue
        if node.op_type in LAYOUT_ONLY:
            layout[node.op_type] += 1
            continue
        convert = CONVERTERS.get(node.op_type)
        try:
            if convert is None:
                raise Unsupported(node.op_type)
            done = convert(g, i, node, dtype)
        except Unsupported as exc:
            unsupported[exc.label] += 1
            continue
        except ValidationError as exc:
            raise _invalid_layer(g.source, node, g.shapes, exc) from None
        layers.append(done.layer)
        consumed.update(done.consumed)
    if unsupported and not skip_unsupported:
        n = sum(unsupported.values())
        raise OnnxImportError(
            f"{g.source}: {n} operator{'s' if n > 1 else ''} of the graph cannot be simulated: "
            f"{count_text(unsupported)} (supported: {', '.join(SUPPORTED)}; layout only: {', '.join(LAYOUT_ONLY)}); "
            "run with --skip-unsupported to simulate the rest without them")
    if not layers:
        raise OnnxImportError(f"{g.source}: no layer is left to simulate (skipped: {count_text(unsupported)})")
    notes = []
    if any(ly.dtype == "bf16" for ly in layers) and dtype not in (None, "bf16"):
        notes.append(f"the nonlinear operators stay in bf16 (--dtype {dtype} gives them no scale)")
    if dtype is None and any(g.types.get(n.input[0]) in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE)
                             for n in g.nodes if n.input):
        notes.append("float tensors compute in bf16 (the NPU's float type); --dtype int8 for a quantised run")
    workload = Workload(name=name or g.name, description=f"imported from {g.source} by npusim import-onnx",
                        layers=layers)
    return ImportedModel(workload, g.source, len(g.nodes), layout, unsupported if unsupported else Counter(),
                         tuple(notes))


def _invalid_layer(source: str, node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]],
                   exc: ValidationError) -> OnnxImportError:
    """A node whose layer is invalid (a zero-sized tensor, most likely): named, with its fields."""
    where = f"{source}: node '{node.name or node.op_type}' ({node.op_type})"
    empty = [f"'{t}' is {'x'.join(map(str, shapes[t]))}" for t in (*node.input, *node.output)
             if t in shapes and 0 in shapes[t]]
    hint = (f"\n(a zero-sized tensor: {', '.join(empty)}; export the model with non-empty tensors)" if empty else "")
    return OnnxImportError(validation_message(exc, where) + hint)


def layer_dict(layer: AnyLayer) -> dict[str, Any]:
    """A layer as a workload file writes it: name and op first, defaults left out."""
    body = layer.model_dump(mode="json", exclude_defaults=True)
    head = {"name": layer.name, "op": layer.op}
    return head | {k: v for k, v in body.items() if k not in head}


class _Flow(dict[str, Any]):
    """A mapping written on one line (a layer of a workload file)."""


class _WorkloadDumper(SafeDumper):
    """npusim's safe dumper (PyYAML's, quoting what npusim's loader would read otherwise, such as
    ``1e3``), writing :class:`_Flow` mappings in flow style: every string is quoted and escaped as
    needed (newlines, non-ASCII, YAML syntax), so any name reads back as it was."""


_WorkloadDumper.add_representer(
    _Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))


def save_workload(workload: Workload, path: str | Path, header: tuple[str, ...] = ()) -> None:
    """Write ``workload`` as a YAML workload file (one flow mapping per layer), with ``header``
    as comment lines, whole or not at all (:mod:`npusim.output`)."""
    body = {"name": workload.name, "description": workload.description,
            "layers": [_Flow(layer_dict(layer)) for layer in workload.layers]}
    text = yaml.dump(body, Dumper=_WorkloadDumper, sort_keys=False, width=float("inf"), default_flow_style=False)
    comments = "".join(f"# {line}\n" for h in header for line in h.splitlines())
    write_text(path, comments + text)
