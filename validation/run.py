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
from npusim.frontend import Pins  # noqa: E402
from npusim.config import ConfigError  # noqa: E402
from npusim.isa import program_from_dict  # noqa: E402
from npusim.output import OutputError, save_figure, write_text  # noqa: E402
from validation.fit import fits  # noqa: E402
from validation.llm import LLM_TABLE, format_llm_cases, load_llm_table, run_llm_cases  # noqa: E402
from validation.table import (  # noqa: E402
    Case, CopyWorkload, GemmWorkload, KernelWorkload, StreamWorkload, Table, VectorWorkload, load_table,
)

TABLE = ROOT / "validation" / "cases.yaml"
PLOT = ROOT / "validation" / "validation.png"
RESULTS = ROOT / "validation" / "results.json"
HELD_OUT_LIMIT_PCT = 25.0
"""A held-out error beyond this needs an explanation in the table (as a shipped one beyond the tolerance)."""
UNITS = {"macs_per_cycle": "MACs/cycle", "cycles": "cycles", "tops": "TOPS", "gflops": "GFLOPS", "gb_per_s": "GB/s",
         "us": "us"}


@dataclass(frozen=True, slots=True)
class Result:
    """A case and what npusim made of it."""

    case: Case
    simulated: float
    tolerance_pct: float
    wait_pct: float | None = None
    """Whole-array cases: the cores' mean share of the run spent waiting on a lock (for data a DMA
    or another core has not delivered yet): it comes out of the simulation, no term sets it."""
    held_out: float | None = None
    """The case simulated with the fit that left its source out (validation/fit.py)."""

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.simulated - self.case.published) / self.case.published

    @property
    def held_out_pct(self) -> float | None:
        if self.held_out is None:
            return None
        return 100.0 * (self.held_out - self.case.published) / self.case.published

    @property
    def within(self) -> bool:
        return abs(self.error_pct) <= self.tolerance_pct

    @property
    def status(self) -> str:
        held = self.held_out_pct
        if self.within and (held is None or abs(held) <= HELD_OUT_LIMIT_PCT):
            return "ok"
        return "explained" if self.case.explanation else "MISSED"


def case_config(case: Case, fitted: Sequence[str] = ()) -> NPUConfig:
    """The shipped config of the case's device, at the publication's clock, with its overrides, its
    kernel library and ``fitted`` (a fit's figures, validation/fit.py)."""
    path = ROOT / "configs" / f"{case.device}.yaml"
    kernel = [f"compute_tile.default_kernel={case.kernel}"] if case.kernel else []
    return load_config(path, [f"clock_mhz={case.clock_mhz}", *case.overrides, *kernel, *fitted])


def _compute_row(config: NPUConfig) -> int:
    return config.mem_tile_rows + 1


def simulate_kernel(config: NPUConfig, case: Case, w: KernelWorkload) -> int:
    """Cycles of one kernel call on one core, its operands already in L1."""
    compute = {"op": "compute", "m": w.m, "k": w.k, "n": w.n, "dtype": case.dtype, "zero": True,
               "emit": case.out_dtype, "b_dtype": case.b_dtype}
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


def simulate_vector(config: NPUConfig, case: Case, w: VectorWorkload) -> int:
    """Cycles of one vector-unit call (a binary operator by a scalar) on one core."""
    call = {"op": "vector", "kind": w.op, "dtype": case.dtype, "shape": [w.elements], "scalar": 3.0}
    program = program_from_dict({"name": case.id, "tiles": [
        {"tile": [0, _compute_row(config)], "core": [call]}]}, case.id)
    return simulate(config, program).cycles


