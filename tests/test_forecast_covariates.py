"""Covariate ratio model (RatioRegressor) and the scenario's schedule tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from planner import api
from planner.errors import InputError, NotFittedError, PlannerError, ScenarioError
from planner.forecast import CohortComponent
from planner.forecast.covariates import RatioRegressor, age_structure_features, cohort_ratio
from planner.forecast.schedules import (
    asfr_from_table,
    china_2010_life_table,
    survival_from_table,
    survival_ratios,
)
from planner.inputs import Inputs
from planner.inputs.schedules import (
    read_fertility_table,
    read_scenario_schedules,
    read_survival_table,
)

# ---- RatioRegressor ------------------------------------------------------------------


def _linear_data(n: int = 80, seed: int = 0, noise: float = 0.01):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["share_20_39", "sex_ratio", "log_pop"])
    log_ratio = 0.05 + 0.30 * X["share_20_39"] - 0.20 * X["sex_ratio"] + 0.0 * X["log_pop"]
    return X, np.exp(log_ratio + rng.normal(0, noise, n))


def test_estimator_contract():
    est = RatioRegressor(log_target=False, cv=3, random_state=7)
    assert est.get_params() == {
        "cv": 3,
        "estimator": None,
        "log_target": False,
        "random_state": 7,
        "ratio_limits": None,
    }
    c = clone(est)
    assert c.get_params() == est.get_params() and c is not est
    with pytest.raises(NotFittedError, match="not fitted"):
        est.predict(np.zeros((2, 3)))
    X, y = _linear_data()
    est.fit(X, y)
    assert {"estimator_", "selected_", "cv_scores_", "n_features_in_"} <= set(vars(est))
    assert list(est.feature_names_in_) == list(X.columns)
    assert not hasattr(clone(est), "estimator_")  # clone drops the fitted state
    with pytest.raises(PlannerError, match="lacks the covariate"):
        est.predict(X.drop(columns="sex_ratio"))


def test_known_linear_relation_in_log_space_is_recovered():
    X, y = _linear_data(noise=0.005)
    m = RatioRegressor(estimator=LinearRegression()).fit(X, y)
    assert m.selected_ == "given"
    coef = m.estimator_.coef_
    assert coef == pytest.approx([0.30, -0.20, 0.0], abs=0.01)
    assert m.estimator_.intercept_ == pytest.approx(0.05, abs=0.01)
    # the automatic choice (cross-validated on the training data) gets the ratios right
    auto = RatioRegressor(random_state=0).fit(X, y)
    Xn, yn = _linear_data(n=40, seed=1, noise=0.0)
    assert np.max(np.abs(auto.predict(Xn) / yn - 1)) < 0.03
    assert auto.selected_.startswith("ridge")
    assert set(auto.cv_scores_["candidate"]) >= {"gradient_boosting"}


def test_same_random_state_same_predictions():
    X, y = _linear_data(noise=0.2)
    Xn, _ = _linear_data(n=20, seed=3)
    a = RatioRegressor(random_state=42).fit(X, y)
    b = RatioRegressor(random_state=42).fit(X, y)
    np.testing.assert_array_equal(a.predict(Xn), b.predict(Xn))
    pd.testing.assert_frame_equal(a.cv_scores_, b.cv_scores_)


def test_ratio_limits_and_bad_targets():
    X, y = _linear_data()
    m = RatioRegressor(ratio_limits=(0.9, 1.1), random_state=0).fit(X, y)
    p = m.predict(X)
    assert p.min() >= 0.9 and p.max() <= 1.1
    with pytest.raises(PlannerError, match="> 0"):
        RatioRegressor().fit(X, -y)


def test_features_and_cohort_ratio():
    ages = [0, 5, 10, 15, 20, 25, 30, 35, 60]
    pop0 = pd.DataFrame(
        {"unit_id": "a", "age_lo": ages, "value": [10, 10, 10, 10, 20, 20, 20, 20, 40]}
    )
    pop1 = pop0.assign(value=[5, 5, 12, 10, 20, 20, 20, 20, 40])
    f = age_structure_features(pop0)
    assert f.loc["a", "log_share_20_39"] == pytest.approx(np.log(80 / 160))
    assert f.loc["a", "log_children_per_adult"] == pytest.approx(np.log(10 / 80))
    assert cohort_ratio(pop0, pop1, ages=(0, 4), interval=10)["a"] == pytest.approx(1.2)


# ---- schedule tables -------------------------------------------------------------------


def _survival_csv(path, scale: float = 1.0, open_age: int = 100) -> str:
    lt = china_2010_life_table()
    rows = []
    for sex in ("M", "F"):
        lx = lt[lt["sex"] == sex].set_index("age")["lx"]
        p = (lx.shift(-1) / lx).loc[:open_age].to_numpy().copy()
        p[-1] = 0.7
        rows.append(pd.DataFrame({"sex": sex, "age": range(open_age + 1), "survival": p * scale}))
    pd.concat(rows).to_csv(path, index=False)
    return str(path)


def test_survival_table_round_trip(tmp_path):
    t = read_survival_table(_survival_csv(tmp_path / "s.csv"))
    assert list(t.columns) == ["sex", "age", "survival"] and set(t["sex"]) == {"M", "F"}
    mine = survival_from_table(t, width=5, open_age=85)
    ref = survival_ratios(china_2010_life_table().query("sex != 'T'"), width=5, open_age=85)
    m = mine.merge(ref, on=["sex", "age_lo"])
    closed = m[(m["age_lo"] >= 0) & (m["age_lo"] < 80)]
    assert closed["survival_x"].to_numpy() == pytest.approx(
        closed["survival_y"].to_numpy(), abs=2e-3
    )


def test_schedule_reader_names_file_row_and_column(tmp_path):
    bad = tmp_path / "life.csv"
    bad.write_text("sex,age,survival\nM,0,0.99\nM,1,abc\nM,2,1.5\nM,4,0.5\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_survival_table(bad)
    msg = str(e.value)
    assert "life.csv, row 2, column 'survival'" in msg and "not a number" in msg
    assert "life.csv, row 3, column 'survival'" in msg and "(0, 1]" in msg
    assert (
        "row 4, column 'age'" in msg
        and "jump from 2 to 4" in msg
        and "add the rows for age 3" in msg
    )
    fert = tmp_path / "asfr.csv"
    fert.write_text("Age,asfr_rate\n15,0.01\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"asfr.csv, column 'asfr'.*missing.*rename 'asfr_rate' to 'asfr'"
    ):
        read_fertility_table(fert)
    fert.write_text("age,asfr\n15,0.01\n16,-0.2\n17,12\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_fertility_table(fert)
    assert "row 2, column 'asfr'" in str(e.value) and "row 3, column 'asfr'" in str(e.value)
    assert "per 1000 women" in str(e.value)
    with pytest.raises(InputError, match="CSV or XLSX"):
        read_fertility_table(tmp_path / "asfr.gpkg")


def test_fertility_table_groups_keep_the_tfr(tmp_path):
    p = tmp_path / "f.csv"
    pd.DataFrame({"age": range(15, 50), "asfr": 0.04}).to_csv(p, index=False)
    t = read_fertility_table(p)
    g = asfr_from_table(t, width=5)
    assert 5 * g["asfr"].sum() == pytest.approx(35 * 0.04)


def test_lower_survival_gives_fewer_children(tmp_path):
    base = pd.DataFrame(
        [
            {
                "unit_id": "u",
                "year": 2020,
                "sex": s,
                "age_lo": a,
                "age_hi": a + 4 if a < 85 else None,
                "value": 1000.0,
            }
            for s in ("M", "F")
            for a in range(0, 90, 5)
        ]
    )
    hi = read_survival_table(_survival_csv(tmp_path / "hi.csv"))
    lo = read_survival_table(_survival_csv(tmp_path / "lo.csv", scale=0.97))

    def kids(table):
        cc = CohortComponent(
            step=5,
            open_age=85,
            survival=survival_from_table(table, width=5, open_age=85),
            tfr=1.5,
            migration=None,
        ).fit(base)
        p = cc.predict(3)
        return p[(p["horizon"] == 15) & (p["age_lo"] <= 10)]["forecast"].sum()

    assert kids(lo) < kids(hi)


def test_scenario_survival_table_lowers_projected_births(tmp_path, demo_inputs):
    sc, inputs = demo_inputs  # loaded once per session (conftest.py): read only
    open_age = int(inputs["population_by_age"]["age_lo"].max())
    _survival_csv(tmp_path / "hi.csv", open_age=open_age)
    _survival_csv(tmp_path / "lo.csv", scale=0.97, open_age=open_age)

    pd.DataFrame({"age": range(15, 50), "asfr": 0.045}).to_csv(tmp_path / "f.csv", index=False)

    def births(name, fertility="f.csv"):
        # a fixed fertility table (no calibration) and no migration: with calibration and
        # residual migration the observed base population absorbs a survival change
        v = api.variant(
            sc,
            forecast__survival_table=str(tmp_path / name),
            forecast__fertility_table=str(tmp_path / fertility),
            forecast__migration_multiplier=0.0,
        )
        assert v.forecast.survival_table == str(tmp_path / name)
        sched = read_scenario_schedules(v)
        return _projected(Inputs(v, inputs.tables, inputs.report, inputs.compute_crs), sched)

    hi, lo = births("hi.csv"), births("lo.csv")
    # a relative path is taken from the scenario's folder
    rel = api.variant(sc, forecast__survival_table="lo.csv")
    rel.base_dir = tmp_path
    pd.testing.assert_frame_equal(
        read_scenario_schedules(rel)["survival"], read_survival_table(tmp_path / "lo.csv")
    )
    assert read_scenario_schedules(sc) == {"survival": None, "fertility": None}
    assert (lo < hi).all()
    # the fertility table sets the level: twice the rates, twice the births
    pd.DataFrame({"age": range(15, 50), "asfr": 0.09}).to_csv(tmp_path / "f2.csv", index=False)
    assert births("hi.csv", "f2.csv").to_numpy() == pytest.approx(2 * hi.to_numpy(), rel=1e-6)
    # a survival table is only used by the cohort method: another one is refused
    t = api.variant(
        sc,
        forecast__population_method="births_trend",
        forecast__survival_table=str(tmp_path / "lo.csv"),
    )
    with pytest.raises(ScenarioError, match=r"survival_table"):
        _projected(
            Inputs(t, inputs.tables, inputs.report, inputs.compute_crs), read_scenario_schedules(t)
        )


def _projected(inputs, schedules) -> pd.Series:
    """Projected births to 2030 by the scenario's population method, without backtest."""
    from planner.forecast.pipeline import _pop_candidates, data_from_inputs, settings_from_scenario
    from planner.forecast.population import project_population

    sc = inputs.scenario
    s = settings_from_scenario(sc, schedules)
    d = data_from_inputs(inputs)
    d.units = sorted(d.population["unit_id"].unique())
    (method,), _ = _pop_candidates(d, s, sc.base_year)
    p = project_population(
        method,
        d.population,
        d.births,
        units=d.units,
        origin=sc.base_year,
        last_year=2030,
        survival=s.survival,
        fertility=s.fertility,
        tfr_multiplier=s.tfr_multiplier,
        migration_multiplier=s.migration_multiplier,
    )
    return p.births.set_index(["unit_id", "year"])["value"]


