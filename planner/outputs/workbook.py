"""The sheets of ``results.xlsx`` (成果表格): plan tables first, then every result table.

The plan draft's tables (说明, 建设项目表, 分年度学位需求表, from
:mod:`planner.reports.plan_tables`) open the workbook; the result tables follow with
Chinese headers, their units (costs in 万元) and number formats from
``data/schema/outputs.toml``. :func:`planner.outputs.writers.write_excel` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

import planner
from planner.gaps import gaps_after_plan
from planner.outputs.writers import excel_formats, localise
from planner.reports.plan_tables import (
    PlanSheet,
    needs_sheet,
    notes_sheet,
    plan_notes,
    project_sheet,
)

__all__ = ["PLAN_SHEETS", "workbook_sheets", "plan_gaps", "site_land"]

#: the plan draft's sheets, in order
PLAN_SHEETS = ("说明", "建设项目表", "分年度学位需求表")


def plan_gaps(result: Any) -> pd.DataFrame:
    """Seat gap per unit × stage × every year, before and after the run's plan."""
    return gaps_after_plan(result.tables["needs"], result.tables.get("projects"))


def _unit_names(result: Any) -> dict[str, str]:
    u = result.inputs["units"]
    return dict(zip(u["unit_id"].astype(str), u["name"].astype(str), strict=False))


def site_land(result: Any) -> dict[str, float]:
    """site_id → land area (m²) of the candidate sites."""
    if "sites" not in result.inputs or "land_area" not in result.inputs["sites"]:
        return {}
    s = result.inputs["sites"]
    return dict(zip(s["site_id"].astype(str), s["land_area"], strict=False))


def workbook_sheets(
    result: Any,
    tables: Mapping[str, pd.DataFrame],
    labels: Mapping[str, Any],
    sheet_names: Mapping[str, str],
    *,
    generated: date | None = None,
) -> dict[str, PlanSheet]:
    """Every sheet of ``results.xlsx``: the plan tables, then ``tables`` localised.

    Parameters
    ----------
    result : RunResult
        The run (inputs, norms, scenario).
    tables : mapping
        The result tables as written to CSV (English headers), in sheet order.
    labels : mapping
        ``data/schema/outputs.toml``.
    sheet_names : mapping
        Table name → Chinese sheet name.
    generated : date, optional
        Date shown in 说明 (default today).
    """
    day = (generated or date.today()).strftime("%Y年%m月%d日")
    units = _unit_names(result)
    sheets: dict[str, PlanSheet] = {
        "说明": notes_sheet(plan_notes(result, generated=day, version=planner.__version__))
    }
    if "projects" in tables:
        sheets["建设项目表"] = project_sheet(
            tables["projects"], unit_names=units, site_land=site_land(result)
        )
    if "needs" in result.tables:  # (a run whose demand step failed has no needs table)
        sheets["分年度学位需求表"] = needs_sheet(plan_gaps(result), unit_names=units)
    for k, df in tables.items():
        if k == "gaps_plan":  # shown as 分年度学位需求表
            continue
        sheets[sheet_names.get(k, k)] = PlanSheet(
            frame=localise(df, labels, table=k, excel=True),
            formats=excel_formats(df, labels, table=k),
            autofilter=True,
        )
    return sheets
