"""Offline maps without a browser: safe text, URL detection, inlining, layers."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import importlib.util
import io
import json
import math
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from hostile import HOSTILE, hostile_result, with_plan
from shapely.geometry import LineString

from planner.errors import PlannerError
from planner.maps import (
    ASSETS,
    AssetError,
    MapError,
    external_urls,
    gap_map,
    offline_map,
    render_offline,
    safe_text,
    save_offline,
)

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(demo_result):
    return demo_result


@pytest.fixture
def fake_assets(tmp_path, monkeypatch):
    """An asset cache with stand-in files (no npm needed) and a CSS image."""
    root = tmp_path / "assets"
    files: dict[str, bytes] = {}
    for a in ASSETS:
        body = f"/* stand-in {a.key} */\n".encode()
        if a.kind == "css":
            body += b".x{background:url(images/layers.png)} .y{behavior:url(#default#VML)}\n"
            files[f"{a.folder}/dist/images/layers.png"] = b"\x89PNG fake"
        files[f"{a.folder}/{a.file}"] = body
        files[f"{a.folder}/LICENSE"] = b"Copyright (c) test */ </script>"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    manifest = {"files": {rel: hashlib.sha256(d).hexdigest() for rel, d in files.items()}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("PLANNER_ASSETS", str(root))
    return root


# ---------------------------------------------------------------- safe_text


@pytest.mark.parametrize("s", HOSTILE)
def test_safe_text_leaves_no_active_character(s):
    out = safe_text(s)
    assert not set(out) & set("<>\"'`${}\\")
    assert html.unescape(out) == s


def test_safe_text_missing_values_and_controls():
    assert safe_text(None) == ""
    assert safe_text(float("nan")) == ""
    assert safe_text(pd.NA) == ""
    assert safe_text(12) == "12"
    assert safe_text("a\nb\r\n\tc") == "a b c"
    assert safe_text("x\u2028y\x00z") == "xyz"
    assert safe_text("东城街道") == "东城街道"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("s", HOSTILE)
def test_safe_text_is_inert_in_a_js_template_literal(s):
    # what folium does with popups and tooltips: paste the text into `…`
    js = f"const v = `{safe_text(s)}`; process.stdout.write(v);"
    out = subprocess.run(["node", "-e", js], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == safe_text(s)  # no interpolation, nothing evaluated


# ---------------------------------------------------------------- URL detection


def test_external_urls_finds_every_kind():
    page = (
        '<script src="https://cdn.example.com/a.js"></script>'
        '<link href="//fonts.example.org/b.css" rel="stylesheet">'
        "<style>.a{background:url(http://img.example.net/c.png)}</style>"
        "<script>var t = L.tileLayer('https:\\/\\/t.example.com/{z}/{x}/{y}.png');"
        "// a comment, not a URL\n var s = 'a // b';</script>"
        '<img src="data:image/png;base64,AAAA"><a href="#x">x</a>'
        '<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    )
    found = external_urls(page)
    assert found == [
        "https://cdn.example.com/a.js",
        "//fonts.example.org/b.css",
        "http://img.example.net/c.png",
        "https://t.example.com/{z}/{x}/{y}.png",
    ]
    assert external_urls(page, allow=["https://t.example.com/", "//fonts", "http", "https"]) == []


def test_folium_defaults_are_refused_with_the_url(fake_assets, tmp_path):
    m = folium.Map(tiles=None)  # Bootstrap, Font Awesome, awesome-markers …
    out = tmp_path / "m.html"
    with pytest.raises(PlannerError, match=r"bootstrap"):
        save_offline(m, out)
    assert not out.exists()


def test_offline_map_is_inlined_with_css_images_as_data_uris(fake_assets, tmp_path):
    m = offline_map(location=[22.5, 113.4], zoom_start=10)
    folium.CircleMarker([22.5, 113.4], radius=5).add_to(m)
    out = save_offline(m, tmp_path / "sub" / "m.html")
    page = out.read_text(encoding="utf-8")
    assert external_urls(page) == []
    assert "<script src=" not in page and "<link " not in page
    assert "stand-in leaflet.js" in page and "stand-in jquery.js" in page
    assert 'url("data:image/png;base64,' + base64.b64encode(b"\x89PNG fake").decode() in page
    assert "url(#default#VML)" in page
    assert "Copyright (c) test * / <\\/script>" in page  # licence kept, neutralised
    # readable like any other new file (not mkstemp's private 0600)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_missing_assets_tell_how_to_restore_them(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_ASSETS", str(tmp_path / "nothing"))
    with pytest.raises(AssetError, match="reinstall"):
        render_offline(offline_map())


def test_tampered_asset_is_refused(fake_assets):
    (fake_assets / "leaflet@1.9.3/dist/leaflet.js").write_text("alert(1)")
    with pytest.raises(AssetError, match="checksum"):
        render_offline(offline_map())


def test_lock_file_pins_every_asset():
    lock = json.loads((ROOT / "scripts/assets.lock.json").read_text(encoding="utf-8"))
    pkgs = {p["name"]: p for p in lock["packages"]}
    for a in ASSETS:
        p = pkgs[a.package]
        assert p["version"] == a.version
        assert a.file in p["files"]
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", p["integrity"])
        assert any(f.startswith("LICENSE") for f in p["files"])
    assert "dist/images/layers.png" in pkgs["leaflet"]["files"]


# ---------------------------------------------------------------- fetch script


def _fetch_module():
    spec = importlib.util.spec_from_file_location("fetch_assets", ROOT / "scripts/fetch_assets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_fetch_script_verifies_sha512_and_extracts(tmp_path, monkeypatch):
    fa = _fetch_module()
    tgz = _tarball({"dist/a.js": b"A", "LICENSE": b"L", "other.txt": b"x"})
    lock = tmp_path / "lock.json"
    pkg = {"name": "demo", "version": "1.0.0", "files": ["dist/a.js", "LICENSE"]}
    pkg["integrity"] = fa.sri_sha512(tgz)
    lock.write_text(json.dumps({"packages": [pkg]}), encoding="utf-8")
    calls = []

    def fake_pack(name, version, workdir):
        calls.append((name, version))
        p = workdir / f"{name}-{version}.tgz"
        p.write_bytes(tgz)
        return p

    monkeypatch.setattr(fa, "pack", fake_pack)
    dest = tmp_path / "cache"
    assert fa.fetch(lock, dest) == 1
    assert (dest / "demo@1.0.0/dist/a.js").read_bytes() == b"A"
    assert not (dest / "demo@1.0.0/other.txt").exists()
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["files"]["demo@1.0.0/dist/a.js"] == hashlib.sha256(b"A").hexdigest()
    assert fa.fetch(lock, dest) == 0 and len(calls) == 1  # cached: nothing refetched
    fa.fetch(lock, dest, check=True)

    pkg["integrity"] = fa.sri_sha512(b"something else")
    lock.write_text(json.dumps({"packages": [pkg]}), encoding="utf-8")
    with pytest.raises(fa.FetchError, match="checksum mismatch"):
        fa.fetch(lock, tmp_path / "cache2")
    assert not (tmp_path / "cache2/demo@1.0.0").exists()

    pkg["version"] = "^1.0.0"
    lock.write_text(json.dumps({"packages": [pkg]}), encoding="utf-8")
    with pytest.raises(fa.FetchError, match="exact version"):
        fa.fetch(lock, tmp_path / "cache3")


# ---------------------------------------------------------------- the gap map


def _config(page: str) -> dict:
    """The page script's configuration (window.PLANNER_MAP_CONFIG)."""
    m = re.search(r"window\.PLANNER_MAP_CONFIG = (\{.*?\});\n", page, re.S)
    assert m, "no map configuration in the page"
    return json.loads(m.group(1).replace("<\\/", "</"))


