"""Greedy + interchange heuristic for uncapacitated siting (贪心与交换启发式).

Used as a warm start for the MILP. The open set is improved by best-improvement
vertex substitution (Teitz–Bart interchange), evaluated for *all* swaps at once with
the classical decomposition of a swap's change of cost (Whitaker 1983; Resende &
Werneck 2004):

    Δ(in a, out b) = f_a − f_b − gain(a) + loss(b) − extra(a, b)

with, for the closest (``d1``) and second-closest (``d2``) open facility of every
client, ``gain(a) = Σ_i (d1_i − g_ia)⁺``, ``loss(b) = Σ_{i: c1_i = b} (d2_i − d1_i)``
and ``extra(a, b) = Σ_{i: c1_i = b} (d2_i − max(g_ia, d1_i))⁺``. Without ``p`` (fixed
charge problems) add and drop moves are considered too. Site groups (one size option
per site), existing facilities (never closed) and the budget are respected.

Unreachable pairs and unserved demand are handled through one always-open dummy
column whose cost is the unserved penalty (or a prohibitive constant when unserved
demand is not allowed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from planner.siting.columns import ColumnInstance

__all__ = ["HeuristicResult", "greedy_interchange"]


@dataclass
class HeuristicResult:
    """An open set found by the heuristic.

    Attributes
    ----------
    open : bool array of shape (m,)
        Open facility columns.
    assigned : int array of shape (n,)
        Column serving each client (its cheapest open one), −1 when unserved.
    objective : float
        Plan cost (assignment + fixed costs + unserved penalties).
    feasible : bool
        False when the heuristic could not serve every client (and unserved demand is
        not allowed) or could not meet ``p`` under the site and budget rules.
    iterations : int
        Improving moves made by the interchange phase.
    seconds : float
        Wall time.
    """

    open: np.ndarray
    assigned: np.ndarray
    objective: float
    feasible: bool
    iterations: int
    seconds: float


def _closest_two(G: np.ndarray, cols: np.ndarray, big: float):
    """Closest and second closest open column per client (over ``cols``)."""
    Gs = G[:, cols]
    r = np.arange(G.shape[0])
    k1 = np.argmin(Gs, axis=1)
    d1 = Gs[r, k1]
    if len(cols) > 1:
        Gs[r, k1] = np.inf
        d2 = Gs.min(axis=1)
    else:
        d2 = np.full(G.shape[0], big)
    return cols[k1], d1, d2


def greedy_interchange(
    instance: ColumnInstance,
    *,
    max_iter: int | None = None,
    dense_limit: float = 5e6,
    start: np.ndarray | None = None,
) -> HeuristicResult | None:
    """Greedy construction then best-improvement interchange, vectorised with numpy.

    Capacities are ignored (use it on uncapacitated instances, or as a seed).

    Parameters
    ----------
    instance : ColumnInstance
        The instance.
    max_iter : int, optional
        Maximum number of improving moves (default ``10 · m + 100``).
    dense_limit : float
        The heuristic works on a dense ``n × (m + 1)`` matrix; larger instances are
        skipped (None is returned).
    start : bool ndarray of shape (m,), optional
        Columns open from the start (e.g. another method's plan); the greedy phase
        only adds to them, the interchange may move them. Existing facilities stay open.

    Returns
    -------
    HeuristicResult or None
        None when the instance is too large for the dense evaluation.
    """
    t0 = time.perf_counter()
    inst = instance
    n, m = inst.n, inst.m
    if n == 0 or m == 0 or float(n) * (m + 1) > dense_limit:
        return None
    w = inst.obj_weight
    csr = inst.cost
    rows = np.repeat(np.arange(n), np.diff(csr.indptr))
    wc = w[rows] * csr.data
    f = np.append(inst.open_cost, 0.0)  # dummy column m costs nothing to "open"
    scale = float(np.abs(wc).sum() + f.sum() + 1.0)
    big = 10.0 * scale
    G = np.full((n, m + 1), big)
    G[rows, csr.indices] = wc
    unserved_cost = inst.unserved_cost if inst.allow_unserved else np.full(n, big)
    G[:, m] = unserved_cost
    big2 = 100.0 * scale + float(unserved_cost.max())
    site = np.append(inst.site, -1)
    S = inst.n_sites
    fixed_open = np.append(inst.existing, True)
    is_open = fixed_open.copy()
    if start is not None:
        is_open[:m] |= np.asarray(start, bool)
    site_count = np.bincount(inst.site[is_open[:m]], minlength=S)
    budget = np.inf if inst.budget is None else inst.budget
    tol = 1e-9 * scale
    spent = float(f[:m][is_open[:m] & ~inst.existing].sum())
    p = inst.p
    max_iter = 10 * m + 100 if max_iter is None else max_iter

    def closed_ok(extra_spent: np.ndarray | float) -> np.ndarray:
        ok = ~is_open
        ok[m] = False
        ok[:m] &= site_count[inst.site] == 0
        return ok & (spent + extra_spent <= budget + tol)

    # ---- greedy construction
    c1, d1, d2 = _closest_two(G, np.flatnonzero(is_open), big2)
    while True:
        n_open = int(is_open[:m].sum())
        if p is not None and n_open >= p:
            break
        gain = np.maximum(d1[:, None] - G, 0.0).sum(axis=0) - f
        ok = closed_ok(f)
        if not ok.any():
            break
        gain[~ok] = -np.inf
        a = int(np.argmax(gain))
        if p is None and gain[a] <= tol:
            break
        is_open[a] = True
        site_count[site[a]] += 1
        spent += f[a]
        c1, d1, d2 = _closest_two(G, np.flatnonzero(is_open), big2)

    # ---- interchange (plus add / drop moves without p)
    it = 0
    while it < max_iter:
        open_idx = np.flatnonzero(is_open)
        removable = open_idx[~fixed_open[open_idx]]
        best_delta, move = -tol, None
        gain = np.maximum(d1[:, None] - G, 0.0).sum(axis=0)
        if removable.size:
            loss_all = np.bincount(c1, weights=d2 - d1, minlength=m + 1)
            # extra[b, a] = Σ_{i: c1_i = b} (d2_i − max(g_ia, d1_i))⁺
            order = np.argsort(c1, kind="stable")
            cs = c1[order]
            starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
            owners = cs[starts]
            M = np.maximum(d2[order, None] - np.maximum(G[order], d1[order, None]), 0.0)
            extra_own = np.add.reduceat(M, starts, axis=0)
            extra = np.zeros((len(removable), m + 1))
            pos = np.searchsorted(removable, owners)
            hit = (pos < len(removable)) & (
                removable[np.minimum(pos, len(removable) - 1)] == owners
            )
            extra[pos[hit]] = extra_own[hit]
            delta = (
                f[None, :] - f[removable, None] - gain[None, :] + loss_all[removable, None] - extra
            )
            ok = np.broadcast_to(~is_open, (len(removable), m + 1)).copy()
            ok[:, m] = False
            # the site of a must hold no open option, except b itself
            same_site = site[removable][:, None] == site[None, :]
            cnt_a = np.append(site_count[inst.site], 0)[None, :] - same_site
            ok &= cnt_a == 0
            ok &= spent - f[removable, None] + f[None, :] <= budget + tol
            delta = np.where(ok, delta, np.inf)
            k = int(np.argmin(delta))
            bi, a = divmod(k, m + 1)
            if delta[bi, a] < best_delta:
                best_delta, move = float(delta[bi, a]), ("swap", a, int(removable[bi]))
            if p is None:
                drop = loss_all[removable] - f[removable]
                k = int(np.argmin(drop))
                if drop[k] < best_delta:
                    best_delta, move = float(drop[k]), ("drop", -1, int(removable[k]))
        if p is None:
            add = f - gain
            ok = closed_ok(f)
            add = np.where(ok, add, np.inf)
            a = int(np.argmin(add))
            if add[a] < best_delta:
                best_delta, move = float(add[a]), ("add", a, -1)
        if move is None:
            break
        _, a, b = move
        if b >= 0:
            is_open[b] = False
            site_count[site[b]] -= 1
            spent -= f[b]
        if a >= 0:
            is_open[a] = True
            site_count[site[a]] += 1
            spent += f[a]
        c1, d1, d2 = _closest_two(G, np.flatnonzero(is_open), big2)
        it += 1

    served = (c1 < m) & (d1 < big)  # an unreachable pair costs big: not a service
    feasible = bool(inst.allow_unserved or served.all())
    if p is not None and int(is_open[:m].sum()) != p:
        feasible = False
    objective = float(d1.sum() + f[is_open].sum())
    assigned = np.where(served, c1, -1)
    return HeuristicResult(
        is_open[:m].copy(), assigned, objective, feasible, it, time.perf_counter() - t0
    )
