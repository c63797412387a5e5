"""Scores of a territory: accessibility indicators per origin, per SME and per municipality,
and the four-D internationalising-milieu index.

The measures themselves live in :mod:`proximity.accessibility` (decays, cumulative
opportunities, gravity, 2SFCA, diversity, aggregation, Gini/Palma) and the index in
:mod:`proximity.milieu`; this module feeds them the territory's travel times.

Origins
-------
A municipality's value is not its centroid's. Each commune is represented by up to
``max_per_commune`` network nodes inside it (a seeded sample; all of them when fewer),
sharing its population equally — road nodes are denser where people live, a dasymetric
proxy — or by its representative point when no node lies inside. Municipal values are
the population-weighted mean over these origins (columns ``<indicator>``) and the
SME-weighted mean over its SMEs (columns ``<indicator>_smes``; a commune without SMEs
takes its population-weighted value, and ``n_smes`` says so).

World reach
-----------
Airports carry their direct airline destinations (OpenFlights, June-2014 snapshot; rules in
:mod:`proximity.layers.air_routes`). Every origin gets ``reach_destinations``,
``reach_countries``, ``reach_foreign_destinations`` and ``reach_airports`` (distinct, over
the airports within the profile's ``reach_minutes``, 90 by default) and
``reach_destinations_gravity`` (each destination weighted by the decay of the drive to the
nearest airport serving it), see :func:`proximity.accessibility.world_reach`; each
municipality also gets ``nearest_airports`` (text for its card).

Unreachable
-----------
Minutes are ``inf`` when nothing is reachable (never NaN); counts are 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _engine, config, milieu, traveltime
from . import accessibility as acc
from .errors import DataQualityWarning, InputError
from .layers import air_routes as _air_routes
from .layers import on_network
from .network import CSRGraph

__all__ = [
    "unavailable_indicators",
    "GOVERNANCE_SCORES",
    "GATEWAY_MODES",
    "gravity_horizon_minutes",
    "gateway_groups",
    "nearest_airports",
    "population_origins",
    "origin_indicators",
    "nearest_indicators",
    "municipality_indicators",
    "ScoreResult",
    "score_territory",
]

#: Governance capacity by EPCI type (Directionality): a Métropole has the widest economic
#: development powers, then urban communities, agglomerations, communes' communities.
GOVERNANCE_SCORES = {"METRO": 1.0, "CU": 0.8, "CA": 0.6, "CC": 0.3}

#: Gateway modes counted by the gateway-mode diversity (regional rail is not a gateway to the world).
GATEWAY_MODES = ("air", "sea", "high_speed_rail", "motorway")


def population_origins(
    municipalities: gpd.GeoDataFrame,
    graph: CSRGraph,
    *,
    max_per_commune: int = 30,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Origins spread inside each municipality, weighted by its population.

    Each municipality gets up to ``max_per_commune`` network nodes lying inside it (all
    of them when fewer; else a sample drawn with ``seed``), which share its population
    equally, or its representative point when no node lies inside (see the module notes).

    Parameters
    ----------
    municipalities : GeoDataFrame
        Polygons in any CRS with columns ``insee`` and ``population`` (inhabitants), e.g.
        ``territory.municipalities``.
    graph : CSRGraph
        The network whose nodes are the candidate origins.
    max_per_commune : int
        Largest number of origins per municipality (at least 1).
    seed : int
        Seed of the sample (:func:`numpy.random.default_rng`): the same inputs and seed
        give the same origins.

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326 indexed by origin id ``"<insee>#<k>"`` (``k`` from 0), in the
        order of ``municipalities``, with columns ``insee``, ``weight`` (inhabitants
        represented: the population divided by the number of origins, so the weights of a
        municipality sum to its population) and ``placement`` (``"node"`` or
        ``"representative_point"``).

    Raises
    ------
    InputError
        ``max_per_commune`` is less than 1.

    Examples
    --------
    >>> origins = population_origins(ter.municipalities, ter.csr)
    >>> origins.columns.tolist()
    ['insee', 'weight', 'placement', 'geometry']
    >>> mtp = origins[origins["insee"].eq("34172")]  # Montpellier
    >>> len(mtp), round(mtp["weight"].sum()) == int(ter.municipalities.loc["34172", "population"])
    (30, True)
    """
    if max_per_commune < 1:
        raise InputError(f"max_per_commune must be at least 1, got {max_per_commune}")
    polys = municipalities[["insee", "population", "geometry"]].to_crs(graph.crs)
    nodes = gpd.GeoDataFrame(geometry=gpd.points_from_xy(graph.x, graph.y), crs=graph.crs)
    hit = gpd.sjoin(nodes, polys[["insee", "geometry"]], predicate="within", how="inner")
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, float, str, float, float]] = []
    by_commune = {k: v.index.to_numpy() for k, v in hit.groupby("insee")}
    for insee, pop, geom in polys[["insee", "population", "geometry"]].itertuples(index=False):
        idx = by_commune.get(insee)
        if idx is None or len(idx) == 0:
            p = geom.representative_point()
            rows.append((f"{insee}#0", insee, float(pop), "representative_point", p.x, p.y))
            continue
        idx = np.sort(idx)
        if len(idx) > max_per_commune:
            idx = np.sort(rng.choice(idx, size=max_per_commune, replace=False))
        w = float(pop) / len(idx)
        rows.extend((f"{insee}#{k}", insee, w, "node", graph.x[i], graph.y[i]) for k, i in enumerate(idx))
    df = pd.DataFrame(rows, columns=["id", "insee", "weight", "placement", "x", "y"]).set_index("id")
    df.index.name = None
    gdf = gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df["x"], df["y"]), crs=graph.crs)
    return gdf.to_crs("EPSG:4326")


