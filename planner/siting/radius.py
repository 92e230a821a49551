"""The p-median strategy of the siting engine: radius formulation, level refinement (p 中位).

For uncapacitated one-period instances whose options each open one facility (the
OR-Library p-median, uncapacitated facility location, optionally with a budget and
existing facilities), :func:`solve_pmedian` — chosen by
:func:`planner.siting.solve.strategy_for` — works on the instance's column view
(:class:`~planner.siting.columns.ColumnInstance`: one column per option, existing
facilities forced open):

1. greedy + interchange (:func:`~planner.siting.interchange.greedy_interchange`);
2. Lagrangian reduction of p-median instances (:mod:`planner.siting.reduce`, Beasley
   1993) with a second interchange from the relaxed problem's sites;
3. the compact covering ("radius") formulation of Elloumi (2010) and García, Labbé &
   Marín (2011) on HiGHS, by level refinement: for client *i* with sorted distinct
   reachable costs ``D_i^1 < … < D_i^K``, ``z_i^k ∈ [0, 1]`` means "served at a cost above
   ``D_i^k``"; the objective is ``Σ_i w_i (D_i^1 + Σ_k (D_i^{k+1} − D_i^k) z_i^k) + Σ_j f_j
   y_j``; the covering rows are written incrementally

       z_i^1 + Σ_{j: c_ij = D_i^1} y_j ≥ 1,
       z_i^k − z_i^{k−1} + Σ_{j: c_ij = D_i^k} y_j ≥ 0   (k ≥ 2),

   so each pair appears in one row only. Levels stop where service is guaranteed (an
   existing facility, or fewer than ``p`` sites left unreached). The model first holds
   only the levels up to a few beyond each client's heuristic cost — a relaxation whose
   bound is valid — and a round stops as soon as HiGHS finds a plan that is inexact for
   some client; those clients get their levels and the next round starts from the best
   plan. Proven optimal when the bound meets the plan.

Work limits: interchange moves, reduction steps, level-refinement rounds and
branch-and-bound nodes per round (:class:`~planner.siting.solve.SolveLimits`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.errors import InfeasibleError, SolverError
from planner.siting.columns import ColumnInstance
from planner.siting.instance import SitingInstance
from planner.siting.interchange import greedy_interchange
from planner.siting.reduce import can_reduce, reduce_pmedian

__all__ = ["solve_pmedian", "column_view", "REDUCE_MIN_PAIRS"]

#: p-median instances are reduced by Lagrangian reduced costs from this many pairs on
REDUCE_MIN_PAIRS = 20_000
#: levels kept beyond each client's cost in the heuristic plan in the first round
_EXTRA_LEVELS = 5


@dataclass
class _Radius:
    """A radius model in HiGHS and the state of its level refinement."""

    instance: ColumnInstance
    highs: highspy.Highs
    cols: dict[str, slice]
    rows: dict[str, slice]
    offset: float = 0.0
    level_client: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    level_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cutoff: np.ndarray | None = None
    incumbent_open: np.ndarray | None = None
    incumbent_cost: float = np.inf
    lower_bound: float = -np.inf
    proven: bool = False
    rounds: int = 0
    max_rounds: int = 50
    clock: object = None

    @property
    def num_cols(self) -> int:
        """Number of variables."""
        return int(self.highs.getNumCol())


def _sorted_pairs(inst: ColumnInstance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored pairs sorted by client, then cost, then facility column."""
    csr = inst.cost
    r = np.repeat(np.arange(inst.n), np.diff(csr.indptr))
    order = np.lexsort((csr.indices, csr.data, r))
    return r[order], csr.indices[order].astype(np.int64), csr.data[order]


def _guaranteed_position(inst: ColumnInstance, r: np.ndarray, c: np.ndarray) -> np.ndarray:
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
    inst: ColumnInstance, is_open: np.ndarray, r: np.ndarray, c: np.ndarray, v: np.ndarray
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
    inst: ColumnInstance, row0: int
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


def _build_radius(
    inst: ColumnInstance, h: highspy.Highs, cutoff: np.ndarray | None = None
) -> _Radius:
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
    return _Radius(
        inst,
        h,
        cols={"open": slice(0, m), "level": slice(m, m + Z)},
        rows=rows,
        offset=offset,
        level_client=lvl_row[zl],
        level_value=lvl_val[zl],
    )


def _set_start(h: highspy.Highs, vals: np.ndarray) -> bool:
    """Hand a full column vector to HiGHS as the initial incumbent."""
    sol = highspy.HighsSolution()
    sol.col_value = vals.tolist()
    sol.value_valid = True
    return h.setSolution(sol) == highspy.HighsStatus.kOk


