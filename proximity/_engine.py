"""The travel-time engine shared by :mod:`proximity.traveltime` and :mod:`proximity.raster`.

Internal: not part of the public API. :mod:`proximity.traveltime` is the public face of
this module; :mod:`proximity.raster` evaluates the same model on grid cells. Neither
imports the other's private names: both go through the functions below.

The model
---------
Snapping
    A point is attached to the nearest point *on an edge* (a straight segment between two
    node positions of the :class:`~proximity.network.CSRGraph`, projected CRS), found with a
    :class:`shapely.STRtree` of the segments. Only segments a point may use are indexed:
    roads with access (``graph.snappable_edges``; never a motorway, motorway link or trunk
    link, so no trip joins a motorway between exits) whose two ends are allowed by the
    node mask (``snap_to``, default ``graph.snappable``). A point exactly on a node is
    attached to that node.
Entries
    From the snapped point at fraction ``f`` of the segment ``a - b``, the trip leaves
    to ``a`` in ``f * t(b->a)`` and to ``b`` in ``(1 - f) * t(a->b)`` seconds, and arrives
    from ``a`` in ``f * t(a->b)`` and from ``b`` in ``(1 - f) * t(b->a)``, only along
    directions that exist (one-way edges are respected). This is exactly a split of the
    edge at the snapped point.
Off-network leg
    ``snap_m * access_detour`` metres at ``access_speed_kmh``, from the point to its
    snapped point (and from a destination's snapped point to the destination).
Other roads nearby
    A point more than :data:`SPREAD_M` (100 m) from the network may also use up to
    :data:`EXTRA_ROADS` (3) other places on allowed edges within twice its distance, each
    with its own longer leg, whichever is fastest: the nearest edge may be a dead end
    while a through road is a little further (the rule of the rasters' ``k_nodes``). No
    further than :data:`SPREAD_MAX_M` (500 m) beyond the nearest place.
Direct trips
    Two points on the same segment travel along it (legs included), as on the split
    graph. Two points closer to each other than the sum of their distances to the
    network (``|p - q| <= snap_p + snap_q``: they share their way to the road, e.g. a
    point and itself) travel straight, ``|p - q| * access_detour`` at the access speed.
    A point's travel time to itself is therefore 0.

The internal API
----------------
``prepared(graph)``
    Per-graph cache (weakly keyed): forward and reverse csgraph matrices, node k-d trees,
    segment arrays and STRtrees per node mask, strong components.
``check_points``, ``check_max_minutes``, ``check_access``, ``check_direction``,
``check_snap_to``, ``check_thresholds``
    Validation with messages that name the argument and the fix; ``snap_options`` checks
    the keyword options of ``snap_points`` at once.
``snap_points(graph, prep, geom, name=..., ...) -> Snapped``
    Coordinates checked (finite, plausible for their CRS and the graph) and snapped.
``node_seconds(prep, pts, sel, to=..., limit=...)``
    One multi-source Dijkstra: seconds between every node and the nearest selected
    point (its leg and entries included), and which point.
``nearest_one(...)``, ``point_blocks(...)``, ``count_within_points(...)``, ``direct_pairs(...)``
    Nearest point per origin; memory-bounded blocks of point-to-point seconds; sums of
    weights over the pairs within a cut-off (compiled kernels of :mod:`proximity._kernels`,
    no block built); the direct trips that override the network.
``reach_mask``, ``count_unreachable_pairs``
    Reachability by strong components (for warnings).
"""

from __future__ import annotations

import dataclasses
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

from .errors import CRSError, InputError, UnreachableWarning
from .network import CSRGraph

#: A point further than this (metres) from every allowed edge is unreachable.
MAX_SNAP_M: float = 5000.0
DIRECTIONS = ("to", "from")

# A Dijkstra run from b sources allocates a (b, n_nodes) float64 matrix: bound it.
BATCH_BYTES = 64 * 2**20
# Point-level blocks (origins x destinations) are cut to at most this many cells.
BLOCK_CELLS = 4 * 2**20
# A point this close to a node (metres) is on it.
_ON_NODE_M = 1e-9
# Snapped point sets kept per graph (the oldest is dropped first).
_MEMO_SIZE = 6
# Radii (metres) of the successive segment searches around points.
_RINGS_M = (30.0, 120.0, 500.0)
#: A point further than this (metres) from the network also tries up to EXTRA_ROADS other
#: places on the network within twice its distance, each with its own (longer) leg ...
SPREAD_M: float = 100.0
EXTRA_ROADS: int = 3
#: ... and at most this much further (metres) than its nearest place.
SPREAD_MAX_M: float = 500.0
# Points further than this outside the network's bounding box are checked for swapped or
# mislabelled coordinates.
_FAR_OUTSIDE_M = 200_000.0


# --------------------------------------------------------------------------- graph cache
@dataclass
class Segments:
    """The segments points may snap onto: node positions ``a <= b`` and directed times."""

    a: np.ndarray
    b: np.ndarray
    t_ab: np.ndarray  # seconds a -> b (inf: no such edge; 0 for a lone node, a == b)
    t_ba: np.ndarray
    _tree: shapely.STRtree | None = None
    _xy: np.ndarray | None = None

    def tree(self, xy_nodes: np.ndarray) -> shapely.STRtree:
        if self._tree is None:
            pa, pb = xy_nodes[self.a], xy_nodes[self.b]
            coords = np.stack([pa, pb], axis=1)  # (m, 2, 2)
            lines = shapely.linestrings(coords)
            lone = self.a == self.b
            if lone.any():
                lines[lone] = shapely.points(pa[lone])
            self._tree = shapely.STRtree(lines)
        return self._tree


class Prepared:
    """Arrays derived once per graph, each on first use (the CSRGraph itself stays frozen)."""

    def __init__(self, graph: CSRGraph) -> None:
        self._graph = weakref.ref(graph)
        self._forward: sp.csr_matrix | None = None
        self._reverse: sp.csr_matrix | None = None
        self._trees: dict[bytes | None, tuple[cKDTree, np.ndarray | None]] = {}
        self._segments: dict[bytes | None, Segments] = {}
        self._scc: tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix] | None = None
        self._xy: np.ndarray | None = None
        self._bounds: tuple[float, float, float, float] | None = None
        self._crs: pyproj.CRS | None = None
        self.memo: dict[tuple, Snapped] = {}

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
    def xy(self) -> np.ndarray:
        """Node positions, (n, 2) in the graph's CRS."""
        if self._xy is None:
            g = self.graph
            self._xy = np.column_stack([np.asarray(g.x, float), np.asarray(g.y, float)])
        return self._xy

    @property
    def crs(self) -> pyproj.CRS:
        if self._crs is None:
            self._crs = pyproj.CRS(self.graph.crs)
        return self._crs

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        if self._bounds is None:
            lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
            self._bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
        return self._bounds

    @property
    def forward(self) -> sp.csr_matrix:
        if self._forward is None:
            self._forward = as_csgraph(self.graph.time_s)
        return self._forward

    @property
    def reverse(self) -> sp.csr_matrix:
        if self._reverse is None:
            self._reverse = as_csgraph(self.graph.time_s.T)
        return self._reverse

    def tree(self, snap_to: np.ndarray | None) -> tuple[cKDTree, np.ndarray | None]:
        """k-d tree of the nodes allowed by ``snap_to`` and their positions (None: all)."""
        key = _mask_key(snap_to)
        if key not in self._trees:
            pos = None if snap_to is None else np.flatnonzero(snap_to)
            xy = self.xy if pos is None else self.xy[pos]
            self._trees[key] = (cKDTree(xy), pos)
        return self._trees[key]

    def segments(self, snap_to: np.ndarray | None) -> Segments:
        """The segments allowed by the graph's edge mask and the node mask ``snap_to``."""
        key = _mask_key(snap_to)
        if key not in self._segments:
            self._segments[key] = _build_segments(self.graph, self.forward, snap_to)
        return self._segments[key]

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


