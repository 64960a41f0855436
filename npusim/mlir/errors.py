"""The error of a design npusim cannot read or run: it names the file, the line and the fix."""
from __future__ import annotations

from ..isa import ProgramError


class MlirError(ProgramError):
    """A design file is malformed, or uses an op or attribute npusim does not model.

    A :class:`~npusim.isa.ProgramError` (bad input: the command line exits with status 2). The
    message reads ``file:line: what is wrong; what to do``."""

    def __init__(self, source: str, line: int | None, what: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {what}")
        self.source = source
        self.line = line
