"""Peers: for each commune, the communes of France most like it, and where it stands among them.

A territorial-marketing team compares like with like: a village of 800 inhabitants an hour
from the nearest city is not measured against Lyon but against the villages of 800 an hour
from a city. :func:`peers` finds, for each commune, its ``k`` nearest communes on
**structural features** — what the commune *is*, not how it scores — and
:func:`add_peers` ranks each commune among itself and its peers on the milieu index and on
each of its components.

Features (:data:`FEATURES`)
---------------------------
``log_population``
    ``log(1 + population)``: a commune of 1,000 is as far from one of 10,000 as that one is
    from one of 100,000.
``log_density``
    ``log(1 + population / area_km2)`` (inhabitants per km²).
``minutes_city_50k``
    Population-weighted minutes by car to the nearest commune of 50,000 inhabitants or
    more (a column of the national table), capped at :data:`MAX_MINUTES` (beyond three
    hours, and for islands with no road, being further does not make communes less alike).
``share_pop_airport_30``
    Share (0–1) of the commune's population within 30 minutes of an airport (a column of the
    national table).

Any other numeric column of the table may be named in ``features`` and is used as it is.
The index and its components are *not* features by default: peers are chosen on what a
commune is, then compared on how it scores.

Method
------
Each feature is turned into a **robust z-score**, ``(x - median) / (1.4826 × MAD)`` (the
median absolute deviation scaled to a standard deviation for normal data; when the MAD is
0, the interquartile range / 1.349, then the standard deviation; a constant feature
contributes nothing). Distances are Euclidean between these z-scores, all features weighted
alike. Candidates come from a :class:`scipy.spatial.cKDTree`; the ``k`` peers are then
chosen by exact distance with ties broken by INSEE code (smaller first), so the result does
not depend on the tree, the row order or the machine's thread count. A commune is never its
own peer; two communes with the same features are peers at distance 0.

Examples
--------
``table`` is the municipalities table of a national run (``--territory france``: a long
computation, not available to the doctests), so these examples are not run as doctests (the
functions' own examples use small tables):

>>> from proximity import peers
>>> long = peers.peers(table, k=10)  # doctest: +SKIP
>>> long.loc[long["insee"].eq("34172"), ["peer_rank", "peer_name", "distance"]]  # doctest: +SKIP
>>> table = peers.add_peers(table)  # doctest: +SKIP
>>> table.loc["34172", ["peer_rank_index", "peers"]]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .errors import InputError, MissingColumnError
from .milieu import COMPONENTS

__all__ = [
    "DEFAULT_FEATURES",
    "DEFAULT_K",
    "FEATURES",
    "MAX_MINUTES",
    "RANKED",
    "add_peers",
    "feature_matrix",
    "peer_ranks",
    "peers",
    "robust_z",
]

#: Peers per commune by default.
DEFAULT_K = 10
#: Cap of ``minutes_city_50k`` (minutes); unreachable (infinite) becomes the cap.
MAX_MINUTES = 180.0


def _log_population(t: pd.DataFrame) -> pd.Series:
    return t["population"].astype(float).pipe(np.log1p)


def _log_density(t: pd.DataFrame) -> pd.Series:
    area = t["area_km2"].astype(float)
    return (t["population"].astype(float) / area.where(area > 0)).pipe(np.log1p)


def _minutes_city(t: pd.DataFrame) -> pd.Series:
    return t["minutes_city_50k"].astype(float).clip(upper=MAX_MINUTES)


def _share(t: pd.DataFrame) -> pd.Series:
    return t["share_pop_airport_30"].astype(float)


#: Derived features: name -> (columns needed, function of the table, description).
FEATURES: dict[str, tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.Series], str]] = {
    "log_population": (("population",), _log_population, "log(1 + population)"),
    "log_density": (("population", "area_km2"), _log_density, "log(1 + inhabitants per km²)"),
    "minutes_city_50k": (
        ("minutes_city_50k",),
        _minutes_city,
        f"minutes to the nearest city of 50,000+, capped at {MAX_MINUTES:g}",
    ),
    "share_pop_airport_30": (("share_pop_airport_30",), _share, "share of the population within 30 min of an airport"),
}
#: The structural features of :func:`peers` by default.
DEFAULT_FEATURES: tuple[str, ...] = tuple(FEATURES)
#: Columns on which :func:`add_peers` ranks a commune among its peers (higher is better),
#: those present in the table.
RANKED: tuple[str, ...] = ("index", *COMPONENTS)


def _check_table(table: object, needed: Sequence[str], *, what: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            f"table must be a (Geo)DataFrame of communes (e.g. municipalities.parquet), got {type(table).__name__}"
        )
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        hints = {
            "minutes_city_50k": "the national run (proximity run --territory france) writes it",
            "share_pop_airport_30": "the national run (proximity run --territory france) writes it",
            "area_km2": "the municipalities layer has it",
            "insee": "the 5-character INSEE code of each commune",
        }
        detail = "; ".join(f"{c!r} ({hints[c]})" if c in hints else repr(c) for c in missing)
        raise MissingColumnError(f"{what}: table lacks the column(s) {detail}; add them, or choose other features=")
    codes = table["insee"]
    if codes.isna().any():
        raise InputError(f"{what}: {int(codes.isna().sum())} rows of table have no 'insee' code; drop them first")
    dup = codes.astype(str)[codes.astype(str).duplicated()]
    if len(dup):
        raise InputError(f"{what}: table has duplicate INSEE codes {sorted(set(dup))[:5]}; keep one row per commune")
    return table


def _check_k(k: object, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a positive integer (peers per commune), got {k!r}; e.g. k=10")
    if n < int(k) + 1:
        raise InputError(
            f"k={k} peers need at least {int(k) + 1} communes, the table has {n}; lower k or pass more communes"
        )
    return int(k)


def _check_features(features: object) -> tuple[str, ...]:
    if isinstance(features, str) or not isinstance(features, Sequence) or not len(features):
        raise InputError(
            f"features must be a non-empty list of feature names, got {features!r}; e.g. features={list(DEFAULT_FEATURES)}"
        )
    bad = [f for f in features if not isinstance(f, str)]
    if bad:
        raise InputError(f"features must be names (str), got {bad!r}")
    return tuple(dict.fromkeys(features))


def robust_z(values: pd.Series) -> pd.Series:
    """Robust z-scores of one feature: ``(x - median) / (1.4826 × MAD)``.

    When the MAD is 0 (more than half the values equal), the interquartile range / 1.349
    is the scale, then the standard deviation; a constant feature gives zeros.

    Parameters
    ----------
    values : Series of float
        Finite values.

    Returns
    -------
    Series
        Indexed like ``values``.

    Examples
    --------
    >>> robust_z(pd.Series([1.0, 2.0, 3.0, 4.0, 100.0])).round(3).tolist()
    [-1.349, -0.674, 0.0, 0.674, 65.426]
    """
    x = values.astype(float)
    med = float(x.median())
    scale = 1.4826 * float((x - med).abs().median())
    if not scale > 0:
        q1, q3 = np.quantile(x.to_numpy(), [0.25, 0.75])
        scale = float(q3 - q1) / 1.349
    if not scale > 0:
        scale = float(x.std(ddof=0))
    if not scale > 0:
        return pd.Series(0.0, index=x.index)
    return (x - med) / scale


def feature_matrix(table: pd.DataFrame, *, features: Sequence[str] = DEFAULT_FEATURES) -> pd.DataFrame:
    """The standardised (robust z-score) features of each commune.

    Parameters
    ----------
    table : DataFrame
        One row per commune, with ``insee`` and the columns the features need (see
        :data:`FEATURES`; any other feature name is a numeric column used as it is).
    features : sequence of str, default :data:`DEFAULT_FEATURES`

    Returns
    -------
    DataFrame
        Indexed like ``table``, one column per feature.

    Raises
    ------
    MissingColumnError
        A column a feature needs is missing (the message names it and where it comes from).
    InputError
        A feature has missing or non-finite values (the message names the communes), or
        ``share_pop_airport_30`` is outside 0–1.
    """
    feats = _check_features(features)
    needed = ["insee"]
    for f in feats:
        needed += list(FEATURES[f][0]) if f in FEATURES else [f]
    _check_table(table, needed, what="peers")
    out = {}
    problems = []
    for f in feats:
        if f in FEATURES:
            raw = FEATURES[f][1](table)
        else:
            if not pd.api.types.is_numeric_dtype(table[f]):
                problems.append(f"{f!r} is not numeric ({table[f].dtype})")
                continue
            raw = table[f].astype(float)
        bad = ~np.isfinite(raw.to_numpy(dtype=float))
        if bad.any():
            codes = table["insee"].astype(str)[bad].tolist()
            problems.append(f"{f!r} is missing or not finite for {int(bad.sum())} communes ({', '.join(codes[:5])})")
            continue
        if f == "share_pop_airport_30" and ((raw < 0) | (raw > 1)).any():
            problems.append(f"{f!r} must be a share from 0 to 1, found {raw.min():g} to {raw.max():g}")
            continue
        out[f] = robust_z(raw)
    if problems:
        raise InputError("peers: " + "; ".join(problems) + "; fill or drop these communes, or choose other features=")
    return pd.DataFrame(out, index=table.index)


def peers(table: pd.DataFrame, *, k: int = DEFAULT_K, features: Sequence[str] = DEFAULT_FEATURES) -> pd.DataFrame:
    """The ``k`` nearest peers of every commune on structural features (a long table).

    Parameters
    ----------
    table : DataFrame
        One row per commune: ``insee``, ``name`` and the columns of the features (see the
        module docstring), e.g. ``municipalities.parquet`` of a national run.
    k : int, default 10
        Peers per commune (the commune itself excluded).
    features : sequence of str, default :data:`DEFAULT_FEATURES`
        Names of :data:`FEATURES` or numeric columns of ``table``.

    Returns
    -------
    DataFrame
        ``k`` rows per commune, sorted by ``insee`` then ``peer_rank``: ``insee``,
        ``peer_rank`` (1 = most alike), ``peer_insee``, ``peer_name`` and ``distance``
        (Euclidean, in robust standard deviations). Ties in distance go to the smaller
        INSEE code.

    Raises
    ------
    MissingColumnError
        ``table`` lacks ``insee``, ``name`` or a feature's column.
    InputError
        Bad ``k`` (or fewer than ``k + 1`` communes), duplicate INSEE codes, missing or
        non-finite feature values.

    Examples
    --------
    >>> t = pd.DataFrame(
    ...     {"insee": ["01001", "01002", "01003", "01004"], "name": list("ABCD"), "size": [1.0, 2.0, 4.0, 8.0]}
    ... )
    >>> peers(t, k=2, features=["size"])[["insee", "peer_rank", "peer_insee"]].head(4).values.tolist()
    [['01001', 1, '01002'], ['01001', 2, '01003'], ['01002', 1, '01001'], ['01002', 2, '01003']]
    """
    _check_table(table, ["insee", "name"], what="peers")
    z = feature_matrix(table, features=features)
    k = _check_k(k, len(table))
    codes = table["insee"].astype(str).to_numpy()
    order = np.argsort(codes, kind="stable")  # rows in INSEE order: position breaks ties
    codes_sorted = codes[order]
    X = np.ascontiguousarray(z.to_numpy(dtype=float)[order])
    n = len(X)
    tree = cKDTree(X)
    # the (k+1)-th distance (self included) bounds every peer; collect all candidates within it
    dk, _ = tree.query(X, k=k + 1)
    radius = dk[:, -1]
    radius = radius * (1 + 1e-9) + 1e-12
    balls = tree.query_ball_point(X, radius)
    rows_i, rows_j, rows_d = [], [], []
    for i in range(n):
        cand = np.asarray(balls[i], dtype=np.int64)
        cand = cand[cand != i]
        d = np.sqrt(((X[cand] - X[i]) ** 2).sum(axis=1))
        pick = cand[np.lexsort((cand, d))][:k]  # by exact distance, then INSEE (= position)
        rows_i.append(np.full(len(pick), i))
        rows_j.append(pick)
        rows_d.append(np.sqrt(((X[pick] - X[i]) ** 2).sum(axis=1)))
    ii, jj, dd = np.concatenate(rows_i), np.concatenate(rows_j), np.concatenate(rows_d)
    names = table["name"].astype(str).to_numpy()[order]
    return pd.DataFrame(
        {
            "insee": codes_sorted[ii],
            "peer_rank": np.tile(np.arange(1, k + 1), n),
            "peer_insee": codes_sorted[jj],
            "peer_name": names[jj],
            "distance": dd,
        }
    )


def peer_ranks(table: pd.DataFrame, long: pd.DataFrame, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rank of each commune among itself and its peers, on the index and each component.

    Parameters
    ----------
    table : DataFrame
        The communes (``insee`` and the ranked columns).
    long : DataFrame
        Peers from :func:`peers` on this table.
    columns : sequence of str, optional
        Columns to rank on, higher is better (default: those of :data:`RANKED` present).

    Returns
    -------
    DataFrame
        Indexed like ``table``: ``peers`` (the peers' INSEE codes, most alike first,
        space-separated), ``peer_rank_<column>`` (1 = best of the ``k + 1``; equal values
        share the better rank; missing when the commune's value is missing) and
        ``peer_median_index`` (median index of the peers) when ``index`` is ranked.

    Raises
    ------
    MissingColumnError
        A ranked column or a column of ``long`` is missing.
    InputError
        ``long`` names communes that are not in ``table``.
    """
    cols = [c for c in RANKED if c in table.columns] if columns is None else list(columns)
    _check_table(table, ["insee", *cols], what="peer_ranks")
    miss = [
        c for c in ("insee", "peer_rank", "peer_insee") if not isinstance(long, pd.DataFrame) or c not in long.columns
    ]
    if miss:
        raise MissingColumnError(f"peer_ranks: long lacks {miss}; pass the table returned by peers()")
    codes = table["insee"].astype(str)
    pos = pd.Series(np.arange(len(table)), index=codes.to_numpy())
    long = long.sort_values(["insee", "peer_rank"], kind="stable")
    unknown = sorted((set(long["insee"]) | set(long["peer_insee"])) - set(pos.index))
    if unknown:
        raise InputError(f"peer_ranks: long names communes not in table ({unknown[:5]}); compute peers on this table")
    counts = long.groupby("insee").size()
    if len(counts) and (counts != counts.iloc[0]).any():
        raise InputError("peer_ranks: communes have different numbers of peers; pass the table returned by peers()")
    k = int(counts.iloc[0]) if len(counts) else 0
    owners = pos.loc[counts.index.to_numpy()].to_numpy()
    P = pos.loc[long["peer_insee"].to_numpy()].to_numpy().reshape(-1, k)
    out = pd.DataFrame(index=table.index)
    joined = long.groupby("insee", sort=True)["peer_insee"].agg(" ".join)
    peers_col = pd.Series(pd.NA, index=range(len(table)), dtype=object)
    peers_col.iloc[owners] = joined.to_numpy()
    out["peers"] = peers_col.to_numpy()
    for c in cols:
        v = table[c].to_numpy(dtype=float)
        mine = v[owners]
        theirs = v[P]
        better = (theirs > mine[:, None]).sum(axis=1)
        r = np.full(len(table), np.nan)
        r[owners] = np.where(np.isnan(mine), np.nan, 1 + better)
        out[f"peer_rank_{c}"] = pd.array(r, dtype="Int64")
        if c == "index":
            med = np.full(len(table), np.nan)
            med[owners] = np.nanmedian(theirs, axis=1) if k else np.nan
            out["peer_median_index"] = med
    return out


