"""Seat demand (学位需求).

The per-thousand rule (千人学位数): a unit with *P* residents needs
``P / 1000 × per_thousand`` seats of a stage. Pure functions on data frames;
norms come from a :class:`planner.norms.Norms` object, never from literals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planner.errors import ParameterError
from planner.norms import STAGES, Norms

if TYPE_CHECKING:
    from planner.scenario import DemandSpec

__all__ = [
    "STAGES",
    "demand_table",
    "development_seats",
    "norm_requirement",
    "per_thousand_seats",
    "population_for_year",
    "whole_seats",
]


def per_thousand_seats(residents: ArrayLike, per_thousand: ArrayLike) -> np.ndarray:
    """The per-thousand rule (千人学位数), the one place it is written: seats of a stage.

    Parameters
    ----------
    residents : array-like
        Residents (常住人口).
    per_thousand : array-like
        Seats per 1,000 residents of the stage (``seats_per_thousand.<stage>``).

    Returns
    -------
    ndarray
        ``residents / 1000 × per_thousand`` (not rounded; see :func:`whole_seats`).

    Examples
    --------
    >>> per_thousand_seats([12_345, 1_000], 80).tolist()
    [987.6, 80.0]
    >>> whole_seats(per_thousand_seats([12_345, 1_000], 80)).tolist()
    [988, 80]
    """
    return np.asarray(residents, dtype=float) / 1000.0 * np.asarray(per_thousand, dtype=float)


def whole_seats(seats: ArrayLike) -> np.ndarray:
    """Seats rounded up to whole seats (a requirement is never rounded down).

    Rounded to 6 decimals first, so that 80.00000000001 from binary floating point is 80.
    """
    return np.ceil(np.round(np.asarray(seats, dtype=float), 6)).astype("int64")


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
    out["norm_seats"] = whole_seats(per_thousand_seats(out["population"], out["per_thousand"]))
    order = {s: i for i, s in enumerate(stages)}
    out = out.sort_values(
        ["year", "unit_id", "stage"], key=lambda c: c.map(order) if c.name == "stage" else c
    )
    return out.reset_index(drop=True)


def project_population_trend(
    population: pd.DataFrame, base_year: int, years: Iterable[int], *, window: int = 5
) -> pd.DataFrame:
    """Fallback projection of unit totals: the log-linear trend of the last ``window`` years.

    Used when no forecast is available (a bureau with totals only). Each unit's
    growth rate is the least-squares slope of log(population) over the observed
    years ``base_year − window + 1 … base_year``; the base-year figure is carried
    forward at that rate.

    Parameters
    ----------
    population : DataFrame
        ``unit_id, year, population`` (observed).
    base_year : int
        Last observed year.
    years : iterable of int
        Years wanted (may include the base year and earlier observed years).
    window : int
        Years of history for the trend (at least 2 are needed; with one, flat).

    Returns
    -------
    DataFrame
        ``unit_id, year, population, source`` with ``source`` "observed" or "trend".
    """
    years = np.asarray(sorted(set(years)), dtype="int64")
    p = population.dropna(subset=["unit_id", "year", "population"])
    p = p.loc[(p["year"] <= base_year) & (p["population"] > 0)]
    hist = p.loc[p["year"] > base_year - window]
    t = hist["year"].to_numpy(float)
    y = np.log(hist["population"].to_numpy(float))
    g = pd.DataFrame({"unit_id": hist["unit_id"].to_numpy(), "t": t, "y": y})
    grp = g.groupby("unit_id")
    n = grp["t"].count()
    tm, ym = grp["t"].transform("mean"), grp["y"].transform("mean")
    g["tt"] = (g["t"] - tm) ** 2
    g["ty"] = (g["t"] - tm) * (g["y"] - ym)
    sums = g.groupby("unit_id")[["tt", "ty"]].sum()
    slope = (sums["ty"] / sums["tt"].where(sums["tt"] > 0)).fillna(0.0).where(n >= 2, 0.0)
    base = population_for_year(p, base_year).set_index("unit_id")
    grid = pd.MultiIndex.from_product([base.index, years], names=["unit_id", "year"]).to_frame(
        index=False
    )
    b = grid["unit_id"].map(base["population"]).to_numpy(float)
    b_year = grid["unit_id"].map(base["observed_year"]).to_numpy(float)
    r = grid["unit_id"].map(slope).to_numpy(float)
    proj = b * np.exp(r * (grid["year"].to_numpy(float) - b_year))
    obs = p.set_index(["unit_id", "year"])["population"]
    key = pd.MultiIndex.from_frame(grid[["unit_id", "year"]])
    observed = obs.reindex(key).to_numpy(float)
    has_obs = ~np.isnan(observed)
    grid["population"] = np.round(np.where(has_obs, observed, proj)).astype("int64")
    grid["source"] = np.where(has_obs, "observed", "trend")
    return grid


def development_arrivals(
    developments: pd.DataFrame,
    years: Iterable[int],
    *,
    persons_per_household: float,
    occupancy_years: int = 1,
) -> pd.DataFrame:
    """New residents of planned housing per unit and year (住宅配建带来的新增人口).

    Households × persons per household arrive from the completion year, spread
    evenly over ``occupancy_years`` (1: all in the completion year); counts are
    cumulative. A plot-ratio increase raises the residents (and so the seats owed) in
    proportion, ``plot_ratio / plot_ratio_original`` (the Meizhou rule), where both are
    given.

    Returns
    -------
    DataFrame
        ``dev_id, unit_id, year, households, residents, plot_ratio_factor``, one row per
        development and year, residents cumulative.
    """
    years = np.asarray(sorted(set(years)), dtype="int64")
    d = developments.dropna(subset=["unit_id", "households", "completion_year"]).copy()
    factor = np.ones(len(d))
    if "plot_ratio_original" in d.columns:
        orig = d["plot_ratio_original"].astype("Float64")
        now = d["plot_ratio"].astype("Float64")
        f = (now / orig.where(orig > 0)).astype(float).to_numpy()
        factor = np.where(np.isfinite(f) & (f > 1), f, 1.0)
    d["plot_ratio_factor"] = factor
    grid = d[["dev_id", "unit_id", "households", "completion_year", "plot_ratio_factor"]].merge(
        pd.DataFrame({"year": years}), how="cross"
    )
    since = grid["year"].to_numpy(float) - grid["completion_year"].to_numpy(float) + 1
    share = np.clip(since / max(int(occupancy_years), 1), 0, 1)
    residents = (
        grid["households"].to_numpy(float) * persons_per_household * grid["plot_ratio_factor"]
    )
    grid["residents"] = np.round(residents * share).astype("int64")
    return grid.drop(columns="completion_year")


def private_shares(schools: pd.DataFrame) -> pd.DataFrame:
    """Observed share of pupils in private (民办) schools per unit and stage (base year).

    Returns
    -------
    DataFrame
        ``unit_id, stage, private_share`` (0 where a unit has no pupils of the stage).
    """
    rows = []
    for stage in STAGES:
        s = schools.loc[schools["status"] == "existing"]
        pupils = s[f"students_{stage}"].astype("Float64").fillna(0)
        private = pupils.where(~s["public"].astype("boolean").fillna(True), 0)
        g = pd.DataFrame({"unit_id": s["unit_id"], "p": pupils, "q": private}).groupby("unit_id")
        tot = g[["p", "q"]].sum()
        share = (tot["q"] / tot["p"].where(tot["p"] > 0)).fillna(0.0).astype(float)
        rows.append(
            pd.DataFrame(
                {"unit_id": share.index, "stage": stage, "private_share": share.to_numpy()}
            )
        )
    return pd.concat(rows, ignore_index=True)


def forecast_requirement(
    forecast: pd.DataFrame,
    private_share: pd.DataFrame,
    *,
    migrant_public_share: float,
    migrant_share: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecast demand split into public and private seats (预测需求的公办/民办划分).

    The forecast gives projected pupils (P10/P50/P90) per unit, stage and year. Private
    schools keep at most their observed share of pupils; where the share of migrant
    children (随迁子女) is known, private seats may hold at most
    ``1 − migrant_public_share`` of them (the policy: ≥ 85 % in public or government-
    purchased seats), so

        private ≤ P50 × min(private_share, (1 − migrant_public_share) × migrant_share
                            + (1 − migrant_share) × private_share)

    and the public requirement is the rest.

    Parameters
    ----------
    forecast : DataFrame
        ``unit_id, stage, year, p10, p50, p90`` (pupils).
    private_share : DataFrame
        ``unit_id, stage, private_share`` (e.g. from :func:`private_shares`).
    migrant_public_share : float
        The policy floor (norm ``migrant_public_share``, 0.85).
    migrant_share : DataFrame, optional
        ``unit_id, stage, migrant_share``: migrant children among pupils.

    Returns
    -------
    DataFrame
        ``unit_id, stage, year, forecast_p10, forecast_p50, forecast_p90, private_share,
        forecast_public, forecast_private`` (seats, rounded up).
    """
    f = forecast.merge(private_share, on=["unit_id", "stage"], how="left")
    f["private_share"] = f["private_share"].fillna(0.0)
    share = f["private_share"].to_numpy(float)
    if migrant_share is not None:
        f = f.merge(migrant_share, on=["unit_id", "stage"], how="left")
        m = f["migrant_share"].fillna(0.0).to_numpy(float)
        cap = (1.0 - migrant_public_share) * m + (1.0 - m) * share
        share = np.minimum(share, cap)
        f = f.drop(columns="migrant_share")
    f["private_share"] = share
    p50 = f["p50"].to_numpy(float)
    private = np.floor(np.round(p50 * share, 6))
    out = pd.DataFrame(
        {
            "unit_id": f["unit_id"],
            "stage": f["stage"],
            "year": f["year"],
            "forecast_p10": f["p10"].to_numpy(float),
            "forecast_p50": p50,
            "forecast_p90": f["p90"].to_numpy(float),
            "private_share": share,
            "forecast_public": np.ceil(np.round(p50 - private, 6)).astype("int64"),
            "forecast_private": private.astype("int64"),
        }
    )
    return out


