"""Leave-one-source-out fits of the config figures, so that every case is also judged by a config
that never saw its source.

Two kinds of config figure come from the published cases:

- **fitted** figures (``[CAL]`` in the configs): each case lists the fields it calibrates
  (``calibrates``). A fit refits each such field on the cases it may see, by the field's rule:
  a kernel variant's ``efficiency`` and ``cycles_per_output`` by least squares on the relative
  error of its single-kernel cases' cycles (the rule :func:`npusim.hw.timing.compute_cycles` is
  linear in ``1/efficiency`` and ``cycles_per_output``; one case fits ``cycles_per_output`` alone),
  an output type's ``out_cycles_per_output.T`` from its cases given the variant's efficiency, a
  vector operator's ``overhead_cycles`` from its calls. A field no case it may see calibrates takes
  its prior (the table's ``priors``: a [SPEC] or [INF] value with its reason).
- **measured** figures taken from one source (``priors`` entries with a ``source``, e.g. the
  8700G's DDR rates from ignite-xdna, the paper's DDR bandwidth): a fit that leaves that source
  out uses the prior instead.

Fields are keyed ``DEVICE:FIELD``: kernel and vector figures by device family (``npu1`` covers
``npu1-8700g``, which inherits them), the rest by the config file itself.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from npusim import NPUConfig
from npusim.hw.timing import vector_cycles
from validation.table import Case, KernelWorkload, Table, VectorWorkload

_KERNEL = "compute_tile.kernels."
_VECTOR = "compute_tile.vector."


def family(device: str) -> str:
    """The base config a device extends (``npu1-8700g`` -> ``npu1``)."""
    return device.split("-")[0]


def key_of(device: str, name: str) -> str:
    """``DEVICE:FIELD`` of a config field as a case on ``device`` sees it."""
    return f"{family(device) if name.startswith('compute_tile.') else device}:{name}"


@dataclass(frozen=True)
class Fit:
    """The config figures of one fit: ``left_out`` is the source it may not use (None: all)."""

    left_out: str | None
    values: dict[str, float | None]
    """``DEVICE:FIELD`` -> value (None: unset), for every field the fit sets (the rest keep the shipped value)."""
    saw: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Fitted ``DEVICE:FIELD`` -> ids of the cases it was fitted on (empty: its prior)."""

    def overrides(self, device: str) -> list[str]:
        """The fit's figures as config overrides for a case on ``device``."""
        mine = {family(device), device}
        return [f"{k.split(':', 1)[1]}={'null' if v is None else format(v, '.6g')}"
                for k, v in sorted(self.values.items()) if k.split(":", 1)[0] in mine]


def _kernel_cycles(case: Case) -> float:
    w = case.workload
    assert isinstance(w, KernelWorkload)
    macs = w.m * w.k * w.n
    return macs / case.published if case.metric == "macs_per_cycle" else case.published


def _fit_kernel(cases: Sequence[Case], peak: int, overhead: int, prior_eff: float) -> tuple[float, float]:
    """(efficiency, cycles_per_output) minimising the relative error of the cases' cycles."""
    rows = [(c.workload.m * c.workload.k * c.workload.n / peak, c.workload.m * c.workload.n,  # type: ignore[union-attr]
             _kernel_cycles(c) - overhead) for c in cases]
    y = np.array([r[2] for r in rows])
    a = np.array([[r[0], r[1]] for r in rows]) / y[:, None]
    if len(rows) >= 2 and np.linalg.matrix_rank(a) == 2:
        (x1, x2), *_ = np.linalg.lstsq(a, np.ones(len(rows)), rcond=None)
        if x1 >= 1.0 and x2 >= 0.0:
            return round(1.0 / x1, 3), round(x2, 3)
    x1 = 1.0 / prior_eff  # one case (or a fit out of bounds): the efficiency stays at its prior
    x2 = max(0.0, float(np.mean([(r[2] - r[0] * x1) / r[1] for r in rows])))
    return round(1.0 / x1, 3), round(x2, 3)


def _fit_out(cases: Sequence[Case], peak: int, overhead: int, eff: float) -> float:
    return round(max(0.0, float(np.mean([
        (_kernel_cycles(c) - overhead - c.workload.m * c.workload.k * c.workload.n / (peak * eff))  # type: ignore[union-attr]
        / (c.workload.m * c.workload.n) for c in cases]))), 3)  # type: ignore[union-attr]


def _fit_vector_overhead(cases: Sequence[Case], config: NPUConfig, op: str, dtype: str) -> float:
    bare = [vector_cycles(config.compute_tile, op, dtype, c.workload.elements)  # type: ignore[arg-type, union-attr]
            - config.compute_tile.vector[op][dtype].overhead_cycles for c in cases]  # type: ignore[index]
    return round(max(0.0, float(np.mean([c.published - b for c, b in zip(cases, bare)]))))


def fit(table: Table, configs: dict[str, NPUConfig], left_out: str | None) -> Fit:
    """The fit that may not use ``left_out``'s cases nor the figures measured by it. ``configs``:
    the shipped config of each device the table names."""
    seen = [c for c in table.cases if c.origin != left_out]
    values: dict[str, float | None] = {k: p.value for k, p in table.priors.items()
                                       if p.source is not None and p.source == left_out}
    saw: dict[str, tuple[str, ...]] = {}
    fitted = sorted({key_of(c.device, f) for c in table.cases for f in c.calibrates})
    for key in fitted:
        device, name = key.split(":", 1)
        using = [c for c in seen if key in {key_of(c.device, f) for f in c.calibrates}]
        saw[key] = tuple(c.id for c in using)
        if not using:
            if key not in table.priors:
                raise ValueError(f"{key}: a fit without source '{left_out}' has no case for it and the table gives "
                                 "no prior; add one under 'priors:'")
            values[key] = table.priors[key].value
            continue
        config = configs[device]
        if name.startswith(_KERNEL):
            lib, _, pair, term, *out = name[len(_KERNEL):].split(".")
            spec = config.compute_tile.kernels[lib].variants[pair]
            if term in ("efficiency", "cycles_per_output"):
                prior = table.priors.get(f"{device}:{_KERNEL}{lib}.variants.{pair}.efficiency")
                eff, cpo = _fit_kernel(using, spec.macs_per_cycle, spec.overhead_cycles,
                                       prior.value if prior and prior.value else spec.efficiency)
                values[key] = eff if term == "efficiency" else cpo
            else:
                eff_key = f"{device}:{_KERNEL}{lib}.variants.{pair}.efficiency"
                eff = values.get(eff_key) or spec.efficiency
                values[key] = _fit_out(using, spec.macs_per_cycle, spec.overhead_cycles, eff)
        elif name.startswith(_VECTOR) and name.endswith(".overhead_cycles"):
            op, dtype = name[len(_VECTOR):].split(".")[:2]
            values[key] = _fit_vector_overhead(using, config, op, dtype)
        else:
            raise ValueError(f"{key}: no fit rule for this field (validation/fit.py)")
    return Fit(left_out, values, saw)


def fits(table: Table, configs: dict[str, NPUConfig]) -> dict[str, Fit]:
    """One fit per source, leaving that source out."""
    return {s: fit(table, configs, s) for s in table.sources}
