"""The command line: `npusim run | lower | import-onnx | check | schema | plot | sweep | llm` (plot:
cli_plot.py; sweep: npusim/sweep/command.py; llm: npusim/llm/command.py)."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import simulate
from pydantic import ValidationError

from .cli_errors import UsageError, guarded
from .cli_onnx import import_onnx_command, imported, lower_onnx
from .cli_types import add_type_args
from .config import ConfigError, NPUConfig, config_schema, load_config, parse_override, validation_message
from .config.safe_yaml import number_flag
from .engine import RunOptions
from .frontend import Conv2d, Gemm, Pins, load_workload, lower
from .frontend.mapper.explain import explain
from .isa import load_program, save_program, verify
from .limits import MAX_WALL_SECONDS, check_before_lowering, check_size
from .output import save_figure
from .report import format_report, format_workload, report_json
from .runner import WorkloadReport, run_lowered, run_workload
from .stats import Report


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="hardware config YAML, e.g. configs/npu1.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, dotted: --set columns=2 --set mem_tile.size_kib=1024")
    p.add_argument("--kernel", metavar="NAME", help="the kernel library every matmul uses (compute_tile.kernels, e.g. "
                   "tuned or mlir-aie; default: the config's default_kernel)")


def _layer_args(p: argparse.ArgumentParser, required: bool) -> None:
    what = p.add_mutually_exclusive_group(required=required)
    what.add_argument("--gemm", metavar="MxKxN", help="a matrix multiplication, e.g. 1024x1024x1024")
    what.add_argument("--conv2d", metavar="N,C,H,W,K,R,S,STRIDE,PAD",
                      help="a convolution: batch, in channels, height, width, out channels, kernel height, "
                      "kernel width, stride, padding, e.g. 1,64,56,56,64,3,3,1,1")
    add_type_args(p)
    p.add_argument("--shift", type=number_flag(int, 0, high=31), default=0,
                   help="right shift to a narrow integer output (0)")
    p.add_argument("--tiles", metavar="M,K,N", help="use these tile sizes instead of choosing them")
    m = p.add_argument_group("mapping", "pin a choice of the mapper's search (the rest is searched; see lower --explain)")
    m.add_argument("--use-columns", type=int, metavar="N", help="use the first N columns of the array")
    m.add_argument("--use-rows", type=int, metavar="N", help="use the lowest N compute rows")
    m.add_argument("--c-buffers", type=int, choices=(1, 2), help="C buffers per core: 1 (the core waits while C "
                   "drains) or 2 (the drain overlaps the next output tile)")
    m.add_argument("--c-storage", choices=("acc", "out"), help="keep C between reduction steps as 32-bit "
                   "accumulators (exact) or in the output type (rounded once per step, as mlir-aie's kernels do)")
    m.add_argument("--reuse", choices=("none", "a", "b"), help="keep A's row blocks (a) or B's column blocks (b) "
                   "resident in the memory tiles, read from DDR once; none streams both")
    m.add_argument("--b-layout", choices=("tiled", "col", "row"), help="how B is stored in DDR: tile by tile "
                   "(laid out offline), column-major or row-major")
    m.add_argument("--a-block", choices=("step", "row"), help="convolutions: the shim gathers A a reduction step "
                   "or a kernel row at a time")
    m.add_argument("--pixels", choices=("strip", "rows"), help="convolutions: a tile's output pixels are a strip "
                   "of one output row, or whole output rows")
    m.add_argument("--split", choices=("m", "n"), help="how a column's rows divide the work: other output rows "
                   "(m: A per row, B broadcast down the column) or other output columns (n: one A up the column, "
                   "B per row)")
    p.add_argument("--bias", action="store_true", help="fuse a bias add into the layer (an epilogue)")
    p.add_argument("--relu", action="store_true", help="fuse a ReLU into the layer (an epilogue)")


def _onnx_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skip-unsupported", action="store_true",
                   help="leave unsupported ONNX operators out (and say which) instead of stopping")


def _source_args(p: argparse.ArgumentParser) -> None:
    """What a simulating command runs: a config, and a trace, a layer, a workload or a model."""
    _config_args(p)
    p.add_argument("--trace", help="program trace JSON, e.g. traces/passthrough.json")
    p.add_argument("--workload", help="workload YAML, e.g. workloads/resnet18.yaml")
    p.add_argument("--onnx", metavar="MODEL", help="an ONNX model, imported as a workload (see import-onnx)")
    _layer_args(p, required=False)
    _onnx_args(p)


def _limit_args(p: argparse.ArgumentParser) -> None:
    """The budgets of a run, checked against the lowering's estimate before it starts."""
    p.add_argument("--max-cycles", type=number_flag(int, 1, example="1e9"), metavar="CYCLES",
                   help="refuse a layer estimated past this cycle, stop a run that goes past it (e.g. 1e9)")
    p.add_argument("--max-wall", type=number_flag(float, 0, True, example="600"), default=MAX_WALL_SECONDS,
                   metavar="SECONDS",
                   help=f"refuse a layer whose simulation is estimated to take longer ({MAX_WALL_SECONDS:g})")
    p.add_argument("--max-memory", type=number_flag(float, 0, True, example="8"), metavar="GIB",
                   help="functional mode: refuse a layer whose data needs more (default: the memory available)")
    stall = RunOptions().stall_limit_cycles
    p.add_argument("--stall-limit", type=number_flag(int, 1, example="1e6"), default=stall, metavar="CYCLES",
                   help=f"report a livelock when only never-ending BD chains ran this long ({stall:g})")


