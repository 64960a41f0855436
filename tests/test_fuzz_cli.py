"""Fuzzing the command line (npusim.cli.main in this process) with random config files, traces
and sweep files: mutations of the shipped ones (a value replaced by a random YAML or JSON
snippet, a line dropped, doubled or cut, random bytes) and random documents. Whatever comes in,
the answer is a clean one: exit 0, or exit 2 with one ``error:`` message naming the file (3 for
a trace that runs and deadlocks), never a traceback or an internal error, and never a hang
(each case runs under a deadline)."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npusim.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs/tiny.yaml"
TRACE = ROOT / "traces/passthrough.json"
WORKLOAD = ROOT / "workloads/small_gemms.yaml"
Deadline = Callable[[int], AbstractContextManager[None]]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])

SNIPPETS = ["0", "-1", "1e3", "1e400", "-1e-400", "2.5", ".nan", ".inf", "null", "~", "true", "yes", "''", "'x'",
            "[]", "{}", "[1, 2", "{a: 1}", "0x1F", "0o17", "1_000", "2024-01-30", "!!binary aGk=", "!!set {a, b}",
            "!!python/object:os.system ls", "&a [1]", "*a", "*missing", "|\n  text", "\"\\uD800\"", "é", "\t",
            "99999999999999999999999", "[" * 200 + "]" * 200, "- a\n- b", "? complex\n: key"]
JSON_SNIPPETS = ["0", "-5", "1e308", "1e999", "NaN", "null", "true", "\"x\"", "[]", "{}", "[[[[]]]]", "\"\\ud800\"",
                 "4294967296", "1.5", "[0, 0]", "{\"lock\": \"nope\"}", "\"mm2s9\"", "[1, 2, 3]", "[" * 3000 + "]" * 3000]


@st.composite
def mutated(draw: st.DrawFn, text: str, snippets: list[str]) -> bytes:
    """``text`` with a few random edits: a value replaced by a snippet, a line dropped, doubled or
    cut short, a snippet inserted, or a few bytes overwritten with random ones."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["value", "value", "drop", "double", "cut", "insert"]))
        line = lines[i]
        if edit == "value" and ":" in line:
            key, _, _ = line.partition(":")
            lines[i] = f"{key}: {draw(st.sampled_from(snippets))}"
        elif edit == "drop":
            del lines[i]
        elif edit == "double":
            lines.insert(i, line)
        elif edit == "cut":
            lines[i] = line[:draw(st.integers(0, len(line)))]
        else:
            lines.insert(i, draw(st.sampled_from(snippets)))
        if not lines:
            lines = [""]
    raw = bytearray("\n".join(lines).encode())
    for _ in range(draw(st.integers(0, 2))):
        if raw:
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


documents = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=20)


def _run(args: list[str], deadline: Deadline) -> tuple[int, str]:
    err = StringIO()
    with deadline(30), redirect_stdout(StringIO()), redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse: not reached with these arguments
            code = int(exc.code or 0)
    return code, err.getvalue()


def _clean(code: int, err: str, named: list[Path], allowed: tuple[int, ...] = (0, 2)) -> None:
    assert code in allowed, f"exit {code}: {err}"
    assert "Traceback" not in err and "internal error" not in err, err
    if code:
        assert err.startswith("error: "), err
        assert any(str(p) in err for p in named), f"no file named in: {err}"


def _file(tmp: str, name: str, data: bytes | str) -> Path:
    path = Path(tmp) / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@FUZZ
@given(data=mutated(TINY.read_text(), SNIPPETS) | documents.map(lambda d: json.dumps(d).encode()))
def test_random_configs_get_clean_errors(data: bytes, deadline: Deadline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = _file(tmp, "config.yaml", data)
        code, err = _run(["check", "--config", str(config), "--trace", str(TRACE)], deadline)
        _clean(code, err, [config, TRACE])


@FUZZ
@given(data=mutated(TRACE.read_text(), JSON_SNIPPETS) | documents.map(lambda d: json.dumps(d).encode()))
def test_random_traces_get_clean_errors(data: bytes, deadline: Deadline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trace = _file(tmp, "trace.json", data)
        code, err = _run(["run", "--config", str(TINY), "--trace", str(trace), "--max-cycles", "1e6",
                          "--stall-limit", "1e5"], deadline)
        _clean(code, err, [trace], allowed=(0, 2, 3))


def _sweep_file() -> str:
    return (f"description: fuzzed\nconfigs: [{TINY}]\nworkloads:\n  - {WORKLOAD}\n"
            "  - {op: gemm, m: 64, k: 64, n: 64}\nset:\n  columns: [1, 2]\n  clock_mhz: 500:1000:500\n"
            "zip:\n  - {ddr.latency_ns: [10, 20], options.seed: [0, 1]}\npoints:\n  - {columns: 2}\n"
            "options: {max_cycles: 1000000}\n")


@FUZZ
@given(data=mutated(_sweep_file(), SNIPPETS) | documents.map(lambda d: json.dumps(d).encode()))
def test_random_sweep_files_get_clean_errors(data: bytes, deadline: Deadline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sweep = _file(tmp, "sweep.yaml", data)
        code, err = _run(["sweep", str(sweep), "--dry-run"], deadline)
        _clean(code, err, [sweep, TINY, WORKLOAD])


def test_the_fuzzed_files_start_valid(deadline: Deadline) -> None:
    """The mutations start from files that work, so the errors above are the edits'."""
    with tempfile.TemporaryDirectory() as tmp:
        sweep = _file(tmp, "sweep.yaml", _sweep_file())
        assert _run(["sweep", str(sweep), "--dry-run"], deadline)[0] == 0
    assert _run(["check", "--config", str(TINY), "--trace", str(TRACE)], deadline)[0] == 0
