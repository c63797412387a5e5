"""The map set in headless Chromium: rendering, hover values, layer switching, links, escaping.

The whole set (overview, 341 commune pages, index) is built once for this module from
copies of the territory with hostile names (see ``test_maps.hostile_copies``), then a
few pages are opened. Screenshots go to tests/_artifacts/maps_*.png.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from browser_support import load_map, screenshot
from test_maps import (
    COMMUNE_XSS,
    FELINES,
    IMG_XSS,
    JINJA,
    LIVINIERE,
    MONTPELLIER,
    SCRIPT_XSS,
    TEMPLATE_XSS,
    hostile_copies,
)

from proximity.maps import _prepare as P
from proximity.maps import build_maps

VIEWPORT = (1280, 800)

# A point inside the path of a municipality where nothing covers it (markers, panels); when
# markers cover it at this zoom, the map first zooms on it.
FIND_POINT = """
(insee) => new Promise((resolve) => {
  function find() {
    const path = document.querySelector("path.prox-m-" + insee);
    if (!path) return null;
    const r = path.getBoundingClientRect();
    for (let n = 3; n <= 15; n += 2) {
      for (let i = 1; i < n; i++) for (let j = 1; j < n; j++) {
        const x = r.left + r.width * i / n, y = r.top + r.height * j / n;
        if (document.elementFromPoint(x, y) === path) return [x, y];
      }
    }
    return null;
  }
  const found = find();
  if (found) return resolve(found);
  const map = window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))];
  let bounds = null;
  map.eachLayer(l => { if (l.feature && l.feature.id === insee && l.getBounds) bounds = l.getBounds(); });
  if (!bounds) return resolve(null);
  map.fitBounds(bounds, {maxZoom: 12, animate: false});
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(find())));
})
"""


# Points layers of the page: [number of markers, on the map?, first marker is a circle?]
POINT_LAYERS = """
() => {
  const map = window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))];
  return Object.keys(window).filter(k => k.startsWith("proximity_points_")).map(k => {
    const layers = window[k].getLayers();
    return [layers.length, map.hasLayer(window[k]), layers.length > 0 && layers[0] instanceof L.CircleMarker];
  });
}
"""

# Give the id "target" to the icon (or path) of the first marker whose tooltip contains `needle`,
# after bringing it into view (un-clustered).
TAG_MARKER = """
(needle) => new Promise((resolve) => {
  const map = window[Object.keys(window).find(k => /^map_[0-9a-f]+$/.test(k))];
  for (const k of Object.keys(window).filter(k => k.startsWith("proximity_points_"))) {
    const group = window[k];
    for (const m of group.getLayers()) {
      const t = m.getTooltip() && m.getTooltip().getContent();
      if (typeof t === "string" && t.includes(needle)) {
        const tag = () => { (m._icon || m._path).id = "target"; resolve(true); };
        if (group.zoomToShowLayer) group.zoomToShowLayer(m, tag);
        else { map.panTo(m.getLatLng(), {animate: false}); tag(); }
        return;
      }
    }
  }
  resolve(false);
})
"""


@pytest.fixture(scope="module")
def map_set(browser, herault, herault_scores, tmp_path_factory):
    out = tmp_path_factory.mktemp("map_set")
    # coarse isochrone cells: the same pages, built faster
    build_maps(*hostile_copies(herault, herault_scores), out=out, cell_m=500.0)
    return out


@pytest.fixture(scope="module")
def overview(browser, map_set):
    opened = load_map(browser, map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def classes(herault, herault_scores):
    return P.prepare(herault, herault_scores).classes


def hover(m, insee: str, name: str) -> str:
    """The tooltip shown when the mouse moves over the municipality ``insee`` called ``name``."""
    point = m.page.evaluate(FIND_POINT, insee)
    assert point is not None, f"no visible point of {insee}"
    m.page.mouse.move(*point)
    # the previous tooltip fades out for 200 ms: take the one of this municipality
    tip = m.page.locator(".leaflet-tooltip.prox-tip", has_text=name)
    tip.wait_for()
    return tip.inner_text()


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()


# --------------------------------------------------------------------------- overview
def test_overview_renders_every_municipality_and_marker(overview, herault):
    overview.assert_clean()
    page = overview.page
    assert page.locator("path.prox-m").count() == 341
    groups = herault.gateways["group"].value_counts()
    n_support = len(herault.support_bodies)
    layers = sorted(tuple(x) for x in page.evaluate(POINT_LAYERS))
    expected = sorted(
        [(int(groups[g]), g not in ("rail_station", "motorway_access"), False) for g in P.GATEWAY_STYLES]
        + [(n_support, True, False)]
    )
    assert layers == expected
    shown = sum(n for n, on, _ in layers if on)  # airports, seaports, TGV stations, support bodies
    icons = page.locator(".leaflet-marker-pane .awesome-marker").count()
    clustered = sum(int(t) for t in page.locator(".leaflet-marker-pane .marker-cluster").all_inner_texts())
    assert icons + clustered == shown == 4 + 2 + 9 + n_support
    legend = page.locator(".prox-legend")
    assert legend.locator(".prox-leg-title").inner_text() == "Milieu index"
    assert sum(int(n.strip("()")) for n in legend.locator(".prox-leg-n").all_inner_texts()) == 341
    assert "Sources" in page.locator(".prox-sources summary").inner_text()
    assert "Travel Mapping" in page.locator(".leaflet-control-attribution").inner_text()
    screenshot(overview, "maps_overview")


def test_hover_shows_the_municipality_score(overview, herault_scores):
    munis = herault_scores.municipalities
    first = munis.index[munis["rank"] == 1][0]
    for insee in (MONTPELLIER, FELINES, first):
        row = munis.loc[insee]
        text = hover(overview, insee, row["name"])
        assert f"Milieu index {row['index']:.1f}" in text
        assert f"rank {int(row['rank'])} of 341" in text
    # the hostile commune name shows as text
    text = hover(overview, LIVINIERE, COMMUNE_XSS)
    assert text.startswith(COMMUNE_XSS)
    assert overview.page.locator(".leaflet-tooltip svg").count() == 0
    screenshot(overview, "maps_overview_hover")
    overview.assert_clean()


def test_every_layer_is_coloured_and_has_its_legend(open_map, map_set, herault_scores, classes):
    m = open_map(map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    munis = herault_scores.municipalities
    for var in P.VARIABLES:
        page.locator(".leaflet-control-layers-base label", has_text=var.short or var.label).first.click()
        assert page.locator("path.prox-m").count() == 341
        assert page.locator(".prox-legend .prox-leg-title").inner_text() == var.label
        fills = page.eval_on_selector_all(
            "path.prox-m",
            "ps => ps.map(p => [p.getAttribute('class').match(/prox-m-(\\w+)/)[1], p.getAttribute('fill')])",
        )
        got = dict(fills)
        c = classes[var.key]
        want = {i: (c.colors[code] if code >= 0 else P.NODATA) for i, code in c.codes.items()}
        assert got == want, var.key
        assert len(set(got.values())) >= 4
    # the last layer (world reach) stays selected: hovering tells its value
    row = munis.loc[MONTPELLIER]
    text = hover(m, MONTPELLIER, "Montpellier")
    last = P.VARIABLES[-1]
    assert last.key == "reach_destinations_gravity"
    assert f"{last.label}: {row[last.key]:.1f}" in text
    screenshot(m, "maps_overview_world_reach")
    m.assert_clean()


def test_click_a_municipality_then_its_page_and_back(open_map, map_set, herault_scores):
    m = open_map(map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    page.mouse.click(*page.evaluate(FIND_POINT, MONTPELLIER))
    popup = page.locator(".leaflet-popup-content")
    row = herault_scores.municipalities.loc[MONTPELLIER]
    text = popup.inner_text()
    assert f"{int(row['rank_low'])}–{int(row['rank_high'])}" in text and f"{row['density']:.2f}" in text
    screenshot(m, "maps_overview_popup")
    popup.locator("a", has_text="Open the page of Montpellier").click()
    page.wait_for_url("**/communes/34172.html")
    page.locator(".prox-card h1").wait_for()
    assert page.locator(".prox-card h1").inner_text() == "Montpellier"
    page.go_back()
    page.wait_for_url("**/overview.html")
    page.locator("path.prox-m").first.wait_for()
    assert page.locator("path.prox-m").count() == 341
    m.assert_clean()


def test_hostile_names_on_the_overview_are_text(open_map, map_set):
    m = open_map(map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    for needle, name in (("&lt;img", IMG_XSS), ("&#36;&#123;window", TEMPLATE_XSS)):
        assert page.evaluate(TAG_MARKER, needle)
        page.locator("#target").click()
        popup = page.locator(".leaflet-popup-content")
        assert popup.locator("caption, td").filter(has_text=name).count() >= 1
        assert name in popup.inner_text()
        assert popup.locator("img, script").count() == 0
        page.evaluate("() => document.getElementById('target').removeAttribute('id')")
        page.keyboard.press("Escape")
    m.assert_clean()  # no dialog, window.__xss still 0


def test_sources_box_lists_every_attribution(overview):
    from proximity import datasets

    box = overview.page.locator(".prox-sources")
    assert not box.locator("ul").is_visible()  # collapsed at first
    box.locator("summary").click()
    text = box.inner_text()
    for line in datasets.attributions("herault"):
        assert line in text
    assert "2014, city of Montpellier only" in text and "SYNTHETIC" in text
    screenshot(overview, "maps_overview_sources")
    box.locator("summary").click()
    overview.assert_clean()


# --------------------------------------------------------------------------- commune pages
def test_montpellier_page(open_map, map_set, herault, herault_scores):
    m = open_map(map_set / "communes" / f"{MONTPELLIER}.html", root=map_set, viewport_px=VIEWPORT)
    m.assert_clean()
    page = m.page
    row = herault_scores.municipalities.loc[MONTPELLIER]
    card = page.locator(".prox-card")
    assert card.locator("h1").inner_text() == "Montpellier"
    assert card.locator(".prox-kpi .big").inner_text() == f"{row['index']:.1f}"
    assert f"rank {int(row['rank'])} of 341" in card.inner_text()
    n_smes = int((herault.smes["commune"] == MONTPELLIER).sum())
    assert n_smes > 1000
    layers = page.evaluate(POINT_LAYERS)
    assert [n_smes, True, True] in layers  # every SME, as circle markers (clustered)
    assert page.locator(".leaflet-marker-pane .marker-cluster").count() >= 3
    # five routes, each labelled at its destination with the minutes the scorecard lists
    labels = page.locator(".leaflet-tooltip.prox-label").all_inner_texts()
    found = [re.fullmatch(r"(Airport|Seaport|TGV|Motorway|CCI) (\d+ min)", t) for t in labels]
    assert len(labels) == 5 and all(found)
    routes = card.locator(".prox-routes").inner_text()
    for f in found:
        assert f.group(2) in routes
    assert "Airport: " in routes and JINJA in routes  # the airport's Jinja name, as text
    strokes = set(page.eval_on_selector_all("path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('stroke'))"))
    assert set(P.ROUTE_COLORS.values()) <= strokes
    assert page.locator(".leaflet-overlay-pane path:not(.leaflet-interactive)").count() >= 3 + 2  # isochrones, outlines
    screenshot(m, "maps_commune_montpellier")


def test_rural_page_and_hostile_smes(open_map, map_set, herault, herault_scores):
    m = open_map(map_set / "communes" / f"{FELINES}.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    m.assert_clean()
    assert page.locator(".prox-card h1").inner_text() == "Félines-Minervois"
    n_smes = int((herault.smes["commune"] == FELINES).sum())
    assert [n_smes, True, True] in page.evaluate(POINT_LAYERS)
    screenshot(m, "maps_commune_felines")
    assert page.evaluate(TAG_MARKER, "&lt;script")
    page.locator("#target").click()
    popup = page.locator(".leaflet-popup-content")
    text = popup.inner_text()
    assert SCRIPT_XSS in text and "SYNTHETIC — not a real firm" in text and "Synthetic firm" in text
    assert popup.locator("script").count() == 0
    screenshot(m, "maps_commune_felines_sme_popup")
    page.keyboard.press("Escape")
    assert TEMPLATE_XSS in page.locator(".prox-card .prox-routes").inner_text()  # the seaport's name
    m.assert_clean()


# --------------------------------------------------------------------------- index
def test_index_search_sort_and_links(open_map, map_set, herault_scores):
    m = open_map(map_set / "index.html", root=map_set, viewport_px=VIEWPORT, wait_for="#municipalities")
    m.assert_clean()  # the <svg onload> commune name did not run
    page = m.page
    rows = page.locator("#municipalities tbody tr")
    assert rows.count() == 341
    assert page.locator("#count").inner_text() == "341 of 341 municipalities"
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
    assert len(hrefs) == 342
    for href in hrefs:
        assert (map_set / href).is_file(), href
    munis = herault_scores.municipalities
    assert COMMUNE_XSS in rows.filter(has=page.locator(f'a[href="communes/{LIVINIERE}.html"]')).inner_text()

    page.fill("#q", "montp")
    keys = [fold(f"{r['name']} {i} {r['epci_name']}") for i, r in munis.iterrows()]
    expected = sum("montp" in k for k in keys)
    assert page.locator("#municipalities tbody tr:not([hidden])").count() == expected > 30
    page.fill("#q", "FELINES minervois")
    assert page.locator("#municipalities tbody tr:not([hidden])").count() == 1
    page.fill("#q", "")
    header = page.locator("#municipalities th", has_text="Milieu index")
    header.click()
    worst = munis["index"].idxmin()
    assert page.locator("#municipalities tbody tr").first.get_attribute("data-insee") == worst
    header.click()
    assert page.locator("#municipalities tbody tr").first.get_attribute("data-insee") == munis["index"].idxmax()
    screenshot(m, "maps_index")

    page.fill("#q", "montpellier 34172")
    page.locator(f'a[href="communes/{MONTPELLIER}.html"]').click()
    page.wait_for_url("**/communes/34172.html")
    page.locator(".prox-card h1").wait_for()
    page.locator(".prox-card a", has_text="All municipalities").click()
    page.wait_for_url("**/index.html")
    assert page.locator("#municipalities tbody tr").count() == 341
    page.locator("a", has_text="Open the overview map").click()
    page.wait_for_url("**/overview.html")
    page.locator("path.prox-m").first.wait_for()
    m.assert_clean()


# --------------------------------------------------------------------------- file:// and standalone pages
def test_pages_work_from_file_urls(open_map, map_set, herault_scores):
    """Opened from disk (file://), a commune page reads the shared script beside it."""
    m = open_map(map_set / "communes" / f"{LIVINIERE}.html", root=map_set, viewport_px=VIEWPORT, file_url=True)
    m.assert_clean()
    page = m.page
    assert page.url.startswith("file://")
    assert page.locator(".prox-card h1").inner_text() == COMMUNE_XSS  # the hostile name, as text
    assert page.locator(f"path.prox-m-{LIVINIERE}").count() == 1
    tip = hover(m, FELINES, "Félines-Minervois")
    assert "Milieu index" in tip
    assert "Sources" in page.locator(".prox-sources-box").inner_text()
    screenshot(m, "maps_commune_liviniere_file_url")
    assert m.xss_sentinel() == 0


def test_standalone_page_alone_from_file_url(open_map, herault, herault_scores, tmp_path):
    """A standalone page copied alone into an empty folder works from file://."""
    build_maps(
        *hostile_copies(herault, herault_scores),
        out=tmp_path / "set",
        communes=[LIVINIERE],
        cell_m=500.0,
        standalone=True,
    )
    alone = tmp_path / "mail" / f"{LIVINIERE}.html"
    alone.parent.mkdir()
    alone.write_bytes((tmp_path / "set" / "communes" / f"{LIVINIERE}.html").read_bytes())
    m = open_map(alone, viewport_px=VIEWPORT, file_url=True)
    m.assert_clean()
    page = m.page
    assert page.locator(".prox-card h1").inner_text() == COMMUNE_XSS
    assert page.locator(f"path.prox-m-{FELINES}").count() == 1  # a neighbour, from the inline data
    assert page.locator(".leaflet-tooltip.prox-label").count() == 5  # the five routes' labels
    assert "Sources" in page.locator(".prox-sources-box").inner_text()
    assert m.xss_sentinel() == 0
    screenshot(m, "maps_commune_liviniere_standalone")
