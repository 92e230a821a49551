"""A road network as a scenario input (道路网络): validation and road distances in `planner run`."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import ValidationFailed
from tests.conftest import load

# ----------------------------------------------------------------- a city on a river
# U1 (south bank, 20,000 residents) has one primary school S1 and too few seats. Site A
# lies just across the river (in U2, north bank, no residents): the nearest site as the
# crow flies, but the only bridge is 3.5 km east, beyond an urban primary pupil's reach
# of 2 km. Site B (in U3, east, no residents) is farther as the crow flies but on the
# south bank's road grid. Straight-line distances choose A; road distances choose B.
XS = [113.302, 113.306, 113.310, 113.314, 113.318]
SCENARIO = """\
name = "river town"
base_year = 2025
horizon = 2030

[inputs.units]
path = "units.geojson"

[inputs.population]
path = "population.csv"

[inputs.schools]
path = "schools.csv"
crs = "WGS84"

[inputs.sites]
path = "sites.geojson"
{roads}
[siting]
grid_m = 500.0
periods = [2026]
time_limit_s = 10
"""


def river_roads() -> list[LineString]:
    """South-bank grid (junctions share vertices), a far bridge, the north bank to site A."""
    south = [
        LineString([(x, 22.502) for x in XS]),
        LineString([(x, 22.506) for x in [*XS, 113.33]]),  # east to site B
        LineString([(x, 22.509) for x in [*XS, 113.345]]),  # along the river to the bridge
        *[LineString([(x, 22.502), (x, 22.506), (x, 22.509)]) for x in XS],
    ]
    bridge = LineString([(113.345, 22.509), (113.345, 22.511)])
    north = [
        LineString([(113.345, 22.511), (113.31, 22.511), (113.302, 22.511)]),
        LineString([(113.31, 22.511), (113.31, 22.5115)]),  # to site A
    ]
    return [*south, bridge, *north]


def write_river_town(root: Path, roads: bool = True) -> Path:
    units = [box(113.30, 22.50, 113.32, 22.51), box(113.30, 22.51, 113.32, 22.52)]
    units.append(box(113.32, 22.50, 113.34, 22.51))
    gpd.GeoDataFrame(
        {"unit_id": ["U1", "U2", "U3"], "name": ["南岸", "北岸", "东区"], "kind": "urban"},
        geometry=units,
        crs=4326,
    ).to_file(root / "units.geojson")
    pop = [(u, y, p) for u, p in (("U1", 20000), ("U2", 0), ("U3", 0)) for y in (2024, 2025)]
    pd.DataFrame(pop, columns=["unit_id", "year", "population"]).to_csv(
        root / "population.csv", index=False
    )
    (root / "schools.csv").write_text(
        "学校代码,学校名称,学段,办学性质,经度,纬度,班级数,在校生数,占地面积\n"
        "S1,南岸小学,小学,公办,113.31,22.505,12,540,20000\n"
        "S2,南岸中学,初中,公办,113.31,22.5045,30,1400,60000\n",
        encoding="utf-8",
    )
    gpd.GeoDataFrame(
        {"site_id": ["A", "B"], "land_area": 20000.0, "stage": "primary"},
        geometry=[Point(113.31, 22.5115), Point(113.33, 22.5062)],
        crs=4326,
    ).to_file(root / "sites.geojson")
    lines = river_roads()
    gpd.GeoDataFrame(
        {"道路名称": [f"路{i}" for i in range(len(lines))]}, geometry=lines, crs=4326
    ).to_file(root / "roads.geojson")
    text = SCENARIO.format(roads='\n[inputs.roads]\npath = "roads.geojson"\n' if roads else "")
    (root / "scenario.toml").write_text(text, encoding="utf-8")
    return root / "scenario.toml"


def test_run_uses_road_distances(tmp_path):
    sc = write_river_town(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(sc), "--out", str(out)])
    assert res.exit_code == 0, res.output
    projects = pd.read_csv(out / "projects.csv", encoding="utf-8-sig")
    assert sorted(projects["ref"]) == ["B", "S1"]  # A is across the river: not chosen
    summary = pd.read_csv(out / "siting_summary.csv", encoding="utf-8-sig").iloc[0]
    assert summary["distances"] == "road" and summary["unserved_seat_periods"] == 0
    assert summary["snap_tolerance_m"] == 500 and summary["facilities_snapped_far"] == 0
    assert summary["points_snapped_far"] == 0  # every block of U1 is near a road
    validation = pd.read_csv(out / "validation.csv", encoding="utf-8-sig")
    assert validation.empty, validation
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"]["inputs"]["roads"]["path"] == "roads.geojson"
    assert any(p.endswith("roads.geojson") for p in manifest["inputs"])
    assert "roads" in gpd.list_layers(out / "inputs" / "inputs.gpkg")["name"].tolist()
    # the same town without roads: straight line × detour chooses A
    from planner import api
    from planner.inputs.scenario import read_scenario

    (tmp_path / "straight").mkdir()
    straight = api.run(
        read_scenario(write_river_town(tmp_path / "straight", roads=False)), siting=True
    )
    assert sorted(straight.tables["projects"]["ref"]) == ["A", "S1"]
    assert straight.tables["siting_summary"]["distances"].iloc[0] == "straight"
    assert "points_snapped_far" not in straight.tables["siting_summary"]


def test_assignment_distances_are_road_distances(tmp_path):
    from planner.api import compute_run
    from planner.inputs.norms import load_norms
    from planner.pipeline import road_network
    from planner.siting.schools import site_schools

    inputs = load(write_river_town(tmp_path))
    norms = load_norms(inputs.scenario.norms)
    base = compute_run(inputs, norms, forecast=None)
    g = road_network(inputs)
    assert g is not None and not g.is_directed()
    out = site_schools(
        inputs,
        norms,
        base.tables["needs"],
        base.tables["school_capacity"],
        base.settings,
        network=g,
    )
    a = out.result.assignments
    assert len(a) > 0
    pb = out.problem
    # independent check with networkx: snap to the nearest node, shortest path, snap
    nodes = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)])
    keys = list(g.nodes)

    def snap(xy):
        d = np.hypot(*(nodes - xy).T)
        return keys[int(np.argmin(d))], float(d.min())

    for r in a.drop_duplicates(["point_id", "fac_id"]).itertuples():
        np_, dp = snap(pb.points.loc[r.point_id, ["x", "y"]].to_numpy(float))
        nf, df = snap(pb.facilities.loc[r.fac_id, ["x", "y"]].to_numpy(float))
        road = dp + nx.shortest_path_length(g, np_, nf, weight="length") + df
        assert r.distance_m == pytest.approx(road + 1e-3, abs=0.01)
    # vertices every 100 m along the roads (points snap near their foot on the road)
    lengths = np.array([d for _, _, d in g.edges(data="length")])
    assert lengths.max() <= 100.0 + 1e-6


# ------------------------------------------------------------------- broken road files
def test_broken_roads_are_reported_with_file_and_row(city, tmp_path):
    roads = gpd.GeoDataFrame(
        {"name": ["中山路", "兴中道", "公交站"]},
        geometry=[
            LineString([(113.30, 22.51), (113.32, 22.51), (113.34, 22.51)]),
            LineString([(113.31, 22.50), (113.31, 22.51), (113.31, 22.52)]),
            Point(113.33, 22.51),  # a point in a line layer
        ],
        crs=4326,
    )
    roads.to_file(tmp_path / "roads.geojson")
    city.extra = {"roads": 'path = "roads.geojson"'}
    inp = load(city.write())
    (p,) = inp.report.by_code("wrong_geometry_type")
    assert p.file.endswith("roads.geojson") and p.row == 3 and p.column == "geometry"
    assert "expected line" in p.message and p.severity == "error"
    assert len(inp["roads"]) == 3 and inp["roads"].geometry.isna().sum() == 1
    with pytest.raises(ValidationFailed, match=r"roads\.geojson, row 3"):
        load(city.write(), strict=True)
    # no CRS in the file and none declared: reported, and no road is usable
    metres = roads.iloc[:2].to_crs(3857).set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="crs"):
        metres.to_file(tmp_path / "roads.gpkg", layer="roads")
    city.extra = {"roads": 'path = "roads.gpkg"'}
    inp = load(city.write())
    (p,) = inp.report.by_code("missing_crs")
    assert p.file.endswith("roads.gpkg") and "crs =" in p.hint
    (e,) = inp.report.by_code("roads_empty")
    assert e.file.endswith("roads.gpkg")
    from planner.pipeline import road_network

    assert road_network(inp) is None  # siting falls back to straight line × detour
    # declaring it in the scenario repairs it
    city.extra = {"roads": 'path = "roads.gpkg"\ncrs = "EPSG:3857"'}
    assert not load(city.write()).report.by_code("missing_crs")


def test_disconnected_piece_and_school_far_from_roads(city, tmp_path):
    lines = [
        LineString([(113.30, 22.51), (113.31, 22.51), (113.33, 22.51), (113.34, 22.51)]),
        LineString([(113.31, 22.51), (113.31, 22.515)]),  # shares a vertex: connected
        LineString([(113.335, 22.501), (113.339, 22.501)]),  # stray, far from everything
    ]
    gpd.GeoDataFrame(geometry=lines, crs=4326).to_file(tmp_path / "roads.geojson")
    city.extra = {"roads": 'path = "roads.geojson"'}
    inp = load(city.write())
    (p,) = inp.report.by_code("road_disconnected")
    assert p.file.endswith("roads.geojson") and p.row == 3 and p.severity == "warning"
    assert "left out of the network" in p.message
    # S3 (113.315, 22.505) is about 550 m from the road along 22.51
    (f,) = inp.report.by_code("far_from_road")
    assert f.file.endswith("schools.csv") and f.row == 4 and f.id == "S3"
    from planner.pipeline import road_network

    g = road_network(inp)
    ys = np.array([d for _, d in g.nodes(data="y")])
    xy = gpd.GeoSeries([Point(113.337, 22.501)], crs=4326).to_crs(inp.compute_crs)
    assert (np.abs(ys - xy.y.iloc[0]) > 400).all()  # the stray piece is not in the graph
    assert nx.is_connected(g)
