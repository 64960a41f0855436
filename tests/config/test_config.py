"""Config loading: the shipped configs, their source tags, overrides, the schema and the CLI, and a
clear error (file, line, dotted field, fix) for every kind of bad config.

Messages are pinned whole with ``re.fullmatch``, so a vaguer message fails the test.
"""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
import yaml

from npusim.cli import main
from npusim.config import ConfigError, NPUConfig, config_schema, load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
BAD = ROOT / "tests" / "data" / "bad_configs"
PASSTHROUGH = ROOT / "traces" / "passthrough.json"


def config_error(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return str(info.value)


# -- shipped configs ---------------------------------------------------------------------------

def test_npu1_headline_figures() -> None:
    c = load_config(CONFIGS / "npu1.yaml")
    assert (c.columns, c.compute_rows, c.mem_tile_rows, c.rows) == (4, 4, 1, 6)
    assert c.clock_mhz == 1000
    assert c.ddr.bandwidth_gb_per_s == 17.0
    assert c.compute_tile.data_mem_kib == 64 and c.mem_tile.size_kib == 512
    assert set(c.compute_tile.kernels["tuned"].variants) == {"int8", "int16", "bf16"}


def test_npu2_headline_figures() -> None:
    c = load_config(CONFIGS / "npu2.yaml")
    assert (c.columns, c.compute_rows, c.mem_tile_rows) == (8, 4, 1)
    assert c.clock_mhz == 1800
    assert c.ddr.bandwidth_gb_per_s == 60.0
    assert c.compute_tile.kernel(None, "int8").macs_per_cycle == 512


def test_tiny_loads() -> None:
    c = load_config(CONFIGS / "tiny.yaml")
    assert isinstance(c, NPUConfig)
    assert (c.columns, c.rows) == (2, 4)
    assert c.compute_tile.stream_ports.north == 2


# -- source tags on every figure of the device configs -----------------------------------------
#
# The rule. A "figure" is a mapping entry whose value is a number (YAML int or float); strings
# (name, description) are not figures. A figure is sourced when any of these holds:
#   1. its own line has a comment with a tag [SPEC], [MEAS], [INF], [3P] or [CAL] (calibrated on
#      published measurements, validation/cases.yaml);
#   2. its parent key's line has a tagged comment, which then covers the whole block
#      (`stream_ports:  # [SPEC] ... North 6, South 4, ...` sources north/south/east/west);
#   3. it is `mm2s_channels` and the `s2mm_channels` line of the same DMA is tagged: the files cite
#      the channel counts as one pair ("2 S2MM + 2 MM2S");
#   4. the same key with the same value is tagged elsewhere in the same file: a repeated figure
#      (`max_repeat: 256` in all three DMAs, `overhead_cycles: 0` in every kernel) keeps its source.
# Anything else is an unsourced figure. Rules 2-4 are deliberately narrow: a block whose first line
# alone is tagged does not source its other lines.

TAG = re.compile(r"#.*\[(SPEC|MEAS|INF|3P|CAL)\]")
INT_FLOAT = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")

KNOWN_UNTAGGED: set[tuple[str, str]] = {
    # (file, dotted field) of figures allowed without a source tag; a stale entry fails the test.
}


def _figures(path: Path) -> tuple[list[str], dict[str, int], list[tuple[str, int, str]]]:
    """Lines of the file, the line (0-based) of every key path, and (path, line, value) per figure."""
    text = path.read_text()
    key_line: dict[str, int] = {}
    figures: list[tuple[str, int, str]] = []

    def walk(node: yaml.Node, prefix: str) -> None:
        assert isinstance(node, yaml.MappingNode), f"{path}: {prefix}: expected a mapping"
        for key, value in node.value:
            dotted = f"{prefix}.{key.value}" if prefix else key.value
            key_line[dotted] = key.start_mark.line
            if isinstance(value, yaml.MappingNode):
                walk(value, dotted)
            elif isinstance(value, yaml.ScalarNode) and value.tag in INT_FLOAT:
                figures.append((dotted, key.start_mark.line, value.value))

    walk(yaml.compose(text), "")
    return text.splitlines(), key_line, figures


def _unsourced(path: Path) -> set[str]:
    lines, key_line, figures = _figures(path)

    def tagged(dotted: str) -> bool:
        return bool(TAG.search(lines[key_line[dotted]]))

    own = {(d.rsplit(".", 1)[-1], v) for d, _, v in figures if tagged(d)}
    missing = set()
    for dotted, _, value in figures:
        parent, _, key = dotted.rpartition(".")
        if tagged(dotted):
            continue
        if parent and tagged(parent):
            continue
        if key == "mm2s_channels" and tagged(f"{parent}.s2mm_channels"):
            continue
        if (key, value) in own:
            continue
        missing.add(dotted)
    return missing


@pytest.mark.parametrize("name", ["npu1.yaml", "npu2.yaml"])
def test_every_figure_of_a_device_config_has_a_source_tag(name: str) -> None:
    _, _, figures = _figures(CONFIGS / name)
    assert len(figures) > 50  # the walk found the figures: the check is not vacuous
    known = {field for file, field in KNOWN_UNTAGGED if file == name}
    missing = _unsourced(CONFIGS / name)
    assert missing - known == set(), f"configs/{name}: figures without a source tag: {sorted(missing - known)}"
    assert known - missing == set(), f"configs/{name}: now tagged, drop from KNOWN_UNTAGGED: {sorted(known - missing)}"


def test_tag_rule_flags_an_untagged_figure(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text(
        "columns: 4     # [SPEC] doc\n"
        "clock_mhz: 1000  # measured, but no tag\n"
        "ddr:\n"
        "  bandwidth_gb_per_s: 15.0\n"
        "ports:  # [INF] covers the block\n"
        "  north: 6\n"
        "dma:\n"
        "  s2mm_channels: 2  # [SPEC] 2 + 2\n"
        "  mm2s_channels: 2\n"
        "  bds: 16\n"
        "other_dma:\n"
        "  bds: 16  # [3P] third party\n"
    )
    assert _unsourced(path) == {"clock_mhz", "ddr.bandwidth_gb_per_s"}


# -- bad configs: one file per kind of error ---------------------------------------------------

SCHEMA_HINT = r"remove it or check its spelling against `npusim schema`"


@pytest.mark.parametrize(("name", "pattern"), [
    ("unknown_top_key.yaml", r"{path}:9: colums: unknown field; " + SCHEMA_HINT),
    ("unknown_nested_key.yaml", r"{path}:15: compute_tile\.dma\.bogus: unknown field; " + SCHEMA_HINT),
    ("missing_field.yaml",
     r"{path}:45: mem_tile\.size_kib: required field is missing; add it \(see `npusim schema`\)"),
    ("wrong_type.yaml",
     r"{path}:11: compute_tile\.data_mem_kib: Input should be a valid integer, got 'sixty-four'"),
    ("zero_columns.yaml", r"{path}:6: columns: Input should be greater than or equal to 1, got 0"),
    ("efficiency_too_high.yaml",
     r"{path}:24: compute_tile\.kernels\.tuned\.variants\.bf16\.efficiency: Input should be less than or equal to 1, got 1\.5"),
    ("not_a_mapping.yaml",
     (r"{path}: expected a mapping of config fields at the top level, got a list; write one "
      r"`field: value` per line \(e\.g\. `columns: 4`\), see `npusim schema` for the fields")),
    ("bad_yaml.yaml",
     (r"{path}:48: not valid YAML: expected ',' or '\]', but got ':' \(column 8\), while parsing a "
      r"flow sequence \(line 47\); fix the YAML syntax there")),
])
def test_bad_config_error_names_file_line_field_and_fix(name: str, pattern: str) -> None:
    path = BAD / name
    message = config_error(path)
    assert re.fullmatch(pattern.format(path=re.escape(str(path))), message), message


def test_every_bad_config_file_is_tested() -> None:
    # Each file under tests/data/bad_configs must be one of the parametrized cases above.
    tested = {"unknown_top_key.yaml", "unknown_nested_key.yaml", "missing_field.yaml", "wrong_type.yaml",
              "zero_columns.yaml", "efficiency_too_high.yaml", "not_a_mapping.yaml", "bad_yaml.yaml"}
    assert {p.name for p in BAD.glob("*.yaml")} == tested


def test_bad_configs_differ_from_tiny_in_one_place() -> None:
    tiny = (CONFIGS / "tiny.yaml").read_text().splitlines()
    for path in BAD.glob("*.yaml"):
        if path.name == "not_a_mapping.yaml":
            continue
        lines = path.read_text().splitlines()
        # lines 1-2 describe the file; below them, one line is changed, added or removed
        ops = difflib.SequenceMatcher(a=tiny[2:], b=lines[2:], autojunk=False).get_opcodes()
        changes = [(tag, i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal"]
        assert changes in ([("replace", 1, 1)], [("insert", 0, 1)], [("delete", 1, 0)]), (path.name, changes)


def test_several_errors_are_all_reported_one_per_line(tmp_path: Path) -> None:
    text = (CONFIGS / "tiny.yaml").read_text()
    text = text.replace("columns: 2\n", "columns: -1\n").replace("  hop_latency_cycles: 2\n", "")
    path = tmp_path / "two.yaml"
    path.write_text(text)
    p = re.escape(str(path))
    assert re.fullmatch(
        rf"{p}:6: columns: Input should be greater than or equal to 1, got -1\n"
        rf"{p}:58: stream_switch\.hop_latency_cycles: required field is missing; add it \(see `npusim schema`\)",
        config_error(path))


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    assert re.fullmatch(
        re.escape(str(empty)) + r": expected a mapping of config fields at the top level, got an empty "
        r"document; write one `field: value` per line .*", config_error(empty))
    missing = tmp_path / "nope.yaml"
    assert re.fullmatch(re.escape(str(missing)) + r": cannot read config file: No such file or directory",
                        config_error(missing))


def test_invalid_dict_key_names_the_key(tmp_path: Path) -> None:
    text = (CONFIGS / "tiny.yaml").read_text().replace("    mul: *simple", "    mull: *simple")
    path = tmp_path / "mull.yaml"
    path.write_text(text)
    assert re.fullmatch(
        re.escape(str(path)) + r":28: compute_tile\.vector\.mull: Input should be 'relu', .*, got 'mull'",
        config_error(path))


def test_whole_config_check_has_no_misleading_line() -> None:
    # NPUConfig's own validator (loc = top level): no line of the file is to blame, the override is
    path = CONFIGS / "tiny.yaml"
    assert config_error(path, ["mem_tile.stream_ports.north=0"]) == (
        f"{path} (with override mem_tile.stream_ports.north): <top level>: mem_tile.stream_ports.north is 0: "
        "the compute rows above the memory "
        "tiles could not be reached; give mem_tile.stream_ports.north at least 1")


# -- dotted overrides --------------------------------------------------------------------------

def test_overrides_set_fields() -> None:
    c = load_config(CONFIGS / "npu1.yaml",
                    ["columns=2", "mem_tile.size_kib=1024", "ddr.bandwidth_gb_per_s=7.5"])
    assert c.columns == 2
    assert c.mem_tile.size_kib == 1024
    assert c.ddr.bandwidth_gb_per_s == 7.5
    assert c.compute_rows == 4  # untouched fields stay


def test_override_can_set_a_whole_section_and_a_dict_entry() -> None:
    c = load_config(CONFIGS / "tiny.yaml", [
        "ddr={bandwidth_gb_per_s: 20, latency_ns: 0, access_bytes: 32}",
        "compute_tile.kernels.tuned.variants.bf16.efficiency=0.25",
    ])
    assert (c.ddr.bandwidth_gb_per_s, c.ddr.latency_ns) == (20, 0)
    assert c.compute_tile.kernel("tuned", "bf16").efficiency == 0.25


def test_later_override_wins() -> None:
    assert load_config(CONFIGS / "tiny.yaml", ["columns=1", "columns=3"]).columns == 3


@pytest.mark.parametrize(("override", "pattern"), [
    ("bogus.size=1",
     r"{path}: override 'bogus\.size=1': 'bogus' is not a section of the config; see `npusim schema` for the fields"),
    ("columns.x=1",
     r"{path}: override 'columns\.x=1': 'columns' is not a section of the config; see `npusim schema` for the fields"),
    ("mem_tile.dma.bogus.x=1",
     (r"{path}: override 'mem_tile\.dma\.bogus\.x=1': 'mem_tile\.dma\.bogus' is not a section of the config; "
      r"see `npusim schema` for the fields")),
    ("columns", r"override 'columns': expected KEY=VALUE, e\.g\. columns=2 or mem_tile\.size_kib=1024"),
    ("=2", r"override '=2': expected KEY=VALUE, e\.g\. columns=2 or mem_tile\.size_kib=1024"),
    ("columns=0", r"{path} \(override\): columns: Input should be greater than or equal to 1, got 0"),
    ("columns=two",
     (r"{path} \(override\): columns: Input should be a valid integer, "
      r"got 'two'")),
    ("ddr.bandwidth_gb_per_s=0", r"{path} \(override\): ddr\.bandwidth_gb_per_s: Input should be greater than 0, got 0"),
    ("mem_tile.bogus=1", r"{path} \(override\): mem_tile\.bogus: unknown field; " + SCHEMA_HINT),
    # an overridden section: its fields' errors are the override's, not the file's line
    ("ddr={bandwidth_gb_per_s: 0, latency_ns: 1, access_bytes: 64}",
     r"{path} \(override\): ddr\.bandwidth_gb_per_s: Input should be greater than 0, got 0"),
])
def test_bad_override_errors_clearly(override: str, pattern: str) -> None:
    path = CONFIGS / "tiny.yaml"
    message = config_error(path, [override])
    assert re.fullmatch(pattern.format(path=re.escape(str(path))), message), message


# -- schema ------------------------------------------------------------------------------------

def test_schema_command_prints_json_schema_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    schema = json.loads(out)
    assert schema == config_schema()
    assert schema["type"] == "object" and schema["title"] == "NPUConfig"
    assert schema["additionalProperties"] is False  # unknown keys are errors
    assert {"columns", "clock_mhz", "compute_tile", "ddr"} <= set(schema["required"])
    assert schema["properties"]["columns"]["description"] == ("Columns of the array usable by one design (1-8: XDNA2's "
                                                            "whole array has 8).")
    assert schema["properties"]["columns"]["maximum"] == 8 and schema["properties"]["compute_rows"]["maximum"] == 6
    defs = schema["$defs"]
    assert defs["DdrSpec"]["properties"]["bandwidth_gb_per_s"]["description"].startswith(
        "Sustained DDR bandwidth available to the NPU, in GB/s")
    assert defs["DmaSpec"]["properties"]["address_dims"]["description"] == (
        "Dimensions of the address generator (sizes/strides) a BD may use.")
    assert defs["KernelSpec"]["properties"]["efficiency"]["exclusiveMinimum"] == 0
    # every $ref resolves
    for ref in re.findall(r'"\$ref": "#/\$defs/(\w+)"', out):
        assert ref in defs


def test_shipped_configs_follow_the_schema_shape() -> None:
    # Without a JSON Schema validator installed: each top-level key of the files is in the schema.
    props = config_schema()["properties"]
    for name in ("npu1.yaml", "npu2.yaml", "tiny.yaml"):
        data = yaml.safe_load((CONFIGS / name).read_text())
        assert set(data) <= set(props), name


# -- CLI ---------------------------------------------------------------------------------------

def test_cli_check_applies_set(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "--config", str(CONFIGS / "tiny.yaml"), "--trace", str(PASSTHROUGH)]
    assert main(argv) == 0
    assert re.fullmatch(re.escape(str(PASSTHROUGH)) + r": ok on tiny \(test array\): 2 tiles, 4 routes, "
                        r"3 buffers, 6 locks\n", capsys.readouterr().out)
    # 2 KiB of data memory cannot hold the trace's 4 KiB buffer: the override reached the verifier
    assert main(argv + ["--set", "compute_tile.data_mem_kib=2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.fullmatch(
        r"error: " + re.escape(str(PASSTHROUGH)) + r": compute tile \(0,2\): buffer 'core_buf' ends at "
        r"byte 4096, past the 2048-byte memory \(limit compute_tile\.data_mem_kib = 2\); shrink the "
        r"buffers or move one to another tile\n", captured.err)


def test_cli_run_applies_set(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--config", str(CONFIGS / "tiny.yaml"), "--trace", str(PASSTHROUGH), "--json"]
    assert main(argv) == 0
    base = json.loads(capsys.readouterr().out)
    assert main(argv + ["--set", "ddr.latency_ns=1000", "--set", "clock_mhz=500"]) == 0
    slow = json.loads(capsys.readouterr().out)
    assert base["clock_mhz"] == 1000 and slow["clock_mhz"] == 500
    assert slow["cycles"] > base["cycles"]


@pytest.mark.parametrize("command", ["run", "check"])
def test_cli_bad_config_exits_2_with_message_on_stderr(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = BAD / "unknown_nested_key.yaml"
    assert main([command, "--config", str(path), "--trace", str(PASSTHROUGH)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}:15: compute_tile.dma.bogus: unknown field; remove it or check its " \
        "spelling against `npusim schema`\n"


def test_cli_bad_override_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    path = CONFIGS / "tiny.yaml"
    assert main(["check", "--config", str(path), "--set", "columns=0", "--trace", str(PASSTHROUGH)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path} (override): columns: Input should be greater than or equal to 1, got 0\n")
    assert main(["run", "--config", str(path), "--set", "columns", "--trace", str(PASSTHROUGH)]) == 2
    assert capsys.readouterr().err == (
        "error: --set 'columns': override 'columns': expected KEY=VALUE, e.g. columns=2 or mem_tile.size_kib=1024\n")


# -- strict values and duplicate keys ----------------------------------------------------------

@pytest.mark.parametrize("override, got", [
    ("columns=true", "True"), ('columns="4"', "'4'"), ("columns=4.0", "4.0")])
def test_integer_fields_take_integers_only(override: str, got: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "tiny.yaml", [override])
    assert str(info.value) == f"{CONFIGS / 'tiny.yaml'} (override): columns: Input should be a valid integer, got {got}"


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_float_fields_must_be_finite(value: str) -> None:
    with pytest.raises(ConfigError, match=r"\(override\): clock_mhz: Input should be a finite number, got "):
        load_config(CONFIGS / "tiny.yaml", [f"clock_mhz={value}"])


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = (CONFIGS / "tiny.yaml").read_text().replace("columns: 2\n", "columns: 2\ncolumns: 8\n", 1)
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    line = text.splitlines().index("columns: 8") + 1
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:{line}: columns: duplicate key (first set on line {line - 1}); keep one of the two"


def test_a_key_overriding_a_merged_one_is_not_a_duplicate(tmp_path: Path) -> None:
    """YAML merge keys (``<<: *anchor``) bring an anchored mapping's keys in; the mapping's own keys
    override them (validation/llm_cases.yaml derives cases this way); two own keys still clash."""
    from npusim.config.load import read_yaml

    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {id: one, size: 2}\nderived: {<<: *b, id: two}\n")
    data, _ = read_yaml(path)
    assert data["derived"] == {"id": "two", "size": 2}
    path.write_text("base: &b {id: one, size: 2}\nderived: {<<: *b, id: two, id: three}\n")
    with pytest.raises(ConfigError, match=r"merge.yaml:2: derived\.id: duplicate key \(first set on line 2\)"):
        read_yaml(path)


def test_a_shim_tile_without_dma_channels_cannot_reach_ddr() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(CONFIGS / "tiny.yaml", ["shim_tile.dma.s2mm_channels=0", "shim_tile.dma.mm2s_channels=0"])
    line = (CONFIGS / "tiny.yaml").read_text().splitlines().index("shim_tile:") + 1
    assert str(info.value) == (
        f"{CONFIGS / 'tiny.yaml'}:{line} (with overrides shim_tile.dma.mm2s_channels, shim_tile.dma.s2mm_channels): "
        "shim_tile: a shim tile needs at least one DMA channel to reach DDR")
