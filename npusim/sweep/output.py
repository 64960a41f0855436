"""Where rows go as points finish: a CSV file, a Parquet file, or memory.

Nothing finished is lost when a sweep is interrupted, and no other sweep's or user's rows are
lost either:

- **One sweep per output**: a sweep holds ``OUTPUT.lock`` (:mod:`.lock`) while it runs, so a
  second sweep on the same output stops with a message instead of overwriting the first's rows.
- **CSV**: each point's rows are appended with one write, synced, and cut back off if the write
  fails (:func:`npusim.output.append_text`). A point bringing a column the header lacks (the
  first point with figures after failed ones, a new kind of layer) makes the file be rewritten
  with the wider header (to a temporary file, then renamed over it).
- **Parquet** cannot be appended to (its footer is written last, so a killed writer leaves an
  unreadable file). Each finished point is one small Parquet file in ``NAME.parquet.parts/``,
  written to a temporary name and renamed, so a part is there whole or not at all. When the
  sweep ends (or is resumed and ends) the parts and any earlier ``NAME.parquet`` are merged into
  ``NAME.parquet`` and the directory is removed. :func:`read_table` reads both at any time.

At the end the rows are sorted by point and layer and the columns ordered
(:mod:`npusim.sweep.table`), so the file does not depend on the order points finished in.
``--resume`` keeps every point whose rows are all there and runs the rest; a point cut short
(its rows partly written, or its last row torn) is dropped and run again. It refuses a file this
sweep did not write: one that is not a sweep table, or that holds points this sweep does not
define (each row's ``point_key`` is a digest of its point's config, overrides, workload and
options: the sweep's identity in the file). A sweep that extends another's grid may resume it.
"""
from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..output import OutputError, append_text, explain, replacing
from .execute import META, STATUS
from .grid import SweepError
from .lock import SweepLock
from .table import _index, ordered_columns, sorted_rows

if TYPE_CHECKING:
    import pandas as pd

Row = Mapping[str, Any]


def complete_points(rows: Iterable[Row], layers: Mapping[str, int]) -> set[str]:
    """Keys of the points whose rows are all present: one failure row for the whole point, or
    one row per layer (``layers[key]`` of them)."""
    seen: dict[str, set[int]] = {}
    for row in rows:
        seen.setdefault(str(row.get("point_key")), set()).add(_index(row.get("layer_index")))
    return {k for k, idx in seen.items() if k in layers and (-1 in idx or idx == set(range(layers[k])))}


def check_ours(path: Path, columns: Iterable[str], keys: Iterable[str], layers: Mapping[str, int]) -> None:
    """Refuse to resume into ``path`` unless a sweep table whose points are all points of this
    sweep (see the module docstring)."""
    missing = [c for c in (*META, *STATUS) if c not in set(columns)]
    if missing:
        raise SweepError(f"output {path}: not a sweep table (no {', '.join(missing)} column"
                         f"{'s' if len(missing) > 1 else ''}); --resume continues a sweep in its own output: "
                         "give another -o, or --overwrite to replace this file")
    foreign = sorted(set(keys) - set(layers))
    if foreign:
        raise SweepError(f"output {path}: {len(foreign)} of its points are not points of this sweep (point_key "
                         f"{foreign[0]}{', ...' if len(foreign) > 1 else ''}): another sweep (other configs, "
                         "workloads, values or options) wrote it; resume with that sweep's definition (or one that "
                         "extends its grid), or give another -o")


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


def _csv_text(columns: Sequence[str], rows: Iterable[Row], header: bool) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, restval="")
    if header:
        w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


