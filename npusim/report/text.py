"""The text report: what `npusim run` prints by default."""
from __future__ import annotations

from ..stats.report import Report

_KIND = {"shim": "shim", "mem": "mem tile", "compute": "compute"}


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return [fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]


def format_report(report: Report) -> str:
    """Render a report as aligned text tables."""
    cyc = report.cycles
    out = [
        f"program  {report.program}",
        f"config   {report.config} @ {report.clock_mhz:g} MHz",
        f"total    {cyc:,} cycles = {report.seconds * 1e6:,.3f} us",
        "",
    ]
    cores = [t for t in report.tiles if t.core is not None]
    if cores:
        rows = []
        for t in cores:
            c = t.core
            assert c is not None
            rows.append([f"({t.col},{t.row})", f"{c.busy:,}", _pct(c.busy, cyc), f"{c.lock_stall:,}",
                         f"{c.dma_stall:,}", f"{c.idle:,}", f"{c.kernel_calls:,}"])
        out += ["cores"] + _table(["tile", "busy", "busy%", "lock stall", "dma stall", "idle", "calls"], rows) + [""]
    rows = []
    for t in report.tiles:
        for ch in t.channels:
            rows.append([f"({t.col},{t.row}) {_KIND[t.kind]}", ch.channel, f"{ch.bytes:,}", f"{ch.bds:,}",
                         f"{ch.busy:,}", _pct(ch.busy, cyc), f"{ch.stream_stall:,}", f"{ch.lock_stall:,}"])
    if rows:
        out += ["dma channels"] + _table(
            ["tile", "channel", "bytes", "bds", "busy", "busy%", "stream stall", "lock stall"], rows) + [""]
    if report.routes:
        rows = [[r.name, f"{r.bytes:,}", f"{r.busy:,}", ",".join(map(str, r.switches))] for r in report.routes]
        out += ["routes"] + _table(["route", "bytes", "busy", "switches"], rows) + [""]
    d = report.ddr
    waste = d.bytes_accessed - d.bytes_read - d.bytes_written
    wasted = f" (+{waste:,} B in partly used accesses)" if waste else ""
    out.append(f"ddr      read {d.bytes_read:,} B, written {d.bytes_written:,} B{wasted}, busy {d.busy_cycles:,} "
               f"cycles, average {d.bandwidth_gb_per_s:.2f} GB/s of {d.peak_gb_per_s:.2f} GB/s")
    return "\n".join(out)
