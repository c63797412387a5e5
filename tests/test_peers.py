"""Peers (proximity.peers): closed-form answers, a brute-force reference, and the three-département table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from national_support import national_fixture

from proximity import peers as PE
from proximity.errors import InputError, MissingColumnError

MAD_TO_SD = 1.4826


def line_table(values, codes=None, index=None):
    codes = codes or [f"01{i + 1:03d}" for i in range(len(values))]
    return pd.DataFrame(
        {"insee": codes, "name": [f"C{c}" for c in codes], "x": [float(v) for v in values]}, index=index
    )


# --------------------------------------------------------------------------- closed form
def test_robust_z_closed_form():
    z = PE.robust_z(pd.Series([0.0, 1.0, 3.0, 6.0, 10.0]))
    # median 3, absolute deviations 3 2 0 3 7 -> MAD 3
    assert z.tolist() == pytest.approx([(v - 3) / (MAD_TO_SD * 3) for v in (0, 1, 3, 6, 10)])


def test_robust_z_falls_back_to_iqr_then_std_then_zero():
    # more than half equal: MAD 0 -> IQR / 1.349 (quartiles 0 and 1.25 here)
    x = pd.Series([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 5.0])
    assert (x - x.median()).abs().median() == 0
    q1, q3 = np.quantile(x, [0.25, 0.75])
    assert (q1, q3) == (0.0, 1.25)
    assert PE.robust_z(x).tolist() == pytest.approx(((x - x.median()) / ((q3 - q1) / 1.349)).tolist())
    # MAD 0 and IQR 0: the standard deviation
    y = pd.Series([0.0] * 9 + [10.0])
    assert PE.robust_z(y).tolist() == pytest.approx(((y - 0.0) / y.std(ddof=0)).tolist())
    assert PE.robust_z(pd.Series([4.0, 4.0, 4.0])).tolist() == [0.0, 0.0, 0.0]


def test_peers_on_a_line_closed_form():
    t = line_table([0, 1, 3, 6, 10])
    long = PE.peers(t, k=2, features=["x"])
    s = MAD_TO_SD * 3
    assert list(long.columns) == ["insee", "peer_rank", "peer_insee", "peer_name", "distance"]
    got = {(r.insee, r.peer_rank): (r.peer_insee, r.distance) for r in long.itertuples()}
    expected = {
        ("01001", 1): ("01002", 1 / s),
        ("01001", 2): ("01003", 3 / s),
        ("01002", 1): ("01001", 1 / s),
        ("01002", 2): ("01003", 2 / s),
        ("01003", 1): ("01002", 2 / s),
        ("01003", 2): ("01001", 3 / s),  # 0 and 6 both 3 away: smaller INSEE
        ("01004", 1): ("01003", 3 / s),
        ("01004", 2): ("01005", 4 / s),
        ("01005", 1): ("01004", 4 / s),
        ("01005", 2): ("01003", 7 / s),
    }
    assert set(got) == set(expected)
    for key, (peer, dist) in expected.items():
        assert got[key][0] == peer, key
        assert got[key][1] == pytest.approx(dist, rel=1e-12), key
    assert long.loc[long["insee"].eq("01001"), "peer_name"].tolist() == ["C01002", "C01003"]


def test_ties_go_to_the_smaller_insee_whatever_the_row_order():
    # 34001 sits between 34003 (-1) and 34002 (+1): equally far
    t = line_table([0, 1, -1, 5, 9], codes=["34001", "34002", "34003", "34004", "34005"])
    first = PE.peers(t, k=1, features=["x"])
    assert first.loc[first["insee"].eq("34001"), "peer_insee"].item() == "34002"
    shuffled = t.sample(frac=1.0, random_state=3).set_axis(list("qwert"))
    again = PE.peers(shuffled, k=1, features=["x"])
    pd.testing.assert_frame_equal(first, again)


def test_a_commune_is_never_its_own_peer_twins_are_at_distance_zero():
    t = line_table([2, 2, 2, 7, 8])
    long = PE.peers(t, k=2, features=["x"])
    assert not (long["insee"] == long["peer_insee"]).any()
    twins = long[long["insee"].eq("01002")]
    assert twins["peer_insee"].tolist() == ["01001", "01003"]
    assert twins["distance"].tolist() == [0.0, 0.0]


def test_derived_features_and_the_minutes_cap():
    t = pd.DataFrame(
        {
            "insee": ["01001", "01002", "01003", "01004"],
            "name": list("abcd"),
            "population": [100, 1000, 10000, 50],
            "area_km2": [10.0, 5.0, 20.0, 1.0],
            "minutes_city_50k": [20.0, math.inf, 300.0, 45.0],
            "share_pop_airport_30": [0.0, 0.5, 1.0, 0.25],
        }
    )
    z = PE.feature_matrix(t)
    assert list(z.columns) == list(PE.DEFAULT_FEATURES)
    assert z["log_population"].tolist() == pytest.approx(PE.robust_z(np.log1p(t["population"].astype(float))).tolist())
    dens = np.log1p(t["population"] / t["area_km2"])
    assert z["log_density"].tolist() == pytest.approx(PE.robust_z(dens).tolist())
    capped = pd.Series([20.0, PE.MAX_MINUTES, PE.MAX_MINUTES, 45.0])
    assert z["minutes_city_50k"].tolist() == pytest.approx(PE.robust_z(capped).tolist())


def test_peer_ranks_closed_form():
    t = line_table([0, 1, 3, 6, 10])
    t["index"] = [50.0, 70.0, 50.0, np.nan, 10.0]
    t["density"] = [0.1, 0.2, 0.3, 0.4, 0.5]
    long = PE.peers(t, k=2, features=["x"])
    r = PE.peer_ranks(t, long)
    # 01001's peers 01002 (70), 01003 (50): one better, 01003 ties -> rank 2
    assert r["peer_rank_index"].tolist()[:3] == [2, 1, 2]
    assert r["peer_rank_index"].isna().tolist() == [False, False, False, True, False]
    assert r["peer_rank_index"].iloc[4] == 2  # peers 01004 (missing: not better) and 01003 (50)
    assert r["peer_rank_density"].tolist() == [3, 2, 1, 2, 1]
    assert r["peers"].tolist()[0] == "01002 01003"
    assert r["peer_median_index"].iloc[0] == pytest.approx(60.0)
    assert str(r["peer_rank_index"].dtype) == "Int64"


def test_add_peers_keeps_type_index_and_input():
    t = line_table([0, 1, 3, 6, 10], index=list("abcde"))
    t["index"] = [5.0, 4.0, 3.0, 2.0, 1.0]
    before = t.copy()
    out = PE.add_peers(t, k=2, features=["x"])
    pd.testing.assert_frame_equal(t, before)
    assert type(out) is pd.DataFrame and list(out.index) == list("abcde")
    assert out.loc["c", "peers"] == "01002 01001"
    assert out.loc["c", "peer_rank_index"] == 3  # both peers (4 and 5) score higher


def test_against_brute_force():
    rng = np.random.default_rng(11)
    n = 300
    codes = [f"{d:02d}{i:03d}" for d, i in zip(rng.integers(1, 96, n), range(n), strict=True)]
    t = pd.DataFrame(
        {
            "insee": codes,
            "name": codes,
            "a": np.round(rng.normal(size=n), 1),
            "b": np.round(rng.gamma(2, size=n), 1),
            "c": rng.integers(0, 4, n).astype(float),
        }
    )  # rounded: many ties
    long = PE.peers(t, k=7, features=["a", "b", "c"])
    z = PE.feature_matrix(t, features=["a", "b", "c"]).to_numpy()
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
    code_arr = np.array(codes)
    for i in range(n):
        others = np.array([j for j in range(n) if j != i])
        order = others[np.lexsort((code_arr[others], d[i, others]))][:7]
        got = long[long["insee"].eq(codes[i])]
        assert got["peer_insee"].tolist() == code_arr[order].tolist()
        assert got["distance"].to_numpy() == pytest.approx(d[i, order], rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- errors
def test_missing_columns_name_the_column_and_the_fix():
    t = line_table([0, 1, 2]).drop(columns="x")
    t["population"] = [1, 2, 3]
    with pytest.raises(
        MissingColumnError,
        match=r"'area_km2'.*'minutes_city_50k' \(the national run .*add them, or choose other features",
    ):
        PE.peers(t, k=1)
    with pytest.raises(MissingColumnError, match="'name'"):
        PE.peers(line_table([0, 1, 2]).drop(columns="name"), k=1, features=["x"])
    with pytest.raises(MissingColumnError, match="'index'"):
        PE.peer_ranks(line_table([0, 1, 2]), PE.peers(line_table([0, 1, 2]), k=1, features=["x"]), columns=["index"])
    with pytest.raises(MissingColumnError, match="pass the table returned by peers"):
        PE.peer_ranks(line_table([0, 1, 2]), pd.DataFrame({"insee": []}), columns=[])


def test_bad_inputs():
    t = line_table([0, 1, 2, 3])
    with pytest.raises(InputError, match="k must be a positive integer"):
        PE.peers(t, k=0, features=["x"])
    with pytest.raises(InputError, match="k must be a positive integer"):
        PE.peers(t, k=True, features=["x"])
    with pytest.raises(InputError, match="need at least 5 communes, the table has 4; lower k"):
        PE.peers(t, k=4, features=["x"])
    with pytest.raises(InputError, match="duplicate INSEE codes"):
        PE.peers(line_table([0, 1, 2], codes=["01001", "01001", "01002"]), k=1, features=["x"])
    with pytest.raises(InputError, match="features must be a non-empty list"):
        PE.peers(t, k=1, features="x")
    with pytest.raises(InputError, match=r"'x' is missing or not finite for 1 communes \(01002\); fill or drop"):
        PE.peers(line_table([0, np.nan, 2]), k=1, features=["x"])
    bad = t.assign(share_pop_airport_30=[0.1, 1.5, 0.2, 0.3])
    with pytest.raises(InputError, match="must be a share from 0 to 1"):
        PE.peers(bad, k=1, features=["share_pop_airport_30"])
    with pytest.raises(InputError, match="'name' is not numeric"):
        PE.peers(t, k=1, features=["name"])
    with pytest.raises(InputError, match="table must be a"):
        PE.peers([1, 2], k=1)
    long = PE.peers(t, k=1, features=["x"])
    with pytest.raises(InputError, match="not in table"):
        PE.peer_ranks(t.iloc[:3], long, columns=[])


# --------------------------------------------------------------------------- the three départements
@pytest.fixture(scope="module")
def national(real_data):
    return national_fixture()


@pytest.fixture(scope="module")
def long(national):
    return PE.peers(national, k=10)


def test_fixture_peers_are_k_distinct_others_nearest_first(national, long):
    assert len(long) == 10 * len(national)
    assert long.groupby("insee")["peer_insee"].nunique().eq(10).all()
    assert not (long["insee"] == long["peer_insee"]).any()
    assert long.groupby("insee")["distance"].apply(lambda d: bool(np.all(np.diff(d.to_numpy()) >= 0))).all()
    # nobody closer than the 10th peer was left out (checked on the full distance matrix)
    z = PE.feature_matrix(national).to_numpy()
    codes = national["insee"].to_numpy()
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    tenth = long.groupby("insee")["distance"].max().reindex(codes).to_numpy()
    assert np.all((d < tenth[:, None] - 1e-12).sum(axis=1) <= 9)


def test_fixture_peers_of_aurillac_are_towns_and_the_ranks_add_up(national, long):
    aurillac = long[long["insee"].eq("15014")]
    names = aurillac["peer_name"].tolist()
    assert "Le Puy-en-Velay" in names  # the other préfecture of this size, also far from a city
    assert (national.set_index("insee").loc[aurillac["peer_insee"], "population"] > 1000).all()
    out = PE.add_peers(national)
    me = out.loc["15014"]
    peers_index = national.set_index("insee").loc[me["peers"].split(), "index"]
    assert me["peer_rank_index"] == 1 + int((peers_index > me["index"]).sum())
    for c in ("density", "diversity", "dynamics", "directionality"):
        assert out[f"peer_rank_{c}"].min() >= 1 and out[f"peer_rank_{c}"].max() <= 11
    assert me["peers"].split() == aurillac["peer_insee"].tolist()


def test_fixture_peers_do_not_depend_on_row_order(national, long):
    again = PE.peers(national.sample(frac=1.0, random_state=5), k=10)
    pd.testing.assert_frame_equal(long, again)
