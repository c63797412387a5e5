"""The national road skeleton: Travel Mapping routes of France and its neighbours as arrays.

The Travel Mapping archives (``travelmapping-fra.tar.gz`` and
``travelmapping-neighbours.tar.gz``) are read without unpacking them, driven by the route
lists they carry (``hwy_data/_systems/<system>.csv``), not by file-name patterns
(:func:`read_travelmapping_archive`). :func:`build_skeleton` turns them into a
:class:`Skeleton`: numpy arrays of nodes (every distinct waypoint position, in EPSG:4326
and EPSG:2154) and of undirected straight segments with a road class, route numbers and a
country. Routes join where their waypoints share exactly the same coordinates (Travel
Mapping's concurrencies and border points), motorway exits without a shared waypoint are
linked to the crossing road in EPSG:2154 (:data:`EXIT_LINK_M`), and every connected
component is kept (Corsica, islands): a place on an island without a bridge is
unreachable from the mainland, never joined across the sea.

The skeleton is cached as ``.npz`` arrays with a JSON sidecar (cache key and the file's
sha256); it holds straight lengths only, so that speeds and detour factors are applied
after loading (:func:`skeleton_csr`, :func:`skeleton_graph`).
:func:`territory_skeleton` keeps the part of it a territory needs: its area plus every
node within ``buffer_minutes`` of driving from it (a Dijkstra on the timed skeleton).

Examples
--------
>>> from proximity import area, datasets, skeleton
>>> archives = [datasets.path("travelmapping_fra"), datasets.path("travelmapping_neighbours")]
>>> sk = skeleton.build_skeleton(archives)
>>> sub = skeleton.territory_skeleton(sk, area.resolve("34").outline)
>>> csr = skeleton.skeleton_csr(sub)
>>> csr.n_nodes
21426
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import tarfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp

from ._io import StaleCache, atomic_path, check_sidecar
from ._version import __version__
from .errors import CacheWarning, DataFileError, InputError, NetworkError

__all__ = [
    "CLASSES",
    "DENSIFY_M",
    "EXCLUDED_SYSTEMS",
    "EXIT_FALLBACK_M",
    "EXIT_LINK_M",
    "JOIN_M",
    "Skeleton",
    "TMArchive",
    "build_skeleton",
    "densify",
    "read_travelmapping_archive",
    "route_class",
    "skeleton_cache_key",
    "skeleton_csr",
    "skeleton_graph",
    "territory_skeleton",
]

#: Systems left out: the E-roads (``eure``: every E-route runs on an A- or N-road already
#: read, so its files only duplicate them), the tourist routes (``fratr``, ``chegts``:
#: scenic itineraries on roads of other systems) and the lists without route files.
EXCLUDED_SYSTEMS: frozenset[str] = frozenset({"eure", "fratr", "chegts", "frae", "fran2", "frarr", "frasf2"})

#: Road classes of skeleton segments, in the order of their codes in :attr:`Skeleton.edge_class`.
CLASSES: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "connector")
_RANK = {"motorway": 5, "trunk": 4, "primary": 3, "secondary": 2, "tertiary": 1, "motorway_link": 0, "connector": -1}

#: A component of the skeleton whose nearest node is within this distance (metres) of the
#: largest component is joined to it by a ``connector`` pair of edges: a gap in the data
#: (a route that ends on a street that Travel Mapping does not list; the largest such gap
#: in France is 652 m). Farther components are islands (Corsica 88 km, Île d'Yeu 19 km,
#: Belle-Île 14 km, Île d'Aix 3.5 km, Bréhat 2.3 km) and stay apart: their places are
#: unreachable from the mainland by road.
JOIN_M: float = 1500.0

#: A motorway exit that shares no waypoint with another road is joined by a
#: ``motorway_link`` to the nearest waypoint within this distance (metres, EPSG:2154)
#: whose label names the motorway (``A9(36)`` on the crossing D-road)...
EXIT_LINK_M: float = 2000.0
#: ...or, failing that, to the nearest non-motorway node within this distance.
EXIT_FALLBACK_M: float = 600.0

#: Longest straight piece (metres) of a non-motorway segment inside a territory after
#: :func:`densify`, so that points near a road snap close to it.
DENSIFY_M: float = 500.0

_CACHE_FORMAT = 2
_URL = re.compile(rb"lat=(-?\d+(?:\.\d+)?)&lon=(-?\d+(?:\.\d+)?)")
# French route numbers: D613, D1E1, D1.3, D119.6.1, D122.7-3, D116.1A, D2Bis, D25a, DN7, M65.1, T10
_FR_NUMBER = re.compile(r"^(DN|[ADMNT])(\d+)(.*)$")
_FR_SUFFIX = re.compile(r"^(?:[A-Za-z]+\d*|\.\d+(?:[.\-]\d+)*[A-Za-z]?|Bis|NBis)*$")

# ISO 3166 alpha-3 country of a Travel Mapping region prefix
_COUNTRY = {
    "FRA": "FRA",
    "AND": "AND",
    "BEL": "BEL",
    "CHE": "CHE",
    "DEU": "DEU",
    "ESP": "ESP",
    "ITA": "ITA",
    "LUX": "LUX",
    "AUT": "AUT",
    "NLD": "NLD",
    "MCO": "MCO",
    "LIE": "LIE",
}


# --- reading the archives ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TMArchive:
    """Routes and waypoints read from Travel Mapping archives.

    ``routes`` has one row per route file (``system``, ``country``, ``region``, ``route``,
    ``banner``, ``city``, ``root``, ``road_class``, ``parsed``, ``n_points``, ``first``
    = its first row in ``waypoints``); ``waypoints`` one row per waypoint in route order
    (``route_row``, ``label``, ``alt_labels``, ``lat``, ``lon``, ``hidden``).
    ``unparsed`` lists the route names whose number could not be read (their class is
    the system's default), ``missing`` the listed route files absent from the archive,
    ``unlisted`` the route files of a system read that its list does not name (not
    read), ``systems`` every system read with its country, tier and level.
    """

    routes: pd.DataFrame
    waypoints: pd.DataFrame
    systems: pd.DataFrame
    unparsed: pd.DataFrame
    missing: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(path, mode="r:*") as tf:
            return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}  # type: ignore[union-attr]
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DataFileError(
            f"Travel Mapping archive {str(path)!r} cannot be read ({type(exc).__name__}: {exc}); "
            "reinstall it with `proximity data install`"
        ) from exc


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    rows = [r for r in reader if r]
    if not rows:
        return []
    return [
        dict(zip(("system", "region", "route", "banner", "abbrev", "city", "root"), r[:7], strict=False))
        for r in rows[1:]
    ]


def route_class(system: str, route: str, *, tier: int = 5, country: str = "FRA") -> tuple[str, bool]:
    """Road class of a Travel Mapping route (a heuristic, not surveyed) and whether its name parsed.

    France: autoroutes (``fraa``) and named freeways (``frasf``: périphériques, rocades)
    → ``motorway``; routes nationales (``fran``) → ``trunk``; Corsica's routes
    territoriales (``fracort``, T-roads: ex-routes nationales through the mountains,
    Ajaccio–Bastia 150 km in about 2 h 20) → ``primary``; D- and M-roads: ex-routes nationales (numbers of
    the 600 and 900 series, four-digit numbers such as D1075 and ``DN7``) → ``primary``,
    other plain numbers → ``secondary``, branches with a suffix (``D1E1``, ``D1.3``,
    ``D25a``, ``D2Bis``) → ``tertiary``. Abroad, by the system's tier: 1–2 (motorways,
    named freeways, Belgian bretelles) → ``motorway``, 4 (national roads: Bundesstraßen,
    carreteras nacionales, strade statali) → ``primary``, others → ``secondary``.

    Parameters
    ----------
    system : str
        Travel Mapping system code (e.g. ``fraa``, ``frad``, ``deua``).
    route : str
        Route number as Travel Mapping writes it (``A9``, ``D1.3``, ``T20``).
    tier : int
        The system's tier in ``systems.csv`` (used abroad).
    country : str
        ISO 3166-1 alpha-3 code of the system's country.

    Returns
    -------
    tuple
        ``(class, parsed)``; ``parsed`` is False for a French D/M/N/T route whose name is
        not a route number (it then gets its system's default class).

    Examples
    --------
    >>> [route_class("fraoccd34", r)[0] for r in ("D613", "D65", "D1E1", "D1.3")]
    ['primary', 'secondary', 'tertiary', 'tertiary']
    >>> route_class("fracort", "T20"), route_class("deub", "B31", tier=4, country="DEU")
    (('primary', True), ('primary', True))
    """
    if country != "FRA":
        if tier <= 2:
            return "motorway", True
        return ("primary" if tier == 4 else "secondary"), True
    if system in ("fraa", "frasf"):
        return "motorway", True
    if system == "fran":
        return "trunk", _FR_NUMBER.match(route) is not None
    if system == "fracort":
        return "primary", _FR_NUMBER.match(route) is not None
    m = _FR_NUMBER.match(route)
    if m is None or not _FR_SUFFIX.match(m.group(3)):
        return "tertiary", False
    letter, number, suffix = m.group(1), int(m.group(2)), m.group(3)
    if letter == "DN":
        return "primary", True
    if suffix:
        return "tertiary", True
    if 600 <= number <= 699 or 900 <= number <= 999 or number >= 1000:
        return "primary", True
    return "secondary", True


def _parse_wpt(data: bytes, name: str) -> tuple[list[str], list[str], list[float], list[float], list[bool]]:
    labels: list[str] = []
    alts: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    hidden: list[bool] = []
    for n, line in enumerate(data.split(b"\n"), 1):
        parts = line.split()
        if not parts:
            continue
        m = _URL.search(parts[-1])
        if m is None:
            raise DataFileError(f"{name} line {n}: no 'lat=…&lon=…' URL in {line[:80]!r}; the file is not a .wpt file")
        first = parts[0].decode("utf-8") if len(parts) > 1 else ""
        labels.append(first.lstrip("+*"))
        alts.append(" ".join(p.decode("utf-8").lstrip("+*") for p in parts[1:-1]))
        lats.append(float(m.group(1)))
        lons.append(float(m.group(2)))
        hidden.append(first.startswith("+"))
    return labels, alts, lats, lons, hidden


def read_travelmapping_archive(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    systems: Iterable[str] | None = None,
    exclude: Iterable[str] = EXCLUDED_SYSTEMS,
) -> TMArchive:
    """Read Travel Mapping archives (``.tar.gz`` of repository files) without unpacking them.

    Every system of the archive's ``systems.csv`` that has a route list
    (``hwy_data/_systems/<system>.csv``) is read, except ``exclude``: each listed route is
    the file ``hwy_data/<region>/<system>/<root>.wpt``. Routes are never found by their
    file names.

    Parameters
    ----------
    paths : path or iterable of paths
        The archives (e.g. the France and neighbours tarballs); a system listed in
        several is read once.
    systems : iterable of str, optional
        Read only these systems (default: all but ``exclude``).
    exclude : iterable of str
        Systems left out, default :data:`EXCLUDED_SYSTEMS` (E-roads, tourist routes).

    Returns
    -------
    TMArchive

    Raises
    ------
    DataFileError
        An archive is missing or unreadable, has no ``systems.csv``, or a route file is
        not a ``.wpt`` file.
    InputError
        ``systems`` names a system absent from every archive.
    """
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not files:
        raise InputError("paths is empty; pass the Travel Mapping archive(s) (travelmapping-fra.tar.gz)")
    wanted = None if systems is None else list(dict.fromkeys(systems))
    skip = set(exclude)
    route_rows: list[dict[str, Any]] = []
    sys_rows: list[dict[str, Any]] = []
    w_label: list[str] = []
    w_alt: list[str] = []
    w_lat: list[float] = []
    w_lon: list[float] = []
    w_hidden: list[bool] = []
    w_route: list[int] = []
    missing: list[str] = []
    unlisted: list[str] = []
    seen: set[str] = set()
    for path in files:
        if not path.is_file():
            raise DataFileError(f"Travel Mapping archive {str(path)!r} does not exist; run `proximity data install`")
        members = _read_members(path)
        if "systems.csv" not in members:
            raise DataFileError(
                f"{path.name} has no systems.csv; it is not a Travel Mapping archive (expected the "
                "travelmapping-fra / travelmapping-neighbours tarballs)"
            )
        lower = {k.lower(): v for k, v in members.items() if k.endswith(".wpt")}
        table = {}
        for row in csv.reader(io.StringIO(members["systems.csv"].decode("utf-8-sig")), delimiter=";"):
            if len(row) >= 6 and row[0] != "System":
                table[row[0]] = (row[1], int(row[4]) if row[4].isdigit() else 5, row[5])
        for system, (cc, tier, level) in table.items():
            if system in seen or system in skip or (wanted is not None and system not in wanted):
                continue
            lst = members.get(f"hwy_data/_systems/{system}.csv")
            if lst is None:
                continue
            seen.add(system)
            sys_rows.append({"system": system, "country": cc, "tier": tier, "level": level})
            listed: set[str] = set()
            for r in _csv_rows(lst):
                region = r.get("region", "")
                root = r.get("root", "")
                name = f"hwy_data/{region}/{system}/{root}.wpt"
                listed.add(name.lower())
                data = members.get(name)
                if data is None:  # a few lists spell the file root in another case
                    data = lower.get(name.lower())
                if data is None:
                    missing.append(name)
                    continue
                labels, alts, lats, lons, hidden = _parse_wpt(data, name)
                if len(lats) < 2:
                    continue
                country = _COUNTRY.get(region.split("-")[0], region.split("-")[0])
                cls, parsed = route_class(system, r.get("route", ""), tier=tier, country=cc)
                route_rows.append(
                    {
                        "system": system,
                        "country": country,
                        "region": region,
                        "route": r.get("route", ""),
                        "banner": r.get("banner", ""),
                        "city": r.get("city", ""),
                        "root": root,
                        "road_class": cls,
                        "parsed": parsed,
                        "n_points": len(lats),
                        "first": len(w_lat),
                    }
                )
                k = len(route_rows) - 1
                w_label += labels
                w_alt += alts
                w_lat += lats
                w_lon += lons
                w_hidden += hidden
                w_route += [k] * len(lats)
            unlisted += sorted(
                m for m in members if m.endswith(".wpt") and m.split("/")[2:3] == [system] and m.lower() not in listed
            )
    if wanted is not None:
        absent = [s for s in wanted if s not in seen]
        if absent:
            raise InputError(
                f"system(s) {absent} are not in {', '.join(p.name for p in files)} (or have no route list); "
                "check the systems argument"
            )
    routes = pd.DataFrame(route_rows)
    waypoints = pd.DataFrame(
        {
            "route_row": np.asarray(w_route, dtype=np.int32),
            "label": w_label,
            "alt_labels": w_alt,
            "lat": np.asarray(w_lat),
            "lon": np.asarray(w_lon),
            "hidden": np.asarray(w_hidden, dtype=bool),
        }
    )
    unparsed = (
        routes.loc[~routes["parsed"], ["system", "route", "root"]].reset_index(drop=True)
        if len(routes)
        else pd.DataFrame()
    )
    return TMArchive(
        routes=routes,
        waypoints=waypoints,
        systems=pd.DataFrame(sys_rows),
        unparsed=unparsed,
        missing=tuple(missing),
        unlisted=tuple(unlisted),
    )


# --- the skeleton ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A road skeleton as arrays (nodes, undirected straight segments).

    Node ``i`` is at ``lon[i], lat[i]`` (EPSG:4326) = ``x[i], y[i]`` (EPSG:2154), in
    ``node_country[i]``; ``is_exit[i]`` marks motorway exits, ``component[i]`` is its
    connected component (0 = the largest) and ``node_label[i]`` the ``route:label`` of
    every waypoint there, ``;``-joined (``""`` on densified points). Segment ``k`` joins ``u[k] < v[k]`` in both
    directions, ``straight_m[k]`` long, of class ``CLASSES[edge_class[k]]``, carrying the
    route numbers ``refs[edge_ref[k]]`` (``;``-joined, concurrencies included), in
    ``edge_country[k]`` (``"FRA/ESP"`` for a segment across a border).
    ``info`` records counts and the build's provenance.
    """

    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    node_country: np.ndarray
    is_exit: np.ndarray
    component: np.ndarray
    node_label: np.ndarray
    u: np.ndarray
    v: np.ndarray
    straight_m: np.ndarray
    edge_class: np.ndarray
    edge_ref: np.ndarray
    edge_country: np.ndarray
    refs: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return int(self.lon.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.u.shape[0])


_NODE_ARRAYS = ("lon", "lat", "x", "y", "node_country", "is_exit", "component", "node_label")
_EDGE_ARRAYS = ("u", "v", "straight_m", "edge_class", "edge_ref", "edge_country")


def _names_route(label: str, route: str) -> bool:
    """Whether a waypoint label names ``route`` (``A9``, ``A9(36)``, ``D13/A9``, ``A9_W``)."""
    return re.search(rf"(^|[/_]){re.escape(route)}($|[(/_])", label) is not None


def _to_2154(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _skeleton_from_archive(tm: TMArchive) -> Skeleton:
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    routes, wp = tm.routes, tm.waypoints
    if not len(routes):
        raise NetworkError("the Travel Mapping archives hold no route; pass the France archive")
    # nodes: distinct positions (exact shared coordinates join routes)
    key = np.round(wp["lat"].to_numpy() * 1e6).astype(np.int64) * 1_000_000_000 + np.round(
        (wp["lon"].to_numpy() + 180.0) * 1e6
    ).astype(np.int64)
    uniq, first_idx, node_of = np.unique(key, return_index=True, return_inverse=True)
    node_of = node_of.ravel()
    lat = wp["lat"].to_numpy()[first_idx]
    lon = wp["lon"].to_numpy()[first_idx]
    rrow = wp["route_row"].to_numpy()
    r_class = routes["road_class"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy().astype(np.int8)
    r_country = routes["country"].to_numpy()
    node_country = r_country[rrow[first_idx]].astype("<U3")
    # segments between consecutive waypoints of a route
    same = rrow[1:] == rrow[:-1]
    a = node_of[:-1][same]
    b = node_of[1:][same]
    seg_route = rrow[:-1][same]
    keep = a != b
    a, b, seg_route = a[keep], b[keep], seg_route[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    seg_cls = r_class[seg_route]
    rank = np.array([_RANK[c] for c in CLASSES])[seg_cls]
    route_names = routes["route"].to_numpy().astype(str)
    order = np.lexsort((-rank, hi, lo))
    lo_s, hi_s, cls_s, route_s = lo[order], hi[order], seg_cls[order], seg_route[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = (lo_s[1:] != lo_s[:-1]) | (hi_s[1:] != hi_s[:-1])
    bounds = np.append(np.flatnonzero(start), len(order))
    best = pd.DataFrame({"u": lo_s[start], "v": hi_s[start], "cls": cls_s[start]})
    # route numbers and countries of each segment (concurrencies: several routes)
    names_s = route_names[route_s].tolist()
    ctry_s = r_country[route_s].astype(str).tolist()
    ref_list: list[str] = []
    ctry_list: list[str] = []
    for a_, b_ in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b_ - a_ == 1:
            ref_list.append(names_s[a_])
            ctry_list.append(ctry_s[a_])
        else:
            ref_list.append(";".join(sorted(set(names_s[a_:b_]), key=lambda r: (r[0], len(r), r))))
            ctry_list.append("/".join(sorted(set(ctry_s[a_:b_]))))
    ref_str = np.asarray(ref_list, dtype=object)
    countries = np.asarray(ctry_list, dtype=str)
    u = best["u"].to_numpy().astype(np.int64)
    v = best["v"].to_numpy().astype(np.int64)
    edge_class = best["cls"].to_numpy().astype(np.int8)
    # a segment across a border (ends in two countries) is labelled with both
    cross = node_country[u] != node_country[v]
    edge_country = np.where(
        cross, np.char.add(np.char.add(node_country[u], "/"), node_country[v]), countries.astype("<U7")
    ).astype("<U7")
    refs, edge_ref = np.unique(ref_str.astype(str), return_inverse=True)
    x, y = _to_2154(lon, lat)
    wp_lab = (pd.Series(route_names[rrow]) + ":" + wp["label"]).to_numpy()
    by_node = np.argsort(node_of, kind="stable")
    lab_sorted = wp_lab[by_node].tolist()
    cuts = np.searchsorted(node_of[by_node], np.arange(len(uniq) + 1)).tolist()
    node_label = np.array([";".join(lab_sorted[a_:b_]) for a_, b_ in pairwise(cuts)], dtype=object)

    # motorway exits: visible motorway waypoints (not rest areas)
    mw = r_class[rrow] == CLASSES.index("motorway")
    labels = wp["label"].to_numpy()
    exit_wp = mw & ~wp["hidden"].to_numpy() & ~pd.Series(labels).str.startswith("Aire").to_numpy()
    is_exit = np.zeros(len(uniq), dtype=bool)
    is_exit[node_of[exit_wp]] = True
    slow = np.zeros(len(uniq), dtype=bool)
    nonmw = edge_class != CLASSES.index("motorway")
    slow[u[nonmw]] = True
    slow[v[nonmw]] = True
    # motorways through a node: an interchange (two motorways) is not an exit
    mw_routes = pd.DataFrame({"n": node_of[mw], "r": routes["route"].to_numpy()[rrow[mw]]}).drop_duplicates()
    n_mw = np.bincount(mw_routes["n"].to_numpy(), minlength=len(uniq))
    exit_route: dict[int, str] = dict(zip(mw_routes["n"].to_numpy().tolist(), mw_routes["r"].tolist(), strict=True))
    lone = np.flatnonzero(is_exit & ~slow & (n_mw == 1))
    links_u: list[int] = []
    links_v: list[int] = []
    links_ref: list[str] = []
    if len(lone) and slow.any():
        slow_idx = np.flatnonzero(slow)
        tree = cKDTree(np.column_stack([x[slow_idx], y[slow_idx]]))
        # every label (primary and alternative) at each slow node near a lone exit
        near_lists = tree.query_ball_point(np.column_stack([x[lone], y[lone]]), EXIT_LINK_M)
        cand = np.unique(
            np.concatenate([slow_idx[np.asarray(js, dtype=np.int64)] for js in near_lists] + [np.empty(0, np.int64)])
        )
        node_labels: dict[int, list[str]] = {}
        on = np.isin(node_of, cand)
        alts = wp["alt_labels"].to_numpy()
        for n, lab, alt in zip(node_of[on].tolist(), labels[on].tolist(), alts[on].tolist(), strict=True):
            node_labels.setdefault(n, []).extend([lab, *alt.split()])
        for n, js in zip(lone.tolist(), near_lists, strict=True):
            route = exit_route[n]
            best_j = None
            if js:
                js_sorted = sorted(js, key=lambda j: (float(np.hypot(*(tree.data[j] - (x[n], y[n])))), j))
                for j in js_sorted:
                    if any(_names_route(lab, route) for lab in node_labels.get(int(slow_idx[j]), [])):
                        best_j = j
                        break
            if best_j is None:
                d, j = tree.query((x[n], y[n]))
                if d <= EXIT_FALLBACK_M:
                    best_j = int(j)
            if best_j is not None:
                m = int(slow_idx[best_j])
                links_u.append(min(n, m))
                links_v.append(max(n, m))
                links_ref.append(route)
    if links_u:
        lu, lv = np.asarray(links_u, dtype=np.int64), np.asarray(links_v, dtype=np.int64)
        link_refs, link_ref_idx = np.unique(np.asarray(links_ref), return_inverse=True)
        all_refs = np.concatenate([refs, link_refs])
        u = np.concatenate([u, lu])
        v = np.concatenate([v, lv])
        edge_class = np.concatenate([edge_class, np.full(len(lu), CLASSES.index("motorway_link"), np.int8)])
        edge_ref = np.concatenate([edge_ref.ravel(), len(refs) + link_ref_idx.ravel()])
        link_country = np.where(
            node_country[lu] == node_country[lv],
            node_country[lu],
            np.char.add(np.char.add(node_country[lu], "/"), node_country[lv]),
        )
        edge_country = np.concatenate([edge_country, link_country.astype("<U7")])
        refs = all_refs
    n = len(uniq)

    def components(u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
        adj = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
        return connected_components(adj, directed=False)

    # small components within JOIN_M of the largest one: gaps in the data, joined
    n_comp, labels_c = components(u, v)
    big = np.argmax(np.bincount(labels_c))
    main = np.flatnonzero(labels_c == big)
    tree_main = cKDTree(np.column_stack([x[main], y[main]]))
    joins: list[tuple[int, int]] = []
    for c in range(n_comp):
        if c == big:
            continue
        members_c = np.flatnonzero(labels_c == c)
        d, j = tree_main.query(np.column_stack([x[members_c], y[members_c]]))
        i = int(np.argmin(d))
        if d[i] <= JOIN_M:
            a_, b_ = int(members_c[i]), int(main[j[i]])
            joins.append((min(a_, b_), max(a_, b_)))
    if joins:
        ju = np.array([j[0] for j in joins], dtype=np.int64)
        jv = np.array([j[1] for j in joins], dtype=np.int64)
        refs = np.concatenate([np.asarray(refs), ["(gap)"]])
        u = np.concatenate([u, ju])
        v = np.concatenate([v, jv])
        edge_class = np.concatenate([edge_class, np.full(len(ju), CLASSES.index("connector"), np.int8)])
        edge_ref = np.concatenate([np.asarray(edge_ref).ravel(), np.full(len(ju), len(refs) - 1)])
        edge_country = np.concatenate([edge_country, node_country[ju].astype("<U7")])
    straight = np.hypot(x[u] - x[v], y[u] - y[v])  # EPSG:2154 metres (scale error < 0.1 % in France)
    n_comp, labels_c = components(u, v)
    sizes = np.bincount(labels_c)
    order = np.argsort(-sizes, kind="stable")
    relabel = np.empty(n_comp, dtype=np.int32)
    relabel[order] = np.arange(n_comp, dtype=np.int32)
    component = relabel[labels_c]
    info = {
        "routes": len(routes),
        "systems": sorted(tm.systems["system"].tolist()),
        "unparsed_routes": tm.unparsed["route"].tolist() if len(tm.unparsed) else [],
        "missing_files": list(tm.missing),
        "unlisted_files": list(tm.unlisted),
        "exit_links": len(links_u),
        "joined_gaps": len(joins),
        "components": int(n_comp),
        "largest_component_nodes": int(sizes.max()),
    }
    return Skeleton(
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        node_country=node_country,
        is_exit=is_exit,
        component=component,
        node_label=node_label,
        u=u,
        v=v,
        straight_m=straight,
        edge_class=edge_class,
        edge_ref=edge_ref.astype(np.int32).ravel(),
        edge_country=edge_country,
        refs=tuple(str(r) for r in refs),
        info=info,
    )


# --- cache -------------------------------------------------------------------------------------


def skeleton_cache_key(paths: Sequence[str | os.PathLike], *, systems: Iterable[str] | None = None) -> str:
    """Cache key of a skeleton (hex sha256): the archives' sha256, the build parameters, the version."""
    from .datasets import sha256_file

    doc = {
        "format": _CACHE_FORMAT,
        "version": __version__,
        "inputs": [sha256_file(Path(p)) for p in paths],
        "systems": None if systems is None else sorted(systems),
        "excluded": sorted(EXCLUDED_SYSTEMS),
        "exit_link_m": EXIT_LINK_M,
        "join_m": JOIN_M,
        "exit_fallback_m": EXIT_FALLBACK_M,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _cache_files(folder: Path) -> tuple[Path, Path]:
    return folder / "skeleton.npz", folder / "skeleton.json"


def _save(sk: Skeleton, folder: Path, key: str) -> None:
    npz, side = _cache_files(folder)
    arrays = {k: getattr(sk, k) for k in (*_NODE_ARRAYS, *_EDGE_ARRAYS) if k != "node_label"}
    arrays["refs"] = np.asarray(sk.refs, dtype=str)
    # labels as one UTF-8 text (no pickled objects in the cache)
    arrays["node_label"] = np.frombuffer("\n".join(sk.node_label.tolist()).encode("utf-8"), dtype=np.uint8)
    with atomic_path(npz) as tmp:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)
        digest = _sha256(tmp)
    with atomic_path(side) as tmp:
        tmp.write_text(
            json.dumps({"key": key, "npz_sha256": digest, "version": __version__, "info": sk.info}), encoding="utf-8"
        )


def _sha256(p: Path) -> str:
    from .datasets import sha256_file

    return sha256_file(p)


def _load(folder: Path, key: str) -> Skeleton | None:
    npz, side_path = _cache_files(folder)
    if not npz.exists() and not side_path.exists():
        return None

    def stale(why: str) -> None:
        warnings.warn(
            f"skeleton cache {str(npz)!r} {why}; it is not used and the skeleton is rebuilt", CacheWarning, stacklevel=3
        )

    try:
        side = check_sidecar(npz, side_path, key, inputs="archives")
    except StaleCache as exc:
        stale(str(exc))
        return None
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in (*_NODE_ARRAYS, *_EDGE_ARRAYS, "refs")}
    except (OSError, ValueError, KeyError) as exc:
        stale(f"is unreadable ({type(exc).__name__}: {exc})")
        return None
    refs = tuple(arrays.pop("refs").tolist())
    labels = arrays["node_label"].tobytes().decode("utf-8").split("\n")
    arrays["node_label"] = np.array(labels, dtype=object)
    if len(labels) != arrays["lon"].shape[0]:
        stale("is inconsistent (labels and nodes differ in number)")
        return None
    info = dict(side.get("info", {}), from_cache=True, cache_path=str(npz))
    return Skeleton(**arrays, refs=refs, info=info)


def build_skeleton(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    systems: Iterable[str] | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Skeleton:
    """Build (or load from the cache) the road skeleton of Travel Mapping archives.

    Parameters
    ----------
    paths : path or sequence of paths
        ``travelmapping-fra.tar.gz`` and, to continue past the borders,
        ``travelmapping-neighbours.tar.gz``.
    systems : iterable of str, optional
        Read only these systems (see :func:`read_travelmapping_archive`).
    cache : bool
        Read and write the ``.npz`` cache (``skeleton.npz`` + ``skeleton.json`` in
        ``cache_dir/skeleton-<key prefix>``). A stale or corrupt cache gives a
        :class:`~proximity.errors.CacheWarning` and is rebuilt, never used.
    cache_dir : path, optional
        Default :func:`proximity.network.default_cache_dir`.

    Returns
    -------
    Skeleton
        ``info["from_cache"]`` says whether it was read from the cache.

    Raises
    ------
    DataFileError
        An archive is missing or unreadable.
    """
    from .network import default_cache_dir

    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    for p in files:
        if not p.is_file():
            raise DataFileError(f"Travel Mapping archive {str(p)!r} does not exist; run `proximity data install`")
    sys_list = None if systems is None else list(systems)
    key = skeleton_cache_key(files, systems=sys_list)
    folder = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / f"skeleton-{key[:16]}"
    if cache:
        sk = _load(folder, key)
        if sk is not None:
            return sk
    sk = _skeleton_from_archive(read_travelmapping_archive(files, systems=sys_list))
    sk.info.update(cache_key=key, from_cache=False, archives=[p.name for p in files])
    if cache:
        try:
            _save(sk, folder, key)
            sk.info["cache_path"] = str(_cache_files(folder)[0])
        except OSError as exc:
            warnings.warn(
                f"skeleton cache folder {str(folder)!r} is not writable ({exc.strerror or exc}); the skeleton "
                "was built but not cached; set PROXIMITY_CACHE_DIR to a writable folder",
                CacheWarning,
                stacklevel=2,
            )
    return sk


# --- a territory's part -----------------------------------------------------------------------


def _take(sk: Skeleton, node_keep: np.ndarray, edge_keep: np.ndarray, info: dict[str, Any]) -> Skeleton:
    new_id = np.full(sk.n_nodes, -1, dtype=np.int64)
    new_id[node_keep] = np.arange(int(node_keep.sum()))
    nodes = {k: getattr(sk, k)[node_keep] for k in _NODE_ARRAYS}
    edges = {k: getattr(sk, k)[edge_keep] for k in _EDGE_ARRAYS}
    edges["u"] = new_id[edges["u"]]
    edges["v"] = new_id[edges["v"]]
    return Skeleton(**nodes, **edges, refs=sk.refs, info=info)


def _speed_detour(
    speeds_kmh: Mapping[str, float] | None, detour_factor: float | Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    from .network import DEFAULT_SPEEDS_KMH, DETOUR_FACTOR, _detour_table, _speed_table

    table = _speed_table(speeds_kmh) if speeds_kmh is not None else dict(DEFAULT_SPEEDS_KMH)
    det = _detour_table(detour_factor if detour_factor is not None else DETOUR_FACTOR)
    # exit links are measured between the two waypoints: the slip road's own circuity;
    # gap connectors get the off-network leg's detour
    from .network import ACCESS_DETOUR

    det = {**det, "motorway_link": det["motorway"], "connector": ACCESS_DETOUR}
    return np.array([table[c] for c in CLASSES]), np.array([det[c] for c in CLASSES])


def _edge_seconds(
    sk: Skeleton, speeds_kmh: Mapping[str, float] | None, detour_factor: float | Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    speed, det = _speed_detour(speeds_kmh, detour_factor)
    length = sk.straight_m * det[sk.edge_class]
    return length, length / (speed[sk.edge_class] / 3.6)


def territory_skeleton(
    sk: Skeleton,
    area_2154: Any = None,
    *,
    buffer_minutes: float = 120.0,
    neighbours: bool = True,
    speeds_kmh: Mapping[str, float] | None = None,
    detour_factor: float | Mapping[str, float] | None = None,
) -> Skeleton:
    """The part of a skeleton a territory needs: its area plus ``buffer_minutes`` of driving.

    Every node inside ``area_2154`` is kept (whatever its component: islands stay, and
    their places are unreachable from the mainland rather than joined across the sea),
    then a Dijkstra from those nodes on the timed skeleton keeps every node reached within
    ``buffer_minutes`` (with the same speeds and detour factors as the travel times), so
    that the nearest gateways beyond the border are on the network. Segments are kept
    where both ends are.

    Parameters
    ----------
    sk : Skeleton
        From :func:`build_skeleton`.
    area_2154 : shapely geometry, optional
        The territory in EPSG:2154. ``None``: every French node is the start (the whole
        country, plus the neighbours within the buffer).
    buffer_minutes : float
        Driving horizon beyond the area (minutes, >= 0); the profile's longest horizon.
    neighbours : bool
        Continue past the borders (False: keep French nodes only).
    speeds_kmh, detour_factor : mapping, optional
        As in :func:`skeleton_csr`.

    Raises
    ------
    InputError
        A negative or non-finite ``buffer_minutes``, or an area holding no skeleton node.
    """
    import shapely
    from scipy.sparse.csgraph import dijkstra

    if not (isinstance(buffer_minutes, (int, float)) and math.isfinite(buffer_minutes) and buffer_minutes >= 0):
        raise InputError(f"buffer_minutes={buffer_minutes!r} must be a non-negative number of minutes")
    allowed = np.ones(sk.n_nodes, dtype=bool) if neighbours else sk.node_country == "FRA"
    if area_2154 is None:
        inside = sk.node_country == "FRA"
    else:
        inside = shapely.contains_xy(area_2154, sk.x, sk.y)
        if not inside.any():
            # a small area between waypoints: start from the nodes nearest to it
            d = shapely.distance(area_2154, shapely.points(sk.x, sk.y))
            inside = d <= d.min() + 1.0
    _, secs = _edge_seconds(sk, speeds_kmh, detour_factor)
    ok = allowed[sk.u] & allowed[sk.v]
    n = sk.n_nodes
    g = sp.csr_matrix(
        (
            np.concatenate([secs[ok], secs[ok]]),
            (np.concatenate([sk.u[ok], sk.v[ok]]), np.concatenate([sk.v[ok], sk.u[ok]])),
        ),
        shape=(n, n),
    )
    starts = np.flatnonzero(inside & allowed)
    t = dijkstra(g, indices=starts, min_only=True, limit=buffer_minutes * 60.0)
    keep = (np.isfinite(t) | inside) & allowed
    edge_keep = keep[sk.u] & keep[sk.v]
    info = dict(sk.info, buffer_minutes=float(buffer_minutes), area_nodes=int(inside.sum()), neighbours=neighbours)
    return _take(sk, keep, edge_keep, info)


def densify(sk: Skeleton, area_2154: Any = None, *, max_m: float = DENSIFY_M, margin_m: float = 5000.0) -> Skeleton:
    """Split long non-motorway segments near a territory into pieces of at most ``max_m`` metres.

    Intermediate nodes (on the straight segment) let points near a road snap close to it.
    Only segments with an end within ``margin_m`` of ``area_2154`` (all segments when it
    is None) are split: the buffer beyond serves long trips, not snapping. Motorways and
    links are never split (no access between exits).

    Parameters
    ----------
    sk : Skeleton
        The skeleton (or a territory's cut of it).
    area_2154 : shapely geometry, optional
        The territory's outline in EPSG:2154; None splits every segment.
    max_m : float
        Longest piece after splitting, metres.
    margin_m : float
        Segments with an end within this distance of ``area_2154`` are split, metres.

    Returns
    -------
    Skeleton
        A new skeleton; ``sk`` is not modified.

    Raises
    ------
    InputError
        ``max_m`` is not a positive number.
    """
    import shapely

    if not (isinstance(max_m, (int, float)) and math.isfinite(max_m) and max_m > 0):
        raise InputError(f"max_m={max_m!r} must be a positive number of metres")
    near = (
        np.ones(sk.n_nodes, dtype=bool)
        if area_2154 is None
        else shapely.dwithin(area_2154, shapely.points(sk.x, sk.y), margin_m)
    )
    fast = np.isin(sk.edge_class, [CLASSES.index("motorway"), CLASSES.index("motorway_link")])
    pieces = np.where((near[sk.u] | near[sk.v]) & ~fast, np.maximum(1, np.ceil(sk.straight_m / max_m)), 1).astype(
        np.int64
    )
    split = pieces > 1
    if not split.any():
        return sk
    k_idx = np.repeat(np.flatnonzero(split), pieces[split] - 1)
    step = np.concatenate([np.arange(1, p) for p in pieces[split]])
    f = step / pieces[k_idx]
    n0 = sk.n_nodes
    new = np.arange(n0, n0 + len(k_idx))
    u, v = sk.u[k_idx], sk.v[k_idx]
    lon = sk.lon[u] + f * (sk.lon[v] - sk.lon[u])
    lat = sk.lat[u] + f * (sk.lat[v] - sk.lat[u])
    x = sk.x[u] + f * (sk.x[v] - sk.x[u])
    y = sk.y[u] + f * (sk.y[v] - sk.y[u])
    # chains u -> new... -> v for each split segment
    starts = np.concatenate([[0], np.cumsum(pieces[split] - 1)])[:-1]
    chain_u, chain_v, src = [], [], []
    for i, k in enumerate(np.flatnonzero(split)):
        ids = np.concatenate([[sk.u[k]], new[starts[i] : starts[i] + pieces[k] - 1], [sk.v[k]]])
        chain_u.append(ids[:-1])
        chain_v.append(ids[1:])
        src.append(np.full(len(ids) - 1, k))
    src_a = np.concatenate(src)
    cu, cv = np.concatenate(chain_u), np.concatenate(chain_v)
    keep = ~split
    out_u = np.concatenate([sk.u[keep], cu])
    out_v = np.concatenate([sk.v[keep], cv])
    idx = np.concatenate([np.flatnonzero(keep), src_a])
    straight = np.concatenate([sk.straight_m[keep], sk.straight_m[src_a] / pieces[src_a]])
    return Skeleton(
        lon=np.concatenate([sk.lon, lon]),
        lat=np.concatenate([sk.lat, lat]),
        x=np.concatenate([sk.x, x]),
        y=np.concatenate([sk.y, y]),
        node_country=np.concatenate([sk.node_country, sk.node_country[u]]),
        is_exit=np.concatenate([sk.is_exit, np.zeros(len(k_idx), dtype=bool)]),
        component=np.concatenate([sk.component, sk.component[u]]),
        node_label=np.concatenate([sk.node_label, np.full(len(k_idx), "", dtype=object)]),
        u=out_u,
        v=out_v,
        straight_m=straight,
        edge_class=sk.edge_class[idx],
        edge_ref=sk.edge_ref[idx],
        edge_country=sk.edge_country[idx],
        refs=sk.refs,
        info=dict(sk.info, densify_m=float(max_m)),
    )


# --- export ---------------------------------------------------------------------------------------


def skeleton_csr(
    sk: Skeleton,
    *,
    speeds_kmh: Mapping[str, float] | None = None,
    detour_factor: float | Mapping[str, float] | None = None,
) -> Any:
    """The skeleton as a :class:`~proximity.network.CSRGraph` (EPSG:2154), both directions timed.

    ``length`` = straight length × the class's detour factor
    (:data:`proximity.network.DETOUR_FACTOR`), ``time`` = length / the class's speed
    (:data:`proximity.network.DEFAULT_SPEEDS_KMH`); either overridable. Node ids are the
    skeleton's node indices. Nodes whose every segment is a motorway or a link are not
    snappable, except motorway exits.

    Parameters
    ----------
    sk : Skeleton
        The skeleton (or a territory's cut of it).
    speeds_kmh : mapping, optional
        Speed per road class; default :data:`proximity.network.DEFAULT_SPEEDS_KMH`.
    detour_factor : float or mapping, optional
        Detour factor, one for all classes or per class; default
        :data:`proximity.network.DETOUR_FACTOR`.
    """
    from .network import CSRGraph

    length, secs = _edge_seconds(sk, speeds_kmh, detour_factor)
    n = sk.n_nodes
    rows = np.concatenate([sk.u, sk.v])
    cols = np.concatenate([sk.v, sk.u])
    w = np.maximum(np.concatenate([secs, secs]), 1e-9)
    ln = np.concatenate([length, length])
    # parallel segments cannot occur (unique u<v), so the sum of duplicates is the edge
    time_s = sp.csr_array((w, (rows, cols)), shape=(n, n))
    length_m = sp.csr_array((ln, (rows, cols)), shape=(n, n))
    access = np.zeros(n, dtype=bool)
    slow = ~np.isin(sk.edge_class, [CLASSES.index("motorway"), CLASSES.index("motorway_link")])
    access[sk.u[slow]] = True
    access[sk.v[slow]] = True
    access |= sk.is_exit  # motorway exits are access points (see network.access_node_mask)
    return CSRGraph(
        time_s=time_s,
        length_m=length_m,
        node_ids=np.arange(n, dtype=np.int64),
        x=sk.x.copy(),
        y=sk.y.copy(),
        crs="EPSG:2154",
        snappable=access if access.any() else None,
    )


def skeleton_graph(
    sk: Skeleton,
    *,
    detour_factor: float | Mapping[str, float] | None = None,
    id_offset: int = 1,
) -> Any:
    """The skeleton as an osmnx-compatible ``networkx.MultiDiGraph`` in EPSG:4326 (no speeds yet).

    Node ``i`` gets id ``i + id_offset`` with ``x``/``y`` (lon/lat), ``country`` and, at
    motorway exits, ``highway="motorway_junction"``; every segment becomes two edges with
    ``highway``, ``ref``, ``country``, ``length`` (straight × detour), ``straight_length``,
    ``detour_factor``, ``oneway=False`` and ``source="travelmapping"``. Time it with
    :func:`proximity.network.add_speeds`.

    Parameters
    ----------
    sk : Skeleton
        The skeleton (or a territory's cut of it).
    detour_factor : float or mapping, optional
        Detour factor, one for all classes or per class; default
        :data:`proximity.network.DETOUR_FACTOR`.
    id_offset : int
        Added to the skeleton's node indices to make the graph's node ids.
    """
    import networkx as nx

    from .network import _add_edges, _gc_paused

    _, det = _speed_detour(None, detour_factor)
    G = nx.MultiDiGraph(crs="EPSG:4326", name="travelmapping")
    ids = np.arange(sk.n_nodes) + id_offset

    def exit_ref(label: str) -> dict[str, str]:
        # the exit's number: the label of its first motorway waypoint ("A9:33;D600:A9(33)" -> "33")
        for part in label.split(";"):
            route, _, lab = part.partition(":")
            if route[:1] == "A" and lab:
                return {"highway": "motorway_junction", "ref": lab}
        return {"highway": "motorway_junction"}

    G.add_nodes_from(
        (
            int(i),
            {
                "x": float(a),
                "y": float(b),
                "country": str(c),
                "tm_label": lab,
                "source": "travelmapping",
                **(exit_ref(lab) if e else {}),
            },
        )
        for i, a, b, c, e, lab in zip(
            ids.tolist(),
            sk.lon.tolist(),
            sk.lat.tolist(),
            sk.node_country.tolist(),
            sk.is_exit.tolist(),
            sk.node_label.tolist(),
            strict=True,
        )
    )
    factor = det[sk.edge_class]
    length = sk.straight_m * factor

    a_ids, b_ids = ids[sk.u].tolist(), ids[sk.v].tolist()
    columns = zip(
        a_ids,
        b_ids,
        [CLASSES[c] for c in sk.edge_class.tolist()],
        [sk.refs[r] for r in sk.edge_ref.tolist()],
        sk.edge_country.tolist(),
        sk.straight_m.tolist(),
        factor.tolist(),
        length.tolist(),
        strict=True,
    )

    def edges():
        for a, b, cls, ref, country, straight, fac, ln in columns:
            attrs = {
                "highway": cls,
                "ref": ref,
                "country": str(country),
                "oneway": False,
                "straight_length": straight,
                "detour_factor": fac,
                "length": ln,
                "source": "connector" if cls == "connector" else "travelmapping",
            }
            yield a, b, None, dict(attrs, reversed=False)
            yield b, a, None, dict(attrs, reversed=True)

    with _gc_paused():
        _add_edges(G, edges())  # G.add_edges_from in bulk
    G.graph["exit_links"] = int(sk.info.get("exit_links", 0))
    G.graph["detour_factor"] = json.dumps(dict(zip(CLASSES, det.tolist(), strict=True)))
    return G
