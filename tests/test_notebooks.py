"""Every analyst notebook runs top to bottom on the demo city (papermill)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
_LOADS = re.compile(
    r"<(?:script|link|iframe|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# `make test` runs every cell of every notebook; where a notebook repeats a long step for a
# list of values it runs fewer of them (the siting trade-off: no budget, a budget that
# binds, unlimited: 3 siting runs, not 5). `make test-slow` runs it as stored as well.
FEWER = {"04_siting_tradeoffs": {"budgets_yi": [0, 10, None]}}
CASES = [pytest.param(nb, FEWER.get(nb.stem, {}), id=nb.stem) for nb in NOTEBOOKS] + [
    pytest.param(nb, {}, id=f"{nb.stem}-as-stored", marks=pytest.mark.slow)
    for nb in NOTEBOOKS
    if nb.stem in FEWER
]


@pytest.mark.parametrize(("nb", "fewer"), CASES)
def test_notebook_runs(nb, fewer, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    params = {"scenario_path": str(ROOT / "data" / "demo" / "scenario.toml"), **fewer}
    if "tuned_path" in nb.read_text(encoding="utf-8"):
        params["tuned_path"] = str(tmp_path / "tuned.toml")
    pm.execute_notebook(
        str(nb),
        str(tmp_path / nb.name),
        parameters=params,
        cwd=str(nb.parent),
        kernel_name="python3",
        progress_bar=False,
    )
    # every HTML output works offline: no script, style, image or frame from the network
    # (inlined library code may mention URLs in comments: only loading tags count)
    out = json.loads((tmp_path / nb.name).read_text(encoding="utf-8"))
    pages = [
        "".join(o["data"]["text/html"])
        for c in out["cells"]
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert not [h for h in pages if _LOADS.search(unescape(h))], nb.name
    if nb.stem.startswith("04"):
        maps = [h for h in pages if h.startswith("<iframe srcdoc=")]
        assert len(maps) == 1 and "leaflet" in maps[0].lower()


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_stored_without_outputs(nb):
    data = json.loads(nb.read_text(encoding="utf-8"))
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code)
