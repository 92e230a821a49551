"""Construction heuristic for the phased siting model (构造启发式：贪心增删与交换).

Gives a feasible plan before any LP is solved, in well under a second at city-district
scale, respecting every rule that binds projects: one project per school or site, the
opening years, the budget, ``p`` and the cover rules (closest assignment and single
sourcing are respected by the assignment, :func:`~planner.siting.transport.greedy_assign`).

1. **Greedy add.** Assign the demand greedily to the current capacities; price every
   client's demand at its marginal cost (the dearest pair it uses, or the unserved
   penalty); value every (option, opening period) with the knapsack machinery of
   :mod:`planner.siting.lagrange` (the saving its seats bring, less its discounted cost);
   open the best ones — several per round when their reach does not overlap — and repeat
   until no project pays.
2. **Fit.** Every project takes the cheapest option of its group that still holds the
   pupils it serves, opening in the first period it serves any.
3. **Drop and interchange.** Projects serving fewest pupils first: drop one, let the
   greedy add replace it, keep the change when the plan's cost falls.

Every step counts its work (rounds, evaluated moves) against explicit limits; nothing
depends on the clock, so the same instance always gives the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from planner.siting.instance import SitingInstance
from planner.siting.lagrange import Items, fill, option_values
from planner.siting.transport import (
    Plan,
    closest_allowed,
    cover_met,
    greedy_assign,
    plan_cost,
)

__all__ = ["HeuristicLimits", "construct", "marginal_costs"]


@dataclass(frozen=True)
class HeuristicLimits:
    """Work limits of :func:`construct` (counts, not seconds)."""

    add_rounds: int = 60
    moves_per_round: int = 50
    interchange_moves: int = 3


def marginal_costs(inst: SitingInstance, flow: np.ndarray, unserved: np.ndarray) -> np.ndarray:
    """(n, P) each client's marginal unit cost: penalty when partly unserved, else its dearest pair."""
    r, _, c = inst.pairs()
    lam = np.zeros((inst.n, inst.P))
    e, p = np.nonzero(flow > 1e-9)
    np.maximum.at(lam, (r[e], p), c[e])
    return np.where(unserved > 1e-9, inst.penalty[:, None], lam)


class _State:
    """A plan under construction with its greedy flows."""

    def __init__(self, inst: SitingInstance, open_period: np.ndarray) -> None:
        self.inst = inst
        self.open_period = open_period
        self.evaluations = 0
        # the pairs of every facility (pair indices in row-major order), column-wise
        c = inst.cost
        idx = sp.csr_matrix((np.arange(c.nnz) + 1.0, c.indices, c.indptr), shape=c.shape).tocsc()
        idx.sort_indices()
        self.facility_pairs = (idx.indptr, idx.data.astype(np.int64) - 1)
        self.refresh()

    def refresh(self) -> None:
        inst = self.inst
        self.cap = inst.capacity_with(self.open_period)
        allowed = closest_allowed(inst, self.cap)
        self.flow, self.unserved = greedy_assign(inst, self.cap, allowed)
        self.cost = plan_cost(inst, self.open_period, self.flow, self.unserved)
        self.evaluations += 1

    def plan(self) -> Plan:
        return Plan(self.open_period.copy(), self.flow, self.unserved, self.cost, exact=False)


def _spent(inst: SitingInstance, open_period: np.ndarray) -> float:
    return float(inst.option_cost[open_period >= 0].sum())


