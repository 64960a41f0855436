"""A fused group: consecutive layers of a workload run as one program, one dispatch.

Each member runs its own design on its own column of the array (spatial pipelining, as
mlir-aie's ResNet puts each bottleneck block on a column): the mapper's design for a one-column
array, moved to the member's column. Members that feed each other keep the tensor in the
producer's memory tile (:mod:`.handoff`); every other input and output goes through the member's
own shim as it would alone. All members run at once: independent ones (a residual block's
downsample branch) in parallel, a consumer as soon as the rows it reads have landed, and every
member's weights stream in from the start, while the layers before it compute.

A member's design is searched on a one-column array whose memory tile is what the member can
use: what the on-chip tensor it keeps leaves, with one MM2S channel fewer per reader. What cannot
be built (a tensor that does not fit, no channel or switch port left, layouts that do not agree)
raises :class:`~..errors.LoweringError`, and the group is not a candidate.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from ...config import NPUConfig
from ...isa import BufferTask, DmaTask, Layout as Placed, Program, Route, RuntimeOp, Tensor, Wait
from ..errors import LoweringError
from ..layers.matmul import AnyLayer, Conv2d, Gemm
from ..mapper.candidates import candidates, plan_of
from ..mapper.design import Design, Pins, TilePlan
from ..mapper.estimate import Context
from ..mapper.search import MappingCache, build as build_plan
from ..mapper.vector import plan_vector
from ..program.common import verify_lowering
from ..program.vector import lower_vector
from .dataflow import Shape, out_shape
from .handoff import Member, copy_to_ddr, free_mm2s, keep_output, read_on_chip, tensors_used, with_zeros
from .layout import Layout, Plan, channel_slices_fit, consumer_layout, tensor_size
from .relocate import relocate
from .remap import remapped, zero_bytes
from .sequence import Stream, interleave


@dataclass(frozen=True, slots=True)
class Spec:
    """A group to build: its layers and, per layer and activation operand, the group-local index of
    the member it reads (None: DDR); ``external[i]``: member ``i``'s output is also needed outside."""

    layers: tuple[AnyLayer, ...]
    sources: tuple[tuple[int | None, ...], ...]
    external: tuple[bool, ...]

    def readers(self, i: int) -> list[tuple[int, int]]:
        """(consumer, operand) pairs of the group that read member ``i``."""
        return [(c, k) for c, srcs in enumerate(self.sources) for k, p in enumerate(srcs) if p == i]


@dataclass(frozen=True, slots=True)
class Built:
    """A group's program, verified, with what it keeps on chip."""

    program: Program
    layout: Placed
    plans: tuple[Plan, ...]
    members: tuple[Member, ...]
    a_bytes: tuple[int, ...] = ()
    """Each member's A tensor as its design alone reads it (functional mode packs into it)."""
    keeps: dict[int, Layout] = field(default_factory=dict)
    """Member index -> layout of its output kept on chip."""
    on_chip_bytes: int = 0
    """Bytes written into and read out of the on-chip tensors."""


def member_config(config: NPUConfig, keep_bytes: int, readers: int) -> NPUConfig:
    """The one-column array a member's design is searched on: the memory tile without the room of
    the tensor it keeps, and without one MM2S channel per reader of that tensor."""
    mt = config.mem_tile
    size = (mt.size_kib * 1024 - keep_bytes) // 1024
    if size < 1 or mt.dma.mm2s_channels - readers < 1:
        raise LoweringError(f"a member keeping {keep_bytes} bytes for {readers} readers leaves no memory tile "
                            f"(mem_tile.size_kib = {mt.size_kib})")
    dma = mt.dma.model_copy(update={"mm2s_channels": mt.dma.mm2s_channels - readers})
    return config.model_copy(update={"columns": 1, "mem_tile": mt.model_copy(update={"size_kib": size, "dma": dma})})


def member_design(cfg: NPUConfig, layer: AnyLayer) -> tuple[Plan, int]:
    """A member's design on its one-column array and its estimated cycles: of the mapper's
    candidates, the one whose busiest core or stream is least busy (its DDR traffic shares the
    group's DDR, and part of it stays on chip, so DDR time does not rank the members' designs)."""
    if not isinstance(layer, (Gemm, Conv2d)):
        vp = plan_vector(cfg, layer)
        return vp, vp.estimate.compute + vp.estimate.stream
    ctx = Context.of(cfg, layer)
    best: tuple[int, int, Design] | None = None
    # the options that change no stream; rows split M and strip tiles, the layouts .layout knows
    for grp in candidates(ctx, Pins(c_buffers=2, c_storage="acc", split="m", pixels="strip")):
        e = grp.est
        score = np.maximum(e["compute"], e["stream"]) + e["overhead"]
        i = int(np.lexsort((e["ddr_bytes"], score))[0])
        key = (int(score[i]), int(e["ddr_bytes"][i]))
        if best is None or key < best[:2]:
            best = (key[0], key[1], grp.design(i))
    if best is None:
        raise LoweringError(f"'{layer.name}' fits no one-column design")
    return plan_of(ctx, best[2]), best[0]


def _lowered(cfg: NPUConfig, layer: AnyLayer, cache: MappingCache | None) -> tuple[Plan, Program]:
    if isinstance(layer, (Gemm, Conv2d)):
        plan, _ = member_design(cfg, layer)
        assert isinstance(plan, TilePlan)
        return plan, build_plan(cfg, plan)[0]
    low = lower_vector(cfg, layer)
    return low.plan, low.program


Views = dict[tuple[int, int], Layout]
"""(consumer, operand) -> the layout that reader reads the on-chip tensor in."""