def development_seats(
    arrivals: pd.DataFrame,
    norms: Norms,
    demand: DemandSpec,
    *,
    stages: Iterable[str] = STAGES,
) -> pd.DataFrame:
    """Seats the residents of planned housing need, per development × stage × year.

    Parameters
    ----------
    arrivals : DataFrame
        From :func:`development_arrivals`: ``dev_id, unit_id, year, residents``.
    norms : Norms
        Supplies ``seats_per_thousand.<stage>``.
    demand : DemandSpec
        ``development_method`` (``persons``: the per-thousand rule on the residents,
        :func:`per_thousand_seats`; ``pupil_yield``: households × ``pupil_yield``) and
        ``persons_per_household``.
    stages : iterable of str
        Stages to compute.

    Returns
    -------
    DataFrame
        ``dev_id, unit_id, year, stage, seats`` (not rounded).
    """
    frames = []
    for stage in stages:
        if demand.development_method == "persons":
            seats = per_thousand_seats(arrivals["residents"], norms.per_thousand(stage))
        else:
            households = arrivals["residents"].to_numpy(float) / demand.persons_per_household
            seats = households * float(getattr(demand.pupil_yield, stage))
        frames.append(arrivals[["dev_id", "unit_id", "year"]].assign(stage=stage, seats=seats))
    return pd.concat(frames, ignore_index=True)


