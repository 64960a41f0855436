"""The package type-checks under mypy --strict with the pydantic plugin (pyproject [tool.mypy])."""
from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_is_clean() -> None:
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "npusim")])
    assert status == 0, out + err
