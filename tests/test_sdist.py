"""The sdist: unpacked, installed and tested, its tests collect and pass (checked by hand with
`python -m build --sdist`; here, that it ships every path the tests read)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_sdist_ships_everything_the_tests_read() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = set(pyproject["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    read = {
        name
        for path in (ROOT / "tests").rglob("*.py")
        if path != Path(__file__).resolve()
        for name in re.findall(r'ROOT / "([^"/]+)"', path.read_text(encoding="utf-8"))
    }
    assert {"benchmarks", "examples", "tests", "tools", "README.md"} <= read
    assert read <= include, f"add {sorted(read - include)} to [tool.hatch.build.targets.sdist] include"
