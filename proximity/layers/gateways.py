"""Gateways to the world: airports, seaports, rail stations and motorway access points.

One point layer, one row per gateway, from the territory's open data:

- airports: ``airportsdata`` (aerodrome reference points), commercial airports only;
- seaports: the NGA World Port Index (coordinates rounded to about 0.02°);
- rail stations: SNCF passenger stations with DRG segment, ridership and TGV/OUIGO flags;
- motorway access points: toll interchanges (ministry of transport, 2024), OSM
  ``highway=motorway_junction`` nodes and the exit waypoints of Travel Mapping's
  autoroute files, merged within :data:`DEDUPE_M` metres.

Gateways just outside the territory (Nîmes and Carcassonne airports, Port-la-Nouvelle,
the Nîmes and Narbonne stations, the A9 interchanges of the Gard) are kept with
``in_territory`` False: firms near a border use them.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from .. import datasets
from ..errors import DataFileError, InputError
from ..sources import read_wpt
from . import air_routes
from ._common import WGS84, bounds, in_box, metric_crs, nearest_dedupe, points, slug, split_latlon
from ._validate import validate_layer

__all__ = ["gateways", "KINDS", "MODES", "GROUPS", "DEDUPE_M", "RIDERSHIP_YEARS"]

#: Gateway kinds and the transport mode of each.
MODES = {"airport": "air", "seaport": "sea", "rail_station": "rail", "motorway_access": "road"}
KINDS = tuple(MODES)
#: Gateway groups of the nearest-facility tables and scores: the kind, except that a rail
#: station served by TGV (``tgv`` True) is a ``tgv_station``.
GROUPS = ("airport", "seaport", "tgv_station", "rail_station", "motorway_access")
#: Motorway access points of different sources closer than this are one access point.
DEDUPE_M = 500.0
#: Access points with the same motorway and exit number closer than this are one exit.
SAME_EXIT_M = 2000.0
#: Years of SNCF ridership (``ridership_<year>`` columns, total travellers).
RIDERSHIP_YEARS = tuple(range(2015, 2025))

_OSM_KEYS = ("osm_montpellier_4bcbf1", "osm_montpellier_7c15ab", "osm_montpellier_7e71de")
# exit numbers: "28", "30a", "39.1"; not route junctions ("A709"), areas ("AireTav") or borders
_EXIT = r"^\d{1,3}[a-z]?(?:\.\d+)?$"

COLUMNS = (
    "id",
    "kind",
    "group",
    "mode",
    "name",
    "in_territory",
    "commune",
    "source",
    "caveat",
    "iata",
    "icao",
    "destinations",
    "countries",
    "foreign_destinations",
    "destination_codes",
    "destinations_by_country",
    "unlocode",
    "harbor_size",
    "harbor_type",
    "uic",
    "trigram",
    "drg_segment",
    "tgv",
    "ouigo",
    *(f"ridership_{y}" for y in RIDERSHIP_YEARS),
    "motorway",
    "exit_ref",
    "merged_sources",
    "geometry",
)


def _read_csv(p: Path, **kw) -> pd.DataFrame:
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kw)
    except (OSError, ValueError) as exc:
        raise DataFileError(f"cannot read {p.name!r} ({exc}); reinstall it with `proximity data install`") from exc


def _need(df: pd.DataFrame, cols: list[str], p: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataFileError(f"{p.name!r} lacks column(s) {', '.join(map(repr, missing))}; is it the expected file?")


def _airports(territory: str, box) -> pd.DataFrame:
    p = datasets.path("airports", territory)
    a = _read_csv(p)
    _need(a, ["icao", "iata", "name", "lat", "lon"], p)
    lat = pd.to_numeric(a["lat"], errors="coerce")
    lon = pd.to_numeric(a["lon"], errors="coerce")
    keep = (a["iata"].str.len() == 3) & in_box(lon, lat, box)  # IATA code = scheduled/commercial traffic
    a = a[keep]
    return pd.DataFrame(
        {
            "id": "airport:" + a["icao"],
            "kind": "airport",
            "name": a["name"],
            "source": "airportsdata",
            "caveat": "aerodrome reference point, not the terminal",
            "iata": a["iata"],
            "icao": a["icao"],
            "lon": lon[keep],
            "lat": lat[keep],
        }
    )


def _seaport_rows(p: Path) -> pd.DataFrame:
    """Every port of a World Port Index CSV as gateway rows; the callers keep those of their area."""
    w = _read_csv(p)
    _need(
        w,
        [
            "Main Port Name",
            "UN/LOCODE",
            "Latitude",
            "Longitude",
            "Harbor Size",
            "Harbor Type",
            "World Port Index Number",
        ],
        p,
    )
    code = w["UN/LOCODE"].str.replace(" ", "", regex=False)
    code = code.where(code != "", "wpi" + w["World Port Index Number"].str.replace(".0", "", regex=False))
    return pd.DataFrame(
        {
            "id": "seaport:" + code,
            "kind": "seaport",
            "name": w["Main Port Name"],
            "source": "NGA World Port Index",
            "caveat": "coordinates rounded to about 0.02 degrees (1-2 km from the terminals)",
            "unlocode": w["UN/LOCODE"],
            "harbor_size": w["Harbor Size"],
            "harbor_type": w["Harbor Type"],
            "lon": pd.to_numeric(w["Longitude"], errors="coerce"),
            "lat": pd.to_numeric(w["Latitude"], errors="coerce"),
        }
    )


def _seaports(territory: str, box) -> pd.DataFrame:
    ports = _seaport_rows(datasets.path("world_port_index", territory))
    return ports[in_box(ports["lon"], ports["lat"], box)]


def _uic(code: str) -> str:
    code = code.strip()
    return code.lstrip("0") if code.isdigit() else code


def _rail_stations(territory: str, box, dep: str) -> pd.DataFrame:
    p = datasets.path("sncf_stations", territory)
    g = _read_csv(p, sep=";")
    _need(g, ["Nom", "Trigramme", "Segment(s) DRG", "Position géographique", "Code commune", "Code(s) UIC"], p)
    lat, lon = split_latlon(g["Position géographique"])
    seg = g["Segment(s) DRG"].str.split(";").str[0].str.strip()
    inside = g["Code commune"].str.startswith(dep)
    # major stations (segment A) just outside the département serve its firms too
    keep = in_box(lon, lat, box) & (inside | (seg == "A"))
    g, lat, lon, seg, inside = g[keep], lat[keep], lon[keep], seg[keep], inside[keep]
    uics = g["Code(s) UIC"].str.split(";").map(lambda xs: [_uic(x) for x in xs if x.strip()])

    pf = datasets.path("sncf_ridership", territory)
    f = _read_csv(pf, sep=";")
    cols = [f"Total Voyageurs {y}" for y in RIDERSHIP_YEARS]
    _need(f, ["Code UIC", *cols], pf)
    f = f.assign(uic=f["Code UIC"].map(_uic)).drop_duplicates("uic").set_index("uic")

    pt = datasets.path("sncf_tgv_fares", territory)
    t = _read_csv(pt, sep=";")
    _need(t, ["Transporteur", "Gare origine - code UIC", "Gare destination - code UIC"], pt)
    served: dict[Any, set[str]] = {}  # carrier name -> UIC codes served
    for carrier, grp in t.groupby("Transporteur"):
        codes = pd.concat([grp["Gare origine - code UIC"], grp["Gare destination - code UIC"]]).map(_uic)
        served[carrier] = set(codes)
    tgv_set = served.get("TGV INOUI", set()) | served.get("OUIGO", set())
    ouigo_set = served.get("OUIGO", set()) | served.get("OUIGO TRAIN CLASSIQUE", set())

    def first_match(codes: list[str]) -> str | None:
        return next((c for c in codes if c in f.index), None)

    match = uics.map(first_match)
    out = pd.DataFrame(
        {
            "id": "rail_station:" + uics.str[0],
            "kind": "rail_station",
            "name": g["Nom"],
            "commune": g["Code commune"],
            "source": "SNCF gares-de-voyageurs; frequentation-gares; tarifs-tgv-inoui-ouigo",
            "caveat": "TGV/OUIGO service from the fare grid (about 2024), not a timetable",
            "uic": uics.str[0],
            "trigram": g["Trigramme"],
            "drg_segment": seg,
            "tgv": uics.map(lambda cs: any(c in tgv_set for c in cs)),
            "ouigo": uics.map(lambda cs: any(c in ouigo_set for c in cs)),
            "lon": lon,
            "lat": lat,
            "_inside": inside,
        }
    )
    for y, c in zip(RIDERSHIP_YEARS, cols, strict=True):
        vals = match.map(lambda u, c=c: f.at[u, c] if isinstance(u, str) else None)
        out[f"ridership_{y}"] = pd.to_numeric(vals, errors="coerce").astype("Int64")
    return out


def _l93_number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.str.replace(",", ".", regex=False).str.strip(), errors="coerce")


def _tolls(territory: str, box) -> pd.DataFrame:
    p = datasets.path("toll_stations", territory)
    d = _read_csv(p, sep=";")
    _need(d, ["route", "x", "y", "nomGare", "typeGare"], p)
    d = d[d["typeGare"] == "Ech"]  # "Bpv" are barriers across the motorway: no access
    x = _l93_number(d["x"])
    y = _l93_number(d["y"])
    lon, lat = pyproj.Transformer.from_crs("EPSG:2154", WGS84, always_xy=True).transform(x.to_numpy(), y.to_numpy())
    d = d.assign(lon=lon, lat=lat)
    # one row per side of a site: one point per named site (mean of its booths)
    site = d.groupby("nomGare", sort=True).agg(lon=("lon", "mean"), lat=("lat", "mean"), route=("route", "first"))
    site = site[in_box(site["lon"], site["lat"], box)]
    # route codes are <département><"A9"><motorway number, 3 digits><site>CD, e.g. 34A900910CD = A9
    motorway = site["route"].str.extract(r"^\w{2}A9(\d{3})\d", expand=False)
    motorway = ("A" + motorway.str.lstrip("0")).where(motorway.notna(), "")
    return pd.DataFrame(
        {
            "id": ["motorway_access:toll:" + slug(n) for n in site.index],
            "kind": "motorway_access",
            "name": "Péage " + site.index.to_series(),
            "source": "toll_stations (DGITM 2024)",
            "caveat": "toll interchange (the toll booths, off the motorway)",
            "motorway": motorway.to_numpy(),
            "exit_ref": "",
            "lon": site["lon"].to_numpy(),
            "lat": site["lat"].to_numpy(),
            "_priority": 0,
        }
    )


def _osm_junctions(territory: str, box) -> pd.DataFrame:
    nodes: dict[int, dict] = {}
    motorway_of: dict[int, str] = {}
    for key in _OSM_KEYS:
        p = datasets.path(key, territory)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataFileError(f"cannot read Overpass file {p.name!r} ({exc})") from exc
        for e in doc.get("elements", []):
            tags = e.get("tags", {})
            if e.get("type") == "node" and tags.get("highway") == "motorway_junction":
                nodes[e["id"]] = e
            elif e.get("type") == "way" and tags.get("highway") == "motorway" and tags.get("ref"):
                for n in e.get("nodes", []):
                    motorway_of.setdefault(n, tags["ref"].replace(" ", "").split(";")[0])
    rows = []
    for nid, e in sorted(nodes.items()):
        tags = e.get("tags", {})
        ref = tags.get("ref", "")
        mw = motorway_of.get(nid, "")
        label = tags.get("name") or (f"{mw} exit {ref}".strip() if ref else f"{mw} junction".strip())
        rows.append(
            {
                "id": f"motorway_access:osm:{nid}",
                "kind": "motorway_access",
                "name": label,
                "source": "OpenStreetMap motorway_junction (2024-10-30)",
                "caveat": "divergence point of the exit slip road",
                "motorway": mw,
                "exit_ref": ref,
                "lon": float(e["lon"]),
                "lat": float(e["lat"]),
                "_priority": 1,
            }
        )
    out = pd.DataFrame(rows)
    return out[in_box(out["lon"], out["lat"], box)] if len(out) else out


def _tm_exits(territory: str, box) -> pd.DataFrame:
    folder = datasets.path("travelmapping_wpt", territory)
    files = sorted(folder.glob("hwy_data/*/fraa/*.wpt"))
    rows = []
    for f in files:
        route = f.stem.split(".")[-1]  # "a009"
        mw = "A" + route[1:].lstrip("0") if route[:1] == "a" else route.upper()
        for w in read_wpt(f):
            if w.hidden or w.closed or re.fullmatch(_EXIT, w.label) is None:
                continue
            rows.append(
                {
                    "id": f"motorway_access:tm:{mw}-{w.label}",
                    "kind": "motorway_access",
                    "name": f"{mw} exit {w.label}",
                    "source": "Travel Mapping waypoint",
                    "caveat": "exit waypoint on the motorway centre line",
                    "motorway": mw,
                    "exit_ref": w.label,
                    "lon": w.lon,
                    "lat": w.lat,
                    "_priority": 2,
                }
            )
    out = pd.DataFrame(rows)
    return out[in_box(out["lon"], out["lat"], box)] if len(out) else out


def _motorway_access(territory: str, box, dedupe_m: float) -> pd.DataFrame:
    parts = [
        df for df in (_tolls(territory, box), _osm_junctions(territory, box), _tm_exits(territory, box)) if len(df)
    ]
    return _merge_access(parts, dedupe_m, metric_crs(territory))


def _merge_access(parts: list[pd.DataFrame], dedupe_m: float, crs: str) -> pd.DataFrame:
    """Merge motorway access points of several sources (see :func:`gateways`)."""
    if not parts:
        return pd.DataFrame(
            columns=["id", "kind", "name", "motorway", "exit_ref", "merged_sources", "lon", "lat", "_priority"]
        )
    allp = pd.concat(parts, ignore_index=True)
    pts = gpd.GeoDataFrame(allp, geometry=gpd.points_from_xy(allp["lon"], allp["lat"]), crs=WGS84)
    kept, absorbed = nearest_dedupe(pts, priority=allp["_priority"].to_numpy(), distance_m=dedupe_m, crs=crs)
    out = allp.iloc[kept].copy()
    merged: list[str] = []
    refs: list[Any] = []
    mws: list[Any] = []
    for k in kept:
        group = [k, *absorbed[k]]
        merged.append(";".join(allp.loc[group, "id"]))
        # the richest row keeps its position and name; fill the exit number and motorway from the others
        ref = next((allp.at[i, "exit_ref"] for i in group if allp.at[i, "exit_ref"]), "")
        mw = next((allp.at[i, "motorway"] for i in group if allp.at[i, "motorway"]), "")
        refs.append(ref)
        mws.append(mw)
    out["merged_sources"] = merged
    out["exit_ref"] = refs
    out["motorway"] = mws

    # one exit, two slip roads (one per direction) farther apart than dedupe_m: same
    # motorway and exit number within SAME_EXIT_M is one access point
    out = out.reset_index(drop=True)
    pts = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs=WGS84)
    key = (out["motorway"] + "|" + out["exit_ref"]).where(out["exit_ref"] != "", "id|" + out["id"])
    kept, absorbed = nearest_dedupe(
        pts,
        priority=out["_priority"].to_numpy(),
        distance_m=max(SAME_EXIT_M, dedupe_m),
        crs=crs,
        group=key.to_numpy(),
    )
    final = out.iloc[kept].copy()
    final["merged_sources"] = [";".join(out.loc[[k, *absorbed[k]], "merged_sources"]) for k in kept]
    named = final["exit_ref"] != ""
    is_toll = final["_priority"] == 0
    final.loc[named & is_toll, "name"] = (
        final["name"] + " (" + final["motorway"] + " exit " + final["exit_ref"] + ")"
    )[named & is_toll]
    final.loc[named & ~is_toll, "name"] = (final["motorway"] + " exit " + final["exit_ref"])[named & ~is_toll]
    return final


@lru_cache(maxsize=8)
def _build(territory: str, dedupe_m: float, stamp: tuple) -> gpd.GeoDataFrame:
    man = datasets.load_manifest(territory)
    box = bounds(territory)
    frames = [
        _airports(territory, box),
        _seaports(territory, box),
        _rail_stations(territory, box, man.departement),
        _motorway_access(territory, box, dedupe_m),
    ]
    df = pd.concat(frames, ignore_index=True)
    gdf = points(df, df["lon"].to_numpy(), df["lat"].to_numpy())

    from .municipalities import municipalities  # inside: the territory polygon

    munis = municipalities(territory)
    hit = gpd.sjoin(gdf[["geometry"]], munis[["insee", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    commune = hit["insee"].reindex(gdf.index)
    # a station's own commune code beats the generalised polygons near borders and coasts
    gdf["commune"] = gdf["commune"].where(gdf["commune"].notna() & (gdf["commune"] != ""), commune)
    gdf["in_territory"] = gdf["commune"].fillna("").astype(str).str.startswith(man.departement)
    return _finish(gdf, territory=territory)


def _finish(gdf: gpd.GeoDataFrame, *, territory: str, extra: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """Modes, column types, order (kind then id), airline routes and the :data:`COLUMNS` (+ ``extra``) of the layer.

    ``territory`` names the manifest holding the OpenFlights files.
    """
    for c in COLUMNS:
        if c not in gdf.columns:
            gdf[c] = pd.NA
    gdf["mode"] = gdf["kind"].map(MODES)
    for c in ("tgv", "ouigo"):
        gdf[c] = gdf[c].astype("boolean")
    # the one place where a gateway's group is decided; every consumer reads the column
    gdf["group"] = gdf["kind"].where(~(gdf["kind"].eq("rail_station") & gdf["tgv"].fillna(False)), "tgv_station")
    for c in (
        "name",
        "source",
        "caveat",
        "iata",
        "icao",
        "unlocode",
        "harbor_size",
        "harbor_type",
        "uic",
        "trigram",
        "drg_segment",
        "motorway",
        "exit_ref",
        "merged_sources",
        "commune",
    ):
        gdf[c] = gdf[c].astype("string")
    gdf["merged_sources"] = gdf["merged_sources"].fillna(gdf["id"])
    kind_order = {k: i for i, k in enumerate(KINDS)}
    gdf = gdf.assign(_k=gdf["kind"].map(kind_order)).sort_values(["_k", "id"], kind="stable")
    gdf = gdf.drop(columns=list(air_routes.COUNT_COLUMNS), errors="ignore").join(
        air_routes.route_counts(air_routes.airport_destinations(gdf, territory=territory), gdf.index)
    )
    cols = list(COLUMNS)
    return gdf[cols[:-1] + [c for c in extra if c in gdf.columns] + cols[-1:]]


def gateways(territory: str = "herault", *, dedupe_m: float = DEDUPE_M) -> gpd.GeoDataFrame:
    """Airports, seaports, rail stations and motorway access points of a territory.

    All gateways inside the territory's plausible bounds (``bounds_wgs84`` of its
    manifest) are kept; ``in_territory`` says which lie in the département.

    - **airports** (``airportsdata``): airports with an IATA code, i.e. commercial
      airports; small airfields without one are skipped. Hérault: Montpellier-Méditerranée
      (LFMT) and Béziers-Vias (LFMU); outside: Nîmes-Garons (LFTW), Carcassonne (LFMK).
      Perpignan (LFMP, 42.74 N) is outside the bounds.
    - **seaports** (NGA World Port Index): Sète; outside: Port-la-Nouvelle. Coordinates
      are rounded to about 0.02°, which ``caveat`` says.
    - **rail stations** (SNCF): every passenger station of the département (commune code
      starting with its code: 21 in Hérault) and the DRG segment A stations outside it
      (Nîmes, Nîmes-Pont-du-Gard, Narbonne, Carcassonne). ``ridership_<year>`` is the
      SNCF total of travellers joined on the UIC code; ``tgv`` is True when the station is
      an origin or destination of the TGV INOUI or OUIGO fare grid (UIC codes compared
      without leading zeros), ``ouigo`` for OUIGO (high-speed or classic).
    - **motorway access points**: toll interchanges (``typeGare`` "Ech"; the booths of
      both sides of a site averaged into one point; "Bpv" barriers are not access
      points), OSM ``highway=motorway_junction`` nodes of the three Montpellier Overpass
      files, and the visible exit waypoints of the Travel Mapping autoroute files (labels
      like ``28``, ``30a`` or ``39.1``; hidden ``+`` shaping points, route junctions such
      as ``A709`` and rest areas such as ``AireTav`` are not exits). Points of different
      sources closer than ``dedupe_m`` are one access point: the richest source is kept
      (toll interchange, then OSM, then Travel Mapping) and takes the exit number and
      motorway of the others; then points with the same motorway and exit number
      closer than :data:`SAME_EXIT_M` (the two slip roads of one exit) are merged too;
      ``merged_sources`` lists the ids merged.

    For a territory spec other than ``herault`` (a département, a list, ``epci:``,
    ``region:``, ``france``), the gateways come from the national files, in the territory
    and a 150 km buffer around it, abroad included, with the rules of
    :mod:`proximity.layers.national` (airports with an IATA code and airline routes;
    the extra columns ``country`` and ``routes_2014``).

    Parameters
    ----------
    territory : str
        Territory manifest name or spec (see :mod:`proximity.area`).
    dedupe_m : float
        Merge distance of motorway access points, in metres (default 500).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points indexed by ``id``, sorted by kind then id. Columns:

        - ``id`` (str): ``"<kind>:<code>"``, e.g. ``airport:LFMT``, ``seaport:FRSET``,
          ``rail_station:87773002``, ``motorway_access:toll:sete``,
          ``motorway_access:osm:104416628``, ``motorway_access:tm:A9-33``;
        - ``kind`` (str): airport, seaport, rail_station or motorway_access;
        - ``group`` (str): the kind, or ``tgv_station`` for a rail station with ``tgv``
          True (:data:`GROUPS`): the groups of nearest-facility tables and scores;
        - ``mode`` (str): air, sea, rail or road;
        - ``name`` (str); ``in_territory`` (bool); ``commune`` (str, INSEE code when in a
          commune of the territory or given by the source, else missing);
        - ``source``, ``caveat`` (str): origin and precision of the point;
        - ``iata``, ``icao`` (airports), ``unlocode``, ``harbor_size`` and ``harbor_type``
          (World Port Index, e.g. "Small", "Coastal (Breakwater)") (seaports);
        - ``destinations``, ``countries``, ``foreign_destinations`` (int; 0 for an airport
          absent from the routes and for every other kind), ``destination_codes`` (sorted,
          space-separated) and ``destinations_by_country`` (``"France: AJA CDG; Italy: FCO"``):
          the direct airline destinations of an airport in the OpenFlights June-2014
          snapshot (:mod:`proximity.layers.air_routes` gives the rules and the long table);
        - ``uic``, ``trigram``, ``drg_segment`` (A national, B regional, C local), ``tgv``,
          ``ouigo`` (boolean), ``ridership_2015`` … ``ridership_2024`` (Int64, SNCF total
          travellers; 0 before a station opened, e.g. Montpellier Sud de France in 2015) (stations);
        - ``motorway`` (e.g. "A9"), ``exit_ref``, ``merged_sources`` (motorway access);
        - ``geometry`` (Point).

    Raises
    ------
    DataFileError
        A source file is missing or lacks its expected columns.
    InputError
        ``dedupe_m`` is negative.

    Examples
    --------
    >>> from proximity.layers import gateways
    >>> g = gateways()
    >>> g.loc["airport:LFMT", "iata"], bool(g.loc["airport:LFMT", "in_territory"])
    ('MPL', True)
    >>> sorted(g[(g.kind == "rail_station") & g.in_territory & g.tgv]["name"])
    ['Agde', 'Béziers', 'Montpellier Saint-Roch', 'Montpellier Sud de France', 'Sète']
    """
    if not np.isfinite(dedupe_m) or dedupe_m < 0:
        raise InputError(f"dedupe_m must be a distance in metres >= 0, got {dedupe_m!r}")
    from . import national

    if national.is_spec(territory):
        gdf = national.gateways_for(territory, dedupe_m=float(dedupe_m))
        return validate_layer(
            gdf,
            "gateways",
            required_columns=COLUMNS,
            geom_types=["Point"],
            id_column="id",
            bounds_wgs84=bounds(territory),
        )
    stamp = tuple(
        str(datasets.path(k, territory)) for k in ("airports", "sncf_stations", "toll_stations", "openflights_routes")
    )
    gdf = _build(territory, float(dedupe_m), stamp).copy()
    return validate_layer(
        gdf,
        "gateways",
        required_columns=COLUMNS,
        geom_types=["Point"],
        id_column="id",
        bounds_wgs84=bounds(territory),
    )
