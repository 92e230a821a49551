"""ETS and ARIMA forecasters (statsmodels) for totals, births or ratios (时间序列模型).

Each series (``unit_id`` plus extra key columns) is modelled on its own; short or
degenerate series fall back to the last value (recorded in ``fallback_``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.errors import PlannerError
from planner.forecast._base import Forecaster, as_long, extra_keys, horizons_list

__all__ = ["StatsForecaster"]


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
            raise PlannerError(f"model must be 'ets' or 'arima', got {self.model!r}.")
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
