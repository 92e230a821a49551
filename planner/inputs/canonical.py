"""Map a raw file onto the canonical schema and validate it (表头映射与校验).

Pure functions: given a :class:`~planner.inputs.readers.RawTable` (what a file
holds) and the schema, return the canonical table and every
:class:`~planner.errors.Problem` found. Nothing is silently coerced: a number
stored as text ("1,234"), a placeholder ("缺", "—") or an unknown category is
reported with its file, row, column and what to do.

Rows whose required values are missing or invalid, and later rows repeating an id,
are kept out of the computation: they stay in the returned table with the reason in
its ``_drop`` column (``code|column``), and :func:`split_excluded` separates them, so
every run can list them (``excluded_rows.csv``). Columns with a documented fallback
(a unit's ``kind`` → ``urban``) take it instead, and the problem says so.

Row numbers in messages are spreadsheet line numbers for CSV/XLSX (the header
is line 1, so the first data row is row 2; below a title row, the file's own
line) and 1-based feature numbers for GIS layers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from planner.errors import Problem, UnknownKeyError, closest
from planner.geo import crs as crsmod
from planner.inputs.readers import RawTable, normalise_header

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "table_specs",
    "normalise_header",
    "canonicalise",
    "known_headers",
    "parse_grade",
    "parse_year_text",
    "parse_age_text",
    "split_excluded",
    "MAX_ROW_PROBLEMS",
    "MISSING_MARKERS",
    "RowReporter",
]

#: individual row problems reported per (column, kind) before summarising the rest: the
#: validation file lists every row (the console groups them); the cap only guards memory
MAX_ROW_PROBLEMS = 10_000
#: placeholders bureaus type for "unknown"; reported, never read as numbers
PLACEHOLDERS = {
    "缺",
    "无",
    "—",
    "——",
    "-",
    "--",
    "/",
    "／",
    "n/a",
    "na",
    "null",
    "暂无",
    "不详",
    "?",
    "？",
}
#: what spreadsheets and databases write for "no value"; missing, never 0, and reported
MISSING_MARKERS = {"nan", "null", "none", "#n/a", "n/a", "#null!", "#value!", "#div/0!", "<na>"}
#: above this a count cannot be right, whatever the column (and int64 stays safe)
HARD_MAX = 1e15
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([,，]\d{3})+(\.\d+)?$")
# a number with the canonical unit written after it ("1100人", "45个"), or 万 before it
_SUFFIXED = re.compile(
    r"^([+-]?\d+(?:\.\d+)?)\s*(万)?\s*(人|个|班|间|所|户|套|平方米|㎡|m2|元|岁)?$"
)
_YEAR_FORM = re.compile(r"^(\d{4})\s*(?:年|年度|年末|年底)?$")
_SCHOOL_YEAR = re.compile(r"^(\d{4})\s*[-–—~～至到/]\s*(\d{2}|\d{4})\s*(?:学年度|学年|年度|年)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*\d{1,2}\s*(?:[-/.月]\s*\d{1,2}\s*日?)?(?:[ T].*)?$")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_GRADE = re.compile(r"^(?:小学|初中|中学)?([一二三四五六七八九]|[1-9])年级$")
_JUNIOR = re.compile(r"^初([一二三])$")
_GRADE_EN = re.compile(r"^(?:grade|g)\s*([1-9])$", re.IGNORECASE)
_AGE_RANGE = re.compile(r"^(\d{1,3})\s*[-–—~～至到]\s*(\d{1,3})\s*岁?$")
_AGE_OPEN = re.compile(r"^(\d{1,3})\s*(?:岁及以上|岁以上|周岁及以上|岁\+|\+|及以上)$")
_AGE_ONE = re.compile(r"^(\d{1,3})\s*岁?$")


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: name, type, unit, Chinese label and header aliases."""

    name: str
    dtype: str
    required: bool = False
    unit: str = ""
    zh: str = ""
    aliases: tuple[str, ...] = ()
    values_key: str | None = None
    min: float | None = None
    max: float | None = None
    default: Any = None
    description: str = ""
    fallback: Any = None


