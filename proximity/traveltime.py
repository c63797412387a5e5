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
    A point is attached to the nearest point *on an edge* of the network (straight-line
    distance ``snap_m``), as if the edge were split there: the trip continues to both ends
    of the edge with the partial edge times, along the directions the edge allows (one-way
    edges are respected). Points never snap onto a motorway, a motorway link or a trunk
    link (only onto roads with access, ``graph.snappable_edges``), nor onto nodes outside
    ``snap_to``. A point more than ``max_snap_m`` (default :data:`MAX_SNAP_M`) from every
    allowed edge is *unreachable*: it is kept in the results with ``minutes = inf`` and
    counted in an :class:`~proximity.errors.UnreachableWarning`, never silently dropped.
Off-network legs
    The trip from a point to its snapped point (and from a facility's snapped point to the
    facility) is part of every travel time: ``snap_m * access_detour`` metres at
    ``access_speed_kmh`` (defaults :data:`proximity.network.ACCESS_DETOUR` = 1.3 and
    :data:`proximity.network.ACCESS_SPEED_KMH` = 20 km/h, re-exported here: a point 1 km
    from the road adds 3.9 minutes). A point more than 100 m from the network may also
    reach up to 3 other places on the network within twice its distance (and at most 500 m
    further than its nearest place), each with its own
    longer leg, whichever is fastest (the nearest road may be a dead end while a through
    road is a little further).
Direct trips
    Two points on the same edge travel along it. Two points closer to each other than the
    sum of their distances to the network (``|p - q| <= snap_p + snap_q``: they share their
    way to the road) travel straight at the access speed, ``|p - q| * access_detour``; in
    particular a point is 0 minutes from itself.
Coordinates
    NaN or infinite coordinates, degrees out of range, and points far outside the network
    that land on it once their coordinates are swapped (lat/lon order) or read in another
    CRS raise an :class:`~proximity.errors.InputError` (a
    :class:`~proximity.errors.CRSError`) naming the argument and the fix.
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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from . import _engine as engine
from ._engine import MAX_SNAP_M
from .errors import InputError, MissingColumnError
from .network import ACCESS_DETOUR, ACCESS_SPEED_KMH, CSRGraph

__all__ = [
    "ACCESS_DETOUR",
    "ACCESS_SPEED_KMH",
    "MAX_SNAP_M",
    "Route",
    "check_latlon",
    "isochrones",
    "nearest",
    "nearest_table",
    "network_bounds_wgs84",
    "od_matrix",
    "count_within",
    "route",
    "route_latlon",
    "snap",
]

# ACCESS_SPEED_KMH (km/h of the off-network leg) and ACCESS_DETOUR (its length over the
# straight distance) come from proximity.network, and MAX_SNAP_M (metres: a point further
# from every allowed edge is unreachable) from the engine, so every module uses one convention.


