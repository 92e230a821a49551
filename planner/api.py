"""The one orchestration (分析接口): read scenario → load → forecast → compute → siting → write.

``planner run`` (:mod:`planner.cli`), ``planner map`` and ``python -m planner.maps`` and
the notebooks all call these functions; the settings are resolved here once
(:class:`~planner.settings.RunSettings`) and handed down.

>>> from planner import api
>>> sc = api.read_scenario("data/demo/scenario.toml")
>>> api.settings_for(sc, time_limit_s=60).time_limit_s
60.0
>>> result = api.run(sc)                      # doctest: +SKIP
>>> result.tables["needs"].head()             # doctest: +SKIP

Everything a notebook needs is here or in the modules it names; notebooks never
re-implement computation.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

import pandas as pd

from planner.inputs import Inputs
from planner.inputs import forecast_unavailable as _unavailable
from planner.inputs.load import load_inputs
from planner.inputs.norms import available_norms, load_norms, norms_for
from planner.inputs.scenario import read_scenario, write_scenario
from planner.inputs.schedules import read_scenario_schedules
from planner.norms import Norms
from planner.outputs.diff import compare_runs
from planner.outputs.run_output import write_run
from planner.outputs.summary import milestone_gaps, needs_wide, summary
from planner.pipeline import STEP_HINTS, RunResult, StepOutcome, compute
from planner.scenario import Scenario, scenario_from_dict
from planner.settings import RunSettings

__all__ = [
    "read_scenario",
    "write_scenario",
    "load_inputs",
    "load_norms",
    "available_norms",
    "norms_for",
    "run",
    "compute_run",
    "settings_for",
    "forecast_for",
    "forecast_unavailable",
    "map_command",
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
    "RunSettings",
]


def settings_for(scenario: Scenario, *, time_limit_s: float | None = None) -> RunSettings:
    """The run's settings, resolved once from the scenario (``time_limit_s`` None: its own)."""
    return RunSettings.from_scenario(scenario, time_limit_s=time_limit_s)


def run(
    scenario: Scenario,
    *,
    inputs: Inputs | None = None,
    forecast: pd.DataFrame | str | None = "auto",
    siting: bool = False,
    time_limit_s: float | None = None,
) -> RunResult:
    """Load (unless ``inputs`` are given), validate and compute a scenario in memory.

    ``forecast="auto"`` runs the scenario's enrolment forecast (``[forecast]``); pass a
    table to use your own, or None for the norm only. ``siting=True`` also plans new
    schools (slower; ``time_limit_s`` caps the solve, None: the scenario's). A step that
    fails (or a forecast that falls back to the norm) is recorded in ``result.steps``
    and warned about; the other steps still run.
    """
    norms = norms_for(scenario)
    inputs = _bind(scenario, inputs, norms)
    result = compute_run(inputs, norms, forecast=forecast, siting=siting, time_limit_s=time_limit_s)
    for s in result.steps:
        if s.status in ("failed", "fallback"):
            warnings.warn(f"{s.step}: {s.status} — {s.message}", stacklevel=2)
    return result


def compute_run(
    inputs: Inputs,
    norms: Norms,
    *,
    forecast: pd.DataFrame | str | None = "auto",
    siting: bool = False,
    time_limit_s: float | None = None,
    on_step: Callable[[str], None] | None = None,
    siting_progress: Callable | None = None,
    isolate: bool = True,
) -> RunResult:
    """Compute validated inputs: the settings resolved once, the forecast, then every step.

    ``forecast``: ``"auto"`` (the scenario's forecast as the first step, or the reason it
    cannot run), a table, or None. ``time_limit_s`` None takes ``[siting] time_limit_s``.
    See :func:`planner.pipeline.compute` for the rest.
    """
    settings = settings_for(inputs.scenario, time_limit_s=time_limit_s)
    skipped = None
    if isinstance(forecast, str):
        if forecast != "auto":
            raise ValueError(f"forecast must be a table, 'auto' or None, not {forecast!r}")
        forecast, skipped = _forecast_step(inputs, norms, settings)
    return compute(
        inputs,
        norms,
        settings,
        forecast=forecast,
        forecast_skipped=skipped,
        siting=siting,
        on_step=on_step,
        siting_progress=siting_progress,
        isolate=isolate,
    )


def _forecast_step(inputs: Inputs, norms: Norms, settings: RunSettings):
    """The scenario's forecast as a step to run, or the outcome that says why it cannot."""
    reason = forecast_unavailable(inputs)
    if reason is None:
        return (lambda: forecast_for(inputs, norms=norms)), None
    # not asked for (disabled, or neither births nor enrolment given): skipped;
    # asked for but a declared input is missing or unusable: the norm as fallback
    sc = inputs.scenario
    declared = any(getattr(sc.inputs, n) is not None for n in ("births", "enrolment"))
    status = "fallback" if settings.forecast_enabled and declared else "skipped"
    hint = "" if status == "skipped" else STEP_HINTS["forecast"]
    return None, StepOutcome("forecast", status, message=reason, hint=hint)


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