def copy_program(config: NPUConfig, case: Case, w: CopyWorkload) -> dict[str, object]:
    """The copy as a trace: channel i is shim (i // 2, 0) MM2S i % 2 into a double-buffered pair of
    chunks in the memory tile above, forwarded back to the shim's S2MM i % 2 on a round trip."""
    per = w.bytes // w.channels
    tiles: dict[int, dict[str, list[object]]] = {}
    routes, runtime, waits, tensors = [], [], [], []
    for i in range(w.channels):
        col, j = divmod(i, config.shim_tile.dma.mm2s_channels)
        mem = tiles.setdefault(col, {"buffers": [], "locks": [], "dma": []})
        names = [f"c{i}{x}" for x in "ab"]
        mem["buffers"] += [{"name": n, "size_bytes": w.chunk} for n in names]
        fill = [{"buffer": n, "length_bytes": w.chunk, "next": 1 - k} for k, n in enumerate(names)]
        if w.round_trip:
            mem["locks"] += [{"name": f"{n}_{s}", "init": int(s == "empty")} for n in names for s in ("empty", "full")]
            fill = [dict(bd, acquire={"lock": f"{bd['buffer']}_empty"}, release={"lock": f"{bd['buffer']}_full"})
                    for bd in fill]
            drain = [{"buffer": n, "length_bytes": w.chunk, "next": 1 - k, "acquire": {"lock": f"{n}_full"},
                      "release": {"lock": f"{n}_empty"}} for k, n in enumerate(names)]
            mem["dma"].append({"channel": f"mm2s{j}", "bds": drain})
            routes.append({"name": f"out{i}", "source": {"tile": [col, 1], "channel": f"mm2s{j}"},
                           "destinations": [{"tile": [col, 0], "channel": f"s2mm{j}"}]})
            tensors.append({"name": f"y{i}", "size_bytes": per})
            runtime.append({"op": "dma", "name": f"out{i}", "tile": [col, 0], "channel": f"s2mm{j}",
                            "tensor": f"y{i}", "length_bytes": per})
            waits.append(f"out{i}")
        mem["dma"].append({"channel": f"s2mm{j}", "bds": fill})
        routes.append({"name": f"in{i}", "source": {"tile": [col, 0], "channel": f"mm2s{j}"},
                       "destinations": [{"tile": [col, 1], "channel": f"s2mm{j}"}]})
        tensors.append({"name": f"x{i}", "size_bytes": per})
        runtime.append({"op": "dma", "name": f"in{i}", "tile": [col, 0], "channel": f"mm2s{j}", "tensor": f"x{i}",
                        "length_bytes": per})
        if not w.round_trip:
            waits.append(f"in{i}")
    return {"name": case.id, "tensors": tensors, "routes": routes,
            "tiles": [{"tile": [c, 1], **t} for c, t in sorted(tiles.items())],
            "runtime": runtime + [{"op": "wait", "tasks": waits}]}


def simulate_copy(config: NPUConfig, case: Case, w: CopyWorkload) -> float:
    """Seconds of the copy (the case's overhead_us added)."""
    report = simulate(config, program_from_dict(copy_program(config, case, w), case.id))
    return report.seconds + case.overhead_us * 1e-6


def simulate_gemm(config: NPUConfig, case: Case, w: GemmWorkload) -> tuple[float, float]:
    """Achieved TOPS of a whole-array GEMM (ops of the unpadded layer over simulated time), and the
    cores' mean share of cycles stalled on a lock."""
    layer = Gemm(name=case.id, m=w.m, k=w.k, n=w.n, dtype=case.dtype, out_dtype=case.out_dtype)
    report = run_layer(config, layer, RunOptions(), pins=Pins(tiles=w.tiles, **w.design))  # type: ignore[arg-type]
    cores = [t.core for t in report.tiles if t.core is not None]
    waits = [(c.lock_stall + c.dma_stall) / report.cycles for c in cores]
    tops = 2 * w.m * w.k * w.n / (report.seconds + case.overhead_us * 1e-6) / 1e12
    return tops, 100.0 * sum(waits) / len(waits)


