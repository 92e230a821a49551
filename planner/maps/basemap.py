"""Basemaps under the run's map (底图): local tiles, intranet XYZ / WMTS, Tianditu, Amap.

:func:`resolve_basemap` turns the scenario's ``[map.basemap]`` into the tile layers the
page draws. Local tiles (a ``{z}/{x}/{y}`` folder or an ``.mbtiles`` file) are read here,
clipped to the map's extent and zoom range, and travel with the page (embedded, or in a
folder beside it); the other kinds need the network, and their URL prefixes are the only
ones the page may load.
"""

from __future__ import annotations

import base64
import math
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import BasemapError

__all__ = ["Basemap", "LocalTiles", "resolve_basemap", "tile_range", "TileLayerSpec"]

#: refuse to read more local tiles than this (lower max_zoom, or serve them by XYZ)
LOCAL_TILES_MAX_MB = 1024

_TIANDITU = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
    "&TILECOL={{x}}&tk={key}"
)
_TIANDITU_LABELS = {"vec": "cva", "img": "cia", "ter": "cta"}
_TIANDITU_NAMES = {"vec": "矢量", "img": "影像", "ter": "地形"}
_AMAP = {
    "vec": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}",
    "img": "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
}
_DEFAULT_ATTRIBUTION = {
    "tianditu": "天地图 © 国家地理信息公共服务平台",
    "amap": "© 高德地图 AutoNavi",
}


#: placeholders of local tiles in the page, replaced when the page is saved
LOCAL_TILES_TOKEN = "__PLANNER_LOCAL_TILES__"
LOCAL_TILES_URL = "__PLANNER_LOCAL_TILE_URL__/{z}/{x}/{y}"


@dataclass
class TileLayerSpec:
    """One tile layer of the basemap: a URL template (``{z}/{x}/{y}``, ``{s}``)."""

    url: str
    subdomains: str = "abc"


@dataclass
class LocalTiles:
    """Tiles read from a folder or an MBTiles file, keyed ``"z/x/y"``."""

    tiles: dict[str, bytes]
    ext: str
    mime: str
    max_native_zoom: int

    @property
    def nbytes(self) -> int:
        """Total size of the tiles."""
        return sum(len(b) for b in self.tiles.values())


@dataclass
class Basemap:
    """The resolved basemap.

    Attributes
    ----------
    kind : str
        As in the scenario.
    name : str
        Shown in the footer.
    attribution : str
        The provider's credit line (plain text).
    gcj02 : bool
        The tiles are in GCJ-02: overlays must be shifted.
    layers : list of TileLayerSpec
        Network tile layers (base first, then annotations).
    local : LocalTiles or None
        Local tiles that travel with the page.
    min_zoom, max_zoom : int
        Zoom range.
    opacity : float
        Opacity of the tiles.
    embed_max_mb : float
        Local tiles up to this size are embedded in the page.
    """

    kind: str
    name: str
    attribution: str
    gcj02: bool = False
    layers: list[TileLayerSpec] = field(default_factory=list)
    local: LocalTiles | None = None
    min_zoom: int = 0
    max_zoom: int = 18
    opacity: float = 1.0
    embed_max_mb: float = 20.0

    @property
    def allowed_urls(self) -> list[str]:
        """URL prefixes the page may load (everything before the first ``{``)."""
        return [t.url.split("{", 1)[0] for t in self.layers]


def tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """XYZ tile columns and rows covering ``bounds`` (lon/lat) at zoom ``z``.

    Returns ``(x_min, x_max, y_min, y_max)`` (inclusive), web-Mercator tiling (as OSM,
    Tianditu ``_w`` and Amap).
    """
    minx, miny, maxx, maxy = bounds
    n = 2**z

    def tx(lon: float) -> int:
        return min(max(int((lon + 180.0) / 360.0 * n), 0), n - 1)

    def ty(lat: float) -> int:
        lat = max(min(lat, 85.0511), -85.0511)
        r = math.radians(lat)
        return min(max(int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n), 0), n - 1)

    return tx(minx), tx(maxx), ty(maxy), ty(miny)


