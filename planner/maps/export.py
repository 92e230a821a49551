"""Figures from the map for the plan's pages: PNG and PDF through headless Chromium (出图).

:func:`export_figure` opens a map page written by :func:`planner.maps.save_offline` in a
headless Chromium, Chrome or Edge that is already installed (driven by Playwright; no
browser is downloaded), sets the stage, year, plan and project filter, hides the
controls and saves the page as PNG and/or PDF at the paper size of ``[map.export]``.
:func:`planner.api.map_command` is ``planner map``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import ExportError

__all__ = ["ExportError", "find_browser", "export_figure", "run_export_spec", "PAPER_MM"]

#: paper sizes in millimetres (width, height) in landscape
PAPER_MM = {"A4": (297, 210), "A3": (420, 297)}
_BROWSERS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/microsoft-edge",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
)
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def find_browser(path: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium-family browser to drive.

    Parameters
    ----------
    path : path-like, optional
        Use this executable. Default: ``$PLANNER_CHROMIUM``, else the first of Debian's
        ``/usr/bin/chromium``, Chrome and Edge in their usual places (Linux, Windows,
        macOS).

    Raises
    ------
    ExportError
        None found; the message says what to install or set.
    """
    cands = [path] if path else [os.environ.get("PLANNER_CHROMIUM") or None, *_BROWSERS]
    for c in cands:
        if c and Path(c).is_file():
            return Path(c)
    for name in ("chromium", "chromium-browser", "google-chrome", "msedge"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ExportError(
        "no Chromium, Chrome or Edge found for the PNG/PDF export. Install one "
        "(Debian: apt-get install -y chromium; Windows: Edge is usually there) or set "
        "PLANNER_CHROMIUM to its executable."
    )


def _page_px(paper: str, orientation: str) -> tuple[int, int]:
    w, h = PAPER_MM[paper]
    if orientation == "portrait":
        w, h = h, w
    return round(w / 25.4 * 96), round(h / 25.4 * 96)


def export_figure(
    html: str | os.PathLike[str],
    *,
    png: str | os.PathLike[str] | None = None,
    pdf: str | os.PathLike[str] | None = None,
    state: Mapping[str, Any] | None = None,
    paper: str = "A4",
    orientation: str = "landscape",
    scale: float = 2.0,
    browser: str | os.PathLike[str] | None = None,
    timeout_s: float = 60.0,
) -> list[Path]:
    """Save a map page as PNG and/or PDF, without its controls.

    Parameters
    ----------
    html : path-like
        A map page (``map.html`` of a run).
    png, pdf : path-like, optional
        Files to write (at least one).
    state : mapping, optional
        What the map shows: ``stage``, ``year``, ``plan`` (``before`` / ``after``),
        ``pyear`` (projects' opening year, or ``2026-2030``), ``pstage``, ``layers``
        (``{name: bool}``); see ``window.plannerMapApi.setState``.
    paper, orientation : str
        Page size (``A4`` / ``A3``, ``landscape`` / ``portrait``); the PNG has its
        proportions.
    scale : float
        PNG pixels per CSS pixel.
    browser : path-like, optional
        The browser executable (:func:`find_browser`).
    timeout_s : float
        How long to wait for the page and the basemap's tiles.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ExportError
        Nothing to write, no browser or Playwright, or the page did not load.
    """
    if png is None and pdf is None:
        raise ExportError("give a PNG and/or a PDF file to write")
    if paper not in PAPER_MM:
        raise ExportError(f"paper must be one of {sorted(PAPER_MM)}, not {paper!r}")
    page_path = Path(html).resolve()
    if not page_path.is_file():
        raise ExportError(f"{html}: no such map page")
    exe = find_browser(browser)
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ExportError(
            "the PNG/PDF export needs Playwright: pip install 'school-seat-planner[export]' "
            "(it drives the installed browser; `playwright install` is not needed)"
        ) from None
    width, height = _page_px(paper, orientation)
    written: list[Path] = []
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(exe), args=_ARGS)
            try:
                ctx = b.new_context(
                    viewport={"width": width, "height": height}, device_scale_factor=scale
                )
                page = ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(page_path.as_uri(), timeout=timeout_s * 1000)
                page.wait_for_function(
                    "window.plannerMapApi && window.plannerMapApi.ready",
                    timeout=timeout_s * 1000,
                )
                page.evaluate("document.body.classList.add('pl-export')")
                if state:
                    page.evaluate(f"plannerMapApi.setState({json.dumps(dict(state))})")
                page.wait_for_timeout(600)  # tiles and the last redraw
                if errors:
                    raise ExportError(f"{html}: the map page failed: {errors[0]}")
                if png is not None:
                    out = Path(png)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(out))
                    written.append(out)
                if pdf is not None:
                    out = Path(pdf)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    page.emulate_media(media="screen")
                    w_mm, h_mm = PAPER_MM[paper]
                    if orientation == "portrait":
                        w_mm, h_mm = h_mm, w_mm
                    page.pdf(
                        path=str(out),
                        width=f"{w_mm}mm",
                        height=f"{h_mm}mm",
                        print_background=True,
                        margin={"top": "0", "bottom": "0", "left": "0", "right": "0"},
                    )
                    written.append(out)
            finally:
                b.close()
    except PlaywrightError as e:
        raise ExportError(f"the browser ({exe}) failed: {str(e).splitlines()[0]}") from None
    return written


def run_export_spec(folder: Path) -> dict[str, Any]:
    """The ``[map.export]`` page set-up a run folder's manifest recorded ({} if none)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return dict(manifest.get("scenario", {}).get("map", {}).get("export", {}))
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `planner map`")
