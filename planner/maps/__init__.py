"""Offline Leaflet maps of a run (离线地图).

>>> from planner.maps import gap_map, save_offline, siting_layers
>>> m = gap_map(result, **siting_layers(result))     # doctest: +SKIP
>>> save_offline(m, "runs/demo/map.html")             # doctest: +SKIP

The page inlines Leaflet, jQuery and d3 from the asset cache (``make assets``) and
loads nothing from the network; see ``docs/maps.md``.
"""

from planner.maps.assets import ASSETS, AssetError
from planner.maps.gap import MapError, gap_map, school_radius, school_table, siting_layers
from planner.maps.offline import external_urls, offline_map, render_offline, save_offline
from planner.maps.text import safe_text

__all__ = [
    "ASSETS",
    "AssetError",
    "MapError",
    "external_urls",
    "gap_map",
    "offline_map",
    "render_offline",
    "safe_text",
    "save_offline",
    "school_radius",
    "school_table",
    "siting_layers",
]
