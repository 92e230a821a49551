"""planner.geo.crs: GCJ-02 against published vectors, compute zones, names, range checks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from planner.errors import InputError, UnknownKeyError
from planner.geo.crs import (
    check_coordinate_range,
    choose_compute_crs,
    from_gcj02_geoseries,
    gcj02_to_wgs84,
    gk_zone_epsg,
    looks_like_china,
    resolve_crs,
    to_gcj02_geoseries,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2):
    """Geodesic distance in metres (arrays or scalars)."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# ---------------------------------------------------------------------------
# Published WGS84 → GCJ-02 pairs, as (wgs_lon, wgs_lat, gcj_lon, gcj_lat, abs_tol_deg).
# ---------------------------------------------------------------------------
PUBLISHED = [
    # googollee/eviltransform, the test table shared by its ports
    # (go/transform_test.go, python/test.py, javascript/test.js), rows
    # "shanghai", "shenzhen", "beijing". Its Python test asserts 6 decimals.
    pytest.param(
        121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-6, id="evil-shanghai"
    ),
    pytest.param(
        113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-6, id="evil-shenzhen"
    ),
    pytest.param(
        116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-6, id="evil-beijing"
    ),
    # wandergis/coordtransform README.md, "wgs84togcj02(116.404, 39.915)"
    # → [116.41024449916938, 39.91640428150164] (also the expected value in
    # dromara/hutool CoordinateUtilTest and athxx/coordtransform-rs tests).
    pytest.param(
        116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-9, id="coordtransform-readme"
    ),
    # hujiulong/gcoord test/unit/crs/WGS84.spec.ts, "WGS84 to GCJ02":
    # [123, 45] → [123.00607541, 45.00197815] (8 published decimals).
    pytest.param(123.0, 45.0, 123.00607541, 45.00197815, 1e-7, id="gcoord-spec"),
]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat", "tol"), PUBLISHED)
def test_forward_matches_published_vectors(wlon, wlat, glon, glat, tol):
    x, y = wgs84_to_gcj02(wlon, wlat)
    assert isinstance(x, float) and isinstance(y, float)
    assert abs(x - glon) < tol
    assert abs(y - glat) < tol


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat", "tol"), PUBLISHED)
def test_inverse_of_published_vectors_recovers_wgs84(wlon, wlat, glon, glat, tol):
    x, y = gcj02_to_wgs84(glon, glat)
    assert metres(wlon, wlat, x, y) < 0.01  # eviltransform's own "exact" test allows 0.5 m


def test_inverse_matches_published_gcoord_vector():
    # hujiulong/gcoord test/unit/crs/GCJ02.spec.ts, "GCJ02 to WGS84":
    # [123, 45] → [122.99395597, 44.99804071] (gcoord iterates to 1e-6°).
    x, y = gcj02_to_wgs84(123.0, 45.0)
    assert x == pytest.approx(122.99395597, abs=2e-6)
    assert y == pytest.approx(44.99804071, abs=2e-6)
    assert metres(*wgs84_to_gcj02(x, y), 123.0, 45.0) < 0.01


def test_offset_in_guangdong_is_the_known_few_hundred_metres():
    x, y = wgs84_to_gcj02(113.39, 22.52)
    d = metres(113.39, 22.52, x, y)
    assert 300 < d < 700
    assert x > 113.39 and y < 22.52  # shifted east and a little south there


def test_outside_china_is_unchanged_and_nan_passes_through():
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)
    assert wgs84_to_gcj02(150.0, 30.0) == (150.0, 30.0)
    x, y = gcj02_to_wgs84(np.array([np.nan, 113.4]), np.array([22.5, 22.6]))
    assert np.isnan(x[0]) and y[0] == 22.5
    assert np.isfinite(x[1]) and x[1] != 113.4


def test_arrays_lists_and_broadcasting():
    lon = np.array([[113.3, 113.4], [116.1, 121.5]])
    lat = np.array([[22.5, 22.6], [24.3, 31.2]])
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert gx.shape == gy.shape == (2, 2)
    bx, by = gcj02_to_wgs84(gx, gy)
    assert np.max(metres(lon.ravel(), lat.ravel(), bx.ravel(), by.ravel())) < 0.01
    lx, ly = wgs84_to_gcj02([113.3, 113.4], 22.5)  # list and a broadcast scalar
    assert isinstance(lx, np.ndarray) and lx.shape == ly.shape == (2,)
    np.testing.assert_allclose(lx[0], gx[0, 0], rtol=0, atol=1e-12)


def test_inverse_tolerance_is_honoured():
    gx, gy = wgs84_to_gcj02(113.912316, 22.543847)
    coarse = gcj02_to_wgs84(gx, gy, tol_m=5.0)
    assert metres(113.912316, 22.543847, *coarse) < 5.0
    with pytest.warns(RuntimeWarning, match="did not converge"):
        gcj02_to_wgs84(gx, gy, max_iter=1)
    with pytest.raises(ValueError):
        gcj02_to_wgs84(gx, gy, tol_m=0)


