"""The canonical, validated inputs of a scenario (规范化输入)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from planner.errors import Problem, UnknownKeyError, ValidationReport
from planner.scenario import INPUT_NAMES, Scenario

__all__ = ["EXCLUDED_COLUMNS", "FLAG_CODES_IGNORED", "Inputs", "forecast_unavailable"]


def forecast_unavailable(scenario: Scenario, tables: dict) -> str | None:
    """Why the scenario's enrolment forecast cannot run, or None when it can.

    The forecast needs ``[forecast] enabled``, births and an enrolment history; the
    reason names what is missing (an input not declared, or declared but unreadable or
    left without a usable row) and the fallback.
    """
    if not scenario.forecast.enabled:
        return "disabled in the scenario ([forecast] enabled = false)"
    missing = []
    for name, what in (("births", "births (出生人口)"), ("enrolment", "an enrolment history")):
        if name in tables and len(tables[name]):
            continue
        declared = getattr(scenario.inputs, name) is not None
        missing.append(
            f"{what}: "
            + (
                "the input is declared but unreadable or without a usable row"
                if declared
                else f"no [inputs.{name}] in the scenario"
            )
        )
    if missing:
        return (
            "the enrolment forecast cannot run without "
            + "; ".join(missing)
            + ". Fallback: the per-thousand norm on the population trend"
        )
    return None


#: columns of :attr:`Inputs.excluded` (``excluded_rows.csv``)
EXCLUDED_COLUMNS = ["input", "file", "row", "id", "code", "column"]
#: problem codes that never flag a record (notes on how the file was read)
FLAG_CODES_IGNORED = frozenset(
    {
        "encoding_guessed",
        "unknown_column",
        "years_out_of_order",
        "layout_detected",
        "value_form",
        "unit_converted",
        "total_row",
        "invalid_geometry_repaired",
    }
)
#: the inputs whose records are units, schools … (their first id column)
_RECORD_INPUTS = {
    "unit": (
        ("units", "unit_id"),
        ("population", "unit_id"),
        ("population_by_age", "unit_id"),
        ("births", "unit_id"),
    ),
    "school": (("schools", "school_id"), ("enrolment", "school_id")),
    "site": (("sites", "site_id"),),
    "development": (("developments", "dev_id"),),
}


@dataclass
class Inputs:
    """Every input of a scenario in canonical form.

    Attributes
    ----------
    scenario : Scenario
        The scenario the inputs were loaded for.
    tables : dict
        Canonical tables by input name. Spatial inputs are GeoDataFrames in WGS84
        (EPSG:4326); tabular inputs are DataFrames. Inputs not declared are absent.
    report : ValidationReport
        Every problem found while loading.
    compute_crs : pyproj.CRS
        The metric CRS for distances and areas (a CGCS2000 Gauss–Krüger zone).
    files : dict
        The file label of each input (as used in messages).
    schedules : dict
        The demographic schedules the scenario names in ``[forecast]``: ``survival``
        (``sex, age, survival``) and ``fertility`` (``age, asfr``); None = the default.
    excluded : DataFrame
        Every row kept out of the computation: ``input, file, row, id, code, column``
        (written as ``excluded_rows.csv``).
    blocking : list of Problem
        Problems that make a run impossible in any mode (a required input missing,
        empty or without a usable row); :func:`planner.pipeline.compute` refuses them.
    """

    scenario: Scenario
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    report: ValidationReport = field(default_factory=ValidationReport)
    compute_crs: CRS | None = None
    files: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EXCLUDED_COLUMNS))
    blocking: list[Problem] = field(default_factory=list)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            if name in INPUT_NAMES:
                raise KeyError(f"input '{name}' is not declared in the scenario")
            raise UnknownKeyError(name, INPUT_NAMES, "inputs")
        return self.tables[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def projected(self, name: str) -> gpd.GeoDataFrame:
        """A spatial input in the metric compute CRS."""
        t = self[name]
        if not isinstance(t, gpd.GeoDataFrame):
            raise TypeError(f"input '{name}' has no geometry")
        return t.to_crs(self.compute_crs)

    def summary(self) -> pd.DataFrame:
        """One row per input: file, rows, errors, warnings."""
        probs = self.report.to_frame()
        rows = []
        for name in INPUT_NAMES:
            if name not in self.files:
                continue
            f = self.files[name]
            mine = probs[probs["file"] == f] if len(probs) else probs
            rows.append(
                {
                    "input": name,
                    "file": f,
                    "rows": len(self.tables[name]) if name in self.tables else 0,
                    "errors": int((mine["severity"] == "error").sum()) if len(mine) else 0,
                    "warnings": int((mine["severity"] == "warning").sum()) if len(mine) else 0,
                }
            )
        return pd.DataFrame(rows)

    def flags(self, kind: str) -> pd.Series | None:
        """Data flags per record: the problem codes that concern it (``data_flags`` column).

        Parameters
        ----------
        kind : {"unit", "school", "site", "development"}
            Units collect the problems of their own rows (units, population, births and
            the age table) and, as ``<school_id>: <code>``, those of the schools,
            developments and sites located in them; a school those of its schools and
            enrolment rows.

        Returns
        -------
        Series or None
            ``id → "code; code"`` for the flagged records only (None: nothing flagged).
            Notes on how a file was read (:data:`FLAG_CODES_IGNORED`) and info-level
            problems are left out; a problem without a row but naming the whole file
            (e.g. ``datum_shift``) flags every record of that file.
        """
        if kind not in _RECORD_INPUTS:
            raise UnknownKeyError(kind, list(_RECORD_INPUTS), "Inputs.flags")
        rows: list[tuple[str, str]] = []
        by_file = {self.files.get(n): n for n in self.files}
        probs = [
            p
            for p in self.report.problems
            if p.severity != "info" and p.code not in FLAG_CODES_IGNORED
        ]

        def own(kind_: str) -> list[tuple[str, str]]:
            out: list[tuple[str, str]] = []
            names = {n for n, _ in _RECORD_INPUTS[kind_]}
            for p in probs:
                name = by_file.get(p.file)
                if name not in names:
                    continue
                if p.id is not None:
                    out.append((str(p.id), p.code))
                elif p.row is None and p.code in ("datum_shift", "crs_conflict", "missing_crs"):
                    t = self.tables.get(name)
                    col = dict(_RECORD_INPUTS[kind_])[name]
                    if t is not None and col in t.columns:
                        out += [(str(i), p.code) for i in t[col].dropna().unique()]
            for e in self.excluded.itertuples():
                if e.input in names and pd.notna(e.id):
                    out.append((str(e.id), f"{e.code} (row {e.row} kept out)"))
            return out

        rows = own(kind)
        if kind == "unit":
            for other, name, col in (
                ("school", "schools", "school_id"),
                ("site", "sites", "site_id"),
                ("development", "developments", "dev_id"),
            ):
                t = self.tables.get(name)
                if t is None or "unit_id" not in t.columns:
                    continue
                where = t.set_index(col)["unit_id"].dropna().astype(str).to_dict()
                for rid, code in own(other):
                    if rid in where:
                        rows.append((where[rid], f"{rid}: {code}"))
        if not rows:
            return None
        df = pd.DataFrame(rows, columns=["id", "flag"]).drop_duplicates()
        return df.groupby("id")["flag"].agg(lambda f: "; ".join(sorted(f)))
