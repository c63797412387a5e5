"""Accessibility measures: closed forms, PySAL access agreement, properties, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from proximity import accessibility as acc
from proximity.errors import InputError, MissingColumnError


def _random_instance(seed: int, n_origins: int = 40, n_dest: int = 15, p: float = 0.7):
    """A sparse random travel-time table with demand and supply (some zeros)."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"o{i}", f"d{j}", float(rng.uniform(0, 60)))
        for i in range(n_origins)
        for j in range(n_dest)
        if rng.random() < p
    ]
    od = pd.DataFrame(rows, columns=list(acc.OD_COLUMNS))
    demand = pd.Series(rng.integers(1, 500, n_origins).astype(float), index=[f"o{i}" for i in range(n_origins)])
    supply = pd.Series(rng.integers(0, 20, n_dest).astype(float), index=[f"d{j}" for j in range(n_dest)])
    return od, demand, supply


def _complete(n_origins: int, n_dest: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    o = np.repeat([f"o{i}" for i in range(n_origins)], n_dest)
    d = np.tile([f"d{j}" for j in range(n_dest)], n_origins)
    return pd.DataFrame({"origin_id": o, "destination_id": d, "minutes": rng.uniform(0, 80, n_origins * n_dest)})


# --------------------------------------------------------------------------- decay


def test_decays_values_and_bounds():
    t = np.array([0.0, 10.0, 30.0, 60.0, np.inf])
    np.testing.assert_allclose(acc.exponential()(t), [1, 2 ** (-1 / 3), 0.5, 0.25, 0])
    np.testing.assert_allclose(acc.gaussian()(t)[[0, 2, 4]], [1, 0.5, 0])
    np.testing.assert_allclose(acc.gaussian(sigma_minutes=20)(t)[:4], np.exp(-(t[:4] ** 2) / 800))
    lg = acc.logistic(midpoint_minutes=30, steepness_per_minute=0.2)(t)
    assert lg[0] == 1.0 and lg[-1] == 0.0 and np.all(np.diff(lg) < 0)
    assert lg[2] == pytest.approx((1 + math.exp(-6)) / 2)
    np.testing.assert_allclose(acc.power(beta=2, min_minutes=5)(t), [1, 0.25, 1 / 36, 1 / 144, 0])
    np.testing.assert_array_equal(acc.step(max_minutes=30)(t), [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(acc.none()(t), [1, 1, 1, 1, 0])
    np.testing.assert_allclose(
        acc.stepwise()(np.array([0, 10, 10.5, 20, 25, 30, 30.01, np.inf])), [1, 1, 0.68, 0.68, 0.22, 0.22, 0, 0]
    )
    # very steep logistic far beyond its midpoint: no overflow warning, weight 0
    assert acc.logistic(midpoint_minutes=1, steepness_per_minute=50)(1000.0) == 0.0
    for f in (
        acc.exponential(),
        acc.gaussian(),
        acc.power(beta=1),
        acc.logistic(midpoint_minutes=20, steepness_per_minute=1),
    ):
        w = f(np.linspace(0, 500, 501))
        assert w.min() >= 0 and w.max() <= 1 and np.all(np.diff(w) <= 0)
    assert isinstance(acc.exponential()(30), float)
    assert acc.exponential().__name__ == "exponential(half_life_minutes=30)"


def test_decays_match_pysal_access_weights():
    weights = pytest.importorskip("access.weights")
    t = np.array([0.0, 3.0, 10.0, 10.0001, 19.9, 20.0, 29.0, 30.0, 45.0, 61.0])
    np.testing.assert_array_equal(acc.stepwise()(t), [weights.step_fn({10: 1, 20: 0.68, 30: 0.22})(x) for x in t])
    np.testing.assert_array_equal(acc.gaussian(sigma_minutes=20)(t), weights.gaussian(20)(t))
    np.testing.assert_allclose(
        acc.power(beta=1.5, min_minutes=2)(t),
        [weights.gravity(scale=2, alpha=-1.5, min_dist=2)(x) for x in t],
        rtol=1e-15,
    )


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (acc.exponential, {"half_life_minutes": 0}, r"half_life_minutes must be a finite number > 0, got 0"),
        (acc.exponential, {"half_life_minutes": math.inf}, r"half_life_minutes must be a finite"),
        (acc.gaussian, {"sigma_minutes": -1}, r"sigma_minutes must be .* > 0, got -1"),
        (acc.logistic, {"midpoint_minutes": 30, "steepness_per_minute": 0}, r"steepness_per_minute"),
        (acc.logistic, {"midpoint_minutes": float("nan"), "steepness_per_minute": 1}, r"midpoint_minutes"),
        (acc.power, {"beta": True}, r"beta must be a finite number > 0, got True"),
        (acc.power, {"beta": 1, "min_minutes": 0}, r"min_minutes must be"),
        (acc.step, {"max_minutes": -5}, r"max_minutes must be a finite number >= 0.*use none\(\)"),
        (acc.step, {"max_minutes": "30"}, r"max_minutes must be a finite number >= 0, got '30'"),
        (acc.stepwise, {"zones": {}}, r"zones must be a non-empty mapping"),
        (acc.stepwise, {"zones": {10: 1.5}}, r"zones weights must be in \[0, 1\]"),
        (acc.stepwise, {"zones": {-1: 1}}, r"zones bound must be"),
    ],
)
def test_bad_decay_parameters(factory, kwargs, match):
    with pytest.raises(InputError, match=match):
        factory(**kwargs)


def test_decay_refuses_negative_or_nan_minutes():
    with pytest.raises(InputError, match=r"exponential\(half_life_minutes=30\): minutes must be >= 0"):
        acc.exponential()([-1.0, 2.0])
    with pytest.raises(InputError, match=r"minutes must be >= 0 and not NaN"):
        acc.step(max_minutes=3)(float("nan"))


# --------------------------------------------------------------------------- measures


def test_nearest_minutes_overall_and_per_category():
    od = pd.DataFrame(
        {
            "origin_id": ["a", "a", "a", "b", "c"],
            "destination_id": [1, 2, 3, 1, 3],
            "minutes": [12.0, 5.0, 7.0, np.inf, 3.0],
        }
    )
    near = acc.nearest_minutes(od, origins=["a", "b", "c", "z"])
    assert near["any"].tolist() == [5.0, np.inf, 3.0, np.inf]
    assert near.index.name == "origin_id"
    cats = pd.Series({1: "bank", 2: "port", 3: "bank", 99: "airport"})
    wide = acc.nearest_minutes(od, categories=cats)
    assert wide.columns.tolist() == ["airport", "bank", "port"]
    assert wide.loc["a"].tolist() == [np.inf, 7.0, 5.0]
    assert wide.loc["b"].tolist() == [np.inf, np.inf, np.inf]
    assert wide.loc["c"].tolist() == [np.inf, 3.0, np.inf]
    # a categorical dtype fixes the taxonomy and its order
    cat = pd.Series(pd.Categorical(["bank", "port", "bank"], categories=["port", "bank", "rail"]), index=[1, 2, 3])
    assert acc.nearest_minutes(od, categories=cat).columns.tolist() == ["port", "bank", "rail"]


def test_rows_without_destination_record_origins_that_reach_nothing():
    # the shape of traveltime.nearest's "nothing found": destination_id <NA>, minutes inf
    od = pd.DataFrame(
        {
            "origin_id": ["a", "b", "a"],
            "destination_id": pd.array([1, pd.NA, 2], dtype="Int64"),
            "minutes": [4.0, np.inf, 6.0],
        }
    )
    assert acc.gravity(od, decay=acc.none()).to_dict() == {"a": 2.0, "b": 0.0}
    assert acc.nearest_minutes(od)["any"].to_dict() == {"a": 4.0, "b": np.inf}
    bad = od.assign(minutes=[4.0, 5.0, 6.0])
    with pytest.raises(InputError, match=r"1 row\(s\) have no destination_id but a finite time"):
        acc.gravity(bad, decay=acc.none())


def test_cumulative_opportunities_counts_inclusive_bounds():
    od = pd.DataFrame(
        {
            "origin_id": ["a", "a", "a", "b"],
            "destination_id": [1, 2, 3, 1],
            "minutes": [15.0, 15.1, 45.0, np.inf],
        }
    )
    w = pd.Series({1: 10.0, 2: 5.0, 3: 1.0})
    out = acc.cumulative_opportunities(od, weights=w, origins=["a", "b", "c"])
    assert out.columns.tolist() == ["within_15_minutes", "within_30_minutes", "within_45_minutes"]
    assert out.loc["a"].tolist() == [10.0, 15.0, 16.0]
    assert out.loc["b"].tolist() == [0.0, 0.0, 0.0]
    assert out.loc["c"].tolist() == [0.0, 0.0, 0.0]
    counts = acc.cumulative_opportunities(od, thresholds_minutes=[7.5, 100])
    assert counts.columns.tolist() == ["within_7.5_minutes", "within_100_minutes"]
    assert counts["within_100_minutes"].tolist() == [3.0, 0.0]


def test_gravity_without_decay_is_total_opportunities_and_exponential_by_hand():
    od = _complete(7, 5)
    w = pd.Series({f"d{j}": float(j + 1) for j in range(5)})
    g = acc.gravity(od, weights=w, decay=acc.none())
    np.testing.assert_array_equal(g.to_numpy(), np.full(7, w.sum()))
    small = pd.DataFrame({"origin_id": ["a", "a", "b"], "destination_id": [1, 2, 2], "minutes": [0.0, 60.0, np.inf]})
    g = acc.gravity(small, weights=pd.Series({1: 4.0, 2: 8.0}), decay=acc.exponential())
    assert g.name == "gravity"
    assert g.to_dict() == {"a": 4.0 + 8.0 * 0.25, "b": 0.0}


def test_step_decay_gravity_equals_cumulative_opportunities():
    od, _, supply = _random_instance(3)
    cum = acc.cumulative_opportunities(od, thresholds_minutes=(10, 25.5, 60), weights=supply)
    for T, col in zip((10, 25.5, 60), cum.columns, strict=True):
        g = acc.gravity(od, weights=supply, decay=acc.step(max_minutes=T))
        np.testing.assert_array_equal(g.to_numpy(), cum[col].to_numpy())


def test_larger_cutoff_never_lowers_cumulative_and_new_opportunity_never_lowers_gravity():
    rng = np.random.default_rng(42)
    for seed in range(25):
        od, _, supply = _random_instance(seed, n_origins=12, n_dest=8, p=0.6)
        thresholds = np.sort(rng.uniform(0, 70, 4))
        cum = acc.cumulative_opportunities(od, thresholds_minutes=thresholds, weights=supply)
        assert (np.diff(cum.to_numpy(), axis=1) >= 0).all()
        decay = acc.exponential(half_life_minutes=float(rng.uniform(5, 60)))
        before = acc.gravity(od, weights=supply, decay=decay)
        more = supply.copy()
        more.iloc[int(rng.integers(len(more)))] += 1.0
        after = acc.gravity(od, weights=more, decay=decay)
        assert (after.to_numpy() >= before.to_numpy()).all()
        assert (after > before).any()


def test_custom_decay_is_checked():
    od = _complete(2, 2)
    with pytest.raises(InputError, match=r"decay must be a callable"):
        acc.gravity(od, decay=30)
    with pytest.raises(InputError, match=r"must be vectorised; wrap a scalar function with numpy.vectorize"):
        acc.gravity(od, decay=lambda t: 1.0)
    with pytest.raises(InputError, match=r"decay returned 4 weight\(s\) that are negative"):
        acc.gravity(od, decay=lambda t: -t)
    # a vectorised PySAL-style scalar function works once wrapped
    g = acc.gravity(od, decay=np.vectorize(lambda t: 1.0 if t <= 40 else 0.0))
    np.testing.assert_array_equal(g.to_numpy(), acc.gravity(od, decay=acc.step(max_minutes=40)).to_numpy())


# --------------------------------------------------------------------------- floating catchments


def test_two_step_fca_unlimited_catchment_is_total_supply_over_total_demand():
    od = _complete(6, 4, seed=5)
    demand = pd.Series({f"o{i}": float(10 * (i + 1)) for i in range(6)})
    supply = pd.Series({"d0": 3.0, "d1": 0.0, "d2": 7.0, "d3": 2.0})
    out = acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=math.inf)
    np.testing.assert_allclose(out.to_numpy(), 12.0 / 210.0, rtol=1e-14)
    assert out.name == "two_step_fca" and out.index.tolist() == demand.index.tolist()
    norm = acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=math.inf, normalize=True)
    np.testing.assert_allclose(norm.to_numpy(), 1.0, rtol=1e-14)


