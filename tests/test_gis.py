"""results.gpkg: the layers a GIS user gets, and the QGIS styles stored with them."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import textwrap
import xml.etree.ElementTree as ET

import geopandas as gpd
import pyogrio
import pytest
from hostile import with_plan
from shapely.geometry import LineString

from planner.maps.classify import gap_scale, scale_for
from planner.outputs.gis import gap_style_qml, write_results_gpkg


@pytest.fixture(scope="module")
def gpkg(demo_result, tmp_path_factory):
    r = with_plan(demo_result)
    units = demo_result.inputs["units"].to_crs(4326)
    r.layers = {
        "catchments": gpd.GeoDataFrame(
            {
                "fac_id": [0, 1, 0, 1],
                "ref": ["E001", "P001", "E001", "P001"],
                "kind": ["new", "existing", "new", "existing"],
                "stage": ["primary"] * 4,
                "year": [2030, 2030, 2035, 2035],
            },
            geometry=[*units.geometry.iloc[:2], *units.geometry.iloc[:2]],
            crs=4326,
        ),
        "allocations": gpd.GeoDataFrame(
            {
                "year": [2030, 2035],
                "stage": ["primary", "primary"],
                "point_id": [7, 7],
                "ref": ["E001", "E001"],
                "seats": [120.0, 130.0],
                "distance_m": [800.0, 810.0],
            },
            geometry=[LineString([(113.40, 22.55), (113.41, 22.56)])] * 2,
            crs=4326,
        ),
    }
    path = write_results_gpkg(r, tmp_path_factory.mktemp("gis") / "results.gpkg")
    return r, path


def test_every_layer_of_the_plan_is_there(gpkg):
    r, path = gpkg
    layers = dict(pyogrio.list_layers(path))
    sc = r.inputs.scenario
    for stage in ("primary", "junior"):
        for year in range(sc.base_year, sc.horizon + 1):
            assert layers[f"gap_{stage}_{year}"] == "Polygon"
    for name in ("projects", "sites_chosen", "sites_unchosen", "unserved"):
        assert name in layers
    assert {"catchments_2030", "catchments_2035", "allocations_2030", "allocations_2035"} <= set(
        layers
    )
    gap = gpd.read_file(path, layer="gap_primary_2030").set_index("unit_id")
    needs = r.tables["needs"]
    n = needs[(needs["stage"] == "primary") & (needs["year"] == 2030)].set_index("unit_id")
    assert (gap["seat_gap"] == n["seat_gap"].reindex(gap.index)).all()
    assert (gap["net"] == gap["seat_gap"] - gap["surplus"]).all()
    first = r.tables["projects"]["unit_id"].iloc[0]
    assert gap.loc[first, "added_seats"] == 1080
    assert gap.loc[first, "seat_gap_after"] == max(
        gap.loc[first, "required_seats"] - gap.loc[first, "capacity"] - 1080, 0
    )
    p = gpd.read_file(path, layer="projects")
    assert list(p["label"]) == ["新建一小 2026年", "东城一小 2030年"]
    assert list(p["kind_zh"]) == ["新建", "改扩建"] and list(p["plan"]) == ["十五五", "十五五"]
    chosen = gpd.read_file(path, layer="sites_chosen")
    assert list(chosen["site_id"]) == ["E001"] and list(chosen["year"]) == [2026]
    unchosen = gpd.read_file(path, layer="sites_unchosen")
    assert len(unchosen) == len(r.inputs["sites"]) - 1 and not unchosen["chosen"].any()
    c = gpd.read_file(path, layer="catchments_2035")
    assert sorted(c["ref"]) == ["E001", "P001"] and set(c["year"]) == {2035}
    con = sqlite3.connect(path)
    titles = dict(con.execute("SELECT table_name, identifier FROM gpkg_contents"))
    assert titles["gap_primary_2030"] == "小学学位缺口 2030年"
    assert titles["layer_styles"] == "layer_styles"
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'


def test_each_layer_has_one_default_qgis_style(gpkg):
    _, path = gpkg
    con = sqlite3.connect(path)
    features = [
        r[0]
        for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")
    ]
    rows = con.execute(
        "SELECT f_table_name, styleName, useAsDefault, styleQML, f_geometry_column FROM layer_styles"
    ).fetchall()
    by_layer: dict[str, list] = {}
    for t, name, default, qml, geom in rows:
        by_layer.setdefault(t, []).append((name, default, qml))
        assert geom == "geom"
        root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
    assert set(by_layer) == set(features)
    for t, styles in by_layer.items():
        assert sum(bool(d) for _, d, _ in styles) == 1, t
    assert [n for n, _, _ in by_layer["gap_junior_2040"]] == ["规划实施前", "规划实施后"]


def test_gap_style_uses_the_web_maps_classes(gpkg):
    r, _ = gpkg
    scale = scale_for((r.tables["needs"], r.tables["projects"]))
    root = ET.fromstring(gap_style_qml("net", scale).split("\n", 1)[1])
    ren = root.find("renderer-v2")
    assert ren.get("type") == "graduatedSymbol" and ren.get("attr") == "net"
    ranges = ren.findall("ranges/range")
    assert len(ranges) == len(scale["gap"]) + len(scale["sur"]) + 1
    labels = [x.get("label") for x in ranges]
    assert "供需平衡" in labels and all("个" in lab for lab in labels if lab != "供需平衡")
    colors = {
        s.get("name"): s.find("layer/prop[@k='color']").get("v")
        for s in ren.findall("symbols/symbol")
    }
    want = scale["gapColors"][-1].lstrip("#")
    rgb = ",".join(str(int(want[i : i + 2], 16)) for i in (0, 2, 4))
    assert colors[ranges[-1].get("symbol")].startswith(rgb)
    # classes contiguous: every net value falls in exactly one range
    s = gap_scale([-700, 0, 3, 950])
    rs = ET.fromstring(gap_style_qml("net", s).split("\n", 1)[1]).findall(".//range")
    for v in (-700, -1, 0, 1, 3, 950, 10**6):
        hits = [x for x in rs if float(x.get("lower")) < v <= float(x.get("upper"))]
        assert len(hits) == 1, v


def _qgis_python() -> str | None:
    """A Python that imports QGIS (Debian's python3-qgis lives in the system Python)."""
    for py in ("/usr/bin/python3", shutil.which("python3")):
        if (
            py
            and subprocess.run([py, "-c", "import qgis.core"], capture_output=True).returncode == 0
        ):
            return py
    return None


QGIS_PY = _qgis_python()


@pytest.mark.skipif(QGIS_PY is None, reason="QGIS (python3-qgis) is not installed")
def test_qgis_opens_the_layers_with_their_styles(gpkg, tmp_path):
    _, path = gpkg
    script = tmp_path / "check.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sqlite3
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
            from qgis.core import QgsApplication, QgsVectorLayer
            app = QgsApplication([], False); app.initQgis()
            path = {str(path)!r}
            names = [r[0] for r in sqlite3.connect(path).execute(
                "select table_name from gpkg_contents where data_type='features'")]
            for n in names:
                lyr = QgsVectorLayer(f"{{path}}|layername={{n}}", n, "ogr")
                msg, ok = lyr.loadDefaultStyle()
                r = lyr.renderer()
                extra = len(r.ranges()) if r.type() == "graduatedSymbol" else ""
                print(n, lyr.isValid(), ok, r.type(), extra, lyr.labelsEnabled())
            app.exitQgis()
            """
        )
    )
    out = subprocess.run([QGIS_PY, str(script)], capture_output=True, text=True, timeout=300).stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["gap_primary_2030"][:3] == ["True", "True", "graduatedSymbol"]
    assert rows["gap_primary_2030"][4] == "True"  # unit names as labels
    assert rows["projects"][:3] == ["True", "True", "categorizedSymbol"]
    assert rows["catchments_2030"][:3] == ["True", "True", "singleSymbol"]
    assert all(v[0] == "True" and v[1] == "True" for v in rows.values()), rows
