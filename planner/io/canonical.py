"""Map a raw file onto the canonical schema and validate it (表头映射与校验).

Pure functions: given a :class:`~planner.io.readers.RawTable` (what a file
holds) and the schema, return the canonical table and every
:class:`~planner.errors.Problem` found. Nothing is silently coerced: a number
stored as text ("1,234"), a placeholder ("缺", "—") or an unknown category is
reported with its file, row, column and what to do.

Row numbers in messages are spreadsheet line numbers for CSV/XLSX (the header
is line 1, so the first data row is row 2) and 1-based feature numbers for GIS
layers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from planner.errors import Problem, UnknownKeyError, closest
from planner.io import crs as crsmod
from planner.io.readers import RawTable

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "table_specs",
    "normalise_header",
    "canonicalise",
    "MAX_ROW_PROBLEMS",
    "RowReporter",
]

#: individual row problems reported per (column, kind) before summarising the rest
MAX_ROW_PROBLEMS = 20
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
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([,，]\d{3})+(\.\d+)?$")
_PAREN = re.compile(r"[（(\[【].*?[)）\]】]")
_SPACE = re.compile(r"[\s_\-—:：]+")


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
    specs: dict[str, TableSpec] = {}
    for name, table in schema.items():
        if name == "values":
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
        )
    return specs


def normalise_header(header: str) -> str:
    """Header as compared with aliases: no bracketed units, spaces, '_' or '-'; lower case.

    ``"占地面积（平方米）"`` → ``"占地面积"``; ``"School_ID "`` → ``"schoolid"``.
    """
    h = _PAREN.sub("", str(header))
    return _SPACE.sub("", h).lower()


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
        return str(int(v)) if float(v).is_integer() else str(float(v))
    return str(v)


def _as_text(s: pd.Series) -> pd.Series:
    """Values as stripped strings; integral floats (Excel ids) without '.0'; missing → NA."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        txt = s.astype("string")
    else:
        txt = s.astype(object).map(_cell_text).astype("string")
    txt = txt.str.strip()
    return txt.mask(txt.isin(["", "nan", "NaN", "None", "<NA>"]))


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
    ) -> None:
        """Report every row where ``mask`` is true; ``message`` may be a callable of the position."""
        pos = np.flatnonzero(np.asarray(mask, dtype=bool))
        for p in pos[:MAX_ROW_PROBLEMS]:
            msg = message(p) if callable(message) else message
            rid = None
            if self.ids is not None:
                v = self.ids.iloc[p]
                rid = None if pd.isna(v) else str(v)
            self.problems.append(
                Problem(self.file, msg, hint, severity, int(self.rows[p]), rid, column, code)  # type: ignore[arg-type]
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
                )
            )


def _parse_number(raw_col: pd.Series, col: ColumnSpec, header: str, rep: RowReporter) -> pd.Series:
    txt = _as_text(raw_col)
    missing = txt.isna()
    parsed = pd.to_numeric(txt.where(~missing), errors="coerce").astype("Float64")
    bad = ~missing & parsed.isna()
    if bad.any():
        lower = txt.str.lower()
        thousands = bad & txt.fillna("").str.match(_THOUSANDS)
        placeholder = bad & lower.isin(PLACEHOLDERS)
        other = bad & ~thousands & ~placeholder
        rep.report(
            thousands,
            header,
            lambda p: f"number stored as text with thousands separators ('{txt.iloc[p]}')",
            "remove the separators (format the cell as a plain number); values are never guessed",
            "number_as_text",
        )
        rep.report(
            placeholder,
            header,
            lambda p: f"placeholder '{txt.iloc[p]}' where a number is expected",
            "leave the cell empty if the value is unknown, or fill in the number",
            "placeholder_value",
        )
        rep.report(
            other,
            header,
            lambda p: f"'{txt.iloc[p]}' is not a number",
            f"enter a number{f' in {col.unit}' if col.unit else ''}",
            "not_numeric",
        )
    if col.dtype in {"int", "year"}:
        frac = parsed.notna() & (parsed != parsed.round())
        rep.report(
            frac,
            header,
            lambda p: f"{parsed.iloc[p]} is not a whole number",
            "counts and years must be whole numbers",
            "not_integer",
        )
        parsed = parsed.mask(frac)
    if col.min is not None:
        low = parsed.notna() & (parsed < col.min)
        what = "negative" if col.min == 0 else f"below {col.min}"
        rep.report(
            low,
            header,
            lambda p: f"{what} value {parsed.iloc[p]:g}",
            f"{col.name} must be ≥ {col.min:g}; correct the value",
            "out_of_range",
        )
        parsed = parsed.mask(low)
    if col.max is not None:
        high = parsed.notna() & (parsed > col.max)
        rep.report(
            high,
            header,
            lambda p: f"value {parsed.iloc[p]:g} above {col.max:g}",
            f"{col.name} must be ≤ {col.max:g}",
            "out_of_range",
        )
        parsed = parsed.mask(high)
    if col.dtype == "year":
        odd = parsed.notna() & ((parsed < 1949) | (parsed > 2100))
        rep.report(
            odd,
            header,
            lambda p: f"{parsed.iloc[p]:g} is not a plausible year",
            "years are four-digit calendar years (e.g. 2025)",
            "bad_year",
        )
        parsed = parsed.mask(odd)
    if col.dtype in {"int", "year"}:
        return parsed.round().astype("Int64")
    return parsed


