"""`planner run` on every malformed variant of the demo (tests/corpus): no traceback, the
expected problem code and exit code, and the outputs the problem does not touch unchanged.

The variants and their expectations are data (tests/corpus/generate.py, expected.csv).
The fast ones run in every suite; the rest are marked slow (each run takes seconds).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app

CORPUS = Path(__file__).resolve().parent / "corpus"
ALL_TABLES = (
    "needs",
    "needs_city",
    "compliance",
    "school_capacity",
    "equity_schools",
    "equity_summary",
    "class_sizes",
    "rooms",
)


def _generator():
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _generator()
EXPECTED = GEN.expected()
ROWS = {r["variant"]: r for r in EXPECTED.to_dict("records")}


def test_every_variant_has_an_expectation():
    assert set(ROWS) == set(GEN.VARIANTS)
    assert len(ROWS) >= 40
    for r in ROWS.values():
        assert r["exit"] in {"0", "1", "2", "3", "4"}, r
        # a completed run always compares the outputs the problem does not touch
        assert r["exit"] != "0" or r["unchanged"], r
        assert r["code"] and r["behaviour"], r


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return root, GEN.generate(root)


def _run(scenario: Path, out: Path):
    return CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])


@pytest.fixture(scope="session")
def reference(corpus):
    root, paths = corpus
    out = root / "out-reference"
    r = _run(paths["base"], out)
    assert r.exit_code == 0, r.output
    return out


def _read(folder: Path, table: str) -> pd.DataFrame | None:
    p = folder / f"{table}.csv"
    if not p.exists():
        return None
    df = pd.read_csv(p, encoding="utf-8-sig", dtype={"unit_id": str, "school_id": str})
    return df.drop(columns=[c for c in ("data_flags",) if c in df.columns])


def _ids(text: str) -> list[str]:
    return [t for t in str(text).split(";") if t]


def _check_variant(name: str, corpus, reference) -> None:
    root, paths = corpus
    exp = ROWS[name]
    out = root / f"out-{name}"
    r = _run(paths[name], out)
    # no traceback, never the internal-error code
    assert "Traceback" not in r.output, r.output
    assert r.exit_code != 70, r.output
    if r.exception is not None:
        assert isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == int(exp["exit"]), f"{name}: exit {r.exit_code}\n{r.output}"
    if exp["output"]:
        assert exp["output"] in r.output, r.output
    # the expected problem codes: in the run's validation.csv, or beside the scenario
    if r.exit_code in (0, 3, 4):
        val = pd.read_csv(out / "validation.csv", encoding="utf-8-sig")
    elif r.exit_code == 1:
        val = pd.read_csv(paths[name].with_name("scenario.validation.csv"), encoding="utf-8-sig")
    else:
        val = None
    if exp["code"] == "-":
        if val is not None:
            errors = val.loc[val["severity"] == "error"]
            assert errors.empty, errors.to_string()
    else:
        got = set(val["code"])
        assert set(_ids(exp["code"])) <= got, (name, sorted(got))
        # every problem says what the run does about it
        assert val["action"].notna().all()
    if r.exit_code not in (0, 3, 4):
        assert not out.exists()
        return
    status = pd.read_csv(out / "run_status.csv", encoding="utf-8-sig")
    assert not (status["status"] == "failed").any(), status.to_string()
    needs = pd.read_csv(out / "needs.csv", encoding="utf-8-sig")
    num = needs.select_dtypes("number")
    assert np.isfinite(num.to_numpy(float)[~np.isnan(num.to_numpy(float))]).all()
    assert (num.abs().fillna(0) < 1e13).all().all(), "an overflowed count"
    assert (needs["population"] >= 0).all() and (needs["seat_gap"] >= 0).all()
    # the outputs the problem does not touch are unchanged
    tables = ALL_TABLES if exp["unchanged"] == "all" else tuple(_ids(exp["unchanged"]))
    units = set(_ids(exp["except_units"]))
    schools = set()
    for s in _ids(exp["except_schools"]):
        if s.startswith("unit:"):
            cap = _read(reference, "school_capacity")
            schools |= set(cap.loc[cap["unit_id"] == s[5:], "school_id"])
        else:
            schools.add(s)
    for t in tables:
        a, b = _read(reference, t), _read(out, t)
        assert a is not None and b is not None, (name, t)
        if "school_id" in a.columns and schools:
            a = a.loc[~a["school_id"].isin(schools)]
            b = b.loc[~b["school_id"].isin(schools)]
        elif "unit_id" in a.columns and units:
            a = a.loc[~a["unit_id"].isin(units)]
            b = b.loc[~b["unit_id"].isin(units)]
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), obj=f"{name}: {t}.csv"
        )
    for check in _ids(exp["checks"]):
        _extra_check(check, out, needs)


def _extra_check(check: str, out: Path, needs: pd.DataFrame) -> None:
    kind, _, arg = check.partition(":")
    if kind == "excluded":
        ex = pd.read_csv(out / "excluded_rows.csv", encoding="utf-8-sig", dtype=str)
        assert arg in set(ex["id"]), ex.to_string()
    elif kind == "flag":
        flags = needs.loc[needs["unit_id"] == arg, "data_flags"]
        assert flags.notna().all() and (flags.astype(str).str.len() > 0).all()
    elif kind == "map_written":
        assert (out / "map.html").exists()
    elif kind == "no_data":
        eq = pd.read_csv(out / "equity_summary.csv", encoding="utf-8-sig")
        row = eq.loc[eq["indicator"] == arg]
        assert len(row) and row["cv"].isna().all() and row["cv_ok"].isna().all()
    elif kind == "no_formulas":
        from openpyxl import load_workbook

        wb = load_workbook(out / "results.xlsx")
        formulas = [
            c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"
        ]
        assert formulas == []
        names = set()
        for ws in wb:
            for row in ws.iter_rows():
                names |= {c.value for c in row if isinstance(c.value, str)}
        # the text itself is kept (cells are read without surrounding white space)
        assert {n.strip() for n in GEN.HOSTILE_NAMES.values()} <= names
        comp = (out / "compliance.csv").read_text(encoding="utf-8-sig")
        assert "'=cmd|' /C calc'!A0" in comp and "\n=" not in comp and ",=" not in comp
        assert ",'@SUM(A1:A9)," in comp and ",'+1+1," in comp
    else:  # pragma: no cover - a typo in expected.csv
        raise AssertionError(f"unknown check {check!r}")


FAST = [n for n, r in ROWS.items() if r["fast"] == "1"]
SLOW = [n for n in ROWS if n not in FAST]


@pytest.mark.parametrize("name", FAST)
def test_corpus_fast(name, corpus, reference):
    _check_variant(name, corpus, reference)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_corpus(name, corpus, reference):
    _check_variant(name, corpus, reference)
