"""Checks across inputs (跨表校验): references, locations, years, stages.

Pure functions on canonical tables (each with its ``_row`` column). They return
new tables (unit ids filled in from locations, per-stage school columns
derived) and the problems found; nothing is read or written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.errors import Problem
from planner.geo.crs import DATUMS, choose_compute_crs, from_datum, to_datum
from planner.inputs.canonical import RowReporter

__all__ = ["cross_check", "derive_school_stages", "detect_datum_shift"]

#: which stage columns a school type has
SCHOOL_STAGES = {
    "primary": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
    "twelve_year": ("primary", "junior"),
}
#: pupils per class above which a record is almost surely a typing error
IMPLAUSIBLE_CLASS_SIZE = 90
#: tolerated relative difference between the age table and the population totals
AGE_TOTAL_TOLERANCE = 0.02
#: residents per km² above which a unit's population cannot be right (the densest city
#: districts in the world reach about 50,000–60,000; Macao as a whole about 21,000)
MAX_DENSITY_PER_KM2 = 150_000
#: a year's population this many times above or below the unit's median is a typing or
#: unit error (no planning unit grows or shrinks 20-fold)
MAX_JUMP = 20.0
#: a unit population below this (and above 0) is most likely in 万人
SMALL_POPULATION = 100
#: a school or site area below this (m²) is most likely in 亩 or 公顷
SMALL_AREA_M2 = 200.0
#: equipment value per pupil below this (yuan) is most likely in 万元
SMALL_EQUIPMENT_PER_PUPIL = 10.0
#: pupils of a stage per resident of its ages, city-wide, above which the counts disagree
MAX_PUPILS_PER_CHILD = 1.5
#: share of located points that must agree with their stated unit for a datum to be
#: taken as decisive evidence (and the layer converted)
DATUM_DECISIVE_SHARE = 0.95


def _with_drop(df: pd.DataFrame) -> pd.DataFrame:
    if "_drop" in df.columns:
        return df
    df = df.copy()
    df["_drop"] = pd.Series(pd.NA, index=df.index, dtype="string")
    return df


def _drop(df: pd.DataFrame, mask, reason: str) -> None:
    """Keep the rows out (in place), unless they are already kept out for another reason."""
    m = np.asarray(mask, dtype=bool) & df["_drop"].isna().to_numpy()
    if m.any():
        df.loc[m, "_drop"] = reason


def _locate_ids(points: gpd.GeoSeries, units: gpd.GeoDataFrame) -> pd.Series:
    """The unit_id each point lies in (NA outside every unit), aligned to ``points``."""
    pts = gpd.GeoDataFrame({"_pos": np.arange(len(points))}, geometry=points.to_numpy(), crs=4326)
    ok = pts.geometry.notna() & ~pts.geometry.is_empty
    hit = gpd.sjoin(pts[ok], units[["unit_id", "geometry"]], how="left", predicate="within")
    hit = hit.sort_values(["_pos", "unit_id"]).drop_duplicates("_pos")
    out = pd.Series(pd.NA, index=range(len(points)), dtype="string")
    out.iloc[hit["_pos"].to_numpy()] = hit["unit_id"].astype("string").to_numpy()
    return out


def detect_datum_shift(
    df: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    file: str,
    declared: str,
    *,
    what: str = "points",
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Test whether a layer's offset to the units is another datum's shift (GCJ-02, BD-09).

    The layer was read as ``declared``. For each other datum *H*, its coordinates are
    taken back to what the file held and read as *H* instead; the hypothesis that makes
    the layer agree best with the units wins. Agreement is the number of records that
    lie in the unit their own ``unit_id`` names (when at least five name one), else the
    number that lie in any unit.

    When *H* beats the declared datum by at least two records (and 2 %), a ``datum_shift``
    problem gives the evidence (both counts, the size of the shift). When *H* also makes
    at least :data:`DATUM_DECISIVE_SHARE` of the records agree, the layer is converted as
    *H* (the message says so); otherwise it is used as declared.

    Parameters
    ----------
    df : GeoDataFrame
        The layer (WGS84, as read), with ``unit_id`` (the stated unit, may be NA).
    units : GeoDataFrame
        The planning units (WGS84).
    file : str
        The layer's file label.
    declared : {"WGS84", "GCJ-02", "BD-09"}
        The datum the layer was read in.
    what : str
        What the records are, for the message (``schools``).

    Returns
    -------
    df : GeoDataFrame
        The layer, converted when the evidence is decisive.
    problems : list of Problem
    """
    geom = df.geometry
    ok = (geom.notna() & ~geom.is_empty).to_numpy()
    if ok.sum() < 3 or not len(units):
        return df, []
    pts = geom.where(ok).representative_point()
    stated = df["unit_id"].astype("string")
    ref = ok & stated.notna().to_numpy()
    mode = "stated" if ref.sum() >= 5 else "inside"
    if mode == "inside":
        ref = ok
    n = int(ref.sum())
    x0, y0 = pts.x.to_numpy(), pts.y.to_numpy()
    rx, ry = to_datum(x0, y0, declared)

    def score(x: np.ndarray, y: np.ndarray) -> int:
        loc = _locate_ids(gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326), units)
        if mode == "stated":
            same = loc.fillna("\x00").to_numpy(dtype=object) == stated.fillna("\x01").to_numpy(
                dtype=object
            )
            agree = same & ref
        else:
            agree = loc.notna().to_numpy() & ref
        return int(np.nansum(agree.astype(bool)))

    base = score(x0, y0)
    if base == n:  # every record agrees as declared: nothing can do better
        return df, []
    best, best_score, best_xy = None, base, None
    for h in DATUMS:
        if h == declared:
            continue
        hx, hy = from_datum(rx, ry, h)
        sc = score(np.asarray(hx), np.asarray(hy))
        if sc > best_score:
            best, best_score, best_xy = h, sc, (np.asarray(hx), np.asarray(hy))
    gain = best_score - base
    # without stated units the evidence is only points entering the units' outline: ask for
    # more of it, and never convert on it
    need = max(2, 0.02 * n) if mode == "stated" else max(3, 0.05 * n)
    if best is None or gain < need:
        return df, []
    # metres per degree: 111,320 × cos(latitude) east, about 110,574 north
    dx = (best_xy[0] - x0) * 111_320.0 * np.cos(np.radians(y0))
    dy = (best_xy[1] - y0) * 110_574.0
    shift_m = float(np.nanmedian(np.hypot(dx, dy)))
    how = "lie in the unit their unit_id names" if mode == "stated" else "lie in a planning unit"
    evidence = (
        f"as {declared}, {base} of {n} {what} {how}; read as {best}, {best_score} of {n} do "
        f"(a shift of about {shift_m:,.0f} m)"
    )
    decisive = mode == "stated" and best_score >= DATUM_DECISIVE_SHARE * n
    crs_word = {"WGS84": "WGS84", "GCJ-02": "GCJ-02", "BD-09": "BD-09"}[best]
    problem = Problem(
        file,
        f"{Path(file).name} looks like {best} although it says {declared} — {evidence}",
        f'set crs = "{crs_word}" for this input (or fix the file); if the units layer is the '
        "shifted one, set its crs instead"
        + ("" if mode == "stated" else "; a unit_id (所属单元) column would make the test sharper"),
        severity="error" if decisive else "warning",
        column="geometry",
        code="datum_shift",
        action=(
            f"converted as {best} (decisive evidence); set the crs to confirm"
            if decisive
            else "used as declared (the evidence is not decisive)"
        ),
    )
    if not decisive:
        return df, [problem]
    out = df.copy()
    raw = gpd.GeoSeries(out.geometry.values, crs=4326)

    def _convert(gs: gpd.GeoSeries) -> gpd.GeoSeries:
        from planner.geo.crs import from_datum_geoseries, to_datum_geoseries

        return from_datum_geoseries(to_datum_geoseries(gs, declared), best)

    out = out.set_geometry(_convert(raw).values, crs=4326)
    return out, [problem]


