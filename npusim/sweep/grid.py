"""Parameter grids: ``--set`` value lists and ranges, zipped groups, explicit points.

A *combination* is one assignment of values to swept keys: a tuple of :class:`Setting`. Config
keys become dotted overrides (``columns=4``) applied by :func:`npusim.config.load_config`'s own
rules; keys under ``options.`` set :class:`npusim.engine.RunOptions` fields of the point, keys
under ``llm.`` the run of a language-model workload (``llm.prompt``, ``llm.weights``, ...).

>>> [s.override for s in axis_from_text("clock_mhz=1000:2000:500")]
['clock_mhz=1000', 'clock_mhz=1500', 'clock_mhz=2000']
"""
from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, overload

import yaml

from ..config import ConfigError, parse_override
from ..config.safe_yaml import dump_value, parse_value
from ..engine import RunOptions


class SweepError(ValueError):
    """A sweep's definition is invalid; the message names the flag or file, the key and the fix."""


OPTION_PREFIX = "options."
ALIASES = {"kernel": "compute_tile.default_kernel"}
"""Short sweep keys and the config field each sets: ``kernel=tuned,mlir-aie`` sweeps the kernel
library every matmul of a point uses."""
LLM_PREFIX = "llm."
"""Swept keys under ``llm.`` set a language-model workload's run (:class:`npusim.llm.LlmRun`)."""
OPTION_FIELDS = ("max_cycles", "max_wall_seconds", "stall_limit_cycles", "functional", "seed")
"""The :class:`~npusim.engine.RunOptions` fields a sweep may set (``record_intervals`` is left
out: a sweep keeps figures, not timelines)."""

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

    @property
    def is_llm(self) -> bool:
        return self.key.startswith(LLM_PREFIX)

    @property
    def is_config(self) -> bool:
        """A config override (neither a run option nor a language-model run field)."""
        return not self.is_option and not self.is_llm


Combination = tuple[Setting, ...]


def yaml_text(value: Any) -> str:
    """``value`` written so that YAML reads it back unchanged (the config loader's parser, which
    reads ``1e3`` as a number: such a string is quoted)."""
    if isinstance(value, str) and "\n" not in value:
        try:
            if parse_value(value) == value:
                return value
        except (yaml.YAMLError, ValueError):
            pass
    return dump_value(value)


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


_PLAIN = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def setting(key: str, value: Any) -> Setting:
    """``key`` at ``value``: the override names the config field (an alias's field, :data:`ALIASES`)."""
    return Setting(key, f"{ALIASES.get(key, key)}={yaml_text(value)}", value)


def _settings(key: str, texts: Iterable[str]) -> list[Setting]:
    out = []
    for text in texts:
        override = f"{ALIASES.get(key, key)}={text}"
        if _PLAIN.match(text):  # a range's value: read as YAML would, without the parser
            value: Any = float(text) if "." in text else int(text)
        else:
            _, value = parse_override(f"{key}={text}")
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
        return [setting(key, v) for v in value]
    if isinstance(value, str):
        return axis_from_text(f"{key}={value}", where)
    return [setting(key, value)]


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
        out.append(setting(key, value))
    return tuple(out)


class Grid(Sequence[Combination]):
    """The combinations of a sweep, made one at a time, never all at once: the Cartesian product
    of ``factors`` (each a list of combinations; the first varies slowest), then the explicit
    ``points``. With neither: one empty combination (the config as it is). Its length is known
    without making any, so that a grid too large to run is refused before it fills the memory."""

    def __init__(self, factors: Sequence[Sequence[Combination]], points: Sequence[Combination]) -> None:
        self.factors = [list(f) for f in factors]
        self.points = list(points)
        self.product = math.prod(len(f) for f in self.factors) if self.factors else 0

    def __len__(self) -> int:
        return self.product + len(self.points) or 1

    @overload
    def __getitem__(self, i: int) -> Combination: ...

    @overload
    def __getitem__(self, i: slice) -> list[Combination]: ...

    def __getitem__(self, i: int | slice) -> Combination | list[Combination]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        if i >= self.product:
            return self.points[i - self.product] if self.points else ()
        parts = []
        for factor in reversed(self.factors):  # mixed radix, the last factor varying fastest
            i, j = divmod(i, len(factor))
            parts.append(factor[j])
        return tuple(itertools.chain.from_iterable(reversed(parts)))

    def __iter__(self) -> Iterator[Combination]:
        if self.factors:
            for parts in itertools.product(*self.factors):
                yield tuple(itertools.chain.from_iterable(parts))
        yield from self.points
        if not self.factors and not self.points:
            yield ()

    def settings(self) -> Iterator[Setting]:
        """Every setting that some combination holds, in order of first appearance (a key's
        values in the order its list gives them)."""
        for factor in self.factors:
            for combo in factor:
                yield from combo
        for combo in self.points:
            yield from combo

    def map(self, change: Callable[[Setting], Setting]) -> Grid:
        """The same grid with every setting changed by ``change``."""
        return Grid([[tuple(change(s) for s in c) for c in f] for f in self.factors],
                    [tuple(change(s) for s in c) for c in self.points])


def combinations(axes: Sequence[Sequence[Setting]], zips: Sequence[Sequence[Combination]],
                 points: Sequence[Combination]) -> Grid:
    """The grid (the Cartesian product of the axes and the zip groups, the first varying slowest),
    then the explicit points. With neither a grid nor points: one empty combination (the config
    as it is)."""
    return Grid([[(s,) for s in axis] for axis in axes] + list(zips), points)


def check_options(settings: Iterable[Setting], base: Mapping[str, Any]) -> None:
    """Stop before running anything when a swept option is not a run option or has a value
    :class:`~npusim.engine.RunOptions` refuses (every point with it would fail the same way)."""
    for s in settings:
        if not s.is_option:
            continue
        name = s.key[len(OPTION_PREFIX):]
        if name not in OPTION_FIELDS:
            raise SweepError(f"swept key {s.key!r}: not a run option; the options a sweep sets are "
                             + ", ".join(OPTION_PREFIX + f for f in OPTION_FIELDS))
        run_options({**base, name: s.value}, f"swept {s.override}")


def run_options(options: Mapping[str, Any], where: str) -> RunOptions:
    """``options`` as :class:`~npusim.engine.RunOptions`, or a :class:`SweepError` naming ``where``."""
    try:
        return RunOptions(**options)
    except (TypeError, ValueError) as exc:
        raise SweepError(f"{where}: {exc}") from None


def uniform_values(grid: Grid) -> Grid:
    """The grid with one type of cell per key (ints and floats mix; otherwise a key with values
    of several types is written as text), so that every table format stores the column."""
    types: dict[str, set[type]] = {}
    for s in grid.settings():
        types.setdefault(s.key, set()).add(type(s.value))
    mixed = {k for k, t in types.items() if len(t) > 1 and not t <= {int, float}}
    return grid.map(lambda s: Setting(s.key, s.override, s.override.partition("=")[2]) if s.key in mixed else s)
