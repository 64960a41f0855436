"""The error raised for programs and traces that cannot run on a config."""


class ProgramError(ValueError):
    """A program or trace file is invalid for the config; the message names the file, the tile
    or field, the limit and the fix."""
