"""Shared fixtures: a tiny two-unit city written to a temporary folder."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

# GeoPackages written by the tests live in temporary folders: SQLite need not wait for the
# disk after each of a run's ~40 layers (fsync; about 4 s of every demo run's output step).
# What is written and read back is the same; only crash durability is given up.
os.environ.setdefault("OGR_SQLITE_SYNCHRONOUS", "OFF")

# two 0.02° × 0.02° squares side by side near Zhongshan (≈ 2 km each)
U1 = box(113.30, 22.50, 113.32, 22.52)
U2 = box(113.32, 22.50, 113.34, 22.52)


def write_units(folder: Path, geoms=(U1, U2), ids=("U1", "U2")) -> Path:
    gdf = gpd.GeoDataFrame(
        {
            "unit_id": list(ids),
            "name": ["东城街道", "西山镇"][: len(ids)],
            "kind": ["urban", "town"][: len(ids)],
        },
        geometry=list(geoms),
        crs=4326,
    )
    path = folder / "units.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return path


SCHOOLS_CSV = """\
学校代码,学校名称,学段,办学性质,经度,纬度,班级数,在校生数
S1,东城小学,小学,公办,113.31,22.51,24,1100
S2,西山中学,初中,公办,113.33,22.51,18,900
S3,实验学校,九年一贯制,民办,113.315,22.505,,
"""

POPULATION_CSV = """\
unit_id,year,population
U1,2024,50000
U2,2024,30000
U1,2025,51000
U2,2025,30500
"""


def scenario_text(**inputs: str) -> str:
    blocks = []
    for name, body in inputs.items():
        blocks.append(f"[inputs.{name}]\n{textwrap.dedent(body).strip()}\n")
    return 'name = "test"\nbase_year = 2025\nhorizon = 2030\nnorms = "guangdong"\n\n' + "\n".join(
        blocks
    )


@pytest.fixture
def city(tmp_path: Path):
    """A valid mini city; returns a helper to (re)write files and the scenario."""

    class City:
        root = tmp_path
        schools_csv = SCHOOLS_CSV.replace(",,\n", ",0,0\n").replace(
            "S3,实验学校,九年一贯制,民办,113.315,22.505,0,0",
            "S3,实验学校,小学,民办,113.315,22.505,12,500",
        )
        population_csv = POPULATION_CSV
        extra: ClassVar[dict[str, str]] = {}

        def write(self, **overrides: str) -> Path:
            write_units(tmp_path)
            (tmp_path / "schools.csv").write_text(self.schools_csv, encoding="utf-8")
            (tmp_path / "population.csv").write_text(self.population_csv, encoding="utf-8")
            inputs = {
                "units": 'path = "units.geojson"\ncrs = "WGS84"',
                "population": 'path = "population.csv"',
                "schools": 'path = "schools.csv"\ncrs = "WGS84"',
                **self.extra,
                **overrides,
            }
            sc = tmp_path / "scenario.toml"
            sc.write_text(scenario_text(**inputs), encoding="utf-8")
            return sc

    return City()


def load(path: Path, strict: bool = False):
    from planner.inputs.load import load_inputs
    from planner.inputs.scenario import read_scenario

    return load_inputs(read_scenario(path), strict=strict)


def codes(inputs) -> list[str]:
    return [p.code for p in inputs.report.problems]


def frame(csv: str) -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(csv), dtype=str)


# ---------------------------------------------------------------- the demo, once per session
#
# The demo city's results are computed once per session and shared by every test that
# only reads them. A test that changes one copies it first (``copy.copy`` of the result and
# of its ``tables`` dict, ``DataFrame.copy()``): each shared fixture checks at the end of the
# session that nothing it handed out was changed.

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.toml"


def _digest(obj, seen=None):
    """A fingerprint of tables, dicts, sequences and plain values (to detect changes)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return "<seen>"
    if isinstance(obj, pd.DataFrame | pd.Series):
        df = obj.to_frame() if isinstance(obj, pd.Series) else obj
        plain = pd.DataFrame(index=df.index)
        for i in range(df.shape[1]):
            col = df.iloc[:, i]
            if isinstance(col.dtype, gpd.array.GeometryDtype):
                col = gpd.GeoSeries(col).to_wkb(hex=True)
            elif col.dtype == object:
                col = col.map(repr)
            plain[i] = col
        h = int(pd.util.hash_pandas_object(plain, index=True).sum()) if len(plain.columns) else 0
        names, dtypes = tuple(map(str, df.columns)), tuple(map(str, df.dtypes))
        return (type(obj).__name__, names, dtypes, h, len(df), repr(getattr(obj, "crs", None)))
    seen.add(id(obj))
    if isinstance(obj, dict):
        return tuple((str(k), _digest(v, seen)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return tuple(_digest(v, seen) for v in obj)
    return repr(obj)


def _result_digest(result):
    return _digest([result.tables, result.layers, result.inputs.tables, result.inputs.excluded])


def _unchanged(name: str, before, after) -> None:
    assert before == after, f"a test changed the shared fixture {name}: copy it first"


@pytest.fixture(scope="session")
def demo_inputs():
    """The demo scenario and its validated inputs ``(scenario, inputs)``, loaded once."""
    from planner import api

    sc = api.read_scenario(DEMO_SCENARIO)
    inputs = api.load_inputs(sc)
    before = _digest([inputs.tables, inputs.excluded])
    yield sc, inputs
    _unchanged("demo_inputs", before, _digest([inputs.tables, inputs.excluded]))


@pytest.fixture(scope="session")
def demo_result(demo_inputs):
    """The demo city computed with the norm only (no forecast, no siting), once per session.

    Shared by tests that only read it; a test that changes it must copy it first.
    """
    from planner.api import compute_run
    from planner.inputs.norms import load_norms

    sc, inputs = demo_inputs
    result = compute_run(inputs, load_norms(sc.norms), forecast=None)
    before = _result_digest(result)
    yield result
    _unchanged("demo_result", before, _result_digest(result))


@pytest.fixture(scope="session")
def demo_forecast(demo_inputs):
    """The demo's enrolment forecast ``(table, details)``, computed once (about 5 s)."""
    from planner.forecast.pipeline import enrolment_forecast

    _, inputs = demo_inputs
    fc = enrolment_forecast(inputs)
    before = _digest(fc)
    yield fc
    _unchanged("demo_forecast", before, _digest(fc))


@pytest.fixture(scope="session")
def demo_forecast_run(demo_inputs):
    """``api.run`` of the demo scenario as it is: its own forecast, no siting; once."""
    from planner import api

    sc, inputs = demo_inputs
    result = api.run(sc, inputs=inputs)
    before = _result_digest(result)
    yield result
    _unchanged("demo_forecast_run", before, _result_digest(result))


def _folder_digest(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def demo_run_dir(tmp_path_factory):
    """``planner run data/demo/scenario.toml --no-siting`` through the CLI, once per session.

    Returns ``(folder, printed output)``. Tests read the folder; one that writes into it
    copies it first (``shutil.copytree``).
    """
    from typer.testing import CliRunner

    from planner.cli import app

    out = tmp_path_factory.mktemp("demo-run") / "run"
    r = CliRunner().invoke(app, ["run", str(DEMO_SCENARIO), "--out", str(out), "--no-siting"])
    assert r.exit_code == 0, r.output
    before = _folder_digest(out)
    yield out, r.output
    _unchanged("demo_run_dir", before, _folder_digest(out))
