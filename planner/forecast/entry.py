"""School-entry and grade-progression forecasters (入学与升级预测).

* :class:`BirthToEntry` — grade-1 intake of year *t* = births(*t − lag*) × entry ratio.
* :class:`StockFlow` — a stage total from its last intakes (存量—流量法): pupils of
  year *t* = retention ratio × the intakes of the last ``duration`` years, intakes after
  the last observed one from births × the entry ratio; for yearbooks that give only
  new entrants (招生数) and pupils (在校生数), not grades.
* :class:`GradeProgression` — the cohort-progression (grade progression ratio, GPR)
  method used by school planners: pupils of grade *g* in year *t* become grade *g + 1*
  in year *t + 1* at the (recently observed) GPR; grade 1 comes from births, grade 7
  (junior secondary intake, 初一) from grade-6 pupils × the primary→junior transition
  ratio. Refs: Shryock & Siegel, *The Methods and Materials of Demography* (1976),
  ch. 23 (school enrolment projections); Grip (2009) on cohort-survival projections.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.errors import DataError, ParameterError
from planner.forecast._base import Forecaster, as_long, horizons_list, weighted_recent
from planner.forecast.baselines import ConstantRatio, lagged_driver

__all__ = ["BirthToEntry", "GradeProgression", "StockFlow"]


class BirthToEntry(ConstantRatio):
    """Grade-1 intake = births(*t − lag*) × entry ratio (出生—入学比).

    Parameters
    ----------
    lag : int
        Years between birth and school entry (6 in China: a child entering in
        September of *t* was born between September *t − 7* and August *t − 6*).
    next_lag_share : float
        Share of the driver taken from births ``lag + 1`` years earlier (0 = births
        of *t − lag* only; 0.5 = mean of *t − lag* and *t − lag − 1*).
    n_years : int or None
        Number of recent entry ratios averaged (1 = last observed; None = all).
    decay : float
        Geometric weight of older ratios (1 = equal weights).
    """

    def __init__(
        self,
        *,
        lag: int = 6,
        next_lag_share: float = 0.0,
        n_years: int | None = 3,
        decay: float = 1.0,
    ) -> None:
        self.lag = lag
        self.next_lag_share = next_lag_share
        self.n_years = n_years
        self.decay = decay

    @property
    def lags(self) -> dict[int, float]:  # ConstantRatio reads self.lags
        """Driver lags derived from ``lag`` and ``next_lag_share``."""
        s = float(self.next_lag_share)
        if not 0.0 <= s <= 1.0:
            raise ParameterError(f"next_lag_share must lie in [0, 1], got {s}.")
        out = {int(self.lag): 1.0 - s}
        if s > 0:
            out[int(self.lag) + 1] = s
        return out


class StockFlow(Forecaster):
    """Stage total from the last intakes (存量—流量法, 在校生 = 留存比 × 近年招生之和).

    ``y(t) = R · Σ_{j=0}^{d−1} E(t − j)`` with *E* the intake (new entrants, 招生数) and
    *d* = ``duration`` (6 for primary). *R* (retention ratio: repeaters, drop-outs,
    transfers in and out) is the mean of the last ``n_years`` observed ratios. Intakes
    after the last observed one are births × the entry ratio
    (:class:`BirthToEntry` with ``lag``, ``next_lag_share``, ``entry_years``), so a
    forecast *h* years ahead (*h* < *d*) still counts *d − h* observed intakes.

    Parameters
    ----------
    duration : int
        Years of the stage (6 primary, 3 junior).
    n_years : int
        Recent retention ratios averaged (1 = the last one).
    lag, next_lag_share : int, float
        Birth-to-entry lag and the share of births of ``lag + 1`` years earlier.
    entry_years : int
        Recent entry ratios averaged.

    Notes
    -----
    ``fit(y, X, intake=E)``: ``y`` the stage totals, ``X`` the births, ``intake`` the
    new entrants (all ``unit_id, year, value``). Fitted attributes: ``retention_``
    (``unit_id, retention``), ``entry_`` (the fitted :class:`BirthToEntry`),
    ``intake_``, ``origin_``.
    """

    def __init__(
        self,
        *,
        duration: int = 6,
        n_years: int = 1,
        lag: int = 6,
        next_lag_share: float = 1 / 3,
        entry_years: int = 1,
    ) -> None:
        self.duration = duration
        self.n_years = n_years
        self.lag = lag
        self.next_lag_share = next_lag_share
        self.entry_years = entry_years

    def fit(
        self, y: pd.DataFrame, X: pd.DataFrame | None = None, *, intake: pd.DataFrame | None = None
    ) -> StockFlow:
        """Estimate the entry and retention ratios from totals, births and intakes."""
        if X is None or intake is None:
            raise DataError(
                "StockFlow.fit needs the births X and the intake (new entrants), "
                "each unit_id, year, value."
            )
        yl = as_long(y, name="y")
        e = as_long(intake, name="intake")
        e = e.loc[e["year"] <= int(yl["year"].max())]
        self.entry_ = BirthToEntry(
            lag=self.lag, next_lag_share=self.next_lag_share, n_years=self.entry_years
        ).fit(e, X)
        self.intake_ = e
        stock = self._stock(e)
        tot = yl.pivot(index="year", columns="unit_id", values="value")
        ratio = (tot / stock.reindex(index=tot.index, columns=tot.columns)).where(lambda r: r > 0)
        # the mean of each unit's last n observed ratios
        recent = ratio.apply(lambda c: c.dropna().tail(int(self.n_years)).mean())
        self.retention_ = pd.DataFrame(
            {"unit_id": recent.index, "retention": recent.to_numpy(dtype=float)}
        )
        self.origin_ = int(yl["year"].max())
        return self

    def _stock(self, intake: pd.DataFrame) -> pd.DataFrame:
        wide = intake.pivot(index="year", columns="unit_id", values="value").sort_index()
        wide = wide.reindex(range(int(wide.index.min()), int(wide.index.max()) + 1))
        return wide.rolling(int(self.duration), min_periods=int(self.duration)).sum()

    def predict(
        self, horizons: int | Iterable[int] = 1, X: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """``unit_id, origin, horizon, year, forecast``.

        Intakes not observed — after the last observed year, or missing years in
        between — are births × the unit's entry ratio (NaN where the births are unknown).
        ``X``: projected births after the fit data (they override fitted years).
        """
        self._check_fitted()
        hs = horizons_list(horizons)
        first = int(self.intake_["year"].min())
        years = range(first, self.origin_ + max(hs) + 1)
        drivers = self.entry_.X_
        if X is not None:
            extra = as_long(X, name="X")
            drivers = pd.concat([drivers, extra]).drop_duplicates(["unit_id", "year"], keep="last")
        drv = lagged_driver(drivers, self.entry_.lag_weights_, years=years)
        est = drv.merge(self.entry_.ratio_[["unit_id", "ratio"]], on="unit_id", how="inner")
        est = est.assign(value=est["driver"] * est["ratio"])
        wide_est = est.pivot(index="year", columns="unit_id", values="value")
        wide_obs = self.intake_.pivot(index="year", columns="unit_id", values="value")
        cols = wide_obs.columns.union(wide_est.columns)
        filled = wide_obs.reindex(index=years, columns=cols)
        filled = filled.fillna(wide_est.reindex(index=years, columns=cols))
        stock = filled.rolling(int(self.duration), min_periods=int(self.duration)).sum()
        target = [self.origin_ + h for h in hs]
        st = stock.reindex(target).rename_axis(index="year", columns="unit_id")
        out = st.stack(future_stack=True).rename("stock").reset_index()
        out = out.merge(self.retention_, on="unit_id", how="inner")
        out["forecast"] = out["stock"] * out["retention"]
        out.insert(1, "origin", self.origin_)
        out.insert(2, "horizon", out["year"] - self.origin_)
        cols = ["unit_id", "origin", "horizon", "year", "forecast"]
        return out[cols].sort_values(["unit_id", "horizon"], ignore_index=True)


class GradeProgression(Forecaster):
    """Enrolment by grade per unit with grade progression ratios (年级递进法).

    Parameters
    ----------
    n_years : int or None
        Number of recent GPR observations averaged per unit and grade.
    decay : float
        Geometric weight of older GPRs (1 = equal weights, small = last value).
    entry_lag, entry_next_lag_share, entry_n_years, entry_decay
        Passed to :class:`BirthToEntry` for grade 1 when births are given to ``fit``.
        Without births the grade-1 intake is the weighted mean of the last
        ``entry_n_years`` intakes.
    first_grade : int
        The entry grade fed by births (1).
    transition_grade : int or None
        The first grade of the next stage (7 = 初一); its intake is the previous grade
        × the observed transition ratio (exposed as ``transition_ratio_``).

    Notes
    -----
    ``fit(y, X)``: ``y`` is ``unit_id, year, grade, value`` (pupils), ``X`` optional
    births ``unit_id, year, value``. ``predict(h)`` returns enrolment by unit and grade
    for horizons 1..h. Grade 1 beyond ``entry_lag`` years needs projected births
    (``predict(h, X=...)``); otherwise those cells are NaN.
    """

    def __init__(
        self,
        *,
        n_years: int | None = 3,
        decay: float = 1.0,
        entry_lag: int = 6,
        entry_next_lag_share: float = 0.0,
        entry_n_years: int | None = 3,
        entry_decay: float = 1.0,
        first_grade: int = 1,
        transition_grade: int | None = 7,
    ) -> None:
        self.n_years = n_years
        self.decay = decay
        self.entry_lag = entry_lag
        self.entry_next_lag_share = entry_next_lag_share
        self.entry_n_years = entry_n_years
        self.entry_decay = entry_decay
        self.first_grade = first_grade
        self.transition_grade = transition_grade

    def fit(self, y: pd.DataFrame, X: pd.DataFrame | None = None) -> GradeProgression:
        """Estimate GPRs per unit and grade, and the entry model.

        Parameters
        ----------
        y : DataFrame
            ``unit_id, year, grade, value`` — pupils by grade.
        X : DataFrame, optional
            Births ``unit_id, year, value``.
        """
        df = as_long(y, keys=["grade"], name="enrolment")
        df["grade"] = df["grade"].astype("int64")
        self.grades_ = sorted(df["grade"].unique().tolist())
        if self.first_grade not in self.grades_:
            raise DataError(
                f"enrolment has no entry grade {self.first_grade}; grades are {self.grades_}. "
                "Set first_grade to the entry grade of the data."
            )
        wide = df.pivot_table(
            index=["unit_id", "year"], columns="grade", values="value", aggfunc="sum"
        )
        span = df.groupby("unit_id")["year"].agg(["min", "max"])
        full = pd.MultiIndex.from_tuples(
            [(u, y) for u, r in span.iterrows() for y in range(int(r["min"]), int(r["max"]) + 1)],
            names=["unit_id", "year"],
        )
        wide = wide.reindex(full)
        prev = wide.groupby(level="unit_id").shift(1)
        parts = []
        for grade in self.grades_[:-1]:
            if grade + 1 not in wide.columns:
                continue
            r = wide[grade + 1] / prev[grade].where(prev[grade] > 0)
            parts.append(r.rename("ratio").reset_index().assign(grade=grade))
        self.ratios_ = pd.concat(parts, ignore_index=True) if parts else None
        self.gpr_ = _recent_ratios(parts, self.n_years, self.decay)
        self._transition()
        entry = df[df["grade"] == self.first_grade][["unit_id", "year", "value"]]
        self.entry_series_ = entry
        if X is not None:
            self.entry_model_ = BirthToEntry(
                lag=self.entry_lag,
                next_lag_share=self.entry_next_lag_share,
                n_years=self.entry_n_years,
                decay=self.entry_decay,
            ).fit(entry, X)
        else:
            self.entry_model_ = None
            self.entry_level_ = self._entry_levels(self.entry_n_years)
        self.last_ = df[df["year"] == df.groupby("unit_id")["year"].transform("max")]
        self.origin_ = int(df["year"].max())
        return self

    def _transition(self) -> None:
        if self.transition_grade is not None:
            tr = self.gpr_[self.gpr_["grade"] == self.transition_grade - 1]
            self.transition_ratio_ = tr.rename(columns={"gpr": "ratio"})[
                ["unit_id", "ratio"]
            ].reset_index(drop=True)

    def _entry_levels(self, n_years: int | None) -> dict:
        return {
            u: weighted_recent(g["value"].to_numpy(), n_years, self.entry_decay)
            for u, g in self.entry_series_.groupby("unit_id", sort=True)
        }

    def with_window(self, n_years: int | None, entry_n_years: int | None) -> GradeProgression:
        """The same fit with the ratios averaged over other windows.

        The same as ``clone(self).set_params(n_years=…, entry_n_years=…).fit(y, X)`` on
        the same data (the ratio histories are kept), without refitting.
        """
        self._check_fitted()
        out = copy.copy(self)
        out.n_years, out.entry_n_years = n_years, entry_n_years
        parts = [] if self.ratios_ is None else [self.ratios_]
        out.gpr_ = _recent_ratios(parts, n_years, self.decay)
        out._transition()
        if self.entry_model_ is not None:
            out.entry_model_ = self.entry_model_.with_window(entry_n_years)
        else:
            out.entry_level_ = out._entry_levels(entry_n_years)
        return out

    def predict(
        self, horizons: int | Iterable[int] = 1, X: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Enrolment ``unit_id, grade, origin, horizon, year, forecast`` for the horizons.

        Parameters
        ----------
        horizons : int or iterable of int
            ``h`` → 1..h.
        X : DataFrame, optional
            Projected births for years after the fit data (for grade 1 beyond the lag).
        """
        self._check_fitted()
        hs = horizons_list(horizons)
        hmax = max(hs)
        if self.entry_model_ is not None:
            ent = self.entry_model_.predict(range(1, hmax + 1), X=X)
            entry = {
                (u, int(yr)): f
                for u, yr, f in ent[["unit_id", "year", "forecast"]].itertuples(index=False)
            }
        else:
            entry = {}
        gpr = {(u, int(g)): r for u, g, r in self.gpr_.itertuples(index=False)}
        out = []
        for unit, g in self.last_.groupby("unit_id", sort=True):
            state = dict(zip(g["grade"].astype(int), g["value"].astype(float), strict=True))
            year = int(g["year"].iloc[0])
            while year < self.origin_ + hmax:
                year += 1
                new = {}
                for grade in self.grades_:
                    if grade == self.first_grade:
                        if self.entry_model_ is not None:
                            new[grade] = entry.get((unit, year), np.nan)
                        else:
                            new[grade] = self.entry_level_.get(unit, np.nan)
                    else:
                        new[grade] = state.get(grade - 1, np.nan) * gpr.get(
                            (unit, grade - 1), np.nan
                        )
                state = new
                h = year - self.origin_
                if h in hs:
                    out.extend((unit, gr, self.origin_, h, year, v) for gr, v in state.items())
        return pd.DataFrame(
            out, columns=["unit_id", "grade", "origin", "horizon", "year", "forecast"]
        )