def _run(h: highspy.Highs) -> None:
    if h.run() == highspy.HighsStatus.kError:
        raise SolverError(
            f"HiGHS failed on the siting model ({h.modelStatusToString(h.getModelStatus())})"
        )


def _solve_iterative(built: _Radius, mip_rel_gap: float) -> None:
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
            left = built.clock.left()
            h.setOptionValue("time_limit", float(max(left, 0.01)) if np.isfinite(left) else np.inf)
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
            if status == highspy.HighsModelStatus.kTimeLimit:
                built.clock.cut = True
            if (
                not (optimal or stopped)
                or not viol.any()
                or built.rounds >= built.max_rounds
                or built.clock.expired()
            ):
                return
            _refine(built, h, r, c, v, d, viol)
    finally:
        h.cbMipImprovingSolution.unsubscribe(on_solution)
        h.cbMipInterrupt.unsubscribe(on_interrupt)


def _refine(
    built: _Radius,
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


def column_view(inst: SitingInstance) -> ColumnInstance:
    """The column view of an uncapacitated one-period instance.

    Columns 0…O−1 are the options (each opens its one facility, at its cost), then one
    existing column per facility open without an option (infinite base capacity).
    """
    adds = inst.option_adds.tocsc()
    fac_of_opt = adds.indices[adds.indptr[:-1]]
    exist = np.flatnonzero(np.isinf(inst.capacity[:, 0]))
    cols = np.r_[fac_of_opt, exist]
    # clients without demand count for nothing in the engine's objective: left out
    need = inst.demand[:, 0] > 0
    cost = inst.cost[need].tocsc()[:, cols].tocsr()
    m = len(cols)
    site = np.r_[inst.option_group, inst.G + np.arange(len(exist))]
    pen = float(inst.penalty[0])
    return (
        ColumnInstance(
            cost,
            inst.demand[need, 0],
            fixed_cost=np.r_[inst.option_cost, np.zeros(len(exist))],
            existing=np.r_[np.zeros(inst.O, bool), np.ones(len(exist), bool)],
            site=site,
            p=None if inst.p is None else inst.p + len(exist),
            budget=inst.budget,
            allow_unserved=not inst.must_serve,
            unserved_penalty=None if inst.must_serve else pen,
        )
        if m
        else ColumnInstance(cost, inst.demand[need, 0])
    )


def solve_pmedian(inst: SitingInstance, *, limits, clock, progress=None):
    """The p-median strategy (see the module docstring) → a :class:`SitingSolution`."""
    import time

    from planner.siting.extract import STEP_COLUMNS, SitingSolution, finish, relative_gap
    from planner.siting.solve import Progress
    from planner.siting.transport import score

    t_all = time.perf_counter()
    cols = column_view(inst)
    if cols.n == 0:  # no demand: the cheapest admissible set of projects (none without p)
        order = np.lexsort((np.arange(inst.O), inst.option_cost))
        chosen = np.zeros(inst.G, bool)
        open_period = np.full(inst.O, -1, np.int64)
        for o in order[: 0 if inst.p is None else inst.O]:
            if int((open_period >= 0).sum()) >= inst.p:
                break
            if not chosen[inst.option_group[o]]:
                chosen[inst.option_group[o]] = True
                open_period[o] = 0
        plan = score(inst, open_period)
        return SitingSolution(
            inst,
            open_period,
            plan.flow,
            plan.unserved,
            plan.cost,
            plan.cost,
            0.0,
            "Optimal",
            False,
            "pmedian",
            pd.DataFrame(columns=STEP_COLUMNS),
            plan.cost,
            time.perf_counter() - t_all,
        )
    log: list[dict] = []
    best_open = None
    best_cost = np.inf
    bound = -np.inf
    keep = np.arange(cols.m)

    def note(step, t, **work):
        log.append(
            {
                "step": step,
                "seconds": round(time.perf_counter() - t, 3),
                "plan": best_cost,
                "bound": bound,
                "work": ", ".join(f"{k} {v}" for k, v in work.items()),
            }
        )
        if progress is not None:
            progress(Progress(step, best_cost, bound, clock.elapsed(), log[-1]["work"]))

    t = time.perf_counter()
    moves = limits.heuristic.interchange_moves * 25
    heur = greedy_interchange(cols, max_iter=moves)
    heur_cost = np.nan
    if heur is not None and heur.feasible:
        best_open, best_cost = heur.open.copy(), heur.objective
        heur_cost = heur.objective
    note("heuristic", t, moves=0 if heur is None else heur.iterations)
    sub = cols
    if (
        best_open is not None
        and can_reduce(cols)
        and cols.cost.nnz >= REDUCE_MIN_PAIRS
        and not cols.check()
        and not clock.expired()
    ):
        t = time.perf_counter()
        red = reduce_pmedian(cols, best_cost, best_open)
        again = greedy_interchange(cols, max_iter=moves, start=red.relaxed)
        if (
            again is not None
            and again.feasible
            and again.objective < red.upper - 1e-9 * max(1.0, abs(red.upper))
        ):
            red = reduce_pmedian(cols, again.objective, again.open)
        if red.upper < best_cost:
            best_cost, best_open = red.upper, red.plan.copy()
        bound = max(bound, red.bound)
        keep = red.keep
        if len(keep) < cols.m:
            sub = ColumnInstance(
                cols.cost[:, keep],
                cols.demand,
                p=cols.p,
                weight=cols.weight,
                single_source=cols.single_source,
            )
        note("bound", t, steps=red.steps, kept=f"{len(keep)}/{cols.m}")
    if relative_gap(best_cost, bound) > limits.gap and not clock.expired():
        t = time.perf_counter()
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("mip_max_nodes", int(limits.mip_nodes))
        h.setOptionValue("mip_rel_gap", float(limits.gap))
        start = None if best_open is None else best_open[keep]
        nodes = 0
        if start is not None and not sub.allow_unserved:
            r, c, v = _sorted_pairs(sub)
            dist = _plan_distance(sub, start, r, c, v)
            cutoff = _next_cost(sub.n, r, v, dist)
            for _ in range(_EXTRA_LEVELS):
                cutoff = np.where(np.isfinite(cutoff), _next_cost(sub.n, r, v, cutoff), cutoff)
            built = _build_radius(sub, h, cutoff)
            built.cutoff = cutoff
            built.incumbent_open = start.copy()
            built.incumbent_cost = _cost_of(sub, start)
            built.max_rounds = limits.pmedian_rounds
            built.clock = clock
            vals = np.zeros(built.num_cols)
            vals[: sub.m] = start
            vals[built.cols["level"]] = dist[built.level_client] > built.level_value
            _set_start(h, vals)
            _solve_iterative(built, float(limits.gap))
            nodes = int(h.getInfo().mip_node_count)
            y = built.incumbent_open
            lb = built.lower_bound
            if built.proven:
                lb = max(lb, built.incumbent_cost)
        else:
            built = _build_radius(sub, h)
            if start is not None:
                vals = np.zeros(built.num_cols)
                vals[: sub.m] = start
                r, c, v = _sorted_pairs(sub)
                dist = _plan_distance(sub, start, r, c, v)
                vals[built.cols["level"]] = dist[built.level_client] > built.level_value
                _set_start(h, vals)
            left = clock.left()
            h.setOptionValue("time_limit", float(max(left, 0.01)) if np.isfinite(left) else np.inf)
            _run(h)
            if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
                clock.cut = True
            info = h.getInfo()
            nodes = int(info.mip_node_count)
            if h.getModelStatus() in (
                highspy.HighsModelStatus.kInfeasible,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                raise InfeasibleError(
                    "the siting model is infeasible: no set of projects serves every client "
                    "under the rules (p, budget, size options); allow unserved demand to see "
                    "a plan that reports what cannot be served"
                )
            y = None
            if info.primal_solution_status == 2:
                y = np.asarray(h.getSolution().col_value)[: sub.m] > 0.5
            lb = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else -np.inf
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal and y is not None:
                lb = max(lb, _cost_of(sub, y))
        if y is not None:
            full = np.zeros(cols.m, bool)
            full[keep[np.flatnonzero(y)]] = True
            cost = _cost_of(cols, full)
            if cost < best_cost:
                best_cost, best_open = cost, full
        bound = max(bound, lb)
        note("exact", t, nodes=nodes)
    if best_open is None:
        raise SolverError(
            "the p-median strategy found no plan that serves every client within the work "
            "limits; raise the limits or allow unserved demand"
        )
    open_period = np.where(best_open[: inst.O], 0, -1).astype(np.int64)
    return finish(
        inst,
        score(inst, open_period),
        bound,
        gap_target=limits.gap,
        stopped_by_clock=clock.cut,
        strategy="pmedian",
        steps=log,
        heuristic_objective=heur_cost,
        seconds=time.perf_counter() - t_all,
    )


def _cost_of(cols: ColumnInstance, is_open: np.ndarray) -> float:
    """True cost of an open set: every client at its cheapest open column, or unserved."""
    r, c, v = _sorted_pairs(cols)
    d = _plan_distance(cols, np.asarray(is_open, bool), r, c, v)
    w = cols.obj_weight
    served = np.isfinite(d)
    total = float(np.sum(w[served] * d[served])) + float(
        cols.open_cost[np.asarray(is_open, bool)].sum()
    )
    if (~served).any():
        if not cols.allow_unserved:
            return np.inf
        total += float(cols.unserved_cost[~served].sum())
    return total
