"""Business parks (ZAC activity parks of Montpellier, 2014): candidate incubator sites."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .. import datasets
from ._validate import validate_layer

__all__ = ["business_parks", "BUSINESS_PARK_NAMES"]

#: ZACs of the city of Montpellier that are business/activity parks by name and purpose
#: (SOURCES.md); the others are housing-led mixed-use zones.
BUSINESS_PARK_NAMES = ("Garosud", "Eurêka", "Parc 2000", "Euromédecine", "Odysseum", "Parc Marianne")


def business_parks(territory: str = "herault", *, all_zones: bool = False) -> gpd.GeoDataFrame:
    """Business parks of Montpellier from the 2014 ZAC perimeters.

    The file's coordinates are Lambert-93 although it declares no CRS (read as degrees by
    GDAL): they are re-labelled EPSG:2154, invalid polygons repaired (``make_valid``), and
    the parks whose names are in :data:`BUSINESS_PARK_NAMES` kept (all 35 zones with
    ``all_zones=True``, flagged in ``business_park``). Old (2014) and city-only: say so.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, indexed by ``id`` (``zac:<n>``): ``name``, ``business_park``, ``created``,
        ``area_m2``, ``source``, ``vintage``, ``caveat``.
    """
    from .national import is_spec

    if is_spec(territory):  # the ZAC file covers the city of Montpellier only
        from .. import area

        if "34172" not in area.resolve(territory).communes.index:
            return gpd.GeoDataFrame(
                {
                    c: pd.Series(dtype="object")
                    for c in ("id", "name", "business_park", "created", "area_m2", "source", "vintage", "caveat")
                },
                geometry=gpd.GeoSeries([], crs="EPSG:4326"),
                crs="EPSG:4326",
            )
        territory = "herault"
    raw = gpd.read_file(datasets.path("montpellier_zac", territory), engine="pyogrio")
    raw = raw.set_crs("EPSG:2154", allow_override=True)
    raw["geometry"] = raw.geometry.make_valid()
    names = raw["NOMZAC"].astype(str).str.replace(r"^ZAC\s*", "", regex=True).str.strip()
    is_park = names.map(lambda n: any(k.lower() in n.lower() for k in BUSINESS_PARK_NAMES))
    df = pd.DataFrame(
        {
            "id": [f"zac:{i}" for i in range(len(raw))],
            "name": names,
            "business_park": is_park.to_numpy(),
            "created": raw["CREATION"].astype(str),
            "area_m2": raw.geometry.area.round(0),
            "source": "Ville de Montpellier open data (ZAC, 2014)",
            "vintage": "2014",
            "caveat": "2014 ZAC perimeters of the city of Montpellier only; not the parks of the rest of Hérault",
        }
    )
    gdf = gpd.GeoDataFrame(df, geometry=raw.geometry.to_numpy(), crs="EPSG:2154").to_crs("EPSG:4326")
    gdf.index = pd.Index(gdf["id"].to_numpy())
    if not all_zones:
        gdf = gdf[gdf["business_park"]]
    man = datasets.load_manifest(territory)
    return validate_layer(
        gdf,
        "business_parks",
        required_columns=["id", "name"],
        geom_types=["Polygon", "MultiPolygon"],
        id_column="id",
        bounds_wgs84=man.bounds_wgs84,
    )
