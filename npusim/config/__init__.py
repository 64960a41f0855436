"""Hardware description: pydantic models of the NPU and the YAML loader."""
from ._base import DTYPES, DType, Spec, VectorKind
from .ddr import DdrSpec
from .dispatch import DispatchSpec
from .interconnect import LockTimingSpec, StreamSwitchSpec
from .load import (
    ConfigError, apply_overrides, config_schema, load_config, parse_override, read_yaml, validation_message,
)
from .npu import NPUConfig, TileKind
from .power import MemoryEnergySpec, PowerSpec, TileWattsSpec, VoltagePoint, VoltageSpec
from .tiles import ComputeTileSpec, CoreOpsSpec, DmaSpec, KernelSpec, MemTileSpec, ShimTileSpec, StreamPortsSpec, VectorKernelSpec

__all__ = [
    "DTYPES", "ComputeTileSpec", "ConfigError", "CoreOpsSpec", "DType", "DdrSpec", "DispatchSpec", "DmaSpec", "KernelSpec",
    "LockTimingSpec", "MemTileSpec", "MemoryEnergySpec", "NPUConfig", "PowerSpec", "ShimTileSpec", "StreamPortsSpec",
    "Spec", "StreamSwitchSpec", "TileKind", "TileWattsSpec", "VectorKernelSpec", "VectorKind", "VoltagePoint", "VoltageSpec", "apply_overrides",
    "config_schema", "load_config",
    "parse_override", "read_yaml", "validation_message",
]
