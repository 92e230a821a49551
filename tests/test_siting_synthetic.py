"""Tests of the synthetic city instances (planner.siting.synthetic)."""

from __future__ import annotations

import numpy as np
import pytest

from planner.siting.instance import SitingInstance
from planner.siting.model import build_model, solve
from planner.siting.synthetic import city_instance, city_layout, main

KW = dict(radius=2.0, extent=10.0, n_centres=3)


def _small(seed: int):
    return city_instance(300, 40, rng=np.random.default_rng(seed), **KW)


def test_deterministic_for_a_seed():
    a, b = _small(7), _small(7)
    for name in ("demand", "fixed_cost", "capacity", "site"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(a.cost.indptr, b.cost.indptr)
    assert np.array_equal(a.cost.indices, b.cost.indices)
    assert np.array_equal(a.cost.data, b.cost.data)
    c = _small(8)
    assert not np.array_equal(a.demand, c.demand)


def test_pairs_exactly_within_radius():
    inst = _small(3)
    city = city_layout(300, 40, rng=np.random.default_rng(3), extent=10.0, n_centres=3)
    dist = np.hypot(*(city.points[:, None, :] - city.sites[None, :, :]).transpose(2, 0, 1))
    K = 3
    assert inst.m == 40 * K and inst.n_sites == 40 and inst.n == 300
    dense = np.repeat(dist, K, axis=1)  # column = site · K + option
    coo = inst.cost.tocoo()
    within = dense <= KW["radius"]
    assert coo.nnz == int(within.sum())
    assert np.all(within[coo.row, coo.col])
    np.testing.assert_allclose(coo.data, 0.5 * dense[coo.row, coo.col])
    np.testing.assert_array_equal(inst.demand, city.demand)
    assert np.all(inst.demand >= 1) and np.all(inst.demand == np.round(inst.demand))
    # size options: one site group per site, capacities 600 / 900 / 1200, economies of scale
    np.testing.assert_array_equal(inst.site, np.repeat(np.arange(40), K))
    np.testing.assert_array_equal(inst.capacity[:K], [600.0, 900.0, 1200.0])
    per_seat = (inst.fixed_cost / inst.capacity).reshape(40, K)
    assert np.all(np.diff(per_seat, axis=1) < 0)
    assert inst.check() == []


def test_small_city_solves_within_capacity():
    inst = _small(11)
    sol = solve(inst, time_limit=60.0)
    assert sol.proven_optimal
    a = sol.assignment
    load = np.bincount(a["facility"], weights=a["demand"], minlength=inst.m)
    assert np.all(load <= inst.capacity + 1e-6)
    assert set(a["facility"]) <= set(sol.open.tolist())
    # at most one size option per site; every pupil served or counted unserved
    assert np.bincount(inst.site[sol.open], minlength=inst.n_sites).max() <= 1
    served = np.bincount(a["client"], weights=a["demand"], minlength=inst.n)
    np.testing.assert_allclose(served + sol.unserved, inst.demand, atol=1e-6)
    assert sol.unserved.sum() < 0.5 * inst.demand.sum()  # the plan serves most pupils
    # the same optimum as the column-per-option model: options whose costs differ by a
    # hair are not grouped (one x per client and column instead of per client and site)
    cost = inst.cost.copy()
    cost.data = cost.data * np.where(cost.indices % 3 == 1, 1 + 1e-12, 1.0)
    ungrouped = SitingInstance(
        cost,
        inst.demand,
        fixed_cost=inst.fixed_cost,
        capacity=inst.capacity,
        site=inst.site,
        allow_unserved=True,
        unserved_penalty=inst.penalty,
    )
    b1, b2 = build_model(inst), build_model(ungrouped)
    assert b1.num_cols < b2.num_cols
    ref = solve(ungrouped, time_limit=60.0)
    assert ref.proven_optimal
    assert ref.objective == pytest.approx(sol.objective, rel=1e-7)


def test_script_entry(capsys):
    main(["--points", "200", "--sites", "20", "--seed", "2", "--time-limit", "20"])
    out = capsys.readouterr().out
    assert "n = 200, m = 60 (20 sites)" in out and "gap" in out and "nonzeros" in out
