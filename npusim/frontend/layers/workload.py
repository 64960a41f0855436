"""Workload files: a named list of layers in YAML (see ``workloads/``).

```yaml
name: resnet18
description: ...
dtype: int8                 # default operand type of the layers
layers:
  - {name: conv1, op: conv2d, batch: 1, in_channels: 3, height: 224, width: 224,
     out_channels: 64, kernel_h: 7, kernel_w: 7, stride: 2, padding: 3}
  - {name: fc, op: gemm, m: 1, k: 512, n: 1000}
```
Every error names the file, the line and the field.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from ...config import ConfigError, DType, Spec, read_yaml, validation_message
from ..layers.matmul import LAYER_TAGS, Layer


class WorkloadError(ConfigError):
    """A workload file is invalid; the message names the file, the line, the field and the fix."""


class Workload(Spec):
    """A named list of layers, run one after another."""

    name: str
    description: str = ""
    dtype: DType | None = Field(None, description="Default operand type of the layers.")
    chained: bool = Field(False, description="Whether each layer reads the previous layer's output (when the "
                          "shapes agree and the layer names no inputs): a network's chain of layers, which "
                          "fusion may keep on chip. False: the layers are independent, unless they name inputs.")
    layers: list[Layer] = Field(min_length=1)

    @model_validator(mode="after")
    def _inputs_are_earlier_layers(self) -> "Workload":
        seen: set[str] = set()
        for i, layer in enumerate(self.layers):
            for name in layer.inputs or ():
                if name not in seen:
                    raise ValueError(f"layers[{i}] ({layer.name}).inputs: '{name}' is not the name of an earlier "
                                     "layer; name a layer listed before this one, or [] for an input from the host")
            seen.add(layer.name)
        return self


def load_workload(path: str | Path) -> Workload:
    """Read a workload YAML file; raise :class:`WorkloadError` naming file, line and field."""
    path = Path(path)
    try:
        data, lines = read_yaml(path, "workload file")
    except ConfigError as exc:
        raise WorkloadError(str(exc)) from None
    if not isinstance(data, dict):
        raise WorkloadError(f"{path}: expected a mapping with 'name' and 'layers' at the top level; "
                            "see workloads/resnet18.yaml for the format")
    default = data.get("dtype")
    layers: Any = data.get("layers")
    if default is not None and isinstance(layers, list):
        data = dict(data, layers=[dict(ly, dtype=ly.get("dtype", default)) if isinstance(ly, dict) else ly
                                  for ly in layers])
    try:
        return Workload.model_validate(data)
    except ValidationError as exc:
        raise WorkloadError(validation_message(exc, str(path), lines, tags=LAYER_TAGS)) from None
