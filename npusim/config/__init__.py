"""Hardware description: pydantic models of the NPU and the YAML loader."""
from ._base import DTYPES, OPERAND_TYPES, DType, OperandType, Spec, VectorKind
from .ddr import DdrSpec
from .interconnect import LockTimingSpec, StreamSwitchSpec
from .load import (
    ConfigError, apply_overrides, config_schema, load_config, parse_override, read_config, read_yaml, validation_message,
)
from .npu import NPUConfig, TileKind
from .power import MemoryEnergySpec, PowerSpec, TileWattsSpec
from .tiles import (
    ComputeTileSpec, DmaSpec, KernelError, KernelLibrarySpec, KernelSpec, MemTileSpec, ShimTileSpec, StreamPortsSpec,
    VectorKernelSpec, type_pair,
)

__all__ = [
    "DTYPES", "OPERAND_TYPES", "ComputeTileSpec", "ConfigError", "DType", "DdrSpec", "DmaSpec", "KernelError",
    "KernelLibrarySpec", "KernelSpec", "OperandType", "type_pair",
    "LockTimingSpec", "MemTileSpec", "MemoryEnergySpec", "NPUConfig", "PowerSpec", "ShimTileSpec", "StreamPortsSpec",
    "Spec", "StreamSwitchSpec", "TileKind", "TileWattsSpec", "VectorKernelSpec", "VectorKind", "apply_overrides", "config_schema", "load_config",
    "parse_override", "read_config", "read_yaml", "validation_message",
]
