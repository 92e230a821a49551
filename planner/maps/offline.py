"""Self-contained map pages that open from a file with no network (离线地图).

:func:`offline_map` makes a :class:`folium.Map` that references only the assets the
planner ships offline (Leaflet, jQuery for folium's popups, d3 for branca legends), not
folium's default Bootstrap / Font Awesome / awesome-markers set. :func:`save_offline`
renders a map, inlines every known asset from the cache and refuses to write a page that
would still fetch anything from the network.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium

from planner.maps.assets import (
    ASSETS,
    AssetError,
    asset,
    asset_dir,
    asset_for_url,
    license_text,
    load_asset,
)

__all__ = ["AssetError", "offline_map", "save_offline", "external_urls", "render_offline"]

# XML namespace identifiers look like URLs but are never fetched
_NOT_FETCHED = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")

_ABS_URL = re.compile(r"(?i)\b(?:https?|ftp|wss?):\\?/\\?/[^\s\"'<>)\]`]+")
# protocol-relative URL where a URL is expected: after a quote, '(' or '='
_REL_URL = re.compile(r"(?i)(?<=[\"'(=])\s*(//[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?[^\s\"'<>)]*)")
_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*?\bsrc\s*=\s*([\"'])(?P<url>[^\"']+)\1[^>]*>\s*</script\s*>", re.IGNORECASE
)
_LINK_HREF = re.compile(
    r"<link\b[^>]*?\bhref\s*=\s*([\"'])(?P<url>[^\"']+)\1[^>]*?/?>", re.IGNORECASE
)


def offline_map(**kwargs: Any) -> folium.Map:
    """A :class:`folium.Map` that needs only the offline assets.

    Same arguments as :class:`folium.Map`; ``tiles`` defaults to ``None`` (no basemap).
    Folium's default links (Bootstrap, Font Awesome, awesome-markers, glyphicons) are
    replaced by Leaflet and jQuery, so :func:`save_offline` can inline everything.
    Do not use ``folium.Icon`` markers or plugins on it; use circle markers or
    ``folium.DivIcon``.
    """
    kwargs.setdefault("tiles", None)
    m = folium.Map(**kwargs)
    m.default_js = [("leaflet", asset("leaflet.js").url), ("jquery", asset("jquery.js").url)]
    m.default_css = [("leaflet_css", asset("leaflet.css").url)]
    return m


def external_urls(page: str, allow: Iterable[str] = ()) -> list[str]:
    """Every URL in ``page`` that a browser could fetch from the network.

    Finds ``http:``, ``https:``, ``ftp:`` and ``ws:`` URLs anywhere (attributes,
    scripts, CSS ``url()``, JSON) and protocol-relative ``//host/…`` URLs where a URL is
    expected (after a quote, ``(`` or ``=``); JavaScript ``//`` comments are not URLs.

    Parameters
    ----------
    page : str
        HTML text.
    allow : iterable of str
        URL prefixes that are permitted (e.g. a tile URL template).

    Returns
    -------
    list of str
        The offending URLs, in order of appearance, without duplicates.
    """
    allowed = tuple(a for a in allow if a) + _NOT_FETCHED
    found: list[tuple[int, str]] = []
    for m in _ABS_URL.finditer(page):
        found.append((m.start(), m.group(0).replace("\\/", "/")))
    for m in _REL_URL.finditer(page):
        found.append((m.start(1), m.group(1)))
    out: list[str] = []
    for _, url in sorted(found):
        if url.startswith(allowed) or url in out:
            continue
        out.append(url)
    return out


def _tile_urls(m: folium.Map) -> list[str]:
    urls: list[str] = []
    for child in m._children.values():
        if isinstance(child, folium.TileLayer):
            urls.append(str(child.tiles))
    return urls


def render_offline(
    m: folium.Map,
    *,
    allow_urls: Iterable[str] = (),
    allow_tiles: bool = False,
    assets: str | os.PathLike[str] | None = None,
) -> str:
    """Render ``m`` to one self-contained HTML page (see :func:`save_offline`)."""
    page = m.get_root().render()
    allow = list(allow_urls)
    if allow_tiles:
        allow += [re.split(r"\{", u, maxsplit=1)[0] for u in _tile_urls(m)]
    wanted: dict[str, str] = {}

    def stash(match: re.Match[str]) -> str:
        a = asset_for_url(match.group("url"))
        if a is None:
            return match.group(0)
        token = f"\x00asset:{a.key}\x00"
        if a.key in wanted:  # the same file linked twice: keep the first
            return ""
        wanted[a.key] = token
        return token

    page = _SCRIPT_SRC.sub(stash, page)
    page = _LINK_HREF.sub(stash, page)
    bad = external_urls(page, allow)
    if bad:
        shown = ", ".join(bad[:5]) + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else "")
        known = ", ".join(sorted({f"{a.package}@{a.version}" for a in ASSETS}))
        raise AssetError(
            f"The map page would load {shown} from the network, so it would not work "
            f"offline. Only these packages can be inlined: {known}. Build the map with "
            "planner.maps.offline_map / gap_map, avoid folium.Icon markers and plugins, or "
            "pass allow_tiles=True for a tile layer you chose on purpose."
        )
    root = asset_dir(assets)
    licensed: set[str] = set()
    for key, token in wanted.items():
        a = asset(key)
        body = load_asset(a, root)
        note = f"{a.package}@{a.version} {a.file} (inlined)"
        if a.folder not in licensed:
            licensed.add(a.folder)
            note += "\n" + license_text(a, root)
        if a.kind == "js":
            block = f"<script>/* {note} */\n{body}\n</script>"
        else:
            block = f"<style>/* {note} */\n{body}\n</style>"
        page = page.replace(token, block, 1)
    return page


def save_offline(
    m: folium.Map,
    path: str | os.PathLike[str],
    *,
    allow_tiles: bool = False,
    allow_urls: Iterable[str] = (),
    assets: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``m`` as one HTML file that opens from disk with no network.

    Every ``<script src>`` and ``<link href>`` to a known asset (:data:`ASSETS`) is
    replaced by the cached file's content (CSS images as ``data:`` URIs). If any other
    external URL (``http:``, ``https:``, ``//…``) is left in the page, nothing is
    written.

    Parameters
    ----------
    m : folium.Map
        The map (e.g. from :func:`planner.maps.gap_map`).
    path : path-like
        The HTML file to write (parent folders are created; replaced atomically).
    allow_tiles : bool
        Permit the URL templates of the map's tile layers (the basemap then needs the
        network; everything else still works offline).
    allow_urls : iterable of str
        Further URL prefixes to permit.
    assets : path-like, optional
        The asset cache (default ``$PLANNER_ASSETS`` or ``.assets/``).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    planner.maps.AssetError
        (a :class:`planner.errors.PlannerError`) naming the offending URL, or telling
        to run ``make assets`` when the cache is missing.
    """
    page = render_offline(m, allow_urls=allow_urls, allow_tiles=allow_tiles, assets=assets)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".map-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(page)
        # mkstemp makes the file private (0600); give it the mode any new file gets
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
