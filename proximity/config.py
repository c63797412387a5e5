"""The study configuration: one TOML file, validated at load into frozen dataclasses.

A *study file* holds the scoring profile of the milieu index and the parameters of the
main job. The shipped one, ``proximity/profiles/default.toml``, is the default study and
documents every key; ``proximity score|run|site --profile my.toml`` and
:func:`load_study` / :func:`load_profile` read a user's.

Schema (every key optional in a user file; ranges are checked at load)
---------------------------------------------------------------------
``[profile]``
    ``name`` (text, default: the file name), ``description`` (text), ``normalisation``
    (``minmax`` | ``zscore`` | ``rank``), ``weighting`` (``population`` | ``smes``),
    ``base`` (``default`` | ``none``, see *Partial files* below).
``[parameters]``
    ``catchment_minutes`` (0, 600] — T of the "within T minutes" counts and of 2SFCA;
    ``thresholds_minutes`` 1 to 12 distinct values in (0, 600] — the population-within
    figures (summary, rasters, ``share_within_*`` columns); ``large_firm_employees``
    integer [1, 1e6]; ``sensitivity_draws`` integer [1, :data:`MAX_SENSITIVITY_DRAWS`];
    ``sensitivity_concentration`` (0, 1e6]; ``seed`` integer [0, 2**32 - 1] (rank
    intervals and the sampling of population origins); ``reach_minutes`` (0, 600] — the
    world-reach horizon: airports within it count with their direct destinations.
``[decay]``
    ``kind``: a key of :data:`proximity.accessibility.DECAY_FACTORIES` (``exponential``,
    ``gaussian``, ``logistic``, ``power``, ``step``, ``stepwise``, ``none``), and that
    factory's parameters: ``half_life_minutes`` (exponential; gaussian, or its
    ``sigma_minutes``), ``midpoint_minutes`` and ``steepness_per_minute`` (logistic),
    ``beta`` and ``min_minutes`` (power), ``max_minutes`` (step; default
    ``catchment_minutes``), ``zones`` (stepwise: a table ``"minutes" = weight``). Minutes
    in (0, 600], ``beta`` and ``steepness_per_minute`` in (0, 10], zone weights in [0, 1].
    ``negligible_weight`` (0, 0.5] and ``max_horizon_minutes`` (0, 1440] derive the
    gravity horizon (:func:`proximity.accessibility.decay_horizon_minutes`): the
    travel-time tables of gravity-type measures stop where the decay falls to the
    negligible weight (default 1/16: 120 minutes for the default 30-minute half-life),
    at most ``max_horizon_minutes`` (default 240). The table becomes one callable, once,
    at load (:attr:`DecaySettings.function`). ``[parameters] decay`` and
    ``half_life_minutes`` (the older spelling) are still read as ``[decay] kind`` and
    ``half_life_minutes``.
``[components]``
    ``density``, ``diversity``, ``dynamics``, ``directionality``: weights in [0, 1e6],
    not all zero.
``[indicators.<key>]``
    ``<key>`` in :data:`KNOWN_INDICATORS`; ``component``, ``weight`` [0, 1e6],
    ``direction`` (``higher`` | ``lower``), ``description``. At least one indicator of
    a weighted component must have a positive weight.
``[smes]``
    ``per_1000_inhabitants`` (0, 1000] (default 4.9, firms generated commune by commune),
    or ``n`` integer [1, 1e6] (an exact total), and ``seed`` integer [0, 2**32 - 1]: the
    synthetic SME generator (``score`` and ``run`` without ``--smes``).
``[traveltime]``
    ``max_minutes`` (0, 600]: cut-off of the OD tables the main job writes.
``[export_groups]``
    The export groups the main job forms: ``sections`` (1 to 21 distinct NAF section
    letters A–U), ``max_minutes`` (0, 600], ``min_size`` and ``max_size`` integers with
    2 <= min_size <= max_size <= 6, ``rule`` (``naf_subclass`` | ``naf_class`` |
    ``naf_group`` | ``naf_division`` | ``none``), ``method`` (``auto`` | ``exact`` |
    ``heuristic``), ``time_limit_s`` (0, 86400], ``seed`` integer [0, 2**32 - 1]
    (default: the ``[smes]`` seed).
``[rasters]``
    ``cell_m`` [10, 10000]: cell size of the travel-time and population rasters.

Partial files
-------------
A user file is merged key by key onto the default study: a file with one key changes
that key only. ``[indicators]`` merge indicator by indicator and field by field, so a
file listing one indicator changes that indicator and keeps the others (set a weight to
0 to leave one out). ``[profile] base = "none"`` makes ``[components]`` and
``[indicators]`` exactly what the file lists (components it omits weigh 0); the
shipped file says so, so an edited copy of it means what it shows. ``[decay]`` keeps
the default's parameters that its ``kind`` accepts. :attr:`Study.user_keys` (recorded
in ``provenance.json``) lists the keys the file set.

Errors
------
Every problem of a file is reported at once in one line of :class:`ConfigError`, each
naming the key, the value found and the allowed range: unknown keys, wrong types, NaN or
infinite numbers, values out of range, a file that is not UTF-8 or not TOML, or a path
that is not a file.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from . import accessibility as acc
from . import defaults
from .errors import ConfigError, InputError

__all__ = [
    "COMPONENTS",
    "KNOWN_INDICATORS",
    "MAX_SENSITIVITY_DRAWS",
    "NORMALISATIONS",
    "DecaySettings",
    "ExportGroupSettings",
    "Indicator",
    "Profile",
    "RasterSettings",
    "SmeSettings",
    "Study",
    "TravelTimeSettings",
    "load_profile",
    "load_study",
    "profile_to_dict",
]

COMPONENTS = ("density", "diversity", "dynamics", "directionality")
NORMALISATIONS = ("minmax", "zscore", "rank")
WEIGHTINGS = ("population", "smes")
BASES = ("default", "none")

#: Largest ``sensitivity_draws``: the rank intervals hold zones × draws floats several
#: times over (10,000 draws on 35,000 French communes: about 3 GB); 1e8 draws asked for
#: 254 GiB. 200 draws give quantiles to about ±1 rank on the default territory.
MAX_SENSITIVITY_DRAWS = 10_000

#: Longest travel time any setting may name: ten hours is beyond any study by car.
MAX_MINUTES = 600.0

_MAX_WEIGHT = 1e6
_MAX_SEED = 2**32 - 1
_NAF_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRSTU")
# the keys of proximity.groups.COMPETITION_RULES (a test keeps them equal)
_GROUP_RULES = ("naf_subclass", "naf_class", "naf_group", "naf_division", "none")
_GROUP_METHODS = ("auto", "exact", "heuristic")
_MAX_GROUP_SIZE = 6  # proximity.groups.MAX_GROUP_SIZE

#: Indicators the package knows how to compute (see :mod:`proximity.scores`).
KNOWN_INDICATORS = frozenset(
    {
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
        "reach_destinations",
        "reach_countries",
        "reach_foreign_destinations",
        "reach_destinations_gravity",
    }
)


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Indicator:
    """One indicator of the index: which component, its weight, and whether higher is better."""

    key: str
    component: str
    weight: float
    direction: str  # "higher" or "lower"
    description: str = ""


@dataclass(frozen=True)
class DecaySettings:
    """The ``[decay]`` table: a decay kind, its parameters, and the gravity horizon.

    Attributes
    ----------
    kind : str
        A key of :data:`proximity.accessibility.DECAY_FACTORIES`.
    parameters : dict
        That decay's parameters as written in the file (``half_life_minutes`` …).
    negligible_weight, max_horizon_minutes : float
        See :func:`proximity.accessibility.decay_horizon_minutes`.
    function : callable
        The decay, built once from the above (not an init argument).
    horizon_minutes : float
        Where the decay falls to ``negligible_weight``, at most ``max_horizon_minutes``.

    Examples
    --------
    >>> d = DecaySettings("gaussian", {"half_life_minutes": 20.0})
    >>> round(d.function(20.0), 12), round(d.horizon_minutes, 2)
    (0.5, 40.0)
    """

    kind: str = "exponential"
    parameters: dict = field(default_factory=lambda: {"half_life_minutes": acc.DEFAULT_HALF_LIFE_MINUTES})
    negligible_weight: float = acc.DEFAULT_NEGLIGIBLE_WEIGHT
    max_horizon_minutes: float = acc.MAX_HORIZON_MINUTES
    function: acc.Decay = field(init=False, repr=False, compare=False)
    horizon_minutes: float = field(init=False, compare=False)

    def __post_init__(self) -> None:
        kw = dict(self.parameters)
        if self.kind == "gaussian" and "half_life_minutes" in kw:
            kw["sigma_minutes"] = kw.pop("half_life_minutes") / math.sqrt(2 * math.log(2))
        if self.kind == "stepwise" and "zones" in kw:
            kw["zones"] = {float(k): v for k, v in kw["zones"].items()}
        try:
            f = acc.decay_function(self.kind, **kw)
            h = acc.decay_horizon_minutes(
                f, negligible_weight=self.negligible_weight, max_minutes=self.max_horizon_minutes
            )
        except InputError as exc:
            raise ConfigError(f"[decay]: {exc}") from None
        object.__setattr__(self, "function", f)
        object.__setattr__(self, "horizon_minutes", float(h))

    def to_dict(self) -> dict:
        """The table as plain values, with the derived ``horizon_minutes``."""
        return {
            "kind": self.kind,
            **_plain(self.parameters),
            "negligible_weight": self.negligible_weight,
            "max_horizon_minutes": self.max_horizon_minutes,
            "horizon_minutes": self.horizon_minutes,
        }


@dataclass(frozen=True)
class Profile:
    """A validated scoring profile (``[profile]``, ``[parameters]``, ``[decay]``, ``[components]``, ``[indicators]``)."""

    name: str
    description: str
    normalisation: str
    weighting: str
    parameters: dict
    components: dict[str, float]
    indicators: tuple[Indicator, ...]
    source: str = ""
    extra: dict = field(default_factory=dict)
    decay: DecaySettings = field(default_factory=DecaySettings)
    user_keys: tuple[str, ...] = ()

    def with_weights(
        self, *, indicators: dict[str, float] | None = None, components: dict[str, float] | None = None
    ) -> Profile:
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
            if not _is_weight(w):
                raise ConfigError(
                    f"{src}: weight of indicator {key!r} = {w!r} must be a non-negative number (finite, at most {_MAX_WEIGHT:g})"
                )
            pos = [k for k, i in enumerate(inds) if i.key == key]
            if not pos:
                raise ConfigError(
                    f"{src}: indicator {key!r} is not in the profile; known: {', '.join(i.key for i in inds)}"
                )
            inds[pos[0]] = replace(inds[pos[0]], weight=float(w))
        comps = dict(self.components)
        for key, w in (components or {}).items():
            if key not in COMPONENTS:
                raise ConfigError(f"{src}: component = {key!r} is not allowed; choose one of {', '.join(COMPONENTS)}")
            if not _is_weight(w):
                raise ConfigError(
                    f"{src}: weight of component {key!r} = {w!r} must be a non-negative number (finite, at most {_MAX_WEIGHT:g})"
                )
            comps[key] = float(w)
        problems = _check_scorable(comps, inds)
        if problems:
            raise ConfigError(f"{src}: the new weights leave nothing to score: {problems[0]}")
        return replace(self, indicators=tuple(inds), components=comps)

    def with_options(self, **changes: Any) -> Profile:
        """A copy with some top-level fields changed (e.g. ``normalisation="rank"``), validated."""
        out = replace(self, **changes)
        problems: list[str] = []
        _choice(problems, "profile.normalisation", out.normalisation, NORMALISATIONS)
        _choice(problems, "profile.weighting", out.weighting, WEIGHTINGS)
        if "parameters" in changes:
            _check_parameters(problems, dict(out.parameters), {})
        if "decay" in changes and not isinstance(out.decay, DecaySettings):
            problems.append(f"decay = {out.decay!r} must be a DecaySettings")
        if problems:
            raise ConfigError(f"{out.source}: " + "; ".join(problems))
        return out


@dataclass(frozen=True)
class SmeSettings:
    """``[smes]``: size and seed of the synthetic SME generator.

    By default a rate (``per_1000_inhabitants``, generated commune by commune, so that a
    commune's firms do not depend on the territory); ``n`` sets an exact total instead.
    """

    n: int | None = defaults.N_SMES
    seed: int = defaults.SEED
    per_1000_inhabitants: float = defaults.SMES_PER_1000


@dataclass(frozen=True)
class TravelTimeSettings:
    """``[traveltime]``: cut-off of the OD tables the main job writes."""

    max_minutes: float = defaults.OD_MAX_MINUTES


@dataclass(frozen=True)
class ExportGroupSettings:
    """``[export_groups]``: the export groups the main job forms (see :func:`proximity.planning.plan_export_groups`)."""

    sections: tuple[str, ...] = ("C", "G", "J", "M")
    max_minutes: float = defaults.GROUP_MAX_MINUTES
    min_size: int = defaults.GROUP_MIN_SIZE
    max_size: int = defaults.GROUP_MAX_SIZE
    rule: str = "naf_class"
    method: str = "heuristic"
    time_limit_s: float = 8.0
    seed: int | None = None


@dataclass(frozen=True)
class RasterSettings:
    """``[rasters]``: cell size of the travel-time and population rasters."""

    cell_m: float = defaults.RASTER_CELL_M


@dataclass(frozen=True)
class Study:
    """A validated study file: the scoring profile and the main job's parameters."""

    profile: Profile
    smes: SmeSettings = field(default_factory=SmeSettings)
    traveltime: TravelTimeSettings = field(default_factory=TravelTimeSettings)
    export_groups: ExportGroupSettings = field(default_factory=ExportGroupSettings)
    rasters: RasterSettings = field(default_factory=RasterSettings)
    source: str = ""
    user_keys: tuple[str, ...] = ()

    @property
    def thresholds_minutes(self) -> tuple[float, ...]:
        """The population-within thresholds (``[parameters] thresholds_minutes``)."""
        return tuple(self.profile.parameters["thresholds_minutes"])

    def to_dict(self) -> dict:
        """The whole study as plain JSON values (for ``provenance.json``), with its source and user keys."""
        eg = _plain(self.export_groups.__dict__)
        if eg["seed"] is None:
            eg["seed"] = self.smes.seed
        return {
            "source": self.source,
            "user_keys": list(self.user_keys),
            **profile_to_dict(self.profile),
            "smes": _plain(self.smes.__dict__),
            "traveltime": _plain(self.traveltime.__dict__),
            "export_groups": eg,
            "rasters": _plain(self.rasters.__dict__),
        }


def profile_to_dict(profile: Profile) -> dict:
    """A profile as plain JSON values, shaped like the TOML tables (plus the derived horizon)."""
    return {
        "profile": {
            "name": profile.name,
            "description": profile.description,
            "normalisation": profile.normalisation,
            "weighting": profile.weighting,
        },
        "parameters": _plain(profile.parameters),
        "decay": profile.decay.to_dict(),
        "components": dict(profile.components),
        "indicators": {
            i.key: {
                "component": i.component,
                "weight": i.weight,
                "direction": i.direction,
                "description": i.description,
            }
            for i in profile.indicators
        },
    }


def _plain(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, dict) else v) for k, v in d.items()}


