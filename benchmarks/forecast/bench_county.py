"""County benchmark (c): school-age population 2020 from the 2010 census only.

Run:  .venv/bin/python benchmarks/forecast/bench_county.py

Targets: ages 10–14 in 2020 (the 0–4 of 2010) and ages 0–14 in 2020, per county
(Guangdong not in the data). No 2020 information is used by any method. Counties are
matched 2010 ↔ 2020 on code *and* name; pairs whose total population changed by a
factor outside [0.5, 2] are screened out as boundary changes (README caveat).

Methods (the primary one, Hamilton–Perry with provincial ratios, was fixed before
looking at 2020; the others are reported as comparisons, none was tuned on 2020):

* carry forward — the 2010 figure of the same age group;
* cohort, no migration — cohort-component (5-year steps, China 2010 life tables,
  fertility level calibrated per county to its own 2010 children-to-women ratio);
* Hamilton–Perry, provincial CCR — cohort-change ratios 2000→2010 of the province
  (census age tables, both sexes) applied to the county's 2010 population; the
  youngest groups from the county's own 2010 child–woman ratios.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data as bd
from planner.forecast import CohortComponent, HamiltonPerry, regroup


def matched_counties() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
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
    return p10[p10["code"].isin(ok)], p20[p20["code"].isin(ok)], pd.Series(info)


def ages(pop: pd.DataFrame, lo: int, hi: int, col: str) -> pd.Series:
    sel = pop[(pop["age_lo"] >= lo) & (pop["age_lo"] <= hi)]
    return sel.groupby("unit_id")[col].sum()


def main() -> None:
    t0 = time.perf_counter()
    p10, p20, info = matched_counties()
    p10 = p10.rename(columns={"code": "unit_id"})
    p20 = p20.rename(columns={"code": "unit_id"})
    base = regroup(p10, width=5, open_age=85)
    actual = regroup(p20, width=5, open_age=85)
    forecasts = {}
    # carry forward
    forecasts["carry 2010 forward"] = base
    # cohort-component without migration
    cc = CohortComponent(step=5, open_age=85, tfr="calibrate", migration=None).fit(base)
    forecasts["cohort, no migration"] = (
        cc.predict(2).query("horizon == 10").rename(columns={"forecast": "value"})
    )
    # Hamilton–Perry with provincial cohort-change ratios 2000 → 2010
    prov = regroup(bd.province_age(), width=5, open_age=85)
    hp = HamiltonPerry(interval=10, width=5, open_age=85).fit(prov)
    base_t = (
        base.assign(sex="T")
        .groupby(["unit_id", "year", "sex", "age_lo", "age_hi"], as_index=False)["value"]
        .sum()
    )
    to_prov = {u: bd.PROVINCE_CODES[int(u[:2])] for u in base_t["unit_id"].unique()}
    hpf = hp.predict(1, base=base_t, ratio_units=to_prov)
    forecasts["Hamilton–Perry, provincial CCR (primary)"] = hpf.rename(
        columns={"forecast": "value"}
    )
    # same, CCRs limited to [0.5, 1.5] (Swanson et al. 2010 suggest bounding CCRs)
    hpl = HamiltonPerry(interval=10, width=5, open_age=85, ccr_limits=(0.5, 1.5)).fit(prov)
    hplf = hpl.predict(1, base=base_t, ratio_units=to_prov).rename(columns={"forecast": "value"})
    forecasts["mean of HP (CCR limited to 0.5–1.5) and cohort-no-migration"] = pd.concat(
        [forecasts["cohort, no migration"].assign(sex="T"), hplf]
    )
    rows = []
    for target, (lo, hi) in {"10–14": (10, 10), "0–14": (0, 10)}.items():
        a = ages(actual, lo, hi, "value")
        for name, f in forecasts.items():
            fv = ages(f, lo, hi, "value")
            if name.startswith("mean"):
                fv = fv / 2
            j = pd.concat([fv.rename("f"), a.rename("a")], axis=1).dropna()
            j = j[j["a"] > 0]
            pe = 100 * (j["f"] - j["a"]) / j["a"]
            rows.append(
                {
                    "target": target,
                    "method": name,
                    "mape": pe.abs().mean(),
                    "mdape": pe.abs().median(),
                    "malpe": pe.mean(),
                    "p90_ape": pe.abs().quantile(0.9),
                    "n": len(j),
                }
            )
    out = pd.DataFrame(rows)
    print("# County benchmark (c): 2010 census → 2020 census, ages 10–14 and 0–14\n")
    print(bd.md(info.to_frame("counties")))
    print()
    print(bd.md(out, index=False))
    nat = np.array([actual["value"].sum(), base["value"].sum()])
    print(
        f"\ncounties' total population 2010 {nat[1] / 1e6:.1f} M, 2020 {nat[0] / 1e6:.1f} M "
        f"({time.perf_counter() - t0:.1f} s)"
    )


if __name__ == "__main__":
    main()
