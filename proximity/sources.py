"""Readers for raw source formats shared by several stages (Travel Mapping, Overpass).

Kept apart from :mod:`proximity.layers` and :mod:`proximity.network` because both read
them: layers take motorway junctions from them, the network takes roads.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from ._io import atomic_path
from .errors import DataFileError, InputError

__all__ = [
    "Waypoint",
    "read_wpt",
    "TM_SYSTEMS",
    "TravelMappingRoute",
    "travelmapping_route_name",
    "travelmapping_road_class",
    "read_travelmapping",
    "read_osm_elements",
    "merge_osm_elements",
    "write_osm_xml",
    "overpass_json_to_osm_xml",
]

_URL = re.compile(r"lat=(-?\d+(?:\.\d+)?)&lon=(-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Waypoint:
    """One waypoint of a Travel Mapping route file."""

    label: str  # primary label, without its + or * prefix
    alt_labels: tuple[str, ...]
    lat: float
    lon: float
    hidden: bool  # "+" shaping point, not a junction
    closed: bool  # "*" closed point


def read_wpt(path: str | os.PathLike) -> list[Waypoint]:
    """Read a Travel Mapping ``.wpt`` file: one waypoint per line, in route order.

    Each line is one or more labels then an OSM-style URL carrying the WGS84 position.

    Raises
    ------
    DataFileError
        A line has no ``lat=…&lon=…`` URL; the message names the file and line.
    """
    p = Path(path)
    out: list[Waypoint] = []
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"cannot read Travel Mapping file {str(p)!r}: {exc}") from exc
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        m = _URL.search(parts[-1])
        if m is None:
            raise DataFileError(f"{p.name} line {n}: no 'lat=…&lon=…' URL in {line!r}; the file is not a .wpt file")
        labels = parts[:-1] or [""]
        first = labels[0]
        hidden = first.startswith("+")
        closed = first.startswith("*")
        out.append(
            Waypoint(
                label=first.lstrip("+*"),
                alt_labels=tuple(lab.lstrip("+*") for lab in labels[1:]),
                lat=float(m.group(1)),
                lon=float(m.group(2)),
                hidden=hidden,
                closed=closed,
            )
        )
    return out


# --- Travel Mapping routes -------------------------------------------------------------

#: Travel Mapping systems of the Hérault skeleton: autoroutes, routes nationales, Hérault
#: routes départementales and Montpellier Métropole routes métropolitaines.
TM_SYSTEMS: tuple[str, ...] = ("fraa", "fran", "fraoccd34", "fraoccm34")

# file roots: "fraocc.a009", "fraocc.n088men", "fraocc.d0001e1034" (D1E10, département 34),
# "fraocc.d0155e234eti" (D155E2, city "eti"), "fraocc.m0986d234" (M986D2)
_TM_AN = re.compile(r"^[a-z]{3}\w*?\.([an])(\d+)([a-z]{3})?$")
_TM_DM = re.compile(r"^[a-z]{3}\w*?\.([dm])(\d{4})((?:[a-z]\d*)*)34([a-z]{3})?$")
_TM_ROUTE = re.compile(r"^([ADMN])(\d+)([A-Z0-9]*)$")


@dataclass(frozen=True)
class TravelMappingRoute:
    """One Travel Mapping route file: its system, route number and waypoints in order."""

    system: str  # folder name, e.g. "fraoccd34"
    route: str  # e.g. "D613", "D1E1", "A9"
    city: str  # the file's city suffix ("" for the main route), e.g. "gan"
    file: str  # file name without .wpt
    waypoints: tuple[Waypoint, ...]


def travelmapping_route_name(file_root: str) -> tuple[str, str]:
    """Route number and city suffix of a Travel Mapping file root.

    Parameters
    ----------
    file_root : str
        File name without ``.wpt``, e.g. ``"fraocc.d0001e1034"`` or ``"fraocc.n088men"``.

    Returns
    -------
    tuple of str
        ``(route, city)``, e.g. ``("D1E10", "")`` or ``("N88", "men")``.

    Raises
    ------
    DataFileError
        The name does not follow the Travel Mapping French naming scheme.

    Examples
    --------
    >>> travelmapping_route_name("fraocc.d0986d234")
    ('D986D2', '')
    >>> travelmapping_route_name("fraocc.a009")
    ('A9', '')
    """
    m = _TM_DM.match(file_root)
    if m is not None:
        return f"{m.group(1).upper()}{int(m.group(2))}{m.group(3).upper()}", m.group(4) or ""
    m = _TM_AN.match(file_root)
    if m is not None:
        return f"{m.group(1).upper()}{int(m.group(2))}", m.group(3) or ""
    raise DataFileError(
        f"Travel Mapping file {file_root!r} has no route number in its name "
        "(expected e.g. 'fraocc.a009', 'fraocc.n113', 'fraocc.d061334'); rename it or remove it from the folder"
    )


def travelmapping_road_class(route: str) -> str:
    """OSM-style ``highway`` class of a French route number (a heuristic, not surveyed).

    ``A…`` → ``motorway``; ``N…`` → ``trunk``; plain D/M numbers of the 600 and 900
    series (ex-routes nationales: D613, D612, D609, D908, D986, M986…) → ``primary``;
    other plain D/M numbers → ``secondary``; D/M numbers with a suffix (branches such as
    D1E1, D986D2, D612A) → ``tertiary``.

    Raises
    ------
    InputError
        ``route`` is not an A, N, D or M route number.

    Examples
    --------
    >>> [travelmapping_road_class(r) for r in ("A9", "N113", "D613", "D65", "D1E1")]
    ['motorway', 'trunk', 'primary', 'secondary', 'tertiary']
    """
    m = _TM_ROUTE.match(route.strip().upper().replace(" ", ""))
    if m is None:
        raise InputError(f"route {route!r} is not a French A, N, D or M route number (e.g. 'A9', 'D613', 'D1E1')")
    letter, number, suffix = m.group(1), int(m.group(2)), m.group(3)
    if letter == "A":
        return "motorway"
    if letter == "N":
        return "trunk"
    if suffix:
        return "tertiary"
    if 600 <= number <= 699 or 900 <= number <= 999:
        return "primary"
    return "secondary"


def read_travelmapping(
    folder: str | os.PathLike,
    *,
    systems: Iterable[str] = TM_SYSTEMS,
    bounds_wgs84: tuple[float, float, float, float] | None = None,
) -> list[TravelMappingRoute]:
    """Read the route files of some Travel Mapping systems, in file-name order.

    Parameters
    ----------
    folder : path
        Folder holding one sub-folder per system (``hwy_data/FRA-OCC`` of the Travel
        Mapping repository) or the repository root (``hwy_data/FRA-OCC`` is then used).
    systems : iterable of str
        System folder names, default :data:`TM_SYSTEMS`.
    bounds_wgs84 : tuple of float, optional
        ``(lon_min, lat_min, lon_max, lat_max)``: keep only routes with at least one
        waypoint inside. Default: keep every route.

    Raises
    ------
    DataFileError
        The folder or a system folder does not exist or holds no ``.wpt`` file, or a
        file cannot be read.
    """
    base = Path(folder)
    if not base.is_dir():
        raise DataFileError(f"Travel Mapping folder {str(base)!r} does not exist; pass the folder of the .wpt systems")
    if (base / "hwy_data" / "FRA-OCC").is_dir():
        base = base / "hwy_data" / "FRA-OCC"
    out: list[TravelMappingRoute] = []
    for system in systems:
        sub = base / system
        files = sorted(sub.glob("*.wpt")) if sub.is_dir() else []
        if not files:
            raise DataFileError(
                f"Travel Mapping system {system!r} has no .wpt file in {str(sub)!r}; "
                "check the folder or the systems argument"
            )
        for f in files:
            wpts = read_wpt(f)
            if len(wpts) < 2:
                continue
            if bounds_wgs84 is not None:
                x0, y0, x1, y1 = bounds_wgs84
                if not any(x0 <= w.lon <= x1 and y0 <= w.lat <= y1 for w in wpts):
                    continue
            route, city = travelmapping_route_name(f.stem)
            out.append(TravelMappingRoute(system=system, route=route, city=city, file=f.stem, waypoints=tuple(wpts)))
    return out


# --- Overpass JSON and OSM XML ----------------------------------------------------------


def _open_text(p: Path) -> IO[str]:
    if p.suffix == ".bz2":
        return bz2.open(p, mode="rt", encoding="utf-8")
    if p.suffix == ".gz":
        return gzip.open(p, mode="rt", encoding="utf-8")
    return p.open(encoding="utf-8")


def read_osm_elements(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read the nodes and ways of an Overpass JSON answer or an OSM XML file.

    Parameters
    ----------
    path : path
        ``.json`` (Overpass API answer, ``out;`` or ``out body;``), ``.osm``, ``.xml``,
        optionally compressed (``.bz2``, ``.gz``).

    Returns
    -------
    list of dict
        Overpass-JSON-like elements: ``{"type": "node", "id", "lat", "lon", "tags"}`` and
        ``{"type": "way", "id", "nodes", "tags"}``. Relations are skipped.

    Raises
    ------
    DataFileError
        The file is missing, not valid JSON/XML, or has no ``elements``.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"OSM file {str(p)!r} does not exist; pass an existing .osm, .osm.bz2, .xml or .json file")
    kind = p.name.lower().removesuffix(".bz2").removesuffix(".gz")
    try:
        if kind.endswith(".json"):
            with _open_text(p) as f:
                doc = json.load(f)
            if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
                raise DataFileError(f"{p.name}: no 'elements' list; the file is not an Overpass API JSON answer")
            out = []
            for e in doc["elements"]:
                if e.get("type") == "node":
                    out.append(
                        {
                            "type": "node",
                            "id": int(e["id"]),
                            "lat": float(e["lat"]),
                            "lon": float(e["lon"]),
                            "tags": dict(e.get("tags", {})),
                        }
                    )
                elif e.get("type") == "way":
                    out.append(
                        {
                            "type": "way",
                            "id": int(e["id"]),
                            "nodes": [int(n) for n in e["nodes"]],
                            "tags": dict(e.get("tags", {})),
                        }
                    )
            return out
        return _read_osm_xml(p)
    except DataFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, ET.ParseError, EOFError) as exc:
        raise DataFileError(
            f"cannot read OSM file {str(p)!r} ({type(exc).__name__}: {exc}); replace it with a valid file"
        ) from exc


def _read_osm_xml(p: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with _open_text(p) as f:
        cur: dict[str, Any] | None = None
        for event, el in ET.iterparse(f, events=("start", "end")):
            if event == "start":
                if el.tag == "node":
                    cur = {
                        "type": "node",
                        "id": int(el.attrib["id"]),
                        "lat": float(el.attrib["lat"]),
                        "lon": float(el.attrib["lon"]),
                        "tags": {},
                    }
                elif el.tag == "way":
                    cur = {"type": "way", "id": int(el.attrib["id"]), "nodes": [], "tags": {}}
                elif el.tag == "relation":
                    cur = None
                elif cur is not None and el.tag == "tag":
                    cur["tags"][el.attrib["k"]] = el.attrib["v"]
                elif cur is not None and el.tag == "nd" and cur["type"] == "way":
                    cur["nodes"].append(int(el.attrib["ref"]))
            elif el.tag in ("node", "way", "relation"):
                if cur is not None:
                    out.append(cur)
                cur = None
                el.clear()
    return out


def merge_osm_elements(*element_lists: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge element lists by OSM type and id (the last copy of an element wins).

    Overlapping Overpass answers of the same date hold identical copies; nodes come first
    in the result, then ways, each sorted by id.
    """
    nodes: dict[int, dict[str, Any]] = {}
    ways: dict[int, dict[str, Any]] = {}
    for elements in element_lists:
        for e in elements:
            (nodes if e["type"] == "node" else ways)[e["id"]] = e
    return [nodes[k] for k in sorted(nodes)] + [ways[k] for k in sorted(ways)]