def _read_folder(root: Path, bounds, zooms: range) -> LocalTiles:
    exts = ("png", "jpg", "jpeg", "webp")
    tiles: dict[str, bytes] = {}
    ext_found = ""
    total = 0
    for z in zooms:
        x0, x1, y0, y1 = tile_range(bounds, z)
        for x in range(x0, x1 + 1):
            col = root / str(z) / str(x)
            if not col.is_dir():
                continue
            for y in range(y0, y1 + 1):
                for ext in (ext_found,) if ext_found else exts:
                    p = col / f"{y}.{ext}"
                    if p.is_file():
                        data = p.read_bytes()
                        total += len(data)
                        if total > LOCAL_TILES_MAX_MB * 1e6:
                            raise BasemapError(
                                f"{root}: more than {LOCAL_TILES_MAX_MB} MB of tiles in the "
                                "map's extent; lower [map.basemap] max_zoom or serve them by XYZ"
                            )
                        tiles[f"{z}/{x}/{y}"] = data
                        ext_found = ext
                        break
    if not tiles:
        raise BasemapError(
            f"{root}: no tiles {{z}}/{{x}}/{{y}}.png (or .jpg / .webp) for the map's extent at "
            f"zoom {zooms.start}–{zooms.stop - 1}; check [map.basemap] path, min_zoom and "
            "max_zoom (XYZ numbering, not TMS)"
        )
    mime = "image/jpeg" if ext_found in ("jpg", "jpeg") else f"image/{ext_found}"
    top = max(int(k.split("/", 1)[0]) for k in tiles)
    return LocalTiles(tiles, ext_found, mime, top)


def _read_mbtiles(path: Path, bounds, zooms: range) -> LocalTiles:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise BasemapError(f"{path}: cannot open the MBTiles file ({e})") from e
    try:
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
        fmt = str(meta.get("format", "png")).lower()
        if fmt not in ("png", "jpg", "jpeg", "webp"):
            raise BasemapError(
                f"{path}: tile format '{fmt}' (vector tiles?) cannot be shown; give raster "
                "tiles (png / jpg / webp)"
            )
        tiles: dict[str, bytes] = {}
        total = 0
        for z in zooms:
            x0, x1, y0, y1 = tile_range(bounds, z)
            n = 2**z
            # MBTiles rows count from the south (TMS): row = 2^z − 1 − y
            rows = con.execute(
                "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ? "
                "AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?",
                (z, x0, x1, n - 1 - y1, n - 1 - y0),
            )
            for x, row, data in rows:
                total += len(data)
                if total > LOCAL_TILES_MAX_MB * 1e6:
                    raise BasemapError(
                        f"{path}: more than {LOCAL_TILES_MAX_MB} MB of tiles in the map's "
                        "extent; lower [map.basemap] max_zoom"
                    )
                tiles[f"{z}/{x}/{n - 1 - row}"] = bytes(data)
    except sqlite3.Error as e:
        raise BasemapError(f"{path}: not a readable MBTiles file ({e})") from e
    finally:
        con.close()
    if not tiles:
        raise BasemapError(
            f"{path}: no tiles for the map's extent at zoom {zooms.start}–{zooms.stop - 1}; "
            "check [map.basemap] min_zoom and max_zoom"
        )
    ext = "jpeg" if fmt == "jpg" else fmt
    return LocalTiles(
        tiles,
        "jpg" if fmt == "jpeg" else fmt,
        f"image/{ext}",
        max(int(k.split("/", 1)[0]) for k in tiles),
    )


