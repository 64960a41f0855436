"""A config may extend another (extends: PATH, relative to it) and state only what differs:
configs/npu1-8700g.yaml and configs/npu2-hx370.yaml are built so."""
from __future__ import annotations

from pathlib import Path

import pytest

from npusim import load_config
from npusim.config import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_a_machine_states_only_what_differs() -> None:
    base, desk = load_config(CONFIGS / "npu1.yaml"), load_config(CONFIGS / "npu1-8700g.yaml")
    assert desk.name == "npu1-8700g (Phoenix XDNA, Ryzen 7 8700G)" and desk.clock_mhz == 1800
    assert (desk.ddr.read_gb_per_s, desk.ddr.write_gb_per_s, desk.ddr.channel_gb_per_s) == (28.1, 28.1, 6.9)
    # everything not stated is the parent's, nested sections merged key by key
    assert desk.compute_tile == base.compute_tile and desk.power == base.power
    assert desk.ddr.latency_ns == base.ddr.latency_ns
    hx = load_config(CONFIGS / "npu2-hx370.yaml")
    assert hx.ddr.bandwidth_gb_per_s == 80.0 and hx.columns == 8
    assert hx.compute_tile == load_config(CONFIGS / "npu2.yaml").compute_tile


def test_overrides_apply_after_the_merge() -> None:
    assert load_config(CONFIGS / "npu1-8700g.yaml", ["ddr.read_gb_per_s=20", "columns=2"]).ddr.read_gb_per_s == 20


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_missing_parent_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "# a machine\nextends: nosuch.yaml\nclock_mhz: 1000\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}:2: extends: nosuch.yaml does not exist (looked for {tmp_path / 'nosuch.yaml'}); "
                              "give a path relative to m.yaml")


def test_a_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match=r"a\.yaml:1: extends: b\.yaml extends this file again \(a cycle\)"):
        load_config(b)


def test_an_error_in_the_child_names_the_child_and_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", f"extends: {CONFIGS / 'npu1.yaml'}\nclock_mhz: -5\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2: clock_mhz: Input should be greater than 0, got -5$"):
        load_config(path)