def write_osm_xml(elements: Iterable[dict[str, Any]], path: str | os.PathLike, *, note: str = "") -> Path:
    """Write nodes and ways as OSM XML 0.6 (``.osm``/``.xml``, or ``.bz2``), atomically.

    Ways whose nodes are missing keep their references (readers such as OSMnx skip them).

    Parameters
    ----------
    elements : iterable of dict
        Overpass-style elements: ``{"type": "node", "id", "lat", "lon", "tags"}`` and
        ``{"type": "way", "id", "nodes", "tags"}`` (``tags`` optional).
    path : path
        The file to write; a ``.bz2`` suffix compresses it.
    note : str
        Text of an OSM ``<note>`` element (e.g. the data's source and licence); none if empty.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    p = Path(path)
    with atomic_path(p) as tmp:
        opener = bz2.open if p.suffix == ".bz2" else open
        with opener(tmp, "wt", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            f.write('<osm version="0.6" generator="proximity">\n')
            if note:
                f.write(f"  <note>{xml_escape(note)}</note>\n")
            for e in elements:
                tags = e.get("tags") or {}
                if e["type"] == "node":
                    head = f'  <node id="{e["id"]}" lat="{e["lat"]!r}" lon="{e["lon"]!r}"'
                    if not tags:
                        f.write(head + "/>\n")
                        continue
                    f.write(head + ">\n")
                else:
                    f.write(f'  <way id="{e["id"]}">\n')
                    for n in e["nodes"]:
                        f.write(f'    <nd ref="{n}"/>\n')
                for k, v in tags.items():
                    f.write(f"    <tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>\n")
                f.write(f"  </{e['type']}>\n")
            f.write("</osm>\n")
    return p


def overpass_json_to_osm_xml(
    paths: str | os.PathLike | Iterable[str | os.PathLike], out_path: str | os.PathLike
) -> dict[str, int]:
    """Merge Overpass JSON answers by OSM id and write them as one OSM XML file.

    Parameters
    ----------
    paths : path or iterable of paths
        Overpass API JSON answers (e.g. OSMnx's HTTP cache files); they may overlap.
    out_path : path
        The ``.osm`` (or ``.osm.bz2``) file to write; readable by ``osmnx.graph_from_xml``.

    Returns
    -------
    dict
        ``{"nodes": n, "ways": m}`` written.

    Raises
    ------
    DataFileError
        An input is missing or is not an Overpass JSON answer.

    Examples
    --------
    >>> from proximity import datasets
    >>> keys = ["osm_montpellier_4bcbf1", "osm_montpellier_7c15ab", "osm_montpellier_7e71de"]
    >>> overpass_json_to_osm_xml([datasets.path(k) for k in keys], "mtp.osm")
    {'nodes': 33238, 'ways': 6009}
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    merged = merge_osm_elements(*(read_osm_elements(p) for p in paths))
    write_osm_xml(
        merged, out_path, note="© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"
    )
    n_nodes = sum(1 for e in merged if e["type"] == "node")
    return {"nodes": n_nodes, "ways": len(merged) - n_nodes}
