"""The four-D internationalising-milieu index: scoring profile, normalisation, composite, sensitivity.

After Torres (2002), a territory helps its SMEs go international when it forms an
*internationalising milieu*, judged on **Density** and **Diversity** of the players and
resources that help firms reach the world (measurable), and on the **Dynamics** and
**Directionality** (governance, coordination) of the milieu. This module turns a table of
indicators per municipality into component scores, an index, a rank and a rank interval
under random perturbation of the weights.

The indicators and their weights live in an editable TOML *scoring profile*
(``proximity/profiles/default.toml``, part of the study file of :mod:`proximity.config`);
:func:`load_profile` (re-exported from there) validates it and names any unknown key or
bad value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import accessibility as _acc
from .config import (
    COMPONENTS,
    KNOWN_INDICATORS,
    MAX_SENSITIVITY_DRAWS,
    NORMALISATIONS,
    Indicator,
    Profile,
    load_profile,
)
from .errors import ConfigError, InputError, MissingColumnError

__all__ = [
    "COMPONENTS",
    "KNOWN_INDICATORS",
    "NORMALISATIONS",
    "Indicator",
    "Profile",
    "load_profile",
    "normalise",
    "composite",
    "rank_intervals",
]

DECAYS = tuple(_acc.DECAY_FACTORIES)


def normalise(values: pd.Series, *, method: str = "minmax", direction: str = "higher") -> pd.Series:
    """Normalise one indicator across zones; oriented so that higher is better.

    ``minmax`` maps to [0, 1] (a constant indicator gives 0.5 everywhere: it does not
    discriminate); ``zscore`` gives mean 0 and unit (population) standard deviation (0 for a
    constant); ``rank`` gives the average-tie percentile rank in [0, 1].

    Parameters
    ----------
    values : pandas.Series
        One indicator, one value per zone. Infinite values (unreachable) count as worse
        than the worst finite one.
    method : {"minmax", "zscore", "rank"}
        The normalisation (:data:`NORMALISATIONS`).
    direction : {"higher", "lower"}
        Whether a higher or a lower raw value is better; the result is oriented so that
        higher is better.

    Returns
    -------
    pandas.Series
        Indexed and named like ``values``.

    Raises
    ------
    InputError
        Unknown method or direction, or NaN values (an indicator must be defined everywhere).
    """
    if method not in NORMALISATIONS:
        raise InputError(f"normalisation {method!r} is unknown; choose one of {', '.join(NORMALISATIONS)}")
    if direction not in ("higher", "lower"):
        raise InputError(f"direction {direction!r} is unknown; choose 'higher' or 'lower'")
    v = values.astype(float)
    if v.isna().any():
        bad = list(v.index[v.isna()][:5])
        raise InputError(f"indicator {values.name!r} has NaN values (e.g. {bad}); fill or drop them before normalising")
    finite = np.isfinite(v)
    if not finite.all():
        # unreachable (inf minutes): worse than the worst reachable value
        worst = v[finite].max() if direction == "lower" else v[finite].min()
        span = (v[finite].max() - v[finite].min()) if finite.any() else 1.0
        v = v.where(finite, worst + (span or 1.0) * (1 if direction == "lower" else -1))
    if direction == "lower":
        v = -v
    if method == "minmax":
        lo, hi = v.min(), v.max()
        out = pd.Series(0.5, index=v.index) if hi == lo else (v - lo) / (hi - lo)
    elif method == "zscore":
        sd = v.std(ddof=0)
        out = pd.Series(0.0, index=v.index) if sd == 0 else (v - v.mean()) / sd
    else:
        n = len(v)
        out = (v.rank(method="average") - 1) / (n - 1) if n > 1 else pd.Series(0.5, index=v.index)
    out.name = values.name
    return out


def _weights(profile: Profile, indicators: pd.DataFrame) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    missing = [i.key for i in profile.indicators if i.weight > 0 and i.key not in indicators.columns]
    if missing:
        raise MissingColumnError(
            f"indicator table lacks {', '.join(missing)} required by profile {profile.name!r}; compute them or set their weight to 0"
        )
    inner: dict[str, dict[str, float]] = {c: {} for c in COMPONENTS}
    for ind in profile.indicators:
        if ind.weight > 0:
            inner[ind.component][ind.key] = ind.weight
    comp = {c: w for c, w in profile.components.items() if w > 0 and inner[c]}
    if not comp:
        raise ConfigError(f"profile {profile.name!r}: no component has both a positive weight and a weighted indicator")
    return comp, inner


def composite(
    indicators: pd.DataFrame, profile: Profile, *, component_weights: dict[str, float] | None = None
) -> pd.DataFrame:
    """Normalised indicators, component scores and the index, per zone.

    Parameters
    ----------
    indicators : DataFrame
        One row per zone, one column per indicator key of the profile.
    profile : Profile
    component_weights : dict, optional
        Override of the component weights (used by :func:`rank_intervals`).

    Returns
    -------
    DataFrame
        Indexed like ``indicators``: ``norm_<key>`` per indicator, one column per component
        (``density`` …, each the weighted mean of its normalised indicators), ``index``
        (weighted mean of the components; ×100 for minmax/rank) and ``rank`` (1 = best).
    """
    comp, inner = _weights(profile, indicators)
    if component_weights is not None:
        comp = {c: component_weights.get(c, 0.0) for c in comp}
    out = pd.DataFrame(index=indicators.index)
    directions = {i.key: i.direction for i in profile.indicators}
    for c in COMPONENTS:
        if not inner[c]:
            continue
        total = sum(inner[c].values())
        acc = pd.Series(0.0, index=indicators.index)
        for key, w in inner[c].items():
            n = normalise(indicators[key].rename(key), method=profile.normalisation, direction=directions[key])
            out[f"norm_{key}"] = n
            acc += w * n
        out[c] = acc / total
    wsum = sum(comp.values())
    idx = sum(out[c] * (w / wsum) for c, w in comp.items())
    scale = 100.0 if profile.normalisation in ("minmax", "rank") else 1.0
    out["index"] = idx * scale
    out["rank"] = out["index"].rank(ascending=False, method="min").astype(int)
    return out


def rank_intervals(
    indicators: pd.DataFrame,
    profile: Profile,
    *,
    draws: int | None = None,
    concentration: float | None = None,
    seed: int | None = None,
    quantiles: tuple[float, float] = (0.05, 0.95),
) -> pd.DataFrame:
    """Rank interval of each zone under random perturbation of the component weights.

    Component weights are drawn from a Dirichlet distribution centred on the profile's
    weights (``alpha = concentration × weights``); indicator weights inside components stay
    as set.

    Parameters
    ----------
    indicators : pandas.DataFrame
        Raw indicators, one row per zone (as for :func:`composite`).
    profile : Profile
        The scoring profile: component and indicator weights, and the defaults of the
        options below (``[parameters]``).
    draws : int, optional
        Number of weight draws, 1 to :data:`MAX_SENSITIVITY_DRAWS`; default the profile's
        ``sensitivity_draws``.
    concentration : float, optional
        Dirichlet concentration (> 0; higher = smaller perturbations); default the
        profile's ``sensitivity_concentration``.
    seed : int, optional
        Random seed; default the profile's ``seed``.
    quantiles : tuple of float
        The lower and upper quantiles of the ranks reported.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``indicators``: ``rank_low``, ``rank_high`` (the quantiles of the ranks
        over the draws, 1 = best) and ``rank_median``.

    Raises
    ------
    InputError
        ``draws`` or ``concentration`` out of range.
    """
    p = profile.parameters
    draws = p["sensitivity_draws"] if draws is None else draws
    conc = p["sensitivity_concentration"] if concentration is None else concentration
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= MAX_SENSITIVITY_DRAWS:
        raise InputError(
            f"draws = {draws!r} must be an integer from 1 to {MAX_SENSITIVITY_DRAWS} (memory grows with zones x draws)"
        )
    if (
        isinstance(conc, bool)
        or not isinstance(conc, (int, float, np.number))
        or not (math.isfinite(conc) and conc > 0)
    ):
        raise InputError(f"concentration = {conc!r} must be a finite number > 0")
    draws, conc = int(draws), float(conc)
    rng = np.random.default_rng(p["seed"] if seed is None else seed)
    comp, _ = _weights(profile, indicators)
    names = list(comp)
    base = np.array([comp[c] for c in names], dtype=float)
    base = base / base.sum()
    # normalised components do not depend on the weights: compute them once
    comps = composite(indicators, profile)[names].to_numpy()
    w = rng.dirichlet(conc * base, size=draws) if len(names) > 1 else np.ones((draws, 1))
    scores = comps @ w.T  # zones × draws
    ranks = pd.DataFrame(scores, index=indicators.index).rank(ascending=False, method="min")
    lo, hi = quantiles
    return pd.DataFrame(
        {
            "rank_low": ranks.quantile(lo, axis=1, interpolation="lower").astype(int),
            "rank_high": ranks.quantile(hi, axis=1, interpolation="higher").astype(int),
            "rank_median": ranks.median(axis=1),
        },
        index=indicators.index,
    )
