"""Incubator site selection: candidates, criteria, ranking, Pareto front, MCLP and p-median.

Hand-checked tiny instances, agreement with spopt (PuLP + its bundled CBC) on random
ones, and the default territory's real polygons for the candidate generators.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from proximity import accessibility, datasets, layers, siting
from proximity.errors import (
    ConfigError,
    CRSError,
    DataFileError,
    InputError,
    LayerValidationError,
    MissingColumnError,
    ProximityError,
)

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_200_000.0
HERAULT_BOX = (2.30, 43.00, 4.70, 44.20)


def long_table(rows: dict[str, dict[object, float]]) -> pd.DataFrame:
    """{candidate: {demand: minutes}} -> long table (absent pairs absent)."""
    recs = [(c, d, m) for c, ds in rows.items() for d, m in ds.items()]
    return pd.DataFrame(recs, columns=["origin_id", "destination_id", "minutes"])


def dense_table(cost: np.ndarray, *, cut: float | None = None) -> pd.DataFrame:
    """cost[demand, candidate] -> long table, candidates 'c0'..; pairs beyond ``cut`` dropped."""
    nd, nc = cost.shape
    od = pd.DataFrame(
        {
            "origin_id": np.repeat([f"c{j}" for j in range(nc)], nd),
            "destination_id": np.tile(np.arange(nd), nc),
            "minutes": cost.T.ravel(),
        }
    )
    return od if cut is None else od[od["minutes"] <= cut].reset_index(drop=True)


def random_cost(seed: int, nc: int = 12, nd: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 60, (nc, 2))
    d = rng.uniform(0, 60, (nd, 2))
    cost = np.hypot(d[:, None, 0] - c[None, :, 0], d[:, None, 1] - c[None, :, 1])
    return cost, rng.integers(1, 20, nd).astype(float)


# ----------------------------------------------------------------------------- hand instance
# 3 candidates x 5 demand points (+ 6: reached by nobody, 7: weight 0)
#        d1   d2   d3   d4   d5
#   A     5    8   25   40    -
#   B    20    9    7   12   30
#   C     -   30   15    6    4
HAND = long_table(
    {
        "A": {1: 5.0, 2: 8.0, 3: 25.0, 4: 40.0},
        "B": {1: 20.0, 2: 9.0, 3: 7.0, 4: 12.0, 5: 30.0},
        "C": {2: 30.0, 3: 15.0, 4: 6.0, 5: 4.0, 7: 1.0},
    }
)
HAND_W = pd.Series({1: 4.0, 2: 3.0, 3: 2.0, 4: 2.0, 5: 6.0, 6: 1.0, 7: 0.0})


@pytest.mark.parametrize(
    ("p", "sites", "objective"), [(1, ["C"], 8.0), (2, ["A", "C"], 15.0), (3, ["A", "B", "C"], 17.0)]
)
def test_maximal_covering_hand_optimum(p, sites, objective):
    # T = 10: A covers {1, 2} (7), B {2, 3} (5), C {4, 5} (8)
    r = siting.maximal_covering(HAND, demand_weights=HAND_W, p=p, max_minutes=10)
    assert list(r.sites) == sites
    assert r.objective == objective
    assert r.served_weight == objective
    assert r.total_weight == 18.0
    assert r.served_share == pytest.approx(objective / 18.0)
    assert r.status == "optimal" and r.mip_gap == 0.0
    assert r.dual_bound == pytest.approx(objective)
    assert r.solver == ("enumeration" if p in (1, 3) else "highs")
    assert list(r.unreachable) == [6]  # 6 has no pair; 7 has weight 0
    assert math.isnan(r.penalty_minutes) and r.max_minutes == 10.0


def test_maximal_covering_assignment_table():
    r = siting.maximal_covering(HAND, demand_weights=HAND_W, p=2, max_minutes=10)
    a = r.assignment
    assert list(a.index) == [1, 2, 3, 4, 5, 6, 7]
    assert a["site_id"].tolist()[:5] == ["A", "A", "C", "C", "C"]  # d3: C (15) nearer than A (25)
    assert a["minutes"].tolist() == [5.0, 8.0, 15.0, 6.0, 4.0, math.inf, 1.0]
    assert a["served"].tolist() == [True, True, False, True, True, False, True]
    assert pd.isna(a.loc[6, "site_id"])
    assert a["weight"].tolist() == HAND_W.tolist()
    assert r.per_site.loc["A", "demand_points"] == 2 and r.per_site.loc["A", "demand_weight"] == 7.0
    assert r.per_site.loc["C", "demand_weight"] == 8.0  # d4, d5, and d7 with weight 0
    assert r.per_site.loc["C", "demand_points"] == 3
    assert r.per_site.loc["A", "mean_minutes"] == pytest.approx((4 * 5 + 3 * 8) / 7)


@pytest.mark.parametrize(
    ("p", "sites", "objective"),
    # penalty = longest time in the table = 40; p=1: A 414, B 325, C 316
    [(1, ["C"], 316.0), (2, ["A", "C"], 110.0), (3, ["A", "B", "C"], 94.0)],
)
def test_p_median_hand_optimum(p, sites, objective):
    r = siting.p_median(HAND, demand_weights=HAND_W, p=p)
    assert list(r.sites) == sites
    assert r.objective == pytest.approx(objective)
    assert r.penalty_minutes == 40.0
    assert r.status == "optimal" and r.mip_gap == 0.0
    assert list(r.unreachable) == [6]


def test_p_median_assignment_and_means():
    r = siting.p_median(HAND, demand_weights=HAND_W, p=2)
    a = r.assignment
    assert a["site_id"].tolist()[:5] == ["A", "A", "C", "C", "C"]
    assert a["minutes"].tolist()[:5] == [5.0, 8.0, 15.0, 6.0, 4.0]
    assert a["served"].tolist() == [True, True, True, True, True, False, True]
    assert r.served_weight == 17.0
    assert r.mean_minutes == pytest.approx(110.0 / 17.0)
    assert r.per_site.loc["C", "mean_minutes"] == pytest.approx((2 * 15 + 2 * 6 + 6 * 4) / 10)


def test_p_median_penalty_caps_times():
    # P = 10: pairs longer than 10 min are never used; p=1: A 144, B 161, C 126
    r = siting.p_median(HAND, demand_weights=HAND_W, p=1, penalty_minutes=10)
    assert list(r.sites) == ["C"] and r.objective == pytest.approx(126.0)
    assert r.assignment["served"].tolist()[:5] == [False, False, False, True, True]
    r2 = siting.p_median(HAND, demand_weights=HAND_W, p=2, penalty_minutes=10)
    # A+C: d1 5, d2 8, d3 P, d4 6, d5 4 -> 20 + 24 + 20 + 12 + 24
    assert list(r2.sites) == ["A", "C"] and r2.objective == pytest.approx(100.0)
    # a demand point whose every pair exceeds P is out of reach
    r3 = siting.p_median(HAND, demand_weights=HAND_W, p=1, penalty_minutes=4.5)
    assert sorted(r3.unreachable) == [1, 2, 3, 4, 6]


def test_unreachable_pairs_never_break_the_models():
    # a candidate that reaches nothing, inf rows, a demand point reached by nobody
    od = pd.concat(
        [HAND, pd.DataFrame({"origin_id": ["B", "D"], "destination_id": [6, 1], "minutes": [math.inf, math.inf]})],
        ignore_index=True,
    )
    cands = ["A", "B", "C", "D"]
    r = siting.p_median(od, demand_weights=HAND_W, p=4, candidates=cands)
    assert list(r.sites) == cands and r.objective == pytest.approx(94.0)
    r = siting.p_median(od, demand_weights=HAND_W, p=2, candidates=cands)
    assert list(r.sites) == ["A", "C"]
    m = siting.maximal_covering(od, demand_weights=HAND_W, p=2, max_minutes=10, candidates=cands)
    assert m.objective == 15.0
    # only unreachable demand: every site is as good, the objective is 0
    lone = pd.DataFrame({"origin_id": ["A", "B"], "destination_id": [1, 1], "minutes": [50.0, 60.0]})
    r = siting.maximal_covering(lone, demand_weights=None, p=2, max_minutes=10)
    assert r.objective == 0.0 and list(r.unreachable) == [1] and r.status == "optimal"


def test_integer_candidate_ids_stay_integers():
    od = HAND.assign(origin_id=HAND["origin_id"].map({"A": 10, "B": 20, "C": 30}))
    r = siting.p_median(od, demand_weights=HAND_W, p=2)
    assert list(r.sites) == [10, 30]
    assert r.assignment["site_id"].dtype == "Int64"
    assert r.assignment["site_id"].tolist()[:5] == [10, 10, 30, 30, 30] and pd.isna(r.assignment.loc[6, "site_id"])


def test_default_weights_and_candidate_subset():
    r = siting.maximal_covering(HAND, demand_weights=None, p=1, max_minutes=10)
    # unit weights on the table's destinations 1,2,3,4,5,7: A {1,2}, B {2,3}, C {4,5,7}
    assert list(r.sites) == ["C"] and r.objective == 3.0
    assert list(r.assignment.index) == [1, 2, 3, 4, 5, 7]
    r = siting.maximal_covering(HAND, demand_weights=HAND_W, p=1, max_minutes=10, candidates=["A", "B"])
    assert list(r.sites) == ["A"] and r.objective == 7.0


# ----------------------------------------------------------------------------- spopt agreement
pytestmark_spopt = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 3.3 v4-migration notices


def _spopt():
    """spopt's MCLP and PMedian, and PuLP's bundled CBC (works offline)."""
    locate = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    return locate.MCLP, locate.PMedian, pulp.PULP_CBC_CMD(msg=False)


@pytestmark_spopt
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_maximal_covering_matches_spopt(seed, p):
    MCLP, _, cbc = _spopt()
    cost, w = random_cost(seed)
    ref = MCLP.from_cost_matrix(cost, w, service_radius=15.0, p_facilities=p).solve(cbc)
    ours = siting.maximal_covering(dense_table(cost), demand_weights=pd.Series(w), p=p, max_minutes=15.0, mip_rel_gap=0)
    assert ours.objective == pytest.approx(ref.problem.objective.value(), rel=1e-9)
    assert ours.status == "optimal" and len(ours.sites) == p
    # the same model on a table cut at 15 minutes (absent pairs = not coverable)
    cut = siting.maximal_covering(
        dense_table(cost, cut=15.0),
        demand_weights=pd.Series(w),
        p=p,
        max_minutes=15.0,
        mip_rel_gap=0,
        candidates=[f"c{j}" for j in range(cost.shape[1])],
    )
    assert cut.objective == pytest.approx(ours.objective, rel=1e-9)


@pytestmark_spopt
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_p_median_matches_spopt(seed, p):
    _, PMedian, cbc = _spopt()
    cost, w = random_cost(seed)
    ref = PMedian.from_cost_matrix(cost, w, p_facilities=p).solve(cbc)
    ours = siting.p_median(dense_table(cost), demand_weights=pd.Series(w), p=p, mip_rel_gap=0)
    assert ours.objective == pytest.approx(ref.problem.objective.value(), rel=1e-9)
    assert ours.mean_minutes == pytest.approx(ref.mean_dist, rel=1e-9)
    assert ours.status == "optimal" and ours.mip_gap == 0.0


@pytestmark_spopt
@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("p", [2, 4])
def test_censored_p_median_matches_spopt_on_capped_matrix(seed, p):
    """A table cut at T with penalty T is the p-median of min(cost, T), minus the unreachable points."""
    cost, w = random_cost(seed, nc=10, nd=50)
    cut = 12.0
    _, PMedian, cbc = _spopt()
    ref = PMedian.from_cost_matrix(np.minimum(cost, cut), w, p_facilities=p).solve(cbc)
    od = dense_table(cost, cut=cut)
    ours = siting.p_median(od, demand_weights=pd.Series(w), p=p, penalty_minutes=cut, mip_rel_gap=0)
    unreachable = (cost > cut).all(axis=1)
    assert unreachable.any()  # the instance does exercise the exclusion
    assert sorted(ours.unreachable) == np.flatnonzero(unreachable).tolist()
    assert ours.objective + w[unreachable].sum() * cut == pytest.approx(ref.problem.objective.value(), rel=1e-9)


def test_sweep_matches_single_solves_and_is_monotone():
    cost, w = random_cost(7, nc=10, nd=30)
    od, ws = dense_table(cost, cut=25.0), pd.Series(w)
    mc_res = siting.sweep(od, model="maximal_covering", demand_weights=ws, p_max=4, max_minutes=12.0, mip_rel_gap=0)
    pm_res = siting.sweep(od, model="p_median", demand_weights=ws, p_max=4, mip_rel_gap=0)
    mc, pm = mc_res.table, pm_res.table
    assert mc.index.tolist() == [1, 2, 3, 4] and mc.index.name == "p"
    assert (np.diff(mc["objective"]) >= -1e-9).all()
    assert (np.diff(pm["objective"]) <= 1e-9).all()
    assert mc_res.sites.groupby("p").size().tolist() == [1, 2, 3, 4] and list(mc_res.sites.columns) == ["p", "site_id"]
    for p in (2, 3):
        one = siting.maximal_covering(od, demand_weights=ws, p=p, max_minutes=12.0, mip_rel_gap=0)
        assert mc.loc[p, "objective"] == pytest.approx(one.objective)
        assert len(mc_res.sites_of(p)) == p
        one = siting.p_median(od, demand_weights=ws, p=p, mip_rel_gap=0)
        assert pm.loc[p, "objective"] == pytest.approx(one.objective)
        assert pm_res.sites_of(p) == one.sites.tolist()
    assert set(mc["status"]) == {"optimal"}


def test_time_limit_without_solution_falls_back_to_greedy(monkeypatch):
    def fake_milp(*args, **kwargs):
        return SimpleNamespace(status=1, x=None, mip_dual_bound=-16.0, mip_gap=None, message="time limit")

    monkeypatch.setattr(siting.location, "milp", fake_milp)
    r = siting.maximal_covering(HAND, demand_weights=HAND_W, p=2, max_minutes=10, time_limit_s=1)
    assert r.solver == "greedy" and r.status == "time_limit"
    assert list(r.sites) == ["A", "C"] and r.objective == 15.0  # greedy: C (8), then A (+7)
    assert r.dual_bound == 16.0 and r.mip_gap == pytest.approx(1 / 15)


def test_time_limit_keeps_the_better_of_incumbent_and_greedy(monkeypatch):
    def incumbent(sites):
        x = np.zeros(3 + 5)  # y for A, B, C then one z per modelled demand point
        x[["ABC".index(s) for s in sites]] = 1.0
        return lambda *a, **k: SimpleNamespace(status=1, x=x, mip_dual_bound=50.0, mip_gap=None, message="")

    monkeypatch.setattr(siting.location, "milp", incumbent("AB"))  # A+B: 262 (penalty 40), greedy C then A: 110
    r = siting.p_median(HAND, demand_weights=HAND_W, p=2, time_limit_s=1)
    assert r.solver == "greedy" and list(r.sites) == ["A", "C"] and r.objective == pytest.approx(110.0)
    assert r.mip_gap == pytest.approx(60 / 110)
    monkeypatch.setattr(siting.location, "milp", incumbent("AC"))
    r = siting.p_median(HAND, demand_weights=HAND_W, p=2, time_limit_s=1)
    assert r.solver == "highs" and r.status == "time_limit" and r.objective == pytest.approx(110.0)


def test_solver_failure_is_a_proximity_error(monkeypatch):
    monkeypatch.setattr(
        siting.location, "milp", lambda *a, **k: SimpleNamespace(status=2, x=None, message="infeasible")
    )
    with pytest.raises(ProximityError, match="could not solve the p_median model"):
        siting.p_median(HAND, demand_weights=HAND_W, p=2)


def test_time_limit_passes_through_to_highs():
    cost, w = random_cost(11, nc=30, nd=200)
    r = siting.p_median(dense_table(cost), demand_weights=pd.Series(w), p=3, time_limit_s=30)
    assert r.status == "optimal" and r.mip_gap <= 1e-4 and r.solver == "highs"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"p": 4}, InputError, r"p=4 is more than the 3 candidate"),
        ({"p": 0}, InputError, r"p must be an integer >= 1, got 0"),
        ({"p": True}, InputError, r"p must be an integer >= 1, got True"),
        ({"p": 1, "max_minutes": -1}, InputError, r"max_minutes must be a finite number >= 0"),
        ({"p": 1, "time_limit_s": 0}, InputError, r"time_limit_s must be a finite number > 0"),
        ({"p": 1, "mip_rel_gap": math.nan}, InputError, r"mip_rel_gap must be a finite number"),
        ({"p": 1, "demand_weights": [1, 2]}, InputError, r"demand_weights must be a pandas Series"),
        (
            {"p": 1, "demand_weights": pd.Series({1: -1.0})},
            InputError,
            r"demand_weights has 1 value\(s\) that are negative",
        ),
        ({"p": 1, "demand_weights": pd.Series({"x": 1.0})}, InputError, r"demand_weights shares no id with od"),
        ({"p": 1, "demand_weights": pd.Series([1.0, 2.0], index=[1, 1])}, InputError, r"demand_weights has repeated"),
        ({"p": 1, "demand_weights": pd.Series({1: "a"})}, InputError, r"demand_weights must be numeric"),
        ({"p": 1, "candidates": ["Z"]}, InputError, r"candidates shares no id with od\['origin_id'\]"),
        ({"p": 1, "candidates": "ABC"}, InputError, r"candidates must be an iterable of identifiers"),
    ],
)
def test_location_argument_errors(kwargs, exc, match):
    args = {"demand_weights": HAND_W, "max_minutes": 10.0, **kwargs}
    with pytest.raises(exc, match=match):
        siting.maximal_covering(HAND, **args)


@pytest.mark.parametrize(
    ("od", "exc", "match"),
    [
        ([1, 2], InputError, r"od must be a long travel-time table"),
        (HAND.rename(columns={"minutes": "t"}), MissingColumnError, r"od has no column\(s\) \['minutes'\]"),
        (HAND.assign(minutes=HAND["minutes"].astype(str)), InputError, r"od\['minutes'\] must be numeric"),
        (
            HAND.assign(minutes=np.r_[np.nan, HAND["minutes"].to_numpy()[1:]]),
            InputError,
            r"1 minutes value\(s\) are NaN",
        ),
        (HAND.assign(minutes=-HAND["minutes"]), InputError, r"are negative"),
        (pd.concat([HAND, HAND.iloc[:1]]), InputError, r"od repeats 1 \(origin_id, destination_id\) pair"),
        (HAND.assign(origin_id=None), InputError, r"missing origin_id or destination_id"),
    ],
)
def test_od_table_errors(od, exc, match):
    with pytest.raises(exc, match=match):
        siting.p_median(od, demand_weights=None, p=1)


def test_identifier_and_empty_table_errors():
    with pytest.raises(InputError, match=r"candidates has missing identifiers"):
        siting.p_median(HAND, demand_weights=None, p=1, candidates=["A", None])
    with pytest.raises(InputError, match=r"candidates has repeated identifiers \['A'\]"):
        siting.p_median(HAND, demand_weights=None, p=1, candidates=["A", "A"])
    with pytest.raises(InputError, match=r"there is no candidate site"):
        siting.p_median(HAND.iloc[:0], demand_weights=None, p=1)


def test_gap_without_a_dual_bound_or_with_a_zero_objective(monkeypatch):
    def fake(bound):
        return lambda *a, **k: SimpleNamespace(status=1, x=None, mip_dual_bound=bound, mip_gap=None, message="")

    lone = pd.DataFrame({"origin_id": ["A", "B", "C"], "destination_id": [1, 1, 1], "minutes": [50.0] * 3})
    monkeypatch.setattr(siting.location, "milp", fake(None))
    r = siting.maximal_covering(HAND, demand_weights=HAND_W, p=2, max_minutes=10)
    assert math.isnan(r.dual_bound) and math.isnan(r.mip_gap) and r.objective == 15.0
    monkeypatch.setattr(siting.location, "milp", fake(-0.0))
    r = siting.maximal_covering(lone, demand_weights=None, p=2, max_minutes=10)
    assert r.objective == 0.0 and r.mip_gap == 0.0
    monkeypatch.setattr(siting.location, "milp", fake(-1.0))
    r = siting.maximal_covering(lone, demand_weights=None, p=2, max_minutes=10)
    assert r.mip_gap == math.inf


def test_p_median_and_sweep_option_errors():
    with pytest.raises(InputError, match=r"penalty_minutes must be a finite number >= 0"):
        siting.p_median(HAND, demand_weights=HAND_W, p=1, penalty_minutes=math.inf)
    with pytest.raises(InputError, match=r"model must be 'maximal_covering' or 'p_median', got 'mclp'"):
        siting.sweep(HAND, model="mclp", demand_weights=None, p_max=2)
    with pytest.raises(InputError, match=r"needs max_minutes"):
        siting.sweep(HAND, model="maximal_covering", demand_weights=None, p_max=2)
    with pytest.raises(InputError, match=r"penalty_minutes is a p_median option"):
        siting.sweep(HAND, model="maximal_covering", demand_weights=None, p_max=2, max_minutes=5, penalty_minutes=5)
    with pytest.raises(InputError, match=r"max_minutes is a maximal_covering option"):
        siting.sweep(HAND, model="p_median", demand_weights=None, p_max=2, max_minutes=5)
    with pytest.raises(InputError, match=r"p=9 is more than the 3 candidate"):
        siting.sweep(HAND, model="p_median", demand_weights=None, p_max=9)


def test_models_on_a_traveltime_od_matrix():
    """The contract with proximity.traveltime: od_matrix(graph, candidates, smes) feeds the models."""
    from proximity import traveltime
    from proximity.network import graph_to_csr

    G = nx.MultiDiGraph(crs=L93)
    for i in range(6):  # a straight road, nodes 1 km apart, 60 s per km both ways
        G.add_node(i, x=X0 + 1000 * i, y=Y0)
        if i:
            G.add_edge(i - 1, i, travel_time=60.0, length=1000.0)
            G.add_edge(i, i - 1, travel_time=60.0, length=1000.0)
    csr = graph_to_csr(G)
    cands = gpd.GeoSeries([Point(X0, Y0), Point(X0 + 2000, Y0), Point(X0 + 5000, Y0)], index=["w", "m", "e"], crs=L93)
    smes = gpd.GeoSeries([Point(X0 + 1000 * i, Y0) for i in range(6)], index=[f"s{i}" for i in range(6)], crs=L93)
    od = traveltime.od_matrix(csr, cands, smes, max_minutes=2.0)
    r = siting.maximal_covering(od, demand_weights=None, p=1, max_minutes=2.0, candidates=cands)
    assert list(r.sites) == ["m"]  # at node 2, it reaches s0..s4 within 2 min; w and e reach 3
    assert r.objective == 5.0
    r = siting.p_median(od, demand_weights=None, p=2, candidates=cands, penalty_minutes=2.0)
    # {m, e}: 2 + 1 + 0 + 1 + 1 + 0; {w, e}: 6; {w, m}: 0 + 1 + 0 + 1 + 2 + penalty 2
    assert list(r.sites) == ["m", "e"] and r.objective == pytest.approx(5.0)


# ----------------------------------------------------------------------------- criteria
OD_SME = long_table(
    {
        "a": {1: 10.0, 2: 25.0, 3: 40.0},
        "b": {1: 30.0, 2: 5.0, 3: 5.0, 4: 20.0},
        "c": {4: 50.0},
    }
)


def test_site_criteria_values():
    airport = long_table({"a": {"MPL": 12.0, "BZR": 50.0}, "b": {"MPL": 35.0, "BZR": 30.0}})  # c: none
    support = long_table({"a": {"cci": 5.0, "univ": 20.0}, "b": {"univ": 10.0}, "c": {"cci": 60.0}})
    motorway = long_table({"a": {"x1": 3.0}, "b": {"x1": 9.0, "x2": 4.0}})
    out = siting.site_criteria(
        OD_SME,
        within_minutes=25,
        demand_weights=pd.Series({1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}),
        exporters=pd.Series({1: True, 2: False, 3: True, 4: True}),
        airport=airport,
        tgv=pd.Series({"a": 20.0, "b": 15.0, "c": 70.0}),
        motorway=motorway,
        support=support,
        support_weights=pd.Series({"cci": 2.0, "univ": 1.0}),
        support_decay=accessibility.exponential(half_life_minutes=10),
    )
    assert list(out.index) == ["a", "b", "c"]
    assert list(out.columns) == [
        "minutes_airport",
        "smes_within_t",
        "exporters_within_t",
        "support_within_t",
        "support_gravity",
        "minutes_tgv",
        "minutes_motorway",
    ]
    assert out["minutes_airport"].tolist() == [12.0, 30.0, math.inf]
    assert out["smes_within_t"].tolist() == [3.0, 9.0, 0.0]  # a: 1 + 2 (25 inclusive); b: 2 + 3 + 4
    assert out["exporters_within_t"].tolist() == [1.0, 2.0, 0.0]
    assert out["support_within_t"].tolist() == [3.0, 1.0, 0.0]
    assert out["support_gravity"].tolist() == pytest.approx([2 * 0.5**0.5 + 0.25, 0.5, 2 * 2.0**-6])
    assert out["minutes_tgv"].tolist() == [20.0, 15.0, 70.0]
    assert out["minutes_motorway"].tolist() == [3.0, 4.0, math.inf]
    assert out.attrs["within_minutes"] == 25.0


def test_site_criteria_candidates_and_series_inputs():
    sites = gpd.GeoDataFrame(geometry=[Point(3.9, 43.6)] * 4, index=["c", "a", "b", "z"], crs=4326)
    out = siting.site_criteria(OD_SME, airport=pd.Series({"a": 10.0, "b": 20}), candidates=sites)
    assert list(out.index) == ["c", "a", "b", "z"]
    assert out["minutes_airport"].tolist() == [math.inf, 10.0, 20.0, math.inf]
    assert out["smes_within_t"].tolist() == [0.0, 2.0, 4.0, 0.0]  # default t = 30 min
    assert list(out.columns) == ["minutes_airport", "smes_within_t"]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"within_minutes": -5}, InputError, r"within_minutes must be a finite number >= 0"),
        ({"airport": [1, 2]}, InputError, r"airport must be a long travel-time table .* or a Series of minutes"),
        ({"tgv": pd.Series({"a": np.nan})}, InputError, r"tgv has 1 NaN or negative minutes"),
        ({"tgv": pd.Series({"a": "x"})}, InputError, r"tgv must hold minutes"),
        ({"motorway": pd.Series({"q": 1.0})}, InputError, r"motorway shares no candidate id"),
        ({"tgv": pd.Series([1.0, 2.0], index=["a", "a"])}, InputError, r"tgv has repeated candidate ids"),
        ({"support_decay": accessibility.exponential()}, InputError, r"need support="),
        ({"exporters": [True]}, InputError, r"exporters must be a Series"),
        ({"airport": long_table({"a": {"MPL": 1.0}}).drop(columns="minutes")}, MissingColumnError, r"minutes"),
    ],
)
def test_site_criteria_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        siting.site_criteria(OD_SME, **kwargs)


def test_site_criteria_table_errors():
    with pytest.raises(InputError, match=r"od_demand must be a long travel-time table"):
        siting.site_criteria("od.csv")
    with pytest.raises(MissingColumnError, match=r"origin_id"):
        siting.site_criteria(OD_SME.drop(columns="origin_id"))


# ----------------------------------------------------------------------------- ranking
CRIT = pd.DataFrame(
    {
        "minutes_airport": [5.0, 15.0, 25.0, math.inf],
        "smes_within_t": [10.0, 30.0, 20.0, 30.0],
        "minutes_tgv": [10.0, 10.0, 10.0, 10.0],
    },
    index=["a", "b", "c", "d"],
)


def test_rank_sites_hand_scores():
    out = siting.rank_sites(CRIT, weights={"minutes_airport": 3, "smes_within_t": 1})
    # airport: a 1, b 0.5, c 0, d 0 (inf, not stretching the range); smes: a 0, b 1, c 0.5, d 1
    assert out["score_minutes_airport"].tolist() == [1.0, 0.5, 0.0, 0.0]
    assert out["score_smes_within_t"].tolist() == [0.0, 1.0, 0.5, 1.0]
    assert out["score"].tolist() == pytest.approx([0.75, 0.625, 0.125, 0.25])
    assert out["rank"].tolist() == [1, 2, 4, 3]
    assert list(out.index) == list(CRIT.index)
    assert out.attrs["weights"] == {"minutes_airport": 3.0, "smes_within_t": 1.0}
    assert "score_minutes_tgv" not in out  # not weighted
    assert CRIT.shape == (4, 3)  # input untouched


def test_rank_sites_defaults_ties_and_constant_columns():
    out = siting.rank_sites(CRIT)
    # default weights restricted to the columns present: airport 0.30, smes 0.20, tgv 0.10
    assert out.attrs["weights"] == {"minutes_airport": 0.30, "smes_within_t": 0.20, "minutes_tgv": 0.10}
    assert out["score_minutes_tgv"].tolist() == [1.0, 1.0, 1.0, 1.0]  # constant: does not separate
    assert out["score"]["a"] == pytest.approx((0.30 * 1 + 0.20 * 0 + 0.10) / 0.60)
    tie = siting.rank_sites(
        CRIT.iloc[:2].assign(smes_within_t=[30.0, 10.0]), weights={"minutes_airport": 1, "smes_within_t": 1}
    )
    assert tie["score"].tolist() == [1.0, 0.0] and tie["rank"].tolist() == [1, 2]
    tie = siting.rank_sites(CRIT.iloc[:2], weights={"minutes_airport": 1, "smes_within_t": 1})
    assert tie["score"].tolist() == [0.5, 0.5] and tie["rank"].tolist() == [1, 1]
    custom = siting.rank_sites(
        CRIT.assign(my_score=[1.0, 2.0, 3.0, 4.0]), weights={"my_score": 1}, directions={"my_score": "max"}
    )
    assert custom["rank"].tolist() == [4, 3, 2, 1]


def test_default_weights_are_documented_and_sum_to_one():
    assert sum(siting.DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    assert set(siting.DEFAULT_WEIGHTS) == set(siting.DEFAULT_DIRECTIONS)
    assert siting.DEFAULT_WEIGHTS["minutes_airport"] == max(siting.DEFAULT_WEIGHTS.values())


@pytest.mark.parametrize(
    ("weights", "directions", "exc", "match"),
    [
        ({"minutes_airprot": 1.0}, None, ConfigError, r"weights has unknown key\(s\) \['minutes_airprot'\]"),
        ({"minutes_airport": -1.0}, None, ConfigError, r"weights\['minutes_airport'\] must be a finite number >= 0"),
        ({"minutes_airport": "high"}, None, ConfigError, r"weights\['minutes_airport'\] must be a finite number"),
        ({"minutes_airport": 0.0}, None, ConfigError, r"weights must not all be 0"),
        ([("minutes_airport", 1.0)], None, ConfigError, r"weights must be a mapping"),
        ({"minutes_airport": 1.0}, {"minutes_airport": "lowest"}, ConfigError, r"must be 'min' or 'max', got 'lowest'"),
        ({"minutes_airport": 1.0}, {"nope": "min"}, ConfigError, r"directions has unknown key\(s\) \['nope'\]"),
        ({"minutes_airport": 1.0}, "min", ConfigError, r"directions must be a mapping"),
    ],
)
def test_rank_sites_config_errors(weights, directions, exc, match):
    with pytest.raises(exc, match=match):
        siting.rank_sites(CRIT, weights=weights, directions=directions)


def test_rank_sites_input_errors():
    with pytest.raises(ConfigError, match=r"no direction for criterion 'extra'"):
        siting.rank_sites(CRIT.assign(extra=1.0), weights={"extra": 1.0})
    with pytest.raises(ConfigError, match=r"criteria has none of the default criteria"):
        siting.rank_sites(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InputError, match=r"criteria\['smes_within_t'\] has 1 NaN value"):
        siting.rank_sites(CRIT.assign(smes_within_t=[1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(InputError, match=r"has infinite values but more is better"):
        siting.rank_sites(CRIT.assign(smes_within_t=[1.0, math.inf, 2.0, 3.0]))
    with pytest.raises(InputError, match=r"criteria\['minutes_airport'\] must be numeric"):
        siting.rank_sites(CRIT.assign(minutes_airport=list("wxyz")))
    with pytest.raises(InputError, match=r"criteria\['minutes_airport'\] has -inf values"):
        siting.rank_sites(CRIT.assign(minutes_airport=[-math.inf, 1.0, 2.0, 3.0]))
    with pytest.raises(InputError, match=r"criteria is empty"):
        siting.rank_sites(CRIT.iloc[:0])
    with pytest.raises(InputError, match=r"criteria must be a DataFrame"):
        siting.rank_sites(CRIT.to_numpy())


def test_pareto_front_hand_case():
    c = pd.DataFrame(
        {"minutes_airport": [5.0, 15.0, 25.0, 20.0, 5.0, math.inf], "smes_within_t": [10, 30, 20, 30, 10, 99]},
        index=list("abcdef"),
    )
    # a and e are equal (neither dominates the other); b beats c and d; f has the most SMEs
    front = siting.pareto_front(c)
    assert front.tolist() == [True, True, False, False, True, True]
    assert front.name == "pareto" and list(front.index) == list("abcdef")
    three = siting.pareto_front(
        c.assign(minutes_tgv=[50.0, 50.0, 1.0, 50.0, 50.0, 50.0]),
        minimise=["minutes_airport", "minutes_tgv"],
        maximise="smes_within_t",
    )
    assert three.tolist() == [True, True, True, False, True, True]
    only = siting.pareto_front(c, minimise="minutes_airport", maximise=[])
    assert only.tolist() == [True, False, False, False, True, False]


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(5)
    c = pd.DataFrame({"m": rng.integers(0, 8, 300).astype(float), "s": rng.integers(0, 8, 300).astype(float)})
    front = siting.pareto_front(c, minimise="m", maximise="s")
    m, s = c["m"].to_numpy(), c["s"].to_numpy()
    brute = [
        not any((m[j] <= m[i]) and (s[j] >= s[i]) and ((m[j] < m[i]) or (s[j] > s[i])) for j in range(300))
        for i in range(300)
    ]
    assert front.tolist() == brute


def test_pareto_front_errors():
    with pytest.raises(MissingColumnError, match=r"criteria has no column\(s\) \['smes_within_t'\]"):
        siting.pareto_front(CRIT.drop(columns="smes_within_t"))
    with pytest.raises(InputError, match=r"a column is named twice"):
        siting.pareto_front(CRIT, minimise="minutes_tgv", maximise="minutes_tgv")
    with pytest.raises(InputError, match=r"at least one column"):
        siting.pareto_front(CRIT, minimise=[], maximise=[])
    with pytest.raises(InputError, match=r"has 1 NaN"):
        siting.pareto_front(CRIT.assign(smes_within_t=[np.nan, 1.0, 2.0, 3.0]))


# ----------------------------------------------------------------------------- candidates
def _nn_distances(gdf: gpd.GeoDataFrame) -> np.ndarray:
    from scipy.spatial import cKDTree

    g = gdf.geometry.to_crs(L93)
    xy = np.c_[g.x, g.y]
    d, _ = cKDTree(xy).query(xy, k=2)
    return d[:, 1]


def test_grid_on_a_square_and_an_l_shape():
    square = gpd.GeoSeries([box(X0, Y0, X0 + 10_000, Y0 + 10_000)], crs=L93)
    g = siting.candidate_sites(kind="grid", territory_bounds_or_polygon=square, grid_spacing_m=2000)
    assert len(g) == 36  # 6 x 6, boundary included
    assert g.crs == "EPSG:4326" and list(g.columns) == ["id", "source", "name", "geometry"]
    assert g.index.is_unique and (g.index == g["id"]).all() and g.index[0] == "grid:700000_6200000"
    assert set(g["source"]) == {"grid"}
    assert _nn_distances(g) == pytest.approx(np.full(36, 2000.0), abs=1e-3)
    ell = shapely.union(box(X0, Y0, X0 + 10_000, Y0 + 4_000), box(X0, Y0, X0 + 4_000, Y0 + 10_000))
    g = siting.candidate_sites(
        kind="grid", territory_bounds_or_polygon=gpd.GeoSeries([ell], crs=L93), grid_spacing_m=2000
    )
    assert len(g) == 18 + 18 - 9
    assert ell.buffer(1e-3).contains(shapely.MultiPoint(g.geometry.to_crs(L93).to_numpy()))


def test_grid_on_the_herault_outline(real_data):
    outline = gpd.read_file(datasets.path("departement_outline"))
    g = siting.candidate_sites(kind="grid", territory_bounds_or_polygon=outline, grid_spacing_m=2000)
    poly = outline.to_crs(L93).union_all()
    pts = g.geometry.to_crs(L93)
    assert poly.buffer(1e-3).contains(shapely.MultiPoint(pts.to_numpy()))
    expected = poly.area / 2000**2  # about 1,560 lattice points in 6,235 km2
    assert abs(len(g) - expected) < 0.03 * expected
    assert _nn_distances(g).min() == pytest.approx(2000.0, abs=1e-3)
    assert ((pts.x % 2000).round(3) % 2000 == 0).all()  # lattice at multiples of the spacing


def test_grid_on_a_box_in_degrees():
    g = siting.candidate_sites(kind="grid", territory_bounds_or_polygon=(3.80, 43.55, 3.90, 43.62))
    b = g.total_bounds
    assert b[0] >= 3.80 and b[1] >= 43.55 and b[2] <= 3.90 and b[3] <= 43.62
    assert len(g) == 16


def test_business_parks_from_the_montpellier_zac_file(real_data):
    zac = gpd.read_file(datasets.path("montpellier_zac")).set_crs(L93, allow_override=True)  # no crs member
    with pytest.raises(LayerValidationError, match=r"index np.int64\(16\)\) have invalid geometries"):  # ZAC Ovalie
        siting.candidate_sites(kind="business_parks", territory_bounds_or_polygon=HERAULT_BOX, business_parks=zac)
    zac = zac.set_geometry(zac.geometry.make_valid())
    sites = siting.candidate_sites(
        kind="business_parks", territory_bounds_or_polygon=HERAULT_BOX, business_parks=zac, name_column="NOMZAC"
    )
    assert len(sites) == len(zac) == 35
    assert set(sites["source"]) == {"business_park"} and sites.index[0] == "park:0"
    polys = zac.to_crs(L93).geometry.to_numpy()
    pts = sites.geometry.to_crs(L93).to_numpy()
    assert all(poly.buffer(1e-6).contains(pt) for poly, pt in zip(polys, pts, strict=True))
    assert sites["name"].str.contains("Garosud").any()
    # read from the path, the missing crs member makes the Lambert-93 metres look like degrees
    with pytest.raises(LayerValidationError, match=r"coordinates look projected"):
        siting.candidate_sites(
            kind="business_parks",
            territory_bounds_or_polygon=HERAULT_BOX,
            business_parks=datasets.path("montpellier_zac"),
        )


def test_municipality_centres_inside_their_communes(real_data):
    communes = layers.municipalities()
    sites = siting.candidate_sites(
        kind="municipalities", territory_bounds_or_polygon=HERAULT_BOX, municipalities=communes
    )
    assert len(sites) == len(communes) == 341
    assert sites.loc["municipality:34172", "name"] == "Montpellier"
    polys = communes.to_crs(L93).geometry.to_numpy()
    pts = sites.geometry.to_crs(L93).to_numpy()
    assert all(poly.buffer(1e-6).contains(pt) for poly, pt in zip(polys, pts, strict=True))
    near = siting.candidate_sites(
        kind="municipalities", territory_bounds_or_polygon=(3.80, 43.55, 3.95, 43.65), municipalities=communes
    )
    assert 0 < len(near) < 20 and "municipality:34172" in near.index


def test_one_function_per_candidate_source_equals_candidate_sites(real_data, tmp_path):
    communes = layers.municipalities()
    box_ = (3.80, 43.55, 3.95, 43.65)
    parks = communes.loc[["34172", "34057"]].rename(columns={"name": "label"})  # two polygons as "parks"
    f = tmp_path / "sites.csv"
    f.write_text("id,name,lon,lat\nfrej,Fréjorgues,3.963,43.576\n", encoding="utf-8")
    pairs = [
        (
            siting.candidates_from_grid(box_, grid_spacing_m=3000),
            siting.candidate_sites(kind="grid", territory_bounds_or_polygon=box_, grid_spacing_m=3000),
        ),
        (
            siting.candidates_from_municipalities(communes, box_),
            siting.candidate_sites(kind="municipalities", territory_bounds_or_polygon=box_, municipalities=communes),
        ),
        (
            siting.candidates_from_business_parks(parks, HERAULT_BOX, name_column="label"),
            siting.candidate_sites(
                kind="business_parks",
                territory_bounds_or_polygon=HERAULT_BOX,
                business_parks=parks,
                name_column="label",
            ),
        ),
        (
            siting.candidates_from_file(f, HERAULT_BOX),
            siting.candidate_sites(kind="user", territory_bounds_or_polygon=HERAULT_BOX, user_file=f),
        ),
    ]
    for one, via_kind in pairs:
        pd.testing.assert_frame_equal(
            pd.DataFrame(one.drop(columns="geometry")), pd.DataFrame(via_kind.drop(columns="geometry"))
        )
        assert one.geometry.geom_equals_exact(via_kind.geometry, tolerance=0).all()
    assert len(pairs[0][0]) == 16 and pairs[2][0]["name"].tolist() == ["Montpellier", "Castelnau-le-Lez"]
    assert pairs[3][0].index.tolist() == ["user:frej"]
    with pytest.raises(InputError, match="grid_spacing_m must be a finite number >= 10"):
        siting.candidates_from_grid(box_, grid_spacing_m=5)
    with pytest.raises(InputError, match="no candidate site lies in territory_bounds_or_polygon from municipalities"):
        siting.candidates_from_municipalities(communes, (2.30, 43.00, 2.31, 43.01))


def test_user_sites_from_csv(tmp_path):
    f = tmp_path / "sites.csv"
    f.write_text("id;name;lon;lat\nfrej;Fréjorgues;3.963;43.576\nport;Sète port;3,70;43,40\n", encoding="utf-8")
    sites = siting.candidate_sites(kind="user", territory_bounds_or_polygon=HERAULT_BOX, user_file=f)
    assert list(sites.index) == ["user:frej", "user:port"]
    assert sites["name"].tolist() == ["Fréjorgues", "Sète port"]
    assert sites.geometry.x.tolist() == pytest.approx([3.963, 3.70])
    gdf = gpd.GeoDataFrame({"label": ["x"]}, geometry=[Point(770_000, 6_280_000)], crs=L93)
    sites = siting.candidate_sites(
        kind="user", territory_bounds_or_polygon=HERAULT_BOX, user_file=gdf, name_column="label"
    )
    assert sites["name"].tolist() == ["x"] and sites.index.tolist() == ["user:0"]
    # inside the box but outside the polygon
    tri = shapely.Polygon([(3.0, 43.0), (4.5, 43.0), (3.0, 44.0)])
    with pytest.raises(InputError, match=r"1 point\(s\) outside territory_bounds_or_polygon \('user:frej'\)"):
        siting.candidate_sites(kind="user", territory_bounds_or_polygon=tri, user_file=f)
    bad = tmp_path / "far.csv"
    bad.write_text("lon,lat\n43.6,3.9\n")
    with pytest.raises(LayerValidationError, match=r"swapped"):
        siting.candidate_sites(kind="user", territory_bounds_or_polygon=HERAULT_BOX, user_file=bad)
    with pytest.raises(DataFileError, match=r"does not exist"):
        siting.candidate_sites(kind="user", territory_bounds_or_polygon=HERAULT_BOX, user_file=tmp_path / "no.csv")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"kind": "airport"},
            InputError,
            r"kind must be one of \['user', 'business_parks', 'municipalities', 'grid'\]",
        ),
        ({"kind": "user"}, InputError, r"kind='user' needs user_file="),
        ({"kind": "grid", "municipalities": "x"}, InputError, r"municipalities given but kind='grid'"),
        ({"kind": "grid", "grid_spacing_m": 0}, InputError, r"grid_spacing_m must be a finite number >= 10"),
        ({"kind": "grid", "grid_spacing_m": 20}, InputError, r"more than 200,000; use a larger spacing"),
        ({"kind": "grid", "crs": "EPSG:4326"}, CRSError, r"crs must be a projected CRS"),
        ({"kind": "grid", "crs": "EPSG:99999999"}, CRSError, r"is not a CRS pyproj knows"),
        ({"kind": "grid", "territory_bounds_or_polygon": (3.9, 43.5, 3.8)}, InputError, r"must be \(lon_min"),
        ({"kind": "grid", "territory_bounds_or_polygon": (3.9, 43.5, 3.8, 43.6)}, InputError, r"with min < max"),
        ({"kind": "grid", "territory_bounds_or_polygon": box(X0, Y0, X0 + 1, Y0 + 1)}, CRSError, r"not degrees"),
        ({"kind": "grid", "territory_bounds_or_polygon": Point(3.9, 43.6)}, InputError, r"must be made of polygons"),
        ({"kind": "grid", "territory_bounds_or_polygon": gpd.GeoSeries([box(0, 0, 1, 1)])}, CRSError, r"has no CRS"),
        ({"kind": "grid", "territory_bounds_or_polygon": 42}, InputError, r"got int"),
        (
            {
                "kind": "grid",
                "territory_bounds_or_polygon": gpd.GeoSeries([box(X0 + 1, Y0 + 1, X0 + 900, Y0 + 900)], crs=L93),
            },
            InputError,
            r"no candidate site lies in territory_bounds_or_polygon from the grid",
        ),
    ],
)
def test_candidate_site_errors(kwargs, exc, match):
    args = {"territory_bounds_or_polygon": HERAULT_BOX, **kwargs}
    with pytest.raises(exc, match=match):
        siting.candidate_sites(**args)


def test_territory_and_file_errors(tmp_path):
    bow = shapely.Polygon([(3.8, 43.5), (3.9, 43.6), (3.9, 43.5), (3.8, 43.6)])  # self-intersecting
    with pytest.raises(InputError, match=r"has invalid polygons; repair them with .make_valid\(\)"):
        siting.candidate_sites(kind="grid", territory_bounds_or_polygon=bow)
    with pytest.raises(InputError, match=r"must be made of polygons"):
        siting.candidate_sites(kind="grid", territory_bounds_or_polygon=gpd.GeoSeries([None], crs=L93))
    with pytest.raises(DataFileError, match=r"business_parks: file .* does not exist"):
        siting.candidate_sites(
            kind="business_parks", territory_bounds_or_polygon=HERAULT_BOX, business_parks=tmp_path / "zac.gpkg"
        )
    junk = tmp_path / "zac.geojson"
    junk.write_text("not json")
    with pytest.raises(DataFileError, match=r"cannot read .* as a vector file"):
        siting.candidate_sites(kind="business_parks", territory_bounds_or_polygon=HERAULT_BOX, business_parks=junk)
    shp = tmp_path / "parks.shp"  # a shapefile without .prj has no CRS
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"n": ["p"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)]).to_file(shp)
    with pytest.raises(CRSError, match=r"'parks.shp' declares no CRS; read it yourself and set it"):
        siting.candidate_sites(kind="business_parks", territory_bounds_or_polygon=HERAULT_BOX, business_parks=shp)
    parks = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 100, Y0 + 100)] * 2, index=[1, "1"], crs=L93)
    with pytest.raises(InputError, match=r"business_parks has a repeated index \(\['park:1'\]\)"):
        siting.candidate_sites(
            kind="business_parks",
            territory_bounds_or_polygon=gpd.GeoSeries([box(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000)], crs=L93),
            business_parks=parks,
        )


def test_polygon_layer_errors():
    parks = gpd.GeoDataFrame({"n": ["p"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)])
    with pytest.raises(CRSError, match=r"business_parks has no CRS"):
        siting.candidate_sites(kind="business_parks", territory_bounds_or_polygon=HERAULT_BOX, business_parks=parks)
    pts = gpd.GeoDataFrame(geometry=[Point(3.9, 43.6)], crs=4326)
    with pytest.raises(LayerValidationError, match=r"geometry type Point, expected MultiPolygon, Polygon"):
        siting.candidate_sites(kind="municipalities", territory_bounds_or_polygon=HERAULT_BOX, municipalities=pts)
    with pytest.raises(MissingColumnError, match=r"business_parks has no column 'NOM'"):
        siting.candidate_sites(
            kind="business_parks",
            territory_bounds_or_polygon=HERAULT_BOX,
            business_parks=parks.set_crs(L93),
            name_column="NOM",
        )
    far = parks.set_crs(L93).translate(-500_000)  # in the Atlantic
    with pytest.raises(InputError, match=r"no candidate site lies in territory_bounds_or_polygon from business_parks"):
        siting.candidate_sites(
            kind="business_parks",
            territory_bounds_or_polygon=HERAULT_BOX,
            business_parks=gpd.GeoDataFrame(geometry=far, crs=L93),
        )


# ----------------------------------------------------------------------------- what-if
@pytest.fixture(scope="module")
def bodies() -> gpd.GeoDataFrame:
    return layers.support_bodies()


def test_add_site_as_support_appends_a_valid_body(bodies):
    before = bodies.copy()
    sites = siting.candidate_sites(kind="grid", territory_bounds_or_polygon=(3.90, 43.55, 4.00, 43.60))
    best = sites.index[0]
    out = siting.add_site_as_support(bodies, sites.loc[[best]])
    assert len(out) == len(bodies) + 1
    new = out.iloc[-1]
    assert new["id"] == out.index[-1] == f"planned:{best}"
    assert new["category"] == "incubator" and new["capacity"] == 1.0 and new["source"] == "planned"
    assert new["name"] == f"Planned incubator ({sites.loc[best, 'name']})"
    assert new.geometry.equals_exact(sites.loc[best, "geometry"], 1e-9)
    assert list(out.columns) == list(bodies.columns) and out.crs == bodies.crs
    layers.validate_layer(out, "support_bodies", id_column="id", allowed_values={"category": list(layers.CATEGORIES)})
    pd.testing.assert_frame_equal(bodies, before)  # not mutated
    # a bare (lon, lat) twice: ids stay unique
    twice = siting.add_site_as_support(
        siting.add_site_as_support(bodies, (3.96, 43.58)),
        Point(3.96, 43.58),
        category="export_club",
        name="Club",
        capacity=2,
    )
    assert twice.index[-2:].tolist() == ["planned:1", "planned:2"]
    assert twice.iloc[-1][["name", "category", "capacity"]].tolist() == ["Club", "export_club", 2.0]


def test_add_site_as_support_errors(bodies):
    with pytest.raises(
        ConfigError, match=r"category 'hub' is not a support-body category; allowed: chamber_of_commerce"
    ):
        siting.add_site_as_support(bodies, (3.96, 43.58), category="hub")
    first = bodies.index[0]
    with pytest.raises(InputError, match=rf"id '{first}' is already used"):
        siting.add_site_as_support(bodies, (3.96, 43.58), body_id=first)
    two = gpd.GeoDataFrame(geometry=[Point(3.9, 43.6)] * 2, crs=4326)
    with pytest.raises(InputError, match=r"site must hold exactly one point, got 2 rows"):
        siting.add_site_as_support(bodies, two)
    with pytest.raises(CRSError, match=r"site has no CRS"):
        siting.add_site_as_support(bodies, gpd.GeoSeries([Point(3.9, 43.6)]))
    with pytest.raises(InputError, match=r"site must be a one-row GeoDataFrame"):
        siting.add_site_as_support(bodies, "grid:1_2")
    with pytest.raises(InputError, match=r"not a longitude/latitude point"):
        siting.add_site_as_support(bodies, (770_000.0, 6_280_000.0))
    with pytest.raises(InputError, match=r"site must be a point, got Polygon"):
        siting.add_site_as_support(bodies, gpd.GeoSeries([box(3.9, 43.6, 3.91, 43.61)], crs=4326))
    with pytest.raises(InputError, match=r"capacity must be a finite number >= 0"):
        siting.add_site_as_support(bodies, (3.96, 43.58), capacity=-1)
    with pytest.raises(CRSError, match=r"support_bodies has no CRS"):
        siting.add_site_as_support(bodies.set_crs(None, allow_override=True), (3.96, 43.58))
    with pytest.raises(InputError, match=r"support_bodies must be a GeoDataFrame"):
        siting.add_site_as_support(pd.DataFrame(bodies), (3.96, 43.58))
