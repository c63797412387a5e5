"""National maps (proximity.maps.national): checks, encoding, the staged set, links, escaping, sizes, CLI.

The set is built once for the module from the three-département table
(``national_support.national_fixture``) with hostile names; the France size test draws
all 34,700 communes with a FAKE index (``fake_france_table``: a size measurement only).
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from national_support import fake_france_table, national_fixture

from proximity import peers as PE
from proximity.cli import main
from proximity.errors import DataFileError, InputError, MissingColumnError
from proximity.maps import national as N
from proximity.maps.build import save_map

SCRIPT_XSS = "<script>window.__xss=1</script>"
IMG_XSS = '<img src=x onerror="window.__xss=2">'
TEMPLATE_XSS = "${window.__xss=3}{{ 7*7 }}`\\"
AURILLAC = "15014"
PUY = "43157"
MAX_OVERVIEW_MB = 8.0


def hostile_table() -> gpd.GeoDataFrame:
    """The fixture with three communes renamed to hostile names (one per département)."""
    t = national_fixture().copy()
    firsts = [t.index[t["departement"].eq(d)].min() for d in ("15", "43", "48")]
    for code, name in zip(firsts, (SCRIPT_XSS, IMG_XSS, TEMPLATE_XSS), strict=True):
        t.loc[code, "name"] = name
    return t


@pytest.fixture(scope="module")
def table(real_data):
    return hostile_table()


@pytest.fixture(scope="module")
def hostile_codes(table):
    return {name: table.index[table["name"].eq(name)][0] for name in (SCRIPT_XSS, IMG_XSS, TEMPLATE_XSS)}


@pytest.fixture(scope="module")
def map_set(table, hostile_codes, tmp_path_factory):
    out = tmp_path_factory.mktemp("national") / "maps"
    written = N.build_national_maps(table, out=out, communes=[AURILLAC, hostile_codes[SCRIPT_XSS]])
    return out, written


def panels(html: str) -> str:
    """The HTML of the page's panels (given to the page as JSON strings), decoded."""
    return "".join(json.loads(m) for m in re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', html))


def parsed(html: str) -> list:
    """The objects given to the page's scripts as ``JSON.parse('...')``, decoded."""
    literals = re.findall(r"JSON\.parse\('((?:[^'\\]|\\.)*)'\)", html)
    return [json.loads(re.sub(r"\\(.)", r"\1", literal)) for literal in literals]


def page_data(html: str) -> dict:
    """The communes' data of a national page."""
    found = [o for o in parsed(html) if "ids" in o and "N" in o]
    assert len(found) == 1, "no national data in the page"
    return found[0]


def deps_data(html: str) -> dict:
    """The départements' data of the overview."""
    found = [o for o in parsed(html) if "ids" in o and "mean" in o]
    assert len(found) == 1, "no départements in the page"
    return found[0]


# --------------------------------------------------------------------------- checks
def test_check_national_errors(table):
    with pytest.raises(InputError, match="must be a GeoDataFrame"):
        N.check_national(pd.DataFrame(table.drop(columns="geometry")))
    with pytest.raises(MissingColumnError, match=r"\['rank_departement'\].*national run"):
        N.check_national(table.drop(columns="rank_departement"))
    bad = table.copy()
    bad.iloc[0, bad.columns.get_loc("insee")] = "1500"
    bad.iloc[1, bad.columns.get_loc("departement")] = "150"
    with pytest.raises(
        InputError, match=r"INSEE codes not of the form.*'1500'.*département codes not of the form.*'150'"
    ):
        N.check_national(bad)
    dup = table.copy()
    dup.iloc[1, dup.columns.get_loc("insee")] = dup["insee"].iloc[0]
    with pytest.raises(InputError, match="duplicate INSEE codes"):
        N.check_national(dup)
    frac = table.copy()
    frac["rank"] = frac["rank"].astype(float) + 0.5
    with pytest.raises(InputError, match="'rank' must be whole numbers"):
        N.check_national(frac)
    pts = table.copy()
    pts["geometry"] = pts.geometry.centroid
    with pytest.raises(InputError, match=r"geometry must be a \(Multi\)Polygon"):
        N.check_national(pts)
    with pytest.raises(InputError, match="has no CRS"):
        N.check_national(table.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="quantum_deg must be a number"):
        N.national_overview(table, quantum_deg=0)
    with pytest.raises(InputError, match=r"link_communes: \[.99999.\] are not communes"):
        N.national_overview(table, link_communes=["99999"])
    with pytest.raises(InputError, match="departement '99' is not in the table"):
        N.departement_map(table, "99")
    with pytest.raises(InputError, match="communes must be a list of codes"):
        N.build_national_maps(table, out="x", communes="15014")


def test_check_national_sorts_and_projects(table):
    t = N.check_national(table.sample(frac=1.0, random_state=1).to_crs("EPSG:4326"))
    assert list(t.index) == sorted(table.index)
    assert t.crs.to_epsg() == 2154


def test_encode_polygons_closed_form():
    square = shapely.Polygon([(1.0, 2.0), (1.002, 2.0), (1.002, 2.003), (1.0, 2.003)])
    holed = shapely.Polygon(
        [(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)], [[(0.004, 0.004), (0.006, 0.004), (0.006, 0.006)]]
    )
    enc = N.encode_polygons([square, shapely.MultiPolygon([holed, square])], quantum_deg=1e-3)
    assert enc[0] == [[[1000, 2000, 2, 0, 0, 3, -2, 0]]]
    # second feature: steps continue across rings and parts
    (outer, hole), (sq,) = enc[1]
    assert outer == [0, 0, 10, 0, 0, 10, -10, 0]
    assert hole == [4, -6, 2, 0, 0, 2]
    assert sq == [994, 1994, 2, 0, 0, 3, -2, 0]


def test_encode_polygons_round_trip_on_the_fixture(table):
    geoms = N._simplified(table.geometry, 60.0)
    q = 1e-4
    enc = N.encode_polygons(geoms.values, quantum_deg=q)
    for feat, g in zip(enc[:50], geoms.values[:50], strict=True):
        x = y = 0
        pts = []
        for poly in feat:
            for ring in poly:
                for i in range(0, len(ring), 2):
                    x += ring[i]
                    y += ring[i + 1]
                    pts.append((x * q, y * q))
        d = shapely.distance(shapely.points(pts), g.boundary)
        assert d.max() <= q  # every decoded point within one grid step of the outline


def test_quantile_classes():
    c = N.quantile_classes(np.r_[np.arange(60.0), np.nan], k=6)
    assert c.counts == [10] * 6
    assert c.codes[-1] == -1 and c.codes[0] == 0 and c.codes[59] == 5
    assert c.labels[0] == "0.00 – 9.0"


# --------------------------------------------------------------------------- the set
def test_set_files_and_staging(map_set, hostile_codes):
    out, written = map_set
    names = sorted(str(p.relative_to(out)) for p in written)
    assert names == sorted(
        [
            "overview.html",
            "index.html",
            "departements/15.html",
            "departements/43.html",
            "departements/48.html",
            f"communes/{AURILLAC}.html",
            f"communes/{hostile_codes[SCRIPT_XSS]}.html",
        ]
    )
    assert all(p.is_file() for p in written)
    manifest = json.loads((out / ".proximity-run-maps-national.json").read_text())
    assert sorted(manifest["files"]) == names
    assert not list(out.parent.glob(".maps.proximity-*"))  # no staging folder left


def test_rebuild_keeps_on_demand_pages_drops_old_set_pages(table, tmp_path):
    out = tmp_path / "maps"
    N.build_national_maps(table, out=out, communes=[AURILLAC], departements=["15", "43"])
    on_demand = N.write_commune_pages(table, [PUY], out=out)
    assert on_demand == [out / "communes" / f"{PUY}.html"]
    N.build_national_maps(table, out=out, departements=["48"])
    assert (out / "communes" / f"{PUY}.html").is_file()  # written on demand: kept
    assert not (out / "communes" / f"{AURILLAC}.html").exists()  # of the previous set: removed
    assert sorted(p.name for p in (out / "departements").iterdir()) == ["48.html"]


def test_overview_data_and_links(map_set, table):
    out, _ = map_set
    html = (out / "overview.html").read_text(encoding="utf-8")
    d = page_data(html)
    assert d["ids"] == sorted(table.index)
    assert d["N"] == len(table)
    i = d["ids"].index(AURILLAC)
    r = table.loc[AURILLAC]
    assert (d["names"][i], d["rank"][i], d["rdep"][i]) == (r["name"], int(r["rank"]), int(r["rank_departement"]))
    assert d["idx"][i] == round(float(r["index"]), 1)
    assert d["deps"][d["dep"][i]] == ["15", "Cantal", int((table["departement"] == "15").sum())]
    assert d["depPrefix"] == "departements/" and d["communePrefix"] == "communes/"
    assert [d["ids"][p] for p in d["pages"]] == sorted([AURILLAC, table.index[table["name"].eq(SCRIPT_XSS)][0]])
    # the département layer links every département to a page that exists
    deps = deps_data(html)
    assert deps["ids"] == ["15", "43", "48"]
    for code in deps["ids"]:
        assert (out / "departements" / f"{code}.html").is_file()
    # population-weighted mean index of the Cantal
    c = table[table["departement"].eq("15")]
    k = deps["ids"].index("15")
    assert deps["mean"][k] == round(float(np.average(c["index"], weights=c["population"])), 1)
    assert sorted(deps["rank"]) == [1, 2, 3]
    assert 'href="index.html"' in panels(html)
    # class codes agree with the legend counts
    codes = d["codes"]["index"]
    assert len(codes) == len(table) and set(codes) <= set("012345")
    assert sorted(codes.count(str(k)) for k in range(6)) == sorted(N.quantile_classes(table["index"].to_numpy()).counts)


def test_departement_page_and_index_links(map_set, table, hostile_codes):
    out, _ = map_set
    page = (out / "departements" / "15.html").read_text(encoding="utf-8")
    d = page_data(page)
    html = panels(page)
    cantal = table[table["departement"].eq("15")]
    assert d["ids"] == sorted(cantal.index)
    assert 'href="../overview.html"' in html and 'href="../index.html"' in html
    assert f'href="../communes/{AURILLAC}.html"' in html  # built with the set: linked
    assert [d["ids"][p] for p in d["pages"]] == sorted([AURILLAC, hostile_codes[SCRIPT_XSS]])
    assert "../communes/15002.html" not in html  # not built: not linked
    rows = re.findall(r'<tr data-insee="(\d{5})"><td>(\d+)</td>', html)
    assert [c for c, _ in rows] == list(cantal.sort_values("rank_departement").index)
    assert [int(r) for _, r in rows] == list(range(1, len(cantal) + 1))
    # peers: computed from the features, ten per commune, the same as proximity.peers
    i = d["ids"].index(AURILLAC)
    mine = PE.peers(national_fixture(), k=10)
    expected = mine.loc[mine["insee"].eq(AURILLAC), "peer_insee"].tolist()
    names = [d["peerInfo"][p][0] for p in d["peers"][i]]
    assert names == [table.loc[c, "name"] for c in expected]
    index_html = (out / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'href="departements/(\w+)\.html"', index_html)) == ["15", "43", "48"]
    assert 'href="overview.html"' in index_html


