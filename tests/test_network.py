"""Road networks: readers, the Travel Mapping skeleton, merging, speeds, cache, plausibility.

One module-scoped fixture builds the default Hérault network once into a temporary cache
folder, for the plausibility tests (integration: it asks for ``real_data``), and checks
that it comes back whole from the array cache. The other cache tests (corrupt, stale,
unreadable) run ``build_network`` on a small network (``small``: one Montpellier OSM file
cut to 4 x 3 km, the skeleton cut to 10 minutes around it), so that a rebuild costs
seconds, not a full Hérault build.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from proximity import datasets, network, sources
from proximity.errors import CacheWarning, CRSError, DataFileError, InputError, NetworkError

OSM_KEYS = ["osm_montpellier_4bcbf1", "osm_montpellier_7c15ab", "osm_montpellier_7e71de"]
COMEDIE = (43.6086, 3.8797)  # (lat, lon)
AIRPORT = (43.5762, 3.96301)  # Montpellier-Méditerranée, aerodrome reference point
SETE_PORT = (43.398, 3.705)  # commercial port of Sète
BEZIERS = (43.3442, 3.2158)
# documented snapping distances of commune representative points to the default network
COMMUNE_SNAP_MAX_M = 4500.0
COMMUNE_SNAP_P95_M = 1300.0


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory, real_data):
    folder = tmp_path_factory.mktemp("network-cache")
    stages: list[str] = []

    def progress(it):
        for s in it:
            stages.append(s)
            yield s

    G = network.build_network("herault", cache_dir=folder, progress=progress)
    return G, folder, stages


@pytest.fixture(scope="module")
def G(built):
    return built[0]


@pytest.fixture(scope="module")
def router(G):
    csr = network.graph_to_csr(G, crs="EPSG:2154")
    tree = cKDTree(np.column_stack([csr.x, csr.y]))
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)

    def snap(lat: float, lon: float) -> tuple[int, float]:
        d, i = tree.query(tr.transform(lon, lat))
        return int(i), float(d)

    def minutes(origin: tuple[float, float], destination: tuple[float, float]) -> float:
        """Door-to-door drive time by the engine: points snapped onto edges, legs at the access speed."""
        from proximity import traveltime

        return float(traveltime.route_latlon(csr, origin, destination).minutes)

    return csr, snap, minutes


def _wpt(folder: Path, system: str, name: str, points: list[tuple[str, float, float]]) -> None:
    d = folder / system
    d.mkdir(parents=True, exist_ok=True)
    lines = [f"{lab} http://www.openstreetmap.org/?lat={lat:.6f}&lon={lon:.6f}" for lab, lat, lon in points]
    (d / f"{name}.wpt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def tm_folder(tmp_path):
    """A tiny Travel Mapping folder: a motorway and two D-roads sharing one junction."""
    _wpt(tmp_path, "fraa", "fraocc.a009", [("35", 43.30, 3.20), ("+X1", 43.30, 3.25), ("36", 43.30, 3.30)])
    # D613 shares the A9's exit 35 position exactly; D64 passes 500 m north of exit 36
    _wpt(tmp_path, "fraoccd34", "fraocc.d061334", [("A9(35)", 43.30, 3.20), ("D64", 43.32, 3.20)])
    _wpt(tmp_path, "fraoccd34", "fraocc.d006434", [("D613", 43.32, 3.20), ("A9(36)", 43.3045, 3.30)])
    return tmp_path


TINY_SYSTEMS = ("fraa", "fraoccd34")


# --- the default network -------------------------------------------------------------------


def test_default_network_is_one_strongly_connected_graph(G, built):
    s = network.network_summary(G)
    assert s["strongly_connected"] is True
    # Hérault and 120 min of driving around it (35,266 nodes, 84,330 edges when written)
    assert 32_000 < s["nodes"] < 39_000 and 76_000 < s["edges"] < 93_000
    # the city network and the skeleton are both there, joined by connectors
    assert 550 < s["km_by_source"]["osm"] < 700
    assert 46_000 < s["km_by_source"]["travelmapping"] < 56_000  # the buffer (5,500-6,500 in Hérault alone)
    assert s["connector_edges"] > 50 and s["km_by_source"]["connector"] > 0
    assert 1_800 < s["km_by_class"]["motorway"] < 2_200  # A9, A75, A61, A54, A7... (600-800 in Hérault)
    assert s["dropped_skeleton_segments"] > 50  # skeleton duplicates of city roads
    # what was left out is recorded and really absent
    dropped = G.graph["dropped_nodes"]
    assert 50 < len(dropped) < 600 and s["dropped_nodes"] == len(dropped)
    assert not any(n in G for n in dropped)
    assert built[2] == ["skeleton", "detailed", "merge", "cache"]
    assert G.graph["crs"] == "EPSG:4326" and G.graph["from_cache"] is False


def test_node_ids_do_not_collide_and_keep_their_source(G):
    off = G.graph["skeleton_id_offset"]
    assert off >= network.SKELETON_ID_OFFSET
    src = {n: d["source"] for n, d in G.nodes(data=True)}
    assert all((n >= off) == (s == "travelmapping") for n, s in src.items())
    assert sum(s == "osm" for s in src.values()) > 5_000
    # OSM node tags survive: motorway junctions of the A709 (refs 30, 31, 32)
    refs = {d.get("ref") for n, d in G.nodes(data=True) if d.get("highway") == "motorway_junction" and n < off}
    assert {"30", "31", "32"} <= refs


def test_every_edge_is_timed_and_skeleton_edges_carry_the_detour(G):
    edges = [d for _, _, d in G.edges(data=True)]
    assert all(d["travel_time"] > 0 and d["length"] > 0 for d in edges)
    tm = [d for d in edges if d["source"] == "travelmapping"]
    length, straight, factor, secs, kmh = (
        np.array([d[k] for d in tm]) for k in ("length", "straight_length", "detour_factor", "travel_time", "speed_kph")
    )
    np.testing.assert_allclose(length, straight * factor, rtol=1e-9)
    np.testing.assert_allclose(secs, length / (kmh / 3.6), rtol=1e-9)
    assert all(
        d["detour_factor"] == network.DETOUR_FACTOR.get(d["highway"], network.DETOUR_FACTOR["motorway"]) for d in tm
    )
    # densified in Hérault: no skeleton piece but motorways and exit links within 4 km of the
    # département is longer than 500 m (straight); beyond, in the buffer, pieces stay long
    import shapely

    outline = gpd.read_file(datasets.path("departement_outline")).to_crs("EPSG:2154").union_all()
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    ids = list(G.nodes)
    x, y = tr.transform(np.array([G.nodes[n]["x"] for n in ids]), np.array([G.nodes[n]["y"] for n in ids]))
    near = dict(zip(ids, shapely.dwithin(outline, shapely.points(x, y), 4_000).tolist(), strict=True))
    pieces = [
        (d["straight_length"], near[u] and near[v])
        for u, v, d in G.edges(data=True)
        if d["source"] == "travelmapping" and d["highway"] not in ("motorway", "motorway_link")
    ]
    assert 400 < max(m for m, inside in pieces if inside) <= network.DENSIFY_M + 1e-6
    assert max(m for m, inside in pieces if not inside) > 5_000


def test_every_commune_has_a_node_nearby(router):
    _, snap, _ = router
    communes = gpd.read_file(datasets.path("communes_polygons")).to_crs("EPSG:4326")
    pts = communes.geometry.representative_point()
    dist = np.array([snap(p.y, p.x)[1] for p in pts])
    assert len(dist) == 343
    assert dist.max() <= COMMUNE_SNAP_MAX_M
    assert np.percentile(dist, 95) <= COMMUNE_SNAP_P95_M
    assert np.median(dist) < 500


def test_access_mask_excludes_motorway_only_nodes(G, router):
    csr = router[0]
    mask = network.access_node_mask(G)
    assert mask.shape == csr.node_ids.shape
    blocked = set(csr.node_ids[~mask].tolist())
    assert 50 < len(blocked) < 1_000
    for n in list(blocked)[:200]:
        assert {d["highway"] for _, _, d in G.edges(n, data=True)} <= {"motorway", "motorway_link", "trunk_link"}
    # an exit that is also a waypoint of the crossing road stays snappable, shaping points do not
    exits = [n for n, d in G.nodes(data=True) if d.get("tm_label", "").startswith("A9:33;D600")]
    hidden = [n for n, d in G.nodes(data=True) if d.get("tm_label", "") == "A9:X97"]
    idx = {n: i for i, n in enumerate(csr.node_ids)}
    assert mask[idx[exits[0]]] and not mask[idx[hidden[0]]]


def test_gateways_snap_close_to_the_network(router):
    _, snap, _ = router
    assert snap(*AIRPORT)[1] < 2000
    assert snap(*SETE_PORT)[1] < 2000
    assert snap(*COMEDIE)[1] < 300


@pytest.mark.parametrize(
    ("destination", "low", "high"),
    [(AIRPORT, 12, 25), (SETE_PORT, 25, 45), (BEZIERS, 45, 70)],
    ids=["airport", "sete-port", "beziers"],
)
def test_drive_times_from_the_comedie_are_plausible(router, destination, low, high):
    _, _, minutes = router
    assert low <= minutes(COMEDIE, destination) <= high


# the table of issue 10 §5 (bands in minutes, typical off-peak car); the gateways beyond
# the border (Nîmes, Millau, Narbonne, Perpignan) are on the network's 120-minute buffer
@pytest.mark.parametrize(
    ("origin", "destination", "low", "high"),
    [
        (COMEDIE, (43.4050, 3.6980), 25, 45),
        (COMEDIE, (43.8367, 4.3601), 40, 60),
        (COMEDIE, (44.0983, 3.0780), 65, 100),
        (BEZIERS, (43.1839, 3.0042), 22, 42),
        ((43.4028, 3.6967), (43.4483, 3.7553), 10, 20),
        ((43.4892, 2.7656), BEZIERS, 45, 65),
        ((43.9339, 3.7083), (43.7903, 3.7308), 17, 28),
        ((43.3567, 3.5283), (43.4253, 3.6050), 10, 20),
        # a known miss: 14.9 min since points snap onto edges (speeds were calibrated with
        # node snapping); recalibration is open work, reported in issue 10's note
        pytest.param(
            COMEDIE, (43.5281, 3.9275), 15, 28, marks=pytest.mark.xfail(reason="14.9 min, just under the band")
        ),
        (COMEDIE, (42.6986, 2.8956), 85, 115),
    ],
    ids=[
        "sete",
        "nimes",
        "millau",
        "beziers-narbonne",
        "sete-frontignan",
        "st-pons-beziers",
        "ganges-st-martin",
        "marseillan-meze",
        "palavas",
        "perpignan",
    ],
)
def test_issue_table_drive_times(router, origin, destination, low, high):
    _, _, minutes = router
    assert low <= minutes(origin, destination) <= high


def test_csr_shortest_path_matches_networkx(G, router):
    csr, snap, _ = router
    i, _ = snap(*COMEDIE)
    j, _ = snap(*SETE_PORT)
    ours = dijkstra(csr.time_s, indices=i)[j]
    ref = nx.shortest_path_length(G, csr.node_ids[i], csr.node_ids[j], weight="travel_time")
    assert ours == pytest.approx(ref, rel=1e-9)


# --- cache -----------------------------------------------------------------------------------

SMALL_BOX = (3.86, 43.595, 3.90, 43.625)  # lon0, lat0, lon1, lat1: streets around the Comédie


def _same_graph(G: nx.MultiDiGraph, H: nx.MultiDiGraph, *, pred_order: bool = False) -> None:
    """Same nodes, edges, keys and attributes, in the same order (geometries compared exactly).

    The order of each node's predecessors (``G.pred[n]``: the order in which its in-edges
    were first added) is not part of a saved graph; ``pred_order`` compares it too.
    """
    import shapely

    assert list(G.nodes) == list(H.nodes)
    assert list(G.edges(keys=True)) == list(H.edges(keys=True))
    assert all(set(G.pred[n]) == set(H.pred[n]) for n in G)
    if pred_order:
        assert all(list(G.pred[n]) == list(H.pred[n]) for n in G)
    pairs = [
        *zip(G.nodes.values(), H.nodes.values(), strict=True),
        *zip(G.edges.values(), H.edges.values(), strict=True),
    ]
    for a, b in pairs:
        assert a.keys() == b.keys()
        for k, v in a.items():
            if isinstance(v, shapely.Geometry):
                assert shapely.equals_exact(v, b[k], 0.0)
            else:
                # numpy scalars (np.float64 lengths from osmnx) come back as Python numbers
                assert v == b[k] and (type(v) is type(b[k]) or isinstance(v, (float, np.generic))), k


@pytest.fixture(scope="module")
def small(built, tmp_path_factory):
    """A small network for the cache tests: the OSM ways of one Montpellier file inside
    SMALL_BOX, merged with the national skeleton cut to the box plus 10 minutes. It
    reuses the skeleton cached by ``built``; a build takes a few seconds."""
    els = sources.read_osm_elements(datasets.path("osm_montpellier_4bcbf1"))
    x0, y0, x1, y1 = SMALL_BOX
    inside = {e["id"] for e in els if e["type"] == "node" and x0 <= e["lon"] <= x1 and y0 <= e["lat"] <= y1}
    ways = [e for e in els if e["type"] == "way" and set(e["nodes"]) <= inside]
    used = {n for w in ways for n in w["nodes"]}
    osm = sources.write_osm_xml(
        [e for e in els if e["type"] == "node" and e["id"] in used] + ways,
        tmp_path_factory.mktemp("small-osm") / "comedie.osm",
    )
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    area = shapely.box(*tr.transform(x0, y0), *tr.transform(x1, y1))
    kw = {"area_2154": area, "buffer_minutes": 10, "osm": osm, "cache_dir": built[1]}

    def build(**more):
        return network.build_network("comedie-box", **{**kw, **more})

    return build, built[1] / "network-comedie-box.npz", kw


def test_second_build_loads_the_same_network_from_the_cache(G, built):
    # the real-data check: Hérault's merged network comes back whole from the array cache
    folder = built[1]
    H = network.build_network("herault", cache_dir=folder)
    assert H.graph["from_cache"] is True
    assert Path(H.graph["cache_path"]) == folder / "network-herault.npz"
    assert not (folder / "network-herault.graphml").exists()
    _same_graph(G, H)
    assert {k: v for k, v in H.graph.items() if k not in ("cache_path", "from_cache")} == {
        k: v for k, v in G.graph.items() if k != "from_cache"
    }
    a, b = network.graph_to_csr(G), network.graph_to_csr(H)
    assert np.array_equal(a.node_ids, b.node_ids) and np.array_equal(a.snappable, b.snappable)
    assert abs(a.time_s - b.time_s).max() == 0.0
    side = json.loads((folder / "network-herault.json").read_text())
    assert side["key"] == network.network_cache_key("herault")
    assert (side["nodes"], side["edges"]) == (G.number_of_nodes(), G.number_of_edges())


def test_speeds_apply_after_the_cache(built):
    H = network.build_network("herault", cache_dir=built[1], speeds_kmh={"motorway": 100})
    assert H.graph["from_cache"] is True
    mw = [
        d["speed_kph"]
        for _, _, d in H.edges(data=True)
        if d["highway"] == "motorway" and d["source"] == "travelmapping"
    ]
    assert set(mw) == {100.0}


def test_small_network_cache_round_trip(small):
    build, npz, kw = small
    npz.with_suffix(".graphml").write_text("<graphml/>")  # the cache of earlier versions
    first = build(cache=True)
    assert first.graph["from_cache"] is False and npz.is_file()
    assert not npz.with_suffix(".graphml").exists()  # replaced by the array file
    s = network.network_summary(first)
    assert s["km_by_source"]["osm"] > 10 and s["connector_edges"] > 0
    assert 500 < s["nodes"] < 20_000
    again = build()
    assert again.graph["from_cache"] is True and Path(again.graph["cache_path"]) == npz
    _same_graph(first, again)
    side = json.loads(npz.with_suffix(".json").read_text())
    assert side["key"] == network.network_cache_key("comedie-box", **{k: v for k, v in kw.items() if k != "cache_dir"})
    assert side["npz_sha256"] == datasets.sha256_file(npz)


def test_corrupt_cache_warns_and_is_rebuilt(small):
    build, npz, _ = small
    build()
    with npz.open("r+b") as f:  # flip bytes in the middle of the file
        f.seek(npz.stat().st_size // 2)
        f.write(b"#corrupt#")
    with pytest.warns(CacheWarning, match="is corrupt"):
        H = build()
    assert H.graph["from_cache"] is False
    assert build().graph["from_cache"] is True  # rewritten


def test_unreadable_cache_with_a_matching_sha_warns_and_is_rebuilt(small):
    build, npz, _ = small
    build()
    npz.write_bytes(b"PK\x03\x04 not a zip archive")
    side_path = npz.with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["npz_sha256"] = datasets.sha256_file(npz)
    side_path.write_text(json.dumps(side))
    with pytest.warns(CacheWarning, match="is unreadable"):
        assert build().graph["from_cache"] is False
    assert build().graph["from_cache"] is True


def test_stale_cache_warns_and_is_rebuilt(small):
    build, npz, _ = small
    build()
    side_path = npz.with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["key"] = "0" * 64
    side_path.write_text(json.dumps(side))
    with pytest.warns(CacheWarning, match="is stale"):
        H = build()
    assert H.graph["from_cache"] is False
    side_path.write_text("{not json")
    with pytest.warns(CacheWarning, match="unreadable sidecar"):
        build()
    assert build().graph["from_cache"] is True


def test_cache_key_follows_inputs_and_parameters_not_speeds(real_data):
    base = network.network_cache_key("herault")
    assert len(base) == 64 and base == network.network_cache_key("herault")
    assert network.network_cache_key("herault", snap_m=300) != base
    assert network.network_cache_key("herault", detour_factor=1.3) != base
    assert network.network_cache_key("herault", detour_factor={"motorway": 1.1}) != base
    assert network.network_cache_key("herault", detour_factor=dict(network.DETOUR_FACTOR)) == base


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PROXIMITY_CACHE_DIR", str(tmp_path))
    assert network.default_cache_dir() == tmp_path
    monkeypatch.delenv("PROXIMITY_CACHE_DIR")
    assert network.default_cache_dir() == datasets.data_dir().parent / "cache"


# --- OSM files ---------------------------------------------------------------------------------


def test_overpass_json_to_osm_xml_round_trips_counts(tmp_path, real_data):
    paths = [datasets.path(k) for k in OSM_KEYS]
    out = tmp_path / "mtp.osm"
    counts = sources.overpass_json_to_osm_xml(paths, out)
    assert counts == {"nodes": 33_238, "ways": 6_009}
    back = sources.read_osm_elements(out)
    assert sum(e["type"] == "node" for e in back) == 33_238
    assert sum(e["type"] == "way" for e in back) == 6_009
    by_id = {e["id"]: e for e in back if e["type"] == "node"}
    assert by_id[653238]["tags"]["highway"] == "motorway_junction" and by_id[653238]["tags"]["ref"] == "30"
    first = sources.read_osm_elements(paths[0])
    way = next(e for e in first if e["type"] == "way")
    assert next(e for e in back if e["type"] == "way" and e["id"] == way["id"]) == way
    # the bz2 variant reads the same
    counts_bz2 = sources.overpass_json_to_osm_xml(paths, tmp_path / "mtp.osm.bz2")
    assert counts_bz2 == counts and len(sources.read_osm_elements(tmp_path / "mtp.osm.bz2")) == len(back)


def test_graph_from_osm_files_matches_the_documented_counts(real_data):
    D = network.graph_from_osm_files([datasets.path(k) for k in OSM_KEYS])
    assert (D.number_of_nodes(), D.number_of_edges()) == (5_240, 11_116)
    junctions = {d.get("ref") for _, d in D.nodes(data=True) if d.get("highway") == "motorway_junction"}
    assert junctions == {"30", "31", "32"}
    assert all(d["source"] == "osm" for _, _, d in D.edges(data=True))


def test_graph_from_osm_files_drops_non_drivable_ways(tmp_path):
    doc = {
        "elements": [
            {"type": "node", "id": 1, "lat": 43.60, "lon": 3.87},
            {"type": "node", "id": 2, "lat": 43.61, "lon": 3.87},
            {"type": "node", "id": 3, "lat": 43.61, "lon": 3.88},
            {"type": "way", "id": 10, "nodes": [1, 2], "tags": {"highway": "residential"}},
            {"type": "way", "id": 11, "nodes": [2, 3], "tags": {"highway": "footway"}},
        ]
    }
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(doc))
    D = network.graph_from_osm_files(p)
    assert set(D.nodes) == {1, 2} and D.number_of_edges() == 2
    assert D.edges[1, 2, 0]["length"] == pytest.approx(1112, abs=2)


def test_osm_errors_name_the_problem(tmp_path):
    with pytest.raises(DataFileError, match="do not exist"):
        network.graph_from_osm_files(tmp_path / "missing.osm")
    with pytest.raises(InputError, match="paths is empty"):
        network.graph_from_osm_files([])
    foot = tmp_path / "foot.json"
    foot.write_text(
        json.dumps(
            {
                "elements": [
                    {"type": "node", "id": 1, "lat": 43.6, "lon": 3.8},
                    {"type": "node", "id": 2, "lat": 43.7, "lon": 3.8},
                    {"type": "way", "id": 5, "nodes": [1, 2], "tags": {"highway": "footway"}},
                ]
            }
        )
    )
    with pytest.raises(NetworkError, match="no drivable way"):
        network.graph_from_osm_files(foot)
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(DataFileError, match="cannot read OSM file"):
        sources.read_osm_elements(bad)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(DataFileError, match="not an Overpass API JSON"):
        sources.read_osm_elements(tmp_path / "list.json")
    (tmp_path / "broken.osm").write_text("<osm><node id='1'")
    with pytest.raises(DataFileError, match="cannot read OSM file"):
        sources.read_osm_elements(tmp_path / "broken.osm")


def test_graph_from_place_offline_raises_network_error(monkeypatch):
    import osmnx as ox
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'nominatim.openstreetmap.org'")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    with pytest.raises(NetworkError, match="cannot download the road network of 'Sète, France'"):
        network.graph_from_place("Sète, France")
    with pytest.raises(InputError, match="always builds the 'drive' network"):
        network.graph_from_place("Sète, France", network_type="walk")


# --- Travel Mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "cls"),
    [
        ("A9", "motorway"),
        ("A709", "motorway"),
        ("N113", "trunk"),
        ("D613", "primary"),
        ("D986", "primary"),
        ("M986", "primary"),
        ("D65", "secondary"),
        ("M2132", "secondary"),
        ("D1E1", "tertiary"),
        ("D986D2", "tertiary"),
        ("D612A", "tertiary"),
    ],
)
def test_travelmapping_road_class(route, cls):
    assert sources.travelmapping_road_class(route) == cls


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("fraocc.a009", ("A9", "")),
        ("fraocc.n088men", ("N88", "men")),
        ("fraocc.d0001e1034", ("D1E10", "")),
        ("fraocc.d0155e234eti", ("D155E2", "eti")),
        ("fraocc.m0986d234", ("M986D2", "")),
        ("fraocc.d2017e934", ("D2017E9", "")),
        ("fraocc.d0612a34", ("D612A", "")),
    ],
)
def test_travelmapping_route_names(root, expected):
    assert sources.travelmapping_route_name(root) == expected


def test_travelmapping_name_errors():
    with pytest.raises(InputError, match="not a French A, N, D or M route number"):
        sources.travelmapping_road_class("E80")
    with pytest.raises(DataFileError, match="has no route number in its name"):
        sources.travelmapping_route_name("usaca.i005")


def test_skeleton_from_a_tiny_travelmapping_folder(tm_folder):
    S = network.graph_from_travelmapping(
        tm_folder, systems=TINY_SYSTEMS, detour_factor={"motorway": 1.05, "secondary": 1.2, "primary": 1.2}
    )
    assert S.graph["crs"] == "EPSG:4326"
    # 5 distinct waypoint positions: A9 3, D613 +1 (its start is exit 35), D64 +1 (starts at D613's end)
    tm = [n for n, d in S.nodes(data=True) if d["tm_label"]]
    assert len(tm) == 5
    junction = next(n for n, d in S.nodes(data=True) if "A9:35" in d["tm_label"])
    assert S.nodes[junction]["tm_label"] == "A9:35;D613:A9(35)"
    assert S.nodes[junction]["highway"] == "motorway_junction" and S.nodes[junction]["ref"] == "35"
    assert all(S.has_edge(v, u) for u, v in S.edges())
    # the motorway is one piece per waypoint pair; D613 (2.22 km) is cut into 5 pieces
    mw = [d for _, _, d in S.edges(data=True) if d["highway"] == "motorway"]
    assert len(mw) == 4
    assert sum(d["straight_length"] for d in mw) / 2 == pytest.approx(8_093, rel=2e-3)
    assert all(d["length"] == pytest.approx(d["straight_length"] * 1.05) for d in mw)
    d613 = [d for _, _, d in S.edges(data=True) if d["ref"] == "D613"]
    assert len(d613) == 10 and all(d["straight_length"] <= 500 for d in d613)
    assert sum(d["length"] for d in d613) / 2 == pytest.approx(2_224 * 1.2, rel=2e-3)
    # exit 36 shares no waypoint with D64: a motorway_link joins it to D64's "A9(36)" waypoint
    links = [(u, v, d) for u, v, d in S.edges(data=True) if d["highway"] == "motorway_link"]
    assert len(links) == 2 and S.graph["exit_links"] == 1
    u, v, d = links[0]
    assert {S.nodes[u]["tm_label"], S.nodes[v]["tm_label"]} == {"A9:36", "D64:A9(36)"}
    assert d["straight_length"] == pytest.approx(500, abs=2)
    assert nx.is_strongly_connected(S)


def test_skeleton_bounds_and_errors(tm_folder, tmp_path):
    box = (3.19, 43.29, 3.21, 43.31)
    S = network.graph_from_travelmapping(tm_folder, systems=TINY_SYSTEMS, bounds_wgs84=box, densify_m=None)
    assert {d["ref"] for _, _, d in S.edges(data=True)} == {"A9", "D613"}  # routes touching the box, whole
    assert S.number_of_nodes() == 4
    with pytest.raises(NetworkError, match="no Travel Mapping route touches"):
        network.graph_from_travelmapping(tm_folder, systems=TINY_SYSTEMS, bounds_wgs84=(0.0, 0.0, 0.1, 0.1))
    with pytest.raises(DataFileError, match=r"has no \.wpt file"):
        network.graph_from_travelmapping(tm_folder, systems=["fran"])
    with pytest.raises(DataFileError, match="does not exist"):
        network.graph_from_travelmapping(tmp_path / "nowhere")
    with pytest.raises(InputError, match="detour_factor must be >= 1"):
        network.graph_from_travelmapping(tm_folder, systems=TINY_SYSTEMS, detour_factor=0.9)
    with pytest.raises(InputError, match="unknown road class"):
        network.graph_from_travelmapping(tm_folder, systems=TINY_SYSTEMS, detour_factor={"motorwya": 1.1})
    with pytest.raises(InputError, match="densify_m"):
        network.graph_from_travelmapping(tm_folder, systems=TINY_SYSTEMS, densify_m=0)


# --- merging ------------------------------------------------------------------------------------------


def _grid(n: int = 5, step_deg: float = 0.002, lat0: float = 43.60, lon0: float = 3.87) -> nx.MultiDiGraph:
    """A two-way residential grid of n x n nodes (~160 x 220 m blocks), ids 1.."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(n):
        for j in range(n):
            G.add_node(1 + i * n + j, x=lon0 + j * step_deg, y=lat0 + i * step_deg)
    for i in range(n):
        for j in range(n):
            a = 1 + i * n + j
            for b in ([a + 1] if j < n - 1 else []) + ([a + n] if i < n - 1 else []):
                for u, v in ((a, b), (b, a)):
                    du = G.nodes[u]
                    dv = G.nodes[v]
                    m = float(network._great_circle_m(du["y"], du["x"], dv["y"], dv["x"]))
                    G.add_edge(u, v, length=m, highway="residential", oneway=False)
    return G


