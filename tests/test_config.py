"""The study configuration: schema, validation at load, merge rules, and every parameter reaching its consumer."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from proximity import accessibility as acc
from proximity import config, groups, milieu, pipeline, planning, scores, traveltime
from proximity.errors import ConfigError, InputError


def _write(tmp_path, text, name="study.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- the default study


def test_default_study_values():
    s = config.load_study()
    p = s.profile
    assert p.name == "default" and p.source == "default profile" and s.user_keys == ()
    assert p.parameters == {
        "catchment_minutes": 45.0,
        "thresholds_minutes": [30.0, 45.0, 60.0],
        "large_firm_employees": 250,
        "sensitivity_draws": 200,
        "sensitivity_concentration": 50.0,
        "seed": 0,
        "reach_minutes": 90.0,
    }
    assert (p.decay.kind, p.decay.parameters, p.decay.negligible_weight) == (
        "exponential",
        {"half_life_minutes": 30.0},
        0.0625,
    )
    assert p.decay.horizon_minutes == 120.0  # four half-lives: the horizon the package always used
    assert p.decay.function(30.0) == 0.5
    assert s.smes == config.SmeSettings(n=None, seed=34, per_1000_inhabitants=4.9)  # a rate: per-commune firms
    assert s.traveltime.max_minutes == 90.0 and s.rasters.cell_m == 200.0
    assert s.export_groups == config.ExportGroupSettings(
        ("C", "G", "J", "M"), 30.0, 3, 5, "naf_class", "heuristic", 8.0, None
    )
    assert s.thresholds_minutes == (30.0, 45.0, 60.0)
    assert len(p.indicators) == 19 and milieu.load_profile() == p  # 17 + world reach (2)


def test_study_dataclasses_are_frozen_and_the_dict_is_plain_json():
    s = config.load_study()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.smes.n = 3  # type: ignore[misc]
    d = s.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert set(d) == {
        "source",
        "user_keys",
        "profile",
        "parameters",
        "decay",
        "components",
        "indicators",
        "smes",
        "traveltime",
        "export_groups",
        "rasters",
    }
    assert d["decay"]["horizon_minutes"] == 120.0 and d["export_groups"]["seed"] == 34  # the [smes] seed
    assert d["indicators"]["minutes_airport"] == {
        "component": "density",
        "weight": 0.5,
        "direction": "lower",
        "description": "Minutes to the nearest airport",
    }


def test_module_constants_agree_with_their_consumers():
    assert set(config._GROUP_RULES) == set(groups.COMPETITION_RULES)
    assert config._MAX_GROUP_SIZE == groups.MAX_GROUP_SIZE
    assert milieu.KNOWN_INDICATORS is config.KNOWN_INDICATORS and milieu.Profile is config.Profile


# --------------------------------------------------------------------------- validation

BAD = [
    # (file text, message)
    ("[parametres]\nseed = 1\n", r"unknown key\(s\) 'parametres' in \[top level\]"),
    ("parameters = 3\n", r"\[parameters\] must be a table, got 3"),
    ("[parameters]\ncatchment = 45\n", r"unknown key\(s\) 'catchment' in \[parameters\]; allowed: catchment_minutes"),
    (
        "[parameters]\ncatchment_minutes = nan\n",
        r"parameters.catchment_minutes = nan is out of range: expected a finite number in \(0, 600\] minutes",
    ),
    ("[parameters]\ncatchment_minutes = inf\n", r"parameters.catchment_minutes = inf is out of range"),
    (
        "[parameters]\ncatchment_minutes = 0\n",
        r"parameters.catchment_minutes = 0 is out of range: expected a finite number in \(0, 600\]",
    ),
    ("[parameters]\ncatchment_minutes = -45.0\n", r"parameters.catchment_minutes = -45.0 is out of range"),
    (
        "[parameters]\ncatchment_minutes = '45'\n",
        r"parameters.catchment_minutes = '45' has the wrong type: expected a finite number",
    ),
    (
        "[parameters]\nthresholds_minutes = []\n",
        r"parameters.thresholds_minutes = \[\] is not allowed: expected a list of 1 to 12 distinct minutes in \(0, 600\]",
    ),
    ("[parameters]\nthresholds_minutes = [30, 30]\n", r"thresholds_minutes = \[30, 30\] is not allowed"),
    ("[parameters]\nthresholds_minutes = [0.0, 30.0]\n", r"thresholds_minutes = \[0.0, 30.0\] is not allowed"),
    ("[parameters]\nthresholds_minutes = [nan]\n", r"thresholds_minutes = \[nan\] is not allowed"),
    ("[parameters]\nthresholds_minutes = 30\n", r"thresholds_minutes = 30 is not allowed"),
    (
        "[parameters]\nsensitivity_draws = 0\n",
        r"parameters.sensitivity_draws = 0 is out of range: expected an integer from 1 to 10000",
    ),
    (
        "[parameters]\nsensitivity_draws = -5\n",
        r"parameters.sensitivity_draws = -5 is out of range: expected an integer from 1 to 10000",
    ),
    (
        "[parameters]\nsensitivity_draws = 100000000\n",
        r"parameters.sensitivity_draws = 100000000 is out of range: expected an integer from 1 to 10000",
    ),
    (
        "[parameters]\nsensitivity_draws = 1e8\n",
        r"parameters.sensitivity_draws = 100000000.0 has the wrong type: expected an integer from 1 to 10000",
    ),
    (
        "[parameters]\nsensitivity_draws = nan\n",
        r"parameters.sensitivity_draws = nan has the wrong type: expected an integer",
    ),
    (
        "[parameters]\nsensitivity_concentration = 0\n",
        r"parameters.sensitivity_concentration = 0 is out of range: expected a finite number in \(0, 1000000\]",
    ),
    ("[parameters]\nseed = -1\n", r"parameters.seed = -1 is out of range: expected an integer from 0 to 4294967295"),
    (
        "[parameters]\nlarge_firm_employees = 0\n",
        r"parameters.large_firm_employees = 0 is out of range: expected an integer from 1",
    ),
    (
        "[parameters]\nhalf_life_minutes = 0\n",
        r"parameters.half_life_minutes = 0 is out of range: expected a finite number in \(0, 600\] minutes",
    ),
    ("[parameters]\nhalf_life_minutes = nan\n", r"parameters.half_life_minutes = nan is out of range"),
    (
        "[parameters]\ndecay = 'linear'\n",
        r"parameters.decay = 'linear' is not allowed; choose one of exponential, gaussian, logistic, power, step, stepwise, none",
    ),
    (
        "[parameters]\ndecay = 'power'\n[decay]\nkind = 'power'\n",
        r"parameters.decay and decay.kind both set; give it once, in \[decay\]",
    ),
    (
        "[decay]\nhalf_life_minutes = -30\n",
        r"decay.half_life_minutes = -30 is out of range: expected a finite number in \(0, 600\] minutes",
    ),
    ("[decay]\nhalf_life_minutes = inf\n", r"decay.half_life_minutes = inf is out of range"),
    ("[decay]\nhalflife = 30\n", r"unknown key\(s\) 'halflife' in \[decay\]"),
    ("[decay]\nkind = 'linear'\n", r"decay.kind = 'linear' is not allowed; choose one of exponential"),
    ("[decay]\nkind = 'power'\n", r"decay.beta is missing: decay 'power' needs it"),
    (
        "[decay]\nkind = 'power'\nbeta = 2\nhalf_life_minutes = 30\n",
        r"decay.half_life_minutes: not a parameter of decay 'power'; its parameters: beta, min_minutes",
    ),
    ("[decay]\nkind = 'power'\nbeta = 0\n", r"decay.beta = 0 is out of range: expected a finite number in \(0, 10\]"),
    (
        "[decay]\nkind = 'logistic'\nmidpoint_minutes = 30\n",
        r"decay.steepness_per_minute is missing: decay 'logistic' needs it",
    ),
    (
        "[decay]\nkind = 'logistic'\nmidpoint_minutes = 30\nsteepness_per_minute = 0\n",
        r"decay.steepness_per_minute = 0 is out of range",
    ),
    (
        "[decay]\nkind = 'gaussian'\nhalf_life_minutes = 20\nsigma_minutes = 10\n",
        r"decay.half_life_minutes and decay.sigma_minutes: give one of them",
    ),
    (
        "[decay]\nkind = 'stepwise'\nzones = { '10' = 2.0 }\n",
        r"decay.zones.10 = 2.0 is not allowed: expected a table of 1 to 20 zones",
    ),
    ("[decay]\nkind = 'stepwise'\nzones = { 'ten' = 1.0 }\n", r"decay.zones.ten = 1.0 is not allowed"),
    ("[decay]\nkind = 'step'\nmax_minutes = 0\n", r"decay.max_minutes = 0 is out of range"),
    (
        "[decay]\nnegligible_weight = 0\n",
        r"decay.negligible_weight = 0 is out of range: expected a finite number in \(0, 0.5\]",
    ),
    ("[decay]\nnegligible_weight = 0.9\n", r"decay.negligible_weight = 0.9 is out of range"),
    (
        "[decay]\nmax_horizon_minutes = 1e9\n",
        r"decay.max_horizon_minutes = 1000000000.0 is out of range: expected a finite number in \(0, 1440\] minutes",
    ),
    (
        "[components]\ndensity = nan\n",
        r"components.density = nan is out of range: expected a finite number in \[0, 1000000\]",
    ),
    ("[components]\ndensity = inf\n", r"components.density = inf is out of range"),
    (
        "[components]\ndensity = 0\ndiversity = 0\ndynamics = 0\ndirectionality = 0\n",
        r"\[components\] weights are all zero",
    ),
    (
        "[indicators.minutes_airport]\nweight = nan\n",
        r"indicators.minutes_airport.weight = nan is out of range: expected a finite number in \[0, 1000000\]",
    ),
    ("[indicators.minutes_airport]\nweight = inf\n", r"indicators.minutes_airport.weight = inf is out of range"),
    ("[indicators.minutes_airport]\nweight = true\n", r"indicators.minutes_airport.weight = True has the wrong type"),
    ("[indicators]\nminutes_airport = 3\n", r"indicators.minutes_airport must be a table, got 3"),
    (
        "[indicators.support_gravity]\nweight = 1\n",
        r"indicators.support_gravity.component = None is not allowed; choose one of density",
    ),
    ("[indicators.speed]\ncomponent = 'density'\n", r"indicator 'speed' is unknown; known indicators:"),
    ("[profile]\nbase = 'all'\n", r"profile.base = 'all' is not allowed; choose one of default, none"),
    (
        "[profile]\nbase = 'none'\n[components]\ndensity = 1\n",
        r'profile.base = "none" needs the file to list its \[components\] and \[indicators\]',
    ),
    (
        "[profile]\nbase = 'none'\n[components]\ndynamics = 1\n[indicators.minutes_airport]\ncomponent = 'density'\n",
        r"no component has both a positive weight and an indicator of positive weight",
    ),
    ("[profile]\nname = 3\n", r"profile.name = 3 must be text"),
    ("[smes]\nn = 0\n", r"smes.n = 0 is out of range: expected an integer from 1 to 1000000"),
    ("[smes]\nn = 1e9\n", r"smes.n = 1000000000.0 has the wrong type: expected an integer"),
    ("[smes]\nseed = -1\n", r"smes.seed = -1 is out of range: expected an integer from 0"),
    ("[smes]\ncount = 3\n", r"unknown key\(s\) 'count' in \[smes\]; allowed: n, per_1000_inhabitants, seed"),
    ("[smes]\nper_1000_inhabitants = 0\n", r"smes.per_1000_inhabitants = 0 is out of range"),
    (
        "[traveltime]\nmax_minutes = -1\n",
        r"traveltime.max_minutes = -1 is out of range: expected a finite number in \(0, 600\] minutes",
    ),
    (
        "[rasters]\ncell_m = 1e9\n",
        r"rasters.cell_m = 1000000000.0 is out of range: expected a finite number in \[10, 10000\] metres",
    ),
    (
        "[export_groups]\nsections = ['Z']\n",
        r"export_groups.sections = \['Z'\] is not allowed: expected a list of distinct NAF section letters A–U",
    ),
    ("[export_groups]\nsections = []\n", r"export_groups.sections = \[\] is not allowed"),
    ("[export_groups]\nmin_size = 7\n", r"export_groups.min_size = 7 is out of range: expected an integer from 2 to 6"),
    (
        "[export_groups]\nmin_size = 5\nmax_size = 4\n",
        r"export_groups.min_size = 5 is above export_groups.max_size = 4",
    ),
    ("[export_groups]\nrule = 'naf'\n", r"export_groups.rule = 'naf' is not allowed; choose one of naf_subclass"),
    (
        "[export_groups]\nmethod = 'fast'\n",
        r"export_groups.method = 'fast' is not allowed; choose one of auto, exact, heuristic",
    ),
    (
        "[export_groups]\ntime_limit_s = 0\n",
        r"export_groups.time_limit_s = 0 is out of range: expected a finite number in \(0, 86400\] seconds",
    ),
    ("[export_groups]\nseed = -3\n", r"export_groups.seed = -3 is out of range"),
    ("this is = not toml =", r"not valid TOML"),
]


@pytest.mark.parametrize(("text", "match"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_every_bad_value_fails_at_load_with_one_line_naming_the_key(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        config.load_study(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path))
    with pytest.raises(ConfigError, match=match):
        milieu.load_profile(path)  # the same check for the profile alone


def test_all_problems_of_a_file_in_one_line(tmp_path):
    path = _write(
        tmp_path, "[parameters]\nsensitivity_draws = 0\nseed = -1\n[indicators.minutes_airport]\nweight = nan\n"
    )
    with pytest.raises(ConfigError) as info:
        config.load_study(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert "sensitivity_draws = 0" in msg and "seed = -1" in msg and "minutes_airport.weight = nan" in msg


def test_bad_paths_and_encodings(tmp_path):
    with pytest.raises(ConfigError, match=r"profile = 123 \(int\) is not a path; pass the path of a study TOML file"):
        milieu.load_profile(123)
    with pytest.raises(ConfigError, match=r"profile = \[.a.\] \(list\) is not a path"):
        config.load_study(["a"])
    with pytest.raises(ConfigError, match="is a folder; pass the path of a study TOML file"):
        config.load_study(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        config.load_study(tmp_path / "nope.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[profile]\nname = "Hérault"\n'.encode("latin-1"))
    with pytest.raises(
        ConfigError,
        match=r"not UTF-8 text \(byte 0xe9 on line 2, perhaps Latin-1 or Windows-1252\); re-save the file as UTF-8",
    ):
        config.load_study(latin1)
    bom = tmp_path / "bom.toml"
    bom.write_bytes('[profile]\nname = "Hérault"\n'.encode("utf-8-sig"))
    assert config.load_study(bom).profile.name == "Hérault"


def test_rank_intervals_cap_the_draws():
    prof = milieu.load_profile()
    ind = pd.DataFrame(index=["a", "b", "c"])
    with pytest.raises(InputError, match=r"draws = 100000000 must be an integer from 1 to 10000"):
        milieu.rank_intervals(ind, prof, draws=100_000_000)
    with pytest.raises(InputError, match=r"draws = 0 must be an integer from 1 to 10000"):
        milieu.rank_intervals(ind, prof, draws=0)
    with pytest.raises(InputError, match=r"concentration = nan must be a finite number > 0"):
        milieu.rank_intervals(ind, prof, concentration=math.nan)


def test_with_weights_and_options_refuse_non_finite(tmp_path):
    prof = milieu.load_profile()
    with pytest.raises(ConfigError, match=r"weight of indicator 'minutes_airport' = nan must be a non-negative number"):
        prof.with_weights(indicators={"minutes_airport": math.nan})
    with pytest.raises(ConfigError, match=r"weight of component 'density' = inf must be a non-negative number"):
        prof.with_weights(components={"density": math.inf})
    with pytest.raises(ConfigError, match=r"parameters.catchment_minutes = -1 is out of range"):
        prof.with_options(parameters={**prof.parameters, "catchment_minutes": -1})
    with pytest.raises(ConfigError, match=r"profile.normalisation = 'log' is not allowed"):
        prof.with_options(normalisation="log")


# --------------------------------------------------------------------------- partial files


def test_a_single_indicator_file_changes_that_indicator_only(tmp_path):
    default = config.load_study()
    s = config.load_study(_write(tmp_path, "[indicators.minutes_airport]\nweight = 3.0\n", name="airport3.toml"))
    p = s.profile
    assert s.user_keys == ("indicators.minutes_airport.weight",) and p.user_keys == s.user_keys
    assert p.name == "airport3"  # the file name when it gives none
    assert [i.key for i in p.indicators] == [i.key for i in default.profile.indicators]
    changed = {i.key: i for i in p.indicators}["minutes_airport"]
    assert (changed.weight, changed.component, changed.direction) == (3.0, "density", "lower")
    assert all(
        a == b for a, b in zip(p.indicators, default.profile.indicators, strict=True) if a.key != "minutes_airport"
    )
    assert p.components == default.profile.components and p.parameters == default.profile.parameters
    assert s.to_dict()["user_keys"] == ["indicators.minutes_airport.weight"]


def test_partial_tables_merge_key_by_key(tmp_path):
    s = config.load_study(
        _write(
            tmp_path,
            """