china_lon = st.floats(72.1, 137.7, allow_nan=False)
china_lat = st.floats(0.9, 55.7, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_below_one_centimetre_everywhere_in_the_box(lon, lat):
    gx, gy = wgs84_to_gcj02(lon, lat)
    bx, by = gcj02_to_wgs84(gx, gy)
    assert metres(lon, lat, bx, by) < 0.01


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=200))
def test_round_trip_vectorised(points):
    lon, lat = np.array(points).T
    bx, by = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(metres(lon, lat, bx, by)) < 0.01


# ---------------------------------------------------------------------------
# compute CRS
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", range(4534, 4555))
def test_gauss_kruger_codes_match_their_central_meridians(code):
    cm = 75 + 3 * (code - 4534)
    name = CRS.from_epsg(code).name
    assert f"CM {cm}E" in name and "CGCS2000" in name
    assert gk_zone_epsg(cm) == code
    assert gk_zone_epsg(cm - 1.49) == code and gk_zone_epsg(cm + 1.49) == code


def test_gauss_kruger_zones_for_cities():
    assert gk_zone_epsg(114.0) == 4547  # CM 114E
    assert gk_zone_epsg(117.0) == 4548  # CM 117E
    assert gk_zone_epsg(113.39) == 4547  # Guangzhou / Zhongshan
    assert gk_zone_epsg(121.47) == 4549  # Shanghai, CM 120E
    assert gk_zone_epsg(70.0) == 4534 and gk_zone_epsg(140.0) == 4554  # nearest zone
    with pytest.raises(InputError):
        gk_zone_epsg(float("nan"))


def test_choose_compute_crs_uses_the_median_longitude():
    crs = choose_compute_crs([113.1, 113.5, 113.9, np.nan, 125.0])
    assert crs.to_epsg() == 4547 and crs.is_projected
    assert choose_compute_crs(np.array([116.9, 117.2])).to_epsg() == 4548


@pytest.mark.parametrize("lons", [[431000.0, 432000.0], [22.5, 22.6], [-74.0], [137.0]])
def test_choose_compute_crs_refuses_non_china_longitudes(lons):
    with pytest.raises(InputError, match=r"outside China \(73\.5–136\.5°E\)"):
        choose_compute_crs(lons)


def test_choose_compute_crs_needs_a_longitude():
    with pytest.raises(InputError, match="no valid longitudes"):
        choose_compute_crs([np.nan])


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "epsg", "is_gcj"),
    [
        ("WGS84", 4326, False),
        ("WGS 84", 4326, False),
        ("wgs-84", 4326, False),
        ("EPSG:4326", 4326, False),
        ("epsg:4326", 4326, False),
        ("CGCS2000", 4490, False),
        ("cgcs 2000", 4490, False),
        ("EPSG:4490", 4490, False),
        ("GCJ-02", 4326, True),
        ("GCJ02", 4326, True),
        ("gcj02", 4326, True),
        (" gcj_02 ", 4326, True),
        ("火星坐标", 4326, True),
        ("EPSG:4547", 4547, False),
        ("4548", 4548, False),
        ("EPSG:32650", 32650, False),
    ],
)
def test_resolve_crs_names(spec, epsg, is_gcj):
    crs, gcj = resolve_crs(spec)
    assert isinstance(crs, CRS)
    assert crs.to_epsg() == epsg
    assert gcj is is_gcj


def test_resolve_crs_passes_pyproj_strings_and_objects():
    crs, gcj = resolve_crs("+proj=longlat +datum=WGS84 +no_defs")
    assert crs.is_geographic and not gcj
    obj = CRS.from_epsg(4547)
    assert resolve_crs(obj) == (obj, False)


@pytest.mark.parametrize("spec", ["GCJ-2000x", "Mars grid", "", "EPSG:99999"])
def test_resolve_crs_unknown_names_the_choices(spec):
    with pytest.raises(UnknownKeyError) as err:
        resolve_crs(spec)
    msg = str(err.value)
    assert "GCJ-02" in msg and "CGCS2000" in msg and "WGS84" in msg
    assert "EPSG:NNNN" in msg


def test_resolve_crs_suggests_the_closest_name():
    with pytest.raises(UnknownKeyError, match="Did you mean 'CGCS2000'"):
        resolve_crs("CGCS200")


# ---------------------------------------------------------------------------
# range checks
# ---------------------------------------------------------------------------

WGS = CRS.from_epsg(4326)
GK114 = CRS.from_epsg(4547)


def test_plausible_coordinates_pass():
    assert check_coordinate_range([113.3, 113.4], [22.5, 22.6], WGS) == []
    assert check_coordinate_range([431000.0, 445000.0], [2490000.0, 2501000.0], GK114) == []
    assert check_coordinate_range([], [], WGS) == []
    assert check_coordinate_range([np.nan], [np.nan], GK114) == []