def _options(args: argparse.Namespace, **more: Any) -> RunOptions:
    """The run options of the budget flags (``_limit_args``) and ``more``."""
    memory = args.max_memory
    return RunOptions(max_cycles=args.max_cycles, max_wall_seconds=args.max_wall,
                      max_memory_bytes=None if memory is None else int(memory * 2**30),
                      stall_limit_cycles=args.stall_limit, **more)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="npusim", description="Cycle-level simulator of AMD XDNA-style NPUs; exit "
                                 "codes: 0 ok, 1 functional mismatch, 2 bad input, 3 simulation failed, 4 internal error")
    ap.add_argument("--debug", action="store_true", help="print the traceback of an error")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a trace, a layer or a workload on a config and print the report")
    _source_args(run)
    run.add_argument("--functional", action="store_true",
                     help="move and compute real data (random operands) and compare the output with numpy")
    run.add_argument("--seed", type=number_flag(int, 0), default=0,
                     help="seed of the random operands in functional mode (0)")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.add_argument("--fusion", choices=("on", "off"), default="on",
                     help="a workload: run groups of consecutive layers fused where they run faster (on, the default) "
                     "or every layer on its own (off)")
    _limit_args(run)
    run.add_argument("--plot", metavar="FILE", help="write a utilisation plot (PNG or SVG, by extension)")
    run.add_argument("--perfetto", metavar="FILE", help="write a Perfetto (Chrome trace-event) JSON of the run")
    run.add_argument("--csv", metavar="DIR", help="write the report's tables as CSV files in DIR (layers.csv, tiles.csv, "
                     "channels.csv, routes.csv, energy.csv, operators.csv)")
    from .mlir.command import add_import_parser, add_run_arguments  # mlir-aie designs (lazy: npusim.mlir)

    add_run_arguments(run)
    add_import_parser(sub)
    run.add_argument("--intervals", action="store_true",
                     help="record every busy and stall interval: the report's peak power (on by itself with "
                     "--perfetto and --plot; costs memory and time on large runs)")
    low = sub.add_parser("lower", help="lower a layer to a program trace, and explain the choices")
    _config_args(low)
    low.add_argument("--onnx", metavar="MODEL", help="explain the lowering of every layer of an ONNX model")
    _layer_args(low, required=False)
    _onnx_args(low)
    low.add_argument("-o", "--output", metavar="TRACE", help="write the program as a trace JSON file")
    low.add_argument("--explain", action="store_true", help="print the tiling, memory use, routes and bounds")
    low.add_argument("--fusion", choices=("on", "off"), default="on",
                     help="with --onnx: also say which layers fuse into groups, and why (on, the default), or not (off)")
    imp = sub.add_parser("import-onnx", help="turn an ONNX model into a workload YAML file")
    imp.add_argument("model", help="the ONNX model file")
    imp.add_argument("-o", "--output", required=True, metavar="WORKLOAD", help="workload YAML to write")
    imp.add_argument("--dtype", choices=("int8", "int16", "bf16"),
                     help="compute every layer in this type (default: the model's types, floats as bf16)")
    imp.add_argument("--name", help="workload name (default: the graph's name)")
    _onnx_args(imp)
    check = sub.add_parser("check", help="verify a trace against a config without simulating")
    _config_args(check)
    check.add_argument("--trace", required=True, help="program trace JSON to verify, e.g. traces/broadcast.json")
    sub.add_parser("schema", help="print the JSON Schema of config files")
    swp = sub.add_parser("sweep", help="simulate many config variants x workloads into one table (CSV or Parquet)")
    _layer_args(swp, required=False)
    _onnx_args(swp)
    from .sweep.command import add_arguments as add_sweep_arguments  # the sweep's code lives in npusim.sweep

    add_sweep_arguments(swp)
    from .sweep.summary import add_summary_parser

    add_summary_parser(sub)
    from .llm.command import add_arguments as add_llm_arguments  # the llm command's code lives in npusim.llm

    add_llm_arguments(sub.add_parser("llm", help="prefill and decode of a language model (a Hugging Face config.json)"))
    from .cli_plot import add_plot_parser  # lazy: cli_plot builds on this module's helpers

    add_plot_parser(sub)
    for command in sub.choices.values():  # --debug also after the command's name
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="print the traceback of an error (exit codes: docs/reference/errors.md)")
    return ap


