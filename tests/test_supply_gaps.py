"""Known answers and invariants for capacity, seat gaps, 大班额 and 大校额."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.demand import norm_requirement
from planner.gaps import city_totals, class_size_bands, school_compliance, seat_gaps
from planner.inputs.norms import load_norms
from planner.supply import capacity_by_unit, school_capacity


@pytest.fixture(scope="module")
def norms():
    return load_norms("guangdong")


def schools_frame():
    return pd.DataFrame(
        {
            "school_id": ["P1", "J1", "N1", "NEW"],
            "name": ["一小", "一中", "九年制", "新校"],
            "stage": ["primary", "junior", "nine_year", "primary"],
            "public": [True, True, False, True],
            "unit_id": ["U1", "U1", "U2", "U2"],
            "status": ["existing", "existing", "existing", "planned"],
            "opening_year": [pd.NA, pd.NA, pd.NA, 2027],
            "classes_primary": [24, 0, 18, 36],
            "students_primary": [1200, 0, 800, 0],
            "classes_junior": [0, 30, 12, 0],
            "students_junior": [0, 1650, 560, 0],
        }
    )


def test_capacity_nine_year_split_and_opening_year(norms):
    cap = school_capacity(schools_frame(), norms, [2025, 2026, 2027])
    c = cap.set_index(["school_id", "stage", "year"])["capacity"]
    assert c[("P1", "primary", 2025)] == 24 * 45
    assert c[("J1", "junior", 2025)] == 30 * 50
    assert c[("N1", "primary", 2025)] == 18 * 45 and c[("N1", "junior", 2025)] == 12 * 50
    assert c[("NEW", "primary", 2026)] == 0 and c[("NEW", "primary", 2027)] == 36 * 45
    unit = capacity_by_unit(cap).set_index(["unit_id", "stage", "year"])
    assert unit.loc[("U2", "primary", 2027), "capacity_private"] == 18 * 45
    assert unit.loc[("U2", "primary", 2027), "capacity_public"] == 36 * 45


def test_gap_known_answer_and_city_totals(norms):
    pop = pd.DataFrame(
        {"unit_id": ["U1", "U2"], "year": [2025, 2025], "population": [20000, 10000]}
    )
    req = norm_requirement(pop, norms)
    cap = capacity_by_unit(school_capacity(schools_frame(), norms, [2025]))
    g = seat_gaps(req, cap, basis="norm").set_index(["unit_id", "stage"])
    # U1 primary: 20,000 / 1000 × 80 = 1,600 seats required, 1,080 capacity → gap 520
    assert g.loc[("U1", "primary"), "seat_gap"] == 520
    # U1 junior: 800 required, 1,500 capacity → surplus 700, gap 0
    assert g.loc[("U1", "junior"), "seat_gap"] == 0 and g.loc[("U1", "junior"), "surplus"] == 700
    city = city_totals(g.reset_index()).set_index("stage")
    assert city.loc["primary", "seat_gap"] == g.xs("primary", level="stage")["seat_gap"].sum()


def test_forecast_basis_and_max(norms):
    req = pd.DataFrame(
        {
            "unit_id": ["U1"],
            "stage": ["primary"],
            "year": [2030],
            "norm_seats": [1000],
            "forecast_seats": [1200.2],
        }
    )
    cap = pd.DataFrame({"unit_id": ["U1"], "stage": ["primary"], "year": [2030], "capacity": [900]})
    assert seat_gaps(req, cap, basis="max")["seat_gap"].iloc[0] == 1201 - 900
    assert seat_gaps(req, cap, basis="norm")["seat_gap"].iloc[0] == 100
    with pytest.raises(KeyError, match="Did you mean 'norm'"):
        seat_gaps(req, cap, basis="nrom")


def test_oversized_classes_and_schools(norms):
    s = schools_frame()
    s.loc[0, "students_primary"] = 24 * 47  # 47 per class > 45
    s.loc[1, "students_junior"] = 2100  # 70 per class, and a 2,100-pupil junior school > 2,000
    comp = school_compliance(school_capacity(s, norms, [2025]), s, norms, 2025).set_index(
        ["school_id", "stage"]
    )
    assert comp.loc[("P1", "primary"), "oversized_class"]
    assert comp.loc[("P1", "primary"), "class_size_band"] == "46–55"
    assert comp.loc[("J1", "junior"), "class_size_band"] == "66+"
    assert comp.loc[("J1", "junior"), "oversized_school"]
    # the nine-year school: 1,360 pupils against its 2,500 cap
    assert comp.loc[("N1", "primary"), "school_pupils"] == 1360
    assert (
        comp.loc[("N1", "primary"), "size_cap"] == 2500
        and not comp.loc[("N1", "primary"), "oversized_school"]
    )


def test_class_size_bands_edges():
    b = class_size_bands(pd.Series([45.0, 46.0, 55.5, 56.0, 65.9, 66.0, np.nan]))
    assert b.tolist() == ["", "46–55", "46–55", "56–65", "56–65", "66+", ""]


@given(
    st.lists(st.integers(0, 2_000_000), min_size=1, max_size=20),
    st.integers(40, 120),
    st.integers(0, 60),
)
def test_higher_norm_never_lowers_requirement_and_gaps_add_up(pops, rate, extra):
    base = load_norms("guangdong")
    pop = pd.DataFrame(
        {"unit_id": [f"U{i}" for i in range(len(pops))], "year": 2025, "population": pops}
    )
    lo = norm_requirement(pop, base.with_overrides({"seats_per_thousand.primary": rate}))
    hi = norm_requirement(pop, base.with_overrides({"seats_per_thousand.primary": rate + extra}))
    assert (hi["norm_seats"].to_numpy() >= lo["norm_seats"].to_numpy()).all()
    assert (lo["norm_seats"] >= 0).all()
    cap = lo[["unit_id", "stage", "year"]].assign(capacity=np.arange(len(lo)) * 100)
    g = seat_gaps(lo, cap, basis="norm")
    assert (g["seat_gap"] >= 0).all() and (g["surplus"] >= 0).all()
    city = city_totals(g)
    assert city["seat_gap"].sum() == g["seat_gap"].sum()
    assert (g["seat_gap"] - g["surplus"] == g["required_seats"] - g["capacity"]).all()
