"""The national skeleton: Travel Mapping archives, buffer, islands, cache, exits, OSM inputs.

The national skeleton is built once per module into a temporary cache folder (about 20 s);
the closed-form checks use a tiny archive written by the tests.
"""

from __future__ import annotations

import http.server
import io
import json
import math
import tarfile
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyproj
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from proximity import datasets, network, skeleton, traveltime
from proximity.errors import (
    CacheWarning,
    DataFileError,
    InputError,
    NetworkError,
    UnreachableWarning,
)

TO_2154 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
GATEWAYS_BEYOND_HERAULT = {  # (lat, lon)
    "Nîmes": (43.8367, 4.3601),
    "Narbonne": (43.1839, 3.0042),
    "Millau": (44.0983, 3.0780),
    "Perpignan": (42.6986, 2.8956),
    "Toulouse-Blagnac": (43.6291, 1.3638),
}
COMEDIE = (43.6086, 3.8797)


def _xy(lat: float, lon: float) -> tuple[float, float]:
    return TO_2154.transform(lon, lat)


def _box_2154(lon0: float, lat0: float, lon1: float, lat1: float):
    x0, y0 = _xy(lat0, lon0)
    x1, y1 = _xy(lat1, lon1)
    return shapely.box(x0, y0, x1, y1)


@pytest.fixture(scope="module")
def archives(real_data):
    return [datasets.path("travelmapping_fra"), datasets.path("travelmapping_neighbours")]


@pytest.fixture(scope="module")
def national(archives, tmp_path_factory):
    folder = tmp_path_factory.mktemp("skeleton-cache")
    return skeleton.build_skeleton(archives, cache_dir=folder), folder


@pytest.fixture(scope="module")
def sk(national):
    return national[0]


@pytest.fixture(scope="module")
def france_archive(archives):
    return skeleton.read_travelmapping_archive(archives[0])


@pytest.fixture(scope="module")
def herault_area(real_data):
    import geopandas as gpd

    gdf = gpd.read_file(datasets.path("departement_outline")).to_crs("EPSG:2154")
    return shapely.union_all(gdf.geometry.to_numpy())


# --- the reader -------------------------------------------------------------------------------


def test_reader_follows_the_route_lists_and_reads_every_route_file(france_archive, archives):
    tm = france_archive
    r = tm.routes
    with tarfile.open(archives[0]) as tf:
        wpt = [m.name for m in tf.getmembers() if m.name.endswith(".wpt")]
    assert len(wpt) == 39_687
    kept = {n.lower() for n in wpt if n.split("/")[2] not in skeleton.EXCLUDED_SYSTEMS}
    read = {
        f"hwy_data/{reg}/{s}/{root}.wpt".lower()
        for reg, s, root in zip(r["region"], r["system"], r["root"], strict=True)
    }
    # every route file of a system read is found through the lists, but one that no list
    # names (not read, listed); one list row has no file
    assert tm.unlisted == ("hwy_data/FRA-IDF/fraidfd92/fraidf.d000192bou.wpt",)
    assert read | {n.lower() for n in tm.unlisted} == kept and len(r) == 39_559
    assert tm.missing == ("hwy_data/CHE/fragesd6ae/che.d04116ae.wpt",)
    assert len(tm.systems) == 110 and set(r["country"]) == {"FRA"}
    counts = r.groupby("system").size()
    assert counts["fraa"] == 203 and counts["fran"] == 219 and counts["frasf"] == 12 and counts["fracort"] == 18
    # E-roads and tourist routes duplicate other roads: left out
    assert not {"eure", "fratr", "chegts"} & set(r["system"])
    assert len(tm.waypoints) == r["n_points"].sum() == 281_522


def test_reader_parses_dotted_numbers_t_roads_and_named_freeways(france_archive):
    r = france_archive.routes.set_index(["system", "route"])
    assert r.loc[("fracvld28", "D1.3"), "road_class"] == "tertiary"
    assert r.loc[("fracvld28", "D119.6.1"), "road_class"] == "tertiary"
    assert (france_archive.routes["route"].str.contains(".", regex=False)).sum() == 1158
    corse = france_archive.routes[france_archive.routes["system"] == "fracort"]
    assert set(corse["road_class"]) == {"primary"} and "T20" in set(corse["route"])
    assert r.loc[("frasf", "BP"), "road_class"] == "motorway"  # Boulevard Périphérique
    assert r.loc[("frapacd83", "DN7"), "road_class"] == "primary"  # ex-N7
    # the one name that is no route number is listed, with its system's class
    assert france_archive.unparsed.to_dict("records") == [{"system": "fran", "route": "NVS", "root": "frages.nvs"}]


