"""The main job: inputs → seat requirement → tables (规划测算主流程).

:func:`compute` is pure: canonical inputs and norms in, result tables out.
Reading the scenario and writing the output folder are in :mod:`planner.io`.
Later stages (forecast, supply, gaps, siting) extend :func:`compute`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from planner.demand import norm_requirement, population_for_year
from planner.inputs import Inputs
from planner.norms import Norms

__all__ = ["RunResult", "compute"]


@dataclass
class RunResult:
    """What a run produced.

    Attributes
    ----------
    inputs : Inputs
        The validated inputs.
    norms : Norms
        The norms in force (with the scenario's overrides).
    tables : dict
        Result tables by name (tidy, English column names).
    timings : dict
        Seconds spent per step.
    """

    inputs: Inputs
    norms: Norms
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def compute(
    inputs: Inputs,
    norms: Norms,
    *,
    on_step: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every computation step on validated inputs.

    Parameters
    ----------
    inputs : Inputs
        From :func:`planner.io.load.load_inputs`.
    norms : Norms
        From :func:`planner.io.norms.load_norms` (scenario overrides applied).
    on_step : callable, optional
        Called with each step's name (progress display).

    Returns
    -------
    RunResult
        ``tables["norm_requirement"]``: base-year seats required by the per-thousand
        norm per unit and stage, with city totals in ``tables["norm_requirement_city"]``.
    """
    result = RunResult(inputs, norms)
    sc = inputs.scenario

    t0 = time.perf_counter()
    if on_step:
        on_step("norm_requirement")
    pop = population_for_year(inputs["population"], sc.base_year)
    req = norm_requirement(pop[["unit_id", "year", "population"]], norms)
    req = req.merge(pop[["unit_id", "observed_year"]], on="unit_id", how="left")
    units = pd.DataFrame(inputs["units"][["unit_id", "name", "kind"]])
    req = units.merge(req, on="unit_id", how="right")
    cols = [
        "unit_id",
        "name",
        "kind",
        "year",
        "observed_year",
        "stage",
        "population",
        "per_thousand",
        "norm_seats",
    ]
    result.tables["norm_requirement"] = req[cols]
    city = (
        req.groupby(["year", "stage"], sort=False)
        .agg(population=("population", "sum"), norm_seats=("norm_seats", "sum"))
        .reset_index()
    )
    result.tables["norm_requirement_city"] = city
    result.timings["norm_requirement"] = time.perf_counter() - t0
    return result
