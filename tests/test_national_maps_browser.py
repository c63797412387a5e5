"""The national maps in headless Chromium: canvas overview, hover, search, département mode and pages.

The set is built once for the module from the three-département table with hostile names
(``test_national_maps.hostile_table``); the France test opens the overview of all 34,700
communes with a FAKE index (size and drawing only). Screenshots go to
tests/_artifacts/national_*.png.
"""

from __future__ import annotations

import pytest
from browser_support import load_map, screenshot
from national_support import national_fixture
from test_national_maps import (
    AURILLAC,
    IMG_XSS,
    PUY,
    SCRIPT_XSS,
    TEMPLATE_XSS,
    france_overview,  # noqa: F401 (the module fixture, shared)
    hostile_table,
)

from proximity import peers as PE
from proximity.maps import national as N

VIEWPORT = (1280, 800)

# A viewport point inside commune (or département) `code` where the canvas receives the mouse
# (not under a panel), after zooming on it; null if none.
FIND_POINT = """
([code, deps]) => new Promise((resolve) => {
  const N = window.proxNational, map = N.map;
  let lay = null;
  if (deps) { N.depGroup.eachLayer(l => { if (l.proxCode === code) lay = l; }); }
  else { lay = N.layers[N.pos[code]]; map.fitBounds(lay.getBounds(), {maxZoom: 11, animate: false}); }
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const b = lay.getBounds(), rect = map.getContainer().getBoundingClientRect();
    for (let n = 4; n <= 40; n += 3) {
      for (let i = 1; i < n; i++) for (let j = 1; j < n; j++) {
        const ll = L.latLng(b.getSouth() + (b.getNorth() - b.getSouth()) * i / n, b.getWest() + (b.getEast() - b.getWest()) * j / n);
        const lp = map.latLngToLayerPoint(ll), cp = map.latLngToContainerPoint(ll);
        const x = rect.left + cp.x, y = rect.top + cp.y;
        const el = document.elementFromPoint(x, y);
        if (lay._containsPoint(lp) && el && el.tagName === "CANVAS") return resolve([x, y]);
      }
    }
    resolve(null);
  }));
})
"""


@pytest.fixture(scope="module")
def table(real_data):
    return hostile_table()


