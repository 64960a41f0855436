"""Report figures as flat table cells.

A layer's report dict (``WorkloadReport.to_dict()["layers"][i]``) is flattened generically, so
figures added to reports later (energy, power, ...) become columns without a change here:

- nested mappings become dotted columns (``ddr.bytes_read``, ``lowering.expected_cycles.ddr``,
  ``energy_by_component.mac``);
- short lists of scalars become one text cell (``lowering.block`` = ``"64,32"``);
- the per-tile and per-route lists are summarised (``tiles.cores``,
  ``tiles.core_utilisation_mean``, ``tiles.dma_bytes``, ``routes.count``, ``routes.bytes``);
  any other list of records, or a long list (a timeline), is left out;
- ``wall_seconds`` is left out: it is the host's time, not the design's, and would make two
  runs of one sweep differ; ``program`` is the layer's name and becomes the ``layer`` column.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SHORT_LIST = 8
LEFT_OUT = frozenset({"wall_seconds", "program", "tiles", "routes"})
Scalar = (str, int, float, bool, type(None))


def _tiles_summary(tiles: Sequence[Mapping[str, Any]], cycles: int) -> dict[str, Any]:
    cores = [t["core"] for t in tiles if isinstance(t.get("core"), Mapping)]
    busy = [c["busy"] / cycles if cycles else 0.0 for c in cores]
    return {
        "tiles.cores": len(cores),
        "tiles.core_utilisation_mean": sum(busy) / len(busy) if busy else 0.0,
        "tiles.core_utilisation_max": max(busy, default=0.0),
        "tiles.dma_bytes": sum(ch["bytes"] for t in tiles for ch in t.get("channels", ())),
    }


def _routes_summary(routes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"routes.count": len(routes), "routes.bytes": sum(r.get("bytes", 0) for r in routes)}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, Scalar):
        out[prefix] = value
    elif isinstance(value, (list, tuple)) and len(value) <= SHORT_LIST and all(
            isinstance(v, Scalar) and v is not None for v in value):
        out[prefix] = ",".join(str(v) for v in value)


def figures(layer: Mapping[str, Any]) -> dict[str, Any]:
    """The flat figures of one layer's report dict."""
    out: dict[str, Any] = {}
    for key, value in layer.items():
        if key not in LEFT_OUT:
            _flatten(value, str(key), out)
    if isinstance(layer.get("tiles"), (list, tuple)):
        out.update(_tiles_summary(layer["tiles"], int(layer.get("cycles", 0))))
    if isinstance(layer.get("routes"), (list, tuple)):
        out.update(_routes_summary(layer["routes"]))
    return out
