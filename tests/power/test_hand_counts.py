"""The counts the power model prices, against counts worked out by hand from the program's
structure (not re-priced from the recorder): a 64x64x64 int8 GEMM in 32x32x32 tiles on the
tiny config (2 columns x 2 compute rows, one row group per feeder column, 64-byte DDR accesses,
the round energy figures of configs/tiny.yaml).

Shapes: Mp = Kp = Np = 64, one super-tile (mb = nb = 1), kt = 2 reduction steps: every core
computes one 32x32 output tile in 2 kernel calls (the first zeroes C, the second emits int8)."""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim import Gemm, load_config, run_layer
from npusim.frontend import Pins
from npusim.stats import Report

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")
M = K = N = 64
m = k = n = 32
CORES, COLUMNS = 4, 2
A_TILE = B_TILE = m * k  # int8 bytes of one A or B tile
C_ACC, C_OUT = m * n * 4, m * n  # 32-bit accumulators, int8 output


@pytest.fixture(scope="module")
def report() -> Report:
    # the design the counts below describe, pinned: all 2x2 cores, 32^3 tiles, two 32-bit C
    # buffers per core, A and B streamed (nothing kept in the memory tiles), B stored tile by tile
    pins = Pins(columns=2, rows=2, tiles=(m, k, n), c_buffers=2, c_storage="acc", reuse="none", b_layout="tiled",
                a_block="step")
    return run_layer(TINY, Gemm(name="g", m=M, k=K, n=N, dtype="int8"), pins=pins)


def test_macs_and_kernel_bytes(report: Report) -> None:
    a = report.actions
    assert a.macs == {"int8": M * K * N}  # 4 cores x 2 calls x 32^3
    # per core: both calls read A and B; the second reads the accumulators the first wrote;
    # both write the accumulators; the second also writes the int8 output
    assert a.data_memory_read_bytes == CORES * (2 * (A_TILE + B_TILE) + C_ACC)
    assert a.data_memory_write_bytes == CORES * (2 * C_ACC + C_OUT)
    assert a.vector_elements == {}


def test_dma_bytes_by_memory(report: Report) -> None:
    a = report.actions
    # a compute tile receives its 2 A and 2 B tiles and sends its output tile
    assert a.dma_memory_write_bytes == CORES * 2 * (A_TILE + B_TILE)
    assert a.dma_memory_read_bytes == CORES * C_OUT
    # a memory tile receives its row's A (2 steps), its column's B (2 steps) and 2 output tiles,
    # and sends each of them on once (a broadcast is read once)
    per_mem_tile = 2 * A_TILE + 2 * B_TILE + 2 * C_OUT
    assert a.mem_tile_write_bytes == a.mem_tile_read_bytes == COLUMNS * per_mem_tile


def test_ddr_bytes_with_whole_accesses(report: Report) -> None:
    assert (report.ddr.bytes_read, report.ddr.bytes_written) == (M * K + K * N, M * N)
    # A: each feeder reads 32 rows x 2 steps of 32-byte runs, each a whole 64-byte access;
    # B: one 2 KiB run per column (stored tile by tile); C: 64 rows of 32-byte runs per column
    a_accessed = COLUMNS * (m * 2) * 64
    b_accessed = COLUMNS * 2 * B_TILE
    c_accessed = COLUMNS * (2 * m) * 64
    assert report.actions.ddr_bytes == report.ddr.bytes_accessed == a_accessed + b_accessed + c_accessed == 20480


def test_lock_operations(report: Report) -> None:
    # a core: acquire C empty and release C full once, and per step acquire A and B full and
    # release them empty: 2 + 2 x 4 = 10. Its channels: 5 BDs (2 A, 2 B in; 1 C out), each an
    # acquire and a release, plus the next BD's acquire of the A and of the B input channel
    # (their buffers are empty again, so it is granted; the BD then waits for data): 12.
    compute = 10 + 5 * 2 + 2
    # a memory tile: 12 BDs (A, B in and out, 2 steps each; 1 C in per row; 2 C out), and
    # the next BD's granted acquire on each of its 4 input channels (A, B, 2 x C)
    mem = 12 * 2 + 4
    per_tile = {t.kind: t.lock_operations for t in report.tiles}
    assert per_tile == {"compute": compute, "mem": mem, "shim": 0}
    assert report.actions.lock_operations == CORES * compute + COLUMNS * mem == 144


def test_stream_bytes_times_switches(report: Report) -> None:
    # switches of each route's tree, source and destination included: shim -> memory tile 2;
    # A of row 0 from column 0's memory tile up and east: (0,1) (0,2) (1,2) = 3; A of row 1 from
    # column 1's (a memory tile has no east-west ports: up one, west along row 2, up):
    # (1,1) (1,2) (0,2) (0,3) (1,3) = 5; B down a column: 3; C up from row 0: 2, from row 1: 3;
    # memory tile -> shim: 2
    expected = (2 * COLUMNS * 2 * (A_TILE + B_TILE)  # A and B in, every column
                + 3 * 2 * A_TILE + 5 * 2 * A_TILE    # A across rows 0 and 1
                + 3 * COLUMNS * 2 * B_TILE           # B down every column
                + (2 + 3) * COLUMNS * C_OUT          # outputs to the memory tiles
                + 2 * COLUMNS * 2 * C_OUT)           # joined outputs to the shims
    assert report.actions.stream_byte_switches == expected == 63488


def test_energy_from_the_hand_counts(report: Report) -> None:
    """The priced components of these counts, with tiny.yaml's figures written out."""
    e = report.energy_by_component or {}
    pj = 1e-12
    assert e["macs"] == pytest.approx(M * K * N * 0.1 * pj)
    assert e["data_memory"] == pytest.approx((4 * (2 * 2048 + 4096) * 0.5 + 4 * (2 * 4096 + 1024) * 1.0) * pj)
    assert e["ddr"] == pytest.approx(20480 * 50.0 * pj)
    assert e["locks"] == pytest.approx(144 * 1.0 * pj)
    assert e["stream"] == pytest.approx(63488 * 0.5 * pj)
    assert e["static"] == pytest.approx((4 * 0.01 + 2 * 0.02 + 2 * 0.005) * report.seconds)
