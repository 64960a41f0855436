"""Start-up: the command line loads no heavy library it does not need.

pandas (with pyarrow), Dask and matplotlib take most of a second or more to import; `npusim
--help`, `npusim run` and `npusim check` need none of them, so they are imported only where a
command or a view uses them (tables, sweeps, plots). Each check runs in a fresh interpreter,
since this test process has imported them long before.
"""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "dask", "distributed", "matplotlib", "pyarrow")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_pandas_dask_or_matplotlib() -> None:
    assert loaded_after("import npusim.cli") == []


def test_building_every_parser_loads_none_of_them_either() -> None:
    # npusim --help builds the whole parser, the sweep's and the plot's sub-parsers included
    assert loaded_after("import npusim.cli\nnpusim.cli._parser()") == []


def test_the_probe_sees_a_heavy_import() -> None:
    # the check above could pass by never seeing anything: it must see pandas once it is imported
    assert "pandas" in loaded_after("import npusim.cli\nimport npusim.stats.tables")
