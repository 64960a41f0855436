"""Access patterns compressed from address sequences visit exactly those addresses, in order, with
no more dimensions than the DMA has; relocated programs run the same cycles on other columns."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings, strategies as st

from npusim.config import load_config
from npusim.engine import run_program
from npusim.frontend import Conv2d, Gemm, lower
from npusim.frontend.fusion.layout import JUNK
from npusim.frontend.fusion.patterns import compress
from npusim.frontend.fusion.relocate import relocate
from npusim.isa import WORD_BYTES, verify

ROOT = Path(__file__).resolve().parents[2]
NPU1 = load_config(ROOT / "configs/npu1.yaml")


def expand(offset_words: int, dims: tuple) -> np.ndarray:  # type: ignore[type-arg]
    idx = np.full((), offset_words, dtype=np.int64)
    for d in reversed(dims):
        idx = idx[..., None] + np.arange(d.size, dtype=np.int64) * d.stride
    return idx.reshape(-1)


@st.composite
def sequences(draw: st.DrawFn) -> np.ndarray:  # type: ignore[type-arg]
    """Concatenated nested regular blocks (as a producer's tiles land in a layout), some junk."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()) and parts:
            parts.append(np.full(draw(st.integers(1, 6)), JUNK))
            continue
        shape = [draw(st.integers(1, 5)) for _ in range(draw(st.integers(1, 4)))]
        strides = [1] + [draw(st.integers(0, 40)) for _ in shape[1:]]
        parts.append(expand(draw(st.integers(0, 500)), tuple(_Dim(n, s) for n, s in zip(shape, strides))))
    return np.concatenate(parts)


class _Dim:
    def __init__(self, size: int, stride: int) -> None:
        self.size, self.stride = size, stride


@settings(max_examples=150, deadline=None)
@given(sequences(), st.integers(1, 4))
def test_compressed_patterns_visit_the_sequence_in_order(addrs: np.ndarray, dims: int) -> None:  # type: ignore[type-arg]
    pieces = compress(addrs, dims, 64)
    out = []
    for p in pieces:
        assert len(p.dims) <= dims + 1 and (len(p.dims) <= dims or p.dims[-1].size <= 64)
        assert all(d.stride >= 0 for d in p.dims)
        words = expand(p.offset_bytes // WORD_BYTES, p.dims)
        out.append(np.full(len(words), JUNK) if p.scratch else words)
        if p.scratch:
            assert p.offset_bytes == 0 and len(p.dims) == 1
    assert np.array_equal(np.concatenate(out), addrs)


def test_a_regular_sequence_is_one_pattern() -> None:
    rows = np.concatenate([np.arange(16) + 100 * r + 1000 * c for c in range(3) for r in range(7)])
    [piece] = compress(rows, 4, 64)
    assert [(d.size, d.stride) for d in piece.dims] == [(16, 1), (7, 100), (3, 1000)]


def test_relocated_designs_verify_on_other_columns_and_take_the_same_cycles() -> None:
    one = NPU1.model_copy(update={"columns": 1})
    for layer in (Gemm(name="g", m=64, k=128, n=64, dtype="int8"),
                  Conv2d(name="c", in_channels=8, height=8, width=8, out_channels=16, kernel_h=3, kernel_w=3,
                         padding=1, dtype="int8")):
        low = lower(one, layer)
        base = run_program(one, low.program).cycles
        for col in (1, 3):
            moved = relocate(low.program, col, "L7.")
            layout = verify(moved, NPU1)
            assert all(tp.tile[0] == col for tp in moved.tiles) and all(n.startswith("L7.") for n in layout.buffers)
            assert {t.name for t in moved.tensors} == {"L7.A", "L7.B", "L7.C"}
            assert run_program(NPU1, moved, layout=layout).cycles == base
