"""Two scenarios' maps side by side, panned and zoomed together (情景对比地图).

:func:`side_by_side` takes the two self-contained map pages written by ``planner run``
(each already carries Leaflet and its data inline) and returns one page that shows them
next to each other in two frames, each titled with its scenario and its norms. Both maps
colour the seat gaps on one classed scale (``scale``, from both runs' values), so a
colour means the same number of seats on either side. Moving or zooming either map, or
choosing another stage, year or before/after, does the same on the other, unless the
"同步 sync" box is cleared.

The frames talk through ``window.postMessage`` only: each map page gets a short script
that reports its view to the parent page after every move and applies a view the parent
sends; the parent relays a view from one frame to the other. This works from a local
file (``file://``), where the frames cannot reach into each other, and needs no network
and no plugin. The script adds nothing external; :func:`planner.outputs.compare
.write_comparison` checks that the combined page loads no URL the two maps did not
already load.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from planner.maps.gap import MapError
from planner.maps.labels import LANGS
from planner.maps.text import safe_text

__all__ = ["side_by_side", "leaflet_map_var"]

_MAP_VAR = re.compile(r"var\s+(map_[0-9a-f]+)\s*=\s*L\.map\(")

_LABELS = {
    "zh": {
        "title": "情景对比",
        "sync": "同步平移缩放及图层",
        "a": "情景 A",
        "b": "情景 B",
        "norms": "标准",
    },
    "en": {
        "title": "Scenario comparison",
        "sync": "Pan, zoom and layers together",
        "a": "A",
        "b": "B",
        "norms": "norms",
    },
}

# Runs inside each map frame. Reports the view after every move; applies a view sent by
# the parent without echoing it back (a move that ends at the view just applied is not
# reported, so two synchronised maps never ping-pong).
_FRAME_JS = """
<script>/* planner: side-by-side sync */
(function () {
  var map = window.%(var)s;
  if (!map) { return; }
  window.plannerMap = map;
  var applied = null;
  function same(a, b) {
    return a && b && a.zoom === b.zoom &&
      Math.abs(a.lat - b.lat) < 1e-9 && Math.abs(a.lng - b.lng) < 1e-9;
  }
  map.on("moveend", function () {
    var c = map.getCenter();
    var v = {lat: c.lat, lng: c.lng, zoom: map.getZoom()};
    if (same(v, applied)) { return; }
    applied = null;
    window.parent.postMessage({plannerSync: "view", lat: v.lat, lng: v.lng, zoom: v.zoom}, "*");
  });
  var api = window.plannerMapApi;
  if (api && api.onChange) {  // stage, year, before/after: the other map follows
    api.onChange(function (st) {
      window.parent.postMessage({plannerSync: "state", state: {stage: st.stage, year: st.year,
        plan: st.plan, pyear: st.pyear, pstage: st.pstage}}, "*");
    });
  }
  window.addEventListener("message", function (e) {
    var d = e.data;
    if (!d) { return; }
    if (d.plannerSync === "setstate" && api) { api.setState(d.state, true); return; }
    if (d.plannerSync !== "set") { return; }
    map.setView([d.lat, d.lng], d.zoom, {animate: false});
    var c = map.getCenter();
    applied = {lat: c.lat, lng: c.lng, zoom: map.getZoom()};
  });
})();
</script>
"""

_PAGE = """<!DOCTYPE html>
<html lang="%(lang)s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>
html, body { margin: 0; height: 100%%; font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei",
  "Microsoft YaHei", sans-serif; }
