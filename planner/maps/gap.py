"""The seat-gap map of a run (学位缺口与学校布局图).

:func:`gap_map` draws a :class:`~planner.run.RunResult` with folium: planning units
shaded by seat gap per stage, one layer per milestone year; existing schools sized by
seats and coloured by utilisation, with 大班额 / 大校额 rings; schools under
construction or planned; candidate education land; optional siting results. Every
string from the inputs passes through :func:`planner.maps.safe_text`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import branca.colormap as bcm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import ENV, MacroElement
from jinja2 import Template
from shapely.geometry import mapping

import planner
from planner.errors import PlannerError
from planner.io.crs import to_gcj02_geoseries
from planner.maps.labels import LANGS, label, value_label
from planner.maps.offline import offline_map
from planner.maps.text import fmt_int, fmt_num, fmt_pct, safe_text

__all__ = [
    "MapError",
    "gap_map",
    "school_table",
    "siting_layers",
    "school_radius",
    "UNIT_CLASS",
    "SCHOOL_CLASS",
]

#: CSS classes on the SVG paths / markers (the browser tests count them)
UNIT_CLASS = "pl-unit"
SCHOOL_CLASS = "pl-school"
FLAG_CLASS = "pl-flag"
PLANNED_CLASS = "pl-planned"
SITE_CLASS = "pl-site"
PROPOSED_CLASS = "pl-proposed"
RADIUS_CLASS = "pl-radius"
CATCHMENT_CLASS = "pl-catchment"
UNSERVED_CLASS = "pl-unserved"

_UNITS_PANE = "plUnits"
_CATCH_PANE = "plCatchments"
_GAP_COLORS = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]
_UTIL_COLORS = ["#1a9850", "#a6d96a", "#fee08b", "#fdae61", "#d73027"]
_UTIL_RANGE = (0.5, 1.3)
_NODATA = "#cccccc"
_CLASS_RING = "#6a3d9a"
_SIZE_RING = "#111111"
_PLANNED = "#1f78b4"
_SITE = "#33a02c"
_PROPOSED = "#08306b"
_UNSERVED = "#67000d"


class MapError(PlannerError):
    """A map cannot be drawn as asked (unknown language, year, or a bad tile config)."""


class _Html(MacroElement):
    """Static HTML placed in the page body (footer, legend, title)."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.content }}{% endmacro %}")

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "PlannerHtml"
        self.content = content


_CSS = """<style>
.leaflet-container{background:#f4f4f1;font-family:"Microsoft YaHei","PingFang SC",
"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;}
.pl-box{position:absolute;z-index:1000;background:rgba(255,255,255,.92);border-radius:4px;
box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:12px;line-height:1.4;color:#222;}
.pl-title{top:10px;left:54px;padding:4px 12px;font-size:15px;font-weight:bold;
pointer-events:none;max-width:calc(100% - 420px);}
.pl-legend{left:10px;bottom:70px;padding:6px 8px;max-width:260px;}
.leaflet-container .leaflet-bottom{bottom:20px;}
.pl-legend b{display:block;margin-bottom:2px;}
.pl-legend svg{vertical-align:middle;margin-right:4px;}
.pl-footer{bottom:0;left:0;right:0;border-radius:0;padding:2px 10px;font-size:11px;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis;height:16px;}
.pl-popup{font-size:12px;}
.pl-popup table{border-collapse:collapse;font-size:12px;}
.pl-popup th{text-align:left;font-weight:normal;color:#555;padding:1px 8px 1px 0;
vertical-align:top;}
.pl-popup td{padding:1px 0;}
.pl-popup .pl-h{font-weight:bold;font-size:13px;margin-bottom:3px;}
.pl-popup .pl-sub{font-weight:bold;margin-top:4px;}
.pl-popup .pl-flag{color:#b2182b;font-weight:bold;}
.legend.leaflet-control{background:rgba(255,255,255,.92);padding:2px 4px;border-radius:4px;}
.legend.leaflet-control text.caption{font-size:11px;}
</style>"""


def _colormap_template() -> Template | None:
    """Branca's legend script, drawing into its own control at the bottom right.

    branca selects the first ``.legend`` control on the page, so a second colormap
    would draw into the first one's box; here each draws into its own container.
    """
    try:
        src = ENV.loader.get_source(ENV, "color_scale.js")[0]
    except Exception:  # branca changed its layout: keep its own template
        return None
    old_sel = 'd3.select(".legend.leaflet-control")'
    old_pos = "{position: 'topright'}"
    if old_sel not in src or old_pos not in src:
        return None
    src = src.replace(old_sel, "d3.select({{this.get_name()}}.legend.getContainer())")
    src = src.replace(old_pos, "{position: 'bottomright'}")
    return ENV.from_string(src)


_CM_TEMPLATE = _colormap_template()


class _Colormap(bcm.LinearColormap):
    """A branca linear colormap whose legend sits in its own box (bottom right)."""

    if _CM_TEMPLATE is not None:
        _template = _CM_TEMPLATE


# ---------------------------------------------------------------- helpers