def test_projected_metres_declared_as_wgs84_are_flagged():
    reasons = check_coordinate_range([431000.0, 445000.0], [2490000.0, 2501000.0], WGS)
    assert len(reasons) == 1
    assert "projected metres" in reasons[0] and "2 of 2" in reasons[0]


def test_degrees_declared_as_gauss_kruger_are_flagged():
    reasons = check_coordinate_range([113.3, 113.4], [22.5, 22.6], GK114)
    assert len(reasons) == 1
    assert "look like degrees" in reasons[0] and "CM 114E" in reasons[0]


def test_swapped_latitude_longitude_is_flagged():
    reasons = check_coordinate_range([22.5, 22.6], [113.3, 113.4], WGS)
    assert len(reasons) == 1 and "swapped" in reasons[0]


def test_out_of_range_degrees_are_counted():
    reasons = check_coordinate_range([113.3, 200.0, 113.4], [22.5, 22.5, -95.0], WGS)
    assert len(reasons) == 1
    assert "2 of 3" in reasons[0] and "±180°" in reasons[0]


def test_zone_prefixed_eastings_are_flagged():
    reasons = check_coordinate_range([38431000.0], [2490000.0], GK114)
    assert len(reasons) == 1
    assert "zone-number prefix" in reasons[0] and "EPSG:4526" in reasons[0]
    assert "zone 38" in CRS.from_epsg(4526).name


def test_looks_like_china():
    got = looks_like_china([113.3, 2.35, 22.5, np.nan], [22.5, 48.85, 113.3, 22.5])
    assert got.dtype == bool
    assert got.tolist() == [True, False, False, False]
    assert bool(looks_like_china(87.6, 43.8))  # Ürümqi


# ---------------------------------------------------------------------------
# GeoSeries
# ---------------------------------------------------------------------------


def _square(x0, y0, size=0.02):
    return Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])


def test_geoseries_polygon_round_trip():
    hole = [(113.305, 22.505), (113.31, 22.505), (113.31, 22.51)]
    poly = Polygon(_square(113.30, 22.50).exterior.coords, [hole])
    gs = gpd.GeoSeries([poly], index=["u1"], crs=4326, name="geometry")
    shifted = to_gcj02_geoseries(gs)
    assert shifted.crs.to_epsg() == 4326 and shifted.index.tolist() == ["u1"]
    # every vertex moved as the point transform moves it
    a = np.asarray(poly.exterior.coords)
    s = np.asarray(shifted.iloc[0].exterior.coords)
    np.testing.assert_allclose(np.column_stack(wgs84_to_gcj02(a[:, 0], a[:, 1])), s, atol=1e-12)
    assert metres(a[0, 0], a[0, 1], s[0, 0], s[0, 1]) > 300
    back = from_gcj02_geoseries(shifted)
    assert back.crs.to_epsg() == 4326
    for ring_a, ring_b in [
        (poly.exterior, back.iloc[0].exterior),
        (poly.interiors[0], back.iloc[0].interiors[0]),
    ]:
        p = np.asarray(ring_a.coords)
        q = np.asarray(ring_b.coords)
        assert p.shape == q.shape
        assert metres(p[:, 0], p[:, 1], q[:, 0], q[:, 1]).max() < 0.01


def test_geoseries_mixed_types_none_and_z():
    geoms = [
        Point(113.35, 22.55),
        LineString([(113.3, 22.5), (113.4, 22.6)]),
        MultiPolygon([_square(113.3, 22.5), _square(113.5, 22.7)]),
        None,
        Point(113.36, 22.56, 12.5),
        Point(2.35, 48.85),
    ]
    gs = gpd.GeoSeries(geoms, crs="EPSG:4326")
    shifted = to_gcj02_geoseries(gs)
    assert shifted.geom_type.tolist()[:3] == ["Point", "LineString", "MultiPolygon"]
    assert shifted.iloc[3] is None
    assert shifted.iloc[4].has_z and shifted.iloc[4].z == 12.5
    assert not shifted.iloc[0].has_z
    assert shifted.iloc[5].equals(Point(2.35, 48.85))
    back = from_gcj02_geoseries(shifted)
    for i in (0, 1, 2, 4, 5):
        a = shapely.get_coordinates(geoms[i])
        b = shapely.get_coordinates(back.iloc[i])
        assert metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 0.01


def test_geoseries_in_a_projected_crs():
    wgs = gpd.GeoSeries([Point(113.35, 22.55)], crs=4326)
    projected = wgs.to_crs(4547)
    shifted = to_gcj02_geoseries(projected)  # reprojected to degrees first
    assert shifted.crs.to_epsg() == 4326
    assert shifted.iloc[0].distance(to_gcj02_geoseries(wgs).iloc[0]) < 1e-8
    with pytest.raises(InputError, match="longitude/latitude"):
        from_gcj02_geoseries(projected)
