"""Escaping helpers for the HTML that maps put in popups and tooltips.

Folium inserts popup and tooltip content into the page without escaping it, and in
two different contexts at once:

* ``folium.Popup(str)`` and ``folium.Tooltip(str)`` (and the ``popup=`` / ``tooltip=``
  strings of markers) are written as raw HTML inside a JavaScript *template literal*
  (a back-quoted string). Folium escapes back-quotes for popups only, never ``${``
  (a name such as ``${alert(1)}`` runs as code when the map loads) nor backslashes
  (``C:\\users`` is a JavaScript syntax error that blanks the whole map).
* ``folium.GeoJsonTooltip`` / ``GeoJsonPopup`` build an HTML table in the browser
  from the *feature properties* and the field aliases and assign it to
  ``innerHTML`` without escaping: a property ``<img src=x onerror=...>`` runs.

:func:`escape` therefore escapes ``& < > " '`` as :func:`html.escape` does, and also
turns `` ` ``, ``$`` and ``\\`` into character references, so that its output is
inert both as HTML and inside a template literal, and still *displays* the original
text. Map code must:

* build popup/tooltip strings with :func:`escape` / :func:`html_table` only;
* pass GeoDataFrames through :func:`escape_properties` before ``folium.GeoJson``
  when a GeoJsonTooltip/GeoJsonPopup shows their text columns, and pass aliases
  through :func:`escape`.

``tests/test_browser_smoke.py`` proves each point in Chromium, and checks that folium
still does *not* escape (if it ever starts, pre-escaped text would show as
``&lt;``: the test fails and tells to drop the pre-escaping).
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from proximity.errors import InputError, MissingColumnError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["escape", "escape_properties", "format_value", "html_table"]

# Characters that html.escape leaves alone but that are live inside a JavaScript
# template literal, where folium places popup and tooltip HTML.
# Also braces: branca re-compiles rendered element scripts as Jinja templates, so a name
# holding "{{ ... }}" would be evaluated in Python when a map is built.
_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"})


def _is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pd.NA (scalars only)."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return bool(pd.api.types.is_scalar(value) and pd.isna(cast(Any, value)))


def escape(text: object) -> str:
    """Return ``text`` as HTML-safe, template-literal-safe text.

    Parameters
    ----------
    text : object
        Any value; it is converted with :class:`str` first. ``None``, NaN, NaT and
        ``pd.NA`` give ``""``.

    Returns
    -------
    str
        ``html.escape(str(text), quote=True)`` with, in addition, `` ` ``, ``$``,
        ``\\``, ``{`` and ``}`` replaced by character references. A browser displays
        the result as the original text, whether it is put in HTML or in a
        JavaScript template literal that is then parsed as HTML (as folium does), and
        branca's second Jinja pass over rendered scripts finds no template syntax.

    Examples
    --------
    >>> escape("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> escape("${x} costs 5 €")
    '&#36;&#123;x&#125; costs 5 €'
    >>> escape("{{ 7*7 }}")
    '&#123;&#123; 7*7 &#125;&#125;'
    >>> escape(float("nan"))
    ''
    """
    if _is_missing(text):
        return ""
    return html.escape(str(text), quote=True).translate(_TEMPLATE_LITERAL)


def format_value(value: object, *, decimals: int = 2) -> str:
    """Format one table value as plain (not yet escaped) text.

    Integers get a narrow no-break space between thousands (``12 345``, readable in
    French and English), floats at most ``decimals`` decimals (trailing zeros dropped:
    ``12.5``, ``12``), booleans ``yes``/``no``, missing values ``""``; anything else
    goes through :class:`str`.

    Parameters
    ----------
    value : object
        The value.
    decimals : int, default 2
        Maximum decimals for floats.

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(12345)
    '12\\u202f345'
    >>> format_value(3.14159, decimals=1)
    '3.1'
    >>> format_value(12.0)
    '12'
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise InputError(f"decimals must be a non-negative int, got {decimals!r}; pass e.g. decimals=1.")
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}".replace(",", "\u202f")
    if isinstance(value, numbers.Real):
        text = f"{float(value):,.{decimals}f}"
        if "." in text:  # at most `decimals`: a float column of counts shows 12, not 12.00
            text = text.rstrip("0").rstrip(".")
        return "0" if text == "-0" else text.replace(",", "\u202f")
    return str(value)


def html_table(rows: Mapping[str, object] | pd.Series, *, decimals: int = 2, caption: str | None = None) -> str:
    """Build a two-column HTML table (label, value) that is safe to show in a map.

    Parameters
    ----------
    rows : Mapping or pandas.Series
        Labels to values, in display order (a Series: index to values, e.g. one row
        of a GeoDataFrame with the geometry dropped).
    decimals : int, default 2
        Decimals for float values (see :func:`format_value`).
    caption : str, optional
        A caption shown above the table (escaped).

    Returns
    -------
    str
        ``<table class="proximity-table">…</table>`` where every label and value is
        formatted by :func:`format_value` and escaped by :func:`escape`. Pass it to
        ``folium.Popup(...)`` or ``folium.Tooltip(...)`` as it is.

    Raises
    ------
    InputError
        If ``rows`` is not a mapping or a Series.

    Examples
    --------
    >>> html_table({"Name": "<b>Café</b>", "Firms": 1200})
    '<table class="proximity-table"><tr><th>Name</th><td>&lt;b&gt;Café&lt;/b&gt;</td></tr><tr><th>Firms</th><td>1\\u202f200</td></tr></table>'
    """
    if not isinstance(rows, Mapping | pd.Series):
        raise InputError(
            f"rows must be a mapping (dict) or a pandas Series of label -> value, got "
            f"{type(rows).__name__}; for a GeoDataFrame row pass gdf.drop(columns='geometry').iloc[i]."
        )
    parts = ['<table class="proximity-table">']
    if caption is not None:
        parts.append(f"<caption>{escape(caption)}</caption>")
    for label, value in rows.items():
        cell = escape(format_value(value, decimals=decimals))
        parts.append(f"<tr><th>{escape(label)}</th><td>{cell}</td></tr>")
    parts.append("</table>")
    return "".join(parts)


def _escape_property(value: Any) -> Any:
    # Numbers, booleans and missing values reach the browser as JSON numbers,
    # booleans or null, which folium displays as text: they are safe and stay
    # numeric for style functions. Strings and anything else (lists, dicts, which
    # folium would JSON.stringify into innerHTML) become escaped strings.
    if _is_missing(value) or isinstance(value, bool | np.bool_ | numbers.Number):
        return value
    return escape(value)


def escape_properties(
    frame: gpd.GeoDataFrame | pd.DataFrame, columns: Iterable[str] | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Return a copy whose text columns are escaped for GeoJsonTooltip/GeoJsonPopup.

    Folium's ``GeoJsonTooltip`` and ``GeoJsonPopup`` put feature properties into the
    page as HTML, unescaped. Call this on the frame given to ``folium.GeoJson``
    (after computing anything that needs the raw text, e.g. a search index).

    Parameters
    ----------
    frame : GeoDataFrame or DataFrame
        The layer; it is not modified.
    columns : iterable of str, optional
        Columns to escape. Default: every non-geometry column of object, string or
        category dtype. In the chosen columns, string (and other non-numeric)
        values are escaped with :func:`escape`; numbers, booleans and missing
        values are left as they are.

    Returns
    -------
    GeoDataFrame or DataFrame
        A copy of ``frame``, same index and columns.

    Raises
    ------
    MissingColumnError
        If a requested column is not in ``frame``.
    InputError
        If ``frame`` is not a DataFrame.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"frame must be a (Geo)DataFrame, got {type(frame).__name__}; pass the layer given to folium.GeoJson."
        )
    geometry_name = getattr(frame, "_geometry_column_name", None)
    if columns is None:
        chosen = [
            c
            for c in frame.columns
            if c != geometry_name
            and (
                pd.api.types.is_object_dtype(frame[c])
                or pd.api.types.is_string_dtype(frame[c])
                or isinstance(frame[c].dtype, pd.CategoricalDtype)
            )
        ]
    else:
        chosen = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in chosen if c not in frame.columns]
        if missing:
            raise MissingColumnError(
                f"escape_properties: columns {missing} are not in the frame "
                f"(columns: {list(frame.columns)}); pass existing column names."
            )
        if geometry_name in chosen:
            raise InputError(
                f"escape_properties: {geometry_name!r} is the geometry column; list only attribute columns."
            )
    out = frame.copy()
    for c in chosen:
        dtype = frame[c].dtype
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue  # numbers stay numbers (style functions read them)
        out[c] = pd.Series([_escape_property(v) for v in frame[c]], index=frame.index, dtype=object)
    return out