def gateway_groups(gateways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Gateways by ``group`` for nearest-facility tables; TGV stations also count as rail stations.

    Every gateway appears under its kind; those of group ``tgv_station`` (the layer's
    ``group`` column) appear a second time, indexed ``<id>|tgv``, under ``tgv_station``.
    """
    g = gateways[["kind", "group", "geometry"]].copy()
    g["group"] = g["kind"]
    tgv = gateways.loc[gateways["group"].eq("tgv_station"), ["kind", "group", "geometry"]].copy()
    tgv.index = tgv.index.astype(str) + "|tgv"
    return gpd.GeoDataFrame(pd.concat([g, tgv]), crs=gateways.crs)


def unavailable_indicators(territory) -> dict[str, str]:
    """Indicators whose inputs are missing in a territory: key -> reason (one line).

    A territory built from the national files may have no seaport, no TGV station or no
    chamber of commerce on its network (only Montpellier's chambers are in the data). Such
    an indicator would be infinite or zero everywhere: :func:`score_territory` drops it
    from the index and re-normalises the weights (the other indicators of its component,
    and the components, keep their relative weights), and ``summary["dropped_indicators"]``
    says which and why. Never a silent zero.
    """
    gw = territory.gateways
    sup = territory.support_bodies
    if "on_network" in gw:
        gw = gw[gw["on_network"].astype(bool)]
    if "on_network" in sup:
        sup = sup[sup["on_network"].astype(bool)]
    groups = set(gateway_groups(gw)["group"]) if len(gw) else set()
    cats = set(sup["category"]) if len(sup) else set()
    stations = gw[gw["kind"].eq("rail_station")]
    checks = {
        "minutes_airport": ("airport" in groups, "no commercial airport on the territory's network"),
        "minutes_seaport": ("seaport" in groups, "no seaport (World Port Index) on the territory's network"),
        "minutes_tgv_station": ("tgv_station" in groups, "no TGV/OUIGO station on the territory's network"),
        "minutes_rail_station": ("rail_station" in groups, "no passenger rail station on the territory's network"),
        "minutes_motorway_access": ("motorway_access" in groups, "no motorway access point on the territory's network"),
        "minutes_chamber_of_commerce": (
            "chamber_of_commerce" in cats,
            "no chamber of commerce in the support bodies (the data has Montpellier's only; add yours with a support file)",
        ),
        "minutes_foreign_trade_service": (
            "foreign_trade_service" in cats,
            "no foreign-trade service in the support bodies (the data has Montpellier's only; add yours with a support file)",
        ),
        "students_within_t": (
            bool(sup["students"].fillna(0).gt(0).any()) if len(sup) else False,
            "no higher-education site with student counts on the territory's network",
        ),
        "rail_ridership_growth": (
            bool(stations["ridership_2015"].fillna(0).gt(0).any()) if len(stations) else False,
            "no rail station with SNCF ridership on the territory's network",
        ),
    }
    for key in ("support_within_t", "support_per_1000_smes", "support_gravity", "support_2sfca", "support_diversity"):
        checks[key] = (len(sup) > 0, "no support body on the territory's network")
    return {k: why for k, (ok, why) in checks.items() if not ok}


#: Transport mode of each gateway group in the diversity of gateway modes (plain rail
#: stations count for none).
_GROUP_MODES = {"airport": "air", "seaport": "sea", "tgv_station": "high_speed_rail", "motorway_access": "motorway"}


def gravity_horizon_minutes(profile: milieu.Profile) -> float:
    """Travel-time horizon of the profile's gravity-type measures (minutes).

    Where the profile's decay falls to its negligible weight (120 minutes for the default
    30-minute half-life; see :func:`proximity.accessibility.decay_horizon_minutes`), and
    never below the catchment T of the "within T" counts, which share the same OD table.
    """
    return max(profile.decay.horizon_minutes, float(profile.parameters["catchment_minutes"]))


def _nearest_minutes(
    graph: CSRGraph, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, by: str, groups: list[str]
) -> pd.DataFrame:
    cols = [f"minutes_{g}" for g in groups]
    if len(facilities) == 0:  # none in this territory (see unavailable_indicators): infinite, dropped from the index
        return pd.DataFrame(np.inf, index=origins.index, columns=cols)
    wide = traveltime.nearest_table(graph, origins, facilities, by=by)
    return wide.reindex(columns=cols).astype(float).fillna(np.inf)


def origin_indicators(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame,
    *,
    gateways: gpd.GeoDataFrame,
    support_bodies: gpd.GeoDataFrame,
    smes: gpd.GeoDataFrame,
    profile: milieu.Profile | None = None,
    air_routes: pd.DataFrame | None = None,
    nearest: bool = True,
) -> pd.DataFrame:
    """Accessibility indicators for every origin (population origins or SMEs).

    Every count "within T" is inclusive, with T the profile's ``catchment_minutes`` (45 by
    default); the decay-weighted measures use the profile's decay (exponential, 30-minute
    half-life by default) out to :func:`gravity_horizon_minutes`. Gateways and support
    bodies off the network (``on_network`` False) are left out.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origins : GeoDataFrame
        Points in any CRS with a unique index, e.g. :func:`population_origins` or
        ``smes[["geometry"]]``; their index labels the rows.
    gateways : GeoDataFrame
        The gateway layer: ``kind``, ``group``, ``ridership_2015`` and ``ridership_2024``
        (and ``iata``/``icao`` for the airports when ``air_routes`` is not given).
    support_bodies : GeoDataFrame
        The support bodies: ``category`` and ``students``.
    smes : GeoDataFrame
        Every firm of the territory (the opportunities, not the origins): ``employees_min``
        and, optionally, ``exporter`` (bool).
    profile : Profile, optional
        The scoring profile whose ``parameters`` (``catchment_minutes``,
        ``large_firm_employees``, ``reach_minutes``) and decay are used (default: the
        shipped one, :func:`proximity.milieu.load_profile`).
    air_routes : DataFrame, optional
        The long airport -> destination table of
        :func:`proximity.layers.air_routes.airport_destinations` (default: computed from
        the airports of ``gateways`` with the default territory's OpenFlights files; the
        route data is worldwide, so any territory's airports, foreign ones included, match).
    nearest : bool
        Include the ``minutes_<kind>`` columns of :func:`nearest_indicators` (default
        True); False leaves them out for a caller that computes them otherwise.

    Returns
    -------
    DataFrame
        Indexed like ``origins``, with the indicator keys of
        :data:`proximity.milieu.KNOWN_INDICATORS` that are defined per origin (all but the
        municipal ones and ``support_2sfca``, see :func:`municipality_indicators` and
        :func:`score_territory`):

        - ``minutes_<kind>`` (only with ``nearest``): minutes to the nearest gateway of
          each kind and coordinating body of each category, ``inf`` when none is reachable;
        - ``support_within_t``, ``gateways_within_t``: support bodies and gateways within
          T; ``students_within_t``: students of the support bodies within T;
          ``large_firms_within_t``: firms of ``smes`` with at least
          ``large_firm_employees`` employees (``employees_min``) within T;
        - ``support_gravity``: decay-weighted support bodies; ``support_diversity`` and
          ``gateway_mode_diversity``: decay-weighted Hill numbers (order 1) of the support
          categories and of the gateway modes (:data:`GATEWAY_MODES`);
        - the world-reach columns of :func:`proximity.accessibility.world_reach`
          (``reach_airports``, ``reach_destinations``, ``reach_countries``,
          ``reach_foreign_destinations`` over the airports within the profile's
          ``reach_minutes``, and ``reach_destinations_gravity``);
        - ``rail_ridership_growth``: growth 2015 -> 2024 of the decay-weighted ridership
          of the reachable stations that have a 2015 count (0 when none);
        - ``smes_within_t``: firms of ``smes`` within T; ``support_per_1000_smes``:
          ``support_within_t`` per 1,000 of them (divided by at least 1);
          ``synthetic_exporter_share``: the share of them flagged ``exporter`` (0 without
          an ``exporter`` column, NaN when it is empty for every firm).

    Warns
    -----
    DataQualityWarning
        The exporter status is unknown for every SME (a SIRENE register):
        ``synthetic_exporter_share`` is NaN.
    UnreachableWarning
        Points beyond the snapping limit, or pairs without a path on the directed network
        (see :mod:`proximity.traveltime`).

    Raises
    ------
    InputError
        Ids shared between support bodies, gateways and large firms (they must be unique
        across layers), or unusable points (see :func:`proximity.traveltime.od_matrix`).

    Examples
    --------
    >>> origins = population_origins(ter.municipalities, ter.csr)
    >>> mtp = origins[origins["insee"].eq("34172")].head(3)  # three origins in Montpellier
    >>> values = origin_indicators(
    ...     ter.csr, mtp, gateways=ter.gateways, support_bodies=ter.support_bodies, smes=ter.smes
    ... )
    >>> values.index.tolist()
    ['34172#0', '34172#1', '34172#2']
    >>> bool((values["minutes_airport"] < 30).all()), bool((values["support_within_t"] > 0).all())
    (True, True)
    """
    profile = profile or milieu.load_profile()
    gateways = on_network(gateways)
    support_bodies = on_network(support_bodies)
    p = profile.parameters
    T = float(p["catchment_minutes"])
    decay = profile.decay.function
    out = pd.DataFrame(index=origins.index)

    if nearest:  # nearest gateways and coordinating bodies
        out = out.join(nearest_indicators(graph, origins, gateways=gateways, support_bodies=support_bodies))

    # one OD table to every opportunity within the gravity horizon
    large = smes[smes["employees_min"].fillna(0) >= p["large_firm_employees"]]
    dest = pd.concat(
        [
            support_bodies[["geometry"]].assign(layer="support"),
            gateways[["geometry"]].assign(layer="gateway"),
            large[["geometry"]].assign(layer="large_firm"),
        ]
    )
    if dest.index.duplicated().any():
        raise InputError("ids are shared between support bodies, gateways and SMEs; make them unique across layers")
    dest = gpd.GeoDataFrame(dest, crs=support_bodies.crs)
    # the sums over the opportunities within the gravity horizon (and, for the airports, the
    # world-reach horizon when that is longer) are reduced from the engine's blocks of
    # times as they come (_od_indicators): memory stays bounded whatever the number of
    # (user) support bodies
    horizon = gravity_horizon_minutes(profile)
    reach_minutes = float(p["reach_minutes"])
    airports = gateways[gateways["kind"].eq("airport")]
    routes = _air_routes.airport_destinations(airports) if air_routes is None else air_routes
    out = out.join(
        _od_indicators(
            graph,
            origins,
            dest,
            gateways=gateways,
            support_bodies=support_bodies,
            large=large,
            T=T,
            decay=decay,
            horizon=horizon,
            reach_minutes=reach_minutes,
            routes=routes,
        )
    )

    # SMEs within T (demand side of 2SFCA and the per-1,000-SMEs density)
    unknown = "exporter" in smes and len(smes) and smes["exporter"].isna().all()
    exporters = (
        smes["exporter"].fillna(False).astype(float)
        if "exporter" in smes and not unknown
        else pd.Series(0.0, index=smes.index)
    )
    # both counts from one pass of Dijkstras
    counts = traveltime._counts_within(
        graph,
        origins,
        smes[["geometry"]],
        max_minutes=T,
        weights=pd.DataFrame({"smes": 1.0, "exporters": exporters}, index=smes.index),
    )
    out["smes_within_t"] = counts["smes"].to_numpy()
    out["support_per_1000_smes"] = out["support_within_t"] / np.maximum(out["smes_within_t"], 1.0) * 1000.0
    if unknown:
        # a real register (SIRENE) does not say who exports: leave the share empty, say so
        warnings.warn(
            "exporter status is unknown for every SME (SIRENE has no exporter flag): synthetic_exporter_share "
            "is left empty (NaN); add an 'exporter' column (true/false) to your --smes file to compute it",
            DataQualityWarning,
            stacklevel=2,
        )
        out["synthetic_exporter_share"] = np.nan
    else:
        out["synthetic_exporter_share"] = counts["exporters"].to_numpy() / np.maximum(out["smes_within_t"], 1.0)
    return out


def origin_and_sme_indicators(
    graph: CSRGraph, origins: gpd.GeoDataFrame, sme_points: gpd.GeoDataFrame, **kw: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`origin_indicators` of population origins and of SMEs, in one pass.

    Both sets are scored as one set of points (positions as labels, so their ids may
    overlap): the searches that run from the opportunities or from the SMEs run once for
    both sets, not once per set.

    Parameters
    ----------
    graph : CSRGraph
        The network.
    origins, sme_points : GeoDataFrame
        Population origins and SMEs, scored as origins (any CRS each, unique index each).
    **kw
        The keyword arguments of :func:`origin_indicators` (``gateways``,
        ``support_bodies``, ``smes`` as opportunities, ``profile`` …).

    Returns
    -------
    tuple of DataFrame
        The indicators of ``origins`` and of ``sme_points``, indexed like them.
    """
    n_o = len(origins)
    crs = origins.crs if n_o else sme_points.crs
    geoms = [g.geometry.to_crs(crs) for g in (origins, sme_points) if len(g)]
    pts = gpd.GeoDataFrame(geometry=pd.concat(geoms, ignore_index=True) if geoms else gpd.GeoSeries(crs=crs), crs=crs)
    vals = origin_indicators(graph, pts, **kw)
    return vals.iloc[:n_o].set_axis(origins.index), vals.iloc[n_o:].set_axis(sme_points.index)


def nearest_indicators(
    graph: CSRGraph, origins: gpd.GeoDataFrame, *, gateways: gpd.GeoDataFrame, support_bodies: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Minutes from every origin to the nearest gateway of each kind and coordinating body of each category.

    The ``minutes_<kind>`` columns of :func:`origin_indicators` (``inf`` when none is
    reachable), for gateways and support bodies on the network.

    Parameters
    ----------
    graph : CSRGraph
        The network.
    origins : GeoDataFrame
        Points; their index labels the rows.
    gateways, support_bodies : GeoDataFrame
        Facility layers (rows off the network, ``on_network`` False, are left out).

    Returns
    -------
    DataFrame
        Indexed like ``origins``: ``minutes_<group>`` for :data:`NEAREST_GATEWAYS` and
        :data:`NEAREST_SUPPORT`.
    """
    gateways = on_network(gateways)
    support_bodies = on_network(support_bodies)
    out = _nearest_minutes(graph, origins, gateway_groups(gateways), "group", list(NEAREST_GATEWAYS))
    coord = support_bodies[support_bodies["category"].isin(NEAREST_SUPPORT)]
    return out.join(_nearest_minutes(graph, origins, coord, "category", list(NEAREST_SUPPORT)))


#: Gateway groups and support-body categories of the ``minutes_<kind>`` indicators.
NEAREST_GATEWAYS = ("airport", "seaport", "tgv_station", "rail_station", "motorway_access")
NEAREST_SUPPORT = ("chamber_of_commerce", "foreign_trade_service")


def _od_indicators(
    graph, origins, dest, *, gateways, support_bodies, large, T, decay, horizon, reach_minutes, routes
) -> pd.DataFrame:
    """The indicators of the origins that sum over the opportunities within T or the gravity horizon.

    No OD table: the engine's blocks of travel times (:func:`proximity._engine.point_blocks`,
    bounded in memory, Dijkstra from the side with fewer places, usually the
    opportunities) are reduced as they come, by matrix products with one column per sum:
    counts within T (support bodies, their students, gateways, large firms) and
    decay-weighted sums (support bodies, per support category and per gateway mode for
    the Hill numbers, station ridership). The world-reach measures need the times to
    each airport: a long table to the airports only. The same definitions as
    :mod:`proximity.accessibility`'s functions on the long table (to rounding: sums in
    another order), which the tests check.
    """
    n_d = len(dest)
    pos = pd.Series(np.arange(n_d), index=dest.index)
    layer = dest["layer"].to_numpy()

    def per_dest(values: pd.Series) -> np.ndarray:
        """``values`` (by opportunity id) as one float per opportunity position, 0 where not given."""
        a = np.zeros(n_d)
        v = values[values.index.isin(pos.index)]
        a[pos[v.index].to_numpy()] = v.to_numpy(dtype=float)
        return a

    def one_hot(labels: pd.Series, taxonomy: list) -> np.ndarray:
        """One column per category of ``taxonomy``: 1 where the opportunity has it."""
        m = np.zeros((n_d, len(taxonomy)))
        codes = pd.Categorical(labels, categories=taxonomy).codes
        ok = codes >= 0
        m[pos[labels.index[ok]].to_numpy(), codes[ok]] = 1.0
        return m

    is_sup = (layer == "support").astype(float)
    w_t = np.column_stack(
        [
            is_sup,
            per_dest(support_bodies["students"].fillna(0.0)),
            (layer == "gateway").astype(float),
            (layer == "large_firm").astype(float),
        ]
    )
    sup_cats = sorted(support_bodies["category"].dropna().unique())
    modes = gateways["group"].map(_GROUP_MODES).dropna()
    st = gateways[gateways["kind"].eq("rail_station") & (gateways["ridership_2015"].fillna(0) > 0)]
    w_f = np.column_stack(
        [
            is_sup,
            one_hot(support_bodies["category"], sup_cats),
            one_hot(modes, list(GATEWAY_MODES)),
            per_dest(st["ridership_2024"].astype(float)),
            per_dest(st["ridership_2015"].astype(float)),
        ]
    )
    n_o = len(origins)
    within = np.zeros((n_o, w_t.shape[1]))
    decayed = np.zeros((n_o, w_f.shape[1]))
    prep = _engine.prepared(graph)
    opts = _engine.snap_options(graph, None, _engine.MAX_SNAP_M, traveltime.ACCESS_SPEED_KMH, traveltime.ACCESS_DETOUR)
    o = _engine.snap_points(graph, prep, _engine.check_points(origins, "origins"), name="origins", **opts)
    d = _engine.snap_points(graph, prep, _engine.check_points(dest, "destinations"), name="destinations", **opts)
    max_s = horizon * 60.0
    for op, dp, t in _engine.point_blocks(prep, o, np.flatnonzero(o.ok), d, np.flatnonzero(d.ok), max_s):
        minutes = t / 60.0
        within[op] += (minutes <= T) @ w_t[dp]
        near = minutes <= horizon
        f = np.zeros_like(minutes)
        f[near] = acc._apply_decay(decay, minutes[near])
        decayed[op] += f @ w_f[dp]
    out = pd.DataFrame(index=origins.index)
    out["support_within_t"] = within[:, 0]
    out["students_within_t"] = within[:, 1]
    out["gateways_within_t"] = within[:, 2]
    out["large_firms_within_t"] = within[:, 3] if len(large) else 0.0
    out["support_gravity"] = decayed[:, 0]
    k1, k2 = len(sup_cats), len(GATEWAY_MODES)
    out["support_diversity"] = acc.hill_number(decayed[:, 1 : 1 + k1])
    out["gateway_mode_diversity"] = acc.hill_number(decayed[:, 1 + k1 : 1 + k1 + k2])
    g24, g15 = decayed[:, 1 + k1 + k2], decayed[:, 2 + k1 + k2]
    out["rail_ridership_growth"] = np.where(g15 > 0, g24 / np.where(g15 > 0, g15, 1.0) - 1.0, 0.0)

    # world reach: direct airline destinations of the airports within the reach horizon
    airports = dest[dest.index.isin(gateways.index[gateways["kind"].eq("airport")])]
    if len(airports):
        o_pts = origins.set_axis(pd.RangeIndex(n_o))
        od_air = traveltime.od_matrix(graph, o_pts, airports, max_minutes=max(horizon, reach_minutes))
        reach = acc.world_reach(
            od_air,
            routes,
            max_minutes=reach_minutes,
            decay=decay,
            origins=o_pts.index,
            home_country=_air_routes.HOME_COUNTRY,
        )
    else:
        reach = pd.DataFrame(0.0, index=pd.RangeIndex(n_o), columns=list(acc.WORLD_REACH_COLUMNS))
    for c in reach.columns:
        out[c] = reach[c].to_numpy()
    return out


def nearest_airports(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame,
    airports: gpd.GeoDataFrame,
    *,
    zones: pd.Index,
    n: int = 3,
) -> pd.Series:
    """The ``n`` nearest airports of each zone with their direct destinations, as text.

    Each population origin finds its ``n + 2`` nearest airports; a zone's time to an
    airport is the population-weighted mean over its origins (the plain mean when they all
    weigh 0), kept when every origin of the zone has that airport among its nearest (so a
    mean never mixes found and not found), and the zone lists the ``n`` shortest.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    origins : GeoDataFrame
        Population origins with ``insee`` (their zone) and ``weight`` (inhabitants), as
        :func:`population_origins` returns.
    airports : GeoDataFrame
        Airports on the network with ``name``, ``iata`` and ``destinations`` (number of
        direct destinations), indexed by gateway id.
    zones : pandas.Index
        The zones (INSEE codes) to report, in this order.
    n : int
        Number of airports listed per zone.

    Returns
    -------
    pandas.Series
        Indexed by ``zones`` (string dtype): the airports by increasing mean time, e.g.
        ``"Montpellier-Mediterranee Airport (MPL): 14 min, 20 destinations; …"`` (minutes
        rounded to the unit), ``""`` when no airport qualifies or ``airports`` or
        ``origins`` is empty.

    Warns
    -----
    UnreachableWarning
        Origins or airports beyond the snapping limit (see :func:`proximity.traveltime.nearest`).

    Examples
    --------
    >>> from proximity.layers import on_network
    >>> origins = population_origins(ter.municipalities, ter.csr)
    >>> airports = on_network(ter.gateways[ter.gateways["kind"].eq("airport")])
    >>> text = nearest_airports(ter.csr, origins, airports, zones=pd.Index(["34172"]), n=1)
    >>> text["34172"].split(":")[0]
    'Montpellier-Mediterranee Airport (MPL)'
    """
    out = pd.Series("", index=zones, dtype="string")
    if airports.empty or origins.empty:
        return out
    near = traveltime.nearest(graph, origins[["geometry"]], airports[["geometry"]], k=min(n + 2, len(airports)))
    near = near[np.isfinite(near["minutes"]) & near["destination_id"].notna()]
    near = near.assign(zone=near["origin_id"].map(origins["insee"]), w=near["origin_id"].map(origins["weight"]))
    count = origins.groupby("insee").size()
    near = near.assign(wm=near["minutes"] * near["w"])
    rows = near.groupby(["zone", "destination_id"]).agg(
        n=("origin_id", "size"), wsum=("w", "sum"), wm=("wm", "sum"), plain=("minutes", "mean")
    )
    rows["wm"] = np.where(rows["wsum"] > 0, rows["wm"] / rows["wsum"].where(rows["wsum"] > 0, 1.0), rows["plain"])
    rows = rows[rows["n"].to_numpy() == count.reindex(rows.index.get_level_values(0)).to_numpy()].reset_index()
    for zone, grp in rows.sort_values(["zone", "wm", "destination_id"]).groupby("zone", sort=False):
        parts = []
        for gid, minutes in grp.head(n)[["destination_id", "wm"]].itertuples(index=False):
            a = airports.loc[gid]
            parts.append(f"{a['name']} ({a['iata']}): {minutes:.0f} min, {int(a['destinations'])} destinations")
        if zone in out.index:
            out[zone] = "; ".join(parts)
    return out


def two_step_support(
    graph: CSRGraph,
    origins: gpd.GeoDataFrame,
    *,
    support_bodies: gpd.GeoDataFrame,
    smes: gpd.GeoDataFrame,
    max_minutes: float,
) -> pd.Series:
    """2SFCA access to support bodies (supply = ``capacity``) with SMEs as demand, for ``origins``."""
    pts = pd.concat([origins[["geometry"]], smes[["geometry"]].loc[~smes.index.isin(origins.index)]])
    pts = gpd.GeoDataFrame(pts, crs=origins.crs)
    supply = support_bodies["capacity"].astype(float)
    if not np.isfinite(supply).all() or (supply < 0).any():
        bad = supply.index[~(np.isfinite(supply) & (supply >= 0))]
        raise InputError(
            f"support_bodies column 'capacity' has {len(bad)} negative, missing or infinite value(s) "
            f"(id {', '.join(map(repr, bad[:5]))}); give finite capacities >= 0 (default 1)"
        )
    sites = support_bodies[["geometry"]]
    # demand of each site: the SMEs within the catchment (trips SME -> site); then each
    # point sums the supply-to-demand ratios of the sites within its catchment; both are
    # sums over pairs within the cut-off, reduced without an OD table
    sme_pts = pts.loc[pts.index.isin(smes.index)]
    demand = traveltime._counts_within(
        graph, sme_pts, sites, max_minutes=max_minutes, weights=None, per="destinations"
    ).iloc[:, 0]
    ratio = np.divide(
        supply.reindex(sites.index).to_numpy(), demand.to_numpy(), out=np.zeros(len(sites)), where=demand.to_numpy() > 0
    )
    values = traveltime._counts_within(
        graph, pts, sites, max_minutes=max_minutes, weights=pd.DataFrame({"r": ratio}, index=sites.index)
    )["r"]
    return values.rename("two_step_fca").reindex(origins.index)


def municipality_indicators(
    municipalities: gpd.GeoDataFrame,
    pop_values: pd.DataFrame,
    pop_origins: gpd.GeoDataFrame,
    sme_values: pd.DataFrame,
    smes: gpd.GeoDataFrame,
    *,
    export_groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Aggregate origin indicators per municipality (population- and SME-weighted) and add municipal ones.

    Parameters
    ----------
    municipalities : GeoDataFrame
        Indexed by INSEE code, with ``population``, ``population_prev`` (inhabitants at
        the previous census) and ``epci_type`` (``METRO``, ``CU``, ``CA``, ``CC``…).
    pop_values : DataFrame
        Values per population origin, indexed like ``pop_origins`` (e.g.
        :func:`origin_indicators`); NaN only in a column that is NaN throughout.
    pop_origins : GeoDataFrame
        The population origins: ``insee`` and ``weight``, as :func:`population_origins`
        returns.
    sme_values : DataFrame
        Values per SME, indexed like ``smes``, with the columns of ``pop_values``.
    smes : GeoDataFrame
        The SMEs, with ``commune`` (the INSEE code of their municipality).
    export_groups : Series, optional
        Export groups per municipality (INSEE index), from
        :func:`proximity.planning.plan_export_groups`; default 0 everywhere.

    Returns
    -------
    DataFrame
        Indexed like ``municipalities``:

        - every column ``<c>`` of ``pop_values``: the population-weighted mean over the
          municipality's origins (the plain mean when its population is 0); a column NaN
          throughout ``pop_values`` stays NaN;
        - ``<c>_smes``: the mean over the municipality's SMEs, or ``<c>`` when it has none;
        - ``n_smes``: its number of SMEs;
        - ``population_growth``: ``population / population_prev - 1`` (0 when
          ``population_prev`` is missing or not positive);
        - ``governance_capacity``: :data:`GOVERNANCE_SCORES` of its ``epci_type`` (0 for
          another type);
        - ``export_groups`` and ``export_groups_per_1000_smes`` (per 1,000 of its SMEs,
          divided by at least 1).

    Raises
    ------
    InputError
        A NaN value (in a column not NaN throughout), a repeated id, or a row of
        ``pop_values`` (``sme_values``) missing from ``pop_origins`` (``smes``); see
        :func:`proximity.accessibility.aggregate`.

    Examples
    --------
    One municipality (Abeilhan), from its origins and its SMEs:

    >>> munis = ter.municipalities.loc[["34001"]]
    >>> origins = population_origins(munis, ter.csr)
    >>> firms = ter.smes[ter.smes["commune"].eq("34001")]
    >>> kw = {"gateways": ter.gateways, "support_bodies": ter.support_bodies, "smes": ter.smes}
    >>> pop_values = origin_indicators(ter.csr, origins, **kw)
    >>> sme_values = origin_indicators(ter.csr, firms[["geometry"]], **kw)
    >>> table = municipality_indicators(munis, pop_values, origins, sme_values, firms)
    >>> int(table.loc["34001", "n_smes"]) == len(firms)
    True
    >>> table.loc["34001", ["governance_capacity", "export_groups"]].tolist()
    [0.3, 0.0]
    """
    zones = municipalities.index
    # an indicator left empty on purpose (exporter share without exporter data) stays empty
    empty = [c for c in pop_values.columns if pop_values[c].isna().all()]
    pop_values, sme_values = pop_values.drop(columns=empty), sme_values.drop(columns=empty, errors="ignore")
    # a commune without inhabitants (the "villages morts pour la France" of the Meuse) has
    # zero-weight origins: it takes the plain mean of its origins instead of NaN
    w = pop_origins["weight"].astype(float)
    total = w.groupby(pop_origins["insee"]).transform("sum")
    w = w.where(total > 0, 1.0)
    pop = acc.aggregate(pop_values, zone_of_origin=pop_origins["insee"], weights=w, zones=zones)
    pop.index.name = None
    pop[empty] = np.nan
    n_smes = smes["commune"].value_counts().reindex(zones, fill_value=0)
    if len(smes):
        sme = acc.aggregate(
            sme_values, zone_of_origin=smes["commune"], weights=pd.Series(1.0, index=smes.index), zones=zones
        )
        sme[empty] = np.nan
        sme.index.name = None
        sme = sme.where(n_smes.gt(0), pop, axis=0)  # type: ignore[arg-type]  # no SMEs: the population-weighted value
    else:
        sme = pop.copy()
    out = pop.join(sme.add_suffix("_smes"))
    out["n_smes"] = n_smes
    m = municipalities
    prev = m["population_prev"].astype(float)
    out["population_growth"] = np.where(prev > 0, m["population"].astype(float) / prev.where(prev > 0, 1.0) - 1.0, 0.0)
    out["governance_capacity"] = m["epci_type"].map(GOVERNANCE_SCORES).fillna(0.0).astype(float)
    groups = (export_groups if export_groups is not None else pd.Series(0.0, index=zones)).reindex(
        zones, fill_value=0.0
    )
    out["export_groups"] = groups.astype(float)
    out["export_groups_per_1000_smes"] = groups.astype(float) / np.maximum(n_smes, 1) * 1000.0
    return out


