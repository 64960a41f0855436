"""One sweep, three ways: in this process, in a local process pool and on a Dask cluster (a real
LocalCluster of two worker processes on loopback): the same table every time, and the same file."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from npusim import sweep
from npusim.sweep import define, run_sweep

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs/tiny.yaml")
WORKLOAD = str(ROOT / "workloads/small_gemms.yaml")
GRID = {"columns": [1, 2], "compute_rows": [1, 2], "ddr.bandwidth_gb_per_s": [4, 8, 16]}  # 12 points


@contextmanager
def _dashboard_port_taken() -> Iterator[None]:
    """Dask's default dashboard port, 8787, in use (held here if nobody else holds it): the
    cluster below must not depend on it (every port it opens is a free one, port 0)."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # taken already: the case to survive
    try:
        yield
    finally:
        holder.close()


def test_serial_pool_and_dask_give_the_same_table() -> None:
    from distributed import Client, LocalCluster

    serial = sweep(TINY, WORKLOAD, GRID, workers=1)
    pool = sweep(TINY, WORKLOAD, GRID, workers=2)
    with _dashboard_port_taken(), LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                               scheduler_port=0, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        dask = sweep(TINY, WORKLOAD, GRID, client=client)
        # the address form of the command line's --scheduler
        _, summary = run_sweep(define(TINY, WORKLOAD, {"columns": [1, 2]}), scheduler=cluster.scheduler_address)
    assert summary.where == f"the Dask cluster at {cluster.scheduler_address}" and summary.ok == 2
    assert len(serial) == 12 * 6 and serial["point"].nunique() == 12
    assert (serial["status"] == "ok").all()
    pd.testing.assert_frame_equal(serial, pool)
    pd.testing.assert_frame_equal(serial, dask)
    assert list(serial.columns[:9]) == ["point", "point_key", "config_file", "workload", "columns", "compute_rows",
                                        "ddr.bandwidth_gb_per_s", "status", "error_kind"]
    # the swept DDR bandwidth and the report's achieved DDR bandwidth are two columns
    assert "report.ddr.bandwidth_gb_per_s" in serial.columns
    # the mapper uses at most the swept array (it may use less of it)
    first = serial.groupby("point").first()
    assert (first["tiles.cores"] <= first["columns"] * first["compute_rows"]).all()
    assert first["tiles.cores"].tolist()[:3] == [1, 1, 1]


def test_the_file_does_not_depend_on_the_order_points_finish(tmp_path: Path) -> None:
    grid = {"columns": [1, 2], "compute_rows": [1, 2]}
    sweep(TINY, WORKLOAD, grid, workers=1, output=tmp_path / "serial.csv")
    sweep(TINY, WORKLOAD, grid, workers=2, output=tmp_path / "pool.csv")
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "pool.csv").read_bytes()
    a = sweep(TINY, WORKLOAD, grid, workers=1, output=tmp_path / "serial.parquet")
    b = sweep(TINY, WORKLOAD, grid, workers=2, output=tmp_path / "pool.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert not (tmp_path / "pool.parquet.parts").exists()
    assert a["cycles"].tolist() == pd.read_csv(tmp_path / "serial.csv")["cycles"].tolist()
