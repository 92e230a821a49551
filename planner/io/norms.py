"""Read norms files, resolving inheritance (读取标准文件)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import NormsError, UnknownKeyError
from planner.io.schema import data_dir
from planner.norms import Norms

__all__ = ["norms_dir", "available_norms", "load_norms"]


def norms_dir() -> Path:
    """Folder of the bundled norms files."""
    return data_dir("norms")


def available_norms() -> list[str]:
    """Names of the bundled norms files."""
    return sorted(p.stem for p in norms_dir().glob("*.toml"))


def _resolve(ref: str | Path, relative_to: Path | None) -> Path:
    ref_s = str(ref)
    if ref_s.endswith(".toml") or "/" in ref_s or "\\" in ref_s:
        p = Path(ref_s)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        if not p.exists():
            raise NormsError(f"norms file {p} not found")
        return p
    p = norms_dir() / f"{ref_s}.toml"
    if not p.exists():
        raise UnknownKeyError(ref_s, available_norms(), "bundled norms")
    return p


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise NormsError(f"{path}: not valid TOML: {exc}") from exc


def load_norms(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Norms:
    """Load a bundled norms file by name, or any norms file by path.

    Parameters
    ----------
    name_or_path : str or Path
        ``"guangdong"``, ``"zhongshan_urban"`` … or a path to a TOML file.
    overrides : mapping, optional
        ``{dotted key: value}`` applied on top (a scenario's ``norms_override``).

    Raises
    ------
    UnknownKeyError
        Unknown bundled name, or an override of a key that does not exist.
    NormsError
        Missing file, bad TOML, an entry without value/unit/source, an inheritance cycle.
    """
    layers: list[tuple[dict[str, Any], str]] = []
    seen: list[Path] = []
    path = _resolve(name_or_path, None)
    while True:
        rp = path.resolve()
        if rp in seen:
            chain = " → ".join(p.name for p in [*seen, rp])
            raise NormsError(f"norms inheritance cycle: {chain}")
        seen.append(rp)
        data = _read(path)
        origin = path.stem if path.parent.resolve() == norms_dir().resolve() else str(path)
        layers.append((data, origin))
        parent = data.get("meta", {}).get("inherits")
        if not parent:
            break
        path = _resolve(parent, path.parent)
    layers.reverse()
    name = Path(str(name_or_path)).stem
    norms = Norms.from_dicts(layers, name)
    if overrides:
        norms = norms.with_overrides(overrides)
    return norms
