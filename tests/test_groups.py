"""Export groups: competition rules, selection, known optima, exact vs heuristic, invariants, errors."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from proximity import groups as gr
from proximity.errors import InputError, MissingColumnError


def _od(
    xy: dict,
    *,
    minutes_per_unit: float = 1.0,
    legs: dict | None = None,
    cutoff: float | None = None,
    extra: dict | None = None,
) -> pd.DataFrame:
    """Both-direction travel times: Euclidean distance (metric) plus optional access legs."""
    legs = legs or {}
    rows = []
    for a, b in itertools.permutations(xy, 2):
        t = math.dist(xy[a], xy[b]) * minutes_per_unit + legs.get(a, 0.0) + legs.get(b, 0.0)
        if extra and (a, b) in extra:
            t = extra[(a, b)]
        if cutoff is None or t <= cutoff:
            rows.append((a, b, t))
    return pd.DataFrame(rows, columns=list(gr.OD_COLUMNS))


def _smes(naf: dict, **cols) -> pd.DataFrame:
    df = pd.DataFrame({"naf": pd.Series(naf)})
    for k, v in cols.items():
        df[k] = pd.Series(v)
    return df


def _random(n: int, seed: int, *, size: float = 30.0, n_classes: int = 6, cutoff: float | None = None):
    rng = np.random.default_rng(seed)
    xy = {f"f{i:03d}": tuple(rng.uniform(0, size, 2)) for i in range(n)}
    legs = {k: float(rng.uniform(0, 1)) for k in xy}
    naf = {k: f"{10 + int(rng.integers(n_classes)):02d}.11Z" for k in xy}
    return _smes(naf), _od(xy, legs=legs, cutoff=cutoff), xy


def _tsp_bruteforce(nodes: list, t) -> float:
    first, rest = nodes[0], nodes[1:]
    best = math.inf
    for p in itertools.permutations(rest):
        cyc = [first, *p, first]
        best = min(best, sum(t(cyc[i], cyc[i + 1]) for i in range(len(cyc) - 1)))
    return best


def _pair_max(od: pd.DataFrame):
    t = od.set_index(["origin_id", "destination_id"])["minutes"].to_dict()
    return lambda a, b: max(t.get((a, b), math.inf), t.get((b, a), math.inf))


def _assert_feasible(
    res: gr.GroupsResult,
    smes: pd.DataFrame,
    od: pd.DataFrame,
    *,
    min_size=3,
    max_size=5,
    max_minutes=30.0,
    rule="naf_class",
):
    pair = _pair_max(od)
    seen: list = []
    for gid, g in res.groups.iterrows():
        ms = res.members_of(gid)
        assert min_size <= len(ms) == g["n"] <= max_size
        seen.extend(ms)
        worst = max(pair(a, b) for a, b in itertools.combinations(ms, 2))
        assert worst <= max_minutes + 1e-9
        assert g["max_pair_minutes"] == pytest.approx(worst)
        naf = smes.loc[ms, "naf"].to_numpy()
        assert not gr.competes(naf[:, None], naf[None, :], rule=rule)[np.triu_indices(len(ms), 1)].any()
        assert g["tour_minutes"] == pytest.approx(_tsp_bruteforce(list(ms), pair))
        assert g["base_id"] == ms[0]
        assert (res.members.loc[ms, "group_id"] == gid).all()
    assert len(seen) == len(set(seen)) == res.n_placed == len(res.members)
    assert set(res.members.index).isdisjoint(res.unplaced.index)
    assert set(res.members.index) | set(res.unplaced.index) == set(smes.index)
    assert res.objective == pytest.approx(res.groups["tour_minutes"].sum() + res.groups["penalty_minutes"].sum())
    assert res.bound <= res.objective + 1e-9 and res.gap >= 0.0
    assert res.n_placed <= res.max_placeable


# --------------------------------------------------------------------------- competition


def test_competes_rules():
    a = ["62.01Z", "6201Z", "62.01Z", "62.01Z", "10.71C"]
    b = ["62.01A", "62.02A", "62.11Z", "47.11B", "1071D"]
    assert gr.competes(a, b).tolist() == [True, False, False, False, True]
    assert gr.competes(a, b, rule="naf_group").tolist() == [True, True, False, False, True]
    assert gr.competes(a, b, rule="naf_division").tolist() == [True, True, True, False, True]
    assert gr.competes(a, b, rule="naf_subclass").tolist() == [False, False, False, False, False]
    assert gr.competes(a, b, rule="none").tolist() == [False] * 5
    assert gr.competes(a, a, rule="naf_subclass").all()
    # broadcasting and scalars
    assert gr.competes(np.array(a)[:, None], np.array(a)[None, :]).shape == (5, 5)
    assert bool(gr.competes("62.01", "6201Z")) is True

    # a callable is applied both ways: competition is symmetric
    def one_way(x, y):
        return np.array([p.startswith("62") and q.startswith("47") for p, q in zip(x, y, strict=True)])

    assert gr.competes(["47.11B", "62.01Z"], ["62.01Z", "47.11B"], rule=one_way).tolist() == [True, True]


def test_competes_errors():
    with pytest.raises(InputError, match="rule 'sector' is unknown"):
        gr.competes("62.01Z", "62.01Z", rule="sector")
    with pytest.raises(InputError, match=r"b has 2 missing or malformed NAF code\(s\)"):
        gr.competes(["62.01Z"] * 2, ["J", None])
    with pytest.raises(InputError, match="do not broadcast"):
        gr.competes(["62.01Z"] * 2, ["62.01Z"] * 3)
    with pytest.raises(InputError, match="must return one bool per pair"):
        gr.competes(["62.01Z"], ["62.01Z"], rule=lambda x, y: True)
    with pytest.raises(InputError, match="failed on NAF codes"):
        gr.competes(["62.01Z"], ["62.01Z"], rule=lambda x, y: 1 / 0)


# --------------------------------------------------------------------------- selection


@pytest.fixture(scope="module")
def layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "naf": ["62.01Z", "10.71C", "62.02A", "46.34Z", "11.02B", "62.01Z"],
            "naf_section": ["J", "C", "J", "G", "C", "J"],
            "size_band": ["01", "11", "02", "12", "32", "01"],
            "is_sme": [True, True, True, True, False, True],
            "exporter": pd.array([True, False, pd.NA, True, True, True], dtype="boolean"),
            "commune": ["34172", "34172", "34129", "34057", "34172", "34129"],
        },
        geometry=[
            Point(3.87, 43.61),
            Point(3.88, 43.60),
            Point(3.90, 43.55),
            Point(3.50, 43.30),
            Point(3.87, 43.62),
            Point(3.91, 43.56),
        ],
        index=pd.Index(["a", "b", "c", "d", "e", "f"], name="id"),
        crs="EPSG:4326",
    )


def test_select_smes_filters(layer):
    sel = gr.select_smes
    assert sel(layer).index.tolist() == ["a", "b", "c", "d", "f"]  # e is large
    assert sel(layer, sme_only=False).index.tolist() == list("abcdef")
    assert sel(layer, sections="C").index.tolist() == ["b"]
    assert sel(layer, sections=["j", "G"]).index.tolist() == ["a", "c", "d", "f"]
    assert sel(layer, naf_prefixes=["62.01"]).index.tolist() == ["a", "f"]
    assert sel(layer, naf_prefixes="620").index.tolist() == ["a", "c", "f"]
    assert sel(layer, size_bands=["01", "02"]).index.tolist() == ["a", "c", "f"]
    assert sel(layer, exporter=True).index.tolist() == ["a", "d", "f"]  # unknown (c) never matches
    assert sel(layer, exporter=False).index.tolist() == ["b"]
    assert sel(layer, communes="34172").index.tolist() == ["a", "b"]
    area = box(3.85, 43.58, 3.95, 43.65)
    assert sel(layer, within=area).index.tolist() == ["a", "b"]
    # a GeoSeries in another CRS is reprojected
    area_l93 = gpd.GeoSeries([area], crs="EPSG:4326").to_crs("EPSG:2154")
    assert sel(layer, within=area_l93, sections="J").index.tolist() == ["a"]
    out = sel(layer, sections="J")
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == layer.crs and list(out.columns) == list(layer.columns)
    out.loc["a", "naf"] = "00.00Z"
    assert layer.loc["a", "naf"] == "62.01Z"  # a copy


def test_select_smes_errors(layer):
    with pytest.raises(InputError, match=r"sections 'Z' are not NAF sections.*size_bands '7' are not INSEE"):
        gr.select_smes(layer, sections=["J", "Z"], size_bands="7")
    with pytest.raises(InputError, match="naf_prefixes 'J62' are not beginnings"):
        gr.select_smes(layer, naf_prefixes="J62")
    with pytest.raises(
        InputError,
        match=r"no SME matches the selection \(6 firms, 5 after sme_only, 3 after "
        r"sections, 0 after communes\)",
    ):
        gr.select_smes(layer, sections="J", communes="34057")
    with pytest.raises(MissingColumnError, match=r"lacks the column.*is_sme.*sme_only=False"):
        gr.select_smes(layer.drop(columns="is_sme"))
    with pytest.raises(InputError, match="sections is empty"):
        gr.select_smes(layer, sections=[])
    with pytest.raises(InputError, match="within must be a non-empty Polygon"):
        gr.select_smes(layer, within=Point(3.8, 43.6))
    with pytest.raises(InputError, match="exporter must be True, False or None"):
        gr.select_smes(layer, exporter="yes")
    with pytest.raises(InputError, match="within and smes must both have a CRS"):
        gr.select_smes(layer, within=gpd.GeoSeries([box(0, 0, 1, 1)]))
    with pytest.raises(InputError, match="within must be a shapely Polygon/MultiPolygon or a GeoSeries"):
        gr.select_smes(layer, within=(3.8, 43.6, 3.9, 43.7))
    with pytest.raises(InputError, match="within needs smes to be a GeoDataFrame"):
        gr.select_smes(pd.DataFrame(layer.drop(columns="geometry")), within=box(0, 0, 1, 1))
    with pytest.raises(InputError, match="smes must be a GeoDataFrame, got list"):
        gr.select_smes([1, 2])


# --------------------------------------------------------------------------- known optima


# two tight triangles 100 minutes apart; sides 3-4-5 and 5-5-6 (minutes)
TWO_CLUSTERS = {"a1": (0, 0), "a2": (3, 0), "a3": (0, 4), "b1": (100, 0), "b2": (106, 0), "b3": (103, 4)}
NAF6 = {"a1": "62.01Z", "a2": "10.71C", "a3": "46.34Z", "b1": "62.01Z", "b2": "10.71C", "b3": "46.34Z"}


@pytest.mark.parametrize("method", ["exact", "heuristic"])
def test_two_clusters_known_optimum(method):
    smes = _smes(NAF6, commune={k: "34172" if k[0] == "a" else "34129" for k in NAF6})
    od = _od(TWO_CLUSTERS)
    res = gr.form_groups(smes, od, method=method)
    assert res.method == method and res.status == ("optimal" if method == "exact" else "heuristic")
    g = res.groups
    assert [sorted(res.members_of(i)) for i in g.index] == [["a1", "a2", "a3"], ["b1", "b2", "b3"]]
    assert g["tour_minutes"].tolist() == pytest.approx([12.0, 16.0])
    assert g["penalty_minutes"].tolist() == [2.0, 2.0]  # 2 min x (3 - 4) ** 2
    assert res.objective == pytest.approx(32.0) and res.tour_minutes == pytest.approx(28.0)
    # the executive sits at the most central member: a1 (3 + 4), b3 (5 + 5)
    assert g["base_id"].tolist() == ["a1", "b3"]
    assert g["max_pair_minutes"].tolist() == pytest.approx([5.0, 6.0])
    assert g["max_base_minutes"].tolist() == pytest.approx([4.0, 5.0])
    assert res.members.loc[res.members_of(1), "naf_class"].tolist() == ["62.01", "10.71", "46.34"]
    assert res.members.loc["b3", ["group_id", "tour_position", "is_base"]].tolist() == [2, 0, True]
    assert list(res.members.columns) == ["group_id", "tour_position", "is_base", "naf_section", "naf_class"]
    with pytest.raises(InputError, match="group_id 3 is not a group"):
        res.members_of(3)
    assert res.n_placed == res.max_placeable == 6 and res.unplaced.empty
    if method == "exact":
        assert res.bound == pytest.approx(32.0) and res.gap == pytest.approx(0.0)
    else:
        assert 0 < res.bound <= 32.0
    counts = gr.groups_per_municipality(res, smes)
    assert counts.to_dict() == {"34129": 1, "34172": 1} and counts.name == "export_groups"


def test_competitors_are_never_together():
    # a square of four firms; a1 and a3 (opposite corners) compete: the only group of 3
    # without both is any three with at most one of them
    xy = {"a1": (0, 0), "a2": (1, 0), "a3": (1, 1), "a4": (0, 1)}
    naf = {"a1": "62.01Z", "a2": "10.71C", "a3": "62.01A", "a4": "46.34Z"}
    res = gr.form_groups(_smes(naf), _od(xy), size_penalty_minutes=0)
    (members,) = [res.members_of(i) for i in res.groups.index]
    assert len(members) == 3 and not {"a1", "a3"} <= set(members)
    assert res.tour_minutes == pytest.approx(2 + math.sqrt(2))
    assert res.unplaced["reason_code"].tolist() == ["partners_grouped"]
    # with no competition rule, all four are grouped (tour = perimeter 4)
    res = gr.form_groups(_smes(naf), _od(xy), rule="none")
    assert res.groups["n"].tolist() == [4] and res.tour_minutes == pytest.approx(4.0)
    # NAF division rule: a1, a3 compete, and so do the others if they share a division
    naf2 = {**naf, "a2": "62.09Z"}
    res = gr.form_groups(_smes(naf2), _od(xy), rule="naf_division")
    assert res.groups.empty and res.n_placed == 0


def _rival_rule(x, y):
    return (x == "99.99Z") | (y == "99.99Z")


def test_unplaced_reasons():
    xy = {
        "a1": (0, 0),
        "a2": (3, 0),
        "a3": (0, 4),
        "far": (500, 500),  # nobody within 30 min
        "rival": (1, 1),  # close to a1, a2, a3
        "c1": (200, 0),
        "c2": (220, 0),
        "c3": (240, 0),
    }  # c1-c3 40 min apart: no group
    naf = {
        "a1": "62.01Z",
        "a2": "10.71C",
        "a3": "46.34Z",
        "far": "10.71C",
        "rival": "62.09Z",
        "c1": "10.71C",
        "c2": "46.34Z",
        "c3": "47.11B",
    }
    for method in ("exact", "heuristic"):
        # groups of at most 3: one of the four close firms is left out
        res = gr.form_groups(_smes(naf), _od(xy), max_size=3, method=method)
        (members,) = [res.members_of(i) for i in res.groups.index]
        assert set(members) < {"a1", "a2", "a3", "rival"}
        (left,) = {"a1", "a2", "a3", "rival"} - set(members)
        reasons = res.unplaced["reason_code"].to_dict()
        assert reasons == {
            "far": "no_partner_in_reach",
            left: "partners_grouped",
            "c1": "no_feasible_group",
            "c2": "no_feasible_group",
            "c3": "no_feasible_group",
        }
        assert res.unplaced.loc["far", "reason"] == "no other selected SME within 30 min"
        assert res.unplaced.loc["c1", "reason"].startswith("no feasible group of 3")
        assert res.unplaced.index.tolist() == [k for k in xy if k not in members]  # input order
        # a callable rule: the rival competes with everybody
        res = gr.form_groups(_smes({**naf, "rival": "99.99Z"}), _od(xy), rule=_rival_rule, method=method)
        assert [sorted(res.members_of(i)) for i in res.groups.index] == [["a1", "a2", "a3"]]
        assert res.unplaced.loc["rival", "reason_code"] == "competes_with_all"
        assert res.unplaced.loc["rival", "reason"] == "competes (_rival_rule) with every SME within 30 min"


def test_four_member_tour_by_hand_and_pair_rule():
    # a 3 x 4 rectangle: the best tour is the perimeter 14, the crossing tours 16 and 18.
    # One direction of a1-a3 is slower (8 instead of 5): "max" uses 8, "mean" 6.5; both
    # are diagonals, unused by the perimeter tour.
    xy = {"a1": (0, 0), "a2": (4, 0), "a3": (4, 3), "a4": (0, 3)}
    naf = {"a1": "62.01Z", "a2": "10.71C", "a3": "46.34Z", "a4": "47.11B"}
    od = _od(xy, extra={("a1", "a3"): 8.0, ("a2", "a1"): 4.5})
    res = gr.form_groups(_smes(naf), od, size_penalty_minutes=0)
    assert res.tour_minutes == pytest.approx(3 + 4 + 3 + 4.5)  # a1-a2 is max(4, 4.5)
    assert res.groups.loc[1, "max_pair_minutes"] == pytest.approx(8.0)
    res = gr.form_groups(_smes(naf), od, size_penalty_minutes=0, pair_minutes="mean")
    assert res.tour_minutes == pytest.approx(3 + 4 + 3 + 4.25)
    assert res.groups.loc[1, "max_pair_minutes"] == pytest.approx(6.5)
    # the slow direction pushes a1-a3 beyond 7 minutes with "max" but not with "mean"
    res = gr.form_groups(_smes(naf), od, max_minutes=7, size_penalty_minutes=0)
    assert res.groups["n"].tolist() == [3]
    assert gr.form_groups(_smes(naf), od, max_minutes=7, pair_minutes="mean").groups["n"].tolist() == [4]
    # no time limit: every pair given in od is usable
    assert gr.form_groups(_smes(naf), od, max_minutes=None).groups["n"].tolist() == [4]
    # a pair in one direction only is beyond the cut-off
    od1 = od[~((od.origin_id == "a2") & (od.destination_id == "a4"))]
    res = gr.form_groups(_smes(naf), od1, size_penalty_minutes=0)
    assert res.groups["n"].tolist() == [3]


def test_base_points():
    # the executive sits at the chamber (0, 0) or at an incubator (60, 0); members within
    # 30 min of a base, members themselves may be 40 min apart
    xy = {"a1": (20, 0), "a2": (-20, 0), "a3": (0, 10), "b1": (70, 0), "b2": (50, 5), "b3": (60, -5), "far": (30, 100)}
    bases_xy = {"CCI": (0, 0), "INC": (60, 0)}
    naf = {
        "a1": "62.01Z",
        "a2": "10.71C",
        "a3": "46.34Z",
        "b1": "62.01Z",
        "b2": "10.71C",
        "b3": "46.34Z",
        "far": "47.11B",
    }
    od = _od({**xy, **bases_xy})
    bases = gpd.GeoDataFrame(geometry=[Point(*p) for p in bases_xy.values()], index=list(bases_xy))
    for method in ("exact", "heuristic"):
        res = gr.form_groups(_smes(naf), od, base=bases, method=method, size_penalty_minutes=0)
        g = res.groups.set_index("base_id")
        assert sorted(res.members_of(res.groups.index[res.groups["base_id"].eq("CCI")][0])) == ["a1", "a2", "a3"]
        pair = _pair_max(od)
        assert g.loc["CCI", "tour_minutes"] == pytest.approx(_tsp_bruteforce(["CCI", "a1", "a2", "a3"], pair))
        assert g.loc["INC", "tour_minutes"] == pytest.approx(_tsp_bruteforce(["INC", "b1", "b2", "b3"], pair))
        assert g.loc["CCI", "max_pair_minutes"] == pytest.approx(40.0)
        assert g.loc["CCI", "max_base_minutes"] == pytest.approx(20.0)
        assert res.members["is_base"].sum() == 0
        assert res.unplaced.loc["far", "reason_code"] == "no_base_in_reach"
    with pytest.raises(InputError, match="bases 'CCI', 'INC' are not SMEs"):
        gr.groups_per_municipality(res, _smes(naf, commune=dict.fromkeys(naf, "34172")), count="base")


# --------------------------------------------------------------------------- exact vs heuristic


@pytest.mark.parametrize(
    ("seed", "n", "limit", "sizes"),
    [(1, 18, 12.0, (3, 5)), (2, 24, 10.0, (3, 5)), (3, 22, 12.0, (3, 4)), (4, 16, 9.0, (2, 4)), (5, 30, 8.0, (3, 5))],
)
def test_exact_vs_heuristic(seed, n, limit, sizes):
    smes, od, _ = _random(n, seed, size=25.0, n_classes=5)
    kw = {"min_size": sizes[0], "max_size": sizes[1], "max_minutes": limit}
    ex = gr.form_groups(smes, od, method="exact", **kw)
    he = gr.form_groups(smes, od, method="heuristic", time_limit_s=5, seed=seed, **kw)
    assert ex.status == "optimal" and ex.gap == pytest.approx(0.0, abs=1e-6)
    _assert_feasible(ex, smes, od, min_size=sizes[0], max_size=sizes[1], max_minutes=limit)
    _assert_feasible(he, smes, od, min_size=sizes[0], max_size=sizes[1], max_minutes=limit)
    assert he.n_placed <= ex.n_placed == ex.max_placeable <= he.max_placeable
    assert ex.n_placed > 0
    if he.n_placed == ex.n_placed:
        assert he.objective >= ex.objective - 1e-6
        assert he.bound <= ex.objective + 1e-6  # a valid lower bound
    # the same unplaceable SMEs are recognised by both methods
    hard = {"no_partner_in_reach", "competes_with_all", "no_feasible_group"}
    assert set(ex.unplaced.index[ex.unplaced.reason_code.isin(hard)]) == set(
        he.unplaced.index[he.unplaced.reason_code.isin(hard)]
    )


def test_auto_switches_to_heuristic():
    smes, od, _ = _random(24, 7, size=10.0, n_classes=8)
    res = gr.form_groups(smes, od, method="auto", max_minutes=30, time_limit_s=5)
    assert res.method == "exact" and res.status == "optimal"
    res = gr.form_groups(smes, od, method="auto", max_minutes=30, max_candidates=50, time_limit_s=2)
    assert res.method == "heuristic" and res.status == "heuristic"
    with pytest.raises(InputError, match="more than max_candidates=50 feasible groups"):
        gr.form_groups(smes, od, method="exact", max_candidates=50)
    # a dense cluster (heuristic) and, far away, the two small clusters (exact)
    far = {k: (x + 1000, y) for k, (x, y) in TWO_CLUSTERS.items()}
    xy = {**{k: (float(v), 0.0) for k, v in zip(smes.index, range(24), strict=True)}, **far}
    both = pd.concat([smes, _smes(NAF6)])
    od2 = _od(xy)
    res = gr.form_groups(both, od2, max_minutes=30, max_candidates=50, time_limit_s=2)
    assert res.method == "exact+heuristic" and res.status == "heuristic"
    _assert_feasible(res, both, od2)
    far_groups = res.groups[[res.members_of(i)[0] in NAF6 for i in res.groups.index]]
    assert far_groups["tour_minutes"].sort_values().tolist() == pytest.approx([12.0, 16.0])
    assert res.n_placed == 30 == res.max_placeable


@pytest.fixture(scope="module")
def large():
    smes, od, _ = _random(400, 11, size=60.0, n_classes=12, cutoff=30.0)
    res = gr.form_groups(smes, od, method="heuristic", max_minutes=15, time_limit_s=4)
    return smes, od, res


def test_invariants_on_a_larger_instance(large):
    smes, od, res = large
    smes_before = smes.copy()
    _assert_feasible(res, smes, od, max_minutes=15)
    assert res.method == "heuristic" and 0 < res.gap < 0.5
    assert res.n_placed >= 0.9 * len(smes)
    assert res.groups.index.tolist() == list(range(1, len(res.groups) + 1))
    assert res.members.index.name == "sme_id" and res.unplaced.index.name == "sme_id"
    # members and unplaced keep the input order
    order = {k: i for i, k in enumerate(smes.index)}
    assert np.all(np.diff([order[k] for k in res.members.index]) > 0)
    assert set(res.unplaced.reason_code) <= set(gr.UNPLACED_REASONS)
    pd.testing.assert_frame_equal(smes, smes_before)


def test_groups_per_municipality(large):
    smes, _, res = large
    communes = pd.Series([f"34{int(i[1:]) % 7:03d}" for i in smes.index], index=smes.index)
    smes = smes.assign(commune=communes)
    counts = gr.groups_per_municipality(res, smes)
    expected = {
        c: sum(any(communes[m] == c for m in ms) for ms in map(res.members_of, res.groups.index))
        for c in sorted(communes.unique())
    }
    assert counts.to_dict() == expected
    assert counts.sum() >= len(res.groups)
    by_base = gr.groups_per_municipality(res, smes, count="base")
    assert by_base.sum() == len(res.groups)
    assert (
        by_base.to_dict()
        == communes[res.groups["base_id"]].value_counts().reindex(sorted(communes.unique()), fill_value=0).to_dict()
    )
    every = gr.groups_per_municipality(res, smes, communes=["34999", "34000"])
    assert every.to_dict() == {"34999": 0, "34000": expected["34000"]}
    with pytest.raises(InputError, match="count 'firms' is unknown"):
        gr.groups_per_municipality(res, smes, count="firms")
    with pytest.raises(MissingColumnError, match="lacks the column 'commune'"):
        gr.groups_per_municipality(res, smes.drop(columns="commune"))
    with pytest.raises(InputError, match="are not in smes"):
        gr.groups_per_municipality(res, smes.iloc[:10])
    with pytest.raises(InputError, match="smes index has duplicate ids"):
        gr.groups_per_municipality(res, pd.concat([smes, smes.iloc[:1]]))


# --------------------------------------------------------------------------- errors


def test_form_groups_errors():
    smes = _smes(NAF6)
    od = _od(TWO_CLUSTERS)
    f = gr.form_groups
    with pytest.raises(InputError, match=r"max_size \(2\) must be >= min_size \(3\); method 'fast' is unknown"):
        f(smes, od, max_size=2, method="fast")
    with pytest.raises(InputError, match="max_size must be <= 6"):
        f(smes, od, max_size=7)
    with pytest.raises(InputError, match="min_size must be >= 2"):
        f(smes, od, min_size=1)
    with pytest.raises(InputError, match="max_minutes must be > 0"):
        f(smes, od, max_minutes=0)
    with pytest.raises(InputError, match="time_limit_s must be a finite number"):
        f(smes, od, time_limit_s=math.inf)
    with pytest.raises(InputError, match="pair_minutes 'min' is unknown"):
        f(smes, od, pair_minutes="min")
    with pytest.raises(InputError, match="competition rule 'class' is unknown"):
        f(smes, od, rule="class")
    with pytest.raises(InputError, match="base 'chamber' is unknown"):
        f(smes, od, base="chamber")
    with pytest.raises(InputError, match="base must be None, 'member' or a non-empty GeoDataFrame"):
        f(smes, od, base=gpd.GeoDataFrame(geometry=[]))
    with pytest.raises(InputError, match="base index has duplicate ids"):
        f(smes, od, base=gpd.GeoDataFrame(geometry=[Point(0, 0)] * 2, index=["B", "B"]))
    with pytest.raises(
        InputError,
        match=r"seed must be an integer >= 0, got -1; max_candidates must be an integer "
        r">= 1, got 0",
    ):
        f(smes, od, seed=-1, max_candidates=0)
    with pytest.raises(InputError, match="smes must be a GeoDataFrame or DataFrame indexed by SME id"):
        f(smes.to_dict(), od)
    with pytest.raises(InputError, match="base ids 'a1' are also SME ids"):
        f(smes, od, base=gpd.GeoDataFrame(geometry=[Point(0, 0)], index=["a1"]))
    with pytest.raises(InputError, match="smes is empty"):
        f(smes.iloc[:0], od)
    with pytest.raises(InputError, match="duplicate ids"):
        f(pd.concat([smes, smes.iloc[:1]]), od)
    with pytest.raises(MissingColumnError, match=r"lacks the column 'naf'.*rule='none'"):
        f(smes.drop(columns="naf"), od)
    assert f(smes.drop(columns="naf"), od, rule="none").n_placed == 6
    with pytest.raises(InputError, match=r"smes\['naf'\] has 1 missing or malformed"):
        f(smes.assign(naf=["62.01Z", "x", "10.71C", "62.01Z", "10.71C", "46.34Z"]), od)
    with pytest.raises(MissingColumnError, match=r"od lacks the column.*minutes"):
        f(smes, od.drop(columns="minutes"))
    with pytest.raises(InputError, match="od shares no pair of identifiers with smes"):
        f(smes, od.assign(origin_id="x"))
    with pytest.raises(InputError, match="od has missing or non-numeric minutes"):
        f(smes, od.assign(minutes=np.where(od.index == 3, np.nan, od.minutes)))
    with pytest.raises(InputError, match="od has negative minutes"):
        f(smes, od.assign(minutes=-od.minutes))
    with pytest.raises(InputError, match="duplicate rows for the same origin and destination"):
        f(smes, pd.concat([od, od.iloc[:1]]))
    one_way = od[od.origin_id < od.destination_id]
    with pytest.raises(InputError, match="one direction only"):
        f(smes, one_way)
    with pytest.raises(InputError, match="od must be a DataFrame"):
        f(smes, od.to_numpy())


def test_unreachable_and_foreign_rows_are_ignored():
    smes = _smes(NAF6)
    od = _od(TWO_CLUSTERS)
    noise = pd.DataFrame(
        {"origin_id": ["a1", "zz", "a2"], "destination_id": ["zz", "a1", "a2"], "minutes": [1.0, 1.0, 0.0]}
    )
    od2 = pd.concat(
        [od.assign(minutes=np.where(od.origin_id.str[0] != od.destination_id.str[0], np.inf, od.minutes)), noise],
        ignore_index=True,
    )
    res = gr.form_groups(smes, od2)
    assert res.objective == pytest.approx(32.0)
