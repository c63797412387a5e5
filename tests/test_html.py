"""Unit tests of proximity._html (the browser behaviour is in test_browser_smoke.py)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from proximity._html import escape, escape_properties, format_value, html_table
from proximity.errors import InputError, MissingColumnError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("a \"b\" 'c' & d", "a &quot;b&quot; &#x27;c&#x27; &amp; d"),
        ("${x}`y`\\u", "&#36;&#123;x&#125;&#96;y&#96;&#92;u"),
        ("{{ 7*7 }}", "&#123;&#123; 7*7 &#125;&#125;"),
        ("Lodève", "Lodève"),
        (12, "12"),
        (None, ""),
        (float("nan"), ""),
        (np.float32("nan"), ""),
        (pd.NA, ""),
        (pd.NaT, ""),
    ],
)
def test_escape(text, expected):
    assert escape(text) == expected


def test_escape_output_has_no_live_characters():
    hostile = "<>&\"'`$\\" * 3
    assert not set(escape(hostile)) & set("<>\"'`$\\")


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1234567, 2, "1\u202f234\u202f567"),
        (np.int64(-42), 2, "-42"),
        (3.14159, 2, "3.14"),
        (np.float32(1234.5), 1, "1\u202f234.5"),
        (2.0, 0, "2"),
        (12.50, 2, "12.5"),
        (1.0, 2, "1"),
        (-0.001, 2, "0"),
        (1e6, 1, "1\u202f000\u202f000"),
        (True, 2, "yes"),
        (np.bool_(False), 2, "no"),
        (None, 2, ""),
        (float("nan"), 2, ""),
        ("text", 2, "text"),
    ],
)
def test_format_value(value, decimals, expected):
    assert format_value(value, decimals=decimals) == expected


@pytest.mark.parametrize("decimals", [-1, 1.5, True])
def test_format_value_rejects_bad_decimals(decimals):
    with pytest.raises(InputError, match="decimals must be a non-negative int"):
        format_value(1.0, decimals=decimals)


def test_html_table_escapes_labels_and_values():
    table = html_table({"<b>Name</b>": "<script>x</script>", "Minutes": 12.345}, caption="A&B")
    assert table == (
        '<table class="proximity-table"><caption>A&amp;B</caption>'
        "<tr><th>&lt;b&gt;Name&lt;/b&gt;</th><td>&lt;script&gt;x&lt;/script&gt;</td></tr>"
        "<tr><th>Minutes</th><td>12.35</td></tr></table>"
    )


def test_html_table_from_series_keeps_order():
    row = pd.Series({"b": 1, "a": None, "c": 0.5})
    assert html_table(row, decimals=1) == (
        '<table class="proximity-table"><tr><th>b</th><td>1</td></tr>'
        "<tr><th>a</th><td></td></tr><tr><th>c</th><td>0.5</td></tr></table>"
    )


def test_html_table_rejects_non_mapping():
    with pytest.raises(InputError, match="rows must be a mapping"):
        html_table([("a", 1)])


@pytest.fixture
def layer():
    return gpd.GeoDataFrame(
        {
            "name": ["<a>", None, "x`y"],
            "n": [1, 2, 3],
            "kind": pd.Categorical(["a", "<b>", "a"]),
            "mixed": [["<x>"], 2.5, None],
        },
        geometry=[Point(0, 0), Point(1, 1), Point(2, 2)],
        crs="EPSG:4326",
        index=[10, 20, 30],
    )


def test_escape_properties_default_columns(layer):
    out = escape_properties(layer)
    assert out["name"].tolist()[0::2] == ["&lt;a&gt;", "x&#96;y"]
    assert pd.isna(out["name"].iloc[1])
    assert out["kind"].tolist() == ["a", "&lt;b&gt;", "a"]
    assert out["mixed"].tolist()[:2] == ["[&#x27;&lt;x&gt;&#x27;]", 2.5]
    assert out["n"].tolist() == [1, 2, 3]
    assert out.index.tolist() == [10, 20, 30]
    assert out.geometry.equals(layer.geometry)
    assert isinstance(out, gpd.GeoDataFrame)
    assert layer["name"].iloc[0] == "<a>"  # input untouched


def test_escape_properties_chosen_columns(layer):
    out = escape_properties(layer, ["kind", "n"])
    assert out["name"].iloc[0] == "<a>"
    assert out["kind"].iloc[1] == "&lt;b&gt;"
    assert pd.api.types.is_integer_dtype(out["n"])
    assert escape_properties(layer, "name")["name"].iloc[0] == "&lt;a&gt;"


def test_escape_properties_errors(layer):
    with pytest.raises(MissingColumnError, match=r"columns \['nom'\] are not in the frame"):
        escape_properties(layer, ["name", "nom"])
    with pytest.raises(InputError, match="'geometry' is the geometry column"):
        escape_properties(layer, ["geometry"])
    with pytest.raises(InputError, match="frame must be a \\(Geo\\)DataFrame"):
        escape_properties({"name": ["<a>"]})


def test_escaped_jinja_is_not_evaluated_by_branca():
    """branca re-renders element scripts as Jinja: escaped braces must reach the page as text."""
    import folium

    from proximity._html import escape

    m = folium.Map(location=[43.6, 3.9], zoom_start=9, tiles=None)
    folium.Marker(
        [43.6, 3.9], popup=folium.Popup(escape("{{ 7*7 }} {{ lipsum.__globals__ }}")), tooltip=escape("{{ 6*7 }}")
    ).add_to(m)
    html = m.get_root().render()
    assert "&#123;&#123; 7*7 &#125;&#125;" in html and "&#123;&#123; 6*7 &#125;&#125;" in html
    # evaluated, the popup would read "49 ..." right after its tag (folium's random element
    # ids may contain "49", so look for the text, not the digits)
    assert not re.search(r">\s*49\s", html) and ">42<" not in html
    assert "jinja2" not in html
