"""The demo city: deterministic, calibrated, and clean under validation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def _generator():
    spec = importlib.util.spec_from_file_location("demo_generate", DEMO / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generator_is_byte_identical_and_matches_committed_files(tmp_path):
    gen = _generator()
    a = gen.generate(tmp_path / "a", verbose=False)
    b = gen.generate(tmp_path / "b", verbose=False)
    for name, path in a.items():
        assert path.read_bytes() == b[name].read_bytes(), name
        committed = DEMO / path.name
        if path.suffix == ".gpkg":
            # GeoPackage bytes depend on the GDAL build: compare content across machines
            pd.testing.assert_frame_equal(
                pd.DataFrame(gpd.read_file(committed).to_wkt()),
                pd.DataFrame(gpd.read_file(path).to_wkt()),
            )
        else:
            # the committed demo is exactly what the generator makes
            assert committed.read_bytes() == path.read_bytes(), f"regenerate {path.name}"


@pytest.fixture
def demo(demo_inputs):
    """The demo's validated inputs (loaded once per session, conftest.py: read only)."""
    return demo_inputs[1]


def test_demo_validates_without_problems(demo):
    assert [str(p) for p in demo.report.problems] == []
    assert demo.compute_crs.to_epsg() == 4547


def test_demo_calibration(demo):
    pop = demo["population"]
    base = pop[pop["year"] == 2025]["population"].sum()
    assert 1_000_000 <= base <= 1_500_000
    assert pop["year"].nunique() >= 10
    age = demo["population_by_age"]
    a25 = age[age["year"] == 2025]
    child = a25[a25["age_lo"] <= 14]["population"].sum() / a25["population"].sum()
    assert 0.17 <= child <= 0.21  # Guangdong 2020 census: 18.85 %
    units = demo["units"]
    assert 18 <= len(units) <= 22 and set(units["kind"]) == {"urban", "town", "rural"}
    s = demo["schools"]
    assert 130 <= (s["stage"] == "primary").sum() <= 170
    assert 50 <= (s["stage"] == "junior").sum() <= 70
    assert (s["stage"] == "nine_year").sum() >= 3
    assert (~s["public"].astype(bool)).sum() > 0
    assert (s["status"] != "existing").sum() >= 3
    ex = s[s["status"] == "existing"]
    per_class = ex["students_primary"] / ex["classes_primary"].where(ex["classes_primary"] > 0)
    assert (per_class > 45).sum() >= 1  # some 大班额
    assert ((ex["students_primary"] + ex["students_junior"]) > 2000).sum() >= 1  # some 大校额
    assert (per_class < 0.5 * 45).sum() >= 5  # half-empty small schools
    assert 70 <= len(demo["sites"]) <= 90
    assert 20 <= len(demo["developments"]) <= 40
    # the birth collapse: 2025 births well below the 2017 peak
    b = demo["births"].groupby("year")["births"].sum()
    assert b[2025] < 0.85 * b[2017]


def test_demo_geometry(demo):
    u = demo.projected("units")
    assert u.is_valid.all()
    assert abs(u.area.sum() - u.union_all().area) / u.area.sum() < 1e-6  # no overlaps
    # schools were delivered in GCJ-02: after conversion every one lies in its unit
    s = demo.projected("schools")
    j = gpd.sjoin(
        s[["school_id", "unit_id", "geometry"]], u[["unit_id", "geometry"]], predicate="within"
    )
    assert len(j) == len(s)
    assert (j["unit_id_left"] == j["unit_id_right"]).all()
    raw = pd.read_csv(DEMO / "schools.csv", encoding="utf-8-sig")
    assert "经度" in raw.columns and "学校代码" in raw.columns