def _recent_ratios(parts: list[pd.DataFrame], n_years: int | None, decay: float) -> pd.DataFrame:
    """``unit_id, grade, gpr``: weighted mean of the last ``n_years`` finite ratios.

    The vectorised form of :func:`~planner.forecast._base.weighted_recent` per unit and
    grade (weight ``decay**age``, age 0 = the latest ratio); NaN without any ratio.
    """
    if not parts:
        return pd.DataFrame(columns=["unit_id", "grade", "gpr"])
    r = pd.concat(parts, ignore_index=True)
    keys = r[["unit_id", "grade"]].drop_duplicates()
    ok = r.loc[np.isfinite(r["ratio"])].sort_values(["unit_id", "grade", "year"])
    age = ok.groupby(["unit_id", "grade"]).cumcount(ascending=False)
    if n_years is not None:
        ok, age = ok.loc[age < int(n_years)], age.loc[age < int(n_years)]
    w = float(decay) ** age.to_numpy(dtype=float)
    ok = ok.assign(w=w, wr=w * ok["ratio"].to_numpy())
    g = ok.groupby(["unit_id", "grade"], as_index=False)[["w", "wr"]].sum()
    g["gpr"] = g["wr"] / g["w"]
    out = keys.merge(g[["unit_id", "grade", "gpr"]], on=["unit_id", "grade"], how="left")
    return out.sort_values(["unit_id", "grade"], ignore_index=True)
