"""Benchmark: proximity.traveltime against networkx (the osmnx way) and pandana.

Two tasks, same inputs, same process, results checked equal:

1. nearest facility for every node, for several kinds of facility (with a cut-off);
2. an OD table, thousands of origins x hundreds of destinations, with a cut-off.

On (a) the real merged Hérault network (``proximity.network.build_network``) when it can
be built, and (b) a much larger synthetic road network (a jittered grid with a road
hierarchy and one-way streets, >= 500k nodes). Times are wall-clock seconds of one cold
run each (our first call builds the cached k-d tree and transposed graph).

What is timed
-------------
- ours: building the ``CSRGraph`` from the edge arrays, plus the public API calls
  (``traveltime.nearest(..., by="kind")``, ``traveltime.od_matrix``) on point layers;
- networkx: only the Dijkstra calls on a ready ``DiGraph`` (its construction is not
  counted, which favours networkx): ``nx.multi_source_dijkstra_path_length`` per kind on
  the reversed graph with ``cutoff`` for task 1, ``nx.single_source_dijkstra_path_length``
  per origin with ``cutoff`` for task 2 (on the large network, a sample of origins,
  extrapolated linearly: the output says so);
- pandana: ``Network`` construction (contraction hierarchy) + ``set_pois`` +
  ``nearest_pois`` for task 1 (``precompute`` only serves aggregation queries and is not
  needed by ``nearest_pois``), construction + ``shortest_path_lengths`` for the OD pairs
  (all pairs, no cut-off in pandana; on the large network a sample of pairs, extrapolated).

A task's time for an engine that builds a structure includes that build; the combined
ratio divides the sum of the other engine's times (build counted once) by ours.
pandana's contraction hierarchy stores weights in single precision: its times differ
from exact Dijkstra by up to a few 1e-4 relative, so it is compared with a tolerance
of ``PANDANA_RTOL * t + PANDANA_ATOL`` seconds (networkx must agree to 1e-6 s).

Run ``.venv/bin/python benchmarks/traveltime.py`` (a few minutes) or ``--quick``. The
last line printed is one JSON object with the ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import warnings
from contextlib import contextmanager, redirect_stdout
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from proximity import traveltime
from proximity.network import CSRGraph

PANDANA_RTOL = 1e-3
PANDANA_ATOL = 0.05
CRS = "EPSG:2154"


# --------------------------------------------------------------------------- networks
def synthetic_network(side: int, *, seed: int = 0) -> dict[str, Any]:
    """A side x side jittered grid (150 m) with a road hierarchy, 8 % of streets missing and
    15 % of local streets one-way, restricted to its largest strongly connected component.

    Local streets 30-50 km/h, every 8th row/column an arterial at 70 km/h, every 40th a
    motorway at 110 km/h. Lengths are the straight distance times 1.0-1.25.
    """
    rng = np.random.default_rng(seed)
    n = side * side
    ij = np.arange(n).reshape(side, side)
    x = (ij % side).ravel() * 150.0 + rng.uniform(-40, 40, n) + 700_000
    y = (ij // side).ravel() * 150.0 + rng.uniform(-40, 40, n) + 6_200_000
    h_u, h_v = ij[:, :-1].ravel(), ij[:, 1:].ravel()  # along rows
    v_u, v_v = ij[:-1, :].ravel(), ij[1:, :].ravel()  # along columns
    h_line = np.repeat(np.arange(side), side - 1)  # row index of each horizontal edge
    v_line = np.tile(np.arange(side), side - 1)  # column index of each vertical edge
    u = np.concatenate([h_u, v_u])
    v = np.concatenate([h_v, v_v])
    line = np.concatenate([h_line, v_line])
    speed = rng.uniform(30, 50, u.size)
    speed[line % 8 == 0] = 70.0
    speed[line % 40 == 0] = 110.0
    local = speed < 60
    keep = ~local | (rng.random(u.size) > 0.08)
    u, v, speed, local = u[keep], v[keep], speed[keep], local[keep]
    oneway = local & (rng.random(u.size) < 0.15)
    flip = oneway & (rng.random(u.size) < 0.5)
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    two = ~oneway
    uu = np.concatenate([u, v[two]])
    vv = np.concatenate([v, u[two]])
    sp_ = np.concatenate([speed, speed[two]])
    length = np.hypot(x[uu] - x[vv], y[uu] - y[vv]) * rng.uniform(1.0, 1.25, uu.size)
    t = length / (sp_ / 3.6)
    return _largest_scc(
        {"u": uu, "v": vv, "time_s": t, "length_m": length, "x": x, "y": y, "node_ids": np.arange(n, dtype=np.int64)}
    )


def _largest_scc(a: dict[str, Any]) -> dict[str, Any]:
    n = a["x"].size
    m = sp.csr_matrix((np.ones(a["u"].size), (a["u"], a["v"])), shape=(n, n))
    _, labels = connected_components(m, directed=True, connection="strong")
    big = np.bincount(labels).argmax()
    keep_node = labels == big
    new = np.full(n, -1, dtype=np.int64)
    new[keep_node] = np.arange(int(keep_node.sum()))
    keep_edge = keep_node[a["u"]] & keep_node[a["v"]]
    return {
        "u": new[a["u"][keep_edge]],
        "v": new[a["v"][keep_edge]],
        "time_s": a["time_s"][keep_edge],
        "length_m": a["length_m"][keep_edge],
        "x": a["x"][keep_node],
        "y": a["y"][keep_node],
        "node_ids": a["node_ids"][keep_node],
    }


def arrays_from_graph(G: nx.MultiDiGraph) -> dict[str, Any]:
    """Edge arrays of a networkx graph (parallel edges reduced to the fastest, no self-loops)."""
    from proximity.network import graph_to_csr

    csr = graph_to_csr(G, crs=CRS)
    coo = csr.time_s.tocoo()
    ln = csr.length_m.tocsr()
    return _largest_scc(
        {
            "u": coo.row.astype(np.int64),
            "v": coo.col.astype(np.int64),
            "time_s": coo.data,
            "length_m": np.asarray(ln[coo.row, coo.col]).ravel(),
            "x": np.asarray(csr.x),
            "y": np.asarray(csr.y),
            "node_ids": np.asarray(csr.node_ids),
        }
    )


def build_ours(a: dict[str, Any]) -> CSRGraph:
    """The CSRGraph straight from edge arrays (what graph_to_csr produces, minus networkx)."""
    n = a["x"].size
    time_s = sp.csr_array((a["time_s"], (a["u"], a["v"])), shape=(n, n))
    length_m = sp.csr_array((a["length_m"], (a["u"], a["v"])), shape=(n, n))
    return CSRGraph(time_s=time_s, length_m=length_m, node_ids=a["node_ids"], x=a["x"], y=a["y"], crs=CRS)


def build_nx(a: dict[str, Any]) -> tuple[nx.DiGraph, nx.DiGraph]:
    G = nx.DiGraph()
    G.add_nodes_from(range(a["x"].size))
    G.add_weighted_edges_from(
        zip(a["u"].tolist(), a["v"].tolist(), a["time_s"].tolist(), strict=True), weight="travel_time"
    )
    return G, G.reverse(copy=True)


@contextmanager
def quiet():
    """Silence pandana's C++ progress output (it writes to the process's stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        with redirect_stdout(open(os.devnull, "w")):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def build_pandana(a: dict[str, Any]) -> Any:
    import pandana

    with quiet():
        return pandana.Network(
            pd.Series(a["x"]),
            pd.Series(a["y"]),
            pd.Series(a["u"]),
            pd.Series(a["v"]),
            pd.DataFrame({"time_s": a["time_s"]}),
            twoway=False,
        )


