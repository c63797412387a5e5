"""The whole job on contrasting départements built from the national files (issue 10, §7).

Hauts-de-Seine (92, dense, 36 communes around Paris), Hautes-Alpes (05, mountains, 162
communes) and Corse-du-Sud (2A, an island), with small settings (300 synthetic SMEs, 5
population origins per commune): counts, no NaN, reachability, dropped indicators; and
a commune's results do not depend on the territory it was loaded with (Corse-du-Sud alone
and the whole of Corsica, ``region:94``, which its network's 120 min horizon covers).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from proximity import scores
from proximity.cli import main
from proximity.errors import InputError
from proximity.territory import load_territory

EXPECTED = {
    # spec: communes, population (COG 2026), airports that must be on the network
    "92": (36, 1_654_712, {"CDG", "ORY"}),
    "05": (162, 143_467, {"MRS", "TRN"}),
    "2A": (124, 168_306, {"AJA", "FSC"}),
}


@pytest.fixture(autouse=True)
def _uses_real_data(real_data):
    """Every test here reads the installed national files (an integration test)."""
    return real_data


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def run(request):
    ter = load_territory(request.param, n_smes=300, seed=34)
    res = scores.score_territory(ter, max_per_commune=5)
    return request.param, ter, res


def test_counts(run):
    spec, ter, res = run
    n, pop, airports = EXPECTED[spec]
    assert len(ter.municipalities) == n == len(res.municipalities)
    assert int(ter.municipalities["population"].sum()) == pop
    assert len(ter.smes) == 300 and ter.smes["commune"].isin(ter.municipalities.index).all()
    on = ter.gateways[ter.gateways["on_network"]]
    assert airports <= set(on.loc[on["kind"].eq("airport"), "iata"])
    assert ter.params["territory"]["departements"] == [spec]
    assert res.summary["n_municipalities"] == n


def test_no_nan_and_every_commune_reaches_an_airport(run):
    spec, _ter, res = run
    m = res.municipalities
    num = m.select_dtypes("number")
    assert not num.isna().any().any(), num.columns[num.isna().any()].tolist()
    assert np.isfinite(m["index"]).all() and m["rank"].between(1, len(m)).all()
    # reachability: every commune reaches a commercial airport and a motorway or port
    assert np.isfinite(m["minutes_airport"]).all()
    assert m["minutes_airport"].max() < {"92": 40, "05": 150, "2A": 120}[spec]


def test_missing_inputs_are_dropped_and_named(run):
    spec, _ter, res = run
    dropped = res.summary["dropped_indicators"]
    # no chamber of commerce or foreign-trade office outside Montpellier in the data
    assert {"minutes_chamber_of_commerce", "minutes_foreign_trade_service"} <= set(dropped)
    assert "support file" in dropped["minutes_chamber_of_commerce"]
    if spec == "2A":  # no SNCF station and no motorway in Corsica
        assert {"minutes_tgv_station", "minutes_motorway_access", "rail_ridership_growth"} <= set(dropped)
        assert "norm_minutes_tgv_station" not in res.municipalities.columns
    else:
        assert "minutes_tgv_station" not in dropped and "norm_minutes_tgv_station" in res.municipalities.columns
    assert not {f"norm_{k}" for k in dropped} & set(res.municipalities.columns)


@pytest.fixture(scope="module")
def corsica():
    kw = {"seed": 34}
    south = load_territory("2A", **kw)
    both = load_territory("region:94", **kw)
    return (
        south,
        both,
        scores.score_territory(south, max_per_commune=10_000),
        scores.score_territory(both, max_per_commune=10_000),
    )


def test_a_commune_does_not_depend_on_its_territory(corsica):
    south, both, rs, rb = corsica
    codes = south.municipalities.index
    assert set(codes) < set(both.municipalities.index)
    # the same synthetic firms (ids, attributes, positions) in every 2A commune
    a = south.smes
    b = both.smes[both.smes["commune"].isin(codes)]
    assert len(a) > 700 and list(a.index) == list(b.index)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all()
    # the same travel times and counts from them, and from the communes' population origins.
    # Not always to the last digit: the skeleton is densified inside a territory's area
    # only, so a facility outside 2A (Calvi airport and port, in 2B) snaps to a farther node
    # of the 2A network than of the Corsica one (nearest-node snapping): the firms of Osani,
    # Ota and Partinello, whose nearest airport is Calvi, differ by 0.4-1.0 min.
    cols = ["minutes_airport", "minutes_seaport", "gateways_within_t", "support_within_t"]
    sa = rs.smes[cols].to_numpy(float)
    sb = rb.smes.loc[rs.smes.index, cols].to_numpy(float)
    same = np.isclose(sa, sb, rtol=0, atol=1e-6).all(axis=1)
    assert same.mean() > 0.97
    assert np.abs(sa[:, :2] - sb[:, :2]).max() < 1.5
    ma = rs.municipalities[cols].to_numpy(float)
    mb = rb.municipalities.loc[codes, cols].to_numpy(float)
    assert np.isclose(ma, mb, rtol=0, atol=1e-6).all(axis=1).mean() > 0.9
    assert np.abs(ma[:, :2] - mb[:, :2]).max() < 1.5


def test_cli_territory_forms(tmp_path):
    r = CliRunner().invoke(main, ["layers", "list", "--territory", "2A"])
    assert r.exit_code == 0, r.output
    assert "municipalities    124" in r.output and "airport 7" in r.output
    r = CliRunner().invoke(main, ["layers", "list", "--territory", "34,99"])
    assert r.exit_code == 1
    assert (
        "territory '34,99' is not understood ('99' is not a metropolitan département code); accepted forms:" in r.output
    )
    r = CliRunner().invoke(
        main, ["route", "--territory", "2A", "--from", "41.9192,8.7386", "--to", "41.5006,9.0983", "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert 60 < out["minutes"] < 150 and 90 < out["km"] < 160  # Ajaccio -> Figari airport, ~130 km by road


def test_load_territory_names_a_bad_spec():
    with pytest.raises(InputError, match=r"territory 'region:99' is not understood .*accepted forms"):
        load_territory("region:99")


def test_overview_map_names_the_dropped_indicators(run):
    from proximity import maps

    spec, ter, res = run
    if spec != "2A":
        pytest.skip("one territory is enough for the map")
    html = maps.overview_map(ter, res, link_pages=False).get_root().render()
    assert "Not in the index here" in html
    assert "minutes_tgv_station (no TGV/OUIGO station on the territory" in html
    assert "minutes_airport (" not in html  # Ajaccio, Figari… are on the network


def test_communes_without_inhabitants_are_scored():
    # the six "villages morts pour la France" of the Meuse have no inhabitant: their origins
    # weigh 0, and the commune takes the plain mean of its origins instead of NaN
    ter = load_territory("55", n_smes=100, seed=34)
    dead = ["55039", "55050", "55139", "55189", "55239", "55307"]
    assert (ter.municipalities.loc[dead, "population"] == 0).all()
    res = scores.score_territory(ter, max_per_commune=5)
    m = res.municipalities.loc[dead]
    assert not m.select_dtypes("number").isna().any().any()
    assert np.isfinite(m["minutes_airport"]).all() and np.isfinite(m["index"]).all()
