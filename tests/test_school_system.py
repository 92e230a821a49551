"""六三制 and 五四制: the grade → stage map comes from the norms file (grades.*).

A hand-computed case: two units whose every grade holds 100 pupils a year (births 100 a
year). Under 六三制 (grades 1–6 primary, 7–9 junior) each unit needs 600 primary and 300
junior seats; under 五四制 (1–5, 6–9) 500 and 400. With 550 primary and 350 junior seats
per unit, the seat gaps are 50 / 0 (六三制) and 0 / 50 (五四制).
"""

from __future__ import annotations

import pandas as pd
import pytest

from planner.errors import NormsError
from planner.inputs.norms import load_norms
from planner.norms import DEFAULT_GRADES

SIX_THREE = {"grades.primary": [1, 6], "grades.junior": [7, 9]}
FIVE_FOUR = {"grades.primary": [1, 5], "grades.junior": [6, 9]}


def _norms(system):
    # class caps of 50 for both stages: every capacity below is classes × 50
    return load_norms(
        "guangdong", overrides={**system, "class_cap.primary": 50, "class_cap.junior": 50}
    )


def test_the_bundled_norms_say_six_three_and_the_default_agrees():
    n = load_norms("guangdong")
    assert n.stage_grades() == dict(DEFAULT_GRADES) == {"primary": (1, 6), "junior": (7, 9)}
    assert load_norms("zhongshan_urban").stage_grades() == dict(DEFAULT_GRADES)


def test_five_four_is_one_override():
    n = _norms(FIVE_FOUR)
    assert n.stage_of_grade() == {1: "primary", 2: "primary", 3: "primary", 4: "primary",
                                  5: "primary", 6: "junior", 7: "junior", 8: "junior",
                                  9: "junior"}  # fmt: skip


@pytest.mark.parametrize(
    "bad", [{"grades.primary": [1, 5]}, {"grades.primary": [2, 6]}, {"grades.junior": [7, 8]}]
)
def test_grades_that_leave_a_gap_or_overlap_are_refused(bad):
    with pytest.raises(NormsError, match="grades"):
        load_norms("guangdong", overrides=bad).stage_of_grade()


def _data():
    from planner.forecast.pipeline import ForecastData

    units, years = ("U1", "U2"), range(2000, 2021)
    births = pd.DataFrame(
        [(u, y, 100.0) for u in units for y in years], columns=["unit_id", "year", "value"]
    )
    grades = pd.DataFrame(
        [(u, y, g, 100.0) for u in units for y in range(2010, 2021) for g in range(1, 10)],
        columns=["unit_id", "year", "grade", "value"],
    )
    return ForecastData(births=births, grades=grades)


@pytest.mark.parametrize(
    ("system", "seats", "gaps"),
    [
        (SIX_THREE, {"primary": 600, "junior": 300}, {"primary": 50, "junior": 0}),
        (FIVE_FOUR, {"primary": 500, "junior": 400}, {"primary": 0, "junior": 50}),
    ],
)
def test_the_same_enrolment_gives_the_seat_gaps_of_its_school_system(system, seats, gaps):
    from planner.demand import demand_table
    from planner.forecast.pipeline import forecast_units, settings_from_scenario
    from planner.gaps import seat_gaps
    from planner.scenario import scenario_from_dict
    from planner.supply import capacity_by_unit, school_capacity

    norms = _norms(system)
    sc = scenario_from_dict(
        {
            "name": "x",
            "base_year": 2020,
            "horizon": 2023,
            "inputs": {n: {"path": f"{n}.csv"} for n in ("units", "population", "schools")},
            "forecast": {"enrolment_method": "grade_progression", "ratio_years": 3},
            "demand": {"requirement_basis": "forecast", "include_developments": False},
        }
    )
    settings = settings_from_scenario(sc, None, norms)
    assert settings.grades == norms.stage_grades()
    res = forecast_units(_data(), base_year=2020, horizon=2023, settings=settings)
    fc = res.enrolment
    p50 = fc.groupby(["stage"])["p50"].agg(["min", "max"])
    for stage, n in seats.items():  # every unit and year: 100 pupils per grade
        assert p50.loc[stage, "min"] == pytest.approx(n) and p50.loc[stage, "max"] == pytest.approx(
            n
        )

    population = pd.DataFrame(
        {"unit_id": ["U1", "U2"], "year": [2020, 2020], "population": [1000, 1000]}
    )
    schools = pd.DataFrame(
        {
            "school_id": ["P1", "J1", "P2", "J2"],
            "unit_id": ["U1", "U1", "U2", "U2"],
            "stage": ["primary", "junior", "primary", "junior"],
            "public": [True] * 4,
            "status": ["existing"] * 4,
            "opening_year": [pd.NA] * 4,
            "classes_primary": [11, 0, 11, 0],
            "classes_junior": [0, 7, 0, 7],
            "students_primary": [500, 0, 500, 0],
            "students_junior": [0, 300, 0, 300],
        }
    )
    req = demand_table(
        population, norms, sc.demand, base_year=2020, years=sc.years, schools=schools, forecast=fc
    )
    cap = capacity_by_unit(school_capacity(schools, norms, sc.years))
    g = seat_gaps(req, cap, basis="forecast")
    got = g.loc[g["year"] == 2023].groupby("stage")["seat_gap"].agg(["min", "max"])
    for stage, gap in gaps.items():
        assert got.loc[stage, "min"] == gap and got.loc[stage, "max"] == gap


def test_class_sizes_take_the_stage_of_a_grade_from_the_norms():
    from planner.gaps import grade_class_sizes

    enr = pd.DataFrame(
        {"school_id": ["S"] * 2, "year": [2024] * 2, "grade": [5, 6], "students": [90, 90],
         "classes": [2, 2]}
    )  # fmt: skip
    six = grade_class_sizes(enr, 2024, _norms(SIX_THREE)).set_index("grade")["stage"]
    five = grade_class_sizes(enr, 2024, _norms(FIVE_FOUR)).set_index("grade")["stage"]
    assert six.to_dict() == {5: "primary", 6: "primary"}
    assert five.to_dict() == {5: "primary", 6: "junior"}
