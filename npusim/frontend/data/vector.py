"""Data of a lowered vector operator: random operands, their DDR layout, the output read back,
and numpy's answer to compare it with (see :mod:`.data` for the matmul's).

Operands are the layer's own tensors in storage form: ``x`` (and ``y`` for a binary operator, of
the layer's shape or one row; ``gamma`` and ``beta`` for layernorm, ``gamma`` for rmsnorm;
``table`` for rope, its rows' ``cos | sin``; ``keys`` for a causal softmax (or one of rows that
are not whole words long), each row's key count;
an embedding's ``x`` is the whole table); images NHWC. :func:`pack`
lays them out as the DDR tensors the program reads: a row-wise operator's tensor as a matrix of
rows padded to whole words and to whole rounds of every core, zero-filled; a pooled image
padded on every side with the type's lowest value (max) or zero (average).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import reference as ref
from ... import vector_math as vm
from ...numerics import Array, f32_to_bf16, storage_dtype
from ..layers.vector import Elementwise, Embedding, LayerNorm, Pool, RMSNorm, Rope, Softmax, VectorLayer
from ..mapper.vector import VectorPlan, matrix, pool_output_bytes


def _random(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> Array:
    if dtype == "bf16":
        return f32_to_bf16(rng.standard_normal(shape, dtype=np.float32))
    info = np.iinfo(storage_dtype(dtype))
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(storage_dtype(dtype))


def x_shape(layer: VectorLayer) -> tuple[int, ...]:
    if isinstance(layer, Elementwise):
        return layer.shape
    if isinstance(layer, Pool):
        return layer.batch, layer.height, layer.width, layer.channels
    if isinstance(layer, Embedding):
        return layer.vocab, layer.length
    return layer.rows, layer.length


def random_vector_operands(layer: VectorLayer, seed: int = 0) -> dict[str, Array]:
    """Operands of ``layer`` drawn at random: full-range integers, bf16 from a unit normal."""
    rng = np.random.default_rng(seed)
    out = {"x": _random(rng, layer.dtype, x_shape(layer))}
    if isinstance(layer, Elementwise) and layer.broadcast in ("same", "row"):
        out["y"] = _random(rng, layer.dtype, layer.shape if layer.broadcast == "same" else (layer.row,))
    if isinstance(layer, (LayerNorm, RMSNorm)):
        out["gamma"] = _random(rng, layer.dtype, (layer.length,))
    if isinstance(layer, LayerNorm):
        out["beta"] = _random(rng, layer.dtype, (layer.length,))
    out.update(side_operands(layer))
    return out


def side_operands(layer: VectorLayer) -> dict[str, Array]:
    """The operands a layer's own fields define: rope's table rows (bf16, from each row's
    position) and a causal softmax's key counts (int32)."""
    if isinstance(layer, Rope):
        return {"table": f32_to_bf16(vm.rope_table(np.array(layer.positions()), layer.length, layer.theta))}
    if isinstance(layer, Softmax) and layer.masked:
        return {"keys": np.array(layer.keys(), dtype=np.int32)}
    return {}


def _pad_value(layer: Pool) -> int:
    if layer.kind == "avg":
        return 0
    return 0xFF80 if layer.dtype == "bf16" else int(np.iinfo(storage_dtype(layer.dtype)).min)  # bf16 -inf


def _rows(p: VectorPlan, flat: Array) -> Array:
    """A row-wise operand as the DDR matrix: rows padded to ``row_len`` and to whole rounds."""
    nrows, length, _ = matrix(p.layer)
    m = np.zeros((p.rounds * p.cores * p.block[0], p.row_len), dtype=flat.dtype)
    pad = np.zeros(nrows * length, dtype=flat.dtype)
    pad[:flat.size] = flat.reshape(-1)
    m[:nrows, :length] = pad.reshape(nrows, length)
    return m


