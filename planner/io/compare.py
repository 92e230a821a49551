"""Read two run folders and write their comparison (情景比较的读写)."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from planner.compare import compare_runs
from planner.errors import InputError
from planner.io.writers import MANIFEST, OutputFolder, write_csv, write_excel, write_json
from planner.maps.assets import AssetError
from planner.maps.compare import side_by_side
from planner.maps.offline import external_urls

__all__ = ["read_run", "write_comparison"]

RUN_TABLES = ("needs_city", "needs", "projects", "unserved")


def read_run(folder: str | Path) -> tuple[str, dict[str, pd.DataFrame]]:
    """The scenario name and result tables of a ``planner run`` output folder."""
    folder = Path(folder)
    manifest = folder / "manifest.json"
    if not manifest.exists():
        raise InputError(
            f"{folder}: not a planner run folder (no manifest.json). Give the --out folder of "
            "a `planner run`."
        )
    name = json.loads(manifest.read_text(encoding="utf-8"))["scenario"].get("name", folder.name)
    tables = {}
    for t in RUN_TABLES:
        p = folder / f"{t}.csv"
        if p.exists():
            tables[t] = pd.read_csv(p, encoding="utf-8-sig", dtype={"unit_id": str})
    if "needs_city" not in tables or "needs" not in tables:
        raise InputError(f"{folder}: needs.csv / needs_city.csv missing; rerun `planner run`.")
    return name, tables


def _map_pages(a: Path, b: Path) -> tuple[str, str] | None:
    """The two runs' ``map.html`` pages, or None when either run has no map."""
    pa, pb = a / "map.html", b / "map.html"
    if not (pa.exists() and pb.exists()):
        return None
    return pa.read_text(encoding="utf-8"), pb.read_text(encoding="utf-8")


def write_comparison(
    a: str | Path, b: str | Path, out: str | Path, overwrite: bool = False
) -> Path:
    """Compare two run folders and write the comparison to ``out``.

    CSV tables and ``compare.xlsx``; when both runs have a map, also
    ``compare_map.html``: the two maps side by side, panned and zoomed together.
    """
    a, b = Path(a), Path(b)
    name_a, ta = read_run(a)
    name_b, tb = read_run(b)
    diff = compare_runs(ta, tb, names=(name_a, name_b))
    pages = _map_pages(a, b)
    page = None
    if pages is not None:
        page = side_by_side(*pages, name_a=name_a, name_b=name_b)
        # the frames add no network access: every URL in the page was in one of the maps
        # (compared in the escaped form the frames carry them in)
        known = external_urls(html.escape(pages[0] + "\n" + pages[1], quote=True))
        extra = set(external_urls(page)) - set(known)
        if extra:
            raise AssetError(f"the comparison page would load {sorted(extra)[:3]}")
    with OutputFolder(out, protect=[a, b], overwrite=overwrite) as tmp:
        if page is not None:
            (tmp / "compare_map.html").write_text(page, encoding="utf-8", newline="\n")
        for k, df in diff.items():
            write_csv(df, tmp / f"compare_{k}.csv")
        sheets = {
            "情景 scenarios": diff["scenarios"],
            "全市对比 city": diff["city"],
            "单元变化 units": diff["units"],
        }
        if "projects" in diff:
            sheets["项目对比 projects"] = diff["projects"]
        write_excel(sheets, tmp / "compare.xlsx")
        write_json(
            {
                "planner_compare": 1,
                "runs": [str(a.resolve()), str(b.resolve())],
                "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            tmp / MANIFEST,
        )
    return Path(out)
