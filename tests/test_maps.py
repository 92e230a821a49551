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
from hostile import HOSTILE, hostile_result
from shapely.geometry import Point

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
    school_table,
    siting_layers,
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


def test_missing_cache_tells_to_run_make_assets(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_ASSETS", str(tmp_path / "nothing"))
    with pytest.raises(AssetError, match="make assets"):
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


def _layer_names(m: folium.Map) -> tuple[list[str], list[str]]:
    base, over = [], []
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup):
            (over if child.overlay else base).append(child.layer_name)
    return base, over


def test_gap_map_layers_in_chinese_and_english(demo):
    years = demo.milestone_years()
    sc = demo.inputs.scenario
    assert years[:2] == [sc.base_year, sc.base_year + 5]
    base, over = _layer_names(gap_map(demo))
    assert base == [f"{s}学位缺口 {y}年" for s in ("小学", "初中") for y in years]
    assert over == [
        "大班额 / 大校额学校",
        "现状学校（按利用率着色）",
        "在建 / 规划学校",
        "教育用地（候选地块）",
    ]
    base_en, over_en = _layer_names(gap_map(demo, lang="en", years=[2030], stages=["junior"]))
    assert base_en == ["Seat gap, junior secondary, 2030"]
    assert "Existing schools (by utilisation)" in over_en


def test_gap_map_popups_carry_the_planners_numbers(demo):
    page = gap_map(demo).get_root().render()
    n = demo.tables["needs"]
    row = n[(n["stage"] == "primary") & (n["year"] == 2025)].iloc[0]
    assert f"{row['name']}（{row['unit_id']}）" in page
    for label in ("需求学位", "现有学位", "学位缺口", "富余学位", "千人学位数", "利用率", "大班额"):
        assert label in page
    assert f"{int(row['required_seats']):,}" in page
    assert '审图号：<span class="pl-approval"></span>' in page  # empty by default
    page = gap_map(demo, approval_no="粤S(2025)001号").get_root().render()
    assert "粤S(2025)001号" in page


def test_gap_map_counts(demo):
    page = gap_map(demo).get_root().render()
    schools = school_table(demo)
    assert len(re.findall(r'"className": "pl-school pl-school-\d+"', page)) == len(schools)
    # 20 units × 2 stages × 3 years
    n_units = len(demo.inputs["units"])
    assert len(re.findall(r'"className": "pl-unit ', page)) == n_units * 6


def test_gap_map_escapes_hostile_names(demo):
    page = gap_map(hostile_result(demo), source_note=HOSTILE[2]).get_root().render()
    for s in HOSTILE:
        if s not in ("&lt;b&gt; &amp; &",):
            assert s not in page, s
        assert safe_text(s) in page
    assert "alert(1)</script>" not in page


def test_gap_map_refuses_bad_arguments(demo):
    with pytest.raises(MapError, match="lang"):
        gap_map(demo, lang="fr")
    with pytest.raises(MapError, match="1999"):
        gap_map(demo, years=[1999])
    with pytest.raises(MapError, match="stage"):
        gap_map(demo, stages=["senior"])
    with pytest.raises(MapError, match="attribution"):
        gap_map(demo, tiles={"url": "https://t.example.com/{z}/{x}/{y}.png"})
    with pytest.raises(MapError, match="url"):
        gap_map(demo, tiles={"url": "t/{z}", "attribution": "x"})
    with pytest.raises(MapError, match="unknown"):
        gap_map(demo, tiles={"url": "https://t/{z}/{x}/{y}", "attribution": "x", "zoom": 3})


def _first_coordinate(page: str) -> tuple[float, float]:
    m = re.search(r'"coordinates": \[\[\[([\d.]+), ([\d.]+)\]', page)
    return float(m.group(1)), float(m.group(2))


def test_gcj02_tiles_shift_the_vectors_and_need_allow_tiles(demo, fake_assets, tmp_path):
    amap = {
        "url": "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
        "attribution": "© 高德地图 <a>",
        "subdomains": "1234",
        "gcj02": True,
    }
    plain = gap_map(demo).get_root().render()
    shifted = gap_map(demo, tiles=amap)
    page = shifted.get_root().render()
    (x0, y0), (x1, y1) = _first_coordinate(plain), _first_coordinate(page)
    dist_m = math.hypot((x1 - x0) * 102_800, (y1 - y0) * 110_800)
    assert 300 < dist_m < 900  # the GCJ-02 offset in Guangdong
    assert "© 高德地图 &lt;a&gt;" in page  # attribution is plain text
    assert "GCJ-02" in page
    with pytest.raises(AssetError, match="autonavi"):
        render_offline(shifted)
    out = render_offline(shifted, allow_tiles=True)
    assert external_urls(out, allow=["https://webrd0"]) == []


