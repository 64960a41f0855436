"""ONNX import (issue 8): the generated models become the layers their graphs hold, run on tiny and
npu1 in functional mode, and bad models fail with one clear message."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

from npusim import NPUConfig, load_config
from npusim.cli import main
from npusim.engine import RunOptions
from npusim.frontend import (
    Conv2d, Elementwise, Gemm, LayerNorm, OnnxImportError, Pool, Softmax, import_onnx, load_workload,
)
from npusim.models import resnet_block, small_cnn, transformer_block
from npusim.runner import run_workload

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def config(name: str) -> NPUConfig:
    return load_config(ROOT / f"configs/{name}.yaml")


def shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Every tensor's shape, as onnx's shape inference gives it."""
    g = shape_inference.infer_shapes(model).graph
    out = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in list(g.input) + list(g.value_info)
           + list(g.output)}
    return out | {i.name: list(i.dims) for i in g.initializer}


def signature(layer: object) -> tuple[object, ...]:
    if isinstance(layer, Conv2d):
        return ("conv2d", layer.batch, layer.in_channels, layer.height, layer.width, layer.out_channels,
                layer.kernel_h, layer.kernel_w, layer.stride, layer.padding, layer.bias, layer.relu)
    if isinstance(layer, Gemm):
        return "gemm", layer.m, layer.k, layer.n, layer.count, layer.bias, layer.relu
    if isinstance(layer, Pool):
        return ("pool", layer.kind, layer.batch, layer.height, layer.width, layer.channels, layer.kernel_h,
                layer.kernel_w, layer.stride, layer.padding)
    if isinstance(layer, Elementwise):
        return "elementwise", layer.kind, layer.shape, layer.broadcast, layer.relu
    assert isinstance(layer, (Softmax, LayerNorm))
    return layer.op, layer.rows, layer.length


def test_small_cnn_layers_match_the_graph() -> None:
    model = small_cnn()
    s = shapes(model)
    layers = import_onnx(model).workload.layers
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    expected = []
    for i, conv in enumerate(convs):
        (b, c, h, w), (k, _, r, q) = s[conv.input[0]], s[conv.input[1]]
        expected.append(("conv2d", b, c, h, w, k, r, q, 1, 1, True, True))  # bias and the Relu after it fused
        if i < 2:
            b, k, h, w = s[f"relu{i + 1}"]
            expected.append(("pool", "max", b, h, w, k, 2, 2, 2, 0))
    b, c, h, w = s["relu3"]
    expected += [("pool", "avg", b, h, w, c, h, w, 1, 0), ("gemm", 1, c, 10, 1, True, False), ("softmax", 1, 10)]
    assert [signature(ly) for ly in layers] == expected
    assert [ly.name for ly in layers] == ["conv1", "pool1", "conv2", "pool2", "conv3", "gap", "fc", "softmax"]
    assert {ly.dtype for ly in layers} == {"bf16"}  # a float model computes in bf16


def test_resnet_block_layers_match_the_graph() -> None:
    model = resnet_block(channels=16, size=8)
    imported = import_onnx(model)
    assert [signature(ly) for ly in imported.workload.layers] == [
        ("conv2d", 1, 16, 8, 8, 16, 3, 3, 1, 1, True, True),
        ("conv2d", 1, 16, 8, 8, 16, 3, 3, 1, 1, True, False),
        ("elementwise", "add", (1, 16, 8, 8), "same", True),  # the residual add, its Relu fused
    ]
    assert imported.summary()[:2] == ["imported <model resnet_block>: 5 nodes -> 3 layers",
                                      "fused    bias, relu into conv1; bias into conv2; relu into add"]


