"""Errors and validation problems of the planner (错误与数据问题).

One module, one base class. Every message says *where* (file, row or id,
column) and *what to do*. Validation collects :class:`Problem` objects into a
:class:`ValidationReport`; by default problems are warnings, in strict mode any
error-level problem refuses the run (:class:`ValidationFailed`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]

__all__ = [
    "PlannerError",
    "InputError",
    "ScenarioError",
    "NormsError",
    "UnknownKeyError",
    "ValidationFailed",
    "NotFittedError",
    "SolverError",
    "StepFailed",
    "EXIT_STEP_FAILED",
    "Problem",
    "PROBLEM_CODES",
    "ValidationReport",
    "closest",
]


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose."""


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


class NotFittedError(PlannerError, ValueError):
    """An estimator was used before ``fit`` was called."""


class SolverError(PlannerError):
    """The optimisation solver failed or the model is infeasible; the message says why."""


#: exit code of a run that wrote its outputs but one step failed (flagged in the manifest)
EXIT_STEP_FAILED = 4


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
    "problem": "Unclassified problem.",
}


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
    """

    file: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    row: int | None = None
    id: str | None = None
    column: str | None = None
    code: str = "problem"

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
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems], columns=cols)


class ValidationFailed(PlannerError):
    """Strict mode found errors in the inputs. ``problems`` holds all of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(
            f"{len(self.problems)} input error(s) refused the run in strict mode:\n{lines}{more}\n"
            "Fix them, or run without --strict to proceed with warnings."
        )
