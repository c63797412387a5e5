"""World reach: the airline routes of the gateways (OpenFlights, June 2014) and what each origin reaches."""

from __future__ import annotations

import csv

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from proximity import accessibility as acc
from proximity import datasets, milieu, traveltime
from proximity.errors import ConfigError, InputError, MissingColumnError
from proximity.layers import air_routes, gateways
from proximity.network import graph_to_csr

X0, Y0 = 760_000.0, 6_270_000.0

# ----------------------------------------------------------------------------- tiny OpenFlights tables
# OpenFlights ids: 1 AAA (France), 2 CDG (France), 3 LHR (United Kingdom), 4 FCO (Italy),
# 5 JFK (United States), 6 BBB (France, ICAO-only in the gateways layer: no IATA there)
OF_AIRPORTS = pd.DataFrame(
    {
        "of_id": ["1", "2", "3", "4", "5", "6"],
        "name": ["A", "Charles de Gaulle", "Heathrow", "Fiumicino", "Kennedy", "B"],
        "city": ["a", "Paris", "London", "Rome", "New York", "b"],
        "country": ["France", "France", "United Kingdom", "Italy", "United States", "France"],
        "iata": ["AAA", "CDG", "LHR", "FCO", "JFK", "BBB"],
        "icao": ["XAAA", "LFPG", "EGLL", "LIRF", "KJFK", "XBBB"],
    }
)


def _routes(rows):
    cols = [
        "airline",
        "airline_id",
        "source",
        "source_id",
        "destination",
        "destination_id",
        "codeshare",
        "stops",
        "equipment",
    ]
    return pd.DataFrame(rows, columns=cols)


ROUTES = _routes(
    [
        ["AF", "1", "AAA", "1", "CDG", "2", "", "0", "320"],
        ["BA", "2", "AAA", "1", "CDG", "2", "", "0", "320"],  # a second airline: still one destination
        ["AF", "1", "AAA", "1", "LHR", "3", "", "0", "320"],
        ["AZ", "3", "AAA", "", "FCO", "", "Y", "0", "E90"],  # codeshare only, ids missing: resolved by code
        ["AF", "1", "AAA", "1", "JFK", "5", "", "1", "777"],  # one stop: not direct
        ["XX", "9", "AAA", "1", "ZZZ", "", "", "0", "AT7"],  # endpoint unknown to airports.dat
        ["BA", "2", "BBB", "6", "LHR", "3", "", "0", "320"],
        ["DL", "4", "BBB", "6", "JFK", "5", "", "0", "767"],
        ["AF", "1", "CDG", "2", "AAA", "1", "", "0", "320"],  # from elsewhere: not ours
    ]
)
GATEWAYS = pd.DataFrame(
    {
        "kind": ["airport", "airport", "airport", "seaport"],
        "iata": ["AAA", "", "QQQ", ""],
        "icao": ["XAAA", "XBBB", "LQQQ", ""],
    },
    index=["airport:A", "airport:B", "airport:Q", "seaport:S"],
)


def test_airport_destinations_rules_on_tiny_tables():
    d = air_routes.airport_destinations(GATEWAYS, routes=ROUTES, openflights_airports=OF_AIRPORTS)
    assert list(d.columns) == list(air_routes.ROUTE_COLUMNS)
    a = d[d["gateway_id"] == "airport:A"].set_index("destination")
    # JFK has one stop: left out; ZZZ is unresolved but still a destination, with no country
    assert sorted(a.index) == ["CDG", "FCO", "LHR", "ZZZ"]
    assert a.loc["CDG", "airlines"] == 2 and not a.loc["CDG", "codeshare_only"]
    assert a.loc["FCO", "codeshare_only"] and a.loc["FCO", "destination_country"] == "Italy"
    assert a.loc["ZZZ", "destination_country"] == "" and not a.loc["ZZZ", "foreign"]
    assert a["foreign"].to_dict() == {"CDG": False, "FCO": True, "LHR": True, "ZZZ": False}
    # the ICAO-only airport is matched on its ICAO code
    assert sorted(d.loc[d["gateway_id"] == "airport:B", "destination"]) == ["JFK", "LHR"]

    c = air_routes.route_counts(d, GATEWAYS.index)
    assert c.loc["airport:A", ["destinations", "countries", "foreign_destinations"]].tolist() == [4, 3, 2]
    assert c.loc["airport:B", ["destinations", "countries", "foreign_destinations"]].tolist() == [2, 2, 2]
    # absent from the routes, or not an airport: 0 and "", never NaN
    assert c.loc["airport:Q", ["destinations", "countries", "foreign_destinations"]].tolist() == [0, 0, 0]
    assert c.loc["seaport:S", "destination_codes"] == ""
    assert not c.isna().any().any()
    assert c.loc["airport:A", "destination_codes"] == "CDG FCO LHR ZZZ"
    assert c.loc["airport:A", "destinations_by_country"] == "?: ZZZ; France: CDG; Italy: FCO; United Kingdom: LHR"


