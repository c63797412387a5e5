"""Travel-time engine against networkx and brute force, on small synthetic graphs."""

from __future__ import annotations

import itertools
import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from proximity import _engine as engine
from proximity import traveltime as tt
from proximity.errors import (
    CRSError,
    InputError,
    MissingColumnError,
    UnreachableWarning,
)
from proximity.network import graph_to_csr

X0, Y0 = 760_000.0, 6_270_000.0  # Lambert-93, near Montpellier
LEG = 1.3 / (20 / 3.6)  # seconds of off-network leg per metre of straight distance


# ----------------------------------------------------------------------------- graphs
def random_graph(n: int = 300, seed: int = 0, strong: bool = True) -> nx.MultiDiGraph:
    """Random planar-ish road graph: 4 nearest neighbours, 30 % one-way, 10 % parallel edges."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, (n, 2)) + np.array([X0, Y0])
    _, nb = cKDTree(xy).query(xy, k=5)
    G = nx.MultiDiGraph(crs="EPSG:2154")
    ids = [1000 + 7 * i for i in range(n)]  # ids unlike positions
    for i in range(n):
        G.add_node(ids[i], x=float(xy[i, 0]), y=float(xy[i, 1]))
    for i in range(n):
        for j in nb[i, 1:]:
            length = float(np.hypot(*(xy[i] - xy[j]))) * rng.uniform(1.0, 1.4)
            t = length / rng.uniform(8, 30)
            u, v = ids[i], ids[j]
            if rng.random() < 0.3:
                G.add_edge(u, v, travel_time=t, length=length)
            else:
                G.add_edge(u, v, travel_time=t, length=length)
                G.add_edge(v, u, travel_time=t * rng.uniform(0.9, 1.1), length=length)
            if rng.random() < 0.1:  # a parallel edge, sometimes faster
                G.add_edge(u, v, travel_time=t * rng.uniform(0.5, 1.5), length=length * 1.1)
    if strong:
        keep = max(nx.strongly_connected_components(G), key=len)
        G = G.subgraph(keep).copy()
    return G


def line_graph() -> nx.MultiDiGraph:
    """A(0,0) <-> B(1000,0) in 60 s each way, B -> C(2000,0) one-way in 90 s (1500 m)."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for nid, x in ((1, 0.0), (2, 1000.0), (3, 2000.0)):
        G.add_node(nid, x=X0 + x, y=Y0)
    G.add_edge(1, 2, travel_time=60.0, length=1000.0)
    G.add_edge(2, 1, travel_time=60.0, length=1000.0)
    G.add_edge(2, 3, travel_time=90.0, length=1500.0)
    # an island 3 km north, unreachable from the rest
    G.add_node(8, x=X0, y=Y0 + 3000)
    G.add_node(9, x=X0 + 500, y=Y0 + 3000)
    G.add_edge(8, 9, travel_time=30.0, length=500.0)
    G.add_edge(9, 8, travel_time=30.0, length=500.0)
    return G


def pts(xy, index=None, crs="EPSG:2154") -> gpd.GeoSeries:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoSeries(shapely.points(xy), index=index, crs=crs)


def node_xy(G) -> tuple[list, np.ndarray]:
    nodes = list(G.nodes)
    return nodes, np.array([[G.nodes[u]["x"], G.nodes[u]["y"]] for u in nodes])


def min_times(G, with_length=False) -> dict[tuple, float]:
    """Fastest time of every directed pair (parallel edges reduced), self-loops left out.

    With ``with_length``: ``(time, length of that fastest edge)``.
    """
    best: dict[tuple, tuple] = {}
    for u, v, d in G.edges(data=True):
        if u != v and d["travel_time"] < best.get((u, v), (math.inf,))[0]:
            best[(u, v)] = (d["travel_time"], d["length"])
    return best if with_length else {k: t for k, (t, _) in best.items()}


def brute_snap(G, xy, allowed=None, *, extra=False):
    """Nearest point on a segment (both ends allowed) for every point, by brute force.

    Returns ``(u, v, frac, snap_xy, snap_m)`` per point (``u == v`` for a node); with
    ``extra`` a list of them per point: the snapped point, then, for a point more than
    ``SPREAD_M`` from the network, up to ``EXTRA_ROADS`` other places within twice its
    distance, nearest first (the engine's rule).
    """
    pos = {n: np.array([G.nodes[n]["x"], G.nodes[n]["y"]]) for n in G.nodes}
    pairs = sorted({(min(u, v), max(u, v)) for u, v in G.edges() if u != v})
    if allowed is not None:
        pairs = [(u, v) for u, v in pairs if u in allowed and v in allowed]
    A = np.array([pos[u] for u, _ in pairs])
    B = np.array([pos[v] for _, v in pairs])
    out = []
    for p in np.asarray(xy, dtype=float):
        ab = B - A
        f = np.clip(((p - A) * ab).sum(axis=1) / (ab**2).sum(axis=1), 0, 1)
        q = A + f[:, None] * ab
        d = np.hypot(*(p - q).T)
        i = int(np.argmin(d))
        cands = [(pairs[i][0], pairs[i][1], float(f[i]), q[i], float(d[i]))]
        if extra and d[i] > engine.SPREAD_M:
            seen = [q[i]]
            for j in np.argsort(d, kind="stable"):
                if d[j] > min(2 * d[i], d[i] + engine.SPREAD_MAX_M) or len(cands) > engine.EXTRA_ROADS:
                    break
                if all(np.hypot(*(q[j] - s)) > 1e-6 for s in seen):
                    seen.append(q[j])
                    cands.append((pairs[j][0], pairs[j][1], float(f[j]), q[j], float(d[j])))
        out.append(cands if extra else cands[0])
    return out


def split_graph(G, o_xy, d_xy):
    """A DiGraph copy of G with every point's snapped position inserted into its edge.

    Origins are nodes ("o", i) linked to their snapped point by their leg, destinations
    ("d", j) linked from theirs: networkx then gives the reference travel times.
    """
    TL = min_times(G, with_length=True)
    T = {k: t for k, (t, _) in TL.items()}
    H = nx.DiGraph()
    H.add_nodes_from(G.nodes)
    on_edge: dict[tuple, list] = {}
    for kind, xy in (("o", o_xy), ("d", d_xy)):
        for i, cands in enumerate(brute_snap(G, xy, extra=True)):
            for c, (u, v, f, _, snap_m) in enumerate(cands):
                on_edge.setdefault((u, v), []).append((f, (kind, i, c), snap_m))
    for (u, v), t in T.items():
        key = (min(u, v), max(u, v))
        if key not in on_edge:
            H.add_edge(u, v, w=t, m=TL[(u, v)][1])
    for (u, v), items in on_edge.items():
        items.sort(key=lambda it: it[0])
        chain = [(0.0, u)] + [(f, ("p", name)) for f, name, _ in items] + [(1.0, v)]
        for a, b in itertools.pairwise(chain):
            if b[0] == a[0]:  # the same place (e.g. a point snapped onto a node)
                H.add_edge(a[1], b[1], w=0.0, m=0.0)
                H.add_edge(b[1], a[1], w=0.0, m=0.0)
            if (u, v) in T:
                H.add_edge(a[1], b[1], w=(b[0] - a[0]) * T[(u, v)], m=(b[0] - a[0]) * TL[(u, v)][1])
            if (v, u) in T:
                H.add_edge(b[1], a[1], w=(b[0] - a[0]) * T[(v, u)], m=(b[0] - a[0]) * TL[(v, u)][1])
        for _, name, snap_m in items:
            point = name[:2]
            if name[0] == "o":
                H.add_edge(point, ("p", name), w=snap_m * LEG, m=snap_m * 1.3)
            else:
                H.add_edge(("p", name), point, w=snap_m * LEG, m=snap_m * 1.3)
    return H