def test_transformer_block_layers_match_the_graph() -> None:
    seq, hidden, heads, ff = 32, 64, 4, 128
    model = transformer_block(seq, hidden, heads, ff)
    imported = import_onnx(model)
    dh = hidden // heads
    proj = ("gemm", seq, hidden, hidden, 1, True, False)
    assert [signature(ly) for ly in imported.workload.layers] == [
        proj, proj, proj,                                                 # Q, K, V with their bias adds fused
        ("gemm", seq, dh, seq, heads, False, False),                      # scores, batched over the heads
        ("elementwise", "mul", (1, heads, seq, seq), "scalar", False),    # scaled by 1/sqrt(dh)
        ("softmax", heads * seq, seq),
        ("gemm", seq, seq, dh, heads, False, False),                      # context
        proj,                                                             # output projection
        ("elementwise", "add", (1, seq, hidden), "same", False), ("layernorm", seq, hidden),
        ("gemm", seq, hidden, ff, 1, True, False), ("elementwise", "gelu", (1, seq, ff), None, False),
        ("gemm", seq, ff, hidden, 1, True, False),
        ("elementwise", "add", (1, seq, hidden), "same", False), ("layernorm", seq, hidden),
    ]
    assert imported.workload.layers[4].scalar == pytest.approx(1 / np.sqrt(dh), rel=1e-6)
    assert imported.layout_only == {"Reshape": 4, "Transpose": 4} and not imported.skipped


@pytest.mark.parametrize("name", ["tiny", "npu1"])
@pytest.mark.parametrize("model", [small_cnn(size=16, channels=(8, 16, 16)), resnet_block(channels=16, size=8),
                                   transformer_block(seq=32, hidden=64, heads=2, ff=128)],
                         ids=["small_cnn", "resnet_block", "transformer_block"])
@pytest.mark.parametrize("dtype", [None, "int8"])
def test_generated_models_run_right_in_functional_mode(name: str, model: onnx.ModelProto, dtype: str | None) -> None:
    workload = import_onnx(model, dtype=dtype).workload  # type: ignore[arg-type]
    wr = run_workload(config(name), workload, RunOptions(functional=True, seed=2))
    assert wr.functional_ok, [(r.program, r.max_abs_error) for r in wr.layers if not r.functional_ok]
    ran = sum(len(g.layers) if g is not None else 1 for g in wr.groups)  # an entry is a layer or a fused group
    assert ran == len(workload.layers) and wr.cycles > 0


def test_dtype_override_keeps_the_nonlinear_operators_in_bf16() -> None:
    imported = import_onnx(transformer_block(seq=16, hidden=32, heads=2, ff=64), dtype="int8")
    types = {ly.name: ly.dtype for ly in imported.workload.layers}
    assert types["query.matmul"] == types["residual1"] == "int8"
    assert types["softmax"] == types["norm1"] == types["gelu"] == types["scale"] == "bf16"
    assert "note     the nonlinear operators stay in bf16 (--dtype int8 gives them no scale)" in imported.summary()


