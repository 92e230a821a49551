"""One error module: every exception the planner raises on purpose is in planner.errors."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import planner
from planner import errors

PKG = Path(planner.__file__).parent


def _modules():
    for info in pkgutil.walk_packages(planner.__path__, "planner."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        yield importlib.import_module(info.name)


def test_every_planner_error_is_defined_in_errors():
    outside = []
    for mod in _modules():
        for name, obj in vars(mod).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, errors.PlannerError)
                and obj.__module__ != "planner.errors"
            ):
                outside.append(f"{mod.__name__}.{name} ({obj.__module__})")
    assert outside == []


def test_every_error_is_exported_and_documented():
    classes = [
        c
        for c in vars(errors).values()
        if inspect.isclass(c) and issubclass(c, errors.PlannerError)
    ]
    assert len(classes) >= 20
    for c in classes:
        assert c.__name__ in errors.__all__, c
        assert c.__doc__ and c.__doc__.strip(), c
        assert c.__name__ in errors.__doc__, f"{c.__name__} missing from the hierarchy picture"


def test_no_bare_planner_error_raised():
    bare = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        if rel == "errors.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"raise PlannerError\b", line):
                bare.append(f"{rel}:{i}")
    assert bare == []


def test_map_errors_keep_their_old_names():
    from planner import maps
    from planner.maps import assets, basemap, export, gap

    assert maps.MapError is gap.MapError is errors.MapError
    assert maps.AssetError is assets.AssetError is errors.AssetError
    assert maps.BasemapError is basemap.BasemapError is errors.BasemapError
    assert maps.ExportError is export.ExportError is errors.ExportError


def test_specific_errors_are_value_errors_where_sklearn_expects_it():
    for c in (errors.DataError, errors.ParameterError, errors.LeakageError):
        assert issubclass(c, ValueError)
        assert issubclass(c, errors.PlannerError)
