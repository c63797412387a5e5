"""The travel stage of the commune pages: from each municipality's population centre, the
areas reachable within given times, its nearest gateways and support bodies, and the
fastest routes to them, as GeoDataFrames.

:func:`commune_travel` computes everything in batches on the territory's
:class:`~proximity.network.CSRGraph`: one Dijkstra run per centre (with predecessors) gives
the isochrones, the nearest facility of each group and the routes to them, so the minutes
of a route and of its nearest facility are the same number. :mod:`proximity.maps` only
draws the result.

The population centre of a municipality (:func:`population_centres`) is the population
origin (:func:`proximity.scores.population_origins`: network nodes inside the
municipality, sharing its population) nearest to the population-weighted mean of its
origins: a point on its roads, inside it even for a crescent-shaped municipality. A
municipality with no network node inside falls back to its representative point, as the
scores do.

Isochrones follow the model of :func:`proximity.traveltime.isochrones` (a place ``p`` is
reached in ``min_i t_i + |p - node_i| / v`` over the nodes within ``max_snap_m``, or
directly from the centre) evaluated at the centres of one square grid shared by every
centre: the ``k`` nearest nodes of each cell are found once (k-d tree), then each
centre's time field is a gather and a minimum over them. The cells reached within ``T``
are polygonised (``rasterio.features.shapes``).

Examples
--------
Loading the territory takes about 10 s (the doctests get it ready-made as ``ter``):

>>> from proximity.territory import load_territory
>>> ter = load_territory("herault")  # doctest: +SKIP
>>> from proximity.commune_travel import commune_travel
>>> tr = commune_travel(ter, communes=["34172"])
>>> tr.routes[["group", "name"]].head(3).to_numpy().tolist()
[['airport', 'Montpellier-Mediterranee Airport'], ['seaport', 'Sete'], ['tgv_station', 'Montpellier Saint-Roch']]
>>> round(float(tr.routes["minutes"].iloc[0]))
17
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from . import traveltime
from .errors import InputError, UnreachableWarning
from .network import ACCESS_DETOUR, ACCESS_SPEED_KMH

__all__ = ["ROUTE_GROUPS", "CommuneTravel", "commune_travel", "population_centres"]

#: Destination groups of the routes: gateway groups (a TGV station is the ``tgv_station``
#: group) and support-body categories.
ROUTE_GROUPS: tuple[str, ...] = ("airport", "seaport", "tgv_station", "motorway_access", "chamber_of_commerce")

#: Nodes considered per grid cell (as :func:`proximity.traveltime.isochrones`).
ISO_K = 8
#: Centres per Dijkstra batch (each row holds one time and one predecessor per node).
_BATCH = 64


@dataclass(frozen=True)
class CommuneTravel:
    """What the commune pages show, per municipality (INSEE code in ``insee``).

    Attributes
    ----------
    centres : geopandas.GeoDataFrame
        Indexed by INSEE code: ``placement`` (``node`` or ``representative_point``),
        ``reachable`` (within ``max_snap_m`` of the network), Point geometry (EPSG:4326).
    isochrones : geopandas.GeoDataFrame
        ``insee``, ``minutes`` and the (Multi)Polygon reachable within them by car
        (EPSG:4326), one row per municipality and threshold, shortest first; empty
        polygons for an unreachable centre.
    routes : geopandas.GeoDataFrame
        One row per municipality and destination group reached: ``insee``, ``group``,
        ``destination_id`` (index label in the gateways or support bodies), ``name``,
        ``minutes`` (the engine's, :func:`proximity.traveltime.nearest`) and ``km`` (along
        the drawn path: the network's nodes from the centre to the node nearest the
        destination, plus the off-network legs), the fastest route as a LineString
        (EPSG:4326: centre, network nodes, destination; simplified by 10 m).
        Groups not reachable from a centre have no row.
    nearest : geopandas.GeoDataFrame
        The same rows with the destination's Point as geometry (EPSG:4326).
    minutes : tuple of float
        The isochrone thresholds.
    """

    centres: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    nearest: gpd.GeoDataFrame
    minutes: tuple[float, ...]


def _check_minutes(minutes: Any) -> tuple[float, ...]:
    values = [minutes] if isinstance(minutes, int | float) and not isinstance(minutes, bool) else minutes
    try:
        out = tuple(sorted({float(v) for v in values}))
    except (TypeError, ValueError):
        out = ()
    if not out or any(isinstance(v, bool) or not math.isfinite(v) or v <= 0 for v in out):
        raise InputError(f"minutes must be positive numbers of minutes, got {minutes!r}; e.g. minutes=(15, 30, 45)")
    return out


def _check_positive(value: Any, name: str, example: str, *, zero: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.number) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        kind = "non-negative" if zero else "positive"
        raise InputError(f"{name} must be a {kind} number of metres, got {value!r}; e.g. {name}={example}")
    return float(value)


def population_centres(
    municipalities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    *,
    crs: str,
    insees: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """The population centre of each municipality: its population origin nearest to their weighted mean.

    Parameters
    ----------
    municipalities : geopandas.GeoDataFrame
        Indexed by INSEE code (``territory.municipalities``).
    origins : geopandas.GeoDataFrame
        Population origins with ``insee`` and ``weight`` (:func:`proximity.scores.population_origins`,
        or ``ScoreResult.origins``).
    crs : str
        Projected CRS of the result (the graph's).
    insees : iterable of str, optional
        The municipalities wanted (default: all).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by INSEE code: ``placement`` (``node`` when the centre is a population
        origin, ``representative_point`` for a municipality without one) and Point
        geometry in ``crs``.
    """
    missing = [c for c in ("insee", "weight") if c not in origins.columns]
    if missing:
        raise InputError(
            f"origins lacks columns {missing}; pass proximity.scores.population_origins(...) or ScoreResult.origins"
        )
    codes = list(municipalities.index if insees is None else insees)
    sub = origins[origins["insee"].isin(codes)]
    proj = sub.geometry.to_crs(crs)
    w = sub["weight"].astype(float).to_numpy()
    frame = pd.DataFrame(
        {
            "insee": sub["insee"].astype(str).to_numpy(),
            "x": proj.x.to_numpy(),
            "y": proj.y.to_numpy(),
            "w": np.where(w > 0, w, 1e-9),
        }
    )
    rows: dict[str, tuple[float, float, str]] = {}
    if len(frame):
        frame["wx"], frame["wy"] = frame["x"] * frame["w"], frame["y"] * frame["w"]
        sums = frame.groupby("insee")[["wx", "wy", "w"]].sum()
        mx = frame["insee"].map(sums["wx"] / sums["w"])
        my = frame["insee"].map(sums["wy"] / sums["w"])
        frame["d"] = np.hypot(frame["x"] - mx, frame["y"] - my)
        placement = sub.get("placement", pd.Series("node", index=sub.index)).astype(str).to_numpy()
        frame["placement"] = placement
        best = frame.loc[frame.groupby("insee")["d"].idxmin()]
        rows = {
            str(i): (float(x), float(y), str(pl))
            for i, x, y, pl in zip(best["insee"], best["x"], best["y"], best["placement"], strict=True)
        }
    polys = municipalities.geometry.to_crs(crs)
    geoms, places = [], []
    for code in codes:
        if code in rows:
            x, y, place = rows[code]
            geoms.append(shapely.Point(x, y))
            places.append(place)
        else:
            geoms.append(polys.loc[code].representative_point())
            places.append("representative_point")
    return gpd.GeoDataFrame({"placement": places}, geometry=geoms, index=pd.Index(codes, name="insee"), crs=crs)


def _facilities(territory: Any, groups: Sequence[str]) -> gpd.GeoDataFrame:
    """Gateways (TGV stations as ``tgv_station``) and support bodies of the wanted groups, on the network."""
    gw = territory.gateways
    gw = gw[gw["on_network"]] if "on_network" in gw else gw
    tgv = gw["tgv"].fillna(False).astype(bool) if "tgv" in gw else pd.Series(False, index=gw.index)
    gw_group = gw["kind"].astype(str).where(~(gw["kind"].eq("rail_station") & tgv), "tgv_station")
    sup = territory.support_bodies
    sup = sup[sup["on_network"]] if "on_network" in sup else sup
    parts = [
        gpd.GeoDataFrame({"group": gw_group, "name": gw["name"]}, geometry=gw.geometry, crs=gw.crs),
        gpd.GeoDataFrame(
            {"group": sup["category"].astype(str), "name": sup["name"]}, geometry=sup.geometry, crs=sup.crs
        ).to_crs(gw.crs),
    ]
    fac = pd.concat(parts)
    fac = fac[fac["group"].isin(groups) & ~fac.index.duplicated()]
    return gpd.GeoDataFrame(fac, crs=gw.crs)


class _Grid:
    """A square grid over the network (cell centres), the ``k`` nearest nodes of each cell
    within ``cap_m`` and the off-network time to them, stored as ``k`` slabs (k, rows, cols)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, *, cell_m: float, cap_m: float, k: int, speed_ms: float) -> None:
        self.c = cell_m
        self.x0 = math.floor((x.min() - cap_m) / cell_m) * cell_m + cell_m / 2
        self.y0 = math.floor((y.min() - cap_m) / cell_m) * cell_m + cell_m / 2
        self.nx = math.ceil((x.max() + cap_m - self.x0) / cell_m) + 1
        self.ny = math.ceil((y.max() + cap_m - self.y0) / cell_m) + 1
        self.n_nodes = len(x)
        self.tree = cKDTree(np.column_stack([x, y]))
        self.k = min(k, len(x))
        self.cap_m = cap_m
        self.speed_ms = speed_ms
        # rows filled on demand (a single commune page needs only its window); node n = none
        self.idx = np.full((self.k, self.ny, self.nx), self.n_nodes, dtype=np.int32)
        self.acc_s = np.full((self.k, self.ny, self.nx), np.inf, dtype=np.float32)
        self.done = np.zeros(self.ny, dtype=bool)

    def window(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice]:
        c0 = max(0, math.floor((lo[0] - self.x0) / self.c))
        c1 = min(self.nx, math.ceil((hi[0] - self.x0) / self.c) + 1)
        r0 = max(0, math.floor((lo[1] - self.y0) / self.c))
        r1 = min(self.ny, math.ceil((hi[1] - self.y0) / self.c) + 1)
        todo = np.flatnonzero(~self.done[r0:r1]) + r0
        if todo.size:
            xs = self.x0 + np.arange(self.nx) * self.c
            gx, gy = np.meshgrid(xs, self.y0 + todo * self.c)
            d, i = self.tree.query(np.column_stack([gx.ravel(), gy.ravel()]), k=self.k, distance_upper_bound=self.cap_m)
            shape = (todo.size, self.nx, self.k)
            self.idx[:, todo] = np.moveaxis(np.asarray(i, dtype=np.int32).reshape(shape), 2, 0)
            self.acc_s[:, todo] = np.moveaxis((np.asarray(d) / self.speed_ms).astype(np.float32).reshape(shape), 2, 0)
            self.done[todo] = True
        return slice(r0, r1), slice(c0, c1)


