"""Seat demand (学位需求).

The per-thousand rule (千人学位数): a unit with *P* residents needs
``P / 1000 × per_thousand`` seats of a stage. Pure functions on data frames;
norms come from a :class:`planner.norms.Norms` object, never from literals.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.norms import Norms

__all__ = ["STAGES", "norm_requirement", "population_for_year"]

#: compulsory-education stages the planner counts seats for (小学, 初中)
STAGES = ("primary", "junior")


def population_for_year(population: pd.DataFrame, year: int) -> pd.DataFrame:
    """Resident population per unit for ``year``, or the latest earlier year a unit has.

    Parameters
    ----------
    population : DataFrame
        Canonical population totals: ``unit_id, year, population``.
    year : int
        The wanted year.

    Returns
    -------
    DataFrame
        ``unit_id, year, population, observed_year`` — ``observed_year`` says which
        year's figure was used (equal to ``year`` when it exists).
    """
    p = population.dropna(subset=["unit_id", "year", "population"])
    p = p.loc[p["year"] <= year].sort_values(["unit_id", "year"])
    last = p.groupby("unit_id", sort=True).tail(1)
    return pd.DataFrame(
        {
            "unit_id": last["unit_id"].to_numpy(),
            "year": year,
            "population": last["population"].astype("int64").to_numpy(),
            "observed_year": last["year"].astype("int64").to_numpy(),
        }
    )


def norm_requirement(
    population: pd.DataFrame,
    norms: Norms,
    *,
    stages: Iterable[str] = STAGES,
) -> pd.DataFrame:
    """Seats required by the per-thousand norm (按千人学位数测算的学位需求).

    Parameters
    ----------
    population : DataFrame
        ``unit_id, year, population`` (residents, 常住人口), one row per unit and year.
    norms : Norms
        Supplies ``seats_per_thousand.<stage>``.
    stages : iterable of str
        Stages to compute (default primary and junior).

    Returns
    -------
    DataFrame
        One row per unit × year × stage: ``unit_id, year, stage, population,
        per_thousand, norm_seats``. ``norm_seats`` is rounded up to whole seats
        (a requirement is never rounded down).
    """
    stages = list(stages)
    rates = pd.DataFrame(
        {"stage": stages, "per_thousand": [float(norms.per_thousand(s)) for s in stages]}
    )
    base = population[["unit_id", "year", "population"]].reset_index(drop=True)
    out = base.merge(rates, how="cross")
    seats = out["population"].to_numpy(float) / 1000.0 * out["per_thousand"].to_numpy(float)
    # guard against 80.00000000001 from binary floating point before rounding up
    out["norm_seats"] = np.ceil(np.round(seats, 6)).astype("int64")
    order = {s: i for i, s in enumerate(stages)}
    out = out.sort_values(
        ["year", "unit_id", "stage"], key=lambda c: c.map(order) if c.name == "stage" else c
    )
    return out.reset_index(drop=True)
