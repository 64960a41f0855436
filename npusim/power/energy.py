"""Energy = counted actions x the config's energy table (docs/model/power.md).

Pure functions of a :class:`~npusim.stats.Report` (its :class:`~npusim.stats.actions.ActionCounts`)
and a :class:`~npusim.config.PowerSpec`; nothing here touches SimPy or a hardware unit. The
equations, all energies in joules (pJ figures x 1e-12):

- ``macs``        = sum over types t of MACs[t] x mac_pj[t]
- ``vector``      = sum over t of vector elements[t] x vector_pj_per_element[t]
- ``data_memory`` = kernel bytes read x data_memory.read + written x data_memory.write
- ``dma_memory``  = compute-tile MM2S bytes x data_memory.read + S2MM bytes x data_memory.write
- ``mem_tile``    = memory-tile MM2S bytes x mem_tile_memory.read + S2MM bytes x .write
- ``stream``      = sum over routes of bytes x switches of the route's tree x stream_hop_pj_per_byte
- ``ddr``         = DDR bytes accessed x ddr_pj_per_byte
- ``locks``       = lock acquires and releases x lock_op_pj
- ``clock``       = sum over tiles of active cycles x clock_w[kind] x seconds per cycle
- ``static``      = sum over the array's tiles of static_w[kind] x the run's seconds

Average power is energy / seconds; the NPU's own power leaves the DDR component out (published
NPU power figures are rail readings without the DRAM); TOPS/W is ops / energy / 1e12. The table
is priced at the config's clock by :mod:`npusim.power.voltage`.
"""
from __future__ import annotations

from ..config import NPUConfig, PowerSpec, TileWattsSpec
from ..stats.actions import ActionCounts
from ..stats.report import Report
from .voltage import operating_power

COMPONENTS = ("macs", "vector", "data_memory", "dma_memory", "mem_tile", "stream", "ddr", "locks", "clock", "static")
"""Energy components, in report order."""
MOVEMENT = ("dma_memory", "mem_tile", "stream", "ddr")
"""The components that move data between memories (booked under ``data movement`` in a
workload's per-operator summary); the rest is spent where the work is done."""
NOT_NPU = ("ddr",)
"""The components spent outside the NPU (the DRAM, its interface and the SoC's memory path): left
out of ``npu_power_w``."""
PJ = 1e-12


def _priced(counts: dict[str, int], table: dict[str, float], field: str) -> float:
    missing = sorted(t for t, n in counts.items() if n and t not in table)
    if missing:
        raise ValueError(f"the run counted {field} actions in {', '.join(missing)} but config power.{field} has "
                         f"no figure for {'it' if len(missing) == 1 else 'them'}; add power.{field}.{missing[0]}")
    return sum(n * table.get(t, 0.0) for t, n in counts.items()) * PJ


def _watts(counts: dict[str, int], spec: TileWattsSpec) -> float:
    return sum(n * float(getattr(spec, kind)) for kind, n in counts.items())


def energy_by_component(actions: ActionCounts, power: PowerSpec, seconds: float,
                        seconds_per_cycle: float) -> dict[str, float]:
    """Joules by component (:data:`COMPONENTS`, all present) for ``actions`` priced by ``power``
    over a run of ``seconds``."""
    a, dm, mt = actions, power.data_memory, power.mem_tile_memory
    return {
        "macs": _priced(a.macs, {str(t): e for t, e in power.mac_pj.items()}, "mac_pj"),
        "vector": _priced(a.vector_elements, {str(t): e for t, e in power.vector_pj_per_element.items()},
                          "vector_pj_per_element"),
        "data_memory": (a.data_memory_read_bytes * dm.read_pj_per_byte
                        + a.data_memory_write_bytes * dm.write_pj_per_byte) * PJ,
        "dma_memory": (a.dma_memory_read_bytes * dm.read_pj_per_byte
                       + a.dma_memory_write_bytes * dm.write_pj_per_byte) * PJ,
        "mem_tile": (a.mem_tile_read_bytes * mt.read_pj_per_byte + a.mem_tile_write_bytes * mt.write_pj_per_byte) * PJ,
        "stream": a.stream_byte_switches * power.stream_hop_pj_per_byte * PJ,
        "ddr": a.ddr_bytes * power.ddr_pj_per_byte * PJ,
        "locks": a.lock_operations * power.lock_op_pj * PJ,
        "clock": _watts(a.active_cycles, power.clock_w) * seconds_per_cycle,
        "static": _watts(a.tiles, power.static_w) * seconds,
    }


def run_energy(report: Report, config: NPUConfig) -> dict[str, float]:
    """Joules by component of ``report``'s counted actions, priced at the config's clock
    (:func:`~npusim.power.voltage.operating_power`)."""
    return energy_by_component(report.actions, operating_power(config), report.seconds, config.seconds_per_cycle)