def unsupported_model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 6, 6])
    w = numpy_helper.from_array(np.ones((8, 4, 3, 3), dtype=np.float32), "w")
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    nodes = [helper.make_node("Erf", ["x"], ["e1"]), helper.make_node("Relu", ["e1"], ["r"]),
             helper.make_node("Erf", ["r"], ["e2"]), helper.make_node("Pow", ["e2", "two"], ["p"]),
             helper.make_node("Conv", ["p", "w"], ["y"], group=2, kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(nodes, "odd", [x], [y], [w, two])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def test_unsupported_operators_are_listed_in_one_message() -> None:
    with pytest.raises(OnnxImportError) as err:
        import_onnx(unsupported_model())
    assert str(err.value) == (
        "<model odd>: 4 operators of the graph cannot be simulated: Erf x2, Conv (group=2) x1, Pow x1 (supported: "
        "Conv, Gemm, MatMul, Softmax, LayerNormalization, Relu, Sigmoid, Tanh, Gelu, Add, Sub, Mul, Div, MaxPool, "
        "AveragePool, GlobalAveragePool, GlobalMaxPool; layout only: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, "
        "Identity, Dropout, Constant); run with --skip-unsupported to simulate the rest without them")
    imported = import_onnx(unsupported_model(), skip_unsupported=True)
    assert [signature(ly) for ly in imported.workload.layers] == [("elementwise", "relu", (1, 8, 6, 6), None, False)]
    assert "skipped  unsupported, left out of the run: Erf x2, Conv (group=2) x1, Pow x1" in imported.summary()


def test_malformed_files_name_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"\x08\x07this is not a protobuf\xff\xff")
    with pytest.raises(OnnxImportError, match=rf"^{bad}: not an ONNX model: the protobuf does not parse"):
        import_onnx(bad)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(OnnxImportError) as err:
        import_onnx(empty)
    assert str(err.value) == (f"{empty}: not an ONNX model: it has no graph nodes (0 bytes read); give a .onnx file "
                              "saved by onnx.save or an exporter")
    with pytest.raises(OnnxImportError, match=rf"^{tmp_path / 'missing.onnx'}: cannot read ONNX file: No such file"):
        import_onnx(tmp_path / "missing.onnx")
    model = resnet_block(channels=8, size=4)
    model.graph.node[1].input[0] = "nowhere"  # a dangling input
    broken = tmp_path / "broken.onnx"
    onnx.save(model, broken)
    with pytest.raises(OnnxImportError, match=rf"^{broken}: not a valid ONNX model: .*nowhere.*; fix the graph or "
                       "export it again$"):
        import_onnx(broken)


def test_dynamic_shapes_are_refused_with_the_fix(tmp_path: Path) -> None:
    model = resnet_block(channels=8, size=4)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    with pytest.raises(OnnxImportError, match=r"node 'conv1' \(Conv\): tensor 'x' has no static shape \(dimension "
                       r"'batch' is not fixed\); give the graph's inputs fixed dimensions"):
        import_onnx(model)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_writes_a_workload_that_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(size=16, channels=(8, 8, 16)), path)
    out_yaml = tmp_path / "workloads" / "cnn.yaml"
    code, out, _ = run(capsys, "import-onnx", str(path), "-o", str(out_yaml))
    assert code == 0 and out.splitlines()[-1] == f"workload {out_yaml}: 8 layers"
    assert load_workload(out_yaml).layers == import_onnx(path).workload.layers
    code, out, _ = run(capsys, "run", "--config", str(ROOT / "configs/tiny.yaml"), "--onnx", str(path), "--json")
    data = json.loads(out)
    assert code == 0 and [o["operator"] for o in data["operators"]] == [
        "matmul", "conv", "pool", "softmax", "data movement"]
    code, out, _ = run(capsys, "run", "--config", str(ROOT / "configs/tiny.yaml"), "--onnx", str(path))
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"imported {path}: 12 nodes -> 8 layers"
    assert lines[-8].startswith("time by operator type") and lines[-1].startswith("data movement")


def test_cli_unsupported_model_exits_2_and_skips_on_request(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    path = tmp_path / "odd.onnx"
    onnx.save(unsupported_model(), path)
    tiny = str(ROOT / "configs/tiny.yaml")
    code, _, err = run(capsys, "run", "--config", tiny, "--onnx", str(path))
    assert code == 2 and err.startswith(f"error: {path}: 4 operators of the graph cannot be simulated: Erf x2, ")
    code, out, _ = run(capsys, "run", "--config", tiny, "--onnx", str(path), "--skip-unsupported", "--functional")
    assert code == 0 and "skipped  unsupported, left out of the run: Erf x2, Conv (group=2) x1, Pow x1" in out
    assert "check    functional: every layer matches numpy" in out


def test_cli_lower_explains_every_layer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "block.onnx"
    onnx.save(resnet_block(channels=8, size=8), path)
    code, out, _ = run(capsys, "lower", "--config", str(ROOT / "configs/npu1.yaml"), "--onnx", str(path))
    assert code == 0
    assert "fused      bias, relu into conv1 (graph nodes relu1): applied to the accumulators" in out
    assert "fused      relu into add (graph nodes relu2): in the same call" in out