def resolve_basemap(
    spec: Any,
    *,
    bounds: tuple[float, float, float, float],
    base_dir: Path | str = ".",
    environ: os._Environ[str] | dict[str, str] | None = None,
) -> Basemap | None:
    """The basemap a ``[map.basemap]`` spec describes, or None for ``kind = "none"``.

    Parameters
    ----------
    spec : BasemapSpec or mapping
        The scenario's ``[map.basemap]`` (a mapping is validated like the file).
    bounds : (minx, miny, maxx, maxy)
        The map's extent in lon/lat (GCJ-02 for GCJ-02 tiles): local tiles are read for
        it only.
    base_dir : path
        Folder a relative ``path`` is taken from (the scenario's folder).
    environ : mapping, optional
        Environment for ``key_env`` (default ``os.environ``).

    Raises
    ------
    BasemapError
        A missing key, folder or file, or no tiles in the extent.
    """
    from planner.scenario import BasemapSpec

    if spec is None:
        return None
    if not isinstance(spec, BasemapSpec):
        try:
            spec = BasemapSpec.model_validate(dict(spec))
        except Exception as e:  # pydantic's message names the key
            raise BasemapError(f"[map.basemap]: {e}") from None
    kind = spec.kind
    if kind == "none":
        return None
    env = os.environ if environ is None else environ
    attribution = (spec.attribution or _DEFAULT_ATTRIBUTION.get(kind, "")).strip()
    bm = Basemap(
        kind=kind,
        name=attribution,
        attribution=attribution,
        gcj02=bool(spec.gcj02) or kind == "amap",
        min_zoom=spec.min_zoom,
        max_zoom=spec.max_zoom,
        opacity=spec.opacity,
        embed_max_mb=spec.embed_max_mb,
    )
    if kind == "local":
        p = Path(spec.path)
        p = p if p.is_absolute() else Path(base_dir) / p
        # pad the extent by a tenth so the edges of the city are not cut
        minx, miny, maxx, maxy = bounds
        dx, dy = (maxx - minx) * 0.1, (maxy - miny) * 0.1
        padded = (minx - dx, miny - dy, maxx + dx, maxy + dy)
        zooms = range(spec.min_zoom, spec.max_zoom + 1)
        if p.is_dir():
            bm.local = _read_folder(p, padded, zooms)
        elif p.is_file() and p.suffix.lower() == ".mbtiles":
            bm.local = _read_mbtiles(p, padded, zooms)
        else:
            raise BasemapError(
                f"[map.basemap] path {p} is neither a tile folder nor an .mbtiles file"
            )
        bm.name = spec.attribution or p.name
        bm.attribution = spec.attribution or ""
    elif kind == "xyz":
        bm.layers = [TileLayerSpec(spec.url, spec.subdomains or "abc")]
    elif kind == "wmts":
        sep = "&" if "?" in spec.url else "?"
        url = (
            f"{spec.url}{sep}SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={spec.layer}"
            f"&STYLE={spec.style}&TILEMATRIXSET={spec.tile_matrix_set}&FORMAT={spec.format}"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
        )
        bm.layers = [TileLayerSpec(url, spec.subdomains or "abc")]
    elif kind == "tianditu":
        key = spec.key or (env.get(spec.key_env) if spec.key_env else None)
        if not key:
            raise BasemapError(
                f"[map.basemap] kind 'tianditu' needs a key: set the environment variable "
                f"{spec.key_env or 'named by key_env'} (a 天地图 key, console.tianditu.gov.cn)"
            )
        layer = spec.layer or "vec"
        if layer not in _TIANDITU_LABELS:
            raise BasemapError(f"[map.basemap] layer for tianditu: vec, img or ter, not {layer!r}")
        bm.layers = [TileLayerSpec(_TIANDITU.format(layer=layer, key=key), "01234567")]
        if spec.labels:
            lab = _TIANDITU_LABELS[layer]
            bm.layers.append(TileLayerSpec(_TIANDITU.format(layer=lab, key=key), "01234567"))
        bm.name = f"天地图（{_TIANDITU_NAMES[layer]}）"
    elif kind == "amap":
        layer = spec.layer or "vec"
        if layer not in _AMAP:
            raise BasemapError(f"[map.basemap] layer for amap: vec or img, not {layer!r}")
        bm.layers = [TileLayerSpec(_AMAP[layer], "1234")]
        bm.name = "高德地图"
    return bm


def data_uri(data: bytes, mime: str) -> str:
    """A ``data:`` URI of a tile."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
