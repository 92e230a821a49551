"""Write outputs: an output folder that appears whole or not at all (输出写入).

A run writes into a hidden temporary folder next to the target and renames it
into place only when everything succeeded, so a failed run leaves no
half-written output, and an existing folder is never overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from planner.errors import OutputFolderError
from planner.outputs.safe import neutralise_frame, set_cell

__all__ = [
    "MANIFEST",
    "OutputFolder",
    "excel_formats",
    "is_planner_output",
    "localise",
    "output_labels",
    "pid_alive",
    "write_csv",
    "write_excel",
    "write_json",
]


#: a lock or partial folder older than this belongs to a dead run, whatever its pid
STALE_AFTER_S = 24 * 3600.0
#: the file that marks a folder as the planner's own output (``--overwrite`` replaces only such)
MANIFEST = "manifest.json"
_MANIFEST_KEYS = ("planner_manifest", "planner_compare")


def is_planner_output(folder: str | Path) -> bool:
    """Whether ``folder`` holds a previous planner output (its ``manifest.json``)."""
    m = Path(folder) / MANIFEST
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and any(k in data for k in _MANIFEST_KEYS)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (conservative: True if unsure)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


class OutputFolder:
    """Context manager: write into a temporary folder, move it to ``target`` on success.

    Everything about the target is checked when the object is made, before any
    computation: it must not hold an input, must not exist unless ``overwrite``, and
    ``overwrite`` replaces only a folder that holds a previous planner output (its
    ``manifest.json``), never anything else. A lock (``.<name>.lock`` beside the target)
    is taken at once, so a second run to the same folder refuses while the first is
    running; it is released when the output is in place, or by :meth:`release`. Partial
    folders (``.<name>.partial-<pid>-…``) of runs that died are removed.

    Parameters
    ----------
    target : path
        The folder the outputs will be in.
    protect : iterable of path
        Files that must never be inside ``target`` (the scenario's inputs).
    overwrite : bool
        Replace an existing ``target`` holding a planner output (only after the new output
        is complete).

    Raises
    ------
    OutputFolderError
        The target is refused or locked by another run (the message says what to do).
    """

    def __init__(
        self, target: str | Path, protect: Iterable[str | Path] = (), overwrite: bool = False
    ):
        self.target = Path(target).resolve()
        self.overwrite = overwrite
        self.lock_path = self.target.parent / f".{self.target.name}.lock"
        self._locked = False
        for p in protect:
            p = Path(p).resolve()
            if p == self.target or self.target in p.parents:
                raise OutputFolderError(
                    f"output folder {target} contains the input {p}; outputs never go into an "
                    "input folder. Choose another --out folder."
                )
        self._check_target(target)
        self._acquire()
        try:
            self._check_target(target)  # it may have appeared while we waited for the lock
            self.clean_stale()
        except BaseException:
            self.release()
            raise
        self.tmp = (
            self.target.parent / f".{self.target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )

    def _check_target(self, shown: str | Path) -> None:
        if not self.target.exists():
            return
        if not self.target.is_dir():
            raise OutputFolderError(
                f"output path {shown} is a file, not a folder. Choose another --out folder."
            )
        if not self.overwrite:
            raise OutputFolderError(
                f"output folder {shown} already exists. Choose a new --out folder, or pass "
                "--overwrite to replace it (only a previous planner output is replaced)."
            )
        if not is_planner_output(self.target):
            raise OutputFolderError(
                f"output folder {shown} exists and holds no {MANIFEST} of a planner run, so "
                "--overwrite will not replace it (it may hold someone's files). Choose another "
                "--out folder, or empty it yourself."
            )

    # -- lock ---------------------------------------------------------------------------

    def _acquire(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "target": str(self.target),
        }
        for _attempt in range(2):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:  # stale: take it over
                    self.lock_path.unlink(missing_ok=True)
                    continue
                raise OutputFolderError(
                    f"output folder {self.target} is being written by another planner run "
                    f"(pid {holder.get('pid')} on {holder.get('host')}, started "
                    f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(holder.get('started', 0)))}). "
                    "Wait for it to finish or choose another --out folder; if no run is "
                    f"active, delete {self.lock_path}."
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            self._locked = True
            return
        raise OutputFolderError(f"cannot take the lock {self.lock_path}; delete it and retry.")

    def _holder(self) -> dict | None:
        """The live run holding the lock, or None when the lock is stale."""
        try:
            data = json.loads(self.lock_path.read_text(encoding="utf-8"))
            age = time.time() - float(data.get("started", 0))
        except (OSError, ValueError, TypeError):
            try:  # unreadable (being written?): stale only when old
                age = time.time() - self.lock_path.stat().st_mtime
            except OSError:
                return None
            return None if age > STALE_AFTER_S else {"pid": "?", "host": "?", "started": 0}
        if age > STALE_AFTER_S:
            return None
        if data.get("host") == socket.gethostname() and not pid_alive(int(data.get("pid", 0))):
            return None
        return data

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._locked:
            self.lock_path.unlink(missing_ok=True)
            self._locked = False

    def clean_stale(self) -> list[Path]:
        """Remove partial and old folders of this target left by runs that died."""
        removed = []
        now = time.time()
        for pat in (f".{self.target.name}.partial-*", f".{self.target.name}.old-*"):
            for p in self.target.parent.glob(pat):
                if not p.is_dir():
                    continue
                m = re.search(r"\.(?:partial|old)-(\d+)-", p.name)
                pid = int(m.group(1)) if m else 0
                try:
                    old = now - p.stat().st_mtime > STALE_AFTER_S
                except OSError:
                    continue
                if pid == os.getpid() and not old:
                    continue
                if old or not pid_alive(pid):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
        return removed

    # -- the context --------------------------------------------------------------------

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir()
        return self.tmp

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                return
            if self.target.exists():
                old = (
                    self.target.parent
                    / f".{self.target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                )
                os.replace(self.target, old)
                os.replace(self.tmp, self.target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.target)
        finally:
            self.release()


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Tidy CSV, UTF-8 with BOM so that Excel shows Chinese text correctly.

    Text cells a spreadsheet would run as a formula are neutralised
    (:func:`planner.outputs.safe.neutralise_frame`).
    """
    frame = pd.DataFrame(df.drop(columns="geometry")) if isinstance(df, gpd.GeoDataFrame) else df
    frame = neutralise_frame(frame)
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_json(data: Any, path: Path) -> Path:
    """Pretty JSON (UTF-8, Chinese kept readable)."""
    path.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return path


def output_labels() -> dict[str, Any]:
    """The output column labels (``data/schema/outputs.toml``)."""
    from planner.inputs.schema import schema_dir

    with open(schema_dir() / "outputs.toml", "rb") as fh:
        return tomllib.load(fh)


def _label(labels: Mapping[str, Any], col: str, table: str | None) -> Mapping[str, Any] | None:
    if table and col in labels.get("tables", {}).get(table, {}):
        return labels["tables"][table][col]
    return labels.get("columns", {}).get(col)


def localise(
    df: pd.DataFrame,
    labels: Mapping[str, Any],
    lang: str = "zh",
    table: str | None = None,
    *,
    excel: bool = False,
) -> pd.DataFrame:
    """Copy of ``df`` with Chinese headers (with units) and Chinese category values.

    ``table`` selects per-table label overrides (``[tables.<name>]`` in outputs.toml).
    With ``excel=True`` the workbook's units apply: a column with ``xlsx_unit`` and
    ``xlsx_scale`` (costs in yuan → 万元) is scaled, and true/false become 是/否.
    """
    if lang != "zh":
        return df.copy()
    out = pd.DataFrame(df.drop(columns="geometry") if "geometry" in df.columns else df).copy()
    for col, mapping in labels.get("values", {}).items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else v)
    names = {}
    for col in list(out.columns):
        lab = _label(labels, col, table)
        if not lab:
            continue
        unit = lab.get("unit", "")
        if excel and lab.get("xlsx_scale") is not None:
            out[col] = pd.to_numeric(out[col], errors="coerce") * float(lab["xlsx_scale"])
            unit = lab.get("xlsx_unit", unit)
        names[col] = f"{lab['zh']}（{unit}）" if unit else lab["zh"]
    if excel:
        for col in out.columns:
            if _is_bool_column(out[col]):
                out[col] = out[col].map(lambda v: v if _missing(v) else ("是" if v else "否"))
    return out.rename(columns=names)


