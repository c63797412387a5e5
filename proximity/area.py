"""What a territory is: a spec resolved into départements, current communes and an outline.

A territory is given by a short **spec** (the ``--territory`` option of every command and
the first argument of :func:`proximity.territory.load_territory`):

============================  ===============================================================
spec                          territory
============================  ===============================================================
``herault``                   Hérault (the default territory, with its local extras)
``33``, ``2A``, ``5``         one metropolitan département (``5`` is read ``05``)
``34,30,11``                  several départements
``epci:243400017``            an EPCI à fiscalité propre, by SIREN (its member communes)
``region:76``                 a metropolitan region, by INSEE code (its départements)
``france``                    metropolitan France, Corsica included (96 départements)
============================  ===============================================================

:func:`resolve` turns a spec into an :class:`Area`: its name, label, départements, the
**current** communes (COG 2026 of ``communes.json``) with their population, EPCI and
geometry, and the territory's outline as one geometry in EPSG:2154 (the network of a
territory is built on that outline and a buffer around it).

**Commune geometry rule.** The polygons are IGN Admin Express COG 2018 (generalised),
older than the COG 2026 codes. Each current commune gets:

1. its own 2018 polygon when its code has one, united with the 2018 polygons of its
   ``anciensCodes`` that are no longer communes (communes merged since 2018, e.g.
   34093 → 34144 Lunas-les-Châteaux; the polygon of a former commune may come from
   another département's file, e.g. 49144 → 44180);
2. otherwise the union of its ``anciensCodes``' 2018 polygons (a commune nouvelle created
   since 2018 under a new code, e.g. 49126 Orée d'Anjou);
3. a commune **re-created** since 2018 (split out of a commune nouvelle whose 2018 polygon
   covers it; the boundary between them is not in the data) **shares** the 2018 polygon of
   its former commune nouvelle with it (:data:`RECREATED`: 14666 Sannerville and 14712
   Troarn share the polygon of 2018's "Saline"; 15031, 15035, 15047, 15171 and 15141 the
   polygon of "Neussargues en Pinatelle"; 85165 and 85212 and 85084 "Essarts en Bocage").
   Their ``area_km2`` is the shared polygon's area split in proportion to population (so
   that areas add up), and ``geometry_note`` says so. A commune with no polygon under
   these rules raises :class:`~proximity.errors.DataFileError` naming it.

Communes in no EPCI (the islands Bréhat, Sein, Ouessant, Yeu, exempt by law) have empty
EPCI columns, not an error.

Examples
--------
>>> from proximity import area
>>> a = area.resolve("2A")
>>> a.name, a.departements, len(a.communes)
('dep-2A', ('2A',), 124)
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from . import datasets
from .errors import DataFileError, InputError

__all__ = [
    "Area",
    "resolve",
    "parse_spec",
    "communes_of",
    "metro_departements",
    "buffer_outline",
    "RECREATED",
    "DEFAULT_BUFFER_KM",
    "NATIONAL",
    "CRS",
    "COLUMNS",
    "COMMUNE_COLUMNS",
    "SPEC_FORMS",
]

#: Manifest whose files every spec reads.
NATIONAL = "france"
#: Projected CRS of outlines and distances.
CRS = "EPSG:2154"
WGS84 = "EPSG:4326"
#: Default distance buffer around a territory's outline, in km, for the gateways that
#: count (until the network decides reachability).
DEFAULT_BUFFER_KM = 150.0
#: Accepted spec forms, for error messages and help texts.
SPEC_FORMS = (
    "herault, a département code (33, 2A), a comma list (34,30,11), "
    "epci:<SIREN> (epci:243400017), region:<INSEE code> (region:76) or france"
)
#: Communes re-created since the 2018 polygons -> the code of the 2018 polygon (their
#: former commune nouvelle, still a current commune under that code) that covers them.
#: From the INSEE COG history: Saline (14712, 2017) was dissolved in 2020 into Troarn
#: (14712) and Sannerville (14666); Neussargues en Pinatelle (15141, 2017) gave back Celles,
#: Chalinargues, Chavagnac and Sainte-Anastasie in 2025; Essarts en Bocage (85084, 2016)
#: gave back L'Oie and Sainte-Florence in 2024.
RECREATED: dict[str, str] = {
    "14666": "14712",
    "15031": "15141",
    "15035": "15141",
    "15047": "15141",
    "15171": "15141",
    "85165": "85084",
    "85212": "85084",
}

#: Commune columns shared with ``layers.municipalities`` (whose ``COLUMNS`` are these and
#: ``geometry``), kept here because the layers import this module, not the reverse.
COMMUNE_COLUMNS = (
    "insee",
    "name",
    "population",
    "population_prev",
    "epci_siren",
    "epci_name",
    "epci_type",
    "metropole",
    "merged_from",
    "area_km2",
)
#: Columns of :attr:`Area.communes`: :data:`COMMUNE_COLUMNS`, then the spec-level ones.
COLUMNS = (*COMMUNE_COLUMNS, "departement", "region", "geometry_note", "geometry")


@dataclass(frozen=True, eq=False)
class Area:
    """A resolved territory spec (see the module docstring)."""

    spec: str
    #: Short id usable in file names and cache keys: ``herault``, ``dep-33``,
    #: ``deps-11-30-34``, ``epci-243400017``, ``region-76``, ``france``.
    name: str
    label: str
    kind: str  # herault, departement, departements, epci, region, france
    departements: tuple[str, ...]
    #: Current communes, EPSG:4326, indexed by INSEE code (columns :data:`COLUMNS`).
    communes: gpd.GeoDataFrame
    #: The territory as one (Multi)Polygon in EPSG:2154.
    outline: BaseGeometry

    @property
    def crs(self) -> str:
        return CRS

    def buffer(self, km: float = DEFAULT_BUFFER_KM) -> BaseGeometry:
        """The outline grown by ``km`` kilometres (EPSG:2154)."""
        return buffer_outline(self.outline, km=km)

    def bounds_wgs84(self, km: float = DEFAULT_BUFFER_KM) -> tuple[float, float, float, float]:
        """(lon_min, lat_min, lon_max, lat_max) of the buffered outline."""
        g = gpd.GeoSeries([self.buffer(km)], crs=CRS).to_crs(WGS84)
        x0, y0, x1, y1 = g.total_bounds
        return (float(x0), float(y0), float(x1), float(y1))


def buffer_outline(outline: BaseGeometry, *, km: float = DEFAULT_BUFFER_KM) -> BaseGeometry:
    """A distance buffer of an EPSG:2154 outline, simplified to 1 km (a few hundred vertices)."""
    if not np.isfinite(km) or km < 0:
        raise InputError(f"buffer distance must be >= 0 km, got {km!r}")
    if km == 0:
        return outline
    return shapely.simplify(shapely.buffer(outline, km * 1000.0, quad_segs=4), 1000.0)


# ------------------------------------------------------------------ national tables
def _read_json(p: Path):
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError(
            f"cannot read {p.name!r} ({exc}); reinstall it with `proximity data install --territory france`"
        ) from exc


@lru_cache(maxsize=2)
def _cog(path: Path) -> dict[str, dict]:
    """Current metropolitan communes of ``communes.json`` by code."""
    return {
        r["code"]: r
        for r in _read_json(path)
        if r.get("type") == "commune-actuelle" and r.get("zone", "metro") == "metro"
    }


@lru_cache(maxsize=2)
def _epci_members(path: Path) -> dict[str, tuple[str, str, str, int | None]]:
    out: dict[str, tuple[str, str, str, int | None]] = {}
    for e in _read_json(path):
        for m in e.get("membres", []):
            out[m["code"]] = (str(e["code"]), e["nom"], e["type"], m.get("populationMunicipale"))
    return out


@lru_cache(maxsize=2)
def _epci_table(path: Path) -> dict[str, dict]:
    return {str(e["code"]): e for e in _read_json(path)}


@lru_cache(maxsize=1)
def metro_departements() -> dict[str, dict]:
    """The 96 metropolitan départements of the COG, by code (``{"34": {"nom": …, "region": …}}``)."""
    rows = _read_json(datasets.path("departements_cog", NATIONAL))
    return {r["code"]: r for r in rows if r.get("zone") == "metro"}


@lru_cache(maxsize=1)
def _regions() -> dict[str, dict]:
    rows = _read_json(datasets.path("regions_cog", NATIONAL))
    return {r["code"]: r for r in rows if r.get("zone") == "metro"}


_POLY_CACHE: dict[str, gpd.GeoDataFrame] = {}


def _polygons_2018(deps: set[str]) -> gpd.GeoDataFrame:
    """2018 commune polygons (code, nom, geometry; EPSG:4326) of some départements, from the tarball.

    One pass over the tarball reads every member not cached yet; members are cached per
    département for the process.
    """
    need = sorted(d for d in deps if d not in _POLY_CACHE)
    if need:
        tar = datasets.path("communes_polygons_fr", NATIONAL)
        want = set(need)
        try:
            with tarfile.open(tar, "r:gz") as tf:
                for m in tf:
                    mm = re.match(r"departements/([0-9AB]{2,3})-[^/]+/communes-\1-[^/]+\.geojson$", m.name)
                    if not m.isfile() or mm is None or mm.group(1) not in want:
                        continue
                    fh = tf.extractfile(m)
                    if fh is None:  # not a regular file (excluded above)
                        continue
                    doc = json.load(fh)
                    feats = doc.get("features", [])
                    gdf = gpd.GeoDataFrame.from_features(feats, crs=WGS84)
                    gdf["code"] = gdf["code"].astype(str)
                    _POLY_CACHE[mm.group(1)] = gdf[["code", "nom", "geometry"]]
        except (OSError, tarfile.TarError, ValueError) as exc:
            raise DataFileError(
                f"cannot read the commune polygons tarball {tar.name!r} ({exc}); reinstall it with "
                "`proximity data install --territory france`"
            ) from exc
        missing = [d for d in need if d not in _POLY_CACHE]
        if missing:
            raise DataFileError(
                f"the commune polygons tarball {tar.name!r} has no file for département(s) {', '.join(missing)}; "
                "is it the expected file?"
            )
    parts = [_POLY_CACHE[d] for d in sorted(deps)]
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else gpd.GeoDataFrame(columns=["code", "nom", "geometry"], crs=WGS84)
    )


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    """The polygonal part of a repaired geometry (make_valid may add stray lines)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def _dep_of(code: str) -> str:
    """Département of a commune code (``2A004`` → ``2A``; old Corsican ``20xxx`` → ``20``)."""
    return code[:2]


