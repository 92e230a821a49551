"""Errors and validation problems of the planner (错误与数据问题).

One module, one base class: every exception the planner raises on purpose is defined
here (the modules import it from here; :mod:`planner.maps` re-exports its four). Every
message says *where* (file, row or id, column) and *what to do*.

The hierarchy (the ``planner`` exit code each ends a command with)::

    PlannerError                      2 (usage) unless listed otherwise
    ├── OutputFolderError             the output folder is refused or locked
    ├── InputError                    an input file cannot be read at all
    ├── InputsUnusable                1: a required input is unusable in any mode
    ├── ValidationFailed              1: strict mode found errors in the inputs
    ├── ScenarioError / NormsError    a scenario or norms file is malformed
    ├── UnknownKeyError (KeyError)    a key is not among the valid ones
    ├── DataError (ValueError)        a table handed to a function is malformed
    │   ├── LeakageError              a table holds rows after the forecast origin
    │   └── ScheduleError             a survival or fertility table is unusable
    ├── ParameterError (ValueError)   an argument is out of range or of the wrong kind
    ├── NotFittedError (ValueError)   an estimator used before ``fit``
    ├── ForecastError                 a forecast method cannot run on the data given
    ├── SolverError                   the optimisation solver failed
    │   └── InfeasibleError           a must-serve siting rule no plan can meet
    ├── MapError / BasemapError       a map cannot be drawn / its basemap is unusable
    ├── AssetError                    the vendored map assets are missing or altered
    ├── ExportError                   a PNG / PDF figure cannot be exported
    └── StepFailed                    the run was written but a step failed (exit 4)

Validation collects :class:`Problem` objects into a :class:`ValidationReport`; by
default problems are warnings, in strict mode any error-level problem refuses the run
(:class:`ValidationFailed`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]

__all__ = [
    "EXIT_OK",
    "EXIT_INPUTS_REFUSED",
    "EXIT_USAGE",
    "EXIT_STOPPED_BY_CLOCK",
    "EXIT_STEP_FAILED",
    "EXIT_INTERNAL",
    "EXIT_CODES",
    "PlannerError",
    "OutputFolderError",
    "InputsUnusable",
    "InputError",
    "ScenarioError",
    "NormsError",
    "UnknownKeyError",
    "ValidationFailed",
    "NotFittedError",
    "SolverError",
    "InfeasibleError",
    "DataError",
    "ParameterError",
    "LeakageError",
    "ScheduleError",
    "ForecastError",
    "MapError",
    "AssetError",
    "BasemapError",
    "ExportError",
    "StepFailed",
    "Problem",
    "PROBLEM_CODES",
    "PROBLEM_ACTIONS",
    "PROBLEM_CODES_ZH",
    "SEVERITY_ZH",
    "ValidationReport",
    "closest",
]


#: Exit codes of the ``planner`` command (documented in docs/cli.md).
EXIT_OK = 0
#: Inputs refused: errors in strict mode (``validate``: errors found), or a required input
#: that is unusable in any mode (missing, empty, no valid row).
EXIT_INPUTS_REFUSED = 1
#: Usage or scenario error, including an output folder that is refused or locked.
EXIT_USAGE = 2
#: The run is complete but the siting solver was stopped by the wall clock.
EXIT_STOPPED_BY_CLOCK = 3
#: The run is complete but a step failed (everything else written, the failure flagged).
EXIT_STEP_FAILED = 4
#: Internal error: an unexpected exception (a crash report is written).
EXIT_INTERNAL = 70

#: Every exit code with its meaning (docs/cli.md is checked against it).
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "complete",
    EXIT_INPUTS_REFUSED: "inputs refused: errors in strict mode (`validate`: errors found), or a "
    "required input unusable in any mode (missing, empty, no valid row)",
    EXIT_USAGE: "usage or scenario error, including an output folder refused or locked by "
    "another run",
    EXIT_STOPPED_BY_CLOCK: "run complete, but the siting solver was stopped by the clock: "
    "another machine may give another plan",
    EXIT_STEP_FAILED: "run complete, but a step failed: every other output is written and the "
    "failure is recorded in `run_status.csv`, `manifest.json` and `index.html`",
    EXIT_INTERNAL: "internal error (an unexpected exception): a crash report "
    "`planner-crash-<time>.txt` is written in the output's parent folder",
}


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose."""


