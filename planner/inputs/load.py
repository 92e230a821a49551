"""Load every input of a scenario: read, canonicalise, validate, cross-check (加载输入)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from planner.errors import InputError, Problem, ValidationReport, closest
from planner.geo import crs as crsmod
from planner.inputs import EXCLUDED_COLUMNS, Inputs, forecast_unavailable
from planner.inputs.canonical import (
    TableSpec,
    canonicalise,
    known_headers,
    split_excluded,
    table_specs,
)
from planner.inputs.checks import cross_check
from planner.inputs.norms import norms_for
from planner.inputs.readers import Layout, read_raw_table
from planner.inputs.schedules import check_scenario_schedules, schedule_error
from planner.inputs.schema import load_measures, load_schema
from planner.norms import Norms
from planner.scenario import Scenario

__all__ = ["REQUIRED_INPUTS", "load_inputs", "resolve_units"]


def _label(scenario: Scenario, name: str) -> str:
    """The input's path as the user wrote it, relative to the working folder when possible."""
    p = scenario.input_path(name)
    try:
        return os.path.relpath(p)
    except ValueError:  # other drive on Windows
        return str(p)


#: inputs without which no run is possible
REQUIRED_INPUTS = ("units", "population", "schools")


def resolve_units(
    units: dict[str, str], spec: TableSpec, measures: dict[str, dict[str, float]], file: str
) -> tuple[dict[str, tuple[float, str]], list[Problem]]:
    """The scenario's ``units = {column = "万人"}`` as factors to the canonical units.

    Returns
    -------
    factors : dict
        ``{column: (factor, unit)}`` for each declared column that is known.
    problems : list of Problem
        A ``bad_unit`` error for an unknown column or unit, a ``unit_converted`` note
        for each conversion.
    """
    factors: dict[str, tuple[float, str]] = {}
    problems: list[Problem] = []
    numeric = {c.name: c for c in spec.columns if c.dtype in {"int", "float"}}
    for col, unit in units.items():
        c = numeric.get(col)
        if c is None:
            hint = closest(col, list(numeric))
            problems.append(
                Problem(
                    file,
                    f"units: '{col}' is not a numeric column of '{spec.name}'",
                    f"use one of: {', '.join(numeric)}"
                    + (f" (did you mean '{hint}'?)" if hint else ""),
                    column=col,
                    code="bad_unit",
                )
            )
            continue
        table = measures.get(c.unit, {})
        lookup = {k.lower(): (k, v) for k, v in table.items()}
        hit = lookup.get(str(unit).strip().lower())
        if hit is None:
            problems.append(
                Problem(
                    file,
                    f"units: '{unit}' is not a known unit for '{col}' ({c.unit})",
                    f"use one of: {', '.join(table) or c.unit}",
                    column=col,
                    code="bad_unit",
                )
            )
            continue
        factors[col] = (hit[1], hit[0])
        if hit[1] != 1.0:
            problems.append(
                Problem(
                    file,
                    f"'{col}' is read in {hit[0]}: values × {hit[1]:,.10g} → {c.unit}",
                    "",
                    severity="info",
                    column=col,
                    code="unit_converted",
                )
            )
    return factors, problems


