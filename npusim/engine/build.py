"""Build the hardware units of an array from an NPUConfig and load a verified Program.

This is the only module that sees the whole config: each unit gets its own spec slice.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..config import NPUConfig
from ..hw import timing
from ..hw.command_processor import CommandProcessor
from ..hw.compute_tile import Core
from ..hw.data import Bytes, DataPlane
from ..hw.ddr import Ddr
from ..hw.dma import TileDmaChannel
from ..hw.lock import Lock, PairLock
from ..hw.mem_task import BufferTaskChannel
from ..hw.shim_tile import ShimChannel
from ..hw.stream_switch import StreamRoute
from ..hw.unit import ArrayClock, ProgressWatch, Unit
from ..isa import Acquire, BufferTask, Compute, Endpoint, Instruction, Layout, Loop, Program, ProgramError, Release, Vector
from ..stats.recorder import Recorder
from .options import RunOptions


def unit_name(tile: tuple[int, int], what: str, config: NPUConfig) -> str:
    kind = {"shim": "shim", "mem": "mem", "compute": "core" if what == "core" else "tile"}
    prefix = kind[config.tile_kind(tile[1])]
    base = f"{prefix} ({tile[0]},{tile[1]})"
    return base if what == "core" else f"{base} {what}"


@dataclass
class Machine:
    """The built array: the SimPy environment, every unit, the progress watch and the recorder."""

    env: ArrayClock
    units: list[Unit]
    locks: dict[str, Lock | PairLock]
    lock_tiles: dict[str, tuple[int, int]]
    """The tile each lock lives in."""
    watch: ProgressWatch
    rec: Recorder
    data: DataPlane | None = None
    """Functional mode's memories (None in timing-only mode)."""


def _check_operands(body: tuple[Instruction, ...], where: str) -> None:
    for i, ins in enumerate(body):
        if isinstance(ins, Compute) and None in (ins.a, ins.b, ins.c):
            raise ProgramError(
                f"{where}[{i}]: functional mode needs the operand buffers of every compute call; "
                "give it a, b and c (or run timing-only)")
        if isinstance(ins, Vector) and (not ins.inputs or ins.out is None):
            raise ProgramError(
                f"{where}[{i}]: functional mode needs the buffers of every vector call; "
                "give it inputs and out (or run timing-only)")
        if isinstance(ins, Loop):
            _check_operands(ins.body, f"{where}[{i}].body")


def _lock_ops(body: tuple[Instruction, ...], kind: type[Acquire] | type[Release]) -> set[str]:
    names: set[str] = set()
    for ins in body:
        if isinstance(ins, kind):
            names.add(ins.lock)
        elif isinstance(ins, Loop):
            names |= _lock_ops(ins.body, kind)
    return names


def pair_locks(program: Program) -> set[str]:
    """Locks that at most one unit (a core or a DMA channel) acquires and at most one releases."""
    acquirers: dict[str, int] = {}
    releasers: dict[str, int] = {}
    for tp in program.tiles:
        for kind, count in ((Acquire, acquirers), (Release, releasers)):
            units = [_lock_ops(tp.core, kind)]
            for ch in tp.dma:
                ops = [bd.acquire if kind is Acquire else bd.release for bd in ch.bds]
                units.append({op.lock for op in ops if op is not None})
            for names in units:
                for name in names:
                    count[name] = count.get(name, 0) + 1
    return {n for n in acquirers.keys() | releasers.keys() if acquirers.get(n, 0) <= 1 and releasers.get(n, 0) <= 1}


