"""The scenario's enrolment forecast on the demo city, end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner import api
from planner.forecast.pipeline import enrolment_backtest, enrolment_forecast, projected_births


@pytest.fixture(scope="module")
def demo():
    sc = api.read_scenario("data/demo/scenario.toml")
    return sc, api.load_inputs(sc)


def test_forecast_shape_order_and_base_year(demo):
    sc, inputs = demo
    fc, details = enrolment_forecast(inputs)
    assert set(fc["year"]) == set(range(sc.base_year, sc.horizon + 1))
    assert len(fc) == 20 * 2 * (sc.horizon - sc.base_year + 1)
    assert (fc["p10"] <= fc["p50"] + 1e-9).all() and (fc["p50"] <= fc["p90"] + 1e-9).all()
    assert (fc["p10"] >= 0).all()
    # the base year is the observed enrolment, summed from the schools' history
    enr = inputs["enrolment"]
    obs = enr[(enr["year"] == sc.base_year) & (enr["grade"] <= 6)]["students"].sum()
    base = fc[(fc["year"] == sc.base_year) & (fc["stage"] == "primary")]["p50"].sum()
    assert base == pytest.approx(obs)
    # intervals widen with the horizon
    width = (fc["p90"] - fc["p10"]) / fc["p50"]
    w = width.groupby(fc["year"]).mean()
    assert w.iloc[-1] > w.iloc[1]
    assert {"births", "backtest", "intervals"} <= set(details)


def test_births_projected_to_entry_of_the_horizon(demo):
    sc, inputs = demo
    b = projected_births(inputs, sc.horizon - 6)
    proj = b[b["source"] == "projected"]
    assert proj["year"].min() == sc.base_year + 1 and proj["year"].max() == sc.horizon - 6
    assert (proj["value"] > 0).all()
    # a lower fertility multiplier never raises projected births
    low = api.variant(sc, forecast__tfr_multiplier=0.7)
    from planner.inputs import Inputs

    b_low = projected_births(
        Inputs(low, inputs.tables, inputs.report, inputs.compute_crs, inputs.files), sc.horizon - 6
    )
    m = proj.merge(
        b_low[b_low["source"] == "projected"], on=["unit_id", "year"], suffixes=("", "_low")
    )
    assert (m["value_low"] <= m["value"] + 1e-9).all() and (m["value_low"] < m["value"]).any()


def test_backtest_has_baselines_on_identical_cases(demo):
    _, inputs = demo
    bt = enrolment_backtest(inputs)
    assert set(bt["method"]) == {"grade_progression", "last_value", "linear_trend_5"}
    keys = ["unit_id", "stage", "origin", "horizon"]
    cases = {m: set(map(tuple, g[keys].to_numpy())) for m, g in bt.groupby("method")}
    assert cases["grade_progression"] == cases["last_value"] == cases["linear_trend_5"]
    assert (bt["year"] > bt["origin"]).all()  # forecasts only after the origin


def test_forecast_enters_the_requirement(demo):
    sc, inputs = demo
    r = api.run(sc, inputs=inputs)
    needs = r.tables["needs"]
    assert needs["forecast_seats"].notna().all()
    assert (
        needs["required_seats"]
        >= np.ceil(needs[["norm_seats", "forecast_seats"]].max(axis=1) - 1e-9)
    ).all()
    assert "forecast_backtest" in r.tables
    same = api.run(sc, inputs=inputs)
    pd.testing.assert_frame_equal(needs, same.tables["needs"])  # identical runs, identical output


def test_reconcile_to_control_total():
    from planner.forecast.pipeline import reconcile

    df = pd.DataFrame(
        {
            "unit_id": ["A", "B", "A", "B", "A", "B"],
            "year": [2030, 2030, 2035, 2035, 2040, 2040],
            "population": [600.0, 400.0, 700.0, 500.0, 800.0, 600.0],
        }
    )
    out = reconcile(df, {2030: 2000.0, 2040: 2800.0})
    tot = out.groupby("year")["population"].sum()
    assert tot[2030] == pytest.approx(2000) and tot[2040] == pytest.approx(2800)
    # 2035: log-linear between 2000 and 2800
    assert tot[2035] == pytest.approx(np.sqrt(2000 * 2800))
    # shares within a year are kept
    a = out.set_index(["unit_id", "year"])["population"]
    assert a[("A", 2030)] / a[("B", 2030)] == pytest.approx(1.5)


def test_population_control_in_the_scenario(demo):
    sc, inputs = demo
    ctl = api.variant(sc, demand__population_control={"2030": 1_300_000, "2035": 1_350_000})
    r = api.run(ctl, inputs=inputs, forecast=None)
    n = r.tables["needs"]
    p = n[n["stage"] == "primary"]
    # the control applies to the projection before planned housing
    tot = (p["population"] - p["development_residents"]).groupby(p["year"]).sum()
    assert abs(tot[2030] - 1_300_000) <= 20 and abs(tot[2035] - 1_350_000) <= 20


def test_enrolment_control_total_is_met_and_joins_the_observed_year(demo):
    from planner.errors import ScenarioError
    from planner.inputs import Inputs

    sc, inputs = demo
    free, _ = enrolment_forecast(inputs)
    tot = free.groupby(["stage", "year"])["p50"].sum()
    target = 1.1 * tot[("primary", 2030)]
    v = api.variant(sc, forecast__enrolment_control={"primary": {2030: target}})
    fc, _ = enrolment_forecast(Inputs(v, inputs.tables, inputs.report, inputs.compute_crs))
    t = fc.groupby(["stage", "year"])["p50"].sum()
    assert t[("primary", 2030)] == pytest.approx(target)
    assert t[("primary", sc.base_year)] == pytest.approx(tot[("primary", sc.base_year)])
    # after the last control year the ratio to the free forecast is kept
    assert t[("primary", 2035)] / tot[("primary", 2035)] == pytest.approx(1.1)
    # between: the control path runs log-linearly from the observed year to 2030
    path = np.exp(np.interp(2027, [sc.base_year, 2030], np.log([tot[("primary", 2025)], target])))
    assert t[("primary", 2027)] == pytest.approx(path)
    # junior untouched; intervals stay ordered
    junior = fc[fc["stage"] == "junior"].reset_index(drop=True)
    pd.testing.assert_frame_equal(junior, free[free["stage"] == "junior"].reset_index(drop=True))
    assert (fc["p10"] <= fc["p50"] + 1e-9).all() and (fc["p50"] <= fc["p90"] + 1e-9).all()
    bad = api.variant(sc, forecast__enrolment_control={"junior": {sc.base_year: 1000}})
    with pytest.raises(ScenarioError, match="not after the base year"):
        enrolment_forecast(Inputs(bad, inputs.tables, inputs.report, inputs.compute_crs))


# ---- births_method = "ratio" (Hamilton–Perry) ------------------------------------------


def _hp_table() -> pd.DataFrame:
    """Two units, single ages 0–60 (60+ open), censuses 2015 and 2020, both sexes."""
    rows = []
    for unit, before, after in (("A", 100.0, 110.0), ("B", 100.0, 90.0)):
        for sex in ("M", "F"):
            for age in range(61):
                p15 = 200.0 if (unit == "A" and 5 <= age <= 9) else before
                p20 = 2.2 * before if (unit == "A" and 10 <= age <= 14) else after
                hi = None if age == 60 else age
                rows.append((unit, 2015, sex, age, hi, p15))
                rows.append((unit, 2020, sex, age, hi, p20))
    return pd.DataFrame(rows, columns=["unit_id", "year", "sex", "age_lo", "age_hi", "value"])


def test_ratio_births_known_answer():
    from planner.forecast.pipeline import ratio_births

    births = pd.DataFrame({"unit_id": ["A", "B"], "year": [2020, 2020], "value": [200.0, 50.0]})
    out = ratio_births(_hp_table(), births, years=range(2021, 2031), open_age=60)
    b = out.set_index(["unit_id", "year"])["value"]
    # A: CCR = 1.1 at every age (220 / 200 for the cohort aged 5–9 in 2015); women 15–49:
    # 2020: 35 × 110 = 3850; 2025: survivors of ages 10–44 in 2020 = 1.1 × (5 × 220 + 30 × 110)
    w20, w25 = 35 * 110.0, 1.1 * (5 * 220.0 + 30 * 110.0)
    assert b[("A", 2025)] == pytest.approx(200.0 * w25 / w20)
    # between the steps: log-linear in the women
    assert b[("A", 2022)] == pytest.approx(200.0 * (w25 / w20) ** (2 / 5))
    # B: CCR = 0.9; women 15–49 fall by 0.9 per five years (children 0–4 in 2025 come from
    # the child–woman ratios and are 10 and more years from age 15)
    assert b[("B", 2025)] == pytest.approx(50.0 * 0.9)
    assert b[("B", 2030)] == pytest.approx(50.0 * 0.81)
    half = ratio_births(_hp_table(), births, years=[2025], open_age=60, tfr_multiplier=0.5)
    assert half["value"].to_numpy() == pytest.approx([0.5 * b[("A", 2025)], 0.5 * b[("B", 2025)]])


def test_ratio_births_needs_two_age_tables():
    from planner.errors import ScenarioError
    from planner.forecast.pipeline import ratio_births

    one = _hp_table().query("year == 2020 or unit_id == 'A'")
    births = pd.DataFrame({"unit_id": ["A"], "year": [2020], "value": [200.0]})
    with pytest.raises(ScenarioError, match=r"two age tables.*unit\(s\) B"):
        ratio_births(one, births, years=[2025], open_age=60)


def test_ratio_method_runs_on_the_demo(demo):
    from planner.errors import ScenarioError
    from planner.inputs import Inputs

    sc, inputs = demo
    assert sc.forecast.births_method == "auto"  # the demo's default is unchanged

    def with_(**kw):
        v = api.variant(sc, **kw)
        return Inputs(v, inputs.tables, inputs.report, inputs.compute_crs, inputs.files)

    ratio = with_(forecast__births_method="ratio")
    b = projected_births(ratio, sc.horizon - 6)
    proj = b[b["source"] == "projected"]
    assert proj["year"].min() == sc.base_year + 1 and proj["year"].max() == sc.horizon - 6
    assert (proj["value"] > 0).all() and proj["value"].notna().all()
    cohort = projected_births(inputs, sc.horizon - 6)
    assert not np.allclose(
        proj["value"].to_numpy(), cohort[cohort["source"] == "projected"]["value"].to_numpy()
    )
    low = projected_births(
        with_(forecast__births_method="ratio", forecast__tfr_multiplier=0.7), sc.horizon - 6
    )
    assert low[low["source"] == "projected"]["value"].to_numpy() == pytest.approx(
        0.7 * proj["value"].to_numpy()
    )
    fc, details = enrolment_forecast(ratio)
    assert set(fc["year"]) == set(range(sc.base_year, sc.horizon + 1))
    assert (fc["p10"] <= fc["p50"] + 1e-9).all() and (fc["p50"] <= fc["p90"] + 1e-9).all()
    assert details["births"]["value"].notna().all()
    with pytest.raises(ScenarioError, match=r"forecast\.migration_multiplier"):
        projected_births(
            with_(forecast__births_method="ratio", forecast__migration_multiplier=0.5), 2030
        )
    with pytest.raises(ScenarioError, match=r"forecast\.fertility_table"):
        projected_births(
            with_(forecast__births_method="ratio", forecast__fertility_table="f.csv"), 2030
        )
