"""Method choice by nested rolling-origin backtest, and intervals from its errors (方法选择与区间).

The backtest results of every candidate method at every origin (one row per unit,
[stage,] origin and horizon: ``forecast`` and ``actual``) are all the choice needs:

* :func:`choose` — the candidate with the lowest MAPE (mean over horizons of the
  per-horizon MAPE) on the forecasts whose target year is ≤ ``at``: what was known at
  ``at``. Candidates are compared on the cases they all forecast.
* :func:`nested` — the choice **as it would have been made** at every origin *T*
  (from the forecasts known at *T*, so from earlier origins only), and the forecast of
  the chosen method from *T*: the out-of-sample record of the selection procedure
  itself (Tashman 2000; Varma & Simon 2006 on selection bias).
* :func:`conformal_halfwidths` — split-conformal interval half-widths per horizon on
  the log scale: the ⌈(n + 1)·level⌉-th smallest ``|log(actual / forecast)|`` of the
  out-of-sample errors of that horizon (Vovk et al. 2005; Lei et al. 2018, *JASA* 113,
  1094), non-decreasing in the horizon, grown ∝ h beyond the horizons measured.
* :func:`rolling_intervals` — the same intervals for every origin *T* from the errors
  known at *T* only, to measure their coverage honestly.
* :func:`bias_corrected` — a candidate × exp(h · d), *d* the median yearly log error of
  its forecasts known at the origin (bias correction learned from backtests).

Pure computation on DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "bias_corrected",
    "choose",
    "combination_label",
    "combination_members",
    "conformal_halfwidths",
    "coverage_table",
    "nested",
    "rolling_intervals",
    "selection_scores",
]

#: key columns of a backtest row besides ``method`` (``stage`` when present)
CASE = ("unit_id", "origin", "horizon")


def _case_cols(rows: pd.DataFrame) -> list[str]:
    return [c for c in ("unit_id", "stage", "origin", "horizon") if c in rows.columns]


def selection_scores(
    rows: pd.DataFrame, *, at: int, candidates: Sequence[str], window: int | None = None
) -> pd.DataFrame:
    """MAPE per candidate on the forecasts known at ``at`` (target year ≤ ``at``).

    Candidates with known forecasts are compared on the cases (unit, [stage,] origin,
    horizon) they all have; when they share none, each on its own. ``window``: only
    the forecasts of the last ``window`` origins with a known forecast count (recent
    errors; None = all).

    Returns
    -------
    DataFrame
        ``method, score, n`` in the order of ``candidates`` (``score`` = mean over
        horizons of the per-horizon MAPE, NaN without any known forecast).
    """
    known = rows.loc[(rows["target_year"] <= at) & rows["method"].isin(candidates)]
    if window is not None and len(known):
        recent = np.sort(known["origin"].unique())[-int(window) :]
        known = known.loc[known["origin"].isin(recent)]
    keys = _case_cols(known)
    present = known["method"].nunique()
    if present > 1:
        # the cases every candidate with a known forecast has (rows are unique per case)
        n_methods = known.groupby(keys, sort=False)["method"].transform("size")
        common = known.loc[n_methods.to_numpy() == present]
        if len(common):
            known = common
    per_h = known.groupby(["method", "horizon"])["ape"].mean()
    score = per_h.groupby(level="method").mean()
    n = known.groupby("method").size()
    out = pd.DataFrame({"method": list(candidates)})
    out["score"] = out["method"].map(score)
    out["n"] = out["method"].map(n).fillna(0).astype("int64")
    return out


def combination_label(methods: Sequence[str]) -> str:
    """``"a"`` for one method, ``"mean(a, b, c)"`` for the mean of several."""
    methods = list(methods)
    return methods[0] if len(methods) == 1 else "mean(" + ", ".join(methods) + ")"


def combination_members(label: str) -> list[str]:
    """The methods of a :func:`combination_label`."""
    if label.startswith("mean(") and label.endswith(")"):
        return label[5:-1].split(", ")
    return [label]


def choose(
    rows: pd.DataFrame,
    *,
    at: int,
    candidates: Sequence[str],
    default: str,
    window: int | None = None,
    k: int = 1,
) -> tuple[str, pd.DataFrame]:
    """The candidate with the lowest score known at ``at`` (ties: the earlier candidate).

    With ``k > 1`` the mean of the ``k`` best (label ``"mean(a, b, …)"``, see
    :func:`combination_label`): a combination of the best forecasts, steadier than the
    single best when the ranking changes. Returns ``default`` when no candidate has a
    known forecast. The second value is the table of :func:`selection_scores`
    (``window``: see there).
    """
    table = selection_scores(rows, at=at, candidates=candidates, window=window)
    ok = table.dropna(subset=["score"])
    if ok.empty:
        return default, table
    best = set(ok.sort_values("score", kind="stable")["method"].head(max(1, int(k))))
    # members listed in the candidates' order: one label per set
    return combination_label([str(m) for m in candidates if m in best]), table


def nested(
    rows: pd.DataFrame,
    *,
    candidates: Sequence[str],
    default: str,
    origins: Sequence[int],
    window: int | None = None,
    k: int = 1,
) -> pd.DataFrame:
    """Out-of-sample record of the choice: at every origin *T*, the method chosen at *T*.

    Parameters
    ----------
    rows : DataFrame
        Backtest rows of every candidate (``method``, case keys, ``target_year``,
        ``forecast``, ``actual``, ``ape``, ``pe``).
    candidates : sequence of str
        Candidate names in preference order.
    default : str
        The method used where nothing is known yet.
    origins : sequence of int
        Origins to record.
    window : int, optional
        Recent origins the choice looks at (see :func:`selection_scores`).
    k : int
        Mean of the ``k`` best candidates (see :func:`choose`).

    Returns
    -------
    DataFrame
        The chosen method's rows at each origin, ``method`` = the chosen method and
        ``choice_known`` = whether the choice rested on known forecasts (False: the
        default was used).
    """
    parts = []
    for t in sorted(set(int(o) for o in origins)):
        chosen, table = choose(
            rows, at=t, candidates=candidates, default=default, window=window, k=k
        )
        now = _combined_rows(rows.loc[rows["origin"] == t], chosen)
        if len(now):
            parts.append(now.assign(choice_known=bool(table["score"].notna().any())))
    if not parts:
        return rows.iloc[0:0].assign(choice_known=pd.Series(dtype=bool))
    return pd.concat(parts, ignore_index=True)


def _combined_rows(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """The rows of ``label``: one method's, or the mean of a combination's members."""
    members = combination_members(label)
    sel = rows.loc[rows["method"].isin(members)]
    if len(members) == 1 or sel.empty:
        return sel
    keys = [*_case_cols(sel), "target_year"]
    g = sel.groupby(keys, as_index=False, sort=False)
    out = g.agg(forecast=("forecast", "mean"), actual=("actual", "first"), n=("method", "nunique"))
    out = out.loc[out["n"] == len(members)].drop(columns="n").assign(method=label)
    out["pe"] = 100.0 * (out["forecast"] - out["actual"]) / out["actual"]
    out["ape"] = out["pe"].abs()
    return out


def _scores(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|log(actual / forecast)|``, horizon and target year of the rows with both > 0."""
    f = rows["forecast"].to_numpy(dtype=float)
    a = rows["actual"].to_numpy(dtype=float)
    ok = (f > 0) & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.abs(np.log(a / f))
    return (
        sc[ok],
        rows["horizon"].to_numpy(dtype="int64")[ok],
        rows["target_year"].to_numpy(dtype="int64")[ok]
        if "target_year" in rows
        else np.zeros(int(ok.sum()), dtype="int64"),
    )


