"""Demand over the horizon: trend fallback, housing developments, the Meizhou rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.demand import development_arrivals, norm_requirement, project_population_trend
from planner.inputs.norms import load_norms


def test_trend_fallback_known_growth():
    # 1,000 growing exactly 10 % a year: log-linear trend recovers it
    years = np.arange(2021, 2026)
    pop = pd.DataFrame(
        {"unit_id": "U1", "year": years, "population": np.round(1000 * 1.1 ** (years - 2021))}
    )
    out = project_population_trend(pop, 2025, range(2025, 2028), window=5).set_index("year")
    assert out.loc[2025, "population"] == pop["population"].iloc[-1]
    assert out.loc[2025, "source"] == "observed" and out.loc[2026, "source"] == "trend"
    assert out.loc[2027, "population"] == pytest.approx(1464 * 1.1**2, rel=1e-3)


def test_trend_single_year_is_flat():
    pop = pd.DataFrame({"unit_id": ["U1"], "year": [2025], "population": [5000]})
    out = project_population_trend(pop, 2025, [2025, 2030])
    assert out["population"].tolist() == [5000, 5000]


def test_development_arriving_mid_horizon():
    dev = pd.DataFrame(
        {
            "dev_id": ["D1"],
            "unit_id": ["U1"],
            "households": [1000],
            "completion_year": [2028],
            "plot_ratio": [np.nan],
            "plot_ratio_original": [np.nan],
        }
    )
    arr = development_arrivals(dev, range(2026, 2032), persons_per_household=2.6, occupancy_years=2)
    r = arr.set_index("year")["residents"]
    # nothing before completion; half in the completion year; all 2,600 from the next year
    assert r[2027] == 0 and r[2028] == 1300 and r[2029] == 2600 and r[2031] == 2600
    # 2,600 residents owe 2,600 / 1000 × 80 = 208 primary seats under the per-thousand rule
    pop = pd.DataFrame({"unit_id": ["U1"], "year": [2029], "population": [r[2029]]})
    req = norm_requirement(pop, load_norms("guangdong")).set_index("stage")
    assert req.loc["primary", "norm_seats"] == 208 and req.loc["junior", "norm_seats"] == 104


def test_plot_ratio_increase_raises_seats_in_proportion():
    dev = pd.DataFrame(
        {
            "dev_id": ["D1", "D2"],
            "unit_id": ["U1", "U1"],
            "households": [1000, 1000],
            "completion_year": [2026, 2026],
            "plot_ratio": [3.0, 2.0],
            "plot_ratio_original": [2.5, 2.5],  # raised 2.5 → 3.0; lowered 2.5 → 2.0
        }
    )
    arr = development_arrivals(dev, [2026], persons_per_household=2.6).set_index("dev_id")
    assert arr.loc["D1", "residents"] == round(2600 * 3.0 / 2.5)
    assert arr.loc["D2", "residents"] == 2600  # a decrease does not lower what is owed


def _demo_result(**demand):
    from planner.api import compute_run
    from planner.inputs.load import load_inputs
    from planner.inputs.scenario import read_scenario

    sc = read_scenario("data/demo/scenario.toml")
    for k, v in demand.items():
        setattr(sc.demand, k, v)
    return compute_run(load_inputs(sc), load_norms("guangdong"), forecast=None)


@pytest.fixture
def demo(demo_result):
    """``_demo_result()`` with the scenario's own demand settings, once per session."""
    return demo_result


def test_demo_needs_table_adds_up(demo):
    needs = demo.tables["needs"]
    city = demo.tables["needs_city"].set_index(["stage", "year"])
    for (stage, year), g in needs.groupby(["stage", "year"]):
        assert g["seat_gap"].sum() == city.loc[(stage, year), "seat_gap"]
        assert g["capacity"].sum() == city.loc[(stage, year), "capacity"]
    assert (needs["seat_gap"] >= 0).all() and (needs["capacity"] >= 0).all()
    assert (
        (needs["seat_gap"] - needs["surplus"]) == (needs["required_seats"] - needs["capacity"])
    ).all()
    # planned schools add capacity in their opening year
    cap = demo.tables["school_capacity"]
    x = cap[(cap["school_id"] == "X003")].set_index("year")["capacity"]
    assert x[2027] == 0 and x[2028] > 0


