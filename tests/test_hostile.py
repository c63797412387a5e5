"""Hostile and clumsy inputs against the command line (issue 12).

Every case drives the CLI in-process (click's CliRunner) and asserts, in this order:

1. no traceback: the command ends in a clean exit, never an uncaught exception;
2. the exit status (1 for a user's mistake, 2 for a usage error, 0 when the input is
   legitimately usable);
3. the output folder holds the previous complete run (byte for byte) or nothing — no
   empty folder, no half-written file, no temporary file left beside it;
4. one line on stderr that names the input and the fix (a regular expression per case).

The territory is loaded once per module (the network once per process): the CLI's
``load_territory`` is memoised for the default arguments, so the cases that get past
validation stay cheap. Cases are data (:data:`CASES`); each id says what is tried.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from proximity.cli import main
from proximity.errors import InputError

# ---------------------------------------------------------------- inputs
SIRENE_HEADER = (
    "siret,etatAdministratifEtablissement,activitePrincipaleEtablissement,trancheEffectifsEtablissement,"
    "codeCommuneEtablissement,denominationUsuelleEtablissement,coordonneeLambertAbscisseEtablissement,"
    "coordonneeLambertOrdonneeEtablissement"
)


def sirene(*rows: str, sep: str = ",") -> str:
    lines = [SIRENE_HEADER, *rows]
    return "\n".join(line.replace(",", sep) for line in lines) + "\n"


GOOD_SIRENE_ROW = "00012345600018,A,62.01Z,11,34172,Ma Société,770000,6279000"
SUPPORT_HEADER = "id,name,category,lat,lon,capacity"


def support(*rows: str) -> str:
    return "\n".join([SUPPORT_HEADER, *rows]) + "\n"


def zipped(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, text)
    return buf.getvalue()


GOOD_SUPPORT_ROW = "1,Mon club export,chamber_of_commerce,43.61,3.87,1"
GOOD_CANDIDATES = "name,lat,lon\nA,43.61,3.87\nB,43.40,3.50\n"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    exit: int
    match: str  # regular expression the one stderr line must match (case-insensitive)
    files: dict[str, str | bytes] = field(default_factory=dict)
    prev: bool = False  # seed --out with a previous complete run first
    env: dict[str, str] = field(default_factory=dict)
    written: tuple[str, ...] = ()  # files the output folder must hold after a successful run


def C(id, argv, exit, match, files=None, prev=False, env=None, written=()):  # a table row
    return Case(id, tuple(argv), exit, match, files or {}, prev, env or {}, tuple(written))


def score(*extra):
    return ["score", "--out", "{out}", "--n-smes", "300", *extra]


def run_(*extra):
    return ["run", "--out", "{out}", "--n-smes", "300", *extra]


def site(*extra):
    return ["site", "--out", "{out}", "--no-what-if", *extra]


def groups(*extra):
    return ["groups", "--out", "{out}", *extra]


def tt(*extra):
    return ["traveltime", "--out", "{out}", "--n-smes", "300", *extra]


def raster(*extra):
    return ["raster", "--out", "{out}", *extra]


LATIN1_SUPPORT = support("1,Chambre de Métiers,chamber_of_trades,43.61,3.87,1").encode("latin-1")
LATIN1_SIRENE = sirene("00012345600018,A,62.01Z,11,34172,Société Générale,770000,6279000").encode("latin-1")

CASES: list[Case] = [
    # ---- score --support: the user's support bodies
    C("support-empty-file", score("--support", "{f:sup.csv}"), 1, r"sup\.csv.*empty", {"sup.csv": ""}),
    C(
        "support-header-only",
        score("--support", "{f:sup.csv}"),
        1,
        r"sup\.csv.*no (data )?rows?",
        {"sup.csv": SUPPORT_HEADER + "\n"},
    ),
    C("support-blank-lines", score("--support", "{f:sup.csv}"), 1, r"sup\.csv.*empty", {"sup.csv": "\n\n\n"}),
    C(
        "support-no-latlon",
        score("--support", "{f:sup.csv}"),
        1,
        r"no longitude/latitude columns.*add 'lon' and 'lat'",
        {"sup.csv": "name,category\nA,university\n"},
    ),
    C(
        "support-text-lat",
        score("--support", "{f:sup.csv}"),
        1,
        r"no numeric.*fill them",
        {"sup.csv": support("1,A,university,north,3.87,1")},
    ),
    C(
        "support-swapped",
        score("--support", "{f:sup.csv}"),
        1,
        r"swapped",
        {"sup.csv": support("1,A,university,3.87,43.61,1")},
    ),
    C(
        "support-inf-coords",
        score("--support", "{f:sup.csv}"),
        1,
        r"(infinite|not finite).*(coordinates|lat|lon)",
        {"sup.csv": support("1,A,university,inf,inf,1")},
    ),
    C(
        "support-inf-lon",
        score("--support", "{f:sup.csv}"),
        1,
        r"(infinite|not finite)",
        {"sup.csv": support("1,A,university,43.6,-inf,1")},
    ),
    C(
        "support-nan-text",
        score("--support", "{f:sup.csv}"),
        1,
        r"no numeric",
        {"sup.csv": support("1,A,university,nan,3.87,1")},
    ),
    C(
        "support-lambert",
        score("--support", "{f:sup.csv}"),
        1,
        r"look projected",
        {"sup.csv": support("1,A,university,6279000,770000,1")},
    ),
    C(
        "support-lat-95",
        score("--support", "{f:sup.csv}"),
        1,
        r"outside the plausible bounds",
        {"sup.csv": support("1,A,university,95,3.87,1")},
    ),
    C(
        "support-outside-territory",
        score("--support", "{f:sup.csv}"),
        1,
        r"outside the plausible bounds",
        {"sup.csv": support("1,Paris,university,48.85,2.35,1")},
    ),
    C("support-latin1", score("--support", "{f:sup.csv}"), 1, r"sup\.csv.*UTF-8", {"sup.csv": LATIN1_SUPPORT}),
    C("support-binary", score("--support", "{f:sup.csv}"), 1, r"sup\.csv", {"sup.csv": bytes(range(256)) * 8}),
    C(
        "support-no-category",
        score("--support", "{f:sup.csv}"),
        1,
        r"category",
        {"sup.csv": "name,lat,lon\nA,43.61,3.87\n"},
    ),
    C(
        "support-unknown-category",
        score("--support", "{f:sup.csv}"),
        1,
        r"category.*(allowed|one of|choose)",
        {"sup.csv": support("1,A,bakery,43.61,3.87,1")},
    ),
    C(
        "support-duplicate-ids",
        score("--support", "{f:sup.csv}"),
        1,
        r"not unique",
        {"sup.csv": support(GOOD_SUPPORT_ROW, GOOD_SUPPORT_ROW)},
    ),
    C(
        "support-capacity-1e308",
        score("--support", "{f:sup.csv}"),
        1,
        r"capacity",
        {"sup.csv": support("1,A,university,43.61,3.87,1e308")},
    ),
    C(
        "support-capacity-inf",
        score("--support", "{f:sup.csv}"),
        1,
        r"capacity",
        {"sup.csv": support("1,A,university,43.61,3.87,inf")},
    ),
    C(
        "support-capacity-negative",
        score("--support", "{f:sup.csv}"),
        1,
        r"capacity",
        {"sup.csv": support("1,A,university,43.61,3.87,-2")},
    ),
    C(
        "support-capacity-text",
        score("--support", "{f:sup.csv}"),
        1,
        r"capacity",
        {"sup.csv": support("1,A,university,43.61,3.87,big")},
    ),
    C(
        "support-capacity-nan",
        score("--support", "{f:sup.csv}"),
        1,
        r"capacity",
        {"sup.csv": support("1,A,university,43.61,3.87,nan")},
    ),
    C(
        "support-geojson-polygons",
        score("--support", "{f:sup.geojson}"),
        1,
        r"Point",
        {
            "sup.geojson": json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"name": "A", "category": "university"},
                            "geometry": {
                                "type": "Polygon",
                                "coordinates": [[[3.8, 43.6], [3.9, 43.6], [3.9, 43.7], [3.8, 43.6]]],
                            },
                        }
                    ],
                }
            )
        },
    ),
    C(
        "support-geojson-broken",
        score("--support", "{f:sup.geojson}"),
        1,
        r"sup\.geojson.*vector file",
        {"sup.geojson": '{"type": "FeatureCollection", "features": ['},
    ),
    C(
        "support-gpkg-is-text",
        score("--support", "{f:sup.gpkg}"),
        1,
        r"sup\.gpkg.*vector file",
        {"sup.gpkg": "not a geopackage"},
    ),
    C(
        "support-missing-file",
        score("--support", "{tmp}/nope.csv"),
        1,
        r"nope\.csv.*(does not exist|nor an existing file)",
    ),
    C(
        "support-is-folder",
        score("--support", "{tmp}"),
        1,
        r"(is a folder; give the path of a file|nor an existing file)",
    ),
    C(
        "support-gzip-csv",
        score("--support", "{f:sup.csv}"),
        1,
        r"sup\.csv",
        {"sup.csv": gzip.compress(support(GOOD_SUPPORT_ROW).encode())},
    ),
    C(
        "support-zip-csv",
        score("--support", "{f:sup.zip}"),
        1,
        r"sup\.zip",
        {"sup.zip": zipped("sup.csv", support(GOOD_SUPPORT_ROW))},
    ),
    C("support-empty-prev-run", score("--support", "{f:sup.csv}"), 1, r"sup\.csv.*empty", {"sup.csv": ""}, prev=True),
    # ---- score --smes: a SIRENE extract
    C("sirene-empty", score("--smes", "{f:s.csv}"), 1, r"s\.csv.*empty", {"s.csv": ""}),
    C("sirene-header-only", score("--smes", "{f:s.csv}"), 1, r"no active establishment", {"s.csv": sirene()}),
    C(
        "sirene-zip-semicolon",
        score("--smes", "{f:s.zip}"),
        1,
        r"size band|NAF|tranche|s\.zip",
        {"s.zip": zipped("s.csv", sirene("00012345600018,A,62.01Z,99,34172,X,770000,6279000", sep=";"))},
    ),
    C(
        "sirene-size-band-99",
        score("--smes", "{f:s.csv}"),
        1,
        r"trancheEffectifsEtablissement.*'99'",
        {"s.csv": sirene("00012345600018,A,62.01Z,99,34172,X,770000,6279000")},
    ),
    C(
        "sirene-naf-zz",
        score("--smes", "{f:s.csv}"),
        1,
        r"activitePrincipaleEtablissement.*'ZZ\.ZZZ'",
        {"s.csv": sirene("00012345600018,A,ZZ.ZZZ,11,34172,X,770000,6279000")},
    ),
    C(
        "sirene-missing-columns",
        score("--smes", "{f:s.csv}"),
        1,
        r"missing SIRENE column",
        {"s.csv": "siret,name\n1,A\n"},
    ),
    C("sirene-latin1", score("--smes", "{f:s.csv}"), 1, r"s\.csv.*UTF-8", {"s.csv": LATIN1_SIRENE}),
    C(
        "sirene-geoloc-file-hint",
        score("--smes", "{f:s.csv}"),
        1,
        r"geolocation file(?!.*geolocation=)",
        {"s.csv": "siret,x,y,epsg\n00012345600018,770000,6279000,2154\n"},
    ),
    C(
        "sirene-no-coords-hint",
        score("--smes", "{f:s.csv}"),
        1,
        r"no coordinate columns(?!.*geolocation=)",
        {
            "s.csv": "siret,etatAdministratifEtablissement,activitePrincipaleEtablissement,trancheEffectifsEtablissement,codeCommuneEtablissement\n00012345600018,A,62.01Z,11,34172\n"
        },
    ),
    C(
        "sirene-other-departement",
        score("--smes", "{f:s.csv}"),
        1,
        r"no active establishment",
        {"s.csv": sirene("00012345600018,A,62.01Z,11,75056,X,652000,6862000")},
    ),
    C(
        "sirene-duplicate-siret",
        score("--smes", "{f:s.csv}"),
        1,
        r"not unique",
        {"s.csv": sirene(GOOD_SIRENE_ROW, GOOD_SIRENE_ROW)},
    ),
    C("sirene-binary", score("--smes", "{f:s.csv}"), 1, r"s\.csv", {"s.csv": bytes(range(256)) * 8}),
    C(
        "sirene-swapped-lonlat",
        score("--smes", "{f:s.csv}"),
        1,
        r"swapped",
        {
            "s.csv": "siret,etatAdministratifEtablissement,activitePrincipaleEtablissement,trancheEffectifsEtablissement,codeCommuneEtablissement,longitude,latitude\n00012345600018,A,62.01Z,11,34172,43.61,3.87\n"
        },
    ),
    C(
        "sirene-inf-lonlat",
        score("--smes", "{f:s.csv}"),
        1,
        r"(infinite|not finite)",
        {
            "s.csv": "siret,etatAdministratifEtablissement,activitePrincipaleEtablissement,trancheEffectifsEtablissement,codeCommuneEtablissement,longitude,latitude\n00012345600018,A,62.01Z,11,34172,inf,inf\n"
        },
    ),
    # ---- score options
    C("score-seed-negative", score("--seed", "-1"), 2, r"--seed.*-1.*(>=|at least) 0"),
    C("score-n-smes-negative", score("--n-smes", "-5"), 2, r"--n-smes.*-5"),
    C("score-n-smes-zero", score("--n-smes", "0"), 2, r"--n-smes.*0"),
    C("score-n-smes-absurd", score("--n-smes", "100000000"), 2, r"--n-smes.*100000000"),
    C("score-seed-text", score("--seed", "abc"), 2, r"--seed.*abc"),
    C("score-normalisation-bogus", score("--normalisation", "max"), 2, r"--normalisation.*max"),
    C("score-weighting-bogus", score("--weighting", "area"), 2, r"--weighting.*area"),
    C("score-profile-missing", score("--profile", "{tmp}/nope.toml"), 1, r"nope\.toml"),
    C(
        "score-profile-unknown-key",
        score("--profile", "{f:p.toml}"),
        1,
        r"unknown key",
        {"p.toml": "[components]\ndensty = 1\n"},
    ),
    C("score-profile-not-toml", score("--profile", "{f:p.toml}"), 1, r"p\.toml", {"p.toml": "this is = not [toml"}),
    C(
        "score-profile-bad-prev-run",
        score("--profile", "{f:p.toml}"),
        1,
        r"unknown key",
        {"p.toml": "[components]\ndensty = 1\n"},
        prev=True,
    ),
    C("score-out-empty", score("--out", ""), 2, r"--out.*empty"),
    C("score-out-under-file", ["score", "--out", "{f:afile}/sub"], 1, r"afile.*is a file", {"afile": "x"}),
    C("score-out-is-file", ["score", "--out", "{f:afile}"], 2, r"is a file", {"afile": "x"}),
    C("score-out-unwritable", ["score", "--out", "/proc/proximity-out"], 1, r"/proc/proximity-out.*writable"),
    C("score-territory-unknown", score("--territory", "atlantis"), 1, r"atlantis"),
    # ---- traveltime
    C("tt-max-minutes-zero", tt("--max-minutes", "0"), 2, r"--max-minutes.*0"),
    C("tt-max-minutes-negative", tt("--max-minutes", "-5"), 2, r"--max-minutes.*-5"),
    C("tt-max-minutes-nan", tt("--max-minutes", "nan"), 2, r"--max-minutes.*nan"),
    C("tt-max-minutes-inf", tt("--max-minutes", "inf"), 2, r"--max-minutes.*inf"),
    C("tt-max-minutes-absurd", tt("--max-minutes", "1e9"), 2, r"--max-minutes"),
    C("tt-seed-negative", tt("--seed", "-1"), 2, r"--seed"),
    C("tt-n-smes-negative", tt("--n-smes", "-1"), 2, r"--n-smes"),
    C("tt-out-empty", tt("--out", ""), 2, r"--out.*empty"),
    C("tt-out-under-file", ["traveltime", "--out", "{f:afile}/x"], 1, r"is a file", {"afile": "x"}),
    C("tt-max-minutes-bad-prev-run", tt("--max-minutes", "nan"), 2, r"--max-minutes", prev=True),
    # ---- raster
    C("raster-cell-1e9", raster("--cell-m", "1e9"), 2, r"--cell-m.*1e\+?0?9|--cell-m.*1000000000"),
    C("raster-cell-zero", raster("--cell-m", "0"), 2, r"--cell-m"),
    C("raster-cell-negative", raster("--cell-m", "-200"), 2, r"--cell-m"),
    C("raster-cell-nan", raster("--cell-m", "nan"), 2, r"--cell-m.*nan"),
    C("raster-cell-inf", raster("--cell-m", "inf"), 2, r"--cell-m.*inf"),
    C("raster-cell-tiny", raster("--cell-m", "0.5"), 2, r"--cell-m"),
    C("raster-cell-text", raster("--cell-m", "fine"), 2, r"--cell-m"),
    C("raster-out-empty", raster("--out", ""), 2, r"--out.*empty"),
    C("raster-out-under-file", ["raster", "--out", "{f:afile}/r"], 1, r"is a file", {"afile": "x"}),
    C("raster-cell-bad-prev-run", raster("--cell-m", "1e9"), 2, r"--cell-m", prev=True),
    # ---- site
    C(
        "site-file-without-user",
        site("--candidates-file", "{f:c.csv}"),
        2,
        r"--candidates-file.*--candidates user",
        {"c.csv": GOOD_CANDIDATES},
    ),
    C(
        "site-file-with-grid",
        site("--candidates", "grid", "--candidates-file", "{f:c.csv}"),
        2,
        r"--candidates-file.*--candidates user",
        {"c.csv": GOOD_CANDIDATES},
    ),
    C("site-user-without-file", site("--candidates", "user"), 2, r"--candidates user.*--candidates-file"),
    C(
        "site-candidates-empty",
        site("--candidates", "user", "--candidates-file", "{f:c.csv}"),
        1,
        r"c\.csv.*empty",
        {"c.csv": ""},
    ),
    C(
        "site-candidates-latin1",
        site("--candidates", "user", "--candidates-file", "{f:c.csv}"),
        1,
        r"c\.csv.*UTF-8",
        {"c.csv": "name,lat,lon\nBéziers,43.34,3.21\n".encode("latin-1")},
    ),
    C(
        "site-candidates-outside",
        site("--candidates", "user", "--candidates-file", "{f:c.csv}"),
        1,
        r"outside",
        {"c.csv": "name,lat,lon\nParis,48.85,2.35\n"},
    ),
    C(
        "site-candidates-no-latlon",
        site("--candidates", "user", "--candidates-file", "{f:c.csv}"),
        1,
        r"c\.csv.*(lon|lat)",
        {"c.csv": "name,x\nA,1\n"},
    ),
    C(
        "site-candidates-inf",
        site("--candidates", "user", "--candidates-file", "{f:c.csv}"),
        1,
        r"(infinite|not finite)",
        {"c.csv": "name,lat,lon\nA,inf,3.8\n"},
    ),
    C("site-grid-spacing-zero", site("--grid-spacing-m", "0"), 2, r"--grid-spacing-m"),
    C("site-grid-spacing-nan", site("--grid-spacing-m", "nan"), 2, r"--grid-spacing-m"),
    C("site-grid-spacing-tiny", site("--grid-spacing-m", "1"), 2, r"--grid-spacing-m"),
    C("site-within-negative", site("--within-minutes", "-30"), 2, r"--within-minutes"),
    C("site-within-nan", site("--within-minutes", "nan"), 2, r"--within-minutes"),
    C("site-p-max-zero", site("--p-max", "0"), 2, r"--p-max"),
    C("site-p-max-absurd", site("--p-max", "100000"), 2, r"--p-max"),
    C("site-maps-under-file", site("--maps", "{f:afile}/m"), 1, r"afile.*is a file", {"afile": "x"}),
    C("site-out-empty", site("--out", ""), 2, r"--out.*empty"),
    C(
        "site-bad-prev-run",
        site("--candidates-file", "{f:c.csv}"),
        2,
        r"--candidates-file",
        {"c.csv": GOOD_CANDIDATES},
        prev=True,
    ),
    # ---- groups
    C("groups-section-unknown", groups("--section", "Z"), 2, r"--section.*'Z'"),
    C("groups-section-word", groups("--section", "manufacturing"), 2, r"--section"),
    C("groups-size-band-99", groups("--size-band", "99"), 2, r"--size-band.*'99'"),
    C("groups-commune-unknown", groups("--commune", "99999"), 1, r"99999"),
    C("groups-max-minutes-zero", groups("--max-minutes", "0"), 2, r"--max-minutes"),
    C("groups-max-minutes-nan", groups("--max-minutes", "nan"), 2, r"--max-minutes"),
    C("groups-min-size-zero", groups("--min-size", "0"), 2, r"--min-size"),
    C("groups-min-gt-max", groups("--min-size", "6", "--max-size", "5"), 2, r"--min-size.*--max-size"),
    C("groups-time-limit-negative", groups("--time-limit-s", "-1"), 2, r"--time-limit-s"),
    C("groups-time-limit-nan", groups("--time-limit-s", "nan"), 2, r"--time-limit-s"),
    C("groups-seed-negative", groups("--seed", "-1"), 2, r"--seed"),
    C("groups-method-bogus", groups("--method", "magic"), 2, r"--method"),
    C("groups-out-empty", groups("--out", ""), 2, r"--out.*empty"),
    C("groups-bad-prev-run", groups("--section", "Z"), 2, r"--section", prev=True),
    # ---- run
    C(
        "run-profile-unknown-key",
        run_("--profile", "{f:p.toml}"),
        1,
        r"unknown key",
        {"p.toml": "[components]\ndensty = 1\n"},
    ),
    C(
        "run-profile-unknown-key-prev-run",
        run_("--profile", "{f:p.toml}"),
        1,
        r"unknown key",
        {"p.toml": "[components]\ndensty = 1\n"},
        prev=True,
    ),
    C("run-profile-missing", run_("--profile", "{tmp}/nope.toml"), 1, r"nope\.toml"),
    C("run-seed-negative", run_("--seed", "-1"), 2, r"--seed"),
    C("run-n-smes-negative", run_("--n-smes", "-1"), 2, r"--n-smes"),
    C("run-max-minutes-nan", run_("--max-minutes", "nan"), 2, r"--max-minutes"),
    C("run-out-empty", run_("--out", ""), 2, r"--out.*empty"),
    C("run-out-under-file", ["run", "--out", "{f:afile}/o"], 1, r"is a file", {"afile": "x"}),
    C("run-maps-under-file", run_("--maps", "{f:afile}/m"), 1, r"afile.*is a file", {"afile": "x"}),
    C("run-maps-empty", run_("--maps", ""), 2, r"--maps.*empty"),
    C("run-out-unwritable", ["run", "--out", "/proc/proximity-run"], 1, r"/proc/proximity-run.*writable"),
    # ---- route (the engine's cases — JSON, to itself, NaN — are tested elsewhere)
    C("route-from-text", ["route", "--from", "montpellier", "--to", "43.58,3.96"], 2, r"--from.*LAT,LON"),
    C("route-from-three-numbers", ["route", "--from", "43.6,3.8,1", "--to", "43.58,3.96"], 2, r"--from.*LAT,LON"),
    C("route-swapped", ["route", "--from", "3.87,43.61", "--to", "43.58,3.96"], 1, r"swapped"),
    C("route-outside", ["route", "--from", "48.85,2.35", "--to", "43.58,3.96"], 1, r"outside"),
    C("route-inf", ["route", "--from", "inf,inf", "--to", "43.58,3.96"], 1, r"--from.*(finite|outside)"),
    # ---- layers / data / network
    C("layers-export-bad-extension", ["layers", "export", "gateways", "--out", "{tmp}/g.txt"], 1, r"g\.txt.*\.gpkg"),
    C(
        "layers-export-under-file",
        ["layers", "export", "gateways", "--out", "{f:afile}/g.gpkg"],
        1,
        r"afile.*is a file",
        {"afile": "x"},
    ),
    C("layers-export-empty", ["layers", "export", "gateways", "--out", ""], 2, r"--out.*empty"),
    C("layers-show-head-negative", ["layers", "show", "gateways", "--head", "-3"], 2, r"--head"),
    C("layers-show-n-smes-negative", ["layers", "show", "smes", "--n-smes", "-3"], 2, r"--n-smes"),
    C("layers-show-seed-negative", ["layers", "show", "smes", "--seed", "-3"], 2, r"--seed"),
    C("layers-show-unknown", ["layers", "show", "planets"], 2, r"planets"),
    C(
        "data-install-no-mirror",
        ["data", "install", "--mirror", "{tmp}/nope", "--target", "{tmp}/t"],
        1,
        r"mirror folder",
    ),
    C(
        "data-install-target-under-file",
        ["data", "install", "--target", "{f:afile}/t"],
        1,
        r"afile.*is a file",
        {"afile": "x"},
    ),
    C(
        "data-verify-empty-dir",
        ["data", "verify"],
        1,
        r"proximity data install",
        env={"PROXIMITY_DATA_DIR": "{tmp}/empty"},
    ),
    C(
        "network-graphml-under-file",
        ["network", "build", "--graphml", "{f:afile}/g.graphml"],
        1,
        r"afile.*is a file",
        {"afile": "x"},
    ),
    C("unknown-command", ["frobnicate"], 2, r"frobnicate"),
    # ---- clumsy but usable: a complete run lands beside the previous one's unrelated files
    C(
        "groups-into-previous-folder",
        groups("--section", "c", "--method", "heuristic", "--time-limit-s", "5"),
        0,
        "",
        prev=True,
        written=(
            "groups.csv",
            "members.csv",
            "groups.gpkg",
            "provenance.json",
            "municipalities.csv",
            ".proximity-run-groups.json",
        ),
    ),
    C(
        "support-semicolon-decimal-comma",
        score("--support", "{f:sup.csv}"),
        0,
        "",
        {"sup.csv": "id;name;category;lat;lon\n1;Club export;chamber_of_commerce;43,61;3,87\n"},
        written=("municipalities.csv", "smes.csv", "provenance.json"),
    ),
    C("unknown-option", ["score", "--out", "{out}", "--colour", "red"], 2, r"--colour"),
]

# ---------------------------------------------------------------- machinery


@contextmanager
def memoised_territory():
    """Memoise the network and the territories loaded by the CLI (restored on exit)."""
    import proximity.network as network
    import proximity.pipeline as pipeline
    import proximity.territory as territory

    real_build, real_load = network.build_network, territory.load_territory
    graphs: dict = {}
    ters: dict = {}

    def build(name="herault", **kw):
        if set(kw) - {"cache", "progress"}:
            return real_build(name, **kw)
        if name not in graphs:
            graphs[name] = real_build(name)
        return graphs[name]

    def load(name="herault", **kw):
        kw.pop("progress", None)
        key = (name, tuple(sorted((k, str(v)) for k, v in kw.items())))
        if key not in ters:
            ters[key] = real_load(name, **kw)
        return ters[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network, "build_network", build)
        mp.setattr(territory, "load_territory", load)
        mp.setattr(pipeline, "load_territory", load, raising=False)
        yield


@pytest.fixture(scope="module")
def fast(real_data):
    """The network and territories loaded once for the whole module (real data: integration layer)."""
    with memoised_territory():
        yield


def _fill(argv, tmp: Path, out: Path, files: dict) -> list[str]:
    out_s = []
    for a in argv:
        a = a.replace("{out}", str(out)).replace("{tmp}", str(tmp))
        for m in re.findall(r"\{f:([^}]+)\}", a):
            a = a.replace("{f:" + m + "}", str(tmp / m))
        out_s.append(a)
    for name, content in files.items():
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return out_s


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under a folder (hidden ones too) with its bytes; None when it does not exist."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


PREVIOUS_RUN = {
    "municipalities.csv": b"insee,index\n34172,1.0\n",
    "smes.csv": b"id,name\n1,old\n",
    "provenance.json": b'{"previous": true}\n',
    "traveltime/nearest_smes.csv": b"origin_id\n",
}


def seed_previous_run(out: Path) -> None:
    for rel, data in PREVIOUS_RUN.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)


def invoke(case: Case, tmp: Path):
    out = tmp / "out"
    argv = _fill(case.argv, tmp, out, case.files)
    if case.prev:
        seed_previous_run(out)
    env = {k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}
    for v in env.values():
        Path(v).mkdir(parents=True, exist_ok=True)
    before = snapshot(out)
    beside = {p.name for p in tmp.iterdir()}
    r = CliRunner().invoke(main, argv, env=env or None)
    return r, out, before, beside


def outcome(case: Case, tmp: Path) -> tuple[str, str]:
    """The class of a case's result: clear, traceback, silent, partial or message (and details)."""
    r, out, before, beside = invoke(case, tmp)
    text = (r.stderr or "") + (r.stdout or "")
    if (r.exception is not None and not isinstance(r.exception, SystemExit)) or "Traceback" in text:
        return "traceback", f"{type(r.exception).__name__}: {r.exception}"
    if r.exit_code == 0 and case.exit != 0:
        return "silent", text[-300:]
    after = snapshot(out)
    stray = {p.name for p in tmp.iterdir()} - beside - ({out.name} if after is not None else set())
    if (after != before or stray) and not (case.exit == 0 and r.exit_code == 0):
        return "partial", f"out changed: {sorted(set(after or {}) ^ set(before or {}))}, stray: {sorted(stray)}"
    lines = [ln for ln in (r.stderr or "").splitlines() if ln.strip() and not ln.startswith("·")]
    if r.exit_code != case.exit:
        return "message", f"exit {r.exit_code} instead of {case.exit}: {lines}"
    missing = [f for f in case.written if not (out / f).is_file()]
    if missing or (case.exit == 0 and [p for p in tmp.iterdir() if ".proximity-" in p.name]):
        return "partial", f"missing after success: {missing}"
    if case.exit != 0:
        if len(lines) != 1:
            return "message", f"{len(lines)} lines: {lines}"
        if not re.search(case.match, lines[0], flags=re.IGNORECASE):
            return "message", f"no match for {case.match!r}: {lines[0]}"
    return "clear", ""


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case: Case, tmp_path: Path, fast) -> None:
    kind, detail = outcome(case, tmp_path)
    assert kind == "clear", f"{kind}: {detail}"