def _halfwidths(
    scores: np.ndarray,
    hz: np.ndarray,
    horizons: Sequence[int],
    level: float,
    scheme: str = "per_horizon",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conformal half-widths for ``horizons`` (see :func:`conformal_halfwidths`): q, n, measured."""
    hs = np.asarray(sorted(set(int(h) for h in horizons)), dtype="int64")
    measured_h = np.unique(hz)
    if scheme == "pooled":
        q = np.full(len(hs), np.nan)
        meas = np.isin(hs, measured_h)
        n = np.where(meas, len(scores), 0).astype("int64")
        if len(scores):
            z = np.sort(scores / hz)
            k = int(np.ceil((len(z) + 1) * level))
            q = z[min(k, len(z)) - 1] * hs.astype(float)
        return q, n, meas
    if scheme != "per_horizon":
        raise ValueError(f"interval scheme must be 'per_horizon' or 'pooled', got {scheme!r}")
    q_m = []
    n_m = []
    for h in measured_h:
        s = np.sort(scores[hz == h])
        k = int(np.ceil((len(s) + 1) * level))
        q_m.append(s[min(k, len(s)) - 1])
        n_m.append(len(s))
    q = np.full(len(hs), np.nan)
    n = np.zeros(len(hs), dtype="int64")
    meas = np.zeros(len(hs), dtype=bool)
    if not len(measured_h):
        return q, n, meas
    q_m = np.maximum.accumulate(np.asarray(q_m, dtype=float))
    last_h, last_q = int(measured_h[-1]), float(q_m[-1])
    for i, h in enumerate(hs):
        j = np.searchsorted(measured_h, h, side="right") - 1
        if h > last_h:
            q[i] = last_q * h / last_h
        elif j >= 0:
            q[i] = q_m[j]  # a horizon without errors of its own: the next shorter one
            if measured_h[j] == h:
                n[i] = n_m[j]
                meas[i] = True
        else:
            q[i] = q_m[0]
    return q, n, meas


def conformal_halfwidths(
    rows: pd.DataFrame,
    *,
    level: float = 0.8,
    horizons: Sequence[int] | None = None,
    scheme: str = "per_horizon",
) -> pd.DataFrame:
    """Split-conformal half-widths per horizon on the log scale.

    ``scheme = "per_horizon"``: ``q_h`` is the ⌈(n_h + 1)·level⌉-th smallest of the
    ``n_h`` absolute log errors of horizon *h* (the largest when that rank exceeds
    ``n_h``); the widths are made non-decreasing in *h*, and horizons beyond the last
    one measured get ``q_H · h / H``. ``scheme = "pooled"``: the errors of all
    horizons divided by *h* are pooled, ``q_h = h ×`` their conformal quantile (more
    errors behind the long horizons, which few origins reach). The interval is
    ``forecast × exp(±q_h)``.

    Parameters
    ----------
    rows : DataFrame
        Out-of-sample rows with ``horizon``, ``forecast``, ``actual``.
    level : float
        Nominal coverage (0.8 for P10–P90).
    horizons : sequence of int, optional
        Horizons to return (default: those measured).
    scheme : {"per_horizon", "pooled"}
        See above.

    Returns
    -------
    DataFrame
        ``horizon, q, n, measured`` (``q`` NaN when nothing was measured).
    """
    sc, hz, _ = _scores(rows)
    hs = sorted(set(int(h) for h in (horizons if horizons is not None else hz)))
    q, n, meas = _halfwidths(sc, hz, hs, level, scheme)
    return pd.DataFrame({"horizon": hs, "q": q, "n": n, "measured": meas})


def rolling_intervals(
    rows: pd.DataFrame, *, level: float = 0.8, scheme: str = "per_horizon"
) -> pd.DataFrame:
    """Rows with ``p10``/``p90`` from the errors known at their origin only.

    For origin *T*, :func:`conformal_halfwidths` of the rows with target year ≤ *T*
    (horizons beyond those known grow ∝ h); origins with no known error get no
    interval (NaN).
    """
    if rows.empty:
        return rows.assign(p10=pd.Series(dtype=float), p90=pd.Series(dtype=float))
    sc, hz, ty = _scores(rows)
    origin = rows["origin"].to_numpy(dtype="int64")
    horizon = rows["horizon"].to_numpy(dtype="int64")
    qrow = np.full(len(rows), np.nan)
    for t in np.unique(origin):
        at = origin == t
        known = ty <= t
        hs = np.unique(horizon[at])
        q, _, _ = _halfwidths(sc[known], hz[known], hs, level, scheme)
        qrow[at] = q[np.searchsorted(hs, horizon[at])]
    f = rows["forecast"].to_numpy(dtype=float)
    return rows.assign(p10=f * np.exp(-qrow), p90=f * np.exp(qrow))


def coverage_table(rows: pd.DataFrame, by: Sequence[str] = ("horizon",)) -> pd.DataFrame:
    """Accuracy and interval coverage per group of rows with ``p10``/``p90``.

    Returns
    -------
    DataFrame
        ``*by, mape, mdape, malpe, p90_ape, coverage, below, above, n, n_intervals``
        (percent errors; coverage shares over the rows that have an interval).
    """
    g = rows.groupby(list(by), sort=True)
    out = pd.DataFrame(
        {
            "mape": g["ape"].mean(),
            "mdape": g["ape"].median(),
            "malpe": g["pe"].mean(),
            "p90_ape": g["ape"].quantile(0.9),
            "n": g["ape"].size(),
        }
    )
    if {"p10", "p90"} <= set(rows.columns):
        r = rows.dropna(subset=["p10", "p90"])
        flags = pd.DataFrame(
            {
                "coverage": (r["actual"] >= r["p10"]) & (r["actual"] <= r["p90"]),
                "below": r["actual"] < r["p10"],
                "above": r["actual"] > r["p90"],
            },
            index=r.index,
        ).astype(float)
        gi = flags.groupby([r[c] for c in by], sort=True)
        out = out.join(gi.mean()).join(gi.size().rename("n_intervals"))
        out["n_intervals"] = out["n_intervals"].fillna(0).astype("int64")
    return out.reset_index()


def bias_corrected(
    rows: pd.DataFrame, methods: Sequence[str], suffix: str = "~bias"
) -> pd.DataFrame:
    """Bias-corrected variants: forecast × exp(h · d), *d* known at the origin.

    For origin *T*, *d* is the median of ``log(actual / forecast) / h`` over the
    method's forecasts with target year ≤ *T* (per stage when rows have one). Origins
    with no known error keep the forecast. The variant is named ``method + suffix``.
    """
    out = []
    group_cols = ["stage"] if "stage" in rows.columns else []
    sel = rows.loc[rows["method"].isin(methods)]
    for key, r in sel.groupby(["method", *group_cols], sort=False):
        m = key[0] if isinstance(key, tuple) else key
        f = r["forecast"].to_numpy(dtype=float)
        a = r["actual"].to_numpy(dtype=float)
        ok = (f > 0) & (a > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            yearly = np.log(a / f) / r["horizon"].to_numpy(dtype=float)
        ty = r["target_year"].to_numpy(dtype="int64")
        origin = r["origin"].to_numpy(dtype="int64")
        d = np.zeros(len(r))
        for t in np.unique(origin):
            known = ok & (ty <= t)
            if known.any():
                d[origin == t] = float(np.median(yearly[known]))
        b = r.assign(forecast=f * np.exp(d * r["horizon"].to_numpy(dtype=float)), method=m + suffix)
        b["pe"] = 100.0 * (b["forecast"] - b["actual"]) / b["actual"]
        b["ape"] = b["pe"].abs()
        out.append(b)
    if not out:
        return rows.iloc[0:0]
    return pd.concat(out, ignore_index=True)
