"""What-if: a planned site added to the support-body layer, so that the milieu index can be
recomputed with it."""

from __future__ import annotations

import contextlib
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import ConfigError, CRSError, InputError
from ..layers import CATEGORIES
from ._checks import WGS84, _finite, _is_number


def add_site_as_support(
    support_bodies: gpd.GeoDataFrame,
    site: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Point | tuple[float, float],
    *,
    category: str = "incubator",
    name: str | None = None,
    body_id: str | None = None,
    capacity: float = 1.0,
) -> gpd.GeoDataFrame:
    """A copy of the support-body layer with a planned site appended (what-if).

    Recompute the milieu index on the result to see what the incubator would add.

    Parameters
    ----------
    support_bodies : GeoDataFrame
        The layer (e.g. :func:`proximity.layers.support_bodies`), with a CRS and unique
        ids. It is not modified.
    site : one-row GeoDataFrame or GeoSeries, shapely Point or (lon, lat)
        Where the site is: a row of :func:`candidate_sites` (``sites.loc[["grid:..."]]``)
        or any point layer with a CRS; a bare Point or tuple is longitude/latitude.
    category : str, default "incubator"
        A key of :data:`proximity.layers.CATEGORIES`.
    name : str, optional
        Default: ``"Planned <category> (<site name or id>)"``.
    body_id : str, optional
        The new row's ``id``. Default: ``"planned:<site id>"`` (``planned:1``, ``planned:2``… for a bare point),
        made unique. A given id must not exist in the layer.
    capacity : float, default 1
        The body's relative weight in the scores (>= 0).

    Returns
    -------
    GeoDataFrame
        ``support_bodies`` plus one row, in its CRS, indexed by ``id`` (when the layer
        has an ``id`` column; otherwise by its index). Columns the layer has and the new
        row lacks are filled with ``source = "planned"``, ``vintage = ""``, ``caveat =
        "planned site, not an existing body"``, ``students = NaN``, ``duplicates = ""``,
        else missing.

    Raises
    ------
    InputError
        ``site`` is not one point, a bad ``capacity`` or an id already used.
    ConfigError
        ``category`` is not a known category.
    CRSError
        ``support_bodies`` or ``site`` has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> bodies = gpd.GeoDataFrame(
    ...     {"id": ["cci"], "name": ["CCI"], "category": ["chamber_of_commerce"]},
    ...     geometry=[Point(3.88, 43.61)],
    ...     crs=4326,
    ...     index=["cci"],
    ... )
    >>> add_site_as_support(bodies, (3.96, 43.58)).loc["planned:1", ["name", "category"]].tolist()
    ['Planned incubator (3.96000, 43.58000)', 'incubator']
    """
    if not isinstance(support_bodies, gpd.GeoDataFrame):
        raise InputError(f"support_bodies must be a GeoDataFrame, got {type(support_bodies).__name__}")
    if support_bodies.crs is None:
        raise CRSError("support_bodies has no CRS; set it, e.g. .set_crs('EPSG:4326')")
    if category not in CATEGORIES:
        raise ConfigError(f"category {category!r} is not a support-body category; allowed: {', '.join(CATEGORIES)}")
    cap = _finite("capacity", capacity)
    label: str | None = None
    site_id: str | None = None
    if isinstance(site, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if len(site) != 1:
            raise InputError(
                f"site must hold exactly one point, got {len(site)} rows; select one, e.g. sites.loc[[best_id]]"
            )
        if site.crs is None:
            raise CRSError("site has no CRS; set it, e.g. .set_crs('EPSG:4326')")
        geom = gpd.GeoSeries(site.geometry, crs=site.crs).to_crs(support_bodies.crs).iloc[0]
        site_id = (
            str(site["id"].iloc[0])
            if isinstance(site, gpd.GeoDataFrame) and "id" in site.columns
            else str(site.index[0])
        )
        label = str(site["name"].iloc[0]) if isinstance(site, gpd.GeoDataFrame) and "name" in site.columns else site_id
    elif isinstance(site, shapely.Point) or (
        isinstance(site, (tuple, list)) and len(site) == 2 and all(_is_number(v) for v in site)
    ):
        pt = site if isinstance(site, shapely.Point) else shapely.Point(float(site[0]), float(site[1]))
        if pt.is_empty or not (-180 <= pt.x <= 180 and -90 <= pt.y <= 90):
            raise InputError(
                f"site {pt.wkt} is not a longitude/latitude point; pass a GeoSeries with its CRS for other coordinates"
            )
        geom = gpd.GeoSeries([pt], crs=WGS84).to_crs(support_bodies.crs).iloc[0]
        label = f"{pt.x:.5f}, {pt.y:.5f}"
    else:
        raise InputError(
            f"site must be a one-row GeoDataFrame/GeoSeries, a shapely Point or (lon, lat), got {type(site).__name__}"
        )
    if not isinstance(geom, shapely.Point) or geom.is_empty:
        raise InputError(f"site must be a point, got {getattr(geom, 'geom_type', type(geom).__name__)}")
    existing = (
        pd.Index(support_bodies["id"].astype(str))
        if "id" in support_bodies.columns
        else support_bodies.index.astype(str)
    )
    if body_id is not None:
        new_id = str(body_id)
        if new_id in existing:
            raise InputError(f"id {new_id!r} is already used in support_bodies; choose another id")
    else:
        base = f"planned:{site_id}" if site_id is not None else "planned"
        new_id, k = (base, 1) if site_id is not None else (f"{base}:1", 1)
        while new_id in existing:
            k += 1
            new_id = f"{base}:{k}"
    row: dict[str, Any] = {
        "id": new_id,
        "name": name if name is not None else f"Planned {category.replace('_', ' ')} ({label})",
        "category": category,
        "capacity": cap,
        "students": np.nan,
        "source": "planned",
        "vintage": "",
        "caveat": "planned site, not an existing body",
        "duplicates": "",
    }
    geo_col = support_bodies.geometry.name
    data = {c: [row.get(c, pd.NA)] for c in support_bodies.columns if c != geo_col}
    data[geo_col] = [geom]
    added = gpd.GeoDataFrame(data, geometry=geo_col, crs=support_bodies.crs, index=[new_id])
    for c in support_bodies.columns:
        if c != geo_col:
            # a failed cast keeps the new value's own type (e.g. NA in an integer column)
            with contextlib.suppress(TypeError, ValueError):
                added[c] = added[c].astype(support_bodies[c].dtype)
    out = pd.concat([support_bodies, added[support_bodies.columns]])
    return gpd.GeoDataFrame(out, geometry=geo_col, crs=support_bodies.crs)
