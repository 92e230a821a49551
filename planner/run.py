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

#: what the console, run_status.csv and manifest.json say when the clock cut siting
CLOCK_MESSAGE = "stopped by the clock: another machine may give another plan"

__all__ = [
    "CLOCK_MESSAGE",
    "STEP_HINTS",
    "StepOutcome",
    "RunResult",
    "run_step",
    "forecast_unavailable",
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
    steps : list of StepOutcome
        How each step ended, in order (computation, then the outputs written).
    isolate : bool
        Record a failing step and go on (True), or let its exception propagate.
    """

    inputs: Inputs
    norms: Norms
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    layers: dict[str, object] = field(default_factory=dict)
    steps: list[StepOutcome] = field(default_factory=list)
    isolate: bool = True

    def status(self, step: str) -> str | None:
        """The status of ``step`` (its last record), or None if it has not run."""
        for s in reversed(self.steps):
            if s.step == step:
                return s.status
        return None

    @property
    def failed_steps(self) -> list[StepOutcome]:
        """The steps that raised."""
        return [s for s in self.steps if s.status == "failed"]

    @property
    def stopped_by_clock(self) -> bool:
        """Whether the siting solver was stopped by the wall clock (``siting_summary``)."""
        ss = self.tables.get("siting_summary")
        if ss is None or "stopped_by_clock" not in ss.columns or not len(ss):
            return False
        return bool(ss["stopped_by_clock"].fillna(False).astype(bool).any())

    def exit_code(self) -> int:
        """The ``planner run`` exit code: 4 if a step failed, 3 if the clock stopped siting, else 0.

        A failed step outranks the clock (it is the more serious news).
        """
        from planner.errors import EXIT_OK, EXIT_STEP_FAILED, EXIT_STOPPED_BY_CLOCK

        if self.failed_steps:
            return EXIT_STEP_FAILED
        if self.stopped_by_clock:
            return EXIT_STOPPED_BY_CLOCK
        return EXIT_OK

    def status_table(self) -> pd.DataFrame:
        """``run_status.csv``: one row per step (step, status, seconds, message, what to do)."""
        rows = [
            {
                "step": s.step,
                "status": s.status,
                "seconds": round(s.seconds, 3),
                "message": s.message,
                "what_to_do": s.hint,
            }
            for s in self.steps
        ]
        if self.stopped_by_clock:
            rows.append(
                {
                    "step": "siting",
                    "status": "stopped_by_clock",
                    "seconds": round(self.timings.get("siting", 0.0), 3),
                    "message": CLOCK_MESSAGE,
                    "what_to_do": "give the solver more time ([siting] time_limit_s) for a "
                    "reproducible plan",
                }
            )
        return pd.DataFrame(rows, columns=["step", "status", "seconds", "message", "what_to_do"])

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


#: What to do when a step fails (shown in run_status.csv, manifest.json and the console)
STEP_HINTS: dict[str, str] = {
    "forecast": "the seat requirement uses the per-thousand norm on the population trend; "
    "check the births and enrolment inputs, or set [forecast] enabled = false",
    "demand": "check the population and developments inputs (validation file); report the "
    "error if the inputs look right",
    "supply": "check the schools input (classes, stage, opening year) in the validation file",
    "gaps": "needs the demand and supply steps; check their inputs",
    "compliance": "check the schools and enrolment inputs (classes, pupils, rooms)",
    "equity": "check the schools' resource columns (areas, equipment, teachers)",
    "siting": "the gaps, compliance and every other output are written; rerun with "
    "--no-siting to skip it, or check the sites input and [siting] settings",
    "csv": "the tables could not be written; check the disk space and permissions of --out",
    "excel": "results.xlsx is missing; the same tables are in the CSV files",
    "inputs_copy": "the canonical inputs (inputs/) are missing; the results are unaffected",
    "layers": "results.gpkg is missing; the tables are unaffected",
    "charts": "charts/ is incomplete; the tables are unaffected",
    "map": "map.html is missing; run `make assets` if the map assets are absent",
    "html": "index.html shows only the run status; the tables are unaffected",
}

#: step statuses: ``ok``; ``fallback`` (the step could not run as configured and the run
#: used the documented fallback, not an error); ``failed`` (it raised); ``skipped`` (a
#: step it needs did not complete)
STEP_STATUSES = ("ok", "fallback", "failed", "skipped")


@dataclass
class StepOutcome:
    """How one step of a run ended (one row of ``run_status.csv``).

    Attributes
    ----------
    step : str
        The step's name (``forecast``, ``demand`` … ``map``, ``html``).
    status : {"ok", "fallback", "failed", "skipped"}
        See :data:`STEP_STATUSES`.
    seconds : float
        Time spent.
    message : str
        The error (failed), why it was skipped, or which fallback was used.
    hint : str
        What to do.
    detail : str
        The traceback of a failed step (for a bug report).
    """

    step: str
    status: str
    seconds: float = 0.0
    message: str = ""
    hint: str = ""
    detail: str = ""


def describe_exception(exc: BaseException) -> str:
    """One line for an exception: the planner's own message, or ``Type: message``."""
    from planner.errors import PlannerError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, PlannerError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_step(
    result: RunResult,
    name: str,
    fn: Callable[[], object],
    *,
    needs: tuple[str, ...] = (),
    on_step: Callable[[str], None] | None = None,
) -> tuple[bool, object]:
    """Run one step of ``result`` in isolation and record how it ended.

    A step whose ``needs`` did not complete is skipped. An exception is recorded as a
    failed step (message, what to do, traceback) unless ``result.isolate`` is False, in
    which case it propagates.

    Returns
    -------
    ok : bool
        Whether the step completed.
    value : object
        What ``fn`` returned (None unless ok).
    """
    import traceback

    missing = [n for n in needs if result.status(n) not in ("ok", "fallback")]
    if missing:
        result.steps.append(
            StepOutcome(
                name,
                "skipped",
                message=f"needs the {', '.join(missing)} step, which did not complete",
                hint=STEP_HINTS.get(missing[0], ""),
            )
        )
        return False, None
    if on_step is not None:
        on_step(name)
    t = time.perf_counter()
    try:
        value = fn()
    except Exception as exc:
        if not result.isolate:
            raise
        dt = time.perf_counter() - t
        result.timings[name] = dt
        result.steps.append(
            StepOutcome(
                name,
                "failed",
                dt,
                describe_exception(exc),
                STEP_HINTS.get(name, ""),
                "".join(traceback.format_exception(exc)),
            )
        )
        return False, None
    dt = time.perf_counter() - t
    result.timings[name] = dt
    result.steps.append(StepOutcome(name, "ok", dt))
    return True, value


def compute(
    inputs: Inputs,
    norms: Norms,
    *,
    forecast: pd.DataFrame | str | None = None,
    siting: bool = False,
    on_step: Callable[[str], None] | None = None,
    siting_limits=None,
    siting_progress: Callable | None = None,
    isolate: bool = True,
) -> RunResult:
    """Run every computation step on validated inputs, each step isolated.

    Parameters
    ----------
    inputs : Inputs
        From :func:`planner.io.load.load_inputs`.
    norms : Norms
        From :func:`planner.io.norms.load_norms` (scenario overrides applied).
    forecast : DataFrame, "auto" or None
        Projected pupils ``unit_id, stage, year, p10, p50, p90``; ``"auto"`` runs the
        scenario's forecast as the first step (:func:`forecast_for`; when it cannot run,
        the step says why and the norm is used); None: the requirement is the
        per-thousand norm on the trend projection.
    siting : bool
        Also plan new schools and expansions (``planner run`` does when the scenario's
        ``siting.enabled``); adds ``projects``, ``unserved``, ``gaps_after``,
        ``siting_summary``, ``siting_checks`` and the ``catchments`` layer. With a
        ``roads`` input, distances are measured along the roads
        (:func:`road_network`).
    on_step : callable, optional
        Called with each step's name (progress display).
    siting_limits : planner.siting.SolveLimits, optional
        The siting engine's work limits and safety cap (default: from the scenario).
    siting_progress : callable, optional
        Receives the siting engine's progress reports.
    isolate : bool
        Record a step that raises as failed and go on with the steps that do not need
        it (default); False lets the exception propagate.

    Returns
    -------
    RunResult
        Tables: ``needs`` (unit × stage × year: requirement, capacity, seat gap),
        ``needs_city``, ``school_capacity``, ``compliance`` (per school, base year),
        ``class_sizes`` (per school and grade), ``rooms``, ``equity_schools``,
        ``equity_summary``; ``steps`` says how each step ended. ``needs``,
        ``compliance`` and ``equity_schools`` carry ``data_flags`` (the problem codes
        of the inputs behind each row) when any input problem concerns a unit or school.

    Raises
    ------
    InputsUnusable
        A required input is missing, empty or without a usable row (``inputs.blocking``).
    """
    if inputs.blocking:
        from planner.errors import InputsUnusable

        raise InputsUnusable(inputs.blocking, inputs.report.problems)
    result = RunResult(inputs, norms, isolate=isolate)
    sc = inputs.scenario
    state: dict[str, object] = {}

    if isinstance(forecast, str):
        if forecast != "auto":
            raise ValueError(f"forecast must be a table, 'auto' or None, not {forecast!r}")
        reason = forecast_unavailable(inputs)
        if reason is not None:
            # not asked for (disabled, or neither births nor enrolment given): skipped;
            # asked for but a declared input is missing or unusable: the norm as fallback
            declared = any(getattr(sc.inputs, n) is not None for n in ("births", "enrolment"))
            status = "fallback" if sc.forecast.enabled and declared else "skipped"
            result.steps.append(
                StepOutcome(
                    "forecast",
                    status,
                    message=reason,
                    hint="" if status == "skipped" else STEP_HINTS["forecast"],
                )
            )
            forecast = None
        else:
            ok, value = run_step(result, "forecast", lambda: forecast_for(inputs), on_step=on_step)
            forecast = None
            if ok:
                forecast, details = value  # type: ignore[misc]
                for k, v in details.items():
                    result.tables[f"forecast_{k}"] = v

    _, req = run_step(
        result, "demand", lambda: demand_table(inputs, norms, forecast), on_step=on_step
    )
    schools = inputs["schools"]

    def _supply():
        cap_school = school_capacity(schools, norms, sc.years)
        state["cap_school"] = cap_school
        state["cap_unit"] = capacity_by_unit(cap_school)
        result.tables["school_capacity"] = cap_school

    run_step(result, "supply", _supply, on_step=on_step)

    def _gaps():
        cap_unit = state["cap_unit"]
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
        needs = needs[cols]
        flags = inputs.flags("unit")
        if flags is not None:
            needs = needs.assign(data_flags=needs["unit_id"].map(flags).fillna(""))
        result.tables["needs"] = needs
        result.tables["needs_city"] = city_totals(gaps)

    run_step(result, "gaps", _gaps, needs=("demand", "supply"), on_step=on_step)

    def _compliance():
        comp = school_compliance(state["cap_school"], schools, norms, sc.base_year)
        flags = inputs.flags("school")
        if flags is not None:
            comp = comp.assign(data_flags=comp["school_id"].map(flags).fillna(""))
        result.tables["compliance"] = comp
        if "enrolment" in inputs:
            result.tables["class_sizes"] = grade_class_sizes(
                inputs["enrolment"], sc.base_year, norms
            )
        result.tables["rooms"] = room_checks(schools, norms)

    run_step(result, "compliance", _compliance, needs=("supply",), on_step=on_step)

    def _equity():
        existing = schools.loc[schools["status"] == "existing"]
        ind = school_indicators(existing, norms)
        flags = inputs.flags("school")
        if flags is not None:
            ind = ind.assign(data_flags=ind["school_id"].map(flags).fillna(""))
        result.tables["equity_schools"] = ind
        result.tables["equity_summary"] = equity_summary(ind, norms)

    run_step(result, "equity", _equity, on_step=on_step)

    if siting:

        def _siting():
            from planner.siting.schools import site_schools

            outcome = site_schools(
                inputs,
                norms,
                result.tables["needs"],
                state["cap_school"],
                network=road_network(inputs),
                limits=siting_limits,
                progress=siting_progress,
            )
            result.tables.update(outcome.tables)
            if outcome.catchments is not None:
                result.layers["catchments"] = outcome.catchments
            allocations = getattr(outcome, "allocations", None)
            if allocations is not None:
                result.layers["allocations"] = allocations

        run_step(result, "siting", _siting, needs=("gaps",), on_step=on_step)
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
    """Headline figures: city seat gap by stage at the milestones, 大班额 / 大校额, CV failures.

    Tables a failed step did not produce are left out (``None`` counts); an indicator
    without data is listed under ``cv_no_data``, never as a failure.
    """
    out: dict[str, object] = {"gap": {}}
    if "needs_city" in result.tables:
        city = result.tables["needs_city"].set_index(["stage", "year"])
        for stage in STAGES:
            for y in result.milestone_years():
                if (stage, y) in city.index:
                    out["gap"][f"{stage} {y}"] = int(city.loc[(stage, y), "seat_gap"])
    comp = result.tables.get("compliance")
    out["oversized_class_schools"] = (
        int(comp.loc[comp["oversized_class"].fillna(False).astype(bool), "school_id"].nunique())
        if comp is not None
        else None
    )
    out["oversized_schools"] = (
        int(comp.loc[comp["oversized_school"].fillna(False).astype(bool), "school_id"].nunique())
        if comp is not None
        else None
    )
    eq = result.tables.get("equity_summary")
    out["cv_failing"] = []
    out["cv_no_data"] = []
    if eq is not None:
        for r in eq.itertuples():
            if pd.isna(r.cv):
                out["cv_no_data"].append(f"{r.stage}: {r.indicator}")
            elif not bool(r.cv_ok):
                out["cv_failing"].append(f"{r.stage}: {r.indicator} ({r.cv:.3f} > {r.cv_limit})")
    return out


def milestone_gaps(result: RunResult) -> pd.DataFrame:
    """City seat gap per stage (rows) at the base year and the milestones (columns)."""
    c = result.tables["needs_city"]
    years = result.milestone_years()
    return c[c["year"].isin(years)].pivot(index="stage", columns="year", values="seat_gap")


def forecast_unavailable(inputs: Inputs) -> str | None:
    """Why the scenario's enrolment forecast cannot run, or None when it can.

    See :func:`planner.inputs.forecast_unavailable` (the rule, also used by the
    validation report).
    """
    from planner.inputs import forecast_unavailable as rule

    return rule(inputs.scenario, inputs.tables)


def forecast_for(
    inputs: Inputs, *, force: bool = False
) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """The scenario's enrolment forecast, or (None, {}) when it cannot run.

    Needs births and an enrolment history (``[forecast] enabled``, or ``force`` for
    ``planner backtest``); see :func:`planner.forecast.pipeline.enrolment_forecast` and,
    for the reason it cannot run, :func:`forecast_unavailable`. The details hold the
    method chosen and its out-of-sample error (``method``, ``accuracy``), every
    candidate's backtest, the intervals, births and school-age population.
    """
    usable = "births" in inputs and "enrolment" in inputs
    if forecast_unavailable(inputs) is not None and not (force and usable):
        return None, {}
    from planner.forecast.pipeline import enrolment_forecast

    return enrolment_forecast(inputs)
