"""ONNX models built in code (onnx.helper), for tests, examples and the docs: nothing is
downloaded. Weights are random (seeded); shapes follow the usual layer patterns.

- :func:`small_cnn`: three 3x3 convolutions with ReLU and max pooling, a global average pool, a
  fully connected layer and a softmax (an image classifier of the LeNet/VGG kind);
- :func:`resnet_block`: a ResNet basic block, conv-ReLU-conv plus the identity, then ReLU
  (He et al. 2016, as in torchvision's ``BasicBlock``);
- :func:`residual_cnn`: a stem convolution, such a block, a 1x1 convolution, a global average
  pool and a fully connected layer (a residual classifier in small);
- :func:`transformer_block`: one post-norm transformer encoder layer (Vaswani et al. 2017, as
  BERT): Q/K/V projections, scaled dot-product attention per head, output projection, residual
  and LayerNorm, a GELU feed-forward network, residual and LayerNorm.

``python -m npusim.models NAME -o FILE.onnx [--set KEY=INT ...]`` writes one of them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 20
"""ai.onnx opset of the models (20: Gelu and LayerNormalization are single operators)."""


class _Builder:
    """Nodes and initializers of a graph under construction, with unique names."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def weight(self, name: str, *shape: int, scale: float = 0.1) -> str:
        self.inits.append(numpy_helper.from_array((scale * self.rng.standard_normal(shape)).astype(np.float32), name))
        return name

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def model(self, name: str, x: onnx.ValueInfoProto, y: str, shape: list[int]) -> onnx.ModelProto:
        out = helper.make_tensor_value_info(y, TensorProto.FLOAT, shape)
        graph = helper.make_graph(self.nodes, name, [x], [out], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="npusim.models")
        onnx.checker.check_model(model)
        return model


def _conv(b: _Builder, x: str, name: str, cin: int, cout: int, bias: bool = True, **attrs: Any) -> str:
    inputs = [x, b.weight(f"{name}.weight", cout, cin, 3, 3)] + ([b.weight(f"{name}.bias", cout)] if bias else [])
    return b.node("Conv", inputs, name, kernel_shape=[3, 3], pads=[1, 1, 1, 1], **attrs)


def small_cnn(size: int = 32, channels: tuple[int, int, int] = (16, 32, 64), classes: int = 10,
              seed: int = 0) -> onnx.ModelProto:
    """A small image classifier on a ``1 x 3 x size x size`` image."""
    b = _Builder(seed)
    x, cin = "image", 3
    for i, cout in enumerate(channels):
        x = b.node("Relu", [_conv(b, x, f"conv{i + 1}", cin, cout)], f"relu{i + 1}")
        if i < len(channels) - 1:
            x = b.node("MaxPool", [x], f"pool{i + 1}", kernel_shape=[2, 2], strides=[2, 2])
        cin = cout
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x], "gap")], "flatten")
    x = b.node("Gemm", [x, b.weight("fc.weight", classes, cin), b.weight("fc.bias", classes)], "fc", transB=1)
    y = b.node("Softmax", [x], "softmax", axis=-1)
    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    return b.model("small_cnn", inp, y, [1, classes])


def resnet_block(channels: int = 32, size: int = 16, seed: int = 0) -> onnx.ModelProto:
    """A ResNet basic block on a ``1 x channels x size x size`` activation."""
    b = _Builder(seed)
    x = b.node("Relu", [_conv(b, "x", "conv1", channels, channels)], "relu1")
    x = _conv(b, x, "conv2", channels, channels)
    y = b.node("Relu", [b.node("Add", [x, "x"], "add")], "relu2")
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])
    return b.model("resnet_block", inp, y, [1, channels, size, size])


def residual_cnn(size: int = 16, channels: int = 16, classes: int = 10, seed: int = 0) -> onnx.ModelProto:
    """A small residual image classifier on a ``1 x 3 x size x size`` image: a stem convolution,
    a basic block (conv-ReLU-conv plus the identity, then ReLU), a 1x1 convolution to twice the
    channels, a global average pool and a fully connected layer."""
    b = _Builder(seed)
    stem = b.node("Relu", [_conv(b, "image", "stem", 3, channels)], "stem.relu")
    x = b.node("Relu", [_conv(b, stem, "block.conv1", channels, channels)], "block.relu1")
    x = _conv(b, x, "block.conv2", channels, channels)
    x = b.node("Relu", [b.node("Add", [x, stem], "block.add")], "block.relu2")
    wide = b.node("Conv", [x, b.weight("widen.weight", 2 * channels, channels, 1, 1), b.weight("widen.bias", 2 * channels)],
                  "widen", kernel_shape=[1, 1])
    x = b.node("Flatten", [b.node("GlobalAveragePool", [b.node("Relu", [wide], "widen.relu")], "gap")], "flatten")
    y = b.node("Gemm", [x, b.weight("fc.weight", classes, 2 * channels), b.weight("fc.bias", classes)], "fc", transB=1)
    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    return b.model("residual_cnn", inp, y, [1, classes])


def transformer_block(seq: int = 64, hidden: int = 128, heads: int = 4, ff: int = 256,
                      seed: int = 0) -> onnx.ModelProto:
    """A post-norm transformer encoder layer on a ``1 x seq x hidden`` sequence."""
    b = _Builder(seed)
    dh = hidden // heads

    def linear(x: str, name: str, fan_in: int, fan_out: int) -> str:
        y = b.node("MatMul", [x, b.weight(f"{name}.weight", fan_in, fan_out)], f"{name}.matmul")
        return b.node("Add", [y, b.weight(f"{name}.bias", fan_out)], f"{name}.add")

    split = b.const("heads_shape", np.array([1, seq, heads, dh], dtype=np.int64))
    joined = b.const("hidden_shape", np.array([1, seq, hidden], dtype=np.int64))
    per_head = {}
    for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
        y = b.node("Reshape", [linear("x", part, hidden, hidden), split], f"{part}.split")
        per_head[part] = b.node("Transpose", [y], f"{part}.heads", perm=perm)
    scores = b.node("MatMul", [per_head["query"], per_head["key"]], "scores")
    scaled = b.node("Mul", [scores, b.const("scale.value", np.array(1 / np.sqrt(dh), dtype=np.float32))], "scale")
    probs = b.node("Softmax", [scaled], "softmax", axis=-1)
    ctx = b.node("MatMul", [probs, per_head["value"]], "context")
    ctx = b.node("Reshape", [b.node("Transpose", [ctx], "context.merge", perm=[0, 2, 1, 3]), joined], "context.join")
    x = b.node("Add", [linear(ctx, "attention.output", hidden, hidden), "x"], "residual1")
    x = b.node("LayerNormalization", [x, b.weight("norm1.weight", hidden), b.weight("norm1.bias", hidden)], "norm1",
               axis=-1, epsilon=1e-5)
    h = b.node("Gelu", [linear(x, "ffn.up", hidden, ff)], "gelu")
    y = b.node("Add", [linear(h, "ffn.down", ff, hidden), x], "residual2")
    y = b.node("LayerNormalization", [y, b.weight("norm2.weight", hidden), b.weight("norm2.bias", hidden)], "norm2",
               axis=-1, epsilon=1e-5)
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, hidden])
    return b.model("transformer_block", inp, y, [1, seq, hidden])


MODELS: dict[str, Callable[..., onnx.ModelProto]] = {"small_cnn": small_cnn, "resnet_block": resnet_block,
                                                     "residual_cnn": residual_cnn, "transformer_block": transformer_block}

__all__ = ["MODELS", "OPSET", "residual_cnn", "resnet_block", "small_cnn", "transformer_block"]
