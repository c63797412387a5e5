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


def test_installed_files_verify():
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


def test_install_reports_missing_file_by_name(tmp_path):
    mirror = _mini_mirror(tmp_path, ["communes_polygons"])
    with pytest.raises(DataFileError, match=r"data file 'france-geojson/departement-34-herault.geojson' is missing"):
        datasets.install("herault", mirror=mirror, target=tmp_path / "inst", download=False)
    # what was verified before the failure is installed and stamped, nothing half-written
    assert (tmp_path / "inst" / "france-geojson" / "communes-34-herault.geojson").is_file()
    assert not list((tmp_path / "inst").rglob("*.part"))


def test_install_rejects_corrupt_file(tmp_path):
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
    with pytest.raises(DataFileError, match="mirror folder .* does not exist"):
        datasets.install("herault", mirror=tmp_path / "nope", target=tmp_path / "inst")


def test_path_detects_missing_and_truncated_files(tmp_path):
    with pytest.raises(DataFileError, match="is not installed .* run `proximity data install`"):
        datasets.path("airports", target=tmp_path)
    f = datasets.load_manifest("herault").file("airports")
    p = tmp_path / f.path
    p.parent.mkdir(parents=True)
    p.write_bytes(b"icao,iata\n")
    with pytest.raises(DataFileError, match="bytes instead of .* corrupt"):
        datasets.path("airports", target=tmp_path)


def test_verify_detects_same_size_corruption(tmp_path):
    mirror = _mini_mirror(tmp_path, ["airports"])
    man = datasets.load_manifest("herault")
    inst = tmp_path / "inst"
    f = man.file("airports")
    (inst / f.path).parent.mkdir(parents=True)
    data = bytearray((mirror / f.path).read_bytes())
    data[-2] ^= 0x01
    (inst / f.path).write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="airports.csv"):
        datasets.verify("herault", target=inst)


def test_attributions_cover_osm_and_travel_mapping():
    text = " ".join(datasets.attributions("herault"))
    assert "OpenStreetMap contributors" in text
    assert "Travel Mapping" in text
    assert "INSEE" in text and "SNCF" in text
