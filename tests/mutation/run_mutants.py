"""A mutation run: realistic bugs put into the code one at a time, and the tests that should catch
each run against it. A mutant is *killed* when those tests fail (or time out), *survives* when
they pass. Not part of the suite (pytest does not collect this file); the mutants are described
in tests/README.md.

Each mutant is a search/replace on one source file (the search text must occur exactly once),
applied to a copy of the repository in a temporary directory, so an interrupted run leaves the
worktree untouched. The tests run in that copy with its ``npusim`` first on the path.

    .venv/bin/python tests/mutation/run_mutants.py            # every mutant
    .venv/bin/python tests/mutation/run_mutants.py gelu sig   # those whose name contains a word
    .venv/bin/python tests/mutation/run_mutants.py --list
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("npusim", "tests", "configs", "workloads", "traces", "validation", "pyproject.toml")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    search: str
    replace: str
    tests: tuple[str, ...]
    why: str


FUNCTIONAL = ("tests/test_reference.py", "tests/frontend/test_vector_ops.py",
              "tests/frontend/test_functional_properties.py")

MUTANTS = (
    # -- arithmetic of the kernels (functional mode) ---------------------------------------
    Mutant("bf16-truncates", "npusim/numerics.py", "rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16",
           "rounded = u >> 16", FUNCTIONAL, "f32 -> bf16 drops the rounding (truncates)"),
    Mutant("shift-truncates", "npusim/numerics.py", "wide = (wide + (1 << (shift - 1))) >> shift",
           "wide = wide >> shift", FUNCTIONAL, "the output shift truncates instead of rounding half up"),
    Mutant("no-saturation", "npusim/numerics.py", "return np.clip(wide, info.min, info.max).astype(_STORAGE[out])",
           "return wide.astype(_STORAGE[out])", FUNCTIONAL, "narrow integer outputs wrap instead of saturating"),
    Mutant("gelu-constant", "npusim/vector_math.py", "np.float32(0.044715)", "np.float32(0.44715)",
           FUNCTIONAL, "GELU's cubic coefficient off by a factor of ten"),
    Mutant("sigmoid-sign", "npusim/vector_math.py", "np.exp(-v)", "np.exp(v)", FUNCTIONAL,
           "sigmoid computes 1 / (1 + e^x)"),
    Mutant("avg-pool-rounding", "npusim/vector_math.py", "(acc.astype(np.int64) + divisor // 2) // divisor",
           "acc.astype(np.int64) // divisor", FUNCTIONAL, "integer average pool truncates instead of rounding"),
    Mutant("softmax-axis", "npusim/vector_math.py", "e / e.sum(axis=-1, keepdims=True, dtype=np.float32)",
           "e / e.sum(axis=0, keepdims=True, dtype=np.float32)", FUNCTIONAL, "softmax normalises the wrong axis"),
    Mutant("zero-ignored", "npusim/hw/kernels.py", "    if ins.zero:\n        acc[...] = prod",
           "    if False:\n        acc[...] = prod", FUNCTIONAL,
           "the first reduction step accumulates onto the previous tile's results"),
    Mutant("relu-dropped", "npusim/hw/kernels.py",
           "    if ins.relu:\n        np.maximum(acc, 0, out=acc)\n", "", FUNCTIONAL,
           "the fused ReLU is dropped"),
    # -- lowering -----------------------------------------------------------------------------
    Mutant("memtile-capacity", "npusim/frontend/mapper/candidates.py",
           "return (l1 <= cfg.compute_tile.data_mem_kib * 1024) & (l2 <= cfg.mem_tile.size_kib * 1024)",
           "return (l1 <= cfg.compute_tile.data_mem_kib * 1024) & (l2 >= 0)",
           ("tests/frontend/test_tile_fitting.py",), "tile fitting ignores the memory tile's capacity"),
    Mutant("stack-reservation", "npusim/frontend/mapper/candidates.py",
           'l1 = 2 * (m * k * ia + g["b_tile"]) + c_buffers * m * n * cb + STACK_BYTES',
           'l1 = 2 * (m * k * ia + g["b_tile"]) + c_buffers * m * n * cb',
           ("tests/frontend/test_tile_fitting.py",), "tile fitting leaves no room for the core's stack"),
    # -- timing and counts ---------------------------------------------------------------------
    Mutant("kernel-overhead", "npusim/hw/timing.py", "return _ceil(exact) + kernel.overhead_cycles",
           "return _ceil(exact)", ("tests/golden", "tests/hw/test_timing.py"),
           "a kernel call's fixed overhead is left out"),
    Mutant("lock-count", "npusim/engine/run.py", "+ lock.acquires + lock.releases", "+ lock.acquires",
           ("tests/power",), "lock operations count acquires only"),
    Mutant("stream-switches", "npusim/stats/actions.py",
           "sum(r.bytes * tree_switches.get(n, max(r.switches, default=0)) for n, r in rec.routes.items())",
           "sum(r.bytes for n, r in rec.routes.items())", ("tests/power",),
           "stream energy counts bytes, not bytes x switches crossed"),
    Mutant("ddr-count", "npusim/stats/actions.py", "rec.ddr.bytes_accessed, sum(", "rec.ddr.bytes_read, sum(",
           ("tests/power",), "DDR energy counts reads only"),
    # -- files, sweeps, loading ------------------------------------------------------------------
    Mutant("torn-row", "npusim/sweep/output.py",
           '        if text and not text.endswith("\\n"):  # a record cut by the interruption\n'
           '            text = text[: text.rfind("\\n") + 1]\n', "",
           ("tests/sweep/test_sweep_ownership.py", "tests/sweep/test_sweep_resume.py"),
           "resume keeps a last row cut short"),
    Mutant("parquet-part-in-place", "npusim/sweep/output.py",
           "    with replacing(dest) as tmp:\n        pq.write_table(table, tmp)", "    pq.write_table(table, dest)",
           ("tests/sweep/test_sweep_ownership.py",), "a Parquet part is written in place, not renamed into place"),
    Mutant("no-sweep-lock", "npusim/sweep/lock.py", "flock.flock(fd, flock.LOCK_EX | flock.LOCK_NB)", "pass",
           ("tests/sweep/test_sweep_ownership.py",), "the lock file is opened but never locked: no exclusion"),
    Mutant("resume-anything", "npusim/sweep/output.py",
           "            check_ours(path, columns, (str(r.get(\"point_key\")) for r in kept), layers)\n", "",
           ("tests/sweep/test_sweep_ownership.py",), "CSV resume accepts a file it did not write"),
    Mutant("write-in-place", "npusim/output.py", "        yield [tmps[d] for d in dests]", "        yield dests",
           ("tests/test_output.py",), "outputs are written in place"),
    Mutant("no-alias-limit", "npusim/config/safe_yaml.py",
           '        expanded_size(node, limit("NPUSIM_YAML_MAX_NODES", MAX_NODES))\n', "",
           ("tests/config/test_safe_yaml.py",), "aliases are expanded without a limit"),
    Mutant("failed-totals", "npusim/sweep/table.py", "out[figures] = out[figures].astype(float).mask(failed)",
           "pass", ("tests/sweep/test_sweep_plots.py",), "a failed point is summed over the layers that ran"),
    Mutant("estimate-unchecked", "npusim/limits.py", "    if options.max_cycles is not None and cycles > options.max_cycles:",
           "    if options.max_cycles is not None and cycles > 10 * options.max_cycles:",
           ("tests/test_limits.py",), "the estimate is checked against ten times the budget"),
    Mutant("memory-error-internal", "npusim/cli_errors.py", "(ValueError, OutputError, MemoryError)",
           "(ValueError, OutputError)", ("tests/test_exit_codes.py",), "out of memory is reported as a bug"),
)


def _copy(dest: Path) -> None:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        else:
            shutil.copy2(src, dest / name)


def _pytest(tree: Path, tests: tuple[str, ...], timeout: float) -> tuple[int, str]:
    """Run ``tests`` in ``tree`` (its npusim first on the path): exit status (-1 on a timeout) and
    the first failing test's id."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    failed = [ln.split(" - ")[0].split(" ", 1)[1] for ln in done.stdout.splitlines()
              if ln.startswith(("FAILED ", "ERROR "))]
    return done.returncode, failed[0] if failed else ""


