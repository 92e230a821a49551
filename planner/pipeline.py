"""The computation of a run: validated inputs → demand → supply → gaps → equity → siting.

:func:`compute` is pure: canonical inputs, norms and the run's settings in, result tables
out; it never reads the scenario (the settings are resolved once by :mod:`planner.api`,
:class:`planner.settings.RunSettings`). Reading is in :mod:`planner.inputs`, writing the
output folder in :mod:`planner.outputs`; :mod:`planner.api` runs the whole job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from planner.demand import demand_table
from planner.equity import equity_summary, school_indicators
from planner.gaps import city_totals, grade_class_sizes, room_checks, school_compliance, seat_gaps
from planner.geo.roads import road_graph
from planner.inputs import Inputs
from planner.norms import Norms
from planner.settings import RunSettings
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
    "compute",
    "road_network",
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
    settings : RunSettings
        The settings the run computed with.
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
    settings: RunSettings
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
        return self.settings.milestone_years


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
    settings: RunSettings,
    *,
    forecast: pd.DataFrame | Callable[[], tuple[pd.DataFrame | None, dict]] | None = None,
    forecast_skipped: StepOutcome | None = None,
    siting: bool = False,
    on_step: Callable[[str], None] | None = None,
    siting_progress: Callable | None = None,
    isolate: bool = True,
) -> RunResult:
    """Run every computation step on validated inputs, each step isolated.

    Parameters
    ----------
    inputs : Inputs
        From :func:`planner.inputs.load.load_inputs` (only its tables are used).
    norms : Norms
        From :func:`planner.inputs.norms.norms_for` (scenario overrides applied).
    settings : RunSettings
        The run's settings (:meth:`planner.settings.RunSettings.from_scenario`).
    forecast : DataFrame, callable or None
        Projected pupils ``unit_id, stage, year, p10, p50, p90``; a callable returning
        ``(table, details)`` is run as the ``forecast`` step (:func:`planner.api.run`
        passes the scenario's forecast); None: the requirement is the per-thousand norm
        on the trend projection.
    forecast_skipped : StepOutcome, optional
        Why the forecast did not run (recorded as the ``forecast`` step).
    siting : bool
        Also plan new schools and expansions (``planner run`` does when the scenario's
        ``siting.enabled``); adds ``projects``, ``unserved``, ``gaps_after``,
        ``siting_summary``, ``siting_checks`` and the ``catchments`` layer. With a
        ``roads`` input, distances are measured along the roads
        (:func:`road_network`). The solve's safety cap is ``settings.time_limit_s``.
    on_step : callable, optional
        Called with each step's name (progress display).
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
    result = RunResult(inputs, norms, settings, isolate=isolate)
    state: dict[str, pd.DataFrame] = {}

    if forecast_skipped is not None:
        result.steps.append(forecast_skipped)
    fc_table = forecast if isinstance(forecast, pd.DataFrame) else None
    if callable(forecast):
        ok, value = run_step(result, "forecast", forecast, on_step=on_step)
        if ok:
            table, details = cast(tuple[pd.DataFrame | None, dict[str, pd.DataFrame]], value)
            fc_table = table
            for k, v in details.items():
                result.tables[f"forecast_{k}"] = v

    def _demand():
        return demand_table(
            inputs["population"],
            norms,
            settings.demand,
            base_year=settings.base_year,
            years=settings.years,
            developments=inputs.tables.get("developments"),
            schools=inputs["schools"],
            forecast=fc_table,
        )

    _, req = run_step(result, "demand", _demand, on_step=on_step)
    schools = inputs["schools"]

    def _supply():
        cap_school = school_capacity(schools, norms, settings.years)
        state["cap_school"] = cap_school
        state["cap_unit"] = capacity_by_unit(cap_school)
        result.tables["school_capacity"] = cap_school

    run_step(result, "supply", _supply, on_step=on_step)

    def _gaps():
        cap_unit = state["cap_unit"]
        gaps = seat_gaps(req, cap_unit, basis=settings.demand.requirement_basis)
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
        comp = school_compliance(state["cap_school"], schools, norms, settings.base_year)
        flags = inputs.flags("school")
        if flags is not None:
            comp = comp.assign(data_flags=comp["school_id"].map(flags).fillna(""))
        result.tables["compliance"] = comp
        if "enrolment" in inputs:
            result.tables["class_sizes"] = grade_class_sizes(
                inputs["enrolment"], settings.base_year, norms
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
                settings,
                network=road_network(inputs),
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
    """The road network of the inputs as a graph in the compute CRS (None without roads).

    Built once per run from the validated ``roads`` input by
    :func:`planner.geo.roads.road_graph`, anchored at the schools and candidate sites.

    Parameters
    ----------
    inputs : Inputs
        Validated inputs; ``roads`` optional.

    Returns
    -------
    networkx.Graph or networkx.DiGraph or None
        None when there are no roads or none of them is a usable line (siting then uses
        straight line × ``detour_factor``).
    """
    if "roads" not in inputs:
        return None
    anchors = [
        inputs.projected(name).geometry.representative_point()
        for name in ("schools", "sites")
        if name in inputs
    ]
    return road_graph(inputs.projected("roads"), anchors)
