/* planner: the seat-gap map's own script (学位缺口与学校布局图).
 *
 * Reads window.PLANNER_MAP_CONFIG (written by planner.maps.gap_map; every text in it is
 * already HTML-escaped by planner.maps.safe_text, with %name% placeholders; numbers are
 * numbers) and draws the
 * layers that change with the chosen stage, year and plan: the seat-gap choropleth on
 * one shared classed scale, the projects (filtered by opening year and stage) with
 * their service radii, catchments, allocation lines and unserved demand of the plan
 * period in force, permanent labels by zoom level, the control panel, the legend, the
 * north arrow and a metric scale. Nothing is fetched; no text from the data is run.
 *
 * window.plannerMapApi: getState(), setState({stage, year, plan, pyear, pstage, layers}),
 * ready (true once drawn and the basemap's first tiles are in).
 */
(function () {
  "use strict";
  var C = window.PLANNER_MAP_CONFIG;
  var map = window[C.map];
  if (!C || !map) { return; }
  window.plannerMap = map;
  var T = C.text;
  var SCALE = window.PLANNER_SCALE_OVERRIDE || C.scale;

  // ------------------------------------------------------------ helpers
  function fmt(v) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) { return "—"; }
    var s = String(Math.round(v));
    return s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function fmt1(v) {
    if (v === null || v === undefined || !isFinite(v)) { return "—"; }
    return (Math.round(v * 10) / 10).toFixed(1);
  }
  function el(tag, cls, html) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (html !== undefined) { e.innerHTML = html; }  // html: escaped in Python
    return e;
  }
  function rowsTable(rows) {
    var h = "<table>";
    rows.forEach(function (r) { h += "<tr><th>" + r[0] + "</th><td>" + r[1] + "</td></tr>"; });
    return h + "</table>";
  }
  function popup(title, rows) {
    return '<div class="pl-popup"><div class="pl-h">' + title + "</div>" + rowsTable(rows) + "</div>";
  }

  // ------------------------------------------------------------ state
  var years = C.years;
  var state = {
    stage: C.initial.stage,
    year: C.initial.year,
    plan: "before",
    pyear: "all",
    pstage: "all"
  };
  var overlays = {};  // name -> Leaflet layer
  var listeners = [];

  function periodFor(year) {
    // the plan period in force in `year`: the latest period not after it (else the first)
    var p = null;
    (C.periods || []).forEach(function (q) { if (q <= year) { p = q; } });
    if (p === null && C.periods && C.periods.length) { p = C.periods[0]; }
    return p;
  }

  // ------------------------------------------------------------ seat-gap classes
  function classOf(v) {
    if (v === null || v === undefined || !isFinite(v)) { return {k: "nodata", color: SCALE.nodata}; }
    var i;
    if (v > 0) {
      for (i = 0; i < SCALE.gap.length; i++) {
        if (v <= SCALE.gap[i] || i === SCALE.gap.length - 1) { return {k: "g" + i, color: SCALE.gapColors[i]}; }
      }
    }
    if (v < 0) {
      for (i = 0; i < SCALE.sur.length; i++) {
        if (-v <= SCALE.sur[i] || i === SCALE.sur.length - 1) { return {k: "s" + i, color: SCALE.surColors[i]}; }
      }
    }
    return {k: "z", color: SCALE.zero};
  }

  function values() {
    var s = C.values[state.stage];
    return s ? s[String(state.year)] : null;
  }
  function netOf(v, i) {
    if (!v) { return null; }
    if (state.plan === "after" && C.hasPlan) { return v.gapA[i] - v.surA[i]; }
    return v.gap[i] - v.sur[i];
  }

  // ------------------------------------------------------------ basemap
  var BLANK = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";
  var basemapLayers = [];
  if (C.basemap) {
    C.basemap.layers.forEach(function (l) {
      var t = L.tileLayer(l.url, {
        subdomains: l.subdomains || "abc", minZoom: 0, maxZoom: 19,
        maxNativeZoom: C.basemap.maxNativeZoom || C.basemap.maxZoom,
        opacity: C.basemap.opacity, errorTileUrl: BLANK, className: "pl-basemap"
      });
      if (l.local && C.basemap.tiles) {
        var tiles = C.basemap.tiles;  // embedded: "z/x/y" -> data: URI
        t.getTileUrl = function (c) { return tiles[c.z + "/" + c.x + "/" + c.y] || BLANK; };
      }
      t.addTo(map);
      basemapLayers.push(t);
    });
  }

  // ------------------------------------------------------------ units (choropleth)
  map.createPane("plUnits").style.zIndex = 350;
  map.createPane("plCatchments").style.zIndex = 360;
  map.createPane("plLines").style.zIndex = 370;
  map.createPane("plLabels").style.zIndex = 640;
  map.getPane("plLabels").style.pointerEvents = "none";

  function unitPopup(i) {
    var v = values();
    var title = C.units.titles[i];
    if (!v) { return popup(title, [[T.year, String(state.year)], [T.nodata, ""]]); }
    var rows = [
      [T.kind, C.units.kinds[i]],
      [T.stage, C.stageLabels[state.stage]],
      [T.year, String(state.year)],
      [T.population, fmt(v.pop[i])],
      [T.per_thousand, fmt1(v.pt[i])],
      [T.required_seats, fmt(v.req[i])],
      [T.development_seats, fmt(v.dev[i])],
      [T.capacity, fmt(v.cap[i])],
      [T.seat_gap, fmt(v.gap[i])],
      [T.surplus, fmt(v.sur[i])],
      [T.schools, fmt(v.sch[i])],
      [T.students, fmt(v.stu[i])]
    ];
    if (v.p50 && v.p50[i] !== null) {
      rows.push([T.forecast, fmt(v.p50[i]) + " (" + fmt(v.p10[i]) + "–" + fmt(v.p90[i]) + ")"]);
    }
    if (v.pub) { rows.push([T.public_gap, fmt(v.pub[i])]); }
    if (C.hasPlan) {
      rows.push([T.added_seats, fmt(v.add[i])]);
      rows.push([T.seat_gap_after, fmt(v.gapA[i])]);
    }
    return popup(title, rows);
  }
  function unitTip(i) {
    var v = values();
    var n = netOf(v, i);
    var when = state.plan === "after" && C.hasPlan ? T.after : T.before;
    var t = n === null ? T.nodata : (n > 0 ? T.gap_tip.replace("%n%", fmt(n)) : T.surplus_tip.replace("%n%", fmt(-n)));
    return C.units.names[i] + " · " + C.stageLabels[state.stage] + " " + state.year + T.year_suffix + " " + when + " · " + t;
  }

  var units = L.geoJSON(C.units.geojson, {
    pane: "plUnits",
    style: function () {
      return {color: "#555555", weight: 1, fillOpacity: 0.75, fillColor: SCALE.nodata, className: "pl-unit"};
    },
    onEachFeature: function (f, layer) {
      var i = f.properties.i;
      layer.bindPopup(function () { return unitPopup(i); }, {maxWidth: 360});
      layer.bindTooltip(function () { return unitTip(i); }, {sticky: true});
    }
  });
  if (C.show.gaps) { units.addTo(map); }
  overlays.gaps = units;

  function restyleUnits() {
    var v = values();
    units.eachLayer(function (layer) {
      var i = layer.feature.properties.i;
      var c = classOf(netOf(v, i));
      layer.setStyle({fillColor: c.color});
      var p = layer.getElement ? layer.getElement() : layer._path;
      if (p) {
        p.setAttribute("data-stage", state.stage);
        p.setAttribute("data-year", String(state.year));
        p.setAttribute("data-plan", state.plan);
        p.setAttribute("data-class", c.k);
        p.setAttribute("data-unit", C.units.ids[i]);
      }
    });
  }

  // ------------------------------------------------------------ projects and radii
  var projects = L.layerGroup();
  var radii = L.layerGroup();
  var projectMarkers = (C.projects || []).map(function (p) {
    var glyph = p.kind === "new" ? "★" : "▲";
    var icon = L.divIcon({
      className: "pl-proposed pl-proposed-" + p.kind,
      html: '<span class="pl-glyph">' + glyph + '</span><span class="pl-label pl-label-project">' + p.label + "</span>",
      iconSize: [20, 20],
      iconAnchor: [10, 10]
    });
    var m = L.marker([p.lat, p.lon], {icon: icon, keyboard: false, riseOnHover: true});
    m.bindPopup(p.popup, {maxWidth: 360});
    var circles = (p.radii || []).map(function (r) {
      return L.circle([p.lat, p.lon], {
        radius: r[1], color: r[0] === "junior" ? "#6a51a3" : "#08306b", weight: 1, opacity: 0.7,
        dashArray: r[0] === "junior" ? "8 5" : "4 4", fill: false, interactive: false,
        className: "pl-radius pl-radius-" + r[0]
      });
    });
    return {p: p, marker: m, circles: circles};
  });
  // only layers with something to show get a switch
  if (projectMarkers.length && C.layerOrder.indexOf("projects") >= 0) { overlays.projects = projects; }
  if (projectMarkers.some(function (o) { return o.circles.length; }) && C.layerOrder.indexOf("radii") >= 0) {
    overlays.radii = radii;
  }
  function projectShown(p) {
    var y = state.pyear;
    if (y !== "all") {
      if (y.indexOf("-") > 0) {
        var a = parseInt(y.split("-")[0], 10), b = parseInt(y.split("-")[1], 10);
        if (p.year < a || p.year > b) { return false; }
      } else if (p.year !== parseInt(y, 10)) { return false; }
    }
    if (state.pstage !== "all" && p.stages.indexOf(state.pstage) < 0) { return false; }
    return true;
  }
  function refilterProjects() {
    projects.clearLayers();
    radii.clearLayers();
    projectMarkers.forEach(function (o) {
      if (!projectShown(o.p)) { return; }
      projects.addLayer(o.marker);
      o.circles.forEach(function (c) { radii.addLayer(c); });
    });
  }

  // ------------------------------------------------------------ catchments, allocations, unserved
  var catchments = L.layerGroup();
  var allocations = L.layerGroup();
  var unserved = L.layerGroup();
  if (C.catchments) { overlays.catchments = catchments; }
  if (C.allocations) { overlays.allocations = allocations; }
  if (C.unserved && C.unserved.length) { overlays.unserved = unserved; }
  function refilterPeriod() {
    var period = periodFor(state.year);
    catchments.clearLayers();
    allocations.clearLayers();
    unserved.clearLayers();
    if (C.catchments) {
      catchments.addLayer(L.geoJSON(C.catchments, {
        pane: "plCatchments",
        filter: function (f) { return f.properties.year === period && f.properties.stage === state.stage; },
        style: function () {
          return {color: "#333333", weight: 1.6, dashArray: "5 3", fillColor: "#ffffff", fillOpacity: 0.04, className: "pl-catchment"};
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(f.properties.popup, {maxWidth: 360});
          layer.bindTooltip(f.properties.tip, {sticky: true});
        }
      }));
    }
    if (C.allocations) {
      C.allocations.forEach(function (a) {
        if (a.year !== period || a.stage !== state.stage) { return; }
        allocations.addLayer(L.polyline(a.coords, {
          pane: "plLines", color: "#54278f", opacity: 0.55, weight: a.w, interactive: false,
          className: "pl-allocation"
        }));
      });
    }
    (C.unserved || []).forEach(function (u) {
      if (u.year !== period || u.stage !== state.stage) { return; }
      var m = L.circleMarker([u.lat, u.lon], {
        radius: u.r, color: "#67000d", weight: 2, fillColor: "#67000d", fillOpacity: 0.35,
        className: "pl-unserved"
      });
      m.bindPopup(u.popup, {maxWidth: 360});
      m.bindTooltip(u.tip, {sticky: true});
      unserved.addLayer(m);
    });
  }

  // ------------------------------------------------------------ permanent labels
  function labelLayer(items, cls) {
    var g = L.layerGroup();
    items.forEach(function (t) {
      g.addLayer(L.marker([t.lat, t.lon], {
        pane: "plLabels", interactive: false, keyboard: false,
        icon: L.divIcon({className: "pl-label " + cls, html: "<span>" + t.text + "</span>", iconSize: null})
      }));
    });
    return g;
  }
  if (C.unitLabels) { overlays.unit_labels = labelLayer(C.unitLabels, "pl-label-unit"); }
  if (C.schoolLabels) { overlays.school_labels = labelLayer(C.schoolLabels, "pl-label-school"); }
  function zoomClasses() {
    var z = map.getZoom();
    var c = map.getContainer().classList;
    c.toggle("pl-hide-unit-labels", z < C.labelZoom.units);
    c.toggle("pl-hide-school-labels", z < C.labelZoom.schools);
    c.toggle("pl-hide-project-labels", z < C.labelZoom.projects);
  }
  map.on("zoomend", zoomClasses);

  // folium's own layers (schools, flags, planned, sites)
  Object.keys(C.folium || {}).forEach(function (name) {
    var layer = window[C.folium[name]];
    if (layer) { overlays[name] = layer; }
  });

  // ------------------------------------------------------------ scale (metric only), legend above it
  L.control.scale({imperial: false, metric: true, position: "bottomleft", maxWidth: 160}).addTo(map);
  var legend = L.control({position: "bottomleft"});
  legend.onAdd = function () {
    var d = el("div", "pl-box pl-legend");
    L.DomEvent.disableClickPropagation(d);
    return d;
  };
  legend.addTo(map);
  function swatch(color) { return '<i class="pl-sw" style="background:' + color + '"></i>'; }
  function range(lo, hi) { return lo === hi ? fmt(lo) : fmt(lo) + "–" + fmt(hi); }
  function drawLegend() {
    var when = state.plan === "after" && C.hasPlan ? T.after : T.before;
    var h = '<div class="pl-lt">' + T.gap_legend.replace("%stage%", C.stageLabels[state.stage]).replace("%year%", String(state.year)) + "（" + when + "）</div>";
    var i, lo;
    for (i = SCALE.gap.length - 1; i >= 0; i--) {
      lo = i === 0 ? 1 : SCALE.gap[i - 1] + 1;
      h += '<div class="pl-lr" data-class="g' + i + '">' + swatch(SCALE.gapColors[i]) + T.gap_class.replace("%r%", range(lo, SCALE.gap[i])) + "</div>";
    }
    h += '<div class="pl-lr" data-class="z">' + swatch(SCALE.zero) + T.balanced + "</div>";
    for (i = 0; i < SCALE.sur.length; i++) {
      lo = i === 0 ? 1 : SCALE.sur[i - 1] + 1;
      h += '<div class="pl-lr" data-class="s' + i + '">' + swatch(SCALE.surColors[i]) + T.surplus_class.replace("%r%", range(lo, SCALE.sur[i])) + "</div>";
    }
    h += '<div class="pl-lr">' + swatch(SCALE.nodata) + T.nodata + "</div>";
    h += C.legendStatic;
    legend.getContainer().innerHTML = h;
  }

  // ------------------------------------------------------------ north arrow
  var north = L.control({position: "topleft"});
  north.onAdd = function () {
    return el("div", "pl-box pl-north",
      '<svg width="30" height="42" viewBox="0 0 30 42"><text x="15" y="11" text-anchor="middle" ' +
      'font-size="11" font-weight="bold">' + T.north + '</text><polygon points="15,14 24,40 15,33 6,40" ' +
      'fill="#222"/><polygon points="15,14 15,33 6,40" fill="#fff" stroke="#222" stroke-width="1"/></svg>');
  };
  north.addTo(map);

  // ------------------------------------------------------------ panel
  var panel = L.control({position: "topright"});
  function opt(value, text, selected) {
    return '<option value="' + value + '"' + (selected ? " selected" : "") + ">" + text + "</option>";
  }
  panel.onAdd = function () {
    var d = el("div", "pl-box pl-panel");
    var h = '<div class="pl-ph">' + T.panel_gap + "</div>";
    h += '<label class="pl-row">' + T.stage + ' <select id="pl-stage">';
    C.stages.forEach(function (s) { h += opt(s, C.stageLabels[s], s === state.stage); });
    h += '</select></label><label class="pl-row">' + T.year + ' <select id="pl-year">';
    years.forEach(function (y) { h += opt(String(y), y + T.year_suffix, y === state.year); });
    h += "</select></label>";
    if (C.hasPlan) {
      h += '<div class="pl-row"><label><input type="radio" name="pl-plan" value="before" checked> ' + T.before +
        '</label> <label><input type="radio" name="pl-plan" value="after"> ' + T.after + "</label></div>";
    }
    if (C.projects && C.projects.length) {
      h += '<div class="pl-ph">' + T.panel_projects + '</div><label class="pl-row">' + T.opening_year + ' <select id="pl-pyear">';
      h += opt("all", T.all_years, true);
      C.plans.forEach(function (p) { h += opt(p[1] + "-" + p[2], p[0], false); });
      C.projectYears.forEach(function (y) { h += opt(String(y), y + T.year_suffix, false); });
      h += '</select></label><label class="pl-row">' + T.stage + ' <select id="pl-pstage">';
      h += opt("all", T.all_stages, true);
      C.stages.forEach(function (s) { h += opt(s, C.stageLabels[s], false); });
      h += "</select></label>";
    }
    if (C.periods && C.periods.length) {
      h += '<div class="pl-note" id="pl-period"></div>';
    }
    h += '<div class="pl-ph">' + T.panel_layers + "</div>";
    C.layerOrder.forEach(function (name) {
      if (!overlays[name]) { return; }
      h += '<label class="pl-row pl-check"><input type="checkbox" data-layer="' + name + '"' +
        (C.show[name] ? " checked" : "") + "> " + C.layerLabels[name] + "</label>";
    });
    d.innerHTML = h;
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  panel.addTo(map);
  var box = panel.getContainer();
  function on(id, fn) { var e = box.querySelector(id); if (e) { e.addEventListener("change", fn); } }
  on("#pl-stage", function (e) { setState({stage: e.target.value}); });
  on("#pl-year", function (e) { setState({year: parseInt(e.target.value, 10)}); });
  on("#pl-pyear", function (e) { setState({pyear: e.target.value}); });
  on("#pl-pstage", function (e) { setState({pstage: e.target.value}); });
  Array.prototype.forEach.call(box.querySelectorAll("input[name=pl-plan]"), function (r) {
    r.addEventListener("change", function (e) { setState({plan: e.target.value}); });
  });
  Array.prototype.forEach.call(box.querySelectorAll("input[data-layer]"), function (c) {
    c.addEventListener("change", function (e) {
      var layers = {};
      layers[e.target.getAttribute("data-layer")] = e.target.checked;
      setState({layers: layers});
    });
  });

  // ------------------------------------------------------------ apply
  function syncPanel() {
    var set = function (id, v) { var e = box.querySelector(id); if (e) { e.value = v; } };
    set("#pl-stage", state.stage);
    set("#pl-year", String(state.year));
    set("#pl-pyear", state.pyear);
    set("#pl-pstage", state.pstage);
    Array.prototype.forEach.call(box.querySelectorAll("input[name=pl-plan]"), function (r) {
      r.checked = r.value === state.plan;
    });
    Array.prototype.forEach.call(box.querySelectorAll("input[data-layer]"), function (c) {
      c.checked = map.hasLayer(overlays[c.getAttribute("data-layer")]);
    });
    var p = box.querySelector("#pl-period");
    if (p) { p.innerHTML = T.period_note.replace("%year%", String(periodFor(state.year))); }
  }
  function setState(s, quiet) {
    s = s || {};
    if (s.stage && C.values[s.stage]) { state.stage = s.stage; }
    if (s.year !== undefined && years.indexOf(+s.year) >= 0) { state.year = +s.year; }
    if (s.plan === "before" || (s.plan === "after" && C.hasPlan)) { state.plan = s.plan; }
    if (s.pyear !== undefined) { state.pyear = String(s.pyear); }
    if (s.pstage !== undefined) { state.pstage = String(s.pstage); }
    Object.keys(s.layers || {}).forEach(function (name) {
      var layer = overlays[name];
      if (!layer) { return; }
      if (s.layers[name] && !map.hasLayer(layer)) { map.addLayer(layer); }
      if (!s.layers[name] && map.hasLayer(layer)) { map.removeLayer(layer); }
    });
    restyleUnits();
    refilterProjects();
    refilterPeriod();
    drawLegend();
    syncPanel();
    if (!quiet) { listeners.forEach(function (fn) { fn(getState()); }); }
    return getState();
  }
  function getState() {
    var layers = {};
    Object.keys(overlays).forEach(function (n) { layers[n] = map.hasLayer(overlays[n]); });
    return {stage: state.stage, year: state.year, plan: state.plan, pyear: state.pyear,
      pstage: state.pstage, period: periodFor(state.year), layers: layers};
  }

  Object.keys(overlays).forEach(function (name) {
    if (name === "gaps") { return; }
    var layer = overlays[name];
    if (C.show[name] && !map.hasLayer(layer)) { map.addLayer(layer); }
    if (!C.show[name] && map.hasLayer(layer)) { map.removeLayer(layer); }
  });

  // state from the address (map.html#stage=junior&year=2030&plan=after&pyear=2026-2030)
  function fromHash() {
    var s = {};
    (window.location.hash || "").replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("=");
      if (p.length === 2) { s[decodeURIComponent(p[0])] = decodeURIComponent(p[1]); }
    });
    return s;
  }
  setState(fromHash(), true);
  zoomClasses();

  var api = {ready: false, getState: getState, setState: setState,
    onChange: function (fn) { listeners.push(fn); }};
  window.plannerMapApi = api;
  var first = basemapLayers[0];
  if (first && first.isLoading && first.isLoading()) {
    first.once("load", function () { api.ready = true; });
    setTimeout(function () { api.ready = true; }, 15000);
  } else {
    api.ready = true;
  }
})();
