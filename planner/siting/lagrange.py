"""Lagrangian relaxation for large capacitated siting instances (拉格朗日松弛法).

For a capacitated instance with split demand (CFLP with size options: each site offers
a few school sizes, at most one opens), the strong LP relaxation that
:mod:`planner.siting.model` hands to HiGHS has one link row per client–site pair; at
city scale (20,000 blocks × 2,000 sites, about a million pairs) HiGHS cannot finish its
root LP within a minute. This module bounds and solves such instances without that LP:

**Bound.** Relax the assignment rows ``Σ_g x_ig + u_i = 1`` with multipliers ``λ_i``
(one per client, in objective units). The relaxed problem splits by site: for site
*g* and size option *j* (capacity ``Q_j``, fixed cost ``f_j``) it is a continuous
knapsack ``f_j + min Σ_i (w_i c_ig − λ_i) x_ig`` subject to ``Σ_i d_i x_ig ≤ Q_j``,
``0 ≤ x ≤ 1`` — filled greedily in order of ``(w_i c_ig − λ_i) / d_i`` — and a site
opens its best option when that value is negative. Per client the unserved term is
``min(0, U_i − λ_i)``. ``L(λ) = Σ_i λ_i + Σ_i min(0, U_i − λ_i) + Σ_g min(0, v_g)``
is a lower bound on the optimum for every ``λ`` (weak duality), at least as strong as
the LP bound of the strong formulation (the subproblem of each site is solved as an
integer problem). The multipliers are improved by subgradient steps with Polyak's
step size and the Camerini–Fratta–Maffioli deflection; the whole knapsack step is one
sort and a few cumulative sums over the pairs with a negative reduced cost (numpy),
never a loop over sites or clients. (Method: Beasley 1988, "An algorithm for solving
large capacitated warehouse location problems", EJOR 33; Cornuéjols, Sridharan &
Thizy 1991, EJOR 50, on the strength of this relaxation.)

**First plan.** The sites that the relaxed problem opened in at least half of the
later steps get their largest option (and, as a second start, the option opened most
often); the transportation LP over them (clients to open sites, capacities, unserved
penalty) is solved by HiGHS in one object whose bounds are changed between solves;
closed sites that would seat unserved pupils at a profit are opened; each open site
takes its cheapest option that holds its load and sites left with no pupils close.

**Polish.** Windows of neighbouring candidate sites (about ``window_pairs``
client–site pairs) are re-planned one after another by the strong MILP of
:mod:`planner.siting.model`, started from the current plan; a window's plan is kept
when it costs less. Windows that share no client run two at a time in threads.

**Proof.** The reported gap is ``(plan − best L(λ)) / plan``: the plan's true cost
(recomputed from the instance data) against the best Lagrangian bound — a proven gap,
as for the MILP path.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import SolverError
from planner.siting.instance import SitingInstance

__all__ = ["LagrangianResult", "applicable", "solve_lagrangian"]

#: relative gap at which a window MILP stops (an improvement is all it needs to find)
_WINDOW_GAP = 1e-3


@dataclass
class _Prob:
    """Arrays of an instance for the Lagrangian method (pairs sorted by group)."""

    n: int
    G: int
    client: np.ndarray  # (E,) client of every pair
    group: np.ndarray  # (E,) group (site) of every pair, non-decreasing
    a0: np.ndarray  # (E,) objective coefficient of the share x (w_i · c_ig)
    dem: np.ndarray  # (E,) capacity used by the whole client (d_i)
    rep: np.ndarray  # (G,) representative column of every group
    opt_col: np.ndarray  # (K,) option columns that may open, sorted by group
    opt_group: np.ndarray  # (K,)
    opt_cap: np.ndarray  # (K,)
    opt_fixed: np.ndarray  # (K,)
    forced: np.ndarray  # (G,) group holds an existing facility (always open)
    unserved: np.ndarray | None  # (n,) cost of leaving client i unserved, or None


@dataclass
class LagrangianResult:
    """Best bound and plan of :func:`solve_lagrangian`.

    Attributes
    ----------
    bound : float
        Best Lagrangian lower bound found.
    multipliers : ndarray of shape (n,)
        The multipliers ``λ`` that gave it (objective units per client).
    iterations : int
        Subgradient steps taken.
    sweeps : int
        Polishing sweeps over the candidate groups.
    windows : int
        Window MILPs solved.
    improved : int
        Window MILPs that lowered the plan's cost.
    history : list of (float, float, float)
        ``(seconds, bound, plan cost)`` after the first plan and every sweep.
    """

    bound: float
    multipliers: np.ndarray
    iterations: int
    sweeps: int
    windows: int
    improved: int
    history: list


def applicable(inst: SitingInstance) -> str | None:
    """Why the Lagrangian method cannot solve ``inst`` (None when it can).

    It needs split demand, no ``p`` and no budget, and the size options of every site
    sharing one cost column (one group per site).
    """
    from planner.siting.model import _site_groups

    if inst.single_source:
        return "single sourcing (each client to one school) is not supported"
    if inst.p is not None:
        return "a fixed number of facilities (p) is not supported"
    if inst.budget is not None:
        return "a budget is not supported"
    group, _ = _site_groups(inst)
    # every site must be exactly one group (its options share one cost column)
    pairs = np.unique(np.c_[inst.site, group], axis=0)
    if len(pairs) != inst.n_sites:
        return "the size options of a site must share one cost column (same reach and costs)"
    return None


def _problem(inst: SitingInstance) -> _Prob:
    from planner.siting.model import _site_groups

    n, m = inst.n, inst.m
    group, rep = _site_groups(inst)
    G = len(rep)
    csr = inst.cost
    pr = np.repeat(np.arange(n), np.diff(csr.indptr))
    pc = csr.indices.astype(np.int64)
    is_rep = np.zeros(m, bool)
    is_rep[rep] = True
    sel = is_rep[pc]
    pr, pc, pv = pr[sel], pc[sel], csr.data[sel]
    pg = group[pc]
    o = np.argsort(pg, kind="stable")
    pr, pg, pv = pr[o], pg[o], pv[o]
    forced = np.bincount(group, weights=inst.existing, minlength=G) > 0
    # options: every column, except the other options of a group with an existing one
    allowed = inst.existing | ~forced[group]
    cols = np.flatnonzero(allowed)
    cols = cols[np.argsort(group[cols], kind="stable")]
    return _Prob(
        n=n,
        G=G,
        client=pr,
        group=pg,
        a0=inst.obj_weight[pr] * pv,
        dem=inst.demand[pr],
        rep=rep,
        opt_col=cols,
        opt_group=group[cols],
        opt_cap=inst.capacity[cols].astype(float),
        opt_fixed=inst.open_cost[cols].astype(float),
        forced=forced,
        unserved=inst.unserved_cost.astype(float) if inst.allow_unserved else None,
    )


def _subproblem(P: _Prob, groups: np.ndarray) -> _Prob:
    """``P`` restricted to the given groups (renumbered 0…len(groups)−1, same order)."""
    groups = np.unique(np.asarray(groups, np.int64))
    new = np.full(P.G, -1, np.int64)
    new[groups] = np.arange(len(groups))
    keep = new[P.group] >= 0
    ko = new[P.opt_group] >= 0
    return _Prob(
        n=P.n,
        G=len(groups),
        client=P.client[keep],
        group=new[P.group[keep]],
        a0=P.a0[keep],
        dem=P.dem[keep],
        rep=P.rep[groups],
        opt_col=P.opt_col[ko],
        opt_group=new[P.opt_group[ko]],
        opt_cap=P.opt_cap[ko],
        opt_fixed=P.opt_fixed[ko],
        forced=P.forced[groups],
        unserved=P.unserved,
    )


def _evaluate(
    P: _Prob, lam: np.ndarray, order: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``L(λ)``, its subgradient, the chosen option per group (−1: closed), option values.

    Parameters
    ----------
    P : _Prob
        The instance's arrays.
    lam : ndarray (n,)
        Multipliers.
    order : ndarray, optional
        The pairs' order (by group, then ratio) from the previous call. Between two
        subgradient steps the ratios move little, so sorting from it is close to linear
        (timsort). The sort key is one float per pair; ``L`` is lowered by a margin that
        covers any misordering below the key's resolution (about 1e-11 relative).

    Returns
    -------
    L : float
    s : ndarray (n,)
        Subgradient ``1 − Σ_g x_ig − u_i``.
    choice : int ndarray (G,)
        Index into the options of the option each group opens, −1 when closed.
    value : ndarray (G,)
        Relaxed value of the best option of each group (fixed cost + knapsack).
    order : ndarray
        The pairs' order, for the next call.
    """
    n, G = P.n, P.G
    a = P.a0 - lam[P.client]
    neg = a < 0
    zero = P.dem == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / np.where(zero, 1.0, P.dem) if zero.any() else a / P.dem
    # one float key: group, then ratio (negative pairs only; the others sort last in
    # their group and count for nothing). Sorting from the previous order is close to
    # linear (timsort on nearly sorted data).
    lo = float(ratio[neg & ~zero].min()) if np.any(neg & ~zero) else 0.0
    lo = min(lo, 0.0) - 0.5
    span = 1.0 - lo
    rk = np.clip(ratio, lo + 0.25, 0.0)
    if zero.any():
        rk = np.where(zero & neg, lo, rk)  # zero-demand pairs with a gain come first
    key = P.group * span + (rk - lo)
    if order is None:
        o = np.argsort(key, kind="stable")
    else:
        o = order[np.argsort(key[order], kind="stable")]
    by_ratio = o
    # two ratios closer than the key's resolution may come in either order: the value
    # of a site's knapsack is then off by at most that resolution × its capacity
    cap_fin = P.opt_cap[np.isfinite(P.opt_cap)]
    margin = (
        2.0 * G * float(cap_fin.max() if len(cap_fin) else 0.0) * float(np.spacing(G * span + span))
    )
    # pairs with a reduced cost ≥ 0 are never taken: they count for nothing
    idx, negs, gn = o, neg[o], P.group[o]
    off = ~negs
    an = a[o]
    an[off] = 0.0
    dn = P.dem[o]
    dn[off] = 0.0
    Dc = np.r_[0.0, np.cumsum(dn)]  # Dc[k]: demand of the first k items
    Vc = np.r_[0.0, np.cumsum(an)]
    cnt = np.bincount(gn, minlength=G)
    end = np.cumsum(cnt)
    start = end - cnt
    og = P.opt_group
    s0, e0 = start[og], end[og]
    target = Dc[s0] + P.opt_cap
    # k: items of the group that fit entirely (Dc[k] ≤ target), clipped to the group
    k = np.clip(np.searchsorted(Dc, target, side="right") - 1, s0, e0)
    val = Vc[k] - Vc[s0]
    part = k < e0
    kk = np.where(part, k, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(
            part, (target - Dc[k]) / np.where(part, dn[kk] if len(dn) else 1.0, 1.0), 0.0
        )
    frac = np.clip(frac, 0.0, 1.0)
    val = val + np.where(part, frac * (an[kk] if len(an) else 0.0), 0.0)
    v = P.opt_fixed + val
    # best option per group: options are sorted by group; order by (group, value)
    oo = np.lexsort((v, og))
    first = np.r_[True, og[oo][1:] != og[oo][:-1]]
    best = oo[first]
    bg = og[best]
    gval = np.zeros(G)
    gval[bg] = v[best]
    choice = np.full(G, -1, np.int64)
    opens = (gval < 0) | P.forced
    choice[bg] = np.where(opens[bg], best, -1)
    L = float(np.sum(lam)) + float(np.sum(gval[opens])) - margin
    if P.unserved is not None:
        L += float(np.sum(np.minimum(0.0, P.unserved - lam)))
    # subgradient: x of the items of open groups
    ch = choice[gn]
    open_item = ch >= 0
    chs = np.where(open_item, ch, 0)
    pos = np.arange(len(idx))
    kx = k[chs]
    x = np.where(open_item & negs, (pos < kx) + (pos == kx) * frac[chs] * part[chs], 0.0)
    served = np.bincount(P.client[idx], weights=x, minlength=n)
    s = 1.0 - served
    if P.unserved is not None:
        s -= (lam > P.unserved).astype(float)
    return L, s, choice, gval, by_ratio


@dataclass
class _Plan:
    """A feasible plan: open option per group, shares per pair, unserved shares, cost."""

    option: np.ndarray  # (G,) index into the options, −1 closed
    pair: np.ndarray  # pair indices with a positive share
    share: np.ndarray
    unserved: np.ndarray  # (n,) unserved share
    cost: float


class _Transport:
    """Transportation LP of the clients to the open groups, kept in one HiGHS object.

    Columns: one share ``x`` per pair (all groups) and one unserved share ``u`` per
    client; rows: ``Σ_g x_ig + u_i = 1`` per client and ``Σ_i d_i x_ig ≤ cap_g`` per
    group. A closed group has capacity 0 and its pairs' upper bounds 0. Opening and
    closing groups only changes bounds, so every re-solve starts from the last basis
    (dual simplex), which makes a local-search move cost milliseconds to a few tens of
    milliseconds instead of a cold solve.
    """

    def __init__(self, P: _Prob, penalty: np.ndarray, threads: int | None) -> None:
        n, G, E = P.n, P.G, len(P.client)
        self.P, self.penalty = P, penalty
        cnt = np.bincount(P.group, minlength=G)
        self.end = np.cumsum(cnt)
        self.start = self.end - cnt
        big, cap = _group_caps(P)
        self.big, self.big_cap = big, cap
        R = np.concatenate([P.client, n + P.group, np.arange(n)])
        C = np.concatenate([np.arange(E), np.arange(E), E + np.arange(n)])
        V = np.concatenate([np.ones(E), P.dem, np.ones(n)])
        a = sp.csc_matrix((V, (R, C)), shape=(n + G, E + n))
        a.sort_indices()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = E + n, n + G
        lp.col_cost_ = np.concatenate([P.a0, penalty])
        lp.col_lower_ = np.zeros(E + n)
        lp.col_upper_ = np.concatenate([np.zeros(E), np.ones(n)])
        lp.row_lower_ = np.concatenate([np.ones(n), np.full(G, -np.inf)])
        lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(G)])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if threads:
            h.setOptionValue("threads", int(threads))
        if h.passModel(lp) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS refused the transportation LP; please report this")
        self.h = h
        self.n, self.E = n, E
        self.cap = np.zeros(G)  # current capacity of every group (0: closed)

    def set_caps(self, groups: np.ndarray, caps: np.ndarray) -> None:
        """Give ``groups`` the capacities ``caps`` (0 closes a group)."""
        groups = np.asarray(groups, np.int64)
        if not len(groups):
            return
        caps = np.asarray(caps, float)
        self.cap[groups] = caps
        rows = (self.n + groups).astype(np.int32)
        self.h.changeRowsBounds(len(rows), rows, np.full(len(rows), -np.inf), caps)
        # pair bounds: 1 for open groups, 0 for closed ones (zero-demand clients too)
        lens = self.end[groups] - self.start[groups]
        idx = np.repeat(self.start[groups], lens) + (
            np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
        )
        up = np.repeat((caps > 0).astype(float), lens)
        self.h.changeColsBounds(len(idx), idx.astype(np.int32), np.zeros(len(idx)), up)

    def solve(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Shares of all pairs, unserved shares and the LP value (assignment + penalties)."""
        h = self.h
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverError(
                "HiGHS did not solve the transportation LP of a Lagrangian plan "
                f"({h.modelStatusToString(h.getModelStatus())}); please report this"
            )
        xv = np.asarray(h.getSolution().col_value)
        x = np.clip(xv[: self.E], 0.0, 1.0)
        u = np.clip(xv[self.E :], 0.0, 1.0)
        return x, u, float(h.getInfo().objective_function_value)

    def fit_options(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest option holding each group's load (−1: no load and not forced)."""
        P = self.P
        load = np.bincount(P.group, weights=P.dem * x, minlength=P.G)
        used = np.bincount(P.group, weights=(x > 1e-9).astype(float), minlength=P.G) > 0
        keep = (used | P.forced) & (self.cap > 0)
        ok = (P.opt_cap >= load[P.opt_group] * (1 - 1e-9) - 1e-9) & keep[P.opt_group]
        cand = np.flatnonzero(ok)
        o = cand[np.lexsort((P.opt_fixed[cand], P.opt_group[cand]))]
        first = np.r_[True, P.opt_group[o][1:] != P.opt_group[o][:-1]] if len(o) else o > 0
        option = np.full(P.G, -1, np.int64)
        option[P.opt_group[o[first]]] = o[first]
        return option, load

    def evaluate(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Solve; cost with every open group at its cheapest fitting option."""
        x, u, value = self.solve()
        option, _ = self.fit_options(x)
        return value + float(self.P.opt_fixed[option[option >= 0]].sum()), x, u, option

    def plan(self, option: np.ndarray) -> _Plan:
        """Fix the capacities to ``option`` (closing the rest), re-solve, return the plan.

        The flows of the previous solve stay feasible when ``option`` fits its loads, so
        the cost never rises.
        """
        P = self.P
        caps = np.where(option >= 0, P.opt_cap[np.maximum(option, 0)], 0.0)
        self.set_caps(np.arange(P.G), caps)
        x, u, value = self.solve()
        option2, _ = self.fit_options(x)
        pos = np.flatnonzero(x > 1e-9)
        cost = value + float(P.opt_fixed[option2[option2 >= 0]].sum())
        return _Plan(option2, pos, x[pos], u, cost)


def _group_caps(P: _Prob) -> tuple[np.ndarray, np.ndarray]:
    """Largest option (index) and its capacity per group."""
    o = np.lexsort((-P.opt_cap, P.opt_group))
    first = np.r_[True, P.opt_group[o][1:] != P.opt_group[o][:-1]]
    big = np.full(P.G, -1, np.int64)
    big[P.opt_group[o][first]] = o[first]
    return big, np.where(big >= 0, P.opt_cap[np.maximum(big, 0)], 0.0)


def _add_groups(T: _Transport, x: np.ndarray, u: np.ndarray, max_add: int) -> np.ndarray:
    """Closed groups worth opening for the demand left unserved (greedy, no overlap).

    A closed group's worth is the penalty it would save on the unserved demand within
    its reach (nearest clients first, up to its largest capacity), less its travel and
    the fixed cost of the option that holds it.
    """
    P, pen = T.P, T.penalty
    ud = u[P.client] * P.dem  # unserved pupils of each pair's client
    unit = np.where(P.dem > 0, pen[P.client] / np.where(P.dem > 0, P.dem, 1.0), 0.0)
    gain_pair = (unit * P.dem - P.a0) * u[P.client]  # penalty saved − travel, per pair
    closed = T.cap <= 0
    pos = (gain_pair > 0) & closed[P.group]
    g_dem = np.bincount(P.group[pos], weights=ud[pos], minlength=P.G)
    g_gain = np.bincount(P.group[pos], weights=gain_pair[pos], minlength=P.G)
    # capped at the largest capacity; fixed cost of the cheapest option holding it
    served = np.minimum(g_dem, T.big_cap)
    scale = np.where(g_dem > 0, served / np.where(g_dem > 0, g_dem, 1.0), 0.0)
    fit = (P.opt_cap >= served[P.opt_group] * (1 - 1e-9)) & (served[P.opt_group] > 0)
    fcost = np.full(P.G, np.inf)
    np.minimum.at(fcost, P.opt_group[fit], P.opt_fixed[fit])
    worth = g_gain * scale - fcost
    order = np.argsort(-worth)
    order = order[worth[order] > 0]
    chosen: list[int] = []
    left = u.copy()
    for g in order:  # greedy over the few groups worth opening; each claims its clients
        if len(chosen) >= max_add:
            break
        sl = slice(T.start[g], T.end[g])
        cl = P.client[sl]
        gp = (unit[sl] * P.dem[sl] - P.a0[sl]) * left[cl]
        gp = np.where(gp > 0, gp, 0.0)
        dem_g = float(np.sum(P.dem[sl] * left[cl] * (gp > 0)))
        if dem_g <= 0:
            continue
        sc = min(1.0, T.big_cap[g] / dem_g)
        f = P.opt_fixed[(P.opt_group == g) & (P.opt_cap >= dem_g * sc * (1 - 1e-9))]
        if not len(f) or gp.sum() * sc <= f.min():
            continue
        chosen.append(int(g))
        left[cl[gp > 0]] *= 1.0 - sc
    return np.asarray(chosen, np.int64)


@dataclass
class _Window:
    """One polishing window: its groups, clients and current plan as a sub-instance."""

    W: np.ndarray  # groups of the window
    inpair: np.ndarray  # pairs of those groups
    K: np.ndarray  # clients re-planned
    r: np.ndarray  # share of each client's demand not served outside the window
    cols: np.ndarray  # columns of the instance in the sub-instance
    sub: SitingInstance
    is_open_col: np.ndarray
    cur_clients: np.ndarray
    cur_cols: np.ndarray
    cur_share: np.ndarray
    cur_un: np.ndarray
    current: float  # cost of the current plan of the window


def _window_polish(
    inst: SitingInstance,
    P: _Prob,
    plan: _Plan,
    groups: np.ndarray,
    deadline: float,
    *,
    window_pairs: int = 1000,
    window_seconds: float = 3.0,
    log: bool = False,
    gap_stop: tuple[float, float] | None = None,
    offset: int = 0,
    workers: int = 1,
) -> tuple[_Plan, int, int]:
    """Re-optimise the plan one neighbourhood at a time with small exact MILPs (LNS).

    A window is a connected set of candidate groups (neighbours share clients) with
    about ``window_pairs`` client–group pairs, grown from a seed by breadth-first
    search, most strongly connected neighbours first. Everything outside the window
    stays as it is; the clients that reach the window keep the shares served outside
    it and the rest of their demand (served inside or unserved) is re-planned by the
    strong MILP of :mod:`planner.siting.model` (HiGHS) on the window's size options,
    started from the current plan. A window's new plan is kept only when it costs less.
    Windows sweep the candidate groups (open ones first as seeds, the list rotated by
    ``offset`` so that later sweeps cut other windows) until the deadline, or until
    the plan is within ``gap_stop = (bound, gap)`` of the bound. With ``workers`` > 1,
    windows that share no client and no group are solved at the same time in threads
    (HiGHS releases the GIL while it solves), each MILP on one thread.

    Returns the plan, the windows solved and the windows improved.
    """
    from planner.siting.model import (
        _set_start,
        _table,
        build_model,
        extract,
        plan_cost,
        solve_model,
    )

    n = P.n
    E = len(P.client)
    share = np.zeros(E)
    share[plan.pair] = plan.share
    option = plan.option.copy()
    unserved = plan.unserved.copy()
    cand = np.zeros(P.G, bool)
    cand[groups] = True
    cand |= option >= 0
    # group adjacency through shared clients, candidate groups only
    on = cand[P.group]
    B = sp.csr_matrix((np.ones(int(on.sum())), (P.client[on], P.group[on])), shape=(n, P.G))
    A = (B.T @ B).tocsr()
    # columns of every group (site ↔ group), option of every column
    col_group = np.full(inst.m, -1, np.int64)
    col_group[P.opt_col] = P.opt_group
    opt_of_col = np.full(inst.m, -1, np.int64)
    opt_of_col[P.opt_col] = np.arange(len(P.opt_col))
    # pair index of a (client, group): sorted keys
    key_all = P.group.astype(np.int64) * n + P.client
    order = np.argsort(key_all, kind="stable")
    solved = improved = 0
    covered = np.zeros(P.G, bool)
    g_pairs = np.bincount(P.group, minlength=P.G)
    seeds = np.flatnonzero(cand)
    seeds = seeds[np.argsort(option[seeds] < 0, kind="stable")]  # open groups first
    seeds = np.roll(seeds, -offset % max(len(seeds), 1))
    running = plan.cost
    busy_client = np.zeros(n, bool)
    busy_group = np.zeros(P.G, bool)

    def prepare(seed: int) -> _Window | None:
        """The window grown from ``seed`` and its current plan, as a sub-instance."""
        # breadth-first growth over candidate neighbours
        W = [int(seed)]
        frontier = [int(seed)]
        inW = np.zeros(P.G, bool)
        inW[seed] = True
        size = int(g_pairs[seed])
        while frontier and size < window_pairs:
            ix = np.concatenate([np.arange(A.indptr[g], A.indptr[g + 1]) for g in frontier])
            nb, wsum = A.indices[ix], A.data[ix]
            sel = cand[nb] & ~inW[nb]
            nb, wsum = nb[sel], wsum[sel]
            if not len(nb):
                break
            # the most strongly connected neighbours (most shared clients) first, up to
            # the window's pair budget
            tot = np.bincount(nb, weights=wsum, minlength=P.G)
            nb = np.unique(nb)
            nb = nb[np.argsort(-tot[nb], kind="stable")]
            take = max(
                1, int(np.searchsorted(np.cumsum(g_pairs[nb]), window_pairs - size, "right"))
            )
            nb = nb[:take]
            size += int(g_pairs[nb].sum())
            inW[nb] = True
            W.extend(nb.tolist())
            frontier = nb.tolist()
        W = np.asarray(W, np.int64)
        covered[W] = True
        inpair = np.flatnonzero(inW[P.group])
        K = np.unique(P.client[inpair])
        out = np.ones(E, bool)
        out[inpair] = False
        outside = np.bincount(P.client[out], weights=share[out], minlength=n)
        r = np.clip(1.0 - outside[K], 0.0, 1.0)
        K, r = K[r > 1e-9], r[r > 1e-9]
        if not len(K):
            return None
        cols = np.flatnonzero((col_group >= 0) & inW[np.maximum(col_group, 0)])
        sub = SitingInstance(
            inst.cost[K][:, cols],
            inst.demand[K] * r,
            fixed_cost=inst.fixed_cost[cols],
            capacity=inst.capacity[cols],
            existing=inst.existing[cols],
            site=inst.site[cols],
            weight=inst.obj_weight[K] * r,
            allow_unserved=inst.allow_unserved,
            unserved_penalty=inst.penalty,
        )
        # the current plan of the window in the sub-instance's terms
        kpos = np.full(n, -1, np.int64)
        kpos[K] = np.arange(len(K))
        wp = inpair[(share[inpair] > 1e-12) & (kpos[P.client[inpair]] >= 0)]
        colpos = np.full(inst.m, -1, np.int64)
        colpos[cols] = np.arange(len(cols))
        on = option[W] >= 0
        open_sub = colpos[P.opt_col[option[W][on]]]
        is_open_col = np.zeros(len(cols), bool)
        is_open_col[open_sub] = True
        sub_col_of_group = np.full(P.G, -1, np.int64)
        sub_col_of_group[W[on]] = open_sub
        cur_clients = kpos[P.client[wp]]
        cur_cols = sub_col_of_group[P.group[wp]]
        ok = cur_cols >= 0
        cur_clients, cur_cols = cur_clients[ok], cur_cols[ok]
        cur_share = share[wp][ok] / r[cur_clients]
        cur_un = np.clip(unserved[K] / r, 0.0, 1.0)
        table = _table(sub, cur_clients, cur_cols, cur_share)
        current = plan_cost(sub, np.flatnonzero(is_open_col), table, cur_un)
        return _Window(
            W,
            inpair,
            K,
            r,
            cols,
            sub,
            is_open_col,
            cur_clients,
            cur_cols,
            cur_share,
            cur_un,
            current,
        )

    def solve_window(win: _Window, seconds: float):
        """Build, start from the current plan, solve and extract one window MILP."""
        try:
            built = build_model(win.sub, "assignment", warm_start=False)
        except SolverError:
            return None
        start = np.zeros(built.num_cols)
        start[: win.sub.m] = win.is_open_col
        sm = sp.csr_matrix(
            (win.cur_share, (win.cur_clients, built.column_group[win.cur_cols])),
            shape=(win.sub.n, win.sub.m),
        )
        start[built.cols["assign"]] = np.asarray(sm[built.pair_client, built.pair_group]).ravel()
        if "unserved" in built.cols:
            start[built.cols["unserved"]] = win.cur_un
        _set_start(built.highs, start)
        solve_model(built, time_limit=seconds, mip_rel_gap=_WINDOW_GAP, threads=1)
        try:
            return extract(built)
        except SolverError:
            return None

    def apply(win: _Window, res) -> bool:
        """Write a window's better plan back into the full plan."""
        busy_client[win.K] = False
        busy_group[win.W] = False
        if res is None or not res.objective < win.current - 1e-7 * max(1.0, abs(win.current)):
            return False
        share[win.inpair] = 0.0
        option[win.W] = -1
        new_cols = win.cols[res.open]
        option[col_group[new_cols]] = opt_of_col[new_cols]
        a = res.assignment
        ci = win.K[a["client"].to_numpy()]
        gi = col_group[win.cols[a["facility"].to_numpy()]]
        pos = order[np.searchsorted(key_all[order], gi * n + ci)]
        share[pos] += a["share"].to_numpy() * win.r[a["client"].to_numpy()]
        unserved[win.K] = res.unserved_share * win.r
        return True

    pending: dict = {}  # future → window, in the order started

    def drain(every: bool) -> None:
        """Apply finished windows in the order they were started (reproducible)."""
        nonlocal improved, running
        while pending:
            f = next(iter(pending))
            win = pending.pop(f)
            res = f.result()
            if apply(win, res):
                improved += 1
                running -= win.current - res.objective
            if not every:
                return

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for seed in seeds:
            if time.perf_counter() + 0.5 > deadline:
                break
            if gap_stop is not None and running - gap_stop[0] <= gap_stop[1] * abs(running):
                break
            if covered[seed]:
                continue
            win = prepare(int(seed))
            if win is None:
                continue
            if busy_client[win.K].any() or busy_group[win.W].any():
                # it overlaps a window being solved: wait for those, then re-plan it
                drain(every=True)
                win = prepare(int(seed))
                if win is None:
                    continue
            while len(pending) >= max(1, workers):
                drain(every=False)
            seconds = max(0.2, min(window_seconds, deadline - time.perf_counter()))
            pending[pool.submit(solve_window, win, seconds)] = win
            busy_client[win.K] = True
            busy_group[win.W] = True
            solved += 1
        if pending:
            drain(every=True)
    pos = np.flatnonzero(share > 1e-12)
    cost = (
        float(np.sum(P.a0[pos] * share[pos]))
        + float(np.sum(inst.unserved_cost * unserved))
        + float(P.opt_fixed[option[option >= 0]].sum())
    )
    if log:
        print(f"    windows: {solved} solved, {improved} improved; plan {cost:.6g}", flush=True)
    return _Plan(option, pos, share[pos], unserved, cost), solved, improved


def _initial_multipliers(P: _Prob, penalty: np.ndarray) -> np.ndarray:
    """Each client's cost at its cheapest reachable site run full (seat-cost start)."""
    per_unit = np.where(np.isfinite(P.opt_cap) & (P.opt_cap > 0), P.opt_fixed / P.opt_cap, 0.0)
    g_rate = np.full(P.G, np.inf)
    np.minimum.at(g_rate, P.opt_group, per_unit)
    lam = np.full(P.n, np.inf)
    np.minimum.at(lam, P.client, P.a0 + P.dem * g_rate[P.group])
    return np.where(np.isfinite(lam), np.minimum(lam, penalty), penalty)


def _first_plan(T: _Transport, caps: np.ndarray) -> _Plan:
    """Plan from start capacities: LP, then open groups for unserved demand, then fit."""
    T.set_caps(np.arange(T.P.G), caps)
    cost, x, u, option = T.evaluate()
    for _ in range(5):
        add = _add_groups(T, x, u, max_add=max(10, T.P.G // 20))
        if not len(add):
            break
        T.set_caps(add, T.big_cap[add])
        c2, x2, u2, o2 = T.evaluate()
        if not c2 < cost - 1e-9 * abs(cost):
            T.set_caps(add, np.zeros(len(add)))
            break
        cost, x, u, option = c2, x2, u2, o2
    return T.plan(option)


def _full_plan(P: _Prob, Ps: _Prob, groups: np.ndarray, plan: _Plan) -> _Plan:
    """A plan of the sub-problem on ``groups`` in the terms of the full problem."""
    opt_index = np.full(int(P.opt_col.max()) + 1 if len(P.opt_col) else 0, -1, np.int64)
    opt_index[P.opt_col] = np.arange(len(P.opt_col))
    option = np.full(P.G, -1, np.int64)
    on = plan.option >= 0
    option[groups[on]] = opt_index[Ps.opt_col[plan.option[on]]]
    pair_index = np.flatnonzero(np.isin(P.group, groups))  # same order as Ps's pairs
    return _Plan(option, pair_index[plan.pair], plan.share, plan.unserved, plan.cost)


def solve_lagrangian(
    inst: SitingInstance,
    *,
    time_limit: float | None = 60.0,
    mip_rel_gap: float = 0.01,
    threads: int | None = None,
    log: bool = False,
    bound_share: float = 0.3,
    max_iterations: int = 5_000,
    window_pairs: int = 1000,
    window_seconds: float = 1.0,
    workers: int | None = None,
):
    """Solve a capacitated split-demand instance by Lagrangian relaxation + local search.

    1. **Bound**: subgradient steps on the multipliers (see the module docstring) for
       at most ``bound_share`` of the time limit, or until the step size has shrunk
       away. The groups that the relaxed problem opens are counted over the later steps.
    2. **First plan**: the groups opened in at least half of those steps, at their
       largest options and, as a second start, at the option opened most often; the
       transportation LP; closed groups that would serve the demand left unserved at a
       profit are opened; each group takes its cheapest option that holds its load. The
       cheaper of the two plans goes on.
    3. **Polish** until the gap is reached or the time is up: windows of neighbouring
       candidate groups with about ``window_pairs`` client–group pairs re-planned by
       small exact MILPs (HiGHS), each for at most ``window_seconds``, sweeping the
       city again and again; a sweep that gains less than 0.1 % makes the windows 1.5
       times larger (up to four times); five sweeps in a row without a gain stop it.

    Parameters
    ----------
    inst : SitingInstance
        Split demand, no ``p``, no budget, size options of a site sharing one cost
        column (see :func:`applicable`).
    time_limit : float, optional
        Wall seconds for the whole method (None: 600 s).
    mip_rel_gap : float
        Stop when the plan is proven within this relative gap of the optimum.
    threads : int, optional
        HiGHS threads for the LPs and window MILPs.
    log : bool
        Print progress.
    bound_share : float
        Share of the time limit that the bound may use.
    max_iterations : int
        Upper limit on subgradient steps.
    window_pairs, window_seconds : int, float
        Client–group pairs per polishing window and the time limit of each window MILP.
    workers : int, optional
        Window MILPs solved at the same time (threads); None: 2 when the machine has
        two cores or more, else 1.

    Returns
    -------
    SitingSolution
        With ``formulation = "lagrangian"``; ``bound`` is the best Lagrangian bound and
        ``gap`` the proven relative gap of the returned plan. ``lagrangian`` holds a
        :class:`LagrangianResult` (multipliers, steps, history).

    Raises
    ------
    SolverError
        When the method does not apply, or the pre-solve check finds the instance
        infeasible.
    """
    from planner.siting.model import (
        _raise_if_infeasible,
        _solution,
        _table,
        plan_cost,
        relative_gap,
    )

    why = applicable(inst)
    if why:
        raise SolverError(f"the Lagrangian method cannot solve this instance: {why}")
    _raise_if_infeasible(inst)
    t0 = time.perf_counter()
    limit = 600.0 if time_limit is None else float(time_limit)
    deadline = t0 + limit
    P = _problem(inst)
    penalty = inst.unserved_cost.astype(float)
    lam = _initial_multipliers(P, penalty)
    cap_lam = penalty if inst.allow_unserved else None
    build_s = time.perf_counter() - t0
    history: list[tuple[float, float, float]] = []

    def note(what: str, bound: float, cost: float) -> None:
        history.append((time.perf_counter() - t0, bound, cost))
        if log:
            print(
                f"{time.perf_counter() - t0:7.1f} s  {what:<12} bound {bound:.8g}  plan "
                f"{cost:.8g}  gap {100 * relative_gap(cost, bound):.3f} %",
                flush=True,
            )

    # ---------------------------------------------------------------- 1. bound
    best_L, best_lam = -np.inf, lam.copy()
    theta, stall, patience, target_gap = 1.0, 0, 15, 0.02
    direction = np.zeros(P.n)
    order = None
    freq = np.zeros(P.G)
    ofreq = np.zeros(len(P.opt_col))  # how often each option was the one opened
    n_freq = it = 0
    bound_deadline = t0 + bound_share * limit
    while it < max_iterations:
        L, s, choice, _, order = _evaluate(P, lam, order)
        it += 1
        if L > best_L:
            improved = not np.isfinite(best_L) or L > best_L + 1e-6 * max(1.0, abs(best_L))
            best_L, best_lam = L, lam.copy()
            stall = 0 if improved else stall + 1
        else:
            stall += 1
        if stall >= patience:
            theta, stall = theta / 2.0, 0
        if theta < 0.25:  # past the first halvings: count the groups it opens
            freq += choice >= 0
            ofreq += np.bincount(choice[choice >= 0], minlength=len(P.opt_col))
            n_freq += 1
        if log and it % 50 == 0:
            print(
                f"{time.perf_counter() - t0:7.1f} s  step {it:<6d} bound {best_L:.8g}", flush=True
            )
        norm2 = float(s @ s)
        if norm2 <= 1e-18 or theta < 1e-4 or time.perf_counter() > bound_deadline:
            break
        dd = float(direction @ direction)
        beta = max(0.0, -1.5 * float(s @ direction) / dd) if dd > 0 else 0.0
        direction = s + beta * direction
        step = theta * (best_L * (1 + target_gap) + 1e-9 - L) / float(direction @ direction)
        lam = lam + step * direction
        if cap_lam is not None:
            lam = np.minimum(lam, cap_lam)
    # ---------------------------------------------------------------- 2. first plan
    y = freq / n_freq if n_freq else (choice >= 0).astype(float)
    start = (y >= 0.5) | P.forced
    # candidate groups: the start plus as many again of the most often opened ones
    k = min(P.G, int(1.5 * start.sum()) + 1)
    cand = np.union1d(np.argsort(-y, kind="stable")[:k], np.flatnonzero(start | P.forced))
    Ps = _subproblem(P, cand)
    T = _Transport(Ps, penalty, threads)
    # two starts: every start group at its largest option, or at the option the
    # relaxation opened most often; the cheaper plan goes on
    o = np.lexsort((-ofreq, P.opt_group))
    first = np.r_[True, P.opt_group[o][1:] != P.opt_group[o][:-1]]
    usual_cap = np.zeros(P.G)
    usual_cap[P.opt_group[o[first]]] = P.opt_cap[o[first]]
    best = None
    for caps in (np.where(start[cand], T.big_cap, 0.0), np.where(start, usual_cap, 0.0)[cand]):
        plan = _full_plan(P, Ps, cand, _first_plan(T, caps))
        if best is None or plan.cost < best.cost:
            best = plan
    note("first plan", best_L, best.cost)
    # ---------------------------------------------------------------- 3. polish
    sweeps = windows = better = grow = 0
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    while relative_gap(best.cost, best_L) > mip_rel_gap:
        if time.perf_counter() + 1.0 > deadline:
            break
        before = best.cost
        best, n_win, n_better = _window_polish(
            inst,
            P,
            best,
            cand,
            deadline,
            window_pairs=int(window_pairs * 1.5**grow),
            window_seconds=window_seconds * 1.5**grow,
            log=False,
            gap_stop=(best_L, mip_rel_gap),
            offset=sweeps * 7,
            workers=n_workers,
        )
        sweeps += 1
        windows += n_win
        better += n_better
        note(f"sweep {sweeps}", best_L, best.cost)
        if not best.cost < before - 1e-9 * abs(before):
            grow += 1
            if grow > 4:
                break
        elif best.cost > before - 1e-3 * abs(before):
            grow = min(grow + 1, 4)  # a sweep that gains < 0.1 %: larger windows
    total_s = time.perf_counter() - t0
    # ---------------------------------------------------------------- extract
    option = best.option
    col_of_group = np.where(option >= 0, P.opt_col[np.maximum(option, 0)], -1)
    clients = P.client[best.pair]
    facs = col_of_group[P.group[best.pair]]
    ok = facs >= 0
    table = _table(inst, clients[ok], facs[ok], best.share[ok])
    open_cols = np.sort(col_of_group[col_of_group >= 0])
    un_share = best.unserved.copy()
    un_share[un_share < 1e-9] = 0.0
    objective = plan_cost(inst, open_cols, table, un_share)
    if not inst.allow_unserved and un_share.any():
        raise SolverError(
            "the Lagrangian method found no plan that serves every client within "
            f"{limit:g} s; allow unserved demand or raise the time limit"
        )
    gap = relative_gap(objective, min(best_L, objective))
    if gap <= mip_rel_gap:
        status = "Gap reached"
    elif time.perf_counter() + 1.0 > deadline:  # the polish stops 1 s before the limit
        status = "Time limit reached"
    else:
        status = "Stalled"  # five sweeps in a row found nothing better
    return _solution(
        inst,
        open_cols,
        table,
        un_share,
        objective,
        best_L,
        model_objective=best.cost,
        status=status,
        proven_optimal=bool(gap <= 1e-9),
        solve_seconds=total_s - build_s,
        build_seconds=build_s,
        formulation="lagrangian",
        lagrangian=LagrangianResult(best_L, best_lam, it, sweeps, windows, better, history),
    )