def _unit_area_km2(units: gpd.GeoDataFrame) -> pd.Series:
    g = units[units.geometry.notna() & ~units.geometry.is_empty]
    if not len(g):
        return pd.Series(dtype=float)
    metric = g.geometry.to_crs(choose_compute_crs(g.geometry.representative_point().x.to_numpy()))
    return pd.Series(metric.area.to_numpy() / 1e6, index=g["unit_id"].to_numpy())


def _check_population_values(
    pop: pd.DataFrame, units: gpd.GeoDataFrame, file: str
) -> list[Problem]:
    """Populations no place has: density, 20-fold jumps, figures in 万人 (rows kept out)."""
    rep = _reporter(file, pop, "unit_id")
    live = pop["_drop"].isna() & pop["population"].notna()
    v = pop["population"].astype("Float64")
    small = live & (v > 0) & (v < SMALL_POPULATION)
    # a few small units may be real (an industrial park); a whole file of them is in 万人
    whole_file = bool(v[live].median() < SMALL_POPULATION) if live.any() else False
    rep.report(
        small,
        "population",
        lambda p: (
            f"a population of {v.iloc[p]:g} for a planning unit: is it in 万人?"
            + (" (so are most of the file's)" if whole_file else "")
        ),
        'declare the unit: units = { population = "万人" } for this input',
        "suspicious_unit",
        severity="error" if whole_file else "warning",
        action="the row is kept out" if whole_file else "used as given",
    )
    if whole_file:
        _drop(pop, small, "suspicious_unit|population")
    try:
        area = _unit_area_km2(units)
    except Exception:  # no usable unit polygon: reported with the units
        area = pd.Series(dtype=float)
    a = pop["unit_id"].map(area).astype(float)
    dens = v.astype(float) / a
    dense = live & ~small & (dens > MAX_DENSITY_PER_KM2).fillna(False)
    rep.report(
        dense,
        "population",
        lambda p: (
            f"{v.iloc[p]:,.0f} residents on {a.iloc[p]:,.2f} km² is {dens.iloc[p]:,.0f} "
            f"per km²; no place has more than about {MAX_DENSITY_PER_KM2:,} per km²"
        ),
        "check the value (an extra digit? persons instead of 万人?) and the unit's polygon",
        "implausible_value",
        action="the row is kept out",
    )
    _drop(pop, dense, "implausible_value|population")
    ok = pop["_drop"].isna() & v.notna() & (v > 0)
    med = v.where(ok).groupby(pop["unit_id"]).transform("median").astype(float)
    cnt = v.where(ok).groupby(pop["unit_id"]).transform("count")
    ratio = v.astype(float) / med
    jump = ok & (cnt >= 3) & ((ratio > MAX_JUMP) | (ratio < 1 / MAX_JUMP)).fillna(False)
    rep.report(
        jump,
        "population",
        lambda p: (
            f"{v.iloc[p]:,.0f} is {ratio.iloc[p]:.3g} times the unit's usual "
            f"{med.iloc[p]:,.0f} (other years)"
        ),
        "check the value: a typing error, or another unit (万人 / 人)?",
        "implausible_value",
        action="the row is kept out",
    )
    _drop(pop, jump, "implausible_value|population")
    return rep.problems


