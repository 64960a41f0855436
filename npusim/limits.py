"""Limits that stop a run that cannot finish before it starts, each with an error that names
the limit and how to raise it (:class:`LimitError`, exit code 2).

- **Layer size**, before lowering: every dimension of a layer's implicit GEMM (``M``, ``K``,
  ``N``) or a vector layer's tensor at most :data:`MAX_DIMENSION`, and every DDR tensor at most
  :data:`MAX_TENSOR_BYTES`. The lowering's time and memory grow with the number of tiles (about
  a second per 10,000 runtime operations; a 2^31 cube needed more than 5.6 GB before it failed),
  so a size past these is refused before the lowering starts. ``NPUSIM_MAX_DIMENSION`` and
  ``NPUSIM_MAX_TENSOR_BYTES`` raise them.
- **Estimate**, before simulating (for a matmul of more than :data:`PRE_CHECK_MACS` MACs,
  before lowering too, on the mapper's analytical estimate): the lowering's estimated cycles
  (``plan.estimate.cycles``, the largest of its compute, DDR and stream bounds: a run takes at
  least that) against ``RunOptions.max_cycles``, and the estimated wall time against
  ``RunOptions.max_wall_seconds``. The wall time is estimated as hardware events over the
  engine's measured rate: a layer's hardware events (kernel calls, lock operations, BDs, route
  segments) are about :data:`EVENTS_PER_KERNEL_CALL` per kernel call, simulated at about
  :data:`EVENTS_PER_SECOND` (both measured by ``benchmarks/bench_estimate.py``, see there).
- **Functional memory**, before the data is made: the DDR tensors, the tile buffers and the
  host arrays of the operands, the output and the numpy reference (:func:`functional_bytes`) against
  ``RunOptions.max_memory_bytes`` (default: the memory the machine has available), instead of a
  ``MemoryError`` part way.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from .config import NPUConfig
from .config.safe_yaml import limit
from .engine import RunOptions
from .frontend import AnyLayer, Conv2d, Elementwise, Embedding, Gemm, LayerNorm, Pins, Pool, RMSNorm, Rope, Softmax, search
from .frontend.mapper.search import SearchSettings  # not in the frontend's __init__
from .numerics import IN_BYTES, OUT_BYTES

MAX_WALL_SECONDS = 3600.0
"""The command line's default wall-time budget of a layer (``--max-wall``): an hour."""
MAX_DIMENSION = 2**20
"""Largest dimension of a layer (1,048,576): a GEMM's ``m``, ``k``, ``n``, a convolution's
implicit GEMM, a vector layer's rows or row length."""
MAX_TENSOR_BYTES = 2**32
"""Largest DDR tensor of a layer (4 GiB)."""
EVENTS_PER_KERNEL_CALL = 40.0
"""[MEAS] hardware events per kernel call, about the largest ratio of the layers measured by
``benchmarks/bench_estimate.py`` (14 to 41: matmuls 14 to 28, vector operators 27 to 41, whose
calls each move a block in and out)."""
EVENTS_PER_SECOND = 300_000.0
"""[MEAS] hardware events simulated per wall-clock second: the slow end of what
``benchmarks/bench_estimate.py`` and ``bench_engine.py`` measured for runs of more than 100,000
events on the project's 2-core machine (0.3 to 0.9 million per second when idle, 0.12 to 0.2
million when shared with other users' runs). The wall-time estimate is good to a factor of a
few either way: it is a guard against runs of hours and days, not a prediction."""
OPERAND_COPIES = 6
"""Host copies of 8 bytes per operand element in functional mode: the random draw (int64),
the operand, and the reference's exact (int64 / float64) and magnitude copies."""
OUTPUT_COPIES = 10
"""Host copies of 8 bytes per output element: the reference's exact sums, its rounded output,
the simulated output read back, and the comparison's values, errors and tolerances."""


class LimitError(ValueError):
    """A run is beyond a limit; the message names the limit and how to raise it."""