def _with_forecast(city, **keys: str):
    path = city.write()
    extra = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    path.write_text(path.read_text(encoding="utf-8") + "\n[forecast]\n" + extra, encoding="utf-8")
    return path


def test_schedule_problems_are_collected_into_the_report(city):
    from planner.errors import ValidationFailed
    from planner.inputs.schedules import check_survival_table
    from tests.conftest import load

    ages = "\n".join(f"T,{a},0.99" for a in range(6))
    bad = ages.replace("T,2,0.99", "T,2,99").replace("T,4,0.99", "T,4,")
    (city.root / "life.csv").write_text(f"sex,age,survival\n{bad}\nT,6,0.5\n", encoding="utf-8")
    table, problems = check_survival_table(city.root / "life.csv")
    assert table is None
    assert [(p.row, p.column, p.code) for p in problems] == [
        (5, "survival", "missing_value"),
        (3, "survival", "out_of_range"),
    ]
    sc = _with_forecast(city, survival_table="life.csv")
    # default mode: an unusable table is refused, every problem listed with its row
    with pytest.raises(InputError) as e:
        load(sc)
    msg = str(e.value)
    assert "2 error(s) make the schedule table(s) unusable" in msg
    assert "life.csv, row 3, column 'survival': survival 99 is outside (0, 1]" in msg
    assert "divide by 100" in msg
    assert "life.csv, row 5, column 'survival': survival probability is empty" in msg
    # strict mode: the validation report refuses with both rows among the errors
    with pytest.raises(ValidationFailed) as e:
        load(sc, strict=True)
    rows = {(p.row, p.code) for p in e.value.problems if p.file.endswith("life.csv")}
    assert rows == {(3, "out_of_range"), (5, "missing_value")}


def test_schedule_warnings_keep_the_table(city):
    from tests.conftest import load

    ages = "\n".join(f"{a},0.2" for a in range(15, 35))
    # age 20 repeated with the same rate: a warning, one row kept; TFR 4.0: implausible
    (city.root / "asfr.csv").write_text(f"age,asfr\n{ages}\n20,0.2\n", encoding="utf-8")
    inputs = load(_with_forecast(city, fertility_table="asfr.csv"), strict=True)
    fert = inputs.schedules["fertility"]
    assert list(fert["age"]) == list(range(15, 35)) and fert["asfr"].sum() == pytest.approx(4.0)
    mine = [p for p in inputs.report.problems if p.file.endswith("asfr.csv")]
    assert {(p.severity, p.code, p.row) for p in mine} == {
        ("warning", "duplicate_id", 21),
        ("warning", "out_of_range", None),
    }
    assert any("total fertility rate of 4.00" in p.message for p in mine)
    # a gap is an error of its own code
    (city.root / "asfr.csv").write_text("age,asfr\n15,0.01\n17,0.01\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'age': ages jump from 15 to 17"):
        load(_with_forecast(city, fertility_table="asfr.csv"))
