"""Locate and read the bundled data files: schema and norms (内置数据文件)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["data_dir", "load_measures", "load_schema", "schema_dir"]


def data_dir(kind: str) -> Path:
    """Folder of bundled data ``kind`` (``"norms"`` or ``"schema"``).

    Parameters
    ----------
    kind : str
        The sub-folder name.

    Returns
    -------
    Path
        ``planner/_data/<kind>`` in an installed wheel if it exists; otherwise the
        repository's ``data/<kind>`` (source checkout or editable install).
    """
    packaged = resources.files("planner") / "_data" / kind
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "data" / kind


def schema_dir() -> Path:
    """Folder of the schema files (``inputs.toml``, ``outputs.toml``)."""
    return data_dir("schema")


def load_schema() -> dict[str, Any]:
    """The parsed canonical input schema (``inputs.toml``).

    Returns
    -------
    dict
        One table per input (``units``, ``population`` …) with its ``columns``, and
        ``values``: the category values with their aliases.
    """
    with open(schema_dir() / "inputs.toml", "rb") as fh:
        return tomllib.load(fh)


def load_measures() -> dict[str, dict[str, float]]:
    """The units a scenario may declare per column (``measures.toml``).

    Returns
    -------
    dict
        ``{canonical unit: {unit name: factor to the canonical unit}}``, e.g.
        ``{"persons": {"万人": 10000.0, …}, "m²": {"亩": 666.67, …}}``.
    """
    with open(schema_dir() / "measures.toml", "rb") as fh:
        return {k: {str(n): float(f) for n, f in v.items()} for k, v in tomllib.load(fh).items()}
