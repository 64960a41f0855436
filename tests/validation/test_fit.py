"""The leave-one-source-out fits (validation/fit.py) on small tables made here."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from npusim import load_config  # noqa: E402
from validation.fit import fit, key_of  # noqa: E402
from validation.table import Table  # noqa: E402

FIELDS = ["compute_tile.kernels.tuned.variants.int8.efficiency", "compute_tile.kernels.tuned.variants.int8.cycles_per_output"]
CONFIGS = {"npu1": load_config(ROOT / "configs" / "npu1.yaml")}


def case(cid: str, origin: str, m: int, k: int, n: int, cycles: float) -> dict[str, object]:
    return {"id": cid, "title": cid, "source": {"citation": origin, "url": "https://example.org", "where": "here"},
            "origin": origin, "tag": "MEAS", "device": "npu1", "clock_mhz": 1000, "dtype": "int8",
            "workload": {"kind": "kernel", "m": m, "k": k, "n": n}, "metric": "cycles", "published": cycles,
            "calibrates": FIELDS}


def table(cases: list[dict[str, object]], priors: dict[str, object] | None = None) -> Table:
    return Table.model_validate({"tolerance_pct": 15, "sources": {s: {"citation": s, "url": "https://x.org"}
                                                                  for s in ("a", "b", "c")},
                                 "priors": priors or {}, "cases": cases})


def truth(m: int, k: int, n: int) -> float:
    return m * k * n / (256 * 0.8) + 0.25 * m * n  # efficiency 0.8, 0.25 cycles per output, no overhead


def test_the_kernel_rule_recovers_the_parameters_of_exact_cases() -> None:
    t = table([case("x", "a", 64, 232, 64, truth(64, 232, 64)), case("y", "b", 112, 112, 112, truth(112, 112, 112))])
    f = fit(t, CONFIGS, None)
    assert f.values[key_of("npu1", FIELDS[0])] == 0.8 and f.values[key_of("npu1", FIELDS[1])] == 0.25
    assert f.saw[key_of("npu1", FIELDS[0])] == ("x", "y")


def test_leaving_a_source_out_refits_on_the_rest_and_falls_back_to_the_prior() -> None:
    priors = {key_of("npu1", FIELDS[0]): {"value": 1.0, "reason": "peak"},
              key_of("npu1", FIELDS[1]): {"value": 0.0, "reason": "none"}}
    t = table([case("x", "a", 64, 232, 64, truth(64, 232, 64)), case("y", "b", 112, 112, 112, truth(112, 112, 112))],
              priors)
    one = fit(t, CONFIGS, "b")  # one case left: the efficiency stays at its prior, the output term absorbs the rest
    assert one.values[key_of("npu1", FIELDS[0])] == 1.0
    assert one.values[key_of("npu1", FIELDS[1])] == pytest.approx((truth(64, 232, 64) - 64 * 232 * 64 / 256) / 4096,
                                                                  abs=5e-4)
    assert one.saw[key_of("npu1", FIELDS[1])] == ("x",)
    t2 = table([case("x", "a", 64, 232, 64, truth(64, 232, 64))], priors)
    none = fit(t2, CONFIGS, "a")
    assert none.values[key_of("npu1", FIELDS[0])] == 1.0 and none.saw[key_of("npu1", FIELDS[0])] == ()
    assert sorted(none.overrides("npu1-8700g")) == [
        "compute_tile.kernels.tuned.variants.int8.cycles_per_output=0",
        "compute_tile.kernels.tuned.variants.int8.efficiency=1"]  # a device inherits its family's kernel figures


def test_a_measured_figure_gives_way_to_its_prior_only_without_its_source() -> None:
    priors = {"npu1:ddr.bandwidth_gb_per_s": {"value": 56.2, "reason": "another machine", "source": "c"}}
    t = table([case("x", "a", 64, 64, 64, truth(64, 64, 64))], priors)
    assert "npu1:ddr.bandwidth_gb_per_s" not in fit(t, CONFIGS, "b").values
    assert fit(t, CONFIGS, "c").overrides("npu1")[-1] == "ddr.bandwidth_gb_per_s=56.2"


def test_a_field_without_cases_or_prior_is_an_error() -> None:
    t = table([case("x", "a", 64, 64, 64, truth(64, 64, 64))])
    with pytest.raises(ValueError, match=r"^npu1:compute_tile.kernels.tuned.variants.int8.cycles_per_output: a fit "
                       r"without source 'a' has no case for it and the table gives no prior; add one under 'priors:'$"):
        fit(t, CONFIGS, "a")
