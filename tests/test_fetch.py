"""Fetching real firms and support bodies: the real download code against a local HTTP server.

The server runs on 127.0.0.1 in a thread started here and serves fixture files written
here in the real layouts (Etalab's geolocated SIRENE gzip CSV, the Annuaire de
l'administration's explore v2.1 JSON). Every firm and every directory record below is
INVENTED (names say so); only the column names and JSON shapes are the real ones.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import socket
import threading
import time
import types
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from click.testing import CliRunner

from proximity import fetch, layers, pipeline
from proximity.cli import main
from proximity.errors import (
    DataFileError,
    DataQualityWarning,
    DownloadError,
    InputError,
)

# ---------------------------------------------------------------- fixtures in the real layouts
# Column order of Etalab's geo_siret_<DEP>.csv files (INSEE StockEtablissement + geocoding).
GEO_SIRET_COLUMNS = re.findall(  # the header line as published
    r"[^,]+",
    "siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,trancheEffectifsEtablissement,"
    "anneeEffectifsEtablissement,activitePrincipaleRegistreMetiersEtablissement,dateDernierTraitementEtablissement,"
    "etablissementSiege,nombrePeriodesEtablissement,complementAdresseEtablissement,numeroVoieEtablissement,"
    "indiceRepetitionEtablissement,typeVoieEtablissement,libelleVoieEtablissement,codePostalEtablissement,"
    "libelleCommuneEtablissement,libelleCommuneEtrangerEtablissement,distributionSpecialeEtablissement,"
    "codeCommuneEtablissement,codeCedexEtablissement,libelleCedexEtablissement,codePaysEtrangerEtablissement,"
    "libellePaysEtrangerEtablissement,complementAdresse2Etablissement,numeroVoie2Etablissement,"
    "indiceRepetition2Etablissement,typeVoie2Etablissement,libelleVoie2Etablissement,codePostal2Etablissement,"
    "libelleCommune2Etablissement,libelleCommuneEtranger2Etablissement,distributionSpeciale2Etablissement,"
    "codeCommune2Etablissement,codeCedex2Etablissement,libelleCedex2Etablissement,codePaysEtranger2Etablissement,"
    "libellePaysEtranger2Etablissement,dateDebut,etatAdministratifEtablissement,enseigne1Etablissement,"
    "enseigne2Etablissement,enseigne3Etablissement,denominationUsuelleEtablissement,activitePrincipaleEtablissement,"
    "nomenclatureActivitePrincipaleEtablissement,caractereEmployeurEtablissement,longitude,latitude,geo_score,"
    "geo_type,geo_adresse,geo_id,geo_ligne,geo_l4,geo_l5",
)

# (siret, état, NAF, band, commune, name, lon, lat) — INVENTED firms
FIRMS = [
    ("90000000100011", "A", "62.01Z", "11", "34172", "Invented Software Montpellier", "3.876700", "43.610800"),
    ("90000000200018", "A", "11.02B", "03", "34032", "Invented Winery Béziers", "3.215000", "43.344200"),
    ("90000000300015", "F", "46.34Z", "12", "34301", "Invented Closed Wholesaler Sète", "3.697000", "43.403000"),
    ("90000000400012", "A", "46.34Z", "21", "34301", "Invented Drinks Wholesaler Sète", "3.697500", "43.403500"),
    ("90000000500019", "A", "10.71C", "01", "34145", "Invented Bakery Lunel", "4.136000", "43.675000"),
]


def geo_siret_bytes(columns=GEO_SIRET_COLUMNS) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for siret, etat, naf, band, com, name, lon, lat in FIRMS:
        row = dict.fromkeys(columns, "")
        row.update(
            siren=siret[:9],
            nic=siret[9:],
            siret=siret,
            statutDiffusionEtablissement="O",
            dateCreationEtablissement="2015-03-01",
            trancheEffectifsEtablissement=band,
            anneeEffectifsEtablissement="2023",
            etablissementSiege="true",
            codePostalEtablissement="34000",
            libelleCommuneEtablissement="INVENTED",
            codeCommuneEtablissement=com,
            dateDebut="2015-03-01",
            etatAdministratifEtablissement=etat,
            denominationUsuelleEtablissement=name,
            activitePrincipaleEtablissement=naf,
            nomenclatureActivitePrincipaleEtablissement="NAFRev2",
            caractereEmployeurEtablissement="O",
            longitude=lon,
            latitude=lat,
            geo_score="0.93",
            geo_type="housenumber",
            geo_adresse="1 rue Inventée 34000 Montpellier",
        )
        w.writerow(row)
    return gzip.compress(buf.getvalue().encode("utf-8"), mtime=0)


GZ = geo_siret_bytes()
GZ_SHA = hashlib.sha256(GZ).hexdigest()


def _addr(lon, lat):
    return [
        {
            "type_adresse": "Adresse",
            "numero_voie": "1 rue Inventée",
            "code_postal": "34000",
            "nom_commune": "Invented",
            "longitude": str(lon),
            "latitude": str(lat),
        }
    ]


def _rec(i, nom, pivot, commune, addr, serialised=True):
    piv = [{"type_service_local": pivot, "code_insee_commune": [commune]}]
    return {
        "id": f"inv-{i}",
        "nom": nom,
        "pivot": json.dumps(piv) if serialised else piv,
        "adresse": json.dumps(addr) if serialised else addr,
        "code_insee_commune": commune,
        "siret": "",
        "date_modification": "12/03/2026 10:00:00",
    }


# INVENTED directory records in the API's record layout (pivot/adresse as serialised JSON)
RECORDS = [
    _rec(1, "CCI Hérault (invented record)", "cci", "34172", _addr(3.87800, 43.60850)),  # ~80 m from the 2014 CCI
    _rec(
        2,
        "Chambre de métiers et de l'artisanat de l'Hérault (invented record)",
        "chambre_metier",
        "34172",
        _addr(3.8200, 43.6300),
    ),
    _rec(
        3,
        "Chambre d'agriculture de l'Hérault (invented record)",
        "chambre_agriculture",
        "34172",
        _addr(3.86650, 43.60400),
        serialised=False,
    ),  # ~35 m from the 2014 Maison de l'Agriculture
    _rec(4, "DREETS Occitanie, site de Montpellier (invented record)", "direccte", "34172", _addr(3.88700, 43.60965)),
    _rec(5, "Bureau de douane de Sète (invented record)", "bureau_de_douane", "34301", _addr(3.6970, 43.4000)),
    _rec(6, "Mairie - Montpellier (invented record)", "mairie", "34172", _addr(3.8767, 43.6108)),
    _rec(7, "CCI without an address (invented record)", "cci", "34032", []),
    _rec(8, "CCI du Gard (invented record)", "cci", "30189", _addr(4.3601, 43.8367)),
]
API_PATH = "/api/explore/v2.1/catalog/datasets/api-lannuaire-administration/records"


class Handler(BaseHTTPRequestHandler):
    """Routes: /dep/ (gzip with Range), /trunc/ (first answer cut in half), /norange/ (ignores Range),
    /404/, /500/, /slow/ (answers after 3 s), /stall/ (stops mid-body), /bad/ (not gzip),
    /layout/ (gzip without SIRENE columns), API_PATH (paged JSON), /apibad/ (not JSON)."""

    log: ClassVar[list] = []
    served_trunc: ClassVar[set] = set()

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, code, body, ctype="application/octet-stream", extra=None, length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _file(self, body, *, honour_range=True):
        rng = self.headers.get("Range")
        if rng and honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                return self._send(416, b"", extra={"Content-Range": f"bytes */{len(body)}"})
            part = body[start:]
            return self._send(206, part, extra={"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
        return self._send(200, body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        type(self).log.append((url.path, self.headers.get("Range"), urllib.parse.parse_qs(url.query)))
        head = url.path.split("/")[1]
        if url.path == API_PATH:
            q = urllib.parse.parse_qs(url.query)
            off, lim = int(q["offset"][0]), int(q["limit"][0])
            body = {"total_count": len(RECORDS), "results": RECORDS[off : off + lim]}
            return self._send(200, json.dumps(body).encode(), "application/json; charset=utf-8")
        if head == "dep":
            return self._file(GZ)
        if head == "norange":
            return self._file(GZ, honour_range=False)
        if head == "trunc":
            if self.path not in type(self).served_trunc and not self.headers.get("Range"):
                type(self).served_trunc.add(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(GZ)))
                self.end_headers()
                self.wfile.write(GZ[: len(GZ) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            return self._file(GZ)
        if head == "404":
            return self._send(404, b"not found")
        if head in ("500", "apierror"):
            return self._send(500, b"boom")
        if head == "slow":
            time.sleep(3)
            return self._send(200, GZ)
        if head == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GZ)))
            self.end_headers()
            self.wfile.write(GZ[:100])
            self.wfile.flush()
            time.sleep(3)
            return None
        if head == "bad":
            return self._send(200, b"this is not gzip " * 50)
        if head == "layout":
            return self._send(200, gzip.compress(b"a,b\n1,2\n"))
        if head == "apibad":
            return self._send(200, b"<html>maintenance</html>", "text/html")
        return self._send(404, b"no route")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):  # the client hung up on a slow route: expected
        pass


@pytest.fixture(scope="module")
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- SIRENE
def test_fetch_smes_stores_active_establishments_with_provenance(real_data, server, tmp_path):
    bars = []

    def progress(**kw):
        bar = types.SimpleNamespace(kw=kw, n=0, closed=False)
        bar.update = lambda n=1: setattr(bar, "n", bar.n + n)
        bar.close = lambda: setattr(bar, "closed", True)
        bars.append(bar)
        return bar

    [stored] = fetch.fetch_smes("34", base_url=f"{server}/dep", target=tmp_path, progress=progress)
    assert stored == tmp_path / "sirene" / "sirene_34.csv.gz"
    df = pd.read_csv(stored, dtype=str, keep_default_na=False)
    assert df["siret"].tolist() == ["90000000100011", "90000000200018", "90000000400012", "90000000500019"]
    assert (df["etatAdministratifEtablissement"] == "A").all()
    assert list(df.columns) == [c for c in fetch.SIRENE_KEEP if c in GEO_SIRET_COLUMNS]
    side = json.loads((tmp_path / "sirene" / "sirene_34.json").read_text(encoding="utf-8"))
    assert side["sha256"] == _sha(stored) and side["bytes"] == stored.stat().st_size
    assert side["rows_read"] == 5 and side["rows_active"] == 4
    assert side["files"][0]["url"] == f"{server}/dep/geo_siret_34.csv.gz"
    assert side["files"][0]["sha256"] == GZ_SHA and side["files"][0]["bytes"] == len(GZ)
    assert side["licence"].startswith("Licence Ouverte") and "INSEE" in side["attribution"]
    assert side["downloaded"][:10] == time.strftime("%Y-%m-%d", time.gmtime())
    # the byte bar saw every byte, the row bar every row; both closed
    byte_bar = next(b for b in bars if b.kw["unit"] == "B")
    row_bar = next(b for b in bars if b.kw["unit"] == "row")
    assert (byte_bar.n, byte_bar.kw["total"], byte_bar.closed) == (len(GZ), len(GZ), True)
    assert (row_bar.n, row_bar.closed) == (5, True)
    # the raw download is removed, nothing half-written is left
    assert _leftovers(tmp_path) == ["sirene_34.csv.gz", "sirene_34.json"]


def test_truncated_transfer_fails_then_resumes_with_range(real_data, server, tmp_path):
    base = f"{server}/trunc"
    with pytest.raises(DownloadError, match=r"stopped after [\d,]+ of [\d,]+ bytes; rerun the same command to resume"):
        fetch.fetch_smes("34", base_url=base, target=tmp_path)
    part = tmp_path / ".staging" / "geo_siret_34.csv.gz.part"
    assert part.stat().st_size == len(GZ) // 2
    assert not (tmp_path / "sirene").exists() and not (tmp_path / ".staging" / "geo_siret_34.csv.gz").exists()
    Handler.log.clear()
    fetch.fetch_smes("34", base_url=base, target=tmp_path, keep_raw=True)
    assert Handler.log[0][1] == f"bytes={len(GZ) // 2}-"
    side = json.loads((tmp_path / "sirene" / "sirene_34.json").read_text(encoding="utf-8"))
    assert side["files"][0]["resumed_from"] == len(GZ) // 2
    assert side["files"][0]["sha256"] == GZ_SHA == _sha(tmp_path / ".staging" / "geo_siret_34.csv.gz")
    assert side["rows_active"] == 4
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    stage = tmp_path / ".staging"
    stage.mkdir(parents=True)
    (stage / "geo_siret_34.csv.gz.part").write_bytes(b"stale bytes of another file")
    info = fetch.download(f"{server}/norange/geo_siret_34.csv.gz", stage / "geo_siret_34.csv.gz", staging=stage)
    assert (info["sha256"], info["bytes"], info["resumed_from"]) == (GZ_SHA, len(GZ), 0)


def test_resume_of_a_complete_part_file(server, tmp_path):
    # the whole file arrived but the rename did not happen: the server answers 416, we start again
    stage = tmp_path / ".staging"
    stage.mkdir(parents=True)
    (stage / "x.gz.part").write_bytes(GZ)
    info = fetch.download(f"{server}/dep/geo_siret_34.csv.gz", stage / "x.gz", staging=stage)
    assert info["sha256"] == GZ_SHA and not (stage / "x.gz.part").exists()


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            "404",
            r"answered HTTP 404 Not Found; check the address \(--base-url\) and the département code, or pass your own SIRENE extract with --smes FILE",
        ),
        (
            "500",
            r"answered HTTP 500 Internal Server Error; try again later, or pass your own SIRENE extract with --smes FILE",
        ),
    ],
)
def test_http_errors_are_one_line_and_leave_nothing(real_data, server, tmp_path, route, message):
    with pytest.raises(DownloadError, match=message) as exc:
        fetch.fetch_smes("34", base_url=f"{server}/{route}", target=tmp_path)
    assert "\n" not in str(exc.value)
    assert _leftovers(tmp_path) == []


def test_slow_server_times_out(real_data, server, tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match=r"did not answer within 0.5 s; try again later, or pass your own SIRENE"):
        fetch.fetch_smes("34", base_url=f"{server}/slow", target=tmp_path, timeout_s=0.5)
    assert time.perf_counter() - t0 < 2.5  # bounded by the timeout, not by the server's 3 s
    with pytest.raises(
        DownloadError, match=r"stopped sending for 0.5 s after 100 bytes; rerun the same command to resume"
    ):
        fetch.fetch_smes("34", base_url=f"{server}/stall", target=tmp_path, timeout_s=0.5)
    assert (tmp_path / ".staging" / "geo_siret_34.csv.gz.part").stat().st_size == 100
    assert not (tmp_path / "sirene").exists()


def test_offline_says_it_needs_internet_and_how_to_pass_a_file(real_data, closed_port, tmp_path):
    with pytest.raises(
        DownloadError, match=r"^proximity data fetch smes needs internet: cannot reach 127\.0\.0\.1:\d+ .*--smes FILE"
    ):
        fetch.fetch_smes("34", base_url=f"http://127.0.0.1:{closed_port}/dep", target=tmp_path)
    with pytest.raises(DownloadError, match=r"^proximity data fetch support needs internet: .*--support FILE"):
        fetch.fetch_support("34", url=f"http://127.0.0.1:{closed_port}{API_PATH}", target=tmp_path)
    assert _leftovers(tmp_path) == []


def test_corrupt_gzip_and_changed_layout(real_data, server, tmp_path):
    with pytest.raises(
        DownloadError, match=r"geo_siret_34\.csv\.gz is not a complete gzip CSV .*it was deleted, rerun"
    ):
        fetch.fetch_smes("34", base_url=f"{server}/bad", target=tmp_path)
    assert _leftovers(tmp_path) == []
    with pytest.raises(DataFileError, match=r"lacks column\(s\) 'siret', .*the geolocated SIRENE layout has changed"):
        fetch.fetch_smes("34", base_url=f"{server}/layout", target=tmp_path)
    assert not (tmp_path / "sirene").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) to fill a disk")
def test_full_disk_is_one_clear_line(real_data, server, tmp_path):
    stage = tmp_path / ".staging"
    stage.mkdir(parents=True)
    (stage / "geo_siret_34.csv.gz.part").symlink_to("/dev/full")  # every write fails with ENOSPC
    with pytest.raises(
        DataFileError, match=r"cannot write .*geo_siret_34\.csv\.gz\.part' \(No space left on device\); free disk space"
    ):
        fetch.fetch_smes("34", base_url=f"{server}/dep", target=tmp_path)
    assert not (tmp_path / "sirene").exists()


def test_departements_and_sources(real_data):
    assert fetch.departements_of("herault") == ("34",)
    assert fetch.departements_of("34, 30,5") == ("05", "30", "34")
    assert fetch.departements_of(["2b", "34"]) == ("2B", "34")
    paris = fetch.sirene_sources(["75"], base_url="http://127.0.0.1:1/dep/")["75"]
    assert paris[0].endswith("/dep/geo_siret_75101.csv.gz") and paris[-1].endswith("geo_siret_75120.csv.gz")
    assert fetch.sirene_sources(["34"])["34"] == ["https://files.data.gouv.fr/geo-sirene/last/dep/geo_siret_34.csv.gz"]
    with pytest.raises(
        InputError, match=r"territory '34,20' is not understood \('20' is not a metropolitan département code\)"
    ):
        fetch.departements_of("34,20")  # a territory spec (proximity.area)
    with pytest.raises(InputError, match=r"département '20' is not a French département code; use 01…95, 2A, 2B"):
        fetch.departements_of(["34", "20"])  # a list of codes
    with pytest.raises(InputError, match=r"is not an http\(s\) address"):
        fetch.download("file:///etc/passwd", "/tmp/never")


def test_base_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("PROXIMITY_SIRENE_URL", "http://127.0.0.1:9/mirror")
    assert fetch.sirene_sources(["34"])["34"] == ["http://127.0.0.1:9/mirror/geo_siret_34.csv.gz"]


# ---------------------------------------------------------------- --smes sirene
@pytest.fixture(scope="module")
def fetched(server, tmp_path_factory):
    root = tmp_path_factory.mktemp("fetched")
    fetch.fetch_smes("herault", base_url=f"{server}/dep", target=root)
    fetch.fetch_support("herault", url=f"{server}{API_PATH}", target=root, page_size=3)
    return root


def test_resolve_smes_sirene_reads_the_register_with_its_date(fetched, tmp_path):
    raw = layers.resolve_smes("sirene", "herault", target=fetched)
    day = json.loads((fetched / "sirene" / "sirene_34.json").read_text(encoding="utf-8"))["downloaded"][:10]
    assert raw.attrs["source_label"] == f"SIRENE ({day})"
    smes = layers.read_sirene(raw, territory="herault")
    assert smes.attrs["source_label"] == f"SIRENE ({day})"
    assert smes.loc["90000000400012", ["naf_section", "size_label", "commune"]].tolist() == [
        "G",
        "50 to 99 employees",
        "34301",
    ]
    assert not smes["synthetic"].any() and smes["exporter"].isna().all()
    assert str(smes["exporter"].dtype) == "boolean"
    # the CLI's value resolves through the same function; a user's file comes back as a path
    assert layers.resolve_smes(None) is None
    f = tmp_path / "mine.csv"
    f.write_text("x\n", encoding="utf-8")
    assert layers.resolve_smes(str(f)) == f
    with pytest.raises(
        DataFileError, match=r"--smes 'nope.csv' is neither 'sirene' \(the fetched register\) nor an existing file"
    ):
        layers.resolve_smes("nope.csv")
    with pytest.raises(
        DataFileError, match=r"no fetched SIRENE register for département 34 .*proximity data fetch smes --territory 34"
    ):
        layers.resolve_smes("sirene", "herault", target=tmp_path)


def test_stored_register_checksum_is_checked(fetched, tmp_path):
    import shutil

    shutil.copytree(fetched, tmp_path / "copy")
    p = tmp_path / "copy" / "sirene" / "sirene_34.csv.gz"
    b = p.read_bytes()
    p.write_bytes(b[:-1] + bytes([b[-1] ^ 0xFF]))
    with pytest.raises(DataFileError, match=r"does not match the sha256 of its provenance; fetch it again"):
        fetch.stored_smes("herault", target=tmp_path / "copy")


def test_outputs_say_sirene_and_date_not_synthetic(fetched, herault, tmp_path):
    import dataclasses

    from proximity import scores

    smes = layers.read_sirene(layers.resolve_smes("sirene", "herault", target=fetched), territory="herault")
    label = smes.attrs["source_label"]
    ter = dataclasses.replace(herault, smes=smes)
    assert not ter.synthetic_smes
    note = pipeline.smes_note(ter)
    assert note.startswith(f"SMEs: {label}, real establishments") and "exporter status unknown" in note
    assert "SYNTHETIC" not in note
    with pytest.warns(
        DataQualityWarning, match=r"exporter status is unknown for every SME .*synthetic_exporter_share is left empty"
    ):
        res = scores.score_territory(ter, max_per_commune=4)
    assert res.municipalities["synthetic_exporter_share"].isna().all()
    prov = pipeline.provenance(ter)
    assert prov["smes"]["source"] == label and prov["smes"]["note"] == note
    inp = next(i for i in prov["inputs"] if i["key"] == "sirene_fetched:34")
    assert inp["sha256"] == _sha(fetched / "sirene" / "sirene_34.csv.gz") and inp["licence"].startswith(
        "Licence Ouverte"
    )
    written = pipeline.write_scores(res, tmp_path, prov)
    out = pd.read_csv(tmp_path / "smes.csv", dtype=str)
    assert (out["note"] == note).all() and len(out) == 4
    assert any(p.name == "provenance.json" for p in written)
    # the maps' sources box names the register and its date
    from proximity.maps import _prepare

    line, caveat = _prepare.smes_source(ter)
    assert label in line and caveat == "exporter status unknown (not in SIRENE)"
    assert _prepare.smes_source(herault) is None


def test_site_criterion_needs_known_exporters(fetched):
    from proximity import planning

    smes = layers.read_sirene(layers.resolve_smes("sirene", "herault", target=fetched), territory="herault")
    with pytest.warns(DataQualityWarning, match=r"exporters_within_t is left out; add an 'exporter' column"):
        assert planning._known_exporters(smes) is None
    known = smes.assign(exporter=pd.array([True, False, True, False], dtype="boolean"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert planning._known_exporters(known).tolist() == [True, False, True, False]


def test_export_groups_filter_on_unknown_exporters_says_so(fetched):
    from proximity import groups

    smes = layers.read_sirene(layers.resolve_smes("sirene", "herault", target=fetched), territory="herault")
    with pytest.raises(InputError, match=r"exporter status is unknown for every SME .*drop the exporter filter"):
        groups.select_smes(smes, exporter=True)
    assert len(groups.select_smes(smes, sme_only=False)) == 4


# ---------------------------------------------------------------- support bodies
def test_fetch_support_maps_kinds_and_stores_a_layer(fetched):
    df = pd.read_csv(fetched / "annuaire" / "annuaire_34.csv", dtype=str)
    assert dict(zip(df["id"], df["category"], strict=True)) == {
        "annuaire:inv-1": "chamber_of_commerce",
        "annuaire:inv-2": "chamber_of_trades",
        "annuaire:inv-3": "chamber_of_agriculture",
        "annuaire:inv-4": "foreign_trade_service",
        "annuaire:inv-5": "customs_office",
    }
    side = json.loads((fetched / "annuaire" / "annuaire_34.json").read_text(encoding="utf-8"))
    assert (side["records"], side["kept"], side["without_position"]) == (8, 5, 1)
    assert side["sha256"] == _sha(fetched / "annuaire" / "annuaire_34.csv")
    assert side["licence"].startswith("Licence Ouverte") and "DILA" in side["attribution"]
    assert side["where"].startswith('startswith(code_insee_commune, "34") AND (pivot LIKE "cci" OR')
    assert df.loc[df["id"] == "annuaire:inv-5", ["lon", "lat"]].astype(float).values.tolist() == [[3.697, 43.4]]


def test_directory_paging(real_data, server, tmp_path):
    Handler.log.clear()
    fetch.fetch_support("34", url=f"{server}{API_PATH}", target=tmp_path, page_size=3)
    offsets = [int(q["offset"][0]) for path, _, q in Handler.log if path == API_PATH]
    assert offsets == [0, 3, 6]
    with pytest.raises(InputError, match=r"page_size must be 1…100"):
        fetch.fetch_support("34", url=f"{server}{API_PATH}", target=tmp_path, page_size=500)


def test_directory_errors(real_data, server, tmp_path):
    with pytest.raises(DownloadError, match=r"answered HTTP 500 .*--support FILE"):
        fetch.fetch_support("34", url=f"{server}/apierror/records", target=tmp_path)
    with pytest.raises(
        DownloadError,
        match=r"did not answer with the directory's JSON \(JSONDecodeError\); check the address \(--url\)",
    ):
        fetch.fetch_support("34", url=f"{server}/apibad/records", target=tmp_path)
    assert _leftovers(tmp_path) == []


def test_name_similarity_rule():
    assert layers.name_similarity("Chambre de Commerce", "CCI Hérault (invented record)") == 1.0
    assert layers.name_similarity("Maison de l'Agriculture", "Chambre d'agriculture de l'Hérault") == 1.0
    assert layers.name_similarity("Direction Régionale du Commerce Extérieur", "DREETS Occitanie") == 0.0
    assert layers.name_similarity("CCI Hérault", "Chambre d'agriculture de l'Hérault") == 0.5  # < 0.6: not one body
    assert layers.name_similarity("Chambre", "Maison") == 0.0  # only generic words


def test_merge_with_offline_layers_without_duplicates(real_data, fetched):
    extra = layers.resolve_support("annuaire", "herault", target=fetched)
    # the CCI (80 m, same name) and the chamber of agriculture (35 m) are the 2014 bodies; the
    # DREETS site 10 m from the 2014 DRCE has another name: kept
    assert extra.attrs["dropped_as_duplicates"] == {
        "annuaire:inv-1": "montpellier2014:373",
        "annuaire:inv-3": "montpellier2014:264",
    }
    assert sorted(extra.index) == ["annuaire:inv-2", "annuaire:inv-4", "annuaire:inv-5"]
    sup = layers.support_bodies("herault", extra=extra)
    added = sup[sup.index.str.startswith("user:annuaire:")]
    assert sorted(added["category"]) == ["chamber_of_trades", "customs_office", "foreign_trade_service"]
    assert (added["source"] == "Annuaire de l'administration (service-public.fr, DILA)").all()
    assert (sup["category"] == "chamber_of_commerce").sum() == 1
    # the library merge keeps the offline body and records the fetched duplicate on it
    base = layers.support_bodies("herault")
    merged = layers.merge_support(base, layers.directory_bodies(fetch.stored_support("herault", target=fetched)))
    assert merged.loc["montpellier2014:373", "duplicates"] == "annuaire:inv-1"
    assert len(merged) == len(base) + 3
    with pytest.raises(InputError, match=r"min_similarity must be in \[0, 1\]"):
        layers.merge_support(base, base, min_similarity=2)
    with pytest.raises(DataFileError, match=r"--support 'nope' is neither 'annuaire'"):
        layers.resolve_support("nope")


# ---------------------------------------------------------------- command line
def test_cli_fetch_and_offline_line(server, closed_port, tmp_path, monkeypatch):
    monkeypatch.setenv("PROXIMITY_FETCH_DIR", str(tmp_path))
    r = CliRunner().invoke(main, ["data", "fetch", "smes", "--base-url", f"{server}/dep"])
    assert r.exit_code == 0, r.output
    assert (
        r.stdout.strip()
        == f"{tmp_path / 'sirene' / 'sirene_34.csv.gz'}  4 active establishments of 5  sha256 {_sha(tmp_path / 'sirene' / 'sirene_34.csv.gz')[:12]}…"
    )
    r = CliRunner().invoke(main, ["data", "fetch", "support", "--url", f"{server}{API_PATH}"])
    assert r.exit_code == 0, r.output
    assert "5 bodies (chamber_of_agriculture 1, chamber_of_commerce 1" in r.stdout
    for args in (
        ["data", "fetch", "smes", "--base-url", f"http://127.0.0.1:{closed_port}/dep"],
        ["data", "fetch", "support", "--url", f"http://127.0.0.1:{closed_port}/records"],
    ):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1
        lines = r.stderr.strip().splitlines()
        assert (
            len(lines) == 1
            and "needs internet" in lines[0]
            and ("--smes FILE" in lines[0] or "--support FILE" in lines[0])
        )
    r = CliRunner().invoke(main, ["score", "--out", str(tmp_path / "o"), "--smes", "missing.csv"])
    assert r.exit_code == 1 and "--smes 'missing.csv' is neither 'sirene'" in r.stderr
    assert not (tmp_path / "o").exists()  # failed before writing anything
