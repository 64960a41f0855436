"""Dispatch and reconfiguration: what a workload pays on top of the array's cycles.

A workload runs as a sequence of *dispatches*: each instance of an unfused layer (a layer with
``count`` N is N dispatches) and each fused group is one command the host submits and waits for.
Every dispatch costs ``config.dispatch.dispatch_us``. A dispatch whose program *configuration*
differs from the one the array holds first costs ``config.dispatch.reconfiguration_us``.

The configuration of a program is everything but its runtime sequence: its tiles (buffers, locks,
core programs, BD chains) and its stream-switch routes. Two dispatches share it when these are
equal, whatever their names and DDR addresses: identical layers (the same shape, type and design,
as ResNet's repeated blocks or a layer's ``count`` instances) reuse it when they run one after
another; any other change of design reloads it. The array starts with no configuration, so the
first dispatch always loads one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import NPUConfig
from .isa import Program


def configuration_key(program: Program) -> int:
    """A key equal for programs of one configuration (tiles and routes; the runtime sequence,
    the name and the DDR tensors left out)."""
    return hash((program.tiles, program.routes))


@dataclass(frozen=True, slots=True)
class DispatchCosts:
    """What a sequence of dispatches cost on top of the array's time."""

    dispatches: int
    reconfigurations: int
    seconds: float
    """``dispatches * dispatch_us + reconfigurations * reconfiguration_us``, in seconds."""


def dispatch_costs(config: NPUConfig, keys: Sequence[int], counts: Sequence[int]) -> DispatchCosts:
    """The costs of running, in order, ``counts[i]`` dispatches of configuration ``keys[i]``."""
    loaded: int | None = None
    reconfigurations = 0
    for key in keys:
        if key != loaded:
            reconfigurations += 1
            loaded = key
    dispatches = sum(counts)
    spec = config.dispatch
    return DispatchCosts(dispatches, reconfigurations,
                         (dispatches * spec.dispatch_us + reconfigurations * spec.reconfiguration_us) * 1e-6)