def test_two_step_fca_small_case_by_hand():
    # d1 (6 places) is within 30 min of a (100) and b (200): R = 6/300 = 0.02.
    # d2 (1 place) is reached only at 50 min: outside the catchment.
    od = pd.DataFrame(
        {"origin_id": ["a", "b", "b", "c"], "destination_id": [1, 1, 2, 2], "minutes": [10.0, 30.0, 50.0, np.inf]}
    )
    out = acc.two_step_fca(
        od, supply=pd.Series({1: 6.0, 2: 1.0}), demand=pd.Series({"a": 100.0, "b": 200.0, "d": 5.0}), max_minutes=30
    )
    # demand origins first, then the other origins of the table; nothing reached -> 0
    assert out.to_dict() == {"a": 0.02, "b": 0.02, "d": 0.0, "c": 0.0}


def test_two_step_fca_origins_select_rows_but_all_demand_competes():
    od, demand, supply = _random_instance(8)
    full = acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=30)
    sub = acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=30, origins=["o3", "o1", "nowhere"])
    assert sub.index.tolist() == ["o3", "o1", "nowhere"]
    assert sub.tolist() == [full["o3"], full["o1"], 0.0]


@pytest.fixture(scope="module")
def pysal_instance():
    access = pytest.importorskip("access")
    od, demand, supply = _random_instance(2024, n_origins=60, n_dest=25, p=0.5)
    # whole minutes, so that times fall exactly on the cut-offs and zone bounds
    od["minutes"] = od["minutes"].round()
    assert od["minutes"].isin([10.0, 20.0, 30.0, 45.0]).sum() > 20
    model = access.Access(
        demand_df=demand.rename("pop").rename_axis("geoid").to_frame(),
        demand_index=True,
        demand_value="pop",
        supply_df=supply.rename("doc").rename_axis("geoid").to_frame(),
        supply_index=True,
        supply_value="doc",
        cost_df=od,
        cost_origin="origin_id",
        cost_dest="destination_id",
        cost_name="minutes",
    )
    return model, od, demand, supply


