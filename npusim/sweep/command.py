"""``npusim sweep``: the command line of a sweep (registered by :mod:`npusim.cli`, which adds its
layer flags ``--gemm``, ``--conv2d``, ``--dtype``, ... and passes the layer they describe)."""
from __future__ import annotations

import argparse
from typing import Any

from ..config.safe_yaml import number_flag
from ..frontend.layers.matmul import AnyLayer
from .grid import SweepError
from .run import run_sweep
from .spec import MAX_POINTS, WorkloadLike, define
from .summary import add_baseline_argument, summarise


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The sweep's own flags."""
    p.add_argument("file", nargs="?", metavar="SWEEP_YAML",
                   help="a sweep file: configs, workloads, set, zip, points, options (see npusim/sweep/spec.py)")
    p.add_argument("--config", action="append", default=[], metavar="FILE",
                   help="hardware config YAML (repeat for several); replaces the sweep file's")
    p.add_argument("--set", dest="grid", action="append", default=[], metavar="KEY=VALUES",
                   help="sweep a config field over values: columns=2,4,8 or clock_mhz=1000:2000:250 (STOP "
                   "included); several --set make the Cartesian product; options.seed=0,1 sweeps a run option")
    p.add_argument("--workload", action="append", default=[], metavar="FILE", help="workload YAML (repeatable)")
    p.add_argument("--onnx", action="append", default=[], metavar="MODEL",
                   help="an ONNX model, imported as a workload (repeatable)")
    p.add_argument("--llm", action="append", default=[], metavar="MODEL_JSON",
                   help="a language model's config.json, run as npusim llm runs it (prompt 512, generate 128, weights "
                   "int8, KV bf16 unless llm.* keys set them: --set llm.weights=int8,bf16 --set llm.prompt=512,8192)")
    p.add_argument("-o", "--output", metavar="FILE", help="the table: .csv or .parquet, written as points finish")
    p.add_argument("--resume", action="store_true", help="keep the points already in the output, run the rest")
    p.add_argument("--overwrite", action="store_true", help="start again when the output exists")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: one per core; 1 runs the points in this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run the points on this Dask cluster")
    p.add_argument("--max-cycles", type=number_flag(int, 1, example="1e9"), metavar="CYCLES",
                   help="refuse a layer estimated past this cycle, stop a run past it (e.g. 1e9)")
    p.add_argument("--max-wall", type=number_flag(float, 0, True, example="600"), metavar="SECONDS",
                   help="refuse a layer whose simulation is estimated to take longer (a failed row)")
    p.add_argument("--max-points", type=number_flag(int, 1, example="1e6"), default=MAX_POINTS, metavar="N",
                   help=f"refuse a sweep of more points ({MAX_POINTS:,})")
    p.add_argument("--functional", action="store_true", help="run on real data, checked against numpy")
    p.add_argument("--seed", type=number_flag(int, 0), default=None, help="seed of the operands in functional mode")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the summary's first line")
    p.add_argument("--dry-run", action="store_true", help="list the points and stop")
    p.add_argument("--kernel", metavar="NAME[,NAME...]",
                   help="the kernel library of every matmul (compute_tile.kernels), swept over a list: the same as "
                   "--set kernel=tuned,mlir-aie")
    p.add_argument("--summary", action="store_true",
                   help="after the sweep, print each variant's totals with speed-up and energy against a baseline "
                   "(as npusim sweep-summary)")
    add_baseline_argument(p)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.max_cycles is not None:
        out["max_cycles"] = args.max_cycles
    if args.max_wall is not None:
        out["max_wall_seconds"] = args.max_wall
    if args.functional:
        out["functional"] = True
    if args.seed is not None:
        out["seed"] = args.seed
    return out


def _workloads(args: argparse.Namespace, layer: AnyLayer | None) -> list[WorkloadLike]:
    if args.tiles:
        raise SweepError("npusim sweep: --tiles is not swept; the lowering chooses each point's tile sizes")
    out: list[WorkloadLike] = list(args.workload)
    out += [{"onnx": m, "dtype": args.dtype, "skip_unsupported": args.skip_unsupported} for m in args.onnx]
    out += [{"llm": m} for m in args.llm]
    if layer is not None:
        out.append(layer)
    return out


def main(args: argparse.Namespace, layer: AnyLayer | None) -> int:
    """Run ``npusim sweep``; 0 when the sweep ran (failed points are results, counted in the
    summary and the table), 130 when interrupted (the output keeps the points finished)."""
    if args.workers is not None and args.workers < 1:
        raise SweepError(f"--workers {args.workers}: expected at least 1")
    if args.scheduler and args.workers is not None:
        raise SweepError("--workers is for the local pool; a Dask cluster has its own workers: drop one of them")
    grid = list(args.grid) + ([f"kernel={args.kernel}"] if args.kernel else [])
    spec = define(args.config, _workloads(args, layer), grid, options=_options(args), file=args.file,
                  max_points=args.max_points)
    if args.dry_run:
        points = spec.points()
        for p in points:
            print(p.describe())
        print(f"sweep    {len(points)} points ({len(spec.configs)} configs x {len(spec.combos)} variants x "
              f"{len(spec.workloads)} workloads)")
        return 0
    if not args.output:
        raise SweepError("npusim sweep: give -o FILE.csv or -o FILE.parquet for the table (or --dry-run)")
    try:
        _, summary = run_sweep(spec, args.output, resume=args.resume, overwrite=args.overwrite,
                               workers=args.workers, scheduler=args.scheduler, progress=False if args.quiet else None)
    except KeyboardInterrupt:
        print(f"interrupted: the points finished are in {args.output}; add --resume to run the rest")
        return 130
    lines = summary.lines()
    print("\n".join(lines[:1] if args.quiet else lines))
    if args.summary or args.baseline:
        print("\n" + summarise(args.output, args.baseline))
    return 0
