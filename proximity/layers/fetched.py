"""Fetched registers as layers: the directory's support bodies, merged without duplicates.

:func:`proximity.fetch.fetch_support` stores the bodies of the Annuaire de
l'administration; :func:`directory_bodies` turns them into a support-body layer and
:func:`merge_support` merges them with another layer (the offline one), dropping a fetched
body that is the **same body** as one already there: same category, within
``distance_m`` (200 m) and a similar name (:func:`name_similarity` >= ``min_similarity``).
:func:`resolve_support` is what ``--support`` resolves to.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import DataFileError, InputError
from ._common import WGS84, metric_crs
from ._validate import validate_layer
from .support import CATEGORIES, COLUMNS

__all__ = [
    "DIRECTORY_VALUES",
    "MIN_NAME_SIMILARITY",
    "SAME_BODY_M",
    "directory_bodies",
    "merge_support",
    "name_similarity",
    "resolve_support",
]

#: Two bodies of one category closer than this (metres) may be one body.
SAME_BODY_M = 200.0
#: ... if their names are at least this similar (:func:`name_similarity`).
MIN_NAME_SIMILARITY = 0.6
#: Values of ``--support`` that mean "the fetched directory".
DIRECTORY_VALUES = ("annuaire", "directory")

# Abbreviations spelled out before comparing names.
_EXPAND = {
    "cci": "commerce industrie",
    "ccir": "commerce industrie",
    "cma": "metiers artisanat",
    "cmar": "metiers artisanat",
    "crma": "metiers artisanat",
    "dreets": "economie emploi travail solidarites",
    "direccte": "entreprises concurrence consommation travail emploi",
    "drce": "commerce exterieur",
}
# Words that say what kind of office a body is, not which body (two different chambers
# share "chambre"), and French function words.
_GENERIC = frozenset(
    re.findall(
        r"\S+",
        "de des du la le les et en au aux sur pour chambre chambres maison direction directions regionale regional "
        "regionales departementale departemental interdepartementale territoriale territorial service services bureau "
        "antenne delegation site siege agence office",
    )
)


def _tokens(name: str) -> set[str]:
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", s)
    out: list[str] = []
    for w in words:
        out += _EXPAND.get(w, w).split()
    return {w for w in out if len(w) > 1 and w not in _GENERIC}


def name_similarity(a: str, b: str) -> float:
    """Similarity of two body names, 0…1: the overlap coefficient of their content words.

    Names are lower-cased, stripped of accents and split into words; abbreviations are
    spelled out (CCI → commerce industrie, CMA → métiers artisanat…); one-letter words,
    French function words and words naming a kind of office (chambre, maison, direction,
    régionale, service…) are dropped. The score is ``|A ∩ B| / min(|A|, |B|)`` (1 when one
    name's words are all in the other), 0 when either has no word left.

    Examples
    --------
    >>> name_similarity("Chambre de Commerce", "CCI Hérault")
    1.0
    >>> name_similarity("Chambre de commerce et d'industrie", "Chambre d'agriculture de l'Hérault")
    0.0
    >>> name_similarity("Chambre Régionale des Métiers L.R.", "Chambre de métiers et de l'artisanat de l'Hérault")
    1.0
    """
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def directory_bodies(frame: pd.DataFrame, *, territory: str = "herault") -> gpd.GeoDataFrame:
    """The fetched directory (:func:`proximity.fetch.stored_support`) as a support-body layer.

    Columns of :func:`proximity.layers.support_bodies` (``capacity`` 1, ``students``
    NaN, ``duplicates`` empty), plus ``type_service_local``; ids ``annuaire:<id>``.
    """
    need = ["id", "name", "category", "lon", "lat", "source", "vintage", "caveat"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataFileError(f"the fetched directory lacks column(s) {', '.join(map(repr, missing))}; fetch it again")
    df = frame.copy()
    df["capacity"] = 1.0
    df["students"] = np.nan
    df["duplicates"] = ""
    for c in ("name", "source", "vintage", "caveat"):
        df[c] = df[c].astype("string").fillna("")
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float)), crs=WGS84)
    gdf.index = pd.Index(gdf["id"].astype(str).to_numpy())
    extra = ["type_service_local"] if "type_service_local" in gdf.columns else []
    out = gdf[[*COLUMNS[:-1], *extra, "geometry"]]
    out.attrs.update(frame.attrs)
    return validate_layer(
        out,
        "support_bodies (directory)",
        required_columns=COLUMNS,
        geom_types=["Point"],
        id_column="id",
        allowed_values={"category": list(CATEGORIES)},
    )


def _same_body(
    base: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, crs: str, distance_m: float, min_similarity: float
) -> pd.Series:
    """For each row of ``new``, the id of the ``base`` body it duplicates, or NA."""
    out = pd.Series(pd.NA, index=new.index, dtype="string")
    if not len(base) or not len(new):
        return out
    b = base.to_crs(crs)
    n = new.to_crs(crs)
    bx, by = b.geometry.x.to_numpy(), b.geometry.y.to_numpy()
    bcat, bname, bid = b["category"].to_numpy(), b["name"].astype(str).to_numpy(), b["id"].astype(str).to_numpy()
    for k, (_, row) in enumerate(n.iterrows()):
        d = np.hypot(bx - row.geometry.x, by - row.geometry.y)
        cand = np.flatnonzero((d <= distance_m) & (bcat == row["category"]))
        best, best_s = None, -1.0
        for j in cand[np.argsort(d[cand], kind="stable")]:
            s = name_similarity(row["name"], bname[j])
            if s >= min_similarity and s > best_s:
                best, best_s = bid[j], s
        if best is not None:
            out.iloc[k] = best
    return out


def merge_support(
    base: gpd.GeoDataFrame,
    fetched: gpd.GeoDataFrame,
    *,
    territory: str = "herault",
    distance_m: float = SAME_BODY_M,
    min_similarity: float = MIN_NAME_SIMILARITY,
) -> gpd.GeoDataFrame:
    """Merge fetched bodies into a layer, without duplicates.

    A fetched body is the same body as a body of ``base`` when both have the same
    category, are within ``distance_m`` of each other and :func:`name_similarity` of their
    names is at least ``min_similarity``. The ``base`` body is kept (its ``duplicates``
    lists the fetched id) and the fetched one dropped; other fetched bodies are added.

    Parameters
    ----------
    base : GeoDataFrame
        The support bodies layer (e.g. :func:`~proximity.layers.support_bodies`).
    fetched : GeoDataFrame
        Fetched bodies in the same layout (e.g. :func:`directory_bodies`).
    territory : str
        Territory whose metric CRS measures ``distance_m``.
    distance_m : float
        Largest distance between two records of the same body, in metres.
    min_similarity : float
        Smallest :func:`name_similarity` (0 to 1) of two records of the same body.

    Returns
    -------
    GeoDataFrame
        ``base``'s columns, its rows first, then the new fetched rows.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> cols = dict(capacity=1.0, students=float("nan"), source="s", vintage="", caveat="", duplicates="")
    >>> base = gpd.GeoDataFrame(
    ...     dict(id=["a"], name=["Chambre de Commerce"], category=["chamber_of_commerce"], **cols),
    ...     geometry=[Point(3.8800, 43.6100)],
    ...     crs=4326,
    ...     index=["a"],
    ... )
    >>> new = gpd.GeoDataFrame(
    ...     dict(
    ...         id=["b", "c"],
    ...         name=["CCI Hérault", "Chambre d'agriculture de l'Hérault"],
    ...         category=["chamber_of_commerce", "chamber_of_agriculture"],
    ...         **cols,
    ...     ),
    ...     geometry=[Point(3.8810, 43.6105), Point(3.8810, 43.6105)],
    ...     crs=4326,
    ...     index=["b", "c"],
    ... )
    >>> m = merge_support(base, new)
    >>> m["id"].tolist(), m.loc["a", "duplicates"]
    (['a', 'c'], 'b')
    """
    if not np.isfinite(distance_m) or distance_m < 0:
        raise InputError(f"distance_m must be a distance in metres >= 0, got {distance_m!r}")
    if not 0 <= min_similarity <= 1:
        raise InputError(f"min_similarity must be in [0, 1], got {min_similarity!r}")
    dup = _same_body(base, fetched, crs=metric_crs(territory), distance_m=distance_m, min_similarity=min_similarity)
    out = base.copy()
    for new_id, base_id in dup.dropna().items():
        prev = str(out.loc[base_id, "duplicates"] or "")
        out.loc[base_id, "duplicates"] = ";".join([p for p in prev.split(";") if p] + [str(new_id)])
    keep = fetched.loc[dup.isna().to_numpy(), [c for c in base.columns if c in fetched.columns]]
    merged = pd.concat([out, keep.to_crs(base.crs)])
    return gpd.GeoDataFrame(merged, geometry=base.geometry.name, crs=base.crs)


def resolve_support(
    value: str | os.PathLike | gpd.GeoDataFrame | None,
    territory: str = "herault",
    *,
    target: str | os.PathLike | None = None,
    distance_m: float = SAME_BODY_M,
    min_similarity: float = MIN_NAME_SIMILARITY,
) -> gpd.GeoDataFrame | Path | None:
    """What ``--support`` means: ``None``, the fetched directory, or a user's file.

    ``"annuaire"`` (or ``"directory"``) gives the fetched bodies of the territory
    (:func:`proximity.fetch.stored_support`) **less those that duplicate a body of the
    offline layer** (:func:`merge_support`'s rule), ready to be passed as
    ``support_extra`` (their ids then read ``user:annuaire:<id>``); a path is returned as
    a :class:`~pathlib.Path` after checking that it exists; a GeoDataFrame is returned as is.

    Parameters
    ----------
    value : str, path, GeoDataFrame or None
        The ``--support`` value: ``None``, ``"annuaire"``/``"directory"`` (any case), a
        file or a layer.
    territory : str
        Territory whose fetched directory and offline layer are used.
    target : path, optional
        Folder of the fetched data; default :func:`proximity.fetch.fetched_dir`'s.
    distance_m, min_similarity : float
        The duplicate rule of :func:`merge_support`.

    Returns
    -------
    GeoDataFrame, Path or None
        ``value`` itself (``None`` or a layer), the new fetched bodies, or the checked path.

    Raises
    ------
    DataFileError
        The directory has not been fetched (the message gives the command) or the file
        does not exist.
    """
    if value is None or isinstance(value, gpd.GeoDataFrame):
        return value
    if str(value).strip().lower() in DIRECTORY_VALUES:
        from .. import fetch
        from .support import support_bodies

        fetched = directory_bodies(fetch.stored_support(territory, target=target), territory=territory)
        base = support_bodies(territory)
        dup = _same_body(base, fetched, crs=metric_crs(territory), distance_m=distance_m, min_similarity=min_similarity)
        out = fetched.loc[dup.isna().to_numpy()].copy()
        out.attrs.update(fetched.attrs)
        out.attrs["dropped_as_duplicates"] = {str(k): str(v) for k, v in dup.dropna().items()}
        return out
    p = Path(value)
    if not p.is_file():
        raise DataFileError(
            f"--support {str(value)!r} is neither 'annuaire' (the fetched directory) nor an existing file; "
            "check the path"
        )
    return p