def simulate_case(case: Case, tolerance_pct: float, fitted: Sequence[str] = ()) -> Result:
    """The case's metric as npusim simulates it (on the shipped config, or with a fit's figures)."""
    config = case_config(case, fitted)
    w, metric = case.workload, case.metric
    if isinstance(w, GemmWorkload) and metric in ("tops", "gflops"):
        tops, wait = simulate_gemm(config, case, w)
        return Result(case, tops * (1000 if metric == "gflops" else 1), tolerance_pct, wait)
    if isinstance(w, CopyWorkload) and metric in ("gb_per_s", "us"):
        seconds = simulate_copy(config, case, w)
        per_direction = w.bytes / seconds / 1e9
        return Result(case, per_direction if metric == "gb_per_s" else seconds * 1e6, tolerance_pct)
    if isinstance(w, VectorWorkload) and metric == "cycles":
        return Result(case, float(simulate_vector(config, case, w)), tolerance_pct)
    if isinstance(w, (KernelWorkload, StreamWorkload)):
        cycles = simulate_kernel(config, case, w) if isinstance(w, KernelWorkload) else simulate_stream(config, case, w)
        if metric == "cycles":
            return Result(case, float(cycles), tolerance_pct)
        if isinstance(w, KernelWorkload) and metric in ("macs_per_cycle", "gflops"):
            rate = w.m * w.k * w.n / cycles
            return Result(case, rate if metric == "macs_per_cycle" else 2 * rate * case.clock_mhz / 1000, tolerance_pct)
    raise ValueError(f"case '{case.id}': a {w.kind} workload is not measured in {metric}")


def _simulate(job: tuple[Case, float, tuple[str, ...]]) -> Result:
    return simulate_case(*job)


def shipped_configs(table: Table) -> dict[str, NPUConfig]:
    """The shipped config of every device the table names (what the fits start from)."""
    return {d: load_config(ROOT / "configs" / f"{d}.yaml") for d in sorted({c.device for c in table.cases})}


def run_cases(table: Table, only: Sequence[str] = (), held_out: bool = False, jobs: int = 1) -> list[Result]:
    """Simulate the cases (all, or those whose id is in ``only``) on the shipped configs and, with
    ``held_out``, again with the fit that left each case's source out (only where that fit's
    figures differ from the shipped ones). ``jobs`` processes run the simulations."""
    unknown = sorted(set(only) - {c.id for c in table.cases})
    if unknown:
        raise ValueError(f"no case with id {', '.join(unknown)} in the table")
    cases = [c for c in table.cases if not only or c.id in only]
    by_source = fits(table, shipped_configs(table)) if held_out else {}
    work = [(c, table.tolerance_pct, ()) for c in cases]
    held = {c.id: tuple(by_source[c.origin].overrides(c.device)) for c in cases} if held_out else {}
    work += [(c, table.tolerance_pct, held[c.id]) for c in cases if held.get(c.id)]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(jobs) as pool:
            done = list(pool.map(_simulate, work))
    else:
        done = [_simulate(w) for w in work]
    shipped, refit = done[:len(cases)], iter(done[len(cases):])
    out = []
    for r in shipped:
        if held_out:
            again = next(refit).simulated if held[r.case.id] else r.simulated
            r = Result(r.case, r.simulated, r.tolerance_pct, r.wait_pct, again)
        out.append(r)
    return out


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.4g}"


def _types(case: Case) -> str:
    a = case.dtype if case.b_dtype is None else f"{case.dtype}x{case.b_dtype}"
    return f"{a}->{case.out_dtype or case.dtype}"


def _rows(results: Sequence[Result]) -> list[list[str]]:
    return [[str(i), r.case.id, r.case.origin, r.case.device, _types(r.case),
             UNITS[r.case.metric], _fmt(r.case.published), _fmt(r.simulated), f"{r.error_pct:+.1f}",
             "" if r.held_out_pct is None else f"{r.held_out_pct:+.1f}", "cal" if r.case.calibrates else "", r.status,
             "" if r.wait_pct is None else f"{r.wait_pct:.0f}"] for i, r in enumerate(results, 1)]


HEADER = ["#", "case", "source", "device", "types", "metric", "published", "simulated", "error %", "held-out %", "fit",
          "status", "lock wait %"]
RIGHT = {0, 6, 7, 8, 9, 12}


def format_text(results: Sequence[Result]) -> str:
    """The comparison as an aligned text table, the explanations of the misses, and a summary."""
    rows = [HEADER] + _rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.rjust(w) if i in RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        if r.status != "ok":
            held = "" if r.held_out_pct is None else f", held out {r.held_out_pct:+.1f}%"
            lines.append(f"\n{r.case.id} ({r.error_pct:+.1f}%{held}): "
                         f"{r.case.explanation or 'NO EXPLANATION IN THE TABLE'}")
    return "\n".join(lines) + "\n\n" + summary(results)