def _page(m: folium.Map) -> str:
    return m.get_root().render()


def test_gap_map_has_every_year_before_and_after_the_plan(demo):
    cfg = _config(_page(gap_map(demo)))
    sc = demo.inputs.scenario
    assert cfg["years"] == list(range(sc.base_year, sc.horizon + 1))
    assert cfg["stages"] == ["primary", "junior"] and cfg["hasPlan"] is False
    needs = demo.tables["needs"]
    ids = cfg["units"]["ids"]
    for stage, year in (("primary", 2026), ("junior", 2040)):
        n = needs[(needs["stage"] == stage) & (needs["year"] == year)].set_index("unit_id")
        v = cfg["values"][stage][str(year)]
        assert v["req"] == [int(n.loc[u, "required_seats"]) for u in ids]
        assert v["gap"] == [int(n.loc[u, "seat_gap"]) for u in ids]
        assert v["gapA"] == v["gap"]  # no plan: after = before
    planned = _config(_page(gap_map(with_plan(demo))))
    assert planned["hasPlan"] is True
    u0 = planned["units"]["ids"][0]
    v = planned["values"]["primary"]["2030"]
    assert v["add"][0] == 1080 and v["gapA"][0] == max(v["req"][0] - v["cap"][0] - 1080, 0)
    assert planned["values"]["primary"]["2025"]["add"][0] == 0
    assert u0 == str(demo.inputs["units"]["unit_id"].iloc[0])


