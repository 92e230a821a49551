"""The scenario's enrolment forecast (情景就学需求预测): births → entry → grades → stages.

For every unit, from the base year to the horizon:

1. **Births** after the base year from a cohort-component projection of the population
   by single year of age and sex (:class:`~planner.forecast.CohortComponent`; fertility
   calibrated per unit to the children observed at the base year, net migration by the
   residual method from the two age tables, scenario multipliers for fertility and
   migration). Survival and fertility come from the scenario's ``survival_table`` and
   ``fertility_table`` when given (a given fertility table sets the level: no
   calibration). With ``births_method = "ratio"``: Hamilton–Perry — the population
   stepped forward with the cohort-change ratios of the unit's last two age tables,
   births from the child–woman ratio of the launch year (:func:`ratio_births`).
   Without an age table (or with ``births_method = "trend"``): the births' damped ETS
   trend.
2. **Enrolment by grade** with :class:`~planner.forecast.GradeProgression`: grade 1 from
   births six years earlier × the entry ratio, grades 2–6 and 8–9 by grade progression
   ratios, grade 7 from grade 6 × the transition ratio — all from the unit's recent
   enrolment history (pupils counted in the unit's schools).
3. **Intervals**: the same model backtested on the history (rolling origins, horizons
   1–5); P10/P90 are the P50 × exp(quantiles of the log errors) per horizon, widened
   by √(h / 5) beyond the horizons the history can test.

Pure computation on the canonical tables: the scenario's schedule tables are read when
the inputs are loaded (:func:`planner.io.schedules.read_scenario_schedules`, kept in
``inputs.schedules``); callers may also pass the tables themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.forecast.backtest import empirical_intervals, score
from planner.forecast.baselines import LastValue, LinearTrend
from planner.forecast.cohort import CohortComponent, HamiltonPerry
from planner.forecast.entry import GradeProgression
from planner.forecast.schedules import asfr_from_table, survival_from_table
from planner.forecast.stats import StatsForecaster
from planner.inputs import Inputs

__all__ = [
    "enrolment_backtest",
    "enrolment_forecast",
    "projected_births",
    "ratio_births",
    "unit_enrolment",
]

SEX_CODES = {"male": "M", "female": "F"}
STAGE_OF_GRADE = {g: ("primary" if g <= 6 else "junior") for g in range(1, 10)}


def unit_enrolment(inputs: Inputs) -> pd.DataFrame:
    """Pupils per unit, year and grade (``unit_id, year, grade, value``) from the schools' history."""
    enr = inputs["enrolment"]
    unit = inputs["schools"].set_index("school_id")["unit_id"]
    e = enr.assign(unit_id=enr["school_id"].map(unit)).dropna(subset=["unit_id", "students"])
    g = e.groupby(["unit_id", "year", "grade"], as_index=False)["students"].sum()
    return g.rename(columns={"students": "value"}).astype({"year": "int64", "grade": "int64"})


