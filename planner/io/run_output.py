"""Write a run's outputs and its manifest (输出成果与运行清单)."""

from __future__ import annotations

import hashlib
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyogrio

from planner.io.writers import (
    OutputFolder,
    localise,
    output_labels,
    write_csv,
    write_excel,
    write_json,
)
from planner.reports import (
    demand_capacity_chart,
    gap_before_after_chart,
    gap_by_unit_chart,
    summary_page,
)
from planner.run import RunResult, needs_wide, summary

__all__ = ["write_run", "file_sha256", "package_versions"]

#: packages whose versions go into the manifest
MANIFEST_PACKAGES = (
    "planner",
    "numpy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "scipy",
    "scikit-learn",
    "statsmodels",
    "highspy",
    "folium",
    "pydantic",
    "openpyxl",
)

#: Excel sheet names (Chinese) of the result tables
SHEETS = {
    "needs_list_primary": "学位缺口清单（小学）",
    "needs_list_junior": "学位缺口清单（初中）",
    "needs": "分年度学位需求",
    "needs_city": "全市合计",
    "compliance": "学校达标情况",
    "class_sizes": "分年级班额",
    "rooms": "专用教室",
    "equity_schools": "优质均衡学校指标",
    "equity_summary": "差异系数",
    "school_capacity": "学校学位供给",
    "forecast_method": "预测方法选择",
    "forecast_accuracy": "预测方法样本外误差",
    "forecast_births": "出生预测",
    "forecast_school_age": "学龄人口预测",
    "forecast_backtest": "预测回测",
    "forecast_intervals": "预测区间",
    "projects": "规划建设项目",
    "gaps_after": "规划实施后学位缺口",
    "unserved": "未满足需求",
    "siting_summary": "优化求解摘要",
    "siting_checks": "优化前检查",
    "norms": "采用标准",
    "inputs_summary": "输入数据概况",
    "validation": "数据问题清单",
}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in MANIFEST_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _input_files(result: RunResult) -> list[Path]:
    sc = result.inputs.scenario
    files = []
    for name, _spec in sc.inputs.items():
        p = sc.input_path(name)
        files.append(p)
        if p.suffix.lower() == ".shp":
            files += [
                p.with_suffix(s)
                for s in (".dbf", ".shx", ".prj", ".cpg")
                if p.with_suffix(s).exists()
            ]
    return files