def _same(ours: pd.Series, theirs: pd.Series) -> None:
    # access leaves origins reaching no supply as NaN; ours reports 0
    theirs = theirs.reindex(ours.index)
    assert theirs.notna().sum() > 0.8 * len(theirs)
    np.testing.assert_allclose(ours.to_numpy(), theirs.fillna(0.0).to_numpy(), rtol=1e-9, atol=0)


@pytest.mark.parametrize("max_minutes", [20.0, 30.0, 45.0])
def test_two_step_fca_matches_pysal_access(pysal_instance, max_minutes):
    model, od, demand, supply = pysal_instance
    theirs = model.two_stage_fca(name=f"t{max_minutes:g}", max_cost=max_minutes)[f"t{max_minutes:g}_doc"]
    _same(acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=max_minutes), theirs)


def test_two_step_fca_with_decay_and_normalisation_matches_pysal_access(pysal_instance):
    from access import weights

    model, od, demand, supply = pysal_instance
    theirs = model.two_stage_fca(name="g", max_cost=40, weight_fn=weights.gaussian(15))["g_doc"]
    ours = acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=40, decay=acc.gaussian(sigma_minutes=15))
    _same(ours, theirs)
    theirs = model.two_stage_fca(name="n", max_cost=30, normalize=True)["n_doc"]
    ours = acc.two_step_fca(od, supply=supply, demand=demand, max_minutes=30, normalize=True)
    _same(ours, theirs)