def excel_formats(
    df: pd.DataFrame, labels: Mapping[str, Any], table: str | None = None
) -> dict[str, str]:
    """Number formats of a table's columns in the workbook, by localised header.

    From ``format`` in ``data/schema/outputs.toml`` (``"0"`` for years, ``"0.0%"`` for
    shares); other numeric columns get ``#,##0`` or ``#,##0.00`` by their values
    (:func:`write_excel`).
    """
    zh = localise(df.head(0), labels, table=table, excel=True)
    out = {}
    for col, new in zip(
        df.drop(columns="geometry", errors="ignore").columns, zh.columns, strict=True
    ):
        lab = _label(labels, col, table)
        if lab and lab.get("format"):
            out[new] = str(lab["format"])
    return out


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_bool_column(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    if s.dtype != object:
        return False
    vals = s.dropna()
    return len(vals) > 0 and all(isinstance(v, (bool, np.bool_)) for v in vals)


# ---------------------------------------------------------------- Excel

_HEAD_FILL = PatternFill("solid", fgColor="DDE3EA")
_SUB_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="999999")


def _text_cell(cell: Any, value: Any) -> None:
    """Write ``value`` as a text cell; never as a formula.

    Every text the workbooks hold passes through here (headers, names, notes); the rule
    is :func:`planner.outputs.safe.set_cell` (OWASP): a text starting with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return stays text, so a school called ``=HYPERLINK(…)`` shows
    its name instead of running. Characters Excel refuses (control characters) are dropped.
    """
    set_cell(cell, ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _write_value(cell: Any, value: Any, fmt: str | None) -> None:
    if _missing(value):
        return
    if isinstance(value, (bool, np.bool_)):
        _text_cell(cell, "是" if value else "否")
        cell.alignment = Alignment(horizontal="center")
    elif isinstance(value, (int, np.integer)):
        cell.value = int(value)
        cell.number_format = fmt or "#,##0"
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            _text_cell(cell, "—")
            return
        cell.value = float(value)
        cell.number_format = fmt or ("#,##0" if float(value).is_integer() else "#,##0.00")
    else:
        _text_cell(cell, value)


def _column_format(s: pd.Series) -> str | None:
    """``#,##0`` for whole numbers, ``#,##0.00`` for fractions, None for text."""
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        return None
    v = pd.to_numeric(s, errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    if len(v) and np.all(np.abs(v - np.round(v)) < 1e-9):
        return "#,##0"
    return "#,##0.00"


def _print_setup(ws: Any, title: str) -> None:
    """Landscape A4, fit to one page wide, the header row repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddHeader.center.text = title.replace("&", "&&")
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def write_excel(sheets: Mapping[str, Any], path: Path) -> Path:
    """Write a workbook: one formatted sheet per table, ready to print.

    Parameters
    ----------
    sheets : mapping
        Sheet name → a DataFrame, or an object with ``frame`` and optionally ``formats``
        (number format by column), ``row_kinds`` (``subtotal`` / ``period`` / ``total``
        rows are set in bold), ``wrap``, ``widths`` and ``autofilter`` (e.g.
        :class:`planner.reports.plan_tables.PlanSheet`).
    path : Path
        The ``.xlsx`` file.

    Every sheet: bold header row, frozen; numbers with thousands separators (years
    without), true/false as 是/否, columns sized to their content (CJK counted double);
    printed landscape on A4, one page wide, the header repeated on each page, page
    numbers in the footer. Every text cell goes through :func:`_text_cell` (never a
    formula).
    """
    wb = Workbook()
    wb.remove(wb.active)
    for name, sheet in sheets.items():
        df = sheet if isinstance(sheet, pd.DataFrame) else sheet.frame
        formats = dict(getattr(sheet, "formats", {}) or {})
        kinds = getattr(sheet, "row_kinds", None)
        autofilter = getattr(sheet, "autofilter", kinds is None)
        wrap = set(getattr(sheet, "wrap", []) or [])
        widths = dict(getattr(sheet, "widths", {}) or {})
        df = pd.DataFrame(df.drop(columns="geometry") if "geometry" in df.columns else df)
        title = name[:31]
        ws = wb.create_sheet(title)
        cols = [str(c) for c in df.columns]
        fmts = [formats.get(c) or _column_format(df[c]) for c in cols]
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(row=1, column=j)
            _text_cell(cell, c)
            cell.font = Font(bold=True)
            cell.fill = _HEAD_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = Border(bottom=_THIN)
        values = df.to_numpy(dtype=object)
        kind_list = list(kinds) if kinds is not None else [None] * len(df)
        for i, (row, kind) in enumerate(zip(values, kind_list, strict=True), start=2):
            for j, v in enumerate(row, start=1):
                cell = ws.cell(row=i, column=j)
                _write_value(cell, v, fmts[j - 1])
                if cols[j - 1] in wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                if kind in ("subtotal", "period", "total"):
                    cell.font = Font(bold=True)
                    cell.fill = _SUB_FILL
                    if kind in ("period", "total"):
                        cell.border = Border(top=_THIN)
        for j, c in enumerate(cols, start=1):
            letter = get_column_letter(j)
            if c in widths:
                width = widths[c]
            else:
                shown = [c, *(_shown(v, fmts[j - 1]) for v in df[c].head(300))]
                width = min(max(_display_width(t) for t in shown) + 2, 40)
            ws.column_dimensions[letter].width = max(width, 6)
        ws.freeze_panes = "A2"
        if autofilter and len(df):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(df) + 1}"
        _print_setup(ws, title)
    path = Path(path)
    wb.save(path)
    return path


def _shown(v: Any, fmt: str | None) -> str:
    """Roughly the text Excel shows for a value (for column widths)."""
    if _missing(v):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "否"
    if isinstance(v, (int, float, np.integer, np.floating)) and fmt:
        try:
            if "%" in fmt:
                return f"{float(v) * 100:.1f}%"
            if fmt == "0":
                return f"{float(v):.0f}"
            return f"{float(v):,.2f}" if "0.00" in fmt else f"{float(v):,.0f}"
        except (TypeError, ValueError):
            return str(v)
    return str(v)


def _display_width(text: str) -> int:
    """Approximate display width: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