def plan_members(config: NPUConfig, spec: Spec, cache: MappingCache | None) -> tuple[list[Plan], list[Program],
                                                                                     dict[int, Layout], Views]:
    """Each member's design, consumers first (a producer's design leaves room for its consumers'
    layout), the layout each producer's kept output takes (of its readers' layouts, the largest:
    a convolution's padded image holds what a dense reader reads) and the layout each reader reads."""
    n = len(spec.layers)
    plans: list[Plan | None] = [None] * n
    programs: list[Program | None] = [None] * n
    keeps: dict[int, Layout] = {}
    views: Views = {}
    for i in reversed(range(n)):
        readers = spec.readers(i)
        keep = 0
        if readers:
            for c, k in readers:
                view = _layout(plans, programs, c, k, out_shape(spec.layers[i]))
                if view is None:
                    raise LoweringError(f"'{spec.layers[c].name}' reads '{spec.layers[i].name}' with a border "
                                        "that is not zero")
                views[(c, k)] = view
            keeps[i] = max((views[r] for r in readers), key=lambda v: v.size_bytes)
            keep = keeps[i].size_bytes
        extra = len(readers) + (1 if readers and spec.external[i] else 0)
        plans[i], programs[i] = _lowered(member_config(config, keep, extra), spec.layers[i], cache)
        if readers and not channel_slices_fit(plans[i], keeps[i]):  # type: ignore[arg-type]
            raise LoweringError(f"'{spec.layers[i].name}' writes channels past its consumer's pixel slots")
    return [p for p in plans if p is not None], [p for p in programs if p is not None], keeps, views


def _layout(plans: list[Plan | None], programs: list[Program | None], c: int, k: int, shape: Shape) -> Layout | None:
    plan, program = plans[c], programs[c]
    assert plan is not None and program is not None
    return consumer_layout(plan, program, shape, k)


def build(config: NPUConfig, spec: Spec, cache: MappingCache | None = None, name: str = "group") -> Built:
    """Plan, place, connect and verify the group (raises :class:`LoweringError` if it cannot be)."""
    if len(spec.layers) > config.columns:
        raise LoweringError(f"{len(spec.layers)} members need as many columns; the array has {config.columns}")
    plans, programs, keeps, views = plan_members(config, spec, cache)
    members = [Member(plan, relocate(prog, i, f"L{i}."), i, f"L{i}.") for i, (plan, prog) in enumerate(zip(plans, programs))]
    progs = [m.program for m in members]
    writes: dict[str, list[BufferTask]] = {}
    outputs: list[set[str]] = [{op.name for op in m.program.runtime if isinstance(op, DmaTask)
                                and op.tensor == f"{m.prefix}C"} for m in members]
    routes: list[Route] = []
    tail: list[RuntimeOp] = []
    tensors: list[Tensor] = []
    on_chip = 0
    taken: dict[int, set[str]] = {i: set() for i in keeps}
    for i, into in keeps.items():
        m = members[i]
        t_name = f"{m.prefix}T"
        progs[i], names = keep_output(config, replace(m, program=progs[i]), out_shape(spec.layers[i]), into, t_name)
        written = [op for op in progs[i].runtime if isinstance(op, BufferTask) and op.name in set(names)]
        writes[t_name] = [op for op in written if op.buffer == t_name]
        outputs[i] = set(names)
        on_chip += sum(op.length_bytes for op in writes[t_name])
        if spec.external[i]:
            reader = _reader(config, progs[i], m, taken[i])
            route, ops, size = copy_to_ddr(m, into, t_name, reader)
            routes.append(route)
            tail += [Wait("wait", tuple(names))] + ops
            tensors.append(Tensor(f"{m.prefix}out", size))
    for c, srcs in enumerate(spec.sources):
        for k, p in enumerate(srcs):
            if p is None:
                continue
            reader = _reader(config, progs[p], members[p], taken[p])
            t_name = f"{members[p].prefix}T"
            move = None if views[(c, k)] == keeps[p] else partial(
                remapped, own=views[(c, k)], stored=keeps[p], zeros=f"{t_name}_zeros",
                dims=config.mem_tile.dma.address_dims, iterations=config.mem_tile.dma.max_iterations)
            progs[c], route, reads = read_on_chip(progs[c], members[c], k, members[p], reader, t_name, move)
            progs[p] = with_zeros(progs[p], members[p].mem, f"{t_name}_zeros", zero_bytes(reads, f"{t_name}_zeros"))
            routes.append(route)
            on_chip += sum(op.length_bytes for op in reads if op.buffer == t_name)
    streams = [Stream(tuple(op for op in p.runtime if not isinstance(op, Wait)), frozenset(out))
               for p, out in zip(progs, outputs)]
    runtime = interleave(streams, writes) + tuple(tail)
    program = Program(name, tuple(tp for p in progs for tp in p.tiles),
                      tuple(rt for p in progs for rt in p.routes) + tuple(routes),
                      tuple(t for p in progs for t in tensors_used(p).tensors) + tuple(tensors), runtime,
                      f"fused group of {', '.join(ly.name for ly in spec.layers)}")
    layout = verify_lowering(program, config, name, f"the fused group {name}")
    return Built(program, layout, tuple(plans), tuple(replace(m, program=p) for m, p in zip(members, progs)),
                 tuple(tensor_size(p, "A") for p in programs), keeps, on_chip)


def _reader(config: NPUConfig, program: Program, m: Member, taken: set[str]) -> str:
    ch = free_mm2s(config, program, m.mem, taken)
    if ch is None:
        raise LoweringError(f"no MM2S channel of memory tile {m.mem} is left to read the kept tensor")
    taken.add(ch)
    return ch


def describe(spec: Spec) -> dict[str, Any]:
    return {"layers": [ly.name for ly in spec.layers], "sources": [list(s) for s in spec.sources],
            "external": list(spec.external)}
