"""Coordinate systems: GCJ-02 / BD-09 ↔ WGS84, the metric compute CRS, range checks (坐标系).

GCJ-02 ("Mars coordinates", 火星坐标, 国测局坐标) is the obfuscated datum that Amap
(高德), Tencent and other Chinese web maps use. It shifts true (WGS84 / CGCS2000)
positions by a smooth, non-linear offset of a few hundred metres — about 500–600 m in
Guangdong. The forward transform is the publicly documented polynomial-plus-sine
formula on the Krasovsky 1940 ellipsoid; it has no closed-form inverse, so
:func:`gcj02_to_wgs84` solves it by fixed-point iteration until the residual is below a
tolerance (default 1 cm).

BD-09 (百度坐标) is Baidu's further obfuscation of GCJ-02: a rotation and scaling about
the origin plus a constant offset (about 0.0065°, 0.006°), in all some 600–700 m from
GCJ-02 in southern China. The forward formula is closed-form; :func:`bd09_to_gcj02`
inverts it by the same fixed-point iteration.

Distances and areas are computed in a CGCS2000 3-degree Gauss–Krüger zone *without*
zone-number prefix in the easting (EPSG:4534 = CM 75°E … EPSG:4554 = CM 135°E),
chosen from the data's median longitude (:func:`choose_compute_crs`).

Everything here is pure (no file I/O) and vectorised over numpy arrays.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from planner.errors import InputError, UnknownKeyError

__all__ = [
    "CRS_NAMES",
    "DATUMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_datum",
    "from_datum_geoseries",
    "gcj02_to_bd09",
    "resolve_datum",
    "to_datum",
    "to_datum_geoseries",
    "wgs84_to_bd09",
    "check_coordinate_range",
    "choose_compute_crs",
    "from_gcj02_geoseries",
    "gcj02_to_wgs84",
    "gk_zone_epsg",
    "looks_like_china",
    "resolve_crs",
    "to_gcj02_geoseries",
    "wgs84_to_gcj02",
]

# --------------------------------------------------------------------------------------
# GCJ-02
# --------------------------------------------------------------------------------------

#: Krasovsky 1940 semi-major axis (m) and first eccentricity squared, as used by GCJ-02.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

#: The rough mainland bounding box inside which the GCJ-02 shift is applied (everything
#: outside is returned unchanged, as every public implementation does).
_GCJ_LON = (72.004, 137.8347)
_GCJ_LAT = (0.8293, 55.8271)

#: Metres per degree of latitude (mean Earth radius), for residuals and tolerances.
_M_PER_DEG = 6371008.8 * np.pi / 180.0


def _as_float_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Broadcast ``lon``/``lat`` to float arrays; also say whether both were scalars."""
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x, y, scalar