def communes_of(departements: tuple[str, ...] | list[str], *, only: set[str] | None = None) -> gpd.GeoDataFrame:
    """The current communes of some départements (or only the codes in ``only``), with geometry.

    See the module docstring for the geometry rule. Columns :data:`COLUMNS`, EPSG:4326,
    indexed by INSEE code, sorted by code.

    Raises
    ------
    DataFileError
        A national file is missing, or a current commune has no geometry under the rule.
    """
    deps = tuple(departements)
    key = (deps, tuple(sorted(only)) if only is not None else None)
    return _communes_cached(key, datasets.path("communes_cog", NATIONAL), datasets.path("epci", NATIONAL)).copy()


@lru_cache(maxsize=16)
def _communes_cached(key, cog_path: Path, epci_path: Path) -> gpd.GeoDataFrame:
    deps, only = key
    cog = _cog(cog_path)
    depset = set(deps)
    current = {c: r for c, r in cog.items() if r.get("departement") in depset and (only is None or c in only)}
    # parents of re-created communes, and former communes whose polygon lies in another file
    files = set(depset)
    for c, r in current.items():
        for a in r.get("anciensCodes", []):
            if a not in cog:
                files.add(_dep_of(a))
        if c in RECREATED:
            files.add(_dep_of(RECREATED[c]))
    metro = set(metro_departements())
    polys = _polygons_2018({d for d in files if d in metro})
    by_code = dict(zip(polys["code"], polys.geometry, strict=True))

    # sharing groups: parent code -> the current communes that share its 2018 polygon
    share: dict[str, list[str]] = {}
    for c, p in RECREATED.items():
        if c in cog:
            share.setdefault(p, [p]).append(c)

    rows = []
    missing = []
    for c in sorted(current):
        r = current[c]
        gone = [a for a in r.get("anciensCodes", []) if a not in cog and a in by_code]
        note = "2018 polygon"
        if c in RECREATED:
            parent = RECREATED[c]
            geoms = [by_code[parent]] if parent in by_code else []
            group = share.get(parent, [parent, c])
            note = (
                f"2018 polygon of {parent} shared with {', '.join(x for x in group if x != c)} (re-created since 2018)"
            )
        elif c in share:
            geoms = [by_code[c]] if c in by_code else []
            note = f"2018 polygon shared with {', '.join(x for x in share[c] if x != c)} (re-created since 2018)"
        else:
            geoms = ([by_code[c]] if c in by_code else []) + [by_code[a] for a in gone]
            if gone:
                note = "union of the 2018 polygons of " + ", ".join(([c] if c in by_code else []) + gone)
        if not geoms:
            missing.append(c)
            continue
        geom = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
        if not shapely.is_valid(geom):  # one 2018 polygon (14174) self-intersects after simplification
            geom = _polygonal(shapely.make_valid(geom))
        rows.append((c, ";".join(sorted(gone)), note, geom))
    if missing:
        raise DataFileError(
            f"{len(missing)} current commune(s) have no 2018 polygon, no former commune with one and no entry in "
            f"area.RECREATED: {', '.join(missing[:10])}; add their 2018 parent to area.RECREATED"
        )
    gdf = gpd.GeoDataFrame(
        rows, columns=["insee", "merged_from", "geometry_note", "geometry"], geometry="geometry", crs=WGS84
    )
    members = _epci_members(epci_path)
    ins = gdf["insee"]
    gdf["name"] = ins.map(lambda c: cog[c]["nom"])
    gdf["population"] = ins.map(lambda c: int(cog[c].get("population", 0) or 0)).astype("int64")
    gdf["population_prev"] = ins.map(lambda c: members[c][3] if c in members else None).astype("Int64")
    gdf["epci_siren"] = ins.map(lambda c: members[c][0] if c in members else "")
    gdf["epci_name"] = ins.map(lambda c: members[c][1] if c in members else "")
    gdf["epci_type"] = ins.map(lambda c: members[c][2] if c in members else "")
    gdf["metropole"] = gdf["epci_type"].eq("METRO")
    gdf["departement"] = ins.map(lambda c: cog[c]["departement"])
    gdf["region"] = ins.map(lambda c: cog[c].get("region", ""))
    area = gdf.geometry.to_crs(CRS).area.to_numpy() / 1e6
    # a shared polygon's area is split in proportion to population (at least 1 inhabitant each)
    for group in share.values():
        idx = gdf.index[gdf["insee"].isin(group)]
        if len(idx) > 1:
            w = np.maximum(gdf.loc[idx, "population"].to_numpy(dtype=float), 1.0)
            area[idx] = area[idx] * w / w.sum()
    gdf["area_km2"] = area
    gdf = gdf[list(COLUMNS)]
    gdf.index = pd.Index(gdf["insee"].to_numpy())
    return gdf


