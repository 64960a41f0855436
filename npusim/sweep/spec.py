"""A sweep's definition: configs x parameter combinations x workloads, with run options.

From Python arguments, from the command line, or from a sweep file (YAML) for what flags cannot
say: several configs and workloads, inline layers, zipped parameters, explicit points with their
own options. Paths are relative to the current directory, as on the command line::

    description: columns and memory-tile size on two devices
    configs: [configs/npu1.yaml, configs/npu2.yaml]
    workloads:
      - workloads/small_gemms.yaml                 # a workload file (or an .onnx model)
      - {op: gemm, m: 512, k: 512, n: 512, dtype: bf16}   # one layer, as in workload files
      - {name: attention, dtype: bf16, layers: [{op: gemm, m: 512, k: 64, n: 512}]}
      - {onnx: model.onnx, dtype: int8, skip_unsupported: true}
      - {llm: workloads/llm/llama-3.2-1b.json, prompt: 512, generate: 16}   # a language model (npusim llm)
    set:                                           # the Cartesian product, first key slowest
      columns: [2, 4]
      mem_tile.size_kib: 256:1024:256              # or a list, or 256,512 (command-line syntax)
      llm.weights: [int8, bf16]                    # a language model's run: llm.prompt, llm.kv_dtype, ...
    zip:                                           # keys that vary together
      - {clock_mhz: [1000, 1500], ddr.bandwidth_gb_per_s: [60, 90]}
    points:                                        # extra points after the grid
      - {columns: 8, options.max_cycles: 50000000}
    options: {max_cycles: 100000000, seed: 0}      # run options of every point
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import ConfigError, read_yaml, validation_message
from ..frontend.layers.matmul import LAYER_TAGS, AnyLayer, Conv2d, Gemm
from ..frontend.onnx.importer import import_onnx
from ..frontend.layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Rope, Softmax
from ..frontend.layers.workload import Workload, load_workload
from ..llm import LlmRun, load_model
from .grid import (
    LLM_PREFIX,
    OPTION_FIELDS,
    Combination,
    Grid,
    Setting,
    SweepError,
    axis_from_text,
    axis_from_value,
    check_options,
    combinations,
    explicit,
    run_options,
    uniform_values,
    zipped,
)
from .points import ConfigSource, LlmSource, Point, WorkloadSource, check_keys, make_points

WorkloadLike = Union[str, Path, Workload, AnyLayer, Mapping[str, Any]]
"""A workload of a sweep: a workload YAML or ONNX file, a :class:`Workload`, one layer, or a sweep
file's mapping entry."""
GridLike = Union[Sequence[str], Mapping[str, Any]]
"""Swept keys: ``["columns=2,4,8", ...]`` (command-line syntax) or ``{"columns": [2, 4, 8]}``."""
LAYER_TYPES = (Gemm, Conv2d, Elementwise, Pool, Softmax, LayerNorm, RMSNorm, Rope, Embedding)


