"""The data manifest and installer: checksums, mirror and error paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proximity import datasets
from proximity.errors import ConfigError, DataFileError


def test_manifest_lists_every_source_with_licence_and_upstream():
    man = datasets.load_manifest("herault")
    assert man.crs == "EPSG:2154"
    assert len(man.files) > 900  # 18 single files + the Travel Mapping route files
    for f in man.files:
        assert len(f.sha256) == 64 and f.bytes > 0
        assert f.licence and f.attribution
        assert f.upstream.startswith("https://")
    keys = {s["key"] for s in man.sources()}
    assert {"communes_polygons", "airports", "travelmapping_wpt", "sncf_stations"} <= keys


def test_unknown_territory_and_key_are_named():
    with pytest.raises(ConfigError, match="territory 'atlantis' is unknown"):
        datasets.load_manifest("atlantis")
    with pytest.raises(ConfigError, match="data key 'nope' is not in"):
        datasets.path("nope")


def test_installed_files_verify(real_data):
    # the suite runs after `proximity data install` (scripts/test.sh)
    assert datasets.verify("herault") == len(datasets.load_manifest("herault").files)
    assert datasets.path("airports").name == "airports.csv"
    assert (datasets.path("travelmapping_wpt") / "hwy_data" / "FRA-OCC" / "fraa" / "fraocc.a009.wpt").is_file()


def _mini_mirror(tmp_path: Path, keys: list[str]) -> Path:
    """A mirror holding only some files, copied from the installed territory."""
    man = datasets.load_manifest("herault")
    mirror = tmp_path / "mirror"
    for k in keys:
        f = man.file(k)
        dest = mirror / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(datasets.path(k), dest)
    return mirror


def test_install_reports_missing_file_by_name(real_data, tmp_path):
    mirror = _mini_mirror(tmp_path, ["communes_polygons"])
    with pytest.raises(DataFileError, match=r"data file 'france-geojson/departement-34-herault.geojson' is missing"):
        datasets.install("herault", mirror=mirror, target=tmp_path / "inst", download=False)
    # what was verified before the failure is installed and stamped, nothing half-written
    assert (tmp_path / "inst" / "france-geojson" / "communes-34-herault.geojson").is_file()
    assert not list((tmp_path / "inst").rglob("*.part"))


def test_install_rejects_corrupt_file(real_data, tmp_path):
    mirror = _mini_mirror(tmp_path, ["communes_polygons"])
    target = mirror / datasets.load_manifest("herault").file("communes_polygons").path
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"communes-34-herault.geojson' .* corrupt .* sha256"):
        datasets.install("herault", mirror=mirror, target=tmp_path / "inst", download=False)
    assert not (tmp_path / "inst" / "france-geojson" / "communes-34-herault.geojson").exists()
    assert not list((tmp_path / "inst").rglob("*.part"))


def test_missing_mirror_folder_is_an_error(tmp_path):
    with pytest.raises(DataFileError, match=r"mirror folder .* does not exist"):
        datasets.install("herault", mirror=tmp_path / "nope", target=tmp_path / "inst")


def test_path_detects_missing_and_truncated_files(tmp_path):
    with pytest.raises(DataFileError, match=r"is not installed .* run `proximity data install`"):
        datasets.path("airports", target=tmp_path)
    f = datasets.load_manifest("herault").file("airports")
    p = tmp_path / f.path
    p.parent.mkdir(parents=True)
    p.write_bytes(b"icao,iata\n")
    with pytest.raises(DataFileError, match=r"bytes instead of .* corrupt"):
        datasets.path("airports", target=tmp_path)


def test_verify_detects_same_size_corruption(real_data, tmp_path):
    mirror = _mini_mirror(tmp_path, ["airports"])
    man = datasets.load_manifest("herault")
    inst = tmp_path / "inst"
    f = man.file("airports")
    (inst / f.path).parent.mkdir(parents=True)
    data = bytearray((mirror / f.path).read_bytes())
    data[-2] ^= 0x01
    (inst / f.path).write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"airports\.csv"):
        datasets.verify("herault", target=inst)


def test_attributions_cover_osm_and_travel_mapping():
    text = " ".join(datasets.attributions("herault"))
    assert "OpenStreetMap contributors" in text
    assert "Travel Mapping" in text
    assert "INSEE" in text and "SNCF" in text


def test_national_manifest_lists_national_files_once():
    nat = datasets.load_manifest("france")
    keys = [f.key for f in nat.files]
    assert len(keys) == len(set(keys)) == 19
    assert {"communes_polygons_fr", "travelmapping_fra", "travelmapping_neighbours", "communes_cog", "airports"} <= set(
        keys
    )
    tm = nat.file("travelmapping_fra")
    assert tm.path == "travelmapping-fra/travelmapping-fra.tar.gz" and tm.bytes == 4581309
    assert tm.sha256 == "7cb9c2c58f76a80a14c1a67adede4c3956a25d00c82e3fb032a38be3b0d81bf5"
    # Hérault lists its local extras and gets the national files through `national`
    her = datasets.load_manifest("herault")
    assert her.national == "france"
    own = {f.key for f in her.files if not f.home and not f.fileset}
    assert own == {
        "communes_polygons",
        "departement_outline",
        "montpellier_establishments",
        "montpellier_zac",
        "osm_montpellier_4bcbf1",
        "osm_montpellier_7c15ab",
        "osm_montpellier_7e71de",
    }
    assert {f.key for f in her.files if f.home == "france"} == set(keys)
    assert her.file("travelmapping_fra").home == "france"


def test_national_files_install_once_in_the_france_folder(real_data, tmp_path, monkeypatch):
    mirror = _mini_mirror(tmp_path, ["communes_cog", "epci", "airports"])
    monkeypatch.setenv("PROXIMITY_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match=r"data file 'world-port-index/WPI\.csv' is missing"):
        datasets.install("france", mirror=mirror, download=False)
    # the national file went to the shared folder, and is found from any territory
    assert (tmp_path / "france" / "airportsdata" / "airports.csv").is_file()
    assert datasets.path("airports", "france") == tmp_path / "france" / "airportsdata" / "airports.csv"
    assert datasets.path("airports", "herault") == tmp_path / "france" / "airportsdata" / "airports.csv"
    with pytest.raises(DataFileError, match=r"WPI.csv' \(world_port_index\) is not installed .* --territory france"):
        datasets.path("world_port_index", "herault")


def test_national_file_installed_in_the_territory_folder_is_still_found(real_data, tmp_path, monkeypatch):
    # installs made before france.toml kept every file in data_dir()/herault
    src = datasets.path("airports")
    monkeypatch.setenv("PROXIMITY_DATA_DIR", str(tmp_path))
    f = datasets.load_manifest("herault").file("airports")
    legacy = tmp_path / "herault" / f.path
    legacy.parent.mkdir(parents=True)
    shutil.copyfile(src, legacy)
    assert datasets.path("airports", "herault") == legacy
    with pytest.raises(DataFileError, match=r"not installed .* --territory france"):
        datasets.path("airports", "france")