def write_run(
    result: RunResult,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write every output of a run to ``out_dir``, atomically.

    Files: the result tables as tidy CSV (English headers), ``results.xlsx`` (Chinese
    headers with units, one sheet per table, frozen header row), the canonical inputs
    (``inputs/``: spatial layers in one WGS84 GeoPackage, tables as CSV), the
    validation report, the norms in force and ``manifest.json`` (scenario, input file
    hashes, package versions, timings).
    """
    sc = result.inputs.scenario
    inputs = _input_files(result)
    protect = [*inputs, Path(sc.source_file)]
    with OutputFolder(out_dir, protect=protect, overwrite=overwrite) as tmp:
        labels = output_labels()
        tables = {
            "needs_list_primary": needs_wide(result.tables["needs"], "primary"),
            "needs_list_junior": needs_wide(result.tables["needs"], "junior"),
            **result.tables,
        }
        tables["norms"] = result.norms.to_frame()
        tables["inputs_summary"] = result.inputs.summary()
        tables["validation"] = result.inputs.report.to_frame()
        for name, df in tables.items():
            write_csv(df, tmp / f"{name}.csv")
        order = sorted(tables, key=lambda k: list(SHEETS).index(k) if k in SHEETS else 99)
        write_excel(
            {SHEETS.get(k, k): localise(tables[k], labels, table=k) for k in order},
            tmp / "results.xlsx",
        )
        canon = tmp / "inputs"
        canon.mkdir()
        for name, df in result.inputs.tables.items():
            if "geometry" in df.columns:
                pyogrio.write_dataframe(df, canon / "inputs.gpkg", layer=name, driver="GPKG")
            else:
                write_csv(df, canon / f"{name}.csv")
        for name, layer in result.layers.items():
            pyogrio.write_dataframe(layer, tmp / "results.gpkg", layer=name, driver="GPKG")
        _write_report(result, tmp)
        manifest = {
            "planner_manifest": 1,
            "scenario": {"file": str(Path(sc.source_file).resolve()), **sc.model_dump(mode="json")},
            "inputs": {
                str(p): {"sha256": file_sha256(p), "bytes": p.stat().st_size} for p in inputs
            },
            "norms": result.norms.name,
            "compute_crs": result.inputs.compute_crs.to_string()
            if result.inputs.compute_crs
            else None,
            "problems": {
                "errors": len(result.inputs.report.errors),
                "warnings": len(result.inputs.report.warnings),
            },
            "versions": package_versions(),
            "command": sys.argv,
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "timings_s": {k: round(v, 3) for k, v in {**result.timings, **(timings or {})}.items()},
            "forecast": _forecast_record(result.tables),
            "outputs": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
        }
        write_json(manifest, tmp / "manifest.json")
    return Path(out_dir)


def _forecast_record(tables: dict[str, pd.DataFrame]) -> dict[str, object] | None:
    """The forecast methods chosen and their out-of-sample error, for the manifest."""
    from planner.forecast.pipeline import forecast_record

    return forecast_record(tables)


def _write_report(result: RunResult, tmp: Path) -> None:
    """Charts (PNG) and the HTML summary page ``index.html``."""
    import matplotlib.pyplot as plt

    sc = result.inputs.scenario
    charts_dir = tmp / "charts"
    charts_dir.mkdir()
    city = result.tables["needs_city"]
    needs = result.tables["needs"]
    years = result.milestone_years()
    charts: list[tuple[str, str]] = []
    zh = {"primary": "小学", "junior": "初中"}
    after = result.tables.get("gaps_after")
    for stage in ("primary", "junior"):
        cap_after = None
        if after is not None:
            # seats the plan adds by each period year, carried to the years until the next
            added = after.loc[after["stage"] == stage].groupby("year")["added_seats"].sum()
            cap = city.loc[city["stage"] == stage].set_index("year")["capacity"]
            added = added.reindex(cap.index).ffill().fillna(0.0)
            if (added > 0).any():
                cap_after = (cap + added).loc[added.index[added > 0].min() :]
        fig = demand_capacity_chart(city, stage, capacity_after=cap_after)
        path = charts_dir / f"demand_capacity_{stage}.png"
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
        charts.append(
            (f"{zh[stage]}学位需求与供给 demand and capacity ({stage})", f"charts/{path.name}")
        )
        y = years[-1]
        fig = gap_by_unit_chart(needs, stage, y)
        path = charts_dir / f"gap_by_unit_{stage}_{y}.png"
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
        charts.append((f"{y}年{zh[stage]}各单元学位缺口 seat gap by unit", f"charts/{path.name}"))
        if after is not None:
            fig = gap_before_after_chart(after, stage)
            path = charts_dir / f"gap_before_after_{stage}.png"
            fig.savefig(path, metadata={"Software": None})
            plt.close(fig)
            charts.append(
                (f"{zh[stage]}学位缺口：规划实施前后 before/after the plan", f"charts/{path.name}")
            )
    s = summary(result)
    c = city.set_index(["stage", "year"])
    headline = pd.DataFrame(
        [
            {
                "学段 stage": zh[st],
                **{str(y): f"{int(c.loc[(st, y), 'seat_gap']):,}" for y in years},
            }
            for st in ("primary", "junior")
        ]
    )
    last = needs.loc[needs["year"] == years[-1]].nlargest(10, "seat_gap")
    top = last[
        ["unit_id", "name", "stage", "year", "required_seats", "capacity", "seat_gap"]
    ].copy()
    top["stage"] = top["stage"].map(zh)
    eq = result.tables["equity_summary"][
        ["stage", "indicator_zh", "cv", "cv_limit", "cv_ok"]
    ].copy()
    eq["stage"] = eq["stage"].map(zh)
    eq["cv_ok"] = eq["cv_ok"].map({True: "达标 ok", False: "超标 over"})
    files = [(p.name, p.name) for p in sorted(tmp.glob("*.csv"))] + [
        ("results.xlsx", "results.xlsx")
    ]
    maps = [("学位缺口地图 seat-gap map", "map.html")]
    page = summary_page(
        title=f"{sc.name} — 义务教育学位规划测算成果",
        scenario_name=sc.name,
        base_year=sc.base_year,
        headline=headline,
        top_gaps=top,
        compliance={
            "大班额学校数 schools with oversized classes": s["oversized_class_schools"],
            "大校额学校数 oversized schools": s["oversized_schools"],
        },
        equity=eq,
        problems={
            "errors": len(result.inputs.report.errors),
            "warnings": len(result.inputs.report.warnings),
        },
        files=files,
        charts=charts,
        maps=maps,
    )
    (tmp / "index.html").write_text(page, encoding="utf-8")
    _write_map(result, tmp)


def _write_map(result: RunResult, tmp: Path) -> None:
    """The offline seat-gap map (``map.html``); a missing asset cache only warns."""
    import warnings

    from planner.maps import AssetError, gap_map, save_offline, siting_layers

    try:
        save_offline(gap_map(result, **siting_layers(result)), tmp / "map.html")
    except AssetError as exc:
        warnings.warn(f"map.html not written: {exc}", stacklevel=2)
