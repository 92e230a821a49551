"""The offline demo map in a real browser (Playwright driving Debian's Chromium).

Run by ``make test``. Outside CI the tests skip when /usr/bin/chromium (or the
``playwright`` package) is missing; with CI set they always run. Never run
``playwright install``: the system Chromium is used. Needs the asset cache
(``make assets``). Set PLANNER_MAP_SCREENSHOT=path.png to keep the demo screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hostile import HOSTILE, hostile_result, with_plan

from planner.maps import gap_map, safe_text, save_offline, school_table

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

if not IN_CI and not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install -y chromium); browser tests skipped outside CI",
        allow_module_level=True,
    )
if IN_CI:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright
else:
    _pw = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    sync_playwright = _pw.sync_playwright
    PlaywrightTimeoutError = _pw.TimeoutError


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(demo_result):
    return demo_result


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_html(demo, tmp_path_factory):
    return save_offline(gap_map(demo), tmp_path_factory.mktemp("map") / "demo_map.html")


@pytest.fixture(scope="module")
def plan_html(demo, tmp_path_factory):
    return save_offline(gap_map(with_plan(demo)), tmp_path_factory.mktemp("map") / "plan.html")


@pytest.fixture(scope="module")
def hostile_html(demo, tmp_path_factory):
    m = gap_map(
        hostile_result(demo),
        source_note=HOSTILE[2] + HOSTILE[4],
        approval_no=HOSTILE[1],
    )
    return save_offline(m, tmp_path_factory.mktemp("map") / "hostile_map.html")


def _keep(shot: Path, name: str) -> None:
    """Copy a screenshot to $PLANNER_SHOTS_DIR (for people to look at)."""
    folder = os.environ.get("PLANNER_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / name)


class Watch:
    """Everything a page did that a self-contained, inert map must not do."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

        def on_dialog(d):
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", on_dialog)

    def external(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


def _open(browser, path: Path, hash_: str = "", viewport=(1400, 900)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    watch = Watch(page)
    page.goto(path.resolve().as_uri() + (f"#{hash_}" if hash_ else ""))
    page.wait_for_function("window.plannerMapApi && window.plannerMapApi.ready")
    page.wait_for_selector("path.pl-unit", state="attached")
    return page, watch


def _state(page) -> dict:
    return page.evaluate("plannerMapApi.getState()")


def _click_school(page, k: int) -> str:
    """Click school circle ``k`` (raised to the top first); return the popup text."""
    el = page.locator(f"path.pl-school-{k}")
    el.evaluate("e => e.parentNode.appendChild(e)")
    el.hover()
    tip = page.locator(".leaflet-tooltip").last.inner_text()
    el.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert popup.locator("img, script, svg, iframe").count() == 0
    _close_popup(page)
    return tip + "\n" + text


def _close_popup(page) -> None:
    """Close the open popup; retry when a click lands during Leaflet's zoom animation."""
    for attempt in range(3):
        page.locator(".leaflet-popup-close-button").click()
        try:
            page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise


def _click_unit(page, selector: str) -> str:
    el = page.locator(selector).first
    box = el.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    el.dispatch_event("click", {"clientX": x, "clientY": y, "bubbles": True})
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert popup.locator("img, script, svg, iframe").count() == 0
    _close_popup(page)
    return text


def _visible(page, selector: str) -> int:
    """How many elements matching ``selector`` are displayed."""
    return page.evaluate(
        "s => Array.from(document.querySelectorAll(s))"
        ".filter(e => e.offsetParent !== null && getComputedStyle(e).display !== 'none').length",
        selector,
    )


# ---------------------------------------------------------------- tests


def test_demo_map_renders_offline(browser, demo, demo_html, tmp_path):
    page, watch = _open(browser, demo_html)
    n_units = len(demo.inputs["units"])
    schools = school_table(demo)
    assert page.locator("path.pl-unit").count() == n_units
    assert page.locator("path.pl-unit[data-stage=primary][data-year='2030']").count() == n_units
    assert page.locator("path.pl-school").count() == len(schools)
    flags = int(schools["oversized_class"].sum() + schools["oversized_school"].sum())
    assert page.locator("path.pl-flag").count() == flags
    planned = (demo.inputs["schools"]["status"] != "existing").sum()
    assert page.locator("path.pl-planned").count() == planned
    assert page.locator("path.pl-site").count() == len(demo.inputs["sites"])
    years = page.locator("#pl-year option").all_inner_texts()
    sc = demo.inputs.scenario
    assert years == [f"{y}年" for y in range(sc.base_year, sc.horizon + 1)]
    assert page.locator(".pl-legend").is_visible() and page.locator(".pl-north").is_visible()
    scale = page.locator(".leaflet-control-scale").inner_text()
    assert page.locator(".leaflet-control-scale-line").count() == 1  # metric only
    assert "km" in scale or " m" in scale
    assert page.locator(".leaflet-control-attribution").count() == 0  # no prefix, no flag
    assert "审图号" in page.locator(".pl-footer").inner_text()
    legend = page.locator(".pl-legend").inner_text()
    assert "小学学位缺口 2030年" in legend and "个" in legend and "座" not in legend
    # each unit's colour is its class on the shared scale
    scale_cfg = page.evaluate("PLANNER_MAP_CONFIG.scale")
    classes = page.evaluate(
        "Array.from(document.querySelectorAll('path.pl-unit')).map(p => "
        "[p.getAttribute('data-class'), p.getAttribute('fill')])"
    )
    for k, fill in classes:
        if k.startswith("g"):
            assert fill == scale_cfg["gapColors"][int(k[1:])]
        elif k.startswith("s"):
            assert fill == scale_cfg["surColors"][int(k[1:])]

    shot = tmp_path / "demo_map.png"
    page.screenshot(path=str(shot))
    keep = os.environ.get("PLANNER_MAP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    _keep(shot, "demo_map.png")
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    assert len(img.getcolors(1 << 20)) > 200  # not a blank page
    page.wait_for_timeout(300)
    assert watch.errors == []
    assert watch.external() == [], watch.external()
    assert watch.dialogs == []
    page.close()


def test_gap_layer_by_stage_year_and_plan_and_popups(browser, demo, plan_html, tmp_path):
    page, watch = _open(browser, plan_html)
    n_units = len(demo.inputs["units"])
    page.select_option("#pl-stage", "junior")
    page.select_option("#pl-year", "2035")
    assert _state(page)["stage"] == "junior" and _state(page)["year"] == 2035
    sel = "path.pl-unit[data-stage=junior][data-year='2035'][data-plan=before]"
    assert page.locator(sel).count() == n_units
    needs = demo.tables["needs"]
    uid = page.locator(sel).first.get_attribute("data-unit")
    row = needs[(needs["stage"] == "junior") & (needs["year"] == 2035) & (needs["unit_id"] == uid)]
    text = _click_unit(page, sel)
    assert f"{row['name'].iloc[0]}（{uid}）" in text
    for label in ("学位缺口", "需求学位", "现有学位", "千人学位数", "规划实施后学位缺口"):
        assert label in text
    assert f"{int(row['required_seats'].iloc[0]):,}" in text
    page.check("input[name=pl-plan][value=after]")
    assert page.locator("path.pl-unit[data-plan=after]").count() == n_units
    assert "规划实施后" in page.locator(".pl-legend").inner_text()
    # the address carries a state too (map.html#stage=…&year=…&plan=…)
    page2, _ = _open(browser, plan_html, "stage=junior&year=2040&plan=after")
    assert _state(page2)["year"] == 2040 and _state(page2)["plan"] == "after"
    shot = tmp_path / "after.png"
    page2.screenshot(path=str(shot))
    _keep(shot, "plan_junior_2040_after.png")
    page2.close()
    s = school_table(demo).iloc[0]
    text = _click_school(page, 0)
    assert s["name"] in text and "利用率" in text and str(s["school_id"]) in text
    assert watch.errors == [] and watch.dialogs == [] and watch.external() == []
    page.close()


def test_permanent_labels_show_by_zoom(browser, demo, demo_html, tmp_path):
    page, watch = _open(browser, demo_html)
    n_units = len(demo.inputs["units"])
    zoom = page.evaluate("plannerMap.getZoom()")
    spec = demo.inputs.scenario.map.label_zoom
    assert spec.units <= zoom < spec.schools
    assert _visible(page, ".pl-label-unit span") == n_units
    names = set(page.locator(".pl-label-unit span").all_inner_texts())
    assert names == set(demo.inputs["units"]["name"])
    assert _visible(page, ".pl-label-school span") == 0
    s = school_table(demo).iloc[0]
    page.evaluate(
        f"plannerMap.setView([{s.geometry.y}, {s.geometry.x}], {spec.schools}, {{animate: false}})"
    )
    page.wait_for_timeout(300)
    assert _visible(page, ".pl-label-school span") > 0
    shot = tmp_path / "labels.png"
    page.screenshot(path=str(shot))
    _keep(shot, "labels_zoom14.png")
    page.evaluate(f"plannerMap.setZoom({spec.units - 1}, {{animate: false}})")
    page.wait_for_timeout(300)
    assert _visible(page, ".pl-label-unit span") == 0
    assert watch.errors == []
    page.close()


def test_projects_filter_by_opening_year_and_stage(browser, demo, plan_html, tmp_path):
    page, watch = _open(browser, plan_html)
    plan = with_plan(demo).tables["projects"]
    assert page.locator(".pl-proposed").count() == len(plan)
    labels = page.locator(".pl-label-project").all_inner_texts()
    assert labels == [f"{n} · {y}年" for n, y in zip(plan["name"], plan["year"], strict=True)]
    page.select_option("#pl-pyear", "2026")
    assert page.locator(".pl-proposed").count() == 1
    assert "2026年" in page.locator(".pl-label-project").inner_text()
    n_radii = page.locator("path.pl-radius").count()
    assert n_radii == 1  # the 2026 primary school: one radius
    page.select_option("#pl-pyear", "2026-2030")
    assert page.locator(".pl-proposed").count() == 2
    assert page.locator("path.pl-radius").count() == 3  # + the nine-year school's two
    page.select_option("#pl-pstage", "junior")
    assert page.locator(".pl-proposed").count() == 1
    page.uncheck("input[data-layer=radii]")
    assert page.locator("path.pl-radius").count() == 0
    page.select_option("#pl-pstage", "all")
    page.select_option("#pl-pyear", "all")
    page.locator(".pl-proposed").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "投用年份" in popup.inner_text() and "2026" in popup.inner_text()
    assert "2,026" not in page.content()
    shot = tmp_path / "projects.png"
    page.screenshot(path=str(shot))
    _keep(shot, "projects_filter.png")
    assert watch.errors == [] and watch.external() == []
    page.close()


def test_local_tile_folder_basemap(browser, demo, tmp_path):
    from PIL import Image

    from planner.maps.basemap import tile_range

    bounds = tuple(demo.inputs["units"].to_crs(4326).total_bounds)
    colour = (180, 210, 240)
    for z in (10, 11, 12):
        x0, x1, y0, y1 = tile_range(bounds, z)
        for x in range(x0 - 1, x1 + 2):
            for y in range(y0 - 1, y1 + 2):
                p = tmp_path / "tiles" / str(z) / str(x) / f"{y}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (256, 256), colour).save(p)
    spec = {"kind": "local", "path": str(tmp_path / "tiles"), "min_zoom": 10, "max_zoom": 12}
    html = save_offline(gap_map(demo, basemap=spec), tmp_path / "tiles_map.html")
    page, watch = _open(browser, html)
    assert page.locator("img.leaflet-tile").count() > 0
    srcs = page.evaluate(
        "Array.from(document.querySelectorAll('img.leaflet-tile')).map(i => i.src.slice(0, 22))"
    )
    assert all(s.startswith("data:image/") for s in srcs)  # embedded, or blank outside
    assert sum(s.startswith("data:image/png;base64,") for s in srcs) > 0
    # Leaflet fades each tile in after it loads: the screenshot waits for the page to
    # finish (every tile loaded and opaque), not for a length of time
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('img.leaflet-tile')).every(
             i => i.complete && i.classList.contains('leaflet-tile-loaded')
                  && (i.style.opacity === '' || Number(i.style.opacity) >= 1))"""
    )
    shot = tmp_path / "tiles.png"
    page.screenshot(path=str(shot))
    _keep(shot, "local_tiles_basemap.png")
    img = Image.open(shot).convert("RGB")
    # a point outside the city, inside the tiles: the basemap's colour, not the grey page

    def near(xy):
        return all(abs(a - b) <= 3 for a, b in zip(img.getpixel(xy), colour, strict=True))

    assert near((700, 120))
    assert "底图：tiles" in page.locator(".pl-footer").inner_text()
    assert watch.errors == [] and watch.external() == []
    page.close()


def test_png_and_pdf_export_with_planner_map(demo, plan_html, tmp_path):
    """``planner map RUN --png --pdf`` (a separate process: Playwright's sync API does not
    nest inside this module's browser)."""
    import subprocess
    import sys

    from PIL import Image

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(plan_html, run / "map.html")
    png, pdf = tmp_path / "maps" / "fig.png", tmp_path / "maps" / "fig.pdf"
    args = ["map", str(run), "--png", str(png), "--pdf", str(pdf), "--stage", "junior"]
    args += ["--year", "2030", "--after", "--projects", "2026-2030", "--hide", "radii"]
    env = {**os.environ, "PLANNER_CHROMIUM": str(CHROMIUM)}
    out = subprocess.run(
        [sys.executable, "-m", "planner", *args], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert str(png) in out.stdout and str(pdf) in out.stdout
    img = Image.open(png).convert("RGB")
    assert img.size == (1123 * 2, 794 * 2)  # A4 landscape at 2× (about 190 dpi)
    assert len(img.getcolors(1 << 20)) > 200
    # no controls in the figure: the panel's white box is gone from the top right
    top_right = img.crop((img.size[0] - 300, 60, img.size[0] - 20, 400)).getcolors(1 << 20)
    assert max(top_right)[1] != (255, 255, 255)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    _keep(png, "export_junior_2030_after.png")


def test_hostile_names_show_literally_and_never_run(browser, hostile_html):
    page, watch = _open(browser, hostile_html)
    for k, name in enumerate(HOSTILE):
        text = _click_school(page, k)
        assert name in text, (k, name, text)
    assert "49" not in _click_school(page, 4)
    text = _click_unit(
        page, f"path.pl-unit[data-unit='{page.evaluate('PLANNER_MAP_CONFIG.units.ids[0]')}']"
    )
    assert HOSTILE[0] in text
    assert HOSTILE[0] in page.locator(".pl-label-unit span").all_inner_texts()
    footer = page.locator(".pl-footer").inner_text()
    assert HOSTILE[2] + HOSTILE[4] in footer and HOSTILE[1] in footer
    assert page.title() == safe_text(page.title())  # plain text title
    page.wait_for_timeout(500)
    assert watch.dialogs == []
    assert watch.errors == []
    assert watch.external() == []
    assert page.evaluate("document.querySelectorAll('img[src=x], svg[onload]').length") == 0
    page.close()


def test_compare_page_shows_both_maps_and_pans_them_together(
    browser, demo_html, hostile_html, tmp_path
):
    from planner.maps.classify import gap_scale
    from planner.maps.compare import side_by_side

    shared = gap_scale([-5000, -10, 0, 12, 900, 7000])
    page_html = side_by_side(
        demo_html.read_text(encoding="utf-8"),
        hostile_html.read_text(encoding="utf-8"),
        name_a="基准 baseline",
        name_b=HOSTILE[0] + HOSTILE[2],
        norms_a="guangdong：千人学位数 小学 80 / 初中 40 个",
        norms_b=HOSTILE[1],
        scale=shared,
    )
    path = tmp_path / "compare_map.html"
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1600, "height": 800})
    watch = Watch(page)
    page.goto(path.resolve().as_uri())
    frames = [page.frame_locator("#planner-map-a"), page.frame_locator("#planner-map-b")]
    for f in frames:
        f.locator("path.pl-unit").first.wait_for(state="attached")
    a, b = (fr for fr in page.frames if fr.parent_frame is not None)
    assert a.evaluate("typeof plannerMap") == "object" == b.evaluate("typeof plannerMap")

    def view(fr):
        return fr.evaluate(
            "[plannerMap.getCenter().lat, plannerMap.getCenter().lng, plannerMap.getZoom()]"
        )

    lat, lng, zoom = view(a)
    a.evaluate(f"plannerMap.setView([{lat + 0.01}, {lng - 0.02}], {zoom + 2}, {{animate: false}})")
    page.wait_for_function(
        "z => document.querySelector('#planner-map-b').contentWindow.plannerMap.getZoom() === z",
        arg=zoom + 2,
    )
    vb = view(b)
    assert vb[2] == zoom + 2
    assert abs(vb[0] - (lat + 0.01)) < 1e-6 and abs(vb[1] - (lng - 0.02)) < 1e-6
    # B moved by A does not bounce back: A keeps its own view
    page.wait_for_timeout(300)
    assert view(a)[2] == zoom + 2
    # moving B moves A too
    b.evaluate("plannerMap.setZoom(plannerMap.getZoom() - 1, {animate: false})")
    page.wait_for_function(
        "z => document.querySelector('#planner-map-a').contentWindow.plannerMap.getZoom() === z",
        arg=zoom + 1,
    )
    # unchecked: the maps move on their own
    page.locator("#planner-sync").uncheck()
    a.evaluate("plannerMap.setZoom(plannerMap.getZoom() - 1, {animate: false})")
    page.wait_for_timeout(400)
    assert view(a)[2] == zoom and view(b)[2] == zoom + 1
    heads = page.locator("h2").all_inner_texts()
    assert HOSTILE[0] + HOSTILE[2] in heads[1] and HOSTILE[1] in heads[1]
    assert "小学 80 / 初中 40" in heads[0]
    # one scale on both sides
    for fr in (a, b):
        assert fr.evaluate("window.PLANNER_SCALE_OVERRIDE") == dict(shared)
    # the layer choice follows too (with sync on)
    page.locator("#planner-sync").check()
    a.evaluate("plannerMapApi.setState({stage: 'junior', year: 2035, plan: 'before'})")
    page.wait_for_function(
        "() => { var s = document.querySelector('#planner-map-b').contentWindow"
        ".plannerMapApi.getState(); return s.stage === 'junior' && s.year === 2035; }"
    )
    assert watch.errors == [] and watch.dialogs == [] and watch.external() == []
    page.close()