def _result(x: np.ndarray, y: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    return (float(x), float(y)) if scalar else (x, y)


def _in_gcj_box(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where the GCJ-02 shift applies (NaN → False)."""
    return (lon >= _GCJ_LON[0]) & (lon <= _GCJ_LON[1]) & (lat >= _GCJ_LAT[0]) & (lat <= _GCJ_LAT[1])


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset ``(dlon, dlat)`` in degrees at the WGS84 position ``(lon, lat)``.

    The offset is evaluated everywhere (no bounding-box test); callers apply the box.
    """
    u = lon - 105.0
    v = lat - 35.0
    pi = np.pi
    root = np.sqrt(np.abs(u))
    # the term in u shared by both polynomials
    ripple = (20.0 * np.sin(6.0 * pi * u) + 20.0 * np.sin(2.0 * pi * u)) * (2.0 / 3.0)

    north = -100.0 + 2.0 * u + 3.0 * v + 0.2 * v**2 + 0.1 * u * v + 0.2 * root + ripple
    north += (20.0 * np.sin(pi * v) + 40.0 * np.sin(pi * v / 3.0)) * (2.0 / 3.0)
    north += (160.0 * np.sin(pi * v / 12.0) + 320.0 * np.sin(pi * v / 30.0)) * (2.0 / 3.0)

    east = 300.0 + u + 2.0 * v + 0.1 * u**2 + 0.1 * u * v + 0.1 * root + ripple
    east += (20.0 * np.sin(pi * u) + 40.0 * np.sin(pi * u / 3.0)) * (2.0 / 3.0)
    east += (150.0 * np.sin(pi * u / 12.0) + 300.0 * np.sin(pi * u / 30.0)) * (2.0 / 3.0)

    # metres → degrees on the Krasovsky ellipsoid (meridional and prime-vertical radii)
    phi = np.radians(lat)
    w2 = 1.0 - _KRASOVSKY_EE * np.sin(phi) ** 2
    w = np.sqrt(w2)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w2 * w)
    parallel_radius = _KRASOVSKY_A / w * np.cos(phi)
    dlat = np.degrees(north / meridian_radius)
    dlon = np.degrees(east / parallel_radius)
    return dlon, dlat


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Shift WGS84 longitude/latitude to GCJ-02 (火星坐标).

    Points outside the rough mainland box (72.004–137.8347°E, 0.8293–55.8271°N) and
    NaN are returned unchanged.

    Parameters
    ----------
    lon, lat : float or array-like
        WGS84 (or CGCS2000) degrees; broadcast against each other.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 degrees; floats when both inputs are scalars, arrays otherwise.

    Examples
    --------
    >>> wgs84_to_gcj02(116.404, 39.915)  # doctest: +ELLIPSIS
    (116.41024449916..., 39.91640428150...)
    """
    x, y, scalar = _as_float_arrays(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    inside = _in_gcj_box(x, y)
    return _result(np.where(inside, x + dlon, x), np.where(inside, y + dlat, y), scalar)


def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 20
) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude back to WGS84 by iterative refinement.

    Starting from the GCJ-02 point itself, each step moves the estimate by the residual
    ``target − forward(estimate)``. The offset field varies by only a few millimetres
    per metre, so the iteration contracts by a factor of roughly 1/300 per step: three
    or four steps reach millimetres. Only unconverged points are updated.

    Parameters
    ----------
    lon, lat : float or array-like
        GCJ-02 degrees; broadcast against each other. Points outside the mainland box
        and NaN are returned unchanged.
    tol_m : float, default 0.01
        Target accuracy in metres. Iteration stops once every point's residual is
        below ``tol_m / 2`` (the margin covers the contraction factor), so the
        returned position is within ``tol_m`` of the exact inverse.
    max_iter : int, default 20
        Iteration limit; a :class:`RuntimeWarning` is issued if it is reached.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS84 degrees; floats when both inputs are scalars, arrays otherwise.
    """
    if tol_m <= 0:
        raise ValueError(f"tol_m must be positive, got {tol_m}")
    glon, glat, scalar = _as_float_arrays(lon, lat)
    shape = glon.shape
    gx, gy = glon.ravel(), glat.ravel()  # 1-D, so that 0-d input can be masked too
    x, y = gx.copy(), gy.copy()
    todo = _in_gcj_box(gx, gy)
    for _ in range(max_iter):
        if not todo.any():
            break
        dlon, dlat = _gcj_offset(x[todo], y[todo])
        rx = gx[todo] - (x[todo] + dlon)
        ry = gy[todo] - (y[todo] + dlat)
        x[todo] += rx
        y[todo] += ry
        res_m = _M_PER_DEG * np.hypot(rx * np.cos(np.radians(gy[todo])), ry)
        todo[todo] = res_m >= tol_m / 2.0
    else:
        if todo.any():
            warnings.warn(
                f"gcj02_to_wgs84: {int(todo.sum())} point(s) did not converge to {tol_m} m "
                f"in {max_iter} iterations",
                RuntimeWarning,
                stacklevel=2,
            )
    return _result(x.reshape(shape), y.reshape(shape), scalar)


# --------------------------------------------------------------------------------------
# BD-09 (Baidu)
# --------------------------------------------------------------------------------------

_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON, _BD_DLAT = 0.0065, 0.006


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Shift GCJ-02 longitude/latitude to BD-09 (百度坐标), the published closed form.

    Points outside the GCJ-02 box and NaN are returned unchanged.
    """
    x, y, scalar = _as_float_arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    bx, by = z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT
    inside = _in_gcj_box(x, y)
    return _result(np.where(inside, bx, x), np.where(inside, by, y), scalar)


def bd09_to_gcj02(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 20
) -> tuple[Any, Any]:
    """Convert BD-09 longitude/latitude back to GCJ-02 by fixed-point iteration.

    Each step moves the estimate by ``target − forward(estimate)`` (the forward map is
    nearly a translation, so a few steps reach millimetres). Arguments as
    :func:`gcj02_to_wgs84`.
    """
    if tol_m <= 0:
        raise ValueError(f"tol_m must be positive, got {tol_m}")
    blon, blat, scalar = _as_float_arrays(lon, lat)
    shape = blon.shape
    bx, by = blon.ravel(), blat.ravel()
    x, y = bx - _BD_DLON, by - _BD_DLAT
    todo = _in_gcj_box(x, y)
    x = np.where(todo, x, bx)
    y = np.where(todo, y, by)
    for _ in range(max_iter):
        if not todo.any():
            break
        fx, fy = gcj02_to_bd09(x[todo], y[todo])
        rx, ry = bx[todo] - fx, by[todo] - fy
        x[todo] += rx
        y[todo] += ry
        res_m = _M_PER_DEG * np.hypot(rx * np.cos(np.radians(by[todo])), ry)
        todo[todo] = res_m >= tol_m / 2.0
    return _result(x.reshape(shape), y.reshape(shape), scalar)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """WGS84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[Any, Any]:
    """BD-09 → WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


#: the shifted datums the planner knows besides WGS84 / CGCS2000 (whose difference is
#: centimetres and is ignored)
DATUMS = ("WGS84", "GCJ-02", "BD-09")
_TO = {"GCJ-02": wgs84_to_gcj02, "BD-09": wgs84_to_bd09}
_FROM = {"GCJ-02": gcj02_to_wgs84, "BD-09": bd09_to_wgs84}


def to_datum(lon: Any, lat: Any, datum: str | None) -> tuple[Any, Any]:
    """WGS84 degrees → the ``datum``'s (``"GCJ-02"``, ``"BD-09"``; WGS84 or None: unchanged)."""
    if datum in _TO:
        return _TO[datum](lon, lat)
    return lon, lat


def from_datum(lon: Any, lat: Any, datum: str | None) -> tuple[Any, Any]:
    """The ``datum``'s degrees → WGS84 (WGS84 or None: unchanged)."""
    if datum in _FROM:
        return _FROM[datum](lon, lat)
    return lon, lat


# --------------------------------------------------------------------------------------
# the metric compute CRS (CGCS2000 3-degree Gauss–Krüger zones)
# --------------------------------------------------------------------------------------

#: EPSG:4534 is CM 75°E; the codes rise by one per 3° up to EPSG:4554 (CM 135°E).
_GK_FIRST_EPSG, _GK_FIRST_CM, _GK_LAST_CM = 4534, 75, 135
#: The same zones *with* zone-number prefix: EPSG:4513 (zone 25, CM 75°E) … 4533.
_GK_PREFIX_FIRST_EPSG = 4513
#: Longitudes (°E) for which a compute zone is chosen automatically.
_COMPUTE_LON_RANGE = (73.5, 136.5)


def gk_zone_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3° Gauss–Krüger zone (no prefix) nearest to ``lon``.

    The zones' central meridians are 75°E, 78°E, … 135°E (EPSG:4534 … EPSG:4554);
    longitudes beyond them get the outermost zone.

    Parameters
    ----------
    lon : float
        Longitude in degrees east.

    Returns
    -------
    int
        The EPSG code, e.g. 4547 for 114°E (Guangzhou, Shenzhen) and 4548 for 117°E.

    Raises
    ------
    InputError
        ``lon`` is not a finite number.
    """
    lon = float(lon)
    if not np.isfinite(lon):
        raise InputError(f"cannot choose a Gauss–Krüger zone for longitude {lon}")
    cm = 3 * int(np.floor(lon / 3.0 + 0.5))
    cm = min(max(cm, _GK_FIRST_CM), _GK_LAST_CM)
    return _GK_FIRST_EPSG + (cm - _GK_FIRST_CM) // 3


def choose_compute_crs(lons: Any) -> CRS:
    """The metric compute CRS for data at these longitudes: the zone of their median.

    Parameters
    ----------
    lons : array-like of float
        Longitudes (WGS84 / CGCS2000 degrees) of the data; NaN is ignored.

    Returns
    -------
    pyproj.CRS
        A CGCS2000 3° Gauss–Krüger CRS (EPSG:4534 … EPSG:4554).

    Raises
    ------
    InputError
        No finite longitude, or the median is outside China (73.5–136.5°E), e.g.
        because the coordinates are projected metres or longitude and latitude are
        swapped.
    """
    arr = np.asarray(lons, dtype=float).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise InputError("cannot choose a compute CRS: there are no valid longitudes")
    med = float(np.median(arr))
    lo, hi = _COMPUTE_LON_RANGE
    if not lo <= med <= hi:
        raise InputError(
            f"cannot choose a Gauss–Krüger compute CRS: the median longitude {med:.6g} is "
            f"outside China ({lo}–{hi}°E). Check the coordinate system declared for the "
            "inputs (projected metres? longitude and latitude swapped?), or set "
            'compute_crs in the scenario (e.g. "EPSG:4547").'
        )
    return CRS.from_epsg(gk_zone_epsg(med))


# --------------------------------------------------------------------------------------
# CRS names
# --------------------------------------------------------------------------------------

#: Accepted CRS names → (CRS to read the coordinates in, coordinates are GCJ-02).
#: Keys are normalised by :func:`_normalise_name` (upper case; no spaces, hyphens,
#: underscores, dots or colons).
CRS_NAMES: dict[str, tuple[str, bool]] = {
    "WGS84": ("EPSG:4326", False),
    "WGS1984": ("EPSG:4326", False),
    "EPSG4326": ("EPSG:4326", False),
    "CGCS2000": ("EPSG:4490", False),
    "EPSG4490": ("EPSG:4490", False),
    "国家2000": ("EPSG:4490", False),
    "2000国家大地坐标系": ("EPSG:4490", False),
    "GCJ02": ("EPSG:4326", True),
    "GCJ": ("EPSG:4326", True),
    "火星坐标": ("EPSG:4326", True),
    "国测局坐标": ("EPSG:4326", True),
}

#: Accepted names of BD-09 (Baidu's shifted degrees), normalised like :data:`CRS_NAMES`.
BD09_NAMES = ("BD09", "BD09LL", "BAIDU", "百度坐标", "百度")

#: What error messages list as valid choices.
_SHOWN_CHOICES = [
    "WGS84",
    "CGCS2000",
    "GCJ-02",
    "BD-09",
    "EPSG:4326",
    "EPSG:4490",
    "EPSG:4547",
]


def _normalise_name(spec: str) -> str:
    return "".join(ch for ch in spec.strip().upper() if ch not in " -_.:")


def resolve_crs(spec: str | int | CRS) -> tuple[CRS, bool]:
    """Resolve a declared coordinate system.

    Parameters
    ----------
    spec : str, int or pyproj.CRS
        ``"WGS84"``, ``"CGCS2000"``, ``"GCJ-02"`` (any case; spaces, hyphens and
        underscores ignored; also ``"EPSG:4326"``, ``"EPSG:4490"``, ``"火星坐标"``), a bare
        EPSG number, or anything else pyproj understands (``"EPSG:4547"``, WKT, PROJ).

    Returns
    -------
    crs : pyproj.CRS
        The CRS the coordinates are to be read in. GCJ-02 gives EPSG:4326: the
        coordinates are degrees but still have to be shifted to WGS84.
    is_gcj02 : bool
        True when the coordinates are GCJ-02.

    Raises
    ------
    UnknownKeyError
        The name is neither a known alias nor understood by pyproj; the message names
        the closest valid choice.
    """
    crs, datum = resolve_datum(spec)
    if datum == "BD-09":
        raise InputError("BD-09 is not GCJ-02: use resolve_datum() to read BD-09 coordinates")
    return crs, datum == "GCJ-02"


def resolve_datum(spec: str | int | CRS) -> tuple[CRS, str | None]:
    """Resolve a declared coordinate system, telling shifted datums apart.

    Like :func:`resolve_crs`, and also ``"BD-09"`` (``"BD09"``, ``"百度坐标"``): Baidu's
    shifted degrees.

    Returns
    -------
    crs : pyproj.CRS
        The CRS the coordinates are read in (EPSG:4326 for GCJ-02 and BD-09).
    datum : {"GCJ-02", "BD-09"} or None
        The shift to undo after reading, or None.
    """
    if isinstance(spec, CRS):
        return spec, None
    text = str(spec).strip()
    if _normalise_name(text) in BD09_NAMES:
        return CRS.from_epsg(4326), "BD-09"
    key = _normalise_name(text)
    if key in CRS_NAMES:
        code, is_gcj = CRS_NAMES[key]
        return CRS.from_user_input(code), ("GCJ-02" if is_gcj else None)
    try:
        crs = CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except (CRSError, ValueError, TypeError):
        raise UnknownKeyError(
            text, _SHOWN_CHOICES, "crs (any EPSG:NNNN code is also accepted)"
        ) from None
    return crs, None


# --------------------------------------------------------------------------------------
# range checks
# --------------------------------------------------------------------------------------

#: China's rough extent: 73.5–135.1°E, 3.8–53.6°N, rounded outwards.
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)


def looks_like_china(lon: Any, lat: Any) -> np.ndarray:
    """Whether each (lon, lat) lies in China's rough bounding box (73–136°E, 3–54°N).

    Parameters
    ----------
    lon, lat : float or array-like
        Degrees; broadcast against each other.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as the broadcast input (0-d for scalars); NaN gives False.
    """
    x, y, _ = _as_float_arrays(lon, lat)
    return (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])


def _example(x: np.ndarray, y: np.ndarray, mask: np.ndarray, fmt: str) -> str:
    i = int(np.flatnonzero(mask)[0])
    return f"({x[i]:{fmt}}, {y[i]:{fmt}})"


def check_coordinate_range(x: Any, y: Any, crs: CRS) -> list[str]:
    """Reasons why coordinates contradict their CRS; empty when they look plausible.

    Parameters
    ----------
    x, y : array-like of float
        Longitude/latitude for a geographic CRS, easting/northing for a projected one.
        Non-finite values are ignored.
    crs : pyproj.CRS
        The declared coordinate system.

    Returns
    -------
    list of str
        Human-readable reasons, each with a count and an example. For a geographic CRS:
        values that look like projected metres (``|x|`` or ``|y|`` > 1000); latitude and
        longitude apparently swapped for China (x within 18–54 and y within 73–136);
        other values beyond ±180° / ±90°. For a projected CRS: all values look like
        degrees (``|x| ≤ 180`` and ``|y| ≤ 90``); for a CGCS2000 3° Gauss–Krüger zone
        without prefix (EPSG:4534–4554), eastings carrying a zone-number prefix.
    """
    xs, ys, _ = _as_float_arrays(x, y)
    xs, ys = xs.ravel(), ys.ravel()
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    n = xs.size
    if n == 0:
        return []
    reasons: list[str] = []
    if crs.is_geographic:
        metres = (np.abs(xs) > 1000.0) | (np.abs(ys) > 1000.0)
        swapped = ~metres & (xs >= 18.0) & (xs <= 54.0) & (ys >= 73.0) & (ys <= 136.0)
        beyond = ~metres & ~swapped & ((np.abs(xs) > 180.0) | (np.abs(ys) > 90.0))
        if metres.any():
            reasons.append(
                f"{int(metres.sum())} of {n} coordinate(s) look like projected metres, not "
                f"degrees, e.g. {_example(xs, ys, metres, '.1f')}"
            )
        if swapped.any():
            reasons.append(
                f"{int(swapped.sum())} of {n} coordinate(s) look like (latitude, longitude): "
                f"longitude and latitude swapped, e.g. {_example(xs, ys, swapped, '.6f')}"
            )
        if beyond.any():
            reasons.append(
                f"{int(beyond.sum())} of {n} coordinate(s) beyond ±180° longitude / ±90° "
                f"latitude, e.g. {_example(xs, ys, beyond, '.6f')}"
            )
    else:
        if np.all((np.abs(xs) <= 180.0) & (np.abs(ys) <= 90.0)):
            reasons.append(
                f"all {n} coordinate(s) look like degrees, e.g. "
                f"{_example(xs, ys, np.ones(n, dtype=bool), '.6f')}, but {crs.name} is "
                "projected (metres)"
            )
        else:
            reasons.extend(_gk_prefix_reason(xs, crs))
    return reasons


def _gk_prefix_reason(xs: np.ndarray, crs: CRS) -> list[str]:
    """Eastings with a zone-number prefix (e.g. 38 431 000) in a zone without prefix."""
    code = crs.to_epsg()
    last = _GK_FIRST_EPSG + (_GK_LAST_CM - _GK_FIRST_CM) // 3
    if code is None or not _GK_FIRST_EPSG <= code <= last:
        return []
    prefixed = np.abs(xs) >= 1.0e6
    if not prefixed.any():
        return []
    with_prefix = _GK_PREFIX_FIRST_EPSG + (code - _GK_FIRST_EPSG)
    return [
        f"{int(prefixed.sum())} of {xs.size} easting(s) of 1 000 000 m or more, e.g. "
        f"{xs[prefixed][0]:.1f}: they carry a zone-number prefix, which {crs.name} does "
        f"not; declare EPSG:{with_prefix} (the same zone with prefix) instead"
    ]


# --------------------------------------------------------------------------------------
# GeoSeries
# --------------------------------------------------------------------------------------


def _shift_geoseries(
    gs: gpd.GeoSeries, func: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]]
) -> gpd.GeoSeries:
    """Apply a lon/lat transform to every coordinate at once, keeping any Z values."""

    def shift_xy(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    geoms = np.asarray(gs.array, dtype=object)
    out = np.empty_like(geoms)
    has_z = np.asarray(shapely.has_z(geoms), dtype=bool)
    out[~has_z] = shapely.transform(geoms[~has_z], shift_xy, include_z=False)
    if has_z.any():
        out[has_z] = shapely.transform(geoms[has_z], shift_xy, include_z=True)
    return gpd.GeoSeries(out, index=gs.index, crs="EPSG:4326", name=gs.name)


def to_gcj02_geoseries(gs: gpd.GeoSeries) -> gpd.GeoSeries:
    """Shift every coordinate of a GeoSeries from WGS84 to GCJ-02 (for Amap-style tiles).

    Parameters
    ----------
    gs : geopandas.GeoSeries
        Points, lines, polygons or their multi- forms. A series in another CRS is first
        reprojected to EPSG:4326; a series without CRS is taken to be EPSG:4326.

    Returns
    -------
    geopandas.GeoSeries
        A new series with the same index, GCJ-02 coordinates, labelled EPSG:4326.
    """
    if gs.crs is not None and not gs.crs.equals(CRS.from_epsg(4326)):
        gs = gs.to_crs(4326)
    return _shift_geoseries(gs, wgs84_to_gcj02)


def from_gcj02_geoseries(gs: gpd.GeoSeries) -> gpd.GeoSeries:
    """Convert every coordinate of a GCJ-02 GeoSeries to WGS84.

    Parameters
    ----------
    gs : geopandas.GeoSeries
        GCJ-02 degrees, labelled EPSG:4326 (or any geographic CRS, or none). The
        labels are not reprojected: GCJ-02 is only defined on longitude/latitude.

    Returns
    -------
    geopandas.GeoSeries
        A new series with the same index, WGS84 coordinates, CRS EPSG:4326.

    Raises
    ------
    InputError
        The series is in a projected CRS, which cannot hold GCJ-02 coordinates.
    """
    if gs.crs is not None and not gs.crs.is_geographic:
        raise InputError(
            f"GCJ-02 coordinates must be longitude/latitude degrees, but the layer is in "
            f"{gs.crs.name}; declare it as EPSG:4326 holding GCJ-02 values"
        )
    return _shift_geoseries(gs, gcj02_to_wgs84)


def to_datum_geoseries(gs: gpd.GeoSeries, datum: str | None) -> gpd.GeoSeries:
    """Every coordinate of a WGS84 GeoSeries in the ``datum`` (GCJ-02, BD-09; else as is)."""
    if datum not in _TO:
        return gs
    if gs.crs is not None and not gs.crs.equals(CRS.from_epsg(4326)):
        gs = gs.to_crs(4326)
    return _shift_geoseries(gs, _TO[datum])


def from_datum_geoseries(gs: gpd.GeoSeries, datum: str | None) -> gpd.GeoSeries:
    """Every coordinate of a GeoSeries in the ``datum`` (GCJ-02, BD-09) back to WGS84.

    Raises
    ------
    InputError
        The series is in a projected CRS, which cannot hold shifted degrees.
    """
    if datum not in _FROM:
        return gs
    if gs.crs is not None and not gs.crs.is_geographic:
        raise InputError(
            f"{datum} coordinates must be longitude/latitude degrees, but the layer is in "
            f"{gs.crs.name}; declare it as EPSG:4326 holding {datum} values"
        )
    return _shift_geoseries(gs, _FROM[datum])
