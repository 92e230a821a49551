"""Road network input (道路网络): a road-centreline layer → a graph for network distances.

A scenario's optional ``roads`` input is read and validated like every other input
(:func:`planner.inputs.load.load_inputs`: a line layer in WGS84 with the canonical columns
``name`` and ``oneway``, problems in the validation report);
:func:`planner.inputs.roads.read_roads` does the same for one file outside a scenario
and returns the graph. :func:`roads_graph` turns
lines in the metric compute CRS into the ``networkx`` graph that
:func:`planner.siting.problem.build_problem` takes as ``network``. Roads meet where they
share a vertex (after rounding to ``snap_m``): lines that cross without a common vertex
(bridges, overpasses) are not connected.

:func:`road_pieces` finds the connected pieces of a layer; :func:`network_lines` keeps
the pieces a run can use — the longest piece and every piece within
:data:`SNAP_TOLERANCE_M` of a school or candidate site — so that a stray fragment far
from every school does not capture the blocks around it (they would reach nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from planner.errors import InputError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "SNAP_TOLERANCE_M",
    "VERTEX_SPACING_M",
    "anchored_pieces",
    "network_lines",
    "road_graph",
    "road_pieces",
    "roads_graph",
]

#: a demand point, school or site farther than this (m) from the road network is
#: reported (validation, and ``points_snapped_far`` / ``facilities_snapped_far`` in
#: ``siting_summary.csv``): its road distances begin with a long straight leg
SNAP_TOLERANCE_M = 500.0
#: vertices are added along long road segments so that points snap near their foot on
#: the road, not to a far segment end (used by ``planner run``)
VERTEX_SPACING_M = 100.0


def _vertices(
    geoms: gpd.GeoSeries, snap_m: float, max_segment_m: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of every line part: coordinates, grid keys, part and source row of each.

    Returns ``xy`` (n, 2), ``key`` (n, 2) int grid keys, ``part`` (n,) part index of
    each vertex, ``src`` (parts,) row of each part, ``same`` (n − 1,) True where
    consecutive vertices belong to one part (a segment).
    """
    parts, src = shapely.get_parts(geoms.to_numpy(), return_index=True)
    if max_segment_m is not None and len(parts):
        parts = shapely.segmentize(parts, max_segment_m)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    key = np.round(xy / snap_m).astype(np.int64)
    same = part[1:] == part[:-1]
    return xy, key, part, src, same


