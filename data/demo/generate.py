"""Generate the demo city 示例市 — SYNTHETIC data, not a real place.

A county-level city of about 1.2 million residents in 20 towns and streets near
113.4°E 22.55°N (Guangdong), with dense urban streets, growing suburban towns and
shrinking rural mountain towns; population, births and age structure; schools
with enrolment history; planned housing; reserved education land.

Calibration (public figures):

- Guangdong 7th census (2020), 《广东省第七次全国人口普查公报》: 0–14 share 18.85 %,
  65+ share 8.58 %, sex ratio 113.08; about 2.6 persons per household.
- Guangdong births fell from about 1.6 million (2017) to about 1.05 million (2023),
  a fall of about a third; the city's births follow that shape (two-child peak in
  2016–2017, a small dragon-year rise in 2024).

Run ``python data/demo/generate.py [--out DIR]``. Deterministic: the same code
gives byte-identical files (explicit ``numpy.random.Generator``, fixed GeoPackage
timestamps, fixed float precision).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, Polygon, box

from planner.io.crs import wgs84_to_gcj02

SEED = 20251
BASE_YEAR = 2025
HISTORY = np.arange(2012, BASE_YEAR + 1)
ENROL_YEARS = np.arange(2016, BASE_YEAR + 1)
CENTRE_LON, CENTRE_LAT = 113.40, 22.55
METRIC = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
GPKG_DATE = "2025-01-01T00:00:00Z"

#: relative births per year, city level (1.0 ≈ the 2016 level); shape of Guangdong's
#: births: rising to the 2017 two-child peak, then down by about a third by 2023–2025
BIRTH_SHAPE = {
    2000: 0.70,
    2001: 0.70,
    2002: 0.71,
    2003: 0.71,
    2004: 0.72,
    2005: 0.73,
    2006: 0.74,
    2007: 0.76,
    2008: 0.78,
    2009: 0.79,
    2010: 0.80,
    2011: 0.81,
    2012: 0.86,
    2013: 0.87,
    2014: 0.92,
    2015: 0.90,
    2016: 1.00,
    2017: 1.06,
    2018: 0.98,
    2019: 0.92,
    2020: 0.80,
    2021: 0.76,
    2022: 0.71,
    2023: 0.69,
    2024: 0.73,
    2025: 0.69,
}

KIND_PARAMS = {
    #        growth/yr, births per resident at shape 1.0, elderly share, child migration/yr
    "urban": (0.006, 0.0150, 0.085, 1.010),
    "town": (0.040, 0.0165, 0.070, 1.030),
    "rural": (-0.015, 0.0132, 0.150, 0.975),
}

UNITS = [
    # id, name, kind, district, x km, y km (from the centre), population 2025
    ("U01", "东城街道", "urban", "中心城区", 0.0, 0.5, 98000),
    ("U02", "西城街道", "urban", "中心城区", -3.2, 0.2, 92000),
    ("U03", "南湖街道", "urban", "中心城区", -0.8, -3.0, 86000),
    ("U04", "北岭街道", "urban", "中心城区", 0.6, 3.6, 79000),
    ("U05", "文华街道", "urban", "中心城区", 3.4, -1.2, 101000),
    ("U06", "江滨街道", "urban", "中心城区", 3.0, 2.6, 72000),
    ("U07", "新港街道", "urban", "中心城区", -2.6, 3.4, 68000),
    ("U08", "海湾镇", "town", "南部新城", 2.0, -9.5, 78000),
    ("U09", "沙溪镇", "town", "南部新城", -6.5, -8.0, 64000),
    ("U10", "横门镇", "town", "东部新城", 10.5, -4.0, 71000),
    ("U11", "港口镇", "town", "东部新城", 11.0, 4.5, 58000),
    ("U12", "三角镇", "town", "北部片区", 6.0, 11.0, 52000),
    ("U13", "民众镇", "town", "北部片区", -2.5, 12.0, 47000),
    ("U14", "坦洲镇", "town", "南部新城", 8.0, -12.5, 61000),
    ("U15", "黄圃镇", "town", "东部新城", 15.5, 0.5, 43000),
    ("U16", "五桂山镇", "rural", "西部山区", -12.5, 2.0, 26000),
    ("U17", "青山镇", "rural", "西部山区", -16.0, -5.5, 19000),
    ("U18", "云岭镇", "rural", "西部山区", -15.5, 9.0, 17000),
    ("U19", "石门镇", "rural", "西部山区", -9.5, 14.5, 15000),
    ("U20", "龙潭镇", "rural", "西部山区", -11.0, -13.5, 21000),
]

#: schools per unit kind: (primary, junior); class size mean and spread
SCHOOLS_PER_KIND = {"urban": (7, 3), "town": (8, 3), "rural": (7, 3)}
CLASS_SIZE = {"urban": (43.5, 3.5), "town": (45.0, 4.0), "rural": (24.0, 7.0)}
#: pupils per birth cohort relative to births (migrant children in, rural children out)
ENTRY_RATIO = {"urban": 1.08, "town": 1.02, "rural": 0.80}
STAGE_ZH = {
    "primary": "小学",
    "junior": "初中",
    "nine_year": "九年一贯制",
    "twelve_year": "十二年一贯制",
}


# ---------------------------------------------------------------------------------


def _to_wgs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tr = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)
    return tr.transform(x, y)


def _origin() -> tuple[float, float]:
    tr = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True)
    return tr.transform(CENTRE_LON, CENTRE_LAT)


def make_units(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi polygons of the unit centres, clipped to an irregular city boundary."""
    ox, oy = _origin()
    pts = np.array([(ox + u[4] * 1000, oy + u[5] * 1000) for u in UNITS])
    ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    radius = 1000 * (19.5 + 2.0 * np.sin(3 * ang) + rng.uniform(-0.8, 0.8, ang.size))
    boundary = Polygon(
        np.column_stack([ox + 1.05 * radius * np.cos(ang), oy + 0.95 * radius * np.sin(ang)])
    )
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(pts), extend_to=boundary.buffer(5000))
    )
    # match each cell to its centre (voronoi output order is not the input order)
    owner = np.array(
        [int(np.flatnonzero(shapely.contains_xy(c, pts[:, 0], pts[:, 1]))[0]) for c in cells]
    )
    polys = np.empty(len(UNITS), dtype=object)
    polys[owner] = shapely.intersection(cells, boundary)
    polys = shapely.set_precision(polys, 1.0)
    gdf = gpd.GeoDataFrame(
        {
            "unit_id": [u[0] for u in UNITS],
            "name": [u[1] for u in UNITS],
            "kind": [u[2] for u in UNITS],
            "district": [u[3] for u in UNITS],
        },
        geometry=list(polys),
        crs=METRIC,
    )
    return gdf