def test_case_table_is_large_and_unique():
    ids = [c.id for c in CASES]
    assert len(ids) >= 100 and len(set(ids)) == len(ids)
    commands = {c.argv[0] for c in CASES}
    assert {"score", "run", "traveltime", "raster", "site", "groups", "route", "layers", "data", "network"} <= commands


# ---------------------------------------------------------------- outputs that succeed and must be safe
FORMULAS = ['=HYPERLINK("http://x")', "+33 4 67", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def test_formula_cells_are_neutralised_in_every_csv(tmp_path):
    import numpy as np
    import pandas as pd

    from proximity import _io

    df = pd.DataFrame(
        {
            "name": FORMULAS,
            "minutes": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0],
            "label": pd.array(["ok", "=1", None, "a", "b", "c"], dtype="string"),
        },
        index=pd.Index(["=id", "b", "c", "d", "e", "f"]),
    )
    _io.write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", index_col=0, keep_default_na=False)
    assert back["name"].tolist() == ["'" + f for f in FORMULAS[:-1]] + ["'\nCR"]
    assert back["minutes"].tolist() == [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0]  # numbers untouched
    assert back["label"].tolist()[:2] == ["ok", "'=1"]
    assert back.index[0] == "'=id"
    assert np.array_equal(df["minutes"], [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0])  # the input is not modified
    assert df["name"].iloc[0] == FORMULAS[0]


