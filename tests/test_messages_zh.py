"""Validation messages in Chinese, the English message alongside."""

from __future__ import annotations

import re

import pandas as pd
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import (
    PROBLEM_CODES,
    PROBLEM_CODES_ZH,
    Problem,
    ValidationFailed,
    ValidationReport,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_problem_code_has_a_chinese_meaning_and_remedy():
    assert set(PROBLEM_CODES_ZH) == set(PROBLEM_CODES)
    for code, (meaning, todo) in PROBLEM_CODES_ZH.items():
        assert CJK.search(meaning) and CJK.search(todo), code


def test_problem_in_chinese_keeps_location_and_english_details():
    p = Problem(
        "schools.csv",
        "column '班级数' holds 'abc'",
        "write a number",
        row=3,
        id="S001",
        column="班级数",
        code="not_numeric",
    )
    text = p.zh()
    assert text.startswith("[错误] schools.csv，第 3 行（编号 S001），字段「班级数」：")
    assert "数值列中出现非数字内容" in text and "处理：改为数字" in text
    assert "column '班级数' holds 'abc' → write a number" in text  # English alongside
    frame = ValidationReport([p]).to_frame()
    assert frame.loc[0, "message_zh"] == "数值列中出现非数字内容。"
    assert frame.loc[0, "message"] == "column '班级数' holds 'abc'"
    failed = ValidationFailed([p])
    assert "严格模式下发现 1 个输入错误" in str(failed) and "refused the run" in str(failed)


def test_validate_prints_chinese_and_writes_both_languages(city, tmp_path):
    city.schools_csv = city.schools_csv.replace(
        "S2,西山中学,初中,公办,113.33,22.51,18,900", "S2,西山中学,初中,公办,113.33,22.51,abc,900"
    )
    sc = city.write()
    r = CliRunner().invoke(app, ["validate", str(sc)])
    assert "[错误]" in r.output and "数值列中出现非数字内容" in r.output
    assert "个错误" in r.output and "error(s)" in r.output
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(sc), "--out", str(out), "--no-siting"])
    assert r.exit_code == 0, r.output
    v = pd.read_csv(out / "validation.csv", encoding="utf-8-sig")
    row = v.loc[v["code"] == "not_numeric"].iloc[0]
    assert row["message_zh"] == PROBLEM_CODES_ZH["not_numeric"][0]
    assert isinstance(row["message"], str) and "abc" in row["message"]