def test_gap_map_one_classed_scale_for_every_layer(demo):
    from planner.maps.classify import scale_for

    r = with_plan(demo)
    cfg = _config(_page(gap_map(r)))
    scale = scale_for((r.tables["needs"], r.tables["projects"]))
    assert cfg["scale"] == dict(scale)
    assert cfg["scale"]["gap"] == sorted(cfg["scale"]["gap"])
    # every value of every layer falls in a class; the top class holds the maximum
    nets = [
        a - b
        for by_year in cfg["values"].values()
        for v in by_year.values()
        for g, s in (("gap", "sur"), ("gapA", "surA"))
        for a, b in zip(v[g], v[s], strict=True)
    ]
    assert max(nets) <= cfg["scale"]["gap"][-1] and -min(nets) <= cfg["scale"]["sur"][-1]
    assert {scale.class_of(x) for x in nets} - {"z"} <= {
        *(f"g{i}" for i in range(len(scale["gap"]))),
        *(f"s{i}" for i in range(len(scale["sur"]))),
    }


def test_classed_scale_rounds_and_separates_gaps_from_surpluses():
    from planner.maps.classify import gap_scale, nice_ceil

    assert [nice_ceil(x) for x in (1, 87, 1234, 99_001)] == [1, 87, 1300, 100_000]
    s = gap_scale([-900, -20, 0, 0, 5, 40, 41, 300, 2950])
    assert s["gap"][-1] >= 2950 and s["sur"][-1] >= 900
    assert s.class_of(0) == "z" and s.class_of(float("nan")) == "nodata"
    assert s.class_of(5).startswith("g") and s.class_of(-20).startswith("s")
    assert s.class_of(2950) == f"g{len(s['gap']) - 1}"
    assert len(s["gapColors"]) == len(s["gap"]) and len(s["surColors"]) == len(s["sur"])


def test_gap_map_words_years_and_units(demo):
    page = _page(gap_map(with_plan(demo)))
    cfg = _config(page)
    assert "座" not in page
    assert "%n% 个" in cfg["text"]["gap_tip"] and "%r% 个" in cfg["text"]["gap_class"]
    labels = [p["label"] for p in cfg["projects"]]
    assert labels == ["新建一小 · 2026年", "东城一小 · 2030年"]
    assert "2,026" not in page and "2,030" not in page
    assert "投用年份" in cfg["projects"][0]["popup"]
    assert cfg["projectYears"] == [2026, 2030]
    assert cfg["plans"] == [["“十五五”（2026—2030年）", 2026, 2030]]
    assert cfg["projects"][1]["stages"] == ["primary", "junior"]


def test_service_radii_come_from_the_norms(demo):
    r = with_plan(demo)
    cfg = _config(_page(gap_map(r)))
    kinds = dict(zip(demo.inputs["units"]["unit_id"], demo.inputs["units"]["kind"], strict=True))
    p0, _ = r.tables["projects"].itertuples(index=False)
    assert cfg["projects"][0]["radii"] == [
        ["primary", demo.norms.service_radius(kinds[p0.unit_id], "primary")]
    ]
    assert [st for st, _ in cfg["projects"][1]["radii"]] == ["primary", "junior"]
    own = _config(_page(gap_map(r, service_radius_m={"primary": 800, "junior": 1600})))
    assert own["projects"][1]["radii"] == [["primary", 800.0], ["junior", 1600.0]]


