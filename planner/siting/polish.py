"""Polishing windows: neighbourhoods of schools and sites re-planned by small MILPs (局部优化).

Large-neighbourhood search for the phased strategy of :func:`planner.siting.solve`: a
window is a set of neighbouring groups (schools or sites sharing clients) grown from a
seed, most shared clients first, up to a number of flow columns; everything outside it
stays fixed (:func:`window_instance`), and the window's MILP is solved from the current
plan within a node limit. A window's new plan is kept only when the whole plan's exact
cost falls.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from planner.siting.instance import SitingInstance
from planner.siting.transport import Plan

__all__ = ["grow", "window_instance"]


def grow(A: sp.csr_matrix, seed: int, size: np.ndarray, budget: float) -> np.ndarray:
    """Groups around ``seed`` (most shared clients first) up to ``budget`` flow columns."""
    W = [seed]
    inW = np.zeros(A.shape[0], bool)
    inW[seed] = True
    total = float(size[seed])
    frontier = [seed]
    while frontier and total < budget:
        ix = np.concatenate([np.arange(A.indptr[g], A.indptr[g + 1]) for g in frontier])
        nb, w = A.indices[ix], A.data[ix]
        sel = ~inW[nb]
        nb, w = nb[sel], w[sel]
        if not len(nb):
            break
        tot = np.bincount(nb, weights=w, minlength=A.shape[0])
        nb = np.unique(nb)
        nb = nb[np.lexsort((nb, -tot[nb]))]
        room = np.searchsorted(np.cumsum(size[nb]), budget - total, side="right")
        nb = nb[: max(1, int(room))]
        inW[nb] = True
        total += float(size[nb].sum())
        W.extend(nb.tolist())
        frontier = nb.tolist()
    return np.asarray(W, np.int64)


def window_instance(inst: SitingInstance, best: Plan, W: np.ndarray, fac_group: np.ndarray):
    """The sub-instance of window ``W`` (groups) with everything outside fixed.

    Clients reaching the window's facilities keep the demand served outside; the rest of
    their demand is re-planned on the window's facilities and options. Budget and ``p``
    shrink by what the projects outside the window use; cover rules met outside drop.
    """
    r, f, c = inst.pairs()
    inG = np.zeros(inst.G, bool)
    inG[W] = True
    Fw = np.flatnonzero((fac_group >= 0) & inG[np.maximum(fac_group, 0)])
    inF = np.zeros(inst.F, bool)
    inF[Fw] = True
    Ow = np.flatnonzero(inG[inst.option_group])
    K = np.unique(r[inF[f]])
    if not len(K) or not len(Ow):
        return None, None
    inK = np.zeros(inst.n, bool)
    inK[K] = True
    outside = ~inF[f] & inK[r]
    served_out = np.zeros((inst.n, inst.P))
    np.add.at(served_out, r[outside], best.flow[outside])
    dem = np.maximum(inst.demand[K] - served_out[K], 0.0)
    Ew = np.flatnonzero(inF[f] & inK[r])  # pairs of the window (row-major, as in the sub)
    kpos = np.full(inst.n, -1, np.int64)
    kpos[K] = np.arange(len(K))
    fpos = np.full(inst.F, -1, np.int64)
    fpos[Fw] = np.arange(len(Fw))
    cost = sp.csr_matrix((c[Ew], (kpos[r[Ew]], fpos[f[Ew]])), shape=(len(K), len(Fw)))
    dist = sp.csr_matrix(
        (inst.distance.data[Ew], (kpos[r[Ew]], fpos[f[Ew]])), shape=(len(K), len(Fw))
    )
    outside_on = (best.open_period >= 0) & ~inG[inst.option_group]
    budget = None
    if inst.budget is not None:
        budget = inst.budget - float(inst.option_cost[outside_on].sum())
    p = None if inst.p is None else inst.p - int(outside_on.sum())
    cover = inst.cover
    cover_pen = inst.cover_penalty
    if cover.shape[0]:
        met_out = np.asarray(cover @ outside_on.astype(float)).ravel() > 0
        keep = np.flatnonzero(~met_out)
        cover = cover[keep][:, Ow]
        if cover_pen is not None:
            cover_pen = cover_pen[keep]
        elif len(keep):
            from planner.siting.build import _cover_default

            cover_pen = np.full(len(keep), _cover_default(inst))
    else:
        cover = None
    sub = SitingInstance(
        cost,
        dem,
        capacity=inst.capacity[Fw],
        option_group=inst.option_group[Ow],
        option_adds=inst.option_adds[Fw][:, Ow],
        option_cost=inst.option_cost[Ow],
        option_objective=inst.option_objective[Ow],
        option_earliest=inst.option_earliest[Ow],
        p=p,
        budget=budget,
        single_source=inst.single_source,
        unserved_penalty=inst.penalty[K],
        distance=dist,
        public=inst.public[Fw],
        cover=cover,
        cover_penalty=cover_pen,
        periods=inst.periods,
    )
    # the sub's pairs come in row-major order of (client position, facility position),
    # which is the order of Ew (clients ascending, facilities ascending within a client)
    return sub, (K, Fw, Ow, Ew)
