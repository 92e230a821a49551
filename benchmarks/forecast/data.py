"""Convert the shared Chinese benchmark data to the planner's long format.

Reads /work/shared/benchdata/forecast (override with $PLANNER_BENCHDATA). Tables:

* ``births``: ``unit_id, year, births`` — province births. 2001–2022 are NBS
  "births_derived" (birth rate × mean population; 2020 missing). Birth years 1988–2000
  are reconstructed from what was known in 2001: the 2000 census counts by province
  (ages 0, 1–4, 5–9, 10–14; a province's share of the national count of the age group
  is applied to every birth year of the group) times national births of UN WPP 2024
  (the national level only; WPP estimates of the 1990s are informed by later censuses),
  rescaled so that the national level joins the NBS series over 2001–2003.
* ``primary``: ``unit_id, year, students`` — total primary enrolment (NBS, 2004–2022).
* ``entrants``: ``unit_id, year, students`` — primary new entrants (2000–2014, 2017 part).
* ``county_2010`` / ``county_2020``: county population by sex and age
  (``unit_id, year, sex, age_lo, age_hi, population``), plus a county attribute table.
* ``province_age``: province population by age (both sexes, ``sex = T``), 2000 and 2010.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

# shared/ lies beside the repository (…/shared/benchdata); $PLANNER_BENCHDATA overrides
_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "benchdata"
ROOT = (
    Path(
        os.environ.get(
            "PLANNER_BENCHDATA", _BESIDE if _BESIDE.exists() else "/work/shared/benchdata"
        )
    )
    / "forecast"
)

PROVINCES = {
    "北京": "Beijing", "天津": "Tianjin", "河北": "Hebei", "山西": "Shanxi", "内蒙古": "Inner Mongolia",
    "辽宁": "Liaoning", "吉林": "Jilin", "黑龙江": "Heilongjiang", "上海": "Shanghai", "江苏": "Jiangsu",
    "浙江": "Zhejiang", "安徽": "Anhui", "福建": "Fujian", "江西": "Jiangxi", "山东": "Shandong",
    "河南": "Henan", "湖北": "Hubei", "湖南": "Hunan", "广东": "Guangdong", "广西": "Guangxi",
    "海南": "Hainan", "重庆": "Chongqing", "四川": "Sichuan", "贵州": "Guizhou", "云南": "Yunnan",
    "西藏": "Tibet", "陕西": "Shaanxi", "甘肃": "Gansu", "青海": "Qinghai", "宁夏": "Ningxia",
    "新疆": "Xinjiang",
}  # fmt: skip
# province codes (first two digits of county codes) → English name
PROVINCE_CODES = {
    11: "Beijing", 12: "Tianjin", 13: "Hebei", 14: "Shanxi", 15: "Inner Mongolia", 21: "Liaoning",
    22: "Jilin", 23: "Heilongjiang", 31: "Shanghai", 32: "Jiangsu", 33: "Zhejiang", 34: "Anhui",
    35: "Fujian", 36: "Jiangxi", 37: "Shandong", 41: "Henan", 42: "Hubei", 43: "Hunan", 44: "Guangdong",
    45: "Guangxi", 46: "Hainan", 50: "Chongqing", 51: "Sichuan", 52: "Guizhou", 53: "Yunnan", 54: "Tibet",
    61: "Shaanxi", 62: "Gansu", 63: "Qinghai", 64: "Ningxia", 65: "Xinjiang",
}  # fmt: skip


def nbs() -> pd.DataFrame:
    return pd.read_csv(ROOT / "cn_nbs_province_annual" / "province_annual_long.csv")


def indicator(name: str, scale: float = 1e4, col: str = "students") -> pd.DataFrame:
    d = nbs()
    d = d[d["indicator"] == name]
    return pd.DataFrame(
        {"unit_id": d["province"], "year": d["year"].astype(int), col: d["value"] * scale}
    )


def wpp() -> pd.DataFrame:
    w = pd.read_csv(ROOT / "un_wpp2024" / "china_wpp2024_long.csv")
    return w.pivot(index="year", columns="indicator", values="value")


def province_age() -> pd.DataFrame:
    p = pd.read_csv(ROOT / "cn_census_province_age_2000_2010" / "province_age_2000_2010.csv")
    p = p[p["province_cn"] != "全国"]
    return pd.DataFrame(
        {
            "unit_id": p["province_cn"].map(PROVINCES),
            "year": p["year"],
            "sex": "T",
            "age_lo": p["age_lo"],
            "age_hi": p["age_hi"],
            "population": p["population"].astype(float),
        }
    )


def births(extend: bool = True) -> pd.DataFrame:
    b = pd.read_csv(ROOT / "cn_nbs_province_annual" / "births_derived.csv")
    out = pd.DataFrame({"unit_id": b["province"], "year": b["year"], "births": b["births_est"]})
    if not extend:
        return out
    p = pd.read_csv(ROOT / "cn_census_province_age_2000_2010" / "province_age_2000_2010.csv")
    p = p[(p["year"] == 2000) & (p["age_lo"] <= 10)]
    nat = p[p["province_cn"] == "全国"].set_index("age_lo")["population"]
    prov = p[p["province_cn"] != "全国"]
    wb = wpp()["births_thousands"] * 1000
    rows = []
    for _, r in prov.iterrows():
        share = r["population"] / nat[r["age_lo"]]
        for age in range(int(r["age_lo"]), int(r["age_hi"]) + 1):
            year = 2000 - age  # census day 1 Nov 2000: age a ≈ born in 2000 − a
            rows.append((PROVINCES[r["province_cn"]], year, share * wb[year]))
    old = pd.DataFrame(rows, columns=["unit_id", "year", "births"])
    # splice: put the reconstructed years on the level of the NBS-derived series
    # (NBS / WPP births over 2001–2003 ≈ 0.90), so that no step appears at 2000/2001
    nbs_sum = out[out["year"].between(2001, 2003)]["births"].sum()
    old["births"] *= nbs_sum / wb.loc[2001:2003].sum()
    return (
        pd.concat([old, out], ignore_index=True)
        .sort_values(["unit_id", "year"])
        .reset_index(drop=True)
    )


AGE_COL = re.compile(r"^([mf])_(\d+)(?:_(\d+)|p)?$")


def county(year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """County population long table and attributes (code, name, province, level)."""
    c = pd.read_csv(
        ROOT / "cn_census_county_2010_2020" / f"county_age_sex_{year}.csv", dtype={"code": str}
    )
    c = c[c["level"] == "county"].copy()
    c["name"] = c["name"].astype(str).str.strip()
    c["code"] = c["code"].str.strip()
    attrs = c[
        ["code", "name", "province", "city"]
        + [x for x in ("birth_rate_permille", "death_rate_permille") if x in c]
    ]
    rows = []
    for col in c.columns:
        m = AGE_COL.match(col)
        if not m:
            continue
        sex, lo, hi = m.group(1).upper(), int(m.group(2)), m.group(3)
        hi = (
            int(hi)
            if hi is not None
            else (lo if col.count("_") == 1 and not col.endswith("p") else np.nan)
        )
        rows.append(
            pd.DataFrame(
                {"code": c["code"], "sex": sex, "age_lo": lo, "age_hi": hi, "population": c[col]}
            )
        )
    pop = pd.concat(rows, ignore_index=True)
    pop.insert(1, "year", year)
    return pop, attrs.reset_index(drop=True)


def md(df: pd.DataFrame, index: bool = True, digits: int = 2) -> str:
    """A DataFrame as a Markdown table (no tabulate dependency)."""
    d = df.reset_index() if index else df
    fmt = [
        [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        for row in d.itertuples(index=False)
    ]
    head = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in fmt]
    return "\n".join(lines)