class CsvOutput:
    """Rows appended to a CSV file (see the module docstring)."""

    def __init__(self, path: Path, params: Sequence[str], layers: Mapping[str, int], resume: bool) -> None:
        self.path, self.params = path, list(params)
        self.rows: list[dict[str, str]] = []
        if resume and path.exists():
            columns, kept = self._read()
            check_ours(path, columns, (str(r.get("point_key")) for r in kept), layers)
            whole = complete_points(kept, layers)
            self.rows = [r for r in kept if r.get("point_key") in whole]
        self.columns = ordered_columns(self.rows, self.params)
        self._rewrite()

    def _read(self) -> tuple[list[str], list[dict[str, str]]]:
        try:
            with self.path.open(encoding="utf-8", newline="") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SweepError(f"output {self.path}: cannot read it to resume ({exc}); give another -o") from None
        if text and not text.endswith("\n"):  # a record cut by the interruption
            text = text[: text.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fields = list(reader.fieldnames or ())
        rows = [dict(r) for r in reader if None not in r and None not in r.values() and len(r) == len(fields)]
        return fields, rows

    def _rewrite(self) -> None:
        with replacing(self.path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
            f.write(_csv_text(self.columns, self.rows, bool(self.rows or self.columns)))

    def done(self) -> set[str]:
        return {r["point_key"] for r in self.rows}

    def append(self, rows: Sequence[Row]) -> None:
        cells = [{k: _cell(v) for k, v in r.items()} for r in rows]
        new = [c for c in ordered_columns(cells, self.params) if c not in self.columns]
        if new or not self.columns:
            self.rows += cells
            self.columns += new
            self._rewrite()
            return
        append_text(self.path, _csv_text(self.columns, cells, header=False))
        self.rows += cells

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
    files = ([path] if path.is_file() else []) + (sorted(_parts(path).glob("*.parquet")) if _parts(path).is_dir()
                                                   else [])
    for file in files:
        try:
            rows += pq.read_table(file).to_pylist()
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise SweepError(f"output {path}: {file} is not a readable Parquet file ({exc}); give another -o, "
                             "or --overwrite to replace it") from None
    return rows


def _write_parquet(rows: Sequence[Row], columns: Sequence[str], dest: Path) -> None:
    """Write ``rows`` as a Parquet file at ``dest``, whole or not at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
    with replacing(dest) as tmp:
        pq.write_table(table, tmp)


class ParquetOutput:
    """Rows as one Parquet part file per point, merged at the end (see the module docstring)."""

    def __init__(self, path: Path, params: Sequence[str], layers: Mapping[str, int], resume: bool) -> None:
        self.path, self.params = path, list(params)
        self.parts = _parts(path)
        self.keys: set[str] = set()
        if resume:
            rows = _read_parquet_rows(path)
            columns = {c for r in rows for c in r} if rows else set(META) | set(STATUS)
            check_ours(path, columns, (str(r.get("point_key")) for r in rows), layers)
            self.keys = {str(r["point_key"]) for r in rows}
        self.parts.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        return set(self.keys)

    def append(self, rows: Sequence[Row]) -> None:
        key, point = rows[0]["point_key"], rows[0]["point"]
        _write_parquet(rows, ordered_columns(rows, self.params), self.parts / f"point-{int(point):07d}-{key}.parquet")
        self.keys.add(str(key))

    def close(self) -> pd.DataFrame:
        import pandas as pd

        rows = sorted_rows(_read_parquet_rows(self.path))
        _write_parquet(rows, ordered_columns(rows, self.params), self.path)
        shutil.rmtree(self.parts, ignore_errors=True)
        return pd.read_parquet(self.path)


class LockedOutput:
    """A file output and the lock on it: the lock is released when the output closes."""

    def __init__(self, inner: CsvOutput | ParquetOutput, lock: SweepLock) -> None:
        self.inner, self.lock = inner, lock
        self.path: Path | None = inner.path

    def done(self) -> set[str]:
        return self.inner.done()

    def append(self, rows: Sequence[Row]) -> None:
        self.inner.append(rows)

    def close(self) -> pd.DataFrame:
        try:
            return self.inner.close()
        finally:
            self.lock.release()


Output = MemoryOutput | LockedOutput


def open_output(path: str | Path | None, params: Sequence[str], layers: Mapping[str, int], resume: bool,
                overwrite: bool) -> Output:
    """The writer for ``path`` by its extension (``.csv`` or ``.parquet``), or memory for None;
    a file output holds the output's lock until it closes."""
    if path is None:
        return MemoryOutput(params)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise SweepError(f"output {path}: expected a .csv or .parquet file")
    lock = SweepLock(path)
    try:
        exists = path.exists() or _parts(path).exists()
        if exists and not resume and not overwrite:
            raise SweepError(f"output {path} exists: add --resume to continue that sweep (points already there are "
                             "skipped) or --overwrite to start again")
        if overwrite and not resume:
            path.unlink(missing_ok=True)
            shutil.rmtree(_parts(path), ignore_errors=True)
        inner: CsvOutput | ParquetOutput = (CsvOutput(path, params, layers, resume) if suffix == ".csv"
                                            else ParquetOutput(path, params, layers, resume))
    except OSError as exc:
        lock.release()
        raise OutputError(path, explain(exc)) from None
    except BaseException:
        lock.release()
        raise
    return LockedOutput(inner, lock)


def read_table(path: str | Path) -> pd.DataFrame:
    """A sweep's output as a table, also while it runs or after it was interrupted (a Parquet
    sweep's parts included)."""
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    if not _parts(path).is_dir():  # a finished sweep: its columns in the table's order
        return pd.read_parquet(path)
    rows = sorted_rows(_read_parquet_rows(path))
    return pd.DataFrame.from_records(rows, columns=ordered_columns(rows, []))
