"""Which layer reads which: edges from layers' inputs and from chained workloads, only where the
tensors agree; the shipped ResNets' edges; ONNX imports name every layer's inputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim.frontend import Conv2d, Elementwise, Gemm, Pool, Workload, WorkloadError, import_onnx, load_workload
from npusim.frontend.fusion import consumers, producers
from npusim.frontend.fusion.dataflow import agree
from npusim.models import residual_cnn, transformer_block

ROOT = Path(__file__).resolve().parents[2]


def conv(name: str, cin: int, cout: int, size: int = 8, k: int = 3, stride: int = 1, **kw: object) -> Conv2d:
    return Conv2d(name=name, in_channels=cin, height=size, width=size, out_channels=cout, kernel_h=k, kernel_w=k,
                  stride=stride, padding=k // 2, dtype="int8", **kw)  # type: ignore[arg-type]


def test_a_chained_workload_links_each_layer_to_the_previous_where_the_shapes_agree() -> None:
    layers = [conv("a", 3, 8), conv("b", 8, 8), conv("c", 16, 8), conv("d", 8, 8, stride=2), conv("e", 8, 8, size=4)]
    assert producers(Workload(name="w", chained=True, layers=layers)) == [(None,), (0,), (None,), (2,), (3,)]
    assert producers(Workload(name="w", layers=layers)) == [(None,)] * 5  # not chained: independent layers


def test_inputs_name_producers_and_disagreeing_ones_are_read_from_the_host() -> None:
    x = conv("x", 3, 8)
    add = Elementwise(name="add", kind="add", shape=(1, 8, 8, 8), broadcast="same", dtype="int8", inputs=("y", "x"))
    layers = [x, conv("y", 8, 8), add, conv("z", 8, 4, inputs=()), Gemm(name="g", m=64, k=8, n=8, dtype="int8", inputs=("x",))]
    edges = producers(Workload(name="w", chained=True, layers=layers))
    assert edges == [(None,), (0,), (1, 0), (None,), (0,)]  # the GEMM reads x's 64 pixels x 8 channels
    assert consumers(edges)[0] == [(1, 0), (2, 1), (4, 0)]
    assert not agree(layers[0], conv("q", 8, 8, size=4))  # other spatial size
    assert not agree(conv("i", 8, 8, out_dtype="int32"), layers[1])  # int32 is no operand type


def test_an_input_that_is_not_an_earlier_layer_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"layers\[1\] \(b\)\.inputs: 'c' is not the name of an earlier layer; name a "
                       r"layer listed before this one, or \[\] for an input from the host"):
        Workload(name="w", layers=[conv("a", 3, 8), conv("b", 8, 8, inputs=("c",)), conv("c", 8, 8)])


def test_a_bad_input_in_a_workload_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("name: w\ndtype: int8\nlayers:\n  - {name: a, op: gemm, m: 4, k: 8, n: 8, inputs: [nope]}\n")
    with pytest.raises(WorkloadError, match=r"w\.yaml: .*'nope' is not the name of an earlier layer"):
        load_workload(path)


def test_the_resnets_downsample_branches_read_their_block_input() -> None:
    wl = load_workload(ROOT / "workloads/resnet50.yaml")
    names = [ly.name for ly in wl.layers]
    edges = producers(wl)
    reads = {ly.name: [names[s] for s in src if s is not None] for ly, src in zip(wl.layers, edges)}
    assert reads["layer1.0.conv2"] == ["layer1.0.conv1"] and reads["layer1.0.conv1"] == []  # the max pool is not listed
    assert reads["layer2.0.downsample.0"] == ["layer1.2.conv3"] and reads["layer1.0.downsample.0"] == []
    assert reads["layer2.1.conv1"] == ["layer2.0.downsample.0"] and reads["fc"] == []
    assert sum(1 for src in edges if src[0] is not None) == 50
    r18 = load_workload(ROOT / "workloads/resnet18.yaml")
    assert sum(1 for src in producers(r18) if src[0] is not None) == 18


def test_onnx_imports_name_each_layers_inputs_through_layout_only_nodes() -> None:
    wl = import_onnx(residual_cnn()).workload
    assert {ly.name: ly.inputs for ly in wl.layers} == {
        "stem": (), "block.conv1": ("stem",), "block.conv2": ("block.conv1",), "block.add": ("block.conv2", "stem"),
        "widen": ("block.add",), "gap": ("widen",), "fc": ("gap",)}
    assert [s for s in producers(wl)] == [(None,), (0,), (1,), (2, 0), (3,), (4,), (5,)]
    assert isinstance(wl.layers[5], Pool)
    heads = import_onnx(transformer_block(seq=16, hidden=32, heads=2, ff=64)).workload
    edges = dict(zip([ly.name for ly in heads.layers], producers(heads)))
    assert edges["scores"] == (None,)  # the heads' reshape and transpose change the layout: from DDR
    assert edges["residual2"] == (12, 9)  # ffn.down's output and the first norm's
