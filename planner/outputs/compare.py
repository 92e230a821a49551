"""Read two run folders and write their comparison (情景比较的读写).

``compare.xlsx`` has Chinese headers with the English names alongside; the map page puts
both runs' maps side by side on one classed scale, each titled with its scenario and
norms.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.maps.assets import AssetError
from planner.maps.classify import scale_for
from planner.maps.compare import side_by_side
from planner.maps.offline import external_urls
from planner.outputs.diff import compare_runs
from planner.outputs.writers import (
    MANIFEST,
    OutputFolder,
    output_labels,
    write_csv,
    write_excel,
    write_json,
)
from planner.reports.plan_tables import PlanSheet

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


def norms_note(folder: str | Path) -> str:
    """The norms a run used, for the comparison's titles: name and seats per 1,000.

    ``广东省默认标准（guangdong）：千人学位数 小学 80 / 初中 40 个``; what the run folder
    holds (``manifest.json``, ``norms.csv``), the bundled title when the name is one.
    """
    folder = Path(folder)
    try:
        name = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("norms", "")
    except (OSError, ValueError):
        name = ""
    title = name
    try:
        from planner.inputs.norms import load_norms

        title = f"{load_norms(name).meta.get('title', name)}（{name}）"
    except Exception:  # a norms file of the run's own folder: its name is enough
        pass
    per = {}
    p = folder / "norms.csv"
    if p.exists():
        n = pd.read_csv(p, encoding="utf-8-sig", dtype=str).set_index("key")["value"]
        per = {s: n.get(f"seats_per_thousand.{s}") for s in ("primary", "junior")}
    if per.get("primary") and per.get("junior"):
        return f"{title}：千人学位数 小学 {per['primary']} / 初中 {per['junior']} 个"
    return title


_SUFFIX = re.compile(r"^(?P<col>\w+) \((?P<side>A|B|B − A)\)$")


def bilingual(df: pd.DataFrame, labels: dict) -> PlanSheet:
    """A comparison table with Chinese headers, the English name alongside.

    ``seat_gap (B − A)`` → ``学位缺口（B − A） seat_gap (B − A)``; stages in Chinese;
    costs in 万元 (``xlsx_scale``); years without thousands separators.
    """
    out = df.copy()
    cols = labels.get("columns", {})
    names, formats = {}, {}
    for c in out.columns:
        m = _SUFFIX.match(str(c))
        base, side = (m["col"], m["side"]) if m else (str(c), None)
        lab = cols.get(base)
        if not lab:
            continue
        unit = lab.get("unit", "")
        if lab.get("xlsx_scale") is not None:
            out[c] = pd.to_numeric(out[c], errors="coerce") * float(lab["xlsx_scale"])
            unit = lab.get("xlsx_unit", unit)
        zh = lab["zh"] + (f"（{side}）" if side else "") + (f"（{unit}）" if unit else "")
        names[c] = f"{zh} {c}"
        if lab.get("format"):
            formats[names[c]] = lab["format"]
    for c, mapping in labels.get("values", {}).items():
        if c in out.columns:
            out[c] = out[c].map(lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else v)
    return PlanSheet(frame=out.rename(columns=names), formats=formats, autofilter=True)


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

    CSV tables and ``compare.xlsx`` (Chinese headers, English alongside); when both
    runs have a map, also ``compare_map.html``: the two maps side by side on one classed
    scale, each titled with its scenario and norms, panned and zoomed together.
    """
    a, b = Path(a), Path(b)
    name_a, ta = read_run(a)
    name_b, tb = read_run(b)
    diff = compare_runs(ta, tb, names=(name_a, name_b))
    pages = _map_pages(a, b)
    page = None
    if pages is not None:
        scale = scale_for((ta["needs"], ta.get("projects")), (tb["needs"], tb.get("projects")))
        page = side_by_side(
            *pages,
            name_a=name_a,
            name_b=name_b,
            norms_a=norms_note(a),
            norms_b=norms_note(b),
            scale=scale,
        )
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
        labels = output_labels()
        scen = diff["scenarios"].assign(norms=[norms_note(a), norms_note(b)])
        sheets = {
            "情景 scenarios": bilingual(scen.rename(columns={"norms": "norms_used"}), labels),
            "全市对比 city": bilingual(diff["city"], labels),
            "单元变化 units": bilingual(diff["units"], labels),
        }
        if "projects" in diff:
            sheets["项目对比 projects"] = bilingual(diff["projects"], labels)
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
