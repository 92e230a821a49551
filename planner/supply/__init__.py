"""Seat supply (学位供给): capacity per school and per unit, stage and year.

Capacity is classes × class cap (45 primary, 50 junior in the Guangdong norms):
the seats a school offers without a 大班额. Nine- and twelve-year schools count
their primary and junior parts separately. Planned schools and schools under
construction join in their opening year. Private (民办) seats are counted
separately from public (公办) ones.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.norms import STAGES, Norms

__all__ = ["school_capacity", "capacity_by_unit", "STAGES"]


def school_capacity(schools: pd.DataFrame, norms: Norms, years: Iterable[int]) -> pd.DataFrame:
    """Seats per school × stage × year.

    Parameters
    ----------
    schools : DataFrame
        Canonical schools (``classes_<stage>``, ``students_<stage>``, ``status``,
        ``opening_year``, ``public``, ``unit_id``).
    norms : Norms
        ``class_cap.<stage>``.
    years : iterable of int
        Years to list.

    Returns
    -------
    DataFrame
        ``school_id, unit_id, stage, year, public, status, classes, class_cap, capacity,
        students, open``. ``capacity`` is 0 before a planned school opens; ``students``
        are the base-year pupils (existing schools only).
    """
    years = np.asarray(list(years), dtype="int64")
    parts = []
    for stage in STAGES:
        classes = schools[f"classes_{stage}"].astype("Float64").fillna(0)
        teaches = classes > 0
        s = schools.loc[teaches.to_numpy()]
        parts.append(
            pd.DataFrame(
                {
                    "school_id": s["school_id"].to_numpy(),
                    "unit_id": s["unit_id"].to_numpy(),
                    "stage": stage,
                    "public": s["public"].astype("boolean").fillna(True).to_numpy(),
                    "status": s["status"].fillna("existing").to_numpy(),
                    "opening_year": s["opening_year"].astype("Float64").to_numpy(),
                    "classes": classes[teaches].astype("int64").to_numpy(),
                    "class_cap": int(norms.class_cap(stage)),
                    "students": s[f"students_{stage}"].astype("Float64").fillna(0).to_numpy(),
                }
            )
        )
    base = pd.concat(parts, ignore_index=True)
    out = base.merge(pd.DataFrame({"year": years}), how="cross")
    opening = out["opening_year"].astype(float)
    planned = out["status"] != "existing"
    out["open"] = ~planned | (opening.notna() & (out["year"] >= opening)).to_numpy()
    # a planned school without an opening year is not supply (validation warns)
    out["open"] &= ~(planned & opening.isna()).to_numpy()
    out["capacity"] = np.where(out["open"], out["classes"] * out["class_cap"], 0).astype("int64")
    out["students"] = np.where(planned, 0, out["students"]).astype("int64")
    return out.drop(columns="opening_year")


def capacity_by_unit(capacity: pd.DataFrame) -> pd.DataFrame:
    """Sum school capacity to unit × stage × year, public and private apart.

    Schools in no unit (located outside every unit, flagged in the validation report)
    add their seats to no unit.

    Returns
    -------
    DataFrame
        ``unit_id, stage, year, capacity_public, capacity_private, capacity,
        students, schools``.
    """
    capacity = capacity.loc[capacity["unit_id"].notna()]
    c = capacity.assign(
        capacity_public=np.where(capacity["public"], capacity["capacity"], 0),
        capacity_private=np.where(capacity["public"], 0, capacity["capacity"]),
        schools=capacity["open"].astype("int64"),
    )
    g = (
        c.groupby(["unit_id", "stage", "year"], sort=True, dropna=False)[
            ["capacity_public", "capacity_private", "capacity", "students", "schools"]
        ]
        .sum()
        .reset_index()
    )
    return g