def load_inputs(
    scenario: Scenario,
    *,
    strict: bool | None = None,
    on_input: Callable[[str], None] | None = None,
    norms: Norms | None = None,
) -> Inputs:
    """Read and validate every input a scenario declares.

    Every problem is collected before anything fails. By default problems are
    reported as warnings and the inputs are returned; rows with a missing or invalid
    required value (or a repeated id) are kept out and listed in ``inputs.excluded``.
    In strict mode any error raises :class:`~planner.errors.ValidationFailed` listing
    all of them. A required input that is missing, unreadable or left without a usable
    row is recorded in ``inputs.blocking`` (the run refuses it in any mode; ``validate``
    still shows everything). The scenario's schedule tables
    (``forecast.survival_table`` / ``fertility_table``) are checked the same way, but
    one with an error cannot be used by the projection: it raises
    :class:`~planner.errors.InputError` listing every schedule problem, also without
    strict mode.

    Parameters
    ----------
    scenario : Scenario
        The scenario (see :func:`planner.inputs.scenario.read_scenario`).
    strict : bool, optional
        Refuse inputs with errors. ``None`` takes ``scenario.strict``.
    on_input : callable, optional
        Called with each input's name after it is read (progress display).
    norms : Norms, optional
        The norms in force (their grade → stage map checks the enrolment); None reads
        the scenario's (:func:`planner.inputs.norms.norms_for`).

    Returns
    -------
    Inputs
        Canonical tables (spatial ones in WGS84), the validation report, the rows
        kept out and the compute CRS.
    """
    strict = scenario.strict if strict is None else strict
    specs = table_specs(load_schema())
    measures = load_measures()
    report = ValidationReport()
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    excluded: list[pd.DataFrame] = []
    datums: dict[str, str | None] = {}
    blocking: list[Problem] = []
    for name, spec in scenario.inputs.items():
        label = _label(scenario, name)
        files[name] = label
        tspec = specs[name]
        layout = Layout(
            delimiter=_delimiter(spec.delimiter),
            header_row=spec.header_row,
            header_rows=spec.header_rows,
            skip_rows=tuple(spec.skip_rows),
            footer_rows=spec.footer_rows,
            known_headers=frozenset(known_headers(tspec)),
        )
        try:
            raw = read_raw_table(
                scenario.input_path(name),
                layer=spec.layer,
                sheet=spec.sheet,
                encoding=spec.encoding,
                label=label,
                layout=layout,
            )
        except InputError as exc:
            p = Problem(
                label,
                str(exc).removeprefix(f"{label}: "),
                "check the `path` (and `encoding`, `sheet`, `layer`) of this input in the "
                "scenario file",
                code="unreadable_file",
                action="the run is refused (a required input)"
                if name in REQUIRED_INPUTS
                else f"the input is left out: {_LOSS.get(name, 'its results are missing')}",
            )
            report.add(p)
            if name in REQUIRED_INPUTS:
                blocking.append(p)
            if on_input is not None:
                on_input(name)
            continue
        factors, unit_problems = resolve_units(spec.units, tspec, measures, label)
        report.extend(unit_problems)
        try:
            table, problems = canonicalise(
                raw,
                tspec,
                columns=spec.columns,
                crs=spec.crs,
                values=spec.values,
                factors=factors,
                wide=(spec.wide.key, spec.wide.value) if spec.wide else None,
                thousands_separator=spec.thousands_separator,
            )
        except ValueError as exc:
            p = Problem(label, str(exc), "fix `wide` for this input", code="bad_column_mapping")
            report.add(p)
            if name in REQUIRED_INPUTS:
                blocking.append(p)
            continue
        report.extend(problems)
        kept, excl = split_excluded(table, name, label)
        excluded.append(excl)
        tables[name] = kept
        datums[name] = _declared_datum(spec.crs, raw)
        if on_input is not None:
            on_input(name)
    grades = (norms if norms is not None else norms_for(scenario)).stage_of_grade()
    tables, problems = cross_check(
        tables, files, scenario.base_year, datums=datums, stage_of_grade=grades
    )
    report.extend(problems)
    for name in list(tables):
        kept, excl = split_excluded(tables[name], name, files[name])
        excluded.append(excl)
        tables[name] = kept
    # inputs left without a usable row
    for name in list(tables):
        if len(tables[name]):
            continue
        required = name in REQUIRED_INPUTS
        p = Problem(
            files[name],
            f"no usable row: the {name} input is empty or every row was kept out "
            "(see the problems above and excluded_rows)",
            "fill in the table (a header row alone is no data)",
            code="empty_table",
            action="the run is refused (a required input)"
            if required
            else f"the input is left out: {_LOSS.get(name, 'its results are missing')}",
        )
        report.add(p)
        if required:
            blocking.append(p)
        else:
            del tables[name]
    why = forecast_unavailable(scenario, tables)
    declared = any(getattr(scenario.inputs, n) is not None for n in ("births", "enrolment"))
    if why is not None and scenario.forecast.enabled and declared:
        # a scenario with neither input uses the norm by design (run_status.csv says so)
        report.add(
            Problem(
                scenario.source_file,
                why,
                "add the missing input(s), or set [forecast] enabled = false to use the norm "
                "on purpose",
                severity="warning",
                column="[forecast]",
                code="forecast_fallback",
            )
        )
    units = tables.get("units")
    if (
        units is not None
        and len(units)
        and not (units.geometry.notna() & ~units.geometry.is_empty).any()
    ):
        p = Problem(
            files["units"],
            "no planning unit has a usable polygon, so no school can be placed in a unit",
            "supply the unit polygons with a coordinate system",
            column="geometry",
            code="missing_geometry",
            action="the run is refused",
        )
        report.add(p)
        blocking.append(p)
    schools = tables.get("schools")
    if schools is not None and len(schools) and schools["unit_id"].isna().all() and not blocking:
        p = Problem(
            files["schools"],
            "no school lies in a planning unit (no usable location or unit_id), so no seat "
            "would be counted anywhere",
            "check the schools' coordinates and their declared `crs`, or give a unit_id "
            "(所属单元) column",
            column="geometry",
            code="missing_geometry",
            action="the run is refused",
        )
        report.add(p)
        blocking.append(p)
    for name, t in tables.items():
        sort = [c for c in specs[name].id if c in t.columns]
        tables[name] = (
            t.sort_values(sort, kind="stable").drop(columns="_row").reset_index(drop=True)
        )
    # the schedule tables of [forecast] (survival, fertility): problems go to the report
    schedules, sched_problems = check_scenario_schedules(scenario)
    report.extend(sched_problems)
    compute = _compute_crs(scenario, tables, report)
    excl = [e for e in excluded if len(e)]
    inputs = Inputs(
        scenario,
        tables,
        report,
        compute,
        files,
        schedules,
        pd.concat(excl, ignore_index=True) if excl else pd.DataFrame(columns=EXCLUDED_COLUMNS),
        blocking,
    )
    report.raise_if_errors(strict)
    if any(p.severity == "error" for p in sched_problems):
        # a schedule with an error cannot be used: refuse even without strict mode
        raise schedule_error(sched_problems)
    return inputs