def add_peers(
    table: pd.DataFrame,
    *,
    k: int = DEFAULT_K,
    features: Sequence[str] = DEFAULT_FEATURES,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A copy of the commune table with each commune's peers and its ranks among them.

    Parameters
    ----------
    table : DataFrame or GeoDataFrame
        One row per commune (see :func:`peers`), with the index and its components.
    k : int, default 10
    features : sequence of str, default :data:`DEFAULT_FEATURES`
    columns : sequence of str, optional
        Columns to rank on (default: ``index`` and the components present).

    Returns
    -------
    DataFrame or GeoDataFrame
        Same type and index as ``table``, plus the columns of :func:`peer_ranks`:
        ``peers`` (space-separated INSEE codes, most alike first), ``peer_rank_index``,
        ``peer_rank_<component>`` (1 to ``k + 1``) and ``peer_median_index``.

    Raises
    ------
    MissingColumnError, InputError
        As :func:`peers` and :func:`peer_ranks`.

    Examples
    --------
    >>> t = pd.DataFrame(
    ...     {
    ...         "insee": ["01001", "01002", "01003"],
    ...         "name": list("ABC"),
    ...         "size": [1.0, 2.0, 4.0],
    ...         "index": [10.0, 30.0, 20.0],
    ...     }
    ... )
    >>> add_peers(t, k=1, features=["size"])[["peers", "peer_rank_index"]].values.tolist()
    [['01002', 2], ['01001', 1], ['01002', 2]]
    """
    long = peers(table, k=k, features=features)
    ranks = peer_ranks(table, long, columns=columns)
    out = table.copy()
    for c in ranks.columns:
        out[c] = ranks[c]
    return out