def test_merge_drops_duplicates_adds_connectors_and_records_drops():
    D = _grid()
    # an island in the detailed graph: one-way pair that cannot get back
    D.add_node(100, x=3.90, y=43.70)
    D.add_node(101, x=3.901, y=43.70)
    D.add_edge(100, 101, length=80.0, highway="residential")
    S = nx.MultiDiGraph(crs="EPSG:4326")
    # a skeleton road along the grid's middle row (a duplicate), continuing 3 km east
    S.add_node(1, x=3.870, y=43.604, source="travelmapping")
    S.add_node(2, x=3.878, y=43.604, source="travelmapping")
    S.add_node(3, x=3.915)  # no source: the merge calls it "skeleton"
    S.nodes[3]["y"] = 43.604
    for u, v in ((1, 2), (2, 3)):
        m = float(network._great_circle_m(43.604, S.nodes[u]["x"], 43.604, S.nodes[v]["x"]))
        for a, b in ((u, v), (v, u)):
            S.add_edge(
                a, b, length=m * 1.2, straight_length=m, detour_factor=1.2, highway="secondary", source="travelmapping"
            )
    M = network.merge_networks(D, S, snap_m=250, cover_m=150)
    assert nx.is_strongly_connected(M)
    assert M.graph["dropped_skeleton_segments"] == 1  # 1-2 lies on the grid
    assert M.graph["dropped_nodes"] == [100, 101]
    off = M.graph["skeleton_id_offset"]
    assert off == network.SKELETON_ID_OFFSET
    # 2-3 runs out of the grid: cut where it leaves it (a new node ~100 m east of grid node
    # 15, id off + 3); skeleton nodes 1 and 2 (ids off, off + 1) are left without edges
    assert M.graph["cut_skeleton_segments"] == 1
    skel = {n: d["source"] for n, d in M.nodes(data=True) if n >= off}
    assert skel == {off + 2: "skeleton", off + 3: "travelmapping"}
    cut = M.nodes[off + 3]
    assert cut["y"] == pytest.approx(43.604) and 3.8785 < cut["x"] < 3.8805
    conn = [(u, v, d["length"]) for u, v, d in M.edges(data=True) if d["highway"] == "connector"]
    assert {(u, v) for u, v, _ in conn} == {(off + 3, 15), (15, off + 3)}
    assert conn[0][2] == pytest.approx(100, abs=15)
    assert M.graph["connector_edges"] == 2
    # the kept piece keeps its detour factor
    piece = M.edges[off + 3, off + 2, 0]
    assert piece["length"] == pytest.approx(piece["straight_length"] * 1.2)
    # the inputs are untouched
    assert 100 in D and set(S.nodes) == {1, 2, 3} and S.number_of_edges() == 4


