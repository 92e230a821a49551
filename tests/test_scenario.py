"""Scenario files: validation, unknown keys, round trip."""

from __future__ import annotations

import pytest

from planner.errors import ScenarioError, UnknownKeyError
from planner.inputs.scenario import read_scenario, write_scenario
from planner.scenario import scenario_from_dict

MIN = {
    "name": "t",
    "base_year": 2025,
    "horizon": 2035,
    "inputs": {
        "units": {"path": "u.gpkg"},
        "population": {"path": "p.csv"},
        "schools": {"path": "s.csv"},
    },
}


def test_minimal_and_defaults():
    sc = scenario_from_dict(MIN)
    assert sc.norms == "guangdong" and sc.strict is False and sc.compute_crs == "auto"
    assert sc.years[0] == 2025 and sc.years[-1] == 2035
    assert [n for n, _ in sc.inputs.items()] == ["units", "population", "schools"]


@pytest.mark.parametrize(
    ("patch", "suggestion"),
    [
        ({"base_yaer": 2025}, "base_year"),
        ({"inputs": {**MIN["inputs"], "shcools": {"path": "x"}}}, "schools"),
        ({"inputs": {**MIN["inputs"], "units": {"path": "u", "layr": "x"}}}, "layer"),
    ],
)
def test_unknown_keys_name_the_closest(patch, suggestion):
    with pytest.raises(UnknownKeyError, match=f"Did you mean '{suggestion}'"):
        scenario_from_dict({**MIN, **patch})


def test_bad_values_listed():
    with pytest.raises(ScenarioError, match="horizon"):
        scenario_from_dict({**MIN, "horizon": 2020})
    with pytest.raises(ScenarioError, match="base_year"):
        scenario_from_dict({**MIN, "base_year": "next year"})


def test_bad_toml_names_the_line(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('name = "x"\nbase_year = \n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="line 2"):
        read_scenario(p)


def test_write_read_round_trip(tmp_path):
    sc = scenario_from_dict({**MIN, "norms_override": {"class_cap.primary": 40}}, base_dir=tmp_path)
    out = write_scenario(sc, tmp_path / "tuned.toml")
    back = read_scenario(out)
    assert back.model_dump() == sc.model_dump()
    assert back.input_path("units") == tmp_path / "u.gpkg"


def test_write_elsewhere_keeps_inputs_found(tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "scenario.toml"
    sc = read_scenario(demo)
    (tmp_path / "sub").mkdir()
    out = write_scenario(sc, tmp_path / "sub" / "copy.toml")
    back = read_scenario(out)
    for name, _ in back.inputs.items():
        assert back.input_path(name).resolve() == sc.input_path(name).resolve()


def test_write_elsewhere_keeps_schedule_tables_found(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "c").mkdir(parents=True)
    data = {**MIN, "forecast": {"survival_table": "life.csv", "fertility_table": "/abs/f.csv"}}
    sc = scenario_from_dict(data, base_dir=tmp_path / "a")
    back = read_scenario(write_scenario(sc, tmp_path / "b" / "c" / "s.toml"))
    assert back.forecast.survival_table == "../../a/life.csv"
    assert back.forecast.fertility_table == "/abs/f.csv"  # absolute paths stay
    resolved = (back.base_dir / back.forecast.survival_table).resolve()
    assert resolved == (tmp_path / "a" / "life.csv").resolve()
