"""Where points run: in this process, in a local process pool, or on a Dask cluster.

Each backend yields ``(point, rows)`` as points finish, in any order; the output sorts them.
Workers receive a :class:`~npusim.sweep.points.Point` and run
:func:`~npusim.sweep.execute.run_point`, nothing else: the pool's processes are started by a
fork server (not forked from this process and its threads), and Dask workers import npusim
themselves, so a sweep runs the same on a laptop and on a cluster.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from .execute import failure_row, run_point
from .grid import SweepError
from .points import Point

if TYPE_CHECKING:
    from distributed import Client

Rows = list[dict[str, Any]]
Done = Generator[tuple[Point, Rows], None, None]


def serial(points: Sequence[Point]) -> Done:
    """One point after another in this process."""
    for p in points:
        yield p, run_point(p)


def pool(points: Sequence[Point], workers: int) -> Done:
    """A pool of ``workers`` processes on this machine (at most one per point)."""
    if not points:
        return
    if os.name == "posix":
        context: Any = multiprocessing.get_context("forkserver")
        # the fork server imports the simulator once; each worker forked from it starts ready
        context.set_forkserver_preload(["npusim.sweep.execute"])
    else:
        context = multiprocessing.get_context("spawn")
    ex = ProcessPoolExecutor(max_workers=max(1, min(workers, len(points))), mp_context=context)
    try:
        pending: dict[Future[Rows], Point] = {ex.submit(run_point, p): p for p in points}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f].index):
                yield pending.pop(fut), fut.result()
    except BrokenProcessPool:
        raise SweepError(
            "a worker process of the pool died (out of memory, killed, or it could not start: a script that "
            "runs a sweep must do so under `if __name__ == \"__main__\":`, as Python's multiprocessing requires); "
            "the points finished are kept in the output, and resume runs the rest") from None
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def dask(points: Sequence[Point], client: Client) -> Done:
    """Every point as one task on the Dask cluster of ``client``. A task the cluster loses (its
    workers died under it) is recorded as a failed point, like a point's own error."""
    import distributed

    dist: Any = distributed  # untyped API
    futures = {client.submit(run_point, p, key=f"npusim-point-{p.index}-{p.key}", pure=False, retries=0): p
               for p in points}
    try:
        for fut in dist.as_completed(list(futures)):
            point = futures.pop(fut)
            try:
                rows = fut.result()
            except Exception as exc:  # noqa: BLE001 - the cluster's error, kept with the point
                rows = [failure_row(point, exc)]
            fut.release()
            yield point, rows
    finally:
        if futures:
            dist_client: Any = client
            dist_client.cancel(list(futures))


def connect(scheduler: str) -> Client:
    """A client of the Dask scheduler at ``scheduler`` (``tcp://HOST:PORT``)."""
    import distributed

    dist: Any = distributed  # untyped API
    client: Client = dist.Client(scheduler, timeout="30s")
    return client