def _add_round(st: _State, items: Items, limits: HeuristicLimits, force: bool = False) -> int:
    """One round of the greedy add; returns the number of projects opened."""
    inst = st.inst
    O, G = inst.O, inst.G
    if not O:
        return 0
    lam = marginal_costs(inst, st.flow, st.unserved)
    # price new seats against the room left (current clients keep their seats): the
    # items of pairs that carry flow count for nothing, the base is the free room
    r, f, c = inst.pairs()
    load = np.zeros((inst.F, inst.P))
    np.add.at(load, f, st.flow)
    room = np.maximum(st.cap - load, 0.0)
    fl = fill(items, lam, exclude=st.flow[items.e, items.p] > 1e-9)
    _, V = option_values(inst, fl, room)
    val = inst.option_objective + V
    if inst.cover.shape[0]:  # an option meeting an unmet cover rule earns its penalty
        from planner.siting.build import _cover_default

        pen = (
            np.full(inst.cover.shape[0], _cover_default(inst))
            if inst.cover_penalty is None
            else inst.cover_penalty
        )
        unmet = ~cover_met(inst, st.open_period)
        val = val - np.asarray(inst.cover.T @ (pen * unmet)).ravel()[:, None]
    has = np.zeros(G, bool)
    has[inst.option_group[st.open_period >= 0]] = True
    q = np.argmin(val, axis=1)
    v = val[np.arange(O), q]
    v[has[inst.option_group]] = np.inf
    n_open = int((st.open_period >= 0).sum())
    cap_moves = limits.moves_per_round
    if inst.p is not None:
        cap_moves = min(cap_moves, inst.p - n_open)
        if cap_moves <= 0:
            return 0
    left = np.inf if inst.budget is None else inst.budget - _spent(inst, st.open_period)
    ok = np.isfinite(v) & (inst.option_cost <= left + 1e-9)
    if not force:
        ok &= v < -1e-9 * max(1.0, abs(st.cost))
    cand = np.flatnonzero(ok)
    if not len(cand):
        return 0
    # most saving per yuan first (fully used projects of the cheapest seats), then value
    saving = np.maximum(-(v - inst.option_objective[np.arange(O), q]), 0.0)
    eff = saving / np.maximum(inst.option_objective[np.arange(O), q], 1e-12)
    cand = cand[np.lexsort((cand, v[cand], -eff[cand]))]
    # clients each candidate would serve (negative reduced cost at its facilities)
    a = inst.option_adds.tocsc()
    gain_pair = (c[:, None] < lam[r] - 1e-12) & (inst.demand[r] > 0)
    touched = np.zeros(inst.n, bool)
    used_groups = np.zeros(G, bool)
    u_rem = st.unserved.copy()  # unserved demand not yet claimed by this round's projects
    pen = inst.penalty
    opened = 0
    fptr, fpairs = st.facility_pairs
    for o in cand:  # a few tens per round, each a handful of array operations
        if opened >= cap_moves or inst.option_cost[o] > left + 1e-9:
            continue
        g = inst.option_group[o]
        if used_groups[g]:
            continue
        qo = int(q[o])
        facs = a.indices[a.indptr[o] : a.indptr[o + 1]]
        seats = a.data[a.indptr[o] : a.indptr[o + 1]]
        per_fac = [fpairs[fptr[fac] : fptr[fac + 1]] for fac in facs]
        pe = np.concatenate(per_fac) if per_fac else np.zeros(0, np.int64)
        cl = r[pe[gain_pair[pe, qo:].any(axis=1)]] if len(pe) else np.zeros(0, np.int64)
        if opened and touched[cl].any():
            # overlapping an earlier project of this round: still worth it for the
            # unserved demand left unclaimed?
            claim = sum(
                np.minimum(u_rem[r[pf], qo:].sum(axis=0), s_).sum()
                for pf, s_ in zip(per_fac, seats, strict=True)
            )
            if claim * pen.min() <= inst.option_objective[o, qo]:
                continue
        # claim the unserved demand it will seat, nearest clients first
        for pf, s_ in zip(per_fac, seats, strict=True):
            pf = pf[np.argsort(c[pf], kind="stable")]
            for p_ in range(qo, inst.P):
                u = u_rem[r[pf], p_]
                take = np.clip(s_ - (np.cumsum(u) - u), 0.0, u)
                u_rem[r[pf], p_] -= take
        st.open_period[o] = qo
        touched[cl] = True
        used_groups[g] = True
        left -= inst.option_cost[o]
        opened += 1
        if force:
            break
    st.refresh()
    return opened


