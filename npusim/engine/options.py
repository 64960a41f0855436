"""Runtime options: how to run, never what the hardware is."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of one simulation run.

    ``max_cycles``: a run still going at this cycle stops with :class:`MaxCyclesError` (or with
    :class:`DeadlockError` if nothing but waiting was left). ``stall_limit_cycles``: when every
    unit the program waits for has been blocked this long while only never-ending BD chains keep
    running, the run ends with :class:`DeadlockError`. ``record_intervals``: keep per-event
    (start, end, unit, state) intervals for timelines; off, it costs nothing. ``functional``:
    a lowered layer runs on real data (random operands drawn with ``seed``) and its output is
    compared with numpy; the cycles are those of a timing-only run. ``progress``: called with
    the current cycle about every ``progress_cycles`` cycles of simulated time while the run
    goes on (for a progress bar; one engine event each time).

    Checked before a lowered layer runs (:mod:`npusim.limits`): a layer whose estimated cycles
    pass ``max_cycles``, or whose estimated wall time passes ``max_wall_seconds``, is refused;
    so is a functional run whose data would need more than ``max_memory_bytes`` (None: the
    memory the machine has available).
    """

    max_cycles: int | None = None
    max_wall_seconds: float | None = None
    max_memory_bytes: int | None = None
    stall_limit_cycles: int = 1_000_000
    record_intervals: bool = False
    functional: bool = False
    seed: int = 0
    progress: Callable[[int], object] | None = field(default=None, compare=False)
    progress_cycles: int = 100_000

    def __post_init__(self) -> None:
        if self.max_cycles is not None and self.max_cycles < 1:
            raise ValueError(f"max_cycles must be at least 1, got {self.max_cycles}")
        if self.progress_cycles < 1:
            raise ValueError(f"progress_cycles must be at least 1, got {self.progress_cycles}")
        if self.stall_limit_cycles < 1:
            raise ValueError(f"stall_limit_cycles must be at least 1, got {self.stall_limit_cycles}")
        if self.max_wall_seconds is not None and not self.max_wall_seconds > 0:
            raise ValueError(f"max_wall_seconds must be more than 0, got {self.max_wall_seconds}")
        if self.max_memory_bytes is not None and self.max_memory_bytes < 1:
            raise ValueError(f"max_memory_bytes must be at least 1, got {self.max_memory_bytes}")
