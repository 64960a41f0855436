"""Where rows go as points finish: a CSV file, a Parquet file, or memory.

Nothing finished is lost when a sweep is interrupted:

- **CSV**: each point's rows are appended with one write and flushed. A point bringing a column
  the header lacks (the first point with figures after failed ones, a new kind of layer) makes
  the file be rewritten with the wider header (to a temporary file, then renamed over it).
- **Parquet** cannot be appended to (its footer is written last, so a killed writer leaves an
  unreadable file). Each finished point is one small Parquet file in ``NAME.parquet.parts/``,
  written to a temporary name and renamed, so a part is there whole or not at all. When the
  sweep ends (or is resumed and ends) the parts and any earlier ``NAME.parquet`` are merged into
  ``NAME.parquet`` and the directory is removed. :func:`read_table` reads both at any time.

At the end the rows are sorted by point and layer and the columns ordered
(:mod:`npusim.sweep.table`), so the file does not depend on the order points finished in.
``--resume`` keeps every point whose rows are all there and runs the rest; a point cut short
(its rows partly written) is dropped and run again.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .grid import SweepError
from .table import _index, ordered_columns, sorted_rows

if TYPE_CHECKING:
    import pandas as pd

Row = Mapping[str, Any]


def complete_points(rows: Iterable[Row], layers: Mapping[str, int]) -> set[str]:
    """Keys of the points whose rows are all present: one failure row for the whole point, or
    one row per layer (``layers[key]`` of them). Points of another sweep count as complete."""
    seen: dict[str, set[int]] = {}
    for row in rows:
        seen.setdefault(str(row.get("point_key")), set()).add(_index(row.get("layer_index")))
    return {k for k, idx in seen.items() if k not in layers or -1 in idx or idx == set(range(layers[k]))}


class MemoryOutput:
    """Rows kept in memory (no output file)."""

    path: Path | None = None

    def __init__(self, params: Sequence[str]) -> None:
        self.params = list(params)
        self.rows: list[Row] = []

    def done(self) -> set[str]:
        return set()

    def append(self, rows: Sequence[Row]) -> None:
        self.rows += rows

    def close(self) -> pd.DataFrame:
        import pandas as pd

        rows = sorted_rows(self.rows)
        return pd.DataFrame.from_records(rows, columns=ordered_columns(rows, self.params))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


class CsvOutput:
    """Rows appended to a CSV file (see the module docstring)."""

    def __init__(self, path: Path, params: Sequence[str], layers: Mapping[str, int], resume: bool) -> None:
        self.path, self.params = path, list(params)
        self.rows: list[dict[str, str]] = []
        if resume and path.exists():
            kept = self._read()
            whole = complete_points(kept, layers)
            self.rows = [r for r in kept if r.get("point_key") in whole]
        self.columns = ordered_columns(self.rows, self.params)
        self._rewrite()

    def _read(self) -> list[dict[str, str]]:
        text = self.path.read_text()
        if text and not text.endswith("\n"):  # a record cut by the interruption
            text = text[: text.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(text))
        fields = len(reader.fieldnames or ())
        return [dict(r) for r in reader if None not in r and None not in r.values() and len(r) == fields]

    def _rewrite(self) -> None:
        def write(tmp: Path) -> None:
            with tmp.open("w", newline="") as f:
                w = csv.DictWriter(f, self.columns, restval="")
                if self.rows or self.columns:
                    w.writeheader()
                w.writerows(self.rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _replace(self.path, write)

    def done(self) -> set[str]:
        return {r["point_key"] for r in self.rows}

    def append(self, rows: Sequence[Row]) -> None:
        cells = [{k: _cell(v) for k, v in r.items()} for r in rows]
        self.rows += cells
        new = [c for c in ordered_columns(cells, self.params) if c not in self.columns]
        if new or not self.columns:
            self.columns += new
            self._rewrite()
            return
        buf = io.StringIO()
        csv.DictWriter(buf, self.columns, restval="").writerows(cells)
        with self.path.open("a", newline="") as f:
            f.write(buf.getvalue())
            f.flush()

    def close(self) -> pd.DataFrame:
        import pandas as pd

        self.rows = [dict(r) for r in sorted_rows(self.rows)]
        self.columns = ordered_columns(self.rows, self.params)
        self._rewrite()
        return _read_csv(self.path) if self.rows else pd.DataFrame()


def _read_csv(path: Path) -> pd.DataFrame:
    """The CSV as a table, floats read back exactly (pandas 3 does by default; 2 when asked)."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")


def _parts(path: Path) -> Path:
    return path.with_name(path.name + ".parts")


def _read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    if path.is_file():
        rows += pq.read_table(path).to_pylist()
    if _parts(path).is_dir():
        for part in sorted(_parts(path).glob("*.parquet")):
            rows += pq.read_table(part).to_pylist()
    return rows


def _write_parquet(rows: Sequence[Row], columns: Sequence[str], dest: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
    pq.write_table(table, dest)


class ParquetOutput:
    """Rows as one Parquet part file per point, merged at the end (see the module docstring)."""

    def __init__(self, path: Path, params: Sequence[str], resume: bool) -> None:
        self.path, self.params = path, list(params)
        self.parts = _parts(path)
        self.keys: set[str] = set()
        if resume:
            self.keys = {str(r["point_key"]) for r in _read_parquet_rows(path)}
        self.parts.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        return set(self.keys)

    def append(self, rows: Sequence[Row]) -> None:
        key, point = rows[0]["point_key"], rows[0]["point"]
        _replace(self.parts / f"point-{int(point):07d}-{key}.parquet",
                 lambda tmp: _write_parquet(rows, ordered_columns(rows, self.params), tmp))
        self.keys.add(str(key))

    def close(self) -> pd.DataFrame:
        import pandas as pd

        rows = sorted_rows(_read_parquet_rows(self.path))
        _replace(self.path, lambda tmp: _write_parquet(rows, ordered_columns(rows, self.params), tmp))
        shutil.rmtree(self.parts, ignore_errors=True)
        return pd.read_parquet(self.path)


def open_output(path: str | Path | None, params: Sequence[str], layers: Mapping[str, int], resume: bool,
                overwrite: bool) -> MemoryOutput | CsvOutput | ParquetOutput:
    """The writer for ``path`` by its extension (``.csv`` or ``.parquet``), or memory for None."""
    if path is None:
        return MemoryOutput(params)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise SweepError(f"output {path}: expected a .csv or .parquet file")
    exists = path.exists() or _parts(path).exists()
    if exists and not resume and not overwrite:
        raise SweepError(f"output {path} exists: add --resume to continue that sweep (points already there are "
                         "skipped) or --overwrite to start again")
    if overwrite and not resume:
        path.unlink(missing_ok=True)
        shutil.rmtree(_parts(path), ignore_errors=True)
    if suffix == ".csv":
        return CsvOutput(path, params, layers, resume)
    return ParquetOutput(path, params, resume)


def read_table(path: str | Path) -> pd.DataFrame:
    """A sweep's output as a table, also while it runs or after it was interrupted (a Parquet
    sweep's parts included)."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    rows = sorted_rows(_read_parquet_rows(path))
    return pd.DataFrame.from_records(rows, columns=ordered_columns(rows, []))
