"""Third-party JS/CSS for offline maps, shipped inside the package (离线地图资源).

The files (Leaflet, jQuery for folium's popups, each with its licence file) are
vendored into ``planner/maps/_assets/`` and installed with the package, wheel included,
so every install writes maps without npm or network. They are the npm registry's files,
pinned by version and sha512 in ``scripts/assets.lock.json``; maintainers refresh them
with ``scripts/fetch_assets.py`` (``make assets``). ``$PLANNER_ASSETS`` points the
planner at another folder of the same layout.

:data:`ASSETS` lists every file a map page may reference (package, version, file);
:func:`asset_for_url` recognises links to them by version and file name — no host is
named anywhere — and :func:`planner.maps.save_offline` replaces them by the cached
content.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from planner.errors import AssetError

__all__ = [
    "ASSETS",
    "Asset",
    "AssetError",
    "asset_dir",
    "asset_for_url",
    "PLACEHOLDER_SCHEME",
    "load_asset",
    "license_text",
    "FETCH_HINT",
    "PACKAGED",
]

FETCH_HINT = (
    "The map assets ship inside the package (planner/maps/_assets); reinstall the "
    "package (pip install --force-reinstall school-seat-planner), or unset PLANNER_ASSETS "
    "if it points elsewhere. In a clone, `make assets` restores them from the npm registry."
)

_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Asset:
    """One third-party file a map page can reference.

    Attributes
    ----------
    key : str
        Short name (``leaflet.js``).
    package, version : str
        The npm package and its pinned version (as in ``scripts/assets.lock.json``).
    file : str
        Path of the file inside the package (without the tarball's ``package/``).
    kind : {"js", "css"}
        Inlined as ``<script>`` or ``<style>``.
    """

    key: str
    package: str
    version: str
    file: str
    kind: Literal["js", "css"]

    @property
    def url(self) -> str:
        """The placeholder :func:`offline_map` writes: no network scheme, inlined on save."""
        return f"{PLACEHOLDER_SCHEME}{self.key}"

    @property
    def folder(self) -> str:
        """Cache sub-folder of the package (``leaflet@1.9.3``)."""
        return f"{self.package}@{self.version}"


ASSETS: tuple[Asset, ...] = (
    Asset(
        "leaflet.js",
        "leaflet",
        "1.9.3",
        "dist/leaflet.js",
        "js",
    ),
    Asset(
        "leaflet.css",
        "leaflet",
        "1.9.3",
        "dist/leaflet.css",
        "css",
    ),
    Asset(
        "jquery.js",
        "jquery",
        "3.7.1",
        "dist/jquery.min.js",
        "js",
    ),
)

_BY_KEY = {a.key: a for a in ASSETS}


#: scheme of the placeholder links written by :func:`planner.maps.offline_map`
PLACEHOLDER_SCHEME = "planner-asset:"


def asset_for_url(url: str) -> Asset | None:
    """The known asset a page link refers to, or None.

    Recognised without naming any host: our own placeholder (``planner-asset:<key>``),
    or a link written by folium / branca whose path carries the asset's version and whose
    file name, once that version is removed, is the asset's file name
    (``…/leaflet@1.9.3/dist/leaflet.js``, ``…/jquery-3.7.1.min.js``).
    """
    u = url.strip()
    if u.startswith(PLACEHOLDER_SCHEME):
        return _BY_KEY.get(u[len(PLACEHOLDER_SCHEME) :])
    path = u.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1].lower()
    for a in ASSETS:
        if a.version not in path:
            continue
        bare = re.sub(rf"[-_.@]?{re.escape(a.version)}", "", name)
        if bare == a.file.rsplit("/", 1)[-1].lower():
            return a
    return None


def asset(key: str) -> Asset:
    """The asset with this key (``leaflet.js`` …)."""
    return _BY_KEY[key]


#: the vendored assets inside the package
PACKAGED = Path(__file__).resolve().parent / "_assets"


def _candidates() -> list[Path]:
    env = os.environ.get("PLANNER_ASSETS")
    if env:
        return [Path(env)]
    return [PACKAGED]


def asset_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The asset folder; raises :class:`AssetError` if it is not there.

    Parameters
    ----------
    path : path-like, optional
        Use this folder. Default: ``$PLANNER_ASSETS``, else the assets shipped in the
        package (``planner/maps/_assets``).
    """
    cands = [Path(path)] if path is not None else _candidates()
    for c in cands:
        if (c / _MANIFEST).is_file():
            return c
    where = ", ".join(str(c) for c in cands)
    raise AssetError(f"The offline map assets are missing (looked in {where}). {FETCH_HINT}")


def _manifest(root: Path) -> dict:
    try:
        return json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise AssetError(f"Cannot read {root / _MANIFEST}: {e}. {FETCH_HINT}") from e


def _read_verified(root: Path, rel: str, manifest: dict) -> bytes:
    want = manifest.get("files", {}).get(rel)
    p = root / rel
    if want is None or not p.is_file():
        raise AssetError(
            f"The asset cache {root} lacks {rel} (stale cache, or the lock file changed). "
            f"{FETCH_HINT}"
        )
    data = p.read_bytes()
    if hashlib.sha256(data).hexdigest() != want:
        raise AssetError(
            f"{p} does not match the checksum recorded when it was fetched (edited or "
            f"corrupted). {FETCH_HINT}"
        )
    return data


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


def _inline_css_urls(css: str, css_rel: str, root: Path, manifest: dict) -> str:
    base = css_rel.rsplit("/", 1)[0] if "/" in css_rel else ""

    def sub(m: re.Match[str]) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        if re.match(r"(?i)^(?:[a-z][a-z0-9+.-]*:|//)", ref):
            raise AssetError(f"{css_rel} references the external URL {ref}")
        parts = [p for p in f"{base}/{ref}".split("/") if p not in ("", ".")]
        stack: list[str] = []
        for part in parts:
            if part == "..":
                if not stack:
                    raise AssetError(f"{css_rel} references {ref} outside its package")
                stack.pop()
            else:
                stack.append(part)
        rel = "/".join(stack)
        data = _read_verified(root, rel, manifest)
        mime = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        return f'url("data:{mime};base64,{base64.b64encode(data).decode("ascii")}")'

    return _CSS_URL.sub(sub, css)


_SOURCE_MAP = re.compile(r"^\s*//[#@]\s*sourceMappingURL=.*$", re.MULTILINE)
_SOURCE_MAP_CSS = re.compile(r"/\*[#@]\s*sourceMappingURL=[^*]*\*/")


def load_asset(a: Asset | str, root: str | os.PathLike[str] | None = None) -> str:
    """The content of an asset, ready to inline.

    CSS ``url(…)`` references to files of the package become ``data:`` URIs; source-map
    comments are removed; ``</script`` / ``</style`` are neutralised so the content can
    sit inside ``<script>`` / ``<style>``.

    Parameters
    ----------
    a : Asset or str
        The asset or its key.
    root : path-like, optional
        The asset cache (default: :func:`asset_dir`).

    Raises
    ------
    AssetError
        The cache is missing, lacks the file, or the file's checksum changed.
    """
    a = asset(a) if isinstance(a, str) else a
    folder = asset_dir(root)
    manifest = _manifest(folder)
    rel = f"{a.folder}/{a.file}"
    text = _read_verified(folder, rel, manifest).decode("utf-8")
    if a.kind == "css":
        text = _SOURCE_MAP_CSS.sub("", text)
        text = _inline_css_urls(text, rel, folder, manifest)
        text = re.sub(r"(?i)</(?=style)", lambda m: "<\\/", text)
    else:
        text = _SOURCE_MAP.sub("", text)
        text = re.sub(r"(?i)</(?=script)", lambda m: "<\\/", text)
        text = text.replace("<!--", "<\\!--")
    return text


def license_text(a: Asset | str, root: str | os.PathLike[str] | None = None) -> str:
    """The package's licence file from the cache (``LICENSE*``), as a safe comment body."""
    a = asset(a) if isinstance(a, str) else a
    folder = asset_dir(root)
    manifest = _manifest(folder)
    names = sorted(r for r in manifest.get("files", {}) if r.startswith(f"{a.folder}/LICEN"))
    if not names:
        return ""
    text = _read_verified(folder, names[0], manifest).decode("utf-8", "replace")
    text = text.replace("*/", "* /")
    return re.sub(r"(?i)</(?=s(?:cript|tyle))", lambda m: "<\\/", text)
