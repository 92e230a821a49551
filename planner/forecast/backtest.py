"""Rolling-origin backtest, scores and empirical prediction intervals (回测与预测区间).

For every origin *T* each method is built fresh from its factory, fitted on the rows
with ``year ≤ T`` only (the harness filters before ``fit`` and checks it), and asked for
horizons 1..h; forecasts are joined to the actual values of ``T + h``.

Refs: Tashman (2000), Out-of-sample tests of forecasting accuracy, *IJF* 16, 437–450;
Smith, Tayman & Swanson (2013), *A Practitioner's Guide to State and Local Population
Projections*, ch. 13 (MAPE, MALPE, empirical intervals).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from planner.errors import DataError, LeakageError
from planner.forecast._base import horizons_list

__all__ = ["add_intervals", "backtest", "coverage", "empirical_intervals", "score", "truncate"]

RESULT_COLUMNS = [
    "method",
    "unit_id",
    "origin",
    "horizon",
    "target_year",
    "forecast",
    "actual",
    "ape",
    "pe",
]


def truncate(data: Mapping[str, pd.DataFrame], origin: int) -> dict[str, pd.DataFrame]:
    """Every table restricted to rows with ``year ≤ origin`` (tables without ``year`` kept)."""
    return {
        k: (v.loc[v["year"] <= origin].copy() if "year" in v.columns else v.copy())
        for k, v in data.items()
    }


def _as_value(df: pd.DataFrame, value: str) -> pd.DataFrame:
    if value not in df.columns:
        raise DataError(f"column {value!r} not in table (columns: {list(df.columns)}).")
    return df.rename(columns={value: "value"})


def backtest(
    method_factories: Mapping[str, Callable[[], object]],
    data: Mapping[str, pd.DataFrame],
    origins: Iterable[int],
    horizons: int | Iterable[int],
    *,
    target: str = "enrolment",
    value: str | None = None,
    driver: str | None = None,
    driver_value: str | None = None,
    keys: Sequence[str] = (),
) -> pd.DataFrame:
    """Rolling-origin evaluation of forecasting methods.

    Parameters
    ----------
    method_factories : mapping name → callable
        Each callable returns a fresh, unfitted forecaster with ``fit(y[, X])`` and
        ``predict(horizons)``; a factory may also accept the origin (``f(origin)``).
    data : mapping name → DataFrame
        Long tables: ``population`` (``unit_id, year, sex, age_lo, age_hi, population``),
        ``births`` (``unit_id, year, births``), ``enrolment`` (``unit_id, year, grade,
        students``) or any other ``unit_id, year, …`` table.
    origins : iterable of int
        Forecast origins *T* (last year the methods may see).
    horizons : int or iterable of int
        ``h`` → 1..h.
    target : str
        Table whose ``value`` column is forecast.
    value : str, optional
        Value column of the target (default: the table's name without its plural
        ``s``-column convention: ``students``, ``births``, ``population`` or ``value``).
    driver, driver_value : str, optional
        Table (and column) passed to ``fit`` as ``X``.
    keys : sequence of str
        Extra key columns of the target (``grade``; ``sex, age_lo, age_hi``).

    Returns
    -------
    DataFrame
        ``method, unit_id, [keys…], origin, horizon, target_year, forecast, actual, ape, pe``
        (APE and PE in percent; rows without an actual value are dropped).
    """
    hs = horizons_list(horizons)
    tab = data[target]
    value = value or _default_value(tab)
    full = _as_value(tab, value)[["unit_id", "year", *keys, "value"]]
    out = []
    for origin in sorted(set(int(o) for o in origins)):
        cut = truncate(data, origin)
        y = _as_value(cut[target], value)
        X = None
        if driver is not None:
            X = _as_value(cut[driver], driver_value or _default_value(cut[driver]))[
                ["unit_id", "year", "value"]
            ]
        # leakage guard: nothing the method receives may be later than the origin
        for name, df in (("target", y), ("driver", X)):
            if df is not None and len(df) and int(df["year"].max()) > origin:
                raise LeakageError(
                    f"leakage: {name} has rows after origin {origin}; drop them (the "
                    "backtest would see the future)."
                )
        actual = full[(full["year"] > origin) & (full["year"] <= origin + max(hs))]
        if actual.empty:
            continue
        for name, factory in method_factories.items():
            method = _build(factory, origin)
            method.fit(y, X) if X is not None else method.fit(y)
            gap = origin - int(getattr(method, "origin_", origin))
            pred = method.predict([h + gap for h in hs])
            pred = pred.assign(year=pred["year"].astype("int64"))
            pred = pred[pred["year"] - origin >= 1]
            merged = pred.merge(actual, on=["unit_id", "year", *keys], how="inner")
            merged = merged.rename(columns={"year": "target_year", "value": "actual"})
            merged["origin"] = origin
            merged["horizon"] = merged["target_year"] - origin
            merged["method"] = name
            out.append(merged)
    cols = ["method", "unit_id", *keys, *RESULT_COLUMNS[2:7]]
    if not out:
        return pd.DataFrame(columns=[*cols, "ape", "pe"])
    res = pd.concat(out, ignore_index=True)[cols]
    res = res[
        res["horizon"].isin(hs)
        & res["forecast"].notna()
        & res["actual"].notna()
        & (res["actual"] != 0)
    ]
    res = res.assign(
        pe=100.0 * (res["forecast"] - res["actual"]) / res["actual"],
    )
    res.insert(len(cols), "ape", res["pe"].abs())
    return res.sort_values(["method", "origin", "unit_id", "horizon"], kind="stable").reset_index(
        drop=True
    )


def _default_value(df: pd.DataFrame) -> str:
    for c in ("value", "students", "births", "population"):
        if c in df.columns:
            return c
    raise DataError(
        f"cannot tell the value column of a table with columns {list(df.columns)}; pass value=…."
    )


def _build(factory: Callable, origin: int):
    try:
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        n = sum(p.kind in kinds for p in inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        n = 0
    return factory(origin) if n >= 1 else factory()


def score(results: pd.DataFrame, by: Sequence[str] = ("method", "horizon")) -> pd.DataFrame:
    """Accuracy per method × horizon: MAPE, median APE, MALPE (bias), 90th-percentile APE, n.

    Parameters
    ----------
    results : DataFrame
        Output of :func:`backtest`.
    by : sequence of str
        Grouping columns.

    Returns
    -------
    DataFrame
        ``*by, mape, mdape, malpe, p90_ape, n`` (percent).
    """
    g = results.groupby(list(by), sort=True)
    return pd.DataFrame(
        {
            "mape": g["ape"].mean(),
            "mdape": g["ape"].median(),
            "malpe": g["pe"].mean(),
            "p90_ape": g["ape"].quantile(0.9),
            "n": g["ape"].size(),
        }
    ).reset_index()


def empirical_intervals(
    results: pd.DataFrame,
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    by: Sequence[str] = ("method", "horizon"),
) -> pd.DataFrame:
    """Quantiles of the log errors ``log(actual / forecast)`` per method and horizon.

    Returns
    -------
    DataFrame
        ``*by, q10, q50, q90`` (column names from the quantiles) and ``n``.
    """
    ok = results[(results["forecast"] > 0) & (results["actual"] > 0)]
    err = np.log(ok["actual"] / ok["forecast"])
    g = err.groupby([ok[c] for c in by], sort=True)
    out = pd.DataFrame({f"q{round(q * 100):02d}": g.quantile(q) for q in quantiles})
    out["n"] = g.size()
    return out.reset_index()


def add_intervals(
    forecasts: pd.DataFrame, intervals: pd.DataFrame, by: Sequence[str] = ("method", "horizon")
) -> pd.DataFrame:
    """Attach ``p10, p50, p90`` (or whichever quantiles) = ``forecast × exp(q)``.

    Parameters
    ----------
    forecasts : DataFrame
        Rows with ``forecast`` and the ``by`` columns (e.g. backtest results of later
        origins, or a production forecast with a ``method`` column).
    intervals : DataFrame
        Output of :func:`empirical_intervals` (estimated on *earlier* origins).
    by : sequence of str
        Columns the intervals are matched on.
    """
    qcols = [c for c in intervals.columns if c.startswith("q") and c[1:].isdigit()]
    m = forecasts.merge(intervals[[*by, *qcols]], on=list(by), how="left")
    for c in qcols:
        m["p" + c[1:]] = m["forecast"] * np.exp(m[c])
    return m.drop(columns=qcols)


def coverage(
    results: pd.DataFrame,
    lo: str = "p10",
    hi: str = "p90",
    by: Sequence[str] = ("method", "horizon"),
) -> pd.DataFrame:
    """Share of actual values inside ``[lo, hi]`` per group (nominal 80 % for P10–P90).

    Returns
    -------
    DataFrame
        ``*by, coverage, below, above, n`` (shares in 0–1).
    """
    r = results.dropna(subset=[lo, hi, "actual"])
    inside = (r["actual"] >= r[lo]) & (r["actual"] <= r[hi])
    frame = pd.DataFrame(
        {"inside": inside, "below": r["actual"] < r[lo], "above": r["actual"] > r[hi]}
    )
    g = frame.groupby([r[c] for c in by], sort=True)
    out = g.mean().rename(columns={"inside": "coverage"})
    out["n"] = g.size()
    return out.reset_index()