class OutputFolderError(PlannerError):
    """The output folder is refused (exists, not a planner run, holds an input) or locked."""


class InputError(PlannerError):
    """An input file cannot be read at all (missing, wrong format, wrong encoding)."""


class ScenarioError(PlannerError):
    """The scenario file is malformed or refers to something that does not exist."""


class NormsError(PlannerError):
    """A norms file is malformed, or a norm key or jurisdiction is unknown."""


class UnknownKeyError(PlannerError, KeyError):
    """A key is not among the valid ones; the message names the closest valid key."""

    def __init__(self, key: str, valid: Iterable[str], where: str = "") -> None:
        valid = list(valid)
        self.key = key
        self.valid = valid
        self.suggestion = closest(key, valid)
        hint = f" Did you mean '{self.suggestion}'?" if self.suggestion else ""
        loc = f" in {where}" if where else ""
        shown = ", ".join(sorted(valid)[:12]) + (" …" if len(valid) > 12 else "")
        msg = f"Unknown key '{key}'{loc}.{hint} Valid keys: {shown}."
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class InputsUnusable(PlannerError):
    """A required input is unusable in any mode (missing, empty, no valid row).

    ``problems`` holds every problem found, ``blocking`` the ones that stop the run.
    """

    def __init__(self, blocking: Sequence[Problem], problems: Sequence[Problem] = ()) -> None:
        self.blocking = list(blocking)
        self.problems = list(problems) or list(blocking)
        lines = "\n".join(f"  {p}" for p in self.blocking[:20])
        super().__init__(
            f"the run cannot proceed: {len(self.blocking)} required input(s) unusable:\n{lines}\n"
            "Fix them (every problem is listed in the validation file beside the scenario)."
        )


class NotFittedError(PlannerError, ValueError):
    """An estimator was used before ``fit`` was called."""


class SolverError(PlannerError):
    """The optimisation solver failed or the model is infeasible; the message says why."""


class InfeasibleError(SolverError):
    """A must-serve siting rule no plan can meet; the message names the clients and rule."""


class DataError(PlannerError, ValueError):
    """A table handed to a function lacks columns, has the wrong shape or impossible values.

    Raised by the pure functions and estimators (forecast, siting) on their arguments,
    not by loading a scenario (that reports :class:`Problem` objects instead); the
    message names the table, what is wrong and what it should hold.
    """


class LeakageError(DataError):
    """A table holds rows after the forecast origin (the backtest would see the future)."""


class ScheduleError(DataError):
    """A survival or fertility table cannot be used by the projection."""


class ParameterError(PlannerError, ValueError):
    """An argument (estimator setting, option) is out of range or of the wrong kind."""


class ForecastError(PlannerError):
    """A forecasting method cannot run on the data given (too few years, no history …)."""


class MapError(PlannerError):
    """A map cannot be drawn as asked (unknown language, year, stage or layer)."""


class AssetError(PlannerError):
    """The offline asset cache is missing, stale or corrupted, or a page needs the network."""


class BasemapError(PlannerError):
    """The basemap of ``[map.basemap]`` cannot be used; the message says what to change."""


class ExportError(PlannerError):
    """A figure cannot be exported (no browser, no Playwright, the page did not load)."""


class StepFailed(PlannerError):
    """The run was written, but some deliverables failed (``failed``: step → message)."""

    def __init__(self, failed: dict[str, str], where: str = "") -> None:
        self.failed = dict(failed)
        lines = "\n".join(f"  {k}: {v}" for k, v in self.failed.items())
        at = f" in {where}" if where else ""
        super().__init__(
            f"the run was written{at}, but {len(self.failed)} step(s) failed (see "
            f"manifest.json, failed_steps):\n{lines}"
        )


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.5) -> str | None:
    """Return the candidate closest to ``word`` (case-insensitive), or None.

    Parameters
    ----------
    word : str
        The misspelt key or column.
    candidates : iterable of str
        Valid names.
    cutoff : float
        Minimum similarity ratio (0–1) for a suggestion.
    """
    cands = list(candidates)
    lower = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=cutoff)
    return lower[hits[0]] if hits else None


