"""Tests of the Lagrangian reduction of p-median instances (planner.siting.reduce)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner.siting.radius as radius
from planner.siting import SitingInstance, SolveLimits, solve
from planner.siting.columns import ColumnInstance
from planner.siting.interchange import greedy_interchange
from planner.siting.reduce import can_reduce, reduce_pmedian

EXACT = SolveLimits(gap=1e-9)

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "siting"
_spec = importlib.util.spec_from_file_location("siting_bench_data_reduce", BENCH / "data.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up here
_spec.loader.exec_module(bench)
needs_data = pytest.mark.skipif(not bench.DATA.exists(), reason="benchmark data not present")


def test_hand_solved_line():
    """Clients at 0, 1, 2 (weight 1) and 10, 11 (weight 1); p = 2.

    The optimum opens 1 and 10 (or 11): cost 1 + 0 + 1 + 0 + 1 = 3. Any plan using the
    middle site 5 costs at least 4 + … > 3, so the reduction must drop it; the sites of
    the known plan stay.
    """
    x = np.array([0.0, 1.0, 2.0, 5.0, 10.0, 11.0])
    cost = np.abs(x[:, None] - x[None, :])
    w = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0])  # the middle point is a site only
    inst = ColumnInstance.from_cost_matrix(cost, np.ones(6), p=2, weight=w)
    assert can_reduce(inst)
    plan = np.zeros(6, bool)
    plan[[1, 4]] = True
    red = reduce_pmedian(inst, 3.0, plan)
    assert {1, 4} <= set(red.keep.tolist())
    assert 3 not in red.keep  # site 5 cannot be in a plan of cost ≤ 3
    assert red.bound <= 3.0 + 1e-9
    assert red.bound == pytest.approx(3.0, abs=1e-6)  # the relaxation is tight here


def _random_pmedian(seed: int, n: int = 30, p: int = 3, cls=SitingInstance):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 10, (n, 2))
    cost = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    return cls.from_cost_matrix(cost, rng.integers(1, 5, n).astype(float), p=p)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), p=st.integers(1, 6))
def test_reduction_keeps_the_optimum(seed, p):
    """Solving the reduced instance gives the optimum of the whole one, with a valid bound."""
    full = solve(_random_pmedian(seed, p=p), limits=EXACT)  # no reduction below 20,000 pairs
    inst = _random_pmedian(seed, p=p, cls=ColumnInstance)
    h = greedy_interchange(inst)
    red = reduce_pmedian(inst, h.objective, h.open)
    assert red.bound <= full.objective + 1e-9 * max(1.0, full.objective)
    # the plan it tests against is the heuristic's or a cheaper one, never below the optimum
    assert full.objective - 1e-9 * full.objective <= red.upper <= h.objective
    sub = SitingInstance.from_columns(inst.cost[:, red.keep], inst.demand, p=inst.p)
    assert solve(sub, limits=EXACT).objective == pytest.approx(full.objective, rel=1e-9)


def test_solve_reduces_and_maps_back(monkeypatch):
    inst = _random_pmedian(4, n=40, p=4)
    ref = solve(inst, limits=EXACT)
    monkeypatch.setattr(radius, "REDUCE_MIN_PAIRS", 0)
    sol = solve(inst, limits=EXACT)
    assert "kept" in sol.steps.loc[sol.steps["step"] == "bound", "work"].iloc[0]
    assert sol.objective == pytest.approx(ref.objective, rel=1e-9)
    assert sol.proven_optimal and sol.bound <= sol.objective + 1e-9
    assert len(sol.open) == 4 and set(sol.assignment["facility"]) <= set(sol.open.tolist())
    # the table is in the whole instance's columns: its costs are the instance's costs
    a = sol.assignment
    unit = np.asarray(inst.cost[a["client"].to_numpy(), a["facility"].to_numpy()]).ravel()
    np.testing.assert_allclose(a["cost"], inst.demand[a["client"], 0] * unit)
    assert a["cost"].sum() == pytest.approx(sol.objective, rel=1e-9)


def test_not_for_other_instances():
    inst = _random_pmedian(1, cls=ColumnInstance)
    assert not can_reduce(
        ColumnInstance(inst.cost, inst.demand, p=3, capacity=np.full(inst.m, 50.0))
    )
    assert not can_reduce(ColumnInstance(inst.cost, inst.demand, p=3, budget=10.0))
    assert not can_reduce(ColumnInstance(inst.cost, inst.demand, fixed_cost=1.0))


@needs_data
@pytest.mark.parametrize(
    ("name", "optimum"),
    [
        ("pmed21", 9138.0),
        # benchmark-like (about 10 s): make test-slow
        pytest.param("pmed16", 8162.0, marks=pytest.mark.slow),
    ],
)
def test_published_optima(name, optimum):
    inst, _ = bench.read_pmed(bench.DATA / "orlib_pmed" / f"{name}.txt")
    sol = solve(inst, limits=EXACT)
    assert sol.proven_optimal
    assert sol.objective == pytest.approx(optimum, rel=1e-9)


def test_interchange_from_a_start_never_worsens_it():
    inst = _random_pmedian(9, n=40, p=4, cls=ColumnInstance)
    start = np.zeros(inst.m, bool)
    start[[0, 1, 2, 3]] = True  # an arbitrary plan of p sites
    dense = inst.cost.toarray()
    start_cost = float((inst.demand * dense[:, start].min(axis=1)).sum())
    h = greedy_interchange(inst, start=start)
    assert h.feasible and int(h.open.sum()) == 4
    assert h.objective <= start_cost + 1e-9
    assert h.objective == pytest.approx(
        float((inst.demand * dense[:, h.open].min(axis=1)).sum()), rel=1e-12
    )
