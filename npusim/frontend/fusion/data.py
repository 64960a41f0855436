"""Data of a fused group in functional mode: random operands, the DDR tensors the group's program
reads, and its outputs checked against numpy's chain of the members' answers.

Each member draws its operands as it would alone (seed ``seed + i``); a member that reads
another's output gets, in numpy, that member's answer instead of its own random input. The
group's DDR outputs (the members whose output leaves the group) are read back and compared: exact
for integer outputs; for bf16 and fp32, within a few roundings of the tensor's scale per member
of the chain, as an intermediate rounded differently on the array and in numpy moves the
members after it.
"""
from __future__ import annotations

import numpy as np

from ...numerics import Array, storage_dtype, values
from ..data.matmul import pack, random_operands, reference, unpack
from ..data.vector import pack_vector, random_vector_operands, unpack_vector, vector_reference, x_shape
from ..layers.matmul import AnyLayer, Conv2d, Gemm
from ..layers.vector import Pool
from ..mapper.design import TilePlan
from ..program.conv import a_tensor_bytes
from ..program.vector import tensor_bytes
from .dataflow import in_shape, out_shape, out_type
from .bands import Bands
from .group import Built, Spec
from .resident import Resident
from .layout import Plan

Operands = dict[str, Array]


def operands_of(layer: AnyLayer, seed: int) -> Operands:
    return random_operands(layer, seed) if isinstance(layer, (Gemm, Conv2d)) else random_vector_operands(layer, seed)


def operand_names(layer: AnyLayer) -> tuple[str, ...]:
    if isinstance(layer, Gemm):
        return ("a",)
    return ("x",) if isinstance(layer, Conv2d) else ("x", "y")


def operand_shape(layer: AnyLayer, name: str) -> tuple[int, ...]:
    if isinstance(layer, Gemm):
        return layer.m, layer.k
    if isinstance(layer, Conv2d):
        return in_shape(layer)
    return x_shape(layer)


def chained(spec: Spec, plans: tuple[Plan, ...], seed: int) -> tuple[list[Operands], list[Array]]:
    """Every member's operands (inputs read from another member replaced by its answer) and
    numpy's answer for each member, rounded as its design rounds (``plans``)."""
    ops: list[Operands] = []
    answers: list[Array] = []
    for i, (layer, srcs) in enumerate(zip(spec.layers, spec.sources)):
        mine = operands_of(layer, seed + i)
        for name, src in zip(operand_names(layer), srcs):
            if src is not None:
                mine[name] = answers[src].reshape(operand_shape(layer, name))
        ops.append(mine)
        answers.append(answer(layer, mine, plans[i]))
    return ops, answers


def answer(layer: AnyLayer, operands: Operands, plan: Plan | None = None) -> Array:
    """numpy's answer of one member."""
    if isinstance(layer, (Gemm, Conv2d)):
        return reference(layer, operands, plan if isinstance(plan, TilePlan) else None)
    return vector_reference(layer, operands)


def pack_group(built: Built, spec: Spec, operands: list[Operands]) -> dict[str, Array]:
    """The DDR tensors of the group's program: each member's, as it would pack them alone, minus
    the inputs it reads on chip."""
    names = {t.name for t in built.program.tensors}
    out: dict[str, Array] = {}
    for i, (plan, m) in enumerate(zip(built.plans, built.members)):
        if isinstance(plan, TilePlan):
            packed = pack(plan, operands[i], built.a_bytes[i])
        else:
            packed = pack_vector(plan, operands[i], tensor_bytes(plan))
        out.update({f"{m.prefix}{k}": v for k, v in packed.items() if f"{m.prefix}{k}" in names})
    return out


def outputs(built: Built, spec: Spec, tensors: dict[str, Array]) -> dict[int, Array]:
    """Each member's output that the group wrote to DDR, in the layer's own shape."""
    got: dict[int, Array] = {}
    for i, (plan, m) in enumerate(zip(built.plans, built.members)):
        if f"{m.prefix}C" in tensors:
            c = {"C": tensors[f"{m.prefix}C"]}
            got[i] = unpack(plan, c) if isinstance(plan, TilePlan) else unpack_vector(plan, c)
        elif f"{m.prefix}out" in tensors:
            into = built.keeps[i]
            dense = tensors[f"{m.prefix}out"].view(storage_dtype(out_type(spec.layers[i])))
            img = dense.reshape(into.batch, into.rows, into.cols, into.cp)[..., :into.channels]
            got[i] = img.reshape(answer_shape(spec.layers[i])).copy()
    return got


def answer_shape(layer: AnyLayer) -> tuple[int, ...]:
    if isinstance(layer, Gemm):
        return layer.m, layer.n
    if isinstance(layer, (Conv2d, Pool)):
        return out_shape(layer)
    return x_shape(layer)


def check(spec: Spec, answers: list[Array], got: dict[int, Array]) -> tuple[bool, float]:
    """Whether every output equals numpy's (see the module doc), and the largest absolute error."""
    ok, worst = True, 0.0
    depth = 1 + sum(1 for srcs in spec.sources if any(s is not None for s in srcs))
    for i, value in got.items():
        kind = out_type(spec.layers[i])
        want, have = values(answers[i], kind), values(value, kind)
        if want.shape != have.shape:
            return False, float("inf")
        err = float(np.abs(have - want).max()) if want.size else 0.0
        worst = max(worst, err)
        if kind in ("bf16", "fp32"):
            ok &= err <= depth * 2.0 ** -6 * float(np.abs(want).max(initial=0.0)) + 2.0 ** -20
        else:
            ok &= err == 0
    return ok, worst


def pack_resident(group: Resident, bands: dict[int, Bands], operands: list[Operands]) -> dict[str, Array]:
    """The DDR tensors of a resident group: each member's weights as its design lays them out, each
    DDR input as an NHWC image of ``cp`` channels a pixel."""
    out: dict[str, Array] = {}
    for i, p in enumerate(group.plans):
        out[f"L{i}.B"] = pack(p, operands[i], a_tensor_bytes(p))["B"]
        if group.sources[i] is None:
            x = bands[-1 - i]
            img = np.zeros((x.rows, x.cols, x.cp), dtype=storage_dtype(p.dtype))
            img[..., :x.channels] = operands[i]["x"].reshape(x.rows, x.cols, x.channels)
            out[f"in{i}"] = img.reshape(-1).view(np.uint8)
    return out


def resident_outputs(group: Resident, bands: dict[int, Bands], tensors: dict[str, Array]) -> dict[int, Array]:
    """Each member's output the group wrote to DDR, NHWC."""
    got: dict[int, Array] = {}
    for i, ext in enumerate(group.external):
        if ext:
            y, p = bands[i], group.plans[i]
            img = tensors[f"L{i}.out"].view(storage_dtype(p.out)).reshape(y.rows, y.cols, y.cp)[..., :y.channels]
            got[i] = img.reshape(1, y.rows, y.cols, y.channels).copy()
    return got

