"""Population by age and births after the origin, by the registered methods (人口与出生预测).

:func:`project_population` runs one method of
:data:`~planner.forecast.methods.POPULATION_METHODS` for a set of units from a forecast
origin *T*: the population path by sex and age (annual, from the unit's latest age
table on) and the births of the years after *T*.

Births follow a **fertility index** for every method with an age table:
``M(y) = Σ_a f_a · W_a(y)``, the women of each age *a* projected by the method times the
age pattern of fertility *f* (the scenario's fertility table, or the default pattern);
``B(y) = m · B(T*) · M(y) / M(T*)`` for *y > T*, ``T*`` the last year ≤ *T* with
observed births and *m* the ``tfr_multiplier``: births keep the fertility of the last
observed year (so the gap between the births and the counted young children — an
under-count of infants, or young families moving — does not bias the level). Without
observed births the level comes from the children of the first age group of the table.
The cohort-component path is then re-run with those births, so the population and the
births agree.

Pure computation on long tables; the data passed must end at the origin (the caller
cuts them), and default schedules are cut there too
(:class:`~planner.forecast.CohortComponent`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import ForecastError, LeakageError, ParameterError
from planner.forecast.cohort import CohortComponent, HamiltonPerry, regroup
from planner.forecast.covariates import RatioRegressor, age_structure_features
from planner.forecast.schedules import asfr_from_table, default_asfr, survival_from_table
from planner.forecast.stats import DampedTrend

__all__ = [
    "PopulationPath",
    "age_grid",
    "infeasible",
    "project_population",
    "school_age",
]

#: seed of the covariate model of the ratio method (fixed; no other was tried)
RATIO_SEED = 20101101
#: end ages below this are "child" cohorts for the covariate adjustment of the ratio model
CHILD_END_AGE = 20
#: parents needed to learn the covariate adjustment
MIN_PARENTS = 8


@dataclass
class PopulationPath:
    """What a population method gives for its units.

    Attributes
    ----------
    births : DataFrame
        ``unit_id, year, value`` for the years after the origin.
    path : DataFrame or None
        ``unit_id, year, sex, age_lo, age_hi, value``: annual population from each
        unit's latest age table to the last year (None for ``births_trend``).
    """

    births: pd.DataFrame
    path: pd.DataFrame | None


def age_grid(population: pd.DataFrame) -> tuple[int, int]:
    """Age-group width (1 for single years, else 5) and open age of a population table.

    The open age is the lowest start of any table's last group, so that tables ending
    at 85+ and at 100+ are projected together on 85+.
    """
    closed = population.loc[population["age_hi"].notna() & (population["age_hi"] < 120)]
    width = 1 if len(closed) and (closed["age_hi"] == closed["age_lo"]).all() else 5
    # the lowest open group of any table (tables ending at 85+ and 100+ share 85+)
    keys = [c for c in ("unit_id", "year") if c in population.columns]
    tops = population.groupby(keys)["age_lo"].max() if keys else population["age_lo"].max()
    open_age = int(np.min(tops)) // width * width
    return width, open_age


def _prepared(population: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    pop = population.rename(columns={"population": "value"})
    width, open_age = age_grid(pop)
    return regroup(pop, width=width, open_age=open_age), width, open_age


def _table_years(pop: pd.DataFrame) -> pd.Series:
    return pop.groupby("unit_id")["year"].agg(lambda s: tuple(sorted(set(s))))


def _two_tables(years: tuple[int, ...], width: int) -> tuple[int, int] | None:
    """The latest two table years a multiple of ``width`` apart, or None."""
    if len(years) < 2:
        return None
    t1 = years[-1]
    for t0 in reversed(years[:-1]):
        if (t1 - t0) % width == 0:
            return t0, t1
    return None


def infeasible(
    method: str,
    *,
    population: pd.DataFrame | None,
    births: pd.DataFrame | None,
    units: Sequence[str],
    parents: Mapping[str, str] | None = None,
) -> str | None:
    """Why ``method`` cannot run for ``units`` on these data (None: it can)."""
    if method == "births_trend":
        if births is None or births.empty:
            return "no births"
        have = set(births["unit_id"])
        missing = [u for u in units if u not in have]
        return f"no births for unit(s) {', '.join(map(str, missing[:5]))}" if missing else None
    if population is None or population.empty:
        return "no age table (population_by_age)"
    have = set(population["unit_id"])
    missing = [u for u in units if u not in have]
    if missing:
        return f"no age table for unit(s) {', '.join(map(str, missing[:5]))}"
    if method == "cohort_component":
        return None
    pop, width, _ = _prepared(population)
    years = _table_years(pop)
    parents = parents or {}
    lacking = [
        u
        for u in units
        if _two_tables(years.get(u, ()), width) is None
        and _two_tables(years.get(parents.get(u), ()), width) is None
    ]
    if lacking:
        return (
            f"unit(s) {', '.join(map(str, lacking[:5]))} have a single age table and no "
            "parent unit with two"
        )
    return None


def project_population(
    method: str,
    population: pd.DataFrame | None,
    births: pd.DataFrame | None,
    *,
    units: Sequence[str],
    origin: int,
    last_year: int,
    parents: Mapping[str, str] | None = None,
    survival: pd.DataFrame | None = None,
    fertility: pd.DataFrame | None = None,
    tfr_multiplier: float = 1.0,
    migration_multiplier: float = 1.0,
    path: bool = True,
    births_given: pd.DataFrame | None = None,
    checked: bool = False,
) -> PopulationPath:
    """Project births (and the population by age) of ``units`` from ``origin``.

    Parameters
    ----------
    method : str
        One registered population method (not a combination).
    population : DataFrame or None
        ``unit_id, year, sex, age_lo, age_hi, value`` (or ``population``); sex ``M``/``F``
        or ``T``; tables of years ≤ ``origin`` of the units and of their parents.
    births : DataFrame or None
        Observed births ``unit_id, year, value`` of years ≤ ``origin``.
    units : sequence of str
        Units to project.
    origin, last_year : int
        The forecast origin (latest information) and the last year to project.
    parents : mapping, optional
        ``unit → parent unit`` whose ratios a unit with a single age table borrows
        (Hamilton–Perry, ratio model).
    survival, fertility : DataFrame, optional
        The scenario's tables (``sex, age, survival``; ``age, asfr``); None = defaults.
    tfr_multiplier, migration_multiplier : float
        Scenario multipliers (births after the origin; net migration of the cohort
        method).
    path : bool
        Also return the population path (False: births only, e.g. in a backtest; the
        cohort method then skips its second pass).
    births_given : DataFrame, optional
        Births after the origin to use instead of the method's own (cohort-component
        only: the school-age population when another method projects the births).
    checked : bool
        The caller has checked with :func:`infeasible` that the method can run.

    Raises
    ------
    ForecastError
        The method cannot run on these data (see :func:`infeasible`).
    LeakageError
        The data are later than ``origin``.
    """
    why = (
        None
        if checked
        else infeasible(method, population=population, births=births, units=units, parents=parents)
    )
    if why:
        raise ForecastError(
            f"population method '{method}' cannot run: {why}. Choose another method or give "
            "the data it needs."
        )
    for name, df in (("population", population), ("births", births)):
        if df is not None and len(df) and int(df["year"].max()) > origin:
            raise LeakageError(
                f"leakage: {name} has rows after the origin {origin}; drop them (the "
                "projection would see the future)."
            )
    units = list(units)
    years = range(origin + 1, last_year + 1)
    obs = None if births is None else births.loc[births["unit_id"].isin(units)]
    if method == "births_trend":
        fut = DampedTrend().fit(obs).predict(max(1, last_year - origin))
        b = pd.DataFrame(
            {
                "unit_id": fut["unit_id"],
                "year": fut["year"].astype("int64"),
                "value": fut["forecast"] * float(tfr_multiplier),
            }
        )
        return PopulationPath(b.loc[b["year"].isin(years)].reset_index(drop=True), None)
    pop, width, open_age = _prepared(population)
    shape = _fertility_shape(fertility, width)
    if method == "cohort_component":
        return _cohort(
            pop.loc[pop["unit_id"].isin(units)],
            obs,
            width=width,
            open_age=open_age,
            origin=origin,
            last_year=last_year,
            shape=shape,
            survival=survival,
            fertility=fertility,
            tfr_multiplier=tfr_multiplier,
            migration_multiplier=migration_multiplier,
            with_path=path,
            births_given=births_given,
        )
    frame = _ratio_path(
        pop, units, parents or {}, width=width, open_age=open_age, last_year=last_year,
        shrink=method == "ratio_model",
    )  # fmt: skip
    fut = _births_from_index(
        frame, obs, shape=shape, width=width, years=years, multiplier=tfr_multiplier
    )
    return PopulationPath(fut, _annual(frame, last_year) if path else None)


# ---- fertility index ------------------------------------------------------------------


def _fertility_shape(fertility: pd.DataFrame | None, width: int) -> pd.Series:
    tab = (
        default_asfr(1.0, width=width)
        if fertility is None
        else asfr_from_table(fertility, width=width)
    )
    return tab.set_index("age_lo")["asfr"].astype(float)


def _index(path: pd.DataFrame, shape: pd.Series) -> pd.DataFrame:
    """``unit_id, year, index`` = Σ_a f_a · women_a (women = F rows, or ½ of T rows)."""
    has_f = path.groupby("unit_id")["sex"].agg(lambda s: "F" in set(s))
    sel = path.loc[path["sex"].isin(["F", "T"])].copy()
    sel = sel.loc[(sel["sex"] == "F") | ~sel["unit_id"].map(has_f)]
    sel["w"] = sel["value"] * np.where(sel["sex"] == "T", 0.5, 1.0)
    sel["f"] = sel["age_lo"].map(shape).fillna(0.0)
    sel["index"] = sel["w"] * sel["f"]
    return sel.groupby(["unit_id", "year"], as_index=False)["index"].sum()


def _births_from_index(
    path: pd.DataFrame,
    observed: pd.DataFrame | None,
    *,
    shape: pd.Series,
    width: int,
    years: range,
    multiplier: float,
    absolute: bool = False,
) -> pd.DataFrame:
    """Births of ``years`` from the fertility index of ``path``, anchored at observed births.

    ``absolute``: ``shape`` holds rates per woman-year (a fertility table that sets the
    level); births are then ``m · Σ_a f_a · W_a(y)``, not anchored.
    """
    idx = _index(path, shape)
    wide = idx.pivot(index="unit_id", columns="year", values="index")
    first = wide.apply(lambda r: r.first_valid_index(), axis=1).astype("int64")
    lo = int(wide.columns.min())
    hi = max(int(wide.columns.max()), max(years, default=lo))
    full = wide.reindex(columns=range(lo, hi + 1))
    logm = np.log(full.where(full > 0)).interpolate(axis=1, limit_area="inside")
    m = np.exp(logm)
    ref_year = pd.Series(first, index=wide.index)
    level = pd.Series(1.0 if absolute else np.nan, index=wide.index)
    if observed is not None and len(observed) and not absolute:
        ob = observed.dropna(subset=["value"])
        ob = ob.loc[ob["unit_id"].isin(wide.index) & (ob["value"] > 0)]
        last = ob.sort_values("year").groupby("unit_id").tail(1).set_index("unit_id")
        # anchor year: the last observed birth year, not before the unit's first table
        anchor = np.maximum(last["year"].astype("int64"), first.reindex(last.index))
        ref_year.loc[last.index] = anchor
        m_at = pd.Series(
            [m.at[u, int(y)] if int(y) in m.columns else np.nan for u, y in anchor.items()],
            index=anchor.index,
        )
        level.loc[last.index] = last["value"] / m_at
    # no observed births: births implied by the first age group of the first table
    kids = path.loc[path["age_lo"] == 0].groupby(["unit_id", "year"])["value"].sum()
    for u in level.index[level.isna()]:
        y0 = int(first[u])
        m0 = float(m.at[u, y0])
        level[u] = float(kids.get((u, y0), 0.0)) / width / m0 if m0 > 0 else 0.0
    cols = [y for y in years]
    vals = m.reindex(columns=cols).to_numpy(dtype=float) * level.to_numpy()[:, None]
    out = pd.DataFrame(
        {
            "unit_id": np.repeat(m.index.to_numpy(), len(cols)),
            "year": np.tile(np.asarray(cols, dtype="int64"), len(m)),
            "value": float(multiplier) * vals.ravel(),
        }
    )
    return out.reset_index(drop=True)


# ---- cohort-component -----------------------------------------------------------------


def _cohort(
    pop: pd.DataFrame,
    observed: pd.DataFrame | None,
    *,
    width: int,
    open_age: int,
    origin: int,
    last_year: int,
    shape: pd.Series,
    survival: pd.DataFrame | None,
    fertility: pd.DataFrame | None,
    tfr_multiplier: float,
    migration_multiplier: float,
    with_path: bool = True,
    births_given: pd.DataFrame | None = None,
) -> PopulationPath:
    # a step starting in year y covers the births of calendar years y + 1 … y + width
    shifted = None if observed is None else observed.assign(year=observed["year"] - 1)
    cc = CohortComponent(
        step=width,
        open_age=open_age,
        survival=None
        if survival is None
        else survival_from_table(survival, width=width, open_age=open_age),
        asfr=None if fertility is None else asfr_from_table(fertility, width=width),
        tfr="calibrate" if fertility is None else None,
        migration="residual",
        migration_multiplier=migration_multiplier,
    ).fit(pop, shifted)
    start = min(t for t, _ in cc.base_.values())
    steps = max(1, int(np.ceil((last_year - start) / width)))
    path = _cc_path(cc, steps, shifted)
    years = range(origin + 1, last_year + 1)
    if births_given is not None:
        fut = births_given.loc[births_given["year"] > origin, ["unit_id", "year", "value"]]
    else:
        fut = _cohort_births(path, observed, shape, width, years, tfr_multiplier, fertility)
    if not with_path:
        return PopulationPath(fut, None)
    # the same projection again with those births: population and births agree
    given = fut if observed is None else pd.concat([observed, fut], ignore_index=True)
    path = _cc_path(cc, steps, given.assign(year=given["year"] - 1))
    return PopulationPath(fut, _annual(path, last_year))


def _cohort_births(path, observed, shape, width, years, tfr_multiplier, fertility):
    # a fertility table sets the level too (as in the cohort model): not anchored
    return _births_from_index(
        path,
        observed,
        shape=shape,
        width=width,
        years=years,
        multiplier=tfr_multiplier,
        absolute=fertility is not None,
    )


def _cc_path(cc: CohortComponent, steps: int, births: pd.DataFrame | None) -> pd.DataFrame:
    proj, _ = cc.project(steps, births=births)
    base = []
    for unit, (year, arrs) in cc.base_.items():
        for sex, arr in arrs.items():
            hi = np.where(cc.edges_ >= cc.open_age, 200, cc.edges_ + cc.step - 1)
            base.append(
                pd.DataFrame(
                    {
                        "unit_id": unit,
                        "year": year,
                        "sex": sex,
                        "age_lo": cc.edges_,
                        "age_hi": hi,
                        "value": arr,
                    }
                )
            )
    proj = proj.rename(columns={"forecast": "value"})[
        ["unit_id", "year", "sex", "age_lo", "age_hi", "value"]
    ]
    return pd.concat([*base, proj], ignore_index=True)


# ---- Hamilton–Perry and the ratio model -----------------------------------------------


def _collapse(pop: pd.DataFrame) -> pd.DataFrame:
    keys = ["unit_id", "year", "age_lo", "age_hi"]
    return pop.groupby(keys, as_index=False)["value"].sum().assign(sex="T")


def _ratio_path(
    pop: pd.DataFrame,
    units: list[str],
    parents: Mapping[str, str],
    *,
    width: int,
    open_age: int,
    last_year: int,
    shrink: bool,
) -> pd.DataFrame:
    """Hamilton–Perry paths of ``units`` (own ratios, a parent's, or shrunk ones)."""
    years = _table_years(pop)
    own = {u: _two_tables(years.get(u, ()), width) for u in units}
    borrow = {u: parents[u] for u in units if own[u] is None}
    refs = sorted(set(borrow.values()))
    involved = pop.loc[pop["unit_id"].isin([*units, *refs])]
    if set(involved["sex"]) - {"M", "F"} or involved.groupby("unit_id")["sex"].nunique().min() < 2:
        involved = _collapse(involved)
    women = (15, 49) if width == 1 else (15, 44)
    parts = []
    # units with their own two tables, grouped by their table years
    by_years: dict[tuple[int, int], list[str]] = {}
    for u, ty in own.items():
        if ty is not None:
            by_years.setdefault(ty, []).append(u)
    fitted: dict[str, HamiltonPerry] = {}
    for (t0, t1), us in by_years.items():
        sub = involved.loc[involved["unit_id"].isin(us) & involved["year"].isin((t0, t1))]
        hp = HamiltonPerry(interval=t1 - t0, width=width, open_age=open_age, women_ages=women).fit(
            sub
        )
        if shrink:
            hp.ccr_ = _shrunk_ccr(hp, sub, parents, involved, width, open_age, women)
        fitted.update({u: hp for u in us})
        steps = max(1, int(np.ceil((last_year - t1) / (t1 - t0))))
        parts.append(_hp_path(hp, steps))
    if borrow:
        ref_years = {p: _two_tables(years[p], width) for p in refs}
        for (t0, t1), ps in _group(ref_years).items():
            ref = involved.loc[involved["unit_id"].isin(ps) & involved["year"].isin((t0, t1))]
            hp = HamiltonPerry(
                interval=t1 - t0, width=width, open_age=open_age, women_ages=women
            ).fit(ref)
            us = [u for u, p in borrow.items() if p in ps]
            base = involved.loc[involved["unit_id"].isin(us)]
            base = base.loc[base["year"] == base.groupby("unit_id")["year"].transform("max")]
            if shrink:
                hp = _adjusted(hp, ref, base, borrow, involved, t0, t1)
                mapping = None
            else:
                mapping = {u: borrow[u] for u in us}
            t_last = int(base["year"].min())
            steps = max(1, int(np.ceil((last_year - t_last) / (t1 - t0))))
            proj = hp.predict(steps, base=base, ratio_units=mapping)
            proj = proj.rename(columns={"forecast": "value"})
            parts.append(pd.concat([base, proj[base.columns]], ignore_index=True))
    return pd.concat(parts, ignore_index=True)[
        ["unit_id", "year", "sex", "age_lo", "age_hi", "value"]
    ]


def _group(ref_years: dict[str, tuple[int, int] | None]) -> dict[tuple[int, int], list[str]]:
    out: dict[tuple[int, int], list[str]] = {}
    for p, ty in ref_years.items():
        if ty is not None:
            out.setdefault(ty, []).append(p)
    return out


def _hp_path(hp: HamiltonPerry, steps: int) -> pd.DataFrame:
    proj = hp.predict(steps).rename(columns={"forecast": "value"})
    base = hp.base_[["unit_id", "year", "sex", "age_lo", "age_hi", "value"]]
    return pd.concat([base, proj[base.columns]], ignore_index=True)


def _pool_ccr(
    pop: pd.DataFrame, t0: int, t1: int, width: int, open_age: int, women
) -> pd.DataFrame:
    pooled = pop.groupby(["year", "sex", "age_lo", "age_hi"], as_index=False)["value"].sum()
    pooled = pooled.loc[pooled["year"].isin((t0, t1))].assign(unit_id="_pool")
    hp = HamiltonPerry(interval=t1 - t0, width=width, open_age=open_age, women_ages=women).fit(
        pooled
    )
    return hp.ccr_.drop(columns="unit_id")


def _shrunk_ccr(
    hp: HamiltonPerry,
    sub: pd.DataFrame,
    parents: Mapping[str, str],
    involved: pd.DataFrame,
    width: int,
    open_age: int,
    women,
) -> pd.DataFrame:
    """Empirical-Bayes CCRs: each unit's log ratio shrunk toward its reference.

    The reference is the parent's ratio (when the parent has the same two tables) or
    the pooled ratio of the units; the weight of the unit's own ratio is
    ``τ² / (τ² + v_u)`` with ``v_u = 1/P_start + 1/P_end`` (Poisson variance of a log
    ratio of counts) and ``τ²`` the between-unit variance by moments, per sex and age.
    """
    t1 = int(sub["year"].max())
    t0 = t1 - int(hp.interval)
    ccr = hp.ccr_.copy()
    pool = _pool_ccr(sub, t0, t1, width, open_age, women).rename(columns={"ccr": "ref"})
    ccr = ccr.merge(pool, on=["sex", "age_lo"], how="left")
    par = {u: parents.get(u) for u in ccr["unit_id"].unique()}
    par_units = sorted({p for p in par.values() if p is not None})
    if par_units:
        psub = involved.loc[involved["unit_id"].isin(par_units) & involved["year"].isin((t0, t1))]
        have = psub.groupby("unit_id")["year"].nunique()
        psub = psub.loc[psub["unit_id"].isin(have.index[have == 2])]
        if len(psub):
            php = HamiltonPerry(
                interval=t1 - t0, width=width, open_age=open_age, women_ages=women
            ).fit(psub)
            pr = php.ccr_.rename(columns={"unit_id": "parent", "ccr": "pref"})
            ccr["parent"] = ccr["unit_id"].map(par)
            ccr = ccr.merge(pr, on=["parent", "sex", "age_lo"], how="left")
            ccr["ref"] = ccr["pref"].fillna(ccr["ref"])
            ccr = ccr.drop(columns=["parent", "pref"])
    k = int(hp.interval) // width
    # counts behind each ratio: the cohort at the start and at the end
    start = sub.loc[sub["year"] == t0].groupby(["unit_id", "sex", "age_lo"])["value"].sum()
    end = sub.loc[sub["year"] == t1].groupby(["unit_id", "sex", "age_lo"])["value"].sum()
    s_idx = pd.MultiIndex.from_arrays(
        [ccr["unit_id"], ccr["sex"], np.minimum(ccr["age_lo"] - k * width, open_age)]
    )
    e_idx = pd.MultiIndex.from_frame(ccr[["unit_id", "sex", "age_lo"]])
    p_start = start.reindex(s_idx).to_numpy(dtype=float)
    p_end = end.reindex(e_idx).to_numpy(dtype=float)
    ok = (ccr["ccr"] > 0) & (ccr["ref"] > 0)
    d = np.where(ok, np.log(np.where(ok, ccr["ccr"], 1.0) / np.where(ok, ccr["ref"], 1.0)), 0.0)
    v = 1.0 / np.maximum(np.nan_to_num(p_start), 1.0) + 1.0 / np.maximum(np.nan_to_num(p_end), 1.0)
    frame = pd.DataFrame({"sex": ccr["sex"], "age_lo": ccr["age_lo"], "d2": d**2, "v": v})
    tau2 = (
        frame.groupby(["sex", "age_lo"])["d2"].transform("mean")
        - frame.groupby(["sex", "age_lo"])["v"].transform("mean")
    ).clip(lower=0.0)
    w = (tau2 / (tau2 + v)).to_numpy()
    out = ccr[["unit_id", "sex", "age_lo"]].copy()
    out["ccr"] = np.where(ok, ccr["ref"] * np.exp(w * d), ccr["ccr"])
    return out


def _features(pop: pd.DataFrame) -> pd.DataFrame:
    return age_structure_features(pop).drop(columns="log_population")


def _adjusted(
    hp: HamiltonPerry,
    ref: pd.DataFrame,
    base: pd.DataFrame,
    borrow: Mapping[str, str],
    involved: pd.DataFrame,
    t0: int,
    t1: int,
) -> HamiltonPerry:
    """Ratios for units without their own: the parent's × a covariate adjustment.

    A :class:`~planner.forecast.RatioRegressor` learns the parents' mean log deviation of
    the child cohorts' ratios (end ages < :data:`CHILD_END_AGE`) from the pooled
    parents' ratios, from the parents' age-structure covariates at the start table
    relative to the pool's; applied to each unit's covariates at its latest table
    relative to its parent's at the parent's latest table, minus the model's value at
    no difference (a unit like its parent keeps the parent's ratios). Adult ratios are
    the parent's. With fewer than :data:`MIN_PARENTS` parents: the parent's ratios.
    """
    width, open_age = int(hp.width), int(hp.open_age)
    women = tuple(hp.women_ages)
    pool = _pool_ccr(ref, t0, t1, width, open_age, women).rename(columns={"ccr": "pool"})
    pc = hp.ccr_.merge(pool, on=["sex", "age_lo"])
    child = pc.loc[(pc["age_lo"] < CHILD_END_AGE) & (pc["ccr"] > 0) & (pc["pool"] > 0)]
    dev = np.log(child["ccr"] / child["pool"]).groupby(child["unit_id"]).mean()
    units = sorted(borrow)
    adj = pd.Series(0.0, index=units)
    if len(dev) >= MIN_PARENTS:
        start = ref.loc[ref["year"] == t0]
        x_p = _features(start)
        pooled_start = (
            start.assign(unit_id="_pool")
            .groupby(["unit_id", "age_lo"], as_index=False)["value"]
            .sum()
        )
        x_pool = _features(pooled_start).iloc[0]
        train = (x_p.loc[dev.index] - x_pool).dropna()
        if len(train) >= MIN_PARENTS:
            model = RatioRegressor(random_state=RATIO_SEED).fit(train, np.exp(dev.loc[train.index]))
            x_u = _features(base)
            latest = ref.loc[ref["year"] == t1]
            x_par = _features(latest)
            rel = x_u.loc[x_u.index.isin(units)].copy()
            rel = rel - x_par.reindex([borrow[u] for u in rel.index]).to_numpy()
            rel = rel.dropna()
            if len(rel):
                # a unit whose covariates equal its parent's keeps the parent's ratios
                zero = pd.DataFrame(0.0, index=[0], columns=train.columns)
                adj.loc[rel.index] = np.log(model.predict(rel[train.columns])) - np.log(
                    model.predict(zero)[0]
                )
    rows = []
    for u in units:
        src = hp.ccr_.loc[hp.ccr_["unit_id"] == borrow[u]]
        sexes = sorted(set(base.loc[base["unit_id"] == u, "sex"]))
        for s in sexes:
            r = (
                src.loc[src["sex"] == s]
                if s in set(src["sex"])
                else src.loc[src["sex"] == src["sex"].iloc[0]]
            )
            f = np.where(r["age_lo"] < CHILD_END_AGE, np.exp(adj[u]), 1.0)
            rows.append(
                pd.DataFrame(
                    {
                        "unit_id": u,
                        "sex": s,
                        "age_lo": r["age_lo"].to_numpy(),
                        "ccr": r["ccr"].to_numpy() * f,
                    }
                )
            )
    out = HamiltonPerry(**hp.get_params())
    out.edges_ = hp.edges_
    out.origin_ = hp.origin_
    out.base_ = hp.base_
    out.cwr_ = hp.cwr_.iloc[0:0]
    out.ccr_ = pd.concat(rows, ignore_index=True)
    out.adjustment_ = adj
    return out


# ---- outputs ----------------------------------------------------------------------------


def _annual(path: pd.DataFrame, last_year: int) -> pd.DataFrame:
    """Annual values between a path's step years (log-linear per unit, sex and age group)."""
    keys = ["unit_id", "sex", "age_lo", "age_hi"]
    wide = path.pivot_table(index=keys, columns="year", values="value", aggfunc="sum")
    lo = int(wide.columns.min())
    hi = max(int(wide.columns.max()), last_year)
    full = wide.reindex(columns=range(lo, hi + 1))
    logv = np.log(full.clip(lower=1e-9)).interpolate(axis=1, limit_area="inside")
    vals = np.exp(logv).where(full.notna() | logv.notna())
    # each unit's values only from its own first table year on
    first = path.groupby("unit_id")["year"].min()
    long = vals.stack(future_stack=True).rename("value").reset_index()
    long = long.dropna(subset=["value"])
    long = long.loc[(long["year"] >= long["unit_id"].map(first)) & (long["year"] <= last_year)]
    long.loc[long["value"] < 1e-6, "value"] = 0.0
    return long[["unit_id", "year", "sex", "age_lo", "age_hi", "value"]].reset_index(drop=True)


def school_age(path: pd.DataFrame, groups: Mapping[str, tuple[int, int]]) -> pd.DataFrame:
    """Population of age groups (e.g. ``{"6–11": (6, 11)}``) from a path, both sexes.

    A path group that straddles a requested group is split evenly over its single
    years (e.g. ages 5–9 give 4/5 to ages 6–11).

    Returns
    -------
    DataFrame
        ``unit_id, year, age_group, age_lo, age_hi, value``.
    """
    closed = path.loc[path["age_hi"] < 120]
    tot = closed.groupby(["unit_id", "year", "age_lo", "age_hi"], as_index=False)["value"].sum()
    parts = []
    lo = tot["age_lo"].to_numpy()
    hi = tot["age_hi"].to_numpy()
    for label, (a, b) in groups.items():
        overlap = np.clip(np.minimum(hi, b) - np.maximum(lo, a) + 1, 0, None)
        share = overlap / (hi - lo + 1)
        g = (
            tot.assign(v=tot["value"] * share)
            .groupby(["unit_id", "year"], as_index=False)["v"]
            .sum()
        )
        parts.append(g.rename(columns={"v": "value"}).assign(age_group=label, age_lo=a, age_hi=b))
    if not parts:
        raise ParameterError(
            "school_age needs at least one age group; give one (lo, hi) per stage."
        )
    out = pd.concat(parts, ignore_index=True)
    return out[["unit_id", "year", "age_group", "age_lo", "age_hi", "value"]]
