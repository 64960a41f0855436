"""What a dotted config key means, from the models' own field descriptions.

``describe("mem_tile.size_kib")`` walks :class:`~npusim.config.NPUConfig` down the key (through
nested specs and the per-type tables such as ``compute_tile.kernels.int8``) and returns the
field's description and its unit, read off the field name's suffix (STYLE: units live in field
names). Figures label their axes with it, so a label says what the schema says.
"""
from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .npu import NPUConfig

UNITS = (("_kib", "KiB"), ("_mhz", "MHz"), ("_gb_per_s", "GB/s"), ("_ns", "ns"), ("_us", "us"), ("bytes_per_cycle", "B/cycle"),
         ("_cycles", "cycles"), ("_pj_per_byte", "pJ/B"), ("_pj_per_element", "pJ/element"), ("_pj", "pJ"),
         ("_w", "W"), ("_bytes", "B"), ("volts", "V"), ("_pct", "%"))


@dataclass(frozen=True)
class FieldDoc:
    key: str
    description: str
    """The field's description, or "" for a key that is not a config field."""
    unit: str

    @property
    def short(self) -> str:
        """The description's first sentence, without its unit phrase (cut at its first comma when
        long): an axis label. The key itself when there is no description."""
        text = re.split(r"(?<=[a-z0-9)])\. |\.$", self.description, maxsplit=1)[0]
        text = re.sub(r",? in (KiB|MHz|GB/s|ns|W|pJ|cycles|V)\b", "", text)
        text = re.sub(r" \([^()]*\)$", "", text.strip()).strip()
        if len(text) > 60:
            text = re.split(r", | \(|: |; ", text, maxsplit=1)[0]
        return text if text and len(text) <= 60 else self.key

    @property
    def label(self) -> str:
        """``short (unit)``: e.g. ``SRAM capacity (KiB)``."""
        return f"{self.short} ({self.unit})" if self.unit else self.short


def _unit(name: str) -> str:
    return next((unit for suffix, unit in UNITS if name.endswith(suffix)), "")


def _unit_in(description: str) -> str:
    """A unit the description states (``..., in W.``) when the field name has none."""
    found = re.search(r"\bin (KiB|MHz|GB/s|ns|W|pJ|cycles|V)\b", description)
    return found.group(1) if found else ""


def _step(annotation: Any, part: str) -> tuple[Any, str | None] | None:
    """One key down from ``annotation``: (the next annotation, the field's description or None
    for a dict key), or None if ``part`` is not there."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _step(inner[0], part) if len(inner) == 1 else None
    if origin is dict and len(args) == 2:
        return args[1], None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part)
        return None if field is None else (field.annotation, field.description or "")
    return None


def describe(key: str) -> FieldDoc:
    """The description and unit of the config field at dotted ``key`` (empty if there is none:
    a run option, a report figure)."""
    annotation: Any = NPUConfig
    description, name = "", key
    for part in key.split("."):
        step = _step(annotation, part)
        if step is None:
            return FieldDoc(key, "", _unit(key))
        annotation, text = step
        if text is not None:
            description, name = text, part
    return FieldDoc(key, description, _unit(name) or _unit_in(description))
