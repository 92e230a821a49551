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
from hostile import HOSTILE, hostile_result

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
def hostile_html(demo, tmp_path_factory):
    m = gap_map(
        hostile_result(demo),
        source_note=HOSTILE[2] + HOSTILE[4],
        approval_no=HOSTILE[1],
    )
    return save_offline(m, tmp_path_factory.mktemp("map") / "hostile_map.html")


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


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page)
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("path.pl-unit", state="attached")
    page.wait_for_selector(".legend svg")
    return page, watch


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


# ---------------------------------------------------------------- tests


def test_demo_map_renders_offline(browser, demo, demo_html, tmp_path):
    page, watch = _open(browser, demo_html)
    n_units = len(demo.inputs["units"])
    schools = school_table(demo)
    assert page.locator("path.pl-unit").count() == n_units  # one gap layer shown
    assert page.locator("path.pl-unit-primary-2025").count() == n_units
    assert page.locator("path.pl-school").count() == len(schools)
    flags = int(schools["oversized_class"].sum() + schools["oversized_school"].sum())
    assert page.locator("path.pl-flag").count() == flags
    planned = (demo.inputs["schools"]["status"] != "existing").sum()
    assert page.locator("path.pl-planned").count() == planned
    assert page.locator("path.pl-site").count() == len(demo.inputs["sites"])
    labels = page.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [t.strip() for t in labels] == [
        f"{s}学位缺口 {y}年" for s in ("小学", "初中") for y in demo.milestone_years()
    ]
    assert page.locator(".leaflet-control-layers-overlays label").count() == 4
    assert page.locator(".legend svg").count() == 2
    assert page.locator(".pl-legend").is_visible()
    assert page.locator(".leaflet-control-scale").is_visible()
    assert "审图号" in page.locator(".pl-footer").inner_text()

    shot = tmp_path / "demo_map.png"
    page.screenshot(path=str(shot))
    keep = os.environ.get("PLANNER_MAP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    assert len(img.getcolors(1 << 20)) > 200  # not a blank page
    page.wait_for_timeout(300)
    assert watch.errors == []
    assert watch.external() == [], watch.external()
    assert watch.dialogs == []
    page.close()


def test_layers_switch_and_popups_open_on_click(browser, demo, demo_html):
    page, watch = _open(browser, demo_html)
    n_units = len(demo.inputs["units"])
    page.get_by_text("初中学位缺口 2035年").click()
    page.wait_for_selector("path.pl-unit-junior-2035", state="attached")
    assert page.locator("path.pl-unit-junior-2035").count() == n_units
    assert page.locator("path.pl-unit-primary-2025").count() == 0

    needs = demo.tables["needs"]
    row = needs[(needs["stage"] == "junior") & (needs["year"] == 2035)].iloc[0]
    text = _click_unit(page, f"path.pl-unit-junior-2035 >> nth={0}")
    assert f"{row['name']}（{row['unit_id']}）" in text
    for label in ("学位缺口", "需求学位", "现有学位", "千人学位数"):
        assert label in text
    assert f"{int(row['required_seats']):,}" in text

    s = school_table(demo).iloc[0]
    text = _click_school(page, 0)
    assert s["name"] in text and "利用率" in text and str(s["school_id"]) in text
    assert watch.errors == [] and watch.dialogs == [] and watch.external() == []
    page.close()


def test_hostile_names_show_literally_and_never_run(browser, hostile_html):
    page, watch = _open(browser, hostile_html)
    for k, name in enumerate(HOSTILE):
        text = _click_school(page, k)
        assert name in text, (k, name, text)
    assert "49" not in _click_school(page, 4)
    text = _click_unit(page, "path.pl-unit")
    assert HOSTILE[0] in text
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
    from planner.maps.compare import side_by_side

    page_html = side_by_side(
        demo_html.read_text(encoding="utf-8"),
        hostile_html.read_text(encoding="utf-8"),
        name_a="基准 baseline",
        name_b=HOSTILE[0] + HOSTILE[2],
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
    assert heads[1].endswith(HOSTILE[0] + HOSTILE[2])
    assert watch.errors == [] and watch.dialogs == [] and watch.external() == []
    page.close()