@dataclass(frozen=True)
class TableSpec:
    """One canonical input table."""

    name: str
    zh: str
    geometry: str
    id: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    values: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    description: str = ""
    ambiguous: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def column(self, name: str) -> ColumnSpec:
        """The column spec called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise UnknownKeyError(name, [c.name for c in self.columns], f"table '{self.name}'")

    @property
    def names(self) -> list[str]:
        """Canonical column names in schema order."""
        return [c.name for c in self.columns]


def table_specs(schema: Mapping[str, Any]) -> dict[str, TableSpec]:
    """Build :class:`TableSpec` objects from the parsed schema file (``inputs.toml``)."""
    values = {
        key: {str(v): tuple(str(a) for a in aliases) for v, aliases in table.items()}
        for key, table in schema.get("values", {}).items()
    }
    ambiguous = {
        normalise_header(h): (str(a["resembles"]), str(a["reason"]))
        for h, a in schema.get("ambiguous", {}).items()
    }
    specs: dict[str, TableSpec] = {}
    for name, table in schema.items():
        if name in ("values", "ambiguous"):
            continue
        cols = tuple(
            ColumnSpec(
                name=c["name"],
                dtype=c["dtype"],
                required=bool(c.get("required", False)),
                unit=c.get("unit", ""),
                zh=c.get("zh", ""),
                aliases=tuple(c.get("aliases", ())),
                values_key=c.get("values", c["name"])
                if c["dtype"] in {"category", "bool"}
                else None,
                min=c.get("min"),
                max=c.get("max"),
                default=c.get("default"),
                description=c.get("description", ""),
                fallback=c.get("fallback"),
            )
            for c in table["columns"]
        )
        ids = table["id"]
        specs[name] = TableSpec(
            name=name,
            zh=table.get("zh", ""),
            geometry=table.get("geometry", "none"),
            id=tuple(ids) if isinstance(ids, list) else (ids,),
            columns=cols,
            values=values,
            description=table.get("description", ""),
            ambiguous={h: a for h, a in ambiguous.items() if a[0] in {c.name for c in cols}},
        )
    return specs


def known_headers(spec: TableSpec) -> set[str]:
    """Normalised canonical names and aliases of a table (to find its header row)."""
    out = {normalise_header(a) for c in spec.columns for a in (c.name, *c.aliases)}
    return out | set(spec.ambiguous)


def parse_grade(text: Any) -> int | None:
    """Grade 1–9 from a header or value: ``一年级``, ``7年级``, ``初一`` (= 7), ``G3``."""
    t = normalise_header(text)
    m = _GRADE.match(t)
    if m:
        g = m.group(1)
        return _CN_DIGITS.get(g) or int(g)
    m = _JUNIOR.match(t)
    if m:
        return 6 + _CN_DIGITS[m.group(1)]
    m = _GRADE_EN.match(t)
    return int(m.group(1)) if m else None


def parse_year_text(text: Any) -> int | None:
    """A year from ``2024``, ``2024年``, ``2024年末``, a school year ``2023-2024学年`` (→ 2023) or a date.

    A school year counts from its autumn term (the schema's ``year`` of enrolment).
    """
    t = unicodedata.normalize("NFKC", str(text)).strip()
    m = _YEAR_FORM.match(t)
    if m:
        return int(m.group(1))
    m = _SCHOOL_YEAR.match(t)
    if m:
        first, second = int(m.group(1)), m.group(2)
        nxt = int(second) if len(second) == 4 else first // 100 * 100 + int(second)
        if nxt == first + 1:
            return first
    m = _DATE.match(t)  # a date in a year column (Excel date cells): its year
    return int(m.group(1)) if m else None


def parse_age_text(text: Any) -> tuple[int, int | None] | None:
    """Age bounds from ``5``, ``5岁``, ``0-4岁`` (→ 0, 4) or ``85岁及以上`` / ``85+`` (→ 85, None)."""
    t = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    m = _AGE_RANGE.match(t)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _AGE_OPEN.match(t)
    if m:
        return int(m.group(1)), None
    m = _AGE_ONE.match(t)
    if m:
        return int(m.group(1)), int(m.group(1))
    return None


# ---------------------------------------------------------------------------
# header mapping


def _map_headers(
    raw: RawTable, spec: TableSpec, user_map: Mapping[str, str], problems: list[Problem]
) -> dict[str, str]:
    """Return {canonical name: file header}."""
    file = raw.file
    headers = [str(h) for h in raw.frame.columns]
    canon = spec.names
    mapping: dict[str, str] = {}
    for src, dst in user_map.items():
        if dst not in canon:
            hint = closest(dst, canon)
            problems.append(
                Problem(
                    file,
                    f"the scenario maps column '{src}' to '{dst}', which is not a column of "
                    f"'{spec.name}'",
                    f"use one of: {', '.join(canon)}"
                    + (f" (did you mean '{hint}'?)" if hint else ""),
                    code="bad_column_mapping",
                )
            )
            continue
        if src not in headers:
            hint = closest(src, headers)
            problems.append(
                Problem(
                    file,
                    f"the scenario maps column '{src}', but the file has no such header",
                    (f"did you mean '{hint}'? " if hint else "")
                    + f"headers in the file: {', '.join(headers)}",
                    column=src,
                    code="bad_column_mapping",
                )
            )
            continue
        mapping[dst] = src
    lookup: dict[str, str] = {}
    for c in spec.columns:
        for a in (c.name, *c.aliases):
            lookup.setdefault(normalise_header(a), c.name)
    used = set(mapping.values())
    unrecognised: list[str] = []
    for h in headers:
        if h in used:
            continue
        amb = spec.ambiguous.get(normalise_header(h))
        if amb is not None:
            problems.append(
                Problem(
                    file,
                    f"column '{h}' is not read as '{amb[0]}': {amb[1]}",
                    f'if it really holds {amb[0]}, map it with columns = {{ "{h}" = "{amb[0]}" }} '
                    "in the scenario; otherwise the column stays empty (no data, not a pass)",
                    severity="warning",
                    column=h,
                    code="ambiguous_column",
                )
            )
            continue
        target = lookup.get(normalise_header(h))
        if target is None:
            unrecognised.append(h)
            continue
        if target in mapping:
            problems.append(
                Problem(
                    file,
                    f"both '{mapping[target]}' and '{h}' look like column '{target}'; "
                    f"using '{mapping[target]}'",
                    f"rename or drop '{h}', or map it explicitly with columns = {{...}} in the "
                    "scenario",
                    severity="warning",
                    column=h,
                    code="duplicate_column",
                )
            )
            continue
        mapping[target] = h
    missing = [c for c in spec.columns if c.name not in mapping]
    missing_names = {c.name for c in missing}
    for c in spec.columns:
        if c.name in mapping or not c.required:
            continue
        # lon/lat or geometry are checked with the geometry
        cand = _suggest_header(c, unrecognised)
        problems.append(
            Problem(
                file,
                f"required column '{c.name}' ({c.zh}) is missing",
                (
                    f"the header '{cand}' looks close: rename it to '{c.name}' or map it with "
                    f'columns = {{ "{cand}" = "{c.name}" }} in the scenario'
                    if cand
                    else f'add the column, or map your header with columns = {{ "<your header>" '
                    f'= "{c.name}" }} in the scenario; accepted headers: '
                    + ", ".join((c.name, *c.aliases))
                ),
                column=c.name,
                code="missing_column",
                action=(
                    f"every row takes the documented default "
                    f"({'the id' if c.fallback == '@id' else repr(c.fallback)}), flagged"
                    if c.fallback is not None
                    else "every row is kept out (a required input then refuses the run)"
                ),
            )
        )
    for h in unrecognised:
        near = None
        for c in missing:
            if c.required or c.name in missing_names:
                if _suggest_header(c, [h]):
                    near = c.name
                    break
        if near and spec.column(near).required:
            continue  # already reported with the missing column
        problems.append(
            Problem(
                file,
                f"column '{h}' is not recognised and is ignored"
                + (f" (did you mean '{near}'?)" if near else ""),
                f'map it with columns = {{ "{h}" = "<canonical name>" }} if it is needed',
                severity="warning" if near else "info",
                column=h,
                code="unknown_column",
            )
        )
    return mapping


def _suggest_header(col: ColumnSpec, headers: Iterable[str]) -> str | None:
    headers = list(headers)
    if not headers:
        return None
    norm = {normalise_header(h): h for h in headers}
    for cand in (col.name, *col.aliases):
        hit = closest(normalise_header(cand), list(norm), cutoff=0.75)
        if hit:
            return norm[hit]
    return None


# ---------------------------------------------------------------------------
# value parsing (vectorised per column)


def _cell_text(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return None
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
    if isinstance(v, bool | np.bool_):
        return str(bool(v)).lower()
    if isinstance(v, int | np.integer):
        return str(int(v))
    return str(v)


def _as_text(s: pd.Series) -> pd.Series:
    """Values as stripped strings; integral floats (Excel ids) without '.0'; empty → NA.

    Written markers of "no value" ('NaN', 'null', '#N/A') are kept as text here, so that
    they are reported, never silently missing (see :data:`MISSING_MARKERS`).
    """
    if (pd.api.types.is_string_dtype(s.dtype) and s.dtype != object) or (
        s.dtype == object and pd.api.types.infer_dtype(s, skipna=False) == "string"
    ):
        txt = s.astype("string")  # text already (CSV): no per-cell conversion
    else:
        txt = s.astype(object).map(_cell_text).astype("string")
    txt = txt.str.strip()
    return txt.mask(txt == "")


def _is_marker(txt: pd.Series) -> pd.Series:
    """Cells that say "no value" in words ('NaN', 'null', '#N/A', '-', '缺', '不详' …)."""
    low = txt.str.lower()
    return (low.isin(MISSING_MARKERS) | low.isin(PLACEHOLDERS)).fillna(False).astype(bool)


class RowReporter:
    """Collects row problems, reporting the first few individually and summarising the rest."""

    def __init__(self, file: str, rows: np.ndarray, ids: pd.Series | None) -> None:
        self.file = file
        self.rows = rows
        self.ids = ids
        self.problems: list[Problem] = []

    def report(
        self,
        mask: pd.Series | np.ndarray,
        column: str | None,
        message: Any,
        hint: str,
        code: str,
        severity: str = "error",
        action: str = "",
    ) -> None:
        """Report every row where ``mask`` is true; ``message`` may be a callable of the position."""
        if isinstance(mask, pd.Series):  # a nullable comparison: NA is not a problem
            mask = mask.astype("boolean").fillna(False).to_numpy(dtype=bool)
        pos = np.flatnonzero(np.asarray(mask, dtype=bool))
        for p in pos[:MAX_ROW_PROBLEMS]:
            msg = message(p) if callable(message) else message
            rid = None
            if self.ids is not None:
                v = self.ids.iloc[p]
                rid = None if pd.isna(v) else str(v)
            self.problems.append(
                Problem(
                    self.file,
                    msg,
                    hint,
                    severity,  # type: ignore[arg-type]
                    int(self.rows[p]),
                    rid,
                    column,
                    code,
                    action,
                )
            )
        if len(pos) > MAX_ROW_PROBLEMS:
            more = self.rows[pos[MAX_ROW_PROBLEMS:]]
            shown = ", ".join(str(r) for r in more[:10]) + (" …" if len(more) > 10 else "")
            self.problems.append(
                Problem(
                    self.file,
                    f"the same problem ({code}) in {len(more)} more rows: {shown}",
                    hint,
                    severity,  # type: ignore[arg-type]
                    None,
                    None,
                    column,
                    code,
                    action,
                )
            )


@dataclass(frozen=True)
class _Options:
    """The scenario's per-input reading options that reach value parsing."""

    factors: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    thousands: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)


