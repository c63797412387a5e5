"""Smoke test of the browser-test infrastructure and of safe popup/tooltip HTML.

Builds small folium maps offline, opens them in headless Chromium through
``browser_support`` (CDN assets from tests/browser/node_modules, blank tiles) and
checks that they render, that hostile names display as text, and that folium itself
still does *not* escape tooltip properties or popup template literals (the canaries:
if folium starts escaping, proximity._html's pre-escaping must be revisited).
"""

from __future__ import annotations

import re

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
from branca.colormap import LinearColormap
from browser_support import CDN_ROUTES, TILE_URL, load_map, resolve_cdn, screenshot
from shapely.geometry import box

from proximity._html import escape, escape_properties, html_table

IMG_XSS = "<img src=x onerror=alert(1)>"
SCRIPT_XSS = "<script>alert(1)</script>"
# Live in a JS template literal: ${...} runs, a bad \u escape is a SyntaxError.
TEMPLATE_XSS = "${window.__xss=1} `C:\\users\\u` $"
CENTRE = (43.61, 3.88)  # Montpellier
MARKER = ".leaflet-marker-pane .awesome-marker"  # icons, not their shadows (same class)


def _polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": [IMG_XSS, "Lodève & <b>Clermont</b>"],
            "firms": [1234, 56],
        },
        geometry=[
            box(3.70, 43.55, 3.78, 43.62),
            box(3.70, 43.64, 3.78, 43.70),
        ],
        crs="EPSG:4326",
    )


def _safe_map() -> folium.Map:
    m = folium.Map(location=CENTRE, zoom_start=11)
    folium.GeoJson(
        escape_properties(_polygons(), ["name"]),
        name="zones",
        tooltip=folium.GeoJsonTooltip(fields=["name", "firms"], aliases=[escape("Name <i>"), "Firms"]),
    ).add_to(m)
    cluster = folium.plugins.MarkerCluster(name="firms").add_to(m)
    # three firms within a few metres: one cluster icon labelled 3
    for i in range(3):
        folium.Marker(
            (43.58 + i * 0.0003, 3.95),
            popup=folium.Popup(html_table({"Name": f"Firm {i}"})),
            icon=folium.Icon(color="green"),
        ).add_to(cluster)
    hostile = [IMG_XSS, SCRIPT_XSS, TEMPLATE_XSS]
    for i, name in enumerate(hostile):
        folium.Marker(
            (43.66 - i * 0.04, 4.02),
            popup=folium.Popup(html_table({"Name": name, "Employees": 12 + i})),
            tooltip=folium.Tooltip(escape(name)),
            icon=folium.Icon(color="red", icon="star", prefix="fa") if i % 2 else folium.Icon(icon="info-sign"),
        ).add_to(cluster)
    LinearColormap(["#ffffcc", "#800026"], vmin=0, vmax=1234, caption="Firms").add_to(m)
    return m