def _load_config(args: argparse.Namespace) -> NPUConfig:
    """The config of ``--config`` with the ``--set`` overrides and ``--kernel``; a malformed override names --set."""
    for text in args.overrides:
        try:
            parse_override(text)
        except ConfigError as exc:
            raise UsageError(f"--set {text!r}: {exc}") from None
    config = load_config(args.config, args.overrides)
    kernel = getattr(args, "kernel", None)
    if kernel is None:
        return config
    if kernel not in config.compute_tile.kernels:
        raise UsageError(f"--kernel {kernel}: {args.config} has no kernel of that name (compute_tile.kernels "
                         f"has: {', '.join(config.compute_tile.kernels)})")
    return load_config(args.config, [*args.overrides, f"compute_tile.default_kernel={kernel}"])


def _ints(text: str, sep: str, count: int, flag: str, example: str) -> list[int]:
    parts = text.split(sep)
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise UsageError(f"{flag} {text!r}: expected {count} integers separated by '{sep}', e.g. {example}")
    return values


def _layer(args: argparse.Namespace) -> Gemm | Conv2d:
    common = {"dtype": args.dtype or "int8", "out_dtype": args.out_dtype, "shift": args.shift, "bias": args.bias,
              "relu": args.relu, "b_dtype": args.b_dtype, "group_size": args.group_size}
    layer: Gemm | Conv2d
    try:
        if args.gemm:
            m, k, n = _ints(args.gemm.lower(), "x", 3, "--gemm", "1024x1024x1024")
            layer = Gemm(name=f"gemm_{m}x{k}x{n}", m=m, k=k, n=n, **common)
        else:
            b, c, h, w, o, r, s, st, pad = _ints(args.conv2d, ",", 9, "--conv2d", "1,64,56,56,64,3,3,1,1")
            layer = Conv2d(name=f"conv2d_{c}x{h}x{w}_{o}_{r}x{s}", batch=b, in_channels=c, height=h, width=w,
                           out_channels=o, kernel_h=r, kernel_w=s, stride=st, padding=pad, **common)
    except ValidationError as exc:
        raise UsageError(validation_message(exc, "--gemm" if args.gemm else "--conv2d")) from None
    check_size(layer, f"--gemm {args.gemm}" if args.gemm else f"--conv2d {args.conv2d}")
    return layer


def _tiles(args: argparse.Namespace) -> tuple[int, int, int] | None:
    if not args.tiles:
        return None
    m, k, n = _ints(args.tiles, ",", 3, "--tiles", "64,64,64")
    return m, k, n


def _pins(args: argparse.Namespace) -> Pins:
    """The mapping choices the command line pins."""
    for flag in ("use_columns", "use_rows"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} {getattr(args, flag)}: give at least 1")
    return Pins(columns=args.use_columns, rows=args.use_rows, tiles=_tiles(args), c_buffers=args.c_buffers,
                c_storage=args.c_storage, reuse=args.reuse, b_layout=args.b_layout, a_block=args.a_block,
                split=args.split, pixels=args.pixels)


def _plot(report: Report, path: str, quiet: bool) -> None:
    from .plots import utilisation_figure

    save_figure(utilisation_figure(report), path, dpi=120)
    if not quiet:
        print(f"\nplot     {path}")


def _perfetto(report: Report | WorkloadReport, config: NPUConfig, path: str | None, quiet: bool) -> None:
    if path:
        from .report.perfetto import write_perfetto

        write_perfetto(report, config, path)
        if not quiet:
            print(f"perfetto {path}")


