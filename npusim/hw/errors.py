"""Errors raised while a simulation runs."""


class SimulationError(RuntimeError):
    """The program did something the hardware cannot do (e.g. a lock overflow)."""


class Livelock(SimulationError):
    """Only never-ending BD chains kept running while every unit the program waits for was
    blocked; the engine turns this into a DeadlockError with the full report."""
