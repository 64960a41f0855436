"""Fused groups compute what numpy computes, and never deadlock: resident groups (convolutions one
after another on the whole array, tensors in row bands) and spatial groups (a member per column,
all at once), on fixed cases that cover their mechanisms and on random chains (hypothesis). The
numpy answer chains each member's reference (npusim.frontend.data, written apart from the
simulator's kernels): integer outputs must be equal, bf16 within a few roundings per member."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from npusim.config import NPUConfig, load_config
from npusim.engine import RunOptions, run_functional
from npusim.isa import BufferTask
from npusim.frontend import Conv2d, Elementwise, Gemm, Pool
from npusim.frontend.fusion import data as D
from npusim.frontend.fusion.choose import rank
from npusim.frontend.fusion.dataflow import out_shape
from npusim.frontend.fusion.group import Spec, build
from npusim.frontend.fusion.resident import build_resident

ROOT = Path(__file__).resolve().parents[2]
NPU1 = load_config(ROOT / "configs/npu1.yaml")
TINY = load_config(ROOT / "configs/tiny.yaml")
LIMIT = RunOptions(max_cycles=20_000_000)  # a deadlock or a run away fails the test instead of hanging


def conv(name: str, cin: int, cout: int, size: int, k: int = 3, stride: int = 1, dtype: str = "int8",
         shift: int = 7, relu: bool = False) -> Conv2d:
    return Conv2d(name=name, in_channels=cin, height=size, width=size, out_channels=cout, kernel_h=k, kernel_w=k,
                  stride=stride, padding=k // 2, dtype=dtype, shift=shift if dtype == "int8" else 0,  # type: ignore[arg-type]
                  relu=relu)


def run_resident(config: NPUConfig, spec: Spec, seed: int = 1, design: int = 0) -> tuple[bool, float, int]:
    ranked = rank(config, list(spec.layers), tuple(s[0] for s in spec.sources), spec.external, leaders=design + 1)  # type: ignore[arg-type]
    group = ranked[design].group
    program, layout, bands = build_resident(config, group, "g")
    operands, answers = D.chained(spec, group.plans, seed)
    rec, out = run_functional(config, program, D.pack_resident(group, bands, operands), LIMIT, "g", layout)
    ok, err = D.check(spec, answers, D.resident_outputs(group, bands, out))
    return ok, err, rec.cycles


def run_spatial(config: NPUConfig, spec: Spec, seed: int = 1) -> tuple[bool, float, int]:
    built = build(config, spec, name="g")
    operands, answers = D.chained(spec, built.plans, seed)
    rec, out = run_functional(config, built.program, D.pack_group(built, spec, operands), LIMIT, "g", built.layout)
    ok, err = D.check(spec, answers, D.outputs(built, spec, out))
    return ok, err, rec.cycles


def chain(layers: list, external_last: bool = True) -> Spec:  # type: ignore[type-arg]
    n = len(layers)
    return Spec(tuple(layers), ((None,),) + tuple((i,) for i in range(n - 1)),
                tuple(i == n - 1 and external_last for i in range(n)))


@pytest.mark.parametrize("dtype", ["int8", "bf16"])
def test_a_resident_bottleneck_with_a_strided_window_and_two_outputs(dtype: str) -> None:
    layers = [conv("c1", 32, 16, 14, 1, dtype=dtype, relu=True), conv("c2", 16, 16, 14, dtype=dtype, relu=True),
              conv("c3", 16, 32, 14, 3, 2, dtype=dtype)]
    spec = Spec(tuple(layers), ((None,), (0,), (1,)), (False, True, True))  # c2's output leaves and feeds c3
    ok, err, _ = run_resident(NPU1, spec)
    assert ok, err


def test_resident_windows_reach_the_neighbouring_bands_and_the_zero_rows() -> None:
    # 4 bands of 3 rows: every 3x3 window at a band's edge reads the band above or below
    spec = chain([conv("a", 8, 8, 12, relu=True), conv("b", 8, 8, 12), conv("c", 8, 8, 12)])
    for design in (0, 1):
        ok, err, _ = run_resident(NPU1, spec, design=design)
        assert ok, (design, err)


def test_a_resident_tile_past_the_row_end_writes_its_padding_to_scratch() -> None:
    # 10 pixels a row in tiles of 8: the second tile of each row is 6 pixels of padding
    spec = chain([conv("a", 8, 16, 10, relu=True), conv("b", 16, 8, 10)])
    group = rank(NPU1, list(spec.layers), (None, 0), spec.external, leaders=20)
    tiled = next(r.group for r in group if r.group.plans[0].m < 10)
    program, layout, bands = build_resident(NPU1, tiled, "g")
    assert any(op.buffer.startswith("scratch") for op in program.runtime if hasattr(op, "buffer"))
    operands, answers = D.chained(spec, tiled.plans, 3)
    _, out = run_functional(NPU1, program, D.pack_resident(tiled, bands, operands), LIMIT, "g", layout)
    assert D.check(spec, answers, D.resident_outputs(tiled, bands, out))[0]


def test_a_spatial_residual_block_reads_its_skip_from_ddr_and_the_branch_on_chip() -> None:
    c1, c2 = conv("c1", 16, 16, 8, relu=True), conv("c2", 16, 16, 8)
    add = Elementwise(name="add", kind="add", shape=(1, 8, 8, 16), broadcast="same", dtype="int8", relu=True)
    ok, err, _ = run_spatial(NPU1, Spec((c1, c2, add), ((None,), (0,), (1, None)), (False, False, True)))
    assert ok, err


@pytest.mark.parametrize("channels, size", [(16, 8), (8, 6)])
def test_a_spatial_residual_block_keeps_its_skip_on_chip_for_both_readers(channels: int, size: int) -> None:
    # the stem's output feeds conv c1 (a padded image) and the Add (dense rows): stored once, in
    # c1's layout; the Add's reads are found in it (8 channels: the Add's row padding reads zeros)
    stem = conv("stem", 8, channels, size, relu=True)
    c1, c2 = conv("c1", channels, channels, size, relu=True), conv("c2", channels, channels, size)
    add = Elementwise(name="add", kind="add", shape=(1, size, size, channels), broadcast="same", dtype="int8",
                      relu=True)
    spec = Spec((stem, c1, c2, add), ((None,), (0,), (1,), (2, 0)), (False, False, False, True))
    built = build(NPU1, spec, name="g")
    assert set(built.keeps) == {0, 1, 2} and built.keeps[0].pad == 1
    assert {t.name for t in built.program.tensors} == {"L0.A", "L0.B", "L1.B", "L2.B", "L3.C"}  # the rest on chip
    zeros = [b for tp in built.program.tiles for b in tp.buffers if b.name == "L0.T_zeros"]
    assert bool(zeros) == (channels == 8)
    ok, err, _ = run_spatial(NPU1, spec)
    assert ok, err


def test_two_convolutions_read_one_on_chip_tensor_through_different_borders() -> None:
    # a block's 3x3 convolution and a strided 3x3 one (a downsample) read one tensor: stored in the
    # strided one's wider rows, the other finds its window rows (and border) there
    p = conv("p", 8, 16, 10, 1, relu=True)
    a, b = conv("a", 16, 16, 10), conv("b", 16, 32, 10, 3, 2)
    spec = Spec((p, a, b), ((None,), (0,), (0,)), (False, True, True))
    built = build(NPU1, spec, name="g")
    reads = [op for op in built.program.runtime if isinstance(op, BufferTask) and op.buffer == "L0.T"
             and op.channel.startswith("mm2s")]
    assert len({op.channel for op in reads}) == 2 and built.keeps[0].wp > 12  # wider than a's 10 + 2
    ok, err, _ = run_spatial(NPU1, spec)
    assert ok, err


def test_a_spatial_head_pool_then_fc_keeps_both_hand_offs_on_chip() -> None:
    c = conv("c", 8, 32, 8, 1)
    pool = Pool(name="gap", kind="avg", channels=32, height=8, width=8, kernel_h=8, kernel_w=8, dtype="int8")
    fc = Gemm(name="fc", m=1, k=32, n=16, dtype="int8", shift=7)
    spec = chain([c, pool, fc])
    built = build(NPU1, spec, name="g")
    assert set(built.keeps) == {0, 1} and built.on_chip_bytes > 0
    ok, err, _ = run_spatial(NPU1, spec)
    assert ok, err


def test_independent_members_of_a_spatial_group_run_at_once() -> None:
    a, b = conv("a", 8, 16, 12), conv("b", 8, 16, 12)
    together = run_spatial(NPU1, Spec((a, b), ((None,), (None,)), (True, True)))
    alone = run_spatial(NPU1, Spec((a,), ((None,),), (True,)))
    assert together[0] and together[2] < 1.2 * alone[2]  # two layers in about the time of one


@st.composite
def conv_chains(draw: st.DrawFn) -> list[Conv2d]:
    dtype = draw(st.sampled_from(["int8", "int8", "bf16"]))
    size = draw(st.integers(6, 14))
    cin = draw(st.sampled_from([8, 16]))
    out = []
    for i in range(draw(st.integers(2, 3))):
        k = draw(st.sampled_from([1, 3]))
        stride = draw(st.sampled_from([1, 1, 2])) if size >= 8 else 1
        cout = draw(st.sampled_from([8, 16, 32]))
        out.append(conv(f"l{i}", cin, cout, size, k, stride, dtype, draw(st.integers(5, 8)), draw(st.booleans())))
        size, cin = out[-1].out_h, cout
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_chains(), st.integers(0, 3))
def test_random_resident_chains_compute_numpys_answer(layers: list[Conv2d], seed: int) -> None:
    spec = chain(layers)
    if not rank(NPU1, layers, tuple(s[0] for s in spec.sources), spec.external):
        event("no shared design")
        return  # no design shares a tile (channel counts that no slice width divides)
    event("run")
    ok, err, _ = run_resident(NPU1, spec, seed)
    assert ok, err


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_chains(), st.sampled_from(["relu", "add", "add", "pool"]), st.integers(0, 3))
def test_random_spatial_chains_compute_numpys_answer(layers: list[Conv2d], tail: str, seed: int) -> None:
    last = layers[-1]
    shape = (1, last.out_h, last.out_w, last.out_channels)
    if tail == "relu" and last.dtype == "int8":
        extra = Elementwise(name="t", kind="relu", shape=shape, dtype=last.dtype)
    elif tail == "add":
        extra = Elementwise(name="t", kind="add", shape=shape, broadcast="same", dtype=last.dtype)
    else:
        extra = Pool(name="t", kind="avg", channels=shape[3], height=shape[1], width=shape[2], kernel_h=2, kernel_w=2,
                     stride=2, dtype=last.dtype) if shape[1] % 2 == 0 and shape[1] >= 2 else None
    members = layers[:3] + ([extra] if extra is not None else [])
    members = members[:NPU1.columns]
    # an Add's second operand: an earlier member's output of its shape (a skip kept on chip), or DDR
    skip = next((j for j, m in enumerate(members[:-2]) if out_shape(m) == shape), None)
    spec = Spec(tuple(members), ((None,),) + tuple((i,) + ((skip,) if getattr(m, "broadcast", None) == "same" else ())
                                                  for i, m in enumerate(members[1:])),
                tuple(i == len(members) - 1 for i in range(len(members))))
    if skip is not None and isinstance(members[-1], Elementwise):
        event("skip on chip")
    try:
        built = build(NPU1, spec, name="g")
    except Exception as exc:  # noqa: BLE001 - a group the array cannot hold is not a candidate
        assert "LoweringError" in type(exc).__name__, exc
        event("not built")
        return
    event(f"run {len(members)} members")
    operands, answers = D.chained(spec, built.plans, seed)
    _, out = run_functional(NPU1, built.program, D.pack_group(built, spec, operands), LIMIT, "g", built.layout)
    ok, err = D.check(spec, answers, D.outputs(built, spec, out))
    assert ok, err
