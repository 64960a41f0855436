"""npusim: a cycle-level simulator of AMD XDNA-style NPUs.

>>> from npusim import load_config, load_program, simulate
>>> report = simulate(load_config("configs/npu1.yaml"), load_program("traces/passthrough.json"))
"""
from __future__ import annotations

from .config import ConfigError, NPUConfig, load_config
from .engine import DeadlockError, MaxCyclesError, RunOptions, run_program
from .frontend import (
    Conv2d, Elementwise, Gemm, LayerNorm, LoweringError, OnnxImportError, Pool, Softmax, WorkloadError, import_onnx,
    load_workload, lower, lower_vector,
)
from .isa import Compute, Instruction, Loop, Program, ProgramError, load_program, save_program, verify
from .runner import OperatorShare, WorkloadReport, report_with_power, run_layer, run_workload
from .stats import Report, make_report
from . import sweep  # the module, callable: npusim.sweep(...) runs a sweep, npusim.sweep.totals sums it


def simulate(config: NPUConfig, program: Program, options: RunOptions | None = None,
             source: str = "<program>") -> Report:
    """Verify and run ``program`` on ``config``; return its :class:`Report`.

    Raises :class:`ProgramError` if the program does not fit the config, :class:`DeadlockError`
    if it stops making progress, :class:`MaxCyclesError` past ``options.max_cycles``. The report
    carries the power model's energy (``energy_j``, ``average_power_w``, ...); its peak power
    needs ``RunOptions(record_intervals=True)``.
    """
    if options is not None and options.functional:
        raise ValueError("functional mode needs a layer with data (run_layer or run_workload); a trace "
                         "carries no data: run it timing-only")
    layout = verify(program, config, source)
    rec = run_program(config, program, options, source, layout)
    return report_with_power(rec, config, program.name, layout, dtype=_fastest_dtype(config, program))


def _fastest_dtype(config: NPUConfig, program: Program) -> str | None:
    """The data type whose peak a trace's report states: the fastest its kernels use."""
    used: set[str] = set()

    def walk(body: tuple[Instruction, ...]) -> None:
        for ins in body:
            if isinstance(ins, Compute):
                used.add(ins.types)
            elif isinstance(ins, Loop):
                walk(ins.body)

    for tp in program.tiles:
        walk(tp.core)
    tile = config.compute_tile
    rated = [t for t in sorted(used) if tile.peak_macs_per_cycle(t)]
    return max(rated, key=tile.peak_macs_per_cycle, default=None)


__all__ = [
    "ConfigError", "Conv2d", "DeadlockError", "Elementwise", "Gemm", "LayerNorm", "LoweringError", "MaxCyclesError",
    "NPUConfig", "OnnxImportError", "OperatorShare", "Pool", "Program", "ProgramError", "Report", "RunOptions",
    "Softmax", "WorkloadError", "WorkloadReport", "import_onnx", "load_config", "load_program", "load_workload",
    "lower", "lower_vector", "run_layer", "run_workload", "save_program", "simulate", "sweep",
]
