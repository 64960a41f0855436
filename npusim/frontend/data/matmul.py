"""Data of a lowered layer: random operands, their DDR layout, the output read back, and numpy's
answer to compare it with.

Operands are the layer's own tensors (GEMM ``A[m, k]``, ``B[k, n]``; convolution ``x[b, h, w, c]``
NHWC and ``w[r, s, c, o]`` HWIO), as numpy arrays in storage form (bf16 as ``uint16`` bits).
:func:`pack` lays them out as the DDR tensors the program reads (``A``, ``B``), zero-padded, B in
the design's layout (tile by tile, column-major or row-major, see :mod:`..program.matmul`);
:func:`unpack` crops the layer's output out of the DDR tensor ``C``. With C kept in the output
type between reduction steps (``c_storage='out'``) the answer is rounded once per step, as the
kernels do; :func:`reference` follows the design's steps.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import reference as ref
from ...numerics import (
    ACC_BYTES, FLOAT_KINDS, Array, accumulate_dtype, bf16_to_f32, f32_to_bf16, narrow, storage_dtype, values,
)
from ..layers.matmul import BLOCK_FORMATS, Conv2d, Gemm
from .blocks import pack_a_bfp16, pack_b_tiles, padded_scales, random_block_b
from ..mapper.design import TilePlan
from ..program.conv import input_dims


def random_operands(layer: Gemm | Conv2d, seed: int = 0) -> dict[str, Array]:
    """Operands of ``layer`` drawn at random: full-range integers, bf16 from a unit normal, bfp16 as
    float32 values from a unit normal, int4 weights as their values and scales (:mod:`.blocks`)."""
    rng = np.random.default_rng(seed)
    shapes: dict[str, tuple[int, ...]]
    if isinstance(layer, Gemm):
        shapes = {"a": (layer.m, layer.k), "b": (layer.k, layer.n)}
    else:
        shapes = {"x": (layer.batch, layer.height, layer.width, layer.in_channels),
                  "w": (layer.kernel_h, layer.kernel_w, layer.in_channels, layer.out_channels)}
    out = {}
    for (name, shape), kind in zip(shapes.items(), (layer.dtype, layer.b_type)):
        if kind in BLOCK_FORMATS and name == "b":
            out.update(random_block_b(layer, rng, *shape))
        elif kind == "bf16":
            out[name] = f32_to_bf16(rng.standard_normal(shape, dtype=np.float32))
        elif kind == "bfp16":
            out[name] = rng.standard_normal(shape, dtype=np.float32)
        else:
            info = np.iinfo(storage_dtype(kind))
            out[name] = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(storage_dtype(kind))
    if layer.bias:  # in the accumulator type, about the size of a product sum
        n = layer.n if isinstance(layer, Gemm) else layer.out_channels
        if layer.dtype in FLOAT_KINDS:
            out["bias"] = bf16_to_f32(f32_to_bf16(4 * rng.standard_normal(n, dtype=np.float32)))
        else:
            scale = 1 << (16 if layer.dtype == "int8" else 28)
            out["bias"] = rng.integers(-scale, scale, size=n).astype(np.int32)
    return out


def _as_gemm(layer: Gemm | Conv2d, operands: dict[str, Array]) -> tuple[Array, Array]:
    """The layer as ``A @ B`` with explicit matrices (im2col for a convolution): for the
    reference only; the simulated program never builds these."""
    if isinstance(layer, Gemm):
        return operands["a"], operands["b"]
    assert layer.b_type != "int4", "int4 weights are lowered for GEMMs only"
    x, w = operands["x"], operands["w"]
    pad, st = layer.padding, layer.stride
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    cols = [xp[:, r:r + st * layer.out_h:st, s:s + st * layer.out_w:st, :]
            for r in range(layer.kernel_h) for s in range(layer.kernel_w)]
    a = np.stack(cols, axis=3).reshape(layer.batch * layer.out_h * layer.out_w, -1)
    return a, w.reshape(-1, layer.out_channels)


def _padded_gemm(p: TilePlan, operands: dict[str, Array]) -> tuple[Array, Array]:
    """``A`` and ``B`` with the reduction laid out as the design steps through it (a convolution's
    kernel rows padded to ``lp``), zero where the program reads padding."""
    layer = p.layer
    a, b = _as_gemm(layer, operands)
    if isinstance(layer, Gemm):
        return a, b
    cp, lp, c = p.conv_cp, p.conv_lp, layer.in_channels
    ap = np.zeros((a.shape[0], layer.kernel_h, lp), dtype=a.dtype)
    bp = np.zeros((layer.kernel_h, lp, b.shape[1]), dtype=b.dtype)
    a4 = a.reshape(a.shape[0], layer.kernel_h, layer.kernel_w, c)
    b4 = b.reshape(layer.kernel_h, layer.kernel_w, c, b.shape[1])
    for s in range(layer.kernel_w):
        ap[:, :, s * cp:s * cp + c] = a4[:, :, s]
        bp[:, s * cp:s * cp + c] = b4[:, s]
    return ap.reshape(a.shape[0], -1), bp.reshape(-1, b.shape[1])


def _stepwise(p: TilePlan, operands: dict[str, Array], exact: bool = False) -> Array:
    """The layer computed as the design does when C stays in the output type: each ``k``-step's
    exact products added to the widened stored C, then rounded back to the output type
    (:func:`npusim.reference.gemm_steps`)."""
    layer = p.layer
    a, b = _padded_gemm(p, operands)
    return ref.gemm_steps(a, b, p.k, p.dtype, p.out, layer.shift, operands.get("bias"), layer.relu, exact)


def _blocky(layer: Gemm | Conv2d, emulated: bool) -> bool:
    """Whether an operand is rounded to a block or group format on the way (:mod:`.blocks`)."""
    return emulated or layer.dtype in BLOCK_FORMATS or layer.b_type in BLOCK_FORMATS


def _rounded(layer: Gemm | Conv2d, operands: dict[str, Array], p: TilePlan | None,
             emulated: bool) -> tuple[Array, Array]:
    """``A`` and ``B`` of a layer with a block or group format as float64 values rounded to their
    formats by the independent reference (:func:`npusim.reference.bfp16`, blocks of 8 along K as
    the design lays K out; :func:`npusim.reference.int4_weights`); bf16 operands too when the
    kernel ``emulated`` bf16 through bfp16."""
    if isinstance(layer, Conv2d) and p is None:
        raise ValueError(f"layer '{layer.name}': a convolution's block formats follow the design's K layout: give its plan")
    a, b = _padded_gemm(p, operands) if p is not None else _as_gemm(layer, operands)
    k = a.shape[1]
    k8 = -(-k // 8) * 8  # whole blocks: the design pads K with zeros, which leave every block as it is

    def blocks(x: Array, axis: int) -> Array:
        pad = [(0, 0), (0, 0)]
        pad[axis] = (0, k8 - k)
        return np.take(ref.bfp16(np.pad(x, pad), axis), range(k), axis=axis)

    av = a.astype(np.float64) if layer.dtype == "bfp16" else ref.decode(a, layer.dtype)
    if layer.dtype == "bfp16" or emulated:
        av = blocks(av, 1)
    if layer.b_type == "int4":
        return av, ref.int4_weights(b, operands["b_scale"], layer.group_size)
    bv = b.astype(np.float64) if layer.b_type == "bfp16" else ref.decode(b, layer.b_type)
    return av, blocks(bv, 0) if layer.b_type == "bfp16" or emulated else bv


def reference(layer: Gemm | Conv2d, operands: dict[str, Array], p: TilePlan | None = None,
              emulated: bool = False, exact: bool = False) -> Array:
    """numpy's answer, in the layer's output type and shape (``m x n``, or NHWC); with the plan of
    a design that keeps C in the output type, rounded once per reduction step as it is. With a
    block or group format (or a kernel that ``emulated`` bf16 through bfp16) the operands are first
    rounded to their formats (:func:`_rounded`). With ``exact``, the float64 values before the
    (last) rounding to the output type."""
    bias, shift, relu = operands.get("bias"), layer.shift, layer.relu
    steps = p is not None and p.c_type is not None and p.kt > 1
    if _blocky(layer, emulated):
        a, b = _rounded(layer, operands, p, emulated)
        out = ref.gemm_steps(a, b, p.k, "f64", layer.output, shift, bias, relu, exact) if steps and p else \
            ref.gemm(a, b, "f64", layer.output, shift, bias, relu, exact)
    elif steps:
        assert p is not None
        out = _stepwise(p, operands, exact)
    else:
        a, b = _as_gemm(layer, operands)
        out = ref.gemm(a, b, layer.dtype, layer.output, shift, bias, relu, exact)
    if isinstance(layer, Conv2d):
        return out.reshape(layer.batch, layer.out_h, layer.out_w, layer.out_channels)
    return out


def _b_storage(kind: str) -> np.dtype[Any]:
    """numpy dtype of B's values before packing: bfp16 as float32, int4 as its int8 values."""
    return np.dtype(np.float32 if kind == "bfp16" else np.int8 if kind == "int4" else storage_dtype(kind))


