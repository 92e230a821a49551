"""What a run writes for the plan: map, GIS layers, workbook, summary; a failed map keeps the rest."""

from __future__ import annotations

import json

import openpyxl
import pyogrio
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import EXIT_STEP_FAILED


def test_run_writes_every_deliverable(city, tmp_path):
    sc = city.write()
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(sc), "--out", str(out), "--no-siting"])
    assert r.exit_code == 0, r.output
    for f in ("map.html", "results.gpkg", "results.xlsx", "index.html", "gaps_plan.csv"):
        assert (out / f).exists(), f
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["failed_steps"] == []
    assert manifest["versions"]["planner"] != "not installed"
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["说明", "分年度学位需求表"]  # no plan: no 建设项目表
    assert "gap_primary_2025" in dict(pyogrio.list_layers(out / "results.gpkg"))
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "本次运行未做布局优化" in page and "map.html" in page


def test_a_map_that_cannot_be_written_fails_the_step_not_the_run(city, tmp_path):
    sc = city.write()
    text = sc.read_text(encoding="utf-8")
    sc.write_text(
        text + '\n[map.basemap]\nkind = "local"\npath = "no_such_tiles"\n', encoding="utf-8"
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(sc), "--out", str(out), "--no-siting"])
    assert r.exit_code == EXIT_STEP_FAILED == 4, r.output
    assert "map.html" in r.output and "no_such_tiles" in r.output
    assert not (out / "map.html").exists()
    for f in ("results.xlsx", "results.gpkg", "needs.csv", "index.html"):
        assert (out / f).exists(), f
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    failed = {s["step"]: s["error"] for s in manifest["failed_steps"]}
    assert "no_such_tiles" in failed["map"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "运行状态" in page and "学位缺口地图" not in page


def test_unknown_map_key_names_the_closest(city, tmp_path):
    sc = city.write()
    sc.write_text(
        sc.read_text(encoding="utf-8") + '\n[map]\napproval = "粤S(2025)1号"\n', encoding="utf-8"
    )
    r = CliRunner().invoke(app, ["validate", str(sc)])
    assert r.exit_code == 2 and "approval_no" in r.output