def test_enhanced_two_step_fca_matches_pysal_access(pysal_instance):
    from access import weights

    model, od, demand, supply = pysal_instance
    theirs = model.enhanced_two_stage_fca(name="e")["e_doc"]  # default zones, no max_cost
    ours = acc.enhanced_two_step_fca(od, supply=supply, demand=demand)
    assert ours.name == "enhanced_two_step_fca"
    _same(ours, theirs)
    zones = {20: 1.0, 40: 0.68, 60: 0.22}
    theirs = model.enhanced_two_stage_fca(name="z", max_cost=50, weight_fn=weights.step_fn(zones))["z_doc"]
    _same(acc.enhanced_two_step_fca(od, supply=supply, demand=demand, max_minutes=50, zones=zones), theirs)


def test_enhanced_two_step_fca_by_hand():
    od = pd.DataFrame({"origin_id": ["a", "b", "c"], "destination_id": [1, 1, 1], "minutes": [5.0, 15.0, 25.0]})
    demand = pd.Series({"a": 100.0, "b": 100.0, "c": 100.0})
    out = acc.enhanced_two_step_fca(od, supply=pd.Series({1: 190.0}), demand=demand)
    # catchment demand = 100 * (1 + 0.68 + 0.22) = 190 -> R = 1
    np.testing.assert_allclose(out.to_numpy(), [1.0, 0.68, 0.22], rtol=1e-14)