def _bind(scenario: Scenario, inputs: Inputs | None, norms: Norms | None = None) -> Inputs:
    inputs = inputs if inputs is not None else load_inputs(scenario, norms=norms)
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

    return enrolment_forecast(_bind(scenario, inputs), norms_for(scenario))


def backtest(scenario: Scenario, *, inputs: Inputs | None = None) -> dict[str, pd.DataFrame]:
    """The forecast's backtest, as ``planner run`` makes its choice (% errors).

    Returns the tables ``method`` (every candidate's backtest MAPE and the one chosen
    per target), ``accuracy`` (out-of-sample error and 80 % interval coverage of the
    choice per horizon, nested) and ``backtest`` (every candidate per horizon).
    """
    _, details = forecast_for(_bind(scenario, inputs), force=True, norms=norms_for(scenario))
    return {k: details[k] for k in ("method", "accuracy", "backtest") if k in details}


def compare(a: RunResult, b: RunResult) -> dict[str, pd.DataFrame]:
    """Difference tables between two in-memory results (:func:`planner.outputs.diff.compare_runs`)."""
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


def forecast_unavailable(inputs: Inputs) -> str | None:
    """Why the scenario's enrolment forecast cannot run, or None when it can.

    See :func:`planner.inputs.forecast_unavailable` (the rule, also used by the
    validation report).
    """
    return _unavailable(inputs.scenario, inputs.tables)


def forecast_for(
    inputs: Inputs, *, force: bool = False, norms: Norms | None = None
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

    return enrolment_forecast(inputs, norms if norms is not None else norms_for(inputs.scenario))


def map_command(
    source: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    png: str | os.PathLike[str] | None = None,
    pdf: str | os.PathLike[str] | None = None,
    state: Mapping[str, Any] | None = None,
    lang: str | None = None,
    siting: bool = False,
    time_limit_s: float | None = None,
) -> list[Path]:
    """``planner map``: the map of a run folder or a scenario, as HTML, PNG and/or PDF.

    Parameters
    ----------
    source : path-like
        A ``planner run`` output folder (its ``map.html`` is used) or a scenario
        ``.toml`` (computed here, without siting unless ``siting``).
    out : path-like, optional
        HTML file to write (default for a scenario: ``maps/<scenario>_map.html``; for a
        run folder the page is only copied when given).
    png, pdf : path-like, optional
        Figures to export (:func:`export_figure`, page set-up from ``[map.export]``).
    state : mapping, optional
        What the figures show (stage, year, plan, project filter).
    lang : str, optional
        Language of a map computed from a scenario.
    siting : bool
        Plan new schools first when ``source`` is a scenario (takes minutes).
    time_limit_s : float, optional
        Safety cap on that siting solve (None: the scenario's).

    The scenario is computed by :func:`run`, exactly as ``planner run`` computes it
    (norms overrides, the forecast).
    """
    from planner.errors import ExportError, closest
    from planner.maps import gap_map, save_offline
    from planner.maps.export import export_figure, run_export_spec
    from planner.scenario import MAP_LAYERS, ExportSpec

    for name in (state or {}).get("layers", {}) or {}:
        if name not in MAP_LAYERS:
            hint = closest(name, MAP_LAYERS)
            raise ExportError(
                f"unknown map layer '{name}'"
                + (f"; did you mean '{hint}'?" if hint else "")
                + f" Valid: {', '.join(MAP_LAYERS)}"
            )
    src = Path(source)
    written: list[Path] = []
    if src.is_dir():
        page = src / "map.html"
        if not page.is_file():
            raise ExportError(
                f"{src}: no map.html in this folder; give the --out folder of a `planner run`"
            )
        spec = {**ExportSpec().model_dump(), **run_export_spec(src)}
        if out is not None:
            target = Path(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page, target)
            files = src / "map_files"  # local basemap tiles the page refers to
            if files.is_dir():
                shutil.copytree(files, target.parent / "map_files", dirs_exist_ok=True)
            written.append(target)
    elif src.suffix.lower() == ".toml":
        sc = read_scenario(src)
        result = run(sc, siting=siting and sc.inputs.sites is not None, time_limit_s=time_limit_s)
        target = Path(out) if out is not None else Path("maps") / f"{src.stem}_map.html"
        page = save_offline(gap_map(result, lang=lang), target)
        written.append(page)
        spec = sc.map.export.model_dump()
    else:
        raise ExportError(f"{src}: give a run folder or a scenario .toml file")
    if png is not None or pdf is not None:
        written += export_figure(
            page,
            png=png,
            pdf=pdf,
            state=state,
            paper=spec["paper"],
            orientation=spec["orientation"],
            scale=float(spec["scale"]),
        )
    return written
