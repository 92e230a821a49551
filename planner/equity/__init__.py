"""优质均衡 resource indicators and their pupil-weighted 差异系数 (equity check).

The national evaluation (《县域义务教育优质均衡发展督导评估办法》, 教督〔2017〕6号)
judges seven resource indicators per school (B1–B7): qualified, backbone and PE/arts
teachers per 100 pupils; teaching-room and sports area per pupil; equipment value per
pupil; multimedia rooms per 100 pupils. Each school must meet at least six of the
seven (the remaining one at no less than a configurable share of its threshold), and
each indicator's 差异系数 (coefficient of variation across schools) must be within the
limit of its stage — judged indicator by indicator, never averaged.

The 差异系数 is pupil-weighted:

    x̄  = Σ T_i / Σ P_i
    CV = sqrt( Σ (P_i / P) (x_i − x̄)² ) / x̄

with T_i the school's resource total, P_i its pupils and x_i = T_i / P_i. Teaching
points with fewer pupils than ``equity.min_pupils_per_teaching_point`` are excluded.
Every threshold comes from the norms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.norms import Norms

__all__ = ["INDICATORS", "weighted_cv", "stage_resources", "school_indicators", "equity_summary"]

#: indicator → (resource column of the schools table, scale: 100 for "per 100 pupils")
INDICATORS: dict[str, tuple[str, float]] = {
    "teachers_qualified_per_100": ("teachers_qualified", 100.0),
    "teachers_backbone_per_100": ("teachers_backbone", 100.0),
    "teachers_pe_arts_per_100": ("teachers_pe_arts", 100.0),
    "teaching_area_per_pupil": ("teaching_area", 1.0),
    "sports_area_per_pupil": ("sports_area", 1.0),
    "equipment_value_per_pupil": ("equipment_value", 1.0),
    "multimedia_rooms_per_100": ("multimedia_rooms", 100.0),
}

#: Chinese names of the indicators, for tables and maps
INDICATOR_ZH = {
    "teachers_qualified_per_100": "每百名学生拥有高于规定学历教师数",
    "teachers_backbone_per_100": "每百名学生拥有县级以上骨干教师数",
    "teachers_pe_arts_per_100": "每百名学生拥有体育、艺术专任教师数",
    "teaching_area_per_pupil": "生均教学及辅助用房面积",
    "sports_area_per_pupil": "生均体育运动场馆面积",
    "equipment_value_per_pupil": "生均教学仪器设备值",
    "multimedia_rooms_per_100": "每百名学生拥有网络多媒体教室数",
}


def weighted_cv(totals: np.ndarray, pupils: np.ndarray) -> float:
    """Pupil-weighted coefficient of variation (差异系数) of ``totals / pupils``.

    Parameters
    ----------
    totals : array
        Each school's resource total T_i (teachers, m², yuan, rooms).
    pupils : array
        Each school's pupils P_i (> 0).

    Returns
    -------
    float
        ``sqrt(Σ (P_i/P)(x_i − x̄)²) / x̄`` with ``x̄ = ΣT/ΣP``; NaN when there are no
        pupils or the mean is zero.

    Examples
    --------
    >>> round(weighted_cv(np.array([279, 137, 935, 160, 402]), np.array([45, 37, 89, 76, 55])), 4)
    0.5153
    """
    t = np.asarray(totals, dtype=float)
    p = np.asarray(pupils, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p) & (p > 0)
    t, p = t[ok], p[ok]
    if p.sum() <= 0 or t.sum() <= 0:
        return float("nan")
    x = t / p
    xbar = t.sum() / p.sum()
    return float(np.sqrt(np.sum(p / p.sum() * (x - xbar) ** 2)) / xbar)


def stage_resources(schools: pd.DataFrame) -> pd.DataFrame:
    """One row per school × stage taught, resources apportioned by pupil share.

    A nine- or twelve-year school is evaluated in both stages; its teachers, areas,
    equipment and rooms are split in proportion to the pupils of each stage (an
    assumption: schools rarely report them by stage).

    Returns
    -------
    DataFrame
        ``school_id, name, stage, public, pupils, classes`` and the seven resource
        columns (apportioned).
    """
    frames = []
    res_cols = [c for c, _ in INDICATORS.values()]
    pupils_all = schools["students_primary"].astype("Float64").fillna(0) + schools[
        "students_junior"
    ].astype("Float64").fillna(0)
    for stage in ("primary", "junior"):
        pupils = schools[f"students_{stage}"].astype("Float64").fillna(0)
        classes = schools[f"classes_{stage}"].astype("Float64").fillna(0)
        teaches = (classes > 0) | (pupils > 0)
        share = (pupils / pupils_all.where(pupils_all > 0)).fillna(0)
        part = pd.DataFrame(
            {
                "school_id": schools["school_id"],
                "name": schools["name"],
                "stage": stage,
                "public": schools["public"],
                "pupils": pupils,
                "classes": classes,
            }
        )
        for col in res_cols:
            part[col] = schools[col].astype("Float64") * share
        frames.append(part.loc[teaches.to_numpy()])
    return pd.concat(frames, ignore_index=True)


def school_indicators(schools: pd.DataFrame, norms: Norms) -> pd.DataFrame:
    """The seven indicators per school and stage, each against its threshold.

    Parameters
    ----------
    schools : DataFrame
        Canonical schools (per-stage pupils and classes, resource columns).
    norms : Norms
        Thresholds ``equity.<indicator>.<stage>``, ``equity.min_indicators_met`` and
        ``equity.remaining_indicator_share``.

    Returns
    -------
    DataFrame
        Per school × stage: each indicator's value and ``<indicator>_met``; ``n_met``;
        ``passes`` (at least ``min_indicators_met`` met and every other indicator at
        ≥ ``remaining_indicator_share`` of its threshold); ``data_complete``.
    """
    r = stage_resources(schools)
    min_met = int(norms["equity.min_indicators_met"])
    share = float(norms["equity.remaining_indicator_share"])
    n_met = pd.Series(0, index=r.index, dtype="int64")
    near = pd.Series(True, index=r.index)
    complete = pd.Series(True, index=r.index)
    for ind, (col, scale) in INDICATORS.items():
        thr = r["stage"].map(lambda s, ind=ind: float(norms[f"equity.{ind}.{s}"])).astype(float)
        value = (r[col] / r["pupils"].where(r["pupils"] > 0) * scale).astype("Float64")
        r[ind] = value
        # compare at 1e-9 so that 42 teachers / 1,000 pupils × 100 counts as 4.2
        met = (value >= thr - 1e-9).fillna(False).astype(bool)
        r[f"{ind}_met"] = met
        n_met += met.astype("int64")
        near &= (met | (value >= share * thr - 1e-9)).fillna(False).astype(bool)
        complete &= value.notna().to_numpy()
    r["n_met"] = n_met
    r["passes"] = (n_met >= min_met) & near
    r["data_complete"] = complete
    return r


def equity_summary(indicators: pd.DataFrame, norms: Norms) -> pd.DataFrame:
    """差异系数 of each indicator per stage, judged one by one against its limit.

    Parameters
    ----------
    indicators : DataFrame
        From :func:`school_indicators`.
    norms : Norms
        ``equity.cv_limit.<stage>``, ``equity.min_pupils_per_teaching_point`` and the
        thresholds.

    Returns
    -------
    DataFrame
        Per stage × indicator: ``n_schools`` (teaching points with at least the minimum
        pupils), ``mean`` (pupil-weighted x̄), ``threshold``, ``share_schools_met``, ``cv``,
        ``cv_limit``, ``cv_ok``.
    """
    min_pupils = float(norms["equity.min_pupils_per_teaching_point"])
    rows = []
    for stage, grp in indicators.groupby("stage", sort=False):
        g = grp.loc[grp["pupils"] >= min_pupils]
        limit = float(norms[f"equity.cv_limit.{stage}"])
        for ind, (col, scale) in INDICATORS.items():
            gg = g.loc[g[col].notna()]
            totals = gg[col].to_numpy(float) * scale
            pupils = gg["pupils"].to_numpy(float)
            cv = weighted_cv(totals, pupils)
            rows.append(
                {
                    "stage": stage,
                    "indicator": ind,
                    "indicator_zh": INDICATOR_ZH[ind],
                    "n_schools": len(gg),
                    "mean": totals.sum() / pupils.sum() if pupils.sum() > 0 else np.nan,
                    "threshold": float(norms[f"equity.{ind}.{stage}"]),
                    "share_schools_met": float(gg[f"{ind}_met"].mean()) if len(gg) else np.nan,
                    "cv": cv,
                    "cv_limit": limit,
                    # no data is no verdict (NA), never a failure or a pass
                    "cv_ok": bool(cv <= limit) if np.isfinite(cv) else pd.NA,
                }
            )
    out = pd.DataFrame(rows)
    if len(out):
        out["cv_ok"] = out["cv_ok"].astype("boolean")
    return out
