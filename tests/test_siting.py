"""Tests of the siting solver core (planner.siting.instance / model / heuristic)."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.errors import PlannerError, SolverError
from planner.siting import (
    SitingInstance,
    build_model,
    extract,
    greedy_interchange,
    plan_cost,
    solve,
    solve_model,
)

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "siting"
# the benchmark readers, loaded under a unique name (benchmarks/*/data.py would clash)
_spec = importlib.util.spec_from_file_location("siting_bench_data", BENCH / "data.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

needs_data = pytest.mark.skipif(not bench.DATA.exists(), reason="benchmark data not present")

# Four clients on a line at x = 0, 1, 2, 10; every client is also a candidate site.
X = np.array([0.0, 1.0, 2.0, 10.0])
D = np.abs(X[:, None] - X[None, :])


# ----------------------------------------------------------------------------- toys


@pytest.mark.parametrize("formulation", ["radius", "assignment"])
def test_line_p1(formulation):
    # p = 1, unit demand: a median at 1 costs 1+0+1+9 = 11, at 2 costs 2+1+0+8 = 11,
    # at 0 costs 0+1+2+10 = 13, at 10 costs 10+9+8+0 = 27 → optimum 11.
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=1)
    sol = solve(inst, formulation)
    assert sol.objective == pytest.approx(11.0)
    assert sol.proven_optimal and sol.gap <= 1e-9
    assert len(sol.open) == 1 and sol.open[0] in (1, 2)


@pytest.mark.parametrize("formulation", ["radius", "assignment"])
def test_line_p2(formulation):
    # p = 2: {1, 10} costs 1+0+1+0 = 2; {0, 10} and {2, 10} cost 3; any pair without
    # the far client costs ≥ 8 → optimum 2 with medians at columns 1 and 3.
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=2)
    sol = solve(inst, formulation)
    assert sol.objective == pytest.approx(2.0)
    assert sol.open.tolist() == [1, 3]
    a = sol.assignment.sort_values("client")
    assert a["facility"].tolist() == [1, 1, 1, 3]


def test_line_weighted_p1():
    # demand 1, 1, 1, 5: at 10 the cost is 10+9+8 = 27; at 2 it is 2+1+0+5·8 = 43 → 27.
    inst = SitingInstance.from_cost_matrix(D, [1, 1, 1, 5], p=1)
    sol = solve(inst)
    assert sol.objective == pytest.approx(27.0)
    assert sol.open.tolist() == [3]


def test_line_fixed_charge():
    # fixed cost 3 per site, no p: {1, 10} costs 2 + 6 = 8, {2, 10} 3 + 6 = 9,
    # {0, 2, 10} 1 + 9 = 10, {1} 11 + 3 = 14 → optimum 8.
    for formulation in ("radius", "assignment"):
        inst = SitingInstance.from_cost_matrix(D, np.ones(4), fixed_cost=3.0)
        sol = solve(inst, formulation)
        assert sol.objective == pytest.approx(8.0)
        assert sol.open.tolist() == [1, 3]


def test_existing_counts_in_p_and_budget():
    # column 0 exists (forced open, free); p = 2 total, so one new site opens: 10 is best
    # (cost 0+1+2+0 = 3) — but the budget only pays for site 2 (cost 1): 0+1+0+8 = 9.
    fixed = np.array([100.0, 5.0, 1.0, 5.0])
    ex = np.array([True, False, False, False])
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=2, existing=ex, fixed_cost=fixed)
    assert solve(inst).objective == pytest.approx(3.0 + 5.0)
    inst = SitingInstance.from_cost_matrix(
        D, np.ones(4), p=2, existing=ex, fixed_cost=fixed, budget=2.0
    )
    for formulation in ("radius", "assignment"):
        sol = solve(inst, formulation)
        assert sol.open.tolist() == [0, 2]
        assert sol.objective == pytest.approx(9.0 + 1.0)


def test_size_options_exclusive():
    # one candidate site with a small (cap 2, cost 1) and a large (cap 4, cost 3) option
    # as two columns of the same site, plus a far site (cap 4, cost 1, unit cost 10).
    # Demand 1 each on 4 clients at distance 0 from the candidate site.
    cost = np.array([[0, 0, 10]] * 4, dtype=float)
    inst = SitingInstance.from_cost_matrix(
        cost, np.ones(4), capacity=[2, 4, 4], fixed_cost=[1, 3, 1], site=[0, 0, 1]
    )
    # both options together would cost 4 and serve everything at distance 0; they are
    # exclusive, so: the large option alone costs 3 (better than small + far: 2 + 20).
    sol = solve(inst)
    assert sol.open.tolist() == [1]
    assert sol.objective == pytest.approx(3.0)


def test_split_vs_single_source_and_unserved():
    # clients A (x=0, d=2) and B (x=1, d=2); F0 at 0 with capacity 3, F1 at 1 with
    # capacity 1, both existing; unit cost = distance.
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    kw = dict(capacity=[3.0, 1.0], existing=[True, True])
    # split: A → F0 (2 units, 0), B: 1 unit at F1 (0) + 1 unit at F0 (1) → cost 1.
    sol = solve(SitingInstance.from_cost_matrix(cost, [2.0, 2.0], **kw))
    assert sol.objective == pytest.approx(1.0)
    # single source: B fits nowhere beside A (2 + 2 > 3, 2 > 1): the checks pass but
    # HiGHS proves infeasibility → SolverError with a diagnosis.
    inst = SitingInstance.from_cost_matrix(cost, [2.0, 2.0], single_source=True, **kw)
    assert inst.check() == []
    with pytest.raises(SolverError, match="infeasible"):
        solve(inst)
    # allowing unserved demand: one client (2 units) stays unserved; A served at cost 0
    # beats B served at cost 2, so B is the unserved one.
    inst = SitingInstance.from_cost_matrix(
        cost, [2.0, 2.0], single_source=True, allow_unserved=True, **kw
    )
    sol = solve(inst)
    assert sol.unserved.tolist() == [0.0, 2.0]
    assert sol.objective == pytest.approx(2.0 * inst.penalty)


def test_from_cost_matrix_reach():
    cost = np.array([[0.0, 5.0, np.inf], [3.0, np.nan, 1.0]])
    inst = SitingInstance.from_cost_matrix(cost, [1, 1], max_cost=4.0)
    assert inst.cost.nnz == 3  # the zero stays an allowed pair; 5, inf, NaN dropped
    assert inst.cost[0, 0] == 0 and inst.cost.has_sorted_indices
    with pytest.raises(PlannerError):
        SitingInstance.from_cost_matrix(cost, [1, -1])
    with pytest.raises(PlannerError):
        SitingInstance(cost, [1, 1])  # dense: use from_cost_matrix


# ----------------------------------------------------------------------------- checks


def test_check_no_facility_in_reach():
    cost = np.array([[1.0, 2.0], [np.inf, np.inf], [1.0, np.inf]])
    inst = SitingInstance.from_cost_matrix(cost, np.ones(3), p=1)
    probs = inst.check()
    assert len(probs) == 1 and "client 1" in probs[0] and "no facility within reach" in probs[0]
    with pytest.raises(SolverError, match="no facility within reach"):
        solve(inst)
    # allowed: client 1 is reported unserved, the others are served
    inst = SitingInstance.from_cost_matrix(cost, np.ones(3), p=1, allow_unserved=True)
    sol = solve(inst)
    assert sol.unserved.tolist() == [0.0, 1.0, 0.0]
    assert sol.open.tolist() == [0]


def test_check_capacity_below_demand():
    inst = SitingInstance.from_cost_matrix(D, np.full(4, 10.0), capacity=5.0, fixed_cost=1.0)
    probs = inst.check()
    assert any("total capacity 20 of all sites" in p and "total demand 40" in p for p in probs)
    with pytest.raises(SolverError, match="total capacity"):
        solve(inst)


def test_check_other_problems():
    one = np.ones(4)
    assert any(
        "only 4 candidate sites" in p for p in SitingInstance.from_cost_matrix(D, one, p=5).check()
    )
    inst = SitingInstance.from_cost_matrix(D, one, p=3, fixed_cost=[1, 2, 3, 4], budget=5)
    assert any("cheapest way to open the 3 new facilities" in p for p in inst.check())
    inst = SitingInstance.from_cost_matrix(D, [1, 1, 1, 9], capacity=5.0, single_source=True)
    assert any("client 3: demand exceeds the capacity of every facility" in p for p in inst.check())
    inst = SitingInstance.from_cost_matrix(D, one, p=1, existing=[True, True, False, False])
    assert any("already exist" in p for p in inst.check())
    inst = SitingInstance.from_cost_matrix(D, [1, 1, 1, 9], capacity=[5, 5, 5, 5], p=1)
    assert any("with p = 1 facilities the capacity is at most 5" in p for p in inst.check())


# ----------------------------------------------------------------------------- benchmarks


@needs_data
def test_pmed1_optimum():
    inst, _ = bench.read_pmed(bench.DATA / "orlib_pmed" / "pmed1.txt")
    sol = solve(inst)
    assert sol.objective == pytest.approx(5819.0, rel=1e-9)
    assert sol.proven_optimal
    assert sol.heuristic_objective is not None and sol.heuristic_objective >= 5819.0


@needs_data
def test_pmedcap01_optimum():
    inst, best = bench.read_pmedcap(bench.DATA / "orlib_pmedcap" / "pmedcap01.txt")
    sol = solve(inst)
    assert best == 713.0
    assert sol.objective == pytest.approx(best, rel=1e-9)
    assert sol.proven_optimal
    _assert_plan_valid(inst, sol)


@needs_data
def test_cap41_optimum():
    inst = bench.read_cap(bench.DATA / "orlib_cap" / "cap41.txt")
    sol = solve(inst)
    assert sol.objective == pytest.approx(1040444.375, rel=1e-6)
    _assert_plan_valid(inst, sol)


@needs_data
def test_time_limit_returns_best_plan_with_gap():
    inst, _ = bench.read_pmed(bench.DATA / "orlib_pmed" / "pmed6.txt")
    sol = solve(inst, time_limit=2.0, reduce=False)  # ~6 s to prove on the whole instance
    assert not sol.proven_optimal
    assert sol.status == "Time limit reached"
    assert sol.objective >= 7824.0 - 1e-9  # known optimum
    assert sol.bound <= 7824.0 + 1e-9
    assert 0.0 < sol.gap <= 1.0  # the root LP may not even be finished
    assert sol.gap == pytest.approx((sol.objective - sol.bound) / sol.objective)
    assert len(sol.open) == inst.p


def test_build_solve_extract_blocks():
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=2, site=[0, 0, 1, 2])
    built = build_model(inst, "radius")
    assert {"open", "level"} <= set(built.cols) and {"cover", "p", "site"} <= set(built.rows)
    with pytest.raises(SolverError, match="before solve_model"):
        extract(built)
    solve_model(built)
    sol = extract(built)
    # columns 0 and 1 share a site: {1, 3} is still allowed (only one of 0/1)
    assert sol.open.tolist() == [1, 3]
    cap = SitingInstance.from_cost_matrix(D, np.ones(4), capacity=2.0, p=2)
    with pytest.raises(SolverError, match="radius formulation needs uncapacitated"):
        build_model(cap, "radius")
    b = build_model(cap)
    assert b.formulation == "assignment" and {"assign", "capacity", "link", "p"} <= set(b.rows)


# ----------------------------------------------------------------------------- invariants


def _assert_plan_valid(inst: SitingInstance, sol) -> None:
    a = sol.assignment
    share = np.bincount(a["client"], weights=a["share"], minlength=inst.n)
    # every client fully accounted for (served shares + unserved share = 1)
    np.testing.assert_allclose(share + sol.unserved_share, 1.0, atol=1e-6)
    np.testing.assert_allclose(sol.unserved, sol.unserved_share * inst.demand)
    assert np.all(share <= 1 + 1e-6)
    if not inst.allow_unserved:
        np.testing.assert_allclose(share, 1.0, atol=1e-6)
    if inst.single_source:
        assert not a["client"].duplicated().any()
        assert np.all(a["share"] == 1.0)
    # only open facilities and reachable pairs are used
    assert set(a["facility"]) <= set(sol.open.tolist())
    reach = inst.cost.tocsr()
    for i, j in zip(a["client"], a["facility"], strict=True):
        assert j in reach.indices[reach.indptr[i] : reach.indptr[i + 1]]
    # capacities
    load = np.bincount(a["facility"], weights=a["demand"], minlength=inst.m)
    assert np.all(load <= inst.capacity * (1 + 1e-6) + 1e-6)
    # structure
    assert np.all(inst.existing[np.setdiff1d(np.arange(inst.m), sol.open)] == 0)
    if inst.p is not None:
        assert len(sol.open) == inst.p
    assert np.bincount(inst.site[sol.open], minlength=inst.n_sites).max(initial=0) <= 1
    if inst.budget is not None:
        assert inst.open_cost[sol.open].sum() <= inst.budget + 1e-6
    # objective = recomputed cost of the plan
    recomputed = plan_cost(inst, sol.open, a, sol.unserved_share)
    assert sol.objective == pytest.approx(recomputed, rel=1e-9, abs=1e-9)
    assert sol.model_objective == pytest.approx(sol.objective, rel=1e-6, abs=1e-6)


@st.composite
def instances(draw, capacitated: bool):
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 20, size=(n, m)).astype(float)
    cost[rng.random((n, m)) < draw(st.sampled_from([0.0, 0.3]))] = np.nan
    demand = rng.integers(0, 6, size=n).astype(float)
    kw: dict = {
        "allow_unserved": capacitated or draw(st.booleans()),
        "fixed_cost": rng.integers(0, 15, size=m).astype(float),
    }
    if draw(st.booleans()):  # size options: some columns share a site
        kw["site"] = np.sort(rng.integers(0, m, size=m))
    site = kw.get("site", np.arange(m))
    first = np.r_[True, site[1:] != site[:-1]]
    if draw(st.booleans()):  # existing facilities: first option of some sites
        kw["existing"] = first & (rng.random(m) < 0.3)
    n_sites = int(first.sum())
    n_ex = int(np.sum(kw.get("existing", 0)))
    if draw(st.booleans()):
        kw["p"] = draw(st.integers(max(1, n_ex), n_sites))
        if draw(st.booleans()):
            kw["fixed_cost"] = 0.0
    if draw(st.booleans()):
        kw["budget"] = float(rng.integers(0, 30))
    if capacitated:
        kw["capacity"] = rng.integers(1, 15, size=m).astype(float)
        kw["single_source"] = draw(st.booleans())
    inst = SitingInstance.from_cost_matrix(cost, demand, **kw)
    assume(inst.check() == [])
    return inst


def _brute_force_uncapacitated(inst: SitingInstance) -> float:
    """Best plan over every admissible open set (tiny instances only)."""
    dense = np.full((inst.n, inst.m), np.inf)
    c = inst.cost.tocoo()
    dense[c.row, c.col] = c.data
    w = inst.obj_weight
    best = np.inf
    for mask in itertools.product([False, True], repeat=inst.m):
        s = np.array(mask, bool)
        if np.any(inst.existing & ~s) or np.bincount(inst.site[s]).max(initial=0) > 1:
            continue
        if inst.p is not None and s.sum() != inst.p:
            continue
        if inst.budget is not None and inst.open_cost[s].sum() > inst.budget:
            continue
        d = dense[:, s].min(axis=1, initial=np.inf)
        fin = np.isfinite(d)
        if not inst.allow_unserved and not fin.all():
            continue
        val = np.where(fin, w * np.where(fin, d, 0), inst.unserved_cost).sum()
        best = min(best, val + inst.open_cost[s].sum())
    return float(best)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(capacitated=False))
def test_uncapacitated_formulations_agree_with_brute_force(inst):
    ref = _brute_force_uncapacitated(inst)
    if not np.isfinite(ref):  # infeasible in a way the pre-solve checks cannot see
        for kw in ({"formulation": "radius"}, {"formulation": "radius", "levels": "iterative"}):
            with pytest.raises(SolverError, match="infeasible"):
                solve(inst, **kw)
        with pytest.raises(SolverError, match="infeasible"):
            solve(inst, "assignment")
        return
    radius = solve(inst, "radius")
    assign = solve(inst, "assignment")
    for sol in (radius, assign):
        _assert_plan_valid(inst, sol)
        assert sol.objective == pytest.approx(ref, rel=1e-9, abs=1e-9)
    heur = greedy_interchange(inst)
    assert heur is not None and heur.objective >= ref - 1e-9
    if not inst.allow_unserved:  # level refinement (García et al.) reaches the optimum
        lazy = solve(inst, "radius", levels="iterative")
        _assert_plan_valid(inst, lazy)
        assert lazy.proven_optimal
        assert lazy.objective == pytest.approx(ref, rel=1e-9, abs=1e-9)
    again = solve(inst, "radius")
    assert again.open.tolist() == radius.open.tolist()
    assert again.assignment.equals(radius.assignment)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(capacitated=True))
def test_capacitated_plans_valid_and_deterministic(inst):
    sol = solve(inst)
    _assert_plan_valid(inst, sol)
    again = solve(inst)
    assert again.objective == sol.objective
    assert again.open.tolist() == sol.open.tolist()
    assert again.assignment.equals(sol.assignment)
    assert np.array_equal(again.unserved, sol.unserved)


@needs_data
@pytest.mark.parametrize("levels", ["all", "iterative"])
def test_pmed2_levels(levels):
    inst, _ = bench.read_pmed(bench.DATA / "orlib_pmed" / "pmed2.txt")
    built = build_model(inst, levels=levels)
    solve_model(built)
    sol = extract(built)
    assert sol.objective == pytest.approx(4093.0, rel=1e-9)
    assert sol.proven_optimal and sol.bound == pytest.approx(4093.0, rel=1e-9)
    assert (built.cutoff is not None) == (levels == "iterative")
    if levels == "iterative":  # the first round has fewer levels than the full model
        full = build_model(inst, levels="all", warm_start=False)
        assert built.rounds >= 1 and len(built.level_client) < len(full.level_client)
    _assert_plan_valid(inst, sol)


def test_sparse_input_keeps_explicit_zeros():
    m = sp.csr_matrix((np.array([0.0, 2.0]), (np.array([0, 1]), np.array([0, 0]))), shape=(2, 2))
    inst = SitingInstance(m, [1.0, 1.0], p=1)
    assert inst.cost.nnz == 2
    sol = solve(inst)
    assert sol.open.tolist() == [0] and sol.objective == pytest.approx(2.0)