def test_merge_with_no_skeleton_segment_near_the_detailed_area():
    # a city extract 10 km from the nearest skeleton road: nothing to drop, nothing to join
    D = _grid(3)
    S = _grid(2, lat0=43.69)
    for _, _, d in S.edges(data=True):
        d["highway"] = "primary"
    G = network.merge_networks(D, S, keep="skeleton")
    assert G.graph["dropped_skeleton_segments"] == 0 and G.graph["connector_edges"] == 0
    assert sorted(G.graph["dropped_nodes"]) == sorted(D.nodes)  # the unjoined extract is left out
    assert G.number_of_nodes() == 4 and all(d["source"] == "skeleton" for _, d in G.nodes(data=True))


def test_merge_errors():
    D = _grid(2)
    with pytest.raises(NetworkError, match="the skeleton graph is empty"):
        network.merge_networks(D, nx.MultiDiGraph(crs="EPSG:4326"))
    P = D.copy()
    P.graph["crs"] = "EPSG:2154"
    with pytest.raises(CRSError, match="not EPSG:4326"):
        network.merge_networks(P, D)
    with pytest.raises(InputError, match="snap_m"):
        network.merge_networks(D, _grid(2, lat0=43.7), snap_m=0)


# --- speeds ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("FR:urban", 50.0),
        ("FR:rural", 80.0),
        ("FR:motorway", 130.0),
        ("FR:zone30", 30.0),
        ("fr:walk", 6.0),
        ("walk", 6.0),
        (["50", "30"], 40.0),
        ("90;70", 80.0),
        ("50 km/h", 50.0),
        (110, 110.0),
        ("none", None),
        ("signals", None),
        ("DE:urban", None),
        ("", None),
        (None, None),
        (["none", "70"], 70.0),
        ("0", None),
    ],
)
def test_parse_maxspeed(value, kmh):
    got = network.parse_maxspeed(value)
    assert got == (pytest.approx(kmh) if kmh is not None else None)


