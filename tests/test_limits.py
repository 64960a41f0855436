"""Limits (npusim.limits): absurd sizes are refused before lowering, a layer whose estimate is
past --max-cycles or --max-wall before simulating, a functional run that cannot fit in memory
before its data is made; each error names the limit and how to raise it (exit 2). Flags name
themselves in their errors; a livelock's limit has a flag."""
from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from npusim import Conv2d, Elementwise, Gemm, Pool, RunOptions, load_config, lower, lower_vector, run_layer
from npusim.cli import main

ROOT = Path(__file__).resolve().parents[1]
Deadline = Callable[[int], AbstractContextManager[None]]
NPU1 = str(ROOT / "configs/npu1.yaml")
TINY = str(ROOT / "configs/tiny.yaml")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_absurd_gemm_is_refused_before_lowering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "run", "--config", NPU1, "--gemm", "1000000x1000000x1000000")
    assert code == 2 and out == ""
    assert err == ("error: --gemm 1000000x1000000x1000000: tensor A is 1,000,000,000,000 bytes, more than the limit "
                   "of 4,294,967,296 (NPUSIM_MAX_TENSOR_BYTES); split the layer, or raise the limit with "
                   "NPUSIM_MAX_TENSOR_BYTES=N\n")
    code, out, err = _run(capsys, "lower", "--config", NPU1, "--gemm", f"{2**31}x{2**31}x{2**31}", "-o", "x.json")
    assert code == 2 and err == (
        "error: --gemm 2147483648x2147483648x2147483648: m = 2,147,483,648 is more than the limit of 1,048,576 per "
        "dimension (NPUSIM_MAX_DIMENSION); lowering it would take hours and gigabytes: split the layer, or raise "
        "the limit with NPUSIM_MAX_DIMENSION=N\n")
    code, _, err = _run(capsys, "run", "--config", NPU1, "--gemm", f"{2**24}x1x1")  # a skinny one: one dimension
    assert code == 2 and "m = 16,777,216 is more than the limit of 1,048,576 per dimension" in err


