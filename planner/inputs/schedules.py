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
column and what to do. :func:`check_survival_table`, :func:`check_fertility_table` and
:func:`check_scenario_schedules` collect *all* problems of a table without raising;
:func:`planner.inputs.load.load_inputs` puts them into the validation report like those of
any other input (warnings by default, refused in strict mode). A table with an error
(a bad value, a missing or repeated age) cannot be used by the projection: loading then
stops with :class:`planner.errors.InputError` listing every problem of the tables. The
``read_*`` functions raise at once in that case. The tables returned are plain
DataFrames for :mod:`planner.forecast.schedules`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem, closest
from planner.inputs.readers import TABLE_SUFFIXES, read_raw_table

__all__ = [
    "check_fertility_table",
    "check_scenario_schedules",
    "check_survival_table",
    "read_fertility_table",
    "read_scenario_schedules",
    "read_survival_table",
    "schedule_error",
]

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
MAX_LISTED = 50
#: total fertility rates (Σ asfr) outside this range are flagged as implausible
TFR_PLAUSIBLE = (0.3, 3.0)


def _read(
    path: str | Path, encoding: str | None, label: str | None
) -> tuple[pd.DataFrame | None, str, list[Problem]]:
    """The raw frame (None when unreadable), the file label and the reading problems."""
    path = Path(path)
    file = label or str(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return (
            None,
            file,
            [
                Problem(
                    file,
                    f"a schedule table must be a CSV or XLSX file, not '{path.suffix}'",
                    hint="save the table as CSV (UTF-8) or XLSX",
                    code="unreadable_file",
                )
            ],
        )
    try:
        raw = read_raw_table(path, encoding=encoding, label=file)
    except InputError as exc:
        msg = str(exc).removeprefix(f"{file}: ")
        return None, file, [Problem(file, msg, code="unreadable_file")]
    return raw.frame, raw.file, list(raw.problems)


def schedule_error(problems: list[Problem]) -> InputError:
    """The error refusing unusable schedule tables, listing every problem (errors first)."""
    rank = {"error": 0, "warning": 1, "info": 2}
    shown = sorted(problems, key=lambda p: (rank[p.severity], p.file, p.row or 0))
    files = ", ".join(dict.fromkeys(p.file for p in problems if p.severity == "error"))
    n_err = sum(p.severity == "error" for p in problems)
    lines = "\n".join(f"  {p}" for p in shown[:MAX_LISTED])
    more = f"\n  … and {len(shown) - MAX_LISTED} more" if len(shown) > MAX_LISTED else ""
    return InputError(
        f"{files}: {n_err} error(s) make the schedule table(s) unusable "
        f"({len(problems)} problem(s) in all):\n{lines}{more}\n"
        "Fix them, or remove the table from [forecast] to use the default schedule."
    )


def _fail(problems: list[Problem]) -> None:
    if any(p.severity == "error" for p in problems):
        raise schedule_error(problems)


def _columns(
    raw: pd.DataFrame, file: str, needed: tuple[str, ...], problems: list[Problem], optional=()
) -> dict[str, str] | None:
    """Map canonical column → file header (case and spaces ignored); None if one is missing."""
    heads = {str(c).strip().lower(): c for c in raw.columns}
    found, n = {}, len(problems)
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
    return found if len(problems) == n else None


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
    values: pd.Series,
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
                code="age_gap",
            )
        )
    v = values.to_numpy()[order]
    for k in range(1, len(a)):
        if a[k] == a[k - 1]:
            same = v[k] == v[k - 1]
            problems.append(
                Problem(
                    file,
                    f"age {int(a[k])}{label} appears twice (also row {int(r[k - 1])})"
                    + (" with the same value; the repeat is ignored" if same else ""),
                    hint="keep one row per age",
                    row=int(r[k]),
                    column=column,
                    code="duplicate_id",
                    severity="warning" if same else "error",
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
                    code="age_gap",
                )
            )


