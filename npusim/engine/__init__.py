"""Build the array from a config, load a program into it, and run it."""
from .deadlock import DeadlockError, MaxCyclesError
from .options import RunOptions
from .run import run_functional, run_machine, run_program

__all__ = ["DeadlockError", "MaxCyclesError", "RunOptions", "run_functional", "run_machine", "run_program"]
