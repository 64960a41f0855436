"""Every file npusim writes is there whole or not at all (npusim.output): a full disk (an
``OSError(ENOSPC)`` injected at the one low-level write, after half the bytes went out, as a
full disk does) or a path that cannot be written gives exit 2 with the path named and leaves
no partial file; the old file, if any, is kept as it was."""
from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import npusim.output as output
from npusim.cli import main
from npusim.models import small_cnn
from npusim.output import OutputError, append_text, write_text

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "configs/tiny.yaml")
GEMM = ["--config", TINY, "--gemm", "64x64x64"]


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The disk fills up after ``budget[0]`` more bytes: the write that crosses it writes what
    fits, then fails with ENOSPC (``os.write`` as npusim.output calls it)."""
    budget = [0]
    real = os.write

    def write(fd: int, data: Any) -> int:
        if len(data) > budget[0]:
            if budget[0]:
                real(fd, bytes(data[:budget[0]]))
                budget[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        budget[0] -= len(data)
        return real(fd, data)
    monkeypatch.setattr(output.os, "write", write)
    yield budget


def _files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path, full_disk: list[int]) -> None:
    path = tmp_path / "out.json"
    path.write_text("old")
    full_disk[0] = 10
    with pytest.raises(OutputError) as exc:
        write_text(path, "x" * 1000)
    assert str(exc.value) == (f"{path}: cannot write: No space left on device; the disk is full; free some space "
                              "or write to another disk")
    assert path.read_text() == "old" and _files(tmp_path) == ["out.json"]


def test_a_failed_append_is_cut_back_off(tmp_path: Path, full_disk: list[int]) -> None:
    path = tmp_path / "rows.csv"
    full_disk[0] = 10**6
    append_text(path, "a,b\n1,2\n")
    full_disk[0] = 3
    with pytest.raises(OutputError, match="No space left on device"):
        append_text(path, "3,4\n")
    assert path.read_text() == "a,b\n1,2\n"  # no torn record


def test_lower_output_on_a_full_disk(tmp_path: Path, full_disk: list[int],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "gemm.json"
    full_disk[0] = 2000
    assert main(["lower", *GEMM, "-o", str(trace)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {trace}: cannot write: No space left on device; the disk is full; free some space or " \
                  "write to another disk\n"
    assert _files(tmp_path) == []


def test_perfetto_on_a_full_disk(tmp_path: Path, full_disk: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "run.perfetto.json"
    full_disk[0] = 5000
    assert main(["run", *GEMM, "--perfetto", str(trace)]) == 2
    assert f"error: {trace}: cannot write: No space left on device" in capsys.readouterr().err
    assert _files(tmp_path) == []
    full_disk[0] = 10**9
    assert main(["run", *GEMM, "--perfetto", str(trace)]) == 0
    assert json.loads(trace.read_text())["traceEvents"]


def test_csv_set_is_written_together_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    real = pd.DataFrame.to_csv
    written: list[str] = []

    def to_csv(self: pd.DataFrame, path: Any, **kw: Any) -> Any:
        if len(written) == 3:  # the fourth file hits the full disk, part written
            Path(path).write_text("col\n1")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        written.append(str(path))
        return real(self, path, **kw)
    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    out = tmp_path / "tables"
    assert main(["run", *GEMM, "--csv", str(out)]) == 2
    assert f"error: {out / 'routes.csv'}: cannot write: No space left on device" in capsys.readouterr().err
    assert _files(tmp_path) == ["tables"]  # not layers.csv, tiles.csv and channels.csv without the rest


@pytest.mark.parametrize("flag", ["--plot", "--perfetto", "--csv"])
def test_a_path_under_a_file_is_a_clear_error(tmp_path: Path, flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "out.png"
    assert main(["run", *GEMM, flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target if flag != '--csv' else target / 'layers.csv'}: cannot write: ")
    assert "a part of the path is a file, not a directory" in err or "File exists" in err
    assert _files(tmp_path) == ["file"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["lower", *GEMM, "-o", str(ro / "t.json")]) == 2
        assert capsys.readouterr().err == (f"error: {ro / 't.json'}: cannot write: Permission denied; no permission "
                                           "to write there; choose a directory you can write to\n")
        assert _files(ro) == []
    finally:
        ro.chmod(0o755)


def test_plot_and_import_onnx_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], full_disk: list[int]) -> None:
    from matplotlib.figure import Figure

    def savefig(self: Figure, path: Any, **kw: Any) -> None:
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    monkeypatch.setattr(Figure, "savefig", savefig)
    png = tmp_path / "u.png"
    assert main(["plot", "utilisation", *GEMM, "-o", str(png)]) == 2
    assert f"error: {png}: cannot write: No space left on device" in capsys.readouterr().err
    import onnx

    model = tmp_path / "m.onnx"
    onnx.save(small_cnn(), model)
    workload = tmp_path / "w.yaml"
    full_disk[0] = 100
    assert main(["import-onnx", str(model), "-o", str(workload)]) == 2
    assert f"error: {workload}: cannot write: No space left on device" in capsys.readouterr().err
    assert _files(tmp_path) == ["m.onnx"]


@pytest.mark.parametrize("name", ["two\nlines", "a long name " * 30, "a: b # not a comment", "\u2028 and \x85 and é",
                                  "- dash", "'\"quotes\"'", "1e3"])
def test_import_onnx_names_round_trip(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The workload's name (--name) and a layer's (the ONNX node's) are written so that YAML reads
    them back unchanged: quoted and escaped as needed, never cut."""
    import onnx

    from npusim.frontend import load_workload

    proto = small_cnn()
    proto.graph.node[0].name = name
    model = tmp_path / "m.onnx"
    onnx.save(proto, model)
    workload = tmp_path / "w.yaml"
    assert main(["import-onnx", str(model), "-o", str(workload), "--name", name]) == 0
    loaded = load_workload(workload)
    assert loaded.name == name and yaml.safe_load(workload.read_text())["name"] == name
    assert loaded.layers[0].name == name
