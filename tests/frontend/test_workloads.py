"""Layers and workload files: the shipped workloads match the public models; bad files are named."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from npusim.frontend import Conv2d, Gemm, WorkloadError, load_workload

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, layers, gmacs", [
    ("resnet18", 21, 1.814073344),   # torchvision: 1.81 GMACs (20 convolutions + fc)
    ("resnet50", 54, 4.089184256),   # torchvision: 4.09 GMACs (53 convolutions + fc)
    ("bert_base_layer", 8, 4.02653184),  # 4 x 512x768x768 + 2 x 512x768x3072 + 24 heads' 512x512x64
])
def test_shipped_workloads_have_the_public_shapes(name: str, layers: int, gmacs: float) -> None:
    wl = load_workload(ROOT / f"workloads/{name}.yaml")
    assert wl.name == name and len(wl.layers) == layers
    assert sum(ly.macs * ly.count for ly in wl.layers) == round(gmacs * 1e9)


def test_resnet18_layers_chain() -> None:
    convs = [ly for ly in load_workload(ROOT / "workloads/resnet18.yaml").layers if isinstance(ly, Conv2d)]
    assert (convs[0].out_h, convs[0].out_w, convs[0].out_channels) == (112, 112, 64)
    main = [c for c in convs if "downsample" not in c.name]
    for a, b in zip(main[1:], main[2:]):  # after the max pool, each conv feeds the next
        assert (b.in_channels, b.height) == (a.out_channels, a.out_h)
    fc = load_workload(ROOT / "workloads/resnet18.yaml").layers[-1]
    assert isinstance(fc, Gemm) and (fc.m, fc.k, fc.n) == (1, 512, 1000)


def test_workload_dtype_is_the_default_of_its_layers() -> None:
    wl = load_workload(ROOT / "workloads/bert_base_layer.yaml")
    assert {ly.dtype for ly in wl.layers} == {"bf16"}
    assert [ly.count for ly in wl.layers if ly.name.startswith("attention.s") and "self" not in ly.name] == [12]


def test_bad_workload_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ndtype: int8\nlayers:\n"
                    "  - {op: conv2d, in_channels: 3, height: 2, width: 4, out_channels: 4, kernel_h: 3, kernel_w: 3}\n"
                    "  - {op: gemm, m: 0, k: 2, n: 2, dtype: int9}\n"
                    "  - {op: gemm, m: 2, k: 2, n: 2, dtype: int8, out_dtype: bf16}\n"
                    "  - {op: matmul, m: 2}\n")
    with pytest.raises(WorkloadError) as err:
        load_workload(path)
    assert str(err.value).splitlines() == [
        f"{path}:4: layers[0]: a 3x3 kernel does not fit a 2x4 input with padding 0; make the input larger "
        "or the kernel smaller",
        f"{path}:5: layers[1].dtype: Input should be 'int8', 'int16', 'bf16' or 'bfp16', got 'int9'",
        f"{path}:5: layers[1].m: Input should be greater than or equal to 1, got 0",
        f"{path}:6: layers[2]: out_dtype bf16 is not produced from int8 operands; use one of int8, int16, int32",
        f"{path}:7: layers[3]: Input tag 'matmul' found using 'op' does not match any of the expected tags: "
        "'gemm', 'conv2d', 'elementwise', 'pool', 'softmax', 'layernorm', 'rmsnorm', 'rope', 'embedding'",
    ]


def test_unreadable_and_malformed_workloads(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match=r"missing.yaml: cannot read workload file: No such file"):
        load_workload(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(WorkloadError, match=r"list.yaml: expected a mapping with 'name' and 'layers'"):
        load_workload(tmp_path / "list.yaml")
    (tmp_path / "empty.yaml").write_text("name: e\nlayers: []\n")
    with pytest.raises(WorkloadError, match=r"empty.yaml:2: layers: List should have at least 1 item"):
        load_workload(tmp_path / "empty.yaml")


def test_layer_shapes_and_types() -> None:
    conv = Conv2d(in_channels=3, height=224, width=224, out_channels=64, kernel_h=7, kernel_w=7, stride=2,
                  padding=3, dtype="int8")
    assert (conv.out_h, conv.out_w, conv.macs) == (112, 112, 112 * 112 * 64 * 3 * 49)
    assert Gemm(m=2, k=3, n=4, dtype="bf16").output == "bf16"
    assert Gemm(m=2, k=3, n=4, dtype="int8", out_dtype="int32").output == "int32"
    with pytest.raises(ValidationError, match="shift applies to int8 and int16 outputs only"):
        Gemm(m=2, k=3, n=4, dtype="int8", out_dtype="int32", shift=3)