def _canary_map() -> folium.Map:
    """Hostile text given to folium unescaped."""
    m = folium.Map(location=CENTRE, zoom_start=11)
    raw = _polygons().assign(name=['<img src=x onerror="window.__xss=1">', "plain"])
    folium.GeoJson(raw, tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(m)
    folium.Marker(CENTRE, popup=folium.Popup("${(window.__popup_ran=1)}")).add_to(m)
    return m


def _backslash_map() -> folium.Map:
    m = folium.Map(location=CENTRE, zoom_start=11)
    folium.Marker(CENTRE, tooltip=folium.Tooltip("C:\\users\\u")).add_to(m)
    return m


@pytest.fixture(scope="module")
def maps_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("maps")
    _safe_map().save(folder / "safe.html")
    _canary_map().save(folder / "canary.html")
    _backslash_map().save(folder / "backslash.html")
    return folder


@pytest.fixture(scope="module")
def safe(browser, maps_dir):
    opened = load_map(browser, maps_dir / "safe.html")
    yield opened
    opened.close()


def test_every_folium_asset_url_is_routed_to_an_installed_file(browser_assets):
    # Every CDN URL in a page using the folium features and plugins we rely on.
    m = _safe_map()
    for plugin in (
        folium.plugins.Fullscreen(),
        folium.plugins.MiniMap(),
        folium.plugins.HeatMap([CENTRE]),
        folium.plugins.GroupedLayerControl({}),
    ):
        plugin.add_to(m)
    group = folium.FeatureGroup().add_to(m)
    folium.plugins.FeatureGroupSubGroup(group).add_to(m)
    geo = folium.GeoJson(_polygons()).add_to(m)
    folium.plugins.Search(geo, search_label="name").add_to(m)
    page = m.get_root().render()
    urls = set(re.findall(r'(?:src|href)="(https://[^"]+)"', page))
    assert len(urls) >= 20
    unrouted = sorted(u for u in urls if resolve_cdn(u) is None)
    assert unrouted == [], "add these to browser_support.CDN_ROUTES and package.json"
    no_file = sorted(u for u in urls if not callable(resolve_cdn(u)) and not resolve_cdn(u).is_file())
    assert no_file == [], "pin the versions folium references in tests/browser/package.json"


def test_routing_table_rules():
    assert resolve_cdn("https://example.org/x.js") is None
    assert resolve_cdn("https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js") is None
    assert resolve_cdn("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/../../x") is None
    font = resolve_cdn("https://netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/glyphicons-halflings-regular.eot?#iefix")
    assert font.name == "glyphicons-halflings-regular.eot"
    assert font.parent.parent.name == "glyphicons-only-bootstrap"
    assert all(p.startswith("https://") for p in CDN_ROUTES)
    assert TILE_URL.match("https://a.basemaps.cartocdn.com/light_all/11/1051/747.png")
    assert TILE_URL.match("https://tile.openstreetmap.org/11/1046/746.png")
    assert not TILE_URL.match("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")


def test_map_loads_offline_with_all_assets(safe):
    safe.assert_clean()
    assert safe.tiles, "the OpenStreetMap base layer requested no tile"
    served = "\n".join(safe.served)
    for asset in (
        "leaflet.js",
        "leaflet.css",
        "leaflet.markercluster.js",
        "MarkerCluster.Default.css",
        "images/markers-soft.png",
        "fa-solid-900.woff2",
        "glyphicons-halflings-regular.woff2",
        "d3.min.js",
    ):
        assert asset in served, f"{asset} was not loaded"
    loaded_fonts = safe.page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert {'"Font Awesome 6 Free"', '"Glyphicons Halflings"'} <= {
        f if f.startswith('"') else f'"{f}"' for f in loaded_fonts
    }
    broken = safe.page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    assert broken == []


def test_layers_render(safe):
    page = safe.page
    assert page.locator("path.leaflet-interactive").count() == 2
    clusters = page.locator(".marker-cluster")
    assert clusters.count() == 1
    assert clusters.inner_text().strip() == "3"
    assert page.locator(MARKER).count() == 3
    assert page.locator(f"{MARKER} i.fa-star").count() == 1
    assert page.locator(f"{MARKER} i.glyphicon-info-sign").count() == 2
    assert page.locator(".legend").count() == 1  # the branca colormap (d3)


def test_tooltip_shows_escaped_properties_as_text(safe):
    page = safe.page
    polygons = page.locator("path.leaflet-interactive")
    polygons.nth(0).hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert tooltip.inner_text().split() == ["Name", "<i>", *IMG_XSS.split(), "Firms", "1234"]
    assert page.locator(".leaflet-tooltip img, .leaflet-tooltip i").count() == 0
    polygons.nth(1).hover()
    page.wait_for_function("document.querySelector('.leaflet-tooltip').innerText.includes('Clermont')")
    assert "Lodève & <b>Clermont</b>" in tooltip.inner_text()
    assert safe.dialogs == []
    assert safe.xss_sentinel() == 0


def test_popups_show_hostile_names_as_text(safe):
    page = safe.page
    shown = {}
    for i in range(3):
        page.locator(MARKER).nth(i).click()
        content = page.locator(".leaflet-popup-content")
        content.wait_for()
        assert content.locator("th").all_inner_texts() == ["Name", "Employees"]
        name, employees = content.locator("td").all_inner_texts()
        shown[name] = employees
        assert content.locator("img, script").count() == 0
        if name == SCRIPT_XSS:
            shot = screenshot(safe, "smoke_safe_map_popup")
            assert shot.stat().st_size > 10_000
        page.locator(".leaflet-popup-close-button").click()
        content.wait_for(state="detached")
    assert shown == {IMG_XSS: "12", SCRIPT_XSS: "13", TEMPLATE_XSS: "14"}
    safe.assert_clean()


def test_marker_tooltips_show_template_characters_as_text(safe):
    page = safe.page
    seen = []
    for i in range(3):
        page.locator(MARKER).nth(i).hover()
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for()
        seen.append(tooltip.inner_text().strip())
        page.mouse.move(5, 650)  # off the marker: the tooltip closes
        tooltip.wait_for(state="detached")
    assert sorted(seen) == sorted([IMG_XSS, SCRIPT_XSS, TEMPLATE_XSS])
    safe.assert_clean()


def test_canary_folium_does_not_escape(open_map, maps_dir):
    # If one of these fails, folium now escapes by itself: proximity._html's
    # pre-escaping would show "&lt;" to users and must be revisited.
    canary = open_map(maps_dir / "canary.html")
    page = canary.page
    assert page.evaluate("window.__popup_ran") == 1  # ${...} in a Popup ran at load
    assert canary.xss_sentinel() == 0
    page.locator("path.leaflet-interactive").nth(0).hover()
    page.wait_for_function("window.__xss === 1")  # tooltip property ran as HTML
    assert canary.missing == ["http://maps.localhost/x"]  # the <img src=x> it made


def test_canary_backslash_in_tooltip_breaks_the_map(open_map, maps_dir):
    broken = open_map(maps_dir / "backslash.html", wait_for=None)
    assert any("SyntaxError" in e or "Invalid Unicode" in e for e in broken.page_errors)
    assert broken.page.locator(".leaflet-marker-icon").count() == 0


def test_unrouted_requests_are_recorded(open_map, tmp_path):
    page_file = tmp_path / "external.html"
    page_file.write_text(
        '<html><body><img src="https://example.org/pixel.png">'
        '<img src="https://tile.openstreetmap.org/1/0/0.png"></body></html>',
        encoding="utf-8",
    )
    opened = open_map(page_file, wait_for=None)
    assert opened.unrouted == ["https://example.org/pixel.png"]
    assert opened.tiles == ["https://tile.openstreetmap.org/1/0/0.png"]
    assert any("unrouted request" in p for p in opened.problems())
    with pytest.raises(AssertionError, match=r"example\.org/pixel\.png"):
        opened.assert_clean()


def test_load_map_errors(browser, tmp_path):
    with pytest.raises(FileNotFoundError, match="no HTML file"):
        load_map(browser, tmp_path / "absent.html")
    (tmp_path / "a.html").write_text("<html></html>", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match="is not inside root"):
        load_map(browser, tmp_path / "a.html", root=tmp_path / "sub")


def test_escape_properties_keeps_numbers():
    escaped = escape_properties(_polygons(), ["name", "firms"])
    assert escaped["name"].tolist() == [
        "&lt;img src=x onerror=alert(1)&gt;",
        "Lodève &amp; &lt;b&gt;Clermont&lt;/b&gt;",
    ]
    assert escaped["firms"].tolist() == [1234, 56]
    assert pd.api.types.is_integer_dtype(escaped["firms"])