def _fit(st: _State) -> None:
    """Each project: cheapest option of its group holding its pupils, opening when first used."""
    inst = st.inst
    _, f, _ = inst.pairs()
    load = np.zeros((inst.F, inst.P))
    np.add.at(load, f, st.flow)
    base = inst.capacity
    changed = False
    for o in np.flatnonzero(st.open_period >= 0):  # the projects (tens)
        g = inst.option_group[o]
        facs = inst.option_adds[:, o].nonzero()[0]
        extra = np.maximum(load[facs] - base[facs], 0.0)  # seats the project must give
        need_p = extra.max(axis=0) > 1e-9
        if not need_p.any():
            continue
        q_need = int(np.argmax(need_p))
        best, best_cost = o, inst.option_objective[o, st.open_period[o]]
        for o2 in np.flatnonzero(inst.option_group == g):
            add2 = np.asarray(inst.option_adds[facs, o2].todense()).ravel()
            if np.any(add2[:, None] < extra - 1e-9):
                continue
            q2 = max(q_need, int(inst.option_earliest[o2]))
            if q2 > q_need:
                continue
            c2 = inst.option_objective[o2, q2]
            if c2 < best_cost - 1e-12:
                best, best_cost = o2, c2
        q_new = max(q_need, int(inst.option_earliest[best]))
        if best != o or q_new != st.open_period[o]:
            st.open_period[o] = -1
            st.open_period[best] = q_new
            changed = True
    if changed:
        before = st.cost
        saved = st.open_period.copy()
        st.refresh()
        if st.cost > before + 1e-9 * max(1.0, abs(before)):
            st.open_period[:] = saved  # (kept for clarity: fit only moves to cheaper plans)


def construct(
    inst: SitingInstance,
    *,
    limits: HeuristicLimits | None = None,
    start: np.ndarray | None = None,
    items: Items | None = None,
    interchange: bool = True,
    should_stop=None,
) -> tuple[Plan, dict]:
    """A feasible plan by greedy add, fit, drop and interchange (see the module doc).

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    limits : HeuristicLimits, optional
        Work limits (default :class:`HeuristicLimits`).
    start : int ndarray (O,), optional
        Opening periods to start from (−1: closed), e.g. another method's plan.
    items : Items, optional
        The instance's knapsack items (built when not given).
    interchange : bool
        Run the drop / interchange phase.
    should_stop : callable, optional
        The wall-clock safety cap, checked between rounds and moves.

    Returns
    -------
    plan : Plan
        With greedy flows (score it exactly with :class:`~planner.siting.transport.Assigner`).
    work : dict
        ``add_rounds``, ``evaluations``, ``interchanges`` (moves tried) and ``improved``.
    """
    limits = limits or HeuristicLimits()
    items = items if items is not None else Items.of(inst)
    op = np.full(inst.O, -1, np.int64) if start is None else np.asarray(start, np.int64).copy()
    st = _State(inst, op)
    rounds = 0
    stop = should_stop or (lambda: False)
    while rounds < limits.add_rounds and not stop():
        rounds += 1
        if not _add_round(st, items, limits):
            break
    if inst.p is not None:  # p projects exactly: keep adding the best even at a loss
        while int((st.open_period >= 0).sum()) < inst.p and rounds < 10 * limits.add_rounds:
            rounds += 1
            if not _add_round(st, items, limits, force=True):
                break
    if interchange:
        _fit(st)
    # drop / interchange: projects serving the fewest pupils first
    tried = improved = 0
    _, f, _ = inst.pairs()
    while interchange and tried < limits.interchange_moves and not stop():
        projects = np.flatnonzero(st.open_period >= 0)
        if not len(projects):
            break
        load = np.zeros(inst.F)
        np.add.at(load, f, st.flow.sum(axis=1))
        served = np.array([load[inst.option_adds[:, o].nonzero()[0]].sum() for o in projects])
        order = projects[np.lexsort((projects, served))]
        moved = False
        for o in order:
            if tried >= limits.interchange_moves:
                break
            tried += 1
            saved = st.open_period.copy()
            before = st.cost
            st.open_period[o] = -1
            st.refresh()
            for _ in range(3):
                if not _add_round(st, items, limits, force=inst.p is not None):
                    break
                if inst.p is not None and int((st.open_period >= 0).sum()) >= inst.p:
                    break
            if st.cost < before - 1e-9 * max(1.0, abs(before)):
                improved += 1
                moved = True
                break
            st.open_period[:] = saved
            st.refresh()
        if not moved:
            break
    return st.plan(), {
        "add_rounds": rounds,
        "evaluations": st.evaluations,
        "interchanges": tried,
        "improved": improved,
    }


