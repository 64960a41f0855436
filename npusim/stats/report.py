"""Report: what a run condenses into (cycles, time, per tile and channel, routes, DDR).

Frozen and plain: views (text, JSON, plots) read it and never touch SimPy.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..config import NPUConfig
from ..hw.timing import ddr_bytes_per_cycle
from .actions import ActionCounts, count_actions
from .recorder import ChannelStats, Recorder

if TYPE_CHECKING:
    import pandas as pd

Tile = tuple[int, int]


@dataclass(frozen=True, slots=True)
class CoreReport:
    """Cycles of a core: computing (and lock operations), stalled on a lock released by another
    core, stalled on a lock released by a DMA (waiting for data movement), and idle."""

    busy: int
    lock_stall: int
    dma_stall: int
    idle: int
    kernel_calls: int
    macs: int


@dataclass(frozen=True, slots=True)
class ChannelReport:
    """A DMA channel: bytes and BDs moved; cycles moving data (busy), waiting for the other end
    of its route (stream_stall) and waiting for a BD's lock (lock_stall)."""

    channel: str
    bytes: int
    bds: int
    busy: int
    stream_stall: int
    lock_stall: int


@dataclass(frozen=True, slots=True)
class TileReport:
    col: int
    row: int
    kind: str
    core: CoreReport | None
    channels: tuple[ChannelReport, ...]
    lock_operations: int = 0
    """Acquires plus releases of the locks that live in this tile (by cores and DMA channels)."""


@dataclass(frozen=True, slots=True)
class RouteReport:
    name: str
    bytes: int
    busy: int
    switches: tuple[int, ...]
    """Per destination: stream switches its data crosses, source and destination included."""
    tree_switches: int = 0
    """Stream switches the route's tree holds (a broadcast's shared trunk counted once): every byte
    sent crosses each of them once."""


@dataclass(frozen=True, slots=True)
class DdrReport:
    bytes_read: int
    bytes_written: int
    bytes_accessed: int
    """DDR bandwidth used: read + written bytes, each contiguous run rounded up to whole accesses."""
    busy_cycles: int
    bandwidth_gb_per_s: float
    """Average over the whole run: (read + written bytes) / seconds / 1e9."""
    peak_gb_per_s: float


@dataclass(frozen=True, slots=True)
class Report:
    config: str
    program: str
    clock_mhz: float
    cycles: int
    seconds: float
    tiles: tuple[TileReport, ...]
    routes: tuple[RouteReport, ...]
    ddr: DdrReport
    engine_events: int
    ops: int
    """Operations done: two per useful multiply-accumulate (padding excluded for a layer)."""
    achieved_tops: float
    """``ops`` / seconds / 1e12."""
    peak_tops: float
    """The array's peak for the data type: 2 x compute tiles x macs_per_cycle x clock (0 if nothing
    was computed)."""
    functional_ok: bool | None = None
    """Functional mode: whether the output equals numpy's (None in timing-only mode)."""
    max_abs_error: float | None = None
    """Functional mode: the largest absolute difference from numpy's output."""
    lowering: dict[str, Any] | None = None
    """For a lowered layer: the layer, its tiling and the bounds the lowering expected."""
    hardware_events: int = 0
    """Kernel calls, lock acquires and releases, BDs and shim tasks, route segments simulated
    (``engine_events`` counts what the engine scheduled; it merges many of these)."""
    wall_seconds: float = 0.0
    """Wall-clock seconds the run took (lowering, verification, build and simulation)."""
    intervals: tuple[tuple[int, int, str, str], ...] | None = field(default=None, repr=False, compare=False)
    """When the run recorded them (``RunOptions.record_intervals``): every (start cycle, end cycle,
    unit, state) of the cores (``busy``, ``lock_stall``, ``dma_stall``) and DMA channels
    (``busy``), for timelines. Not part of ``to_dict``."""
    actions: ActionCounts = field(default_factory=ActionCounts)
    """The actions the power model prices (:mod:`npusim.stats.actions`)."""
    energy_j: float | None = None
    """Energy of the run in joules (:mod:`npusim.power`); None until the power model has run."""
    energy_by_component: dict[str, float] | None = None
    """Joules by component: ``macs``, ``vector``, ``data_memory``, ``dma_memory``, ``mem_tile``,
    ``stream``, ``ddr``, ``locks``, ``clock``, ``static`` (all present, in this order)."""
    average_power_w: float | None = None
    """``energy_j`` / ``seconds``: the NPU and the DRAM traffic it causes."""
    npu_power_w: float | None = None
    """The NPU alone: ``energy_j`` without its ``ddr`` component, over ``seconds``. Published NPU
    power figures are rail readings that leave the DRAM out; compare with this one."""
    peak_power_w: float | None = None
    """The highest average power over a window of ``peak_power_window_s`` (1/200 of the run, at
    least one cycle) in the power timeline; None when the run recorded no intervals (the timeline
    would be flat: nothing says when the energy was spent)."""
    peak_power_window_s: float | None = None
    tops_per_watt: float | None = None
    """``ops`` per joule / 1e12 (= achieved TOPS / average W)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with stable keys (see docs/reports.md); without the intervals."""
        out = asdict(replace(self, intervals=None))
        del out["intervals"]
        return out

    def to_dataframe(self, table: str = "tiles") -> "pd.DataFrame":
        """One of the report's tables as a pandas DataFrame (columns in :mod:`npusim.stats.tables`):
        ``tiles`` (one row per tile), ``channels`` (per DMA channel), ``routes``, ``energy`` (per
        component)."""
        from .tables import report_table

        return report_table(self, table)


