"""Tests of the one siting engine on one-period instances (p-median, CFLP, capacitated p-median)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.errors import PlannerError, SolverError
from planner.siting import SitingInstance, SolveLimits, solve, strategy_for
from planner.siting.transport import Assigner, plan_cost, score

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "siting"
# the benchmark readers, loaded under a unique name (benchmarks/*/data.py would clash)
_spec = importlib.util.spec_from_file_location("siting_bench_data", BENCH / "data.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up here
_spec.loader.exec_module(bench)

needs_data = pytest.mark.skipif(not bench.DATA.exists(), reason="benchmark data not present")

# Four clients on a line at x = 0, 1, 2, 10; every client is also a candidate site.
X = np.array([0.0, 1.0, 2.0, 10.0])
D = np.abs(X[:, None] - X[None, :])


EXACT = SolveLimits(gap=1e-9)
BOTH = ["pmedian", "phased"]


def _solve(inst, strategy="auto", **kw):
    return solve(inst, strategy=strategy, limits=EXACT, **kw)


# ----------------------------------------------------------------------------- toys


@pytest.mark.parametrize("strategy", BOTH)
def test_line_p1(strategy):
    # p = 1, unit demand: a median at 1 costs 1+0+1+9 = 11, at 2 costs 2+1+0+8 = 11,
    # at 0 costs 0+1+2+10 = 13, at 10 costs 10+9+8+0 = 27 → optimum 11.
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=1)
    sol = _solve(inst, strategy)
    assert sol.objective == pytest.approx(11.0)
    assert sol.proven_optimal and sol.gap <= 1e-9
    assert len(sol.open) == 1 and sol.open[0] in (1, 2)


@pytest.mark.parametrize("strategy", BOTH)
def test_line_p2(strategy):
    # p = 2: {1, 10} costs 1+0+1+0 = 2; {0, 10} and {2, 10} cost 3; any pair without
    # the far client costs ≥ 8 → optimum 2 with medians at columns 1 and 3.
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=2)
    sol = _solve(inst, strategy)
    assert sol.objective == pytest.approx(2.0)
    assert sol.open.tolist() == [1, 3]
    a = sol.assignment.sort_values("client")
    assert a["facility"].tolist() == [1, 1, 1, 3]


def test_line_weighted_p1():
    # demand 1, 1, 1, 5: at 10 the cost is 10+9+8 = 27; at 2 it is 2+1+0+5·8 = 43 → 27.
    inst = SitingInstance.from_cost_matrix(D, [1, 1, 1, 5], p=1)
    for strategy in BOTH:
        sol = _solve(inst, strategy)
        assert sol.objective == pytest.approx(27.0)
        assert sol.open.tolist() == [3]


def test_line_fixed_charge():
    # fixed cost 3 per site, no p: {1, 10} costs 2 + 6 = 8, {2, 10} 3 + 6 = 9,
    # {0, 2, 10} 1 + 9 = 10, {1} 11 + 3 = 14 → optimum 8.
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), fixed_cost=3.0)
    assert strategy_for(inst) == "pmedian"
    for strategy in BOTH:
        sol = _solve(inst, strategy)
        assert sol.objective == pytest.approx(8.0)
        assert sol.open.tolist() == [1, 3]


def test_existing_counts_in_p_and_budget():
    # column 0 exists (forced open, free); p = 2 total, so one new site opens: 10 is best
    # (cost 0+1+2+0 = 3) — but the budget only pays for site 2 (cost 1): 0+1+0+8 = 9.
    fixed = np.array([100.0, 5.0, 1.0, 5.0])
    ex = np.array([True, False, False, False])
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=2, existing=ex, fixed_cost=fixed)
    assert _solve(inst).objective == pytest.approx(3.0 + 5.0)
    inst = SitingInstance.from_cost_matrix(
        D, np.ones(4), p=2, existing=ex, fixed_cost=fixed, budget=2.0
    )
    for strategy in BOTH:
        sol = _solve(inst, strategy)
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
    assert inst.F == 2 and inst.O == 3  # the two options of site 0 share one facility
    # both options together would cost 4 and serve everything at distance 0; they are
    # exclusive, so: the large option alone costs 3 (better than small + far: 2 + 20).
    sol = _solve(inst)
    assert sol.open.tolist() == [1]
    assert sol.objective == pytest.approx(3.0)


def test_split_vs_single_source_and_unserved():
    # clients A (x=0, d=2) and B (x=1, d=2); F0 at 0 with capacity 3, F1 at 1 with
    # capacity 1, both existing; unit cost = distance.
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    kw = dict(capacity=[3.0, 1.0], existing=[True, True])
    # split: A → F0 (2 units, 0), B: 1 unit at F1 (0) + 1 unit at F0 (1) → cost 1.
    sol = _solve(SitingInstance.from_cost_matrix(cost, [2.0, 2.0], **kw))
    assert sol.objective == pytest.approx(1.0)
    # single source: B fits nowhere beside A (2 + 2 > 3, 2 > 1): the checks pass but
    # the solve proves that no plan serves everyone → InfeasibleError naming the client.
    inst = SitingInstance.from_cost_matrix(cost, [2.0, 2.0], single_source=True, **kw)
    assert inst.check() == []
    with pytest.raises(SolverError, match=r"infeasible.*client"):
        _solve(inst)
    # allowing unserved demand: one client (2 units) stays unserved; A served at cost 0
    # beats B served at cost 2, so B is the unserved one.
    inst = SitingInstance.from_cost_matrix(
        cost, [2.0, 2.0], single_source=True, allow_unserved=True, **kw
    )
    sol = _solve(inst)
    assert sol.unserved[:, 0].tolist() == [0.0, 2.0]
    assert sol.objective == pytest.approx(2.0 * inst.penalty[0])


def test_from_cost_matrix_reach():
    cost = np.array([[0.0, 5.0, np.inf], [3.0, np.nan, 1.0]])
    inst = SitingInstance.from_cost_matrix(cost, [1, 1], max_cost=4.0)
    assert inst.cost.nnz == 3  # the zero stays an allowed pair; 5, inf, NaN dropped
    assert inst.cost[0, 0] == 0 and inst.cost.has_sorted_indices
    with pytest.raises(PlannerError):
        SitingInstance.from_cost_matrix(cost, [1, -1])
    with pytest.raises(PlannerError):
        SitingInstance(cost, [1, 1])  # dense: use from_cost_matrix


def test_sparse_input_keeps_explicit_zeros():
    m = sp.csr_matrix((np.array([0.0, 2.0]), (np.array([0, 1]), np.array([0, 0]))), shape=(2, 2))
    inst = SitingInstance.from_columns(m, [1.0, 1.0], p=1)
    assert inst.cost.nnz == 2
    sol = _solve(inst)
    assert sol.open.tolist() == [0] and sol.objective == pytest.approx(2.0)


# ----------------------------------------------------------------------------- checks


def test_check_no_facility_in_reach():
    cost = np.array([[1.0, 2.0], [np.inf, np.inf], [1.0, np.inf]])
    inst = SitingInstance.from_cost_matrix(cost, np.ones(3), p=1)
    probs = inst.check()
    assert len(probs) == 1 and "client 1" in probs[0] and "no facility within reach" in probs[0]
    with pytest.raises(SolverError, match="no facility within reach"):
        _solve(inst)
    # allowed: client 1 is reported unserved, the others are served
    inst = SitingInstance.from_cost_matrix(cost, np.ones(3), p=1, allow_unserved=True)
    sol = _solve(inst)
    assert sol.unserved[:, 0].tolist() == [0.0, 1.0, 0.0]
    assert sol.open.tolist() == [0]


def test_check_capacity_below_demand():
    inst = SitingInstance.from_cost_matrix(D, np.full(4, 10.0), capacity=5.0, fixed_cost=1.0)
    probs = inst.check()
    assert any("total capacity 20" in p and "total demand 40" in p for p in probs)
    with pytest.raises(SolverError, match="total capacity"):
        _solve(inst)


def test_check_other_problems():
    one = np.ones(4)
    assert any("only 4 groups" in p for p in SitingInstance.from_cost_matrix(D, one, p=5).check())
    inst = SitingInstance.from_cost_matrix(D, one, p=3, fixed_cost=[1, 2, 3, 4], budget=5)
    assert any("cheapest way to open the 3 projects" in p for p in inst.check())
    inst = SitingInstance.from_cost_matrix(D, [1, 1, 1, 9], capacity=5.0, single_source=True)
    assert any("client 3: demand exceeds the capacity of every facility" in p for p in inst.check())
    inst = SitingInstance.from_cost_matrix(D, one, p=1, existing=[True, True, False, False])
    assert any("fewer projects than the existing" in p for p in inst.check())


def test_unknown_strategy_names_the_closest():
    inst = SitingInstance.from_cost_matrix(D, np.ones(4), p=1)
    with pytest.raises(SolverError, match="did you mean 'phased'"):
        solve(inst, strategy="phase")


# ----------------------------------------------------------------------------- limits


def test_clock_cap_still_returns_a_plan_and_says_so():
    inst = SitingInstance.from_cost_matrix(
        D, np.full(4, 3.0), capacity=4.0, fixed_cost=1.0, allow_unserved=True
    )
    sol = solve(inst, time_limit=1e-9)  # the cap has passed before the first step ends
    assert sol.stopped_by_clock and sol.status == "Stopped by the clock"
    assert np.isfinite(sol.objective)  # the heuristic's plan, never "no solution"
    full = solve(inst, limits=EXACT)
    assert not full.stopped_by_clock and sol.objective >= full.objective - 1e-9


def test_generous_clock_caps_give_identical_plans():
    rng = np.random.default_rng(3)
    xy = rng.random((40, 2)) * 10
    cost = np.hypot(*(xy[:, None, :] - xy[None, ::4, :]).transpose(2, 0, 1))
    inst = SitingInstance.from_cost_matrix(
        cost,
        rng.integers(1, 9, 40),
        capacity=40.0,
        fixed_cost=30.0,
        allow_unserved=True,
        max_cost=4.0,
    )
    a = solve(inst, time_limit=500.0)
    b = solve(inst, time_limit=5000.0)
    assert not a.stopped_by_clock and not b.stopped_by_clock
    assert np.array_equal(a.open_period, b.open_period)
    assert np.array_equal(a.flow, b.flow) and a.objective == b.objective


# ----------------------------------------------------------------------------- benchmarks


@needs_data
def test_pmed1_optimum():
    inst, _ = bench.read_pmed(bench.DATA / "orlib_pmed" / "pmed1.txt")
    sol = solve(inst)
    assert sol.strategy == "pmedian"
    assert sol.objective == pytest.approx(5819.0, rel=1e-9)
    assert sol.proven_optimal
    assert sol.heuristic_objective >= 5819.0


@needs_data
def test_pmedcap01_optimum():
    inst, best = bench.read_pmedcap(bench.DATA / "orlib_pmedcap" / "pmedcap01.txt")
    sol = solve(inst)
    assert best == 713.0 and sol.strategy == "phased"
    assert sol.objective == pytest.approx(best, rel=1e-9)
    assert sol.proven_optimal
    _assert_plan_valid(inst, sol)


@needs_data
def test_cap41_optimum():
    inst = bench.read_cap(bench.DATA / "orlib_cap" / "cap41.txt")
    sol = solve(inst)
    assert sol.objective == pytest.approx(1040444.375, rel=1e-6)
    _assert_plan_valid(inst, sol)


# ----------------------------------------------------------------------------- invariants


def _assert_plan_valid(inst: SitingInstance, sol) -> None:
    r, f, _ = inst.pairs()
    served = np.zeros((inst.n, inst.P))
    np.add.at(served, r, sol.flow)
    # every client's demand accounted for: served + unserved = demand, nothing negative
    np.testing.assert_allclose(served + sol.unserved, inst.demand, atol=1e-6)
    assert (sol.flow >= -1e-9).all() and (sol.unserved >= -1e-9).all()
    if inst.must_serve:
        assert sol.unserved.sum() <= 1e-6
    # assigned ≤ capacity of the plan, in every period
    cap = inst.capacity_with(sol.open_period)
    load = np.zeros((inst.F, inst.P))
    np.add.at(load, f, sol.flow)
    assert np.all(load <= cap * (1 + 1e-6) + 1e-6)
    if inst.single_source:  # each client wholly to one facility
        used = np.zeros((inst.n, inst.P))
        np.add.at(used, r, sol.flow > 1e-9)
        assert used.max(initial=0) <= 1
    on = sol.open_period >= 0
    assert np.bincount(inst.option_group[on], minlength=inst.G).max(initial=0) <= 1
    assert np.all(sol.open_period[on] >= inst.option_earliest[on])
    if inst.p is not None:
        assert int(on.sum()) == inst.p
    if inst.budget is not None:
        assert inst.option_cost[on].sum() <= inst.budget + 1e-6
    # objective = recomputed cost of the plan; bound below it
    assert sol.objective == pytest.approx(
        plan_cost(inst, sol.open_period, sol.flow, sol.unserved), rel=1e-9, abs=1e-9
    )
    assert sol.bound <= sol.objective + 1e-9


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


def _brute_force(inst: SitingInstance) -> float:
    """Best plan over every admissible set of options (tiny instances only), each scored
    with its exact assignment (LP, or MILP under single sourcing)."""
    A = Assigner(inst)
    best = np.inf
    for mask in itertools.product([False, True], repeat=inst.O):
        s = np.array(mask, bool)
        if np.bincount(inst.option_group[s], minlength=max(inst.G, 1)).max(initial=0) > 1:
            continue
        if inst.p is not None and s.sum() != inst.p:
            continue
        if inst.budget is not None and inst.option_cost[s].sum() > inst.budget + 1e-9:
            continue
        plan = score(inst, np.where(s, 0, -1), A)
        if inst.must_serve and plan.unserved.sum() > 1e-9:
            continue
        best = min(best, plan.cost)
    return float(best)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(capacitated=False))
def test_uncapacitated_strategies_agree_with_brute_force(inst):
    ref = _brute_force(inst)
    if not np.isfinite(ref):  # infeasible in a way the pre-solve checks cannot see
        for strategy in BOTH:
            with pytest.raises(SolverError, match="infeasible"):
                _solve(inst, strategy)
        return
    for strategy in BOTH:
        sol = _solve(inst, strategy)
        _assert_plan_valid(inst, sol)
        assert sol.objective == pytest.approx(ref, rel=1e-9, abs=1e-9)
        assert sol.proven_optimal
    again = _solve(inst)
    assert np.array_equal(again.open_period, _solve(inst).open_period)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(capacitated=True))
def test_capacitated_plans_optimal_valid_and_deterministic(inst):
    ref = _brute_force(inst)
    sol = _solve(inst)
    _assert_plan_valid(inst, sol)
    assert sol.bound <= ref + 1e-6 * max(1.0, abs(ref))
    assert sol.objective == pytest.approx(ref, rel=1e-6, abs=1e-6)
    again = _solve(inst)
    assert again.objective == sol.objective
    assert np.array_equal(again.open_period, sol.open_period)
    assert np.array_equal(again.flow, sol.flow)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(capacitated=True))
def test_lagrangian_after_the_lp_gives_valid_plans_and_bounds(inst):
    # no exact MILP, the Lagrangian from the LP's duals always:
    # the plan is valid, the bound proven, and a step log says which steps ran
    ref = _brute_force(inst)
    limits = SolveLimits(gap=1e-9, mip_max_columns=0, second_start_gap=0.0)
    sol = solve(inst, limits=limits)
    _assert_plan_valid(inst, sol)
    ran = sol.steps["step"].tolist()
    assert "exact" not in ran
    assert sol.bound <= ref + 1e-6 * max(1.0, abs(ref))
    assert sol.objective >= ref - 1e-6 * max(1.0, abs(ref))
    if "round" in ran and not sol.proven_optimal:
        assert "lagrangian" in ran