def brute_times(G, o_xy, d_xy):
    """Seconds from every origin point to every destination point, by networkx on the split graph.

    Plus the direct trip between points closer to each other than to the network.
    """
    H = split_graph(G, o_xy, d_xy)
    o_snap = [s[4] for s in brute_snap(G, o_xy)]
    d_snap = [s[4] for s in brute_snap(G, d_xy)]
    T = np.full((len(o_xy), len(d_xy)), np.inf)
    for i in range(len(o_xy)):
        lengths = nx.single_source_dijkstra_path_length(H, ("o", i), weight="w")
        for j in range(len(d_xy)):
            T[i, j] = lengths.get(("d", j), np.inf)
            straight = math.dist(o_xy[i], d_xy[j])
            if straight <= o_snap[i] + d_snap[j]:
                T[i, j] = min(T[i, j], straight * LEG)
    return T


@pytest.fixture(scope="module")
def G():
    return random_graph(300, seed=1)


@pytest.fixture(scope="module")
def csr(G):
    return graph_to_csr(G)


@pytest.fixture(scope="module")
def sample(G):
    rng = np.random.default_rng(7)
    o_xy = rng.uniform(0, 20_000, (40, 2)) + np.array([X0, Y0])
    f_xy = rng.uniform(0, 20_000, (25, 2)) + np.array([X0, Y0])
    T = brute_times(G, o_xy, f_xy)
    return o_xy, f_xy, T


@pytest.fixture(scope="module")
def T_from(G, sample):
    """Seconds from every facility to every origin, as an origins x facilities matrix."""
    return brute_times(G, sample[1], sample[0]).T


@pytest.fixture(scope="module")
def line():
    return graph_to_csr(line_graph())


# ----------------------------------------------------------------------------- snapping
def test_snap_matches_brute_force(G, csr, sample):
    o_xy = sample[0]
    s = tt.snap(csr, pts(o_xy, index=[f"o{i}" for i in range(len(o_xy))]))
    ref = brute_snap(G, o_xy)
    assert list(s.index) == [f"o{i}" for i in range(len(o_xy))]
    assert list(s.columns) == ["u_id", "v_id", "fraction", "node", "node_id", "snap_m", "reachable"]
    np.testing.assert_allclose(s["snap_m"], [r[4] for r in ref], rtol=1e-9, atol=1e-9)
    # the same snapped point (segment ends may be listed either way round, or tie at a node)
    xy = {n: np.array([G.nodes[n]["x"], G.nodes[n]["y"]]) for n in G.nodes}
    got = np.array([xy[u] + f * (xy[v] - xy[u]) for u, v, f in zip(s["u_id"], s["v_id"], s["fraction"], strict=True)])
    np.testing.assert_allclose(got, np.array([r[3] for r in ref]), atol=1e-6)
    assert s["reachable"].all()
    # the snapped point is on an edge, and nearer than (or as near as) the nearest node
    _, nxy = node_xy(G)
    nearest_node = np.hypot(o_xy[:, None, 0] - nxy[None, :, 0], o_xy[:, None, 1] - nxy[None, :, 1]).min(axis=1)
    assert (s["snap_m"].to_numpy() <= nearest_node + 1e-9).all()
    assert (s["snap_m"].to_numpy() < nearest_node - 1).mean() > 0.5


def test_snap_beyond_max_warns_and_keeps_the_point(line):
    p = pts([[X0, Y0 + 100], [X0 + 50_000, Y0]], index=["near", "far"])
    with pytest.warns(UnreachableWarning, match=r"1 point\(s\) of points are more than 5000 m"):
        s = tt.snap(line, p)
    assert s.loc["near", "reachable"] and not s.loc["far", "reachable"]
    assert s.loc["far", "snap_m"] == pytest.approx(48_000.0)
    assert s.loc["near", "node_id"] == 1


def test_snap_to_restricts_the_nodes(line):
    allowed = np.array([n != 1 for n in line.node_ids])  # node A (id 1) may not be snapped to
    p = pts([[X0, Y0 + 10], [X0 + 2000, Y0]], index=["at_a", "at_c"])
    s = tt.snap(line, p, snap_to=allowed)
    assert s["node_id"].tolist() == [2, 3]
    assert s["snap_m"].tolist() == pytest.approx([math.hypot(1000, 10), 0.0])
    assert tt.snap(line, p)["node_id"].tolist() == [1, 3]
    f = pts([[X0 + 2000, Y0]], index=["c"])
    got = tt.nearest(line, p, f, snap_to=allowed)["minutes"].to_numpy() * 60
    np.testing.assert_allclose(got, [math.hypot(1000, 10) * LEG + 90, 0.0])
    od = tt.od_matrix(line, p, f, snap_to=allowed)
    np.testing.assert_allclose(od["minutes"] * 60, got)
    assert tt.route(line, p.iloc[[0]], f, snap_to=allowed).node_ids == (2, 3)
    assert tt.nearest_table(line, p, f, snap_to=allowed)["minutes"].tolist() == pytest.approx(list(got / 60))


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (
            np.ones(3, dtype=bool),
            r"snap_to must be a boolean array with one value per graph node \(5\), got dtype bool and shape \(3,\); build it with proximity.network.access_node_mask",
        ),
        (np.ones(5), "got dtype float64 and shape"),
        (np.zeros(5, dtype=bool), "snap_to allows no node at all; pass None"),
    ],
)
def test_bad_snap_to(line, mask, match):
    p = pts([[X0, Y0]])
    with pytest.raises(InputError, match=match):
        tt.snap(line, p, snap_to=mask)
    with pytest.raises(InputError, match=match):
        tt.isochrones(line, p, snap_to=mask)


def test_points_in_another_crs_give_the_same_times(csr, sample):
    o_xy, f_xy, T = sample
    o = pts(o_xy).to_crs("EPSG:4326")
    f = pts(f_xy).to_crs("EPSG:3857")
    od = tt.od_matrix(csr, o, f)
    np.testing.assert_allclose(od["minutes"].to_numpy() * 60, T.ravel(), atol=1e-5)