def snap(
    graph: CSRGraph,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
) -> pd.DataFrame:
    """Attach points to the nearest point on an edge of the network.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    points : GeoDataFrame or GeoSeries
        Points in any CRS.
    max_snap_m : float
        A point further than this from every allowed edge is unreachable.
    snap_to : numpy.ndarray of bool, optional
        The nodes points may reach, one value per graph node (e.g.
        :func:`proximity.network.access_node_mask`, which excludes motorway-only nodes): a
        point snaps onto edges whose two ends are allowed (and that have road access,
        ``graph.snappable_edges``); default ``graph.snappable`` (set by
        :func:`~proximity.network.graph_to_csr` from the road classes), or every node
        when the graph has none.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``u_id`` and ``v_id`` (the edge's end nodes, ids in the
        source graph; equal when the point is on a node), ``fraction`` (position of the
        snapped point from ``u`` to ``v``, 0 to 1), ``node`` and ``node_id`` (the end
        nearer to the snapped point: position in the graph and id), ``snap_m`` (straight
        distance to the snapped point) and ``reachable`` (``snap_m <= max_snap_m``).
        Unreachable points keep their nearest allowed node and distance.

    Raises
    ------
    InputError
        Unusable points (see the module notes on coordinates) or options.

    Warns
    -----
    UnreachableWarning
        Some points are beyond ``max_snap_m``; the message counts them.

    Examples
    --------
    >>> import geopandas as gpd, networkx as nx
    >>> from shapely.geometry import Point
    >>> from proximity.network import graph_to_csr
    >>> G = nx.MultiDiGraph(crs="EPSG:2154")
    >>> G.add_nodes_from([(1, {"x": 0.0, "y": 0.0}), (2, {"x": 1000.0, "y": 0.0})])
    >>> _ = G.add_edge(1, 2, travel_time=60.0, length=1000.0)
    >>> firms = gpd.GeoSeries([Point(250, 30), Point(1000, 0)], index=["a", "b"], crs="EPSG:2154")
    >>> snap(graph_to_csr(G), firms)
       u_id  v_id  fraction  node  node_id  snap_m  reachable
    a     1     2      0.25     0        1    30.0       True
    b     2     2      0.00     1        2     0.0       True
    """
    prep = engine.prepared(graph)
    geom = engine.check_points(points, "points")
    opts = engine.snap_options(graph, snap_to, max_snap_m, ACCESS_SPEED_KMH, ACCESS_DETOUR)
    s = engine.snap_points(graph, prep, geom, name="points", **opts)
    engine.warn(engine.far_messages(max_snap_m, (s, "points", "")))
    ids = np.asarray(graph.node_ids)
    return pd.DataFrame(
        {
            "u_id": ids[s.out_node[:, 0]],
            "v_id": ids[s.out_node[:, 1]],
            "fraction": s.frac,
            "node": s.node,
            "node_id": ids[s.node],
            "snap_m": s.snap_m,
            "reachable": s.ok,
        },
        index=s.index.copy(),
    )


