"""Generate the demo city 示例市 ("Demo City") — SYNTHETIC data, not a real place.

A county-level city of about 1.2 million residents in 20 towns and streets near
113.4°E 22.55°N (Guangdong; compute CRS CGCS2000 / 3-degree Gauss–Krüger CM 114°E,
EPSG:4547): 7 dense urban streets (街道), 8 growing suburban towns (镇, about +4 % a
year) and 5 shrinking mountain towns on the western edge (about −1.5 % a year). The
generator writes population totals, age tables, births, schools with enrolment
history, planned housing, reserved education land and a scenario file.

Calibration (public figures, used for shapes and shares only):

- Guangdong 7th national census (2020), 《广东省第七次全国人口普查公报》: 0–14 share
  18.85 %, 65+ share 8.58 %, sex ratio 113.08 (males per 100 females).
- Guangdong births fell from about 1.6 million (2017) to about 1.05 million (2023),
  a fall of about a third; the city's births follow that shape (the two-child peak
  in 2016–2017, a small dragon-year rise in 2024).

Run ``python data/demo/generate.py [--out DIR]`` (default: this folder).
Deterministic: one explicit ``numpy.random.Generator`` (seed 20251) drawn in a
fixed order, no timestamps (GeoPackages get a fixed ``OGR_CURRENT_DATE``), rounded
floats; two runs give byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, Polygon

from planner.geo.crs import wgs84_to_gcj02

SEED = 20251
BASE_YEAR = 2025
HISTORY = np.arange(2012, BASE_YEAR + 1)  # years of the population and births files
AGE_YEARS = (2020, BASE_YEAR)  # years of the age table (residual-method migration)
ENROL_YEARS = np.arange(2016, BASE_YEAR + 1)
CENTRE_LON, CENTRE_LAT = 113.40, 22.55
METRIC = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
GPKG_DATE = "2025-01-01T00:00:00Z"
COORD_DECIMALS = 6
MAX_AGE = 100  # open top group 100+

#: relative births per year, city level (1.0 ≈ the 2016 level), from 2000. Shape of
#: Guangdong's births: rising to the 2017 two-child peak, then down by about a third
#: (≈ 1.05 / 1.6) by 2023, a dragon-year rise in 2024.
BIRTH_YEAR0 = 2000
BIRTH_SHAPE = np.array(
    [
        *(0.70, 0.70, 0.71, 0.71, 0.72, 0.73, 0.74, 0.76, 0.78, 0.79),  # 2000–2009
        *(0.80, 0.81, 0.86, 0.87, 0.92, 0.90, 1.00, 1.06, 0.98, 0.92),  # 2010–2019
        *(0.77, 0.72, 0.67, 0.64, 0.68, 0.63),  # 2020–2025
    ]
)

#: per unit kind: population growth a year; births per resident at shape 1.0; 65+
#: share; net migration factor of children per year of age (migrant families move
#: into the centre and the towns, out of the mountains). The same factor drives the
#: birth-to-entry ratio (factor ** 6: 1.07 / 1.13 / 0.94) and the grade progression.
KIND_PARAMS = {
    "urban": {"growth": 0.006, "birth_rate": 0.0155, "old": 0.088, "child_mig": 1.012},
    "town": {"growth": 0.040, "birth_rate": 0.0165, "old": 0.072, "child_mig": 1.020},
    "rural": {"growth": -0.015, "birth_rate": 0.0135, "old": 0.150, "child_mig": 0.990},
}
KINDS = ("urban", "town", "rural")

UNITS = pd.DataFrame(
    [
        # id, name, kind, district, x km, y km (from the centre), population 2025
        ("U01", "东城街道", "urban", "中心城区", 2.5, 0.0, 98000),
        ("U02", "西城街道", "urban", "中心城区", -2.5, 0.0, 92000),
        ("U03", "南湖街道", "urban", "中心城区", -1.25, -2.17, 86000),
        ("U04", "北岭街道", "urban", "中心城区", -1.25, 2.17, 79000),
        ("U05", "文华街道", "urban", "中心城区", 0.0, 0.0, 101000),
        ("U06", "江滨街道", "urban", "中心城区", 1.25, 2.17, 72000),
        ("U07", "新港街道", "urban", "中心城区", 1.25, -2.17, 68000),
        ("U08", "海湾镇", "town", "南部新城", 2.0, -7.5, 78000),
        ("U09", "沙溪镇", "town", "南部新城", -1.9, -7.2, 64000),
        ("U10", "横门镇", "town", "东部新城", 7.3, -2.0, 71000),
        ("U11", "港口镇", "town", "东部新城", 5.3, 5.3, 58000),
        ("U12", "三角镇", "town", "北部片区", 2.0, 7.4, 52000),
        ("U13", "民众镇", "town", "北部片区", -1.9, 7.1, 47000),
        ("U14", "坦洲镇", "town", "南部新城", 5.2, -5.2, 61000),
        ("U15", "黄圃镇", "town", "东部新城", 8.1, 2.2, 43000),
        ("U16", "五桂山镇", "rural", "西部山区", -11.8, -3.0, 26000),
        ("U17", "青山镇", "rural", "西部山区", -10.1, -9.1, 19000),
        ("U18", "云岭镇", "rural", "西部山区", -12.0, 3.4, 17000),
        ("U19", "石门镇", "rural", "西部山区", -10.0, 9.0, 15000),
        ("U20", "龙潭镇", "rural", "西部山区", -4.9, -13.3, 21000),
    ],
    columns=["unit_id", "name", "kind", "district", "x_km", "y_km", "pop_base"],
)

#: the city boundary is an ellipse of about 40 × 36 km, its centre west of the city
#: centre: the western half is mountains
BOUNDARY_SHIFT_KM = -3.0

#: single-stage schools per unit kind (primary, junior): few big schools in the dense
#: streets, many small ones in the mountains
SCHOOLS_PER_KIND = {"urban": (7, 3), "town": (9, 3), "rural": (7, 3)}
#: extra share of the unit's primary pupils for its first (central) primary school
CENTRAL_BOOST = {"urban": 0.0, "town": 0.5, "rural": 0.3}
#: through-train schools (九年一贯制 / 十二年一贯制) by unit
THROUGH_TRAIN = (
    ("U03", "twelve_year"),
    ("U09", "nine_year"),
    ("U12", "nine_year"),
    ("U16", "nine_year"),
    ("U18", "nine_year"),
    ("U20", "nine_year"),
)
#: pupils per class a school aims at (mean, spread); junior classes 4 larger
CLASS_SIZE = {"urban": (42.0, 3.0), "town": (43.0, 3.5), "rural": (24.0, 7.0)}
PRIVATE_SHARE = {"urban": 0.22, "town": 0.22, "rural": 0.0}
#: the rural town left without a boarding school (the one-per-town rule has a gap)
NO_BOARDING_UNIT = "U19"
#: schools planned or under construction: unit, stage, status, opening year, classes
PLANNED = (
    ("U08", "primary", "在建", 2026, 36),
    ("U10", "junior", "规划", 2027, 30),
    ("U14", "primary", "规划", 2028, 30),
    ("U09", "nine_year", "在建", 2027, 36),
)
STAGE_ZH = {
    "primary": "小学",
    "junior": "初中",
    "nine_year": "九年一贯制",
    "twelve_year": "十二年一贯制",
}
STAGE_PREFIX = {"primary": "P", "junior": "J", "nine_year": "N", "twelve_year": "T"}
ROADS = ("人民路", "中山路", "建设路", "文明路", "学府路", "兴华路", "新村路", "东风路", "育才路")

SCENARIO = """\
# Demo scenario for the SYNTHETIC demo city 示例市 (not a real place).
name = "示例市 基准情景 (demo, synthetic)"
description = "Synthetic county-level city near 113.4E 22.55N (generated by data/demo/generate.py); not a real place."
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

