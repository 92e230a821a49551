"""Load every input of a scenario: read, canonicalise, validate, cross-check (加载输入)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from planner.errors import InputError, Problem, ValidationReport
from planner.inputs import Inputs
from planner.io import crs as crsmod
from planner.io.canonical import canonicalise, table_specs
from planner.io.checks import cross_check
from planner.io.readers import read_raw_table
from planner.io.schedules import check_scenario_schedules, schedule_error
from planner.io.schema import load_schema
from planner.scenario import Scenario

__all__ = ["load_inputs"]


def _label(scenario: Scenario, name: str) -> str:
    """The input's path as the user wrote it, relative to the working folder when possible."""
    p = scenario.input_path(name)
    try:
        return os.path.relpath(p)
    except ValueError:  # other drive on Windows
        return str(p)


def load_inputs(
    scenario: Scenario,
    *,
    strict: bool | None = None,
    on_input: Callable[[str], None] | None = None,
) -> Inputs:
    """Read and validate every input a scenario declares.

    Every problem is collected before anything fails. By default problems are
    reported as warnings and the inputs are returned; in strict mode any error
    raises :class:`~planner.errors.ValidationFailed` listing all of them. The
    scenario's schedule tables (``forecast.survival_table`` / ``fertility_table``) are
    checked the same way, but one with an error cannot be used by the projection: it
    raises :class:`~planner.errors.InputError` listing every schedule problem, also
    without strict mode.

    Parameters
    ----------
    scenario : Scenario
        The scenario (see :func:`planner.io.scenario.read_scenario`).
    strict : bool, optional
        Refuse inputs with errors. ``None`` takes ``scenario.strict``.
    on_input : callable, optional
        Called with each input's name after it is read (progress display).

    Returns
    -------
    Inputs
        Canonical tables (spatial ones in WGS84), the validation report and the
        compute CRS.
    """
    strict = scenario.strict if strict is None else strict
    specs = table_specs(load_schema())
    report = ValidationReport()
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name, spec in scenario.inputs.items():
        label = _label(scenario, name)
        files[name] = label
        try:
            raw = read_raw_table(
                scenario.input_path(name),
                layer=spec.layer,
                sheet=spec.sheet,
                encoding=spec.encoding,
                label=label,
            )
        except InputError as exc:
            report.add(
                Problem(label, str(exc).removeprefix(f"{label}: "), "", code="unreadable_file")
            )
            continue
        table, problems = canonicalise(raw, specs[name], columns=spec.columns, crs=spec.crs)
        report.extend(problems)
        tables[name] = table
        if on_input is not None:
            on_input(name)
    tables, problems = cross_check(tables, files, scenario.base_year)
    report.extend(problems)
    for name, t in tables.items():
        sort = [c for c in specs[name].id if c in t.columns]
        tables[name] = (
            t.sort_values(sort, kind="stable").drop(columns="_row").reset_index(drop=True)
        )
    # the schedule tables of [forecast] (survival, fertility): problems go to the report
    schedules, sched_problems = check_scenario_schedules(scenario)
    report.extend(sched_problems)
    compute = _compute_crs(scenario, tables, report)
    inputs = Inputs(scenario, tables, report, compute, files, schedules)
    report.raise_if_errors(strict)
    if any(p.severity == "error" for p in sched_problems):
        # a schedule with an error cannot be used: refuse even without strict mode
        raise schedule_error(sched_problems)
    return inputs


def _compute_crs(scenario: Scenario, tables: dict, report: ValidationReport):
    if scenario.compute_crs != "auto":
        crs, is_gcj = crsmod.resolve_crs(scenario.compute_crs)
        if crs.is_geographic or is_gcj:
            report.add(
                Problem(
                    scenario.source_file,
                    f"compute_crs '{scenario.compute_crs}' is not a metric (projected) CRS",
                    'use "auto" or a projected CRS such as "EPSG:4547"',
                    column="compute_crs",
                    code="bad_compute_crs",
                )
            )
        else:
            return crs
    units = tables.get("units")
    if units is None or units.geometry.isna().all():
        return crsmod.choose_compute_crs([114.0])
    lons = units.geometry.dropna().representative_point().x.to_numpy()
    return crsmod.choose_compute_crs(lons)
