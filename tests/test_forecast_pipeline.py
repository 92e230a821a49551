"""The scenario's forecast (births → population → entry → enrolment) end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner import api
from planner.errors import PlannerError, ScenarioError
from planner.forecast.pipeline import (
    ForecastData,
    ForecastSettings,
    data_from_inputs,
    enrolment_forecast,
    forecast_units,
    stage_cohorts,
)
from planner.forecast.select import combination_label
from planner.inputs import Inputs


@pytest.fixture
def demo(demo_inputs):
    """The demo scenario and its inputs (session-wide, conftest.py: read only)."""
    return demo_inputs


def _with(inputs, sc, **kw):
    v = api.variant(sc, **kw)
    return Inputs(v, inputs.tables, inputs.report, inputs.compute_crs, inputs.files)


def test_forecast_shape_order_and_base_year(demo, demo_forecast):
    sc, inputs = demo
    fc, details = demo_forecast
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
    assert {"method", "accuracy", "backtest", "intervals", "births", "school_age"} <= set(details)


def test_the_run_records_the_choice_and_its_out_of_sample_error(demo_forecast):
    _, details = demo_forecast
    m = details["method"]
    # births: the best candidate; enrolment: the mean of the three best (combine_best)
    chosen = m.loc[m["chosen"]]
    assert chosen.groupby("target").size().to_dict() == {"births": 1, "junior": 3, "primary": 3}
    for target, g in chosen.groupby("target"):
        scored = m.loc[(m["target"] == target) & m["score"].notna(), "score"]
        best = np.sort(scored.to_numpy())[: len(g)]
        assert np.sort(g["score"].to_numpy()) == pytest.approx(best)
    acc = details["accuracy"]
    assert set(acc["target"]) == {"births", "junior", "primary"}
    assert set(acc["horizon"]) == {1, 2, 3, 4, 5}
    assert acc["coverage"].between(0, 1).all() and (acc["mape"] >= 0).all()
    # every candidate and the two reference methods appear in the backtest table
    bt = details["backtest"]
    assert {"last_value", "linear_trend"} <= set(bt.loc[bt["target"] == "primary", "method"])


def test_school_age_population_and_births(demo, demo_forecast):
    sc, inputs = demo
    _, details = demo_forecast
    sa = details["school_age"]
    assert set(sa["age_group"]) == {"6–11", "12–14"}
    assert sa["year"].min() == sc.base_year and sa["year"].max() == sc.horizon
    # at the base year (an observed age table) the groups are the observed counts
    pop = inputs["population_by_age"]
    obs = pop.loc[(pop["year"] == sc.base_year) & pop["age_lo"].between(6, 11), "population"].sum()
    got = sa.loc[(sa["year"] == sc.base_year) & (sa["age_group"] == "6–11"), "value"].sum()
    assert got == pytest.approx(obs)
    b = details["births"]
    proj = b[b["source"] == "projected"]
    assert proj["year"].min() == sc.base_year + 1 and proj["year"].max() == sc.horizon
    assert (proj["value"] > 0).all()
    assert (proj["p10"] <= proj["value"]).all() and (proj["value"] <= proj["p90"]).all()


@pytest.mark.parametrize("method", ["cohort_component", "hamilton_perry", "ratio_model"])
def test_lower_fertility_multiplier_scales_the_births(demo, method):
    from planner.forecast.population import project_population

    _, inputs = demo
    d = data_from_inputs(inputs)
    units = sorted(d.population["unit_id"].unique())

    def births(m):
        p = project_population(
            method, d.population, d.births, units=units, origin=2025, last_year=2040,
            tfr_multiplier=m,
        )  # fmt: skip
        return p.births.set_index(["unit_id", "year"])["value"]

    base, low = births(1.0), births(0.7)
    assert low.to_numpy() == pytest.approx(0.7 * base.to_numpy())
    assert set(base.index.get_level_values("year")) == set(range(2026, 2041))
    assert (base > 0).all()


def test_explicit_methods_and_refusals(demo):
    sc, inputs = demo
    with pytest.raises(ScenarioError, match=r"migration_multiplier"):
        forecast_units(
            data_from_inputs(inputs),
            base_year=sc.base_year,
            horizon=sc.horizon,
            settings=ForecastSettings(population_method="hamilton_perry", migration_multiplier=0.5),
        )
    one_table = data_from_inputs(inputs)
    one_table.population = one_table.population.query("year == 2025")
    with pytest.raises(ScenarioError, match=r"single age table"):
        forecast_units(
            one_table,
            base_year=sc.base_year,
            horizon=sc.horizon,
            settings=ForecastSettings(population_method="hamilton_perry"),
        )
    no_grades = data_from_inputs(inputs)
    totals = no_grades.grades.assign(
        stage=np.where(no_grades.grades["grade"] <= 6, "primary", "junior")
    )
    no_grades = ForecastData(
        births=no_grades.births,
        population=no_grades.population,
        totals=totals.groupby(["unit_id", "year", "stage"], as_index=False)["value"].sum(),
    )
    with pytest.raises(ScenarioError, match=r"grade_progression need\(s\) grades"):
        forecast_units(
            no_grades,
            base_year=sc.base_year,
            horizon=sc.horizon,
            settings=ForecastSettings(enrolment_method="grade_progression"),
        )


def test_scenario_method_names_are_checked():
    from planner.scenario import scenario_from_dict

    base = {
        "name": "x",
        "base_year": 2020,
        "horizon": 2030,
        "inputs": {k: {"path": "a.csv"} for k in ("units", "population", "schools")},
    }
    with pytest.raises(ScenarioError, match=r"did you mean 'grade_progression'"):
        scenario_from_dict({**base, "forecast": {"enrolment_method": "grade_progresion"}})
    with pytest.raises(ScenarioError, match=r"did you mean 'hamilton_perry'"):
        scenario_from_dict(
            {**base, "forecast": {"population_method": "cohort_component+hamiton_perry"}}
        )
    with pytest.raises(ScenarioError, match=r"'auto' cannot be part"):
        scenario_from_dict({**base, "forecast": {"enrolment_method": "auto+ets"}})
    ok = scenario_from_dict({**base, "forecast": {"enrolment_method": "grade_progression+ets"}})
    assert ok.forecast.enrolment_method == "grade_progression+ets"
    assert ok.forecast.population_method == "auto"


def test_a_chosen_combination_is_the_mean_of_its_members(demo):
    sc, inputs = demo
    data = data_from_inputs(inputs)

    def run(method):
        return forecast_units(
            data,
            base_year=sc.base_year,
            horizon=2030,
            settings=ForecastSettings(
                enrolment_method=method, ratio_years=3, population_method="births_trend"
            ),
        ).enrolment.set_index(["unit_id", "stage", "year"])["p50"]

    a, b, ab = run("grade_progression"), run("ets"), run("grade_progression+ets")
    assert ab.to_numpy() == pytest.approx(((a + b) / 2).to_numpy())


def test_stage_cohorts_follow_the_cut_off():
    assert stage_cohorts("primary", 0.0) == {6: 1, 7: 1, 8: 1, 9: 1, 10: 1, 11: 1}
    third = stage_cohorts("primary", 1 / 3)
    assert third[6] == pytest.approx(2 / 3) and third[12] == pytest.approx(1 / 3)
    assert sum(third.values()) == pytest.approx(6)
    junior = stage_cohorts("junior", 1 / 3)
    assert sorted(junior) == [12, 13, 14, 15] and sum(junior.values()) == pytest.approx(3)


def test_forecast_enters_the_requirement(demo_forecast_run, demo_forecast):
    r = demo_forecast_run  # api.run of the demo scenario, its own forecast (conftest.py)
    needs = r.tables["needs"]
    assert needs["forecast_seats"].notna().all()
    assert (
        needs["required_seats"]
        >= np.ceil(needs[["norm_seats", "forecast_seats"]].max(axis=1) - 1e-9)
    ).all()
    assert {"forecast_method", "forecast_accuracy", "forecast_backtest"} <= set(r.tables)
    # identical runs, identical output
    _, details = demo_forecast
    for name in ("method", "accuracy", "backtest", "births"):
        pd.testing.assert_frame_equal(r.tables[f"forecast_{name}"], details[name])


# ---- a small synthetic history: nested choice, leakage ---------------------------------


def _toy(seed: int = 0) -> ForecastData:
    """Three units: births 2000–2020, grades 1–9 2008–2020, 5-year age tables 2010 and 2015."""
    rng = np.random.default_rng(seed)
    units = ["a", "b", "c"]
    years = np.arange(2000, 2021)
    births = pd.DataFrame(
        [
            (u, y, 1000 * (1 + i) * np.exp(0.02 * (y - 2000) * (i - 1)) * rng.lognormal(0, 0.03))
            for i, u in enumerate(units)
            for y in years
        ],
        columns=["unit_id", "year", "value"],
    )
    b = births.set_index(["unit_id", "year"])["value"]
    rows = []
    for u in units:
        for y in range(2008, 2021):
            for g in range(1, 10):
                born = y - 5 - g
                v = b.get((u, born), b[(u, 2000)]) * 0.95 * 1.01**g * rng.lognormal(0, 0.02)
                rows.append((u, y, g, v))
    grades = pd.DataFrame(rows, columns=["unit_id", "year", "grade", "value"])
    pop = []
    for u in units:
        for t in (2010, 2015):
            for sex in ("M", "F"):
                for a in range(0, 90, 5):
                    born = t - a - 2
                    base = b.get((u, born), b[(u, 2000)] * np.exp(-0.01 * (2000 - born)))
                    hi = None if a == 85 else a + 4
                    pop.append((u, t, sex, a, hi, 2.5 * base * (0.99 ** (a / 10))))
    population = pd.DataFrame(pop, columns=["unit_id", "year", "sex", "age_lo", "age_hi", "value"])
    return ForecastData(births=births, population=population, grades=grades)


TOY = ForecastSettings(ratio_years=3)


def test_nested_choice_equals_the_choice_of_a_run_at_that_origin():
    """The record of the choice at origin T is what a run with base year T would have chosen."""
    data = _toy()
    full = forecast_units(data, base_year=2020, horizon=2025, settings=TOY)
    t = 2017
    cut = forecast_units(data, base_year=t, horizon=t + 5, settings=TOY)
    nested = full.rows["enrolment_nested"]
    for stage in ("primary", "junior"):
        chosen = combination_label(cut.choices.query("target == @stage and chosen")["candidate"])
        at_t = nested.loc[(nested["stage"] == stage) & (nested["origin"] == t), "method"]
        assert set(at_t) == {chosen}
        # and its forecast from T is the run's forecast
        run_t = cut.enrolment.query("stage == @stage and year > @t").set_index(["unit_id", "year"])
        rec = nested.loc[(nested["stage"] == stage) & (nested["origin"] == t)]
        rec = rec.set_index(["unit_id", "target_year"])["forecast"]
        joined = run_t["p50"].reindex(rec.index)
        assert joined.to_numpy() == pytest.approx(rec.to_numpy())


def test_selection_never_sees_the_scored_years():
    """Leak detector: data after an origin change, the choices up to it do not."""
    data = _toy()
    t = 2016
    noisy = _toy()
    rng = np.random.default_rng(7)
    for name in ("births", "grades", "population"):
        df = getattr(noisy, name)
        late = df["year"] > t
        df.loc[late, "value"] = df.loc[late, "value"] * rng.uniform(0.5, 1.5, late.sum())
    a = forecast_units(data, base_year=2020, horizon=2025, settings=TOY)
    b = forecast_units(noisy, base_year=2020, horizon=2025, settings=TOY)
    for key in ("enrolment_nested", "births_nested"):
        ra, rb = a.rows[key], b.rows[key]
        ra, rb = ra.loc[ra["origin"] <= t], rb.loc[rb["origin"] <= t]
        assert len(ra) and list(ra["method"]) == list(rb["method"])
        assert ra["forecast"].to_numpy() == pytest.approx(rb["forecast"].to_numpy())
    # the changed years are scored: later choices may differ, the early ones never


def test_the_births_projection_feeds_the_enrolment_backtest():
    """With horizons beyond the birth-to-entry lag, backtest forecasts use projected births."""
    data = _toy()
    s = ForecastSettings(ratio_years=3, backtest_horizons=8, enrolment_method="birth_to_entry")
    r = forecast_units(data, base_year=2020, horizon=2028, settings=s)
    rows = r.rows["enrolment"]
    late = rows.loc[(rows["horizon"] >= 7) & (rows["stage"] == "primary")]
    assert len(late)  # grade 1 at T + 7 needs births of T + 1: projected at T
    # those forecasts differ from the ones with the observed births
    s_obs = ForecastSettings(ratio_years=3, backtest_horizons=8, enrolment_method="birth_to_entry")
    no_pop = ForecastData(births=data.births, grades=data.grades)
    r2 = forecast_units(no_pop, base_year=2020, horizon=2028, settings=s_obs)
    assert not np.allclose(
        late.sort_values(["unit_id", "origin", "horizon"])["forecast"].to_numpy(),
        r2.rows["enrolment"]
        .loc[(r2.rows["enrolment"]["horizon"] >= 7) & (r2.rows["enrolment"]["stage"] == "primary")]
        .sort_values(["unit_id", "origin", "horizon"])["forecast"]
        .to_numpy()[: len(late)],
    )


def test_leaked_data_are_refused():
    from planner.forecast.population import project_population

    data = _toy()
    with pytest.raises(PlannerError, match="leakage"):
        project_population(
            "cohort_component",
            data.population,
            data.births,
            units=["a"],
            origin=2012,
            last_year=2015,
        )


# ---- control totals ------------------------------------------------------------------


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
    sc, inputs = demo
    quick = {  # fixed methods: a fast forecast
        "forecast__population_method": "births_trend",
        "forecast__enrolment_method": "grade_progression",
        "forecast__ratio_years": 3,
    }
    free, _ = enrolment_forecast(_with(inputs, sc, **quick))
    tot = free.groupby(["stage", "year"])["p50"].sum()
    target = 1.1 * tot[("primary", 2030)]
    fc, _ = enrolment_forecast(
        _with(inputs, sc, forecast__enrolment_control={"primary": {2030: target}}, **quick)
    )
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
    with pytest.raises(ScenarioError, match="not after the base year"):
        enrolment_forecast(
            _with(inputs, sc, forecast__enrolment_control={"junior": {sc.base_year: 1000}}, **quick)
        )


# ---- the command line: `planner backtest` makes the choice `planner run` makes ---------


def test_backtest_command_shows_the_runs_choice_and_coverage(demo_run_dir):
    import json

    from typer.testing import CliRunner

    from planner.cli import app

    runner = CliRunner()
    # `planner run data/demo/scenario.toml --no-siting`, run once per session (conftest.py)
    out, run_output = demo_run_dir
    method = pd.read_csv(out / "forecast_method.csv", encoding="utf-8-sig")
    chosen = {
        t: combination_label(list(g["candidate"]))
        for t, g in method.loc[method["chosen"]].groupby("target")
    }
    assert set(chosen) == {"births", "primary", "junior"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rec = manifest["forecast"]
    assert {c["target"]: c["method"] for c in rec["chosen"]} == chosen
    assert {a["horizon"] for a in rec["out_of_sample"]} == {1, 2, 3, 4, 5}
    assert "forecast: " in run_output  # the summary line
    acc = pd.read_csv(out / "forecast_accuracy.csv", encoding="utf-8-sig")
    bt = runner.invoke(app, ["backtest", "data/demo/scenario.toml"])
    assert bt.exit_code == 0, bt.output
    text = " ".join(bt.output.split())
    for target, m in chosen.items():
        assert f"{target}: auto → {m}" in text
    assert "out of sample" in text and "coverage" in text
    # the out-of-sample figures printed are the run's
    h5 = acc.loc[(acc["target"] == "primary") & (acc["horizon"] == 5)].iloc[0]
    assert f"{h5['mape']:.2f}" in text


# ---- real data (benchmark-like, slow) --------------------------------------------------


@pytest.mark.slow
def test_pipeline_on_provincial_data_reproduces_its_record():
    """Real data: a run with base year T makes the choice its record shows at T."""
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "forecast"
    sys.path.insert(0, str(bench))
    try:
        import data as bd
    finally:
        sys.path.remove(str(bench))
    if not bd.ROOT.exists():
        pytest.skip("benchmark data not available")
    sys.path.insert(0, str(bench))
    try:
        from bench_provincial import provincial_data
    finally:
        sys.path.remove(str(bench))
    data = provincial_data()
    keep = ["Anhui", "Beijing", "Gansu", "Henan", "Shanghai", "Sichuan"]
    for name in ("births", "population", "totals", "intake"):
        df = getattr(data, name)
        setattr(data, name, df.loc[df["unit_id"].isin(keep)])
    s = ForecastSettings(entry_prior_year_share=1 / 3)
    full = forecast_units(data, base_year=2016, horizon=2021, settings=s)
    cut = forecast_units(data, base_year=2013, horizon=2018, settings=s)
    rec = full.rows["enrolment_nested"]
    assert set(rec.loc[rec["origin"] == 2013, "method"]) == {
        combination_label(cut.choices.query("target == 'primary' and chosen")["candidate"])
    }
    f = cut.enrolment.query("year > 2013").set_index(["unit_id", "year"])["p50"]
    r = rec.loc[rec["origin"] == 2013].set_index(["unit_id", "target_year"])["forecast"]
    assert f.reindex(r.index).to_numpy() == pytest.approx(r.to_numpy())
    # no forecast uses data of the year it forecasts: every backtest row is after its origin
    for key in ("births", "enrolment"):
        assert (full.rows[key]["target_year"] > full.rows[key]["origin"]).all()


def test_scenario_schedules_are_not_backtested_before_the_base_year():
    """The scenario's tables describe the base year: earlier origins may not use them."""
    data = _toy()
    fert = pd.DataFrame({"age": range(15, 50), "asfr": 0.05})
    s = ForecastSettings(ratio_years=3, fertility=fert, schedule_year=2020)
    r = forecast_units(data, base_year=2020, horizon=2025, settings=s)
    births_choice = r.choices.query("target == 'births'")
    assert births_choice["candidate"].tolist() == ["cohort_component"]
    assert births_choice["n"].tolist() == [0]  # no backtest: the tables are of 2020
    assert r.rows["births"].empty
    assert "births" not in set(r.accuracy.get("target", pd.Series(dtype=str)))
    # the same tables without a year (e.g. in a benchmark of their own time) are backtested
    r2 = forecast_units(
        data, base_year=2020, horizon=2025, settings=ForecastSettings(ratio_years=3, fertility=fert)
    )
    assert len(r2.rows["births"]) > 0
