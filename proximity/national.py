"""The milieu index of every commune of a large territory (all of France) on Dask distributed.

``proximity run --territory france --out DIR [--workers N | --scheduler ADDR] [--resume]``
= :func:`run_national`. The same code path serves a laptop (a
``distributed.LocalCluster`` of process workers, one thread each), an existing cluster (by
scheduler address) and any multi-département territory (``"48,15,43"``, how the tests
run it). The scores are those of :func:`proximity.scores.score_territory` on the whole
territory, computed in three steps:

Global step (client, one national graph)
    Population origins (:func:`proximity.scores.population_origins`), the nearest gateway
    of each kind and the nearest coordinating support body of every population origin and
    SME (one multi-source Dijkstra per kind, exact whatever the distance), and for the
    peers' structural features the minutes to the nearest commune of 50,000+ inhabitants
    (``minutes_city_50k``) and the share of the population within 30 min of an airport
    (``share_pop_airport_30``). Every point is snapped once on the national graph.
Local step (one Dask task per département, largest first)
    The indicators with a horizon (counts within T, gravity, diversity, world reach, 2SFCA…)
    of the département's population origins and SMEs, by
    :func:`proximity.scores.origin_indicators` and :func:`~proximity.scores.two_step_support`
    on a subgraph: the nodes within :func:`buffer_minutes` of the département's points in
    either direction (the graph taken as undirected, each edge at its faster direction, so
    the ball holds every path of the horizon whichever way it runs, and 2SFCA's second
    catchment), plus a safety margin; facilities and SMEs are kept when the edge they snap
    to lies in it. The graph and the point tables are scattered to the workers once; a task
    returns per-origin indicators only. The engine runs its Dijkstras from the smaller side
    (facilities, on the reversed graph, when they are fewer than the origins).
Reduce step (client, once over the whole territory)
    :func:`~proximity.scores.municipality_indicators`, normalisation, components, index,
    rank intervals, the national rank (a permutation 1..N, ties broken by INSEE code) and the
    rank within the département.

Resume
    Each finished département is written as ``DIR/partitions/<dep>.parquet`` (GeoParquet,
    one row per population origin and SME) with ``<dep>.json`` (its sha256 and the key of
    the run's inputs and settings); ``resume=True`` keeps the valid ones. A failed task is
    retried once, then reported by département: the run raises
    :class:`~proximity.errors.ProximityError` and writes no national file. The national
    files (``municipalities.parquet``, ``departements.parquet``, ``provenance.json``) are
    staged and moved in together (:func:`proximity._io.staged_output`).

Examples
--------
>>> from proximity.national import run_national
>>> res = run_national("48,15,43", "out-3deps", workers=2)  # doctest: +SKIP
>>> res.municipalities  # doctest: +SKIP
PosixPath('out-3deps/municipalities.parquet')
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from . import _engine, _io, milieu, scores, traveltime
from . import accessibility as acc
from ._version import __version__
from .errors import InputError, ProximityError, UnreachableWarning
from .layers import air_routes as _air_routes
from .layers import on_network
from .network import CSRGraph

__all__ = [
    "CITY_POPULATION",
    "AIRPORT_MINUTES",
    "MARGIN_MINUTES",
    "FAIL_ENV",
    "NationalInputs",
    "NationalRun",
    "buffer_minutes",
    "subgraph",
    "global_step",
    "partition_step",
    "reduce_step",
    "departement_table",
    "run_national",
]

#: Population from which a commune counts as a city for ``minutes_city_50k``.
CITY_POPULATION = 50_000
#: Drive of ``share_pop_airport_30`` (minutes to the nearest airport).
AIRPORT_MINUTES = 30.0
#: Safety margin added to the buffer of a partition (minutes): covers the off-network legs
#: and alternative attachments of points snapped near the buffer's edge.
MARGIN_MINUTES = 15.0
#: Test hook: a comma list of départements whose task raises (read on the client at run time).
FAIL_ENV = "PROXIMITY_NATIONAL_FAIL"
#: Columns of the output kept from the communes layer.
_MUNI_COLUMNS = [
    "insee",
    "name",
    "departement",
    "region",
    "epci_siren",
    "epci_name",
    "epci_type",
    "metropole",
    "population",
    "area_km2",
]


def buffer_minutes(profile: milieu.Profile) -> float:
    """Buffer of a partition (minutes): the longest horizon of the profile's local indicators.

    The gravity horizon (:func:`proximity.scores.gravity_horizon_minutes`), the world-reach
    horizon and twice the catchment T (2SFCA: origin → support body → the SMEs it serves),
    whichever is longest (120 min for the default profile).
    """
    p = profile.parameters
    return max(scores.gravity_horizon_minutes(profile), float(p["reach_minutes"]), 2.0 * float(p["catchment_minutes"]))


def subgraph(graph: CSRGraph, keep: np.ndarray) -> CSRGraph:
    """The subgraph induced by the nodes where ``keep`` is True (node order kept)."""
    idx = np.flatnonzero(keep)

    def cut(m):
        return None if m is None else sp.csr_array(m[idx][:, idx])

    return CSRGraph(
        time_s=cut(graph.time_s),
        length_m=cut(graph.length_m),
        node_ids=graph.node_ids[idx],
        x=graph.x[idx],
        y=graph.y[idx],
        crs=graph.crs,
        snappable=None if graph.snappable is None else graph.snappable[idx],
        snappable_edges=cut(graph.snappable_edges),
    )


@dataclass(eq=False)
class NationalInputs:
    """What the global step hands to the partitions and to the reduce step.

    Point tables carry ``u`` and ``v`` (positions in the national graph of the ends of the
    edge they snap to) and ``departement``.
    """

    profile: milieu.Profile
    dropped: dict
    origins: gpd.GeoDataFrame
    smes: gpd.GeoDataFrame
    gateways: gpd.GeoDataFrame
    support_bodies: gpd.GeoDataFrame
    routes: pd.DataFrame
    nearest_origins: pd.DataFrame
    nearest_smes: pd.DataFrame
    communes_extra: pd.DataFrame
    seconds: dict = field(default_factory=dict)


def _attach(graph: CSRGraph, points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``points`` with ``u``/``v``: positions of the ends of the edge each snaps to (-1 when off the network)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        s = traveltime.snap(graph, points)
    pos = pd.Index(graph.node_ids)
    out = points.copy()
    ok = s["reachable"].to_numpy()
    out["u"] = np.where(ok, pos.get_indexer(s["u_id"].to_numpy()), -1)
    out["v"] = np.where(ok, pos.get_indexer(s["v_id"].to_numpy()), -1)
    return out


def _weighted_by_commune(values: pd.Series, origins: gpd.GeoDataFrame, zones: pd.Index) -> pd.Series:
    """Population-weighted mean per commune (plain mean where a commune has no inhabitants)."""
    w = origins["weight"].astype(float)
    total = w.groupby(origins["insee"]).transform("sum")
    w = w.where(total > 0, 1.0)
    return acc.aggregate(values.to_frame("v"), zone_of_origin=origins["insee"], weights=w, zones=zones)["v"]


def _cities(graph: CSRGraph) -> gpd.GeoDataFrame:
    """Centres (representative points) of the metropolitan communes of 50,000+ inhabitants on the graph's extent."""
    from . import area

    cog = area._cog(area.datasets.path("communes_cog", area.NATIONAL))
    big = {c for c, r in cog.items() if (r.get("population") or 0) >= CITY_POPULATION}
    deps = tuple(sorted({cog[c]["departement"] for c in big} & set(area.metro_departements())))
    communes = area.communes_of(deps, only=big)
    pts = gpd.GeoDataFrame(
        {"name": communes["name"]}, geometry=communes.geometry.to_crs(graph.crs).representative_point(), crs=graph.crs
    )
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    inside = (x >= graph.x.min()) & (x <= graph.x.max()) & (y >= graph.y.min()) & (y <= graph.y.max())
    return pts[inside]


