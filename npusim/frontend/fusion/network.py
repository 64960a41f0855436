"""A network run end to end on real data: the workload's dispatches (its fusion schedule) one
after another, each reading the outputs the ones before it left in DDR.

Each dispatch runs in functional mode on the given weights; an activation it reads comes from the
layer that wrote it (read back from DDR after that dispatch, as the host would, and laid out for
the next dispatch: the host's part, not simulated) or from ``inputs`` for what the host provides.
What comes back is every output that reached DDR, so a test can compare the network's output with
a numpy reference of its own.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ...config import NPUConfig
from ...engine import RunOptions, run_functional
from ...numerics import Array, storage_dtype
from ..data.matmul import pack, unpack
from ..data.vector import pack_vector, unpack_vector
from ..layers.matmul import AnyLayer, Conv2d, Gemm
from ..layers.workload import Workload
from ..lower import lower
from ..mapper.search import MappingCache
from ..program.vector import lower_vector, tensor_bytes
from .data import operand_names, operand_shape, outputs, pack_group, pack_resident, resident_outputs
from .dataflow import producers
from .explain import layer_cycles
from .search import Dispatch, FusionCache, plan_fusion

Operands = dict[str, Array]


def _operands(workload: Workload, i: int, d: Dispatch, edges: list[tuple[int | None, ...]], got: Mapping[str, Array],
              inputs: Mapping[str, Operands], weights: Mapping[str, Operands]) -> Operands:
    """Layer ``i``'s operands: its weights, what earlier dispatches wrote (what its own dispatch
    writes stays on chip), what the host gives."""
    layer = workload.layers[i]
    ops = dict(weights.get(layer.name, {}))
    for name, src in zip(operand_names(layer), edges[i]):
        if src is not None and d.start <= src < d.stop:  # on chip: the group's program never reads it
            ops[name] = np.zeros(operand_shape(layer, name), dtype=storage_dtype(layer.dtype))
        elif src is not None:
            ops[name] = got[workload.layers[src].name].reshape(operand_shape(layer, name))
    ops.update({k: v for k, v in inputs.get(layer.name, {}).items() if k not in ops})
    return ops


def _alone(config: NPUConfig, layer: AnyLayer, ops: Operands, cache: MappingCache, options: RunOptions) -> Array:
    if isinstance(layer, (Gemm, Conv2d)):
        low = lower(config, layer, cache=cache)
        _, out = run_functional(config, low.program, pack(low.plan, ops, low.a_bytes), options, layer.name, low.layout)
        return unpack(low.plan, out)
    vlow = lower_vector(config, layer)
    tensors = pack_vector(vlow.plan, ops, tensor_bytes(vlow.plan))
    _, out = run_functional(config, vlow.program, tensors, options, layer.name, vlow.layout)
    return unpack_vector(vlow.plan, out)


def run_network(config: NPUConfig, workload: Workload, inputs: Mapping[str, Operands],
                weights: Mapping[str, Operands], options: RunOptions | None = None,
                schedule: Sequence[Dispatch] | None = None) -> dict[str, Array]:
    """Every layer output that reached DDR, by layer name, from running ``workload``'s dispatches
    (``schedule``, or the fusion search's) on ``weights`` (by layer: ``w``/``b`` and ``bias``, a
    binary operator's constant ``y``) and the host's ``inputs`` (by layer: its activation operands
    no layer writes, ``x``/``a``)."""
    options = options or RunOptions()
    if schedule is None:
        alone = layer_cycles(config, workload)
        schedule = plan_fusion(config, workload, alone, FusionCache()) if options.fusion else [
            Dispatch(i, i + 1) for i in range(len(alone))]
    edges = producers(workload)
    cache = MappingCache()
    got: dict[str, Array] = {}
    for d in schedule:
        ops = [_operands(workload, i, d, edges, got, inputs, weights) for i in range(d.start, d.stop)]
        if d.fused is None:
            got[workload.layers[d.start].name] = _alone(config, workload.layers[d.start], ops[0], cache, options)
            continue
        fused = d.fused
        if fused.kind == "resident":
            group, bands = fused.detail
            tensors = pack_resident(group, bands, ops)
        else:
            tensors = pack_group(fused.detail, fused.spec, ops)
        _, out = run_functional(config, fused.program, tensors, options, fused.program.name, fused.layout)
        results = resident_outputs(group, bands, out) if fused.kind == "resident" else outputs(fused.detail, fused.spec, out)
        got.update({workload.layers[d.start + i].name: value for i, value in results.items()})
    return got
