"""Programs survive a save/load round trip unchanged, and saved traces carry the format version."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.isa import TRACE_VERSION, load_program, program_from_dict, program_to_dict, save_program

ROOT = Path(__file__).resolve().parents[2]
TRACES = sorted((ROOT / "traces").glob("*.json"))


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
def test_shipped_trace_round_trips(trace: Path, tmp_path: Path) -> None:
    program = load_program(trace)
    out = tmp_path / "copy.json"
    save_program(program, out)
    assert load_program(out) == program
    saved = json.loads(out.read_text())
    # shipped traces use no version-2 feature (core code, padded BDs), so they stay version 1
    assert (saved["format"], saved["version"]) == ("npusim-trace", 1) and TRACE_VERSION == 2


_instr = st.deferred(lambda: st.one_of(
    st.builds(lambda lock, v: {"op": "acquire", "lock": lock, "value": v}, st.sampled_from("ab"), st.integers(1, 63)),
    st.builds(lambda lock, v: {"op": "release", "lock": lock, "value": v}, st.sampled_from("ab"), st.integers(1, 63)),
    st.builds(lambda m, k, n, t: {"op": "compute", "m": m, "k": k, "n": n, "dtype": t},
              st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 4096), st.sampled_from(["int8", "int16", "bf16"])),
    st.builds(lambda m, t, z, e, s: {"op": "compute", "m": m, "k": 8, "n": 4, "dtype": t, "a": "a0", "b": "b1",
                                     "c": "c0", "zero": z, "emit": e, "shift": s},
              st.integers(1, 64), st.sampled_from(["int8", "bf16"]), st.just(True),
              st.sampled_from(["int8", "int32", "bf16"]), st.integers(1, 31)),
    st.builds(lambda c, body: {"op": "loop", "count": c, "body": body}, st.integers(1, 10**6), st.lists(_instr, max_size=3)),
))


@settings(max_examples=60, deadline=None)
@given(core=st.lists(_instr, max_size=6))
def test_any_core_program_round_trips_through_json(core: list[dict[str, object]]) -> None:
    data = {"name": "p", "tiles": [{"tile": [0, 2], "core": core}]}
    program = program_from_dict(data)
    again = program_from_dict(json.loads(json.dumps(program_to_dict(program))))
    assert again == program
    assert program_to_dict(again) == program_to_dict(program)  # defaults left out, the same each time
