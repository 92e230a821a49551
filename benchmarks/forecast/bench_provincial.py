"""Provincial benchmarks (a) total primary enrolment and (b) primary entrants, 1–5 years ahead.

Run:  .venv/bin/python benchmarks/forecast/bench_provincial.py

Protocol (no tuning on the test years): every method is fitted on data up to the origin
only (the harness filters and checks). Options were chosen on the *tuning origins*
(a: 2006–2011, b: 2001–2006) by mean MAPE over horizons 1–5; the *test origins*
(a: 2012–2021, b: 2007–2013) are reported separately. Prediction intervals for a
test origin T use the log errors of the selected method whose target year ≤ T (what
was knowable at T), quantiles 10/50/90 per horizon.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

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
    add_intervals,
    backtest,
    coverage,
    empirical_intervals,
    score,
)

# A pupil of grade g in school year t (autumn count, 1 Sept cut-off) was born between
# Sept t−6−g and Aug t−5−g: calendar-year weights for the six feeding cohorts.
COHORTS = {6: 2 / 3, 7: 1.0, 8: 1.0, 9: 1.0, 10: 1.0, 11: 1.0, 12: 1 / 3}


def methods_total():
    return {
        "last value": LastValue,
        "linear trend (5 y)": lambda: LinearTrend(window=5),
        "ETS damped (log)": StatsForecaster,
        "cohort ratio, last (README baseline)": lambda: ConstantRatio(lags=COHORTS, n_years=1),
        "cohort ratio, mean 3": lambda: ConstantRatio(lags=COHORTS, n_years=3),
        "combo: cohort ratio + ETS": lambda: Ensemble(
            members=[ConstantRatio(lags=COHORTS, n_years=1), StatsForecaster()]
        ),
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


def rolling_intervals(res: pd.DataFrame, method: str, test_origins) -> pd.DataFrame:
    r = res[res["method"] == method]
    out = []
    for t in test_origins:
        known = r[r["target_year"] <= t]
        now = r[r["origin"] == t]
        if known.empty or now.empty:
            continue
        out.append(add_intervals(now, empirical_intervals(known)))
    return pd.concat(out, ignore_index=True)


def table(s: pd.DataFrame, col: str) -> str:
    return bd.md(s.pivot(index="method", columns="horizon", values=col))


def run(name: str, target: str, methods: dict, tune: range, test: range, data: dict) -> None:
    t0 = time.perf_counter()
    res = backtest(
        methods, data, origins=[*tune, *test], horizons=5, target=target, driver="births"
    )
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
    allo = score(res)
    print("\nall origins together (comparable to the README baselines): MAPE %\n")
    print(table(allo, "mape"))
    iv = rolling_intervals(res, chosen, test)
    cov = coverage(iv)
    print("\n80 % empirical intervals (P10–P90 from errors known at the origin), test origins\n")
    print(bd.md(cov.drop(columns="method"), index=False, digits=3))
    n_in = cov["coverage"].mul(cov["n"]).sum() / cov["n"].sum()
    print(
        f"\noverall coverage {100 * n_in:.1f} % of {int(cov['n'].sum())} outcomes ({time.perf_counter() - t0:.1f} s)"
    )


def main() -> None:
    data = {
        "births": bd.births(),
        "primary": bd.indicator("primary_enrolment"),
        "entrants": bd.indicator("primary_new_entrants"),
    }
    print("# Provincial benchmarks (31 provinces, NBS)")
    run(
        "(a) total primary enrolment",
        "primary",
        methods_total(),
        range(2006, 2012),
        range(2012, 2022),
        data,
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
