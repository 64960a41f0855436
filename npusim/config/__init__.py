"""Hardware description: pydantic models of the NPU and the YAML loader."""
from ._base import DTYPES, OPERAND_TYPES, DType, OperandType, Spec, VectorKind
from .ddr import DdrSpec
from .dispatch import DispatchSpec
from .interconnect import LockTimingSpec, StreamSwitchSpec
from .load import (
    ConfigError, apply_overrides, config_schema, load_config, parse_override, read_config, read_yaml, validation_message,
)
from .npu import NPUConfig, TileKind
from .power import MemoryEnergySpec, PowerSpec, TileWattsSpec, VoltagePoint, VoltageSpec
from .tiles import (
    ComputeTileSpec, CoreOpsSpec, DmaSpec, KernelError, KernelLibrarySpec, KernelSpec, MemTileSpec, ShimTileSpec,
    StreamPortsSpec, VectorKernelSpec, type_pair,
)

__all__ = [
    "DTYPES", "OPERAND_TYPES", "ComputeTileSpec", "ConfigError", "CoreOpsSpec", "DType", "DdrSpec", "DispatchSpec",
    "DmaSpec", "KernelError", "KernelLibrarySpec", "KernelSpec", "LockTimingSpec", "MemTileSpec", "MemoryEnergySpec", "NPUConfig",
    "OperandType", "PowerSpec", "ShimTileSpec", "StreamPortsSpec", "Spec", "StreamSwitchSpec", "TileKind",
    "TileWattsSpec", "VectorKernelSpec", "VectorKind", "VoltagePoint", "VoltageSpec", "apply_overrides",
    "config_schema", "load_config", "parse_override", "read_config", "read_yaml", "type_pair", "validation_message",
]
