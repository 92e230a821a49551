"""A failed step never loses the run; every exit code of `planner run` (issue 13)."""

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner import errors
from planner.cli import app

SITES_CSV = "地块编号,地块名称,用地面积,经度,纬度\nE1,东地块,30000,113.305,22.505\n"


def _run(sc, out, *extra):
    return CliRunner().invoke(app, ["run", str(sc), "--out", str(out), *extra])


def _status(out) -> pd.DataFrame:
    return pd.read_csv(out / "run_status.csv", encoding="utf-8-sig").set_index("step")


def boom(*_a, **_k):
    raise RuntimeError("boom in a step")


def test_exit_codes_are_documented():
    assert (errors.EXIT_OK, errors.EXIT_INPUTS_REFUSED, errors.EXIT_USAGE) == (0, 1, 2)
    assert (errors.EXIT_STOPPED_BY_CLOCK, errors.EXIT_STEP_FAILED, errors.EXIT_INTERNAL) == (
        3,
        4,
        70,
    )
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    for code in errors.EXIT_CODES:
        assert f"| {code} |" in doc


def test_complete_run_exits_0_with_status(city, tmp_path):
    out = tmp_path / "out"
    r = _run(city.write(), out)
    assert r.exit_code == 0, r.output
    st = _status(out)
    assert {
        "demand",
        "supply",
        "gaps",
        "compliance",
        "equity",
        "csv",
        "excel",
        "charts",
        "html",
    } <= set(st.index)
    assert (st["status"].isin(["ok", "fallback", "skipped"])).all()
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "complete" and m["exit_code"] == 0 and m["failed_steps"] == []


@pytest.mark.parametrize(
    ("target", "step", "lost", "kept"),
    [
        ("planner.pipeline.demand_table", "demand", "needs.csv", "compliance.csv"),
        ("planner.pipeline.school_capacity", "supply", "school_capacity.csv", "equity_schools.csv"),
        ("planner.pipeline.school_compliance", "compliance", "compliance.csv", "needs.csv"),
        ("planner.pipeline.school_indicators", "equity", "equity_schools.csv", "needs.csv"),
        ("planner.outputs.run_output.write_excel", "excel", "results.xlsx", "needs.csv"),
        ("planner.outputs.run_output.demand_capacity_chart", "charts", None, "results.xlsx"),
        ("planner.maps.gap_map", "map", "map.html", "results.xlsx"),
        ("planner.outputs.run_output.summary_page", "html", None, "needs.csv"),
    ],
)
def test_a_failed_step_keeps_every_other_output(
    city, tmp_path, monkeypatch, target, step, lost, kept
):
    monkeypatch.setattr(target, boom)
    out = tmp_path / "out"
    r = _run(city.write(), out)
    assert r.exit_code == errors.EXIT_STEP_FAILED, r.output
    assert "Traceback" not in r.output and f"{step}: failed" in r.output
    st = _status(out)
    assert st.loc[step, "status"] == "failed"
    assert "boom in a step" in st.loc[step, "message"] and st.loc[step, "what_to_do"]
    assert (out / kept).exists() and (out / "validation.csv").exists()
    assert (out / "index.html").exists()  # the status page at least
    if lost:
        assert not (out / lost).exists()
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "step_failed" and m["exit_code"] == 4
    assert [f["step"] for f in m["failed_steps"]] == [step]
    tb = next(s for s in m["steps"] if s["step"] == step)["traceback"]
    assert "RuntimeError: boom in a step" in tb
    page = (out / "index.html").read_text(encoding="utf-8")
    assert step in page and "boom in a step" in page


def test_steps_that_need_a_failed_step_are_skipped(city, tmp_path, monkeypatch):
    monkeypatch.setattr("planner.pipeline.demand_table", boom)
    out = tmp_path / "out"
    r = _run(city.write(), out)
    assert r.exit_code == 4
    st = _status(out)
    assert st.loc["gaps", "status"] == "skipped" and "demand" in st.loc["gaps", "message"]
    assert st.loc["charts", "status"] == "skipped" and st.loc["map", "status"] == "skipped"
    assert st.loc["compliance", "status"] == "ok"


def test_forecast_failure_falls_back_and_exits_4(city, tmp_path, monkeypatch):
    monkeypatch.setattr("planner.api.forecast_unavailable", lambda inputs: None)
    monkeypatch.setattr("planner.api.forecast_for", boom)
    out = tmp_path / "out"
    r = _run(city.write(), out)
    assert r.exit_code == 4, r.output
    st = _status(out)
    assert st.loc["forecast", "status"] == "failed" and st.loc["demand", "status"] == "ok"
    needs = pd.read_csv(out / "needs.csv")
    assert needs["forecast_seats"].isna().all()
    assert (needs["required_seats"] == needs["norm_seats"]).all()


