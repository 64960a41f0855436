"""`npusim lower --explain`: why the lowering chose what it chose, in words and numbers."""
from __future__ import annotations

from ...config import NPUConfig
from ...hw.timing import epilogue_cycles
from ...numerics import ACC_BYTES
from ..program.conv import input_dims
from ..layers.matmul import Conv2d
from ..lower import Lowered
from ..mapper.tiling import STACK_BYTES
from ..layers.vector import Elementwise, Pool
from ..program.vector import VectorLowered


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def explain(config: NPUConfig, low: Lowered) -> str:
    """A readable account of a lowering: tiles, memory use, routes, DDR traffic, expected cycles."""
    p, prog = low.plan, low.program
    layer = p.layer
    kern = config.compute_tile.kernel(None, layer.dtype)
    cores = p.columns * p.rows
    padded = p.Mp * p.Kp * p.Np
    ideal = p.M * p.K * p.N / (cores * kern.macs_per_cycle * kern.efficiency)
    l1 = config.compute_tile.data_mem_kib * 1024
    l2 = config.mem_tile.size_kib * 1024
    a, b, c = p.m * p.k * p.ib, p.k * p.n * p.ib, p.m * p.n * ACC_BYTES
    out = [
        f"layer      {layer.name}: {layer.describe()}",
        f"array      {config.name}: {p.columns} columns x {p.rows} compute rows = {cores} cores",
        f"gemm       M={p.M} K={p.K} N={p.N}, padded to {p.Mp} x {p.Kp} x {p.Np} "
        f"({_pct(padded - p.M * p.K * p.N, padded)} of the padded MACs are padding)",
    ]
    if layer.epilogue:
        nodes = f" (graph nodes {', '.join(layer.fused)})" if layer.fused else ""
        epi = epilogue_cycles(config.compute_tile, layer.dtype, p.m * p.n, layer.bias, layer.relu)
        out += [f"fused      {', '.join(layer.epilogue)} into {layer.name}{nodes}: applied to the accumulators in the "
                f"last kernel call of each output tile, {epi} cycles per call (compute_tile.vector."
                f"{{{','.join(layer.epilogue)}}}.{layer.dtype}.cycles_per_element x m*n)"
                + (f"; the bias rides with each B tile (+{p.n * ACC_BYTES} B)" if layer.bias else "")]
    if isinstance(layer, Conv2d):
        hp, wp = input_dims(p)
        out += [
            f"conv       implicit GEMM: M = batch x {layer.out_h} x {layer.out_w} output pixels, "
            f"K = {layer.kernel_h} kernel rows x {p.conv_lp} (= {layer.kernel_w} x {p.conv_cp} channels, "
            f"padded to k), N = {layer.out_channels} output channels",
            f"           input in DDR as NHWC {layer.batch}x{hp}x{wp}x{p.conv_cp} (zero padding {layer.padding}, "
            f"channels padded to {p.conv_cp}); the shim DMA gathers each A tile from it with a "
            "4-D pattern (no im2col copy)",
            f"           output rows tiled {p.m} pixels at a time: {p.conv_qt} tiles per output row",
        ]
    out += [
        f"tiles      m={p.m} k={p.k} n={p.n} per core; a super-tile is {p.rows * p.m} x {p.columns * p.n}; "
        f"{p.mb} x {p.nb} super-tiles, {p.kt} reduction steps each",
        f"kernel     {p.m}x{p.k}x{p.n} {layer.dtype}: {p.kernel_cycles} cycles per call "
        f"({kern.macs_per_cycle} MACs/cycle x efficiency {kern.efficiency} + {kern.cycles_per_output} cycles "
        f"per output + {kern.overhead_cycles} overhead); "
        f"{p.calls_per_core} calls per core",
        f"core mem   A 2 x {a} B + B 2 x {b} B + C 2 x {c} B (32-bit accumulators) + stack {STACK_BYTES} B = "
        f"{p.l1_bytes} of {l1} B ({_pct(p.l1_bytes, l1)})",
        f"mem tile   A 2 x {len(p.group_rows(0)) * a} B (rows fed: {p.group}) + B 2 x {b} B + C {p.rows} rows x "
        f"2 x {p.m * p.n * p.ob} B = {p.memtile_bytes} of {l2} B ({_pct(p.memtile_bytes, l2)})",
        f"placement  A of compute row i comes through the memory tile of column i // {p.group} and is "
        f"broadcast along the row; B of column j is broadcast down column j; each core's C goes to its "
        f"column's memory tile, which joins the {p.rows} blocks for the shim",
        f"routes     {len(prog.routes)}: " + ", ".join(
            f"{r.name}({len(r.destinations)})" for r in prog.routes[:12]) + (" ..." if len(prog.routes) > 12 else ""),
        f"runtime    {sum(1 for op in prog.runtime if op.op == 'dma')} shim tasks "
        f"(A, B and C per super-tile row and column), then one wait",
        f"ddr        {p.estimate.ddr_bytes:,} B accessed (A read {p.nb}x, B read {p.mb}x, C written once; "
        f"short runs cost whole {config.ddr.access_bytes}-B accesses; B is stored tile by tile, offline)",
        f"expected   compute {p.estimate.compute:,} cycles (kernel calls + lock operations per core); "
        f"DDR {p.estimate.ddr:,}; stream {p.estimate.stream:,}; -> {p.estimate.bound}-bound, "
        f"about {p.estimate.cycles:,} cycles",
        f"           compute bound of the unpadded layer at the MAC rate alone, m*k*n / (cores * "
        f"macs_per_cycle * efficiency) = {ideal:,.0f} cycles (the kernel rule adds cycles_per_output per "
        "output element of every call)",
        f"why        the candidates (m of 4, k and n of 8, up to the layer's size) that fit both memories, "
        "ranked by the largest of the three estimates, then by padding, then by tile size",
    ]
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