@dataclass
class ScoreResult:
    """Scores of a territory: per municipality, per SME, per population origin, and a summary."""

    municipalities: gpd.GeoDataFrame
    smes: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    profile: milieu.Profile
    summary: dict = field(default_factory=dict)


def score_territory(
    territory,
    *,
    profile: milieu.Profile | str | None = None,
    export_groups: pd.Series | None = None,
    population_within: pd.DataFrame | None = None,
    max_per_commune: int = 30,
    progress: Callable[[str], None] | None = None,
) -> ScoreResult:
    """Indicators, components, the milieu index, ranks and rank intervals of a territory.

    Parameters
    ----------
    territory : proximity.territory.Territory
    profile : Profile, Study or path, optional
        Scoring profile, or the study (file) holding it (default: the shipped one).
    export_groups : Series, optional
        Export groups per municipality (INSEE index), from :mod:`proximity.groups`.
    population_within : DataFrame, optional
        Zonal statistics of a population raster (:func:`proximity.raster.zonal_population_within`:
        rows per INSEE code plus ``total``, columns ``population`` and ``<kind>_<minutes>``).
        When given, each municipality gets ``share_within_<kind>_<minutes>`` (share of its
        raster population within reach) and the summary's population-within figures come
        from the raster instead of the network-node origins.
    """
    say = progress or (lambda msg: None)
    if profile is None or isinstance(profile, str) or hasattr(profile, "__fspath__"):
        profile = milieu.load_profile(profile)
    elif isinstance(profile, config.Study):
        profile = profile.profile
    # indicators whose inputs this territory lacks: dropped, weights re-normalised, reported
    weighted = {i.key for i in profile.indicators if i.weight > 0}
    dropped = {k: why for k, why in unavailable_indicators(territory).items() if k in weighted}
    if dropped:
        profile = profile.with_weights(indicators=dict.fromkeys(dropped, 0.0))
    graph = territory.csr
    munis = territory.municipalities
    smes = territory.smes
    say("population origins")
    origins = population_origins(munis, graph, max_per_commune=max_per_commune, seed=int(profile.parameters["seed"]))
    say(f"indicators for {len(origins)} population origins and {len(smes)} SMEs")
    routes = _air_routes.airport_destinations(territory.gateways, territory=territory.manifest.name)
    kw = {
        "gateways": territory.gateways,
        "support_bodies": territory.support_bodies,
        "smes": smes,
        "profile": profile,
        "air_routes": routes,
    }
    pop_vals, sme_vals = origin_and_sme_indicators(graph, origins, smes[["geometry"]], **kw)
    T = float(profile.parameters["catchment_minutes"])
    say("2SFCA")
    pts = pd.concat([origins[["geometry"]], smes[["geometry"]].to_crs(origins.crs)])
    sup = territory.support_bodies
    if "on_network" in sup:  # bodies beyond the network (a spec's buffer) are listed, not scored
        sup = sup[sup["on_network"].astype(bool)]
    both = two_step_support(graph, gpd.GeoDataFrame(pts, crs=origins.crs), support_bodies=sup, smes=smes, max_minutes=T)
    pop_vals["support_2sfca"] = both.reindex(origins.index).to_numpy()
    sme_vals["support_2sfca"] = both.reindex(smes.index).to_numpy()

    say("municipal aggregation and index")
    ind = municipality_indicators(munis, pop_vals, origins, sme_vals, smes, export_groups=export_groups)
    feed = ind.copy()
    if profile.weighting == "smes":
        for c in pop_vals.columns:
            feed[c] = ind[f"{c}_smes"]
    comp = milieu.composite(feed, profile)
    ranks = milieu.rank_intervals(feed, profile)
    table = (
        munis[["insee", "name", "population", "epci_name", "epci_type", "metropole", "area_km2"]]
        .join(ind)
        .join(comp)
        .join(ranks)
    )
    gws = territory.gateways
    airports = on_network(gws[gws["kind"].eq("airport")])
    table["nearest_airports"] = nearest_airports(graph, origins, airports, zones=table.index)
    table = gpd.GeoDataFrame(table, geometry=munis.geometry, crs=munis.crs)

    sme_table = smes.join(sme_vals.rename(columns=lambda c: f"{c}_score" if c in smes.columns else c))
    sme_table = sme_table.join(
        table[["index", "rank"]].rename(columns={"index": "municipality_index", "rank": "municipality_rank"}),
        on="commune",
    )

    w = origins["weight"]
    pop_within = {
        f"{g}_{t:g}": float(w[pop_vals[f"minutes_{g}"] <= t].sum())
        for g in ("airport", "tgv_station", "chamber_of_commerce")
        for t in profile.parameters["thresholds_minutes"]
    }
    pop_within_source = "network-node population origins"
    if population_within is not None:
        pw = population_within.copy()
        pw.index = pw.index.astype(str)
        if "total" not in pw.index or "population" not in pw.columns:
            raise InputError(
                "population_within needs a 'total' row and a 'population' column (raster.zonal_population_within)"
            )
        kinds = [c for c in pw.columns if c != "population"]
        zones = pw.drop(index="total").reindex(table.index)
        for c in kinds:
            table[f"share_within_{c}"] = (
                (zones[c] / zones["population"].where(zones["population"] > 0)).fillna(0.0).to_numpy()
            )
        pop_within = {c: float(pw.at["total", c]) for c in kinds}  # type: ignore[arg-type]  # a float cell
        pop_within_source = "population raster (zonal statistics)"
    summary = {
        "n_municipalities": len(table),
        "dropped_indicators": dropped,
        "n_population_origins": len(origins),
        "n_smes": len(smes),
        "smes_synthetic": bool(smes["synthetic"].any()) if len(smes) else False,
        "equity": {
            key: {
                "gini": acc.gini(np.minimum(pop_vals[key], 1e6), weights=w),
                "palma": acc.palma(np.minimum(pop_vals[key], 1e6), weights=w),
            }
            for key in ("support_gravity", "support_within_t", "gateways_within_t")
        },
        "population_within_minutes": pop_within,
        "population_within_source": pop_within_source,
        "world_reach": {
            "routes": f"OpenFlights, {_air_routes.SNAPSHOT_LABEL} (snapshot {_air_routes.SNAPSHOT})",
            "reach_minutes": float(profile.parameters["reach_minutes"]),
            "airports": {
                str(a["iata"]): {
                    "name": str(a["name"]),
                    "destinations": int(a["destinations"]),
                    "countries": int(a["countries"]),
                    "used_in_scores": gid in airports.index,
                }
                for gid, a in gws[gws["kind"].eq("airport")].iterrows()
            },
        },
        "top5": table.sort_values("rank").head(5)[["insee", "name", "index"]].to_dict("records"),
        "bottom5": table.sort_values("rank").tail(5)[["insee", "name", "index"]].to_dict("records"),
    }
    return ScoreResult(
        municipalities=table, smes=sme_table, origins=origins.join(pop_vals), profile=profile, summary=summary
    )