class SweepFile(BaseModel):
    """The sweep file format (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    description: str = ""
    config: str | None = None
    configs: list[str] = []
    workload: str | dict[str, Any] | None = None
    workloads: list[str | dict[str, Any]] = []
    grid: dict[str, Any] = Field({}, alias="set")
    zip: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    options: dict[str, Any] = {}


MAX_POINTS = 100_000
"""The most points a sweep runs unless told otherwise (``max_points``, ``--max-points``): each is a
full simulation, so more is days of work, and a grid that large is usually a typo in a range."""


@dataclass(frozen=True)
class SweepSpec:
    """What to run: every config x combination x workload, with the base run options."""

    configs: tuple[ConfigSource, ...]
    workloads: tuple[WorkloadSource, ...]
    combos: Sequence[Combination]
    """The combinations (a :class:`~npusim.sweep.grid.Grid`, made one at a time)."""
    options: Mapping[str, Any] = field(default_factory=dict)

    def points(self) -> list[Point]:
        return make_points(self.configs, self.workloads, self.combos, self.options)

    @property
    def params(self) -> list[str]:
        """The swept keys, in order of first appearance (the table's parameter columns)."""
        settings = self.combos.settings() if isinstance(self.combos, Grid) else (s for c in self.combos for s in c)
        return list(dict.fromkeys(s.key for s in settings))


def check_size(configs: int, variants: int, workloads: int, max_points: int) -> None:
    """Refuse a sweep of more than ``max_points`` points before making any of them."""
    total = configs * variants * workloads
    if total > max_points:
        raise SweepError(f"the sweep has {total:,} points ({configs:,} configs x {variants:,} variants x {workloads:,} "
                         f"workloads), more than the limit of {max_points:,}: sweep fewer values (a larger STEP in a "
                         "range), or raise the limit with --max-points N (in Python: max_points=N)")


def _inline_workload(entry: Mapping[str, Any], where: str, lines: Mapping[tuple[str | int, ...], int]) -> Workload:
    """A sweep file's inline layer (``op: ...``) or workload (``layers: [...]``); operands are
    int8 unless a ``dtype`` says otherwise, as on the command line."""
    data = dict(entry)
    if "op" in data:  # one layer: a workload of one, its lines moved under layers[0]
        data = {"name": "", "layers": [dict(data, dtype=data.get("dtype", "int8"))]}
        lines = {("layers", 0) + k: v for k, v in lines.items()}
    data.setdefault("name", "")
    default = data.pop("dtype", None) or "int8"
    if isinstance(data.get("layers"), list):
        data["layers"] = [dict(ly, dtype=ly.get("dtype", default)) if isinstance(ly, dict) else ly
                          for ly in data["layers"]]
    try:
        workload = Workload.model_validate(data)
    except ValidationError as exc:
        raise SweepError(validation_message(exc, where, lines, tags=LAYER_TAGS)) from None
    layers = [ly if ly.name != "layer" else ly.model_copy(update={"name": ly.describe()}) for ly in workload.layers]
    return workload.model_copy(update={"name": workload.name or layers[0].name, "layers": layers})


def workload_source(entry: WorkloadLike, where: str = "workload",
                    lines: Mapping[tuple[str | int, ...], int] | None = None) -> WorkloadSource:
    """Read or validate one workload of a sweep."""
    if isinstance(entry, Workload):
        return WorkloadSource.of(entry.name, entry)
    if isinstance(entry, LAYER_TYPES):
        return WorkloadSource.of(entry.name, Workload(name=entry.name, layers=[entry]))
    if isinstance(entry, (str, Path)):
        path = Path(entry)
        if path.suffix.lower() == ".onnx":
            return WorkloadSource.of(str(entry), import_onnx(path).workload)
        return WorkloadSource.of(str(entry), load_workload(path))
    if not isinstance(entry, Mapping):
        raise SweepError(f"{where}: expected a workload file, a layer or a mapping, got {type(entry).__name__}")
    if "workload" in entry:
        return workload_source(str(entry["workload"]), where)
    if "onnx" in entry:
        extra = set(entry) - {"onnx", "dtype", "skip_unsupported", "name"}
        if extra:
            raise SweepError(f"{where}: an onnx entry takes onnx, dtype, skip_unsupported and name; "
                             f"remove {', '.join(sorted(extra))}")
        model = import_onnx(str(entry["onnx"]), entry.get("dtype"), bool(entry.get("skip_unsupported")),
                            entry.get("name"))
        return WorkloadSource.of(str(entry.get("name") or entry["onnx"]), model.workload)
    if "llm" in entry:
        return llm_source(entry, where)
    if "op" in entry or "layers" in entry:
        wl = _inline_workload(entry, where, lines or {})
        return WorkloadSource.of(wl.name, wl)
    raise SweepError(f"{where}: a workload entry needs one of workload, onnx, llm (a language model's config.json), "
                     "op (one layer) or layers (an inline workload)")


def llm_source(entry: Mapping[str, Any], where: str = "workload") -> WorkloadSource:
    """A language-model workload: ``{llm: MODEL.json, prompt: ..., generate: ..., weights: ...,
    kv_dtype: ..., prefill_chunk: ..., contexts: [...], name: ...}`` (the run's fields default as
    in ``npusim llm``; ``llm.*`` swept keys update them per point)."""
    data = {k: v for k, v in entry.items() if k not in ("llm", "name")}
    unknown = sorted(set(data) - set(LlmRun.model_fields))
    if unknown:
        raise SweepError(f"{where}: an llm entry takes llm, name and the run's fields ({', '.join(LlmRun.model_fields)}); "
                         f"remove {', '.join(unknown)}")
    try:
        run = LlmRun.model_validate({"prompt": 512, **data})
    except ValidationError as exc:
        raise SweepError(validation_message(exc, f"{where} (llm entry)")) from None
    model = load_model(str(entry["llm"]))
    return WorkloadSource.of_llm(str(entry.get("name") or entry["llm"]), LlmSource(model, run))


def _check_llm_keys(combos: Grid, sources: Sequence[WorkloadSource]) -> None:
    keys = sorted({s.key for s in combos.settings() if s.is_llm})
    if not keys:
        return
    if not any(w.llm is not None for w in sources):
        raise SweepError(f"swept key {keys[0]!r}: llm.* keys set a language model's run; add one (--llm MODEL.json, "
                         "or {llm: MODEL.json} in the sweep file's workloads)")
    bad = [k for k in keys if k[len(LLM_PREFIX):] not in LlmRun.model_fields]
    if bad:
        raise SweepError(f"swept key {bad[0]!r}: not a field of a language-model run; the llm.* keys are "
                         + ", ".join(LLM_PREFIX + f for f in LlmRun.model_fields))


def _axes(grid: GridLike, where: str) -> list[list[Setting]]:
    if isinstance(grid, Mapping):
        return [axis_from_value(str(k), v, where) for k, v in grid.items()]
    return [axis_from_text(text, where) for text in grid]


def _check_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(OPTION_FIELDS))
    if unknown:
        raise SweepError(f"{where}: {', '.join(unknown)}: not a run option; a sweep sets "
                         + ", ".join(OPTION_FIELDS))
    return dict(options)


