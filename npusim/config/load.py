"""Loading configs: YAML file -> NPUConfig, with file, line and field in every error.

Dotted overrides (``columns=8``, ``mem_tile.size_kib=1024``) are applied to the parsed YAML
before validation, so an override is validated exactly like the file itself.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .npu import NPUConfig
from .safe_yaml import MAX_BYTES, YamlLimitError, limit, parse_value, parse_yaml


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the file, the field and the fix."""


def _node_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int],
                source: str) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            # keys a merge (<<: *anchor) brought in lie outside this mapping: its own keys override them
            own = node.start_mark.index <= key.start_mark.index <= node.end_mark.index
            if key.value in seen and own and seen[key.value] > 0:
                field = ".".join(str(p) for p in path + (key.value,))
                raise ConfigError(
                    f"{source}:{line}: {field}: duplicate key (first set on line {seen[key.value]}); "
                    "keep one of the two")
            seen[key.value] = line if own else -line
            _node_lines(value, path + (key.value,), out, source)
            out[path + (key.value,)] = line  # the key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, path + (i,), out, source)


def read_text(path: Path, what: str, knob: str = "NPUSIM_YAML_MAX_BYTES", most: int = MAX_BYTES) -> str:
    """A text file's content; a clear error when it cannot be read, is larger than the limit
    ``most`` (raised with the environment variable ``knob``) or is not UTF-8."""
    try:
        size = path.stat().st_size
        most = limit(knob, most)
        if size > most:
            raise ConfigError(f"{path}: {size:,} bytes, more than the limit of {most:,} for a {what}; is it the "
                              f"right file? (raise the limit with {knob}=N)")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except YamlLimitError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); save "
                          f"the {what} as UTF-8") from None


def read_yaml(path: Path, what: str = "config file") -> tuple[Any, dict[tuple[str | int, ...], int]]:
    """A YAML file's data and the line of each field (by path of keys and indices), read by
    :mod:`.safe_yaml`; every error names the file."""
    text = read_text(path, what)
    try:
        data, node = parse_yaml(text)
    except YamlLimitError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        what = exc.problem or exc.context or "syntax error"
        if mark:
            what += f" (column {mark.column + 1})"
        if exc.problem and exc.context and exc.context_mark:
            what += f", {exc.context} (line {exc.context_mark.line + 1})"
        raise ConfigError(f"{where}: not valid YAML: {what}; fix the YAML syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}; fix the YAML syntax") from None
    except ValueError as exc:  # a value YAML's constructors refuse (a bad !!timestamp, !!binary, ...)
        raise ConfigError(f"{path}: not valid YAML: {exc}; fix the value") from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _node_lines(node, (), lines, str(path))
    return data, lines