# --------------------------------------------------------------------------- checks


def _number(
    problems: list[str],
    key: str,
    v: Any,
    *,
    lo: float,
    hi: float,
    lo_open: bool = True,
    integer: bool = False,
    unit: str = "",
) -> Any:
    """Append a problem and return None unless ``v`` is a number in range."""
    if integer:
        lo_open = False
        what = f"an integer from {int(lo)} to {int(hi)}"
    else:
        what = f"a finite number in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}]"
    what += f" {unit}" if unit else ""
    if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
        problems.append(f"{key} = {v!r} has the wrong type: expected {what}")
        return None
    if not math.isfinite(v) or v < lo or (lo_open and v == lo) or v > hi:
        problems.append(f"{key} = {v!r} is out of range: expected {what}")
        return None
    return v


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _choice(problems: list[str], key: str, v: Any, choices: tuple[str, ...] | list[str]) -> Any:
    if not isinstance(v, str) or v not in choices:
        problems.append(f"{key} = {v!r} is not allowed; choose one of {', '.join(choices)}")
        return None
    return v


def _text(problems: list[str], key: str, v: Any, *, max_len: int = 2000) -> Any:
    if not isinstance(v, str) or len(v) > max_len:
        problems.append(f"{key} = {v!r} must be text of at most {max_len} characters")
        return None
    return v


