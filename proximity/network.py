"""Road networks: build, merge and cache drivable graphs, speeds, travel times, CSR export.

(Under construction: the CSR export below is the contract with :mod:`proximity.traveltime`.)
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pyproj
import scipy.sparse as sp

from .errors import NetworkError

__all__ = ["CSRGraph", "graph_to_csr"]


@dataclass(frozen=True, eq=False)
class CSRGraph:
    """A drivable graph in compressed-sparse-row form for fast travel times.

    ``time_s[i, j]`` is the travel time in seconds of the fastest edge from node ``i`` to
    node ``j`` (parallel edges reduced to the fastest one) and ``length_m[i, j]`` that
    edge's length. Node ``i`` is ``node_ids[i]`` in the source graph, at ``x[i], y[i]``
    in ``crs`` (a projected CRS, metres).
    """

    time_s: sp.csr_array
    length_m: sp.csr_array
    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    crs: str

    @property
    def n_nodes(self) -> int:
        return int(self.node_ids.shape[0])


def graph_to_csr(G: nx.MultiDiGraph, *, weight: str = "travel_time", crs: str = "EPSG:2154") -> CSRGraph:
    """Convert a networkx graph with node ``x``/``y`` (in ``G.graph['crs']``) to a :class:`CSRGraph`.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Every edge must carry ``weight`` (seconds) and ``length`` (metres).
    weight : str
        Edge attribute holding the travel time in seconds.
    crs : str
        Projected CRS of the node coordinates in the result.

    Raises
    ------
    NetworkError
        The graph is empty, or an edge lacks ``weight`` or has a negative one.
    """
    if G.number_of_nodes() == 0:
        raise NetworkError("the graph has no nodes; build it from a non-empty area")
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    index = {n: i for i, n in enumerate(node_ids)}
    m = G.number_of_edges()
    rows = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    w = np.empty(m, dtype=np.float64)
    ln = np.empty(m, dtype=np.float64)
    missing = 0
    for k, (u, v, d) in enumerate(G.edges(data=True)):
        rows[k] = index[u]
        cols[k] = index[v]
        t = d.get(weight)
        if t is None:
            missing += 1
            t = np.nan
        w[k] = t
        ln[k] = d.get("length", np.nan)
    if missing:
        raise NetworkError(f"{missing} edge(s) have no {weight!r} attribute; add travel times first (network.add_travel_times)")
    if (w < 0).any() or np.isnan(w).any():
        raise NetworkError(f"edge attribute {weight!r} has negative or NaN values; fix the speeds")
    # keep the fastest of parallel edges (and drop self-loops, useless for shortest paths)
    keep = rows != cols
    rows, cols, w, ln = rows[keep], cols[keep], w[keep], ln[keep]
    order = np.lexsort((w, cols, rows))
    rows, cols, w, ln = rows[order], cols[order], w[order], ln[order]
    first = np.ones(rows.shape[0], dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, w, ln = rows[first], cols[first], w[first], ln[first]
    # a zero weight would be an implicit (missing) entry in a sparse matrix
    w = np.maximum(w, 1e-9)
    n = node_ids.shape[0]
    time_s = sp.csr_array((w, (rows, cols)), shape=(n, n))
    length_m = sp.csr_array((ln, (rows, cols)), shape=(n, n))
    xs = np.array([G.nodes[i]["x"] for i in node_ids], dtype=float)
    ys = np.array([G.nodes[i]["y"] for i in node_ids], dtype=float)
    src = G.graph.get("crs", "EPSG:4326")
    if pyproj.CRS(src) != pyproj.CRS(crs):
        tr = pyproj.Transformer.from_crs(src, crs, always_xy=True)
        xs, ys = tr.transform(xs, ys)
    return CSRGraph(time_s=time_s, length_m=length_m, node_ids=node_ids, x=np.asarray(xs), y=np.asarray(ys), crs=crs)