def _not_a_mapping(source: str, data: Any) -> ConfigError:
    got = {list: "a list", str: "a string", type(None): "an empty document"}.get(
        type(data), f"a {type(data).__name__}")
    return ConfigError(
        f"{source}: expected a mapping of config fields at the top level, got {got}; write one "
        "`field: value` per line (e.g. `columns: 4`), see `npusim schema` for the fields")


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``a.b=value`` into the dotted key and the YAML-parsed value."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. columns=2 or mem_tile.size_kib=1024")
    try:
        value = parse_value(raw)
    except YamlLimitError as exc:
        raise ConfigError(f"override {text!r}: {exc}") from None
    except (yaml.YAMLError, ValueError):
        value = raw
    return key.strip(), value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], source: str) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted ``KEY=VALUE`` override set."""
    data = _copy(data)
    for text in overrides:
        key, value = parse_override(text)
        node: Any = data
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(
                    f"{source}: override {text!r}: '{where}' is not a section of the config; "
                    "see `npusim schema` for the fields"
                )
            node = child
        node[parts[-1]] = value
    return data


def _copy(data: Any) -> Any:
    """A copy of parsed YAML whose lists and mappings are all new (an alias becomes a copy of
    its own, so that an override of one place changes only that place)."""
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _format_loc(loc: tuple[str | int, ...], tags: Collection[str] = ()) -> str:
    out = ""
    for i, part in enumerate(loc):
        if part == "[key]":  # pydantic's marker for an invalid dict key: the key is the field
            continue
        if part in tags and i and isinstance(loc[i - 1], int):
            continue  # the member of a tagged union pydantic tried (a layer's op), not a field
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field; remove it or check its spelling against `npusim schema`"
    if kind == "missing":
        return "required field is missing; add it (see `npusim schema`)"
    if kind == "value_error" and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])  # a model validator's own message, without "Value error, "
    value = err.get("input")
    if ", got " not in err["msg"] and (value is None or isinstance(value, (bool, int, float, str))):
        return f"{err['msg']}, got {value!r}"
    return str(err["msg"])


def _is_overridden(field: str, overridden: set[str]) -> bool:
    """Whether ``field`` was set by an override, itself or as part of an overridden section."""
    return any(field == o or field.startswith((o + ".", o + "[")) for o in overridden)


def validate_config(
    data: Any,
    source: str,
    lines: Mapping[tuple[str | int, ...], int] | None = None,
    overridden: Iterable[str] = (),
) -> NPUConfig:
    """Validate parsed config data; errors name ``source``, the line and the field."""
    if not isinstance(data, dict):
        raise _not_a_mapping(source, data)
    try:
        return NPUConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, source, lines, overridden)) from None


def validation_message(exc: ValidationError, source: str,
                       lines: Mapping[tuple[str | int, ...], int] | None = None,
                       overridden: Iterable[str] = (), tags: Collection[str] = ()) -> str:
    """One line per problem of a pydantic error: file, line (or "(override)"), field, fix.
    ``tags`` are the tags of tagged unions in lists, left out of field names."""
    overridden = {parse_override(o)[0] for o in overridden}
    msgs = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = _format_loc(loc, tags)
        loc = tuple(p for i, p in enumerate(loc) if not (p in tags and i and isinstance(loc[i - 1], int)))
        where = source
        if _is_overridden(field, overridden):
            where += " (override)"
        elif lines and loc:  # a top-level (whole-config) check has no line of its own
            probe = loc
            while probe and probe not in lines:
                probe = probe[:-1]
            if probe in lines:
                where += f":{lines[probe]}"
        inner = sorted(o for o in overridden if not field or o.startswith(field + "."))
        if inner and not where.endswith("(override)"):
            where += f" (with override{'s' if len(inner) > 1 else ''} {', '.join(inner)})"
        msgs.append(f"{where}: {field or '<top level>'}: {_explain(err)}")
    return "\n".join(msgs)


def merged(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: merged(base.get(k), v) if k in base else v for k, v in over.items()}}
    return over


def read_config(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int]]:
    """A config file's data with the file it ``extends`` (a path relative to it) underneath, so
    that a machine states only what differs; the lines are the file's own."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise _not_a_mapping(str(path), data)
    parent = data.pop("extends", None)
    if parent is None:
        return data, lines
    where = f"{path}:{lines.get(('extends',), 1)}: extends"
    if not isinstance(parent, str):
        raise ConfigError(f"{where}: expected the path of another config file, e.g. extends: npu1.yaml")
    base_path = (path.parent / parent).resolve()
    if base_path in seen or base_path == path.resolve():
        raise ConfigError(f"{where}: {parent} extends this file again (a cycle); make one of them stand alone")
    if not base_path.exists():
        raise ConfigError(f"{where}: {parent} does not exist (looked for {base_path}); give a path relative to "
                          f"{path.name}")
    base, _ = read_config(base_path, seen + (path.resolve(),))
    return merged(base, data), lines


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> NPUConfig:
    """Load a YAML hardware config (and the config it ``extends``), applying dotted ``KEY=VALUE``
    overrides.

    Raises :class:`ConfigError` naming the file, line and field of every problem.
    """
    path = Path(path)
    overrides = list(overrides)
    data, lines = read_config(path)
    data = apply_overrides(data, overrides, str(path))
    return validate_config(data, str(path), lines, overrides)


def config_schema() -> dict[str, Any]:
    """JSON Schema of the config file format, for editors and `npusim schema`."""
    return NPUConfig.model_json_schema()