def projected_births(
    inputs: Inputs, last_year: int, schedules: dict[str, pd.DataFrame | None] | None = None
) -> pd.DataFrame:
    """Observed births to the base year, projected births after it (``unit_id, year, value, source``).

    ``schedules``: ``{"survival": sex, age, survival; "fertility": age, asfr}`` tables
    (either may be None = the default schedule); None = no tables, the defaults.
    """
    sc = inputs.scenario
    f = sc.forecast
    sched = schedules or {}
    b = inputs["births"].rename(columns={"births": "value"})[["unit_id", "year", "value"]]
    b = b.loc[b["year"] <= sc.base_year].astype({"year": "int64"})
    steps = last_year - sc.base_year
    if steps <= 0:
        return b.assign(source="observed")
    has_ages = "population_by_age" in inputs and len(inputs["population_by_age"]) > 0
    if f.births_method in ("cohort", "ratio") and not has_ages:
        raise ScenarioError(
            f"forecast.births_method = '{f.births_method}' needs a population_by_age input; "
            "declare one in [inputs] or use births_method = 'trend' (or 'auto')."
        )
    if has_ages and f.births_method != "trend":
        pop = inputs["population_by_age"].rename(columns={"population": "value"})
        pop = pop.loc[pop["sex"].isin(SEX_CODES) & (pop["year"] <= sc.base_year)].copy()
        pop["sex"] = pop["sex"].map(SEX_CODES)
        open_age = int(pop["age_lo"].max())
    if has_ages and f.births_method == "ratio":
        _check_ratio_scenario(f, sched)
        fut = ratio_births(
            pop,
            b,
            years=range(sc.base_year + 1, last_year + 1),
            open_age=open_age,
            tfr_multiplier=f.tfr_multiplier,
        )
    elif has_ages and f.births_method != "trend":
        surv_table = sched.get("survival")
        fert_table = sched.get("fertility")
        cc = CohortComponent(
            step=1,
            open_age=open_age,
            survival=None
            if surv_table is None
            else survival_from_table(surv_table, width=1, open_age=open_age),
            asfr=None if fert_table is None else asfr_from_table(fert_table, width=1),
            tfr="calibrate" if fert_table is None else None,
            tfr_multiplier=f.tfr_multiplier,
            migration="residual",
            migration_multiplier=f.migration_multiplier,
        ).fit(pop, b)
        _, births = cc.project(steps=steps)
        # a step starting in year y ends in y + 1: its births are those of calendar year y + 1
        fut = pd.DataFrame(
            {"unit_id": births["unit_id"], "year": births["year"] + 1, "value": births["births"]}
        )
    else:
        ets = StatsForecaster(model="ets", damped_trend=True).fit(b)
        p = ets.predict(steps)
        fut = pd.DataFrame(
            {"unit_id": p["unit_id"], "year": p["year"], "value": p["forecast"] * f.tfr_multiplier}
        )
    fut = fut.loc[fut["year"] > sc.base_year]
    return pd.concat(
        [b.assign(source="observed"), fut.assign(source="projected")], ignore_index=True
    )


def _check_ratio_scenario(f, sched: dict) -> None:
    """Refuse scenario keys that have no meaning for Hamilton–Perry births."""
    if f.migration_multiplier != 1.0:
        raise ScenarioError(
            f"forecast.migration_multiplier = {f.migration_multiplier:g} cannot apply with "
            "births_method = 'ratio': cohort-change ratios hold survival and migration "
            "together. Set migration_multiplier = 1, or use births_method = 'cohort' for a "
            "migration scenario."
        )
    for key, table in (("survival_table", "survival"), ("fertility_table", "fertility")):
        if getattr(f, key) or sched.get(table) is not None:
            raise ScenarioError(
                f"forecast.{key} is not used by births_method = 'ratio' (cohort-change and "
                "child–woman ratios replace the schedules); remove it or use "
                "births_method = 'cohort'."
            )


