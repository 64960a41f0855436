"""The validation table (validation/cases.yaml) and its script (validation/run.py).

Two cases are pinned to the cycle: a timing change that moves them must be deliberate, and then
validation/README.md and these figures are updated together (re-run `validation/run.py`).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from matplotlib.text import Text
from matplotlib.transforms import Bbox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from npusim.config import ConfigError  # noqa: E402
from validation.run import Result, main, plot_figure, run_cases  # noqa: E402
from validation.table import load_table  # noqa: E402

TABLE = ROOT / "validation" / "cases.yaml"
KERNEL = "xdna-k-i8-64x232x64"   # one int8 kernel call on npu1: the calibrated compute rule
STREAM = "xdna-dma-2kib"         # one 2 KiB DMA into a core on npu1: DMA start-up and stream width


def test_table_loads_and_every_case_has_a_source() -> None:
    table = load_table(TABLE)
    assert len(table.cases) >= 45
    for case in table.cases:
        src = case.source
        assert src.citation.strip() and src.url.startswith("https://") and src.where.strip(), case.id
    assert len({c.origin for c in table.cases}) >= 4
    devices = {c.device for c in table.cases}
    assert devices == {"npu1", "npu2", "npu1-8700g"}
    assert {c.workload.kind for c in table.cases} == {"kernel", "stream", "gemm", "copy", "vector"}


def test_pinned_kernel_case_cycles() -> None:
    # 64*232*64 = 950,272 MACs / 256 = 3,712 + 0.092 * 64*64 = 376.8 -> 4,089 cycles (published: 233.0
    # MACs/cycle = 4,078 cycles)
    (result,) = run_cases(load_table(TABLE), [KERNEL])
    assert 64 * 232 * 64 / result.simulated == 4089
    assert result.held_out is None  # held out only when asked
    assert result.error_pct == pytest.approx(100 * (950272 / 4089 - 233.0) / 233.0)


def test_pinned_stream_case_cycles() -> None:
    # 2048 B at 4 B/cycle = 512 cycles of data + the compute tile DMA's start-up (9) - 1 = 520 busy
    (result,) = run_cases(load_table(TABLE), [STREAM])
    assert result.simulated == 520
    assert result.within


def test_script_prints_errors_in_percent_and_writes_the_plot(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "v.png"
    assert main(["--only", KERNEL, STREAM, "--plot", str(plot), "--no-held-out"]) == 0
    out = capsys.readouterr().out
    header, rule, *rows = out.splitlines()
    assert header.split() == ["#", "case", "source", "device", "types", "metric", "published", "simulated", "error",
                              "%", "held-out", "%", "fit", "status", "lock", "wait", "%"]
    assert re.search(rf"^ *1  {KERNEL} +paper +npu1 +int8->int8 +MACs/cycle +233 +232\.4 +-0\.3 +cal +ok$", out, re.M)
    assert re.search(rf"^ *2  {STREAM} +mlir-aie-guide +npu1 .* cycles +512 +520 +\+1\.6 +ok$", out, re.M)
    assert ("2 cases from 2 sources (mlir-aie-guide, paper): 2 within +-15%, 0 outside with an explanation, "
            "0 outside without one") in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", STREAM, "--markdown", "--plot", str(tmp_path / "v.png")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| # | case | source | device | types | metric | published | simulated | error % | held-out % "
                          "| fit | status | lock wait % |\n")
    # the guide's 2 KiB transfer: no fit without the guide changes a figure it uses, so held out = shipped
    assert f"| 1 | {STREAM} | mlir-aie-guide | npu1 | int16->int16 | cycles | 512 | 520 | +1.6 | +1.6 |  | ok |  |" in out
    assert "- without mlir-aie-guide: fitted on 16 cases" in out


def _bad_table(tmp_path: Path, old: str, new: str) -> Path:
    text = TABLE.read_text()
    assert old in text
    path = tmp_path / "cases.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


def test_bad_entry_names_file_line_case_and_field(tmp_path: Path) -> None:
    path = _bad_table(tmp_path, "workload: {kind: kernel, m: 64, k: 232, n: 64}", "workload: {kind: kernel, m: 0, k: 232, n: 64}")
    with pytest.raises(ConfigError) as err:
        load_table(path)
    line = _line(path, "m: 0,")
    assert str(err.value) == (f"{path}:{line}: cases[0].workload.m (case '{KERNEL}'): Input should be greater "
                              "than or equal to 1, got 0")


def test_missing_source_and_unknown_field_are_named(tmp_path: Path) -> None:
    path = _bad_table(tmp_path, "    metric: cycles\n    published: 512\n",
                      "    metric: cycles\n    publishd: 512\n")
    with pytest.raises(ConfigError) as err:
        load_table(path)
    msg = str(err.value)
    assert f"cases[15].published (case '{STREAM}'): Field required" in msg
    assert f"{path}:{_line(path, 'publishd')}: cases[15].publishd (case '{STREAM}'): Extra inputs are not " \
           "permitted, got 512" in msg


def test_overrides_need_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "tolerance_pct: 15\n"
        "sources: {someone: {citation: someone, url: https://example.org}}\n"
        "cases:\n"
        "  - id: one\n"
        "    title: a kernel\n"
        "    source: {citation: someone, url: https://example.org, where: Table 1}\n"
        "    origin: someone\n"
        "    tag: MEAS\n"
        "    device: npu1\n"
        "    clock_mhz: 1000\n"
        "    dtype: int8\n"
        "    workload: {kind: kernel, m: 8, k: 8, n: 8}\n"
        "    metric: cycles\n"
        "    published: 10\n"
        "    overrides: [ddr.bandwidth_gb_per_s=100]\n")
    with pytest.raises(ConfigError) as err:
        load_table(path)
    assert str(err.value) == (f"{path}:4: cases[0] (case 'one'): overrides need an override_reason "
                              "saying why they do not bias the timing")


def test_unknown_case_id_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "no-such-case"]) == 2
    assert capsys.readouterr().err == "error: no case with id no-such-case in the table\n"


def test_plot_labels_sit_on_their_own_points() -> None:
    # every case at nearly its published figure: the points crowd along y = x as in the real table
    table = load_table(TABLE)
    results = [Result(c, c.published * (1 + 0.02 * (i % 3)), table.tolerance_pct) for i, c in enumerate(table.cases)]
    fig = plot_figure(results)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [a for a in ax.texts if str(a.get_gid()).startswith("label-")]
    assert [a.get_text() for a in labels] == [str(i) for i in range(1, len(results) + 1)]
    points = [ax.transData.transform((r.case.published, r.simulated)) for r in results]
    boxes = []  # the number alone (not its leader line): centred its offset away from its point
    for a, (px, py) in zip(labels, points):
        size = Text.get_window_extent(a)
        cx, cy = px + a.xyann[0] * fig.dpi / 72, py + a.xyann[1] * fig.dpi / 72
        boxes.append(Bbox.from_bounds(cx - size.width / 2, cy - size.height / 2, size.width, size.height))
    for i, (a, box) in enumerate(zip(labels, boxes)):
        # no label covers another label or any marker
        assert not any(box.overlaps(other) for j, other in enumerate(boxes) if j != i), a.get_text()
        assert not any(box.x0 < px < box.x1 and box.y0 < py < box.y1 for px, py in points), a.get_text()
        centre = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
        nearest = min(range(len(points)), key=lambda k: (points[k][0] - centre[0]) ** 2 + (points[k][1] - centre[1]) ** 2)
        # its own point is the nearest one, or a leader line joins them
        assert nearest == i or a.arrow_patch is not None, a.get_text()


def test_a_case_names_one_of_the_sources(tmp_path: Path) -> None:
    path = _bad_table(tmp_path, "    origin: paper\n", "    origin: hearsay\n")
    with pytest.raises(ConfigError, match=r"case 'xdna-k-i8-64x232x64': origin 'hearsay' is not one of the sources "
                       r"\(paper, mlir-aie-guide, ignite-xdna, jena-xdna\); add it under 'sources:'"):
        load_table(path)


@pytest.mark.slow
@pytest.mark.validation
def test_the_whole_validation() -> None:
    """Every published case, on the shipped configs and held out (the fit without its source): at
    least 45 cases from at least 4 sources; on the shipped configs |error| median within 10% and
    90th percentile within 25%; every case outside the tolerance, or beyond 25% held out, explained
    in the table. (Held out, the cases of a source that alone measured what they depend on miss by
    more: docs/accuracy.md gives the distribution.)"""
    from validation.run import percentile
    results = run_cases(load_table(TABLE), held_out=True, jobs=2)
    assert len(results) >= 45 and len({r.case.origin for r in results}) >= 4
    assert all(r.held_out_pct is not None for r in results)
    shipped = [abs(r.error_pct) for r in results]
    assert percentile(shipped, 50) <= 10.0
    assert percentile(shipped, 90) <= 25.0
    assert [r.case.id for r in results if r.status == "MISSED"] == []