def test_add_speeds_uses_class_defaults_and_lower_limits():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_edge(1, 2, length=1000.0, highway="residential")
    G.add_edge(2, 3, length=1000.0, highway="primary", maxspeed="FR:urban")
    G.add_edge(3, 4, length=1000.0, highway="motorway", maxspeed="130")
    G.add_edge(4, 5, length=1000.0, highway="bridleway_to_nowhere")
    G.add_edge(5, 6, length=1000.0, highway=["residential", "secondary"])
    G.add_edge(6, 7, length=1000.0, highway="tertiary", maxspeed=["30", "50"])
    H = network.add_speeds(G)
    kph = {(u, v): d["speed_kph"] for u, v, d in H.edges(data=True)}
    dflt = network.DEFAULT_SPEEDS_KMH
    assert kph == {
        (1, 2): dflt["residential"],
        (2, 3): 50.0,  # the urban limit is below the primary speed
        (3, 4): dflt["motorway"],  # the 130 limit is above the realised motorway speed
        (4, 5): dflt["road"],  # unknown class
        (5, 6): dflt["secondary"],  # the most important of merged classes
        (6, 7): 40.0,
    }
    assert H.edges[1, 2, 0]["travel_time"] == pytest.approx(1000 / (dflt["residential"] / 3.6))
    assert "travel_time" not in G.edges[1, 2, 0]  # input untouched
    H2 = network.add_speeds(G, speeds_kmh={"residential": 20, "primary": 40})
    assert H2.edges[1, 2, 0]["speed_kph"] == 20.0 and H2.edges[2, 3, 0]["speed_kph"] == 40.0
    # French limits and realised speeds: documented ordering of the defaults
    assert dflt["motorway"] < 130 and dflt["primary"] <= 80 and dflt["residential"] <= 30
    assert (
        dflt["motorway"] > dflt["trunk"] > dflt["primary"] > dflt["secondary"] > dflt["tertiary"] > dflt["residential"]
    )


