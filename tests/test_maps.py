"""Tests of proximity.maps without a browser: content, escaping, sizes, files, errors.

The browser behaviour (rendering, hovering, clicking, links) is in test_maps_browser.py.
A few communes are built here (the full set is built once by the browser tests).
"""

from __future__ import annotations

import copy
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import pytest
import shapely

from proximity import datasets, traveltime
from proximity._html import escape
from proximity.errors import InputError, MissingColumnError
from proximity.maps import _prepare as P
from proximity.maps import (
    build_maps,
    index_page,
    municipality_map,
    overview_map,
    save_map,
)

IMG_XSS = "<img src=x onerror=alert(1)>"
SCRIPT_XSS = "<script>alert(1)</script>"
# live inside a JavaScript template literal (folium's Tooltip/Popup strings)
TEMPLATE_XSS = "${window.__xss=1} `C:\\users\\u` $"
COMMUNE_XSS = 'La Livinière <svg onload="window.__xss=1">'
# branca compiles rendered scripts again as Jinja templates: this would show "49jinja"
JINJA = "{{ 7*7 }}{% if true %}jinja{% endif %}"
HOSTILE = (IMG_XSS, SCRIPT_XSS, TEMPLATE_XSS, COMMUNE_XSS, JINJA)

MONTPELLIER, FELINES, LIVINIERE = "34172", "34097", "34141"
MB = 1_000_000


def hostile_copies(territory, scores):
    """Copies of the territory and its scores with hostile names in every kind of text.

    The chamber of commerce (a support body, and every commune's route destination) gets
    an ``<img onerror>`` name; the port of Sète (a route destination drawn with folium's
    template-literal tooltips) a ``${…}`` name; Montpellier's airport a Jinja name; two
    SMEs of Félines-Minervois a ``<script>`` and a ``${…}`` name; La Livinière a
    ``<svg onload>`` name. Scores are unchanged (names are not scored).
    """
    t = copy.copy(territory)  # shares the network and its cached CSR form
    sup = territory.support_bodies.copy()
    sup.loc[sup.index[sup["category"].eq("chamber_of_commerce")][0], "name"] = IMG_XSS
    gws = territory.gateways.copy()
    gws.loc[gws.index[gws["kind"].eq("seaport") & gws["on_network"]][0], "name"] = TEMPLATE_XSS
    gws.loc["airport:LFMT", "name"] = JINJA
    smes = territory.smes.copy()
    fel = smes.index[smes["commune"].eq(FELINES)]
    smes.loc[fel[0], "name"] = SCRIPT_XSS
    smes.loc[fel[1], "name"] = TEMPLATE_XSS
    t.support_bodies, t.gateways, t.smes = sup, gws, smes
    s = copy.copy(scores)
    munis = scores.municipalities.copy()
    munis.loc[LIVINIERE, "name"] = COMMUNE_XSS
    s.municipalities = munis
    return t, s


@pytest.fixture(scope="module")
def hostile(herault, herault_scores):
    return hostile_copies(herault, herault_scores)


@pytest.fixture(scope="module")
def built(hostile, tmp_path_factory):
    """Overview, three commune pages and the index, from the hostile copies."""
    out = tmp_path_factory.mktemp("maps")
    messages: list[str] = []
    paths = build_maps(*hostile, out=out, communes=[MONTPELLIER, FELINES, LIVINIERE], progress=messages.append)
    return out, paths, messages


@pytest.fixture(scope="module")
def ctx(herault, herault_scores):
    c = P.prepare(herault, herault_scores)
    P.compute_travel(
        c, [MONTPELLIER, FELINES], minutes=(15, 30, 45), cell_m=250.0, tolerance_m=25.0, progress=lambda m: None
    )
    return c


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the files
def test_build_writes_the_expected_files_atomically(built):
    out, paths, messages = built
    pages = [out / "communes" / f"{c}.html" for c in (MONTPELLIER, FELINES, LIVINIERE)]
    shared = [out / "assets" / "communes.js", out / "assets" / "proximity.css"]
    assert paths == [out / "overview.html", *shared, *pages, out / "index.html"]
    assert all(p.is_file() and p.stat().st_size > 4_000 for p in paths)
    everything = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert everything == [
        "assets",
        "assets/communes.js",
        "assets/proximity.css",
        "communes",
        "communes/34097.html",
        "communes/34141.html",
        "communes/34172.html",
        "index.html",
        "overview.html",
    ]
    assert messages[0] == "maps: overview" and messages[-1].startswith("maps: 7 files in ")
    for p in [out / "overview.html", *pages, out / "index.html"]:
        assert read(p).rstrip().endswith("</html>")
    # every commune page loads the shared script and stylesheet, relative to itself
    for p in pages:
        assert '<script src="../assets/communes.js"></script>' in read(p)
        assert '<link rel="stylesheet" href="../assets/proximity.css">' in read(p)
    assert read(shared[0]).startswith("var PROX_SHARED = {")