def test_forecast_that_cannot_run_says_why(city, tmp_path):
    # births without an enrolment history: the forecast was asked for and cannot run
    (city.root / "births.csv").write_text(
        "unit_id,year,births\nU1,2024,500\nU2,2024,300\nU1,2025,480\nU2,2025,290\n",
        encoding="utf-8",
    )
    city.extra = {"births": 'path = "births.csv"'}
    out = tmp_path / "out"
    r = _run(city.write(), out)
    assert r.exit_code == 0, r.output
    st = _status(out)
    assert st.loc["forecast", "status"] == "fallback"
    msg = st.loc["forecast", "message"]
    assert "enrolment history" in msg and "per-thousand norm" in msg
    assert "forecast: fallback" in r.output
    val = pd.read_csv(out / "validation.csv", encoding="utf-8-sig")
    assert "forecast_fallback" in set(val["code"])
    # neither births nor enrolment given: the norm by design, said but not a fallback
    city.extra = {}
    out2 = tmp_path / "out2"
    assert _run(city.write(), out2).exit_code == 0
    st2 = _status(out2)
    assert st2.loc["forecast", "status"] == "skipped"
    assert "per-thousand norm" in st2.loc["forecast", "message"]


def _siting_city(city):
    (city.root / "sites.csv").write_text(SITES_CSV, encoding="utf-8")
    city.extra = {"sites": 'path = "sites.csv"\ncrs = "WGS84"'}
    return city.write()


def test_failed_siting_keeps_the_run(city, tmp_path, monkeypatch):
    monkeypatch.setattr("planner.siting.schools.site_schools", boom)
    out = tmp_path / "out"
    r = _run(_siting_city(city), out)
    assert r.exit_code == 4, r.output
    st = _status(out)
    assert st.loc["siting", "status"] == "failed"
    assert "--no-siting" in st.loc["siting", "what_to_do"]
    for f in ("needs.csv", "compliance.csv", "results.xlsx", "map.html", "index.html"):
        assert (out / f).exists(), f


def test_siting_stopped_by_the_clock_exits_3(city, tmp_path, monkeypatch):
    summary = pd.DataFrame([{"status": "time limit", "stopped_by_clock": True, "gap": 0.05}])

    def cut(*_a, **_k):
        return SimpleNamespace(tables={"siting_summary": summary}, catchments=None)

    monkeypatch.setattr("planner.siting.schools.site_schools", cut)
    out = tmp_path / "out"
    r = _run(_siting_city(city), out)
    assert r.exit_code == errors.EXIT_STOPPED_BY_CLOCK, r.output
    assert "stopped by the clock: another machine may give another plan" in r.output
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "stopped_by_clock" and m["exit_code"] == 3
    assert "another machine" in m["siting"]
    st = pd.read_csv(out / "run_status.csv", encoding="utf-8-sig")
    assert "stopped_by_clock" in set(st["status"])


def test_a_failed_step_outranks_the_clock(demo_result):
    import copy

    from planner.pipeline import StepOutcome

    r = copy.copy(demo_result)
    r.tables = {**demo_result.tables, "siting_summary": pd.DataFrame([{"stopped_by_clock": True}])}
    r.steps = []
    assert r.exit_code() == 3
    r.steps = [StepOutcome("map", "failed", message="x")]
    assert r.exit_code() == 4


def test_compute_without_isolation_raises(city, monkeypatch):
    from planner.api import compute_run
    from planner.inputs.load import load_inputs
    from planner.inputs.norms import load_norms
    from planner.inputs.scenario import read_scenario

    monkeypatch.setattr("planner.pipeline.school_indicators", boom)
    inputs = load_inputs(read_scenario(city.write()))
    with pytest.raises(RuntimeError, match="boom"):
        compute_run(inputs, load_norms("guangdong"), forecast=None, isolate=False)
    res = compute_run(inputs, load_norms("guangdong"), forecast=None)
    assert res.status("equity") == "failed" and "needs" in res.tables


def test_internal_error_writes_a_crash_report(city, tmp_path, monkeypatch):
    def crash(*_a, **_k):
        raise ZeroDivisionError("unexpected")

    monkeypatch.setattr("planner.api.compute", crash)
    out = tmp_path / "runs" / "out"
    r = _run(city.write(), out)
    assert r.exit_code == errors.EXIT_INTERNAL
    assert "internal error" in r.output and "Traceback" not in r.output
    (report,) = (tmp_path / "runs").glob("planner-crash-*.txt")
    text = report.read_text(encoding="utf-8")
    assert "ZeroDivisionError: unexpected" in text and "scenario.toml" in text
    assert "numpy" in text and "python" in text
    assert not out.exists() and not list((tmp_path / "runs").glob(".out.lock"))


def test_validate_crash_report_beside_the_scenario(city, monkeypatch):
    monkeypatch.setattr("planner.inputs.load.cross_check", lambda *a, **k: 1 / 0)
    r = CliRunner().invoke(app, ["validate", str(city.write())])
    assert r.exit_code == 70 and "Traceback" not in r.output
    assert list(city.root.glob("planner-crash-*.txt"))


