"""One sweep per output: a lock held while a sweep writes its table.

Two sweeps writing one output would each rewrite it from their own rows (the other's points
vanish) or interleave rows under different headers. So a sweep takes ``OUTPUT.lock`` (next to
the output) before it reads or writes the output, and a second sweep on the same output stops
at once, saying who holds it. The lock is an ``flock`` on that file: the operating system
releases it when its process ends, however it ends (a sweep killed with SIGKILL leaves no stale
lock, so ``--resume`` works right after). The file is removed when the sweep ends; a lock taken
on a file that was removed meanwhile is retried on the new one.

Where ``flock`` does not exist (Windows) the lock file is created exclusively instead; a sweep
that was killed leaves it, and the message says to remove it.
"""
from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..output import OutputError, explain
from .grid import SweepError


def lock_path(output: Path) -> Path:
    return output.with_name(output.name + ".lock")


def _held_by(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return f" ({text})" if text else ""


def _busy(output: Path, path: Path) -> SweepError:
    return SweepError(
        f"output {output}: another sweep is writing it{_held_by(path)}; wait for it to finish (then --resume "
        f"adds the points it lacks) or give another -o. The lock is {path}")


class SweepLock:
    """The lock on one sweep output; :meth:`release` (or the process ending) frees it."""

    def __init__(self, output: Path) -> None:
        self.output, self.path = output, lock_path(output)
        self.fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = self._take()
            os.ftruncate(self.fd, 0)
            os.write(self.fd, f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')}"
                     .encode())
        except OSError as exc:
            self.release()
            raise OutputError(output, explain(exc)) from None

    def _take(self) -> int:
        if os.name != "posix":
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                raise SweepError(str(_busy(self.output, self.path)) + "; if no sweep runs, remove it") from None
        import fcntl

        flock: Any = fcntl
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                flock.flock(fd, flock.LOCK_EX | flock.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise _busy(self.output, self.path) from None
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # the holder removed the file after we opened it: lock the new one

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink()
        except OSError:
            pass
        os.close(self.fd)  # closing frees the flock
        self.fd = None
