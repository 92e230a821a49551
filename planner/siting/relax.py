"""The LP relaxation by column generation, and plans rounded from it (线性松弛与取整).

The strong LP relaxation of :mod:`planner.siting.build` (with the ``link`` block) is
tight on school-siting instances (on the demo city within 0.4 % of the best plan known),
but it has a flow column per pair and period. It is solved on a **restricted** set of
pairs — each client's ``k`` nearest facilities and the pairs the current plan uses — and
the rest is priced with the LP's duals: a pair whose reduced cost
``c_e − λ_ip − μ_fp`` is negative enters the next round (a few per client, most negative
first). Every round gives a proven lower bound on the full LP (and so on the optimum)
without solving it (Farley 1990; Lasdon 1970, for bounded variables):

    z_full ≥ z_restricted + Σ_{excluded (e, p)} min(0, rc_ep) · u_ep

where ``u`` is the column's upper bound (the client's demand). When no pair prices out,
the restricted LP *is* the full LP. Duals of closest-assignment rows are left out of the
pricing, which only lowers the bound (it stays valid).

**Rounding.** The LP's opening variables give each group (school or site) a total
opening weight per period; for a few thresholds θ the group's most-used option opens in
the first period its weight reaches θ, and
:func:`~planner.siting.heuristic.lp_fit` then sizes, times or drops each project by what
the exact assignment needs. The cheapest of these plans is offered to the engine.

Work limits: pricing rounds, and HiGHS's simplex iteration limit per LP.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from planner.siting.build import build_milp, reachable_capacity
from planner.siting.instance import SitingInstance

__all__ = ["LpRelaxation", "lp_relaxation", "round_groups", "restrict_pairs"]


@dataclass
class LpRelaxation:
    """Result of :func:`lp_relaxation`."""

    bound: float  # best proven lower bound on the full instance
    value: float  # value of the last restricted LP
    y: np.ndarray  # (O, P) opening variables of the last LP
    rounds: int
    columns: int  # flow columns of the last restricted LP
    exact: bool  # no pair priced out: the last LP is the full LP
    iterations: int  # simplex iterations in all
    limited: bool  # an LP stopped on its iteration limit (no bound from it)
    timed_out: bool = False  # ... on the safety cap
    lam: np.ndarray | None = None  # (n, P) demand duals of the last LP (None: no LP solved)


def restrict_pairs(inst: SitingInstance, keep: np.ndarray) -> SitingInstance:
    """The instance with only the pairs flagged in ``keep`` (row-major pair order)."""
    r, f, c = inst.pairs()
    idx = np.flatnonzero(keep)
    shape = inst.cost.shape
    cost = sp.csr_matrix((c[idx], (r[idx], f[idx])), shape=shape)
    dist = sp.csr_matrix((inst.distance.data[idx], (r[idx], f[idx])), shape=shape)
    return SitingInstance(
        cost,
        inst.demand,
        capacity=inst.capacity,
        option_group=inst.option_group,
        option_adds=inst.option_adds,
        option_cost=inst.option_cost,
        option_objective=inst.option_objective,
        option_earliest=inst.option_earliest,
        p=inst.p,
        budget=inst.budget,
        single_source=inst.single_source,
        unserved_penalty=inst.penalty,
        distance=dist,
        public=inst.public,
        closest=inst.closest,
        cover=inst.cover,
        cover_penalty=inst.cover_penalty,
        periods=inst.periods,
    )


def _nearest(inst: SitingInstance, k: int) -> np.ndarray:
    """(E,) bool: each client's ``k`` nearest facilities (by distance)."""
    r, _, _ = inst.pairs()
    d = inst.distance.data
    order = np.lexsort((d, r))
    first = np.searchsorted(r[order], r[order])
    rank = np.empty(len(r), np.int64)
    rank[order] = np.arange(len(r)) - first
    return rank < k