@pytest.mark.parametrize(
    ("system", "route", "tier", "country", "expected"),
    [
        ("fraoccd34", "D613", 5, "FRA", ("primary", True)),
        ("fraoccd34", "D65", 5, "FRA", ("secondary", True)),
        ("fraoccd34", "D1E1", 5, "FRA", ("tertiary", True)),
        ("fracvld28", "D122.7-3", 5, "FRA", ("tertiary", True)),
        ("fragesd57", "D2Bis", 5, "FRA", ("tertiary", True)),
        ("frapdld85", "D25a", 5, "FRA", ("tertiary", True)),
        ("franord27", "D1013", 5, "FRA", ("primary", True)),
        ("fraoccd34", "Foo", 5, "FRA", ("tertiary", False)),
        ("deua", "A5", 1, "DEU", ("motorway", True)),
        ("espn", "N260", 4, "ESP", ("primary", True)),
        ("espct", "C16", 5, "ESP", ("secondary", True)),
    ],
)
def test_route_class(system, route, tier, country, expected):
    assert skeleton.route_class(system, route, tier=tier, country=country) == expected


def test_reader_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        skeleton.read_travelmapping_archive(tmp_path / "none.tar.gz")
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tar")
    with pytest.raises(DataFileError, match="cannot be read"):
        skeleton.read_travelmapping_archive(bad)
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz") as tf:
        _add(tf, "README.md", "x")
    with pytest.raises(DataFileError, match=r"no systems\.csv"):
        skeleton.read_travelmapping_archive(empty)
    with pytest.raises(InputError, match="paths is empty"):
        skeleton.read_travelmapping_archive([])


# --- the national skeleton ---------------------------------------------------------------------


def test_national_skeleton_size_and_borders(sk):
    assert 200_000 < sk.n_nodes < 230_000 and 265_000 < sk.n_edges < 295_000
    assert sk.info["exit_links"] > 1_500 and 0 < sk.info["joined_gaps"] < 200
    # borders are not walls: segments across every land border of France
    crossing = {c for c in np.unique(sk.edge_country) if "/" in c and "FRA" in c}
    assert {frozenset(c.split("/")) for c in crossing} >= {
        frozenset({"FRA", x}) for x in ("AND", "BEL", "CHE", "DEU", "ESP", "ITA", "LUX")
    }
    assert set(np.unique(sk.node_country)) >= {"FRA", "AND", "BEL", "CHE", "DEU", "ESP", "ITA", "LUX"}
    # concurrencies join routes: the A9 and the A61 meet at one node near Narbonne
    labels = [lab for lab in sk.node_label if "A9:" in lab and "A61:" in lab]
    assert len(labels) == 1


def test_corsica_and_islands_are_kept_apart(sk):
    corsica = (sk.lat > 41.3) & (sk.lat < 43.1) & (sk.lon > 8.5) & (sk.lon < 9.6)
    comps = np.unique(sk.component[corsica])
    assert comps.size == 1 and comps[0] != 0 and corsica.sum() > 1_500
    assert (sk.component == comps[0]).sum() == corsica.sum()
    # islands without a bridge (Belle-Île, Île d'Yeu, Ouessant) are their own components
    for lat, lon in ((47.34, -3.20), (46.71, -2.34), (48.46, -5.08)):
        i = int(np.argmin(np.hypot(sk.lat - lat, sk.lon - lon)))
        assert sk.component[i] != 0
    with pytest.warns(UnreachableWarning, match="no path"):
        to_nice = traveltime.route_latlon(skeleton.skeleton_csr(sk), (41.9192, 8.7386), (43.7031, 7.2661))
    assert to_nice.minutes == math.inf  # no road to the mainland: unreachable, not NaN
    # a Corsican territory keeps its island (its own component) and its buffer stays on it
    sub = skeleton.territory_skeleton(sk, _box_2154(8.5, 41.3, 9.6, 43.1), buffer_minutes=120)
    assert sub.n_nodes == corsica.sum()
    csr = skeleton.skeleton_csr(sub)
    to_bastia = traveltime.route_latlon(csr, (41.9192, 8.7386), (42.6973, 9.4509))
    assert 120 < to_bastia.minutes < 200  # Ajaccio-Bastia, 150 km of mountain roads