def population_history() -> pd.DataFrame:
    """Totals per unit and year: urban flat, towns growing 4 %/yr, rural shrinking."""
    rows = []
    years = np.arange(2000, BASE_YEAR + 1)
    for uid, _n, kind, _d, _x, _y, p25 in UNITS:
        g = KIND_PARAMS[kind][0]
        rows.append(
            pd.DataFrame(
                {
                    "unit_id": uid,
                    "year": years,
                    "population": np.round(p25 * (1 + g) ** (years - BASE_YEAR)),
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    df["population"] = df["population"].astype("int64")
    return df


def births_table(pop: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Births per unit and year (2000–2025; the file holds 2012–2025)."""
    kind = {u[0]: u[2] for u in UNITS}
    shape = pop["year"].map(BIRTH_SHAPE).to_numpy(float)
    rate = pop["unit_id"].map(lambda u: KIND_PARAMS[kind[u]][1]).to_numpy(float)
    noise = rng.normal(1.0, 0.03, len(pop))
    births = np.round(pop["population"].to_numpy(float) * rate * shape * noise).astype("int64")
    return pd.DataFrame({"unit_id": pop["unit_id"], "year": pop["year"], "births": births})


def age_table(
    pop: pd.DataFrame, births: pd.DataFrame, year: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Single-year ages 0–99 and 100+ by sex for one year.

    Children (0–14) come from the births of their birth year, surviving (about 0.5 %
    infant and child mortality) and moving (migrant families into towns, out of
    rural areas); the elderly share is set per unit kind; working ages take the rest
    with a migrant bulge at 20–40 in urban and suburban units.
    """
    b = births.set_index(["unit_id", "year"])["births"]
    p = pop.set_index(["unit_id", "year"])["population"]
    ages = np.arange(0, 101)
    frames = []
    for uid, _n, kind, _d, _x, _y, _p in UNITS:
        _, _, old_share, child_mig = KIND_PARAMS[kind]
        total = float(p[(uid, year)])
        child_ages = np.arange(0, 15)
        cohort = np.array([b[(uid, year - a)] for a in child_ages], dtype=float)
        child = cohort * (0.995 - 0.0003 * child_ages) * child_mig**child_ages
        old_ages = np.arange(65, 101)
        old_w = np.exp(-0.085 * (old_ages - 65))
        old = old_w / old_w.sum() * old_share * total
        work_ages = np.arange(15, 65)
        if kind == "rural":
            work_w = 0.8 + 0.5 * np.clip((work_ages - 40) / 20, 0, 1)
        else:
            bulge = 1.0 if kind == "urban" else 0.8
            work_w = 1.0 + bulge * np.exp(-(((work_ages - 31) / 8.0) ** 2))
        work_w = work_w * (1 - 0.004 * np.clip(work_ages - 50, 0, None))
        rest = total - child.sum() - old.sum()
        work = work_w / work_w.sum() * rest
        count = np.concatenate([child, work, old])
        # male share: sex ratio at birth about 112, migrant workers mostly male, women live longer
        male = np.where(ages < 15, 0.528, np.where(ages < 65, 0.538, 0.47 - 0.002 * (ages - 65)))
        male = np.clip(male + rng.normal(0, 0.004, ages.size), 0.3, 0.7)
        m = np.round(count * male)
        f = np.round(count) - m
        for sex, values in (("male", m), ("female", f)):
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": uid,
                        "year": year,
                        "sex": sex,
                        "age_lo": ages,
                        "age_hi": np.where(ages == 100, -1, ages),
                        "population": values.astype("int64"),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out["age_hi"] = out["age_hi"].astype("Int64").mask(out["age_hi"] < 0)
    return out


def _points_in(poly, n: int, rng: np.random.Generator, centre=None, sigma=None) -> np.ndarray:
    """n random points inside a polygon (rejection sampling, vectorised)."""
    minx, miny, maxx, maxy = poly.bounds
    inner = poly.buffer(-150)
    out = np.empty((0, 2))
    while len(out) < n:
        k = 4 * n + 16
        if centre is None:
            xy = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        else:
            xy = rng.normal(centre, sigma, (k, 2))
        ok = shapely.contains_xy(inner, xy[:, 0], xy[:, 1])
        out = np.vstack([out, xy[ok]])
    return out[:n]


def make_schools(
    units: gpd.GeoDataFrame, births: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Schools (snapshot in the base year) and their enrolment history by grade."""
    b = births.set_index(["unit_id", "year"])["births"]
    school_rows = []
    enrol_frames = []
    counter = {"primary": 0, "junior": 0, "nine_year": 0, "twelve_year": 0}
    prefix = {"primary": "P", "junior": "J", "nine_year": "N", "twelve_year": "T"}
    nine_units = {
        "U09": "nine_year",
        "U12": "nine_year",
        "U16": "nine_year",
        "U18": "nine_year",
        "U20": "nine_year",
        "U03": "twelve_year",
    }
    for row in units.itertuples():
        uid, kind, poly = row.unit_id, row.kind, row.geometry
        n_p, n_j = SCHOOLS_PER_KIND[kind]
        types = ["primary"] * n_p + ["junior"] * n_j
        if uid in nine_units:
            types.append(nine_units[uid])
        centre = np.array([poly.centroid.x, poly.centroid.y])
        sigma = 1500 if kind == "urban" else 2500
        # towns: schools gather around the town centre; streets and villages: spread out
        xy = _points_in(poly, len(types), rng, centre if kind == "town" else None, sigma)
        # shares of the unit's pupils per stage among the schools teaching it
        for stage, grades in (("primary", range(1, 7)), ("junior", range(7, 10))):
            idx = [
                i for i, t in enumerate(types) if t == stage or (t in {"nine_year", "twelve_year"})
            ]
            w = rng.dirichlet(np.full(len(idx), 3.0 if kind != "urban" else 1.6))
            if kind == "town" and stage == "primary":
                w[0] += 0.25  # one big central school per growing town: 大校额 candidates
                w /= w.sum()
            for k, i in enumerate(idx):
                types_i = types[i]
                sid_key = (uid, i)
                if types_i in {"nine_year", "twelve_year"}:
                    w_k = w[k] * 0.6  # smaller share for the through-train school
                else:
                    w_k = w[k]
                size_mu, size_sd = CLASS_SIZE[kind]
                class_size = float(
                    np.clip(rng.normal(size_mu + (3 if stage == "junior" else 0), size_sd), 10, 62)
                )
                ratio = ENTRY_RATIO[kind]
                for y in ENROL_YEARS:
                    for g in grades:
                        cohort_year = int(y - 5 - g)
                        students = w_k * b[(uid, cohort_year)] * ratio * rng.normal(1.0, 0.02)
                        enrol_frames.append(
                            (sid_key, int(y), g, max(round(students), 0), class_size)
                        )
        for i, t in enumerate(types):
            counter[t] += 1
            sid = f"{prefix[t]}{counter[t]:03d}"
            public = not (kind != "rural" and rng.random() < 0.16)
            school_rows.append(
                {
                    "key": (uid, i),
                    "school_id": sid,
                    "unit_id": uid,
                    "kind": kind,
                    "stage": t,
                    "public": public,
                    "x": xy[i, 0],
                    "y": xy[i, 1],
                }
            )
    schools = pd.DataFrame(school_rows)
    enr = pd.DataFrame(enrol_frames, columns=["key", "year", "grade", "students", "class_size"])
    enr = enr.merge(schools[["key", "school_id"]], on="key")
    enr["classes"] = np.maximum(np.ceil(enr["students"] / enr["class_size"]), 1).astype("int64")
    enr = enr.loc[enr["students"] > 0, ["school_id", "year", "grade", "students", "classes"]]
    enr = enr.sort_values(["school_id", "year", "grade"]).reset_index(drop=True)
    snap = enr[enr["year"] == BASE_YEAR].copy()
    snap["stage_of_grade"] = np.where(snap["grade"] <= 6, "primary", "junior")
    agg = (
        snap.groupby(["school_id", "stage_of_grade"])[["students", "classes"]]
        .sum()
        .unstack(fill_value=0)
    )
    for stage in ("primary", "junior"):
        schools[f"students_{stage}"] = (
            schools["school_id"].map(agg[("students", stage)]).fillna(0).astype("int64")
        )
        schools[f"classes_{stage}"] = (
            schools["school_id"].map(agg[("classes", stage)]).fillna(0).astype("int64")
        )
    return schools.drop(columns="key"), enr


def add_resources(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Land, rooms, equipment and teachers: mostly near the 优质均衡 thresholds, some short."""
    s = schools.copy()
    pupils = (s["students_primary"] + s["students_junior"]).to_numpy(float)
    classes = (s["classes_primary"] + s["classes_junior"]).to_numpy(float)
    junior_share = np.where(pupils > 0, s["students_junior"] / np.maximum(pupils, 1), 0)
    rural = (s["kind"] == "rural").to_numpy()
    n = len(s)

    def per(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    s["teachers_qualified"] = np.round(pupils * (per(3.9, 6.0) + 1.2 * junior_share) / 100)
    s["teachers_backbone"] = np.round(pupils * per(0.75, 1.6) / 100)
    s["teachers_pe_arts"] = np.round(pupils * per(0.7, 1.4) / 100 + rural * 1)
    s["teaching_area"] = np.round(pupils * (per(4.0, 6.0) + 1.4 * junior_share + rural * 3.0), -1)
    # sports grounds: cramped in the dense centre, generous in the mountains — the usual
    # reason a county fails the 差异系数 limit on this indicator
    urban = (s["kind"] == "urban").to_numpy()
    sports = np.where(urban, per(2.5, 8.0), np.where(rural, per(14.0, 40.0), per(6.5, 12.0)))
    s["sports_area"] = np.round(pupils * (sports + 2.8 * junior_share), -1)
    s["equipment_value"] = np.round(pupils * (per(1700, 3200) + 500 * junior_share), -3)
    s["multimedia_rooms"] = np.round(classes * per(0.95, 1.15))
    s["music_rooms"] = np.maximum(np.ceil(classes / 12) - (per(0, 1) < 0.15), 1)
    s["art_rooms"] = np.maximum(np.ceil(classes / 12) - (per(0, 1) < 0.15), 1)
    s["land_area"] = np.round(
        np.maximum(pupils, 270) * np.where(rural, per(25, 45), per(9, 20)), -1
    )
    s["boarding"] = rural & (s["stage"] != "primary").to_numpy()
    return s


def planned_schools(units: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Schools under construction or planned, with their opening year."""
    plan = [
        ("U08", "primary", "在建", 2026, 36),
        ("U10", "junior", "规划", 2027, 30),
        ("U14", "primary", "规划", 2028, 30),
        ("U09", "nine_year", "在建", 2027, 36),
    ]
    rows = []
    ugeo = units.set_index("unit_id").geometry
    for k, (uid, stage, status, year, cls) in enumerate(plan):
        xy = _points_in(ugeo[uid], 1, rng)[0]
        cp = cls if stage == "primary" else (24 if stage == "nine_year" else 0)
        cj = cls if stage == "junior" else (12 if stage == "nine_year" else 0)
        rows.append(
            {
                "school_id": f"X{k + 1:03d}",
                "unit_id": uid,
                "kind": "town",
                "stage": stage,
                "public": True,
                "x": xy[0],
                "y": xy[1],
                "classes_primary": cp,
                "classes_junior": cj,
                "students_primary": 0,
                "students_junior": 0,
                "status": status,
                "opening_year": year,
            }
        )
    return pd.DataFrame(rows)


def school_names(s: pd.DataFrame, units: gpd.GeoDataFrame) -> list[str]:
    uname = units.set_index("unit_id")["name"].str.replace("街道", "").str.replace("镇", "")
    suffix = {"primary": "小学", "junior": "中学", "nine_year": "学校", "twelve_year": "实验学校"}
    seq: dict[tuple[str, str], int] = {}
    names = []
    ordinal = "一二三四五六七八九十"
    for r in s.itertuples():
        k = (r.unit_id, r.stage)
        seq[k] = seq.get(k, 0) + 1
        i = seq[k]
        base = uname[r.unit_id]
        if not r.public:
            names.append(
                f"{base}育才{'外国语' if r.stage != 'primary' else ''}{suffix[r.stage]}（民办）"
            )
        elif r.stage in {"nine_year", "twelve_year"}:
            names.append(f"{base}{suffix[r.stage]}")
        else:
            names.append(f"{base}第{ordinal[(i - 1) % 10]}{suffix[r.stage]}")
    return names


def make_developments(units: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """About 30 planned housing projects, mostly in the growing towns."""
    weights = units["kind"].map({"urban": 0.8, "town": 2.5, "rural": 0.15}).to_numpy(float)
    n = 30
    which = rng.choice(len(units), size=n, p=weights / weights.sum())
    which.sort()
    rows = []
    estates = ["花园", "新城", "雅苑", "华府", "湾畔"]
    for k, ui in enumerate(which):
        xy = _points_in(units.geometry.iloc[ui], 1, rng)[0]
        place = units["name"].iloc[ui].replace("街道", "").replace("镇", "")
        rows.append(
            {
                "dev_id": f"D{k + 1:03d}",
                "name": f"{place}{estates[k % 5]}{k + 1}期",
                "households": int(rng.integers(3, 31) * 100),
                "completion_year": int(rng.integers(2026, 2033)),
                "plot_ratio": round(float(rng.uniform(2.0, 3.5)), 1),
                "x": xy[0],
                "y": xy[1],
            }
        )
    return pd.DataFrame(rows)


def make_sites(units: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """About 80 reserved education plots (rectangles of 0.8–6 ha)."""
    weights = units["kind"].map({"urban": 1.2, "town": 2.2, "rural": 0.35}).to_numpy(float)
    n = 80
    which = np.sort(rng.choice(len(units), size=n, p=weights / weights.sum()))
    areas = np.exp(rng.uniform(np.log(8000), np.log(60000), n))
    aspect = rng.uniform(0.6, 1.6, n)
    geoms, rows = [], []
    stage_pick = rng.choice(
        ["小学", "初中", "九年一贯制", "不限"], size=n, p=[0.45, 0.3, 0.1, 0.15]
    )
    cost_per_m2 = {"urban": 9000.0, "town": 3500.0, "rural": 800.0}
    for k, ui in enumerate(which):
        poly = units.geometry.iloc[ui]
        w = math.sqrt(areas[k] * aspect[k])
        h = areas[k] / w
        for _ in range(50):
            cx, cy = _points_in(poly, 1, rng)[0]
            rect = box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if poly.contains(rect):
                break
        rect = shapely.set_precision(rect, 0.01)
        geoms.append(rect)
        kind = units["kind"].iloc[ui]
        rows.append(
            {
                "site_id": f"E{k + 1:03d}",
                "name": f"{units['name'].iloc[ui]}教育用地{k + 1:02d}",
                "land_area": round(rect.area, 0),
                "earliest_year": int(rng.integers(2026, 2031)),
                "stage": stage_pick[k],
                "land_cost": round(rect.area * cost_per_m2[kind] / 1e4) * 1e4,
            }
        )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=METRIC)


SCENARIO = """\
# Demo scenario for the SYNTHETIC demo city 示例市 (not a real place).
name = "示例市 基准情景 (demo, synthetic)"
description = "Synthetic county-level city near 113.4E 22.55N (generated by data/demo/generate.py)."
base_year = 2025
horizon = 2040
norms = "guangdong"
strict = false

[inputs.units]
path = "units.gpkg"
layer = "units"
crs = "WGS84"

[inputs.population]
path = "population.csv"

[inputs.population_by_age]
path = "population_by_age.csv"

[inputs.births]
path = "births.csv"

[inputs.schools]
path = "schools.csv"
crs = "GCJ-02"

[inputs.enrolment]
path = "enrolment.csv"

[inputs.developments]
path = "developments.csv"
crs = "GCJ-02"

[inputs.sites]
path = "sites.gpkg"
layer = "sites"
crs = "WGS84"
"""


def _csv(df: pd.DataFrame, path: Path, bom: bool = False) -> None:
    df.to_csv(
        path,
        index=False,
        encoding="utf-8-sig" if bom else "utf-8",
        lineterminator="\n",
        float_format="%.6f",
    )


def _gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    if path.exists():
        path.unlink()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    gdf = gdf.copy()
    gdf.geometry = shapely.set_precision(gdf.geometry.values, 1e-7)
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")


def generate(out: Path, *, seed: int = SEED, verbose: bool = True) -> dict[str, Path]:
    """Write every demo file to ``out``; return {name: path}."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    units_m = make_units(rng)
    pop_all = population_history()
    births_all = births_table(pop_all, rng)
    age25 = age_table(pop_all, births_all, BASE_YEAR, rng)
    age20 = age_table(pop_all, births_all, 2020, rng)
    # population totals equal the age tables in the census-like years
    tot = pd.concat([age20, age25]).groupby(["unit_id", "year"])["population"].sum()
    pop_all = pop_all.set_index(["unit_id", "year"])
    pop_all.loc[tot.index, "population"] = tot
    pop_all = pop_all.reset_index()
    schools, enrol = make_schools(units_m, births_all, rng)
    schools["status"] = "现状"
    schools["opening_year"] = pd.NA
    schools = pd.concat([schools, planned_schools(units_m, rng)], ignore_index=True)
    schools = add_resources(schools, rng)
    planned = schools["status"] != "现状"
    res_cols = [
        "teachers_qualified",
        "teachers_backbone",
        "teachers_pe_arts",
        "teaching_area",
        "sports_area",
        "equipment_value",
        "multimedia_rooms",
        "music_rooms",
        "art_rooms",
    ]
    schools.loc[planned, res_cols] = np.nan
    schools["land_area"] = np.where(
        planned,
        schools["classes_primary"] * 45 * 12 + schools["classes_junior"] * 50 * 14,
        schools["land_area"],
    )
    schools["name"] = school_names(schools, units_m)
    lon, lat = _to_wgs(schools["x"].to_numpy(), schools["y"].to_numpy())
    glon, glat = wgs84_to_gcj02(lon, lat)
    single = schools["stage"].isin(["primary", "junior"])
    classes = np.where(
        schools["stage"] == "junior", schools["classes_junior"], schools["classes_primary"]
    )
    students = np.where(
        schools["stage"] == "junior", schools["students_junior"], schools["students_primary"]
    )

    def num(a):
        return pd.array(np.where(single, np.nan, a), dtype="Float64").round().astype("Int64")

    def i64(a):
        return pd.array(a, dtype="Float64").round().astype("Int64")

    sch = pd.DataFrame(
        {
            "学校代码": schools["school_id"],
            "学校名称": schools["name"],
            "学段": schools["stage"].map(STAGE_ZH),
            "办学性质": np.where(schools["public"], "公办", "民办"),
            "状态": schools["status"],
            "开办年份": schools["opening_year"].astype("Int64"),
            "经度": np.round(glon, 6),
            "纬度": np.round(glat, 6),
            "班级数": pd.array(np.where(single, classes, np.nan), dtype="Float64").astype("Int64"),
            "在校生数": pd.array(np.where(single, students, np.nan), dtype="Float64").astype(
                "Int64"
            ),
            "小学部班级数": num(schools["classes_primary"]),
            "小学部在校生数": num(schools["students_primary"]),
            "初中部班级数": num(schools["classes_junior"]),
            "初中部在校生数": num(schools["students_junior"]),
            "占地面积": i64(schools["land_area"]),
            "教学及辅助用房面积": i64(schools["teaching_area"]),
            "体育运动场馆面积": i64(schools["sports_area"]),
            "教学仪器设备值": i64(schools["equipment_value"]),
            "网络多媒体教室数": i64(schools["multimedia_rooms"]),
            "高于规定学历教师数": i64(schools["teachers_qualified"]),
            "县级以上骨干教师数": i64(schools["teachers_backbone"]),
            "体育艺术专任教师数": i64(schools["teachers_pe_arts"]),
            "音乐专用教室数": i64(schools["music_rooms"]),
            "美术专用教室数": i64(schools["art_rooms"]),
            "是否寄宿制": np.where(schools["boarding"], "是", "否"),
            "地址": [
                f"示例市{u}{k % 90 + 1}号"
                for k, u in enumerate(schools["unit_id"].map(units_m.set_index("unit_id")["name"]))
            ],
        }
    )
    dev = make_developments(units_m, rng)
    dlon, dlat = _to_wgs(dev["x"].to_numpy(), dev["y"].to_numpy())
    dglon, dglat = wgs84_to_gcj02(dlon, dlat)
    devs = pd.DataFrame(
        {
            "项目编号": dev["dev_id"],
            "项目名称": dev["name"],
            "住宅户数": dev["households"],
            "竣工年份": dev["completion_year"],
            "容积率": dev["plot_ratio"],
            "经度": np.round(dglon, 6),
            "纬度": np.round(dglat, 6),
        }
    )
    sites = make_sites(units_m, rng)
    files = {
        "units": out / "units.gpkg",
        "population": out / "population.csv",
        "population_by_age": out / "population_by_age.csv",
        "births": out / "births.csv",
        "schools": out / "schools.csv",
        "enrolment": out / "enrolment.csv",
        "developments": out / "developments.csv",
        "sites": out / "sites.gpkg",
        "scenario": out / "scenario.toml",
    }
    _gpkg(units_m.to_crs(4326), files["units"], "units")
    _csv(pop_all[pop_all["year"].isin(HISTORY)], files["population"])
    _csv(pd.concat([age20, age25], ignore_index=True), files["population_by_age"])
    _csv(births_all[births_all["year"].isin(HISTORY)], files["births"])
    _csv(sch, files["schools"], bom=True)
    _csv(enrol, files["enrolment"])
    _csv(devs, files["developments"], bom=True)
    _gpkg(sites.to_crs(4326), files["sites"], "sites")
    files["scenario"].write_text(SCENARIO, encoding="utf-8")
    if verbose:
        _report(pop_all, age25, births_all, schools, sites)
    return files


def _report(pop, age, births, schools, sites) -> None:
    base = pop[pop["year"] == BASE_YEAR]["population"].sum()
    child = age[age["age_lo"] <= 14]["population"].sum() / age["population"].sum()
    old = age[age["age_lo"] >= 65]["population"].sum() / age["population"].sum()
    sr = (
        age[age["sex"] == "male"]["population"].sum()
        / age[age["sex"] == "female"]["population"].sum()
        * 100
    )
    ex = schools[schools["status"] == "现状"]
    cls_p = ex["students_primary"] / ex["classes_primary"].where(ex["classes_primary"] > 0)
    cls_j = ex["students_junior"] / ex["classes_junior"].where(ex["classes_junior"] > 0)
    big = ex["students_primary"] + ex["students_junior"]
    b = births.groupby("year")["births"].sum()
    print(
        f"示例市 (synthetic): population {base:,} in {BASE_YEAR}; 0–14 {child:.2%}, 65+ {old:.2%}, sex ratio {sr:.1f}\n"
        f"schools: {schools.groupby(['stage', 'public']).size().to_dict()}\n"
        f"oversized classes (avg > cap): primary {(cls_p > 45).sum()}, junior {(cls_j > 50).sum()}; "
        f"schools > 2,000 pupils: {(big > 2000).sum()}; sites: {len(sites)}\n"
        f"births 2016 {b[2016]:,} → 2017 {b[2017]:,} → 2025 {b[2025]:,}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
