"""The siting benchmark scripts (benchmarks/siting): readers, optima, format detection, solve.

The scripts' own functions are used: ``data`` (readers, format detection, optima),
``run`` (jobs, sets) and ``common`` (the product's solve call, the plan checks). They
are loaded from ``benchmarks/siting`` under their plain names and then taken out of
``sys.modules`` again, so no other ``data``/``common`` module is shadowed.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "siting"
_NAMES = ("data", "common", "run", "city")


def _load():
    saved = {k: sys.modules.pop(k) for k in _NAMES if k in sys.modules}
    sys.path.insert(0, str(BENCH))
    try:
        mods = [importlib.import_module(k) for k in _NAMES]
    finally:
        sys.path.remove(str(BENCH))
        for k in _NAMES:
            sys.modules.pop(k, None)
        sys.modules.update(saved)
    return mods


data, common, run, city = _load()

needs_data = pytest.mark.skipif(not data.DATA.exists(), reason="benchmark data not present")


def _solve_file(path: Path, capacity: float | None = None):
    """Read a file and solve it as the scripts do; returns (solution, checks)."""
    inst, _ = data.read_instance(path, data.detect_format(path), capacity)
    sol = common.solve_as_product(inst)
    return sol, common.check_plan(sol)


# ----------------------------------------------------------------------------- published optima


@needs_data
@pytest.mark.parametrize(
    ("sub", "file", "fmt"),
    [
        ("orlib_pmed", "pmed1.txt", "pmed"),
        ("orlib_cap", "cap41.txt", "cap"),
        ("orlib_pmedcap", "pmedcap01.txt", "pmedcap"),
    ],
)
def test_published_optimum_through_the_scripts(sub, file, fmt):
    # the optimum comes from where the script looks it up: pmedopt.txt (pmed1 5819),
    # optima.csv (cap41 1040444.375, OR-Library capopt), the file's line 1 (pmedcap01 713)
    path = data.DATA / sub / file
    assert data.detect_format(path) == fmt
    (job,) = run.jobs_for([path], None, None, data.default_optima())
    assert job.known is not None
    expected = {"pmed1": 5819.0, "cap41": 1040444.375, "pmedcap01": 713.0}[path.stem]
    assert job.known.value == expected
    sol, problems = _solve_file(path)
    assert problems == []
    assert sol.objective == pytest.approx(expected, rel=1e-9)
    assert common.matches(sol.objective, job.known.value)
    assert sol.bound <= expected * (1 + 1e-9)


@needs_data
def test_pmed_range_set_and_optima():
    files = run.set_files("pmed1-30")
    assert [f.stem for f in files[:3]] == ["pmed1", "pmed2", "pmed3"]
    assert len(files) == 30
    jobs = run.jobs_for(files, None, None, data.default_optima())
    assert jobs[29].known.value == 1989.0  # pmedopt.txt: pmed30 1989
    with pytest.raises(data.BenchFileError, match="unknown set"):
        run.set_files("pmedx")


@needs_data
def test_cap_set_expands_capa_at_its_published_settings():
    files = run.set_files("cap")
    jobs = run.jobs_for(files, None, None, data.default_optima())
    capa = [j for j in jobs if j.path.stem == "capa"]
    assert [j.capacity for j in capa] == [8000, 10000, 12000, 14000]
    assert capa[0].name == "capa:8000"
    assert capa[0].known.value == 19240822.449
    names = [j.name for j in jobs]
    assert names.index("cap41") < names.index("cap104") < names.index("capa:8000")


# ----------------------------------------------------------------------------- capacity files

# a capb-like file: 2 warehouses whose capacity is the word, 2 customers
CAPX = """ 2 2
 capacity 10.
 capacity 20.
 3
 6. 12.
 4
 8. 4.
