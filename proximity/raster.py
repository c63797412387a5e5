"""Raster surfaces: travel-time grids, population grids, zonal sums and map overlays (rasterio).

Conventions
-----------
Grid
    Square cells of ``cell_m`` metres in a projected CRS (default EPSG:2154, the
    territory's), north-up (``transform = from_origin(x0, y1, cell_m, cell_m)``), with the
    origin on multiples of ``cell_m``. Every raster of a territory at one cell size
    therefore shares one grid (:func:`raster_grid`): the travel-time surfaces, the
    population raster and the zones. A cell belongs to a polygon when its *centre* lies
    inside it (``rasterio.features`` with ``all_touched=False``).
Travel time of a cell
    The engine's model (:mod:`proximity.traveltime`, through the internal engine shared
    with it) evaluated at the cell centre ``p``: ``p`` is snapped onto the nearest allowed
    edge, continues to the edge's ends with the partial edge times, and ``T_i`` is the time
    from node ``i`` to the nearest facility (one multi-source Dijkstra on the transposed
    graph, each facility a virtual source on its own edge with its own off-network leg),
    direct trips included, exactly as in :func:`proximity.traveltime.nearest`. With
    ``k_nodes=1`` a cell's value *is* ``traveltime.nearest`` from its centre. With the
    default ``k_nodes=8`` (the rule of :func:`proximity.traveltime.isochrones`) a cell keeps
    to its nearest edge (the nearest nodes stand for the engine's "other roads nearby") and
    also considers its ``k_nodes`` nearest allowed nodes within ``max_snap_m``, each reached
    straight, ``T_i + |p - node_i| * access_detour / access_speed``, when that is faster
    (e.g. a node on a fast road 300 m away rather than a slow edge 250 m away); the surface
    has fewer single-edge artefacts.
Nodata
    Float rasters use ``NaN`` as nodata (written as ``nodata=nan`` in the files): cells
    whose centre is outside the territory polygon, and, in travel-time surfaces, cells
    that reach no facility (no allowed node within ``max_snap_m``, or no directed path).
    Population cells outside every municipality are ``NaN``; inside they are ``>= 0``.
Files
    Cloud-Optimised GeoTIFFs (:func:`write_cog`: float32, 512-pixel tiles, DEFLATE with the
    floating-point predictor, internal overviews) written atomically. Float32 keeps minutes
    to about 1e-5 minute and populations to 7 significant digits.

Examples
--------
Loading the territory takes about 10 s (the doctests get it ready-made as ``ter``):

>>> from proximity.territory import load_territory
>>> ter = load_territory("herault")  # doctest: +SKIP
>>> from proximity import raster
>>> paths = raster.write_rasters(ter, "out/rasters", cell_m=1000)
>>> [p.name for p in paths][-2:]
['population.tif', 'population_within.csv']
"""

from __future__ import annotations

import base64
import math
import os
import struct
import warnings
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from affine import Affine

from . import _engine as engine
from . import defaults
from ._io import atomic_path, check_out_dir, write_csv
from .errors import CRSError, DataFileError, InputError, MissingColumnError, UnreachableWarning
from .layers import on_network
from .network import ACCESS_DETOUR, ACCESS_SPEED_KMH, CSRGraph

__all__ = [
    "COLORMAPS",
    "DEFAULT_KINDS",
    "FLOOR_SHARE",
    "K_NODES",
    "kind_facilities",
    "population_raster",
    "raster_grid",
    "raster_legend",
    "raster_overlay_image",
    "read_population_raster",
    "travel_time_rasters",
    "travel_time_surface",
    "write_cog",
    "write_rasters",
    "zonal_population_within",
]

#: Facility kinds of :func:`travel_time_rasters`: gateway kinds, ``tgv_station`` (rail
#: stations served by TGV/OUIGO) and support-body categories.
DEFAULT_KINDS: tuple[str, ...] = (
    "airport",
    "seaport",
    "tgv_station",
    "rail_station",
    "motorway_access",
    "chamber_of_commerce",
)

#: Nearest allowed nodes considered per cell (the isochrones' rule); 1 reproduces ``nearest``.
K_NODES: int = 8

#: Share of a commune's population spread evenly over all its cells by
#: :func:`population_raster` (the rest follows road length): isolated houses and farms
#: away from the mapped roads.
FLOOR_SHARE: float = 0.05

#: Colour stops of the overlay colour maps (9 stops, low to high; ``<name>_r`` reverses).
#: ``viridis`` and ``magma`` are matplotlib's; ``travel`` is ColorBrewer RdYlGn reversed
#: (green = near, red = far); ``population`` is ColorBrewer YlOrRd.
COLORMAPS: Mapping[str, tuple[str, ...]] = {
    "viridis": ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"),
    "magma": ("#000004", "#1d1147", "#51127c", "#832681", "#b73779", "#e75263", "#fc8961", "#fec488", "#fcfdbf"),
    "travel": ("#006837", "#2da155", "#87cb67", "#cdea83", "#fffebe", "#fed27f", "#f88c51", "#dd3d2d", "#a50026"),
    "population": ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8c3c", "#fc4d2a", "#e2191c", "#bb0026", "#800026"),
}

_MAX_CELLS = 200_000_000  # a grid larger than this is a unit mistake (cell_m in km?)
_QUERY_ROWS = 1_000_000  # cell centres per k-d tree query block
_TILE = 512
_TRAVEL_PREFIX = "travel_time_"


# --------------------------------------------------------------------------- validation
def _check_cell_m(cell_m: Any) -> float:
    if (
        isinstance(cell_m, (bool, np.bool_))
        or not isinstance(cell_m, (int, float, np.number))
        or not math.isfinite(cell_m)
        or cell_m <= 0
    ):
        raise InputError(f"cell_m must be a positive number of metres (e.g. 200), got {cell_m!r}")
    return float(cell_m)


def _check_crs(crs: Any, name: str = "crs") -> pyproj.CRS:
    if crs is None:
        raise CRSError(f"{name} is None; pass a projected CRS in metres such as 'EPSG:2154'")
    try:
        out = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"{name} {crs!r} is not a CRS pyproj understands; pass e.g. 'EPSG:2154'") from None
    return out


def _check_projected(crs: Any) -> pyproj.CRS:
    out = _check_crs(crs)
    unit = out.axis_info[0].unit_name if out.axis_info else ""
    if not out.is_projected or unit not in ("metre", "meter"):
        raise CRSError(
            f"crs {crs!r} is not a projected CRS in metres; raster cells are square metres: pass e.g. 'EPSG:2154'"
        )
    return out


