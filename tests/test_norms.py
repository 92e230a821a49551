"""Norms files: values, inheritance, overrides, sources."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.errors import NormsError, UnknownKeyError
from planner.io.norms import available_norms, load_norms

GD = load_norms("guangdong")


def test_bundled_norms():
    assert {"guangdong", "zhongshan_urban"} <= set(available_norms())


def test_guangdong_values():
    assert (GD.per_thousand("primary"), GD.per_thousand("junior")) == (80, 40)
    assert (GD.class_cap("primary"), GD.class_cap("junior")) == (45, 50)
    assert GD.school_size_cap("primary") == 2000 and GD.school_size_cap("nine_year") == 2500
    assert GD["equity.teachers_qualified_per_100.junior"] == 5.3
    assert GD["equity.sports_area_per_pupil.junior"] == 10.2
    assert GD["equity.cv_limit.primary"] == 0.5 and GD["equity.cv_limit.junior"] == 0.45
    assert GD.standard_sizes("primary") == [12, 18, 24, 30, 36]
    assert (
        GD.service_radius("urban", "primary") == 500
        and GD.service_radius("urban", "junior") == 1000
    )
    seven = [
        k for k in GD if k.startswith("equity.") and k.endswith(".primary") and "cv_limit" not in k
    ]
    assert len(seven) == 7


def test_every_entry_has_unit_and_source():
    for name in available_norms():
        df = load_norms(name).to_frame()
        assert (df["source"].str.len() > 5).all() and (df["unit"].str.len() > 0).all(), name


def test_zhongshan_inherits_and_overrides():
    zs = load_norms("zhongshan_urban")
    assert (zs.per_thousand("primary"), zs.per_thousand("junior")) == (95, 45)
    assert zs.class_cap("primary") == 45
    assert zs.entry("class_cap.primary").defined_in == "guangdong"
    assert zs.entry("seats_per_thousand.primary").defined_in == "zhongshan_urban"


def test_unknown_key_suggests_closest():
    with pytest.raises(UnknownKeyError, match=r"Did you mean 'class_cap\.primary'"):
        GD["class_cap.primery"]
    with pytest.raises(UnknownKeyError, match=r"Did you mean 'seats_per_thousand\.junior'"):
        GD.with_overrides({"seats_per_thousand.junoir": 50})
    with pytest.raises(UnknownKeyError, match="Did you mean 'guangdong'"):
        load_norms("guangdon")


def test_bad_overrides_refused():
    with pytest.raises(NormsError, match="same kind"):
        GD.with_overrides({"class_cap.primary": "forty"})
    with pytest.raises(NormsError, match="negative"):
        GD.with_overrides({"seats_per_thousand.primary": -1})
    o = GD.with_overrides({"class_cap.primary": 40})
    assert o.class_cap("primary") == 40 and GD.class_cap("primary") == 45
    assert "scenario override (was 45" in o.entry("class_cap.primary").source


def test_inheritance_cycle_and_missing_source(tmp_path):
    (tmp_path / "a.toml").write_text('[meta]\ninherits = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('[meta]\ninherits = "a.toml"\n', encoding="utf-8")
    with pytest.raises(NormsError, match="cycle"):
        load_norms(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('[x.y]\nvalue = 1\nunit = "m"\n', encoding="utf-8")
    with pytest.raises(NormsError, match="lacks source"):
        load_norms(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text(
        '[meta]\ninherits = "guangdong"\n[class_cap.primary]\nvalue = 40\n'
        'unit = "pupils per class"\nsource = "local rule"\n',
        encoding="utf-8",
    )
    d = load_norms(tmp_path / "d.toml")
    assert d.class_cap("primary") == 40 and d.per_thousand("primary") == 80


@given(st.integers(0, 200), st.integers(0, 100))
def test_raising_per_thousand_never_lowers_it(base, extra):
    lo = GD.with_overrides({"seats_per_thousand.primary": base})
    hi = GD.with_overrides({"seats_per_thousand.primary": base + extra})
    assert hi.per_thousand("primary") >= lo.per_thousand("primary")


def test_docs_are_current():
    from pathlib import Path

    from planner.docs import render_all

    docs = Path(__file__).resolve().parents[1] / "docs"
    for name, text in render_all().items():
        assert (docs / name).read_text(encoding="utf-8") == text, f"run `make docs` ({name})"
