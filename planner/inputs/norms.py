"""Read norms files and resolve their ``inherits`` chains (读取标准文件).

Bundled norms live in ``data/norms`` (``planner/_data/norms`` in a wheel). A file's
``[meta] inherits`` names a bundled norms file (``"guangdong"``) or a path relative
to the inheriting file (``"base.toml"``); chains are followed to the base and then
handed, base first, to :meth:`planner.norms.Norms.from_dicts`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import NormsError, UnknownKeyError
from planner.inputs.schema import data_dir
from planner.norms import Norms
from planner.scenario import Scenario

__all__ = ["available_norms", "load_norms", "norms_dir", "norms_for", "read_norms_file"]

_LINE = re.compile(r"at line (\d+)")


def norms_dir() -> Path:
    """Folder of the bundled norms files.

    Returns
    -------
    Path
        ``planner/_data/norms`` inside an installed wheel if it exists, else the
        repository's ``data/norms`` (editable install or source checkout).
    """
    return data_dir("norms")


def available_norms() -> list[str]:
    """Names of the bundled norms files (file stems), sorted.

    Returns
    -------
    list of str
        E.g. ``["guangdong", "zhongshan_urban"]``.
    """
    folder = norms_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _looks_like_path(ref: str | Path) -> bool:
    s = str(ref)
    return isinstance(ref, Path) or s.endswith(".toml") or "/" in s or "\\" in s


def _resolve(ref: str | Path, relative_to: Path | None, where: str) -> Path:
    """The file a norms name or path refers to.

    Parameters
    ----------
    ref : str or Path
        A bundled name (``"guangdong"``) or a path to a TOML file.
    relative_to : Path or None
        Folder of the inheriting file (relative ``inherits`` paths start there).
    where : str
        Who refers to it, for messages.
    """
    if _looks_like_path(ref):
        p = Path(ref)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        if not p.is_file():
            raise NormsError(f"{where}: norms file {p} not found")
        return p
    name = str(ref)
    bundled = norms_dir() / f"{name}.toml"
    if bundled.is_file():
        return bundled
    if relative_to is not None and (relative_to / f"{name}.toml").is_file():
        return relative_to / f"{name}.toml"
    raise UnknownKeyError(name, available_norms(), f"{where} (bundled norms in {norms_dir()})")


def read_norms_file(path: str | Path) -> dict[str, Any]:
    """Parse one norms file (no inheritance, no validation).

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    dict
        The parsed TOML.

    Raises
    ------
    NormsError
        The file cannot be read, or is not valid TOML (the message names the line).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NormsError(f"norms file {path} cannot be read: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _LINE.search(str(exc))
        line = f", line {m.group(1)}" if m else ""
        raise NormsError(f"norms file {path}{line}: not valid TOML: {exc}") from exc


def _origin(path: Path) -> str:
    """The name used for a file in messages and ``defined_in``: stem if bundled."""
    try:
        if path.parent.resolve() == norms_dir().resolve():
            return path.stem
    except OSError:  # pragma: no cover - unresolvable path
        pass
    return str(path)


def load_norms(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Norms:
    """Load a bundled norms file by name, or any norms file by path.

    Parameters
    ----------
    name_or_path : str or Path
        ``"guangdong"``, ``"zhongshan_urban"`` … or a path to a TOML file (a ``Path``,
        or a string ending in ``.toml`` or containing a slash).
    overrides : mapping, optional
        ``{dotted key: value}`` applied on top (a scenario's ``norms_override``).

    Returns
    -------
    Norms
        Every entry after inheritance and overrides, with its source.

    Raises
    ------
    UnknownKeyError
        Unknown bundled name (the closest available is named), or an override of a
        key that does not exist (the closest key is named).
    NormsError
        Missing file, bad TOML (file and line named), an entry without value, unit or
        source, an inheritance cycle, or an override of the wrong type.
    """
    layers: list[tuple[dict[str, Any], str]] = []
    seen: list[Path] = []
    path = _resolve(name_or_path, None, "norms")
    while True:
        real = path.resolve()
        if real in seen:
            chain = " → ".join(_origin(p) for p in [*seen, real])
            raise NormsError(
                f"norms inheritance cycle: {chain}; remove one of the `inherits` entries"
            )
        seen.append(real)
        data = read_norms_file(path)
        origin = _origin(path)
        meta = data.get("meta", {})
        if not isinstance(meta, Mapping):
            raise NormsError(f"{origin}: `meta` must be a table ([meta])")
        layers.append((data, origin))
        parent = meta.get("inherits")
        if not parent:
            break
        if not isinstance(parent, str):
            raise NormsError(f"{origin}: meta.inherits must be a norms name or a path (text)")
        path = _resolve(parent, path.parent, f"{origin} (meta.inherits)")
    layers.reverse()
    norms = Norms.from_dicts(layers, Path(str(name_or_path)).stem)
    if overrides:
        norms = norms.with_overrides(overrides)
    return norms


def norms_for(scenario: Scenario) -> Norms:
    """The norms in force for a scenario: its norms file plus ``norms_override``.

    The one place a scenario's ``norms`` is resolved: a ``.toml`` path relative to the
    scenario's folder when that file exists, else a bundled name or a path as given.
    """
    ref = scenario.norms
    cand = scenario.base_dir / ref
    if ref.endswith(".toml") and cand.exists():
        ref = str(cand)
    return load_norms(ref, overrides=scenario.norms_override or None)
