"""Siting for a scenario (学校布局优化): new schools, expansions and the year each opens.

:func:`site_schools` turns a scenario's validated inputs and seat requirement into a
:class:`~planner.siting.problem.SitingProblem`, solves the phased MILP on HiGHS
(:mod:`planner.siting.plan`) and returns tables for the plan draft: the project list
with opening years, unserved demand with reasons, the seat gap after the plan, catchment
polygons and the solver's proof (objective, bound, gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.demand import development_arrivals, development_seats
from planner.geo.roads import SNAP_TOLERANCE_M
from planner.inputs import Inputs
from planner.norms import Norms
from planner.scenario import DemandSpec
from planner.settings import RunSettings
from planner.siting.extract import SitingSolution
from planner.siting.problem import (
    SitingProblem,
    build_problem,
    default_periods,
    snap_distances,
    to_instance,
)
from planner.siting.solve import SolveLimits, solve

if TYPE_CHECKING:  # networkx is only needed when a road network is given
    import networkx as nx

__all__ = ["PlanResult", "SitingOutcome", "limits_from", "plan", "site_schools"]


@dataclass
class PlanResult:
    """What the engine decided for a scenario, in the scenario's terms.

    Attributes
    ----------
    projects : DataFrame
        ``ref, kind, school_type, classes_primary, classes_junior, seats_primary,
        seats_junior, cost, year`` (and ``unit_id``, ``boarding``).
    assignments : DataFrame
        ``point_id, fac_id, stage, year, seats, distance_m``.
    unserved : DataFrame
        ``point_id, stage, unit_id, year, seats, reason``.
    status : str
        ``Optimal``, ``Gap reached``, ``Work limit reached`` or ``Stopped by the clock``.
    objective, bound, gap : float
        The plan's objective (万元-weighted), the best proven bound, the proven gap.
    solve_seconds, build_seconds : float
    stopped_by_clock : bool
        The safety cap cut the solve: another machine may give another plan.
    boarding_unmet : list of str
        Units of the boarding rule left without a boarding school.
    steps : DataFrame
        The engine's steps with their plan, bound and work.
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
    stopped_by_clock: bool = False
    boarding_unmet: list[str] = field(default_factory=list)
    steps: pd.DataFrame | None = None

    @property
    def proven_optimal(self) -> bool:
        """True when the gap is closed."""
        return self.status == "Optimal"


def limits_from(spec, time_limit: float | None = None) -> SolveLimits:
    """The engine's work limits from a scenario's ``[siting]`` (and a CLI time cap)."""
    from dataclasses import replace

    lim = SolveLimits(gap=float(spec.mip_gap), time_limit=float(spec.time_limit_s))
    given = {k: v for k, v in spec.limits.model_dump().items() if v is not None}
    if given:
        lim = replace(lim, **given)
    if time_limit is not None:
        lim = replace(lim, time_limit=float(time_limit))
    return lim


def plan(
    problem: SitingProblem,
    *,
    budget: float | None = None,
    discount_rate: float = 0.03,
    base_year: int | None = None,
    single_sourcing: bool = False,
    closest_assignment: bool = False,
    limits: SolveLimits | None = None,
    progress=None,
    mip_gap: float | None = None,
) -> PlanResult:
    """Solve a scenario's siting problem with the engine and read the plan in its terms.

    ``mip_gap`` overrides the proven gap at which the engine stops (``limits.gap``).
    """
    import time
    from dataclasses import replace

    t0 = time.perf_counter()
    base = int(base_year if base_year is not None else problem.periods.min() - 1)
    inst = to_instance(
        problem,
        budget=budget,
        discount_rate=discount_rate,
        base_year=base,
        single_sourcing=single_sourcing,
        closest_assignment=closest_assignment,
    )
    build_s = time.perf_counter() - t0
    limits = limits or SolveLimits()
    if mip_gap is not None:
        limits = replace(limits, gap=float(mip_gap))
    sol = solve(inst, limits=limits, progress=progress)
    return _result(problem, inst, sol, build_s)