def test_buffer_reaches_the_gateways_beyond_the_border(sk, herault_area):
    sub = skeleton.territory_skeleton(sk, herault_area, buffer_minutes=120)
    xy = np.column_stack([sub.x, sub.y])
    for name, (lat, lon) in GATEWAYS_BEYOND_HERAULT.items():
        assert np.hypot(*(xy - _xy(lat, lon)).T).min() < 3_000, name
    assert np.hypot(*(xy - _xy(48.8566, 2.3522)).T).min() > 200_000  # not Paris
    assert "ESP" in set(sub.node_country)  # Catalonia is within two hours of Béziers
    # a smaller horizon keeps fewer nodes; every node is within the horizon of the area
    small = skeleton.territory_skeleton(sk, herault_area, buffer_minutes=30)
    assert small.n_nodes < sub.n_nodes
    csr = skeleton.skeleton_csr(sub)
    inside = shapely.contains_xy(herault_area, sub.x, sub.y)
    t = dijkstra(csr.time_s, indices=np.flatnonzero(inside), min_only=True)
    assert np.isfinite(t).all() and t.max() <= 120 * 60 + 1e-6
    with pytest.raises(InputError, match="buffer_minutes"):
        skeleton.territory_skeleton(sk, herault_area, buffer_minutes=-1)


def test_densify_splits_roads_near_the_area_only(sk, herault_area):
    sub = skeleton.territory_skeleton(sk, herault_area, buffer_minutes=60)
    dense = skeleton.densify(sub, herault_area)
    near = shapely.dwithin(herault_area, shapely.points(dense.x, dense.y), 5_000)
    slow = ~np.isin(dense.edge_class, [0, 5])
    both_near = near[dense.u] & near[dense.v] & slow
    assert dense.straight_m[both_near].max() <= skeleton.DENSIFY_M + 1e-6
    assert dense.straight_m[slow & ~near[dense.u] & ~near[dense.v]].max() > 2_000
    # the total length and the travel times do not change
    assert dense.straight_m.sum() == pytest.approx(sub.straight_m.sum(), rel=1e-9)
    a, b = skeleton.skeleton_csr(sub), skeleton.skeleton_csr(dense)
    assert dijkstra(a.time_s, indices=0)[: sub.n_nodes].max() == pytest.approx(
        dijkstra(b.time_s, indices=0)[: sub.n_nodes].max(), rel=1e-9
    )


def test_national_cache_round_trip(national, archives):
    sk, folder = national
    again = skeleton.build_skeleton(archives, cache_dir=folder)
    assert again.info["from_cache"] is True and sk.info["from_cache"] is False
    for name in ("lon", "lat", "x", "y", "u", "v", "straight_m", "edge_class", "edge_ref", "edge_country", "component"):
        assert np.array_equal(getattr(sk, name), getattr(again, name)), name
    assert again.refs == sk.refs and list(again.node_label) == list(sk.node_label)


# --- a tiny archive: closed-form checks -------------------------------------------------------