def read_sweep_file(path: str | Path) -> tuple[SweepFile, dict[tuple[str | int, ...], int]]:
    """Parse and check a sweep file (and the line of each field); errors name the file, the line
    and the field."""
    try:
        data, lines = read_yaml(Path(path), "sweep file")
    except ConfigError as exc:
        raise SweepError(str(exc)) from None
    if not isinstance(data, dict):
        raise SweepError(f"{path}: expected a mapping with configs, workloads and set at the top level")
    try:
        return SweepFile.model_validate(data), lines
    except ValidationError as exc:
        raise SweepError(validation_message(exc, str(path), lines)) from None


def _file_workloads(sf: SweepFile, path: str, lines: Mapping[tuple[str | int, ...], int]) -> list[WorkloadSource]:
    entries = ([sf.workload] if sf.workload is not None else []) + list(sf.workloads)
    key = "workload" if sf.workload is not None else "workloads"
    out = []
    for i, entry in enumerate(entries):
        prefix = (key,) if key == "workload" else (key, i)
        sub = {k[len(prefix):]: v for k, v in lines.items() if k[:len(prefix)] == prefix}
        where = f"{path} {key}" + (f"[{i}]" if key == "workloads" else "")
        if isinstance(entry, dict):
            out.append(workload_source(entry, path, sub))
            continue
        try:
            out.append(workload_source(entry, where))
        except ConfigError as exc:  # the workload file it names: say where the sweep file named it
            raise SweepError(f"{where}: {exc}") from None
    return out


def _config_sources(configs: Sequence[str | Path], file: str | Path | None) -> tuple[ConfigSource, ...]:
    """Read the configs; ``file`` is the sweep file that named them (if it did), for the errors."""
    out = []
    for i, c in enumerate(configs):
        try:
            out.append(ConfigSource.read(c))
        except ConfigError as exc:
            if file is None:
                raise
            raise SweepError(f"{file} configs[{i}]: {exc}") from None
    return tuple(out)


def define(config: str | Path | Sequence[str | Path] = (), workload: WorkloadLike | Sequence[WorkloadLike] = (),
           grid: GridLike = (), zip: Sequence[Mapping[str, Any]] = (), points: Sequence[Mapping[str, Any]] = (),
           options: Mapping[str, Any] | None = None, file: str | Path | None = None,
           max_points: int = MAX_POINTS) -> SweepSpec:
    """A sweep's definition. With ``file``, the file's; ``config`` and ``workload`` given here
    replace the file's, ``grid`` keys are added to (or replace) its ``set``, ``zip`` groups and
    ``points`` are added, ``options`` update its options. A sweep of more than ``max_points``
    points, or with a run option no run accepts, is refused before anything runs."""
    configs: list[str | Path] = [config] if isinstance(config, (str, Path)) else list(config)
    workloads: list[WorkloadLike] = ([workload] if isinstance(workload, (str, Path, Workload, Mapping) + LAYER_TYPES)
                                     else list(workload))
    axes = {a[0].key: a for a in _axes(grid, "--set")}
    zips = [zipped(g, "zip") for g in zip]
    extra = [explicit(p, "points") for p in points]
    base = _check_options(options or {}, "options")
    sources: list[WorkloadSource] = [workload_source(w) for w in workloads]
    named_by: str | Path | None = None  # the sweep file, when the configs come from it
    if file is not None:
        sf, lines = read_sweep_file(file)
        named_by = None if configs else file
        configs = configs or [*([sf.config] if sf.config else []), *sf.configs]
        sources = sources or _file_workloads(sf, str(file), lines)
        axes = {**{a[0].key: a for a in _axes(sf.grid, f"{file} set")}, **axes}
        zips = [zipped(g, f"{file} zip[{i}]") for i, g in enumerate(sf.zip)] + zips
        extra = [explicit(p, f"{file} points[{i}]") for i, p in enumerate(sf.points)] + extra
        base = {**_check_options(sf.options, f"{file} options"), **base}
    where = f"{file}: " if file is not None else ""
    if not configs:
        raise SweepError(f"{where}a sweep needs a config: --config FILE (or configs: in the sweep file)")
    if not sources:
        raise SweepError(f"{where}a sweep needs a workload: --workload, --gemm, --conv2d or --onnx (or workloads: in "
                         "the sweep file)")
    combos = uniform_values(combinations(list(axes.values()), zips, extra))
    check_size(len(configs), len(combos), len(sources), max_points)
    run_options(base, f"{file} options" if file is not None and base else "options")
    check_options(combos.settings(), base)
    _check_llm_keys(combos, sources)
    cfgs = _config_sources(configs, named_by)
    check_keys(cfgs, combos.settings())
    return SweepSpec(cfgs, tuple(sources), combos, base)
