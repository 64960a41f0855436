"""Sweep definitions: value lists, ranges, products, zipped keys, explicit points, sweep files,
and the errors of each, word for word."""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim import Gemm
from npusim.sweep import SweepError, define
from npusim.sweep.grid import axis_from_text, combinations, explicit, zipped

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs/tiny.yaml")


def values(text: str) -> list[object]:
    return [s.value for s in axis_from_text(text)]


def test_value_lists_and_ranges() -> None:
    assert values("columns=2,4,8") == [2, 4, 8]
    assert values("clock_mhz=1000:2000:250") == [1000, 1250, 1500, 1750, 2000]
    assert values("columns=1:3") == [1, 2, 3]
    assert values("ddr.latency_ns=0.1:0.3:0.1") == [0.1, 0.2, 0.3]
    assert values("columns=1,4:6") == [1, 4, 5, 6]
    assert values("name=a,b c") == ["a", "b c"]
    assert values("ddr={latency_ns: 1, access_bytes: 64},{latency_ns: 2, access_bytes: 32}") == [
        {"latency_ns": 1, "access_bytes": 64}, {"latency_ns": 2, "access_bytes": 32}]
    assert [s.override for s in axis_from_text("clock_mhz=1000:1500:500")] == ["clock_mhz=1000", "clock_mhz=1500"]


@pytest.mark.parametrize("text, message", [
    ("columns", "--set 'columns': override 'columns': expected KEY=VALUE, e.g. columns=2 or mem_tile.size_kib=1024; "
                "a value list is KEY=V1,V2,... or KEY=START:STOP:STEP"),
    ("columns=2,,4", "--set 'columns=2,,4': an empty value in the list; write KEY=V1,V2,... without doubled or "
                     "trailing commas"),
    ("clock_mhz=2000:1000:250", "--set clock_mhz: range '2000:1000:250': expected START:STOP:STEP with START <= "
                                "STOP and STEP > 0, e.g. 1000:2000:250 (STOP included)"),
    ("clock_mhz=1000:2000:0", "--set clock_mhz: range '1000:2000:0': expected START:STOP:STEP with START <= STOP "
                              "and STEP > 0, e.g. 1000:2000:250 (STOP included)"),
])
def test_bad_set_syntax(text: str, message: str) -> None:
    with pytest.raises(SweepError) as err:
        axis_from_text(text)
    assert str(err.value) == message


def test_product_zip_and_points() -> None:
    axes = [axis_from_text("columns=1,2"), axis_from_text("compute_rows=1,2")]
    zips = [zipped({"clock_mhz": [1000, 2000], "ddr.latency_ns": [100, 50]}, "zip")]
    combos = combinations(axes, zips, [explicit({"columns": 4, "options.seed": 3}, "points")])
    as_text = [[s.override for s in c] for c in combos]
    assert len(as_text) == 2 * 2 * 2 + 1
    assert as_text[0] == ["columns=1", "compute_rows=1", "clock_mhz=1000", "ddr.latency_ns=100"]
    assert as_text[1] == ["columns=1", "compute_rows=1", "clock_mhz=2000", "ddr.latency_ns=50"]
    assert as_text[-1] == ["columns=4", "options.seed=3"]
    assert list(combinations([], [], [])) == [()] and len(combinations([], [], [])) == 1
    # made one at a time, by position as in order
    assert [combos[i] for i in range(len(combos))] == list(combos) and combos[-1] == combos[len(combos) - 1]
    with pytest.raises(SweepError, match=r"^zip: zipped lists must have the same length, got clock_mhz: 2, "
                                         r"columns: 3$"):
        zipped({"clock_mhz": [1, 2], "columns": [1, 2, 3]}, "zip")


def test_points_of_python_arguments() -> None:
    spec = define(TINY, [Gemm(name="g", m=64, k=64, n=64, dtype="int8"), ROOT / "workloads/small_gemms.yaml"],
                  {"columns": [1, 2], "clock_mhz": "500:1000:500"}, options={"max_cycles": 10**8})
    points = spec.points()
    assert len(points) == 2 * 2 * 2
    assert spec.params == ["columns", "clock_mhz"]
    p = points[3]
    assert p.overrides == ("columns=1", "clock_mhz=1000")
    assert p.workload.label.endswith("small_gemms.yaml") and p.layers == 6
    assert dict(p.options) == {"max_cycles": 10**8}
    assert len({q.key for q in points}) == len(points)
    assert [q.key for q in define(TINY, [Gemm(name="g", m=64, k=64, n=64, dtype="int8"),
                                         ROOT / "workloads/small_gemms.yaml"],
                                  {"columns": [1, 2], "clock_mhz": "500:1000:500"},
                                  options={"max_cycles": 10**8}).points()] == [q.key for q in points]