def test_speed_errors():
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_edge(1, 2, length=10.0, highway="residential")
    with pytest.raises(InputError, match=r"unknown road class\(es\) \['motorwya'\]"):
        network.add_speeds(G, speeds_kmh={"motorwya": 100})
    with pytest.raises(InputError, match="positive numbers of km/h"):
        network.add_speeds(G, speeds_kmh={"motorway": -5})
    with pytest.raises(NetworkError, match="has no edges"):
        network.add_speeds(nx.MultiDiGraph())
    G.add_edge(2, 3, highway="residential")
    with pytest.raises(NetworkError, match="no valid 'length'"):
        network.add_speeds(G)
    with pytest.raises(InputError, match="unknown road class"):
        network.build_network("herault", speeds_kmh={"autobahn": 130})
    with pytest.raises(NetworkError, match="no nodes"):
        network.graph_to_csr(nx.MultiDiGraph())


# --- GraphML ------------------------------------------------------------------------------------------------


def test_graphml_round_trip_is_atomic(tmp_path):
    G = network.add_speeds(_grid(3))
    G.nodes[1]["highway"] = "motorway_junction"
    p = network.save_graphml(G, tmp_path / "sub" / "g.graphml")
    assert p.is_file() and not list(p.parent.glob("*.part"))
    H = network.load_graphml(p)
    assert set(H.nodes) == set(G.nodes) and H.number_of_edges() == G.number_of_edges()
    assert H.edges[1, 2, 0]["travel_time"] == pytest.approx(G.edges[1, 2, 0]["travel_time"])
    assert H.nodes[1]["highway"] == "motorway_junction" and isinstance(H.nodes[1]["x"], float)
    with pytest.raises(DataFileError, match="does not exist"):
        network.load_graphml(tmp_path / "none.graphml")
    (tmp_path / "junk.graphml").write_text("<graphml><graph")
    with pytest.raises(DataFileError, match="is unreadable"):
        network.load_graphml(tmp_path / "junk.graphml")


