"""Safe loading (npusim.config.safe_yaml): every YAML loader (configs, workloads, sweep files,
validation tables, --set values) refuses aliases that expand past the limit ("billion
laughs") at once, with the file and the limit named; 1e3 is a number; a file that is not UTF-8,
nested too deeply or too large is named. Each case runs under a deadline: a hang fails."""
from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from npusim import load_config, load_program, load_workload
from npusim.cli import main
from npusim.config import ConfigError
from npusim.isa import ProgramError
from npusim.sweep import SweepError, define
from validation.table import load_table

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs/tiny.yaml"
Deadline = Callable[[int], AbstractContextManager[None]]
LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * 10)}]\n" for i in range(9))
"""Nine levels of ten aliases: 10^9 values once expanded, a few hundred bytes of text."""
LIMIT = ("it holds more than 1,000,000 values once its aliases are expanded (a 'billion laughs'?); write the "
         "values out, or raise the limit with NPUSIM_YAML_MAX_NODES")


def test_expanded_size_counts_without_expanding() -> None:
    from npusim.config.safe_yaml import expanded_size, parse_yaml

    _, node = parse_yaml("a: &a [1, 2]\nb: [*a, *a, *a]\n")
    assert node is not None
    # root, 2 keys, a (1 + 2), b (1 + 3 x 3)
    assert expanded_size(node, 100) == 1 + 2 + 3 + 10


@pytest.mark.parametrize("kind", ["config", "workload", "sweep", "validation"])
def test_a_billion_laughs_is_refused_at_once(tmp_path: Path, kind: str, deadline: Deadline) -> None:
    f = tmp_path / f"{kind}.yaml"
    f.write_text(LAUGHS + "name: x\n")
    with deadline(20), pytest.raises((ConfigError, SweepError)) as exc:
        if kind == "config":
            load_config(f)
        elif kind == "workload":
            load_workload(f)
        elif kind == "sweep":
            define(file=f)
        else:
            load_table(f)
    assert str(exc.value) == f"{f}: {LIMIT}"


def test_a_billion_laughs_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], deadline: Deadline) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(TINY.read_text() + LAUGHS.replace("l", "x_l"))
    with deadline(20):
        assert main(["run", "--config", str(f), "--trace", str(ROOT / "traces/passthrough.json")]) == 2
    assert capsys.readouterr().err == f"error: {f}: {LIMIT}\n"
    flow = "[" + ", ".join(["&a [" + ", ".join(["1"] * 10) + "]"] + ["*a"] * 9) + "]"
    with deadline(20):  # an override is read by the same rules (here: 100 values, fine)
        assert main(["check", "--config", str(TINY), "--set", f"name={flow}", "--trace",
                     str(ROOT / "traces/passthrough.json")]) == 2
    assert "name: Input should be a valid string" in capsys.readouterr().err


def test_the_limit_can_be_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPUSIM_YAML_MAX_NODES", "10")
    with pytest.raises(ConfigError, match="more than 10 values once its aliases are expanded"):
        load_config(TINY)
    monkeypatch.setenv("NPUSIM_YAML_MAX_NODES", "1e6")
    assert load_config(TINY).columns == 2


@pytest.mark.parametrize("text, problem", [
    ("a: &a [*a]\n", "an alias refers to a node that contains it: it expands without end; remove the alias"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 100 levels deep; flatten the lists and mappings"),
    ("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 150)), "nested more than 100 levels deep; flatten the "
                                                                    "lists and mappings"),
])
def test_cycles_and_deep_nesting_are_named(tmp_path: Path, text: str, problem: str, deadline: Deadline) -> None:
    f = tmp_path / "w.yaml"
    f.write_text(text)
    with deadline(20), pytest.raises(ConfigError) as exc:
        load_workload(f)
    assert str(exc.value) == f"{f}: {problem}"


def test_scientific_notation_is_a_number(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(TINY.read_text().replace("clock_mhz: 1000", "clock_mhz: 1e3").replace("columns: 2", "columns: 2e0"))
    assert "clock_mhz: 1e3" in f.read_text() and "columns: 2e0" in f.read_text()
    config = load_config(f, ["mem_tile.size_kib=5.12E+2", "ddr.latency_ns=1.5e1"])
    assert (config.clock_mhz, config.columns, config.mem_tile.size_kib, config.ddr.latency_ns) == (1000, 2, 512, 15)
    with pytest.raises(ConfigError, match=r"columns: Input should be a valid integer, got 2.5"):
        load_config(f, ["columns=2.5e0"])


def test_scientific_notation_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--config", str(TINY), "--set", "clock_mhz=1e3", "--gemm", "64x64x64", "--max-cycles", "1e6",
            "--json"]
    assert main(args) == 0
    assert '"clock_mhz": 1000' in capsys.readouterr().out


@pytest.mark.parametrize("what", ["config", "workload", "sweep", "trace"])
def test_a_file_that_is_not_utf8_is_named(tmp_path: Path, what: str) -> None:
    f = tmp_path / f"{what}.yaml"
    f.write_bytes(b"name: ok\ndescription: caf\xe9\n")
    name = {"config": "config file", "workload": "workload file", "sweep": "sweep file", "trace": "trace file"}[what]
    with pytest.raises((ConfigError, SweepError, ProgramError)) as exc:
        {"config": load_config, "workload": load_workload, "sweep": lambda p: define(file=p),
         "trace": load_program}[what](f)
    assert str(exc.value) == f"{f}:2: not UTF-8 text (byte 25: b'\\xe9'); save the {name} as UTF-8"


def test_a_file_too_large_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPUSIM_YAML_MAX_BYTES", "100")
    with pytest.raises(ConfigError) as exc:
        load_config(TINY)
    size = os.path.getsize(TINY)
    assert str(exc.value) == (f"{TINY}: {size:,} bytes, more than the limit of 100 for a config file; is it the right "
                              "file? (raise the limit with NPUSIM_YAML_MAX_BYTES=N)")
