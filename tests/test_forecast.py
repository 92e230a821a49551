"""Tests of planner.forecast: hand-computed projections, backtest, contract, invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from planner.errors import NotFittedError, PlannerError
from planner.forecast import (
    BirthToEntry,
    CohortComponent,
    ConstantRatio,
    Ensemble,
    GradeProgression,
    HamiltonPerry,
    LastValue,
    LinearTrend,
    StatsForecaster,
    add_intervals,
    backtest,
    china_2010_life_table,
    coverage,
    empirical_intervals,
    residual_migration,
    score,
    survival_ratios,
)

# ---------------------------------------------------------------- cohort component, by hand
# Three 5-year groups 0–4, 5–9, 10+ (open), both sexes together (sex "T": women = ½ T).
# Survival: births → 0–4: 0.9; 0–4 → 5–9: 0.95; 5–9 → 10+: 0.9; 10+ stays: 0.8.
# Fertility 0.04 births per woman-year at 10+ only, step n = 5 years.
# P(0) = [100, 80, 200]
# step 1: survivors [–, 100·0.95 = 95, 80·0.9 + 200·0.8 = 232]
#         births = 5 · 0.04 · (½·200 + ½·232)/2 = 0.2 · 108 = 21.6 → 0–4 = 21.6 · 0.9 = 19.44
#         P(5) = [19.44, 95, 232]
# step 2: survivors [–, 19.44·0.95 = 18.468, 95·0.9 + 232·0.8 = 271.1]
#         births = 0.2 · (½·232 + ½·271.1)/2 = 0.2 · 125.775 = 25.155 → 0–4 = 22.6395
#         P(10) = [22.6395, 18.468, 271.1]
SURV = pd.DataFrame({"sex": "T", "age_lo": [-5, 0, 5, 10], "survival": [0.9, 0.95, 0.9, 0.8]})
ASFR = pd.DataFrame({"age_lo": [0, 5, 10], "asfr": [0.0, 0.0, 0.04]})


def tiny_pop(values=(100.0, 80.0, 200.0), year=2020, unit="A"):
    return pd.DataFrame(
        {
            "unit_id": unit,
            "year": year,
            "sex": "T",
            "age_lo": [0, 5, 10],
            "age_hi": [4, 9, np.nan],
            "population": list(values),
        }
    )


def tiny_model(**kw):
    params = dict(step=5, open_age=10, survival=SURV, asfr=ASFR, migration=None)
    params.update(kw)
    return CohortComponent(**params)


def test_cohort_component_two_steps_by_hand():
    pop, births = tiny_model().fit(tiny_pop()).project(2)
    p5 = pop[pop["horizon"] == 5].sort_values("age_lo")["forecast"].to_numpy()
    p10 = pop[pop["horizon"] == 10].sort_values("age_lo")["forecast"].to_numpy()
    np.testing.assert_allclose(p5, [19.44, 95.0, 232.0])
    np.testing.assert_allclose(p10, [22.6395, 18.468, 271.1])
    np.testing.assert_allclose(births["births"], [21.6, 25.155])
    assert pop["year"].max() == 2030


def test_tfr_scaling_and_multiplier():
    # tfr=2 rescales the schedule: 5 · 0.04 = 0.2 → 2.0, i.e. ×10 births in step 1
    _, b = tiny_model(tfr=2.0).fit(tiny_pop()).project(1)
    np.testing.assert_allclose(b["births"], [216.0])
    _, b2 = tiny_model(tfr=2.0, tfr_multiplier=0.5).fit(tiny_pop()).project(1)
    np.testing.assert_allclose(b2["births"], [108.0])


def test_residual_migration_function_and_rates():
    # survive [100, 80, 200] → [–, 95, 232]; observed [30, 100, 220] with 19.44 surviving births
    mig = residual_migration(
        [100, 80, 200], [30, 100, 220], [0.95, 0.9, 0.8], births_survived=19.44
    )
    np.testing.assert_allclose(mig, [10.56, 5.0, -12.0])
    two = pd.concat([tiny_pop(year=2015), tiny_pop((30.0, 100.0, 220.0), year=2020)])
    m = tiny_model(migration="residual").fit(two)
    f = m.migration_factors_["A"]["T"]
    np.testing.assert_allclose(f, [30 / 19.44, 100 / 95, 220 / 232])
    np.testing.assert_allclose(m.net_migration_["A"]["T"], [10.56, 5.0, -12.0])


def test_default_schedules_are_sane():
    lt = china_2010_life_table()
    e0 = lt[lt["age"] == 0].set_index("sex")["ex"]
    assert e0["F"] == pytest.approx(77.37, abs=1e-6) and e0["M"] == pytest.approx(72.38, abs=1e-6)
    s = survival_ratios(lt, width=5, open_age=85)
    assert ((s["survival"] > 0) & (s["survival"] <= 1)).all()


# ---------------------------------------------------------------- Hamilton–Perry
def test_hamilton_perry_ratios_by_hand():
    # groups 0–4, 5–9, 10–14, 15+ (width 5, open 15); interval 10; sex T (women = ½ T)
    def pop(year, vals):
        return pd.DataFrame(
            {
                "unit_id": "A",
                "year": year,
                "sex": "T",
                "age_lo": [0, 5, 10, 15],
                "age_hi": [4, 9, 14, np.nan],
                "value": vals,
            }
        )

    data = pd.concat([pop(2000, [50, 40, 30, 200]), pop(2010, [60, 45, 44, 250])])
    hp = HamiltonPerry(interval=10, width=5, open_age=15, women_ages=(10, 200)).fit(data)
    # CCR 10–14 = 44 / 50; CCR 15+ = 250 / (40 + 30 + 200)
    np.testing.assert_allclose(hp.ccr_["ccr"], [44 / 50, 250 / 270])
    # child ratios ("women" = ½ T): 0–4 / ½(44 + 250) (ages 10+), 5–9 / ½·250 (ages 15+)
    np.testing.assert_allclose(hp.cwr_["cwr"], [60 / 147, 45 / 125])
    f = hp.predict(1).sort_values("age_lo")["forecast"].to_numpy()
    g10, g15 = 60 * 44 / 50, (45 + 44 + 250) * 250 / 270
    np.testing.assert_allclose(f, [60 / 147 * (g10 + g15) / 2, 45 / 125 * g15 / 2, g10, g15])


# ---------------------------------------------------------------- grade progression
def test_grade_progression_by_hand():
    # grades 1–3 of unit A: 2020 [100, 90, 80], 2021 [110, 95, 88]
    # GPR 1→2 = 95/100 = 0.95, GPR 2→3 = 88/90; births 2014 120, 2015 125, 2016 130
    # entry ratio (lag 6, last) = 110 / 125 = 0.88
    # 2022: g1 = 0.88·130 = 114.4, g2 = 110·0.95 = 104.5, g3 = 95·88/90 = 92.888…
    # 2023: g1 = NaN (births 2017 unknown), g2 = 114.4·0.95 = 108.68, g3 = 104.5·88/90
    enr = pd.DataFrame(
        {
            "unit_id": "A",
            "year": [2020] * 3 + [2021] * 3,
            "grade": [1, 2, 3] * 2,
            "value": [100, 90, 80, 110, 95, 88],
        }
    )
    births = pd.DataFrame(
        {"unit_id": "A", "year": [2014, 2015, 2016], "value": [120.0, 125.0, 130.0]}
    )
    gp = GradeProgression(n_years=1, entry_n_years=1, transition_grade=3).fit(enr, births)
    f = gp.predict(2).set_index(["year", "grade"])["forecast"]
    np.testing.assert_allclose(
        [f[(2022, 1)], f[(2022, 2)], f[(2022, 3)], f[(2023, 2)], f[(2023, 3)]],
        [114.4, 104.5, 95 * 88 / 90, 108.68, 104.5 * 88 / 90],
    )
    assert np.isnan(f[(2023, 1)])
    assert gp.transition_ratio_["ratio"].iloc[0] == pytest.approx(88 / 90)
    # projected births fill the gap
    f2 = gp.predict(2, X=pd.DataFrame({"unit_id": "A", "year": [2017], "value": [100.0]}))
    assert f2.set_index(["year", "grade"]).loc[(2023, 1), "forecast"] == pytest.approx(88.0)


def test_birth_to_entry_lag_mix():
    births = pd.DataFrame(
        {"unit_id": "A", "year": range(2000, 2010), "value": np.arange(10.0) + 100}
    )
    entry = pd.DataFrame({"unit_id": "A", "year": [2008, 2009], "value": [50.0, 51.0]})
    m = BirthToEntry(lag=6, next_lag_share=0.5, n_years=1).fit(entry, births)
    # driver 2009 = ½·b2003 + ½·b2002 = 102.5 → ratio 51/102.5; forecast 2010 = ratio · 103.5
    assert m.predict(1)["forecast"].iloc[0] == pytest.approx(51 / 102.5 * 103.5)


# ---------------------------------------------------------------- backtest
def linear_data():
    years = np.arange(2000, 2016)
    return {
        "t": pd.DataFrame({"unit_id": "A", "year": years, "value": 100.0 + 5.0 * (years - 2000)})
    }


def test_backtest_linear_trend_exact_and_last_value_known_error():
    res = backtest(
        {"lv": LastValue, "lt": lambda: LinearTrend(window=5)},
        linear_data(),
        origins=range(2005, 2011),
        horizons=3,
        target="t",
    )
    lt = res[res["method"] == "lt"]
    assert lt["ape"].max() < 1e-9
    lv = res[res["method"] == "lv"]
    y_t = 100 + 5 * (lv["origin"] - 2000)
    expected = -100 * 5 * lv["horizon"] / (y_t + 5 * lv["horizon"])
    np.testing.assert_allclose(lv["pe"], expected)
    s = score(res)
    assert set(s.columns) >= {"method", "horizon", "mape", "mdape", "malpe", "p90_ape", "n"}
    assert (s["n"] == 6).all()
    assert list(res.columns[:7]) == [
        "method",
        "unit_id",
        "origin",
        "horizon",
        "target_year",
        "forecast",
        "actual",
    ]


class Spy(LastValue):
    seen: list = []  # noqa: RUF012

    def fit(self, y, X=None):
        Spy.seen.append((int(y["year"].max()), None if X is None else int(X["year"].max())))
        return super().fit(y, X)


def test_backtest_never_leaks_future_rows():
    data = linear_data()
    data["d"] = data["t"].assign(value=1.0)
    Spy.seen = []
    backtest({"spy": Spy}, data, origins=[2005, 2008], horizons=2, target="t", driver="d")
    assert Spy.seen == [(2005, 2005), (2008, 2008)]


def test_intervals_and_coverage():
    rng = np.random.default_rng(0)
    years = np.arange(1990, 2016)
    data = {
        "t": pd.DataFrame(
            {"unit_id": "A", "year": years, "value": 100 * np.exp(rng.normal(0, 0.05, len(years)))}
        )
    }
    res = backtest({"lv": LastValue}, data, origins=range(1995, 2014), horizons=2, target="t")
    iv = empirical_intervals(res)
    assert {"q10", "q50", "q90", "n"} <= set(iv.columns)
    withp = add_intervals(res, iv)
    assert (withp["p10"] <= withp["p90"]).all()
    cov = coverage(withp)
    assert cov["coverage"].between(0.6, 1.0).all()  # in-sample quantiles cover ≈ 80 %


def test_not_fitted_errors():
    for est in [
        LastValue(),
        LinearTrend(),
        ConstantRatio(lags=6),
        BirthToEntry(),
        GradeProgression(),
        HamiltonPerry(),
        CohortComponent(),
        StatsForecaster(),
        Ensemble(members=[LastValue()]),
    ]:
        with pytest.raises(NotFittedError):
            est.predict(1)
        assert isinstance(NotFittedError("x"), PlannerError)


def test_sklearn_contract_params_and_clone():
    m = BirthToEntry(lag=7, n_years=2)
    assert m.get_params()["lag"] == 7
    c = clone(m).set_params(decay=0.5)
    assert c.decay == 0.5 and m.decay == 1.0
    assert LinearTrend().fit(pd.Series([1.0, 2.0], index=[2000, 2001])) is not None


def test_identical_runs_identical_output():
    f = {
        "lt": lambda: LinearTrend(window=4),
        "ets": StatsForecaster,
        "en": lambda: Ensemble(members=[LastValue(), LinearTrend()]),
    }
    a = backtest(f, linear_data(), origins=range(2006, 2010), horizons=3, target="t")
    b = backtest(f, linear_data(), origins=range(2006, 2010), horizons=3, target="t")
    pd.testing.assert_frame_equal(a, b)
    p1 = tiny_model().fit(tiny_pop()).predict(3)
    p2 = tiny_model().fit(tiny_pop()).predict(3)
    pd.testing.assert_frame_equal(p1, p2)


# ---------------------------------------------------------------- invariants
counts = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    pop=st.lists(counts, min_size=3, max_size=3),
    mig=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=3, max_size=3),
    mult=st.floats(min_value=0, max_value=3),
    steps=st.integers(min_value=1, max_value=4),
)
def test_projection_never_negative(pop, mig, mult, steps):
    migration = pd.DataFrame({"sex": "T", "age_lo": [0, 5, 10], "value": mig})
    m = tiny_model(migration=migration, migration_multiplier=mult).fit(tiny_pop(pop))
    assert (m.predict(steps)["forecast"] >= 0).all()


@settings(max_examples=40, deadline=None)
@given(
    pop=st.lists(counts, min_size=3, max_size=3),
    later=st.lists(counts, min_size=3, max_size=3),
    m1=st.floats(min_value=0, max_value=3),
    m2=st.floats(min_value=0, max_value=3),
)
def test_higher_tfr_multiplier_never_lowers_births(pop, later, m1, m2):
    lo, hi = sorted((m1, m2))
    two = pd.concat([tiny_pop(pop, year=2015), tiny_pop(later, year=2020)])
    b_lo = tiny_model(migration="residual", tfr_multiplier=lo).fit(two).project(3)[1]["births"]
    b_hi = tiny_model(migration="residual", tfr_multiplier=hi).fit(two).project(3)[1]["births"]
    assert (b_hi.to_numpy() >= b_lo.to_numpy() - 1e-9 * (1 + b_lo.abs().to_numpy())).all()


def test_stock_flow_known_answer():
    from planner.errors import NotFittedError, PlannerError
    from planner.forecast import StockFlow

    births = pd.DataFrame(
        {"unit_id": "a", "year": range(2000, 2006), "value": [100, 110, 120, 130, 140, 150.0]}
    )
    # intake = births one year earlier × 0.9, the last one × 0.8
    intake = pd.DataFrame(
        {"unit_id": "a", "year": range(2001, 2005), "value": [90, 99, 108, 104.0]}
    )
    # pupils = retention × the last two intakes: 1.1, 1.05, then 1.2
    totals = pd.DataFrame(
        {
            "unit_id": "a",
            "year": [2002, 2003, 2004],
            "value": [1.1 * (99 + 90), 1.05 * (108 + 99), 1.2 * (104 + 108)],
        }
    )
    sf = StockFlow(duration=2, lag=1, next_lag_share=0.0, n_years=1, entry_years=1)
    assert clone(sf).get_params() == sf.get_params()  # scikit-learn contract
    with pytest.raises(NotFittedError):
        sf.predict(1)
    with pytest.raises(PlannerError, match="intake"):
        StockFlow().fit(totals, births.loc[births["year"] <= 2004])
    sf.fit(totals, births.loc[births["year"] <= 2004], intake=intake)
    assert sf.retention_["retention"].tolist() == pytest.approx([1.2])
    p = sf.predict(2).set_index("year")["forecast"]
    # 2005: intake 0.8 × 140 = 112, stock 112 + 104; 2006: 0.8 × 150 = 120 needs births 2005,
    # unknown at the origin → NaN
    assert p[2005] == pytest.approx(1.2 * (112 + 104))
    assert np.isnan(p[2006])
    # with n_years = 2 the retention is the mean of the last two ratios
    sf2 = StockFlow(duration=2, lag=1, next_lag_share=0.0, n_years=2).fit(
        totals, births.loc[births["year"] <= 2004], intake=intake
    )
    assert sf2.retention_["retention"].tolist() == pytest.approx([(1.05 + 1.2) / 2])
    # a missing intake year inside the window is births × the unit's entry ratio
    b = pd.concat([pd.DataFrame({"unit_id": ["a"], "year": [1999], "value": [90.0]}), births])
    e = pd.DataFrame(
        {"unit_id": "a", "year": [2000, 2001, 2002, 2004], "value": [81, 90, 99, 104.0]}
    )
    y = pd.DataFrame(
        {"unit_id": "a", "year": [2002, 2003, 2004], "value": [1.1 * (81 + 90 + 99), 300, 310.0]}
    )
    sf3 = StockFlow(duration=3, lag=1, next_lag_share=0.0).fit(
        y, b.loc[b["year"] <= 2004], intake=e
    )
    assert sf3.retention_["retention"].tolist() == pytest.approx([1.1])  # 2003–2004 not observable
    q = sf3.predict(1).set_index("year")["forecast"]
    # 2005 = 1.1 × (E2005 + E2004 + E2003), E2005 = 0.8 × 140, E2003 = 0.8 × 120 (gap)
    assert q[2005] == pytest.approx(1.1 * (0.8 * 140 + 104 + 0.8 * 120))


def test_with_window_equals_a_refit_with_that_window():
    rng = np.random.default_rng(3)
    years = range(2010, 2021)
    births = pd.DataFrame(
        [(u, y, 100 + 10 * rng.random()) for u in "ab" for y in range(2000, 2021)],
        columns=["unit_id", "year", "value"],
    )
    grades = pd.DataFrame(
        [(u, y, g, 90 + 20 * rng.random()) for u in "ab" for y in years for g in range(1, 10)],
        columns=["unit_id", "year", "grade", "value"],
    )
    fit = GradeProgression(n_years=1, entry_n_years=1).fit(grades, births)
    for n, e in ((3, 2), (5, 5), (None, 3)):
        a = fit.with_window(n, e).predict(4, X=births)
        b = GradeProgression(n_years=n, entry_n_years=e).fit(grades, births).predict(4, X=births)
        pd.testing.assert_frame_equal(a, b)
    totals = grades.groupby(["unit_id", "year"], as_index=False)["value"].sum()
    cr = ConstantRatio(lags={6: 0.5, 7: 1.0, 8: 0.5}, n_years=1).fit(totals, births)
    for n in (2, 4, None):
        a = cr.with_window(n).predict(3, X=births)
        b = ConstantRatio(lags={6: 0.5, 7: 1.0, 8: 0.5}, n_years=n).fit(totals, births)
        pd.testing.assert_frame_equal(a, b.predict(3, X=births))
    assert cr.n_years == 1  # the original fit is unchanged
