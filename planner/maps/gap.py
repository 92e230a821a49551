"""The seat-gap map of a run (学位缺口与学校布局图).

:func:`gap_map` draws a :class:`~planner.pipeline.RunResult` on an offline Leaflet page: the
seat gap of every planning unit for every plan year, before and after the plan, on one
shared classed scale; existing schools sized by seats and coloured by utilisation, with
大班额 / 大校额 rings; schools under construction or planned; candidate education land
(chosen or not); the plan's projects, filterable by opening year and stage, with their
service radii; catchments, allocation lines and unserved demand of each plan period;
permanent labels by zoom level, a north arrow, a metric scale, a legend and a footer
with the 审图号, 编制单位 and date. Every setting not given is taken from the
scenario's ``[map]``; every string from the inputs passes through
:func:`planner.maps.safe_text`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date as _date
from importlib import resources
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry import mapping

import planner
from planner.errors import MapError
from planner.gaps import gaps_after_plan
from planner.geo.crs import to_gcj02_geoseries
from planner.maps.basemap import (
    LOCAL_TILES_TOKEN,
    LOCAL_TILES_URL,
    Basemap,
    BasemapError,
    resolve_basemap,
)
from planner.maps.classify import GapScale, scale_for
from planner.maps.labels import LANGS, label, value_label
from planner.maps.offline import offline_map
from planner.maps.text import fmt_int, fmt_num, fmt_pct, safe_text

__all__ = [
    "MapError",
    "gap_map",
    "map_values",
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

#: utilisation classes of existing schools (upper bounds) and their colours
_UTIL_BOUNDS = (0.7, 0.9, 1.1, 1.3)
_UTIL_COLORS = ("#1a9850", "#a6d96a", "#fee08b", "#fdae61", "#d73027")
_NODATA = "#cccccc"
_CLASS_RING = "#6a3d9a"
_SIZE_RING = "#111111"
_PLANNED = "#1f78b4"
_SITE = "#74c476"
_SITE_CHOSEN = "#006d2c"
_PROPOSED = "#08306b"
_UNSERVED = "#67000d"
#: the layers drawn by folium (the others by the page's own script)
_FOLIUM_LAYERS = ("schools", "flags", "planned", "sites")


class _Html(MacroElement):
    """Static HTML placed in the page body (footer, title)."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.content }}{% endmacro %}")

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "PlannerHtml"
        self.content = content


class _PlanScript(MacroElement):
    """The page's own script (``_js/planmap.js``) with its configuration, after the map."""

    _template = Template(
        "{% macro script(this, kwargs) %}\n"
        "window.PLANNER_MAP_CONFIG = {{ this.config }};\n"
        "{{ this.source }}\n"
        "{% endmacro %}"
    )

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "PlannerScript"
        self.config = _json(config)
        self.source = _resource("planmap.js")


def _resource(name: str) -> str:
    return (resources.files("planner.maps") / "_js" / name).read_text(encoding="utf-8")


def _json(data: Any) -> str:
    """JSON for a ``<script>``: ``</`` and ``<!--`` cannot end or comment it out."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


# ---------------------------------------------------------------- helpers


def _popup_html(title: str, rows: Sequence[tuple[str, Any]], extra: str = "") -> str:
    """A popup: escaped title and label/value rows (values are plain text)."""
    trs = "".join(f"<tr><th>{safe_text(k)}</th><td>{safe_text(v)}</td></tr>" for k, v in rows if k)
    return (
        f'<div class="pl-popup"><div class="pl-h">{safe_text(title)}</div>'
        f"<table>{trs}</table>{extra}</div>"
    )


def _popup(html: str) -> folium.Popup:
    # script=True: the HTML is already escaped; branca must not escape it again
    return folium.Popup(folium.Html(html, script=True), max_width=360)


def _tooltip(text: str) -> folium.Tooltip:
    return folium.Tooltip(safe_text(text), sticky=True)


def _yes_no(lang: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    return label(lang, "yes") if bool(v) else label(lang, "no")


def _year(v: Any) -> str:
    """A year as text, never with a thousands separator (``2026``, not ``2,026``)."""
    try:
        return str(int(v))
    except (TypeError, ValueError):
        return "—"


def _text_or(value: Any, fallback: Any) -> Any:
    """``value``, or ``fallback`` when it is missing (None, NaN, pandas NA) or empty."""
    from planner.maps.text import _missing

    return fallback if _missing(value) or value == "" else value


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
    return round(float(p.y), 6), round(float(p.x), 6)


def _round_coords(geom: Any, digits: int = 6) -> Any:
    return shapely.set_precision(geom, 10.0**-digits) if geom is not None else geom


def school_radius(seats: float) -> float:
    """Circle radius in pixels for a school with ``seats`` seats (fixed scale)."""
    if seats is None or not np.isfinite(seats) or seats <= 0:
        return 3.0
    return float(min(2.5 + math.sqrt(seats) / 5.0, 16.0))


def _util_color(u: float) -> str:
    if u is None or not np.isfinite(u):
        return _NODATA
    for ub, c in zip(_UTIL_BOUNDS, _UTIL_COLORS, strict=False):
        if u < ub:
            return c
    return _UTIL_COLORS[-1]


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


# ---------------------------------------------------------------- tables


def school_table(result: Any) -> gpd.GeoDataFrame:
    """Existing schools with their base-year figures, one row per school, in drawing order.

    Parameters
    ----------
    result : RunResult
        From :func:`planner.pipeline.compute`.

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


