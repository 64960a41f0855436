"""The one YAML reader of npusim: configs, workloads, sweep files, validation tables and
``--set`` values all go through :func:`parse_yaml`.

It is PyYAML's safe loader with three changes:

- **Aliases are counted.** A file whose aliases expand to more than :data:`MAX_NODES` values
  (a "billion laughs": ten aliases of ten aliases of ... of one value) is refused before
  anything walks the expanded tree (the line finder, the override copy and pydantic all would,
  for hours). The count is exact and linear in the file: each node's expanded size is computed
  once. An alias of a node that contains it (a cycle) expands without end and is refused too.
- **Scientific notation is a number.** ``1e3``, ``2.5E+6``, ``1e-3`` read as numbers (YAML 1.1,
  which PyYAML follows, reads ``1e3`` as a string): an integer when the value is integral (so
  ``columns: 1e3`` is 1000), a float otherwise.
- **Sizes are bounded**: a file of more than :data:`MAX_BYTES` bytes, or nested more than
  :data:`MAX_DEPTH` levels deep, is refused with the limit named (whatever Python's recursion
  limit: the composer counts its depth).

Errors are :class:`YamlLimitError` (or ``yaml.YAMLError`` for syntax); the loaders add the file.
Both limits can be raised with environment variables, as the messages say.
"""
from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import yaml

MAX_NODES = 1_000_000
"""Most values (scalars, lists and mappings, aliases expanded) a YAML document may hold; the
largest shipped workload has a few thousand. ``NPUSIM_YAML_MAX_NODES`` raises it."""
MAX_BYTES = 64 * 2**20
"""Largest YAML file read (64 MiB); ``NPUSIM_YAML_MAX_BYTES`` raises it."""

SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
_TAG = "tag:npusim,2026:scientific"


class YamlLimitError(ValueError):
    """A YAML document is beyond one of the limits above; the message names it and its knob."""


def limit(name: str, default: int) -> int:
    """A limit, from the environment variable ``name`` when it is set to a whole number."""
    text = os.environ.get(name, "").strip()
    try:
        return int(float(text)) if text else default
    except ValueError:
        raise YamlLimitError(f"environment variable {name}={text!r}: expected a whole number") from None


def scientific(text: str) -> int | float:
    """A number in scientific notation: an int when integral, else a float."""
    value = Decimal(text.replace("_", ""))
    return int(value) if value == value.to_integral_value() and abs(value) < 10**30 else float(value)


MAX_DEPTH = 100
"""Most levels of lists and mappings inside each other (a config nests four)."""


class _Loader(yaml.SafeLoader):
    """The safe loader, with scientific notation read as a number and nesting bounded (see the
    module docstring)."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep; flatten the lists and mappings")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "-+0123456789.":  # tried before PyYAML's own float resolver
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(0, (_TAG, SCIENTIFIC))
def _construct_scientific(loader: yaml.SafeLoader, node: yaml.Node) -> int | float:
    assert isinstance(node, yaml.ScalarNode)
    return scientific(loader.construct_scalar(node))


_Loader.add_constructor(_TAG, _construct_scientific)


def expanded_size(root: yaml.Node, most: int) -> int:
    """Values in the tree under ``root`` with every alias expanded, counted without expanding
    (each node once); stops with :class:`YamlLimitError` past ``most`` or on a cycle."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > most:
                raise YamlLimitError(
                    f"it holds more than {most:,} values once its aliases are expanded (a 'billion laughs'?); write "
                    "the values out, or raise the limit with NPUSIM_YAML_MAX_NODES")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlLimitError("an alias refers to a node that contains it: it expands without end; remove the "
                                 "alias")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data of a YAML document and its node tree (for line numbers), within the limits."""
    most_bytes = limit("NPUSIM_YAML_MAX_BYTES", MAX_BYTES)
    if len(text) > most_bytes:
        raise YamlLimitError(f"{len(text):,} characters, more than the limit of {most_bytes:,} "
                             "(NPUSIM_YAML_MAX_BYTES); is it the right file?")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # the parser's own recursion, before the composer's depth check
            raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep; flatten the lists and mappings") from None
        if node is None:
            return None, None
        expanded_size(node, limit("NPUSIM_YAML_MAX_NODES", MAX_NODES))
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def parse_value(text: str) -> Any:
    """One ``--set`` value (or any short YAML text) as data, by the same rules."""
    return parse_yaml(text)[0]


def number_flag(kind: type[int] | type[float], low: float, strictly: bool = False,
                high: float | None = None, example: str = "") -> Callable[[str], int | float]:
    """An argparse type: a number read by the YAML rules (``1e9`` is 1000000000), of ``kind``
    (an integral float is an int), at least ``low`` (more than ``low`` if ``strictly``) and at
    most ``high``; its error shows ``example``."""
    bound = f"more than {low:g}" if strictly else f"at least {low:g}"
    if high is not None:
        bound = f"from {low:g} to {high:g}"
    what = f"{'a whole number' if kind is int else 'a number'} {bound}"

    def parse(text: str) -> int | float:
        try:
            value = parse_value(text)
        except (yaml.YAMLError, ValueError):
            value = None
        if isinstance(value, float) and kind is int and value.is_integer():
            value = int(value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int))
        if (not ok or not math.isfinite(value) or not (value > low if strictly else value >= low)
                or (high is not None and value > high)):
            raise argparse.ArgumentTypeError(f"expected {what}{f', e.g. {example}' if example else ''}, got {text!r}")
        return kind(value)
    parse.__name__ = what
    return parse


class SafeDumper(yaml.SafeDumper):
    """The safe dumper, quoting every string :func:`parse_value` would not read back as itself
    (``1e3`` included, which PyYAML's own rules leave plain)."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    try:
        plain = parse_value(data) == data
    except (yaml.YAMLError, ValueError):
        plain = False
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=None if plain else "'")


SafeDumper.add_representer(str, _represent_str)


def dump_value(value: Any) -> str:
    """``value`` as one line of YAML (flow style) that :func:`parse_value` reads back unchanged."""
    text = yaml.dump(value, Dumper=SafeDumper, default_flow_style=True, width=float("inf")).strip()
    return text[:-3].strip() if text.endswith("...") else text