def _routes(env: ArrayClock, config: NPUConfig, program: Program, layout: Layout,
            ddr: Ddr, rec: Recorder) -> dict[str, StreamRoute]:
    routes = {}
    for rt in program.routes:
        ends = (rt.source,) + rt.destinations
        specs = [config.tile_spec(ep.tile[1]).dma for ep in ends]
        path = layout.paths[rt.name]
        shim = [config.tile_kind(ep.tile[1]) == "shim" for ep in ends]
        routes[rt.name] = StreamRoute(
            env, rt.name,
            rate=timing.stream_bytes_per_cycle(config.stream_switch, specs[0], specs[1:]),
            latency=[0] + [timing.route_latency_cycles(config.stream_switch, s) for s in path.switches],
            labels=[unit_name(ep.tile, ep.channel, config) for ep in ends],
            stats=rec.route(rt.name, path.switches),
            chan=[rec.channel(ep.tile, ep.channel) for ep in ends],
            ddr=ddr, ddr_reads=int(shim[0]), ddr_writes=sum(shim[1:]))
    return routes


def build(config: NPUConfig, program: Program, layout: Layout, options: RunOptions,
          tensors: Mapping[str, Bytes] | None = None, source: str = "<program>") -> Machine:
    """Create the units for ``program`` (already verified against ``config``). With ``tensors``
    (initial DDR contents by tensor name; others start zeroed) the run is functional."""
    data = None
    if tensors is not None:
        for tp in program.tiles:
            _check_operands(tp.core, f"{source}: {unit_name(tp.tile, 'core', config)}: core")
        data = DataPlane({n: b.size_bytes for n, b in layout.buffers.items()},
                         {t.name: t.size_bytes for t in program.tensors}, tensors)
    env = ArrayClock()
    rec = Recorder(intervals=[] if options.record_intervals else None)
    watch = ProgressWatch(env)
    ddr = Ddr(env, timing.ddr_bytes_per_cycle(config.ddr, config.clock_mhz), rec.ddr,
              *timing.ddr_limits_bytes_per_cycle(config.ddr, config.clock_mhz))
    pairs = pair_locks(program)
    locks = {name: (PairLock if name in pairs else Lock)(env, name, init, config.locks.max_value)
             for name, (_, init) in layout.locks.items()}
    routes = _routes(env, config, program, layout, ddr, rec)
    units: list[Unit] = []
    for tp in program.tiles:
        if tp.core:
            units.append(Core(env, unit_name(tp.tile, "core", config), tp.core, config.compute_tile,
                              config.locks, locks, rec, rec.core(tp.tile), watch, data))
        for ch in tp.dma:
            name, pos = layout.route_of[Endpoint(tp.tile, ch.channel)]
            units.append(TileDmaChannel(
                env, unit_name(tp.tile, ch.channel, config), ch, config.tile_spec(tp.tile[1]).dma,
                config.locks, locks, routes[name], pos + 1, rec, rec.channel(tp.tile, ch.channel),
                watch, options.stall_limit_cycles, data))
    shims: dict[Endpoint, ShimChannel] = {}
    ddr_latency = timing.ddr_latency_cycles(config.ddr, config.clock_mhz)
    tasked = {Endpoint(op.tile, op.channel) for op in program.runtime if isinstance(op, BufferTask)}
    for ep, (name, pos) in layout.route_of.items():
        if config.tile_kind(ep.tile[1]) == "shim":
            shims[ep] = ShimChannel(env, unit_name(ep.tile, ep.channel, config), routes[name], pos + 1,
                                    config.shim_tile.task_queue_depth, config.shim_tile.dma.startup_cycles,
                                    config.ddr, ddr_latency, rec, rec.channel(ep.tile, ep.channel), watch,
                                    data)
        elif ep in tasked:
            shims[ep] = BufferTaskChannel(env, unit_name(ep.tile, ep.channel, config), routes[name], pos + 1,
                                          config.mem_tile.task_queue_depth, config.mem_tile.dma.startup_cycles,
                                          config.ddr, rec, rec.channel(ep.tile, ep.channel), watch, data)
    units.extend(shims.values())
    if program.runtime:
        units.append(CommandProcessor(env, program.runtime, shims, watch))
    return Machine(env, units, locks, {n: t for n, (t, _) in layout.locks.items()}, watch, rec, data)
