"""The public Python API for analysts and notebooks (分析接口).

Thin, stable entry points over the modules:

>>> from planner import api
>>> sc = api.read_scenario("data/demo/scenario.toml")
>>> result = api.run(sc)                      # validated inputs → tables
>>> result.tables["needs"].head()

Everything a notebook needs is here or in the modules it names; notebooks never
re-implement computation.
"""

from __future__ import annotations

import warnings
from copy import deepcopy
from typing import Any

import pandas as pd

from planner.compare import compare_runs
from planner.inputs import Inputs
from planner.io.load import load_inputs
from planner.io.norms import available_norms, load_norms
from planner.io.run_output import write_run
from planner.io.scenario import read_scenario, write_scenario
from planner.io.schedules import read_scenario_schedules
from planner.norms import Norms
from planner.run import RunResult, compute, forecast_for, milestone_gaps, needs_wide, summary
from planner.scenario import Scenario, scenario_from_dict

__all__ = [
    "read_scenario",
    "write_scenario",
    "load_inputs",
    "load_norms",
    "available_norms",
    "norms_for",
    "run",
    "write_run",
    "variant",
    "compare",
    "map_view",
    "forecast",
    "backtest",
    "needs_wide",
    "milestone_gaps",
    "summary",
    "Scenario",
    "Inputs",
    "Norms",
    "RunResult",
]


def norms_for(scenario: Scenario) -> Norms:
    """The norms in force for a scenario (its norms file plus ``norms_override``)."""
    ref = scenario.norms
    cand = scenario.base_dir / ref
    if ref.endswith(".toml") and cand.exists():
        ref = str(cand)
    return load_norms(ref, overrides=scenario.norms_override or None)


def run(
    scenario: Scenario,
    *,
    inputs: Inputs | None = None,
    forecast: pd.DataFrame | str | None = "auto",
    siting: bool = False,
) -> RunResult:
    """Load (unless ``inputs`` are given), validate and compute a scenario in memory.

    ``forecast="auto"`` runs the scenario's enrolment forecast (``[forecast]``); pass a
    table to use your own, or None for the norm only. ``siting=True`` also plans new
    schools (slower). A step that fails (or a forecast that falls back to the norm) is
    recorded in ``result.steps`` and warned about; the other steps still run.
    """
    inputs = _bind(scenario, inputs)
    result = compute(inputs, norms_for(scenario), forecast=forecast, siting=siting)
    for s in result.steps:
        if s.status in ("failed", "fallback"):
            warnings.warn(f"{s.step}: {s.status} — {s.message}", stacklevel=2)
    return result


def variant(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy of a scenario with some settings changed, validated like a file.

    Nested settings use ``__``: ``variant(sc, norms="zhongshan_urban",
    demand__requirement_basis="norm", norms_override={"class_cap.primary": 40})``.
    Input paths stay relative to the original scenario's folder.
    """
    data = deepcopy(scenario.model_dump(mode="json", exclude_none=True))
    for key, value in changes.items():
        node = data
        parts = key.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return scenario_from_dict(
        data, base_dir=scenario.base_dir, source=f"{scenario.source_file} (variant)"
    )


def _bind(scenario: Scenario, inputs: Inputs | None) -> Inputs:
    inputs = inputs if inputs is not None else load_inputs(scenario)
    if inputs.scenario is not scenario:
        inputs = Inputs(
            scenario,
            inputs.tables,
            inputs.report,
            inputs.compute_crs,
            inputs.files,
            read_scenario_schedules(scenario),
            inputs.excluded,
            inputs.blocking,
        )
    return inputs


def forecast(
    scenario: Scenario, *, inputs: Inputs | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The scenario's enrolment forecast (P10/P50/P90 per unit, stage, year) and its details."""
    from planner.forecast.pipeline import enrolment_forecast

    return enrolment_forecast(_bind(scenario, inputs))


def backtest(scenario: Scenario, *, inputs: Inputs | None = None) -> dict[str, pd.DataFrame]:
    """The forecast's backtest, as ``planner run`` makes its choice (% errors).

    Returns the tables ``method`` (every candidate's backtest MAPE and the one chosen
    per target), ``accuracy`` (out-of-sample error and 80 % interval coverage of the
    choice per horizon, nested) and ``backtest`` (every candidate per horizon).
    """
    _, details = forecast_for(_bind(scenario, inputs), force=True)
    return {k: details[k] for k in ("method", "accuracy", "backtest") if k in details}


def compare(a: RunResult, b: RunResult) -> dict[str, pd.DataFrame]:
    """Difference tables between two in-memory results (see :func:`planner.compare.compare_runs`)."""
    return compare_runs(a.tables, b.tables, names=(a.inputs.scenario.name, b.inputs.scenario.name))


def map_view(result: RunResult, *, lang: str = "zh", height: int = 600, **options: Any):
    """The run's map for a notebook cell, offline (all assets inlined).

    The same map ``planner run`` writes (seat gaps of every year before and after the
    plan, schools, sites and, when the run planned schools, the projects, radii,
    catchments and unserved demand). ``options`` go to :func:`planner.maps.gap_map`
    (``years``, ``stages``, ``layers``, ``basemap`` …). Returns an object Jupyter shows
    as the map; its ``page`` is the HTML.
    """
    from planner.maps import gap_map, render_offline
    from planner.maps.inline import InlineMap

    return InlineMap(render_offline(gap_map(result, lang=lang, **options)), height=height)
