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

from planner.outputs.summary import needs_wide, summary
from planner.outputs.workbook import plan_gaps, site_land, workbook_sheets
from planner.outputs.writers import (
    OutputFolder,
    output_labels,
    write_csv,
    write_excel,
    write_json,
)
from planner.pipeline import CLOCK_MESSAGE, RunResult, run_step
from planner.reports import (
    demand_capacity_chart,
    gap_before_after_chart,
    gap_by_unit_chart,
    summary_page,
)
from planner.reports.plan_tables import plan_key_figures

__all__ = ["write_run", "file_sha256", "input_files", "package_versions"]

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
    "excluded_rows": "未纳入计算的数据行",
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
        if name == "planner":  # distributed as school-seat-planner; the import name counts
            import planner

            out[name] = planner.__version__
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def input_files(scenario) -> list[Path]:
    """Every file a scenario reads (with a Shapefile's side files): hashed and protected."""
    files = []
    for name, _spec in scenario.inputs.items():
        p = scenario.input_path(name)
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
    out_dir: str | Path | OutputFolder,
    *,
    overwrite: bool = False,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write every output of a run to ``out_dir``, atomically.

    Every output is a step of its own (:func:`planner.pipeline.run_step`): one that fails is
    recorded (``run_status.csv``, the manifest's ``failed_steps``) and the rest is written.

    Files: the result tables as tidy CSV (English headers), ``results.xlsx`` (the plan
    draft's 说明 / 建设项目表 / 分年度学位需求表, then one sheet per table with Chinese
    headers, units and number formats, set up for printing), the canonical inputs
    (``inputs/``: spatial layers in one WGS84 GeoPackage, tables as CSV), the
    validation report and the rows kept out (``excluded_rows.csv``), the norms in force,
    ``run_status.csv`` (how each step ended) and ``manifest.json`` (scenario, input file
    hashes, package versions, timings, steps).

    Each output (CSV, Excel, canonical inputs, layers, charts, map, HTML) is written as
    its own step: one that fails is recorded in ``result.steps`` and the others are
    still written. A computation step that failed leaves its tables out.

    Parameters
    ----------
    result : RunResult
        The computed run.
    out_dir : path or OutputFolder
        The output folder, or an :class:`~planner.outputs.writers.OutputFolder` made (checked
        and locked) before computing.
    overwrite : bool
        Replace a previous planner output in ``out_dir`` (ignored for an OutputFolder).
    timings : dict, optional
        Extra timings for the manifest (``load_inputs``).
    """
    sc = result.inputs.scenario
    inputs = input_files(sc)
    folder = (
        out_dir
        if isinstance(out_dir, OutputFolder)
        else OutputFolder(out_dir, protect=[*inputs, Path(sc.source_file)], overwrite=overwrite)
    )
    with folder as tmp:
        tables: dict[str, pd.DataFrame] = {}
        if "needs" in result.tables:
            tables["needs_list_primary"] = needs_wide(result.tables["needs"], "primary")
            tables["needs_list_junior"] = needs_wide(result.tables["needs"], "junior")
        tables.update(result.tables)
        tables["norms"] = result.norms.to_frame()
        tables["inputs_summary"] = result.inputs.summary()
        tables["validation"] = result.inputs.report.to_frame()
        tables["excluded_rows"] = result.inputs.excluded
        if "needs" in result.tables:
            tables["gaps_plan"] = plan_gaps(result)

        def _csv() -> None:
            for name, df in tables.items():
                write_csv(df, tmp / f"{name}.csv")

        run_step(result, "csv", _csv)

        def _excel() -> None:
            labels = output_labels()
            order = sorted(tables, key=lambda k: list(SHEETS).index(k) if k in SHEETS else 99)
            write_excel(
                workbook_sheets(result, {k: tables[k] for k in order}, labels, SHEETS),
                tmp / "results.xlsx",
            )

        run_step(result, "excel", _excel)

        def _inputs_copy() -> None:
            canon = tmp / "inputs"
            canon.mkdir()
            for name, df in result.inputs.tables.items():
                if "geometry" in df.columns:
                    pyogrio.write_dataframe(df, canon / "inputs.gpkg", layer=name, driver="GPKG")
                else:
                    write_csv(df, canon / f"{name}.csv")

        run_step(result, "inputs_copy", _inputs_copy)
        scale = None
        if "needs" in result.tables:
            from planner.maps.classify import scale_for

            scale = scale_for((result.tables["needs"], result.tables.get("projects")))

        def _layers() -> None:
            from planner.outputs.gis import write_results_gpkg

            write_results_gpkg(result, tmp / "results.gpkg", scale=scale)

        run_step(result, "layers", _layers, needs=("gaps",))
        ok, charts = run_step(result, "charts", lambda: _write_charts(result, tmp), needs=("gaps",))
        run_step(
            result, "map", lambda: _write_map(result, tmp, scale), needs=("gaps", "compliance")
        )
        ok_html, _ = run_step(
            result,
            "html",
            lambda: _write_index(result, tmp, charts if ok else []),
            needs=("gaps", "compliance", "equity"),
        )
        if not ok_html:
            (tmp / "index.html").write_text(_status_page(result, tmp), encoding="utf-8")
        status = result.status_table()
        write_csv(status, tmp / "run_status.csv")
        manifest = {
            "planner_manifest": 1,
            "scenario": {"file": str(Path(sc.source_file).resolve()), **sc.model_dump(mode="json")},
            "inputs": {
                str(p): {"sha256": file_sha256(p), "bytes": p.stat().st_size}
                for p in inputs
                if p.exists()
            },
            "norms": result.norms.name,
            "compute_crs": result.inputs.compute_crs.to_string()
            if result.inputs.compute_crs
            else None,
            "problems": {
                "errors": len(result.inputs.report.errors),
                "warnings": len(result.inputs.report.warnings),
                "rows_kept_out": len(result.inputs.excluded),
            },
            "status": _run_status_word(result),
            "exit_code": result.exit_code(),
            "failed_steps": [
                {"step": s.step, "error": s.message, "what_to_do": s.hint}
                for s in result.failed_steps
            ],
            "steps": [
                {
                    "step": s.step,
                    "status": s.status,
                    "seconds": round(s.seconds, 3),
                    **({"message": s.message} if s.message else {}),
                    **({"what_to_do": s.hint} if s.hint else {}),
                    **({"traceback": s.detail} if s.detail else {}),
                }
                for s in result.steps
            ],
            "versions": package_versions(),
            "command": sys.argv,
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "timings_s": {k: round(v, 3) for k, v in {**result.timings, **(timings or {})}.items()},
            "forecast": _forecast_record(result.tables),
            "outputs": sorted(
                [str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()] + ["manifest.json"]
            ),
        }
        if result.stopped_by_clock:
            manifest["siting"] = CLOCK_MESSAGE
        write_json(manifest, tmp / "manifest.json")
    return folder.target


def _forecast_record(tables: dict[str, pd.DataFrame]) -> dict[str, object] | None:
    """The forecast methods chosen and their out-of-sample error, for the manifest."""
    from planner.forecast.pipeline import forecast_record

    return forecast_record(tables)


def _run_status_word(result: RunResult) -> str:
    if result.failed_steps:
        return "step_failed"
    if result.stopped_by_clock:
        return "stopped_by_clock"
    return "complete"


def _write_charts(result: RunResult, tmp: Path) -> list[tuple[str, str]]:
    """Charts (PNG); one warning when labels need a Chinese font that is not installed."""
    import warnings

    import matplotlib.pyplot as plt

    charts_dir = tmp / "charts"
    charts_dir.mkdir()
    city = result.tables["needs_city"]
    needs = result.tables["needs"]
    years = result.milestone_years()
    charts: list[tuple[str, str]] = []
    zh = {"primary": "小学", "junior": "初中"}
    after = result.tables.get("gaps_after")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
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
            charts.append(
                (f"{y}年{zh[stage]}各单元学位缺口 seat gap by unit", f"charts/{path.name}")
            )
            if after is not None:
                fig = gap_before_after_chart(after, stage)
                path = charts_dir / f"gap_before_after_{stage}.png"
                fig.savefig(path, metadata={"Software": None})
                plt.close(fig)
                charts.append(
                    (
                        f"{zh[stage]}学位缺口：规划实施前后 before/after the plan",
                        f"charts/{path.name}",
                    )
                )
    glyphs = [w for w in caught if "Glyph" in str(w.message) and "missing" in str(w.message)]
    font = [w for w in caught if "no Chinese font" in str(w.message)]
    for w in caught:
        if w not in glyphs and w not in font:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if glyphs or font:
        warnings.warn(
            "no Chinese font for the charts: labels are in English and Chinese names show as "
            f"boxes ({len(glyphs)} missing glyphs). Install one, e.g. the Debian/Ubuntu "
            "package fonts-noto-cjk or fonts-wqy-microhei.",
            stacklevel=2,
        )
    return charts


def _write_index(result: RunResult, tmp: Path, charts: list[tuple[str, str]]) -> None:
    """The HTML summary page ``index.html`` (with the run status when a step did not end ok)."""
    sc = result.inputs.scenario
    city = result.tables["needs_city"]
    needs = result.tables["needs"]
    years = result.milestone_years()
    zh = {"primary": "小学", "junior": "初中"}
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
    eq["cv_ok"] = eq["cv_ok"].map({True: "达标 ok", False: "超标 over"}).fillna("无数据 no data")
    files = [(p.name, p.name) for p in sorted(tmp.glob("*.csv"))]
    if (tmp / "results.xlsx").exists():
        files.append(("results.xlsx", "results.xlsx"))
    files += [(n, n) for n in ("results.gpkg",) if (tmp / n).exists()]
    maps = [("学位缺口地图 seat-gap map", "map.html")] if (tmp / "map.html").exists() else []
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
        plan=plan_key_figures(result, site_land=site_land(result)),
        status=_status_rows(result),
    )
    (tmp / "index.html").write_text(page, encoding="utf-8")


def _status_rows(result: RunResult) -> pd.DataFrame | None:
    """The steps that did not end ok (for the summary page), or None."""
    st = result.status_table()
    st = st.loc[st["status"] != "ok", ["step", "status", "message", "what_to_do"]]
    return st if len(st) else None


def _status_page(result: RunResult, tmp: Path) -> str:
    """A minimal ``index.html``: the run status and the files (when the full page failed)."""
    from planner.reports.html import esc

    st = result.status_table()
    rows = "".join(
        f"<tr><td>{esc(r.step)}</td><td>{esc(r.status)}</td><td>{esc(r.message)}</td>"
        f"<td>{esc(r.what_to_do)}</td></tr>"
        for r in st.itertuples()
    )
    files = "".join(
        f"<li><a href='{esc(p.name)}'>{esc(p.name)}</a></li>"
        for p in sorted(tmp.iterdir())
        if p.is_file()
    )
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{esc(result.inputs.scenario.name)} — 运行状态 run status</title></head><body>"
        f"<h1>{esc(result.inputs.scenario.name)} — 运行状态 run status</h1>"
        "<table border='1'><tr><th>step</th><th>status</th><th>message</th>"
        f"<th>what to do</th></tr>{rows}</table><h2>文件 Files</h2><ul>{files}</ul>"
        "</body></html>\n"
    )


def _write_map(result: RunResult, tmp: Path, scale=None) -> None:
    """The offline seat-gap map (``map.html``, as the scenario's ``[map]`` says).

    The map's assets ship with the package, so a map that cannot be written is an error
    (:class:`planner.maps.MapError` / :class:`planner.maps.AssetError`), never a warning.
    """
    from planner.maps import gap_map, save_offline

    save_offline(gap_map(result, scale=scale), tmp / "map.html")
