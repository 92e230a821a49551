"""Read bureau files as they come (读取原始文件).

GeoPackage, Shapefile (encoding detected; GBK works), GeoJSON, CSV with
longitude/latitude columns (UTF-8, UTF-8 with BOM or GBK) and XLSX tables.
This module only reads: it returns the file's own headers and raw values
(:class:`RawTable`); mapping to the canonical schema and validation happen in
:mod:`planner.io.canonical`, which never touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from planner.errors import InputError, Problem

__all__ = ["RawTable", "read_raw_table", "GEO_SUFFIXES", "TABLE_SUFFIXES"]

GEO_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".zip"}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
#: encodings tried, in order, for CSV files without a declared encoding
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class RawTable:
    """A file's content before canonicalisation.

    Attributes
    ----------
    file : str
        The path as the user gave it (used in every message).
    frame : pandas.DataFrame
        Attribute columns with the file's own headers. CSV values are strings
        (so that "1,234" or "缺" can be reported rather than coerced); XLSX and
        GIS values keep the types the file stores.
    geometry : geopandas.GeoSeries or None
        The geometry column of GIS files, in ``crs``.
    crs : pyproj.CRS or None
        The CRS the file declares (None for CSV/XLSX, or a GIS file without one).
    problems : list of Problem
        Notes from reading (encoding guessed, sheet chosen …).
    """

    file: str
    frame: pd.DataFrame
    geometry: gpd.GeoSeries | None = None
    crs: CRS | None = None
    problems: list[Problem] = field(default_factory=list)


def read_raw_table(
    path: str | Path,
    *,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    label: str | None = None,
) -> RawTable:
    """Read one input file without interpreting it.

    Parameters
    ----------
    path : str or Path
        GeoPackage, Shapefile, GeoJSON, CSV or XLSX file.
    layer : str, optional
        Layer of a multi-layer GeoPackage (default: the only layer).
    sheet : str or int, optional
        Sheet of an XLSX workbook (default: the first).
    encoding : str, optional
        Text encoding (e.g. ``"GBK"``); detected when not given.
    label : str, optional
        How to name the file in messages (default: ``path``).

    Raises
    ------
    InputError
        The file does not exist, has an unsupported format, or cannot be decoded.
    """
    path = Path(path)
    file = label or str(path)
    if not path.exists():
        raise InputError(
            f"{file}: file not found. Check the `path` of this input in the scenario file "
            "(relative paths are taken from the scenario file's folder)."
        )
    suffix = path.suffix.lower()
    if suffix in GEO_SUFFIXES:
        return _read_gis(path, file, layer=layer, encoding=encoding)
    if suffix in {".csv", ".txt"}:
        return _read_csv(path, file, encoding=encoding)
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, file, sheet=sheet)
    if suffix == ".xls":
        raise InputError(
            f"{file}: the old Excel .xls format is not supported. Open it in Excel or WPS and "
            "save as .xlsx (or export CSV)."
        )
    raise InputError(
        f"{file}: unsupported file type '{suffix}'. Use GeoPackage (.gpkg), Shapefile (.shp), "
        "GeoJSON (.geojson), CSV (.csv) or Excel (.xlsx)."
    )


def _read_gis(path: Path, file: str, *, layer: str | None, encoding: str | None) -> RawTable:
    problems: list[Problem] = []
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputError(f"{file}: cannot open as a GIS file ({exc}).") from exc
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1:
        raise InputError(
            f"{file}: has {len(names)} layers ({', '.join(names)}). Name one with "
            '`layer = "..."` for this input in the scenario file.'
        )
    if layer is not None and layer not in names:
        from planner.errors import closest

        hint = closest(layer, names)
        raise InputError(
            f"{file}: no layer '{layer}'."
            + (f" Did you mean '{hint}'?" if hint else "")
            + f" Layers: {', '.join(names)}."
        )
    kwargs = {"layer": layer} if layer else {}
    if encoding is None and path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        encoding = _guess_shapefile_encoding(path)
        if encoding is not None:
            problems.append(
                Problem(
                    file,
                    f"no .cpg file; text decoded as {encoding}",
                    f'if names look wrong, set `encoding = "..."` for this input '
                    f"(or add a {path.with_suffix('.cpg').name} file)",
                    severity="info",
                    code="encoding_guessed",
                )
            )
    try:
        gdf = pyogrio.read_dataframe(path, encoding=encoding, **kwargs)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{file}: text cannot be decoded as {encoding or 'the declared encoding'} ({exc}). "
            'Set `encoding = "GBK"` (or the right one) for this input in the scenario file.'
        ) from exc
    except Exception as exc:
        raise InputError(f"{file}: cannot read ({exc}).") from exc
    geometry = None
    crs = None
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
        geometry = gdf.geometry
        crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    else:
        frame = pd.DataFrame(gdf)
    frame = frame.reset_index(drop=True)
    if geometry is not None:
        geometry = geometry.reset_index(drop=True)
    return RawTable(file, frame, geometry, crs, problems)


def _guess_shapefile_encoding(path: Path) -> str | None:
    """UTF-8 if the DBF decodes as UTF-8, else GB18030 (a superset of GBK)."""
    for enc in ("UTF-8", "GB18030"):
        try:
            pyogrio.read_dataframe(path, encoding=enc, read_geometry=False)
        except UnicodeDecodeError:
            continue
        except Exception:
            return None
        return enc
    return None


def _read_csv(path: Path, file: str, *, encoding: str | None) -> RawTable:
    problems: list[Problem] = []
    encodings = (encoding,) if encoding else CSV_ENCODINGS
    last_exc: Exception | None = None
    for enc in encodings:
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                encoding=enc,
                skipinitialspace=True,
            )
        except UnicodeDecodeError as exc:
            last_exc = exc
            continue
        except pd.errors.ParserError as exc:
            raise InputError(
                f"{file}: not a well-formed CSV ({exc}). Check for unquoted commas in names or a "
                "stray line; save again from Excel as 'CSV UTF-8'."
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{file}: the file is empty.") from exc
        if enc == "gb18030" and encoding is None:
            problems.append(
                Problem(
                    file,
                    "not UTF-8; text decoded as GBK/GB18030",
                    "fine for Excel exports; set `encoding` for this input to be explicit",
                    severity="info",
                    code="encoding_guessed",
                )
            )
        frame.columns = [str(c).strip() for c in frame.columns]
        return RawTable(file, frame, None, None, problems)
    raise InputError(
        f"{file}: cannot decode the text ({last_exc}). Save it as UTF-8, or set "
        '`encoding = "..."` for this input in the scenario file.'
    )


def _read_xlsx(path: Path, file: str, *, sheet: str | int | None) -> RawTable:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise InputError(f"{file}: cannot open as an Excel workbook ({exc}).") from exc
    names = [str(s) for s in book.sheet_names]
    if sheet is None:
        sheet = 0
    elif isinstance(sheet, str) and sheet not in names:
        from planner.errors import closest

        hint = closest(sheet, names)
        raise InputError(
            f"{file}: no sheet '{sheet}'."
            + (f" Did you mean '{hint}'?" if hint else "")
            + f" Sheets: {', '.join(names)}."
        )
    frame = pd.read_excel(book, sheet_name=sheet, dtype=object, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[~(frame.astype(str).apply(lambda c: c.str.strip()) == "").all(axis=1)]
    return RawTable(file, frame.reset_index(drop=True), None, None, [])