def siting_layers(result: Any) -> dict[str, gpd.GeoDataFrame]:
    """The siting results of a run as the optional layers of :func:`gap_map`.

    Parameters
    ----------
    result : RunResult
        A run computed with ``siting=True``.

    Returns
    -------
    dict
        ``proposed`` (points: ref, name, kind, unit_id, school_type, year, seats,
        seats_primary, seats_junior, cost), ``catchments`` (polygons per facility, stage and
        plan period, with the serving school's name), ``allocations`` (lines from demand
        point to school per period) and ``unserved`` (one point per unit, stage and plan
        period: seats, reasons), for those the run has. ``gap_map(result)`` takes them
        from the result itself; pass them to draw other ones.
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
    a = result.layers.get("allocations")
    if isinstance(a, gpd.GeoDataFrame) and len(a):
        out["allocations"] = a
    u = t.get("unserved")
    if u is not None and len(u):
        g = u.groupby(["unit_id", "stage", "year"], as_index=False).agg(
            seats=("seats", "sum"),
            reason=("reason", lambda r: "; ".join(sorted({str(x) for x in r}))),
        )
        units = result.inputs["units"].to_crs(4326).set_index("unit_id")
        g = g.loc[g["unit_id"].isin(units.index)]
        if len(g):
            g["name"] = g["unit_id"].map(units["name"])
            pts = units.geometry.representative_point().reindex(g["unit_id"]).to_numpy()
            out["unserved"] = gpd.GeoDataFrame(g, geometry=list(pts), crs=4326)
    return out


_VALUE_FIELDS = {
    "pop": "population",
    "pt": "per_thousand",
    "req": "required_seats",
    "dev": "development_seats",
    "cap": "capacity",
    "gap": "seat_gap",
    "sur": "surplus",
    "sch": "schools",
    "stu": "students",
    "p10": "forecast_p10",
    "p50": "forecast_p50",
    "p90": "forecast_p90",
    "pub": "public_gap",
    "add": "added_seats",
    "gapA": "seat_gap_after",
    "surA": "surplus_after",
}


def map_values(
    needs: pd.DataFrame, projects: pd.DataFrame | None, unit_ids: Sequence[str]
) -> dict[str, dict[str, dict[str, list[float | None]]]]:
    """The numbers behind the seat-gap layers: ``{stage: {year: {field: [per unit]}}}``.

    Fields (in the order of ``unit_ids``): ``pop, pt, req, dev, cap, gap, sur, sch, stu``,
    the forecast ``p10, p50, p90`` and ``pub`` when the run has one, and the plan's
    ``add, gapA, surA`` (:func:`planner.gaps.gaps_after_plan`). Missing values are None.
    """
    after = gaps_after_plan(needs, projects)
    keys = ["unit_id", "stage", "year"]
    n = needs.merge(
        after[[*keys, "added_seats", "seat_gap_after", "surplus_after"]], on=keys, how="left"
    )
    n["unit_id"] = n["unit_id"].astype(str)
    order = pd.Index([str(u) for u in unit_ids])
    out: dict[str, dict[str, dict[str, list[float | None]]]] = {}
    fields = {k: c for k, c in _VALUE_FIELDS.items() if c in n.columns}
    for (stage, year), g in n.groupby(["stage", "year"], sort=True):
        g = g.drop_duplicates("unit_id").set_index("unit_id").reindex(order)
        vals: dict[str, list[float | None]] = {}
        for k, c in fields.items():
            v = pd.to_numeric(g[c], errors="coerce").to_numpy(float)
            if k == "pt":
                vals[k] = [None if not np.isfinite(x) else round(float(x), 1) for x in v]
            elif np.isfinite(v).any():
                vals[k] = [None if not np.isfinite(x) else round(float(x)) for x in v]
        out.setdefault(str(stage), {})[str(int(year))] = vals
    return out


# ---------------------------------------------------------------- map


def gap_map(
    result: Any,
    *,
    lang: str | None = None,
    years: Sequence[int] | None = None,
    stages: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
    hidden: Sequence[str] | None = None,
    basemap: Any = None,
    approval_no: str | None = None,
    organisation: str | None = None,
    date: str | None = None,
    source_note: str | None = None,
    title: str | None = None,
    label_zoom: Mapping[str, int] | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    catchments: gpd.GeoDataFrame | None = None,
    allocations: gpd.GeoDataFrame | None = None,
    unserved: gpd.GeoDataFrame | None = None,
    service_radius_m: float | Mapping[str, float] | None = None,
    scale: GapScale | None = None,
) -> folium.Map:
    """The seat-gap map of a run.

    Every argument left at None is taken from the scenario's ``[map]``
    (:class:`planner.scenario.MapSpec`) or from the run itself.

    Parameters
    ----------
    result : RunResult
        From :func:`planner.pipeline.compute` (tables ``needs`` and ``compliance``; with a
        plan ``projects``, ``unserved``, ``gaps_after`` and the layers ``catchments`` and
        ``allocations``).
    lang : {"zh", "en"}, optional
        Labels, legends and popups in Chinese or English.
    years : sequence of int, optional
        Years of the seat-gap layers; default every year from the base year to the
        horizon.
    stages : sequence of str, optional
        ``primary`` and/or ``junior``; default both (those in ``needs``).
    layers, hidden : sequence of str, optional
        Layers drawn, and those drawn but switched off at first (``[map] layers`` and
        ``hidden``; names in :data:`planner.scenario.MAP_LAYERS`).
    basemap : BasemapSpec, mapping or Basemap, optional
        The basemap (``[map.basemap]``): none, local tiles, XYZ, WMTS, Tianditu or
        Amap. With GCJ-02 tiles (Amap) every overlay is shifted to GCJ-02.
    approval_no, organisation, date : str, optional
        审图号, 编制单位 and 编制日期 in the footer (date default: this month).
    source_note : str, optional
        The data source line of the footer; default names the scenario, the base year
        and the planner version.
    title : str, optional
        Heading over the map; default from the scenario name.
    label_zoom : mapping, optional
        Zoom from which permanent labels show: ``units``, ``projects``, ``schools``.
    proposed, catchments, allocations, unserved : GeoDataFrame, optional
        Siting layers (see :func:`siting_layers`); default from the run.
    service_radius_m : float or mapping, optional
        Service radius drawn around each project, in metres, or by stage
        (``{"primary": 1000, "junior": 2000}``); default the norms' radius for the
        project's unit kind and stage. A ``radius_m`` column of ``proposed`` wins.
    scale : GapScale, optional
        The classed colour scale (:func:`planner.maps.classify.gap_scale`); default from
        this run's values (a comparison passes one scale for both runs).

    Returns
    -------
    folium.Map
        Save it with :func:`planner.maps.save_offline`.

    Raises
    ------
    MapError
        Unknown language, a year, stage or layer without results, or a basemap that
        cannot be used.
    """
    from planner.scenario import MAP_LAYERS, MapSpec

    sc = result.inputs.scenario
    spec: MapSpec = getattr(sc, "map", None) or MapSpec()
    lang = spec.lang if lang is None else lang
    if lang not in LANGS:
        raise MapError(f"lang must be one of {LANGS}, not {lang!r}")
    layers = list(spec.layers if layers is None else layers)
    hidden = set(spec.hidden if hidden is None else hidden)
    bad = sorted(set(layers) - set(MAP_LAYERS))
    if bad:
        from planner.errors import closest

        hint = closest(bad[0], MAP_LAYERS)
        raise MapError(
            f"unknown map layer(s) {bad}"
            + (f"; did you mean '{hint}'?" if hint else "")
            + f" Valid: {', '.join(MAP_LAYERS)}"
        )
    needs = result.tables["needs"]
    all_years = sorted(int(y) for y in set(needs["year"]))
    years = all_years if years is None else sorted(int(y) for y in years)
    missing = sorted(set(years) - set(all_years))
    if missing:
        raise MapError(f"no seat-gap results for year(s) {missing}")
    have = [s for s in ("primary", "junior") if s in set(needs["stage"])]
    stages = list(stages) if stages is not None else have
    bad = [s for s in stages if s not in have]
    if bad:
        raise MapError(f"no seat-gap results for stage(s) {bad}; have {have}")
    zoom = {**spec.label_zoom.model_dump(), **dict(label_zoom or {})}

    # ---- basemap: decides whether the overlays are shifted to GCJ-02
    if isinstance(basemap, Basemap):
        bm: Basemap | None = basemap
    else:
        bm_spec = spec.basemap if basemap is None else basemap
        kind = getattr(bm_spec, "kind", None) or (
            bm_spec.get("kind") if isinstance(bm_spec, Mapping) else None
        )
        gcj_first = kind == "amap" or bool(
            getattr(bm_spec, "gcj02", False)
            or (isinstance(bm_spec, Mapping) and bm_spec.get("gcj02"))
        )
        u0 = _wgs84(result.inputs["units"], gcj_first)
        try:
            bm = resolve_basemap(bm_spec, bounds=tuple(u0.total_bounds), base_dir=sc.base_dir)
        except BasemapError as e:
            raise MapError(str(e)) from None
    gcj = bool(bm and bm.gcj02)

    # ---- siting layers from the run unless given
    from_run = siting_layers(result)
    proposed = from_run.get("proposed") if proposed is None else proposed
    catchments = from_run.get("catchments") if catchments is None else catchments
    allocations = from_run.get("allocations") if allocations is None else allocations
    unserved = from_run.get("unserved") if unserved is None else unserved
    projects_tab = result.tables.get("projects")

    units = _wgs84(result.inputs["units"], gcj)
    units = units.set_geometry(units.geometry.simplify(0.00005, preserve_topology=True))
    minx, miny, maxx, maxy = units.total_bounds
    m = offline_map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=11,
        prefer_canvas=False,
        attribution_control=False,
        max_zoom=19,
    )
    m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    name = sc.name
    page_title = title or spec.title or label(lang, "title", name=name)
    m.get_root().title = safe_text(page_title)
    m.get_root().header.add_child(
        folium.Element(f"<style>{_resource('planmap.css')}</style>"), name="planner_css"
    )

    # ---- seat gap values and their shared scale
    unit_ids = [str(u) for u in units["unit_id"]]
    values = map_values(
        needs.loc[needs["stage"].isin(stages) & needs["year"].isin(years)],
        projects_tab,
        unit_ids,
    )
    has_plan = projects_tab is not None and len(projects_tab) > 0
    scale = scale or scale_for((needs, projects_tab))

    # ---- folium layers: schools, flags, planned, sites
    fgs: dict[str, folium.FeatureGroup] = {}
    legend: list[str] = []
    schools = school_table(result)
    if gcj and len(schools):
        schools = schools.set_geometry(to_gcj02_geoseries(schools.geometry))
    if "schools" in layers or "flags" in layers:
        fg, flags = _school_layers(schools, result.tables["compliance"], lang)
        if "flags" in layers:
            fgs["flags"] = flags
            legend += ["oversized_class", "oversized_school"]
        if "schools" in layers:
            fgs["schools"] = fg
            legend.insert(0, "size")
    if "planned" in layers:
        fg = _planned_layer(result, gcj, lang)
        if fg is not None:
            fgs["planned"] = fg
            legend.append("planned")
    if "sites" in layers and "sites" in result.inputs:
        chosen: dict[str, int] = {}
        if has_plan and "ref" in projects_tab.columns:
            new = projects_tab.loc[projects_tab["kind"] == "new"]
            chosen = {str(r): int(y) for r, y in zip(new["ref"], new["year"], strict=False)}
        fg = _sites_layer(_wgs84(result.inputs["sites"], gcj), chosen, lang)
        if fg is not None:
            fgs["sites"] = fg
            legend += ["site", "site_chosen"] if chosen else ["site"]
    for key in _FOLIUM_LAYERS:
        if key in fgs:
            fgs[key].show = key not in hidden
            fgs[key].control = False
            fgs[key].add_to(m)

    # ---- the page's own layers
    proposed = _wgs84(proposed, gcj) if "projects" in layers or "radii" in layers else None
    project_data = (
        _projects(proposed, result, service_radius_m, lang)
        if proposed is not None and len(proposed)
        else []
    )
    if project_data and "projects" in layers:
        legend += ["new", "expansion"]
    if project_data and "radii" in layers and any(p["radii"] for p in project_data):
        legend.append("radius")
    catch = _wgs84(catchments, gcj) if "catchments" in layers else None
    catch_fc = (
        _catchments(catch, result, lang, shapely.union_all(units.geometry.to_numpy()))
        if catch is not None and len(catch)
        else None
    )
    if catch_fc is not None:
        legend.append("catchment")
    alloc = _wgs84(allocations, gcj) if "allocations" in layers else None
    alloc_data = _allocations(alloc) if alloc is not None and len(alloc) else None
    unserved = _wgs84(unserved, gcj) if "unserved" in layers else None
    unserved_data = _unserved(unserved, lang) if unserved is not None and len(unserved) else []
    if unserved_data:
        legend.append("unserved")
    periods = _periods(result, catch_fc, unserved_data)

    show = {k: k not in hidden for k in MAP_LAYERS}
    present = set(fgs) | {"gaps"} if "gaps" in layers else set(fgs)
    if project_data and "projects" in layers:
        present.add("projects")
    if project_data and "radii" in layers:
        present.add("radii")
    for key, data in (
        ("catchments", catch_fc),
        ("allocations", alloc_data),
        ("unserved", unserved_data),
    ):
        if data:
            present.add(key)
    config = {
        "map": m.get_name(),
        "lang": lang,
        "text": {k: safe_text(re.sub(r"\{(\w+)\}", r"%\1%", v)) for k, v in _texts(lang).items()},
        "stages": stages,
        "stageLabels": {s: safe_text(value_label(lang, "stage", s)) for s in stages},
        "years": years,
        "initial": {"stage": stages[0], "year": _initial_year(years, sc.base_year)},
        "hasPlan": bool(has_plan),
        "units": {
            "geojson": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": mapping(_round_coords(g)),
                        "properties": {"i": i},
                    }
                    for i, g in enumerate(units.geometry)
                ],
            },
            "ids": [safe_text(u) for u in unit_ids],
            "names": [safe_text(n) for n in units["name"]],
            "titles": [
                safe_text(f"{n}（{u}）" if lang == "zh" else f"{n} ({u})")
                for n, u in zip(units["name"], unit_ids, strict=True)
            ],
            "kinds": [
                safe_text(value_label(lang, "kind", k))
                for k in (units["kind"] if "kind" in units else [""] * len(units))
            ],
        },
        "values": values,
        "scale": dict(scale),
        "projects": project_data if ("projects" in present or "radii" in present) else [],
        "projectYears": sorted({p["year"] for p in project_data}),
        "plans": _plan_options(project_data, lang),
        "periods": periods,
        "catchments": catch_fc,
        "allocations": alloc_data,
        "unserved": unserved_data,
        "unitLabels": _unit_labels(units) if "unit_labels" in layers else None,
        "schoolLabels": _school_labels(schools) if "school_labels" in layers else None,
        "labelZoom": zoom,
        "folium": {k: fg.get_name() for k, fg in fgs.items()},
        "show": {k: show[k] and k in (present | {"unit_labels", "school_labels"}) for k in show},
        "layerOrder": [k for k in MAP_LAYERS if k in layers],
        "layerLabels": {k: safe_text(label(lang, f"layer_{k}")) for k in MAP_LAYERS},
        "legendStatic": _legend_static(legend, lang),
        "basemap": _basemap_config(bm),
    }
    if "gaps" not in layers:
        config["show"]["gaps"] = False
    _PlanScript(config).add_to(m)
    m._planner_basemap = bm  # save_offline writes local tiles and allows the tile URLs
    _footer(
        m,
        result,
        lang,
        bm,
        spec.approval_no if approval_no is None else approval_no,
        spec.organisation if organisation is None else organisation,
        spec.date if date is None else date,
        source_note,
        gcj,
    )
    subtitle = spec.organisation if organisation is None else organisation  # 编制单位
    _Html(
        f'<div class="pl-box pl-fixed pl-title">{safe_text(page_title)}'
        f"{f'<small>{safe_text(subtitle)}</small>' if subtitle else ''}</div>"
    ).add_to(m)
    return m


def _initial_year(years: Sequence[int], base_year: int) -> int:
    """The year shown first: five years after the base year (the plan's end), if drawn."""
    for y in (base_year + 5, base_year):
        if y in years:
            return int(y)
    return int(years[0])


def _texts(lang: str) -> dict[str, str]:
    keys = [
        "year",
        "kind",
        "stage",
        "population",
        "per_thousand",
        "required_seats",
        "development_seats",
        "capacity",
        "seat_gap",
        "surplus",
        "schools",
        "students",
        "forecast",
        "public_gap",
        "added_seats",
        "seat_gap_after",
        "before",
        "after",
        "gap_tip",
        "surplus_tip",
        "year_suffix",
        "gap_legend",
        "gap_class",
        "surplus_class",
        "balanced",
        "north",
        "panel_gap",
        "panel_projects",
        "panel_layers",
        "opening_year",
        "all_years",
        "all_stages",
        "period_note",
    ]
    out = {k: label(lang, k) for k in keys}
    out["nodata"] = label(lang, "legend_nodata")
    return out


def _plan_options(projects: list[dict[str, Any]], lang: str) -> list[list[Any]]:
    """Five-year plans the projects fall in, as ``[label, first, last]``."""
    from planner.reports.plan_tables import five_year_plan

    out: dict[str, list[Any]] = {}
    for p in projects:
        try:
            name, first, last = five_year_plan(p["year"])
        except ValueError:
            continue
        text = f"“{name}”（{first}—{last}年）" if lang == "zh" else f"{first}–{last}"
        out[name] = [safe_text(text), first, last]
    return sorted(out.values(), key=lambda v: v[1])


def _periods(result: Any, catch: dict | None, unserved: list[dict]) -> list[int]:
    ys: set[int] = set()
    ga = result.tables.get("gaps_after")
    if ga is not None and len(ga):
        ys |= {int(y) for y in ga["year"]}
    if catch:
        ys |= {int(f["properties"]["year"]) for f in catch["features"]}
    ys |= {int(u["year"]) for u in unserved}
    return sorted(ys)


def _basemap_config(bm: Basemap | None) -> dict[str, Any] | None:
    if bm is None:
        return None
    cfg: dict[str, Any] = {
        "minZoom": bm.min_zoom,
        "maxZoom": bm.max_zoom,
        "opacity": bm.opacity,
        "layers": [{"url": t.url, "subdomains": t.subdomains} for t in bm.layers],
    }
    if bm.local is not None:
        # filled in by planner.maps.save_offline: embedded tiles or a folder beside the page
        cfg["layers"] = [{"url": LOCAL_TILES_URL, "subdomains": "", "local": True}]
        cfg["maxNativeZoom"] = bm.local.max_native_zoom
        cfg["tiles"] = LOCAL_TILES_TOKEN
    return cfg


def _unit_labels(units: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    pts = units.geometry.representative_point()
    return [
        {"lat": round(p.y, 6), "lon": round(p.x, 6), "text": safe_text(n)}
        for p, n in zip(pts, units["name"], strict=True)
    ]


def _school_labels(schools: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    out = []
    for s in schools.itertuples(index=False):
        lat, lon = _point(s.geometry)
        out.append({"lat": lat, "lon": lon, "text": safe_text(s.name)})
    return out


def _stages_of(p: Any) -> list[str]:
    got = [
        s
        for s in ("primary", "junior")
        if hasattr(p, f"seats_{s}") and _num0(getattr(p, f"seats_{s}")) > 0
    ]
    if got:
        return got
    t = getattr(p, "school_type", None) or getattr(p, "stage", None)
    if t in ("nine_year", "twelve_year"):
        return ["primary", "junior"]
    return [t] if t in ("primary", "junior") else []


def _projects(
    proposed: gpd.GeoDataFrame,
    result: Any,
    service_radius_m: float | Mapping[str, float] | None,
    lang: str,
) -> list[dict[str, Any]]:
    """The projects as the page draws them (escaped text, shifted coordinates)."""
    kinds = {}
    if "units" in result.inputs:
        u = result.inputs["units"]
        kinds = dict(zip(u["unit_id"].astype(str), u["kind"], strict=False))
    unit_names = {}
    if "units" in result.inputs:
        u = result.inputs["units"]
        unit_names = dict(zip(u["unit_id"].astype(str), u["name"], strict=False))
    out = []
    for p in proposed.itertuples(index=False):
        lat, lon = _point(p.geometry)
        kind = str(getattr(p, "kind", "new"))
        year = getattr(p, "year", None)
        stages = _stages_of(p)
        radii: list[list[Any]] = []
        own = getattr(p, "radius_m", None)
        for st in stages:
            if own is not None and pd.notna(own):
                r = float(own)
            elif isinstance(service_radius_m, Mapping):
                r = service_radius_m.get(st)
            elif service_radius_m is not None:
                r = float(service_radius_m)
            else:
                try:
                    r = result.norms.service_radius(
                        str(kinds.get(str(getattr(p, "unit_id", "")), "urban")), st
                    )
                except Exception:  # no radius for this kind in the norms
                    r = None
            if r is not None and np.isfinite(float(r)) and float(r) > 0:
                radii.append([st, float(r)])
        name = _text_or(getattr(p, "name", None), getattr(p, "ref", ""))
        school_type = getattr(p, "school_type", None) or getattr(p, "stage", None)
        rows = [
            (label(lang, "project"), value_label(lang, "project", kind)),
            (label(lang, "school_type"), value_label(lang, "school_type", school_type)),
            (label(lang, "project_year"), _year(year)),
            (label(lang, "added_seats"), fmt_int(getattr(p, "seats", None))),
            (
                label(lang, "unit"),
                unit_names.get(str(getattr(p, "unit_id", "")), getattr(p, "unit_id", "")),
            ),
        ]
        if hasattr(p, "cost"):
            rows.append((label(lang, "cost"), fmt_num(_wan(p.cost))))
        for st, r in radii:
            rows.append((f"{label(lang, 'radius')} · {value_label(lang, 'stage', st)}", fmt_int(r)))
        sep = " · "
        out.append(
            {
                "lat": lat,
                "lon": lon,
                "kind": "new" if kind == "new" else "expansion",
                "year": int(year) if year is not None and pd.notna(year) else 0,
                "stages": stages,
                "label": safe_text(f"{name}{sep}{_year(year)}{label(lang, 'year_suffix')}"),
                "popup": _popup_html(str(name), rows),
                "radii": radii,
            }
        )
    return out


def _catchments(
    catch: gpd.GeoDataFrame, result: Any, lang: str, city: Any
) -> dict[str, Any] | None:
    """Catchments per facility, stage and period, dissolved (shared edges kept) as GeoJSON."""
    if "stage" not in catch.columns:
        catch = catch.assign(stage="primary")
    if "year" not in catch.columns:
        catch = catch.assign(year=0)
    key = "ref" if "ref" in catch.columns else "name"
    if key not in catch.columns:
        catch = catch.assign(ref=range(len(catch)))
        key = "ref"
    catch = catch.assign(ckey=catch[key].astype(str))
    extra = [c for c in ("name", "kind") if c in catch.columns]
    d = catch.dissolve(by=["ckey", "stage", "year"], as_index=False, aggfunc="first")[
        ["ckey", "stage", "year", *extra, "geometry"]
    ]
    d = d.set_geometry(d.geometry.make_valid())
    # the demand grid's staircase, smoothed: Visvalingam–Whyatt on the coverage (shared
    # edges stay shared) with triangles up to about one grid cell, then cut to the city
    grid_m = float(getattr(getattr(result.inputs.scenario, "siting", None), "grid_m", 1000.0))
    tolerance = 0.8 * grid_m / 111_000.0
    feats = []
    for (stage, year), g in d.groupby(["stage", "year"], sort=True):
        geoms = g.geometry.to_numpy()
        try:
            geoms = shapely.coverage_simplify(geoms, tolerance)
            geoms = shapely.make_valid(shapely.intersection(geoms, city))
        except Exception:  # not a valid coverage: keep the dissolved cells
            pass
        for row, geom in zip(g.itertuples(index=False), geoms, strict=True):
            if geom is None or geom.is_empty:
                continue
            name = _text_or(getattr(row, "name", None), row.ckey)
            title = f"{label(lang, 'catchment')}: {name}"
            rows = [
                (label(lang, "stage"), value_label(lang, "stage", stage)),
                (label(lang, "project"), value_label(lang, "project", getattr(row, "kind", ""))),
                (label(lang, "period"), _year(year)),
            ]
            feats.append(
                {
                    "type": "Feature",
                    "geometry": mapping(_round_coords(geom, 5)),
                    "properties": {
                        "stage": str(stage),
                        "year": int(year),
                        "popup": _popup_html(title, rows),
                        "tip": safe_text(f"{title} · {_year(year)}"),
                    },
                }
            )
    return {"type": "FeatureCollection", "features": feats} if feats else None


def _allocations(alloc: gpd.GeoDataFrame) -> list[dict[str, Any]] | None:
    out = []
    for a in alloc.itertuples(index=False):
        g = a.geometry
        if g is None or g.geom_type != "LineString":
            continue
        seats = _num0(getattr(a, "seats", 0))
        out.append(
            {
                "year": int(getattr(a, "year", 0)),
                "stage": str(getattr(a, "stage", "")),
                "coords": [[round(y, 5), round(x, 5)] for x, y in g.coords],
                "w": round(min(0.6 + math.sqrt(max(seats, 0)) / 6, 5.0), 2),
            }
        )
    return out or None


def _unserved(unserved: gpd.GeoDataFrame, lang: str) -> list[dict[str, Any]]:
    out = []
    for u in unserved.itertuples(index=False):
        lat, lon = _point(u.geometry)
        seats = _num0(getattr(u, "seats", 0))
        stage = getattr(u, "stage", "")
        name = _text_or(getattr(u, "name", None), getattr(u, "unit_id", ""))
        rows = [
            (label(lang, "unit"), getattr(u, "unit_id", "")),
            (label(lang, "stage"), value_label(lang, "stage", stage)),
            (label(lang, "period"), _year(getattr(u, "year", None))),
            (label(lang, "unserved_seats"), fmt_int(seats)),
            (label(lang, "reason"), _reasons(lang, getattr(u, "reason", ""))),
        ]
        out.append(
            {
                "lat": lat,
                "lon": lon,
                "year": int(getattr(u, "year", 0) or 0),
                "stage": str(stage),
                "r": round(max(4.0, min(3 + math.sqrt(max(seats, 0)) / 3, 22.0)), 1),
                "popup": _popup_html(f"{label(lang, 'legend_unserved')}: {name}", rows),
                "tip": safe_text(
                    f"{name} · {value_label(lang, 'stage', stage)} · "
                    f"{label(lang, 'seats_unit', n=fmt_int(seats))}"
                ),
            }
        )
    return out


def _reasons(lang: str, text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return "; ".join(str(value_label(lang, "reason", r.strip())) for r in text.split(";"))


# ---------------------------------------------------------------- folium layers


def _school_layers(
    schools: gpd.GeoDataFrame, comp: pd.DataFrame, lang: str
) -> tuple[folium.FeatureGroup, folium.FeatureGroup]:
    fg = folium.FeatureGroup(name=safe_text(label(lang, "layer_schools")))
    flags = folium.FeatureGroup(name=safe_text(label(lang, "layer_flags")))
    by_school = {k: g for k, g in comp.groupby("school_id", sort=False)}
    for k, s in enumerate(schools.itertuples(index=False)):
        lat, lon = _point(s.geometry)
        r = school_radius(float(s.capacity))
        u = s.utilisation
        fill = _util_color(float(u)) if pd.notna(u) else _NODATA
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
    return fg, flags


def _planned_layer(result: Any, gcj: bool, lang: str) -> folium.FeatureGroup | None:
    s = result.inputs["schools"]
    s = s.loc[s["status"] != "existing"]
    if not len(s):
        return None
    s = _wgs84(s, gcj)
    cap = result.tables.get("school_capacity")
    seats: dict[str, float] = {}
    if cap is not None and len(cap):
        last = cap.loc[cap["year"] == cap["year"].max()]
        seats = last.groupby("school_id")["capacity"].sum().to_dict()
    fg = folium.FeatureGroup(name=safe_text(label(lang, "layer_planned")))
    for s_ in s.itertuples(index=False):
        lat, lon = _point(s_.geometry)
        n = seats.get(s_.school_id, np.nan)
        rows = [
            (label(lang, "school_id"), s_.school_id),
            (label(lang, "school_type"), value_label(lang, "school_type", s_.stage)),
            (label(lang, "status"), value_label(lang, "status", s_.status)),
            (label(lang, "opening_year"), _year(s_.opening_year)),
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
        _tooltip(f"{s_.name} · {status} · {_year(s_.opening_year)}").add_to(cmk)
        cmk.add_to(fg)
    return fg


def _sites_layer(
    sites: gpd.GeoDataFrame | None, chosen: Mapping[str, int], lang: str
) -> folium.FeatureGroup | None:
    if sites is None or not len(sites):
        return None
    fg = folium.FeatureGroup(name=safe_text(label(lang, "layer_sites")))
    for s in sites.itertuples(index=False):
        sid = str(getattr(s, "site_id", ""))
        year = chosen.get(sid)
        colour = _SITE_CHOSEN if year is not None else _SITE
        rows = [
            (label(lang, "site_id"), sid),
            (label(lang, "school_type"), value_label(lang, "school_type", getattr(s, "stage", ""))),
            (label(lang, "land_area"), fmt_int(getattr(s, "land_area", None))),
            (label(lang, "earliest_year"), _year(getattr(s, "earliest_year", None))),
            (label(lang, "land_cost"), fmt_num(_wan(getattr(s, "land_cost", None)))),
            (
                label(lang, "chosen"),
                f"{label(lang, 'yes')} · {_year(year)}" if year is not None else label(lang, "no"),
            ),
        ]
        name = _text_or(getattr(s, "name", None), sid)
        html = _popup_html(str(name), rows)
        legend = "legend_site_chosen" if year is not None else "legend_site"
        tip = f"{name} · {label(lang, legend)}"
        if s.geometry.geom_type != "Point":
            area = folium.GeoJson(
                _geojson(
                    s.geometry,
                    {"color": colour, "weight": 1.5, "fillColor": colour, "fillOpacity": 0.35},
                ),
                className=f"{SITE_CLASS}-area",
                control=False,
            )
            _popup(html).add_to(area)
            area.add_to(fg)
        lat, lon = _point(s.geometry)
        cmk = folium.CircleMarker(
            location=[lat, lon],
            radius=5 if year is not None else 4,
            color="#ffffff",
            weight=1,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
            class_name=f"{SITE_CLASS} {SITE_CLASS}-{'chosen' if year is not None else 'candidate'}",
        )
        _popup(html).add_to(cmk)
        _tooltip(tip).add_to(cmk)
        cmk.add_to(fg)
    return fg


# ---------------------------------------------------------------- legend, footer


def _legend_static(items: list[str], lang: str) -> str:
    """The legend's fixed part: school utilisation classes and the symbols drawn."""

    def circle(r: float, stroke: str, fill: str, dash: str = "", width: float = 1.0) -> str:
        size = int(2 * r + 6)
        d = f' stroke-dasharray="{dash}"' if dash else ""
        return (
            f'<svg width="{size}" height="{size}"><circle cx="{size / 2}" cy="{size / 2}" '
            f'r="{r}" stroke="{stroke}" stroke-width="{width}" fill="{fill}"{d}/></svg>'
        )

    def glyph(char: str) -> str:
        return f'<span style="color:{_PROPOSED};font-size:15px;margin:0 5px 0 2px">{char}</span>'

    def area(stroke: str, dash: str) -> str:
        return (
            f'<svg width="18" height="12"><rect x="1" y="1" width="16" height="10" fill="none" '
            f'stroke="{stroke}" stroke-width="1.6" stroke-dasharray="{dash}"/></svg>'
        )

    out: list[str] = []
    if "size" in items:
        bounds = ["<70%", "70–90%", "90–110%", "110–130%", "≥130%"]
        out.append(f'<div class="pl-lt">{safe_text(label(lang, "legend_util"))}</div>')
        for c, b in zip(_UTIL_COLORS, bounds, strict=True):
            out.append(f'<div class="pl-lr"><i class="pl-sw" style="background:{c}"></i>{b}</div>')
        sizes = "".join(
            circle(school_radius(c), "#666", "#dddddd") + f"{c:,} " for c in (500, 1500, 3000)
        )
        out.append(f'<div class="pl-lr">{safe_text(label(lang, "legend_size"))}<br>{sizes}</div>')
    symbols = {
        "oversized_class": circle(7, _CLASS_RING, "none", width=2.5),
        "oversized_school": circle(7, _SIZE_RING, "none", dash="4 3", width=2),
        "planned": circle(6, _PLANNED, "#ffffff", dash="3 3", width=2.5),
        "site": circle(4, "#ffffff", _SITE),
        "site_chosen": circle(5, "#ffffff", _SITE_CHOSEN),
        "new": glyph("★"),
        "expansion": glyph("▲"),
        "radius": circle(7, _PROPOSED, "none", dash="4 4", width=1.2),
        "catchment": area("#333333", "5 3"),
        "unserved": circle(6, _UNSERVED, "#e8c4c4", width=2),
    }
    rest = [i for i in items if i != "size"]
    if rest:
        out.append(f'<div class="pl-lt">{safe_text(label(lang, "legend"))}</div>')
    for item in rest:
        text = safe_text(label(lang, "legend_" + item))
        out.append(f'<div class="pl-lr">{symbols[item]}{text}</div>')
    return "".join(out)


def _footer(
    m: folium.Map,
    result: Any,
    lang: str,
    bm: Basemap | None,
    approval_no: str,
    organisation: str,
    when: str | None,
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
    if when is None:
        today = _date.today()
        when = f"{today.year}年{today.month}月" if lang == "zh" else today.strftime("%Y-%m")
    base = (bm.name or bm.attribution) if bm else label(lang, "no_basemap")
    if bm and bm.attribution and bm.attribution != base:
        base = f"{base}（{bm.attribution}）" if lang == "zh" else f"{base} ({bm.attribution})"
    crs = "GCJ-02" if gcj else "WGS84"
    colon, sep = ("：", " ｜ ") if lang == "zh" else (": ", " | ")
    parts = [
        f"{safe_text(label(lang, 'source'))}{colon}{safe_text(source_note)}",
        f"{safe_text(label(lang, 'basemap'))}{colon}{safe_text(base)}",
        f"{safe_text(label(lang, 'crs'))}{colon}{crs}",
        f'{safe_text(label(lang, "approval_no"))}{colon}<span class="pl-approval">'
        f"{safe_text(approval_no)}</span>",
    ]
    if organisation:
        parts.append(f"{safe_text(label(lang, 'organisation'))}{colon}{safe_text(organisation)}")
    parts.append(f"{safe_text(label(lang, 'date'))}{colon}{safe_text(when)}")
    _Html(f'<div class="pl-box pl-fixed pl-footer">{sep.join(parts)}</div>').add_to(m)