def _value_forms(txt: pd.Series, col: ColumnSpec, header: str, rep: RowReporter) -> pd.Series:
    """Read common written forms: full-width digits, '2024年', '2023-2024学年', '1100人', '9万'."""
    wide_chars = txt.notna() & ~txt.str.isascii().fillna(True).astype(bool)
    norm = txt.copy()
    if wide_chars.any():
        norm[wide_chars] = txt[wide_chars].map(lambda v: unicodedata.normalize("NFKC", v))
    norm = norm.astype("string").str.strip()
    numeric = pd.to_numeric(norm, errors="coerce")
    cand = norm.notna() & numeric.isna()
    changed = (norm != txt).fillna(False).astype(bool)
    if cand.any():
        if col.dtype == "year":
            years = norm[cand].map(parse_year_text)
            ok = years.notna()
            norm.loc[years.index[ok]] = years[ok].astype(int).astype(str)
            changed.loc[years.index[ok]] = True
        else:
            m = norm[cand].str.extract(_SUFFIXED)
            ok = m[0].notna()
            if ok.any():
                val = pd.to_numeric(m.loc[ok, 0]) * np.where(m.loc[ok, 1].notna(), 1e4, 1.0)
                norm.loc[val.index] = val.map(lambda v: repr(float(v)))
                changed.loc[val.index] = True
    if changed.any():
        first = int(np.flatnonzero(changed.to_numpy())[0])
        rep.problems.append(
            Problem(
                rep.file,
                f"{int(changed.sum())} value(s) in a written form were read as numbers, e.g. "
                f"'{txt.iloc[first]}' → {norm.iloc[first]}",
                "nothing to do if that is right",
                "info",
                int(rep.rows[first]),
                None,
                header,
                "value_form",
            )
        )
    return norm