def test_commune_page_ranks_and_peers(map_set, table):
    out, _ = map_set
    html = panels((out / "communes" / f"{AURILLAC}.html").read_text(encoding="utf-8"))
    r = table.loc[AURILLAC]
    n_dep = int((table["departement"] == "15").sum())
    assert f"Rank <b>{int(r['rank'])}</b> of {len(table)} communes in France" in html
    assert f"Rank <b>{int(r['rank_departement'])}</b> of {n_dep} in Cantal" in html
    long = PE.peers(national_fixture(), k=10)
    for code in long.loc[long["insee"].eq(AURILLAC), "peer_insee"]:
        assert table.loc[code, "name"].replace("'", "&#x27;") in html
    with_peers = PE.add_peers(national_fixture())
    assert f"Rank <b>{int(with_peers.loc[AURILLAC, 'peer_rank_index'])}</b> of 11 among itself and its peers" in html
    assert 'href="../departements/15.html"' in html and 'href="../overview.html"' in html


def test_commune_page_needs_peers(table):
    with pytest.raises(MissingColumnError, match="minutes_city_50k and share_pop_airport_30"):
        N.commune_map(table.drop(columns=["minutes_city_50k"]), AURILLAC)
    with pytest.raises(InputError, match=r"insee: \['1'\] are not communes"):
        N.commune_map(table, "1")