"""


def test_capacity_word_file_solved_at_each_setting(tmp_path):
    # Q = 5: one warehouse cannot hold 3 + 4 → both open (10 + 20) + 6 + 4 = 40.
    # Q = 8: warehouse 1 alone: 10 + 6 + 8 = 24 (warehouse 2 alone 36, both 40) → 24.
    path = tmp_path / "capx.txt"
    path.write_text(CAPX)
    opt = tmp_path / "optima.csv"
    opt.write_text("instance,capacity,optimum,source\ncapx,5,40,hand\ncapx,8,24,hand\n")
    assert data.detect_format(path) == "cap"
    assert data.cap_needs_capacity(path)
    user = data.Optima().read(opt)
    jobs = run.jobs_for([path], None, None, data.default_optima(), None, user)
    assert [(j.name, j.known.value) for j in jobs] == [("capx:5", 40.0), ("capx:8", 24.0)]
    for job in jobs:
        sol, problems = _solve_file(path, job.capacity)
        assert problems == []
        assert sol.objective == pytest.approx(job.known.value, rel=1e-9)
        assert sol.proven_optimal
    with pytest.raises(data.BenchFileError, match="--capacity Q"):
        data.read_cap(path)
    with pytest.raises(data.BenchFileError, match="no published setting"):
        run.jobs_for([path], None, None, data.default_optima())


def test_shipped_optima_hold_every_capacity_setting():
    opt = data.default_optima()
    assert opt.capacities("capa") == [8000, 10000, 12000, 14000]
    assert opt.capacities("capb") == [5000, 6000, 7000, 8000]
    assert opt.capacities("capc") == [5000, 5750, 6500, 7250]
    assert opt.get("capb", 5000).value == 13656379.578
    assert opt.get("cap134").value == 928941.750
    assert opt.get("sjc3a").value == 45335.16  # names compare case-insensitively
    assert all(opt.get(f"cap{k}") is not None for k in (41, 51, 64, 104, 111, 124, 131))


# ----------------------------------------------------------------------------- --optimum, --optima


@pytest.mark.parametrize(
    ("text", "value"),
    [("5819", 5819.0), ("1,040,444.375", 1040444.375), ("1e6", 1e6), (" 17288.99 ", 17288.99)],
)
def test_parse_optimum(text, value):
    assert data.parse_optimum(text) == value


@pytest.mark.parametrize("text", ["abc", "nan", "inf", ""])
def test_parse_optimum_refuses(text):
    with pytest.raises(data.BenchFileError, match="--optimum"):
        data.parse_optimum(text)


def test_optimum_applies_to_one_solve(tmp_path):
    path = tmp_path / "capx.txt"
    path.write_text(CAPX)
    (job,) = run.jobs_for([path], None, [8.0], data.default_optima(), 24.0)
    assert (job.known.value, job.known.source) == (24.0, "--optimum")
    with pytest.raises(data.BenchFileError, match="one instance"):
        run.jobs_for([path], None, [5.0, 8.0], data.default_optima(), 24.0)


def test_main_reports_usage_errors(tmp_path, capsys):
    path = tmp_path / "capx.txt"
    path.write_text(CAPX)
    assert run.main([str(path), "--capacity", "5", "8", "--optimum", "40"]) == 2
    assert "--optimum applies to one instance" in capsys.readouterr().err
    assert run.main([str(path), "--optimum", "x1"]) == 2
    assert "is not a number" in capsys.readouterr().err


def test_main_solves_a_file_and_flags_a_wrong_optimum(tmp_path, capsys):
    path = tmp_path / "capx.txt"
    path.write_text(CAPX)
    assert run.main([str(path), "--capacity", "8", "--optimum", "24"]) == 0
    out = capsys.readouterr().out
    assert "capx:8" in out and "Optimal" in out
    # a wrong "optimum" is flagged (status 1): above the plan, or below the proven bound
    assert run.main([str(path), "--capacity", "8", "--optimum", "30"]) == 1
    assert "PLAN BELOW OPTIMUM: 24 < 30" in capsys.readouterr().out
    assert run.main([str(path), "--capacity", "8", "--optimum", "20"]) == 1
    assert "INVALID BOUND: 24 > optimum 20" in capsys.readouterr().out


def test_optima_files(tmp_path):
    table = tmp_path / "pmedopt.txt"
    table.write_text("Data file   Optimal solution value\npmed1 5819\npmed2 4093\n")
    opt = data.Optima().read(table)
    assert opt.get("PMED2").value == 4093.0
    bad = tmp_path / "bad.csv"
    bad.write_text("instance,capacity,optimum,source\ncap41,,x,here\n")
    with pytest.raises(data.BenchFileError, match="row 2"):
        data.Optima().read(bad)
    short = tmp_path / "short.csv"
    short.write_text("instance,optimum\ncap41,1\n")
    with pytest.raises(data.BenchFileError, match="missing capacity, source"):
        data.Optima().read(short)


# ----------------------------------------------------------------------------- format detection


@needs_data
@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("orlib_pmed/pmed30.txt", "pmed"),
        ("orlib_pmedcap/pmedcap10.txt", "pmedcap"),
        ("lorena_senne_sjc/SJC3a.dat", "sjc"),
        ("orlib_cap/cap104.txt", "cap"),
        ("orlib_cap/capa.txt", "cap"),
    ],
)
def test_detect_shipped_formats(rel, fmt):
    assert data.detect_format(data.DATA / rel) == fmt


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (" 4 3 2\n 1 2 5\n 2 3 1\n 3 4 2\n", "pmed"),
        (" 1 713\r\n 3 1 120\r\n 1 2 62 3\r\n 2 80 25 14\r\n 3 1 1 1\r\n", "pmedcap"),
        ("2 1\r\n  0 0 10 5\r\n  3 4 10 5\r\n", "sjc"),
        (" 2 1\n 50 7.5\n 50 7.5\n 3\n 1. 2.\n", "cap"),
        (CAPX, "cap"),
    ],
)
def test_detect_format_from_content_not_name(tmp_path, text, fmt):
    path = tmp_path / "instance.data"  # the name tells nothing
    path.write_text(text)
    assert data.detect_format(path) == fmt


def test_detect_format_falls_back_to_the_name_then_refuses(tmp_path):
    odd = "just one line\n"
    (tmp_path / "SJC9.dat").write_text(odd)
    assert data.detect_format(tmp_path / "SJC9.dat") == "sjc"
    (tmp_path / "mystery.txt").write_text(odd)
    with pytest.raises(data.BenchFileError, match="--format"):
        data.detect_format(tmp_path / "mystery.txt")


def test_readers_name_the_file_and_what_is_wrong(tmp_path):
    short = tmp_path / "pmed_short.txt"
    short.write_text(" 4 3 2\n 1 2 5\n")
    with pytest.raises(data.BenchFileError, match=r"pmed_short.txt.*3 edges"):
        data.read_instance(short)
    bad = tmp_path / "pmed_bad.txt"
    bad.write_text(" 3 1 1\n 1 9 5\n")
    with pytest.raises(data.BenchFileError, match="line 2: vertex"):
        data.read_instance(bad)


def test_pmed_reader_keeps_the_last_duplicate_edge(tmp_path):
    # edge 1–2 given twice: the LAST value (10) counts, so d(1, 2) = min(10, 1 + 1) = 2 via 3
    path = tmp_path / "dup.txt"
    path.write_text(" 3 4 1\n 1 2 1\n 2 3 1\n 1 3 1\n 1 2 10\n")
    inst, n = data.read_pmed(path)
    dense = inst.cost.toarray()
    assert n == 3 and dense[0, 1] == 2.0 and dense[0, 2] == 1.0


# ----------------------------------------------------------------------------- plan checks


def test_check_plan_catches_a_broken_plan(tmp_path):
    path = tmp_path / "capx.txt"
    path.write_text(CAPX)
    sol, problems = _solve_file(path, 8.0)
    assert problems == []
    sol.flow = sol.flow * 0.5
    assert "served + unserved ≠ demand" in "; ".join(common.check_plan(sol))
    sol.flow = sol.flow * 4.0
    msg = "; ".join(common.check_plan(sol))
    assert "capacity exceeded" in msg and "objective" in msg
    sol.flow = sol.flow / 2.0
    assert "PLAN BELOW OPTIMUM" in "; ".join(common.check_plan(sol, 30.0))


def test_phased_city_shape():
    inst = city.phased_city(300, 40, 4, rng=np.random.default_rng(3))
    assert (inst.n, inst.F, inst.O, inst.P) == (300, 40, 120, 4)
    assert np.all(inst.capacity == 0) and not inst.uncapacitated
    assert inst.option_earliest.min() == 0 and inst.option_earliest.max() <= 3
    total = inst.demand.sum(axis=0)
    assert np.all(np.diff(total) > 0)  # demand grows over the periods
    # same seed → same instance
    again = city.phased_city(300, 40, 4, rng=np.random.default_rng(3))
    assert np.array_equal(inst.demand, again.demand)
    assert (inst.cost != again.cost).nnz == 0


# ----------------------------------------------------------------------------- engine problems


@pytest.mark.slow  # benchmark-like: minutes (make test-slow)
def test_every_highs_run_is_bounded_by_the_safety_cap(monkeypatch):
    import highspy

    seen = []
    original = highspy.Highs.run

    def spy(self):
        value = self.getOptionValue("time_limit")
        seen.append(value[1] if isinstance(value, tuple) else value)
        return original(self)

    monkeypatch.setattr(highspy.Highs, "run", spy)
    inst = city.phased_city(400, 60, 3, rng=np.random.default_rng(1))
    common.solve_as_product(inst, 1000.0)
    assert seen  # the LP relaxation ran
    assert all(v <= 1000.0 for v in seen), f"HiGHS time limits seen: {sorted(set(seen))}"


@pytest.mark.slow  # benchmark-like: minutes (make test-slow)
@needs_data
def test_sjc3a_within_one_percent_of_its_optimum():
    sol, problems = _solve_file(data.DATA / "lorena_senne_sjc" / "SJC3a.dat")
    assert problems == []
    assert sol.objective <= 45335.16 * 1.01
    assert sol.gap <= 0.01


def _capa_head(k: int):
    """capa's first ``k`` customers, capacity 8000 scaled by their share of the demand."""
    from planner.siting import SitingInstance

    tok = (data.DATA / "orlib_cap" / "capa.txt").read_text().split()
    m, n = int(tok[0]), int(tok[1])
    fixed = np.array(tok[2 : 2 + 2 * m][1::2], float)
    body = np.array(tok[2 + 2 * m : 2 + 2 * m + n * (m + 1)], float).reshape(n, m + 1)
    q = 8000.0 * body[:k, 0].sum() / body[:, 0].sum()
    return SitingInstance.from_cost_matrix(
        body[:k, 1:], body[:k, 0], capacity=np.full(m, q), fixed_cost=fixed, weight=np.ones(k)
    )


@pytest.mark.slow  # benchmark-like: minutes (make test-slow)
@needs_data
@pytest.mark.xfail(
    strict=False,
    reason="engine (issue 12, point 6): a dense CFLP (every customer reaches every site) "
    "has an LP of 22,306 simplex iterations here, above mip_max_lp_iterations, so no exact "
    "step; the LP bound and the Lagrangian second start leave a 3.5 % gap (capa:8000: plan "
    "+0.24 % of its optimum, gap 2.4 %). Known limit, reported in benchmarks/siting/README.md",
)
def test_cflp_with_61000_pairs_gets_a_proven_gap():
    # capa's first 610 customers (61,000 pairs, just above the exact step's 60,000 columns)
    sol = common.solve_as_product(_capa_head(610))
    assert common.check_plan(sol) == []
    assert 0.0 <= sol.gap <= 0.01