# --------------------------------------------------------------------------- timing helpers
def clock(fn, *args, **kw) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def pandana_close(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    return np.abs(got - ref) <= PANDANA_RTOL * ref + PANDANA_ATOL


# --------------------------------------------------------------------------- the suite
def run_suite(name: str, a: dict[str, Any], p: dict[str, Any], *, rng: np.random.Generator, log) -> dict[str, Any]:
    n = a["x"].size
    log(f"\n== {name}: {n:,} nodes, {a['u'].size:,} edges")
    res: dict[str, Any] = {"name": name, "nodes": n, "edges": int(a["u"].size)}
    node_pts = gpd.GeoSeries(shapely.points(a["x"], a["y"]), crs=CRS)

    # inputs: facilities of several kinds and OD points, all on nodes (zero off-network legs)
    kinds = [f"kind{i}" for i in range(p["kinds"])]
    fac_nodes = rng.choice(n, p["kinds"] * p["facilities"], replace=False)
    fac_kind = np.repeat(kinds, p["facilities"])
    facilities = gpd.GeoDataFrame({"kind": fac_kind}, geometry=node_pts.values[fac_nodes], crs=CRS)
    o_nodes = rng.choice(n, p["origins"], replace=False)
    d_nodes = rng.choice(n, p["destinations"], replace=False)
    origins = gpd.GeoSeries(node_pts.values[o_nodes], crs=CRS)
    destinations = gpd.GeoSeries(node_pts.values[d_nodes], crs=CRS)
    near_cut_s, od_cut_s = p["nearest_minutes"] * 60, p["od_minutes"] * 60

    # ---------------------------------------------------------------- ours
    gc.collect()
    t_build, graph = clock(build_ours, a)
    t_near, near = clock(traveltime.nearest, graph, node_pts, facilities, by="kind", max_minutes=p["nearest_minutes"])
    t_od, od = clock(traveltime.od_matrix, graph, origins, destinations, max_minutes=p["od_minutes"])
    t_near_warm, _ = clock(traveltime.nearest, graph, node_pts, facilities, by="kind", max_minutes=p["nearest_minutes"])
    ours = {"build": t_build, "nearest": t_near, "od": t_od, "nearest_warm": t_near_warm}
    near_s = near["minutes"].to_numpy().reshape(n, len(kinds)) * 60  # rows: nodes, cols: kinds (sorted)
    od_s = np.full((p["origins"], p["destinations"]), np.inf)
    od_s[od["origin_id"].to_numpy(), od["destination_id"].to_numpy()] = od["minutes"].to_numpy() * 60
    log(
        f"ours      build {t_build:7.2f} s   nearest {t_near:7.2f} s (warm {t_near_warm:.2f})   od {t_od:7.2f} s   ({len(od):,} pairs within {p['od_minutes']} min)"
    )
    checks: dict[str, Any] = {}

    # ---------------------------------------------------------------- networkx
    gc.collect()
    t_nx_build, (G, R) = clock(build_nx, a)
    gc.freeze()  # millions of graph dicts: keep the cyclic collector off them while timing
    nx_near_t = 0.0
    worst = 0.0
    kinds_nx = kinds[: p["nx_kinds"]]
    for j, k in enumerate(kinds_nx):
        src = fac_nodes[fac_kind == k].tolist()
        dt, lengths = clock(nx.multi_source_dijkstra_path_length, R, src, cutoff=near_cut_s, weight="travel_time")
        nx_near_t += dt
        ref = np.full(n, np.inf)
        ref[np.fromiter(lengths.keys(), dtype=np.int64)] = np.fromiter(lengths.values(), dtype=float)
        both = np.isfinite(ref) | np.isfinite(near_s[:, j])
        worst = max(worst, float(np.max(np.abs(ref[both] - near_s[both, j]))) if both.any() else 0.0)
    nx_near = nx_near_t * len(kinds) / len(kinds_nx)
    checks["nearest_vs_networkx_max_abs_s"] = worst
    sample = o_nodes[: p["nx_origins"]]
    nx_od_t = 0.0
    worst = 0.0
    for i, o in enumerate(sample):
        dt, lengths = clock(nx.single_source_dijkstra_path_length, G, int(o), cutoff=od_cut_s, weight="travel_time")
        nx_od_t += dt
        ref = np.array([lengths.get(int(d), np.inf) for d in d_nodes])
        both = np.isfinite(ref) | np.isfinite(od_s[i])
        if both.any():
            worst = max(worst, float(np.max(np.abs(ref[both] - od_s[i, both]))))
    nx_od = nx_od_t * p["origins"] / sample.size
    checks["od_vs_networkx_max_abs_s"] = worst
    del G, R
    gc.unfreeze()
    gc.collect()
    extrap_near = "" if len(kinds_nx) == len(kinds) else f" (timed {len(kinds_nx)} of {len(kinds)} kinds, extrapolated)"
    extrap_od = "" if sample.size == p["origins"] else f" (timed {sample.size} of {p['origins']} origins, extrapolated)"
    log(
        f"networkx  (graph built in {t_nx_build:.1f} s, not counted)   nearest {nx_near:7.2f} s{extrap_near}   od {nx_od:8.2f} s{extrap_od}"
    )
    networkx = {"nearest": nx_near, "od": nx_od, "graph_build_not_counted": t_nx_build}

    # ---------------------------------------------------------------- pandana
    gc.collect()
    t_pd_build, net = clock(build_pandana, a)
    pd_near_t = 0.0
    ok_all = True
    worst_rel = 0.0
    for j, k in enumerate(kinds):
        sel = fac_kind == k

        def _pois(k=k, sel=sel, net=net):
            with quiet():
                net.set_pois(k, near_cut_s, 1, pd.Series(a["x"][fac_nodes[sel]]), pd.Series(a["y"][fac_nodes[sel]]))
                return net.nearest_pois(near_cut_s, k, num_pois=1)

        dt, got = clock(_pois)
        pd_near_t += dt
        pd_t = got[1].to_numpy(dtype=float)
        mine = near_s[:, j]
        inside = (pd_t < near_cut_s * (1 - PANDANA_RTOL) - PANDANA_ATOL) & (
            mine < near_cut_s * (1 - PANDANA_RTOL) - PANDANA_ATOL
        )
        ok_all &= bool(pandana_close(mine[inside], pd_t[inside]).all())
        # inside pandana's cut-off <=> inside ours, away from the boundary
        ok_all &= bool(
            np.array_equal(pd_t < near_cut_s * 0.99, mine < near_cut_s * 0.99) or _boundary_only(pd_t, mine, near_cut_s)
        )
        if inside.any():
            worst_rel = max(
                worst_rel, float(np.max(np.abs(pd_t[inside] - mine[inside]) / np.maximum(mine[inside], 1.0)))
            )
    checks["nearest_vs_pandana_within_tolerance"] = ok_all
    checks["nearest_vs_pandana_max_rel"] = worst_rel
    n_pairs = p["origins"] * p["destinations"]
    n_sample = min(n_pairs, p["pandana_pairs"])
    oo = np.repeat(o_nodes, p["destinations"])[:n_sample]
    dd = np.tile(d_nodes, p["origins"])[:n_sample]

    def _spl(net=net):
        with quiet():
            return np.asarray(net.shortest_path_lengths(oo, dd), dtype=float)

    dt, lengths = clock(_spl)
    pd_od = dt * n_pairs / n_sample
    mine = od_s.ravel()[:n_sample]
    below = lengths <= od_cut_s * (1 - PANDANA_RTOL) - PANDANA_ATOL
    checks["od_vs_pandana_within_tolerance"] = bool(
        pandana_close(lengths[below], mine[below]).all() and np.isfinite(mine[below]).all()
    )
    checks["od_vs_pandana_max_rel"] = (
        float(np.max(np.abs(lengths[below] - mine[below]) / np.maximum(lengths[below], 1.0))) if below.any() else 0.0
    )
    extrap = "" if n_sample == n_pairs else f" (timed {n_sample:,} of {n_pairs:,} pairs, extrapolated)"
    log(
        f"pandana   build {t_pd_build:7.2f} s   nearest {pd_near_t:7.2f} s (+build)   od {pd_od:8.2f} s (+build){extrap}"
    )
    pandana_ = {"build": t_pd_build, "nearest": pd_near_t, "od": pd_od}
    del net
    gc.collect()

    # ---------------------------------------------------------------- ratios
    ours_near, ours_od = ours["build"] + ours["nearest"], ours["build"] + ours["od"]
    ours_all = ours["build"] + ours["nearest"] + ours["od"]
    res.update(
        ours=ours,
        networkx=networkx,
        pandana=pandana_,
        checks=checks,
        speedup_vs_networkx={
            "nearest": networkx["nearest"] / ours_near,
            "od": networkx["od"] / ours_od,
            "combined": (networkx["nearest"] + networkx["od"]) / ours_all,
        },
        speedup_vs_pandana={
            "nearest": (pandana_["build"] + pandana_["nearest"]) / ours_near,
            "od": (pandana_["build"] + pandana_["od"]) / ours_od,
            "combined": (pandana_["build"] + pandana_["nearest"] + pandana_["od"]) / ours_all,
        },
        params=p,
    )
    return res


def _boundary_only(pd_t: np.ndarray, mine: np.ndarray, cut: float) -> bool:
    """Disagreements on 'within the cut-off' only where a time is within tolerance of it."""
    differ = (pd_t < cut) != (mine < cut)
    near = np.abs(np.minimum(pd_t, 10 * cut) - cut) <= PANDANA_RTOL * cut + PANDANA_ATOL
    near |= np.abs(np.minimum(mine, 10 * cut) - cut) <= PANDANA_RTOL * cut + PANDANA_ATOL
    return bool((~differ | near).all())


def table(results: list[dict[str, Any]]) -> str:
    rows = []
    head = f"{'network':<22}{'task':<9}{'ours s':>9}{'networkx s':>12}{'pandana s':>11}{'x nx':>9}{'x pandana':>11}"
    rows.append(head)
    rows.append("-" * len(head))
    for r in results:
        o, x, pdn = r["ours"], r["networkx"], r["pandana"]
        for task in ("nearest", "od", "combined"):
            if task == "combined":
                ot = o["build"] + o["nearest"] + o["od"]
                xt = x["nearest"] + x["od"]
                pt = pdn["build"] + pdn["nearest"] + pdn["od"]
            else:
                ot = o["build"] + o[task]
                xt = x[task]
                pt = pdn["build"] + pdn[task]
            rows.append(
                f"{r['name'][:21]:<22}{task:<9}{ot:>9.2f}{xt:>12.2f}{pt:>11.2f}"
                f"{r['speedup_vs_networkx'][task]:>8.0f}x{r['speedup_vs_pandana'][task]:>10.1f}x"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--side", type=int, default=None, help="side of the synthetic grid (default 740, quick 260)")
    ap.add_argument("--no-real", action="store_true", help="skip the real Hérault network")
    ap.add_argument("--seed", type=int, default=34)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", FutureWarning)
    log = print
    rng = np.random.default_rng(args.seed)
    side = args.side or (260 if args.quick else 740)
    results = []

    real_p = {
        "kinds": 4,
        "facilities": 50,
        "origins": 2000,
        "destinations": 100,
        "nearest_minutes": 60,
        "od_minutes": 45,
        "nx_kinds": 4,
        "nx_origins": 300,
        "pandana_pairs": 200_000,
    }
    big_p = {
        "kinds": 4,
        "facilities": 50,
        "origins": 4000,
        "destinations": 200,
        "nearest_minutes": 30,
        "od_minutes": 15,
        "nx_kinds": 4,
        "nx_origins": 30,
        "pandana_pairs": 50_000,
    }
    if args.quick:
        real_p.update(origins=500, nx_origins=50, pandana_pairs=50_000)
        big_p.update(origins=1000, destinations=100, nx_origins=20, pandana_pairs=20_000)

    if args.no_real:
        log("(a) real network: skipped (--no-real)")
    else:
        try:
            from proximity import network
        except ImportError as exc:  # pragma: no cover
            network = None
            log(f"(a) real network: skipped ({exc})")
        if network is not None and not hasattr(network, "build_network"):
            log("(a) real network: skipped (proximity.network.build_network does not exist yet)")
        elif network is not None:
            try:
                t_net, G = clock(network.build_network, "herault")
            except Exception as exc:  # a missing data file or an unfinished builder: say why and go on
                log(f"(a) real network: skipped (build_network failed: {type(exc).__name__}: {exc})")
            else:
                cached = G.graph.get("from_cache")
                log(f"(a) real network built in {t_net:.1f} s (from cache: {cached}; not counted)")
                a = arrays_from_graph(G)
                del G
                results.append(run_suite("Hérault (real)", a, real_p, rng=rng, log=log))

    t_gen, big = clock(synthetic_network, side, seed=args.seed)
    log(f"(b) synthetic network generated in {t_gen:.1f} s")
    results.append(run_suite(f"synthetic {side}x{side}", big, big_p, rng=rng, log=log))

    log("\n" + table(results))
    log(
        "\nchecks: "
        + "; ".join(
            f"{r['name']}: "
            + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["checks"].items())
            for r in results
        )
    )
    big_r = results[-1]
    summary = {
        "network": big_r["name"],
        "nodes": big_r["nodes"],
        "edges": big_r["edges"],
        "quick": args.quick,
        "speedup_vs_networkx": round(big_r["speedup_vs_networkx"]["combined"], 1),
        "speedup_vs_pandana": round(big_r["speedup_vs_pandana"]["combined"], 2),
        "speedup_vs_networkx_by_task": {k: round(v, 1) for k, v in big_r["speedup_vs_networkx"].items()},
        "speedup_vs_pandana_by_task": {k: round(v, 2) for k, v in big_r["speedup_vs_pandana"].items()},
        "speedup_vs_pandana_queries_only": {
            "nearest": round(big_r["pandana"]["nearest"] / big_r["ours"]["nearest"], 2),
            "od": round(big_r["pandana"]["od"] / big_r["ours"]["od"], 2),
        },
        "seconds": {e: {k: round(v, 3) for k, v in big_r[e].items()} for e in ("ours", "networkx", "pandana")},
        "checks_ok": all(
            (v is True) or (isinstance(v, float) and (not k.endswith("_abs_s") or v <= 1e-6))
            for r in results
            for k, v in r["checks"].items()
            if not k.endswith("_max_rel")
        ),
        "real_network": None
        if len(results) == 1
        else {
            "nodes": results[0]["nodes"],
            "speedup_vs_networkx": {k: round(v, 1) for k, v in results[0]["speedup_vs_networkx"].items()},
            "speedup_vs_pandana": {k: round(v, 2) for k, v in results[0]["speedup_vs_pandana"].items()},
        },
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