def test_gap_map_furniture(demo):
    page = _page(gap_map(demo, approval_no="粤S(2025)001号", organisation="示例市教育局"))
    assert '"attributionControl": false' in page  # no Leaflet prefix, no flag
    assert "imperial: false" in page and "pl-north" in page
    footer = re.search(r'<div class="pl-box pl-fixed pl-footer">(.*?)</div>', page).group(1)
    for text in (
        '审图号：<span class="pl-approval">粤S(2025)001号</span>',
        "编制单位：示例市教育局",
    ):
        assert text in footer
    assert "编制日期：" in footer and "底图：无（仅专题数据）" in footer
    assert "control_scale" not in page and "L.control.scale()" not in page


def test_gap_map_layers_follow_the_scenario(demo):
    cfg = _config(_page(gap_map(demo)))
    assert cfg["layerOrder"][:2] == ["gaps", "schools"] and "allocations" not in cfg["layerOrder"]
    assert cfg["show"]["catchments"] is False and cfg["show"]["gaps"] is True
    assert set(cfg["folium"]) == {"schools", "flags", "planned", "sites"}
    only = _config(_page(gap_map(demo, layers=["gaps", "unit_labels"], hidden=[])))
    assert only["folium"] == {} and only["schoolLabels"] is None
    assert len(only["unitLabels"]) == len(demo.inputs["units"])
    en = _config(_page(gap_map(demo, lang="en", years=[2030], stages=["junior"])))
    assert en["years"] == [2030] and en["stageLabels"] == {"junior": "junior secondary"}
    assert en["layerLabels"]["schools"] == "Existing schools (by utilisation)"


def test_gap_map_escapes_hostile_names(demo):
    page = _page(gap_map(hostile_result(demo), source_note=HOSTILE[2]))
    for s in HOSTILE:
        if s not in ("&lt;b&gt; &amp; &",):
            assert s not in page, s
        assert safe_text(s) in page or json.dumps(safe_text(s))[1:-1] in page
    assert "alert(1)</script>" not in page


def test_gap_map_refuses_bad_arguments(demo):
    with pytest.raises(MapError, match="lang"):
        gap_map(demo, lang="fr")
    with pytest.raises(MapError, match="1999"):
        gap_map(demo, years=[1999])
    with pytest.raises(MapError, match="stage"):
        gap_map(demo, stages=["senior"])
    with pytest.raises(MapError, match="did you mean 'radii'"):
        gap_map(demo, layers=["gaps", "radius"])
    with pytest.raises(MapError, match="attribution"):
        gap_map(demo, basemap={"kind": "xyz", "url": "https://t.example.com/{z}/{x}/{y}.png"})
    with pytest.raises(MapError, match="TIANDITU_KEY"):
        gap_map(demo, basemap={"kind": "tianditu", "key_env": "TIANDITU_KEY_NOT_SET_HERE"})


def _first_coordinate(cfg: dict) -> tuple[float, float]:
    x, y = cfg["units"]["geojson"]["features"][0]["geometry"]["coordinates"][0][0]
    return float(x), float(y)


def test_amap_basemap_shifts_the_overlays_and_allows_only_its_tiles(demo, fake_assets, tmp_path):
    plain = _config(_page(gap_map(demo)))
    m = gap_map(demo, basemap={"kind": "amap"})
    page = _page(m)
    shifted = _config(page)
    (x0, y0), (x1, y1) = _first_coordinate(plain), _first_coordinate(shifted)
    dist_m = math.hypot((x1 - x0) * 102_800, (y1 - y0) * 110_800)
    assert 300 < dist_m < 900  # the GCJ-02 offset in Guangdong
    assert "坐标：GCJ-02" in page and "高德地图" in page
    assert shifted["basemap"]["layers"][0]["url"].startswith("https://webrd0{s}.is.autonavi")
    out = render_offline(m)  # the scenario's basemap is permitted, nothing else
    assert external_urls(out, allow=["https://webrd0"]) == []
    xyz = gap_map(
        demo,
        basemap={
            "kind": "xyz",
            "url": "https://tiles.intranet.example/{z}/{x}/{y}.png",
            "attribution": "市测绘院 <b>",
        },
    )
    page = save_offline(xyz, tmp_path / "xyz.html").read_text(encoding="utf-8")
    assert "市测绘院 &lt;b&gt;" in page and "坐标：WGS84" in page
    assert external_urls(page, allow=["https://tiles.intranet.example/"]) == []