def test_a_failing_page_leaves_no_partial_file(hostile, tmp_path, monkeypatch):
    from proximity.maps import build

    calls = []

    def boom(ctx, insee, **kw):
        calls.append(insee)
        if len(calls) == 2:
            raise RuntimeError("render failed")
        return folium.Map()

    monkeypatch.setattr(build, "_municipality", boom)
    with pytest.raises(RuntimeError, match="render failed"):
        build_maps(*hostile, out=tmp_path, communes=[MONTPELLIER, FELINES])
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    # no .part file, no half page
    assert left == [
        "assets",
        "assets/communes.js",
        "assets/proximity.css",
        "communes",
        "communes/34172.html",
        "overview.html",
    ]


def test_sizes_are_under_the_limits(built):
    out, _, _ = built
    assert (out / "overview.html").stat().st_size <= 6 * MB
    for insee in (MONTPELLIER, FELINES):
        assert (out / "communes" / f"{insee}.html").stat().st_size <= 1.5 * MB
    # Montpellier carries its 1,568 SMEs: much bigger than a village, still small
    assert (out / "communes" / f"{MONTPELLIER}.html").stat().st_size > 2 * (
        out / "communes" / f"{FELINES}.html"
    ).stat().st_size


def test_coordinates_are_rounded(built):
    out, _, _ = built
    for page in ("overview.html", f"communes/{FELINES}.html"):
        html = read(out / page)
        lats = re.findall(r"\b4[34]\.(\d+)", html)  # latitudes of Hérault
        assert len(lats) > 100
        assert max(map(len, lats)) <= 5


# --------------------------------------------------------------------------- content
def test_overview_has_every_attribution_and_the_notes(built):
    out, _, _ = built
    html = read(out / "overview.html")
    lines = datasets.attributions("herault")
    assert len(lines) >= 10
    for line in lines:
        assert escape(line) in html, line
    assert escape(P.SYNTHETIC_NOTE) in html
    assert "SMEs are synthetic" in html
    assert "port positions rounded" in html
    # the short attribution in the map's attribution control names the main sources
    m = re.search(r"attributionControl\.addAttribution\((\".*?\")\)", html)
    assert m is not None
    for name in (
        "OpenStreetMap",
        "Travel Mapping",
        "IGN",
        "INSEE",
        "SNCF",
        "DGITM",
        "MESR",
        "Ville de Montpellier",
        "NGA WPI",
        "airportsdata",
    ):
        assert name in m.group(1)


def test_every_page_has_the_sources_and_the_synthetic_label(built):
    out, _, _ = built
    shared = read(out / "assets" / "communes.js")
    for insee in (MONTPELLIER, FELINES):
        html = read(out / "communes" / f"{insee}.html") + shared  # what the browser reads
        assert "Synthetic firm (not a real firm)" in html and " (synthetic)" in html
        assert escape(P.SYNTHETIC_NOTE) in html
        assert escape(datasets.attributions("herault")[0]) in html
        assert 'href=\\"../overview.html\\"' in html and 'href=\\"../index.html\\"' in html


