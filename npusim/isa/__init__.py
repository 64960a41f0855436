"""The instruction streams: Program and its instructions, verification, and trace files."""
from .core_code import Code, Stmt
from .errors import ProgramError
from .instructions import (
    ENDLESS, WORD_BYTES, Acquire, Buffer, BufferDescriptor, BufferTask, Compute, Dim, DmaChannelProgram, DmaTask, Endpoint,
    Instruction, LockDecl, LockOp, Loop, Program, Release, Route, RuntimeOp, Tensor, TileProgram,
    Vector, Wait, pattern_bytes, pattern_extent_bytes,
)
from .routing import RoutePath
from .trace_io import TRACE_VERSION, load_program, program_from_dict, program_to_dict, save_program
from .verify import Layout, PlacedBuffer, verify

__all__ = [
    "ENDLESS", "TRACE_VERSION", "WORD_BYTES", "Acquire", "Code", "Stmt", "Buffer", "BufferDescriptor", "BufferTask", "Compute", "Dim", "DmaChannelProgram",
    "DmaTask", "Endpoint", "Instruction", "Layout", "LockDecl", "LockOp", "Loop", "PlacedBuffer",
    "Program", "ProgramError", "Release", "Route", "RoutePath", "RuntimeOp", "Tensor",
    "TileProgram", "Vector", "Wait", "load_program", "program_from_dict", "program_to_dict", "save_program",
    "pattern_bytes", "pattern_extent_bytes", "verify",
]
