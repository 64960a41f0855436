"""What a fused group's report says about it, and its data in functional mode."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...isa import BufferTask
from ...numerics import Array
from ..layers.matmul import AnyLayer
from ..mapper.design import TilePlan
from .data import chained, check, outputs, pack_group, pack_resident, resident_outputs
from .group import Built
from .resident import tiles_per_band
from .search import Fused

Check = Callable[[dict[str, Array]], tuple[bool, float]]


def group_data(fused: Fused, seed: int) -> tuple[dict[str, Array], Check]:
    """The DDR tensors of a group's run on random operands (member ``i`` with seed ``seed + i``),
    and the check of the run's DDR tensors against numpy's chain of the members' answers."""
    spec = fused.spec
    if fused.kind == "resident":
        group, bands = fused.detail
        operands, answers = chained(spec, group.plans, seed)
        return (pack_resident(group, bands, operands),
                lambda out: check(spec, answers, resident_outputs(group, bands, out)))
    built: Built = fused.detail
    operands, answers = chained(spec, built.plans, seed)
    return pack_group(built, spec, operands), lambda out: check(spec, answers, outputs(built, spec, out))


def on_chip_bytes(fused: Fused) -> int:
    """Bytes the group moves between its members through memory tiles instead of DDR: written into
    the tensors its members read from each other, and read out of them."""
    if fused.kind == "spatial":
        return int(fused.detail.on_chip_bytes)
    group, bands = fused.detail
    kept = {bands[i].name for i in range(len(group.plans)) if any(s == i for s in group.sources)}
    return sum(op.length_bytes for op in fused.program.runtime
               if isinstance(op, BufferTask) and op.buffer.rsplit("_", 1)[0] in kept)


def group_summary(fused: Fused, layers: Sequence[AnyLayer]) -> dict[str, Any]:
    """The ``lowering`` entry of a group's report (JSON-ready); ``layers``: its members' layers."""
    spec = fused.spec
    members: list[dict[str, Any]] = []
    plans = fused.detail[0].plans if fused.kind == "resident" else fused.detail.plans
    for ly, plan, srcs in zip(layers, plans, spec.sources):
        entry: dict[str, Any] = {"layer": ly.describe(), "name": ly.name,
                                 "reads": [layers[s].name if s is not None else "DDR" for s in srcs]}
        if isinstance(plan, TilePlan):
            entry["tiles"] = {"m": plan.m, "k": plan.k, "n": plan.n}
        members.append(entry)
    if fused.kind == "resident":  # each core runs the members' kernel calls one after another
        group = fused.detail[0]
        for entry, p in zip(members, group.plans):
            entry["calls_per_core"] = p.nb * tiles_per_band(p, group.bands) * p.kt
    else:  # member i runs on column i
        for i, entry in enumerate(members):
            entry["column"] = i
    out: dict[str, Any] = {"layer": f"fused {fused.kind} group of {len(spec.layers)} layers", "kind": fused.kind,
                           "members": members, "bound": "fused"}
    if fused.kind == "resident":
        group = fused.detail[0]
        p = group.plans[0]
        out["tiles"] = {"m": p.m, "k": p.k, "n": p.n}
        out["design"] = {"bands": group.bands, "slices": group.slices}
    else:
        out["design"] = {"columns": len(spec.layers)}
    return out