def run(mutant: Mutant, tree: Path, timeout: float) -> tuple[str, str, float]:
    """Apply ``mutant`` in ``tree``, run its tests, undo it: (verdict, the failing test, seconds)."""
    path = tree / mutant.path
    original = path.read_text()
    if original.count(mutant.search) != 1:
        return f"not applied ({original.count(mutant.search)} matches)", "", 0.0
    path.write_text(original.replace(mutant.search, mutant.replace))
    start = time.perf_counter()
    try:
        status, failed = _pytest(tree, mutant.tests, timeout)
    finally:
        path.write_text(original)
    verdict = "survived" if status == 0 else "killed" + (" (timeout)" if status == -1 else "")
    return verdict, failed, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="run only the mutants whose name contains one of these")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per mutant (a timeout kills it)")
    args = ap.parse_args()
    chosen = [m for m in MUTANTS if not args.names or any(n in m.name for n in args.names)]
    if args.list:
        for m in chosen:
            print(f"{m.name:<22} {m.path:<28} {m.why}")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="npusim-mutants-") as tmp:
        tree = Path(tmp)
        _copy(tree)
        tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        status, failed = _pytest(tree, tests, args.timeout * 2)
        if status != 0:  # a mutant only counts as killed by tests that pass without it
            print(f"the tests fail without any mutant ({failed}); fix them first")
            return 2
        print(f"baseline: the {len(tests)} test files and folders pass unmutated\n")
        for m in chosen:
            verdict, failed, seconds = run(m, tree, args.timeout)
            results.append((m, verdict))
            print(f"{m.name:<22} {verdict:<9} {seconds:6.1f} s  {m.why}" + (f"\n{'':<22} by {failed}" if failed else ""),
                  flush=True)
    killed = sum(v.startswith("killed") for _, v in results)
    print(f"\n{killed} of {len(results)} mutants killed")
    survivors = [m.name for m, v in results if not v.startswith("killed")]
    if survivors:
        print("survived or not applied: " + ", ".join(survivors))
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