def pack(p: TilePlan, operands: dict[str, Array], a_bytes: int) -> dict[str, Array]:
    """The DDR tensors ``A`` and ``B`` (bytes) holding ``operands`` in the plan's layout."""
    layer = p.layer
    if layer.dtype == "bfp16":
        a = pack_a_bfp16(operands["a"], p.Mp, p.Kp, a_bytes)
    else:
        a = np.zeros(a_bytes // p.ib, dtype=storage_dtype(p.dtype))
    b = np.zeros((p.Kp, p.Np), dtype=_b_storage(layer.b_type))
    if isinstance(layer, Gemm):
        if layer.dtype != "bfp16":
            a.reshape(-1)[:p.Mp * p.Kp].reshape(p.Mp, p.Kp)[:layer.m, :layer.k] = operands["a"]
        b[:layer.k, :layer.n] = operands["b"]
    else:
        hp, wp = input_dims(p)
        pad, cp = layer.padding, p.conv_cp
        img = a[:layer.batch * hp * wp * cp].reshape(layer.batch, hp, wp, cp)
        img[:, pad:pad + layer.height, pad:pad + layer.width, :layer.in_channels] = operands["x"]
        rows = b.reshape(layer.kernel_h, p.conv_lp, p.Np)
        w = operands["w"]
        for s in range(layer.kernel_w):
            rows[:, s * cp:s * cp + layer.in_channels, :layer.out_channels] = w[:, s]
    if p.design.b_layout != "tiled":  # column-major (B^T, Np x Kp) or row-major (Kp x Np)
        full = np.ascontiguousarray(b.T if p.design.b_layout == "col" else b)
        return {"A": a.view(np.uint8), "B": full.reshape(-1).view(np.uint8)}
    if layer.b_type in BLOCK_FORMATS:
        scales = padded_scales(layer, operands["b_scale"], p.Kp, p.Np) if layer.b_type == "int4" else None
        raw = pack_b_tiles(layer, b, scales, p.k, p.n)
    else:
        tiled = b.reshape(p.kt, p.k, p.Np // p.n, p.n).transpose(2, 0, 1, 3)  # [n tile][step][k][n]
        raw = np.ascontiguousarray(tiled).reshape(p.Np // p.n, p.kt, -1).view(np.uint8)
    if layer.bias:  # each B tile is followed by its n bias values
        bias = np.zeros(p.Np, dtype=accumulate_dtype(p.dtype))
        bias[:len(operands["bias"])] = operands["bias"]
        trailer = np.broadcast_to(bias.reshape(-1, 1, p.n).view(np.uint8), (p.Np // p.n, p.kt, p.n * ACC_BYTES))
        raw = np.concatenate([raw, trailer], axis=2)
    return {"A": a.view(np.uint8), "B": np.ascontiguousarray(raw).reshape(-1)}


def unpack(p: TilePlan, tensors: dict[str, Array]) -> Array:
    """The layer's output, cropped from the DDR tensor ``C``."""
    c = tensors["C"][:p.Mp * p.Np * p.ob].view(storage_dtype(p.out)).reshape(p.Mp, p.Np)
    layer = p.layer
    if isinstance(layer, Gemm):
        return c[:layer.m, :layer.n].copy()
    if p.conv_tpi:  # tiles of whole output rows: each image's rows padded to whole tiles
        rows = p.conv_tpi * (p.m // layer.out_w)
        grid = c[:layer.batch * p.conv_tpi * p.m].reshape(layer.batch, rows, layer.out_w, p.Np)
        return grid[:, :layer.out_h, :, :layer.out_channels].copy()
    pixels = layer.batch * layer.out_h * p.conv_qt * p.m
    grid = c[:pixels].reshape(layer.batch, layer.out_h, p.conv_qt * p.m, p.Np)
    return grid[:, :, :layer.out_w, :layer.out_channels].copy()


def compare(layer: Gemm | Conv2d, operands: dict[str, Array], got: Array,
            p: TilePlan | None = None, emulated: bool = False) -> tuple[bool, float, dict[str, Any]]:
    """Whether ``got`` is numpy's answer for the design of plan ``p`` (exact for integer outputs;
    for bf16 and fp32 one correct rounding of the exact value, plus fp32 summation error; block and
    group formats, and a kernel that ``emulated`` bf16 through bfp16, on the operands rounded to
    their formats by the independent reference), the largest absolute error, and details."""
    want = reference(layer, operands, p, emulated)
    if got.shape != want.shape:
        return False, float("inf"), {"shape": got.shape, "expected": want.shape}
    err = np.abs(ref.decode(got, layer.output) - ref.decode(want, layer.output))
    max_err = float(err.max()) if err.size else 0.0
    if layer.output not in ("bf16", "fp32"):
        return bool(max_err == 0), max_err, {}
    if _blocky(layer, emulated):
        a, b = _rounded(layer, operands, p, emulated)
    else:
        a, b = (ref.decode(x, layer.dtype) for x in _as_gemm(layer, operands))
    mag = np.abs(a) @ np.abs(b)
    if "bias" in operands:
        mag = mag + np.abs(operands["bias"].astype(np.float64))
    mag = mag.reshape(want.shape)
    k = a.shape[1]
    # one correct rounding of the exact value, give or take the kernels' fp32 sums
    exact = reference(layer, operands, p, emulated, exact=True)
    bad = int((~ref.rounded_right(got, want, exact, layer.output, (k + 2) * 2.0 ** -23 * mag)).sum())
    return bad == 0, max_err, {"out_of_tolerance": bad}