#: Every problem code the validation can report, with what it means (docs are built from this).
PROBLEM_CODES: dict[str, str] = {
    "unreadable_file": "The file is missing, of an unsupported type, or cannot be decoded.",
    "encoding_guessed": "No encoding was declared; the text was decoded as the one named.",
    "missing_column": "A required column is absent (the nearest header in the file is suggested).",
    "unknown_column": "A header matches no canonical column or alias and is ignored.",
    "duplicate_column": "Two headers map to the same canonical column; the first is used.",
    "bad_column_mapping": "The scenario's `columns` mapping names a header or column that does not exist.",
    "bad_unit": "The scenario's `units` names a column that is not numeric, or a unit that is not known.",
    "missing_value": "A required cell is empty.",
    "number_as_text": "A number stored as text with thousands separators ('1,234'); never coerced.",
    "placeholder_value": "A placeholder such as '缺', '—' or '/' where a number is expected.",
    "not_numeric": "A value that is not a number in a numeric column.",
    "not_integer": "A fractional value where a count or a year is expected.",
    "out_of_range": "A value below the minimum (negative counts) or above the maximum.",
    "bad_year": "A year outside 1949–2100.",
    "bad_category": "A value that is none of the allowed categories or their aliases.",
    "duplicate_id": "Two records share an id (or the same composite key).",
    "missing_geometry": "A spatial input has neither a geometry nor longitude/latitude columns.",
    "missing_coordinates": "A record lacks its longitude or latitude.",
    "empty_geometry": "A feature has an empty geometry.",
    "wrong_geometry_type": "A geometry of the wrong type (a point where a polygon is expected …).",
    "invalid_geometry_repaired": "An invalid geometry (self-intersection …) was repaired with make_valid.",
    "missing_crs": "The coordinate system is neither in the file nor declared in the scenario.",
    "bad_crs": "The declared coordinate system is not understood.",
    "crs_conflict": "The file's coordinate system and the declared one disagree.",
    "crs_range": "The coordinates contradict the coordinate system (metres declared as degrees, swapped lon/lat …).",
    "bad_compute_crs": "The scenario's compute_crs is not a metric projected CRS.",
    "units_overlap": "Planning-unit polygons overlap.",
    "outside_units": "A school, development or site lies outside every planning unit.",
    "unknown_unit": "A unit_id that is not in the units file.",
    "unknown_school": "A school_id in the enrolment history that is not in the schools file.",
    "missing_base_year": "A unit has no population for the base year.",
    "year_after_base": "An observation after the scenario's base year.",
    "years_out_of_order": "Years are not ascending within a unit (rows are sorted on load).",
    "year_gap": "A time series has missing years.",
    "bad_age_group": "An age group whose upper bound is below its lower bound.",
    "age_gap": "A schedule table (survival, fertility) skips single years of age or does not start at 0.",
    "age_total_mismatch": "The age table does not add up to the population total.",
    "stage_mismatch": "A single-stage school with classes or pupils of the other stage.",
    "missing_stage_split": "A nine- or twelve-year school without per-stage classes and pupils.",
    "pupils_without_classes": "A school (or grade) with pupils but zero classes.",
    "implausible_class_size": "More pupils per class than is plausible (a typing error?).",
    "missing_opening_year": "A planned school without an opening year.",
    "existing_opens_later": "A school marked existing with an opening year after the base year.",
    "grade_stage_mismatch": "An enrolment grade the school's stage does not teach.",
    "development_in_past": "A housing development completed by the base year (double counting?).",
    "roads_empty": "The road network has no usable line; siting falls back to straight line × detour_factor.",
    "road_disconnected": "A piece of the road network is not connected to the rest (a missing "
    "junction vertex?); left out when no school or site is near it.",
    "far_from_road": "A school or candidate site lies farther from every road than the snapping tolerance (500 m).",
    "empty_table": "An input has no usable data row (only a header, or every row kept out).",
    "outside_china": "A coordinate outside China's extent (73–136°E, 3–54°N): a point in France …",
    "datum_shift": "A layer is offset from the others by the GCJ-02 or BD-09 shift although it "
    "declares another coordinate system (the evidence is in the message).",
    "implausible_value": "A count that cannot be right: above the refuse threshold, a population "
    "density no place has, a 20-fold jump between years, more pupils than children of their ages.",
    "suspicious_unit": "A value that looks like another unit (a site area of 29.6 m² in 亩 or "
    "公顷, a population in 万人, money in 万元).",
    "ambiguous_column": "A header whose meaning differs from the canonical column it resembles "
    "(专任教师数 is not 高于规定学历教师数); it needs an explicit mapping.",
    "total_row": "A total (合计 / 小计), blank or note row inside the table, dropped.",
    "value_form": "A value in a common written form that was read ('2024年', '2023-2024学年', "
    "'0-4岁', full-width digits, a unit suffix).",
    "layout_detected": "How the table was laid out (title rows above the header, a two-row "
    "header, a wide table reshaped, a delimiter or encoding detected).",
    "unit_converted": "Values converted to the canonical unit as the scenario declares (万人 → "
    "persons, 亩 / 公顷 → m², 万元 → 元).",
    "forecast_fallback": "The enrolment forecast could not run; the run uses the per-thousand "
    "norm on the population trend and says why.",
    "problem": "Unclassified problem.",
}