def test_the_size_limits_can_be_raised(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NPUSIM_MAX_DIMENSION", "32")
    code, _, err = _run(capsys, "lower", "--config", TINY, "--gemm", "64x16x16")
    assert code == 2 and "m = 64 is more than the limit of 32 per dimension" in err
    monkeypatch.setenv("NPUSIM_MAX_DIMENSION", "64")
    assert _run(capsys, "lower", "--config", TINY, "--gemm", "64x16x16")[0] == 0


def test_a_layer_estimated_past_the_budgets_is_refused(capsys: pytest.CaptureFixture[str], deadline: Deadline) -> None:
    # 2^16 cube, int8: within the size limits, 9e10 cycles and hours of simulation: refused on the
    # mapper's analytical estimate, before the search simulates parts of its leaders (minutes)
    with deadline(60):
        code, out, err = _run(capsys, "run", "--config", NPU1, "--gemm", "65536x65536x65536")
    assert code == 2 and out == ""
    assert re.match(r"error: layer 'gemm_65536x65536x65536': its lowering estimates [\d,]{14} cycles and about ", err)
    assert err.endswith(" hours of simulation, more than --max-wall 3600 s: raise --max-wall "
                        "(RunOptions.max_wall_seconds) or run a smaller layer\n")
    low = lower(load_config(NPU1), Gemm(name="g", m=256, k=256, n=256, dtype="int8"))
    assert low.search is not None
    cycles = low.search.winner.cycles  # what the mapper's search simulated
    code, _, err = _run(capsys, "run", "--config", NPU1, "--gemm", "256x256x256", "--max-cycles", str(cycles - 1))
    assert code == 2 and f"its lowering estimates {cycles:,} cycles" in err
    assert f"more than --max-cycles {cycles - 1:,}: raise --max-cycles (RunOptions.max_cycles)" in err
    # within the budget, it runs (in the cycles the search simulated)
    code, out, _ = _run(capsys, "run", "--config", NPU1, "--gemm", "256x256x256", "--max-cycles", str(cycles),
                        "--json")
    assert code == 0 and json.loads(out)["cycles"] == cycles
    # a run that must simulate again (the mapper's run recorded no intervals) within a wall budget
    code, _, err = _run(capsys, "run", "--config", NPU1, "--gemm", "256x256x256", "--max-wall", "1e-6", "--intervals")
    assert code == 2 and "more than --max-wall 1e-06 s" in err
    assert _run(capsys, "run", "--config", NPU1, "--gemm", "256x256x256", "--max-wall", "1e-6")[0] == 0  # reused


def test_workload_layers_and_sweep_points_are_checked() -> None:
    layer = Elementwise(name="big", kind="relu", shape=(4096, 4096), dtype="int8")
    with pytest.raises(ValueError, match=r"^layer 'big': its lowering estimates [\d,]+ cycles .* more than "
                                         r"--max-cycles 10:"):
        run_layer(load_config(NPU1), layer, RunOptions(max_cycles=10))


def test_functional_mode_refuses_what_cannot_fit(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", "--config", TINY, "--gemm", "512x512x512", "--functional", "--max-memory",
                        "0.001")
    assert code == 2 and err.startswith("error: layer 'gemm_512x512x512': functional mode needs about 0.0 GiB for ")
    assert err.endswith("more than --max-memory (0.0 GiB): run it timing-only (without --functional), a smaller "
                        "layer, or raise --max-memory GIB (RunOptions.max_memory_bytes) if the machine has it\n")
    # by default, the memory the machine has: a 2^16 cube needs hundreds of GiB
    code, _, err = _run(capsys, "run", "--config", NPU1, "--gemm", "65536x65536x65536", "--functional",
                        "--max-wall", "1e12")
    assert code == 2 and "functional mode needs about " in err and "more than the memory available" in err


@pytest.mark.parametrize("layer", [
    Gemm(name="g", m=512, k=384, n=256, dtype="int8", bias=True),
    Gemm(name="b", m=256, k=512, n=256, dtype="bf16"),
    Conv2d(name="c", in_channels=16, height=32, width=32, out_channels=32, kernel_h=3, kernel_w=3, padding=1,
           dtype="int8"),
    Elementwise(name="e", kind="add", shape=(256, 512), broadcast="same", dtype="bf16"),
    Pool(name="p", kind="avg", channels=32, height=32, width=32, kernel_h=2, kernel_w=2, stride=2, dtype="int16"),
])
def test_the_memory_estimate_bounds_the_functional_run(layer: Gemm | Conv2d | Elementwise | Pool) -> None:
    """The estimate is at least the functional run's peak of traced memory (numpy's arrays
    included; the lowering, and the mapper's simulations in it, before), and not absurdly more
    (within 8x)."""
    from npusim.limits import functional_bytes
    from npusim.runner import estimate_of, run_lowered, run_vector_lowered

    config = load_config(NPU1)
    low = lower(config, layer) if isinstance(layer, (Gemm, Conv2d)) else lower_vector(config, layer)
    _, _, operands, outputs = estimate_of(low)
    need = functional_bytes((t.size_bytes for t in low.program.tensors),
                            (b.size_bytes for tile in low.program.tiles for b in tile.buffers), operands, outputs)
    tracemalloc.start()
    try:
        options = RunOptions(functional=True)
        report = run_lowered(config, low, options) if isinstance(layer, (Gemm, Conv2d)) else \
            run_vector_lowered(config, low, options)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.functional_ok is True
    assert peak <= need <= 8 * peak, (peak, need)


def test_flags_name_themselves(capsys: pytest.CaptureFixture[str]) -> None:
    for flag, value, expected in [("--max-cycles", "0", "expected a whole number at least 1, e.g. 1e9, got '0'"),
                                  ("--max-wall", "-5", "expected a number more than 0, e.g. 600, got '-5'"),
                                  ("--max-memory", "lots", "expected a number more than 0, e.g. 8, got 'lots'"),
                                  ("--stall-limit", "1.5", "expected a whole number at least 1, e.g. 1e6, got '1.5'"),
                                  ("--seed", "-1", "expected a whole number at least 0, got '-1'"),
                                  ("--shift", "40", "expected a whole number from 0 to 31, got '40'")]:
        with pytest.raises(SystemExit) as exc:
            main(["run", "--config", TINY, "--gemm", "64x64x64", flag, value])
        assert exc.value.code == 2
        assert f"npusim run: error: argument {flag}: {expected}" in capsys.readouterr().err


def test_a_livelock_limit_has_a_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = [{"buffer": "m", "length_bytes": 256, "next": 0}]
    dst = [{"buffer": "c", "length_bytes": 256, "next": 0}]
    trace = {"format": "npusim-trace", "version": 1, "name": "spin", "tiles": [
        {"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 256}], "dma": [{"channel": "mm2s0", "bds": src}]},
        {"tile": [0, 2], "buffers": [{"name": "c", "size_bytes": 256}], "locks": [{"name": "never", "init": 0}],
         "dma": [{"channel": "s2mm0", "bds": dst}], "core": [{"op": "acquire", "lock": "never"}]}],
        "routes": [{"name": "feed", "source": {"tile": [0, 1], "channel": "mm2s0"},
                    "destinations": [{"tile": [0, 2], "channel": "s2mm0"}]}]}
    path = tmp_path / "spin.json"
    path.write_text(json.dumps(trace))
    code, _, err = _run(capsys, "run", "--config", TINY, "--trace", str(path), "--stall-limit", "2e4")
    assert code == 3 and "only never-ending BD chains kept running" in err
    # the default limit (1,000,000 cycles) reports it too, about ten times sooner than the old 10,000,000
    assert RunOptions().stall_limit_cycles == 1_000_000
    code, _, err = _run(capsys, "run", "--config", TINY, "--trace", str(path))
    assert code == 3 and "deadlock: only never-ending BD chains kept running" in err


def test_a_zero_sized_onnx_dimension_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [0, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [0, 8])
    w = numpy_helper.from_array(np.ones((16, 8), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g", [x], [y], [w])
    model = tmp_path / "zero.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), model)
    code, _, err = _run(capsys, "import-onnx", str(model), "-o", str(tmp_path / "w.yaml"))
    assert code == 2
    assert err == (f"error: {model}: node 'mm' (MatMul): m: Input should be greater than or equal to 1, got 0\n"
                   "(a zero-sized tensor: 'x' is 0x16, 'y' is 0x8; export the model with non-empty tensors)\n")