def roads_graph(
    lines: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    snap_m: float = 0.5,
    oneway: str | None = None,
    max_segment_m: float | None = None,
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
    max_segment_m : float, optional
        Add vertices so that no segment is longer than this (points then snap to a
        node near their foot on the road); None keeps the lines' own vertices.

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
    xy, key, part, src, same = _vertices(geoms, snap_m, max_segment_m)
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


def road_pieces(
    lines: gpd.GeoDataFrame | gpd.GeoSeries, *, snap_m: float = 0.5
) -> gpd.GeoDataFrame:
    """The connected pieces of a road layer (ignoring one-way restrictions).

    Parameters
    ----------
    lines : GeoDataFrame or GeoSeries
        Lines in a metric CRS; missing and empty geometries are skipped.
    snap_m : float
        As :func:`roads_graph`: vertices closer than this meet.

    Returns
    -------
    GeoDataFrame
        One row per line part: ``pos`` (position of its line in ``lines``), ``piece``
        (0 = the piece with the longest total length, then by decreasing length),
        ``piece_m`` (total length of the piece, m) and the part's geometry.
    """
    geoms = lines.geometry if isinstance(lines, gpd.GeoDataFrame) else lines
    geoms = geoms.reset_index(drop=True)
    parts, src = shapely.get_parts(geoms.to_numpy(), return_index=True)
    keep = ~shapely.is_empty(parts)
    parts, src = parts[keep], src[keep]
    if not len(parts):
        return gpd.GeoDataFrame(
            {"pos": np.zeros(0, int), "piece": np.zeros(0, int), "piece_m": np.zeros(0)},
            geometry=gpd.GeoSeries([], crs=geoms.crs),
        )
    _, key, part, _, same = _vertices(gpd.GeoSeries(parts), snap_m, None)
    _, node = np.unique(key, axis=0, return_inverse=True)
    node = node.ravel()
    n = int(node.max()) + 1
    # every vertex is linked to the next one of its part (and to itself: lone nodes)
    u = np.concatenate([node[:-1][same], node])
    v = np.concatenate([node[1:][same], node])
    adj = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    first = np.searchsorted(part, np.arange(len(parts)))  # first vertex of each part
    raw = label[node[first]]
    length = shapely.length(parts)
    total = np.bincount(raw, weights=length)
    rank = np.empty(len(total), int)
    rank[np.lexsort((np.arange(len(total)), -total))] = np.arange(len(total))
    return gpd.GeoDataFrame(
        {"pos": src, "piece": rank[raw], "piece_m": total[raw]},
        geometry=gpd.GeoSeries(parts, crs=geoms.crs),
    )


def anchored_pieces(
    pieces: gpd.GeoDataFrame, anchors: gpd.GeoSeries, *, tolerance_m: float = SNAP_TOLERANCE_M
) -> np.ndarray:
    """Which pieces have a school or site within ``tolerance_m`` (bool per piece label).

    Parameters
    ----------
    pieces : GeoDataFrame
        From :func:`road_pieces`.
    anchors : GeoSeries
        Schools and candidate sites (points) in the same metric CRS.
    tolerance_m : float
        Largest distance from a piece to an anchor for the piece to count.

    Returns
    -------
    ndarray of bool
        Indexed by piece label (``pieces["piece"]``).
    """
    n = int(pieces["piece"].max()) + 1 if len(pieces) else 0
    out = np.zeros(n, bool)
    pts = anchors[anchors.notna() & ~anchors.is_empty].to_numpy()
    if n and len(pts):
        tree = shapely.STRtree(pieces.geometry.to_numpy())
        _, hit = tree.query(pts, predicate="dwithin", distance=tolerance_m)
        out[pieces["piece"].to_numpy()[hit]] = True
    return out


def network_lines(
    lines: gpd.GeoDataFrame,
    anchors: gpd.GeoSeries,
    *,
    tolerance_m: float = SNAP_TOLERANCE_M,
    snap_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """The road lines a run uses: the longest piece and every piece near a school or site.

    A piece not connected to the longest one and farther than ``tolerance_m`` from every
    school and candidate site is left out: blocks snapped to it would reach no school
    (the validation reports it as ``road_disconnected``).

    Parameters
    ----------
    lines : GeoDataFrame
        Canonical roads in a metric CRS (``oneway`` column optional).
    anchors : GeoSeries
        Schools and candidate sites (points) in the same CRS.
    tolerance_m, snap_m : float
        As :func:`anchored_pieces` and :func:`roads_graph`.

    Returns
    -------
    GeoDataFrame
        The kept line parts, with the ``oneway`` column of their line when present.
    """
    pieces = road_pieces(lines, snap_m=snap_m)
    near = anchored_pieces(pieces, anchors, tolerance_m=tolerance_m)
    piece = pieces["piece"].to_numpy()
    kept = pieces[(piece == 0) | near[piece]]
    out = gpd.GeoDataFrame(geometry=kept.geometry.to_numpy(), crs=lines.crs)
    if "oneway" in lines.columns:
        out["oneway"] = lines["oneway"].to_numpy()[kept["pos"].to_numpy()]
    return out


def road_graph(roads: gpd.GeoDataFrame, anchors: Sequence[gpd.GeoSeries] = ()) -> nx.Graph | None:
    """The graph a run measures road distances on, from validated road lines.

    Pieces not connected to the longest one and farther than :data:`SNAP_TOLERANCE_M`
    from every anchor (schools, candidate sites) are left out (:func:`network_lines`),
    vertices are added every :data:`VERTEX_SPACING_M` so that points snap near their
    foot on the road, and ``oneway`` lines are one-way.

    Parameters
    ----------
    roads : GeoDataFrame
        Road lines in the metric compute CRS (``oneway`` column).
    anchors : sequence of GeoSeries
        Points (same CRS) whose nearby pieces are kept.

    Returns
    -------
    networkx.Graph or networkx.DiGraph or None
        None when no road is a usable line.
    """
    roads = roads[roads.geometry.notna() & ~roads.geometry.is_empty]
    if not len(roads):
        return None
    pts = pd.concat(list(anchors)) if len(anchors) else gpd.GeoSeries([], crs=roads.crs)
    lines = network_lines(roads, pts)
    return roads_graph(lines, oneway="oneway", max_segment_m=VERTEX_SPACING_M)
