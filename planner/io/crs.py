"""Coordinate systems: GCJ-02 ↔ WGS84, the metric compute CRS, range checks (坐标系).

GCJ-02 ("Mars coordinates", 火星坐标) is the obfuscated datum that Amap (高德) and
Tencent maps use; in Guangdong it is about 500–600 m off the true (WGS84 / CGCS2000)
position. The forward transform is the publicly documented polynomial on the
Krasovsky 1940 ellipsoid; the inverse has no closed form and is solved here by
fixed-point iteration until the residual is below a tolerance (default 1 cm).

Computation happens in a CGCS2000 3-degree Gauss–Krüger zone (EPSG:4534 = CM 75°E …
EPSG:4554 = CM 135°E, without zone prefix in the easting), chosen from the data's
longitude. Pure functions; vectorised over numpy arrays.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from planner.errors import InputError, UnknownKeyError

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gk_zone_epsg",
    "choose_compute_crs",
    "resolve_crs",
    "check_coordinate_range",
    "looks_like_china",
    "to_gcj02_geoseries",
    "from_gcj02_geoseries",
    "CRS_NAMES",
]

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm
_A = 6378245.0
_EE = 0.00669342162296594323
# the rough mainland bounding box inside which the shift is applied
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

#: accepted CRS names (normalised: upper case, no spaces, hyphens or underscores)
CRS_NAMES = {
    "WGS84": ("EPSG:4326", False),
    "EPSG4326": ("EPSG:4326", False),
    "CGCS2000": ("EPSG:4490", False),
    "EPSG4490": ("EPSG:4490", False),
    "GCJ02": ("EPSG:4326", True),
    "GCJ": ("EPSG:4326", True),
    "MARS": ("EPSG:4326", True),
}


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), scalar


def _inside(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (degrees) at WGS84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sq
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sq
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Shift WGS84 longitude/latitude to GCJ-02 (outside China: unchanged).

    Parameters
    ----------
    lon, lat : float or array-like
        WGS84 degrees.

    Returns
    -------
    (lon, lat)
        GCJ-02 degrees; floats for scalar input, arrays otherwise.
    """
    x, y, scalar = _as_arrays(lon, lat)
    dlon, dlat = _offset(x, y)
    inside = _inside(x, y)
    gx = np.where(inside, x + dlon, x)
    gy = np.where(inside, y + dlat, y)
    return (float(gx), float(gy)) if scalar else (gx, gy)


def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 30
) -> tuple[Any, Any]:
    """Invert the GCJ-02 shift by fixed-point iteration.

    Starting from the GCJ-02 point, each step moves the estimate by the residual
    ``gcj − forward(estimate)``; the offset field is smooth, so this converges to well
    below a centimetre in a few iterations.

    Parameters
    ----------
    lon, lat : float or array-like
        GCJ-02 degrees.
    tol_m : float
        Stop when every residual is below this many metres.
    max_iter : int
        Iteration limit.
    """
    gx, gy, scalar = _as_arrays(lon, lat)
    x, y = gx.copy(), gy.copy()
    tol_deg = tol_m / 111_320.0
    for _ in range(max_iter):
        fx, fy = wgs84_to_gcj02(x, y)
        rx, ry = gx - fx, gy - fy
        x = x + rx
        y = y + ry
        if np.all(np.abs(rx) < tol_deg / 10) and np.all(np.abs(ry) < tol_deg / 10):
            break
    x = np.where(_inside(gx, gy), x, gx)
    y = np.where(_inside(gx, gy), y, gy)
    return (float(x), float(y)) if scalar else (x, y)


