"""Shared plumbing of the forecasters (预测器公共部分).

Every forecaster works on *long* tables: one row per ``unit_id`` and ``year`` (plus
optional key columns such as ``grade`` or ``sex``) with a numeric ``value``. ``fit``
learns from the rows it is given (the caller decides the forecast origin by what it
passes), ``predict(horizons)`` returns ``unit_id, year, …, forecast``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from planner.errors import DataError, NotFittedError, ParameterError

__all__ = ["Forecaster", "as_long", "extra_keys", "horizons_list", "weighted_recent"]

SINGLE_UNIT = "_"


class Forecaster(BaseEstimator):
    """Base class: scikit-learn parameter handling plus a fitted-state check."""

    def _check_fitted(self, attr: str = "origin_") -> None:
        if not hasattr(self, attr):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(...) before predict(...)."
            )


def as_long(
    y: pd.DataFrame | pd.Series, *, keys: Sequence[str] = (), name: str = "y"
) -> pd.DataFrame:
    """Normalise a target or driver to ``unit_id, year, *keys, value``.

    Parameters
    ----------
    y : DataFrame or Series
        A long table with ``unit_id`` (optional), ``year``, ``value`` and ``keys``
        columns, or a Series indexed by year (a single unit, id ``"_"``).
    keys : sequence of str
        Extra key columns that must be present (``grade``, ``sex`` …).
    name : str
        Name used in error messages.

    Returns
    -------
    DataFrame
        Rows sorted by unit, keys and year, missing values dropped.
    """
    if isinstance(y, pd.Series):
        df = pd.DataFrame({"year": y.index.to_numpy(), "value": y.to_numpy(dtype=float)})
        df["unit_id"] = SINGLE_UNIT
    elif isinstance(y, pd.DataFrame):
        df = y.copy()
        if "unit_id" not in df.columns:
            df["unit_id"] = SINGLE_UNIT
    else:
        raise DataError(f"{name} must be a DataFrame or a Series indexed by year, got {type(y)!r}.")
    missing = [c for c in ("year", "value", *keys) if c not in df.columns]
    if missing:
        raise DataError(
            f"{name} lacks column(s) {missing}; expected unit_id, year, {', '.join(keys) + ', ' if keys else ''}value."
        )
    df = df[["unit_id", "year", *keys, "value"]].dropna(subset=["value"])
    df["year"] = df["year"].astype("int64")
    df["value"] = df["value"].astype(float)
    return df.sort_values(["unit_id", *keys, "year"], kind="stable").reset_index(drop=True)


def horizons_list(horizons: int | Iterable[int]) -> list[int]:
    """``5`` → ``[1, 2, 3, 4, 5]``; an iterable is returned sorted; every horizon must be ≥ 1."""
    hs = (
        list(range(1, int(horizons) + 1))
        if np.isscalar(horizons)
        else sorted({int(h) for h in horizons})
    )
    if not hs or min(hs) < 1:
        raise ParameterError(f"horizons must be positive integers, got {horizons!r}.")
    return hs


def weighted_recent(values: np.ndarray, n_years: int | None, decay: float) -> float:
    """Weighted mean of the last ``n_years`` finite values, weight ``decay**age``.

    ``decay = 1`` is the plain mean, ``decay → 0`` the last value. ``n_years=None``
    uses all values. Returns NaN when there is no finite value.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if n_years is not None:
        v = v[-int(n_years) :]
    if v.size == 0:
        return float("nan")
    w = float(decay) ** np.arange(v.size - 1, -1, -1, dtype=float)
    return float(np.sum(w * v) / np.sum(w))


def extra_keys(df: pd.DataFrame | pd.Series) -> list[str]:
    """Key columns of a long table besides ``unit_id``, ``year`` and ``value``."""
    if isinstance(df, pd.Series):
        return []
    return [c for c in df.columns if c not in ("unit_id", "year", "value")]
