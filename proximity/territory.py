"""A territory assembled: its layers, its network and its travel-time graph.

This is the one place where the stages meet for the default run: layers are read,
the network is built (or loaded from the cache), synthetic SMEs are placed along its
roads, and the CSR form for travel times is derived once.

A territory is ``herault`` (the default, with its local extras) or any spec of
:mod:`proximity.area` (``"33"``, ``"2A"``, ``"34,30,11"``, ``"epci:243400017"``,
``"region:76"``, ``"france"``), built from the national files: its communes, the gateways
in it and in a 150 km buffer, its support bodies, and a network covering it and
120 min of driving beyond its outline.

Examples
--------
Loading takes about 10 s (the doctests get the territory ready-made as ``ter``):

>>> from proximity.territory import load_territory
>>> ter = load_territory("herault")  # doctest: +SKIP
>>> len(ter.municipalities)
341
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx

from . import datasets, defaults, layers, network
from .errors import InputError, UnreachableWarning
from .layers.smes import DEFAULT_SMES_PER_1000
from .network import CSRGraph

__all__ = [
    "Territory",
    "load_territory",
    "territory_network",
    "load_layer",
    "LAYER_NAMES",
    "DEFAULT_N_SMES",
    "DEFAULT_SEED",
]

#: Default number of synthetic SMEs: None = a rate per inhabitant
#: (:data:`proximity.layers.smes.DEFAULT_SMES_PER_1000`, about 6,000 in Hérault), so that a
#: commune's synthetic firms are the same whatever territory it is loaded with.
DEFAULT_N_SMES: int | None = defaults.N_SMES
DEFAULT_SEED = defaults.SEED


@dataclass(eq=False)
class Territory:
    """The layers and network of one territory (state worth a class: built once, used by every stage)."""

    name: str
    manifest: datasets.Manifest
    municipalities: gpd.GeoDataFrame
    gateways: gpd.GeoDataFrame
    support_bodies: gpd.GeoDataFrame
    smes: gpd.GeoDataFrame
    graph: nx.MultiDiGraph
    params: dict = field(default_factory=dict)
    #: The network in CSR form (projected node coordinates) for the travel-time engine;
    #: derived from ``graph`` when not given, and carried over by ``dataclasses.replace``.
    #: Typed as always set: ``None`` only means "derive it" and never outlives ``__post_init__``.
    csr: CSRGraph = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.csr is None:
            self.csr = network.graph_to_csr(self.graph, crs=self.manifest.crs)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """A layer by name: municipalities, gateways, support_bodies or smes."""
        if name not in LAYER_NAMES:
            raise InputError(f"layer {name!r} is unknown; choose one of {', '.join(LAYER_NAMES)}")
        return getattr(self, name)

    @property
    def synthetic_smes(self) -> bool:
        """True when (some of) the SMEs are synthetic, which every output must say."""
        return bool(self.smes["synthetic"].any()) if len(self.smes) else False


LAYER_NAMES = ("municipalities", "gateways", "support_bodies", "smes")


def road_lines(graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """Road centre lines of a network (one per undirected edge), for placing synthetic firms."""
    import osmnx as ox

    edges = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True)[["geometry", "highway"]]
    # one line per road, whichever direction; motorways carry no firms
    edges = edges.reset_index()
    edges = edges[edges["u"] < edges["v"]]
    hw = edges["highway"].astype(str)
    edges = edges[~hw.str.contains("motorway|trunk", regex=True)]
    return gpd.GeoDataFrame(
        edges[["highway", "geometry"]].reset_index(drop=True), crs=graph.graph.get("crs", "EPSG:4326")
    )


def _mark_on_network(layer: gpd.GeoDataFrame, csr: CSRGraph) -> gpd.GeoDataFrame:
    """Add ``snap_m`` and ``on_network`` (within the engine's maximum snap distance) to a facility layer.

    Facilities off the network (e.g. gateways outside the département beyond the regional
    skeleton) are kept in the layer and on the maps, but scores leave them out and list them.
    """
    from . import traveltime

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)  # recorded in the columns instead
        snapped = traveltime.snap(csr, layer)
    out = layer.copy()
    out["snap_m"] = snapped["snap_m"].to_numpy()
    out["on_network"] = snapped["reachable"].to_numpy()
    return out


def territory_network(
    name: str = "herault",
    *,
    cache: bool = True,
    progress: Callable | None = None,
    osm: str | None = None,
) -> tuple[nx.MultiDiGraph, datasets.Manifest]:
    """The road network of a territory (manifest name or spec) and the manifest it reads.

    A spec's network covers its outline (:func:`proximity.area.resolve`) and 120 min of
    driving beyond it (``france``: the whole country); ``herault`` builds from its manifest.

    Parameters
    ----------
    name : str
        ``"herault"`` or a territory spec.
    cache : bool
        Use the on-disk network cache.
    progress : callable, optional
        Wraps the iteration over the build stages (e.g. ``tqdm``).
    osm : ``"online"``, path or None
        A detailed OSM network to merge with the skeleton.

    Returns
    -------
    (networkx.MultiDiGraph, Manifest)
        The network and the manifest it was read from (``france`` for a spec).

    Raises
    ------
    InputError
        ``name`` is neither a manifest nor a valid spec.
    """
    from .layers.national import is_spec

    kw: dict = {"cache": cache}
    if progress is not None:
        kw["progress"] = progress
    if osm is not None:
        kw["osm"] = osm
    if is_spec(name):
        from . import area as area_mod

        a = area_mod.resolve(name)
        G = network.build_network(a.name, area_2154=None if a.kind == "france" else a.outline, **kw)
        return G, datasets.load_manifest(area_mod.NATIONAL)
    return network.build_network(name, **kw), datasets.load_manifest(name)


def load_territory(
    name: str = "herault",
    *,
    smes: gpd.GeoDataFrame | str | None = None,
    support_extra: gpd.GeoDataFrame | str | None = None,
    n_smes: int | None = DEFAULT_N_SMES,
    seed: int = DEFAULT_SEED,
    cache: bool = True,
    progress: Callable | None = None,
    osm: str | None = None,
    smes_per_1000: float | None = None,
) -> Territory:
    """Load a territory's layers and network from its installed files.

    Parameters
    ----------
    name : str
        ``"herault"`` (a local manifest) or a territory spec: a département code (``"33"``,
        ``"2A"``), a comma list (``"34,30,11"``), ``"epci:<SIREN>"``, ``"region:<code>"`` or
        ``"france"`` (see :mod:`proximity.area`).
    smes : GeoDataFrame or path, optional
        A real SIRENE extract (path or frame in the SIRENE layout). Default: synthetic SMEs
        generated commune by commune, labelled synthetic.
    support_extra : GeoDataFrame or path, optional
        The user's own support bodies, merged into the layer.
    n_smes : int, optional
        Total number of synthetic SMEs. Default: a rate of
        :data:`~proximity.layers.smes.DEFAULT_SMES_PER_1000` per 1,000 inhabitants (about
        6,000 in Hérault), which keeps a commune's firms independent of the territory.
    seed : int
        Seed of the synthetic SME generator (mixed with each commune code).
    smes_per_1000 : float, optional
        Rate of synthetic SMEs per 1,000 inhabitants when ``n_smes`` is not given
        (default :data:`~proximity.layers.smes.DEFAULT_SMES_PER_1000`).
    cache : bool
        Use the on-disk network cache.
    progress : callable, optional
        Called with a short message before each step.
    osm : ``"online"``, path or None
        A detailed OSM network to merge with the skeleton (see
        :func:`proximity.network.build_network`).

    Raises
    ------
    InputError
        ``name`` is neither a manifest nor a valid spec (the message lists the forms).
    """
    from .layers.national import is_spec

    say = progress or (lambda msg: None)
    spec = is_spec(name)
    if spec:
        from . import area as area_mod

        a = area_mod.resolve(name)  # InputError for a bad spec, before any heavy work
        man = datasets.load_manifest(area_mod.NATIONAL)
        info = {
            "spec": name,
            "name": a.name,
            "label": a.label,
            "kind": a.kind,
            "departements": list(a.departements),
            "n_communes": len(a.communes),
            "gateway_buffer_km": area_mod.DEFAULT_BUFFER_KM,
        }
    else:
        man = datasets.load_manifest(name)
        info = {
            "spec": name,
            "name": man.name,
            "label": man.label,
            "kind": "manifest",
            "departements": [man.departement],
        }
    say("municipalities")
    munis = layers.municipalities(name)
    say("gateways")
    gws = layers.gateways(name)
    say("support bodies")
    sup = layers.support_bodies(name, extra=support_extra)
    user_firms = None
    if smes is not None:  # read (and validated) before the slow network
        say("SMEs (SIRENE)")
        user_firms = layers.read_sirene(smes, territory=name)
    say("road network")
    G, _ = territory_network(name, cache=cache, osm=osm)
    csr = network.graph_to_csr(G, crs=man.crs)
    gws = _mark_on_network(gws, csr)
    sup = _mark_on_network(sup, csr)
    if user_firms is None:
        say("SMEs")
        rate = None if n_smes is not None else smes_per_1000
        firms = layers.synthetic_smes(munis, road_lines(G), n=n_smes, per_1000_inhabitants=rate, seed=seed)
    else:
        firms = user_firms
    return Territory(
        name=name,
        manifest=man,
        municipalities=munis,
        gateways=gws,
        support_bodies=sup,
        smes=firms,
        graph=G,
        params={
            "n_smes": len(firms),
            "seed": seed,
            "smes_source": "synthetic" if smes is None else "user",
            "smes_rule": (
                f"{smes_per_1000 or DEFAULT_SMES_PER_1000:g} per 1,000 inhabitants, per commune"
                if smes is None and n_smes is None
                else (f"{n_smes} in total, shared by population" if smes is None else "user file")
            ),
            "territory": info,
        },
        csr=csr,
    )


def load_layer(
    layer: str, territory: str = "herault", *, n_smes: int | None = DEFAULT_N_SMES, seed: int = DEFAULT_SEED
) -> gpd.GeoDataFrame:
    """One layer of a territory by name, loading only what it needs.

    Parameters
    ----------
    layer : str
        One of :data:`LAYER_NAMES`: ``municipalities``, ``gateways``, ``support_bodies`` or
        ``smes`` (synthetic SMEs, which need the road network: the whole territory is loaded).
    territory : str
        Territory manifest name or spec (see :mod:`proximity.area`).
    n_smes, seed : int
        Size (default: a rate per inhabitant) and seed of the synthetic SME generator
        (``smes`` only).

    Returns
    -------
    GeoDataFrame
        The layer, as its loader returns it.

    Raises
    ------
    InputError
        ``layer`` is not one of :data:`LAYER_NAMES`.

    Examples
    --------
    >>> len(load_layer("municipalities"))
    341
    """
    if layer == "municipalities":
        return layers.municipalities(territory)
    if layer == "gateways":
        return layers.gateways(territory)
    if layer == "support_bodies":
        return layers.support_bodies(territory)
    if layer == "smes":
        return load_territory(territory, n_smes=n_smes, seed=seed).smes
    raise InputError(f"layer {layer!r} is unknown; choose one of {', '.join(LAYER_NAMES)}")