def test_sirene_names_that_are_formulas_reach_smes_csv_neutralised(tmp_path, fast):
    rows = [
        f"0001234560{i:04d},A,62.01Z,11,34172,{name},{770000 + 50 * i},6279000"
        for i, name in enumerate(['=HYPERLINK("http://evil")', "@SUM(A1)", "+33", "-1"])
    ]
    (tmp_path / "s.csv").write_text(sirene(*rows), encoding="utf-8")
    out = tmp_path / "out"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # SIRENE says nothing of exporters: the CLI warns in one line
        r = CliRunner().invoke(main, ["score", "--out", str(out), "--smes", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.stderr
    assert "proximity: warning: exporter status is unknown" in r.stderr
    text = (out / "smes.csv").read_text(encoding="utf-8")
    for name in ['"\'=HYPERLINK(""http://evil"")"', "'@SUM(A1)", "'+33", "'-1"]:
        assert name in text
    assert ",=HYPERLINK" not in text and ",@SUM" not in text
    prov = (out / "provenance.json").read_text(encoding="utf-8")
    assert "NaN" not in prov and "Infinity" not in prov
    manifest = json.loads((out / ".proximity-run-score.json").read_text())
    assert set(manifest["files"]) == {
        "municipalities.gpkg",
        "municipalities.csv",
        "smes.gpkg",
        "smes.csv",
        "provenance.json",
    }
    assert not [p for p in tmp_path.iterdir() if ".proximity-" in p.name]


def test_strict_json_writes_null_for_nan_and_infinity(tmp_path):
    import math

    import numpy as np

    from proximity import _io

    _io.write_json(
        {
            "a": math.nan,
            "b": [math.inf, -math.inf, 1.5],
            "c": np.float64("nan"),
            "d": np.int64(3),
            "e": {"f": np.array([1.0, np.nan])},
            "g": np.bool_(True),
        },
        tmp_path / "p.json",
    )
    text = (tmp_path / "p.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "a": None,
        "b": [None, None, 1.5],
        "c": None,
        "d": 3,
        "e": {"f": [1.0, None]},
        "g": True,
    }


def test_provenance_records_the_sha256_actually_read(fast):
    import hashlib

    from proximity import datasets, pipeline
    from proximity.territory import load_territory

    prov = pipeline.provenance(load_territory("herault", n_smes=300))
    row = next(i for i in prov["inputs"] if i.get("key") == "communes_polygons")
    p = datasets.path("communes_polygons")
    assert row["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    json.dumps(prov, allow_nan=False)


def test_a_data_file_edited_without_changing_its_size_is_refused(tmp_path, real_data):
    import shutil

    from proximity import datasets
    from proximity.errors import DataFileError

    man = datasets.load_manifest("herault")
    f = man.file("communes_polygons")
    src = datasets.path("communes_polygons")
    dest = tmp_path / "herault" / f.path
    dest.parent.mkdir(parents=True)
    shutil.copyfile(src, dest)
    assert datasets.path("communes_polygons", target=tmp_path / "herault") == dest
    data = bytearray(dest.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, same size
    dest.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"communes_polygons.*corrupt or was edited.*proximity data install"):
        datasets.path("communes_polygons", target=tmp_path / "herault")
    with pytest.raises(DataFileError, match="corrupt or was edited"):
        datasets.actual_sha256("communes_polygons", target=tmp_path / "herault")


def test_a_tampered_cache_sidecar_is_rebuilt_not_a_traceback(tmp_path, real_data):
    import shutil

    from proximity import network
    from proximity.errors import CacheWarning

    folder = network.default_cache_dir()
    import warnings

    with warnings.catch_warnings():  # an older cache is rebuilt here, with a warning that is not this test's
        warnings.simplefilter("ignore", CacheWarning)
        network.build_network("herault")  # makes sure the cache exists (loads it when it does)
    for name in ("network-herault.npz", "network-herault.json"):
        shutil.copyfile(folder / name, tmp_path / name)
    side = json.loads((tmp_path / "network-herault.json").read_text())
    side["npz_sha256"] = {"not": "a hash"}
    (tmp_path / "network-herault.json").write_text(json.dumps(side))
    key = side["key"]  # the key the cache was written under: only the tampered hash is wrong
    with pytest.warns(CacheWarning, match="network-herault.npz.*is corrupt"):
        assert network._load_cache(tmp_path, "herault", key) is None


def test_stale_staging_folders_are_removed_and_complete_ones_finished(tmp_path):
    from proximity import _io

    out = tmp_path / "out"
    dead = 2**22 + 12345  # above the default pid_max: no such process
    stale = tmp_path / f".out.proximity-stage-{dead}-abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "half.csv").write_text("x")
    done = tmp_path / f".out.proximity-commit-{dead}-def"
    done.mkdir()
    (done / "a.csv").write_text("new")
    (done / ".proximity-commit.json").write_text(json.dumps({"command": "score", "date": "d", "files": ["a.csv"]}))
    out.mkdir()
    (out / "a.csv").write_text("old")
    (out / ".a.csv.x.part.csv").write_text("partial")
    _io.clean_stale(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "a.csv").read_text() == "new"
    assert sorted(p.name for p in out.iterdir()) == [".proximity-run-score.json", "a.csv"]


def test_staged_output_keeps_the_previous_run_on_error_and_replaces_it_on_success(tmp_path):
    from proximity import _io

    out = tmp_path / "out"
    with _io.staged_output(out, command="t") as st:
        (st / "a.csv").write_text("1")
        (st / "old_only.csv").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == [".proximity-run-t.json", "a.csv", "old_only.csv"]
    (out / "user_notes.txt").write_text("mine")

    def interrupted() -> None:
        with _io.staged_output(out, command="t") as st:
            (st / "a.csv").write_text("2")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert (out / "a.csv").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with _io.staged_output(out, command="t") as st:
        (st / "a.csv").write_text("3")
    # the new run replaces the files of the previous run of the same command; other files stay
    assert sorted(p.name for p in out.iterdir()) == [".proximity-run-t.json", "a.csv", "user_notes.txt"]
    assert (out / "a.csv").read_text() == "3"
    with pytest.raises(InputError, match="--out is empty"), _io.staged_output("", command="t"):
        pass


# ---------------------------------------------------------------- memory: blockwise scores
def _long_table_indicators(ter, origins, profile):
    """The opportunity indicators from one long OD table and proximity.accessibility (the reference)."""
    import pandas as pd

    from proximity import accessibility as acc
    from proximity import scores, traveltime
    from proximity.layers import air_routes, on_network

    p = profile.parameters
    T, decay = float(p["catchment_minutes"]), profile.decay.function
    horizon, reach = scores.gravity_horizon_minutes(profile), float(p["reach_minutes"])
    gws, sup = on_network(ter.gateways), on_network(ter.support_bodies)
    large = ter.smes[ter.smes["employees_min"].fillna(0) >= p["large_firm_employees"]]
    parts = [sup.assign(layer="support"), gws.assign(layer="gateway"), large.assign(layer="large_firm")]
    dest = pd.concat([d[["geometry", "layer"]] for d in parts])
    od_all = traveltime.od_matrix(ter.csr, origins, dest, max_minutes=max(horizon, reach))
    od = od_all[od_all["minutes"] <= horizon]
    kind = od["destination_id"].map(dest["layer"])
    od_sup, od_gw, od_large = (od[kind.eq(k)] for k in ("support", "gateway", "large_firm"))
    ids = origins.index

    def within(table, weights=None):
        return acc.cumulative_opportunities(table, thresholds_minutes=(T,), weights=weights, origins=ids).iloc[:, 0]

    out = pd.DataFrame(index=ids)
    out["support_within_t"] = within(od_sup)
    out["students_within_t"] = within(od_sup, sup["students"].fillna(0.0))
    out["gateways_within_t"] = within(od_gw)
    out["large_firms_within_t"] = within(od_large)
    out["support_gravity"] = acc.gravity(od_sup, decay=decay, origins=ids)
    out["support_diversity"] = acc.diversity(od_sup, categories=sup["category"], decay=decay, origins=ids)["hill_1"]
    modes = gws["group"].map(scores._GROUP_MODES).dropna()
    out["gateway_mode_diversity"] = acc.diversity(
        od_gw[od_gw["destination_id"].isin(modes.index)],
        categories=pd.Series(pd.Categorical(modes, categories=list(scores.GATEWAY_MODES)), index=modes.index),
        decay=decay,
        origins=ids,
    )["hill_1"]
    st = gws[gws["kind"].eq("rail_station") & (gws["ridership_2015"].fillna(0) > 0)]
    od_st = od_gw[od_gw["destination_id"].isin(st.index)]
    g24 = acc.gravity(od_st, weights=st["ridership_2024"].astype(float), decay=decay, origins=ids)
    g15 = acc.gravity(od_st, weights=st["ridership_2015"].astype(float), decay=decay, origins=ids)
    out["rail_ridership_growth"] = (g24 / g15.where(g15 > 0, 1.0) - 1.0).where(g15 > 0, 0.0)
    routes = air_routes.airport_destinations(gws[gws["kind"].eq("airport")])
    od_air = od_all[od_all["destination_id"].isin(gws.index[gws["kind"].eq("airport")])]
    reach_cols = acc.world_reach(
        od_air, routes, max_minutes=reach, decay=decay, origins=ids, home_country=air_routes.HOME_COUNTRY
    )
    return out.join(reach_cols)


def test_scores_reduced_block_by_block_equal_the_long_table_definitions(fast, monkeypatch):
    """The indicators are sums over the engine's blocks, never an OD table: they equal the
    definitions of proximity.accessibility on the long table, whatever the block sizes."""
    import numpy as np
    import pandas as pd

    from proximity import _engine, milieu, scores
    from proximity.territory import load_territory

    ter = load_territory("herault", n_smes=300)
    origins = ter.smes[["geometry"]].iloc[:120]
    kw = {"gateways": ter.gateways, "support_bodies": ter.support_bodies, "smes": ter.smes}
    whole = scores.origin_indicators(ter.csr, origins, **kw)
    want = _long_table_indicators(ter, origins, milieu.load_profile())
    assert whole["support_within_t"].gt(0).any() and whole["reach_destinations"].gt(0).any()
    pd.testing.assert_frame_equal(whole[want.columns], want, check_exact=False, rtol=1e-12, atol=1e-12)
    sup = ter.support_bodies[ter.support_bodies["on_network"]]
    whole_2sfca = scores.two_step_support(ter.csr, origins, support_bodies=sup, smes=ter.smes, max_minutes=45.0)
    # tiny Dijkstra batches and blocks (a few origins x opportunities at a time): same values
    monkeypatch.setattr(_engine, "BATCH_BYTES", 8 * (ter.csr.n_nodes + 400) * 3)
    monkeypatch.setattr(_engine, "BLOCK_CELLS", 500)
    blocks = scores.origin_indicators(ter.csr, origins, **kw)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=False, rtol=1e-12)
    blocks_2sfca = scores.two_step_support(ter.csr, origins, support_bodies=sup, smes=ter.smes, max_minutes=45.0)
    assert whole_2sfca.gt(0).any()
    np.testing.assert_allclose(blocks_2sfca.to_numpy(), whole_2sfca.to_numpy(), rtol=1e-12)


def test_too_many_user_support_bodies_are_refused_up_front(tmp_path, fast):
    from proximity.layers.support import MAX_USER_BODIES

    rows = "".join(
        f"{i},B{i},university,{43.5 + (i % 100) * 1e-4},{3.8 + (i // 100) * 1e-4},1\n"
        for i in range(MAX_USER_BODIES + 1)
    )
    (tmp_path / "sup.csv").write_text(SUPPORT_HEADER + "\n" + rows)
    r = CliRunner().invoke(main, ["score", "--out", str(tmp_path / "out"), "--support", str(tmp_path / "sup.csv")])
    assert r.exit_code == 1
    line = r.stderr.strip()
    assert (
        "\n" not in line and "20,001 bodies, more than the 20,000 supported" in line and "merge nearby bodies" in line
    )
    assert not (tmp_path / "out").exists()
