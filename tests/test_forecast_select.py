"""Known answers for the method registry, the nested choice, conformal intervals,
the fast damped-trend ETS, the population helpers and the information cut of the
default schedules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from planner.errors import NotFittedError, PlannerError, ScenarioError
from planner.forecast.methods import parse_method
from planner.forecast.select import (
    bias_corrected,
    choose,
    conformal_halfwidths,
    coverage_table,
    nested,
    rolling_intervals,
    selection_scores,
)
from planner.forecast.stats import DampedTrend

# ---- registry ----------------------------------------------------------------------


def test_parse_method_names_and_combinations():
    assert parse_method("auto", "enrolment") == ("auto",)
    assert parse_method("ets + grade_progression", "enrolment") == ("ets", "grade_progression")
    assert parse_method("cohort_component+cohort_component", "population") == ("cohort_component",)
    with pytest.raises(ScenarioError, match=r"did you mean 'stock_flow'"):
        parse_method("stock_flw", "enrolment")
    with pytest.raises(ScenarioError, match=r"forecast.population_method"):
        parse_method("grade_progression", "population")  # an enrolment method
    with pytest.raises(ScenarioError, match=r"'auto' cannot be part"):
        parse_method("auto+ets", "enrolment")


# ---- nested choice -------------------------------------------------------------------


def _rows(errors: dict[str, dict[int, float]], origins=range(2010, 2015), h=(1, 2)) -> pd.DataFrame:
    """Backtest rows of one unit: method m at origin T has APE errors[m][T] at every horizon."""
    out = []
    for m, by_origin in errors.items():
        for t in origins:
            for k in h:
                e = by_origin.get(t, np.nan)
                if np.isnan(e):
                    continue
                out.append((m, "u", t, k, t + k, 100.0 * (1 + e / 100), 100.0))
    r = pd.DataFrame(
        out, columns=["method", "unit_id", "origin", "horizon", "target_year", "forecast", "actual"]
    )
    r["pe"] = 100 * (r["forecast"] - r["actual"]) / r["actual"]
    r["ape"] = r["pe"].abs()
    return r


def test_choice_uses_only_forecasts_known_at_the_time():
    # a is better early (origins 2010–2011), b later (2012–2014)
    rows = _rows({"a": dict.fromkeys(range(2010, 2012), 1.0) | dict.fromkeys(range(2012, 2015), 9.0),
                  "b": dict.fromkeys(range(2010, 2012), 5.0) | dict.fromkeys(range(2012, 2015), 2.0)})  # fmt: skip
    # at 2012 only the forecasts of 2010 (h1, h2) and 2011 (h1) are known: a wins
    best, table = choose(rows, at=2012, candidates=["a", "b"], default="b")
    assert best == "a"
    assert table.set_index("method")["n"].to_dict() == {"a": 3, "b": 3}
    # nothing known at 2010: the default
    assert choose(rows, at=2010, candidates=["a", "b"], default="b")[0] == "b"
    # later, b's errors dominate
    assert choose(rows, at=2016, candidates=["a", "b"], default="a")[0] == "b"
    rec = nested(rows, candidates=["a", "b"], default="b", origins=range(2010, 2015))
    assert rec.groupby("origin")["method"].first().to_dict() == {
        2010: "b",
        2011: "a",
        2012: "a",
        2013: "a",
        2014: "b",
    }
    # the record at an origin is that method's own forecast there
    assert rec.loc[rec["origin"] == 2012, "ape"].to_numpy() == pytest.approx(9.0)
    # a look-back window of one origin: at 2014 only origin 2013's (h1) errors count
    assert choose(rows, at=2014, candidates=["a", "b"], default="a", window=1)[0] == "b"


def test_candidates_are_compared_on_common_cases():
    # c has a forecast only at 2012, where it is poor; a and b also at 2010 (a perfect)
    rows = _rows({"a": {2010: 0.0, 2012: 8.0}, "b": {2010: 5.0, 2012: 6.0}, "c": {2012: 7.0}})
    t = selection_scores(rows, at=2020, candidates=["a", "b", "c"]).set_index("method")
    # only origin 2012 is common: a 8, b 6, c 7
    assert t["score"].to_dict() == pytest.approx({"a": 8.0, "b": 6.0, "c": 7.0})


def test_bias_correction_uses_known_errors_only():
    # every forecast is 10 % too low (actual 100, forecast 100/1.1)
    rows = _rows({"m": dict.fromkeys(range(2010, 2015), 0.0)})
    rows["forecast"] = 100 / 1.1
    b = bias_corrected(rows, ["m"])
    # origin 2010: nothing known, unchanged; from 2011 on: d = log(1.1) per year of horizon
    first = b.loc[b["origin"] == 2010, "forecast"]
    assert first.to_numpy() == pytest.approx(100 / 1.1)
    later = b.loc[b["origin"] == 2012].set_index("horizon")["forecast"]
    # known at 2012: the h1 forecasts of 2010 and 2011 (log 1.1 / 1), the h2 of 2010 (/ 2)
    med = np.median([np.log(1.1), np.log(1.1), np.log(1.1) / 2])
    assert later[1] == pytest.approx(100 / 1.1 * np.exp(med))
    assert later[2] == pytest.approx(100 / 1.1 * np.exp(2 * med))


# ---- conformal intervals -------------------------------------------------------------


def test_conformal_halfwidths_known_answer():
    # horizon 1: |log errors| 0.01 … 0.09 (n = 9): rank ⌈10 · 0.8⌉ = 8 → 0.08
    # horizon 2: 0.02 and 0.05 (n = 2): rank ⌈3 · 0.8⌉ = 3 > 2 → the largest, 0.05 → but ≥ q1
    rows = pd.DataFrame(
        {
            "horizon": [1] * 9 + [2] * 2,
            "forecast": 100.0,
            "actual": 100.0
            * np.exp([0.01, -0.02, 0.03, -0.04, 0.05, 0.06, -0.07, 0.08, 0.09, 0.02, -0.05]),
            "target_year": 2020,
        }
    )
    q = conformal_halfwidths(rows, level=0.8, horizons=[1, 2, 3, 4], scheme="per_horizon")
    assert q["q"].to_numpy() == pytest.approx([0.08, 0.08, 0.12, 0.16])  # monotone; ∝ h beyond
    assert q["measured"].tolist() == [True, True, False, False]
    assert q["n"].tolist() == [9, 2, 0, 0]
    # pooled: |e| / h = 0.01 … 0.09, 0.01, 0.025 (n = 11): rank ⌈12 · 0.8⌉ = 10 → 0.08
    p = conformal_halfwidths(rows, level=0.8, horizons=[1, 2, 3], scheme="pooled")
    assert p["q"].to_numpy() == pytest.approx([0.08, 0.16, 0.24])


@settings(max_examples=30, deadline=None)
@given(
    errs=st.lists(st.floats(min_value=-0.5, max_value=0.5), min_size=20, max_size=60),
    level=st.sampled_from([0.5, 0.8, 0.9]),
)
def test_conformal_covers_at_least_the_level_in_sample(errs, level):
    rows = pd.DataFrame(
        {"horizon": 1, "forecast": 100.0, "actual": 100.0 * np.exp(errs), "target_year": 2020}
    )
    q = conformal_halfwidths(rows, level=level)["q"].iloc[0]
    inside = np.abs(np.asarray(errs)) <= q + 1e-12
    assert inside.mean() >= level - 1e-9


def test_rolling_intervals_use_only_earlier_errors_and_coverage():
    rows = _rows({"m": {2010: 10.0, 2011: 10.0, 2012: 30.0, 2013: 10.0}}, h=(1,))
    iv = rolling_intervals(rows, level=0.8, scheme="per_horizon")
    # origin 2010: nothing known → no interval; 2012: errors of 2010, 2011 known (|log 1.1|)
    assert iv.loc[iv["origin"] == 2010, "p10"].isna().all()
    r12 = iv.loc[iv["origin"] == 2012].iloc[0]
    assert r12["p90"] == pytest.approx(130.0 * 1.1)
    cov = coverage_table(iv)
    # 2011, 2013 covered (error 10 % within the 10 % width); 2012 (30 %) above
    assert cov["coverage"].iloc[0] == pytest.approx(2 / 3)
    assert cov["n_intervals"].iloc[0] == 3 and cov["n"].iloc[0] == 4


# ---- damped-trend ETS ----------------------------------------------------------------


def test_damped_trend_matches_statsmodels_with_fixed_parameters():
    from statsmodels.tsa.holtwinters import Holt

    y = np.array([10.0, 12, 13, 15, 14, 16, 18, 17])
    s = pd.Series(y, index=range(2000, 2008))
    m = DampedTrend(alphas=(0.5,), betas=(0.2,), phis=(0.9,), log=False).fit(s)
    f = m.predict(3)["forecast"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Holt(
            y[2:],
            damped_trend=True,
            initialization_method="known",
            initial_level=y[1],
            initial_trend=y[1] - y[0],
        ).fit(smoothing_level=0.5, smoothing_trend=0.2, damping_trend=0.9, optimized=False)
    assert f == pytest.approx(ref.forecast(3))


def test_damped_trend_grid_contract_and_fallbacks():
    df = pd.DataFrame(
        {
            "unit_id": ["a"] * 6 + ["b"] * 2 + ["c"] * 6,
            "year": [*range(2000, 2006), 2004, 2005, *range(2000, 2006)],
            "value": [1, 2, 3, 4, 5, 6, 7, 7, 5, 5, 5, 5, 5, 0],
        }
    )
    m = DampedTrend()
    assert clone(m).get_params() == m.get_params()
    with pytest.raises(NotFittedError):
        m.predict(1)
    m.fit(df)
    p = m.predict(2).set_index(["unit_id", "horizon"])["forecast"]
    assert p[("a", 1)] > 6  # the trend continues
    assert p[("b", 1)] == pytest.approx(7)  # too short: last value
    assert p[("c", 2)] == 0  # a zero cannot be logged: last value
    assert sorted(m.fallback_) == [("b",), ("c",)]


# ---- population helpers ---------------------------------------------------------------


def test_school_age_splits_groups_evenly():
    from planner.forecast.population import school_age

    path = pd.DataFrame(
        {
            "unit_id": "u",
            "year": 2020,
            "sex": ["M", "F", "M", "F", "T"],
            "age_lo": [5, 5, 10, 10, 15],
            "age_hi": [9, 9, 14, 14, 200],
            "value": [50.0, 50.0, 40.0, 60.0, 999.0],
        }
    )
    out = school_age(path, {"6–11": (6, 11), "12–14": (12, 14)}).set_index("age_group")["value"]
    assert out["6–11"] == pytest.approx(4 / 5 * 100 + 2 / 5 * 100)
    assert out["12–14"] == pytest.approx(3 / 5 * 100)


def _two_censuses(sizes: dict[str, float]) -> pd.DataFrame:
    """Units of different size; CCRs 1.2 (small unit) and 1.0 (others), 5-year groups."""
    rows = []
    for u, n in sizes.items():
        for t in (2000, 2010):
            for a in range(0, 90, 5):
                hi = None if a == 85 else a + 4
                v = n * (1.2 if (u == "small" and t == 2010 and a >= 10) else 1.0)
                rows.append((u, t, "T", a, hi, v))
    return pd.DataFrame(rows, columns=["unit_id", "year", "sex", "age_lo", "age_hi", "value"])


def test_ratio_model_shrinks_small_units_toward_the_pool():
    from planner.forecast.population import project_population

    pop = _two_censuses({"small": 20.0, "big1": 1e5, "big2": 1e5, "big3": 1e5})
    units = ["small", "big1", "big2", "big3"]
    own = project_population("hamilton_perry", pop, None, units=units, origin=2010, last_year=2020)
    eb = project_population("ratio_model", pop, None, units=units, origin=2010, last_year=2020)

    def ages(p, u):
        r = p.path
        return r.loc[(r["unit_id"] == u) & (r["year"] == 2020) & (r["age_lo"] == 40), "value"].sum()

    # the small unit's own ratio (1.2) is pulled toward the pooled ratio (≈ 1.0)
    assert ages(eb, "small") < ages(own, "small")
    assert ages(eb, "small") > 20.0 * 1.0 * 0.99
    # big units keep (nearly) their own ratios
    assert ages(eb, "big1") == pytest.approx(ages(own, "big1"), rel=1e-4)


# ---- information cut of the default schedules ------------------------------------------


def test_default_schedules_are_cut_at_the_information_year():
    from planner.forecast import CohortComponent
    from planner.forecast.schedules import WPP2024_CHINA_TFR, census_life_table, observed_tfr

    assert max(observed_tfr(2012)) == 2012
    assert observed_tfr(2030) == WPP2024_CHINA_TFR
    with pytest.raises(PlannerError, match="starts in 2000"):
        observed_tfr(1995)
    e0 = census_life_table(2005).query("age == 0").set_index("sex")["ex"]
    assert e0["T"] == pytest.approx(71.40, abs=1e-6)  # the 2000 census, not 2010
    assert census_life_table(2015).query("age == 0 and sex == 'T'")["ex"].iloc[0] == pytest.approx(
        74.83
    )
    with pytest.raises(PlannerError, match="censuses"):
        census_life_table(1999)

    ages = list(range(0, 55, 5))
    pop = pd.DataFrame(
        {"unit_id": "u", "year": 2005, "sex": "T", "age_lo": ages,
         "age_hi": [a + 4 for a in ages[:-1]] + [None], "value": 100.0}
    )  # fmt: skip
    cc = CohortComponent(step=5, open_age=50, migration=None).fit(pop)
    assert cc.information_year_ == 2005 and max(cc.default_tfr_) == 2005
    # births of a projection from 2005 use the 2005 TFR for every later year
    level = cc._asfr_for("u", 2020).sum() * 5
    assert level == pytest.approx(WPP2024_CHINA_TFR[2005])
    # later information in the births extends the cut
    b = pd.DataFrame({"unit_id": "u", "year": [2010], "value": [10.0]})
    assert (
        max(CohortComponent(step=5, open_age=10, migration=None).fit(pop, b).default_tfr_) == 2010
    )
    with pytest.raises(PlannerError):
        CohortComponent(step=5, open_age=10, migration=None).fit(pop.assign(year=1995))


def test_mean_of_the_k_best():
    from planner.forecast.select import combination_label, combination_members

    rows = _rows({"a": dict.fromkeys(range(2010, 2015), 4.0), "b": dict.fromkeys(range(2010, 2015), 2.0),
                  "c": dict.fromkeys(range(2010, 2015), 6.0)})  # fmt: skip
    label, _ = choose(rows, at=2014, candidates=["c", "b", "a"], default="a", k=2)
    assert label == "mean(b, a)"  # the two best, in the candidates' order
    assert combination_members(label) == ["b", "a"] and combination_label(["x"]) == "x"
    rec = nested(rows, candidates=["c", "b", "a"], default="a", origins=[2013], k=2)
    # the record is the mean of the members' forecasts: 102 and 104 → 103
    assert rec["forecast"].to_numpy() == pytest.approx(103.0)
    assert set(rec["method"]) == {"mean(b, a)"} and rec["ape"].to_numpy() == pytest.approx(3.0)
