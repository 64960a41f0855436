"""Host DDR as the NPU sees it through the shim tiles."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._base import Count, PositiveCount, Spec


GBps = Annotated[float, Field(gt=0)]


class DdrSpec(Spec):
    """Bandwidth shared by the shim channels (in all, for reads, for writes, per channel), and the
    access latency."""

    bandwidth_gb_per_s: GBps = Field(
        description="Sustained DDR bandwidth available to the NPU, in GB/s (1e9 bytes/s), all shim "
        "channels together, reads and writes together."
    )
    read_gb_per_s: GBps | None = Field(
        None, description="Sustained bandwidth of DDR reads (shim MM2S channels together), in GB/s, where "
        "reads have a limit of their own below bandwidth_gb_per_s (None: only the shared limit).")
    write_gb_per_s: GBps | None = Field(
        None, description="Sustained bandwidth of DDR writes (shim S2MM channels together), in GB/s, where "
        "writes have a limit of their own (None: only the shared limit).")
    channel_gb_per_s: GBps | None = Field(
        None, description="What one shim DMA channel moves to or from DDR, in GB/s, where it is less than its "
        "stream rate (None: the stream rate): n channels in use move at most n times this.")
    latency_ns: Annotated[float, Field(ge=0)] = Field(
        description="Latency of a DDR access from a shim DMA, charged once per transfer."
    )
    run_overhead_bytes: Count = Field(
        0, description="DDR bandwidth each contiguous run of a shim transfer costs beyond its accesses, in bytes: "
        "a short run opens a DRAM row and pays its commands, so a pattern of many short runs moves less than the "
        "streaming rate (0: runs cost only their whole accesses).")
    access_bytes: PositiveCount = Field(
        description="DDR access granularity: each contiguous run of a shim transfer's access "
        "pattern costs whole accesses of this size, so short runs waste bandwidth."
    )
