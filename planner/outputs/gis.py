"""GIS layers of a run for QGIS (成果图层): ``results.gpkg`` with a style for every layer.

One GeoPackage (WGS84) with the seat gap of every stage and year (one polygon layer each,
before and after the plan), the plan's projects, the candidate sites chosen and not
chosen, the catchments and the allocation lines of every plan period and the unserved
demand. Each layer carries a QGIS style in the GeoPackage's ``layer_styles`` table (the
table QGIS itself writes with "Save as default … in datasource database"), so the
layers open in QGIS already coloured and labelled: the seat gaps on the same classed
scale as the web map, in two styles (规划实施前 as the default, 规划实施后).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from planner.gaps import gaps_after_plan
from planner.maps.classify import GapScale, scale_for
from planner.reports.plan_tables import SCHOOL_TYPE_ZH, STAGE_ZH, five_year_plan

__all__ = ["write_results_gpkg", "gis_layers", "GisLayer", "QGIS_VERSION"]

#: the QGIS version the styles are written for (read by QGIS 3.x)
QGIS_VERSION = "3.22.16-Białowieża"
_KIND_ZH = {"new": "新建", "expansion": "改扩建", "existing": "现状"}


@dataclass
class GisLayer:
    """One layer of ``results.gpkg`` with its QGIS styles.

    Attributes
    ----------
    name : str
        Table name in the GeoPackage (ASCII: ``gap_primary_2030``).
    title : str
        Chinese title (the GeoPackage ``identifier``, shown by QGIS).
    frame : GeoDataFrame
        The features (EPSG:4326).
    styles : list of (name, qml, default)
        QGIS styles (QML), the first default.
    """

    name: str
    title: str
    frame: gpd.GeoDataFrame
    styles: list[tuple[str, str, bool]]


# ---------------------------------------------------------------- QML


def _rgb(color: str, alpha: int = 255) -> str:
    c = color.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _props(props: Mapping[str, Any]) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in props.items())


def _fill(color: str, outline: str = "#555555", width: float = 0.26, alpha: int = 255) -> str:
    return _props(
        {
            "color": _rgb(color, alpha),
            "outline_color": _rgb(outline),
            "outline_style": "solid",
            "outline_width": width,
            "outline_width_unit": "MM",
            "style": "solid",
            "joinstyle": "bevel",
        }
    )


def _symbol(kind: str, name: str, layer_class: str, props: str, alpha: float = 1.0) -> str:
    return (
        f'<symbol type="{kind}" name="{name}" alpha="{alpha}" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{layer_class}" enabled="1" pass="0" locked="0">{props}</layer></symbol>'
    )


def _marker(shape: str, color: str, size: float, outline: str = "#ffffff") -> str:
    return _props(
        {
            "name": shape,
            "color": _rgb(color),
            "outline_color": _rgb(outline),
            "outline_width": 0.3,
            "outline_width_unit": "MM",
            "size": size,
            "size_unit": "MM",
            "angle": 0,
            "scale_method": "diameter",
            "joinstyle": "bevel",
        }
    )


def _line(color: str, width: float, dash: bool = False, alpha: int = 255) -> str:
    return _props(
        {
            "line_color": _rgb(color, alpha),
            "line_style": "dash" if dash else "solid",
            "line_width": width,
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
    )


def _labeling(field: str, size: float = 9.0, color: str = "#222222") -> str:
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(field)} isExpression="0" fontFamily="Noto Sans CJK SC" '
        f'fontSize="{size}" fontSizeUnit="Point" textColor="{_rgb(color)}" textOpacity="1" '
        'fontWeight="50" namedStyle="Regular" multilineHeight="1" previewBkgrdColor="255,255,255,255">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.85" bufferJoinStyle="128"/>'
        "</text-style>"
        '<text-format wrapChar="" multilineAlign="3" formatNumbers="0" decimals="0" plussign="0"/>'
        '<placement placement="1" dist="1" distUnits="MM" offsetType="0" priority="5" '
        'centroidInside="1" centroidWhole="0" fitInPolygonOnly="0" quadOffset="4"/>'
        '<rendering scaleVisibility="0" drawLabels="1" obstacle="1" upsidedownLabels="0" '
        'labelPerPart="0" mergeLines="0" displayAll="0" limitNumLabels="0"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, labeling: str = "", geometry: str = "Polygon") -> str:
    """A QGIS layer style (QML) with a renderer and optional labels."""
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling" '
        f'labelsEnabled="{1 if labeling else 0}">\n'
        f"{renderer}\n{labeling}\n"
        f"<layerGeometryType>{ {'Point': 0, 'Line': 1, 'Polygon': 2}[geometry] }</layerGeometryType>\n"
        "</qgis>\n"
    )


def _single(symbol: str) -> str:
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{symbol}</symbols></renderer-v2>"
    )


def _categorized(attr: str, cats: Sequence[tuple[str, str, str]], symbols: Sequence[str]) -> str:
    """cats: (value, label, symbol name)."""
    cs = "".join(
        f"<category value={quoteattr(v)} label={quoteattr(lab)} symbol={quoteattr(s)} "
        'render="true"/>'
        for v, lab, s in cats
    )
    return (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} symbollevels="0" '
        f'enableorderby="0" forceraster="0"><categories>{cs}</categories>'
        f"<symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )


def gap_style_qml(attr: str, scale: GapScale) -> str:
    """A graduated QGIS style of net seat gaps (``attr`` = gap − surplus) on ``scale``.

    The classes are those of the web map: surpluses (blues), balanced (0), gaps (reds);
    labels in Chinese with 个.
    """
    ranges: list[tuple[float, float, str, str]] = []
    sur, gap = list(scale["sur"]), list(scale["gap"])
    for i in reversed(range(len(sur))):
        hi = sur[i]
        lo = 1 if i == 0 else sur[i - 1] + 1
        ranges.append((-hi - 0.5, -lo + 0.5, scale["surColors"][i], f"富余 {lo:,}–{hi:,} 个"))
    ranges.append((-0.5, 0.5, scale["zero"], "供需平衡"))
    for i, hi in enumerate(gap):
        lo = 1 if i == 0 else gap[i - 1] + 1
        top = 1e12 if i == len(gap) - 1 else hi + 0.5
        ranges.append((lo - 0.5, top, scale["gapColors"][i], f"缺口 {lo:,}–{hi:,} 个"))
    ranges[0] = (-1e12, *ranges[0][1:])
    rs = "".join(
        f'<range lower="{lo:.1f}" upper="{hi:.1f}" symbol="{k}" label={quoteattr(lab)} '
        'render="true"/>'
        for k, (lo, hi, _, lab) in enumerate(ranges)
    )
    syms = "".join(
        _symbol("fill", str(k), "SimpleFill", _fill(c)) for k, (_, _, c, _) in enumerate(ranges)
    )
    renderer = (
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(attr)} graduatedMethod="GraduatedColor" '
        'symbollevels="0" enableorderby="0" forceraster="0">'
        f"<ranges>{rs}</ranges><symbols>{syms}</symbols>"
        '<mode name="manual"/></renderer-v2>'
    )
    return _qml(renderer, _labeling("name"), "Polygon")


# ---------------------------------------------------------------- layers


def gis_layers(result: Any, scale: GapScale | None = None) -> list[GisLayer]:
    """Every layer of ``results.gpkg`` for a run (pure: frames and styles, nothing written).

    Parameters
    ----------
    result : RunResult
        The run.
    scale : GapScale, optional
        The classed scale of the seat gaps (default: this run's, as on its web map).
    """
    out: list[GisLayer] = []
    units = result.inputs["units"].to_crs(4326)[["unit_id", "name", "kind", "geometry"]]
    projects = result.tables.get("projects")
    g = gaps_after_plan(result.tables["needs"], projects)
    g["net"] = g["seat_gap"] - g["surplus"]
    g["net_after"] = g["seat_gap_after"] - g["surplus_after"]
    has_plan = projects is not None and len(projects) > 0
    scale = scale or scale_for((result.tables["needs"], projects))
    g["class"] = [scale.class_of(v) for v in g["net"]]
    g["class_after"] = [scale.class_of(v) for v in g["net_after"]]
    before = gap_style_qml("net", scale)
    after = gap_style_qml("net_after", scale)
    for (stage, year), part in g.groupby(["stage", "year"], sort=True):
        f = units.merge(part.drop(columns=["name"], errors="ignore"), on="unit_id", how="left")
        f["stage"] = stage
        f["year"] = int(year)
        styles = [("规划实施前", before, True)]
        if has_plan:
            styles.append(("规划实施后", after, False))
        out.append(
            GisLayer(
                f"gap_{stage}_{int(year)}",
                f"{STAGE_ZH.get(stage, stage)}学位缺口 {int(year)}年",
                gpd.GeoDataFrame(f, geometry="geometry", crs=4326),
                styles,
            )
        )
    if has_plan and {"lon", "lat"} <= set(projects.columns):
        out.append(_projects_layer(projects, units))
    if "sites" in result.inputs and len(result.inputs["sites"]):
        out += _sites_layers(result.inputs["sites"].to_crs(4326), projects)
    out += _period_layers(result)
    return out


def _projects_layer(projects: pd.DataFrame, units: gpd.GeoDataFrame) -> GisLayer:
    p = projects.copy()
    names = dict(zip(units["unit_id"].astype(str), units["name"], strict=False))
    p["unit_name"] = p["unit_id"].astype(str).map(names)
    p["kind_zh"] = p["kind"].map(_KIND_ZH).fillna(p["kind"])
    p["school_type_zh"] = p["school_type"].map(SCHOOL_TYPE_ZH).fillna(p["school_type"])
    p["classes"] = p.get("classes_primary", 0) + p.get("classes_junior", 0)
    p["cost_wan"] = (p["cost"] / 1e4).round(1) if "cost" in p else np.nan
    p["plan"] = [five_year_plan(int(y))[0] if int(y) >= 1966 else "" for y in p["year"]]
    p["label"] = [
        f"{n} {int(y)}年" for n, y in zip(p["name"].fillna(p["ref"]), p["year"], strict=True)
    ]
    gdf = gpd.GeoDataFrame(
        p.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(p["lon"], p["lat"]), crs=4326
    )
    syms = [
        _symbol("marker", "0", "SimpleMarker", _marker("star", "#08306b", 5.0)),
        _symbol("marker", "1", "SimpleMarker", _marker("triangle", "#2171b5", 3.6)),
    ]
    qml = _qml(
        _categorized("kind", [("new", "新建学校", "0"), ("expansion", "改扩建学校", "1")], syms),
        _labeling("label", 8.0, "#08306b"),
        "Point",
    )
    return GisLayer("projects", "规划建设项目", gdf, [("规划项目", qml, True)])


def _sites_layers(sites: gpd.GeoDataFrame, projects: pd.DataFrame | None) -> list[GisLayer]:
    s = sites.copy()
    s["site_id"] = s["site_id"].astype(str)
    chosen: dict[str, pd.Series] = {}
    if projects is not None and len(projects) and "ref" in projects:
        new = projects.loc[projects["kind"] == "new"]
        chosen = {str(r.ref): r for r in new.itertuples(index=False)}
    s["chosen"] = s["site_id"].isin(list(chosen))
    s["year"] = s["site_id"].map(lambda k: int(chosen[k].year) if k in chosen else pd.NA)
    s["seats"] = s["site_id"].map(lambda k: int(chosen[k].seats) if k in chosen else pd.NA)
    s["school_type"] = s["site_id"].map(lambda k: chosen[k].school_type if k in chosen else pd.NA)
    s = s.astype({"year": "Int64", "seats": "Int64"})
    poly = s.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).any()
    out = []
    for flag, name, title, color in (
        (True, "sites_chosen", "规划选用的教育用地", "#006d2c"),
        (False, "sites_unchosen", "未选用的候选教育用地", "#a1d99b"),
    ):
        part = s.loc[s["chosen"] == flag]
        if not len(part):
            continue
        if poly:
            sym = _symbol("fill", "0", "SimpleFill", _fill(color, "#00441b", 0.4, 160))
            qml = _qml(_single(sym), _labeling("name", 8.0) if flag else "", "Polygon")
        else:
            sym = _symbol(
                "marker", "0", "SimpleMarker", _marker("circle", color, 3.0 if flag else 2.2)
            )
            qml = _qml(_single(sym), _labeling("name", 8.0) if flag else "", "Point")
        out.append(GisLayer(name, title, part.reset_index(drop=True), [(title, qml, True)]))
    return out


def _period_layers(result: Any) -> list[GisLayer]:
    out: list[GisLayer] = []
    catch = result.layers.get("catchments")
    names: dict[str, str] = {}
    for key, col in (("schools", "school_id"), ("sites", "site_id")):
        if key in result.inputs:
            t = result.inputs[key]
            names.update(dict(zip(t[col].astype(str), t["name"], strict=False)))
    if isinstance(catch, gpd.GeoDataFrame) and len(catch):
        c = catch.to_crs(4326).copy()
        if "year" not in c:
            c["year"] = 0
        if "ref" in c:
            c["name"] = c["ref"].astype(str).map(names).fillna(c["ref"].astype(str))
        line = _symbol(
            "fill",
            "0",
            "SimpleFill",
            _props(
                {
                    "color": "255,255,255,0",
                    "style": "no",
                    "outline_color": _rgb("#333333"),
                    "outline_style": "dash",
                    "outline_width": 0.5,
                    "outline_width_unit": "MM",
                }
            ),
        )
        qml = _qml(_single(line), _labeling("name", 7.5, "#333333"), "Polygon")
        for y, part in c.groupby("year", sort=True):
            keys = [k for k in ("ref", "stage", "year") if k in part]
            keep = [k for k in ("fac_id", "name", "kind") if k in part]
            d = part.dissolve(by=keys, as_index=False, aggfunc="first")[[*keys, *keep, "geometry"]]
            out.append(
                GisLayer(
                    f"catchments_{int(y)}", f"服务范围 {int(y)}年", d, [("服务范围", qml, True)]
                )
            )
    alloc = result.layers.get("allocations")
    if isinstance(alloc, gpd.GeoDataFrame) and len(alloc):
        a = alloc.to_crs(4326)
        sym = _symbol("line", "0", "SimpleLine", _line("#54278f", 0.3, alpha=150))
        qml = _qml(_single(sym), "", "Line")
        for y, part in a.groupby("year", sort=True):
            out.append(
                GisLayer(
                    f"allocations_{int(y)}",
                    f"就学分配线 {int(y)}年",
                    part.reset_index(drop=True),
                    [("就学分配", qml, True)],
                )
            )
    un = result.tables.get("unserved")
    if un is not None and len(un):
        units = result.inputs["units"].to_crs(4326).set_index("unit_id")
        g = un.groupby(["unit_id", "stage", "year"], as_index=False).agg(
            seats=("seats", "sum"), reason=("reason", lambda r: "; ".join(sorted(set(map(str, r)))))
        )
        g = g.loc[g["unit_id"].isin(units.index)]
        if len(g):
            g["name"] = g["unit_id"].map(units["name"])
            pts = units.geometry.representative_point().reindex(g["unit_id"]).to_numpy()
            gdf = gpd.GeoDataFrame(g.reset_index(drop=True), geometry=list(pts), crs=4326)
            sym = _symbol("marker", "0", "SimpleMarker", _marker("circle", "#67000d", 4.0))
            qml = _qml(_single(sym), "", "Point")
            out.append(GisLayer("unserved", "未满足的学位需求", gdf, [("未满足需求", qml, True)]))
    return out


# ---------------------------------------------------------------- writing

_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP
)
"""


def write_results_gpkg(result: Any, path: str | Path, *, scale: GapScale | None = None) -> Path:
    """Write ``results.gpkg``: every layer of :func:`gis_layers` with its QGIS styles.

    Parameters
    ----------
    result : RunResult
        The run.
    path : path-like
        The GeoPackage to write (replaced).
    scale : GapScale, optional
        The seat gaps' classes (default: this run's).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    layers = gis_layers(result, scale)
    for i, lyr in enumerate(layers):
        pyogrio.write_dataframe(
            lyr.frame,
            path,
            layer=lyr.name,
            driver="GPKG",
            append=i > 0,
            # GeoPackage 1.2: read by the GDAL of older QGIS releases still found in bureaus
            dataset_options={"VERSION": "1.2"} if i == 0 else None,
            layer_options={"IDENTIFIER": lyr.title, "DESCRIPTION": lyr.title},
        )
    con = sqlite3.connect(path)
    try:
        con.execute(_STYLES_DDL)
        geom_col = {
            t: c
            for t, c in con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns")
        }
        rows = []
        for lyr in layers:
            for name, qml, default in lyr.styles:
                rows.append(
                    (
                        "",
                        "",
                        lyr.name,
                        geom_col.get(lyr.name, "geom"),
                        name,
                        qml,
                        "",
                        default,
                        lyr.title,
                        "planner",
                    )
                )
        con.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
            "update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            rows,
        )
        con.execute(
            "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles', "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
        )
        con.commit()
    finally:
        con.close()
    return path