def _area_geometry(area: Any, crs: pyproj.CRS, name: str) -> shapely.Geometry:
    """One (multi)polygon in ``crs`` from a GeoDataFrame / GeoSeries (any CRS) or a shapely geometry (in ``crs``)."""
    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if len(area) == 0:
            raise InputError(f"{name} is empty; pass the territory's polygons (e.g. territory.municipalities)")
        if area.crs is None:
            raise CRSError(f"{name} has no CRS; set it with .set_crs('EPSG:4326') (or the CRS of its coordinates)")
        geom = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        geom = geom.to_crs(crs)
        out = shapely.union_all(geom.values)
    elif isinstance(area, shapely.Geometry):
        out = area
    else:
        raise InputError(f"{name} must be a GeoDataFrame, GeoSeries or shapely polygon, got {type(area).__name__}")
    if out.is_empty or shapely.get_type_id(out) not in (3, 6, 7) or out.area <= 0:
        raise InputError(f"{name} has no polygon area; pass polygons (e.g. territory.municipalities)")
    return out


def _check_array(array: Any, name: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim != 2 or 0 in arr.shape:
        raise InputError(f"{name} must be a non-empty 2-D array (rows, columns), got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_transform(transform: Any, name: str = "transform") -> Affine:
    if not isinstance(transform, Affine):
        raise InputError(
            f"{name} must be an affine.Affine (e.g. from raster_grid or rasterio), got {type(transform).__name__}"
        )
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise InputError(
            f"{name} must be north-up without rotation (a > 0, e < 0, b = d = 0), got {tuple(transform)[:6]}"
        )
    return transform


# --------------------------------------------------------------------------- grid
def raster_grid(area: Any, *, cell_m: float = 200.0, crs: str = "EPSG:2154") -> tuple[Affine, tuple[int, int]]:
    """The grid covering an area: north-up cells of ``cell_m`` metres aligned on multiples of ``cell_m``.

    Parameters
    ----------
    area : GeoDataFrame, GeoSeries or shapely geometry
        The territory (polygons in any CRS); a bare shapely geometry is read in ``crs``.
    cell_m : float
        Cell size in metres.
    crs : str
        Projected CRS of the grid (metres).

    Returns
    -------
    (affine.Affine, (int, int))
        The transform and the ``(rows, columns)`` shape. The grid is the smallest one on
        multiples of ``cell_m`` containing the area's bounds.

    Raises
    ------
    InputError
        Bad ``cell_m``, an empty area, or a grid of more than 200 million cells.
    CRSError
        The area has no CRS, or ``crs`` is not projected in metres.

    Examples
    --------
    >>> transform, shape = raster_grid(ter.municipalities, cell_m=200)
    >>> shape
    (424, 669)
    """
    c = _check_cell_m(cell_m)
    pcrs = _check_projected(crs)
    geom = _area_geometry(area, pcrs, "area")
    return _grid_of_bounds(geom.bounds, c)


def _grid_of_bounds(bounds: tuple[float, float, float, float], c: float) -> tuple[Affine, tuple[int, int]]:
    xmin, ymin, xmax, ymax = bounds
    x0, y0 = math.floor(xmin / c) * c, math.floor(ymin / c) * c
    x1, y1 = math.ceil(xmax / c) * c, math.ceil(ymax / c) * c
    width, height = max(1, round((x1 - x0) / c)), max(1, round((y1 - y0) / c))
    if width * height > _MAX_CELLS:
        raise InputError(
            f"a {c:g} m grid over this area has {width * height:,} cells (more than {_MAX_CELLS:,}); raise cell_m"
        )
    return Affine(c, 0.0, x0, 0.0, -c, y0 + height * c), (height, width)


def _cell_centres(transform: Affine, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    return np.column_stack([x, y])


def _inside_mask(geom: shapely.Geometry, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    from rasterio.features import geometry_mask

    return geometry_mask([geom], out_shape=shape, transform=transform, invert=True, all_touched=False)


# --------------------------------------------------------------------------- travel-time surfaces
def travel_time_surface(
    graph: CSRGraph,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    territory_polygon: Any,
    cell_m: float = 200.0,
    crs: str = "EPSG:2154",
    max_snap_m: float = engine.MAX_SNAP_M,
    k_nodes: int = K_NODES,
    snap_to: np.ndarray | None = None,
    direction: str = "to",
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    access_detour: float = ACCESS_DETOUR,
) -> tuple[np.ndarray, Affine]:
    """Minutes to the nearest facility from every cell of a grid over the territory.

    Parameters
    ----------
    graph : CSRGraph
        The network (:func:`proximity.network.graph_to_csr`).
    facilities : GeoDataFrame or GeoSeries
        Facility points in any CRS. Facilities further than ``max_snap_m`` from the
        network are left out (warned), as in :func:`proximity.traveltime.nearest`.
    territory_polygon : GeoDataFrame, GeoSeries or shapely geometry
        Cells whose centre is outside are nodata; its bounds set the grid
        (:func:`raster_grid`). A bare shapely geometry is read in ``crs``.
    cell_m : float
        Cell size in metres.
    crs : str
        Projected CRS of the grid (metres).
    max_snap_m : float
        Longest off-network leg (straight metres) from a cell centre to a node.
    k_nodes : int
        Allowed nodes also considered per cell (see the module notes); ``1`` gives exactly
        :func:`proximity.traveltime.nearest` from the cell centre.
    snap_to : numpy.ndarray of bool, optional
        Nodes cells and facilities may snap to (default ``graph.snappable``), as in the engine.
    direction : {"to", "from"}
        ``"to"``: from the cell to the facility; ``"from"``: from the facility to the cell.
    access_speed_kmh, access_detour : float
        The off-network leg (see :mod:`proximity.traveltime`).

    Returns
    -------
    (numpy.ndarray, affine.Affine)
        ``float64`` minutes of shape ``(rows, columns)`` (``NaN`` = nodata: outside the
        polygon or no facility reachable) and the grid's transform.

    Raises
    ------
    InputError
        Empty facilities or none within ``max_snap_m`` of the network, bad ``cell_m``,
        ``k_nodes``, ``direction`` or access parameters.
    CRSError
        Facilities or the polygon have no CRS; ``crs`` is not projected in metres.

    Warns
    -----
    UnreachableWarning
        Facilities beyond ``max_snap_m`` (left out).

    Examples
    --------
    >>> from proximity.layers import on_network
    >>> airports = on_network(ter.gateways[ter.gateways["kind"].eq("airport")])
    >>> minutes, transform = travel_time_surface(ter.csr, airports, territory_polygon=ter.municipalities, cell_m=1000)
    >>> minutes.shape
    (86, 135)
    """
    prep = engine.prepared(graph)
    f_geom = engine.check_points(facilities, "facilities")
    c = _check_cell_m(cell_m)
    pcrs = _check_projected(crs)
    if isinstance(k_nodes, (bool, np.bool_)) or not isinstance(k_nodes, (int, np.integer)) or k_nodes < 1:
        raise InputError(f"k_nodes must be a positive integer (1 = the engine alone), got {k_nodes!r}")
    engine.check_access(max_snap_m, access_speed_kmh, access_detour)
    engine.check_direction(direction)
    snap_to = engine.check_snap_to(graph, snap_to)
    geom = _area_geometry(territory_polygon, pcrs, "territory_polygon")
    transform, shape = _grid_of_bounds(geom.bounds, c)

    opts: dict[str, Any] = {  # keyword options of engine.snap_points and engine.snap_xy
        "max_snap_m": max_snap_m,
        "access_speed_kmh": access_speed_kmh,
        "access_detour": access_detour,
        "snap_to": snap_to,
    }
    f = engine.snap_points(graph, prep, f_geom, name="facilities", **opts)
    if not f.ok.any():
        raise InputError(
            f"no facility is within max_snap_m={max_snap_m:g} m of the network; raise max_snap_m or check the facilities' CRS"
        )
    if (~f.ok).any():
        warnings.warn(
            engine.far_message(int((~f.ok).sum()), "facilities", max_snap_m) + " (left out)",
            UnreachableWarning,
            stacklevel=2,
        )
    to = direction == "to"
    f_pos = np.flatnonzero(f.ok)
    node_dist = engine.node_seconds(prep, f, f_pos, to=to)
    node_s = node_dist[0]

    inside = _inside_mask(geom, transform, shape)
    rows, cols = np.nonzero(inside)
    xy = _cell_centres(transform, rows, cols)
    gcrs = prep.crs
    if not gcrs.equals(pcrs):
        tr = pyproj.Transformer.from_crs(pcrs, gcrs, always_xy=True)
        xy = np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
    # the engine at every cell centre: snapped onto the nearest edge, direct trips included;
    # with k_nodes > 1 the nearest nodes stand for the engine's other roads nearby
    cells = engine.snap_xy(graph, prep, xy, pd.RangeIndex(rows.size), extra_roads=None if k_nodes == 1 else 0, **opts)
    ok = np.flatnonzero(cells.ok)
    best = np.full(rows.size, np.inf)
    if to:
        direct = engine.direct_pairs(cells, ok, f, f_pos)
    else:
        fd = engine.direct_pairs(f, f_pos, cells, ok)
        direct = (fd[1], fd[0], fd[2])
    best[ok] = engine.nearest_one(prep, cells, ok, f, f_pos, to=to, max_s=np.inf, node_dist=node_dist, direct=direct)[0]
    if k_nodes > 1:
        # also the k nearest allowed nodes, each with its own straight leg (see the module notes)
        tree, pos = prep.tree(snap_to)
        k = min(int(k_nodes), tree.n)
        # query a hair beyond the limit, then apply the engine's inclusive test (dist <= max_snap_m)
        bound = max_snap_m * (1 + 1e-9) + 1e-9
        step = max(1, _QUERY_ROWS // k)
        for a in range(0, rows.size, step):
            q = xy[a : a + step]
            d, i = tree.query(q, k=k, distance_upper_bound=bound)
            d, i = d.reshape(len(q), k), i.reshape(len(q), k)
            found = (i < tree.n) & (d <= max_snap_m)
            node = np.where(found, i, 0)
            if pos is not None:
                node = pos[node]
            leg = np.where(found, d * cells.seconds_per_m, np.inf)
            t = np.where(found, node_s[node] + leg, np.inf)
            best[a : a + len(q)] = np.minimum(best[a : a + len(q)], t.min(axis=1))
    out = np.full(shape, np.nan)
    out[rows, cols] = np.where(np.isfinite(best), best / 60.0, np.nan)
    return out, transform


# --------------------------------------------------------------------------- COG writer
def _overview_factors(shape: tuple[int, int]) -> list[int]:
    """Powers of two while the reduced raster keeps at least 256 pixels on its long side."""
    out, f = [], 2
    while max(shape) / f >= 256:
        out.append(f)
        f *= 2
    return out


def write_cog(
    array: np.ndarray,
    transform: Affine,
    path: str | os.PathLike,
    *,
    crs: Any,
    nodata: float | None = math.nan,
    overviews: Sequence[int] | str = "auto",
    resampling: str = "average",
    dtype: str = "float32",
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> Path:
    """Write one band as a Cloud-Optimised GeoTIFF, atomically.

    Parameters
    ----------
    array : numpy.ndarray
        2-D values (``NaN`` where nodata when ``nodata`` is NaN).
    transform : affine.Affine
        North-up transform of the array (e.g. from :func:`raster_grid`).
    path : path
        Output file; written whole or not at all.
    crs : str or CRS
        The array's CRS (required).
    nodata : float or None
        Nodata value written in the file (default NaN).
    overviews : sequence of int or "auto"
        Internal overview factors; ``"auto"`` = powers of two while the long side keeps
        256 pixels; ``()`` for none.
    resampling : str
        GDAL resampling of the overviews (``average``, ``nearest``, ``min``, ...). Overviews
        of a population raster hold *averages* per cell, not sums.
    dtype : str
        Stored data type (float32 by default).
    tags : mapping, optional
        Dataset metadata (units, kind, model parameters...).
    description : str, optional
        Band description.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        Not a 2-D numeric array, a rotated transform, bad overview factors or resampling,
        or a NaN nodata with an integer dtype.
    CRSError
        ``crs`` is None or unknown.

    Notes
    -----
    The bands are written to an in-memory tiled GeoTIFF (512-pixel tiles), overviews are
    built there (``build_overviews``), and GDAL's COG driver copies it with
    ``OVERVIEWS=FORCE_USE_EXISTING``, DEFLATE and the predictor: the layout
    ``rio_cogeo.cogeo.cog_validate`` accepts (no rio-cogeo needed at run time).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> minutes = np.array([[10.0, 12.5], [np.nan, 30.0]])
    >>> transform = Affine(1000, 0, 770_000, 0, -1000, 6_280_000)  # 1 km cells in Lambert-93
    >>> write_cog(minutes, transform, "airport.tif", crs="EPSG:2154").name
    'airport.tif'
    """
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.io import MemoryFile

    arr = _check_array(array, "array")
    transform = _check_transform(transform)
    rcrs = _check_crs(crs)
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise InputError(f"dtype {dtype!r} is not a numpy data type; use e.g. 'float32'") from None
    if nodata is not None and isinstance(nodata, float) and math.isnan(nodata) and np_dtype.kind != "f":
        raise InputError(f"nodata=NaN needs a float dtype, got {dtype!r}; pass dtype='float32' or an integer nodata")
    if isinstance(overviews, str):
        if overviews != "auto":
            raise InputError(f"overviews must be 'auto' or a sequence of integer factors >= 2, got {overviews!r}")
        factors = _overview_factors(arr.shape)
    else:
        factors = list(overviews)
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2 for v in factors):
            raise InputError(f"overviews must be 'auto' or a sequence of integer factors >= 2, got {overviews!r}")
        factors = sorted({int(v) for v in factors})
    try:
        method = Resampling[resampling]
    except KeyError:
        raise InputError(
            f"resampling {resampling!r} is unknown; use one of average, nearest, min, max, mode, bilinear"
        ) from None
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": np_dtype.name,
        "crs": rasterio.crs.CRS.from_wkt(rcrs.to_wkt()),
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": _TILE,
        "blockysize": _TILE,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(arr.astype(np_dtype, copy=False), 1)
            if tags:
                ds.update_tags(**{str(k): str(v) for k, v in tags.items()})
            if description:
                ds.set_band_description(1, description)
            if factors:
                ds.build_overviews(factors, method)
                ds.update_tags(overview_resampling=resampling)
        with mem.open() as src, atomic_path(path) as tmp:
            rasterio.shutil.copy(
                src,
                tmp,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR="YES",
                BLOCKSIZE=_TILE,
                OVERVIEWS="FORCE_USE_EXISTING" if factors else "NONE",
            )
    return Path(path)


def _read_band(path: str | os.PathLike, name: str) -> tuple[np.ndarray, Affine, pyproj.CRS | None]:
    """Band 1 as float64 with nodata as NaN, its transform and CRS."""
    import rasterio

    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"{name} {str(p)!r} does not exist; pass the path of a GeoTIFF")
    try:
        with rasterio.open(p) as src:
            arr = src.read(1, masked=True).astype(float).filled(np.nan)
            return arr, src.transform, (pyproj.CRS.from_wkt(src.crs.to_wkt()) if src.crs else None)
    except rasterio.errors.RasterioIOError as exc:
        raise DataFileError(f"{name} {str(p)!r} cannot be read as a raster ({exc}); pass a GeoTIFF") from None


# --------------------------------------------------------------------------- territory rasters
def kind_facilities(territory: Any, kind: str) -> gpd.GeoDataFrame:
    """The on-network facilities of one kind of a territory.

    ``kind`` is a gateway kind (``airport``, ``seaport``, ``rail_station``,
    ``motorway_access``), ``tgv_station`` (rail stations with ``tgv`` True) or a
    support-body category (e.g. ``chamber_of_commerce``). Only rows with ``on_network``
    True are kept (the others are beyond the engine's snapping distance).

    Raises
    ------
    InputError
        ``kind`` names no gateway kind or support category of the territory.
    """
    gws, sup = territory.gateways, territory.support_bodies
    gw_kinds = set(gws["kind"].dropna().unique())
    categories = set(sup["category"].dropna().unique())
    if kind == "tgv_station":
        sel = gws[gws["group"].eq("tgv_station")]
    elif kind in gw_kinds:
        sel = gws[gws["kind"].eq(kind)]
    elif kind in categories:
        sel = sup[sup["category"].eq(kind)]
    else:
        choices = ", ".join(sorted(gw_kinds | {"tgv_station"} | categories))
        raise InputError(f"facility kind {kind!r} is unknown; choose among {choices}")
    return on_network(sel)


def _territory_crs(territory: Any) -> str:
    return territory.manifest.crs


def travel_time_rasters(
    territory: Any,
    out_dir: str | os.PathLike,
    *,
    cell_m: float = 200.0,
    kinds: Sequence[str] = DEFAULT_KINDS,
    k_nodes: int = K_NODES,
) -> list[Path]:
    """Write one travel-time COG per facility kind (minutes to the nearest on-network facility).

    Parameters
    ----------
    territory : proximity.territory.Territory
        Layers and network (:func:`proximity.territory.load_territory`).
    out_dir : path
        Output folder (created); files are ``travel_time_<kind>.tif``.
    cell_m : float
        Cell size in metres.
    kinds : sequence of str
        Facility kinds (see :func:`kind_facilities`).
    k_nodes : int
        Nodes considered per cell (see :func:`travel_time_surface`).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``kinds``.

    Raises
    ------
    InputError
        An unknown kind, or a kind with no on-network facility.

    Examples
    --------
    >>> travel_time_rasters(ter, "out/rasters", kinds=("airport",), cell_m=1000)
    [PosixPath('out/rasters/travel_time_airport.tif')]
    """
    out = check_out_dir(out_dir)
    crs = _territory_crs(territory)
    kinds = list(kinds)
    if not kinds:
        raise InputError("kinds is empty; pass facility kinds such as ('airport', 'tgv_station')")
    chosen = {k: kind_facilities(territory, k) for k in kinds}  # validate every kind first
    empty = [k for k, v in chosen.items() if len(v) == 0]
    if empty:
        raise InputError(f"no on-network facility of kind(s) {empty}; drop them from kinds")
    polygon = _area_geometry(territory.municipalities, _check_projected(crs), "territory.municipalities")
    paths = []
    for kind, fac in chosen.items():
        minutes, transform = travel_time_surface(
            territory.csr, fac, territory_polygon=polygon, cell_m=cell_m, crs=crs, k_nodes=k_nodes
        )
        tags = {
            "kind": kind,
            "units": "minutes",
            "n_facilities": len(fac),
            "facilities": ";".join(map(str, fac.index)),
            "k_nodes": k_nodes,
            "access_speed_kmh": ACCESS_SPEED_KMH,
            "access_detour": ACCESS_DETOUR,
            "max_snap_m": engine.MAX_SNAP_M,
            "model": "minutes to the nearest facility: best over the k nearest allowed nodes of node minutes + off-network leg",
        }
        paths.append(
            write_cog(
                minutes,
                transform,
                out / f"{_TRAVEL_PREFIX}{kind}.tif",
                crs=crs,
                tags=tags,
                description=f"minutes to nearest {kind}",
            )
        )
    return paths


# --------------------------------------------------------------------------- population
def _road_segments(graph_or_roads: Any, crs: pyproj.CRS, exclude_motorways: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points (n, 2) of straight road pieces in ``crs``."""
    if isinstance(graph_or_roads, CSRGraph):
        g = graph_or_roads
        coo = g.time_s.tocoo()
        a, b = np.minimum(coo.row, coo.col), np.maximum(coo.row, coo.col)
        pairs = np.unique(np.column_stack([a, b]), axis=0)  # one piece per road, whichever direction
        if exclude_motorways and g.snappable is not None:
            keep = g.snappable[pairs[:, 0]] | g.snappable[pairs[:, 1]]
            pairs = pairs[keep]
        x, y = np.asarray(g.x, float), np.asarray(g.y, float)
        gcrs = pyproj.CRS.from_user_input(g.crs)
        if not gcrs.equals(crs):
            x, y = pyproj.Transformer.from_crs(gcrs, crs, always_xy=True).transform(x, y)
            x, y = np.asarray(x), np.asarray(y)
        return np.column_stack([x[pairs[:, 0]], y[pairs[:, 0]]]), np.column_stack([x[pairs[:, 1]], y[pairs[:, 1]]])
    if isinstance(graph_or_roads, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if graph_or_roads.crs is None:
            raise CRSError(
                "graph_or_roads has no CRS; set it with .set_crs('EPSG:4326') (or the CRS of its coordinates)"
            )
        geom = graph_or_roads.geometry if isinstance(graph_or_roads, gpd.GeoDataFrame) else graph_or_roads
        geom = geom.to_crs(crs)
        parts = shapely.get_parts(geom.values)
        lines = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
        if lines.size == 0:
            raise InputError(
                "graph_or_roads holds no line geometry; pass road centre lines (e.g. territory.road_lines(G)) or a CSRGraph"
            )
        coords, idx = shapely.get_coordinates(lines, return_index=True)
        same = idx[1:] == idx[:-1]
        return coords[:-1][same], coords[1:][same]
    raise InputError(
        f"graph_or_roads must be a proximity.network.CSRGraph or a GeoDataFrame/GeoSeries of road lines, got {type(graph_or_roads).__name__}"
    )


def _road_length_grid(p0: np.ndarray, p1: np.ndarray, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """Road metres per cell: each piece sampled every <= cell/4, each sample carrying its share of the length."""
    c = transform.a
    length = np.hypot(*(p1 - p0).T)
    keep = length > 0
    p0, p1, length = p0[keep], p1[keep], length[keep]
    n = np.maximum(1, np.ceil(length / (c / 4.0))).astype(np.int64)
    seg = np.repeat(np.arange(length.size), n)
    start = np.repeat(np.cumsum(n) - n, n)
    frac = (np.arange(seg.size) - start + 0.5) / n[seg]
    pts = p0[seg] + (p1[seg] - p0[seg]) * frac[:, None]
    w = length[seg] / n[seg]
    col = np.floor((pts[:, 0] - transform.c) / c).astype(np.int64)
    row = np.floor((pts[:, 1] - transform.f) / transform.e).astype(np.int64)
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    return np.bincount(row[ok] * shape[1] + col[ok], weights=w[ok], minlength=shape[0] * shape[1]).reshape(shape)


def _zone_labels(zones: gpd.GeoDataFrame, crs: pyproj.CRS, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """int32 raster: 1 + position of the zone containing each cell centre, 0 outside every zone."""
    from rasterio.features import rasterize

    geoms = zones.geometry.to_crs(crs).values
    return rasterize(
        ((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
        out_shape=shape,
        transform=transform,
        fill=0,
        all_touched=False,
        dtype="int32",
    )


def _check_zones(zones: Any, name: str) -> gpd.GeoDataFrame:
    if not isinstance(zones, gpd.GeoDataFrame):
        raise InputError(
            f"{name} must be a GeoDataFrame of polygons (e.g. territory.municipalities), got {type(zones).__name__}"
        )
    if len(zones) == 0:
        raise InputError(f"{name} is empty; pass at least one polygon")
    if zones.crs is None:
        raise CRSError(f"{name} has no CRS; set it with .set_crs('EPSG:4326') (or the CRS of its coordinates)")
    if not zones.index.is_unique:
        raise InputError(f"{name} has duplicate index labels; the index gives the zone ids: make it unique")
    return zones


def population_raster(
    municipalities: gpd.GeoDataFrame,
    graph_or_roads: CSRGraph | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_m: float = 200.0,
    crs: str = "EPSG:2154",
    population_column: str = "population",
    floor_share: float = FLOOR_SHARE,
    exclude_motorways: bool = True,
) -> tuple[np.ndarray, Affine]:
    """Inhabitants per cell: each municipality's population spread over its cells by road length.

    Parameters
    ----------
    municipalities : GeoDataFrame
        Polygons (any CRS) with a population column.
    graph_or_roads : CSRGraph or GeoDataFrame/GeoSeries of lines
        The road network: a :class:`~proximity.network.CSRGraph` (edges as straight
        node-to-node pieces, one per road whatever its directions) or road centre lines.
    cell_m : float
        Cell size in metres.
    crs : str
        Projected CRS of the grid (metres).
    population_column : str
        Column of ``municipalities`` with the inhabitants.
    floor_share : float
        Share of each commune's population spread evenly over all its cells (0 to 1).
    exclude_motorways : bool
        With a CSRGraph, leave out edges between two motorway-only nodes (not
        ``graph.snappable``): nobody lives along a motorway.

    Returns
    -------
    (numpy.ndarray, affine.Affine)
        ``float64`` inhabitants per cell (``NaN`` outside every municipality) on the grid
        of :func:`raster_grid` over the municipalities, and its transform.

    Raises
    ------
    InputError
        Bad ``cell_m`` or ``floor_share``, missing, negative or NaN populations, inputs of
        the wrong type.
    MissingColumnError
        ``population_column`` is missing.
    CRSError
        An input has no CRS; ``crs`` is not projected in metres.

    Notes
    -----
    Dasymetric rule: a commune with ``P`` inhabitants, ``n`` cells (cells whose centre is
    inside it) and ``R`` road metres in those cells gives cell ``i`` (``r_i`` road metres)
    ``P * (floor_share / n + (1 - floor_share) * r_i / R)``: people live along roads, and
    a small even share covers farms and hamlets off the mapped network. A commune with no
    road in its cells is spread evenly (``P / n``); a commune smaller than a cell (no cell
    centre inside) puts ``P`` in the cell holding its representative point. Each commune's
    total is preserved exactly (float64; float32 files keep 7 digits). With the default
    network, roads are denser in Montpellier (detailed OSM streets) than elsewhere (the
    Travel Mapping skeleton of A/N/D roads); within one commune the proxy only moves
    people towards its roads and villages, never between communes.

    Examples
    --------
    >>> import numpy as np
    >>> pop, transform = population_raster(ter.municipalities, ter.csr, cell_m=1000)
    >>> round(float(np.nansum(pop))) == int(ter.municipalities["population"].sum())
    True
    """
    munis = _check_zones(municipalities, "municipalities")
    c = _check_cell_m(cell_m)
    pcrs = _check_projected(crs)
    if population_column not in munis.columns:
        raise MissingColumnError(
            f"municipalities has no column {population_column!r} (columns: {list(munis.columns)}); pass population_column="
        )
    pop = pd.to_numeric(munis[population_column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any():
        raise InputError(
            f"municipalities column {population_column!r} has {int(bad.sum())} missing, non-numeric or negative value(s) "
            f"(e.g. rows {list(munis.index[bad][:5])}); fill them with counts >= 0"
        )
    if (
        isinstance(floor_share, bool)
        or not isinstance(floor_share, (int, float, np.number))
        or not 0 <= floor_share <= 1
    ):
        raise InputError(f"floor_share must be a number between 0 and 1, got {floor_share!r}")
    geoms = munis.geometry.to_crs(pcrs)
    transform, shape = _grid_of_bounds(tuple(geoms.total_bounds), c)
    labels = _zone_labels(munis, pcrs, transform, shape)
    p0, p1 = _road_segments(graph_or_roads, pcrs, exclude_motorways)
    road = _road_length_grid(p0, p1, transform, shape)

    nz = len(munis) + 1
    flat_l, flat_r = labels.ravel(), road.ravel()
    n_cells = np.bincount(flat_l, minlength=nz).astype(float)
    road_tot = np.bincount(flat_l, weights=flat_r, minlength=nz)
    p = np.concatenate([[0.0], pop])
    has_road = road_tot > 0
    safe_n, safe_r = np.maximum(n_cells, 1.0), np.where(has_road, road_tot, 1.0)
    share_even = np.where(has_road, floor_share, 1.0) / safe_n
    share_road = np.where(has_road, (1.0 - floor_share) / safe_r, 0.0)
    cells = p[flat_l] * (share_even[flat_l] + share_road[flat_l] * flat_r)
    out = np.where(flat_l > 0, cells, np.nan).reshape(shape)
    # communes without a cell centre: everything in the cell of their representative point
    for z in np.flatnonzero(n_cells[1:] == 0):
        if pop[z] == 0:
            continue
        pt = geoms.iloc[z].representative_point()
        col, row = int((pt.x - transform.c) // c), int((pt.y - transform.f) // transform.e)
        out[row, col] = (0.0 if np.isnan(out[row, col]) else out[row, col]) + pop[z]
    return out, transform


def read_population_raster(
    path: str | os.PathLike,
    *,
    dst_crs: Any,
    dst_transform: Affine,
    shape: tuple[int, int],
) -> np.ndarray:
    """Read a population raster (counts per cell, any CRS and resolution) onto a grid.

    Parameters
    ----------
    path : path
        A single-band raster of *counts* per cell (e.g. GHS-POP, WorldPop, INSEE Filosofi
        grids rasterised), in any CRS; its nodata cells count 0.
    dst_crs, dst_transform, shape
        The target grid (e.g. ``crs`` and the output of :func:`raster_grid`).

    Returns
    -------
    numpy.ndarray
        ``float64`` inhabitants per target cell (0 where the source has no data or does
        not cover the grid).

    Raises
    ------
    DataFileError
        The file is missing or not a raster.
    CRSError
        The file has no CRS (set one with ``rio edit-info --crs EPSG:... FILE``), or
        ``dst_crs`` is unknown.
    InputError
        A bad transform or shape.

    Notes
    -----
    ``rasterio.warp.reproject`` with ``Resampling.sum`` (GDAL >= 3.1): each target cell
    gets the sum of the source cells weighted by the fraction of each source cell it
    covers, so totals are conserved whether the target grid is finer or coarser (measured:
    a 0.01° EPSG:4326 grid read onto 200 m Lambert-93 cells keeps its total to 1e-5).
    Population is lost only where the source extends beyond the target grid.

    Examples
    --------
    A 1 km population raster (standing for a GHS-POP file) read onto 500 m cells:

    >>> import numpy as np
    >>> pop, transform = population_raster(ter.municipalities, ter.csr, cell_m=1000)
    >>> path = write_cog(pop, transform, "ghs_pop.tif", crs="EPSG:2154")
    >>> fine, shape = raster_grid(ter.municipalities, cell_m=500)
    >>> pop500 = read_population_raster(path, dst_crs="EPSG:2154", dst_transform=fine, shape=shape)
    >>> round(float(np.nansum(pop500) / np.nansum(pop)), 4)
    1.0
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    dst_transform = _check_transform(dst_transform, "dst_transform")
    dcrs = _check_crs(dst_crs, "dst_crs")
    try:
        shape = (int(shape[0]), int(shape[1]))
    except (TypeError, ValueError, IndexError):
        raise InputError(f"shape must be (rows, columns), got {shape!r}") from None
    if shape[0] <= 0 or shape[1] <= 0:
        raise InputError(f"shape must be positive (rows, columns), got {shape!r}")
    src, src_transform, src_crs = _read_band(path, "path")
    if src_crs is None:
        raise CRSError(
            f"population raster {str(path)!r} has no CRS; set it with `rio edit-info --crs EPSG:4326 {path}` (or its real CRS)"
        )
    src = np.where(np.isfinite(src) & (src > 0), src, 0.0)
    dst = np.zeros(shape)
    reproject(
        src,
        dst,
        src_transform=src_transform,
        src_crs=src_crs.to_wkt(),
        dst_transform=dst_transform,
        dst_crs=dcrs.to_wkt(),
        resampling=Resampling.sum,
        src_nodata=None,
        dst_nodata=None,
        init_dest_nodata=False,
    )
    return np.where(np.isfinite(dst), dst, 0.0)


# --------------------------------------------------------------------------- zonal sums
def _as_grid(value: Any, name: str) -> tuple[np.ndarray, Affine | None, pyproj.CRS | None]:
    if isinstance(value, (str, os.PathLike)):
        return _read_band(value, name)
    return _check_array(value, name).astype(float), None, None


def zonal_population_within(
    travel_raster: Any,
    population_raster: Any,
    *,
    thresholds_minutes: Sequence[float] = (30, 45, 60),
    zones: gpd.GeoDataFrame | None = None,
    transform: Affine | None = None,
    crs: Any = None,
) -> pd.DataFrame:
    """Population within given travel times of each facility kind, per zone and for the territory.

    Parameters
    ----------
    travel_raster : path, array, or mapping of kind -> path or array
        Travel-time surfaces (minutes, NaN = unreachable). A single path is named by its
        file name without ``travel_time_`` (``travel_time_airport.tif`` -> ``airport``); a
        single array is named ``facility``.
    population_raster : path or array
        Inhabitants per cell on the same grid (:func:`population_raster`,
        :func:`read_population_raster`).
    thresholds_minutes : sequence of float
        Cut-offs (inclusive).
    zones : GeoDataFrame, optional
        Polygons (e.g. municipalities); a cell counts in the zone holding its centre.
    transform, crs
        The grid of array inputs (read from the files for paths; must agree).

    Returns
    -------
    pandas.DataFrame
        Indexed by the zones' index plus a last row ``"total"`` (every cell of the grid,
        including cells outside every zone), with ``population`` (the raster's inhabitants)
        and one column ``<kind>_<minutes>`` per kind and threshold (e.g. ``airport_30``):
        inhabitants of cells whose travel time is at most the threshold.

    Raises
    ------
    InputError
        Rasters of different shapes or grids, no transform/crs for arrays with zones,
        bad thresholds.
    CRSError
        Zones without CRS.

    Examples
    --------
    >>> [airport] = travel_time_rasters(ter, "out", kinds=("airport",), cell_m=1000)
    >>> pop, transform = population_raster(ter.municipalities, ter.csr, cell_m=1000)
    >>> pop_path = write_cog(pop, transform, "out/population.tif", crs="EPSG:2154")
    >>> table = zonal_population_within({"airport": airport}, pop_path, zones=ter.municipalities)
    >>> len(table) == len(ter.municipalities) + 1  # and the "total" row
    True
    """
    if isinstance(travel_raster, Mapping):
        if not travel_raster:
            raise InputError("travel_raster is an empty mapping; pass {kind: path or array}")
        items = [(str(k), v) for k, v in travel_raster.items()]
    elif isinstance(travel_raster, (str, os.PathLike)):
        stem = Path(travel_raster).stem
        items = [(stem.removeprefix(_TRAVEL_PREFIX), travel_raster)]
    else:
        items = [("facility", travel_raster)]
    thresholds = engine.check_thresholds(thresholds_minutes)
    pop, p_tr, p_crs = _as_grid(population_raster, "population_raster")
    grids = {k: _as_grid(v, f"travel_raster[{k!r}]") for k, v in items}
    ref_tr, ref_crs = p_tr, p_crs
    for k, (arr, tr, cr) in grids.items():
        if arr.shape != pop.shape:
            raise InputError(
                f"travel_raster[{k!r}] has shape {arr.shape} but population_raster {pop.shape}; put both on one grid (read_population_raster)"
            )
        if tr is not None:
            if ref_tr is not None and not tr.almost_equals(ref_tr, precision=1e-6):
                raise InputError(
                    f"travel_raster[{k!r}] and population_raster have different transforms; put both on one grid (read_population_raster)"
                )
            if ref_crs is not None and cr is not None and not cr.equals(ref_crs):
                raise InputError(
                    f"travel_raster[{k!r}] and population_raster have different CRSs; put both on one grid (read_population_raster)"
                )
            ref_tr = tr if ref_tr is None else ref_tr
            ref_crs = cr if ref_crs is None else ref_crs
    if transform is not None:
        transform = _check_transform(transform)
        if ref_tr is not None and not transform.almost_equals(ref_tr, precision=1e-6):
            raise InputError("transform differs from the rasters' own; leave it out when passing files")
        ref_tr = transform
    if crs is not None:
        ref_crs = _check_crs(crs)
    pop = np.where(np.isfinite(pop), pop, 0.0)

    if zones is not None:
        zones = _check_zones(zones, "zones")
        if ref_tr is None or ref_crs is None:
            raise InputError("zones need the grid: pass transform= and crs= with array inputs (or pass file paths)")
        labels = _zone_labels(zones, ref_crs, ref_tr, pop.shape).ravel()
        n_z = len(zones)
        index = [*zones.index, "total"]
    else:
        labels = np.zeros(pop.size, dtype=np.int32)
        n_z = 0
        index = ["total"]

    def sums(weights: np.ndarray) -> np.ndarray:
        per_zone = np.bincount(labels, weights=weights, minlength=n_z + 1)[1:] if n_z else np.empty(0)
        return np.concatenate([per_zone, [weights.sum()]])

    flat_pop = pop.ravel()
    data = {"population": sums(flat_pop)}
    for kind, (arr, _, _) in grids.items():
        minutes = arr.ravel()
        for t in thresholds:
            within = np.isfinite(minutes) & (minutes <= t)
            data[f"{kind}_{t:g}"] = sums(np.where(within, flat_pop, 0.0))
    return pd.DataFrame(data, index=pd.Index(index, name=zones.index.name if zones is not None else None))


# --------------------------------------------------------------------------- everything
def write_rasters(
    territory: Any,
    out_dir: str | os.PathLike,
    *,
    cell_m: float = defaults.RASTER_CELL_M,
    kinds: Sequence[str] = DEFAULT_KINDS,
    thresholds_minutes: Sequence[float] = (30, 45, 60),
    k_nodes: int = K_NODES,
) -> list[Path]:
    """Travel-time COGs per kind, the population COG and the population-within table of a territory.

    The one function behind ``proximity raster --out DIR``. Writes
    ``travel_time_<kind>.tif`` (:func:`travel_time_rasters`), ``population.tif``
    (:func:`population_raster` from the territory's municipalities and network) and
    ``population_within.csv`` (:func:`zonal_population_within` per municipality plus the
    ``total`` row).

    Parameters
    ----------
    territory : proximity.territory.Territory
        Layers and network (:func:`proximity.territory.load_territory`).
    out_dir : path
        Output folder (created).
    cell_m : float
        Cell size in metres, of every raster.
    kinds : sequence of str
        Facility kinds (see :func:`kind_facilities`).
    thresholds_minutes : sequence of float
        The travel times of the population-within table, in minutes.
    k_nodes : int
        Nodes considered per cell (see :func:`travel_time_surface`).

    Returns
    -------
    list of pathlib.Path
        The files written: the travel-time COGs in the order of ``kinds``, then
        ``population.tif`` and ``population_within.csv``.

    Examples
    --------
    >>> paths = write_rasters(ter, "out/rasters", cell_m=1000, kinds=("airport", "tgv_station"))
    >>> [p.name for p in paths]
    ['travel_time_airport.tif', 'travel_time_tgv_station.tif', 'population.tif', 'population_within.csv']
    """
    out = check_out_dir(out_dir)
    thresholds = engine.check_thresholds(thresholds_minutes)
    crs = _territory_crs(territory)
    paths = travel_time_rasters(territory, out, cell_m=cell_m, kinds=kinds, k_nodes=k_nodes)
    pop, transform = population_raster(territory.municipalities, territory.csr, cell_m=cell_m, crs=crs)
    tags = {
        "units": "inhabitants per cell",
        "rule": f"dasymetric by road length, floor_share={FLOOR_SHARE}",
        "overviews": "cell averages",
    }
    pop_path = write_cog(pop, transform, out / "population.tif", crs=crs, tags=tags, description="inhabitants per cell")
    table = zonal_population_within(
        {p.stem[len(_TRAVEL_PREFIX) :]: p for p in paths},
        pop_path,
        thresholds_minutes=thresholds,
        zones=territory.municipalities,
    )
    csv = write_csv(table, out / "population_within.csv", index_label="insee")
    return [*paths, pop_path, csv]


# --------------------------------------------------------------------------- map overlays
def _colour_stops(cmap: str) -> np.ndarray:
    if not isinstance(cmap, str):
        raise InputError(f"cmap must be a colour-map name, got {type(cmap).__name__}")
    name, rev = (cmap[:-2], True) if cmap.endswith("_r") else (cmap, False)
    if name not in COLORMAPS:
        raise InputError(f"cmap {cmap!r} is unknown; choose one of {', '.join(COLORMAPS)} (add '_r' to reverse)")
    stops = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in COLORMAPS[name]], dtype=float)
    return stops[::-1] if rev else stops


def _check_range(arr: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    finite = arr[np.isfinite(arr)]
    if (vmin is None or vmax is None) and finite.size == 0:
        raise InputError("array has no finite value; pass vmin and vmax explicitly")
    lo = float(finite.min()) if vmin is None else float(vmin)
    hi = float(finite.max()) if vmax is None else float(vmax)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"vmin and vmax must be finite numbers, got {vmin!r} and {vmax!r}")
    if hi <= lo:
        hi = lo + 1.0 if vmin is None or vmax is None else hi
        if hi <= lo:
            raise InputError(f"vmax must be greater than vmin, got vmin={vmin!r}, vmax={vmax!r}")
    return lo, hi


def _png_rgba(rgba: np.ndarray) -> bytes:
    """Encode an (h, w, 4) uint8 array as a PNG (no dependency beyond zlib)."""
    h, w, _ = rgba.shape
    raw = np.zeros((h, w * 4 + 1), dtype=np.uint8)  # filter byte 0 per row
    raw[:, 1:] = rgba.reshape(h, w * 4)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def raster_overlay_image(
    array: np.ndarray,
    transform: Affine,
    crs: Any,
    *,
    cmap: str = "travel",
    vmin: float | None = None,
    vmax: float | None = None,
    max_size_px: int = 2048,
) -> tuple[str, list[list[float]]]:
    """A raster as a coloured PNG in Web Mercator, for ``folium.raster_layers.ImageOverlay``.

    Parameters
    ----------
    array : numpy.ndarray
        2-D values; ``NaN`` cells are transparent.
    transform : affine.Affine
        The array's north-up transform.
    crs : str or CRS
        The array's CRS.
    cmap : str
        A name of :data:`COLORMAPS` (``travel``, ``population``, ``viridis``, ``magma``;
        ``_r`` reverses).
    vmin, vmax : float, optional
        Values mapped to the two ends of the colour map (default: the data's range);
        values beyond are clipped to the end colours.
    max_size_px : int
        Longest side of the image in pixels.

    Returns
    -------
    (str, list)
        A ``data:image/png;base64,...`` URL and the bounds ``[[south, west], [north,
        east]]`` in degrees.

    Raises
    ------
    InputError
        Not a 2-D numeric array, bad transform, unknown cmap, no finite value without
        ``vmin``/``vmax``, or ``vmax <= vmin``.
    CRSError
        ``crs`` is None or unknown.

    Notes
    -----
    The array is reprojected to EPSG:3857 (nearest neighbour: cells stay crisp and NaN
    stays NaN) so that image rows are straight in the map's projection; Leaflet stretches
    an image overlay linearly between its corners in Web Mercator, so the overlay lines up
    without further warping. maps.py should call::

        url, bounds = raster.raster_overlay_image(minutes, transform, "EPSG:2154", cmap="travel", vmin=0, vmax=90)
        folium.raster_layers.ImageOverlay(
            image=url, bounds=bounds, opacity=0.7, mercator_project=False, name="Minutes to airport"
        ).add_to(m)
        spec = raster.raster_legend(cmap="travel", vmin=0, vmax=90, caption="Minutes to the nearest airport")
        branca.colormap.LinearColormap(
            spec["colors"], index=spec["index"], vmin=spec["vmin"], vmax=spec["vmax"], caption=spec["caption"]
        ).add_to(m)

    (``mercator_project`` must stay False: the image is already in Web Mercator.)

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> minutes = np.array([[10.0, 12.5], [np.nan, 30.0]])
    >>> transform = Affine(1000, 0, 770_000, 0, -1000, 6_280_000)  # 1 km cells in Lambert-93
    >>> url, bounds = raster_overlay_image(minutes, transform, "EPSG:2154", vmin=0, vmax=90)
    >>> url[:22]
    'data:image/png;base64,'
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject, transform_bounds

    arr = _check_array(array, "array").astype(float)
    transform = _check_transform(transform)
    scrs = _check_crs(crs)
    if isinstance(max_size_px, bool) or not isinstance(max_size_px, (int, np.integer)) or max_size_px < 2:
        raise InputError(f"max_size_px must be an integer >= 2, got {max_size_px!r}")
    stops = _colour_stops(cmap)
    lo, hi = _check_range(arr, vmin, vmax)

    h, w = arr.shape
    left, top = transform.c, transform.f
    right, bottom = left + w * transform.a, top + h * transform.e
    src_wkt = scrs.to_wkt()
    # a Web Mercator grid over the raster's footprint with about as many pixels as the source
    m_left, m_bottom, m_right, m_top = transform_bounds(src_wkt, "EPSG:3857", left, bottom, right, top, densify_pts=21)
    res = math.sqrt((m_right - m_left) * (m_top - m_bottom) / (w * h))
    res = max(res, max(m_right - m_left, m_top - m_bottom) / max_size_px)
    dw, dh = max(1, math.ceil((m_right - m_left) / res)), max(1, math.ceil((m_top - m_bottom) / res))
    dst_tr = Affine(res, 0.0, m_left, 0.0, -res, m_top)
    merc = np.full((dh, dw), np.nan)
    reproject(
        arr,
        merc,
        src_transform=transform,
        src_crs=src_wkt,
        dst_transform=dst_tr,
        dst_crs="EPSG:3857",
        resampling=Resampling.nearest,
        src_nodata=np.nan,
        dst_nodata=np.nan,
    )

    ok = np.isfinite(merc)
    v = np.clip((np.where(ok, merc, lo) - lo) / (hi - lo), 0.0, 1.0)
    pos = np.linspace(0.0, 1.0, len(stops))
    rgba = np.zeros((dh, dw, 4), dtype=np.uint8)
    for ch in range(3):
        rgba[..., ch] = np.rint(np.interp(v, pos, stops[:, ch])).astype(np.uint8)
    rgba[..., 3] = np.where(ok, 255, 0)
    url = "data:image/png;base64," + base64.b64encode(_png_rgba(rgba)).decode("ascii")
    m_right, m_bottom = m_left + dw * res, m_top - dh * res
    west, south, east, north = transform_bounds("EPSG:3857", "EPSG:4326", m_left, m_bottom, m_right, m_top)
    return url, [[float(south), float(west)], [float(north), float(east)]]


def raster_legend(*, cmap: str = "travel", vmin: float, vmax: float, caption: str = "") -> dict[str, Any]:
    """The legend of an overlay: colours and their values, for ``branca.colormap.LinearColormap``.

    Parameters
    ----------
    cmap : str
        A colour map of :data:`COLORMAPS` (``"_r"`` appended reverses it).
    vmin, vmax : float
        The values of the first and the last colour (``vmax > vmin``).
    caption : str
        The legend's title.

    Returns
    -------
    dict
        ``colors`` (hex, low to high), ``index`` (the value of each colour, evenly spaced
        from ``vmin`` to ``vmax``), ``vmin``, ``vmax`` and ``caption``.

    Raises
    ------
    InputError
        Unknown cmap, or ``vmax <= vmin``.

    Examples
    --------
    >>> raster_legend(cmap="travel", vmin=0, vmax=90, caption="Minutes to the nearest airport")["index"][:3]
    [0.0, 11.25, 22.5]
    """
    stops = _colour_stops(cmap)
    lo, hi = _check_range(np.array([np.nan]), vmin, vmax)
    colors = ["#" + "".join(f"{int(c):02x}" for c in s) for s in stops]
    return {
        "colors": colors,
        "index": [float(x) for x in np.linspace(lo, hi, len(colors))],
        "vmin": lo,
        "vmax": hi,
        "caption": caption,
    }