# --------------------------------------------------------------------------- diversity


def test_diversity_one_category_and_k_equal_categories():
    od = pd.DataFrame(
        {
            "origin_id": ["a", "a", "b", "b", "b", "b", "c"],
            "destination_id": [1, 2, 1, 2, 3, 4, 4],
            "minutes": [5.0, 9.0, 1.0, 1.0, 1.0, 1.0, np.inf],
        }
    )
    cats = pd.Series({1: "bank", 2: "bank", 3: "port", 4: "law"})
    div = acc.diversity(od, categories=cats, decay=acc.none(), origins=["a", "b", "c"])
    assert div.columns.tolist() == list(acc.DIVERSITY_COLUMNS)
    assert div.loc["a"].tolist() == [0.0, 0.0, 1.0, 1.0]  # one category: Hill 1, evenness 0
    # b: bank 2/4, port 1/4, law 1/4
    h = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    np.testing.assert_allclose(div.loc["b"].tolist(), [h, h / math.log(3), math.exp(h), 3.0])
    assert div.loc["c"].tolist() == [0.0, 0.0, 0.0, 0.0]  # reaches nothing
    # k equal categories (weights make them equal) -> Hill k and evenness 1
    w = pd.Series({1: 1.0, 2: 1.0, 3: 2.0, 4: 2.0})
    even = acc.diversity(od, categories=cats, decay=acc.none(), weights=w)
    np.testing.assert_allclose(even.loc["b"].tolist(), [math.log(3), 1.0, 3.0, 3.0], rtol=1e-14)


def test_diversity_decay_and_taxonomy_size():
    # two categories at equal weight out of a four-category taxonomy
    od = pd.DataFrame({"origin_id": ["a", "a", "a"], "destination_id": [1, 2, 3], "minutes": [0.0, 30.0, 60.0]})
    cats = pd.Series(pd.Categorical(["x", "y", "y"], categories=list("wxyz")), index=[1, 2, 3])
    div = acc.diversity(od, categories=cats, decay=acc.step(max_minutes=45))
    np.testing.assert_allclose(div.loc["a"].tolist(), [math.log(2), 0.5, 2.0, 2.0], rtol=1e-14)
    # exponential decay: shares 1 : (0.5 + 0.25)
    div = acc.diversity(od, categories=cats, decay=acc.exponential())
    p = np.array([1.0, 0.75]) / 1.75
    h = -(p * np.log(p)).sum()
    np.testing.assert_allclose(div.loc["a", "hill_1"], math.exp(h), rtol=1e-14)


# --------------------------------------------------------------------------- zones, equity


