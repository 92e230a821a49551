"""Siting MILPs on HiGHS: build → solve → extract (选址模型：建模、求解、提取).

Two formulations, both built from whole arrays (one sparse matrix handed to HiGHS
with ``passModel``; no Python loop over variables or rows):

``"radius"`` — uncapacitated problems (p-median, fixed-charge location, budget, size
options, existing facilities). The compact covering formulation of Elloumi (2010) and
García, Labbé & Marín (2011). For client *i* with sorted distinct reachable costs
``D_i^1 < … < D_i^K``, variable ``z_i^k ∈ [0, 1]`` means "client *i* is served at a
cost above ``D_i^k``"; the objective is ``Σ_i w_i (D_i^1 + Σ_k (D_i^{k+1} − D_i^k)
z_i^k) + Σ_j f_j y_j``. The covering rows are written incrementally,

    z_i^1 + Σ_{j: c_ij = D_i^1} y_j ≥ 1,
    z_i^k − z_i^{k−1} + Σ_{j: c_ij = D_i^k} y_j ≥ 0   (k ≥ 2),

which telescopes to Elloumi's ``z_i^k + Σ_{j: c_ij ≤ D_i^k} y_j ≥ 1`` with the same
LP relaxation, but each pair (i, j) appears in one row only (nonzeros ≈ pairs + 2 ×
levels instead of pairs × levels). The last level is ``Σ_{j ∈ reach(i)} y_j ≥ z^{K−1}``
(every client must be reached) or carries the unserved penalty. Reductions: the levels
of client *i* stop at the first cost ``D*`` at which service is *guaranteed* — by an
existing facility, or because the facilities within ``D*`` cover all but fewer than
``p`` sites (Elloumi's ``|N_i^k| ≥ m − p + 1``, generalised to size options). These
guarantees also hold for the LP relaxation, so nothing is lost.

Level refinement (``levels="iterative"``, the default from
:data:`ITERATIVE_MIN_PAIRS` pairs on, after García, Labbé & Marín 2011): the model
first holds, per client, only the levels up to a few beyond its cost in the heuristic
plan; the top kept ``z`` then stands for "served at the next cost or more", so the
model is a relaxation (its bound is valid, its plans are scored at their true cost).
A round stops as soon as HiGHS finds a plan that is inexact for some client (callback
on improving solutions); those clients get the levels up to their plan cost and the
next round starts from the best plan. Proven optimal when the bound meets the best
plan, or when a round ends optimal with an exact plan.

``"assignment"`` — capacitated problems (CFLP with split demand, capacitated p-median
with single sourcing) and any problem on request: ``x_ij`` per reachable pair
(continuous share, or binary under single sourcing), rows ``assign`` (Σ_j x_ij + u_i =
1), ``capacity`` (Σ_i d_i x_ij ≤ Q_j y_j), strong ``link`` rows x_ij ≤ y_j only where
the capacity row does not already imply them (uncapacitated columns, or d_i < Q_j;
never for existing facilities), plus the valid ``total_capacity`` cut Σ_j Q_j y_j ≥
Σ_i d_i. The size options of a site that share one cost column (same reachable
clients and costs) share one ``x`` per client: ``capacity`` becomes Σ_i d_i x_is ≤
Σ_{j ∈ s} Q_j y_j and ``link`` x_is ≤ Σ_{j ∈ s} y_j (at most one option opens), which
divides the number of pairs by the number of options.

Common blocks: ``p`` (Σ y = p), ``site`` (Σ of a site's options ≤ 1), ``budget``
(Σ f_j y_j ≤ budget). Existing facilities have ``y_j`` fixed to 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.errors import SolverError
from planner.siting.heuristic import HeuristicResult, greedy_interchange
from planner.siting.instance import SitingInstance
from planner.siting.reduce import can_reduce, reduce_pmedian

__all__ = [
    "FORMULATIONS",
    "BuiltModel",
    "SitingSolution",
    "REDUCE_MIN_PAIRS",
    "build_model",
    "solve_model",
    "extract",
    "plan_cost",
    "relative_gap",
    "solve",
]

#: formulation names accepted by :func:`build_model`
FORMULATIONS = ("auto", "radius", "assignment")
#: ``solve(formulation="auto")`` uses the Lagrangian method
#: (:mod:`planner.siting.lagrange`) for capacitated split-demand instances from this
#: many stored pairs on: above it HiGHS may not even finish the root LP of the strong
#: assignment formulation within minutes
LAGRANGIAN_MIN_PAIRS = 200_000
#: ``solve`` reduces p-median instances by Lagrangian reduced costs from this many pairs on
REDUCE_MIN_PAIRS = 20_000
#: ``levels="auto"`` refines the radius levels iteratively from this many stored pairs
ITERATIVE_MIN_PAIRS = 1_000
#: levels kept beyond each client's cost in the heuristic plan in the first round
_EXTRA_LEVELS = 5


@dataclass
class BuiltModel:
    """A siting model loaded into HiGHS, with the maps needed to read a solution.

    Attributes
    ----------
    instance : SitingInstance
        The instance the model was built from.
    formulation : {"radius", "assignment"}
        The formulation used.
    highs : highspy.Highs
        The HiGHS object holding the model.
    cols : dict of str to slice
        Named variable blocks: ``open`` (y, one per facility column) and ``level``
        (radius z) or ``assign`` (x per pair) and ``unserved`` (u per client).
    rows : dict of str to slice
        Named constraint blocks (``cover``, ``assign``, ``capacity``, ``link``,
        ``total_capacity``, ``p``, ``site``, ``budget``).
    offset : float
        Objective constant.
    level_client, level_value : ndarray
        Radius formulation: client and cost threshold of every ``z`` column.
    pair_client, pair_facility, pair_cost : ndarray
        Assignment formulation: client, facility column and unit cost of every ``x``
        (for a group of size options, ``pair_facility`` is its first column).
    pair_group, column_group : ndarray
        Assignment formulation: facility group of every ``x`` and of every column. The
        size options of a site with identical cost columns form one group and share
        one ``x`` per client; any other column is a group of its own.
    heuristic : HeuristicResult or None
        The warm start found before solving, if any.
    warm_start_accepted : bool
        Whether HiGHS accepted the warm start as a feasible solution.
    build_seconds, solve_seconds : float
        Wall times.
    solved : bool
        Whether :func:`solve_model` ran.
    time_limit : float
        Time limit of the last solve.
    cutoff : ndarray or None
        Radius formulation solved by level refinement (``levels="iterative"``): per
        client, the cost from which its levels are left out of the current model.
    incumbent_open, incumbent_cost, lower_bound, proven, rounds
        Level refinement: best plan found (open columns and true cost), best lower
        bound, whether the plan is proven optimal, and the number of MIP rounds.
    """

    instance: SitingInstance
    formulation: str
    highs: highspy.Highs
    cols: dict[str, slice]
    rows: dict[str, slice]
    offset: float = 0.0
    level_client: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    level_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pair_client: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_facility: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pair_group: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    column_group: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    heuristic: HeuristicResult | None = None
    warm_start_accepted: bool = False
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    solved: bool = False
    time_limit: float = np.inf
    cutoff: np.ndarray | None = None
    incumbent_open: np.ndarray | None = None
    incumbent_cost: float = np.inf
    lower_bound: float = -np.inf
    proven: bool = False
    rounds: int = 0

    @property
    def num_cols(self) -> int:
        """Number of variables."""
        return int(self.highs.getNumCol())

    @property
    def num_rows(self) -> int:
        """Number of constraints."""
        return int(self.highs.getNumRow())

    @property
    def num_nz(self) -> int:
        """Number of nonzeros of the constraint matrix."""
        return int(self.highs.getNumNz())

    def block_sizes(self) -> dict[str, int]:
        """Size of every named variable and constraint block."""
        out = {f"col:{k}": s.stop - s.start for k, s in self.cols.items()}
        out.update({f"row:{k}": s.stop - s.start for k, s in self.rows.items()})
        return out


@dataclass
class SitingSolution:
    """A siting plan and how sure the solver is about it.

    Attributes
    ----------
    open : int ndarray
        Open facility columns (sorted), existing ones included.
    assignment : DataFrame
        One row per (client, facility) with a positive share: ``client, facility,
        share`` (fraction of the client's demand), ``demand`` (units served) and
        ``cost`` (objective contribution, ``weight · cost · share``).
    unserved : ndarray of shape (n,)
        Unserved demand of each client, in demand units (zero unless allowed).
    unserved_share : ndarray of shape (n,)
        Unserved fraction of each client (also meaningful for zero demand).
    objective : float
        Cost of the extracted plan, recomputed from the instance data.
    model_objective : float
        Objective value reported by HiGHS.
    bound : float
        Best proven lower bound.
    gap : float
        Relative gap ``(objective − bound) / |objective|`` (0 when proven optimal).
    status : str
        HiGHS model status (``Optimal``, ``Time limit reached`` …).
    proven_optimal : bool
        True when HiGHS proved optimality within its gap tolerance.
    solve_seconds, build_seconds : float
        Wall times.
    formulation : str
        Formulation used.
    heuristic_objective : float or None
        Cost of the heuristic warm start (None when none was computed or feasible).
    from_heuristic : bool
        True when the returned plan is the heuristic's (the MILP did not improve it).
    nodes : int
        Branch-and-bound nodes.
    lagrangian : LagrangianResult or None
        Formulation ``"lagrangian"`` only: the multipliers, subgradient steps and
        polishing windows of :func:`planner.siting.lagrange.solve_lagrangian`.
    """

    open: np.ndarray
    assignment: pd.DataFrame
    unserved: np.ndarray
    unserved_share: np.ndarray
    objective: float
    model_objective: float
    bound: float
    gap: float
    status: str
    proven_optimal: bool
    solve_seconds: float
    build_seconds: float
    formulation: str
    heuristic_objective: float | None = None
    from_heuristic: bool = False
    nodes: int = 0
    lagrangian: object | None = None

    def assignment_matrix(self, n: int, m: int) -> sp.csr_matrix:
        """Shares as a sparse ``n × m`` matrix."""
        a = self.assignment
        return sp.csr_matrix(
            (a["share"].to_numpy(float), (a["client"].to_numpy(), a["facility"].to_numpy())),
            shape=(n, m),
        )

    def summary(self) -> str:
        """One line: objective, bound, gap, status, time and the heuristic's share."""
        h = (
            ""
            if self.heuristic_objective is None
            else f", heuristic {self.heuristic_objective:.6g}"
        )
        src = " (heuristic plan)" if self.from_heuristic else ""
        return (
            f"{self.formulation}: objective {self.objective:.10g}{src}, bound "
            f"{self.bound:.10g}, gap {self.gap:.2e}, {self.status}, "
            f"{self.solve_seconds:.2f} s{h}"
        )


# ---------------------------------------------------------------------------- helpers


def _sorted_pairs(inst: SitingInstance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored pairs sorted by client, then cost, then facility column."""
    csr = inst.cost
    r = np.repeat(np.arange(inst.n), np.diff(csr.indptr))
    order = np.lexsort((csr.indices, csr.data, r))
    return r[order], csr.indices[order].astype(np.int64), csr.data[order]


def _guaranteed_position(inst: SitingInstance, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per client, the first position in its sorted row at which service is certain.

    Certain when an existing facility is reached, or when the sites with a column not
    yet reached are fewer than ``p`` (then one of the ``p`` open sites is reached).
    Returns ``-1`` for clients without such a position.
    """
    n = inst.n
    nnz = len(r)
    starts = np.searchsorted(r, np.arange(n))
    pos = np.arange(nnz) - starts[r]
    big = np.iinfo(np.int64).max
    gpos = np.full(n, big, dtype=np.int64)
    ex = inst.existing[c]
    np.minimum.at(gpos, r[ex], pos[ex])
    if inst.p is not None and nnz:
        S = inst.n_sites
        need = S - inst.p + 1  # complete sites needed among the reached ones
        if need <= 0:
            gpos[:] = np.minimum(gpos, 0)
        else:
            site_size = np.bincount(inst.site, minlength=S)
            key = r * S + inst.site[c]
            uk, inv = np.unique(key, return_inverse=True)
            cnt = np.bincount(inv)
            last = np.zeros(len(uk), np.int64)
            np.maximum.at(last, inv, pos)
            done = cnt == site_size[uk % S]
            ev_row, ev_pos = uk[done] // S, last[done]
            o = np.lexsort((ev_pos, ev_row))
            ev_row, ev_pos = ev_row[o], ev_pos[o]
            first = np.searchsorted(ev_row, ev_row)  # start of each row's events
            rank = np.arange(len(ev_row)) - first
            sel = rank == need - 1
            np.minimum.at(gpos, ev_row[sel], ev_pos[sel])
    gpos[gpos == big] = -1
    return gpos


def _plan_distance(
    inst: SitingInstance, is_open: np.ndarray, r: np.ndarray, c: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """Cost of each client's cheapest open column (inf when none is reachable)."""
    sel = is_open[c]
    rr, vv = r[sel], v[sel]
    _, idx = np.unique(rr, return_index=True)
    d = np.full(inst.n, np.inf)
    d[rr[idx]] = vv[idx]
    return d


def _next_cost(n: int, r: np.ndarray, v: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Per client, the smallest stored cost above ``d`` (inf when there is none)."""
    above = v > d[r]
    out = np.full(n, np.inf)
    np.minimum.at(out, r[above], v[above])
    return out


def _common_rows(
    inst: SitingInstance, row0: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list, list, dict[str, slice]]:
    """Rows on the ``open`` columns only: p, site, budget (y occupies columns 0..m−1)."""
    m = inst.m
    R, C, V, lo, up = [], [], [], [], []
    blocks: dict[str, slice] = {}
    row = row0
    if inst.p is not None:
        R.append(np.full(m, row))
        C.append(np.arange(m))
        V.append(np.ones(m))
        lo.append(np.array([inst.p], float))
        up.append(np.array([inst.p], float))
        blocks["p"] = slice(row, row + 1)
        row += 1
    size = np.bincount(inst.site, minlength=inst.n_sites)
    multi = size > 1
    if multi.any():
        sid = np.cumsum(multi) - 1  # row number of every multi-option site
        cols = np.flatnonzero(multi[inst.site])
        k = int(multi.sum())
        R.append(row + sid[inst.site[cols]])
        C.append(cols)
        V.append(np.ones(len(cols)))
        lo.append(np.full(k, -np.inf))
        up.append(np.ones(k))
        blocks["site"] = slice(row, row + k)
        row += k
    if inst.budget is not None:
        f = inst.open_cost
        cols = np.flatnonzero(f != 0)
        R.append(np.full(len(cols), row))
        C.append(cols)
        V.append(f[cols])
        lo.append(np.array([-np.inf]))
        up.append(np.array([inst.budget]))
        blocks["budget"] = slice(row, row + 1)
        row += 1
    return R, C, V, lo, up, blocks


def _pass(
    h: highspy.Highs,
    col_cost: np.ndarray,
    col_lo: np.ndarray,
    col_up: np.ndarray,
    integer: np.ndarray,
    R: np.ndarray,
    C: np.ndarray,
    V: np.ndarray,
    row_lo: np.ndarray,
    row_up: np.ndarray,
    offset: float,
) -> None:
    """Hand one column-wise sparse model to HiGHS."""
    n_col, n_row = len(col_cost), len(row_lo)
    a = sp.csc_matrix((V, (R, C)), shape=(n_row, n_col))
    a.sum_duplicates()
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = col_cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_up
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_up
    lp.offset_ = float(offset)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    kinds = np.where(integer, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
    lp.integrality_ = kinds.tolist()
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the siting model (passModel error); please report this")


# ---------------------------------------------------------------------------- build


def _build_radius(
    inst: SitingInstance, h: highspy.Highs, cutoff: np.ndarray | None = None
) -> BuiltModel:
    """Radius formulation; with ``cutoff``, the relaxation restricted to lower levels.

    ``cutoff[i]`` (finite) drops the levels of client *i* at or above that cost: its top
    kept ``z`` then means "served at a cost ≥ cutoff[i]" and the client need not be
    served in the model. The model is a relaxation of the full one (its value is a
    lower bound on the true cost of its plan), exact for every client whose plan cost
    is below its cutoff.
    """
    n, m = inst.n, inst.m
    w = inst.obj_weight
    r, c, v = _sorted_pairs(inst)
    nnz = len(r)
    reach = np.bincount(r, minlength=n)
    starts = np.searchsorted(r, np.arange(n))
    gpos = _guaranteed_position(inst, r, c)
    trunc = gpos >= 0
    dstar = np.full(n, np.inf)
    dstar[trunc] = v[np.minimum(starts[trunc] + gpos[trunc], max(nnz - 1, 0))]
    if cutoff is not None:
        dstar = np.minimum(dstar, cutoff)
        trunc = np.isfinite(dstar)
    keep = v < dstar[r]
    rk, ck, vk = r[keep], c[keep], v[keep]
    # distinct levels among the kept pairs
    new = np.ones(len(rk), bool)
    if len(rk):
        new[1:] = (rk[1:] != rk[:-1]) | (vk[1:] != vk[:-1])
    lvl_of_pair = np.cumsum(new) - 1
    L = int(new.sum())
    lvl_row, lvl_val = rk[new], vk[new]
    first = np.ones(L, bool)
    last = np.ones(L, bool)
    if L:
        first[1:] = lvl_row[1:] != lvl_row[:-1]
        last[:-1] = lvl_row[1:] != lvl_row[:-1]
    nxt = np.empty(L)
    nxt[:-1] = lvl_val[1:]
    nxt[last] = dstar[lvl_row[last]]
    has_z = ~last | trunc[lvl_row] | inst.allow_unserved
    fin = np.isfinite(nxt)
    z_cost = np.where(
        fin,
        w[lvl_row] * (np.where(fin, nxt, lvl_val) - lvl_val),
        inst.unserved_cost[lvl_row] - w[lvl_row] * lvl_val,
    )
    z_cost = z_cost[has_z]
    Z = int(has_z.sum())
    z_col = np.full(L, -1, np.int64)
    z_col[has_z] = m + np.arange(Z)
    # cover rows (one per level), numbered 0..L−1
    lv = np.arange(L)
    R = [lvl_of_pair, lv[has_z], lv[~first]]
    C = [ck, z_col[has_z], z_col[lv[~first] - 1]]
    V = [np.ones(len(ck)), np.ones(Z), -np.ones(int((~first).sum()))]
    row_lo = [first.astype(float)]
    row_up = [np.full(L, np.inf)]
    rows = {"cover": slice(0, L)}
    R2, C2, V2, lo2, up2, blocks = _common_rows(inst, L)
    rows.update(blocks)
    first_cost = np.zeros(n)
    first_cost[reach > 0] = v[starts[reach > 0]]
    offset = float(np.sum(w * first_cost))
    if inst.allow_unserved:
        offset += float(np.sum(inst.unserved_cost[reach == 0]))
    col_lo = np.concatenate([inst.existing.astype(float), np.zeros(Z)])
    col_up = np.ones(m + Z)
    integer = np.r_[np.ones(m, bool), np.zeros(Z, bool)]
    _pass(
        h,
        np.concatenate([inst.open_cost, z_cost]),
        col_lo,
        col_up,
        integer,
        np.concatenate(R + R2),
        np.concatenate(C + C2),
        np.concatenate(V + V2),
        np.concatenate(row_lo + lo2),
        np.concatenate(row_up + up2),
        offset,
    )
    zl = lv[has_z]
    return BuiltModel(
        inst,
        "radius",
        h,
        cols={"open": slice(0, m), "level": slice(m, m + Z)},
        rows=rows,
        offset=offset,
        level_client=lvl_row[zl],
        level_value=lvl_val[zl],
    )


def _site_groups(inst: SitingInstance) -> tuple[np.ndarray, np.ndarray]:
    """Group the columns whose options can share one assignment variable per client.

    The size options of a site are grouped when they all have the same cost column
    (same reachable clients, same costs) and all finite or all infinite capacities;
    every other column is a group of its own.

    Returns
    -------
    group : int ndarray of shape (m,)
        Group of every column, numbered in order of the first column.
    rep : int ndarray of shape (G,)
        Representative (first) column of every group.
    """
    m, S, site = inst.m, inst.n_sites, inst.site
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    size = np.bincount(site, minlength=S)
    ok = size > 1
    if ok.any():
        csc = inst.cost.tocsc()
        csc.sort_indices()
        first = np.full(S, m, np.int64)
        np.minimum.at(first, site, np.arange(m))
        rep_j = first[site]
        cnt = np.diff(csc.indptr)
        same = cnt == cnt[rep_j]
        fin = np.isfinite(inst.capacity)
        same &= fin == fin[rep_j]
        cols = np.flatnonzero(same & (rep_j != np.arange(m)) & ok[site])
        lengths = cnt[cols]
        tot = int(lengths.sum())
        if tot:
            owner = np.repeat(np.arange(len(cols)), lengths)
            offs = np.arange(tot) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            a = csc.indptr[cols][owner] + offs
            b = csc.indptr[rep_j[cols]][owner] + offs
            diff = (csc.indices[a] != csc.indices[b]) | (csc.data[a] != csc.data[b])
            bad = np.bincount(owner, weights=diff, minlength=len(cols)) > 0
            same[cols[bad]] = False
        ok[site[~same]] = False
    # a grouped column takes its site's key; the others get a key of their own
    key = np.where(ok[site], site, S + np.arange(m))
    _, first_col, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_col, kind="stable"), kind="stable")
    group = order[inv].astype(np.int64)
    rep = np.sort(first_col).astype(np.int64)
    return group, rep


def _build_assignment(inst: SitingInstance, h: highspy.Highs) -> BuiltModel:
    n, m = inst.n, inst.m
    w, d, Q = inst.obj_weight, inst.demand, inst.capacity
    group, rep = _site_groups(inst)
    G = len(rep)
    g_cap = np.bincount(group, weights=np.where(np.isfinite(Q), Q, 0.0), minlength=G)
    g_fin = np.isfinite(Q[rep])  # all options of a group share finiteness
    g_cap = np.where(g_fin, g_cap, np.inf)
    g_max = np.zeros(G)
    np.maximum.at(g_max, group, Q)
    g_ex = np.bincount(group, weights=inst.existing, minlength=G) > 0
    # pairs of the representative columns only: one x per (client, group)
    csr = inst.cost
    pr = np.repeat(np.arange(n), np.diff(csr.indptr))
    pc = csr.indices.astype(np.int64)
    pv = csr.data
    is_rep = np.zeros(m, bool)
    is_rep[rep] = True
    sel = is_rep[pc]
    pr, pc, pv = pr[sel], pc[sel], pv[sel]
    pg = group[pc]
    if inst.single_source:  # a pair whose demand exceeds every capacity is never usable
        ok = d[pr] <= g_max[pg] * (1 + 1e-12)
        pr, pc, pv, pg = pr[ok], pc[ok], pv[ok], pg[ok]
    E = len(pr)
    U = n if inst.allow_unserved else 0
    x0, u0 = m, m + E
    n_col = m + E + U
    # columns
    dp = d[pr]
    with np.errstate(divide="ignore", invalid="ignore"):
        x_up = np.where(dp > 0, np.minimum(1.0, g_max[pg] / np.where(dp > 0, dp, 1.0)), 1.0)
    if inst.single_source:
        x_up = np.ones(E)
    col_cost = np.concatenate([inst.open_cost, w[pr] * pv, inst.unserved_cost[:U]])
    col_lo = np.concatenate([inst.existing.astype(float), np.zeros(E + U)])
    col_up = np.concatenate([np.ones(m), x_up, np.ones(U)])
    integer = np.zeros(n_col, bool)
    integer[:m] = True
    if inst.single_source:
        integer[x0:u0] = True
    R, C, V, lo, up = [], [], [], [], []
    rows: dict[str, slice] = {}
    # assign: Σ_g x_ig + u_i = 1
    R += [pr, np.arange(U)]
    C += [x0 + np.arange(E), u0 + np.arange(U)]
    V += [np.ones(E), np.ones(U)]
    lo.append(np.ones(n))
    up.append(np.ones(n))
    rows["assign"] = slice(0, n)
    row = n
    # capacity: Σ_i d_i x_ig − Σ_{j ∈ g} Q_j y_j ≤ 0 for finite groups that some pair uses
    used = np.zeros(G, bool)
    used[pg] = True
    capg = np.flatnonzero(g_fin & used)
    if capg.size:
        cap_row = np.full(G, -1, np.int64)
        cap_row[capg] = row + np.arange(len(capg))
        on = cap_row[pg] >= 0
        ycols = np.flatnonzero(cap_row[group] >= 0)
        R += [cap_row[pg[on]], cap_row[group[ycols]]]
        C += [x0 + np.flatnonzero(on), ycols]
        V += [dp[on], -Q[ycols]]
        lo.append(np.full(len(capg), -np.inf))
        up.append(np.zeros(len(capg)))
        rows["capacity"] = slice(row, row + len(capg))
        row += len(capg)
    # link: x_ig ≤ Σ_{j ∈ g} y_j where not implied by the capacity row or an existing option
    need = ~g_ex[pg] & ~(g_fin[pg] & (dp > 0) & (g_max[pg] <= dp))
    li = np.flatnonzero(need)
    k = len(li)
    lrow = np.full(E, -1, np.int64)
    lrow[li] = row + np.arange(k)
    # every column of the pair's group: expand pairs by group size
    g_size = np.bincount(group, minlength=G)
    g_order = np.argsort(group, kind="stable")
    g_start = np.r_[0, np.cumsum(g_size)[:-1]]
    cnt = g_size[pg[li]]
    owner = np.repeat(li, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ycol = g_order[g_start[pg[owner]] + offs]
    R += [lrow[li], lrow[owner]]
    C += [x0 + li, ycol]
    V += [np.ones(k), -np.ones(len(owner))]
    lo.append(np.full(k, -np.inf))
    up.append(np.zeros(k))
    rows["link"] = slice(row, row + k)
    row += k
    # valid cut: the open capacity covers the total demand
    fin = np.isfinite(Q)
    if not inst.allow_unserved and np.all(fin) and m:
        R.append(np.full(m, row))
        C.append(np.arange(m))
        V.append(Q.astype(float))
        lo.append(np.array([float(d.sum())]))
        up.append(np.array([np.inf]))
        rows["total_capacity"] = slice(row, row + 1)
        row += 1
    R2, C2, V2, lo2, up2, blocks = _common_rows(inst, row)
    rows.update(blocks)
    _pass(
        h,
        col_cost,
        col_lo,
        col_up,
        integer,
        np.concatenate(R + R2),
        np.concatenate(C + C2),
        np.concatenate(V + V2),
        np.concatenate(lo + lo2),
        np.concatenate(up + up2),
        0.0,
    )
    cols = {"open": slice(0, m), "assign": slice(x0, u0)}
    if U:
        cols["unserved"] = slice(u0, u0 + U)
    return BuiltModel(
        inst,
        "assignment",
        h,
        cols=cols,
        rows=rows,
        pair_client=pr,
        pair_facility=pc,
        pair_cost=pv,
        pair_group=pg,
        column_group=group,
    )


def _raise_if_infeasible(inst: SitingInstance) -> None:
    problems = inst.check()
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SolverError(
            f"the siting instance cannot have a feasible plan ({len(problems)} problem(s) "
            f"found before solving):\n{lines}\n"
            "Fix the data, or set allow_unserved=True to get a plan that reports the "
            "demand that cannot be served."
        )


def _warm_start_values(built: BuiltModel, heur: HeuristicResult) -> np.ndarray | None:
    """Column values of the heuristic plan in ``built``'s variable order."""
    inst = built.instance
    x = np.zeros(built.num_cols)
    x[: inst.m] = heur.open.astype(float)
    served = heur.assigned >= 0
    dist = np.full(inst.n, np.inf)
    if served.any():
        i = np.flatnonzero(served)
        dist[i] = np.asarray(inst.cost[i, heur.assigned[i]]).ravel()
    if built.formulation == "radius":
        sl = built.cols["level"]
        x[sl] = (dist[built.level_client] > built.level_value).astype(float)
        return x
    if not inst.uncapacitated:
        return None  # capacities ignored by the heuristic: not a valid start
    sl = built.cols["assign"]
    g_of = np.where(served, built.column_group[np.maximum(heur.assigned, 0)], -1)
    x[sl] = (g_of[built.pair_client] == built.pair_group).astype(float)
    if "unserved" in built.cols:
        x[built.cols["unserved"]] = (~served).astype(float)
    return x


def _set_start(h: highspy.Highs, vals: np.ndarray) -> bool:
    """Hand a full column vector to HiGHS as the initial incumbent."""
    sol = highspy.HighsSolution()
    sol.col_value = vals.tolist()
    sol.value_valid = True
    return h.setSolution(sol) == highspy.HighsStatus.kOk


def build_model(
    instance: SitingInstance,
    formulation: str = "auto",
    *,
    warm_start: bool = True,
    heuristic_seconds: float = 20.0,
    levels: str = "auto",
) -> BuiltModel:
    """Build the siting MILP in HiGHS (see the module docstring).

    Parameters
    ----------
    instance : SitingInstance
        The instance; :meth:`SitingInstance.check` runs first.
    formulation : {"auto", "radius", "assignment"}
        ``auto`` picks ``radius`` for uncapacitated instances, else ``assignment``.
    warm_start : bool
        Run :func:`~planner.siting.heuristic.greedy_interchange` and hand its plan to
        HiGHS as the initial incumbent (uncapacitated instances).
    heuristic_seconds : float
        Time limit of the heuristic.
    levels : {"auto", "all", "iterative"}
        Radius formulation only. ``all`` puts every distance level in the model.
        ``iterative`` (García, Labbé & Marín 2011) starts from the levels up to a few
        beyond each client's cost in the heuristic plan and adds levels between MIP
        rounds (see :func:`solve_model`); it needs a feasible heuristic plan and no
        unserved demand, and otherwise falls back to ``all``. ``auto`` is
        ``iterative`` from :data:`ITERATIVE_MIN_PAIRS` stored pairs on.

    Returns
    -------
    BuiltModel

    Raises
    ------
    SolverError
        When the pre-solve check finds the instance infeasible, or the formulation
        does not fit the instance.
    """
    t0 = time.perf_counter()
    if formulation not in FORMULATIONS:
        raise SolverError(
            f"unknown formulation '{formulation}'; choose one of {', '.join(FORMULATIONS)}"
        )
    inst = instance
    _raise_if_infeasible(inst)
    if formulation == "auto":
        formulation = "radius" if inst.uncapacitated else "assignment"
    if formulation == "radius" and not inst.uncapacitated:
        raise SolverError(
            "the radius formulation needs uncapacitated facilities (every capacity "
            "infinite); use formulation='assignment' for capacitated instances"
        )
    if levels not in ("auto", "all", "iterative"):
        raise SolverError(f"unknown levels '{levels}'; choose auto, all or iterative")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    heur = None
    if warm_start and inst.uncapacitated:
        heur = greedy_interchange(inst, max_seconds=heuristic_seconds)
        if heur is not None and not heur.feasible:
            heur = None
    iterative = (
        formulation == "radius"
        and heur is not None
        and not inst.allow_unserved
        and (levels == "iterative" or (levels == "auto" and inst.cost.nnz >= ITERATIVE_MIN_PAIRS))
    )
    if iterative:
        r, c, v = _sorted_pairs(inst)
        dist = _plan_distance(inst, heur.open, r, c, v)
        cutoff = _next_cost(inst.n, r, v, dist)
        for _ in range(_EXTRA_LEVELS):
            cutoff = np.where(np.isfinite(cutoff), _next_cost(inst.n, r, v, cutoff), cutoff)
        built = _build_radius(inst, h, cutoff)
        built.cutoff = cutoff
        built.incumbent_open = heur.open.copy()
        built.incumbent_cost = heur.objective
    elif formulation == "radius":
        built = _build_radius(inst, h)
    else:
        built = _build_assignment(inst, h)
    if heur is not None:
        built.heuristic = heur
        vals = _warm_start_values(built, heur)
        if vals is not None:
            built.warm_start_accepted = _set_start(h, vals)
    built.build_seconds = time.perf_counter() - t0
    return built


# ---------------------------------------------------------------------------- solve


def solve_model(
    built: BuiltModel,
    time_limit: float | None = None,
    mip_rel_gap: float = 1e-9,
    threads: int | None = None,
    log: bool = False,
) -> None:
    """Run HiGHS on a built model.

    Parameters
    ----------
    built : BuiltModel
        From :func:`build_model`.
    time_limit : float, optional
        Seconds; None for no limit.
    mip_rel_gap : float
        Relative optimality gap at which HiGHS stops.
    threads : int, optional
        HiGHS threads (default: HiGHS's choice).
    log : bool
        Print the HiGHS log.
    """
    h = built.highs
    h.setOptionValue("output_flag", bool(log))
    h.setOptionValue("time_limit", float(np.inf if time_limit is None else time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", 0)
    if threads:
        h.setOptionValue("threads", int(threads))
    built.time_limit = float(np.inf if time_limit is None else time_limit)
    t0 = time.perf_counter()
    if built.cutoff is not None:
        _solve_iterative(built, float(mip_rel_gap))
    else:
        _run(h)
    built.solve_seconds = time.perf_counter() - t0
    built.solved = True


def _run(h: highspy.Highs) -> None:
    if h.run() == highspy.HighsStatus.kError:
        raise SolverError(
            f"HiGHS failed on the siting model ({h.modelStatusToString(h.getModelStatus())})"
        )


def _solve_iterative(built: BuiltModel, mip_rel_gap: float) -> None:
    """Radius formulation by level refinement (García, Labbé & Marín 2011).

    Every round solves the model restricted to the levels below each client's cutoff,
    a relaxation of the full model: its dual bound is a lower bound, and the true cost
    of its plan an upper bound. Clients whose plan cost lies above their cutoff get
    the levels up to that cost, and the next round starts from the best plan so far.
    It stops when the bounds meet (within ``mip_rel_gap``), when a round's optimal
    plan is exact for every client, or at the time limit.
    """
    inst, h = built.instance, built.highs
    m = inst.m
    r, c, v = _sorted_pairs(inst)
    w = inst.obj_weight
    t0 = time.perf_counter()
    found: dict[str, np.ndarray] = {}

    def check(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plan costs and inexact clients of ``y``; keeps the best plan."""
        d = _plan_distance(inst, y, r, c, v)
        if np.all(np.isfinite(d)):
            cost = float(np.sum(w * d) + np.sum(inst.open_cost[y]))
            if cost < built.incumbent_cost:
                built.incumbent_cost, built.incumbent_open = cost, y
        return d, d > built.cutoff

    def on_solution(e) -> None:
        # an improving plan of the restricted model that is inexact somewhere: stop the
        # round and refine at once (its optimum is not needed, only a valid bound)
        y = np.asarray(e.data_out.mip_solution)[:m] > 0.5
        d, viol = check(y)
        if viol.any() and "viol" not in found:
            found["d"], found["viol"] = d, viol

    def on_interrupt(e) -> None:  # HiGHS reads the interrupt flag in this callback only
        e.interrupt("viol" in found)  # (the flag persists between runs: always set it)

    h.cbMipImprovingSolution.subscribe(on_solution)
    h.cbMipInterrupt.subscribe(on_interrupt)
    try:
        while True:
            built.rounds += 1
            found.clear()
            left = built.time_limit - (time.perf_counter() - t0)
            h.setOptionValue("time_limit", float(max(left, 0.0)))
            _run(h)
            info = h.getInfo()
            status = h.getModelStatus()
            optimal = status == highspy.HighsModelStatus.kOptimal
            viol = np.zeros(inst.n, bool)
            if "viol" in found:
                d, viol = found["d"], found["viol"]
            elif info.primal_solution_status == 2:
                d, viol = check(np.asarray(h.getSolution().col_value)[:m] > 0.5)
            if np.isfinite(info.mip_dual_bound):
                built.lower_bound = max(built.lower_bound, float(info.mip_dual_bound))
            ub = built.incumbent_cost
            if built.lower_bound >= ub - mip_rel_gap * max(abs(ub), 1e-12) or (
                optimal and not viol.any()
            ):
                built.proven = True
                return
            stopped = status == highspy.HighsModelStatus.kInterrupt and "viol" in found
            if not (optimal or stopped) or left <= 0 or not viol.any():
                return
            _refine(built, h, r, c, v, d, viol)
    finally:
        h.cbMipImprovingSolution.unsubscribe(on_solution)
        h.cbMipInterrupt.unsubscribe(on_interrupt)


def _refine(
    built: BuiltModel,
    h: highspy.Highs,
    r: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    d: np.ndarray,
    viol: np.ndarray,
) -> None:
    """Add the levels up to each inexact client's plan cost; restart from the best plan."""
    inst, m = built.instance, built.instance.m
    cutoff = built.cutoff.copy()
    cutoff[viol] = _next_cost(inst.n, r, v, d)[viol]
    nb = _build_radius(inst, h, cutoff)
    built.cols, built.rows, built.offset = nb.cols, nb.rows, nb.offset
    built.level_client, built.level_value = nb.level_client, nb.level_value
    built.cutoff = cutoff
    dist = _plan_distance(inst, built.incumbent_open, r, c, v)
    vals = np.zeros(built.num_cols)
    vals[:m] = built.incumbent_open
    vals[built.cols["level"]] = dist[built.level_client] > built.level_value
    _set_start(h, vals)


# ---------------------------------------------------------------------------- extract


def _plan_from_open(
    inst: SitingInstance, is_open: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each client to its cheapest open reachable column: (client, facility, share) + served."""
    r, c, _ = _sorted_pairs(inst)
    sel = is_open[c]
    rr, cc = r[sel], c[sel]
    _, idx = np.unique(rr, return_index=True)
    clients, facs = rr[idx], cc[idx]
    served = np.zeros(inst.n, bool)
    served[clients] = True
    return clients, facs, np.ones(len(clients)), served


def _scored_plan(
    inst: SitingInstance, is_open: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, float]:
    """The plan of an open set, clients to their cheapest open column, with its true cost.

    Returns the open columns, the assignment table, the unserved share per client and the
    objective (:func:`plan_cost`).
    """
    clients, facs, share, served = _plan_from_open(inst, is_open)
    un_share = (~served).astype(float)
    table = _table(inst, clients, facs, share)
    open_cols = np.flatnonzero(is_open)
    return open_cols, table, un_share, plan_cost(inst, open_cols, table, un_share)


def _table(
    inst: SitingInstance, clients: np.ndarray, facs: np.ndarray, share: np.ndarray
) -> pd.DataFrame:
    unit = np.asarray(inst.cost[clients, facs]).ravel() if len(clients) else np.zeros(0)
    return pd.DataFrame(
        {
            "client": clients.astype(np.int64),
            "facility": facs.astype(np.int64),
            "share": share,
            "demand": inst.demand[clients] * share,
            "cost": inst.obj_weight[clients] * unit * share,
        }
    )


def _solution(
    inst: SitingInstance,
    open_cols: np.ndarray,
    table: pd.DataFrame,
    un_share: np.ndarray,
    objective: float,
    bound: float,
    **rest,
) -> SitingSolution:
    """A :class:`SitingSolution` from a scored plan and a bound.

    The derived fields (unserved demand, the bound capped at the plan's cost, the gap)
    are computed here, in one place, for every solution method.
    """
    bound = min(float(bound), objective)
    return SitingSolution(
        open=open_cols,
        assignment=table,
        unserved=un_share * inst.demand,
        unserved_share=un_share,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        **rest,
    )


def relative_gap(objective: float, bound: float) -> float:
    """Proven relative gap ``(objective − bound) / |objective|`` (0 when they are equal)."""
    if objective == bound:
        return 0.0
    return float((objective - bound) / max(abs(objective), 1e-12))


def plan_cost(
    inst: SitingInstance, open_cols: np.ndarray, table: pd.DataFrame, unserved_share: np.ndarray
) -> float:
    """Objective of a plan recomputed from the instance data.

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    open_cols : int ndarray
        Open columns.
    table : DataFrame
        Assignment table as in :class:`SitingSolution`.
    unserved_share : ndarray of shape (n,)
        Unserved fraction of every client's demand.
    """
    cost = float(table["cost"].sum()) + float(inst.open_cost[open_cols].sum())
    return cost + float(np.sum(inst.unserved_cost * unserved_share))


def extract(built: BuiltModel) -> SitingSolution:
    """Read the plan, bound and gap from a solved model.

    Parameters
    ----------
    built : BuiltModel
        A model after :func:`solve_model`.

    Returns
    -------
    SitingSolution

    Raises
    ------
    SolverError
        When HiGHS found no feasible plan (infeasible model, or time limit reached
        before a first plan), with a diagnosis.
    """
    if not built.solved:
        raise SolverError("extract() called before solve_model()")
    h = built.highs
    inst = built.instance
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    heur = built.heuristic
    if built.cutoff is not None:
        return _extract_iterative(built, status, int(info.mip_node_count))
    have = info.primal_solution_status == 2
    if not have and heur is None:
        if h.getModelStatus() in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            raise SolverError(
                "HiGHS proved the siting model infeasible although the pre-solve checks "
                "passed: some group of clients cannot be served by the capacity within "
                "their reach under the rules (p, budget, size options, single sourcing). "
                "Set allow_unserved=True to see which demand cannot be served."
            )
        raise SolverError(
            f"HiGHS found no feasible plan ({status}) within the time limit of "
            f"{built.time_limit:g} s; raise the time limit"
        )
    if have:
        xv = np.asarray(h.getSolution().col_value)
        is_open = xv[: inst.m] > 0.5
        if built.formulation == "radius":
            clients, facs, share, served = _plan_from_open(inst, is_open)
            un_share = (~served).astype(float)
        else:
            x = xv[built.cols["assign"]]
            pos = x > (0.5 if inst.single_source else 1e-9)
            share = np.ones(int(pos.sum())) if inst.single_source else np.minimum(x[pos], 1.0)
            clients, facs = built.pair_client[pos], built.pair_facility[pos]
            # a group of size options: the pair is served by the group's open column
            open_of = np.full(inst.m, -1, np.int64)  # open column of every group
            open_of[built.column_group[is_open]] = np.flatnonzero(is_open)
            g_open = open_of[built.pair_group[pos]]
            facs = np.where(g_open >= 0, g_open, facs)
            tot = np.bincount(clients, weights=share, minlength=inst.n)
            un_share = np.clip(1.0 - tot, 0.0, 1.0)
            un_share[un_share < 1e-9] = 0.0
        table = _table(inst, clients, facs, share)
        open_cols = np.flatnonzero(is_open)
        objective = plan_cost(inst, open_cols, table, un_share)
        model_obj = float(info.objective_function_value)
    else:
        objective = model_obj = np.inf
    from_heur = False
    if heur is not None and heur.objective < objective - 1e-9 * max(1.0, abs(heur.objective)):
        # HiGHS returned nothing better than the warm start: report the heuristic plan
        open_cols, table, un_share, objective = _scored_plan(inst, heur.open)
        model_obj = objective
        from_heur = True
    if heur is not None and abs(heur.objective - objective) <= 1e-9 * max(1.0, abs(objective)):
        from_heur = True
    bound = float(info.mip_dual_bound)
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return _solution(
        inst,
        open_cols,
        table,
        un_share,
        objective,
        bound if np.isfinite(bound) else -np.inf,
        model_objective=model_obj,
        status=status,
        proven_optimal=bool(optimal),
        solve_seconds=built.solve_seconds,
        build_seconds=built.build_seconds,
        formulation=built.formulation,
        heuristic_objective=None if heur is None else heur.objective,
        from_heuristic=from_heur,
        nodes=int(info.mip_node_count),
    )


def _extract_iterative(built: BuiltModel, status: str, nodes: int) -> SitingSolution:
    """The best plan of a level-refinement solve, with its proven bound."""
    inst, heur = built.instance, built.heuristic
    open_cols, table, un_share, objective = _scored_plan(inst, built.incumbent_open)
    from_heur = heur is not None and abs(heur.objective - objective) <= 1e-9 * max(
        1.0, abs(objective)
    )
    return _solution(
        inst,
        open_cols,
        table,
        un_share,
        objective,
        built.lower_bound,
        model_objective=built.incumbent_cost,
        status="Optimal" if built.proven else status,
        proven_optimal=built.proven,
        solve_seconds=built.solve_seconds,
        build_seconds=built.build_seconds,
        formulation=built.formulation,
        heuristic_objective=None if heur is None else heur.objective,
        from_heuristic=bool(from_heur),
        nodes=nodes,
    )


def _widen(sol: SitingSolution, keep: np.ndarray, bound: float, seconds: float) -> SitingSolution:
    """A solution of the reduced instance in the columns of the whole instance.

    The reduced instance holds every plan cheaper than the heuristic's plan, and that
    plan too, so its optimum, bound and gap are those of the whole instance; the
    Lagrangian bound of the reduction is also valid and may be the better one.
    """
    a = sol.assignment.copy()
    a["facility"] = keep[a["facility"].to_numpy()]
    best = min(max(sol.bound, bound), sol.objective)
    gap = relative_gap(sol.objective, best)
    sol.open = keep[sol.open]
    sol.assignment = a
    sol.bound = best
    sol.gap = float(gap)
    sol.solve_seconds = seconds
    return sol


def solve(
    instance: SitingInstance,
    formulation: str = "auto",
    *,
    time_limit: float | None = None,
    mip_rel_gap: float = 1e-9,
    threads: int | None = None,
    log: bool = False,
    warm_start: bool = True,
    levels: str = "auto",
    reduce: bool = True,
) -> SitingSolution:
    """Check, build, solve and extract in one call.

    Parameters
    ----------
    instance : SitingInstance
        The instance.
    formulation : {"auto", "radius", "assignment", "lagrangian"}
        See :func:`build_model`; ``"lagrangian"`` solves by Lagrangian relaxation and
        local search (:func:`planner.siting.lagrange.solve_lagrangian`: capacitated or
        not, split demand, no p, no budget). ``"auto"`` takes it for capacitated
        instances with at least :data:`LAGRANGIAN_MIN_PAIRS` pairs when it applies.
    time_limit : float, optional
        HiGHS time limit in seconds (the best plan found is returned, with its gap).
    mip_rel_gap : float
        Relative gap at which HiGHS stops.
    threads : int, optional
        HiGHS threads.
    log : bool
        Print the HiGHS log.
    warm_start : bool
        Use the greedy + interchange heuristic as the initial incumbent.
    levels : {"auto", "all", "iterative"}
        Radius formulation: all distance levels at once, or level refinement (see
        :func:`build_model`).
    reduce : bool
        p-median instances from :data:`REDUCE_MIN_PAIRS` pairs on: drop the sites that
        Lagrangian reduced costs exclude from any plan cheaper than the heuristic's
        (:mod:`planner.siting.reduce`) before building the model; the optimum and the
        proof are those of the whole instance.

    Returns
    -------
    SitingSolution

    Raises
    ------
    SolverError
        With a diagnosis when the instance is infeasible or no plan was found in time.
    """
    if formulation == "lagrangian" or (
        formulation == "auto"
        and not instance.uncapacitated
        and instance.cost.nnz >= LAGRANGIAN_MIN_PAIRS
    ):
        from planner.siting.lagrange import applicable, solve_lagrangian

        why = applicable(instance)
        if why is None:
            return solve_lagrangian(
                instance, time_limit=time_limit, mip_rel_gap=mip_rel_gap, threads=threads, log=log
            )
        if formulation == "lagrangian":
            raise SolverError(f"the Lagrangian method cannot solve this instance: {why}")
        formulation = "assignment"
    heur_s = 20.0 if time_limit is None else max(0.1, min(20.0, 0.2 * time_limit))
    if (
        reduce
        and warm_start
        and formulation in ("auto", "radius")
        and instance.cost.nnz >= REDUCE_MIN_PAIRS
        and can_reduce(instance)
        and not instance.check()
    ):
        t0 = time.perf_counter()
        heur = greedy_interchange(instance, max_seconds=heur_s)
        if heur is not None and heur.feasible:
            red = reduce_pmedian(instance, heur.objective, heur.open)
            # a local search from the relaxed problem's sites often finds a cheaper plan
            # (pmed22: the optimum, 1 % below the greedy + interchange plan); a cheaper
            # plan to test against removes more sites
            again = greedy_interchange(instance, max_seconds=heur_s, start=red.relaxed)
            if (
                again is not None
                and again.feasible
                and again.objective < red.upper - 1e-9 * max(1.0, abs(red.upper))
            ):
                red = reduce_pmedian(instance, again.objective, again.open)
            if len(red.keep) < instance.m:
                sub = SitingInstance(
                    instance.cost[:, red.keep],
                    instance.demand,
                    p=instance.p,
                    weight=instance.weight,
                    single_source=instance.single_source,
                )
                left = (
                    None
                    if time_limit is None
                    else max(0.1, time_limit - (time.perf_counter() - t0))
                )
                sol = solve(
                    sub,
                    formulation,
                    time_limit=left,
                    mip_rel_gap=mip_rel_gap,
                    threads=threads,
                    log=log,
                    warm_start=warm_start,
                    levels=levels,
                    reduce=False,
                )
                return _widen(sol, red.keep, red.bound, time.perf_counter() - t0)
    built = build_model(
        instance, formulation, warm_start=warm_start, heuristic_seconds=heur_s, levels=levels
    )
    solve_model(built, time_limit=time_limit, mip_rel_gap=mip_rel_gap, threads=threads, log=log)
    return extract(built)