def _parse_number(
    raw_col: pd.Series, col: ColumnSpec, header: str, rep: RowReporter, opts: _Options
) -> tuple[pd.Series, pd.Series]:
    """Parse a numeric column; return the values and, per row, why a value is missing."""
    txt0 = _as_text(raw_col)
    why = pd.Series(pd.NA, index=txt0.index, dtype="string")
    why[txt0.isna()] = "missing_value"
    plain = pd.to_numeric(txt0, errors="coerce")
    if plain.notna().sum() == txt0.notna().sum():  # only plain numbers: the fast path
        return _check_number(plain.astype("Float64"), col, header, rep, opts, why)
    marker = _is_marker(txt0)
    required = col.required and col.fallback is None
    rep.report(
        marker,
        header,
        lambda p: f"placeholder '{txt0.iloc[p]}' where a number is expected (the value is missing)",
        "leave the cell empty if the value is unknown, or fill in the number",
        "placeholder_value",
        action="the row is kept out" if required else "the value is missing (never 0)",
    )
    why[marker] = "placeholder_value"
    txt = _value_forms(txt0.mask(marker), col, header, rep)
    if opts.thousands:
        sep = txt.fillna("").str.match(_THOUSANDS)
        txt = txt.where(~sep, txt.str.replace(r"[,，]", "", regex=True))
    missing = txt.isna()
    parsed = pd.to_numeric(txt.where(~missing), errors="coerce").astype("Float64")
    bad = ~missing & parsed.isna()
    infinite = parsed.notna() & ~np.isfinite(parsed.astype(float).fillna(0.0))
    if bad.any() or infinite.any():
        thousands = bad & txt.fillna("").str.match(_THOUSANDS)
        other = (bad & ~thousands) | infinite
        rep.report(
            thousands,
            header,
            lambda p: f"number stored as text with thousands separators ('{txt.iloc[p]}')",
            "remove the separators (format the cell as a plain number), or set "
            "thousands_separator = true for this input; values are never guessed",
            "number_as_text",
        )
        rep.report(
            other,
            header,
            lambda p: (
                f"'{txt.iloc[p]}' is not a number" + (" (not finite)" if infinite.iloc[p] else "")
            ),
            f"enter a number{f' in {col.unit}' if col.unit else ''}",
            "not_numeric",
        )
        why[thousands] = "number_as_text"
        why[other] = "not_numeric"
        parsed = parsed.mask(infinite)
    return _check_number(parsed, col, header, rep, opts, why)


def _fmt(v: float) -> str:
    """A number for a message: whole numbers with thousands separators (1,000,000)."""
    return f"{v:,.0f}" if np.isfinite(v) and abs(v) < 1e16 and float(v).is_integer() else f"{v:g}"


