"""`npusim plot KIND ...`: simulate a trace, a layer or a workload and write one figure (PNG or
SVG by extension), recording intervals only for the kinds that draw them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import simulate
from .cli import _imported, _ints, _layer, _limit_args, _load_config, _options, _pins, _source_args
from .cli_errors import UsageError
from .config import NPUConfig
from .config.safe_yaml import number_flag
from .engine import RunOptions
from .frontend import load_workload, lower
from .isa import load_program
from .limits import check_before_lowering
from .output import save_figure
from .progress import LayerProgress
from .runner import WorkloadReport, run_lowered, run_workload
from .stats import Report

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not when the parser is built
    from matplotlib.figure import Figure

KINDS = {
    "timeline": "Gantt of every core and DMA channel over time (busy, lock stall, DMA stall)",
    "heatmap": "busy share of every tile over the array's columns and rows",
    "power": "power over time by component, and energy by component",
    "roofline": "achieved TOPS against operations per DDR byte, under the compute and DDR roofs",
    "layers": "per-layer latency and energy of a workload",
    "utilisation": "where each core's and channel's cycles went, in % of the run",
    "context": "a language model's decode tokens/s and power against context length (--model, --contexts)",
}
NEEDS_INTERVALS = {"timeline", "power"}
WHOLE_WORKLOAD = {"roofline", "layers"}


def add_plot_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``npusim plot`` on the top-level subparsers."""
    p = sub.add_parser("plot", help="simulate and write a figure: " + ", ".join(KINDS),
                       description="Simulate a trace, a layer or a workload and write one figure. Kinds: "
                       + "; ".join(f"{k}: {v}" for k, v in KINDS.items()) + ".")
    p.add_argument("kind", choices=tuple(KINDS), help="the figure to draw")
    _source_args(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="figure to write: .png or .svg")
    _limit_args(p)
    p.add_argument("--layer", type=int, metavar="I",
                   help="a workload's layer to draw (timeline, heatmap, power, utilisation; default: the "
                   "layer that takes longest)")
    p.add_argument("--columns", metavar="C,C,...", help="timeline: only these array columns, e.g. 0,1")
    p.add_argument("--max-units", type=number_flag(int, 1), metavar="N", help="timeline: only the first N lanes")
    p.add_argument("--cores-only", action="store_true", help="timeline: cores only, no DMA channels")
    p.add_argument("--cycles", action="store_true", help="timeline: x axis in cycles instead of microseconds")
    p.add_argument("--window", metavar="START,END", help="timeline: only this part of the run, in microseconds "
                   "(in cycles with --cycles), e.g. 0,20")
    from .llm.command import add_llm_arguments  # `context`: the language-model flags of npusim llm

    add_llm_arguments(p, prompt_required=False)


def _simulate(args: argparse.Namespace, config: NPUConfig, options: RunOptions) -> Report | WorkloadReport:
    chosen = [f for f in ("trace", "workload", "onnx", "gemm", "conv2d") if getattr(args, f)]
    if len(chosen) != 1:
        raise UsageError("npusim plot: give exactly one of --trace, --workload, --onnx, --gemm or --conv2d"
                         + (f" (got {', '.join('--' + c for c in chosen)})" if chosen else ""))
    if args.workload or args.onnx:
        workload = _imported(args, True).workload if args.onnx else load_workload(args.workload)
        with LayerProgress([ly.name for ly in workload.layers]) as bar:
            return run_workload(config, workload, options, on_layer=bar.on_layer, pins=_pins(args))
    if args.trace:
        return simulate(config, load_program(args.trace), options, source=args.trace)
    layer = _layer(args)
    check_before_lowering(config, layer, options, _pins(args))
    return run_lowered(config, lower(config, layer, pins=_pins(args)), options)


def _layer_index(result: Report | WorkloadReport, layer: int | None) -> int | None:
    """The workload layer a one-run figure draws: ``--layer``, or the one that takes longest."""
    if isinstance(result, Report):
        if layer is not None:
            raise UsageError("--layer picks a layer of a workload (--workload or --onnx)")
        return None
    if layer is None:
        return max(range(len(result.layers)), key=lambda i: result.layers[i].cycles * result.counts[i])
    if not 0 <= layer < len(result.layers):
        raise UsageError(f"--layer {layer}: the workload has layers 0 to {len(result.layers) - 1}")
    return layer


def _figure(args: argparse.Namespace, config: NPUConfig, result: Report | WorkloadReport) -> Figure:
    from . import plots

    kind = args.kind
    if kind == "layers":
        if not isinstance(result, WorkloadReport):
            raise UsageError("npusim plot layers needs a workload (--workload or --onnx)")
        return plots.layers_figure(result, config)
    if kind == "roofline":
        return plots.roofline_figure(result)
    index = _layer_index(result, args.layer)
    run = result.layers[index] if isinstance(result, WorkloadReport) and index is not None else result
    assert isinstance(run, Report)
    if kind == "timeline":
        columns = _ints(args.columns, ",", len(args.columns.split(",")), "--columns", "0,1") if args.columns else None
        return plots.timeline_figure(run, columns=columns, max_units=args.max_units, channels=not args.cores_only,
                                     time_unit="cycles" if args.cycles else "us", window=_window(args.window))
    if kind == "heatmap":
        return plots.heatmap_figure(run, config)
    if kind == "power":
        return plots.power_figure(run, config)
    return plots.utilisation_figure(run)


def _window(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        start, end = (float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--window {text!r}: expected START,END, e.g. 0,20") from None
    return start, end


def plot_command(args: argparse.Namespace) -> int:
    """Run ``npusim plot``: simulate, draw, save; exit status as ``npusim run``."""
    suffix = Path(args.output).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise UsageError(f"-o {args.output}: the figure is written as PNG or SVG; name it .png or .svg")
    if args.kind == "context":
        from .llm.command import plot as llm_plot

        fig, what = llm_plot(args)
        save_figure(fig, Path(args.output), dpi=120)
        print(f"plot     {args.output} ({what})")
        return 0
    config = _load_config(args)
    options = _options(args, record_intervals=args.kind in NEEDS_INTERVALS)
    result = _simulate(args, config, options)
    try:
        fig = _figure(args, config, result)
    except ValueError as exc:
        raise UsageError(f"npusim plot {args.kind}: {exc}") from None
    save_figure(fig, args.output, dpi=120)
    print(f"plot     {args.output} ({args.kind} of {_what(args, result)} on {result.config})", file=sys.stdout)
    return 0


def _what(args: argparse.Namespace, result: Report | WorkloadReport) -> str:
    if not isinstance(result, WorkloadReport):
        return result.program
    index = None if args.kind in WHOLE_WORKLOAD else _layer_index(result, args.layer)
    if index is None:
        return result.workload
    return f"layer {index} {result.layers[index].program} of {result.workload}"