def ratio_births(
    population: pd.DataFrame,
    births: pd.DataFrame,
    *,
    years: range | list[int],
    open_age: int,
    tfr_multiplier: float = 1.0,
) -> pd.DataFrame:
    """Births projected by the Hamilton–Perry method (队列变动比率法, 妇女儿童比).

    Per unit, :class:`~planner.forecast.HamiltonPerry` (single ages, ``interval`` = the
    years between the unit's last two age tables *t₀* < *t₁*) steps the population
    forward from *t₁* by cohort-change ratios ``P_{x}(t₁) / P_{x−k}(t₀)``. Births of
    year *y* keep the launch year's single-year child–woman ratio:

    ``B(y) = m · κ · CWR₀ · W(y)``, with ``CWR₀ = P₀(t₁) / W(t₁)`` (children aged 0 per
    woman aged 15–49), ``κ = B(t₁) / P₀(t₁)`` (observed births per counted child aged 0,
    which absorbs infant deaths and the under-count of infants; 1 when the births of
    *t₁* are not observed), ``W(y)`` the women aged 15–49 projected by the ratios
    (log-linear between the projection steps) and ``m = tfr_multiplier``. In short,
    ``B(y) = m · B(t₁) · W(y) / W(t₁)``: births follow the number of women of
    childbearing age.

    Parameters
    ----------
    population : DataFrame
        ``unit_id, year, sex (M/F), age_lo, age_hi, value`` by single year of age, at
        least two years per unit.
    births : DataFrame
        Observed births ``unit_id, year, value``.
    years : sequence of int
        Calendar years to project (after *t₁*).
    open_age : int
        Start of the open age group.
    tfr_multiplier : float
        Scenario multiplier of the child–woman ratio.

    Returns
    -------
    DataFrame
        ``unit_id, year, value`` (projected births).

    Raises
    ------
    ScenarioError
        A unit has a single age table.
    """
    years = np.asarray(list(years), dtype="int64")
    n_years = population.groupby("unit_id")["year"].nunique()
    single = sorted(map(str, n_years.index[n_years < 2]))
    if single:
        raise ScenarioError(
            f"births_method = 'ratio' needs two age tables per unit (population_by_age); "
            f"unit(s) {', '.join(single[:10])} have one. Add the earlier table (e.g. the "
            "previous census) or use births_method = 'cohort'."
        )
    last2 = population.groupby("unit_id")["year"].agg(lambda y: tuple(sorted(set(y))[-2:]))
    parts = []
    for (t0, t1), units in last2.groupby(last2):
        pop = population.loc[
            population["unit_id"].isin(units.index) & population["year"].isin((t0, t1))
        ]
        k = int(t1 - t0)
        hp = HamiltonPerry(interval=k, width=1, open_age=open_age, women_ages=(15, 49)).fit(pop)
        steps = max(1, int(np.ceil((years.max() - t1) / k)))
        proj = hp.predict(steps)
        base = hp.base_.assign(horizon=0).rename(columns={"value": "forecast"})
        allp = pd.concat([base, proj], ignore_index=True)
        women = allp.loc[(allp["sex"] == "F") & allp["age_lo"].between(15, 49)]
        w = women.groupby(["unit_id", "horizon"])["forecast"].sum().unstack("horizon")
        p0 = base.loc[base["age_lo"] == 0].groupby("unit_id")["forecast"].sum()
        b1 = births.loc[births["year"] == t1].groupby("unit_id")["value"].sum()
        kappa = (b1 / p0.where(p0 > 0)).reindex(w.index).fillna(1.0)
        cwr0 = (p0.reindex(w.index) / w[0].where(w[0] > 0)).fillna(0.0)
        # W(y): log-linear between the step ends t1, t1 + k, …
        h = np.asarray(w.columns, dtype=float)
        logw = np.log(np.maximum(w.to_numpy(dtype=float), 1e-9))
        pos = np.clip((years - t1) / k, 0, len(h) - 1)
        lo = np.minimum(np.floor(pos).astype(int), len(h) - 2)
        frac = pos - lo
        wy = np.exp(logw[:, lo] * (1 - frac) + logw[:, lo + 1] * frac)
        level = (float(tfr_multiplier) * kappa * cwr0).to_numpy()[:, None]
        parts.append(
            pd.DataFrame(
                {
                    "unit_id": np.repeat(w.index.to_numpy(), len(years)),
                    "year": np.tile(years, len(w)),
                    "value": (level * wy).ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True).sort_values(["unit_id", "year"], ignore_index=True)


#: candidate averaging windows for ``gpr_years = "auto"``
GPR_CANDIDATES = (1, 2, 3, 5)


def _model(inputs: Inputs, years: int | None = None) -> GradeProgression:
    f = inputs.scenario.forecast
    n = years if years is not None else (3 if f.gpr_years == "auto" else int(f.gpr_years))
    return GradeProgression(n_years=n, entry_n_years=f.entry_years or n)


def choose_gpr_years(inputs: Inputs) -> tuple[int, pd.DataFrame]:
    """The ratio-averaging window with the lowest backtest MAPE on the history.

    Returns the chosen number of years and the table of MAPE per candidate (horizons 1–5
    pooled); a fixed ``gpr_years`` in the scenario is returned as it is.
    """
    f = inputs.scenario.forecast
    if f.gpr_years != "auto":
        return int(f.gpr_years), pd.DataFrame()
    rows = []
    for n in GPR_CANDIDATES:
        bt = enrolment_backtest(inputs, years=n, baselines=False)
        rows.append(
            {"gpr_years": n, "mape": float(bt["ape"].mean()) if len(bt) else np.inf, "n": len(bt)}
        )
    table = pd.DataFrame(rows)
    best = int(table.sort_values(["mape", "gpr_years"]).iloc[0]["gpr_years"])
    return best, table


def _stage_totals(pred: pd.DataFrame) -> pd.DataFrame:
    p = pred.assign(stage=pred["grade"].map(STAGE_OF_GRADE))
    keys = [c for c in ("unit_id", "origin", "horizon", "year", "stage") if c in p.columns]
    return p.groupby(keys, as_index=False)["forecast"].sum(min_count=1)


def enrolment_backtest(
    inputs: Inputs, horizons: int = 5, *, years: int | None = None, baselines: bool = True
) -> pd.DataFrame:
    """Rolling-origin backtest of stage totals per unit on the enrolment history.

    Methods on identical cases: ``grade_progression`` (the forecast), ``last_value`` and
    ``linear_trend_5`` (baselines on the stage totals). Returns the raw results
    (``method, unit_id, stage, origin, horizon, year, forecast, actual``).
    """
    sc = inputs.scenario
    enr = unit_enrolment(inputs)
    births = inputs["births"].rename(columns={"births": "value"})[["unit_id", "year", "value"]]
    first = int(enr["year"].min())
    origins = [y for y in range(first + 3, sc.base_year) if y >= first + 3]
    rows = []
    stage_tot = (
        enr.assign(stage=enr["grade"].map(STAGE_OF_GRADE))
        .groupby(["unit_id", "year", "stage"], as_index=False)["value"]
        .sum()
    )
    for origin in origins:
        h = min(horizons, sc.base_year - origin)
        fit_e = enr.loc[enr["year"] <= origin]
        fit_b = births.loc[births["year"] <= origin]
        # births after the origin are known by the base year, but not at the origin:
        # grade 1 up to origin + 6 only needs births up to the origin
        gp = _model(inputs, years).fit(fit_e, fit_b)
        pred = _stage_totals(gp.predict(h, X=fit_b))
        pred["method"] = "grade_progression"
        rows.append(pred)
        if not baselines:
            continue
        hist = stage_tot.loc[stage_tot["year"] <= origin]
        for name, est in (("last_value", LastValue()), ("linear_trend_5", LinearTrend(window=5))):
            for stage in ("primary", "junior"):
                hs = hist.loc[hist["stage"] == stage, ["unit_id", "year", "value"]]
                pp = est.fit(hs).predict(h).assign(stage=stage, method=name)
                rows.append(pp)
    res = pd.concat(rows, ignore_index=True)
    res = res.loc[res["horizon"] <= horizons]
    act = stage_tot.rename(columns={"value": "actual"})
    res = res.merge(act, on=["unit_id", "year", "stage"], how="inner")
    res = res.loc[res["actual"] > 0]
    res["pe"] = 100.0 * (res["forecast"] - res["actual"]) / res["actual"]
    res["ape"] = res["pe"].abs()
    return res.reset_index(drop=True)


def enrolment_forecast(inputs: Inputs) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Projected pupils per unit, stage and year with P10 / P50 / P90.

    Returns
    -------
    forecast : DataFrame
        ``unit_id, stage, year, p10, p50, p90`` from the base year + 1 to the horizon
        (the base year itself: observed pupils, no interval).
    details : dict
        ``births`` (observed and projected), ``backtest`` (scores per method and horizon),
        ``intervals`` (log-error quantiles per horizon).
    """
    sc = inputs.scenario
    enr = unit_enrolment(inputs)
    steps = sc.horizon - sc.base_year
    births = projected_births(inputs, sc.horizon - 6, inputs.schedules)
    n_years, choice = choose_gpr_years(inputs)
    gp = _model(inputs, n_years).fit(
        enr.loc[enr["year"] <= sc.base_year],
        births[births["year"] <= sc.base_year][["unit_id", "year", "value"]],
    )
    pred = _stage_totals(gp.predict(steps, X=births[["unit_id", "year", "value"]]))
    bt = enrolment_backtest(inputs, years=n_years)
    gpbt = bt.loc[bt["method"] == "grade_progression"]
    iv = empirical_intervals(gpbt, by=("horizon",))
    last = iv.iloc[-1]
    h = pred["horizon"].to_numpy()
    q = iv.set_index("horizon")
    q10 = pd.Series(h).map(q["q10"]).to_numpy(dtype=float)
    q90 = pd.Series(h).map(q["q90"]).to_numpy(dtype=float)
    far = np.isnan(q10)
    widen = np.sqrt(h[far] / float(last["horizon"]))
    q10[far] = float(last["q10"]) * widen
    q90[far] = float(last["q90"]) * widen
    f = pred["forecast"].to_numpy(float)
    out = pd.DataFrame(
        {
            "unit_id": pred["unit_id"],
            "stage": pred["stage"],
            "year": pred["year"].astype("int64"),
            "p10": f * np.exp(np.minimum(q10, 0.0)),
            "p50": f,
            "p90": f * np.exp(np.maximum(q90, 0.0)),
        }
    )
    base = enr.loc[enr["year"] == sc.base_year].assign(
        stage=lambda d: d["grade"].map(STAGE_OF_GRADE)
    )
    obs = base.groupby(["unit_id", "stage"], as_index=False)["value"].sum()
    obs = obs.assign(year=sc.base_year, p10=obs["value"], p50=obs["value"], p90=obs["value"]).drop(
        columns="value"
    )
    out = _controlled(out, obs, sc.forecast.enrolment_control, sc.base_year)
    out = (
        pd.concat([obs, out], ignore_index=True)
        .sort_values(["year", "unit_id", "stage"])
        .reset_index(drop=True)
    )
    details = {
        "births": births,
        "backtest": score(bt),
        "intervals": iv,
        "gpr_choice": choice.assign(chosen=choice["gpr_years"] == n_years)
        if len(choice)
        else choice,
    }
    return out, details


def _controlled(
    forecast: pd.DataFrame,
    observed: pd.DataFrame,
    control: dict[str, dict[int, float]],
    base_year: int,
) -> pd.DataFrame:
    """The forecast scaled per stage to the scenario's enrolment control totals.

    The observed base-year total anchors each stage's control path, so the scaled
    forecast joins the observed year without a jump.
    """
    if not control:
        return forecast
    parts = []
    for stage, g in forecast.groupby("stage", sort=False):
        ctl = {int(y): float(v) for y, v in control.get(stage, {}).items()}
        early = sorted(y for y in ctl if y <= base_year)
        if early:
            raise ScenarioError(
                f"forecast.enrolment_control.{stage}: year(s) {early} are not after the base "
                f"year {base_year}; a control total applies to forecast years only (the base "
                "year is observed) — remove them"
            )
        if ctl:
            base = float(observed.loc[observed["stage"] == stage, "p50"].sum())
            if base > 0:
                ctl[base_year] = base
            g = reconcile(g, ctl, value_cols=("p50", "p10", "p90")).drop(columns="control_factor")
        parts.append(g)
    return pd.concat(parts).loc[forecast.index]


def reconcile(
    frame: pd.DataFrame,
    control: dict[int, float],
    *,
    value_cols: tuple[str, ...] = ("population",),
    by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Scale unit values so that their sum matches a city control total (总量控制).

    Parameters
    ----------
    frame : DataFrame
        ``unit_id, year, *by`` and the value columns.
    control : dict
        City totals by year. Between given years the control is interpolated
        log-linearly; outside them the nearest given year's ratio is kept. Years without
        any control are left as they are.
    value_cols : tuple of str
        Columns scaled by the same factor (the first one is matched to the control).
    by : tuple of str
        Extra grouping (e.g. ``("stage",)``): the control then applies to each group.

    Returns
    -------
    DataFrame
        A copy with scaled values and the factor used in ``control_factor``.
    """
    if not control:
        return frame.assign(control_factor=1.0)
    years = np.array(sorted(control), dtype=float)
    logs = np.log(np.array([control[int(y)] for y in years], dtype=float))
    keys = ["year", *by]
    tot = frame.groupby(keys)[value_cols[0]].transform("sum").to_numpy(float)
    y = frame["year"].to_numpy(float)
    target = np.exp(np.interp(y, years, logs))
    inside = (y >= years.min()) & (y <= years.max())
    factor = np.where(inside & (tot > 0), target / np.where(tot > 0, tot, 1.0), np.nan)
    out = frame.copy()
    f = pd.Series(factor, index=frame.index)
    # outside the controlled years: carry the nearest controlled year's factor
    fy = pd.DataFrame({"year": y, "f": factor}).groupby("year")["f"].first().sort_index()
    fy = fy.ffill().bfill()
    f = f.fillna(pd.Series(y, index=frame.index).map(fy)).fillna(1.0)
    for c in value_cols:
        out[c] = out[c].astype(float) * f.to_numpy()
    out["control_factor"] = f.to_numpy()
    return out