def test_aggregate_weighted_mean_per_zone():
    values = pd.DataFrame(
        {"x": [10.0, 20.0, 5.0, np.inf, 7.0], "y": [1.0, 2.0, 3.0, 4.0, 5.0]},
        index=pd.Index(list("abcde"), name="origin_id"),
    )
    zone = pd.Series({"a": "Z1", "b": "Z1", "c": "Z2", "d": "Z2", "e": "Z3"})
    pop = pd.Series({"a": 3.0, "b": 1.0, "c": 2.0, "d": 0.0, "e": 0.0})
    out = acc.aggregate(values, zone_of_origin=zone, weights=pop, zones=["Z1", "Z2", "Z3"])
    assert out.index.name == "zone_id"
    assert out["x"].tolist()[:2] == [12.5, 5.0]  # inf at zero weight is left out
    assert out["y"].tolist()[:2] == [1.25, 3.0]
    assert out.loc["Z3"].isna().all()  # no weight: no average resident
    smes = pd.Series({"d": 1.0})  # origins missing from weights weigh 0
    s = acc.aggregate(values["y"], zone_of_origin=zone, weights=smes)
    assert s.to_dict() == {"Z2": 4.0} and s.name == "y"


def test_gini_closed_forms():
    assert acc.gini([3, 3, 3, 3, 3]) == 0.0
    for n in (2, 5, 10):
        assert acc.gini([0] * (n - 1) + [7]) == pytest.approx((n - 1) / n, rel=1e-14)
    # weighted one-holder: 1 - population share of the holder
    assert acc.gini([0, 0, 5], weights=[2, 5, 3]) == pytest.approx(0.7, rel=1e-14)
    assert acc.gini([0, 0, 0]) == 0.0
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.uniform(0, 10, 12)
        w = rng.integers(0, 5, 12)
        w[0] += 1
        pairwise = (np.outer(w, w) * np.abs(x[:, None] - x[None, :])).sum() / (2 * w.sum() * (w * x).sum())
        assert acc.gini(x, weights=w) == pytest.approx(pairwise, rel=1e-12)
        assert acc.gini(x, weights=w) == pytest.approx(acc.gini(np.repeat(x, w)), rel=1e-12)


def test_gini_and_palma_align_series_by_index():
    v = pd.Series({"a": 0.0, "b": 5.0, "c": 0.0})
    w = pd.Series({"c": 5.0, "b": 3.0, "a": 2.0, "zz": 100.0})
    assert acc.gini(v, weights=w) == pytest.approx(0.7, rel=1e-14)


def test_palma_hand_cases():
    assert acc.palma(range(1, 11)) == 1.0  # top 10 / bottom (1 + 2 + 3 + 4)
    # 4 people at 1, 1 at 9: bottom 40 % = 2 people at 1 = 2; top 10 % = half of the 9-holder
    assert acc.palma([1, 9], weights=[4, 1]) == pytest.approx(4.5 / 2.0, rel=1e-14)
    assert acc.palma([2, 2, 2]) == pytest.approx(0.25, rel=1e-14)
    assert acc.palma([0, 0, 0, 0]) == 0.25  # all zero: perfect equality
    assert acc.palma([0, 0, 0, 0, 1]) == math.inf


# --------------------------------------------------------------------------- errors


def test_od_errors():
    good = _complete(2, 2)
    with pytest.raises(MissingColumnError, match=r"od has no column\(s\) \['minutes'\]"):
        acc.gravity(good.rename(columns={"minutes": "time"}), decay=acc.none())
    with pytest.raises(InputError, match=r"od must be a pandas DataFrame"):
        acc.nearest_minutes(good.to_numpy())
    bad = good.copy()
    bad.loc[0, "minutes"] = -2.0
    bad.loc[1, "minutes"] = np.nan
    with pytest.raises(
        InputError, match=r"1 minutes value\(s\) are NaN.*; 1 minutes value\(s\) are negative \(e.g. -2\)"
    ):
        acc.cumulative_opportunities(bad)
    dup = pd.concat([good, good.iloc[[0]]])
    with pytest.raises(
        InputError, match=r"1 \(origin_id, destination_id\) pair\(s\) are repeated \(e.g. \('o0', 'd0'\)\)"
    ):
        acc.nearest_minutes(dup)
    with pytest.raises(InputError, match=r"od\['minutes'\] must be numeric"):
        acc.nearest_minutes(good.assign(minutes=good["minutes"].astype(str)))
    with pytest.raises(InputError, match=r"origins has repeated identifiers \['o0'\]"):
        acc.nearest_minutes(good, origins=["o0", "o0"])


