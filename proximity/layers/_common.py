"""Small helpers shared by the layer loaders (territory settings, point reading, ids)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .. import datasets

WGS84 = "EPSG:4326"


@lru_cache(maxsize=16)
def bounds(territory: str) -> tuple[float, float, float, float]:
    """Plausible (lon_min, lat_min, lon_max, lat_max) of a territory's layers.

    A local manifest's ``bounds_wgs84``; for a territory spec (see :mod:`proximity.area`),
    the bounds of its outline buffered by :data:`proximity.area.DEFAULT_BUFFER_KM`, plus 0.05°.
    """
    from .national import is_spec

    if is_spec(territory):
        from .. import area

        x0, y0, x1, y1 = area.resolve(territory).bounds_wgs84(area.DEFAULT_BUFFER_KM)
        return (x0 - 0.05, y0 - 0.05, x1 + 0.05, y1 + 0.05)
    return tuple(datasets.load_manifest(territory).bounds_wgs84)  # type: ignore[return-value]


def metric_crs(territory: str) -> str:
    """The territory's projected CRS (metres) used for areas and distances (EPSG:2154 for a spec)."""
    from .national import is_spec

    if is_spec(territory):
        return "EPSG:2154"
    return datasets.load_manifest(territory).crs


def slug(text: str) -> str:
    """ASCII lower-case id fragment: ``"Sète Ouest"`` → ``"sete-ouest"``."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")


def in_box(lon: ArrayLike, lat: ArrayLike, box: Sequence[float]) -> np.ndarray:
    """Boolean mask of the points inside a (lon_min, lat_min, lon_max, lat_max) box."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])


def split_latlon(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split a ``"lat, lon"`` text column (SNCF, MESR exports) into two float Series."""
    if len(text) == 0:
        empty = pd.Series([], index=text.index, dtype=float)
        return empty, empty.copy()
    parts = text.astype("string").str.split(",", n=1, expand=True)
    lat = pd.to_numeric(parts[0].str.strip(), errors="coerce")
    lon = pd.to_numeric(parts[1].str.strip(), errors="coerce") if parts.shape[1] > 1 else lat * np.nan
    return lat.astype(float), lon.astype(float)


def points(df: pd.DataFrame, lon: ArrayLike, lat: ArrayLike, *, index_from: str = "id") -> gpd.GeoDataFrame:
    """A point GeoDataFrame in EPSG:4326 indexed by its ``index_from`` column.

    The index is unnamed: an index named like a column makes ``reset_index``, ``sjoin``
    and ``groupby`` fail or warn.
    """
    gdf = gpd.GeoDataFrame(df.copy(), geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    gdf.index = pd.Index(gdf[index_from].to_numpy())
    return gdf


def nearest_dedupe(
    gdf: gpd.GeoDataFrame, *, priority: ArrayLike, distance_m: float, crs: str, group: ArrayLike | None = None
) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Greedy de-duplication of points: best priority first, drop points within ``distance_m``.

    Returns the positions kept (in priority order) and, for each kept position, the
    positions it absorbed. With ``group``, only points of the same group are compared.
    The kept set never has two points of a group closer than ``distance_m``.
    """
    xy = gdf.geometry.to_crs(crs)
    x = xy.x.to_numpy()
    y = xy.y.to_numpy()
    order = np.lexsort((np.arange(len(gdf)), np.asarray(priority)))
    grp = np.zeros(len(gdf), dtype=object) if group is None else np.asarray(group, dtype=object)
    kept: list[int] = []
    absorbed: dict[int, list[int]] = {}
    for i in order:
        hit = None
        for k in kept:
            if grp[k] == grp[i] and np.hypot(x[k] - x[i], y[k] - y[i]) <= distance_m:
                hit = k
                break
        if hit is None:
            kept.append(int(i))
            absorbed[int(i)] = []
        else:
            absorbed[hit].append(int(i))
    return np.array(kept, dtype=int), absorbed


def on_network(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of a facility layer within reach of the road network.

    :func:`proximity.territory.load_territory` marks every gateway and support body with
    ``on_network`` (snapped within the engine's maximum distance); the others stay in the
    layer and on the maps but no travel time is computed to them. A missing flag counts as
    off the network; a layer without the column is returned whole.

    Parameters
    ----------
    layer : GeoDataFrame
        Gateways, support bodies or any facility layer.

    Returns
    -------
    GeoDataFrame
        The rows with ``on_network`` True (the layer itself when it has no such column).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from proximity.layers import on_network
    >>> g = gpd.GeoDataFrame(
    ...     {"on_network": pd.array([True, pd.NA, False], dtype="boolean")},
    ...     geometry=gpd.points_from_xy([0, 1, 2], [0, 0, 0]),
    ... )
    >>> list(on_network(g).index)
    [0]
    """
    if "on_network" not in layer.columns:
        return layer
    return layer[layer["on_network"].fillna(False).astype(bool).to_numpy()]