def lp_fit(
    inst: SitingInstance, open_period: np.ndarray, assigner, time_limit: float | None = None
) -> np.ndarray:
    """Size and time every project by what the exact assignment needs of it (one LP).

    The plan's projects stay open, but every seat a project adds costs a little when used
    (its option's cost per seat and period), so the exact assignment
    (:class:`~planner.siting.transport.Assigner`) fills existing seats first and uses a
    project's seats only where nothing cheaper can seat the pupils. Each project then
    takes the cheapest option of its group that holds the seats used, opening in the
    first period it is used; a project whose seats are never used is dropped.

    ``time_limit`` (seconds) bounds each period's LP (the safety cap).

    Returns
    -------
    int ndarray (O,)
        The new opening periods.
    """
    P = inst.P
    adds = inst.option_adds.tocsc()
    a = adds.tocoo()
    fin = np.isfinite(a.data) & (a.data > 0)
    per_seat = np.full(inst.F, np.inf)
    np.minimum.at(per_seat, a.row[fin], inst.option_objective[a.col[fin], P - 1] / a.data[fin] / P)
    kappa = np.where(np.isfinite(per_seat), per_seat, 0.0)
    cap = inst.capacity_with(open_period)
    assigner.assign(cap, closest_allowed(inst, cap), extra_cost=kappa, time_limit=time_limit)
    need = assigner.extra
    out = open_period.copy()
    fac_of = [adds.indices[adds.indptr[o] : adds.indptr[o + 1]] for o in range(inst.O)]
    for o in np.flatnonzero(open_period >= 0):  # the projects (tens)
        g = inst.option_group[o]
        group = np.flatnonzero(inst.option_group == g)
        facs = np.unique(np.concatenate([fac_of[o2] for o2 in group]))
        nf = need[facs]
        used = nf > 1e-6 * np.maximum(1.0, nf.max())
        out[o] = -1
        if not used.any():
            continue  # never needed: dropped
        q = int(np.argmax(used.any(axis=0)))
        peak = np.where(used, nf, 0.0)[:, q:].max(axis=1)
        best, best_cost = -1, np.inf
        for o2 in group:
            q2 = max(q, int(inst.option_earliest[o2]))
            if q2 >= P:
                continue
            give = np.asarray(adds[facs, o2].todense()).ravel()
            if np.any(give < peak - 1e-6) or q2 > q:
                continue
            if inst.option_objective[o2, q2] < best_cost:
                best, best_cost = o2, inst.option_objective[o2, q2]
        if best < 0:
            out[o] = open_period[o]  # nothing smaller holds it: keep as it was
        else:
            out[best] = q
    if inst.budget is not None and inst.option_cost[out >= 0].sum() > inst.budget + 1e-9:
        return open_period.copy()
    if inst.p is not None and int((out >= 0).sum()) != inst.p:
        return open_period.copy()
    return out