# --- array files ---------------------------------------------------------------------------------


def _mixed_graph() -> nx.MultiDiGraph:
    """A grid whose attributes have every kind an array file stores (osmnx-like values)."""
    G = network.add_speeds(_grid(3))
    G.graph.update(simplified=True, dropped_nodes=[7, 8], detour_factor={"motorway": 1.05}, skip=object())
    G.nodes[1].update(highway="motorway_junction", ref="30", street_count=3)
    G.nodes[2]["name"] = "Place de la Comédie\n(centre)"  # a newline inside a string
    G.add_edge(
        1,
        2,
        key=7,
        length=10.0,
        highway=["residential", "tertiary"],
        osmid=[5, 6],
        oneway=True,
        reversed=[False, True],
        maxspeed=None,
        geometry=shapely.LineString([(3.87, 43.6), (3.8705, 43.6001), (3.872, 43.6)]),
    )
    G.add_edge(2, 1, length=np.float64(10.5), highway="residential", osmid=np.int64(9), lanes="2")
    G.add_node("a", x=3.9, y=43.7)  # an id that is not an integer
    G.add_edge("a", 1, length=1.0)
    return G


def test_network_array_file_round_trips_exactly(tmp_path):
    G = _mixed_graph()
    p = network.save_network(G, tmp_path / "sub" / "g.npz")
    assert p.is_file() and not list(p.parent.glob("*.part*"))
    H = network.load_network(p)
    _same_graph(G, H)
    assert H.edges[1, 2, 7]["geometry"].geom_type == "LineString" and H.edges[1, 2, 7]["osmid"] == [5, 6]
    assert H.nodes[2]["name"] == "Place de la Comédie\n(centre)" and H.edges[1, 2, 7]["maxspeed"] is None
    assert H.graph == {k: v for k, v in G.graph.items() if k != "skip"}  # non-JSON graph attributes are left out
    with np.load(p, allow_pickle=False) as z:  # every array loads without pickle
        assert all(z[k].dtype != object for k in z.files)
    E = network.load_network(network.save_network(nx.MultiDiGraph(crs="EPSG:4326"), tmp_path / "empty.npz"))
    assert E.number_of_nodes() == 0 and E.graph["crs"] == "EPSG:4326"