def demand_table(
    population: pd.DataFrame,
    norms: Norms,
    demand: DemandSpec,
    *,
    base_year: int,
    years: Sequence[int],
    developments: pd.DataFrame | None = None,
    schools: pd.DataFrame | None = None,
    forecast: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Seat requirement per unit × stage × year from the base year to the horizon.

    Population: observed totals, projected by the log-linear trend of the last
    ``demand.trend_years`` years (scaled to ``demand.population_control`` when given),
    plus the residents of planned housing (``demand.development_method``); the
    per-thousand norm gives ``norm_seats``.

    When an enrolment ``forecast`` (``unit_id, stage, year, p10, p50, p90``) is given,
    ``forecast_seats`` is its P50 plus the development seats (the forecast of today's
    residents does not contain the newcomers), split into public and private seats by
    :func:`forecast_requirement` with the private shares of ``schools``.

    Parameters
    ----------
    population : DataFrame
        Canonical population totals ``unit_id, year, population``.
    norms : Norms
        The norms in force.
    demand : DemandSpec
        The scenario's ``[demand]`` settings.
    base_year : int
        The last observed year.
    years : sequence of int
        The planning years (base year to horizon).
    developments, schools : DataFrame, optional
        Canonical planned housing and schools (``schools`` is needed with a forecast).
    forecast : DataFrame, optional
        Projected pupils.

    Returns
    -------
    DataFrame
        ``unit_id, year, stage, population, population_source, development_residents,
        per_thousand, development_seats, norm_seats, forecast_seats`` and, with a
        forecast, ``forecast_p10, forecast_p90, forecast_public, forecast_private``.
    """
    d = demand
    years = list(years)
    pop = project_population_trend(population, base_year, years, window=d.trend_years)
    pop = pop.rename(columns={"source": "population_source"})
    if d.population_control:
        from planner.forecast.pipeline import reconcile

        ctl = reconcile(pop, {int(k): float(v) for k, v in d.population_control.items()})
        projected = (pop["population_source"] != "observed").to_numpy()
        pop.loc[projected, "population"] = np.round(ctl.loc[projected, "population"]).astype(
            "int64"
        )
    pop["development_residents"] = 0
    key_pop = pd.MultiIndex.from_frame(pop[["unit_id", "year"]])
    dev_seats_uy = None
    if d.include_developments and developments is not None and len(developments):
        arr = development_arrivals(
            developments,
            years,
            persons_per_household=d.persons_per_household,
            occupancy_years=d.occupancy_years,
        )
        per_unit = arr.groupby(["unit_id", "year"])["residents"].sum()
        pop["development_residents"] = (
            per_unit.reindex(key_pop).fillna(0).astype("int64").to_numpy()
        )
        if d.development_method == "pupil_yield":
            dev_seats_uy = (
                development_seats(arr, norms, d)
                .groupby(["unit_id", "year", "stage"])["seats"]
                .sum()
            )
    counted = pop["population"] + (
        pop["development_residents"] if d.development_method == "persons" else 0
    )
    req = norm_requirement(pop.assign(population=counted)[["unit_id", "year", "population"]], norms)
    extra = pop.set_index(["unit_id", "year"])
    key = pd.MultiIndex.from_frame(req[["unit_id", "year"]])
    req["population_source"] = extra["population_source"].reindex(key).to_numpy()
    req["development_residents"] = extra["development_residents"].reindex(key).to_numpy()
    if d.development_method == "persons":
        dev_seats = per_thousand_seats(req["development_residents"], req["per_thousand"])
    else:
        key3 = pd.MultiIndex.from_frame(req[["unit_id", "year", "stage"]])
        dev_seats = (
            np.zeros(len(req))
            if dev_seats_uy is None
            else dev_seats_uy.reindex(key3).fillna(0.0).to_numpy(float)
        )
        req["norm_seats"] = req["norm_seats"] + whole_seats(dev_seats)
    req["development_seats"] = whole_seats(dev_seats)
    req["forecast_seats"] = np.nan
    if forecast is not None and len(forecast):
        if schools is None:
            raise ParameterError("demand_table needs the schools table with a forecast")
        fr = forecast_requirement(
            forecast,
            private_shares(schools),
            migrant_public_share=float(norms["migrant_public_share"]),
        )
        req = req.merge(fr, on=["unit_id", "stage", "year"], how="left")
        dev = req["development_seats"] if d.include_developments else 0
        req["forecast_seats"] = np.ceil(np.round(req["forecast_p50"], 6)) + dev  # NaN kept
        req["forecast_public"] = req["forecast_public"] + dev
    return req
