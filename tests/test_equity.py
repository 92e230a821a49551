"""Known answers for the 优质均衡 indicators and the pupil-weighted 差异系数."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.equity import equity_summary, school_indicators, stage_resources, weighted_cv
from planner.inputs.norms import load_norms


def test_cv_published_test_vector():
    pupils = np.array([45, 37, 89, 76, 55])
    books = np.array([279, 137, 935, 160, 402])
    assert weighted_cv(books, pupils) == pytest.approx(0.5153, abs=5e-5)
    # the unweighted CV of the same ratios differs: the weighting matters
    x = books / pupils
    assert x.std() / x.mean() == pytest.approx(0.489, abs=5e-4)


@given(
    st.lists(st.integers(1, 3000), min_size=2, max_size=30),
    st.floats(0.1, 100),
)
def test_cv_is_scale_free_and_zero_for_equal_ratios(pupils, ratio):
    p = np.array(pupils, dtype=float)
    assert weighted_cv(p * ratio, p) == pytest.approx(0.0, abs=1e-9)
    t = p * ratio
    t[0] *= 2
    assert weighted_cv(t * 7.0, p) == pytest.approx(weighted_cv(t, p), rel=1e-9)


def _school(sid, stage, students_p, classes_p, students_j, classes_j, **res):
    base = {
        "school_id": sid,
        "name": sid,
        "stage": stage,
        "public": True,
        "students_primary": students_p,
        "classes_primary": classes_p,
        "students_junior": students_j,
        "classes_junior": classes_j,
        "teachers_qualified": 0,
        "teachers_backbone": 0,
        "teachers_pe_arts": 0,
        "teaching_area": 0.0,
        "sports_area": 0.0,
        "equipment_value": 0.0,
        "multimedia_rooms": 0,
    }
    base.update(res)
    return base


def test_nine_year_school_resources_split_by_pupils():
    s = pd.DataFrame(
        [_school("N1", "nine_year", 600, 14, 400, 8, teaching_area=5000.0, teachers_qualified=50)]
    )
    r = stage_resources(s).set_index("stage")
    assert r.loc["primary", "teaching_area"] == pytest.approx(3000.0)
    assert r.loc["junior", "teaching_area"] == pytest.approx(2000.0)
    assert r.loc["primary", "teachers_qualified"] + r.loc[
        "junior", "teachers_qualified"
    ] == pytest.approx(50)


def test_indicators_met_counts_and_six_of_seven_rule():
    norms = load_norms("guangdong")
    # 1000 primary pupils; thresholds 4.2, 1, 0.9 per 100; 4.5, 7.5 m²; 2000 yuan; 2.3 rooms/100
    good = dict(
        teachers_qualified=42,
        teachers_backbone=10,
        teachers_pe_arts=9,
        teaching_area=4500.0,
        sports_area=7500.0,
        equipment_value=2_000_000.0,
        multimedia_rooms=23,
    )
    one_short = {**good, "sports_area": 7000.0}  # 7.0 ≥ 0.85 × 7.5 = 6.375: still passes
    far_short = {**good, "sports_area": 6000.0}  # 6.0 < 6.375: fails
    two_short = {**good, "sports_area": 7000.0, "multimedia_rooms": 20}
    s = pd.DataFrame(
        [
            _school("A", "primary", 1000, 24, 0, 0, **good),
            _school("B", "primary", 1000, 24, 0, 0, **one_short),
            _school("C", "primary", 1000, 24, 0, 0, **far_short),
            _school("D", "primary", 1000, 24, 0, 0, **two_short),
        ]
    )
    ind = school_indicators(s, norms).set_index("school_id")
    assert ind.loc["A", "n_met"] == 7 and ind.loc["A", "passes"]
    assert ind.loc["B", "n_met"] == 6 and ind.loc["B", "passes"]
    assert ind.loc["C", "n_met"] == 6 and not ind.loc["C", "passes"]
    assert ind.loc["D", "n_met"] == 5 and not ind.loc["D", "passes"]
    assert ind.loc["A", "teaching_area_per_pupil"] == pytest.approx(4.5)


def test_summary_judges_each_indicator_and_excludes_small_points():
    norms = load_norms("guangdong")
    pupils = [45, 37, 89, 76, 55]
    books = [279, 137, 935, 160, 402]
    rows = [
        _school(
            f"S{i}",
            "primary",
            p * 10,
            10,
            0,
            0,
            teaching_area=float(b * 10),
            sports_area=float(p * 10 * 8),
        )
        for i, (p, b) in enumerate(zip(pupils, books, strict=True))
    ]
    rows.append(_school("tiny", "primary", 20, 2, 0, 0, teaching_area=9999.0, sports_area=1.0))
    ind = school_indicators(pd.DataFrame(rows), norms)
    summ = equity_summary(ind, norms).set_index("indicator")
    assert summ.loc["teaching_area_per_pupil", "n_schools"] == 5  # the 20-pupil point is excluded
    assert summ.loc["teaching_area_per_pupil", "cv"] == pytest.approx(0.5153, abs=5e-5)
    assert not summ.loc["teaching_area_per_pupil", "cv_ok"]  # > 0.50
    assert summ.loc["sports_area_per_pupil", "cv"] == pytest.approx(0.0, abs=1e-12)
    assert summ.loc["sports_area_per_pupil", "cv_ok"]
    assert summ.loc["teaching_area_per_pupil", "cv_limit"] == 0.5
