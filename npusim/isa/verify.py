"""Check a Program against a config before any simulation.

Every limit of the hardware that a program can break is checked here, and each error names the
file, the tile (or route, or runtime task), the limit with the config field that sets it, and a
fix. :func:`verify` returns the :class:`Layout` the engine needs: buffer addresses, lock homes and
route paths.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import KernelError, NPUConfig
from ..numerics import OUTPUTS
from .core_code import Code
from .errors import ProgramError
from .instructions import (
    WORD_BYTES, Acquire, BufferDescriptor, Compute, Dim, DmaChannelProgram, Endpoint,
    Instruction, Loop, Program, Release, Tile, TileProgram, Vector, pattern_bytes,
)
from .routing import RoutePath, RoutePlacer
from .verify_code import CodeChecker
from .verify_pattern import PatternUse, check_pattern
from .verify_runtime import check_runtime

_KIND = {"shim": "shim tile", "mem": "memory tile", "compute": "compute tile"}
_SPEC = {"shim": "shim_tile", "mem": "mem_tile", "compute": "compute_tile"}


@dataclass(frozen=True, slots=True)
class PlacedBuffer:
    tile: Tile
    offset_bytes: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Layout:
    """What verification resolved: where buffers and locks live, and where routes run."""

    buffers: dict[str, PlacedBuffer]
    locks: dict[str, tuple[Tile, int]]
    paths: dict[str, RoutePath]
    route_of: dict[Endpoint, tuple[str, int]]
    """Route name and position for each channel (-1 for a route's source)."""


def _t(tile: Tile) -> str:
    return f"({tile[0]},{tile[1]})"


class _Verifier:
    def __init__(self, program: Program, config: NPUConfig, source: str) -> None:
        self.p, self.c, self.src = program, config, source
        self.buffers: dict[str, PlacedBuffer] = {}
        self.locks: dict[str, tuple[Tile, int]] = {}

    def fail(self, where: str, what: str) -> ProgramError:
        return ProgramError(f"{self.src}: {where}: {what}")

    def where(self, tile: Tile) -> str:
        return f"{_KIND[self.c.tile_kind(tile[1])]} {_t(tile)}"

    # -- tiles, buffers, locks -------------------------------------------------------------
    def tiles(self) -> None:
        seen: set[Tile] = set()
        for tp in self.p.tiles:
            col, row = tp.tile
            if not self.c.has_tile(col, row):
                raise self.fail(f"tile {_t(tp.tile)}", (
                    f"no such tile: the array has columns 0..{self.c.columns - 1} and rows "
                    f"0..{self.c.rows - 1} (columns = {self.c.columns}, rows = 1 + mem_tile_rows + "
                    f"compute_rows = {self.c.rows}); fix the coordinates or use a bigger config"))
            if tp.tile in seen:
                raise self.fail(f"tile {_t(tp.tile)}", "listed twice; merge its entries into one")
            seen.add(tp.tile)
            self.tile_memory(tp)
            self.tile_locks(tp)

    def memory_bytes(self, row: int) -> int:
        kind = self.c.tile_kind(row)
        if kind == "compute":
            return self.c.compute_tile.data_mem_kib * 1024
        return self.c.mem_tile.size_kib * 1024 if kind == "mem" else 0

    def tile_memory(self, tp: TileProgram) -> None:
        kind = self.c.tile_kind(tp.tile[1])
        capacity = self.memory_bytes(tp.tile[1])
        field = "compute_tile.data_mem_kib" if kind == "compute" else "mem_tile.size_kib"
        cursor = 0
        placed_here: list[tuple[str, PlacedBuffer]] = []
        for buf in tp.buffers:
            if buf.name in self.buffers:
                raise self.fail(self.where(tp.tile), f"buffer '{buf.name}' is declared twice; names are program-wide")
            if kind == "shim":
                raise self.fail(self.where(tp.tile), (
                    f"buffer '{buf.name}': a shim tile has no data memory; put DDR data in "
                    "'tensors' and move it with runtime 'dma' tasks"))
            offset = cursor if buf.offset_bytes is None else buf.offset_bytes
            end = offset + buf.size_bytes
            if end > capacity:
                raise self.fail(self.where(tp.tile), (
                    f"buffer '{buf.name}' ends at byte {end}, past the {capacity}-byte memory "
                    f"(limit {field} = {capacity // 1024}); shrink the buffers or move one to "
                    "another tile"))
            for other, placed in placed_here:
                if offset < placed.offset_bytes + placed.size_bytes and placed.offset_bytes < end:
                    raise self.fail(self.where(tp.tile), (
                        f"buffer '{buf.name}' (bytes {offset}..{end - 1}) overlaps buffer '{other}' (bytes "
                        f"{placed.offset_bytes}..{placed.offset_bytes + placed.size_bytes - 1}); move one "
                        "of them, or leave offset_bytes out to place them one after another"))
            self.buffers[buf.name] = PlacedBuffer(tp.tile, offset, buf.size_bytes)
            placed_here.append((buf.name, self.buffers[buf.name]))
            cursor = max(cursor, end)

    def tile_locks(self, tp: TileProgram) -> None:
        kind = self.c.tile_kind(tp.tile[1])
        limit = self.c.tile_spec(tp.tile[1]).locks
        if len(tp.locks) > limit:
            raise self.fail(self.where(tp.tile), (
                f"{len(tp.locks)} locks declared, but the tile has {limit} "
                f"(limit {_SPEC[kind]}.locks = {limit}); share locks or spread buffers over tiles"))
        for lk in tp.locks:
            if lk.name in self.locks:
                raise self.fail(self.where(tp.tile), f"lock '{lk.name}' is declared twice; names are program-wide")
            if lk.init > self.c.locks.max_value:
                raise self.fail(self.where(tp.tile), (
                    f"lock '{lk.name}' starts at {lk.init}, above the largest lock value "
                    f"(limit locks.max_value = {self.c.locks.max_value}); lower its init"))
            self.locks[lk.name] = (tp.tile, lk.init)

    # -- locks used by cores and DMAs ------------------------------------------------------
    def lock_home(self, name: str, user: Tile, reach: Iterable[Tile], where: str) -> None:
        if name not in self.locks:
            raise self.fail(where, f"unknown lock '{name}'; declare it in a tile's 'locks'")
        home = self.locks[name][0]
        if home not in reach:
            allowed = ", ".join(_t(t) for t in reach)
            raise self.fail(where, (
                f"lock '{name}' lives on tile {_t(home)}, which {_t(user)} cannot reach "
                f"(reachable: {allowed}); declare the lock on one of those tiles"))

    def core_reach(self, tile: Tile) -> list[Tile]:
        """A core reaches its own memory module and those north, south and west of it."""
        c, r = tile
        cand = [(c, r), (c, r + 1), (c, r - 1), (c - 1, r)]
        return [t for t in cand if self.c.has_tile(*t) and self.c.tile_kind(t[1]) == "compute"]

    def dma_reach(self, tile: Tile, channel: str) -> list[Tile]:
        """A tile DMA reaches its own memory; memory-tile channels 0-3 also east and west."""
        c, r = tile
        if self.c.tile_kind(r) == "mem" and int(channel[4:]) <= 3:
            return [t for t in [(c, r), (c - 1, r), (c + 1, r)] if self.c.has_tile(*t)]
        return [tile]

    def core(self, tp: TileProgram) -> None:
        if not tp.core:
            return
        if self.c.tile_kind(tp.tile[1]) != "compute":
            raise self.fail(self.where(tp.tile), "has no core; only compute tiles run core programs")
        self.code = CodeChecker(lambda name, where: self.core_buffer(tp.tile, name, where), self.fail)
        self.instructions(tp.tile, tp.core, "core")

    def core_buffer(self, tile: Tile, name: str, where: str) -> int:
        """Size of a buffer core code on ``tile`` uses; it must be in the core's reach."""
        if name not in self.buffers:
            raise self.fail(where, f"unknown buffer '{name}'; declare it in a tile's 'buffers'")
        home = self.buffers[name].tile
        if home not in self.core_reach(tile):
            raise self.fail(where, (
                f"buffer '{name}' lives on tile {_t(home)}, which the core of {_t(tile)} cannot reach "
                f"(reachable: {', '.join(_t(t) for t in self.core_reach(tile))})"))
        return self.buffers[name].size_bytes

    def instructions(self, tile: Tile, body: tuple[Instruction, ...], path: str) -> None:
        for i, ins in enumerate(body):
            where = f"{self.where(tile)}: {path}[{i}]"
            if isinstance(ins, Code):
                self.code.code(ins, where)
            if isinstance(ins, (Acquire, Release)):
                self.lock_home(ins.lock, tile, self.core_reach(tile), where)
                self.lock_value(ins.value, where)
            if isinstance(ins, Compute):
                self.kernel(ins, where)
                for step in ("bias", "relu") if ins.emit is not None else ():
                    if getattr(ins, step):
                        self.vector_timing(step, ins.epilogue_type, where)
            elif isinstance(ins, Vector):
                self.vector_timing(ins.kind, ins.dtype, where)
                if ins.relu:
                    self.vector_timing("relu", ins.dtype, where)
            elif isinstance(ins, Loop):
                self.instructions(tile, ins.body, f"{path}[{i}].body")

    def kernel(self, ins: Compute, where: str) -> None:
        """The call's kernel exists for its operand types and output and takes its tile; C kept
        between calls is an output type of A's type, the one the call emits."""
        try:
            problem = self.c.compute_tile.kernel(ins.kernel, ins.dtype, ins.b_dtype, ins.emit).tile_problem(
                ins.m, ins.k, ins.n)
        except KernelError as exc:
            raise self.fail(where, f"compute {ins.types}: {exc}") from None
        if problem is not None:
            raise self.fail(where, f"compute {ins.types}: kernel '{ins.kernel or self.c.compute_tile.default_kernel}' "
                            f"cannot run this call: {problem}; use a tile it supports")
        if ins.c_type is not None and (ins.c_type not in OUTPUTS[ins.dtype] or ins.emit not in (None, ins.c_type)):
            raise self.fail(where, (
                f"c_type {ins.c_type} with emit {ins.emit}: C kept between calls must be an output type of "
                f"{ins.dtype} ({', '.join(OUTPUTS[ins.dtype])}) and a call emits that type; fix c_type or emit"))

    def vector_timing(self, kind: str, dtype: str, where: str) -> None:
        table = self.c.compute_tile.vector
        if dtype not in table.get(kind, {}):  # type: ignore[call-overload]
            raise self.fail(where, (
                f"vector {kind} in {dtype}, but the config gives no timing for it (compute_tile.vector.{kind} "
                f"has: {', '.join(table.get(kind, {})) or 'none'}); add compute_tile.vector.{kind}.{dtype}"))  # type: ignore[call-overload]

    def lock_value(self, value: int, where: str) -> None:
        if value > self.c.locks.max_value:
            raise self.fail(where, (
                f"lock value {value} is above the largest lock value (limit locks.max_value = "
                f"{self.c.locks.max_value}); use a smaller value"))

    # -- DMA channels and BDs --------------------------------------------------------------
    def dma(self, tp: TileProgram) -> None:
        if not tp.dma:
            return
        kind = self.c.tile_kind(tp.tile[1])
        spec = self.c.tile_spec(tp.tile[1]).dma
        if kind == "shim":
            raise self.fail(self.where(tp.tile), (
                "shim DMA channels are driven by the runtime sequence, not by BD chains; "
                "use runtime 'dma' tasks"))
        seen: set[str] = set()
        for ch in tp.dma:
            where = f"{self.where(tp.tile)}: channel {ch.channel}"
            if ch.channel not in spec.channels:
                raise self.fail(where, (
                    f"no such DMA channel; this tile has {', '.join(spec.channels)} "
                    f"({_SPEC[kind]}.dma.s2mm_channels / mm2s_channels)"))
            if ch.channel in seen:
                raise self.fail(where, "programmed twice; give each channel one BD chain")
            seen.add(ch.channel)
            self.channel(tp.tile, ch, where)
        total = sum(len(ch.bds) for ch in tp.dma)
        if total > spec.bds:
            raise self.fail(self.where(tp.tile), (
                f"{total} buffer descriptors used, but the tile has {spec.bds} "
                f"(limit {_SPEC[kind]}.dma.bds = {spec.bds}); use loops (next) or repeat counts"))
        if spec.bd_pools == 2:
            for parity, which in ((0, "even"), (1, "odd")):
                used = sum(len(ch.bds) for ch in tp.dma if int(ch.channel[4:]) % 2 == parity)
                if used > spec.bds // 2:
                    raise self.fail(self.where(tp.tile), (
                        f"{used} buffer descriptors used by the {which}-numbered channels, but they share "
                        f"half of the tile's BDs, {spec.bds // 2} (limit {_SPEC[kind]}.dma.bds = {spec.bds}, "
                        f"{_SPEC[kind]}.dma.bd_pools = 2); move a chain to an {'odd' if parity == 0 else 'even'}"
                        "-numbered channel or use loops"))

    def channel(self, tile: Tile, ch: DmaChannelProgram, where: str) -> None:
        dma_field = f"{_SPEC[self.c.tile_kind(tile[1])]}.dma"
        max_repeat = self.c.tile_spec(tile[1]).dma.max_repeat
        if not ch.bds:
            raise self.fail(where, "has no buffer descriptors; give it at least one or remove the channel")
        if ch.start >= len(ch.bds):
            raise self.fail(where, (
                f"start BD {ch.start} does not exist (it has {len(ch.bds)} BDs); use an index "
                f"0..{len(ch.bds) - 1}"))
        if ch.repeat > max_repeat:
            raise self.fail(where, (
                f"repeat {ch.repeat} is above the limit {dma_field}.max_repeat = {max_repeat}; "
                "loop the BD chain (next) instead"))
        for i, bd in enumerate(ch.bds):
            self.bd(tile, ch.channel, bd, f"{where}: bds[{i}]", len(ch.bds))

    def bd(self, tile: Tile, channel: str, bd: BufferDescriptor, where: str, count: int) -> None:
        if bd.buffer not in self.buffers:
            raise self.fail(where, f"unknown buffer '{bd.buffer}'; declare it in a tile's 'buffers'")
        reach = self.dma_reach(tile, channel)
        home = self.buffers[bd.buffer]
        if home.tile not in reach:
            raise self.fail(where, (
                f"buffer '{bd.buffer}' lives on tile {_t(home.tile)}, which this DMA channel cannot "
                f"reach (reachable: {', '.join(_t(t) for t in reach)})"))
        self.pattern(bd.dims, bd.length_bytes, bd.offset_bytes, bd.extent_bytes(),
                     home.size_bytes, f"buffer '{bd.buffer}'", where, _SPEC[self.c.tile_kind(tile[1])], bd.pad)
        if bd.pad and not (channel.startswith("mm2s") and self.c.tile_spec(tile[1]).dma.padding):
            raise self.fail(where, (
                "pads its access pattern, which only an MM2S channel whose DMA can pad does "
                f"({_SPEC[self.c.tile_kind(tile[1])]}.dma.padding is false or this is an S2MM channel); "
                "remove 'pad' or move the transfer to a memory tile's MM2S channel"))
        for op in (bd.acquire, bd.release):
            if op is not None:
                self.lock_home(op.lock, tile, reach, where)
                self.lock_value(op.value, where)
        if isinstance(bd.next, int) and bd.next >= count:
            raise self.fail(where, (
                f"next BD {bd.next} does not exist (the channel has {count} BDs); use an index "
                f"0..{count - 1}, or \"end\" to end the chain"))

    def pattern(self, dims: tuple[Dim, ...], length: int, offset: int, extent: int, size: int,
                what: str, where: str, spec: str, pad: tuple[tuple[int, int], ...] = ()) -> None:
        """Check an access pattern; ``spec`` is the config section of the DMA ('shim_tile', ...)."""
        check_pattern(self.c, self.fail, PatternUse(dims, length, offset, extent, size, pad), what, where, spec)

    # -- routes and runtime ----------------------------------------------------------------
    def endpoint(self, ep: Endpoint, direction: str, where: str) -> None:
        if not self.c.has_tile(*ep.tile):
            raise self.fail(where, f"endpoint {ep}: no such tile in a {self.c.columns}x{self.c.rows} array")
        kind = self.c.tile_kind(ep.tile[1])
        channels = self.c.tile_spec(ep.tile[1]).dma.channels
        if ep.channel not in channels or not ep.channel.startswith(direction):
            wanted = [c for c in channels if c.startswith(direction)]
            raise self.fail(where, (
                f"endpoint {ep}: a route {'starts at an MM2S' if direction == 'mm2s' else 'ends at an S2MM'} "
                f"channel; {_KIND[kind]} {_t(ep.tile)} has {', '.join(wanted) or 'none'}"))

    def routes(self) -> tuple[dict[str, RoutePath], dict[Endpoint, tuple[str, int]]]:
        placer = RoutePlacer(self.c, self.src)
        paths: dict[str, RoutePath] = {}
        route_of: dict[Endpoint, tuple[str, int]] = {}
        for rt in self.p.routes:
            where = f"route '{rt.name}'"
            if rt.name in paths:
                raise self.fail(where, "declared twice; route names are program-wide")
            if not rt.destinations:
                raise self.fail(where, "has no destinations; add at least one S2MM channel")
            self.endpoint(rt.source, "mm2s", where)
            for i, ep in enumerate((rt.source,) + rt.destinations):
                if i:
                    self.endpoint(ep, "s2mm", where)
                if ep in rt.destinations[:i - 1]:
                    raise self.fail(where, f"lists destination {ep} twice; name each channel once")
                if ep in route_of:
                    raise self.fail(where, (
                        f"channel {ep} is already used by route '{route_of[ep][0]}'; a circuit-"
                        "switched channel carries one route"))
                route_of[ep] = (rt.name, i - 1)
            paths[rt.name] = placer.place(rt)
        return paths, route_of

    def channels_routed(self, route_of: dict[Endpoint, tuple[str, int]]) -> None:
        for tp in self.p.tiles:
            for ch in tp.dma:
                if Endpoint(tp.tile, ch.channel) not in route_of:
                    raise self.fail(f"{self.where(tp.tile)}: channel {ch.channel}", (
                        "has BDs but no route; add a route with this channel as "
                        f"{'source' if ch.channel.startswith('mm2s') else 'destination'}"))

    def runtime(self, route_of: dict[Endpoint, tuple[str, int]]) -> None:
        homes = {n: (b.tile, b.size_bytes) for n, b in self.buffers.items()}
        check_runtime(self.p, self.c, self.fail, route_of, homes, self.dma_reach, self.pattern)

    def run(self) -> Layout:
        self.tiles()
        for tp in self.p.tiles:
            self.core(tp)
            self.dma(tp)
        paths, route_of = self.routes()
        self.channels_routed(route_of)
        self.runtime(route_of)
        return Layout(self.buffers, self.locks, paths, route_of)


def verify(program: Program, config: NPUConfig, source: str = "<program>") -> Layout:
    """Check ``program`` against ``config``; raise :class:`ProgramError` naming ``source``."""
    return _Verifier(program, config, source).run()
