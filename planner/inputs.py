"""The canonical, validated inputs of a scenario (规范化输入)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from planner.errors import UnknownKeyError, ValidationReport
from planner.scenario import INPUT_NAMES, Scenario

__all__ = ["Inputs"]


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
    """

    scenario: Scenario
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    report: ValidationReport = field(default_factory=ValidationReport)
    compute_crs: CRS | None = None
    files: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, pd.DataFrame | None] = field(default_factory=dict)

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
