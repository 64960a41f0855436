"""Dispatch and reconfiguration costs: the config section, the rule that charges them, and what a
workload's report says about them (text and JSON)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from npusim import load_config
from npusim.config import DispatchSpec, config_schema
from npusim.dispatch import configuration_key, dispatch_costs
from npusim.frontend import Gemm, Workload, lower
from npusim.report import format_workload, report_json
from npusim.runner import run_workload

ROOT = Path(__file__).resolve().parents[1]
TINY = load_config(ROOT / "configs/tiny.yaml").model_copy(
    update={"dispatch": DispatchSpec(dispatch_us=100, reconfiguration_us=2000)})


def test_the_device_configs_charge_the_published_figures() -> None:
    npu1, npu2 = (load_config(ROOT / f"configs/{n}.yaml") for n in ("npu1", "npu2"))
    assert (npu1.dispatch.dispatch_us, npu1.dispatch.reconfiguration_us) == (159.5, 3400)
    assert (npu2.dispatch.dispatch_us, npu2.dispatch.reconfiguration_us) == (127.2, 4900)
    assert load_config(ROOT / "configs/tiny.yaml").dispatch.dispatch_us == 0  # the default charges nothing


def test_the_schema_documents_the_dispatch_fields_with_their_sources() -> None:
    schema = config_schema()
    fields = schema["$defs"]["DispatchSpec"]["properties"]
    assert "XRT" in fields["dispatch_us"]["description"] and "159.5 us on Phoenix" in fields["dispatch_us"]["description"]
    assert "pull requests 7878 and 8319" in fields["dispatch_us"]["description"]
    assert "arXiv 2512.13282 §5.3.1" in fields["reconfiguration_us"]["description"]
    assert "3400 on XDNA and 4900 on XDNA2" in fields["reconfiguration_us"]["description"]


def test_a_reconfiguration_is_charged_when_the_configuration_changes() -> None:
    costs = dispatch_costs(TINY, [1, 1, 2, 1, 1], [1, 3, 1, 2, 1])
    assert (costs.dispatches, costs.reconfigurations) == (8, 3)  # 1 (first load), 2, then 1 again
    assert costs.seconds == pytest.approx(8 * 100e-6 + 3 * 2000e-6)


def test_identical_layers_share_a_configuration_and_other_shapes_do_not() -> None:
    a, b = (lower(TINY, Gemm(name=n, m=64, k=64, n=64, dtype="int8")) for n in ("a", "b"))
    c = lower(TINY, Gemm(name="c", m=64, k=128, n=64, dtype="int8"))
    assert configuration_key(a.program) == configuration_key(b.program) != configuration_key(c.program)


def test_a_workload_pays_its_dispatches_and_reports_them() -> None:
    layers = [Gemm(name="g1", m=64, k=64, n=64, dtype="int8"), Gemm(name="g2", m=64, k=64, n=64, dtype="int8", count=2),
              Gemm(name="g3", m=64, k=128, n=64, dtype="int8")]
    wr = run_workload(TINY, Workload(name="w", layers=layers))
    assert (wr.dispatches, wr.reconfigurations) == (4, 2)
    assert wr.dispatch_seconds == pytest.approx(4 * 100e-6 + 2 * 2000e-6)
    assert wr.seconds == pytest.approx(wr.array_seconds + wr.dispatch_seconds)
    assert wr.array_seconds == pytest.approx(sum(r.seconds * n for r, n in zip(wr.layers, wr.counts)))
    d = json.loads(report_json(wr))
    assert d["dispatch_seconds"] == pytest.approx(wr.dispatch_seconds) and d["seconds"] == pytest.approx(wr.seconds)
    for key in ("bytes_read", "bytes_written", "bytes_accessed"):
        assert d["ddr"][key] == sum(L["ddr"][key] * L["count"] for L in d["layers"]) > 0
    text = format_workload(wr)
    share = 100 * wr.dispatch_seconds / wr.seconds
    assert (f"dispatch 4 dispatches, 2 reconfigurations: {wr.dispatch_seconds * 1e6:,.1f} us, {share:.1f}% of "
            f"{wr.seconds * 1e6:,.1f} us end to end") in text