def _delimiter(text: str | None) -> str | None:
    """The scenario's delimiter: a tab may be written as a tab character, ``tab`` or backslash-t."""
    if text is None:
        return None
    return "\t" if text in ("\t", "\\t") or text.strip().lower() == "tab" else text


#: what a run loses without an optional input
_LOSS = {
    "population_by_age": "births are projected by their trend, without the age table",
    "births": "no enrolment forecast (the per-thousand norm is used)",
    "enrolment": "no enrolment forecast (the per-thousand norm is used) and no class sizes",
    "developments": "no residents of planned housing",
    "sites": "no candidate sites for siting",
    "roads": "distances are straight line × detour_factor",
}


def _declared_datum(declared: str | None, raw) -> str | None:
    """The datum a layer's coordinates were read in: "GCJ-02", "BD-09", "WGS84" or None."""
    if raw.geometry is None and declared is None:
        return None
    if declared:
        try:
            crs, datum = crsmod.resolve_datum(declared)
        except Exception:
            return None
        if datum is not None:
            return datum
        return "WGS84" if crs.is_geographic else None
    if raw.crs is not None and raw.crs.is_geographic:
        return "WGS84"
    return None


def _compute_crs(scenario: Scenario, tables: dict, report: ValidationReport):
    if scenario.compute_crs != "auto":
        crs, datum = crsmod.resolve_datum(scenario.compute_crs)
        if crs.is_geographic or datum is not None:
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
    if units is None or not len(units) or units.geometry.isna().all():
        return crsmod.choose_compute_crs([114.0])
    lons = units.geometry.dropna().representative_point().x.to_numpy()
    try:
        return crsmod.choose_compute_crs(lons)
    except InputError:  # no usable longitude (reported with the units)
        return crsmod.choose_compute_crs([114.0])
