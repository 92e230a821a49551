"""The import layers of docs/architecture.md, enforced with import-linter.

The contracts are in pyproject.toml (``[tool.importlinter]``): the pipeline's layers
(nothing imports upward) and no import cycles inside a package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_are_kept():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    # the same package with one upward import: the norms layer importing the pipeline
    shutil.copytree(ROOT / "planner", tmp_path / "planner", ignore=shutil.ignore_patterns("_data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    norms = tmp_path / "planner" / "norms" / "__init__.py"
    norms.write_text(
        norms.read_text(encoding="utf-8") + "\nimport planner.pipeline  # noqa\n", encoding="utf-8"
    )
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and "planner.norms -> planner.pipeline" in r.stdout
