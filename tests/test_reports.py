"""Charts and the HTML summary page."""

from __future__ import annotations

import pandas as pd
from hostile import with_plan

from planner.reports import (
    demand_capacity_chart,
    gap_before_after_chart,
    gap_by_unit_chart,
    summary_page,
)
from planner.reports.charts import cjk_font
from planner.reports.html import esc

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "${alert(1)}",
    "`x`",
]


def test_escape_covers_html_and_template_contexts():
    for s in HOSTILE:
        e = esc(s)
        assert "<" not in e and ">" not in e and "${" not in e and "`" not in e


def test_summary_page_escapes_every_text():
    df = pd.DataFrame({"name": HOSTILE, "seat_gap": [1, 2, 3, 4]})
    page = summary_page(
        title="t",
        scenario_name=HOSTILE[0],
        base_year=2025,
        headline=df,
        top_gaps=df,
        compliance={HOSTILE[1]: 1},
        equity=df,
        problems={"errors": 0, "warnings": 0},
        files=[(HOSTILE[2], "a.csv")],
    )
    for s in HOSTILE:
        assert s not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "http" not in page  # self-contained: no external resource


def _city():
    years = list(range(2025, 2031))
    return pd.DataFrame(
        {
            "stage": ["primary"] * 6,
            "year": years,
            "norm_seats": [100, 110, 120, 130, 140, 150],
            "required_seats": [100, 110, 120, 130, 140, 150],
            "capacity": [120] * 6,
        }
    )


def test_charts_draw_the_series_with_chinese_labels_when_a_font_exists():
    fig = demand_capacity_chart(_city(), "primary")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 3
    if cjk_font():
        assert ax.get_title() == "小学学位需求与供给"
    needs = pd.DataFrame(
        {
            "unit_id": ["U1", "U2"],
            "name": ["东城", "西山"],
            "stage": "primary",
            "year": 2030,
            "seat_gap": [0, 250],
        }
    )
    fig2 = gap_by_unit_chart(needs, "primary", 2030)
    bars = fig2.axes[0].patches
    assert sorted(b.get_width() for b in bars) == [0, 250]


def test_before_after_chart_sums_unit_gaps_per_period_and_stage():
    after = pd.DataFrame(
        {
            "unit_id": ["U1", "U2", "U1", "U2", "U1"],
            "stage": ["primary", "primary", "primary", "primary", "junior"],
            "year": [2026, 2026, 2030, 2030, 2030],
            "seat_gap": [100, 50, 400, 0, 999],
            "seat_gap_after": [100, 0, 150, 0, 0],
        }
    )
    fig = gap_before_after_chart(after, "primary")
    ax = fig.axes[0]
    heights = [b.get_height() for b in ax.patches]
    # before: 2026 → 150, 2030 → 400; after: 2026 → 100, 2030 → 150 (junior left out)
    assert heights == [150, 400, 100, 150]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026", "2030"]


def test_summary_page_has_the_plan_section_with_key_figures(demo_result):
    from planner.reports.plan_tables import plan_key_figures

    r = with_plan(demo_result)
    r.tables["gaps_after"] = pd.DataFrame(
        {
            "unit_id": ["U01", "U02"],
            "stage": ["primary", "junior"],
            "year": [2030, 2030],
            "seat_gap": [500, 200],
            "seat_gap_after": [100, 0],
        }
    )
    kf = plan_key_figures(r, site_land={"E001": 25_000.0})
    figures = dict(kf["figures"])
    assert figures["规划项目 projects"] == "2 个（新建 1 所，改扩建 1 所）"
    assert figures["新增学位 seats added"] == "1,500 个（小学 1,350，初中 150）"
    assert figures["总投资 investment"] == "1.11 亿元"
    assert figures["新增用地 new land"] == "2.5 公顷（新建学校地块）"
    assert figures["“十五五”（2026—2030年）"].startswith("2 个项目，学位 1,500 个")
    assert figures["未满足需求 unserved（2035年）"] == "小学 7 个，初中 0 个"
    assert kf["periods"].iloc[0].tolist() == ["2030", "500", "100", "200", "0"]
    df = pd.DataFrame({"a": [1]})
    common = dict(
        title="t",
        scenario_name="s",
        base_year=2025,
        headline=df,
        top_gaps=df,
        compliance={},
        equity=df,
        problems={"errors": 0, "warnings": 0},
        files=[],
    )
    status = pd.DataFrame(
        [{"step": "map", "status": "failed", "message": "<boom>", "what_to_do": "x"}]
    )
    page = summary_page(**common, plan=kf, status=status)
    assert "规划项目与布局优化" in page and "1,500 个（小学 1,350，初中 150）" in page
    assert "运行状态" in page and "&lt;boom&gt;" in page
    assert "本次运行未做布局优化" in summary_page(**common, plan={})
    assert plan_key_figures(demo_result) == {}