[components]
density = 1.0
[indicators.support_gravity]
component = "density"
weight = 2.0
[parameters]
catchment_minutes = 30.0
[export_groups]
sections = ["J"]
""",
        )
    )
    p = s.profile
    assert p.components == {"density": 1.0, "diversity": 0.25, "dynamics": 0.2, "directionality": 0.25}
    assert {i.key: i.weight for i in p.indicators}["support_gravity"] == 2.0 and len(p.indicators) == 20
    assert p.parameters["catchment_minutes"] == 30.0 and p.parameters["sensitivity_draws"] == 200
    assert s.export_groups.sections == ("J",) and s.export_groups.time_limit_s == 8.0
    assert set(s.user_keys) == {
        "components.density",
        "indicators.support_gravity.component",
        "indicators.support_gravity.weight",
        "parameters.catchment_minutes",
        "export_groups.sections",
    }


def test_base_none_takes_exactly_the_listed_indicators(tmp_path):
    p = config.load_profile(
        _write(
            tmp_path,
            """
[profile]
base = "none"
[components]
density = 1.0
[indicators.minutes_airport]
component = "density"
direction = "lower"
""",
        )
    )
    assert [i.key for i in p.indicators] == ["minutes_airport"]
    assert p.components == {"density": 1.0, "diversity": 0.0, "dynamics": 0.0, "directionality": 0.0}


def test_a_verbatim_copy_of_the_shipped_file_is_the_default(tmp_path):
    copy = tmp_path / "copy.toml"
    shutil.copy(resources.files("proximity") / "profiles" / "default.toml", copy)
    a, b = config.load_study(copy), config.load_study()
    assert a.profile.indicators == b.profile.indicators and a.profile.components == b.profile.components
    assert a.profile.decay == b.profile.decay and a.export_groups == b.export_groups and a.smes == b.smes
    assert "profile.base" in a.user_keys and "indicators.minutes_airport.weight" in a.user_keys
    # deleting an indicator from the copy removes it (base = "none" in the shipped file)
    text = copy.read_text(encoding="utf-8")
    start = text.index("[indicators.minutes_seaport]")
    copy.write_text(text[:start] + text[text.index("[indicators", start + 5) :], encoding="utf-8")
    assert "minutes_seaport" not in {i.key for i in config.load_profile(copy).indicators}


def test_decay_kind_keeps_the_default_parameters_it_accepts(tmp_path):
    g = config.load_profile(_write(tmp_path, "[decay]\nkind = 'gaussian'\n")).decay
    assert g.parameters == {"half_life_minutes": 30.0} and g.function(30.0) == pytest.approx(0.5)
    p = config.load_profile(_write(tmp_path, "[decay]\nkind = 'power'\nbeta = 2\nmin_minutes = 5\n")).decay
    assert p.parameters == {"beta": 2.0, "min_minutes": 5.0}
    s = config.load_profile(_write(tmp_path, "[decay]\nkind = 'step'\n[parameters]\ncatchment_minutes = 25\n")).decay
    assert s.parameters == {"max_minutes": 25.0} and s.horizon_minutes == 25.0
    old = config.load_profile(_write(tmp_path, "[parameters]\ndecay = 'gaussian'\nhalf_life_minutes = 20\n"))
    assert old.decay.kind == "gaussian" and old.decay.function(20.0) == pytest.approx(0.5)
    assert "decay" not in old.parameters and "half_life_minutes" not in old.parameters
    z = config.load_profile(_write(tmp_path, "[decay]\nkind = 'stepwise'\nzones = { '10' = 1.0, '20' = 0.5 }\n")).decay
    assert z.function([5.0, 15.0, 25.0]).tolist() == [1.0, 0.5, 0.0] and z.horizon_minutes == 20.0


# --------------------------------------------------------------------------- decay registry and horizon


def test_decay_registry_builds_each_factory():
    assert set(acc.DECAY_FACTORIES) == {"exponential", "gaussian", "logistic", "power", "step", "stepwise", "none"}
    t = np.array([0.0, 10.0, 40.0, np.inf])
    cases = {
        "exponential": ({"half_life_minutes": 20}, acc.exponential(half_life_minutes=20)),
        "gaussian": ({"sigma_minutes": 15}, acc.gaussian(sigma_minutes=15)),
        "logistic": (
            {"midpoint_minutes": 30, "steepness_per_minute": 0.2},
            acc.logistic(midpoint_minutes=30, steepness_per_minute=0.2),
        ),
        "power": ({"beta": 1.5}, acc.power(beta=1.5)),
        "step": ({"max_minutes": 20}, acc.step(max_minutes=20)),
        "stepwise": ({}, acc.stepwise()),
        "none": ({}, acc.none()),
    }
    for kind, (kw, ref) in cases.items():
        np.testing.assert_array_equal(acc.decay_function(kind, **kw)(t), ref(t))
    with pytest.raises(InputError, match=r"decay kind 'linear' is unknown; choose one of exponential"):
        acc.decay_function("linear")
    with pytest.raises(InputError, match=r"decay 'power' needs 'beta'"):
        acc.decay_function("power")
    with pytest.raises(InputError, match=r"decay 'step' takes no parameter 'beta'; its parameters: max_minutes"):
        acc.decay_function("step", max_minutes=3, beta=2)


def test_gravity_horizon_derived_from_the_decay():
    w = 0.01
    cases = {
        "exponential": acc.exponential(half_life_minutes=30),
        "gaussian": acc.gaussian(sigma_minutes=20),
        "logistic": acc.logistic(midpoint_minutes=30, steepness_per_minute=0.3),
        "power": acc.power(beta=2, min_minutes=2),
    }
    for kind, f in cases.items():
        h = acc.decay_horizon_minutes(f, negligible_weight=w)
        assert f(h) == pytest.approx(w, rel=1e-9), kind  # the weight is the negligible one there
        assert f(h * 0.999) > w  # and not before
    assert acc.decay_horizon_minutes(cases["exponential"], negligible_weight=w) == pytest.approx(30 * math.log2(100))
    assert acc.decay_horizon_minutes(acc.exponential(half_life_minutes=30)) == 120.0
    assert acc.decay_horizon_minutes(acc.exponential(half_life_minutes=10)) == 40.0  # not a fixed 120
    assert acc.decay_horizon_minutes(acc.step(max_minutes=35)) == 35.0
    assert acc.decay_horizon_minutes(acc.stepwise(), negligible_weight=0.3) == 20.0  # the 0.22 zone is negligible
    assert acc.decay_horizon_minutes(acc.none()) == acc.MAX_HORIZON_MINUTES == 240.0
    assert acc.decay_horizon_minutes(acc.power(beta=0.5), negligible_weight=w) == 240.0  # 10,000 min, capped

    # a user callable without closed form: bisection
    def user(t):
        return np.exp2(-np.asarray(t, dtype=float) / 30)

    assert acc.decay_horizon_minutes(user) == pytest.approx(120.0, abs=1e-6)
    with pytest.raises(InputError, match=r"negligible_weight must be in \(0, 1\), got 1.5"):
        acc.decay_horizon_minutes(user, negligible_weight=1.5)
    with pytest.raises(InputError, match=r"max_minutes must be a finite number > 0, got nan"):
        acc.decay_horizon_minutes(user, max_minutes=math.nan)


def test_gaussian_honours_its_half_life(tmp_path):
    for h in (10.0, 30.0, 45.0):
        d = config.load_profile(_write(tmp_path, f"[decay]\nkind = 'gaussian'\nhalf_life_minutes = {h}\n")).decay
        assert d.function(h) == pytest.approx(0.5)
        assert d.horizon_minutes == pytest.approx(h * math.sqrt(math.log(16) / math.log(2)))  # weight 1/16 at 2h


# --------------------------------------------------------------------------- consumers on the real territory


def _origins(herault, n=40):
    m = herault.municipalities
    pts = m.geometry.representative_point().iloc[:: 341 // n][:n]
    return gpd.GeoDataFrame(geometry=pts.to_numpy(), index=pts.index, crs=m.crs)


@pytest.fixture(scope="module")
def small(herault):
    kw = {"gateways": herault.gateways, "support_bodies": herault.support_bodies, "smes": herault.smes}
    return {"origins": _origins(herault), "kw": kw}


def _indicators(herault, small, profile):
    return scores.origin_indicators(herault.csr, small["origins"], profile=profile, **small["kw"])


def test_step_decay_makes_gravity_the_count_within_t(herault, small, tmp_path):
    prof = config.load_profile(_write(tmp_path, "[decay]\nkind = 'step'\n"))  # max_minutes = T = 45
    assert scores.gravity_horizon_minutes(prof) == 45.0
    out = _indicators(herault, small, prof)
    np.testing.assert_array_equal(out["support_gravity"].to_numpy(), out["support_within_t"].to_numpy())
    assert out["support_within_t"].sum() > 100
    default = _indicators(herault, small, milieu.load_profile())
    assert not np.allclose(default["support_gravity"], out["support_gravity"])
    # the counts within T do not depend on the decay
    np.testing.assert_array_equal(default["support_within_t"].to_numpy(), out["support_within_t"].to_numpy())


def test_decay_kind_and_half_life_change_the_decayed_indicators(herault, small, tmp_path):
    base = _indicators(herault, small, milieu.load_profile())
    short = _indicators(herault, small, config.load_profile(_write(tmp_path, "[decay]\nhalf_life_minutes = 10\n")))
    gauss = _indicators(
        herault, small, config.load_profile(_write(tmp_path, "[decay]\nkind = 'gaussian'\nhalf_life_minutes = 10\n"))
    )
    for col in ("support_gravity", "support_diversity", "gateway_mode_diversity"):
        assert not np.allclose(base[col], short[col]) and not np.allclose(short[col], gauss[col])
    assert (short["support_gravity"] < base["support_gravity"]).all()  # a shorter half-life weighs every body less
    # gravity is the decayed sum over the OD table up to the derived horizon (40 min for a 10-min half-life)
    d = config.load_profile(_write(tmp_path, "[decay]\nhalf_life_minutes = 10\n")).decay
    sup = herault.support_bodies[herault.support_bodies["on_network"]]
    od = traveltime.od_matrix(
        herault.csr, small["origins"], sup[["geometry"]], max_minutes=max(d.horizon_minutes, 45.0)
    )
    ref = acc.gravity(od, decay=d.function, origins=small["origins"].index)
    np.testing.assert_allclose(short["support_gravity"].to_numpy(), ref.to_numpy(), rtol=1e-12)


def test_a_lower_negligible_weight_widens_the_horizon(herault, small, tmp_path):
    prof = config.load_profile(_write(tmp_path, "[decay]\nnegligible_weight = 0.01\n"))
    assert scores.gravity_horizon_minutes(prof) == pytest.approx(30 * math.log2(100))
    base = _indicators(herault, small, milieu.load_profile())
    wide = _indicators(herault, small, prof)
    assert (wide["support_gravity"] >= base["support_gravity"] - 1e-12).all()
    assert (wide["support_gravity"] > base["support_gravity"] + 1e-9).any()


def test_thresholds_feed_the_population_within_figures(herault, tmp_path):
    prof = config.load_profile(
        _write(tmp_path, "[parameters]\nthresholds_minutes = [40.0, 20.0]\nsensitivity_draws = 20\n")
    )
    small_ter = dataclasses.replace(herault, smes=herault.smes.iloc[:300])
    res = scores.score_territory(small_ter, profile=prof, max_per_commune=2)
    within = res.summary["population_within_minutes"]
    assert set(within) == {f"{g}_{t}" for g in ("airport", "tgv_station", "chamber_of_commerce") for t in (20, 40)}
    o = res.origins
    assert within["airport_20"] == pytest.approx(o.loc[o["minutes_airport"] <= 20, "weight"].sum())
    assert 0 < within["airport_20"] < within["airport_40"] < o["weight"].sum()


def test_planning_uses_the_profile_decay(herault, tmp_path):
    step = config.load_profile(_write(tmp_path, "[decay]\nkind = 'step'\nmax_minutes = 30.0\n"))
    plan = planning.plan_incubator(herault, candidates="business_parks", p_max=1, what_if=False, profile=step)
    c = plan.candidates
    # a step decay at the coverage time makes the support gravity the support count within 30 min
    np.testing.assert_allclose(c["support_gravity"].to_numpy(), c["support_within_t"].to_numpy())
    assert plan.parameters["profile"]["decay"]["kind"] == "step"
    default = planning.plan_incubator(herault, candidates="business_parks", p_max=1, what_if=False)
    assert not np.allclose(default.candidates.loc[c.index, "support_gravity"], c["support_gravity"])
    assert default.parameters["profile"]["decay"]["horizon_minutes"] == 120.0


# --------------------------------------------------------------------------- CLI and pipeline validate first


@pytest.mark.parametrize("command", [["score"], ["run"], ["site"]])
def test_cli_validates_the_profile_before_any_work(tmp_path, command):
    from proximity.cli import main

    bad = _write(tmp_path, "[parameters]\nsensitivity_draws = 1e8\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, [*command, "--out", str(out), "--profile", str(bad)])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("proximity: error: ")
    assert (
        "parameters.sensitivity_draws = 100000000.0 has the wrong type: expected an integer from 1 to 10000" in lines[0]
    )
    assert not out.exists()  # nothing written, nothing loaded


def test_pipeline_run_validates_before_writing(tmp_path):
    bad = _write(tmp_path, "[export_groups]\nsections = ['Z']\n")
    with pytest.raises(ConfigError, match=r"export_groups.sections = \['Z'\] is not allowed"):
        pipeline.run(out=tmp_path / "out", profile=bad)
    assert not (tmp_path / "out").exists()


def test_pipeline_run_consumes_every_study_table(tmp_path, real_data):
    import pandas as pd
    import rasterio

    study = _write(
        tmp_path,
        """
