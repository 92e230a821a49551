"""The HTML summary page of a run (成果汇总页): self-contained, every text escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["summary_page", "esc"]

_CSS = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;
color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.bad{color:#b00;font-weight:bold}.ok{color:#080}
.note{color:#666;font-size:.85em}img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.failed{border:2px solid #b00;padding:.3em 1em;color:#900;margin:1em 0}
dl.kf{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em}dl.kf dt{color:#555}
dl.kf dd{margin:0;font-weight:bold}
"""


def _pairs(rows: Iterable[tuple[str, object]]) -> str:
    return (
        "<dl class='kf'>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
        + "</dl>"
    )


def _plan_section(plan: Mapping[str, object] | None) -> list[str]:
    """规划项目与布局优化: key figures, gap before/after, the solver's proof."""
    out = ["<h2>规划项目与布局优化 Plan (siting)</h2>"]
    if not plan:
        out.append(
            "<p>本次运行未做布局优化 (no siting in this run): 在情景文件中设 "
            "<code>[siting] enabled = true</code> 并提供候选地块，或运行 "
            "<code>planner run --siting</code>。</p>"
        )
        return out
    out.append(_pairs(plan.get("figures", [])))  # type: ignore[arg-type]
    periods = plan.get("periods")
    if isinstance(periods, pd.DataFrame) and len(periods):
        out.append("<h3>各规划时点学位缺口：实施前后 seat gap before / after the plan</h3>")
        out.append(_table(periods))
    solver = plan.get("solver")
    if solver:
        out.append("<h3>求解 solver</h3>")
        out.append(_pairs(solver))  # type: ignore[arg-type]
    out.append(
        "<p class='note'>项目清单见 results.xlsx 的“建设项目表”（分年度小计、五年规划合计），"
        "分年度学位需求见“分年度学位需求表”；GIS 图层见 results.gpkg（QGIS 直接打开即带样式）。"
        "</p>"
    )
    return out


def esc(value: object) -> str:
    """Escape any value for HTML text and attribute contexts (``&<>"'`` and ``$``/backtick)."""
    s = html.escape(str(value), quote=True)
    return (
        s.replace("$", "&#36;").replace("`", "&#96;").replace("{", "&#123;").replace("}", "&#125;")
    )


def _table(df: pd.DataFrame, formats: Mapping[str, str] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, float | int) and not isinstance(v, bool) and c in formats:
                v = format(v, formats[c])
            cells.append(f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def summary_page(
    *,
    title: str,
    scenario_name: str,
    base_year: int,
    headline: pd.DataFrame,
    top_gaps: pd.DataFrame,
    compliance: Mapping[str, object],
    equity: pd.DataFrame,
    problems: Mapping[str, int],
    files: Iterable[tuple[str, str]],
    charts: Iterable[tuple[str, str]] = (),
    maps: Iterable[tuple[str, str]] = (),
    plan: Mapping[str, object] | None = None,
    status: pd.DataFrame | None = None,
) -> str:
    """Render the summary page.

    Parameters
    ----------
    title, scenario_name : str
        Page title and the scenario's name.
    base_year : int
        The scenario's base year.
    headline : DataFrame
        Seat gap per stage at the milestone years.
    top_gaps : DataFrame
        Units with the largest gaps.
    compliance : mapping
        Counts of 大班额 / 大校额 schools.
    equity : DataFrame
        The 差异系数 table.
    problems : mapping
        Counts of validation errors and warnings.
    files, charts, maps : iterable of (label, relative path)
        Links and images; paths are relative to the page.
    plan : mapping, optional
        The siting section: ``figures`` and ``solver`` as (label, value) rows,
        ``periods`` (seat gap before and after the plan), from
        :func:`planner.reports.plan_tables.plan_key_figures`; empty or None: the run
        planned no schools.
    status : DataFrame, optional
        The steps that did not end ok (``step, status, message, what_to_do``), shown
        first; None when every step ended ok.
    """
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>情景 Scenario: <b>{esc(scenario_name)}</b> · 基期 base year {esc(base_year)} · "
        f"数据问题 validation: {esc(problems.get('errors', 0))} 错误 errors, "
        f"{esc(problems.get('warnings', 0))} 警告 warnings</p>",
        *(
            [
                "<h2 class='bad'>运行状态 Run status: not every step completed</h2>",
                _table(status),
            ]
            if status is not None and len(status)
            else []
        ),
        "<h2>学位缺口 Seat gap (sum of unit gaps)</h2>",
        _table(headline),
        *_plan_section(plan),
        "<h2>缺口最大的单元 Units with the largest gaps</h2>",
        _table(top_gaps),
        "<h2>大班额 / 大校额</h2>",
        "<ul>"
        + "".join(f"<li>{esc(k)}: <b>{esc(v)}</b></li>" for k, v in compliance.items())
        + "</ul>",
        "<h2>优质均衡 差异系数 (coefficient of variation per indicator)</h2>",
        _table(equity, {"cv": ".3f", "cv_limit": ".2f"}),
    ]
    charts = list(charts)
    if charts:
        parts.append("<h2>图表 Charts</h2>")
        parts += [
            f"<p>{esc(lab)}<br><img src='{esc(p)}' alt='{esc(lab)}'></p>" for lab, p in charts
        ]
    maps = list(maps)
    if maps:
        parts.append("<h2>地图 Maps</h2><ul>")
        parts += [f"<li><a href='{esc(p)}'>{esc(lab)}</a></li>" for lab, p in maps]
        parts.append("</ul>")
    parts.append("<h2>文件 Files</h2><ul>")
    parts += [f"<li><a href='{esc(p)}'>{esc(lab)}</a></li>" for lab, p in files]
    parts.append(
        "</ul><p class='note'>Generated by planner. Synthetic demo data are labelled as such.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
