"""Every rule of npusim/hw/timing.py against figures computed by hand from the shipped configs.

npu1: 1000 MHz, int8 256 MAC/cycle at 0.91, int16 64 at 0.81, bf16 128 at 0.88, overheads 0;
DMA 4 B/cycle, start-up 9; stream 4 B/cycle, 4 cycles per switch; locks 1/1; DDR 15 GB/s, 500 ns.
npu2: 1800 MHz, int8 512 at 0.88, bf16 512 at 0.31; DDR 50 GB/s, 500 ns.
tiny: 1000 MHz, int8 256 at 1.0 + 10, bf16 128 at 0.5 + 20; DMA start-up 5; 2 cycles per switch;
DDR 8 GB/s, 100 ns.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim.config import KernelSpec, NPUConfig, load_config
from npusim.hw import timing
from npusim.isa import Dim

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def npu1() -> NPUConfig:
    return load_config(CONFIGS / "npu1.yaml")


@pytest.fixture(scope="module")
def npu2() -> NPUConfig:
    return load_config(CONFIGS / "npu2.yaml")


@pytest.fixture(scope="module")
def tiny() -> NPUConfig:
    return load_config(CONFIGS / "tiny.yaml")


# -- compute ---------------------------------------------------------------------------------

def test_compute_npu1_int8_measured_kernel(npu1: NPUConfig) -> None:
    # 64*232*64 = 950272 MACs / (256 * 1.0) = 3712, + 0.092 * 64*64 outputs = 376.83 -> 4088.83 -> 4089
    # (the published 233.0 MACs/cycle is 4078.4 cycles: 0.3% off, validation/cases.yaml)
    assert timing.compute_cycles(npu1.compute_tile.kernel(None, "int8"), 64, 232, 64) == 4089


def test_compute_npu1_int16_and_bf16(npu1: NPUConfig) -> None:
    # int16 64^3 = 262144 / (64 * 0.81 = 51.84) = 5056.79 -> 5057
    assert timing.compute_cycles(npu1.compute_tile.kernel(None, "int16"), 64, 64, 64) == 5057
    # bf16 64*104*64 = 425984 / 128 = 3328, + 0.119 * 4096 = 487.42 -> 3815.42 -> 3816
    assert timing.compute_cycles(npu1.compute_tile.kernel(None, "bf16"), 64, 104, 64) == 3816


def test_compute_npu2(npu2: NPUConfig) -> None:
    # int8 950272 / 512 = 1856, + 0.07 * 4096 = 286.72 -> 2142.72 -> 2143
    assert timing.compute_cycles(npu2.compute_tile.kernel(None, "int8"), 64, 232, 64) == 2143
    # bf16 48*152*48 = 350208 / (512 * 0.35 = 179.2) = 1954.29, + 0.091 * 2304 = 209.66 -> 2163.95 -> 2164
    assert timing.compute_cycles(npu2.compute_tile.kernel(None, "bf16"), 48, 152, 48) == 2164


def test_compute_adds_the_per_call_overhead(tiny: NPUConfig) -> None:
    # int8: 16^3 = 4096 / 256 = 16, + 10 = 26; bf16: 4096 / (128 * 0.5) = 64, + 20 = 84
    assert timing.compute_cycles(tiny.compute_tile.kernel(None, "int8"), 16, 16, 16) == 26
    assert timing.compute_cycles(tiny.compute_tile.kernel(None, "bf16"), 16, 16, 16) == 84
    # one MAC still costs a whole cycle plus the overhead
    assert timing.compute_cycles(tiny.compute_tile.kernel(None, "int8"), 1, 1, 1) == 11


def test_compute_is_the_formula_for_huge_calls(tiny: NPUConfig) -> None:
    # 4096^3 / 256 = 268435456, + 10: the formula, however long the call
    assert timing.compute_cycles(tiny.compute_tile.kernel(None, "int8"), 4096, 4096, 4096) == 268435466


def test_compute_charges_each_output_element() -> None:
    # 8*16*8 = 1024 MACs / 256 = 4, + 0.25 * 8*8 outputs = 16 -> 20, + 3 overhead = 23
    k = KernelSpec(outputs=("int8",), tile_multiple=(1, 1, 1), macs_per_cycle=256, efficiency=1.0, overhead_cycles=3, cycles_per_output=0.25)
    assert timing.compute_cycles(k, 8, 16, 8) == 23
    # the output term does not grow with k: doubling k adds only MAC cycles
    assert timing.compute_cycles(k, 8, 32, 8) == 27
    # a fraction of a cycle from the sum of both terms is rounded up once
    assert timing.compute_cycles(KernelSpec(outputs=("int8",), tile_multiple=(1, 1, 1), macs_per_cycle=256, efficiency=1.0, overhead_cycles=0,
                                            cycles_per_output=0.1), 1, 256, 3) == 4  # 3 + 0.3 -> 4


def test_compute_rounds_a_fraction_up() -> None:
    k = KernelSpec(outputs=("int8",), tile_multiple=(1, 1, 1), macs_per_cycle=256, efficiency=1.0, overhead_cycles=0)
    assert timing.compute_cycles(k, 1, 1, 257) == 2  # 257 / 256 = 1.004 -> 2
    assert timing.compute_cycles(k, 1, 1, 256) == 1


def test_compute_exact_quotient_is_not_rounded_up() -> None:
    k = KernelSpec(outputs=("int8",), tile_multiple=(1, 1, 1), macs_per_cycle=256, efficiency=0.7, overhead_cycles=0)
    assert timing.compute_cycles(k, 8, 16, 21) == 15


# -- streams and DMA -------------------------------------------------------------------------

def test_stream_rate_npu1(npu1: NPUConfig) -> None:
    dma = npu1.compute_tile.dma
    assert timing.stream_bytes_per_cycle(npu1.stream_switch, dma, [dma, dma]) == 4


def test_stream_rate_picks_the_slowest(npu1: NPUConfig) -> None:
    stream = npu1.stream_switch.model_copy(update={"bytes_per_cycle": 8})
    fast = npu1.compute_tile.dma.model_copy(update={"bytes_per_cycle": 16})
    slow = fast.model_copy(update={"bytes_per_cycle": 2})
    assert timing.stream_bytes_per_cycle(stream, fast, [fast]) == 8         # the stream
    assert timing.stream_bytes_per_cycle(stream, slow, [fast, fast]) == 2   # the source
    assert timing.stream_bytes_per_cycle(stream, fast, [fast, slow]) == 2   # a destination
    narrow = stream.model_copy(update={"bytes_per_cycle": 1})
    assert timing.stream_bytes_per_cycle(narrow, slow, [slow]) == 1


def test_transfer_cycles_rounds_up() -> None:
    assert timing.transfer_cycles(1000, 4) == 250
    assert timing.transfer_cycles(1001, 4) == 251
    assert timing.transfer_cycles(10, 1.5) == 7   # 6.67 -> 7
    assert timing.transfer_cycles(4, 4) == 1


def test_route_latency(npu1: NPUConfig, tiny: NPUConfig) -> None:
    # neighbouring tiles cross 2 switches: 4 * 2 = 8 on npu1, 2 * 2 = 4 on tiny
    assert timing.route_latency_cycles(npu1.stream_switch, 2) == 8
    assert timing.route_latency_cycles(npu1.stream_switch, 5) == 20
    assert timing.route_latency_cycles(tiny.stream_switch, 2) == 4


def test_dma_startup(npu1: NPUConfig, tiny: NPUConfig) -> None:
    # start-up 9, + acquire_cycles 1 when the BD acquires a lock
    assert timing.dma_startup_cycles(npu1.compute_tile.dma, npu1.locks, False) == 9
    assert timing.dma_startup_cycles(npu1.compute_tile.dma, npu1.locks, True) == 10
    locks = tiny.locks.model_copy(update={"acquire_cycles": 7})
    assert timing.dma_startup_cycles(tiny.mem_tile.dma, locks, True) == 12   # 5 + 7
    assert timing.dma_startup_cycles(tiny.mem_tile.dma, locks, False) == 5


# -- DDR -------------------------------------------------------------------------------------

def test_ddr_bytes_per_cycle(npu1: NPUConfig, npu2: NPUConfig, tiny: NPUConfig) -> None:
    # 17e9 B/s / 1000e6 cycles/s = 17.0; 60e9 / 1800e6 = 33.33; 8e9 / 1e9 = 8.0
    assert timing.ddr_bytes_per_cycle(npu1.ddr, npu1.clock_mhz) == 17.0
    assert timing.ddr_bytes_per_cycle(npu2.ddr, npu2.clock_mhz) == pytest.approx(33.333333, abs=1e-5)
    assert timing.ddr_bytes_per_cycle(tiny.ddr, tiny.clock_mhz) == 8.0
    # the clock is the divisor: npu1's DDR at 500 MHz is twice as many bytes per cycle
    assert timing.ddr_bytes_per_cycle(npu1.ddr, 500.0) == 34.0


def test_ddr_latency(npu1: NPUConfig, npu2: NPUConfig, tiny: NPUConfig) -> None:
    # 500 ns at 1000 MHz = 500; at 1800 MHz = 900; tiny 100 ns at 1000 MHz = 100
    assert timing.ddr_latency_cycles(npu1.ddr, npu1.clock_mhz) == 500
    assert timing.ddr_latency_cycles(npu2.ddr, npu2.clock_mhz) == 900
    assert timing.ddr_latency_cycles(tiny.ddr, tiny.clock_mhz) == 100


def test_ddr_latency_rounds_up(npu1: NPUConfig) -> None:
    ddr = npu1.ddr.model_copy(update={"latency_ns": 100.5})
    assert timing.ddr_latency_cycles(ddr, 1000.0) == 101      # 100.5 -> 101
    one = npu1.ddr.model_copy(update={"latency_ns": 1.0})
    assert timing.ddr_latency_cycles(one, 1800.0) == 2        # 1.8 -> 2
    zero = npu1.ddr.model_copy(update={"latency_ns": 0.0})
    assert timing.ddr_latency_cycles(zero, 1800.0) == 0


# -- DDR access granularity --------------------------------------------------------------------

def test_contiguous_runs_of_access_patterns() -> None:
    assert timing.contiguous_run_bytes(1024, ()) == 1024
    assert timing.contiguous_run_bytes(1024, (Dim(256, 16),)) == 4             # every 16th word
    assert timing.contiguous_run_bytes(1024, (Dim(16, 1), Dim(16, 32))) == 64   # rows of 16 words
    assert timing.contiguous_run_bytes(1024, (Dim(16, 1), Dim(16, 16))) == 1024  # rows back to back
    assert timing.contiguous_run_bytes(1024, (Dim(1, 7), Dim(256, 1))) == 1024  # size-1 dims do not break runs


def test_ddr_access_bytes_round_each_run_up_to_whole_accesses(npu1: NPUConfig) -> None:
    ddr = npu1.ddr  # 64-byte accesses
    assert timing.ddr_access_bytes(ddr, 1024, ()) == 1024
    assert timing.ddr_access_bytes(ddr, 400, ()) == 448                          # 7 accesses
    assert timing.ddr_access_bytes(ddr, 1024, (Dim(256, 16),)) == 256 * 64       # 256 runs of 4 B
    assert timing.ddr_access_bytes(ddr, 960, (Dim(24, 1), Dim(10, 64))) == 10 * 128  # 96 B runs -> 2 accesses


def test_compute_charges_the_type_c_is_kept_in(npu1: NPUConfig) -> None:
    int8 = npu1.compute_tile.kernel(None, "int8")
    # 48*280*48 = 645120 MACs / 256 = 2520; int32 C: + 0.365 * 2304 = 840.96 -> 3361 (published 192.0 MAC/cycle =
    # 3360 cycles, arXiv 2512.13282 Table 1); the default (int8) C: + 0.092 * 2304 = 211.97 -> 2732
    assert timing.compute_cycles(int8, 48, 280, 48, "int32") == 3361
    assert timing.compute_cycles(int8, 48, 280, 48) == timing.compute_cycles(int8, 48, 280, 48, "int8") == 2732
    # int16 C: 64*216*64 / 256 = 3456, + 0.149 * 4096 = 610.3 -> 4067 (published 217.6 MAC/cycle = 4066)
    assert timing.compute_cycles(int8, 64, 216, 64, "int16") == 4067


def test_a_call_is_timed_with_the_type_it_emits(npu1: NPUConfig) -> None:
    from npusim.isa import Compute

    def call(emit: str | None) -> Compute:
        return Compute(op="compute", m=48, k=280, n=48, dtype="int8", zero=True, emit=emit)
    assert timing.kernel_call_cycles(npu1.compute_tile, call("int32")) == 3361
    assert timing.kernel_call_cycles(npu1.compute_tile, call(None)) == 2732