def test_hostile_names_appear_only_escaped(built):
    _, paths, _ = built
    pages = {p.name: read(p) for p in paths}
    shared = pages["communes.js"]
    # the shared script is JSON: no "<" at all (so no </script> can close it when inlined)
    assert "<" not in shared and "</script" not in shared.lower()
    assert escape(COMMUNE_XSS) in shared and escape(IMG_XSS) in shared  # card, support body
    assert escape(JINJA) in shared  # airport marker row, braces as character references
    for name, html in pages.items():
        for text in HOSTILE:
            assert text not in html, (name, text)
        assert "${window.__xss" not in html and "onerror=alert(1)>" not in html
    # and they are there, escaped, where they belong
    assert escape(IMG_XSS) in pages["overview.html"]  # support-body marker
    assert escape(TEMPLATE_XSS) in pages["overview.html"]  # seaport marker
    assert escape(COMMUNE_XSS) in pages["overview.html"]  # municipality tooltip/card
    assert escape(COMMUNE_XSS) in pages["index.html"]
    felines = pages[f"{FELINES}.html"]
    assert escape(SCRIPT_XSS) in felines and escape(TEMPLATE_XSS) in felines  # SMEs, seaport route
    assert escape(IMG_XSS) in felines  # route to the chamber of commerce
    assert escape(COMMUNE_XSS) in pages[f"{LIVINIERE}.html"]
    # Jinja syntax is neither evaluated nor left live: encoded in JSON, character references in folium's HTML
    montpellier = pages[f"{MONTPELLIER}.html"]
    assert "49jinja" not in montpellier and "{{" not in montpellier and "{%" not in montpellier
    assert "&#123;&#123; 7*7 &#125;&#125;" in montpellier  # route tooltip and popup
    assert escape(JINJA) in pages["overview.html"]  # airport marker (braces as character references)


def test_overview_map_layers_and_legends(herault, herault_scores):
    m = overview_map(herault, herault_scores)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    for var in P.VARIABLES:
        assert f'"{escape(var.short or var.label)}" : proximity_polygon_layer_' in html
    # only the index layer is added to the map at first
    assert len(re.findall(r"proximity_polygon_layer_\w+\.addTo\(map_\w+\)", html)) == 1
    # no links to pages that were not written
    assert "communes/34172.html" not in html and "index.html" not in html
    assert '"ids":[],' in html
    # the cards' links are added in the browser: prefix + INSEE code + ".html"
    linked = overview_map(herault, herault_scores, link_pages=[MONTPELLIER]).get_root().render()
    assert '{"ids":["34172"],"prefix":"communes/"}' in linked


def test_classes_partition_the_municipalities(herault, herault_scores):
    ctx = P.prepare(herault, herault_scores)
    munis = herault_scores.municipalities
    for var in P.VARIABLES:
        c = ctx.classes[var.key]
        assert sum(c.counts) + int((c.codes < 0).sum()) == len(munis) == 341
        values = munis[var.key].astype(float)
        # classes are ordered intervals of the values
        for i in range(len(c.counts) - 1):
            lo, hi = values[c.codes == i], values[c.codes == i + 1]
            if len(lo) and len(hi):
                assert lo.max() < hi.min()
        assert (c.codes < 0).sum() == (~np.isfinite(values)).sum()
        assert 3 <= len(c.colors) <= 7 and len(c.colors) == len(c.labels)
    index = ctx.classes["index"]
    assert len(index.colors) == 6 and index.method.startswith("natural breaks")
    assert ctx.classes["minutes_airport"].labels[0] == "≤ 15 min"


def test_population_centre_isochrones_and_routes(ctx, herault):
    polys = ctx.projected
    for insee in (MONTPELLIER, FELINES):
        centre = ctx.centres.geometry.loc[insee]
        assert polys.loc[insee].buffer(1.0).contains(centre)  # a network node inside the commune
        isos = ctx.isochrones[insee]
        assert [t for t, _ in isos] == [15.0, 30.0, 45.0]
        areas = [shapely.area(g) for _, g in isos]
        assert areas[0] < areas[1] < areas[2]
        c4326 = ctx.centres.to_crs("EPSG:4326").geometry.loc[insee]
        assert isos[0][1].buffer(0.003).contains(c4326)
        # nested (up to the simplification and rounding)
        assert isos[0][1].difference(isos[1][1].buffer(0.003)).area < 1e-6
        routes = ctx.routes[insee]
        assert [r["group"] for r in routes] == [
            "airport",
            "seaport",
            "tgv_station",
            "motorway_access",
            "chamber_of_commerce",
        ]
    # route minutes are the engine's nearest-facility minutes from the same centre
    gw = herault.gateways[herault.gateways["on_network"] & herault.gateways["kind"].eq("airport")]
    near = traveltime.nearest(herault.csr, ctx.centres.loc[[MONTPELLIER, FELINES], ["geometry"]], gw[["geometry"]])
    for insee, row in near.set_index("origin_id").iterrows():
        r = ctx.routes[insee][0]
        assert r["destination_id"] == row["destination_id"]
        assert math.isclose(r["minutes"], row["minutes"], rel_tol=1e-9)
    mtp = {r["group"]: r for r in ctx.routes[MONTPELLIER]}
    assert mtp["airport"]["name"] == "Montpellier-Mediterranee Airport" and 8 < mtp["airport"]["minutes"] < 30
    assert mtp["tgv_station"]["minutes"] < 15
    first, last = mtp["airport"]["latlon"][0], mtp["airport"]["latlon"][-1]
    assert first == pytest.approx(
        [
            ctx.centres.to_crs("EPSG:4326").geometry.loc[MONTPELLIER].y,
            ctx.centres.to_crs("EPSG:4326").geometry.loc[MONTPELLIER].x,
        ],
        abs=1e-4,
    )
    airport = herault.gateways.loc[mtp["airport"]["destination_id"]].geometry
    assert last == pytest.approx([airport.y, airport.x], abs=1e-4)


