"""Voltage-frequency scaling: the energy table at the config's clock.

The energy table (``config.power``) states its figures at one operating point, the clock
``power.voltage.reference_clock_mhz`` and the voltage ``Vref`` the curve gives there. At the
config's clock, with ``V`` the curve's voltage at that clock and ``f``, ``fref`` the clocks:

- every energy per action switched on the array's rail (MACs, vector elements, data-memory,
  memory-tile, stream and lock figures) is ``C V^2``: scaled by ``(V / Vref)^2``;
- clock-tree power is ``C V^2 f``: ``clock_w`` x ``(f / fref) x (V / Vref)^2``, so its energy per
  active cycle scales with ``(V / Vref)^2`` alone;
- leakage power is taken as proportional to ``V`` (first order): ``static_w`` x ``V / Vref``, and
  its energy grows with the run's time;
- DDR energy is spent in the DRAM, its interface and the SoC's memory path, on other rails:
  unscaled.

So a faster clock at a higher voltage costs more energy per operation, as on silicon; without a
``voltage`` section the table is used as it is. The invariant: at the reference clock the scaled
table equals the table.
"""
from __future__ import annotations

from ..config import NPUConfig, PowerSpec, TileWattsSpec, VoltageSpec


def volts_at(voltage: VoltageSpec, clock_mhz: float) -> float:
    """The curve's voltage at ``clock_mhz``: linear between points; the lowest point's voltage
    below it; the top segment's slope above the highest point (one point: that voltage)."""
    pts = voltage.points
    if len(pts) == 1 or clock_mhz <= pts[0].clock_mhz:
        return pts[0].volts
    lo, hi = next(((a, b) for a, b in zip(pts, pts[1:]) if clock_mhz <= b.clock_mhz), (pts[-2], pts[-1]))
    slope = (hi.volts - lo.volts) / (hi.clock_mhz - lo.clock_mhz)
    return lo.volts + slope * (clock_mhz - lo.clock_mhz)


def voltage_ratio(power: PowerSpec, clock_mhz: float) -> float:
    """``V / Vref`` at ``clock_mhz`` (1 without a voltage section)."""
    if power.voltage is None:
        return 1.0
    return volts_at(power.voltage, clock_mhz) / volts_at(power.voltage, power.voltage.reference_clock_mhz)


def _times(watts: TileWattsSpec, factor: float) -> TileWattsSpec:
    return TileWattsSpec(compute=watts.compute * factor, mem=watts.mem * factor, shim=watts.shim * factor)


def scaled_power(power: PowerSpec, clock_mhz: float) -> PowerSpec:
    """The energy table at ``clock_mhz``, by the rules of this module."""
    if power.voltage is None:
        return power
    r = voltage_ratio(power, clock_mhz)
    dyn = r * r
    mem = {"read_pj_per_byte": 0.0, "write_pj_per_byte": 0.0}
    return power.model_copy(update={
        "mac_pj": {t: e * dyn for t, e in power.mac_pj.items()},
        "vector_pj_per_element": {t: e * dyn for t, e in power.vector_pj_per_element.items()},
        "data_memory": power.data_memory.model_copy(update={k: getattr(power.data_memory, k) * dyn for k in mem}),
        "mem_tile_memory": power.mem_tile_memory.model_copy(
            update={k: getattr(power.mem_tile_memory, k) * dyn for k in mem}),
        "stream_hop_pj_per_byte": power.stream_hop_pj_per_byte * dyn,
        "lock_op_pj": power.lock_op_pj * dyn,
        "static_w": _times(power.static_w, r),
        "clock_w": _times(power.clock_w, clock_mhz / power.voltage.reference_clock_mhz * dyn),
    })


def operating_power(config: NPUConfig) -> PowerSpec:
    """The config's energy table at the config's own clock (what every energy is priced with)."""
    return scaled_power(config.power, config.clock_mhz)