def _is_weight(w: Any) -> bool:
    return not isinstance(w, bool) and isinstance(w, (int, float)) and math.isfinite(w) and 0 <= w <= _MAX_WEIGHT


def _weight(problems: list[str], key: str, v: Any) -> Any:
    return _number(problems, key, v, lo=0.0, hi=_MAX_WEIGHT, lo_open=False)


def _minutes_list(problems: list[str], key: str, v: Any, *, max_items: int = 12) -> Any:
    what = f"a list of 1 to {max_items} distinct minutes in (0, {MAX_MINUTES:g}]"
    if not isinstance(v, list) or not 1 <= len(v) <= max_items:
        problems.append(f"{key} = {v!r} is not allowed: expected {what}")
        return None
    if any(
        isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 < t <= MAX_MINUTES
        for t in v
    ) or len(set(v)) != len(v):
        problems.append(f"{key} = {v!r} is not allowed: expected {what}")
        return None
    return sorted(float(t) for t in v)


def _unknown(problems: list[str], keys: Any, allowed: Any, where: str) -> None:
    bad = sorted(set(keys) - set(allowed))
    if bad:
        problems.append(
            f"unknown key(s) {', '.join(repr(b) for b in bad)} in [{where}]; allowed: {', '.join(sorted(allowed))}"
        )