def test_siting_hooks_are_drawn_when_given(demo):
    units = demo.inputs["units"]
    pts = units.geometry.representative_point()
    proposed = gpd.GeoDataFrame(
        {
            "name": ["新建一小", HOSTILE[0]],
            "kind": ["new", "expansion"],
            "school_type": ["primary", "junior"],
            "year": [2028, 2030],
            "seats": [1350, 300],
        },
        geometry=list(pts[:2]),
        crs=4326,
    )
    catchments = gpd.GeoDataFrame(
        {"name": ["新建一小"], "stage": ["primary"]}, geometry=[units.geometry.iloc[0]], crs=4326
    )
    unserved = gpd.GeoDataFrame(
        {"unit_id": ["U01"], "stage": ["primary"], "year": [2030], "seats": [420.0]},
        geometry=[Point(pts.iloc[0].x, pts.iloc[0].y)],
        crs=4326,
    )
    m = gap_map(
        demo,
        proposed=proposed,
        catchments=catchments,
        unserved=unserved,
        service_radius_m={"primary": 1000, "junior": 2000},
    )
    page = m.get_root().render()
    _, over = _layer_names(m)
    for name in ("规划项目（新建 / 扩建）", "服务半径", "服务范围（学区）", "未满足的学位需求"):
        assert name in over
    assert page.count('"className": "pl-radius"') == 2
    assert '"radius": 2000.0' in page
    assert "pl-proposed pl-proposed-new" in page and "pl-proposed-expansion" in page
    assert '"className": "pl-unserved"' in page and '"className": "pl-catchment"' in page
    assert HOSTILE[0] not in page
    assert "新建学校（规划项目）" in page  # legend entry
    assert "规划项目" not in render_layers(gap_map(demo))


def render_layers(m: folium.Map) -> str:
    base, over = _layer_names(m)
    return " ".join(base + over)


def test_siting_layers_from_run_tables(demo):
    r = copy.copy(demo)
    r.tables = dict(demo.tables)
    r.layers = {}
    r.tables["projects"] = pd.DataFrame(
        {
            "kind": ["new"],
            "name": ["新建学校"],
            "unit_id": ["U01"],
            "school_type": ["primary"],
            "year": [2028],
            "seats": [1350],
            "cost": [9e7],
            "lon": [113.39],
            "lat": [22.55],
        }
    )
    r.tables["unserved"] = pd.DataFrame(
        {
            "unit_id": ["U02", "U02", "U03"],
            "stage": ["primary"] * 3,
            "year": [2040, 2040, 2030],
            "reason": ["capacity", "nothing within reach", "capacity"],
            "seats": [100.0, 50.0, 7.0],
        }
    )
    layers = siting_layers(r)
    assert set(layers) == {"proposed", "unserved"}
    assert layers["proposed"].geometry.iloc[0].x == pytest.approx(113.39)
    u = layers["unserved"]
    assert len(u) == 1 and u["seats"].iloc[0] == 150.0 and u["year"].iloc[0] == 2040
    assert u["reason"].iloc[0] == "capacity; nothing within reach"
    page = gap_map(r, **layers).get_root().render()
    assert "学位不足; 服务半径内无学校" in page


def test_command_line_writes_the_map(fake_assets, tmp_path, capsys):
    from planner.maps.__main__ import main

    out = tmp_path / "map.html"
    assert main([str(ROOT / "data/demo/scenario.toml"), str(out), "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Seat gap, primary, 2025" in page and external_urls(page) == []
    assert "Map approval no. (审图号): <span" in page


def test_command_line_reports_missing_assets(tmp_path, monkeypatch, capsys):
    from planner.maps.__main__ import main

    monkeypatch.setenv("PLANNER_ASSETS", str(tmp_path / "none"))
    assert main([str(ROOT / "data/demo/scenario.toml"), str(tmp_path / "m.html")]) == 1
    assert "make assets" in capsys.readouterr().err


def test_inline_map_frames_the_page_escaped():
    from planner.maps.inline import InlineMap

    page = '<html><body><div title="a&b">x</div><script>var s = "</div>";</script></body></html>'
    out = InlineMap(page, height=321)._repr_html_()
    assert out.startswith('<iframe srcdoc="') and out.count("<") == 2  # the frame only
    assert "height:321px" in out
    import html

    doc = out.split('srcdoc="', 1)[1].split('" style=', 1)[0]
    assert html.unescape(doc) == page
