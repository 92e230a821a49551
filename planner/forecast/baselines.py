"""Baseline forecasters (基准方法): last value, linear trend, constant ratio.

All three work per series (``unit_id`` plus any extra key columns such as ``grade``)
on long tables ``unit_id, year, value`` and follow the scikit-learn estimator
contract: keyword-only parameters stored unchanged, ``fit`` returns ``self``,
fitted attributes end in ``_``, ``predict`` before ``fit`` raises
:class:`planner.errors.NotFittedError`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from planner.errors import DataError, ParameterError
from planner.forecast._base import (
    Forecaster,
    as_long,
    extra_keys,
    horizons_list,
)

__all__ = ["ConstantRatio", "Ensemble", "LastValue", "LinearTrend", "lag_weights", "lagged_driver"]


def _expand(series: pd.DataFrame, keys: list[str], origin: int, hs: list[int]) -> pd.DataFrame:
    """One row per series and horizon: ``unit_id, *keys, origin, horizon, year``.

    The origin is common to all series (the last year of the fit data), so a
    series that stopped earlier is still forecast for ``origin + h``.
    """
    rows = (
        series[["unit_id", *keys]]
        .drop_duplicates()
        .merge(pd.DataFrame({"horizon": hs}), how="cross")
    )
    rows.insert(len(keys) + 1, "origin", int(origin))
    rows["year"] = rows["origin"] + rows["horizon"]
    return rows


class LastValue(Forecaster):
    """Carry the last observed value forward (末值外推).

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([10.0, 12.0], index=[2020, 2021])
    >>> LastValue().fit(y).predict(2)["forecast"].tolist()
    [12.0, 12.0]
    """

    def __init__(self) -> None:
        pass

    def fit(self, y: pd.DataFrame | pd.Series, X: pd.DataFrame | None = None) -> LastValue:
        """Remember the last value of every series.

        Parameters
        ----------
        y : DataFrame or Series
            ``unit_id, year, [keys…], value`` (or a Series indexed by year).
        X : ignored
            Accepted for a uniform interface.
        """
        df = as_long(y, keys=extra_keys(y))
        self.keys_ = extra_keys(df)
        last = df.groupby(["unit_id", *self.keys_], sort=True).tail(1)
        self.last_ = last.rename(columns={"year": "last_year"}).reset_index(drop=True)
        self.origin_ = int(df["year"].max())
        return self

    def predict(self, horizons: int | Iterable[int] = 1) -> pd.DataFrame:
        """Forecast ``unit_id, [keys…], origin, horizon, year, forecast``."""
        self._check_fitted()
        out = _expand(self.last_, self.keys_, self.origin_, horizons_list(horizons))
        out = out.merge(self.last_[["unit_id", *self.keys_, "value"]], on=["unit_id", *self.keys_])
        return out.rename(columns={"value": "forecast"})


class LinearTrend(Forecaster):
    """Least-squares straight line through the last ``window`` years (线性趋势外推).

    Parameters
    ----------
    window : int
        Number of most recent observed years used (≥ 2).
    floor : float or None
        Lower bound of the forecast (``0`` keeps counts non-negative); None = none.
    """

    def __init__(self, *, window: int = 5, floor: float | None = 0.0) -> None:
        self.window = window
        self.floor = floor

    def fit(self, y: pd.DataFrame | pd.Series, X: pd.DataFrame | None = None) -> LinearTrend:
        """Fit one line per series on its last ``window`` observations."""
        if int(self.window) < 2:
            raise ParameterError(
                f"LinearTrend(window={self.window}) needs a window of at least 2 years."
            )
        df = as_long(y, keys=extra_keys(y))
        self.keys_ = extra_keys(df)
        rows = []
        for key, g in df.groupby(["unit_id", *self.keys_], sort=True):
            g = g.tail(int(self.window))
            t = g["year"].to_numpy(dtype=float)
            v = g["value"].to_numpy(dtype=float)
            if len(g) >= 2:
                slope, intercept = np.polyfit(t - t[-1], v, 1)
            else:
                slope, intercept = 0.0, v[-1]
            rows.append((*key, int(t[-1]), float(intercept), float(slope)))
        self.coef_ = pd.DataFrame(
            rows, columns=["unit_id", *self.keys_, "last_year", "level", "slope"]
        )
        self.origin_ = int(df["year"].max())
        return self

    def predict(self, horizons: int | Iterable[int] = 1) -> pd.DataFrame:
        """Forecast ``level + slope × (year − last year)`` per series."""
        self._check_fitted()
        out = _expand(self.coef_, self.keys_, self.origin_, horizons_list(horizons))
        out = out.merge(self.coef_, on=["unit_id", *self.keys_])
        f = out["level"] + out["slope"] * (out["year"] - out["last_year"])
        if self.floor is not None:
            f = f.clip(lower=self.floor)
        out["forecast"] = f
        return out.drop(columns=["level", "slope", "last_year"])


def lag_weights(lags: int | Iterable[int] | Mapping[int, float]) -> dict[int, float]:
    """Normalise a lag specification to ``{lag: weight}``.

    ``6`` → ``{6: 1}``; ``[6, 7]`` → ``{6: 1, 7: 1}`` (a sum of cohorts);
    ``{6: 0.5, 7: 0.5}`` is returned as is.
    """
    if isinstance(lags, Mapping):
        return {int(k): float(v) for k, v in lags.items()}
    if np.isscalar(lags):
        return {int(lags): 1.0}
    return {int(k): 1.0 for k in lags}


def lagged_driver(
    X: pd.DataFrame, lags: Mapping[int, float], years: Iterable[int] | None = None
) -> pd.DataFrame:
    """Composite driver ``D(t) = Σ_l w_l · X(t − l)`` per unit.

    Parameters
    ----------
    X : DataFrame
        ``unit_id, year, value``.
    lags : mapping
        ``{lag: weight}``.
    years : iterable of int, optional
        Target years; default every year for which all lagged values exist.

    Returns
    -------
    DataFrame
        ``unit_id, year, driver`` (NaN when a lagged value is missing).
    """
    wide = X.groupby(["year", "unit_id"])["value"].sum().unstack("unit_id")
    if years is None:
        lo, hi = int(wide.index.min()), int(wide.index.max())
        years = range(lo + max(lags), hi + min(lags) + 1)
    years = list(years)
    total = pd.DataFrame(0.0, index=years, columns=wide.columns)
    for lag, w in lags.items():
        shifted = wide.reindex([y - lag for y in years])
        shifted.index = years
        total = total + w * shifted  # NaN propagates: a missing cohort makes D(t) unknown
    long = total.rename_axis(index="year", columns="unit_id").stack(future_stack=True)
    return long.rename("driver").reset_index()[["unit_id", "year", "driver"]]


def _recent(df: pd.DataFrame, keys: list[str], n_years: int | None, decay: float) -> pd.DataFrame:
    """``*keys, last_year, ratio``: per series the weighted mean of its last finite ratios.

    The vectorised :func:`~planner.forecast._base.weighted_recent` (weight
    ``decay**age``, age 0 = the latest finite ratio; NaN without any), with the last
    year of the series.
    """
    d = df.sort_values([*keys, "year"], kind="stable")
    last = d.groupby(keys, sort=True)["year"].max().rename("last_year")
    ok = d.loc[np.isfinite(d["ratio"].to_numpy(dtype=float))]
    age = ok.groupby(keys, sort=True).cumcount(ascending=False)
    if n_years is not None:
        keep = (age < int(n_years)).to_numpy()
        ok, age = ok.loc[keep], age.loc[keep]
    w = float(decay) ** age.to_numpy(dtype=float)
    ok = ok.assign(_w=w, _wr=w * ok["ratio"].to_numpy(dtype=float))
    g = ok.groupby(keys, sort=True)[["_w", "_wr"]].sum()
    ratio = (g["_wr"] / g["_w"]).rename("ratio")
    out = pd.concat([last, ratio], axis=1).reset_index()
    out["last_year"] = out["last_year"].astype("int64")
    return out[[*keys, "last_year", "ratio"]]


class ConstantRatio(Forecaster):
    """Target = ratio × driver (比例法), e.g. grade-1 intake / births six years earlier.

    The driver of year *t* is ``Σ_l w_l · X(t − l)`` over ``lags``; the ratio is the
    (weighted) mean of the last ``n_years`` observed ratios, weight ``decay**age``.

    Parameters
    ----------
    lags : int, sequence of int or mapping
        Driver lags: ``6`` (births six years earlier), ``range(6, 12)`` (the sum of
        six cohorts) or ``{6: 0.5, 7: 0.5}`` (a school year straddling two birth years).
    n_years : int or None
        How many recent ratios to average (1 = last observed ratio; None = all).
    decay : float
        Geometric weight of older ratios (1 = equal weights).
    """

    def __init__(
        self,
        *,
        lags: int | Iterable[int] | Mapping[int, float] = 0,
        n_years: int | None = 1,
        decay: float = 1.0,
    ) -> None:
        self.lags = lags
        self.n_years = n_years
        self.decay = decay

    def fit(
        self, y: pd.DataFrame | pd.Series, X: pd.DataFrame | pd.Series | None = None
    ) -> ConstantRatio:
        """Estimate the ratio of every series from ``y`` and the driver ``X``.

        Parameters
        ----------
        y : DataFrame or Series
            Target ``unit_id, year, [keys…], value``.
        X : DataFrame or Series
            Driver ``unit_id, year, value`` (same units), observed up to the origin.
        """
        if X is None:
            raise DataError(f"{type(self).__name__}.fit needs a driver X (unit_id, year, value).")
        df = as_long(y, keys=extra_keys(y))
        self.keys_ = extra_keys(df)
        self.X_ = as_long(X, name="X")
        self.lag_weights_ = lag_weights(self.lags)
        drv = lagged_driver(self.X_, self.lag_weights_, years=sorted(df["year"].unique()))
        df = df.merge(drv, on=["unit_id", "year"], how="left")
        df["ratio"] = df["value"] / df["driver"].where(df["driver"] > 0)
        self.ratio_ = _recent(df, ["unit_id", *self.keys_], self.n_years, self.decay)
        self.history_ = df
        self.origin_ = int(df["year"].max())
        self._drivers = {}  # lagged drivers by (projected births, years), shared by with_window
        return self

    def with_window(self, n_years: int | None) -> ConstantRatio:
        """The same fit with the ratios averaged over ``n_years`` instead.

        The same as ``clone(self).set_params(n_years=n_years).fit(y, X)`` on the same data
        (the ratio history is kept), without recomputing the drivers.
        """
        self._check_fitted()
        out = copy.copy(self)
        out.n_years = n_years
        out.ratio_ = _recent(self.history_, ["unit_id", *self.keys_], n_years, self.decay)
        return out

    def _driver(self, X: pd.DataFrame | None, years: list[int]) -> pd.DataFrame:
        key = (id(X), tuple(years))
        hit = self._drivers.get(key)
        if hit is not None:
            return hit[1]
        drivers = self.X_
        if X is not None:
            extra = as_long(X, name="X")
            drivers = pd.concat([drivers, extra]).drop_duplicates(["unit_id", "year"], keep="last")
        drv = lagged_driver(drivers, self.lag_weights_, years=years)
        self._drivers[key] = (X, drv)  # keep X alive: its id is part of the key
        return drv

    def predict(
        self, horizons: int | Iterable[int] = 1, X: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Forecast ``ratio × driver``; NaN where the driver is not known.

        Parameters
        ----------
        horizons : int or iterable of int
            ``h`` → 1..h, or an explicit list.
        X : DataFrame, optional
            Extra driver values (e.g. projected births) for years after the fit data;
            they override fitted values of the same unit and year.
        """
        self._check_fitted()
        out = _expand(self.ratio_, self.keys_, self.origin_, horizons_list(horizons))
        drv = self._driver(X, sorted(int(y) for y in out["year"].unique()))
        out = out.merge(self.ratio_.drop(columns="last_year"), on=["unit_id", *self.keys_]).merge(
            drv, on=["unit_id", "year"], how="left"
        )
        out["forecast"] = out["ratio"] * out["driver"]
        return out.drop(columns=["ratio", "driver"])