def _csv(report: Report | WorkloadReport, directory: str | None, quiet: bool) -> None:
    if directory:
        from .report.csv import write_csv

        paths = write_csv(report, directory)
        if not quiet:
            print(f"csv      {', '.join(str(p) for p in paths)}")


def _run(args: argparse.Namespace) -> int:
    chosen = [f for f in ("trace", "workload", "onnx", "gemm", "conv2d", "mlir") if getattr(args, f)]
    if len(chosen) != 1:
        raise UsageError("npusim run: give exactly one of --trace, --workload, --onnx, --gemm, --conv2d or --mlir"
                         + (f" (got {', '.join('--' + c for c in chosen)})" if chosen else ""))
    config = _load_config(args)
    # intervals only when asked for, or when a view needs them (the report's peak power is read
    # off them): off, they cost nothing; on a large run they cost memory and time
    options = _options(args, functional=args.functional, seed=args.seed,
                       record_intervals=bool(args.intervals or args.perfetto or args.plot), fusion=args.fusion == "on")
    if args.mlir:
        from .mlir.command import run_mlir

        return run_mlir(args, config, options)
    if args.workload or args.onnx:
        workload = imported(args, args.json).workload if args.onnx else load_workload(args.workload)
        from .progress import LayerProgress

        with LayerProgress([ly.name for ly in workload.layers], quiet=args.json) as bar:
            wr = run_workload(config, workload, options, on_layer=bar.on_layer, pins=_pins(args))
        _perfetto(wr, config, args.perfetto, args.json)
        print(report_json(wr) if args.json else format_workload(wr))
        _csv(wr, args.csv, args.json)
        return 0 if wr.functional_ok is not False else 1
    if args.trace:
        if args.functional:
            raise UsageError("--functional needs a layer (--gemm, --conv2d, --workload or --onnx): a trace has no data")
        report = simulate(config, load_program(args.trace), options, source=args.trace)
    else:
        layer = _layer(args)
        check_before_lowering(config, layer, options, _pins(args))
        low = lower(config, layer, pins=_pins(args))
        from .progress import CycleProgress

        with CycleProgress(low.plan.estimate.cycles, quiet=args.json) as bar:
            report = run_lowered(config, low, bar.options(options))
    print(report_json(report) if args.json else format_report(report))
    if args.plot:
        _plot(report, args.plot, args.json)
    _perfetto(report, config, args.perfetto, args.json)
    _csv(report, args.csv, args.json)
    return 0 if report.functional_ok is not False else 1


def _lower(args: argparse.Namespace) -> int:
    config: NPUConfig = _load_config(args)
    if bool(args.onnx) == bool(args.gemm or args.conv2d):
        raise UsageError("npusim lower: give exactly one of --onnx, --gemm or --conv2d")
    if args.onnx:
        return lower_onnx(args, config)
    low = lower(config, _layer(args), pins=_pins(args))
    if args.explain or not args.output:
        print(explain(config, low))
    if args.output:
        save_program(low.program, args.output)
        print(f"trace    {args.output}: {len(low.program.tiles)} tiles, {len(low.program.routes)} routes, "
              f"{len(low.program.runtime)} runtime operations")
    return 0


def _check(args: argparse.Namespace) -> int:
    config = _load_config(args)
    program = load_program(args.trace)
    layout = verify(program, config, args.trace)
    print(f"{args.trace}: ok on {config.name}: {len(program.tiles)} tiles, {len(layout.paths)} routes, "
          f"{len(layout.buffers)} buffers, {len(layout.locks)} locks")
    return 0


def _command(args: argparse.Namespace) -> int:
    if args.command == "schema":
        print(json.dumps(config_schema(), indent=2))
        return 0
    if args.command == "plot":
        from .cli_plot import plot_command

        return plot_command(args)
    if args.command == "sweep":
        from .sweep.command import main as sweep_main

        return sweep_main(args, _layer(args) if args.gemm or args.conv2d else None)
    if args.command == "import-mlir":
        from .mlir.command import import_command

        return import_command(args)
    if args.command == "sweep-summary":
        from .sweep.summary import main as summary_main

        return summary_main(args)
    if args.command == "llm":
        from .llm.command import main as llm_main

        return llm_main(args)
    return {"run": _run, "lower": _lower, "import-onnx": import_onnx_command, "check": _check}[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status is in :mod:`npusim.cli_errors` (0 ok, 1 functional
    mismatch, 2 bad input, 3 simulation failure, 4 internal error)."""
    args = _parser().parse_args(argv)
    return guarded(lambda: _command(args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
