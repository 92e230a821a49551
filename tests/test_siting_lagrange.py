"""Tests of the Lagrangian method for large capacitated instances (planner.siting.lagrange)."""

from __future__ import annotations

import highspy
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from planner.errors import SolverError
from planner.siting import lagrange
from planner.siting.instance import SitingInstance
from planner.siting.model import build_model, solve
from planner.siting.synthetic import city_instance

KW = dict(radius=2.0, extent=10.0, n_centres=3)


def _two_sites() -> SitingInstance:
    """Hand-solved toy: two clients of 10 pupils, two sites with a small and a large size.

    Columns: A small (10 seats, fixed 10), A large (20 seats, 15), B small, B large.
    Client 1 is next to A (cost 0 per pupil; 1 to B), client 2 next to B. Unserved
    pupils cost 5 each. Plans: A large for both = 15 + 10 · 1 = 25; A small + B small
    = 20 with no travel; nobody served = 100. The optimum is 20.
    """
    cost = np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    return SitingInstance.from_cost_matrix(
        cost,
        [10.0, 10.0],
        fixed_cost=[10.0, 15.0, 10.0, 15.0],
        capacity=[10.0, 20.0, 10.0, 20.0],
        site=[0, 0, 1, 1],
        allow_unserved=True,
        unserved_penalty=5.0,
    )


def test_hand_solved_two_sites():
    sol = lagrange.solve_lagrangian(_two_sites(), time_limit=30, mip_rel_gap=1e-4, workers=1)
    assert sol.formulation == "lagrangian"
    assert sol.objective == pytest.approx(20.0)
    np.testing.assert_array_equal(sol.open, [0, 2])  # both small schools
    assert sol.bound <= 20.0 + 1e-9
    assert sol.bound >= 20.0 * (1 - 1e-4) - 1e-9  # the relaxation is tight here
    assert sol.unserved.sum() == pytest.approx(0.0)


def _brute_bound(P: lagrange._Prob, lam: np.ndarray) -> float:
    """L(λ) with every site's knapsack solved as an LP by scipy (reference)."""
    total = float(lam.sum())
    if P.unserved is not None:
        total += float(np.minimum(0.0, P.unserved - lam).sum())
    for g in range(P.G):
        pairs = np.flatnonzero(P.group == g)
        a = P.a0[pairs] - lam[P.client[pairs]]
        best = np.inf
        for j in np.flatnonzero(P.opt_group == g):
            if len(pairs):
                res = linprog(
                    a,
                    A_ub=P.dem[pairs][None, :],
                    b_ub=[P.opt_cap[j]],
                    bounds=[(0, 1)] * len(pairs),
                    method="highs",
                )
                val = res.fun
            else:
                val = 0.0
            best = min(best, P.opt_fixed[j] + val)
        total += best if P.forced[g] else min(0.0, best)
    return total


def _random_instance(seed: int, n: int = 25, sites: int = 6, existing: bool = False):
    rng = np.random.default_rng(seed)
    K = 2
    reach = rng.random((n, sites)) < 0.5
    reach[np.arange(n), rng.integers(0, sites, n)] = True
    dense = np.where(reach, rng.uniform(0.0, 2.0, (n, sites)), np.nan)
    cost = np.repeat(dense, K, axis=1)
    caps = np.tile([20.0, 45.0], sites)
    fixed = np.tile([30.0, 50.0], sites) * np.repeat(rng.uniform(0.8, 1.2, sites), K)
    ex = np.zeros(sites * K, bool)
    if existing:
        ex[0] = True  # site 0 holds an existing small school (its large option is off)
    return SitingInstance.from_cost_matrix(
        cost,
        rng.integers(1, 12, n).astype(float),
        fixed_cost=fixed,
        capacity=caps,
        site=np.repeat(np.arange(sites), K),
        existing=ex,
        allow_unserved=True,
        unserved_penalty=4.0,
    )


@pytest.mark.parametrize("existing", [False, True])
def test_vectorised_knapsack_matches_lp_reference(existing):
    inst = _random_instance(3, existing=existing)
    P = lagrange._problem(inst)
    rng = np.random.default_rng(0)
    order = None
    for scale in (0.0, 5.0, 20.0, 60.0):
        lam = rng.uniform(0.0, scale, inst.n)
        L, s, choice, _, order = lagrange._evaluate(P, lam, order)
        assert L == pytest.approx(_brute_bound(P, lam), rel=1e-9, abs=1e-7)
        assert s.shape == (inst.n,) and np.all(s <= 1.0 + 1e-12)
        assert np.all(choice[P.forced] >= 0)  # an existing school is always open


def _brackets(bound: float, opt: float, plan: float) -> bool:
    """bound ≤ opt ≤ plan up to rounding (1e-9 relative)."""
    tol = 1e-9 * max(1.0, abs(opt))
    return bound <= opt + tol and opt <= plan + tol


