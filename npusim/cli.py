"""The command line: `npusim run | schema | check`."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import simulate
from .config import ConfigError, config_schema, load_config
from .engine import DeadlockError, MaxCyclesError, RunOptions
from .hw.errors import SimulationError
from .isa import ProgramError, load_program, verify
from .report import format_report, report_json


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="hardware config YAML, e.g. configs/npu1.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, dotted: --set columns=2 --set mem_tile.size_kib=1024")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="npusim", description="Cycle-level simulator of AMD XDNA-style NPUs.")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a trace on a config and print the report")
    _config_args(run)
    run.add_argument("--trace", required=True, help="program trace JSON, e.g. traces/passthrough.json")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.add_argument("--max-cycles", type=int, default=None, help="stop a run that goes past this cycle")
    run.add_argument("--plot", metavar="FILE", help="write a utilisation plot (PNG or SVG, by extension)")
    check = sub.add_parser("check", help="verify a trace against a config without simulating")
    _config_args(check)
    check.add_argument("--trace", required=True)
    sub.add_parser("schema", help="print the JSON Schema of config files")
    return ap


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    program = load_program(args.trace)
    report = simulate(config, program, RunOptions(max_cycles=args.max_cycles), source=args.trace)
    print(report_json(report) if args.json else format_report(report))
    if args.plot:
        from .plots import utilisation_figure

        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        utilisation_figure(report).savefig(args.plot, dpi=120)
        if not args.json:
            print(f"\nplot     {args.plot}")
    return 0


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    program = load_program(args.trace)
    layout = verify(program, config, args.trace)
    print(f"{args.trace}: ok on {config.name}: {len(program.tiles)} tiles, {len(layout.paths)} routes, "
          f"{len(layout.buffers)} buffers, {len(layout.locks)} locks")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(config_schema(), indent=2))
            return 0
        return _run(args) if args.command == "run" else _check(args)
    except (ConfigError, ProgramError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DeadlockError, MaxCyclesError, SimulationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ValueError as exc:  # bad RunOptions
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
