"""Incubator site selection: candidate sites, criteria, ranking, coverage and p-median.

Torres (2002) [1]_ describes the plan of the Montpellier chamber of commerce for a
*business incubator for international trade* "planned to be located near the airport of
Montpellier", meant to gather export groups of SMEs and to connect them to the support
bodies of the territory. This module turns that siting question into numbers, in four
steps that follow the data flow of the package:

1. :func:`candidate_sites` lists where the incubator could go: the user's own sites,
   business parks, municipality centres or a regular grid over the territory;
2. :func:`site_criteria` measures each candidate on long travel-time tables: minutes
   to the airport, to a TGV station and to a motorway access, SMEs, exporters and
   support bodies within a time;
3. :func:`rank_sites` (weighted, min-max normalised multi-criteria score) and
   :func:`pareto_front` (non-dominated candidates) compare candidates without a model
   of demand;
4. :func:`maximal_covering`, :func:`p_median` and :func:`sweep` solve the classic
   location-allocation models [2]_ [3]_ as mixed-integer programmes with HiGHS (through
   :func:`scipy.optimize.milp`), on a long travel-time table ``candidate -> demand``.

:func:`add_site_as_support` appends a chosen site to the support-body layer so that the
milieu index can be recomputed "with the incubator" (what-if).

Conventions
-----------
Travel-time tables
    Long DataFrames ``origin_id, destination_id, minutes`` as written by
    :func:`proximity.traveltime.od_matrix`. In this module the **origin is the candidate
    site** and the destination a demand point (SME) or a facility (airport, station…).
    A table built the other way (SMEs to candidates, which differs on one-way streets)
    is turned round with
    ``od.rename(columns={"origin_id": "destination_id", "destination_id": "origin_id"})``.
Unreachable pairs
    A pair absent from the table (beyond the cut-off it was built with, or with no path)
    or with ``minutes = inf`` is *not reachable*. It never breaks a model: in the maximal
    covering model it does not cover; in the p-median model a demand point that no
    chosen site reaches pays ``penalty_minutes``, and a demand point that no candidate
    at all reaches is left out of the model and listed in
    :attr:`LocationResult.unreachable`.
Identifiers
    Results are indexed by candidate id (the ``origin_id`` values, or the ``candidates``
    given) or by demand id (the index of ``demand_weights``), in input order.

References
----------
.. [1] Torres, O. (2002). Small firm, glocalization strategy and proximity. 16th ECSB
   RENT conference, Barcelona.
.. [2] Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers
   of the Regional Science Association* 32(1), 101-118.
.. [3] ReVelle, C. S. & Swain, R. W. (1970). Central facilities location.
   *Geographical Analysis* 2(1), 30-42.
.. [4] Church, R. L. & Murray, A. T. (2018). *Location Covering Models*. Springer.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from . import accessibility
from .errors import ConfigError, CRSError, DataFileError, InputError, MissingColumnError, ProximityError
from .layers import CATEGORIES, read_user_points, validate_layer

__all__ = [
    "CANDIDATE_KINDS",
    "DEFAULT_DIRECTIONS",
    "DEFAULT_WEIGHTS",
    "DEFAULT_WITHIN_MINUTES",
    "MAX_GRID_POINTS",
    "LocationResult",
    "add_site_as_support",
    "candidate_sites",
    "maximal_covering",
    "p_median",
    "pareto_front",
    "rank_sites",
    "site_criteria",
    "sweep",
]

WGS84 = "EPSG:4326"

CANDIDATE_KINDS: tuple[str, ...] = ("user", "business_parks", "municipalities", "grid")
"""Sources of candidate sites accepted by :func:`candidate_sites` (``kind=``)."""

MAX_GRID_POINTS: int = 200_000
"""Largest grid :func:`candidate_sites` builds (a location model on more is impractical)."""

DEFAULT_WITHIN_MINUTES: float = 30.0
"""Default time ``t`` of the ``*_within_t`` criteria of :func:`site_criteria`.

An assumption, not a calibrated value: half an hour's drive is the usual limit of a
"local" business trip in a French département, and the distance at which Torres's
proximity principle (a closer partner is preferred) still applies to a visit to the
incubator.
"""

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "minutes_airport": 0.30,
    "smes_within_t": 0.20,
    "exporters_within_t": 0.15,
    "support_within_t": 0.15,
    "support_gravity": 0.0,
    "minutes_tgv": 0.10,
    "minutes_motorway": 0.10,
}
"""Default weights of :func:`rank_sites` (they sum to 1; edit a copy, pass it as ``weights``).