def global_step(
    territory, *, profile: milieu.Profile, max_per_commune: int = 30, say: Callable[[str], None] | None = None
) -> NationalInputs:
    """Origins, snapping and the unbounded indicators of every point, on the whole network.

    Parameters
    ----------
    territory : proximity.territory.Territory
        The loaded territory (``france`` or any spec); its ``csr`` is the national graph.
    profile : Profile
        The scoring profile (indicators the territory lacks are dropped, as in
        :func:`proximity.scores.score_territory`).
    max_per_commune : int
        Population origins per commune.

    Returns
    -------
    NationalInputs
    """
    say = say or (lambda msg: None)
    t0 = time.perf_counter()
    weighted = {i.key for i in profile.indicators if i.weight > 0}
    dropped = {k: why for k, why in scores.unavailable_indicators(territory).items() if k in weighted}
    if dropped:
        profile = profile.with_weights(indicators=dict.fromkeys(dropped, 0.0))
    graph = territory.csr
    munis = territory.municipalities
    dep_of = munis.set_index("insee")["departement"]
    say("population origins")
    origins = scores.population_origins(
        munis, graph, max_per_commune=max_per_commune, seed=int(profile.parameters["seed"])
    )
    origins["departement"] = origins["insee"].map(dep_of).to_numpy()
    smes = territory.smes
    smes = smes.assign(departement=smes["commune"].map(dep_of).to_numpy())
    say(f"snapping {len(origins)} origins, {len(smes)} SMEs and the facilities on the whole network")
    origins = _attach(graph, origins)
    smes = _attach(graph, smes)
    gws = _attach(graph, on_network(territory.gateways))
    sup = _attach(graph, on_network(territory.support_bodies))
    t1 = time.perf_counter()
    say("nearest gateways and coordinating bodies (whole network)")
    if origins.index.intersection(smes.index).size:
        raise InputError("population origins and SMEs share ids; make the SME ids unique")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        near_o = scores.nearest_indicators(graph, origins[["geometry"]], gateways=gws, support_bodies=sup)
        near_s = scores.nearest_indicators(graph, smes[["geometry"]], gateways=gws, support_bodies=sup)
    t2 = time.perf_counter()
    say("minutes to the nearest city of 50,000+, share of the population within 30 min of an airport")
    zones = munis.index
    cities = _cities(graph)
    if len(cities):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreachableWarning)
            city_min = (
                traveltime.nearest_table(graph, origins[["geometry"]], cities[["geometry"]]).iloc[:, 0].astype(float)
            )
        city_min = city_min.fillna(np.inf)
    else:
        city_min = pd.Series(np.inf, index=origins.index)
    extra = pd.DataFrame(index=zones)
    extra["minutes_city_50k"] = _weighted_by_commune(city_min.rename("v"), origins, zones).to_numpy()
    airport = (near_o["minutes_airport"] <= AIRPORT_MINUTES).astype(float)
    extra["share_pop_airport_30"] = _weighted_by_commune(airport, origins, zones).to_numpy()
    routes = _air_routes.airport_destinations(territory.gateways, territory=territory.manifest.name)
    t3 = time.perf_counter()
    return NationalInputs(
        profile=profile,
        dropped=dropped,
        origins=origins,
        smes=smes,
        gateways=gws,
        support_bodies=sup,
        routes=routes,
        nearest_origins=near_o,
        nearest_smes=near_s,
        communes_extra=extra,
        seconds={"origins_and_snapping": t1 - t0, "nearest": t2 - t1, "peer_features": t3 - t2},
    )


