"""Time-series forecasters for totals, births or ratios (时间序列模型).

* :class:`StatsForecaster` — statsmodels ETS / ARIMA, one maximum-likelihood fit per
  series (slow: tens of milliseconds per series);
* :class:`DampedTrend` — damped-trend exponential smoothing ETS(A,Ad,N) with the
  smoothing parameters chosen per series on a small grid, vectorised over all series
  and grid points (the pipeline's ``ets`` method: fast enough for rolling-origin
  backtests of every unit).

Each series (``unit_id`` plus extra key columns) is modelled on its own; short or
degenerate series fall back to the last value (recorded in ``fallback_``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.errors import ParameterError
from planner.forecast._base import Forecaster, as_long, extra_keys, horizons_list

__all__ = ["DampedTrend", "StatsForecaster"]


class StatsForecaster(Forecaster):
    """Exponential smoothing (Holt, optionally damped) or ARIMA per series.

    Parameters
    ----------
    model : {"ets", "arima"}
        ``ets``: :class:`statsmodels.tsa.holtwinters.ExponentialSmoothing` with an
        additive trend; ``arima``: :class:`statsmodels.tsa.arima.model.ARIMA`.
    damped_trend : bool
        Damped trend (ETS only) — usually more accurate beyond two or three years.
    trend : bool
        ETS: include a trend; ARIMA: include a drift term when ``d = 1``.
    order : (int, int, int)
        ARIMA order.
    log : bool
        Model the logarithm (keeps forecasts positive, errors relative).
    min_obs : int
        Series shorter than this use the last value.
    window : int or None
        Use only the last ``window`` observations.
    """

    def __init__(
        self,
        *,
        model: str = "ets",
        damped_trend: bool = True,
        trend: bool = True,
        order: tuple[int, int, int] = (1, 1, 0),
        log: bool = True,
        min_obs: int = 5,
        window: int | None = None,
    ) -> None:
        self.model = model
        self.damped_trend = damped_trend
        self.trend = trend
        self.order = order
        self.log = log
        self.min_obs = min_obs
        self.window = window

    def _fit_one(self, v: np.ndarray, hmax: int) -> np.ndarray:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        z = np.log(v) if self.log else v
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.model == "ets":
                res = ExponentialSmoothing(
                    z,
                    trend="add" if self.trend else None,
                    damped_trend=bool(self.damped_trend and self.trend),
                    initialization_method="estimated",
                ).fit()
            else:
                d = self.order[1]
                res = ARIMA(
                    z, order=tuple(self.order), trend="t" if (self.trend and d == 1) else "n"
                ).fit()
            f = np.asarray(res.forecast(hmax), dtype=float)
        return np.exp(f) if self.log else f

    def fit(self, y: pd.DataFrame | pd.Series, X: pd.DataFrame | None = None) -> StatsForecaster:
        """Store the (gap-interpolated) series; models are estimated in ``predict``."""
        if self.model not in ("ets", "arima"):
            raise ParameterError(f"model must be 'ets' or 'arima', got {self.model!r}.")
        df = as_long(y, keys=extra_keys(y))
        self.keys_ = extra_keys(df)
        series = {}
        for key, g in df.groupby(["unit_id", *self.keys_], sort=True):
            s = g.set_index("year")["value"]
            s = s.reindex(range(int(s.index.min()), int(s.index.max()) + 1)).interpolate()
            if self.window is not None:
                s = s.tail(int(self.window))
            series[key] = s
        self.series_ = series
        self.origin_ = int(df["year"].max())
        return self

    def predict(self, horizons: int | Iterable[int] = 1) -> pd.DataFrame:
        """Forecast ``unit_id, [keys…], origin, horizon, year, forecast``."""
        self._check_fitted()
        hs = horizons_list(horizons)
        rows, fallback = [], []
        for key, s in self.series_.items():
            last_year = int(s.index.max())
            gap = self.origin_ - last_year
            hmax = max(hs) + gap
            v = s.to_numpy(dtype=float)
            ok = len(v) >= self.min_obs and (not self.log or (v > 0).all()) and np.ptp(v) > 0
            f = None
            if ok:
                try:
                    f = self._fit_one(v, hmax)
                except (ValueError, np.linalg.LinAlgError):
                    f = None
            if f is None or not np.isfinite(f).all():
                fallback.append(key)
                f = np.full(hmax, v[-1])
            rows += [(*key, self.origin_, h, self.origin_ + h, float(f[h + gap - 1])) for h in hs]
        self.fallback_ = fallback
        return pd.DataFrame(
            rows, columns=["unit_id", *self.keys_, "origin", "horizon", "year", "forecast"]
        )


class DampedTrend(Forecaster):
    """Damped additive trend exponential smoothing, ETS(A,Ad,N), per series (阻尼趋势平滑).

    ``l_t = α y_t + (1 − α)(l_{t−1} + φ b_{t−1})``,
    ``b_t = β (l_t − l_{t−1}) + (1 − β) φ b_{t−1}``, forecast
    ``ŷ_{t+h} = l_t + (φ + φ² + … + φ^h) b_t`` (Gardner & McKenzie 1985; Hyndman &
    Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., § 8.2). The
    recursion starts at ``l = y₀``, ``b = y₁ − y₀``; every combination of the grids
    ``alphas × betas × phis`` is run for all series at once and each series keeps the
    one with the smallest sum of squared one-step errors.

    Parameters
    ----------
    alphas, betas, phis : sequence of float
        Grids of the level and trend smoothing parameters and of the damping.
    log : bool
        Model the logarithm (forecasts stay positive; series with a value ≤ 0 fall
        back to the last value).
    min_obs : int
        Series with fewer observations carry their last value forward.
    window : int or None
        Use only the last ``window`` years of every series.

    Attributes
    ----------
    params_ : DataFrame
        ``unit_id, [keys…], alpha, beta, phi`` chosen per series (NaN: last value).
    fallback_ : list
        Series that carried their last value forward.
    """

    def __init__(
        self,
        *,
        alphas: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0),
        betas: tuple[float, ...] = (0.0, 0.1, 0.3),
        phis: tuple[float, ...] = (0.8, 0.9, 0.98),
        log: bool = True,
        min_obs: int = 4,
        window: int | None = None,
    ) -> None:
        self.alphas = alphas
        self.betas = betas
        self.phis = phis
        self.log = log
        self.min_obs = min_obs
        self.window = window

    def fit(self, y: pd.DataFrame | pd.Series, X: pd.DataFrame | None = None) -> DampedTrend:
        """Choose the smoothing parameters of every series and store its final state."""
        df = as_long(y, keys=extra_keys(y))
        self.keys_ = extra_keys(df)
        keys = ["unit_id", *self.keys_]
        wide = df.pivot_table(index=keys, columns="year", values="value", aggfunc="sum")
        wide = wide.reindex(columns=range(int(df["year"].min()), int(df["year"].max()) + 1))
        # interior gaps are interpolated; leading / trailing gaps stay empty
        wide = wide.interpolate(axis=1, limit_area="inside")
        if self.window is not None:
            last = wide.notna().to_numpy()[:, ::-1].argmax(axis=1)
            end = wide.shape[1] - 1 - last
            cols = np.arange(wide.shape[1])[None, :]
            wide = wide.where(cols > (end - int(self.window))[:, None])
        v = wide.to_numpy(dtype=float)
        n_obs = np.isfinite(v).sum(axis=1)
        positive = ~(np.isfinite(v) & (v <= 0)).any(axis=1)
        z = np.log(np.where(v > 0, v, np.nan)) if self.log else v
        ok = (n_obs >= max(int(self.min_obs), 3)) & (positive | (not self.log))
        grid = np.array(
            [(a, b, p) for a in self.alphas for b in self.betas for p in self.phis], dtype=float
        )
        level, trend, best = _damped_states(np.where(ok[:, None], z, np.nan), grid)
        last_idx = wide.shape[1] - 1 - np.isfinite(v)[:, ::-1].argmax(axis=1)
        last_val = v[np.arange(len(v)), last_idx]
        self.series_ = wide.index.to_frame(index=False)
        self.last_year_ = np.asarray(wide.columns)[last_idx].astype(int)
        # series that carry their last value (log scale unless it cannot be logged)
        carry = np.where(last_val > 0, last_val, 1.0)
        self.level_ = np.where(ok, level, np.log(carry) if self.log else last_val)
        self.trend_ = np.where(ok, trend, 0.0)
        self.carry_ = np.where(ok | (last_val > 0) | (not self.log), np.nan, last_val)
        self.phi_ = np.where(ok, grid[best, 2], 1.0)
        self.params_ = self.series_.assign(
            alpha=np.where(ok, grid[best, 0], np.nan),
            beta=np.where(ok, grid[best, 1], np.nan),
            phi=np.where(ok, grid[best, 2], np.nan),
        )
        self.fallback_ = [
            tuple(r) for r, good in zip(self.series_.to_numpy(), ok, strict=True) if not good
        ]
        self.origin_ = int(df["year"].max())
        return self

    def predict(self, horizons: int | Iterable[int] = 1) -> pd.DataFrame:
        """Forecast ``unit_id, [keys…], origin, horizon, year, forecast``."""
        self._check_fitted()
        hs = np.asarray(horizons_list(horizons), dtype=int)
        steps = (self.origin_ - self.last_year_)[:, None] + hs[None, :]
        phi = self.phi_[:, None]
        # φ + φ² + … + φ^k (k steps from the last observation)
        damp = np.where(
            np.isclose(phi, 1.0), steps, phi * (1 - phi**steps) / np.where(phi == 1, 1, 1 - phi)
        )
        f = self.level_[:, None] + damp * self.trend_[:, None]
        f = np.exp(f) if self.log else f
        # a last value ≤ 0 on the log scale is carried as it is
        f = np.where(np.isnan(self.carry_)[:, None], f, self.carry_[:, None])
        out = self.series_.loc[self.series_.index.repeat(len(hs))].reset_index(drop=True)
        out["origin"] = self.origin_
        out["horizon"] = np.tile(hs, len(self.series_))
        out["year"] = self.origin_ + out["horizon"]
        out["forecast"] = f.ravel()
        return out


def _damped_states(z: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final level and trend of every series under its best grid point (vectorised).

    ``z``: series × years (NaN outside a series' span); ``grid``: rows ``(α, β, φ)``.
    Returns the level, trend and the index of the chosen grid row per series.
    """
    n, t_len = z.shape
    a, b, p = (grid[:, i][None, :] for i in range(3))
    level = np.full((n, len(grid)), np.nan)
    trend = np.full((n, len(grid)), np.nan)
    sse = np.zeros((n, len(grid)))
    for t in range(t_len):
        y = z[:, t][:, None]
        seen = np.isfinite(y)
        has_l = np.isfinite(level)
        has_b = np.isfinite(trend)
        update = seen & has_l & has_b
        pred = level + p * trend
        err = np.where(update, y - pred, 0.0)
        sse += err**2
        new_l = a * y + (1 - a) * pred
        new_b = b * (new_l - level) + (1 - b) * p * trend
        start_b = seen & has_l & ~has_b
        level_next = np.where(update, new_l, np.where(start_b, y, level))
        trend = np.where(update, new_b, np.where(start_b, y - level, trend))
        level = np.where(seen & ~has_l, y, level_next)
    best = np.argmin(np.where(np.isfinite(trend), sse, np.inf), axis=1)
    rows = np.arange(n)
    return level[rows, best], trend[rows, best], best
