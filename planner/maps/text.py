"""Safe text for map pages (地图文字转义).

folium pastes strings into HTML and into JavaScript template literals (popups and
tooltips end up inside ``$(`…`)`` and ``bindTooltip(`…`)``) without escaping them.
:func:`safe_text` is the one gate every string from the inputs passes through before it
reaches a map: it escapes for HTML *and* for JavaScript template contexts by turning
every character that could end or interpolate those contexts into an HTML character
reference, which the browser shows as the literal character.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

__all__ = ["safe_text", "fmt_int", "fmt_num", "fmt_pct"]

# The fmt_* helpers return plain (unescaped) text; pass their result to safe_text.

# characters that html.escape leaves alone but a JS template literal (or a Jinja /
# Vue-style template, or a string in a <script>) would act on
_EXTRA = str.maketrans(
    {
        "$": "&#36;",
        "`": "&#96;",
        "{": "&#123;",
        "}": "&#125;",
        "\\": "&#92;",
    }
)
# C0/C1 control characters and the JS line terminators U+2028 / U+2029
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_SPACE = re.compile(r"[\t\r\n]+")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:  # pandas.NA, NaT
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (str, bytes)) else False
    except (TypeError, ValueError):
        return False


def safe_text(value: Any) -> str:
    """Escape a value for HTML and JavaScript template contexts.

    ``& < > " '`` become HTML entities (``html.escape``), and so do ``$``, the
    backtick, ``{``, ``}`` and the backslash, and ``//`` becomes ``&#47;&#47;`` (a URL in
    a name is text, never taken for a link the page would fetch), so the result can be placed in element
    text, in a double- or single-quoted attribute, inside a JS template literal
    (``${…}`` cannot run), inside a ``<script>`` (``</script>`` cannot close it) and
    in a string that a template engine re-reads (``{{ … }}`` stays literal). Newlines
    and tabs become one space; other control characters and U+2028/U+2029 are dropped.
    The browser shows the original text.

    Parameters
    ----------
    value : object
        Any value; ``None``, NaN and ``pandas.NA`` give ``""``.

    Returns
    -------
    str
        The escaped text. Escape each string exactly once.

    Examples
    --------
    >>> safe_text("<b>${x}</b>")
    '&lt;b&gt;&#36;&#123;x&#125;&lt;/b&gt;'
    """
    if _missing(value):
        return ""
    s = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    s = _SPACE.sub(" ", s)
    s = _CONTROL.sub("", s)
    return html.escape(s, quote=True).translate(_EXTRA).replace("//", "&#47;&#47;")


def fmt_int(value: Any) -> str:
    """Whole number with thousands separators (``12,345``); missing → ``—``."""
    if _missing(value):
        return "—"
    try:
        return f"{round(float(value)):,}"
    except (TypeError, ValueError):
        return str(value)


def fmt_num(value: Any, digits: int = 1) -> str:
    """Number with ``digits`` decimals; missing → ``—``."""
    if _missing(value):
        return "—"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def fmt_pct(value: Any) -> str:
    """Ratio as a percentage (``0.953`` → ``95.3 %``); missing → ``—``."""
    if _missing(value):
        return "—"
    try:
        return f"{100 * float(value):.1f} %"
    except (TypeError, ValueError):
        return str(value)
