"""Progress bars for workloads, layer by layer, and for one long simulation, by simulated cycles;
on an interactive terminal only.

It appears after ``DELAY_S`` seconds (a short run shows nothing), writes to stderr, and stays off in
``--json`` mode and whenever stdout or stderr is not a terminal (pipes, files, CI, notebooks run
headless), so that no machine-read output ever carries it.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm

from .engine import RunOptions
from .stats.report import Report

DELAY_S = 2.0
"""Seconds a workload runs before its bar appears."""


def interactive(streams: Sequence[TextIO] | None = None) -> bool:
    """Whether every one of ``streams`` (default: stdout and stderr) is a terminal."""
    chosen = (sys.stdout, sys.stderr) if streams is None else streams
    return all(getattr(s, "isatty", lambda: False)() for s in chosen)


class LayerProgress:
    """``with LayerProgress(names, quiet) as bar: run_workload(..., on_layer=bar.on_layer)``.

    One step per layer, the description naming the layer being simulated. ``enabled`` is
    ``not quiet and interactive()`` unless given; a disabled bar prints nothing at all.
    """

    def __init__(self, names: Sequence[str], quiet: bool = False, *, enabled: bool | None = None,
                 delay: float | None = None, file: TextIO | None = None) -> None:
        self.names = list(names)
        self.enabled = (not quiet and interactive()) if enabled is None else enabled
        self.bar: tqdm[Any] | None = None
        self.delay = DELAY_S if delay is None else delay
        self.file = file

    def __enter__(self) -> LayerProgress:
        if self.enabled:
            self.bar = tqdm(total=len(self.names), unit="layer", delay=self.delay, leave=False,
                            file=self.file if self.file is not None else sys.stderr, dynamic_ncols=True,
                            desc=self._desc(0))
        return self

    def _desc(self, i: int) -> str:
        return f"layer {i}: {self.names[i]}" if i < len(self.names) else "done"

    def on_layer(self, i: int, report: Report) -> None:
        """``run_workload``'s callback: layer ``i`` has finished."""
        if self.bar is not None:
            self.bar.set_description_str(self._desc(i + 1), refresh=False)
            self.bar.update(1)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class CycleProgress:
    """``with CycleProgress(expected_cycles, quiet) as bar: run_lowered(..., bar.options(options))``.

    One simulation's progress in simulated cycles against the lowering's estimate, from the
    engine's ``RunOptions.progress`` callback (one engine event per 1/200 of the estimate, only
    when the bar is on); it appears after ``DELAY_S`` seconds, like the workload bar."""

    def __init__(self, expected_cycles: int, quiet: bool = False, *, enabled: bool | None = None,
                 delay: float | None = None, file: TextIO | None = None) -> None:
        self.total = max(1, expected_cycles)
        self.enabled = (not quiet and interactive()) if enabled is None else enabled
        self.bar: tqdm[Any] | None = None
        self.delay = DELAY_S if delay is None else delay
        self.file = file

    def options(self, options: RunOptions) -> RunOptions:
        """``options`` with the progress callback, when the bar is on."""
        if not self.enabled:
            return options
        return replace(options, progress=self.at, progress_cycles=max(1, self.total // 200))

    def __enter__(self) -> CycleProgress:
        if self.enabled:
            self.bar = tqdm(total=self.total, unit="cycle", unit_scale=True, delay=self.delay, leave=False,
                            file=self.file if self.file is not None else sys.stderr, dynamic_ncols=True,
                            desc="simulating")
        return self

    def at(self, cycle: int) -> None:
        """The engine's callback: the run has reached ``cycle`` (the estimate may be passed)."""
        if self.bar is not None:
            self.bar.update(min(cycle, self.total) - self.bar.n)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