def _parse_category(
    raw_col: pd.Series, col: ColumnSpec, spec: TableSpec, header: str, rep: RowReporter
) -> pd.Series:
    key = col.values_key or col.name
    table = spec.values.get(key, {})
    lookup: dict[str, str] = {}
    for value, aliases in table.items():
        for a in (value, *aliases):
            lookup[normalise_header(a)] = value
    txt = _as_text(raw_col)
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

    rep.report(bad, header, unknown, f"use one of: {choices}", "bad_category")
    if col.dtype == "bool":
        return out.map({"true": True, "false": False}).astype("boolean")
    return out.astype("string")


def _parse_str(raw_col: pd.Series) -> pd.Series:
    return _as_text(raw_col).astype("string")


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
    is_gcj = False
    if declared:
        try:
            declared_crs, is_gcj = crsmod.resolve_crs(declared)
        except Exception as exc:
            problems.append(
                Problem(file, str(exc), "fix `crs` for this input in the scenario", code="bad_crs")
            )
            return None
    if raw.geometry is not None:
        geom = gpd.GeoSeries(raw.geometry.values, crs=None)
        file_crs = raw.crs
        if file_crs is not None and declared_crs is not None and not is_gcj:
            if not file_crs.equals(declared_crs) and not (
                file_crs.is_geographic
                and declared_crs.is_geographic
                and _both_wgs_like(file_crs, declared_crs)
            ):
                problems.append(
                    Problem(
                        file,
                        f"the file declares CRS {file_crs.to_string()} but the scenario says "
                        f"'{declared}'; using the file's CRS",
                        "remove `crs` from the scenario for this input, or fix the file's CRS",
                        severity="warning",
                        code="crs_conflict",
                    )
                )
        src_crs = file_crs if (file_crs is not None and not is_gcj) else declared_crs
        if is_gcj and file_crs is not None and not file_crs.is_geographic:
            problems.append(
                Problem(
                    file,
                    f"declared GCJ-02 but the file's CRS {file_crs.to_string()} is projected",
                    "GCJ-02 data are longitude/latitude; check the `crs` of this input",
                    code="crs_conflict",
                )
            )
            is_gcj = False
            src_crs = file_crs
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
        file_crs = None
    present = geom.notna() & ~geom.is_empty
    if raw.geometry is None and (src_crs is None or src_crs.is_geographic or is_gcj):
        # row by row: a single record with swapped or impossible degrees
        xs, ys = geom.x.where(present), geom.y.where(present)
        impossible = present & ((xs.abs() > 180) | (ys.abs() > 90))
        looks_swapped = impossible & xs.between(18, 54) & ys.between(73, 136)
        if impossible.sum() < present.sum():  # all rows bad: reported once below

            def _bad(p: int) -> str:
                msg = f"({xs.iloc[p]}, {ys.iloc[p]}) is not a valid longitude/latitude"
                return msg + (
                    " — longitude and latitude look swapped" if looks_swapped.iloc[p] else ""
                )

            rep.report(
                impossible,
                "lon/lat",
                _bad,
                "put longitude (经度, about 73–136 in China) and latitude (纬度, 18–54) in "
                "their own columns",
                "crs_range",
            )
            geom[impossible.to_numpy()] = None
            present = present & ~impossible
    coords = shapely.get_coordinates(geom[present].values)
    if src_crs is None:
        guess = "WGS84"
        looks_deg = len(coords) > 0 and bool(
            np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)
        )
        problems.append(
            Problem(
                file,
                "coordinate system (CRS) missing"
                + ("; coordinates look like degrees, assumed WGS84" if looks_deg else ""),
                'declare it for this input in the scenario: crs = "WGS84" | "CGCS2000" | "GCJ-02" '
                '| "EPSG:4547" …',
                column="crs",
                code="missing_crs",
            )
        )
        if not looks_deg:
            return None
        src_crs, is_gcj = crsmod.resolve_crs(guess)
    if len(coords):
        reasons = crsmod.check_coordinate_range(coords[:, 0], coords[:, 1], src_crs)
        for reason in reasons:
            problems.append(
                Problem(
                    file,
                    f"coordinates contradict the CRS {('GCJ-02' if is_gcj else src_crs.name)}: {reason}",
                    "check the `crs` declared for this input and whether longitude and latitude "
                    "are swapped",
                    code="crs_range",
                )
            )
        if reasons:
            return None
    # empty / invalid / wrong type
    empty = geom.isna() | geom.is_empty
    if raw.geometry is not None:
        rep.report(
            empty,
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
    if is_gcj:
        geom = crsmod.from_gcj02_geoseries(geom.to_crs(4326))
    return geom.to_crs(4326)


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


def canonicalise(
    raw: RawTable,
    spec: TableSpec,
    *,
    columns: Mapping[str, str] | None = None,
    crs: str | None = None,
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
        ``"GCJ-02"``, ``"EPSG:4547"`` …).

    Returns
    -------
    table : DataFrame or GeoDataFrame
        Canonical columns in schema order (geometry in WGS84 for spatial inputs) and a
        ``_row`` column with the source row number (used by cross-table checks).
        Rows without an id are dropped (and reported); a table without an id
        (``id = []`` in the schema, e.g. roads) keeps every row.
    problems : list of Problem
        Everything found, in file order.
    """
    problems: list[Problem] = list(raw.problems)
    mapping = _map_headers(raw, spec, columns or {}, problems)
    frame = raw.frame
    gis = raw.geometry is not None
    rows = np.arange(len(frame)) + (1 if gis else 2)
    id_col = spec.id[0] if spec.id else None  # no id (roads): rows are feature numbers
    ids = _as_text(frame[mapping[id_col]]) if id_col in mapping else None
    rep = RowReporter(raw.file, rows, ids)
    out: dict[str, pd.Series] = {}
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
            continue
        raw_col = frame[header]
        if col.dtype in {"int", "float", "year"}:
            val = _parse_number(raw_col, col, header, rep)
        elif col.dtype in {"category", "bool"}:
            val = _parse_category(raw_col, col, spec, header, rep)
        else:
            val = _parse_str(raw_col)
        if col.required:
            rep.report(
                _as_text(raw_col).isna(),
                header,
                f"empty value in required column '{col.name}'",
                f"fill in {col.zh or col.name}",
                "missing_value",
            )
        if col.default is not None:
            val = val.fillna(col.default)
        out[col.name] = val
    table = pd.DataFrame(out, index=frame.index)
    table["_row"] = rows
    # duplicate ids
    id_cols = [c for c in spec.id if c in mapping]
    if spec.id and len(id_cols) == len(spec.id):
        key = table[list(spec.id)]
        dup = key.duplicated(keep=False) & key.notna().all(axis=1)
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
            )
    geom = _build_geometry(raw, spec, table, crs, rep)
    problems.extend(rep.problems)
    if not spec.id:
        keep = pd.Series(True, index=table.index)
    elif spec.id[0] in mapping:
        keep = table[spec.id[0]].notna()
    else:
        keep = pd.Series(False, index=table.index)
    table = table.drop(columns=[c for c in ("lon", "lat") if c in table.columns])
    if spec.geometry != "none":
        if geom is None:
            geom = gpd.GeoSeries([None] * len(table), index=table.index, crs=4326)
        else:
            geom.index = table.index
        table = gpd.GeoDataFrame(table, geometry=geom, crs=4326)
    table = table.loc[keep].reset_index(drop=True)
    return table, problems
