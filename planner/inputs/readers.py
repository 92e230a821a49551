"""Read bureau files as they come (读取原始文件).

GeoPackage, Shapefile (encoding detected; GBK works), GeoJSON, CSV / TXT with
longitude/latitude columns and XLSX tables. CSV text may be UTF-8 (with or without
BOM), UTF-16 (Excel's "Unicode text"), GBK / GB18030 or Big5, separated by commas,
tabs, semicolons or bars; the encoding and the delimiter are detected when the scenario
does not declare them. Tables as bureaus lay them out are read too (:class:`Layout`):
a title row above the header, a two-row (merged) header, rows to skip, total (合计) and
note rows at the end.

This module only reads: it returns the file's own headers and raw values
(:class:`RawTable`); mapping to the canonical schema and validation happen in
:mod:`planner.inputs.canonical`, which never touches the disk.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from planner.errors import InputError, Problem

__all__ = [
    "normalise_header",
    "GEO_SUFFIXES",
    "TABLE_SUFFIXES",
    "Layout",
    "RawTable",
    "decode_text",
    "read_raw_table",
]

GEO_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".zip"}
TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}
#: encodings tried for CSV files without a declared encoding (after a byte-order mark):
#: UTF-8, then the Chinese legacy encodings (the one whose headers the schema knows wins)
CSV_ENCODINGS = ("utf-8", "gb18030", "big5")
#: delimiters recognised when the scenario declares none
DELIMITERS = (",", "\t", ";", "|")
#: rows looked at for the header when the scenario does not say where it is
HEADER_SEARCH_ROWS = 15
#: first-cell words of total and note rows (dropped, with a note)
TOTAL_WORDS = ("合计", "总计", "小计", "全市", "全县", "全区", "总数", "total", "sum")
NOTE_PREFIXES = (
    "注",
    "备注",
    "说明",
    "资料来源",
    "数据来源",
    "来源",
    "制表",
    "填表",
    "note",
    "source",
)


_PAREN = re.compile(r"[（(\[【].*?[)）\]】]")
_SPACE = re.compile(r"[\s_\-—:：/／]+")


def normalise_header(header: str) -> str:
    """Header as compared with aliases: no bracketed units, spaces, '_', '-' or '/'; lower case.

    Full-width characters are folded to their ordinary form (NFKC).
    ``"占地面积（平方米）"`` → ``"占地面积"``; ``"School_ID "`` → ``"schoolid"``;
    ``"小学部/班级数"`` (a two-row header) → ``"小学部班级数"``.
    """
    h = _PAREN.sub("", unicodedata.normalize("NFKC", str(header)))
    return _SPACE.sub("", h).lower()


@dataclass(frozen=True)
class Layout:
    """How a table sits in a CSV or XLSX file (the scenario's per-input keys).

    Attributes
    ----------
    delimiter : str or None
        Field separator of a CSV/TXT file (comma, tab, semicolon or bar);
        detected when None.
    header_row : int or None
        1-based row of the (first) header line; None: the first row among the first
        15 whose cells the schema knows best (a title row above is skipped).
    header_rows : int or None
        1 or 2 header lines; with 2, an upper cell merged over several columns is
        repeated over them and joined to the lower one (``小学部/班级数``). None: 2 when
        the line under the header holds only known headers and no number.
    skip_rows : tuple of int
        1-based file rows to drop (a units row under the header …).
    footer_rows : int
        Rows to drop at the end of the table (notes, signatures).
    known_headers : collection of str
        Normalised headers the schema knows (:func:`normalise_header`
        of every canonical name and alias); used to find the header row and choose
        between legacy encodings.
    """

    delimiter: str | None = None
    header_row: int | None = None
    header_rows: int | None = None
    skip_rows: tuple[int, ...] = ()
    footer_rows: int = 0
    known_headers: Collection[str] = ()


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
    rows : numpy.ndarray or None
        The file row of each data row (spreadsheet numbering: the first line is row 1);
        None for GIS layers (rows are feature numbers).
    """

    file: str
    frame: pd.DataFrame
    geometry: gpd.GeoSeries | None = None
    crs: CRS | None = None
    problems: list[Problem] = field(default_factory=list)
    rows: np.ndarray | None = None


def read_raw_table(
    path: str | Path,
    *,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    label: str | None = None,
    layout: Layout | None = None,
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
    layout : Layout, optional
        Where the table sits in a CSV/XLSX file and how it is separated (default:
        detected).

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
    if path.is_dir():
        raise InputError(f"{file}: is a folder, not a file. Check the `path` of this input.")
    suffix = path.suffix.lower()
    layout = layout or Layout()
    if suffix in GEO_SUFFIXES:
        return _read_gis(path, file, layer=layer, encoding=encoding)
    if path.stat().st_size == 0:
        raise InputError(f"{file}: the file is empty (0 bytes).")
    if suffix in {".csv", ".tsv", ".txt"}:
        return _read_csv(path, file, encoding=encoding, layout=layout)
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, file, sheet=sheet, layout=layout)
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


def decode_text(
    data: bytes, encoding: str | None, known_headers: Collection[str] = ()
) -> tuple[str, str, bool]:
    """Decode a text file's bytes.

    Parameters
    ----------
    data : bytes
        The file content.
    encoding : str or None
        The declared encoding; None detects it: a byte-order mark (UTF-8, UTF-16), NUL
        bytes of BOM-less UTF-16, then UTF-8, then GB18030 and Big5 (when both decode,
        the one whose first lines hold more headers the schema knows).
    known_headers : collection of str
        Normalised known headers (see :class:`Layout`).

    Returns
    -------
    text : str
    encoding : str
        The encoding used.
    guessed : bool
        True when it was detected rather than declared or marked by a BOM.

    Raises
    ------
    InputError
        The bytes do not decode.
    """
    if encoding:
        try:
            return data.decode(encoding), encoding, False
        except LookupError:
            raise InputError(
                f"unknown encoding '{encoding}'; use UTF-8, GBK, GB18030, Big5 or UTF-16"
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the text cannot be decoded as {encoding} ({exc}). Set the right "
                '`encoding = "..."` for this input (UTF-8, GBK, Big5, UTF-16), or remove it '
                "to have it detected."
            ) from None
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc, False
            except UnicodeDecodeError as exc:
                raise InputError(f"the text does not decode as {enc} ({exc}).") from None
    head = data[: 4000 - 4000 % 2]
    odd, even = head[1::2].count(b"\x00"), head[0::2].count(b"\x00")
    if head and (odd + even) > len(head) // 10 and max(odd, even) > 9 * min(odd, even):
        # UTF-16 without a BOM: the high bytes of ASCII characters are NULs, all on one side
        enc = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return data.decode(enc), enc, True
        except UnicodeDecodeError:
            pass
    decoded: dict[str, str] = {}
    for enc in CSV_ENCODINGS:
        try:
            decoded[enc] = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8":
            return decoded[enc], enc, False
    if not decoded:
        raise InputError(
            "cannot decode the text (not UTF-8, UTF-16, GBK/GB18030 or Big5). Save it as "
            'UTF-8, or set `encoding = "..."` for this input in the scenario file.'
        )
    if len(decoded) > 1 and known_headers:

        def score(text: str) -> int:
            cells = [c for line in text.splitlines()[:HEADER_SEARCH_ROWS] for c in _split(line)]
            return sum(normalise_header(c) in known_headers for c in cells)

        best = max(decoded, key=lambda e: (score(decoded[e]), e == "gb18030"))
        return decoded[best], best, True
    enc = next(iter(decoded))
    return decoded[enc], enc, True


def _split(line: str) -> list[str]:
    for d in DELIMITERS:
        if d in line:
            return line.split(d)
    return [line]


def _sniff_delimiter(text: str) -> str:
    """The delimiter with the most fields per line (median over the first lines)."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    best, best_n = ",", 0.0
    for d in DELIMITERS:
        counts = [ln.count(d) for ln in lines]
        n = float(np.median(counts)) if counts else 0.0
        if n > best_n:
            best, best_n = d, n
    return best


def _read_csv(path: Path, file: str, *, encoding: str | None, layout: Layout) -> RawTable:
    problems: list[Problem] = []
    try:
        text, enc, guessed = decode_text(path.read_bytes(), encoding, layout.known_headers)
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from None
    if guessed:
        problems.append(
            Problem(
                file,
                f"no encoding declared and none marked; the text was decoded as {enc}",
                f'if names look wrong, set `encoding = "..."` for this input (e.g. "{enc}")',
                severity="info",
                code="encoding_guessed",
            )
        )
    elif enc.startswith("utf-16") and encoding is None:
        problems.append(
            Problem(
                file,
                "the text is UTF-16 (Excel's 'Unicode text'); read as such",
                "",
                severity="info",
                code="layout_detected",
            )
        )
    delim = layout.delimiter
    if delim is None:
        delim = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
        if delim != ",":
            shown = {"\t": "tab", ";": "semicolon", "|": "bar"}[delim]
            problems.append(
                Problem(
                    file,
                    f"fields are separated by {shown}s; read as such",
                    f'set `delimiter = "{delim.encode("unicode_escape").decode()}"` for this '
                    "input to be explicit",
                    severity="info",
                    code="layout_detected",
                )
            )
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    except csv.Error as exc:
        raise InputError(
            f"{file}: not a well-formed CSV ({exc}). Check for a stray quote; save again from "
            "Excel as 'CSV UTF-8'."
        ) from None
    width = max((len(r) for r in records), default=0)
    grid = pd.DataFrame(
        [[c.strip() for c in r] + [""] * (width - len(r)) for r in records], dtype=object
    )
    frame, rows, notes = _apply_layout(grid, file, layout)
    return RawTable(file, frame, None, None, problems + notes, rows)


def _read_xlsx(path: Path, file: str, *, sheet: str | int | None, layout: Layout) -> RawTable:
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
    elif isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise InputError(
            f"{file}: no sheet number {sheet} (0-based); the workbook has {len(names)}: "
            f"{', '.join(names)}."
        )
    grid = pd.read_excel(book, sheet_name=sheet, dtype=object, header=None, keep_default_na=False)
    grid = grid.astype(object).where(grid.notna(), "")
    frame, rows, notes = _apply_layout(grid, file, layout)
    return RawTable(file, frame, None, None, notes, rows)


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""


def _numeric(v: object) -> bool:
    if isinstance(v, int | float | np.number) and not isinstance(v, bool):
        return True
    try:
        float(str(v).replace(",", ""))
    except ValueError:
        return False
    return True


def _apply_layout(
    grid: pd.DataFrame, file: str, layout: Layout
) -> tuple[pd.DataFrame, np.ndarray, list[Problem]]:
    """Cut the table out of a sheet of cells: header line(s), data rows, file row numbers."""
    notes: list[Problem] = []
    known = set(layout.known_headers)
    n = len(grid)
    filerow = np.arange(1, n + 1)
    if n == 0:
        return pd.DataFrame(), np.zeros(0, dtype=int), notes
    blank = grid.astype(str).apply(lambda c: c.str.strip().eq("")).to_numpy()
    # -- the header line ------------------------------------------------------------------
    if layout.header_row is not None:
        h = int(layout.header_row) - 1
        if not 0 <= h < n:
            raise InputError(
                f"{file}: header_row = {layout.header_row}, but the table has {n} rows."
            )
    else:
        h = 0
        while h < n - 1 and blank[h].all():
            h += 1
        if known:
            scores = [
                sum(normalise_header(str(c)) in known for c in grid.iloc[i] if not _blank(c))
                for i in range(min(n, HEADER_SEARCH_ROWS))
            ]
            if scores and max(scores) > scores[h]:
                h = int(np.argmax(scores))
                # the best row may be the lower line of a two-row header: the line above
                # holds several texts (not a one-cell title) over its blanks
                above = [c for c in grid.iloc[h - 1] if not _blank(c)] if h > 0 else []
                lower_blank = [_blank(c) for c in grid.iloc[h]]
                if (
                    layout.header_rows != 1
                    and len(above) >= 2
                    and not any(_numeric(c) for c in above)
                    and any(
                        lower_blank[j] and not _blank(c) for j, c in enumerate(grid.iloc[h - 1])
                    )
                ):
                    h -= 1
        if h > 0 and not blank[:h].all():
            notes.append(
                Problem(
                    file,
                    f"the header is row {h + 1}; the {h} row(s) above it (a title?) are skipped",
                    f"set `header_row = {h + 1}` for this input to be explicit",
                    severity="info",
                    row=h + 1,
                    code="layout_detected",
                )
            )
    upper = [str(c).strip() if not _blank(c) else "" for c in grid.iloc[h]]
    # -- a second header line -------------------------------------------------------------
    two = layout.header_rows == 2
    if layout.header_rows is None and h + 1 < n:
        nxt = [c for c in grid.iloc[h + 1] if not _blank(c)]
        two = (
            len(nxt) >= 2
            and not any(_numeric(c) for c in nxt)
            and sum(normalise_header(str(c)) in known for c in nxt) >= 1
            and any(upper[j] == "" for j, c in enumerate(grid.iloc[h + 1]) if not _blank(c))
        )
        if two:
            notes.append(
                Problem(
                    file,
                    f"rows {h + 1}–{h + 2} are a two-row header; headers were joined "
                    "('upper/lower')",
                    "set `header_rows = 2` for this input to be explicit",
                    severity="info",
                    row=h + 1,
                    code="layout_detected",
                )
            )
    if layout.header_rows not in (None, 1, 2):
        raise InputError(f"{file}: header_rows must be 1 or 2, not {layout.header_rows}.")
    if two:
        lower = [str(c).strip() if not _blank(c) else "" for c in grid.iloc[h + 1]]
        filled, last = [], ""
        for j, u in enumerate(upper):
            if u:
                last = u
            elif not lower[j]:
                last = ""
            filled.append(u or (last if lower[j] else ""))
        headers = [
            f"{u}/{lo}" if u and lo and u != lo else (u or lo)
            for u, lo in zip(filled, lower, strict=True)
        ]
        first = h + 2
    else:
        headers = upper
        first = h + 1
    # unnamed columns: keep them addressable, drop them when empty
    headers = [hd if hd else f"column {j + 1}" for j, hd in enumerate(headers)]
    seen: dict[str, int] = {}
    for j, hd in enumerate(headers):
        if hd in seen:
            seen[hd] += 1
            headers[j] = f"{hd} ({seen[hd]})"
        else:
            seen[hd] = 1
    body = grid.iloc[first:].copy()
    rows = filerow[first:]
    body.columns = headers
    keep = np.ones(len(body), dtype=bool)
    # -- rows the scenario names, footer rows -------------------------------------------
    if layout.skip_rows:
        keep &= ~np.isin(rows, np.asarray(layout.skip_rows, dtype=int))
    if layout.footer_rows:
        keep[max(len(body) - int(layout.footer_rows), 0) :] = False
    bblank = blank[first:]
    empty_cols = [
        c for j, c in enumerate(headers) if c.startswith("column ") and bblank[:, j].all()
    ]
    body = body.drop(columns=empty_cols)
    # -- blank, total and note rows ---------------------------------------------------------
    first_cells = (
        body.iloc[:, 0].map(lambda v: "" if _blank(v) else str(v).strip())
        if len(body.columns)
        else pd.Series("", index=body.index)
    )
    nonblank = (~bblank).sum(axis=1)
    all_blank = nonblank == 0
    lowered = first_cells.astype(str).str.lower().str.replace(r"\s", "", regex=True)
    total = lowered.str.startswith(TOTAL_WORDS).to_numpy(dtype=bool)
    note = lowered.str.startswith(NOTE_PREFIXES).to_numpy(dtype=bool) & (nonblank <= 2)
    # a row that is text in one cell only, after the data (a note without a prefix)
    one = (nonblank == 1) & (first_cells != "").to_numpy()
    lone = one.copy()
    lone[one] = [not _numeric(v) for v in first_cells[one]]
    after_data = np.zeros(len(body), dtype=bool)
    data_like = keep & ~all_blank & ~total & ~note & ~lone
    if data_like.any():
        after_data[np.flatnonzero(data_like).max() + 1 :] = True
    drop_lone = lone & after_data
    dropped = keep & (total | note | drop_lone)
    if dropped.any():
        shown = ", ".join(str(r) for r in rows[dropped][:10])
        notes.append(
            Problem(
                file,
                f"{int(dropped.sum())} total (合计) or note row(s) dropped: row(s) {shown}",
                "remove them from the file, or set footer_rows / skip_rows for this input",
                severity="info",
                code="total_row",
            )
        )
    keep &= ~all_blank & ~dropped
    body = body.loc[keep].reset_index(drop=True)
    return body, rows[keep], notes
