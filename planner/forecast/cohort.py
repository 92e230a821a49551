"""Cohort projection methods (队列法人口预测): Hamilton–Perry and cohort-component.

Population tables are long: ``unit_id, year, sex, age_lo, age_hi, value`` (``value``
may also be called ``population``); ``age_hi`` is NaN (or ≥ 120) for the open group.
Sex codes are ``M``/``F`` (or ``T`` for both sexes together).

References
----------
* Hamilton, C.H. & Perry, J. (1962). A short method for projecting population by age
  from one decennial census to another. *Social Forces* 41(2), 163–170.
* Swanson, D.A., Schlottmann, A. & Schmidt, B. (2010). Forecasting the population of
  census tracts by age and sex: an example of the Hamilton–Perry method in action.
  *Population Research and Policy Review* 29, 47–63.
* Preston, S.H., Heuveline, P. & Guillot, M. (2001). *Demography: Measuring and Modeling
  Population Processes*, ch. 6 (cohort-component projection).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from planner.errors import DataError, ForecastError, ParameterError, ScheduleError
from planner.forecast._base import Forecaster
from planner.forecast.schedules import (
    CHINA_SRB_2010,
    census_life_table,
    default_asfr,
    observed_tfr,
    survival_ratios,
    tfr_for_year,
)

__all__ = ["CohortComponent", "HamiltonPerry", "regroup", "residual_migration"]

OPEN_HI = 200


def _pop_long(y: pd.DataFrame, name: str = "population") -> pd.DataFrame:
    """Check and normalise a population table to ``unit_id, year, sex, age_lo, age_hi, value``."""
    if not isinstance(y, pd.DataFrame):
        raise DataError(f"{name} must be a DataFrame (unit_id, year, sex, age_lo, age_hi, value).")
    df = y.copy()
    if "value" not in df.columns and "population" in df.columns:
        df = df.rename(columns={"population": "value"})
    if "unit_id" not in df.columns:
        df["unit_id"] = "_"
    if "sex" not in df.columns:
        df["sex"] = "T"
    missing = [c for c in ("year", "age_lo", "age_hi", "value") if c not in df.columns]
    if missing:
        raise DataError(
            f"{name} lacks column(s) {missing}; expected unit_id, year, sex, age_lo, age_hi, value."
        )
    df = df[["unit_id", "year", "sex", "age_lo", "age_hi", "value"]].copy()
    df["age_hi"] = df["age_hi"].fillna(OPEN_HI).clip(upper=OPEN_HI)
    df["year"] = df["year"].astype("int64")
    df["age_lo"] = df["age_lo"].astype("int64")
    df["age_hi"] = df["age_hi"].astype("int64")
    df["value"] = df["value"].astype(float)
    if (df["value"] < 0).any():
        raise DataError(f"{name} has negative counts; fix the input.")
    return df


def regroup(population: pd.DataFrame, *, width: int = 5, open_age: int = 85) -> pd.DataFrame:
    """Aggregate a population table to groups of ``width`` years and an open group ``open_age+``.

    Every input group must lie inside one output group (``0`` and ``1–4`` → ``0–4``;
    ``85–89``, ``90–94`` … ``100+`` → ``85+``).

    Returns
    -------
    DataFrame
        ``unit_id, year, sex, age_lo, age_hi, value`` (``age_hi`` of the open group = 200).
    """
    df = _pop_long(population)
    lo = np.minimum((df["age_lo"] // width) * width, open_age)
    hi = np.where(lo >= open_age, OPEN_HI, lo + width - 1)
    bad = df["age_hi"] > hi
    if bad.any():
        r = df[bad].iloc[0]
        raise DataError(
            f"age group {r['age_lo']}–{r['age_hi']} straddles the {width}-year groups; "
            "give finer or aligned age groups."
        )
    df["age_lo"], df["age_hi"] = lo, hi
    return df.groupby(["unit_id", "year", "sex", "age_lo", "age_hi"], as_index=False, sort=True)[
        "value"
    ].sum()


def _check_grid(df: pd.DataFrame, width: int, open_age: int) -> np.ndarray:
    edges = np.arange(0, open_age + 1, width)
    have = np.sort(df["age_lo"].unique())
    if not np.array_equal(have, edges):
        raise DataError(
            f"population must have the age groups {edges.tolist()} (width {width}, open {open_age}+); "
            f"got {have.tolist()}. Use regroup(...) first."
        )
    return edges


def _frames(blocks, edges, open_age, width) -> pd.DataFrame:
    """One frame from ``(unit, sex, origin, horizon, values)`` blocks (as :func:`_frame`)."""
    n = len(edges)
    hi = np.where(edges >= open_age, OPEN_HI, edges + width - 1)
    units = [b[0] for b in blocks]
    origin = np.repeat([b[2] for b in blocks], n)
    horizon = np.repeat([b[3] for b in blocks], n)
    return pd.DataFrame(
        {
            "unit_id": np.repeat(np.asarray(units, dtype=object), n),
            "sex": np.repeat(np.asarray([b[1] for b in blocks], dtype=object), n),
            "age_lo": np.tile(edges, len(blocks)),
            "age_hi": np.tile(hi, len(blocks)),
            "origin": origin,
            "horizon": horizon,
            "year": origin + horizon,
            "forecast": np.concatenate([b[4] for b in blocks]) if blocks else np.array([]),
        }
    )


def _frame(unit, sex, edges, values, origin, horizon, open_age, width) -> pd.DataFrame:
    hi = np.where(edges >= open_age, OPEN_HI, edges + width - 1)
    return pd.DataFrame(
        {
            "unit_id": unit,
            "sex": sex,
            "age_lo": edges,
            "age_hi": hi,
            "origin": origin,
            "horizon": horizon,
            "year": origin + horizon,
            "forecast": values,
        }
    )


class HamiltonPerry(Forecaster):
    """Hamilton–Perry projection with cohort-change and child–woman ratios (CCR 法).

    ``CCR_x = P_{x+k}(t) / P_x(t−k)`` for an interval of *k* years (the groups aged
    ``≥ k`` at the end); the open group uses all groups ``≥ A−k`` at the start. The
    groups younger than *k* come from child–woman ratios: ``0–4`` from women ``15–44``,
    ``5–9`` from women ``20–49`` (Swanson et al. 2010).

    Parameters
    ----------
    interval : int
        Years between the two observations (10 for censuses); also the step.
    width : int
        Age-group width (5).
    open_age : int
        Start of the open age group.
    ccr_limits : (float, float) or None
        Bounds applied to every CCR (e.g. ``(0.5, 2.0)``); None = no limits.
    women_ages : (int, int)
        Women ages for the youngest child group; shifted by the group's age for older ones.

    Notes
    -----
    ``fit(y)`` needs every unit observed at its last year *t* and at *t − interval*.
    ``predict(steps, base=…, ratio_units=…)`` can apply the ratios of one set of units
    (e.g. provinces) to the base populations of others (e.g. their counties).
    Without ``F`` rows (sex ``T`` only) the child ratios use half the adult population.
    """

    def __init__(
        self,
        *,
        interval: int = 10,
        width: int = 5,
        open_age: int = 85,
        ccr_limits: tuple[float, float] | None = None,
        women_ages: tuple[int, int] = (15, 44),
    ) -> None:
        self.interval = interval
        self.width = width
        self.open_age = open_age
        self.ccr_limits = ccr_limits
        self.women_ages = women_ages

    def _women(self, arrs: Mapping[str, np.ndarray], edges: np.ndarray, lo: int, hi: int) -> float:
        sel = (edges >= lo) & (edges + self.width - 1 <= hi)
        if "F" in arrs:
            return float(arrs["F"][sel].sum())
        return 0.5 * float(sum(a[sel].sum() for a in arrs.values()))

    def _child_ratios(self, arrs: Mapping[str, np.ndarray], p: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros(k)
        for j in range(k):
            a = int(self.edges_[j])
            w = self._women(arrs, self.edges_, self.women_ages[0] + a, self.women_ages[1] + a)
            out[j] = p[j] / w if w > 0 else 0.0
        return out

    def fit(self, y: pd.DataFrame, X: pd.DataFrame | None = None) -> HamiltonPerry:
        """Compute CCRs and child–woman ratios per unit and sex from two observations."""
        df = regroup(y, width=self.width, open_age=self.open_age)
        self.edges_ = _check_grid(df, self.width, self.open_age)
        k = int(self.interval) // int(self.width)
        if k * self.width != self.interval or k < 1:
            raise ParameterError(
                f"interval {self.interval} must be a multiple of width {self.width}."
            )
        ccr_rows, cwr_rows = [], []
        for unit, g in df.groupby("unit_id", sort=True):
            t1 = int(g["year"].max())
            t0 = t1 - int(self.interval)
            if t0 not in set(g["year"]):
                raise DataError(
                    f"unit {unit}: Hamilton–Perry needs observations in {t0} and {t1}; give both "
                    "years for every unit or choose another method."
                )
            a0 = {
                s: h.set_index("age_lo")["value"].reindex(self.edges_).to_numpy()
                for s, h in g[g["year"] == t0].groupby("sex")
            }
            a1 = {
                s: h.set_index("age_lo")["value"].reindex(self.edges_).to_numpy()
                for s, h in g[g["year"] == t1].groupby("sex")
            }
            for s in sorted(a1):
                p0, p1 = a0[s], a1[s]
                ccr = np.full(len(self.edges_), np.nan)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ccr[k:-1] = p1[k:-1] / p0[: len(self.edges_) - 1 - k]
                    ccr[-1] = p1[-1] / p0[-1 - k :].sum()
                ccr = np.where(np.isfinite(ccr), ccr, 0.0)
                if self.ccr_limits is not None:
                    ccr[k:] = np.clip(ccr[k:], *self.ccr_limits)
                ccr_rows += [
                    (unit, s, int(a), float(c))
                    for a, c in zip(self.edges_[k:], ccr[k:], strict=True)
                ]
                for j in range(k):
                    c = int(self.edges_[j])
                    w = self._women(a1, self.edges_, self.women_ages[0] + c, self.women_ages[1] + c)
                    cwr_rows.append((unit, s, c, p1[j] / w if w > 0 else 0.0))
            self.origin_ = t1
        self.ccr_ = pd.DataFrame(ccr_rows, columns=["unit_id", "sex", "age_lo", "ccr"])
        self.cwr_ = pd.DataFrame(cwr_rows, columns=["unit_id", "sex", "age_lo", "cwr"])
        self.base_ = df[df["year"] == df.groupby("unit_id")["year"].transform("max")]
        return self

    def predict(
        self,
        steps: int = 1,
        *,
        base: pd.DataFrame | None = None,
        ratio_units: Mapping[str, str] | None = None,
        child_ratios: str = "base",
    ) -> pd.DataFrame:
        """Project ``steps × interval`` years ahead.

        Parameters
        ----------
        steps : int
            Number of intervals; output holds every step.
        base : DataFrame, optional
            Launch populations (one year per unit); default the fitted units' last year.
        ratio_units : mapping, optional
            ``base unit → fitted unit`` whose ratios to use (default: same id).
        child_ratios : {"base", "fitted"}
            Child–woman ratios of the launch population itself (``base``, the standard
            Hamilton–Perry assumption of constant launch-year ratios) or of the fitted
            unit (``fitted``). Without ``base`` both are the same.

        Returns
        -------
        DataFrame
            ``unit_id, sex, age_lo, age_hi, origin, horizon, year, forecast``.
        """
        self._check_fitted()
        b = self.base_ if base is None else regroup(base, width=self.width, open_age=self.open_age)
        _check_grid(b, self.width, self.open_age)
        k = int(self.interval) // int(self.width)
        ccr = {
            (u, s): g.sort_values("age_lo")["ccr"].to_numpy()
            for (u, s), g in self.ccr_.groupby(["unit_id", "sex"])
        }
        cwr = {
            (u, s): g.sort_values("age_lo")["cwr"].to_numpy()
            for (u, s), g in self.cwr_.groupby(["unit_id", "sex"])
        }
        out = []
        for unit, g in b.groupby("unit_id", sort=True):
            src = ratio_units.get(unit, unit) if ratio_units is not None else unit
            origin = int(g["year"].max())
            g = g[g["year"] == origin]
            cur = {
                s: h.set_index("age_lo")["value"].reindex(self.edges_).to_numpy()
                for s, h in g.groupby("sex")
            }
            own = {s: self._child_ratios(cur, p, k) for s, p in cur.items()}
            use_own = base is not None and child_ratios == "base"
            for step in range(1, int(steps) + 1):
                nxt = {}
                for s, p in cur.items():
                    if (src, s) not in ccr:
                        raise ForecastError(
                            f"no Hamilton–Perry ratios for unit {src!r}, sex {s!r}; fit on data "
                            "that hold this unit and sex."
                        )
                    q = np.empty_like(p)
                    c = ccr[(src, s)]
                    q[k:-1] = p[: len(p) - 1 - k] * c[:-1]
                    q[-1] = p[-1 - k :].sum() * c[-1]
                    nxt[s] = q
                for s, q in nxt.items():
                    for j in range(k):
                        a = int(self.edges_[j])
                        w = self._women(
                            nxt, self.edges_, self.women_ages[0] + a, self.women_ages[1] + a
                        )
                        q[j] = (own[s][j] if use_own else cwr[(src, s)][j]) * w
                cur = nxt
                for s, q in cur.items():
                    out.append(
                        _frame(
                            unit,
                            s,
                            self.edges_,
                            q,
                            origin,
                            step * self.interval,
                            self.open_age,
                            self.width,
                        )
                    )
        return pd.concat(out, ignore_index=True)


def residual_migration(
    start: np.ndarray,
    end: np.ndarray,
    survival: np.ndarray,
    births_survived: float = 0.0,
) -> np.ndarray:
    """Net migrants of one step by the residual method: ``P(t+n) − survived P(t)``.

    Parameters
    ----------
    start, end : array
        Population by age group (width = step, last group open) at *t* and *t + n*.
    survival : array
        Survival ratios by group (``survival[i]`` moves group *i* to *i + 1*; the last
        element keeps the open group).
    births_survived : float
        Births of the step surviving to the first group at *t + n*.

    Returns
    -------
    array
        Net migrants by age group at *t + n* (positive = net in-migration).
    """
    expected = _survive(np.asarray(start, float), np.asarray(survival, float))
    expected[0] = births_survived
    return np.asarray(end, float) - expected


def _survive(p: np.ndarray, surv: np.ndarray) -> np.ndarray:
    q = np.zeros_like(p)
    q[1:] = p[:-1] * surv[:-1]
    q[-1] += p[-1] * surv[-1]
    return q


class CohortComponent(Forecaster):
    """Cohort-component projection by sex and age (分要素队列法).

    Each step of ``step`` years: survive every group into the next (life-table
    survival ratios), add births from age-specific fertility (scaled to a TFR × the
    scenario multiplier) surviving to the first group, and apply net migration by age.

    Parameters
    ----------
    step : int
        Projection step = age-group width (1 for single ages, 5 for five-year groups).
    open_age : int
        Start of the open age group.
    survival : DataFrame or None
        ``sex, age_lo, survival`` as returned by
        :func:`planner.forecast.schedules.survival_ratios` (row ``age_lo = -step`` =
        survival of births). None = the life tables of the latest Chinese census at or
        before the latest year of the data given to ``fit`` (2000 or 2010, see
        :func:`~planner.forecast.schedules.census_life_table`; refused before 2000).
    asfr : DataFrame or None
        ``age_lo, asfr`` fertility schedule (births per woman-year) on the same groups;
        None = :func:`~planner.forecast.schedules.default_asfr`.
    tfr : float, mapping year → TFR, "calibrate" or None
        A TFR the schedule is scaled to (a mapping: by year, the latest earlier year
        carried forward); ``"calibrate"``: per unit, the level that reproduces the
        children of the first group observed at the base year from the women of that
        year; None: the schedule as given, or, when ``asfr`` is None too, the UN WPP 2024
        China TFR **as known at the latest year of the data given to** ``fit`` (later
        estimates are cut, :func:`~planner.forecast.schedules.observed_tfr`; refused
        before 2000). A mapping given here is a scenario assumption and used as given.
    tfr_multiplier : float
        Scenario multiplier of fertility.
    srb : float
        Sex ratio at birth (boys per girl).
    migration : "residual", DataFrame or None
        ``"residual"``: net migration rates by sex and age from the two most recent
        observations ``k·step`` years apart (residual method, per step; the expected
        population uses the baseline fertility, never the scenario multiplier, and a
        group expected to be empty gets no migration); if a unit has a
        single observation its migration is zero. A DataFrame ``[unit_id,] sex, age_lo,
        value`` gives net migrants per step (counts). None = closed population.
    migration_multiplier : float
        Scenario multiplier of net migration (0 = no migration).
    """

    def __init__(
        self,
        *,
        step: int = 5,
        open_age: int = 85,
        survival: pd.DataFrame | None = None,
        asfr: pd.DataFrame | None = None,
        tfr: float | Mapping[int, float] | str | None = None,
        tfr_multiplier: float = 1.0,
        srb: float = CHINA_SRB_2010,
        migration: str | pd.DataFrame | None = "residual",
        migration_multiplier: float = 1.0,
    ) -> None:
        self.step = step
        self.open_age = open_age
        self.survival = survival
        self.asfr = asfr
        self.tfr = tfr
        self.tfr_multiplier = tfr_multiplier
        self.srb = srb
        self.migration = migration
        self.migration_multiplier = migration_multiplier

    # ---- schedules ---------------------------------------------------------------
    def _survival_arrays(self, sexes) -> dict[str, tuple[float, np.ndarray]]:
        tab = self.survival
        if tab is None:
            tab = survival_ratios(
                census_life_table(self.information_year_), width=self.step, open_age=self.open_age
            )
        if "sex" not in tab.columns:
            tab = pd.concat([tab.assign(sex=s) for s in sexes])
        out = {}
        for s in sexes:
            t = tab[tab["sex"] == s].set_index("age_lo")["survival"]
            if t.empty:
                raise ScheduleError(
                    f"survival table has no rows for sex {s!r}; add them (or rows of sex T)."
                )
            groups = t.reindex(self.edges_).to_numpy(dtype=float)
            if np.isnan(groups).any() or -self.step not in t.index:
                raise ScheduleError(
                    f"survival table must give age_lo {-self.step} (births) and {self.edges_.tolist()} for sex {s!r}."
                )
            out[s] = (float(t.loc[-self.step]), groups)
        return out

    def _asfr_shape(self) -> np.ndarray:
        tab = self.asfr if self.asfr is not None else default_asfr(1.0, width=self.step)
        return (
            tab.set_index("age_lo")["asfr"].reindex(self.edges_).fillna(0.0).to_numpy(dtype=float)
        )

    def _asfr_for(self, unit, year: int, scenario: bool = True) -> np.ndarray:
        shape = self.asfr_shape_
        total = shape.sum() * self.step
        if isinstance(self.tfr, str):
            level = self.calibrated_tfr_.get(unit, np.nan)
        elif isinstance(self.tfr, Mapping):
            level = tfr_for_year(year, self.tfr)
        elif self.tfr is None:
            level = total if self.asfr is not None else tfr_for_year(year, self.default_tfr_)
        else:
            level = float(self.tfr)
        return shape / total * level * (float(self.tfr_multiplier) if scenario else 1.0)

    @staticmethod
    def _women(arrs: Mapping[str, np.ndarray]) -> np.ndarray:
        return arrs["F"] if "F" in arrs else 0.5 * sum(arrs.values())

    def _births(self, women0: np.ndarray, women1: np.ndarray, asfr: np.ndarray) -> float:
        return float(self.step * np.sum(asfr * (women0 + women1) / 2.0))

    def _advance(self, cur, births: float | None, asfr, surv, factors=None):
        """One step; returns (new population by sex, births of the step)."""
        nxt = {s: _survive(p, surv[s][1]) for s, p in cur.items()}
        if births is None:
            births = self._births(self._women(cur), self._women(nxt), asfr)
        sexes = list(cur)
        shares = (
            {"M": self.srb / (1 + self.srb), "F": 1 / (1 + self.srb)}
            if sexes != ["T"]
            else {"T": 1.0}
        )
        for s in sexes:
            nxt[s][0] = births * shares.get(s, 0.5) * surv[s][0]
        if factors is not None:
            for s in sexes:
                f = factors.get(s)
                if f is not None:
                    nxt[s] = np.maximum(nxt[s] * f, 0.0)
        return nxt, births

    # ---- fit / predict -----------------------------------------------------------
    def fit(self, y: pd.DataFrame, X: pd.DataFrame | None = None) -> CohortComponent:
        """Take the base population (last year per unit) and estimate migration.

        Parameters
        ----------
        y : DataFrame
            Population ``unit_id, year, sex, age_lo, age_hi, value``.
        X : DataFrame, optional
            Observed births ``unit_id, year, value`` (used for the residual-migration
            step instead of modelled births when every year of a step is present).
        """
        df = regroup(y, width=self.step, open_age=self.open_age)
        self.edges_ = _check_grid(df, self.step, self.open_age)
        self.sexes_ = sorted(df["sex"].unique())
        # the latest information the model is given: default schedules are cut there
        known = [int(df["year"].max())]
        if X is not None and len(X):
            known.append(int(X["year"].max()))
        self.information_year_ = max(known)
        self.default_tfr_ = (
            observed_tfr(self.information_year_) if self.tfr is None and self.asfr is None else None
        )
        self.surv_ = self._survival_arrays(self.sexes_)
        self.asfr_shape_ = self._asfr_shape()
        self.births_obs_ = None if X is None else X.rename(columns={"births": "value"})
        arrays = {
            (u, yr): {
                s: h.set_index("age_lo")["value"].reindex(self.edges_).fillna(0.0).to_numpy()
                for s, h in g.groupby("sex")
            }
            for (u, yr), g in df.groupby(["unit_id", "year"])
        }
        years = df.groupby("unit_id")["year"].agg(lambda s: sorted(set(s)))
        self.base_ = {u: (ys[-1], arrays[(u, ys[-1])]) for u, ys in years.items()}
        self.calibrated_tfr_ = {}
        if isinstance(self.tfr, str):
            if self.tfr != "calibrate":
                raise ParameterError(
                    f"tfr must be a number, a mapping, 'calibrate' or None; got {self.tfr!r}."
                )
            for u, (_, cur) in self.base_.items():
                kids = sum(cur[s][0] for s in cur)
                # births of the last step that survived to the first group, from the women of the base year
                surv0 = np.mean([self.surv_[s][0] for s in cur])
                unit_b = kids / surv0 if surv0 > 0 else 0.0
                w = self._women(cur)
                per_tfr = self.step * np.sum(
                    self.asfr_shape_ / (self.asfr_shape_.sum() * self.step) * w
                )
                self.calibrated_tfr_[u] = unit_b / per_tfr if per_tfr > 0 else 0.0
        self.migration_factors_ = {}
        self.net_migration_ = {}
        if isinstance(self.migration, str):
            if self.migration != "residual":
                raise ParameterError(
                    f"migration must be 'residual', a DataFrame or None; got {self.migration!r}."
                )
            for u, ys in years.items():
                if len(ys) < 2:
                    continue
                t1 = ys[-1]
                t0 = max((t for t in ys[:-1] if (t1 - t) % self.step == 0), default=None)
                if t0 is None:
                    continue
                k = (t1 - t0) // self.step
                cur = arrays[(u, t0)]
                year = t0
                for _ in range(k):
                    cur, _b = self._advance(
                        cur,
                        self._observed_births(u, year),
                        self._asfr_for(u, year, scenario=False),
                        self.surv_,
                    )
                    year += self.step
                obs = arrays[(u, t1)]
                self.net_migration_[u] = {s: obs[s] - cur[s] for s in obs}
                with np.errstate(divide="ignore", invalid="ignore"):
                    self.migration_factors_[u] = {
                        s: np.where(
                            cur[s] > 1e-9, (obs[s] / np.maximum(cur[s], 1e-9)) ** (1.0 / k), 1.0
                        )
                        for s in obs
                    }
        self.origin_ = int(df["year"].max())
        return self

    def _observed_births(self, unit, year: int) -> float | None:
        b = self.births_obs_
        if b is None:
            return None
        lookup = getattr(self, "_births_lookup", None)
        if lookup is None or lookup[0] is not b:
            g = b.dropna(subset=["value"]).groupby(["unit_id", "year"])["value"].sum()
            lookup = (b, g.to_dict())
            self._births_lookup = lookup
        vals = [lookup[1].get((unit, y)) for y in range(year, year + self.step)]
        if any(v is None for v in vals):
            return None
        return float(sum(vals))

    def _factors(self, unit) -> dict[str, np.ndarray] | None:
        m = float(self.migration_multiplier)
        if isinstance(self.migration, pd.DataFrame):
            return None
        f = self.migration_factors_.get(unit)
        if f is None:
            return None
        return {s: np.maximum(1.0 + m * (v - 1.0), 0.0) for s, v in f.items()}

    def project(
        self, steps: int = 1, births: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Population and births for ``steps`` steps.

        Parameters
        ----------
        steps : int
            Number of steps of ``step`` years.
        births : DataFrame, optional
            Given births ``unit_id, year, value``; a step whose years are all present
            uses their sum instead of modelled births.

        Returns
        -------
        (DataFrame, DataFrame)
            Population ``unit_id, sex, age_lo, age_hi, origin, horizon, year, forecast``
            and births ``unit_id, origin, horizon, year, births`` (``year`` = first year
            of the step, ``horizon`` = years from the origin to the end of the step).
        """
        self._check_fitted()
        saved = self.births_obs_
        out, bout = [], []
        try:
            if births is not None:
                self.births_obs_ = births.rename(columns={"births": "value"})
            counts = self.migration if isinstance(self.migration, pd.DataFrame) else None
            for unit, (origin, cur) in sorted(self.base_.items()):
                fac = self._factors(unit)
                year = origin
                for i in range(1, int(steps) + 1):
                    given = self._observed_births(unit, year) if births is not None else None
                    cur, b = self._advance(cur, given, self._asfr_for(unit, year), self.surv_, fac)
                    if counts is not None:
                        cur = self._add_counts(unit, cur, counts)
                    bout.append((unit, origin, i * self.step, year, b))
                    year += self.step
                    for s, q in cur.items():
                        out.append((unit, s, origin, i * self.step, q.copy()))
        finally:
            self.births_obs_ = saved
        pop = _frames(out, self.edges_, self.open_age, self.step)
        return pop, pd.DataFrame(bout, columns=["unit_id", "origin", "horizon", "year", "births"])

    def _add_counts(self, unit, cur, counts: pd.DataFrame):
        m = float(self.migration_multiplier)
        c = counts if "unit_id" not in counts.columns else counts[counts["unit_id"] == unit]
        out = {}
        for s, p in cur.items():
            v = (
                c[c["sex"] == s]
                .set_index("age_lo")["value"]
                .reindex(self.edges_)
                .fillna(0.0)
                .to_numpy()
            )
            out[s] = np.maximum(p + m * v, 0.0)
        return out

    def predict(self, steps: int = 1, births: pd.DataFrame | None = None) -> pd.DataFrame:
        """Projected population (see :meth:`project`)."""
        return self.project(steps, births)[0]
