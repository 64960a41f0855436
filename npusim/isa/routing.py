"""Placement of circuit-switched routes on the stream-switch grid.

A route leaves its source tile and crosses switches to each destination. Links are the
outgoing ports of a tile towards a neighbour (``north``/``south``/``east``/``west``); each link a
route uses holds one port of the tile it leaves for the whole program. A broadcast route is a
tree: links it already holds are shared by its later destinations.

Paths are deterministic: a destination in the same column is reached straight up or down;
otherwise the route travels horizontally in the nearest row whose tiles have east/west ports
(memory tiles have none), trying rows in order of extra distance until one has free ports on
every new link.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import NPUConfig
from .errors import ProgramError
from .instructions import Endpoint, Route, Tile

Link = tuple[Tile, str]
_STEP = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
_KIND = {"shim": "shim tile", "mem": "memory tile", "compute": "compute tile"}
_SPEC = {"shim": "shim_tile", "mem": "mem_tile", "compute": "compute_tile"}


@dataclass(frozen=True, slots=True)
class RoutePath:
    """Where a route runs: its links, and the switches each destination's data crosses."""

    route: str
    links: tuple[Link, ...]
    switches: tuple[int, ...]
    """Per destination (in the route's order): stream switches crossed, source and destination
    switches included (a route inside one tile crosses 1)."""


def _walk(start: Tile, waypoints: list[Tile]) -> list[Link]:
    links: list[Link] = []
    c, r = start
    for wc, wr in waypoints:
        while r != wr:
            d = "north" if wr > r else "south"
            links.append(((c, r), d))
            r += _STEP[d][1]
        while c != wc:
            d = "east" if wc > c else "west"
            links.append(((c, r), d))
            c += _STEP[d][0]
    return links


def _candidates(config: NPUConfig, src: Tile, dst: Tile) -> list[list[Link]]:
    (c0, r0), (c1, r1) = src, dst
    if c0 == c1:
        return [_walk(src, [dst])]
    rows = [r for r in range(config.rows) if min(
        config.tile_spec(r).stream_ports.east, config.tile_spec(r).stream_ports.west) > 0]
    rows.sort(key=lambda r: (abs(r - r0) + abs(r1 - r), r))
    return [_walk(src, [(c0, r), (c1, r), dst]) for r in rows]


class RoutePlacer:
    """Reserves ports for routes, one after another, and explains any that cannot be placed."""

    def __init__(self, config: NPUConfig, source: str) -> None:
        self._config = config
        self._source = source
        self._used: dict[Link, list[str]] = {}

    def _capacity(self, link: Link) -> int:
        (_, row), direction = link
        return int(getattr(self._config.tile_spec(row).stream_ports, direction))

    def _blocker(self, links: list[Link], held: set[Link]) -> Link | None:
        for link in links:
            if link not in held and len(self._used.get(link, ())) >= self._capacity(link):
                return link
        return None

    def _explain(self, route: Route, dst: Endpoint, link: Link) -> ProgramError:
        (tile, direction) = link
        kind = self._config.tile_kind(tile[1])
        holders = self._used.get(link, [])
        cap = self._capacity(link)
        taken = f"all {cap} are taken by routes {', '.join(repr(h) for h in holders)}" if cap else "it has none"
        return ProgramError(
            f"{self._source}: route '{route.name}' from {route.source} to {dst} needs a {direction} "
            f"stream port of {_KIND[kind]} ({tile[0]},{tile[1]}), but {taken} "
            f"(limit {_SPEC[kind]}.stream_ports.{direction} = {cap}); "
            "use fewer routes through that switch, broadcast instead, or move an endpoint"
        )

    def place(self, route: Route) -> RoutePath:
        """Reserve the ports of ``route`` and return its path."""
        held: set[Link] = set()
        order: list[Link] = []
        depth: dict[Tile, int] = {route.source.tile: 1}
        switches: list[int] = []
        for dst in route.destinations:
            if dst.tile not in depth:
                paths = _candidates(self._config, route.source.tile, dst.tile)
                if not paths:
                    raise ProgramError(
                        f"{self._source}: route '{route.name}' from {route.source} to {dst} must change "
                        "column, but no row of the array has east/west stream ports "
                        "(*.stream_ports.east/west are 0); give a tile kind east/west ports")
                chosen = next((p for p in paths if self._blocker(p, held) is None), None)
                if chosen is None:
                    raise self._explain(route, dst, self._blocker(paths[0], held) or paths[0][0])
                count = 1
                for link in chosen:
                    (c, r), d = link
                    count += 1
                    nxt = (c + _STEP[d][0], r + _STEP[d][1])
                    depth.setdefault(nxt, count)
                    if link not in held:
                        held.add(link)
                        order.append(link)
            switches.append(depth[dst.tile])
        for link in order:
            self._used.setdefault(link, []).append(route.name)
        return RoutePath(route.name, tuple(order), tuple(switches))
