"""What the host and the command processor cost around the array's own work: a dispatch (the
host submits a command, the NPU runs it, the host sees it complete) and a reconfiguration (the
array loads the configuration of another design: core programs, BDs, locks, switch routes)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._base import Spec


class DispatchSpec(Spec):
    """Costs a workload pays per dispatch and per change of design, on top of the array's cycles.

    A workload run charges ``dispatch_us`` for every dispatch (each unfused layer instance, each
    fused group) and ``reconfiguration_us`` whenever a dispatch needs another configuration than
    the one loaded (see docs/model/fusion.md). Both are wall-clock time in which the array does
    not compute; 0 charges nothing.
    """

    dispatch_us: Annotated[float, Field(ge=0)] = Field(
        0.0, description="Host-to-NPU round trip of one dispatch, in microseconds: submitting a command, the "
        "command processor starting it and the host seeing it complete (XRT's no-op latency test, xbutil/xrt-smi "
        "validate, in XRT pull requests 7878 and 8319: 159.5 us on Phoenix, 127.2 us on Strix, both on Windows "
        "[MEAS]; docs/sources.md#dispatch). 0 charges nothing.")
    reconfiguration_us: Annotated[float, Field(ge=0)] = Field(
        0.0, description="Loading another design's configuration into the array (core programs, BDs, locks, "
        "stream-switch routes), in microseconds: 3400 on XDNA and 4900 on XDNA2 for a full reconfiguration "
        "(arXiv 2512.13282 §5.3.1) [MEAS]. Charged when a dispatch's program configuration differs from the loaded "
        "one. 0 charges nothing.")
