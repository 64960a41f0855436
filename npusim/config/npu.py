"""The whole array: geometry, clock and the specs of every unit."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ._base import Count, PositiveCount, Spec
from .ddr import DdrSpec
from .dispatch import DispatchSpec
from .interconnect import LockTimingSpec, StreamSwitchSpec
from .power import PowerSpec
from .tiles import ComputeTileSpec, MemTileSpec, ShimTileSpec

TileKind = Literal["shim", "mem", "compute"]


class NPUConfig(Spec):
    """An NPU array: ``columns`` columns of a shim tile (row 0), ``mem_tile_rows`` memory tiles
    (rows 1..) and ``compute_rows`` compute tiles above them."""

    name: str = Field(description="Device name, e.g. 'npu1 (Phoenix XDNA)'.")
    description: str = Field("", description="Free text: what this configuration models.")
    clock_mhz: Annotated[float, Field(gt=0)] = Field(description="Array clock in MHz: every cycle count becomes "
                                                     "time with it, and the power table's voltage follows it.")
    columns: Annotated[int, Field(ge=1, le=8)] = Field(
        description="Columns of the array usable by one design (1-8: XDNA2's whole array has 8).")
    compute_rows: Annotated[int, Field(ge=1, le=6)] = Field(
        description="Rows of compute tiles per column (1-6; XDNA and XDNA2 have 4).")
    mem_tile_rows: Count = Field(1, description="Rows of memory tiles between shim and compute rows.")
    compute_tile: ComputeTileSpec = Field(description="Every compute tile: core kernels, data memory, locks, DMA "
                                          "and stream ports.")
    mem_tile: MemTileSpec = Field(description="Every memory tile: SRAM, locks, DMA and stream ports.")
    shim_tile: ShimTileSpec = Field(description="Every shim tile: the DMA between DDR and the array, locks and "
                                    "stream ports.")
    stream_switch: StreamSwitchSpec = Field(description="The stream network: width and latency per switch.")
    locks: LockTimingSpec = Field(description="Lock operation costs and the largest lock value.")
    ddr: DdrSpec = Field(description="Host DDR as the NPU sees it: shared bandwidth, latency, access size.")
    power: PowerSpec = Field(description="The energy table: pJ per counted action, static and clock power "
                             "per tile, and the voltage at each clock (docs/model/power.md).")
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec, description="Host and command-processor "
                                   "costs a workload pays per dispatch and per change of design (0: none).")

    @model_validator(mode="after")
    def _geometry(self) -> "NPUConfig":
        if self.mem_tile_rows > 0 and self.mem_tile.stream_ports.north == 0:
            raise ValueError("mem_tile.stream_ports.north is 0: the compute rows above the memory tiles "
                             "could not be reached; give mem_tile.stream_ports.north at least 1")
        return self

    @model_validator(mode="after")
    def _energies_cover_kernels(self) -> "NPUConfig":
        missing = [f"power.mac_pj.{t}" for t in sorted(self.compute_tile.kernel_pairs()) if t not in self.power.mac_pj]
        vector_types = {t for by_type in self.compute_tile.vector.values() for t in by_type}
        missing += [f"power.vector_pj_per_element.{t}" for t in sorted(vector_types)
                    if t not in self.power.vector_pj_per_element]
        if missing:
            raise ValueError(f"the compute tile has kernels without an energy: add {', '.join(missing)} "
                             "(pJ per MAC or per element)")
        return self

    @property
    def rows(self) -> int:
        """Total rows including the shim row."""
        return 1 + self.mem_tile_rows + self.compute_rows

    def tile_kind(self, row: int) -> TileKind:
        """Kind of the tiles in ``row`` (row 0 is the shim row)."""
        if row == 0:
            return "shim"
        return "mem" if row <= self.mem_tile_rows else "compute"

    def tile_spec(self, row: int) -> ComputeTileSpec | MemTileSpec | ShimTileSpec:
        """Spec of the tiles in ``row``."""
        kind = self.tile_kind(row)
        if kind == "shim":
            return self.shim_tile
        return self.mem_tile if kind == "mem" else self.compute_tile

    def has_tile(self, col: int, row: int) -> bool:
        return 0 <= col < self.columns and 0 <= row < self.rows

    @property
    def seconds_per_cycle(self) -> float:
        return 1.0 / (self.clock_mhz * 1e6)
