"""Tests of the synthetic city instances (planner.siting.synthetic)."""

from __future__ import annotations

import numpy as np

from planner.siting import SolveLimits, solve
from planner.siting.synthetic import city_instance, city_layout, main

KW = dict(radius=2.0, extent=10.0, n_centres=3)


def _small(seed: int, **kw):
    return city_instance(300, 40, rng=np.random.default_rng(seed), **KW, **kw)


def test_deterministic_for_a_seed():
    for periods in (1, 3):
        a, b = _small(7, periods=periods), _small(7, periods=periods)
        for name in ("demand", "option_cost", "option_objective", "option_earliest"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
        assert np.array_equal(a.cost.indptr, b.cost.indptr)
        assert np.array_equal(a.cost.data, b.cost.data)
    assert not np.array_equal(_small(7).demand, _small(8).demand)


def test_pairs_exactly_within_radius():
    inst = _small(3)
    city = city_layout(300, 40, rng=np.random.default_rng(3), extent=10.0, n_centres=3)
    dist = np.hypot(*(city.points[:, None, :] - city.sites[None, :, :]).transpose(2, 0, 1))
    K = 3
    # one facility per site (its three sizes share the pairs), one option per size
    assert inst.F == 40 and inst.O == 40 * K and inst.G == 40 and inst.n == 300
    coo = inst.cost.tocoo()
    within = dist <= KW["radius"]
    assert coo.nnz == int(within.sum()) and np.all(within[coo.row, coo.col])
    # unit cost = travel cost per pupil-km (the weight is the demand)
    np.testing.assert_allclose(coo.data, 0.5 * dist[coo.row, coo.col])
    np.testing.assert_array_equal(inst.demand[:, 0], city.demand)
    seats = np.asarray(inst.option_adds.sum(axis=0)).ravel()
    np.testing.assert_array_equal(seats[:K], [600.0, 900.0, 1200.0])
    per_seat = (inst.option_cost / seats).reshape(40, K)
    assert np.all(np.diff(per_seat, axis=1) < 0)  # economies of scale
    assert inst.check() == []


def test_phased_city_grows_and_staggers_sites():
    inst = _small(5, periods=4, growth=0.1, late_sites=0.5)
    assert inst.P == 4 and np.all(np.diff(inst.demand.sum(axis=0)) > 0)
    assert inst.option_earliest.max() > 0 and inst.option_earliest.min() == 0
    # discounted: opening later never costs more
    assert np.all(np.diff(inst.option_objective, axis=1) <= 0)


def test_small_city_solves_within_capacity():
    inst = _small(11, periods=2)
    sol = solve(inst, limits=SolveLimits(gap=1e-6))
    assert sol.gap <= 1e-6 and not sol.stopped_by_clock
    r, f, _ = inst.pairs()
    load = np.zeros((inst.F, inst.P))
    np.add.at(load, f, sol.flow)
    assert np.all(load <= inst.capacity_with(sol.open_period) + 1e-6)
    served = np.zeros((inst.n, inst.P))
    np.add.at(served, r, sol.flow)
    np.testing.assert_allclose(served + sol.unserved, inst.demand, atol=1e-6)
    assert sol.unserved.sum() < 0.5 * inst.demand.sum()  # the plan serves most pupils


def test_script_entry(capsys):
    main(["--points", "200", "--sites", "20", "--seed", "2", "--periods", "2"])
    out = capsys.readouterr().out
    assert "SitingInstance(n=200, F=20" in out and "gap" in out and "projects" in out