def test_tianditu_and_wmts_urls():
    from planner.maps.basemap import resolve_basemap

    b = resolve_basemap(
        {"kind": "tianditu", "key_env": "TDT"}, bounds=(113, 22, 114, 23), environ={"TDT": "k1"}
    )
    assert len(b.layers) == 2 and not b.gcj02
    assert "LAYER=vec" in b.layers[0].url and "LAYER=cva" in b.layers[1].url
    assert b.layers[0].url.endswith("tk=k1") and "{z}" in b.layers[0].url
    w = resolve_basemap(
        {
            "kind": "wmts",
            "url": "https://gis.intranet/wmts?token=1",
            "layer": "dlg",
            "tile_matrix_set": "GoogleMapsCompatible",
            "attribution": "市规划院",
        },
        bounds=(113, 22, 114, 23),
    )
    u = w.layers[0].url
    assert u.startswith("https://gis.intranet/wmts?token=1&SERVICE=WMTS&REQUEST=GetTile")
    assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in u and w.allowed_urls == [u.split("{")[0]]


def _png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), color).save(buf, format="PNG")
    return buf.getvalue()


def _tile_folder(root: Path, bounds, zooms=(9, 10)) -> int:
    from planner.maps.basemap import tile_range

    n = 0
    for z in zooms:
        x0, x1, y0, y1 = tile_range(bounds, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                p = root / str(z) / str(x) / f"{y}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(_png((200, 220, 180)))
                n += 1
    return n


def test_local_tile_folder_and_mbtiles_travel_with_the_map(demo, fake_assets, tmp_path):
    import sqlite3

    from planner.maps.basemap import resolve_basemap

    bounds = tuple(demo.inputs["units"].to_crs(4326).total_bounds)
    n = _tile_folder(tmp_path / "tiles", bounds)
    spec = {"kind": "local", "path": str(tmp_path / "tiles"), "min_zoom": 9, "max_zoom": 10}
    b = resolve_basemap(spec, bounds=bounds)
    assert len(b.local.tiles) == n and b.local.max_native_zoom == 10
    # the same tiles in an MBTiles file (rows counted from the south)
    mb = tmp_path / "city.mbtiles"
    con = sqlite3.connect(mb)
    con.execute("CREATE TABLE metadata (name text, value text)")
    con.execute("INSERT INTO metadata VALUES ('format', 'png')")
    con.execute(
        "CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob)"
    )
    for key, data in b.local.tiles.items():
        z, x, y = map(int, key.split("/"))
        con.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, data))
    con.commit()
    con.close()
    b2 = resolve_basemap({**spec, "path": str(mb)}, bounds=bounds)
    assert set(b2.local.tiles) == set(b.local.tiles)
    # small: embedded in the page, which stays self-contained
    page = save_offline(gap_map(demo, basemap=spec), tmp_path / "a.html").read_text("utf-8")
    assert page.count("data:image/png;base64,") >= n and external_urls(page) == []
    assert not (tmp_path / "a_files").exists()
    # large: a folder beside the page, referred to relatively
    out = save_offline(gap_map(demo, basemap={**spec, "embed_max_mb": 0}), tmp_path / "b.html")
    page = out.read_text("utf-8")
    assert "b_files/tiles/{z}/{x}/{y}.png" in page and external_urls(page) == []
    assert len(list((tmp_path / "b_files/tiles").rglob("*.png"))) == n
    with pytest.raises(MapError, match="no tiles"):
        gap_map(demo, basemap={**spec, "min_zoom": 15, "max_zoom": 15})


