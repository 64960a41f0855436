"""The kernel library (compute_tile.kernels): one lookup, ComputeTileSpec.kernel, with errors that
list what there is; the Compute instruction names its kernel and the engine times that variant;
--kernel on the command line and `kernel` as a sweep key pick the library."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from npusim import load_config, simulate
from npusim.cli import main
from npusim.config import ConfigError, KernelError, NPUConfig
from npusim.hw import timing
from npusim.isa import ProgramError, program_from_dict, verify
from npusim.sweep.grid import axis_from_text, axis_from_value

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
FAST_FEEDS = ["ddr.bandwidth_gb_per_s=10000", "stream_switch.bytes_per_cycle=64", "compute_tile.dma.bytes_per_cycle=64",
              "mem_tile.dma.bytes_per_cycle=64", "shim_tile.dma.bytes_per_cycle=64"]


@pytest.fixture(scope="module")
def npu1() -> NPUConfig:
    return load_config(CONFIGS / "npu1.yaml")


@pytest.fixture(scope="module")
def npu2() -> NPUConfig:
    return load_config(CONFIGS / "npu2.yaml")


def test_none_is_the_default_kernel(npu1: NPUConfig) -> None:
    tile = npu1.compute_tile
    assert tile.default_kernel == "tuned"
    assert tile.kernel(None, "int8") is tile.kernels["tuned"].variants["int8"]
    assert tile.kernel("mlir-aie", "int8") is tile.kernels["mlir-aie"].variants["int8"]
    assert tile.kernel("mlir-aie", "int8", "int8", "int32") is tile.kernels["mlir-aie"].variants["int8"]


def test_mixed_operands_are_their_own_variant(npu2: NPUConfig) -> None:
    tile = npu2.compute_tile
    assert tile.kernel(None, "bf16", "bfp16") is tile.kernels["tuned"].variants["bf16xbfp16"]
    assert tile.kernel(None, "bf16", "bf16") is tile.kernels["tuned"].variants["bf16"]  # B as A: the plain key


def test_unknown_kernel_lists_the_names(npu2: NPUConfig) -> None:
    with pytest.raises(KernelError) as err:
        npu2.compute_tile.kernel("nosuch", "int8")
    assert str(err.value) == "no kernel named 'nosuch' (compute_tile.kernels has: tuned, mlir-aie, mlir-aie-bfp16)"


def test_missing_type_pair_lists_the_variants(npu1: NPUConfig) -> None:
    with pytest.raises(KernelError) as err:
        npu1.compute_tile.kernel("mlir-aie", "bf16", "bfp16")
    assert str(err.value) == (
        "kernel 'mlir-aie' has no bf16xbfp16 variant (compute_tile.kernels.mlir-aie.variants has: int8, int16, "
        "bf16); add compute_tile.kernels.mlir-aie.variants.bf16xbfp16 or use another kernel or data type")


def test_an_output_the_variant_cannot_emit(npu1: NPUConfig) -> None:
    with pytest.raises(KernelError, match=r"^kernel 'tuned' bf16 cannot emit int8 \(it emits: bf16, fp32\)$"):
        npu1.compute_tile.kernel(None, "bf16", None, "int8")


def test_tile_shapes_a_kernel_supports(npu1: NPUConfig) -> None:
    stock = npu1.compute_tile.kernel("mlir-aie", "int8")
    assert stock.tile_problem(64, 64, 64) is None
    assert stock.tile_problem(8, 64, 64) == "m=8 k=64 n=64 are not multiples of its tile_multiple 16x8x16"
    assert npu1.compute_tile.kernel("tuned", "int8").tile_problem(8, 64, 64) is None


def test_default_kernel_must_be_one_of_the_kernels() -> None:
    with pytest.raises(ConfigError, match=r"default_kernel 'nosuch' is not one of the kernels \(tuned, mlir-aie\); "
                       "name one of them or add it under kernels"):
        load_config(CONFIGS / "npu1.yaml", ["compute_tile.default_kernel=nosuch"])


def one_call(config: NPUConfig, m: int, k: int, n: int, **extra: object) -> int:
    compute = {"op": "compute", "m": m, "k": k, "n": n, "dtype": "int8", **extra}
    program = program_from_dict({"name": "one", "tiles": [{"tile": [0, 2], "core": [compute]}]}, "one")
    return simulate(config, program).cycles


def test_the_engine_times_the_kernel_the_instruction_names(npu1: NPUConfig) -> None:
    tile = npu1.compute_tile
    tuned = timing.compute_cycles(tile.kernel("tuned", "int8"), 64, 64, 64)
    stock = timing.compute_cycles(tile.kernel("mlir-aie", "int8"), 64, 64, 64)
    # stock: 262144 / (256 * 0.889) = 1151.9 + 0.27 * 4096 = 1105.9 -> 2258 + 132 = 2390 (ignite-xdna's model: 2388)
    assert stock == 2390 and tuned == 1401
    assert one_call(npu1, 64, 64, 64) == tuned  # no kernel named: the default, as traces without the field
    assert one_call(npu1, 64, 64, 64, kernel="mlir-aie") == stock
    assert one_call(npu1, 64, 64, 64, kernel="tuned") == tuned


def test_verify_names_the_kernel_and_the_tile_it_cannot_run(npu1: NPUConfig) -> None:
    compute = {"op": "compute", "m": 8, "k": 64, "n": 64, "dtype": "int8", "kernel": "mlir-aie"}
    program = program_from_dict({"name": "one", "tiles": [{"tile": [0, 2], "core": [compute]}]}, "x.json")
    with pytest.raises(ProgramError) as err:
        verify(program, npu1, "x.json")
    assert str(err.value) == ("x.json: compute tile (0,2): core[0]: compute int8: kernel 'mlir-aie' cannot run this "
                              "call: m=8 k=64 n=64 are not multiples of its tile_multiple 16x8x16; use a tile it "
                              "supports")
    compute.update(kernel="nosuch", m=16)
    program = program_from_dict({"name": "one", "tiles": [{"tile": [0, 2], "core": [compute]}]}, "x.json")
    with pytest.raises(ProgramError, match=r"compute int8: no kernel named 'nosuch' \(compute_tile.kernels has: tuned, "
                       r"mlir-aie\)$"):
        verify(program, npu1, "x.json")


def test_cli_unknown_kernel_lists_the_names_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(CONFIGS / "npu1.yaml"), "--gemm", "64x64x64", "--kernel", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: --kernel nosuch: {CONFIGS / 'npu1.yaml'} has no kernel of that name "
                   "(compute_tile.kernels has: tuned, mlir-aie)\n")


@pytest.mark.parametrize("config", ["npu1", "npu2"])
def test_the_stock_kernel_is_slower_on_the_same_design(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    cycles = {}
    for kernel in ("tuned", "mlir-aie"):
        # DDR and streams out of the way, so that the kernels set the time; the same tiles for both
        args = ["run", "--config", str(CONFIGS / f"{config}.yaml"), "--gemm", "256x256x256", "--dtype", "int8",
                "--tiles", "64,64,64", "--kernel", kernel, "--json"]
        for fast in FAST_FEEDS:
            args += ["--set", fast]
        assert main(args) == 0
        import json

        cycles[kernel] = json.loads(capsys.readouterr().out)["cycles"]
    assert cycles["mlir-aie"] > 1.2 * cycles["tuned"]


def test_lower_takes_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lower", "--config", str(CONFIGS / "npu1.yaml"), "--gemm", "256x256x256", "--dtype", "int8",
                 "--kernel", "mlir-aie"]) == 0
    assert "132 overhead" in capsys.readouterr().out


def test_kernel_is_a_sweep_key_for_the_default_kernel() -> None:
    axis = axis_from_text("kernel=tuned,mlir-aie")
    assert [(s.key, s.override, s.value) for s in axis] == [
        ("kernel", "compute_tile.default_kernel=tuned", "tuned"),
        ("kernel", "compute_tile.default_kernel=mlir-aie", "mlir-aie")]
    assert [s.override for s in axis_from_value("kernel", ["mlir-aie"], "sweep.yaml")] == [
        "compute_tile.default_kernel=mlir-aie"]
