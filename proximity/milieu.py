"""The four-D internationalising-milieu index: scoring profile, normalisation, composite, sensitivity.

After Torres (2002), a territory helps its SMEs go international when it forms an
*internationalising milieu*, judged on **Density** and **Diversity** of the players and
resources that help firms reach the world (measurable), and on the **Dynamics** and
**Directionality** (governance, coordination) of the milieu. This module turns a table of
indicators per municipality into component scores, an index, a rank and a rank interval
under random perturbation of the weights.

The indicators and their weights live in an editable TOML *scoring profile*
(``proximity/profiles/default.toml``); :func:`load_profile` validates it and names any
unknown key or bad value.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError, MissingColumnError

__all__ = [
    "COMPONENTS",
    "NORMALISATIONS",
    "Indicator",
    "Profile",
    "load_profile",
    "normalise",
    "composite",
    "rank_intervals",
]

COMPONENTS = ("density", "diversity", "dynamics", "directionality")
NORMALISATIONS = ("minmax", "zscore", "rank")
DECAYS = ("exponential", "gaussian", "logistic", "power", "step")


@dataclass(frozen=True)
class Indicator:
    """One indicator of the index: which component, its weight, and whether higher is better."""

    key: str
    component: str
    weight: float
    direction: str  # "higher" or "lower"
    description: str = ""


@dataclass(frozen=True)
class Profile:
    """A validated scoring profile."""

    name: str
    description: str
    normalisation: str
    weighting: str
    parameters: dict
    components: dict[str, float]
    indicators: tuple[Indicator, ...]
    source: str = ""
    extra: dict = field(default_factory=dict)

    def with_weights(self, *, indicators: dict[str, float] | None = None, components: dict[str, float] | None = None) -> Profile:
        """A copy with some indicator and/or component weights changed, validated.

        Examples
        --------
        >>> p = load_profile().with_weights(indicators={"export_groups_per_1000_smes": 1.0})
        >>> next(i.weight for i in p.indicators if i.key == "export_groups_per_1000_smes")
        1.0
        """
        src = self.source
        inds = list(self.indicators)
        for key, w in (indicators or {}).items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise ConfigError(f"{src}: weight of indicator {key!r} = {w!r} must be a non-negative number")
            pos = [k for k, i in enumerate(inds) if i.key == key]
            if not pos:
                raise ConfigError(f"{src}: indicator {key!r} is not in the profile; known: {', '.join(i.key for i in inds)}")
            inds[pos[0]] = replace(inds[pos[0]], weight=float(w))
        comps = dict(self.components)
        for key, w in (components or {}).items():
            _check_choice("component", key, COMPONENTS, src)
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise ConfigError(f"{src}: weight of component {key!r} = {w!r} must be a non-negative number")
            comps[key] = float(w)
        if sum(comps.values()) <= 0 or not any(i.weight > 0 for i in inds):
            raise ConfigError(f"{src}: the new weights leave nothing to score; keep at least one positive weight")
        return replace(self, indicators=tuple(inds), components=comps)

    def with_options(self, **changes) -> Profile:
        """A copy with some top-level fields changed (e.g. ``normalisation="rank"``), validated."""
        out = replace(self, **changes)
        _check_choice("profile.normalisation", out.normalisation, NORMALISATIONS, out.source)
        _check_choice("profile.weighting", out.weighting, ("population", "smes"), out.source)
        return out


_PROFILE_KEYS = {"name", "description", "normalisation", "weighting"}
_PARAM_TYPES: dict[str, type | tuple] = {
    "catchment_minutes": (int, float),
    "thresholds_minutes": list,
    "decay": str,
    "half_life_minutes": (int, float),
    "large_firm_employees": int,
    "sensitivity_draws": int,
    "sensitivity_concentration": (int, float),
    "seed": int,
}
_INDICATOR_KEYS = {"component", "weight", "direction", "description"}


def _check_choice(key: str, value, choices, source: str) -> None:
    if value not in choices:
        raise ConfigError(f"{source}: {key} = {value!r} is not allowed; choose one of {', '.join(choices)}")


def _unknown(keys, allowed, where: str, source: str) -> None:
    bad = sorted(set(keys) - set(allowed))
    if bad:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(repr(b) for b in bad)} in [{where}]; allowed: {', '.join(sorted(allowed))}")


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Load and validate a scoring profile (default: the one shipped with the package).

    Raises
    ------
    ConfigError
        Unknown key, wrong type, unknown component/normalisation/decay, negative weight,
        or an indicator set whose weights are all zero; the message names the key.
    """
    if path is None:
        text = (resources.files("proximity") / "profiles" / "default.toml").read_text(encoding="utf-8")
        source = "default profile"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"scoring profile {str(p)!r} does not exist; pass a TOML file (copy proximity/profiles/default.toml)")
        text = p.read_text(encoding="utf-8")
        source = str(p)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    _unknown(doc, {"profile", "parameters", "components", "indicators"}, "top level", source)
    prof = doc.get("profile", {})
    _unknown(prof, _PROFILE_KEYS, "profile", source)
    params = doc.get("parameters", {})
    _unknown(params, _PARAM_TYPES, "parameters", source)
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, _PARAM_TYPES[k]):
            raise ConfigError(f"{source}: parameters.{k} = {v!r} has the wrong type")
        if k != "decay" and not isinstance(v, list) and v < 0:
            raise ConfigError(f"{source}: parameters.{k} = {v!r} must not be negative")
    if "decay" in params:
        _check_choice("parameters.decay", params["decay"], DECAYS, source)
    if "thresholds_minutes" in params:
        th = params["thresholds_minutes"]
        if not th or any(isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0 for t in th):
            raise ConfigError(f"{source}: parameters.thresholds_minutes must be a non-empty list of positive minutes")
    if path is not None and ("components" not in doc or "indicators" not in doc):
        # a partial profile takes what it leaves out from the default one
        default = tomllib.loads((resources.files("proximity") / "profiles" / "default.toml").read_text(encoding="utf-8"))
        doc = {**doc, "components": doc.get("components", default["components"]), "indicators": doc.get("indicators", default["indicators"])}
    comps = doc.get("components", {})
    _unknown(comps, COMPONENTS, "components", source)
    for k, v in comps.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ConfigError(f"{source}: components.{k} = {v!r} must be a non-negative number")
    components = {c: float(comps.get(c, 0.0)) for c in COMPONENTS}
    if sum(components.values()) <= 0:
        raise ConfigError(f"{source}: [components] weights are all zero; give at least one a positive weight")
    indicators = []
    for key, spec in doc.get("indicators", {}).items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{source}: indicators.{key} must be a table")
        _unknown(spec, _INDICATOR_KEYS, f"indicators.{key}", source)
        if key not in KNOWN_INDICATORS:
            raise ConfigError(f"{source}: indicator {key!r} is unknown; known indicators: {', '.join(sorted(KNOWN_INDICATORS))}")
        _check_choice(f"indicators.{key}.component", spec.get("component"), COMPONENTS, source)
        _check_choice(f"indicators.{key}.direction", spec.get("direction", "higher"), ("higher", "lower"), source)
        w = spec.get("weight", 1.0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ConfigError(f"{source}: indicators.{key}.weight = {w!r} must be a non-negative number")
        indicators.append(Indicator(key, spec["component"], float(w), spec.get("direction", "higher"), spec.get("description", "")))
    if not any(i.weight > 0 for i in indicators):
        raise ConfigError(f"{source}: no indicator has a positive weight")
    profile = Profile(
        name=prof.get("name", Path(source).stem),
        description=prof.get("description", ""),
        normalisation=prof.get("normalisation", "minmax"),
        weighting=prof.get("weighting", "population"),
        parameters={**_DEFAULT_PARAMETERS, **params},
        components=components,
        indicators=tuple(indicators),
        source=source,
    )
    return profile.with_options()


_DEFAULT_PARAMETERS = {
    "catchment_minutes": 45.0,
    "thresholds_minutes": [15.0, 30.0, 45.0],
    "decay": "exponential",
    "half_life_minutes": 30.0,
    "large_firm_employees": 250,
    "sensitivity_draws": 200,
    "sensitivity_concentration": 50.0,
    "seed": 0,
}

#: Indicators the package knows how to compute (see :mod:`proximity.scores`).
KNOWN_INDICATORS = {
    "support_within_t",
    "support_per_1000_smes",
    "large_firms_within_t",
    "students_within_t",
    "gateways_within_t",
    "minutes_airport",
    "minutes_seaport",
    "minutes_tgv_station",
    "minutes_rail_station",
    "minutes_motorway_access",
    "support_gravity",
    "support_2sfca",
    "support_diversity",
    "gateway_mode_diversity",
    "rail_ridership_growth",
    "population_growth",
    "synthetic_exporter_share",
    "governance_capacity",
    "minutes_chamber_of_commerce",
    "minutes_foreign_trade_service",
    "export_groups_per_1000_smes",
}


def normalise(values: pd.Series, *, method: str = "minmax", direction: str = "higher") -> pd.Series:
    """Normalise one indicator across zones; oriented so that higher is better.

    ``minmax`` maps to [0, 1] (a constant indicator gives 0.5 everywhere: it does not
    discriminate); ``zscore`` gives mean 0 and unit (population) standard deviation (0 for a
    constant); ``rank`` gives the average-tie percentile rank in [0, 1].

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
    return out.rename(values.name)


def _weights(profile: Profile, indicators: pd.DataFrame) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    missing = [i.key for i in profile.indicators if i.weight > 0 and i.key not in indicators.columns]
    if missing:
        raise MissingColumnError(f"indicator table lacks {', '.join(missing)} required by profile {profile.name!r}; compute them or set their weight to 0")
    inner: dict[str, dict[str, float]] = {c: {} for c in COMPONENTS}
    for ind in profile.indicators:
        if ind.weight > 0:
            inner[ind.component][ind.key] = ind.weight
    comp = {c: w for c, w in profile.components.items() if w > 0 and inner[c]}
    if not comp:
        raise ConfigError(f"profile {profile.name!r}: no component has both a positive weight and a weighted indicator")
    return comp, inner


def composite(indicators: pd.DataFrame, profile: Profile, *, component_weights: dict[str, float] | None = None) -> pd.DataFrame:
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
    as set. Returns ``rank_low``, ``rank_high`` (the quantiles of the ranks over the draws,
    1 = best) and ``rank_median`` per zone.
    """
    p = profile.parameters
    draws = int(p["sensitivity_draws"] if draws is None else draws)
    conc = float(p["sensitivity_concentration"] if concentration is None else concentration)
    rng = np.random.default_rng(p["seed"] if seed is None else seed)
    if draws < 1 or conc <= 0:
        raise InputError("sensitivity needs draws >= 1 and concentration > 0")
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