_PARAMETERS = (
    "catchment_minutes",
    "thresholds_minutes",
    "large_firm_employees",
    "sensitivity_draws",
    "sensitivity_concentration",
    "seed",
    "reach_minutes",
)


def _check_parameters(problems: list[str], params: dict, names: dict[str, str]) -> dict:
    """Validate ``[parameters]`` in place-free fashion; returns the cleaned values."""
    out = dict(params)

    def n(k: str) -> str:
        return names.get(k, f"parameters.{k}")

    out["catchment_minutes"] = _number(
        problems, n("catchment_minutes"), params.get("catchment_minutes"), lo=0, hi=MAX_MINUTES, unit="minutes"
    )
    th = _minutes_list(problems, n("thresholds_minutes"), params.get("thresholds_minutes"))
    out["thresholds_minutes"] = th
    _number(problems, n("large_firm_employees"), params.get("large_firm_employees"), lo=1, hi=1_000_000, integer=True)
    _number(
        problems, n("sensitivity_draws"), params.get("sensitivity_draws"), lo=1, hi=MAX_SENSITIVITY_DRAWS, integer=True
    )
    _number(problems, n("sensitivity_concentration"), params.get("sensitivity_concentration"), lo=0, hi=1e6)
    _number(problems, n("seed"), params.get("seed"), lo=0, hi=_MAX_SEED, integer=True)
    out["reach_minutes"] = _number(
        problems, n("reach_minutes"), params.get("reach_minutes"), lo=0, hi=MAX_MINUTES, unit="minutes"
    )
    return out


