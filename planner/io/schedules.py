"""Read a scenario's demographic schedules (读取生命表与生育率表).

Two small CSV (or XLSX) tables a scenario may name in ``[forecast]``:

* **survival table** (``survival_table``) — columns ``sex, age, survival``: the
  probability of surviving from exact age *x* to *x + 1* (0 < survival ≤ 1), one row
  per sex and single year of age, ages contiguous from 0; the last age is the open
  group (its survival must be < 1). ``sex`` is ``M``/``F`` (also ``male``/``female``,
  ``男``/``女``) or ``T`` (both sexes, used for men and women alike); the ``sex``
  column may be left out for a table of both sexes.
* **fertility table** (``fertility_table``) — columns ``age, asfr``: births per woman
  per year at each single age (≥ 0), ages contiguous (e.g. 15–49).

Every problem is reported with the file, the data row (1-based, header excluded), the
column and what to do; reading stops with :class:`planner.errors.InputError` listing
them. The tables returned are plain DataFrames for
:mod:`planner.forecast.schedules`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem, closest
from planner.io.readers import TABLE_SUFFIXES, read_raw_table

__all__ = ["read_fertility_table", "read_scenario_schedules", "read_survival_table"]

SEX_ALIASES = {
    "m": "M",
    "male": "M",
    "男": "M",
    "f": "F",
    "female": "F",
    "女": "F",
    "t": "T",
    "total": "T",
    "both": "T",
    "合计": "T",
}
#: problems listed in one error message at most
MAX_LISTED = 10


def _read(path: str | Path, encoding: str | None) -> pd.DataFrame:
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(
            f"{path}: a schedule table must be a CSV or XLSX file, not '{path.suffix}'."
        )
    return read_raw_table(path, encoding=encoding)


def _fail(file: str, problems: list[Problem]) -> None:
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:MAX_LISTED])
        more = f"\n  … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise InputError(
            f"{file}: {len(problems)} problem(s) in the schedule table:\n{shown}{more}"
        )


def _columns(raw: pd.DataFrame, file: str, needed: tuple[str, ...], optional=()) -> dict[str, str]:
    """Map canonical column → file header (case and spaces ignored); missing ones reported."""
    heads = {str(c).strip().lower(): c for c in raw.columns}
    found, problems = {}, []
    for col in needed + tuple(optional):
        if col in heads:
            found[col] = heads[col]
        elif col in needed:
            near = closest(col, [str(c) for c in raw.columns])
            hint = f"rename '{near}' to '{col}'" if near else f"add a column '{col}'"
            problems.append(
                Problem(
                    file,
                    f"column '{col}' is missing (columns: {', '.join(map(str, raw.columns))})",
                    hint=hint,
                    column=col,
                    code="missing_column",
                )
            )
    _fail(file, problems)
    return found


def _numbers(
    raw: pd.DataFrame, file: str, header: str, problems: list[Problem], *, integer: bool, what: str
) -> np.ndarray:
    out = np.full(len(raw), np.nan)

    def bad(row: int, message: str, hint: str, code: str) -> None:
        problems.append(Problem(file, message, hint=hint, row=row, column=str(header), code=code))

    for i, v in enumerate(raw[header].tolist()):
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        if text == "":
            bad(i + 1, f"{what} is empty", f"fill in the {what}", "missing_value")
            continue
        try:
            x = float(text)
        except ValueError:
            bad(
                i + 1,
                f"'{text}' is not a number",
                f"write the {what} as a plain number",
                "not_numeric",
            )
            continue
        if integer and x != int(x):
            bad(
                i + 1,
                f"'{text}' is not a whole number",
                "give single years of age (0, 1, 2 …)",
                "not_integer",
            )
            continue
        out[i] = x
    return out


def _negative_ages(
    age: np.ndarray, file: str, header: str, hint: str, problems: list[Problem]
) -> None:
    """One problem per row whose age is below 0."""
    for i in np.flatnonzero(age < 0):
        problems.append(
            Problem(
                file,
                f"age {age[i]:g} is negative",
                hint=hint,
                row=int(i) + 1,
                column=str(header),
                code="out_of_range",
            )
        )


def _span(lo: int, hi: int) -> str:
    return f"age {lo}" if lo == hi else f"ages {lo}–{hi}"


def _contiguous(
    ages: pd.Series,
    rows: pd.Series,
    file: str,
    column: str,
    label: str,
    problems: list[Problem],
    *,
    from_zero: bool,
) -> None:
    order = np.argsort(ages.to_numpy(), kind="stable")
    a = ages.to_numpy()[order]
    r = rows.to_numpy()[order]
    if from_zero and len(a) and a[0] != 0:
        problems.append(
            Problem(
                file,
                f"ages{label} start at {int(a[0])}, not 0",
                hint="add the rows for the younger ages",
                row=int(r[0]),
                column=column,
            )
        )
    for k in range(1, len(a)):
        if a[k] == a[k - 1]:
            problems.append(
                Problem(
                    file,
                    f"age {int(a[k])}{label} appears twice (also row {int(r[k - 1])})",
                    hint="keep one row per age",
                    row=int(r[k]),
                    column=column,
                    code="duplicate_id",
                )
            )
        elif a[k] != a[k - 1] + 1:
            problems.append(
                Problem(
                    file,
                    f"ages{label} jump from {int(a[k - 1])} to {int(a[k])}",
                    hint=f"add the rows for {_span(int(a[k - 1]) + 1, int(a[k]) - 1)} (single years, no gaps)",
                    row=int(r[k]),
                    column=column,
                )
            )


def read_survival_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read and check a survival table (``sex, age, survival``).

    Returns
    -------
    DataFrame
        ``sex`` (``M``/``F``/``T``), ``age`` (int), ``survival`` (float), sorted.

    Raises
    ------
    InputError
        The file cannot be read, or has problems (each named by file, row and column).
    """
    raw = _read(path, encoding)
    file, df = raw.file, raw.frame
    cols = _columns(df, file, ("age", "survival"), optional=("sex",))
    problems: list[Problem] = []
    age = _numbers(df, file, cols["age"], problems, integer=True, what="age")
    surv = _numbers(
        df, file, cols["survival"], problems, integer=False, what="survival probability"
    )
    sexes = np.full(len(df), "T", dtype=object)
    if "sex" in cols:
        for i, v in enumerate(df[cols["sex"]].tolist()):
            code = SEX_ALIASES.get(str(v).strip().lower())
            if code is None:
                problems.append(
                    Problem(
                        file,
                        f"sex '{v}' is not M, F or T",
                        hint="write M (male), F (female) or T (both sexes)",
                        row=i + 1,
                        column=str(cols["sex"]),
                        code="bad_category",
                    )
                )
            sexes[i] = code
    _negative_ages(age, file, cols["age"], "ages start at 0", problems)
    for i in np.flatnonzero(~((surv > 0) & (surv <= 1)) & ~np.isnan(surv)):
        hint = (
            "give a probability between 0 and 1 (a percentage? divide by 100)"
            if surv[i] > 1
            else "a survival probability must be above 0"
        )
        problems.append(
            Problem(
                file,
                f"survival {surv[i]:g} is outside (0, 1]",
                hint=hint,
                row=int(i) + 1,
                column=str(cols["survival"]),
                code="out_of_range",
            )
        )
    out = pd.DataFrame(
        {"sex": sexes, "age": age, "survival": surv, "row": np.arange(1, len(df) + 1)}
    )
    good = out.dropna()
    aged = out.dropna(subset=["age", "sex"])
    if {"T"} < set(aged["sex"]):
        problems.append(
            Problem(
                file,
                "the table mixes T (both sexes) with M/F rows",
                hint="give either M and F, or T only",
                column=str(cols.get("sex", "sex")),
                code="bad_category",
            )
        )
    for sex, g in aged.groupby("sex", sort=True):
        label = f" of sex {sex}" if "sex" in cols else ""
        _contiguous(g["age"], g["row"], file, str(cols["age"]), label, problems, from_zero=True)
        last = g.loc[g["age"].idxmax()]
        if last["survival"] >= 1:  # NaN (reported above) compares False
            problems.append(
                Problem(
                    file,
                    f"the last age ({int(last['age'])}){label} is the open age group and has survival 1",
                    hint="give the yearly survival within the open group (< 1), e.g. 0.85 at 100+",
                    row=int(last["row"]),
                    column=str(cols["survival"]),
                    code="out_of_range",
                )
            )
    if not len(good) and not problems:
        problems.append(Problem(file, "the table has no rows", hint="add one row per sex and age"))
    _fail(file, problems)
    res = good.drop(columns="row").astype({"age": "int64", "survival": float})
    return res.sort_values(["sex", "age"]).reset_index(drop=True)


