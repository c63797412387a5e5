"""Siting criteria of each candidate from long travel-time tables, their weighted ranking and
the Pareto front."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .. import accessibility
from ..errors import ConfigError, InputError, MissingColumnError
from ._checks import _OD_COLUMNS, _finite, _ids_of, _is_number, _show

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
    >>> od = pd.DataFrame({"origin_id": ["a", "a", "b"], "destination_id": [1, 2, 1], "minutes": [10.0, 40.0, 20.0]})
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
    within = accessibility.cumulative_opportunities(
        od_demand, thresholds_minutes=thr, weights=demand_weights, origins=index
    )
    out["smes_within_t"] = within.iloc[:, 0].to_numpy()
    if exporters is not None:
        if not isinstance(exporters, pd.Series):
            raise InputError(
                f"exporters must be a Series indexed by SME id (True for exporters), got {type(exporters).__name__}"
            )
        ex = exporters.astype(float) if pd.api.types.is_bool_dtype(exporters) else exporters
        out["exporters_within_t"] = (
            accessibility.cumulative_opportunities(od_demand, thresholds_minutes=thr, weights=ex, origins=index)
            .iloc[:, 0]
            .to_numpy()
        )
    if support is not None:
        out["support_within_t"] = (
            accessibility.cumulative_opportunities(
                support, thresholds_minutes=thr, weights=support_weights, origins=index
            )
            .iloc[:, 0]
            .to_numpy()
        )
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
    >>> c = pd.DataFrame({"minutes_airport": [5.0, 15.0, 25.0], "smes_within_t": [10, 30, 20]}, index=["a", "b", "c"])
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
    d: dict[str, str] = dict(DEFAULT_DIRECTIONS)
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
        col = data[:, j]
        if d[k] == "max" and np.isinf(col).any():
            raise InputError(f"criteria[{k!r}] has infinite values but more is better: give finite values")
        if d[k] == "min" and np.isneginf(col).any():
            raise InputError(f"criteria[{k!r}] has -inf values: give finite values or inf (unreachable)")
        fin = np.isfinite(col)
        norm = np.zeros(len(col))
        if fin.any():
            lo, hi = col[fin].min(), col[fin].max()
            if hi > lo:
                norm[fin] = (col[fin] - lo) / (hi - lo) if d[k] == "max" else (hi - col[fin]) / (hi - lo)
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
    >>> c = pd.DataFrame(
    ...     {"minutes_airport": [5.0, 15.0, 25.0, 20.0], "smes_within_t": [10, 30, 20, 30]}, index=list("abcd")
    ... )
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
    m[:, len(mins) :] *= -1.0  # everything to minimise
    n = len(m)
    dominated = np.zeros(n, dtype=bool)
    chunk = max(1, int(2e7 // max(n * len(cols), 1)))
    for s in range(0, n, chunk):
        a = m[s : s + chunk, None, :]
        le = (m[None, :, :] <= a).all(axis=2)
        lt = (m[None, :, :] < a).any(axis=2)
        dominated[s : s + chunk] = np.any(le & lt, axis=1)
    return pd.Series(~dominated, index=criteria.index, name="pareto")
