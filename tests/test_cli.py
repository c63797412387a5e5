"""The command line: help everywhere, one-line errors with exit 1, usage errors exit 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from proximity.cli import main


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["data"],
        ["data", "install"],
        ["data", "verify"],
        ["data", "sources"],
        ["layers"],
        ["layers", "list"],
        ["layers", "show"],
        ["layers", "export"],
        ["network"],
        ["network", "build"],
        ["route"],
        ["score"],
        ["run"],
        ["traveltime"],
        ["raster"],
    ],
)
def test_help_everywhere(runner, args):
    r = runner.invoke(main, [*args, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output


def test_data_sources_and_verify(runner, real_data):
    r = runner.invoke(main, ["data", "sources"])
    assert r.exit_code == 0
    assert "OpenStreetMap contributors" in r.output and "travelmapping_wpt" in r.output
    r = runner.invoke(main, ["data", "verify"])
    assert r.exit_code == 0 and "files verified" in r.output


def test_data_install_bad_mirror_is_one_line_exit_1(runner, tmp_path):
    r = runner.invoke(main, ["data", "install", "--mirror", str(tmp_path / "nope"), "--target", str(tmp_path / "t")])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("proximity: error: mirror folder")
    assert "Traceback" not in r.output


def test_usage_error_exits_2(runner):
    r = runner.invoke(main, ["route", "--from", "43.6"])
    assert r.exit_code == 2
    r = runner.invoke(main, ["layers", "show", "planets"])
    assert r.exit_code == 2


def test_layers_list_counts(runner, real_data):
    r = runner.invoke(main, ["layers", "list"])
    assert r.exit_code == 0, r.output
    assert "municipalities    341  population 1,230,289" in r.output
    assert "airport 4" in r.output and "rail_station 25" in r.output
    assert "synthetic" in r.output


def test_route_json_comedie_to_airport(runner, real_data):
    r = runner.invoke(main, ["route", "--from", "43.6086,3.8797", "--to", "43.5762,3.96301", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert 12 <= out["minutes"] <= 25
    assert 8 <= out["km"] <= 20
    assert out["reachable"] is True


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_route_without_a_route_is_strict_json_and_exit_3(real_data, runner, as_json):
    # 43.25,3.60: in the sea inside the territory's bounds, more than 5 km from any road
    r = runner.invoke(
        main, ["route", "--from", "43.6086,3.8797", "--to", "43.25,3.60"] + (["--json"] if as_json else [])
    )
    assert r.exit_code == 3, r.output
    assert "Traceback" not in r.output and "inf" not in r.stdout.lower()
    if as_json:
        out = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
        assert out["minutes"] is None and out["km"] is None and out["reachable"] is False
        assert "destination_point more than 5000 m from the network" in out["reason"]
    else:
        assert r.stdout == ""
        assert r.stderr.startswith("proximity: no route: destination_point more than 5000 m")
    r = runner.invoke(main, ["route", "--help"])
    assert "3 when there is none" in r.output


def test_route_from_a_point_to_itself_is_0_minutes(real_data, runner):
    r = runner.invoke(main, ["route", "--from", "43.6086,3.8797", "--to", "43.6086,3.8797", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["minutes"] == 0.0 and out["km"] == 0.0 and out["reachable"] is True


def test_route_swapped_lat_lon_is_one_line_exit_1(runner):
    r = runner.invoke(main, ["route", "--from", "3.8797,43.6086", "--to", "43.5762,3.96301", "--json"])
    assert r.exit_code == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "look swapped" in lines[0]


def test_score_with_a_bad_profile_is_one_line(runner, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[components]\ndensty = 1\n")
    r = runner.invoke(main, ["score", "--out", str(tmp_path / "o"), "--profile", str(p)])
    assert r.exit_code == 1
    assert "unknown key(s) 'densty'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_score_writes_tables_and_provenance(runner, real_data, tmp_path):
    out = tmp_path / "scores"
    r = runner.invoke(main, ["score", "--out", str(out), "--n-smes", "600", "--normalisation", "rank"])
    assert r.exit_code == 0, r.output + r.stderr
    for name in ("municipalities.gpkg", "municipalities.csv", "smes.gpkg", "smes.csv", "provenance.json"):
        assert (out / name).is_file()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["profile"]["normalisation"] == "rank"
    assert prov["smes"]["synthetic"] is True and "SYNTHETIC" in prov["smes"]["note"]
    assert any(i["key"] == "communes_polygons" and len(i["sha256"]) == 64 for i in prov["inputs"])
    assert not list(out.glob(".*.part*"))
    import geopandas as gpd

    m = gpd.read_file(out / "municipalities.gpkg")
    assert len(m) == 341 and {"insee", "index", "rank", "rank_low", "rank_high", "density"} <= set(m.columns)


def test_out_path_that_is_a_file(runner, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    r = runner.invoke(main, ["score", "--out", str(f)])
    assert r.exit_code == 2 and "is a file" in r.stderr  # click rejects it as a usage error
    from proximity import _io
    from proximity.errors import InputError

    with pytest.raises(InputError, match="is a file; pass a folder"):
        _io.check_out_dir(f)


# ---------------------------------------------------------------- library pieces behind the CLI
def test_route_latlon_checks_bounds_itself(herault):
    from proximity import traveltime
    from proximity.errors import InputError

    with pytest.raises(InputError, match=r"origin 3\.8797,43\.6086 is outside the network's extent .*look swapped"):
        traveltime.route_latlon(herault.csr, (3.8797, 43.6086), (43.5762, 3.96301))
    with pytest.raises(
        InputError,
        match=r"destination 48\.85,2\.35 is outside the network's extent \(lat 4\d\.\d+–4\d\.\d+, lon \d\.\d+–\d\.\d+\)$",
    ):
        traveltime.route_latlon(herault.csr, (43.6086, 3.8797), (48.85, 2.35))  # Paris: no swap hint
    # the regional skeleton (A9, A61, A75) reaches beyond the territory's plausible bounds
    west, south, east, north = traveltime.network_bounds_wgs84(herault.csr)
    man_w, man_s, man_e, man_n = herault.manifest.bounds_wgs84
    assert west < man_w and south < man_s and east > man_e and north > man_n
    with pytest.raises(
        InputError, match=r"destination 44\.5,3\.5 is outside the network's extent \(lat 43–44\.2, lon 2\.3–4\.7\)$"
    ):
        traveltime.route_latlon(herault.csr, (43.6086, 3.8797), (44.5, 3.5), bounds_wgs84=herault.manifest.bounds_wgs84)
    r = traveltime.route_latlon(
        herault.csr, (43.6086, 3.8797), (43.5762, 3.96301), bounds_wgs84=herault.manifest.bounds_wgs84
    )
    assert 12 <= r.minutes <= 25


def test_load_layer_and_write_layer_dispatch(real_data, tmp_path):
    import geopandas as gpd
    import pandas as pd

    from proximity import _io
    from proximity.errors import InputError
    from proximity.territory import load_layer

    gws = load_layer("gateways")
    assert len(gws) == 84 and set(gws["group"]) == {
        "airport",
        "seaport",
        "tgv_station",
        "rail_station",
        "motorway_access",
    }
    with pytest.raises(InputError, match="layer 'roads' is unknown; choose one of municipalities, gateways"):
        load_layer("roads")
    _io.write_layer(gws, tmp_path / "g.geojson", name="gateways")
    _io.write_layer(gws, tmp_path / "g.gpkg", name="gateways")
    _io.write_layer(gws, tmp_path / "g.csv", name="gateways")
    assert len(gpd.read_file(tmp_path / "g.geojson")) == len(gpd.read_file(tmp_path / "g.gpkg", layer="gateways")) == 84
    csv = pd.read_csv(tmp_path / "g.csv")
    assert csv.loc[csv["id"].eq("airport:LFMT"), "lat"].item() == pytest.approx(43.5762, abs=1e-3)
    with pytest.raises(InputError, match=r"unsupported extension '\.shp'; use \.gpkg, \.geojson or \.csv"):
        _io.write_layer(gws, tmp_path / "g.shp")
    assert not (tmp_path / "g.shp").exists()


def test_layers_export_bad_extension_fails_before_loading(runner, tmp_path):
    r = runner.invoke(main, ["layers", "export", "smes", "--out", str(tmp_path / "smes.xlsx")])
    assert r.exit_code == 1 and "unsupported extension '.xlsx'" in r.stderr and not (tmp_path / "smes.xlsx").exists()


def test_run_and_maps_accept_user_data(runner):
    for cmd in ("run", "maps"):
        r = runner.invoke(main, [cmd, "--help"])
        assert r.exit_code == 0
        for option in ("--smes", "--support", "--profile", "--standalone"):
            assert option in r.output, (cmd, option)


def test_maps_command_builds_the_map_set_from_user_data(runner, herault, tmp_path):
    """``proximity maps`` with the user's SMEs and support body: they reach the scores and every map."""
    import geopandas as gpd

    from proximity._html import escape

    sample = herault.smes[herault.smes["naf_section"].isin(["C", "J", "M"])].iloc[::6].to_crs("EPSG:4326")
    sirene = gpd.pd.DataFrame(
        {
            "siret": [f"{90000000000000 + i:014d}" for i in range(len(sample))],
            "etatAdministratifEtablissement": "A",
            "activitePrincipaleEtablissement": sample["naf"].to_numpy(),
            "trancheEffectifsEtablissement": "11",
            "codeCommuneEtablissement": sample["commune"].to_numpy(),
            "denominationUsuelleEtablissement": [f"Atelier <b>{i}</b>" for i in range(len(sample))],
            "longitude": sample.geometry.x.round(6).to_numpy(),
            "latitude": sample.geometry.y.round(6).to_numpy(),
            "exporter": [
                "true" if i % 3 == 0 else "false" for i in range(len(sample))
            ],  # SIRENE has none: the user adds it
        }
    )
    smes_csv = tmp_path / "sirene.csv"
    sirene.to_csv(smes_csv, index=False)
    support_csv = tmp_path / "support.csv"
    support_csv.write_text(
        "id,name,category,lat,lon\nclub,Club export <i>Béziers</i>,foreign_trade_service,43.3442,3.2158\n",
        encoding="utf-8",
    )
    out = tmp_path / "maps"
    r = runner.invoke(main, ["maps", "--out", str(out), "--smes", str(smes_csv), "--support", str(support_csv)])
    assert r.exit_code == 0, r.output + r.stderr
    listed = r.stdout.split()
    assert all(p.startswith(str(out)) for p in listed)  # only the maps: the tables went to a temporary folder
    # (the hidden .proximity-run-*.json lists the files of the run: see _io.staged_output)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "assets",
        "communes",
        "export_groups.html",
        "index.html",
        "overview.html",
    ]
    assert len(list((out / "communes").glob("*.html"))) == 341
    shared = (out / "assets" / "communes.js").read_text(encoding="utf-8")
    assert escape("Club export <i>Béziers</i>") in shared  # the user's support body, escaped
    assert "<i>" not in shared and "SYNTHETIC" not in shared
    # the user's firms are on the page of their municipality, and they are what the scores counted
    commune = sample["commune"].value_counts().index[0]
    n = int((sample["commune"] == commune).sum())
    page = (out / "communes" / f"{commune}.html").read_text(encoding="utf-8")
    assert escape("Atelier <b>") in page and "SYNTHETIC" not in page
    assert f"SMEs ({n})" in page
    overview = (out / "overview.html").read_text(encoding="utf-8")
    assert f"{n} SMEs in the municipality" in overview and "(synthetic)" not in overview