def test_network_array_file_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        network.load_network(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an npz")
    with pytest.raises(DataFileError, match="is unreadable"):
        network.load_network(tmp_path / "junk.npz")
    np.savez(tmp_path / "pickled.npz", schema=np.array([{"format": 1}], dtype=object))
    with pytest.raises(DataFileError, match=r"is unreadable.*pickle"):
        network.load_network(tmp_path / "pickled.npz")
    G = _grid(2)
    G.nodes[1]["tags"] = {"a", "b"}
    with pytest.raises(InputError, match="attribute 'tags' holds a set value"):
        network.save_network(G, tmp_path / "set.npz")
    assert not (tmp_path / "set.npz").exists()
    G = _grid(2)
    G.edges[1, 2, 0]["ref"] = ("A9", "A75")
    with pytest.raises(InputError, match="attribute 'ref' holds a tuple value"):
        network.save_network(G, tmp_path / "tuple.npz")


def test_bulk_edge_insertion_matches_networkx():
    edges = [(1, 2, None, {"w": 1}), (2, 1, 0, {"w": 2}), (1, 2, None, {"w": 3}), (3, 1, "k", {}), (1, 2, 5, {"w": 4})]
    G, H = nx.MultiDiGraph(), nx.MultiDiGraph()
    G.add_node(2)
    H.add_node(2)
    G.add_edges_from((u, v, k, dict(d)) if k is not None else (u, v, dict(d)) for u, v, k, d in edges)
    network._add_edges(H, ((u, v, k, dict(d)) for u, v, k, d in edges))
    _same_graph(G, H, pred_order=True)
    assert list(H.edges(keys=True)) == [(2, 1, 0), (1, 2, 0), (1, 2, 1), (1, 2, 5), (3, 1, "k")]
    assert H.number_of_edges() == 5 and H.in_degree(1) == 2


def test_access_constants_for_traveltime():
    assert network.ACCESS_SPEED_KMH == 20.0 and network.ACCESS_DETOUR == 1.3
    assert math.isclose(1000 * network.ACCESS_DETOUR / (network.ACCESS_SPEED_KMH / 3.6), 234.0)


@pytest.mark.slow
def test_network_build_without_cache_and_unwritable_cache_folder(tmp_path, real_data):
    # (here, not in test_hostile: that module memoises the territory network for speed, and
    # this test needs a real build)
    import re
    import warnings

    from click.testing import CliRunner

    from proximity.cli import main

    (tmp_path / "afile").write_text("x")
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the CLI prints warnings as one line each
        r = CliRunner().invoke(
            main, ["network", "build"], env={"PROXIMITY_CACHE_DIR": str(tmp_path / "afile" / "cache")}
        )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["strongly_connected"] is True
    assert re.search(
        r"proximity: warning: network cache folder .*afile/cache.* is not writable .*PROXIMITY_CACHE_DIR", r.stderr
    )
    assert re.search(
        r"proximity: warning: skeleton cache folder .*afile/cache/skeleton-.* is not writable .*PROXIMITY_CACHE_DIR",
        r.stderr,
    )
    r = CliRunner().invoke(main, ["network", "build", "--no-cache"], env={"PROXIMITY_CACHE_DIR": str(tmp_path / "c")})
    assert r.exit_code == 0, r.stderr
    assert not (tmp_path / "c").exists()
