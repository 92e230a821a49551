"""Plans and their flows: greedy and exact assignment of clients to seats (学位分配).

A **plan** is the opening period of every option (−1: not built). With the projects
fixed, the rest of the siting model splits by period into transportation problems
(clients to facilities with the plan's capacities, unserved demand at its penalty):

- :func:`greedy_assign` — a fast, vectorised assignment used inside the heuristics:
  every client with demand left proposes to its cheapest facility with seats left;
  each facility takes the proposals in order of cost until it is full; repeat. Never
  better than the exact assignment; its cost is an upper bound of the plan's.
- :class:`Assigner` — the exact assignment: one HiGHS LP per period (a MILP per period
  under single sourcing), kept between calls so that a changed plan re-solves from the
  last basis. Closest assignment (就近入学) is a column ban here: with the projects
  fixed, a client may only use public facilities no farther than its nearest open one.

:func:`plan_cost` is the objective of a plan and its flows, recomputed from the instance
data; every method's plan is scored with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import SolverError
from planner.siting.build import CLOSER_TOL, reachable_capacity
from planner.siting.instance import SitingInstance

__all__ = ["Plan", "Assigner", "greedy_assign", "plan_cost", "cover_met", "closest_allowed"]

#: proposal rounds of :func:`greedy_assign` (each round every waiting client proposes once)
GREEDY_ROUNDS = 60


@dataclass
class Plan:
    """A plan with its flows and objective.

    Attributes
    ----------
    open_period : int ndarray (O,)
        Period index in which each option opens; −1 when not built.
    flow : ndarray (E, P)
        Demand served along every pair in every period (demand units).
    unserved : ndarray (n, P)
        Demand left unserved.
    cost : float
        Objective (:func:`plan_cost`).
    exact : bool
        Flows from the exact assignment (else from :func:`greedy_assign`).
    """

    open_period: np.ndarray
    flow: np.ndarray
    unserved: np.ndarray
    cost: float
    exact: bool = False

    def copy(self) -> Plan:
        """A deep copy."""
        return Plan(
            self.open_period.copy(), self.flow.copy(), self.unserved.copy(), self.cost, self.exact
        )


def cover_met(inst: SitingInstance, open_period: np.ndarray) -> np.ndarray:
    """(U,) bool: cover rules met by the plan's options."""
    if not inst.cover.shape[0]:
        return np.zeros(0, bool)
    return np.asarray(inst.cover @ (open_period >= 0).astype(float)).ravel() > 0


def plan_cost(
    inst: SitingInstance, open_period: np.ndarray, flow: np.ndarray, unserved: np.ndarray
) -> float:
    """Objective of a plan: travel + unserved penalties + discounted project costs + cover.

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    open_period : int ndarray (O,)
        Opening period of every option (−1: not built).
    flow : ndarray (E, P)
        Demand served along every pair and period.
    unserved : ndarray (n, P)
        Demand left unserved.
    """
    from planner.siting.build import _cover_default

    _, _, c = inst.pairs()
    on = np.flatnonzero(open_period >= 0)
    total = float(np.sum(c[:, None] * flow)) + float(np.sum(inst.penalty[:, None] * unserved))
    total += float(inst.option_objective[on, open_period[on]].sum())
    if inst.cover.shape[0]:
        pen = (
            np.full(inst.cover.shape[0], _cover_default(inst))
            if inst.cover_penalty is None
            else inst.cover_penalty
        )
        total += float(pen[~cover_met(inst, open_period)].sum())
    return total


def closest_allowed(inst: SitingInstance, cap: np.ndarray) -> np.ndarray | None:
    """(E, P) bool: pairs allowed under closest assignment with the plan's capacities."""
    if not inst.closest:
        return None
    r, f, _ = inst.pairs()
    d = inst.distance.data
    ok = np.ones((len(r), inst.P), bool)
    pub = inst.public[f]
    for p in range(inst.P):
        is_open = inst.public & (cap[:, p] > 0)
        nearest = np.full(inst.n, np.inf)
        m = is_open[f]
        np.minimum.at(nearest, r[m], d[m])
        ok[:, p] = ~pub | (d <= nearest[r] + CLOSER_TOL)
    return ok


