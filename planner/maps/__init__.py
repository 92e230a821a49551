"""Offline Leaflet maps of a run (离线地图).

>>> from planner.maps import gap_map, save_offline
>>> m = gap_map(result)                               # doctest: +SKIP
>>> save_offline(m, "runs/demo/map.html")             # doctest: +SKIP

The page inlines Leaflet and jQuery, shipped inside the package, and loads nothing from
the network unless the scenario's ``[map.basemap]`` names a tile server; see
``docs/maps.md``. :func:`export_figure` saves it as PNG / PDF through headless Chromium.
"""

from planner.maps.assets import ASSETS, AssetError
from planner.maps.basemap import Basemap, BasemapError, resolve_basemap
from planner.maps.classify import GapScale, gap_scale
from planner.maps.export import ExportError, export_figure
from planner.maps.gap import (
    MapError,
    gap_map,
    map_values,
    school_radius,
    school_table,
    siting_layers,
)
from planner.maps.offline import external_urls, offline_map, render_offline, save_offline
from planner.maps.text import safe_text

__all__ = [
    "ASSETS",
    "AssetError",
    "Basemap",
    "BasemapError",
    "ExportError",
    "GapScale",
    "MapError",
    "export_figure",
    "external_urls",
    "gap_map",
    "gap_scale",
    "map_values",
    "offline_map",
    "render_offline",
    "resolve_basemap",
    "safe_text",
    "save_offline",
    "school_radius",
    "school_table",
    "siting_layers",
]