def _check_pupils_against_ages(
    schools: pd.DataFrame,
    age: pd.DataFrame,
    file: str,
    base_year: int,
    stage_of_grade: Mapping[int, str],
) -> list[Problem]:
    """City-wide pupils of each stage against the residents of its ages (base year)."""
    a = age.loc[age["_drop"].isna() & (age["year"] <= base_year)] if "_drop" in age else age
    if not len(a):
        return []
    year = int(a["year"].max())
    a = a.loc[
        (a["year"] == year) & (a["sex"] != "total")
        if (a["sex"] != "total").any()
        else (a["year"] == year)
    ]
    ex = schools.loc[schools["status"] == "existing"]
    probs = []
    for stage in dict.fromkeys(stage_of_grade.values()):
        grades = [g for g, s in stage_of_grade.items() if s == stage]
        lo, hi = min(grades) + 5, max(grades) + 5  # grade 1 ≈ age 6
        single = a.loc[a["age_hi"].notna() & (a["age_lo"] >= lo) & (a["age_hi"] <= hi)]
        children = float(single["population"].sum())
        pupils = float(ex[f"students_{stage}"].astype("Float64").fillna(0).sum())
        if children <= 0 or pupils <= 0:
            continue
        ratio = pupils / children
        if ratio > MAX_PUPILS_PER_CHILD:
            probs.append(
                Problem(
                    file,
                    f"the schools have {pupils:,.0f} {stage} pupils but the units have "
                    f"{children:,.0f} residents aged {lo}–{hi} in {year} ({ratio:.2f} pupils per "
                    "child)",
                    "check the pupil counts (a doubled row? classes and pupils swapped?) and "
                    "the age table",
                    severity="warning",
                    column=f"students_{stage}",
                    code="implausible_value",
                    action="used as given",
                )
            )
    return probs


def _reporter(file: str, df: pd.DataFrame, id_col: str | None) -> RowReporter:
    ids = df[id_col].astype("string") if id_col and id_col in df.columns else None
    return RowReporter(file, df["_row"].to_numpy(), ids)