def _result(pb: SitingProblem, inst, sol: SitingSolution, build_s: float) -> PlanResult:
    P = len(pb.periods)
    on = np.flatnonzero(sol.open_period >= 0)
    opt = pb.options.iloc[on].copy()
    opt["year"] = pb.periods[sol.open_period[on]]
    projects = opt.drop(columns=["opt_id", "group", "earliest_year"]).reset_index(drop=True)
    r, f, _ = inst.pairs()
    e, p = np.nonzero(sol.flow > 1e-6)
    pts = pb.points
    assignments = pd.DataFrame(
        {
            "point_id": pts["point_id"].to_numpy()[r[e]],
            "fac_id": f[e],
            "stage": pts["stage"].to_numpy()[r[e]],
            "year": pb.periods[p],
            "seats": sol.flow[e, p],
            "distance_m": inst.distance.data[e],
        }
    )
    i, q = np.nonzero(sol.unserved > 1e-6)
    unserved = pd.DataFrame(
        {
            "point_id": pts["point_id"].to_numpy()[i],
            "stage": pts["stage"].to_numpy()[i],
            "unit_id": pts["unit_id"].to_numpy()[i],
            "year": pb.periods[q],
            "seats": sol.unserved[i, q],
            "reason": _reasons(pb, inst, sol, i),
        }
    )
    unmet = []
    if pb.boarding_units:
        from planner.siting.transport import cover_met

        met = cover_met(inst, sol.open_period)
        unmet = [u for u, ok in zip(pb.boarding_units, met, strict=True) if not ok]
    del P
    return PlanResult(
        projects,
        assignments,
        unserved,
        sol.status,
        sol.objective,
        sol.bound,
        sol.gap,
        sol.seconds,
        build_s,
        sol.stopped_by_clock,
        unmet,
        sol.steps,
    )


def _reasons(pb: SitingProblem, inst, sol: SitingSolution, points: np.ndarray) -> np.ndarray:
    """Why each unserved point lacks seats: nothing within reach, budget, or capacity.

    ``budget`` when a budget is set and every still-possible upgrade at a reachable school
    or site (an option larger than the one chosen in its group) costs more than the
    budget left; ``capacity`` otherwise.
    """
    has_reach = np.diff(pb.dist.indptr) > 0
    reason = np.where(has_reach[points], "capacity", "nothing within reach").astype(object)
    if inst.budget is None or not inst.O:
        return reason
    built = sol.open_period >= 0
    left = inst.budget - float(inst.option_cost[built].sum())
    opt = pb.options
    groups = inst.option_group
    cost = inst.option_cost
    seats = (opt["seats_primary"] + opt["seats_junior"]).to_numpy(float)
    G = inst.G
    g_cost = np.zeros(G)
    g_seats = np.zeros(G)
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


@dataclass
class SitingOutcome:
    """Tables of a siting run.

    Attributes
    ----------
    problem : SitingProblem
    result : PlanResult
    tables : dict
        ``projects`` (with names, unit, seats, cost, year, lon/lat), ``unserved`` (per
        unit, stage, year and reason), ``gaps_after`` (unit × stage × period: capacity
        and seat gap before and after the plan), ``siting_summary`` (solver proof,
        instance size, distance basis and, with a road network, how many demand points
        with pupils and facilities lie farther than :data:`~planner.geo.roads.SNAP_TOLERANCE_M` from
        it), ``siting_checks`` (problems seen before solving).
    catchments : GeoDataFrame
        Cells dissolved by the school that serves most of their pupils, every period.
    allocations : GeoDataFrame
        Lines from the demand points to the schools serving them, every period.
    """

    problem: SitingProblem
    result: PlanResult
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    catchments: gpd.GeoDataFrame | None = None
    allocations: gpd.GeoDataFrame | None = None


