"""County benchmark of the pipeline: school-age population 2020 from the 2010 census.

Run:  .venv/bin/python benchmarks/forecast/bench_county.py

The forecast is :func:`planner.forecast.pipeline.forecast_units` — the function
``planner run`` calls — with base year 2010 and horizon 2020, once per population
method of the registry (and ``"auto"``), on:

* the counties' 2010 census tables by sex and age (``0``, ``1–4``, ``5–9`` … ``85+``);
* their births of 2010 (crude birth rate of the 2010 census × population), the anchor
  of the births after 2010;
* the provinces' 2000 and 2010 census tables (both sexes), as **parent units**: a
  county has a single table, so Hamilton–Perry and the ratio model borrow its
  province's cohort-change ratios 2000 → 2010 (the ratio model adjusts them by a
  covariate model learnt across the provinces, :mod:`planner.forecast.population`).

Targets (2020 census, the same counties): ages 6–11, 12–14, 10–14 and 0–14. The census
tables are in five-year groups, so 6–11 and 12–14 take 4/5 of 5–9 + 2/5 of 10–14 and
3/5 of 10–14 (an even split inside a group), for the forecast and the census alike.
Counties are matched on code **and** name; pairs whose total changed by a factor
outside 0.5–2 are screened out as boundary changes. Guangdong is not in the data.

No 2020 figure enters any forecast (the 2020 table is read for scoring only, after the
forecasts are made; the data folder's city table, which holds 2020 figures, is never
read). There is one origin and one horizon (10 years) per county: no backtest is
possible on a county's own history, so ``"auto"`` falls back to the registry's first
method that can run (``cohort_component``) and the pipeline gives no interval (it has
no errors to calibrate one on) — reported as such.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data as bd
from planner.forecast import regroup
from planner.forecast.pipeline import ForecastData, ForecastSettings, forecast_units
from planner.forecast.population import school_age

GROUPS = {"6–11": (6, 11), "12–14": (12, 14), "10–14": (10, 14), "0–14": (0, 14)}
METHODS = (
    "auto",
    "cohort_component",
    "hamilton_perry",
    "ratio_model",
    "births_trend",
    "cohort_component+hamilton_perry",
    "cohort_component+ratio_model",
)


def matched_counties() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    p10, a10 = bd.county(2010)
    p20, a20 = bd.county(2020)
    keys = a10.merge(a20, on=["code", "name"], suffixes=("_2010", "_2020"))
    tot10 = p10.groupby("code")["population"].sum()
    tot20 = p20.groupby("code")["population"].sum()
    keys["growth"] = keys["code"].map(tot20) / keys["code"].map(tot10)
    keys["screened"] = ~keys["growth"].between(0.5, 2.0)
    ok = keys.loc[~keys["screened"], "code"]
    info = {"2010 counties": len(a10), "2020 counties": len(a20), "matched on code+name": len(keys)}
    info["screened (growth outside 0.5–2)"] = int(keys["screened"].sum())
    info["evaluated"] = len(ok)
    attrs = a10.loc[a10["code"].isin(ok)]
    return p10[p10["code"].isin(ok)], p20[p20["code"].isin(ok)], attrs, pd.Series(info)


def county_data() -> tuple[ForecastData, pd.DataFrame, pd.Series]:
    p10, p20, attrs, info = matched_counties()
    pop10 = p10.rename(columns={"code": "unit_id", "population": "value"})
    tot = pop10.groupby("unit_id")["value"].sum()
    rate = attrs.set_index("code")["birth_rate_permille"]
    births = (tot * rate.reindex(tot.index) / 1000.0).dropna().rename("value").reset_index()
    births = births.rename(columns={"index": "unit_id"}).assign(year=2010)
    prov = bd.province_age().rename(columns={"population": "value"})
    parents = {u: bd.PROVINCE_CODES[int(u[:2])] for u in pop10["unit_id"].unique()}
    data = ForecastData(
        births=births[["unit_id", "year", "value"]],
        population=pd.concat([pop10, prov], ignore_index=True),
        parents=parents,
        units=sorted(pop10["unit_id"].unique()),
    )
    actual = regroup(p20.rename(columns={"code": "unit_id"}), width=5, open_age=85)
    return data, actual, info


def scores(forecast: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for label, g in forecast.groupby("age_group", sort=False):
        a = actual.loc[actual["age_group"] == label].set_index("unit_id")["value"]
        f = g.set_index("unit_id")["value"]
        j = pd.concat([f.rename("f"), a.rename("a")], axis=1).dropna()
        j = j[j["a"] > 0]
        pe = 100 * (j["f"] - j["a"]) / j["a"]
        rows.append(
            {
                "ages": label,
                "mape": pe.abs().mean(),
                "mdape": pe.abs().median(),
                "malpe": pe.mean(),
                "p90_ape": pe.abs().quantile(0.9),
                "n": len(j),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    t0 = time.perf_counter()
    data, actual20, info = county_data()
    actual = school_age(actual20.assign(year=2020), GROUPS)
    base10 = school_age(
        regroup(
            data.population.loc[data.population["unit_id"].isin(data.units)], width=5, open_age=85
        ),
        GROUPS,
    )
    out = []
    timing = {}
    chosen = ""
    for method in METHODS:
        t1 = time.perf_counter()
        s = ForecastSettings(population_method=method, age_groups=GROUPS)
        r = forecast_units(data, base_year=2010, horizon=2020, settings=s)
        timing[method] = time.perf_counter() - t1
        if method == "auto":
            chosen = r.choices.loc[r.choices["chosen"], "candidate"].iloc[0]
        f = r.school_age.loc[r.school_age["year"] == 2020]
        out.append(scores(f, actual).assign(method=method))
    carry = scores(base10, actual).assign(method="carry 2010 forward (baseline)")
    table = pd.concat([carry, *out], ignore_index=True)
    print("# County benchmark (c): the pipeline, 2010 census → 2020 census\n")
    print(bd.md(info.to_frame("counties")))
    print(f"\n`auto` chose **{chosen}** (no backtest possible: one census per county)\n")
    for ages in GROUPS:
        t = table.loc[table["ages"] == ages].drop(columns="ages").set_index("method")
        print(f"\n## ages {ages} in 2020 (10-year horizon), % errors\n")
        print(bd.md(t))
    print("\n80 % intervals: none — the pipeline has no history to calibrate them on here.")
    print("\n" + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items()))
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
