"""Engine speed-ups change nothing but wall time: every counter, interval and functional output of
the golden runs (tests/golden/golden_cases.py) equals the committed one."""
from __future__ import annotations

import json
from typing import Any

import pytest

from golden_cases import GOLDEN, LAYERS, TRACES, VECTORS, measure_layer, measure_trace, measure_vector

EXPECTED: dict[str, Any] = json.loads(GOLDEN.read_text())


def _diff(got: Any, want: Any, path: str = "") -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}/{k}: missing" for k in want if k not in got]
        out += [f"{path}/{k}: unexpected" for k in got if k not in want]
        for k in want.keys() & got.keys():
            out += _diff(got[k], want[k], f"{path}/{k}")
        return out
    return [] if got == want else [f"{path}: {got!r} != golden {want!r}"]


@pytest.mark.parametrize("name", sorted(TRACES))
def test_trace_counters_are_golden(name: str) -> None:
    assert _diff(measure_trace(name), EXPECTED[f"trace {name}"]) == []


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_counters_are_golden(name: str) -> None:
    assert _diff(measure_layer(name), EXPECTED[name]) == []


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vector_operator_counters_are_golden(name: str) -> None:
    assert _diff(measure_vector(name), EXPECTED[name]) == []


def test_golden_file_covers_every_case() -> None:
    assert set(EXPECTED) == {f"trace {n}" for n in TRACES} | set(LAYERS) | set(VECTORS)
