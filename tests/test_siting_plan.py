"""Hand-solved toy instances of the phased siting model, and its invariants."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from planner.siting.plan import plan
from planner.siting.problem import SitingProblem, nine_year_split


def toy(demand, cap_existing, options, dist, periods=(2026,), radius=500.0):
    """Points on a line at x = 0, 1000, 2000 …; facility 0 existing at x=0, facility 1 a site."""
    demand = np.asarray(demand, float)
    n, p = demand.shape
    points = pd.DataFrame(
        {
            "point_id": np.arange(n),
            "stage": "primary",
            "unit_id": "U",
            "kind": "urban",
            "x": np.arange(n) * 1000.0,
            "y": 0.0,
            "source": "grid",
        }
    )
    fac = pd.DataFrame(
        {
            "fac_id": [0, 1],
            "stage": "primary",
            "ref": ["S", "E1"],
            "kind": ["existing", "site"],
            "x": [0.0, 2000.0],
            "y": 0.0,
        }
    )
    cap0 = np.vstack([np.full(p, cap_existing, float), np.zeros(p)])
    cols = [
        "group",
        "kind",
        "ref",
        "school_type",
        "classes_primary",
        "classes_junior",
        "seats_primary",
        "seats_junior",
        "cost",
        "earliest_year",
    ]
    opts = pd.DataFrame(options, columns=cols)
    opts.insert(0, "opt_id", np.arange(len(opts)))
    rows = np.array([1 if r == "E1" else 0 for r in opts["ref"]])
    adds = sp.csr_matrix(
        (opts["seats_primary"].to_numpy(float), (rows, opts["opt_id"].to_numpy())),
        shape=(2, len(opts)),
    )
    return SitingProblem(
        np.array(periods),
        points,
        demand,
        np.full(n, radius),
        fac,
        cap0,
        opts,
        adds,
        sp.csr_matrix(np.asarray(dist, float)),
        gpd.GeoDataFrame(geometry=[Point(0, 0)] * n),
    )


def opt(ref, seats, cost, kind="new", group=None, earliest=2026):
    return {
        "group": group or f"site:{ref}",
        "kind": kind,
        "ref": ref,
        "school_type": "primary",
        "classes_primary": seats // 45,
        "classes_junior": 0,
        "seats_primary": seats,
        "seats_junior": 0,
        "cost": cost,
        "earliest_year": earliest,
    }


D3 = [[1e-3, 2000], [1000, 1000], [2000, 1e-3]]  # distances of the 3 points to the 2 facilities


def test_size_option_smallest_sufficient():
    # 300 seats needed, 150 existing: the 90-seat option is too small, the 180-seat one suffices
    pb = toy([[100], [100], [100]], 150, [opt("E1", 90, 9e6), opt("E1", 180, 1.6e7)], D3)
    r = plan(pb, base_year=2025)
    assert r.proven_optimal
    assert r.projects["seats_primary"].tolist() == [180]
    assert r.unserved.empty


def test_budget_limits_and_reports_reason():
    # with 1.0e7 yuan only the 90-seat option is affordable: 60 seats stay unserved, reason budget
    pb = toy([[100], [100], [100]], 150, [opt("E1", 90, 9e6), opt("E1", 180, 1.6e7)], D3)
    r = plan(pb, base_year=2025, budget=1.0e7)
    assert r.projects["seats_primary"].tolist() == [90]
    assert r.unserved["seats"].sum() == pytest.approx(60)
    assert set(r.unserved["reason"]) == {"budget"}
    assert r.projects["cost"].sum() <= 1.0e7


def test_expansion_preferred_when_cheaper():
    # expanding the existing school by 150 seats (5e6) beats a new 180-seat school (1.6e7)
    pb = toy(
        [[100], [100], [100]],
        150,
        [opt("S", 150, 5e6, kind="expansion", group="school:S"), opt("E1", 180, 1.6e7)],
        [[1e-3, 2000], [1000, 1000], [1500, 1e-3]],
    )
    r = plan(pb, base_year=2025)
    assert r.projects["kind"].tolist() == ["expansion"]
    assert r.unserved.empty


def test_phasing_opens_when_needed_and_discounts():
    # demand within capacity in 2026, above it from 2030: the school opens in 2030, not earlier
    pb = toy(
        [[50, 100], [50, 100], [50, 100]], 150, [opt("E1", 180, 1.6e7)], D3, periods=(2026, 2030)
    )
    r = plan(pb, base_year=2025, discount_rate=0.03)
    assert r.projects["year"].tolist() == [2030]
    assert r.unserved.empty


def test_earliest_year_respected():
    pb = toy(
        [[100, 100], [100, 100], [100, 100]],
        150,
        [opt("E1", 180, 1.6e7, earliest=2030)],
        D3,
        periods=(2026, 2030),
    )
    r = plan(pb, base_year=2025)
    assert r.projects["year"].tolist() == [2030]
    u = r.unserved.groupby("year")["seats"].sum()
    assert u.loc[2026] == pytest.approx(150) and 2030 not in u.index


def test_nothing_within_reach_reason():
    dist = [[1e-3, 0], [1000, 0], [0, 0]]  # the third point reaches nothing
    pb = toy([[10], [10], [10]], 150, [], dist)
    r = plan(pb, base_year=2025)
    assert r.unserved["reason"].tolist() == ["nothing within reach"]
    assert "no school or site within reach" in pb.check()[0]


def test_nine_year_split():
    assert nine_year_split(36) == (24, 12) and nine_year_split(45) == (30, 15)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=3, max_size=3),
    st.integers(0, 400),
    st.sampled_from([None, 5e6, 1.2e7, 3e7]),
)
def test_invariants(demand, cap, budget):
    pb = toy(
        [[d] for d in demand],
        cap,
        [
            opt("E1", 90, 9e6),
            opt("E1", 180, 1.6e7),
            opt("S", 135, 6e6, kind="expansion", group="school:S"),
        ],
        D3,
    )
    r = plan(pb, base_year=2025, budget=budget)
    added = r.projects.groupby("ref")["seats_primary"].sum()
    cap_f = {0: cap + added.get("S", 0), 1: added.get("E1", 0)}
    used = r.assignments.groupby("fac_id")["seats"].sum()
    for f, v in used.items():
        assert v <= cap_f[f] + 1e-6  # assigned ≤ capacity
    assert (r.assignments["distance_m"] > 0).all()  # only pairs within reach exist
    served = r.assignments.groupby("point_id")["seats"].sum().reindex(range(3), fill_value=0)
    miss = r.unserved.groupby("point_id")["seats"].sum().reindex(range(3), fill_value=0)
    np.testing.assert_allclose(served + miss, demand, atol=1e-6)
    if budget is not None:
        assert r.projects["cost"].sum() <= budget + 1e-6
    assert (r.projects.groupby("ref").size() <= 1).all()  # one project per school or site


def test_identical_runs_identical_plans():
    a = plan(
        toy([[100], [120], [90]], 150, [opt("E1", 90, 9e6), opt("E1", 180, 1.6e7)], D3),
        base_year=2025,
    )
    b = plan(
        toy([[100], [120], [90]], 150, [opt("E1", 90, 9e6), opt("E1", 180, 1.6e7)], D3),
        base_year=2025,
    )
    pd.testing.assert_frame_equal(a.projects, b.projects)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)


def test_demo_plan_small(tmp_path):
    """The demo city on a coarse grid: a plan that closes part of the gap, with its proof."""
    from planner import api
    from planner.siting.schools import site_schools

    sc = api.read_scenario("data/demo/scenario.toml")
    sc = api.variant(
        sc,
        siting__grid_m=3000.0,
        siting__periods=[2030, 2035],
        siting__time_limit_s=30.0,
        siting__mip_gap=0.01,
    )
    r = api.run(sc)
    o = site_schools(r.inputs, r.norms, r.tables["needs"], r.tables["school_capacity"])
    s = o.tables["siting_summary"].iloc[0]
    assert s["projects"] > 0 and s["seats_added"] > 0
    assert s["gap"] <= 0.01 + 1e-9 or s["status"] == "Time limit reached"
    after = o.tables["gaps_after"]
    assert (after["seat_gap_after"] <= after["seat_gap"]).all()
    assert o.catchments is not None and len(o.catchments) > 0
    pr = o.tables["projects"]
    assert pr["year"].isin([2030, 2035]).all()
    assert pr["name"].notna().all()