def _milp_optimum(inst: SitingInstance) -> float:
    sol = solve(inst, "assignment", time_limit=60, mip_rel_gap=1e-9)
    assert sol.proven_optimal
    return sol.objective


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), scale=st.floats(0.0, 80.0))
def test_any_multipliers_bound_the_optimum(seed, scale):
    """Weak duality: L(λ) ≤ optimum for every λ; a wrong knapsack would break it."""
    inst = _random_instance(seed, n=15, sites=4)
    P = lagrange._problem(inst)
    lam = np.random.default_rng(seed).uniform(0.0, scale, inst.n)
    L = lagrange._evaluate(P, lam)[0]
    assert L <= _milp_optimum(inst) + 1e-6


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_plan_feasible_and_bracketing_the_optimum(seed):
    inst = _random_instance(seed, n=20, sites=5)
    sol = lagrange.solve_lagrangian(inst, time_limit=20, mip_rel_gap=1e-6, workers=1)
    opt = _milp_optimum(inst)
    assert _brackets(sol.bound, opt, sol.objective)
    a = sol.assignment
    # only stored pairs; assigned ≤ capacity; one option per site; shares add up
    coo = inst.cost.tocoo()
    used = set(zip(a["client"], a["facility"], strict=True))
    assert used <= set(zip(coo.row, coo.col, strict=True))
    load = np.bincount(a["facility"], weights=a["demand"], minlength=inst.m)
    assert np.all(load <= inst.capacity + 1e-6)
    assert set(a["facility"]) <= set(sol.open.tolist())
    assert np.bincount(inst.site[sol.open], minlength=inst.n_sites).max() <= 1
    served = np.bincount(a["client"], weights=a["share"], minlength=inst.n)
    np.testing.assert_allclose(served + sol.unserved_share, 1.0, atol=1e-6)


def test_bound_at_least_the_strong_lp_bound():
    """The per-site knapsacks are solved with integer size choice: L* ≥ LP bound."""
    inst = city_instance(400, 40, rng=np.random.default_rng(5), **KW)
    built = build_model(inst, "assignment", warm_start=False)
    h = built.highs
    h.setOptionValue("solve_relaxation", True)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    lp = h.getInfo().objective_function_value
    sol = lagrange.solve_lagrangian(inst, time_limit=30, mip_rel_gap=1e-3)
    assert sol.lagrangian.bound >= lp * (1 - 2e-3)
    opt = _milp_optimum(inst)
    assert _brackets(sol.bound, opt, sol.objective)


def test_city_instance_within_gap_and_reproducible():
    inst = city_instance(500, 50, rng=np.random.default_rng(2), **KW)
    # limits far above what this size needs, so that no step is cut by the clock
    kw = dict(time_limit=300, mip_rel_gap=0.01, window_seconds=60)
    a = lagrange.solve_lagrangian(inst, **kw)
    b = lagrange.solve_lagrangian(inst, **kw)
    assert a.gap <= 0.01 and a.status == "Gap reached"
    assert a.objective == b.objective and a.bound == b.bound
    np.testing.assert_array_equal(a.open, b.open)
    # the proven gap is honest: the MILP's optimum lies between bound and plan
    opt = _milp_optimum(inst)
    assert _brackets(a.bound, opt, a.objective)


def test_auto_routes_large_capacitated_instances(monkeypatch):
    import planner.siting.model as model

    inst = city_instance(250, 25, rng=np.random.default_rng(4), **KW)
    monkeypatch.setattr(model, "LAGRANGIAN_MIN_PAIRS", 10)
    assert solve(inst, time_limit=10, mip_rel_gap=0.02).formulation == "lagrangian"
    monkeypatch.setattr(model, "LAGRANGIAN_MIN_PAIRS", 10**9)
    assert solve(inst, time_limit=10, mip_rel_gap=0.02).formulation == "assignment"


def test_refuses_what_it_cannot_solve():
    base = _random_instance(1)
    kw = dict(
        fixed_cost=base.fixed_cost,
        capacity=base.capacity,
        site=base.site,
        allow_unserved=True,
    )
    for extra, words in (
        ({"p": 2}, "fixed number"),
        ({"budget": 100.0}, "budget"),
        ({"single_source": True}, "single sourcing"),
    ):
        inst = SitingInstance(base.cost, base.demand, **kw, **extra)
        assert words in lagrange.applicable(inst)
        with pytest.raises(SolverError, match="Lagrangian method cannot"):
            solve(inst, "lagrangian")
    # options of one site with different reach cannot share one knapsack
    cost = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    cost.eliminate_zeros()
    inst = SitingInstance(cost, [1.0, 1.0], capacity=[5.0, 5.0], site=[0, 0], allow_unserved=True)
    assert "share one cost column" in lagrange.applicable(inst)
