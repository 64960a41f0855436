"""Stream-switch interconnect and lock timing specs."""
from __future__ import annotations

from pydantic import Field

from ._base import BytesPerCycle, Cycles, PositiveCount, Spec


class StreamSwitchSpec(Spec):
    """The AXI4-Stream network: width and per-switch latency (ports are per tile kind)."""

    bytes_per_cycle: BytesPerCycle = Field(
        description="Bytes a stream moves per cycle (4 for a 32-bit stream, one word a cycle)."
    )
    hop_latency_cycles: Cycles = Field(
        description="Cycles a word takes to cross one stream switch (first-word latency per hop)."
    )


class LockTimingSpec(Spec):
    """Cost of lock operations and the lock value range."""

    acquire_cycles: Cycles = Field(description="Cycles an acquire takes once the value allows it.")
    release_cycles: Cycles = Field(description="Cycles a release takes before the value changes.")
    max_value: PositiveCount = Field(63, description="Largest value a lock can hold (6-bit on AIE-ML).")
