"""Simulate every published case of the validation table and compare with the published figure.

    .venv/bin/python validation/run.py [--table validation/cases.yaml] [--plot validation/validation.png]
                                       [--only ID ...] [--markdown]

Each case runs on the shipped config of its device (``configs/<device>.yaml``) at the clock of
its publication, with the case's own ``overrides``. Prints, per case, the published and the
simulated figure and the error in percent ((simulated - published) / published), marks the cases
outside the table's tolerance, prints the explanation the table gives for each of them, and writes
a log-log plot of simulated against published. Exit code 0 when every case is within the
tolerance or explained, 1 otherwise (2 for a bad table).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `validation` and `npusim` importable
    sys.path.insert(0, str(ROOT))

from npusim import Gemm, NPUConfig, RunOptions, load_config, run_layer, simulate  # noqa: E402
from npusim.config import ConfigError  # noqa: E402
from npusim.isa import program_from_dict  # noqa: E402
from npusim.output import OutputError, save_figure, write_text  # noqa: E402
from validation.table import Case, GemmWorkload, KernelWorkload, StreamWorkload, Table, load_table  # noqa: E402

TABLE = ROOT / "validation" / "cases.yaml"
PLOT = ROOT / "validation" / "validation.png"
RESULTS = ROOT / "validation" / "results.json"
UNITS = {"macs_per_cycle": "MACs/cycle", "cycles": "cycles", "tops": "TOPS"}


@dataclass(frozen=True, slots=True)
class Result:
    """A case and what npusim made of it."""

    case: Case
    simulated: float
    tolerance_pct: float
    wait_pct: float | None = None
    """Whole-array cases: the cores' mean share of the run spent waiting on a lock (for data a DMA
    or another core has not delivered yet): it comes out of the simulation, no term sets it."""

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.simulated - self.case.published) / self.case.published

    @property
    def within(self) -> bool:
        return abs(self.error_pct) <= self.tolerance_pct

    @property
    def status(self) -> str:
        if self.within:
            return "ok"
        return "explained" if self.case.explanation else "MISSED"


def case_config(case: Case) -> NPUConfig:
    """The shipped config of the case's device, at the publication's clock, with its overrides."""
    path = ROOT / "configs" / f"{case.device}.yaml"
    return load_config(path, [f"clock_mhz={case.clock_mhz}", *case.overrides])


def _compute_row(config: NPUConfig) -> int:
    return config.mem_tile_rows + 1


def simulate_kernel(config: NPUConfig, case: Case, w: KernelWorkload) -> int:
    """Cycles of one kernel call on one core, its operands already in L1."""
    compute = {"op": "compute", "m": w.m, "k": w.k, "n": w.n, "dtype": case.dtype}
    program = program_from_dict({"name": case.id, "tiles": [
        {"tile": [0, _compute_row(config)], "core": [compute]}]}, case.id)
    report = simulate(config, program)
    return report.cycles


def simulate_stream(config: NPUConfig, case: Case, w: StreamWorkload) -> int:
    """Cycles the receiving channel of a compute tile is busy with one transfer from its memory tile."""
    row = _compute_row(config)
    program = program_from_dict({"name": case.id, "tiles": [
        {"tile": [0, 1], "buffers": [{"name": "src", "size_bytes": w.bytes}],
         "dma": [{"channel": "mm2s0", "bds": [{"buffer": "src", "length_bytes": w.bytes, "next": "end"}]}]},
        {"tile": [0, row], "buffers": [{"name": "dst", "size_bytes": w.bytes}],
         "dma": [{"channel": "s2mm0", "bds": [{"buffer": "dst", "length_bytes": w.bytes, "next": "end"}]}]},
    ], "routes": [{"name": "feed", "source": {"tile": [0, 1], "channel": "mm2s0"},
                   "destinations": [{"tile": [0, row], "channel": "s2mm0"}]}]}, case.id)
    report = simulate(config, program)
    tile = next(t for t in report.tiles if (t.col, t.row) == (0, row))
    return next(c.busy for c in tile.channels if c.channel == "s2mm0")


def simulate_gemm(config: NPUConfig, case: Case, w: GemmWorkload) -> tuple[float, float]:
    """Achieved TOPS of a whole-array GEMM (ops of the unpadded layer over simulated time), and the
    cores' mean share of cycles stalled on a lock."""
    layer = Gemm(name=case.id, m=w.m, k=w.k, n=w.n, dtype=case.dtype, out_dtype=case.out_dtype)
    report = run_layer(config, layer, RunOptions(), tiles=w.tiles)
    cores = [t.core for t in report.tiles if t.core is not None]
    waits = [(c.lock_stall + c.dma_stall) / report.cycles for c in cores]
    return report.achieved_tops, 100.0 * sum(waits) / len(waits)