def _ball(graph: CSRGraph, seeds: np.ndarray, radius_minutes: float) -> np.ndarray:
    """Minutes of every node from ``seeds`` on the undirected graph (each edge at its faster direction), inf beyond the radius."""
    fwd = _engine.prepared(graph).forward
    if seeds.size == 0:
        return np.full(graph.n_nodes, np.inf)
    return dijkstra(fwd, directed=False, indices=seeds, min_only=True, limit=radius_minutes * 60.0) / 60.0


def partition_step(
    departement: str,
    graph: CSRGraph,
    *,
    origins: gpd.GeoDataFrame,
    smes: gpd.GeoDataFrame,
    gateways: gpd.GeoDataFrame,
    support_bodies: gpd.GeoDataFrame,
    routes: pd.DataFrame,
    profile: milieu.Profile,
) -> gpd.GeoDataFrame:
    """The indicators with a horizon of one département's population origins and SMEs.

    Computed on the département's buffered subgraph (see the module notes), by
    :func:`proximity.scores.origin_indicators` (without the nearest-facility columns) and
    :func:`proximity.scores.two_step_support`.

    Parameters
    ----------
    departement : str
        The département's code.
    graph : CSRGraph
        The whole network.
    origins, smes, gateways, support_bodies : GeoDataFrame
        The point tables of :class:`NationalInputs` (with ``u``, ``v``; points and SMEs
        with ``departement``).
    routes : DataFrame
        Airport → destination table (:func:`proximity.layers.air_routes.airport_destinations`).
    profile : Profile
        The scoring profile.

    Returns
    -------
    GeoDataFrame
        One row per population origin (``kind = "origin"``) and SME (``kind = "sme"``) of
        the département, indexed by their ids, with the indicator columns and the point.
    """
    o = origins[origins["departement"].eq(departement)]
    s = smes[smes["departement"].eq(departement)]
    pts_nodes = np.concatenate([o["u"].to_numpy(), o["v"].to_numpy(), s["u"].to_numpy(), s["v"].to_numpy()])
    seeds = np.unique(pts_nodes[pts_nodes >= 0])
    dist = _ball(graph, seeds, buffer_minutes(profile) + MARGIN_MINUTES)
    keep = np.isfinite(dist)
    sub = subgraph(graph, keep)

    def inside(t: gpd.GeoDataFrame, minutes: float | None = None, d: np.ndarray = dist) -> np.ndarray:
        """Rows whose edge has both ends in the ball, and (with ``minutes``) one end within ``minutes`` of ``d``'s seeds.

        A trip enters or leaves a point through one end of its edge, so one end within
        reach is what a cut-off needs; both ends in the subgraph keep the snapping as on
        the whole graph.
        """
        u, v = t["u"].to_numpy(), t["v"].to_numpy()
        ok = (u >= 0) & (v >= 0)
        uu, vv = u[ok], v[ok]
        ok[ok] = np.isfinite(dist[uu]) & np.isfinite(dist[vv])
        if minutes is not None:
            ok[ok] = np.minimum(d[u[ok]], d[v[ok]]) <= minutes
        return ok

    p = profile.parameters
    T = float(p["catchment_minutes"])
    cols = [c for c in smes.columns if c not in ("u", "v", "departement")]
    # SMEs are destinations of counts within T (all within T + margin), large firms of the
    # horizon's OD table (the whole ball), and demand of 2SFCA (within 2T + margin); fewer
    # destinations make the engine's dense blocks smaller
    large = smes["employees_min"].fillna(0).to_numpy() >= p["large_firm_employees"]
    ball = inside(smes)
    near_smes = smes.loc[ball & (large | inside(smes, T + MARGIN_MINUTES)), cols]
    gws = gateways[inside(gateways)].drop(columns=["u", "v"])
    sup = support_bodies[inside(support_bodies)].drop(columns=["u", "v"])
    # 2SFCA: the support bodies within T of the département's points, and the SMEs within T of those
    sites = support_bodies[inside(support_bodies, T + MARGIN_MINUTES)]
    site_nodes = np.unique(np.concatenate([sites["u"].to_numpy(), sites["v"].to_numpy()]))
    d_sites = _ball(graph, site_nodes, T + MARGIN_MINUTES)
    demand_smes = smes.loc[inside(smes, T + MARGIN_MINUTES, d_sites), cols]
    sites = sites.drop(columns=["u", "v"])
    kw = {
        "gateways": gws,
        "support_bodies": sup,
        "smes": near_smes,
        "profile": profile,
        "air_routes": routes,
        "nearest": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        pop_vals, sme_vals = scores.origin_and_sme_indicators(sub, o[["geometry"]], s[["geometry"]], **kw)
        crs = o.crs if len(o) else s.crs
        pts = gpd.GeoDataFrame(pd.concat([o[["geometry"]], s[["geometry"]]]), crs=crs)  # as score_territory does
        if len(sites) and len(pts):
            both = scores.two_step_support(sub, pts, support_bodies=sites, smes=demand_smes, max_minutes=T)
        else:
            both = pd.Series(0.0, index=pts.index)
    parts = []
    if len(o):
        pop_vals["support_2sfca"] = both.reindex(o.index).to_numpy()
        parts.append(gpd.GeoDataFrame(pop_vals.assign(kind="origin"), geometry=o.geometry, crs=o.crs))
    if len(s):
        sme_vals["support_2sfca"] = both.reindex(s.index).to_numpy()
        parts.append(gpd.GeoDataFrame(sme_vals.assign(kind="sme"), geometry=s.geometry.to_crs(crs), crs=crs))
    out = gpd.GeoDataFrame(pd.concat(parts), crs=parts[0].crs)
    out.attrs = {
        "nodes": int(keep.sum()),
        "gateways": len(gws),
        "support_bodies": len(sup),
        "smes_near": len(near_smes),
        "smes_demand": len(demand_smes),
        "sites_2sfca": len(sites),
    }
    return out


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process since its start or last :func:`_reset_peak_rss` (MB; Linux).

    ``VmHWM`` of ``/proc/self/status``, not ``getrusage``'s ``ru_maxrss``: a Dask worker
    is forked then exec'd from its nanny, and Linux carries the parent's peak over the exec
    into ``ru_maxrss`` (a worker spawned by a 2 GB client reads 2 GB before any task).
    ``None`` where the file is missing (not Linux).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak resident memory to its current one (Linux ≥ 4.0, ``clear_refs`` 5); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _partition_task(
    departement: str,
    graph: CSRGraph,
    origins,
    smes,
    gateways,
    support_bodies,
    routes,
    profile,
    fail: tuple[str, ...],
    measure_memory: bool = False,
) -> tuple[str, gpd.GeoDataFrame, float, int, dict]:
    """One Dask task: :func:`partition_step` timed (and the test hook of :data:`FAIL_ENV`).

    With ``measure_memory`` (a worker process of its own, never the client's), the
    process's peak memory is read then reset at the start and read at the end: ``before_mb``
    covers what the worker did since its previous task (receiving the scattered tables,
    sending a result), ``peak_mb`` this task.
    """
    t0 = time.perf_counter()
    memory: dict = {}
    if measure_memory:
        memory["before_mb"] = _peak_rss_mb()
        if not _reset_peak_rss():
            memory["before_mb"] = None  # the peak cannot be split by task: report none rather than a wrong one
    if departement in fail:
        raise RuntimeError(f"failure injected by {FAIL_ENV} for département {departement}")
    table = partition_step(
        departement,
        graph,
        origins=origins,
        smes=smes,
        gateways=gateways,
        support_bodies=support_bodies,
        routes=routes,
        profile=profile,
    )
    if memory.get("before_mb") is not None:
        memory["peak_mb"] = _peak_rss_mb()
    return departement, table, time.perf_counter() - t0, os.getpid(), memory


def reduce_step(territory, inputs: NationalInputs, partitions: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    """Municipal indicators, components, index, ranks and rank intervals over the whole territory.

    Parameters
    ----------
    territory : proximity.territory.Territory
    inputs : NationalInputs
        The global step's result.
    partitions : dict
        Département -> its partition table (:func:`partition_step`).

    Returns
    -------
    GeoDataFrame
        One row per commune (INSEE index, the communes' CRS): the columns of
        :data:`_MUNI_COLUMNS`, every indicator (population- and SME-weighted), the
        normalised indicators, the four components, ``index``, ``rank`` (a permutation
        1..N: higher index first, ties by INSEE code), ``rank_departement``, ``rank_low``,
        ``rank_high``, ``rank_median``, ``minutes_city_50k``, ``share_pop_airport_30`` and the
        peers of :func:`proximity.peers.add_peers` (``peers``, ``peer_rank_index``,
        ``peer_rank_<component>``, ``peer_median_index``).
    """
    profile = inputs.profile
    munis = territory.municipalities
    table = pd.concat([partitions[d] for d in sorted(partitions)])
    local = pd.DataFrame(table.drop(columns=["kind", "geometry"]))
    origins, smes = inputs.origins, territory.smes
    missing = origins.index.difference(local.index)
    if len(missing):
        raise ProximityError(
            f"{len(missing)} population origin(s) have no partition (e.g. {list(missing[:3])}); rerun without --resume"
        )
    pop_vals = inputs.nearest_origins.join(local.loc[origins.index])
    sme_vals = inputs.nearest_smes.join(local.loc[smes.index]) if len(smes) else local.iloc[:0]
    ind = scores.municipality_indicators(munis, pop_vals, origins, sme_vals, smes)
    feed = ind.copy()
    if profile.weighting == "smes":
        for c in pop_vals.columns:
            feed[c] = ind[f"{c}_smes"]
    comp = milieu.composite(feed, profile).drop(columns="rank")
    ranks = milieu.rank_intervals(feed, profile)
    out = munis[[c for c in _MUNI_COLUMNS if c in munis.columns]].rename(columns={"epci_siren": "epci"})
    out = out.join(ind).join(comp).join(ranks).join(inputs.communes_extra)
    order = np.lexsort((out["insee"].to_numpy(), -out["index"].to_numpy()))
    rank = np.empty(len(out), dtype=np.int64)
    rank[order] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    out["rank_departement"] = out.groupby("departement")["rank"].rank(method="first").astype(np.int64)
    out = gpd.GeoDataFrame(out, geometry=munis.geometry, crs=munis.crs)
    from .peers import add_peers

    return add_peers(out) if len(out) > 1 else out


#: Indicators whose inequality between population origins is reported per département.
EQUITY_INDICATORS = ("support_gravity", "support_within_t", "gateways_within_t")


def departement_table(municipalities: gpd.GeoDataFrame, origins: pd.DataFrame) -> gpd.GeoDataFrame:
    """Per département: population-weighted means of the index and components, and equity figures.

    Parameters
    ----------
    municipalities : GeoDataFrame
        :func:`reduce_step`'s table.
    origins : DataFrame
        Population origins with ``departement``, ``weight`` and the per-origin values of
        :data:`EQUITY_INDICATORS`.

    Returns
    -------
    GeoDataFrame
        Indexed by département code: ``departement``, ``name``, ``region``, ``n_communes``,
        ``population``, the population-weighted mean of ``index``, the components,
        ``minutes_airport``, ``minutes_city_50k`` (finite values) and ``share_pop_airport_30``,
        the best national rank, and ``gini_<key>``/``palma_<key>`` of the
        :data:`EQUITY_INDICATORS` over the département's population origins and of the
        commune index (weights: population); the outline when known.
    """
    from . import area

    m = municipalities
    names = area.metro_departements()
    cols = [
        "index",
        *[c for c in milieu.COMPONENTS if c in m.columns],
        "minutes_airport",
        "minutes_city_50k",
        "share_pop_airport_30",
    ]
    rows = []
    for dep, g in m.groupby("departement", sort=True):
        w = g["population"].astype(float)
        row: dict[str, Any] = {
            "departement": dep,
            "name": names.get(dep, {}).get("nom", ""),
            "region": g["region"].iloc[0],
            "n_communes": len(g),
            "population": int(w.sum()),
        }
        for c in cols:
            v = g[c].astype(float)
            ok = np.isfinite(v)
            ww = w[ok] if w[ok].sum() > 0 else pd.Series(1.0, index=v.index[ok])
            row[c] = float(np.average(v[ok], weights=ww)) if ok.any() else np.nan
        row["best_rank"] = int(g["rank"].min())
        o = origins[origins["departement"].eq(dep)]
        for key in EQUITY_INDICATORS:
            vals = np.minimum(o[key].astype(float), 1e6)
            row[f"gini_{key}"] = acc.gini(vals, weights=o["weight"])
            row[f"palma_{key}"] = acc.palma(vals, weights=o["weight"])
        row["gini_index"] = acc.gini(g["index"].astype(float), weights=w)
        row["palma_index"] = acc.palma(g["index"].astype(float), weights=w)
        rows.append(row)
    df = pd.DataFrame(rows).set_index("departement", drop=False)
    df.index.name = None
    try:
        outlines = area._departement_outlines().reindex(df.index)
        geom = gpd.GeoSeries(outlines.geometry.to_numpy(), index=df.index, crs=outlines.crs).to_crs(m.crs)
    except ProximityError:  # outlines not installed: a plain table
        geom = gpd.GeoSeries([None] * len(df), index=df.index, crs=m.crs)
    return gpd.GeoDataFrame(df, geometry=geom, crs=m.crs)


# --------------------------------------------------------------------------- the run
@dataclass
class NationalRun:
    """What :func:`run_national` wrote and how long it took."""

    out: Path
    municipalities: Path
    departements: Path
    provenance: Path
    n_municipalities: int
    n_departements: int
    workers: int
    seconds: dict = field(default_factory=dict)
    task_seconds: dict = field(default_factory=dict)
    #: Per computed département: the worker (``"pid N"``), its peak memory during the task
    #: (``peak_mb``) and since its previous task (``before_mb``), in MB; ``None`` in-process.
    task_memory: dict = field(default_factory=dict)
    resumed: list = field(default_factory=list)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _partition_key(dep: str, inputs: NationalInputs, settings: dict) -> str:
    """Key of a partition's inputs and settings: a partition written under another key is recomputed."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for t in (inputs.origins, inputs.smes):
        part = t[t["departement"].eq(dep)]
        h.update("\n".join(map(str, part.index)).encode())
        h.update(np.ascontiguousarray(part[["u", "v"]].to_numpy(dtype=np.int64)).tobytes())
    for t in (inputs.gateways, inputs.support_bodies):
        h.update("\n".join(map(str, t.index)).encode())
    return h.hexdigest()


def _write_partition(folder: Path, dep: str, table: gpd.GeoDataFrame, *, key: str, seconds: float) -> None:
    target = folder / f"{dep}.parquet"
    with _io.atomic_path(target) as tmp:
        table.to_parquet(tmp)
    info = {
        "departement": dep,
        "sha256": _sha256(target),
        "key": key,
        "rows": len(table),
        "seconds": seconds,
        **table.attrs,
    }
    _io.write_json(info, folder / f"{dep}.json")


def _valid_partition(folder: Path, dep: str, key: str) -> dict | None:
    """The sidecar of a valid partition file (checksum and key match), else None."""
    target, side = folder / f"{dep}.parquet", folder / f"{dep}.json"
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
        if info.get("key") != key or info.get("sha256") != _sha256(target):
            return None
    except (OSError, ValueError, AttributeError):
        return None
    return info


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None, say: Callable[[str], None]) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            say(f"connected to {scheduler}; dashboard: {client.dashboard_link}")
            yield client
        return
    n = workers or os.cpu_count() or 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the dashboard's port already taken: another is chosen
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    with cluster, Client(cluster) as client:
        say(f"local cluster of {n} process worker(s); dashboard: {client.dashboard_link}")
        yield client


def _check_options(workers: int | None, scheduler: str | None) -> None:
    if workers is not None and scheduler is not None:
        raise InputError("give either workers (a local cluster) or scheduler (an existing cluster), not both")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 0 <= workers <= 1024
    ):
        raise InputError(f"workers={workers!r} must be an integer from 0 (in-process, no Dask) to 1024")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise InputError(f"scheduler={scheduler!r} must be an address such as tcp://HOST:8786")


def run_national(
    spec,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    profile: milieu.Profile | str | os.PathLike | None = None,
    max_per_commune: int = 30,
    progress: Callable[[str], None] | None = None,
    progress_bar: bool = False,
) -> NationalRun:
    """The milieu index of every commune of a territory (all of France), partitioned by département on Dask.

    Parameters
    ----------
    spec : str or Territory
        A territory spec (``"france"``, ``"48,15,43"``, ``"region:76"`` …) or a loaded
        :class:`~proximity.territory.Territory`.
    out : path
        Output folder: ``municipalities.parquet``, ``departements.parquet``,
        ``provenance.json`` and ``partitions/``.
    workers : int, optional
        Process workers of a local cluster (default: the number of cores); ``0`` runs the
        partitions in this process, without Dask (the serial reference).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:8786``) instead of a local cluster.
    resume : bool
        Keep the valid partition files of a previous run with the same inputs and settings.
    profile : Profile, Study or path, optional
        Scoring profile (default: the shipped one).
    max_per_commune : int
        Population origins per commune.
    progress : callable, optional
        Called with a short message before each step (and the dashboard address).
    progress_bar : bool
        Show a tqdm bar over the tasks as they complete.

    Returns
    -------
    NationalRun
        Paths, counts, step times and per-task times (seconds).

    Raises
    ------
    InputError
        Bad options (both ``workers`` and ``scheduler``, a bad address or count).
    ProximityError
        Some départements failed (after one retry): the message names each with its error;
        no national file is written (the finished partitions are kept for ``resume``).
    """
    from . import config
    from .provenance import build_provenance
    from .territory import Territory, load_territory

    say = progress or (lambda msg: None)
    _check_options(workers, scheduler)
    out = _io.check_out_path(out, option="out")
    t_start = time.perf_counter()
    if profile is None or isinstance(profile, (str, os.PathLike)):
        profile = milieu.load_profile(profile)
    elif isinstance(profile, config.Study):
        profile = profile.profile
    if isinstance(spec, Territory):
        territory = spec
    else:
        say(f"loading {spec}")
        territory = load_territory(spec, progress=say)
    t_load = time.perf_counter()
    inputs = global_step(territory, profile=profile, max_per_commune=max_per_commune, say=say)
    t_global = time.perf_counter()
    sizes = inputs.origins["departement"].value_counts().add(inputs.smes["departement"].value_counts(), fill_value=0)
    deps = sorted(sizes.index, key=lambda d: (-sizes[d], d))  # largest first
    settings = {
        "version": __version__,
        "territory": territory.name,
        "max_per_commune": max_per_commune,
        "profile": inputs.profile.parameters,
        "decay": inputs.profile.decay.to_dict(),
        "margin_minutes": MARGIN_MINUTES,
        "buffer_minutes": buffer_minutes(inputs.profile),
    }
    keys = {d: _partition_key(d, inputs, settings) for d in deps}
    folder = Path(out) / "partitions"
    folder.mkdir(parents=True, exist_ok=True)
    task_info: dict[str, dict] = {}
    resumed = []
    if resume:
        for d in deps:
            info = _valid_partition(folder, d, keys[d])
            if info is not None:
                resumed.append(d)
                task_info[d] = {"seconds": info.get("seconds"), "resumed": True}
    todo = [d for d in deps if d not in resumed]
    fail = tuple(x.strip() for x in os.environ.get(FAIL_ENV, "").split(",") if x.strip())
    errors: dict[str, str] = {}
    n_workers = 0
    say(f"{len(deps)} départements: {len(todo)} to compute, {len(resumed)} resumed")
    shared = (
        territory.csr,
        inputs.origins,
        inputs.smes,
        inputs.gateways,
        inputs.support_bodies,
        inputs.routes,
        inputs.profile,
    )

    def done(dep: str, table: gpd.GeoDataFrame, seconds: float, worker: Any, memory: dict) -> None:
        _write_partition(folder, dep, table, key=keys[dep], seconds=seconds)
        task_info[dep] = {"seconds": seconds, "worker": str(worker), "resumed": False, **memory, **table.attrs}

    bar = None
    if progress_bar and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="départements", unit="dep")
    try:
        if todo and workers == 0:
            n_workers = 0
            for d in todo:
                try:
                    _, table, sec, pid, memory = _partition_task(d, *shared, fail)
                except Exception as exc:
                    errors[d] = f"{type(exc).__name__}: {exc}"
                else:
                    done(d, table, sec, f"pid {pid}", memory)
                if bar is not None:
                    bar.update(1)
        elif todo:
            from distributed import as_completed

            with _client(workers, scheduler, say) as client:
                n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
                say("scattering the graph and the point tables to the workers")
                futs_shared = client.scatter(list(shared), broadcast=True, hash=False)
                # largest first: the scheduler orders by priority, not by submission
                futures = {
                    client.submit(
                        _partition_task,
                        d,
                        *futs_shared,
                        fail,
                        True,
                        key=f"partition-{d}-{keys[d][:12]}-{time.time_ns()}",
                        retries=1,
                        pure=False,
                        priority=len(todo) - i,
                    ): d
                    for i, d in enumerate(todo)
                }
                for fut in as_completed(futures):
                    d = futures[fut]
                    if fut.status == "finished":
                        _, table, sec, pid, memory = fut.result()
                        done(d, table, sec, f"pid {pid}", memory)
                    else:
                        err = fut.exception()
                        errors[d] = f"{type(err).__name__}: {err}"
                    if bar is not None:
                        bar.update(1)
                    fut.release()
    finally:
        if bar is not None:
            bar.close()
    t_local = time.perf_counter()
    if errors:
        lines = "; ".join(f"{d}: {e.splitlines()[0] if e else e}" for d, e in sorted(errors.items()))
        raise ProximityError(
            f"{len(errors)} département(s) failed after a retry ({lines}); no national file was written; "
            f"fix the cause and rerun with --resume to compute only those"
        )
    say("reduce: municipal indicators, index and ranks over the whole territory")
    partitions = {d: gpd.read_parquet(folder / f"{d}.parquet") for d in deps}
    munis = reduce_step(territory, inputs, partitions)
    origin_vals = inputs.origins[["departement", "weight"]].join(
        pd.concat([p[p["kind"].eq("origin")] for p in partitions.values()])[list(EQUITY_INDICATORS)]
    )
    deps_table = departement_table(munis, origin_vals)
    t_reduce = time.perf_counter()
    secs = [v["seconds"] for v in task_info.values() if v.get("seconds") is not None and not v.get("resumed")]
    seconds = {
        "load": t_load - t_start,
        **{f"global_{k}": v for k, v in inputs.seconds.items()},
        "global": t_global - t_load,
        "local": t_local - t_global,
        "reduce": t_reduce - t_local,
    }
    prov = build_provenance(
        territory,
        parameters={
            "max_per_commune": max_per_commune,
            "buffer_minutes": buffer_minutes(inputs.profile),
            "margin_minutes": MARGIN_MINUTES,
            "city_population": CITY_POPULATION,
            "airport_minutes": AIRPORT_MINUTES,
            "dropped_indicators": inputs.dropped,
        },
    )
    prov["profile"] = {
        "name": inputs.profile.name,
        "parameters": inputs.profile.parameters,
        "decay": inputs.profile.decay.to_dict(),
        "components": inputs.profile.components,
        "indicators": [i.__dict__ for i in inputs.profile.indicators],
    }
    import dask
    import distributed

    prov["software"] = {**prov.get("software", {}), "dask": dask.__version__, "distributed": distributed.__version__}
    prov["cluster"] = {
        "mode": "in-process" if workers == 0 else ("scheduler" if scheduler else "local"),
        "scheduler": scheduler,
        "workers": n_workers,
        "threads_per_worker": 1,
    }
    prov["timings"] = {
        "seconds": seconds,
        "tasks": task_info,
        "task_seconds": {"median": float(np.median(secs)) if secs else None, "max": max(secs) if secs else None},
        "client_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with _io.staged_output(out, command="national", option="out") as stage:
        munis.to_parquet(stage / "municipalities.parquet")
        deps_table.to_parquet(stage / "departements.parquet")
        _io.write_json(prov, stage / "provenance.json")
    seconds["total"] = time.perf_counter() - t_start
    return NationalRun(
        out=Path(out),
        municipalities=Path(out) / "municipalities.parquet",
        departements=Path(out) / "departements.parquet",
        provenance=Path(out) / "provenance.json",
        n_municipalities=len(munis),
        n_departements=len(deps),
        workers=n_workers,
        seconds=seconds,
        task_seconds={d: v.get("seconds") for d, v in task_info.items()},
        task_memory={
            d: {"worker": v.get("worker"), "peak_mb": v.get("peak_mb"), "before_mb": v.get("before_mb")}
            for d, v in task_info.items()
            if not v.get("resumed")
        },
        resumed=resumed,
    )