def format_markdown(results: Sequence[Result]) -> str:
    """The comparison as a Markdown table (for docs or an issue)."""
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    return "\n".join(out)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation, as numpy's default)."""
    import numpy as np
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def summary(results: Sequence[Result]) -> str:
    within = sum(r.within for r in results)
    explained = sum(r.status == "explained" for r in results)
    missed = sum(r.status == "MISSED" for r in results)
    tol = results[0].tolerance_pct if results else 0.0
    sources = sorted({r.case.origin for r in results})
    lines = [f"{len(results)} cases from {len(sources)} sources ({', '.join(sources)}): {within} within +-{tol:g}%, "
             f"{explained} outside with an explanation, {missed} outside without one"]
    shipped = [abs(r.error_pct) for r in results]
    lines.append(f"|error| on the shipped configs: median {percentile(shipped, 50):.1f}%, "
                 f"90th percentile {percentile(shipped, 90):.1f}%")
    held = [abs(r.held_out_pct) for r in results if r.held_out_pct is not None]
    if held:
        lines.append(f"|error| held out (each case by the fit that left its source out): median "
                     f"{percentile(held, 50):.1f}%, 90th percentile {percentile(held, 90):.1f}% "
                     f"(targets 10% and 25%); beyond {HELD_OUT_LIMIT_PCT:g}%: "
                     f"{sum(h > HELD_OUT_LIMIT_PCT for h in held)}, each explained above")
    return "\n".join(lines)


def describe_fits(table: Table, results: Sequence[Result]) -> str:
    """Which cases each leave-one-source-out fit saw, and the figures it set apart from the shipped
    ones (a prior, or a refit on fewer cases)."""
    by_source = fits(table, shipped_configs(table))
    lines = ["leave-one-source-out fits (validation/fit.py): each held-out figure above comes from the fit without "
             "its case's source"]
    for src, f in by_source.items():
        seen = sorted({c for ids in f.saw.values() for c in ids})
        lines.append(f"- without {src}: fitted on {len(seen)} cases ({', '.join(seen) or 'none'}); held out "
                     f"{sum(r.case.origin == src for r in results)} cases")
        for key, value in sorted(f.values.items()):
            how = f"fitted on {len(f.saw[key])}" if f.saw.get(key) else "prior"
            lines.append(f"    {key} = {value} ({how})")
    return "\n".join(lines)


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
    for metric, marker in (("macs_per_cycle", "o"), ("cycles", "s"), ("tops", "^"), ("gflops", "v"), ("gb_per_s", "D"),
                           ("us", "P")):
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
             "lock_wait_pct": None if r.wait_pct is None else round(r.wait_pct, 1),
             "held_out_error_pct": None if r.held_out_pct is None else round(r.held_out_pct, 3)} for r in results]
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
    ap.add_argument("--no-held-out", action="store_true",
                    help="skip the leave-one-source-out fits (only the shipped configs)")
    ap.add_argument("--jobs", type=int, default=1, help="processes to simulate in (default: %(default)s)")
    ap.add_argument("--llm-table", type=Path, default=LLM_TABLE,
                    help="the language-model cases, run after the others (default: %(default)s)")
    ap.add_argument("--no-llm", action="store_true", help="leave the language-model cases out")
    args = ap.parse_args(argv)
    try:
        table = load_table(args.table)
        llm = load_llm_table(args.llm_table) if not args.no_llm else None
        llm_ids = {c.id for c in llm.cases} if llm else set()
        only = [i for i in args.only if i not in llm_ids]
        results = run_cases(table, only, not args.no_held_out, args.jobs) if only or not args.only else []
        llm_results = run_llm_cases(llm, [i for i in args.only if i in llm_ids]) if llm and (
            not args.only or set(args.only) & llm_ids) else []
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if results:
        text = format_markdown(results) + "\n\n" + summary(results) if args.markdown else format_text(results)
        if not args.no_held_out:
            text += "\n\n" + describe_fits(table, results)
        print(text)
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
    if llm_results:
        print("\n" + format_llm_cases(llm_results))
    return 1 if any(r.status == "MISSED" for r in [*results, *llm_results]) else 0


if __name__ == "__main__":
    sys.exit(main())
