"""Scores of the default territory: indicators, the milieu index, properties, determinism."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from proximity import milieu, pipeline, scores


def test_every_municipality_scored_without_nan(herault_scores):
    m = herault_scores.municipalities
    assert len(m) == 341 and m.index.is_unique
    cols = ["index", "rank", "rank_low", "rank_high", *milieu.COMPONENTS]
    assert not m[cols].isna().any().any()
    assert m["index"].between(0, 100).all()
    assert sorted(m["rank"]) == sorted(m["index"].rank(ascending=False, method="min").astype(int))
    assert (m["rank_low"] <= m["rank_high"]).all()
    # population- and SME-weighted aggregates are both reported
    assert {"minutes_airport", "minutes_airport_smes", "n_smes"} <= set(m.columns)
    assert m["n_smes"].sum() == len(herault_scores.smes)


def test_metropole_ranks_above_haut_languedoc_on_gateway_access(herault_scores):
    m = herault_scores.municipalities
    metro = m[m["metropole"]]
    remote = m[m["epci_name"].isin(["CC du Haut-Languedoc", "CC du Minervois au Caroux"])]
    assert len(metro) == 31 and len(remote) > 20
    assert metro["density"].median() > remote["density"].max() * 0.95
    assert metro["index"].median() > remote["index"].quantile(0.9)
    assert metro["minutes_airport"].max() < remote["minutes_airport"].min()
    assert m.loc["34172", "rank"] <= 20  # Montpellier
    # the bottom 5 are all remote upland communes
    bottom = m.sort_values("rank").tail(5)
    assert bottom["epci_type"].eq("CC").all()


def test_minutes_to_airport_are_plausible(herault_scores):
    m = herault_scores.municipalities
    assert m.loc["34192", "minutes_airport"] < 15  # Pérols, next to Montpellier-Méditerranée
    assert m.loc["34154", "minutes_airport"] < 15  # Mauguio, the airport's commune
    assert m.loc["34032", "minutes_airport"] < 25  # Béziers, near Béziers-Vias
    assert (m["minutes_airport"] < 120).all()


def test_indicators_per_sme_and_synthetic_label(herault_scores):
    s = herault_scores.smes
    assert s["synthetic"].all()
    for c in ("minutes_airport", "support_within_t", "support_gravity", "support_2sfca", "municipality_index"):
        assert c in s and not s[c].isna().any()
    assert herault_scores.summary["smes_synthetic"] is True


def test_equity_summary_is_bounded(herault_scores):
    eq = herault_scores.summary["equity"]
    for v in eq.values():
        assert 0 <= v["gini"] < 1 and v["palma"] > 0
    within = herault_scores.summary["population_within_minutes"]
    assert within["airport_30"] <= within["airport_45"] <= within["airport_60"] <= 1_230_289 + 1


def _small_origins(herault, n=60):
    m = herault.municipalities
    pts = m.geometry.representative_point().iloc[:: 341 // n][:n]
    return gpd.GeoDataFrame(geometry=pts.to_numpy(), index=pts.index, crs=m.crs)


def test_adding_a_support_body_never_lowers_gravity(herault):
    origins = _small_origins(herault)
    kw = {"gateways": herault.gateways, "smes": herault.smes}
    base = scores.origin_indicators(herault.csr, origins, support_bodies=herault.support_bodies, **kw)
    extra = herault.support_bodies.iloc[:1].copy()
    extra.index = ["test:new-chamber"]
    extra["geometry"] = [Point(3.30, 43.60)]  # Clermontais, far from the existing bodies
    extra["on_network"] = True
    more = scores.origin_indicators(
        herault.csr, origins, support_bodies=pd.concat([herault.support_bodies, extra]), **kw
    )
    assert (more["support_gravity"] >= base["support_gravity"] - 1e-12).all()
    assert (more["support_gravity"] > base["support_gravity"]).any()
    assert (more["minutes_chamber_of_commerce"] <= base["minutes_chamber_of_commerce"] + 1e-9).all()
    assert (more["minutes_chamber_of_commerce"] < base["minutes_chamber_of_commerce"]).any()


def test_adding_a_gateway_never_raises_a_nearest_time(herault):
    origins = _small_origins(herault)
    kw = {"support_bodies": herault.support_bodies, "smes": herault.smes}
    base = scores.origin_indicators(herault.csr, origins, gateways=herault.gateways, **kw)
    extra = herault.gateways[herault.gateways["kind"].eq("airport")].iloc[:1].copy()
    extra.index = ["airport:TEST"]
    extra["geometry"] = [Point(3.40, 43.75)]
    extra["on_network"] = True
    more = scores.origin_indicators(herault.csr, origins, gateways=pd.concat([herault.gateways, extra]), **kw)
    assert (more["minutes_airport"] <= base["minutes_airport"] + 1e-9).all()
    assert (more["minutes_airport"] < base["minutes_airport"]).any()


def test_larger_catchment_never_lowers_counts(herault, tmp_path):
    origins = _small_origins(herault, 30)
    prof = milieu.load_profile()
    wide = dataclasses.replace(prof, parameters={**prof.parameters, "catchment_minutes": 60.0})
    kw = {"gateways": herault.gateways, "support_bodies": herault.support_bodies, "smes": herault.smes}
    a = scores.origin_indicators(herault.csr, origins, profile=prof, **kw)
    b = scores.origin_indicators(herault.csr, origins, profile=wide, **kw)
    for c in ("support_within_t", "gateways_within_t", "smes_within_t", "students_within_t"):
        assert (b[c] >= a[c]).all()


def test_same_inputs_and_seed_give_byte_identical_csv(herault, tmp_path):
    small = dataclasses.replace(herault, smes=herault.smes.iloc[:400])
    outs = []
    for k in range(2):
        res = scores.score_territory(small, max_per_commune=4)
        out = tmp_path / f"run{k}"
        out.mkdir()
        pipeline.write_scores(res, out, {"run": k})
        outs.append(out)
    for name in ("municipalities.csv", "smes.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_profile_options_change_the_index(herault_scores):
    m = herault_scores.municipalities
    ind = m.drop(columns="geometry")
    prof = herault_scores.profile
    by_rank = milieu.composite(ind, prof.with_options(normalisation="rank"))
    assert by_rank["index"].between(0, 100).all()
    assert not np.allclose(by_rank["index"], m["index"])
    # Spearman correlation stays high: the index is robust to the normalisation
    assert by_rank["index"].rank().corr(m["index"].rank()) > 0.9


def test_population_origins_carry_each_commune_population(herault):
    o = scores.population_origins(herault.municipalities, herault.csr, max_per_commune=10)
    per = o.groupby("insee")["weight"].sum()
    pd.testing.assert_series_equal(
        per.sort_index(),
        herault.municipalities["population"].astype(float).sort_index(),
        check_names=False,
        check_index_type=False,
    )
    assert o.groupby("insee").size().max() <= 10
    assert set(o["placement"]) <= {"node", "representative_point"}


def test_population_raster_feeds_the_summary_and_shares(herault, tmp_path):
    from proximity import raster

    small = dataclasses.replace(herault, smes=herault.smes.iloc[:300])
    raster.write_rasters(small, tmp_path, cell_m=1000.0, kinds=("airport", "tgv_station"))
    pw = pd.read_csv(tmp_path / "population_within.csv", index_col=0, dtype={0: str})
    res = scores.score_territory(small, max_per_commune=4, population_within=pw)
    assert res.summary["population_within_source"].startswith("population raster")
    assert res.summary["population_within_minutes"]["airport_30"] == pytest.approx(pw.loc["total", "airport_30"])
    m = res.municipalities
    assert m["share_within_airport_60"].between(0, 1 + 1e-9).all()
    assert (m["share_within_airport_30"] <= m["share_within_airport_60"] + 1e-9).all()
    assert m.loc["34154", "share_within_airport_30"] > 0.99  # Mauguio, the airport's commune
    with pytest.raises(Exception, match="needs a 'total' row"):
        scores.score_territory(small, max_per_commune=4, population_within=pw.drop(index="total"))