# --------------------------------------------------------------------------- public API
def _nearest_k(
    prep: engine.Prepared,
    o: engine.Snapped,
    o_sel: np.ndarray,
    f: engine.Snapped,
    f_sel: np.ndarray,
    *,
    k: int,
    to: bool,
    max_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest times (sorted) and facility positions for every origin (rows of ``o``)."""
    best_t = np.full((len(o.index), k), np.inf)
    best_f = np.full((len(o.index), k), -1, dtype=np.int64)
    blocks = (
        engine.point_blocks(prep, o, o_sel, f, f_sel, max_s)
        if to
        else engine.point_blocks(prep, f, f_sel, o, o_sel, max_s)
    )
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
    return pd.array(values, dtype=object)  # type: ignore[arg-type]  # pandas-stubs omit object arrays


def _groups(facilities: Any, by: str | None, n: int) -> list[tuple[Any, np.ndarray]]:
    """(group label, bool mask over facilities) pairs; one group ``None`` when ``by`` is None."""
    if by is None:
        return [(None, np.ones(n, dtype=bool))]
    if not isinstance(facilities, gpd.GeoDataFrame) or by not in facilities.columns:
        have = list(facilities.columns) if isinstance(facilities, gpd.GeoDataFrame) else "a GeoSeries has no columns"
        raise MissingColumnError(
            f"facilities has no column {by!r} to group by (columns: {have}); pass by=None or add the column"
        )
    col = facilities[by]
    if col.isna().any():
        raise InputError(
            f"facilities column {by!r} has {int(col.isna().sum())} missing value(s); fill or drop those rows"
        )
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
    prep = engine.prepared(graph)
    o_geom = engine.check_points(origins, "origins")
    f_geom = engine.check_points(facilities, "facilities")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    max_s = engine.check_max_minutes(max_minutes)
    opts = engine.snap_options(graph, snap_to, max_snap_m, access_speed_kmh, access_detour)
    engine.check_direction(direction)
    groups = _groups(facilities, by, len(f_geom))
    o = engine.snap_points(graph, prep, o_geom, name="origins", **opts)
    f = engine.snap_points(graph, prep, f_geom, name="facilities", **opts)
    to = direction == "to"
    o_ok = np.flatnonzero(o.ok)
    # direct trips, found once for every group
    direct = engine.direct_pairs(o, o_ok, f, np.flatnonzero(f.ok))
    if not to:
        direct = engine.direct_pairs(f, np.flatnonzero(f.ok), o, o_ok)
        direct = (direct[1], direct[0], direct[2])

    n_o = len(o.index)
    times, which = [], []
    no_path: list[str] = []
    for label, mask in groups:
        f_sel = mask & f.ok
        if k == 1:
            t1, w1 = engine.nearest_one(prep, o, o_ok, f, f_sel, to=to, max_s=max_s, direct=direct)
            t = np.full((n_o, 1), np.inf)
            w = np.full((n_o, 1), -1, dtype=np.int64)
            t[o.ok, 0], w[o.ok, 0] = t1, w1
        else:
            t, w = _nearest_k(prep, o, o_ok, f, np.flatnonzero(f_sel), k=k, to=to, max_s=max_s)
        # origins (on the network) with no facility: unreachable, or only beyond the cut-off?
        lost = o.ok & ~np.isfinite(t[:, 0])
        if lost.any():
            if not f_sel.any():
                n_lost = int(lost.sum())
            elif math.isfinite(max_s):
                f_pos = np.flatnonzero(f_sel)
                reach = engine.reach_mask(prep, engine.entry_nodes(f, f_pos, out=not to), reverse=to)
                lost_pos = np.flatnonzero(lost)
                n_lost = int((~engine.reaches_any(o, lost_pos, reach, out=to)).sum())
            else:
                n_lost = int(lost.sum())
            if n_lost:
                where = "" if label is None else f" of group {label!r}"
                no_path.append(f"{n_lost} origin(s) reach no facility{where} on the network (minutes=inf)")
        times.append(t)
        which.append(w)

    parts = engine.far_messages(max_snap_m, (o, "origins", " (minutes=inf)"), (f, "facilities", " (left out)"))
    engine.warn(parts + no_path)

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
        graph,
        origins,
        facilities,
        k=1,
        by=by,
        max_minutes=max_minutes,
        max_snap_m=max_snap_m,
        snap_to=snap_to,
        access_speed_kmh=access_speed_kmh,
        access_detour=access_detour,
        direction=direction,
    )
    index = engine.check_points(origins, "origins").index
    if by is None:
        return pd.DataFrame(
            {"minutes": long["minutes"].to_numpy(), "id": long["destination_id"].array}, index=index.copy()
        )
    n_o = len(index)
    groups = list(long["group"].iloc[: len(long) // n_o])
    n_g = len(groups)
    cols: dict[str, Any] = {}
    for j, g in enumerate(groups):
        part = long.iloc[j::n_g]
        cols[f"minutes_{g}"] = part["minutes"].to_numpy()
        cols[f"id_{g}"] = part["destination_id"].array
    return pd.DataFrame(cols, index=index.copy())


def _pair_unreachable(
    prep: engine.Prepared, a: engine.Snapped, ai: np.ndarray, b: engine.Snapped, bi: np.ndarray
) -> np.ndarray:
    """Bool per pair (a[ai], b[bi]): no directed network path between their entries."""
    _labels, cond, _ = prep.scc()
    if cond.shape[0] == 1:
        return np.zeros(ai.size, dtype=bool)
    out = np.ones(ai.size, dtype=bool)
    for e in range(a.out_s.shape[1]):
        start = np.where(np.isfinite(a.out_s[ai, e]), a.out_node[ai, e], -1)
        for s_ in np.unique(start[start >= 0]):
            reach = engine.reach_mask(prep, np.array([s_]), reverse=False)
            rows = np.flatnonzero(start == s_)
            out[rows] &= ~engine.reaches_any(b, bi[rows], reach, out=False)
    return out


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
    prep = engine.prepared(graph)
    o_geom = engine.check_points(origins, "origins")
    d_geom = engine.check_points(destinations, "destinations")
    max_s = engine.check_max_minutes(max_minutes)
    opts = engine.snap_options(graph, snap_to, max_snap_m, access_speed_kmh, access_detour)
    o = engine.snap_points(graph, prep, o_geom, name="origins", **opts)
    d = engine.snap_points(graph, prep, d_geom, name="destinations", **opts)
    o_ok, d_ok = np.flatnonzero(o.ok), np.flatnonzero(d.ok)
    o_parts, d_parts, t_parts = [], [], []
    n_found = 0
    for op, dp, t in engine.point_blocks(prep, o, o_ok, d, d_ok, max_s):
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

    parts = engine.far_messages(max_snap_m, (o, "origins", ""), (d, "destinations", ""))
    n_pairs = o_ok.size * d_ok.size
    if n_found < n_pairs:
        no_path = n_pairs - n_found
        if math.isfinite(max_s):
            no_path = engine.count_unreachable_pairs(prep, o, o_ok, d, d_ok)
            if no_path:  # direct trips (same edge, off the network) need no path
                ai, bi, _ = engine.direct_pairs(o, o_ok, d, d_ok)
                if ai.size:
                    no_path -= int(np.count_nonzero(_pair_unreachable(prep, o, ai, d, bi)))
        if no_path:
            parts.append(f"{no_path} origin-destination pair(s) have no path on the directed network (omitted)")
    engine.warn(parts)
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
    w = None if weights is None else pd.DataFrame({"w": pd.Series(weights)})
    total = _counts_within(
        graph,
        origins,
        destinations,
        max_minutes=max_minutes,
        weights=w,
        max_snap_m=max_snap_m,
        snap_to=snap_to,
        access_speed_kmh=access_speed_kmh,
        access_detour=access_detour,
    )
    return pd.Series(total.iloc[:, 0].to_numpy(), index=total.index, name=f"within_{max_minutes:g}_minutes")


def _counts_within(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_minutes: float,
    weights: pd.DataFrame | None = None,
    per: str = "origins",
    max_snap_m: float = MAX_SNAP_M,
    snap_to: np.ndarray | None = None,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
) -> pd.DataFrame:
    """:func:`count_within` for several weight columns at once (one Dijkstra pass): a column per weight column.

    With ``per="destinations"`` the roles swap: each destination sums the ``weights``
    (indexed by origin id) of the origins within ``max_minutes`` of it (trips still go
    from origins to destinations), e.g. the demand of a facility.
    """
    if per not in ("origins", "destinations"):
        raise InputError(f"per must be 'origins' or 'destinations', not {per!r}")
    prep = engine.prepared(graph)
    o_geom = engine.check_points(origins, "origins")
    d_geom = engine.check_points(destinations, "destinations")
    if max_minutes is None:
        raise InputError("count_within needs a finite max_minutes (e.g. 45)")
    max_s = engine.check_max_minutes(max_minutes)
    opts = engine.snap_options(graph, snap_to, max_snap_m, access_speed_kmh, access_detour)
    o = engine.snap_points(graph, prep, o_geom, name="origins", **opts)
    d = engine.snap_points(graph, prep, d_geom, name="destinations", **opts)
    summed, kept = (d, o) if per == "origins" else (o, d)
    if weights is None:
        weights = pd.DataFrame({"count": 1.0}, index=summed.index)
    w = weights.reindex(summed.index).fillna(0.0).to_numpy(dtype=float)
    if (w < 0).any() or not np.isfinite(w).all():
        raise InputError("weights must be finite and non-negative")
    total = engine.count_within_points(
        prep, o, np.flatnonzero(o.ok), d, np.flatnonzero(d.ok), max_s, w, per="a" if per == "origins" else "b"
    )
    zero = " (count 0)"
    parts = engine.far_messages(
        max_snap_m,
        (o, "origins", zero if per == "origins" else ""),
        (d, "destinations", zero if per == "destinations" else ""),
    )
    engine.warn(parts, stacklevel=4)
    return pd.DataFrame(total, index=kept.index, columns=weights.columns)


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
    prep = engine.prepared(graph)
    geom = engine.check_points(origins, "origins")
    thresholds = engine.check_thresholds(minutes)
    opts = engine.snap_options(graph, snap_to, max_snap_m, access_speed_kmh, access_detour)
    if direction not in ("from", "to"):
        raise InputError(
            f"direction must be 'from' (areas reachable from the origins) or 'to' (areas the origins can be reached from), got {direction!r}"
        )
    if cell_m is not None and (
        not isinstance(cell_m, (int, float, np.number))
        or isinstance(cell_m, bool)
        or not math.isfinite(cell_m)
        or cell_m <= 0
    ):
        raise InputError(f"cell_m must be a positive number of metres or None (automatic), got {cell_m!r}")
    o = engine.snap_points(graph, prep, geom, name="origins", **opts)
    speed_ms = access_speed_kmh / 3.6 / access_detour
    t_max = thresholds[-1] * 60.0
    n = prep.n

    empty = shapely.Polygon()
    geoms: list[list[Any]] = [[empty] * len(thresholds) for _ in range(len(o.index))]
    ok_pos = np.flatnonzero(o.ok)
    if ok_pos.size:
        # each origin a virtual source on its edge (from: leaving it; to: arriving at it)
        nodes, part = o.entries(out=direction == "from")
        aug = engine.augment(prep.forward if direction == "from" else prep.reverse, nodes[ok_pos], part[ok_pos])
        step = max(1, engine.BATCH_BYTES // (8 * (n + ok_pos.size)))
        limit = max(0.0, t_max - float(o.leg_s[ok_pos].min()))
        for a in range(0, ok_pos.size, step):
            dist = dijkstra(aug, directed=True, indices=n + np.arange(a, min(a + step, ok_pos.size)), limit=limit)
            for r, p in enumerate(ok_pos[a : a + step]):
                t = dist[r, :n] + o.leg_s[p]
                geoms[p] = _iso_polygons(t, prep.xy, o.xy[p], thresholds, speed_ms, max_snap_m, cell_m)
    engine.warn(engine.far_messages(max_snap_m, (o, "origins", " (empty isochrones)")))
    n_t = len(thresholds)
    frame = gpd.GeoDataFrame(
        {
            "origin_id": o.index.repeat(n_t),
            "minutes": np.tile(np.asarray(thresholds), len(o.index)),
        },
        geometry=[g for row in geoms for g in row],
        crs=graph.crs,
    )
    return frame.to_crs("EPSG:4326")


_ISO_K = 8  # reached nodes considered per grid cell
_ISO_CELLS = 600  # default cells along the longest side


def _iso_polygons(
    t: np.ndarray,
    xy_nodes: np.ndarray,
    origin: np.ndarray,
    thresholds: list[float],
    speed_ms: float,
    cap_m: float,
    cell_m: float | None,
) -> list[Any]:
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
    rows = max(1, engine.BLOCK_CELLS // (nx_ * max(k, 1)))
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
        geom = engine.check_points(point, name)
        if len(geom) != 1:
            raise InputError(f"{name} must hold exactly one point, got {len(geom)}; pass one row")
        return geom
    raise InputError(
        f"{name} must be a shapely Point (in crs) or a one-point GeoSeries/GeoDataFrame, got {type(point).__name__}"
    )


@dataclass(frozen=True)
class Route:
    """The fastest path between two points (:func:`route`).

    Attributes
    ----------
    minutes : float
        Travel time, the two off-network legs included (equal to :func:`od_matrix`);
        ``inf`` when there is no route.
    km : float
        Network length plus the two off-network legs (``snap_m * access_detour`` each);
        ``inf`` when there is no route.
    coords : tuple of (lon, lat)
        Origin, its attachment point on the network, the path's nodes, the destination's
        attachment point, destination (repeated points dropped; straight lines between
        them: the graph keeps no edge geometry); empty when there is no route.
    node_ids : tuple of int
        The path's node ids in the source graph; empty when there is no route or for a
        direct trip (along one edge, or straight between two close points).
    """

    minutes: float
    km: float
    coords: tuple[tuple[float, float], ...]
    node_ids: tuple[int, ...]

    @property
    def found(self) -> bool:
        """True when a route exists."""
        return bool(self.coords)

    @property
    def line(self) -> shapely.LineString | None:
        """The route as a WGS84 LineString (None when there is no route)."""
        return shapely.LineString(self.coords) if len(self.coords) >= 2 else None


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
) -> Route:
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
    Route
        ``minutes``, ``km``, ``coords`` (``(lon, lat)`` pairs) and ``node_ids``. With no
        path: ``minutes`` and ``km`` are ``inf`` and the tuples empty.

    Warns
    -----
    UnreachableWarning
        A point is beyond ``max_snap_m`` or no directed path exists.

    Examples
    --------
    >>> r = route(csr, Point(3.88, 43.61), Point(3.70, 43.40))  # doctest: +SKIP
    >>> round(r.minutes, 1), round(r.km, 1)  # doctest: +SKIP
    (31.2, 33.9)
    """
    prep = engine.prepared(graph)
    a_geom = _one_point(origin_point, "origin_point", crs)
    b_geom = _one_point(destination_point, "destination_point", crs)
    opts = engine.snap_options(graph, snap_to, max_snap_m, access_speed_kmh, access_detour)
    a = engine.snap_points(graph, prep, a_geom, name="origin_point", **opts)
    b = engine.snap_points(graph, prep, b_geom, name="destination_point", **opts)
    none = Route(minutes=math.inf, km=math.inf, coords=(), node_ids=())
    far = [nm for nm, s in (("origin_point", a), ("destination_point", b)) if not s.ok[0]]
    if far:
        engine.warn(
            [
                f"{' and '.join(far)} more than {max_snap_m:g} m from the network: no route (raise max_snap_m or extend the network)"
            ]
        )
        return none
    n = prep.n
    legs_s = float(a.leg_s[0]) + float(b.leg_s[0])
    # the network: the origin is a virtual source on its edge(s), the destination is reached by its entries
    aug = engine.augment(prep.forward, a.out_node[:1], a.out_s[:1])
    dist, pred = dijkstra(aug, directed=True, indices=n, return_predecessors=True)
    arrive = dist[b.in_node[0]] + b.in_s[0]
    e_b = int(np.argmin(arrive))
    best: dict[str, Any] = {"seconds": float(arrive[e_b]) + legs_s, "kind": "network"}
    # direct trips: along the shared edge, or straight between points closer than their legs
    for c_a in range(a.cand_seg.shape[1]):
        for c_b in range(b.cand_seg.shape[1]):
            if a.cand_seg[0, c_a] < 0 or a.cand_seg[0, c_a] != b.cand_seg[0, c_b]:
                continue
            fa, fb = float(a.cand_frac[0, c_a]), float(b.cand_frac[0, c_b])
            t = float(engine._along(np.array(abs(fb - fa)), np.array(a.cand_t[0, c_a, 0 if fb >= fa else 1])))
            t += (a.cand_m[0, c_a] + b.cand_m[0, c_b]) * a.seconds_per_m
            if t < best["seconds"]:
                best = {"seconds": t, "kind": "edge", "c": (c_a, c_b)}
    straight_m = float(np.hypot(*(a.xy[0] - b.xy[0])))
    if straight_m <= a.snap_m[0] + b.snap_m[0] + 1e-9 and straight_m * a.seconds_per_m <= best["seconds"]:
        best = {"seconds": straight_m * a.seconds_per_m, "kind": "straight"}
    if not math.isfinite(best["seconds"]):
        engine.warn(["no path from origin_point to destination_point on the directed network"])
        return none
    ids = np.asarray(graph.node_ids)
    length = graph.length_m
    path = np.empty(0, dtype=np.int64)
    if best["kind"] == "straight":
        xy = np.vstack([a.xy[:1], b.xy[:1]])
        km = straight_m * access_detour / 1000.0
    elif best["kind"] == "edge":
        c_a, c_b = best["c"]
        fa, fb = float(a.cand_frac[0, c_a]), float(b.cand_frac[0, c_b])
        u, v = int(a.out_node[0, 2 * c_a]), int(a.out_node[0, 2 * c_a + 1])
        edge_m = float(length[u, v]) if fb >= fa else float(length[v, u])
        xy = np.vstack([a.xy[:1], a.cand_xy[0, c_a][None], b.cand_xy[0, c_b][None], b.xy[:1]])
        km = (abs(fb - fa) * edge_m + (a.cand_m[0, c_a] + b.cand_m[0, c_b]) * access_detour) / 1000.0
    else:
        end = int(b.in_node[0, e_b])
        nodes = [end]
        while pred[nodes[-1]] != n:
            nodes.append(int(pred[nodes[-1]]))
        path = np.asarray(nodes[::-1], dtype=np.int64)
        # the origin's entry used: the cheapest link to the path's first node
        links = np.flatnonzero(a.out_node[0] == path[0])
        e_a = int(links[np.argmin(a.out_s[0, links])])
        c_a, c_b = e_a // 2, e_b // 2
        net_m = float(np.asarray(length[path[:-1], path[1:]]).sum()) if path.size > 1 else 0.0
        net_m += _partial_m(length, a, e_a, leaving=True) + _partial_m(length, b, e_b, leaving=False)
        legs_m = (a.cand_m[0, c_a] + b.cand_m[0, c_b]) * access_detour
        xy = np.vstack([a.xy[:1], a.cand_xy[0, c_a][None], prep.xy[path], b.cand_xy[0, c_b][None], b.xy[:1]])
        km = (net_m + legs_m) / 1000.0
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = (np.diff(xy, axis=0) != 0).any(axis=1)
    xy = xy[keep] if keep.sum() >= 2 else xy[[0, -1]]
    lon, lat = pyproj.Transformer.from_crs(graph.crs, "EPSG:4326", always_xy=True).transform(xy[:, 0], xy[:, 1])
    return Route(
        minutes=best["seconds"] / 60.0,
        km=float(km),
        coords=tuple((float(x), float(y)) for x, y in zip(lon, lat, strict=True)),
        node_ids=tuple(int(i) for i in ids[path]),
    )


def _partial_m(length: Any, s: engine.Snapped, e: int, *, leaving: bool) -> float:
    """Metres along the edge between a point's attachment and its entry ``e`` (``2c``: end a, ``2c + 1``: end b)."""
    c = e // 2
    u, v = int(s.out_node[0, 2 * c]), int(s.out_node[0, 2 * c + 1])
    if u == v:
        return 0.0
    f = float(s.cand_frac[0, c])
    # leaving towards a runs b -> a over f; arriving from a runs a -> b over f (and so on)
    if e % 2 == 0:
        frac, (i, j) = f, ((v, u) if leaving else (u, v))
    else:
        frac, (i, j) = 1.0 - f, ((u, v) if leaving else (v, u))
    edge_m = float(length[i, j])
    if edge_m == 0.0 and frac > 0:  # not stored that way: the other direction's length
        edge_m = float(length[j, i])
    return frac * edge_m


def network_bounds_wgs84(graph: CSRGraph, *, margin_m: float = 0.0) -> tuple[float, float, float, float]:
    """``(lon_min, lat_min, lon_max, lat_max)`` of a network's nodes, widened by ``margin_m`` metres."""
    x, y = np.asarray(graph.x, float), np.asarray(graph.y, float)
    if x.size == 0:
        raise InputError("graph has no nodes; build the network of a territory first")
    box = (x.min() - margin_m, y.min() - margin_m, x.max() + margin_m, y.max() + margin_m)
    return tuple(
        float(v) for v in pyproj.Transformer.from_crs(graph.crs, "EPSG:4326", always_xy=True).transform_bounds(*box)
    )  # type: ignore[return-value]


def check_latlon(
    value: Any, *, name: str = "point", bounds_wgs84: Sequence[float] | None = None, area: str = "the network's extent"
) -> tuple[float, float]:
    """A ``(lat, lon)`` pair in degrees, checked against plausible bounds.

    Parameters
    ----------
    value : pair of numbers
        ``(lat, lon)`` in WGS84 degrees.
    name : str
        How the error names the input (e.g. ``"origin"`` or ``"--from"``).
    bounds_wgs84 : sequence of 4 floats, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` the point must lie in (e.g. a territory
        manifest's ``bounds_wgs84`` or :func:`network_bounds_wgs84`); unchecked if None.
    area : str
        How the error names the bounds (e.g. ``"the herault territory"``).

    Returns
    -------
    tuple of float
        ``(lat, lon)``.

    Raises
    ------
    InputError
        Not a pair of numbers, not degrees, or outside the bounds; when the swapped pair
        would lie inside, the message says that latitude and longitude look swapped.

    Examples
    --------
    >>> check_latlon((3.8797, 43.6086), bounds_wgs84=(2.5, 42.9, 4.5, 44.1))
    Traceback (most recent call last):
    ...
    proximity.errors.InputError: point 3.8797,43.6086 is outside the network's extent (lat 42.9–44.1, lon 2.5–4.5) (latitude and longitude look swapped: write LAT,LON)
    """
    try:
        lat, lon = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a (lat, lon) pair of numbers, got {value!r}") from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InputError(f"{name} {value!r} has NaN or infinite coordinates; pass a finite (lat, lon) pair in degrees")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{name} {value!r} is not a (lat, lon) pair in degrees")
    if bounds_wgs84 is not None:
        x0, y0, x1, y1 = (float(v) for v in bounds_wgs84)
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            hint = (
                " (latitude and longitude look swapped: write LAT,LON)" if (x0 <= lat <= x1 and y0 <= lon <= y1) else ""
            )
            raise InputError(f"{name} {lat:g},{lon:g} is outside {area} (lat {y0:g}–{y1:g}, lon {x0:g}–{x1:g}){hint}")
    return lat, lon


