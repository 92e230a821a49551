"""The demo-city generator: byte-identical output and calibrated, consistent data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.geo.crs import gcj02_to_wgs84

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
FILES = (
    "units.gpkg",
    "population.csv",
    "population_by_age.csv",
    "births.csv",
    "schools.csv",
    "enrolment.csv",
    "developments.csv",
    "sites.gpkg",
    "scenario.toml",
)


def _generator():
    spec = importlib.util.spec_from_file_location("demo_generate_t", DEMO / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """Run the generator's command line twice into two folders."""
    gen = _generator()
    a = tmp_path_factory.mktemp("demo_a")
    b = tmp_path_factory.mktemp("demo_b")
    assert gen.main(["--out", str(a)]) == 0
    assert gen.main(["--out", str(b)]) == 0
    return a, b


@pytest.fixture(scope="module")
def demo(out):
    d = out[0]
    schools = pd.read_csv(d / "schools.csv", encoding="utf-8-sig")
    lon, lat = gcj02_to_wgs84(schools["经度"].to_numpy(), schools["纬度"].to_numpy())
    return {
        "dir": d,
        "units": gpd.read_file(d / "units.gpkg", layer="units"),
        "sites": gpd.read_file(d / "sites.gpkg", layer="sites"),
        "population": pd.read_csv(d / "population.csv"),
        "age": pd.read_csv(d / "population_by_age.csv", dtype={"age_hi": "Int64"}),
        "births": pd.read_csv(d / "births.csv"),
        "schools": schools,
        "school_points": gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326),
        "enrolment": pd.read_csv(d / "enrolment.csv"),
        "developments": pd.read_csv(d / "developments.csv", encoding="utf-8-sig"),
    }


def _pupils(s: pd.DataFrame) -> pd.Series:
    return s[["在校生数", "小学部在校生数", "初中部在校生数"]].fillna(0).sum(axis=1)


def _classes(s: pd.DataFrame) -> pd.Series:
    return s[["班级数", "小学部班级数", "初中部班级数"]].fillna(0).sum(axis=1)


