"""Accessibility measures on long travel-time tables: decay, catchments, diversity, equity.

Every measure takes a long travel-time table as produced by :mod:`proximity.traveltime`
(and read by PySAL ``access`` and r5py): a DataFrame with the columns ``origin_id``,
``destination_id`` and ``minutes``. ``minutes`` may be ``inf`` for an unreachable pair
and pairs beyond a cut-off may be absent: both mean "not reachable" (a row with a
missing ``destination_id`` and ``minutes = inf`` only records an origin that reaches
nothing, as :func:`proximity.traveltime.nearest` writes it). Supply, demand,
opportunity weights and categories are Series indexed by ``destination_id`` (supply,
weights, categories) or ``origin_id`` (demand).

Results are indexed by ``origin_id``: by default every origin of the table in order of
first appearance (the floating catchments put the demand origins first), or exactly
the ``origins`` given. An origin that reaches nothing gets 0 (``inf`` for
:func:`nearest_minutes`), never NaN. A destination absent from ``weights``/``supply``
offers nothing, one absent from ``categories`` belongs to no category; but a Series
sharing *no* identifier with the table is an error (it is almost always an index
mismatch).

Decay functions are small factories returning vectorised callables ``minutes ->
weight`` in [0, 1] with ``inf -> 0`` (the PySAL ``access`` ``weights.py`` style). The
milieu index that combines these measures lives in :mod:`proximity.milieu`.

References
----------
.. [1] Hansen, W. G. (1959). How accessibility shapes land use. *Journal of the
   American Institute of Planners* 25(2), 73-76.
.. [2] Geurs, K. T. & van Wee, B. (2004). Accessibility evaluation of land-use and
   transport strategies: review and research directions. *Journal of Transport
   Geography* 12(2), 127-140.
.. [3] Luo, W. & Wang, F. (2003). Measures of spatial accessibility to health care in a
   GIS environment: synthesis and a case study in the Chicago region. *Environment and
   Planning B* 30(6), 865-884.
.. [4] Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA)
   method for measuring spatial accessibility to primary care physicians. *Health &
   Place* 15(4), 1100-1107.
.. [5] Hill, M. O. (1973). Diversity and evenness: a unifying notation and its
   consequences. *Ecology* 54(2), 427-432.
.. [6] Cobham, A. & Sumner, A. (2013). Is it all about the tails? The Palma measure of
   income inequality. Center for Global Development, Working Paper 343.
.. [7] Torres, O. (2002). Small firm, glocalization strategy and proximity. 16th ECSB
   RENT conference, Barcelona.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from scipy.special import entr, expit, logit

from .errors import InputError, MissingColumnError

__all__ = [
    "DECAY_FACTORIES",
    "DEFAULT_HALF_LIFE_MINUTES",
    "DEFAULT_NEGLIGIBLE_WEIGHT",
    "LUO_QI_2009_ZONES",
    "MAX_HORIZON_MINUTES",
    "OD_COLUMNS",
    "WORLD_REACH_COLUMNS",
    "Decay",
    "aggregate",
    "cumulative_opportunities",
    "decay_function",
    "decay_horizon_minutes",
    "diversity",
    "enhanced_two_step_fca",
    "exponential",
    "gaussian",
    "gini",
    "gravity",
    "hill_number",
    "logistic",
    "nearest_minutes",
    "none",
    "palma",
    "power",
    "step",
    "stepwise",
    "two_step_fca",
    "world_reach",
]

Decay: TypeAlias = Callable[[Any], Any]
"""A decay function: minutes (scalar or array) -> weight (float or array), inf -> 0."""

OD_COLUMNS: tuple[str, str, str] = ("origin_id", "destination_id", "minutes")
"""Columns of a long travel-time table."""

DEFAULT_HALF_LIFE_MINUTES: float = 30.0
"""Default half-life of :func:`exponential` (and the half-weight time of :func:`gaussian`).

