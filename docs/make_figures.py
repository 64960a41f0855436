"""Regenerate the figures the docs show (docs/img/*.png): `.venv/bin/python docs/make_figures.py`.

Each is drawn by npusim's own plotting functions from a real run or sweep, so the pictures in
the docs are what a user gets. The validation plot is written by validation/run.py.
"""
from __future__ import annotations

from pathlib import Path

from npusim import Gemm, RunOptions, load_config, sweep
from npusim.llm import LlmRun, load_model, run_llm
from npusim.llm.plot import context_figure
from npusim.plots import heatmap_figure, pareto_figure, sweep_figure, utilisation_figure
from npusim.runner import run_layer

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    npu2 = load_config(ROOT / "configs/npu2.yaml")
    gemm = run_layer(npu2, Gemm(m=2048, k=2048, n=2048, dtype="int8"), RunOptions())
    utilisation_figure(gemm).savefig(IMG / "utilisation_npu2.png", dpi=110)
    heatmap_figure(gemm, npu2).savefig(IMG / "heatmap_npu2.png", dpi=110)
    # columns and clock of npu2 on the small GEMMs; one variant whose data memory is too small for
    # any tile fails, and the figures mark it
    table = sweep(ROOT / "configs/npu2.yaml", ROOT / "workloads/small_gemms.yaml",
                  {"columns": [1, 2, 4, 8], "clock_mhz": [1000, 1800]},
                  points=[{"columns": 8, "clock_mhz": 1400, "compute_tile.data_mem_kib": 1}], workers=1)
    sweep_figure(table, "columns", "seconds", by="clock_mhz").savefig(IMG / "sweep_columns.png", dpi=110)
    pareto_figure(table).savefig(IMG / "pareto_columns.png", dpi=110)
    # Llama 3.2 1B's decode against context (docs/llm.md)
    llama = run_llm(npu2, load_model(ROOT / "workloads/llm/llama-3.2-1b.json"),
                    LlmRun(prompt=512, generate=0, contexts=(1024, 2048, 4096, 8192, 16384, 32768)))
    context_figure(llama).savefig(IMG / "llm_context.png", dpi=110)


if __name__ == "__main__":
    main()