def _tile_report(tile: Tile, config: NPUConfig, rec: Recorder, cycles: int,
                 channels: list[tuple[str, ChannelStats]]) -> TileReport:
    """One tile's report; ``channels`` are its DMA channels' stats (by name)."""
    core = None
    if tile in rec.cores:
        s = rec.cores[tile]
        idle = cycles - s.busy - s.lock_stall - s.dma_stall
        core = CoreReport(s.busy, s.lock_stall, s.dma_stall, idle, s.calls, s.macs)
    chans = [ChannelReport(name, c.bytes, c.bds, c.active - c.stream_stall, c.stream_stall, c.lock_stall)
             for name, c in sorted(channels, key=lambda nc: (nc[0][:4], int(nc[0][4:])))]
    return TileReport(tile[0], tile[1], config.tile_kind(tile[1]), core, tuple(chans),
                      rec.lock_operations.get(tile, 0))


def _channels_by_tile(rec: Recorder) -> dict[Tile, list[tuple[str, ChannelStats]]]:
    """Every tile's DMA channels, in one pass over the recorder (report building stays linear in
    the array's size: a pass over all channels per tile took hours at 10,000 columns)."""
    out: dict[Tile, list[tuple[str, ChannelStats]]] = {}
    for (tile, name), stats in rec.channels.items():
        out.setdefault(tile, []).append((name, stats))
    return out


def peak_tops(config: NPUConfig, dtype: str | None) -> float:
    """Peak tera-operations per second of the array in operand types ``dtype`` (``int8``, or ``AxB``;
    0 if no kernel has them)."""
    macs = config.compute_tile.peak_macs_per_cycle(dtype) if dtype is not None else 0
    return 2 * config.columns * config.compute_rows * macs * config.clock_mhz * 1e6 / 1e12


def make_report(rec: Recorder, config: NPUConfig, program_name: str, *, ops: int | None = None,
                dtype: str | None = None, functional: tuple[bool, float] | None = None,
                lowering: dict[str, Any] | None = None, tree_switches: Mapping[str, int] | None = None) -> Report:
    """Condense a recorder into a :class:`Report`. ``ops`` defaults to two per MAC computed;
    ``dtype`` names the data type whose peak is reported; ``functional`` is (ok, max error);
    ``tree_switches`` the stream switches each route's tree holds (from the verified layout;
    without it, a route's largest per-destination count)."""
    by_tile = _channels_by_tile(rec)
    tiles = sorted(set(rec.cores) | set(by_tile), key=lambda t: (t[0], t[1]))
    seconds = rec.cycles * config.seconds_per_cycle
    d = rec.ddr
    moved = d.bytes_read + d.bytes_written
    ddr = DdrReport(d.bytes_read, d.bytes_written, d.bytes_accessed, d.busy,
                    moved / seconds / 1e9 if seconds else 0.0,
                    ddr_bytes_per_cycle(config.ddr, config.clock_mhz) * config.clock_mhz * 1e6 / 1e9)
    trees = {n: (tree_switches or {}).get(n, max(r.switches, default=0)) for n, r in rec.routes.items()}
    routes = tuple(RouteReport(n, r.bytes, r.busy, r.switches, trees[n]) for n, r in rec.routes.items())
    if ops is None:
        ops = 2 * sum(c.macs for c in rec.cores.values())
    ok, err = functional if functional is not None else (None, None)
    return Report(config.name, program_name, config.clock_mhz, rec.cycles, seconds,
                  tuple(_tile_report(t, config, rec, rec.cycles, by_tile.get(t, [])) for t in tiles), routes, ddr,
                  rec.events,
                  ops, ops / seconds / 1e12 if seconds else 0.0, peak_tops(config, dtype), ok, err, lowering,
                  rec.hardware_events, rec.wall_seconds,
                  tuple(rec.intervals) if rec.intervals is not None else None, count_actions(rec, config, trees))