def test_developments_switch_changes_only_development_units(demo):
    off = _demo_result(include_developments=False)
    a = demo.tables["needs"].set_index(["unit_id", "stage", "year"])
    b = off.tables["needs"].set_index(["unit_id", "stage", "year"])
    diff = a["norm_seats"] - b["norm_seats"]
    assert (diff >= 0).all()
    with_dev = set(a.index[a["development_residents"] > 0].get_level_values(0))
    assert set(diff[diff > 0].index.get_level_values(0)) <= with_dev
    assert diff.sum() > 0


def test_pupil_yield_method(demo):
    y = _demo_result(development_method="pupil_yield")
    a = demo.tables["needs"].set_index(["unit_id", "stage", "year"])
    b = y.tables["needs"].set_index(["unit_id", "stage", "year"])
    # default yields equal 2.6 persons × 80 / 40 per thousand: the two methods agree closely
    assert np.abs(a["norm_seats"] - b["norm_seats"]).max() <= 2


def test_every_output_column_has_a_chinese_label(demo):
    from planner.outputs.writers import localise, output_labels

    labels = output_labels()
    for name, df in demo.tables.items():
        missing = [c for c in df.columns if c not in labels["columns"]]
        assert not missing, f"{name}: add {missing} to data/schema/outputs.toml"
        zh = localise(df, labels, table=name)
        assert all(not c.isascii() for c in zh.columns), name


def test_forecast_split_public_private_with_migrant_floor():
    from planner.demand import forecast_requirement

    fc = pd.DataFrame(
        {
            "unit_id": ["U1", "U2"],
            "stage": "primary",
            "year": 2030,
            "p10": [900.0, 900.0],
            "p50": [1000.0, 1000.0],
            "p90": [1100.0, 1100.0],
        }
    )
    share = pd.DataFrame(
        {"unit_id": ["U1", "U2"], "stage": "primary", "private_share": [0.30, 0.30]}
    )
    plain = forecast_requirement(fc, share, migrant_public_share=0.85).set_index("unit_id")
    assert plain.loc["U1", "forecast_private"] == 300 and plain.loc["U1", "forecast_public"] == 700
    # U2: half the pupils are migrant children; at most 15 % of them may be in private seats:
    # private ≤ 1000 × (0.15 × 0.5 + 0.5 × 0.30) = 225
    mig = pd.DataFrame({"unit_id": ["U2"], "stage": "primary", "migrant_share": [0.5]})
    m = forecast_requirement(fc, share, migrant_public_share=0.85, migrant_share=mig).set_index(
        "unit_id"
    )
    assert m.loc["U2", "forecast_private"] == 225 and m.loc["U2", "forecast_public"] == 775
    assert m.loc["U1", "forecast_private"] == 300  # no migrant data: observed share kept
    assert (m["forecast_public"] + m["forecast_private"] == 1000).all()


def test_forecast_basis_max_on_demo(demo_inputs, demo_result):
    """A forecast table plugs into the run: the requirement is the larger of norm and forecast."""
    from planner.api import compute_run

    _, inputs = demo_inputs
    norms = load_norms("guangdong")
    base = demo_result.tables["needs"]  # compute_run(inputs, norms, forecast=None)
    # a made-up forecast: 10 % above the norm everywhere
    fc = base[["unit_id", "stage", "year"]].copy()
    fc["p50"] = base["norm_seats"] * 1.1
    fc["p10"], fc["p90"] = fc["p50"] * 0.9, fc["p50"] * 1.1
    res = compute_run(inputs, norms, forecast=fc).tables["needs"]
    assert (res["required_seats"] >= res["norm_seats"]).all()
    assert (res["required_seats"] >= res["forecast_seats"] - 1e-9).all()
    assert (res["seat_gap"] >= base["seat_gap"]).all()
    assert {"forecast_public", "public_gap"} <= set(res.columns)
