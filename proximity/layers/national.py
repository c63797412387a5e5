"""Layers of any territory spec (a département, a list, an EPCI, a region, France) from the national files.

The layer functions (:func:`proximity.layers.municipalities`, :func:`~proximity.layers.gateways`,
:func:`~proximity.layers.support_bodies`) call these for a territory that is not a local
manifest (``herault`` keeps its own layers). The territory is resolved by
:func:`proximity.area.resolve`; gateways are taken in its outline and a distance buffer
of :data:`proximity.area.DEFAULT_BUFFER_KM` (150 km) around it, in France and abroad, so
that the network (which reaches 120 min of driving past the border) decides which are
reachable.

**Gateway rules.**

- **airports**: an aerodrome counts when it has an IATA code in ``airportsdata`` **and** at
  least one airline route from or to it in the OpenFlights route database (June 2014):
  commercial, scheduled service. IATA codes alone would add about 70 French aerodromes
  without airline service (air bases, aero clubs, altiports); the rule leaves out a few
  airports opened or reopened to airlines since 2014 (Chambéry, Grenoble are charter-only
  in the snapshot). Foreign airports in the buffer count the same way (Geneva for
  Haute-Savoie). Two records of one airport (EuroAirport: BSL and MLH, 0 m apart) are one
  gateway: within :data:`AIRPORT_SAME_M`, the one with more routes is kept.
  ``routes_2014`` holds the number of routes.
- **seaports**: every NGA World Port Index port in the buffer (coordinates rounded to
  ~0.02°).
- **rail stations**: every SNCF passenger station of the territory's communes, plus the DRG
  segment A (national) stations in the buffer; TGV/OUIGO flags from the fare grid, SNCF
  ridership 2015–2024 (French stations only: the SNCF files have no foreign station).
- **motorway access**: toll interchanges (DGITM 2024) and the exit waypoints of the Travel
  Mapping motorway systems (France ``fraa``; abroad ``bela``, ``chea``, ``deua``, ``espa``,
  ``itaa``, ``luxa``) in the buffer, merged as for Hérault (toll interchange first, then
  exits with the same motorway and number within 2 km).

**Support bodies.** Nationally: the public higher-education sites (MESR, ~2017) and the
main institutions (MESR, ~2025) in the territory and its buffer (like gateways).
Locally: the 2014 Montpellier establishments (chamber of commerce, foreign-trade
service …) when Montpellier is in the buffer and the Hérault files are installed. Plus the user's
own file. Categories absent from a territory make their indicators unavailable
(:func:`proximity.scores.unavailable_indicators`): they are dropped from the index, never
scored as zero.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import tarfile
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import area as area_mod
from .. import datasets
from ..errors import DataFileError
from ._common import WGS84, in_box, points

__all__ = [
    "is_spec",
    "municipalities_for",
    "gateways_for",
    "support_for",
    "AIRPORT_SAME_M",
    "MOTORWAY_SYSTEMS",
]

#: Two airport records closer than this are one airport (EuroAirport BSL/MLH).
AIRPORT_SAME_M = 3000.0
#: Travel Mapping systems whose exit waypoints are motorway access points.
MOTORWAY_SYSTEMS = ("fraa", "bela", "chea", "deua", "espa", "itaa", "luxa")
_COUNTRY = {"fra": "", "bel": "BE ", "che": "CH ", "deu": "DE ", "esp": "ES ", "ita": "IT ", "lux": "LU "}
_URL = re.compile(r"lat=(-?[\d.]+)&lon=(-?[\d.]+)")
_EXIT = r"^\d{1,3}[a-z]?(?:\.\d+)?$"
NATIONAL = area_mod.NATIONAL


def is_spec(territory: str) -> bool:
    """True when ``territory`` is a spec read from the national files, not a local manifest.

    ``herault`` (and any other ``proximity/territories/<name>.toml`` with a département)
    is a local manifest; ``france``, département codes, lists, ``epci:`` and ``region:``
    specs are not.
    """
    from importlib import resources

    t = str(territory).strip()
    if t.lower() == "france":
        return True
    toml = resources.files("proximity") / "territories" / f"{t}.toml"
    return not toml.is_file()


def municipalities_for(spec: str) -> gpd.GeoDataFrame:
    """The current communes of a spec (see :func:`proximity.area.resolve`)."""
    return area_mod.resolve(spec).communes


# ------------------------------------------------------------------ zone
def _zone(spec: str, buffer_km: float) -> tuple[shapely.Geometry, tuple[float, float, float, float]]:
    """The buffered outline in WGS84 (prepared) and its bounds."""
    a = area_mod.resolve(spec)
    z = gpd.GeoSeries([a.buffer(buffer_km)], crs=area_mod.CRS).to_crs(WGS84).iloc[0]
    shapely.prepare(z)
    x0, y0, x1, y1 = (float(v) for v in z.bounds)
    return z, (x0, y0, x1, y1)


def _in_zone(lon, lat, zone, box) -> np.ndarray:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    m = in_box(lon, lat, box) & np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(len(lon), dtype=bool)
    if m.any():
        out[m] = shapely.contains_xy(zone, lon[m], lat[m])
    return out


# ------------------------------------------------------------------ airports
@lru_cache(maxsize=2)
def _route_counts(path) -> pd.Series:
    try:
        r = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataFileError(
            f"cannot read {path.name!r} ({exc}); reinstall it with `proximity data install --territory france`"
        ) from exc
    if r.shape[1] < 5:
        raise DataFileError(f"{path.name!r} has {r.shape[1]} columns, expected the 9 of OpenFlights routes.dat")
    codes = pd.concat([r[2], r[4]])
    return codes[codes.str.len() == 3].value_counts()


def _airports(zone, box) -> pd.DataFrame:
    from .gateways import _need, _read_csv

    p = datasets.path("airports", NATIONAL)
    a = _read_csv(p)
    _need(a, ["icao", "iata", "name", "lat", "lon", "country"], p)
    routes = _route_counts(datasets.path("openflights_routes", NATIONAL))
    lat = pd.to_numeric(a["lat"], errors="coerce")
    lon = pd.to_numeric(a["lon"], errors="coerce")
    n_routes = a["iata"].map(routes).fillna(0).astype(int)
    keep = (a["iata"].str.len() == 3) & (n_routes > 0) & _in_zone(lon, lat, zone, box)
    a, lat, lon, n_routes = a[keep], lat[keep], lon[keep], n_routes[keep]
    df = pd.DataFrame(
        {
            "id": "airport:" + a["icao"],
            "kind": "airport",
            "name": a["name"],
            "commune": pd.NA,
            "source": "airportsdata; OpenFlights routes (2014)",
            "caveat": "aerodrome reference point, not the terminal; commercial service from the 2014 OpenFlights routes",
            "iata": a["iata"],
            "icao": a["icao"],
            "country": a["country"],
            "routes_2014": n_routes,
            "lon": lon,
            "lat": lat,
        }
    ).reset_index(drop=True)
    if len(df) < 2:
        return df
    # one airport, two records (EuroAirport BSL / MLH): keep the one with more routes
    xy = gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84).to_crs(area_mod.CRS)
    x, y = xy.x.to_numpy(), xy.y.to_numpy()
    order = np.lexsort((df["id"].to_numpy(), -df["routes_2014"].to_numpy()))
    kept: list[int] = []
    for i in order:
        if all(np.hypot(x[k] - x[i], y[k] - y[i]) > AIRPORT_SAME_M for k in kept):
            kept.append(int(i))
    return df.iloc[sorted(kept)]


# ------------------------------------------------------------------ seaports, stations, tolls
def _seaports(zone, box) -> pd.DataFrame:
    from .gateways import _seaport_rows

    ports = _seaport_rows(datasets.path("world_port_index", NATIONAL))
    keep = _in_zone(ports["lon"], ports["lat"], zone, box)
    return ports[keep].drop(columns="harbor_type").drop_duplicates("id")


def _rail(zone, box, communes: set[str]) -> pd.DataFrame:
    gw = importlib.import_module("proximity.layers.gateways")

    df = gw._rail_stations(NATIONAL, box, "")  # box only; commune filter below
    inside = df["commune"].isin(communes)
    keep = (inside | (df["drg_segment"] == "A")) & _in_zone(df["lon"], df["lat"], zone, box)
    return df[keep].drop(columns=["_inside"])


def _tolls(zone, box) -> pd.DataFrame:
    gw = importlib.import_module("proximity.layers.gateways")

    t = gw._tolls(NATIONAL, box)
    return t[_in_zone(t["lon"], t["lat"], zone, box)] if len(t) else t


@lru_cache(maxsize=2)
def _tm_exit_table(paths: tuple) -> pd.DataFrame:
    """Every visible exit waypoint of the motorway systems, read once from the two tarballs."""
    rows = []
    pat = re.compile(r"^hwy_data/[^/]+/(" + "|".join(MOTORWAY_SYSTEMS) + r")/([^/]+)\.wpt$")
    for tar in paths:
        try:
            with tarfile.open(tar, "r:gz") as tf:
                for m in tf:
                    mm = pat.match(m.name)
                    if not m.isfile() or mm is None:
                        continue
                    system, root = mm.group(1), mm.group(2)
                    route = root.split(".")[-1]
                    num = re.match(r"^([a-z]+)0*(\d+)([a-z]*)$", route)
                    mw = (num.group(1).upper() + num.group(2) + num.group(3).upper()) if num else route.upper()
                    mw = _COUNTRY.get(system[:3], "") + mw
                    fh = tf.extractfile(m)
                    if fh is None:  # not a regular file (excluded above)
                        continue
                    text = fh.read().decode("utf-8", errors="replace")
                    for line in text.splitlines():
                        parts = line.split()
                        if len(parts) < 2:
                            continue
                        label = parts[0]
                        if label[:1] in "+*" or re.fullmatch(_EXIT, label) is None:
                            continue
                        u = _URL.search(parts[-1])
                        if u is None:
                            continue
                        rows.append((mw, label, float(u.group(2)), float(u.group(1)), system))
        except (OSError, tarfile.TarError) as exc:
            raise DataFileError(f"cannot read Travel Mapping archive {tar.name!r} ({exc}); reinstall it") from exc
    return pd.DataFrame(rows, columns=["motorway", "exit_ref", "lon", "lat", "system"])


def _tm_exits(zone, box) -> pd.DataFrame:
    paths = (datasets.path("travelmapping_fra", NATIONAL), datasets.path("travelmapping_neighbours", NATIONAL))
    t = _tm_exit_table(paths)
    t = t[_in_zone(t["lon"], t["lat"], zone, box)]
    ids = "motorway_access:tm:" + t["motorway"].str.replace(" ", "-") + "-" + t["exit_ref"]
    out = pd.DataFrame(
        {
            "id": ids,
            "kind": "motorway_access",
            "name": t["motorway"] + " exit " + t["exit_ref"],
            "source": "Travel Mapping waypoint",
            "caveat": "exit waypoint on the motorway centre line",
            "motorway": t["motorway"],
            "exit_ref": t["exit_ref"],
            "lon": t["lon"],
            "lat": t["lat"],
            "_priority": 2,
        }
    )
    # one id per motorway and exit number (a few routes list an exit twice: keep the first)
    return out.drop_duplicates("id").reset_index(drop=True)


def gateways_for(spec: str, *, dedupe_m: float, buffer_km: float = area_mod.DEFAULT_BUFFER_KM) -> gpd.GeoDataFrame:
    """Gateways of a spec territory and its buffer (see the module docstring for the rules).

    Parameters
    ----------
    spec : str
        Territory spec (see :mod:`proximity.area`).
    dedupe_m : float
        Merge distance of motorway access points, in metres.
    buffer_km : float
        Distance buffer around the outline in which gateways count.

    Returns
    -------
    GeoDataFrame
        The columns of :func:`proximity.layers.gateways` plus ``country`` and
        ``routes_2014`` (airports).
    """
    return _gateways_cached(spec, float(dedupe_m), float(buffer_km)).copy()


@lru_cache(maxsize=8)
def _gateways_cached(spec: str, dedupe_m: float, buffer_km: float) -> gpd.GeoDataFrame:
    gw = importlib.import_module("proximity.layers.gateways")

    a = area_mod.resolve(spec)
    zone, box = _zone(spec, buffer_km)
    communes = set(a.communes.index)
    access = gw._merge_access(
        [df for df in (_tolls(zone, box), _tm_exits(zone, box)) if len(df)], dedupe_m, area_mod.CRS
    )
    frames = [_airports(zone, box), _seaports(zone, box), _rail(zone, box, communes), access]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True)
    gdf = points(df, df["lon"].to_numpy(), df["lat"].to_numpy())
    # commune: the station's own code, else the commune polygon containing the point
    hit = gpd.sjoin(gdf[["geometry"]], a.communes[["insee", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    poly = hit["insee"].reindex(gdf.index)
    own = gdf["commune"] if "commune" in gdf else pd.Series(pd.NA, index=gdf.index)
    gdf["commune"] = own.where(own.notna() & (own.astype("string") != ""), poly)
    inside = gdf["commune"].isin(communes)
    # a point of the territory's polygons whose own commune is elsewhere (coast, border) stays inside
    gdf["in_territory"] = (inside | poly.notna()).astype(bool)
    if "country" not in gdf:
        gdf["country"] = pd.NA
    gdf["country"] = gdf["country"].astype("string")
    fr = gdf["kind"].isin(["rail_station"]) | gdf["id"].str.startswith("motorway_access:toll:")
    gdf.loc[fr, "country"] = "FR"
    return gw._finish(gdf, territory=NATIONAL, extra=("country", "routes_2014"))


# ------------------------------------------------------------------ support bodies
def support_for(spec: str, *, dedupe_m: float, buffer_km: float = area_mod.DEFAULT_BUFFER_KM) -> gpd.GeoDataFrame:
    """Support bodies of a spec territory and its buffer (national higher education + Montpellier 2014).

    Like gateways, bodies beyond the border count (a university 20 minutes away in the next
    département serves the territory's firms): the higher-education rows of every
    département the buffered outline touches are read and kept inside the buffer, so that
    a commune's support indicators do not depend on which territory it is loaded with.

    Parameters
    ----------
    spec : str
        Territory spec (see :mod:`proximity.area`).
    dedupe_m : float
        Distance under which two sources' points of one category are one body, in metres.
    buffer_km : float
        Distance buffer around the outline in which bodies count.

    Returns
    -------
    GeoDataFrame
        The columns of :func:`proximity.layers.support_bodies`.
    """
    return _support_cached(spec, float(dedupe_m), float(buffer_km)).copy()


@lru_cache(maxsize=8)
def _support_cached(spec: str, dedupe_m: float, buffer_km: float) -> gpd.GeoDataFrame:
    sp = importlib.import_module("proximity.layers.support")

    a = area_mod.resolve(spec)
    zone, box = _zone(spec, buffer_km)
    outlines = area_mod._departement_outlines()
    buf = a.buffer(buffer_km)
    deps = sorted(d for d, g in zip(outlines.index, outlines.geometry, strict=True) if g.intersects(buf))
    frames = []
    for d in deps:
        frames += [sp._esr_sites(NATIONAL, d), sp._esr_institutions(NATIONAL, d)]
    if shapely.contains_xy(zone, 3.8767, 43.6108):  # Montpellier in the buffer: its 2014 city layer
        with contextlib.suppress(DataFileError):  # the Hérault files are not installed: national layers only
            frames.append(sp._montpellier_2014("herault"))
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype="object") for c in sp.COLUMNS if c != "geometry"},
            geometry=gpd.GeoSeries([], crs=WGS84),
            crs=WGS84,
        )
    df = pd.concat(frames, ignore_index=True)
    df = df[_in_zone(df["lon"].to_numpy(float), df["lat"].to_numpy(float), zone, box)]
    df = df.drop_duplicates("id")
    df = sp._dedupe_across_sources(df.reset_index(drop=True), area_mod.CRS, dedupe_m)
    df["capacity"] = 1.0
    df["students"] = df["students"].astype(float)
    gdf = points(df, df["lon"].to_numpy(), df["lat"].to_numpy())
    cat_order = {c: i for i, c in enumerate(sp.CATEGORIES)}
    gdf = gdf.assign(_c=gdf["category"].map(cat_order)).sort_values(["_c", "id"], kind="stable")
    return gdf[list(sp.COLUMNS)]
