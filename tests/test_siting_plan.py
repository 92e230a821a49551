"""Hand-solved toy instances of the phased siting model, and its invariants.

Every toy is built by :func:`toy`: primary-stage demand points on a line (x = 0, 1000,
2000 … unless given), facilities on the same line (by default the existing school ``S``
at x = 0 and the candidate site ``E1`` at x = 2000), options as rows of :func:`opt`.
Objective values are in 万元: 1,000 per unserved seat-period, the build cost / 10⁴
discounted at 3 % from 2025, and 0.001 per seat-km of travel. Travel only breaks ties
(it is below the default relative gap of 1e-4), so toys that check it solve with
``mip_gap=0``.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from planner.inputs.norms import load_norms
from planner.scenario import SitingSpec
from planner.siting.problem import (
    OPTION_COLUMNS,
    SitingProblem,
    build_problem,
    network_distances,
    nine_year_split,
)
from planner.siting.schools import plan


def fac(ref, x, cap=0.0, kind=None, public=True, unit="U"):
    """A facility row; ``cap`` is the capacity of an existing school (0 for a site)."""
    kind = kind or ("site" if ref.startswith("E") else "existing")
    return {"ref": ref, "x": float(x), "cap": cap, "kind": kind, "public": public, "unit": unit}


def toy(
    demand,
    options=(),
    dist=None,
    *,
    cap=150,
    facilities=None,
    x=None,
    periods=(2026,),
    radius=500.0,
    reach=np.inf,
    unit="U",
    boarding_units=(),
):
    """One toy instance (see the module docstring).

    ``dist`` gives the point × facility distances (0 = out of reach); when None they are
    |x_point − x_facility| + 1 mm for pairs within ``reach``. ``cap`` is the default
    existing school's capacity when ``facilities`` is not given.
    """
    demand = np.asarray(demand, float)
    n, p = demand.shape
    facilities = facilities or [fac("S", 0, cap), fac("E1", 2000)]
    x = np.arange(n) * 1000.0 if x is None else np.asarray(x, float)
    points = pd.DataFrame(
        {
            "point_id": np.arange(n),
            "stage": "primary",
            "unit_id": unit,
            "kind": "urban",
            "x": x,
            "y": 0.0,
            "source": "grid",
        }
    )
    f = pd.DataFrame(facilities)
    facs = pd.DataFrame(
        {
            "fac_id": np.arange(len(f)),
            "stage": "primary",
            "ref": f["ref"],
            "kind": f["kind"],
            "x": f["x"],
            "y": 0.0,
            "unit_id": f["unit"],
            "public": f["public"],
            "boarding": False,
        }
    )
    cap0 = np.repeat(f["cap"].to_numpy(float)[:, None], p, axis=1)
    opts = pd.DataFrame(list(options), columns=OPTION_COLUMNS)
    opts.insert(0, "opt_id", np.arange(len(opts)))
    rows = pd.Index(f["ref"]).get_indexer(opts["ref"])
    adds = sp.csr_matrix(
        (opts["seats_primary"].to_numpy(float), (rows, opts["opt_id"].to_numpy())),
        shape=(len(f), len(opts)),
    )
    if dist is None:
        d = np.abs(x[:, None] - facs["x"].to_numpy()[None, :]) + 1e-3
        dist = np.where(d <= reach, d, 0.0)
    return SitingProblem(
        np.array(periods),
        points,
        demand,
        np.full(n, radius),
        facs,
        cap0,
        opts,
        adds,
        sp.csr_matrix(np.asarray(dist, float)),
        gpd.GeoDataFrame(geometry=[Point(0, 0)] * n),
        boarding_units=list(boarding_units),
    )


def opt(ref, seats, cost, kind="new", group=None, earliest=2026, unit="U", boarding=False):
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
        "unit_id": unit,
        "boarding": boarding,
    }


D3 = [[1e-3, 2000], [1000, 1000], [2000, 1e-3]]  # distances of the 3 points to the 2 facilities
TWO_OPTS = [opt("E1", 90, 9e6), opt("E1", 180, 1.6e7)]


def test_size_option_smallest_sufficient():
    # 300 seats needed, 150 existing: the 90-seat option is too small, the 180-seat one suffices
    pb = toy([[100], [100], [100]], TWO_OPTS, D3)
    r = plan(pb, base_year=2025)
    assert r.proven_optimal
    assert r.projects["seats_primary"].tolist() == [180]
    assert r.unserved.empty


def test_budget_limits_and_reports_reason():
    # with 1.0e7 yuan only the 90-seat option is affordable: 60 seats stay unserved, reason budget
    pb = toy([[100], [100], [100]], TWO_OPTS, D3)
    r = plan(pb, base_year=2025, budget=1.0e7)
    assert r.projects["seats_primary"].tolist() == [90]
    assert r.unserved["seats"].sum() == pytest.approx(60)
    assert set(r.unserved["reason"]) == {"budget"}
    assert r.projects["cost"].sum() <= 1.0e7


def test_expansion_preferred_when_cheaper():
    # expanding the existing school by 150 seats (5e6) beats a new 180-seat school (1.6e7)
    pb = toy(
        [[100], [100], [100]],
        [opt("S", 150, 5e6, kind="expansion", group="school:S"), opt("E1", 180, 1.6e7)],
        [[1e-3, 2000], [1000, 1000], [1500, 1e-3]],
    )
    r = plan(pb, base_year=2025)
    assert r.projects["kind"].tolist() == ["expansion"]
    assert r.unserved.empty


def test_phasing_opens_when_needed_and_discounts():
    # demand within capacity in 2026, above it from 2030: the school opens in 2030, not earlier
    pb = toy([[50, 100], [50, 100], [50, 100]], [opt("E1", 180, 1.6e7)], D3, periods=(2026, 2030))
    r = plan(pb, base_year=2025, discount_rate=0.03)
    assert r.projects["year"].tolist() == [2030]
    assert r.unserved.empty


def test_earliest_year_respected():
    pb = toy(
        [[100, 100], [100, 100], [100, 100]],
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
    pb = toy([[10], [10], [10]], [], dist)
    r = plan(pb, base_year=2025)
    assert r.unserved["reason"].tolist() == ["nothing within reach"]
    assert "no school or site within reach" in pb.check()[0]


def test_nine_year_split():
    assert nine_year_split(36, (6, 3)) == (24, 12) and nine_year_split(45, (6, 3)) == (30, 15)
    assert nine_year_split(36, (5, 4)) == (20, 16)


# ------------------------------------------------------------------ single sourcing
# S (100 seats) at x = 0, T (100 seats) at x = 2000; points at 0, 1000, 2000 need 60, 80, 50.
SS_FAC = [fac("S", 0, 100), fac("T", 2000, 100)]
SS_DEMAND = [[60], [80], [50]]


def test_split_assignment_serves_everyone():
    # 190 seats ≤ 200: split, the middle point sends 40 to S and 40 to T (1 km each)
    r = plan(toy(SS_DEMAND, facilities=SS_FAC, radius=5000), base_year=2025, mip_gap=0.0)
    assert r.unserved.empty
    assert (r.assignments["point_id"] == 1).sum() == 2
    assert r.objective == pytest.approx(0.001 * 80, abs=1e-4)


def test_single_sourcing_forbids_the_split():
    # each point wholly to one school: 60 + 80 > 100 and 80 + 50 > 100, so one point stays
    # out; leaving the 50 (not the 60) out is best, and S ← 0, T ← 1 (80 seat-km) beats
    # S ← 1, T ← 0 (80 + 120 seat-km): objective 50 × 1000 + 0.001 × 80
    pb = toy(SS_DEMAND, facilities=SS_FAC, radius=5000)
    r = plan(pb, base_year=2025, single_sourcing=True, mip_gap=0.0)  # exact, to the travel
    assert r.proven_optimal
    a = r.assignments.set_index("point_id")
    assert a["fac_id"].to_dict() == {0: 0, 1: 1}
    assert a["seats"].to_dict() == pytest.approx({0: 60, 1: 80})
    assert r.unserved[["point_id", "seats", "reason"]].values.tolist() == [[2, 50.0, "capacity"]]
    assert r.objective == pytest.approx(50 * 1000 + 0.001 * 80, abs=1e-4)


# --------------------------------------------------------------- closest assignment
def test_closest_assignment_keeps_pupils_at_the_nearer_full_school():
    # S (100) at 0, T (200) at 3000; points at 0 (80) and 1000 (60). Split freely: the
    # point at 1000 sends 20 to S and 40 to T. 就近入学: S is strictly closer, so it may
    # only use S's 20 spare seats; 40 stay unserved although T has 200 empty seats.
    pb = toy([[80], [60]], facilities=[fac("S", 0, 100), fac("T", 3000, 200)], radius=5000)
    free = plan(pb, base_year=2025, mip_gap=0.0)
    assert free.unserved.empty
    assert free.objective == pytest.approx(0.001 * (20 * 1 + 40 * 2), abs=1e-4)
    r = plan(pb, base_year=2025, closest_assignment=True, mip_gap=0.0)
    assert r.proven_optimal
    assert set(r.assignments["fac_id"]) == {0}
    assert r.unserved["seats"].sum() == pytest.approx(40)
    assert r.unserved["point_id"].tolist() == [1]
    assert r.objective == pytest.approx(40 * 1000 + 0.001 * 20, abs=1e-4)


def test_closest_assignment_new_school_captures_its_nearer_points():
    # S (250) at 0, site E at 3000 (100 seats for 1e6 or 200 for 2e6); 100 seats needed at
    # each of 0, 2000, 3000. Split freely: the 100-seat school closes the 50-seat gap.
    # 就近入学: once E opens, the points at 2000 and 3000 must both go to E, so only the
    # 200-seat school leaves nobody out (E100 would leave 100 out, no school 50).
    pb = toy(
        [[100], [100], [100]],
        [opt("E", 100, 1e6), opt("E", 200, 2e6)],
        facilities=[fac("S", 0, 250), fac("E", 3000)],
        x=[0, 2000, 3000],
        radius=5000,
    )
    assert plan(pb, base_year=2025).projects["seats_primary"].tolist() == [100]
    r = plan(pb, base_year=2025, closest_assignment=True, mip_gap=0.0)
    assert r.projects["seats_primary"].tolist() == [200]
    assert r.unserved.empty
    a = r.assignments.groupby("point_id")["fac_id"].agg(set).to_dict()
    assert a == {0: {0}, 1: {1}, 2: {1}}
    assert r.objective == pytest.approx(200 / 1.03 + 0.001 * 100, abs=1e-3)


def test_closest_assignment_with_single_sourcing():
    # both options together: the closest school takes each point whole or not at all
    pb = toy([[80], [60]], facilities=[fac("S", 0, 100), fac("T", 3000, 200)], radius=5000)
    r = plan(pb, base_year=2025, closest_assignment=True, single_sourcing=True)
    assert r.assignments[["point_id", "fac_id"]].values.tolist() == [[0, 0]]
    assert r.unserved[["point_id", "seats"]].values.tolist() == [[1, 60.0]]


def test_private_school_neither_blocks_nor_is_blocked():
    # a full private school P next to the point does not stop assignment to the public S
    pb = toy(
        [[50]],
        x=[1000],
        facilities=[fac("P", 1000, 0, public=False), fac("S", 2500, 100)],
        radius=5000,
    )
    r = plan(pb, base_year=2025, closest_assignment=True)
    assert r.unserved.empty and r.assignments["fac_id"].tolist() == [1]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=4, max_size=4),  # point x / 100
    st.lists(st.integers(0, 50), min_size=3, max_size=3),  # facility x / 100
    st.lists(st.integers(0, 150), min_size=4, max_size=4),  # demand
    st.lists(st.integers(0, 200), min_size=2, max_size=2),  # existing capacities
    st.booleans(),
)
def test_closest_assignment_property(px, fx, demand, caps, single):
    """With closest assignment no assigned pair has a strictly closer open public school."""
    facs = [fac("S", fx[0] * 100, caps[0]), fac("T", fx[1] * 100, caps[1]), fac("E", fx[2] * 100)]
    pb = toy(
        [[d, d + 20] for d in demand],
        [opt("E", 90, 3e6, earliest=2030), opt("E", 180, 5e6, earliest=2030)],
        facilities=facs,
        x=np.array(px) * 100.0,
        periods=(2026, 2030),
        radius=1500,
        reach=4000,
    )
    r = plan(pb, base_year=2025, closest_assignment=True, single_sourcing=single)
    built = r.projects["year"].min() if len(r.projects) else np.inf
    d = pb.dist.toarray()
    for row in r.assignments.itertuples():
        p = int(np.flatnonzero(pb.periods == row.year)[0])
        open_ = (pb.cap0[:, p] > 0) | ((pb.facilities["kind"] == "site") & (built <= row.year))
        closer = (d[row.point_id] > 0) & (d[row.point_id] < d[row.point_id, row.fac_id] - 0.01)
        assert not (closer & open_.to_numpy()).any()
        if single:
            assert row.seats == pytest.approx(pb.demand[row.point_id, p])


# ------------------------------------------------------------------------ boarding
def test_boarding_rule_builds_a_boarding_school():
    # the rural unit R has a (non-boarding) school S with room for everyone: without the
    # rule nothing is built (travel 100 × 1 + 100 × 2 seat-km). With it, the cheapest
    # boarding-capable option, 90 seats on E1 at x = 1000, opens in 2026: 900 万元 / 1.03,
    # and 90 seats travel 1 km less.
    opts = [
        opt("E1", 90, 9e6, unit="R", boarding=True),
        opt("E1", 180, 1.6e7, unit="R", boarding=True),
    ]
    facs = [fac("S", 0, 300, unit="R"), fac("E1", 1000, unit="R")]
    demand = [[100], [100], [100]]
    free = plan(
        toy(demand, opts, facilities=facs, unit="R", radius=5000), base_year=2025, mip_gap=0
    )
    assert free.projects.empty
    assert free.objective == pytest.approx(0.001 * 300, abs=1e-4)
    pb = toy(demand, opts, facilities=facs, unit="R", radius=5000, boarding_units=["R"])
    r = plan(pb, base_year=2025, mip_gap=0.0)
    assert r.projects[["ref", "seats_primary", "year"]].values.tolist() == [["E1", 90, 2026]]
    assert r.boarding_unmet == []
    assert r.objective == pytest.approx(900 / 1.03 + 0.001 * 210, abs=1e-3)


def test_boarding_rule_reports_units_it_cannot_serve():
    opts = [opt("E1", 90, 9e6, unit="R", boarding=True)]
    pb = toy(
        [[10]],
        opts,
        facilities=[fac("S", 0, 300, unit="R"), fac("E1", 1000, unit="R")],
        boarding_units=["R", "Q"],
        radius=5000,
    )
    assert any("boarding rule" in m and "Q" in m for m in pb.check())
    r = plan(pb, base_year=2025)
    assert r.boarding_unmet == ["Q"]
    assert r.projects["ref"].tolist() == ["E1"]
    # a budget too small for the boarding school: reported, not infeasible
    r = plan(pb, base_year=2025, budget=1e6)
    assert r.projects.empty and sorted(r.boarding_unmet) == ["Q", "R"]


# ------------------------------------------------------------------ network distance
def river_graph(one_way_bridge=False):
    """Two banks (y = ±300) with roads every 1 km from x = 0 to 5000; one bridge at 5000."""
    g = nx.DiGraph() if one_way_bridge else nx.Graph()
    for bank in (300, -300):
        for k in range(6):
            g.add_node((k, bank), x=k * 1000.0, y=float(bank))
        for k in range(5):
            g.add_edge((k, bank), (k + 1, bank), length=1000.0)
            if one_way_bridge:
                g.add_edge((k + 1, bank), (k, bank), length=1000.0)
    g.add_edge((5, -300), (5, 300), length=600.0)  # one way: south → north only
    return g


def test_network_distance_no_bridge_out_of_reach():
    # point at (0, 300) north of the river, school S at (0, −300): 600 m straight line
    # (780 m × 1.3, within a reach of 2,000 m), but 10,600 m by road over the bridge.
    # The point at (5000, 300) reaches T at (5000, −300) over the bridge: 600 m.
    pxy = np.array([[0.0, 300.0], [5000.0, 300.0]])
    fxy = np.array([[0.0, -300.0], [5000.0, -300.0]])
    d = network_distances(river_graph(), pxy, fxy, np.full(2, 2000.0)).toarray()
    assert d[0].tolist() == [0.0, 0.0]
    assert d[1] == pytest.approx([0.0, 600.001])
    # a one-way bridge against the pupil's direction (north → south) leaves nothing
    assert network_distances(river_graph(True), pxy, fxy, np.full(2, 2000.0)).nnz == 0
    # in the model: straight line serves the first point, the network leaves it unserved
    straight = np.hypot(*(pxy[:, None, :] - fxy[None, :, :]).transpose(2, 0, 1)) * 1.3
    straight = np.where(straight <= 2000, straight, 0.0)
    facs = [fac("S", 0, 100), fac("T", 5000, 100)]
    assert plan(toy([[30], [30]], facilities=facs, dist=straight), base_year=2025).unserved.empty
    r = plan(toy([[30], [30]], facilities=facs, dist=d), base_year=2025)
    assert r.unserved[["point_id", "reason"]].values.tolist() == [[0, "nothing within reach"]]


def test_roads_file_to_graph(tmp_path):
    # the same river as lines: two bank roads and the bridge, read back from a GeoPackage
    from shapely.geometry import LineString

    from planner.geo.roads import roads_graph
    from planner.inputs.roads import read_roads

    lines = gpd.GeoDataFrame(
        {"oneway": [False, False, False]},
        geometry=[
            LineString([(0, 300), (2500, 300), (5000, 300)]),
            LineString([(0, -300), (5000, -300)]),
            LineString([(5000, -300), (5000, 300)]),
        ],
        crs="EPSG:4547",
    )
    lines.to_file(tmp_path / "roads.gpkg", layer="roads")
    g = read_roads(tmp_path / "roads.gpkg", to_crs="EPSG:4547", layer="roads")
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4
    pxy = np.array([[0.0, 300.0], [5000.0, 300.0]])
    fxy = np.array([[0.0, -300.0], [5000.0, -300.0]])
    d = network_distances(g, pxy, fxy, np.full(2, 20000.0)).toarray()
    assert d == pytest.approx(np.array([[10600, 5600], [5600, 600]]) + 1e-3)
    lines.loc[2, "oneway"] = True  # the bridge digitised south → north, one way
    gd = roads_graph(lines, oneway="oneway")
    d = network_distances(gd, pxy, fxy, np.full(2, 20000.0)).toarray()
    assert (d == 0).all()  # north bank pupils cannot cross southwards


# ------------------------------------------------------------- build_problem (geo)
def geo_inputs(boarding=False):
    """An urban unit U (0–2 km) and a rural unit R (2–4 km), one school and one site each."""
    units = gpd.GeoDataFrame(
        {"unit_id": ["U", "R"], "name": ["U", "R"], "kind": ["urban", "rural"]},
        geometry=[box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
        crs="EPSG:4547",
    )
    schools = gpd.GeoDataFrame(
        {
            "school_id": ["S1", "S2"],
            "name": ["S1", "S2"],
            "stage": "primary",
            "public": True,
            "status": "existing",
            "opening_year": np.nan,
            "classes_primary": 12,
            "classes_junior": 0,
            "students_primary": 500,
            "students_junior": 0,
            "land_area": 20000.0,
            "boarding": [False, boarding],
        },
        geometry=[Point(1000, 1000), Point(3000, 1000)],
        crs="EPSG:4547",
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["E1", "E2"],
            "name": ["E1", "E2"],
            "land_area": 10000.0,
            "earliest_year": np.nan,
            "stage": "primary",
            "land_cost": 0.0,
        },
        geometry=[Point(500, 500), Point(3500, 500)],
        crs="EPSG:4547",
    )
    req = pd.DataFrame(
        {"unit_id": ["U", "R"], "stage": "primary", "year": 2026, "required_seats": 300.0}
    )
    cap = pd.DataFrame(
        {"school_id": ["S1", "S2"], "stage": "primary", "year": 2026, "capacity": 540.0}
    )
    return dict(
        units=units,
        schools=schools,
        sites=sites,
        developments=None,
        requirement=req,
        school_capacity=cap,
        dev_seats=None,
        norms=load_norms("guangdong"),
        periods=[2026],
    )


def test_build_problem_boarding_rule():
    spec = SitingSpec(grid_m=1000, boarding_per_rural_town=True)
    pb = build_problem(**geo_inputs(), spec=spec)
    assert pb.boarding_units == ["R"]
    new = pb.options[pb.options["kind"] == "new"]
    assert set(new.loc[new["boarding"], "ref"]) == {"E2"}  # only the rural unit's site
    assert not pb.options.loc[pb.options["kind"] == "expansion", "boarding"].any()
    r = plan(pb, base_year=2025)
    assert r.projects["ref"].tolist() == ["E2"] and r.boarding_unmet == []
    # an existing boarding school in R satisfies the rule: nothing to build
    pb = build_problem(**geo_inputs(boarding=True), spec=spec)
    assert pb.boarding_units == []
    assert plan(pb, base_year=2025).projects.empty
    # rule off (the default): no boarding-capable option
    pb = build_problem(**geo_inputs(), spec=SitingSpec(grid_m=1000))
    assert pb.boarding_units == [] and not pb.options["boarding"].any()


def test_build_problem_network_distances():
    # a road only along y = 1000 from x = 0 to 4000: every distance follows it
    g = nx.Graph()
    for k in range(9):
        g.add_node(k, x=k * 500.0, y=1000.0)
    g.add_edges_from((k, k + 1) for k in range(8))  # no length: the straight segment
    pb = build_problem(**geo_inputs(), spec=SitingSpec(grid_m=1000), network=g)
    line = build_problem(**geo_inputs(), spec=SitingSpec(grid_m=1000))
    pts = pb.points[["x", "y"]].to_numpy()
    fx = pb.facilities[["x", "y"]].to_numpy()
    d = pb.dist.tocoo()
    snap = lambda xy: np.abs(xy[:, 1] - 1000.0)  # noqa: E731 - to the road, then along it
    expect = snap(pts[d.row]) + np.abs(pts[d.row, 0] - fx[d.col, 0]) + snap(fx[d.col]) + 1e-3
    np.testing.assert_allclose(d.data, expect, atol=1e-6)
    assert (d.data <= pb.radius[d.row] * 4.0 + 1e-3).all()
    assert pb.dist.nnz != line.dist.nnz or not np.allclose(pb.dist.data, line.dist.data)


# ---------------------------------------------------------------------- invariants
@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=3, max_size=3),
    st.integers(0, 400),
    st.sampled_from([None, 5e6, 1.2e7, 3e7]),
)
def test_invariants(demand, cap, budget):
    pb = toy(
        [[d] for d in demand],
        [*TWO_OPTS, opt("S", 135, 6e6, kind="expansion", group="school:S")],
        D3,
        cap=cap,
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
    a = plan(toy([[100], [120], [90]], TWO_OPTS, D3), base_year=2025)
    b = plan(toy([[100], [120], [90]], TWO_OPTS, D3), base_year=2025)
    pd.testing.assert_frame_equal(a.projects, b.projects)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)


def test_demo_plan_small(demo_forecast_run):
    """The demo city on a coarse grid: a plan that closes part of the gap, with its proof."""
    from dataclasses import replace

    from planner import api
    from planner.siting.schools import site_schools

    # the demo run with its forecast (once per session, conftest.py); the siting settings
    # below change nothing before the siting step
    r = demo_forecast_run
    sc = api.variant(
        r.inputs.scenario,
        siting__grid_m=3000.0,
        siting__periods=[2030, 2035],
        siting__time_limit_s=30.0,
        siting__mip_gap=0.01,
    )
    settings = api.settings_for(sc)
    same = replace(settings, siting=r.settings.siting, time_limit_s=r.settings.time_limit_s)
    assert settings.siting.grid_m == 3000.0 and same == r.settings
    o = site_schools(r.inputs, r.norms, r.tables["needs"], r.tables["school_capacity"], settings)
    s = o.tables["siting_summary"].iloc[0]
    assert s["projects"] > 0 and s["seats_added"] > 0
    assert s["gap"] <= 0.01 + 1e-9 or s["status"] == "Time limit reached"
    after = o.tables["gaps_after"]
    assert (after["seat_gap_after"] <= after["seat_gap"]).all()
    assert o.catchments is not None and len(o.catchments) > 0
    pr = o.tables["projects"]
    assert pr["year"].isin([2030, 2035]).all()
    assert pr["name"].notna().all()


# ---------------------------------------------------------------------- warm start
def test_lp_relaxation_bounds_and_rounds_to_the_optimum():
    from planner.siting.problem import to_instance
    from planner.siting.relax import lp_relaxation, round_groups
    from planner.siting.transport import Assigner, score

    # 150 seats at S for 300 pupils; E1 offers 90 seats (9e6) or 180 seats (1.6e7). The
    # LP opens the large option at 150/180 (its cost pro rata); the MILP optimum opens
    # it wholly: 1600 / 1.03 (万元, discounted one year) plus travel.
    pb = toy([[100], [120], [80]], TWO_OPTS, D3)
    inst = to_instance(
        pb,
        budget=None,
        discount_rate=0.03,
        base_year=2025,
        single_sourcing=False,
        closest_assignment=False,
    )
    r = plan(pb, base_year=2025, mip_gap=0.0)
    assert r.proven_optimal
    rel = lp_relaxation(inst, np.zeros((inst.n_pairs, inst.P)), nearest=1, all_pairs_below=0)
    assert rel.exact and rel.rounds >= 2  # the far pairs priced in, then the full LP
    assert rel.bound <= r.objective + 1e-9
    # the pro-rata cost of the large option, plus travel (beyond the radius) and the
    # link rows' share: above 1,294.5, and well below the whole school's 1,553
    assert 1600 * 150 / 180 / 1.03 < rel.bound < 1600 / 1.03
    op = round_groups(inst, rel.y, 0.1)
    assert op.tolist() == [-1, 0]  # the large option of E1, in the first period
    assert score(inst, op, Assigner(inst)).cost == pytest.approx(r.objective, rel=1e-9)


def test_every_scenario_limit_reaches_the_engine():
    # each [siting.limits] key is a SolveLimits field: limits_from passes it through, and a
    # value set in the scenario is the value the engine gets
    from dataclasses import fields
    from types import SimpleNamespace

    from planner.scenario import SitingLimits
    from planner.siting.schools import limits_from
    from planner.siting.solve import SolveLimits

    engine = {f.name: f for f in fields(SolveLimits)}
    for name in SitingLimits.model_fields:
        assert name in engine, name
        default = getattr(SolveLimits(), name)
        value = default * 2 if default else 1
        spec = SimpleNamespace(
            mip_gap=1e-3, time_limit_s=600.0, limits=SitingLimits(**{name: value})
        )
        got = limits_from(spec)
        assert getattr(got, name) == value, name
        assert got.time_limit == 600.0 and got.gap == 1e-3
