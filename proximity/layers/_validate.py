"""Checks shared by every layer loader: one call collects every problem of a layer.

Every loader of :mod:`proximity.layers` (the default territory's files and the user's own
inputs alike) ends with :func:`validate_layer`, so that a bad coordinate order, a missing
CRS or a duplicated id is reported where the layer is read, with the rows and the fix,
rather than as a wrong travel time three stages later.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import LayerValidationError

__all__ = ["validate_layer"]

_SHOW = 5  # ids shown per problem


def _ids(gdf: gpd.GeoDataFrame, mask: np.ndarray | pd.Series, id_column: str | None) -> str:
    mask = np.asarray(mask, dtype=bool)
    if id_column is not None and id_column in gdf.columns:
        vals = gdf[id_column].to_numpy()[mask]
        label = id_column
    else:
        vals = gdf.index.to_numpy()[mask]
        label = "index"
    shown = ", ".join(repr(v) for v in vals[:_SHOW])
    more = f" and {len(vals) - _SHOW} more" if len(vals) > _SHOW else ""
    return f"{int(mask.sum())} row(s) ({label} {shown}{more})"


def _inside(b: np.ndarray, bounds: Sequence[float]) -> np.ndarray:
    lon0, lat0, lon1, lat1 = bounds
    return (b[:, 0] >= lon0) & (b[:, 2] <= lon1) & (b[:, 1] >= lat0) & (b[:, 3] <= lat1)


def validate_layer(
    gdf: gpd.GeoDataFrame,
    layer: str,
    *,
    required_columns: Iterable[str] = (),
    geom_types: Iterable[str] | None = None,
    id_column: str | None = "id",
    bounds_wgs84: Sequence[float] | None = None,
    allowed_values: Mapping[str, Collection] | None = None,
) -> gpd.GeoDataFrame:
    """Check a layer and raise one error listing every problem found.

    Checks, in order: the object is a GeoDataFrame with an active geometry column; it has
    rows; the required columns exist; a CRS is set; geometries are present, non-empty,
    valid and of an allowed type; the id column (or the index when ``id_column`` is None)
    is unique and has no missing values; every geometry lies inside ``bounds_wgs84`` (when
    a bounding box would fit after swapping x and y, the message says the coordinates look
    swapped).

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer. It is not modified.
    layer : str
        Name of the layer used in messages (e.g. ``"smes"`` or a file name).
    required_columns : iterable of str
        Columns that must exist (the geometry column is always required).
    geom_types : iterable of str, optional
        Allowed geometry types (e.g. ``["Point"]`` or ``["Polygon", "MultiPolygon"]``).
        Default: any.
    id_column : str or None
        Column whose values must be unique and non-missing; None checks the index.
    bounds_wgs84 : (lon_min, lat_min, lon_max, lat_max), optional
        Plausible bounds of the territory. Default: only checks that coordinates are
        valid longitudes and latitudes once in EPSG:4326.
    allowed_values : mapping of column -> collection, optional
        Columns whose values must all be present and in the given collection (e.g. the
        ``category`` of a support body).

    Returns
    -------
    GeoDataFrame
        ``gdf`` itself, so that loaders can ``return validate_layer(out, ...)``.

    Raises
    ------
    LayerValidationError
        With ``.problems``: one sentence per problem, naming the first offending ids and
        the fix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> pts = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(3.88, 43.61)], crs=4326)
    >>> validate_layer(
    ...     pts, "demo", required_columns=["id"], geom_types=["Point"], bounds_wgs84=(2.3, 43.0, 4.7, 44.2)
    ... ) is pts
    True
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerValidationError(
            layer,
            [
                (
                    f"expected a GeoDataFrame, got {type(gdf).__name__}; build one with "
                    "geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(df.lon, df.lat), crs='EPSG:4326')"
                )
            ],
        )
    problems: list[str] = []
    if gdf.active_geometry_name is None or gdf.active_geometry_name not in gdf.columns:
        raise LayerValidationError(layer, ["has no active geometry column; call .set_geometry('<column>') first"])
    if len(gdf) == 0:
        raise LayerValidationError(
            layer,
            [
                (
                    "is empty (0 rows); check the file, the filters applied (territory, active establishments) "
                    "and that the input covers the territory"
                )
            ],
        )
    missing = [c for c in required_columns if c not in gdf.columns]
    if missing:
        problems.append(
            f"missing column(s) {', '.join(map(repr, missing))} (has: {', '.join(map(str, gdf.columns))}); "
            "add or rename them"
        )
    for col, allowed in (allowed_values or {}).items():
        if col not in gdf.columns:
            continue
        vals = gdf[col]
        allowed_txt = ", ".join(map(str, allowed))
        na = vals.isna().to_numpy()
        bad = ~na & ~vals.isin(list(allowed)).to_numpy()
        if na.any():
            problems.append(f"{_ids(gdf, na, id_column)} have no {col!r}; give every row one of: {allowed_txt}")
        if bad.any():
            unknown = ", ".join(repr(v) for v in pd.unique(vals[bad])[:_SHOW])
            problems.append(f"{_ids(gdf, bad, id_column)} have an unknown {col!r} ({unknown}); allowed: {allowed_txt}")
    if gdf.crs is None:
        problems.append(
            "has no CRS; set it, e.g. gdf.set_crs('EPSG:4326') for longitude/latitude degrees or "
            "gdf.set_crs('EPSG:2154') for Lambert-93 metres"
        )

    geoms = gdf.geometry.to_numpy()
    null = shapely.is_missing(geoms)
    empty = ~null & shapely.is_empty(geoms)
    if null.any():
        problems.append(f"{_ids(gdf, null, id_column)} have no geometry; drop them or give them coordinates")
    if empty.any():
        problems.append(f"{_ids(gdf, empty, id_column)} have an empty geometry; drop them or give them coordinates")
    present = ~(null | empty)
    if geom_types is not None:
        allowed = set(geom_types)
        names = np.array(
            [
                "Point",
                "LineString",
                "LinearRing",
                "Polygon",
                "MultiPoint",
                "MultiLineString",
                "MultiPolygon",
                "GeometryCollection",
                "",
            ],
            dtype=object,
        )
        types = names[shapely.get_type_id(geoms)]  # -1 (missing) -> ""
        bad = present & ~np.isin(types, list(allowed))
        if bad.any():
            found = ", ".join(sorted(set(types[bad])))
            fix = ""
            if "Point" in allowed and not allowed & {"Polygon", "MultiPolygon"}:
                fix = "; use .representative_point() for areas"
            if found.startswith("Multi") and allowed & {"Polygon", "LineString", "Point"}:
                fix += "; explode multi-part geometries first (e.g. gdf.explode(index_parts=False))"
            problems.append(
                f"{_ids(gdf, bad, id_column)} have geometry type {found}, expected {', '.join(sorted(allowed))}{fix}"
            )
    invalid = present.copy()
    invalid[present] = ~shapely.is_valid(geoms[present])
    if invalid.any():
        reason = shapely.is_valid_reason(geoms[invalid][0])
        problems.append(
            f"{_ids(gdf, invalid, id_column)} have invalid geometries (first: {reason}); repair them with "
            "gdf.geometry.make_valid()"
        )

    if id_column is not None:
        if id_column in gdf.columns:
            ids = gdf[id_column]
        elif id_column not in missing:
            ids = None
            problems.append(f"missing id column {id_column!r}; add a unique identifier column")
        else:
            ids = None
    else:
        ids = gdf.index.to_series()
    if ids is not None:
        na = ids.isna().to_numpy()
        if na.any():
            problems.append(f"{int(na.sum())} row(s) have a missing {id_column or 'index'}; give every row an id")
        dup = ids.duplicated(keep=False).to_numpy() & ~na
        if dup.any():
            vals = pd.unique(ids[dup])
            shown = ", ".join(repr(v) for v in vals[:_SHOW])
            problems.append(
                f"{id_column or 'index'} is not unique: {len(vals)} value(s) repeated ({shown}); "
                "make ids unique or drop duplicated rows (e.g. gdf.drop_duplicates(subset=...))"
            )

    if gdf.crs is not None and present.any():
        try:
            g4326 = gpd.GeoSeries(geoms[present], crs=gdf.crs).to_crs(4326).to_numpy()
            b = shapely.bounds(g4326)
        except Exception as exc:  # pyproj raises several types
            problems.append(f"cannot be transformed from {gdf.crs} to EPSG:4326 ({exc}); check the CRS")
            b = None
        if b is not None:
            finite = np.isfinite(b).all(axis=1)
            if not finite.all():
                nonfinite = np.zeros(len(gdf), dtype=bool)
                nonfinite[np.flatnonzero(present)[~finite]] = True
                problems.append(
                    f"{_ids(gdf, nonfinite, id_column)} have infinite or missing coordinates; "
                    "give finite longitude/latitude (or x/y) or drop those rows"
                )
            box = tuple(bounds_wgs84) if bounds_wgs84 is not None else (-180.0, -90.0, 180.0, 90.0)
            ok = ~finite | _inside(b, box)  # non-finite rows are reported above, not as "outside"
            if not ok.all():
                outside = np.zeros(len(gdf), dtype=bool)
                outside[np.flatnonzero(present)[~ok]] = True
                swapped = b[~ok][:, [1, 0, 3, 2]]
                swap_fits = bounds_wgs84 is not None and bool(_inside(swapped, box).all())
                what = (
                    f"the plausible bounds of the territory (lon {box[0]}..{box[2]}, lat {box[1]}..{box[3]})"
                    if bounds_wgs84 is not None
                    else "valid longitude/latitude ranges"
                )
                msg = f"{_ids(gdf, outside, id_column)} lie outside {what} once in EPSG:4326"
                if swap_fits:
                    msg += (
                        "; latitude and longitude look swapped (they would fit after swapping x and y): "
                        "build points with geopandas.points_from_xy(lon, lat), x = longitude first"
                    )
                elif gdf.crs.is_geographic and np.nanmax(np.abs(b[~ok])) > 360:
                    msg += (
                        f"; the coordinates look projected (metres) although the CRS is {gdf.crs.to_string()}: "
                        "set the right CRS with .set_crs(..., allow_override=True), e.g. EPSG:2154 for Lambert-93"
                    )
                else:
                    msg += "; check the CRS and the coordinates, or drop rows outside the territory"
                problems.append(msg)
    if problems:
        raise LayerValidationError(layer, problems)
    return gdf