def _check_scorable(components: dict[str, float], indicators: list[Indicator]) -> list[str]:
    if sum(components.values()) <= 0:
        return ["[components] weights are all zero; give at least one a positive weight"]
    if not any(i.weight > 0 for i in indicators):
        return ["no indicator has a positive weight; give at least one a positive weight"]
    if not any(components.get(i.component, 0) > 0 and i.weight > 0 for i in indicators):
        return ["no component has both a positive weight and an indicator of positive weight"]
    return []


# decay parameters: range (lo, hi) per name; kinds accept those their factory takes
_DECAY_RANGES = {
    "half_life_minutes": (0.0, MAX_MINUTES, "minutes"),
    "sigma_minutes": (0.0, MAX_MINUTES, "minutes"),
    "midpoint_minutes": (0.0, MAX_MINUTES, "minutes"),
    "steepness_per_minute": (0.0, 10.0, "per minute"),
    "beta": (0.0, 10.0, ""),
    "min_minutes": (0.0, MAX_MINUTES, "minutes"),
    "max_minutes": (0.0, MAX_MINUTES, "minutes"),
}
_DECAY_COMMON = ("kind", "negligible_weight", "max_horizon_minutes")


def _decay_params(kind: str) -> set[str]:
    import inspect

    names = set(inspect.signature(acc.DECAY_FACTORIES[kind]).parameters)
    if kind == "gaussian":
        names.add("half_life_minutes")
    return names


