"""Tables for the plan draft (规划文本附表): 建设项目表, 分年度学位需求表, 说明.

Pure functions: result tables in, Chinese tables out, each row tagged with its kind
(``item``, ``subtotal``, ``period``, ``total``) so that the writer can set subtotal rows
in bold. The number formats and the print set-up are the writer's
(:func:`planner.outputs.writers.write_excel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PlanSheet",
    "five_year_plan",
    "project_sheet",
    "needs_sheet",
    "notes_sheet",
    "STAGE_ZH",
    "SCHOOL_TYPE_ZH",
]

STAGE_ZH = {"primary": "小学", "junior": "初中"}
SCHOOL_TYPE_ZH = {
    "primary": "小学",
    "junior": "初中",
    "nine_year": "九年一贯制",
    "twelve_year": "十二年一贯制",
}
_KIND_ZH = {"new": "新建", "expansion": "改扩建"}
_DIGITS = "〇一二三四五六七八九"


@dataclass
class PlanSheet:
    """One formatted sheet of the plan workbook.

    Attributes
    ----------
    frame : DataFrame
        The cells, Chinese headers (with units).
    formats : dict
        Excel number format per column (``"#,##0"``, ``"0"`` …); others by type.
    row_kinds : Series, optional
        ``item`` / ``subtotal`` / ``period`` / ``total`` per row (subtotal rows in bold).
    wrap : list of str
        Columns whose text wraps (long notes).
    widths : dict
        Column widths in characters, where the content's width is not right.
    autofilter : bool
        Filter buttons on the header (not on sheets with subtotal rows).
    """

    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    row_kinds: pd.Series | None = None
    wrap: list[str] = field(default_factory=list)
    widths: dict[str, float] = field(default_factory=dict)
    autofilter: bool = False


def _cn_number(n: int) -> str:
    """A number from 1 to 99 in Chinese numerals (十五, 二十一)."""
    tens, ones = divmod(int(n), 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "") if n >= 10 else _DIGITS[ones]


def five_year_plan(year: int) -> tuple[str, int, int]:
    """The five-year plan a year falls in: (name, first year, last year).

    From the third plan (1966–1970) on the plans follow each other in five-year steps;
    the 14th (十四五) is 2021–2025, so the 15th (十五五) is 2026–2030.

    >>> five_year_plan(2028)
    ('十五五', 2026, 2030)
    """
    if int(year) < 1966:
        raise ValueError(f"five-year plans run in five-year steps from 1966 on, not {year}")
    k = 14 + (int(year) - 2021) // 5
    first = 2021 + 5 * (k - 14)
    return f"{_cn_number(k)}五", first, first + 4


def _project_stage(p: pd.Series) -> str:
    if p.get("kind") == "new":
        return SCHOOL_TYPE_ZH.get(str(p.get("school_type")), str(p.get("school_type") or ""))
    parts = [STAGE_ZH[s] for s in ("primary", "junior") if float(p.get(f"seats_{s}", 0) or 0) > 0]
    return "、".join(parts)


def project_sheet(
    projects: pd.DataFrame,
    *,
    unit_names: Mapping[str, str],
    site_land: Mapping[str, float] | None = None,
) -> PlanSheet:
    """建设项目表: one row per project, a subtotal per year, a total per five-year plan.

    Parameters
    ----------
    projects : DataFrame
        The siting result's ``projects`` (``ref, name, unit_id, kind, school_type,
        classes_primary, classes_junior, seats, cost`` in yuan, ``year``).
    unit_names : mapping
        unit_id → name of the 镇街 / planning unit.
    site_land : mapping, optional
        site_id → land area (m²) of the candidate sites; new schools show their site's
        area, expansions none (they stay on their campus).

    Returns
    -------
    PlanSheet
        序号, 镇街, 学校/地块, 建设性质, 学段, 班数, 学位（个）, 用地面积（m²）, 投资（万元）,
        投用年份; after each year's projects a ``YYYY年小计`` row, after the last year of
        a five-year plan a ``十五五合计（2026—2030年）`` row, at the end ``总计``.
    """
    site_land = site_land or {}
    p = projects.assign(_new=projects["kind"] != "new")  # new schools first in each year
    p = p.sort_values(["year", "_new", "unit_id", "ref"], kind="stable").reset_index(drop=True)
    cols = ["序号", "镇街", "学校/地块", "建设性质", "学段", "班数", "学位（个）"]
    cols += ["用地面积（m²）", "投资（万元）", "投用年份"]
    num = ["班数", "学位（个）", "用地面积（m²）", "投资（万元）"]
    rows: list[dict[str, Any]] = []
    kinds: list[str] = []

    def total(sel: pd.DataFrame, label: str, kind: str) -> None:
        block = [r for r, k in zip(rows, kinds, strict=True) if k == "item" and r["_i"] in sel]
        row: dict[str, Any] = {c: None for c in cols}
        row["镇街"] = label
        row["学校/地块"] = f"{len(block)} 个项目"
        for c in num:
            vals = [r[c] for r in block if r[c] is not None and not pd.isna(r[c])]
            row[c] = float(np.sum(vals)) if vals else None
        row["_i"] = -1
        rows.append(row)
        kinds.append(kind)

    n = 0
    years = sorted(p["year"].astype(int).unique()) if len(p) else []
    for i, y in enumerate(years):
        sel = p.index[p["year"].astype(int) == y]
        for j in sel:
            r = p.loc[j]
            n += 1
            land = site_land.get(str(r["ref"])) if r.get("kind") == "new" else None
            classes = float(r.get("classes_primary", 0) or 0) + float(
                r.get("classes_junior", 0) or 0
            )
            rows.append(
                {
                    "序号": n,
                    "镇街": unit_names.get(str(r.get("unit_id")), r.get("unit_id")),
                    "学校/地块": r.get("name") if pd.notna(r.get("name")) else r.get("ref"),
                    "建设性质": _KIND_ZH.get(str(r.get("kind")), str(r.get("kind"))),
                    "学段": _project_stage(r),
                    "班数": classes,
                    "学位（个）": float(r.get("seats", 0) or 0),
                    "用地面积（m²）": float(land) if land is not None and pd.notna(land) else None,
                    "投资（万元）": float(r.get("cost", 0) or 0) / 1e4,
                    "投用年份": int(y),
                    "_i": j,
                }
            )
            kinds.append("item")
        total(set(sel), f"{y}年小计", "subtotal")
        plan, first, last = five_year_plan(y)
        nxt = years[i + 1] if i + 1 < len(years) else None
        if nxt is None or nxt > last:
            in_plan = set(p.index[p["year"].astype(int).between(first, last)])
            total(in_plan, f"“{plan}”合计（{first}—{last}年）", "period")
    if years:
        total(set(p.index), "总计", "total")
    frame = pd.DataFrame(rows, columns=[*cols, "_i"]).drop(columns="_i")
    return PlanSheet(
        frame=frame,
        formats={
            "序号": "0",
            "班数": "#,##0",
            "学位（个）": "#,##0",
            "用地面积（m²）": "#,##0",
            "投资（万元）": "#,##0.0",
            "投用年份": "0",
        },
        row_kinds=pd.Series(kinds, dtype=str),
        widths={"学校/地块": 24, "镇街": 28},
    )


def needs_sheet(gaps: pd.DataFrame, *, unit_names: Mapping[str, str] | None = None) -> PlanSheet:
    """分年度学位需求表: per stage, year and 镇街, with a city row per stage and year.

    Parameters
    ----------
    gaps : DataFrame
        From :func:`planner.gaps.gaps_after_plan` (``unit_id, name, stage, year,
        required_seats, capacity, seat_gap, added_seats, seat_gap_after``).
    unit_names : mapping, optional
        unit_id → name (default: the ``name`` column).

    Returns
    -------
    PlanSheet
        学段, 年份, 镇街, 学位需求, 现状学位供给, 学位缺口, 规划新增学位, 规划实施后学位缺口
        (个); the ``全市合计`` row sums the units (a surplus in one unit does not fill
        another's gap).
    """
    g = gaps.copy()
    if unit_names is not None:
        g["name"] = g["unit_id"].astype(str).map(unit_names).fillna(g["unit_id"])
    cols = {
        "required_seats": "学位需求（个）",
        "capacity": "现状学位供给（个）",
        "seat_gap": "学位缺口（个）",
        "added_seats": "规划新增学位（个）",
        "seat_gap_after": "规划实施后学位缺口（个）",
    }
    rows: list[dict[str, Any]] = []
    kinds: list[str] = []
    for stage in [s for s in ("primary", "junior") if s in set(g["stage"])]:
        for y in sorted(g.loc[g["stage"] == stage, "year"].astype(int).unique()):
            sel = g.loc[(g["stage"] == stage) & (g["year"].astype(int) == y)].sort_values("unit_id")
            for _, r in sel.iterrows():
                rows.append(
                    {
                        "学段": STAGE_ZH[stage],
                        "年份": int(y),
                        "镇街": r["name"],
                        **{zh: float(r[c]) for c, zh in cols.items()},
                    }
                )
                kinds.append("item")
            rows.append(
                {
                    "学段": STAGE_ZH[stage],
                    "年份": int(y),
                    "镇街": "全市合计",
                    **{zh: float(sel[c].sum()) for c, zh in cols.items()},
                }
            )
            kinds.append("subtotal")
    frame = pd.DataFrame(rows, columns=["学段", "年份", "镇街", *cols.values()])
    return PlanSheet(
        frame=frame,
        formats={"年份": "0", **{zh: "#,##0" for zh in cols.values()}},
        row_kinds=pd.Series(kinds, dtype=str),
    )


def notes_sheet(items: list[tuple[str, str, str]]) -> PlanSheet:
    """说明: (section, item, content) rows: scenario, norms with sources, assumptions."""
    frame = pd.DataFrame(items, columns=["类别", "项目", "内容"])
    return PlanSheet(frame=frame, wrap=["内容"], widths={"类别": 12, "项目": 30, "内容": 90})


#: norms shown in the 说明 sheet (the full list is the 采用标准 sheet)
_NOTE_NORMS = ("seats_per_thousand.", "class_cap.", "school_size_cap.", "service_radius.")


def plan_notes(result: Any, *, generated: str, version: str) -> list[tuple[str, str, str]]:
    """The 说明 rows of a run: scenario, norms with sources, assumptions, how to read.

    Parameters
    ----------
    result : RunResult
        The run.
    generated : str
        When the tables were written (shown as is).
    version : str
        The planner's version.
    """
    sc = result.inputs.scenario
    d, st = sc.demand, sc.siting
    meta = result.norms.meta
    out: list[tuple[str, str, str]] = [
        ("情景", "情景名称", sc.name),
        ("情景", "说明", sc.description or "—"),
        ("情景", "基期年 / 规划期末", f"{sc.base_year} 年 / {sc.horizon} 年"),
        ("情景", "情景文件", str(sc.source_file)),
        ("情景", "测算软件", f"planner {version}（{generated} 生成）"),
        ("标准", "采用标准", f"{meta.get('title', result.norms.name)}（{result.norms.name}）"),
    ]
    if sc.norms_override:
        shown = "；".join(f"{k} = {v}" for k, v in sc.norms_override.items())
        out.append(("标准", "本情景调整", shown))
    for _, n in result.norms.to_frame().iterrows():
        if str(n["key"]).startswith(_NOTE_NORMS):
            src = f"{n['source']}" + (f"（{n['note']}）" if n.get("note") else "")
            out.append(("标准", str(n["zh"] or n["key"]), f"{n['value']} {n['unit']}；依据：{src}"))
    basis = {"max": "千人指标与预测取大值", "norm": "千人学位数指标", "forecast": "就学人数预测"}
    out += [
        ("假设", "学位需求口径", basis.get(d.requirement_basis, d.requirement_basis)),
        (
            "假设",
            "新建住宅",
            (
                f"计入（{'按人口 × 千人指标' if d.development_method == 'persons' else '按户 × 生源系数'}，"
                f"每户 {d.persons_per_household} 人，{d.occupancy_years} 年内入住）"
            )
            if d.include_developments
            else "不计入",
        ),
        (
            "假设",
            "就学人数预测",
            "开展（出生 → 入学 → 在校生）" if sc.forecast.enabled else "未开展",
        ),
    ]
    if "projects" in result.tables:
        s = result.tables.get("siting_summary")
        periods = st.periods or sorted({int(y) for y in result.tables["gaps_after"]["year"]})
        out += [
            ("假设", "规划时点", "、".join(f"{y} 年" for y in periods)),
            (
                "假设",
                "建设单价",
                f"新建 {st.cost_per_seat_new / 1e4:,.1f} 万元/学位（另加土地费用），"
                f"改扩建 {st.cost_per_seat_expansion / 1e4:,.1f} 万元/学位",
            ),
            (
                "假设",
                "生均用地",
                f"小学 {st.land_per_pupil.primary:g} m²，初中 {st.land_per_pupil.junior:g} m²",
            ),
            (
                "假设",
                "投资上限",
                "不限" if st.budget is None else f"{st.budget / 1e8:,.2f} 亿元",
            ),
        ]
        if s is not None and len(s):
            r = s.iloc[0]
            out.append(
                (
                    "求解",
                    "优化求解",
                    f"{r['status']}；相对间隙 {float(r['gap']):.2%}"
                    + ("（已证明最优）" if bool(r.get("proven_optimal")) else ""),
                )
            )
    out += [
        (
            "说明",
            "学位缺口",
            "学位需求减现状学位供给，按镇街（规划单元）计算后相加；某一镇街的富余学位不抵其他镇街的缺口。",
        ),
        ("说明", "规划实施后学位缺口", "项目自投用年份起计入所在镇街的学位供给。"),
        ("说明", "投资", "万元；新建项目含地块土地费用，改扩建项目为建设费用。"),
        (
            "说明",
            "用地面积",
            "新建项目为所选地块面积；改扩建项目在原校址内实施，不新增用地，不填。",
        ),
        ("说明", "五年规划", "“十五五”为 2026—2030 年，“十六五”为 2031—2035 年，依此类推。"),
        (
            "说明",
            "数据问题",
            f"{len(result.inputs.report.errors)} 个错误、{len(result.inputs.report.warnings)} 个警告，"
            "详见“数据问题清单”工作表。",
        ),
    ]
    return out


def plan_key_figures(
    result: Any, *, site_land: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The plan's key figures for the summary page (规划主要指标).

    Returns
    -------
    dict
        ``figures``: (label, value) rows (projects, seats, investment, land, the first
        five-year plan after the base year, unserved demand); ``periods``: the city's seat
        gap before and after the plan at each plan period (DataFrame, Chinese headers);
        ``solver``: (label, value) rows of the solver's proof. Empty when the run has no
        plan.
    """
    p = result.tables.get("projects")
    if p is None or not len(p):
        return {}
    site_land = site_land or {}
    new = p.loc[p["kind"] == "new"]
    land = sum(float(site_land.get(str(r), 0) or 0) for r in new["ref"]) if "ref" in p else 0.0
    sp, sj = int(p["seats_primary"].sum()), int(p["seats_junior"].sum())
    figures: list[tuple[str, str]] = [
        (
            "规划项目 projects",
            f"{len(p)} 个（新建 {len(new)} 所，改扩建 {len(p) - len(new)} 所）",
        ),
        ("新增学位 seats added", f"{sp + sj:,} 个（小学 {sp:,}，初中 {sj:,}）"),
        ("总投资 investment", f"{p['cost'].sum() / 1e8:,.2f} 亿元"),
        ("新增用地 new land", f"{land / 1e4:,.1f} 公顷（新建学校地块）"),
    ]
    base = result.inputs.scenario.base_year
    name, first, last = five_year_plan(base + 1)
    q = p.loc[p["year"].astype(int).between(first, last)]
    figures.append(
        (
            f"“{name}”（{first}—{last}年）",
            f"{len(q)} 个项目，学位 {int(q['seats'].sum()):,} 个，投资 "
            f"{q['cost'].sum() / 1e8:,.2f} 亿元",
        )
    )
    un = result.tables.get("unserved")
    if un is not None and len(un):
        y = int(un["year"].max())
        last_un = un.loc[un["year"] == y].groupby("stage")["seats"].sum()
        text = "，".join(f"{STAGE_ZH[s]} {last_un.get(s, 0):,.0f} 个" for s in STAGE_ZH)
        figures.append((f"未满足需求 unserved（{y}年）", text))
    periods = pd.DataFrame()
    ga = result.tables.get("gaps_after")
    if ga is not None and len(ga):
        g = ga.groupby(["year", "stage"])[["seat_gap", "seat_gap_after"]].sum().unstack("stage")
        rows = []
        for y in g.index:
            row: dict[str, Any] = {"年份 year": str(int(y))}
            for s in ("primary", "junior"):
                if ("seat_gap", s) in g.columns:
                    row[f"{STAGE_ZH[s]}缺口 实施前"] = f"{int(g.loc[y, ('seat_gap', s)]):,}"
                    row[f"{STAGE_ZH[s]}缺口 实施后"] = f"{int(g.loc[y, ('seat_gap_after', s)]):,}"
            rows.append(row)
        periods = pd.DataFrame(rows)
    solver: list[tuple[str, str]] = []
    ss = result.tables.get("siting_summary")
    if ss is not None and len(ss):
        r = ss.iloc[0]
        solver = [
            ("求解状态 status", str(r.get("status", ""))),
            ("相对间隙 proven gap", f"{float(r.get('gap', float('nan'))):.2%}"),
            ("已证明最优 proven optimal", "是" if bool(r.get("proven_optimal")) else "否"),
            ("求解时间 solve time", f"{float(r.get('solve_seconds', 0)):,.0f} 秒"),
        ]
        if "distances" in r:
            dist = {"road": "路网距离 road", "straight": "直线距离×绕行系数 straight"}
            solver.append(("距离 distances", dist.get(str(r["distances"]), str(r["distances"]))))
    return {"figures": figures, "periods": periods, "solver": solver}
