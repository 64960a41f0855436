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

from pydantic import ValidationError

from ..config import ConfigError, apply_overrides
from ..config.load import read_config, validate_config
from ..frontend.layers.workload import Workload
from ..llm import LlmRun, ModelSpec
from .grid import LLM_PREFIX, OPTION_PREFIX, Combination, Setting, SweepError


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
class LlmSource:
    """A language-model workload: the model's architecture and the run (``llm.*`` keys update it)."""

    model: ModelSpec
    run: LlmRun

    @property
    def rows(self) -> int:
        """Table rows of a point: the run, then one per context point."""
        return 1 + len(self.run.contexts)


@dataclass(frozen=True, slots=True)
class WorkloadSource:
    """A workload, validated by the parent: its label (a path, or the inline layer's name); a
    language model's has ``llm`` and no layers."""

    label: str
    workload: Workload | None
    digest: str
    llm: LlmSource | None = None

    @classmethod
    def of(cls, label: str, workload: Workload) -> WorkloadSource:
        return cls(label, workload, digest(workload.model_dump(mode="json")))

    @classmethod
    def of_llm(cls, label: str, source: LlmSource) -> WorkloadSource:
        data = {"model": source.model.model_dump(mode="json"), "run": source.run.model_dump(mode="json")}
        return cls(label, None, digest(data), source)

    @property
    def rows(self) -> int:
        """Table rows of a point that runs: one per layer (a language model: see :class:`LlmSource`)."""
        if self.llm is not None:
            return self.llm.rows
        assert self.workload is not None
        return len(self.workload.layers)


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
        return tuple(s.override for s in self.settings if s.is_config)

    @property
    def params(self) -> dict[str, Any]:
        """The swept keys of this point and their values (the table's parameter cells)."""
        return {s.key: s.value for s in self.settings}

    @property
    def layers(self) -> int:
        """Table rows the point gives when it runs."""
        if self.workload.llm is None:
            return self.workload.rows
        try:
            return 1 + len(self.llm_run().contexts)
        except ValidationError:
            return 1  # the run is invalid: one failure row

    def llm_run(self) -> LlmRun:
        """A language-model point's run: the workload's, updated by the ``llm.*`` keys (validated)."""
        assert self.workload.llm is not None
        update = {s.key[len(LLM_PREFIX):]: s.value for s in self.settings if s.is_llm}
        return LlmRun.model_validate({**self.workload.llm.run.model_dump(), **update})

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
                overrides = [s.override for s in combo if s.is_config]
                key = digest([cfg.label, cfg.digest, overrides, wl.label, wl.digest, sorted(opts.items())])[:16]
                out.append(Point(len(out), cfg, wl, combo, tuple(sorted(opts.items())), key))
    return out


def check_keys(configs: Sequence[ConfigSource], settings: Iterable[Setting]) -> None:
    """Stop before running anything when a swept key names no config field: every point would
    fail the same way. Uses the config loader's own message."""
    first: dict[str, str] = {}
    for s in settings:
        if s.is_config:
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