# ------------------------------------------------------------------ specs
def _bad(spec: str, why: str) -> InputError:
    return InputError(f"territory {spec!r} is not understood ({why}); accepted forms: {SPEC_FORMS}")


def _dep_code(spec: str, tok: str, metro: dict[str, dict]) -> str:
    t = tok.strip().upper()
    if t.isdigit() and len(t) == 1:
        t = "0" + t
    if t not in metro:
        raise _bad(spec, f"{tok.strip()!r} is not a metropolitan département code")
    return t


def parse_spec(spec: str) -> tuple[str, tuple[str, ...], str, str]:
    """Check a spec and return ``(kind, départements, name, label)`` without reading polygons.

    Raises
    ------
    InputError
        The spec is none of the accepted forms (the message names it and lists them).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise _bad(str(spec), "empty")
    s = spec.strip()
    low = s.lower()
    metro = metro_departements()
    if low in ("herault", "hérault"):
        return "herault", ("34",), "herault", "Hérault (34), France"
    if low == "france":
        return "france", tuple(sorted(metro)), "france", "France métropolitaine"
    if low.startswith("epci:"):
        siren = s[5:].strip()
        table = _epci_table(datasets.path("epci", NATIONAL))
        if not re.fullmatch(r"\d{9}", siren):
            raise _bad(spec, "an EPCI is given by its 9-digit SIREN")
        if siren not in table:
            raise _bad(spec, f"no EPCI with SIREN {siren} in epci.json")
        e = table[siren]
        cog = _cog(datasets.path("communes_cog", NATIONAL))
        deps = tuple(sorted({cog[m["code"]]["departement"] for m in e["membres"] if m["code"] in cog}))
        if not deps or any(d not in metro for d in deps):
            raise _bad(spec, f"EPCI {siren} is not in metropolitan France")
        return "epci", deps, f"epci-{siren}", f"{e['nom']} (EPCI {siren})"
    if low.startswith("region:"):
        code = s[7:].strip()
        regions = _regions()
        if code not in regions:
            raise _bad(spec, f"{code!r} is not a metropolitan region code ({', '.join(sorted(regions))})")
        deps = tuple(sorted(d for d, r in metro.items() if r.get("region") == code))
        return "region", deps, f"region-{code}", f"{regions[code]['nom']} (région {code})"
    if ":" in s:
        raise _bad(spec, f"unknown prefix {s.split(':', 1)[0]!r}")
    toks = s.split(",")
    if any(not t.strip() for t in toks):
        raise _bad(spec, "empty item in the list")
    deps_l: list[str] = []
    for t in toks:
        d = _dep_code(spec, t, metro)
        if d not in deps_l:
            deps_l.append(d)
    deps = tuple(sorted(deps_l))
    if len(deps) == 1:
        d = deps[0]
        return "departement", deps, f"dep-{d}", f"{metro[d]['nom']} ({d})"
    return "departements", deps, "deps-" + "-".join(deps), ", ".join(f"{metro[d]['nom']} ({d})" for d in deps)


@lru_cache(maxsize=1)
def _departement_outlines() -> gpd.GeoDataFrame:
    p = datasets.path("departements_polygons", NATIONAL)
    g = gpd.read_file(p, engine="pyogrio")
    if g.crs is None:
        g = g.set_crs(WGS84)
    g["code"] = g["code"].astype(str)
    return g.to_crs(CRS).set_index("code")


def resolve(spec: str = "herault") -> Area:
    """Resolve a territory spec into an :class:`Area` (cached per spec).

    Raises
    ------
    InputError
        The spec is not one of the accepted forms.
    DataFileError
        A national file is missing (install them with ``proximity data install --territory france``).
    """
    kind, deps, name, label = parse_spec(spec)
    return _resolve(kind, deps, name, label, spec.strip())


@lru_cache(maxsize=8)
def _resolve(kind: str, deps: tuple[str, ...], name: str, label: str, spec: str) -> Area:
    only = None
    if kind == "epci":
        e = _epci_table(datasets.path("epci", NATIONAL))[name.split("-", 1)[1]]
        only = {m["code"] for m in e["membres"]}
    communes = communes_of(deps, only=only)
    if kind == "epci":
        outline = shapely.union_all(communes.geometry.to_crs(CRS).to_numpy())
    else:
        outlines = _departement_outlines()
        outline = shapely.union_all(outlines.loc[list(deps)].geometry.to_numpy())
    outline = shapely.make_valid(outline)
    return Area(spec=spec, name=name, label=label, kind=kind, departements=deps, communes=communes, outline=outline)
