"""Functional mode's data (npusim.hw.data): access-pattern gather/scatter against an explicit loop
over the nested dimensions (innermost first, strides in 32-bit words), word allocation, the
per-destination byte queues of a route, and the DataPlane's memories."""
from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npusim.hw.data import DataPlane, RouteData, allocate, gather, scatter, words
from npusim.isa import Dim

W = 4  # bytes per DMA word

Bytes = npt.NDArray[np.uint8]


def addresses(offset_words: int, dims: tuple[Dim, ...]) -> list[int]:
    """Word addresses of a pattern, by explicit nested loops: the innermost dimension (dims[0])
    varies fastest."""
    out = []
    for outer_first in itertools.product(*(range(d.size) for d in reversed(dims))):
        idx = tuple(reversed(outer_first))  # idx[d] is the index in dims[d]
        out.append(offset_words + sum(i * d.stride for i, d in zip(idx, dims)))
    return out


def reference_gather(mem: Bytes, offset_bytes: int, dims: tuple[Dim, ...]) -> bytes:
    return b"".join(bytes(mem[a * W:(a + 1) * W]) for a in addresses(offset_bytes // W, dims))


def memory(nbytes: int, seed: int = 0) -> Bytes:
    return np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8)


def extent_words(offset_words: int, dims: tuple[Dim, ...]) -> int:
    """Words a memory needs for the pattern to stay inside it."""
    return offset_words + sum((d.size - 1) * d.stride for d in dims) + 1


# -- the reference loop itself ------------------------------------------------------------------

def test_reference_addresses_innermost_fastest() -> None:
    # 3 words 1 apart, repeated 2 times 10 words apart: rows of a 2 x 3 block
    assert addresses(0, (Dim(3, 1), Dim(2, 10))) == [0, 1, 2, 10, 11, 12]
    # a transpose: 4 columns of a 2 x 4 row-major block
    assert addresses(5, (Dim(2, 4), Dim(4, 1))) == [5, 9, 6, 10, 7, 11, 8, 12]


# -- gather -------------------------------------------------------------------------------------

def test_gather_without_dims_is_a_slice_copy() -> None:
    mem = memory(32)
    out = gather(mem, 6, 10, ())
    assert out.dtype == np.uint8
    assert bytes(out) == bytes(mem[6:16])
    out[:] = 0  # a copy: the memory is not changed through it
    assert bytes(mem[6:16]) == bytes(memory(32)[6:16])


def test_gather_with_dims_follows_the_pattern() -> None:
    mem = memory(64)
    dims = (Dim(3, 1), Dim(2, 5))  # words 1,2,3, 6,7,8 from offset word 1
    out = gather(mem, 4, 24, dims)
    assert out.dtype == np.uint8 and len(out) == 24
    assert bytes(out) == b"".join(bytes(mem[a * W:(a + 1) * W]) for a in (1, 2, 3, 6, 7, 8))


def test_gather_transposes_and_repeats() -> None:
    mem = np.arange(32, dtype=np.uint32).view(np.uint8)  # word i holds i
    out = gather(mem, 0, 32, (Dim(2, 4), Dim(4, 1)))
    assert out.view(np.uint32).tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    # a stride of 0 repeats a word
    out = gather(mem, 3 * W, 24, (Dim(3, 0), Dim(2, 1)))
    assert out.view(np.uint32).tolist() == [3, 3, 3, 4, 4, 4]


def test_gather_with_dims_returns_a_copy_and_sees_later_writes() -> None:
    mem = np.arange(8, dtype=np.uint32).view(np.uint8)
    dims = (Dim(2, 3),)
    first = gather(mem, 0, 8, dims)
    first[:] = 0xFF
    assert words(mem).tolist() == list(range(8))
    words(mem)[3] = 99  # the same pattern again (cached indices) reads the current contents
    assert gather(mem, 0, 8, dims).view(np.uint32).tolist() == [0, 99]


@st.composite
def patterns(draw: st.DrawFn) -> tuple[int, tuple[Dim, ...], int]:
    """(offset in words, dims, memory size in words) with the pattern inside the memory."""
    ndims = draw(st.integers(1, 4))
    dims = tuple(Dim(draw(st.integers(1, 5)), draw(st.integers(0, 7))) for _ in range(ndims))
    offset = draw(st.integers(0, 5))
    size = extent_words(offset, dims) + draw(st.integers(0, 3))
    return offset, dims, size


@given(patterns(), st.integers(0, 2**32 - 1))
def test_gather_matches_the_nested_loop(pattern: tuple[int, tuple[Dim, ...], int], seed: int) -> None:
    offset, dims, size = pattern
    mem = memory(size * W, seed)
    n = len(addresses(offset, dims))
    out = gather(mem, offset * W, n * W, dims)
    assert out.dtype == np.uint8
    assert bytes(out) == reference_gather(mem, offset * W, dims)


# -- scatter ------------------------------------------------------------------------------------

def test_scatter_without_dims_writes_a_slice() -> None:
    mem = np.full(16, 0xAA, dtype=np.uint8)
    scatter(mem, 5, (), np.arange(1, 7, dtype=np.uint8))
    assert mem.tolist() == [0xAA] * 5 + [1, 2, 3, 4, 5, 6] + [0xAA] * 5


def test_scatter_transposes() -> None:
    mem = np.zeros(10 * W, dtype=np.uint8)
    data = np.arange(100, 108, dtype=np.uint32).view(np.uint8)
    scatter(mem, 2 * W, (Dim(2, 4), Dim(4, 1)), data)
    # stream word j goes to address addresses(2, dims)[j]
    assert words(mem).tolist() == [0, 0, 100, 102, 104, 106, 101, 103, 105, 107]


@st.composite
def distinct_patterns(draw: st.DrawFn) -> tuple[int, tuple[Dim, ...], int]:
    """Patterns that never revisit a word: each stride is at least the span of the dimensions
    inside it (so the blocks do not overlap), optionally with the dims shuffled afterwards, which
    keeps the addresses distinct (it only changes the visiting order)."""
    ndims = draw(st.integers(1, 4))
    dims: list[Dim] = []
    span = 1  # words from the first to past the last address of the inner block
    for _ in range(ndims):
        size = draw(st.integers(1, 5))
        stride = span + draw(st.integers(0, 3))
        dims.append(Dim(size, stride))
        span = (size - 1) * stride + span
    order = draw(st.permutations(range(ndims)))
    shuffled = tuple(dims[i] for i in order)
    offset = draw(st.integers(0, 5))
    size_words = extent_words(offset, shuffled) + draw(st.integers(0, 3))
    return offset, shuffled, size_words


@given(distinct_patterns(), st.integers(0, 2**32 - 1))
def test_scatter_then_gather_returns_the_data(pattern: tuple[int, tuple[Dim, ...], int], seed: int) -> None:
    offset, dims, size = pattern
    addrs = addresses(offset, dims)
    assert len(set(addrs)) == len(addrs)
    filler = 0xA5A5A5A5
    mem = np.full(size, filler, dtype=np.uint32).view(np.uint8)
    data = memory(len(addrs) * W, seed)
    data_words = data.view(np.uint32).tolist()
    scatter(mem, offset * W, dims, data)
    assert bytes(gather(mem, offset * W, len(data), dims)) == bytes(data)
    # exactly the addressed words changed, each to its stream word
    expected = [filler] * size
    for a, w in zip(addrs, data_words):
        expected[a] = w
    assert words(mem).tolist() == expected


def test_scatter_with_repeated_address_keeps_the_last_word() -> None:
    mem = np.zeros(2 * W, dtype=np.uint8)
    scatter(mem, 0, (Dim(3, 0),), np.array([7, 8, 9], dtype=np.uint32).view(np.uint8))
    assert words(mem).tolist() == [9, 0]


# -- allocate -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "allocated"), [(1, 4), (3, 4), (4, 4), (5, 8), (8, 8), (13, 16), (0, 0)])
def test_allocate_rounds_up_to_words_and_zeroes(size: int, allocated: int) -> None:
    mem = allocate(size)
    assert mem.dtype == np.uint8
    assert len(mem) == allocated
    assert not mem.any()
    assert len(words(mem)) == allocated // W


# -- RouteData ----------------------------------------------------------------------------------

def test_broadcast_route_delivers_the_same_bytes_to_each_destination() -> None:
    route = RouteData(3)  # 0 = source, 1 and 2 = destinations
    first = np.arange(0, 4, dtype=np.uint8)
    second = np.arange(4, 12, dtype=np.uint8)
    route.push(first)
    route.push(second)
    # destination 1: 3 bytes inside the first chunk, then 9 spanning the boundary to the end
    assert route.pull(1, 3).tolist() == [0, 1, 2]
    assert route.pull(1, 9).tolist() == list(range(3, 12))
    # destination 2, independently: the whole first chunk, then the second in two parts
    assert route.pull(2, 4).tolist() == [0, 1, 2, 3]
    assert route.pull(2, 5).tolist() == [4, 5, 6, 7, 8]
    assert route.pull(2, 3).tolist() == [9, 10, 11]
    for i in (1, 2):
        assert len(route.queues[i]) == 0 and route.heads[i] == 0
    assert len(route.queues[0]) == 0  # the source has no queue of its own data


def test_route_pull_spanning_several_chunks_and_interleaved_pushes() -> None:
    route = RouteData(3)
    route.push(np.array([1, 2], dtype=np.uint8))
    assert route.pull(1, 1).tolist() == [1]
    route.push(np.array([3, 4, 5], dtype=np.uint8))
    route.push(np.array([6], dtype=np.uint8))
    route.push(np.array([7, 8, 9, 10], dtype=np.uint8))
    out = route.pull(1, 7)  # the rest of chunk 1, all of 2 and 3, and 2 bytes of 4
    assert out.dtype == np.uint8
    assert out.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert route.heads[1] == 2 and len(route.queues[1]) == 1
    assert route.pull(1, 2).tolist() == [9, 10]
    # destination 2 has not pulled anything yet and sees everything from the start
    assert route.pull(2, 10).tolist() == list(range(1, 11))


@given(st.lists(st.integers(1, 12), min_size=1, max_size=6), st.data())
def test_route_any_split_gives_the_stream_in_order(chunks: list[int], data: st.DataObject) -> None:
    total = sum(chunks)
    stream = np.arange(total, dtype=np.uint32).astype(np.uint8)
    route = RouteData(3)
    start = 0
    for c in chunks:
        route.push(stream[start:start + c].copy())
        start += c
    for dst in (1, 2):
        got: list[int] = []
        while len(got) < total:
            n = data.draw(st.integers(1, total - len(got)))
            got += route.pull(dst, n).tolist()
        assert got == stream.tolist()
        assert route.heads[dst] == 0 and len(route.queues[dst]) == 0


# -- DataPlane ----------------------------------------------------------------------------------

def test_data_plane_allocates_zeroed_memories() -> None:
    plane = DataPlane({"a": 5, "b": 16}, {"x": 10, "y": 4}, {})
    assert set(plane.buffers) == {"a", "b"} and set(plane.tensors) == {"x", "y"}
    assert [len(plane.buffers[n]) for n in ("a", "b")] == [8, 16]
    assert [len(plane.tensors[n]) for n in ("x", "y")] == [12, 4]
    for mem in [*plane.buffers.values(), *plane.tensors.values()]:
        assert mem.dtype == np.uint8 and not mem.any()


def test_data_plane_copies_initial_data() -> None:
    grid = np.arange(1, 13, dtype=np.uint8).reshape(3, 4)
    source = grid.T  # non-contiguous: copied in the C order of the view
    plane = DataPlane({"buf": 8}, {"x": 14, "y": 8}, {"x": source})
    expected = [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]
    assert plane.tensors["x"].tolist() == expected + [0] * 4
    assert not plane.tensors["y"].any() and not plane.buffers["buf"].any()
    grid[:] = 77  # a copy: later changes to the caller's array do not reach the tensor
    assert plane.tensors["x"].tolist() == expected + [0] * 4


def test_data_plane_copies_word_data_as_bytes() -> None:
    data = np.array([0x04030201, 0x08070605], dtype=np.uint32).view(np.uint8)
    plane = DataPlane({}, {"t": 12}, {"t": data})
    assert words(plane.tensors["t"]).tolist() == [0x04030201, 0x08070605, 0]


def test_data_plane_initial_data_exactly_the_tensor_size() -> None:
    data = np.arange(8, dtype=np.uint8)
    plane = DataPlane({}, {"t": 8}, {"t": data})
    assert plane.tensors["t"].tolist() == list(range(8))


def test_data_plane_rejects_initial_data_larger_than_the_tensor() -> None:
    with pytest.raises(ValueError, match="'weights'"):
        DataPlane({}, {"weights": 8}, {"weights": np.zeros(3, dtype=np.int32)})


def test_data_plane_checks_the_declared_size_and_the_name() -> None:
    with pytest.raises(ValueError, match=r"tensor 'x' has 8 bytes, the tensor 5; give at most the tensor's size"):
        DataPlane({}, {"x": 5}, {"x": np.ones(8, dtype=np.uint8)})
    with pytest.raises(ValueError, match=r"tensor 'y', which the program does not declare \(its tensors: x\)"):
        DataPlane({}, {"x": 4}, {"y": np.zeros(4, dtype=np.uint8)})