The airport comes first because the chamber of commerce sited its incubator for
international trade *near the airport* and Torres (2002) names "an airport, a motorway
or a port" first among the resources of an internationalising territory; the SMEs and
exporters within reach are the incubator's users (proximity principle); the support
bodies within reach stand for the "institutional thickness" it should join; rail and
motorway access complete the communication facilities. ``support_gravity`` (the same
bodies weighted by a decay instead of counted within ``t``) is 0 so as not to count the
support bodies twice: move the 0.15 of ``support_within_t`` onto it to use it instead.
These are judgements to be debated with the planners, not estimates.
"""

DEFAULT_DIRECTIONS: Mapping[str, Literal["min", "max"]] = {
    "minutes_airport": "min",
    "smes_within_t": "max",
    "exporters_within_t": "max",
    "support_within_t": "max",
    "support_gravity": "max",
    "minutes_tgv": "min",
    "minutes_motorway": "min",
}
"""Whether less (``"min"``) or more (``"max"``) of each criterion of :func:`site_criteria` is better."""

_OD_COLUMNS = ("origin_id", "destination_id", "minutes")


# --------------------------------------------------------------------------- small checks


def _show(x: Any) -> str:
    return repr(x.item() if isinstance(x, np.generic) else x)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _finite(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False, fix: str = "") -> float:
    """A finite real >= (or >) ``minimum``, as float; bools and NaN are refused."""
    if _is_number(value) and math.isfinite(float(value)):
        v = float(value)
        if v > minimum or (not strict and v == minimum):
            return v
    bound = f"{'>' if strict else '>='} {minimum:g}"
    raise InputError(f"{name} must be a finite number {bound}, got {_show(value)}" + (f"; {fix}" if fix else ""))


def _positive_int(name: str, value: Any, fix: str = "") -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1:
        return int(value)
    raise InputError(f"{name} must be an integer >= 1, got {_show(value)}" + (f"; {fix}" if fix else ""))


def _projected(crs: Any) -> pyproj.CRS:
    try:
        c = pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        raise CRSError(f"crs {crs!r} is not a CRS pyproj knows ({exc}); pass e.g. 'EPSG:2154'") from exc
    if not c.is_projected:
        raise CRSError(
            f"crs must be a projected CRS in metres (grid spacing and representative points are "
            f"computed in it), got {c.to_string()}; pass e.g. 'EPSG:2154' (Lambert-93) for France"
        )
    return c


def _ids_of(values: Any, name: str) -> pd.Index:
    """An index of unique identifiers from a list, an Index or the index of a (Geo)DataFrame/Series."""
    if isinstance(values, (pd.DataFrame, pd.Series)):
        index = values.index
    elif isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InputError(
            f"{name} must be an iterable of identifiers (or a GeoDataFrame whose index holds them), "
            f"got {type(values).__name__}"
        )
    else:
        index = values if isinstance(values, pd.Index) else pd.Index(list(values))
    if index.has_duplicates:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise InputError(f"{name} has repeated identifiers {dup}: pass each identifier once")
    if index.hasnans:
        raise InputError(f"{name} has missing identifiers: give every candidate or demand point an id")
    return index


# --------------------------------------------------------------------------- candidate sites


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
    """Candidate sites for the incubator, as points.

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
    >>> sites = candidate_sites(kind="grid", territory_bounds_or_polygon=(3.80, 43.55, 3.90, 43.62),
    ...                         grid_spacing_m=2000)
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
        x0, y0, x1, y1 = area.bounds
        i0, i1 = math.floor(x0 / spacing), math.ceil(x1 / spacing)
        j0, j1 = math.floor(y0 / spacing), math.ceil(y1 / spacing)
        n_box = (i1 - i0 + 1) * (j1 - j0 + 1)
        if n_box * min(1.0, area.area / max(shapely.box(x0, y0, x1, y1).area, 1e-9)) > MAX_GRID_POINTS:
            raise InputError(
                f"grid_spacing_m={spacing:g} gives about {int(area.area / spacing**2):,} points over the territory, "
                f"more than {MAX_GRID_POINTS:,}; use a larger spacing"
            )
        gx, gy = np.meshgrid(np.arange(i0, i1 + 1) * spacing, np.arange(j0, j1 + 1) * spacing)
        gx, gy = gx.ravel(), gy.ravel()
        shapely.prepare(area)
        inside = shapely.intersects_xy(area, gx, gy)
        gx, gy = gx[inside], gy[inside]
        xy = list(zip(gx, gy, strict=True))
        ids = np.array([f"grid:{x:.0f}_{y:.0f}" for x, y in xy], dtype=object)
        names = np.array([f"grid point {x / 1000:.1f} km E, {y / 1000:.1f} km N" for x, y in xy], dtype=object)
        pts = gpd.GeoSeries(gpd.points_from_xy(gx, gy), crs=metric)
        source = "grid"
        what = f"the grid of {spacing:g} m; use a smaller grid_spacing_m"
    elif kind == "user":
        wgs = gpd.GeoSeries([area], crs=metric).to_crs(WGS84).total_bounds
        pad = 1e-6  # the box is only a first check; the polygon test below is exact
        user = read_user_points(
            user_file,  # type: ignore[arg-type]
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
        source = "user"
        what = "user_file"
    else:
        layer = "business_parks" if kind == "business_parks" else "municipalities"
        polys = _check_polygons(given[kind], layer)
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
        pts = reps[keep]
        source = "business_park" if kind == "business_parks" else "municipality"
        what = f"{layer} (representative points outside the territory are left out)"
    if len(ids) == 0:
        raise InputError(f"no candidate site lies in territory_bounds_or_polygon from {what}")
    out = gpd.GeoDataFrame(
        {"id": pd.array(ids, dtype="string"), "source": source, "name": pd.array(names, dtype="string")},
        geometry=pts.to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    out.index = pd.Index(out["id"].to_numpy())
    return out


# --------------------------------------------------------------------------- criteria


def _per_candidate(value: Any, name: str) -> pd.Series | pd.DataFrame:
    """A long table (returned as is) or a ready Series of minutes per candidate (checked)."""
    if isinstance(value, pd.DataFrame):
        return value
    if not isinstance(value, pd.Series):
        raise InputError(
            f"{name} must be a long travel-time table (origin_id = candidate) or a Series of minutes "
            f"indexed by candidate id, got {type(value).__name__}"
        )
    if not (pd.api.types.is_numeric_dtype(value) and not pd.api.types.is_bool_dtype(value)):
        raise InputError(f"{name} must hold minutes (numeric), got dtype {value.dtype}")
    if value.index.has_duplicates:
        dup = value.index[value.index.duplicated()].unique()[:5].tolist()
        raise InputError(f"{name} has repeated candidate ids {dup}: one time per candidate")
    arr = value.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(arr) | (arr < 0)
    if bad.any():
        raise InputError(
            f"{name} has {int(bad.sum())} NaN or negative minutes (e.g. candidate {_show(value.index[bad][0])}); "
            "use inf for a candidate that reaches nothing"
        )
    return pd.Series(arr, index=value.index)


def _minutes_column(value: Any, name: str, index: pd.Index) -> np.ndarray:
    v = _per_candidate(value, name)
    if isinstance(v, pd.DataFrame):
        return accessibility.nearest_minutes(v, origins=index)["any"].to_numpy()
    if len(index) and len(v) and not index.isin(v.index).any():
        raise InputError(
            f"{name} shares no candidate id with od_demand (e.g. {name} has {_show(v.index[0])}, the candidates "
            f"{_show(index[0])}): index it by candidate id"
        )
    return v.reindex(index).fillna(np.inf).to_numpy()


def site_criteria(
    od_demand: pd.DataFrame,
    *,
    within_minutes: float = DEFAULT_WITHIN_MINUTES,
    demand_weights: pd.Series | None = None,
    exporters: pd.Series | None = None,
    airport: pd.DataFrame | pd.Series | None = None,
    tgv: pd.DataFrame | pd.Series | None = None,
    motorway: pd.DataFrame | pd.Series | None = None,
    support: pd.DataFrame | None = None,
    support_weights: pd.Series | None = None,
    support_decay: Callable[[Any], Any] | None = None,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Siting criteria of each candidate, from long travel-time tables.

    Every table is long (``origin_id, destination_id, minutes``) with the candidate as
    origin; absent pairs are unreachable. ``airport``, ``tgv`` and ``motorway`` may also
    be ready Series of minutes indexed by candidate id (e.g. from
    :func:`proximity.traveltime.nearest`).

    Parameters
    ----------
    od_demand : DataFrame
        Candidate -> SME travel times.
    within_minutes : float, default :data:`DEFAULT_WITHIN_MINUTES`
        The ``t`` of the ``*_within_t`` columns (inclusive bound).
    demand_weights : Series, optional
        Weight of each SME (e.g. employees), indexed by SME id; default 1 (a count).
    exporters : Series, optional
        Per SME id, True (or a weight) for exporting firms; adds ``exporters_within_t``.
    airport, tgv, motorway : DataFrame or Series, optional
        Candidate -> airport(s), TGV station(s), motorway access points, as a long table
        (the nearest one counts) or as minutes per candidate.
    support : DataFrame, optional
        Candidate -> support body travel times; adds ``support_within_t``.
    support_weights : Series, optional
        Weight of each support body (e.g. ``capacity``), by id; default 1.
    support_decay : callable, optional
        A decay (e.g. :func:`proximity.accessibility.exponential`); adds
        ``support_gravity``, the support bodies weighted by it (Hansen potential).
    candidates : iterable or GeoDataFrame, optional
        Candidate ids to report, in this order (a GeoDataFrame gives its index); default
        the origins of ``od_demand``. A candidate absent from a table reaches nothing.

    Returns
    -------
    DataFrame
        Indexed by candidate id, in this column order and only for the inputs given:
        ``minutes_airport``, ``smes_within_t``, ``exporters_within_t``,
        ``support_within_t``, ``support_gravity``, ``minutes_tgv``, ``minutes_motorway``.
        Minutes are ``inf`` where nothing is reachable; counts are 0.
        ``attrs["within_minutes"]`` holds ``t``.

    Raises
    ------
    InputError, MissingColumnError
        A table, weight Series or parameter is invalid (see
        :mod:`proximity.accessibility` for the table checks).

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["a", "a", "b"], "destination_id": [1, 2, 1],
    ...                    "minutes": [10.0, 40.0, 20.0]})
    >>> site_criteria(od, within_minutes=30, airport=pd.Series({"a": 25.0, "b": 5.0}))
       minutes_airport  smes_within_t
    a             25.0            1.0
    b              5.0            1.0
    """
    t = _finite("within_minutes", within_minutes, fix="e.g. within_minutes=30")
    if not isinstance(od_demand, pd.DataFrame):
        raise InputError(
            f"od_demand must be a long travel-time table (DataFrame with {list(_OD_COLUMNS)}), "
            f"got {type(od_demand).__name__}; build it with proximity.traveltime.od_matrix(graph, candidates, smes)"
        )
    if candidates is None:
        if "origin_id" not in od_demand.columns:
            accessibility.nearest_minutes(od_demand)  # raises the table's MissingColumnError
        index = pd.Index(pd.unique(od_demand["origin_id"].dropna()))
    else:
        index = _ids_of(candidates, "candidates")
    index = index.copy()
    index.name = None
    thr = (t,)
    out: dict[str, np.ndarray] = {}
    if airport is not None:
        out["minutes_airport"] = _minutes_column(airport, "airport", index)
    within = accessibility.cumulative_opportunities(od_demand, thresholds_minutes=thr, weights=demand_weights, origins=index)
    out["smes_within_t"] = within.iloc[:, 0].to_numpy()
    if exporters is not None:
        if not isinstance(exporters, pd.Series):
            raise InputError(f"exporters must be a Series indexed by SME id (True for exporters), got {type(exporters).__name__}")
        ex = exporters.astype(float) if pd.api.types.is_bool_dtype(exporters) else exporters
        out["exporters_within_t"] = accessibility.cumulative_opportunities(
            od_demand, thresholds_minutes=thr, weights=ex, origins=index
        ).iloc[:, 0].to_numpy()
    if support is not None:
        out["support_within_t"] = accessibility.cumulative_opportunities(
            support, thresholds_minutes=thr, weights=support_weights, origins=index
        ).iloc[:, 0].to_numpy()
        if support_decay is not None:
            out["support_gravity"] = accessibility.gravity(
                support, weights=support_weights, decay=support_decay, origins=index
            ).to_numpy()
    elif support_weights is not None or support_decay is not None:
        raise InputError("support_weights and support_decay need support=<candidate -> support body table>; pass it")
    if tgv is not None:
        out["minutes_tgv"] = _minutes_column(tgv, "tgv", index)
    if motorway is not None:
        out["minutes_motorway"] = _minutes_column(motorway, "motorway", index)
    df = pd.DataFrame(out, index=index)
    df.attrs["within_minutes"] = t
    return df


# --------------------------------------------------------------------------- ranking


def _criteria_frame(criteria: Any) -> pd.DataFrame:
    if not isinstance(criteria, pd.DataFrame):
        raise InputError(f"criteria must be a DataFrame (from site_criteria), got {type(criteria).__name__}")
    if criteria.empty:
        raise InputError("criteria is empty: no candidate to compare")
    return criteria


def _numeric_columns(criteria: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    missing = [c for c in cols if c not in criteria.columns]
    if missing:
        raise MissingColumnError(
            f"criteria has no column(s) {missing} (has {list(map(str, criteria.columns))}); compute them with "
            "site_criteria or name existing columns"
        )
    data = np.empty((len(criteria), len(cols)))
    for k, c in enumerate(cols):
        col = criteria[c]
        if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
            raise InputError(f"criteria[{c!r}] must be numeric, got dtype {col.dtype}")
        v = col.to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(v).any():
            raise InputError(
                f"criteria[{c!r}] has {int(np.isnan(v).sum())} NaN value(s) (e.g. candidate "
                f"{_show(criteria.index[np.isnan(v)][0])}); use inf for an unreachable facility or drop the candidate"
            )
        data[:, k] = v
    return data


def rank_sites(
    criteria: pd.DataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    directions: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Weighted multi-criteria score and rank of the candidates.

    Each weighted criterion is min-max normalised to [0, 1] over the candidates, 1 being
    the best (the lowest minutes, the highest counts); the score is the weighted mean of
    the normalised criteria, in [0, 1].

    Parameters
    ----------
    criteria : DataFrame
        One row per candidate (e.g. :func:`site_criteria`).
    weights : mapping of column -> weight, optional
        Weights >= 0, not all 0; every key must be a column of ``criteria`` (columns not
        named are not used). Default: :data:`DEFAULT_WEIGHTS` restricted to the columns
        present. Edit a copy: ``{**DEFAULT_WEIGHTS, "minutes_airport": 0.5}``.
    directions : mapping of column -> {"min", "max"}, optional
        Overrides of :data:`DEFAULT_DIRECTIONS`; needed for weighted columns it does not
        know.

    Returns
    -------
    DataFrame
        ``criteria`` (a copy, same index and order) plus ``score_<column>`` for each
        weighted criterion, ``score`` and ``rank`` (1 = best; ties share the best rank).
        ``attrs["weights"]`` and ``attrs["directions"]`` record the settings.

    Raises
    ------
    ConfigError
        A weight key that is not a column, a bad weight or direction, a weighted column
        with no direction.
    InputError
        ``criteria`` is empty, or a weighted column is not numeric, has NaN, or has
        ``inf`` on a "max" criterion.

    Notes
    -----
    ``inf`` minutes (nothing reachable) normalise to 0 and do not stretch the range of
    the finite values. A criterion equal for every candidate normalises to 1 (it does
    not separate them). Min-max scores depend on the candidate set: adding a candidate
    can change the ranking of two others.

    Examples
    --------
    >>> c = pd.DataFrame({"minutes_airport": [5.0, 15.0, 25.0], "smes_within_t": [10, 30, 20]},
    ...                  index=["a", "b", "c"])
    >>> rank_sites(c, weights={"minutes_airport": 1, "smes_within_t": 1})[["score", "rank"]]
       score  rank
    a   0.50     2
    b   0.75     1
    c   0.25     3
    """
    criteria = _criteria_frame(criteria)
    if weights is None:
        w = {k: float(v) for k, v in DEFAULT_WEIGHTS.items() if k in criteria.columns}
        if not w:
            raise ConfigError(
                f"criteria has none of the default criteria {list(DEFAULT_WEIGHTS)} (has "
                f"{list(map(str, criteria.columns))}); pass weights={{column: weight}}"
            )
    else:
        if not isinstance(weights, Mapping):
            raise ConfigError(f"weights must be a mapping column -> weight, got {type(weights).__name__}")
        unknown = [k for k in weights if k not in criteria.columns]
        if unknown:
            raise ConfigError(
                f"weights has unknown key(s) {unknown}: not columns of criteria ({list(map(str, criteria.columns))}); "
                "fix the spelling, or compute the criterion with site_criteria (e.g. tgv=... for minutes_tgv), "
                "or drop the key"
            )
        w = {}
        for k, v in weights.items():
            if not (_is_number(v) and math.isfinite(float(v)) and float(v) >= 0):
                raise ConfigError(f"weights[{k!r}] must be a finite number >= 0, got {_show(v)}")
            w[k] = float(v)
    if sum(w.values()) <= 0:
        raise ConfigError(f"weights must not all be 0 (got {w}); give at least one criterion a positive weight")
    d = dict(DEFAULT_DIRECTIONS)
    if directions is not None:
        if not isinstance(directions, Mapping):
            raise ConfigError(f"directions must be a mapping column -> 'min'/'max', got {type(directions).__name__}")
        unknown = [k for k in directions if k not in criteria.columns]
        if unknown:
            raise ConfigError(f"directions has unknown key(s) {unknown}: not columns of criteria; fix or drop them")
        d.update(directions)
    used = [k for k, v in w.items() if v > 0]
    for k in used:
        if k not in d:
            raise ConfigError(f"no direction for criterion {k!r}: pass directions={{{k!r}: 'min' or 'max'}}")
        if d[k] not in ("min", "max"):
            raise ConfigError(f"directions[{k!r}] must be 'min' or 'max', got {d[k]!r}")
    data = _numeric_columns(criteria, used)
    out = criteria.copy()
    total = np.zeros(len(criteria))
    wsum = sum(w[k] for k in used)
    for j, k in enumerate(used):
        v = data[:, j]
        if d[k] == "max" and np.isinf(v).any():
            raise InputError(f"criteria[{k!r}] has infinite values but more is better: give finite values")
        if d[k] == "min" and np.isneginf(v).any():
            raise InputError(f"criteria[{k!r}] has -inf values: give finite values or inf (unreachable)")
        fin = np.isfinite(v)
        norm = np.zeros(len(v))
        if fin.any():
            lo, hi = v[fin].min(), v[fin].max()
            if hi > lo:
                norm[fin] = (v[fin] - lo) / (hi - lo) if d[k] == "max" else (hi - v[fin]) / (hi - lo)
            else:
                norm[fin] = 1.0
        out[f"score_{k}"] = norm
        total += w[k] * norm
    out["score"] = total / wsum
    # round away float noise so that equal scores tie
    out["rank"] = out["score"].round(12).rank(ascending=False, method="min").astype(int)
    out.attrs["weights"] = dict(w)
    out.attrs["directions"] = {k: d[k] for k in used}
    return out


def pareto_front(
    criteria: pd.DataFrame,
    *,
    minimise: str | Sequence[str] = "minutes_airport",
    maximise: str | Sequence[str] = "smes_within_t",
) -> pd.Series:
    """Candidates that no other candidate dominates.

    Candidate ``j`` dominates ``i`` when it is at least as good on every criterion (no
    more minutes, no fewer SMEs…) and strictly better on one. Candidates with identical
    values do not dominate each other.

    Parameters
    ----------
    criteria : DataFrame
        One row per candidate.
    minimise, maximise : str or sequence of str
        Columns where less, respectively more, is better. ``inf`` is allowed (worst for
        a column to minimise).

    Returns
    -------
    Series
        Boolean ``pareto``, indexed like ``criteria``: True for non-dominated candidates.

    Raises
    ------
    MissingColumnError
        A named column is absent.
    InputError
        No column named, a column named twice, non-numeric columns or NaN.

    Examples
    --------
    >>> c = pd.DataFrame({"minutes_airport": [5.0, 15.0, 25.0, 20.0],
    ...                   "smes_within_t": [10, 30, 20, 30]}, index=list("abcd"))
    >>> pareto_front(c).tolist()
    [True, True, False, False]
    """
    criteria = _criteria_frame(criteria)
    mins = [minimise] if isinstance(minimise, str) else list(minimise)
    maxs = [maximise] if isinstance(maximise, str) else list(maximise)
    cols = mins + maxs
    if not cols:
        raise InputError("pareto_front needs at least one column in minimise or maximise")
    if len(set(cols)) != len(cols):
        raise InputError(f"a column is named twice in minimise/maximise ({cols}); name each once")
    m = _numeric_columns(criteria, cols)
    m[:, len(mins):] *= -1.0  # everything to minimise
    n = len(m)
    dominated = np.zeros(n, dtype=bool)
    chunk = max(1, int(2e7 // max(n * len(cols), 1)))
    for s in range(0, n, chunk):
        a = m[s : s + chunk, None, :]
        le = (m[None, :, :] <= a).all(axis=2)
        lt = (m[None, :, :] < a).any(axis=2)
        dominated[s : s + chunk] = (le & lt).any(axis=1)
    return pd.Series(~dominated, index=criteria.index, name="pareto")


# --------------------------------------------------------------------------- location-allocation


@dataclass(frozen=True, eq=False)
class LocationResult:
    """The solution of a location-allocation model.

    Attributes
    ----------
    model : str
        ``"maximal_covering"`` or ``"p_median"``.
    p : int
        Number of sites chosen.
    sites : pandas.Index
        Chosen candidate ids, in candidate order.
    objective : float
        Maximal covering: demand weight within ``max_minutes`` of a chosen site.
        p-median: sum over the modelled demand points of weight x minutes to the nearest
        chosen site, or x ``penalty_minutes`` when no chosen site reaches them
        (``unreachable`` points are not counted).
    dual_bound : float
        Best bound on the optimum proved by the solver (= ``objective`` when optimal).
    mip_gap : float
        ``|objective - dual_bound| / |objective|`` (0 when proved optimal; HiGHS's
        definition).
    status : str
        ``"optimal"`` (within ``mip_rel_gap``) or ``"time_limit"`` (best solution found
        when ``time_limit_s`` ran out).
    solver : str
        ``"highs"`` (MIP), ``"enumeration"`` (p = 1 or every candidate chosen: exact
        without a MIP), or ``"greedy"`` (the time limit ran out and the greedy
        heuristic's solution, best marginal gain first, beats HiGHS's incumbent, if any).
    assignment : DataFrame
        Indexed by demand id (all demand points, input order): ``weight``, ``site_id``
        (nearest chosen site reachable in the table, missing if none), ``minutes``
        (``inf`` if none), ``served`` (maximal covering: ``minutes <= max_minutes``;
        p-median: reached by a chosen site within ``penalty_minutes``).
    per_site : DataFrame
        Indexed by chosen site id: ``demand_points`` and ``demand_weight`` served,
        ``mean_minutes`` (weighted, over the demand it serves; NaN if none).
    served_weight, total_weight : float
        Weight of the served demand points, and of all demand points.
    mean_minutes : float
        Weighted mean minutes of the served demand (NaN if none).
    unreachable : pandas.Index
        Demand points of positive weight that no candidate reaches within ``max_minutes``
        (maximal covering) or ``penalty_minutes`` (p-median): they cannot be served
        whatever the choice (p-median leaves them out of the model and the objective).
    max_minutes, penalty_minutes : float
        The coverage time (maximal covering; NaN for p-median) and the penalty (p-median;
        NaN for maximal covering).
    seconds : float
        Wall time of the model build and solve.
    """

    model: str
    p: int
    sites: pd.Index
    objective: float
    dual_bound: float
    mip_gap: float
    status: str
    solver: str
    assignment: pd.DataFrame
    per_site: pd.DataFrame
    served_weight: float
    total_weight: float
    mean_minutes: float
    unreachable: pd.Index
    max_minutes: float
    penalty_minutes: float
    seconds: float

    @property
    def served_share(self) -> float:
        """Share of the total demand weight served (NaN when the total is 0)."""
        return self.served_weight / self.total_weight if self.total_weight > 0 else math.nan


@dataclass(frozen=True, eq=False)
class _Pairs:
    """A validated candidate -> demand table as positions (finite pairs only)."""

    cand_ids: pd.Index
    dem_ids: pd.Index
    weights: np.ndarray  # per demand point
    c: np.ndarray  # candidate position of each pair
    d: np.ndarray  # demand position of each pair
    minutes: np.ndarray


def _prepare(od: Any, demand_weights: Any, candidates: Any) -> _Pairs:
    if not isinstance(od, pd.DataFrame):
        raise InputError(
            f"od must be a long travel-time table (DataFrame with {list(_OD_COLUMNS)}, origin = candidate, "
            f"destination = demand point), got {type(od).__name__}"
        )
    missing = [c for c in _OD_COLUMNS if c not in od.columns]
    if missing:
        raise MissingColumnError(
            f"od has no column(s) {missing} (found {list(map(str, od.columns))}); a travel-time table needs "
            f"{list(_OD_COLUMNS)} with the candidate as origin: rename yours, e.g. "
            "od.rename(columns={'candidate_id': 'origin_id', 'demand_id': 'destination_id'})"
        )
    col = od["minutes"]
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise InputError(f"od['minutes'] must be numeric, got dtype {col.dtype}; convert it with pd.to_numeric")
    minutes = col.to_numpy(dtype=float, na_value=np.nan)
    problems = []
    if np.isnan(minutes).any():
        problems.append(f"{int(np.isnan(minutes).sum())} minutes value(s) are NaN (use inf for unreachable, or drop the row)")
    if (minutes < 0).any():
        problems.append(f"{int((minutes < 0).sum())} minutes value(s) are negative: travel times must be >= 0")
    na_id = (od["origin_id"].isna() | od["destination_id"].isna()).to_numpy()
    if (na_id & np.isfinite(minutes)).any():
        problems.append(f"{int((na_id & np.isfinite(minutes)).sum())} row(s) have a missing origin_id or destination_id")
    if problems:
        raise InputError("od is not a valid travel-time table: " + "; ".join(problems))
    reach = np.isfinite(minutes) & ~na_id

    if candidates is None:
        cand_ids = pd.Index(pd.unique(od["origin_id"][~na_id]))
    else:
        cand_ids = _ids_of(candidates, "candidates")
        if len(cand_ids) and len(od) and not od["origin_id"].isin(cand_ids).any():
            raise InputError(
                f"candidates shares no id with od['origin_id'] (e.g. candidates has {_show(cand_ids[0])}, od "
                f"{_show(od['origin_id'].iloc[0])}): the candidate must be the origin of od"
            )
    if len(cand_ids) == 0:
        raise InputError("there is no candidate site (od is empty and no candidates were given)")

    if demand_weights is None:
        dem_ids = pd.Index(pd.unique(od["destination_id"][~na_id]))
        w = np.ones(len(dem_ids))
    else:
        if not isinstance(demand_weights, pd.Series):
            raise InputError(
                f"demand_weights must be a pandas Series indexed by demand id, got {type(demand_weights).__name__}; "
                "e.g. smes['employees'] or pd.Series(1.0, index=smes.index)"
            )
        dem_ids = _ids_of(demand_weights, "demand_weights")
        if not (pd.api.types.is_numeric_dtype(demand_weights) and not pd.api.types.is_bool_dtype(demand_weights)):
            raise InputError(f"demand_weights must be numeric, got dtype {demand_weights.dtype}")
        w = demand_weights.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise InputError(
                f"demand_weights has {int(bad.sum())} value(s) that are negative, NaN or infinite (e.g. "
                f"{_show(dem_ids[bad][0])}: {_show(w[bad][0])}); use finite weights >= 0"
            )
        if len(dem_ids) and len(od) and not od["destination_id"].isin(dem_ids).any():
            raise InputError(
                f"demand_weights shares no id with od['destination_id'] (e.g. demand_weights has "
                f"{_show(dem_ids[0])}, od {_show(od['destination_id'].iloc[0])}): index it by demand id"
            )
    cpos = cand_ids.get_indexer(od["origin_id"])
    dpos = dem_ids.get_indexer(od["destination_id"])
    keep = reach & (cpos >= 0) & (dpos >= 0)
    c, d, m = cpos[keep].astype(np.int64), dpos[keep].astype(np.int64), minutes[keep]
    key = c * len(dem_ids) + d
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"od repeats {int(dup.sum())} (origin_id, destination_id) pair(s) (e.g. ({_show(cand_ids[c[i]])}, "
            f"{_show(dem_ids[d[i]])})); keep one time per pair, e.g. "
            "od.groupby(['origin_id', 'destination_id'], as_index=False)['minutes'].min()"
        )
    return _Pairs(cand_ids=cand_ids, dem_ids=dem_ids, weights=w, c=c, d=d, minutes=m)


def _check_p(p: Any, n: int) -> int:
    p = _positive_int("p", p, "e.g. p=3")
    if p > n:
        raise InputError(f"p={p} is more than the {n} candidate site(s); choose p <= {n}")
    return p


@dataclass(frozen=True, eq=False)
class _Model:
    """A location model restricted to the pairs that matter."""

    kind: str  # "maximal_covering" | "p_median"
    pairs: _Pairs
    c: np.ndarray  # kept pairs
    d: np.ndarray
    minutes: np.ndarray
    modelled: np.ndarray  # demand positions in the model
    unreachable: np.ndarray  # demand positions of positive weight out of reach
    limit: float  # max_minutes or penalty_minutes


def _model(kind: str, pairs: _Pairs, limit: float) -> _Model:
    keep = pairs.minutes <= limit
    c, d, m = pairs.c[keep], pairs.d[keep], pairs.minutes[keep]
    reached = np.bincount(d, minlength=len(pairs.dem_ids)) > 0
    positive = pairs.weights > 0
    modelled = np.flatnonzero(reached & positive)
    sel = positive[d]
    return _Model(kind, pairs, c[sel], d[sel], m[sel], modelled, np.flatnonzero(~reached & positive), limit)


def _greedy(model: _Model, p: int) -> np.ndarray:
    """Greedy add (best marginal gain first); exact for p = 1. Returns candidate positions."""
    nc = len(model.pairs.cand_ids)
    w = model.pairs.weights
    chosen: list[int] = []
    if model.kind == "maximal_covering":
        covered = np.zeros(len(w), dtype=bool)
        for _ in range(p):
            gain = np.bincount(model.c, weights=w[model.d] * ~covered[model.d], minlength=nc)
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            covered[model.d[model.c == j]] = True
    else:
        cur = np.full(len(w), model.limit)
        for _ in range(p):
            gain = np.bincount(model.c, weights=w[model.d] * np.maximum(cur[model.d] - model.minutes, 0.0), minlength=nc)
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            at = model.c == j
            np.minimum.at(cur, model.d[at], model.minutes[at])
    return np.sort(np.array(chosen, dtype=np.int64))


def _evaluate(model: _Model, sites: np.ndarray) -> dict[str, Any]:
    """Assignment of every demand point to its nearest chosen site, and the objective."""
    pr = model.pairs
    nd = len(pr.dem_ids)
    chosen = np.zeros(len(pr.cand_ids), dtype=bool)
    chosen[sites] = True
    at = chosen[pr.c]  # all finite pairs of the table, not only the modelled ones
    c, d, m = pr.c[at], pr.d[at], pr.minutes[at]
    order = np.lexsort((c, m, d))  # by demand, then minutes, then candidate position
    d_sorted = d[order]
    first = order[np.r_[True, d_sorted[1:] != d_sorted[:-1]]] if order.size else order
    site_pos = np.full(nd, -1, dtype=np.int64)
    minutes = np.full(nd, np.inf)
    site_pos[d[first]] = c[first]
    minutes[d[first]] = m[first]
    served = minutes <= model.limit
    w = pr.weights
    if model.kind == "maximal_covering":
        objective = float(w[served].sum())
    else:
        mod = model.modelled
        objective = float(np.sum(w[mod] * np.where(served[mod], minutes[mod], model.limit)))
    ids = pr.cand_ids.take(np.maximum(site_pos, 0))
    # integer ids stay integers next to the missing ones (a float column would turn 7 into 7.0)
    site_id = pd.Series(pd.array(ids, dtype="Int64") if pd.api.types.is_integer_dtype(ids.dtype) else ids.array,
                        index=pr.dem_ids)
    site_id[site_pos < 0] = pd.NA
    assignment = pd.DataFrame(
        {"weight": w, "site_id": site_id, "minutes": minutes, "served": served}, index=pr.dem_ids
    )
    assignment.index.name = None
    ws = np.where(served, w, 0.0)
    wm = np.where(served, w * np.where(np.isfinite(minutes), minutes, 0.0), 0.0)
    sp_ = np.where(served, site_pos, len(pr.cand_ids))
    n_pts = np.bincount(sp_, minlength=len(pr.cand_ids) + 1)[sites]
    dem = np.bincount(sp_, weights=ws, minlength=len(pr.cand_ids) + 1)[sites]
    tmin = np.bincount(sp_, weights=wm, minlength=len(pr.cand_ids) + 1)[sites]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_site = np.where(dem > 0, tmin / np.where(dem > 0, dem, 1.0), np.nan)
    per_site = pd.DataFrame(
        {"demand_points": n_pts.astype(np.int64), "demand_weight": dem, "mean_minutes": mean_site},
        index=pr.cand_ids.take(sites),
    )
    per_site.index.name = None
    served_weight = float(ws.sum())
    return {
        "sites": pr.cand_ids.take(sites),
        "objective": objective,
        "assignment": assignment,
        "per_site": per_site,
        "served_weight": served_weight,
        "mean_minutes": float(wm.sum() / served_weight) if served_weight > 0 else math.nan,
    }


def _milp_arrays(model: _Model, p: int) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, int]:
    """Objective (to minimise), constraint matrix and row bounds, integrality, and the sign of the objective."""
    nc = len(model.pairs.cand_ids)
    w = model.pairs.weights
    k = len(model.modelled)
    kpos = np.full(len(w), -1, dtype=np.int64)
    kpos[model.modelled] = np.arange(k)
    row_d = kpos[model.d]
    n = len(model.c)
    if model.kind == "maximal_covering":
        # variables: y_j (site open, binary), z_i (demand covered, in [0, 1]; integral at the optimum)
        # rows: z_i - sum_{j covers i} y_j <= 0 (k rows); sum_j y_j = p
        cost = np.concatenate([np.zeros(nc), -w[model.modelled]])
        rows = np.concatenate([row_d, np.arange(k), np.full(nc, k)])
        cols = np.concatenate([model.c, nc + np.arange(k), np.arange(nc)])
        vals = np.concatenate([-np.ones(n), np.ones(k), np.ones(nc)])
        lo = np.concatenate([np.full(k, -np.inf), [p]])
        hi = np.concatenate([np.zeros(k), [p]])
        shape = (k + 1, nc + k)
        integrality = np.concatenate([np.ones(nc), np.zeros(k)])
        sign = -1
    else:
        # variables: y_j (binary), x_ij (assignment, in [0, 1]), u_i (unserved, in [0, 1])
        # rows: sum_j x_ij + u_i = 1 (k rows); x_ij - y_j <= 0 (n rows); sum_j y_j = p
        cost = np.concatenate([np.zeros(nc), w[model.d] * model.minutes, w[model.modelled] * model.limit])
        x = nc + np.arange(n)
        u = nc + n + np.arange(k)
        rows = np.concatenate([row_d, np.arange(k), k + np.arange(n), k + np.arange(n), np.full(nc, k + n)])
        cols = np.concatenate([x, u, x, model.c, np.arange(nc)])
        vals = np.concatenate([np.ones(n), np.ones(k), np.ones(n), -np.ones(n), np.ones(nc)])
        lo = np.concatenate([np.ones(k), np.full(n, -np.inf), [p]])
        hi = np.concatenate([np.ones(k), np.zeros(n), [p]])
        shape = (k + n + 1, nc + n + k)
        integrality = np.concatenate([np.ones(nc), np.zeros(n + k)])
        sign = 1
    a = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    return cost, a, lo, hi, integrality, sign


def _solve(model: _Model, p: int, time_limit_s: float | None, mip_rel_gap: float) -> LocationResult:
    t0 = time.perf_counter()
    nc = len(model.pairs.cand_ids)
    if p == 1 or p == nc:
        # exact without a MIP: one site is the best single marginal gain; all sites is the only choice
        sites = _greedy(model, p) if p == 1 else np.arange(nc)
        ev = _evaluate(model, sites)
        bound, gap, status, solver = ev["objective"], 0.0, "optimal", "enumeration"
    else:
        cost, a, lo, hi, integrality, sign = _milp_arrays(model, p)
        options: dict[str, Any] = {"disp": False, "mip_rel_gap": mip_rel_gap}
        if time_limit_s is not None:
            options["time_limit"] = time_limit_s
        res = milp(cost, constraints=LinearConstraint(a, lo, hi), integrality=integrality, bounds=Bounds(0.0, 1.0),
                   options=options)
        if res.status not in (0, 1):
            raise ProximityError(
                f"HiGHS could not solve the {model.kind} model (status {res.status}: {res.message}); "
                "please report it with the input sizes"
            )
        dual = getattr(res, "mip_dual_bound", None)
        dual = sign * float(dual) if dual is not None and np.isfinite(dual) else math.nan
        ev, solver = None, "highs"
        if res.x is not None:
            ev = _evaluate(model, np.sort(np.argsort(-res.x[:nc], kind="stable")[:p]))
        if res.status != 0 or ev is None:
            # stopped early: HiGHS's incumbent may be poor (or absent); keep the greedy one if better
            greedy = _evaluate(model, _greedy(model, p))
            better = sign * greedy["objective"] < sign * ev["objective"] if ev is not None else True
            if better:
                ev, solver = greedy, "greedy"
        status = "optimal" if res.status == 0 else "time_limit"
        obj = ev["objective"]
        bound = dual
        if math.isnan(dual):
            gap = math.nan
        elif obj != 0:
            gap = abs(obj - bound) / abs(obj)
            gap = 0.0 if gap < 1e-12 else gap  # float noise of a proved optimum
        else:
            gap = 0.0 if abs(bound) < 1e-9 else math.inf
    return LocationResult(
        model=model.kind,
        p=p,
        sites=ev["sites"],
        objective=ev["objective"],
        dual_bound=float(bound),
        mip_gap=float(gap),
        status=status,
        solver=solver,
        assignment=ev["assignment"],
        per_site=ev["per_site"],
        served_weight=ev["served_weight"],
        total_weight=float(model.pairs.weights.sum()),
        mean_minutes=ev["mean_minutes"],
        unreachable=model.pairs.dem_ids.take(model.unreachable),
        max_minutes=model.limit if model.kind == "maximal_covering" else math.nan,
        penalty_minutes=model.limit if model.kind == "p_median" else math.nan,
        seconds=time.perf_counter() - t0,
    )


def _options(time_limit_s: Any, mip_rel_gap: Any) -> tuple[float | None, float]:
    tl = None if time_limit_s is None else _finite("time_limit_s", time_limit_s, strict=True, fix="or None for no limit")
    gap = _finite("mip_rel_gap", mip_rel_gap, fix="e.g. 1e-4, or 0 to prove optimality exactly")
    return tl, gap


def _penalty(pairs: _Pairs, penalty_minutes: Any) -> float:
    if penalty_minutes is None:
        return float(pairs.minutes.max()) if pairs.minutes.size else 0.0
    return _finite("penalty_minutes", penalty_minutes, fix="e.g. the max_minutes the table was built with")


def maximal_covering(
    od: pd.DataFrame,
    *,
    demand_weights: pd.Series | None,
    p: int,
    max_minutes: float,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
) -> LocationResult:
    """Choose ``p`` sites that cover the most demand within ``max_minutes`` (MCLP).

    Church & ReVelle (1974) [2]_: maximise ``sum_i w_i z_i`` subject to
    ``z_i <= sum_{j: t_ij <= T} y_j``, ``sum_j y_j = p``, ``y`` binary, ``0 <= z <= 1``.
    Solved by HiGHS (:func:`scipy.optimize.milp`); ``p = 1`` is solved exactly by
    enumeration.

    Parameters
    ----------
    od : DataFrame
        Long table ``origin_id`` (candidate), ``destination_id`` (demand point),
        ``minutes``. Absent pairs and ``inf`` minutes do not cover.
    demand_weights : Series or None
        Weight of each demand point (e.g. SMEs' employees, or 1 each), indexed by demand
        id; it sets the demand points reported. Table destinations absent from it are
        ignored. None: weight 1 for each destination of ``od``.
    p : int
        Number of sites to choose, 1 <= p <= number of candidates.
    max_minutes : float
        Coverage time ``T`` (inclusive, as in spopt).
    candidates : iterable or GeoDataFrame, optional
        The candidate ids to choose from (default: the origins of ``od``); other origins
        of ``od`` are ignored, and candidates absent from ``od`` cover nothing.
    time_limit_s : float, optional
        Solver time limit. When it runs out, the better of HiGHS's incumbent and the
        greedy solution is returned with ``status = "time_limit"`` and its gap to
        HiGHS's bound (which can be weak: the LP relaxation may not be solved yet).
    mip_rel_gap : float, default 1e-4
        Relative optimality tolerance of HiGHS (its default); 0 proves the optimum.

    Returns
    -------
    LocationResult
        Chosen ``sites``, ``objective`` (covered weight), ``assignment`` per demand
        point, ``status``, ``mip_gap``, etc.

    Raises
    ------
    InputError, MissingColumnError
        Invalid table, weights, ``p`` or options.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["A", "A", "B", "B", "C"],
    ...                    "destination_id": [1, 2, 2, 3, 3],
    ...                    "minutes": [5.0, 10.0, 5.0, 10.0, 5.0]})
    >>> r = maximal_covering(od, demand_weights=pd.Series({1: 1.0, 2: 1.0, 3: 5.0}), p=1, max_minutes=10)
    >>> list(r.sites), r.objective
    (['B'], 6.0)
    """
    tl, gap = _options(time_limit_s, mip_rel_gap)
    t = _finite("max_minutes", max_minutes, fix="e.g. max_minutes=30")
    pairs = _prepare(od, demand_weights, candidates)
    p = _check_p(p, len(pairs.cand_ids))
    return _solve(_model("maximal_covering", pairs, t), p, tl, gap)


def p_median(
    od: pd.DataFrame,
    *,
    demand_weights: pd.Series | None,
    p: int,
    penalty_minutes: float | None = None,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
) -> LocationResult:
    """Choose ``p`` sites that minimise the weighted travel time of the demand (p-median).

    ReVelle & Swain (1970) [3]_ with an "unserved" option per demand point: minimise
    ``sum_ij w_i t_ij x_ij + sum_i w_i P u_i`` subject to ``sum_j x_ij + u_i = 1``,
    ``x_ij <= y_j``, ``sum_j y_j = p``, ``y`` binary, over the pairs of the table. On a
    complete table (every pair present) with the default ``P`` this is the classic
    p-median. Solved by HiGHS; ``p = 1`` exactly by enumeration.

    Parameters
    ----------
    od : DataFrame
        Long table ``origin_id`` (candidate), ``destination_id`` (demand point),
        ``minutes``. Absent pairs and ``inf`` minutes are unreachable.
    demand_weights : Series or None
        As in :func:`maximal_covering`.
    p : int
        Number of sites, 1 <= p <= number of candidates.
    penalty_minutes : float, optional
        ``P``: the cost per unit of weight of a demand point that no chosen site reaches
        in the table. Default: the longest time in the table, which for a table built
        with ``max_minutes`` is (about) that cut-off, so travel times are *censored* at
        the cut-off: "beyond it" costs as much as "at it". Pairs longer than ``P`` are
        never used (being unserved is cheaper). Demand points with no pair within ``P``
        are left out of the model and listed in ``unreachable``.
    candidates : iterable or GeoDataFrame, optional
        As in :func:`maximal_covering`.
    time_limit_s, mip_rel_gap : float
        As in :func:`maximal_covering`.

    Returns
    -------
    LocationResult
        ``objective`` (weighted minutes, penalties included, unreachable points
        excluded), ``mean_minutes`` of the served demand, ``assignment``, etc.

    Raises
    ------
    InputError, MissingColumnError
        Invalid table, weights, ``p``, penalty or options.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["A", "A", "B", "B"], "destination_id": [1, 2, 1, 2],
    ...                    "minutes": [0.0, 10.0, 6.0, 6.0]})
    >>> r = p_median(od, demand_weights=None, p=1)
    >>> list(r.sites), r.objective
    (['A'], 10.0)
    """
    tl, gap = _options(time_limit_s, mip_rel_gap)
    pairs = _prepare(od, demand_weights, candidates)
    p = _check_p(p, len(pairs.cand_ids))
    return _solve(_model("p_median", pairs, _penalty(pairs, penalty_minutes)), p, tl, gap)


def sweep(
    od: pd.DataFrame,
    *,
    model: Literal["maximal_covering", "p_median"],
    demand_weights: pd.Series | None,
    p_max: int,
    max_minutes: float | None = None,
    penalty_minutes: float | None = None,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
) -> pd.DataFrame:
    """Solve a model for p = 1, 2, ..., ``p_max``: how much does each extra site bring?

    Parameters
    ----------
    od : DataFrame
        Long table, candidate as origin (see :func:`maximal_covering`).
    model : {"maximal_covering", "p_median"}
        Which model.
    demand_weights : Series or None
        As in :func:`maximal_covering`.
    p_max : int
        Largest p (at most the number of candidates).
    max_minutes : float
        Coverage time, required for ``"maximal_covering"`` (and refused for p-median).
    penalty_minutes : float, optional
        p-median penalty (see :func:`p_median`); refused for maximal covering.
    candidates, time_limit_s, mip_rel_gap
        As in :func:`maximal_covering` (the time limit applies to each p).

    Returns
    -------
    DataFrame
        Indexed by ``p``: ``objective``, ``objective_change`` (vs p - 1; NaN for p = 1),
        ``served_weight``, ``served_share``, ``mean_minutes``, ``sites`` (tuple of ids),
        ``status``, ``mip_gap``, ``solver``, ``seconds``.

    Raises
    ------
    InputError
        Unknown model, bad ``p_max``, or an option of the other model.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["A", "A", "B", "B", "C"],
    ...                    "destination_id": [1, 2, 2, 3, 3],
    ...                    "minutes": [5.0, 10.0, 5.0, 10.0, 5.0]})
    >>> sweep(od, model="maximal_covering", demand_weights=None, p_max=2, max_minutes=10)["objective"].tolist()
    [2.0, 3.0]
    """
    if model not in ("maximal_covering", "p_median"):
        raise InputError(f"model must be 'maximal_covering' or 'p_median', got {model!r}")
    tl, gap = _options(time_limit_s, mip_rel_gap)
    if model == "maximal_covering":
        if max_minutes is None:
            raise InputError("model='maximal_covering' needs max_minutes=...; pass the coverage time")
        if penalty_minutes is not None:
            raise InputError("penalty_minutes is a p_median option; drop it for model='maximal_covering'")
        limit = _finite("max_minutes", max_minutes, fix="e.g. max_minutes=30")
    elif max_minutes is not None:
        raise InputError(
            "max_minutes is a maximal_covering option; for p_median, cap the times with penalty_minutes instead"
        )
    pairs = _prepare(od, demand_weights, candidates)
    p_max = _check_p(p_max, len(pairs.cand_ids))
    if model == "p_median":
        limit = _penalty(pairs, penalty_minutes)
    m = _model(model, pairs, limit)
    rows = []
    for p in range(1, p_max + 1):
        r = _solve(m, p, tl, gap)
        rows.append(
            {
                "p": p,
                "objective": r.objective,
                "served_weight": r.served_weight,
                "served_share": r.served_share,
                "mean_minutes": r.mean_minutes,
                "sites": tuple(r.sites.tolist()),
                "status": r.status,
                "mip_gap": r.mip_gap,
                "solver": r.solver,
                "seconds": r.seconds,
            }
        )
    out = pd.DataFrame(rows).set_index("p")
    out.insert(1, "objective_change", out["objective"].diff())
    return out


# --------------------------------------------------------------------------- what-if


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
    >>> bodies = gpd.GeoDataFrame({"id": ["cci"], "name": ["CCI"], "category": ["chamber_of_commerce"]},
    ...                           geometry=[Point(3.88, 43.61)], crs=4326, index=["cci"])
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
        site_id = str(site["id"].iloc[0]) if isinstance(site, gpd.GeoDataFrame) and "id" in site.columns else str(site.index[0])
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
    existing = pd.Index(support_bodies["id"].astype(str)) if "id" in support_bodies.columns else support_bodies.index.astype(str)
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
            try:
                added[c] = added[c].astype(support_bodies[c].dtype)
            except (TypeError, ValueError):
                pass  # keep the new value's own type (e.g. NA in an integer column)
    out = pd.concat([support_bodies, added[support_bodies.columns]])
    return gpd.GeoDataFrame(out, geometry=geo_col, crs=support_bodies.crs)
