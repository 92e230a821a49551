"""Read and write scenario files (情景文件读写)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from planner.errors import ScenarioError
from planner.scenario import Scenario, scenario_from_dict

__all__ = ["read_scenario", "write_scenario", "scenario_to_dict"]


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Parameters
    ----------
    path : str or Path
        The scenario file. Relative input paths inside it are taken from its folder.

    Raises
    ------
    ScenarioError
        The file is missing, is not valid TOML (the message gives the line), or has
        values of the wrong type.
    UnknownKeyError
        A key is unknown; the message names the closest valid key.
    """
    path = Path(path)
    if not path.exists():
        raise ScenarioError(
            f"{path}: scenario file not found. Give the path to a scenario .toml file "
            "(the demo is data/demo/scenario.toml)."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}. Fix the syntax at that line.") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: the scenario file must be saved as UTF-8 ({exc}).") from exc
    return scenario_from_dict(data, base_dir=path.resolve().parent, source=str(path))


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain dict (what the TOML file holds), without empty entries."""
    return scenario.model_dump(mode="json", exclude_none=True)


def write_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario to a TOML file that :func:`read_scenario` accepts.

    Relative input paths (and a norms file path, the forecast's schedule tables and a local basemap) are
    rewritten relative to the new file's folder, so the written scenario finds the same inputs wherever it is saved.
    """
    path = Path(path)
    data = scenario_to_dict(scenario)
    new_dir = path.resolve().parent
    old_dir = Path(scenario.base_dir).resolve()
    if new_dir != old_dir:

        def moved(p: str) -> str:
            if Path(p).is_absolute():
                return p
            return Path(os.path.relpath(old_dir / p, new_dir)).as_posix()

        for spec in data.get("inputs", {}).values():
            spec["path"] = moved(spec["path"])
        forecast = data.get("forecast", {})
        for key in ("survival_table", "fertility_table"):
            if forecast.get(key):
                forecast[key] = moved(forecast[key])
        basemap = data.get("map", {}).get("basemap", {})
        if basemap.get("path"):
            basemap["path"] = moved(basemap["path"])
        norms = data.get("norms", "")
        if norms.endswith(".toml") and not Path(norms).is_absolute() and (old_dir / norms).exists():
            data["norms"] = Path(os.path.relpath(old_dir / norms, new_dir)).as_posix()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)
    return path
