"""Running an imported design: timing-only or on data, reported in the design's own names.

In functional mode every runtime-sequence argument starts as the array given for it (its
declared shape and element type) or as random numbers drawn with the run's seed; the data moves
through the design's own BDs, locks and access patterns and the cores compute on it; every
argument is read back afterwards. A deadlock's report names, beside npusim's names, the
ObjectFIFO, lock or buffer of the design each one is, and each tile's SSA name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .. import scalar_math as sm
from ..config import NPUConfig
from ..engine import DeadlockError, RunOptions, run_functional, run_program
from ..isa import verify
from ..numerics import Array
from ..runner import report_with_power
from ..stats import Report
from .builder import NameMap
from .dims import element_bytes
from .errors import MlirError
from .importer import Imported
from .runtime import Argument

_UNIT = re.compile(r"\b(core|tile|mem|shim) \((\d+),(\d+)\)( (?:mm2s|s2mm)\d+)?")
_QUOTED = re.compile(r"'([^']+)'")


@dataclass
class DesignRun:
    """A run's report, and in functional mode every runtime argument's data after it."""

    report: Report
    outputs: dict[str, Array] = field(default_factory=dict)


def random_input(arg: Argument, seed: int) -> Array:
    """Random data for an argument: small integers, or normal floats (bf16-rounded)."""
    rng = np.random.default_rng([seed, sum(map(ord, arg.name))])
    elem, shape = arg.type.elem, arg.type.shape
    if elem in ("bf16", "f32"):
        return sm.value(elem, rng.standard_normal(arg.type.count).astype(np.float32)).reshape(shape)
    low, high = (-128, 128) if elem in ("i8", "ui8") else (-1000, 1000)
    return sm.value(elem, rng.integers(max(low, 0) if elem.startswith("u") else low, high, arg.type.count)).reshape(shape)


def _pack(arg: Argument, data: Array) -> Array:
    if data.size != arg.type.count:
        raise MlirError(arg.name, None, f"input for '{arg.name}' has {data.size} elements, the argument "
                        f"{arg.type} has {arg.type.count}; give an array of its shape")
    return sm.to_bytes(sm.value(arg.type.elem, data.reshape(-1)), arg.type.elem)


def explain(message: str, names: NameMap) -> str:
    """``message`` with the design's meaning after each unit and quoted name it knows."""
    def unit(m: re.Match[str]) -> str:
        xy = (int(m.group(2)), int(m.group(3)))
        ssa = names.tiles.get(xy, "")
        channel = (m.group(4) or "").strip()
        serves = names.channels.get((xy, channel)) if channel else None
        return m.group(0) + (f" [{ssa}{', ' + serves if serves else ''}]" if ssa else "")

    def quoted(m: re.Match[str]) -> str:
        meaning = names.explain(m.group(1))
        return m.group(0) + (f" [{meaning}]" if meaning else "")

    return "\n".join(_QUOTED.sub(quoted, _UNIT.sub(unit, line)) for line in message.splitlines())


def run_design(config: NPUConfig, imported: Imported, options: RunOptions, inputs: dict[str, Array] | None = None,
               source: str = "<mlir>") -> DesignRun:
    """Simulate an imported design; with ``options.functional``, on ``inputs`` (by argument name,
    without ``%``) or random data."""
    program = imported.program
    layout = verify(program, config, source)
    try:
        if not options.functional:
            rec = run_program(config, program, options, source, layout)
            return DesignRun(report_with_power(rec, config, program.name, layout))
        args = imported.args
        unknown = sorted(set(inputs or {}) - set(args))
        if unknown:
            raise MlirError(source, None, f"--input {unknown[0]}: the runtime sequence has no argument of that name "
                            f"(it has: {', '.join(args) or 'none'})")
        tensors = {n: _pack(a, (inputs or {}).get(n, random_input(a, options.seed))) for n, a in args.items()}
        rec, out = run_functional(config, program, tensors, options, source, layout)
    except DeadlockError as exc:
        raise DeadlockError(explain(str(exc), imported.names), exc.blocked, exc.cycle) from None
    outputs = {n: sm.from_bytes(out[n][:a.type.count * element_bytes(a.type.elem)], a.type.elem).reshape(a.type.shape)
               for n, a in args.items()}
    return DesignRun(report_with_power(rec, config, program.name, layout), outputs)