def _mask_key(mask: np.ndarray | None) -> bytes | None:
    return None if mask is None else hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=16).digest()


def _build_segments(graph: CSRGraph, forward: sp.csr_matrix, snap_to: np.ndarray | None) -> Segments:
    n = forward.shape[0]
    coo = forward.tocoo()
    r, c, w = coo.row.astype(np.int64), coo.col.astype(np.int64), np.asarray(coo.data, dtype=float)
    lo, hi = np.minimum(r, c), np.maximum(r, c)
    keys, inv = np.unique(lo * n + hi, return_inverse=True)
    a, b = keys // n, keys % n
    t_ab = np.full(keys.size, np.inf)
    t_ba = np.full(keys.size, np.inf)
    t_ab[inv[r < c]] = w[r < c]
    t_ba[inv[r > c]] = w[r > c]
    keep = np.ones(keys.size, dtype=bool)
    edges = graph.snappable_edges
    if edges is not None:
        acc = sp.coo_array(edges)
        ar, ac = acc.row.astype(np.int64), acc.col.astype(np.int64)
        keep = np.isin(keys, np.minimum(ar, ac) * n + np.maximum(ar, ac))
    if snap_to is not None:
        keep &= snap_to[a] & snap_to[b]
    a, b, t_ab, t_ba = a[keep], b[keep], t_ab[keep], t_ba[keep]
    # allowed nodes on no allowed segment are snapped to as lone points
    allowed = np.ones(n, dtype=bool) if snap_to is None else snap_to.copy()
    allowed[a] = False
    allowed[b] = False
    lone = np.flatnonzero(allowed)
    zeros = np.zeros(lone.size)
    return Segments(
        a=np.concatenate([a, lone]),
        b=np.concatenate([b, lone]),
        t_ab=np.concatenate([t_ab, zeros]),
        t_ba=np.concatenate([t_ba, zeros]),
    )


_CACHE: weakref.WeakKeyDictionary[CSRGraph, Prepared] = weakref.WeakKeyDictionary()


