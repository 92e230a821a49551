"""Figures from the map for the plan's pages: PNG and PDF through headless Chromium (出图).

:func:`export_figure` opens a map page written by :func:`planner.maps.save_offline` in a
headless Chromium, Chrome or Edge that is already installed (driven by Playwright; no
browser is downloaded), sets the stage, year, plan and project filter, hides the
controls and saves the page as PNG and/or PDF at the paper size of ``[map.export]``.
:func:`map_command` is ``planner map``.
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

__all__ = ["ExportError", "find_browser", "export_figure", "map_command", "PAPER_MM"]

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


def _run_spec(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return dict(manifest.get("scenario", {}).get("map", {}).get("export", {}))
    except (OSError, ValueError):
        return {}


def map_command(
    source: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    png: str | os.PathLike[str] | None = None,
    pdf: str | os.PathLike[str] | None = None,
    state: Mapping[str, Any] | None = None,
    lang: str | None = None,
    siting: bool = False,
) -> list[Path]:
    """``planner map``: the map of a run folder or a scenario, as HTML, PNG and/or PDF.

    Parameters
    ----------
    source : path-like
        A ``planner run`` output folder (its ``map.html`` is used) or a scenario
        ``.toml`` (computed here, without siting unless ``siting``).
    out : path-like, optional
        HTML file to write (default for a scenario: ``maps/<scenario>_map.html``; for a
        run folder the page is only copied when given).
    png, pdf : path-like, optional
        Figures to export (:func:`export_figure`, page set-up from ``[map.export]``).
    state : mapping, optional
        What the figures show (stage, year, plan, project filter).
    lang : str, optional
        Language of a map computed from a scenario.
    siting : bool
        Plan new schools first when ``source`` is a scenario (takes minutes).
    """
    from planner.errors import closest
    from planner.scenario import MAP_LAYERS, ExportSpec

    for name in (state or {}).get("layers", {}) or {}:
        if name not in MAP_LAYERS:
            hint = closest(name, MAP_LAYERS)
            raise ExportError(
                f"unknown map layer '{name}'"
                + (f"; did you mean '{hint}'?" if hint else "")
                + f" Valid: {', '.join(MAP_LAYERS)}"
            )
    src = Path(source)
    written: list[Path] = []
    if src.is_dir():
        page = src / "map.html"
        if not page.is_file():
            raise ExportError(
                f"{src}: no map.html in this folder; give the --out folder of a `planner run`"
            )
        spec = {**ExportSpec().model_dump(), **_run_spec(src)}
        if out is not None:
            target = Path(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page, target)
            files = src / "map_files"  # local basemap tiles the page refers to
            if files.is_dir():
                shutil.copytree(files, target.parent / "map_files", dirs_exist_ok=True)
            written.append(target)
    elif src.suffix.lower() == ".toml":
        from planner.api import run
        from planner.io.scenario import read_scenario
        from planner.maps.gap import gap_map
        from planner.maps.offline import save_offline

        sc = read_scenario(src)
        result = run(sc, siting=siting and sc.inputs.sites is not None)
        target = Path(out) if out is not None else Path("maps") / f"{src.stem}_map.html"
        page = save_offline(gap_map(result, lang=lang), target)
        written.append(page)
        spec = sc.map.export.model_dump()
    else:
        raise ExportError(f"{src}: give a run folder or a scenario .toml file")
    if png is not None or pdf is not None:
        written += export_figure(
            page,
            png=png,
            pdf=pdf,
            state=state,
            paper=spec["paper"],
            orientation=spec["orientation"],
            scale=float(spec["scale"]),
        )
    return written


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `planner map`")