class Ensemble(Forecaster):
    """Weighted mean of several forecasters (组合预测).

    Parameters
    ----------
    members : sequence of forecasters
        Unfitted forecasters (cloned at ``fit``); members that need a driver get ``X``.
    weights : sequence of float or None
        Member weights (normalised); None = equal.
    """

    def __init__(
        self, *, members: Iterable[Forecaster] = (), weights: Iterable[float] | None = None
    ) -> None:
        self.members = members
        self.weights = weights

    def fit(self, y: pd.DataFrame | pd.Series, X: pd.DataFrame | None = None) -> Ensemble:
        """Fit a clone of every member on the same data."""
        from sklearn.base import clone

        members = list(self.members)
        if not members:
            raise ParameterError("Ensemble needs at least one member.")
        self.members_ = [clone(m).fit(y, X) for m in members]
        w = (
            np.ones(len(members))
            if self.weights is None
            else np.asarray(list(self.weights), dtype=float)
        )
        if len(w) != len(members) or (w < 0).any() or w.sum() <= 0:
            raise ParameterError(
                "Ensemble weights must be non-negative, one per member, not all zero."
            )
        self.weights_ = w / w.sum()
        self.origin_ = max(int(m.origin_) for m in self.members_)
        return self

    def predict(self, horizons: int | Iterable[int] = 1) -> pd.DataFrame:
        """Weighted mean of the members' forecasts (rows every member forecasts)."""
        self._check_fitted()
        hs = horizons_list(horizons)
        parts = []
        for i, m in enumerate(self.members_):
            gap = self.origin_ - int(m.origin_)
            p = m.predict([h + gap for h in hs])
            p = p.assign(
                origin=self.origin_,
                horizon=p["year"] - self.origin_,
                forecast=p["forecast"] * self.weights_[i],
            )
            parts.append(p.assign(_member=i))
        allp = pd.concat(parts, ignore_index=True)
        keys = [c for c in allp.columns if c not in ("forecast", "_member")]
        g = allp.groupby(keys, as_index=False, sort=True)
        out = g.agg(
            forecast=("forecast", lambda s: s.sum(min_count=len(self.members_))),
            n=("_member", "nunique"),
        )
        out = out[out["n"] == len(self.members_)].drop(columns="n")
        return out.reset_index(drop=True)
