"""The travel stage of the commune pages (proximity.commune_travel) against the engine's own answers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from proximity import traveltime
from proximity.commune_travel import (
    ROUTE_GROUPS,
    _facilities,
    commune_travel,
    population_centres,
)
from proximity.errors import InputError, UnreachableWarning

MONTPELLIER, FELINES, SETE = "34172", "34097", "34301"
CODES = [MONTPELLIER, FELINES, SETE]


@pytest.fixture(scope="module")
def travel(herault, herault_scores):
    return commune_travel(herault, communes=CODES, origins=herault_scores.origins, tolerance_m=0.0)


def test_centres_are_population_origins_on_the_roads(travel, herault, herault_scores):
    c = travel.centres
    assert list(c.index) == CODES and c.crs == "EPSG:4326"
    assert c["placement"].eq("node").all() and c["reachable"].all()
    proj = c.to_crs(herault.csr.crs)
    polys = herault.municipalities.geometry.to_crs(herault.csr.crs)
    xy = np.column_stack([herault.csr.x, herault.csr.y])
    for insee, pt in proj.geometry.items():
        assert polys.loc[insee].buffer(1.0).contains(pt)
        assert np.hypot(*(xy - [pt.x, pt.y]).T).min() < 1e-6  # a network node
    # the origin nearest to the population-weighted mean of the commune's origins
    o = herault_scores.origins[herault_scores.origins["insee"] == MONTPELLIER].to_crs(herault.csr.crs)
    w = o["weight"].to_numpy()
    mean = np.array([(o.geometry.x * w).sum() / w.sum(), (o.geometry.y * w).sum() / w.sum()])
    d = np.hypot(o.geometry.x - mean[0], o.geometry.y - mean[1])
    assert proj.geometry.loc[MONTPELLIER].equals_exact(o.geometry.loc[d.idxmin()], 1e-6)
    # same centres from population_centres directly
    again = population_centres(herault.municipalities, herault_scores.origins, crs=herault.csr.crs, insees=CODES)
    assert np.allclose(shapely.get_coordinates(again.geometry.values), shapely.get_coordinates(proj.geometry.values))


def test_isochrones_match_the_engine(travel, herault):
    iso = travel.isochrones
    assert list(iso.columns) == ["insee", "minutes", "geometry"] and len(iso) == 3 * len(CODES)
    assert travel.minutes == (15.0, 30.0, 45.0)
    proj = iso.to_crs(herault.csr.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        ref = traveltime.isochrones(
            herault.csr, travel.centres[["geometry"]], minutes=(15, 30, 45), cell_m=250.0
        ).to_crs(herault.csr.crs)
    for insee in CODES:
        mine = proj[proj["insee"] == insee].geometry.to_numpy()
        theirs = ref[ref["origin_id"] == insee].geometry.to_numpy()
        areas = shapely.area(mine)
        assert areas[0] < areas[1] < areas[2] and shapely.is_valid(mine).all()
        # the same model on a grid aligned differently: areas within 2 %, borders within a cell
        assert np.allclose(areas, shapely.area(theirs), rtol=0.02)
        beyond = shapely.area(shapely.difference(mine, shapely.buffer(theirs, 375.0))) + shapely.area(
            shapely.difference(theirs, shapely.buffer(mine, 375.0))
        )
        assert (beyond < 0.01 * areas).all(), beyond / areas
        centre = travel.centres.to_crs(herault.csr.crs).geometry.loc[insee]
        assert mine[0].contains(centre)
    montpellier_45 = proj[(proj["insee"] == MONTPELLIER) & (proj["minutes"] == 45)].geometry.iloc[0]
    assert 2_500e6 < montpellier_45.area < 4_500e6  # km² reached from Montpellier in 45 min


def test_routes_and_nearest_are_the_engines(travel, herault):
    r = travel.routes
    assert list(r.columns) == ["insee", "group", "destination_id", "name", "minutes", "km", "geometry"]
    assert r.crs == "EPSG:4326"
    for insee in CODES:
        assert list(r.loc[r["insee"] == insee, "group"]) == list(ROUTE_GROUPS)
    fac = _facilities(herault, ROUTE_GROUPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        near = traveltime.nearest(herault.csr, travel.centres[["geometry"]], fac, by="group")
    merged = r.merge(near, left_on=["insee", "group"], right_on=["origin_id", "group"], suffixes=("", "_engine"))
    assert len(merged) == len(r)
    assert np.allclose(merged["minutes"], merged["minutes_engine"], rtol=1e-9)
    for rec in r.itertuples():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreachableWarning)
            ref = traveltime.route(
                herault.csr,
                travel.centres.geometry.loc[rec.insee],
                fac.geometry.loc[rec.destination_id],
                crs=str(fac.crs),
            )
        assert math.isclose(rec.minutes, ref.minutes, rel_tol=1e-9)
        # the drawn path runs node to node (the engine snaps onto the road itself, and may
        # leave by another road): the same trip within 5% (1.5 of 38.8 km at most here)
        assert abs(rec.km - ref.km) < 0.5 + 0.05 * ref.km
        coords = shapely.get_coordinates(rec.geometry)
        assert np.allclose(coords[0], ref.coords[0], atol=1e-6) and np.allclose(coords[-1], ref.coords[-1], atol=1e-6)
    mtp = r[r["insee"] == MONTPELLIER].set_index("group")
    assert mtp.loc["airport", "name"] == "Montpellier-Mediterranee Airport" and 8 < mtp.loc["airport", "minutes"] < 30
    nearest = travel.nearest
    assert nearest.geometry.geom_type.eq("Point").all()
    assert np.allclose(
        shapely.get_coordinates(nearest.geometry.values),
        shapely.get_coordinates(fac.to_crs("EPSG:4326").geometry.loc[nearest["destination_id"]].values),
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(nearest.drop(columns="geometry")), pd.DataFrame(r.drop(columns="geometry"))
    )


def test_default_origins_are_the_scores(herault, herault_scores):
    a = commune_travel(herault, communes=[SETE], minutes=20)
    b = commune_travel(herault, communes=[SETE], minutes=20, origins=herault_scores.origins)
    assert a.centres.geometry.iloc[0].equals_exact(b.centres.geometry.iloc[0], 1e-9)
    assert a.minutes == (20.0,) and len(a.isochrones) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"communes": ["99999"]}, r"communes \['99999'\] are not municipalities"),
        ({"communes": "34172"}, "communes must be a list of INSEE codes"),
        ({"minutes": (15, -1)}, "minutes must be positive numbers"),
        ({"minutes": "soon"}, "minutes must be positive numbers"),
        ({"cell_m": 0}, "cell_m must be a positive number of metres"),
        ({"tolerance_m": -1}, "tolerance_m must be a non-negative number of metres"),
        ({"groups": "airport"}, "groups must be a list of destination groups"),
    ],
)
def test_bad_inputs_are_input_errors(herault, kwargs, match):
    with pytest.raises(InputError, match=match):
        commune_travel(herault, **{"communes": [SETE], **kwargs})


def test_origins_without_their_columns(herault):
    with pytest.raises(InputError, match="origins lacks columns"):
        commune_travel(herault, communes=[SETE], origins=herault.smes[["geometry"]])