#: What the run does about each problem when it goes on (non-strict mode): a documented
#: default, or the rows kept out with a flag (``excluded_rows.csv``, ``data_flags``).
PROBLEM_ACTIONS: dict[str, str] = {
    "unreadable_file": "a required input refuses the run; an optional one is left out (a "
    "forecast without births or enrolment falls back to the norm)",
    "encoding_guessed": "read with the encoding named",
    "missing_column": "the column is empty for every row (see missing_value)",
    "unknown_column": "ignored",
    "duplicate_column": "the first header is used",
    "bad_column_mapping": "the mapping is ignored",
    "bad_unit": "the column is read in its canonical unit",
    "missing_value": "a required value keeps the row out (or takes the column's documented "
    "default); an optional value is missing, never 0",
    "number_as_text": "the value is missing (never guessed); set thousands_separator = true for "
    "the input to read it",
    "placeholder_value": "the value is missing, never 0; a required value keeps the row out",
    "not_numeric": "the value is missing; a required value keeps the row out",
    "not_integer": "the value is missing; a required value keeps the row out",
    "out_of_range": "the value is missing; a required value keeps the row out",
    "bad_year": "the value is missing; a required value keeps the row out",
    "bad_category": "a required value keeps the row out, or takes the column's documented "
    "default (units: kind → urban; schools: public → true)",
    "duplicate_id": "the first row is used; the later rows are kept out",
    "missing_geometry": "the records have no location (located by unit_id where given)",
    "missing_coordinates": "the record has no location (located by unit_id where given)",
    "empty_geometry": "the record has no location; a unit keeps its demand but has no area",
    "wrong_geometry_type": "the geometry is dropped (no location)",
    "invalid_geometry_repaired": "repaired with make_valid",
    "missing_crs": "degrees are read as WGS84; other coordinates give no location",
    "bad_crs": "no location for the layer",
    "crs_conflict": "the scenario's declared coordinate system is used",
    "crs_range": "swapped longitude/latitude pairs are swapped back; impossible ones are dropped",
    "bad_compute_crs": "the automatic compute CRS is used",
    "units_overlap": "used as given; a point in two units goes to the first",
    "outside_units": "kept out: a school's seats count in no unit, a site is not offered to "
    "siting, a development adds no residents",
    "unknown_unit": "the rows are kept out",
    "unknown_school": "the rows are kept out",
    "missing_base_year": "the latest earlier year is used",
    "year_after_base": "ignored",
    "years_out_of_order": "sorted on load",
    "year_gap": "interpolated by the forecast",
    "bad_age_group": "the row is kept out",
    "age_gap": "the schedule table is refused",
    "age_total_mismatch": "the age shares are used, scaled to the total",
    "stage_mismatch": "the other stage's values are ignored",
    "missing_stage_split": "the school adds no seats until the split is given",
    "pupils_without_classes": "no seats from zero classes; the pupils are counted",
    "implausible_class_size": "used as given",
    "missing_opening_year": "not counted as supply",
    "existing_opens_later": "counted as existing",
    "grade_stage_mismatch": "the rows are kept out",
    "development_in_past": "used as given (its residents may be counted twice)",
    "roads_empty": "siting uses straight line × detour_factor",
    "road_disconnected": "left out when no school or site is near it",
    "far_from_road": "its road distances begin with a straight leg",
    "empty_table": "a required input refuses the run; an optional one is left out",
    "outside_china": "the location is dropped (no location)",
    "datum_shift": "used as declared; set the `crs` the message names",
    "implausible_value": "the row is kept out",
    "suspicious_unit": "used as given; declare the column's unit with units = {...}",
    "ambiguous_column": "ignored unless mapped with columns = {...}",
    "total_row": "dropped",
    "value_form": "read as the value named",
    "layout_detected": "read as described",
    "unit_converted": "converted",
    "forecast_fallback": "the per-thousand norm on the population trend",
    "problem": "",
}