def read_fertility_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read and check a fertility table (``age, asfr``, births per woman per year).

    Returns
    -------
    DataFrame
        ``age`` (int), ``asfr`` (float), sorted by age.

    Raises
    ------
    InputError
        The file cannot be read, or has problems (each named by file, row and column).
    """
    raw = _read(path, encoding)
    file, df = raw.file, raw.frame
    cols = _columns(df, file, ("age", "asfr"))
    problems: list[Problem] = []
    age = _numbers(df, file, cols["age"], problems, integer=True, what="age")
    asfr = _numbers(df, file, cols["asfr"], problems, integer=False, what="fertility rate")
    _negative_ages(age, file, cols["age"], "give women's ages (e.g. 15–49)", problems)
    for i in np.flatnonzero((asfr < 0) | (asfr > 1)):
        hint = (
            "rates are births per woman per year (per 1000 women? divide by 1000)"
            if asfr[i] > 1
            else "rates cannot be negative"
        )
        problems.append(
            Problem(
                file,
                f"fertility rate {asfr[i]:g} is outside [0, 1]",
                hint=hint,
                row=int(i) + 1,
                column=str(cols["asfr"]),
                code="out_of_range",
            )
        )
    out = pd.DataFrame({"age": age, "asfr": asfr, "row": np.arange(1, len(df) + 1)})
    aged = out.dropna(subset=["age"])
    _contiguous(aged["age"], aged["row"], file, str(cols["age"]), "", problems, from_zero=False)
    out = out.dropna()
    if not len(out) and not problems:
        problems.append(Problem(file, "the table has no rows", hint="add one row per age"))
    _fail(file, problems)
    res = out.drop(columns="row").astype({"age": "int64", "asfr": float})
    return res.sort_values("age").reset_index(drop=True)


def read_scenario_schedules(scenario) -> dict[str, pd.DataFrame | None]:
    """The tables a scenario names in ``[forecast]`` (``survival``, ``fertility``; None = default).

    Paths are relative to the scenario file's folder; each file is read and checked by
    :func:`read_survival_table` / :func:`read_fertility_table`.
    """
    f = scenario.forecast
    out: dict[str, pd.DataFrame | None] = {"survival": None, "fertility": None}
    for key, name, reader in (
        ("survival", f.survival_table, read_survival_table),
        ("fertility", f.fertility_table, read_fertility_table),
    ):
        if name:
            p = Path(name)
            out[key] = reader(p if p.is_absolute() else Path(scenario.base_dir) / p)
    return out
