"""Text made safe for where it goes: HTML (escaped), CSV/XLSX cells (formula-like text neutralised), JSON in a <script>.

Names of districts, facilities and residential compounds come from the planner's files and may
hold anything: ``<img src=x onerror=alert(1)>`` in a tooltip would run in the browser, and
``=HYPERLINK("http://…")`` in a cell would be a live formula in Excel. Every output writer of
`circles.outputs` passes such text through this module:

- `html_text` for everything that reaches HTML (tooltips, legends, layer names, page titles);
  `html_format` fills our own HTML templates with escaped values, and `Html` marks HTML we built
  from escaped parts so it is not escaped twice;
- `cell_text` / `safe_frame` for every CSV and XLSX cell: text starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a leading ``'`` (the OWASP rule); numbers stay numbers;
  `csv_bytes` writes a table with that rule applied;
- `script_json` for JSON text placed inside a ``<script>`` element;
- `xml_text` for text written into an XML document (report.docx, XLSX cells): the control characters
  XML 1.0 cannot hold (``\\x1b`` of a terminal colour code, ``\\x07`` ...) are removed, so a name
  carrying one cannot make the writer fail.

Examples
--------
>>> html_text('<img src=x onerror=alert(1)>')
'&lt;img src=x onerror=alert(1)&gt;'
>>> cell_text('=1+1'), cell_text(-2), cell_text('-2+3')
("'=1+1", -2, "'-2+3")
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_STARTS", "Html", "cell_text", "csv_bytes", "html_format", "html_join", "html_text",
           "safe_frame", "script_json", "xml_text"]

#: A text cell starting with one of these is read as a formula (or DDE command) by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Characters XML 1.0 cannot hold: C0 controls but tab, LF and CR; lone surrogates; U+FFFE and U+FFFF.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Html(str):
    """HTML built from escaped parts (or our own constant markup): `html_text` leaves it as it is."""

    __slots__ = ()


def html_text(value: Any) -> Html:
    """`value` as text safe in HTML element content and in quoted attribute values.

    ``&``, ``<``, ``>``, ``"`` and ``'`` are escaped; None becomes ``""``; an `Html` fragment is
    returned unchanged (it is escaped already).

    Parameters
    ----------
    value
        Any value; non-strings are converted with `str`.

    Returns
    -------
    Html
        The escaped text.
    """
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(html.escape(str(value), quote=True))


def html_format(template: str, /, **values: Any) -> Html:
    """Our own HTML `template` (a constant, not user text) with every value escaped by `html_text`.

    Format specs apply to numbers before escaping (``{minutes:.1f}``); `Html` values are inserted
    as they are.

    >>> html_format("<b>{name}</b>: {n:,}", name="甲<1>", n=1200)
    '<b>甲&lt;1&gt;</b>: 1,200'
    """
    safe = {k: v if isinstance(v, (int, float, np.integer, np.floating, Html)) else html_text(v)
            for k, v in values.items()}
    return Html(template.format(**safe))


def html_join(separator: str, parts: Iterable[Any]) -> Html:
    """`parts` escaped (unless `Html`) and joined by the `separator` markup (e.g. ``"<br>"``)."""
    return Html(separator.join(html_text(p) for p in parts))


def script_json(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element (as jinja's ``tojson`` does).

    ``<``, ``>``, ``&`` and ``'`` become ``\\u003c`` … escapes, so no string in the data can close
    the script element or open a comment; the JSON value is unchanged.
    """
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


def xml_text(value: Any) -> Any:
    r"""`value` without the characters XML 1.0 cannot hold (`XML_ILLEGAL`); non-text values are returned unchanged.

    python-docx and lxml refuse such text with a ValueError, so a district or facility name with a
    terminal colour code would stop report.docx; the visible text is kept.

    >>> xml_text("\x1b[31m红\x07区\t1"), xml_text(3)
    ('[31m红区\t1', 3)
    """
    if isinstance(value, str):
        return XML_ILLEGAL.sub("", value)
    return value


def cell_text(value: Any) -> Any:
    """A cell value safe in CSV and XLSX: formula-like text gets a leading ``'``, anything else is kept.

    Only text is changed: ``-2`` (a number) stays ``-2``, ``"-2+3"`` (text) becomes ``"'-2+3"``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names went through `cell_text`.

    Numeric, boolean and missing values keep their types; the index is kept.

    Parameters
    ----------
    frame
        Any table.

    Returns
    -------
    pandas.DataFrame
        The same table when nothing needed a change (as a shallow copy), else the neutralised one.
    """
    out = frame.copy(deep=False)
    for k in range(out.shape[1]):
        col = out.iloc[:, k]
        if col.dtype.kind not in "OSUT" and not pd.api.types.is_string_dtype(col.dtype):
            continue  # numbers, booleans, dates: no text to neutralise
        values = col.to_numpy(dtype=object)
        hit = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in values), bool, len(values))
        if hit.any():
            fixed = values.copy()
            fixed[hit] = ["'" + v for v in values[hit]]
            out.isetitem(k, pd.Series(fixed, index=out.index, dtype=col.dtype))
    names = [cell_text(c) for c in out.columns]
    if names != list(out.columns):
        out.columns = names
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as CSV for Excel: UTF-8 with BOM, ``\\n`` line ends, no index, text neutralised.

    >>> csv_bytes(pd.DataFrame({"name": ["=1+1"], "n": [-2]}))
    b"\\xef\\xbb\\xbfname,n\\n'=1+1,-2\\n"
    """
    return ("\ufeff" + safe_frame(frame).to_csv(index=False, lineterminator="\n")).encode("utf-8")