def _dev_seats(
    developments: pd.DataFrame | None, norms: Norms, demand: DemandSpec, years: list[int]
) -> pd.DataFrame | None:
    """Seats of planned housing per development × stage × year (:func:`development_seats`)."""
    if not demand.include_developments or developments is None or not len(developments):
        return None
    arr = development_arrivals(
        developments,
        years,
        persons_per_household=demand.persons_per_household,
        occupancy_years=demand.occupancy_years,
    )
    return development_seats(arr, norms, demand)


def site_schools(
    inputs: Inputs,
    norms: Norms,
    needs: pd.DataFrame,
    school_capacity: pd.DataFrame,
    settings: RunSettings,
    *,
    network: nx.Graph | None = None,
    limits: SolveLimits | None = None,
    progress=None,
) -> SitingOutcome:
    """Plan new schools and expansions for a scenario.

    Parameters
    ----------
    inputs : Inputs
        Validated inputs (units, schools; sites and developments when given).
    norms : Norms
        Norms in force.
    needs : DataFrame
        The needs table of the run (``unit_id, stage, year, required_seats, capacity``).
    school_capacity : DataFrame
        From :func:`planner.supply.school_capacity`.
    settings : RunSettings
        The run's settings: ``siting`` (the ``[siting]`` assumptions), ``demand`` (for
        the seats of planned housing), the years and ``time_limit_s``.
    network : networkx.Graph, optional
        Road network in the compute CRS (see
        :func:`~planner.siting.problem.build_problem`; ``planner run`` builds it from
        the scenario's ``roads`` input with :func:`planner.pipeline.road_network`); None =
        straight line × detour.
    limits : SolveLimits, optional
        The engine's work limits and safety cap (default: ``settings.siting`` with the
        cap ``settings.time_limit_s``, :func:`limits_from`).
    progress : callable, optional
        Receives the engine's :class:`~planner.siting.solve.Progress` reports.

    Returns
    -------
    SitingOutcome
    """
    spec = settings.siting
    periods = spec.periods or default_periods(settings.base_year, settings.horizon)
    crs = inputs.compute_crs
    sites = inputs.projected("sites") if "sites" in inputs else None
    devs = inputs.projected("developments") if "developments" in inputs else None
    problem = build_problem(
        units=inputs.projected("units"),
        schools=inputs.projected("schools"),
        sites=sites,
        developments=devs,
        requirement=needs[["unit_id", "stage", "year", "required_seats"]],
        school_capacity=school_capacity,
        dev_seats=_dev_seats(inputs.tables.get("developments"), norms, settings.demand, periods),
        norms=norms,
        spec=spec,
        periods=periods,
        network=network,
    )
    checks = problem.check()
    snapped = None
    if network is not None:  # how far demand points and facilities are from the roads
        snap_p = snap_distances(network, problem.points[["x", "y"]].to_numpy(float))
        snap_f = snap_distances(network, problem.facilities[["x", "y"]].to_numpy(float))
        pupils = np.asarray(problem.demand, float).sum(axis=1) > 0  # points with demand
        far_p = int(((snap_p > SNAP_TOLERANCE_M) & pupils).sum())
        snapped = (far_p, int((snap_f > SNAP_TOLERANCE_M).sum()))
        if snapped[0] or snapped[1]:
            checks = [
                *checks,
                f"{snapped[0]} demand point(s) and {snapped[1]} school/site point(s) are more "
                f"than {SNAP_TOLERANCE_M:.0f} m from the road network: their road distances "
                "begin with a straight leg to the nearest road (add the missing roads?)",
            ]
    result = plan(
        problem,
        budget=spec.budget,
        discount_rate=spec.discount_rate,
        base_year=settings.base_year,
        single_sourcing=spec.single_sourcing,
        closest_assignment=spec.closest_assignment,
        limits=limits if limits is not None else limits_from(spec, settings.time_limit_s),
        progress=progress,
    )
    if result.boarding_unmet:
        checks = [
            *checks,
            "boarding rule not met after solving in "
            f"{len(result.boarding_unmet)} unit(s): {', '.join(map(str, result.boarding_unmet))}",
        ]
    out = SitingOutcome(problem, result)
    out.tables = _tables(inputs, needs, problem, result, checks, crs)
    if result.steps is not None and len(result.steps):
        out.tables["siting_steps"] = result.steps.round({"plan": 3, "bound": 3})
    summary = out.tables["siting_summary"]
    summary["distances"] = "road" if network is not None else "straight"
    if snapped is not None:
        summary["snap_tolerance_m"] = SNAP_TOLERANCE_M
        summary["points_snapped_far"] = snapped[0]
        summary["facilities_snapped_far"] = snapped[1]
    out.catchments = _catchments(problem, result)
    out.allocations = _allocations(problem, result)
    return out