def _add(tf: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def _wpt(points: list[tuple[str, float, float]]) -> str:
    return "".join(f"{lab} http://www.openstreetmap.org/?lat={lat:.6f}&lon={lon:.6f}\n" for lab, lat, lon in points)


@pytest.fixture
def tiny(tmp_path):
    """A motorway with two exits, two D-roads (one dotted), an E-road duplicate, a bad name."""
    path = tmp_path / "tiny.tar.gz"
    head = "system;region;route;banner;abbreviation;city;fileNameRoot;altRouteNames\n"
    with tarfile.open(path, "w:gz") as tf:
        _add(
            tf,
            "systems.csv",
            "\ufeffSystem;CountryCode;Name;Color;Tier;Level\n"
            "fraa;FRA;France Autoroutes;TMblue;1;active\n"
            "fraoccd34;FRA;Hérault D;TMyellow;5;active\n"
            "eure;EUR;E Roads;TMgreen;3;active\n",
        )
        _add(tf, "hwy_data/_systems/fraa.csv", head + "fraa;FRA-OCC;A9;;;;fraocc.a009;\n")
        _add(
            tf,
            "hwy_data/_systems/fraoccd34.csv",
            head
            + "fraoccd34;FRA-OCC;D613;-34;;;fraocc.d061334;\n"
            + "fraoccd34;FRA-OCC;D1.3;-34;;;fraocc.d0001334;\n"
            + "fraoccd34;FRA-OCC;Foo;-34;;;fraocc.foo;\n"
            + "fraoccd34;FRA-OCC;D9;-34;;;fraocc.d000934;\n",
        )
        _add(tf, "hwy_data/_systems/eure.csv", head + "eure;FRA-OCC;E15;;;;fraocc.e015;\n")
        _add(
            tf,
            "hwy_data/FRA-OCC/fraa/fraocc.a009.wpt",
            _wpt([("35", 43.30, 3.20), ("+X1", 43.30, 3.25), ("36", 43.30, 3.30)]),
        )
        _add(tf, "hwy_data/FRA-OCC/eure/fraocc.e015.wpt", _wpt([("35", 43.30, 3.20), ("36", 43.30, 3.30)]))
        # D613 shares exit 35's position; D1.3 passes 500 m north of exit 36 with a label naming it
        _add(
            tf, "hwy_data/FRA-OCC/fraoccd34/fraocc.d061334.wpt", _wpt([("A9(35)", 43.30, 3.20), ("D1.3", 43.32, 3.20)])
        )
        _add(
            tf,
            "hwy_data/FRA-OCC/fraoccd34/fraocc.d0001334.wpt",
            _wpt([("D613", 43.32, 3.20), ("A9(36)", 43.3045, 3.30)]),
        )
        _add(tf, "hwy_data/FRA-OCC/fraoccd34/fraocc.foo.wpt", _wpt([("A", 43.40, 3.40), ("B", 43.41, 3.40)]))
    return path


def test_tiny_archive_reader(tiny):
    tm = skeleton.read_travelmapping_archive(tiny)
    assert list(tm.routes["route"]) == ["A9", "D613", "D1.3", "Foo"]
    assert tm.missing == ("hwy_data/FRA-OCC/fraoccd34/fraocc.d000934.wpt",)
    assert tm.unparsed["route"].tolist() == ["Foo"]
    assert skeleton.read_travelmapping_archive(tiny, systems=["fraa"]).routes["route"].tolist() == ["A9"]
    with pytest.raises(InputError, match=r"not in tiny\.tar\.gz"):
        skeleton.read_travelmapping_archive(tiny, systems=["fraoccd99"])


def test_tiny_skeleton_links_the_lone_exit_in_lambert93(tiny, tmp_path):
    sk = skeleton.build_skeleton(tiny, cache_dir=tmp_path)
    # 3 A9 points + D613's far end + D1.3's exit-36 point + Foo's two points (exit 35 shared)
    assert sk.n_nodes == 7
    refs = {sk.refs[r] for r in sk.edge_ref}
    assert "E15" not in ";".join(refs)  # the E-road duplicate is left out
    link = np.flatnonzero(sk.edge_class == skeleton.CLASSES.index("motorway_link"))
    assert link.size == 1 and sk.refs[sk.edge_ref[link[0]]] == "A9"
    (x0, y0), (x1, y1) = _xy(43.30, 3.30), _xy(43.3045, 3.30)
    assert sk.straight_m[link[0]] == pytest.approx(math.hypot(x1 - x0, y1 - y0), abs=1e-6)
    assert sk.straight_m[link[0]] == pytest.approx(500.4, abs=2.0)  # 0.0045° of latitude
    # the link is timed like a slip road: straight x motorway detour at the link speed
    csr = skeleton.skeleton_csr(sk)
    u, v = sk.u[link[0]], sk.v[link[0]]
    expected = (
        sk.straight_m[link[0]] * network.DETOUR_FACTOR["motorway"] / (network.DEFAULT_SPEEDS_KMH["motorway_link"] / 3.6)
    )
    assert csr.time_s[u, v] == pytest.approx(expected) and csr.time_s[v, u] == pytest.approx(expected)
    # two components: the roads around the A9, and the Foo road 12 km away (not joined)
    assert sk.info["components"] == 2 and sk.info["joined_gaps"] == 0
    assert sk.info["unparsed_routes"] == ["Foo"]


def test_tiny_cache_detects_tampering(tiny, tmp_path):
    first = skeleton.build_skeleton(tiny, cache_dir=tmp_path)
    npz = Path(first.info["cache_path"])
    assert skeleton.build_skeleton(tiny, cache_dir=tmp_path).info["from_cache"] is True
    with npz.open("r+b") as f:
        f.seek(npz.stat().st_size // 2)
        f.write(b"#tampered#")
    with pytest.warns(CacheWarning, match="is corrupt"):
        rebuilt = skeleton.build_skeleton(tiny, cache_dir=tmp_path)
    assert rebuilt.info["from_cache"] is False
    assert skeleton.build_skeleton(tiny, cache_dir=tmp_path).info["from_cache"] is True  # rewritten
    side = npz.with_suffix(".json")
    doc = json.loads(side.read_text())
    side.write_text(json.dumps({**doc, "key": "0" * 64}))
    with pytest.warns(CacheWarning, match="is stale"):
        skeleton.build_skeleton(tiny, cache_dir=tmp_path)
    side.write_text("{not json")
    with pytest.warns(CacheWarning, match="unreadable sidecar"):
        skeleton.build_skeleton(tiny, cache_dir=tmp_path)
    side.write_text("[]")
    with pytest.warns(CacheWarning, match=r"unreadable sidecar skeleton\.json \(not a JSON object\)"):
        assert skeleton.build_skeleton(tiny, cache_dir=tmp_path).info["from_cache"] is False


# --- detailed OSM networks: a user's file, a download -------------------------------------------

MONTPELLIER_BOX = (3.86, 43.595, 3.90, 43.625)  # lon0, lat0, lon1, lat1: around the Comédie


def _check_merged(G) -> None:
    s = network.network_summary(G)
    assert s["km_by_source"]["osm"] > 30 and s["connector_edges"] > 0
    csr = network.graph_to_csr(G)
    r = traveltime.route_latlon(csr, COMEDIE, (43.4050, 3.6980))  # to Sète, across the buffer
    assert 20 < r.minutes < 60  # (the OSM streets stop at the box's edge)


def test_osm_file_is_merged_with_the_skeleton(national):
    osm = datasets.path("osm_montpellier_4bcbf1")
    G = network.build_network(
        "montpellier-box", area_2154=_box_2154(*MONTPELLIER_BOX), buffer_minutes=40, osm=osm, cache_dir=national[1]
    )
    assert G.graph["osm"] == str(osm)
    _check_merged(G)
    with pytest.raises(DataFileError, match="does not exist"):
        network.build_network("montpellier-box", area_2154=_box_2154(*MONTPELLIER_BOX), osm=Path("/no/such.osm"))


class _Overpass(http.server.BaseHTTPRequestHandler):
    """A stand-in Overpass server: every query gets the saved Montpellier answer."""

    answer = b""
    queries: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        type(self).queries.append(self.rfile.read(n).decode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def overpass(monkeypatch, tmp_path):
    import osmnx as ox

    _Overpass.answer = datasets.path("osm_montpellier_4bcbf1").read_bytes()
    _Overpass.queries = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Overpass)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(ox.settings, "overpass_url", f"http://127.0.0.1:{server.server_port}/api")
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "cache_folder", str(tmp_path / "osmnx-cache"))
    yield server
    server.shutdown()
    server.server_close()


def test_osm_online_downloads_through_osmnx(national, overpass):
    G = network.build_network(
        "montpellier-box-online",
        area_2154=_box_2154(*MONTPELLIER_BOX),
        buffer_minutes=40,
        osm="online",
        cache_dir=national[1],
    )
    assert len(_Overpass.queries) >= 1 and "way" in _Overpass.queries[0]
    assert G.graph["osm"] == "online"
    _check_merged(G)


def test_osm_online_offline_fails_with_one_clear_line(national, monkeypatch):
    import socket

    import osmnx as ox

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(ox.settings, "overpass_url", f"http://127.0.0.1:{port}/api")
    with pytest.raises(NetworkError, match=r"cannot reach the Overpass server .*--osm-file") as err:
        network.build_network(
            "montpellier-box-offline",
            area_2154=_box_2154(*MONTPELLIER_BOX),
            buffer_minutes=10,
            osm="online",
            cache_dir=national[1],
        )
    assert "\n" not in str(err.value)


def test_cli_osm_online_offline_is_one_line_exit_1(monkeypatch):
    import socket

    import osmnx as ox
    from click.testing import CliRunner

    from proximity.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(ox.settings, "overpass_url", f"http://127.0.0.1:{port}/api")
    res = CliRunner().invoke(main, ["route", "--from", "43.6086,3.8797", "--to", "43.5762,3.9630", "--osm", "online"])
    assert res.exit_code == 1
    assert "cannot reach the Overpass server" in res.output and "Traceback" not in res.output
    both = CliRunner().invoke(
        main, ["route", "--from", "43.6,3.8", "--to", "43.5,3.9", "--osm", "online", "--osm-file", "x.osm"]
    )
    assert both.exit_code == 2 and "not both" in both.output
    missing = CliRunner().invoke(
        main, ["route", "--from", "43.6,3.8", "--to", "43.5,3.9", "--osm-file", "/no/such.osm"]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
