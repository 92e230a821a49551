"""Output-cell safety: text that a spreadsheet would run is written as text (输出单元格安全).

The one place for the rule. A text cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return is what spreadsheet programs take for a formula (CSV or formula
injection, OWASP: https://owasp.org/www-community/attacks/CSV_Injection). Names in bureau
files are free text, so a school called ``=HYPERLINK("http://…")`` must reach the outputs
as that text, never as a live formula:

- CSV (:func:`neutralise_frame`): such a text cell gets a leading apostrophe ``'``, which
  Excel and WPS show as the text itself (OWASP's recommendation);
- Excel (:func:`set_cell`, :func:`protect_sheet`): the cell is stored as a string
  (``data_type = "s"``) with the quote prefix, so it is never evaluated, also not after
  the user edits it.

Numbers stay numbers: a negative number is not text, and a text cell that is only a plain
number (``"-5"``, ``"+1.5"``) cannot run anything and is left alone.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "formula_like_mask",
    "is_formula_like",
    "protect_frame_cells",
    "neutralise",
    "neutralise_frame",
    "protect_sheet",
    "set_cell",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet could run as a formula.

    Parameters
    ----------
    value : object
        A cell value; only ``str`` can be formula-like.

    Returns
    -------
    bool
        True for text starting with one of :data:`FORMULA_PREFIXES`, except a plain
        signed number such as ``"-5"``.

    Examples
    --------
    >>> is_formula_like("=cmd|' /C calc'!A0"), is_formula_like("-5"), is_formula_like(-5)
    (True, False, False)
    """
    if not isinstance(value, str) or not value or value[0] not in FORMULA_PREFIXES:
        return False
    return not (value[0] in "+-" and _PLAIN_NUMBER.match(value))


def formula_like_mask(s: pd.Series) -> np.ndarray:
    """:func:`is_formula_like` for every cell of a column at once (vectorised)."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        return np.zeros(len(s), dtype=bool)
    is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not is_str.any():
        return is_str
    txt = s.where(is_str, "").astype(str)
    risky = txt.str.startswith(FORMULA_PREFIXES).to_numpy(dtype=bool) & is_str
    if risky.any():
        plain = txt.str.match(_PLAIN_NUMBER).to_numpy(dtype=bool)
        signed = txt.str.startswith(("+", "-")).to_numpy(dtype=bool)
        risky &= ~(plain & signed)
    return risky


def neutralise(value: Any) -> Any:
    """The CSV form of one cell: formula-like text gets a leading ``'``; anything else as is."""
    return "'" + value if is_formula_like(value) else value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` safe to write as CSV: formula-like text cells neutralised.

    Only text columns (object or string dtype) are looked at; numeric columns are
    returned unchanged. Returns ``df`` itself when nothing needs a change.
    """
    out = None
    for col in df.columns:
        s = df[col]
        bad = formula_like_mask(s)
        if bad.any():
            if out is None:
                out = df.copy()
            out[col] = s.astype(object).where(~bad, "'" + s.astype(str))
    return df if out is None else out


def set_cell(cell: Any, value: Any) -> Any:
    """Set an openpyxl cell's value; formula-like text is stored as text, never a formula.

    Parameters
    ----------
    cell : openpyxl.cell.Cell
        The cell.
    value : object
        Its value. Text starting with ``=`` (which openpyxl would store as a formula) or
        another of :data:`FORMULA_PREFIXES` is stored as a string with Excel's quote
        prefix (the cell shows the text; editing it does not turn it into a formula).

    Returns
    -------
    openpyxl.cell.Cell
        The cell.
    """
    cell.value = value
    _as_text_if_needed(cell)
    return cell


def _as_text_if_needed(cell: Any) -> None:
    v = cell.value
    if isinstance(v, str) and (cell.data_type == "f" or is_formula_like(v)):
        cell.data_type = "s"
        cell.quotePrefix = True


def protect_sheet(ws: Any) -> int:
    """Route every cell already on an openpyxl worksheet through the rule of :func:`set_cell`.

    For sheets filled by ``DataFrame.to_excel``: call it before adding any formula on
    purpose. Returns the number of cells turned into text.
    """
    n = 0
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and (
                cell.data_type == "f" or is_formula_like(cell.value)
            ):
                if cell.data_type == "s" and cell.quotePrefix:
                    continue  # already text
                _as_text_if_needed(cell)
                n += 1
    return n


def protect_frame_cells(ws: Any, df: pd.DataFrame, *, header_row: int = 1) -> int:
    """Route the cells ``DataFrame.to_excel`` wrote for ``df`` through :func:`set_cell`.

    Finds the formula-like cells of ``df`` (and of its header) with vectorised tests and
    touches only those cells of ``ws``: the same rule as :func:`protect_sheet`, without
    visiting every cell of a large sheet. Assumes ``to_excel(..., index=False)`` from
    column A with the header on ``header_row``. Returns the number of cells changed.
    """
    n = 0
    for j, name in enumerate(df.columns, start=1):
        if is_formula_like(name):
            set_cell(ws.cell(row=header_row, column=j), name)
            n += 1
        for i in np.flatnonzero(formula_like_mask(df[name])):
            cell = ws.cell(row=header_row + 1 + int(i), column=j)
            set_cell(cell, cell.value)
            n += 1
    return n
