"""Programs to and from trace files (JSON), with a format version."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..config import ConfigError
from ..config.load import read_text
from ..output import write_text
from .core_code import Code
from .errors import ProgramError
from .instructions import Instruction, Loop, Program

TRACE_VERSION = 2
"""The newest trace format. Version 2 adds core ``code`` blocks and padded BDs (``pad``); a
program that uses neither is still written as version 1, which older readers take."""
READ_VERSIONS = (1, 2)
_ADAPTER: TypeAdapter[Program] = TypeAdapter(Program)


_TAGGED_LISTS = ("core", "body", "runtime")
"""Lists of instructions told apart by "op": pydantic puts the op tag after the item's index."""


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i >= 2 and isinstance(loc[i - 1], int) and loc[i - 2] in _TAGGED_LISTS:
            continue  # the op tag ("acquire", "dma", ...), not a field
        elif not str(part).isidentifier():
            continue  # a union member pydantic tried ("constrained-int", "literal['end']")
        else:
            out += f".{part}" if out else str(part)
    return out


def _explain(err: Any) -> str:
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return "unknown field; remove it or fix its spelling"
    if err["type"] == "missing":
        return "required field is missing; add it"
    value = err.get("input")
    if ", got " not in err["msg"] and (value is None or isinstance(value, (bool, int, float, str))):
        return f"{err['msg']}, got {value!r}"
    return str(err["msg"])


def program_from_dict(data: Any, source: str = "<trace>") -> Program:
    """Validate parsed trace data into a :class:`Program`; errors name ``source`` and the field."""
    if not isinstance(data, dict):
        raise ProgramError(f"{source}: a trace is a JSON object with 'name' and 'tiles'")
    version = data.get("version", TRACE_VERSION)
    if data.get("format", "npusim-trace") != "npusim-trace":
        raise ProgramError(f"{source}: format: expected 'npusim-trace', got {data.get('format')!r}")
    if version not in READ_VERSIONS:
        raise ProgramError(
            f"{source}: version: trace format version {version!r} is not supported; this npusim "
            f"reads versions 1 and {TRACE_VERSION} (\"version\": {TRACE_VERSION}); convert the trace "
            "to that format (see docs/model/hardware.md, Programs)")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems: dict[str, list[str]] = {}  # one line per field: a union's alternatives are joined
        for err in exc.errors():
            problems.setdefault(_loc(tuple(err["loc"])) or "<top level>", []).append(_explain(err))
        raise ProgramError("\n".join(
            f"{source}: {where}: {'; or '.join(whats)}" for where, whats in problems.items())) from None


def _has_code(body: tuple[Instruction, ...]) -> bool:
    return any(isinstance(i, Code) or (isinstance(i, Loop) and _has_code(i.body)) for i in body)


def needs_version_2(program: Program) -> bool:
    """Whether ``program`` uses what only trace version 2 has (core code, padded BDs)."""
    return any(_has_code(tp.core) or any(bd.pad for ch in tp.dma for bd in ch.bds) for tp in program.tiles)


def program_to_dict(program: Program) -> dict[str, Any]:
    """The JSON-ready form of ``program`` (what :func:`save_program` writes); fields left at
    their defaults are left out, except the format and version (2 if the program needs it)."""
    body: dict[str, Any] = _ADAPTER.dump_python(program, mode="json", exclude_defaults=True)
    version = max(program.version, 2 if needs_version_2(program) else 1)
    head = {"format": program.format, "version": version, "name": program.name}
    return head | {k: v for k, v in body.items() if k not in head}


MAX_TRACE_BYTES = 256 * 2**20
"""Largest trace file read (256 MiB; the trace of a 65536^3 GEMM is a few MB):
``NPUSIM_TRACE_MAX_BYTES`` raises it."""


def load_program(path: str | Path) -> Program:
    """Read a trace file; raise :class:`ProgramError` naming the file and field on bad input."""
    path = Path(path)
    try:
        data = json.loads(read_text(path, "trace file", "NPUSIM_TRACE_MAX_BYTES", MAX_TRACE_BYTES))
    except ConfigError as exc:
        raise ProgramError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ProgramError(
            f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}); fix the JSON syntax there"
        ) from None
    except RecursionError:
        raise ProgramError(f"{path}: nested too deeply to read; a trace nests a few levels (see traces/)") from None
    return program_from_dict(data, str(path))


def save_program(program: Program, path: str | Path) -> None:
    """Write ``program`` as a version-stamped trace file."""
    write_text(path, json.dumps(program_to_dict(program), indent=1) + "\n")
