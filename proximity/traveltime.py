"""Travel times on a road network: snapping, nearest facility, OD tables, isochrones, routes.

Every function works on a :class:`~proximity.network.CSRGraph` (from
:func:`proximity.network.graph_to_csr`) with :mod:`scipy.sparse.csgraph` Dijkstra runs on
whole arrays, never one networkx call per pair.

Conventions
-----------
Points
    GeoDataFrames or GeoSeries of points in any CRS (converted to the graph's projected CRS).
    Their index labels are the ids in the results (``origin_id``, ``destination_id``), so
    the index must be unique.
Snapping
    A point is attached to its nearest network node (straight-line distance ``snap_m``). A
    point more than ``max_snap_m`` (default :data:`MAX_SNAP_M`) from every node is
    *unreachable*: it is kept in the results with ``minutes = inf`` and counted in an
    :class:`~proximity.errors.UnreachableWarning`, never silently dropped.
Off-network legs
    The trip from a point to its node (and from a facility's node to the facility) is part
    of every travel time: ``snap_m * access_detour`` metres at ``access_speed_kmh``
    (defaults :data:`proximity.network.ACCESS_DETOUR` = 1.3 and
    :data:`proximity.network.ACCESS_SPEED_KMH` = 20 km/h, re-exported here: a point 1 km
    from the road adds 3.9 minutes). Two points snapped to the same node are
    ``leg_a + leg_b`` apart (the model never shortcuts between points off the network).
Unreachable
    :func:`nearest` reports ``minutes = numpy.inf`` and ``destination_id = <NA>`` (never NaN)
    for an origin that is beyond ``max_snap_m`` or from which no facility can be reached on
    the directed network; these are counted and warned (:class:`UnreachableWarning`). A
    facility beyond ``max_snap_m`` is left out of the candidates (counted in the same
    warning). With ``max_minutes``, an origin whose nearest facility is further than the
    cut-off also gets ``inf`` / ``<NA>``, but that is an answer, not a warning.
    :func:`od_matrix` omits pairs beyond the cut-off silently and omits unreachable pairs
    with a warning that counts them.
Ties
    Between facilities exactly as far, the one returned is unspecified.

Examples
--------
>>> import geopandas as gpd, networkx as nx
>>> from shapely.geometry import Point
>>> from proximity.network import graph_to_csr
>>> G = nx.MultiDiGraph(crs="EPSG:2154")
>>> G.add_nodes_from([(1, {"x": 0.0, "y": 0.0}), (2, {"x": 1000.0, "y": 0.0})])
>>> G.add_edge(1, 2, travel_time=60.0, length=1000.0)
0
>>> G.add_edge(2, 1, travel_time=60.0, length=1000.0)
0
>>> csr = graph_to_csr(G)
>>> firms = gpd.GeoSeries([Point(0, 0)], index=["firm"], crs="EPSG:2154")
>>> stations = gpd.GeoSeries([Point(1000, 0)], index=["station"], crs="EPSG:2154")
>>> nearest(csr, firms, stations)
  origin_id  rank destination_id  minutes
0      firm     1        station      1.0
"""

from __future__ import annotations

import hashlib
import math
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from .errors import CRSError, InputError, MissingColumnError, UnreachableWarning
from .network import ACCESS_DETOUR, ACCESS_SPEED_KMH, CSRGraph

__all__ = [
    "ACCESS_DETOUR",
    "ACCESS_SPEED_KMH",
    "MAX_SNAP_M",
    "isochrones",
    "nearest",
    "nearest_table",
    "od_matrix",
    "count_within",
    "route",
    "route_latlon",
    "snap",
]

# ACCESS_SPEED_KMH (km/h of the off-network leg) and ACCESS_DETOUR (its length over the
# straight distance) come from proximity.network, so every module uses one convention.
#: A point further than this (metres) from every network node is unreachable.
MAX_SNAP_M: float = 5000.0

# A Dijkstra run from b sources allocates a (b, n_nodes) float64 matrix: bound it.
_BATCH_BYTES = 64 * 2**20
# Point-level blocks (origins x destinations) are cut to at most this many cells.
_BLOCK_CELLS = 4 * 2**20
_DIRECTIONS = ("to", "from")


# --------------------------------------------------------------------------- graph cache
class _Prepared:
    """Arrays derived once per graph, each on first use (the CSRGraph itself stays frozen)."""

    def __init__(self, graph: CSRGraph) -> None:
        self._graph = weakref.ref(graph)
        self._forward: sp.csr_matrix | None = None
        self._reverse: sp.csr_matrix | None = None
        self._trees: dict[bytes | None, tuple[cKDTree, np.ndarray | None]] = {}
        self._scc: tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix] | None = None

    @property
    def graph(self) -> CSRGraph:
        graph = self._graph()
        if graph is None:  # pragma: no cover - the cache entry dies with its graph
            raise InputError("the graph of this cache entry no longer exists")
        return graph

    @property
    def n(self) -> int:
        return self.graph.n_nodes

    @property
    def forward(self) -> sp.csr_matrix:
        if self._forward is None:
            self._forward = _as_csgraph(self.graph.time_s)
        return self._forward

    @property
    def reverse(self) -> sp.csr_matrix:
        if self._reverse is None:
            self._reverse = _as_csgraph(self.graph.time_s.T)
        return self._reverse

    def tree(self, snap_to: np.ndarray | None) -> tuple[cKDTree, np.ndarray | None]:
        """k-d tree of the nodes allowed by ``snap_to`` and their positions (None: all)."""
        key = None if snap_to is None else hashlib.blake2b(np.packbits(snap_to).tobytes(), digest_size=16).digest()
        if key not in self._trees:
            g = self.graph
            pos = None if snap_to is None else np.flatnonzero(snap_to)
            x, y = np.asarray(g.x, float), np.asarray(g.y, float)
            xy = np.column_stack([x, y]) if pos is None else np.column_stack([x[pos], y[pos]])
            self._trees[key] = (cKDTree(xy), pos)
        return self._trees[key]

    def scc(self) -> tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]:
        """Strong-component labels of the nodes and the condensation (forward, reverse)."""
        if self._scc is None:
            n_comp, labels = connected_components(self.forward, directed=True, connection="strong")
            coo = self.forward.tocoo()
            a, b = labels[coo.row], labels[coo.col]
            keep = a != b
            ones = np.ones(int(keep.sum()))
            cond = sp.csr_matrix((ones, (a[keep], b[keep])), shape=(n_comp, n_comp))
            self._scc = (labels.astype(np.int64), cond, cond.T.tocsr())
        return self._scc


