"""Running one point: (config source + overrides, workload, options) -> table rows.

This is what a worker process or a Dask worker runs. It uses nothing but its argument. Each
layer runs on its own (as :func:`npusim.run_workload` runs it: layer ``i`` draws its operands with
seed ``seed + i``), so a layer that fails (does not fit, deadlocks) is recorded with its error
and the point's other layers still run. A config variant that fails validation gives one row
with the loader's error.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..config import ConfigError, NPUConfig, apply_overrides
from ..config.load import validate_config
from ..engine import RunOptions
from ..frontend.layers.workload import Workload
from ..llm import run_llm
from ..runner import run_workload
from .flatten import figures
from .points import Point

META = ("point", "point_key", "config_file", "workload")
"""The first columns of every row; the swept keys follow, then ``STATUS``, then the figures."""
STATUS = ("status", "error_kind", "error", "layer_index", "layer")
OK, FAILED = "ok", "failed"
RESERVED = frozenset(META + STATUS)
FIGURE_PREFIX = "report."
"""Put before a figure whose name is also a swept key (``clock_mhz``) or a meta column."""


def _head(point: Point) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point.index, "point_key": point.key, "config_file": point.config.label,
                           "workload": point.workload.label}
    row.update(point.params)
    return row


def _failure(head: dict[str, Any], exc: BaseException, index: int | None, layer: str | None) -> dict[str, Any]:
    kind = type(exc).__name__
    text = str(exc) or kind
    return dict(head, status=FAILED, error_kind=kind, error=text, layer_index=index, layer=layer)


def failure_row(point: Point, exc: BaseException) -> dict[str, Any]:
    """The one row of a point that failed as a whole (its variant, or the cluster running it)."""
    return _failure(_head(point), exc, None, None)


def _config(point: Point) -> NPUConfig:
    src = point.config
    data = apply_overrides(src.data, point.overrides, src.label)
    return validate_config(data, src.label, src.lines, point.overrides)


def _layer_row(head: dict[str, Any], index: int, name: str, report: dict[str, Any]) -> dict[str, Any]:
    row = dict(head, status=OK, error_kind=None, error=None, layer_index=index, layer=name)
    for key, value in figures(report).items():
        row[FIGURE_PREFIX + key if key in row or key in RESERVED else key] = value
    return row


def run_point(point: Point) -> list[dict[str, Any]]:
    """Simulate ``point``; one row per layer (or one failure row when the variant is invalid).

    Expected failures (an invalid variant, a layer that does not fit, a deadlock, a run past
    ``max_cycles``) become rows with ``status`` ``failed``, the error's class and message. So
    does any other exception: one broken point must not stop a long sweep.
    """
    head = _head(point)
    try:
        config = _config(point)
        options = RunOptions(**dict(point.options))
    except (ConfigError, TypeError, ValueError) as exc:
        return [_failure(head, exc, None, None)]
    if point.workload.llm is not None:
        return _llm_rows(head, point, config, options)
    rows = []
    workload = point.workload.workload
    assert workload is not None
    for i, layer in enumerate(workload.layers):
        one = Workload(name=workload.name, dtype=workload.dtype, layers=[layer])
        try:
            report = run_workload(config, one, replace(options, seed=options.seed + i)).to_dict()["layers"][0]
        except Exception as exc:  # noqa: BLE001 - recorded in the table, see the docstring
            rows.append(_failure(head, exc, i, layer.name))
            continue
        rows.append(_layer_row(head, i, layer.name, report))
    return rows


def _llm_rows(head: dict[str, Any], point: Point, config: NPUConfig, options: RunOptions) -> list[dict[str, Any]]:
    """A language-model point: one row for the run (``layer`` ``prefill+decode``: ttft_s,
    decode_tokens_per_s, ...), then one per context point (``layer`` ``context N``)."""
    source = point.workload.llm
    assert source is not None
    try:
        run = point.llm_run()
        report = run_llm(config, source.model, run, options)
    except Exception as exc:  # noqa: BLE001 - recorded in the table, see run_point
        return [_failure(head, exc, None, None)]
    out = report.to_dict()
    rows = [_layer_row(head, 0, "prefill+decode", {k: v for k, v in out.items() if k != "contexts"})]
    rows += [_layer_row(head, i, f"context {c['context']}", c) for i, c in enumerate(out["contexts"], 1)]
    return rows
