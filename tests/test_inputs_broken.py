"""Deliberately broken inputs: each problem gives the right message, and no traceback."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon
from typer.testing import CliRunner

from planner.errors import UnknownKeyError, ValidationFailed
from tests.conftest import U1, U2, codes, load


def problems(inputs, code):
    return inputs.report.by_code(code)


def test_valid_city_has_no_problems(city):
    inp = load(city.write())
    assert [str(p) for p in inp.report.problems if p.severity != "info"] == []
    s = inp["schools"].set_index("school_id")
    assert s.loc["S1", "stage"] == "primary" and s.loc["S2", "stage"] == "junior"
    assert bool(s.loc["S1", "public"]) and not bool(s.loc["S3", "public"])
    assert s.loc["S1", "classes_primary"] == 24 and s.loc["S1", "classes_junior"] == 0
    assert s.loc["S2", "students_junior"] == 900
    # located in units from position
    assert s.loc["S1", "unit_id"] == "U1" and s.loc["S2", "unit_id"] == "U2"
    assert inp.compute_crs.to_epsg() == 4547


def test_misspelt_column_suggests_nearest(city):
    city.schools_csv = city.schools_csv.replace("学校代码", "school_idd", 1)
    inp = load(city.write())
    (p,) = problems(inp, "missing_column")
    assert p.column == "school_id" and "school_idd" in p.hint
    assert p.file.endswith("schools.csv")


def test_missing_column_lists_accepted_headers(city):
    city.schools_csv = "\n".join(
        ",".join(c for i, c in enumerate(line.split(",")) if i != 3)
        for line in city.schools_csv.splitlines()
    )
    inp = load(city.write())
    (p,) = problems(inp, "missing_column")
    assert p.column == "public" and "办学性质" in p.hint


def test_duplicate_ids(city):
    city.schools_csv += "S1,重复小学,小学,公办,113.312,22.512,6,200\n"
    inp = load(city.write())
    (p,) = problems(inp, "duplicate_id")
    assert p.row == 5 and p.id == "S1" and "first seen in row 2" in p.message


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ('"1,234"', "number_as_text", "thousands separators"),
        ("缺", "placeholder_value", "placeholder '缺'"),
        ("—", "placeholder_value", "placeholder '—'"),
        ("abc", "not_numeric", "'abc' is not a number"),
        ("-5", "out_of_range", "negative value -5"),
        ("12.5", "not_integer", "not a whole number"),
    ],
)
def test_bad_counts_are_reported_not_coerced(city, value, code, words):
    city.schools_csv = city.schools_csv.replace("24,1100", f"24,{value}")
    inp = load(city.write())
    (p,) = problems(inp, code)
    assert p.row == 2 and p.id == "S1" and p.column == "在校生数"
    assert words in p.message
    # never silently coerced: the value is missing, not 1234, 0 or 12
    assert pd.isna(inp["schools"].set_index("school_id").loc["S1", "students_primary"])


def test_unknown_category_value_suggests(city):
    city.schools_csv = city.schools_csv.replace("S2,西山中学,初中", "S2,西山中学,初級中学")
    inp = load(city.write())
    (p,) = problems(inp, "bad_category")
    assert p.id == "S2" and "初級中学" in p.message and "初中" in p.hint


def test_empty_and_invalid_geometries(city, tmp_path):
    city.write()
    bowtie = Polygon([(113.30, 22.50), (113.32, 22.52), (113.32, 22.50), (113.30, 22.52)])
    gdf = gpd.GeoDataFrame(
        {
            "unit_id": ["U1", "U2", "U3"],
            "name": ["a", "b", "c"],
            "kind": ["urban", "town", "rural"],
        },
        geometry=[bowtie, U2, None],
        crs=4326,
    )
    gdf.to_file(tmp_path / "units.geojson", driver="GeoJSON")
    from planner.inputs.load import load_inputs
    from planner.inputs.scenario import read_scenario

    inp = load_inputs(read_scenario(tmp_path / "scenario.toml"))
    (rep,) = problems(inp, "invalid_geometry_repaired")
    assert rep.severity == "warning" and rep.id == "U1" and "Self-intersection" in rep.message
    (emp,) = problems(inp, "empty_geometry")
    assert emp.id == "U3" and emp.severity == "error"
    assert inp["units"].set_index("unit_id").loc["U1", "geometry"].is_valid


def test_point_outside_every_unit(city):
    city.schools_csv += "S9,远郊小学,小学,公办,113.50,22.80,6,100\n"
    inp = load(city.write())
    (p,) = problems(inp, "outside_units")
    assert p.id == "S9" and "113.50000, 22.80000" in p.message and "swapped" in p.hint


def test_years_out_of_order_after_base_and_gaps(city):
    city.population_csv = (
        "unit_id,year,population\nU1,2025,51000\nU1,2021,48000\nU1,2026,52000\n"
        "U2,2024,30000\nU2,2025,30500\n"
    )
    inp = load(city.write())
    assert problems(inp, "years_out_of_order")[0].id == "U1"
    (after,) = problems(inp, "year_after_base")
    assert after.row == 4
    (gap,) = problems(inp, "year_gap")
    assert "2022, 2023, 2024" in gap.message
    # rows are sorted by year on load
    assert inp["population"].query("unit_id == 'U1'")["year"].tolist() == [2021, 2025, 2026]


def test_enrolment_without_classes(city):
    city.schools_csv = city.schools_csv.replace(
        "S2,西山中学,初中,公办,113.33,22.51,18,900", "S2,西山中学,初中,公办,113.33,22.51,0,900"
    )
    inp = load(city.write())
    (p,) = problems(inp, "pupils_without_classes")
    assert p.id == "S2" and "900 junior pupils but zero classes" in p.message


def test_crs_missing_is_reported_and_degrees_assumed(city):
    inp = load(city.write(schools='path = "schools.csv"'))
    (p,) = problems(inp, "missing_crs")
    assert "assumed WGS84" in p.message and 'crs = "WGS84"' in p.hint
    assert inp["schools"].geometry.notna().all()


def test_crs_contradicting_range(city):
    # metres in a file declared WGS84
    city.schools_csv = city.schools_csv.replace("113.31,22.51", "431000,2490000")
    inp = load(city.write())
    assert problems(inp, "crs_range")


def test_swapped_lat_lon_flagged(city):
    city.schools_csv = city.schools_csv.replace("113.31,22.51", "22.51,113.31")
    inp = load(city.write())
    assert any("swap" in p.message for p in problems(inp, "crs_range"))


def test_gbk_shapefile_without_cpg(city, tmp_path):
    city.write()
    gdf = gpd.GeoDataFrame(
        {"单元代码": ["U1", "U2"], "镇街名称": ["东城街道", "西山镇"], "城乡类型": ["街道", "镇"]},
        geometry=[U1, U2],
        crs=4326,
    )
    gdf.to_file(tmp_path / "units_gbk.shp", encoding="GBK")
    (tmp_path / "units_gbk.cpg").unlink()
    sc = city.write(units='path = "units_gbk.shp"')
    inp = load(sc)
    u = inp["units"].set_index("unit_id")
    assert u.loc["U1", "name"] == "东城街道" and u.loc["U2", "kind"] == "town"
    (note,) = problems(inp, "encoding_guessed")
    assert note.severity == "info" and "GB18030" in note.message


def test_gcj02_csv_is_shifted_to_wgs84(city):
    from planner.geo.crs import wgs84_to_gcj02

    lon, lat = 113.31, 22.51
    glon, glat = wgs84_to_gcj02(lon, lat)
    city.schools_csv = city.schools_csv.replace(
        "113.31,22.51", f"{float(glon):.7f},{float(glat):.7f}"
    )
    inp = load(city.write(schools='path = "schools.csv"\ncrs = "GCJ-02"'))
    pt = inp["schools"].set_index("school_id").loc["S1", "geometry"]
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(lon, lat, pt.x, pt.y)
    assert d < 1.0  # metres
    _, _, shift = Geod(ellps="WGS84").inv(lon, lat, float(glon), float(glat))
    assert shift > 300  # the raw GCJ-02 point would be hundreds of metres off


def test_gbk_csv_and_xlsx(city, tmp_path):
    city.write()
    (tmp_path / "schools.csv").write_bytes(city.schools_csv.encode("gbk"))
    inp = load(tmp_path / "scenario.toml")
    assert inp["schools"]["name"].tolist()[0] == "东城小学"
    df = pd.read_csv(tmp_path / "schools.csv", encoding="gbk", dtype=str)
    df.to_excel(tmp_path / "schools.xlsx", index=False, sheet_name="学校")
    inp2 = load(city.write(schools='path = "schools.xlsx"\nsheet = "学校"\ncrs = "WGS84"'))
    assert inp2["schools"]["classes_primary"].tolist() == inp["schools"]["classes_primary"].tolist()


def test_scenario_column_mapping(city):
    city.schools_csv = city.schools_csv.replace("办学性质", "公民办属性")
    sc = city.write(
        schools='path = "schools.csv"\ncrs = "WGS84"\ncolumns = { "公民办属性" = "public" }'
    )
    inp = load(sc)
    assert not problems(inp, "missing_column")
    assert inp["schools"]["public"].tolist() == [True, True, False]


def test_unknown_scenario_key_names_closest(city):
    sc = city.write()
    sc.write_text(sc.read_text(encoding="utf-8").replace("horizon", "horizn"), encoding="utf-8")
    from planner.inputs.scenario import read_scenario

    with pytest.raises(UnknownKeyError, match="Did you mean 'horizon'"):
        read_scenario(sc)
    sc2 = city.write(schools='path = "schools.csv"\ncrss = "WGS84"')
    with pytest.raises(UnknownKeyError, match=r"\[inputs.schools\].*Did you mean 'crs'"):
        read_scenario(sc2)


def test_strict_mode_refuses_with_every_error(city):
    city.schools_csv += "S1,重复小学,小学,公办,113.31,22.51,缺,200\n"
    city.schools_csv += "S9,远郊小学,小学,公办,113.50,22.80,6,200\n"
    with pytest.raises(ValidationFailed) as ei:
        load(city.write(), strict=True)
    got = {p.code for p in ei.value.problems}
    assert {"duplicate_id", "placeholder_value", "outside_units"} <= got


def test_many_bad_rows_are_all_listed(city):
    rows = "".join(f"X{i},学校{i},小学,公办,113.31,22.51,缺,100\n" for i in range(30))
    city.schools_csv += rows
    inp = load(city.write())
    ps = problems(inp, "placeholder_value")
    # every row is listed (the console groups them, see test_run_status)
    assert len(ps) == 30 and sorted(p.row for p in ps) == list(range(5, 35))


def test_cli_validate_reports_without_traceback(city):
    from planner.cli import app

    city.schools_csv += "S1,重复小学,小学,公办,113.31,22.51,缺,200\n"
    city.schools_csv += "S9,远郊小学,小学,公办,113.50,22.80,6,200\n"
    res = CliRunner().invoke(app, ["validate", str(city.write())])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert "duplicate school_id 'S1'" in res.output


def test_cli_missing_file_is_a_clear_error(city, tmp_path):
    from planner.cli import app

    sc = city.write(schools='path = "nowhere.csv"\ncrs = "WGS84"')
    res = CliRunner().invoke(app, ["validate", str(sc)])
    assert res.exit_code == 1
    assert "nowhere.csv: file not found" in res.output and "Traceback" not in res.output


def test_unit_reference_checks(city):
    city.population_csv += "U7,2025,1000\n"
    inp = load(city.write())
    (p,) = problems(inp, "unknown_unit")
    assert p.id == "U7" and p.row == 6


def test_run_writes_atomically_and_never_overwrites(city, tmp_path):
    from planner.cli import app

    sc = city.write()
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(sc), "--out", str(out)])
    assert r.exit_code == 0, r.output
    req = pd.read_csv(out / "needs.csv")
    u1 = req[(req.unit_id == "U1") & (req.stage == "primary") & (req.year == 2025)].iloc[0]
    assert u1.norm_seats == 51000 / 1000 * 80
    # S1 (public, 24 classes) and S3 (private, 12 classes) lie in U1
    assert u1.capacity == 36 * 45 and u1.capacity_private == 12 * 45
    assert u1.seat_gap == 51000 / 1000 * 80 - 36 * 45
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any(k.endswith("schools.csv") for k in manifest["inputs"])
    # a second run to the same folder is refused, the folder is untouched
    before = (out / "manifest.json").read_bytes()
    r2 = CliRunner().invoke(app, ["run", str(sc), "--out", str(out)])
    assert r2.exit_code == 2 and "already exists" in r2.output
    assert (out / "manifest.json").read_bytes() == before
    # output into the input folder is refused
    r3 = CliRunner().invoke(app, ["run", str(sc), "--out", str(tmp_path), "--overwrite"])
    assert r3.exit_code == 2 and "input" in r3.output
    assert (tmp_path / "schools.csv").exists()
    # no partial folders left behind
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_crash_while_writing_leaves_nothing_but_a_report(city, tmp_path, monkeypatch):
    import planner.outputs.run_output as ro

    sc = city.write()
    out = tmp_path / "out2"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    # the manifest is not an isolated step: failing there is an internal error
    monkeypatch.setattr(ro, "write_json", boom)
    from planner.cli import app

    r = CliRunner().invoke(app, ["run", str(sc), "--out", str(out)])
    assert r.exit_code == 70, r.output
    assert "disk full" in r.output and "Traceback" not in r.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name or p.suffix == ".lock"]
    (report,) = tmp_path.glob("planner-crash-*.txt")
    text = report.read_text(encoding="utf-8")
    assert "RuntimeError: disk full" in text and str(sc.resolve()) in text and "pandas" in text


def test_point_geometry_type_checked(city, tmp_path):
    city.write()
    gdf = gpd.GeoDataFrame(
        {"unit_id": ["U1"], "name": ["a"], "kind": ["urban"]},
        geometry=[Point(113.31, 22.51)],
        crs=4326,
    )
    gdf.to_file(tmp_path / "units.geojson", driver="GeoJSON")
    from planner.inputs.load import load_inputs
    from planner.inputs.scenario import read_scenario

    inp = load_inputs(read_scenario(tmp_path / "scenario.toml"))
    assert problems(inp, "wrong_geometry_type")
    assert "wrong_geometry_type" in codes(inp)
    assert np.isfinite(len(inp["units"]))