def pack_vector(p: VectorPlan, operands: dict[str, Array], sizes: dict[str, int]) -> dict[str, Array]:
    """The DDR tensors (bytes by name, sized as ``sizes``) holding ``operands`` in the plan's layout."""
    layer = p.layer
    out: dict[str, Array] = {}
    if isinstance(layer, Pool):
        img = np.full((sizes["A"] // p.ib,), _pad_value(layer), dtype=storage_dtype(layer.dtype))
        view = img[:layer.batch * p.hp * p.wp * p.cp].reshape(layer.batch, p.hp, p.wp, p.cp)
        pad = layer.padding
        view[:, pad:pad + layer.height, pad:pad + layer.width, :layer.channels] = operands["x"]
        view[:, :, :, layer.channels:] = 0
        return {"A": img.view(np.uint8)}
    if isinstance(layer, Embedding):
        table = np.zeros((layer.vocab, p.row_len), dtype=operands["x"].dtype)
        table[:, :layer.length] = operands["x"]
        return {"A": table.reshape(-1).view(np.uint8)}
    out["A"] = _rows(p, operands["x"]).reshape(-1).view(np.uint8)
    if isinstance(layer, LayerNorm):
        out["B"] = np.concatenate([operands["gamma"], operands["beta"]]).view(np.uint8)
    elif isinstance(layer, RMSNorm):
        out["B"] = operands["gamma"].view(np.uint8)
    elif isinstance(layer, Rope):
        out["B"] = _rows(p, operands["table"]).reshape(-1).view(np.uint8)
    elif isinstance(layer, Softmax) and p.segments > 1:
        out["B"] = _segment_keys(p, np.array(layer.keys(), dtype=np.int64)).view(np.uint8)
    elif isinstance(layer, Softmax) and "keys" in operands:
        keys = np.zeros(p.rounds * p.cores * p.block[0], dtype=np.int32)
        keys[:layer.rows] = operands["keys"]
        out["B"] = keys.view(np.uint8)
    elif "y" in operands:
        assert isinstance(layer, Elementwise)
        if layer.broadcast == "same":
            out["B"] = _rows(p, operands["y"]).reshape(-1).view(np.uint8)
        else:
            row = np.zeros(p.row_len, dtype=operands["y"].dtype)
            row[:layer.row] = operands["y"]
            out["B"] = row.view(np.uint8)
    return out


def _segment_keys(p: VectorPlan, keys: Array) -> Array:
    """A segmented softmax's key counts in the order its tasks read them: per round and column,
    per segment, per compute row, its ``rb`` rows' keys within the segment."""
    rb, seg = p.block
    rows = np.zeros(p.rounds * p.cores * rb, dtype=np.int64)
    rows[:len(keys)] = keys
    grid = rows.reshape(p.rounds, p.columns, p.rows, rb)
    per_seg = np.stack([np.clip(grid - j * seg, 0, seg) for j in range(p.segments)], axis=2)
    return per_seg.astype(np.int32).reshape(-1)


def unpack_vector(p: VectorPlan, tensors: dict[str, Array]) -> Array:
    """The layer's output, cropped from the DDR tensor ``C``."""
    layer = p.layer
    dt = storage_dtype(layer.dtype)
    if isinstance(layer, Pool):
        grid = tensors["C"][:pool_output_bytes(p)].view(dt)
        grid = grid.reshape(layer.batch, layer.out_h, p.qt * p.block[1], p.cp)
        return grid[:, :, :layer.out_w, :layer.channels].copy()
    nrows, length, _ = matrix(layer)
    used = p.rounds * p.cores * p.block[0] * p.row_len * p.ib  # whole rows (a segmented softmax's too)
    m = tensors["C"][:used].view(dt).reshape(-1, p.row_len)[:nrows, :length]
    if isinstance(layer, Elementwise):
        return m.reshape(-1)[:layer.elements].reshape(layer.shape).copy()
    return m.copy()


def _pool_reference(layer: Pool, x: Array, exact: bool = False) -> Array:
    pad, st = layer.padding, layer.stride
    fill = x.dtype.type(_pad_value(layer))
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=fill)
    windows = np.stack([xp[:, r:r + st * layer.out_h:st, s:s + st * layer.out_w:st, :]
                        for r in range(layer.kernel_h) for s in range(layer.kernel_w)])
    out = ref.pool(layer.kind, windows.reshape(len(windows), -1, layer.channels), layer.dtype, exact)
    if layer.relu:
        out = ref.relu(out, layer.dtype, exact)
    return out.reshape(layer.batch, layer.out_h, layer.out_w, layer.channels)


def vector_reference(layer: VectorLayer, operands: dict[str, Array], exact: bool = False) -> Array:
    """numpy's answer, in the layer's element type and shape; with ``exact``, the float64
    values before the rounding to the element type."""
    x, t = operands["x"], layer.dtype
    if isinstance(layer, Pool):
        return _pool_reference(layer, x, exact)
    if isinstance(layer, Softmax):
        return ref.softmax(x, t, exact, layer.scale, operands.get("keys"))
    if isinstance(layer, LayerNorm):
        return ref.layernorm(x, operands["gamma"], operands["beta"], layer.epsilon, t, exact)
    if isinstance(layer, RMSNorm):
        return ref.rmsnorm(x, operands["gamma"], layer.epsilon, t, exact)
    if isinstance(layer, Rope):
        return ref.rope(x, operands["table"], t, exact)
    if isinstance(layer, Embedding):
        rows = x[list(layer.ids())]
        return ref.decode(rows, t) if exact else rows
    if layer.broadcast is None:
        r = ref.unary(layer.kind, x, t, exact)
    elif layer.broadcast == "scalar":
        r = ref.binary(layer.kind, x, layer.scalar or 0.0, t, exact)
    else:
        r = ref.binary(layer.kind, x.reshape(-1, layer.row), operands["y"].reshape(-1, layer.row), t,
                       exact).reshape(x.shape)
    return ref.relu(r, t, exact) if layer.relu else r


def compare_vector(layer: VectorLayer, operands: dict[str, Array], got: Array) -> tuple[bool, float, dict[str, Any]]:
    """Whether ``got`` is numpy's answer: exact for integers; for bf16 a correct rounding of the
    exact value, give or take the float32 arithmetic of the kernels (the array sums a pooling
    window in chunks, numpy at once)."""
    want = vector_reference(layer, operands)
    if got.shape != want.shape:
        return False, float("inf"), {"shape": got.shape, "expected": want.shape}
    g, w = ref.decode(got, layer.dtype), ref.decode(want, layer.dtype)
    same = (g == w) | (np.isnan(g) & np.isnan(w))
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(g - w))
    max_err = float(np.nan_to_num(err, nan=np.inf).max()) if err.size else 0.0
    if layer.dtype != "bf16":
        return bool(max_err == 0), max_err, {}
    exact = vector_reference(layer, operands, exact=True)
    slack = 2.0 ** -16 * (1 + np.abs(np.nan_to_num(exact, posinf=0.0, neginf=0.0)))
    bad = int((~ref.rounded_right(got, want, exact, "bf16", slack)).sum())
    return bad == 0, max_err, {"out_of_tolerance": bad}