def _check_number(
    parsed: pd.Series,
    col: ColumnSpec,
    header: str,
    rep: RowReporter,
    opts: _Options,
    why: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Unit conversion, whole numbers, the allowed range and years of a parsed column."""
    v = parsed.to_numpy(dtype=float, na_value=np.nan)  # numpy: fast masks
    present = ~np.isnan(v)
    codes = np.full(len(v), None, dtype=object)

    def flag(mask: np.ndarray, message: Any, hint: str, code: str) -> None:
        nonlocal v, present
        mask = mask & present
        if not mask.any():
            return
        rep.report(mask, header, message, hint, code)
        codes[mask] = code
        v = np.where(mask, np.nan, v)
        present = ~np.isnan(v)

    flag(
        present & ~np.isfinite(np.where(present, v, 0.0)),
        lambda p: f"'{v[p]}' is not a number (not finite)",
        f"enter a number{f' in {col.unit}' if col.unit else ''}",
        "not_numeric",
    )
    factor = opts.factors.get(col.name)
    if factor is not None:
        v = v * factor[0]
    if col.dtype in {"int", "year"}:
        with np.errstate(invalid="ignore"):
            frac = np.abs(v - np.round(v)) > 1e-6 * np.maximum(np.abs(v), 1.0)
        flag(
            frac,
            lambda p: f"{v[p]} is not a whole number",
            "counts and years must be whole numbers"
            + (
                f'; a fraction such as 9.07 may be in 万: declare units = {{ {col.name} = "万人" }} '
                "(or 万户) for this input"
                if col.unit in ("persons", "pupils", "households") and factor is None
                else ""
            ),
            "not_integer",
        )
    with np.errstate(invalid="ignore"):
        if col.min is not None:
            what = "negative" if col.min == 0 else f"below {col.min}"
            flag(
                v < col.min,
                lambda p: f"{what} value {v[p]:g}",
                f"{col.name} must be ≥ {col.min:g}; correct the value",
                "out_of_range",
            )
        limit = min(col.max, HARD_MAX) if col.max is not None else HARD_MAX
        threshold = col.max is None or col.max >= 1e6
        flag(
            np.abs(v) > limit,
            lambda p: (
                f"value {_fmt(v[p])} above {_fmt(limit)}"
                + (" (the refuse threshold: no place has that many)" if threshold else "")
            ),
            f"{col.name} must be ≤ {_fmt(limit)}; check the value and its unit",
            "out_of_range",
        )
        if col.dtype == "year":
            flag(
                (v < 1949) | (v > 2100),
                lambda p: f"{v[p]:g} is not a plausible year",
                "years are four-digit calendar years (e.g. 2025)",
                "bad_year",
            )
    got = pd.notna(codes)
    if got.any():
        why = why.copy()
        why[got] = codes[got]
    out = pd.Series(v, index=parsed.index)
    if col.dtype in {"int", "year"}:
        return out.round().astype("Int64"), why
    return out.astype("Float64"), why


def _parse_category(
    raw_col: pd.Series,
    col: ColumnSpec,
    spec: TableSpec,
    header: str,
    rep: RowReporter,
    opts: _Options,
) -> tuple[pd.Series, pd.Series]:
    key = col.values_key or col.name
    table = spec.values.get(key, {})
    lookup: dict[str, str] = {}
    for value, aliases in table.items():
        for a in (value, *aliases):
            lookup[normalise_header(a)] = value
    # the scenario's value aliases: per column ({kind = {"镇区" = "town"}}) or flat
    for alias, target in opts.values.items():
        if isinstance(target, Mapping):
            if alias in (col.name, header):
                for a, t in target.items():
                    if t in table:
                        lookup[normalise_header(a)] = t
        elif target in table:
            lookup[normalise_header(alias)] = target
    txt = _as_text(raw_col)
    marker = _is_marker(txt)
    txt = txt.mask(marker)
    why = pd.Series(pd.NA, index=txt.index, dtype="string")
    why[txt.isna()] = "missing_value"
    norm = txt.map(lambda v: normalise_header(v) if isinstance(v, str) else v)
    if col.dtype == "bool":
        norm = norm.replace({"1.0": "1", "0.0": "0"})
    out = norm.map(lookup)
    bad = txt.notna() & out.isna()
    allowed = sorted({a for v, al in table.items() for a in (v, *al)})
    choices = ", ".join(
        f"{v} ({'/'.join([a for a in al if not a.isascii()][:3] or list(al[1:3]))})"
        for v, al in table.items()
    )

    def unknown(p: int) -> str:
        value = str(txt.iloc[p])
        near = closest(value, allowed)
        return f"unknown value '{value}'" + (f" (did you mean '{near}'?)" if near else "")

    action = ""
    if col.fallback is not None:
        action = f"taken as '{col.fallback}' (the documented default), flagged"
    elif col.required:
        action = "the row is kept out"
    rep.report(
        bad,
        header,
        unknown,
        f"use one of: {choices}; or add an alias in the scenario: "
        f'values = {{ {col.name} = {{ "<your value>" = "<one of them>" }} }}',
        "bad_category",
        action=action,
    )
    why[bad] = "bad_category"
    if col.dtype == "bool":
        return out.map({"true": True, "false": False}).astype("boolean"), why
    return out.astype("string"), why


def _parse_str(raw_col: pd.Series) -> tuple[pd.Series, pd.Series]:
    txt = _as_text(raw_col)
    txt = txt.mask(txt.str.lower().isin(MISSING_MARKERS).fillna(False).astype(bool))
    why = pd.Series(pd.NA, index=txt.index, dtype="string")
    why[txt.isna()] = "missing_value"
    return txt.astype("string"), why


# ---------------------------------------------------------------------------
# geometry


def _build_geometry(
    raw: RawTable,
    spec: TableSpec,
    parsed: pd.DataFrame,
    declared: str | None,
    rep: RowReporter,
) -> gpd.GeoSeries | None:
    file = raw.file
    problems = rep.problems
    if spec.geometry == "none":
        return None
    declared_crs: CRS | None = None
    datum: str | None = None
    if declared:
        try:
            declared_crs, datum = crsmod.resolve_datum(declared)
        except Exception as exc:
            problems.append(
                Problem(file, str(exc), "fix `crs` for this input in the scenario", code="bad_crs")
            )
            return None
    if raw.geometry is not None:
        geom = gpd.GeoSeries(raw.geometry.values, crs=None)
        file_crs = raw.crs
        src_crs = file_crs if file_crs is not None else declared_crs
        if file_crs is not None and declared_crs is not None:
            same = file_crs.equals(declared_crs) or (
                file_crs.is_geographic
                and declared_crs.is_geographic
                and _both_wgs_like(file_crs, declared_crs)
            )
            shown = f"{file_crs.name} ({file_crs.to_string()})"
            if datum is not None and not file_crs.is_geographic:
                problems.append(
                    Problem(
                        file,
                        f"declared {datum} (longitude/latitude) but the file's CRS {shown} is "
                        "projected; using the file's CRS",
                        f"{datum} data are longitude/latitude; check the `crs` of this input",
                        code="crs_conflict",
                    )
                )
                datum = None
                src_crs = file_crs
            elif not same or datum is not None:
                if not same:
                    problems.append(
                        Problem(
                            file,
                            f"the file declares {shown} but the scenario says '{declared}'; "
                            "using the scenario's",
                            "remove `crs` from the scenario for this input to use the file's, "
                            "or fix the file's coordinate system (.prj)",
                            severity="warning",
                            code="crs_conflict",
                            action="the scenario's declared coordinate system is used",
                        )
                    )
                src_crs = declared_crs
    else:
        lon_h = "lon" in parsed.columns and parsed["lon"].notna().any()
        lat_h = "lat" in parsed.columns and parsed["lat"].notna().any()
        if not (lon_h and lat_h):
            problems.append(
                Problem(
                    file,
                    "no geometry: the file has no geometry and no longitude/latitude columns",
                    "add 经度/纬度 (lon/lat) columns, or supply a GeoPackage/Shapefile/GeoJSON",
                    column="lon/lat",
                    code="missing_geometry",
                )
            )
            return None
        x = parsed["lon"].astype("Float64")
        y = parsed["lat"].astype("Float64")
        miss = x.isna() | y.isna()
        rep.report(
            miss,
            "lon/lat",
            "longitude or latitude missing",
            "fill in both coordinates of this record",
            "missing_coordinates",
        )
        geom = gpd.GeoSeries(
            gpd.points_from_xy(x.fillna(np.nan).to_numpy(float), y.fillna(np.nan).to_numpy(float)),
            crs=None,
        )
        geom[miss.to_numpy()] = None
        src_crs = declared_crs
    present = geom.notna() & ~geom.is_empty
    if src_crs is None or src_crs.is_geographic:
        # feature by feature: degrees that are swapped or impossible
        b = pd.DataFrame(
            geom.where(present).bounds.to_numpy(), columns=["x0", "y0", "x1", "y1"]
        ).set_index(geom.index)
        metres = present & (b.abs() > 1000).any(axis=1)
        swapped = (
            present
            & ~metres
            & (b["x0"] >= 18)
            & (b["x1"] <= 54)
            & (b["y0"] >= 73)
            & (b["y1"] <= 136)
        )
        impossible = (
            present
            & ~metres
            & ~swapped
            & ((b[["x0", "x1"]].abs() > 180).any(axis=1) | (b[["y0", "y1"]].abs() > 90).any(axis=1))
        )
        if not metres[present].all():
            pts = geom.where(present).representative_point()
            rep.report(
                swapped,
                "lon/lat" if raw.geometry is None else "geometry",
                lambda p: (
                    f"({pts.iloc[p].x:.6f}, {pts.iloc[p].y:.6f}) looks like (latitude, "
                    "longitude): longitude and latitude swapped; swapped back"
                ),
                "put longitude (经度, about 73–136 in China) first and latitude (纬度, 18–54) "
                "second, or in their own columns",
                "crs_range",
                severity="warning",
                action="swapped back",
            )
            if swapped.any():
                idx = swapped.to_numpy()
                geom[idx] = shapely.transform(geom[idx].values, lambda c: c[:, ::-1])
            rep.report(
                impossible,
                "lon/lat" if raw.geometry is None else "geometry",
                lambda p: (
                    f"({b['x0'].iloc[p]}, {b['y0'].iloc[p]}) is not a valid longitude/latitude"
                ),
                "check the coordinates and the `crs` declared for this input",
                "crs_range",
                action="the location is dropped",
            )
            geom[impossible.to_numpy()] = None
            present = present & ~impossible
    coords = shapely.get_coordinates(geom[present].values)
    if src_crs is None:
        looks_deg = len(coords) > 0 and bool(
            np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)
        )
        problems.append(
            Problem(
                file,
                "coordinate system (CRS) missing"
                + ("; coordinates look like degrees, assumed WGS84" if looks_deg else ""),
                'declare it for this input in the scenario: crs = "WGS84" | "CGCS2000" | "GCJ-02" '
                '| "BD-09" | "EPSG:4547" …',
                column="crs",
                code="missing_crs",
            )
        )
        if not looks_deg:
            return None
        src_crs, datum = crsmod.resolve_datum("WGS84")
    if len(coords):
        reasons = crsmod.check_coordinate_range(coords[:, 0], coords[:, 1], src_crs)
        for reason in reasons:
            problems.append(
                Problem(
                    file,
                    f"coordinates contradict the CRS {(datum or src_crs.name)}: {reason}",
                    "check the `crs` declared for this input and whether longitude and latitude "
                    "are swapped",
                    code="crs_range",
                    action="no location for the layer",
                )
            )
        if reasons:
            return None
    # empty / invalid / wrong type
    empty = geom.isna() | geom.is_empty
    if raw.geometry is not None:
        rep.report(
            empty & (raw.geometry.isna() | raw.geometry.is_empty).to_numpy(),
            "geometry",
            "empty geometry",
            "draw the feature or delete the record",
            "empty_geometry",
        )
    gtype = geom.geom_type
    want = spec.geometry
    if want == "polygon":
        wrong = ~empty & ~gtype.isin(["Polygon", "MultiPolygon"])
    elif want == "point":
        wrong = ~empty & ~gtype.isin(["Point"])
    elif want == "line":
        wrong = ~empty & ~gtype.isin(["LineString", "MultiLineString"])
    else:
        wrong = ~empty & ~gtype.isin(["Point", "Polygon", "MultiPolygon"])
    rep.report(
        wrong,
        "geometry",
        lambda p: f"geometry is a {gtype.iloc[p]}, expected {want.replace('_', ' ')}",
        "supply the right geometry type for this input",
        "wrong_geometry_type",
    )
    geom[wrong.to_numpy()] = None
    valid = geom.is_valid | geom.isna()
    invalid = ~valid & ~empty
    if invalid.any():
        reasons = shapely.is_valid_reason(geom[invalid].values)
        repaired = shapely.make_valid(geom[invalid].values)
        if want == "polygon":
            repaired = np.array([_polygonal_part(g) for g in repaired], dtype=object)
        reason_by_pos = dict(zip(np.flatnonzero(invalid.to_numpy()), reasons, strict=True))
        rep.report(
            invalid,
            "geometry",
            lambda p: f"invalid geometry ({reason_by_pos[p]}); repaired with make_valid",
            "check the repaired shape on the map; fix the source data if it looks wrong",
            "invalid_geometry_repaired",
            severity="warning",
        )
        geom[invalid.to_numpy()] = repaired
    geom = geom.set_crs(src_crs, allow_override=True)
    if datum is not None:
        geom = crsmod.from_datum_geoseries(geom.to_crs(4326), datum)
    geom = geom.to_crs(4326)
    # a location outside China is a typing error (or another coordinate system); roads
    # only measure distances, so a stray road far away is harmless and kept
    here = geom.notna() & ~geom.is_empty
    if here.any() and want != "line":
        rp = geom.where(here).representative_point()
        inside = pd.Series(
            crsmod.looks_like_china(rp.x.to_numpy(), rp.y.to_numpy()), index=geom.index
        )
        abroad = here & ~inside
        rep.report(
            abroad,
            "lon/lat" if raw.geometry is None else "geometry",
            lambda p: (
                f"location ({rp.iloc[p].x:.5f}, {rp.iloc[p].y:.5f}) is outside China "
                "(73–136°E, 3–54°N)"
            ),
            "check the coordinates (a typing error? another coordinate system?)",
            "outside_china",
            action="the location is dropped",
        )
        geom[abroad.to_numpy()] = None
    return geom


def _polygonal_part(g: Any) -> Any:
    """Keep the polygonal part of a make_valid result (drop stray lines/points)."""
    if g is None or g.geom_type in {"Polygon", "MultiPolygon"}:
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in {"Polygon", "MultiPolygon"}]
    if not polys:
        return None
    return shapely.union_all(polys)


def _both_wgs_like(a: CRS, b: CRS) -> bool:
    """WGS84 and CGCS2000 geographic coordinates differ by centimetres: treat as equal."""
    codes = {a.to_epsg(), b.to_epsg()}
    return codes <= {4326, 4490, 4479, 4480}


# ---------------------------------------------------------------------------
# the entry point


#: the count a wide table's cells hold, per input (``wide = { key = ... }`` without ``value``)
WIDE_VALUE = {
    "enrolment": "students",
    "population": "population",
    "population_by_age": "population",
    "births": "births",
}
_WIDE_KEY_COLUMN = {"grade": "grade", "year": "year", "age": "age_lo"}
_WIDE_EXAMPLES = {"grade": "一年级 … 九年级", "year": "2012, 2013年", "age": "0岁, 0-4岁"}


def _wide_key(header: str, key: str) -> tuple[Any, str] | None:
    """(key value, the rest of the header) when a header names a grade, year or age."""
    parts = [p for p in re.split(r"[/／]", str(header)) if p.strip()] or [str(header)]
    for i, part in enumerate(parts):
        if key == "grade":
            v: Any = parse_grade(part)
        elif key == "year":
            v = parse_year_text(part)
        else:
            v = part.strip() if parse_age_text(part) is not None else None
        if v is not None:
            rest = "/".join(parts[:i] + parts[i + 1 :])
            return v, rest
    return None


def _reshape_wide(
    raw: RawTable, spec: TableSpec, key: str, value: str | None, problems: list[Problem]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Melt the columns whose headers are grades / years / ages into long rows."""
    frame = raw.frame
    rows = raw.rows if raw.rows is not None else np.arange(len(frame)) + 2
    value = value or WIDE_VALUE.get(spec.name)
    if value is None or value not in spec.names:
        raise ValueError(
            f"wide = {{ key = '{key}' }}: name the value column (value = one of {spec.names})"
        )
    lookup: dict[str, str] = {}
    for c in spec.columns:
        for a in (c.name, *c.aliases):
            lookup.setdefault(normalise_header(a), c.name)
    wide: dict[Any, dict[str, str]] = {}
    for h in frame.columns:
        hit = _wide_key(str(h), key)
        if hit is None:
            continue
        k, rest = hit
        target = lookup.get(normalise_header(rest), value) if rest else value
        wide.setdefault(k, {})[target] = h
    if not wide:
        problems.append(
            Problem(
                raw.file,
                f"wide = {{ key = '{key}' }}: no header names a {key}",
                f"headers like {_WIDE_EXAMPLES[key]} are reshaped; check the header row (header_row, header_rows)",
                code="bad_column_mapping",
            )
        )
        return frame, rows
    used = {h for m in wide.values() for h in m.values()}
    ids = [h for h in frame.columns if h not in used]
    key_col = _WIDE_KEY_COLUMN[key]
    parts, part_rows = [], []
    for k, cols in wide.items():
        part = frame[ids].copy()
        part[key_col] = str(k)
        for target, h in cols.items():
            part[target] = frame[h].to_numpy()
        filled = np.zeros(len(part), dtype=bool)
        for target in cols:
            filled |= (
                ~part[target].map(lambda v: v is None or str(v).strip() in ("", "nan")).to_numpy()
            )
        parts.append(part.loc[filled])
        part_rows.append(rows[filled])
    out = pd.concat(parts, ignore_index=True)
    out_rows = np.concatenate(part_rows)
    order = np.argsort(out_rows, kind="stable")
    problems.append(
        Problem(
            raw.file,
            f"wide table: {len(used)} column(s) of {key}s reshaped to {len(out)} rows "
            f"({', '.join(map(str, list(wide)[:9]))}{' …' if len(wide) > 9 else ''})",
            "",
            severity="info",
            code="layout_detected",
        )
    )
    return out.iloc[order].reset_index(drop=True), out_rows[order]


def _age_forms(frame: pd.DataFrame, mapping: dict[str, str], rep: RowReporter) -> pd.DataFrame:
    """Age groups written as text ('0-4岁', '85岁及以上') fill age_lo and age_hi."""
    h_lo = mapping.get("age_lo")
    if h_lo is None:
        return frame
    txt = _as_text(frame[h_lo])
    uniq = {v: parse_age_text(v) for v in txt.dropna().unique()}
    parsed = txt.map(uniq)
    ok = parsed.notna()
    if not ok.any():
        return frame
    frame = frame.copy()
    frame[h_lo] = txt.where(~ok, parsed[ok].map(lambda t: str(t[0])))
    plain = ok & txt.str.fullmatch(r"\d+").fillna(False).astype(bool)
    if "age_hi" not in mapping:
        hi = parsed.map(lambda t: "" if t is None or t[1] is None else str(t[1]))
        frame["age_hi"] = hi.where(ok, "")
        mapping["age_hi"] = "age_hi"
    changed = ok & ~plain
    if changed.any():
        first = int(np.flatnonzero(changed.to_numpy())[0])
        rep.problems.append(
            Problem(
                rep.file,
                f"{int(changed.sum())} age group(s) written as text were read, e.g. "
                f"'{txt.iloc[first]}' → ages {parsed.iloc[first][0]}–"
                f"{parsed.iloc[first][1] if parsed.iloc[first][1] is not None else '(open)'}",
                "nothing to do if that is right",
                "info",
                int(rep.rows[first]),
                None,
                h_lo,
                "value_form",
            )
        )
    return frame


def split_excluded(table: pd.DataFrame, name: str, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Separate the rows kept out (``_drop`` set) from the rest.

    Returns
    -------
    kept : DataFrame
        The usable rows, without ``_drop``.
    excluded : DataFrame
        ``input, file, row, id, code, column`` of every row kept out.
    """
    cols = ["input", "file", "row", "id", "code", "column"]
    if "_drop" not in table.columns:
        return table, pd.DataFrame(columns=cols)
    drop = table["_drop"].notna().to_numpy()
    gone = table.loc[drop]
    id_col = next(
        (c for c in ("unit_id", "school_id", "dev_id", "site_id") if c in table.columns), None
    )
    if name in ("units", "schools", "developments", "sites"):
        id_col = {
            "units": "unit_id",
            "schools": "school_id",
            "developments": "dev_id",
            "sites": "site_id",
        }[name]
    why = gone["_drop"].astype(str).str.split("|", n=1, expand=True).reindex(columns=[0, 1])
    excluded = pd.DataFrame(
        {
            "input": name,
            "file": file,
            "row": gone["_row"].astype("Int64").to_numpy(),
            "id": gone[id_col].astype("string").to_numpy() if id_col else pd.NA,
            "code": why[0].to_numpy(),
            "column": why[1].to_numpy(),
        },
        columns=cols,
    )
    kept = table.loc[~drop].drop(columns="_drop").reset_index(drop=True)
    return kept, excluded


def _mark(drop: pd.Series, mask: pd.Series | np.ndarray, reason: str) -> None:
    """Set the drop reason of rows not yet dropped."""
    m = np.asarray(mask, dtype=bool) & drop.isna().to_numpy()
    drop[m] = reason


def canonicalise(
    raw: RawTable,
    spec: TableSpec,
    *,
    columns: Mapping[str, str] | None = None,
    crs: str | None = None,
    values: Mapping[str, Any] | None = None,
    factors: Mapping[str, tuple[float, str]] | None = None,
    wide: tuple[str, str | None] | None = None,
    thousands_separator: bool = False,
) -> tuple[pd.DataFrame | gpd.GeoDataFrame, list[Problem]]:
    """Map a raw table onto the canonical schema, parse and validate every value.

    Parameters
    ----------
    raw : RawTable
        What the reader found in the file.
    spec : TableSpec
        The canonical table (from :func:`table_specs`).
    columns : mapping, optional
        Extra header mapping from the scenario, ``{file header: canonical name}``.
    crs : str, optional
        The coordinate system declared in the scenario (``"WGS84"``, ``"CGCS2000"``,
        ``"GCJ-02"``, ``"BD-09"``, ``"EPSG:4547"`` …); it overrides the file's, with a
        warning naming both.
    values : mapping, optional
        Value aliases of category columns: ``{column: {alias: value}}`` or flat
        ``{alias: value}``.
    factors : mapping, optional
        ``{column: (factor, unit)}``: multiply the column's values by ``factor`` to reach
        the canonical unit (the scenario's ``units``, resolved by the loader).
    wide : (key, value) or None
        Reshape a wide table (see :class:`planner.scenario.WideSpec`).
    thousands_separator : bool
        Read ``1,234`` / ``1，234`` as numbers.

    Returns
    -------
    table : DataFrame or GeoDataFrame
        Canonical columns in schema order (geometry in WGS84 for spatial inputs), a
        ``_row`` column with the source row number (used by cross-table checks) and a
        ``_drop`` column: ``code|column`` for every row kept out (a required value
        missing or invalid, a repeated id), NA otherwise (see :func:`split_excluded`).
    problems : list of Problem
        Everything found, in file order.
    """
    problems: list[Problem] = list(raw.problems)
    opts = _Options(dict(factors or {}), thousands_separator, dict(values or {}))
    gis = raw.geometry is not None
    frame = raw.frame
    rows = raw.rows if raw.rows is not None else np.arange(len(frame)) + (1 if gis else 2)
    if wide is not None and not gis:
        frame, rows = _reshape_wide(
            RawTable(raw.file, frame, None, None, [], rows), spec, wide[0], wide[1], problems
        )
    raw_view = RawTable(raw.file, frame, raw.geometry, raw.crs, [], rows)
    mapping = _map_headers(raw_view, spec, columns or {}, problems)
    id_col = spec.id[0] if spec.id else None  # no id (roads): rows are feature numbers
    ids = _as_text(frame[mapping[id_col]]) if id_col in mapping else None
    rep = RowReporter(raw.file, np.asarray(rows), ids)
    if "age_lo" in spec.names:
        frame = _age_forms(frame, mapping, rep)
    out: dict[str, pd.Series] = {}
    drop = pd.Series(pd.NA, index=frame.index, dtype="string")
    for col in spec.columns:
        header = mapping.get(col.name)
        if header is None:
            if col.dtype in {"int", "year"}:
                out[col.name] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
            elif col.dtype == "float":
                out[col.name] = pd.Series(np.nan, index=frame.index, dtype="Float64")
            elif col.dtype == "bool":
                val = pd.NA if col.default is None else bool(col.default)
                out[col.name] = pd.Series(val, index=frame.index, dtype="boolean")
            else:
                out[col.name] = pd.Series(col.default, index=frame.index, dtype="string")
            if col.required:
                if col.fallback is not None:
                    out[col.name] = _fallback(out[col.name], col, ids)
                elif col.name not in ("lon", "lat"):
                    _mark(drop, np.ones(len(frame), dtype=bool), f"missing_column|{col.name}")
            continue
        raw_col = frame[header]
        if col.dtype in {"int", "float", "year"}:
            val, why = _parse_number(raw_col, col, header, rep, opts)
        elif col.dtype in {"category", "bool"}:
            val, why = _parse_category(raw_col, col, spec, header, rep, opts)
        else:
            val, why = _parse_str(raw_col)
        if col.required:
            empty = why.eq("missing_value").fillna(False).astype(bool)
            rep.report(
                empty,
                header,
                f"empty value in required column '{col.name}'",
                f"fill in {col.zh or col.name}",
                "missing_value",
                action=(
                    f"taken as {'the id' if col.fallback == '@id' else repr(col.fallback)} "
                    "(the documented default), flagged"
                    if col.fallback is not None
                    else "the row is kept out"
                ),
            )
            if col.fallback is not None:
                val = _fallback(val, col, ids)
            else:
                bad = val.isna() & why.notna()
                for code in why[bad].unique():
                    _mark(drop, bad & (why == code), f"{code}|{header}")
        if col.default is not None:
            val = val.fillna(col.default)
        out[col.name] = val
    table = pd.DataFrame(out, index=frame.index)
    table["_row"] = np.asarray(rows)
    # duplicate ids: the first usable row is kept, later ones are kept out
    id_cols = [c for c in spec.id if c in mapping]
    if spec.id and len(id_cols) == len(spec.id):
        live = drop.isna()
        key = table[list(spec.id)]
        dup = live & key.duplicated(keep=False) & key.notna().all(axis=1)
        dup = dup & table.loc[live, list(spec.id)].duplicated(keep=False).reindex(
            table.index, fill_value=False
        )
        if dup.any():
            first_row = (
                table.loc[dup]
                .groupby(list(spec.id), dropna=True, sort=False)["_row"]
                .transform("min")
            )
            firsts = pd.Series(np.nan, index=table.index)
            firsts.loc[first_row.index] = first_row
            later = dup & (table["_row"] != firsts)
            keytxt = (
                key.astype("string").fillna("").agg(" / ".join, axis=1)
                if len(spec.id) > 1
                else key[spec.id[0]].astype("string")
            )
            rep.report(
                later,
                " + ".join(mapping[c] for c in spec.id),
                lambda p: (
                    f"duplicate {' + '.join(spec.id)} '{keytxt.iloc[p]}' "
                    f"(first seen in row {int(firsts.iloc[p])})"
                ),
                "ids must be unique: remove the duplicate row or give it its own id",
                "duplicate_id",
                action="this row is kept out; the first is used",
            )
            _mark(drop, later, f"duplicate_id|{'+'.join(spec.id)}")
    geom = _build_geometry(raw_view, spec, table, crs, rep)
    problems.extend(rep.problems)
    table = table.drop(columns=[c for c in ("lon", "lat") if c in table.columns])
    if spec.geometry != "none":
        if geom is None:
            geom = gpd.GeoSeries([None] * len(table), index=table.index, crs=4326)
        else:
            geom.index = table.index
        table = gpd.GeoDataFrame(table, geometry=geom, crs=4326)
    table["_drop"] = drop
    return table.reset_index(drop=True), problems


def _fallback(val: pd.Series, col: ColumnSpec, ids: pd.Series | None) -> pd.Series:
    """Fill a required column's missing values with its documented fallback."""
    if col.fallback == "@id":
        fill = ids.reindex(val.index) if ids is not None else pd.Series(pd.NA, index=val.index)
        return val.fillna(fill.astype(val.dtype) if len(fill) else fill)
    if col.dtype == "bool":
        return val.fillna(bool(col.fallback))
    return val.fillna(col.fallback)
