"""The text report: what `npusim run` prints by default."""
from __future__ import annotations

from ..runner import WorkloadReport
from ..stats.report import Report
from .power_text import format_energy, format_workload_energy, joules

_KIND = {"shim": "shim", "mem": "mem tile", "compute": "compute"}


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """Aligned columns: the first ``left`` columns flush left, the rest flush right."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i >= left else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

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
    out += format_energy(report)
    if report.ops or report.lowering is not None:
        out += format_layer_lines(report)
    out.append(_speed(report.wall_seconds, report.cycles, report.engine_events, report.hardware_events))
    return "\n".join(out)


def _speed(wall: float, cycles: int, engine_events: int, hardware_events: int) -> str:
    return (f"run      {wall:.2f} s wall, {hardware_events:,} hardware events ({engine_events:,} engine events), "
            f"{cycles / wall if wall else 0:,.0f} cycles/s")


def format_layer_lines(report: Report) -> list[str]:
    """The lines a layer's report adds: operations and rate, the lowering, the functional check."""
    out = [f"ops      {report.ops:,} -> {report.achieved_tops:.3f} TOPS achieved of {report.peak_tops:.3f} peak "
           f"({_pct(report.achieved_tops, report.peak_tops).strip()})"]
    low = report.lowering
    if low is not None:
        t, exp = low["tiles"], low["expected_cycles"]
        out.append(f"lowering {low['layer']}: tiles m={t['m']} k={t['k']} n={t['n']}, "
                   f"{low['kernel_calls_per_core']:,} kernel calls per core; expected compute {exp['compute']:,} / "
                   f"DDR {exp['ddr']:,} / stream {exp['stream']:,} cycles ({low['bound']}-bound)")
    if report.functional_ok is not None:
        verdict = "matches numpy" if report.functional_ok else "DOES NOT match numpy"
        out.append(f"check    functional: output {verdict} (max abs error {report.max_abs_error:g})")
    return out


def format_workload(wr: WorkloadReport) -> str:
    """A workload's per-layer table and its totals."""
    functional = wr.functional_ok is not None
    header = ["#", "layer", "shape", "tiles", "count", "cycles", "time us", "TOPS", "bound"]
    if functional:
        header.append("check")
    rows = []
    for i, (r, n) in enumerate(zip(wr.layers, wr.counts)):
        low = r.lowering or {}
        t = low.get("tiles", {})
        shape = str(low.get("layer", ""))
        tiles = "x".join(map(str, low["block"])) if "block" in low else f"{t.get('m')}x{t.get('k')}x{t.get('n')}"
        if wr.group(i) is not None:
            shape, tiles = f"fused: {len(low.get('members', []))} layers ({low.get('kind')})", (
                f"{t.get('m')}x{t.get('k')}x{t.get('n')}" if t else "per layer")
        row = [str(i), r.program, shape.split(" ", 1)[-1] if shape.startswith(("gemm", "conv2d")) else shape,
               tiles, str(n), f"{r.cycles:,}", f"{r.seconds * 1e6:,.1f}",
               f"{r.achieved_tops:.2f}" if r.ops else "-", str(low.get("bound", ""))]
        if functional:
            row.append("ok" if r.functional_ok else "FAIL")
        rows.append(row)
    out = [f"workload {wr.workload} on {wr.config}", ""] + _table(header, rows, left=4) + [""]
    runs = sum(n * (len(g.layers) if g is not None else 1) for n, g in zip(wr.counts, map(wr.group, range(len(wr.layers)))))
    out.append(f"total    {wr.cycles:,} cycles = {wr.array_seconds * 1e6:,.1f} us over {runs} layer runs; "
               f"{wr.ops:,} ops -> {wr.achieved_tops:.3f} TOPS of {wr.peak_tops:.3f} peak")
    out += format_dispatch(wr)
    out += format_groups(wr)
    out += format_workload_energy(wr)
    if functional:
        out.append(f"check    functional: {'every layer matches numpy' if wr.functional_ok else 'MISMATCH'} "
                   f"(max abs error {wr.max_abs_error:g})")
    out.append(_speed(sum(r.wall_seconds for r in wr.layers), sum(r.cycles for r in wr.layers),
                      sum(r.engine_events for r in wr.layers), sum(r.hardware_events for r in wr.layers)))
    return "\n".join(out + [""] + format_operators(wr))


def format_groups(wr: WorkloadReport) -> list[str]:
    """One line per fused group: its layers, the bytes it kept on chip, the DDR bytes and cycles
    against its layers run one by one."""
    out = []
    for i, r in enumerate(wr.layers):
        g = wr.group(i)
        if g is not None:
            kind = str((r.lowering or {}).get("kind", "fused"))
            out.append(f"fused    #{i} ({kind}): {', '.join(g.layers)}; {g.on_chip_bytes:,} B kept on chip, "
                       f"{g.ddr_saved_bytes:,} B less DDR, {r.cycles:,} cycles against {g.unfused_cycles:,} one by one")
    return out


def format_dispatch(wr: WorkloadReport) -> list[str]:
    """The dispatch line (host and command processor around the array's time) and the DDR totals."""
    d = wr.ddr
    return [f"dispatch {wr.dispatches:,} dispatches, {wr.reconfigurations:,} reconfigurations: "
            f"{wr.dispatch_seconds * 1e6:,.1f} us, {_pct(wr.dispatch_seconds, wr.seconds).strip()} of "
            f"{wr.seconds * 1e6:,.1f} us end to end",
            f"ddr      read {d['bytes_read']:,} B, written {d['bytes_written']:,} B, accessed {d['bytes_accessed']:,} B"]


def format_operators(wr: WorkloadReport) -> list[str]:
    """The per-operator-type summary: where the workload's time went."""
    us_per_cycle = wr.array_seconds * 1e6 / wr.cycles if wr.cycles else 0.0
    energy = wr.energy_j is not None
    rows = [[o.operator, str(o.layers) if o.layers else "-", f"{o.cycles:,}", f"{o.cycles * us_per_cycle:,.1f}",
             _pct(o.cycles, wr.cycles)] + ([joules(o.energy_j), _pct(o.energy_share, 1.0)] if energy else [])
            for o in wr.operators()]
    return (["time by operator type (each layer: its busiest core computing; the rest of its run, data movement)"
             + (" and energy (moving data between memories: data movement)" if energy else "")]
            + _table(["operator", "layers", "cycles", "time us", "share"] + ["energy", "share"] * energy, rows))