def gk_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3° Gauss–Krüger zone (no prefix) nearest to ``lon``.

    EPSG:4534 is CM 75°E and the codes run in 3° steps to EPSG:4554 (CM 135°E): 114°E →
    4547, 117°E → 4548.
    """
    cm = 3 * int(np.floor(lon / 3.0 + 0.5))
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


def choose_compute_crs(lons: Any) -> CRS:
    """The metric compute CRS for data at these longitudes (their median).

    Raises
    ------
    InputError
        The median longitude is outside China's range (73.5–136.5°E), e.g. because
        the coordinates are projected or swapped.
    """
    arr = np.asarray(lons, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise InputError("cannot choose a compute CRS: no coordinates")
    med = float(np.median(arr))
    if not 73.5 <= med <= 136.5:
        raise InputError(
            f"cannot choose a Gauss–Krüger zone for median longitude {med:.3f}: outside "
            "China (73.5–136.5°E). Check the coordinates' CRS, or set compute_crs in the "
            "scenario."
        )
    return CRS.from_epsg(gk_zone_epsg(med))


def _norm_name(spec: str) -> str:
    return "".join(ch for ch in spec.upper() if ch not in " -_:")


def resolve_crs(spec: str) -> tuple[CRS, bool]:
    """Resolve a declared CRS name.

    Parameters
    ----------
    spec : str
        ``"WGS84"``, ``"CGCS2000"``, ``"GCJ-02"`` (any case, spaces or hyphens), or any
        ``"EPSG:NNNN"`` / PROJ string pyproj understands.

    Returns
    -------
    crs : pyproj.CRS
        The CRS to read the coordinates in (GCJ-02 → EPSG:4326, still to be shifted).
    is_gcj02 : bool
        True when the coordinates are GCJ-02 and must be converted to WGS84.

    Raises
    ------
    UnknownKeyError
        The name is not recognised (the message names the closest valid one).
    """
    key = _norm_name(spec)
    if key in CRS_NAMES:
        code, gcj = CRS_NAMES[key]
        return CRS.from_user_input(code), gcj
    try:
        return CRS.from_user_input(spec), False
    except Exception:  # pyproj.exceptions.CRSError
        raise UnknownKeyError(
            spec, ["WGS84", "CGCS2000", "GCJ-02", "EPSG:4547", "EPSG:4326"], "crs"
        ) from None


def looks_like_china(lon: Any, lat: Any) -> np.ndarray:
    """True where (lon, lat) falls in China's rough bounding box (73–136°E, 3–54°N)."""
    x, y, _ = _as_arrays(lon, lat)
    return (x >= 73.0) & (x <= 136.0) & (y >= 3.0) & (y <= 54.0)


def check_coordinate_range(x: Any, y: Any, crs: CRS) -> list[str]:
    """Reasons why coordinates contradict their CRS (empty when they look right).

    For a geographic CRS: values beyond ±180/±90, values that look like projected
    metres, or longitude and latitude apparently swapped. For a projected CRS: values
    that all look like degrees.
    """
    xs, ys, _ = _as_arrays(x, y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if xs.size == 0:
        return []
    reasons: list[str] = []
    if crs.is_geographic:
        if np.median(np.abs(xs)) > 1000 or np.median(np.abs(ys)) > 1000:
            reasons.append(
                f"values such as ({xs[0]:.1f}, {ys[0]:.1f}) look like projected metres, not degrees"
            )
        elif np.all((xs >= 18) & (xs <= 54) & (ys >= 73) & (ys <= 136)):
            reasons.append(
                f"({xs[0]:.5f}, {ys[0]:.5f}) looks like (latitude, longitude): swapped columns"
            )
        elif np.any(np.abs(xs) > 180) or np.any(np.abs(ys) > 90):
            n = int(np.sum((np.abs(xs) > 180) | (np.abs(ys) > 90)))
            reasons.append(f"{n} coordinate(s) beyond ±180° longitude / ±90° latitude")
    else:
        if np.all(np.abs(xs) <= 180) and np.all(np.abs(ys) <= 90):
            reasons.append(
                f"values such as ({xs[0]:.5f}, {ys[0]:.5f}) look like degrees, but "
                f"{crs.name} is projected (metres)"
            )
    return reasons


def _transform_geoseries(gs: gpd.GeoSeries, func) -> gpd.GeoSeries:
    geoms = np.asarray(gs.values, dtype=object)

    def xy(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = shapely.transform(geoms, xy)
    return gpd.GeoSeries(out, index=gs.index, crs="EPSG:4326")


def to_gcj02_geoseries(gs: gpd.GeoSeries) -> gpd.GeoSeries:
    """Shift every coordinate of a WGS84 GeoSeries to GCJ-02 (for Amap-style tiles)."""
    return _transform_geoseries(gs.to_crs(4326), wgs84_to_gcj02)


def from_gcj02_geoseries(gs: gpd.GeoSeries) -> gpd.GeoSeries:
    """Convert every coordinate of a GCJ-02 GeoSeries (held as EPSG:4326) to WGS84."""
    return _transform_geoseries(gs, gcj02_to_wgs84)
