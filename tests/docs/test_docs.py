"""The docs site: it builds with ``mkdocs build --strict``, its references are generated from the
code and complete (every config field described, every command-line flag with its help), and the
README stays a short front page."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "hooks"))

import npusim_docs  # noqa: E402

from npusim.cli import _parser  # noqa: E402
from npusim.config import config_schema  # noqa: E402


def undescribed_fields(schema: dict[str, object]) -> list[str]:
    return [path for path, prop, resolved in npusim_docs.schema_fields(schema)  # type: ignore[arg-type]
            if not (prop.get("description") or resolved.get("description"))]


def flags_without_help(parser: argparse.ArgumentParser, prefix: str = "npusim") -> list[str]:
    """Every argument of ``parser`` and of its sub-commands, however deep, that has no help."""
    out = [f"{prefix} {a.option_strings[0] if a.option_strings else a.dest}"
           for a in npusim_docs.parser_actions(parser) if not (a.help and a.help.strip())]
    for name, (sub, summary) in npusim_docs.subcommands(parser).items():
        if not summary.strip():
            out.append(f"{prefix} {name} (the command's own help)")
        out += flags_without_help(sub, f"{prefix} {name}")
    return out


def test_every_config_field_has_a_description() -> None:
    schema = config_schema()
    assert len(list(npusim_docs.schema_fields(schema))) > 100  # the walk reaches the nested specs
    assert undescribed_fields(schema) == []


def test_every_command_line_flag_has_its_help() -> None:
    parser = _parser()
    commands = set(npusim_docs.subcommands(parser))
    assert {"run", "lower", "sweep", "sweep-summary", "plot", "check", "schema", "import-onnx"} <= commands
    assert flags_without_help(parser) == []


def test_the_walkers_find_what_lacks_a_description() -> None:
    # the two checks above must be able to fail: a nested field and a sub-command's flag left bare
    schema = config_schema()
    schema["$defs"]["DdrSpec"]["properties"]["latency_ns"].pop("description")
    assert undescribed_fields(schema) == ["ddr.latency_ns"]
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command").add_parser("go", help="go somewhere")
    sub.add_argument("--far", help="")
    sub.add_argument("place")
    assert flags_without_help(parser) == ["npusim go --far", "npusim go place"]


def test_the_references_list_every_field_and_flag() -> None:
    config = npusim_docs.config_reference()
    for path, _, _ in npusim_docs.schema_fields(config_schema()):
        assert f"| `{path}` |" in config
    cli = npusim_docs.cli_reference()
    for name, (sub, _) in npusim_docs.subcommands(_parser()).items():
        assert f"## npusim {name}\n" in cli
        for action in npusim_docs.parser_actions(sub):
            assert f"`{npusim_docs._flag(action)}`" in cli, (name, action.dest)


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.fail("mkdocs is not installed: the docs extra is part of the test set-up (make test installs "
                    "'.[test,docs]')")
    done = subprocess.run([str(mkdocs), "build", "--strict", "-q", "-d", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(mkdocs.parent)})
    assert done.returncode == 0, done.stderr + done.stdout
    site = tmp_path / "site"
    cli = (site / "reference" / "cli" / "index.html").read_text()
    assert "npusim sweep-summary" in cli and "--baseline" in cli
    assert "ddr.bandwidth_gb_per_s" in (site / "reference" / "config" / "index.html").read_text()
    assert "compute_cycles" in (site / "model" / "timing" / "index.html").read_text()
    assert (site / "img" / "validation.png").exists()


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= 12_000