def route_latlon(
    graph: CSRGraph,
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    bounds_wgs84: Sequence[float] | None = None,
    **kwargs: Any,
) -> Route:
    """:func:`route` between two ``(lat, lon)`` pairs in WGS84 (for ``proximity route``).

    Both points are checked with :func:`check_latlon` against ``bounds_wgs84``, so that
    swapped coordinates fail with a hint instead of returning no route.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origin, destination : pair of float
        ``(lat, lon)`` in WGS84 degrees, latitude first.
    bounds_wgs84 : sequence of 4 floats, optional
        ``(lon_min, lat_min, lon_max, lat_max)`` the points must lie in. Default: the
        network's nodes widened by the snapping limit (``max_snap_m`` when given, else
        :data:`MAX_SNAP_M`), see :func:`network_bounds_wgs84`.
    **kwargs
        The options of :func:`route` but ``crs`` (fixed to EPSG:4326): ``max_snap_m``
        (metres), ``snap_to``, ``access_speed_kmh`` (km/h) and ``access_detour``.

    Returns
    -------
    Route
        As :func:`route`: ``minutes``, ``km``, ``coords`` (``(lon, lat)`` pairs) and
        ``node_ids``; ``minutes`` and ``km`` are ``inf`` when there is no route.

    Warns
    -----
    UnreachableWarning
        A point is beyond ``max_snap_m`` from the network or no directed path exists.

    Raises
    ------
    InputError
        A point is not a ``(lat, lon)`` pair of finite degrees or lies outside the bounds
        (the message says when latitude and longitude look swapped), or an access option
        is invalid.

    Examples
    --------
    From Montpellier's Place de la Comédie to Sète (default territory):

    >>> r = route_latlon(ter.csr, (43.6086, 3.8797), (43.4028, 3.6958))
    >>> r.found, 20 < r.minutes < 45, 25 < r.km < 50
    (True, True, True)
    >>> route_latlon(ter.csr, (3.8797, 43.6086), (43.4028, 3.6958))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    proximity.errors.InputError: origin 3.8797,43.6086 is outside the network's extent (...) (latitude and longitude look swapped: write LAT,LON)
    """
    if bounds_wgs84 is None:
        bounds_wgs84 = network_bounds_wgs84(graph, margin_m=float(kwargs.get("max_snap_m", MAX_SNAP_M)))
    points = {n: check_latlon(v, name=n) for n, v in (("origin", origin), ("destination", destination))}
    (lat0, lon0), (lat1, lon1) = (check_latlon(v, name=n, bounds_wgs84=bounds_wgs84) for n, v in points.items())
    return route(graph, shapely.Point(lon0, lat0), shapely.Point(lon1, lat1), crs="EPSG:4326", **kwargs)
