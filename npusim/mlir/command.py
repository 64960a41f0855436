"""The command line of mlir-aie designs: ``npusim run --mlir`` and ``npusim import-mlir``.

Registered from :mod:`npusim.cli`, which imports this module only when one of them runs.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import NPUConfig
from ..engine import RunOptions
from ..output import replacing
from .errors import MlirError


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """``npusim run``'s options for a design."""
    p.add_argument("--mlir", metavar="DESIGN", help="an mlir-aie design (textual MLIR: IRON's print or aie-opt output)")
    p.add_argument("--kernels", metavar="MAP", help="with --mlir: YAML binding external kernels, e.g. "
                   "'matmul_i8_i32: {kind: matmul}' or 'my_kernel: {cycles: 1000}'")
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="with --mlir --functional: fill the runtime-sequence argument NAME (its SSA name without %%)")
    p.add_argument("--output", action="append", default=[], metavar="NAME=FILE.npy",
                   help="with --mlir --functional: write argument NAME's data after the run")


def add_import_parser(sub: Any) -> None:
    imp = sub.add_parser("import-mlir", help="turn an mlir-aie design into an npusim trace JSON")
    imp.add_argument("design", help="the design (textual MLIR)")
    imp.add_argument("-o", "--output", required=True, metavar="TRACE", help="trace JSON to write")
    imp.add_argument("--config", required=True, help="hardware config YAML the program is checked against")
    imp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field, dotted, as for run: --set columns=2")
    imp.add_argument("--kernels", metavar="MAP", help="YAML binding the design's external kernels")


def _pairs(flag: str, values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise MlirError(flag, None, f"{flag} {v!r}: expected NAME=FILE.npy, e.g. {flag} in=x.npy")
        out[name] = path
    return out


def _load(name: str, path: str) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MlirError(path, None, f"--input {name}: cannot read a .npy array: {exc}") from None


def _imported(path: str, config: NPUConfig, kernels: str | None) -> Any:
    from .importer import import_file
    from .kernels import load_kernel_map

    return import_file(path, config, load_kernel_map(kernels) if kernels else None)


def run_mlir(args: argparse.Namespace, config: NPUConfig, options: RunOptions) -> int:
    """``npusim run --mlir``: print the report (and write outputs, Perfetto)."""
    from ..report import format_report, report_json
    from .run import run_design

    if (args.input or args.output) and not args.functional:
        raise MlirError("--input/--output", None, "data moves only in functional mode; add --functional")
    imported = _imported(args.mlir, config, args.kernels)
    inputs = {n: _load(n, p) for n, p in _pairs("--input", args.input).items()}
    outputs = _pairs("--output", args.output)
    missing = sorted(set(outputs) - set(imported.args))
    if missing:
        raise MlirError(args.mlir, None, f"--output {missing[0]}: the runtime sequence has no argument of that name "
                        f"(it has: {', '.join(imported.args) or 'none'})")
    run = run_design(config, imported, options, inputs, args.mlir)
    notes = [f"imported {args.mlir}: aie.device {imported.device}, {len(imported.program.tiles)} tiles, "
             f"{len(imported.program.routes)} routes"] + [f"note: {n}" for n in imported.notes]
    if args.json:
        print(json.dumps(dict(report_json_dict(run.report, report_json), notes=notes)))
    else:
        print("\n".join(notes) + "\n")
        print(format_report(run.report))
    for name, path in outputs.items():
        with replacing(path) as tmp, tmp.open("wb") as f:  # whole or not at all (npusim.output)
            np.save(f, run.outputs[name])
        if not args.json:
            print(f"output   {name} -> {path}")
    if args.perfetto:
        from .perfetto_names import write_named_perfetto

        write_named_perfetto(run.report, config, args.perfetto, imported.names)
        if not args.json:
            print(f"perfetto {args.perfetto}")
    return 0


def report_json_dict(report: Any, report_json: Any) -> dict[str, Any]:
    return dict(json.loads(report_json(report)))


def import_command(args: argparse.Namespace) -> int:
    """``npusim import-mlir``: write the program a design becomes."""
    from ..config import load_config
    from ..isa import save_program

    config = load_config(args.config, args.overrides)
    imported = _imported(args.design, config, args.kernels)
    save_program(imported.program, args.output)  # parent folders made, whole or not at all
    p = imported.program
    print(f"trace    {args.output}: {len(p.tiles)} tiles, {len(p.routes)} routes, {len(p.runtime)} runtime operations")
    for n in imported.notes:
        print(f"note     {n}")
    return 0
