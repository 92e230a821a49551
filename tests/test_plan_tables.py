"""Tables for the plan draft: gap after the plan, 建设项目表, 分年度学位需求表, the workbook."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from planner.gaps import gaps_after_plan
from planner.outputs.writers import write_excel
from planner.reports.plan_tables import five_year_plan, needs_sheet, notes_sheet, project_sheet

# ---------------------------------------------------------------- toy data


def _needs() -> pd.DataFrame:
    rows = []
    for unit, name, req in (
        ("U1", "东城街道", (1000, 1100, 1200)),
        ("U2", "西山镇", (500, 480, 450)),
    ):
        for y, r in zip((2025, 2026, 2027), req, strict=True):
            for stage, cap in (("primary", 1050), ("junior", 400)):
                gap = max(r - cap, 0)
                rows.append(
                    {
                        "unit_id": unit,
                        "name": name,
                        "stage": stage,
                        "year": y,
                        "required_seats": r,
                        "capacity": cap,
                        "seat_gap": gap,
                        "surplus": max(cap - r, 0),
                    }
                )
    return pd.DataFrame(rows)


def _projects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": ["new", "expansion", "expansion", "new"],
            "name": ["东城教育用地1", '=HYPERLINK("http://x","y")', "西山中学", "东城教育用地2"],
            "unit_id": ["U1", "U1", "U2", "U1"],
            "ref": ["E1", "P1", "J1", "E2"],
            "school_type": ["primary", "primary", "junior", "nine_year"],
            "classes_primary": [24, 6, 0, 12],
            "classes_junior": [0, 0, 3, 6],
            "seats_primary": [1080, 270, 0, 540],
            "seats_junior": [0, 0, 150, 300],
            "cost": [2.0e8, 1.35e7, 7.5e6, 1.5e8],
            "year": [2026, 2026, 2030, 2031],
            "seats": [1080, 270, 150, 840],
        }
    )


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("year", "want"),
    [
        (2021, ("十四五", 2021, 2025)),
        (2026, ("十五五", 2026, 2030)),
        (2030, ("十五五", 2026, 2030)),
        (2031, ("十六五", 2031, 2035)),
        (2040, ("十七五", 2036, 2040)),
        (1966, ("三五", 1966, 1970)),
    ],
)
def test_five_year_plan_periods(year, want):
    assert five_year_plan(year) == want


def test_gap_after_the_plan_by_hand():
    g = gaps_after_plan(_needs(), _projects()).set_index(["unit_id", "stage", "year"]).sort_index()
    # U1 primary: 1,050 seats; 1,350 more from 2026 (1,080 new + 270 expansion)
    assert g.loc[("U1", "primary", 2025), "added_seats"] == 0
    assert g.loc[("U1", "primary", 2026), "added_seats"] == 1350
    assert g.loc[("U1", "primary", 2027), "capacity_after"] == 2400
    assert g.loc[("U1", "primary", 2027), "seat_gap"] == 150  # 1,200 − 1,050
    assert g.loc[("U1", "primary", 2027), "seat_gap_after"] == 0
    assert g.loc[("U1", "primary", 2027), "surplus_after"] == 1200
    # U1 junior: 400 seats against 1,000–1,200; the junior seats open only in 2031
    assert (g.loc[("U1", "junior"), "added_seats"] == 0).all()
    assert g.loc[("U1", "junior", 2027), "seat_gap_after"] == 800
    # U2 junior: 150 seats in 2030, after the last year of the table
    assert g.loc[("U2", "junior", 2027), "seat_gap_after"] == 50
    # no plan: after = before
    none = gaps_after_plan(_needs(), None)
    assert (none["seat_gap_after"] == none["seat_gap"]).all()


def test_project_sheet_subtotals_per_year_and_five_year_plan():
    sheet = project_sheet(
        _projects(),
        unit_names={"U1": "东城街道", "U2": "西山镇"},
        site_land={"E1": 21600.0, "E2": 30000.0},
    )
    f = sheet.frame
    kinds = list(sheet.row_kinds)
    # 2026: two projects; 2030: one, then the 十五五 total; 2031: one, 十六五, the total
    year_2026 = ["item", "item", "subtotal"]
    year_2030 = ["item", "subtotal", "period"]
    year_2031 = ["item", "subtotal", "period", "total"]
    assert kinds == [*year_2026, *year_2030, *year_2031]
    assert list(f["序号"].dropna()) == [1, 2, 3, 4]
    assert list(f.loc[f["序号"].notna(), "建设性质"]) == ["新建", "改扩建", "改扩建", "新建"]
    assert list(f.loc[f["序号"].notna(), "学段"]) == ["小学", "小学", "初中", "九年一贯制"]
    sub = f.set_index("镇街")
    assert sub.loc["2026年小计", "学位（个）"] == 1350
    assert sub.loc["2026年小计", "投资（万元）"] == pytest.approx(21350)
    assert sub.loc["2026年小计", "用地面积（m²）"] == 21600  # expansions add no land
    assert sub.loc["2026年小计", "学校/地块"] == "2 个项目"
    plan15 = "“十五五”合计（2026—2030年）"
    assert sub.loc[plan15, "学位（个）"] == 1500 and sub.loc[plan15, "班数"] == 33
    assert sub.loc["“十六五”合计（2031—2035年）", "学位（个）"] == 840
    assert sub.loc["总计", "学位（个）"] == 2340
    assert sub.loc["总计", "投资（万元）"] == pytest.approx(37100)
    years = f.loc[f["序号"].notna(), "投用年份"]
    assert list(years) == [2026, 2026, 2030, 2031]


def test_needs_sheet_city_rows_sum_unit_gaps():
    sheet = needs_sheet(gaps_after_plan(_needs(), _projects()))
    f = sheet.frame
    city = f.loc[f["镇街"] == "全市合计"].set_index(["学段", "年份"])
    # primary 2027: U1 gap 150, U2 surplus 600 (not netted): city gap 150, after 0
    assert city.loc[("小学", 2027), "学位缺口（个）"] == 150
    assert city.loc[("小学", 2027), "规划实施后学位缺口（个）"] == 0
    assert city.loc[("初中", 2025), "学位缺口（个）"] == 600 + 100
    assert (sheet.row_kinds[f["镇街"] == "全市合计"] == "subtotal").all()


# ---------------------------------------------------------------- the workbook


@pytest.fixture
def workbook(tmp_path):
    sheet = project_sheet(
        _projects(), unit_names={"U1": "东城街道", "U2": "西山镇"}, site_land={"E1": 21600.0}
    )
    plain = pd.DataFrame(
        {
            "名称": ["+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx", "普通"],
            "大班额": [True, False, True, None, False],
            "年份": [2025, 2026, 2027, 2028, 2029],
            "学位（个）": [1200, 35000, 0, 5, 7],
            "比例": [0.5, 0.25, 0.125, 1.0, 0.0],
        }
    )
    plain_sheet = notes_sheet([("情景", "名称", "=1+1"), ("标准", "千人学位数", "80")])
    from planner.reports.plan_tables import PlanSheet

    path = write_excel(
        {
            "建设项目表": sheet,
            "数据": PlanSheet(frame=plain, formats={"年份": "0", "比例": "0.0%"}, autofilter=True),
            "说明": plain_sheet,
        },
        tmp_path / "t.xlsx",
    )
    return openpyxl.load_workbook(path)


def test_workbook_number_formats_and_yes_no(workbook):
    ws = workbook["数据"]
    head = [c.value for c in ws[1]]
    assert head == ["名称", "大班额", "年份", "学位（个）", "比例"]
    assert ws["B2"].value == "是" and ws["B3"].value == "否" and ws["B5"].value is None
    assert ws["C2"].value == 2025 and ws["C2"].number_format == "0"  # no "2,025"
    assert ws["D3"].value == 35000 and ws["D3"].number_format == "#,##0"
    assert ws["E4"].number_format == "0.0%"
    ws = workbook["建设项目表"]
    cols = {c.value: c.column_letter for c in ws[1]}
    assert ws[f"{cols['投资（万元）']}2"].value == pytest.approx(20000)
    assert ws[f"{cols['投资（万元）']}2"].number_format == "#,##0.0"
    assert ws[f"{cols['投用年份']}2"].number_format == "0"


def test_workbook_text_is_never_a_formula(workbook):
    ws = workbook["数据"]
    for row in range(2, 6):
        cell = ws.cell(row=row, column=1)
        assert cell.data_type == "s", cell.value
    assert ws["A2"].value == "+cmd|' /C calc'!A0" and ws["A4"].value == "-2+3"
    names = [c.value for c in workbook["建设项目表"]["C"]]
    assert '=HYPERLINK("http://x","y")' in names
    cell = next(c for c in workbook["建设项目表"]["C"] if str(c.value).startswith("="))
    assert cell.data_type == "s"
    assert workbook["说明"]["C2"].data_type == "s"
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row)


def test_workbook_subtotal_rows_are_bold(workbook):
    ws = workbook["建设项目表"]
    by_label = {ws.cell(row=r, column=2).value: r for r in range(2, ws.max_row + 1)}
    for label in ("2026年小计", "“十五五”合计（2026—2030年）", "总计"):
        r = by_label[label]
        assert ws.cell(row=r, column=7).font.b, label
    first_item = 2
    assert not ws.cell(row=first_item, column=7).font.b
    assert ws.cell(row=by_label["2026年小计"], column=7).value == 1350


def test_workbook_print_setup_and_frozen_header(workbook):
    for ws in workbook.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.page_setup.orientation == "landscape"
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1"
        assert "&P" in ws.oddFooter.center.text
        assert ws[1][0].font.b
    assert workbook["数据"].auto_filter.ref == "A1:E6"
    assert workbook["建设项目表"].auto_filter.ref is None  # subtotal rows: no filter
    # widths follow the content, CJK counted double
    ws = workbook["建设项目表"]
    assert ws.column_dimensions["B"].width >= 12
    assert workbook["说明"]["C2"].alignment.wrap_text
