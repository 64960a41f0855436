"""The energy and power lines of the text report."""
from __future__ import annotations

from ..runner import WorkloadReport
from ..stats.report import Report

_NAMES = {"macs": "MACs", "vector": "vector unit", "data_memory": "data memory (kernels)",
          "dma_memory": "data memory (DMA)", "mem_tile": "memory tile", "stream": "streams", "ddr": "DDR",
          "locks": "locks", "clock": "clock trees", "static": "static (leakage)"}


def joules(e: float) -> str:
    """An energy with a readable unit: 12.3 nJ, 4.56 uJ, 7.89 mJ, 1.23 J."""
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6)):
        if abs(e) >= scale:
            return f"{e / scale:,.3f} {unit}"
    return f"{e / 1e-9:,.3f} nJ"


def _seconds(s: float) -> str:
    return f"{s * 1e6:,.3f} us" if s >= 1e-6 else f"{s * 1e9:,.1f} ns"


def power_line(average: float | None, npu: float | None, peak: float | None, window: float | None,
               tops_per_watt: float | None) -> str:
    """``power    average X W (NPU alone N W, DRAM excluded), peak Y W (...), Z TOPS/W``."""
    if peak is None:
        peak_text = "peak - (needs the intervals: --intervals, or RunOptions(record_intervals=True))"
    else:
        peak_text = f"peak {peak:.3f} W" + (f" (highest {_seconds(window)} window)" if window else "")
    return (f"power    average {average or 0.0:.3f} W (NPU alone {npu or 0.0:.3f} W, DRAM excluded), {peak_text}, "
            f"{tops_per_watt or 0.0:.3f} TOPS/W")


def energy_table(parts: dict[str, float], seconds: float) -> list[str]:
    """Rows ``component, energy, share, average W`` and a total."""
    from .text import _pct, _table

    total = sum(parts.values())
    rows = [[_NAMES.get(c, c), joules(e), _pct(e, total), f"{e / seconds if seconds else 0.0:.3f}"]
            for c, e in parts.items()]
    rows.append(["total", joules(total), _pct(total, total), f"{total / seconds if seconds else 0.0:.3f}"])
    return ["energy by component"] + _table(["component", "energy", "share", "average W"], rows)


def format_energy(report: Report) -> list[str]:
    """The report's energy table and power line (nothing before the power model has run)."""
    if report.energy_by_component is None:
        return []
    return [""] + energy_table(report.energy_by_component, report.seconds) + [
        power_line(report.average_power_w, report.npu_power_w, report.peak_power_w, report.peak_power_window_s,
                   report.tops_per_watt)]


def format_workload_energy(wr: WorkloadReport) -> list[str]:
    """A workload's energy total and power line."""
    if wr.energy_j is None:
        return []
    return [f"energy   {joules(wr.energy_j)} over the workload",
            power_line(wr.average_power_w, wr.npu_power_w, wr.peak_power_w, None, wr.tops_per_watt)
            .replace("peak ", "peak (highest layer) ", 1 if wr.peak_power_w is not None else 0)]
