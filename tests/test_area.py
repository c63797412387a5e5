"""Territory specs resolved from the national files: départements, communes, outline."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from proximity import area, layers
from proximity.errors import InputError


@pytest.fixture(autouse=True)
def _uses_real_data(real_data):
    """Every test here reads the installed national files (an integration test)."""
    return real_data


def test_departement_34_matches_the_herault_layer():
    a = area.resolve("34")
    h = layers.municipalities("herault")
    assert (a.name, a.kind, a.departements) == ("dep-34", "departement", ("34",))
    assert len(a.communes) == 341 and int(a.communes["population"].sum()) == 1230289
    assert list(a.communes.index) == list(h.index)
    assert np.allclose(a.communes["area_km2"], h["area_km2"])
    assert a.communes.geometry.geom_equals(h.geometry).all()
    # 34093 (merged in 2019) is dissolved into 34144 with the documented note
    assert a.communes.loc["34144", "merged_from"] == "34093"
    assert a.communes.loc["34144", "geometry_note"] == "union of the 2018 polygons of 34144, 34093"
    # the outline is in EPSG:2154 (metres) and covers every commune
    assert 6.0e9 < a.outline.area < 6.3e9  # Hérault: 6,101 km2
    cover = shapely.union_all(a.communes.geometry.to_crs(area.CRS).to_numpy())
    assert shapely.difference(cover, a.outline).area / cover.area < 0.01


@pytest.mark.parametrize(
    ("spec", "name", "deps", "n"),
    [
        ("2A", "dep-2A", ("2A",), 124),
        ("2a", "dep-2A", ("2A",), 124),
        ("5", "dep-05", ("05",), 162),
        ("92", "dep-92", ("92",), 36),
        ("34,30,11", "deps-11-30-34", ("11", "30", "34"), 1124),
        (" 30 , 34,30", "deps-30-34", ("30", "34"), 341 + 350),
        ("epci:243400017", "epci-243400017", ("34",), 31),
        ("region:94", "region-94", ("2A", "2B"), 124 + 236),
    ],
)
def test_spec_forms(spec, name, deps, n):
    a = area.resolve(spec)
    assert (a.name, a.departements, len(a.communes)) == (name, deps, n)
    assert a.communes.geometry.is_valid.all() and a.communes.index.is_unique
    assert not a.communes[["population", "area_km2"]].isna().any().any()


def test_epci_outline_is_its_communes():
    a = area.resolve("epci:243400017")
    assert a.label.startswith("Montpellier Méditerranée Métropole")
    assert a.communes["metropole"].all() and int(a.communes["population"].sum()) == 522542
    assert abs(a.outline.area / 1e6 - a.communes["area_km2"].sum()) < 1.0


def test_recreated_communes_share_their_parent_polygon():
    a = area.resolve("15")
    c = a.communes
    group = ["15141", "15031", "15035", "15047", "15171"]
    assert set(group) <= set(c.index)
    parent = c.loc["15141", "geometry"]
    for code in group:
        assert c.loc[code, "geometry"].equals(parent)
    assert c.loc["15031", "geometry_note"].startswith("2018 polygon of 15141 shared with 15141")
    # areas are split by population and add up to the shared polygon's area
    full = c.loc[["15141"]].to_crs(area.CRS).area.iloc[0] / 1e6
    assert c.loc[group, "area_km2"].sum() == pytest.approx(full)
    pop = c.loc[group, "population"].astype(float)
    assert c.loc[group, "area_km2"].to_numpy() == pytest.approx(full * pop / pop.sum())
    for dep, codes in (("14", ["14666", "14712"]), ("85", ["85165", "85212", "85084"])):
        cc = area.resolve(dep).communes
        assert cc.loc[codes, "geometry"].map(lambda g, ref=cc.loc[codes[-1], "geometry"]: g.equals(ref)).all()


def test_commune_nouvelle_under_a_new_code_is_the_union_of_its_former_communes():
    # 49126 Orée d'Anjou has no 2018 polygon under that code: in 2018 it was 49069
    c = area.resolve("49").communes
    assert c.loc["49126", "name"] == "Orée d'Anjou"
    assert c.loc["49126", "merged_from"] == "49069"
    assert c.loc["49126", "geometry_note"] == "union of the 2018 polygons of 49069"
    assert "49069" not in c.index
    assert 150 < c.loc["49126", "area_km2"] < 165  # generalised 2018 polygon of 49069


def test_islands_without_epci_have_empty_epci_columns():
    c = area.resolve("29").communes
    assert c.loc["29155", "epci_siren"] == "" and not c.loc["29155", "metropole"]
    assert c.loc["29155", "population"] > 0


def test_bad_specs_name_the_spec_and_the_forms():
    for spec, why in [
        ("99", "'99' is not a metropolitan département code"),
        ("971", "'971' is not a metropolitan département code"),
        ("34,,30", "empty item"),
        ("epci:123", "9-digit SIREN"),
        ("epci:999999999", "no EPCI with SIREN 999999999"),
        ("region:01", "not a metropolitan region code"),
        ("canton:3401", "unknown prefix 'canton'"),
        ("", "empty"),
    ]:
        with pytest.raises(
            InputError,
            match=rf"territory {spec!r} is not understood \(.*{why}.*\); accepted forms: herault, a département code",
        ):
            area.resolve(spec)


def test_buffer_grows_the_outline():
    a = area.resolve("2A")
    b = a.buffer(150)
    assert b.contains(a.outline.buffer(-1))
    # the buffer of Corse-du-Sud reaches Sardinia and the whole of Corsica, not the mainland
    x0, y0, _x1, _y1 = a.bounds_wgs84(150)
    assert 39.5 < y0 < 40.7 and 6.5 < x0 < 7.6
    with pytest.raises(InputError, match="buffer distance must be >= 0 km"):
        a.buffer(-1)
