"""Scenario comparison: Zhongshan's 95/45 against Guangdong's 80/40 on the demo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from planner.cli import app

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def test_compare_higher_norm_never_lowers_requirement(tmp_path):
    text = (DEMO / "scenario.toml").read_text(encoding="utf-8")
    # the variant lives elsewhere, so its input paths are made absolute
    variant = text.replace('norms = "guangdong"', 'norms = "zhongshan_urban"')
    variant = variant.replace('path = "', f'path = "{DEMO.as_posix()}/')
    (tmp_path / "zs.toml").write_text(variant, encoding="utf-8")
    r = CliRunner()
    assert (
        r.invoke(
            app, ["run", str(DEMO / "scenario.toml"), "--out", str(tmp_path / "a"), "--no-siting"]
        ).exit_code
        == 0
    )
    res = r.invoke(
        app, ["run", str(tmp_path / "zs.toml"), "--out", str(tmp_path / "b"), "--no-siting"]
    )
    assert res.exit_code == 0, res.output
    res = r.invoke(
        app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]
    )
    assert res.exit_code == 0, res.output
    city = pd.read_csv(tmp_path / "c" / "compare_city.csv", encoding="utf-8-sig")
    diff = next(c for c in city.columns if c.startswith("required_seats (B − A"))
    assert (city[diff] > 0).all()  # 95/45 asks for more seats everywhere, every year
    units = pd.read_csv(tmp_path / "c" / "compare_units.csv", encoding="utf-8-sig")
    assert len(units) > 0 and (units["seat_gap (B − A)"] >= 0).all()
    assert (tmp_path / "c" / "compare.xlsx").exists()