An assumption of this package, not a calibrated value: a partner half an hour's drive
away counts half as much as one next door. It encodes the proximity principle of
Torres (2002) [7]_ ("between two equivalent potential partners, an SME owner-director
would rather choose the closer one") at the scale of a French département; calibrate
it on local trip data (e.g. INSEE home-work flows) before reading absolute values.
"""

LUO_QI_2009_ZONES: Mapping[float, float] = {10.0: 1.0, 20.0: 0.68, 30.0: 0.22}
"""Stepwise E2SFCA weights: upper bound of each travel-time zone (minutes) -> weight.

The default of PySAL ``access`` ``Access.enhanced_two_stage_fca``
(``weights.step_fn({10: 1, 20: 0.68, 30: 0.22})``), which its documentation attributes
to the original E2SFCA paper, Luo & Qi (2009) [4]_ (zones 0-10, 10-20 and 20-30 min).
"""


# --------------------------------------------------------------------------- checks


def _show(x: Any) -> str:
    """repr of a value with numpy scalars shown as Python ones (3, not np.int64(3))."""
    return repr(x.item() if isinstance(x, np.generic) else x)


def _number(
    name: str, value: Any, *, minimum: float = 0.0, strict: bool = True, allow_inf: bool = False, fix: str = ""
) -> float:
    """Validate a real parameter and return it as float (bools are refused)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    v = float(value) if ok else math.nan
    if ok and not math.isnan(v) and (allow_inf or math.isfinite(v)) and (v > minimum or (not strict and v == minimum)):
        return v
    bound = f"{'>' if strict else '>='} {minimum:g}"
    kind = "a number" if allow_inf else "a finite number"
    raise InputError(f"{name} must be {kind} {bound}, got {_show(value)}" + (f"; {fix}" if fix else ""))


def _check_decay(decay: Any, name: str = "decay") -> Decay:
    if not callable(decay):
        raise InputError(
            f"{name} must be a callable minutes -> weight, got {type(decay).__name__}; "
            "build one with proximity.accessibility.exponential(), step(), ... "
        )
    return decay


def _apply_decay(decay: Decay, minutes: np.ndarray, name: str = "decay") -> np.ndarray:
    """Evaluate a (possibly user-supplied) decay and check its output."""
    out = np.asarray(decay(minutes), dtype=float)
    if out.shape != minutes.shape:
        raise InputError(
            f"{name} returned shape {out.shape} for {minutes.shape[0]} travel times: it "
            "must be vectorised; wrap a scalar function with numpy.vectorize(...)"
        )
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        raise InputError(
            f"{name} returned {int(bad.sum())} weight(s) that are negative, NaN or "
            f"infinite (e.g. {_show(out[bad][0])}); a decay weight must be finite and >= 0"
        )
    return out


@dataclass(frozen=True, eq=False)
class _OD:
    """A validated travel-time table as integer codes."""

    origin_codes: np.ndarray  # row -> position in origin_ids
    origin_ids: pd.Index
    destination_codes: np.ndarray  # row -> position in destination_ids
    destination_ids: pd.Index
    minutes: np.ndarray  # float64, >= 0, may be inf


def _prepare_od(od: Any, name: str = "od") -> _OD:
    if not isinstance(od, pd.DataFrame):
        raise InputError(
            f"{name} must be a pandas DataFrame with columns {list(OD_COLUMNS)}, got "
            f"{type(od).__name__}; build it with proximity.traveltime"
        )
    missing = [c for c in OD_COLUMNS if c not in od.columns]
    if missing:
        raise MissingColumnError(
            f"{name} has no column(s) {missing} (found {list(map(str, od.columns))}); "
            f"a travel-time table needs {list(OD_COLUMNS)}: rename yours, e.g. "
            "od.rename(columns={'from_id': 'origin_id', 'to_id': 'destination_id', "
            "'travel_time': 'minutes'})"
        )
    col = od["minutes"]
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise InputError(
            f"{name}['minutes'] must be numeric, got dtype {col.dtype}; convert it with pd.to_numeric(...)"
        )
    minutes = col.to_numpy(dtype=float, na_value=np.nan)
    problems: list[str] = []
    n_nan = int(np.isnan(minutes).sum())
    if n_nan:
        problems.append(f"{n_nan} minutes value(s) are NaN (use inf for an unreachable pair, or drop the row)")
    n_neg = int((minutes < 0).sum())
    if n_neg:
        problems.append(
            f"{n_neg} minutes value(s) are negative (e.g. {minutes[minutes < 0][0]:g}): travel times must be >= 0"
        )
    n_null = int(od["origin_id"].isna().sum())
    if n_null:
        problems.append(f"{n_null} origin_id value(s) are missing")
    # rows with no destination (as in traveltime.nearest's "nothing found") only register
    # their origin; they must say "unreachable"
    no_dest = od["destination_id"].isna().to_numpy()
    n_bad = int((no_dest & np.isfinite(minutes)).sum())
    if n_bad:
        problems.append(
            f"{n_bad} row(s) have no destination_id but a finite time: give the destination or set minutes to inf"
        )
    if not problems:
        o_codes, o_ids = pd.factorize(od["origin_id"], sort=False)
        d_codes, d_ids = pd.factorize(od["destination_id"], sort=False)
        if no_dest.any():
            o_codes, d_codes, minutes = o_codes[~no_dest], d_codes[~no_dest], minutes[~no_dest]
        key = o_codes.astype(np.int64) * max(len(d_ids), 1) + d_codes
        dup = pd.Series(key).duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            problems.append(
                f"{int(dup.sum())} (origin_id, destination_id) pair(s) are repeated (e.g. "
                f"({_show(o_ids[o_codes[i]])}, {_show(d_ids[d_codes[i]])})): keep one time "
                "per pair, e.g. od.groupby(['origin_id', 'destination_id'], "
                "as_index=False)['minutes'].min()"
            )
    if problems:
        raise InputError(f"{name} is not a valid travel-time table: " + "; ".join(problems))
    return _OD(
        origin_codes=o_codes,
        origin_ids=pd.Index(o_ids),
        destination_codes=d_codes,
        destination_ids=pd.Index(d_ids),
        minutes=minutes,
    )


def _output_index(
    t: _OD, origins: Iterable[Hashable] | None, *, first: pd.Index | None = None
) -> tuple[pd.Index, np.ndarray]:
    """Output index and, per table row, the output position (-1 when not reported)."""
    if origins is None:
        index = t.origin_ids if first is None else first.append(t.origin_ids[~t.origin_ids.isin(first)])
    else:
        index = origins if isinstance(origins, pd.Index) else pd.Index(list(origins))
        if index.has_duplicates:
            dup = index[index.duplicated()].unique()[:5].tolist()
            raise InputError(f"origins has repeated identifiers {dup}: pass each origin once")
    index = index.copy()
    if index.name is None:
        index.name = "origin_id"
    row_pos = index.get_indexer(t.origin_ids)[t.origin_codes]
    return index, row_pos


def _series_by_id(values: Any, name: str, id_name: str, fix: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise InputError(f"{name} must be a pandas Series indexed by {id_name}, got {type(values).__name__}; {fix}")
    if values.index.has_duplicates:
        dup = values.index[values.index.duplicated()].unique()[:5].tolist()
        raise InputError(
            f"{name} has repeated {id_name}(s) {dup}: give one value per {id_name}, e.g. {name}.groupby(level=0).sum()"
        )
    return values


def _nonneg_values(values: Any, name: str, id_name: str) -> pd.Series:
    s = _series_by_id(values, name, id_name, f"e.g. layer.set_index('{id_name}')['count']")
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise InputError(f"{name} must be numeric, got dtype {s.dtype}; convert it with pd.to_numeric")
    arr = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise InputError(
            f"{name} has {int(bad.sum())} value(s) that are negative, NaN or infinite "
            f"(e.g. {name}[{_show(s.index[bad][0])}] = {_show(arr[bad][0])}): use finite "
            "values >= 0 (0 for none)"
        )
    return pd.Series(arr, index=s.index)


def _on_ids(values: pd.Series, ids: pd.Index, name: str, id_name: str) -> np.ndarray:
    """Values per identifier of the table (0 where absent), refusing a disjoint index."""
    if len(ids) and len(values) and not ids.isin(values.index).any():
        raise InputError(
            f"{name} shares no {id_name} with the travel-time table (e.g. {name} has "
            f"{_show(values.index[0])}, the table {_show(ids[0])}): index {name} by {id_name}"
        )
    return values.reindex(ids).fillna(0.0).to_numpy(dtype=float)


def _destination_weights(weights: Any, t: _OD) -> np.ndarray:
    if weights is None:
        return np.ones(len(t.destination_ids))
    w = _nonneg_values(weights, "weights", "destination_id")
    return _on_ids(w, t.destination_ids, "weights", "destination_id")


def _categories(categories: Any, t: _OD) -> tuple[np.ndarray, pd.Index]:
    """Category code per table destination (-1: none) and the category taxonomy."""
    s = _series_by_id(
        categories,
        "categories",
        "destination_id",
        "e.g. services.set_index('destination_id')['category']",
    )
    if s.isna().any():
        bad = s.index[s.isna()][:5].tolist()
        raise InputError(
            f"categories has {int(s.isna().sum())} missing value(s) (destination_id "
            f"{bad}): drop those destinations or give them a category"
        )
    if isinstance(s.dtype, pd.CategoricalDtype):
        taxonomy = pd.Index(s.cat.categories)
    else:
        uniques = pd.unique(s.to_numpy())
        try:
            taxonomy = pd.Index(sorted(uniques))
        except TypeError:  # mixed types: keep order of appearance
            taxonomy = pd.Index(uniques)
    taxonomy.name = "category"
    if len(t.destination_ids) and not t.destination_ids.isin(s.index).any():
        raise InputError(
            "categories shares no destination_id with the travel-time table (e.g. "
            f"categories has {_show(s.index[0])}, the table {_show(t.destination_ids[0])}): index "
            "categories by destination_id"
        )
    per_dest = s.reindex(t.destination_ids)
    codes = taxonomy.get_indexer(per_dest.to_numpy(dtype=object))
    return codes, taxonomy


# --------------------------------------------------------------------------- decay


def _decay(
    kernel: Callable[[np.ndarray], np.ndarray], label: str, minutes_at: Callable[[float], float] | None = None
) -> Decay:
    """Wrap a kernel defined on finite minutes >= 0 into a checked, vectorised decay.

    ``minutes_at(w)``, when known in closed form, is the first time at which the weight
    is at most ``w`` (``inf`` if never): :func:`decay_horizon_minutes` uses it.
    """

    def decay(minutes: Any) -> Any:
        t = np.asarray(minutes, dtype=float)
        if np.isnan(t).any() or (t < 0).any():
            raise InputError(
                f"{label}: minutes must be >= 0 and not NaN (inf means unreachable); check the travel-time table"
            )
        finite = np.isfinite(t)
        w = np.where(finite, kernel(np.where(finite, t, 0.0)), 0.0)
        return float(w) if w.ndim == 0 else w

    decay.__name__ = decay.__qualname__ = label
    decay.__doc__ = f"Decay {label}: minutes -> weight in [0, 1], inf -> 0."
    if minutes_at is not None:
        decay.minutes_at = minutes_at  # type: ignore[attr-defined]
    return decay


def exponential(*, half_life_minutes: float = DEFAULT_HALF_LIFE_MINUTES) -> Decay:
    """Negative-exponential decay ``w(t) = 0.5 ** (t / half_life_minutes)``.

    The usual potential-accessibility decay (Geurs & van Wee 2004 [2]_), written with a
    half-life rather than a rate: ``beta = ln 2 / half_life_minutes`` per minute
    (0.0231/min for the default).

    Parameters
    ----------
    half_life_minutes : float, default 30
        Travel time at which the weight is 0.5. The default is an assumption, see
        :data:`DEFAULT_HALF_LIFE_MINUTES`.

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in (0, 1], ``w(0) = 1``, ``w(inf) = 0``.

    Raises
    ------
    InputError
        If ``half_life_minutes`` is not a finite number > 0.

    Examples
    --------
    >>> f = exponential(half_life_minutes=30)
    >>> f([0, 30, 60, float("inf")]).tolist()
    [1.0, 0.5, 0.25, 0.0]
    """
    h = _number("half_life_minutes", half_life_minutes)
    return _decay(lambda t: np.exp2(-t / h), f"exponential(half_life_minutes={h:g})", lambda w: h * math.log2(1.0 / w))


def gaussian(*, sigma_minutes: float = DEFAULT_HALF_LIFE_MINUTES / math.sqrt(2 * math.log(2))) -> Decay:
    """Gaussian decay ``w(t) = exp(-t**2 / (2 * sigma_minutes**2))``.

    Exactly PySAL ``access`` ``weights.gaussian(sigma)`` (not normalised: ``w(0) = 1``).
    The weight is 0.5 at ``sigma_minutes * sqrt(2 ln 2)`` = 1.177 sigma.

    Parameters
    ----------
    sigma_minutes : float, default 25.48
        Width of the kernel. The default, ``30 / sqrt(2 ln 2)``, puts the half weight at
        30 minutes like :func:`exponential` (same assumption,
        :data:`DEFAULT_HALF_LIFE_MINUTES`), with a flatter start and a faster fall.

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in (0, 1], ``w(inf) = 0``.

    Raises
    ------
    InputError
        If ``sigma_minutes`` is not a finite number > 0.

    Examples
    --------
    >>> round(gaussian()(30.0), 12)
    0.5
    """
    s = _number("sigma_minutes", sigma_minutes)
    return _decay(
        lambda t: np.exp(-t * t / (2 * s**2)),
        f"gaussian(sigma_minutes={s:g})",
        lambda w: s * math.sqrt(2.0 * math.log(1.0 / w)),
    )


def logistic(*, midpoint_minutes: float, steepness_per_minute: float) -> Decay:
    """Logistic decay, rescaled so that ``w(0) = 1``.

    ``w(t) = (1 + exp(-k m)) / (1 + exp(k (t - m)))`` with ``m = midpoint_minutes`` and
    ``k = steepness_per_minute``: close to 1 well before ``m``, close to 0 well after,
    a smooth version of :func:`step` (Geurs & van Wee 2004 [2]_). The weight at ``m``
    is ``(1 + exp(-k m)) / 2``, i.e. 0.5 when ``k m`` is large.

    Parameters
    ----------
    midpoint_minutes : float
        Inflection point, > 0.
    steepness_per_minute : float
        Slope parameter ``k`` (per minute), > 0: the weight goes from 0.88 to 0.12
        over ``m +- 2/k`` minutes.

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in (0, 1], ``w(inf) = 0``.

    Raises
    ------
    InputError
        If a parameter is not a finite number > 0.

    Examples
    --------
    >>> f = logistic(midpoint_minutes=30, steepness_per_minute=0.5)
    >>> [round(x, 3) for x in f([0, 30, 40]).tolist()]
    [1.0, 0.5, 0.007]
    """
    m = _number("midpoint_minutes", midpoint_minutes)
    k = _number("steepness_per_minute", steepness_per_minute)
    at_zero = expit(k * m)  # 1 / (1 + exp(-k m)); expit avoids overflow warnings
    return _decay(
        lambda t: expit(-k * (t - m)) / at_zero,
        f"logistic(midpoint_minutes={m:g}, steepness_per_minute={k:g})",
        lambda w: max(0.0, m - float(logit(w * at_zero)) / k),
    )


def power(*, beta: float, min_minutes: float = 1.0) -> Decay:
    """Power (inverse-time) decay ``w(t) = (max(t, min_minutes) / min_minutes) ** -beta``.

    Hansen's (1959) [1]_ gravity form. The floor ``min_minutes`` avoids the infinite
    weight at ``t = 0`` and scales the weight to 1 there; it is PySAL ``access``
    ``weights.gravity(scale=min_minutes, alpha=-beta, min_dist=min_minutes)``.

    Parameters
    ----------
    beta : float
        Exponent, > 0 (no default: published values range from about 1 to 3 and depend
        on the trip purpose and the unit of time).
    min_minutes : float, default 1
        Travel times below it count as ``min_minutes`` (weight 1), > 0.

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in (0, 1], ``w(inf) = 0``.

    Raises
    ------
    InputError
        If a parameter is not a finite number > 0.

    Examples
    --------
    >>> power(beta=2, min_minutes=5)([0, 5, 10, 50]).tolist()
    [1.0, 1.0, 0.25, 0.01]
    """
    b = _number("beta", beta)
    t0 = _number("min_minutes", min_minutes)
    return _decay(
        lambda t: (np.maximum(t, t0) / t0) ** -b,
        f"power(beta={b:g}, min_minutes={t0:g})",
        lambda w: t0 * w ** (-1.0 / b),
    )


def step(*, max_minutes: float) -> Decay:
    """Cumulative-opportunity (binary) decay: 1 for ``t <= max_minutes``, else 0.

    The bound is inclusive, like PySAL ``access`` (``cost <= max_cost``) and
    :func:`cumulative_opportunities`.

    Parameters
    ----------
    max_minutes : float
        Catchment radius in minutes, finite and >= 0.

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in {0, 1}.

    Raises
    ------
    InputError
        If ``max_minutes`` is not a finite number >= 0.

    Examples
    --------
    >>> step(max_minutes=30)([29.9, 30, 30.1]).tolist()
    [1.0, 1.0, 0.0]
    """
    mx = _number("max_minutes", max_minutes, strict=False, fix="use none() for an unlimited catchment")
    return _decay(lambda t: (t <= mx).astype(float), f"step(max_minutes={mx:g})", lambda w: mx)


def stepwise(*, zones: Mapping[float, float] = LUO_QI_2009_ZONES) -> Decay:
    """Zonal step decay: the weight of the first zone whose upper bound is >= t.

    Exactly PySAL ``access`` ``weights.step_fn(zones)``: zone bounds are inclusive
    upper bounds, and the weight is 0 beyond the last one. Used by
    :func:`enhanced_two_step_fca`.

    Parameters
    ----------
    zones : mapping of float to float, default :data:`LUO_QI_2009_ZONES`
        Upper bound of each zone in minutes (finite, >= 0) -> weight in [0, 1].

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in [0, 1], ``w(inf) = 0``.

    Raises
    ------
    InputError
        If ``zones`` is empty, not a mapping, or has a bad bound or weight.

    Examples
    --------
    >>> stepwise()([0, 10, 15, 30, 31]).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    bounds, weights = _zones(zones)
    label = "stepwise(zones={" + ", ".join(f"{b:g}: {w:g}" for b, w in zip(bounds, weights, strict=True)) + "})"
    padded = np.append(weights, 0.0)

    def minutes_at(w: float) -> float:
        # beyond bound i the weights are padded[i + 1:]; cut at the first bound after
        # which none exceeds w
        for i, b in enumerate(bounds):
            if (padded[i + 1 :] <= w).all():
                return float(b)
        return float(bounds[-1])  # pragma: no cover - padded ends with 0

    return _decay(lambda t: padded[np.searchsorted(bounds, t, side="left")], label, minutes_at)


def _zones(zones: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(zones, Mapping) or not zones:
        raise InputError(
            f"zones must be a non-empty mapping upper bound (minutes) -> weight, got "
            f"{zones!r}; e.g. {{10: 1.0, 20: 0.68, 30: 0.22}}"
        )
    items = sorted(
        (_number("zones bound", b, strict=False), _number("zones weight", w, strict=False)) for b, w in zones.items()
    )
    bounds = np.array([b for b, _ in items])
    weights = np.array([w for _, w in items])
    if (weights > 1).any():
        raise InputError(f"zones weights must be in [0, 1], got {weights.tolist()}")
    return bounds, weights


def none() -> Decay:
    """No decay: weight 1 for every reachable destination (finite time), 0 for inf.

    Returns
    -------
    callable
        Vectorised ``minutes -> weight`` in {0, 1}.

    Examples
    --------
    >>> none()([0, 1e6, float("inf")]).tolist()
    [1.0, 1.0, 0.0]
    """
    return _decay(lambda t: np.ones_like(t), "none()", lambda w: math.inf)


DECAY_FACTORIES: Mapping[str, Callable[..., Decay]] = {
    "exponential": exponential,
    "gaussian": gaussian,
    "logistic": logistic,
    "power": power,
    "step": step,
    "stepwise": stepwise,
    "none": none,
}
"""Decay factories by name: the ``kind`` of a study's ``[decay]`` table (:mod:`proximity.config`)."""

DEFAULT_NEGLIGIBLE_WEIGHT: float = 1.0 / 16.0
"""Weight below which a decayed opportunity is left out of gravity-type sums.

1/16 is four half-lives of the default exponential decay: 120 minutes at a 30-minute
half-life, the horizon the package has always used. It drops at most 1/16 of an
opportunity's full weight per destination beyond the horizon; lower it (e.g. 0.01,
200 minutes for the default decay) for more complete sums at the cost of larger
travel-time tables.
"""

MAX_HORIZON_MINUTES: float = 240.0
"""Cap of :func:`decay_horizon_minutes`: four hours' drive.

Slow decays (``none()``, a power decay with a small ``beta``) never or only far away
fall below the negligible weight; beyond four hours nothing is "reachable" for a
day trip, and the travel-time tables stay bounded.
"""


def decay_function(kind: str, /, **parameters: Any) -> Decay:
    """Build a decay from its name and parameters (a study's ``[decay]`` table).

    Parameters
    ----------
    kind : str
        A key of :data:`DECAY_FACTORIES`.
    **parameters
        Keyword arguments of that factory (e.g. ``half_life_minutes`` for
        ``"exponential"``, ``beta`` and ``min_minutes`` for ``"power"``).

    Returns
    -------
    callable
        The vectorised decay.

    Raises
    ------
    InputError
        Unknown kind, a parameter the factory does not take, a missing required one,
        or a bad value.

    Examples
    --------
    >>> decay_function("power", beta=2, min_minutes=5)([10.0]).tolist()
    [0.25]
    """
    import inspect

    factory = DECAY_FACTORIES.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise InputError(f"decay kind {kind!r} is unknown; choose one of {', '.join(DECAY_FACTORIES)}")
    sig = inspect.signature(factory)
    bad = sorted(set(parameters) - set(sig.parameters))
    if bad:
        allowed = ", ".join(sig.parameters) or "none"
        raise InputError(f"decay {kind!r} takes no parameter {', '.join(map(repr, bad))}; its parameters: {allowed}")
    missing = [n for n, p in sig.parameters.items() if p.default is inspect.Parameter.empty and n not in parameters]
    if missing:
        raise InputError(f"decay {kind!r} needs {', '.join(map(repr, missing))}")
    return factory(**parameters)


def decay_horizon_minutes(
    decay: Decay,
    *,
    negligible_weight: float = DEFAULT_NEGLIGIBLE_WEIGHT,
    max_minutes: float = MAX_HORIZON_MINUTES,
) -> float:
    """Travel time beyond which a decay's weight is negligible, capped.

    The first time at which the weight falls to ``negligible_weight`` or below
    (closed form for the built-in decays, bisection of a non-increasing callable
    otherwise), at most ``max_minutes``. Gravity-type measures need travel times up
    to this horizon only.

    Parameters
    ----------
    decay : callable
        A non-increasing decay (e.g. from :func:`exponential`).
    negligible_weight : float, default 1/16
        In (0, 1); see :data:`DEFAULT_NEGLIGIBLE_WEIGHT`.
    max_minutes : float, default 240
        The cap, > 0; see :data:`MAX_HORIZON_MINUTES`.

    Returns
    -------
    float
        Minutes.

    Raises
    ------
    InputError
        A bad ``negligible_weight`` or ``max_minutes``, or a decay that is not callable.

    Examples
    --------
    >>> decay_horizon_minutes(exponential(half_life_minutes=30))
    120.0
    >>> round(decay_horizon_minutes(exponential(half_life_minutes=30), negligible_weight=0.01), 1)
    199.3
    >>> decay_horizon_minutes(none())
    240.0
    """
    _check_decay(decay)
    w = _number("negligible_weight", negligible_weight)
    if w >= 1:
        raise InputError(f"negligible_weight must be in (0, 1), got {_show(negligible_weight)}")
    cap = _number("max_minutes", max_minutes)
    closed = getattr(decay, "minutes_at", None)
    if closed is not None:
        return float(min(closed(w), cap))
    if float(decay(cap)) > w:
        return cap
    lo, hi = 0.0, cap
    for _ in range(60):  # bisection to well below a second
        mid = (lo + hi) / 2
        if float(decay(mid)) <= w:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- measures


def nearest_minutes(
    od: pd.DataFrame,
    *,
    categories: pd.Series | None = None,
    origins: Iterable[Hashable] | None = None,
) -> pd.DataFrame:
    """Travel time to the nearest destination, overall or per category.

    Parameters
    ----------
    od : DataFrame
        Long travel-time table (``origin_id, destination_id, minutes``).
    categories : Series, optional
        Category of each destination, indexed by ``destination_id``. Destinations of
        the table absent from it are ignored.
    origins : iterable, optional
        Identifiers of the origins to report, in this order (default: every origin of
        ``od`` in order of first appearance).

    Returns
    -------
    DataFrame
        Indexed by ``origin_id``. One column ``"any"`` without ``categories``; otherwise
        one column per category of the taxonomy (the categories of a categorical
        dtype, else the sorted distinct values), named ``category``. ``inf`` where
        nothing (of that category) is reachable.

    Raises
    ------
    InputError
        If ``od`` or ``categories`` is invalid (see the module notes).
    MissingColumnError
        If ``od`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame(
    ...     {"origin_id": ["a", "a", "b"], "destination_id": [1, 2, 1], "minutes": [12.0, 5.0, float("inf")]}
    ... )
    >>> nearest_minutes(od)["any"].tolist()
    [5.0, inf]
    >>> nearest_minutes(od, categories=pd.Series({1: "bank", 2: "port"})).loc["a"].tolist()
    [12.0, 5.0]
    """
    t = _prepare_od(od)
    index, pos = _output_index(t, origins)
    if categories is None:
        out = np.full((len(index), 1), np.inf)
        cat = np.zeros(len(pos), dtype=np.intp)
        columns = pd.Index(["any"])
    else:
        codes, columns = _categories(categories, t)
        out = np.full((len(index), len(columns)), np.inf)
        cat = codes[t.destination_codes]
    keep = (pos >= 0) & (cat >= 0)
    np.minimum.at(out, (pos[keep], cat[keep]), t.minutes[keep])
    return pd.DataFrame(out, index=index, columns=columns)


def _threshold_label(minutes: float) -> str:
    return f"within_{minutes:g}_minutes"


def cumulative_opportunities(
    od: pd.DataFrame,
    *,
    thresholds_minutes: Iterable[float] = (15, 30, 45),
    weights: pd.Series | None = None,
    origins: Iterable[Hashable] | None = None,
) -> pd.DataFrame:
    """Opportunities reachable within each travel-time threshold (isochronic measure).

    ``A_i(T) = sum_j w_j [t_ij <= T]`` (Geurs & van Wee 2004 [2]_); the bound is
    inclusive, as in :func:`step` and PySAL ``access``.

    Parameters
    ----------
    od : DataFrame
        Long travel-time table (``origin_id, destination_id, minutes``).
    thresholds_minutes : iterable of float, default (15, 30, 45)
        Thresholds ``T``, finite and >= 0, distinct; one output column each, in order.
    weights : Series, optional
        Opportunities at each destination (e.g. jobs, firms), indexed by
        ``destination_id``; missing destinations count 0. Default: 1 per destination
        (a count of destinations).
    origins : iterable, optional
        Origins to report, in this order (default: every origin of ``od``).

    Returns
    -------
    DataFrame
        Indexed by ``origin_id``, one float column per threshold named
        ``"within_<T>_minutes"`` (e.g. ``within_30_minutes``).

    Raises
    ------
    InputError
        If ``od``, ``weights`` or a threshold is invalid.
    MissingColumnError
        If ``od`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["a", "a", "b"], "destination_id": [1, 2, 1], "minutes": [12.0, 20.0, 40.0]})
    >>> cumulative_opportunities(od, thresholds_minutes=(15, 30)).loc["a"].tolist()
    [1.0, 2.0]
    """
    if isinstance(thresholds_minutes, (str, bytes)) or not isinstance(thresholds_minutes, Iterable):
        raise InputError(
            f"thresholds_minutes must be an iterable of minutes, got {thresholds_minutes!r}"
            "; e.g. thresholds_minutes=(15, 30, 45)"
        )
    thresholds = [_number("thresholds_minutes", v, strict=False) for v in thresholds_minutes]
    if not thresholds or len(set(thresholds)) != len(thresholds):
        raise InputError(f"thresholds_minutes must be non-empty and distinct, got {thresholds}")
    t = _prepare_od(od)
    index, pos = _output_index(t, origins)
    w = _destination_weights(weights, t)[t.destination_codes]
    keep = pos >= 0
    data = {
        _threshold_label(T): np.bincount(pos[keep & (t.minutes <= T)], w[keep & (t.minutes <= T)], minlength=len(index))
        for T in thresholds
    }
    return pd.DataFrame(data, index=index)


def gravity(
    od: pd.DataFrame,
    *,
    weights: pd.Series | None = None,
    decay: Decay,
    origins: Iterable[Hashable] | None = None,
) -> pd.Series:
    """Potential (gravity) accessibility ``A_i = sum_j w_j f(t_ij)`` (Hansen 1959 [1]_).

    Parameters
    ----------
    od : DataFrame
        Long travel-time table (``origin_id, destination_id, minutes``).
    weights : Series, optional
        Opportunities at each destination, indexed by ``destination_id`` (missing
        destinations count 0). Default: 1 per destination.
    decay : callable
        Vectorised ``minutes -> weight`` (e.g. :func:`exponential`); must return finite
        weights >= 0. Scalar-only functions (PySAL ``access`` weights) must be wrapped
        with ``numpy.vectorize``.
    origins : iterable, optional
        Origins to report, in this order (default: every origin of ``od``).

    Returns
    -------
    Series
        ``"gravity"``, indexed by ``origin_id``, in the units of ``weights``.

    Raises
    ------
    InputError
        If ``od``, ``weights`` or ``decay`` is invalid.
    MissingColumnError
        If ``od`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["a", "a"], "destination_id": [1, 2], "minutes": [0.0, 30.0]})
    >>> gravity(od, decay=exponential(half_life_minutes=30)).tolist()
    [1.5]
    """
    _check_decay(decay)
    t = _prepare_od(od)
    index, pos = _output_index(t, origins)
    keep = (pos >= 0) & np.isfinite(t.minutes)
    f = _apply_decay(decay, t.minutes[keep])
    w = _destination_weights(weights, t)[t.destination_codes[keep]]
    return pd.Series(np.bincount(pos[keep], w * f, minlength=len(index)), index=index, name="gravity")


def two_step_fca(
    od: pd.DataFrame,
    *,
    supply: pd.Series,
    demand: pd.Series,
    max_minutes: float,
    decay: Decay | None = None,
    origins: Iterable[Hashable] | None = None,
    normalize: bool = False,
) -> pd.Series:
    """Two-step floating catchment area (2SFCA) supply-to-demand ratio.

    Step 1, at each destination ``j``: ``R_j = S_j / sum_k D_k f(t_kj)`` over origins
    ``k`` with ``t_kj <= max_minutes``. Step 2, at each origin ``i``:
    ``A_i = sum_j R_j f(t_ij)`` over ``t_ij <= max_minutes`` (Luo & Wang 2003 [3]_;
    with a decay ``f`` as Luo & Qi 2009 [4]_). Without decay ``f = 1``.

    The result equals PySAL ``access`` ``Access.two_stage_fca(max_cost=max_minutes,
    weight_fn=decay)`` (to rounding) whose conventions it follows:

    - the catchment bound is inclusive (``cost <= max_cost``) and applies together with
      the decay, which weights both steps;
    - the decay multiplies the demand in step 1 and the ratio in step 2 (same
      function), and there is no other weighting or normalisation of the weights;
    - destinations absent from ``supply`` have supply 0; origins absent from
      ``demand`` have demand 0 but still receive a value;
    - the raw ratio is returned (``normalize=False``, access's default).

    Differences, all on cases where access gives ``inf``/NaN: ``minutes = inf`` is
    always unreachable (access counts it when ``max_cost=None`` and no weight
    function); a destination whose weighted catchment demand is 0 contributes 0
    (access divides by 0); an origin reaching no supply gets 0 (access: NaN).

    Parameters
    ----------
    od : DataFrame
        Long travel-time table (``origin_id, destination_id, minutes``).
    supply : Series
        Supply at each destination (e.g. advisers, places), indexed by
        ``destination_id``; finite, >= 0.
    demand : Series
        Demand at each origin (e.g. SMEs, population), indexed by ``origin_id``;
        finite, >= 0.
    max_minutes : float
        Catchment radius (inclusive), > 0; ``math.inf`` for no limit.
    decay : callable, optional
        Vectorised decay applied inside the catchment (e.g. :func:`gaussian`).
    origins : iterable, optional
        Origins to report, in this order. Default: the origins of ``demand``, then
        the other origins of ``od``. It only selects rows: every origin's demand
        competes for supply.
    normalize : bool, default False
        Divide by the demand-weighted mean over all origins of ``demand``, as access's
        ``normalize=True`` (so that the mean is 1); an all-zero result stays 0.

    Returns
    -------
    Series
        ``"two_step_fca"`` indexed by ``origin_id``: supply per unit of demand.

    Raises
    ------
    InputError
        If an input or parameter is invalid.
    MissingColumnError
        If ``od`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["a", "b", "b"], "destination_id": [1, 1, 2], "minutes": [10.0, 20.0, 50.0]})
    >>> two_step_fca(
    ...     od, supply=pd.Series({1: 6.0, 2: 1.0}), demand=pd.Series({"a": 100.0, "b": 200.0}), max_minutes=30
    ... ).tolist()
    [0.02, 0.02]
    """
    mx = _number("max_minutes", max_minutes, allow_inf=True, fix="use math.inf for an unlimited catchment")
    if decay is not None:
        _check_decay(decay)
    if not isinstance(normalize, (bool, np.bool_)):
        raise InputError(f"normalize must be True or False, got {normalize!r}")
    t = _prepare_od(od)
    d = _nonneg_values(demand, "demand", "origin_id")
    s = _nonneg_values(supply, "supply", "destination_id")
    index, pos = _output_index(t, origins, first=d.index)
    d_per_origin = _on_ids(d, t.origin_ids, "demand", "origin_id")
    s_per_dest = _on_ids(s, t.destination_ids, "supply", "destination_id")

    inside = t.minutes <= mx  # inf <= inf: finite pairs only below
    inside &= np.isfinite(t.minutes)
    o, j = t.origin_codes[inside], t.destination_codes[inside]
    f = np.ones(len(o)) if decay is None else _apply_decay(decay, t.minutes[inside])
    catchment_demand = np.bincount(j, d_per_origin[o] * f, minlength=len(t.destination_ids))
    ratio = np.divide(
        s_per_dest,
        catchment_demand,
        out=np.zeros(len(t.destination_ids)),
        where=catchment_demand > 0,
    )
    p = pos[inside]
    keep = p >= 0
    values = np.bincount(p[keep], (ratio[j] * f)[keep], minlength=len(index))
    if normalize:
        # the mean is over every origin of `demand`, whatever `origins` selects
        all_pos = pd.Index(t.origin_ids).get_indexer(d.index)
        per_origin = np.bincount(o, ratio[j] * f, minlength=len(t.origin_ids))
        acc = np.where(all_pos >= 0, per_origin[np.maximum(all_pos, 0)], 0.0)
        total_demand = d.to_numpy().sum()
        mean = (acc * d.to_numpy()).sum() / total_demand if total_demand > 0 else 0.0
        if mean > 0:
            values = values / mean
    return pd.Series(values, index=index, name="two_step_fca")


def enhanced_two_step_fca(
    od: pd.DataFrame,
    *,
    supply: pd.Series,
    demand: pd.Series,
    max_minutes: float | None = None,
    zones: Mapping[float, float] = LUO_QI_2009_ZONES,
    origins: Iterable[Hashable] | None = None,
    normalize: bool = False,
) -> pd.Series:
    """Enhanced 2SFCA (E2SFCA) with stepwise weights per travel-time zone.

    :func:`two_step_fca` with the decay :func:`stepwise` ``(zones=zones)`` (Luo & Qi
    2009 [4]_), equal to PySAL ``access`` ``Access.enhanced_two_stage_fca(
    max_cost=max_minutes, weight_fn=weights.step_fn(zones))``; the default zones are
    access's default (:data:`LUO_QI_2009_ZONES`). Same conventions and differences as
    :func:`two_step_fca`.

    Parameters
    ----------
    od : DataFrame
        Long travel-time table (``origin_id, destination_id, minutes``).
    supply, demand : Series
        As in :func:`two_step_fca`.
    max_minutes : float, optional
        Catchment radius (inclusive). Default: the last zone bound (beyond it the
        weight is 0 anyway, as with access's ``max_cost=None``).
    zones : mapping of float to float, default {10: 1.0, 20: 0.68, 30: 0.22}
        Inclusive upper bound of each zone in minutes -> weight in [0, 1].
    origins : iterable, optional
        Origins to report (see :func:`two_step_fca`).
    normalize : bool, default False
        As in :func:`two_step_fca`.

    Returns
    -------
    Series
        ``"enhanced_two_step_fca"`` indexed by ``origin_id``.

    Raises
    ------
    InputError
        If an input or parameter is invalid.
    MissingColumnError
        If ``od`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["a", "b"], "destination_id": [1, 1], "minutes": [5.0, 15.0]})
    >>> enhanced_two_step_fca(od, supply=pd.Series({1: 168.0}), demand=pd.Series({"a": 100.0, "b": 100.0})).tolist()
    [1.0, 0.68]
    """
    decay = stepwise(zones=zones)
    if max_minutes is None:
        max_minutes = max(float(b) for b in zones)
    out = two_step_fca(
        od,
        supply=supply,
        demand=demand,
        max_minutes=max_minutes,
        decay=decay,
        origins=origins,
        normalize=normalize,
    )
    return out.rename("enhanced_two_step_fca")


DIVERSITY_COLUMNS: tuple[str, ...] = (
    "shannon_entropy",
    "shannon_evenness",
    "hill_1",
    "categories_reached",
)


def diversity(
    od: pd.DataFrame,
    *,
    categories: pd.Series,
    decay: Decay,
    weights: pd.Series | None = None,
    origins: Iterable[Hashable] | None = None,
) -> pd.DataFrame:
    """Diversity of the services reachable from each origin, decay-weighted.

    The share of category ``k`` at origin ``i`` is
    ``p_ik = sum_{j in k} w_j f(t_ij) / sum_j w_j f(t_ij)``; then the Shannon entropy
    ``H_i = -sum_k p_ik ln p_ik`` (nats), the evenness ``J_i = H_i / ln K`` and the
    Hill number of order 1 ``exp(H_i)``, the effective number of categories
    (Hill 1973 [5]_). This is the "diversity" of Torres's four D's [7]_ measured on the
    travel-time table.

    ``K`` is the size of the **taxonomy**, not the number of categories reached: the
    categories of a categorical dtype, else the distinct values of ``categories``
    (all destinations listed, reachable or not). An origin reaching two of four
    categories equally has ``J = ln 2 / ln 4 = 0.5``; ``J = 1`` only when every
    category of the taxonomy is reached in equal weight. With ``K = 1``, ``J = 0``.

    Parameters
    ----------
    od : DataFrame
        Long travel-time table (``origin_id, destination_id, minutes``).
    categories : Series
        Category of each destination, indexed by ``destination_id``; destinations of
        the table absent from it are ignored.
    decay : callable
        Vectorised decay (e.g. :func:`step` for "within T minutes").
    weights : Series, optional
        Size of each destination (e.g. staff), indexed by ``destination_id``;
        default 1.
    origins : iterable, optional
        Origins to report, in this order (default: every origin of ``od``).

    Returns
    -------
    DataFrame
        Indexed by ``origin_id`` with float columns ``shannon_entropy``,
        ``shannon_evenness`` (in [0, 1]), ``hill_1`` (in [1, K]) and
        ``categories_reached`` (categories with a positive weight). An origin reaching
        nothing has 0 everywhere (``hill_1 = 0``: no category, not one).

    Raises
    ------
    InputError
        If an input is invalid.
    MissingColumnError
        If ``od`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["a", "a", "b"], "destination_id": [1, 2, 1], "minutes": [5.0, 5.0, 5.0]})
    >>> cats = pd.Series({1: "bank", 2: "port"})
    >>> diversity(od, categories=cats, decay=none())["hill_1"].tolist()
    [2.0, 1.0]
    """
    _check_decay(decay)
    t = _prepare_od(od)
    index, pos = _output_index(t, origins)
    codes, taxonomy = _categories(categories, t)
    k = len(taxonomy)
    cat = codes[t.destination_codes]
    keep = (pos >= 0) & (cat >= 0) & np.isfinite(t.minutes)
    f = _apply_decay(decay, t.minutes[keep])
    w = _destination_weights(weights, t)[t.destination_codes[keep]]
    mass = np.bincount(pos[keep] * k + cat[keep], w * f, minlength=len(index) * k).reshape(len(index), k)
    entropy = _entropy(mass)
    evenness = entropy / math.log(k) if k > 1 else np.zeros(len(index))
    hill = np.where(mass.sum(axis=1) > 0, np.exp(entropy), 0.0)
    data = {
        "shannon_entropy": entropy,
        "shannon_evenness": np.clip(evenness, 0.0, 1.0),  # rounding above 1
        "hill_1": hill,
        "categories_reached": (mass > 0).sum(axis=1).astype(float),
    }
    return pd.DataFrame(data, index=index)


def _entropy(mass: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row of category masses (0 for a row of zeros)."""
    total = mass.sum(axis=1)
    share = np.divide(mass, total[:, None], out=np.zeros_like(mass), where=(total > 0)[:, None])
    return entr(share).sum(axis=1)


def hill_number(mass: np.ndarray) -> np.ndarray:
    """Hill number of order 1 (``exp`` of the Shannon entropy) of each row of category masses.

    ``mass[i, k]``: the (decay-weighted) opportunities of category ``k`` reached from
    origin ``i``, as :func:`diversity` sums them; 0 for an origin that reaches none.

    Examples
    --------
    >>> hill_number(np.array([[1.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])).tolist()
    [2.0, 1.0, 0.0]
    """
    mass = np.asarray(mass, dtype=float)
    return np.where(mass.sum(axis=1) > 0, np.exp(_entropy(mass)), 0.0)


#: Columns of :func:`world_reach`.
WORLD_REACH_COLUMNS: tuple[str, ...] = (
    "reach_airports",
    "reach_destinations",
    "reach_countries",
    "reach_foreign_destinations",
    "reach_destinations_gravity",
)


def world_reach(
    od: pd.DataFrame,
    routes: pd.DataFrame,
    *,
    max_minutes: float,
    decay: Decay,
    origins: Iterable[Hashable] | None = None,
    home_country: str | None = None,
) -> pd.DataFrame:
    """Where in the world an origin can fly to directly from the airports it reaches.

    For origin ``i``, with ``A_i`` the airports within ``max_minutes`` and ``D_a`` the
    direct destinations of airport ``a``:

    - ``reach_airports`` = ``|A_i|`` (airports that have at least one route);
    - ``reach_destinations`` = ``|union of D_a, a in A_i|``: distinct destination
      airports, a destination served from two reachable airports counts once;
    - ``reach_countries``: distinct countries of those destinations (unknown countries,
      ``""``, not counted); ``reach_foreign_destinations``: distinct destinations
      outside ``home_country`` (when given; else those with ``foreign`` True, i.e.
      foreign to the airport's own country: a French firm flying from Geneva counts Paris
      as foreign only without ``home_country``);
    - ``reach_destinations_gravity`` = ``sum over d of max_{a serving d} f(t_ia)``: every
      destination weighted by the decay of the time to the most accessible airport that
      serves it, over every airport of ``od`` (no cut-off but the table's). It is the
      gravity potential of the airports with their destinations as opportunities, without
      counting twice a destination that two airports serve.

    Parameters
    ----------
    od : DataFrame
        Long travel-time table from the origins to airports (``destination_id`` = the
        ``gateway_id`` of ``routes``); other destinations are ignored.
    routes : DataFrame
        One row per (airport, destination): ``gateway_id``, ``destination`` and
        ``destination_country`` (``foreign`` optional, False when absent), as
        :func:`proximity.layers.air_routes.airport_destinations` returns.
    max_minutes : float
        Reach horizon of the counts (minutes, inclusive).
    decay : callable
        Decay of the gravity version (e.g. :func:`exponential`).
    origins : iterable, optional
        Origins to report, in this order (default: every origin of ``od``).
    home_country : str, optional
        The origins' country, as ``destination_country`` spells it (e.g. "France").

    Returns
    -------
    DataFrame
        Indexed by ``origin_id``, columns :data:`WORLD_REACH_COLUMNS` (floats; 0 when
        nothing is reachable, never NaN).

    Raises
    ------
    InputError
        ``od``, ``max_minutes`` or ``decay`` is invalid.
    MissingColumnError
        ``od`` or ``routes`` lacks a column.

    Examples
    --------
    >>> od = pd.DataFrame({"origin_id": ["o", "o"], "destination_id": ["A", "B"], "minutes": [30.0, 60.0]})
    >>> routes = pd.DataFrame(
    ...     {
    ...         "gateway_id": ["A", "A", "B", "B"],
    ...         "destination": ["CDG", "LHR", "LHR", "FCO"],
    ...         "destination_country": ["France", "UK", "UK", "Italy"],
    ...     }
    ... )
    >>> r = world_reach(od, routes, max_minutes=45, decay=exponential(half_life_minutes=30))
    >>> r.loc["o", ["reach_destinations", "reach_countries"]].tolist()
    [2.0, 2.0]
    >>> round(float(r.loc["o", "reach_destinations_gravity"]), 3)  # CDG 0.5, LHR 0.5, FCO 0.25
    1.25
    """
    max_minutes = _number("max_minutes", max_minutes, strict=False)
    _check_decay(decay)
    if not isinstance(routes, pd.DataFrame):
        raise InputError(
            f"routes must be a DataFrame (gateway_id, destination, destination_country), got {type(routes).__name__}"
        )
    missing = [c for c in ("gateway_id", "destination", "destination_country") if c not in routes.columns]
    if missing:
        raise MissingColumnError(
            f"routes has no column(s) {missing}; pass the long table of "
            "proximity.layers.air_routes.airport_destinations (gateway_id, destination, destination_country)"
        )
    t = _prepare_od(od)
    index, pos = _output_index(t, origins)
    r = routes[["gateway_id", "destination", "destination_country"]].copy()
    r["destination_country"] = r["destination_country"].fillna("").astype(str)
    if home_country is not None:
        r["foreign"] = (r["destination_country"] != "") & (r["destination_country"] != str(home_country))
    else:
        r["foreign"] = routes["foreign"].fillna(False).astype(bool) if "foreign" in routes.columns else False
    r = r.drop_duplicates(["gateway_id", "destination"])
    out = pd.DataFrame(0.0, index=index, columns=list(WORLD_REACH_COLUMNS))
    # airports with routes as 0..K-1; the trips to them (an origin's rows: few, one per airport)
    airports = pd.Index(pd.unique(r["gateway_id"]))
    k_of = airports.get_indexer(t.destination_ids)[t.destination_codes]
    keep = (pos >= 0) & np.isfinite(t.minutes) & (k_of >= 0)
    if not keep.any():
        return out
    p, k, minutes = pos[keep], k_of[keep], t.minutes[keep]
    n, n_air = len(index), len(airports)
    # what each airport serves (airports x destinations, x foreign destinations, x countries)
    rk = airports.get_indexer(pd.Index(r["gateway_id"]))
    d_code, d_uniq = pd.factorize(r["destination"])
    served = np.zeros((n_air, len(d_uniq)), dtype=bool)
    named = d_code >= 0  # (a route without destination counts its airport only)
    served[rk[named], d_code[named]] = True
    fr = r["foreign"].to_numpy(dtype=bool) & named
    foreign = np.zeros_like(served)
    foreign[rk[fr], d_code[fr]] = True
    known = r["destination_country"].to_numpy() != ""
    c_code, c_uniq = pd.factorize(r["destination_country"].to_numpy()[known])
    countries = np.zeros((n_air, len(c_uniq)), dtype=bool)
    countries[rk[known], c_code] = True
    # counts: an origin reaches the union of what its airports within the horizon serve;
    # origins that reach the same airports reach the same places: one union per distinct set
    near = minutes <= max_minutes
    within = np.zeros((n, n_air), dtype=bool)
    within[p[near], k[near]] = True
    sets, inv = np.unique(within, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    sets_i = sets.astype(np.int64)
    out["reach_airports"] = sets_i.sum(axis=1)[inv].astype(float)
    for col, what in (
        ("reach_destinations", served),
        ("reach_countries", countries),
        ("reach_foreign_destinations", foreign),
    ):
        out[col] = ((sets_i @ what.astype(np.int64)) > 0).sum(axis=1)[inv].astype(float)
    # gravity: every destination weighted by the decay to its most accessible airport
    # (every trip of the table, no cut-off), in blocks of origins
    w = np.zeros((n, n_air))
    np.maximum.at(w, (p, k), _apply_decay(decay, minutes))
    served_f = served.astype(float)
    grav = np.zeros(n)
    step = max(1, 2**22 // max(1, served.shape[1]))
    for r0 in range(0, n, step):
        wb = w[r0 : r0 + step]
        best = np.zeros((wb.shape[0], served.shape[1]))
        for a in np.flatnonzero(wb.any(axis=0)):
            np.maximum(best, wb[:, a, None] * served_f[a], out=best)
        grav[r0 : r0 + step] = best.sum(axis=1)
    out["reach_destinations_gravity"] = grav
    return out


# --------------------------------------------------------------------------- zones, equity


def aggregate(
    values: pd.Series | pd.DataFrame,
    *,
    zone_of_origin: pd.Series,
    weights: pd.Series,
    zones: Iterable[Hashable] | None = None,
) -> pd.Series | pd.DataFrame:
    """Weighted mean of origin values per zone (not a centroid value).

    ``V_z = sum_{i in z} w_i v_i / sum_{i in z} w_i``: with origins spread over each zone
    (e.g. a population grid, or SME sites) this is the accessibility of the zone's
    average resident or firm, not of its centroid. Report population- and
    SME-weighted means side by side by calling it twice.

    Parameters
    ----------
    values : Series or DataFrame
        Values per origin, indexed by ``origin_id`` (a measure's output); ``inf`` is
        allowed (a zone with a positively weighted ``inf`` gets ``inf``), NaN is not.
    zone_of_origin : Series
        Zone of each origin, indexed by ``origin_id``; must cover ``values``.
    weights : Series
        Weight of each origin (residents, SMEs), indexed by ``origin_id``; finite,
        >= 0; origins missing from it weigh 0.
    zones : iterable, optional
        Zones to report, in this order (default: the zones of the weighted origins,
        sorted).

    Returns
    -------
    Series or DataFrame
        Like ``values``, indexed by zone (``zone_id``). A zone with no weight (no
        origin, or all weights 0) is NaN: it has no average resident or firm.

    Raises
    ------
    InputError
        If an input is invalid or not aligned.

    Examples
    --------
    >>> v = pd.Series({"a": 10.0, "b": 20.0, "c": 5.0})
    >>> z = pd.Series({"a": "Z1", "b": "Z1", "c": "Z2"})
    >>> aggregate(v, zone_of_origin=z, weights=pd.Series({"a": 3, "b": 1, "c": 2})).tolist()
    [12.5, 5.0]
    """
    if not isinstance(values, (pd.Series, pd.DataFrame)):
        raise InputError(f"values must be a Series or DataFrame indexed by origin_id, got {type(values).__name__}")
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    if frame.index.has_duplicates:
        raise InputError("values has repeated origin_id(s): give one row per origin")
    try:
        arr = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"values must be numeric: {exc}") from None
    if np.isnan(arr).any():
        raise InputError(f"values has {int(np.isnan(arr).sum())} NaN value(s): fill or drop them first")
    zone = _series_by_id(
        zone_of_origin, "zone_of_origin", "origin_id", "e.g. origins.set_index('origin_id')['insee_code']"
    )
    z = zone.reindex(frame.index)
    missing = frame.index[z.isna().to_numpy()]
    if len(missing):
        raise InputError(
            f"zone_of_origin has no zone for {len(missing)} origin(s) of values (e.g. "
            f"{missing[:5].tolist()}): assign every origin to a zone"
        )
    w_all = _nonneg_values(weights, "weights", "origin_id")
    w = w_all.reindex(frame.index).fillna(0.0).to_numpy()
    pos = w > 0  # also keeps inf * 0 out of the sums
    sums = pd.DataFrame(arr[pos] * w[pos, None], columns=frame.columns).groupby(z.to_numpy()[pos]).sum()
    wsum = pd.Series(w[pos]).groupby(z.to_numpy()[pos]).sum()
    out = sums.div(wsum, axis=0)
    if zones is not None:
        out = out.reindex(pd.Index(list(zones)))
    out.index.name = "zone_id"
    if isinstance(values, pd.Series):
        col = out.iloc[:, 0]
        col.name = values.name
        return col
    return out


def _lorenz(values: Any, weights: Any, name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Cumulative population shares and cumulative values (both with a leading 0)."""
    if isinstance(values, pd.Series) and isinstance(weights, pd.Series):
        w_s = _nonneg_values(weights, "weights", "origin_id")
        if not values.index.isin(w_s.index).all():
            raise InputError(
                f"{name}: weights has no weight for some values (e.g. "
                f"{values.index[~values.index.isin(w_s.index)][:5].tolist()}): align them"
            )
        weights = w_s.reindex(values.index).to_numpy()
    try:
        x = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name}: values must be numeric, got {values!r}") from None
    if x.size == 0:
        raise InputError(f"{name}: values is empty")
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        raise InputError(
            f"{name}: values must be finite and >= 0 (found {_show(x[bad][0])}); "
            "replace unreachable (inf) times by a cap, or use an accessibility score"
        )
    if weights is None:
        p = np.ones_like(x)
    else:
        try:
            p = np.asarray(weights, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InputError(f"{name}: weights must be numeric") from None
        if p.shape != x.shape:
            raise InputError(f"{name}: weights has {p.size} values for {x.size} values: give one weight per value")
        if (~np.isfinite(p) | (p < 0)).any() or p.sum() <= 0:
            raise InputError(f"{name}: weights must be finite, >= 0 and not all 0")
    order = np.argsort(x, kind="stable")
    x, p = x[order], p[order]
    pop = np.concatenate(([0.0], np.cumsum(p)))
    val = np.concatenate(([0.0], np.cumsum(p * x)))
    return pop / pop[-1], val, float(val[-1])


def gini(values: Any, *, weights: Any = None) -> float:
    """Gini coefficient, optionally population-weighted.

    ``G = sum_i sum_j p_i p_j |x_i - x_j| / (2 mu)`` with population shares ``p`` and
    mean ``mu``, computed exactly from the Lorenz curve (no small-sample correction):
    ``n`` unweighted values with one holder give ``(n - 1) / n``; weighted, one holder
    of population share ``s`` gives ``1 - s``. Integer weights equal repetition.

    Parameters
    ----------
    values : array-like or Series
        Values >= 0, finite (e.g. an accessibility score per origin).
    weights : array-like or Series, optional
        Population of each value, >= 0, not all 0; aligned by index when both are
        Series, else by position.

    Returns
    -------
    float
        In [0, 1). All values 0 is treated as perfect equality: 0.

    Raises
    ------
    InputError
        If values are empty, negative, NaN or infinite, or the weights are invalid.

    Examples
    --------
    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 8])
    0.75
    """
    pop, val, total = _lorenz(values, weights, "gini")
    if total == 0:
        return 0.0
    share = val / total
    g = 1.0 - float(np.sum(np.diff(pop) * (share[1:] + share[:-1])))
    return min(max(g, 0.0), 1.0)


def palma(values: Any, *, weights: Any = None) -> float:
    """Palma ratio: share held by the top 10 % over the share of the bottom 40 %.

    Population-weighted (Cobham & Sumner 2013 [6]_): the 10 % and 40 % are shares of
    the population, read on the piecewise-linear Lorenz curve, so a unit straddling a
    boundary is split in proportion (no rounding of ranks).

    Parameters
    ----------
    values : array-like or Series
        Values >= 0, finite.
    weights : array-like or Series, optional
        Population of each value (see :func:`gini`).

    Returns
    -------
    float
        0.25 for perfect equality (also when every value is 0); ``inf`` when the bottom
        40 % hold nothing but the total is positive.

    Raises
    ------
    InputError
        As :func:`gini`.

    Examples
    --------
    >>> palma(range(1, 11))  # top 10 / bottom 1+2+3+4
    1.0
    """
    pop, val, total = _lorenz(values, weights, "palma")
    if total == 0:
        return 0.25
    bottom = float(np.interp(0.4, pop, val))
    top = total - float(np.interp(0.9, pop, val))
    return top / bottom if bottom > 0 else math.inf
