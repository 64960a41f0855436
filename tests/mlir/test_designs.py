"""mlir-aie designs run timed and on data: outputs equal numpy's, cycles equal hand-written traces,
errors name the op and line, and mangled designs get only clean errors."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from npusim import load_config, load_program, simulate
from npusim.cli import main
from npusim.engine import DeadlockError, RunOptions
from npusim.isa import ProgramError, program_from_dict, program_to_dict
from npusim.mlir.errors import MlirError
from npusim.mlir.importer import import_file, import_mlir
from npusim.mlir.kernels import KernelBinding
from npusim.mlir.run import run_design

DESIGNS = Path(__file__).parent / "designs"
CONFIG = load_config(Path(__file__).parents[2] / "configs" / "npu1.yaml")
Out = dict[str, Any]

# the numpy expression each design computes, written from the design's comment, not from npusim
EXPECTED: dict[str, tuple[str, Callable[[Out], Any]]] = {
    "passthrough_memtile": ("out", lambda o: o["in"]),
    "add_one": ("out", lambda o: o["in"] + 1),
    "broadcast": ("out", lambda o: np.concatenate([o["in"].reshape(4, 64) + 1, o["in"].reshape(4, 64) * 2],
                                                   axis=1).reshape(-1)),
    "matmul": ("C", lambda o: o["A"].astype(np.int64) @ o["B"].astype(np.int64)),
    "physical": ("arg1", lambda o: o["arg0"] * 3),
    "padded": ("out", lambda o: np.pad(o["in"].T, 1)),
    "sliding_window": ("out", lambda o: (o["in"].reshape(5, 16)[1:] - o["in"].reshape(5, 16)[:-1]).reshape(-1)),
}


@pytest.mark.parametrize("design", sorted(EXPECTED))
def test_design_runs_timed_and_functional_with_numpy_outputs(design: str) -> None:
    imported = import_file(DESIGNS / f"{design}.mlir", CONFIG)
    timed = run_design(CONFIG, imported, RunOptions())
    run = run_design(CONFIG, imported, RunOptions(functional=True, seed=5))
    assert run.report.cycles == timed.report.cycles > 0
    name, expect = EXPECTED[design]
    np.testing.assert_array_equal(run.outputs[name], np.asarray(expect(run.outputs)).reshape(run.outputs[name].shape))


@pytest.mark.parametrize("design", ["padded", "physical"])
def test_imported_timing_equals_the_hand_written_trace(design: str) -> None:
    imported = import_file(DESIGNS / f"{design}.mlir", CONFIG)
    by_hand = simulate(CONFIG, load_program(DESIGNS / f"{design}.json"))
    assert run_design(CONFIG, imported, RunOptions()).report.cycles == by_hand.cycles


def test_an_imported_program_survives_its_trace_file() -> None:
    program = import_file(DESIGNS / "add_one.mlir", CONFIG).program
    data = program_to_dict(program)
    assert data["version"] == 2
    assert program_from_dict(json.loads(json.dumps(data))) == program


def test_loop_unrolled_only_as_far_as_buffer_rotation_needs() -> None:
    core = next(t.core for t in import_file(DESIGNS / "add_one.mlir", CONFIG).program.tiles if t.core)
    loop = core[0]
    assert loop.op == "loop" and loop.count == 4  # 8 iterations, depth-2 buffers: two copies per loop
    acquires = [i for i in loop.body if i.op == "acquire"]
    assert [a.lock for a in acquires] == ["in_cons_cons_lock_0", "out_prod_lock_0"] * 2
    buffers = [s.buffer for i in loop.body if i.op == "code" for s in i.body[0].body if s.buffer]
    assert buffers == ["in_cons_buff_0", "out_buff_0", "in_cons_buff_1", "out_buff_1"]


def _replace(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_unsupported_op_names_op_line_and_what_is_supported() -> None:
    text = _replace(DESIGNS / "add_one.mlir", "arith.addi %4, %c1_i32 : i32", "math.absi %4 : i32")
    with pytest.raises(MlirError, match=r"^d\.mlir:22: math\.absi: op not modelled in core code; npusim runs arith, "
                       r"memref\.load/store, .*aie\.use_lock$"):
        import_mlir(text, CONFIG, "d.mlir")


def test_unsupported_attribute_is_an_error() -> None:
    text = _replace(DESIGNS / "add_one.mlir", "(%shim_noc_tile_0_0, {%tile_0_2}, 2 : i32) :",
                    "(%shim_noc_tile_0_0, {%tile_0_2}, 2 : i32) {repeat_count = 2 : i32} :")
    with pytest.raises(MlirError, match=r"^d\.mlir:7: aie\.objectfifo: attribute 'repeat_count' is not modelled by "
                       r"npusim \(this op takes: dimensionsFromStreamPerConsumer, dimensionsToStream, disable_synchronization, "
                       r"elemNumber, elemType, padDimensions, plio, sym_name, via_DMA\); remove it or simulate without it$"):
        import_mlir(text, CONFIG, "d.mlir")


def test_unbound_kernel_is_named_and_a_fixed_cost_binding_leaves_outputs() -> None:
    text = (DESIGNS / "matmul.mlir").read_text().replace("matmul_i16_i32", "mystery_mm")
    with pytest.raises(MlirError, match=r"calls external kernel @mystery_mm, which has no binding; bind it in a "
                       r"--kernels map"):
        import_mlir(text, CONFIG, "d.mlir")
    imported = import_mlir(text, CONFIG, "d.mlir", {"mystery_mm": KernelBinding(cycles=500)})
    assert any("@mystery_mm is a fixed-cost call (500 cycles)" in n for n in imported.notes)
    run = run_design(CONFIG, imported, RunOptions(functional=True))
    assert not run.outputs["C"].any()  # zeroed by zero_i32, then left as it was by the fixed-cost call


def test_deadlock_is_reported_in_the_designs_names() -> None:
    # the core waits for 8 blocks, but the runtime sends only one
    text = _replace(DESIGNS / "add_one.mlir", "[1, 1, 1, 512][0, 0, 0, 1]) {id = 1", "[1, 1, 1, 64][0, 0, 0, 1]) {id = 1")
    imported = import_mlir(text, CONFIG, "d.mlir")
    with pytest.raises(DeadlockError) as err:
        run_design(CONFIG, imported, RunOptions(), source="d.mlir")
    message = str(err.value)
    assert re.search(r"core \(0,2\) \[%tile_0_2\]: waits to acquire lock 'in_cons_cons_lock_0' \[ObjectFIFO @in, "
                     r"consumer side on tile \(0, 2\): filled buffers \(consumer lock\)\] >= 1 \(value 0\)", message), message
    assert "shim (0,0) s2mm0 [%shim_noc_tile_0_0, ObjectFIFO @out]" in message


def test_cli_runs_a_design_with_inputs_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.arange(512, dtype=np.int32) * 7
    np.save(tmp_path / "x.npy", x)
    args = ["run", "--config", "configs/npu1.yaml", "--mlir", str(DESIGNS / "add_one.mlir"), "--functional",
            "--input", f"in={tmp_path / 'x.npy'}", "--output", f"out={tmp_path / 'y.npy'}",
            "--perfetto", str(tmp_path / "t.json")]
    assert main(args) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x + 1)
    names = [e["args"]["name"] for e in json.loads((tmp_path / "t.json").read_text())["traceEvents"]
             if e.get("ph") == "M" and e["name"] in ("process_name", "thread_name")]
    assert "compute (0,2) %tile_0_2" in names and "mm2s0 @out" in names and "s2mm0 @in" in names
    assert main(["import-mlir", str(DESIGNS / "add_one.mlir"), "--config", "configs/npu1.yaml",
                 "-o", str(tmp_path / "p.json")]) == 0
    assert simulate(CONFIG, load_program(tmp_path / "p.json")).cycles == \
        run_design(CONFIG, import_file(DESIGNS / "add_one.mlir", CONFIG), RunOptions()).report.cycles
    bad = tmp_path / "bad.mlir"
    bad.write_text(_replace(DESIGNS / "add_one.mlir", "scf.for %arg1", "scf.parallel %arg1"))
    assert main(["run", "--config", "configs/npu1.yaml", "--mlir", str(bad)]) == 2
    assert f"{bad}:20: scf.parallel: op not modelled" in capsys.readouterr().err


_TOKENS = {d: re.findall(r"\s+|[^\s]+", (DESIGNS / f"{d}.mlir").read_text()) for d in sorted(EXPECTED)}
_WORDS = sorted({t for toks in _TOKENS.values() for t in toks if not t.isspace()})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(EXPECTED)),
       st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.one_of(st.none(), st.sampled_from(_WORDS))),
                min_size=1, max_size=3))
def test_mangled_designs_get_only_clean_errors(design: str, edits: list[tuple[float, str | None]]) -> None:
    """Token deletions and substitutions (by words of the designs) give a clean error or a program."""
    tokens = list(_TOKENS[design])
    for at, new in edits:
        tokens[int(at * len(tokens))] = "" if new is None else new
    try:
        imported = import_mlir("".join(tokens), CONFIG, "m.mlir")
    except ProgramError as exc:  # MlirError is a ProgramError: bad input, exit status 2
        assert str(exc).startswith("m.mlir"), exc
        return
    assert imported.program.tiles


def test_core_code_costs_the_config_table() -> None:
    # physical.mlir's core: 4 x (2 acquires, 256 x (load + muli + store + loop iteration), 2 releases)
    ops = CONFIG.compute_tile.core_ops
    per_element = ops.load_cycles + ops.scalar_mul_cycles + ops.store_cycles + ops.loop_iteration_cycles
    assert per_element == 10  # npu1: the mlir-aie guide's scalar loop measured ~10 cycles an element
    report = run_design(CONFIG, import_file(DESIGNS / "physical.mlir", CONFIG), RunOptions()).report
    core = next(t.core for t in report.tiles if t.core is not None)
    assert core.busy == 4 * (256 * per_element + 2 * CONFIG.locks.acquire_cycles + 2 * CONFIG.locks.release_cycles)
