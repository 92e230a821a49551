"""Road network input (道路网络): a road-centreline file → a graph for network distances.

:func:`read_roads` reads a line layer (GeoPackage, Shapefile, GeoJSON), normalises its
coordinates (GCJ-02 exports are shifted to WGS84) and projects it to the compute CRS;
:func:`roads_graph` turns lines into the ``networkx`` graph that
:func:`planner.siting.problem.build_problem` takes as ``network``. Roads meet where they
share a vertex (after rounding to ``snap_m``): lines that cross without a common vertex
(bridges, overpasses) are not connected.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from planner.errors import InputError
from planner.io.crs import from_gcj02_geoseries, resolve_crs

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["read_roads", "roads_graph"]


def roads_graph(
    lines: gpd.GeoDataFrame | gpd.GeoSeries, *, snap_m: float = 0.5, oneway: str | None = None
) -> nx.Graph:
    """Build a road graph from line geometries in a metric CRS.

    Parameters
    ----------
    lines : GeoDataFrame or GeoSeries
        LineString / MultiLineString geometries in metres.
    snap_m : float
        Vertices closer than this (on a grid of this size) become one node.
    oneway : str, optional
        Name of a boolean column: True lines are one-way in their digitised direction
        (the graph is then a ``DiGraph``).

    Returns
    -------
    networkx.Graph or networkx.DiGraph
        Nodes ``(i, j)`` grid keys with attributes ``x``, ``y``; one edge per segment
        between consecutive vertices, attribute ``length`` (m).
    """
    import networkx as nx  # only needed for road networks

    geoms = lines.geometry if isinstance(lines, gpd.GeoDataFrame) else lines
    if geoms.crs is not None and geoms.crs.is_geographic:
        raise InputError("roads must be in a metric CRS (project them to the compute CRS)")
    one = (
        np.asarray(lines[oneway].fillna(False), bool)
        if oneway is not None and isinstance(lines, gpd.GeoDataFrame)
        else np.zeros(len(geoms), bool)
    )
    parts, src = shapely.get_parts(geoms.to_numpy(), return_index=True)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    key = np.round(xy / snap_m).astype(np.int64)
    same = part[1:] == part[:-1]  # consecutive vertices of one line part
    a, b = key[:-1][same], key[1:][same]
    length = np.hypot(*(xy[1:][same] - xy[:-1][same]).T)
    directed = one[src[part[:-1][same]]]
    g = nx.DiGraph() if one.any() else nx.Graph()
    nodes = {tuple(k): (x, y) for k, (x, y) in zip(key.tolist(), xy.tolist(), strict=True)}
    g.add_nodes_from((k, {"x": x, "y": y}) for k, (x, y) in nodes.items())
    ka, kb = list(map(tuple, a.tolist())), list(map(tuple, b.tolist()))
    g.add_edges_from(
        (u, v, {"length": w}) for u, v, w in zip(ka, kb, length.tolist(), strict=True) if u != v
    )
    if g.is_directed():  # two-way lines get their reverse edge
        g.add_edges_from(
            (v, u, {"length": w})
            for u, v, w, d in zip(ka, kb, length.tolist(), directed.tolist(), strict=True)
            if u != v and not d
        )
    return g


def read_roads(
    path: str | Path,
    *,
    to_crs: object,
    crs: str | None = None,
    layer: str | None = None,
    snap_m: float = 0.5,
    oneway: str | None = None,
) -> nx.Graph:
    """Read a road-centreline file into a graph in the compute CRS.

    Parameters
    ----------
    path : str or Path
        GeoPackage, Shapefile or GeoJSON of lines.
    to_crs : CRS-like
        The scenario's metric compute CRS.
    crs : str, optional
        Coordinate system of the file when it carries none or it is GCJ-02
        (``"WGS84"``, ``"CGCS2000"``, ``"GCJ-02"``, ``"EPSG:NNNN"``).
    layer : str, optional
        GeoPackage layer.
    snap_m, oneway
        As :func:`roads_graph`.

    Returns
    -------
    networkx.Graph or networkx.DiGraph
    """
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # fiona / pyogrio raise many kinds
        raise InputError(f"{path}: cannot read the road network ({exc})") from None
    if crs is not None:
        declared, is_gcj = resolve_crs(crs)
        gdf = gdf.set_crs(declared, allow_override=True)
        if is_gcj:
            gdf = gdf.set_geometry(from_gcj02_geoseries(gdf.geometry))
    elif gdf.crs is None:
        raise InputError(f'{path}: the road network has no CRS; declare it (crs = "WGS84" …)')
    lines = gdf[gdf.geometry.notna() & gdf.geom_type.isin(["LineString", "MultiLineString"])]
    if not len(lines):
        raise InputError(f"{path}: no line geometries in the road network")
    return roads_graph(lines.to_crs(to_crs), snap_m=snap_m, oneway=oneway)