def test_a_sweep_file(tmp_path: Path) -> None:
    f = tmp_path / "sweep.yaml"
    f.write_text(f"""\
description: two workloads, a product, a zip and a point
configs: [{TINY}]
workloads:
  - {ROOT / "workloads/small_gemms.yaml"}
  - {{op: gemm, m: 128, k: 64, n: 32}}
  - {{name: pair, dtype: bf16, layers: [{{op: gemm, m: 64, k: 64, n: 64}}, {{op: gemm, m: 32, k: 32, n: 32}}]}}
set:
  columns: 1,2
zip:
  - {{clock_mhz: [1000, 2000], options.seed: [1, 2]}}
points:
  - {{columns: 2, options.max_cycles: 1000}}
options: {{max_cycles: 100000000}}
""")
    spec = define(file=f)
    points = spec.points()
    assert len(points) == (2 * 2 + 1) * 3
    assert spec.params == ["columns", "clock_mhz", "options.seed", "options.max_cycles"]
    assert [w.label for w in spec.workloads][1:] == ["gemm 128x64x32 int8->int8", "pair"]
    pair = spec.workloads[2].workload
    assert [ly.dtype for ly in pair.layers] == ["bf16", "bf16"]
    assert [ly.name for ly in pair.layers] == ["gemm 64x64x64 bf16->bf16", "gemm 32x32x32 bf16->bf16"]
    assert dict(points[3].options) == {"max_cycles": 100000000, "seed": 2}
    assert dict(points[-1].options) == {"max_cycles": 1000}
    # command-line values add to the file's: another key, and the configs replaced
    more = define(config=[TINY, TINY], grid=["compute_rows=1,2"], file=f)
    assert len(more.points()) == 2 * (2 * 2 * 2 + 1) * 3


@pytest.mark.parametrize("body, message", [
    ("config: CFG_PATH\nworkload: WL_PATH\nsett: {columns: [1]}\n",
     "{f}:3: sett: unknown field; remove it or check its spelling against `npusim schema`"),
    ("config: CFG_PATH\nworkloads:\n  - {op: gemm, m: 0, k: 8, n: 8}\n",
     "{f}:3: layers[0].m: Input should be greater than or equal to 1, got 0"),
    ("config: CFG_PATH\nworkload: WL_PATH\noptions: {max_cycle: 5}\n",
     "{f} options: max_cycle: not a run option; a sweep sets max_cycles, max_wall_seconds, stall_limit_cycles, "
     "functional, seed"),
    ("config: CFG_PATH\nworkload: WL_PATH\nset: {options.trace: [1]}\n",
     "swept key 'options.trace': not a run option; the options a sweep sets are options.max_cycles, "
     "options.max_wall_seconds, options.stall_limit_cycles, options.functional, options.seed"),
    ("config: CFG_PATH\nworkload: WL_PATH\npoints: [{columns: [1, 2]}]\n",
     "{f} points[0]: columns: a point sets one value per key; put lists under set: or zip:"),
    ("config: CFG_PATH\nworkload: WL_PATH\nset: {colums: [1, 2]}\n",
     "swept key 'colums': CFG_PATH (override): colums: unknown field; remove it or check its spelling against "
     "`npusim schema`"),
    ("config: CFG_PATH\nworkload: WL_PATH\nset: {ddr.speed.x: [1, 2]}\n",
     "swept key 'ddr.speed.x': CFG_PATH: override 'ddr.speed.x=1': 'ddr.speed' is not a section of the config; "
     "see `npusim schema` for the fields"),
])
def test_sweep_file_errors(tmp_path: Path, body: str, message: str) -> None:
    f = tmp_path / "sweep.yaml"
    f.write_text(body.replace("CFG_PATH", TINY).replace("WL_PATH", str(ROOT / "workloads/small_gemms.yaml")))
    with pytest.raises(SweepError) as err:
        define(file=f).points()
    assert str(err.value) == message.format(f=f).replace("CFG_PATH", TINY)


def test_a_sweep_needs_a_config_and_a_workload() -> None:
    with pytest.raises(SweepError, match="^a sweep needs a config: --config FILE"):
        define(workload=ROOT / "workloads/small_gemms.yaml")
    with pytest.raises(SweepError, match="^a sweep needs a workload: --workload, --gemm"):
        define(TINY)
