"""A territory assembled: its layers, its network and its travel-time graph.

This is the one place where the stages meet for the default run: layers are read,
the network is built (or loaded from the cache), synthetic SMEs are placed along its
roads, and the CSR form for travel times is derived once.

Examples
--------
>>> from proximity.territory import load_territory
>>> t = load_territory("herault")                    # doctest: +SKIP
>>> len(t.municipalities)                            # doctest: +SKIP
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
from .network import CSRGraph

__all__ = ["Territory", "load_territory", "load_layer", "LAYER_NAMES", "DEFAULT_N_SMES", "DEFAULT_SEED"]

DEFAULT_N_SMES = defaults.N_SMES
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
    csr: CSRGraph | None = None

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
    return gpd.GeoDataFrame(edges[["highway", "geometry"]].reset_index(drop=True), crs=graph.graph.get("crs", "EPSG:4326"))


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


def load_territory(
    name: str = "herault",
    *,
    smes: gpd.GeoDataFrame | str | None = None,
    support_extra: gpd.GeoDataFrame | str | None = None,
    n_smes: int = DEFAULT_N_SMES,
    seed: int = DEFAULT_SEED,
    cache: bool = True,
    progress: Callable | None = None,
) -> Territory:
    """Load a territory's layers and network from its installed files.

    Parameters
    ----------
    name : str
        Territory manifest name.
    smes : GeoDataFrame or path, optional
        A real SIRENE extract (path or frame in the SIRENE layout). Default: ``n_smes``
        synthetic SMEs from a seeded generator, labelled synthetic.
    support_extra : GeoDataFrame or path, optional
        The user's own support bodies, merged into the layer.
    n_smes, seed : int
        Size and seed of the synthetic SME generator.
    cache : bool
        Use the on-disk network cache.
    progress : callable, optional
        Called with a short message before each step.
    """
    say = progress or (lambda msg: None)
    man = datasets.load_manifest(name)
    say("municipalities")
    munis = layers.municipalities(name)
    say("gateways")
    gws = layers.gateways(name)
    say("support bodies")
    sup = layers.support_bodies(name, extra=support_extra)
    say("road network")
    G = network.build_network(name, cache=cache)
    csr = network.graph_to_csr(G, crs=man.crs)
    gws = _mark_on_network(gws, csr)
    sup = _mark_on_network(sup, csr)
    say("SMEs")
    if smes is None:
        firms = layers.synthetic_smes(munis, road_lines(G), n=n_smes, seed=seed)
    else:
        firms = layers.read_sirene(smes, territory=name)
    return Territory(
        name=name,
        manifest=man,
        municipalities=munis,
        gateways=gws,
        support_bodies=sup,
        smes=firms,
        graph=G,
        params={"n_smes": n_smes if smes is None else len(firms), "seed": seed, "smes_source": "synthetic" if smes is None else "user"},
        csr=csr,
    )


def load_layer(
    layer: str, territory: str = "herault", *, n_smes: int = DEFAULT_N_SMES, seed: int = DEFAULT_SEED
) -> gpd.GeoDataFrame:
    """One layer of a territory by name, loading only what it needs.

    Parameters
    ----------
    layer : str
        One of :data:`LAYER_NAMES`: ``municipalities``, ``gateways``, ``support_bodies`` or
        ``smes`` (synthetic SMEs, which need the road network: the whole territory is loaded).
    territory : str
        Territory manifest name.
    n_smes, seed : int
        Size and seed of the synthetic SME generator (``smes`` only).

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
