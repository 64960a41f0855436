"""The table of published measurements (``validation/cases.yaml``): its schema and its loading.

Each case names its source, the device (a config in ``configs/``), the clock the publication ran
at, the data types, the workload, the metric and the published figure. Loading checks every
field and names the file, the line, the case and the field of each problem.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from npusim.config import ConfigError, DType
from npusim.config.load import read_yaml
from npusim.numerics import OutType

Pos = Annotated[int, Field(ge=1)]
Metric = Literal["macs_per_cycle", "cycles", "tops", "gflops", "gb_per_s", "us"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(_Model):
    """A publication: who and what, and where to read it."""

    citation: str = Field(min_length=1, description="Authors and title, or document and section.")
    url: str = Field(min_length=1, description="Where to read it.")


class Source(Citation):
    """Where a figure was published: the publication and the place in it."""

    where: str = Field(min_length=1, description="Table, figure or section that holds the figure.")


class KernelWorkload(_Model):
    """One L1-resident kernel call of ``m x k x n`` MACs on one core (no data movement)."""

    kind: Literal["kernel"]
    m: Pos
    k: Pos
    n: Pos

    def describe(self) -> str:
        return f"kernel {self.m}x{self.k}x{self.n}"


class StreamWorkload(_Model):
    """One DMA transfer of ``bytes`` from a memory tile into the compute tile above it."""

    kind: Literal["stream"]
    bytes: Pos

    def describe(self) -> str:
        return f"stream {self.bytes} B"


class GemmWorkload(_Model):
    """A whole-array GEMM ``C[m, n] = A[m, k] @ B[k, n]`` through npusim's frontend."""

    kind: Literal["gemm"]
    m: Pos
    k: Pos
    n: Pos
    tiles: tuple[Pos, Pos, Pos] | None = Field(None, description="Per-core tile (m, k, n) of the publication.")
    design: dict[Literal["c_buffers", "c_storage", "reuse", "b_layout"], int | str] = Field(
        default_factory=dict, description="The publication's other design choices, pinned for the mapper "
        "(npusim.frontend.Pins): C buffers and storage, memory-tile reuse, B's layout in DDR.")

    def describe(self) -> str:
        tiles = f" tiles {'x'.join(map(str, self.tiles))}" if self.tiles else ""
        return f"gemm {self.m}x{self.k}x{self.n}{tiles}"


class CopyWorkload(_Model):
    """A copy through the array: ``bytes`` read from DDR by ``channels`` shim MM2S channels (one per
    shim, in turn over the columns), each stream passing a memory tile, and, if ``round_trip``, the
    same bytes written back by as many S2MM channels; ``chunk`` bytes a buffer (double-buffered)."""

    kind: Literal["copy"]
    bytes: Pos
    channels: Pos
    round_trip: bool = True
    chunk: Pos = 32768

    def describe(self) -> str:
        return f"copy {self.bytes} B over {self.channels} channel(s){' and back' if self.round_trip else ''}"


class VectorWorkload(_Model):
    """One vector-unit kernel call of ``elements`` elements on one core (operands in L1)."""

    kind: Literal["vector"]
    op: str = Field(description="The vector operator (compute_tile.vector key), e.g. mul.")
    elements: Pos

    def describe(self) -> str:
        return f"vector {self.op} x {self.elements}"


Workload = Annotated[Union[KernelWorkload, StreamWorkload, GemmWorkload, CopyWorkload, VectorWorkload],
                     Field(discriminator="kind")]
WORKLOAD_KINDS = ("kernel", "stream", "gemm", "copy", "vector")


