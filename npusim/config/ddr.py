"""Host DDR as the NPU sees it through the shim tiles."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._base import PositiveCount, Spec


class DdrSpec(Spec):
    """Bandwidth shared by every shim channel, and the access latency."""

    bandwidth_gb_per_s: Annotated[float, Field(gt=0)] = Field(
        description="Sustained DDR bandwidth available to the NPU, in GB/s (1e9 bytes/s), all shim "
        "channels together, reads and writes together."
    )
    latency_ns: Annotated[float, Field(ge=0)] = Field(
        description="Latency of a DDR access from a shim DMA, charged once per transfer."
    )
    access_bytes: PositiveCount = Field(
        description="DDR access granularity: each contiguous run of a shim transfer's access "
        "pattern costs whole accesses of this size, so short runs waste bandwidth."
    )