def test_scorecard_compares_with_the_median(ctx, herault_scores):
    from proximity.maps.municipality import scorecard_html

    row = herault_scores.municipalities.loc[FELINES]
    html = scorecard_html(ctx, FELINES, links=True)
    assert f'<span class="big">{row["index"]:.1f}</span>' in html
    assert f"rank <b>{int(row['rank'])}</b> of 341 ({int(row['rank_low'])}–{int(row['rank_high'])}" in html
    median = herault_scores.municipalities["minutes_airport"].median()
    assert f"<td>Nearest airport (min)</td><td>{row['minutes_airport']:.0f}</td><td>{median:.0f}</td>" in html
    # the commune farthest from an airport is worse than the median on airport time (more
    # than 5% off it), one at the median is marked "about the median"
    far = herault_scores.municipalities["minutes_airport"].idxmax()
    far_html = scorecard_html(ctx, far, links=True)
    assert "prox-worse" in far_html.split("Nearest airport (min)")[1].split("</tr>")[0]
    mid = (herault_scores.municipalities["minutes_airport"] - median).abs().idxmin()
    mid_html = scorecard_html(ctx, mid, links=True)
    assert 'title="about the median"' in mid_html.split("Nearest airport (min)")[1].split("</tr>")[0]
    assert 'href="../overview.html"' in html and 'href="../index.html"' in html


def test_municipality_map_is_a_folium_map(herault, herault_scores, tmp_path):
    m = municipality_map(herault, herault_scores, FELINES, minutes=(10, 20))
    assert isinstance(m, folium.Map)
    path = save_map(m, tmp_path / "sub" / "felines.html")
    assert path == tmp_path / "sub" / "felines.html"
    assert [p.name for p in path.parent.iterdir()] == ["felines.html"]
    html = read(path)
    assert "Reachable by car in 10 / 20 min" in html
    assert "Félines-Minervois" in html
    assert "../overview.html" not in html  # no links unless the page is part of a map set


def _decode(feature, q):
    """Python twin of the pages' proxDecode: lat/lng rings of one packed feature."""
    x = y = 0
    polys = []
    for poly in feature:
        rings = []
        for steps in poly:
            ring = []
            for dx, dy in zip(steps[0::2], steps[1::2], strict=True):
                x, y = x + dx, y + dy
                ring.append((x * q, y * q))
            rings.append(ring)
        polys.append(rings)
    return polys


def test_packed_shapes_hold_the_isochrones_to_their_rounding(ctx):
    from proximity.maps._elements import PackedShapes, js

    q = 10.0**-P.TRAVEL_DECIMALS
    _minutes, geom = max(ctx.isochrones[MONTPELLIER], key=lambda p: p[0])
    m = folium.Map(tiles=None)
    PackedShapes(geom, {"color": "#08519c"}, quantum_deg=q).add_to(m)
    PackedShapes(geom, {"color": "#6baed6"}, quantum_deg=q).add_to(m)
    html = m.get_root().render()
    assert html.count("function proxDecode(") == 1  # the decoder once per page
    data = html.split("L.polygon(proxDecode(")[1].split(f", {js(q)}), ")[0]
    feature = json.loads(data)
    polys = [shapely.Polygon(r[0], r[1:]) for r in _decode(feature, q)]
    back = shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]
    # the same area, the same places: only repeated points were dropped
    assert back.area == pytest.approx(geom.area, rel=1e-9)
    assert back.symmetric_difference(geom).area < 1e-9 * geom.area
    assert len(data) < 0.6 * len(json.dumps(shapely.geometry.mapping(geom), separators=(",", ":")))