def _polygons(mask: np.ndarray, transform: Any) -> Any:
    """The cells of a boolean raster as one (Multi)Polygon (empty when none)."""
    from rasterio.features import shapes

    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        return shapely.Polygon()
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    sub = np.ascontiguousarray(mask[r0:r1, c0:c1])
    rings = [
        g["coordinates"]
        for g, _ in shapes(sub.view(np.uint8), mask=sub, transform=transform @ transform.translation(c0, r0))
    ]
    # 4-connected regions of one mask are disjoint: a MultiPolygon of them is valid as it is
    # (parsed by GEOS from GeoJSON text: much faster than shapely.geometry.shape per ring)
    if len(rings) == 1:
        return shapely.from_geojson(json.dumps({"type": "Polygon", "coordinates": rings[0]}))
    return shapely.from_geojson(json.dumps({"type": "MultiPolygon", "coordinates": rings}))


def _iso_polygons(
    grid: _Grid, t_s: np.ndarray, xy: np.ndarray, origin: np.ndarray, leg_s: float, thresholds: Sequence[float]
) -> list[Any]:
    """Polygons (graph CRS) of the places reached within each threshold, from one centre."""
    from affine import Affine

    t_max = thresholds[-1] * 60.0
    reached = t_s < t_max
    radius = min(t_max * grid.speed_ms, grid.cap_m)
    pts = xy[reached]
    lo = np.minimum(pts.min(axis=0), origin) - radius if len(pts) else origin - radius
    hi = np.maximum(pts.max(axis=0), origin) + radius if len(pts) else origin + radius
    rows, cols = grid.window(lo, hi)
    t_ext = np.append(np.where(reached, t_s, np.inf), np.inf).astype(np.float32)
    field = t_ext[grid.idx[0, rows, cols]]
    field += grid.acc_s[0, rows, cols]
    for k in range(1, grid.k):
        via = t_ext[grid.idx[k, rows, cols]]
        via += grid.acc_s[k, rows, cols]
        np.minimum(field, via, out=field)
    # directly from the centre (its own off-network leg), within the snapping limit
    xs = grid.x0 + np.arange(cols.start, cols.stop) * grid.c
    ys = grid.y0 + np.arange(rows.start, rows.stop) * grid.c
    d_o = np.hypot(xs[None, :] - origin[0], ys[:, None] - origin[1])
    direct = np.where(d_o <= grid.cap_m, leg_s + d_o / grid.speed_ms, np.inf)
    np.minimum(field, direct.astype(np.float32), out=field)
    transform = Affine(grid.c, 0.0, xs[0] - grid.c / 2, 0.0, grid.c, ys[0] - grid.c / 2)
    return [_polygons(field <= T * 60.0, transform) for T in thresholds]


