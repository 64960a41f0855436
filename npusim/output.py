"""One writer for every file npusim writes: a file is there whole, or not at all.

Every output (trace JSON from ``lower -o``, Perfetto JSON, CSV tables, figures, workload YAML,
sweep tables and their Parquet parts, validation plots) is written by :func:`replacing` or one
of the helpers built on it: the content goes to a temporary file in the destination's directory
(so the rename stays on one file system), the file is flushed to disk (``fsync``), then renamed
over the destination (``os.replace``, atomic on POSIX and Windows) and the directory entry
synced. A reader sees the old file or the new one, never a part of either; a writer killed, or
stopped by a full disk, leaves the destination as it was.

:func:`replacing_all` does the same for a set of files written together (``--csv DIR``): every
file is written to its temporary first, and only when all succeeded are they renamed, so a full
disk leaves the old set, not a mixed one. :func:`append_text` appends to a file (a sweep's CSV
rows): what it appends is synced, and a failed append is cut back off, so the file never ends
in a torn record.

Any ``OSError`` on the way (a full disk, a read-only directory, a parent that is a file) becomes
an :class:`OutputError` naming the path, the reason and a fix; the command line exits with 2.

This module imports nothing from npusim: every package that writes uses it.
"""
from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class OutputError(RuntimeError):
    """A file could not be written; the message names the path, the reason and the fix. Nothing
    partial is left at the path (it keeps its earlier content, if any)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = Path(path)


_FIXES = {
    errno.ENOSPC: "the disk is full; free some space or write to another disk",
    errno.EDQUOT: "the disk quota is used up; free some space or write elsewhere",
    errno.EACCES: "no permission to write there; choose a directory you can write to",
    errno.EPERM: "no permission to write there; choose a directory you can write to",
    errno.EROFS: "the file system is read-only; choose another directory",
    errno.ENOTDIR: "a part of the path is a file, not a directory; choose another path",
    errno.EISDIR: "the path is a directory; give a file name",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
}


def explain(exc: OSError) -> str:
    """An ``OSError`` as a reason and a fix."""
    what = exc.strerror or str(exc) or type(exc).__name__
    fix = _FIXES.get(exc.errno or 0)
    return f"{what}; {fix}" if fix else what


def _temporary(path: Path) -> Path:
    """A fresh name next to ``path``, hidden, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory; the rename itself is done
        pass
    finally:
        os.close(fd)


def _create(path: Path) -> Path:
    """Make the parent directories of ``path`` and an empty temporary file next to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    tmp = _temporary(path)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies, as to open()
    return tmp


def _discard(tmp: Path | None) -> None:
    if tmp is not None:
        try:
            tmp.unlink()
        except OSError:
            pass


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to (by any library: ``savefig``,
    ``to_csv``, ``pyarrow``); when the block ends without an error, sync it and rename it over
    ``path``. On an error the temporary is removed, ``path`` is left as it was, and an
    ``OSError`` is raised as :class:`OutputError`."""
    with replacing_all([path]) as tmps:
        yield tmps[0]


@contextmanager
def replacing_all(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """:func:`replacing` for several files written together: all are renamed into place only
    after every one was written."""
    dests = [Path(p) for p in paths]
    tmps: dict[Path, Path] = {}
    current: Path | None = None  # the destination being created or renamed, if any
    try:
        for current in dests:
            tmps[current] = _create(current)
        current = None
        yield [tmps[d] for d in dests]
        for tmp in tmps.values():
            _sync_file(tmp)
        for current in dests:
            os.replace(tmps.pop(current), current)
        for directory in dict.fromkeys(d.parent for d in dests):
            _sync_directory(directory)
    except OSError as exc:
        raise OutputError(current or _about(exc, dests, tmps), explain(exc)) from None
    finally:
        for tmp in tmps.values():
            _discard(tmp)


def _about(exc: OSError, dests: list[Path], tmps: Mapping[Path, Path]) -> Path:
    """The destination an ``OSError`` raised while writing the temporaries concerns: the one
    whose temporary it names (a library's write), else the first."""
    named = Path(str(exc.filename)) if exc.filename else None
    return next((d for d in dests if named in (d, tmps.get(d))), dests[0])


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module docstring)."""
    with replacing(path) as tmp:
        with tmp.open("wb") as f:
            write_all(f.fileno(), data)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    write_bytes(path, text.encode("utf-8"))


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to the file descriptor ``fd`` (the one low-level write of
    this module, which tests replace to simulate a full disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_with(paths: Mapping[Path, Callable[[Path], None]]) -> None:
    """Write several files together: ``paths[dest](tmp)`` writes each one's content to its
    temporary; all are renamed into place only when every one succeeded."""
    dests = list(paths)
    with replacing_all(dests) as tmps:
        for dest, tmp in zip(dests, tmps):
            paths[dest](tmp)


def append_text(path: str | Path, text: str) -> None:
    """Append ``text`` to ``path`` (made if missing) and sync it. If the write fails part way (a
    full disk), the file is cut back to its old length, so it never ends in a torn record."""
    path = Path(path)
    data = text.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    except OSError as exc:
        raise OutputError(path, explain(exc)) from None
    try:
        size = os.fstat(fd).st_size
        try:
            write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise OutputError(path, explain(exc)) from None
    finally:
        os.close(fd)


def save_figure(figure: Any, path: str | Path, **savefig: Any) -> None:
    """Save a matplotlib figure to ``path`` whole or not at all, in the format its extension
    names (``.png``, ``.svg``, ...); ``savefig`` keywords (``dpi``) are passed on."""
    path = Path(path)
    with replacing(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".").lower() or None, **savefig)
