"""Reading what bureaus have, and writing safe cells (issue 13): hand-made toy files."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.geo import crs as crsmod
from planner.inputs.canonical import (
    known_headers,
    parse_age_text,
    parse_grade,
    parse_year_text,
    table_specs,
)
from planner.inputs.readers import Layout, decode_text, read_raw_table
from planner.inputs.schema import load_schema
from planner.outputs.safe import (
    is_formula_like,
    neutralise,
    neutralise_frame,
    protect_sheet,
    set_cell,
)
from tests.conftest import codes, load

SPECS = table_specs(load_schema())


# ------------------------------------------------------------------- safe output cells


@pytest.mark.parametrize(
    ("value", "risky"),
    [
        ("=1+1", True),
        ("=cmd|' /C calc'!A0", True),
        ("+1+1", True),
        ("-2+3", True),
        ("@SUM(A1)", True),
        ("\t=1", True),
        ("\r=1", True),
        ("-5", False),
        ("+1.5", False),
        ("-1e3", False),
        ("东城小学", False),
        ("a=b", False),
        ("", False),
        (-5, False),
        (3.2, False),
        (None, False),
    ],
)
def test_formula_like(value, risky):
    assert is_formula_like(value) is risky
    assert (neutralise(value) != value) is risky


@given(st.text())
def test_neutralised_text_never_starts_a_formula(text):
    out = neutralise(text)
    assert not is_formula_like(out)
    assert out == text or out == "'" + text


def test_neutralise_frame_keeps_numbers_and_only_touches_text():
    df = pd.DataFrame({"name": ["=x", "ok", None], "n": [-5, 2, 3], "f": [-1.5, 0.0, np.nan]})
    out = neutralise_frame(df)
    assert out["name"].tolist()[:2] == ["'=x", "ok"] and pd.isna(out["name"].iloc[2])
    pd.testing.assert_series_equal(out["n"], df["n"])
    pd.testing.assert_series_equal(out["f"], df["f"])
    assert df["name"].iloc[0] == "=x"  # the input frame is not changed
    clean = pd.DataFrame({"a": ["x"]})
    assert neutralise_frame(clean) is clean


def test_excel_cells_are_text_not_formulas(tmp_path):
    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    set_cell(ws["A1"], '=HYPERLINK("http://x")')
    set_cell(ws["A2"], -5)
    set_cell(ws["A3"], "@SUM(A1)")
    ws["A4"] = "=1+1"  # written by someone else, then protected
    assert protect_sheet(ws) == 1
    wb.save(tmp_path / "t.xlsx")
    ws2 = load_workbook(tmp_path / "t.xlsx").active
    assert [c.data_type for c in ws2["A"]] == ["s", "n", "s", "s"]
    assert ws2["A1"].value == '=HYPERLINK("http://x")' and ws2["A2"].value == -5
    assert ws2["A1"].quotePrefix and ws2["A3"].quotePrefix


# ------------------------------------------------------------------- BD-09


def test_bd09_published_pair():
    # Beijing railway station, GCJ-02 (116.42703, 39.90245) ↔ BD-09 (116.43351, 39.90851),
    # the example of the R package "cst" (bd2gcj), to the 5 decimals published
    bx, by = crsmod.gcj02_to_bd09(116.42703, 39.90245)
    assert (round(bx, 5), round(by, 5)) == (116.43351, 39.9085) or abs(by - 39.90851) < 2e-5
    gx, gy = crsmod.bd09_to_gcj02(116.43351, 39.90851)
    assert abs(gx - 116.42703) < 2e-5 and abs(gy - 39.90245) < 2e-5


@given(
    st.floats(min_value=100.0, max_value=125.0),
    st.floats(min_value=18.0, max_value=45.0),
)
def test_bd09_round_trip_within_a_centimetre(lon, lat):
    x, y = crsmod.bd09_to_wgs84(*crsmod.wgs84_to_bd09(lon, lat))
    err_m = np.hypot((x - lon) * 111_320 * np.cos(np.radians(lat)), (y - lat) * 110_574)
    assert err_m < 0.01


def test_resolve_datum_names():
    assert crsmod.resolve_datum("BD-09")[1] == "BD-09"
    assert crsmod.resolve_datum("百度坐标")[1] == "BD-09"
    assert crsmod.resolve_datum("gcj02")[1] == "GCJ-02"
    assert crsmod.resolve_datum("WGS84")[1] is None
    with pytest.raises(Exception, match="resolve_datum"):
        crsmod.resolve_crs("BD09")


def test_bd09_csv_is_shifted_to_wgs84(city):
    lon, lat = 113.31, 22.51
    bx, by = crsmod.wgs84_to_bd09(lon, lat)
    city.schools_csv = city.schools_csv.replace("113.31,22.51", f"{bx:.7f},{by:.7f}")
    inp = load(city.write(schools='path = "schools.csv"\ncrs = "BD-09"'))
    p = inp["schools"].set_index("school_id").loc["S1", "geometry"]
    assert abs(p.x - lon) < 1e-6 and abs(p.y - lat) < 1e-6


# ------------------------------------------------------------------- value forms


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("一年级", 1),
        ("九年级", 9),
        ("7年级", 7),
        ("初一", 7),
        ("初三", 9),
        ("G3", 3),
        ("小学二年级", 2),
        ("十年级", None),
        ("年级", None),
    ],
)
def test_parse_grade(text, grade):
    assert parse_grade(text) == grade


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2024", 2024),
        ("2024年", 2024),
        ("２０２４年", 2024),
        ("2023-2024学年", 2023),
        ("2023—24学年度", 2023),
        ("2023-2025学年", None),
        ("2024-01-01 00:00:00", 2024),
        ("2024年12月31日", 2024),
        ("2024/6", 2024),
        ("24年", None),
    ],
)
def test_parse_year_text(text, year):
    assert parse_year_text(text) == year


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("5", (5, 5)),
        ("5岁", (5, 5)),
        ("0-4岁", (0, 4)),
        ("0～4", (0, 4)),
        ("85岁及以上", (85, None)),
        ("100+", (100, None)),
        ("abc", None),
    ],
)
def test_parse_age_text(text, bounds):
    assert parse_age_text(text) == bounds


# ------------------------------------------------------------------- readers


def test_decode_text_detects_boms_utf16_and_legacy_encodings():
    text = "学校代码,学校名称\nS1,东城小学\n"
    assert decode_text(codecs.BOM_UTF8 + text.encode(), None)[1] == "utf-8-sig"
    assert decode_text(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), None)[1] == "utf-16"
    assert decode_text(text.encode("utf-16-le"), None)[1:] == ("utf-16-le", True)
    assert decode_text(text.encode("gbk"), None)[:2] == (text, "gb18030")
    assert decode_text(text.encode(), None)[:2] == (text, "utf-8")
    with pytest.raises(Exception, match="cannot be decoded as ascii"):
        decode_text(text.encode(), "ascii")


def test_title_row_two_row_header_totals_and_notes(tmp_path):
    known = frozenset(known_headers(SPECS["schools"]))
    csv = (
        "示例市中小学基本情况表,,,,\n"
        "学校代码,学校名称,小学部,,备注\n"
        ",,班级数,在校生数,\n"
        "S1,东城小学,24,1100,\n"
        "S2,西城小学,12,500,\n"
        ",,,,\n"
        "合计,,36,1600,\n"
        "注：数据截至2025年9月,,,,\n"
    )
    (tmp_path / "s.csv").write_text(csv, encoding="utf-8")
    raw = read_raw_table(tmp_path / "s.csv", layout=Layout(known_headers=known))
    assert list(raw.frame.columns) == [
        "学校代码",
        "学校名称",
        "小学部/班级数",
        "小学部/在校生数",
        "备注",
    ]
    assert raw.frame["学校代码"].tolist() == ["S1", "S2"]
    assert raw.rows.tolist() == [4, 5]  # the file's own line numbers
    assert {p.code for p in raw.problems} == {"layout_detected", "total_row"}


def test_declared_layout_skip_and_footer_rows(tmp_path):
    csv = "学校代码|学校名称\n（单位：人）|\nS1|东城小学\nS2|西城小学\n制表人：张三|\n"
    (tmp_path / "s.txt").write_text(csv, encoding="utf-8")
    raw = read_raw_table(
        tmp_path / "s.txt",
        layout=Layout(delimiter="|", header_row=1, skip_rows=(2,), footer_rows=1),
    )
    assert raw.frame["学校代码"].tolist() == ["S1", "S2"] and raw.rows.tolist() == [3, 4]


def test_wide_enrolment_and_school_years(city, tmp_path):
    city.write()
    (tmp_path / "enr.csv").write_text(
        "学校代码,学年,一年级,二年级,初一\nS1,2024-2025学年,180,175,\nS2,2024-2025学年,,,300\n",
        encoding="utf-8",
    )
    city.extra = {"enrolment": 'path = "enr.csv"\nwide = { key = "grade" }'}
    inp = load(city.write())
    e = inp["enrolment"].sort_values(["school_id", "grade"])
    assert e[["school_id", "year", "grade", "students"]].values.tolist() == [
        ["S1", 2024, 1, 180],
        ["S1", 2024, 2, 175],
        ["S2", 2024, 7, 300],
    ]


def test_units_per_column_and_suspicious_values(city):
    city.population_csv = (
        "unit_id,year,population\nU1,2024,5\nU2,2024,3.05\nU1,2025,5.1\nU2,2025,3.1\n"
    )
    inp = load(city.write())
    assert "suspicious_unit" in codes(inp) and "not_integer" in codes(inp)
    assert inp.blocking  # every row kept out: the run refuses
    assert any(
        "万" in p.hint for p in inp.report.problems if p.code in ("suspicious_unit", "not_integer")
    )
    inp = load(city.write(population='path = "population.csv"\nunits = { population = "万人" }'))
    assert not inp.blocking
    assert sorted(inp["population"]["population"]) == [30500, 31000, 50000, 51000]


def test_missing_markers_are_missing_never_zero(city):
    for marker in ("NaN", "null", "#N/A", "-"):
        city.schools_csv = city.schools_csv.replace("24,1100", f"24,{marker}")
        inp = load(city.write())
        (p,) = [q for q in inp.report.problems if q.code == "placeholder_value"]
        assert p.id == "S1" and marker in p.message
        assert pd.isna(inp["schools"].set_index("school_id").loc["S1", "students_primary"])
        city.schools_csv = city.schools_csv.replace(f"24,{marker}", "24,1100")


def test_value_aliases_from_the_scenario(city, tmp_path):
    import geopandas as gpd

    from tests.conftest import U1, U2

    city.write()
    gpd.GeoDataFrame(
        {"unit_id": ["U1", "U2"], "name": ["a", "b"], "kind": ["街道", "镇区"]},
        geometry=[U1, U2],
        crs=4326,
    ).to_file(tmp_path / "units.geojson", driver="GeoJSON")
    sc = tmp_path / "scenario.toml"
    text = sc.read_text(encoding="utf-8")
    inp = load(sc)
    (p,) = [q for q in inp.report.problems if q.code == "bad_category"]
    assert p.id == "U2" and "urban" in p.action  # the documented default
    assert inp["units"].set_index("unit_id").loc["U2", "kind"] == "urban"
    assert "bad_category" in inp.flags("unit").get("U2", "")
    sc.write_text(
        text.replace(
            'path = "units.geojson"',
            'path = "units.geojson"\nvalues = { kind = { "镇区" = "town" } }',
        ),
        encoding="utf-8",
    )
    inp = load(sc)
    assert "bad_category" not in codes(inp)
    assert inp["units"].set_index("unit_id").loc["U2", "kind"] == "town"


def test_fulltime_teachers_are_not_qualified_teachers(city):
    city.schools_csv = city.schools_csv.replace("在校生数\n", "在校生数,专任教师数\n").replace(
        "1100\n", "1100,60\n"
    )
    inp = load(city.write())
    (p,) = [q for q in inp.report.problems if q.code == "ambiguous_column"]
    assert p.column == "专任教师数" and "高于规定学历" in p.message
    assert inp["schools"]["teachers_qualified"].isna().all()
    mapped = load(
        city.write(
            schools='path = "schools.csv"\ncrs = "WGS84"\ncolumns = { "专任教师数" = "teachers_qualified" }'
        )
    )
    assert mapped["schools"].set_index("school_id").loc["S1", "teachers_qualified"] == 60


def test_declared_crs_overrides_the_files(city, tmp_path):
    import geopandas as gpd

    from tests.conftest import U1, U2

    city.write()
    gpd.GeoDataFrame(
        {"unit_id": ["U1", "U2"], "name": ["a", "b"], "kind": ["urban", "town"]},
        geometry=[U1, U2],
        crs=3857,  # a wrong label on degrees
    ).to_file(tmp_path / "units.geojson", driver="GeoJSON")
    inp = load(tmp_path / "scenario.toml")
    (p,) = [q for q in inp.report.problems if q.code == "crs_conflict"]
    assert "EPSG:3857" in p.message and "WGS84" in p.message and "scenario's" in p.message
    assert inp["schools"].set_index("school_id").loc["S1", "unit_id"] == "U1"


def test_duplicate_unit_is_kept_out_not_doubled(city, tmp_path):
    import geopandas as gpd

    from tests.conftest import U1, U2

    base = load(city.write())
    gpd.GeoDataFrame(
        {
            "unit_id": ["U1", "U2", "U1"],
            "name": ["a", "b", "dup"],
            "kind": ["urban", "town", "urban"],
        },
        geometry=[U1, U2, U2],
        crs=4326,
    ).to_file(tmp_path / "units.geojson", driver="GeoJSON")
    inp = load(tmp_path / "scenario.toml")
    assert len(inp["units"]) == 2 and set(inp["units"]["name"]) == {"a", "b"}
    assert inp.excluded[["input", "row", "id", "code"]].values.tolist() == [
        ["units", 3, "U1", "duplicate_id"]
    ]
    assert len(base["units"]) == 2


def _empty_xlsx(p):
    pd.DataFrame().to_excel(p, index=False)


def _dated_years_xlsx(p):
    df = pd.DataFrame(
        {"unit_id": ["U1", "U2", "U1", "U2"], "year": [2024, 2024, 2025, 2025]}
        | {"population": [50000, 30000, 51000, 30500]}
    )
    df["year"] = pd.to_datetime(df["year"].astype(str) + "-01-01")
    df.to_excel(p, index=False)


@pytest.mark.parametrize(
    ("name", "content", "spec", "blocking"),
    [
        ("p.xlsx", _empty_xlsx, 'path = "p.xlsx"', ["empty_table"]),
        ("p.csv", b"\xef\xbb\xbf", 'path = "p.csv"', ["empty_table"]),
        ("p.csv", "unit_id,year,population\n\n\n,,\n", 'path = "p.csv"', ["empty_table"]),
        ("p.xlsx", _dated_years_xlsx, 'path = "p.xlsx"', []),
        ("p.xlsx", _dated_years_xlsx, 'path = "p.xlsx"\nsheet = 5', ["unreadable_file"]),
        (".", None, 'path = "."', ["unreadable_file"]),
        ("p.csv", bytes(range(128, 256)) * 3, 'path = "p.csv"', ["unreadable_file"]),
        (
            "p.csv",
            "unit_id,year,population\nU1,2024,5万\n".encode("gbk"),
            'path = "p.csv"\nencoding = "utf-8"',
            ["unreadable_file"],
        ),
        (
            "p.csv",
            "unit_id,year,population\nU1,2024,inf\nU2,2024,1e400\nU1,2025,-inf\nU2,2025,30500\n",
            'path = "p.csv"',
            [],
        ),
        (
            "p.csv",
            "unit_id,year,population\nU1,2024,1\n",
            'path = "p.csv"\nheader_row = 50',
            ["unreadable_file"],
        ),
        (
            "p.csv",
            "unit_id,year,population\nU1,2024,1\n",
            'path = "p.csv"\nwide = { key = "year", value = "foo" }',
            ["bad_column_mapping"],
        ),
    ],
)
def test_hostile_population_files_never_raise(city, name, content, spec, blocking):
    city.write()
    p = city.root / name
    if callable(content):
        content(p)
    elif isinstance(content, bytes):
        p.write_bytes(content)
    elif content is not None:
        p.write_text(content, encoding="utf-8")
    inp = load(city.write(population=spec))
    assert [b.code for b in inp.blocking] == blocking
    if not blocking:
        assert len(inp["population"]) >= 1


def _grid_units():
    import geopandas as gpd
    from shapely.geometry import box

    cells = [
        (f"U{i}{j}", box(113.30 + 0.01 * i, 22.50 + 0.01 * j, 113.31 + 0.01 * i, 22.51 + 0.01 * j))
        for i in range(4)
        for j in range(4)
    ]
    return gpd.GeoDataFrame(
        {"unit_id": [c[0] for c in cells]}, geometry=[c[1] for c in cells], crs=4326
    )


def _points_in(units, rng):
    import geopandas as gpd

    pts, ids = [], []
    for uid, g in zip(units["unit_id"], units.geometry, strict=True):
        x0, y0, x1, y1 = g.bounds
        for _ in range(3):  # inside, away from the edges
            pts.append((rng.uniform(x0 + 0.002, x1 - 0.002), rng.uniform(y0 + 0.002, y1 - 0.002)))
            ids.append(uid)
    x, y = np.array(pts).T
    return gpd.GeoDataFrame({"unit_id": ids}, geometry=gpd.points_from_xy(x, y), crs=4326)


@pytest.mark.parametrize("datum", ["GCJ-02", "BD-09"])
def test_datum_shift_detected_with_stated_units(datum):
    from planner.inputs.checks import detect_datum_shift

    units = _grid_units()
    truth = _points_in(units, np.random.default_rng(1))
    # the file holds shifted degrees but says WGS84: read as they are
    sx, sy = crsmod.to_datum(truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy(), datum)
    read = truth.set_geometry(gpd_points(sx, sy))
    out, (p,) = detect_datum_shift(read, units, "schools.csv", "WGS84", what="schools")
    assert p.code == "datum_shift" and p.severity == "error" and f"looks like {datum}" in p.message
    assert "of 48 schools lie in the unit" in p.message and "converted" in p.action
    err = np.hypot(out.geometry.x - truth.geometry.x, out.geometry.y - truth.geometry.y)
    assert float(err.max()) < 1e-7
    # read right, nothing to say
    assert detect_datum_shift(truth, units, "schools.csv", "WGS84") == (truth, [])


def test_datum_shift_without_stated_units_is_only_said():
    import geopandas as gpd

    from planner.inputs.checks import detect_datum_shift

    units = _grid_units()  # 113.30–113.34°E
    # schools just inside the east edge; their GCJ-02 degrees lie some 560 m east, outside
    y = np.linspace(22.502, 22.538, 12)
    x = np.full(12, 113.3375)
    gx, gy = crsmod.wgs84_to_gcj02(x, y)
    read = gpd.GeoDataFrame(
        {"unit_id": pd.array([pd.NA] * 12, dtype="string")}, geometry=gpd_points(gx, gy)
    )
    out, probs = detect_datum_shift(read, units, "s.csv", "WGS84")
    (p,) = probs
    assert p.severity == "warning" and "used as declared" in p.action
    assert "as WGS84, 0 of 12 points lie in a planning unit; read as GCJ-02, 12 of 12" in p.message
    assert out is read


def gpd_points(x, y):
    import geopandas as gpd

    return gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326)


def test_workbook_writer_keeps_formula_like_cells_text(tmp_path):
    from openpyxl import load_workbook

    from planner.outputs.writers import write_excel

    df = pd.DataFrame({"=名称": ["=1+1", "ok", "-5", "@x"], "n": [-5, 1, 2, 3]})
    write_excel({"s": df}, tmp_path / "w.xlsx")
    ws = load_workbook(tmp_path / "w.xlsx")["s"]
    cells = {c.coordinate: (c.value, c.data_type) for row in ws.iter_rows() for c in row}
    assert cells["A1"] == ("=名称", "s") and cells["A2"] == ("=1+1", "s")
    assert cells["A5"] == ("@x", "s") and cells["B2"] == (-5, "n")
    assert ws["A2"].quotePrefix and ws["A5"].quotePrefix and not ws["A3"].quotePrefix
