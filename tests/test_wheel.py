"""The wheel on its own: built, installed into a fresh virtual environment with no npm and
no clone beside it, it runs the bundled demo city and writes the full deliverables.

Marked ``slow`` (``pytest -m "not slow"`` skips it). The wheel is built by pip (hatchling
from the package index). Its dependencies are taken from this environment through a
``.pth`` path (the wheel itself, its assets and data come only from the fresh
environment); set ``PLANNER_WHEEL_FULL_INSTALL=1`` to install them from the index into
the fresh environment too (minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import openpyxl
import pyogrio
import pytest

from planner.maps.assets import ASSETS, license_text, load_asset
from planner.maps.offline import external_urls

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("*.whl")
    return whl


def test_wheel_carries_assets_demo_norms_and_schema(wheel):
    assert wheel.name.startswith("school_seat_planner-")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (
        "planner/maps/_assets/manifest.json",
        "planner/maps/_assets/leaflet@1.9.3/dist/leaflet.js",
        "planner/maps/_assets/leaflet@1.9.3/LICENSE",
        "planner/maps/_assets/jquery@3.7.1/LICENSE.txt",
        "planner/maps/_js/planmap.js",
        "planner/_data/norms/guangdong.toml",
        "planner/_data/schema/outputs.toml",
        "planner/_data/demo/scenario.toml",
    ):
        assert f in names, f
    # every data file of the demo city travels with the wheel, its generator does not
    # (`planner validate` writes scenario.validation.csv beside the scenario: not data)
    demo = {
        p.name
        for p in (ROOT / "data/demo").iterdir()
        if p.is_file() and not p.name.endswith(".validation.csv")
    } - {"generate.py"}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("planner/_data/demo/")} == demo
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "school-seat-planner"


def test_fresh_install_without_npm_runs_the_demo_and_writes_the_map(wheel, tmp_path):
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / ("python.exe" if os.name == "nt" else "python")
    full = os.environ.get("PLANNER_WHEEL_FULL_INSTALL", "") not in ("", "0")
    cmd = [str(py), "-m", "pip", "install", "-q", str(wheel)]
    if full:
        cmd += ["-c", str(ROOT / "constraints.txt")]
    else:
        cmd.insert(4, "--no-deps")
        site = Path(
            subprocess.run(
                [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        # dependencies from this environment; the wheel's own files only from the fresh one
        (site / "zz_planner_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    work = tmp_path / "bureau"
    work.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("PLANNER_ASSETS", "VIRTUAL_ENV", "PATH")
    }
    env["PATH"] = str(bindir)  # no npm, no node, no make
    where = subprocess.run(
        [str(py), "-c", "import planner, shutil; print(planner.__file__, shutil.which('npm'))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    )
    assert str(env_dir) in where.stdout and where.stdout.split()[1] == "None", where.stdout
    exe = bindir / ("planner.exe" if os.name == "nt" else "planner")
    r = subprocess.run(
        [str(exe), "demo", "--out", "demo", "--no-siting"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    )
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    run = work / "demo" / "run"
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "PLANNER_MAP_CONFIG" in page and "<script src=" not in page
    # the only URLs in the page are inside the inlined libraries' own text (never fetched)
    own = "\n".join(load_asset(a) + license_text(a) for a in ASSETS)
    assert set(external_urls(page)) <= set(external_urls(own)), external_urls(page)
    wb = openpyxl.load_workbook(run / "results.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["说明", "分年度学位需求表"]
    layers = {name for name, _ in pyogrio.list_layers(run / "results.gpkg")}
    assert "gap_primary_2030" in layers and "layer_styles" in layers
    assert (run / "index.html").exists() and (
        work / "demo" / "demo_city" / "scenario.toml"
    ).exists()
