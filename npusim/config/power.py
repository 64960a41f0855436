"""The energy table: energy per counted action, static and clock-tree power, and the voltage at
each clock that scales them (docs/model/power.md).

Energy is counted, not guessed: ``npusim.power`` multiplies a run's counted actions (MACs per
data type, vector elements, bytes read and written in each memory, bytes times stream switches
crossed, DDR bytes, lock operations) by these figures, and adds static power for every tile of the
array over the whole run and clock-tree power for each tile while it is active. Units are in the
field names: ``_pj`` picojoules per action, ``_pj_per_byte`` per byte, ``_w`` watts.

The figures hold at one operating point, ``voltage.reference_clock_mhz`` at the voltage the
``voltage.points`` table gives there; :mod:`npusim.power.voltage` scales them to the config's
clock (dynamic energy with V squared, leakage with V).
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ._base import DType, Spec

PicoJoules = Annotated[float, Field(ge=0.0)]
"""An energy per action, in picojoules (1e-12 J)."""
Watts = Annotated[float, Field(ge=0.0)]


class MemoryEnergySpec(Spec):
    """Energy of one memory kind per byte read and per byte written (the access, its bank's
    sense amplifiers or write drivers, and the local wiring to the port)."""

    read_pj_per_byte: PicoJoules = Field(description="Energy per byte read, in pJ.")
    write_pj_per_byte: PicoJoules = Field(description="Energy per byte written, in pJ.")


class TileWattsSpec(Spec):
    """A power figure per tile kind, in watts per tile."""

    compute: Watts = Field(description="Per compute tile (core, data memory, DMA, stream switch), in W.")
    mem: Watts = Field(description="Per memory tile (SRAM, DMA, stream switch), in W.")
    shim: Watts = Field(description="Per shim tile (DMA, stream switch, NoC interface), in W.")


class VoltagePoint(Spec):
    """One point of the array's voltage-frequency curve."""

    clock_mhz: Annotated[float, Field(gt=0)] = Field(description="Array clock of this point, in MHz.")
    volts: Annotated[float, Field(gt=0)] = Field(description="Supply voltage of the array at this clock, in V.")


class VoltageSpec(Spec):
    """The voltage at each clock, and the operating point the energy table is stated at.

    Between points the voltage is interpolated linearly in the clock; below the lowest point it
    stays at the lowest point's voltage (a rail does not go under its minimum); above the highest
    it follows the top segment's slope (a faster clock needs more voltage)."""

    reference_clock_mhz: Annotated[float, Field(gt=0)] = Field(
        description="Reference clock of the energy table, in MHz: its pJ figures hold at the voltage the points "
        "give for this clock, and clock_w is watts at this clock and that voltage.")
    points: list[VoltagePoint] = Field(
        min_length=1, description="The voltage-frequency curve, by increasing clock_mhz: each a clock_mhz and "
        "the array's supply volts there.")

    @model_validator(mode="after")
    def _increasing(self) -> "VoltageSpec":
        clocks = [p.clock_mhz for p in self.points]
        if any(b <= a for a, b in zip(clocks, clocks[1:])):
            raise ValueError(f"points must be in strictly increasing clock_mhz order, got {clocks}; sort them and "
                             "keep one point per clock")
        volts = [p.volts for p in self.points]
        if any(b < a for a, b in zip(volts, volts[1:])):
            raise ValueError(f"points: the voltage falls as the clock rises ({volts} V); a faster clock needs at "
                             "least the voltage of a slower one")
        return self


class PowerSpec(Spec):
    """The energy table of an array: pJ per counted action, and W of static and clock power."""

    mac_pj: dict[str, PicoJoules] = Field(
        description="Energy per multiply-accumulate of a matmul kernel, by operand types ('int8', or 'AxB' for "
        "mixed operands such as 'bf16xbfp16', as in compute_tile.kernels.*.variants), in pJ: the vector "
        "datapath, its register and accumulator files and the instruction issue, per MAC at the kernel's "
        "sustained rate. Data-memory traffic is counted apart (data_memory). Every operand-type combination "
        "some kernel has needs a figure.")
    vector_pj_per_element: dict[DType, PicoJoules] = Field(
        default_factory=dict, description="Energy per element a vector-unit kernel call reads (elementwise, "
        "pooling, softmax, layernorm, fused epilogues), by type, in pJ; data-memory traffic is counted apart. "
        "Every type the compute tile has a vector kernel for needs a figure.")
    data_memory: MemoryEnergySpec = Field(
        description="Compute-tile data memory (64 KiB, banked): bytes the kernels read and write (operands, "
        "accumulators, results) and bytes the tile's DMA channels read (MM2S) and write (S2MM).")
    mem_tile_memory: MemoryEnergySpec = Field(
        description="Memory-tile SRAM (512 KiB, banked): bytes its DMA channels read (MM2S) and write (S2MM).")
    stream_hop_pj_per_byte: PicoJoules = Field(
        description="Energy per byte per stream switch it crosses (the switch's ports and FIFOs and the "
        "tile-to-tile wire after it), in pJ. A route's bytes cross every switch of its tree once, so a "
        "broadcast pays its shared trunk once.")
    ddr_pj_per_byte: PicoJoules = Field(
        description="Energy per DDR byte accessed (DRAM array, I/O and PHY, memory controller and fabric), in "
        "pJ, charged on the bytes the accesses move (short runs rounded up to whole ddr.access_bytes).")
    lock_op_pj: PicoJoules = Field(description="Energy per lock acquire or release, in pJ.")
    static_w: TileWattsSpec = Field(
        description="Static (leakage) power per tile, in W, charged for every tile of the array over the "
        "whole run (the array is powered while a program runs, used or not).")
    clock_w: TileWattsSpec = Field(
        description="Clock-tree power per tile while it is active, in W: a tile is active for as many "
        "cycles as its busiest unit (its core's busy cycles or a DMA channel's busy cycles). Stated at "
        "voltage.reference_clock_mhz (at the config's own clock without a voltage section).")
    voltage: VoltageSpec | None = Field(
        None, description="The voltage at each clock and the clock the figures above are stated at: dynamic "
        "energies scale with (V/Vref)^2, leakage power with V/Vref, so a clock what-if changes the energy per "
        "operation. Without it the figures are used as they are at any clock.")