# --------------------------------------------------------------------------- the index
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self.hrefs.append(a["href"])
        if tag == "tr" and "data-insee" in a:
            self.rows += 1


def test_index_page_rows_and_links(built, herault_scores):
    out, _, _ = built
    parser = _Links()
    parser.feed(read(out / "index.html"))
    assert parser.rows == 341
    assert "overview.html" in parser.hrefs
    communes = [h for h in parser.hrefs if h.startswith("communes/")]
    assert sorted(communes) == [f"communes/{c}.html" for c in sorted((MONTPELLIER, FELINES, LIVINIERE))]
    for href in parser.hrefs:
        assert (out / href).is_file(), href
    html = read(out / "index.html")
    assert "<script>" in html and "http" not in html.split("<footer>")[0]  # no external asset
    assert escape(P.SYNTHETIC_NOTE) in html


def test_index_page_lists_every_municipality_in_rank_order(herault_scores):
    html = index_page(herault_scores)
    insees = re.findall(r'<tr data-insee="(\d+)"', html)
    expected = herault_scores.municipalities.sort_values("rank").index.tolist()
    assert insees == expected
    assert html.count('href="communes/') == 341
    assert index_page(herault_scores, link_pages=False).count('href="communes/') == 0
    row = herault_scores.municipalities.loc[MONTPELLIER]
    mtp = html.split(f'<tr data-insee="{MONTPELLIER}"')[1].split("</tr>")[0]
    assert f">{row['index']:.1f}</td>" in mtp and f"{int(row['rank_low'])}–{int(row['rank_high'])}" in mtp


# --------------------------------------------------------------------------- errors
def test_bad_out_path_is_a_clear_input_error(herault, herault_scores, tmp_path):
    f = tmp_path / "a-file.html"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder; pass a folder"):
        build_maps(herault, herault_scores, out=f, communes=[])
    with pytest.raises(InputError, match="cannot create the maps folder"):
        build_maps(herault, herault_scores, out=f / "sub", communes=[])
    with pytest.raises(InputError, match="out must be a folder path"):
        build_maps(herault, herault_scores, out=None, communes=[])
    assert list(tmp_path.iterdir()) == [f]


def test_bad_options_are_input_errors(herault, herault_scores, tmp_path):
    with pytest.raises(InputError, match="'99999' is not a municipality of this territory"):
        build_maps(herault, herault_scores, out=tmp_path, communes=["99999"])
    with pytest.raises(InputError, match="communes must be a list of INSEE codes"):
        build_maps(herault, herault_scores, out=tmp_path, communes="34172")
    with pytest.raises(InputError, match="progress must be a callable"):
        build_maps(herault, herault_scores, out=tmp_path, progress="loud")
    with pytest.raises(InputError, match="minutes must be 1 to 4 positive numbers"):
        build_maps(herault, herault_scores, out=tmp_path, minutes=(15, -5))
    with pytest.raises(InputError, match="cell_m must be a positive number"):
        build_maps(herault, herault_scores, out=tmp_path, cell_m=0)
    with pytest.raises(InputError, match="insee must be an INSEE code string"):
        municipality_map(herault, herault_scores, 34172.0)
    with pytest.raises(InputError, match="classes must be an int from 3 to 7"):
        overview_map(herault, herault_scores, classes=12)
    with pytest.raises(InputError, match="simplify_m must be a non-negative number"):
        overview_map(herault, herault_scores, simplify_m=-1)
    with pytest.raises(InputError, match="link_pages must be True/False or a collection"):
        overview_map(herault, herault_scores, link_pages="34172")
    with pytest.raises(InputError, match="not municipalities of the territory"):
        overview_map(herault, herault_scores, link_pages=["12345"])
    with pytest.raises(InputError, match="scores must be the ScoreResult"):
        overview_map(herault, herault_scores.municipalities)
    with pytest.raises(InputError, match="territory has no 'gateways'; pass the Territory"):
        overview_map(herault_scores, herault_scores)
    with pytest.raises(InputError, match="scores must be the ScoreResult"):
        index_page(herault_scores.municipalities)
    with pytest.raises(InputError, match=r"is a folder; pass the \.html file"):
        save_map(folium.Map(), tmp_path)
    with pytest.raises(InputError, match=r"m must be a folium\.Map"):
        save_map("<html>", tmp_path / "x.html")
    assert list(tmp_path.iterdir()) == []  # nothing written before the checks


