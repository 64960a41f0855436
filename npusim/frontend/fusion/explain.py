"""``npusim lower --onnx MODEL --fusion on``: which layers fuse, and what the search measured."""
from __future__ import annotations

from ...config import NPUConfig
from ...engine import RunOptions, run_program
from ..layers.matmul import Conv2d, Gemm
from ..layers.workload import Workload
from ..lower import lower
from ..mapper.search import MappingCache
from ..program.vector import lower_vector
from .dataflow import producers
from .search import FusionCache, plan_fusion


def layer_cycles(config: NPUConfig, workload: Workload) -> list[int]:
    """Each layer's cycles alone: the mapper's measured winner (a vector operator simulated)."""
    cache = MappingCache()
    out = []
    for layer in workload.layers:
        if isinstance(layer, (Gemm, Conv2d)):
            low = lower(config, layer, cache=cache)
            out.append(low.search.winner.cycles if low.search is not None else low.plan.estimate.cycles)
        else:
            vlow = lower_vector(config, layer)
            out.append(run_program(config, vlow.program, RunOptions(), layer.name, vlow.layout).cycles)
    return out


def explain_fusion(config: NPUConfig, workload: Workload, cache: FusionCache | None = None) -> str:
    """The fusion plan of ``workload`` in words: the edges it found, then each dispatch."""
    alone = layer_cycles(config, workload)
    layers = workload.layers
    edges = producers(workload)
    reads = [f"{ly.name} <- {', '.join(layers[s].name for s in src if s is not None)}"
             for ly, src in zip(layers, edges) if any(s is not None for s in src)]
    out = [f"fusion   {workload.name}: {len(reads)} of {len(layers)} layers read another layer's output"]
    out += [f"  {r}" for r in reads]
    schedule = plan_fusion(config, workload, alone, cache)
    total = 0
    for d in schedule:
        names = ", ".join(ly.name for ly in layers[d.start:d.stop])
        one_by_one = sum(alone[d.start:d.stop])
        if d.fused is None:
            out.append(f"  layer  {names}: {alone[d.start]:,} cycles alone")
            total += alone[d.start] * layers[d.start].count
            continue
        out.append(f"  group  {names}: {d.fused.kind}, {d.fused.cycles:,} cycles fused against {one_by_one:,} one by one")
        total += d.fused.cycles * layers[d.start].count
    out.append(f"total    {total:,} cycles in {len(schedule)} dispatches, against "
               f"{sum(c * ly.count for c, ly in zip(alone, layers)):,} in {sum(ly.count for ly in layers)} layer by layer")
    return "\n".join(out)
