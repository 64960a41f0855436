"""MkDocs hook: the reference pages are generated from the code at build time, so they cannot drift.

A page asks for a generated part with a marker comment on a line of its own:

- ``<!-- npusim:cli -->``: every command and flag of ``npusim``, from the argument parsers
  (``npusim.cli._parser()``), sub-commands included;
- ``<!-- npusim:config -->``: every config field, from the JSON Schema
  (``npusim.config.config_schema()``), with type, default, constraint and description;
- ``<!-- npusim:timing-rules -->``: the timing rules as ``npusim/hw/timing.py`` states them;
- ``<!-- npusim:api -->``: the public names of ``npusim`` and their docstrings' first lines;
- ``<!-- npusim:validation -->``: the validation cases (``validation/cases.yaml``) with the
  simulated figures ``validation/run.py`` last wrote (``validation/results.json``).

The hook also publishes ``validation/validation.png`` as ``img/validation.png``. The walkers
(:func:`schema_fields`, :func:`parser_actions`) are what the tests use to check that every field
and flag has a description.
"""
from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- npusim:([a-z-]+) -->$", re.M)


# ---- config schema ---------------------------------------------------------------------------

def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a ``$ref`` (or an Optional's one non-null branch) replaced by its target."""
    if "$ref" in node:
        return {**defs[node["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in node.items() if k != "$ref"}}
    branches = [b for b in node.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        return {**_resolve(branches[0], defs), **{k: v for k, v in node.items() if k != "anyOf"}}
    return node


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    node = _resolve(node, defs)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if node.get("type") == "object" and "properties" not in node:
        keys = node.get("propertyNames", {}).get("enum")
        return "table" + (f" by {' / '.join(keys)}" if keys else "")
    if node.get("type") == "array":
        return "list"
    return str(node.get("type", "section" if "properties" in node else ""))


def _constraint(node: dict[str, Any]) -> str:
    marks = {"minimum": ">= {}", "exclusiveMinimum": "> {}", "maximum": "<= {}", "exclusiveMaximum": "< {}",
             "minItems": "at least {} items"}
    return ", ".join(fmt.format(node[k]) for k, fmt in marks.items() if k in node)


def schema_fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dotted path, the property's own schema, its resolved schema) of every field, depth first.
    A table keyed by a data type or an operator appears as ``<key>``, a list's items as ``[]``."""
    defs = schema.get("$defs", {})

    def walk(node: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        node = _resolve(node, defs)
        for name, prop in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            resolved = _resolve(prop, defs)
            yield path, prop, resolved
            yield from walk(resolved, path + ".")
            inner = resolved.get("additionalProperties")
            while isinstance(inner, dict) and not inner.get("properties") and "$ref" not in inner \
                    and "additionalProperties" in inner:
                path += ".<key>"
                inner = inner["additionalProperties"]
            if isinstance(inner, dict):
                yield from walk(inner, path + ".<key>.")
            if resolved.get("type") == "array" and isinstance(resolved.get("items"), dict):
                yield from walk(resolved["items"], path + "[].")

    yield from walk(schema, "")


def config_reference() -> str:
    from npusim.config import config_schema

    schema = config_schema()
    defs = schema.get("$defs", {})
    rows = ["| field | type | default | constraint | description |", "| --- | --- | --- | --- | --- |"]
    for path, prop, resolved in schema_fields(schema):
        default = prop.get("default", resolved.get("default", ""))
        shown = "" if default == "" and "default" not in prop else f"`{json.dumps(default)}`"
        text = str(prop.get("description") or resolved.get("description") or "").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type(prop, defs)} | {shown} | {_constraint(resolved)} | "
                    f"{' '.join(text.split())} |")
    return "\n".join(rows)


# ---- command line ------------------------------------------------------------------------------

def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """The sub-parsers of ``parser`` by name, each with its one-line help."""
    out: dict[str, tuple[argparse.ArgumentParser, str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            out.update({name: (p, helps.get(name, "")) for name, p in action.choices.items()})
    return out


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments of ``parser`` a user gives (not ``--help``, not the sub-command choice)."""
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def _flag(action: argparse.Action) -> str:
    name = ", ".join(action.option_strings) or (action.metavar if isinstance(action.metavar, str) else action.dest)
    if action.nargs != 0 and action.option_strings:
        meta = action.metavar or (("{" + ",".join(map(str, action.choices)) + "}") if action.choices else
                                  action.dest.upper())
        name += f" {meta}"
    return name


def cli_reference() -> str:
    from npusim.cli import _parser

    top = _parser()
    out = [f"```\n{top.format_usage().strip()}\n```", "", top.description or ""]
    for name, (sub, summary) in subcommands(top).items():
        out += ["", f"## npusim {name}", "", summary + ".", "", f"```\n{sub.format_usage().strip()}\n```", ""]
        if sub.description and sub.description != summary:
            out += [sub.description, ""]
        out += ["| argument | meaning | default |", "| --- | --- | --- |"]
        for a in parser_actions(sub):
            default = "" if a.default in (None, False, [], argparse.SUPPRESS) or a.required else f"`{a.default}`"
            text = (a.help or "").replace("%(default)s", str(a.default)).replace("|", "\\|")
            text += " (required)" if a.required and a.option_strings else ""
            out.append(f"| `{_flag(a)}` | {text} | {default} |")
    return "\n".join(out)


# ---- timing rules, API, validation -----------------------------------------------------------------

def timing_rules() -> str:
    from npusim.hw import timing

    out = []
    for name, fn in inspect.getmembers(timing, inspect.isfunction):
        if fn.__module__ == timing.__name__ and not name.startswith("_"):
            doc = " ".join(inspect.getdoc(fn).split()) if fn.__doc__ else ""
            out.append(f"- **`{name}{inspect.signature(fn)}`**: {doc}")
    return "\n".join(out)


def api_reference() -> str:
    import npusim

    rows = ["| name | what it is |", "| --- | --- |"]
    for name in npusim.__all__:
        doc = inspect.getdoc(getattr(npusim, name)) or ""
        first = " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")
        rows.append(f"| `npusim.{name}` | {first} |")
    return "\n".join(rows)


def validation_table() -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from validation.table import load_table

    table = load_table(ROOT / "validation" / "cases.yaml")
    path = ROOT / "validation" / "results.json"
    results = {r["id"]: r for r in json.loads(path.read_text())["cases"]} if path.exists() else {}
    units = {"macs_per_cycle": "MACs/cycle", "cycles": "cycles", "tops": "TOPS", "gflops": "GFLOPS",
             "gb_per_s": "GB/s", "us": "us"}
    rows = ["| # | case | origin | device | metric | published | simulated | error % | held-out % | fit | status | "
            "lock wait % | source, where |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for i, case in enumerate(table.cases, 1):
        r = results.get(case.id)
        sim, err, status = (f"{r['simulated']:.4g}", f"{r['error_pct']:+.1f}", r["status"]) if r else \
            ("not simulated yet", "", "")
        where = f"[{case.source.citation.split(',')[0]}]({case.source.url}), {case.source.where}" \
            if case.source.url else f"{case.source.citation}, {case.source.where}"
        wait = "" if not r or r.get("lock_wait_pct") is None else f"{r['lock_wait_pct']:.0f}"
        held = "" if not r or r.get("held_out_error_pct") is None else f"{r['held_out_error_pct']:+.1f}"
        rows.append(f"| {i} | `{case.id}` | {case.origin} | {case.device} | {units[case.metric]} | {case.published:g} | "
                    f"{sim} | {err} | {held} | {'cal' if case.calibrates else ''} | {status} | {wait} | {where} |")
    done = [results[c.id] for c in table.cases if c.id in results]
    ok = sum(r["status"] == "ok" for r in done)
    explained = sum(r["status"] == "explained" for r in done)
    out = [f"**{ok} of {len(table.cases)} cases are within ±{table.tolerance_pct:g}%; {explained} are outside with "
           f"an explanation in the table, {len(done) - ok - explained} without one.**", "", *rows]
    missing = [c.id for c in table.cases if c.id not in results]
    if missing:
        out += ["", f"{len(missing)} case(s) added since `validation/run.py` last ran have no simulated figure "
                f"yet: {', '.join(missing)}."]
    return "\n".join(out)


GENERATORS = {"cli": cli_reference, "config": config_reference, "timing-rules": timing_rules,
              "api": api_reference, "validation": validation_table}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        kind = match.group(1)
        if kind not in GENERATORS:
            raise ValueError(f"{page.file.src_uri}: unknown generated part <!-- npusim:{kind} -->; known: "
                             f"{', '.join(GENERATORS)}")
        return GENERATORS[kind]()

    return MARKER.sub(replace, markdown)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    plot = ROOT / "validation" / "validation.png"
    if plot.exists():
        files.append(File.generated(config, "img/validation.png", abs_src_path=str(plot)))
    return files
