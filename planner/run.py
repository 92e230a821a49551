"""The main job: inputs → demand → supply → gaps and compliance → tables (规划测算主流程).

:func:`compute` is pure: canonical inputs and norms in, result tables out.
Reading the scenario and writing the output folder are in :mod:`planner.io`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.demand import (
    STAGES,
    development_arrivals,
    forecast_requirement,
    norm_requirement,
    private_shares,
    project_population_trend,
)
from planner.equity import equity_summary, school_indicators
from planner.gaps import city_totals, class_size_bands, school_compliance, seat_gaps
from planner.inputs import Inputs
from planner.norms import Norms
from planner.supply import capacity_by_unit, school_capacity

if TYPE_CHECKING:  # networkx is only needed when a road network is given
    import networkx as nx

__all__ = [
    "RunResult",
    "compute",
    "demand_table",
    "grade_class_sizes",
    "road_network",
    "room_checks",
]


@dataclass
class RunResult:
    """What a run produced.

    Attributes
    ----------
    inputs : Inputs
        The validated inputs.
    norms : Norms
        The norms in force (with the scenario's overrides).
    tables : dict
        Result tables by name (tidy, English column names).
    timings : dict
        Seconds spent per step.
    layers : dict
        Spatial results (GeoDataFrames in WGS84), e.g. ``catchments`` from siting.
    """

    inputs: Inputs
    norms: Norms
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    layers: dict[str, object] = field(default_factory=dict)

    def milestone_years(self) -> list[int]:
        """Base year and the scenario's milestones (within the horizon)."""
        sc = self.inputs.scenario
        ys = [sc.base_year] + [sc.base_year + m for m in sc.demand.milestones]
        return [y for y in ys if y <= sc.horizon]


def demand_table(
    inputs: Inputs, norms: Norms, forecast: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Seat requirement per unit × stage × year from the base year to the horizon.

    Population: observed totals, projected by the log-linear trend of the last
    ``demand.trend_years`` years, plus the residents of planned housing
    (``demand.development_method``); the per-thousand norm gives ``norm_seats``.

    When an enrolment ``forecast`` (``unit_id, stage, year, p10, p50, p90``) is given,
    ``forecast_seats`` is its P50 plus the development seats (the forecast of today's
    residents does not contain the newcomers), split into public and private seats by
    :func:`planner.demand.forecast_requirement`.

    Returns
    -------
    DataFrame
        ``unit_id, year, stage, population, population_source, development_residents,
        per_thousand, development_seats, norm_seats, forecast_seats`` and, with a
        forecast, ``forecast_p10, forecast_p90, forecast_public, forecast_private``.
    """
    sc = inputs.scenario
    d = sc.demand
    years = sc.years
    pop = project_population_trend(inputs["population"], sc.base_year, years, window=d.trend_years)
    pop = pop.rename(columns={"source": "population_source"})
    if d.population_control:
        from planner.forecast.pipeline import reconcile

        ctl = reconcile(pop, {int(k): float(v) for k, v in d.population_control.items()})
        projected = (pop["population_source"] != "observed").to_numpy()
        pop.loc[projected, "population"] = np.round(ctl.loc[projected, "population"]).astype(
            "int64"
        )
    pop["development_residents"] = 0
    dev_households = pd.Series(0.0, index=pd.MultiIndex.from_frame(pop[["unit_id", "year"]]))
    if d.include_developments and "developments" in inputs and len(inputs["developments"]):
        arr = development_arrivals(
            inputs["developments"],
            years,
            persons_per_household=d.persons_per_household,
            occupancy_years=d.occupancy_years,
        )
        arr["hh_eff"] = arr["residents"] / d.persons_per_household
        per_unit = arr.groupby(["unit_id", "year"])[["residents", "hh_eff"]].sum()
        key = pd.MultiIndex.from_frame(pop[["unit_id", "year"]])
        pop["development_residents"] = (
            per_unit["residents"].reindex(key).fillna(0).astype("int64").to_numpy()
        )
        dev_households = per_unit["hh_eff"].reindex(key).fillna(0.0)
    counted = pop["population"] + (
        pop["development_residents"] if d.development_method == "persons" else 0
    )
    req = norm_requirement(pop.assign(population=counted)[["unit_id", "year", "population"]], norms)
    extra = pop.set_index(["unit_id", "year"])
    key = pd.MultiIndex.from_frame(req[["unit_id", "year"]])
    req["population_source"] = extra["population_source"].reindex(key).to_numpy()
    req["development_residents"] = extra["development_residents"].reindex(key).to_numpy()
    if d.development_method == "persons":
        dev_seats = req["development_residents"] / 1000.0 * req["per_thousand"]
    else:
        yield_ = req["stage"].map({s: getattr(d.pupil_yield, s) for s in STAGES})
        dev_seats = dev_households.reindex(key).to_numpy() * yield_
        req["norm_seats"] = req["norm_seats"] + np.ceil(np.round(dev_seats, 6)).astype("int64")
    req["development_seats"] = np.ceil(np.round(dev_seats.to_numpy(float), 6)).astype("int64")
    req["forecast_seats"] = np.nan
    if forecast is not None and len(forecast):
        fr = forecast_requirement(
            forecast,
            private_shares(inputs["schools"]),
            migrant_public_share=float(norms["migrant_public_share"]),
        )
        req = req.merge(fr, on=["unit_id", "stage", "year"], how="left")
        dev = req["development_seats"] if d.include_developments else 0
        req["forecast_seats"] = np.ceil(np.round(req["forecast_p50"], 6)) + dev
        req["forecast_public"] = req["forecast_public"] + dev
    return req


def grade_class_sizes(enrolment: pd.DataFrame, year: int, norms: Norms) -> pd.DataFrame:
    """Average class size per school and grade in ``year`` (class-level 大班额 check).

    Returns
    -------
    DataFrame
        ``school_id, grade, stage, students, classes, avg_class_size, class_cap,
        oversized_class, class_size_band``.
    """
    e = enrolment.loc[(enrolment["year"] == year) & enrolment["classes"].notna()].copy()
    e = e.loc[e["classes"] > 0]
    e["stage"] = np.where(e["grade"] <= 6, "primary", "junior")
    e["avg_class_size"] = (e["students"] / e["classes"]).astype(float).round(1)
    e["class_cap"] = e["stage"].map({s: norms.class_cap(s) for s in STAGES})
    e["oversized_class"] = e["avg_class_size"] > e["class_cap"]
    e["class_size_band"] = class_size_bands(e["avg_class_size"])
    cols = ["school_id", "grade", "stage", "students", "classes", "avg_class_size", "class_cap"]
    return e[[*cols, "oversized_class", "class_size_band"]].reset_index(drop=True)


def room_checks(schools: pd.DataFrame, norms: Norms) -> pd.DataFrame:
    """Music and art rooms: at least one each per ``rooms.classes_per_*_room`` classes.

    Room areas (≥ 96 / 90 m²) are not in the schools table and are not checked.
    """
    s = schools.loc[schools["status"] == "existing"]
    classes = (s["classes_primary"].fillna(0) + s["classes_junior"].fillna(0)).astype(float)
    out = pd.DataFrame({"school_id": s["school_id"], "classes": classes})
    for room in ("music", "art"):
        per = float(norms[f"rooms.classes_per_{room}_room"])
        need = np.ceil(classes / per)
        have = s[f"{room}_rooms"].astype("Float64")
        out[f"{room}_rooms"] = have
        out[f"{room}_rooms_needed"] = need.astype("int64")
        out[f"{room}_rooms_ok"] = (have >= need).astype("boolean")
    return out.reset_index(drop=True)


def compute(
    inputs: Inputs,
    norms: Norms,
    *,
    forecast: pd.DataFrame | None = None,
    siting: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every computation step on validated inputs.

    Parameters
    ----------
    inputs : Inputs
        From :func:`planner.io.load.load_inputs`.
    norms : Norms
        From :func:`planner.io.norms.load_norms` (scenario overrides applied).
    forecast : DataFrame, optional
        Projected pupils ``unit_id, stage, year, p10, p50, p90``; without it the
        requirement is the per-thousand norm on the trend projection.
    siting : bool
        Also plan new schools and expansions (``planner run`` does when the scenario's
        ``siting.enabled``); adds ``projects``, ``unserved``, ``gaps_after``,
        ``siting_summary``, ``siting_checks`` and the ``catchments`` layer. With a
        ``roads`` input, distances are measured along the roads
        (:func:`road_network`).
    on_step : callable, optional
        Called with each step's name (progress display).

    Returns
    -------
    RunResult
        Tables: ``needs`` (unit × stage × year: requirement, capacity, seat gap),
        ``needs_city``, ``school_capacity``, ``compliance`` (per school, base year),
        ``class_sizes`` (per school and grade), ``rooms``, ``equity_schools``,
        ``equity_summary``.
    """
    result = RunResult(inputs, norms)
    sc = inputs.scenario

    def step(name: str):
        if on_step:
            on_step(name)
        return time.perf_counter()

    t = step("demand")
    req = demand_table(inputs, norms, forecast)
    result.timings["demand"] = time.perf_counter() - t

    t = step("supply")
    schools = inputs["schools"]
    cap_school = school_capacity(schools, norms, sc.years)
    cap_unit = capacity_by_unit(cap_school)
    result.timings["supply"] = time.perf_counter() - t

    t = step("gaps")
    gaps = seat_gaps(req, cap_unit, basis=sc.demand.requirement_basis)
    units = pd.DataFrame(inputs["units"][["unit_id", "name", "kind"]])
    needs = units.merge(gaps, on="unit_id", how="right")
    needs = needs.merge(
        cap_unit[["unit_id", "stage", "year", "students", "schools"]],
        on=["unit_id", "stage", "year"],
        how="left",
    )
    needs[["students", "schools"]] = needs[["students", "schools"]].fillna(0).astype("int64")
    fc_cols = []
    if "forecast_public" in needs.columns:
        needs["public_gap"] = np.maximum(needs["forecast_public"] - needs["capacity_public"], 0)
        fc_cols = [
            "forecast_p10",
            "forecast_p50",
            "forecast_p90",
            "private_share",
            "forecast_public",
            "forecast_private",
            "public_gap",
        ]
    cols = [
        "unit_id",
        "name",
        "kind",
        "stage",
        "year",
        "population",
        "population_source",
        "development_residents",
        "per_thousand",
        "development_seats",
        "norm_seats",
        "forecast_seats",
        "required_seats",
        "basis",
        "capacity_public",
        "capacity_private",
        "capacity",
        "seat_gap",
        "surplus",
        "schools",
        "students",
        *fc_cols,
    ]
    result.tables["needs"] = needs[cols]
    result.tables["needs_city"] = city_totals(gaps)
    result.tables["school_capacity"] = cap_school
    comp = school_compliance(cap_school, schools, norms, sc.base_year)
    result.tables["compliance"] = comp
    if "enrolment" in inputs:
        result.tables["class_sizes"] = grade_class_sizes(inputs["enrolment"], sc.base_year, norms)
    result.tables["rooms"] = room_checks(schools, norms)
    result.timings["gaps"] = time.perf_counter() - t

    t = step("equity")
    existing = schools.loc[schools["status"] == "existing"]
    ind = school_indicators(existing, norms)
    result.tables["equity_schools"] = ind
    result.tables["equity_summary"] = equity_summary(ind, norms)
    result.timings["equity"] = time.perf_counter() - t

    if siting:
        from planner.siting.schools import site_schools

        t = step("siting")
        outcome = site_schools(
            inputs, norms, result.tables["needs"], cap_school, network=road_network(inputs)
        )
        result.tables.update(outcome.tables)
        if outcome.catchments is not None:
            result.layers["catchments"] = outcome.catchments
        result.timings["siting"] = time.perf_counter() - t
    return result


def road_network(inputs: Inputs) -> nx.Graph | None:
    """The scenario's road network as a graph in the compute CRS (None without roads).

    Built once per run from the validated ``roads`` input: pieces not connected to the
    longest one and farther than :data:`~planner.io.roads.SNAP_TOLERANCE_M` from every
    school and candidate site are left out (:func:`~planner.io.roads.network_lines`),
    vertices are added every :data:`~planner.io.roads.VERTEX_SPACING_M` so that points
    snap near their foot on the road, and ``oneway`` lines are one-way.

    Parameters
    ----------
    inputs : Inputs
        Validated inputs; ``roads`` optional.

    Returns
    -------
    networkx.Graph or networkx.DiGraph or None
        None when the scenario has no roads or none of them is a usable line (siting
        then uses straight line × ``detour_factor``).
    """
    from planner.io.roads import VERTEX_SPACING_M, network_lines, roads_graph

    if "roads" not in inputs:
        return None
    roads = inputs.projected("roads")
    roads = roads[roads.geometry.notna() & ~roads.geometry.is_empty]
    if not len(roads):
        return None
    anchors = [
        inputs.projected(name).geometry.representative_point()
        for name in ("schools", "sites")
        if name in inputs
    ]
    crs = roads.crs
    lines = network_lines(roads, pd.concat(anchors) if anchors else gpd.GeoSeries([], crs=crs))
    return roads_graph(lines, oneway="oneway", max_segment_m=VERTEX_SPACING_M)


def needs_wide(needs: pd.DataFrame, stage: str, value: str = "seat_gap") -> pd.DataFrame:
    """The per-year needs list (需求清单) of one stage: units as rows, years as columns."""
    n = needs.loc[needs["stage"] == stage]
    wide = n.pivot_table(index=["unit_id", "name"], columns="year", values=value, aggfunc="sum")
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index()
    total = wide.drop(columns=["unit_id", "name"]).sum()
    wide.loc[len(wide)] = {"unit_id": "", "name": "合计", **total.to_dict()}
    return wide


def summary(result: RunResult) -> dict[str, object]:
    """Headline figures: city seat gap by stage at the milestones, 大班额 / 大校额, CV failures."""
    city = result.tables["needs_city"].set_index(["stage", "year"])
    out: dict[str, object] = {"gap": {}}
    for stage in STAGES:
        for y in result.milestone_years():
            if (stage, y) in city.index:
                out["gap"][f"{stage} {y}"] = int(city.loc[(stage, y), "seat_gap"])
    comp = result.tables["compliance"]
    out["oversized_class_schools"] = int(comp.loc[comp["oversized_class"], "school_id"].nunique())
    out["oversized_schools"] = int(comp.loc[comp["oversized_school"], "school_id"].nunique())
    eq = result.tables["equity_summary"]
    out["cv_failing"] = [
        f"{r.stage}: {r.indicator} ({r.cv:.3f} > {r.cv_limit})"
        for r in eq.itertuples()
        if not r.cv_ok
    ]
    return out


def milestone_gaps(result: RunResult) -> pd.DataFrame:
    """City seat gap per stage (rows) at the base year and the milestones (columns)."""
    c = result.tables["needs_city"]
    years = result.milestone_years()
    return c[c["year"].isin(years)].pivot(index="stage", columns="year", values="seat_gap")


def forecast_for(
    inputs: Inputs, *, force: bool = False
) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """The scenario's enrolment forecast, or (None, {}) when disabled or data are missing.

    Needs births and an enrolment history (``[forecast] enabled``, or ``force`` for
    ``planner backtest``); see :func:`planner.forecast.pipeline.enrolment_forecast`. The
    details hold the method chosen and its out-of-sample error (``method``,
    ``accuracy``), every candidate's backtest, the intervals, births and school-age
    population.
    """
    sc = inputs.scenario
    if not (sc.forecast.enabled or force) or "births" not in inputs or "enrolment" not in inputs:
        return None, {}
    from planner.forecast.pipeline import enrolment_forecast

    return enrolment_forecast(inputs)
