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

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "is_formula_like",
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
        if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        bad = s.map(is_formula_like).astype(bool)
        if bad.any():
            if out is None:
                out = df.copy()
            out[col] = s.astype(object).where(~bad, "'" + s[bad].astype(str))
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