def test_scores_of_another_territory_or_missing_columns(herault, herault_scores):
    other = copy.copy(herault_scores)
    other.municipalities = herault_scores.municipalities.drop(index=MONTPELLIER)
    with pytest.raises(InputError, match="list different municipalities"):
        overview_map(herault, other)
    broken = copy.copy(herault_scores)
    broken.municipalities = herault_scores.municipalities.drop(columns=["density", "minutes_seaport"])
    with pytest.raises(MissingColumnError, match=r"lacks columns \['density', 'minutes_seaport'\]"):
        overview_map(herault, broken)
    with pytest.raises(MissingColumnError, match=r"lacks columns \['density'\]"):
        index_page(broken)


def test_unreachable_minutes_are_a_no_data_class():
    var = P.VARIABLES[5]
    values = pd.Series([5.0, 20.0, 50.0, 100.0, np.inf], index=list("abcde"))
    c = P.classify(values, var, k=5)
    assert c.codes.tolist() == [0, 1, 3, 5, -1]
    assert c.labels == ["≤ 15 min", "15–30 min", "30–45 min", "45–60 min", "60–90 min", "> 90 min"]
    assert c.counts == [1, 1, 0, 1, 0, 1]
    assert c.colors[0] == P.BUPU[6][-1]  # the shortest trips are the darkest
    assert var.fmt(np.inf) == "not reachable"
    legend = P.legend_html(var, c, nodata_count=1)
    assert "not reachable" in legend and "(1)" in legend


def test_marker_rows_of_user_layers_with_missing_values(herault):
    sup = herault.support_bodies.to_crs("EPSG:4326").iloc[:2].copy()
    sup["category"] = ["incubator <b>", "university"]
    sup["on_network"] = pd.array([pd.NA, False], dtype="boolean")
    rows, fields, styles = P.support_rows(sup)
    assert fields[0] == "Name" and len(rows) == 2
    assert rows[0][2] == "other" and rows[0][4] == "Incubator &lt;b&gt;" and rows[0][8] == "yes"
    assert rows[1][2] == "university" and rows[1][8] == "no (off the network)"
    assert styles["other"] == {"icon": "circle-info", "markerColor": "purple"}
    gws = herault.gateways.to_crs("EPSG:4326").iloc[:3].copy()
    gws["in_territory"] = pd.array([pd.NA, True, False], dtype="boolean")
    by_group, _ = P.gateway_rows(gws)
    flat = [r for rs in by_group.values() for r in rs]
    assert [r[6] for r in flat] == ["yes", "yes", "no"]
    assert {r[2] for r in flat} <= set(P.gateway_styles())


def test_standalone_pages_need_no_other_file(hostile, tmp_path):
    t, s = hostile
    paths = build_maps(t, s, out=tmp_path, communes=[FELINES, LIVINIERE], standalone=True, cell_m=500.0)
    assert not (tmp_path / "assets").exists()
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "overview.html",
        f"communes/{FELINES}.html",
        f"communes/{LIVINIERE}.html",
        "index.html",
    ]
    ctx = P.prepare(t, s)
    for insee in (FELINES, LIVINIERE):
        html = read(tmp_path / "communes" / f"{insee}.html")
        assert "../assets/" not in html
        start = html.index("<script>var PROX_SHARED = ")
        inline = html[start + len("<script>") : html.index("</script>", start)]
        assert "<" not in inline  # JSON with "<" escaped: nothing can close the script early
        # only what the page shows: its neighbours' polygons, with their scores and cards
        ids = re.findall(r'"type":"Feature","id":"(\d+)"', inline)
        assert ids == ctx.neighbours(insee, 5000.0) and insee in ids
        for text in HOSTILE:
            assert text not in html
        assert escape(P.SYNTHETIC_NOTE) in inline and escape(IMG_XSS) in inline
    assert escape(COMMUNE_XSS) in read(tmp_path / "communes" / f"{LIVINIERE}.html")
    # a page alone is larger than one sharing the assets, and still small
    size = (tmp_path / "communes" / f"{FELINES}.html").stat().st_size
    assert 100_000 < size < 1.5 * MB
    with pytest.raises(InputError, match="standalone must be True or False"):
        build_maps(t, s, out=tmp_path, communes=[FELINES], standalone="yes")
