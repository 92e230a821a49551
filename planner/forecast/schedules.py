"""Default demographic schedules (默认人口参数表), with their sources.

Schedules are *inputs* of the projection models; these defaults exist so that a
bureau without its own tables gets sensible, documented values. Replace them with
local tables (e.g. a provincial life table) whenever available.

Sources
-------
* Life expectancy at birth, 2010 census (第六次全国人口普查): both sexes 74.83, men
  72.38, women 77.37 years — National Bureau of Statistics of China, communiqué of
  2012-08-09 and China Statistical Yearbook 2012, table 3-? "平均预期寿命".
  2000 census (第五次全国人口普查): both sexes 71.40, men 69.63, women 73.33 years (same
  NBS yearbook table).
* Infant mortality 13.1 ‰ and under-five mortality 16.4 ‰ in 2010, 32.2 ‰ and 39.7 ‰
  in 2000 — China Health Statistics Yearbook (卫生统计年鉴, 监测地区婴儿及5岁以下儿童死亡率).
* **Information cut**: a default schedule is observed data of a given year, so a
  projection whose latest information is of year *Y* may only use the schedules of
  years ≤ *Y* (:func:`census_life_table`, :func:`observed_tfr`); before the first
  year they cover the call refuses. A backtest from an origin before 2023 therefore
  never sees the later TFR estimates.
* Adult mortality shape: Gompertz–Makeham hazard ``μ(x) = λ + a·exp(b·x)`` with a
  mortality-rate doubling time of 8 years (``b = ln 2 / 8 ≈ 0.087``), the textbook
  human value (Finch 1990, *Longevity, Senescence and the Genome*; Kirkwood 2015,
  Cell 161:1137); ``a`` is solved so that e0 matches the census figure above.
* Total fertility rate: UN World Population Prospects 2024, China (country code 156),
  medium variant estimates — copied below from
  ``benchdata/forecast/un_wpp2024/china_wpp2024_long.csv``.
* Sex ratio at birth 1.18 (117.96 boys per 100 girls in the 2010 census; NBS).
* Age pattern of fertility: a planner assumption, not an observed schedule — a normal
  shape with mean age 28 and standard deviation 5.5 years on ages 15–49 (China's mean
  age at childbearing was ≈ 28–29 in the 2010s). Scale it to any TFR.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from planner.errors import ScheduleError

__all__ = [
    "CHINA_E0_2000",
    "CHINA_E0_2010",
    "CHINA_SRB_2010",
    "WPP2024_CHINA_TFR",
    "census_life_table",
    "default_asfr",
    "observed_tfr",
    "gompertz_life_table",
    "asfr_from_table",
    "china_2010_life_table",
    "life_table_from_survival",
    "survival_from_table",
    "survival_ratios",
    "tfr_for_year",
]

#: e0 by sex, 2010 census (NBS); "T" = both sexes
CHINA_E0_2010: dict[str, float] = {"T": 74.83, "M": 72.38, "F": 77.37}
#: e0 by sex, 2000 census (NBS)
CHINA_E0_2000: dict[str, float] = {"T": 71.40, "M": 69.63, "F": 73.33}
#: infant and under-five mortality 2010 (China Health Statistics Yearbook 2011)
CHINA_IMR_2010 = 0.0131
CHINA_U5MR_2010 = 0.0164
#: infant and under-five mortality 2000 (China Health Statistics Yearbook)
CHINA_IMR_2000 = 0.0322
CHINA_U5MR_2000 = 0.0397
#: census life tables available by default: year → (e0 by sex, IMR, U5MR)
CENSUS_SCHEDULES: dict[int, tuple[dict[str, float], float, float]] = {
    2000: (CHINA_E0_2000, CHINA_IMR_2000, CHINA_U5MR_2000),
    2010: (CHINA_E0_2010, CHINA_IMR_2010, CHINA_U5MR_2010),
}
#: sex ratio at birth (boys per girl), 2010 census
CHINA_SRB_2010 = 1.18

#: UN WPP 2024 medium-variant TFR of China, 2000–2023
WPP2024_CHINA_TFR: dict[int, float] = {
    2000: 1.628053, 2001: 1.562909, 2002: 1.565783, 2003: 1.569671, 2004: 1.604979,
    2005: 1.623820, 2006: 1.644100, 2007: 1.665998, 2008: 1.700515, 2009: 1.714162,
    2010: 1.686548, 2011: 1.668272, 2012: 1.798379, 2013: 1.714028, 2014: 1.769427,
    2015: 1.669555, 2016: 1.771931, 2017: 1.795339, 2018: 1.538705, 2019: 1.496117,
    2020: 1.235682, 2021: 1.117440, 2022: 1.034399, 2023: 0.999488,
}  # fmt: skip


def tfr_for_year(year: int, table: Mapping[int, float] = WPP2024_CHINA_TFR) -> float:
    """TFR of ``year`` from ``table``, or of the latest earlier year listed (held constant)."""
    years = [y for y in table if y <= year]
    return float(table[max(years)] if years else table[min(table)])


def observed_tfr(information_year: int) -> dict[int, float]:
    """The default TFR series (UN WPP 2024, China) as known in ``information_year``.

    Only the estimates of years ≤ ``information_year`` are kept (later years then hold
    the last one, see :func:`tfr_for_year`), so a projection — or a backtest origin —
    never uses a later estimate.

    Raises
    ------
    ScheduleError
        ``information_year`` is before the first year of the series (2000).
    """
    known = {y: v for y, v in WPP2024_CHINA_TFR.items() if y <= int(information_year)}
    if not known:
        raise ScheduleError(
            f"the default TFR series starts in {min(WPP2024_CHINA_TFR)}; a projection whose "
            f"latest information is of {information_year} cannot use it (it would see later "
            "estimates). Give tfr, asfr or tfr='calibrate'."
        )
    return known


def census_life_table(information_year: int) -> pd.DataFrame:
    """Default life tables by sex of the latest census at or before ``information_year``.

    The 2000 and 2010 census tables (:data:`CENSUS_SCHEDULES`), built by
    :func:`gompertz_life_table`; ``sex`` ∈ M, F, T.

    Raises
    ------
    ScheduleError
        No census table is of ``information_year`` or earlier (it would use later
        mortality).
    """
    years = [y for y in CENSUS_SCHEDULES if y <= int(information_year)]
    if not years:
        raise ScheduleError(
            f"the default life tables are of the {', '.join(map(str, CENSUS_SCHEDULES))} "
            f"censuses; a projection whose latest information is of {information_year} "
            "cannot use them (later mortality). Give a survival table of that time."
        )
    return _census_table(max(years)).copy()


@lru_cache(maxsize=4)
def _census_table(year: int) -> pd.DataFrame:
    e0, imr, u5mr = CENSUS_SCHEDULES[year]
    parts = [gompertz_life_table(e0=v, imr=imr, u5mr=u5mr).assign(sex=sex) for sex, v in e0.items()]
    return pd.concat(parts, ignore_index=True)[["sex", "age", "qx", "lx", "Lx", "Tx", "ex"]]


def gompertz_life_table(
    *,
    e0: float,
    imr: float = CHINA_IMR_2010,
    u5mr: float = CHINA_U5MR_2010,
    doubling_time: float = 8.0,
    makeham: float = 2e-4,
    max_age: int = 110,
) -> pd.DataFrame:
    """Single-year life table with infant/child mortality given and Gompertz–Makeham adults.

    Parameters
    ----------
    e0 : float
        Target life expectancy at birth (years).
    imr, u5mr : float
        Probability of dying before age 1 and before age 5.
    doubling_time : float
        Mortality-rate doubling time of the Gompertz part (years).
    makeham : float
        Age-independent hazard λ.
    max_age : int
        Start of the open age interval.

    Returns
    -------
    DataFrame
        ``age, qx, lx, Lx, Tx, ex`` with ``l0 = 1``.
    """
    b = np.log(2.0) / doubling_time
    ages = np.arange(max_age + 1, dtype=float)
    h14 = -np.log((1 - u5mr) / (1 - imr)) / 4.0  # constant hazard on ages 1–4

    def table(a: float) -> pd.DataFrame:
        mu = makeham + a * np.exp(b * (ages + 0.5))
        mu[1:5] = np.maximum(mu[1:5], h14)
        qx = 1 - np.exp(-mu)
        qx[0] = imr
        qx[-1] = 1.0
        lx = np.concatenate([[1.0], np.cumprod(1 - qx)[:-1]])
        Lx = np.empty_like(lx)
        Lx[:-1] = (lx[:-1] + lx[1:]) / 2
        Lx[0] = lx[1] + 0.1 * (
            lx[0] - lx[1]
        )  # a0 = 0.1 (Preston et al. 2001, table 3.3, low mortality)
        Lx[-1] = lx[-1] / mu[-1]
        Tx = np.cumsum(Lx[::-1])[::-1]
        ex = np.divide(Tx, lx, out=np.zeros_like(Tx), where=lx > 0)
        return pd.DataFrame(
            {"age": ages.astype(int), "qx": qx, "lx": lx, "Lx": Lx, "Tx": Tx, "ex": ex}
        )

    a = brentq(lambda a: table(a)["ex"].iloc[0] - e0, 1e-9, 1e-1, xtol=1e-14)
    return table(a)


def china_2010_life_table() -> pd.DataFrame:
    """Default life tables by sex (``sex`` ∈ M, F, T) calibrated to China's 2010 census e0."""
    return census_life_table(2010)