def simulate_case(case: Case, tolerance_pct: float) -> Result:
    """The case's metric as npusim simulates it."""
    config = case_config(case)
    w = case.workload
    if isinstance(w, GemmWorkload):
        if case.metric != "tops":
            raise ValueError(f"case '{case.id}': a gemm workload is measured in tops, not {case.metric}")
        tops, wait = simulate_gemm(config, case, w)
        return Result(case, tops, tolerance_pct, wait)
    cycles = simulate_kernel(config, case, w) if isinstance(w, KernelWorkload) else simulate_stream(config, case, w)
    if case.metric == "cycles":
        return Result(case, float(cycles), tolerance_pct)
    if case.metric == "macs_per_cycle" and isinstance(w, KernelWorkload):
        return Result(case, w.m * w.k * w.n / cycles, tolerance_pct)
    raise ValueError(f"case '{case.id}': a {w.kind} workload is measured in cycles or macs_per_cycle, "
                     f"not {case.metric}")


def run_cases(table: Table, only: Sequence[str] = ()) -> list[Result]:
    """Simulate the cases (all, or those whose id is in ``only``)."""
    unknown = sorted(set(only) - {c.id for c in table.cases})
    if unknown:
        raise ValueError(f"no case with id {', '.join(unknown)} in the table")
    return [simulate_case(c, table.tolerance_pct) for c in table.cases if not only or c.id in only]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.4g}"


def _rows(results: Sequence[Result]) -> list[list[str]]:
    return [[str(i), r.case.id, r.case.device, f"{r.case.dtype}->{r.case.out_dtype or r.case.dtype}",
             UNITS[r.case.metric], _fmt(r.case.published), _fmt(r.simulated), f"{r.error_pct:+.1f}",
             "cal" if r.case.calibrates else "", r.status,
             "" if r.wait_pct is None else f"{r.wait_pct:.0f}"] for i, r in enumerate(results, 1)]


HEADER = ["#", "case", "device", "types", "metric", "published", "simulated", "error %", "fit", "status", "lock wait %"]


def format_text(results: Sequence[Result]) -> str:
    """The comparison as an aligned text table, the explanations of the misses, and a summary."""
    rows = [HEADER] + _rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    right = {0, 5, 6, 7, 10}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        if not r.within:
            lines.append(f"\n{r.case.id} ({r.error_pct:+.1f}%): {r.case.explanation or 'NO EXPLANATION IN THE TABLE'}")
    return "\n".join(lines) + "\n\n" + summary(results)


def format_markdown(results: Sequence[Result]) -> str:
    """The comparison as a Markdown table (for docs or an issue)."""
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    return "\n".join(out)


def summary(results: Sequence[Result]) -> str:
    within = sum(r.within for r in results)
    explained = sum(r.status == "explained" for r in results)
    missed = sum(r.status == "MISSED" for r in results)
    tol = results[0].tolerance_pct if results else 0.0
    return (f"{len(results)} cases: {within} within +-{tol:g}%, {explained} outside with an explanation, "
            f"{missed} outside without one")