[siting]
# The engine stops on work limits, so every machine gets the same plan; the proven gap
# is in siting_summary.csv. time_limit_s is only a safety cap.
time_limit_s = 600
"""


# ---------------------------------------------------------------------------------
# geometry helpers


def _to_wgs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metric (EPSG:4547) coordinates to WGS84 longitude and latitude."""
    tr = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)
    return tr.transform(x, y)


def _origin() -> tuple[float, float]:
    """The city centre in metric coordinates."""
    tr = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True)
    return tr.transform(CENTRE_LON, CENTRE_LAT)


def _to_gcj(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metric coordinates to GCJ-02 longitude and latitude, rounded to 6 decimals."""
    lon, lat = wgs84_to_gcj02(*_to_wgs(x, y))
    return np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)


def points_in(
    poly: Polygon,
    n: int,
    rng: np.random.Generator,
    centre: np.ndarray | None = None,
    sigma: float = 0.0,
    margin: float = 150.0,
) -> np.ndarray:
    """Draw random points inside a polygon by vectorised rejection sampling.

    Parameters
    ----------
    poly : shapely.Polygon
        The polygon, in metric coordinates.
    n : int
        Number of points.
    rng : numpy.random.Generator
        Random source.
    centre, sigma : optional
        When a centre is given, draw around it (normal, ``sigma`` metres) instead of
        uniformly over the polygon's bounding box.
    margin : float
        Keep this many metres away from the polygon's edge.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` array of x, y.
    """
    minx, miny, maxx, maxy = poly.bounds
    inner = poly.buffer(-margin)
    out = np.empty((0, 2))
    while len(out) < n:
        k = 4 * n + 16
        if centre is None:
            xy = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        else:
            xy = rng.normal(centre, sigma, (k, 2))
        out = np.vstack([out, xy[shapely.contains_xy(inner, xy[:, 0], xy[:, 1])]])
    return out[:n]


# ---------------------------------------------------------------------------------
# units, population, births, age tables


def make_units(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Planning units: Voronoi cells of the unit centres, clipped to the city boundary.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source (the wobble of the city boundary).

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id``, ``name``, ``kind``, ``district``, polygons in EPSG:4547; the cells
        tile the boundary without gaps or overlaps (vertices on a 1 m grid).
    """
    ox, oy = _origin()
    pts = np.column_stack([ox + UNITS["x_km"] * 1000, oy + UNITS["y_km"] * 1000])
    ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    radius = 1000 * (19.5 + 2.0 * np.sin(3 * ang) + rng.uniform(-0.8, 0.8, ang.size))
    boundary = Polygon(
        np.column_stack(
            [
                ox + BOUNDARY_SHIFT_KM * 1000 + 1.02 * radius * np.cos(ang),
                oy + 0.9 * radius * np.sin(ang),
            ]
        )
    )
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(pts), extend_to=boundary.buffer(5000))
    )
    # voronoi output order is not the input order: match each centre to its cell
    point_idx, cell_idx = shapely.STRtree(cells).query(shapely.points(pts), predicate="within")
    polys = np.empty(len(UNITS), dtype=object)
    polys[point_idx] = cells[cell_idx]
    polys = shapely.set_precision(shapely.intersection(polys, boundary), 1.0)
    return gpd.GeoDataFrame(
        UNITS[["unit_id", "name", "kind", "district"]].copy(), geometry=list(polys), crs=METRIC
    )