def _tables(inputs, needs, problem, result, checks, crs) -> dict[str, pd.DataFrame]:
    pr = result.projects.copy()
    names = {}
    units_of = {}
    xy = {}
    schools = inputs["schools"].set_index("school_id")
    names.update(schools["name"].to_dict())
    units_of.update(schools["unit_id"].to_dict())
    xy.update({k: (g.x, g.y) for k, g in schools.geometry.items()})
    if "sites" in inputs:
        s = inputs["sites"].set_index("site_id")
        names.update(s["name"].fillna(pd.Series(s.index, index=s.index)).to_dict())
        units_of.update(s["unit_id"].to_dict())
        rp = s.geometry.representative_point()
        xy.update({k: (g.x, g.y) for k, g in rp.items()})
    pr.insert(1, "name", pr["ref"].map(names))
    unit = pr.pop("unit_id") if "unit_id" in pr else pd.Series(pd.NA, index=pr.index)
    pr.insert(2, "unit_id", unit.fillna(pr["ref"].map(units_of)))
    pr["seats"] = pr["seats_primary"] + pr["seats_junior"]
    pr["lon"] = pr["ref"].map(lambda r: xy.get(r, (np.nan, np.nan))[0])
    pr["lat"] = pr["ref"].map(lambda r: xy.get(r, (np.nan, np.nan))[1])
    pr = pr.sort_values(["year", "kind", "ref"]).reset_index(drop=True)
    if "boarding" in pr and not pr["boarding"].astype(bool).any():
        pr = pr.drop(columns="boarding")  # shown only when the boarding rule built one
    un = (
        result.unserved.groupby(["unit_id", "stage", "year", "reason"], as_index=False)[
            "seats"
        ].sum()
        if len(result.unserved)
        else pd.DataFrame(columns=["unit_id", "stage", "year", "reason", "seats"])
    )
    un["seats"] = np.round(un["seats"].astype(float), 1)
    # gap after the plan: project seats by the unit of the school or site
    added = []
    for stage in ("primary", "junior"):
        for y in problem.periods:
            sel = pr[pr["year"] <= y]
            g = sel.groupby("unit_id")[f"seats_{stage}"].sum()
            added.append(
                pd.DataFrame(
                    {"unit_id": g.index, "stage": stage, "year": y, "added_seats": g.to_numpy()}
                )
            )
    added = (
        pd.concat(added, ignore_index=True)
        if added
        else pd.DataFrame(columns=["unit_id", "stage", "year", "added_seats"])
    )
    n = needs.loc[
        needs["year"].isin(problem.periods),
        ["unit_id", "name", "stage", "year", "required_seats", "capacity", "seat_gap"],
    ]
    after = n.merge(added, on=["unit_id", "stage", "year"], how="left")
    after["added_seats"] = after["added_seats"].fillna(0).astype("int64")
    after["capacity_after"] = after["capacity"] + after["added_seats"]
    after["seat_gap_after"] = np.maximum(after["required_seats"] - after["capacity_after"], 0)
    served = result.assignments
    within = (
        served["distance_m"].to_numpy() <= problem.radius[served["point_id"].to_numpy()]
        if len(served)
        else np.array([])
    )
    summary = pd.DataFrame(
        [
            {
                "status": result.status,
                "proven_optimal": result.proven_optimal,
                "stopped_by_clock": bool(result.stopped_by_clock),
                "objective": round(result.objective, 3),
                "best_bound": round(result.bound, 3) if np.isfinite(result.bound) else np.nan,
                "gap": result.gap,
                "solve_seconds": round(result.solve_seconds, 2),
                "build_seconds": round(result.build_seconds, 2),
                "periods": ", ".join(map(str, problem.periods)),
                "demand_points": len(problem.points),
                "facilities": len(problem.facilities),
                "options": len(problem.options),
                "pairs": problem.n_pairs,
                "projects": len(pr),
                "seats_added": int(pr["seats"].sum()) if len(pr) else 0,
                "cost_yuan": float(pr["cost"].sum()) if len(pr) else 0.0,
                "unserved_seat_periods": round(float(result.unserved["seats"].sum()), 1)
                if len(result.unserved)
                else 0.0,
                "share_within_radius": round(
                    float(served.loc[within, "seats"].sum() / served["seats"].sum()), 4
                )
                if len(served)
                else np.nan,
            }
        ]
    )
    if problem.boarding_units:  # only when the boarding rule asks for new schools
        summary["boarding_units_required"] = len(problem.boarding_units)
        summary["boarding_units_unmet"] = len(result.boarding_unmet)
    return {
        "projects": pr,
        "unserved": un,
        "gaps_after": after,
        "siting_summary": summary,
        "siting_checks": pd.DataFrame({"message": checks}),
    }