def _check_decay(
    problems: list[str], merged: dict, user: dict, names: dict[str, str], catchment: Any
) -> DecaySettings | None:
    def n(k: str) -> str:
        return names.get(k, f"decay.{k}")

    kind = _choice(problems, n("kind"), merged.get("kind"), tuple(acc.DECAY_FACTORIES))
    if kind is None:
        return None
    allowed = _decay_params(kind)
    bad = sorted(k for k in user if k not in allowed and k not in _DECAY_COMMON)
    if bad:
        problems.append(
            f"{', '.join(n(b) for b in bad)}: not a parameter of decay {kind!r}; its parameters: "
            f"{', '.join(sorted(allowed)) or 'none'}"
        )
        return None
    # the default's parameters that this kind does not take are dropped
    params = {k: v for k, v in merged.items() if k in allowed}
    if kind == "gaussian" and {"half_life_minutes", "sigma_minutes"} <= set(params):
        mine = [k for k in ("half_life_minutes", "sigma_minutes") if k in user]
        if len(mine) == 2:
            problems.append(f"{n('half_life_minutes')} and {n('sigma_minutes')}: give one of them")
            return None
        params.pop("sigma_minutes" if mine == ["half_life_minutes"] else "half_life_minutes")
    if kind == "step" and "max_minutes" not in params and catchment is not None:
        params["max_minutes"] = float(catchment)
    ok = True
    for k, v in params.items():
        if k == "zones":
            ok &= _check_zones(problems, n(k), v)
        else:
            lo, hi, unit = _DECAY_RANGES[k]
            ok &= _number(problems, n(k), v, lo=lo, hi=hi, unit=unit) is not None
    missing = sorted(
        a for a in allowed - set(params) if a not in ("sigma_minutes", "half_life_minutes", "min_minutes", "zones")
    )
    if kind == "gaussian" and not ({"sigma_minutes", "half_life_minutes"} & set(params)):
        missing.append("half_life_minutes")
    for m in missing:
        problems.append(f"{n(m)} is missing: decay {kind!r} needs it")
        ok = False
    w = _number(problems, n("negligible_weight"), merged.get("negligible_weight"), lo=0, hi=0.5)
    cap = _number(
        problems, n("max_horizon_minutes"), merged.get("max_horizon_minutes"), lo=0, hi=1440.0, unit="minutes"
    )
    if not ok or w is None or cap is None:
        return None
    return DecaySettings(
        kind, {k: (float(v) if isinstance(v, int) else v) for k, v in params.items()}, float(w), float(cap)
    )


def _check_zones(problems: list[str], key: str, v: Any) -> bool:
    what = 'a table of 1 to 20 zones "upper bound in minutes" = weight in [0, 1], e.g. { "10" = 1.0, "20" = 0.68 }'
    if not isinstance(v, dict) or not 1 <= len(v) <= 20:
        problems.append(f"{key} = {v!r} is not allowed: expected {what}")
        return False
    for b, w in v.items():
        try:
            fb = float(b)
        except (TypeError, ValueError):
            fb = math.nan
        if (
            not (math.isfinite(fb) and 0 < fb <= MAX_MINUTES)
            or isinstance(w, bool)
            or not isinstance(w, (int, float))
            or not (math.isfinite(w) and 0 <= w <= 1)
        ):
            problems.append(f"{key}.{b} = {w!r} is not allowed: expected {what}")
            return False
    return True


# --------------------------------------------------------------------------- loading

_TABLES = (
    "profile",
    "parameters",
    "decay",
    "components",
    "indicators",
    "smes",
    "traveltime",
    "export_groups",
    "rasters",
)
_PROFILE_KEYS = ("name", "description", "normalisation", "weighting", "base")
_INDICATOR_KEYS = ("component", "weight", "direction", "description")
_STUDY_TABLES: dict[str, Any] = {
    "smes": SmeSettings,
    "traveltime": TravelTimeSettings,
    "export_groups": ExportGroupSettings,
    "rasters": RasterSettings,
}


def _default_doc() -> dict:
    text = (resources.files("proximity") / "profiles" / "default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _read(path: Any) -> tuple[dict, str]:
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(
            f"profile = {path!r} ({type(path).__name__}) is not a path; pass the path of a study TOML file "
            "(str or pathlib.Path; copy proximity/profiles/default.toml) or None for the default"
        )
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"profile {str(p)!r} is a folder; pass the path of a study TOML file")
    if not p.is_file():
        raise ConfigError(
            f"scoring profile {str(p)!r} does not exist; pass a TOML file (copy proximity/profiles/default.toml)"
        )
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"profile {str(p)!r} cannot be read ({exc.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{p}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}, "
            "perhaps Latin-1 or Windows-1252); re-save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text), str(p)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None


