"""Every source a config or the validation table cites ships with the repository.

Configs and validation/cases.yaml cite docs/sources.md by anchor (``docs/sources.md#compute-tile``)
and name files of this repository (``validation/cases.yaml``, ``npusim/power/voltage.py``). Each
such file must exist and each anchor must be on its page; references to what does not ship (the
old ``../shared/reference/xdna_facts.md``, "facts §N", design-document sections, issue numbers)
are errors.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CITING = sorted((ROOT / "configs").glob("*.yaml")) + sorted((ROOT / "validation").glob("*.yaml"))
TOP = ("docs", "validation", "npusim", "configs", "tests", "notebooks", "workloads", "traces", "benchmarks")
PATH = re.compile(r"(?<![\w./-])((?:\.\./)+[\w./-]+|(?:" + "|".join(TOP) + r")/[\w./-]*\w)(#[\w-]+)?")
NOT_SHIPPED = re.compile(r"\bfacts §|xdna_facts|\bDESIGN(\.md| §)|\bissue #?\d+|\bshared/reference|\bSTYLE\.md")


def anchors(page: Path) -> set[str]:
    """The ids a Markdown page defines: explicit ``{#id}`` attributes and its headings' slugs
    (MkDocs' toc slugs: lower case, punctuation dropped, spaces as hyphens)."""
    text = page.read_text()
    found = set(re.findall(r"\{#([\w-]+)\}", text))
    for heading in re.findall(r"^#+ (.+?)(?: \{#[\w-]+\})?$", text, re.M):
        found.add(re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower()))
    return found


def references(path: Path) -> list[tuple[int, str, str]]:
    """(line, path, anchor) of every repository path ``path`` names."""
    return [(n, m.group(1).rstrip("."), (m.group(2) or "")[1:])
            for n, line in enumerate(path.read_text().splitlines(), 1) for m in PATH.finditer(line)]


@pytest.mark.parametrize("path", CITING, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_file_and_anchor_ships(path: Path) -> None:
    missing = []
    for line, ref, anchor in references(path):
        target = (ROOT / ref).resolve()
        if not target.exists() or ROOT not in target.parents:
            missing.append(f"{path.name}:{line}: {ref} is not in the repository")
        elif anchor and anchor not in anchors(target):
            missing.append(f"{path.name}:{line}: {ref} has no section #{anchor}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("path", CITING, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_cites_what_does_not_ship(path: Path) -> None:
    bad = [f"{path.name}:{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
           if NOT_SHIPPED.search(line)]
    assert not bad, "\n".join(bad)


def test_the_device_configs_cite_the_sources_page() -> None:
    for name in ("npu1.yaml", "npu2.yaml"):
        cited = {a for _, ref, a in references(ROOT / "configs" / name) if ref == "docs/sources.md"}
        assert {"array-and-clocks", "compute-tile", "memory-tile", "dma", "voltage"} <= cited, name


def test_the_checks_catch_a_bad_reference(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1  # [SPEC] docs/sources.md#no-such-section (facts §2)\nb: 2  # see docs/nowhere.md\n")
    assert [(r, a) for _, r, a in references(bad)] == [("docs/sources.md", "no-such-section"), ("docs/nowhere.md", "")]
    assert "no-such-section" not in anchors(ROOT / "docs/sources.md")
    assert NOT_SHIPPED.search(bad.read_text())
