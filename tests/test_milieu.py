"""Scoring profile validation, normalisation, composite index and rank intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proximity import milieu
from proximity.errors import ConfigError, InputError, MissingColumnError


def _write(tmp_path, text):
    p = tmp_path / "p.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_profile_is_valid_and_covers_four_ds():
    prof = milieu.load_profile()
    assert {i.component for i in prof.indicators if i.weight > 0} == set(milieu.COMPONENTS)
    assert prof.normalisation == "minmax"
    assert abs(sum(prof.components.values()) - 1.0) < 1e-9


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[profile]\nnormalisaton = 'rank'\n", r"unknown key\(s\) 'normalisaton' in \[profile\]"),
        ("[profile]\nnormalisation = 'log'\n", r"profile.normalisation = 'log' is not allowed"),
        (
            "[parameters]\nhalf_life_minutes = 'thirty'\n",
            r"parameters.half_life_minutes = 'thirty' has the wrong type: expected a finite number in \(0, 600\] minutes",
        ),
        ("[parameters]\ndecay = 'linear'\n", r"parameters.decay = 'linear' is not allowed"),
        (
            "[components]\ndensity = -1\n",
            r"components.density = -1 is out of range: expected a finite number in \[0, 1000000\]",
        ),
        ("[components]\ndensty = 1\n", r"unknown key\(s\) 'densty' in \[components\]"),
        ("[indicators.foo]\ncomponent='density'\n", r"indicator 'foo' is unknown"),
        ("[indicators.minutes_airport]\ncomponent='speed'\n", r"indicators.minutes_airport.component = 'speed'"),
        (
            "[indicators.minutes_airport]\ncomponent='density'\nweight=-2\n",
            r"indicators.minutes_airport.weight = -2 is out of range: expected a finite number in \[0, 1000000\]",
        ),
        ("[indicators.minutes_airport]\ncomponent='density'\ndirection='up'\n", r"direction = 'up' is not allowed"),
        (
            "[indicators.minutes_airport]\ncomponent='density'\nwieght=1\n",
            r"unknown key\(s\) 'wieght' in \[indicators.minutes_airport\]",
        ),
        ("this is = not toml =", r"not valid TOML"),
    ],
)
def test_bad_profiles_name_the_key(tmp_path, text, match):
    base = "[components]\ndensity = 1\n[indicators.minutes_airport]\ncomponent='density'\n"
    body = text if ("[components]" in text or "[indicators" in text or "toml" in text) else text + base
    with pytest.raises(ConfigError, match=match):
        milieu.load_profile(_write(tmp_path, body))


def test_missing_profile_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        milieu.load_profile(tmp_path / "nope.toml")


def test_normalise_methods_and_direction():
    s = pd.Series([10.0, 20.0, 40.0], index=list("abc"), name="x")
    assert milieu.normalise(s).tolist() == [0.0, 1 / 3, 1.0]
    assert milieu.normalise(s, direction="lower").tolist() == [1.0, 2 / 3, 0.0]
    z = milieu.normalise(s, method="zscore")
    assert abs(z.mean()) < 1e-12 and abs(z.std(ddof=0) - 1) < 1e-12
    assert milieu.normalise(s, method="rank").tolist() == [0.0, 0.5, 1.0]
    assert milieu.normalise(pd.Series([3.0, 3.0], name="c")).tolist() == [0.5, 0.5]
    # unreachable (inf minutes) ranks below the worst reachable value
    t = milieu.normalise(pd.Series([5.0, np.inf, 10.0], name="m"), direction="lower")
    assert t.iloc[1] == 0.0 and t.iloc[0] == 1.0 and 0 < t.iloc[2] < 1
    with pytest.raises(InputError, match="has NaN values"):
        milieu.normalise(pd.Series([1.0, np.nan], name="m"))
    with pytest.raises(InputError, match="normalisation 'log' is unknown"):
        milieu.normalise(s, method="log")


def _toy_profile(tmp_path):
    return milieu.load_profile(
        _write(
            tmp_path,
            """
[profile]
base = "none"
[components]
density = 0.5
directionality = 0.5
[indicators.minutes_airport]
component = "density"
direction = "lower"
[indicators.support_within_t]
component = "density"
[indicators.governance_capacity]
component = "directionality"
""",
        )
    )


def test_composite_hand_computed(tmp_path):
    prof = _toy_profile(tmp_path)
    ind = pd.DataFrame(
        {
            "minutes_airport": [10.0, 30.0, 50.0],
            "support_within_t": [4.0, 2.0, 0.0],
            "governance_capacity": [1.0, 0.3, 0.3],
        },
        index=["a", "b", "c"],
    )
    out = milieu.composite(ind, prof)
    assert out.loc["a", "density"] == 1.0 and out.loc["c", "density"] == 0.0
    assert out.loc["b", "density"] == pytest.approx(0.5)
    assert out.loc["a", "index"] == pytest.approx(100.0)
    assert out.loc["b", "index"] == pytest.approx(25.0)
    assert out["rank"].tolist() == [1, 2, 3]
    with pytest.raises(MissingColumnError, match="lacks governance_capacity"):
        milieu.composite(ind.drop(columns="governance_capacity"), prof)


def test_rank_intervals_contain_base_rank_and_are_deterministic(tmp_path):
    prof = _toy_profile(tmp_path)
    rng = np.random.default_rng(1)
    ind = pd.DataFrame(
        {
            "minutes_airport": rng.uniform(5, 90, 40),
            "support_within_t": rng.integers(0, 20, 40),
            "governance_capacity": rng.choice([0.3, 0.6, 1.0], 40),
        },
        index=[f"z{i}" for i in range(40)],
    )
    base = milieu.composite(ind, prof)["rank"]
    a = milieu.rank_intervals(ind, prof, draws=300, seed=3, quantiles=(0.0, 1.0))
    b = milieu.rank_intervals(ind, prof, draws=300, seed=3, quantiles=(0.0, 1.0))
    pd.testing.assert_frame_equal(a, b)
    assert (a["rank_low"] <= a["rank_high"]).all()
    # with the full range of draws, the base weights' rank lies (nearly always) inside
    inside = ((a["rank_low"] <= base) & (base <= a["rank_high"])).mean()
    assert inside > 0.9
    # more concentrated draws give narrower intervals
    tight = milieu.rank_intervals(ind, prof, draws=300, seed=3, concentration=5000)
    loose = milieu.rank_intervals(ind, prof, draws=300, seed=3, concentration=2)
    assert (tight["rank_high"] - tight["rank_low"]).mean() < (loose["rank_high"] - loose["rank_low"]).mean()


def test_with_weights_changes_and_validates():
    prof = milieu.load_profile()
    p2 = prof.with_weights(indicators={"minutes_airport": 3.0}, components={"dynamics": 0.0})
    assert next(i.weight for i in p2.indicators if i.key == "minutes_airport") == 3.0
    assert p2.components["dynamics"] == 0.0 and prof.components["dynamics"] > 0  # a copy
    with pytest.raises(ConfigError, match="indicator 'nope' is not in the profile"):
        prof.with_weights(indicators={"nope": 1.0})
    with pytest.raises(ConfigError, match="must be a non-negative number"):
        prof.with_weights(indicators={"minutes_airport": -1})
    with pytest.raises(ConfigError, match="component = 'speed' is not allowed"):
        prof.with_weights(components={"speed": 1.0})
