"""The power model (docs/model/power.md): energy from a Report's counted actions and the config's energy
table at the config's clock; average power, the NPU's own power (DRAM excluded), peak power, TOPS/W, and
power over time.

>>> from npusim.power import attach_power, power_timeline
>>> report = attach_power(report, config)        # fills energy_j, average_power_w, peak_power_w, ...
>>> tl = power_timeline(report, config, bins=200)  # tl.t_s, tl.bin_s, tl.watts[component], tl.total_w
"""
from __future__ import annotations

from dataclasses import replace

from ..config import NPUConfig
from ..stats.report import Report
from .energy import COMPONENTS, MOVEMENT, NOT_NPU, energy_by_component, run_energy
from .timeline import PowerTimeline, power_timeline
from .voltage import operating_power, scaled_power, volts_at, voltage_ratio

PEAK_BINS = 200
"""Peak power is the highest average over 1/``PEAK_BINS`` of the run (at least one cycle)."""


def attach_power(report: Report, config: NPUConfig) -> Report:
    """``report`` with its energy, average power, the NPU's own power (DRAM excluded), peak power
    and TOPS/W filled in. Peak power needs the run's intervals
    (``RunOptions(record_intervals=True)``); without them it stays None."""
    energy = run_energy(report, config)
    total = sum(energy.values())
    npu = total - sum(energy[c] for c in NOT_NPU)
    peak = window = None
    if report.intervals is not None and report.cycles:
        tl = power_timeline(report, config, PEAK_BINS)
        peak, window = float(tl.total_w.max()), tl.bin_s
    return replace(report, energy_j=total, energy_by_component=energy,
                   average_power_w=total / report.seconds if report.seconds else 0.0,
                   npu_power_w=npu / report.seconds if report.seconds else 0.0,
                   peak_power_w=peak, peak_power_window_s=window,
                   tops_per_watt=report.ops / total / 1e12 if total else 0.0)


__all__ = ["COMPONENTS", "MOVEMENT", "NOT_NPU", "PEAK_BINS", "PowerTimeline", "attach_power", "energy_by_component",
           "operating_power", "power_timeline", "run_energy", "scaled_power", "volts_at", "voltage_ratio"]
