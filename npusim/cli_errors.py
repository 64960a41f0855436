"""Exit codes of the command line, and how an error reaches the user.

====  =====================================================================================
code  meaning
====  =====================================================================================
0     success (also: the reader of the output went away, ``npusim run ... | head``)
1     a functional run's output differs from numpy's, and nothing else went wrong
2     bad input or option: config, trace, workload, sweep or ONNX file, a flag's value, a
      path that cannot be written, a layer that cannot be lowered, or a run refused by a
      limit (size, estimated cycles or wall time, memory)
3     the simulation failed: deadlock, livelock, past ``--max-cycles``, or the program did
      something the hardware cannot (a lock overflow)
4     an internal error (a bug in npusim): one line on standard error; ``--debug`` prints
      the traceback
130   interrupted (Ctrl-C)
====  =====================================================================================

Every error is one ``error: ...`` message on standard error; ``--debug`` adds the traceback.
"""
from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from .engine import DeadlockError, MaxCyclesError
from .hw.errors import SimulationError
from .output import OutputError

OK, MISMATCH, BAD_INPUT, SIMULATION_FAILED, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 4, 130


class UsageError(ValueError):
    """A command-line value is malformed; the message names the flag and says what was expected."""


def exit_code(exc: BaseException) -> int:
    """The exit code of an error (see the module docstring)."""
    if isinstance(exc, (DeadlockError, MaxCyclesError, SimulationError)):
        return SIMULATION_FAILED
    if isinstance(exc, (ValueError, OutputError, MemoryError)):
        # every input error of npusim is a ValueError (ConfigError, ProgramError, LoweringError,
        # SweepError, LimitError, UsageError, pydantic's ValidationError)
        return BAD_INPUT
    return INTERNAL


def message(exc: BaseException) -> str:
    """The text after ``error:``."""
    if isinstance(exc, MemoryError):
        return ("out of memory: the input is too large for this machine; run a smaller layer, run timing-only "
                "(without --functional), or see the limits in `npusim run --help`")
    if exit_code(exc) == INTERNAL:
        text = str(exc).splitlines()[0] if str(exc) else ""
        return (f"internal error: {type(exc).__name__}{': ' + text if text else ''} (a bug in npusim; "
                "run again with --debug for the traceback, and report it)")
    return str(exc)


def _quiet_stdout() -> None:
    """After a broken pipe: point standard output at /dev/null, so that Python's own flush at
    exit does not fail again and print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass


def guarded(run: Callable[[], int], debug: bool) -> int:
    """Run a command; turn every error into its message and exit code (see the module
    docstring). With ``debug``, print the traceback too."""
    try:
        return run()
    except BrokenPipeError:
        _quiet_stdout()
        return OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        if debug:
            traceback.print_exc()
        try:
            print(f"error: {message(exc)}", file=sys.stderr)
        except BrokenPipeError:
            pass
        return exit_code(exc)