body { display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 1em; padding: 4px 10px; font-size: 14px;
  border-bottom: 1px solid #ccc; }
main { flex: 1; display: flex; min-height: 0; }
section { flex: 1; display: flex; flex-direction: column; min-width: 0; }
section + section { border-left: 2px solid #666; }
h2 { margin: 0; padding: 3px 8px; font-size: 14px; background: #f3f3f3; }
h2 small { font-weight: normal; color: #444; margin-left: .6em; }
iframe { flex: 1; border: 0; width: 100%%; }
</style>
</head>
<body>
<header><strong>%(title)s</strong>
<label><input type="checkbox" id="planner-sync" checked> %(sync)s</label></header>
<main>
<section><h2>%(label_a)s: %(name_a)s<small>%(norms_a)s</small></h2>
<iframe id="planner-map-a" title="%(name_a)s" srcdoc="%(doc_a)s"></iframe></section>
<section><h2>%(label_b)s: %(name_b)s<small>%(norms_b)s</small></h2>
<iframe id="planner-map-b" title="%(name_b)s" srcdoc="%(doc_b)s"></iframe></section>
</main>
<script>
(function () {
  var frames = [document.getElementById("planner-map-a"),
                document.getElementById("planner-map-b")];
  var box = document.getElementById("planner-sync");
  window.addEventListener("message", function (e) {
    var d = e.data;
    if (!d || !box.checked) { return; }
    var msg = null;
    if (d.plannerSync === "view") {
      msg = {plannerSync: "set", lat: d.lat, lng: d.lng, zoom: d.zoom};
    } else if (d.plannerSync === "state") {
      msg = {plannerSync: "setstate", state: d.state};
    }
    if (!msg) { return; }
    frames.forEach(function (f) {
      if (f.contentWindow && f.contentWindow !== e.source) { f.contentWindow.postMessage(msg, "*"); }
    });
  });
})();
</script>
</body>
</html>
"""


def leaflet_map_var(page: str) -> str:
    """The JavaScript name of the Leaflet map folium created in ``page``.

    Raises
    ------
    MapError
        When the page holds no folium map, or more than one.
    """
    found = set(_MAP_VAR.findall(page))
    if len(found) != 1:
        raise MapError(
            f"expected one Leaflet map in the page, found {len(found)}: give the map.html "
            "that `planner run` wrote"
        )
    return found.pop()


def _with_sync(page: str, scale: Mapping[str, Any] | None = None) -> str:
    """``page`` with the frame script added at its very end (and the shared scale first).

    folium writes the map's own script after ``</body>``, so the frame script goes just
    before ``</html>`` (or at the end), where the map variable already exists. The
    scale goes in before any script, where the map's own script looks for it
    (``window.PLANNER_SCALE_OVERRIDE``).
    """
    js = _FRAME_JS % {"var": leaflet_map_var(page)}
    at = page.rfind("</html>")
    page = page[:at] + js + page[at:] if at >= 0 else page + js
    if scale is not None:
        data = json.dumps(dict(scale), separators=(",", ":")).replace("</", "<\\/")
        head = f"<script>window.PLANNER_SCALE_OVERRIDE = {data};</script>"
        m = re.search(r"<head[^>]*>", page, re.I)
        page = page[: m.end()] + head + page[m.end() :] if m else head + page
    return page


def side_by_side(
    page_a: str,
    page_b: str,
    *,
    name_a: str,
    name_b: str,
    norms_a: str = "",
    norms_b: str = "",
    scale: Mapping[str, Any] | None = None,
    lang: str = "zh",
    title: str | None = None,
) -> str:
    """One HTML page showing two map pages side by side with synchronised views.

    Parameters
    ----------
    page_a, page_b : str
        Self-contained map pages (as written by :func:`planner.maps.save_offline`).
    name_a, name_b : str
        The scenarios' names (escaped here).
    norms_a, norms_b : str
        The norms each scenario used (shown beside its name).
    scale : mapping, optional
        One classed scale for both maps (:func:`planner.maps.classify.scale_for` of the
        two runs); without it each map keeps its own.
    lang : {"zh", "en"}
        Language of the page's own labels.
    title : str, optional
        Heading; default "情景对比" / "Scenario comparison".

    Returns
    -------
    str
        The page. Each map runs in its own frame (``srcdoc``), so their scripts and
        element ids cannot clash.
    """
    if lang not in LANGS:
        raise MapError(f"lang must be one of {LANGS}, not {lang!r}")
    lab = _LABELS[lang]
    return _PAGE % {
        "lang": "zh-CN" if lang == "zh" else "en",
        "title": safe_text(title or lab["title"]),
        "sync": lab["sync"],
        "label_a": lab["a"],
        "label_b": lab["b"],
        "name_a": safe_text(name_a),
        "name_b": safe_text(name_b),
        "norms_a": safe_text(f"{lab['norms']}：{norms_a}" if norms_a else ""),
        "norms_b": safe_text(f"{lab['norms']}：{norms_b}" if norms_b else ""),
        "doc_a": html.escape(_with_sync(page_a, scale), quote=True),
        "doc_b": html.escape(_with_sync(page_b, scale), quote=True),
    }