def population_history() -> pd.DataFrame:
    """Resident population totals per unit and year, 2000–2025.

    Urban streets grow slowly, suburban towns about 4 % a year, mountain towns shrink
    about 1.5 % a year (see ``KIND_PARAMS``).

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``year``, ``population`` (int).
    """
    years = np.arange(BIRTH_YEAR0, BASE_YEAR + 1)
    growth = UNITS["kind"].map({k: p["growth"] for k, p in KIND_PARAMS.items()}).to_numpy()
    pop = UNITS["pop_base"].to_numpy(float)[:, None] * (1 + growth[:, None]) ** (
        years[None, :] - BASE_YEAR
    )
    return pd.DataFrame(
        {
            "unit_id": np.repeat(UNITS["unit_id"].to_numpy(), years.size),
            "year": np.tile(years, len(UNITS)),
            "population": np.round(pop).astype("int64").ravel(),
        }
    )


def births_matrix(pop: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Births per unit (rows, in ``UNITS`` order) and year (columns, from 2000).

    Births = population × the kind's birth rate × the Guangdong birth shape × 3 %
    noise.

    Parameters
    ----------
    pop : pandas.DataFrame
        Output of :func:`population_history`.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        ``(n_units, n_years)`` integer births.
    """
    p = pop["population"].to_numpy(float).reshape(len(UNITS), -1)
    rate = UNITS["kind"].map({k: v["birth_rate"] for k, v in KIND_PARAMS.items()}).to_numpy()
    noise = rng.normal(1.0, 0.03, p.shape)
    return np.round(p * rate[:, None] * BIRTH_SHAPE[None, :] * noise).astype("int64")


def child_survival(age: np.ndarray) -> np.ndarray:
    """Share of a birth cohort alive at ``age`` (infant and child mortality ≈ 0.5 %)."""
    return 0.995 - 0.0003 * age


def age_table(totals: np.ndarray, births: np.ndarray, year: int, rng: np.random.Generator):
    """Resident population by unit, sex and single year of age (0–99, 100+) in one year.

    Children (0–14) come from the births of their birth year, surviving
    (:func:`child_survival`) and moving (``child_mig`` per year of age); the 65+ share
    is set per unit kind; working ages take the rest, with a migrant bulge around 31
    in the urban streets and suburban towns and an older, thinner profile in the
    mountains. Male shares: 52.8 % of children (sex ratio at birth about 112), 54.1 %
    of working ages (male-dominated labour migration), falling with age among the
    elderly; together about Guangdong's 113.08.

    Parameters
    ----------
    totals : numpy.ndarray
        Population per unit (``UNITS`` order) in ``year``.
    births : numpy.ndarray
        Output of :func:`births_matrix`.
    year : int
        The year of the table.
    rng : numpy.random.Generator
        Random source (small noise on the male share).

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``year``, ``sex``, ``age_lo``, ``age_hi`` (empty for 100+),
        ``population``.
    """
    kind = UNITS["kind"].to_numpy()
    par = pd.DataFrame([KIND_PARAMS[k] for k in kind])
    n = len(UNITS)
    # children 0–14
    child_age = np.arange(15)
    cohort = births[:, year - child_age - BIRTH_YEAR0]
    mig = par["child_mig"].to_numpy()[:, None] ** child_age[None, :]
    child = cohort * child_survival(child_age)[None, :] * mig
    # elderly 65–100+
    old_age = np.arange(65, MAX_AGE + 1)
    old_w = np.exp(-0.085 * (old_age - 65))
    old = (old_w / old_w.sum())[None, :] * (par["old"].to_numpy() * totals)[:, None]
    # working ages 15–64 take the rest
    work_age = np.arange(15, 65)
    bulge = np.select([kind == "urban", kind == "town"], [1.0, 0.8], 0.0)[:, None]
    migrant = 1.0 + bulge * np.exp(-(((work_age[None, :] - 31) / 8.0) ** 2))
    ageing = 0.8 + 0.5 * np.clip((work_age - 40) / 20, 0, 1)
    work_w = np.where((kind == "rural")[:, None], ageing[None, :], migrant)
    work_w = work_w * (1 - 0.004 * np.clip(work_age - 50, 0, None))[None, :]
    rest = totals - child.sum(axis=1) - old.sum(axis=1)
    work = work_w / work_w.sum(axis=1, keepdims=True) * rest[:, None]
    count = np.round(np.hstack([child, work, old]))
    ages = np.arange(MAX_AGE + 1)
    male_share = np.where(ages < 15, 0.528, np.where(ages < 65, 0.541, 0.47 - 0.002 * (ages - 65)))
    male_share = np.clip(male_share[None, :] + rng.normal(0, 0.004, (n, ages.size)), 0.3, 0.7)
    male = np.round(count * male_share)
    values = np.stack([male, count - male], axis=1)  # (unit, sex, age)
    return pd.DataFrame(
        {
            "unit_id": np.repeat(UNITS["unit_id"].to_numpy(), 2 * ages.size),
            "year": year,
            "sex": np.tile(np.repeat(["male", "female"], ages.size), n),
            "age_lo": np.tile(ages, 2 * n),
            "age_hi": pd.array(np.tile(ages, 2 * n), dtype="Int64"),
            "population": values.astype("int64").ravel(),
        }
    ).assign(age_hi=lambda d: d["age_hi"].mask(d["age_lo"] == MAX_AGE))


# ---------------------------------------------------------------------------------
# schools and enrolment


def place_schools(units: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Existing schools: stage, public / private, position and shares of the unit's pupils.

    Towns gather their schools around the town centre, streets and mountain towns
    spread them out. Each stage's pupils of a unit are shared among its schools
    teaching that stage (Dirichlet shares; the first primary of a town is its big
    central school, through-train schools take a smaller share).

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Output of :func:`make_units`.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    pandas.DataFrame
        One row per school: ``school_id``, ``unit_id``, ``kind``, ``stage``,
        ``public``, ``central``, ``x``, ``y``, ``share_primary``, ``share_junior``,
        ``class_size``.
    """
    through = dict(THROUGH_TRAIN)
    frames = []
    for row in units.itertuples():
        n_p, n_j = SCHOOLS_PER_KIND[row.kind]
        stages = np.array(["primary"] * n_p + ["junior"] * n_j + [through.get(row.unit_id, "")])
        stages = stages[stages != ""]
        centre = np.array([row.geometry.centroid.x, row.geometry.centroid.y])
        xy = points_in(row.geometry, stages.size, rng, centre if row.kind == "town" else None, 2500)
        teaches_p = stages != "junior"
        teaches_j = stages != "primary"
        is_through = np.isin(stages, ["nine_year", "twelve_year"])
        shares = {}
        for part, teaches in (("primary", teaches_p), ("junior", teaches_j)):
            w = np.zeros(stages.size)
            w[teaches] = rng.dirichlet(np.full(teaches.sum(), 3.0))
            w[is_through] = 0.6 / teaches.sum()  # a smaller share for the through-train school
            if part == "primary":
                # the central school: big in a growing town (大校额), the boarding hub in
                # the mountains
                w[0] += CENTRAL_BOOST[row.kind]
            shares[part] = w / w.sum()
        mu, sd = CLASS_SIZE[row.kind]
        private = (rng.random(stages.size) < PRIVATE_SHARE[row.kind]) & (np.arange(stages.size) > 0)
        frames.append(
            pd.DataFrame(
                {
                    "unit_id": row.unit_id,
                    "kind": row.kind,
                    "stage": stages,
                    "public": ~private,
                    "central": np.arange(stages.size) == 0,
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                    "share_primary": shares["primary"],
                    "share_junior": shares["junior"],
                    "class_size": np.clip(rng.normal(mu, sd, stages.size), 10, 60),
                }
            )
        )
    s = pd.concat(frames, ignore_index=True)
    seq = s.groupby("stage", sort=False).cumcount() + 1
    s.insert(0, "school_id", s["stage"].map(STAGE_PREFIX) + seq.map("{:03d}".format))
    return s


def make_enrolment(
    schools: pd.DataFrame, births: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Pupils and classes per school, year and grade (2016–2025), vectorised.

    A unit's pupils in grade g in year y are its births of year y − 5 − g, surviving
    and moving like the children of the age table (``child_mig`` per year of age), so
    grade 1 = births six years earlier × a birth-to-entry ratio of 0.94 (mountains)
    to 1.13 (migrant-receiving towns), and the grade progression ratio is
    ``child_mig`` (0.99–1.02). Each school takes its share, with 2 % noise; classes
    are the pupils over the school's class size, rounded (at least one).

    Parameters
    ----------
    schools : pandas.DataFrame
        Output of :func:`place_schools`.
    births : numpy.ndarray
        Output of :func:`births_matrix`.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    pandas.DataFrame
        ``school_id``, ``year``, ``grade``, ``students``, ``classes`` (rows with
        pupils only), sorted.
    """
    grades = np.arange(1, 10)
    n_s, n_y, n_g = len(schools), ENROL_YEARS.size, grades.size
    unit_row = schools["unit_id"].map(pd.Series(np.arange(len(UNITS)), UNITS["unit_id"]))
    unit_row = unit_row.to_numpy()
    mig = schools["kind"].map({k: v["child_mig"] for k, v in KIND_PARAMS.items()}).to_numpy()
    # (school, year, grade) grids
    year = np.broadcast_to(ENROL_YEARS[None, :, None], (n_s, n_y, n_g))
    grade = np.broadcast_to(grades[None, None, :], (n_s, n_y, n_g))
    age = 5 + grade
    cohort = births[unit_row[:, None, None], year - age - BIRTH_YEAR0]
    pupils = cohort * child_survival(age) * mig[:, None, None] ** age
    share = np.where(
        grade <= 6,
        schools["share_primary"].to_numpy()[:, None, None],
        schools["share_junior"].to_numpy()[:, None, None],
    )
    junior = grade >= 7
    size = schools["class_size"].to_numpy()[:, None, None] + 4.0 * junior
    students = np.round(share * pupils * rng.normal(1.0, 0.02, (n_s, n_y, n_g)))
    students = np.maximum(students, 0).astype("int64")
    classes = np.maximum(np.round(students / size), 1).astype("int64")
    enr = pd.DataFrame(
        {
            "school_id": np.repeat(schools["school_id"].to_numpy(), n_y * n_g),
            "year": year.ravel(),
            "grade": grade.ravel(),
            "students": students.ravel(),
            "classes": classes.ravel(),
        }
    )
    enr = enr[enr["students"] > 0]
    return enr.sort_values(["school_id", "year", "grade"], ignore_index=True)


def snapshot(schools: pd.DataFrame, enrolment: pd.DataFrame) -> pd.DataFrame:
    """Add base-year classes and pupils per stage (sums over grades) to the schools.

    Parameters
    ----------
    schools : pandas.DataFrame
        Output of :func:`place_schools`.
    enrolment : pandas.DataFrame
        Output of :func:`make_enrolment`.

    Returns
    -------
    pandas.DataFrame
        ``schools`` with ``classes_primary``, ``students_primary``,
        ``classes_junior``, ``students_junior``.
    """
    snap = enrolment[enrolment["year"] == BASE_YEAR]
    part = np.where(snap["grade"] <= 6, "primary", "junior")
    agg = snap.groupby(["school_id", part])[["students", "classes"]].sum().unstack(fill_value=0)
    s = schools.copy()
    for stage in ("primary", "junior"):
        for col in ("classes", "students"):
            s[f"{col}_{stage}"] = s["school_id"].map(agg[(col, stage)]).fillna(0).astype("int64")
    return s


def planned_schools(units: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Public schools under construction (在建) or planned (规划), at their planned size.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Output of :func:`make_units`.
    rng : numpy.random.Generator
        Random source (positions).

    Returns
    -------
    pandas.DataFrame
        Same columns as the existing schools' snapshot, with ``status`` and
        ``opening_year``; pupils 0.
    """
    plan = pd.DataFrame(PLANNED, columns=["unit_id", "stage", "status", "opening_year", "cl"])
    ugeo = units.set_index("unit_id").geometry
    xy = np.vstack([points_in(ugeo[u], 1, rng) for u in plan["unit_id"]])
    nine = plan["stage"] == "nine_year"
    return pd.DataFrame(
        {
            "school_id": [f"X{k + 1:03d}" for k in range(len(plan))],
            "unit_id": plan["unit_id"],
            "kind": plan["unit_id"].map(units.set_index("unit_id")["kind"]),
            "stage": plan["stage"],
            "public": True,
            "central": False,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "classes_primary": np.select([plan["stage"] == "primary", nine], [plan["cl"], 24], 0),
            "classes_junior": np.select([plan["stage"] == "junior", nine], [plan["cl"], 12], 0),
            "students_primary": 0,
            "students_junior": 0,
            "status": plan["status"],
            "opening_year": plan["opening_year"],
        }
    )


def add_resources(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Land, rooms, equipment, teachers and boarding of the existing schools.

    Most schools sit near the 优质均衡 thresholds, some fall short; sports grounds are
    cramped in the dense centre and generous in the mountains (the usual reason a
    county fails the 差异系数 limit on that indicator). Boarding: the junior, through-
    train and central primary schools of the mountain towns, except one town
    (``NO_BOARDING_UNIT``). Planned schools get only a land area (their planned size).

    Parameters
    ----------
    schools : pandas.DataFrame
        Existing and planned schools with per-stage classes and pupils.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    pandas.DataFrame
        ``schools`` with the resource columns of the schema.
    """
    s = schools.copy()
    n = len(s)
    pupils = (s["students_primary"] + s["students_junior"]).to_numpy(float)
    classes = (s["classes_primary"] + s["classes_junior"]).to_numpy(float)
    junior_share = np.where(pupils > 0, s["students_junior"] / np.maximum(pupils, 1), 0)
    rural = (s["kind"] == "rural").to_numpy()
    urban = (s["kind"] == "urban").to_numpy()

    def per(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    s["teachers_qualified"] = np.round(pupils * (per(3.9, 6.0) + 1.2 * junior_share) / 100)
    s["teachers_backbone"] = np.round(pupils * per(0.75, 1.6) / 100)
    s["teachers_pe_arts"] = np.round(pupils * per(0.7, 1.4) / 100 + rural * 1)
    s["teaching_area"] = np.round(pupils * (per(4.0, 6.0) + 1.4 * junior_share + rural * 3.0), -1)
    sports = np.where(urban, per(2.5, 8.0), np.where(rural, per(14.0, 40.0), per(6.5, 12.0)))
    s["sports_area"] = np.round(pupils * (sports + 2.8 * junior_share), -1)
    s["equipment_value"] = np.round(pupils * (per(1700, 3200) + 500 * junior_share), -3)
    s["multimedia_rooms"] = np.round(classes * per(0.95, 1.15))
    s["music_rooms"] = np.maximum(np.ceil(classes / 12) - (per(0, 1) < 0.15), 1)
    s["art_rooms"] = np.maximum(np.ceil(classes / 12) - (per(0, 1) < 0.15), 1)
    s["land_area"] = np.round(
        np.maximum(pupils, 270) * np.where(rural, per(25, 45), per(9, 20)), -1
    )
    planned = (s["status"] != "现状").to_numpy()
    resource = [
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
    s.loc[planned, resource] = np.nan
    planned_land = s["classes_primary"] * 45 * 12 + s["classes_junior"] * 50 * 14
    s["land_area"] = np.where(planned, planned_land, s["land_area"])
    s["boarding"] = (
        rural
        & ((s["stage"] != "primary") | s["central"]).to_numpy()
        & (s["unit_id"] != NO_BOARDING_UNIT).to_numpy()
        & ~planned
    )
    return s


def school_names(s: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """Invented school names: 东城第一小学, 海湾中心小学, 沙溪学校, 南湖育才外国语学校（民办）…"""
    stage = s["stage"]
    place = s["unit_id"].map(
        units.set_index("unit_id")["name"].str.replace(r"(街道|镇)$", "", regex=True)
    )
    centre = (stage == "primary") & s["central"] & (s["kind"] != "urban")
    seq = s.groupby([s["unit_id"], stage, s["public"], centre], sort=False).cumcount().to_numpy()
    ordinal = np.array(list("一二三四五六七八九十"))
    public_names = {
        "primary": "第" + pd.Series(ordinal[seq % 10], index=s.index) + "小学",
        "junior": "第" + pd.Series(ordinal[seq % 10], index=s.index) + "中学",
    }
    private_brand = np.array(["育才", "英才", "博雅", "启明"])[seq % 4]
    name = np.select(
        [
            ~s["public"] & (stage == "primary"),
            ~s["public"],
            stage == "nine_year",
            stage == "twelve_year",
            centre,
            stage == "primary",
        ],
        [
            place + private_brand + "小学（民办）",
            place + private_brand + "外国语学校（民办）",
            place + "学校",
            place + "实验学校",
            place + "中心小学",
            place + public_names["primary"],
        ],
        place + public_names["junior"],
    )
    # a planned school: 海湾新建小学（在建）
    new = s["status"] != "现状"
    planned_suffix = stage.map({"primary": "小学", "junior": "中学", "nine_year": "九年一贯制学校"})
    name = np.where(new, place + "新建" + planned_suffix + "（" + s["status"] + "）", name)
    return pd.Series(name, index=s.index)


def schools_table(
    s: pd.DataFrame, units: gpd.GeoDataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """The schools as an Amap-style export: Chinese headers and values, GCJ-02.

    Single-stage schools fill 班级数 / 在校生数; through-train schools fill the
    per-stage columns (小学部… / 初中部…, compulsory part only).

    Parameters
    ----------
    s : pandas.DataFrame
        Schools with resources (:func:`add_resources`).
    units : geopandas.GeoDataFrame
        Output of :func:`make_units`.
    rng : numpy.random.Generator
        Random source (addresses).

    Returns
    -------
    pandas.DataFrame
        The table written to ``schools.csv``.
    """
    glon, glat = _to_gcj(s["x"].to_numpy(), s["y"].to_numpy())
    single = s["stage"].isin(["primary", "junior"]).to_numpy()
    junior = (s["stage"] == "junior").to_numpy()

    def ints(a) -> pd.array:
        return pd.array(np.asarray(a, dtype=float), dtype="Float64").round().astype("Int64")

    def only(mask: np.ndarray, a) -> pd.array:
        return ints(np.where(mask, a, np.nan))

    uname = s["unit_id"].map(units.set_index("unit_id")["name"])
    road = np.array(ROADS)[rng.integers(0, len(ROADS), len(s))]
    number = rng.integers(1, 300, len(s)).astype(str)
    return pd.DataFrame(
        {
            "学校代码": s["school_id"],
            "学校名称": school_names(s, units),
            "学段": s["stage"].map(STAGE_ZH),
            "办学性质": np.where(s["public"], "公办", "民办"),
            "状态": s["status"],
            "开办年份": ints(s["opening_year"]),
            "经度": glon,
            "纬度": glat,
            "班级数": only(single, np.where(junior, s["classes_junior"], s["classes_primary"])),
            "在校生数": only(single, np.where(junior, s["students_junior"], s["students_primary"])),
            "小学部班级数": only(~single, s["classes_primary"]),
            "小学部在校生数": only(~single, s["students_primary"]),
            "初中部班级数": only(~single, s["classes_junior"]),
            "初中部在校生数": only(~single, s["students_junior"]),
            "占地面积": ints(s["land_area"]),
            "教学及辅助用房面积": ints(s["teaching_area"]),
            "体育运动场馆面积": ints(s["sports_area"]),
            "教学仪器设备值": ints(s["equipment_value"]),
            "网络多媒体教室数": ints(s["multimedia_rooms"]),
            "高于规定学历教师数": ints(s["teachers_qualified"]),
            "县级以上骨干教师数": ints(s["teachers_backbone"]),
            "体育艺术专任教师数": ints(s["teachers_pe_arts"]),
            "音乐专用教室数": ints(s["music_rooms"]),
            "美术专用教室数": ints(s["art_rooms"]),
            "是否寄宿制": np.where(s["boarding"], "是", "否"),
            "地址": "广东省示例市" + uname + road + number + "号",
        }
    )


# ---------------------------------------------------------------------------------
# developments and sites


def make_developments(units: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """About 30 planned housing projects (住宅项目), mostly in the growing towns.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Output of :func:`make_units`.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    pandas.DataFrame
        The table written to ``developments.csv`` (Chinese headers, GCJ-02).
    """
    n = 30
    weights = units["kind"].map({"urban": 0.8, "town": 2.5, "rural": 0.15}).to_numpy(float)
    which = np.sort(rng.choice(len(units), size=n, p=weights / weights.sum()))
    xy = np.vstack([points_in(units.geometry.iloc[i], 1, rng) for i in which])
    lon, lat = _to_gcj(xy[:, 0], xy[:, 1])
    place = units["name"].str.replace(r"(街道|镇)$", "", regex=True).to_numpy()[which]
    estate = np.array(["花园", "新城", "雅苑", "华府", "湾畔"])[np.arange(n) % 5]
    k = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            "项目编号": [f"D{i:03d}" for i in k],
            "项目名称": [f"{p}{e}{i}期" for p, e, i in zip(place, estate, k, strict=True)],
            "住宅户数": rng.integers(3, 31, n) * 100,
            "竣工年份": rng.integers(2026, 2033, n),
            "容积率": np.round(rng.uniform(2.0, 3.5, n), 1),
            "经度": lon,
            "纬度": lat,
        }
    )


def make_sites(units: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """About 80 plots of reserved education land (教育用地储备), rectangles of 0.8–6 ha.

    More plots in the growing towns, a few in the mountains; land cost per m² by
    unit kind. Areas are measured in EPSG:4547.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Output of :func:`make_units`.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``name``, ``land_area``, ``earliest_year``, ``stage``,
        ``land_cost``; polygons in EPSG:4547.
    """
    n = 80
    weights = units["kind"].map({"urban": 1.2, "town": 2.2, "rural": 0.35}).to_numpy(float)
    which = np.sort(rng.choice(len(units), size=n, p=weights / weights.sum()))
    areas = np.exp(rng.uniform(np.log(8000), np.log(60000), n))
    aspect = rng.uniform(0.6, 1.6, n)
    w = np.sqrt(areas * aspect)
    h = areas / w
    # centres far enough inside the unit that the whole rectangle fits
    cx, cy = np.vstack(
        [
            points_in(units.geometry.iloc[i], 1, rng, margin=float(np.hypot(w[k], h[k]) / 2 + 10))
            for k, i in enumerate(which)
        ]
    ).T
    rects = shapely.set_precision(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), 0.01)
    kind = units["kind"].to_numpy()[which]
    cost_per_m2 = pd.Series({"urban": 9000.0, "town": 3500.0, "rural": 800.0})[kind].to_numpy()
    area = np.round(shapely.area(rects))
    k = np.arange(1, n + 1)
    return gpd.GeoDataFrame(
        {
            "site_id": [f"E{i:03d}" for i in k],
            "name": [
                f"{u}教育用地{i:02d}"
                for u, i in zip(units["name"].to_numpy()[which], k, strict=True)
            ],
            "land_area": area,
            "earliest_year": rng.integers(2026, 2031, n),
            "stage": rng.choice(
                ["小学", "初中", "九年一贯制", "不限"], size=n, p=[0.45, 0.3, 0.1, 0.15]
            ),
            "land_cost": np.round(area * cost_per_m2, -4),
        },
        geometry=rects,
        crs=METRIC,
    )


# ---------------------------------------------------------------------------------
# writing


def _csv(df: pd.DataFrame, path: Path, bom: bool = False) -> None:
    """Write a CSV with ``\\n`` line ends (UTF-8, with a BOM for the Amap-style exports)."""
    df.to_csv(path, index=False, encoding="utf-8-sig" if bom else "utf-8", lineterminator="\n")


def _gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write one GeoPackage layer in WGS84, coordinates on a 1e-6° grid, fixed timestamp."""
    if path.exists():
        path.unlink()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    gdf = gdf.to_crs(4326)
    gdf = gdf.set_geometry(shapely.set_precision(gdf.geometry.values, 10.0**-COORD_DECIMALS))
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")


def generate(out: Path, *, seed: int = SEED, verbose: bool = True) -> dict[str, Path]:
    """Build the demo city and write every file.

    Parameters
    ----------
    out : pathlib.Path
        Output folder (created if missing; files in it are overwritten).
    seed : int
        Seed of the one random generator.
    verbose : bool
        Print the sanity summary to stderr.

    Returns
    -------
    dict
        Input name → path written (``scenario`` included).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    units = make_units(rng)
    pop = population_history()
    births = births_matrix(pop, rng)
    totals = pop.pivot(index="unit_id", columns="year", values="population").loc[UNITS["unit_id"]]
    ages = pd.concat(
        [age_table(totals[y].to_numpy(float), births, y, rng) for y in AGE_YEARS],
        ignore_index=True,
    )
    # population totals equal the age tables in the years that have them
    tot = ages.groupby(["unit_id", "year"])["population"].sum()
    pop = pop.set_index(["unit_id", "year"])
    pop.loc[tot.index, "population"] = tot
    pop = pop.reset_index()
    births_long = pd.DataFrame(
        {
            "unit_id": np.repeat(UNITS["unit_id"].to_numpy(), BIRTH_SHAPE.size),
            "year": np.tile(np.arange(BIRTH_YEAR0, BIRTH_YEAR0 + BIRTH_SHAPE.size), len(UNITS)),
            "births": births.ravel(),
        }
    )

    schools = place_schools(units, rng)
    enrolment = make_enrolment(schools, births, rng)
    schools = snapshot(schools, enrolment).assign(status="现状", opening_year=np.nan)
    schools = pd.concat([schools, planned_schools(units, rng)], ignore_index=True)
    schools = add_resources(schools, rng)
    school_csv = schools_table(schools, units, rng)
    developments = make_developments(units, rng)
    sites = make_sites(units, rng)

    files = {
        name: out / f"{name}.{ext}"
        for name, ext in (
            ("units", "gpkg"),
            ("population", "csv"),
            ("population_by_age", "csv"),
            ("births", "csv"),
            ("schools", "csv"),
            ("enrolment", "csv"),
            ("developments", "csv"),
            ("sites", "gpkg"),
            ("scenario", "toml"),
        )
    }
    _gpkg(units, files["units"], "units")
    _csv(pop[pop["year"].isin(HISTORY)], files["population"])
    _csv(ages, files["population_by_age"])
    _csv(births_long[births_long["year"].isin(HISTORY)], files["births"])
    _csv(school_csv, files["schools"], bom=True)
    _csv(enrolment, files["enrolment"])
    _csv(developments, files["developments"], bom=True)
    _gpkg(sites, files["sites"], "sites")
    files["scenario"].write_bytes(SCENARIO.encode("utf-8"))
    if verbose:
        print(summary(pop, ages, births_long, schools, sites), file=sys.stderr)
    return files


def summary(
    pop: pd.DataFrame,
    ages: pd.DataFrame,
    births: pd.DataFrame,
    schools: pd.DataFrame,
    sites: gpd.GeoDataFrame,
) -> str:
    """The sanity summary: calibration reached and the problems planted for the planner."""
    base = pop.loc[pop["year"] == BASE_YEAR, "population"].sum()
    a = ages[ages["year"] == BASE_YEAR]
    total = a["population"].sum()
    child = a.loc[a["age_lo"] <= 14, "population"].sum() / total
    old = a.loc[a["age_lo"] >= 65, "population"].sum() / total
    by_sex = a.groupby("sex")["population"].sum()
    ex = schools[schools["status"] == "现状"]
    per_p = ex["students_primary"] / ex["classes_primary"].where(ex["classes_primary"] > 0)
    per_j = ex["students_junior"] / ex["classes_junior"].where(ex["classes_junior"] > 0)
    pupils = ex["students_primary"] + ex["students_junior"]
    seats = ex["classes_primary"] * 45 + ex["classes_junior"] * 50
    counts = (
        schools.assign(kind_of=np.where(schools["public"], "公办", "民办"))
        .groupby(["stage", "kind_of"])
        .size()
        .unstack(fill_value=0)
        .reindex(list(STAGE_ZH), fill_value=0)
    )
    stage_lines = ", ".join(
        f"{STAGE_ZH[st]} {r.get('公办', 0)} 公办 + {r.get('民办', 0)} 民办"
        for st, r in counts.iterrows()
    )
    b = births.groupby("year")["births"].sum()
    boarding_towns = schools.loc[schools["boarding"], "unit_id"].nunique()
    return "\n".join(
        [
            "示例市 Demo City (SYNTHETIC, not a real place)",
            f"  population {BASE_YEAR}: {base:,}; 0–14 {child:.2%} (GD 2020: 18.85 %), "
            f"65+ {old:.2%} (8.58 %), sex ratio {by_sex['male'] / by_sex['female'] * 100:.1f} (113.08)",
            f"  births 2016 {b[2016]:,} / 2017 {b[2017]:,} / 2023 {b[2023]:,} / 2025 {b[2025]:,} "
            f"(2025 / 2017 = {b[2025] / b[2017]:.2f})",
            f"  schools ({len(ex)} existing, {len(schools) - len(ex)} planned / in construction): {stage_lines}",
            f"  oversized classes (average above cap): primary {(per_p > 45).sum()}, junior {(per_j > 50).sum()}; "
            f"schools above 2,000 pupils: {(pupils > 2000).sum()}; below half full: {(pupils < 0.5 * seats).sum()}",
            f"  boarding schools {int(schools['boarding'].sum())} in {boarding_towns} towns; sites {len(sites)}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python data/demo/generate.py [--out DIR]``."""
    ap = argparse.ArgumentParser(description="Generate the SYNTHETIC demo city 示例市.")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="output folder"
    )
    args = ap.parse_args(argv)
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
