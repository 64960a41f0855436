"""Simulate once, reuse: the cost of each distinct layer on one config, and costs added up.

A transformer runs the same few layer shapes over and over (every decoder layer, every K/V
head, every token at the same context). The engine is deterministic and its timing depends on
a layer's shapes and types only, never on the values it moves, so a layer is simulated the
first time its shape is asked for and its :class:`Cost` is reused after that. The cache key is
the layer's description without the fields that only say *which* values move: its name, a rope's
positions and base, an embedding's token ids, a norm's epsilon and a softmax's scale
(:data:`DATA_ONLY`; ``tests/llm`` checks that changing them leaves the simulated cycles alone).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import fields, replace
from typing import Any

from ..config import NPUConfig
from ..engine import RunOptions
from ..frontend import AnyLayer, Conv2d, Gemm, MappingCache, Pins, SearchResult, plan_vector, search
from ..frontend.mapper.search import plan_for  # the padded sizes of a fixed design, no search
from ..power import COMPONENTS
from ..runner import run_layer
from ..stats import Report

DATA_ONLY = frozenset({"name", "position", "theta", "tokens", "epsilon", "scale", "fused"})
"""Layer fields that choose values, not work: left out of the cache key."""


class Cost:
    """Time, energy and DDR traffic of some layer runs, added up (a run's figures times its count)."""

    __slots__ = ("seconds", "cycles", "energy_by_component", "ddr_bytes", "runs")

    def __init__(self, seconds: float = 0.0, cycles: float = 0.0, energy_by_component: Mapping[str, float] | None = None,
                 ddr_bytes: float = 0.0, runs: int = 0) -> None:
        self.seconds = seconds
        self.cycles = cycles
        self.energy_by_component = {c: 0.0 for c in COMPONENTS}
        self.energy_by_component.update(energy_by_component or {})
        self.ddr_bytes = ddr_bytes
        self.runs = runs

    @classmethod
    def of(cls, report: Report) -> Cost:
        """One run's cost, from its report."""
        return cls(report.seconds, report.cycles, report.energy_by_component or {},
                   report.ddr.bytes_read + report.ddr.bytes_written, 1)

    @property
    def energy_j(self) -> float:
        return sum(self.energy_by_component.values())

    @property
    def dram_energy_j(self) -> float:
        return self.energy_by_component["ddr"]

    def add(self, other: Cost, times: float = 1.0, runs: int | None = None) -> Cost:
        """Add ``other`` ``times`` times (its runs too, or ``runs`` runs); returns self."""
        self.seconds += times * other.seconds
        self.cycles += times * other.cycles
        for c, e in other.energy_by_component.items():
            self.energy_by_component[c] = self.energy_by_component.get(c, 0.0) + times * e
        self.ddr_bytes += times * other.ddr_bytes
        self.runs += int(times * other.runs) if runs is None else runs
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "cycles": self.cycles, "energy_j": self.energy_j,
                "dram_energy_j": self.dram_energy_j, "ddr_bytes": self.ddr_bytes, "layer_runs": self.runs}


def between(a: Cost, b: Cost, t: float) -> Cost:
    """The cost a fraction ``t`` of the way from ``a`` to ``b`` (linear in every figure)."""
    out = Cost().add(a, 1.0 - t, runs=0).add(b, t, runs=0)
    out.runs = a.runs
    return out


def deviation(got: Cost, want: Cost) -> float:
    """The larger relative difference of time and energy between two costs."""
    def rel(x: float, y: float) -> float:
        return abs(x - y) / abs(y) if y else float(x != y)
    return max(rel(got.seconds, want.seconds), rel(got.energy_j, want.energy_j))


def layer_key(layer: AnyLayer) -> str:
    """The cache key: the layer's fields that set its work (see :data:`DATA_ONLY`)."""
    fields = {k: v for k, v in layer.model_dump(mode="json").items() if k not in DATA_ONLY}
    return json.dumps(fields, sort_keys=True)


def plan_signature(config: NPUConfig, layer: AnyLayer, fixed: SearchResult | None = None) -> Hashable:
    """What the lowering does with ``layer`` apart from the layer's own sizes: a matmul's padded
    sizes under the design of ``fixed`` (a search result whose winner is pinned), a vector
    operator's rows per block, segments and placement. Two layers of one kind with the same
    signature run the same program but for their lengths."""
    if isinstance(layer, (Gemm, Conv2d)):
        if fixed is None:
            raise ValueError("a matmul's plan signature is taken under a fixed design: pass its search result")
        p = plan_for(config, fixed, layer)
        return ("matmul", p.Mp, p.Kp, p.Np, p.iterations, p.mem_iterations)
    v = plan_vector(config, layer)
    return ("vector", v.block[0], v.segments, v.columns, v.rows, v.tiles, v.steps)


class TimingCache:
    """Each distinct layer simulated once on ``config``; repeats answered from the cache.

    ``simulated`` counts the simulations, ``lookups`` every cost asked for; ``on_simulate``
    (if given) is called with each layer before it is simulated (progress)."""

    def __init__(self, config: NPUConfig, options: RunOptions | None = None,
                 on_simulate: Callable[[AnyLayer], None] | None = None) -> None:
        self.config = config
        self.options = replace(options or RunOptions(), functional=False, record_intervals=False, progress=None)
        self.on_simulate = on_simulate
        self._costs: dict[str, Cost] = {}
        self._signatures: dict[str, Hashable] = {}
        self.mapping = MappingCache()
        """The mapper's search results by layer shape (each searched once)."""
        self.simulated = 0
        self.lookups = 0
        self.wall_seconds = 0.0

    def cost(self, layer: AnyLayer, pins: Pins | None = None) -> Cost:
        """One run of ``layer`` (a matmul's design chosen by the mapper, or fixed by ``pins``):
        simulated the first time its shape is seen."""
        self.lookups += 1
        key = layer_key(layer) + (f" pins {pins.describe()}" if pins is not None else "")
        if key not in self._costs:
            if self.on_simulate is not None:
                self.on_simulate(layer)
            t = time.perf_counter()
            self._costs[key] = Cost.of(run_layer(self.config, layer, self.options, pins=pins, cache=self.mapping))
            self.wall_seconds += time.perf_counter() - t
            self.simulated += 1
        return self._costs[key]

    def search(self, layer: Gemm | Conv2d) -> SearchResult:
        """The mapper's choice of design for ``layer`` (searched once per shape)."""
        return search(self.config, layer, Pins(), self.mapping)

    def signature(self, layer: AnyLayer, fixed: SearchResult | None = None) -> Hashable:
        """:func:`plan_signature` of ``layer`` on the cache's config (remembered)."""
        key = layer_key(layer) + (f" design {fixed.winner.design.describe()}" if fixed is not None else "")
        if key not in self._signatures:
            self._signatures[key] = plan_signature(self.config, layer, fixed)
        return self._signatures[key]
