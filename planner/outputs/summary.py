"""Headline figures and wide tables of a run (成果摘要).

What the console, the report and the notebooks show. Pure functions of a :class:`~planner.pipeline.RunResult`'s tables.
"""

from __future__ import annotations

import pandas as pd

from planner.norms import STAGES
from planner.pipeline import RunResult

__all__ = ["milestone_gaps", "needs_wide", "summary"]


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