def derive_school_stages(schools: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Fill ``classes_<stage>`` / ``students_<stage>`` from the single-stage columns.

    A primary school's ``classes`` become ``classes_primary`` and so on; nine- and
    twelve-year schools must give the per-stage columns (小学部 / 初中部).
    """
    s = schools.copy()
    rep = _reporter(file, s, "school_id")
    for stage in ("primary", "junior"):
        single = s["stage"] == stage
        for what in ("classes", "students"):
            col = f"{what}_{stage}"
            fill = single & s[col].isna()
            s.loc[fill, col] = s.loc[fill, what]
            other = "junior" if stage == "primary" else "primary"
            wrong = single & s[f"{what}_{other}"].fillna(0).gt(0)
            rep.report(
                wrong,
                f"{what}_{other}",
                f"a {stage} school with {other} {what}",
                f"check 学段 (stage) of this school, or clear the {other} columns",
                "stage_mismatch",
                severity="warning",
            )
    multi = s["stage"].isin(["nine_year", "twelve_year"])
    nosplit = multi & s["classes_primary"].isna() & s["classes_junior"].isna()
    rep.report(
        nosplit,
        "classes",
        lambda p: f"a {s['stage'].iloc[p]} school without per-stage classes",
        "give 小学部班级数 / 初中部班级数 and 小学部在校生数 / 初中部在校生数 (classes_primary, "
        "classes_junior, students_primary, students_junior)",
        "missing_stage_split",
    )
    for stage in ("primary", "junior"):
        for what in ("classes", "students"):
            col = f"{what}_{stage}"
            teaches = s["stage"].map(lambda v, st=stage: st in SCHOOL_STAGES.get(v, ()))
            # a stage the school does not teach has 0; a bad value in a taught stage stays NA
            s[col] = s[col].astype("Int64").where(teaches.astype(bool), 0)
    return s.drop(columns=["classes", "students"]), rep.problems


def cross_check(
    tables: Mapping[str, pd.DataFrame],
    files: Mapping[str, str],
    base_year: int,
    *,
    datums: Mapping[str, str | None] | None = None,
    stage_of_grade: Mapping[int, str],
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Check the inputs against each other.

    Parameters
    ----------
    tables : mapping
        Canonical tables by input name (``units``, ``schools`` …), each with ``_row``.
    files : mapping
        The file label of each input, used in messages.
    base_year : int
        The scenario's base year.
    datums : mapping, optional
        The datum each spatial input was read in (``"WGS84"``, ``"GCJ-02"``, ``"BD-09"``
        or None when unknown or projected): a point layer whose offset to the units
        matches another datum's shift is reported (and converted when the evidence is
        decisive, see :func:`detect_datum_shift`).
    stage_of_grade : mapping
        Grade → stage of the norms in force (:meth:`planner.norms.Norms.stage_of_grade`:
        六三制 or 五四制), for the enrolment and pupils-per-child checks.

    Returns
    -------
    tables : dict
        Updated tables: ``unit_id`` filled in from locations for schools, developments
        and sites; per-stage class and pupil columns for schools; a ``_drop`` column
        (``code|column``) on rows kept out (unknown units or schools, sites and
        developments outside every unit, implausible populations).
    problems : list of Problem
    """
    out = {k: _with_drop(v) for k, v in tables.items()}
    problems: list[Problem] = []
    units = out.get("units")
    unit_ids = set(units["unit_id"].dropna()) if units is not None else set()

    if units is not None and len(units):
        problems += _check_unit_overlaps(units, files["units"])
        for name in ("schools", "developments", "sites"):
            if name in out and (datums or {}).get(name) in DATUMS:
                out[name], probs = detect_datum_shift(
                    out[name],
                    units,
                    files[name],
                    datums[name],
                    what=name,  # type: ignore[index]
                )
                problems += probs

    # -- point inputs: locate in units -------------------------------------------------
    for name, id_col in (
        ("schools", "school_id"),
        ("developments", "dev_id"),
        ("sites", "site_id"),
    ):
        df = out.get(name)
        if df is None or units is None:
            continue
        df, probs = _locate(
            df, units, files[name], id_col, unit_ids, keep_outside=name == "schools"
        )
        out[name] = df
        problems += probs

    # -- unit references in tabular inputs ---------------------------------------------
    for name in ("population", "population_by_age", "births"):
        df = out.get(name)
        if df is None or units is None:
            continue
        rep = _reporter(files[name], df, "unit_id")
        unknown = df["unit_id"].notna() & ~df["unit_id"].isin(unit_ids)
        rep.report(
            unknown,
            "unit_id",
            lambda p, d=df: f"unit '{d['unit_id'].iloc[p]}' is not in the units file",
            f"use a unit_id from {files['units']}, or add the unit there",
            "unknown_unit",
            action="the row is kept out",
        )
        _drop(df, unknown, "unknown_unit|unit_id")
        problems += rep.problems
        # age tables are census-like snapshots: gaps between them are expected
        problems += _check_years(
            df, files[name], "unit_id", base_year, name, gaps=name != "population_by_age"
        )

    pop = out.get("population")
    if pop is not None and units is not None:
        problems += _check_population_values(pop, units, files["population"])
        have = set(pop.loc[pop["year"] == base_year, "unit_id"].dropna())
        for uid in sorted(unit_ids - have):
            problems.append(
                Problem(
                    files["population"],
                    f"unit '{uid}' has no population for the base year {base_year}",
                    "add the row; the latest earlier year is used meanwhile",
                    severity="warning",
                    id=str(uid),
                    column="population",
                    code="missing_base_year",
                )
            )

    age = out.get("population_by_age")
    if age is not None:
        problems += _check_age_table(age, pop, files["population_by_age"])

    # -- schools ------------------------------------------------------------------------
    schools = out.get("schools")
    if schools is not None:
        schools, probs = derive_school_stages(schools, files["schools"])
        problems += probs
        problems += _check_schools(schools, files["schools"], base_year)
        out["schools"] = schools

    if schools is not None and age is not None:
        problems += _check_pupils_against_ages(
            schools, age, files["schools"], base_year, stage_of_grade
        )

    enr = out.get("enrolment")
    if enr is not None:
        problems += _check_enrolment(enr, schools, files["enrolment"], base_year, stage_of_grade)

    sites = out.get("sites")
    if sites is not None:
        rep = _reporter(files["sites"], sites, "site_id")
        area = sites["land_area"].astype("Float64")
        rep.report(
            (area > 0) & (area < SMALL_AREA_M2),
            "land_area",
            lambda p: (
                f"a site area of {area.iloc[p]:g} m² is too small for a school: is it in "
                "亩 or 公顷?"
            ),
            'declare the unit: units = { land_area = "亩" } (or "公顷") for this input',
            "suspicious_unit",
            severity="warning",
        )
        problems += rep.problems

    dev = out.get("developments")
    if dev is not None:
        rep = _reporter(files["developments"], dev, "dev_id")
        rep.report(
            dev["completion_year"].notna() & (dev["completion_year"] <= base_year),
            "completion_year",
            lambda p: (
                f"completed in {dev['completion_year'].iloc[p]}, not after the base year "
                f"{base_year}"
            ),
            "its residents are presumably in the base-year population already; remove it or "
            "correct the year, otherwise they are counted twice",
            "development_in_past",
            severity="warning",
        )
        problems += rep.problems

    roads = out.get("roads")
    if roads is not None:
        problems += _check_roads(roads, out, files)
    return out, problems


def _check_unit_overlaps(units: gpd.GeoDataFrame, file: str) -> list[Problem]:
    geoms = units.geometry[units.geometry.notna()]
    if len(geoms) < 2:
        return []
    from planner.geo.crs import choose_compute_crs

    cx = geoms.representative_point().x.to_numpy()
    metric = geoms.to_crs(choose_compute_crs(cx))
    total = float(metric.area.sum())
    union = float(metric.union_all().area)
    if total > 0 and (total - union) / total > 0.005:
        return [
            Problem(
                file,
                f"unit polygons overlap ({(total - union) / 1e6:.2f} km² counted twice)",
                "each place should belong to one planning unit; fix the boundaries",
                severity="warning",
                column="geometry",
                code="units_overlap",
            )
        ]
    return []


def _locate(
    df: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    file: str,
    id_col: str,
    unit_ids: set,
    *,
    keep_outside: bool = False,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    rep = _reporter(file, df, id_col)
    df = df.copy()
    given = df["unit_id"].notna()
    unknown = given & ~df["unit_id"].isin(unit_ids)
    rep.report(
        unknown,
        "unit_id",
        lambda p: f"unit '{df['unit_id'].iloc[p]}' is not in the units file",
        "use a unit_id from the units file, or leave it empty to locate by position",
        "unknown_unit",
    )
    has_geom = df.geometry.notna() & ~df.geometry.is_empty
    pts = gpd.GeoDataFrame(
        {"_pos": np.arange(len(df))},
        geometry=df.geometry.where(has_geom).representative_point(),
        crs=df.crs,
    )[has_geom.to_numpy()]
    hit = gpd.sjoin(pts, units[["unit_id", "geometry"]], how="left", predicate="within")
    hit = hit.sort_values(["_pos", "unit_id"]).drop_duplicates("_pos")
    located = pd.Series(pd.NA, index=range(len(df)), dtype="string")
    located.iloc[hit["_pos"].to_numpy()] = hit["unit_id"].astype("string").to_numpy()
    outside = has_geom.to_numpy() & located.isna().to_numpy()
    coords = df.geometry.where(has_geom).representative_point()
    rep.report(
        outside,
        "geometry",
        lambda p: (
            f"location ({coords.iloc[p].x:.5f}, {coords.iloc[p].y:.5f}) is outside "
            "every planning unit"
        ),
        "check the coordinates (swapped longitude/latitude? declared crs, e.g. GCJ-02?) or "
        "extend the units",
        "outside_units",
        action=(
            "kept, but its seats count in no unit (flagged)"
            if keep_outside
            else "kept out (a site outside every unit is never offered to siting)"
        ),
    )
    fill = (~given.to_numpy() | unknown.to_numpy()) & located.notna().to_numpy()
    df.loc[fill, "unit_id"] = located[fill].to_numpy()
    if keep_outside:
        # a stated unit that does not exist cannot hold the school's seats either
        df.loc[unknown.to_numpy() & ~fill, "unit_id"] = pd.NA
    else:
        _drop(df, outside & ~given.to_numpy(), "outside_units|geometry")
        _drop(df, unknown.to_numpy() & ~fill, "unknown_unit|unit_id")
    return df, rep.problems


def _check_years(
    df: pd.DataFrame, file: str, key: str, base_year: int, name: str, gaps: bool = True
) -> list[Problem]:
    probs: list[Problem] = []
    rep = _reporter(file, df, key)
    later = df["year"].notna() & (df["year"] > base_year)
    rep.report(
        later,
        "year",
        lambda p: f"year {df['year'].iloc[p]} is after the base year {base_year}",
        "observations after the base year are ignored; raise base_year in the scenario if "
        "they are real",
        "year_after_base",
        severity="warning",
    )
    probs += rep.problems
    d = df.loc[df["year"].notna(), [key, "year", "_row"]]
    if d.empty:
        return probs
    # years out of order within a unit, in file order
    d = d.sort_values("_row")
    back = d.groupby(key, sort=False)["year"].diff() < 0
    n_back = int(back.sum())
    if n_back:
        first = d.loc[back].iloc[0]
        probs.append(
            Problem(
                file,
                f"years out of order in {n_back} place(s) (first: {first[key]} at row "
                f"{int(first['_row'])}, year {int(first['year'])} after a later year)",
                "harmless: rows are sorted by year on load; check for a typing error in the year",
                severity="info",
                row=int(first["_row"]),
                id=str(first[key]),
                column="year",
                code="years_out_of_order",
            )
        )
    if not gaps:
        return probs
    years = d[[key, "year"]].drop_duplicates()
    span = years.groupby(key)["year"].agg(["min", "max", "count"])
    gaps = span[(span["max"] - span["min"] + 1) > span["count"]]
    for uid, r in gaps.head(20).iterrows():
        have = set(years.loc[years[key] == uid, "year"].astype(int))
        missing = [y for y in range(int(r["min"]), int(r["max"]) + 1) if y not in have]
        probs.append(
            Problem(
                file,
                f"{name} of {uid}: years missing in the series: "
                + ", ".join(map(str, missing[:10])),
                "fill in the missing years; forecasts interpolate over gaps otherwise",
                severity="warning",
                id=str(uid),
                column="year",
                code="year_gap",
            )
        )
    return probs


def _check_age_table(age: pd.DataFrame, pop: pd.DataFrame | None, file: str) -> list[Problem]:
    rep = _reporter(file, age, "unit_id")
    bad = age["age_hi"].notna() & age["age_lo"].notna() & (age["age_hi"] < age["age_lo"])
    rep.report(
        bad,
        "age_hi",
        lambda p: f"age_hi {age['age_hi'].iloc[p]} is below age_lo {age['age_lo'].iloc[p]}",
        "age groups run from age_lo to age_hi inclusive",
        "bad_age_group",
    )
    probs = rep.problems
    if pop is not None and len(age):
        a = age.loc[age["sex"] != "total"] if (age["sex"] != "total").any() else age
        sums = a.groupby(["unit_id", "year"])["population"].sum().rename("by_age")
        tot = pop.groupby(["unit_id", "year"])["population"].sum().rename("total")
        j = pd.concat([sums, tot], axis=1, join="inner").dropna()
        j = j[j["total"] > 0]
        rel = (j["by_age"] - j["total"]).abs() / j["total"]
        for (uid, yr), r in rel[rel > AGE_TOTAL_TOLERANCE].head(20).items():
            probs.append(
                Problem(
                    file,
                    f"the age table sums to {int(j.loc[(uid, yr), 'by_age'])} for unit {uid} in "
                    f"{yr}, but the population total is {int(j.loc[(uid, yr), 'total'])} "
                    f"({r:.1%} apart)",
                    "check both files; the age shares are used, scaled to the total",
                    severity="warning",
                    id=str(uid),
                    column="population",
                    code="age_total_mismatch",
                )
            )
    return probs


def _check_schools(s: pd.DataFrame, file: str, base_year: int) -> list[Problem]:
    rep = _reporter(file, s, "school_id")
    for stage in ("primary", "junior"):
        c, p = s[f"classes_{stage}"], s[f"students_{stage}"]
        rep.report(
            (p.fillna(0) > 0) & c.notna() & (c == 0),
            f"classes_{stage}",
            lambda i, p=p, stage=stage: f"{int(p.iloc[i])} {stage} pupils but zero classes",
            "enter the number of classes (班级数); capacity is counted by classes",
            "pupils_without_classes",
        )
        size = p.astype("Float64") / c.astype("Float64").where(c > 0)
        rep.report(
            size.fillna(0) > IMPLAUSIBLE_CLASS_SIZE,
            f"students_{stage}",
            lambda i, size=size: f"{size.iloc[i]:.0f} pupils per class is implausible",
            "check 在校生数 and 班级数 for a typing error",
            "implausible_class_size",
            severity="warning",
        )
    land = s["land_area"].astype("Float64")
    rep.report(
        (land > 0) & (land < SMALL_AREA_M2),
        "land_area",
        lambda i: f"a school site of {land.iloc[i]:g} m²: is it in 亩 or 公顷?",
        'declare the unit: units = { land_area = "亩" } (or "公顷") for this input',
        "suspicious_unit",
        severity="warning",
    )
    pupils = s["students_primary"].astype("Float64").fillna(0) + s["students_junior"].astype(
        "Float64"
    ).fillna(0)
    per = s["equipment_value"].astype("Float64") / pupils.where(pupils > 0)
    rep.report(
        (per > 0) & (per < SMALL_EQUIPMENT_PER_PUPIL),
        "equipment_value",
        lambda i: f"equipment worth {per.iloc[i]:.2f} yuan per pupil: is it in 万元?",
        'declare the unit: units = { equipment_value = "万元" } for this input',
        "suspicious_unit",
        severity="warning",
    )
    planned = s["status"].isin(["planned", "under_construction"])
    rep.report(
        planned & s["opening_year"].isna(),
        "opening_year",
        "a planned school without an opening year",
        "give 开办年份 (opening_year); until then it is not counted as supply",
        "missing_opening_year",
        severity="warning",
    )
    rep.report(
        (s["status"] == "existing") & s["opening_year"].notna() & (s["opening_year"] > base_year),
        "opening_year",
        lambda i: f"an existing school opening in {s['opening_year'].iloc[i]}, after the base year",
        "set its status to 规划 (planned) or 在建 (under construction), or fix the year",
        "existing_opens_later",
        severity="warning",
    )
    return rep.problems


def _check_enrolment(
    enr: pd.DataFrame,
    schools: pd.DataFrame | None,
    file: str,
    base_year: int,
    stage_of_grade: Mapping[int, str],
) -> list[Problem]:
    rep = _reporter(file, enr, "school_id")
    probs: list[Problem] = []
    if schools is not None:
        known = set(schools["school_id"].dropna())
        unknown = enr["school_id"].notna() & ~enr["school_id"].isin(known)
        rep.report(
            unknown,
            "school_id",
            lambda p: (
                f"school '{enr['school_id'].iloc[p]}' is not among the usable schools (not "
                "in the schools file, or its row there was kept out)"
            ),
            "use a school_id from the schools file (学校代码), or add the school there",
            "unknown_school",
            action="the row is kept out",
        )
        if "_drop" in enr.columns:
            _drop(enr, unknown, "unknown_school|school_id")
        stage = enr["school_id"].map(schools.set_index("school_id")["stage"].to_dict())
        taught = enr["grade"].map(dict(stage_of_grade))
        wrong = (stage.isin(["primary", "junior"]) & (taught != stage)).fillna(False)
        system = ", ".join(
            f"{s} {min(g for g, t in stage_of_grade.items() if t == s)}–"
            f"{max(g for g, t in stage_of_grade.items() if t == s)}"
            for s in dict.fromkeys(stage_of_grade.values())
        )
        rep.report(
            wrong,
            "grade",
            lambda p: f"grade {enr['grade'].iloc[p]} in a {stage.iloc[p]} school",
            f"grades are {system} (norms grades.*); check the grade or the school's 学段",
            "grade_stage_mismatch",
            action="the row is kept out",
        )
        if "_drop" in enr.columns:
            _drop(enr, wrong, "grade_stage_mismatch|grade")
        c = enr["classes"]
        rep.report(
            (enr["students"].fillna(0) > 0) & c.notna() & (c == 0),
            "classes",
            lambda p: (
                f"{enr['students'].iloc[p]} pupils in grade {enr['grade'].iloc[p]} but zero classes"
            ),
            "enter the number of classes of that grade",
            "pupils_without_classes",
        )
    probs += rep.problems
    key = enr.assign(
        _k=enr["school_id"].astype("string") + " grade " + enr["grade"].astype("string")
    )
    probs += _check_years(key, file, "_k", base_year, "enrolment")
    return probs


def _check_roads(
    roads: gpd.GeoDataFrame, tables: Mapping[str, pd.DataFrame], files: Mapping[str, str]
) -> list[Problem]:
    """The road network: usable at all, connected, near the schools and sites.

    Pieces not connected to the longest one are reported at their first row (those
    farther than :data:`~planner.geo.roads.SNAP_TOLERANCE_M` from every school and site
    are left out of the run's network); schools and sites farther than that from every
    road are reported at their own rows.
    """
    from planner.geo.crs import choose_compute_crs
    from planner.geo.roads import SNAP_TOLERANCE_M, anchored_pieces, road_pieces

    file = files["roads"]
    usable = (roads.geometry.notna() & ~roads.geometry.is_empty).to_numpy()
    if not usable.any():
        return [
            Problem(
                file,
                "the road network has no usable line (道路中心线)",
                "supply the road centrelines as lines (GeoPackage / Shapefile / GeoJSON) with "
                "a coordinate system; meanwhile siting uses straight line × detour_factor",
                column="geometry",
                code="roads_empty",
            )
        ]
    units = tables.get("units")
    ref = units if units is not None and units.geometry.notna().any() else roads[usable]
    metric = choose_compute_crs(ref.geometry.dropna().representative_point().x.to_numpy())
    lines = roads[usable].to_crs(metric)
    anchors = {
        name: tables[name].geometry.representative_point().to_crs(metric)
        for name in ("schools", "sites")
        if name in tables and isinstance(tables[name], gpd.GeoDataFrame)
    }
    pts = pd.concat(list(anchors.values())) if anchors else gpd.GeoSeries([], crs=metric)
    pieces = road_pieces(lines)
    near = anchored_pieces(pieces, pts)
    rows = lines["_row"].to_numpy()[pieces["pos"].to_numpy()]
    per = (
        pd.DataFrame({"piece": pieces["piece"].to_numpy(), "row": rows})
        .groupby("piece")["row"]
        .agg(first="min", lines="nunique")
    )
    per["km"] = pieces.groupby("piece")["piece_m"].first() / 1000.0
    per = per.loc[per.index > 0]
    info = dict(
        zip(
            per["first"].astype(int),
            zip(per["lines"].astype(int), per["km"], near[per.index.to_numpy()], strict=True),
            strict=True,
        )
    )
    rep = _reporter(file, roads, None)

    def _piece(p: int) -> str:
        n, km, kept = info[int(roads["_row"].iloc[p])]
        return (
            f"a piece of the road network ({n} line(s), {km:.2f} km, first at this row) is not "
            "connected to the rest"
            + (
                "; schools or sites near it are reached only from blocks on this piece"
                if kept
                else f"; no school or site within {SNAP_TOLERANCE_M:.0f} m: left out of the network"
            )
        )

    rep.report(
        roads["_row"].isin(list(info)).to_numpy(),
        "geometry",
        _piece,
        "connect it where it meets another road (lines must share a vertex at the junction: "
        "snap the ends in GIS), or delete it if it is not a road",
        "road_disconnected",
        severity="warning",
    )
    problems = rep.problems
    tree = shapely.STRtree(lines.geometry.to_numpy())
    ids = {"schools": "school_id", "sites": "site_id"}
    for name, p in anchors.items():
        ok = (p.notna() & ~p.is_empty).to_numpy()
        dist = np.full(len(p), np.nan)
        if ok.any():
            (idx, _), d = tree.query_nearest(p.to_numpy()[ok], return_distance=True)
            dist[np.flatnonzero(ok)[idx]] = d
        rep = _reporter(files[name], tables[name], ids[name])
        rep.report(
            np.nan_to_num(dist) > SNAP_TOLERANCE_M,
            "geometry",
            lambda i, dist=dist: (
                f"{dist[i]:,.0f} m from the nearest road (more than {SNAP_TOLERANCE_M:.0f} m)"
            ),
            "check its location, or add its access road to the roads file; its road "
            "distances begin with a straight leg of that length",
            "far_from_road",
            severity="warning",
        )
        problems += rep.problems
    return problems
