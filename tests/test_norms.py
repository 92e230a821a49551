"""Norms files: values, inheritance, overrides, sources, generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.errors import NormsError, UnknownKeyError
from planner.inputs.norms import available_norms, load_norms, norms_dir
from planner.norms import NormEntry, Norms

GD = load_norms("guangdong")

# the seven resource indicators of 教督〔2017〕6号 (B1–B7): (key, primary, junior)
SEVEN = [
    ("equity.teachers_qualified_per_100", 4.2, 5.3),
    ("equity.teachers_backbone_per_100", 1, 1),
    ("equity.teachers_pe_arts_per_100", 0.9, 0.9),
    ("equity.teaching_area_per_pupil", 4.5, 5.8),
    ("equity.sports_area_per_pupil", 7.5, 10.2),
    ("equity.equipment_value_per_pupil", 2000, 2500),
    ("equity.multimedia_rooms_per_100", 2.3, 2.4),
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- bundled files ----------------------------------------------------------------------
def test_bundled_norms():
    assert {"guangdong", "zhongshan_urban"} <= set(available_norms())
    assert (norms_dir() / "guangdong.toml").is_file()
    assert GD.name == "guangdong" and GD.meta["name"] == "guangdong"
    assert "inherits" not in GD.meta


def test_guangdong_values():
    assert (GD.per_thousand("primary"), GD.per_thousand("junior")) == (80, 40)
    assert (GD.class_cap("primary"), GD.class_cap("junior")) == (45, 50)
    assert GD.school_size_cap("primary") == GD.school_size_cap("junior") == 2000
    assert GD.school_size_cap("nine_year") == GD.school_size_cap("twelve_year") == 2500
    assert GD["equity.cv_limit.primary"] == 0.5 and GD["equity.cv_limit.junior"] == 0.45
    assert GD["equity.min_indicators_met"] == 6
    assert GD["equity.remaining_indicator_share"] == 0.85
    assert GD["equity.min_pupils_per_teaching_point"] == 50
    assert GD["rooms.classes_per_music_room"] == GD["rooms.classes_per_art_room"] == 12
    assert (GD["rooms.music_room_min_area"], GD["rooms.art_room_min_area"]) == (96, 90)
    assert GD.standard_sizes("primary") == [12, 18, 24, 30, 36]
    assert GD.standard_sizes("junior") == [12, 18, 24, 30]
    assert GD.standard_sizes("nine_year") == [18, 27, 36, 45]
    assert GD.service_radius("urban", "primary") == 500
    assert GD.service_radius("urban", "junior") == 1000
    for kind in ("town", "rural"):
        assert GD.service_radius(kind, "primary") < GD.service_radius(kind, "junior")
        assert "ASSUMPTION" in GD.entry(f"service_radius.{kind}.primary").note
    assert (GD["near_school_share.primary"], GD["near_school_share.junior"]) == (1.0, 0.95)
    assert GD["migrant_public_share"] == 0.85
    assert GD["boarding.min_per_rural_town"] == 1


@pytest.mark.parametrize(("key", "primary", "junior"), SEVEN)
def test_seven_resource_thresholds(key, primary, junior):
    assert GD[f"{key}.primary"] == primary and GD[f"{key}.junior"] == junior
    assert "教督〔2017〕6号" in GD.entry(f"{key}.primary").source
    indicators = {k.rsplit(".", 1)[0] for k in GD if k.startswith("equity.") and k.count(".") == 2}
    assert indicators - {"equity.cv_limit"} == {k for k, _, _ in SEVEN}


def test_every_entry_has_unit_and_source():
    for name in available_norms():
        norms = load_norms(name)
        for e in norms.entries():
            assert isinstance(e, NormEntry)
            assert e.source.strip() and e.unit.strip() and e.zh.strip(), (name, e.key)
        df = norms.to_frame()
        assert list(df.columns) == ["key", "value", "unit", "zh", "source", "note", "defined_in"]
        assert len(df) == len(norms) and (df["source"].str.len() > 5).all(), name


def test_zhongshan_inherits_and_overrides():
    zs = load_norms("zhongshan_urban")
    assert zs.meta["inherits"] == "guangdong"
    assert (zs.per_thousand("primary"), zs.per_thousand("junior")) == (95, 45)
    assert zs.class_cap("primary") == 45 and zs.class_cap("junior") == 50
    assert zs.entry("class_cap.primary").defined_in == "guangdong"
    assert zs.entry("seats_per_thousand.primary").defined_in == "zhongshan_urban"
    assert set(zs) == set(GD)
    assert (
        zs.entry("seats_per_thousand.primary").unit == GD.entry("seats_per_thousand.primary").unit
    )


# -- errors -----------------------------------------------------------------------------
def test_unknown_key_suggests_closest():
    with pytest.raises(UnknownKeyError, match=r"Did you mean 'class_cap\.primary'"):
        GD["class_cap.primery"]
    with pytest.raises(UnknownKeyError, match=r"Did you mean 'class_cap\.primary'"):
        GD.entry("class_cap.primery")
    with pytest.raises(UnknownKeyError, match=r"Did you mean 'seats_per_thousand\.junior'"):
        GD.with_overrides({"seats_per_thousand.junoir": 50})
    with pytest.raises(UnknownKeyError, match="Did you mean 'primary'"):
        GD.class_cap("primery")
    assert GD.get("class_cap.primery") is None and "class_cap.primary" in GD


def test_unknown_norms_name_suggests_closest():
    with pytest.raises(UnknownKeyError, match="Did you mean 'guangdong'") as info:
        load_norms("guangdon")
    assert info.value.suggestion == "guangdong"
    with pytest.raises(UnknownKeyError, match="Did you mean 'zhongshan_urban'"):
        load_norms("zhongshan")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("class_cap.primary", "forty", "non-negative number"),
        ("class_cap.primary", "45", "got str"),
        ("class_cap.primary", True, "got bool"),
        ("seats_per_thousand.primary", -1, "negative"),
        ("seats_per_thousand.primary", float("nan"), "finite"),
        ("near_school_share.junior", 95, "between 0 and 1"),
        ("standard_sizes.primary", 24, "list"),
        ("standard_sizes.primary", [12, "x"], "non-numbers"),
    ],
)
def test_bad_overrides_refused(key, value, expected):
    with pytest.raises(NormsError, match=expected) as info:
        GD.with_overrides({key: value})
    assert key in str(info.value)


def test_override_keeps_unit_and_notes_source():
    o = GD.with_overrides({"class_cap.primary": 40, "standard_sizes.junior": (12, 24)})
    assert o.class_cap("primary") == 40 and GD.class_cap("primary") == 45
    e = o.entry("class_cap.primary")
    assert e.unit == GD.entry("class_cap.primary").unit and e.zh == GD.entry("class_cap.primary").zh
    assert e.source.startswith("scenario override (was 45") and e.defined_in == "scenario"
    assert o.standard_sizes("junior") == [12, 24]
    assert load_norms("guangdong", overrides={"class_cap.junior": 45}).class_cap("junior") == 45
    assert o.meta == GD.meta


def test_norms_is_read_only():
    with pytest.raises(TypeError):
        GD["class_cap.primary"] = 40  # type: ignore[index]
    with pytest.raises(AttributeError):
        GD.extra = 1  # type: ignore[attr-defined]


# -- pure construction ------------------------------------------------------------------
BASE = {
    "meta": {"name": "base"},
    "class_cap": {"primary": {"value": 45, "unit": "pupils per class", "source": "B12"}},
    "seats_per_thousand": {
        "primary": {"value": 80, "unit": "seats per 1,000 residents", "source": "plan"}
    },
}


def test_from_dicts_layers():
    top = {
        "meta": {"name": "top", "inherits": "base"},
        "class_cap": {"primary": {"value": 40, "unit": "pupils per class", "source": "local"}},
    }
    n = Norms.from_dicts([BASE, top], name="top")
    assert n["class_cap.primary"] == 40 and n["seats_per_thousand.primary"] == 80
    assert n.entry("class_cap.primary").defined_in == "top"
    assert n.entry("seats_per_thousand.primary").defined_in == "base"
    assert sorted(n.keys()) == ["class_cap.primary", "seats_per_thousand.primary"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"x": {"y": {"value": 1, "unit": "m"}}}, r"'x\.y' lacks source"),
        ({"x": {"y": {"unit": "m", "source": "s"}}}, r"'x\.y' lacks value"),
        ({"x": {"y": {}}}, r"'x\.y' lacks value, unit, source"),
        ({"x": {"y": 3}}, r"'x\.y' must be a table"),
        ({"x": {"value": 1, "unit": "m", "source": "s", "colour": "red"}}, "unknown field"),
        ({"x": {"value": -1, "unit": "m", "source": "s"}}, "negative"),
        ({"x": {"value": 1, "unit": "m", "source": " "}}, "empty source"),
    ],
)
def test_malformed_norms_refused(table, message):
    with pytest.raises(NormsError, match=message) as info:
        Norms.from_dicts([(table, "bad.toml")], name="bad")
    assert "bad.toml" in str(info.value)


def test_layer_cannot_change_kind():
    top = {"class_cap": {"primary": {"value": "45", "unit": "pupils per class", "source": "s"}}}
    with pytest.raises(NormsError, match=r"class_cap\.primary.*inherited"):
        Norms.from_dicts([BASE, (top, "top.toml")], name="top")


# -- files --------------------------------------------------------------------------------
def test_inheritance_cycle_and_missing_source(tmp_path):
    write(tmp_path / "a.toml", '[meta]\ninherits = "b.toml"\n')
    write(tmp_path / "b.toml", '[meta]\ninherits = "a.toml"\n')
    with pytest.raises(NormsError, match="cycle"):
        load_norms(tmp_path / "a.toml")
    write(tmp_path / "self.toml", '[meta]\ninherits = "self"\n')
    with pytest.raises(NormsError, match="cycle"):
        load_norms(tmp_path / "self.toml")
    write(tmp_path / "c.toml", '[x.y]\nvalue = 1\nunit = "m"\n')
    with pytest.raises(NormsError, match=r"c\.toml.*'x\.y' lacks source"):
        load_norms(tmp_path / "c.toml")


def test_custom_file_inherits_bundled_and_sibling(tmp_path):
    write(
        tmp_path / "d.toml",
        '[meta]\ninherits = "guangdong"\n[class_cap.primary]\nvalue = 40\n'
        'unit = "pupils per class"\nsource = "local rule"\n',
    )
    d = load_norms(tmp_path / "d.toml")
    assert d.class_cap("primary") == 40 and d.per_thousand("primary") == 80
    assert d.entry("class_cap.primary").defined_in == str(tmp_path / "d.toml")
    write(
        tmp_path / "e.toml",
        '[meta]\ninherits = "d.toml"\n[seats_per_thousand.junior]\nvalue = 50\n'
        'unit = "seats per 1,000 residents"\nsource = "district plan"\n',
    )
    e = load_norms(str(tmp_path / "e.toml"))
    assert (e.class_cap("primary"), e.per_thousand("junior"), e.class_cap("junior")) == (40, 50, 50)
    write(tmp_path / "f.toml", '[meta]\ninherits = "missing.toml"\n')
    with pytest.raises(NormsError, match="not found"):
        load_norms(tmp_path / "f.toml")
    with pytest.raises(UnknownKeyError, match="Did you mean 'guangdong'"):
        load_norms(write(tmp_path / "g.toml", '[meta]\ninherits = "guangdon"\n'))


def test_toml_syntax_error_names_file_and_line(tmp_path):
    bad = write(tmp_path / "bad.toml", '[meta]\nname = "bad"\n\n[class_cap.primary]\nvalue = = 4\n')
    with pytest.raises(NormsError, match=r"bad\.toml, line 5") as info:
        load_norms(bad)
    assert "not valid TOML" in str(info.value)


# -- properties ---------------------------------------------------------------------------
@given(
    st.sampled_from(["primary", "junior"]),
    st.one_of(st.integers(0, 500), st.floats(0, 500, allow_nan=False)),
    st.one_of(st.integers(0, 200), st.floats(0, 200, allow_nan=False)),
)
def test_raising_per_thousand_never_lowers_it(stage, base, extra):
    key = f"seats_per_thousand.{stage}"
    lo = GD.with_overrides({key: base})
    hi = GD.with_overrides({key: base + extra})
    assert hi.per_thousand(stage) >= lo.per_thousand(stage)
    if base >= GD[key]:
        assert lo.per_thousand(stage) >= GD.per_thousand(stage)


# -- generated docs -----------------------------------------------------------------------
def test_docs_are_current():
    from planner.docs import check_docs

    stale = check_docs()
    assert stale == {}, "run `python -m planner.docs`:\n" + "\n".join(stale.values())


def test_docs_content():
    from planner.docs import render_norms, render_schema
    from planner.inputs.schema import load_schema

    md = render_norms()
    assert md.startswith("<!-- generated")
    zs = md.split("## `zhongshan_urban`")[1]
    assert "Inherits from `guangdong`" in zs and "seats_per_thousand.primary" in zs
    assert "class_cap.primary" not in zs
    schema = render_schema(load_schema())
    assert schema.startswith("<!-- generated") and "## `schools` — 学校" in schema
    assert "| `kind` | `urban` |" in schema


def test_docs_check_reports_stale(tmp_path, capsys):
    from planner.docs import check_docs, main

    assert main(["--out", str(tmp_path)]) == 0
    assert check_docs(tmp_path) == {} and main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "norms.md").write_text("edited by hand\n", encoding="utf-8")
    assert "-edited by hand" in check_docs(tmp_path)["norms.md"]
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert "stale docs: norms.md" in capsys.readouterr().err
