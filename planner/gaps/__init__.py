"""Seat gaps and compliance (学位缺口与达标): 需求清单, 大班额, 大校额.

The seat gap of a unit, stage and year is the planning requirement minus the
capacity: positive means seats are missing. The planning requirement is the
per-thousand norm, the forecast, or the larger of the two (the default); all
three are kept in the table. Class size and school size are checked against the
caps in the norms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.norms import STAGES, Norms

__all__ = [
    "grade_class_sizes",
    "room_checks",
    "REQUIREMENT_BASES",
    "seat_gaps",
    "city_totals",
    "gaps_after_plan",
    "school_compliance",
    "class_size_bands",
    "CLASS_SIZE_BANDS",
]

#: how the planning requirement is chosen from the norm and the forecast
REQUIREMENT_BASES = ("norm", "forecast", "max")

#: national statistics bands of class size (pupils per class) — 教育统计: 46–55, 56–65
#: (大班额), 66 and more (超大班额)
CLASS_SIZE_BANDS = ((46, 55), (56, 65), (66, None))


def seat_gaps(
    requirement: pd.DataFrame,
    capacity: pd.DataFrame,
    *,
    basis: str = "max",
) -> pd.DataFrame:
    """Seat gap per unit × stage × year (学位缺口).

    Parameters
    ----------
    requirement : DataFrame
        ``unit_id, stage, year, norm_seats`` and, where a forecast exists,
        ``forecast_seats`` (P50 of projected enrolment).
    capacity : DataFrame
        ``unit_id, stage, year, capacity`` (from :func:`planner.supply.capacity_by_unit`).
    basis : {"norm", "forecast", "max"}
        The requirement the gap is measured against; without a forecast, ``"norm"``.

    Returns
    -------
    DataFrame
        ``unit_id, stage, year, norm_seats, forecast_seats, required_seats, capacity,
        seat_gap, surplus`` with ``seat_gap = max(required − capacity, 0)`` and
        ``surplus = max(capacity − required, 0)``.
    """
    if basis not in REQUIREMENT_BASES:
        from planner.errors import UnknownKeyError

        raise UnknownKeyError(basis, REQUIREMENT_BASES, "requirement basis")
    req = requirement.copy()
    if "forecast_seats" not in req.columns:
        req["forecast_seats"] = np.nan
    keys = ["unit_id", "stage", "year"]
    cap = capacity[[*keys, *[c for c in capacity.columns if c.startswith("capacity")]]]
    out = req.merge(cap, on=keys, how="outer")
    for c in [c for c in out.columns if c.startswith("capacity")]:
        out[c] = out[c].fillna(0).astype("int64")
    out["norm_seats"] = out["norm_seats"].fillna(0)
    norm = out["norm_seats"].to_numpy(float)
    fc = out["forecast_seats"].to_numpy(float)
    if basis == "norm":
        required = norm
    elif basis == "forecast":
        required = np.where(np.isnan(fc), norm, fc)
    else:
        required = np.fmax(norm, fc)
    out["required_seats"] = np.ceil(np.round(required, 6)).astype("int64")
    diff = out["required_seats"].to_numpy() - out["capacity"].to_numpy()
    out["seat_gap"] = np.maximum(diff, 0)
    out["surplus"] = np.maximum(-diff, 0)
    out["basis"] = basis
    return out.sort_values(["year", "stage", "unit_id"], kind="stable").reset_index(drop=True)


def city_totals(gaps: pd.DataFrame) -> pd.DataFrame:
    """City totals per stage × year.

    ``seat_gap`` is the sum of unit gaps (a surplus in one unit does not fill a gap in
    another: pupils cannot all travel across the city); ``net_balance`` is capacity −
    requirement summed over the city.
    """
    cols = ["norm_seats", "required_seats", "capacity", "seat_gap", "surplus"]
    cols += [c for c in ("forecast_p10", "forecast_p50", "forecast_p90") if c in gaps.columns]
    g = gaps.groupby(["stage", "year"], sort=True)[cols].sum(min_count=1).reset_index()
    g["net_balance"] = g["capacity"] - g["required_seats"]
    return g


def gaps_after_plan(needs: pd.DataFrame, projects: pd.DataFrame | None) -> pd.DataFrame:
    """Seat gap per unit × stage × year before and after the plan (规划实施前后学位缺口).

    A project adds its seats to the unit of its school or site from its opening year on
    (the same rule as the siting result's ``gaps_after``, here for every year, not only
    the plan periods).

    Parameters
    ----------
    needs : DataFrame
        The run's needs table: ``unit_id, name, stage, year, required_seats, capacity,
        seat_gap, surplus``.
    projects : DataFrame or None
        The plan: ``unit_id, year, seats_primary, seats_junior`` (the siting result's
        ``projects``); None or empty: no plan, the "after" columns equal the "before" ones.

    Returns
    -------
    DataFrame
        ``unit_id, name, stage, year, required_seats, capacity, seat_gap, surplus,
        added_seats, capacity_after, seat_gap_after, surplus_after``, sorted by stage, year
        and unit, with ``seat_gap_after = max(required − capacity_after, 0)``.
    """
    cols = [c for c in ("unit_id", "name", "stage", "year") if c in needs.columns]
    out = needs[[*cols, "required_seats", "capacity", "seat_gap", "surplus"]].copy()
    out["added_seats"] = 0
    if projects is not None and len(projects):
        stages = [s for s in ("primary", "junior") if f"seats_{s}" in projects.columns]
        long = projects.melt(
            id_vars=["unit_id", "year"],
            value_vars=[f"seats_{s}" for s in stages],
            var_name="stage",
            value_name="added",
        )
        long["stage"] = long["stage"].str.removeprefix("seats_")
        long["unit_id"] = long["unit_id"].astype(str)
        years = sorted({*long["year"].astype(int), *out["year"].astype(int)})
        # seats opened per unit, stage and year, accumulated over the years
        cum = (
            long.pivot_table(
                index=["unit_id", "stage"], columns="year", values="added", aggfunc="sum"
            )
            .reindex(columns=years, fill_value=0)
            .fillna(0)
            .cumsum(axis=1)
            .stack()
        )
        key = pd.MultiIndex.from_arrays(
            [out["unit_id"].astype(str), out["stage"].astype(str), out["year"].astype(int)]
        )
        out["added_seats"] = cum.reindex(key).fillna(0).round().astype("int64").to_numpy()
    out["capacity_after"] = out["capacity"] + out["added_seats"]
    diff = out["required_seats"].to_numpy() - out["capacity_after"].to_numpy()
    out["seat_gap_after"] = np.maximum(diff, 0)
    out["surplus_after"] = np.maximum(-diff, 0)
    return out.sort_values(["stage", "year", "unit_id"], kind="stable").reset_index(drop=True)


def class_size_bands(avg_class: pd.Series) -> pd.Series:
    """Statistical band of an average class size: '46–55', '56–65', '66+' or ''."""
    band = pd.Series("", index=avg_class.index, dtype="string")
    for lo, hi in CLASS_SIZE_BANDS:
        sel = avg_class >= lo if hi is None else avg_class.between(lo, hi + 0.999)
        band = band.mask(sel.fillna(False).astype(bool), f"{lo}+" if hi is None else f"{lo}–{hi}")
    return band


def school_compliance(
    capacity: pd.DataFrame, schools: pd.DataFrame, norms: Norms, year: int
) -> pd.DataFrame:
    """大班额 / 大校额 and utilisation per school in one year.

    Parameters
    ----------
    capacity : DataFrame
        From :func:`planner.supply.school_capacity`.
    schools : DataFrame
        Canonical schools (for names and stage type).
    norms : Norms
        ``class_cap.<stage>`` and ``school_size_cap.<stage type>``.
    year : int
        The year to check (the base year for observed enrolment).

    Returns
    -------
    DataFrame
        Per school × stage: pupils, classes, capacity, utilisation, average class size,
        ``oversized_class`` (average above the cap), the statistical band, and per school
        ``school_pupils`` (compulsory pupils), ``size_cap``, ``oversized_school``.
    """
    c = capacity.loc[(capacity["year"] == year) & capacity["open"]].copy()
    c = c.merge(
        schools[["school_id", "name", "stage"]].rename(columns={"stage": "school_type"}),
        on="school_id",
    )
    c["avg_class_size"] = (c["students"] / c["classes"].where(c["classes"] > 0)).round(1)
    c["utilisation"] = (c["students"] / c["capacity"].where(c["capacity"] > 0)).round(3)
    c["oversized_class"] = (c["avg_class_size"] > c["class_cap"]).fillna(False)
    c["class_size_band"] = class_size_bands(c["avg_class_size"])
    total = c.groupby("school_id")["students"].transform("sum")
    c["school_pupils"] = total
    c["size_cap"] = c["school_type"].map(lambda t: int(norms.school_size_cap(t)))
    c["oversized_school"] = c["school_pupils"] > c["size_cap"]
    cols = [
        "school_id",
        "name",
        "school_type",
        "unit_id",
        "stage",
        "public",
        "year",
        "students",
        "classes",
        "class_cap",
        "capacity",
        "utilisation",
        "avg_class_size",
        "oversized_class",
        "class_size_band",
        "school_pupils",
        "size_cap",
        "oversized_school",
    ]
    return c[cols].sort_values(["school_id", "stage"]).reset_index(drop=True)


def grade_class_sizes(enrolment: pd.DataFrame, year: int, norms: Norms) -> pd.DataFrame:
    """Average class size per school and grade in ``year`` (class-level 大班额 check).

    The stage of a grade is the norms' (``grades.*``: 六三制 or 五四制).

    Returns
    -------
    DataFrame
        ``school_id, grade, stage, students, classes, avg_class_size, class_cap,
        oversized_class, class_size_band``.
    """
    e = enrolment.loc[(enrolment["year"] == year) & enrolment["classes"].notna()].copy()
    e = e.loc[e["classes"] > 0]
    e["stage"] = e["grade"].map(norms.stage_of_grade())
    e["avg_class_size"] = (e["students"] / e["classes"]).astype(float).round(1)
    e["class_cap"] = e["stage"].map({s: norms.class_cap(s) for s in STAGES})
    e["oversized_class"] = e["avg_class_size"] > e["class_cap"]
    e["class_size_band"] = class_size_bands(e["avg_class_size"])
    cols = ["school_id", "grade", "stage", "students", "classes", "avg_class_size", "class_cap"]
    return e[[*cols, "oversized_class", "class_size_band"]].reset_index(drop=True)


def room_checks(schools: pd.DataFrame, norms: Norms) -> pd.DataFrame:
    """Music and art rooms: at least one each per ``rooms.classes_per_*_room`` classes.

    Room areas (≥ 96 / 90 m²) are not in the schools table and are not checked.
    """
    s = schools.loc[schools["status"] == "existing"]
    classes = (s["classes_primary"].fillna(0) + s["classes_junior"].fillna(0)).astype(float)
    out = pd.DataFrame({"school_id": s["school_id"], "classes": classes})
    for room in ("music", "art"):
        per = float(norms[f"rooms.classes_per_{room}_room"])
        need = np.ceil(classes / per)
        have = s[f"{room}_rooms"].astype("Float64")
        out[f"{room}_rooms"] = have
        out[f"{room}_rooms_needed"] = need.astype("int64")
        out[f"{room}_rooms_ok"] = (have >= need).astype("boolean")
    return out.reset_index(drop=True)