[smes]
n = 400
seed = 5
[traveltime]
max_minutes = 20.0
[rasters]
cell_m = 2000.0
[parameters]
thresholds_minutes = [25.0, 50.0]
sensitivity_draws = 10
[export_groups]
sections = ["J"]
time_limit_s = 2.0
min_size = 2
max_size = 3
""",
    )
    out = tmp_path / "out"
    pipeline.run(out=out, profile=study)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["study"] == config.load_study(study).to_dict()  # recorded whole
    assert (
        prov["profile"]["parameters"]["thresholds_minutes"] == [25.0, 50.0]
        and prov["profile"]["decay"]["horizon_minutes"] == 120.0
    )
    assert prov["study"]["user_keys"] == sorted(
        [
            "smes.n",
            "smes.seed",
            "traveltime.max_minutes",
            "rasters.cell_m",
            "parameters.thresholds_minutes",
            "parameters.sensitivity_draws",
            "export_groups.sections",
            "export_groups.time_limit_s",
            "export_groups.min_size",
            "export_groups.max_size",
        ]
    )
    assert prov["parameters"]["n_smes"] == 400 and prov["parameters"]["seed"] == 5
    assert len(pd.read_csv(out / "smes.csv")) == 400
    assert pd.read_csv(out / "traveltime" / "od_municipalities_gateways.csv")["minutes"].max() <= 20.0
    with rasterio.open(out / "rasters" / "population.tif") as ds:
        assert ds.res == (2000.0, 2000.0)
    within = pd.read_csv(out / "rasters" / "population_within.csv", index_col=0)
    assert {"airport_25", "airport_50"} <= set(within.columns) and "airport_30" not in within.columns
    assert set(prov["summary"]["population_within_minutes"]) >= {"airport_25", "airport_50"}
    groups_prov = json.loads((out / "export_groups" / "provenance.json").read_text())["parameters"]
    assert (
        groups_prov["sections"],
        groups_prov["time_limit_s"],
        groups_prov["min_size"],
        groups_prov["max_size"],
        groups_prov["seed"],
    ) == (["J"], 2.0, 2, 3, 5)
    members = pd.read_csv(out / "export_groups" / "members.csv", dtype=str)
    assert len(members) > 0 and set(members["naf_section"]) == {"J"}
    formed = pd.read_csv(out / "export_groups" / "groups.csv")
    assert len(formed) > 0 and formed["n"].between(2, 3).all() and (formed["max_pair_minutes"] <= 30.0).all()


def test_decay_settings_built_directly_are_checked():
    assert config.DecaySettings().horizon_minutes == 120.0
    with pytest.raises(ConfigError, match=r"\[decay\]: decay 'power' needs 'beta'"):
        config.DecaySettings("power", {})
    with pytest.raises(ConfigError, match=r"\[decay\]: decay kind 'linear' is unknown"):
        config.DecaySettings("linear", {})
    with pytest.raises(ConfigError, match=r"\[decay\]: negligible_weight must be in \(0, 1\), got 2"):
        config.DecaySettings(negligible_weight=2)
