"""Sweep points: what one simulation of a sweep needs, self-contained.

A :class:`Point` carries the config file's parsed YAML (not its path), the dotted overrides, the
validated workload and the run options, so a worker process (or a Dask worker on another machine)
needs nothing from the parent: no files, no state. Its ``key`` is a digest of all of that, which
``--resume`` uses to recognise a point already in the output.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, apply_overrides
from ..config.load import read_config, validate_config
from ..frontend.layers.workload import Workload
from .grid import OPTION_PREFIX, Combination, Setting, SweepError


def digest(obj: Any) -> str:
    """A stable hex digest of JSON-ready data (dict keys sorted)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """A config file, read once by the parent: its label (the path as given), parsed YAML and
    the line of each field (for the loader's error messages)."""

    label: str
    data: dict[str, Any]
    lines: dict[tuple[str | int, ...], int]
    digest: str

    @classmethod
    def read(cls, path: str | Path) -> ConfigSource:
        data, lines = read_config(Path(path))  # with the config it extends; raises on a file that is no mapping
        return cls(str(path), data, lines, digest(data))


@dataclass(frozen=True, slots=True)
class WorkloadSource:
    """A workload, validated by the parent: its label (a path, or the inline layer's name)."""

    label: str
    workload: Workload
    digest: str

    @classmethod
    def of(cls, label: str, workload: Workload) -> WorkloadSource:
        return cls(label, workload, digest(workload.model_dump(mode="json")))


@dataclass(frozen=True, slots=True)
class Point:
    """One simulation of a sweep: a config variant and a workload, with run options."""

    index: int
    config: ConfigSource
    workload: WorkloadSource
    settings: Combination
    options: tuple[tuple[str, Any], ...]
    """The run options (RunOptions field, value), the sweep's base ones updated by ``options.*``
    settings."""
    key: str

    @property
    def overrides(self) -> tuple[str, ...]:
        return tuple(s.override for s in self.settings if not s.is_option)

    @property
    def params(self) -> dict[str, Any]:
        """The swept keys of this point and their values (the table's parameter cells)."""
        return {s.key: s.value for s in self.settings}

    @property
    def layers(self) -> int:
        return len(self.workload.workload.layers)

    def describe(self) -> str:
        """``point 3 (columns=0, mem_tile.size_kib=256) small_gemms on configs/tiny.yaml``."""
        params = ", ".join(s.override for s in self.settings)
        return (f"point {self.index}" + (f" ({params})" if params else "")
                + f" {self.workload.label} on {self.config.label}")


def make_points(configs: Sequence[ConfigSource], workloads: Sequence[WorkloadSource],
                combos: Iterable[Combination], options: Mapping[str, Any]) -> list[Point]:
    """Every (config, combination, workload), in that nesting order (a variant's workloads
    are adjacent in the table)."""
    out: list[Point] = []
    for cfg in configs:
        for combo in combos:
            opts = dict(options)
            opts.update({s.key[len(OPTION_PREFIX):]: s.value for s in combo if s.is_option})
            for wl in workloads:
                overrides = [s.override for s in combo if not s.is_option]
                key = digest([cfg.label, cfg.digest, overrides, wl.label, wl.digest, sorted(opts.items())])[:16]
                out.append(Point(len(out), cfg, wl, combo, tuple(sorted(opts.items())), key))
    return out


def check_keys(configs: Sequence[ConfigSource], settings: Iterable[Setting]) -> None:
    """Stop before running anything when a swept key names no config field: every point would
    fail the same way. Uses the config loader's own message."""
    first: dict[str, str] = {}
    for s in settings:
        if not s.is_option:
            first.setdefault(s.key, s.override)
    for cfg in configs:
        for key, override in first.items():
            try:
                validate_config(apply_overrides(cfg.data, [override], cfg.label), cfg.label, cfg.lines, [override])
            except ConfigError as exc:
                text = str(exc)
                if "is not a section" in text or f": {key}: unknown field" in text:
                    problem = next(line for line in text.splitlines() if key in line or "section" in line)
                    raise SweepError(f"swept key {key!r}: {problem}") from None