#: Every problem code in Chinese: what it means and what to do (中文说明与处理建议).
#: The validation report and ``validation.csv`` give it beside the English message.
PROBLEM_CODES_ZH: dict[str, tuple[str, str]] = {
    "unreadable_file": (
        "文件缺失、格式不支持或无法解码。",
        "检查情景文件中的路径与文件格式，必要时另存为 UTF-8 编码的 CSV 或 GeoPackage。",
    ),
    "encoding_guessed": (
        "文件未声明编码，已按所示编码读取。",
        '如有乱码，请在情景文件中填写 encoding（如 "GBK"）。',
    ),
    "missing_column": (
        "缺少必填字段（已提示文件中最接近的表头）。",
        "补充该字段，或用 columns 映射把文件中的表头对应到标准字段。",
    ),
    "unknown_column": (
        "表头无法对应任何标准字段或别名，已忽略。",
        "如需使用，请在 columns 中映射；否则可不处理。",
    ),
    "duplicate_column": ("两个表头对应同一标准字段，仅使用第一个。", "删除或改名重复的列。"),
    "bad_column_mapping": (
        "情景文件的 columns 映射引用了不存在的表头或字段。",
        "按提示改正 columns 中的名称。",
    ),
    "missing_value": ("必填单元格为空。", "补充该单元格的数值。"),
    "number_as_text": (
        "数字以带千分位的文本存储（如“1,234”），未作转换。",
        "在表格中改为数值格式（去掉逗号）。",
    ),
    "placeholder_value": (
        "应为数字处出现占位符（如“缺”“—”“/”）。",
        "填写实际数值，或留空表示缺失。",
    ),
    "not_numeric": ("数值列中出现非数字内容。", "改为数字。"),
    "not_integer": ("计数或年份出现小数。", "改为整数。"),
    "out_of_range": ("数值低于最小值（如负数）或高于最大值。", "核对该数值。"),
    "bad_year": ("年份超出 1949–2100 年。", "核对年份。"),
    "bad_category": ("取值不属于允许的类别或别名。", "改为允许的取值（见 docs/schema.md）。"),
    "duplicate_id": ("两条记录编号相同（或组合键重复）。", "保留一条或改正编号。"),
    "missing_geometry": ("空间数据既无几何也无经纬度字段。", "提供几何，或增加经度、纬度两列。"),
    "missing_coordinates": ("记录缺少经度或纬度。", "补充坐标。"),
    "empty_geometry": ("要素几何为空。", "补画或删除该要素。"),
    "wrong_geometry_type": ("几何类型不符（如应为面却是点）。", "按要求提供正确类型的几何。"),
    "invalid_geometry_repaired": (
        "无效几何（自相交等）已用 make_valid 修复。",
        "核对修复后的图形，必要时在 GIS 中修正。",
    ),
    "missing_crs": (
        "文件未带坐标系，情景文件也未声明。",
        "在情景文件中填写 crs（WGS84、CGCS2000、GCJ-02 或 EPSG:NNNN）。",
    ),
    "bad_crs": ("声明的坐标系无法识别。", "改为 WGS84、CGCS2000、GCJ-02 或 EPSG:NNNN。"),
    "crs_conflict": ("文件自带坐标系与声明的不一致。", "确认实际坐标系后只保留一个。"),
    "crs_range": (
        "坐标与坐标系矛盾（如米制坐标声明为经纬度、经纬度颠倒）。",
        "核对坐标列与 crs 声明。",
    ),
    "bad_compute_crs": (
        "情景文件的 compute_crs 不是米制投影坐标系。",
        '改为 "auto" 或米制投影（如 EPSG:4547）。',
    ),
    "units_overlap": ("规划单元（面）相互重叠。", "在 GIS 中修正单元边界。"),
    "outside_units": ("学校、住宅项目或地块位于所有规划单元之外。", "核对坐标或单元边界。"),
    "unknown_unit": ("单元编号不在单元文件中。", "改正编号或补充单元。"),
    "unknown_school": ("在校生历史中的学校代码不在学校文件中。", "改正学校代码或补充学校。"),
    "missing_base_year": ("某单元缺少基期年人口。", "补充基期年人口。"),
    "year_after_base": ("出现晚于基期年的观测值。", "核对年份或调整情景的 base_year。"),
    "years_out_of_order": (
        "同一单元的年份未按升序排列（读取时已排序）。",
        "无需处理；如有重复年份请核对。",
    ),
    "year_gap": ("时间序列缺少年份。", "补齐缺失年份的数据。"),
    "bad_age_group": ("年龄组上限低于下限。", "改正年龄组。"),
    "age_gap": ("生命表或生育率表的年龄不连续或不从 0 岁开始。", "补齐各单岁年龄。"),
    "age_total_mismatch": ("分年龄人口合计与总人口不一致。", "核对分年龄人口或总人口。"),
    "stage_mismatch": (
        "单一学段学校出现另一学段的班级或学生。",
        "核对学段或分学段的班级、学生数。",
    ),
    "missing_stage_split": (
        "九年或十二年一贯制学校缺少分学段班级、学生数。",
        "补充小学部、初中部的班级数和在校生数。",
    ),
    "pupils_without_classes": ("学校（或年级）有学生却无班级。", "补充班级数。"),
    "implausible_class_size": ("平均班额高得不合常理（可能录入错误）。", "核对班级数与在校生数。"),
    "missing_opening_year": ("规划学校缺少开办年份。", "补充开办年份。"),
    "existing_opens_later": ("标为现状的学校开办年份晚于基期年。", "核对状态或开办年份。"),
    "grade_stage_mismatch": ("在校生历史中出现该学校所无学段的年级。", "核对年级或学校学段。"),
    "development_in_past": (
        "住宅项目在基期年或之前已竣工（可能重复计算）。",
        "如人口已含该项目，请删除该记录。",
    ),
    "roads_empty": (
        "路网没有可用的线；选址改用直线距离 × 绕行系数。",
        "提供道路中心线（线要素）。",
    ),
    "road_disconnected": (
        "路网中有一段与其余部分不连通（缺少交叉节点？），附近无学校或地块时不予使用。",
        "在 GIS 中连接该路段。",
    ),
    "far_from_road": (
        "学校或候选地块距所有道路超过吸附容差（500 米）。",
        "补充附近道路或核对坐标。",
    ),
    "bad_unit": (
        "情景文件的 units 指定了非数值字段或未知计量单位。",
        "改为数值字段，并使用支持的单位（万人、亩、公顷、万元等）。",
    ),
    "empty_table": (
        "输入表没有可用的数据行（只有表头，或所有行均被排除）。",
        "检查文件内容与表头行设置（header_row、skip_rows）。",
    ),
    "outside_china": (
        "坐标超出中国范围（东经73–136°、北纬3–54°）。",
        "检查经纬度是否填反或坐标系是否有误；该点位已不参与计算。",
    ),
    "datum_shift": (
        "该图层与其他图层之间存在 GCJ-02 或 BD-09 偏移，但声明的是其他坐标系（证据见英文说明）。",
        '在情景文件中为该输入设置提示的 crs（如 "GCJ-02"）。',
    ),
    "implausible_value": (
        "数值明显不合理：超过拒收阈值、人口密度不可能、相邻年份相差20倍以上，或学生数多于相应年龄儿童数。",
        "核对原始数据；该行已排除在计算之外。",
    ),
    "suspicious_unit": (
        "数值疑似使用了其他单位（如用地面积为亩或公顷、人口为万人、金额为万元）。",
        "在情景文件中用 units = {...} 声明该字段的单位。",
    ),
    "ambiguous_column": (
        "表头含义与相近的标准字段不同（如“专任教师数”不等于“高于规定学历教师数”），需明确映射。",
        "如确为同一含义，在情景文件的 columns 中显式映射。",
    ),
    "total_row": ("表内的合计、小计、空行或注释行，已剔除。", "无需处理。"),
    "value_form": (
        "已按常见书写形式读取数值（如“2024年”“2023-2024学年”“0-4岁”、全角数字、单位后缀）。",
        "无需处理；如读取有误，请改为纯数字。",
    ),
    "layout_detected": (
        "已识别表格布局（表头上方的标题行、两行表头、宽表转长表、分隔符或编码）。",
        "无需处理；如识别有误，请在情景文件中设置 header_row、wide 等参数。",
    ),
    "unit_converted": ("已按情景文件声明将数值换算为标准单位。", "无需处理。"),
    "forecast_fallback": (
        "入学预测无法运行，本次按千人学位数标准和人口趋势测算，并说明原因。",
        "补充出生与在校生历史数据，或检查相应文件。",
    ),
    "problem": ("未分类问题。", "见英文说明。"),
}

