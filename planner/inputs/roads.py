"""Read one road-centreline file outside a scenario into a graph (读取路网文件).

A scenario's ``roads`` input is read by :func:`planner.inputs.load.load_inputs` like every
other input; :func:`read_roads` does the same for a single file and hands the lines to
:func:`planner.geo.roads.roads_graph`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import InputError
from planner.geo.roads import roads_graph
from planner.inputs.canonical import canonicalise, table_specs
from planner.inputs.readers import read_raw_table
from planner.inputs.schema import load_schema

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["read_roads"]

#: problem codes after which a road file has no usable geometry
_FATAL = {"missing_crs", "bad_crs", "crs_range", "missing_geometry", "unreadable_file"}


def read_roads(
    path: str | Path,
    *,
    to_crs: object,
    crs: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    columns: Mapping[str, str] | None = None,
    snap_m: float = 0.5,
    oneway: str | None = None,
    max_segment_m: float | None = None,
) -> nx.Graph:
    """Read a road-centreline file into a graph in the compute CRS.

    The file is read and checked like a scenario's ``roads`` input (headers, ``oneway``
    values, geometry types, CRS). Problems that leave no usable geometry (no CRS,
    coordinates contradicting it, no line at all) raise; the others are issued as
    Python warnings and the rows concerned are left out.

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
    encoding : str, optional
        Text encoding of a Shapefile (detected when omitted).
    columns : mapping, optional
        Header mapping ``{header in the file: canonical name}`` (``name``, ``oneway``).
    snap_m, max_segment_m
        As :func:`roads_graph`.
    oneway : str, optional
        Header of the one-way column when the built-in aliases do not know it.

    Returns
    -------
    networkx.Graph or networkx.DiGraph

    Raises
    ------
    InputError
        The file cannot be read, has no usable CRS, or holds no line.
    """
    raw = read_raw_table(path, layer=layer, encoding=encoding)
    cols = dict(columns or {})
    if oneway is not None:
        cols[oneway] = "oneway"
    spec = table_specs(load_schema())["roads"]
    table, problems = canonicalise(raw, spec, columns=cols, crs=crs)
    table = table.loc[table["_drop"].isna()].drop(columns="_drop")
    fatal = [p for p in problems if p.severity == "error" and p.code in _FATAL]
    lines = table[table.geometry.notna() & ~table.geometry.is_empty]
    if fatal or not len(lines):
        why = "; ".join(f"{p.message} → {p.hint}" for p in fatal) or "no line geometries"
        raise InputError(f"{path}: the road network cannot be used: {why}")
    for p in problems:
        if p.severity != "info":
            warnings.warn(str(p), stacklevel=2)
    return roads_graph(
        lines.to_crs(to_crs), snap_m=snap_m, oneway="oneway", max_segment_m=max_segment_m
    )