def lp_relaxation(
    inst: SitingInstance,
    plan_flow: np.ndarray,
    *,
    nearest: int = 10,
    max_rounds: int = 3,
    add_per_client: int = 6,
    iteration_limit: int = 2_000_000,
    all_pairs_below: int = 150_000,
    should_stop=None,
    time_left=None,
) -> LpRelaxation:
    """Solve the strong LP relaxation by pricing pairs in (see the module docstring).

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    plan_flow : ndarray (E, P)
        Flows of the best known plan (its pairs start in the restricted set).
    nearest : int
        Nearest facilities per client in the first restricted set.
    max_rounds : int
        Pricing rounds at most (work limit).
    add_per_client : int
        Pairs per client added in a round (most negative reduced cost first).
    iteration_limit : int
        Simplex iterations per LP (work limit).
    all_pairs_below : int
        Instances with fewer flow columns than this start from every pair (one LP, no
        pricing rounds).
    should_stop : callable, optional
        The wall-clock safety cap (checked between rounds).
    time_left : callable, optional
        Seconds left of the safety cap, passed to HiGHS as its time limit.

    Returns
    -------
    LpRelaxation
    """
    r, f, c = inst.pairs()
    P = inst.P
    can = reachable_capacity(inst)
    valid = (inst.demand[r] > 0) & can[f]  # (E, P) pairs × periods that exist in the model
    if int(valid.sum()) < all_pairs_below:
        keep = np.ones(len(r), bool)
    else:
        keep = _nearest(inst, nearest) | (plan_flow.sum(axis=1) > 0)
    scale_e = inst.demand[r] if inst.single_source else np.ones((len(r), P))
    upper = np.ones((len(r), P)) if inst.single_source else inst.demand[r]
    best = -np.inf
    y = np.zeros((inst.O, P))
    iters = 0
    rounds = 0
    exact = limited = timed_out = False
    value = np.nan
    n_cols = 0
    lam_last = None
    while rounds < max_rounds:
        rounds += 1
        sub = restrict_pairs(inst, keep)
        m = build_milp(sub, strong=True)
        lp = m.highs.getLp()
        lp.integrality_ = []
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("simplex_iteration_limit", int(iteration_limit))
        if time_left is not None:
            left = time_left()
            h.setOptionValue("time_limit", float(max(left, 0.01)) if np.isfinite(left) else np.inf)
        h.passModel(lp)
        h.run()
        iters += int(h.getInfo().simplex_iteration_count)
        n_cols = len(m.flow_pair)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            limited = True
            timed_out = h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
            break
        value = float(h.getInfo().objective_function_value)
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        y = x[m.cols["open"]].reshape(inst.O, P)
        rd = np.asarray(sol.row_dual)
        lam = np.zeros((inst.n, P))
        if "demand" in m.rows:
            lam[m.unserved_client, m.unserved_period] = rd[m.rows["demand"]]
        lam_last = lam
        mu = np.zeros((inst.F, P))
        if "capacity" in m.rows:
            _, ff, _ = sub.pairs()
            used = np.zeros((inst.F, P), bool)
            used[ff[m.flow_pair], m.flow_period] = True
            fk, pk = np.nonzero(used & np.isfinite(inst.capacity))
            mu[fk, pk] = rd[m.rows["capacity"]]
        ex = np.flatnonzero(~keep)
        rc = (c[ex][:, None] - lam[r[ex]] - mu[f[ex]]) * scale_e[ex]
        rc = np.where(valid[ex], rc, 0.0)
        neg = rc < -1e-9 * max(1.0, abs(value))
        bound = value + float(np.sum(np.where(neg, rc * upper[ex], 0.0)))
        best = max(best, bound)
        if not neg.any():
            exact = True
            best = max(best, value)
            break
        if should_stop is not None and should_stop():
            break
        worst = np.where(neg, rc, 0.0).min(axis=1)
        cand = ex[worst < 0]
        w = worst[worst < 0]
        o = np.lexsort((cand, w, r[cand]))
        cs = cand[o]
        first = np.searchsorted(r[cs], r[cs])
        keep[cs[np.arange(len(cs)) - first < add_per_client]] = True
    return LpRelaxation(best, value, y, rounds, n_cols, exact, iters, limited, timed_out, lam_last)


def round_groups(inst: SitingInstance, y: np.ndarray, theta: float) -> np.ndarray:
    """Opening periods rounded from the LP's opening weights (−1: not built).

    Per group, its most-used option opens in the first period where the group's weight
    reaches ``theta``.
    """
    O, P = y.shape
    g = inst.option_group
    tot = y.sum(axis=1)
    # most-used option per group (ties: lowest index)
    o = np.lexsort((np.arange(O), -tot, g))
    first = np.r_[True, g[o][1:] != g[o][:-1]] if O else np.zeros(0, bool)
    top = o[first]
    gy = np.zeros((inst.G, P))
    np.add.at(gy, g, y)
    reach = gy[g[top]] >= theta
    q = np.where(reach.any(axis=1), np.argmax(reach, axis=1), -1)
    q = np.where(q >= 0, np.maximum(q, inst.option_earliest[top]), -1)
    q = np.where(q < P, q, -1)
    out = np.full(O, -1, np.int64)
    out[top] = q
    return out
