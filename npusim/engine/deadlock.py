"""Reports of runs that cannot progress: who waits on what."""
from __future__ import annotations

from collections.abc import Iterable

from ..hw.unit import Unit


class DeadlockError(RuntimeError):
    """No unit can make progress. ``blocked`` lists (unit, what it waits for)."""

    def __init__(self, message: str, blocked: list[tuple[str, str]], cycle: int) -> None:
        super().__init__(message)
        self.blocked = blocked
        self.cycle = cycle


class MaxCyclesError(RuntimeError):
    """The run reached ``RunOptions.max_cycles`` with work left."""

    def __init__(self, message: str, cycle: int) -> None:
        super().__init__(message)
        self.cycle = cycle


def blocked_units(units: Iterable[Unit]) -> list[tuple[str, str]]:
    """Every unit that waits, with what it waits for, in build order."""
    return [(u.name, u.describe()) for u in units if u.waiting is not None]


def deadlock_error(units: list[Unit], since: int, source: str, how: str) -> DeadlockError:
    blocked = blocked_units(units)
    unfinished = [u.name for u in units if u.required and not u.finished and u.waiting is None]
    lines = [f"{source}: deadlock: {how} since cycle {since}; blocked units and what they wait for:"]
    lines += [f"  {name}: waits to {what}" for name, what in blocked]
    if unfinished:
        lines.append(f"  (also unfinished: {', '.join(unfinished)})")
    return DeadlockError("\n".join(lines), blocked, since)