def test_siting_layers_are_drawn_with_every_period(demo):
    units = demo.inputs["units"].to_crs(4326)
    r = with_plan(demo)
    cells = units.iloc[:2].copy()
    r.layers = {
        "catchments": gpd.GeoDataFrame(
            {
                "fac_id": [0, 0, 1, 1],
                "ref": ["E001", "E001", "P001", "P001"],
                "kind": ["new", "new", "existing", "existing"],
                "stage": ["primary"] * 4,
                "year": [2030, 2035, 2030, 2035],
            },
            geometry=[cells.geometry.iloc[0], cells.geometry.iloc[0]]
            + [cells.geometry.iloc[1]] * 2,
            crs=4326,
        ),
        "allocations": gpd.GeoDataFrame(
            {
                "year": [2030, 2035],
                "stage": ["primary", "primary"],
                "point_id": [1, 1],
                "ref": ["E001", "E001"],
                "seats": [120.0, 130.0],
                "distance_m": [800.0, 800.0],
            },
            geometry=[
                LineString([(113.40, 22.55), (113.41, 22.56)]),
                LineString([(113.40, 22.55), (113.41, 22.56)]),
            ],
            crs=4326,
        ),
    }
    cfg = _config(_page(gap_map(r, layers=[*demo.inputs.scenario.map.layers, "allocations"])))
    years = sorted({f["properties"]["year"] for f in cfg["catchments"]["features"]})
    assert years == [2030, 2035] and len(cfg["catchments"]["features"]) == 4
    assert [a["year"] for a in cfg["allocations"]] == [2030, 2035]
    assert sorted({u["year"] for u in cfg["unserved"]}) == [2030, 2035]
    u2030 = next(u for u in cfg["unserved"] if u["year"] == 2030)
    assert "学位不足; 服务半径内无学校" in u2030["popup"] and "150" in u2030["tip"]
    assert cfg["periods"] == [2030, 2035]
    assert cfg["show"]["allocations"] is True
    none = _config(_page(gap_map(r)))  # allocation lines only when asked for
    assert none["allocations"] is None


def test_command_line_writes_the_map(fake_assets, tmp_path, capsys):
    from planner.maps.__main__ import main

    out = tmp_path / "map.html"
    assert main([str(ROOT / "data/demo/scenario.toml"), str(out), "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Seat gap" in page and external_urls(page) == []
    assert "Map approval no. (审图号): <span" in page


def test_command_line_reports_missing_assets(city, tmp_path, monkeypatch, capsys):
    from planner.maps.__main__ import main

    monkeypatch.setenv("PLANNER_ASSETS", str(tmp_path / "none"))
    # the two-unit city (conftest.py): the same path as the demo's, without its forecast
    assert main([str(city.write()), str(tmp_path / "m.html")]) == 1
    assert "reinstall" in capsys.readouterr().err


def test_the_package_ships_its_map_assets():
    from planner.maps.assets import PACKAGED, asset_dir, load_asset

    assert asset_dir() == PACKAGED
    for a in ASSETS:
        assert len(load_asset(a)) > 1000
    for lic in ("leaflet@1.9.3/LICENSE", "jquery@3.7.1/LICENSE.txt"):
        assert (PACKAGED / lic).is_file()
    assert "BSD" in (PACKAGED / "leaflet@1.9.3/LICENSE").read_text(encoding="utf-8")


def test_inline_map_frames_the_page_escaped():
    from planner.maps.inline import InlineMap

    page = '<html><body><div title="a&b">x</div><script>var s = "</div>";</script></body></html>'
    out = InlineMap(page, height=321)._repr_html_()
    assert out.startswith('<iframe srcdoc="') and out.count("<") == 2  # the frame only
    assert "height:321px" in out
    import html

    doc = out.split('srcdoc="', 1)[1].split('" style=', 1)[0]
    assert html.unescape(doc) == page


def test_planner_map_refuses_unknown_layers_and_sources(tmp_path):
    from planner.api import map_command
    from planner.errors import ExportError

    with pytest.raises(ExportError, match="did you mean 'catchments'"):
        map_command(tmp_path, state={"layers": {"catchment": True}})
    with pytest.raises(ExportError, match=r"no map\.html"):
        map_command(tmp_path, png=tmp_path / "x.png")
    with pytest.raises(ExportError, match="run folder or a scenario"):
        map_command(tmp_path / "x.csv")


def test_missing_names_fall_back_to_ids(demo):
    r = with_plan(demo)
    r.inputs = copy.copy(demo.inputs)
    r.inputs.tables = dict(demo.inputs.tables)
    sites = demo.inputs.tables["sites"].copy()
    sites["name"] = pd.NA
    r.inputs.tables["sites"] = sites
    units = demo.inputs["units"].to_crs(4326)
    r.layers = {
        "catchments": gpd.GeoDataFrame(
            {"ref": ["ZZ9"], "stage": ["primary"], "year": [2030], "kind": ["new"]},
            geometry=[units.geometry.iloc[0]],
            crs=4326,
        )
    }
    page = _page(gap_map(r))
    cfg = _config(page)
    assert "ZZ9" in cfg["catchments"]["features"][0]["properties"]["popup"]
    first = str(sites["site_id"].iloc[0])
    assert f"{first} · 教育用地" in page
