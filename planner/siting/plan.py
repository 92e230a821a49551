"""The phased siting model on HiGHS: build → solve → extract (分年度布局优化模型).

Decision variables (all created with array calls; no Python loop per variable):

- ``flow[e, p]`` ≥ 0 — seats of demand point *i* served by facility *f* in period *p*,
  for every eligible pair *e = (i, f)* of the sparse reach matrix;
- ``unserved[i, p]`` ≥ 0 — seats of point *i* without a school in period *p*;
- ``build[o, p]`` ∈ {0, 1} — option *o* (an expansion or a new school) opens in period
  *p* (only periods at or after its earliest year);
- ``boarding_short[u]`` ∈ [0, 1] — unit *u* of the boarding rule left without a boarding
  school (only when the problem has ``boarding_units``).

With ``single_sourcing`` each flow column is instead the binary "point *i* goes wholly to
facility *f* in period *p*", entering the demand and capacity rows with the point's
demand as coefficient (no extra columns or rows); ``unserved`` stays continuous, and the
demand row makes it 0 or the whole demand.

Named constraint blocks:

- ``demand[i, p]``:   Σ_f flow + unserved = demand
- ``capacity[f, p]``: Σ_i flow − Σ_{o, p' ≤ p} seats(f, o) · build[o, p'] ≤ capacity₀(f, p)
- ``one_option[g]``:  Σ_{o ∈ g, p} build[o, p] ≤ 1   (one project per school or site)
- ``budget``:         Σ cost(o) · build[o, p] ≤ budget
- ``closest`` (optional, 就近入学): see :func:`_closest_rows`
- ``boarding`` (optional): Σ_{boarding-capable o in u, p} build[o, p] + boarding_short[u] ≥ 1

Objective (near-lexicographic weights): unserved seat-periods first
(:data:`UNSERVED_WEIGHT` per seat and period, far above any seat's cost), then the
discounted cost in 10,000 yuan (万元), then travel (:data:`TRAVEL_WEIGHT` per seat-km,
and :data:`BEYOND_RADIUS_WEIGHT` per seat-km beyond the norm's service radius); a unit
short of its boarding school costs :data:`BOARDING_WEIGHT`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.errors import SolverError
from planner.siting.problem import SitingProblem
from planner.siting.warm import lp_rounding_start

__all__ = ["PlanModel", "PlanResult", "build_model", "solve_model", "extract", "plan"]

#: objective weight of one unserved seat in one period, in 万元 (far above any seat's cost)
UNSERVED_WEIGHT = 1000.0
#: travel weight in 万元 per seat-km (small: breaks ties between plans of equal cost)
TRAVEL_WEIGHT = 0.001
#: extra weight in 万元 per seat-km travelled beyond the norm's service radius
BEYOND_RADIUS_WEIGHT = 0.05
#: weight in 万元 of a unit left without the boarding school the rule asks for (worth
#: 10,000 unserved seat-periods: the rule yields only where it cannot be met)
BOARDING_WEIGHT = 1e7


@dataclass
class PlanModel:
    """A built model: the HiGHS object and the index maps of its variable blocks."""

    problem: SitingProblem
    highs: highspy.Highs
    n_flow: int
    n_unserved: int
    build_opt: np.ndarray
    build_period: np.ndarray
    pair_row: np.ndarray
    pair_col: np.ndarray
    pair_dist: np.ndarray
    blocks: dict[str, tuple[int, int]] = field(default_factory=dict)
    discount_rate: float = 0.03
    build_seconds: float = 0.0
    flow_scale: np.ndarray | None = None
    boarding_units: list[str] = field(default_factory=list)
    #: LP relaxation optimum from the warm start (a proven lower bound), if computed
    lp_bound: float | None = None
    #: seconds spent on the warm start (LP relaxation and rounding)
    warm_seconds: float = 0.0


@dataclass
class PlanResult:
    """What the optimiser decided and how sure it is.

    Attributes
    ----------
    projects : DataFrame
        ``ref, kind, school_type, classes_primary, classes_junior, seats_primary,
        seats_junior, cost, year`` (and ``unit_id``, ``boarding`` when the options
        carry them).
    assignments : DataFrame
        ``point_id, fac_id, stage, year, seats, distance_m``.
    unserved : DataFrame
        ``point_id, stage, unit_id, year, seats, reason``.
    status : str
        HiGHS model status.
    objective, bound, gap : float
        Objective value, best proven bound and relative gap (0 = proven optimal).
    solve_seconds, build_seconds : float
    boarding_unmet : list of str
        Units of the boarding rule left without a boarding school (no boarding-capable
        site, or the budget cannot pay for one).
    """

    projects: pd.DataFrame
    assignments: pd.DataFrame
    unserved: pd.DataFrame
    status: str
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    build_seconds: float
    boarding_unmet: list[str] = field(default_factory=list)

    @property
    def proven_optimal(self) -> bool:
        """True when the gap is closed to the solver's tolerance."""
        return self.status == "Optimal"