def test_airport_destinations_needs_codes():
    with pytest.raises(MissingColumnError, match="iata"):
        air_routes.airport_destinations(GATEWAYS.drop(columns="iata"), routes=ROUTES, openflights_airports=OF_AIRPORTS)


# ----------------------------------------------------------------------------- tiny network
def _tiny_network():
    """O(0) -> A(10 km) in 20 min -> B(30 km) in 40 more min, both ways."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for nid, x in ((0, 0.0), (1, 10_000.0), (2, 30_000.0)):
        G.add_node(nid, x=X0 + x, y=Y0)
    for u, v, s in ((0, 1, 1200.0), (1, 2, 2400.0)):
        G.add_edge(u, v, travel_time=s, length=1000.0)
        G.add_edge(v, u, travel_time=s, length=1000.0)
    return graph_to_csr(G)


def _on_nodes(xs, index):
    return gpd.GeoSeries(shapely.points([[X0 + x, Y0] for x in xs]), index=index, crs="EPSG:2154")


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        (15.0, [0, 0, 0, 0]),  # before A
        (25.0, [1, 4, 3, 2]),  # A only: CDG FCO LHR ZZZ; France, Italy, UK; FCO LHR foreign
        (59.0, [1, 4, 3, 2]),  # just short of B
        (61.0, [2, 5, 4, 3]),  # A and B: + JFK (LHR counted once); + United States
    ],
)
def test_world_reach_on_either_side_of_an_airport(horizon, expected):
    g = _tiny_network()
    origins = _on_nodes([0.0], ["o"])
    airports = _on_nodes([10_000.0, 30_000.0], ["airport:A", "airport:B"])
    od = traveltime.od_matrix(g, origins, airports, max_minutes=120)
    assert od.set_index("destination_id")["minutes"].round(6).to_dict() == {"airport:A": 20.0, "airport:B": 60.0}
    routes = air_routes.airport_destinations(GATEWAYS, routes=ROUTES, openflights_airports=OF_AIRPORTS)
    decay = acc.exponential(half_life_minutes=30)
    r = acc.world_reach(od, routes, max_minutes=horizon, decay=decay, origins=["o", "nowhere"])
    cols = ["reach_airports", "reach_destinations", "reach_countries", "reach_foreign_destinations"]
    assert r.loc["o", cols].tolist() == expected
    assert r.loc["nowhere"].tolist() == [0.0] * len(acc.WORLD_REACH_COLUMNS)
    # gravity does not depend on the horizon: each destination weighs as its best airport;
    # LHR is served by A (20 min) and B (60 min) and counts once, with A's weight
    a, b = 2 ** (-20 / 30), 2 ** (-60 / 30)
    assert r.loc["o", "reach_destinations_gravity"] == pytest.approx(4 * a + b)


def test_world_reach_bad_inputs():
    od = pd.DataFrame({"origin_id": ["o"], "destination_id": ["A"], "minutes": [10.0]})
    routes = pd.DataFrame({"gateway_id": ["A"], "destination": ["CDG"], "destination_country": ["France"]})
    decay = acc.exponential()
    with pytest.raises(MissingColumnError, match="destination_country"):
        acc.world_reach(od, routes.drop(columns="destination_country"), max_minutes=90, decay=decay)
    with pytest.raises(InputError, match="max_minutes"):
        acc.world_reach(od, routes, max_minutes=-1, decay=decay)
    with pytest.raises(InputError, match="routes must be a DataFrame"):
        acc.world_reach(od, "routes.dat", max_minutes=90, decay=decay)


def test_profile_reach_minutes_is_validated(tmp_path):
    p = milieu.load_profile()
    assert p.parameters["reach_minutes"] == 90.0
    keys = {i.key: i for i in p.indicators}
    assert keys["reach_countries"].component == "directionality" and keys["reach_countries"].weight > 0
    assert keys["reach_destinations_gravity"].component == "density"
    bad = tmp_path / "bad.toml"
    bad.write_text('[parameters]\nreach_minutes = "ninety"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="reach_minutes"):
        milieu.load_profile(bad)


# ----------------------------------------------------------------------------- real data
def _direct_destinations_from_file(iata: str) -> set[str]:
    """Independent count: non-stop rows of routes.dat leaving ``iata``, codeshares included."""
    with datasets.path("openflights_routes").open(encoding="utf-8", newline="") as f:
        return {row[4] for row in csv.reader(f) if row[2] == iata and row[7] == "0"}


def test_gateway_airports_match_routes_dat(real_data):
    g = gateways()
    a = g[g["kind"] == "airport"]
    # Hérault (Montpellier, Béziers) and its neighbours (Nîmes, Carcassonne) all have routes
    assert {"airport:LFMT", "airport:LFMU", "airport:LFTW", "airport:LFMK"} <= set(a.index)
    for gid, row in a.iterrows():
        expected = _direct_destinations_from_file(row["iata"])
        assert row["destinations"] == len(expected) > 0, gid
        assert set(row["destination_codes"].split()) == expected
    assert a.loc["airport:LFMT", "destinations"] == 20
    assert a.loc["airport:LFMU", "destinations"] == 9
    assert a.loc["airport:LFMT", ["countries", "foreign_destinations"]].tolist() == [7, 12]
    assert a.loc["airport:LFMT", "destinations_by_country"].startswith("France: AJA BSL CDG LIL LYS NTE ORY SXB; ")
    new = ["destinations", "countries", "foreign_destinations", "destination_codes", "destinations_by_country"]
    assert not g[new].isna().any().any()
    assert (g.loc[g["kind"] != "airport", "destinations"] == 0).all()
    ports = g[g["kind"] == "seaport"]
    assert ports.loc["seaport:FRSET", ["harbor_size", "harbor_type"]].tolist() == ["Small", "Coastal (Breakwater)"]
    assert not ports[["harbor_size", "harbor_type"]].isna().any().any()


def test_world_reach_in_the_scores(herault, herault_scores):
    m = herault_scores.municipalities
    cols = [
        "reach_destinations",
        "reach_countries",
        "reach_foreign_destinations",
        "reach_destinations_gravity",
        "reach_airports",
    ]
    for c in cols:
        assert not m[c].isna().any() and not m[f"{c}_smes"].isna().any(), c
        assert not herault_scores.smes[c].isna().any(), c
    # Mauguio (the airport's commune): the population-weighted mean over its origins of the
    # distinct destinations of the airports each origin reaches within 90 min, recounted
    # from routes.dat and an OD table of the engine
    from proximity.layers import on_network

    airports = on_network(herault.gateways[herault.gateways["kind"].eq("airport")])
    origins = herault_scores.origins[herault_scores.origins["insee"].eq("34154")]
    od = traveltime.od_matrix(herault.csr, origins[["geometry"]], airports[["geometry"]], max_minutes=90)
    served = {gid: _direct_destinations_from_file(airports.loc[gid, "iata"]) for gid in airports.index}
    counts = pd.Series(
        [
            len(set().union(*(served[g] for g in od.loc[od["origin_id"].eq(o), "destination_id"])))
            for o in origins.index
        ],
        index=origins.index,
    )
    mpl, bzr = _direct_destinations_from_file("MPL"), _direct_destinations_from_file("BZR")
    assert counts.min() >= len(mpl | bzr)  # Montpellier and Béziers at least, from every origin
    expected = float((counts * origins["weight"]).sum() / origins["weight"].sum())
    assert m.loc["34154", "reach_destinations"] == pytest.approx(expected)
    s = herault_scores.smes["reach_destinations"]
    everything_in_reach = set().union(*served.values())
    assert (s == s.round()).all() and len(mpl | bzr) <= s.max() <= len(everything_in_reach)  # per origin: whole counts
    # every origin's count lies between none and all the airports' destinations
    assert m["reach_destinations"].between(0, len(everything_in_reach) + 1e-9).all()
    assert m["reach_destinations"].max() > m["reach_destinations"].min()
    # the profile feeds the index with them
    assert {"norm_reach_countries", "norm_reach_destinations_gravity"} <= set(m.columns)
    # nearest airports on the cards: the commune of the airport lists Montpellier first
    assert m.loc["34154", "nearest_airports"].startswith("Montpellier-Mediterranee Airport (MPL): ")
    assert (m["nearest_airports"] != "").all()
    wr = herault_scores.summary["world_reach"]
    assert wr["reach_minutes"] == 90.0 and "2014" in wr["routes"]
    assert wr["airports"]["MPL"]["destinations"] == 20
    assert np.isfinite(m["reach_destinations_gravity"]).all()


# ----------------------------------------------------------------------------- maps (headless Chromium)
OPEN_AIRPORT_POPUP = """
(needle) => {
  for (const k of Object.keys(window).filter(k => k.startsWith("proximity_points_"))) {
    for (const m of window[k].getLayers()) {
      const t = m.getTooltip() && m.getTooltip().getContent();
      if (typeof t === "string" && t.includes(needle)) { m.openPopup(); return true; }
    }
  }
  return false;
}
"""


def test_world_reach_on_the_maps(open_map, herault, herault_scores, tmp_path):
    from browser_support import screenshot

    from proximity import maps

    maps.build_maps(herault, herault_scores, out=tmp_path, communes=["34032"])
    row = herault_scores.municipalities.loc["34032"]
    n, c = round(row["reach_destinations"]), round(row["reach_countries"])
    page_map = open_map(tmp_path / "communes" / "34032.html", root=tmp_path)
    card = page_map.page.locator(".prox-card").inner_text()
    assert f"From here within 90 min: {n} direct destinations in {c} countries (airline routes of 2014)" in card
    assert "Beziers-Vias Airport (BZR): " in card and ", 9 destinations" in card
    page_map.assert_clean()

    overview = open_map(tmp_path / "overview.html", root=tmp_path)
    page = overview.page
    assert "World reach" in page.locator(".leaflet-control-layers").inner_text()
    assert "OpenFlights (routes of 2014)" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.evaluate(OPEN_AIRPORT_POPUP, "Montpellier-Med")
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "20 destinations in 7 countries" in popup
    assert "France: AJA BSL CDG LIL LYS NTE ORY SXB" in popup and "Morocco: CMN FEZ NDR" in popup
    screenshot(overview, "world_reach_airport_popup")
    overview.assert_clean()


def test_foreign_is_relative_to_the_home_country(real_data):
    # a French firm flying from Geneva: Paris is foreign to the airport, not to the firm
    od = pd.DataFrame({"origin_id": ["o"], "destination_id": ["airport:GVA"], "minutes": [50.0]})
    routes = pd.DataFrame(
        {
            "gateway_id": ["airport:GVA"] * 4,
            "destination": ["CDG", "ORY", "LHR", "ZRH"],
            "destination_country": ["France", "France", "United Kingdom", "Switzerland"],
            "foreign": [True, True, True, False],
        }
    )
    decay = acc.exponential()
    own = acc.world_reach(od, routes, max_minutes=90, decay=decay)
    home = acc.world_reach(od, routes, max_minutes=90, decay=decay, home_country="France")
    assert own.loc["o", "reach_foreign_destinations"] == 3.0  # CDG ORY LHR
    assert home.loc["o", "reach_foreign_destinations"] == 2.0  # LHR and ZRH
    assert home.loc["o", "reach_countries"] == 3.0
    gva = pd.DataFrame({"kind": ["airport"], "iata": ["GVA"], "icao": ["LSGG"]}, index=["airport:LSGG"])
    d = air_routes.airport_destinations(gva)
    r = acc.world_reach(od.assign(destination_id="airport:LSGG"), d, max_minutes=90, decay=decay, home_country="France")
    n_france = int((d["destination_country"] == "France").sum())
    assert n_france > 0 and r.loc["o", "reach_destinations"] == len(d) > 50
    assert r.loc["o", "reach_foreign_destinations"] == len(d) - n_france


def _world_reach_long(od, routes, *, max_minutes, decay, origins=None, home_country=None):
    """The definitions of world_reach written as a join of the trips with every route (a long table, as it was)."""
    r = routes[["gateway_id", "destination", "destination_country"]].copy()
    r["destination_country"] = r["destination_country"].fillna("").astype(str)
    if home_country is not None:
        r["foreign"] = (r["destination_country"] != "") & (r["destination_country"] != home_country)
    else:
        r["foreign"] = routes["foreign"].fillna(False).astype(bool) if "foreign" in routes.columns else False
    r = r.drop_duplicates(["gateway_id", "destination"])
    trips = od[np.isfinite(od["minutes"]) & od["destination_id"].isin(set(r["gateway_id"]))]
    index = pd.Index(origins if origins is not None else od["origin_id"].unique(), name="origin_id")
    trips = trips[trips["origin_id"].isin(index)]
    rows = trips.merge(r, left_on="destination_id", right_on="gateway_id")
    within = rows[rows["minutes"] <= max_minutes]
    out = pd.DataFrame(0.0, index=index, columns=list(acc.WORLD_REACH_COLUMNS))
    out["reach_airports"] = within.groupby("origin_id")["gateway_id"].nunique().reindex(index).fillna(0.0)
    out["reach_destinations"] = within.groupby("origin_id")["destination"].nunique().reindex(index).fillna(0.0)
    known = within[within["destination_country"] != ""]
    out["reach_countries"] = known.groupby("origin_id")["destination_country"].nunique().reindex(index).fillna(0.0)
    far = within[within["foreign"]]
    out["reach_foreign_destinations"] = far.groupby("origin_id")["destination"].nunique().reindex(index).fillna(0.0)
    rows = rows.assign(w=decay(rows["minutes"].to_numpy(dtype=float)))
    best = rows.groupby(["origin_id", "destination"])["w"].max().groupby(level="origin_id").sum()
    out["reach_destinations_gravity"] = best.reindex(index).fillna(0.0)
    return out.astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("home", [None, "FR"])
def test_world_reach_equals_the_long_join_definition(seed, home):
    """Distinct sets of airports, shared and foreign destinations, unknown countries, trips beyond the horizon,
    unreachable pairs, airports without routes and routes of airports nobody reaches."""
    rng = np.random.default_rng(seed)
    airports = [f"airport:{i}" for i in range(9)]
    dests = [f"D{i}" for i in range(60)]
    country = {d: rng.choice(["FR", "UK", "IT", "ES", ""]) for d in dests}
    rows = [(a, d) for a in airports[:8] for d in rng.choice(dests, size=rng.integers(1, 25), replace=False)]
    routes = pd.DataFrame(rows, columns=["gateway_id", "destination"])
    routes["destination_country"] = routes["destination"].map(country).replace("", None)
    routes["foreign"] = rng.random(len(routes)) < 0.5
    routes = pd.concat([routes, routes.head(3)])  # repeated routes count once
    n_o = 300
    od = pd.DataFrame(
        [(f"o{i}", a, float(rng.uniform(0, 200))) for i in range(n_o) for a in airports if rng.random() < 0.35],
        columns=["origin_id", "destination_id", "minutes"],
    )
    od.loc[od.sample(frac=0.1, random_state=seed).index, "minutes"] = np.inf
    decay = acc.exponential(half_life_minutes=45)
    origins = [f"o{i}" for i in range(n_o + 5)]  # five without trips
    got = acc.world_reach(od, routes, max_minutes=90, decay=decay, origins=origins, home_country=home)
    want = _world_reach_long(od, routes, max_minutes=90, decay=decay, origins=origins, home_country=home)
    assert list(got.index) == origins and got.notna().all().all()
    assert got["reach_destinations"].max() > 20 and (got["reach_airports"] >= 2).sum() > 50  # not a trivial case
    pd.testing.assert_frame_equal(got, want, rtol=1e-12, check_names=False)