def test_hostile_names_are_inert_in_every_page(map_set, hostile_codes):
    out, written = map_set
    for p in written:
        html = p.read_text(encoding="utf-8")
        for raw in (SCRIPT_XSS, IMG_XSS, "{{ 7*7 }}"):
            assert raw not in html, (p.name, raw)
        # "${" is inert in a JSON string (the overview's data, built into HTML by esc()), never in HTML
        assert "${window" not in panels(html), p.name
    dep = panels((out / "departements" / "15.html").read_text(encoding="utf-8"))
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in dep  # the table row, escaped
    assert "&#123;&#123; 7*7 &#125;&#125;" in panels((out / "departements" / "48.html").read_text(encoding="utf-8"))
    page = panels((out / "communes" / f"{hostile_codes[SCRIPT_XSS]}.html").read_text(encoding="utf-8"))
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    # the overview keeps the raw name in JSON (searchable), with "<" escaped
    overview = (out / "overview.html").read_text(encoding="utf-8")
    assert "\\\\u003cscript>window.__xss=1\\\\u003c/script>" in overview
    assert SCRIPT_XSS in page_data(overview)["names"]


def test_read_national_and_cli(table, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    national_fixture().to_parquet(run / "municipalities.parquet")
    t, synthetic = N.read_national(run)
    assert len(t) == len(table) and synthetic is True
    (run / "provenance.json").write_text(json.dumps({"parameters": {"smes_file": "sirene"}}))
    assert N.read_national(run)[1] is False
    runner = CliRunner()
    res = runner.invoke(main, ["maps", "--territory", "france", "--national", str(run), "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "overview.html").is_file() and (tmp_path / "m" / "departements" / "43.html").is_file()
    res = runner.invoke(
        main, ["maps", "--territory", "france", "--national", str(run), "--out", str(tmp_path / "m"), "--commune", PUY]
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines() == [str(tmp_path / "m" / "communes" / f"{PUY}.html")]
    assert "Le Puy-en-Velay" in panels((tmp_path / "m" / "communes" / f"{PUY}.html").read_text(encoding="utf-8"))
    res = runner.invoke(main, ["maps", "--national", str(run), "--out", str(tmp_path / "m"), "--commune", "99999"])
    assert res.exit_code == 1 and "['99999'] are not communes of the table" in res.stderr
    res = runner.invoke(main, ["maps", "--national", str(tmp_path), "--out", str(tmp_path / "m")])
    assert res.exit_code == 1 and "has no municipalities.parquet" in res.stderr
    res = runner.invoke(main, ["maps", "--out", str(tmp_path / "m"), "--commune", PUY])
    assert res.exit_code == 2 and "--commune needs --national" in res.stderr
    (run / "municipalities.parquet").write_text("not parquet")
    with pytest.raises(DataFileError, match=r"cannot be read as GeoParquet.*rerun the national run"):
        N.read_national(run)


# --------------------------------------------------------------------------- France
@pytest.fixture(scope="module")
def france_overview(real_data, tmp_path_factory):
    """The overview of all 34,700 communes with a FAKE index (size only)."""
    t = fake_france_table()
    path = tmp_path_factory.mktemp("france") / "overview.html"
    save_map(N.national_overview(t), path)
    return t, path


def test_france_overview_is_under_8_mb_with_every_commune(france_overview):
    t, path = france_overview
    size_mb = path.stat().st_size / 1e6
    assert 2.0 < size_mb < MAX_OVERVIEW_MB
    d = page_data(path.read_text(encoding="utf-8"))
    assert len(d["ids"]) == len(t) > 34_000
    assert len(d["deps"]) == 96
    assert sum(1 for f in d["geom"] if not f) == 0  # every commune keeps a polygon


def test_peer_list_reads_strings_lists_and_missing():
    assert N.peer_list("15014 43157") == ["15014", "43157"]
    assert N.peer_list(np.array(["15014", "43157"], dtype=object)) == ["15014", "43157"]
    assert N.peer_list(None) == [] and N.peer_list(float("nan")) == []