def survival_ratios(life_table: pd.DataFrame, *, width: int, open_age: int) -> pd.DataFrame:
    """Survival ratios for a projection step of ``width`` years.

    Parameters
    ----------
    life_table : DataFrame
        ``[sex,] age, lx, Lx`` single-year table (``l0 = 1``).
    width : int
        Age-group width = projection step (1 or 5).
    open_age : int
        Start of the open age group.

    Returns
    -------
    DataFrame
        ``[sex,] age_lo, survival`` where ``survival`` moves the group starting at
        ``age_lo`` to the next group (``nL_{x+n} / nL_x``); for the last closed group and
        the open group the ratios feed the open group (``nL_A / nL_{A-n}`` and
        ``T_{A+n}/T_A``). A row ``age_lo = -width`` holds the survival of births into the
        first group, ``nL_0 / (n · l_0)``.
    """
    keys = ["sex"] if "sex" in life_table.columns else []
    out = []
    for key, lt in life_table.groupby(keys, sort=True) if keys else [((), life_table)]:
        lt = lt.sort_values("age")
        L = lt.set_index("age")["Lx"]
        max_age = int(L.index.max())
        edges = list(range(0, open_age + 1, width))
        nL = {x: float(L.loc[x : x + width - 1].sum()) for x in edges}
        T = {x: float(L.loc[x:].sum()) for x in range(0, max_age + 1)}
        rows = [(-width, nL[0] / width)]
        for x in edges[:-1]:
            nxt = x + width
            # the last closed group enters the open group at its first n years: nL_A / nL_{A-n}
            rows.append((x, nL[nxt] / nL[x]))
        rows.append((open_age, T[min(open_age + width, max_age)] / T[open_age]))
        df = pd.DataFrame(rows, columns=["age_lo", "survival"])
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True):
            df.insert(0, k, v)
        out.append(df)
    return pd.concat(out, ignore_index=True)