# ------------------------------------------------------------------- the output folder


def test_overwrite_replaces_only_a_previous_run(city, tmp_path):
    sc = city.write()
    mine = tmp_path / "my documents"
    mine.mkdir()
    (mine / "报告.docx").write_bytes(b"precious")
    r = _run(sc, mine, "--overwrite")
    assert r.exit_code == 2 and "manifest.json" in r.output
    assert (mine / "报告.docx").read_bytes() == b"precious"
    # a previous run's folder is replaced
    out = tmp_path / "out"
    assert _run(sc, out).exit_code == 0
    (out / "note.txt").write_text("old", encoding="utf-8")
    assert _run(sc, out, "--overwrite").exit_code == 0
    assert not (out / "note.txt").exists() and (out / "manifest.json").exists()


def test_out_is_checked_before_computing(city, tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr("planner.inputs.load.load_inputs", lambda *a, **k: called.append(1))
    (tmp_path / "taken").mkdir()
    r = _run(city.write(), tmp_path / "taken")
    assert r.exit_code == 2 and "already exists" in r.output
    assert called == []


def test_a_second_run_to_a_locked_folder_refuses(city, tmp_path):
    from planner.outputs.writers import OutputFolder

    out = tmp_path / "out"
    first = OutputFolder(out)  # a run in progress holds the lock
    try:
        r = _run(city.write(), out)
        assert r.exit_code == 2 and "being written by another planner run" in r.output
        assert f"pid {os.getpid()}" in r.output
    finally:
        first.release()
    assert _run(city.write(), out).exit_code == 0


def test_stale_lock_and_partial_folders_of_dead_runs_are_cleaned(city, tmp_path):
    import socket

    out = tmp_path / "out"
    dead = 2**22 + 12345  # beyond the default pid range: not a live process
    lock = tmp_path / ".out.lock"
    lock.write_text(
        json.dumps({"pid": dead, "host": socket.gethostname(), "started": time.time()}),
        encoding="utf-8",
    )
    partial = tmp_path / f".out.partial-{dead}-abcdef12"
    partial.mkdir()
    (partial / "needs.csv").write_text("x", encoding="utf-8")
    old = tmp_path / ".out.partial-1-00000000"  # pid 1 is alive, but the folder is old
    old.mkdir()
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    r = _run(city.write(), out)
    assert r.exit_code == 0, r.output
    assert not partial.exists() and not old.exists() and not lock.exists()


def test_a_live_lock_elsewhere_is_respected_until_a_day_old(tmp_path):
    from planner.errors import OutputFolderError
    from planner.outputs.writers import OutputFolder

    lock = tmp_path / ".out.lock"
    lock.write_text(
        json.dumps({"pid": 1, "host": "another-host", "started": time.time()}), encoding="utf-8"
    )
    with pytest.raises(OutputFolderError, match="another-host"):
        OutputFolder(tmp_path / "out")
    lock.write_text(
        json.dumps({"pid": 1, "host": "another-host", "started": time.time() - 2 * 86400}),
        encoding="utf-8",
    )
    OutputFolder(tmp_path / "out").release()


# ------------------------------------------------------------------- validate


def test_validate_groups_problems_and_writes_the_full_list(city):
    rows = "".join(f"S{i},坏小学{i},小学,公办,113.31,22.51,缺,{i}\n" for i in range(10, 60))
    city.schools_csv += rows
    sc = city.write()
    r = CliRunner().invoke(app, ["validate", str(sc)], terminal_width=200)
    assert r.exit_code == 1
    assert "Problems by input and code" in r.output and "placeholder_value" in r.output
    assert "50" in r.output  # the group's count
    full = pd.read_csv(sc.with_name("scenario.validation.csv"), encoding="utf-8-sig")
    assert (full["code"] == "placeholder_value").sum() == 50  # every row, none cut off
    assert full["action"].notna().all()
    assert (
        str(full["row"].dtype).startswith("int") or full["row"].dropna().map(float.is_integer).all()
    )


def test_without_a_chinese_font_one_warning_not_a_flood(city, tmp_path, monkeypatch):
    import warnings

    from planner.api import compute_run
    from planner.inputs.load import load_inputs
    from planner.inputs.norms import load_norms
    from planner.inputs.scenario import read_scenario
    from planner.outputs.run_output import write_run

    monkeypatch.setattr("planner.reports.charts.cjk_font", lambda: None)
    result = compute_run(
        load_inputs(read_scenario(city.write())), load_norms("guangdong"), forecast=None
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_run(result, tmp_path / "out")
    fonts = [w for w in caught if "font" in str(w.message)]
    assert len(fonts) == 1 and "fonts-noto-cjk" in str(fonts[0].message)
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert (tmp_path / "out" / "charts" / "demand_capacity_primary.png").exists()
