"""Power over time: the run's energy binned over its recorded intervals.

Each component's energy is spread over the busy intervals of the units that spent it, so the
timeline integrates exactly to the energy of the run (sum of watts x ``bin_s`` = ``energy_j``):

- ``macs``, ``vector``, ``data_memory``: over the cores' busy intervals, each core's share in
  proportion to its busy cycles;
- ``dma_memory``, ``mem_tile``: over each DMA channel's busy intervals, its own bytes priced;
- ``stream``: over the MM2S channels' busy intervals, in proportion to the bytes each sent;
- ``ddr``: over the shim channels' busy intervals, in proportion to their bytes;
- ``clock``: each tile's clock energy over the intervals of its busiest unit;
- ``locks`` and ``static``: evenly over the run (locks carry no timestamps; leakage is constant).

Without recorded intervals (``RunOptions(record_intervals=False)``) every component is flat at
its average and ``resolved`` is False.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..config import NPUConfig
from ..stats.actions import active_cycles
from ..stats.report import Report, TileReport
from .energy import COMPONENTS, PJ, run_energy
from .voltage import operating_power

Array = npt.NDArray[np.float64]
_PREFIX = {"shim": "shim", "mem": "mem", "compute": "tile"}


@dataclass(frozen=True)
class PowerTimeline:
    """Average power per bin: ``t_s`` bin start times (s), ``bin_s`` bin width (s), ``watts``
    by component (:data:`~npusim.power.energy.COMPONENTS`, static and clock included) and
    ``total_w`` their sum; ``resolved`` is False when the run recorded no intervals."""

    t_s: Array
    bin_s: float
    watts: dict[str, Array]
    total_w: Array
    resolved: bool


def _channel_name(t: TileReport, channel: str) -> str:
    return f"{_PREFIX[t.kind]} ({t.col},{t.row}) {channel}"


def _unit_energies(report: Report, config: NPUConfig, energy: dict[str, float]) -> list[tuple[str, str, float]]:
    """(unit name, component, joules) for every component a unit's activity carries."""
    p = operating_power(config)
    out: list[tuple[str, str, float]] = []
    cores = [t for t in report.tiles if t.core is not None]
    busy = sum(t.core.busy for t in cores if t.core is not None)
    mm2s = sum(c.bytes for t in report.tiles for c in t.channels if c.channel.startswith("mm2s"))
    shim = sum(c.bytes for t in report.tiles if t.kind == "shim" for c in t.channels)
    for t in report.tiles:
        if t.core is not None and busy:
            out += [(f"core ({t.col},{t.row})", c, energy[c] * t.core.busy / busy)
                    for c in ("macs", "vector", "data_memory")]
        for ch in t.channels:
            name, reads = _channel_name(t, ch.channel), ch.channel.startswith("mm2s")
            mem = {"compute": ("dma_memory", p.data_memory), "mem": ("mem_tile", p.mem_tile_memory)}.get(t.kind)
            if mem is not None:
                pj = mem[1].read_pj_per_byte if reads else mem[1].write_pj_per_byte
                out.append((name, mem[0], ch.bytes * pj * PJ))
            if reads and mm2s:
                out.append((name, "stream", energy["stream"] * ch.bytes / mm2s))
            if t.kind == "shim" and shim:
                out.append((name, "ddr", energy["ddr"] * ch.bytes / shim))
        out += _clock(t, config)
    return out


def _clock(t: TileReport, config: NPUConfig) -> list[tuple[str, str, float]]:
    units = ([(t.core.busy, f"core ({t.col},{t.row})")] if t.core is not None else [])
    units += [(c.busy, _channel_name(t, c.channel)) for c in t.channels]
    cycles = active_cycles(t.core.busy if t.core else None, [c.busy for c in t.channels])
    if not units or not cycles:
        return []
    watts = float(getattr(operating_power(config).clock_w, t.kind))
    return [(max(units)[1], "clock", cycles * watts * config.seconds_per_cycle)]


def _binned(spans: Iterable[tuple[Array, Array, float]], edges: Array) -> Array:
    """Energy per bin of intervals ``(starts, ends, joules per cycle)``, each spread evenly."""
    parts = list(spans)
    if not parts:
        return np.zeros(len(edges) - 1)
    x = np.concatenate([np.concatenate([s, e]) for s, e, _ in parts])
    d = np.concatenate([np.concatenate([np.full(len(s), w), np.full(len(e), -w)]) for s, e, w in parts])
    order = np.argsort(x, kind="stable")
    x, slope = x[order], np.cumsum(d[order])
    g = np.concatenate([[0.0], np.cumsum(slope[:-1] * np.diff(x))])
    return np.diff(np.interp(edges, x, g))


def power_timeline(report: Report, config: NPUConfig, bins: int = 200) -> PowerTimeline:
    """The run's power in ``bins`` equal time bins (fewer if the run has fewer cycles)."""
    if bins < 1:
        raise ValueError(f"power_timeline: bins must be at least 1, got {bins}")
    cycles = report.cycles
    n = max(1, min(bins, cycles))
    edges = np.linspace(0.0, float(cycles), n + 1)
    bin_s = cycles / n * config.seconds_per_cycle
    energy = run_energy(report, config)
    spans: dict[str, list[tuple[Array, Array, float]]] = {c: [] for c in COMPONENTS}
    spread = dict(energy)
    if report.intervals is not None:
        by_unit: dict[str, list[tuple[int, int]]] = {}
        for s, e, unit, state in report.intervals:
            if state == "busy":
                by_unit.setdefault(unit, []).append((s, e))
        for unit, comp, joules in _unit_energies(report, config, energy):
            iv = np.asarray(by_unit.get(unit, ()), dtype=float).reshape(-1, 2)
            length = float((iv[:, 1] - iv[:, 0]).sum())
            if joules and length:
                spans[comp].append((iv[:, 0], iv[:, 1], joules / length))
                spread[comp] -= joules
    watts = {}
    for comp in COMPONENTS:
        even = max(spread[comp], 0.0) * (np.diff(edges) / cycles if cycles else np.zeros(n))
        watts[comp] = (_binned(spans[comp], edges) + even) / bin_s if bin_s else np.zeros(n)
    total = np.sum([watts[c] for c in COMPONENTS], axis=0)
    return PowerTimeline(edges[:-1] * config.seconds_per_cycle, bin_s, watts, total, report.intervals is not None)
