"""What-if sweeps: many (config overrides x workloads) -> one table (a pandas DataFrame).

>>> import npusim
>>> table = npusim.sweep("configs/tiny.yaml", "workloads/small_gemms.yaml", {"columns": [1, 2]}, workers=1)
>>> per_point = npusim.sweep.totals(table)

``npusim.sweep`` is this module, and calling it runs :func:`sweep`: so ``npusim.sweep(...)``,
``from npusim import sweep; sweep(...)``, ``npusim.sweep.totals`` and ``from npusim.sweep import
totals`` all work.

Each point (a config variant and a workload) is a full simulation; the table has one row per
point and layer, a column per swept key and per report figure. Points run in a local process
pool (one per core), in this process (``workers=1``), or on a Dask cluster (``client`` or
``scheduler``). With ``output``, each finished point is written at once (CSV, or Parquet parts
merged at the end) and ``resume`` skips the points already there.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .grid import SweepError
from .output import read_table
from .points import Point
from .run import Summary, run_sweep
from .spec import GridLike, SweepSpec, WorkloadLike, define
from .table import parameters, pareto_front, totals

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client


def sweep(config: str | Path | Sequence[str | Path] = (), workload: WorkloadLike | Sequence[WorkloadLike] = (),
          grid: GridLike = (), *, zip: Sequence[Mapping[str, Any]] = (), points: Sequence[Mapping[str, Any]] = (),
          options: Mapping[str, Any] | None = None, file: str | Path | None = None,
          output: str | Path | None = None, resume: bool = False, overwrite: bool = False,
          workers: int | None = None, client: Client | None = None, scheduler: str | None = None,
          progress: bool | None = None) -> pd.DataFrame:
    """Run a sweep and return its table (sorted by point, then layer).

    ``config``: config file(s). ``workload``: workload YAML or ONNX file(s), :class:`Workload`
    objects or layers (``Gemm(...)``). ``grid``: the swept keys, ``{"columns": [2, 4, 8],
    "clock_mhz": "1000:2000:250"}`` or ``["columns=2,4,8"]``; their Cartesian product is run.
    ``zip``: groups of keys whose lists vary together. ``points``: extra single points.
    ``options``: run options of every point (``max_cycles``, ``functional``, ``seed``, ...).
    ``file``: a sweep file (see :mod:`npusim.sweep.spec`) that the arguments above add to.
    ``output``: a .csv or .parquet file written as points finish; ``resume`` keeps its points.
    ``workers``: local processes (default one per core; 1: this process); ``client`` or
    ``scheduler`` (``tcp://HOST:PORT``): a Dask cluster instead. ``progress``: a progress bar
    (default: when standard error is a terminal).
    """
    spec = define(config, workload, grid, zip, points, options, file)
    table, _ = run_sweep(spec, output, resume=resume, overwrite=overwrite, workers=workers, client=client,
                         scheduler=scheduler, progress=progress)
    return table


class _CallableModule(types.ModuleType):
    """This module's class: calling the module runs :func:`sweep`."""

    __call__ = staticmethod(sweep)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Point", "Summary", "SweepError", "SweepSpec", "define", "parameters", "pareto_front", "read_table",
           "run_sweep", "sweep", "totals"]
