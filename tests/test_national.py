"""The national run on Dask (proximity.national) on a 3-département territory.

Lozère, Cantal, Haute-Loire (659 communes): the partitioned run against
:func:`proximity.scores.score_territory` on the same territory, bit-identical results with
0 (in-process), 1 and 2 workers, resume after lost or corrupted partitions, and a failing
département. The loads and runs are shared through module fixtures.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from proximity import national, scores
from proximity.cli import main
from proximity.errors import InputError
from proximity.territory import load_territory

SPEC = "48,15,43"
DEPS = ("15", "43", "48")
#: Population origins per commune (30 by default; fewer keep the tests fast).
PER_COMMUNE = 8


@pytest.fixture(scope="module")
def territory(real_data):
    return load_territory(SPEC)


@pytest.fixture(scope="module")
def reference(territory):
    """The serial single-territory scores (no partitions)."""
    return scores.score_territory(territory, max_per_commune=PER_COMMUNE)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield c.scheduler_address
    c.close()


@pytest.fixture(scope="module")
def runs(territory, cluster, tmp_path_factory):
    """The same territory run in-process (0), on a fresh 1-worker cluster (1) and on the shared 2-worker one (2)."""
    base = tmp_path_factory.mktemp("national")
    return {
        0: national.run_national(territory, base / "serial", workers=0, max_per_commune=PER_COMMUNE),
        1: national.run_national(territory, base / "one", workers=1, max_per_commune=PER_COMMUNE),
        2: national.run_national(territory, base / "two", scheduler=cluster, max_per_commune=PER_COMMUNE),
    }


def _table(path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(path)


def test_partitioned_run_equals_the_serial_scores(runs, reference):
    m = _table(runs[2].municipalities)
    ref = reference.municipalities
    assert sorted(m.index) == sorted(ref.index) and len(m) == 659
    numeric = [
        c
        for c in ref.columns
        if c in m.columns and c not in ("geometry", "rank") and pd.api.types.is_numeric_dtype(ref[c])
    ]
    assert len(numeric) > 60 and {
        "support_gravity",
        "support_2sfca",
        "reach_destinations_gravity",
        "minutes_seaport",
        "support_gravity_smes",
        "density",
        "index",
        "rank_low",
        "rank_high",
        "n_smes",
    } <= set(numeric)
    for c in numeric:
        a = ref[c].astype(float).to_numpy()
        b = m.loc[ref.index, c].astype(float).to_numpy()
        same = (a == b) | (np.abs(a - b) < 1e-9)  # inf == inf
        assert same.all(), f"{c}: {int((~same).sum())} communes differ"
    # the same origins and SMEs were scored
    parts = pd.concat([gpd.read_parquet(runs[2].out / "partitions" / f"{d}.parquet") for d in DEPS])
    assert sorted(parts.index[parts["kind"].eq("origin")]) == sorted(reference.origins.index)
    assert sorted(parts.index[parts["kind"].eq("sme")]) == sorted(reference.smes.index)
    assert m["n_smes"].sum() == len(reference.smes)


def test_results_do_not_depend_on_the_number_of_workers(runs):
    tables = {k: _table(r.municipalities) for k, r in runs.items()}
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    pd.testing.assert_frame_equal(tables[0], tables[2], check_exact=True)
    deps = {k: _table(r.departements) for k, r in runs.items()}
    pd.testing.assert_frame_equal(deps[0], deps[2], check_exact=True)
    assert runs[1].workers == 1 and runs[2].workers == 2 and runs[0].workers == 0


def test_output_columns_ranks_and_peer_features(runs, reference):
    m = _table(runs[2].municipalities)
    for col in (
        "insee",
        "name",
        "departement",
        "region",
        "epci",
        "population",
        "density",
        "diversity",
        "dynamics",
        "directionality",
        "index",
        "rank",
        "rank_departement",
        "rank_low",
        "rank_high",
        "minutes_city_50k",
        "share_pop_airport_30",
    ):
        assert col in m.columns, col
    assert set(m["departement"]) == set(DEPS) and set(m["region"]) == {"76", "84"}
    # national rank: a permutation, higher index first, ties by INSEE code
    assert sorted(m["rank"]) == list(range(1, len(m) + 1))
    order = m.sort_values("rank")
    assert (np.diff(order["index"].to_numpy()) <= 0).all()
    tied = order[order.duplicated("index", keep=False)]
    for _, g in tied.groupby("index"):
        assert list(g["insee"]) == sorted(g["insee"])
    for _dep, g in m.groupby("departement"):
        assert sorted(g["rank_departement"]) == list(range(1, len(g) + 1))
        assert list(g.sort_values("rank")["rank_departement"]) == list(range(1, len(g) + 1))
    assert (m["rank_low"] <= m["rank_high"]).all()
    # peers (proximity.peers): 10 other communes of the territory, rank among them on the index
    ids = m["peers"].str.split(" ")
    assert ids.map(len).eq(10).all() and all(i not in p and set(p) <= set(m.index) for i, p in ids.items())
    assert m["peer_rank_index"].between(1, 11).all()
    # share of the population within 30 min of an airport, from the serial origins
    o = reference.origins
    w = o["weight"].where(o.groupby("insee")["weight"].transform("sum") > 0, 1.0)
    share = (w * (o["minutes_airport"] <= 30)).groupby(o["insee"]).sum() / w.groupby(o["insee"]).sum()
    np.testing.assert_allclose(m.loc[share.index, "share_pop_airport_30"], share, atol=1e-12)
    assert 0 < m["share_pop_airport_30"].mean() < 0.5  # airports of Aurillac, Le Puy, Rodez, Clermont
    # minutes to a city of 50,000+ (Clermont-Ferrand, Saint-Étienne, Montpellier, Nîmes…): finite, plausible
    city = m["minutes_city_50k"]
    assert np.isfinite(city).all() and city.min() > 10 and city.max() < 240
    assert (
        city[m["name"].eq("Aurillac")].iloc[0] > city[m["name"].eq("Yssingeaux")].iloc[0]
    )  # Saint-Étienne is near Yssingeaux


def test_departement_table(runs):
    d = _table(runs[2].departements)
    m = _table(runs[2].municipalities)
    assert sorted(d.index) == list(DEPS)
    assert d["n_communes"].sum() == len(m) and d["population"].sum() == int(m["population"].sum())
    w = m.loc[m["departement"].eq("48"), "population"].astype(float)
    assert d.loc["48", "index"] == pytest.approx(np.average(m.loc[w.index, "index"], weights=w))
    for c in ("gini_support_gravity", "gini_gateways_within_t", "gini_index"):
        assert ((d[c] >= 0) & (d[c] < 1)).all(), c
    assert d.loc["48", "name"] == "Lozère" and d.geometry.notna().all()


def test_provenance_records_cluster_and_tasks(runs):
    prov = json.loads(runs[2].provenance.read_text(encoding="utf-8"))
    assert prov["cluster"]["workers"] == 2 and prov["cluster"]["mode"] == "scheduler"
    assert set(prov["timings"]["tasks"]) == set(DEPS)
    assert all(t["seconds"] > 0 and not t["resumed"] for t in prov["timings"]["tasks"].values())
    assert prov["parameters"]["buffer_minutes"] == 120.0
    assert any(f.get("sha256") for f in prov["inputs"]) and "distributed" in prov["software"]
    # each task's peak memory, measured on its worker (not inherited from the client)
    mem = runs[2].task_memory
    assert set(mem) == set(DEPS) and len({m["worker"] for m in mem.values()}) <= 2
    assert all(50 < m["peak_mb"] < 4000 and 50 < m["before_mb"] < 4000 for m in mem.values())
    assert {d: t["peak_mb"] for d, t in prov["timings"]["tasks"].items()} == {d: m["peak_mb"] for d, m in mem.items()}
    assert all(m["peak_mb"] is None for m in runs[0].task_memory.values())  # in-process: the client's own peak is kept
    for d in DEPS:  # one GeoParquet per département, with its checksum
        side = json.loads((runs[2].out / "partitions" / f"{d}.json").read_text(encoding="utf-8"))
        assert side["sha256"] == national._sha256(runs[2].out / "partitions" / f"{d}.parquet")


def test_resume_recomputes_lost_and_corrupted_partitions(runs, cluster, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(runs[2].out, out)
    (out / "partitions" / "48.parquet").unlink()  # a task that never finished
    p = out / "partitions" / "15.parquet"
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # a torn write
    p.write_bytes(bytes(raw))
    (out / "municipalities.parquet").unlink()
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--territory",
            SPEC,
            "--out",
            str(out),
            "--resume",
            "--scheduler",
            cluster,
            "--origins-per-commune",
            str(PER_COMMUNE),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "municipalities.parquet" in r.output
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert {d: t["resumed"] for d, t in prov["timings"]["tasks"].items()} == {"15": False, "43": True, "48": False}
    pd.testing.assert_frame_equal(
        _table(out / "municipalities.parquet"), _table(runs[2].municipalities), check_exact=True
    )


def test_failing_departement_is_reported_and_writes_no_national_file(runs, cluster, tmp_path, monkeypatch):
    out = tmp_path / "failed"
    shutil.copytree(runs[2].out / "partitions", out / "partitions")
    (out / "partitions" / "43.json").unlink()
    monkeypatch.setenv(national.FAIL_ENV, "43")
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--territory",
            SPEC,
            "--out",
            str(out),
            "--resume",
            "--scheduler",
            cluster,
            "--origins-per-commune",
            str(PER_COMMUNE),
        ],
    )
    assert r.exit_code == 1
    assert "1 département(s) failed after a retry (43: RuntimeError: failure injected" in r.output
    assert "--resume" in r.output and "Traceback" not in r.output
    assert not (out / "municipalities.parquet").exists() and not (out / "departements.parquet").exists()
    assert not (out / "provenance.json").exists()
    assert (out / "partitions" / "48.parquet").exists()  # the finished ones stay for the next --resume


def test_option_errors(tmp_path):
    with pytest.raises(InputError, match=r"either workers .* or scheduler"):
        national.run_national(SPEC, tmp_path / "x", workers=1, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match=r"scheduler='localhost' must be an address such as tcp://HOST:8786"):
        national.run_national(SPEC, tmp_path / "x", scheduler="localhost")
    with pytest.raises(InputError, match="workers=-1 must be an integer"):
        national.run_national(SPEC, tmp_path / "x", workers=-1)
    r = CliRunner().invoke(
        main, ["run", "--territory", SPEC, "--out", str(tmp_path / "y"), "--workers", "2", "--n-smes", "10"]
    )
    assert r.exit_code == 2 and "--n-smes do not apply to the national run" in r.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_buffer_and_subgraph(territory):
    from proximity import milieu

    prof = milieu.load_profile()
    assert national.buffer_minutes(prof) == 120.0  # the gravity horizon (2 x T = 90, reach 90)
    g = territory.csr
    keep = np.zeros(g.n_nodes, dtype=bool)
    keep[: g.n_nodes // 2] = True
    sub = national.subgraph(g, keep)
    assert sub.n_nodes == keep.sum() and (sub.node_ids == g.node_ids[keep]).all()
    i, j = sub.time_s.nonzero()
    assert np.array_equal(np.asarray(sub.time_s[i, j]).ravel(), np.asarray(g.time_s[i, j]).ravel())


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux only")
def test_peak_memory_is_read_and_reset_per_process():
    national._reset_peak_rss()
    base = national._peak_rss_mb()
    block = np.ones(200 * 2**20 // 8)  # 200 MB, touched
    high = national._peak_rss_mb()
    del block
    assert high - base > 150 and national._peak_rss_mb() >= high - 5  # the peak stays after the memory is freed
    assert national._reset_peak_rss() and national._peak_rss_mb() < high - 150
