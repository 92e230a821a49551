"""The scenario's forecast (情景预测): births → population → entry → enrolment, with its record.

:func:`forecast_units` is **the** forecast entry: ``planner run`` (through
:func:`planner.pipeline.forecast_for` and :func:`enrolment_forecast`), ``planner backtest``,
:func:`planner.api.forecast` and the real-data benchmarks (``benchmarks/forecast``) all
call it, so the forecast a bureau gets is the forecast that was measured. It is pure:
long tables (:class:`ForecastData`) and settings resolved once from the scenario
(:class:`ForecastSettings`) in, a :class:`ForecastResult` out.

Two parts, each with a method from the registry (:mod:`planner.forecast.methods`),
a combination of methods, or ``"auto"``:

1. **Population and births** (``population_method``): the population by age of every
   unit and the births after the base year (:func:`~planner.forecast.population.project_population`);
   school-age population (ages 6–11 and 12–14) where the method gives ages.
2. **Enrolment** (``enrolment_method``): the pupils per unit and stage (primary, junior),
   driven by the births (observed, then projected).

Every candidate is backtested at rolling origins *T* (horizons 1–5) on the units' own
history, each fitted only on data of years ≤ *T*; in the enrolment backtest the births
after *T* are those the population part would have projected at *T* (the births
projection is part of what is measured). ``"auto"`` takes the candidate with the lowest
MAPE on the forecasts known at the base year; the choice is **nested**: for every
origin *T* the choice is remade from the forecasts known at *T*, and the chosen
method's forecast from *T* is scored on the later years — the out-of-sample error of the
procedure itself, written to the run (``forecast_accuracy``). The 80 % intervals are
split-conformal on those out-of-sample errors, per horizon
(:func:`~planner.forecast.select.conformal_halfwidths`); their coverage is measured the
same way, each origin's intervals from the errors known at that origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.errors import ForecastError, ScenarioError
from planner.forecast.baselines import ConstantRatio, LastValue, LinearTrend
from planner.forecast.entry import GradeProgression, StockFlow
from planner.forecast.methods import (
    AUTO,
    AUTO_COMBINATIONS,
    ENROLMENT_METHODS,
    POPULATION_METHODS,
    parse_method,
)
from planner.forecast.population import infeasible, project_population, school_age
from planner.forecast.select import (
    bias_corrected,
    choose,
    combination_label,
    combination_members,
    conformal_halfwidths,
    coverage_table,
    nested,
    rolling_intervals,
)
from planner.forecast.stats import DampedTrend
from planner.norms import DEFAULT_GRADES, Norms

__all__ = [
    "ForecastData",
    "ForecastResult",
    "ForecastSettings",
    "data_from_inputs",
    "enrolment_forecast",
    "forecast_line",
    "forecast_record",
    "forecast_units",
    "reconcile",
    "settings_from_scenario",
    "stage_cohorts",
    "unit_enrolment",
]

SEX_CODES = {"male": "M", "female": "F"}


def stage_of_grade(grades: Mapping[str, tuple[int, int]]) -> dict[int, str]:
    """Grade → stage from the first and last grade of each stage (the norms' ``grades.*``)."""
    return {g: s for s, (lo, hi) in grades.items() for g in range(int(lo), int(hi) + 1)}


def stage_spec(grades: Mapping[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
    """Entry grade, length and birth-to-entry lag of each stage (grade 1 ≈ age 6)."""
    return {
        s: {"first_grade": int(lo), "duration": int(hi) - int(lo) + 1, "lag": int(lo) + 5}
        for s, (lo, hi) in grades.items()
    }


def school_age_groups(grades: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The school-age groups of the stages (``"6–11"``, ``"12–14"`` for 六三制)."""
    return {f"{lo + 5}–{hi + 5}": (int(lo) + 5, int(hi) + 5) for lo, hi in grades.values()}


#: ratio-averaging windows tried when ``ratio_years = "auto"``
RATIO_WINDOWS = (1, 3, 5)
#: school-age groups reported from the population path (of the default grades)
SCHOOL_AGE_GROUPS = school_age_groups(DEFAULT_GRADES)
#: label suffix of a bias-corrected candidate
BIAS = "~bias"
#: reference methods always backtested next to the candidates
REFERENCES = ("last_value", "linear_trend")


@dataclass(frozen=True)
class ForecastSettings:
    """Forecast settings, resolved once from the scenario (:func:`settings_from_scenario`).

    Attributes
    ----------
    population_method, enrolment_method : str
        A registered method, methods joined by ``+``, or ``"auto"``.
    ratio_years : int or "auto"
        Years of ratios averaged by the ratio methods (``"auto"``: 1, 3 and 5 are
        candidates).
    entry_years : int or None
        Years averaged for the birth-to-entry ratio (None: as ``ratio_years``).
    entry_prior_year_share : float
        Share of an entry class born in the calendar year before the main birth year
        (0 when births are counted by school year; ⅓ for calendar-year births and the
        1 September cut-off).
    tfr_multiplier, migration_multiplier : float
        Scenario multipliers.
    survival, fertility : DataFrame or None
        The scenario's schedule tables.
    schedule_year : int or None
        The year those tables describe: backtest origins before it cannot use them.
    bias_correction : bool
        Also offer bias-corrected variants of the enrolment candidates to the choice.
    backtest_horizons : int
        Horizons of the backtest (1…n).
    interval_level : float
        Nominal coverage of the intervals (0.8 = P10–P90).
    interval_scheme : {"per_horizon", "pooled"}
        Conformal errors per horizon, or pooled over horizons after dividing by *h*
        (:func:`~planner.forecast.select.conformal_halfwidths`).
    selection_window : int or None
        The choice looks at the forecasts of the last so many origins only (None: all).
    combine_best : int
        ``"auto"`` for enrolment takes the mean of this many best candidates (1: the
        single best; 3 chosen on the training origins of the provincial benchmark).
    enrolment_control : mapping
        City control totals of pupils by stage and year.
    age_groups : mapping
        School-age groups reported (label → first and last age; default 6–11, 12–14).
    grades : mapping
        First and last grade of each stage (the norms' ``grades.*``: 六三制 or 五四制;
        default :data:`planner.norms.DEFAULT_GRADES`).
    """

    population_method: str = AUTO
    enrolment_method: str = AUTO
    ratio_years: int | str = AUTO
    entry_years: int | None = None
    entry_prior_year_share: float = 0.0
    tfr_multiplier: float = 1.0
    migration_multiplier: float = 1.0
    survival: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    fertility: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    schedule_year: int | None = None
    bias_correction: bool = True
    backtest_horizons: int = 5
    interval_level: float = 0.8
    interval_scheme: str = "pooled"
    selection_window: int | None = None
    combine_best: int = 3
    enrolment_control: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    age_groups: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: dict(SCHOOL_AGE_GROUPS)
    )
    grades: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_GRADES))


@dataclass
class ForecastData:
    """The long tables the forecast reads (every table optional).

    Attributes
    ----------
    births : DataFrame
        ``unit_id, year, value`` observed births.
    population : DataFrame
        ``unit_id, year, sex (M/F/T), age_lo, age_hi, value`` age tables.
    grades : DataFrame
        ``unit_id, year, grade, value`` pupils by grade.
    totals : DataFrame
        ``unit_id, year, stage, value`` pupils per stage (default: from ``grades``).
    intake : DataFrame
        ``unit_id, year, stage, value`` new entrants (default: grades 1 and 7).
    parents : mapping
        ``unit → parent unit`` whose ratios a unit with one age table borrows.
    units : sequence
        Units to forecast (default: those with pupils, else with age tables, except
        parents).
    """

    births: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    grades: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    intake: pd.DataFrame | None = None
    parents: Mapping[str, str] | None = None
    units: Sequence[str] | None = None


@dataclass
class ForecastResult:
    """What :func:`forecast_units` gives.

    Attributes
    ----------
    enrolment : DataFrame or None
        ``unit_id, stage, year, p10, p50, p90`` (base year observed, no interval).
    births : DataFrame or None
        ``unit_id, year, value, source`` (observed / projected).
    school_age : DataFrame or None
        ``unit_id, year, age_group, age_lo, age_hi, value`` (P50).
    choices : DataFrame
        ``target, requested, candidate, chosen, score, n``: every candidate's backtest
        MAPE on the forecasts known at the base year and the one chosen.
    backtest : DataFrame
        ``target, method, horizon, mape, mdape, malpe, p90_ape, n, coverage …`` per
        candidate (and reference method), over all origins.
    accuracy : DataFrame
        The same for the method choice itself (nested, out of sample).
    intervals : DataFrame
        ``target, horizon, q, n, measured``: conformal half-widths (log scale).
    rows : dict
        Raw backtest rows (``births``, ``enrolment``, and their ``*_nested``).
    """

    enrolment: pd.DataFrame | None
    births: pd.DataFrame | None
    school_age: pd.DataFrame | None
    choices: pd.DataFrame
    backtest: pd.DataFrame
    accuracy: pd.DataFrame
    intervals: pd.DataFrame
    rows: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables a run writes, by name (``method``, ``accuracy``, ``backtest`` …)."""
        out = {
            "method": self.choices,
            "accuracy": self.accuracy,
            "backtest": self.backtest,
            "intervals": self.intervals,
        }
        if self.births is not None:
            out["births"] = self.births
        if self.school_age is not None:
            out["school_age"] = self.school_age
        return out


# ---- settings and data from a scenario ------------------------------------------------


def settings_from_scenario(
    scenario, schedules: Mapping | None = None, norms: Norms | None = None
) -> ForecastSettings:
    """The scenario's ``[forecast]`` as :class:`ForecastSettings` (its tables included).

    ``norms`` give the grades of each stage (六三制 or 五四制; None: the default).
    """
    f = scenario.forecast
    grades = dict(norms.stage_grades()) if norms is not None else dict(DEFAULT_GRADES)
    sched = schedules or {}
    surv, fert = sched.get("survival"), sched.get("fertility")
    return ForecastSettings(
        population_method=f.population_method,
        enrolment_method=f.enrolment_method,
        ratio_years=f.ratio_years,
        entry_years=f.entry_years,
        entry_prior_year_share=f.entry_prior_year_share,
        tfr_multiplier=f.tfr_multiplier,
        migration_multiplier=f.migration_multiplier,
        survival=surv,
        fertility=fert,
        schedule_year=scenario.base_year if (surv is not None or fert is not None) else None,
        bias_correction=f.bias_correction,
        enrolment_control={k: dict(v) for k, v in f.enrolment_control.items()},
        age_groups=school_age_groups(grades),
        grades=grades,
    )


def unit_enrolment(inputs) -> pd.DataFrame:
    """Pupils per unit, year and grade (``unit_id, year, grade, value``) from the schools' history."""
    enr = inputs["enrolment"]
    unit = inputs["schools"].set_index("school_id")["unit_id"]
    e = enr.assign(unit_id=enr["school_id"].map(unit)).dropna(subset=["unit_id", "students"])
    g = e.groupby(["unit_id", "year", "grade"], as_index=False)["students"].sum()
    return g.rename(columns={"students": "value"}).astype({"year": "int64", "grade": "int64"})


def data_from_inputs(inputs) -> ForecastData:
    """The forecast's tables from a scenario's canonical inputs."""
    births = None
    if "births" in inputs:
        births = inputs["births"].rename(columns={"births": "value"})[["unit_id", "year", "value"]]
        births = births.astype({"year": "int64"})
    pop = None
    if "population_by_age" in inputs and len(inputs["population_by_age"]):
        p = inputs["population_by_age"].rename(columns={"population": "value"})
        p = p.loc[p["sex"].isin(SEX_CODES)].copy()
        p["sex"] = p["sex"].map(SEX_CODES)
        pop = p[["unit_id", "year", "sex", "age_lo", "age_hi", "value"]]
    grades = unit_enrolment(inputs) if "enrolment" in inputs else None
    return ForecastData(births=births, population=pop, grades=grades)


# ---- the entry ------------------------------------------------------------------------


def forecast_units(
    data: ForecastData, *, base_year: int, horizon: int, settings: ForecastSettings
) -> ForecastResult:
    """Forecast births, school-age population and enrolment, with the record of the choice.

    Parameters
    ----------
    data : ForecastData
        The units' history (rows after ``base_year`` are ignored).
    base_year, horizon : int
        Last observed year and last forecast year.
    settings : ForecastSettings
        Methods and assumptions.

    Returns
    -------
    ForecastResult

    Raises
    ------
    ScenarioError
        A method named in the settings is unknown or cannot run on these data.
    """
    if horizon <= base_year:
        raise ScenarioError(f"horizon {horizon} must be after the base year {base_year}.")
    d = _normalised(data, base_year, settings.grades)
    pop_part = _population_part(d, base_year=base_year, horizon=horizon, settings=settings)
    enr_part = _enrolment_part(d, pop_part, base_year=base_year, horizon=horizon, settings=settings)
    parts = [p for p in (pop_part, enr_part) if p is not None]
    empty = pd.DataFrame()
    return ForecastResult(
        enrolment=enr_part["forecast"] if enr_part else None,
        births=pop_part["births"] if pop_part else None,
        school_age=pop_part["school_age"] if pop_part else None,
        choices=_concat([p["choices"] for p in parts]) if parts else empty,
        backtest=_concat([p["backtest"] for p in parts]) if parts else empty,
        accuracy=_concat([p["accuracy"] for p in parts]) if parts else empty,
        intervals=_concat([p["intervals"] for p in parts]) if parts else empty,
        rows={k: v for p in parts for k, v in p["rows"].items()},
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _cut(df: pd.DataFrame | None, year: int) -> pd.DataFrame | None:
    return None if df is None else df.loc[df["year"] <= year]


def _normalised(
    data: ForecastData, base_year: int, stage_grades: Mapping[str, tuple[int, int]]
) -> ForecastData:
    births = _cut(data.births, base_year)
    if births is not None:
        births = births.dropna(subset=["value"]).astype({"year": "int64"})
    pop = _cut(data.population, base_year)
    grades = _cut(data.grades, base_year)
    totals = _cut(data.totals, base_year)
    intake = _cut(data.intake, base_year)
    if grades is not None and len(grades):
        g = grades.assign(stage=grades["grade"].map(stage_of_grade(stage_grades)))
        if totals is None:
            totals = g.groupby(["unit_id", "year", "stage"], as_index=False)["value"].sum()
        if intake is None:
            first = {s: v["first_grade"] for s, v in stage_spec(stage_grades).items()}
            e = g.loc[g["grade"] == g["stage"].map(first)]
            intake = e.groupby(["unit_id", "year", "stage"], as_index=False)["value"].sum()
    parents = dict(data.parents or {})
    if data.units is not None:
        units = list(data.units)
    elif totals is not None and len(totals):
        units = sorted(totals["unit_id"].unique())
    elif pop is not None and len(pop):
        units = sorted(set(pop["unit_id"]) - set(parents.values()))
    elif births is not None:
        units = sorted(births["unit_id"].unique())
    else:
        units = []
    return ForecastData(births, pop, grades, totals, intake, parents, units)


# ---- part 1: population and births ----------------------------------------------------


def _pop_candidates(
    d: ForecastData, settings: ForecastSettings, base_year: int
) -> tuple[list, str]:
    """Candidate labels (single methods or ``a+b``) and the default for the population part."""
    requested = parse_method(settings.population_method, "population")
    units = list(d.units)

    def ok(m: str) -> str | None:
        return infeasible(
            m, population=d.population, births=d.births, units=units, parents=d.parents
        )

    if settings.migration_multiplier != 1.0 and requested not in ((AUTO,), ("cohort_component",)):
        raise ScenarioError(
            f"forecast.migration_multiplier = {settings.migration_multiplier:g} applies to the "
            f"cohort-component method only; population_method = "
            f"'{settings.population_method}' would ignore it. Set migration_multiplier = 1, or "
            "population_method = 'cohort_component' for a migration scenario."
        )
    if settings.survival is not None and requested not in ((AUTO,), ("cohort_component",)):
        raise ScenarioError(
            "forecast.survival_table is used by the cohort-component method only; "
            f"population_method = '{settings.population_method}' would ignore it. Remove it "
            "or use population_method = 'cohort_component'."
        )
    if requested != (AUTO,):
        why = [f"'{m}': {r}" for m in requested if (r := ok(m))]
        if why:
            raise ScenarioError(
                f"forecast.population_method = '{settings.population_method}' cannot run on "
                f"these inputs: {'; '.join(why)}."
            )
        label = "+".join(requested)
        return [label], label
    if (
        settings.survival is not None
        or settings.fertility is not None
        or settings.migration_multiplier != 1.0
    ):
        # the scenario's schedule tables and migration multiplier: cohort-component only
        if (r := ok("cohort_component")) is not None:
            raise ScenarioError(
                "forecast.survival_table, fertility_table and a migration_multiplier other "
                f"than 1 need the cohort-component method, which cannot run: {r}."
            )
        return ["cohort_component"], "cohort_component"
    singles = [m for m in POPULATION_METHODS if ok(m) is None]
    combos = [c for c in AUTO_COMBINATIONS["population"] if all(m in singles for m in c.split("+"))]
    cands = singles + combos
    return cands, (singles[0] if singles else "")


def _pop_member_ok(m: str, d: ForecastData, origin: int, settings: ForecastSettings) -> bool:
    if settings.schedule_year is not None and origin < settings.schedule_year:
        # the scenario's tables describe a later year: no method may use them before it
        uses_tables = (m == "cohort_component" and settings.survival is not None) or (
            m != "births_trend" and settings.fertility is not None
        )
        if uses_tables:
            return False
    return (
        infeasible(
            m,
            population=_cut(d.population, origin),
            births=_cut(d.births, origin),
            units=list(d.units),
            parents=d.parents,
        )
        is None
    )


def _project(
    m: str,
    d: ForecastData,
    origin: int,
    last_year: int,
    settings: ForecastSettings,
    *,
    path: bool = True,
    births_given: pd.DataFrame | None = None,
    checked: bool = False,
):
    pop = _cut(d.population, origin)
    return project_population(
        m,
        pop,
        _cut(d.births, origin),
        units=list(d.units),
        origin=origin,
        last_year=last_year,
        parents=d.parents,
        survival=settings.survival if m == "cohort_component" else None,
        fertility=settings.fertility,
        tfr_multiplier=settings.tfr_multiplier,
        migration_multiplier=settings.migration_multiplier,
        path=path,
        births_given=births_given,
        checked=checked,
    )


def _mean_births(parts: list[pd.DataFrame]) -> pd.DataFrame:
    keys = ["unit_id", "year"]
    m = parts[0]
    for i, p in enumerate(parts[1:], 1):
        m = m.merge(p, on=keys, suffixes=("", f"_{i}"))
    cols = [c for c in m.columns if c.startswith("value")]
    return m[keys].assign(value=m[cols].mean(axis=1))


def _population_part(
    d: ForecastData, *, base_year: int, horizon: int, settings: ForecastSettings
) -> dict | None:
    if not d.units or (d.births is None and d.population is None):
        return None
    cands, default = _pop_candidates(d, settings, base_year)
    if not cands:
        return None
    members = sorted({m for c in cands for m in c.split("+")}, key=list(POPULATION_METHODS).index)
    H = int(settings.backtest_horizons)
    # ---- backtest: every member at every origin where it can run
    raw: dict[tuple[str, int], pd.DataFrame] = {}
    rows = []
    actual = None if d.births is None else d.births.rename(columns={"value": "actual"})
    first = [int(d.births["year"].min()) + 2] if d.births is not None and len(d.births) else []
    if d.population is not None and len(d.population):
        first.append(int(d.population["year"].min()))
    origins = list(range(min(first), base_year)) if first and actual is not None else []
    for t in origins:
        for m in members:
            if _pop_member_ok(m, d, t, settings):
                raw[(m, t)] = _project(m, d, t, t + H, settings, path=False, checked=True).births
        for c in cands:
            parts = [raw.get((m, t)) for m in c.split("+")]
            if any(p is None for p in parts):
                continue
            fc = parts[0] if len(parts) == 1 else _mean_births(parts)
            raw[(c, t)] = fc
            r = fc.rename(columns={"value": "forecast"}).merge(actual, on=["unit_id", "year"])
            rows.append(r.assign(method=c, origin=t))
    bt = _rows(rows)
    chosen, scores = choose(
        bt, at=base_year, candidates=cands, default=default, window=settings.selection_window
    )
    outer = nested(
        bt, candidates=cands, default=default, origins=origins, window=settings.selection_window
    )
    # ---- production from the base year
    last = horizon
    prod = {m: _project(m, d, base_year, last, settings) for m in chosen.split("+")}
    births_fc = _mean_births([p.births for p in prod.values()])
    paths = [p.path for p in prod.values() if p.path is not None]
    if not paths and _pop_member_ok("cohort_component", d, base_year, settings):
        # births by a method without ages: the school-age population from the cohort
        # method driven by those births
        cc = _project("cohort_component", d, base_year, last, settings, births_given=births_fc)
        paths = [cc.path]
    sa = None
    if paths:
        groups = [school_age(p, settings.age_groups) for p in paths]
        sa = groups[0]
        if len(groups) > 1:
            keys = ["unit_id", "year", "age_group", "age_lo", "age_hi"]
            allg = pd.concat(groups)
            cnt = allg.groupby(keys)["value"].transform("size")
            sa = allg.loc[cnt == len(groups)].groupby(keys, as_index=False)["value"].mean()
        sa = sa.loc[sa["unit_id"].isin(d.units) & sa["year"].between(base_year, horizon)]
        sa = sa.sort_values(["year", "unit_id", "age_lo"], ignore_index=True)
    iv = conformal_halfwidths(
        outer,
        level=settings.interval_level,
        horizons=range(1, horizon - base_year + 1),
        scheme=settings.interval_scheme,
    )
    obs = d.births.loc[d.births["unit_id"].isin(d.units)] if d.births is not None else None
    births = births_fc.assign(source="projected")
    if obs is not None:
        births = pd.concat([obs[["unit_id", "year", "value"]].assign(source="observed"), births])
    q = births["year"].sub(base_year).map(iv.set_index("horizon")["q"]).astype(float)
    births["p10"] = np.where(births["source"] == "projected", births["value"] * np.exp(-q), np.nan)
    births["p90"] = np.where(births["source"] == "projected", births["value"] * np.exp(q), np.nan)
    births = births.sort_values(["unit_id", "year"], ignore_index=True)
    return {
        "births": births,
        "base_year": base_year,
        "school_age": sa,
        "raw": raw,
        "cands": cands,
        "default": default,
        "choices": _choice_table("births", settings.population_method, scores, chosen),
        "backtest": _method_table("births", bt, settings),
        "accuracy": _accuracy_table("births", outer, settings),
        "intervals": iv.assign(target="births"),
        "rows": {"births": bt, "births_nested": outer},
        "births_forecast": births_fc,
        "choose": lambda t: choose(
            bt, at=t, candidates=cands, default=default, window=settings.selection_window
        )[0],
    }


def _rows(parts: list[pd.DataFrame]) -> pd.DataFrame:
    cols = ["method", "unit_id", "stage", "origin", "horizon", "target_year", "forecast", "actual"]
    if not parts:
        return pd.DataFrame(columns=[*cols, "pe", "ape"]).astype(
            {"origin": "int64", "horizon": "int64", "target_year": "int64"}
        )
    r = pd.concat(parts, ignore_index=True).rename(columns={"year": "target_year"})
    r["horizon"] = r["target_year"] - r["origin"]
    r = r.loc[
        r["forecast"].notna() & r["actual"].notna() & (r["actual"] != 0) & (r["horizon"] >= 1)
    ]
    r = r.assign(pe=100.0 * (r["forecast"] - r["actual"]) / r["actual"])
    r["ape"] = r["pe"].abs()
    keep = [c for c in cols if c in r.columns]
    return r[[*keep, "pe", "ape"]].reset_index(drop=True)


def _choice_table(target: str, requested: str, scores: pd.DataFrame, chosen: str) -> pd.DataFrame:
    t = scores.rename(columns={"method": "candidate"}).copy()
    t.insert(0, "target", target)
    t.insert(1, "requested", requested)
    t["chosen"] = t["candidate"].isin(combination_members(chosen))
    if not t["chosen"].any():  # chosen by default (nothing to compare on)
        chosen = combination_members(chosen)[0]
        t = pd.concat(
            [t, pd.DataFrame([{"target": target, "requested": requested, "candidate": chosen,
                               "score": np.nan, "n": 0, "chosen": True}])],
            ignore_index=True,
        )  # fmt: skip
    return t[["target", "requested", "candidate", "chosen", "score", "n"]]


def _method_table(target: str, rows: pd.DataFrame, settings: ForecastSettings) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame()
    by = ["stage"] if "stage" in rows.columns and rows["stage"].notna().any() else []
    parts = []
    for key, r in rows.groupby(["method", *by], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        cov = coverage_table(
            rolling_intervals(r, level=settings.interval_level, scheme=settings.interval_scheme)
        )
        cov.insert(0, "method", key[0])
        if by:
            cov.insert(0, "target", key[1])
        parts.append(cov)
    out = pd.concat(parts, ignore_index=True)
    if not by:
        out.insert(0, "target", target)
    return out


def _accuracy_table(target: str, outer: pd.DataFrame, settings: ForecastSettings) -> pd.DataFrame:
    if outer.empty:
        return pd.DataFrame()
    by = ["stage"] if "stage" in outer.columns and outer["stage"].notna().any() else []
    parts = []
    groups = outer.groupby(by, sort=False) if by else [((target,), outer)]
    for key, r in groups:
        key = key if isinstance(key, tuple) else (key,)
        cov = coverage_table(
            rolling_intervals(r, level=settings.interval_level, scheme=settings.interval_scheme)
        )
        cov.insert(0, "target", key[0])
        cov.insert(1, "methods_chosen", ", ".join(dict.fromkeys(r["method"])))
        parts.append(cov)
    return pd.concat(parts, ignore_index=True)


# ---- part 2: enrolment ----------------------------------------------------------------


def stage_cohorts(
    stage: str, prior_share: float, grades: Mapping[str, tuple[int, int]] = DEFAULT_GRADES
) -> dict[int, float]:
    """Birth-year lags of the grades of a stage and their weights (出生队列权重).

    A grade-*g* pupil of school year *t* was born in calendar year ``t − 5 − g``, or —
    for a share ``prior_share`` of the class — in ``t − 6 − g`` (⅓ with calendar-year
    births and the 1 September cut-off).
    """
    s = float(prior_share)
    lo, hi = grades[stage]
    out: dict[int, float] = {}
    for g in range(int(lo), int(hi) + 1):
        out[5 + g] = out.get(5 + g, 0.0) + (1.0 - s)
        if s > 0:
            out[6 + g] = out.get(6 + g, 0.0) + s
    return out


def _windows(settings: ForecastSettings) -> tuple[int, ...]:
    return RATIO_WINDOWS if settings.ratio_years == AUTO else (int(settings.ratio_years),)


def _label(method: str, n: int | None) -> str:
    return f"{method}[{n}]" if ENROLMENT_METHODS[method].window else method


def _enr_candidates(d: ForecastData, settings: ForecastSettings) -> tuple[list[str], str]:
    requested = parse_method(settings.enrolment_method, "enrolment")
    have = {
        "grades": d.grades is not None and len(d.grades) > 0,
        "births": d.births is not None and len(d.births) > 0,
        "intake": d.intake is not None and len(d.intake) > 0,
    }

    def ok(m: str) -> bool:
        return all(have[n] for n in ENROLMENT_METHODS[m].needs)

    windows = _windows(settings)

    def labels(combo: Sequence[str]) -> list[str]:
        if any(ENROLMENT_METHODS[m].window for m in combo):
            return ["+".join(_label(m, n) for m in combo) for n in windows]
        return ["+".join(combo)]

    if requested != (AUTO,):
        missing = [m for m in requested if not ok(m)]
        if missing:
            need = {n for m in missing for n in ENROLMENT_METHODS[m].needs if not have[n]}
            raise ScenarioError(
                f"forecast.enrolment_method = '{settings.enrolment_method}': "
                f"{', '.join(missing)} need(s) {', '.join(sorted(need))}, which the inputs "
                "do not give."
            )
        cands = labels(requested)
        return cands, cands[min(len(cands) - 1, windows.index(3) if 3 in windows else 0)]
    singles = [m for m in ENROLMENT_METHODS if ok(m)]
    if have["grades"]:
        # with grades, stock–flow repeats grade progression (intake = grade 1 / 7): it is
        # meant for yearbooks without grades and is left to an explicit choice
        singles = [m for m in singles if m != "stock_flow"]
    cands = [lab for m in singles for lab in labels((m,))]
    for c in AUTO_COMBINATIONS["enrolment"]:
        ms = c.split("+")
        if all(m in singles for m in ms):
            cands += labels(ms)
    default = next(
        (c for c in cands if c.startswith(("grade_progression[3]", "birth_to_entry[3]"))),
        cands[0],
    )
    return cands, default


def _members(label: str) -> list[tuple[str, int | None]]:
    out = []
    for part in label.replace(BIAS, "").split("+"):
        if "[" in part:
            name, n = part[:-1].split("[")
            out.append((name, int(n)))
        else:
            out.append((part, None))
    return out


def _rebase(pred: pd.DataFrame, origin: int, H: int) -> pd.DataFrame:
    p = pred.loc[(pred["year"] > origin) & (pred["year"] <= origin + H)].copy()
    p["origin"] = origin
    p["horizon"] = p["year"] - origin
    return p[["unit_id", "stage", "origin", "horizon", "year", "forecast"]]


def _stage_frames(df: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if df is None or df.empty:
        return {}
    return {s: g[["unit_id", "year", "value"]] for s, g in df.groupby("stage", sort=True)}


def _member_forecasts(
    method: str,
    windows: Sequence[int | None],
    d: ForecastData,
    *,
    origin: int,
    H: int,
    births_all: pd.DataFrame | None,
    settings: ForecastSettings,
) -> dict[tuple[str, int | None], pd.DataFrame]:
    """One enrolment method's stage totals per unit, horizons 1…H from ``origin``.

    A ratio method is fitted once and its other windows are derived from the same fit
    (``with_window``, equal to refitting with that window).
    """
    totals = _cut(d.totals, origin)
    births = _cut(d.births, origin)
    s = float(settings.entry_prior_year_share)
    out: dict[tuple[str, int | None], list[pd.DataFrame]] = {(method, n): [] for n in windows}
    if method == "grade_progression":
        g = _cut(d.grades, origin)
        n0 = windows[0]
        gp = GradeProgression(
            n_years=n0, entry_n_years=settings.entry_years or n0, entry_next_lag_share=s
        ).fit(
            g[["unit_id", "year", "grade", "value"]],
            births if births is not None and len(births) else None,
        )
        for n in windows:
            est = gp if n == n0 else gp.with_window(n, settings.entry_years or n)
            p = est.predict(H + origin - est.origin_, X=births_all)
            p = p.assign(
                stage=p["grade"].map(stage_of_grade(settings.grades)),
                missing=p["forecast"].isna(),
            )
            grp = p.groupby(["unit_id", "year", "stage"], as_index=False)
            p = grp.agg(forecast=("forecast", "sum"), missing=("missing", "any"))
            # a stage total needs every grade of the stage
            p = p.assign(forecast=p["forecast"].where(~p["missing"])).drop(columns="missing")
            out[(method, n)].append(p)
    elif method in ("birth_to_entry", "stock_flow"):
        intake = _stage_frames(_cut(d.intake, origin))
        for stage, tot in _stage_frames(totals).items():
            spec = stage_spec(settings.grades)[stage]
            if method == "birth_to_entry":
                base = ConstantRatio(
                    lags=stage_cohorts(stage, s, settings.grades), n_years=windows[0]
                ).fit(tot, births)
                ests = {n: base if n == windows[0] else base.with_window(n) for n in windows}
            else:
                if stage not in intake:
                    continue
                ests = {
                    n: StockFlow(
                        duration=spec["duration"],
                        n_years=n,
                        lag=spec["lag"],
                        next_lag_share=s,
                        entry_years=settings.entry_years or n,
                    ).fit(tot, births, intake=intake[stage])
                    for n in windows
                }
            for n, est in ests.items():
                p = est.predict(H + origin - est.origin_, X=births_all)
                out[(method, n)].append(p.assign(stage=stage))
    else:
        est = {"ets": DampedTrend, "last_value": LastValue}.get(method)
        est = est() if est is not None else LinearTrend(window=5)
        tot = totals[["unit_id", "year", "stage", "value"]]
        p = est.fit(tot).predict(H + origin - int(tot["year"].max()))
        out[(method, windows[0])].append(p)
    empty = pd.DataFrame(columns=["unit_id", "stage", "origin", "horizon", "year", "forecast"])
    return {
        k: _rebase(pd.concat(v, ignore_index=True), origin, H) if v else empty
        for k, v in out.items()
    }


def _all_members(
    members: set[tuple[str, int | None]], d: ForecastData, **kw
) -> dict[tuple[str, int | None], pd.DataFrame]:
    """Forecasts of every (method, window) member, each method fitted once."""
    by_method: dict[str, list[int | None]] = {}
    for m, n in sorted(members, key=lambda x: (x[0], -1 if x[1] is None else x[1])):
        by_method.setdefault(m, []).append(n)
    out = {}
    for m, windows in by_method.items():
        out.update(_member_forecasts(m, windows, d, **kw))
    return out


def _combined(label: str, member_fc: Mapping[tuple[str, int | None], pd.DataFrame]) -> pd.DataFrame:
    parts = [member_fc[m] for m in _members(label)]
    if len(parts) == 1:
        return parts[0]
    keys = ["unit_id", "stage", "origin", "horizon", "year"]
    m = parts[0]
    for i, p in enumerate(parts[1:], 1):
        m = m.merge(p, on=keys, suffixes=("", f"_{i}"))
    cols = [c for c in m.columns if c.startswith("forecast")]
    return m[keys].assign(forecast=m[cols].mean(axis=1, skipna=False))


def _enrolment_part(
    d: ForecastData, pop: dict | None, *, base_year: int, horizon: int, settings: ForecastSettings
) -> dict | None:
    if d.totals is None or d.totals.empty:
        return None
    cands, default = _enr_candidates(d, settings)
    refs = [r for r in REFERENCES if r not in cands]
    members = {m for c in [*cands, *refs] for m in _members(c)}
    H = int(settings.backtest_horizons)
    actual = d.totals.rename(columns={"value": "actual"})
    first = int(d.totals["year"].min())
    origins = list(range(first + 1, base_year))
    rows = []
    for t in origins:
        b_all = _births_at(d, pop, t)
        fc = _all_members(members, d, origin=t, H=H, births_all=b_all, settings=settings)
        f = pd.concat([_combined(c, fc).assign(method=c) for c in [*cands, *refs]])
        rows.append(f.merge(actual, on=["unit_id", "stage", "year"]))
    bt = _rows(rows)
    if settings.bias_correction and settings.enrolment_method == AUTO:
        bt = pd.concat([bt, bias_corrected(bt, cands, suffix=BIAS)], ignore_index=True)
        cands = [*cands, *(c + BIAS for c in cands)]
    steps = horizon - base_year
    b_all = _births_at(d, pop, base_year)
    prod_members = _all_members(
        members, d, origin=base_year, H=steps, births_all=b_all, settings=settings
    )
    choice_rows, outer_rows, preds, ivs = [], [], [], []
    k = int(settings.combine_best) if settings.enrolment_method == AUTO else 1
    for stage in sorted(d.totals["stage"].unique()):
        st = bt.loc[bt["stage"] == stage]
        chosen, scores = choose(
            st,
            at=base_year,
            candidates=cands,
            default=default,
            window=settings.selection_window,
            k=k,
        )
        choice_rows.append(_choice_table(stage, settings.enrolment_method, scores, chosen))
        outer = nested(
            st,
            candidates=cands,
            default=default,
            origins=origins,
            window=settings.selection_window,
            k=k,
        )
        outer_rows.append(outer)
        f = _production(chosen, prod_members, st, stage)
        iv = conformal_halfwidths(
            outer, level=settings.interval_level, horizons=range(1, steps + 1)
        )
        ivs.append(iv.assign(target=stage))
        q = f["horizon"].map(iv.set_index("horizon")["q"]).to_numpy(dtype=float)
        fc = f["forecast"].to_numpy(dtype=float)
        preds.append(
            pd.DataFrame(
                {
                    "unit_id": f["unit_id"].to_numpy(),
                    "stage": stage,
                    "year": f["year"].astype("int64").to_numpy(),
                    "p10": fc * np.exp(-np.nan_to_num(q, nan=0.0)),
                    "p50": fc,
                    "p90": fc * np.exp(np.nan_to_num(q, nan=0.0)),
                }
            )
        )
    out = pd.concat(preds, ignore_index=True)
    obs = d.totals.loc[d.totals["year"] == base_year]
    obs = obs.assign(p10=obs["value"], p50=obs["value"], p90=obs["value"])[
        ["unit_id", "stage", "year", "p10", "p50", "p90"]
    ]
    out = _controlled(out, obs, settings.enrolment_control, base_year)
    out = (
        pd.concat([obs, out], ignore_index=True)
        .sort_values(["year", "unit_id", "stage"])
        .reset_index(drop=True)
    )
    outer = _concat(outer_rows)
    return {
        "forecast": out,
        "choices": _concat(choice_rows),
        "backtest": _method_table("enrolment", bt, settings),
        "accuracy": _accuracy_table("enrolment", outer, settings),
        "intervals": _concat(ivs),
        "rows": {"enrolment": bt, "enrolment_nested": outer},
    }


def _production(
    chosen: str,
    members: Mapping[tuple[str, int | None], pd.DataFrame],
    rows: pd.DataFrame,
    stage: str,
) -> pd.DataFrame:
    """The production forecast of the chosen candidate (or mean of candidates) for a stage.

    A bias-corrected candidate is its method × exp(h · d), *d* the median yearly log
    error of all its backtest forecasts (all known at the base year).
    """
    parts = []
    for label in combination_members(chosen):
        f = _combined(label, members)
        f = f.loc[f["stage"] == stage]
        if label.endswith(BIAS):
            known = rows.loc[rows["method"] == label.removesuffix(BIAS)]
            known = known.loc[(known["forecast"] > 0) & (known["actual"] > 0)]
            yearly = np.log(known["actual"] / known["forecast"]) / known["horizon"]
            dd = float(yearly.median()) if len(known) else 0.0
            f = f.assign(forecast=f["forecast"] * np.exp(dd * f["horizon"]))
        parts.append(f)
    if len(parts) == 1:
        return parts[0]
    keys = ["unit_id", "stage", "origin", "horizon", "year"]
    allf = pd.concat(parts, ignore_index=True)
    g = allf.groupby(keys, as_index=False)
    out = g.agg(forecast=("forecast", "mean"), n=("forecast", "size"))
    return out.loc[out["n"] == len(parts)].drop(columns="n")


def _births_at(d: ForecastData, pop: dict | None, origin: int) -> pd.DataFrame | None:
    """Births known at ``origin`` followed by those the population part projects there.

    At a backtest origin: the projection of the population method chosen at that
    origin (from the births forecasts known then); at the base year: the production
    births.
    """
    obs = _cut(d.births, origin)
    if pop is None:
        return obs
    if origin >= pop["base_year"]:
        fc = pop["births_forecast"]
    else:
        fc = pop["raw"].get((pop["choose"](origin), origin))
        if fc is None:
            fc = next(
                (pop["raw"][(c, origin)] for c in pop["cands"] if (c, origin) in pop["raw"]), None
            )
    if fc is None:
        return obs
    fut = fc.loc[fc["year"] > origin, ["unit_id", "year", "value"]]
    if obs is None:
        return fut
    return pd.concat([obs[["unit_id", "year", "value"]], fut], ignore_index=True)


def forecast_line(tables: Mapping[str, pd.DataFrame]) -> str:
    """One line for a run's summary: the methods used and their out-of-sample error.

    ``tables``: a run's tables (``forecast_method``, ``forecast_accuracy``) or a
    :meth:`ForecastResult.tables` dict.
    """
    method = tables.get("forecast_method", tables.get("method"))
    acc = tables.get("forecast_accuracy", tables.get("accuracy"))
    if method is None or method.empty:
        return "forecast: none"
    bits = []
    chosen = method.loc[method["chosen"]]
    picks = chosen.groupby("target", sort=False).agg(
        requested=("requested", "first"), candidate=("candidate", list)
    )
    for r in picks.reset_index().itertuples():
        r = r._replace(candidate=combination_label(r.candidate))
        how = "auto → " if r.requested == AUTO else ""
        a = acc.loc[acc["target"] == r.target] if acc is not None and len(acc) else acc
        err = ""
        if a is not None and len(a):
            h = a.loc[a["horizon"] == a["horizon"].max()].iloc[0]
            cov = (
                f", 80 % interval coverage {h['coverage']:.0%}"
                if "coverage" in a and pd.notna(h.get("coverage"))
                else ""
            )
            err = f" (out-of-sample MAPE {h['mape']:.1f} % at {int(h['horizon'])} y{cov})"
        else:
            err = " (not backtested)"
        bits.append(f"{r.target}: {how}{r.candidate}{err}")
    return "forecast: " + "; ".join(bits)


def forecast_record(tables: Mapping[str, pd.DataFrame]) -> dict[str, object] | None:
    """The chosen methods and their out-of-sample error as plain data (the run's manifest).

    ``tables``: a run's tables (``forecast_method``, ``forecast_accuracy``); None when
    the run has no forecast.
    """
    method = tables.get("forecast_method")
    if method is None or method.empty:
        return None
    acc = tables.get("forecast_accuracy")
    chosen = [
        {
            "target": str(target),
            "requested": str(g["requested"].iloc[0]),
            "method": combination_label(list(g["candidate"])),
            "backtest_mape": [None if pd.isna(v) else round(float(v), 3) for v in g["score"]],
        }
        for target, g in method.loc[method["chosen"]].groupby("target", sort=False)
    ]
    accuracy = []
    if acc is not None and len(acc):
        for r in acc.itertuples():
            cov = getattr(r, "coverage", np.nan)
            accuracy.append(
                {
                    "target": str(r.target),
                    "horizon": int(r.horizon),
                    "mape": round(float(r.mape), 3),
                    "coverage_80": None if pd.isna(cov) else round(float(cov), 3),
                    "n": int(r.n),
                }
            )
    return {"line": forecast_line(tables), "chosen": chosen, "out_of_sample": accuracy}


def enrolment_forecast(
    inputs, norms: Norms | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The scenario's enrolment forecast: :func:`forecast_units` on its inputs.

    ``norms`` (the norms in force) give the grades of each stage (六三制 / 五四制).

    Returns
    -------
    forecast : DataFrame
        ``unit_id, stage, year, p10, p50, p90`` from the base year to the horizon.
    details : dict
        The run's forecast tables: ``method`` (the choice), ``accuracy``
        (out-of-sample error of the choice per horizon, with interval coverage),
        ``backtest`` (every candidate), ``intervals``, ``births``, ``school_age``.
    """
    sc = inputs.scenario
    result = forecast_units(
        data_from_inputs(inputs),
        base_year=sc.base_year,
        horizon=sc.horizon,
        settings=settings_from_scenario(sc, inputs.schedules, norms),
    )
    if result.enrolment is None:
        raise ForecastError(
            f"{sc.source_file}: the enrolment forecast needs an enrolment history; none was "
            "given. Declare [inputs.enrolment], or set [forecast] enabled = false."
        )
    return result.enrolment, result.tables()


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
