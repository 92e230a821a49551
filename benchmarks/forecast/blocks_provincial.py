"""Provincial benchmarks (a) total primary enrolment and (b) primary entrants, 1–5 years ahead.

Run:  .venv/bin/python benchmarks/forecast/bench_provincial.py

Protocol (no tuning on the test years): every method is fitted on data up to the origin
only (the harness filters and checks). Options were chosen on the *tuning origins*
(a: 2006–2011, b: 2001–2006) by mean MAPE over horizons 1–5; the *test origins*
(a: 2012–2021, b: 2007–2013) are reported separately. Prediction intervals for a
test origin T use the log errors of the selected method whose target year ≤ T (what
was knowable at T), quantiles 10/50/90 per horizon. Origins before the tuning ones
(warm-up: a 2004–2005) only feed these error histories; they are never scored.
The interval scheme (per horizon, or errors pooled over horizons and scaled by √h or h)
is chosen on the tuning origins by the overall coverage closest to 80 %. In (a), three
methods also get a bias-corrected variant: × exp(h × the median yearly log error of
their forecasts known at the origin).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data as bd
from planner.forecast import (
    BirthToEntry,
    ConstantRatio,
    Ensemble,
    LastValue,
    LinearTrend,
    StatsForecaster,
    StockFlow,
    add_intervals,
    backtest,
    coverage,
    empirical_intervals,
    score,
)

# A pupil of grade g in school year t (autumn count, 1 Sept cut-off) was born between
# Sept t−6−g and Aug t−5−g: calendar-year weights for the six feeding cohorts.
COHORTS = {6: 2 / 3, 7: 1.0, 8: 1.0, 9: 1.0, 10: 1.0, 11: 1.0, 12: 1 / 3}


class IntakeStockFlow(StockFlow):
    """Benchmark adapter: :class:`StockFlow` with the intakes known at the origin.

    The backtest harness passes one driver (births) to ``fit``; the intakes (new
    entrants) are given here, cut at the origin by the factory (and again by
    ``StockFlow.fit`` at the last year of ``y``).
    """

    def __init__(
        self,
        *,
        intake: pd.DataFrame | None = None,
        duration: int = 6,
        n_years: int = 1,
        lag: int = 6,
        next_lag_share: float = 1 / 3,
        entry_years: int = 1,
    ) -> None:
        super().__init__(
            duration=duration,
            n_years=n_years,
            lag=lag,
            next_lag_share=next_lag_share,
            entry_years=entry_years,
        )
        self.intake = intake

    def fit(self, y, X=None):
        return super().fit(y, X, intake=self.intake)


def methods_total(intake: pd.DataFrame):
    def stock_flow(origin: int) -> IntakeStockFlow:
        return IntakeStockFlow(intake=intake.loc[intake["year"] <= origin])

    def stock_flow_ets(origin: int) -> Ensemble:
        return Ensemble(members=[stock_flow(origin), StatsForecaster()])

    return {
        "last value": LastValue,
        "linear trend (5 y)": lambda: LinearTrend(window=5),
        "ETS damped (log)": StatsForecaster,
        "cohort ratio, last (README baseline)": lambda: ConstantRatio(lags=COHORTS, n_years=1),
        "cohort ratio, mean 3": lambda: ConstantRatio(lags=COHORTS, n_years=3),
        "combo: cohort ratio + ETS": lambda: Ensemble(
            members=[ConstantRatio(lags=COHORTS, n_years=1), StatsForecaster()]
        ),
        # added 2026-11-23: 6 last intakes × retention ratio, later intakes = births × entry ratio
        "stock–flow (intakes × retention)": stock_flow,
        "combo: stock–flow + ETS": stock_flow_ets,
    }


def methods_entry():
    return {
        "last value": LastValue,
        "linear trend (5 y)": lambda: LinearTrend(window=5),
        "ETS damped (log)": StatsForecaster,
        "births×ratio, last (README baseline)": lambda: BirthToEntry(
            lag=6, next_lag_share=1 / 3, n_years=1
        ),
        "births×ratio, mean 3": lambda: BirthToEntry(lag=6, next_lag_share=1 / 3, n_years=3),
        "combo: births×ratio + ETS": lambda: Ensemble(
            members=[BirthToEntry(lag=6, next_lag_share=1 / 3, n_years=1), StatsForecaster()]
        ),
    }


#: interval schemes: how the log errors known at an origin become P10/P90 per horizon
INTERVAL_SCHEMES = ("per horizon", "pooled, scaled by √h", "pooled, scaled by h")


def _scaled_quantiles(known: pd.DataFrame, power: float, horizons) -> pd.DataFrame:
    """Quantiles of ``log(actual/forecast) / h**power`` pooled over horizons, times ``h**power``."""
    ok = known[(known["forecast"] > 0) & (known["actual"] > 0)]
    z = np.log(ok["actual"] / ok["forecast"]) / ok["horizon"].astype(float) ** power
    qs = z.quantile([0.1, 0.5, 0.9]).to_numpy()
    h = np.asarray(list(horizons), dtype=float)
    scale = h[:, None] ** power
    out = pd.DataFrame(qs[None, :] * scale, columns=["q10", "q50", "q90"])
    out.insert(0, "horizon", h.astype(int))
    out.insert(0, "method", ok["method"].iloc[0] if len(ok) else "")
    out["n"] = len(ok)
    return out


def rolling_intervals(
    res: pd.DataFrame, method: str, origins, scheme: str = "per horizon"
) -> pd.DataFrame:
    r = res[res["method"] == method]
    out = []
    for t in origins:
        known = r[r["target_year"] <= t]
        now = r[r["origin"] == t]
        if known.empty or now.empty:
            continue
        if scheme == "per horizon":
            iv = empirical_intervals(known)
        else:
            power = 0.5 if "√h" in scheme else 1.0
            iv = _scaled_quantiles(known, power, sorted(now["horizon"].unique()))
        out.append(add_intervals(now, iv))
    return pd.concat(out, ignore_index=True)


#: methods that also get a bias-corrected variant (run (a))
BIAS_CORRECTED = (
    "cohort ratio, last (README baseline)",
    "combo: cohort ratio + ETS",
    "combo: stock–flow + ETS",
)


def bias_corrected(res: pd.DataFrame, method: str, origins) -> pd.DataFrame:
    """``method`` × exp(drift), the drift from the errors known at each origin.

    For origin *T*: the median over the method's earlier forecasts with target year
    ≤ *T* of ``log(actual / forecast) / h`` (bias per year of horizon, pooled over
    horizons), times the horizon. Origins without any known error are left out.
    """
    r = res[res["method"] == method]
    out = []
    for t in origins:
        known = r[(r["target_year"] <= t) & (r["forecast"] > 0) & (r["actual"] > 0)]
        now = r[r["origin"] == t]
        if known.empty or now.empty:
            continue
        drift = float((np.log(known["actual"] / known["forecast"]) / known["horizon"]).median())
        out.append(now.assign(forecast=now["forecast"] * np.exp(drift * now["horizon"])))
    b = pd.concat(out, ignore_index=True).assign(method=f"{method}, bias-corrected")
    b["pe"] = 100.0 * (b["forecast"] - b["actual"]) / b["actual"]
    b["ape"] = b["pe"].abs()
    return b


def _overall(cov: pd.DataFrame) -> float:
    return float(cov["coverage"].mul(cov["n"]).sum() / cov["n"].sum())


def table(s: pd.DataFrame, col: str) -> str:
    return bd.md(s.pivot(index="method", columns="horizon", values=col))


def run(
    name: str,
    target: str,
    methods: dict,
    tune: range,
    test: range,
    data: dict,
    warmup: range = range(0),
    corrected: tuple[str, ...] = (),
) -> None:
    t0 = time.perf_counter()
    res = backtest(
        methods,
        data,
        origins=[*warmup, *tune, *test],
        horizons=5,
        target=target,
        driver="births",
    )
    if corrected:
        origins = [*warmup, *tune, *test]
        res = pd.concat([res, *(bias_corrected(res, m, origins) for m in corrected)])
    scored = res[res["origin"].isin([*tune, *test])]
    tune_s = score(res[res["origin"].isin(tune)])
    test_s = score(res[res["origin"].isin(test)])
    chosen = tune_s.groupby("method")["mape"].mean().idxmin()
    print(f"\n## {name}\n")
    print(f"tuning origins {tune.start}–{tune.stop - 1}: MAPE % by horizon\n")
    print(table(tune_s, "mape"))
    print(f"\nselected on tuning origins: **{chosen}**\n")
    print(f"test origins {test.start}–{test.stop - 1}: MAPE % by horizon\n")
    print(table(test_s, "mape"))
    print("\ntest origins: MALPE % (bias, + = over-forecast)\n")
    print(table(test_s, "malpe"))
    sel = test_s[test_s["method"] == chosen].set_index("horizon")
    print(f"\ntest origins, selected method '{chosen}' — full scores\n")
    print(bd.md(sel.drop(columns="method")))
    allo = score(scored)
    print("\nall origins together (comparable to the README baselines): MAPE %\n")
    print(table(allo, "mape"))
    # interval scheme chosen on the tuning origins (errors of earlier origins only)
    tune_cov = {}
    for scheme in INTERVAL_SCHEMES:
        cov = coverage(rolling_intervals(res, chosen, tune, scheme))
        tune_cov[scheme] = cov
    rows = [
        {
            "scheme": k,
            **{f"h{int(h)}": c for h, c in zip(v["horizon"], v["coverage"], strict=True)},
            "overall": _overall(v),
            "n": int(v["n"].sum()),
        }
        for k, v in tune_cov.items()
    ]
    print("\n80 % interval schemes on the tuning origins: coverage\n")
    print(bd.md(pd.DataFrame(rows), index=False, digits=3))
    scheme = min(tune_cov, key=lambda k: abs(_overall(tune_cov[k]) - 0.8))
    print(f"\ninterval scheme selected on tuning origins: **{scheme}**\n")
    for sch in dict.fromkeys([scheme, "per horizon"]):
        iv = rolling_intervals(res, chosen, test, sch)
        cov = coverage(iv)
        print(
            f"\n80 % empirical intervals ({sch}; P10–P90 from errors known at the origin), "
            "test origins\n"
        )
        print(bd.md(cov.drop(columns="method"), index=False, digits=3))
        print(f"\noverall coverage {100 * _overall(cov):.1f} % of {int(cov['n'].sum())} outcomes")
    print(f"\n({time.perf_counter() - t0:.1f} s)")


def main() -> None:
    data = {
        "births": bd.births(),
        "primary": bd.indicator("primary_enrolment"),
        "entrants": bd.indicator("primary_new_entrants"),
    }
    intake = data["entrants"].rename(columns={"students": "value"})
    print("# Provincial benchmarks (31 provinces, NBS)")
    run(
        "(a) total primary enrolment",
        "primary",
        methods_total(intake),
        range(2006, 2012),
        range(2012, 2022),
        data,
        warmup=range(2004, 2006),
        corrected=BIAS_CORRECTED,
    )
    run(
        "(b) primary grade-1 intake (new entrants)",
        "entrants",
        methods_entry(),
        range(2001, 2007),
        range(2007, 2014),
        data,
    )


if __name__ == "__main__":
    main()