def _dims(layer: AnyLayer) -> dict[str, int]:
    """The dimensions a layer is limited in, by name."""
    if isinstance(layer, Gemm):
        return {"m": layer.m, "k": layer.k, "n": layer.n}
    if isinstance(layer, Conv2d):
        return {"batch x output pixels (M)": layer.batch * layer.out_h * layer.out_w,
                "kernel x input channels (K)": layer.kernel_h * layer.kernel_w * layer.in_channels,
                "output channels (N)": layer.out_channels}
    if isinstance(layer, Pool):
        return {"batch x height": layer.batch * layer.height, "width": layer.width, "channels": layer.channels}
    if isinstance(layer, Embedding):
        return {"vocabulary": layer.vocab, "rows": layer.rows, "length": layer.length}
    if isinstance(layer, (Softmax, LayerNorm, RMSNorm, Rope)):
        return {"rows": layer.rows, "length": layer.length}
    return {"rows": layer.elements // layer.row, "row": layer.row}


def _bytes(kind: str, elements: int) -> int:
    """Bytes of ``elements`` operand elements of ``kind``: bfp16 in blocks of 8 with their exponent,
    int4 two per byte with a bf16 scale per 32 (the smaller group)."""
    if kind == "bfp16":
        return -(-elements // 8) * 9
    if kind == "int4":
        return -(-elements // 2) + -(-elements // 32) * 2
    return elements * IN_BYTES[kind]


def tensor_sizes(layer: AnyLayer) -> dict[str, int]:
    """Bytes of a layer's tensors in DDR, as the layer defines them (before padding)."""
    if isinstance(layer, Gemm):
        return {"A": _bytes(layer.dtype, layer.m * layer.k), "B": _bytes(layer.b_type, layer.k * layer.n),
                "C": layer.m * layer.n * OUT_BYTES[layer.output]}
    ib = IN_BYTES[layer.dtype]
    if isinstance(layer, Conv2d):
        return {"x": layer.batch * layer.height * layer.width * layer.in_channels * ib,
                "w": _bytes(layer.b_type, layer.kernel_h * layer.kernel_w * layer.in_channels * layer.out_channels),
                "y": layer.batch * layer.out_h * layer.out_w * layer.out_channels * OUT_BYTES[layer.output]}
    if isinstance(layer, Pool):
        return {"x": layer.batch * layer.height * layer.width * layer.channels * ib,
                "y": layer.batch * layer.out_h * layer.out_w * layer.channels * ib}
    if isinstance(layer, Embedding):  # the table, and the rows gathered from it
        return {"x": layer.vocab * layer.length * ib, "y": layer.rows * layer.length * ib}
    if isinstance(layer, Rope):  # and its table of cosines and sines, a row per row
        return {"x": layer.rows * layer.length * ib, "table": layer.rows * layer.length * ib,
                "y": layer.rows * layer.length * ib}
    rows, length = (layer.rows, layer.length) if isinstance(layer, (Softmax, LayerNorm, RMSNorm)) else \
        (1, layer.elements)
    return {"x": rows * length * ib, "y": rows * length * ib}


def check_size(layer: AnyLayer, where: str = "") -> None:
    """Refuse a layer too large to lower (see the module docstring)."""
    what = where or f"layer '{layer.name}'"
    most = limit("NPUSIM_MAX_DIMENSION", MAX_DIMENSION)
    for name, value in _dims(layer).items():
        if value > most:
            raise LimitError(f"{what}: {name} = {value:,} is more than the limit of {most:,} per dimension "
                             f"(NPUSIM_MAX_DIMENSION); lowering it would take hours and gigabytes: split the layer, "
                             "or raise the limit with NPUSIM_MAX_DIMENSION=N")
    most = limit("NPUSIM_MAX_TENSOR_BYTES", MAX_TENSOR_BYTES)
    for name, size in tensor_sizes(layer).items():
        if size > most:
            raise LimitError(f"{what}: tensor {name} is {size:,} bytes, more than the limit of {most:,} "
                             "(NPUSIM_MAX_TENSOR_BYTES); split the layer, or raise the limit with "
                             "NPUSIM_MAX_TENSOR_BYTES=N")


def wall_seconds(kernel_calls: int) -> float:
    """Estimated wall-clock seconds to simulate a layer of ``kernel_calls`` kernel calls."""
    return kernel_calls * EVENTS_PER_KERNEL_CALL / EVENTS_PER_SECOND


def check_estimate(name: str, cycles: int, kernel_calls: int, options: RunOptions) -> None:
    """Refuse a lowered layer whose estimated cycles or wall time pass the options' budgets."""
    wall = wall_seconds(kernel_calls)
    told = f"its lowering estimates {cycles:,} cycles and about {_duration(wall)} of simulation"
    if options.max_cycles is not None and cycles > options.max_cycles:
        raise LimitError(f"layer '{name}': {told}, more than --max-cycles {options.max_cycles:,}: raise --max-cycles "
                         "(RunOptions.max_cycles) or run a smaller layer")
    if options.max_wall_seconds is not None and wall > options.max_wall_seconds:
        raise LimitError(f"layer '{name}': {told}, more than --max-wall {options.max_wall_seconds:g} s: raise "
                         "--max-wall (RunOptions.max_wall_seconds) or run a smaller layer")


PRE_CHECK_MACS = 10**10
"""Matmul layers of more MACs are checked against the budgets before they are lowered: the
mapper simulates parts of its leading designs to choose one (minutes for a 65536^3 GEMM), which
the estimate should spare a layer that will be refused anyway."""


def check_before_lowering(config: NPUConfig, layer: AnyLayer, options: RunOptions, pins: Pins | None = None) -> None:
    """Before a layer is lowered: a functional run's memory on the layer's own tensors (the
    lowering's padding comes on top, checked after); for a large matmul layer,
    :func:`check_estimate` on the mapper's analytical estimate of its best design (the search told
    to trust its estimate: nothing simulated). Kernel calls are counted on the unpadded shape."""
    if options.functional:
        check_memory(layer.name, functional_bytes(tensor_sizes(layer).values(), (), *layer_elements(layer)), options)
    if not isinstance(layer, (Gemm, Conv2d)) or (options.max_cycles is None and options.max_wall_seconds is None):
        return
    m, k, n = (_dims(layer)[key] for key in list(_dims(layer))[:3])
    if m * k * n < PRE_CHECK_MACS:
        return
    result = search(config, layer, pins or Pins(), settings=SearchSettings(leaders=1, part_close=0.0))
    d = result.winner.design
    calls = -(-m // d.m) * -(-k // d.k) * -(-n // d.n)
    check_estimate(layer.name, result.winner.estimate.cycles, calls, options)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2g} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.3g} days"


def functional_bytes(ddr_tensors: Iterable[int], buffers: Iterable[int], operand_elements: int,
                     output_elements: int) -> int:
    """Host memory a functional run of a layer needs: its DDR tensors (twice: the packed
    operands and the simulated DDR), its tile buffers (each a memory of its own), and
    :data:`OPERAND_COPIES` and :data:`OUTPUT_COPIES` 8-byte copies of each operand and output
    element."""
    return (2 * sum(ddr_tensors) + sum(buffers)
            + 8 * (OPERAND_COPIES * operand_elements + OUTPUT_COPIES * output_elements))


def available_memory() -> int | None:
    """Bytes of memory the machine has available (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(name: str, need: int, options: RunOptions) -> None:
    """Refuse a functional run that needs more than ``options.max_memory_bytes`` (default: the
    machine's available memory)."""
    most = options.max_memory_bytes if options.max_memory_bytes is not None else available_memory()
    if most is not None and need > most:
        source = "--max-memory" if options.max_memory_bytes is not None else "the memory available"
        raise LimitError(f"layer '{name}': functional mode needs about {need / 2**30:,.1f} GiB for its tensors and "
                         f"the numpy reference, more than {source} ({most / 2**30:,.1f} GiB): run it timing-only "
                         "(without --functional), a smaller layer, or raise --max-memory GIB "
                         "(RunOptions.max_memory_bytes) if the machine has it")


def layer_elements(layer: AnyLayer) -> tuple[int, int]:
    """(operand, output) elements of a layer's functional run, from its shape (see
    :func:`gemm_elements`; a vector layer's output has as many as its input, a pool's fewer)."""
    if isinstance(layer, (Gemm, Conv2d)):
        m, k, n = (_dims(layer)[key] for key in list(_dims(layer))[:3])
        return gemm_elements(layer, m, k, n)
    sizes = tensor_sizes(layer)
    x = sizes["x"] // IN_BYTES[layer.dtype]
    two = isinstance(layer, Elementwise) and layer.broadcast in ("same", "row")
    return x * (2 if two else 1), x


def gemm_elements(layer: Gemm | Conv2d, m: int, k: int, n: int) -> tuple[int, int]:
    """(operand, output) elements of a matmul layer's functional run: the implicit GEMM's A and B
    (the reference builds A explicitly, im2col for a convolution), and C."""
    return m * k + k * n + (n if layer.bias else 0), m * n


