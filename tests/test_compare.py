"""Scenario comparison: Zhongshan's 95/45 against Guangdong's 80/40 on the demo."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
from typer.testing import CliRunner

from planner.cli import app
from planner.outputs.diff import compare_runs

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def test_compare_higher_norm_never_lowers_requirement(tmp_path, demo_run_dir):
    text = (DEMO / "scenario.toml").read_text(encoding="utf-8")
    # the variant lives elsewhere, so its input paths are made absolute
    variant = text.replace('norms = "guangdong"', 'norms = "zhongshan_urban"')
    variant = variant.replace('path = "', f'path = "{DEMO.as_posix()}/')
    (tmp_path / "zs.toml").write_text(variant, encoding="utf-8")
    r = CliRunner()
    # A: `planner run data/demo/scenario.toml --no-siting`, once per session (conftest.py)
    a, _ = demo_run_dir
    res = r.invoke(
        app, ["run", str(tmp_path / "zs.toml"), "--out", str(tmp_path / "b"), "--no-siting"]
    )
    assert res.exit_code == 0, res.output
    res = r.invoke(app, ["compare", str(a), str(tmp_path / "b"), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    city = pd.read_csv(tmp_path / "c" / "compare_city.csv", encoding="utf-8-sig")
    diff = next(c for c in city.columns if c.startswith("required_seats (B − A"))
    assert (city[diff] > 0).all()  # 95/45 asks for more seats everywhere, every year
    units = pd.read_csv(tmp_path / "c" / "compare_units.csv", encoding="utf-8-sig")
    assert len(units) > 0 and (units["seat_gap (B − A)"] >= 0).all()
    wb = openpyxl.load_workbook(tmp_path / "c" / "compare.xlsx")
    head = [c.value for c in wb["全市对比 city"][1]]
    assert "学段 stage" in head and "学位缺口（B − A）（个） seat_gap (B − A)" in head
    scen = [[c.value for c in r] for r in wb["情景 scenarios"].iter_rows()]
    assert scen[0] == ["情景 label", "情景名称 scenario", "采用标准 norms_used"]
    assert "千人学位数 小学 95 / 初中 45 个" in scen[2][2] and "（zhongshan_urban）" in scen[2][2]
    assert wb["全市对比 city"]["B2"].number_format == "0"  # years without a separator
    page = (tmp_path / "c" / "compare_map.html").read_text(encoding="utf-8")
    assert page.count("<iframe") == 2 and "planner: side-by-side sync" in page
    # one scale for both maps, each side titled with its scenario and norms
    assert page.count("window.PLANNER_SCALE_OVERRIDE = {") == 2
    heads = re.findall(r"<h2>(.*?)</h2>", page)
    assert "小学 80 / 初中 40" in heads[0] and "小学 95 / 初中 45" in heads[1]


def _run(gap: int, projects: list[tuple[int, float]], unserved: list[tuple]) -> dict:
    needs_city = pd.DataFrame(
        {
            "stage": ["primary"],
            "year": [2030],
            "norm_seats": [1000],
            "required_seats": [1000],
            "capacity": [1000 - gap],
            "seat_gap": [gap],
            "surplus": [0],
        }
    )
    needs = needs_city.assign(unit_id="U1", name="东城")
    return {
        "needs_city": needs_city,
        "needs": needs,
        "projects": pd.DataFrame(projects, columns=["seats", "cost"]),
        "unserved": pd.DataFrame(unserved, columns=["unit_id", "stage", "year", "reason", "seats"]),
    }


def test_compare_projects_counts_cost_and_unserved_in_the_last_period():
    a = _run(300, [(450, 2.0e7), (900, 7.2e7)], [("U1", "primary", 2026, "reach", 80.0)])
    b = _run(
        200,
        [(900, 7.2e7)],
        [
            ("U1", "primary", 2026, "reach", 10.0),
            ("U1", "primary", 2030, "budget", 120.5),
            ("U1", "junior", 2030, "capacity", 30.0),
        ],
    )
    out = compare_runs(a, b, names=("甲", "乙"))
    p = out["projects"].set_index("scenario")
    assert p.loc["A", "projects"] == 2 and p.loc["B", "projects"] == 1
    assert p.loc["B − A", "seats"] == -450 and p.loc["B − A", "cost"] == -2.0e7
    # A's last period is 2026 (80 seats); B's is 2030 (120.5 primary, 30 junior)
    assert p.loc["A", "unserved_primary"] == 80.0 and p.loc["A", "unserved_junior"] == 0.0
    assert p.loc["B", "unserved_primary"] == 120.5 and p.loc["B", "unserved_junior"] == 30.0
    assert p.loc["B − A", "unserved_primary"] == 40.5
    city = out["city"].set_index(["stage", "year"])
    assert city.loc[("primary", 2030), "seat_gap (B − A)"] == -100