def _catchments(problem: SitingProblem, result: PlanResult) -> gpd.GeoDataFrame | None:
    """Grid cells dissolved by the school that serves most of their pupils, every period."""
    a = result.assignments
    if not len(a):
        return None
    top = a.sort_values(["year", "seats", "point_id"], ascending=[True, False, True])
    top = top.drop_duplicates(["year", "point_id"])
    cells = problem.cells.set_index("point_id")
    grid = top[top["point_id"].isin(cells.index[cells["source"] == "grid"])]
    g = gpd.GeoDataFrame(
        {
            "fac_id": grid["fac_id"].to_numpy(),
            "stage": grid["stage"].to_numpy(),
            "year": grid["year"].to_numpy(),
        },
        geometry=cells.geometry.loc[grid["point_id"]].to_numpy(),
        crs=problem.crs,
    )
    g = g.dissolve(by=["year", "fac_id", "stage"], as_index=False)
    fac = problem.facilities.set_index("fac_id")
    g["ref"] = g["fac_id"].map(fac["ref"])
    g["kind"] = g["fac_id"].map(fac["kind"])
    g["year"] = g["year"].astype("int64")
    return g[["fac_id", "ref", "kind", "stage", "year", "geometry"]].to_crs(4326)


def _allocations(problem: SitingProblem, result: PlanResult) -> gpd.GeoDataFrame | None:
    """Lines from every demand point to the schools serving it, per period (WGS84)."""
    a = result.assignments
    if not len(a):
        return None
    pts = problem.points.set_index("point_id")
    fac = problem.facilities.set_index("fac_id")
    x0 = pts.loc[a["point_id"], "x"].to_numpy()
    y0 = pts.loc[a["point_id"], "y"].to_numpy()
    x1 = fac.loc[a["fac_id"], "x"].to_numpy()
    y1 = fac.loc[a["fac_id"], "y"].to_numpy()
    lines = shapely.linestrings(np.stack([np.c_[x0, y0], np.c_[x1, y1]], axis=1))
    return gpd.GeoDataFrame(
        {
            "year": a["year"].to_numpy(np.int64),
            "stage": a["stage"].to_numpy(),
            "point_id": a["point_id"].to_numpy(),
            "ref": fac.loc[a["fac_id"], "ref"].to_numpy(),
            "seats": np.round(a["seats"].to_numpy(float), 1),
            "distance_m": np.round(a["distance_m"].to_numpy(float), 0),
        },
        geometry=lines,
        crs=problem.crs,
    ).to_crs(4326)
