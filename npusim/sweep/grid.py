"""Parameter grids: ``--set`` value lists and ranges, zipped groups, explicit points.

A *combination* is one assignment of values to swept keys: a tuple of :class:`Setting`. Config
keys become dotted overrides (``columns=4``) applied by :func:`npusim.config.load_config`'s own
rules; keys under ``options.`` set :class:`npusim.engine.RunOptions` fields of the point.

>>> [s.override for s in axis_from_text("clock_mhz=1000:2000:500")]
['clock_mhz=1000', 'clock_mhz=1500', 'clock_mhz=2000']
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from ..config import ConfigError, parse_override


class SweepError(ValueError):
    """A sweep's definition is invalid; the message names the flag or file, the key and the fix."""


OPTION_PREFIX = "options."
OPTION_FIELDS = ("max_cycles", "stall_limit_cycles", "functional", "seed", "fusion")
"""The :class:`~npusim.engine.RunOptions` fields a sweep may set (``record_intervals`` is left
out: a sweep keeps figures, not timelines). ``fusion`` is off in a sweep unless it is set:
each layer is then a point's row of its own (see :mod:`.execute`)."""

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?$")


@dataclass(frozen=True, slots=True)
class Setting:
    """One swept key at one value: ``override`` is the ``KEY=VALUE`` text the config loader (or
    the options parser) reads, ``value`` the table's cell."""

    key: str
    override: str
    value: Any

    @property
    def is_option(self) -> bool:
        return self.key.startswith(OPTION_PREFIX)


Combination = tuple[Setting, ...]


def yaml_text(value: Any) -> str:
    """``value`` written so that YAML reads it back unchanged (the config loader's parser)."""
    if isinstance(value, str) and yaml.safe_load(value) == value and "\n" not in value:
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    return text[:-3].strip() if text.endswith("...") else text


def split_values(raw: str) -> list[str]:
    """Split a value list at the commas that are not inside brackets or braces."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(raw):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return [p.strip() for p in parts]


def expand_range(text: str, where: str) -> list[str] | None:
    """``START:STOP[:STEP]`` (STOP included, STEP 1 by default) as value texts; None if ``text``
    is not a range. Decimal arithmetic, so ``0.1:0.3:0.1`` gives 0.1, 0.2, 0.3 exactly."""
    m = _RANGE.match(text)
    if not m:
        return None
    try:
        start, stop = Decimal(m[1]), Decimal(m[2])
        step = Decimal(m[3]) if m[3] else Decimal(1)
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        return None
    if step <= 0 or stop < start:
        raise SweepError(f"{where}: range {text.strip()!r}: expected START:STOP:STEP with START <= STOP and "
                         "STEP > 0, e.g. 1000:2000:250 (STOP included)")
    count = int((stop - start) / step) + 1
    if count > 100_000:
        raise SweepError(f"{where}: range {text.strip()!r} has {count:,} values; use a larger STEP")
    integral = all(x == x.to_integral_value() for x in (start, stop, step)) and "." not in text
    values = [start + i * step for i in range(count)]
    return [str(int(v)) if integral else _decimal_text(v) for v in values]


def _decimal_text(v: Decimal) -> str:
    text = format(v.normalize(), "f")
    return text if "." in text else text + ".0"


def _settings(key: str, texts: Iterable[str]) -> list[Setting]:
    out = []
    for text in texts:
        override = f"{key}={text}"
        _, value = parse_override(override)
        out.append(Setting(key, override, value))
    return out


def axis_from_text(text: str, flag: str = "--set") -> list[Setting]:
    """The values of one ``KEY=V1,V2,...`` (or ``KEY=START:STOP:STEP``) flag."""
    try:
        key, _ = parse_override(text)
    except ConfigError as exc:
        raise SweepError(f"{flag} {text!r}: {exc}; a value list is KEY=V1,V2,... or "
                         "KEY=START:STOP:STEP") from None
    raw = text.partition("=")[2]
    texts: list[str] = []
    for item in split_values(raw):
        if not item:
            raise SweepError(f"{flag} {text!r}: an empty value in the list; write KEY=V1,V2,... without "
                             "doubled or trailing commas")
        texts += expand_range(item, f"{flag} {key}") or [item]
    return _settings(key, texts)


def axis_from_value(key: str, value: Any, where: str) -> list[Setting]:
    """The values of one ``set:`` entry of a sweep file: a list of values, a string in the
    command-line syntax (``2,4,8`` or ``1000:2000:250``), or one value."""
    _check_key(key, where)
    if isinstance(value, list):
        if not value:
            raise SweepError(f"{where}: {key}: an empty list sweeps nothing; give at least one value")
        return [Setting(key, f"{key}={yaml_text(v)}", v) for v in value]
    if isinstance(value, str):
        return axis_from_text(f"{key}={value}", where)
    return [Setting(key, f"{key}={yaml_text(value)}", value)]


def _check_key(key: str, where: str) -> None:
    if not key or "=" in key or key != key.strip():
        raise SweepError(f"{where}: {key!r} is not a dotted config key such as columns or mem_tile.size_kib")


def zipped(group: Mapping[str, Any], where: str) -> list[Combination]:
    """A zip group: keys whose value lists vary together (the i-th values form one combination)."""
    axes = {k: axis_from_value(k, v, where) for k, v in group.items()}
    lengths = {k: len(v) for k, v in axes.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise SweepError(f"{where}: zipped lists must have the same length, got {shown}")
    return [tuple(vals) for vals in zip(*axes.values())]


def explicit(point: Mapping[str, Any], where: str) -> Combination:
    """One explicit point: each key at one value."""
    out = []
    for key, value in point.items():
        _check_key(key, where)
        if isinstance(value, list):
            raise SweepError(f"{where}: {key}: a point sets one value per key; put lists under set: or zip:")
        out.append(Setting(key, f"{key}={yaml_text(value)}", value))
    return tuple(out)


def combinations(axes: Sequence[Sequence[Setting]], zips: Sequence[Sequence[Combination]],
                 points: Sequence[Combination]) -> list[Combination]:
    """The grid (the Cartesian product of the axes and the zip groups, the first varying slowest),
    then the explicit points. With neither a grid nor points: one empty combination (the config
    as it is)."""
    factors: list[Sequence[Combination]] = [[(s,) for s in axis] for axis in axes] + list(zips)
    grid = [tuple(itertools.chain.from_iterable(parts)) for parts in itertools.product(*factors)] if factors else []
    combos = grid + list(points)
    return combos or [()]


def check_options(combo: Combination) -> None:
    for s in combo:
        if s.is_option and s.key[len(OPTION_PREFIX):] not in OPTION_FIELDS:
            raise SweepError(f"swept key {s.key!r}: not a run option; the options a sweep sets are "
                             + ", ".join(OPTION_PREFIX + f for f in OPTION_FIELDS))


def uniform_values(combos: Sequence[Combination]) -> list[Combination]:
    """Combinations whose cells have one type per key (ints and floats mix; otherwise a key with
    values of several types is written as text), so that every table format stores the column."""
    types: dict[str, set[type]] = {}
    for combo in combos:
        for s in combo:
            types.setdefault(s.key, set()).add(type(s.value))
    mixed = {k for k, t in types.items() if len(t) > 1 and not t <= {int, float}}
    return [tuple(Setting(s.key, s.override, s.override.partition("=")[2] if s.key in mixed else s.value)
                  for s in combo) for combo in combos]