def default_asfr(
    tfr: float = 1.0, *, mean_age: float = 28.0, sd: float = 5.5, width: int = 1
) -> pd.DataFrame:
    """Age-specific fertility rates (births per woman per year) summing to ``tfr``.

    Parameters
    ----------
    tfr : float
        Total fertility rate the schedule is scaled to.
    mean_age, sd : float
        Location and spread of the (normal-shaped) schedule, ages 15–49.
    width : int
        1 for single ages, 5 for five-year groups (rate per woman-year in the group).

    Returns
    -------
    DataFrame
        ``age_lo, asfr`` with ``width · Σ asfr = tfr``.
    """
    ages = np.arange(15, 50)
    dens = np.exp(-0.5 * ((ages + 0.5 - mean_age) / sd) ** 2)
    dens = dens / dens.sum() * tfr
    s = pd.Series(dens, index=ages)
    grouped = s.groupby((s.index // width) * width).sum() / width
    return pd.DataFrame({"age_lo": grouped.index.astype(int), "asfr": grouped.to_numpy()})


# ---- user-supplied schedules (a scenario's survival_table / fertility_table) ----------


def life_table_from_survival(table: pd.DataFrame) -> pd.DataFrame:
    """Single-year life table from one-year survival probabilities.

    Parameters
    ----------
    table : DataFrame
        ``[sex,] age, survival``: the probability of surviving from exact age *x* to
        *x + 1*, ages 0, 1, 2 … contiguous per sex. The last age is the open group: its
        survival (< 1) is the yearly probability of staying alive in it.

    Returns
    -------
    DataFrame
        ``[sex,] age, qx, lx, Lx`` with ``l0 = 1``; ``Lx = (lx + lx+1) / 2``, and for
        the open group ``lx (1 + p) / (2 (1 − p))`` (the same yearly survival ``p`` for
        ever).
    """
    keys = ["sex"] if "sex" in table.columns else []
    out = []
    for key, t in table.groupby(keys, sort=True) if keys else [((), table)]:
        t = t.sort_values("age")
        age = t["age"].to_numpy(dtype=int)
        p = t["survival"].to_numpy(dtype=float)
        label = f" for sex {key[0] if isinstance(key, tuple) else key}" if keys else ""
        if age[0] != 0 or not np.array_equal(age, np.arange(age[0], age[0] + len(age))):
            raise ScheduleError(
                f"survival table{label} must give every age from 0 up, one row each."
            )
        if not ((p > 0) & (p <= 1)).all():
            raise ScheduleError(f"survival table{label}: probabilities must lie in (0, 1].")
        if p[-1] >= 1:
            raise ScheduleError(
                f"survival table{label}: the last age ({age[-1]}) is the open group; its "
                "survival must be below 1."
            )
        lx = np.concatenate([[1.0], np.cumprod(p)[:-1]])
        Lx = np.empty_like(lx)
        Lx[:-1] = (lx[:-1] + lx[1:]) / 2
        Lx[-1] = lx[-1] * (1 + p[-1]) / (2 * (1 - p[-1]))
        df = pd.DataFrame({"age": age, "qx": 1 - p, "lx": lx, "Lx": Lx})
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True):
            df.insert(0, k, v)
        out.append(df)
    return pd.concat(out, ignore_index=True)


def survival_from_table(table: pd.DataFrame, *, width: int, open_age: int) -> pd.DataFrame:
    """Projection survival ratios (as :func:`survival_ratios`) from a survival table.

    A table given for both sexes together (``sex = T`` only, or no ``sex`` column) applies
    to men and women alike. The table must reach the projection's open age.
    """
    t = table.copy()
    if "sex" in t.columns and set(t["sex"]) == {"T"}:
        t = t.drop(columns="sex")
    top = int(t["age"].max())
    if top < open_age:
        raise ScheduleError(
            f"survival table ends at age {top}; the projection needs ages up to {open_age} "
            "(its open age group)."
        )
    return survival_ratios(life_table_from_survival(t), width=width, open_age=open_age)


def asfr_from_table(table: pd.DataFrame, *, width: int = 1) -> pd.DataFrame:
    """Fertility schedule on projection groups from single-year rates.

    Parameters
    ----------
    table : DataFrame
        ``age, asfr``: births per woman per year at each single age (ages not listed
        have no births).
    width : int
        Group width of the projection (1 or 5).

    Returns
    -------
    DataFrame
        ``age_lo, asfr`` (rate per woman-year in the group), ``width · Σ asfr`` = the
        table's TFR.
    """
    if (table["asfr"] < 0).any():
        raise ScheduleError("fertility table: rates must be ≥ 0; correct the negative rates.")
    s = table.set_index("age")["asfr"].astype(float)
    grouped = s.groupby((s.index // width) * width).sum() / width
    return pd.DataFrame({"age_lo": grouped.index.astype(int), "asfr": grouped.to_numpy()})