# ----------------------------------------------------------------------------- OD tables
@pytest.mark.parametrize("swap", [False, True], ids=["from-origins", "from-destinations"])
def test_od_matrix_equals_networkx(csr, sample, swap, monkeypatch):
    o_xy, f_xy, T = sample
    if swap:  # more destinations than origins: Dijkstra runs from the origins on the forward graph
        o_xy = o_xy[:10]
        T = T[:10]
    # tiny batches so that several Dijkstra batches and point blocks are exercised
    monkeypatch.setattr(engine, "BATCH_BYTES", 8 * csr.n_nodes * 3)
    monkeypatch.setattr(engine, "BLOCK_CELLS", 50)
    od = tt.od_matrix(csr, pts(o_xy, index=np.arange(len(o_xy)) + 100), pts(f_xy))
    assert len(od) == T.size
    assert od["origin_id"].tolist() == list(np.repeat(np.arange(len(o_xy)) + 100, len(f_xy)))
    assert od["destination_id"].tolist() == list(np.tile(np.arange(len(f_xy)), len(o_xy)))
    np.testing.assert_allclose(od["minutes"].to_numpy() * 60, T.ravel(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("swap", [False, True], ids=["from-origins", "from-destinations"])
def test_crowded_edges_equal_networkx_in_tiny_blocks(G, csr, swap, monkeypatch):
    # many points on the same few edges (as synthetic firms on a sparse national network):
    # the direct trips along an edge are many, spread over many blocks in both directions
    rng = np.random.default_rng(11)
    edges = [(u, v) for u, v, _ in G.edges(keys=True)][:: max(1, G.number_of_edges() // 6)][:6]

    def along(n):
        e = rng.integers(0, len(edges), n)
        f = rng.uniform(0.05, 0.95, n)[:, None]
        a = np.array([[G.nodes[edges[i][0]]["x"], G.nodes[edges[i][0]]["y"]] for i in e])
        b = np.array([[G.nodes[edges[i][1]]["x"], G.nodes[edges[i][1]]["y"]] for i in e])
        return a + f * (b - a) + rng.normal(0, 5, (n, 2))

    o_xy, f_xy = along(45), along(30)
    f_xy[:5] = o_xy[:5]  # identical points too
    if swap:
        o_xy, f_xy = f_xy[:12], o_xy
    T = brute_times(G, o_xy, f_xy)
    monkeypatch.setattr(engine, "BATCH_BYTES", 8 * csr.n_nodes * 3)
    monkeypatch.setattr(engine, "BLOCK_CELLS", 40)
    od = tt.od_matrix(csr, pts(o_xy), pts(f_xy))
    assert len(od) == T.size  # origin-major, every pair reachable (a strongly connected graph)
    got = od["minutes"].to_numpy().reshape(T.shape) * 60
    np.testing.assert_allclose(got, T, rtol=0, atol=1e-6)
    assert np.isfinite(T).sum() > 0.5 * T.size
    counts = tt.count_within(csr, pts(o_xy), pts(f_xy), max_minutes=3)
    np.testing.assert_array_equal(counts.to_numpy().ravel(), (T <= 180).sum(axis=1))
    # the same pairs summed per destination (a facility's demand), weighted by origin
    w = pd.DataFrame({"n": 1.0, "w": np.arange(1.0, len(o_xy) + 1)}, index=range(len(o_xy)))
    demand = tt._counts_within(csr, pts(o_xy), pts(f_xy), max_minutes=3, weights=w, per="destinations")
    assert demand.index.tolist() == list(range(len(f_xy)))
    np.testing.assert_array_equal(demand["n"].to_numpy(), (T <= 180).sum(axis=0))
    np.testing.assert_allclose(demand["w"].to_numpy(), ((T <= 180) * w["w"].to_numpy()[:, None]).sum(axis=0))


def test_node_to_node_times_equal_networkx_for_random_pairs(G, csr):
    nodes, nxy = node_xy(G)
    rng = np.random.default_rng(3)
    a = rng.choice(len(nodes), 30, replace=False)
    b = rng.choice(len(nodes), 30, replace=False)
    od = tt.od_matrix(csr, pts(nxy[a], index=a), pts(nxy[b], index=b))
    got = od.set_index(["origin_id", "destination_id"])["minutes"] * 60
    for i in a[:10]:
        lengths = nx.single_source_dijkstra_path_length(G, nodes[i], weight="travel_time")
        for j in b:
            assert got[(i, j)] == pytest.approx(lengths[nodes[j]], abs=1e-6)


def test_od_cutoff_keeps_exactly_the_pairs_below_it(csr, sample):
    o_xy, f_xy, T = sample
    cut = float(np.quantile(T, 0.3)) / 60
    od = tt.od_matrix(csr, pts(o_xy), pts(f_xy), max_minutes=cut)
    i, j = np.nonzero(T <= cut * 60)  # noqa: SIM300 - T is the travel-time array, not a constant
    assert len(od) == i.size > 0
    assert od["origin_id"].tolist() == i.tolist() and od["destination_id"].tolist() == j.tolist()
    np.testing.assert_allclose(od["minutes"] * 60, T[i, j], atol=1e-6)
    assert (od["minutes"] <= cut).all()


def test_od_unreachable_pairs_are_omitted_and_counted(line):
    o = pts([[X0, Y0], [X0 + 2000, Y0], [X0, Y0 + 3000], [X0, Y0 + 90_000]], index=["a", "c", "island", "far"])
    d = pts([[X0 + 1000, Y0], [X0 + 500, Y0 + 3000]], index=["b", "island2"])
    # c -> b (one-way), c -> island2, a -> island2, island -> b; far is off the network
    for cut in (None, 100.0):
        with pytest.warns(UnreachableWarning) as rec:
            od = tt.od_matrix(line, o, d, max_minutes=cut)
        msg = str(rec[0].message)
        assert "4 origin-destination pair(s) have no path" in msg
        assert "1 point(s) of origins are more than 5000 m" in msg
        assert len(rec) == 1
        assert sorted(zip(od["origin_id"], od["destination_id"], strict=True)) == [("a", "b"), ("island", "island2")]
        assert od["minutes"].tolist() == pytest.approx([1.0, 0.5])


def test_od_cutoff_alone_does_not_warn(line):
    o = pts([[X0, Y0]], index=["a"])
    d = pts([[X0 + 1000, Y0], [X0 + 2000, Y0]], index=["b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        od = tt.od_matrix(line, o, d, max_minutes=2.0)
    assert od["destination_id"].tolist() == ["b"]
    assert tt.od_matrix(line, o, d, max_minutes=0).empty


# ----------------------------------------------------------------------------- legs
def test_off_network_legs_are_in_every_time(line):
    # origin 100 m off node A, facility 200 m off node B: 100*LEG + 60 s + 200*LEG
    o = pts([[X0, Y0 + 100]], index=["o"])
    f = pts([[X0 + 1000, Y0 - 200]], index=["f"])
    expected = (100 * 1.3 / (20 / 3.6) + 60 + 200 * 1.3 / (20 / 3.6)) / 60
    assert expected == pytest.approx(130.2 / 60)
    assert tt.nearest(line, o, f)["minutes"].item() == pytest.approx(expected, abs=1e-9)
    assert tt.od_matrix(line, o, f)["minutes"].item() == pytest.approx(expected, abs=1e-9)
    assert tt.route(line, o, f, crs="EPSG:2154").minutes == pytest.approx(expected, abs=1e-9)
    # a slower, shorter-legged access changes only the legs
    slow = tt.nearest(line, o, f, access_speed_kmh=10, access_detour=1.0)["minutes"].item()
    assert slow == pytest.approx((300 / (10 / 3.6) + 60) / 60)


def test_facilities_sharing_a_node_keep_their_own_legs(line):
    o = pts([[X0, Y0]], index=["o"])
    f = pts([[X0 + 1000, Y0 + 400], [X0 + 1000, Y0 - 100], [X0 + 1000, Y0 + 250]], index=["far", "near", "mid"])
    got = tt.nearest(line, o, f, k=3)
    assert got["destination_id"].tolist() == ["near", "mid", "far"]
    np.testing.assert_allclose(got["minutes"] * 60, [60 + 100 * LEG, 60 + 250 * LEG, 60 + 400 * LEG])
    one = tt.nearest(line, o, f)
    assert one["destination_id"].item() == "near"
    assert one["minutes"].item() * 60 == pytest.approx(60 + 100 * LEG)


# ----------------------------------------------------------------------------- nearest
@pytest.mark.parametrize("direction", ["to", "from"])
def test_nearest_k1_equals_brute_force(csr, sample, T_from, direction):
    o_xy, f_xy, T = sample
    if direction == "from":
        T = T_from
    got = tt.nearest(csr, pts(o_xy), pts(f_xy, index=[f"f{j}" for j in range(len(f_xy))]), direction=direction)
    assert list(got.columns) == ["origin_id", "rank", "destination_id", "minutes"]
    assert got["origin_id"].tolist() == list(range(len(o_xy)))
    assert (got["rank"] == 1).all()
    np.testing.assert_allclose(got["minutes"] * 60, T.min(axis=1), atol=1e-6)
    assert got["destination_id"].tolist() == [f"f{j}" for j in T.argmin(axis=1)]
    assert str(got["destination_id"].dtype) == "string"


def test_direction_matters_on_one_way_streets(csr, sample):
    o_xy, f_xy, _ = sample
    to = tt.nearest(csr, pts(o_xy), pts(f_xy))["minutes"].to_numpy()
    frm = tt.nearest(csr, pts(o_xy), pts(f_xy), direction="from")["minutes"].to_numpy()
    assert not np.allclose(to, frm)


@pytest.mark.parametrize("direction", ["to", "from"])
def test_nearest_k3_equals_brute_force(csr, sample, T_from, direction, monkeypatch):
    o_xy, f_xy, T = sample
    if direction == "from":
        T = T_from
    monkeypatch.setattr(engine, "BATCH_BYTES", 8 * csr.n_nodes * 4)
    monkeypatch.setattr(engine, "BLOCK_CELLS", 64)
    got = tt.nearest(csr, pts(o_xy), pts(f_xy), k=3, direction=direction)
    assert len(got) == 3 * len(o_xy)
    assert got["rank"].tolist() == [1, 2, 3] * len(o_xy)
    order = np.argsort(T, axis=1)[:, :3]
    np.testing.assert_allclose(
        got["minutes"].to_numpy().reshape(-1, 3) * 60, np.take_along_axis(T, order, axis=1), atol=1e-6
    )
    assert got["destination_id"].to_numpy().reshape(-1, 3).tolist() == order.tolist()
    assert str(got["destination_id"].dtype) == "Int64"


def test_nearest_k_larger_than_facilities_pads_with_inf_and_na(line):
    o = pts([[X0, Y0]], index=["o"])
    f = pts([[X0 + 1000, Y0], [X0 + 2000, Y0]], index=[10, 20])
    got = tt.nearest(line, o, f, k=4)
    assert got["destination_id"].tolist()[:2] == [10, 20]
    assert got["destination_id"].isna().tolist() == [False, False, True, True]
    assert got["minutes"].tolist() == [1.0, 2.5, math.inf, math.inf]
    assert not got["minutes"].isna().any()


def test_group_wise_nearest_equals_brute_force(csr, sample):
    o_xy, f_xy, T = sample
    kinds = np.array(["port", "airport", "station", "motorway", "airport"] * 5)
    f = gpd.GeoDataFrame({"kind": kinds}, geometry=shapely.points(f_xy), crs="EPSG:2154")
    got = tt.nearest(csr, pts(o_xy), f, by="kind")
    groups = ["airport", "motorway", "port", "station"]
    assert list(got.columns) == ["origin_id", "group", "rank", "destination_id", "minutes"]
    assert got["group"].tolist() == groups * len(o_xy)
    for g_i, g in enumerate(groups):
        cols = np.flatnonzero(kinds == g)
        part = got.iloc[g_i :: len(groups)]
        np.testing.assert_allclose(part["minutes"] * 60, T[:, cols].min(axis=1), atol=1e-6)
        assert part["destination_id"].tolist() == cols[T[:, cols].argmin(axis=1)].tolist()
    k2 = tt.nearest(csr, pts(o_xy), f, by="kind", k=2)
    cols = np.flatnonzero(kinds == "airport")
    top2 = np.sort(T[:, cols], axis=1)[:, :2]
    part = k2[k2["group"] == "airport"]
    np.testing.assert_allclose(part["minutes"].to_numpy().reshape(-1, 2) * 60, top2, atol=1e-6)

    wide = tt.nearest_table(csr, pts(o_xy, index=[f"o{i}" for i in range(len(o_xy))]), f, by="kind")
    assert list(wide.columns) == [c for g in groups for c in (f"minutes_{g}", f"id_{g}")]
    assert list(wide.index) == [f"o{i}" for i in range(len(o_xy))]
    np.testing.assert_allclose(wide["minutes_port"] * 60, T[:, kinds == "port"].min(axis=1), atol=1e-6)
    assert wide["id_port"].tolist() == np.flatnonzero(kinds == "port")[T[:, kinds == "port"].argmin(axis=1)].tolist()


@pytest.mark.parametrize("dtype", ["category", "int64"])
def test_group_column_of_other_dtypes(line, dtype):
    o = pts([[X0, Y0]], index=["a"])
    f = gpd.GeoDataFrame(
        {"kind": pd.Series([2, 1, 2], dtype=dtype)},
        geometry=shapely.points([[X0 + 1000, Y0], [X0 + 2000, Y0], [X0, Y0]]),
        crs="EPSG:2154",
    )
    got = tt.nearest(line, o, f, by="kind")
    assert got["group"].tolist() == [1, 2]
    assert got["destination_id"].tolist() == [1, 2]
    assert got["minutes"].tolist() == [2.5, 0.0]
    wide = tt.nearest_table(line, o, f, by="kind")
    assert list(wide.columns) == ["minutes_1", "id_1", "minutes_2", "id_2"]
    assert wide.loc["a"].tolist() == [2.5, 1, 0.0, 2]


def test_nearest_table_without_groups(csr, sample):
    o_xy, f_xy, T = sample
    wide = tt.nearest_table(csr, pts(o_xy), pts(f_xy))
    assert list(wide.columns) == ["minutes", "id"]
    np.testing.assert_allclose(wide["minutes"] * 60, T.min(axis=1), atol=1e-6)
    assert wide["id"].tolist() == T.argmin(axis=1).tolist()


def test_nearest_cutoff(csr, sample):
    o_xy, f_xy, T = sample
    best = T.min(axis=1)
    cut = float(np.median(best)) / 60
    got = tt.nearest(csr, pts(o_xy), pts(f_xy), max_minutes=cut)  # beyond the cut-off is no warning
    inside = best <= cut * 60
    np.testing.assert_allclose(got["minutes"][inside] * 60, best[inside], atol=1e-6)
    assert np.isinf(got["minutes"][~inside]).all() and got["destination_id"][~inside].isna().all()
    got3 = tt.nearest(csr, pts(o_xy), pts(f_xy), k=3, max_minutes=cut)
    m = got3["minutes"].to_numpy().reshape(-1, 3) * 60
    ref = np.sort(T, axis=1)[:, :3]
    np.testing.assert_allclose(np.where(ref <= cut * 60, ref, np.inf), m, atol=1e-6)


def test_unreachable_origins_get_inf_and_na_with_a_warning(line):
    # a on A, c on C (one-way dead end: no way out), island on node 8, far off the network
    o = pts([[X0, Y0], [X0 + 2000, Y0], [X0, Y0 + 3000], [X0, Y0 + 90_000]], index=["a", "c", "island", "far"])
    f = pts([[X0 + 1000, Y0], [X0 + 100_000, Y0], [X0, Y0 + 3000]], index=[5, 6, 7])
    with pytest.warns(UnreachableWarning) as rec:
        got = tt.nearest(line, o, f)
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "1 point(s) of origins are more than 5000 m from the network" in msg
    assert (
        "1 point(s) of facilities are more than 5000 m from the network and unreachable (raise max_snap_m or extend the network) (left out)"
        in msg
    )
    assert "1 origin(s) reach no facility on the network (minutes=inf)" in msg
    assert got["origin_id"].tolist() == ["a", "c", "island", "far"]
    assert got["minutes"].tolist() == [1.0, math.inf, 0.0, math.inf]
    assert not got["minutes"].isna().any()
    assert str(got["destination_id"].dtype) == "Int64"
    assert got["destination_id"].isna().tolist() == [False, True, False, True]
    assert got["destination_id"][[0, 2]].tolist() == [5, 7]
    # travelling from the facilities, c is reached (B -> C) and a too
    with pytest.warns(UnreachableWarning, match="1 point\\(s\\) of origins") as rec:
        back = tt.nearest(line, o, f, direction="from")
    assert "reach no facility" not in str(rec[0].message)
    assert back.minutes.tolist() == [1.0, 1.5, 0.0, math.inf]


def test_unreachable_message_counts_per_group(line):
    o = pts([[X0, Y0], [X0 + 2000, Y0], [X0, Y0 + 3000]], index=["a", "c", "island"])
    f = gpd.GeoDataFrame(
        {"kind": ["x", "y"]}, geometry=shapely.points([[X0 + 1000, Y0], [X0, Y0 + 3000]]), crs="EPSG:2154"
    )
    with pytest.warns(UnreachableWarning) as rec:
        g = tt.nearest(line, o, f, by="kind", max_minutes=0.5)
    msg = str(rec[0].message)
    # x (node B): a reaches it (1 min > cut-off: no warning), c cannot (one-way), island cannot
    assert "2 origin(s) reach no facility of group 'x'" in msg
    # y (island node 8): a and c cannot reach it; island is there (0 min)
    assert "2 origin(s) reach no facility of group 'y'" in msg
    assert g["minutes"].tolist() == [math.inf, math.inf, math.inf, math.inf, math.inf, 0.0]


# ----------------------------------------------------------------------------- isochrones
@pytest.mark.parametrize("direction", ["from", "to"])
def test_isochrones_are_nested_contain_the_origin_and_follow_the_model(G, csr, direction):
    nodes, nxy = node_xy(G)
    origins = pts([nxy[0] + [30, 40], nxy[50]], index=["p", "q"])
    cell = 50.0
    iso = tt.isochrones(csr, origins, minutes=(10, 5, 3), cell_m=cell, direction=direction)
    assert iso.crs == "EPSG:4326"
    assert iso["origin_id"].tolist() == ["p"] * 3 + ["q"] * 3
    assert iso["minutes"].tolist() == [3.0, 5.0, 10.0] * 2
    speed = 20 / 3.6 / 1.3
    slack = cell * math.sqrt(2) / 2 / speed  # a cell is judged at its centre
    iso_l93 = iso.to_crs("EPSG:2154")
    d = np.hypot(nxy[:, None, 0] - nxy[None, :, 0], nxy[:, None, 1] - nxy[None, :, 1])
    for o_i, oid in enumerate(["p", "q"]):
        polys = iso_l93[iso_l93["origin_id"] == oid].geometry.tolist()
        o_pt = origins.iloc[o_i]
        assert all(p.contains(o_pt) for p in polys)
        assert 0 < polys[0].area < polys[1].area < polys[2].area
        assert polys[2].covers(polys[1]) and polys[1].covers(polys[0])
        # the model at every node: min over nodes i of (time to i) + straight distance / access speed
        # (radii stay below the 5 km cap here), or straight from the origin
        if direction == "from":
            t_node = tt.od_matrix(csr, origins.iloc[[o_i]], pts(nxy))["minutes"].to_numpy() * 60
        else:
            t_node = tt.od_matrix(csr, pts(nxy), origins.iloc[[o_i]])["minutes"].to_numpy() * 60
        assert t_node.size == len(nodes)
        d_origin = np.hypot(*(nxy - np.asarray(o_pt.coords[0])).T)
        model = np.minimum((t_node[None, :] + d / speed).min(axis=1), d_origin / speed)
        for j, T in enumerate([3.0, 5.0, 10.0]):
            inside = shapely.intersects_xy(polys[j], nxy[:, 0], nxy[:, 1])
            assert inside[model <= T * 60 - slack].all()
            assert not inside[model > T * 60 + slack].any()
            assert inside.sum() > 3


def test_isochrones_grid_is_automatic_and_directions_differ(csr, G):
    _, nxy = node_xy(G)
    o = pts([nxy[10]], index=["o"])
    auto = tt.isochrones(csr, o, minutes=8).to_crs("EPSG:2154").geometry.iloc[0]
    fine = tt.isochrones(csr, o, minutes=8, cell_m=25).to_crs("EPSG:2154").geometry.iloc[0]
    assert auto.symmetric_difference(fine).area < 0.05 * fine.area
    back = tt.isochrones(csr, o, minutes=8, cell_m=25, direction="to").to_crs("EPSG:2154").geometry.iloc[0]
    assert back.symmetric_difference(fine).area > 0.01 * fine.area  # one-way streets


def test_isochrone_off_the_network_is_a_disc(line):
    # 3 km south of node A: the leg to A (3000 * 1.3 m at 20 km/h = 11.7 min) exceeds 10 min,
    # so only the straight trip at the access speed counts: a disc of 600 s * 20/3.6/1.3 m/s
    iso = tt.isochrones(line, pts([[X0, Y0 - 3000]], index=["o"]), minutes=10).to_crs("EPSG:2154")
    disc = iso.geometry.iloc[0]
    r = 600 * 20 / 3.6 / 1.3
    assert disc.area == pytest.approx(math.pi * r**2, rel=0.01)
    assert disc.centroid.distance(Point(X0, Y0 - 3000)) < 5
    assert not disc.intersects(Point(X0, Y0))


def test_isochrone_of_a_far_origin_is_empty_and_warned(line):
    with pytest.warns(UnreachableWarning, match="1 point\\(s\\) of origins"):
        iso = tt.isochrones(line, pts([[X0, Y0], [X0, Y0 - 80_000]], index=["a", "far"]), minutes=5)
    assert iso.geometry.is_empty.tolist() == [False, True]


# ----------------------------------------------------------------------------- routes
def test_route_equals_od_and_networkx_path(G, csr, sample):
    o_xy, f_xy, T = sample
    H = split_graph(G, o_xy, f_xy)
    rng = np.random.default_rng(5)
    pairs = [(0, 0), (3, 7), (11, 2), (9, 4), (21, 19), (23, 20)] + [
        tuple(p) for p in rng.integers(0, [40, 25], (30, 2))
    ]
    for i, j in pairs:
        r = tt.route(csr, pts(o_xy[[i]]), pts(f_xy[[j]]))
        assert r.minutes * 60 == pytest.approx(T[i, j], abs=1e-6)
        path = nx.shortest_path(H, ("o", i), ("d", j), weight="w")
        if len(path) == 2 or not r.node_ids:  # a direct trip (straight or along one edge)
            continue
        ref = [n for n in path if not isinstance(n, tuple)]
        got = list(r.node_ids)
        # a point snapped onto a node may be listed on the path or not (same time, same place)
        assert any(got[a : len(got) - b] == ref for a in (0, 1) for b in (0, 1)), (got, ref)
        assert all(G.has_edge(u, v) for u, v in itertools.pairwise(got))
        length = sum(H[u][v]["m"] for u, v in itertools.pairwise(path))
        assert r.km == pytest.approx(length / 1000, rel=1e-9)
        # origin, its snapped point, the nodes, the destination's snapped point, the destination
        # (a snapped point on a node is not repeated)
        assert len(got) + 2 <= len(r.coords) <= len(got) + 4
        lon, lat = pts(o_xy[[i]]).to_crs("EPSG:4326").iloc[0].coords[0]
        assert r.coords[0] == pytest.approx((lon, lat))


def test_route_on_the_line_graph_and_latlon(line):
    a = gpd.GeoSeries([Point(X0, Y0 + 100)], crs="EPSG:2154").to_crs("EPSG:4326").iloc[0]
    c = gpd.GeoSeries([Point(X0 + 2000, Y0)], crs="EPSG:2154").to_crs("EPSG:4326").iloc[0]
    r = tt.route(line, a, c)
    assert r.node_ids == (1, 2, 3)
    assert r.minutes == pytest.approx((100 * LEG + 150) / 60)
    assert r.km == pytest.approx((130 + 2500) / 1000)
    r2 = tt.route_latlon(line, (a.y, a.x), (c.y, c.x))
    assert r2.minutes == pytest.approx(r.minutes) and r2.node_ids == (1, 2, 3)
    # a point to itself: 0 minutes (it shares its way to the road with itself), no network path
    same = tt.route(line, a, a)
    assert same.minutes == 0.0 and same.km == 0.0 and same.node_ids == ()
    with pytest.warns(UnreachableWarning, match="no path from origin_point"):
        back = tt.route(line, c, a)
    assert (
        back == tt.Route(minutes=math.inf, km=math.inf, coords=(), node_ids=()) and not back.found and back.line is None
    )
    assert r.found and r.line.coords[0] == pytest.approx((a.x, a.y)) and len(r.line.coords) == len(r.coords) >= 2
    with pytest.warns(UnreachableWarning, match="destination_point more than 5000 m"):
        tt.route(line, gpd.GeoSeries([a], crs="EPSG:4326"), Point(X0, Y0 - 60_000), crs="EPSG:2154")


# ----------------------------------------------------------------------------- cache
def test_the_graph_is_not_mutated_and_the_cache_is_reused(csr, sample):
    before = (csr.time_s.data.copy(), csr.node_ids.copy())
    tt.nearest(csr, pts(sample[0]), pts(sample[1]))
    prep = engine._CACHE[csr]
    tt.snap(csr, pts(sample[0]))
    assert engine._CACHE[csr] is prep
    np.testing.assert_array_equal(csr.time_s.data, before[0])
    np.testing.assert_array_equal(csr.node_ids, before[1])


def test_inputs_are_not_mutated(csr, sample):
    f = gpd.GeoDataFrame({"kind": ["a"] * 25}, geometry=shapely.points(sample[1]), crs="EPSG:2154")
    copy = f.copy()
    tt.nearest(csr, pts(sample[0]).to_crs("EPSG:4326"), f, by="kind")
    pd.testing.assert_frame_equal(f, copy)


# ----------------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def one(line):
    return pts([[X0, Y0]])


def test_error_not_a_graph(one):
    with pytest.raises(InputError, match=r"graph must be a proximity\.network\.CSRGraph.*graph_to_csr"):
        tt.nearest(nx.MultiDiGraph(), one, one)


@pytest.mark.parametrize(
    ("points", "cls", "match"),
    [
        ([Point(0, 0)], InputError, "origins must be a GeoDataFrame or GeoSeries of points, got list"),
        (gpd.GeoSeries([], crs="EPSG:2154"), InputError, "origins is empty"),
        (gpd.GeoSeries([Point(X0, Y0)]), CRSError, "origins has no CRS; set it with .set_crs"),
        (
            gpd.GeoSeries([Point(X0, Y0), shapely.box(0, 0, 1, 1)], crs="EPSG:2154"),
            InputError,
            r"1 missing, empty or non-point .*rows \[1\].*representative_point",
        ),
        (gpd.GeoSeries([Point(X0, Y0), None], crs="EPSG:2154"), InputError, "1 missing, empty or non-point"),
        (gpd.GeoSeries([Point(X0, Y0), Point()], crs="EPSG:2154"), InputError, "1 missing, empty or non-point"),
        (
            gpd.GeoSeries([Point(X0, Y0)] * 2, index=[3, 3], crs="EPSG:2154"),
            InputError,
            r"origins has duplicate index labels \(e.g. \[3\]\)",
        ),
        (gpd.GeoDataFrame({"a": [1]}), InputError, "origins has no active geometry column"),
    ],
)
def test_bad_points(line, one, points, cls, match):
    with pytest.raises(cls, match=match):
        tt.nearest(line, points, one)


def test_bad_facilities_are_named(line, one):
    with pytest.raises(CRSError, match="facilities has no CRS"):
        tt.nearest(line, one, gpd.GeoSeries([Point(X0, Y0)]))
    with pytest.raises(InputError, match="destinations is empty"):
        tt.od_matrix(line, one, gpd.GeoSeries([], crs="EPSG:2154"))
    with pytest.raises(InputError, match="points must be a GeoDataFrame"):
        tt.snap(line, [(0, 0)])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be a positive integer, got 0"),
        ({"k": 1.5}, "k must be a positive integer, got 1.5"),
        ({"k": True}, "k must be a positive integer, got True"),
        ({"max_minutes": -1}, r"max_minutes must be >= 0 \(or None"),
        ({"max_minutes": float("nan")}, "max_minutes must be >= 0"),
        ({"max_minutes": "ten"}, "max_minutes must be a number of minutes or None, got 'ten'"),
        ({"direction": "both"}, "direction must be 'to'.*got 'both'"),
        ({"max_snap_m": 0}, "max_snap_m must be a positive number, got 0"),
        ({"access_speed_kmh": -5}, "access_speed_kmh must be a positive number"),
        ({"access_detour": 0.5}, "access_detour must be a number >= 1"),
    ],
)
def test_bad_options(line, one, kwargs, match):
    with pytest.raises(InputError, match=match):
        tt.nearest(line, one, one, **kwargs)


def test_bad_group_column(line, one):
    f = gpd.GeoDataFrame({"kind": [None]}, geometry=[Point(X0, Y0)], crs="EPSG:2154")
    with pytest.raises(MissingColumnError, match=r"facilities has no column 'type'.*columns: \['kind', 'geometry'\]"):
        tt.nearest(line, one, f, by="type")
    with pytest.raises(MissingColumnError, match="a GeoSeries has no columns"):
        tt.nearest(line, one, one, by="kind")
    with pytest.raises(InputError, match="facilities column 'kind' has 1 missing value"):
        tt.nearest(line, one, f, by="kind")


def test_bad_od_and_isochrone_options(line, one):
    with pytest.raises(InputError, match="max_minutes must be >= 0"):
        tt.od_matrix(line, one, one, max_minutes=-3)
    for bad in ([], (15, -1), (float("nan"),), "15", (math.inf,), 0):
        with pytest.raises(InputError, match="minutes must"):
            tt.isochrones(line, one, minutes=bad)
    with pytest.raises(InputError, match="direction must be 'from'"):
        tt.isochrones(line, one, direction="to-and-fro")
    for bad in (0, -5.0, float("nan"), "50"):
        with pytest.raises(InputError, match="cell_m must be a positive number of metres or None"):
            tt.isochrones(line, one, cell_m=bad)


def test_bad_route_points(line):
    with pytest.raises(InputError, match="origin_point must be a shapely Point"):
        tt.route(line, (3.8, 43.6), Point(3.8, 43.6))
    with pytest.raises(InputError, match="destination_point must hold exactly one point, got 2"):
        tt.route(line, Point(3.8, 43.6), pts([[X0, Y0], [X0, Y0]], index=[0, 1]))
    with pytest.raises(InputError, match=r"origin must be a \(lat, lon\) pair of numbers"):
        tt.route_latlon(line, "43.6", (43.6, 3.8))
    with pytest.raises(InputError, match=r"destination .* is not a \(lat, lon\) pair in degrees"):
        tt.route_latlon(line, (43.6, 3.8), (3.8, 430.6))
    with pytest.raises(InputError, match=r"origin .* has NaN or infinite coordinates; pass a finite"):
        tt.route_latlon(line, (math.nan, 3.8), (43.6, 3.8))


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_count_within_equals_brute_force(csr, sample, quantile):
    o_xy, f_xy, T = sample
    cut = float(np.quantile(T, quantile)) / 60
    counts = tt.count_within(csr, pts(o_xy), pts(f_xy), max_minutes=cut)
    np.testing.assert_array_equal(counts.to_numpy(), (T <= cut * 60 + 1e-9).sum(axis=1))  # noqa: SIM300 - T is the travel-time array, not a constant
    w = pd.Series(np.arange(len(f_xy), dtype=float))
    weighted = tt.count_within(csr, pts(o_xy), pts(f_xy), max_minutes=cut, weights=w)
    np.testing.assert_allclose(weighted.to_numpy(), ((T <= cut * 60 + 1e-9) * w.to_numpy()).sum(axis=1))  # noqa: SIM300 - T is the travel-time array, not a constant
    # a larger cut-off never lowers a count
    more = tt.count_within(csr, pts(o_xy), pts(f_xy), max_minutes=cut * 1.5)
    assert (more >= counts).all()
    # per destination: how many origins reach each
    per_dest = tt._counts_within(csr, pts(o_xy), pts(f_xy), max_minutes=cut, per="destinations")["count"]
    np.testing.assert_array_equal(per_dest.to_numpy(), (T <= cut * 60 + 1e-9).sum(axis=0))  # noqa: SIM300 - T is the travel-time array
    with pytest.raises(InputError, match="per must be 'origins' or 'destinations'"):
        tt._counts_within(csr, pts(o_xy), pts(f_xy), max_minutes=cut, per="both")


def test_count_within_errors(csr, sample):
    o_xy, f_xy, _ = sample
    with pytest.raises(InputError, match="needs a finite max_minutes"):
        tt.count_within(csr, pts(o_xy), pts(f_xy), max_minutes=None)
    with pytest.raises(InputError, match="weights must be finite and non-negative"):
        tt.count_within(csr, pts(o_xy), pts(f_xy), max_minutes=30, weights=pd.Series(-1.0, index=range(len(f_xy))))


# ----------------------------------------------------------------------------- edge snapping
def test_points_snap_onto_edges_and_respect_one_way(line):
    # 50 m off the middle of the one-way edge B -> C (1000 m, 90 s): leaves only towards C
    p = pts([[X0 + 1500, Y0 + 50]], index=["p"])
    s = tt.snap(line, p)
    assert s.loc["p", ["u_id", "v_id"]].tolist() == [2, 3]
    assert s.loc["p", "fraction"] == pytest.approx(0.5) and s.loc["p", "snap_m"] == pytest.approx(50.0)
    a = pts([[X0, Y0]], index=["a"])
    c = pts([[X0 + 2000, Y0]], index=["c"])
    # A -> p: 60 s to B, half the edge (45 s), then the 50 m leg
    assert tt.od_matrix(line, a, p)["minutes"].item() * 60 == pytest.approx(60 + 45 + 50 * LEG)
    assert tt.route(line, a, p, crs="EPSG:2154").node_ids == (1, 2)
    # p -> C: the leg and the other half; p -> A is impossible (C is a dead end)
    assert tt.nearest(line, p, c)["minutes"].item() * 60 == pytest.approx(50 * LEG + 45)
    with pytest.warns(UnreachableWarning, match="no path from origin_point"):
        assert math.isinf(tt.route(line, p, a, crs="EPSG:2154").minutes)
    # two points on the same edge travel along it, downstream only
    q = pts([[X0 + 1750, Y0 - 50]], index=["q"])
    assert tt.od_matrix(line, p, q)["minutes"].item() * 60 == pytest.approx(50 * LEG + 0.25 * 90 + 50 * LEG)
    r = tt.route(line, p, q, crs="EPSG:2154")
    assert r.node_ids == () and r.km == pytest.approx((65 + 375 + 65) / 1000)
    with pytest.warns(UnreachableWarning, match="1 origin-destination pair"):
        assert tt.od_matrix(line, q, p).empty


def test_points_never_snap_onto_a_motorway_between_exits():
    # a motorway A-B (10 km at 130 km/h) with exits at both ends onto a slow road A-C-B
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for nid, x, y in ((1, 0, 0), (2, 10_000, 0), (3, 5_000, 3_000)):
        G.add_node(nid, x=X0 + x, y=Y0 + y)
    for u, v, hw, m, kmh in (
        (1, 2, "motorway", 10_000, 130),
        (1, 3, "secondary", 5_831, 60),
        (3, 2, "secondary", 5_831, 60),
    ):
        for a, b in ((u, v), (v, u)):
            G.add_edge(a, b, highway=hw, length=float(m), travel_time=m / (kmh / 3.6))
    csr = graph_to_csr(G)
    assert csr.snappable.all() and csr.snappable_edges is not None
    # 100 m from the motorway's middle, 2.3 km from the secondary road
    p = pts([[X0 + 5_000, Y0 + 100]], index=["p"])
    s = tt.snap(csr, p)
    assert sorted(s.loc["p", ["u_id", "v_id"]].tolist()) == [1, 3] or sorted(s.loc["p", ["u_id", "v_id"]].tolist()) == [
        2,
        3,
    ]
    assert s.loc["p", "snap_m"] > 2000
    # without road classes every edge is allowed and the motorway is the nearest
    bare = nx.MultiDiGraph(crs="EPSG:2154")
    bare.add_nodes_from(G.nodes(data=True))
    bare.add_edges_from(
        (u, v, {"length": d["length"], "travel_time": d["travel_time"]}) for u, v, d in G.edges(data=True)
    )
    assert tt.snap(graph_to_csr(bare), p).loc["p", "snap_m"] == pytest.approx(100.0)


def test_direct_trips_between_close_points_and_a_point_to_itself(line):
    # two points 3 km south of A, 200 m apart: straight at the access speed, not via the road
    o = pts([[X0, Y0 - 3000], [X0 + 200, Y0 - 3000]], index=["o1", "o2"])
    od = tt.od_matrix(line, o, o)
    got = od.set_index(["origin_id", "destination_id"])["minutes"] * 60
    assert got[("o1", "o1")] == 0.0 and got[("o2", "o2")] == 0.0
    assert got[("o1", "o2")] == pytest.approx(200 * LEG)
    near = tt.nearest(line, o, o.iloc[[1]])
    assert near["minutes"].tolist() == pytest.approx([200 * LEG / 60, 0.0])
    assert tt.count_within(line, o, o, max_minutes=0.1).tolist() == [1.0, 1.0]
    assert tt.route(line, o.iloc[[0]], o.iloc[[1]]).km == pytest.approx(0.26)
    # points on the road (snap_m 0) never shortcut off it: A -> C is via B
    on = pts([[X0, Y0], [X0 + 2000, Y0]], index=["a", "c"])
    assert tt.od_matrix(line, on.iloc[[0]], on.iloc[[1]])["minutes"].item() == pytest.approx(2.5)


# ----------------------------------------------------------------------------- coordinates
XC, YC = X0 + 10_000, Y0 + 10_000  # the middle of the random graph
LON0, LAT0 = 3.866920790051422, 43.615592332192406  # (XC, YC) in WGS84


@pytest.mark.parametrize(
    ("points", "match"),
    [
        (
            gpd.GeoSeries([Point(X0, Y0), Point(math.nan, math.nan)], crs="EPSG:2154"),
            r"origins has 1 point\(s\) with NaN or infinite coordinates \(e.g. rows \[1\]\); drop or fix them",
        ),
        (gpd.GeoSeries([Point(math.inf, Y0)], crs="EPSG:2154"), "origins has 1 point.* NaN or infinite"),
        (
            gpd.GeoSeries([Point(LAT0, LON0)], crs="EPSG:4326"),
            "latitude and longitude look swapped: put longitude first",
        ),
        (
            gpd.GeoSeries([Point(XC, YC)], crs="EPSG:4326"),
            r"outside the range of degrees .*look projected: set their real CRS with .set_crs\('EPSG:2154', allow_override=True\)",
        ),
        (
            gpd.GeoSeries([Point(LON0, LAT0)], crs="EPSG:2154"),
            r"look like longitude/latitude degrees, not EPSG:2154: .set_crs\('EPSG:4326', allow_override=True\)",
        ),
        (
            gpd.GeoSeries([Point(LAT0, LON0)], crs="EPSG:2154"),
            "look like latitude/longitude degrees, not EPSG:2154: swap them",
        ),
        (gpd.GeoSeries([Point(YC, XC)], crs="EPSG:2154"), r"x and y look swapped: put x \(easting\) first"),
    ],
    ids=[
        "nan",
        "inf",
        "latlon-swapped",
        "projected-labelled-4326",
        "degrees-labelled-2154",
        "latlon-labelled-2154",
        "xy-swapped",
    ],
)
def test_bad_coordinates_raise_one_clear_error(csr, points, match):
    f = pts([[X0 + 5000, Y0 + 5000]])
    with pytest.raises(CRSError if "NaN" not in match else InputError, match=match):
        tt.nearest(csr, points, f)
    with pytest.raises(InputError, match=match.replace("origins", "destinations")):
        tt.od_matrix(csr, f, points)
    with pytest.raises(InputError, match=match.replace("origins", "destination_point")):
        tt.route(csr, f, points.iloc[[-1]])
    with pytest.raises(InputError, match=match.replace("origins", "points")):
        tt.snap(csr, points)


def test_far_points_in_the_right_crs_are_unreachable_not_errors(csr):
    # 150 km away and not mislabelled: a warning, as before
    with pytest.warns(UnreachableWarning, match="1 point\\(s\\) of origins"):
        got = tt.nearest(csr, pts([[X0 - 150_000, Y0]]), pts([[X0 + 5000, Y0 + 5000]]))
    assert math.isinf(got["minutes"].item())


def test_a_point_far_from_the_network_also_tries_other_roads_nearby():
    # Pézènes-les-Mines in small: a dead end 300 m away (D, slow road to H via E) and a fast
    # road 500 m away (A - H, within twice the distance): the fast road wins
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for nid, x, y in ((1, 0, 300), (2, 0, 3000), (3, 5000, -500), (4, -5000, -500)):
        G.add_node(nid, x=X0 + x, y=Y0 + y)
    for u, v, m, s in ((1, 2, 2700, 600), (2, 3, 6100, 300), (4, 3, 10_000, 400)):
        G.add_edge(u, v, length=float(m), travel_time=float(s))
        G.add_edge(v, u, length=float(m), travel_time=float(s))
    csr = graph_to_csr(G)
    p = pts([[X0, Y0]], index=["p"])
    s = tt.snap(csr, p)
    assert s.loc["p", "node_id"] == 1 and s.loc["p", "snap_m"] == pytest.approx(300.0)
    h = pts([[X0 + 5000, Y0 - 500]], index=["h"])
    assert tt.nearest(csr, p, h)["minutes"].item() * 60 == pytest.approx(500 * LEG + 200)
    r = tt.route(csr, p, h, crs="EPSG:2154")
    assert r.node_ids == (3,) and r.km == pytest.approx((650 + 5000) / 1000)
    assert r.minutes * 60 == pytest.approx(500 * LEG + 200)
    # within 100 m of a road a point keeps to its nearest road
    q = pts([[X0, Y0 + 250]], index=["q"])
    assert tt.nearest(csr, q, h)["minutes"].item() * 60 == pytest.approx(50 * LEG + 900)


def test_two_step_support_equals_the_2sfca_of_the_od_table(csr, sample):
    # scores.two_step_support reduces the pairs within the catchment without an OD table:
    # it must equal accessibility.two_step_fca (checked against PySAL access) on the table
    from proximity import accessibility as acc
    from proximity import scores

    o_xy, f_xy, T = sample
    cut = float(np.quantile(T, 0.4)) / 60
    origins = gpd.GeoDataFrame(geometry=pts(o_xy[:10], index=[f"o{i}" for i in range(10)]))
    smes = gpd.GeoDataFrame(geometry=pts(o_xy[10:], index=[f"s{i}" for i in range(len(o_xy) - 10)]))
    f_ids = [f"f{i}" for i in range(len(f_xy))]
    sites = gpd.GeoDataFrame({"capacity": np.arange(1.0, len(f_xy) + 1)}, geometry=pts(f_xy, index=f_ids), index=f_ids)
    got = scores.two_step_support(csr, origins, support_bodies=sites, smes=smes, max_minutes=cut)
    every = gpd.GeoDataFrame(geometry=pd.concat([origins.geometry, smes.geometry]))
    od = tt.od_matrix(csr, every, sites[["geometry"]], max_minutes=cut)
    want = acc.two_step_fca(
        od, supply=sites["capacity"], demand=pd.Series(1.0, index=smes.index), max_minutes=cut, origins=every.index
    )
    assert got.index.tolist() == origins.index.tolist()
    np.testing.assert_allclose(got.to_numpy(), want.reindex(origins.index).to_numpy(), rtol=1e-12, atol=0)
    assert (got > 0).sum() >= 3  # a catchment that reaches some sites
