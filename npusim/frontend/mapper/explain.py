"""`npusim lower --explain`: why the lowering chose what it chose, in words and numbers."""
from __future__ import annotations

from ...config import NPUConfig
from ...hw.timing import epilogue_cycles
from ...numerics import ACC_BYTES
from ..program.conv import input_dims
from ..layers.matmul import Conv2d
from ..lower import Lowered
from .design import STACK_BYTES
from ..layers.vector import Elementwise, Pool
from ..program.vector import VectorLowered


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _design_lines(low: Lowered) -> list[str]:
    p, d = low.plan, low.plan.design
    storage = ("32-bit accumulators, converted once" if d.c_storage == "acc" else
               f"{p.out} between reduction steps (rounded once per step)")
    reuse = {"none": f"none (A read {p.nb}x, B read {p.mb}x from DDR)",
             "a": f"A row block resident in the memory tiles across the {p.nb} super-tile columns (A read once, "
                  f"B read {p.mb}x)",
             "b": f"B column block resident in the memory tiles across the {p.mb} super-tile rows (B read once, "
                  f"A read {p.nb}x)"}[d.reuse]
    layout = {"tiled": "tile by tile, one contiguous run per column of tiles (laid out offline)",
              "col": "column-major: runs of k elements; the core reads n x k tiles",
              "row": "row-major: runs of n elements"}[d.b_layout]
    return [f"design     C {storage}, {d.c_buffers} buffer(s) per core; reuse: {reuse}",
            f"           B in DDR {layout}"]


def _search_lines(low: Lowered) -> list[str]:
    r = low.search
    if r is None:
        return []
    out = [f"search     {r.considered:,} candidate designs fit (parts of the array x options x tile sizes; pins: "
           f"{r.pins.describe()}), ranked by the estimate; leaders:"]
    for c in r.leaders:
        mark = "*" if c.design == r.winner.design else " "
        measured = f"{c.measured:,} cycles" if c.measured is not None else "-"
        out.append(f"         {mark} {c.design.describe()}: estimate {c.estimate.cycles:,}, {c.how} {measured}")
    up = r.runner_up
    why = ("the fewest simulated cycles" if r.winner.measured is not None else
           "a clear lead in the estimate (a layer too large to simulate every leader)")
    out.append(f"why        {r.winner.design.describe()}: {why}"
               + (f"; runner-up {up.design.describe()} at {up.cycles:,} cycles "
                  f"(+{_pct(up.cycles - r.winner.cycles, r.winner.cycles)})" if up is not None else ""))
    return out


def explain(config: NPUConfig, low: Lowered) -> str:
    """A readable account of a lowering: the design, memory use, routes, DDR traffic, expected
    cycles, and the search that chose it."""
    p, prog = low.plan, low.program
    layer = p.layer
    kern = config.compute_tile.kernel(layer.kernel, layer.dtype, layer.b_dtype)
    cores = p.columns * p.rows
    padded = p.Mp * p.Kp * p.Np
    ideal = p.M * p.K * p.N / (cores * kern.macs_per_cycle * kern.efficiency)
    l1 = config.compute_tile.data_mem_kib * 1024
    l2 = config.mem_tile.size_kib * 1024
    a, b, c = p.a_tile_bytes, p.b_bytes, p.m * p.n * p.cb
    out = [
        f"layer      {layer.name}: {layer.describe()}",
        f"array      {config.name}: {p.columns} of {config.columns} columns x {p.rows} of {config.compute_rows} "
        f"compute rows = {cores} cores",
        f"gemm       M={p.M} K={p.K} N={p.N}, padded to {p.Mp} x {p.Kp} x {p.Np} "
        f"({_pct(padded - p.M * p.K * p.N, padded)} of the padded MACs are padding)",
    ]
    if layer.epilogue:
        nodes = f" (graph nodes {', '.join(layer.fused)})" if layer.fused else ""
        epi = epilogue_cycles(config.compute_tile, layer.vector_type, p.m * p.n, layer.bias, layer.relu)
        out += [f"fused      {', '.join(layer.epilogue)} into {layer.name}{nodes}: applied to the accumulators in the "
                f"last kernel call of each output tile, {epi} cycles per call (compute_tile.vector."
                f"{{{','.join(layer.epilogue)}}}.{layer.vector_type}.cycles_per_element x m*n)"
                + (f"; the bias rides with each B tile (+{p.n * ACC_BYTES} B)" if layer.bias else "")]
    if isinstance(layer, Conv2d):
        hp, wp = input_dims(p)
        out += [
            f"conv       implicit GEMM: M = batch x {layer.out_h} x {layer.out_w} output pixels, "
            f"K = {layer.kernel_h} kernel rows x {p.conv_lp} (= {layer.kernel_w} x {p.conv_cp} channels, "
            f"padded to k), N = {layer.out_channels} output channels",
            f"           input in DDR as NHWC {layer.batch}x{hp}x{wp}x{p.conv_cp} (zero padding {layer.padding}, "
            f"channels padded to {p.conv_cp}); the shim DMA gathers each A block from it with a "
            "3-D pattern (no im2col copy)",
            (f"           output rows tiled {p.m} pixels at a time: {p.conv_qt} tiles per output row" if p.conv_qt else
             f"           tiles of {p.m // layer.out_w} whole output rows ({p.m} pixels): {p.conv_tpi} tiles per image"),
        ]
    out += _design_lines(low) + [
        f"tiles      m={p.m} k={p.k} n={p.n} per core; a super-tile is {p.rows * p.m} x {p.columns * p.n}; "
        f"{p.mb} x {p.nb} super-tiles, {p.kt} reduction steps each",
        f"kernel     {p.m}x{p.k}x{p.n} {layer.types} ({layer.kernel or config.compute_tile.default_kernel}): {p.kernel_cycles} cycles per call "
        f"({kern.macs_per_cycle} MACs/cycle x efficiency {kern.efficiency} + {kern.cycles_per_output} cycles "
        f"per output + {kern.overhead_cycles} overhead); "
        f"{p.calls_per_core} calls per core",
        f"core mem   A 2 x {a} B + B 2 x {b} B + C {p.design.c_buffers} x {c} B ({p.cb}-byte elements) + stack "
        f"{STACK_BYTES} B = {p.l1_bytes} of {l1} B ({_pct(p.l1_bytes, l1)})",
        f"mem tile   A 2 x {p.group} row(s) x {p.m * p.a_run(p.a_block_steps * p.k)} B + B 2 x "
        f"{p.b_block_steps * b} B + C {p.rows} rows x 2 x {p.m * p.n * p.ob} B = {p.memtile_bytes} of {l2} B "
        f"({_pct(p.memtile_bytes, l2)})",
        f"placement  A of compute row i comes through the memory tile of column i // {p.group} and is "
        f"broadcast along the row; B of column j is broadcast down column j; each core's C goes to its "
        f"column's memory tile, which joins the {p.rows} blocks for the shim",
        f"routes     {len(prog.routes)}: " + ", ".join(
            f"{r.name}({len(r.destinations)})" for r in prog.routes[:12]) + (" ..." if len(prog.routes) > 12 else ""),
        f"runtime    {sum(1 for op in prog.runtime if op.op == 'dma')} shim tasks in waves "
        f"({'super-tile rows outer' if p.design.order == 'mn' else 'super-tile columns outer'}), then one wait",
        f"ddr        {p.estimate.ddr_bytes:,} B accessed (short runs cost whole {config.ddr.access_bytes}-B accesses)",
        f"expected   compute {p.estimate.compute:,} cycles (kernel calls + lock operations per core"
        f"{', + C drains' if p.design.c_buffers == 1 else ''}); DDR {p.estimate.ddr:,}; stream "
        f"{p.estimate.stream:,}; fill and drain {p.estimate.overhead:,} -> {p.estimate.bound}-bound, about "
        f"{p.estimate.cycles:,} cycles",
        f"           compute bound of the unpadded layer at the MAC rate alone, m*k*n / (cores * "
        f"macs_per_cycle * efficiency) = {ideal:,.0f} cycles (the kernel rule adds cycles_per_output per "
        "output element of every call)",
    ] + _search_lines(low)
    return "\n".join(out)


