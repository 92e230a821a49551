"""Self-contained map pages that open from a file with no network (离线地图).

:func:`offline_map` makes a :class:`folium.Map` that references only the assets the
planner ships inside the package (Leaflet, jQuery for folium's popups), not folium's
default Bootstrap / Font Awesome / awesome-markers set. :func:`save_offline` renders a
map, inlines every known asset and refuses to write a page that would still fetch
anything from the network, except the tiles of a basemap the scenario chose. Local
basemap tiles are embedded in the page, or written to a folder beside it when large.
"""

from __future__ import annotations

import json
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


def _local_tiles(page: str, m: folium.Map, folder: str | None) -> tuple[str, dict[str, bytes]]:
    """Put a local basemap's tiles into ``page``: embedded, or as files under ``folder``.

    Returns the page and the files to write beside it (``{relative path: bytes}``).
    """
    from planner.maps.basemap import LOCAL_TILES_TOKEN, LOCAL_TILES_URL, data_uri

    bm = getattr(m, "_planner_basemap", None)
    local = getattr(bm, "local", None)
    if local is None:
        return page, {}
    token = json.dumps(LOCAL_TILES_TOKEN)
    if folder is None or local.nbytes <= bm.embed_max_mb * 1e6:
        tiles = {k: data_uri(v, local.mime) for k, v in local.tiles.items()}
        return page.replace(token, json.dumps(tiles, separators=(",", ":")), 1), {}
    files = {f"{folder}/{k}.{local.ext}": v for k, v in local.tiles.items()}
    url = f"{folder}/{{z}}/{{x}}/{{y}}.{local.ext}"
    page = page.replace(token, "null", 1).replace(LOCAL_TILES_URL, url)
    return page, files


def render_offline(
    m: folium.Map,
    *,
    allow_urls: Iterable[str] = (),
    allow_tiles: bool = False,
    assets: str | os.PathLike[str] | None = None,
    tiles_folder: str | None = None,
) -> str:
    """Render ``m`` to one self-contained HTML page (see :func:`save_offline`).

    ``tiles_folder``: relative folder for local basemap tiles too large to embed (None:
    always embedded; :func:`save_offline` uses ``<name>_files/tiles``).
    """
    page, _ = _render(m, allow_urls, allow_tiles, assets, tiles_folder)
    return page


def _render(
    m: folium.Map,
    allow_urls: Iterable[str],
    allow_tiles: bool,
    assets: str | os.PathLike[str] | None,
    tiles_folder: str | None,
) -> tuple[str, dict[str, bytes]]:
    page = m.get_root().render()
    page, files = _local_tiles(page, m, tiles_folder)
    allow = list(allow_urls)
    bm = getattr(m, "_planner_basemap", None)
    if bm is not None:  # the basemap the scenario chose: its tile servers are permitted
        allow += bm.allowed_urls
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
    return page, files


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
        Permit the URL templates of the map's folium tile layers. The basemap of
        :func:`planner.maps.gap_map` (the scenario's ``[map.basemap]``) is always
        permitted: it was chosen on purpose. Local tiles are embedded up to
        ``embed_max_mb``, beyond that written to ``<name>_files/tiles/`` beside the page.
    allow_urls : iterable of str
        Further URL prefixes to permit.
    assets : path-like, optional
        The asset folder (default ``$PLANNER_ASSETS`` or the package's own).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    planner.maps.AssetError
        (a :class:`planner.errors.PlannerError`) naming the offending URL, or saying how
        to restore the package's assets.
    """
    out = Path(path)
    folder = f"{out.stem}_files/tiles"
    page, files = _render(m, allow_urls, allow_tiles, assets, folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = out.parent / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
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
