"""`planner run` with siting writes the project list, the gap after the plan and catchments."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from typer.testing import CliRunner

from planner.cli import app

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def test_run_with_siting_writes_projects(tmp_path):
    text = (
        (DEMO / "scenario.toml")
        .read_text(encoding="utf-8")
        .replace('path = "', f'path = "{DEMO.as_posix()}/')
    )
    text = text.replace(
        "[siting]\n",
        "[siting]\ngrid_m = 3000.0\nperiods = [2030, 2035]\nmip_gap = 0.01\n",
    ).replace("time_limit_s = 600", "time_limit_s = 300.0")
    assert "grid_m = 3000.0" in text and "time_limit_s = 300.0" in text
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig")
    assert len(projects) > 0 and set(projects["kind"]) <= {"new", "expansion"}
    assert projects["year"].isin([2030, 2035]).all()
    summary = pd.read_csv(out / "siting_summary.csv", encoding="utf-8-sig").iloc[0]
    assert summary["best_bound"] <= summary["objective"] + 1e-6
    after = pd.read_csv(out / "gaps_after.csv", encoding="utf-8-sig")
    assert (after["seat_gap_after"] <= after["seat_gap"]).all()
    # one catchment layer per plan period (the periods the run has), with its QGIS style
    layers = [n for n, _ in pyogrio.list_layers(out / "results.gpkg") if n.startswith("catch")]
    assert layers and all(n.split("_")[1] in {"2030", "2035"} for n in layers)
    catch = gpd.read_file(out / "results.gpkg", layer=max(layers))
    assert len(catch) > 0 and catch.crs.to_epsg() == 4326
    assert "规划建设项目" in pd.ExcelFile(out / "results.xlsx").sheet_names