def build_model(
    problem: SitingProblem,
    *,
    budget: float | None = None,
    discount_rate: float = 0.03,
    base_year: int | None = None,
    single_sourcing: bool = False,
    closest_assignment: bool = False,
) -> PlanModel:
    """Build the MILP (see the module docstring) as one sparse matrix passed to HiGHS.

    Parameters
    ----------
    problem : SitingProblem
        The instance; its ``boarding_units`` switch the boarding rows on.
    budget : float, optional
        Total undiscounted cost limit (yuan); None = unlimited.
    discount_rate : float
        Yearly rate discounting costs to ``base_year``.
    base_year : int, optional
        Year costs are discounted to (default: the year before the first period).
    single_sourcing : bool
        Binary assignment: each point wholly to one facility per period.
    closest_assignment : bool
        No assignment to a public facility while an open public one is strictly closer.

    Returns
    -------
    PlanModel
    """
    t0 = time.perf_counter()
    P = len(problem.periods)
    N = len(problem.points)
    F = len(problem.facilities)
    opt = problem.options
    dist = problem.dist.tocoo()
    E = dist.nnz
    i_e, f_e, d_e = dist.row, dist.col, dist.data
    dem = np.asarray(problem.demand, float)
    base = int(base_year if base_year is not None else problem.periods.min() - 1)
    # build columns: (option, period) with period ≥ earliest year
    earliest = opt["earliest_year"].to_numpy(int) if len(opt) else np.zeros(0, int)
    oo, pp = np.meshgrid(np.arange(len(opt)), np.arange(P), indexing="ij")
    ok = problem.periods[pp] >= earliest[oo] if len(opt) else np.zeros((0, P), bool)
    b_opt, b_per = oo[ok], pp[ok]
    B = len(b_opt)
    b_units = list(problem.boarding_units)
    U = len(b_units)
    n_flow, n_un = E * P, N * P
    c_bld = n_flow + n_un  # first build column
    c_slk = c_bld + B  # first boarding-slack column
    n_col = c_slk + U
    # flow column k = e * P + p carries scale[e, p] seats: 1 (split) or the point's whole
    # demand (single sourcing: the column is the binary "point i goes to f in p")
    scale = dem[i_e] if single_sourcing else np.ones((E, P))
    s_flow = scale.reshape(-1)
    # costs
    beyond = np.maximum(d_e - problem.radius[i_e], 0.0)
    c_flow = np.repeat(TRAVEL_WEIGHT * d_e / 1000 + BEYOND_RADIUS_WEIGHT * beyond / 1000, P)
    c_un = np.full(n_un, UNSERVED_WEIGHT)
    cost = opt["cost"].to_numpy(float) if len(opt) else np.zeros(0)
    disc = (1.0 + discount_rate) ** -(problem.periods[b_per] - base).astype(float)
    c_build = cost[b_opt] * disc / 1e4
    col_cost = np.concatenate([c_flow * s_flow, c_un, c_build, np.full(U, BOARDING_WEIGHT)])
    col_upper = np.concatenate(
        [
            np.where(s_flow > 0, 1.0, 0.0) if single_sourcing else np.full(n_flow, np.inf),
            np.full(n_un, np.inf),
            np.ones(B + U),
        ]
    )
    e_idx = np.repeat(np.arange(E), P)
    p_idx = np.tile(np.arange(P), E)
    flow_col = np.arange(n_flow)
    rows, cols, vals = [], [], []
    # demand rows: i * P + p
    rows.append(i_e[e_idx] * P + p_idx)
    cols.append(flow_col)
    vals.append(s_flow)
    rows.append(np.arange(n_un))
    cols.append(n_flow + np.arange(n_un))
    vals.append(np.ones(n_un))
    r_dem = (0, N * P)
    # capacity rows: N*P + f * P + p
    off = N * P
    rows.append(off + f_e[e_idx] * P + p_idx)
    cols.append(flow_col)
    vals.append(s_flow)
    if B:
        adds = problem.adds.tocsc()
        # for build column j=(o, p'): −seats(f, o) in every capacity row (f, p) with p ≥ p'
        o_nnz = np.diff(adds.indptr)[b_opt]
        j_rep = np.repeat(np.arange(B), o_nnz)
        starts = adds.indptr[b_opt]
        within = np.arange(o_nnz.sum()) - np.repeat(np.cumsum(o_nnz) - o_nnz, o_nnz)
        nz = starts.repeat(o_nnz) + within
        f_nz, s_nz = adds.indices[nz], adds.data[nz]
        later = P - b_per[j_rep]  # periods p ≥ p'
        j2 = np.repeat(j_rep, later)
        f2 = np.repeat(f_nz, later)
        s2 = np.repeat(s_nz, later)
        p2 = np.repeat(b_per[j_rep], later) + (
            np.arange(later.sum()) - np.repeat(np.cumsum(later) - later, later)
        )
        rows.append(off + f2 * P + p2)
        cols.append(c_bld + j2)
        vals.append(-s2)
    r_cap = (off, off + F * P)
    off += F * P
    # one option per group
    groups = pd.factorize(opt["group"])[0] if len(opt) else np.zeros(0, int)
    G = int(groups.max()) + 1 if len(groups) else 0
    if B:
        rows.append(off + groups[b_opt])
        cols.append(c_bld + np.arange(B))
        vals.append(np.ones(B))
    r_grp = (off, off + G)
    off += G
    row_lower = [dem.reshape(-1), np.full(F * P, -np.inf), np.full(G, -np.inf)]
    row_upper = [dem.reshape(-1), problem.cap0.reshape(-1), np.ones(G)]
    blocks = {"demand": r_dem, "capacity": r_cap, "one_option": r_grp}
    # closest assignment (就近入学)
    if closest_assignment:
        ca = _closest_rows(problem, scale, b_opt, b_per, c_bld)
        col_upper[ca["banned"]] = 0.0
        rows.append(off + ca["rows"])
        cols.append(ca["cols"])
        vals.append(ca["vals"])
        row_lower.append(np.full(len(ca["rhs"]), -np.inf))
        row_upper.append(ca["rhs"])
        blocks["closest"] = (off, off + len(ca["rhs"]))
        off += len(ca["rhs"])
    # boarding: Σ build of boarding-capable options in unit u + slack_u ≥ 1
    if U:
        capable = opt["boarding"].to_numpy(bool) if "boarding" in opt else np.zeros(len(opt), bool)
        unit_o = opt["unit_id"].to_numpy(object) if "unit_id" in opt else np.full(len(opt), None)
        u_of = pd.Index(b_units).get_indexer(unit_o[b_opt])
        m = capable[b_opt] & (u_of >= 0)
        rows.append(off + np.concatenate([u_of[m], np.arange(U)]))
        cols.append(np.concatenate([c_bld + np.flatnonzero(m), c_slk + np.arange(U)]))
        vals.append(np.ones(int(m.sum()) + U))
        row_lower.append(np.ones(U))
        row_upper.append(np.full(U, np.inf))
        blocks["boarding"] = (off, off + U)
        off += U
    if budget is not None and B:
        rows.append(np.full(B, off))
        cols.append(c_bld + np.arange(B))
        vals.append(cost[b_opt])
        row_lower.append(np.array([-np.inf]))
        row_upper.append(np.array([budget]))
        blocks["budget"] = (off, off + 1)
        off += 1
    n_row = off
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_col)
    )
    a.eliminate_zeros()  # single sourcing: points without demand in a period
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = col_cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = col_upper
    lp.row_lower_ = np.concatenate(row_lower)
    lp.row_upper_ = np.concatenate(row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    flow_type = (
        highspy.HighsVarType.kInteger if single_sourcing else highspy.HighsVarType.kContinuous
    )
    lp.integrality_ = (
        [flow_type] * n_flow
        + [highspy.HighsVarType.kContinuous] * n_un
        + [highspy.HighsVarType.kInteger] * B
        + [highspy.HighsVarType.kContinuous] * U
    )
    h = highspy.Highs()
    h.silent()
    status = h.passModel(lp)
    if status != highspy.HighsStatus.kOk:
        raise SolverError(
            f"HiGHS refused the siting model ({status}); please report this instance."
        )
    return PlanModel(
        problem,
        h,
        n_flow,
        n_un,
        b_opt,
        b_per,
        i_e,
        f_e,
        d_e,
        blocks,
        discount_rate,
        time.perf_counter() - t0,
        flow_scale=scale if single_sourcing else None,
        boarding_units=b_units,
    )


#: distances within this many metres count as equal for closest assignment
CLOSER_TOL_M = 0.01


def _closest_rows(
    problem: SitingProblem,
    scale: np.ndarray,
    b_opt: np.ndarray,
    b_per: np.ndarray,
    c_bld: int,
) -> dict[str, np.ndarray]:
    """Closest-assignment rows (就近入学), built with array calls per period.

    For a point *i*, a public facility *j* and a period *p*, the aggregated
    "farther-facilities" inequality (Rojeski & ReVelle 1970; Wagner & Falkson 1975)

        Σ_{k public, d_ik > d_ij} flow[i, k, p] + demand[i, p] · open[j, p] ≤ demand[i, p]

    forbids any assignment farther than an open *j*. It implies the pairwise form
    ``flow_ik ≤ demand_i (1 − open_j)`` and is among the sets Espejo, Marín &
    Rodríguez-Chía (EJOR 219, 2012, "Closest assignment constraints in discrete location
    problems") recommend for their strong LP relaxation. Existing public schools with
    capacity in period *p* are always open, so for them the inequality is exact
    presolve: flows of *i* to any public facility strictly farther than its nearest open
    existing one are fixed to zero (``banned`` columns), and rows are written only for
    candidate sites strictly closer than that school (``open[j, p]`` = Σ of *j*'s options
    built by *p*) and points with demand in *p*. Rows added: Σ_p #{(i, site j) : d_ij <
    distance to i's nearest open existing public school, demand[i, p] > 0}; columns: none.

    Returns
    -------
    dict
        ``rows`` (0-based within the block), ``cols``, ``vals``, ``rhs`` and ``banned``
        (flow column indices whose upper bound becomes 0).
    """
    P = len(problem.periods)
    N = len(problem.points)
    fac = problem.facilities
    dist = problem.dist.tocoo()
    i_e, f_e, d_e = dist.row, dist.col, dist.data
    E = len(d_e)
    public = fac["public"].to_numpy(bool) if "public" in fac else np.ones(len(fac), bool)
    is_site = (fac["kind"] == "site").to_numpy()
    dem = np.asarray(problem.demand, float)
    n_opt = len(problem.options)
    # open_by[f, j] = 1 when build column j opens facility f
    pattern = problem.adds.tocsr().copy()
    pattern.data = np.ones_like(pattern.data)
    sel = sp.csr_matrix((np.ones(len(b_opt)), (b_opt, np.arange(len(b_opt)))), (n_opt, len(b_opt)))
    open_by = (pattern @ sel).tocsr()
    scale_k = 2.0 * (float(d_e.max()) if E else 1.0) + 10.0  # key = i * scale_k + d
    rows, cols, vals, rhs, banned = [], [], [], [], []
    n_rows = 0
    for p in range(P):  # one pass of array calls per period
        always = public & ~is_site & (problem.cap0[:, p] > 0)
        nearest = np.full(N, np.inf)
        m = always[f_e]
        np.minimum.at(nearest, i_e[m], d_e[m])
        ban = public[f_e] & (d_e > nearest[i_e] + CLOSER_TOL_M)
        banned.append(np.flatnonzero(ban) * P + p)
        has_opts = np.diff(open_by.indptr) > 0
        r_e = np.flatnonzero(
            public[f_e]
            & is_site[f_e]
            & has_opts[f_e]
            & (d_e < nearest[i_e] - CLOSER_TOL_M)
            & (dem[i_e, p] > 0)
        )
        if not len(r_e):
            continue
        mem = np.flatnonzero(public[f_e] & ~ban)
        key = i_e[mem] * scale_k + d_e[mem]
        order = np.argsort(key, kind="stable")
        mem, key = mem[order], key[order]
        start = np.searchsorted(key, i_e[r_e] * scale_k + d_e[r_e] + CLOSER_TOL_M, side="right")
        stop = np.searchsorted(key, (i_e[r_e] + 1) * scale_k, side="left")
        cnt = np.maximum(stop - start, 0)
        some = cnt > 0  # a site with nothing farther needs no row
        r_e, start, cnt = r_e[some], start[some], cnt[some]
        if not len(r_e):
            continue
        rr = np.repeat(np.arange(len(r_e)), cnt)
        pos = np.repeat(start, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        k_e = mem[pos]
        rows.append(n_rows + rr)
        cols.append(k_e * P + p)
        vals.append(scale[k_e, p])
        # open[j, p]: build columns of j's options at periods ≤ p, coefficient demand[i, p]
        ob = open_by[f_e[r_e]].tocoo()
        keep = b_per[ob.col] <= p
        rows.append(n_rows + ob.row[keep])
        cols.append(c_bld + ob.col[keep])
        vals.append(dem[i_e[r_e], p][ob.row[keep]])
        rhs.append(dem[i_e[r_e], p])
        n_rows += len(r_e)

    def cat(xs: list, t: type) -> np.ndarray:
        return np.concatenate(xs).astype(t) if xs else np.zeros(0, t)

    return {
        "rows": cat(rows, np.int64),
        "cols": cat(cols, np.int64),
        "vals": cat(vals, float),
        "rhs": cat(rhs, float),
        "banned": cat(banned, np.int64),
    }


def solve_model(
    model: PlanModel,
    *,
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    warm_start: bool = True,
) -> None:
    """Solve with HiGHS (time limit in seconds, warm start included; relative MIP gap).

    With ``warm_start`` (and a model whose only integers are the build decisions) the
    LP-rounding plan of :func:`planner.siting.warm.lp_rounding_start` is HiGHS's first
    incumbent, and the LP relaxation's optimum is kept as a proven bound.
    """
    h = model.highs
    t0 = time.perf_counter()
    if warm_start:
        start, model.lp_bound = lp_rounding_start(model, time_limit=time_limit)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(start)
            h.setSolution(sol)
    model.warm_seconds = time.perf_counter() - t0
    # at least a second for HiGHS to take up the start and report it
    h.setOptionValue("time_limit", max(float(time_limit) - model.warm_seconds, 1.0))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if threads:
        h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    h.run()


def extract(model: PlanModel) -> PlanResult:
    """Read the solution: projects, assignments, unserved demand with reasons, bound and gap."""
    h = model.highs
    pb = model.problem
    P = len(pb.periods)
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status == 0:  # no feasible solution
        raise SolverError(
            f"the siting model has no solution ({status}) within the time limit; raise "
            "siting.time_limit_s or reduce the instance (larger grid_m, fewer periods)"
        )
    x = np.asarray(h.getSolution().col_value)
    flow = x[: model.n_flow].reshape(-1, P)
    if model.flow_scale is not None:
        flow = flow * model.flow_scale  # single sourcing: binary × the point's demand
    un = x[model.n_flow : model.n_flow + model.n_unserved].reshape(-1, P)
    n_b = len(model.build_opt)
    c_bld = model.n_flow + model.n_unserved
    bld = x[c_bld : c_bld + n_b]
    slack = x[c_bld + n_b : c_bld + n_b + len(model.boarding_units)]
    chosen = bld > 0.5
    opt = pb.options.iloc[model.build_opt[chosen]].copy()
    opt["year"] = pb.periods[model.build_period[chosen]]
    projects = opt.drop(columns=["opt_id", "group", "earliest_year"]).reset_index(drop=True)
    e, p = np.nonzero(flow > 1e-6)
    assignments = pd.DataFrame(
        {
            "point_id": pb.points["point_id"].to_numpy()[model.pair_row[e]],
            "fac_id": model.pair_col[e],
            "stage": pb.points["stage"].to_numpy()[model.pair_row[e]],
            "year": pb.periods[p],
            "seats": flow[e, p],
            "distance_m": model.pair_dist[e],
        }
    )
    i, q = np.nonzero(un > 1e-6)
    reason = _reasons(model, chosen, i)
    unserved = pd.DataFrame(
        {
            "point_id": pb.points["point_id"].to_numpy()[i],
            "stage": pb.points["stage"].to_numpy()[i],
            "unit_id": pb.points["unit_id"].to_numpy()[i],
            "year": pb.periods[q],
            "seats": un[i, q],
            "reason": reason,
        }
    )
    obj = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else -np.inf
    if model.lp_bound is not None:  # the LP relaxation is a bound too (time limit at root)
        bound = max(bound, model.lp_bound)
    if not np.isfinite(bound):
        bound, gap = obj, 0.0
    elif status == "Optimal":
        gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else 0.0
    else:
        bound = min(bound, obj)
        gap = (obj - bound) / max(abs(obj), 1e-12)
    return PlanResult(
        projects,
        assignments,
        unserved,
        status,
        obj,
        bound,
        gap,
        float(h.getRunTime()) + model.warm_seconds,
        model.build_seconds,
        [u for u, v in zip(model.boarding_units, slack, strict=True) if v > 0.5],
    )


def _reasons(model: PlanModel, chosen: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Why each unserved point lacks seats: nothing within reach, budget, or capacity.

    ``budget`` when a budget is set and every still-possible upgrade at a reachable
    school or site (an option larger than the one chosen in its group) costs more than
    the budget left; ``capacity`` otherwise (no option left within reach, or land and
    size caps).
    """
    pb = model.problem
    has_reach = np.diff(pb.dist.indptr) > 0
    reason = np.where(has_reach[points], "capacity", "nothing within reach").astype(object)
    if "budget" not in model.blocks or not len(pb.options):
        return reason
    h = model.highs
    r = model.blocks["budget"][0]
    left = h.getLp().row_upper_[r] - np.asarray(h.getSolution().row_value)[r]
    opt = pb.options
    groups = pd.factorize(opt["group"])[0]
    cost = opt["cost"].to_numpy(float)
    seats = (opt["seats_primary"] + opt["seats_junior"]).to_numpy(float)
    built = np.zeros(len(opt), bool)
    built[model.build_opt[chosen]] = True
    g_cost = np.zeros(groups.max() + 1)
    g_seats = np.zeros(groups.max() + 1)
    np.add.at(g_cost, groups[built], cost[built])
    np.add.at(g_seats, groups[built], seats[built])
    extra = np.where(~built & (seats > g_seats[groups]), cost - g_cost[groups], np.inf)
    adds = pb.adds.tocsr()
    fac_min = np.full(adds.shape[0], np.inf)
    rows = np.repeat(np.arange(adds.shape[0]), np.diff(adds.indptr))
    np.minimum.at(fac_min, rows, extra[adds.indices])
    d = pb.dist[points]
    pt_min = np.full(len(points), np.inf)
    np.minimum.at(pt_min, np.repeat(np.arange(len(points)), np.diff(d.indptr)), fac_min[d.indices])
    blocked = has_reach[points] & np.isfinite(pt_min) & (pt_min > left + 1e-6)
    reason[blocked] = "budget"
    return reason


def plan(
    problem: SitingProblem,
    *,
    budget: float | None = None,
    discount_rate: float = 0.03,
    base_year: int | None = None,
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
    single_sourcing: bool = False,
    closest_assignment: bool = False,
) -> PlanResult:
    """Build, solve and extract in one call (arguments as :func:`build_model`).

    With ``single_sourcing`` the split model is solved first (:data:`WARM_SHARE` of the
    time limit) and its plan starts the single-sourced solve (:func:`_solve_single`);
    the whole call stays within ``time_limit``.
    """
    kw = dict(
        budget=budget,
        discount_rate=discount_rate,
        base_year=base_year,
        closest_assignment=closest_assignment,
    )
    if single_sourcing:
        t0 = time.perf_counter()
        split = build_model(problem, **kw)
        solve_model(split, time_limit=WARM_SHARE * time_limit, mip_gap=mip_gap)
        m = build_model(problem, single_sourcing=True, **kw)
        _solve_single(m, split, time_limit=time_limit, mip_gap=mip_gap, t0=t0)
    else:
        m = build_model(problem, **kw)
        solve_model(m, time_limit=time_limit, mip_gap=mip_gap)
    return extract(m)


#: share of the time limit spent on the split model whose plan warm-starts single sourcing
WARM_SHARE = 0.3
#: share of the time limit spent on the single-sourced model restricted to near pairs
FIX_SHARE = 0.25
#: facilities per point (nearest first) kept in the restricted single-sourced model
NEAREST_K = 3


def _whole_pairs(split: PlanModel) -> np.ndarray:
    """(pair, period) cells where the split plan serves the point wholly from one facility."""
    P = len(split.problem.periods)
    flow = np.asarray(split.highs.getSolution().col_value)[: split.n_flow].reshape(-1, P)
    dem = np.asarray(split.problem.demand, float)[split.pair_row]
    return (dem > 0) & (flow >= dem - 1e-6)


def _solve_single(
    m: PlanModel, split: PlanModel, *, time_limit: float, mip_gap: float, t0: float
) -> None:
    """Single-sourced solve started from the split plan (restrict-and-optimise, then free).

    1. the split plan rounded to whole points (:func:`_single_start`) is the first
       incumbent; 2. with each point restricted to its :data:`NEAREST_K` nearest
       facilities and those the split plan or the rounding used, the model is solved for
       :data:`FIX_SHARE` of the time limit (about 1/6 of the binaries on the demo city);
       3. with all columns free again, HiGHS starts from the best plan so far and runs
       for the time left, so that its bound holds for the full model.
    """
    h = m.highs
    start = _single_start(m, split)
    if start is not None:
        P = len(m.problem.periods)
        E = len(m.pair_row)
        flow = np.asarray(split.highs.getSolution().col_value)[: split.n_flow].reshape(E, P)
        order = np.lexsort((m.pair_dist, m.pair_row))
        first = np.searchsorted(m.pair_row[order], m.pair_row[order], side="left")
        rank = np.empty(E, int)
        rank[order] = np.arange(E) - first  # 0 = the point's nearest facility
        keep = (rank[:, None] < NEAREST_K) | (flow > 1e-6) | (start[: E * P].reshape(E, P) > 0.5)
        cols = np.flatnonzero(~keep.reshape(-1)).astype(np.int32)
        up0 = np.asarray(h.getLp().col_upper_)[cols]
        _set_start(h, start)
        h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.zeros(len(cols)))
        solve_model(m, time_limit=FIX_SHARE * time_limit, mip_gap=mip_gap)
        best = start
        if h.getInfo().primal_solution_status != 0:
            best = _integral(m, np.asarray(h.getSolution().col_value))
        h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), up0)
        _set_start(h, best)
    left = max(time_limit - (time.perf_counter() - t0), 0.1 * time_limit)
    solve_model(m, time_limit=left, mip_gap=mip_gap)


def _integral(m: PlanModel, x: np.ndarray) -> np.ndarray:
    """A solver's single-sourced solution made exact, so that HiGHS accepts it as a start.

    Flows and builds are rounded to 0/1; unserved seats and boarding slack recomputed.
    """
    pb = m.problem
    P = len(pb.periods)
    dem = np.asarray(pb.demand, float)
    x = x.copy()
    c_bld = m.n_flow + m.n_unserved
    n_b = len(m.build_opt)
    x[: m.n_flow] = np.round(x[: m.n_flow])
    x[c_bld : c_bld + n_b] = np.round(x[c_bld : c_bld + n_b])
    served = np.zeros(dem.shape)
    np.add.at(served, m.pair_row, x[: m.n_flow].reshape(-1, P) * dem[m.pair_row])
    x[m.n_flow : c_bld] = np.maximum(dem - served, 0.0).reshape(-1)
    slack = x[c_bld + n_b :]
    x[c_bld + n_b :] = np.where(slack > 0.5, 1.0, 0.0)
    return x


def _set_start(h: highspy.Highs, values: np.ndarray) -> None:
    sol = highspy.HighsSolution()
    sol.col_value = values.tolist()
    sol.value_valid = True
    h.setSolution(sol)


def _single_start(model: PlanModel, split: PlanModel) -> np.ndarray | None:
    """A single-sourced plan from a solved split model (warm start for HiGHS).

    Keeps the split plan's projects; points the split plan serves wholly from one
    facility keep it (:func:`_whole_pairs`); the others (a few per full facility) go,
    largest first, wholly to the facility that took most of their pupils when its seats
    remain, else to the nearest allowed facility with room, else stay unserved. Under
    closest assignment only the point's nearest open public facilities (and private
    ones) are allowed. Returns the column values, or None when the split model has no
    solution.
    """
    if split.highs.getInfo().primal_solution_status == 0:
        return None
    pb = model.problem
    P = len(pb.periods)
    xs = np.asarray(split.highs.getSolution().col_value)
    flow = xs[: split.n_flow].reshape(-1, P)
    n_b = len(split.build_opt)
    c_bld = split.n_flow + split.n_unserved
    bld = xs[c_bld : c_bld + n_b] > 0.5
    E = len(model.pair_row)
    F = len(pb.facilities)
    dem = np.asarray(pb.demand, float)
    # capacity of every facility and period under the split plan's projects
    cap = pb.cap0.astype(float).copy()
    adds = pb.adds.tocsc()
    opened = np.zeros((F, P), bool)
    for j in np.flatnonzero(bld):  # one pass per chosen project (a handful)
        o, p0 = model.build_opt[j], model.build_period[j]
        f = adds.indices[adds.indptr[o] : adds.indptr[o + 1]]
        cap[f, p0:] += adds.data[adds.indptr[o] : adds.indptr[o + 1]][:, None]
        opened[f, p0:] = True
    fac = pb.facilities
    public = fac["public"].to_numpy(bool) if "public" in fac else np.ones(F, bool)
    is_site = (fac["kind"] == "site").to_numpy()
    x_flow = np.zeros((E, P))
    rowptr = np.searchsorted(model.pair_row, np.arange(len(pb.points) + 1))
    closest = "closest" in model.blocks
    whole = _whole_pairs(split)  # (E, P) bool
    x_flow[whole] = 1.0
    used = np.zeros((F, P))
    e_w, p_w = np.nonzero(whole)
    np.add.at(used, (model.pair_col[e_w], p_w), dem[model.pair_row[e_w], p_w])
    done = np.zeros((len(pb.points), P), bool)
    done[model.pair_row[e_w], p_w] = True
    for p in range(P):
        is_open = np.where(is_site, opened[:, p], pb.cap0[:, p] > 0)
        left = cap[:, p] - used[:, p]
        for i in np.argsort(-dem[:, p], kind="stable"):  # largest points first
            if dem[i, p] <= 0:
                break
            if done[i, p]:
                continue
            es = np.arange(rowptr[i], rowptr[i + 1])
            f, d = model.pair_col[es], model.pair_dist[es]
            ok = is_open[f]
            if closest:
                pub_open = ok & public[f]
                near = d[pub_open].min() if pub_open.any() else np.inf
                ok &= ~public[f] | (d <= near + CLOSER_TOL_M)
            ok &= left[f] >= dem[i, p] - 1e-9
            if not ok.any():
                continue
            cand = es[ok]
            k = cand[np.lexsort((model.pair_dist[cand], -flow[cand, p]))[0]]
            x_flow[k, p] = 1.0
            left[model.pair_col[k]] -= dem[i, p]
    served = np.zeros((len(pb.points), P))
    np.add.at(served, model.pair_row, x_flow * dem[model.pair_row])
    un = np.maximum(dem - served, 0.0)
    # the same projects in the single model's build columns (same option × period order)
    b = np.zeros(len(model.build_opt))
    b[bld] = 1.0
    slack = np.zeros(len(model.boarding_units))
    if model.boarding_units:
        opt = pb.options
        cap_o = opt["boarding"].to_numpy(bool)[model.build_opt] & (b > 0.5)
        got = set(opt["unit_id"].to_numpy(object)[model.build_opt][cap_o])
        slack = np.array([0.0 if u in got else 1.0 for u in model.boarding_units])
    return np.concatenate([x_flow.reshape(-1), un.reshape(-1), b, slack])