#: severities in Chinese
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Attributes
    ----------
    file : str
        The file (or input name) the problem is in.
    message : str
        What is wrong.
    hint : str
        What to do about it.
    severity : {"error", "warning", "info"}
        ``error`` refuses a strict run; ``warning`` and ``info`` never do.
    row : int or None
        1-based data row in the file (header excluded), if one row is concerned.
    id : str or None
        The record id (school_id, unit_id, …), if known.
    column : str or None
        The column as named in the file.
    code : str
        A short machine-readable code (``missing_column``, ``duplicate_id`` …).
    action : str
        What the run does about it (empty: the code's entry in :data:`PROBLEM_ACTIONS`).
    """

    file: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    row: int | None = None
    id: str | None = None
    column: str | None = None
    code: str = "problem"
    action: str = ""

    def __post_init__(self) -> None:
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unregistered problem code '{self.code}'; add it to PROBLEM_CODES")
        if self.severity not in ("error", "warning", "info"):
            raise ValueError(f"bad severity '{self.severity}'")

    def location(self) -> str:
        """Human-readable location: ``file, row 3 (id S001), column 班级数``."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" (id {self.id})" if self.id else ""))
        elif self.id is not None:
            parts.append(f"id {self.id}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        hint = f" → {self.hint}" if self.hint else ""
        return f"[{self.severity}] {self.location()}: {self.message}{hint}"

    def location_zh(self) -> str:
        """The location in Chinese: ``schools.csv，第 3 行（编号 S001），字段「班级数」``."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"第 {self.row} 行" + (f"（编号 {self.id}）" if self.id else ""))
        elif self.id is not None:
            parts.append(f"编号 {self.id}")
        if self.column is not None:
            parts.append(f"字段「{self.column}」")
        return "，".join(parts)

    @property
    def message_zh(self) -> str:
        """What the problem is, in Chinese (from its code; details in ``message``)."""
        return PROBLEM_CODES_ZH.get(self.code, PROBLEM_CODES_ZH["problem"])[0]

    @property
    def hint_zh(self) -> str:
        """What to do, in Chinese."""
        return PROBLEM_CODES_ZH.get(self.code, PROBLEM_CODES_ZH["problem"])[1]

    def zh(self) -> str:
        """The problem in Chinese, then the English line (``str(problem)``) below it."""
        sev = SEVERITY_ZH.get(self.severity, self.severity)
        return f"[{sev}] {self.location_zh()}：{self.message_zh}处理：{self.hint_zh}\n    {self}"


@dataclass
class ValidationReport:
    """Every problem found while loading a scenario's inputs."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        """Append one problem."""
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Append several problems."""
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems of severity ``warning``."""
        return [p for p in self.problems if p.severity == "warning"]

    def by_code(self, code: str) -> list[Problem]:
        """Problems with the given code."""
        return [p for p in self.problems if p.code == code]

    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self):
        return iter(self.problems)

    def __bool__(self) -> bool:  # a report is truthy even when empty
        return True

    def raise_if_errors(self, strict: bool) -> None:
        """In strict mode, raise :class:`ValidationFailed` if any error was found."""
        if strict and self.errors:
            raise ValidationFailed(self.errors)

    def to_frame(self):
        """The problems as a pandas DataFrame (one row per problem)."""
        import pandas as pd

        cols = ["severity", "code", "file", "row", "id", "column", "message", "hint"]
        cols += ["message_zh", "hint_zh", "action"]
        rows = [
            {
                **{c: getattr(p, c) for c in cols[:-1]},
                "action": p.action or PROBLEM_ACTIONS.get(p.code, ""),
            }
            for p in self.problems
        ]
        df = pd.DataFrame(rows, columns=cols)
        df["row"] = df["row"].astype("Int64")  # whole numbers, never '19.0'
        return df


class ValidationFailed(PlannerError):
    """Strict mode found errors in the inputs. ``problems`` holds all of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p.zh()}" for p in self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(
            f"严格模式下发现 {len(self.problems)} 个输入错误，未运行 / {len(self.problems)} input "
            f"error(s) refused the run in strict mode:\n{lines}{more}\n"
            "请改正后重新运行，或不加 --strict 以警告方式继续 / Fix them, or run without "
            "--strict to proceed with warnings."
        )