def greedy_assign(
    inst: SitingInstance, cap: np.ndarray, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fast assignment of every period's demand to the capacities ``cap`` (F, P).

    Rounds of proposals, all clients and periods at once: each client–period with demand
    left proposes to its cheapest allowed facility with seats left; a facility takes
    proposals cheapest first until full (split demand: the last one partly; single
    sourcing: a client only where it fits whole). At most :data:`GREEDY_ROUNDS` rounds.

    Returns
    -------
    flow : ndarray (E, P)
    unserved : ndarray (n, P)
    """
    r, f, c = inst.pairs()
    E, P = len(r), inst.P
    flow = np.zeros((E, P))
    left = inst.demand.copy()
    room = cap.astype(float).copy()
    # candidate (pair, period) items sorted by client-period, then cost (the order is
    # fixed by the instance: computed once, then filtered)
    e, p = _greedy_order(inst)
    ok = cap[f[e], p] > 0
    if allowed is not None:
        ok &= allowed[e, p]
    e, p = e[ok], p[ok]
    alive = np.ones(len(e), bool)
    single = inst.single_source
    for _ in range(GREEDY_ROUNDS):
        # keep the live items only (room and demand never come back): the arrays shrink
        e, p = e[alive], p[alive]
        ie = r[e]
        fe = f[e]
        a = (left[ie, p] > 1e-12) & (room[fe, p] > 1e-12)
        if single:
            a &= room[fe, p] >= left[ie, p] - 1e-9
        e, p = e[a], p[a]
        if not len(e):
            break
        alive = np.ones(len(e), bool)
        idx = np.arange(len(e))
        cp = r[e[idx]] * P + p[idx]
        first = np.r_[True, cp[1:] != cp[:-1]]
        prop = idx[first]  # each client-period's cheapest live item
        pe, pp = e[prop], p[prop]
        pf, pi = f[pe], r[pe]
        amount = left[pi, pp]
        # facilities take proposals cheapest first
        o = np.lexsort((pi, c[pe], pf * P + pp))
        prop, pe, pp, pf, pi, amount = prop[o], pe[o], pp[o], pf[o], pi[o], amount[o]
        fk = pf * P + pp
        start = np.r_[True, fk[1:] != fk[:-1]]
        seg = np.cumsum(start) - 1
        cum = np.cumsum(amount)
        base = np.repeat(cum[start] - amount[start], np.diff(np.r_[np.flatnonzero(start), len(fk)]))
        before = cum - amount - base  # amount taken before this proposal at its facility
        avail = room[pf, pp]
        if single:
            # whole clients only: take while the running total fits
            take = np.where(before + amount <= avail + 1e-9, amount, 0.0)
        else:
            take = np.clip(avail - before, 0.0, amount)
        got = take > 0
        np.add.at(flow, (pe[got], pp[got]), take[got])
        np.subtract.at(left, (pi[got], pp[got]), take[got])
        used = np.bincount(seg, weights=take, minlength=int(seg.max()) + 1 if len(seg) else 0)
        room[pf[start], pp[start]] -= used
        # a proposal refused because its facility has no room left for it retires its
        # item; under single sourcing one that would still fit proposes again
        if single:
            left_room = room[pf, pp]
            alive[prop[got | (amount > left_room + 1e-9)]] = False
        else:
            alive[prop[~got]] = False
    left = np.maximum(left, 0.0)
    if not single and left.sum() > 1e-9:
        _repair(inst, flow, left, room, allowed, cap)
    return flow, left


def _greedy_order(inst: SitingInstance) -> tuple[np.ndarray, np.ndarray]:
    """Items (pair, period) with demand, by client-period, cost, facility (cached)."""
    cached = getattr(inst, "_greedy_items", None)
    if cached is None:
        r, f, c = inst.pairs()
        e, p = np.nonzero(inst.demand[r] > 0)
        order = np.lexsort((f[e], c[e], r[e] * inst.P + p))
        cached = (e[order], p[order])
        inst._greedy_items = cached
    return cached


#: integer units per unit of demand in the max-flow repair (scipy needs integer capacities)
REPAIR_SCALE = 100.0


def _repair(inst, flow, left, room, allowed, cap) -> None:
    """Serve what the greedy left unserved by re-routing (max flow on the residual graph).

    Per period, augmenting paths from clients with demand left, through pairs with
    residual room and back along pairs that carry flow, to facilities with seats left
    (:func:`scipy.sparse.csgraph.maximum_flow`, Dinic). Costs are ignored here: only
    the unserved demand, which the penalty makes dominant, is reduced. In place.
    """
    from scipy.sparse.csgraph import maximum_flow

    r, f, _ = inst.pairs()
    n, F = inst.n, inst.F
    src, snk = 0, n + F + 1
    for p in range(inst.P):
        need = left[:, p] > 1e-9
        if not need.any():
            continue
        ok = (cap[f, p] > 0) & (inst.demand[r, p] > 0)
        if allowed is not None:
            ok &= allowed[:, p]
        e = np.flatnonzero(ok)
        cl = np.flatnonzero(need)
        fr = np.flatnonzero(room[:, p] > 1e-9)
        u = np.concatenate([np.full(len(cl), src), 1 + r[e], 1 + n + f[e], 1 + n + fr])
        v = np.concatenate([1 + cl, 1 + n + f[e], 1 + r[e], np.full(len(fr), snk)])
        # room beyond the period's whole demand cannot be used; the scale keeps every
        # capacity within int32
        total = float(inst.demand[:, p].sum())
        S = min(REPAIR_SCALE, 2.0e9 / max(total, 1.0))
        fwd = np.floor((inst.demand[r[e], p] - flow[e, p]) * S)
        back = np.floor(flow[e, p] * S)
        w = np.concatenate(
            [np.floor(left[cl, p] * S), fwd, back, np.floor(np.minimum(room[fr, p], total) * S)]
        )
        keep = w > 0
        g = sp.csr_array((w[keep].astype(np.int32), (u[keep], v[keep])), shape=(snk + 1, snk + 1))
        res = maximum_flow(g, src, snk)
        if res.flow_value <= 0:
            continue
        fl = sp.coo_array(res.flow)
        N = snk + 1
        key = fl.row.astype(np.int64) * N + fl.col
        o = np.argsort(key)
        key, val = key[o], fl.data[o].astype(float) / S

        def get(a, b, key=key, val=val, N=N):
            k = a.astype(np.int64) * N + b
            if not len(key):
                return np.zeros(len(k))
            i = np.clip(np.searchsorted(key, k), 0, len(key) - 1)
            return np.where(key[i] == k, val[i], 0.0)

        flow[e, p] += get(1 + r[e], 1 + n + f[e])
        left[cl, p] -= get(np.full(len(cl), src), 1 + cl)
        room[fr, p] -= get(1 + n + fr, np.full(len(fr), snk))
    np.clip(flow, 0.0, None, out=flow)
    np.clip(left, 0.0, None, out=left)


class Assigner:
    """Exact assignment for given capacities: one HiGHS LP (or MILP) per period.

    Columns of period *p*: the flow of every pair whose client has demand in *p* and
    whose facility can ever have seats, and the unserved demand of every such client;
    rows: demand (=) per client, capacity (≤) per facility. A new plan only changes
    the capacity bounds (and, under closest assignment, column bounds), so each solve
    starts from the previous basis.

    Parameters
    ----------
    inst : SitingInstance
    node_limit : int
        Branch-and-bound nodes per period under single sourcing (a work limit).
    """

    def __init__(self, inst: SitingInstance, *, node_limit: int = 500) -> None:
        self.inst = inst
        r, f, c = inst.pairs()
        self.r, self.f, self.c = r, f, c
        P = inst.P
        can = reachable_capacity(inst)
        self.models: list[tuple[highspy.Highs, np.ndarray, np.ndarray] | None] = []
        for p in range(P):
            dem = inst.demand[:, p]
            e = np.flatnonzero((dem[r] > 0) & can[f, p])
            if inst.single_source:
                e = e[dem[r[e]] <= _cap_max(inst)[f[e], p] * (1 + 1e-12)]
            cl = np.flatnonzero(dem > 0)
            if not len(cl):
                self.models.append(None)
                continue
            row_of = np.full(inst.n, -1, np.int64)
            row_of[cl] = np.arange(len(cl))
            E, N, F = len(e), len(cl), inst.F
            coef = dem[r[e]] if inst.single_source else np.ones(E)
            # columns: flows, unserved, then the plan's extra seats of every facility
            # (capacity row: Σ flow − extra ≤ base seats)
            R = np.concatenate([row_of[r[e]], N + f[e], np.arange(N), N + np.arange(F)])
            C = np.concatenate([np.arange(E), np.arange(E), E + np.arange(N), E + N + np.arange(F)])
            V = np.concatenate([coef, coef, np.ones(N), -np.ones(F)])
            a = sp.csc_matrix((V, (R, C)), shape=(N + F, E + N + F))
            a.sort_indices()
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = E + N + F, N + F
            lp.col_cost_ = np.concatenate([c[e] * coef, inst.penalty[cl], np.zeros(F)])
            lp.col_lower_ = np.zeros(E + N + F)
            lp.col_upper_ = np.concatenate(
                [np.ones(E) if inst.single_source else dem[r[e]], dem[cl], np.zeros(F)]
            )
            lp.row_lower_ = np.concatenate([dem[cl], np.full(F, -np.inf)])
            lp.row_upper_ = np.concatenate([dem[cl], np.zeros(F)])
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_ = a.indptr.astype(np.int32)
            lp.a_matrix_.index_ = a.indices.astype(np.int32)
            lp.a_matrix_.value_ = a.data
            if inst.single_source:
                lp.integrality_ = [highspy.HighsVarType.kInteger] * E + [
                    highspy.HighsVarType.kContinuous
                ] * (N + F)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)
            h.setOptionValue("random_seed", 0)
            if inst.single_source:
                h.setOptionValue("mip_max_nodes", int(node_limit))
                h.setOptionValue("mip_rel_gap", 1e-6)
            if h.passModel(lp) == highspy.HighsStatus.kError:
                raise SolverError("HiGHS refused an assignment LP; please report this")
            self.models.append((h, e, cl))
        self.up0 = [None if m is None else np.asarray(m[0].getLp().col_upper_) for m in self.models]
        self.solves = 0
        self.timed_out = False

    def assign(
        self,
        cap: np.ndarray,
        allowed: np.ndarray | None = None,
        start: np.ndarray | None = None,
        time_limit: float | None = None,
        extra_cost: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact flows (E, P) and unserved (n, P) for the capacities ``cap`` (F, P).

        ``start`` (E, P) is a feasible single-sourced assignment handed to HiGHS first.
        With ``extra_cost`` (F,), every seat the plan adds above the base capacity costs
        that much when used (:meth:`extra_used` then tells how many were needed).
        """
        inst = self.inst
        E, P = len(self.r), inst.P
        flow = np.zeros((E, P))
        un = np.zeros((inst.n, P))
        self.extra = np.zeros((inst.F, P))
        base_all = inst.capacity
        for p, m in enumerate(self.models):
            if m is None:
                continue
            h, e, cl = m
            capp = np.where(np.isinf(cap[:, p]), np.inf, cap[:, p])
            base = np.where(np.isinf(base_all[:, p]), np.inf, np.minimum(base_all[:, p], capp))
            with np.errstate(invalid="ignore"):
                ext = np.where(
                    np.isinf(capp) & np.isfinite(base), 1e30, np.maximum(capp - base, 0.0)
                )
            ext = np.where(np.isinf(base), 0.0, ext)
            N = len(cl)
            rows = (N + np.arange(inst.F)).astype(np.int32)
            h.changeRowsBounds(len(rows), rows, np.full(inst.F, -np.inf), base)
            xcols = (len(e) + N + np.arange(inst.F)).astype(np.int32)
            h.changeColsBounds(inst.F, xcols, np.zeros(inst.F), ext)
            h.changeColsCost(
                inst.F, xcols, np.zeros(inst.F) if extra_cost is None else extra_cost.astype(float)
            )
            up = self.up0[p][: len(e)].copy()
            up[capp[self.f[e]] <= 0] = 0.0
            if allowed is not None:
                up[~allowed[e, p]] = 0.0
            h.changeColsBounds(len(e), np.arange(len(e), dtype=np.int32), np.zeros(len(e)), up)
            h.setOptionValue(
                "time_limit", np.inf if time_limit is None else float(max(time_limit, 0.01))
            )
            if start is not None and inst.single_source:
                x0 = (start[e, p] > 0).astype(float)
                served = np.bincount(
                    self.r[e], weights=x0 * inst.demand[self.r[e], p], minlength=inst.n
                )
                u0 = np.maximum(inst.demand[cl, p] - served[cl], 0.0)
                sol = highspy.HighsSolution()
                used = np.bincount(
                    self.f[e], weights=x0 * inst.demand[self.r[e], p], minlength=inst.F
                )
                x_ext = np.minimum(np.maximum(used - base, 0.0), ext)
                sol.col_value = np.concatenate([x0, u0, x_ext]).tolist()
                sol.value_valid = True
                h.setSolution(sol)
            h.run()
            self.solves += 1
            st = h.getModelStatus()
            if st == highspy.HighsModelStatus.kTimeLimit:
                self.timed_out = True
                if h.getInfo().primal_solution_status != 2:
                    # the safety cap cut it before any solution: the period's greedy one
                    g_flow, g_un = greedy_assign(inst, cap, allowed)
                    flow[:, p], un[:, p] = g_flow[:, p], g_un[:, p]
                    self.extra[:, p] = 0.0
                    continue
            if h.getInfo().primal_solution_status != 2:
                raise SolverError(
                    "HiGHS found no assignment for a fixed plan "
                    f"({h.modelStatusToString(st)}); please report this instance"
                )
            x = np.asarray(h.getSolution().col_value)
            fx = np.clip(x[: len(e)], 0.0, None)
            if inst.single_source:
                fx = np.round(fx) * inst.demand[self.r[e], p]
            flow[e, p] = fx
            self.extra[:, p] = np.clip(x[len(e) + N :], 0.0, None)
            served = np.bincount(self.r[e], weights=fx, minlength=inst.n)
            un[:, p] = np.maximum(inst.demand[:, p] - served, 0.0)
        return flow, un


def _cap_max(inst: SitingInstance) -> np.ndarray:
    best = np.zeros(inst.F)
    if inst.O:
        a = inst.option_adds.tocoo()
        np.maximum.at(best, a.row, a.data)
    return inst.capacity + best[:, None]


def score(
    inst: SitingInstance,
    open_period: np.ndarray,
    assigner: Assigner | None = None,
    time_limit: float | None = None,
) -> Plan:
    """The plan ``open_period`` with exact flows (or greedy ones without an assigner).

    ``time_limit`` (the safety cap's seconds left) bounds each period's solve; a period
    cut before any solution is assigned greedily (``assigner.timed_out`` says so).
    """
    cap = inst.capacity_with(open_period)
    allowed = closest_allowed(inst, cap)
    if assigner is None:
        flow, un = greedy_assign(inst, cap, allowed)
        exact = False
    else:
        start = greedy_assign(inst, cap, allowed)[0] if inst.single_source else None
        flow, un = assigner.assign(cap, allowed, start=start, time_limit=time_limit)
        exact = True
    return Plan(open_period.copy(), flow, un, plan_cost(inst, open_period, flow, un), exact)