def explain_vector(config: NPUConfig, low: VectorLowered) -> str:
    """A readable account of a vector operator's lowering: blocks, memory use, traffic, cycles."""
    p, prog = low.plan, low.program
    layer = p.layer
    spec = config.compute_tile.vector[layer.vector_kind][layer.dtype]
    l1, l2 = config.compute_tile.data_mem_kib * 1024, config.mem_tile.size_kib * 1024
    block = "x".join(map(str, p.block))
    out = [
        f"layer      {layer.name}: {layer.describe()}",
        f"array      {config.name}: {p.columns} columns x {p.rows} of {config.compute_rows} compute rows = "
        f"{p.cores} cores (a memory tile feeds each row its own {p.inputs} input stream(s) and takes its result)",
    ]
    if isinstance(layer, Pool):
        out.append(f"tiles      {p.block[1]} output pixels x {p.block[3]} of {p.cp} channels each ({p.tiles} tiles); the "
                   f"shim gathers each block of {p.block[0]} window rows from the padded NHWC input with a 4-D pattern; "
                   f"{p.steps} call(s) per tile accumulate in 32 bits")
    else:
        out.append(f"tiles      {p.block[0]} rows of {p.row_len} elements each ({p.nrows} rows, {p.tiles} tiles)")
    if isinstance(layer, Elementwise) and layer.relu and layer.kind != "relu":
        nodes = f" (graph nodes {', '.join(layer.fused)})" if layer.fused else ""
        out.append(f"fused      relu into {layer.name}{nodes}: in the same call, + relu's cycles per element")
    out += [
        f"kernel     {layer.vector_kind} {layer.dtype} on a {block} block: {p.kernel_cycles} cycles per call "
        f"({spec.cycles_per_element} cycles per element + {spec.overhead_cycles} overhead); {p.rounds * p.steps} "
        "calls per core",
        f"core mem   in 2 x {p.x_bytes} B" + (f" + 2 x {p.y_bytes} B" if p.y_bytes else "")
        + f" + out 2 x {p.acc_bytes} B + stack {STACK_BYTES} B = {p.l1_bytes} of {l1} B ({_pct(p.l1_bytes, l1)})",
        f"mem tile   {p.rows} rows x 2 x ({p.x_bytes + p.y_bytes} in + {p.out_bytes} out) B = {p.memtile_bytes} of "
        f"{l2} B ({_pct(p.memtile_bytes, l2)})",
        f"routes     {len(prog.routes)}; runtime {sum(1 for op in prog.runtime if op.op == 'dma')} shim tasks, "
        "then one wait",
        f"ddr        {p.estimate.ddr_bytes:,} B accessed",
        f"expected   compute {p.estimate.compute:,} cycles; DDR {p.estimate.ddr:,}; stream {p.estimate.stream:,}; "
        f"-> {p.estimate.bound}-bound, about {p.estimate.cycles:,} cycles",
        "why        the candidate blocks that fit both memories, ranked by the largest of the three estimates, "
        "then by padding, then by block size",
    ]
    return "\n".join(out)
