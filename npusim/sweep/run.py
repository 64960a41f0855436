"""Running a sweep: pick the backend, skip what the output already has, write each point as it
finishes, show progress, and sum up."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import backends
from .execute import FAILED
from .output import open_output
from .points import Point
from .spec import SweepSpec

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client


@dataclass
class Summary:
    """What a sweep did: points run, skipped (already in the output), ok and failed."""

    points: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    where: str = "this process"
    output: str | None = None
    failures: list[tuple[Point, str]] = field(default_factory=list)

    @property
    def ran(self) -> int:
        return self.ok + self.failed

    def lines(self, shown: int = 10) -> list[str]:
        """The summary as text: counts, throughput, and the first ``shown`` failures."""
        rate = f" ({self.ran / self.seconds:.2f} points/s)" if self.seconds > 0 and self.ran else ""
        head = (f"sweep    {self.points} points: {self.ok} ok, {self.failed} failed"
                + (f", {self.skipped} already in {self.output}" if self.skipped else "")
                + f"; {self.ran} run in {self.seconds:.1f} s{rate} in {self.where}")
        out = [head]
        for point, error in self.failures[:shown]:
            out.append(f"failed   {point.describe()}: {error}")
        if len(self.failures) > shown:
            out.append(f"failed   ... and {len(self.failures) - shown} more (see the error column)")
        if self.output:
            out.append(f"table    {self.output}")
        return out


def _first_error(rows: Sequence[dict[str, Any]]) -> str | None:
    for r in rows:
        if r.get("status") == FAILED:
            text = str(r.get("error") or r.get("error_kind"))
            layer = f"layer {r['layer']}: " if r.get("layer") else ""
            return f"{layer}{r.get('error_kind')}: {text.splitlines()[0] if text else ''}"
    return None


def _count(summary: Summary, point: Point, rows: Sequence[dict[str, Any]]) -> None:
    error = _first_error(rows)
    if error is None:
        summary.ok += 1
    else:
        summary.failed += 1
        summary.failures.append((point, error))


def _bar(total: int, progress: bool | None) -> Any:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, disable=not show, unit="point", desc="sweep", file=sys.stderr, dynamic_ncols=True,
                postfix={"failed": 0})


def _address(client: Client) -> str:
    info: Any = client
    return str(info.scheduler.address)


def _backend(todo: list[Point], workers: int | None, client: Client | None,
             scheduler: str | None) -> tuple[backends.Done, str, Client | None]:
    """The iterator of finished points, where they run, and a client to close afterwards."""
    if client is not None or scheduler is not None:
        own = backends.connect(scheduler) if client is None and scheduler is not None else None
        used = client or own
        assert used is not None
        return backends.dask(todo, used), f"the Dask cluster at {_address(used)}", own
    n = min(workers or os.cpu_count() or 1, len(todo))
    if n <= 1:
        return backends.serial(todo), "this process", None
    return backends.pool(todo, n), f"a pool of {n} processes", None


def run_sweep(spec: SweepSpec, output: str | Path | None = None, *, resume: bool = False, overwrite: bool = False,
              workers: int | None = None, client: Client | None = None, scheduler: str | None = None,
              progress: bool | None = None) -> tuple[pd.DataFrame, Summary]:
    """Run every point of ``spec`` not yet in ``output`` (with ``resume``); return the whole
    table (sorted by point and layer) and a :class:`Summary`."""
    points = spec.points()
    out = open_output(output, spec.params, {p.key: p.layers for p in points}, resume, overwrite)
    done = out.done()
    todo = [p for p in points if p.key not in done]
    summary = Summary(len(points), skipped=len(points) - len(todo), output=str(output) if output else None)
    start = time.perf_counter()
    finished: backends.Done | None = None
    own: Client | None = None
    try:
        finished, summary.where, own = _backend(todo, workers, client, scheduler)
        with _bar(len(todo), progress) as bar:
            for point, rows in finished:
                out.append(rows)
                _count(summary, point, rows)
                bar.set_postfix(failed=summary.failed, refresh=False)
                bar.update()
    finally:
        if finished is not None:
            finished.close()
        summary.seconds = time.perf_counter() - start
        table = out.close()
        if own is not None:
            closing: Any = own
            closing.close()
    summary.failures.sort(key=lambda f: f[0].index)
    return table, summary