def commune_travel(
    territory: Any,
    *,
    communes: Iterable[str] | None = None,
    origins: gpd.GeoDataFrame | None = None,
    minutes: Sequence[float] = (15, 30, 45),
    groups: Sequence[str] = ROUTE_GROUPS,
    cell_m: float = 250.0,
    tolerance_m: float = 25.0,
    progress: Callable[[str], None] | None = None,
) -> CommuneTravel:
    """Isochrones, nearest facilities and fastest routes from each municipality's population centre.

    Parameters
    ----------
    territory : proximity.territory.Territory
        Its ``csr`` graph, ``municipalities`` (indexed by INSEE code), ``gateways`` and
        ``support_bodies``.
    communes : iterable of str, optional
        INSEE codes (default: every municipality).
    origins : geopandas.GeoDataFrame, optional
        Population origins (``ScoreResult.origins``); default
        :func:`proximity.scores.population_origins` of the territory, as the scores build them.
    minutes : sequence of float, default (15, 30, 45)
        Isochrone thresholds.
    groups : sequence of str, default :data:`ROUTE_GROUPS`
        Destination groups: gateway groups (``airport``, ``seaport``, ``tgv_station``,
        ``rail_station``, ``motorway_access``) and support-body categories.
    cell_m : float, default 250
        Isochrone grid cell (metres).
    tolerance_m : float, default 25
        Simplification of the isochrones (metres; the routes use 10 m); 0 keeps the grid's
        staircase outline.
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    CommuneTravel

    Raises
    ------
    InputError
        Unknown INSEE codes, a bad threshold, cell or tolerance.

    Warns
    -----
    UnreachableWarning
        Centres more than :data:`proximity.traveltime.MAX_SNAP_M` from the network (empty
        isochrones, no routes).

    Examples
    --------
    >>> tr = commune_travel(ter, communes=["34172", "34032"])
    >>> iso = tr.isochrones.query("minutes == 30").to_crs("EPSG:2154")
    >>> (iso.area / 1e6).round(-1).tolist()  # km²
    [1210.0, 1220.0]
    """
    say = progress or (lambda msg: None)
    thresholds = _check_minutes(minutes)
    cell = _check_positive(cell_m, "cell_m", "250")
    tol = _check_positive(tolerance_m, "tolerance_m", "25", zero=True)
    if isinstance(groups, str) or not all(isinstance(g, str) for g in groups):
        raise InputError(
            f"groups must be a list of destination groups, got {groups!r}; e.g. groups=['airport', 'seaport']"
        )
    csr = territory.csr
    munis = territory.municipalities
    if communes is None:
        codes = [str(c) for c in munis.index]
    else:
        if isinstance(communes, str):
            raise InputError(
                f"communes must be a list of INSEE codes, got the string {communes!r}; e.g. communes=['34172']"
            )
        codes = list(dict.fromkeys(str(c) for c in communes))
        unknown = [c for c in codes if c not in munis.index]
        if unknown:
            raise InputError(
                f"communes {unknown[:5]} are not municipalities of this territory; pass INSEE codes of territory.municipalities"
            )
    if origins is None:
        from .scores import population_origins

        origins = population_origins(munis, csr)
    crs = csr.crs
    centres = population_centres(munis, origins, crs=crs, insees=codes)
    max_snap_m = traveltime.MAX_SNAP_M
    speed_ms = ACCESS_SPEED_KMH / 3.6 / ACCESS_DETOUR

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreachableWarning)
        snapped = traveltime.snap(csr, centres)
        fac = _facilities(territory, groups)
        fsnap = traveltime.snap(csr, fac) if len(fac) else pd.DataFrame(columns=["node", "snap_m", "reachable"])
    for w in caught:
        if not issubclass(w.category, UnreachableWarning):  # pragma: no cover - passed on
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fac = fac[fsnap["reachable"].to_numpy(bool)] if len(fac) else fac
    fsnap = fsnap[fsnap["reachable"]]
    f_node = fsnap["node"].to_numpy(np.int64)
    f_leg = fsnap["snap_m"].to_numpy(float) / speed_ms
    f_xy = shapely.get_coordinates(fac.geometry.to_crs(crs).values) if len(fac) else np.empty((0, 2))
    ok = snapped["reachable"].to_numpy(bool)
    o_node = snapped["node"].to_numpy(np.int64)
    o_leg = snapped["snap_m"].to_numpy(float) / speed_ms
    o_xy = shapely.get_coordinates(centres.geometry.values)

    # the nearest facility of each group and its minutes are the engine's (points snap onto
    # the nearest road, not only its nodes); the drawn path follows the network's nodes
    engine: dict[tuple[str, str], tuple[Any, float]] = {}
    if len(fac) and ok.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreachableWarning)  # an unreachable group simply has no route
            near = traveltime.nearest(csr, centres.loc[ok, ["geometry"]], fac[["group", "geometry"]], by="group")
        near = near[near["destination_id"].notna() & np.isfinite(near["minutes"].to_numpy(float))]
        engine = {
            (str(o), str(g)): (d, float(m))
            for o, g, d, m in zip(
                near["origin_id"], near["group"], near["destination_id"], near["minutes"], strict=True
            )
        }
    fac_pos = pd.Series(np.arange(len(fac)), index=fac.index)
    A = sp.csr_matrix(csr.time_s, dtype=np.float64)
    A.sum_duplicates()
    xy = np.column_stack([np.asarray(csr.x, float), np.asarray(csr.y, float)])
    grid = _Grid(xy[:, 0], xy[:, 1], cell_m=cell, cap_m=max_snap_m, k=ISO_K, speed_ms=speed_ms)
    length = sp.csr_matrix(csr.length_m, dtype=np.float64)

    empty = shapely.Polygon()
    iso: list[list[Any]] = [[empty] * len(thresholds) for _ in codes]
    route_rows: list[dict[str, Any]] = []
    route_xy: list[np.ndarray] = []
    say(f"travel: isochrones and routes for {len(codes)} municipalities")
    pos_ok = np.flatnonzero(ok)
    for a in range(0, pos_ok.size, _BATCH):
        batch = pos_ok[a : a + _BATCH]
        dist, pred = dijkstra(A, directed=True, indices=o_node[batch], return_predecessors=True)
        for r, p in enumerate(batch):
            t = dist[r] + o_leg[p]
            iso[p] = _iso_polygons(grid, t, xy, o_xy[p], o_leg[p], thresholds)
            if not f_node.size:
                continue
            tf = t[f_node] + f_leg
            for g in groups:
                hit = engine.get((codes[p], g))
                if hit is None:
                    continue
                j = int(fac_pos[hit[0]])
                if not np.isfinite(tf[j]):
                    continue
                v, u = int(f_node[j]), int(o_node[p])
                path = [v]
                while path[-1] != u:
                    path.append(int(pred[r, path[-1]]))
                path_a = np.asarray(path[::-1], dtype=np.int64)
                net_m = float(np.asarray(length[path_a[:-1], path_a[1:]]).sum()) if path_a.size > 1 else 0.0
                route_xy.append(np.vstack([o_xy[p], xy[path_a], f_xy[j]]))
                route_rows.append(
                    {
                        "insee": codes[p],
                        "group": g,
                        "destination_id": fac.index[j],
                        "name": "" if pd.isna(fac["name"].iloc[j]) else str(fac["name"].iloc[j]),
                        "minutes": hit[1],
                        "km": (net_m + (snapped["snap_m"].iloc[p] + fsnap["snap_m"].iloc[j]) * ACCESS_DETOUR) / 1000.0,
                    }
                )
    n_far = int((~ok).sum())
    if n_far:
        warnings.warn(
            f"{n_far} municipality centre(s) are more than {max_snap_m:g} m from the network: no isochrones or routes "
            "(extend the network or check the municipalities' population origins)",
            UnreachableWarning,
            stacklevel=2,
        )

    n_t = len(thresholds)
    polys = np.array([g for row in iso for g in row], dtype=object)
    if tol > 0:
        polys = shapely.simplify(polys, tol, preserve_topology=True)
    isochrones = gpd.GeoDataFrame(
        {"insee": np.repeat(codes, n_t), "minutes": np.tile(np.asarray(thresholds, float), len(codes))},
        geometry=gpd.GeoSeries(polys, crs=crs).to_crs("EPSG:4326").values,
        crs="EPSG:4326",
    )
    lines = (
        shapely.simplify(np.array([shapely.LineString(c) for c in route_xy], dtype=object), 10.0)
        if route_xy
        else np.array([], dtype=object)
    )
    columns = ["insee", "group", "destination_id", "name", "minutes", "km"]
    table = pd.DataFrame(route_rows, columns=columns)
    routes = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(lines, crs=crs).to_crs("EPSG:4326").values, crs="EPSG:4326")
    order = {g: i for i, g in enumerate(groups)}
    routes = routes.sort_values(
        ["insee", "group"],
        key=lambda s: s.map(order) if s.name == "group" else s.map({c: i for i, c in enumerate(codes)}),
        kind="stable",
    ).reset_index(drop=True)
    dest = fac.geometry.to_crs("EPSG:4326")
    nearest = gpd.GeoDataFrame(
        routes.drop(columns="geometry"), geometry=dest.reindex(routes["destination_id"]).values, crs="EPSG:4326"
    )
    out_centres = gpd.GeoDataFrame(
        {"placement": centres["placement"].to_numpy(), "reachable": ok},
        geometry=centres.geometry.to_crs("EPSG:4326").values,
        index=centres.index,
        crs="EPSG:4326",
    )
    return CommuneTravel(centres=out_centres, isochrones=isochrones, routes=routes, nearest=nearest, minutes=thresholds)
