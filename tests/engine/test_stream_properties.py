"""Property tests of data movement: whatever the BD boundaries on either end of a route, every
byte arrives once, the route is busy exactly bytes/rate cycles, and mismatched totals deadlock."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from npusim import DeadlockError, load_config, simulate
from npusim.isa import program_from_dict

ROOT = Path(__file__).resolve().parents[2]
TINY = load_config(ROOT / "configs/tiny.yaml")
RATE = TINY.stream_switch.bytes_per_cycle

words = st.integers(1, 64).map(lambda w: 4 * w)


def program(src: list[int], dsts: list[list[int]]) -> dict[str, object]:
    """Memory tile (0,1) mm2s0 sends BDs ``src``; compute tiles (c,2) s2mm0 receive ``dsts[c]``."""
    tiles: list[dict[str, object]] = [
        {"tile": [0, 1], "buffers": [{"name": "m", "size_bytes": 4096}],
         "dma": [{"channel": "mm2s0", "bds": [{"buffer": "m", "length_bytes": n} for n in src]}]}]
    for c, lengths in enumerate(dsts):
        tiles.append({"tile": [c, 2], "buffers": [{"name": f"c{c}", "size_bytes": 4096}],
                      "dma": [{"channel": "s2mm0", "bds": [{"buffer": f"c{c}", "length_bytes": n} for n in lengths]}]})
    return {"name": "split", "tiles": tiles, "routes": [
        {"name": "r", "source": {"tile": [0, 1], "channel": "mm2s0"},
         "destinations": [{"tile": [c, 2], "channel": "s2mm0"} for c in range(len(dsts))]}]}


@st.composite
def splits(draw: st.DrawFn) -> tuple[list[int], list[list[int]]]:
    """A source BD list and 1-2 destination BD lists (at most 16 BDs each) with the same total."""
    src = draw(st.lists(words, min_size=1, max_size=16))
    total = sum(src)
    dsts = []
    for _ in range(draw(st.integers(1, 2))):
        cuts = draw(st.lists(st.integers(1, total // 4 - 1), max_size=min(15, total // 4 - 1), unique=True)) \
            if total > 4 else []
        points = [0] + sorted(4 * c for c in cuts) + [total]
        dsts.append([b - a for a, b in zip(points, points[1:])])
    return src, dsts


@settings(max_examples=80, deadline=None)
@given(splits())
def test_every_byte_arrives_once_whatever_the_bd_boundaries(case: tuple[list[int], list[list[int]]]) -> None:
    src, dsts = case
    report = simulate(TINY, program_from_dict(program(src, dsts)))
    total = sum(src)
    route = report.routes[0]
    assert route.bytes == total
    assert route.busy == total // RATE  # word-multiple segments: no rounding anywhere
    received = {(t.col, t.row): sum(ch.bytes for ch in t.channels) for t in report.tiles if t.kind == "compute"}
    assert received == {(c, 2): total for c in range(len(dsts))}
    sent = next(t for t in report.tiles if t.kind == "mem").channels[0]
    assert (sent.bytes, sent.bds) == (total, len(src))
    assert report.cycles >= total // RATE + TINY.stream_switch.hop_latency_cycles * 2


@settings(max_examples=40, deadline=None)
@given(st.lists(words, min_size=1, max_size=8), st.lists(words, min_size=1, max_size=8))
def test_totals_that_differ_deadlock(src: list[int], dst: list[int]) -> None:
    prog = program_from_dict(program(src, [dst]))
    if sum(src) == sum(dst):
        assert simulate(TINY, prog).routes[0].bytes == sum(src)
        return
    try:
        simulate(TINY, prog)
    except DeadlockError as err:
        waiting = dict(err.blocked)
        short = "tile (0,2) s2mm0" if sum(src) < sum(dst) else "mem (0,1) mm2s0"
        assert list(waiting) == [short]
    else:
        raise AssertionError("a route whose ends move different totals must deadlock")
