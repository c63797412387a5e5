"""Maintainer tool: (re)write the manifests from a local mirror of the raw files.

Run from the repository root: ``python scripts/make_manifest.py ../shared/data/raw``.
Two manifests: ``france.toml`` lists the national files once (commune polygons of every
département, COG tables, national gateway and higher-education tables, the Travel Mapping
tarballs of France and its neighbours); ``herault.toml`` lists Hérault's local extras
and names ``national = "france"``, so that every national key is found for Hérault too.
Each entry has the file's sha256 and size, its licence, attribution and upstream address.
The data files themselves are never committed.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

GH = "https://raw.githubusercontent.com"
LO = "Licence Ouverte / Open Licence (Etalab)"
ODBL = "ODbL 1.0"

FG = "5d34ee6d0140c29f785fdb047d9329f1aab58833"
TM_COMMIT = "3d7993c9cb603f57706bf3bcf705eb25895e8526"
NATIONAL_EXTRA = [
    (
        "communes_polygons_fr",
        "france-geojson/france-communes-by-departement-2018.tar.gz",
        LO,
        "IGN Admin Express COG 2018; INSEE COG (via gregoiredavid/france-geojson)",
        f"https://github.com/gregoiredavid/france-geojson/tree/{FG}/departements",
        (
            "gzip tar of departements/*/communes-*.geojson of the repository at that commit (members byte-identical; "
            "the archive itself is not published upstream); 2018 codes, generalised boundaries"
        ),
    ),
    (
        "departements_polygons",
        "france-geojson/departements.geojson",
        LO,
        "IGN Admin Express COG 2018 (via gregoiredavid/france-geojson)",
        f"{GH}/gregoiredavid/france-geojson/{FG}/departements.geojson",
        "the 96 metropolitan départements; generalised boundaries",
    ),
    (
        "departements_cog",
        "decoupage-administratif/departements.json",
        LO,
        "INSEE COG 2026 (via @etalab/decoupage-administratif 6.0.0)",
        "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/departements.json",
        "",
    ),
    (
        "regions_cog",
        "decoupage-administratif/regions.json",
        LO,
        "INSEE COG 2026 (via @etalab/decoupage-administratif 6.0.0)",
        "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/regions.json",
        "",
    ),
    (
        "travelmapping_fra",
        "travelmapping-fra/travelmapping-fra.tar.gz",
        "terms unstated; ODbL attribution assumed",
        "Travel Mapping project contributors (travelmapping.net); © OpenStreetMap contributors",
        f"https://github.com/TravelMapping/HighwayData/tree/{TM_COMMIT}/hwy_data",
        (
            "gzip tar of hwy_data/FRA-*/, hwy_data/_systems/fra*.csv and systems.csv at that commit (members "
            "byte-identical; the archive itself is not published upstream); straight segments, no speeds"
        ),
    ),
    (
        "travelmapping_neighbours",
        "travelmapping-neighbours/travelmapping-neighbours.tar.gz",
        "terms unstated; ODbL attribution assumed",
        "Travel Mapping project contributors (travelmapping.net); © OpenStreetMap contributors",
        f"https://github.com/TravelMapping/HighwayData/tree/{TM_COMMIT}/hwy_data",
        (
            "gzip tar of the motorway and main-road systems of AND, BEL, CHE, DEU, ESP, ITA, LUX at that commit "
            "(members byte-identical; the archive itself is not published upstream); straight segments, no speeds"
        ),
    ),
]

FILES = [
    # key, mirror path, licence, attribution, upstream, caveat
    (
        "communes_polygons",
        "france-geojson/communes-34-herault.geojson",
        LO,
        "IGN Admin Express COG 2018; INSEE COG (via gregoiredavid/france-geojson)",
        f"{GH}/gregoiredavid/france-geojson/5d34ee6d0140c29f785fdb047d9329f1aab58833/departements/34-herault/communes-34-herault.geojson",
        "2018 commune codes and generalised (simplified) boundaries",
    ),
    (
        "departement_outline",
        "france-geojson/departement-34-herault.geojson",
        LO,
        "IGN Admin Express COG 2018 (via gregoiredavid/france-geojson)",
        f"{GH}/gregoiredavid/france-geojson/5d34ee6d0140c29f785fdb047d9329f1aab58833/departements/34-herault/departement-34-herault.geojson",
        "generalised boundary",
    ),
]

NATIONAL = [
    (
        "communes_cog",
        "decoupage-administratif/communes.json",
        LO,
        "INSEE COG 2026 and legal populations (via @etalab/decoupage-administratif 6.0.0)",
        "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/communes.json",
        "",
    ),
    (
        "epci",
        "decoupage-administratif/epci.json",
        LO,
        "DGCL EPCI 2026; INSEE (via @etalab/decoupage-administratif 6.0.0)",
        "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/epci.json",
        "member populations are an older vintage than communes.json",
    ),
    (
        "airports",
        "airportsdata/airports.csv",
        "MIT",
        "airportsdata (Mike Borsetti), includes data from mwgg/Airports",
        f"{GH}/mborsetti/airportsdata/v20260905/airportsdata/airports.csv",
        "aerodrome reference points, not terminals",
    ),
    (
        "world_port_index",
        "world-port-index/WPI.csv",
        "public domain",
        "NGA World Port Index (Pub. 150)",
        f"{GH}/JamesRexMiller4/shapely_tut/1b4b5689793ec60bbcaff49e919763688806146e/WPI.csv",
        "coordinates rounded to about 0.02 degrees (1-2 km)",
    ),
    (
        "sncf_stations",
        "sncf-gares-voyageurs/gares-de-voyageurs.csv",
        ODBL,
        "SNCF Open Data (gares-de-voyageurs)",
        f"{GH}/MadVincent404/sncf-data-viz/51ab0f7237bb82907f325123f6226949d465dd22/data/gares-de-voyageurs.csv",
        "",
    ),
    (
        "sncf_ridership",
        "sncf-gares-voyageurs/frequentation-gares.csv",
        ODBL,
        "SNCF Open Data (frequentation-gares)",
        f"{GH}/MadVincent404/sncf-data-viz/51ab0f7237bb82907f325123f6226949d465dd22/data/frequentation-gares.csv",
        "",
    ),
    (
        "sncf_tgv_fares",
        "sncf-gares-voyageurs/tarifs-tgv-inoui-ouigo.csv",
        ODBL,
        "SNCF Open Data (tarifs-tgv-inoui-ouigo)",
        f"{GH}/sandazzz/python-data/1d43646064ca003f41d116526a99b87e5db85508/data/tarifs-tgv-inoui-ouigo.csv",
        "fare grid (about 2024), used only to flag TGV/OUIGO service",
    ),
    (
        "sncf_network_points",
        "sncf-liste-des-gares/liste-des-gares.csv",
        ODBL,
        "SNCF Réseau Open Data (liste-des-gares)",
        f"{GH}/ayoub933/geospatial_clustering_open_data/7860eaaefcc57ba54094ccbf84e95d15a02be7ea/data/liste-des-gares.csv",
        "",
    ),
    (
        "toll_stations",
        "peages-rrn-concede-2024/gares-peage-2024.csv",
        LO,
        "Ministère chargé des transports (DGITM), gares de péage du réseau concédé 2024",
        f"{GH}/cyrizon/sam-backend/e992b6d354a69738398f0d89e7ff73b2d02d02a9/data/gares-peage-2024.csv",
        "toll interchanges only; toll-free exits are missing",
    ),
    (
        "esr_sites",
        "esr-enseignement-superieur/fr-esr-implantations_etablissements_d_enseignement_superieur_publics.csv",
        LO,
        "MESR open data (implantations des établissements d'enseignement supérieur publics)",
        f"{GH}/BenjaminGuillaumat/Pipeline_Medallion_Architecture/3f64aec6dfe2d3802fc050dfe5b6a091b7167c8a/src/main/resources/data/bronze/fr-esr-implantations_etablissements_d_enseignement_superieur_publics.csv",
        "about 2017; public institutions only",
    ),
    (
        "esr_institutions",
        "esr-principaux-etablissements/fr-esr-principaux-etablissements-enseignement-superieur.csv",
        LO,
        "MESR open data (principaux établissements d'enseignement supérieur)",
        f"{GH}/lovecookie93/City-Fighting/e734d429b5a3083aacb9653e1a72fc80ffc2ce39/fr-esr-principaux-etablissements-enseignement-superieur.csv",
        "about 2025; head offices only",
    ),
    *NATIONAL_EXTRA,
]

FILES += [
    (
        "montpellier_establishments",
        "montpellier-opendata-2014/VilleMTP_MTP_EtabliPublic.geojson",
        LO,
        "Ville de Montpellier open data",
        f"{GH}/jimmy1708/Opendata/7db16be4dcf67e31b9c9c4fd5017cc24e6d3952b/VilleMTP_MTP_EtabliPublic/VilleMTP_MTP_EtabliPublic.geojson",
        "2014, city of Montpellier only: names and services may have changed",
    ),
    (
        "montpellier_zac",
        "montpellier-zac-2014/VilleMTP_MTP_ZAC.geojson",
        LO,
        "Ville de Montpellier open data",
        f"{GH}/jimmy1708/Opendata/a6345c782306090154899ed2106bb8b741a1eed1/VilleMTP_MTP_ZAC/VilleMTP_MTP_ZAC.geojson",
        "2014, city only; Lambert-93 coordinates without a crs member",
    ),
]
OPENFLIGHTS = f"{GH}/jpatokal/openflights/5a0360255a5a2ff2b9f1e9cb199716da68a8a33f/data"
for key, name, cav in (
    ("openflights_routes", "routes.dat", "June-2014 snapshot: airline routes without frequencies or seasons"),
    (
        "openflights_airports",
        "airports.dat",
        "June-2014 snapshot (routes); airports as of 2025, used to resolve route codes",
    ),
):
    NATIONAL.append(
        (
            key,
            f"openflights/{name}",
            "ODbL 1.0",
            "OpenFlights.org (airline routes, June-2014 snapshot)",
            f"{OPENFLIGHTS}/{name}",
            cav,
        )
    )
for h in (
    "4bcbf16ebf005df5b766f122ad01057a7c1279f7",
    "7c15abc82db3ff619f2a0f1512fa90d85343cd4b",
    "7e71de9b21455c0e9797c729041aec0ace23ae5c",
):
    FILES.append(
        (
            f"osm_montpellier_{h[:6]}",
            f"montpellier-drive-2024/overpass_{h}.json",
            ODBL,
            "© OpenStreetMap contributors",
            f"{GH}/mscaia/PROJ_HAX712X/9cd53db043ed87a81363952f94eb5574b4117e21/cache/{h}.json",
            "OSM data of 2024-10-30, city of Montpellier only (misses the north-west)",
        )
    )

TM_SYSTEMS = ("fraoccd34", "fraoccm34", "fraa", "fran")
TM_UPSTREAM = f"{GH}/TravelMapping/HighwayData/3d7993c9cb603f57706bf3bcf705eb25895e8526/"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _entries(mirror: Path, files: list) -> list[str]:
    lines: list[str] = []
    for key, rel, lic, attr, up, cav in files:
        p = mirror / rel
        lines += [
            "[[files]]",
            f"key = {q(key)}",
            f"path = {q(rel)}",
            f"sha256 = {q(sha256(p))}",
            f"bytes = {p.stat().st_size}",
            f"licence = {q(lic)}",
            f"attribution = {q(attr)}",
            f"upstream = {q(up)}",
        ]
        if cav:
            lines.append(f"caveat = {q(cav)}")
        lines.append("")
    return lines


def main(mirror: Path) -> None:
    out = Path("proximity/territories")
    national = [
        "# National input files, listed once (generated by scripts/make_manifest.py): every territory",
        "# (a département, a list of them, an EPCI, a region, France) selects from them at load time,",
        '# and a territory manifest naming `national = "france"` (Hérault) finds them by key too.',
        "# The files are not in the repository: `proximity data install --territory france` copies them",
        "# from a local mirror or downloads them from `upstream`, and checks every sha256. The two",
        "# Travel Mapping tarballs are one entry each (not one row per route file).",
        "",
        "[territory]",
        'name = "france"',
        'label = "France métropolitaine"',
        'departement = ""',
        'crs = "EPSG:2154"',
        "# plausible bounds of every layer (lon_min, lat_min, lon_max, lat_max): France and a buffer",
        "# of about 200 km around it (foreign gateways: Geneva, Basel, Barcelona, Turin, Brussels)",
        "bounds_wgs84 = [-7.5, 39.5, 12.0, 53.0]",
        "",
        *_entries(mirror, NATIONAL),
    ]
    (out / "france.toml").write_text("\n".join(national), encoding="utf-8")
    lines = [
        "# Manifest of the default territory's local input files (generated by scripts/make_manifest.py).",
        "# The national files (COG tables, gateways, higher education, Travel Mapping tarballs) are in",
        "# france.toml, named here by `national`: `datasets.path(key)` finds them for Hérault too.",
        "# The files are not in the repository: `proximity data install` copies them from a local",
        "# mirror or downloads them from `upstream`, and checks every sha256.",
        "",
        "[territory]",
        'name = "herault"',
        'label = "Hérault (34), France"',
        'departement = "34"',
        'crs = "EPSG:2154"',
        'national = "france"',
        "# plausible bounds of every layer (lon_min, lat_min, lon_max, lat_max): Hérault and its neighbours",
        "bounds_wgs84 = [2.30, 43.00, 4.70, 44.20]",
        "",
        *_entries(mirror, FILES),
    ]
    lines += [
        "[[filesets]]",
        'key = "travelmapping_wpt"',
        'list = "herault-travelmapping.csv"',
        'prefix = "travelmapping-herault/"',
        f"upstream_base = {q(TM_UPSTREAM)}",
        'licence = "terms unstated; ODbL attribution assumed"',
        'attribution = "Travel Mapping project contributors (travelmapping.net); © OpenStreetMap contributors"',
        'caveat = "straight segments between waypoints 0.3-9 km apart; no speeds or one-way data"',
        "",
    ]
    (out / "herault.toml").write_text("\n".join(lines), encoding="utf-8")
    rows = []
    base = mirror / "travelmapping-herault"
    for sysname in TM_SYSTEMS:
        rows.extend(
            (p.relative_to(base).as_posix(), p.stat().st_size, sha256(p))
            for p in sorted((base / "hwy_data" / "FRA-OCC" / sysname).glob("*.wpt"))
        )
    with (out / "herault-travelmapping.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(["path", "bytes", "sha256"])
        w.writerows(rows)
    print(f"{len(NATIONAL)} national files, {len(FILES)} Hérault files, {len(rows)} Travel Mapping route files")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/raw"))