def test_weight_supply_demand_and_category_errors():
    od = _complete(2, 2)
    with pytest.raises(InputError, match=r"weights shares no destination_id with the travel-time table"):
        acc.gravity(od, weights=pd.Series([1.0, 2.0]), decay=acc.none())
    with pytest.raises(InputError, match=r"weights has 1 value\(s\) that are negative"):
        acc.gravity(od, weights=pd.Series({"d0": -1.0}), decay=acc.none())
    with pytest.raises(InputError, match=r"weights must be a pandas Series indexed by destination_id"):
        acc.gravity(od, weights=[1.0, 2.0], decay=acc.none())
    with pytest.raises(InputError, match=r"demand has repeated origin_id\(s\) \['o0'\]"):
        acc.two_step_fca(
            od, supply=pd.Series({"d0": 1.0}), demand=pd.Series([1.0, 2.0], index=["o0", "o0"]), max_minutes=30
        )
    with pytest.raises(InputError, match=r"supply has 1 value\(s\) .* NaN"):
        acc.two_step_fca(od, supply=pd.Series({"d0": np.nan}), demand=pd.Series({"o0": 1.0}), max_minutes=30)
    with pytest.raises(InputError, match=r"max_minutes must be a number > 0, got 0; use math.inf"):
        acc.two_step_fca(od, supply=pd.Series({"d0": 1.0}), demand=pd.Series({"o0": 1.0}), max_minutes=0)
    with pytest.raises(InputError, match=r"normalize must be True or False"):
        acc.two_step_fca(
            od, supply=pd.Series({"d0": 1.0}), demand=pd.Series({"o0": 1.0}), max_minutes=10, normalize="yes"
        )
    with pytest.raises(InputError, match=r"categories has 1 missing value"):
        acc.diversity(od, categories=pd.Series({"d0": "a", "d1": None}), decay=acc.none())
    with pytest.raises(InputError, match=r"categories shares no destination_id"):
        acc.nearest_minutes(od, categories=pd.Series({"x": "a"}))
    with pytest.raises(InputError, match=r"thresholds_minutes must be non-empty and distinct"):
        acc.cumulative_opportunities(od, thresholds_minutes=(15, 15))
    with pytest.raises(InputError, match=r"thresholds_minutes must be a finite number >= 0, got inf"):
        acc.cumulative_opportunities(od, thresholds_minutes=(15, math.inf))
    with pytest.raises(InputError, match=r"thresholds_minutes must be an iterable"):
        acc.cumulative_opportunities(od, thresholds_minutes=30)


def test_aggregate_and_equity_errors():
    v = pd.Series({"a": 1.0, "b": 2.0})
    with pytest.raises(InputError, match=r"zone_of_origin has no zone for 1 origin\(s\) of values \(e.g. \['b'\]\)"):
        acc.aggregate(v, zone_of_origin=pd.Series({"a": "Z"}), weights=pd.Series({"a": 1.0}))
    with pytest.raises(InputError, match=r"values has 1 NaN value"):
        acc.aggregate(pd.Series({"a": np.nan}), zone_of_origin=pd.Series({"a": "Z"}), weights=pd.Series({"a": 1.0}))
    with pytest.raises(InputError, match=r"gini: values must be finite and >= 0 \(found -1.0\)"):
        acc.gini([1, -1])
    with pytest.raises(InputError, match=r"palma: values must be finite and >= 0 \(found inf\)"):
        acc.palma([1, np.inf])
    with pytest.raises(InputError, match=r"gini: values is empty"):
        acc.gini([])
    with pytest.raises(InputError, match=r"gini: weights has 1 values for 2 values"):
        acc.gini([1, 2], weights=[1])
    with pytest.raises(InputError, match=r"palma: weights must be finite, >= 0 and not all 0"):
        acc.palma([1, 2], weights=[0, 0])
    with pytest.raises(InputError, match=r"gini: weights has no weight for some values \(e.g. \['b'\]\)"):
        acc.gini(v, weights=pd.Series({"a": 1.0}))