def _flatten(d: dict, prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not key.endswith("decay.zones") and prefix.count(".") < 2:
            out += _flatten(v, key + ".") or [key]
        else:
            out.append(key)
    return out


def load_study(path: str | os.PathLike | None = None) -> Study:
    """Load and validate a study file (default: the one shipped with the package).

    Parameters
    ----------
    path : str or path-like, optional
        A TOML study file; it is merged onto the default study (see the module
        documentation for the schema, the ranges and the merge rules).

    Returns
    -------
    Study
        Frozen settings; ``study.profile`` is the scoring profile.

    Raises
    ------
    ConfigError
        One line listing every problem: the key, the value found and the allowed range.

    Examples
    --------
    >>> s = load_study()
    >>> s.profile.decay.kind, s.profile.decay.horizon_minutes, s.export_groups.sections
    ('exponential', 120.0, ('C', 'G', 'J', 'M'))
    """
    default = _default_doc()
    if path is None:
        user: dict[str, Any] = {}
        source = "default profile"
    else:
        user, source = _read(path)
    problems: list[str] = []
    _unknown(problems, user, _TABLES, "top level")
    problems.extend(
        f"[{t}] must be a table, got {user[t]!r}" for t in _TABLES if t in user and not isinstance(user[t], dict)
    )
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    user_keys = tuple(sorted(_flatten(user)))

    uprof = dict(user.get("profile", {}))
    _unknown(problems, uprof, _PROFILE_KEYS, "profile")
    prof = {**default["profile"], **uprof}
    base = _choice(problems, "profile.base", uprof.get("base", "default"), BASES)
    if path is not None and "name" not in uprof:
        prof["name"] = Path(source).stem
    for k in ("name", "description"):
        _text(problems, f"profile.{k}", prof.get(k, ""))
    _choice(problems, "profile.normalisation", prof.get("normalisation"), NORMALISATIONS)
    _choice(problems, "profile.weighting", prof.get("weighting"), WEIGHTINGS)

    # [parameters], with the older decay spelling moved to [decay]
    uparams = dict(user.get("parameters", {}))
    udecay = dict(user.get("decay", {}))
    names: dict[str, str] = {}
    decay_problems: list[str] = []
    for old, new in (("decay", "kind"), ("half_life_minutes", "half_life_minutes")):
        if old in uparams:
            if new in udecay:
                decay_problems.append(f"parameters.{old} and decay.{new} both set; give it once, in [decay]")
            udecay[new] = uparams.pop(old)
            names[new] = f"parameters.{old}"
    _unknown(problems, uparams, _PARAMETERS, "parameters")
    params = _check_parameters(problems, {**default["parameters"], **uparams}, {})
    params = {k: v for k, v in params.items() if k in _PARAMETERS}

    _unknown(decay_problems, udecay, set(_DECAY_COMMON) | set(_DECAY_RANGES) | {"zones"}, "decay")
    decay = None
    if not decay_problems:
        decay = _check_decay(
            decay_problems, {**default["decay"], **udecay}, udecay, names, params.get("catchment_minutes")
        )
    problems += decay_problems

    # [components] and [indicators]: merged onto the default's unless base = "none"
    ucomps = user.get("components", {})
    uinds = user.get("indicators", {})
    if base == "none" and not (ucomps and uinds):
        problems.append('profile.base = "none" needs the file to list its [components] and [indicators]')
    _unknown(problems, ucomps, COMPONENTS, "components")
    comps_doc = dict(ucomps) if base == "none" else {**default["components"], **ucomps}
    components = dict.fromkeys(COMPONENTS, 0.0)
    for c in COMPONENTS:
        if c in comps_doc and _weight(problems, f"components.{c}", comps_doc[c]) is not None:
            components[c] = float(comps_doc[c])
    inds_doc: dict[str, Any] = {} if base == "none" else {k: dict(v) for k, v in default["indicators"].items()}
    for key, spec in uinds.items():
        if not isinstance(spec, dict):
            problems.append(f"indicators.{key} must be a table, got {spec!r}")
            continue
        inds_doc[key] = {**inds_doc.get(key, {}), **spec}
    indicators: list[Indicator] = []
    for key, spec in inds_doc.items():
        before = len(problems)
        _unknown(problems, spec, _INDICATOR_KEYS, f"indicators.{key}")
        if key not in KNOWN_INDICATORS:
            problems.append(f"indicator {key!r} is unknown; known indicators: {', '.join(sorted(KNOWN_INDICATORS))}")
            continue
        _choice(problems, f"indicators.{key}.component", spec.get("component"), COMPONENTS)
        _choice(problems, f"indicators.{key}.direction", spec.get("direction", "higher"), ("higher", "lower"))
        _weight(problems, f"indicators.{key}.weight", spec.get("weight", 1.0))
        _text(problems, f"indicators.{key}.description", spec.get("description", ""))
        if len(problems) == before:
            indicators.append(
                Indicator(
                    key,
                    spec["component"],
                    float(spec.get("weight", 1.0)),
                    spec.get("direction", "higher"),
                    spec.get("description", ""),
                )
            )
    if not problems:
        problems += _check_scorable(components, indicators)

    study_kw = _check_study_tables(problems, default, user)
    if problems or decay is None:
        raise ConfigError(f"{source}: " + "; ".join(problems or ["[decay] is invalid"]))
    profile = Profile(
        name=prof["name"],
        description=prof.get("description", ""),
        normalisation=prof["normalisation"],
        weighting=prof["weighting"],
        parameters=params,
        components=components,
        indicators=tuple(indicators),
        source=source,
        decay=decay,
        user_keys=user_keys,
    )
    return Study(profile=profile, source=source, user_keys=user_keys, **study_kw)


def _check_study_tables(problems: list[str], default: dict, user: dict) -> dict:
    merged = {t: {**default.get(t, {}), **user.get(t, {})} for t in _STUDY_TABLES}
    for t, cls in _STUDY_TABLES.items():
        _unknown(problems, user.get(t, {}), cls.__dataclass_fields__, t)
    s = merged["smes"]
    if s.get("n") is not None:  # absent: the rate per 1,000 inhabitants
        _number(problems, "smes.n", s.get("n"), lo=1, hi=1_000_000, integer=True)
    _number(problems, "smes.per_1000_inhabitants", s.get("per_1000_inhabitants"), lo=0, hi=1_000)
    _number(problems, "smes.seed", s.get("seed"), lo=0, hi=_MAX_SEED, integer=True)
    _number(
        problems,
        "traveltime.max_minutes",
        merged["traveltime"].get("max_minutes"),
        lo=0,
        hi=MAX_MINUTES,
        unit="minutes",
    )
    _number(problems, "rasters.cell_m", merged["rasters"].get("cell_m"), lo=10, hi=10_000, lo_open=False, unit="metres")
    g = merged["export_groups"]
    sec = g.get("sections")
    if (
        not isinstance(sec, list)
        or not 1 <= len(sec) <= len(_NAF_SECTIONS)
        or len(set(map(str, sec))) != len(sec)
        or any(not isinstance(x, str) or x not in _NAF_SECTIONS for x in sec)
    ):
        problems.append(
            f'export_groups.sections = {sec!r} is not allowed: expected a list of distinct NAF section letters A–U, e.g. ["C", "J"]'
        )
    _number(problems, "export_groups.max_minutes", g.get("max_minutes"), lo=0, hi=MAX_MINUTES, unit="minutes")
    lo = _number(problems, "export_groups.min_size", g.get("min_size"), lo=2, hi=_MAX_GROUP_SIZE, integer=True)
    hi = _number(problems, "export_groups.max_size", g.get("max_size"), lo=2, hi=_MAX_GROUP_SIZE, integer=True)
    if lo is not None and hi is not None and lo > hi:
        problems.append(
            f"export_groups.min_size = {lo} is above export_groups.max_size = {hi}: expected min_size <= max_size"
        )
    _choice(problems, "export_groups.rule", g.get("rule"), _GROUP_RULES)
    _choice(problems, "export_groups.method", g.get("method"), _GROUP_METHODS)
    _number(problems, "export_groups.time_limit_s", g.get("time_limit_s"), lo=0, hi=86_400, unit="seconds")
    if "seed" in g:
        _number(problems, "export_groups.seed", g.get("seed"), lo=0, hi=_MAX_SEED, integer=True)
    if problems:
        return {}
    floats = {"max_minutes", "time_limit_s", "cell_m"}
    out = {}
    for t, cls in _STUDY_TABLES.items():
        vals = {k: (float(v) if k in floats else tuple(v) if isinstance(v, list) else v) for k, v in merged[t].items()}
        out[t] = cls(**vals)
    return out


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Load and validate a scoring profile: the ``profile`` of :func:`load_study`.

    Raises
    ------
    ConfigError
        One line naming every bad key, the value found and the allowed range.

    Examples
    --------
    >>> p = load_profile()
    >>> p.name, p.normalisation, p.decay.kind
    ('default', 'minmax', 'exponential')
    """
    return load_study(path).profile
