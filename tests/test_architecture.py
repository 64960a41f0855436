"""The shape of the package: module size (STYLE point 6) and import direction (STYLE, last
paragraph: ``config <- isa``; ``config, isa, stats <- hw <- engine``; ``stats <- report <- cli``).

Imports are read with ``ast`` from the source (every ``import``/``from`` anywhere in a module,
including inside functions), so a lazy import against the arrows is caught too.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "npusim"
MAX_LINES = 400

ANY = None
# Package (first level under npusim) -> npusim modules it may import, as dotted prefixes.
# Its own package is always allowed.
ALLOWED: dict[str, set[str] | None] = {
    # the hardware description names the number formats (output types) of numerics, which imports nothing
    "config": {"npusim.numerics"},
    "numerics": set(),
    # the one writer of output files (temporary, fsync, atomic rename): nothing from npusim, so
    # that every package that writes a file may use it
    "output": set(),
    # functional mode's numpy reference, written apart from the kernels' arithmetic (numerics,
    # vector_math) so that the check can catch their bugs: nothing from npusim
    "reference": set(),
    # the arithmetic of the vector operators, shared by functional mode's kernels (hw) and the
    # frontend's numpy reference, so that both apply the same formulas
    "vector_math": {"npusim.numerics"},
    # what core code's operations compute, shared by functional mode's interpreter (hw) and the
    # mlir-aie importer's constant folding, so both apply the same arithmetic
    "scalar_math": {"npusim.numerics"},
    "isa": {"npusim.config", "npusim.numerics", "npusim.output"},
    # stats/report.py converts the DDR bandwidth with hw.timing.ddr_bytes_per_cycle, so that the
    # figure is stated once. This one rule-module import is allowed; the rest of hw is not (it
    # would close a cycle, since hw imports stats for the recorder).
    "stats": {"npusim.config", "npusim.hw.timing"},
    "hw": {"npusim.config", "npusim.isa", "npusim.stats", "npusim.numerics", "npusim.vector_math",
           "npusim.scalar_math"},
    "engine": {"npusim.config", "npusim.isa", "npusim.stats", "npusim.hw"},
    # the frontend states its expected cycles with the engine's own timing rules
    # and the mapper's search simulates its leading designs (the engine never imports the frontend);
    # files through the one writer; functional checks against the independent numpy reference
    "frontend": {"npusim.config", "npusim.isa", "npusim.numerics", "npusim.hw.timing", "npusim.vector_math",
                 "npusim.engine", "npusim.stats", "npusim.output", "npusim.reference"},
    # running layers: lower (frontend), simulate (engine), condense (stats)
    "runner": {"npusim.config", "npusim.isa", "npusim.numerics", "npusim.frontend", "npusim.engine",
               "npusim.stats", "npusim.power", "npusim.dispatch", "npusim.workload_report", "npusim.limits"},
    # what a workload pays per dispatch and per change of design: a config figure times the
    # dispatches of a schedule of programs
    "dispatch": {"npusim.config", "npusim.isa"},
    # a workload's report: entries (layers, fused groups), their totals and dispatch costs; energy
    # splits with the power model's component groups
    "workload_report": {"npusim.stats", "npusim.power"},
    # limits checked before a layer is lowered and run: its size (frontend layers), the
    # lowering's estimate against the run options (engine), the YAML reader's limit knobs
    "limits": {"npusim.config", "npusim.engine", "npusim.frontend", "npusim.numerics"},
    # energy = a Report's counted actions x the config's energy table (DESIGN §5); it reads a Report,
    # never the engine or a hardware unit (STYLE points 10-11)
    "power": {"npusim.config", "npusim.stats"},
    # views: the Perfetto trace's power counter and the power plot read the power model (a view of
    # the recorder's counts); plots of a workload (roofline, layers) read runner's WorkloadReport
    "report": {"npusim.config", "npusim.stats", "npusim.runner", "npusim.power", "npusim.output"},
    "plots": {"npusim.config", "npusim.stats", "npusim.runner", "npusim.power",
              # sweep curves sum a sweep table's layers per point and mark its Pareto front with the
              # table's own functions (plain pandas, no simulation)
              "npusim.sweep.table"},
    # what-if sweeps: config variants (config loader) x workloads (frontend), each point run by
    # runner.run_workload (which lowers, simulates and reports); RunOptions from engine; the summary
    # prints its table with the text report's column aligner; files through the one writer; language-model
    # points by npusim.llm.run_llm
    "sweep": {"npusim.config", "npusim.frontend", "npusim.engine", "npusim.runner", "npusim.report.text",
              "npusim.output", "npusim.llm"},
    # mlir-aie designs: parsed and lowered to a Program (isa), folded with scalar_math, run and reported
    # like a layer (engine, runner's report_with_power, report views); the frontend is not needed
    "mlir": {"npusim.config", "npusim.isa", "npusim.numerics", "npusim.scalar_math", "npusim.engine",
             "npusim.stats", "npusim.power", "npusim.runner", "npusim.report", "npusim.hw.errors", "npusim.output"},
    # ONNX models built in code for tests and examples: onnx only; its command writes the file
    # with the one output writer
    "models": {"npusim.output"},
    # language models: the decoder graph (frontend layers), each distinct layer run once by runner.run_layer,
    # functional passes lowered and run with data (frontend, engine), energy components (power), the text
    # report's table and energy format (report), the command's progress line (progress), files through the
    # one writer
    "llm": {"npusim.config", "npusim.numerics", "npusim.frontend", "npusim.engine", "npusim.runner", "npusim.stats",
            "npusim.power", "npusim.report", "npusim.progress", "npusim.output"},
    # the command line and the package facade (npusim/__init__.py) may import anything
    "cli": ANY,
    # `npusim plot`, a part of the command line in a module of its own
    "cli_plot": ANY,
    # the command line's ONNX parts (run/lower --onnx, import-onnx), a module of their own
    "cli_onnx": ANY,
    # the command line's exit codes: the error classes of the engine and the output writer
    "cli_errors": {"npusim.engine", "npusim.hw.errors", "npusim.output"},
    # the operand-type flags of the layer commands: the usage error and the operand types
    "cli_types": {"npusim.cli_errors", "npusim.config"},
    "__init__": ANY,
    # the progress bars: the Report type of run_workload's callback (stats), and the engine's
    # progress callback of one run (RunOptions)
    "progress": {"npusim.stats", "npusim.engine"},
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("").parts
    return rel[0]


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every npusim module ``path`` imports."""
    name = dotted(path)
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import mod` imports the module pkg.mod when it exists
            for a in node.names:
                sub = f"{target}.{a.name}"
                sub_path = PACKAGE.parent / Path(*sub.split("."))
                out.append((node.lineno, sub if sub_path.with_suffix(".py").exists()
                            or (sub_path / "__init__.py").exists() else target))
    return [(line, mod) for line, mod in out if mod == "npusim" or mod.startswith("npusim.")]


def allowed(mod: str, prefixes: set[str]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def test_the_allowed_map_covers_every_package() -> None:
    found = {package_of(p) for p in modules()}
    assert found <= set(ALLOWED), f"packages without import rules: {sorted(found - set(ALLOWED))}"


def test_no_module_exceeds_the_size_budget() -> None:
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text().splitlines()) for p in modules()}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines (STYLE point 6): {over}"


def test_imports_follow_the_arrows() -> None:
    bad = []
    for path in modules():
        pkg = package_of(path)
        rule = ALLOWED[pkg]
        if rule is ANY:
            continue
        own = f"npusim.{pkg}"
        for line, mod in imported(path):
            if not allowed(mod, rule | {own}):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {mod} "
                           f"(npusim.{pkg} may import {sorted(rule) or 'nothing from npusim'})")
    assert not bad, "imports against the arrows:\n" + "\n".join(bad)


def test_the_import_reader_resolves_relative_imports() -> None:
    # A guard on the checker itself: it must see hw -> stats and stats -> hw.timing as they are.
    ddr = imported(PACKAGE / "hw" / "ddr.py")
    assert ("npusim.stats.recorder" in {m for _, m in ddr})
    report = {m for _, m in imported(PACKAGE / "stats" / "report.py")}
    assert {"npusim.config", "npusim.hw.timing", "npusim.stats.recorder"} <= report
    cli = {m for _, m in imported(PACKAGE / "cli.py")}
    assert "npusim" in cli and "npusim.cli_errors" in cli
    assert "npusim.hw.errors" in {m for _, m in imported(PACKAGE / "cli_errors.py")}
    assert not allowed("npusim.hw.dma", ALLOWED["stats"] or set())
    assert allowed("npusim.hw.timing", ALLOWED["stats"] or set())
