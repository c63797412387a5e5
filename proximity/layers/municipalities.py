"""Municipalities (communes): current codes, names, legal populations, EPCI membership."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from .. import datasets
from ..area import COMMUNE_COLUMNS
from ..errors import DataFileError
from ._common import WGS84, bounds, metric_crs
from ._validate import validate_layer

__all__ = ["municipalities", "COLUMNS"]

#: Columns of :func:`municipalities`, in order (besides the index ``insee``): those
#: :attr:`proximity.area.Area.communes` starts with, then ``geometry``.
COLUMNS = (*COMMUNE_COLUMNS, "geometry")


def _read_json(p: Path) -> list[dict]:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError(f"cannot read {p.name!r} ({exc}); reinstall it with `proximity data install`") from exc


@lru_cache(maxsize=4)
def _build(territory: str, poly_path: Path, cog_path: Path, epci_path: Path) -> gpd.GeoDataFrame:
    man = datasets.load_manifest(territory)
    dep = man.departement

    cog = [r for r in _read_json(cog_path) if r.get("type") == "commune-actuelle" and r.get("departement") == dep]
    if not cog:
        raise DataFileError(f"{cog_path.name!r} has no current commune of département {dep!r}; is it the right file?")
    current = {r["code"]: r for r in cog}

    polys = gpd.read_file(poly_path, engine="pyogrio")
    if polys.crs is None:  # GeoJSON without a crs member is WGS84 by definition (RFC 7946)
        polys = polys.set_crs(WGS84)
    polys = polys.to_crs(WGS84)
    if "code" not in polys.columns:
        raise DataFileError(f"{poly_path.name!r} has no 'code' property; expected INSEE commune codes")
    old = polys["code"].astype(str)

    # Communes merged since the polygons were drawn: old code -> current code (COG anciensCodes).
    remap = {a: r["code"] for r in cog for a in r.get("anciensCodes", []) if a in set(old) and a not in current}
    code = old.map(lambda c: remap.get(c, c))
    rows = []
    for c, grp in polys.assign(insee=code.to_numpy()).groupby("insee", sort=True):
        geom = grp.geometry.iloc[0] if len(grp) == 1 else shapely.union_all(grp.geometry.to_numpy())
        merged = ";".join(sorted(set(grp["code"].astype(str)) - {c}))
        rows.append((c, merged, geom))
    gdf = gpd.GeoDataFrame(rows, columns=["insee", "merged_from", "geometry"], geometry="geometry", crs=WGS84)

    poly_codes = set(gdf["insee"])
    no_poly = sorted(set(current) - poly_codes)
    no_cog = sorted(poly_codes - set(current))
    if no_poly or no_cog:
        raise DataFileError(
            f"commune codes do not join between {poly_path.name!r} and {cog_path.name!r}: "
            + (f"without polygon: {', '.join(no_poly[:10])}; " if no_poly else "")
            + (f"not a current commune: {', '.join(no_cog[:10])}; " if no_cog else "")
            + "map merged communes to their current code (anciensCodes) or use polygons of the same vintage"
        )

    members: dict[str, tuple[str, str, str, float]] = {}
    for e in _read_json(epci_path):
        for m in e.get("membres", []):
            if m.get("code") in current:
                members[m["code"]] = (str(e["code"]), e["nom"], e["type"], m.get("populationMunicipale"))
    no_epci = sorted(set(current) - set(members))
    if no_epci:
        raise DataFileError(
            f"{len(no_epci)} commune(s) of {cog_path.name!r} are in no EPCI of {epci_path.name!r} "
            f"({', '.join(no_epci[:10])}); use files of the same COG vintage"
        )

    ins = gdf["insee"]
    gdf["name"] = ins.map(lambda c: current[c]["nom"])
    gdf["population"] = ins.map(lambda c: int(current[c].get("population", 0))).astype("int64")
    gdf["population_prev"] = ins.map(lambda c: members[c][3]).astype("Int64")
    gdf["epci_siren"] = ins.map(lambda c: members[c][0])
    gdf["epci_name"] = ins.map(lambda c: members[c][1])
    gdf["epci_type"] = ins.map(lambda c: members[c][2])
    gdf["metropole"] = gdf["epci_type"].eq("METRO")
    gdf["area_km2"] = gdf.geometry.to_crs(metric_crs(territory)).area / 1e6
    gdf = gdf[list(COLUMNS)]
    gdf.index = pd.Index(gdf["insee"].to_numpy())  # unnamed: a name equal to a column breaks sjoin
    return gdf


def municipalities(territory: str = "herault") -> gpd.GeoDataFrame:
    """The territory's current communes with population and EPCI membership.

    Polygons are the 2018 IGN Admin Express COG (generalised) of
    ``datasets.path("communes_polygons")``; communes merged since then are dissolved into
    their current commune using the ``anciensCodes`` of the COG file (Hérault: 34093 →
    34144 Lunas-les-Châteaux and 34330 → 34246 Entre-Vignes, both 2019), giving 341
    communes. Names and legal populations come from ``communes.json`` (COG 2026,
    population municipale in force in 2026, probably census millésime 2023); EPCI
    membership and an older population vintage from ``epci.json``.

    For a territory spec other than ``herault`` (``"33"``, ``"34,30,11"``, ``"epci:…"``,
    ``"region:76"``, ``"france"``), the communes come from the national files with the
    geometry rule of :mod:`proximity.area` (merged and re-created communes), and three more
    columns: ``departement``, ``region`` and ``geometry_note``; communes in no EPCI (four
    islands) have empty EPCI columns.

    Parameters
    ----------
    territory : str
        Territory manifest name or spec (see :mod:`proximity.area`).

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one (Multi)Polygon per commune, indexed by the ``insee`` code (unnamed index). Columns:

        - ``insee`` (str): current INSEE commune code (also the index);
        - ``name`` (str): current name;
        - ``population`` (int): legal population (population municipale) of ``communes.json``;
        - ``population_prev`` (Int64): the population municipale of the ``epci.json`` member
          record, one vintage older (Montpellier 307,101 against 310,240); use the pair for growth;
        - ``epci_siren``, ``epci_name``, ``epci_type`` (str): the EPCI à fiscalité propre
          (type METRO, CU, CA or CC);
        - ``metropole`` (bool): member of a métropole (Hérault: Montpellier Méditerranée
          Métropole, SIREN 243400017, 31 communes);
        - ``merged_from`` (str): ``;``-separated older codes dissolved into the commune, or "";
        - ``area_km2`` (float): area of the generalised polygon, computed in the territory's
          projected CRS (EPSG:2154);
        - ``geometry``.

    Raises
    ------
    DataFileError
        A file is missing or unreadable, or a commune code does not join between the
        polygons, the COG file and the EPCI file.
    LayerValidationError
        The result fails :func:`validate_layer` (a corrupt file).

    Examples
    --------
    >>> from proximity.layers import municipalities
    >>> m = municipalities()
    >>> len(m), int(m["population"].sum()), int(m["metropole"].sum())
    (341, 1230289, 31)
    >>> m.loc["34172", "name"]
    'Montpellier'
    """
    from .national import is_spec, municipalities_for

    if is_spec(territory):
        return validate_layer(
            municipalities_for(territory),
            "municipalities",
            required_columns=COLUMNS,
            geom_types=["Polygon", "MultiPolygon"],
            id_column="insee",
            bounds_wgs84=bounds(territory),
        )
    gdf = _build(
        territory,
        datasets.path("communes_polygons", territory),
        datasets.path("communes_cog", territory),
        datasets.path("epci", territory),
    ).copy()
    return validate_layer(
        gdf,
        "municipalities",
        required_columns=COLUMNS,
        geom_types=["Polygon", "MultiPolygon"],
        id_column="insee",
        bounds_wgs84=bounds(territory),
    )