def _popup_html(title: str, rows: Sequence[tuple[str, Any]], extra: str = "") -> str:
    """A popup: escaped title and label/value rows (values are plain text)."""
    trs = "".join(f"<tr><th>{safe_text(k)}</th><td>{safe_text(v)}</td></tr>" for k, v in rows if k)
    return f'<div class="pl-popup"><div class="pl-h">{safe_text(title)}</div><table>{trs}</table>{extra}</div>'


def _popup(html: str) -> folium.Popup:
    # script=True: the HTML is already escaped; branca must not escape it again
    return folium.Popup(folium.Html(html, script=True), max_width=360)


def _tooltip(text: str) -> folium.Tooltip:
    return folium.Tooltip(safe_text(text), sticky=True)


def _yes_no(lang: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    return label(lang, "yes") if bool(v) else label(lang, "no")


def _wgs84(gdf: gpd.GeoDataFrame | None, gcj02: bool) -> gpd.GeoDataFrame | None:
    """In EPSG:4326, shifted to GCJ-02 when the basemap needs it; empty geometries dropped."""
    if gdf is None:
        return None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise MapError("siting layers must be GeoDataFrames with a geometry column")
    g = gdf.loc[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    g = g.to_crs(4326) if g.crs is not None else g.set_crs(4326)
    if gcj02 and len(g):
        g = g.set_geometry(to_gcj02_geoseries(g.geometry))
    return g


def _geojson(geom: Any, style: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature whose only property is its Leaflet style (no input text)."""
    return {"type": "Feature", "geometry": mapping(geom), "properties": {"style": style}}


def _point(geom: Any) -> tuple[float, float]:
    p = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(p.y), float(p.x)


def school_radius(seats: float) -> float:
    """Circle radius in pixels for a school with ``seats`` seats (fixed scale)."""
    if seats is None or not np.isfinite(seats) or seats <= 0:
        return 3.0
    return float(min(2.5 + math.sqrt(seats) / 5.0, 16.0))


def _tile_config(tiles: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if tiles is None:
        return None
    if not isinstance(tiles, Mapping):
        raise MapError("tiles must be a mapping with 'url' and 'attribution'")
    unknown = set(tiles) - {
        "url",
        "attribution",
        "name",
        "gcj02",
        "max_zoom",
        "subdomains",
        "opacity",
    }
    if unknown:
        raise MapError(f"unknown tile setting(s) {sorted(unknown)}")
    url = str(tiles.get("url", ""))
    if not url.startswith(("https://", "http://")) or not all(
        k in url for k in ("{z}", "{x}", "{y}")
    ):
        raise MapError(f"tiles.url must be an http(s) template with {{z}}, {{x}}, {{y}}: {url!r}")
    if not str(tiles.get("attribution", "")).strip():
        raise MapError("tiles.attribution is required (the tile provider's credit line)")
    return dict(tiles)


# ---------------------------------------------------------------- tables


def school_table(result: Any) -> gpd.GeoDataFrame:
    """Existing schools with their base-year figures, one row per school, in drawing order.

    Parameters
    ----------
    result : RunResult
        From :func:`planner.run.compute`.

    Returns
    -------
    GeoDataFrame
        ``school_id, name, stage, public, unit_id, address, students, classes, capacity,
        utilisation, oversized_class, oversized_school, school_pupils, size_cap,
        geometry`` (EPSG:4326), largest schools first (small circles are drawn on top).
        Row ``k`` is drawn with the CSS class ``pl-school-k``.
    """
    s = result.inputs["schools"]
    s = s.loc[s["status"] == "existing"]
    comp = result.tables["compliance"]
    agg = comp.groupby("school_id", sort=False).agg(
        students=("students", "sum"),
        classes=("classes", "sum"),
        capacity=("capacity", "sum"),
        oversized_class=("oversized_class", "any"),
        oversized_school=("oversized_school", "any"),
        school_pupils=("school_pupils", "max"),
        size_cap=("size_cap", "max"),
    )
    cols = [c for c in ("school_id", "name", "stage", "public", "unit_id", "address") if c in s]
    s = s.loc[s.geometry.notna() & ~s.geometry.is_empty]  # no location, no marker
    out = s[[*cols, "geometry"]].merge(agg, left_on="school_id", right_index=True, how="left")
    out[["students", "classes", "capacity"]] = out[["students", "classes", "capacity"]].fillna(0)
    for c in ("oversized_class", "oversized_school"):
        out[c] = out[c].fillna(False).astype(bool)
    cap = out["capacity"].astype(float)
    out["utilisation"] = np.where(
        cap > 0, out["students"].astype(float) / cap.where(cap > 0), np.nan
    )
    out = out.sort_values(["capacity", "school_id"], ascending=[False, True], kind="stable")
    out = gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=s.crs)
    return out.to_crs(4326)


def siting_layers(result: Any, year: int | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The siting results of a run as the optional layers of :func:`gap_map`.

    Parameters
    ----------
    result : RunResult
        A run computed with ``siting=True``.
    year : int, optional
        Year of the unserved demand shown (default: the last year in the table).

    Returns
    -------
    dict
        ``proposed`` (points: name, kind, unit_id, school_type, year, seats, cost),
        ``catchments`` (polygons with the serving school's name) and ``unserved``
        (one point per unit and stage: seats, reasons), for those the run has. Pass it
        on as ``gap_map(result, **siting_layers(result))``.
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    t = result.tables
    names: dict[str, str] = {}
    if "schools" in result.inputs:
        s = result.inputs["schools"]
        names.update(dict(zip(s["school_id"].astype(str), s["name"], strict=False)))
    if "sites" in result.inputs:
        s = result.inputs["sites"]
        names.update(dict(zip(s["site_id"].astype(str), s["name"], strict=False)))
    p = t.get("projects")
    if p is not None and len(p) and {"lon", "lat"} <= set(p.columns):
        out["proposed"] = gpd.GeoDataFrame(
            p.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(p["lon"], p["lat"]),
            crs=4326,
        )
    c = result.layers.get("catchments")
    if isinstance(c, gpd.GeoDataFrame) and len(c):
        c = c.copy()
        if "ref" in c.columns:
            c["name"] = c["ref"].astype(str).map(names)
        out["catchments"] = c
    u = t.get("unserved")
    if u is not None and len(u):
        y = int(u["year"].max()) if year is None else int(year)
        u = u.loc[u["year"] == y]
        if len(u):
            g = u.groupby(["unit_id", "stage"], as_index=False).agg(
                seats=("seats", "sum"),
                reason=("reason", lambda r: "; ".join(sorted({str(x) for x in r}))),
            )
            g["year"] = y
            units = result.inputs["units"].to_crs(4326).set_index("unit_id")
            g = g.loc[g["unit_id"].isin(units.index)]
            g["name"] = g["unit_id"].map(units["name"])
            pts = units.geometry.representative_point().reindex(g["unit_id"]).to_numpy()
            out["unserved"] = gpd.GeoDataFrame(g, geometry=list(pts), crs=4326)
    return out


# ---------------------------------------------------------------- map


def gap_map(
    result: Any,
    *,
    lang: str = "zh",
    years: Sequence[int] | None = None,
    stages: Sequence[str] | None = None,
    tiles: Mapping[str, Any] | None = None,
    approval_no: str = "",
    source_note: str | None = None,
    title: str | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    catchments: gpd.GeoDataFrame | None = None,
    unserved: gpd.GeoDataFrame | None = None,
    service_radius_m: float | Mapping[str, float] | None = None,
) -> folium.Map:
    """The seat-gap map of a run.

    Parameters
    ----------
    result : RunResult
        From :func:`planner.run.compute` (tables ``needs`` and ``compliance``).
    lang : {"zh", "en"}
        Labels, legends and popups in Chinese (default) or English.
    years : sequence of int, optional
        Years with a seat-gap layer; default :meth:`RunResult.milestone_years` (base
        year, +5, +10).
    stages : sequence of str, optional
        ``primary`` and/or ``junior``; default both (those in ``needs``).
    tiles : mapping, optional
        A basemap: ``url`` (``https://…/{z}/{x}/{y}…``), ``attribution`` (plain text,
        required), optional ``name``, ``subdomains``, ``max_zoom``, ``opacity`` and
        ``gcj02`` (True for Amap / Tencent tiles: every vector layer is shifted to
        GCJ-02 so it lines up). Default: no basemap, the page needs no network.
    approval_no : str
        The 审图号 printed in the footer (empty by default; required by the surveying
        authorities before a map with a basemap is published).
    source_note : str, optional
        The data source line of the footer; default names the scenario, the base year
        and the planner version.
    title : str, optional
        Heading over the map; default from the scenario name.
    proposed : GeoDataFrame, optional
        Siting result: proposed schools (points) with ``name``, ``kind`` (new /
        expansion), ``year``, ``seats`` and optionally ``school_type``, ``cost``,
        ``radius_m``. See :func:`siting_layers`.
    catchments : GeoDataFrame, optional
        Catchment polygons (``name`` or ``ref``, ``stage``), hidden until switched on.
    unserved : GeoDataFrame, optional
        Unserved demand (points or polygons) with ``seats`` and optionally ``unit_id``,
        ``name``, ``stage``, ``year``, ``reason``.
    service_radius_m : float or mapping, optional
        Service radius drawn around each proposed school, in metres; a mapping by
        stage / school type (``{"primary": 1000, "junior": 2000}``). A ``radius_m``
        column of ``proposed`` takes precedence.

    Returns
    -------
    folium.Map
        Save it with :func:`planner.maps.save_offline`.

    Raises
    ------
    MapError
        Unknown language, a year or stage without results, or a bad tile config.
    """
    if lang not in LANGS:
        raise MapError(f"lang must be one of {LANGS}, not {lang!r}")
    tile_cfg = _tile_config(tiles)
    gcj = bool(tile_cfg and tile_cfg.get("gcj02"))
    sc = result.inputs.scenario
    needs = result.tables["needs"]
    if years is None:
        years = [y for y in result.milestone_years() if y in set(needs["year"])]
    years = [int(y) for y in years]
    missing = sorted(set(years) - set(needs["year"].astype(int)))
    if missing:
        raise MapError(f"no seat-gap results for year(s) {missing}")
    have = [s for s in ("primary", "junior") if s in set(needs["stage"])]
    stages = list(stages) if stages is not None else have
    bad = [s for s in stages if s not in have]
    if bad:
        raise MapError(f"no seat-gap results for stage(s) {bad}; have {have}")

    units = _wgs84(result.inputs["units"], gcj)
    units = units.set_geometry(units.geometry.simplify(0.00005, preserve_topology=True))
    minx, miny, maxx, maxy = units.total_bounds
    m = offline_map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=11,
        control_scale=True,
        prefer_canvas=False,
    )
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    name = sc.name
    m.get_root().title = safe_text(title or label(lang, "title", name=name))
    m.get_root().header.add_child(folium.Element(_CSS), name="planner_css")
    folium.map.CustomPane(_UNITS_PANE, z_index=350, pointer_events=True).add_to(m)
    folium.map.CustomPane(_CATCH_PANE, z_index=360, pointer_events=True).add_to(m)

    if tile_cfg:
        folium.TileLayer(
            tiles=tile_cfg["url"],
            attr=safe_text(tile_cfg["attribution"]),
            name=safe_text(tile_cfg.get("name") or label(lang, "tiles_layer")),
            overlay=True,
            control=True,
            max_zoom=int(tile_cfg.get("max_zoom", 18)),
            subdomains=tile_cfg.get("subdomains") or "abc",
            opacity=float(tile_cfg.get("opacity", 1.0)),
        ).add_to(m)

    # ---- seat gap per stage and year (radio buttons: one visible at a time)
    sel = needs.loc[needs["stage"].isin(stages) & needs["year"].isin(years)]
    net = (sel["seat_gap"] - sel["surplus"]).astype(float)
    hi = max(float(np.nanmax(net)) if len(net) else 1.0, 1.0)
    lo = min(float(np.nanmin(net)) if len(net) else -1.0, -1.0)
    hi, lo = float(math.ceil(hi / 100) * 100), float(math.floor(lo / 100) * 100)
    gap_cm = _Colormap(
        _GAP_COLORS,
        index=[lo, lo / 2, 0.0, hi / 2, hi],
        vmin=lo,
        vmax=hi,
        caption=safe_text(label(lang, "gap_caption")),
    )
    gap_cm.tick_labels = [lo, lo / 2, 0.0, hi / 2, hi]
    first = True
    for stage in stages:
        for year in years:
            _gap_layer(m, units, needs, stage, year, gap_cm, lang, show=first)
            first = False
    gap_cm.add_to(m)

    # ---- schools
    util_cm = _Colormap(
        _UTIL_COLORS,
        index=list(np.linspace(*_UTIL_RANGE, len(_UTIL_COLORS))),
        vmin=_UTIL_RANGE[0],
        vmax=_UTIL_RANGE[1],
        caption=safe_text(label(lang, "util_caption")),
    )
    util_cm.tick_labels = [0.5, 0.7, 0.9, 1.1, 1.3]
    schools = school_table(result)
    if gcj and len(schools):
        schools = schools.set_geometry(to_gcj02_geoseries(schools.geometry))
    comp = result.tables["compliance"]
    _school_layers(m, schools, comp, util_cm, lang)
    util_cm.add_to(m)
    legend_items = ["size", "oversized_class", "oversized_school"]
    if _planned_layer(m, result, gcj, lang):
        legend_items.append("planned")
    if "sites" in result.inputs and _sites_layer(m, _wgs84(result.inputs["sites"], gcj), lang):
        legend_items.append("site")

    # ---- siting results (optional)
    proposed = _wgs84(proposed, gcj)
    if proposed is not None and len(proposed):
        _proposed_layers(m, proposed, service_radius_m, lang)
        legend_items += ["new", "expansion"]
    catchments = _wgs84(catchments, gcj)
    if catchments is not None and len(catchments):
        _catchment_layer(m, catchments, lang)
    unserved = _wgs84(unserved, gcj)
    if unserved is not None and len(unserved):
        _unserved_layer(m, unserved, lang)
        legend_items.append("unserved")

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _legend(m, legend_items, lang)
    _footer(m, result, lang, tile_cfg, approval_no, source_note, gcj)
    _Html(
        f'<div class="pl-box pl-title">{safe_text(title or label(lang, "title", name=name))}</div>'
    ).add_to(m)
    return m


def _gap_layer(
    m: folium.Map,
    units: gpd.GeoDataFrame,
    needs: pd.DataFrame,
    stage: str,
    year: int,
    cm: bcm.LinearColormap,
    lang: str,
    *,
    show: bool,
) -> None:
    stage_label = value_label(lang, "stage", stage)
    fg = folium.FeatureGroup(
        name=safe_text(label(lang, "gap_layer", stage=stage_label, year=year)),
        overlay=False,
        show=show,
    )
    rows = needs.loc[(needs["stage"] == stage) & (needs["year"] == year)].set_index("unit_id")
    has_fc = "forecast_p50" in rows.columns
    for u in units.itertuples(index=False):
        r = rows.loc[u.unit_id] if u.unit_id in rows.index else None
        if isinstance(r, pd.DataFrame):
            r = r.iloc[0]
        if r is None:
            fill, net = _NODATA, None
        else:
            net = float(r["seat_gap"]) - float(r["surplus"])
            fill = cm(net)[:7]
        style = {
            "color": "#555555",
            "weight": 1,
            "fillColor": fill,
            "fillOpacity": 0.75,
        }
        title = f"{u.name}（{u.unit_id}）" if lang == "zh" else f"{u.name} ({u.unit_id})"
        if r is None:
            rows_out: list[tuple[str, Any]] = [(label(lang, "year"), year)]
            tip = f"{u.name}: {label(lang, 'legend_nodata')}"
        else:
            rows_out = [
                (label(lang, "kind"), value_label(lang, "kind", getattr(u, "kind", ""))),
                (label(lang, "stage"), stage_label),
                (label(lang, "year"), str(year)),
                (label(lang, "population"), fmt_int(r["population"])),
                (label(lang, "per_thousand"), fmt_num(r["per_thousand"])),
                (label(lang, "required_seats"), fmt_int(r["required_seats"])),
                (label(lang, "development_seats"), fmt_int(r["development_seats"])),
                (label(lang, "capacity"), fmt_int(r["capacity"])),
                (label(lang, "seat_gap"), fmt_int(r["seat_gap"])),
                (label(lang, "surplus"), fmt_int(r["surplus"])),
                (label(lang, "schools"), fmt_int(r["schools"])),
                (label(lang, "students"), fmt_int(r["students"])),
            ]
            if has_fc and pd.notna(r["forecast_p50"]):
                rows_out.append(
                    (
                        label(lang, "forecast"),
                        f"{fmt_int(r['forecast_p50'])} "
                        f"({fmt_int(r['forecast_p10'])}–{fmt_int(r['forecast_p90'])})",
                    )
                )
            if "public_gap" in rows.columns:
                rows_out.append((label(lang, "public_gap"), fmt_int(r["public_gap"])))
            if net is not None and net > 0:
                t = label(lang, "gap_tip", gap=fmt_int(net))
            else:
                t = label(lang, "surplus_tip", surplus=fmt_int(-(net or 0)))
            tip = f"{u.name} · {stage_label} {year} · {t}"
        gj = folium.GeoJson(
            _geojson(u.geometry, style),
            pane=_UNITS_PANE,
            className=f"{UNIT_CLASS} {UNIT_CLASS}-{stage}-{year}",
            control=False,
        )
        _popup(_popup_html(title, rows_out)).add_to(gj)
        _tooltip(tip).add_to(gj)
        gj.add_to(fg)
    fg.add_to(m)


def _school_layers(
    m: folium.Map,
    schools: gpd.GeoDataFrame,
    comp: pd.DataFrame,
    cm: bcm.LinearColormap,
    lang: str,
) -> None:
    fg = folium.FeatureGroup(name=safe_text(label(lang, "schools_layer")), show=True)
    flags = folium.FeatureGroup(name=safe_text(label(lang, "flags_layer")), show=True)
    by_school = {k: g for k, g in comp.groupby("school_id", sort=False)}
    for k, s in enumerate(schools.itertuples(index=False)):
        lat, lon = _point(s.geometry)
        r = school_radius(float(s.capacity))
        u = s.utilisation
        fill = cm(min(max(u, _UTIL_RANGE[0]), _UTIL_RANGE[1]))[:7] if pd.notna(u) else _NODATA
        rows: list[tuple[str, Any]] = [
            (label(lang, "school_id"), s.school_id),
            (label(lang, "school_type"), value_label(lang, "school_type", s.stage)),
            (label(lang, "public"), value_label(lang, "public", s.public)),
            (label(lang, "address"), getattr(s, "address", "")),
            (label(lang, "students"), fmt_int(s.students)),
            (label(lang, "classes"), fmt_int(s.classes)),
            (label(lang, "seats"), fmt_int(s.capacity)),
            (label(lang, "utilisation"), fmt_pct(u)),
            (label(lang, "school_pupils"), fmt_int(s.school_pupils)),
            (label(lang, "size_cap"), fmt_int(s.size_cap)),
            (label(lang, "oversized_school"), _yes_no(lang, s.oversized_school)),
        ]
        extra = ""
        for _, c in by_school.get(s.school_id, pd.DataFrame()).iterrows():
            sub = [
                (label(lang, "students"), fmt_int(c["students"])),
                (label(lang, "classes"), fmt_int(c["classes"])),
                (label(lang, "seats"), fmt_int(c["capacity"])),
                (label(lang, "utilisation"), fmt_pct(c["utilisation"])),
                (label(lang, "avg_class_size"), fmt_num(c["avg_class_size"])),
                (label(lang, "class_cap"), fmt_int(c.get("class_cap"))),
                (label(lang, "oversized_class"), _yes_no(lang, c["oversized_class"])),
            ]
            band = c.get("class_size_band")
            if isinstance(band, str) and band:
                sub.append((label(lang, "class_size_band"), band))
            trs = "".join(
                f"<tr><th>{safe_text(a)}</th><td>{safe_text(b)}</td></tr>" for a, b in sub
            )
            extra += (
                f'<div class="pl-sub">{safe_text(value_label(lang, "stage", c["stage"]))}</div>'
                f"<table>{trs}</table>"
            )
        marks = []
        if s.oversized_class:
            marks.append(label(lang, "oversized_class"))
        if s.oversized_school:
            marks.append(label(lang, "oversized_school"))
        if marks:
            extra += f'<div class="pl-flag">{safe_text(" · ".join(marks))}</div>'
        tip = f"{s.name} · {label(lang, 'utilisation')} {fmt_pct(u)}"
        if marks:
            tip += " · " + " · ".join(marks)
        cmk = folium.CircleMarker(
            location=[lat, lon],
            radius=r,
            color="#ffffff",
            weight=1,
            fill=True,
            fill_color=fill,
            fill_opacity=0.9,
            class_name=f"{SCHOOL_CLASS} {SCHOOL_CLASS}-{k}",
        )
        _popup(_popup_html(str(s.name), rows, extra)).add_to(cmk)
        _tooltip(tip).add_to(cmk)
        cmk.add_to(fg)
        if s.oversized_class:
            folium.CircleMarker(
                location=[lat, lon],
                radius=r + 3,
                color=_CLASS_RING,
                weight=2.5,
                fill=False,
                interactive=False,
                class_name=f"{FLAG_CLASS} {FLAG_CLASS}-class",
            ).add_to(flags)
        if s.oversized_school:
            folium.CircleMarker(
                location=[lat, lon],
                radius=r + 6,
                color=_SIZE_RING,
                weight=2,
                dash_array="4 3",
                fill=False,
                interactive=False,
                class_name=f"{FLAG_CLASS} {FLAG_CLASS}-school",
            ).add_to(flags)
    flags.add_to(m)
    fg.add_to(m)


def _planned_layer(m: folium.Map, result: Any, gcj: bool, lang: str) -> bool:
    s = result.inputs["schools"]
    s = s.loc[s["status"] != "existing"]
    if not len(s):
        return False
    s = _wgs84(s, gcj)
    cap = result.tables.get("school_capacity")
    seats: dict[str, float] = {}
    if cap is not None and len(cap):
        last = cap.loc[cap["year"] == cap["year"].max()]
        seats = last.groupby("school_id")["capacity"].sum().to_dict()
    fg = folium.FeatureGroup(name=safe_text(label(lang, "planned_layer")), show=True)
    for s_ in s.itertuples(index=False):
        lat, lon = _point(s_.geometry)
        n = seats.get(s_.school_id, np.nan)
        rows = [
            (label(lang, "school_id"), s_.school_id),
            (label(lang, "school_type"), value_label(lang, "school_type", s_.stage)),
            (label(lang, "status"), value_label(lang, "status", s_.status)),
            (label(lang, "opening_year"), fmt_int(s_.opening_year)),
            (label(lang, "public"), value_label(lang, "public", s_.public)),
            (label(lang, "classes"), fmt_int(_num0(s_.classes_primary) + _num0(s_.classes_junior))),
            (label(lang, "seats"), fmt_int(n)),
            (label(lang, "address"), getattr(s_, "address", "")),
        ]
        cmk = folium.CircleMarker(
            location=[lat, lon],
            radius=school_radius(n),
            color=_PLANNED,
            weight=2.5,
            dash_array="3 3",
            fill=True,
            fill_color="#ffffff",
            fill_opacity=0.6,
            class_name=PLANNED_CLASS,
        )
        _popup(_popup_html(str(s_.name), rows)).add_to(cmk)
        status = value_label(lang, "status", s_.status)
        _tooltip(f"{s_.name} · {status} · {fmt_int(s_.opening_year)}").add_to(cmk)
        cmk.add_to(fg)
    fg.add_to(m)
    return True


def _sites_layer(m: folium.Map, sites: gpd.GeoDataFrame | None, lang: str) -> bool:
    if sites is None or not len(sites):
        return False
    fg = folium.FeatureGroup(name=safe_text(label(lang, "sites_layer")), show=True)
    for s in sites.itertuples(index=False):
        rows = [
            (label(lang, "site_id"), getattr(s, "site_id", "")),
            (label(lang, "school_type"), value_label(lang, "school_type", getattr(s, "stage", ""))),
            (label(lang, "land_area"), fmt_int(getattr(s, "land_area", None))),
            (label(lang, "earliest_year"), fmt_int(getattr(s, "earliest_year", None))),
            (label(lang, "land_cost"), fmt_num(_wan(getattr(s, "land_cost", None)))),
        ]
        name = getattr(s, "name", None)
        name = getattr(s, "site_id", "") if name is None or pd.isna(name) else name
        html = _popup_html(str(name), rows)
        tip = f"{name} · {label(lang, 'legend_site')}"
        if s.geometry.geom_type != "Point":
            area = folium.GeoJson(
                _geojson(
                    s.geometry,
                    {"color": _SITE, "weight": 1.5, "fillColor": _SITE, "fillOpacity": 0.35},
                ),
                className=f"{SITE_CLASS}-area",
                control=False,
            )
            _popup(html).add_to(area)
            area.add_to(fg)
        lat, lon = _point(s.geometry)
        cmk = folium.CircleMarker(
            location=[lat, lon],
            radius=4,
            color="#ffffff",
            weight=1,
            fill=True,
            fill_color=_SITE,
            fill_opacity=0.95,
            class_name=SITE_CLASS,
        )
        _popup(html).add_to(cmk)
        _tooltip(tip).add_to(cmk)
        cmk.add_to(fg)
    fg.add_to(m)
    return True


def _num0(v: Any) -> float:
    """A count, missing → 0."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(f) else f


def _wan(v: Any) -> float | None:
    """Yuan → 10,000 yuan (万元)."""
    try:
        return float(v) / 1e4
    except (TypeError, ValueError):
        return None


def _proposed_layers(
    m: folium.Map,
    proposed: gpd.GeoDataFrame,
    service_radius_m: float | Mapping[str, float] | None,
    lang: str,
) -> None:
    fg = folium.FeatureGroup(name=safe_text(label(lang, "proposed_layer")), show=True)
    radii = folium.FeatureGroup(name=safe_text(label(lang, "radius_layer")), show=True)
    n_radii = 0
    for p in proposed.itertuples(index=False):
        lat, lon = _point(p.geometry)
        kind = getattr(p, "kind", "new")
        stage = getattr(p, "school_type", None) or getattr(p, "stage", None)
        radius = getattr(p, "radius_m", None)
        if radius is None or pd.isna(radius):
            if isinstance(service_radius_m, Mapping):
                radius = service_radius_m.get(str(stage))
            else:
                radius = service_radius_m
        rows = [
            (label(lang, "project"), value_label(lang, "project", kind)),
            (label(lang, "school_type"), value_label(lang, "school_type", stage)),
            (label(lang, "project_year"), fmt_int(getattr(p, "year", None))),
            (label(lang, "added_seats"), fmt_int(getattr(p, "seats", None))),
            (label(lang, "unit"), getattr(p, "unit_id", "")),
        ]
        if hasattr(p, "cost"):
            rows.append((label(lang, "cost"), fmt_num(_wan(p.cost))))
        if radius is not None and pd.notna(radius):
            rows.append((label(lang, "radius"), fmt_int(radius)))
        glyph = "★" if kind == "new" else "▲"
        icon = folium.DivIcon(
            html=(
                f'<div style="font-size:18px;line-height:18px;color:{_PROPOSED};'
                'text-shadow:0 0 2px #fff,0 0 2px #fff;text-align:center">'
                f"{glyph}</div>"
            ),
            icon_size=(18, 18),
            icon_anchor=(9, 9),
            class_name=f"{PROPOSED_CLASS} {PROPOSED_CLASS}-{safe_text(kind)}",
        )
        mk = folium.Marker(location=[lat, lon], icon=icon)
        _popup(_popup_html(str(getattr(p, "name", "")), rows)).add_to(mk)
        kind_label = value_label(lang, "project", kind)
        _tooltip(
            f"{getattr(p, 'name', '')} · {kind_label} · {fmt_int(getattr(p, 'year', None))}"
        ).add_to(mk)
        mk.add_to(fg)
        if radius is not None and pd.notna(radius) and float(radius) > 0:
            folium.Circle(
                location=[lat, lon],
                radius=float(radius),
                color=_PROPOSED,
                weight=1,
                dash_array="5 4",
                fill=False,
                interactive=False,
                class_name=RADIUS_CLASS,
            ).add_to(radii)
            n_radii += 1
    if n_radii:
        radii.add_to(m)
    fg.add_to(m)


def _catchment_layer(m: folium.Map, catchments: gpd.GeoDataFrame, lang: str) -> None:
    fg = folium.FeatureGroup(name=safe_text(label(lang, "catchments_layer")), show=False)
    for c in catchments.itertuples(index=False):
        name = getattr(c, "name", None)
        if name is None or (isinstance(name, float) and math.isnan(name)):
            name = getattr(c, "ref", "")
        rows = [
            (label(lang, "stage"), value_label(lang, "stage", getattr(c, "stage", ""))),
            (label(lang, "project"), value_label(lang, "project", getattr(c, "kind", ""))),
            (label(lang, "year"), fmt_int(getattr(c, "year", None))),
        ]
        gj = folium.GeoJson(
            _geojson(
                c.geometry,
                {"color": "#444444", "weight": 1.2, "dashArray": "2 3", "fillOpacity": 0.03},
            ),
            pane=_CATCH_PANE,
            className=CATCHMENT_CLASS,
            control=False,
        )
        title = f"{label(lang, 'catchment')}: {name}"
        _popup(_popup_html(title, rows)).add_to(gj)
        gj.add_to(fg)
    fg.add_to(m)


def _unserved_layer(m: folium.Map, unserved: gpd.GeoDataFrame, lang: str) -> None:
    fg = folium.FeatureGroup(name=safe_text(label(lang, "unserved_layer")), show=True)
    for u in unserved.itertuples(index=False):
        lat, lon = _point(u.geometry)
        seats = float(getattr(u, "seats", 0) or 0)
        stage = getattr(u, "stage", "")
        rows = [
            (label(lang, "unit"), getattr(u, "unit_id", "")),
            (label(lang, "stage"), value_label(lang, "stage", stage)),
            (label(lang, "year"), fmt_int(getattr(u, "year", None))),
            (label(lang, "unserved_seats"), fmt_int(seats)),
            (label(lang, "reason"), _reasons(lang, getattr(u, "reason", ""))),
        ]
        name = getattr(u, "name", None) or getattr(u, "unit_id", "")
        cmk = folium.CircleMarker(
            location=[lat, lon],
            radius=max(4.0, min(3 + math.sqrt(max(seats, 0)) / 3, 22.0)),
            color=_UNSERVED,
            weight=2,
            fill=True,
            fill_color=_UNSERVED,
            fill_opacity=0.35,
            class_name=UNSERVED_CLASS,
        )
        _popup(_popup_html(f"{label(lang, 'legend_unserved')}: {name}", rows)).add_to(cmk)
        _tooltip(f"{name} · {value_label(lang, 'stage', stage)} · {fmt_int(seats)}").add_to(cmk)
        cmk.add_to(fg)
    fg.add_to(m)


def _reasons(lang: str, text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return "; ".join(str(value_label(lang, "reason", r.strip())) for r in text.split(";"))


def _legend(m: folium.Map, items: list[str], lang: str) -> None:
    def circle(r: float, stroke: str, fill: str, dash: str = "", width: float = 1.0) -> str:
        size = int(2 * r + 6)
        d = f' stroke-dasharray="{dash}"' if dash else ""
        return (
            f'<svg width="{size}" height="{size}"><circle cx="{size / 2}" cy="{size / 2}" '
            f'r="{r}" stroke="{stroke}" stroke-width="{width}" fill="{fill}"{d}/></svg>'
        )

    def glyph(char: str) -> str:
        return f'<span style="color:{_PROPOSED};font-size:15px;margin:0 5px 0 2px">{char}</span>'

    sizes = "".join(
        circle(school_radius(c), "#666", "#dddddd") + f"{c:,} " for c in (500, 1500, 3000)
    )
    symbols = {
        "size": "",
        "oversized_class": circle(7, _CLASS_RING, "none", width=2.5),
        "oversized_school": circle(7, _SIZE_RING, "none", dash="4 3", width=2),
        "planned": circle(6, _PLANNED, "#ffffff", dash="3 3", width=2.5),
        "site": circle(4, "#ffffff", _SITE),
        "new": glyph("★"),
        "expansion": glyph("▲"),
        "unserved": circle(6, _UNSERVED, "#e8c4c4", width=2),
    }
    rows = [f"<b>{safe_text(label(lang, 'legend'))}</b>"]
    for item in items:
        text = safe_text(label(lang, "legend_" + item))
        if item == "size":  # the label over three circles of standard sizes
            rows.append(f"<div>{text}<br>{sizes}</div>")
        else:
            rows.append(f"<div>{symbols[item]}{text}</div>")
    rows.append(
        f'<div><svg width="18" height="12"><rect width="18" height="12" fill="{_NODATA}" '
        f'stroke="#555"/></svg>{safe_text(label(lang, "legend_nodata"))}</div>'
    )
    _Html(f'<div class="pl-box pl-legend">{"".join(rows)}</div>').add_to(m)


def _footer(
    m: folium.Map,
    result: Any,
    lang: str,
    tiles: Mapping[str, Any] | None,
    approval_no: str,
    source_note: str | None,
    gcj: bool,
) -> None:
    sc = result.inputs.scenario
    if source_note is None:
        source_note = label(
            lang,
            "default_source",
            name=sc.name,
            base=sc.base_year,
            horizon=sc.horizon,
            version=planner.__version__,
        )
    base = tiles.get("name") or tiles["attribution"] if tiles else label(lang, "no_basemap")
    crs = "GCJ-02" if gcj else "WGS84"
    colon, sep = ("：", " ｜ ") if lang == "zh" else (": ", " | ")
    parts = [
        f"{safe_text(label(lang, 'source'))}{colon}{safe_text(source_note)}",
        f"{safe_text(label(lang, 'basemap'))}{colon}{safe_text(base)}",
        f"{safe_text(label(lang, 'crs'))}{colon}{crs}",
        f'{safe_text(label(lang, "approval_no"))}{colon}<span class="pl-approval">'
        f"{safe_text(approval_no)}</span>",
    ]
    _Html(f'<div class="pl-box pl-footer">{sep.join(parts)}</div>').add_to(m)
