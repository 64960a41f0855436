"""Invalid variants in a grid are recorded with their errors; the other points complete."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from npusim import Gemm, sweep
from npusim.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs/tiny.yaml")
SMALL = Gemm(name="gemm_64", m=64, k=64, n=64, dtype="int8")
PAIR = {"name": "pair", "layers": [{"op": "gemm", "m": 64, "k": 64, "n": 64},
                                    {"op": "gemm", "m": 128, "k": 128, "n": 128, "dtype": "bf16"}]}


def test_invalid_variants_are_reported_and_the_rest_complete() -> None:
    # columns=0: the config is invalid; data_mem_kib=1: no tile fits (LoweringError);
    # options.max_cycles=100: the runs are refused, their estimates being longer (LimitError);
    # everything else runs
    table = sweep(TINY, [SMALL, PAIR], {"columns": [0, 2], "compute_tile.data_mem_kib": [1, 64]},
                  points=[{"columns": 2, "options.max_cycles": 100}], workers=1)
    assert sorted(set(table["point"])) == list(range(10))
    by_point = table.groupby("point")
    status = by_point["status"].agg(lambda s: "ok" if (s == "ok").all() else "failed")
    assert list(status) == ["failed"] * 6 + ["ok", "ok", "failed", "failed"]
    # an invalid config: one row, the loader's message (file, override, field, constraint)
    bad = table[table["columns"] == 0]
    assert len(bad) == 4 and set(bad["error_kind"]) == {"ConfigError"} and bad["layer_index"].isna().all()
    assert set(bad["error"]) == {f"{TINY} (override): columns: Input should be greater than or equal to 1, got 0"}
    # a layer that does not fit: one failed row per layer, named
    tight = table[(table["columns"] == 2) & (table["compute_tile.data_mem_kib"] == 1)]
    assert list(tight["layer"]) == ["gemm_64", "gemm 64x64x64 int8->int8", "gemm 128x128x128 bf16->bf16"]
    assert set(tight["error_kind"]) == {"LoweringError"}
    assert tight["error"].str.contains("no design fits").all()
    assert tight["error"].str.contains("limit compute_tile.data_mem_kib = 1").all()
    # the run option of one point refuses its runs before they start
    stopped = table[table["options.max_cycles"] == 100]
    assert set(stopped["error_kind"]) == {"LimitError"} and len(stopped) == 3
    assert stopped["error"].str.contains(r"cycles and about .* of simulation, more than --max-cycles 100").all()
    good = table[table["status"] == "ok"]
    assert len(good) == 3 and good["cycles"].gt(0).all() and good["error"].isna().all()
    assert list(good["layer"]) == ["gemm_64", "gemm 64x64x64 int8->int8", "gemm 128x128x128 bf16->bf16"]


def test_the_summary_counts_and_names_the_failures(tmp_path: Path, capsys: object) -> None:
    out = tmp_path / "r.csv"
    code = main(["sweep", "--config", TINY, "--set", "columns=0,1,2", "--gemm", "64x64x64", "-o", str(out),
                 "--workers", "1"])
    assert code == 0
    text = capsys.readouterr().out.splitlines()  # type: ignore[attr-defined]
    assert text[0].startswith("sweep    3 points: 2 ok, 1 failed; 3 run in ")
    assert text[1] == (f"failed   point 0 (columns=0) gemm_64x64x64 on {TINY}: ConfigError: {TINY} (override): "
                       "columns: Input should be greater than or equal to 1, got 0")
    assert text[2] == f"table    {out}"
    table = pd.read_csv(out)
    assert list(table["status"]) == ["failed", "ok", "ok"]


def test_command_line_errors(tmp_path: Path, capsys: object) -> None:
    cases = {
        ("--set", "colums=1,2"): f"error: swept key 'colums': {TINY} (override): colums: unknown field; remove it or "
                                 "check its spelling against `npusim schema`",
        ("--set", "columns"): "error: --set 'columns': override 'columns': expected KEY=VALUE, e.g. columns=2 or "
                              "mem_tile.size_kib=1024; a value list is KEY=V1,V2,... or KEY=START:STOP:STEP",
        ("--workers", "0"): "error: --workers 0: expected at least 1",
        ("--tiles", "32,32,32"): "error: npusim sweep: --tiles is not swept; the lowering chooses each point's tile "
                                 "sizes",
    }
    for extra, message in cases.items():
        code = main(["sweep", "--config", TINY, "--gemm", "64x64x64", "-o", str(tmp_path / "x.csv"), *extra])
        assert code == 2
        assert capsys.readouterr().err.strip() == message  # type: ignore[attr-defined]
    (tmp_path / "x.csv").write_text("")
    assert main(["sweep", "--config", TINY, "--gemm", "64x64x64", "-o", str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err.strip() == (  # type: ignore[attr-defined]
        f"error: output {tmp_path / 'x.csv'} exists: add --resume to continue that sweep (points already there are "
        "skipped) or --overwrite to start again")


def test_the_command_line_with_a_sweep_file_and_an_onnx_model(tmp_path: Path, capsys: object) -> None:
    import onnx

    from npusim.models import small_cnn

    model = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(size=16, channels=(8, 8, 16)), model)
    f = tmp_path / "sweep.yaml"
    f.write_text(f"config: {TINY}\nworkloads: [{{op: gemm, m: 64, k: 64, n: 32}}]\nset: {{columns: [1, 2]}}\n")
    assert main(["sweep", str(f), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [  # type: ignore[attr-defined]
        f"point 0 (columns=1) gemm 64x64x32 int8->int8 on {TINY}",
        f"point 1 (columns=2) gemm 64x64x32 int8->int8 on {TINY}",
        "sweep    2 points (1 configs x 2 variants x 1 workloads)",
    ]
    out = tmp_path / "r.parquet"
    # the command line's workloads replace the file's; its --set adds a key
    assert main(["sweep", str(f), "--onnx", str(model), "--dtype", "int8", "--set", "compute_rows=1,2",
                 "-o", str(out), "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out  # type: ignore[attr-defined]
    assert printed.startswith("sweep    4 points: 4 ok, 0 failed; 4 run in ")
    table = pd.read_parquet(out)
    assert table["workload"].unique().tolist() == [str(model)]
    assert table.groupby("point")["layer"].count().tolist() == [len(table) // 4] * 4
    assert {"conv", "matmul"} <= set(table["operator"])
