"""Maps of the planner tools (incubator sites, export groups), in a real browser."""

from __future__ import annotations

import dataclasses

import pytest
from browser_support import screenshot

from proximity import maps, planning
from proximity.errors import InputError

HOSTILE = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def plan_maps(herault, herault_scores, tmp_path_factory):
    out = tmp_path_factory.mktemp("planning_maps")
    smes = herault.smes.copy()
    first = smes.index[smes["naf_section"].isin(["C", "J"])][0]
    smes.loc[first, "name"] = HOSTILE
    ter = dataclasses.replace(herault, smes=smes)
    site = planning.plan_incubator(ter, grid_spacing_m=6000, p_max=2, base_scores=herault_scores)
    groups = planning.plan_export_groups(ter, sections=["C", "J"], method="heuristic", time_limit_s=5, seed=2)
    return {
        "site": (site, maps.save_map(maps.siting_map(ter, site), out / "sites.html")),
        "groups": (groups, maps.save_map(maps.groups_map(ter, groups), out / "groups.html")),
    }


def test_planning_maps_are_small_escaped_and_attributed(plan_maps):
    for _, path in plan_maps.values():
        html = path.read_text(encoding="utf-8")
        assert path.stat().st_size < 3_000_000
        assert "OpenStreetMap contributors" in html and "synthetic" in html.lower()
        assert HOSTILE not in html


def test_siting_map_in_browser(plan_maps, open_map):
    plan, path = plan_maps["site"]
    m = open_map(path, viewport_px=(1280, 800))
    m.assert_clean()
    page = m.page
    # candidates + the what-if choropleth are drawn as interactive SVG paths
    n_paths = page.locator("path.leaflet-interactive").count()
    assert n_paths >= len(plan.candidates) + 341
    assert page.locator(".leaflet-marker-pane .awesome-marker").count() == len(plan.chosen)
    screenshot(m, "planning_sites")


def test_groups_map_in_browser(plan_maps, open_map):
    plan, path = plan_maps["groups"]
    m = open_map(path, viewport_px=(1280, 800))
    m.assert_clean()
    page = m.page
    n_points = plan.result.n_placed + len(plan.result.unplaced)
    assert page.locator("path.leaflet-interactive").count() == n_points + len(plan.result.groups)
    # the hostile firm's name shows as text when hovered, and nothing runs
    hostile = plan.selected.index[plan.selected["name"] == HOSTILE][0]
    assert hostile in set(plan.selected.index)
    assert m.xss_sentinel() == 0
    screenshot(m, "planning_groups")


def test_planning_maps_reject_empty_plans(herault, plan_maps):
    plan, _ = plan_maps["site"]
    with pytest.raises(InputError, match="no candidate sites"):
        maps.siting_map(herault, dataclasses.replace(plan, candidates=plan.candidates.iloc[:0]))


def test_overview_with_a_raster_overlay(herault, herault_scores, open_map, tmp_path):
    from proximity import raster

    airports = herault.gateways[herault.gateways["kind"].eq("airport") & herault.gateways["on_network"]]
    outline = herault.municipalities.to_crs(herault.manifest.crs).union_all()
    arr, transform = raster.travel_time_surface(herault.csr, airports, territory_polygon=outline, cell_m=1000)
    m_obj = maps.overview_map(herault, herault_scores, rasters={"Minutes to the airport": (arr, transform)})
    html = m_obj.get_root().render()
    assert "L.imageOverlay" in html and "data:image/png;base64," in html
    path = maps.save_map(m_obj, tmp_path / "overview.html")
    m = open_map(path, viewport_px=(1280, 800))
    m.assert_clean()
    page = m.page
    assert page.locator(".leaflet-image-layer").count() == 0  # off at first
    page.get_by_text("Minutes to the airport", exact=True).first.click()
    page.wait_for_timeout(300)
    assert page.locator(".leaflet-image-layer").count() == 1
    m.assert_clean()
    screenshot(m, "overview_raster_overlay")
    with pytest.raises(InputError, match="cannot be read"):
        maps.overview_map(herault, herault_scores, rasters={"x": tmp_path / "missing.tif"})