@pytest.fixture(scope="module")
def map_set(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("national_browser") / "maps"
    script_code = table.index[table["name"].eq(SCRIPT_XSS)][0]
    N.build_national_maps(table, out=out, communes=[AURILLAC, script_code])
    return out


@pytest.fixture(scope="module")
def overview(browser, map_set):
    opened = load_map(browser, map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    yield opened
    opened.close()


def hover(m, code: str, name: str) -> str:
    point = m.page.evaluate(FIND_POINT, [code, False])
    assert point is not None, f"no visible point of {code}"
    m.page.mouse.move(*point)
    tip = m.page.locator(".leaflet-tooltip.prox-tip", has_text=name)
    tip.wait_for()
    return tip.inner_text()


def test_overview_draws_every_commune_and_the_legend(overview, table):
    overview.assert_clean()
    page = overview.page
    assert page.evaluate("window.proxNational.layers.length") == len(table)
    assert page.evaluate("window.proxNational.map.hasLayer(window.proxNational.group)")
    assert page.locator("canvas.leaflet-zoom-animated").count() >= 1
    counts = [int(t.strip("()")) for t in page.locator(".prox-legend .prox-leg-n").all_inner_texts()]
    assert sum(counts) == len(table)
    assert "Sources" in page.locator(".prox-sources summary").inner_text()
    screenshot(overview, "national_overview")


def test_hover_shows_name_score_and_ranks(overview, table):
    r = table.loc[AURILLAC]
    n_dep = int((table["departement"] == "15").sum())
    text = hover(overview, AURILLAC, "Aurillac")
    assert f"Milieu index {float(r['index']):.1f}" in text
    assert f"rank {int(r['rank'])} of {len(table)} in France" in text
    assert f"{int(r['rank_departement'])} of {n_dep} in the département" in text
    screenshot(overview, "national_overview_hover")
    overview.assert_clean()


def test_hostile_names_show_as_text(overview, table):
    for name in (SCRIPT_XSS, IMG_XSS, TEMPLATE_XSS):
        code = table.index[table["name"].eq(name)][0]
        text = hover(overview, code, name[:8])
        assert text.startswith(name), (name, text)
    assert overview.page.locator(".leaflet-tooltip img, .leaflet-tooltip script").count() == 0
    overview.assert_clean()


def test_search_by_insee_and_by_name(open_map, map_set, table):
    m = open_map(map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    box = page.locator("#prox-search-input")
    box.fill(AURILLAC)
    first = page.locator(".prox-search-results li").first
    assert first.get_attribute("data-insee") == AURILLAC
    assert first.inner_text() == f"Aurillac (15) · {AURILLAC}"
    box.press("Enter")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    r = table.loc[AURILLAC]
    text = popup.inner_text()
    assert "Aurillac" in text and f"rank {int(r['rank'])} of {len(table)} in France" in text
    assert popup.locator("a", has_text="All communes of Cantal").get_attribute("href") == "departements/15.html"
    assert popup.locator("a", has_text="Page of Aurillac").get_attribute("href") == f"communes/{AURILLAC}.html"
    screenshot(m, "national_overview_search")
    # accents, hyphens and case do not matter; the larger commune comes first
    box.fill("puy en velay")
    assert page.locator(".prox-search-results li").first.get_attribute("data-insee") == PUY
    box.fill("zzzz")
    assert page.locator(".prox-search-results li").inner_text() == "No commune found"
    # a hostile name is listed as text
    box.fill("<script>")
    assert page.locator(".prox-search-results li").first.inner_text().startswith(SCRIPT_XSS)
    m.assert_clean()


def test_departement_mode_and_its_link_to_the_page(open_map, map_set, table):
    m = open_map(map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    page.locator(".prox-legend select").select_option("d:")
    assert page.evaluate("window.proxNational.map.hasLayer(window.proxNational.depGroup)")
    assert not page.evaluate("window.proxNational.map.hasLayer(window.proxNational.group)")
    assert page.locator(".prox-legend .prox-leg-title").last.inner_text() == "Départements: mean milieu index"
    point = page.evaluate(FIND_POINT, ["43", True])
    assert point is not None
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Haute-Loire (43)" in popup.inner_text()
    link = popup.locator("a", has_text="All communes of Haute-Loire")
    assert link.get_attribute("href") == "departements/43.html"
    screenshot(m, "national_overview_departements")
    link.click()
    page.wait_for_url("**/departements/43.html")
    page.wait_for_function("window.proxNational && window.proxNational.layers.length > 0")
    assert page.evaluate("window.proxNational.layers.length") == int((table["departement"] == "43").sum())
    m.assert_clean()


def test_departement_page_row_click_shows_peers(open_map, map_set, table):
    m = open_map(map_set / "departements" / "15.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    assert page.locator(".prox-dtable tbody tr").count() == int((table["departement"] == "15").sum())
    page.locator(
        f'.prox-dtable tr[data-insee="{AURILLAC}"] td'
    ).first.click()  # the rank cell (the name links to its page)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    with_peers = PE.add_peers(national_fixture())
    assert f"Rank {int(with_peers.loc[AURILLAC, 'peer_rank_index'])} of 11 among its peers" in text
    assert "Le Puy-en-Velay (43)" in text
    assert popup.locator(".prox-peers tr").count() == 11
    screenshot(m, "national_departement_15")
    m.assert_clean()


def test_commune_page_shows_the_commune_and_its_peers(open_map, map_set, table):
    m = open_map(map_set / "communes" / f"{AURILLAC}.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    card = page.locator(".prox-ccard")
    assert "Aurillac" in card.locator("h1").inner_text()
    assert card.locator("table.prox-peers").nth(1).locator("tr").count() == 12  # header, itself, 10 peers
    assert card.locator("tr.prox-self").inner_text().split("\t")[1].startswith("Aurillac")
    screenshot(m, "national_commune_aurillac")
    m.assert_clean()


def test_france_overview_opens_with_every_commune(browser, france_overview):  # noqa: F811
    t, path = france_overview
    m = load_map(browser, path, root=path.parent, viewport_px=VIEWPORT)
    try:
        m.assert_clean()
        page = m.page
        assert page.evaluate("window.proxNational.layers.length") == len(t)
        screenshot(m, "national_france_overview")
        page.locator("#prox-search-input").fill("33063")
        page.locator("#prox-search-input").press("Enter")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        rank = int(t.set_index("insee").loc["33063", "rank"])
        assert (
            "Bordeaux" in popup.inner_text()
            and f"rank {rank:,} of {len(t):,} in France".replace(",", "\u202f") in popup.inner_text()
        )
        text = hover(m, "33063", "Bordeaux")
        assert f"rank {rank:,}".replace(",", "\u202f") in text
        screenshot(m, "national_france_bordeaux")
        m.assert_clean()
    finally:
        m.close()


def test_hostile_names_in_popups_and_component_colours(open_map, map_set, table):
    m = open_map(map_set / "overview.html", root=map_set, viewport_px=VIEWPORT)
    page = m.page
    for name in (SCRIPT_XSS, IMG_XSS, TEMPLATE_XSS):
        code = table.index[table["name"].eq(name)][0]
        page.evaluate("(c) => window.proxNational.go(window.proxNational.pos[c])", code)
        popup = page.locator(".leaflet-popup-content").last  # the previous one may still be fading out
        popup.wait_for()
        assert popup.locator(".prox-tip-name").inner_text().startswith(name)
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script").count() == 0
    # colour by a component: every commune takes its class colour
    page.locator(".prox-legend select").select_option("c:density")
    assert page.locator(".prox-legend .prox-leg-title").last.inner_text() == "Density"
    fills = page.evaluate("window.proxNational.layers.map(l => l.options.fillColor)")
    classes = N.quantile_classes(N.check_national(table)["density"].to_numpy())
    assert fills == [classes.colors[c] for c in classes.codes]
    text = hover(m, AURILLAC, "Aurillac")
    assert f"Density: {float(table.loc[AURILLAC, 'density']):.2f}" in text
    m.assert_clean()
