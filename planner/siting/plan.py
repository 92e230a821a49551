"""The phased siting model on HiGHS: build → solve → extract (分年度布局优化模型).

Decision variables (all created with array calls; no Python loop per variable):

- ``flow[e, p]`` ≥ 0 — seats of demand point *i* served by facility *f* in period *p*,
  for every eligible pair *e = (i, f)* of the sparse reach matrix;
- ``unserved[i, p]`` ≥ 0 — seats of point *i* without a school in period *p*;
- ``build[o, p]`` ∈ {0, 1} — option *o* (an expansion or a new school) opens in period
  *p* (only periods at or after its earliest year).

Named constraint blocks:

- ``demand[i, p]``:   Σ_f flow + unserved = demand
- ``capacity[f, p]``: Σ_i flow − Σ_{o, p' ≤ p} seats(f, o) · build[o, p'] ≤ capacity₀(f, p)
- ``one_option[g]``:  Σ_{o ∈ g, p} build[o, p] ≤ 1   (one project per school or site)
- ``budget``:         Σ cost(o) · build[o, p] ≤ budget

Objective (near-lexicographic weights): unserved seat-periods first
(:data:`UNSERVED_WEIGHT` per seat and period, far above any seat's cost), then the
discounted cost in 10,000 yuan (万元), then travel (:data:`TRAVEL_WEIGHT` per seat-km,
and :data:`BEYOND_RADIUS_WEIGHT` per seat-km beyond the norm's service radius).
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

__all__ = ["PlanModel", "PlanResult", "build_model", "solve_model", "extract", "plan"]

#: objective weight of one unserved seat in one period, in 万元 (far above any seat's cost)
UNSERVED_WEIGHT = 1000.0
#: travel weight in 万元 per seat-km (small: breaks ties between plans of equal cost)
TRAVEL_WEIGHT = 0.001
#: extra weight in 万元 per seat-km travelled beyond the norm's service radius
BEYOND_RADIUS_WEIGHT = 0.05


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


@dataclass
class PlanResult:
    """What the optimiser decided and how sure it is.

    Attributes
    ----------
    projects : DataFrame
        ``ref, kind, school_type, classes_primary, classes_junior, seats_primary,
        seats_junior, cost, year``.
    assignments : DataFrame
        ``point_id, fac_id, stage, year, seats, distance_m``.
    unserved : DataFrame
        ``point_id, stage, unit_id, year, seats, reason``.
    status : str
        HiGHS model status.
    objective, bound, gap : float
        Objective value, best proven bound and relative gap (0 = proven optimal).
    solve_seconds, build_seconds : float
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
) -> PlanModel:
    """Build the MILP (see the module docstring) as one sparse matrix passed to HiGHS."""
    t0 = time.perf_counter()
    P = len(problem.periods)
    N = len(problem.points)
    F = len(problem.facilities)
    opt = problem.options
    dist = problem.dist.tocoo()
    E = dist.nnz
    i_e, f_e, d_e = dist.row, dist.col, dist.data
    base = int(base_year if base_year is not None else problem.periods.min() - 1)
    # build columns: (option, period) with period ≥ earliest year
    earliest = opt["earliest_year"].to_numpy(int) if len(opt) else np.zeros(0, int)
    oo, pp = np.meshgrid(np.arange(len(opt)), np.arange(P), indexing="ij")
    ok = problem.periods[pp] >= earliest[oo] if len(opt) else np.zeros((0, P), bool)
    b_opt, b_per = oo[ok], pp[ok]
    B = len(b_opt)
    n_flow, n_un = E * P, N * P
    n_col = n_flow + n_un + B
    # costs
    beyond = np.maximum(d_e - problem.radius[i_e], 0.0)
    c_flow = np.repeat(TRAVEL_WEIGHT * d_e / 1000 + BEYOND_RADIUS_WEIGHT * beyond / 1000, P)
    c_un = np.full(n_un, UNSERVED_WEIGHT)
    cost = opt["cost"].to_numpy(float) if len(opt) else np.zeros(0)
    disc = (1.0 + discount_rate) ** -(problem.periods[b_per] - base).astype(float)
    c_build = cost[b_opt] * disc / 1e4
    col_cost = np.concatenate([c_flow, c_un, c_build])
    # flow column k = e * P + p ; unserved column = n_flow + i * P + p ; build = n_flow + n_un + j
    e_idx = np.repeat(np.arange(E), P)
    p_idx = np.tile(np.arange(P), E)
    flow_col = np.arange(n_flow)
    rows, cols, vals = [], [], []
    # demand rows: i * P + p
    rows.append(i_e[e_idx] * P + p_idx)
    cols.append(flow_col)
    vals.append(np.ones(n_flow))
    rows.append(np.arange(n_un))
    cols.append(n_flow + np.arange(n_un))
    vals.append(np.ones(n_un))
    r_dem = (0, N * P)
    # capacity rows: N*P + f * P + p
    off = N * P
    rows.append(off + f_e[e_idx] * P + p_idx)
    cols.append(flow_col)
    vals.append(np.ones(n_flow))
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
        cols.append(n_flow + n_un + j2)
        vals.append(-s2)
    r_cap = (off, off + F * P)
    off += F * P
    # one option per group
    groups = pd.factorize(opt["group"])[0] if len(opt) else np.zeros(0, int)
    G = int(groups.max()) + 1 if len(groups) else 0
    if B:
        rows.append(off + groups[b_opt])
        cols.append(n_flow + n_un + np.arange(B))
        vals.append(np.ones(B))
    r_grp = (off, off + G)
    off += G
    n_row = off
    row_lower = np.concatenate(
        [problem.demand.reshape(-1), np.full(F * P, -np.inf), np.full(G, -np.inf)]
    )
    row_upper = np.concatenate([problem.demand.reshape(-1), problem.cap0.reshape(-1), np.ones(G)])
    if budget is not None and B:
        rows.append(np.full(B, n_row))
        cols.append(n_flow + n_un + np.arange(B))
        vals.append(cost[b_opt])
        row_lower = np.append(row_lower, -np.inf)
        row_upper = np.append(row_upper, budget)
        n_row += 1
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_col)
    )
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = col_cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.concatenate([np.full(n_flow + n_un, np.inf), np.ones(B)])
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * (n_flow + n_un) + [
        highspy.HighsVarType.kInteger
    ] * B
    h = highspy.Highs()
    h.silent()
    status = h.passModel(lp)
    if status != highspy.HighsStatus.kOk:
        raise SolverError(
            f"HiGHS refused the siting model ({status}); please report this instance."
        )
    blocks = {"demand": r_dem, "capacity": r_cap, "one_option": r_grp}
    if budget is not None and B:
        blocks["budget"] = (n_row - 1, n_row)
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
    )


def solve_model(
    model: PlanModel, *, time_limit: float = 60.0, mip_gap: float = 1e-4, threads: int | None = None
) -> None:
    """Solve with HiGHS (time limit in seconds; relative MIP gap)."""
    h = model.highs
    h.setOptionValue("time_limit", float(time_limit))
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
    un = x[model.n_flow : model.n_flow + model.n_unserved].reshape(-1, P)
    bld = x[model.n_flow + model.n_unserved :]
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
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else obj
    gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else 0.0
    return PlanResult(
        projects,
        assignments,
        unserved,
        status,
        obj,
        bound,
        gap,
        float(h.getRunTime()),
        model.build_seconds,
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
) -> PlanResult:
    """Build, solve and extract in one call."""
    m = build_model(problem, budget=budget, discount_rate=discount_rate, base_year=base_year)
    solve_model(m, time_limit=time_limit, mip_gap=mip_gap)
    return extract(m)
