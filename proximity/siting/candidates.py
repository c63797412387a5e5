"""Candidate sites for the incubator, one function per source (like osmnx's ``graph_from_*``).

:func:`candidates_from_grid`, :func:`candidates_from_business_parks`,
:func:`candidates_from_municipalities` and :func:`candidates_from_file` build the points;
:func:`candidate_sites` picks one of them by ``kind``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..errors import CRSError, DataFileError, InputError, MissingColumnError
from ..layers import read_user_points, validate_layer
from ._checks import WGS84, _finite, _is_number, _projected

CANDIDATE_KINDS: tuple[str, ...] = ("user", "business_parks", "municipalities", "grid")
"""Sources of candidate sites accepted by :func:`candidate_sites` (``kind=``)."""


MAX_GRID_POINTS: int = 200_000
"""Largest grid :func:`candidate_sites` builds (a location model on more is impractical)."""


def _territory(territory: Any, crs: pyproj.CRS) -> shapely.Geometry:
    """The territory as one polygonal geometry in ``crs``."""
    name = "territory_bounds_or_polygon"
    if isinstance(territory, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if territory.crs is None:
            raise CRSError(
                f"{name} has no CRS; set it, e.g. .set_crs('EPSG:4326') for degrees or "
                ".set_crs('EPSG:2154') for Lambert-93 metres"
            )
        geoms = gpd.GeoSeries(territory.geometry, crs=territory.crs).to_crs(crs).to_numpy()
    elif isinstance(territory, shapely.Geometry):
        b = territory.bounds
        if not (-180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90):
            raise CRSError(
                f"{name} is a bare shapely geometry, read as longitude/latitude degrees, but its bounds "
                f"{tuple(round(v, 3) for v in b)} are not degrees; pass a GeoSeries with its CRS, e.g. "
                "geopandas.GeoSeries([polygon], crs='EPSG:2154')"
            )
        geoms = gpd.GeoSeries([territory], crs=WGS84).to_crs(crs).to_numpy()
    elif isinstance(territory, (Sequence, np.ndarray)) and not isinstance(territory, (str, bytes)):
        vals = list(territory)
        if len(vals) != 4 or not all(_is_number(v) and math.isfinite(float(v)) for v in vals):
            raise InputError(
                f"{name} must be (lon_min, lat_min, lon_max, lat_max) in degrees, a polygon or a "
                f"GeoDataFrame, got {territory!r}"
            )
        x0, y0, x1, y1 = map(float, vals)
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise InputError(
                f"{name} {tuple(vals)} is not a (lon_min, lat_min, lon_max, lat_max) box in degrees "
                "with min < max; check the order (longitudes first)"
            )
        # densify so that the box's edges stay faithful once projected
        box = shapely.segmentize(shapely.box(x0, y0, x1, y1), max_segment_length=0.01)
        geoms = gpd.GeoSeries([box], crs=WGS84).to_crs(crs).to_numpy()
    else:
        raise InputError(
            f"{name} must be (lon_min, lat_min, lon_max, lat_max) in degrees, a shapely polygon (in "
            f"degrees) or a GeoDataFrame/GeoSeries of polygons, got {type(territory).__name__}"
        )
    present = geoms[~shapely.is_missing(geoms)]
    types = set(shapely.get_type_id(present).tolist())
    if not present.size or not types <= {3, 6}:  # Polygon, MultiPolygon
        raise InputError(
            f"{name} must be made of polygons, got geometry types "
            f"{sorted({g.geom_type for g in present}) or ['none']}; pass the territory's outline"
        )
    if not shapely.is_valid(present).all():
        raise InputError(f"{name} has invalid polygons; repair them with .make_valid() first")
    geom = shapely.union_all(present)
    if geom.is_empty or geom.area == 0:
        raise InputError(f"{name} is empty (zero area); pass the territory's outline or bounds")
    return geom


def _check_polygons(gdf: Any, name: str) -> gpd.GeoDataFrame:
    if isinstance(gdf, (str, os.PathLike)):
        p = Path(gdf)
        if not p.is_file():
            raise DataFileError(f"{name}: file {str(p)!r} does not exist; check the path")
        try:
            gdf = gpd.read_file(p, engine="pyogrio")
        except Exception as exc:  # pyogrio raises its own DataSourceError and others
            raise DataFileError(f"{name}: cannot read {str(p)!r} as a vector file ({exc})") from exc
        if gdf.crs is None:
            raise CRSError(
                f"{name}: {p.name!r} declares no CRS; read it yourself and set it, e.g. "
                f"geopandas.read_file({p.name!r}).set_crs('EPSG:2154') (Montpellier's ZAC file is Lambert-93)"
            )
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is None:
        raise CRSError(
            f"{name} has no CRS; set it, e.g. .set_crs('EPSG:2154') for Lambert-93 metres or "
            ".set_crs('EPSG:4326') for degrees"
        )
    return validate_layer(gdf, name, geom_types=["Polygon", "MultiPolygon"], id_column=None)


def _names(gdf: pd.DataFrame, name_column: str | None, ids: pd.Index, layer: str) -> np.ndarray:
    if name_column is not None:
        if name_column not in gdf.columns:
            raise MissingColumnError(
                f"{layer} has no column {name_column!r} (name_column); columns: {', '.join(map(str, gdf.columns))}"
            )
        col = gdf[name_column]
    elif "name" in gdf.columns:
        col = gdf["name"]
    else:
        return ids.astype(str).to_numpy()
    text = col.astype("string").str.strip()
    return text.where(text.notna() & (text != ""), pd.Series(ids.astype(str), index=col.index)).to_numpy(dtype=object)


def candidate_sites(
    *,
    kind: Literal["user", "business_parks", "municipalities", "grid"],
    territory_bounds_or_polygon: Sequence[float] | shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    user_file: gpd.GeoDataFrame | str | os.PathLike | None = None,
    business_parks: gpd.GeoDataFrame | str | os.PathLike | None = None,
    municipalities: gpd.GeoDataFrame | None = None,
    grid_spacing_m: float = 2000.0,
    name_column: str | None = None,
    crs: str = "EPSG:2154",
) -> gpd.GeoDataFrame:
    """Candidate sites for the incubator, as points, from the source ``kind`` names.

    One entry point over :func:`candidates_from_file` (``"user"``),
    :func:`candidates_from_business_parks`, :func:`candidates_from_municipalities` and
    :func:`candidates_from_grid`, which take only the input of their source.

    Parameters
    ----------
    kind : {"user", "business_parks", "municipalities", "grid"}
        Where the candidates come from:

        - ``"user"``: the points of ``user_file`` (a CSV with ``lon``/``lat`` columns in
          WGS84, any vector file of points, or a point GeoDataFrame; see
          :func:`proximity.layers.read_user_points`); every point must lie in the
          territory;
        - ``"business_parks"``: one point per polygon of ``business_parks`` (e.g. the
          ZACs of Montpellier), its representative point, which always lies inside it;
        - ``"municipalities"``: the representative point of each municipality polygon
          (inside the commune; *not* its town hall), e.g. of
          :func:`proximity.layers.municipalities`;
        - ``"grid"``: the points of a square lattice of ``grid_spacing_m`` that lie in
          the territory (boundary included); the lattice points are the multiples of
          the spacing in ``crs``, so two runs give the same points.

        Business parks and municipalities whose point is outside the territory are left
        out.
    territory_bounds_or_polygon : (lon_min, lat_min, lon_max, lat_max), polygon or GeoDataFrame
        The territory: a box in degrees, a shapely polygon in degrees, or a GeoDataFrame /
        GeoSeries of polygons in any CRS (their union is used).
    user_file : GeoDataFrame or path, optional
        The user's sites (``kind="user"`` only). An ``id`` column, if any, gives the ids.
    business_parks : GeoDataFrame or path, optional
        Polygons (``kind="business_parks"`` only), with a CRS.
    municipalities : GeoDataFrame, optional
        Municipality polygons indexed by code (``kind="municipalities"`` only).
    grid_spacing_m : float, default 2000
        Spacing of the grid in metres (``kind="grid"``), >= 10.
    name_column : str, optional
        Column holding the site names (e.g. ``"NOMZAC"`` for the ZAC file); default
        ``"name"`` when present, else the id.
    crs : str, default "EPSG:2154"
        Projected CRS (metres) in which the grid and the representative points are built.

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326 indexed by ``id`` (unnamed index), columns ``id`` (str:
        ``user:<id>``, ``park:<index>``, ``municipality:<index>`` or ``grid:<x>_<y>``
        with the lattice coordinates in metres), ``source`` (``"user"``,
        ``"business_park"``, ``"municipality"`` or ``"grid"``), ``name`` and ``geometry``.

    Raises
    ------
    InputError
        Unknown ``kind``; the input that ``kind`` needs is missing, or one for another
        kind is given; a bad territory or spacing; a grid of more than
        :data:`MAX_GRID_POINTS` points; no candidate in the territory.
    CRSError
        ``crs`` is not projected, or an input has no CRS.
    LayerValidationError
        ``user_file`` or ``business_parks`` is invalid (all problems listed).
    DataFileError
        A file does not exist or cannot be read.

    Examples
    --------
    >>> import shapely
    >>> sites = candidate_sites(
    ...     kind="grid", territory_bounds_or_polygon=(3.80, 43.55, 3.90, 43.62), grid_spacing_m=2000
    ... )
    >>> len(sites), sites["source"].unique().tolist()
    (16, ['grid'])
    """
    if kind not in CANDIDATE_KINDS:
        raise InputError(f"kind must be one of {list(CANDIDATE_KINDS)}, got {kind!r}")
    given = {"user": user_file, "business_parks": business_parks, "municipalities": municipalities}
    arg = {"user": "user_file", "business_parks": "business_parks", "municipalities": "municipalities"}
    wrong = [arg[k] for k, v in given.items() if v is not None and k != kind]
    if wrong:
        raise InputError(
            f"{', '.join(wrong)} given but kind={kind!r}: each input is used only by its own kind "
            f"(user_file -> 'user', business_parks -> 'business_parks', municipalities -> 'municipalities'); "
            "drop it or change kind"
        )
    if kind != "grid" and given[kind] is None:
        raise InputError(f"kind={kind!r} needs {arg[kind]}=...; pass it")
    spacing = _finite("grid_spacing_m", grid_spacing_m, minimum=10.0, fix="e.g. grid_spacing_m=2000")
    metric = _projected(crs)
    area = _territory(territory_bounds_or_polygon, metric)
    if kind == "grid":
        return _grid_points(area, spacing, metric)
    if kind == "user":
        return _file_points(user_file, area, metric, name_column)
    return _polygon_points(given[kind], kind, area, metric, name_column)


def candidates_from_grid(
    territory_bounds_or_polygon: Sequence[float] | shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    grid_spacing_m: float = 2000.0,
    crs: str = "EPSG:2154",
) -> gpd.GeoDataFrame:
    """Candidate sites on a square lattice over the territory.

    The points of a lattice of ``grid_spacing_m`` metres that lie in the territory
    (boundary included); the lattice points are the multiples of the spacing in ``crs``,
    so two runs give the same points.

    Parameters
    ----------
    territory_bounds_or_polygon : (lon_min, lat_min, lon_max, lat_max), polygon or GeoDataFrame
        The territory (see :func:`candidate_sites`).
    grid_spacing_m : float, default 2000
        Spacing of the grid in metres, >= 10.
    crs : str, default "EPSG:2154"
        Projected CRS (metres) of the lattice.

    Returns
    -------
    GeoDataFrame
        As :func:`candidate_sites`: ids ``grid:<x>_<y>`` (lattice coordinates in
        metres), ``source`` ``"grid"``.

    Raises
    ------
    InputError
        A bad territory or spacing, more than :data:`MAX_GRID_POINTS` points, or no point
        in the territory.
    CRSError
        ``crs`` is not projected, or the territory has no CRS.

    Examples
    --------
    >>> len(candidates_from_grid((3.80, 43.55, 3.90, 43.62), grid_spacing_m=2000))
    16
    """
    spacing = _finite("grid_spacing_m", grid_spacing_m, minimum=10.0, fix="e.g. grid_spacing_m=2000")
    metric = _projected(crs)
    return _grid_points(_territory(territory_bounds_or_polygon, metric), spacing, metric)


def candidates_from_business_parks(
    business_parks: gpd.GeoDataFrame | str | os.PathLike,
    territory_bounds_or_polygon: Sequence[float] | shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    name_column: str | None = None,
    crs: str = "EPSG:2154",
) -> gpd.GeoDataFrame:
    """Candidate sites at business parks: the representative point of each polygon.

    The representative point always lies inside its polygon; parks whose point lies
    outside the territory are left out.

    Parameters
    ----------
    business_parks : GeoDataFrame or path
        Polygons with a CRS (e.g. :func:`proximity.layers.business_parks`, the ZACs of
        Montpellier).
    territory_bounds_or_polygon : (lon_min, lat_min, lon_max, lat_max), polygon or GeoDataFrame
        The territory (see :func:`candidate_sites`).
    name_column : str, optional
        Column of the park names (e.g. ``"NOMZAC"``); default ``"name"`` when present,
        else the id.
    crs : str, default "EPSG:2154"
        Projected CRS (metres) of the representative points.

    Returns
    -------
    GeoDataFrame
        As :func:`candidate_sites`: ids ``park:<index>``, ``source`` ``"business_park"``.

    Raises
    ------
    InputError, CRSError, LayerValidationError, DataFileError, MissingColumnError
        As :func:`candidate_sites`.
    """
    metric = _projected(crs)
    return _polygon_points(
        business_parks, "business_parks", _territory(territory_bounds_or_polygon, metric), metric, name_column
    )


def candidates_from_municipalities(
    municipalities: gpd.GeoDataFrame,
    territory_bounds_or_polygon: Sequence[float] | shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    name_column: str | None = None,
    crs: str = "EPSG:2154",
) -> gpd.GeoDataFrame:
    """Candidate sites at municipality centres: the representative point of each polygon.

    The point lies inside the commune; it is *not* its town hall. Municipalities whose
    point lies outside the territory are left out.

    Parameters
    ----------
    municipalities : GeoDataFrame
        Municipality polygons indexed by code (e.g. :func:`proximity.layers.municipalities`).
    territory_bounds_or_polygon : (lon_min, lat_min, lon_max, lat_max), polygon or GeoDataFrame
        The territory (see :func:`candidate_sites`).
    name_column : str, optional
        Column of the names; default ``"name"`` when present, else the id.
    crs : str, default "EPSG:2154"
        Projected CRS (metres) of the representative points.

    Returns
    -------
    GeoDataFrame
        As :func:`candidate_sites`: ids ``municipality:<index>``, ``source``
        ``"municipality"``.

    Raises
    ------
    InputError, CRSError, LayerValidationError, MissingColumnError
        As :func:`candidate_sites`.
    """
    metric = _projected(crs)
    return _polygon_points(
        municipalities, "municipalities", _territory(territory_bounds_or_polygon, metric), metric, name_column
    )


def candidates_from_file(
    user_file: gpd.GeoDataFrame | str | os.PathLike,
    territory_bounds_or_polygon: Sequence[float] | shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    name_column: str | None = None,
    crs: str = "EPSG:2154",
) -> gpd.GeoDataFrame:
    """The user's own candidate sites, every one inside the territory.

    Parameters
    ----------
    user_file : GeoDataFrame or path
        A CSV with ``lon``/``lat`` columns in WGS84, any vector file of points, or a point
        GeoDataFrame (see :func:`proximity.layers.read_user_points`); an ``id`` column,
        if any, gives the ids.
    territory_bounds_or_polygon : (lon_min, lat_min, lon_max, lat_max), polygon or GeoDataFrame
        The territory (see :func:`candidate_sites`).
    name_column : str, optional
        Column of the names; default ``"name"`` when present, else the id.
    crs : str, default "EPSG:2154"
        Projected CRS (metres) in which the points are tested against the territory.

    Returns
    -------
    GeoDataFrame
        As :func:`candidate_sites`: ids ``user:<id>``, ``source`` ``"user"``.

    Raises
    ------
    InputError
        A point lies outside the territory, or a bad territory.
    CRSError, LayerValidationError, DataFileError
        As :func:`candidate_sites`.
    """
    metric = _projected(crs)
    return _file_points(user_file, _territory(territory_bounds_or_polygon, metric), metric, name_column)


def _grid_points(area: shapely.Geometry, spacing: float, metric: pyproj.CRS) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = area.bounds
    i0, i1 = math.floor(x0 / spacing), math.ceil(x1 / spacing)
    j0, j1 = math.floor(y0 / spacing), math.ceil(y1 / spacing)
    n_box = (i1 - i0 + 1) * (j1 - j0 + 1)
    if n_box * min(1.0, area.area / max(shapely.box(x0, y0, x1, y1).area, 1e-9)) > MAX_GRID_POINTS:
        raise InputError(
            f"grid_spacing_m={spacing:g} gives about {int(area.area / spacing**2):,} points over the territory, "
            f"more than {MAX_GRID_POINTS:,}; use a larger spacing"
        )
    gx_2d, gy_2d = np.meshgrid(np.arange(i0, i1 + 1) * spacing, np.arange(j0, j1 + 1) * spacing)
    gx, gy = gx_2d.ravel(), gy_2d.ravel()
    shapely.prepare(area)
    inside = shapely.intersects_xy(area, gx, gy)
    gx, gy = gx[inside], gy[inside]
    xy = list(zip(gx, gy, strict=True))
    ids = np.array([f"grid:{x:.0f}_{y:.0f}" for x, y in xy], dtype=object)
    names = np.array([f"grid point {x / 1000:.1f} km E, {y / 1000:.1f} km N" for x, y in xy], dtype=object)
    pts = gpd.GeoSeries(gpd.points_from_xy(gx, gy), crs=metric)
    return _sites(ids, "grid", names, pts, f"the grid of {spacing:g} m; use a smaller grid_spacing_m")


def _file_points(
    user_file: Any, area: shapely.Geometry, metric: pyproj.CRS, name_column: str | None
) -> gpd.GeoDataFrame:
    wgs = gpd.GeoSeries([area], crs=metric).to_crs(WGS84).total_bounds
    pad = 1e-6  # the box is only a first check; the polygon test below is exact
    user = read_user_points(
        user_file,
        layer_name="user_file",
        bounds_wgs84=(wgs[0] - pad, wgs[1] - pad, wgs[2] + pad, wgs[3] + pad),
        id_prefix="user:",
    )
    pts = user.geometry.to_crs(metric)
    shapely.prepare(area)
    outside = ~shapely.intersects(area, pts.to_numpy())
    if outside.any():
        shown = ", ".join(map(repr, user.index[outside][:5].tolist()))
        raise InputError(
            f"user_file has {int(outside.sum())} point(s) outside territory_bounds_or_polygon ({shown}); "
            "drop them or pass a larger territory"
        )
    ids = user.index.astype(str).to_numpy(dtype=object)
    names = _names(user, name_column, pd.Index(ids), "user_file")
    return _sites(ids, "user", names, pts, "user_file")


def _polygon_points(
    polygons: Any, kind: str, area: shapely.Geometry, metric: pyproj.CRS, name_column: str | None
) -> gpd.GeoDataFrame:
    layer = "business_parks" if kind == "business_parks" else "municipalities"
    polys = _check_polygons(polygons, layer)
    reps = polys.geometry.to_crs(metric).representative_point()
    shapely.prepare(area)
    keep = shapely.intersects(area, reps.to_numpy())
    prefix = "park:" if kind == "business_parks" else "municipality:"
    all_ids = pd.Index([f"{prefix}{i}" for i in polys.index])
    if all_ids.has_duplicates:
        dup = all_ids[all_ids.duplicated()].unique()[:5].tolist()
        raise InputError(f"{layer} has a repeated index ({dup}); give every polygon a unique index")
    names = _names(polys, name_column, all_ids, layer)[keep]
    ids = all_ids.to_numpy(dtype=object)[keep]
    source = "business_park" if kind == "business_parks" else "municipality"
    return _sites(ids, source, names, reps[keep], f"{layer} (representative points outside the territory are left out)")


def _sites(ids: np.ndarray, source: str, names: np.ndarray, pts: gpd.GeoSeries, what: str) -> gpd.GeoDataFrame:
    """The candidate layer: points in WGS84 indexed by id; no candidate at all is an error."""
    if len(ids) == 0:
        raise InputError(f"no candidate site lies in territory_bounds_or_polygon from {what}")
    out = gpd.GeoDataFrame(
        {"id": pd.array(ids, dtype="string"), "source": source, "name": pd.array(names, dtype="string")},
        geometry=pts.to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    out.index = pd.Index(out["id"].to_numpy())
    return out
