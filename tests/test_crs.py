"""GCJ-02 ↔ WGS84 against published vectors; zones; range checks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod
from shapely.geometry import Polygon

from planner.errors import InputError, UnknownKeyError
from planner.io.crs import (
    check_coordinate_range,
    choose_compute_crs,
    from_gcj02_geoseries,
    gcj02_to_wgs84,
    gk_zone_epsg,
    resolve_crs,
    to_gcj02_geoseries,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")

# (wgs_lat, wgs_lng, gcj_lat, gcj_lng): the test vectors published with the
# eviltransform library (googollee/eviltransform, test files; also in its PHP port),
# Shanghai, Shenzhen and Beijing.
VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), VECTORS)
def test_forward_matches_published_vectors(wlat, wlng, glat, glng):
    x, y = wgs84_to_gcj02(wlng, wlat)
    assert x == pytest.approx(glng, abs=1e-9)
    assert y == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), VECTORS)
def test_inverse_recovers_published_wgs84(wlat, wlng, glat, glng):
    x, y = gcj02_to_wgs84(glng, glat)
    _, _, d = GEOD.inv(wlng, wlat, x, y)
    assert d < 0.01


def test_offset_in_guangdong_is_hundreds_of_metres():
    x, y = wgs84_to_gcj02(113.39, 22.52)
    _, _, d = GEOD.inv(113.39, 22.52, x, y)
    assert 300 < d < 700


def test_outside_china_unchanged():
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)


def test_vectorised_arrays():
    lon = np.array([113.3, 113.4, 116.1])
    lat = np.array([22.5, 22.6, 24.3])
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert gx.shape == (3,)
    bx, by = gcj02_to_wgs84(gx, gy)
    _, _, d = GEOD.inv(lon, lat, bx, by)
    assert np.max(d) < 0.01


@settings(max_examples=200, deadline=None)
@given(st.floats(73.6, 134.7), st.floats(18.2, 53.5))
def test_round_trip_below_one_centimetre(lon, lat):
    gx, gy = wgs84_to_gcj02(lon, lat)
    bx, by = gcj02_to_wgs84(gx, gy)
    _, _, d = GEOD.inv(lon, lat, bx, by)
    assert d < 0.01


def test_gauss_kruger_zones():
    assert gk_zone_epsg(114.0) == 4547 and gk_zone_epsg(117.0) == 4548
    assert gk_zone_epsg(113.4) == 4547 and gk_zone_epsg(115.6) == 4548
    assert "CM 114E" in CRS.from_epsg(4547).name and "CM 117E" in CRS.from_epsg(4548).name
    assert choose_compute_crs([113.1, 113.5, 113.9]).to_epsg() == 4547
    with pytest.raises(InputError, match="outside"):
        choose_compute_crs([431000.0])


def test_resolve_names():
    assert resolve_crs("wgs 84") == (CRS.from_epsg(4326), False)
    assert resolve_crs("GCJ-02")[1] and resolve_crs("gcj02")[1]
    assert resolve_crs("CGCS2000")[0].to_epsg() == 4490
    assert resolve_crs("EPSG:4547")[0].to_epsg() == 4547
    with pytest.raises(UnknownKeyError, match="GCJ-02"):
        resolve_crs("GCJ-2000x")


def test_range_checks():
    wgs = CRS.from_epsg(4326)
    assert check_coordinate_range([113.3, 113.4], [22.5, 22.6], wgs) == []
    assert "metres" in check_coordinate_range([431000.0], [2490000.0], wgs)[0]
    assert "swapped" in check_coordinate_range([22.5, 22.6], [113.3, 113.4], wgs)[0]
    assert "degrees" in check_coordinate_range([113.3], [22.5], CRS.from_epsg(4547))[0]
    assert check_coordinate_range([431000.0], [2490000.0], CRS.from_epsg(4547)) == []


def test_geoseries_polygon_round_trip():
    poly = Polygon([(113.30, 22.50), (113.32, 22.50), (113.32, 22.52), (113.30, 22.52)])
    gs = gpd.GeoSeries([poly], crs=4326)
    back = from_gcj02_geoseries(to_gcj02_geoseries(gs))
    a = np.asarray(poly.exterior.coords)
    b = np.asarray(back.iloc[0].exterior.coords)
    _, _, d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert d.max() < 0.01
    shifted = to_gcj02_geoseries(gs).iloc[0]
    assert shifted.centroid.distance(poly.centroid) > 0.003  # moved by hundreds of metres
