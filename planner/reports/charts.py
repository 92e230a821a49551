"""Charts for the plan draft (图表): demand against capacity, seat gap per unit, before/after.

Matplotlib with a CJK font when one is installed (WenQuanYi Micro Hei, Noto Sans CJK,
Source Han Sans, SimHei, Microsoft YaHei); without one, labels fall back to English so
that no box characters appear. Functions return figures; saving is done by the
caller (:mod:`planner.outputs.run_output`).
"""

from __future__ import annotations

import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

__all__ = [
    "cjk_font",
    "demand_capacity_chart",
    "gap_by_unit_chart",
    "gap_before_after_chart",
    "LABELS",
]

CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)

LABELS = {
    "zh": {
        "primary": "小学",
        "junior": "初中",
        "year": "年份",
        "seats": "学位（个）",
        "required": "规划学位需求",
        "norm": "按千人指标需求",
        "forecast": "预测就学需求（P50）",
        "band": "预测区间 P10–P90",
        "capacity": "学位供给",
        "capacity_after": "规划实施后学位供给",
        "gap": "学位缺口（个）",
        "title_dc": "{stage}学位需求与供给",
        "title_gap": "{year}年{stage}各单元学位缺口",
        "none": "无缺口",
        "before": "规划实施前",
        "after": "规划实施后",
        "title_ba": "{stage}学位缺口：规划实施前后",
    },
    "en": {
        "primary": "Primary",
        "junior": "Junior",
        "year": "Year",
        "seats": "Seats",
        "required": "Planning requirement",
        "norm": "Per-thousand norm",
        "forecast": "Forecast enrolment (P50)",
        "band": "Forecast P10–P90",
        "capacity": "Capacity",
        "capacity_after": "Capacity after the plan",
        "gap": "Seat gap",
        "title_dc": "{stage}: seat demand and capacity",
        "title_gap": "{stage} seat gap by unit, {year}",
        "none": "no gap",
        "before": "Before the plan",
        "after": "After the plan",
        "title_ba": "{stage} seat gap before and after the plan",
    },
}


def cjk_font() -> str | None:
    """The first installed CJK font family, or None."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in names:
            return fam
    return None


def _setup(lang: str) -> tuple[dict[str, str], dict]:
    rc: dict = {"axes.unicode_minus": False}
    if lang == "zh":
        fam = cjk_font()
        if fam is None:
            warnings.warn(
                "no Chinese font installed (e.g. Debian package fonts-wqy-microhei); "
                "charts use English labels",
                stacklevel=3,
            )
            lang = "en"
        else:
            rc["font.family"] = [fam, "DejaVu Sans"]
    return LABELS[lang], rc


def demand_capacity_chart(
    city: pd.DataFrame,
    stage: str,
    *,
    lang: str = "zh",
    capacity_after: pd.Series | None = None,
) -> Figure:
    """Demand against capacity over the years for one stage (city totals).

    Parameters
    ----------
    city : DataFrame
        ``stage, year, norm_seats, required_seats, capacity`` and, when a forecast
        exists, ``forecast_p10, forecast_p50, forecast_p90``.
    stage : {"primary", "junior"}
        The stage to draw.
    lang : {"zh", "en"}
        Label language (English when no Chinese font is installed).
    capacity_after : Series, optional
        Capacity by year after the proposed plan (before/after comparison).
    """
    lab, rc = _setup(lang)
    c = city.loc[city["stage"] == stage].sort_values("year")
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
        y = c["year"].to_numpy()
        if {"forecast_p10", "forecast_p90"} <= set(c.columns) and c["forecast_p50"].notna().any():
            ax.fill_between(
                y,
                c["forecast_p10"],
                c["forecast_p90"],
                color="#9ecae1",
                alpha=0.5,
                label=lab["band"],
            )
            ax.plot(y, c["forecast_p50"], color="#3182bd", lw=1.5, label=lab["forecast"])
        ax.plot(y, c["norm_seats"], color="#636363", lw=1.2, ls="--", label=lab["norm"])
        ax.plot(y, c["required_seats"], color="#e6550d", lw=2.2, label=lab["required"])
        ax.step(y, c["capacity"], where="post", color="#31a354", lw=2.2, label=lab["capacity"])
        if capacity_after is not None:
            ax.step(
                capacity_after.index,
                capacity_after.to_numpy(),
                where="post",
                color="#756bb1",
                lw=2.0,
                ls="-.",
                label=lab["capacity_after"],
            )
        ax.set_title(lab["title_dc"].format(stage=lab[stage]))
        ax.set_xlabel(lab["year"])
        ax.set_ylabel(lab["seats"])
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
    return fig


def gap_by_unit_chart(needs: pd.DataFrame, stage: str, year: int, *, lang: str = "zh") -> Figure:
    """Horizontal bars: the seat gap of every unit in one year and stage (largest on top)."""
    lab, rc = _setup(lang)
    n = needs.loc[(needs["stage"] == stage) & (needs["year"] == year)]
    n = n.sort_values("seat_gap")
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(8, max(3.0, 0.28 * len(n) + 1)), dpi=120)
        names = n["name"].fillna(n["unit_id"]).astype(str).to_numpy()
        gaps = n["seat_gap"].to_numpy(float)
        colours = np.where(gaps > 0, "#de2d26", "#bdbdbd")
        ax.barh(names, gaps, color=colours)
        for yi, g in enumerate(gaps):
            ax.text(g, yi, f" {g:,.0f}" if g > 0 else f" {lab['none']}", va="center", fontsize=7)
        ax.set_title(lab["title_gap"].format(stage=lab[stage], year=year))
        ax.set_xlabel(lab["gap"])
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
    return fig


def gap_before_after_chart(gaps_after: pd.DataFrame, stage: str, *, lang: str = "zh") -> Figure:
    """Grouped bars: the city seat gap in each plan period before and after the plan.

    Parameters
    ----------
    gaps_after : DataFrame
        Per unit × stage × period: ``stage, year, seat_gap, seat_gap_after`` (the siting
        result's ``gaps_after`` table). The city figure is the sum of the unit gaps, as
        in the needs list (a surplus in one unit does not fill another's gap).
    stage : {"primary", "junior"}
        The stage to draw.
    lang : {"zh", "en"}
        Label language (English when no Chinese font is installed).
    """
    lab, rc = _setup(lang)
    g = (
        gaps_after.loc[gaps_after["stage"] == stage]
        .groupby("year")[["seat_gap", "seat_gap_after"]]
        .sum()
        .sort_index()
    )
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
        x = np.arange(len(g))
        w = 0.38
        for off, col, colour, key in (
            (-w / 2, "seat_gap", "#de2d26", "before"),
            (w / 2, "seat_gap_after", "#756bb1", "after"),
        ):
            v = g[col].to_numpy(float)
            ax.bar(x + off, v, w, color=colour, label=lab[key])
            for xi, vi in zip(x + off, v, strict=True):
                ax.text(xi, vi, f"{vi:,.0f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [str(y) for y in g.index])
        ax.set_title(lab["title_ba"].format(stage=lab[stage]))
        ax.set_xlabel(lab["year"])
        ax.set_ylabel(lab["gap"])
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
    return fig