def check_survival_table(
    path: str | Path, *, encoding: str | None = None, label: str | None = None
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a survival table (``sex, age, survival``) and collect every problem in it.

    Parameters
    ----------
    path : str or Path
        CSV or XLSX file.
    encoding : str, optional
        Text encoding of a CSV (detected when not given).
    label : str, optional
        How to name the file in messages (default: ``path``).

    Returns
    -------
    table : DataFrame or None
        ``sex`` (``M``/``F``/``T``), ``age`` (int), ``survival`` (float), sorted; None
        when an error-level problem makes it unusable.
    problems : list of Problem
        Every problem found (file, 1-based data row, column, what to do); warnings (a
        row repeated with the same value) leave the table usable.
    """
    df, file, problems = _read(path, encoding, label)
    if df is None:
        return None, problems
    cols = _columns(df, file, ("age", "survival"), problems, optional=("sex",))
    if cols is None:
        return None, problems
    age = _numbers(df, file, cols["age"], problems, integer=True, what="age")
    surv = _numbers(
        df, file, cols["survival"], problems, integer=False, what="survival probability"
    )
    sexes = np.full(len(df), "T", dtype=object)
    if "sex" in cols:
        codes = df[cols["sex"]].astype(str).str.strip().str.lower().map(SEX_ALIASES)
        for i in np.flatnonzero(codes.isna().to_numpy()):
            problems.append(
                Problem(
                    file,
                    f"sex '{df[cols['sex']].iloc[i]}' is not M, F or T",
                    hint="write M (male), F (female) or T (both sexes)",
                    row=int(i) + 1,
                    column=str(cols["sex"]),
                    code="bad_category",
                )
            )
        sexes = codes.to_numpy(dtype=object)
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
        label_ = f" of sex {sex}" if "sex" in cols else ""
        _contiguous(
            g["age"],
            g["row"],
            g["survival"],
            file,
            str(cols["age"]),
            label_,
            problems,
            from_zero=True,
        )
        last = g.loc[g["age"].idxmax()]
        if last["survival"] >= 1:  # NaN (reported above) compares False
            problems.append(
                Problem(
                    file,
                    f"the last age ({int(last['age'])}){label_} is the open age group and has survival 1",
                    hint="give the yearly survival within the open group (< 1), e.g. 0.85 at 100+",
                    row=int(last["row"]),
                    column=str(cols["survival"]),
                    code="out_of_range",
                )
            )
    if not len(good) and not problems:
        problems.append(Problem(file, "the table has no rows", hint="add one row per sex and age"))
    if any(p.severity == "error" for p in problems):
        return None, problems
    res = good.drop(columns="row").drop_duplicates(["sex", "age"])
    res = res.astype({"age": "int64", "survival": float})
    return res.sort_values(["sex", "age"]).reset_index(drop=True), problems


def check_fertility_table(
    path: str | Path, *, encoding: str | None = None, label: str | None = None
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a fertility table (``age, asfr``, births per woman per year); collect every problem.

    Parameters
    ----------
    path : str or Path
        CSV or XLSX file.
    encoding : str, optional
        Text encoding of a CSV (detected when not given).
    label : str, optional
        How to name the file in messages (default: ``path``).

    Returns
    -------
    table : DataFrame or None
        ``age`` (int), ``asfr`` (float), sorted by age; None when an error-level problem
        makes it unusable.
    problems : list of Problem
        Every problem found. Warnings leave the table usable: a row repeated with the
        same value, or a total fertility rate (Σ asfr) outside 0.3–3.0 (总和生育率;
        China's has been 1.0–1.8 since 2000 — rates per 1000 women, or a five-year
        group's rate given for each single age?).
    """
    df, file, problems = _read(path, encoding, label)
    if df is None:
        return None, problems
    cols = _columns(df, file, ("age", "asfr"), problems)
    if cols is None:
        return None, problems
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
    _contiguous(
        aged["age"],
        aged["row"],
        aged["asfr"],
        file,
        str(cols["age"]),
        "",
        problems,
        from_zero=False,
    )
    out = out.dropna()
    if not len(out) and not problems:
        problems.append(Problem(file, "the table has no rows", hint="add one row per age"))
    if any(p.severity == "error" for p in problems):
        return None, problems
    res = out.drop(columns="row").drop_duplicates("age").astype({"age": "int64", "asfr": float})
    tfr = float(res["asfr"].sum())
    lo, hi = TFR_PLAUSIBLE
    if not lo <= tfr <= hi:
        problems.append(
            Problem(
                file,
                f"the rates add up to a total fertility rate of {tfr:.2f}, outside {lo}–{hi}",
                hint="check the rates: births per woman per year at each single age "
                "(China's TFR has been 1.0–1.8 since 2000)",
                column=str(cols["asfr"]),
                code="out_of_range",
                severity="warning",
            )
        )
    return res.sort_values("age").reset_index(drop=True), problems


def read_survival_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read and check a survival table (``sex, age, survival``); see :func:`check_survival_table`.

    Raises
    ------
    InputError
        The file cannot be read, or has errors (every problem listed by file, row and column).
    """
    table, problems = check_survival_table(path, encoding=encoding)
    _fail(problems)
    return table


def read_fertility_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read and check a fertility table (``age, asfr``); see :func:`check_fertility_table`.

    Raises
    ------
    InputError
        The file cannot be read, or has errors (every problem listed by file, row and column).
    """
    table, problems = check_fertility_table(path, encoding=encoding)
    _fail(problems)
    return table


def _label(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # other drive on Windows
        return str(path)


def check_scenario_schedules(scenario) -> tuple[dict[str, pd.DataFrame | None], list[Problem]]:
    """The tables a scenario names in ``[forecast]`` and every problem found in them.

    Paths are relative to the scenario file's folder; each file is checked by
    :func:`check_survival_table` / :func:`check_fertility_table`.

    Returns
    -------
    tables : dict
        ``survival`` and ``fertility``: the table, or None (not named: the default
        schedule; or unusable: see the problems).
    problems : list of Problem
        Every problem of both tables (nothing is raised).
    """
    f = scenario.forecast
    out: dict[str, pd.DataFrame | None] = {"survival": None, "fertility": None}
    problems: list[Problem] = []
    for key, name, checker in (
        ("survival", f.survival_table, check_survival_table),
        ("fertility", f.fertility_table, check_fertility_table),
    ):
        if name:
            p = Path(name)
            p = p if p.is_absolute() else Path(scenario.base_dir) / p
            out[key], found = checker(p, label=_label(p))
            problems += found
    return out, problems


def read_scenario_schedules(scenario) -> dict[str, pd.DataFrame | None]:
    """The tables a scenario names in ``[forecast]`` (``survival``, ``fertility``; None = default).

    Raises
    ------
    InputError
        A named table is unusable; the message lists every problem of both tables.
    """
    tables, problems = check_scenario_schedules(scenario)
    _fail(problems)
    return tables