def test_two_runs_are_byte_identical(out):
    a, b = out
    assert sorted(p.name for p in a.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_committed_text_files_are_current(out):
    # GeoPackages are compared by content in tests/test_demo.py (bytes depend on GDAL)
    for name in FILES:
        if not name.endswith(".gpkg"):
            assert (DEMO / name).read_bytes() == (out[0] / name).read_bytes(), f"regenerate {name}"


def test_population_calibration(demo):
    pop = demo["population"]
    assert sorted(pop["year"].unique()) == list(range(2012, 2026))
    assert 1_000_000 <= pop.loc[pop["year"] == 2025, "population"].sum() <= 1_500_000
    age = demo["age"]
    assert set(age["year"]) == {2020, 2025}
    a25 = age[age["year"] == 2025]
    total = a25["population"].sum()
    assert 0.17 <= a25.loc[a25["age_lo"] <= 14, "population"].sum() / total <= 0.21
    assert 0.07 <= a25.loc[a25["age_lo"] >= 65, "population"].sum() / total <= 0.10
    sexes = a25.groupby("sex")["population"].sum()
    assert 110 <= sexes["male"] / sexes["female"] * 100 <= 116
    # single years 0..99 and an open 100+ group
    assert a25["age_lo"].max() == 100 and a25.loc[a25["age_lo"] == 100, "age_hi"].isna().all()
    assert (a25.loc[a25["age_lo"] < 100, "age_hi"] == a25.loc[a25["age_lo"] < 100, "age_lo"]).all()
    # the totals file equals the age table where both exist
    by_unit = age.groupby(["unit_id", "year"])["population"].sum()
    p = pop.set_index(["unit_id", "year"])["population"].loc[by_unit.index]
    assert (p == by_unit).all()


def test_population_trends_by_kind(demo):
    kind = demo["units"].set_index("unit_id")["kind"]
    pop = demo["population"].pivot(index="unit_id", columns="year", values="population")
    growth = (pop[2025] / pop[2012]) ** (1 / 13) - 1
    by_kind = growth.groupby(kind).mean()
    assert -0.005 <= by_kind["urban"] <= 0.015
    assert 0.03 <= by_kind["town"] <= 0.05
    assert -0.02 <= by_kind["rural"] <= -0.01


def test_births_collapse_and_age_zero(demo):
    b = demo["births"].groupby("year")["births"].sum()
    assert b.idxmax() in (2016, 2017)
    assert 0.55 <= b[2023] / b[2017] <= 0.75  # about a third lower
    age = demo["age"]
    age0 = age[age["age_lo"] == 0].groupby(["unit_id", "year"])["population"].sum()
    births = demo["births"].set_index(["unit_id", "year"])["births"].loc[age0.index]
    ratio = age0 / births
    assert ratio.between(0.97, 1.0).all()


def test_units(demo):
    u = demo["units"].to_crs(4547)
    assert 18 <= len(u) <= 22
    assert set(u["kind"]) == {"urban", "town", "rural"}
    assert u["unit_id"].is_unique and u["name"].is_unique
    assert u.is_valid.all()
    assert abs(u.area.sum() - u.union_all().area) / u.area.sum() < 1e-6  # no overlaps
    assert shapely.get_num_interior_rings(u.union_all()) == 0  # no holes
    w, s, e, n = u.total_bounds
    assert 35_000 <= e - w <= 45_000 and 30_000 <= n - s <= 40_000
    # rural units are large, urban ones small
    area = u.set_index("kind").area.groupby(level=0).mean()
    assert area["rural"] > area["town"] > area["urban"]


def test_school_counts_and_planted_problems(demo):
    s = demo["schools"]
    assert s["学校代码"].is_unique and s["学校名称"].is_unique
    assert set(s["学段"]) == {"小学", "初中", "九年一贯制", "十二年一贯制"}
    assert 130 <= (s["学段"] == "小学").sum() <= 170
    assert 50 <= (s["学段"] == "初中").sum() <= 70
    assert (s["学段"] == "九年一贯制").sum() >= 3
    assert (s["学段"] == "十二年一贯制").sum() == 1
    public = (s["办学性质"] == "公办").mean()
    assert 0.8 <= public <= 0.92
    planned = s[s["状态"] != "现状"]
    assert 3 <= len(planned) <= 4
    assert planned["开办年份"].between(2026, 2028).all()
    assert (_pupils(planned) == 0).all() and (_classes(planned) > 0).all()
    ex = s[s["状态"] == "现状"]
    single = ex["学段"].isin(["小学", "初中"])
    assert ex.loc[single, ["班级数", "在校生数"]].notna().all().all()
    assert ex.loc[~single, ["小学部班级数", "初中部班级数"]].notna().all().all()
    per_class = ex["在校生数"] / ex["班级数"]
    assert (per_class[ex["学段"] == "小学"] > 45).sum() >= 1
    assert (per_class[ex["学段"] == "初中"] > 50).sum() >= 1
    assert (_pupils(ex) > 2000).sum() >= 1
    seats = ex["小学部班级数"].fillna(0) * 45 + ex["初中部班级数"].fillna(0) * 50
    seats += np.where(ex["学段"] == "初中", 50, 45) * ex["班级数"].fillna(0)
    assert (_pupils(ex) < 0.5 * seats).sum() >= 5
    assert set(s["是否寄宿制"]) == {"是", "否"}


def test_schools_lie_in_the_units_and_boarding_rule_has_a_gap(demo):
    u = demo["units"]
    pts = gpd.GeoDataFrame(demo["schools"], geometry=demo["school_points"].values, crs=4326)
    j = gpd.sjoin(pts, u[["unit_id", "kind", "geometry"]], predicate="within")
    assert len(j) == len(pts)
    rural = set(u.loc[u["kind"] == "rural", "unit_id"])
    boarding = set(j.loc[j["是否寄宿制"] == "是", "unit_id"])
    assert boarding <= rural
    assert 1 <= len(rural - boarding) < len(rural)
    # raw GCJ-02 positions are shifted several hundred metres from the true ones
    raw = gpd.GeoSeries(
        gpd.points_from_xy(demo["schools"]["经度"], demo["schools"]["纬度"]), crs=4326
    )
    shift = raw.to_crs(4547).distance(demo["school_points"].to_crs(4547))
    assert shift.between(300, 900).all()


def test_enrolment_matches_snapshot_and_births(demo):
    s = demo["schools"]
    e = demo["enrolment"]
    assert e["year"].between(2016, 2025).all() and e["grade"].between(1, 9).all()
    ex = s[s["状态"] == "现状"]
    assert set(e["school_id"]) == set(ex["学校代码"])
    e25 = e[e["year"] == 2025]
    prim = e25[e25["grade"] <= 6].groupby("school_id")[["students", "classes"]].sum()
    jun = e25[e25["grade"] >= 7].groupby("school_id")[["students", "classes"]].sum()
    ex = ex.set_index("学校代码")
    single_p = ex[ex["学段"] == "小学"]
    single_j = ex[ex["学段"] == "初中"]
    assert (prim.loc[single_p.index, "students"] == single_p["在校生数"]).all()
    assert (prim.loc[single_p.index, "classes"] == single_p["班级数"]).all()
    assert (jun.loc[single_j.index, "students"] == single_j["在校生数"]).all()
    through = ex[~ex["学段"].isin(["小学", "初中"])]
    assert (prim.loc[through.index, "students"] == through["小学部在校生数"]).all()
    assert (jun.loc[through.index, "students"] == through["初中部在校生数"]).all()
    # grade 1 follows the births six years earlier, per unit
    pts = gpd.GeoDataFrame(
        ex.reset_index(), geometry=demo["school_points"][s["状态"] == "现状"].values
    )
    unit = gpd.sjoin(pts.set_crs(4326), demo["units"], predicate="within").set_index("学校代码")[
        "unit_id"
    ]
    g1 = e[e["grade"] == 1].assign(unit_id=lambda d: d["school_id"].map(unit))
    g1 = g1.groupby(["unit_id", "year"])["students"].sum()
    b = demo["births"].set_index(["unit_id", "year"])["births"]
    entry = (g1 / b.reindex([(u, y - 6) for u, y in g1.index]).to_numpy()).dropna()
    assert len(entry) >= 100
    assert entry.between(0.85, 1.25).all()
    # grade progression g -> g+1 from one year to the next, per school and grade
    k = e.set_index(["school_id", "year", "grade"])["students"]
    nxt = k.rename(lambda y: y - 1, level="year").rename(lambda g: g - 1, level="grade")
    both = pd.concat([k, nxt], axis=1, keys=["now", "next"], join="inner")
    both = both[(both.index.get_level_values("grade") != 6) & (both["now"] >= 100)]
    ratio = both["next"] / both["now"]
    assert 0.97 <= ratio.median() <= 1.03


def test_developments_and_sites(demo):
    d = demo["developments"]
    assert 20 <= len(d) <= 40
    assert d["住宅户数"].between(300, 3000).all() and d["竣工年份"].between(2026, 2032).all()
    sites = demo["sites"]
    assert 70 <= len(sites) <= 90
    assert sites["site_id"].is_unique
    area = sites.to_crs(4547).area
    assert area.between(7_900, 60_100).all()
    assert (abs(area - sites["land_area"]) / sites["land_area"] < 0.01).all()
    assert sites["earliest_year"].between(2026, 2030).all()
    assert set(sites["stage"]) <= {"小学", "初中", "九年一贯制", "不限"}
    u = demo["units"]
    j = gpd.sjoin(sites, u[["unit_id", "kind", "geometry"]], predicate="within")
    assert len(j) == len(sites)  # every plot lies wholly in one unit
    per_kind = j["kind"].value_counts()
    assert per_kind["town"] > per_kind["rural"] >= 1


def test_scenario_template(demo):
    text = (demo["dir"] / "scenario.toml").read_text(encoding="utf-8")
    assert "base_year = 2025" in text and 'norms = "guangdong"' in text
    assert "synthetic" in text