class Case(_Model):
    """One published measurement and how to simulate it."""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9.-]*$")
    title: str = Field(min_length=1)
    source: Source
    tag: Literal["MEAS", "3P"] = Field(description="MEAS: measured and published; 3P: third-party measurement.")
    device: str = Field(min_length=1, description="Config name: configs/<device>.yaml.")
    clock_mhz: Annotated[float, Field(gt=0)] = Field(description="Array clock the publication ran at.")
    origin: str = Field(min_length=1, description="The independent source (a key of the table's sources) the "
                        "figure comes from; the leave-one-source-out fits leave out all of its cases at once.")
    dtype: DType | Literal["bfp16"]
    b_dtype: Literal["bfp16", "int4"] | None = None
    out_dtype: OutType | None = None
    kernel: str | None = Field(None, description="The kernel library (compute_tile.kernels); None: the default.")
    overhead_us: Annotated[float, Field(ge=0)] = Field(
        0.0, description="Fixed host time the published figure includes and npusim does not simulate (a dispatch "
        "floor measured by the same source), added to the simulated time; say where it comes from in overhead_reason.")
    overhead_reason: str | None = None
    workload: Workload
    metric: Metric
    published: Annotated[float, Field(gt=0)]
    calibrates: tuple[str, ...] = Field((), description="Config fields fitted to this case.")
    overrides: tuple[str, ...] = Field((), description="Config overrides (KEY=VALUE) for this case.")
    override_reason: str | None = None
    explanation: str | None = Field(None, description="What the model lacks for this case.")

    @model_validator(mode="after")
    def _reasoned_overrides(self) -> "Case":
        if self.overrides and not self.override_reason:
            raise ValueError("overrides need an override_reason saying why they do not bias the timing")
        if self.overhead_us and not self.overhead_reason:
            raise ValueError("overhead_us needs an overhead_reason naming where the figure was measured")
        return self


class Prior(_Model):
    """What a config figure is in a fit that may not use the source it comes from: a [SPEC] or [INF]
    value. ``source`` names the origin the shipped figure was taken from (a measurement of that
    source, not a fit); figures fitted to the cases (``calibrates``) leave it empty."""

    value: float | None
    reason: str = Field(min_length=1)
    source: str | None = None


class Table(_Model):
    """The whole table: a tolerance, the independent sources, the priors of the fitted figures and
    the cases."""

    tolerance_pct: Annotated[float, Field(gt=0)]
    sources: dict[str, Citation] = Field(default_factory=dict)
    priors: dict[str, Prior] = Field(default_factory=dict, description="DEVICE:FIELD -> the figure a fit uses "
                                     "when none of the cases it sees calibrates FIELD (validation/fit.py).")
    cases: tuple[Case, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> "Table":
        if not self.cases:
            raise ValueError("the table has no cases; add at least one under 'cases:'")
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ValueError(f"case id '{case.id}' is used twice; give each case its own id")
            if case.origin not in self.sources:
                raise ValueError(f"case '{case.id}': origin '{case.origin}' is not one of the sources "
                                 f"({', '.join(self.sources)}); add it under 'sources:'")
            seen.add(case.id)
        return self


def _field(loc: tuple[str | int, ...]) -> str:
    """``('cases', 3, 'workload', 'gemm', 'm')`` -> ``cases[3].workload.m``."""
    out = ""
    for i, part in enumerate(loc):
        if i and loc[i - 1] == "workload" and part in WORKLOAD_KINDS:
            continue  # the member of the workload union pydantic tried, not a field
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(exc: ValidationError, path: Path, data: object, lines: dict[tuple[str | int, ...], int]) -> str:
    msgs = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        probe = loc
        while probe and probe not in lines:
            probe = probe[:-1]
        where = f"{path}:{lines[probe]}" if probe in lines else str(path)
        case = ""
        cases = data.get("cases") if isinstance(data, dict) else None
        if len(loc) > 1 and loc[0] == "cases" and isinstance(loc[1], int) and isinstance(cases, list):
            entry = cases[loc[1]]
            if isinstance(entry, dict) and "id" in entry:
                case = f" (case '{entry['id']}')"
        if err["type"] == "value_error" and "error" in err.get("ctx", {}):
            what = str(err["ctx"]["error"])  # a validator's own message, without "Value error, "
        else:
            got = f", got {err['input']!r}" if isinstance(err.get("input"), (int, float, str)) else ""
            what = f"{err['msg']}{got}"
        msgs.append(f"{where}: {_field(loc) or '<top level>'}{case}: {what}")
    return "\n".join(msgs)


def load_table(path: str | Path) -> Table:
    """Read and check the table; raise :class:`ConfigError` naming file, line, case and field."""
    path = Path(path)
    data, lines = read_yaml(path, "validation table")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'tolerance_pct' and 'cases' at the top level")
    try:
        return Table.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_message(exc, path, data, lines)) from None