def as_csgraph(a: Any) -> sp.csr_matrix:
    """A float64 CSR matrix with int32 indices, the form csgraph uses without copying."""
    m = sp.csr_matrix(a, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    m.indices = np.ascontiguousarray(m.indices, dtype=np.int32)
    m.indptr = np.ascontiguousarray(m.indptr, dtype=np.int32)
    return m


def prepared(graph: CSRGraph) -> Prepared:
    """The engine's cache entry of ``graph`` (created on first use)."""
    if not isinstance(graph, CSRGraph):
        raise InputError(
            f"graph must be a proximity.network.CSRGraph, got {type(graph).__name__}; "
            "convert a networkx graph with proximity.network.graph_to_csr(G)"
        )
    prep = _CACHE.get(graph)
    if prep is None:
        if graph.time_s.nnz >= 2**31 - 2**20:
            raise InputError("graph has too many edges for scipy.sparse.csgraph (2**31); split the territory")
        prep = Prepared(graph)
        _CACHE[graph] = prep
    return prep


# --------------------------------------------------------------------------- validation
def check_points(points: Any, name: str) -> gpd.GeoSeries:
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
        raise InputError(
            f"{name} has duplicate index labels (e.g. {dup}); the index gives the ids: make it unique (e.g. .reset_index())"
        )
    return geom


def check_max_minutes(max_minutes: float | None) -> float:
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


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def check_access(max_snap_m: float, access_speed_kmh: float, access_detour: float) -> None:
    for name, value in (("max_snap_m", max_snap_m), ("access_speed_kmh", access_speed_kmh)):
        if not _number(value) or math.isnan(value) or value <= 0 or (name == "access_speed_kmh" and math.isinf(value)):
            raise InputError(f"{name} must be a positive number, got {value!r}")
    if not _number(access_detour) or math.isnan(access_detour) or access_detour < 1 or math.isinf(access_detour):
        raise InputError(
            f"access_detour must be a number >= 1 (road distance / straight distance), got {access_detour!r}"
        )


def check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise InputError(
            f"direction must be 'to' (origins travel to the facilities) or 'from' (facilities travel to the origins), got {direction!r}"
        )


def check_snap_to(graph: CSRGraph, snap_to: Any) -> np.ndarray | None:
    """The node mask points may snap to: ``snap_to``, else the graph's own, else None (all)."""
    if snap_to is None:
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


def snap_options(
    graph: CSRGraph, snap_to: Any, max_snap_m: float, access_speed_kmh: float, access_detour: float
) -> dict[str, Any]:
    """The checked keyword options of :func:`snap_points` and :func:`snap_xy`.

    :func:`check_access`, then :func:`check_snap_to` (``snap_to`` becomes the node mask).
    """
    check_access(max_snap_m, access_speed_kmh, access_detour)
    return {
        "max_snap_m": max_snap_m,
        "access_speed_kmh": access_speed_kmh,
        "access_detour": access_detour,
        "snap_to": check_snap_to(graph, snap_to),
    }


def check_thresholds(minutes: Any) -> list[float]:
    """Sorted distinct positive finite thresholds (minutes)."""
    values = (
        [minutes]
        if isinstance(minutes, (int, float, np.number))
        else list(minutes)
        if isinstance(minutes, Sequence | np.ndarray)
        else None
    )
    if not values:
        raise InputError(f"minutes must be a positive number or a non-empty sequence of them, got {minutes!r}")
    out = []
    for v in values:
        if not _number(v) or math.isnan(v) or not math.isfinite(v) or v <= 0:
            raise InputError(f"minutes must hold positive finite numbers of minutes, got {v!r} in {minutes!r}")
        out.append(float(v))
    return sorted(set(out))


def _inside(bounds: tuple[float, float, float, float], x: np.ndarray, y: np.ndarray, margin: float) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    with np.errstate(invalid="ignore"):
        return (x >= x0 - margin) & (x <= x1 + margin) & (y >= y0 - margin) & (y <= y1 + margin)


def to_graph_xy(prep: Prepared, geom: gpd.GeoSeries, name: str) -> np.ndarray:
    """Coordinates of ``geom`` in the graph's CRS, after checking they are plausible.

    Raises an :class:`InputError` for NaN or infinite coordinates, for degrees out of range
    in a geographic CRS, and for points far outside the network that land on it once
    their coordinates are swapped or read in another CRS (lat/lon order, a wrong label).
    """
    raw = shapely.get_coordinates(geom.values)
    rows = geom.index
    bad = ~np.isfinite(raw).all(axis=1)
    if bad.any():
        raise InputError(
            f"{name} has {int(bad.sum())} point(s) with NaN or infinite coordinates (e.g. rows {list(rows[bad][:5])}); drop or fix them"
        )
    src = geom.crs if isinstance(geom.crs, pyproj.CRS) else pyproj.CRS(geom.crs)
    if src.is_geographic:
        lon, lat = raw[:, 0], raw[:, 1]
        out = (np.abs(lat) > 90) | (np.abs(lon) > 180)
        if out.any():
            raise CRSError(
                f"{name} has {int(out.sum())} point(s) outside the range of degrees of its CRS {src.to_string()} "
                f"(e.g. rows {list(rows[out][:5])}); the coordinates look projected: set their real CRS with "
                ".set_crs('EPSG:2154', allow_override=True) (or the right one)"
            )
    graph_crs = prep.crs
    if src is graph_crs or src == graph_crs or src.equals(graph_crs):
        xy = raw
    else:
        tr = pyproj.Transformer.from_crs(src, graph_crs, always_xy=True)
        xy = np.column_stack(tr.transform(raw[:, 0], raw[:, 1]))
        bad = ~np.isfinite(xy).all(axis=1)
        if bad.any():
            raise CRSError(
                f"{name} has {int(bad.sum())} point(s) that cannot be converted from {src.to_string()} to the network's CRS "
                f"(e.g. rows {list(rows[bad][:5])}); check the CRS of {name} (.set_crs(..., allow_override=True))"
            )
    far = ~_inside(prep.bounds, xy[:, 0], xy[:, 1], _FAR_OUTSIDE_M)
    if far.any():
        _hint_mislabelled(prep, raw[far], src, graph_crs, name, rows[far])
    return xy


def _hint_mislabelled(
    prep: Prepared, raw: np.ndarray, src: pyproj.CRS, graph_crs: pyproj.CRS, name: str, rows: pd.Index
) -> None:
    """Raise when far-away points land on the network once swapped or read in another CRS."""
    tries: list[tuple[str, np.ndarray]] = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        swapped = raw[:, ::-1]
        if src.is_geographic:
            ok = (np.abs(swapped[:, 1]) <= 90) & (np.abs(swapped[:, 0]) <= 180)
            if ok.all():
                tr = pyproj.Transformer.from_crs(src, graph_crs, always_xy=True)
                tries.append(
                    (
                        "latitude and longitude look swapped: put longitude first (x) and latitude second (y)",
                        np.column_stack(tr.transform(swapped[:, 0], swapped[:, 1])),
                    )
                )
        else:
            if not src.equals(graph_crs):
                tr = pyproj.Transformer.from_crs(src, graph_crs, always_xy=True)
                tries.append(
                    (
                        "x and y look swapped: put x (easting) first",
                        np.column_stack(tr.transform(swapped[:, 0], swapped[:, 1])),
                    )
                )
            else:
                tries.append(("x and y look swapped: put x (easting) first", swapped))
            degrees = (np.abs(raw[:, 1]) <= 90) & (np.abs(raw[:, 0]) <= 180)
            if degrees.all():
                tr = pyproj.Transformer.from_crs("EPSG:4326", graph_crs, always_xy=True)
                tries.append(
                    (
                        f"they look like longitude/latitude degrees, not {src.to_string()}: .set_crs('EPSG:4326', allow_override=True)",
                        np.column_stack(tr.transform(raw[:, 0], raw[:, 1])),
                    )
                )
                tries.append(
                    (
                        f"they look like latitude/longitude degrees, not {src.to_string()}: swap them and .set_crs('EPSG:4326', allow_override=True)",
                        np.column_stack(tr.transform(raw[:, 1], raw[:, 0])),
                    )
                )
        if src.is_geographic:
            tries.append(
                (
                    f"they look like coordinates in the network's CRS {graph_crs.to_string()}, not degrees: .set_crs('{graph_crs.to_string()}', allow_override=True)",
                    raw.copy(),
                )
            )
    for hint, xy in tries:
        if np.isfinite(xy).all() and _inside(prep.bounds, xy[:, 0], xy[:, 1], 0.0).all():
            raise CRSError(
                f"{name} has {len(raw)} point(s) more than {_FAR_OUTSIDE_M / 1000:g} km outside the network "
                f"(e.g. rows {list(rows[:5])}); {hint}"
            )


# --------------------------------------------------------------------------- snapping
@dataclass(frozen=True)
class Snapped:
    """Points attached to the network (all arrays one row per point, in input order)."""

    index: pd.Index
    xy: np.ndarray  # (n, 2) the points, in the graph's CRS
    snap_xy: np.ndarray  # (n, 2) the snapped points on their segments
    seg: np.ndarray  # segment id in prepared.segments(snap_to), -1 when on a node
    frac: np.ndarray  # position along the segment a -> b (0 at a)
    node: np.ndarray  # the segment end nearest to the snapped point
    snap_m: np.ndarray  # straight distance point -> snapped point
    ok: np.ndarray  # within max_snap_m
    leg_s: np.ndarray  # off-network leg, seconds (inf when not ok)
    out_node: np.ndarray  # (n, 2) nodes the point leaves to ...
    out_s: np.ndarray  # ... and the seconds along the segment (inf: not that way)
    in_node: np.ndarray  # (n, 2) nodes the point is reached from ...
    in_s: np.ndarray  # ... and the seconds along the segment
    t_ab: np.ndarray  # seconds of the whole segment a -> b (inf: one-way the other way)
    t_ba: np.ndarray
    seconds_per_m: float  # off-network seconds per straight metre
    # candidate attachments (column 0: the snapped point; then other roads, see snap_points);
    # entries 2c and 2c + 1 are the ends a and b of candidate c
    cand_xy: np.ndarray  # (n, C, 2), NaN where none
    cand_m: np.ndarray  # (n, C) straight distance, inf where none
    cand_frac: np.ndarray  # (n, C)
    cand_seg: np.ndarray  # (n, C) segment id, -1 on a node or none
    cand_t: np.ndarray  # (n, C, 2) seconds of the candidate's whole segment a -> b and b -> a

    def entries(self, *, out: bool) -> tuple[np.ndarray, np.ndarray]:
        return (self.out_node, self.out_s) if out else (self.in_node, self.in_s)


def _along(frac: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``frac * t`` where the edge exists (finite t), inf where it does not."""
    finite = np.isfinite(t)
    return np.where(finite, frac * np.where(finite, t, 0.0), np.inf)


def snap_points(
    graph: CSRGraph,
    prep: Prepared,
    geom: gpd.GeoSeries,
    *,
    name: str,
    max_snap_m: float,
    access_speed_kmh: float,
    access_detour: float,
    snap_to: np.ndarray | None,
) -> Snapped:
    """Attach checked points (:func:`check_points`) to the nearest allowed segment."""
    xy = to_graph_xy(prep, geom, name)
    return snap_xy(
        graph,
        prep,
        xy,
        geom.index,
        max_snap_m=max_snap_m,
        access_speed_kmh=access_speed_kmh,
        access_detour=access_detour,
        snap_to=snap_to,
    )


def snap_xy(
    graph: CSRGraph,
    prep: Prepared,
    xy: np.ndarray,
    index: pd.Index,
    *,
    max_snap_m: float,
    access_speed_kmh: float,
    access_detour: float,
    snap_to: np.ndarray | None,
    extra_roads: int | None = None,
) -> Snapped:
    """:func:`snap_points` for coordinates already in the graph's CRS (e.g. grid cells).

    ``extra_roads`` (default :data:`EXTRA_ROADS`) bounds the other roads a point far from
    the network may also take; 0 keeps to the nearest place.
    """
    extra_roads = EXTRA_ROADS if extra_roads is None else int(extra_roads)
    # the same points snapped again (e.g. a grid for every kind of facility, a layer for
    # every indicator) come from a small per-graph memo
    xy = np.ascontiguousarray(xy, dtype=float)
    key = (
        hashlib.blake2b(xy.tobytes(), digest_size=16).digest(),
        _mask_key(snap_to),
        float(max_snap_m),
        float(access_speed_kmh),
        float(access_detour),
        extra_roads,
    )
    hit = prep.memo.get(key)
    if hit is not None:
        return dataclasses.replace(hit, index=index)
    out = _snap_xy(
        prep,
        xy,
        index,
        max_snap_m=max_snap_m,
        access_speed_kmh=access_speed_kmh,
        access_detour=access_detour,
        snap_to=snap_to,
        extra_roads=extra_roads,
    )
    if len(prep.memo) >= _MEMO_SIZE:
        prep.memo.pop(next(iter(prep.memo)))
    prep.memo[key] = out
    return out


def _snap_xy(
    prep: Prepared,
    xy: np.ndarray,
    index: pd.Index,
    *,
    max_snap_m: float,
    access_speed_kmh: float,
    access_detour: float,
    snap_to: np.ndarray | None,
    extra_roads: int,
) -> Snapped:
    n = xy.shape[0]
    tree, pos = prep.tree(snap_to)
    d_node, i_node = tree.query(xy, k=1)
    i_node = np.asarray(i_node, dtype=np.int64)
    node_hit = i_node if pos is None else pos[i_node]
    dist = np.array(d_node, dtype=float)
    seg = np.full(n, -1, dtype=np.int64)
    frac = np.zeros(n)
    a = node_hit
    b = node_hit.copy()
    t_ab = np.zeros(n)
    t_ba = np.zeros(n)
    snap_xy = prep.xy[node_hit]
    rest = np.flatnonzero(dist > _ON_NODE_M)
    geoms = np.empty(n, dtype=object)
    if rest.size:
        segs = prep.segments(snap_to)
        tree = segs.tree(prep.xy)
        found_p, found_s, found_f, found_d, found_q = [], [], [], [], []
        # every allowed node is on a segment, so the nearest segment lies within the nearest
        # node's distance; vectorised STRtree "dwithin" queries in growing rings keep the
        # candidate lists short (a candidate within the ring's radius is exact)
        geoms[rest] = shapely.points(xy[rest])
        todo = rest
        for ring in (*_RINGS_M, math.inf):
            if todo.size == 0:
                break
            radius = np.minimum(np.minimum(dist[todo], max_snap_m) * (1 + 1e-9) + 1e-6, ring)
            q, s_ = tree.query(geoms[todo], predicate="dwithin", distance=radius)
            p_ = todo[q]
            sa_, sb_ = segs.a[s_], segs.b[s_]
            pa, pb = prep.xy[sa_], prep.xy[sb_]
            ab = pb - pa
            l2 = (ab**2).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                f_ = np.where(l2 > 0, ((xy[p_] - pa) * ab).sum(axis=1) / np.where(l2 > 0, l2, 1.0), 0.0)
            f_ = np.clip(f_, 0.0, 1.0)
            q_ = pa + f_[:, None] * ab
            d_ = np.hypot(*(xy[p_] - q_).T)
            # the nearest candidate of each point (ties: the lowest segment id)
            order = np.lexsort((s_, d_, p_))
            first = order[np.r_[True, p_[order][1:] != p_[order][:-1]]] if p_.size else order
            done = d_[first] <= radius[np.searchsorted(todo, p_[first])]
            keep = first[done]
            found_p.append(p_[keep])
            found_s.append(s_[keep])
            found_f.append(f_[keep])
            found_d.append(d_[keep])
            found_q.append(q_[keep])
            todo = np.setdiff1d(todo, p_[keep], assume_unique=True)
            todo = todo[dist[todo] > ring]  # beyond the node's distance: no segment is nearer
        p, s = np.concatenate(found_p), np.concatenate(found_s)
        f, d, qxy = np.concatenate(found_f), np.concatenate(found_d), np.concatenate(found_q).reshape(-1, 2)
        sa, sb = segs.a[s], segs.b[s]
        seg[p], frac[p], a[p], b[p] = s, f, sa, sb
        t_ab[p], t_ba[p] = segs.t_ab[s], segs.t_ba[s]
        snap_xy[p] = qxy
        dist[p] = d
    ok = dist <= max_snap_m
    per_m = access_detour / (access_speed_kmh / 3.6)
    leg = np.where(ok, dist * per_m, np.inf)
    out_s, in_s = _entry_costs(seg, frac, a, b, t_ab, t_ba)
    out_node = np.column_stack([a, b])
    cand_xy, cand_m, cand_frac = snap_xy[:, None, :], dist[:, None], frac[:, None]
    cand_seg, cand_t = seg[:, None], np.stack([t_ab, t_ba], axis=1)[:, None, :]
    # a point far from the network may also take another road within twice its distance
    # (e.g. a through road rather than the dead end that happens to be nearer)
    far = np.flatnonzero(ok & (dist > SPREAD_M))
    if far.size and extra_roads:
        segs = prep.segments(snap_to)
        radius = np.minimum(np.minimum(2 * dist[far], dist[far] + SPREAD_MAX_M), max_snap_m) * (1 + 1e-9)
        q, s_ = segs.tree(prep.xy).query(geoms[far], predicate="dwithin", distance=radius)
        p_ = far[q]
        sa_, sb_ = segs.a[s_], segs.b[s_]
        f_, q_, d_ = _project(xy[p_], prep.xy[sa_], prep.xy[sb_])
        # other places than the snapped point, each once, the nearest first
        key = np.round(q_, 6)
        other = np.hypot(*(q_ - snap_xy[p_]).T) > 1e-6
        p_, s_, f_, q_, d_, key = p_[other], s_[other], f_[other], q_[other], d_[other], key[other]
        order = np.lexsort((s_, key[:, 1], key[:, 0], d_, p_))
        p_, s_, f_, q_, d_, key = p_[order], s_[order], f_[order], q_[order], d_[order], key[order]
        new_place = (
            np.r_[True, (p_[1:] != p_[:-1]) | (key[1:] != key[:-1]).any(axis=1)] if p_.size else np.zeros(0, bool)
        )
        p_, s_, f_, q_, d_ = p_[new_place], s_[new_place], f_[new_place], q_[new_place], d_[new_place]
        start = np.r_[0, np.flatnonzero(p_[1:] != p_[:-1]) + 1] if p_.size else np.zeros(0, np.int64)
        rank = np.arange(p_.size) - np.repeat(start, np.diff(np.r_[start, p_.size]))
        keep = rank < extra_roads
        p_, s_, f_, q_, d_, rank = p_[keep], s_[keep], f_[keep], q_[keep], d_[keep], rank[keep]
        n_c = 1 + int(rank.max() + 1 if rank.size else 0)
        if n_c > 1:
            cand_xy = np.full((n, n_c, 2), np.nan)
            cand_m = np.full((n, n_c), np.inf)
            cand_frac = np.zeros((n, n_c))
            cand_xy[:, 0], cand_m[:, 0], cand_frac[:, 0] = snap_xy, dist, frac
            cand_seg = np.full((n, n_c), -1, dtype=np.int64)
            cand_t = np.full((n, n_c, 2), np.inf)
            cand_seg[:, 0], cand_t[:, 0, 0], cand_t[:, 0, 1] = seg, t_ab, t_ba
            out_node = np.concatenate([out_node, np.repeat(out_node[:, :1], 2 * n_c - 2, axis=1)], axis=1)
            out_s = np.concatenate([out_s, np.full((n, 2 * n_c - 2), np.inf)], axis=1)
            in_s = np.concatenate([in_s, np.full((n, 2 * n_c - 2), np.inf)], axis=1)
            c = rank + 1
            sa_, sb_ = segs.a[s_], segs.b[s_]
            o_s, i_s = _entry_costs(s_, f_, sa_, sb_, segs.t_ab[s_], segs.t_ba[s_])
            extra = (d_ - dist[p_]) * per_m  # the longer leg, counted on the entry
            for e in range(2):
                out_node[p_, 2 * c + e] = sa_ if e == 0 else sb_
                out_s[p_, 2 * c + e] = o_s[:, e] + extra
                in_s[p_, 2 * c + e] = i_s[:, e] + extra
            cand_xy[p_, c], cand_m[p_, c], cand_frac[p_, c] = q_, d_, f_
            cand_seg[p_, c], cand_t[p_, c, 0], cand_t[p_, c, 1] = s_, segs.t_ab[s_], segs.t_ba[s_]
    return Snapped(
        index=index,
        xy=xy,
        snap_xy=snap_xy,
        seg=seg,
        frac=frac,
        node=np.where(frac <= 0.5, a, b),
        snap_m=dist,
        ok=ok,
        leg_s=leg,
        out_node=out_node,
        out_s=out_s,
        in_node=out_node,
        in_s=in_s,
        t_ab=t_ab,
        t_ba=t_ba,
        seconds_per_m=per_m,
        cand_xy=cand_xy,
        cand_m=cand_m,
        cand_frac=cand_frac,
        cand_seg=cand_seg,
        cand_t=cand_t,
    )


def _project(p: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction along ``pa -> pb``, position and distance of the nearest point to each ``p``."""
    ab = pb - pa
    l2 = (ab**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(l2 > 0, ((p - pa) * ab).sum(axis=1) / np.where(l2 > 0, l2, 1.0), 0.0)
    f = np.clip(f, 0.0, 1.0)
    q = pa + f[:, None] * ab
    return f, q, np.hypot(*(p - q).T)


def _entry_costs(
    seg: np.ndarray, frac: np.ndarray, a: np.ndarray, b: np.ndarray, t_ab: np.ndarray, t_ba: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from a snapped point to its ends (out) and from its ends to it (in), (n, 2) each.

    On a node (``seg < 0``): the node alone, 0 s. On a segment: the partial edge times along
    the directions that exist; at an end, that end alone (the other is reached through it).
    """
    n = seg.shape[0]
    out_s = np.empty((n, 2))
    out_s[:, 0], out_s[:, 1] = 0.0, np.inf
    in_s = out_s.copy()
    on = np.flatnonzero(seg >= 0)
    if on.size:
        f, tab, tba = frac[on], t_ab[on], t_ba[on]
        out_a = np.where(f == 0, 0.0, _along(f, tba))
        out_b = np.where(f == 1, 0.0, _along(1 - f, tab))
        in_a = np.where(f == 0, 0.0, _along(f, tab))
        in_b = np.where(f == 1, 0.0, _along(1 - f, tba))
        at_a, at_b = f == 0, (f == 1) & (a[on] != b[on])
        out_b[at_a] = in_b[at_a] = np.inf
        out_a[at_b] = in_a[at_b] = np.inf
        out_s[on, 0], out_s[on, 1] = out_a, out_b
        in_s[on, 0], in_s[on, 1] = in_a, in_b
    return out_s, in_s


def warn(parts: list[str], stacklevel: int = 3) -> None:
    """One :class:`UnreachableWarning` joining ``parts`` (none when empty)."""
    if parts:
        warnings.warn("; ".join(parts), UnreachableWarning, stacklevel=stacklevel)


def far_message(n: int, name: str, max_snap_m: float) -> str:
    return f"{n} point(s) of {name} are more than {max_snap_m:g} m from the network and unreachable (raise max_snap_m or extend the network)"


def far_messages(max_snap_m: float, *sides: tuple[Snapped, str, str]) -> list[str]:
    """:func:`far_message` (then ``note``) for each ``(snapped, name, note)`` with points beyond ``max_snap_m``."""
    return [far_message(int((~s.ok).sum()), name, max_snap_m) + note for s, name, note in sides if (~s.ok).any()]


# --------------------------------------------------------------------------- Dijkstra kernels
def augment(base: sp.csr_matrix, nodes: np.ndarray, cost: np.ndarray) -> sp.csr_matrix:
    """``base`` plus one virtual node per row of ``nodes``/``cost``, linked to its finite entries.

    The virtual nodes are ``n .. n + k - 1`` and have no incoming edge, so no path goes
    through them. Explicit zero costs are edges in csgraph.
    """
    n = base.shape[0]
    k = nodes.shape[0]
    finite = np.isfinite(cost)
    rows = np.nonzero(finite)[0]
    cols, vals = nodes[finite], cost[finite]
    if nodes.shape[1] > 2:
        # one link per (virtual node, node): the cheapest (csgraph must not see duplicates)
        order = np.lexsort((vals, cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])] if rows.size else np.zeros(0, bool)
        rows, cols, vals = rows[first], cols[first], vals[first]
    counts = np.bincount(rows, minlength=k)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts, dtype=np.int64).astype(np.int32)])
    indices = np.concatenate([base.indices, cols.astype(np.int32)])
    data = np.concatenate([base.data, vals])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def node_seconds(
    prep: Prepared, pts: Snapped, sel: np.ndarray, *, to: bool, limit: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds between every node and its nearest point among ``pts[sel]``, and which point.

    ``to=True``: from the node to the point (search on the transposed graph), else from
    the point to the node. Each point is a virtual source linked to its entries by its own
    leg plus the partial edge time, so points sharing a node or an edge keep their exact
    offsets. Returns ``(seconds, position)``, ``inf`` / ``-1`` where none within ``limit``.
    """
    n = prep.n
    sel = np.asarray(sel, dtype=np.int64)
    if sel.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    nodes, part = pts.entries(out=not to)
    aug = augment(prep.reverse if to else prep.forward, nodes[sel], part[sel] + pts.leg_s[sel, None])
    dist, _, src = dijkstra(
        aug, directed=True, indices=np.arange(n, n + sel.size), min_only=True, return_predecessors=True, limit=limit
    )
    src = np.asarray(src[:n], dtype=np.int64)
    which = np.where(src >= n, sel[np.clip(src - n, 0, sel.size - 1)], -1)
    return np.asarray(dist[:n], dtype=float), which


def _via_entries(node_s: np.ndarray, nodes: np.ndarray, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best of a point's entries: ``min_e node_s[nodes[:, e]] + part[:, e]`` and the node."""
    t = node_s[nodes[:, 0]] + part[:, 0]
    best = nodes[:, 0].copy()
    for e in range(1, nodes.shape[1]):
        two = np.flatnonzero(np.isfinite(part[:, e]))
        if two.size:
            t2 = node_s[nodes[two, e]] + part[two, e]
            better = t2 < t[two]
            t[two[better]] = t2[better]
            best[two[better]] = nodes[two[better], e]
    return t, best


def nearest_one(
    prep: Prepared,
    o: Snapped,
    o_sel: np.ndarray,
    f: Snapped,
    f_sel: np.ndarray,
    *,
    to: bool,
    max_s: float,
    node_dist: tuple[np.ndarray, np.ndarray] | None = None,
    direct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds to the nearest facility and its position in ``f``, for the origins ``o_sel``.

    One multi-source Dijkstra (:func:`node_seconds`, or ``node_dist`` when given), then each
    origin takes the better of its entries, and direct trips (:func:`direct_pairs`) where
    they are faster (``direct``: origin positions, facility positions, seconds, e.g. from
    :func:`direct_pairs` once for several groups). ``inf`` / ``-1`` where none within
    ``max_s``.
    """
    o_sel = np.asarray(o_sel, dtype=np.int64)
    f_pos = np.flatnonzero(f_sel) if np.asarray(f_sel).dtype == bool else np.asarray(f_sel, dtype=np.int64)
    times = np.full(o_sel.size, np.inf)
    which = np.full(o_sel.size, -1, dtype=np.int64)
    if f_pos.size == 0 or o_sel.size == 0:
        return times, which
    if node_dist is None:
        limit = max(0.0, max_s - float(o.leg_s[o_sel].min())) if math.isfinite(max_s) else np.inf
        node_dist = node_seconds(prep, f, f_pos, to=to, limit=limit)
    dist, src = node_dist
    nodes, part = o.entries(out=to)
    t, via = _via_entries(dist, nodes[o_sel], part[o_sel])
    t += o.leg_s[o_sel]
    w = src[via]
    if direct is None:
        direct = direct_pairs(o, o_sel, f, f_pos) if to else _swap(direct_pairs(f, f_pos, o, o_sel))
    ai, bi, s = direct
    if ai.size:
        keep = np.isin(bi, f_pos)
        ai, bi, s = ai[keep], bi[keep], s[keep]
    if ai.size:
        # position of each origin in o_sel, then the best direct trip of each origin
        rank = np.full(len(o.index), -1, dtype=np.int64)
        rank[o_sel] = np.arange(o_sel.size)
        r = rank[ai]
        order = np.lexsort((s, r))
        r, bi_, s = r[order], bi[order], s[order]
        first = np.ones(r.size, dtype=bool)
        first[1:] = r[1:] != r[:-1]
        r, bi_, s = r[first], bi_[first], s[first]
        better = s < t[r]
        t[r[better]] = s[better]
        w[r[better]] = bi_[better]
    found = np.isfinite(t) & (t <= max_s) & (w >= 0)
    times[found] = t[found]
    which[found] = w[found]
    return times, which


def _swap(p: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return p[1], p[0], p[2]


def direct_pairs(
    a: Snapped, a_sel: np.ndarray, b: Snapped, b_sel: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trips from points ``a`` to points ``b`` that need no network search.

    Points on the same segment travel along it (legs included, one-way respected), and
    points closer to each other than ``snap_a + snap_b`` travel straight at the access
    speed (identical points: 0 s). Returns ``(a_pos, b_pos, seconds)``, one row per pair
    (the faster of the two), sorted by ``a_pos`` then ``b_pos``.
    """
    a_sel = np.asarray(a_sel, dtype=np.int64)
    return _Direct(a, a_sel, b, b_sel, run_is_a=True).pairs(a_sel)


class _Direct:
    """:func:`direct_pairs` between one fixed side and subsets of the other (the run side).

    What only depends on the fixed side is built once: its k-d tree, its segment
    attachments sorted by segment, and the straight candidates of its off-network points
    (into all the run-side points). Each :meth:`pairs` call then searches its subset of the
    run side only: :func:`_batches` finds the direct trips of each Dijkstra batch, which
    bounds their memory, without rebuilding the other side's structures per batch.
    """

    def __init__(self, a: Snapped, a_sel: np.ndarray, b: Snapped, b_sel: np.ndarray, *, run_is_a: bool) -> None:
        a_sel = np.asarray(a_sel, dtype=np.int64)
        b_sel = np.asarray(b_sel, dtype=np.int64)
        self.a, self.b, self.run_is_a = a, b, run_is_a
        run, run_sel, fix, fix_sel = (a, a_sel, b, b_sel) if run_is_a else (b, b_sel, a, a_sel)
        self.run = run
        run_sel = run_sel[run.ok[run_sel]]
        self.fix_sel = fix_sel = fix_sel[fix.ok[fix_sel]]
        self.fix_tree = cKDTree(fix.xy[fix_sel]) if fix_sel.size else None
        # straight: |p - q| <= snap_p + snap_q implies |p - q| <= 2 * max(snap_p, snap_q):
        # each side's off-network points search the other within twice their own snap; the
        # fixed side's search is done once, into all the run-side points, sorted by run point
        cand_fix, cand_run = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        if run_sel.size and fix_sel.size:
            cand_fix, cand_run = _straight_candidates(fix, fix_sel, cKDTree(run.xy[run_sel]), run_sel)
        order = np.argsort(cand_run, kind="stable")
        self.cand_run, self.cand_fix = cand_run[order], cand_fix[order]
        # the same segment: the fixed side's attachments sorted by segment
        att = _attachments(fix, fix_sel)
        o = np.argsort(att["seg"], kind="stable")
        self.att = {k: v[o] for k, v in att.items()}

    def pairs(self, run_sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`direct_pairs` of the run-side points ``run_sel`` and the whole fixed side (oriented ``a`` → ``b``)."""
        a, b, run = self.a, self.b, self.run
        run_sel = np.asarray(run_sel, dtype=np.int64)
        run_sel = run_sel[run.ok[run_sel]]
        parts_a: list[np.ndarray] = []
        parts_b: list[np.ndarray] = []
        parts_s: list[np.ndarray] = []
        if run_sel.size and self.fix_sel.size:
            # (identical points need no rule of their own: on a node the network gives 0 s, on
            # an edge the same-segment rule does, off the network the straight rule does)
            q_run, t_fix = _straight_candidates(run, run_sel, self.fix_tree, self.fix_sel)
            mine = np.zeros(len(run.index), dtype=bool)
            mine[run_sel] = True
            lo, hi = np.searchsorted(self.cand_run, [run_sel.min(), run_sel.max() + 1])
            take = lo + np.flatnonzero(mine[self.cand_run[lo:hi]])
            p_run = np.concatenate([q_run, self.cand_run[take]])
            p_fix = np.concatenate([t_fix, self.cand_fix[take]])
            if p_run.size:
                pa, pb = (p_run, p_fix) if self.run_is_a else (p_fix, p_run)
                d = np.hypot(*(a.xy[pa] - b.xy[pb]).T)
                keep = d <= a.snap_m[pa] + b.snap_m[pb] + 1e-9
                parts_a.append(pa[keep])
                parts_b.append(pb[keep])
                parts_s.append(d[keep] * a.seconds_per_m)
            # the same segment (any of their attachments): along it (a sort-merge join on the
            # segment, in numpy: a crowded segment can give millions of pairs)
            l_run, l_fix = _attachments(run, run_sel), self.att
            if l_run["seg"].size and l_fix["seg"].size:
                lo = np.searchsorted(l_fix["seg"], l_run["seg"], side="left")
                hi = np.searchsorted(l_fix["seg"], l_run["seg"], side="right")
                n = hi - lo
                if n.sum():
                    i_run = np.repeat(np.arange(n.size), n)
                    start = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
                    i_fix = np.arange(i_run.size) + start
                    (la, ia), (lb, ib) = (
                        ((l_run, i_run), (l_fix, i_fix)) if self.run_is_a else ((l_fix, i_fix), (l_run, i_run))
                    )
                    fa_, fb_ = la["frac"][ia], lb["frac"][ib]
                    fwd = fb_ >= fa_
                    along = np.where(fwd, _along(fb_ - fa_, la["t_ab"][ia]), _along(fa_ - fb_, la["t_ba"][ia]))
                    s = (la["m"][ia] + lb["m"][ib]) * a.seconds_per_m + along
                    fin = np.isfinite(s)
                    parts_a.append(la["pos"][ia][fin])
                    parts_b.append(lb["pos"][ib][fin])
                    parts_s.append(s[fin])
        if not parts_a:
            e = np.empty(0, dtype=np.int64)
            return e, e.copy(), np.empty(0)
        pa, pb, s = np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_s)
        # one row per pair, the fastest: sort on one int64 key, then the minimum of each run
        key = pa * np.int64(len(b.index)) + pb
        order = np.argsort(key, kind="stable")
        key, s = key[order], s[order]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        key = key[starts]
        s = np.minimum.reduceat(s, starts)
        return key // len(b.index), key % len(b.index), s


def _straight_candidates(
    q_pts: Snapped, q_sel: np.ndarray, tree: cKDTree, t_sel: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (query point, tree point) within twice the query point's snap of each other, for its off-network points.

    ``tree`` holds the points ``t_sel``; returns positions (``q_sel``'s, ``t_sel``'s).
    """
    e = np.empty(0, dtype=np.int64)
    off = q_sel[q_pts.snap_m[q_sel] > 0]
    if off.size == 0:
        return e, e.copy()
    radius = 2 * q_pts.snap_m[off] + 1e-6
    # counts first (no Python lists), then the neighbours of the few that have some
    has = tree.query_ball_point(q_pts.xy[off], radius, return_length=True) > 0
    off, radius = off[has], radius[has]
    if off.size == 0:
        return e, e.copy()
    hits = tree.query_ball_point(q_pts.xy[off], radius)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    qp = np.repeat(off, counts)
    tp = t_sel[np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))]
    return qp, tp


def _attachments(pts: Snapped, sel: np.ndarray) -> dict[str, np.ndarray]:
    """One row per (point, candidate on a segment): position, segment, fraction, leg metres, segment times."""
    seg = pts.cand_seg[sel]
    i, c = np.nonzero(seg >= 0)
    p = sel[i]
    return {
        "pos": p,
        "seg": seg[i, c],
        "frac": pts.cand_frac[p, c],
        "m": pts.cand_m[p, c],
        "t_ab": pts.cand_t[p, c, 0],
        "t_ba": pts.cand_t[p, c, 1],
    }


def _locations(nodes: np.ndarray, part: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (entries, partial times) of the points ``pos``: unique nodes, costs, inverse."""
    w = nodes.shape[1]
    key = np.column_stack([nodes[pos].astype(float), part[pos]])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    return uniq[:, :w].astype(np.int64), uniq[:, w:], np.asarray(inv).ravel()


@dataclass
class _Batch:
    """One Dijkstra batch of :func:`_batches`: seconds from a batch of run-side locations."""

    dist: np.ndarray  # (locations of the batch, nodes + all locations) seconds
    loc: np.ndarray  # per run-side point of the batch: its row in ``dist``
    run_p: np.ndarray  # positions of those points
    run_leg: np.ndarray  # their legs (seconds)
    d_row: np.ndarray  # direct trips: row in ``run_p``, column in ``oth_pos``, seconds; by row
    d_col: np.ndarray
    d_s: np.ndarray


@dataclass
class _Plan:
    """The side :func:`_batches` runs Dijkstra from, and the other side's entries."""

    forward: bool
    oth_pos: np.ndarray
    oth_nodes: np.ndarray
    oth_part: np.ndarray
    oth_leg: np.ndarray
    cols: list[int]  # entry columns of the other side with some usable entry


def _batches(
    prep: Prepared, a: Snapped, a_pos: np.ndarray, b: Snapped, b_pos: np.ndarray, max_s: float
) -> tuple[_Plan, Iterator[_Batch]]:
    """Dijkstra from the distinct snapped locations of the side that has fewer, a memory-bounded batch at a time.

    Each location is a virtual source (on the transposed graph when the run side is ``b``);
    each batch comes with its run-side points and their direct trips.
    """
    n = prep.n
    la_nodes, la_cost, la_inv = _locations(a.out_node, a.out_s, a_pos)
    lb_nodes, lb_cost, lb_inv = _locations(b.in_node, b.in_s, b_pos)
    forward = la_nodes.shape[0] <= lb_nodes.shape[0]
    if forward:
        run_nodes, run_cost, run_inv, run_pos, run_pts = la_nodes, la_cost, la_inv, a_pos, a
        oth_pos, oth_nodes, oth_part, oth_pts = b_pos, b.in_node[b_pos], b.in_s[b_pos], b
        base = prep.forward
    else:
        run_nodes, run_cost, run_inv, run_pos, run_pts = lb_nodes, lb_cost, lb_inv, b_pos, b
        oth_pos, oth_nodes, oth_part, oth_pts = a_pos, a.out_node[a_pos], a.out_s[a_pos], a
        base = prep.reverse
    n_loc = run_nodes.shape[0]
    aug = augment(base, run_nodes, run_cost)
    limit = np.inf
    if math.isfinite(max_s):
        limit = max(0.0, max_s - float(a.leg_s[a_pos].min()) - float(b.leg_s[b_pos].min()))
    cols = [e for e in range(1, oth_part.shape[1]) if np.isfinite(oth_part[:, e]).any()]
    plan = _Plan(forward, oth_pos, oth_nodes, oth_part, oth_pts.leg_s[oth_pos], cols)
    # run-side points grouped by location
    order = np.argsort(run_inv, kind="stable")
    bounds = np.searchsorted(run_inv[order], np.arange(n_loc + 1))
    step = max(1, BATCH_BYTES // (8 * (n + n_loc)))
    direct = _Direct(a, a_pos, b, b_pos, run_is_a=forward)
    col_of = np.full(len(oth_pts.index), -1, dtype=np.int64)
    col_of[oth_pos] = np.arange(oth_pos.size)

    def gen() -> Iterator[_Batch]:
        for s0 in range(0, n_loc, step):
            s1 = min(s0 + step, n_loc)
            dist = dijkstra(aug, directed=True, indices=np.arange(n + s0, n + s1), limit=limit)
            pts_run = order[bounds[s0] : bounds[s1]]  # indices into run_pos
            run_p = run_pos[pts_run]
            # this batch's direct trips, sorted by row, so each block takes its own slice;
            # found per batch, their memory is bounded by the batch (a crowded segment can
            # give millions of pairs in all)
            d_row, d_col, d_s = _direct_rows(direct, run_p, col_of)
            yield _Batch(dist, run_inv[pts_run] - s0, run_p, run_pts.leg_s[run_p], d_row, d_col, d_s)

    return plan, gen()


def point_blocks(
    prep: Prepared, a: Snapped, a_sel: np.ndarray, b: Snapped, b_sel: np.ndarray, max_s: float
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Seconds (legs and direct trips included) from points ``a`` to points ``b``, inf beyond ``max_s``.

    Dijkstra runs from the distinct snapped locations of the side that has fewer (on the
    transposed graph when that is ``b``), a memory-bounded batch at a time, each location
    a virtual source. Yields ``(a_pos, b_pos, T)`` with ``T[i, j]`` the time from
    ``a_pos[i]`` to ``b_pos[j]``.
    """
    a_pos = np.asarray(a_sel, dtype=np.int64)
    b_pos = np.asarray(b_sel, dtype=np.int64)
    if a_pos.size == 0 or b_pos.size == 0:
        return
    plan, batches = _batches(prep, a, a_pos, b, b_pos, max_s)
    forward, oth_pos, oth_nodes, oth_part, oth_leg = (
        plan.forward,
        plan.oth_pos,
        plan.oth_nodes,
        plan.oth_part,
        plan.oth_leg,
    )
    for bt in batches:
        dist, loc, run_p, run_leg = bt.dist, bt.loc, bt.run_p, bt.run_leg
        d_row, d_col, d_s = bt.d_row, bt.d_col, bt.d_s
        has_direct = d_row.size > 0
        o_step = max(1, BLOCK_CELLS // dist.shape[0])
        for c0 in range(0, oth_pos.size, o_step):
            c1 = min(c0 + o_step, oth_pos.size)
            m = dist[:, oth_nodes[c0:c1, 0]] + oth_part[c0:c1, 0]
            for e in plan.cols:
                np.minimum(m, dist[:, oth_nodes[c0:c1, e]] + oth_part[c0:c1, e], out=m)
            m += oth_leg[c0:c1]
            chunk = max(1, BLOCK_CELLS // (c1 - c0))
            for r0 in range(0, run_p.size, chunk):
                rl = loc[r0 : r0 + chunk]
                t = m[rl]
                t += run_leg[r0 : r0 + chunk, None]
                rp, op = run_p[r0 : r0 + chunk], oth_pos[c0:c1]
                ap_, bp_ = (rp, op) if forward else (op, rp)
                if not forward:
                    t = np.ascontiguousarray(t.T)
                if has_direct:
                    lo, hi = np.searchsorted(d_row, [r0, r0 + rp.size])
                    if hi > lo:
                        rows, cols_, secs = d_row[lo:hi] - r0, d_col[lo:hi], d_s[lo:hi]
                        m_in = (cols_ >= c0) & (cols_ < c1)
                        rows, cols_, secs = rows[m_in], cols_[m_in] - c0, secs[m_in]
                        if forward:
                            t[rows, cols_] = np.minimum(t[rows, cols_], secs)
                        else:
                            t[cols_, rows] = np.minimum(t[cols_, rows], secs)
                if math.isfinite(max_s):
                    t[t > max_s] = np.inf
                yield ap_, bp_, t


def count_within_points(
    prep: Prepared,
    a: Snapped,
    a_sel: np.ndarray,
    b: Snapped,
    b_sel: np.ndarray,
    max_s: float,
    weights: np.ndarray,
    *,
    per: str = "a",
) -> np.ndarray:
    """Sums of weights over the pairs (``a`` point, ``b`` point) within ``max_s`` seconds.

    The same times as :func:`point_blocks` (from ``a`` to ``b``, legs and direct trips
    included, cut-off inclusive), reduced as they are computed by a compiled kernel
    (:mod:`numba`): no block of times is built. With ``per="a"``, each point of ``a_sel``
    sums the ``weights`` of the points of ``b_sel`` it reaches (``weights``: one row per
    point of ``b``, all of ``b.index``, a column per sum; the result: one row per point of
    ``a``); with ``per="b"``, each point of ``b_sel`` sums the weights of the points of
    ``a_sel`` that reach it (the roles swapped).
    """
    if per not in ("a", "b"):
        raise ValueError(f"per must be 'a' or 'b', not {per!r}")
    a_pos = np.asarray(a_sel, dtype=np.int64)
    b_pos = np.asarray(b_sel, dtype=np.int64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    total = np.zeros((len((a if per == "a" else b).index), w.shape[1]))
    if a_pos.size == 0 or b_pos.size == 0:
        return total
    from ._kernels import count_batch, count_direct

    plan, batches = _batches(prep, a, a_pos, b, b_pos, max_s)
    # the run side sums (and the other side's weights are summed) when it is the ``per`` side
    to_run = plan.forward == (per == "a")
    oth_nodes = np.ascontiguousarray(plan.oth_nodes[:, [0, *plan.cols]])
    oth_part = np.ascontiguousarray(plan.oth_part[:, [0, *plan.cols]])
    oth_leg = np.ascontiguousarray(plan.oth_leg, dtype=np.float64)
    empty = np.zeros((0, w.shape[1]))
    w_oth = w[plan.oth_pos] if to_run else empty
    acc_oth = np.zeros((0 if to_run else plan.oth_pos.size, w.shape[1]))
    for bt in batches:
        run_leg = np.ascontiguousarray(bt.run_leg, dtype=np.float64)
        w_run = empty if to_run else w[bt.run_p]
        acc_run = np.zeros((bt.run_p.size if to_run else 0, w.shape[1]))
        count_batch(
            bt.dist, bt.loc, run_leg, oth_nodes, oth_part, oth_leg, float(max_s), to_run, w_run, w_oth, acc_run, acc_oth
        )
        if bt.d_row.size:  # a direct trip counts where the network does not
            count_direct(
                bt.dist, bt.loc, run_leg, oth_nodes, oth_part, oth_leg, bt.d_row, bt.d_col, bt.d_s,
                float(max_s), to_run, w_run, w_oth, acc_run, acc_oth,
            )  # fmt: skip
        if to_run:
            total[bt.run_p] += acc_run
    if not to_run:
        total[plan.oth_pos] += acc_oth
    return total


def _direct_rows(direct: _Direct, run_sel: np.ndarray, col_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The direct trips of the run-side points ``run_sel``, as (row, column, seconds) sorted by row.

    Row ``g`` is the point ``run_sel[g]``, column ``col_of[p]`` the other side's point ``p``
    (``-1``: not among the columns). ``run_sel`` holds distinct positions;
    :func:`point_blocks` yields its rows in that order, so a block's direct trips are one
    slice of the result, found by ``searchsorted``.
    """
    a_side, b_side, secs = direct.pairs(run_sel)
    run_side, oth_side = (a_side, b_side) if direct.run_is_a else (b_side, a_side)
    if secs.size == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e.copy(), secs
    row_of = np.full(len(direct.run.index), -1, dtype=np.int64)
    row_of[run_sel] = np.arange(run_sel.size)
    rows, cols = row_of[run_side], col_of[oth_side]
    keep = (rows >= 0) & (cols >= 0)
    rows, cols, secs = rows[keep], cols[keep], secs[keep]
    o = np.argsort(rows, kind="stable")
    return rows[o], cols[o], secs[o]


# --------------------------------------------------------------------------- reachability
def reach_mask(prep: Prepared, start_nodes: np.ndarray, *, reverse: bool) -> np.ndarray:
    """Bool per node: reachable from ``start_nodes`` (or, with ``reverse``, reaching them)."""
    labels, cond, cond_t = prep.scc()
    if cond.shape[0] == 1:
        return np.ones(labels.shape[0], dtype=bool)
    starts = np.unique(labels[start_nodes])
    d = dijkstra(cond_t if reverse else cond, directed=True, indices=starts, unweighted=True, min_only=True)
    return np.isfinite(d)[labels]


def entry_nodes(pts: Snapped, sel: np.ndarray, *, out: bool) -> np.ndarray:
    """The usable entry nodes of the points ``sel`` (flattened)."""
    nodes, part = pts.entries(out=out)
    return nodes[sel][np.isfinite(part[sel])]


def reaches_any(pts: Snapped, sel: np.ndarray, node_mask: np.ndarray, *, out: bool) -> np.ndarray:
    """Bool per point of ``sel``: one of its usable entries is in ``node_mask``."""
    nodes, part = pts.entries(out=out)
    return (node_mask[nodes[sel]] & np.isfinite(part[sel])).any(axis=1)


def count_unreachable_pairs(prep: Prepared, a: Snapped, a_sel: np.ndarray, b: Snapped, b_sel: np.ndarray) -> int:
    """Number of (a, b) pairs with no directed path between their entries, by strong components."""
    labels, cond, _ = prep.scc()
    if cond.shape[0] == 1 or a_sel.size == 0 or b_sel.size == 0:
        return 0
    big = labels.max() + 1  # a label for "no entry"
    ca = np.where(np.isfinite(a.out_s[a_sel]), labels[a.out_node[a_sel]], big)
    cb = np.where(np.isfinite(b.in_s[b_sel]), labels[b.in_node[b_sel]], big)
    ua, a_count = np.unique(ca, axis=0, return_counts=True)
    ub, b_count = np.unique(cb, axis=0, return_counts=True)
    starts = np.unique(ua[ua < big])
    total = 0
    step = max(1, BATCH_BYTES // (8 * cond.shape[0]))
    reach = np.zeros((starts.size, cond.shape[0] + 1), dtype=bool)
    for s0 in range(0, starts.size, step):
        d = dijkstra(cond, directed=True, indices=starts[s0 : s0 + step], unweighted=True)
        reach[s0 : s0 + step, :-1] = np.isfinite(d)
    row_of = np.full(big + 1, -1, dtype=np.int64)
    row_of[starts] = np.arange(starts.size)
    for i in range(ua.shape[0]):
        r = np.zeros(cond.shape[0] + 1, dtype=bool)
        for c in ua[i]:
            if c < big:
                r |= reach[row_of[c]]
        ok = r[ub].any(axis=1)
        total += int(a_count[i] * b_count[~ok].sum())
    return total