_CACHE: weakref.WeakKeyDictionary[CSRGraph, _Prepared] = weakref.WeakKeyDictionary()


def _as_csgraph(a: Any) -> sp.csr_matrix:
    """A float64 CSR matrix with int32 indices, the form csgraph uses without copying."""
    m = sp.csr_matrix(a, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    m.indices = np.ascontiguousarray(m.indices, dtype=np.int32)
    m.indptr = np.ascontiguousarray(m.indptr, dtype=np.int32)
    return m


def _prepared(graph: CSRGraph) -> _Prepared:
    if not isinstance(graph, CSRGraph):
        raise InputError(
            f"graph must be a proximity.network.CSRGraph, got {type(graph).__name__}; "
            "convert a networkx graph with proximity.network.graph_to_csr(G)"
        )
    prep = _CACHE.get(graph)
    if prep is None:
        if graph.time_s.nnz >= 2**31 - 2**20:
            raise InputError("graph has too many edges for scipy.sparse.csgraph (2**31); split the territory")
        prep = _Prepared(graph)
        _CACHE[graph] = prep
    return prep


# --------------------------------------------------------------------------- validation
def _check_points(points: Any, name: str) -> gpd.GeoSeries:
    """The geometry of ``points`` as a GeoSeries, after checking it is usable."""
    if isinstance(points, gpd.GeoDataFrame):
        try:
            geom = points.geometry
        except AttributeError:
            raise InputError(f"{name} has no active geometry column; set one with .set_geometry(...)") from None
    elif isinstance(points, gpd.GeoSeries):
        geom = points
    else:
        raise InputError(
            f"{name} must be a GeoDataFrame or GeoSeries of points, got {type(points).__name__}; "
            "build one with geopandas.GeoSeries(geopandas.points_from_xy(x, y), crs=...)"
        )
    if len(geom) == 0:
        raise InputError(f"{name} is empty; pass at least one point")
    if geom.crs is None:
        raise CRSError(f"{name} has no CRS; set it with .set_crs('EPSG:4326') (or the CRS of its coordinates)")
    values = geom.values
    bad = np.asarray(geom.isna()) | ~np.asarray(shapely.get_type_id(values) == 0) | np.asarray(shapely.is_empty(values))
    if bad.any():
        labels = list(geom.index[bad][:5])
        raise InputError(
            f"{name} has {int(bad.sum())} missing, empty or non-point geometries (e.g. rows {labels}); "
            "drop them or convert them with .representative_point()"
        )
    if not geom.index.is_unique:
        dup = list(geom.index[geom.index.duplicated()][:5])
        raise InputError(f"{name} has duplicate index labels (e.g. {dup}); the index gives the ids: make it unique (e.g. .reset_index())")
    return geom


def _check_max_minutes(max_minutes: float | None) -> float:
    """The cut-off in seconds (inf when None)."""
    if max_minutes is None:
        return math.inf
    try:
        value = float(max_minutes)
    except (TypeError, ValueError):
        raise InputError(f"max_minutes must be a number of minutes or None, got {max_minutes!r}") from None
    if math.isnan(value) or value < 0:
        raise InputError(f"max_minutes must be >= 0 (or None for no cut-off), got {max_minutes!r}")
    return value * 60.0


def _check_access(max_snap_m: float, access_speed_kmh: float, access_detour: float) -> None:
    for name, value, low in (("max_snap_m", max_snap_m, 0.0), ("access_speed_kmh", access_speed_kmh, 0.0)):
        if not isinstance(value, (int, float, np.number)) or math.isnan(value) or value <= low:
            raise InputError(f"{name} must be a positive number, got {value!r}")
    if not isinstance(access_detour, (int, float, np.number)) or math.isnan(access_detour) or access_detour < 1:
        raise InputError(f"access_detour must be a number >= 1 (road distance / straight distance), got {access_detour!r}")


def _check_direction(direction: str) -> None:
    if direction not in _DIRECTIONS:
        raise InputError(f"direction must be 'to' (origins travel to the facilities) or 'from' (facilities travel to the origins), got {direction!r}")


# --------------------------------------------------------------------------- snapping
@dataclass(frozen=True)
class _Snapped:
    index: pd.Index
    xy: np.ndarray  # (n, 2) in the graph's CRS
    node: np.ndarray  # int64 node positions
    snap_m: np.ndarray
    ok: np.ndarray  # bool: within max_snap_m
    leg_s: np.ndarray  # off-network leg in seconds (inf when not ok)


def _check_snap_to(graph: CSRGraph, snap_to: Any) -> np.ndarray | None:
    if snap_to is None:
        # the graph's own mask (graph_to_csr sets it from the road classes) or every node
        return graph.snappable
    mask = np.asarray(snap_to)
    if mask.dtype != bool or mask.shape != (graph.n_nodes,):
        raise InputError(
            f"snap_to must be a boolean array with one value per graph node ({graph.n_nodes}), "
            f"got dtype {mask.dtype} and shape {mask.shape}; build it with proximity.network.access_node_mask(G)"
        )
    if not mask.any():
        raise InputError("snap_to allows no node at all; pass None to snap to every node")
    return mask


def _snap_points(graph: CSRGraph, prep: _Prepared, geom: gpd.GeoSeries, max_snap_m: float, access_speed_kmh: float, access_detour: float, snap_to: np.ndarray | None) -> _Snapped:
    if not pyproj.CRS(geom.crs).equals(pyproj.CRS(graph.crs)):
        geom = geom.to_crs(graph.crs)
    xy = shapely.get_coordinates(geom.values)
    tree, pos = prep.tree(snap_to)
    dist, node = tree.query(xy, k=1)
    node = np.asarray(node, dtype=np.int64)
    if pos is not None:
        node = pos[node]
    dist = np.asarray(dist, dtype=float)
    ok = dist <= max_snap_m
    leg = np.where(ok, dist * access_detour / (access_speed_kmh / 3.6), np.inf)
    return _Snapped(index=geom.index, xy=xy, node=node, snap_m=dist, ok=ok, leg_s=leg)


def _warn(parts: list[str]) -> None:
    if parts:
        warnings.warn("; ".join(parts), UnreachableWarning, stacklevel=3)


def _far_message(n: int, name: str, max_snap_m: float) -> str:
    return f"{n} point(s) of {name} are more than {max_snap_m:g} m from the network and unreachable (raise max_snap_m or extend the network)"


def snap(graph: CSRGraph, points: gpd.GeoDataFrame | gpd.GeoSeries, *, max_snap_m: float = MAX_SNAP_M, snap_to: np.ndarray | None = None) -> pd.DataFrame:
    """Attach points to their nearest network node.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    points : GeoDataFrame or GeoSeries
        Points in any CRS.
    max_snap_m : float
        A point further than this from every node is unreachable.
    snap_to : numpy.ndarray of bool, optional
        The nodes points may snap to, one value per graph node (e.g.
        :func:`proximity.network.access_node_mask`, which excludes motorway-only nodes);
        default ``graph.snappable`` (set by :func:`~proximity.network.graph_to_csr` from the
        road classes), or every node when the graph has none.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``node`` (position in the graph), ``node_id`` (id in the
        source graph), ``snap_m`` (straight distance to the node) and ``reachable``
        (``snap_m <= max_snap_m``). Unreachable points keep their nearest node and distance.

    Warns
    -----
    UnreachableWarning
        Some points are beyond ``max_snap_m``; the message counts them.

    Examples
    --------
    >>> snap(csr, firms)  # doctest: +SKIP
          node  node_id  snap_m  reachable
    firm     0        1     0.0       True
    """
    prep = _prepared(graph)
    geom = _check_points(points, "points")
    _check_access(max_snap_m, ACCESS_SPEED_KMH, ACCESS_DETOUR)
    snap_to = _check_snap_to(graph, snap_to)
    s = _snap_points(graph, prep, geom, max_snap_m, ACCESS_SPEED_KMH, ACCESS_DETOUR, snap_to)
    n_far = int((~s.ok).sum())
    if n_far:
        _warn([_far_message(n_far, "points", max_snap_m)])
    return pd.DataFrame(
        {"node": s.node, "node_id": np.asarray(graph.node_ids)[s.node], "snap_m": s.snap_m, "reachable": s.ok},
        index=s.index.copy(),
    )


# --------------------------------------------------------------------------- reachability
def _reach_mask(prep: _Prepared, start_nodes: np.ndarray, *, reverse: bool) -> np.ndarray:
    """Bool per node: reachable from ``start_nodes`` (or, with ``reverse``, reaching them)."""
    labels, cond, cond_t = prep.scc()
    if cond.shape[0] == 1:
        return np.ones(labels.shape[0], dtype=bool)
    starts = np.unique(labels[start_nodes])
    d = dijkstra(cond_t if reverse else cond, directed=True, indices=starts, unweighted=True, min_only=True)
    return np.isfinite(d)[labels]


def _count_unreachable_pairs(prep: _Prepared, o_nodes: np.ndarray, d_nodes: np.ndarray) -> int:
    """Number of (origin, destination) pairs with no directed path, by strong components."""
    labels, cond, _ = prep.scc()
    if cond.shape[0] == 1 or o_nodes.size == 0 or d_nodes.size == 0:
        return 0
    lo, lo_count = np.unique(labels[o_nodes], return_counts=True)
    ld, ld_count = np.unique(labels[d_nodes], return_counts=True)
    total = 0
    step = max(1, _BATCH_BYTES // (8 * cond.shape[0]))
    for a in range(0, lo.size, step):
        d = dijkstra(cond, directed=True, indices=lo[a : a + step], unweighted=True)
        unreachable = ~np.isfinite(d[:, ld])
        total += int((lo_count[a : a + step, None] * ld_count[None, :] * unreachable).sum())
    return total


# --------------------------------------------------------------------------- engines
def _nearest_one(prep: _Prepared, o: _Snapped, o_sel: np.ndarray, f: _Snapped, f_sel: np.ndarray, *, to: bool, max_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Seconds to the nearest facility and its position in ``f`` for the origins ``o_sel``.

    One multi-source Dijkstra: each facility is a virtual node linked to its network node
    by its own off-network leg, so facilities sharing a node keep their exact offsets.
    Travelling *to* facilities means searching from them on the transposed graph.
    """
    base = prep.reverse if to else prep.forward
    n = base.shape[0]
    f_pos = np.flatnonzero(f_sel)
    n_f = f_pos.size
    times = np.full(o_sel.size, np.inf)
    which = np.full(o_sel.size, -1, dtype=np.int64)
    if n_f == 0 or o_sel.size == 0:
        return times, which
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.arange(1, n_f + 1, dtype=np.int32)])
    indices = np.concatenate([base.indices, f.node[f_pos].astype(np.int32)])
    data = np.concatenate([base.data, f.leg_s[f_pos]])  # explicit zeros are edges in csgraph
    aug = sp.csr_matrix((data, indices, indptr), shape=(n + n_f, n + n_f))
    o_leg = o.leg_s[o_sel]
    limit = max(0.0, max_s - float(o_leg.min())) if math.isfinite(max_s) else np.inf
    dist, _, src = dijkstra(aug, directed=True, indices=np.arange(n, n + n_f), min_only=True, return_predecessors=True, limit=limit)
    nodes = o.node[o_sel]
    t = dist[nodes] + o_leg
    s = src[nodes]
    found = (s >= 0) & (t <= max_s)
    times[found] = t[found]
    which[found] = f_pos[s[found] - n]
    return times, which


def _blocks(prep: _Prepared, src_u: np.ndarray, dst_u: np.ndarray, limit: float) -> Iterator[tuple[slice, slice, np.ndarray]]:
    """Network seconds between unique source nodes and unique destination nodes, in blocks.

    Dijkstra runs from the smaller side (on the transposed graph when that is the
    destinations), a batch of sources at a time. Yields ``(rows, cols, M)`` with
    ``M[i, j]`` the time from ``src_u[rows][i]`` to ``dst_u[cols][j]`` (inf beyond ``limit``).
    """
    step = max(1, _BATCH_BYTES // (8 * prep.n))
    if src_u.size <= dst_u.size:
        for a in range(0, src_u.size, step):
            rows = slice(a, min(a + step, src_u.size))
            d = dijkstra(prep.forward, directed=True, indices=src_u[rows], limit=limit)
            yield rows, slice(0, dst_u.size), d[:, dst_u]
    else:
        for a in range(0, dst_u.size, step):
            cols = slice(a, min(a + step, dst_u.size))
            d = dijkstra(prep.reverse, directed=True, indices=dst_u[cols], limit=limit)
            yield slice(0, src_u.size), cols, np.ascontiguousarray(d[:, src_u].T)


@dataclass(frozen=True)
class _Side:
    """Points of one side grouped by their unique node, for block expansion."""

    pos: np.ndarray  # positions (in the _Snapped arrays) of the selected points
    unique: np.ndarray  # unique node positions
    order: np.ndarray  # pos sorted by unique node
    inv_sorted: np.ndarray  # unique-node index of each point in ``order``
    bounds: np.ndarray  # points of unique node u are order[bounds[u]:bounds[u + 1]]

    @classmethod
    def of(cls, s: _Snapped, sel: np.ndarray) -> _Side:
        pos = np.flatnonzero(sel)
        unique, inv = np.unique(s.node[pos], return_inverse=True)
        k = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[k], np.arange(unique.size + 1))
        return cls(pos=pos, unique=unique, order=pos[k], inv_sorted=inv[k], bounds=bounds)

    def points(self, block: slice) -> tuple[np.ndarray, np.ndarray]:
        """Point positions in a block of unique nodes and their local unique index."""
        lo, hi = self.bounds[block.start], self.bounds[block.stop]
        return self.order[lo:hi], self.inv_sorted[lo:hi] - block.start


def _point_blocks(prep: _Prepared, a: _Snapped, a_side: _Side, b: _Snapped, b_side: _Side, max_s: float) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Seconds (legs included) from points ``a`` to points ``b``, inf beyond ``max_s``.

    Yields ``(a_pos, b_pos, T)`` with ``T[i, j]`` the time from ``a_pos[i]`` to ``b_pos[j]``.
    """
    if a_side.pos.size == 0 or b_side.pos.size == 0:
        return
    limit = np.inf
    if math.isfinite(max_s):
        limit = max(0.0, max_s - float(a.leg_s[a_side.pos].min()) - float(b.leg_s[b_side.pos].min()))
    for rows, cols, m in _blocks(prep, a_side.unique, b_side.unique, limit):
        a_pos, a_loc = a_side.points(rows)
        b_pos, b_loc = b_side.points(cols)
        if a_pos.size == 0 or b_pos.size == 0:
            continue
        chunk = max(1, _BLOCK_CELLS // b_pos.size)
        for c in range(0, a_pos.size, chunk):
            ap, al = a_pos[c : c + chunk], a_loc[c : c + chunk]
            t = m[al][:, b_loc]
            t += a.leg_s[ap, None]
            t += b.leg_s[None, b_pos]
            if math.isfinite(max_s):
                t[t > max_s] = np.inf
            yield ap, b_pos, t


def _nearest_k(prep: _Prepared, o: _Snapped, o_sel: np.ndarray, f: _Snapped, f_sel: np.ndarray, *, k: int, to: bool, max_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest times (sorted) and facility positions for every origin (rows of ``o``)."""
    best_t = np.full((len(o.node), k), np.inf)
    best_f = np.full((len(o.node), k), -1, dtype=np.int64)
    o_side, f_side = _Side.of(o, o_sel), _Side.of(f, f_sel)
    blocks = _point_blocks(prep, o, o_side, f, f_side, max_s) if to else _point_blocks(prep, f, f_side, o, o_side, max_s)
    for x_pos, y_pos, t in blocks:
        if to:
            o_pos, f_pos = x_pos, y_pos
        else:
            o_pos, f_pos, t = y_pos, x_pos, t.T
        cand_t = np.concatenate([best_t[o_pos], t], axis=1)
        cand_f = np.concatenate([best_f[o_pos], np.broadcast_to(f_pos, t.shape)], axis=1)
        if cand_t.shape[1] > k:
            part = np.argpartition(cand_t, k - 1, axis=1)[:, :k]
            cand_t = np.take_along_axis(cand_t, part, axis=1)
            cand_f = np.take_along_axis(cand_f, part, axis=1)
        srt = np.argsort(cand_t, axis=1, kind="stable")
        best_t[o_pos] = np.take_along_axis(cand_t, srt, axis=1)
        best_f[o_pos] = np.take_along_axis(cand_f, srt, axis=1)
    best_f[~np.isfinite(best_t)] = -1
    return best_t, best_f


# --------------------------------------------------------------------------- public API
def _ids(index: pd.Index, positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Labels of ``index`` at ``positions``, <NA> where the position is -1 (never NaN)."""
    missing = positions < 0
    safe = np.where(missing, 0, positions)
    if index.dtype.kind == "i":  # -> Int64
        return pd.arrays.IntegerArray(index.to_numpy()[safe].astype(np.int64, copy=False), missing.copy())
    values = index.to_numpy(dtype=object)[safe]
    values[missing] = pd.NA
    if index.inferred_type == "string":
        return pd.array(values, dtype="string")
    return pd.array(values, dtype=object)


def _groups(facilities: Any, by: str | None, n: int) -> list[tuple[Any, np.ndarray]]:
    """(group label, bool mask over facilities) pairs; one group ``None`` when ``by`` is None."""
    if by is None:
        return [(None, np.ones(n, dtype=bool))]
    if not isinstance(facilities, gpd.GeoDataFrame) or by not in facilities.columns:
        have = list(facilities.columns) if isinstance(facilities, gpd.GeoDataFrame) else "a GeoSeries has no columns"
        raise MissingColumnError(f"facilities has no column {by!r} to group by (columns: {have}); pass by=None or add the column")
    col = facilities[by]
    if col.isna().any():
        raise InputError(f"facilities column {by!r} has {int(col.isna().sum())} missing value(s); fill or drop those rows")
    labels = pd.unique(col)
    try:
        labels = sorted(labels)
    except TypeError:
        labels = list(labels)
    values = col.to_numpy()
    return [(g, values == g) for g in labels]


def nearest(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    k: int = 1,
    by: str | None = None,
    max_minutes: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
    direction: str = "to",
) -> pd.DataFrame:
    """The k nearest facilities (in travel time) of every origin, overall or per group.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origins, facilities : GeoDataFrame or GeoSeries
        Points in any CRS; their index labels are the ids in the result.
    k : int
        Number of facilities per origin (and per group).
    by : str, optional
        Column of ``facilities`` whose values form groups (e.g. gateway kind); the k
        nearest are found within each group.
    max_minutes : float, optional
        Cut-off: facilities further than this count as not found (``inf`` / ``<NA>``).
    max_snap_m : float
        A point further than this from the network is unreachable.
    snap_to : numpy.ndarray of bool, optional
        The nodes points may snap to, one value per graph node (e.g.
        :func:`proximity.network.access_node_mask`, which excludes motorway-only nodes);
        default ``graph.snappable`` (set by :func:`~proximity.network.graph_to_csr` from the
        road classes), or every node when the graph has none.
    access_speed_kmh, access_detour : float
        Speed and detour ratio of the off-network legs (see the module notes).
    direction : {"to", "from"}
        ``"to"``: time from each origin to the facilities; ``"from"``: from the
        facilities to each origin (differs on one-way streets).

    Returns
    -------
    pandas.DataFrame
        Long table, ``k`` rows per origin (and group), ordered by origin, group, rank:
        ``origin_id``, ``group`` (only with ``by``; categorical, categories sorted),
        ``rank`` (1 = nearest),
        ``destination_id`` (a facility's index label, ``<NA>`` when none) and ``minutes``
        (``inf`` when none; legs included).

    Warns
    -----
    UnreachableWarning
        Origins or facilities beyond ``max_snap_m``, or origins that reach no facility of a
        group on the directed network; the message counts them.

    Raises
    ------
    InputError
        Empty inputs, non-point geometries, duplicate ids, bad ``k``, ``max_minutes``,
        ``direction`` or access parameters.
    CRSError
        An input has no CRS.
    MissingColumnError
        ``by`` is not a column of ``facilities``.

    Notes
    -----
    With ``k=1`` each group costs one Dijkstra over the whole network: the facilities are
    virtual sources, each linked to its node by its own off-network leg, searched on the
    transposed graph (``direction="to"``). With ``k>1`` one Dijkstra runs per distinct
    node of the smaller side (facilities or origins), in memory-bounded batches, and the
    k best are kept with a partial sort.

    Examples
    --------
    >>> nearest(csr, firms, gateways, by="kind")  # doctest: +SKIP
      origin_id    group  rank destination_id  minutes
    0      firm  airport     1            MPL    18.25
    """
    prep = _prepared(graph)
    o_geom = _check_points(origins, "origins")
    f_geom = _check_points(facilities, "facilities")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    max_s = _check_max_minutes(max_minutes)
    _check_access(max_snap_m, access_speed_kmh, access_detour)
    snap_to = _check_snap_to(graph, snap_to)
    _check_direction(direction)
    groups = _groups(facilities, by, len(f_geom))
    o = _snap_points(graph, prep, o_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    f = _snap_points(graph, prep, f_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    to = direction == "to"

    n_o = len(o.node)
    times, which = [], []
    no_path: list[str] = []
    for label, mask in groups:
        f_sel = mask & f.ok
        if k == 1:
            t1, w1 = _nearest_one(prep, o, np.flatnonzero(o.ok), f, f_sel, to=to, max_s=max_s)
            t = np.full((n_o, 1), np.inf)
            w = np.full((n_o, 1), -1, dtype=np.int64)
            t[o.ok, 0], w[o.ok, 0] = t1, w1
        else:
            t, w = _nearest_k(prep, o, o.ok, f, f_sel, k=k, to=to, max_s=max_s)
        # origins (on the network) with no facility: unreachable, or only beyond the cut-off?
        lost = o.ok & ~np.isfinite(t[:, 0])
        if lost.any():
            if not f_sel.any():
                n_lost = int(lost.sum())
            elif math.isfinite(max_s):
                reach = _reach_mask(prep, f.node[f_sel], reverse=to)
                n_lost = int((lost & ~reach[o.node]).sum())
            else:
                n_lost = int(lost.sum())
            if n_lost:
                where = "" if label is None else f" of group {label!r}"
                no_path.append(f"{n_lost} origin(s) reach no facility{where} on the network (minutes=inf)")
        times.append(t)
        which.append(w)

    parts = []
    if (~o.ok).any():
        parts.append(_far_message(int((~o.ok).sum()), "origins", max_snap_m) + " (minutes=inf)")
    if (~f.ok).any():
        parts.append(_far_message(int((~f.ok).sum()), "facilities", max_snap_m) + " (left out)")
    _warn(parts + no_path)

    n_g = len(groups)
    t_all = np.stack(times, axis=1)  # (n_o, n_g, k)
    w_all = np.stack(which, axis=1)
    out: dict[str, Any] = {"origin_id": o.index.repeat(n_g * k)}
    if by is not None:
        dtype = facilities[by].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            dtype = dtype.categories.dtype
        labels = pd.Index([g for g, _ in groups], dtype=dtype)
        codes = np.tile(np.repeat(np.arange(n_g, dtype=np.int32), k), n_o)
        out["group"] = pd.Categorical.from_codes(codes, categories=labels)
    out["rank"] = np.tile(np.arange(1, k + 1, dtype=np.int64), n_o * n_g)
    out["destination_id"] = _ids(f.index, w_all.ravel())
    out["minutes"] = t_all.ravel() / 60.0
    return pd.DataFrame(out)


def nearest_table(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    by: str | None = None,
    max_minutes: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
    direction: str = "to",
) -> pd.DataFrame:
    """The nearest facility of every origin as a wide table (one row per origin).

    Same computation as :func:`nearest` with ``k=1``, reshaped for scores.

    Parameters
    ----------
    graph, origins, facilities, by, max_minutes, max_snap_m, snap_to, access_speed_kmh, access_detour, direction
        As for :func:`nearest`.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``origins``. Without ``by``: columns ``minutes`` and ``id``; with
        ``by``: ``minutes_<group>`` and ``id_<group>`` for every group (sorted). Minutes are
        ``inf`` and ids ``<NA>`` where no facility is found.

    Warns
    -----
    UnreachableWarning
        As :func:`nearest`.

    Raises
    ------
    InputError, CRSError, MissingColumnError
        As :func:`nearest`.

    Examples
    --------
    >>> nearest_table(csr, firms, gateways, by="kind")  # doctest: +SKIP
          minutes_airport id_airport  minutes_port id_port
    firm            18.25        MPL         31.0     SET
    """
    long = nearest(
        graph, origins, facilities, k=1, by=by, max_minutes=max_minutes, max_snap_m=max_snap_m, snap_to=snap_to,
        access_speed_kmh=access_speed_kmh, access_detour=access_detour, direction=direction,
    )
    index = _check_points(origins, "origins").index
    if by is None:
        return pd.DataFrame({"minutes": long["minutes"].to_numpy(), "id": long["destination_id"].array}, index=index.copy())
    n_o = len(index)
    groups = list(long["group"].iloc[: len(long) // n_o])
    n_g = len(groups)
    cols: dict[str, Any] = {}
    for j, g in enumerate(groups):
        part = long.iloc[j::n_g]
        cols[f"minutes_{g}"] = part["minutes"].to_numpy()
        cols[f"id_{g}"] = part["destination_id"].array
    return pd.DataFrame(cols, index=index.copy())


def od_matrix(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_minutes: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
) -> pd.DataFrame:
    """Travel times from every origin to every destination, as a long table.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origins, destinations : GeoDataFrame or GeoSeries
        Points in any CRS; their index labels are the ids in the result.
    max_minutes : float, optional
        Cut-off: pairs further apart are omitted from the table (no warning).
    max_snap_m, access_speed_kmh, access_detour : float
        Snapping limit and off-network legs (see the module notes).
    snap_to : numpy.ndarray of bool, optional
        The nodes points may snap to, one value per graph node (e.g.
        :func:`proximity.network.access_node_mask`, which excludes motorway-only nodes);
        default ``graph.snappable`` (set by :func:`~proximity.network.graph_to_csr` from the
        road classes), or every node when the graph has none.

    Returns
    -------
    pandas.DataFrame
        ``origin_id``, ``destination_id``, ``minutes`` (legs included), one row per pair
        within the cut-off that has a path, ordered by origin then destination (input
        order). All ``minutes`` are finite.

    Warns
    -----
    UnreachableWarning
        Points beyond ``max_snap_m`` or pairs with no directed path: omitted and counted.

    Raises
    ------
    InputError, CRSError
        Unusable inputs or cut-off.

    Notes
    -----
    Dijkstra runs once per distinct node of the smaller side (on the transposed graph when
    destinations are fewer), with the cut-off as ``limit``, in batches whose distance
    matrices stay under 64 MiB.

    Examples
    --------
    >>> od_matrix(csr, firms, stations, max_minutes=60)  # doctest: +SKIP
      origin_id destination_id  minutes
    0      firm        station      1.0
    """
    prep = _prepared(graph)
    o_geom = _check_points(origins, "origins")
    d_geom = _check_points(destinations, "destinations")
    max_s = _check_max_minutes(max_minutes)
    _check_access(max_snap_m, access_speed_kmh, access_detour)
    snap_to = _check_snap_to(graph, snap_to)
    o = _snap_points(graph, prep, o_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    d = _snap_points(graph, prep, d_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    o_side, d_side = _Side.of(o, o.ok), _Side.of(d, d.ok)
    o_parts, d_parts, t_parts = [], [], []
    n_found = 0
    for op, dp, t in _point_blocks(prep, o, o_side, d, d_side, max_s):
        i, j = np.nonzero(np.isfinite(t))
        o_parts.append(op[i])
        d_parts.append(dp[j])
        t_parts.append(t[i, j])
        n_found += i.size
    if t_parts:
        oi, di, tt = np.concatenate(o_parts), np.concatenate(d_parts), np.concatenate(t_parts)
    else:
        oi = di = np.empty(0, dtype=np.int64)
        tt = np.empty(0)
    srt = np.lexsort((di, oi))
    oi, di, tt = oi[srt], di[srt], tt[srt]

    parts = []
    if (~o.ok).any():
        parts.append(_far_message(int((~o.ok).sum()), "origins", max_snap_m))
    if (~d.ok).any():
        parts.append(_far_message(int((~d.ok).sum()), "destinations", max_snap_m))
    n_pairs = o_side.pos.size * d_side.pos.size
    if n_found < n_pairs:
        no_path = n_pairs - n_found if not math.isfinite(max_s) else _count_unreachable_pairs(prep, o.node[o.ok], d.node[d.ok])
        if no_path:
            parts.append(f"{no_path} origin-destination pair(s) have no path on the directed network (omitted)")
    _warn(parts)
    return pd.DataFrame({"origin_id": o.index.take(oi), "destination_id": d.index.take(di), "minutes": tt / 60.0})


def count_within(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_minutes: float,
    weights: pd.Series | None = None,
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
) -> pd.Series:
    """Number (or weighted sum) of destinations within ``max_minutes`` of each origin.

    The same travel times as :func:`od_matrix` (legs included, cut-off inclusive), summed
    block by block without building the long table: use it for cumulative opportunities
    over many destinations (e.g. SMEs within 45 minutes of every SME).

    Parameters
    ----------
    weights : Series, optional
        Weight per destination id (default 1); missing ids count 0.

    Returns
    -------
    Series
        Indexed like ``origins``, float; an origin beyond ``max_snap_m`` counts 0 (warned).
    """
    prep = _prepared(graph)
    o_geom = _check_points(origins, "origins")
    d_geom = _check_points(destinations, "destinations")
    if max_minutes is None:
        raise InputError("count_within needs a finite max_minutes (e.g. 45)")
    max_s = _check_max_minutes(max_minutes)
    _check_access(max_snap_m, access_speed_kmh, access_detour)
    snap_to = _check_snap_to(graph, snap_to)
    o = _snap_points(graph, prep, o_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    d = _snap_points(graph, prep, d_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    if weights is None:
        w = np.ones(len(d.index))
    else:
        w = pd.Series(weights).reindex(d.index).fillna(0.0).to_numpy(dtype=float)
        if (w < 0).any() or not np.isfinite(w).all():
            raise InputError("weights must be finite and non-negative")
    total = np.zeros(len(o.index))
    o_side, d_side = _Side.of(o, o.ok), _Side.of(d, d.ok)
    for op, dp, t in _point_blocks(prep, o, o_side, d, d_side, max_s):
        total[op] += (t <= max_s) @ w[dp]
    parts = []
    if (~o.ok).any():
        parts.append(_far_message(int((~o.ok).sum()), "origins", max_snap_m) + " (count 0)")
    if (~d.ok).any():
        parts.append(_far_message(int((~d.ok).sum()), "destinations", max_snap_m))
    _warn(parts)
    return pd.Series(total, index=o.index, name=f"within_{max_minutes:g}_minutes")


def _check_thresholds(minutes: Any) -> list[float]:
    values = [minutes] if isinstance(minutes, (int, float, np.number)) else list(minutes) if isinstance(minutes, Sequence | np.ndarray) else None
    if not values:
        raise InputError(f"minutes must be a positive number or a non-empty sequence of them, got {minutes!r}")
    out = []
    for v in values:
        if not isinstance(v, (int, float, np.number)) or isinstance(v, bool) or math.isnan(v) or not math.isfinite(v) or v <= 0:
            raise InputError(f"minutes must hold positive finite numbers of minutes, got {v!r} in {minutes!r}")
        out.append(float(v))
    return sorted(set(out))


def isochrones(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    minutes: float | Sequence[float] = (15, 30, 45),
    *,
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
    direction: str = "from",
    cell_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Areas reachable within given travel times of each origin, as polygons.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origins : GeoDataFrame or GeoSeries
        Points in any CRS.
    minutes : float or sequence of float
        Thresholds (positive); the result has one polygon per origin and threshold.
    max_snap_m, access_speed_kmh, access_detour : float
        Snapping limit and off-network legs (see the module notes).
    snap_to : numpy.ndarray of bool, optional
        The nodes points may snap to, one value per graph node (e.g.
        :func:`proximity.network.access_node_mask`, which excludes motorway-only nodes);
        default ``graph.snappable`` (set by :func:`~proximity.network.graph_to_csr` from the
        road classes), or every node when the graph has none.
    direction : {"from", "to"}
        ``"from"``: where one can get to from the origin; ``"to"``: where one can come
        from to reach the origin.
    cell_m : float, optional
        Grid cell size in metres; default: the longest side of the area for the largest
        threshold divided by 600 (at least 10 m), so each origin costs about the same.

    Returns
    -------
    geopandas.GeoDataFrame
        ``origin_id``, ``minutes``, ``geometry`` (Polygon or MultiPolygon, EPSG:4326),
        ordered by origin then threshold. An unreachable origin (beyond ``max_snap_m``)
        gets empty polygons.

    Notes
    -----
    The travel-time model says a place ``p`` is reached in
    ``min_i t_i + |p - node_i| / v`` where ``t_i`` is the time to network node ``i``
    (origin's leg included), ``v = access_speed_kmh / access_detour`` and
    ``|p - node_i| <= max_snap_m``, or directly ``|p - origin| / v``. This time is
    evaluated at the centres of a square grid aligned on the origin (the best of the 8
    nearest reached nodes of each centre, through a k-d tree), and the cells whose centre
    is reached within ``T`` are polygonised (``rasterio.features.shapes``): the same
    grid-and-contour approach as routing engines' isochrones. Borders are exact to within
    half a cell diagonal; areas follow the roads (tubes along fast roads, holes where the
    network is sparse). The polygons are nested by construction (one time field per
    origin, thresholded) and contain their origin (a cell centre).

    Warns
    -----
    UnreachableWarning
        Origins beyond ``max_snap_m`` (their polygons are empty).

    Examples
    --------
    >>> isochrones(csr, stations, minutes=(15, 30))  # doctest: +SKIP
    """
    prep = _prepared(graph)
    geom = _check_points(origins, "origins")
    thresholds = _check_thresholds(minutes)
    _check_access(max_snap_m, access_speed_kmh, access_detour)
    snap_to = _check_snap_to(graph, snap_to)
    if direction not in ("from", "to"):
        raise InputError(f"direction must be 'from' (areas reachable from the origins) or 'to' (areas the origins can be reached from), got {direction!r}")
    if cell_m is not None and (not isinstance(cell_m, (int, float, np.number)) or isinstance(cell_m, bool) or not math.isfinite(cell_m) or cell_m <= 0):
        raise InputError(f"cell_m must be a positive number of metres or None (automatic), got {cell_m!r}")
    o = _snap_points(graph, prep, geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    base = prep.forward if direction == "from" else prep.reverse
    speed_ms = access_speed_kmh / 3.6 / access_detour
    t_max = thresholds[-1] * 60.0
    xy_nodes = np.column_stack([np.asarray(graph.x, float), np.asarray(graph.y, float)])

    empty = shapely.Polygon()
    geoms: list[list[Any]] = [[empty] * len(thresholds) for _ in range(len(o.node))]
    ok_pos = np.flatnonzero(o.ok)
    if ok_pos.size:
        unique, inv = np.unique(o.node[ok_pos], return_inverse=True)
        step = max(1, _BATCH_BYTES // (8 * prep.n))
        for a in range(0, unique.size, step):
            limit = max(0.0, t_max - float(o.leg_s[ok_pos].min()))
            dist = dijkstra(base, directed=True, indices=unique[a : a + step], limit=limit)
            for p_i in np.flatnonzero((inv >= a) & (inv < a + step)):
                p = ok_pos[p_i]
                t = dist[inv[p_i] - a] + o.leg_s[p]
                geoms[p] = _iso_polygons(t, xy_nodes, o.xy[p], thresholds, speed_ms, max_snap_m, cell_m)
    n_far = int((~o.ok).sum())
    if n_far:
        _warn([_far_message(n_far, "origins", max_snap_m) + " (empty isochrones)"])
    n_t = len(thresholds)
    frame = gpd.GeoDataFrame(
        {
            "origin_id": o.index.repeat(n_t),
            "minutes": np.tile(np.asarray(thresholds), len(o.node)),
        },
        geometry=[g for row in geoms for g in row],
        crs=graph.crs,
    )
    return frame.to_crs("EPSG:4326")


_ISO_K = 8  # reached nodes considered per grid cell
_ISO_CELLS = 600  # default cells along the longest side


def _iso_polygons(t: np.ndarray, xy_nodes: np.ndarray, origin: np.ndarray, thresholds: list[float], speed_ms: float, cap_m: float, cell_m: float | None) -> list[Any]:
    """Polygons (in the graph's CRS) of the places reached within each threshold (minutes)."""
    from affine import Affine
    from rasterio.features import shapes

    t_max = thresholds[-1] * 60.0
    reached = np.flatnonzero(t < t_max)
    pts = xy_nodes[reached]
    t_r = t[reached]
    radius = min(t_max * speed_ms, cap_m)
    lo = np.minimum(pts.min(axis=0), origin) - radius if reached.size else origin - radius
    hi = np.maximum(pts.max(axis=0), origin) + radius if reached.size else origin + radius
    c = float(cell_m) if cell_m is not None else max(10.0, float((hi - lo).max()) / _ISO_CELLS)
    # grid aligned so that the origin is a cell centre
    i0, j0 = math.ceil((origin[0] - lo[0]) / c), math.ceil((origin[1] - lo[1]) / c)
    nx_ = i0 + math.ceil((hi[0] - origin[0]) / c) + 1
    ny_ = j0 + math.ceil((hi[1] - origin[1]) / c) + 1
    xs = origin[0] + (np.arange(nx_) - i0) * c
    ys = origin[1] + (np.arange(ny_) - j0) * c
    field_s = np.empty((ny_, nx_))
    tree = cKDTree(pts) if reached.size else None
    k = min(_ISO_K, reached.size)
    rows = max(1, _BLOCK_CELLS // (nx_ * max(k, 1)))
    for j in range(0, ny_, rows):
        gx, gy = np.meshgrid(xs, ys[j : j + rows])
        q = np.column_stack([gx.ravel(), gy.ravel()])
        d_o = np.hypot(q[:, 0] - origin[0], q[:, 1] - origin[1])
        best = np.where(d_o <= cap_m, d_o / speed_ms, np.inf)
        if tree is not None:
            d, i = tree.query(q, k=k, distance_upper_bound=radius)
            d, i = d.reshape(len(q), k), i.reshape(len(q), k)
            found = i < reached.size
            via = np.where(found, t_r[np.minimum(i, reached.size - 1)] + d / speed_ms, np.inf)
            best = np.minimum(best, via.min(axis=1))
        field_s[j : j + rows] = best.reshape(-1, nx_)
    transform = Affine(c, 0.0, xs[0] - c / 2, 0.0, c, ys[0] - c / 2)
    out = []
    for T in thresholds:
        mask = field_s <= T * 60.0
        parts = [shapely.geometry.shape(g) for g, _ in shapes(mask.astype(np.uint8), mask=mask, transform=transform)]
        out.append(shapely.orient_polygons(shapely.union_all(parts)) if parts else shapely.Polygon())
    return out


def _one_point(point: Any, name: str, crs: str) -> gpd.GeoSeries:
    if isinstance(point, shapely.Point):
        return gpd.GeoSeries([point], index=[name], crs=crs)
    if isinstance(point, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geom = _check_points(point, name)
        if len(geom) != 1:
            raise InputError(f"{name} must hold exactly one point, got {len(geom)}; pass one row")
        return geom
    raise InputError(f"{name} must be a shapely Point (in crs) or a one-point GeoSeries/GeoDataFrame, got {type(point).__name__}")


def route(
    graph: CSRGraph,
    origin_point: Any,
    destination_point: Any,
    *,
    crs: str = "EPSG:4326",
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
) -> dict[str, Any]:
    """The fastest path between two points.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origin_point, destination_point : shapely.Point or one-point GeoSeries/GeoDataFrame
        A bare Point is read in ``crs`` (default lon/lat WGS84).
    crs : str
        CRS of bare Points.
    max_snap_m, access_speed_kmh, access_detour : float
        Snapping limit and off-network legs (see the module notes).
    snap_to : numpy.ndarray of bool, optional
        The nodes points may snap to, one value per graph node (e.g.
        :func:`proximity.network.access_node_mask`, which excludes motorway-only nodes);
        default ``graph.snappable`` (set by :func:`~proximity.network.graph_to_csr` from the
        road classes), or every node when the graph has none.

    Returns
    -------
    dict
        ``minutes`` (legs included, equal to :func:`od_matrix`), ``km`` (network length
        plus the two off-network legs, ``snap_m * access_detour`` each), ``coords`` (list
        of ``(lon, lat)``: origin, the path's nodes, destination; straight lines between
        nodes since the graph keeps no edge geometry) and ``node_ids`` (ids in the source
        graph). With no path: ``minutes`` and ``km`` are ``inf`` and the lists empty.

    Warns
    -----
    UnreachableWarning
        A point is beyond ``max_snap_m`` or no directed path exists.

    Examples
    --------
    >>> route(csr, Point(3.88, 43.61), Point(3.70, 43.40))  # doctest: +SKIP
    {'minutes': 31.2, 'km': 33.9, 'coords': [...], 'node_ids': [...]}
    """
    prep = _prepared(graph)
    a_geom = _one_point(origin_point, "origin_point", crs)
    b_geom = _one_point(destination_point, "destination_point", crs)
    _check_access(max_snap_m, access_speed_kmh, access_detour)
    snap_to = _check_snap_to(graph, snap_to)
    a = _snap_points(graph, prep, a_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    b = _snap_points(graph, prep, b_geom, max_snap_m, access_speed_kmh, access_detour, snap_to)
    none: dict[str, Any] = {"minutes": math.inf, "km": math.inf, "coords": [], "node_ids": []}
    far = [nm for nm, s in (("origin_point", a), ("destination_point", b)) if not s.ok[0]]
    if far:
        _warn([f"{' and '.join(far)} more than {max_snap_m:g} m from the network: no route (raise max_snap_m or extend the network)"])
        return none
    u, v = int(a.node[0]), int(b.node[0])
    dist, pred = dijkstra(prep.forward, directed=True, indices=u, return_predecessors=True)
    if not np.isfinite(dist[v]):
        _warn(["no path from origin_point to destination_point on the directed network"])
        return none
    path = [v]
    while path[-1] != u:
        path.append(int(pred[path[-1]]))
    path = np.asarray(path[::-1], dtype=np.int64)
    length_m = float(np.asarray(graph.length_m[path[:-1], path[1:]]).sum()) if path.size > 1 else 0.0
    legs_m = (a.snap_m[0] + b.snap_m[0]) * access_detour
    seconds = float(dist[v]) + float(a.leg_s[0]) + float(b.leg_s[0])
    xs = np.concatenate([[a.xy[0, 0]], np.asarray(graph.x, float)[path], [b.xy[0, 0]]])
    ys = np.concatenate([[a.xy[0, 1]], np.asarray(graph.y, float)[path], [b.xy[0, 1]]])
    lon, lat = pyproj.Transformer.from_crs(graph.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    return {
        "minutes": seconds / 60.0,
        "km": float(length_m + legs_m) / 1000.0,
        "coords": [(float(x), float(y)) for x, y in zip(lon, lat)],
        "node_ids": [int(i) for i in np.asarray(graph.node_ids)[path]],
    }


def route_latlon(graph: CSRGraph, origin: tuple[float, float], destination: tuple[float, float], **kwargs: Any) -> dict[str, Any]:
    """:func:`route` between two ``(lat, lon)`` pairs in WGS84 (for ``proximity route``).

    Examples
    --------
    >>> route_latlon(csr, (43.6086, 3.8797), (43.4028, 3.6958))  # doctest: +SKIP
    """
    for name, value in (("origin", origin), ("destination", destination)):
        try:
            lat, lon = (float(v) for v in value)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a (lat, lon) pair of numbers, got {value!r}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(f"{name} {value!r} is not a (lat, lon) pair in degrees")
    return route(graph, shapely.Point(origin[1], origin[0]), shapely.Point(destination[1], destination[0]), crs="EPSG:4326", **kwargs)