def place_labels(points: Sequence[tuple[float, float]], texts: Sequence[str], char_px: float = 6.0,
                 height_px: float = 11.0, marker_px: float = 6.0) -> list[tuple[float, float]]:
    """Offsets (display pixels, label centre from its point) that keep every label clear of the
    other labels and of every marker, nearest first: so each number sits on its own point, with a
    leader line where it had to move away. ``points`` are display coordinates."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for (x, y), text in zip(points, texts):
        w, h = char_px * len(text) + 2, height_px
        for radius in (10, 16, 24, 34, 46, 60, 76):
            found = None
            for k in range(16):
                angle = 2 * math.pi * k / 16
                dx, dy = radius * math.cos(angle), radius * math.sin(angle)
                box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
                if not any(_overlap(box, b) for b in placed) and not any(
                        _hits(box, p, marker_px) for p in points):
                    found = (dx, dy, box)
                    break
            if found:
                break
        dx, dy, box = found if found else (radius, 0.0, (x + radius - w / 2, y - h / 2, x + radius + w / 2, y + h / 2))
        placed.append(box)
        out.append((dx, dy))
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _hits(box: tuple[float, float, float, float], p: tuple[float, float], r: float) -> bool:
    return _overlap(box, (p[0] - r, p[1] - r, p[0] + r, p[1] + r))


def plot_figure(results: Sequence[Result]) -> Figure:
    """Log-log scatter of simulated against published, with y = x and the tolerance band, each
    point numbered with its row of the table (the number placed clear of the others)."""
    from matplotlib.figure import Figure

    tol = results[0].tolerance_pct / 100 if results else 0.15
    fig = Figure(figsize=(9, 8), dpi=100)
    ax = fig.add_subplot()
    lo = min(min(r.case.published, r.simulated) for r in results) / 2
    hi = max(max(r.case.published, r.simulated) for r in results) * 2
    xs = [lo, hi]
    ax.plot(xs, xs, color="black", linewidth=1, label="simulated = published")
    ax.fill_between(xs, [x * (1 - tol) for x in xs], [x * (1 + tol) for x in xs], color="tab:green",
                    alpha=0.15, label=f"within ±{tol * 100:g}%")
    for metric, marker in (("macs_per_cycle", "o"), ("cycles", "s"), ("tops", "^")):
        pts = [r for r in results if r.case.metric == metric]
        if pts:
            ax.scatter([r.case.published for r in pts], [r.simulated for r in pts], marker=marker, zorder=3,
                       c=["tab:blue" if r.within else "tab:red" for r in pts])
            ax.scatter([], [], color="gray", marker=marker, label=UNITS[metric])  # legend entry, colour-neutral
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="published",
           ylabel="simulated by npusim", title="npusim against published XDNA / XDNA2 measurements\n"
           "(numbers: rows of validation/run.py's table; red: outside the band)")
    at = [tuple(ax.transData.transform((r.case.published, r.simulated))) for r in results]
    labels = [str(i) for i in range(1, len(results) + 1)]
    px = 72 / fig.dpi
    for r, text, (dx, dy) in zip(results, labels, place_labels(at, labels)):
        far = math.hypot(dx, dy) > 12
        ax.annotate(text, (r.case.published, r.simulated), xytext=(dx * px, dy * px), textcoords="offset points",
                    fontsize=7, ha="center", va="center", gid=f"label-{text}",
                    arrowprops={"arrowstyle": "-", "linewidth": 0.5, "color": "0.4", "shrinkA": 0,
                                "shrinkB": 3} if far else None)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="both", linewidth=0.3)
    return fig


def write_plot(results: Sequence[Result], path: Path) -> None:
    """Write :func:`plot_figure` to ``path`` (whole or not at all)."""
    save_figure(plot_figure(results), path, dpi=130, bbox_inches="tight")


def write_results(results: Sequence[Result], path: Path) -> None:
    """The simulated figures as JSON, for the docs' accuracy page (which joins them to the cases)."""
    rows = [{"id": r.case.id, "simulated": r.simulated, "error_pct": round(r.error_pct, 3), "status": r.status,
             "lock_wait_pct": None if r.wait_pct is None else round(r.wait_pct, 1)} for r in results]
    write_text(path, json.dumps({"tolerance_pct": results[0].tolerance_pct if results else None, "cases": rows},
                                indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Simulate the published cases and compare (validation/README.md).")
    ap.add_argument("--table", type=Path, default=TABLE, help="the table of cases (default: %(default)s)")
    ap.add_argument("--plot", type=Path, default=PLOT, help="where to write the plot (default: %(default)s)")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where to write the simulated figures as JSON, for the docs (default: %(default)s)")
    ap.add_argument("--only", nargs="+", default=(), metavar="ID", help="simulate these cases only")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table instead of text")
    args = ap.parse_args(argv)
    try:
        results = run_cases(load_table(args.table), args.only)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_markdown(results) + "\n\n" + summary(results) if args.markdown else format_text(results))
    try:
        write_plot(results, args.plot)
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"plot: {args.plot}")
    if not args.only:  # the docs show the whole table: a partial run does not replace it
        try:
            write_results(results, args.results)
        except OutputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"results: {args.results}")
    return 1 if any(r.status == "MISSED" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
