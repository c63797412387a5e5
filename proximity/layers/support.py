"""Support bodies: chambers, foreign-trade services, higher education, research, users' own.

The default territory's files hold few support bodies: the 2014 public establishments of
the city of Montpellier (chamber of commerce, foreign-trade service, chamber of trades,
faculties, schools, research institutes), the public higher-education sites of about
2017 (with student counts) and the main higher-education institutions of about 2025
(for the private Montpellier Business School). Banks, consultants, incubators, export
clubs and customs offices are not in them: users bring their own layer (``extra``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import datasets
from ..errors import DataFileError, InputError, LayerValidationError
from ._common import WGS84, bounds, metric_crs, points, split_latlon
from ._validate import validate_layer

__all__ = [
    "support_bodies",
    "read_user_points",
    "read_user_csv",
    "CATEGORIES",
    "DEDUPE_M",
    "MAX_CAPACITY",
    "MAX_USER_BODIES",
]

#: Taxonomy of support bodies: category -> what belongs in it.
CATEGORIES: dict[str, str] = {
    "chamber_of_commerce": "Chamber of commerce and industry (CCI): export advice, formalities "
    "(certificates of origin, ATA carnets), trade missions, training.",
    "foreign_trade_service": "Public foreign-trade service: regional directorate of foreign trade "
    "(DRCE, now DREETS), Business France / Team France Export, regional agency (AD'OCC).",
    "chamber_of_trades": "Chamber of trades and crafts (CMA): support for craft firms.",
    "chamber_of_agriculture": "Chamber of agriculture: support for farms and agri-food firms.",
    "university": "University site: faculty (UFR), university institute of technology (IUT), "
    "branch campus or international office.",
    "business_school": "Business or management school, including university management schools (IAE).",
    "engineering_school": "Engineering school (public or private).",
    "research_institute": "Public research institute or observatory (IRD, INRAE, CIRAD, CIHEAM…).",
    "higher_education_other": "Other higher education: art and architecture schools, teacher "
    "training, CNAM, apprentice training centres, continuing education.",
    "export_club": "Export club, network of foreign-trade advisers (CCE), sector cluster with an export programme.",
    "bank": "Bank branch or office with trade-finance or international services.",
    "consultant": "Private export consultant, freight forwarder, customs broker, chartered "
    "accountant or law firm advising on international trade.",
    "incubator": "Incubator, accelerator or business innovation centre (BIC).",
    "customs_office": "Customs office or customs advisory unit.",
    "other": "Any other body that helps firms go international (say what in its name).",
}

#: Points of two sources with the same category closer than this are one body.
DEDUPE_M = 300.0

#: Largest capacity (relative weight) of a user's support body: beyond, sums overflow to inf in 2SFCA.
MAX_CAPACITY = 1e6

#: Most user support bodies accepted: scoring times every origin to every body (see support_bodies).
MAX_USER_BODIES = 20_000

COLUMNS = ("id", "name", "category", "capacity", "students", "source", "vintage", "caveat", "duplicates", "geometry")

# 2014 city points (LIBEL) worth keeping, by category; other rows are schools, parks, etc.
_MTP_2014: dict[str, str] = {
    "Chambre de Commerce": "chamber_of_commerce",
    "Direction Régionale du Commerce Extérieur": "foreign_trade_service",
    "Chambre Régionale des Métiers L.R.": "chamber_of_trades",
    "Maison de l'Agriculture": "chamber_of_agriculture",
    "Ecole Supérieure de Commerce": "business_school",
    "Faculté Sciences Economique et de Gestion": "university",
    "Faculté Economique et Sociale": "university",
    "Faculté de Médecine": "university",
    "Faculté de Droit": "university",
    "Faculté de Pharmacie": "university",
    "Faculté des Sciences": "university",
    "Faculté Paul Valéry": "university",
    "Faculté d'Odontologie": "university",
    "Institut de Pharmacologie": "university",
    "I.U.T": "university",
    "U.F.R.S.T.A.P.S": "university",
    "E.N.S.A.M": "engineering_school",
    "Ecole Nationale de Chimie": "engineering_school",
    "Ecole Supérieure des Beaux-Arts": "higher_education_other",
    "Ecole d'Architecture L.R.": "higher_education_other",
    "I.U.F.M": "higher_education_other",
    "Ecole de Notariat": "higher_education_other",
    "C.N.A.M": "higher_education_other",
    "I.R.D": "research_institute",
    "C.E.M.A.G.R.E.F": "research_institute",
    "C.E.E.M.A.T": "research_institute",
    "Centre International des Hautes Etudes Agronomiques": "research_institute",
}

# MESR "Nature" of a public higher-education site -> category; other natures (libraries,
# sports, health and orientation services, umbrella bodies) are not support bodies.
_ESR_NATURE: dict[str, str] = {
    "Université": "university",
    "Unité de formation et de recherche (hors santé)": "university",
    "Unité de formation et de recherche en santé": "university",
    "Antenne délocalisée d'une composante d'université": "university",
    "Composante d'université avec formation diplômante": "university",
    "Institut universitaire de technologie": "university",
    "Antenne délocalisée d'IUT": "university",
    "Institut de préparation à l'administration générale": "university",
    "Service commun d'accueil des étrangers": "university",
    "Institut d'admininistration des entreprises": "business_school",  # sic, as in the file
    "Institut d'administration des entreprises": "business_school",
    "Ecole d'ingénieurs": "engineering_school",
    "Ecole d'ingénieurs publique (hors tutelle MESR) ou privée": "engineering_school",
    "Centre régional associé au CNAM": "higher_education_other",
    "Ecole supérieure du professorat et de l'éducation": "higher_education_other",
    "Centre de formation d'apprentis, sous convention régionale": "higher_education_other",
    "Service commun de formation continue": "higher_education_other",
    "Observatoire des sciences de l'univers": "research_institute",
}

_BUSINESS = r"(?i)business|commerce|management|\bMBS\b|\bESC\b|\bIAE\b"


def _read_csv(p: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(p, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise DataFileError(f"cannot read {p.name!r} ({exc}); reinstall it with `proximity data install`") from exc


def _need(df: pd.DataFrame, cols: Sequence[str], p: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataFileError(f"{p.name!r} lacks column(s) {', '.join(map(repr, missing))}; is it the expected file?")


def _montpellier_2014(territory: str) -> pd.DataFrame:
    p = datasets.path("montpellier_establishments", territory)
    try:
        g = gpd.read_file(p, engine="pyogrio")
    except Exception as exc:  # pyogrio raises its own DataSourceError
        raise DataFileError(f"cannot read {p.name!r} ({exc}); reinstall it with `proximity data install`") from exc
    if "LIBEL" not in g.columns:
        raise DataFileError(f"{p.name!r} has no LIBEL property; is it the expected file?")
    g = (g.set_crs(WGS84) if g.crs is None else g).to_crs(WGS84)
    lib = g["LIBEL"].astype(str).str.strip()
    g = g[lib.isin(list(_MTP_2014))]
    key = g["FID_eqpt_2"].astype(str) if "FID_eqpt_2" in g.columns else pd.Series(g.index.astype(str), index=g.index)
    return pd.DataFrame(
        {
            "id": "montpellier2014:" + key,
            "name": g["LIBEL"].str.strip(),
            "category": g["LIBEL"].str.strip().map(_MTP_2014),
            "students": np.nan,
            "source": "Ville de Montpellier, établissements publics",
            "vintage": "2014",
            "caveat": "2014 city data: the body may have moved, merged or been renamed since",
            "lon": g.geometry.x,
            "lat": g.geometry.y,
            "_rank": 2,
        }
    )


def _esr_sites(territory: str, dep: str) -> pd.DataFrame:
    p = datasets.path("esr_sites", territory)
    s = _read_csv(p)
    cols = [
        "Implantation",
        "Nature",
        "Géolocalisation",
        "Effectif d'étudiants inscrits",
        "Code département",
        "Code de l'implantation",
    ]
    _need(s, cols, p)
    s = s[(s["Code département"] == "D0" + dep) | (s["Code département"] == "D" + dep)]
    s = s[s["Nature"].isin(list(_ESR_NATURE))]
    lat, lon = split_latlon(s["Géolocalisation"])
    return pd.DataFrame(
        {
            "id": "esr:" + s["Code de l'implantation"],
            "name": s["Implantation"],
            "category": s["Nature"].map(_ESR_NATURE),
            "students": pd.to_numeric(s["Effectif d'étudiants inscrits"], errors="coerce"),
            "source": "MESR, implantations des établissements d'enseignement supérieur publics",
            "vintage": "2017",
            "caveat": "about 2017; public institutions only",
            "lon": lon,
            "lat": lat,
            "_rank": 0,
        }
    )


def _esr_institutions(territory: str, dep: str) -> pd.DataFrame:
    p = datasets.path("esr_institutions", territory)
    s = _read_csv(p)
    _need(
        s, ["uo_lib_officiel", "type d'établissement", "géolocalisation", "Code département", "identifiant interne"], p
    )
    s = s[(s["Code département"] == "D0" + dep) | (s["Code département"] == "D" + dep)]
    lat, lon = split_latlon(s["géolocalisation"])
    kind = s["type d'établissement"]
    name = s["uo_lib_officiel"].where(s["uo_lib_officiel"] != "", s.get("libellé", ""))
    business = name.str.contains(_BUSINESS, regex=True)
    cat = np.where(
        kind == "Université",
        "university",
        np.where(
            business,
            "business_school",
            np.where(kind.str.startswith("École"), "engineering_school", "higher_education_other"),
        ),
    )
    enrol = sorted(c for c in s.columns if c.startswith("Effectifs d'étudiants inscrits"))
    students = pd.Series(np.nan, index=s.index)
    for c in enrol:  # latest year with a value
        v = pd.to_numeric(s[c], errors="coerce")
        students = v.where(v.notna(), students)
    return pd.DataFrame(
        {
            "id": "esr_inst:" + s["identifiant interne"],
            "name": name,
            "category": cat,
            "students": students,
            "source": "MESR, principaux établissements d'enseignement supérieur",
            "vintage": "2025",
            "caveat": "about 2025; head office only (one point per institution)",
            "lon": lon,
            "lat": lat,
            "_rank": 1,
        }
    )


def _dedupe_across_sources(df: pd.DataFrame, crs: str, distance_m: float) -> pd.DataFrame:
    """Drop a point when a point of a better source (lower ``_rank``) has its category within ``distance_m``.

    Points of the same source are never merged: two UFRs on one campus are two bodies.
    """
    g = gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84).to_crs(crs)
    x, y = g.x.to_numpy(), g.y.to_numpy()
    rank = df["_rank"].to_numpy()
    cat = df["category"].to_numpy()
    keep = np.ones(len(df), dtype=bool)
    dups: list[list[str]] = [[] for _ in range(len(df))]
    ids = df["id"].to_numpy()
    for i in np.argsort(rank, kind="stable"):
        better = np.flatnonzero(keep & (rank < rank[i]) & (cat == cat[i]))
        if better.size:
            d = np.hypot(x[better] - x[i], y[better] - y[i])
            j = better[np.argmin(d)]
            if d.min() <= distance_m:
                keep[i] = False
                dups[j].append(ids[i])
    out = df.assign(duplicates=[";".join(d) for d in dups])
    return out[keep]


@lru_cache(maxsize=4)
def _build(territory: str, dedupe_m: float, stamp: tuple) -> gpd.GeoDataFrame:
    dep = datasets.load_manifest(territory).departement
    df = pd.concat(
        [_esr_sites(territory, dep), _esr_institutions(territory, dep), _montpellier_2014(territory)],
        ignore_index=True,
    )
    df = _dedupe_across_sources(df, metric_crs(territory), dedupe_m)
    df["capacity"] = 1.0
    df["students"] = df["students"].astype(float)
    gdf = points(df, df["lon"].to_numpy(), df["lat"].to_numpy())
    cat_order = {c: i for i, c in enumerate(CATEGORIES)}
    gdf = gdf.assign(_c=gdf["category"].map(cat_order)).sort_values(["_c", "id"], kind="stable")
    return gdf[list(COLUMNS)]


def _coord_columns(cols: Iterable[str]) -> tuple[str | None, str | None]:
    low = {c.lower().strip(): c for c in cols}
    lon = next((low[k] for k in ("lon", "lng", "long", "longitude", "x_longitude") if k in low), None)
    lat = next((low[k] for k in ("lat", "latitude", "y_latitude") if k in low), None)
    return lon, lat


def read_user_csv(p: Path, *, layer_name: str) -> pd.DataFrame:
    """A user's CSV as text columns, separator detected; one clear error for the usual mistakes.

    Raises
    ------
    DataFileError
        The file is empty, compressed, binary or not UTF-8 (a Latin-1 export: re-save it
        as UTF-8), or no separator can be found.
    LayerValidationError
        A header line but no data rows.
    """
    import csv

    raw = p.read_bytes()
    name = p.name
    if not raw.strip():
        raise DataFileError(
            f"{layer_name}: {name!r} is empty; give a CSV with a header line (e.g. name,category,lat,lon) and one row per point"
        )
    if raw[:2] == b"\x1f\x8b" or raw[:4] == b"PK\x03\x04":
        raise DataFileError(f"{layer_name}: {name!r} is compressed (gzip or zip); extract the CSV and pass that file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{layer_name}: {name!r} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}, "
            "e.g. a Latin-1 or Windows-1252 export); re-save it as UTF-8 "
            "(LibreOffice: Save As, Text CSV, character set Unicode (UTF-8))"
        ) from None
    if "\x00" in text:
        raise DataFileError(f"{layer_name}: {name!r} is a binary file, not a CSV; give a text CSV with lon/lat columns")
    try:
        df = pd.read_csv(io.StringIO(text), sep=None, engine="python", dtype=str)
    except (ValueError, csv.Error) as exc:
        raise DataFileError(
            f"{layer_name}: cannot read CSV {name!r} ({exc}); give comma- or semicolon-separated columns "
            "with a header line (e.g. name,category,lat,lon)"
        ) from exc
    if len(df) == 0:
        raise LayerValidationError(layer_name, [f"CSV {name!r} has a header but no data rows; add one row per point"])
    return df


def read_user_points(
    path_or_gdf: gpd.GeoDataFrame | str | os.PathLike,
    *,
    layer_name: str,
    required_columns: Sequence[str] = (),
    allowed_values: Mapping[str, Collection] | None = None,
    bounds_wgs84: Sequence[float] | None = None,
    id_prefix: str = "",
) -> gpd.GeoDataFrame:
    """Read a user's point layer: a GeoDataFrame, a CSV with coordinates or a vector file.

    Parameters
    ----------
    path_or_gdf : GeoDataFrame or path
        A GeoDataFrame (its CRS must be set); a ``.csv``/``.txt`` file with longitude and
        latitude columns in WGS84 (``lon``/``lat``, ``longitude``/``latitude``, ``lng`` or
        ``x_longitude``/``y_latitude``, any case; separator detected); or any vector file
        pyogrio reads (GeoPackage, GeoJSON, shapefile…).
    layer_name : str
        Name used in error messages.
    required_columns : sequence of str
        Columns the layer must have (besides coordinates).
    allowed_values : dict, optional
        Columns whose values must be in a given set (e.g. ``{"category": CATEGORIES}``).
    bounds_wgs84 : (lon_min, lat_min, lon_max, lat_max), optional
        Plausible bounds; points outside are an error (swapped coordinates are named).
    id_prefix : str
        Prefix added to the ids (an ``id`` column if present, else the row number).

    Returns
    -------
    GeoDataFrame
        The input's columns, an ``id`` column (str, prefixed) also used as index, Point
        geometries in EPSG:4326. The input is not modified.

    Raises
    ------
    DataFileError
        The file does not exist or cannot be read.
    LayerValidationError
        Missing coordinates or columns, no CRS, non-point or invalid geometries, points
        out of bounds or swapped, duplicate ids, values not allowed: all listed at once.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> mine = gpd.GeoDataFrame({"name": ["My bank"], "category": ["bank"]}, geometry=[Point(3.87, 43.61)], crs=4326)
    >>> read_user_points(mine, layer_name="mine", id_prefix="user:").index[0]
    'user:0'
    """
    if isinstance(path_or_gdf, gpd.GeoDataFrame):
        gdf = path_or_gdf.copy()
    elif isinstance(path_or_gdf, pd.DataFrame):
        raise InputError(
            f"{layer_name}: got a DataFrame without geometry; pass a GeoDataFrame or a CSV path with lon/lat columns"
        )
    else:
        p = Path(path_or_gdf)
        if p.is_dir():
            raise DataFileError(
                f"{layer_name}: {str(p)!r} is a folder; give the path of a file (CSV with lon/lat, GeoPackage, GeoJSON)"
            )
        if not p.is_file():
            raise DataFileError(f"{layer_name}: file {str(p)!r} does not exist; check the path")
        if p.suffix.lower() in (".csv", ".txt", ".tsv"):
            df = read_user_csv(p, layer_name=layer_name)
            lon_c, lat_c = _coord_columns(df.columns)
            if lon_c is None or lat_c is None:
                raise LayerValidationError(
                    layer_name,
                    [
                        (
                            f"CSV {p.name!r} has no longitude/latitude columns (has: {', '.join(df.columns)}); "
                            "add 'lon' and 'lat' (or 'longitude' and 'latitude') in WGS84 degrees"
                        )
                    ],
                )
            lon = pd.to_numeric(df[lon_c].str.replace(",", ".", regex=False), errors="coerce")
            lat = pd.to_numeric(df[lat_c].str.replace(",", ".", regex=False), errors="coerce")
            bad = lon.isna() | lat.isna()
            if bad.any():
                rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:5])
                raise LayerValidationError(
                    layer_name,
                    [
                        (
                            f"{int(bad.sum())} row(s) of {p.name!r} have no numeric {lon_c}/{lat_c} (file lines {rows}); "
                            "fill them in decimal degrees or drop those rows"
                        )
                    ],
                )
            inf = ~(np.isfinite(lon.to_numpy(dtype=float)) & np.isfinite(lat.to_numpy(dtype=float)))
            if inf.any():
                rows = ", ".join(str(i + 2) for i in np.flatnonzero(inf)[:5])
                raise LayerValidationError(
                    layer_name,
                    [
                        (
                            f"{int(inf.sum())} row(s) of {p.name!r} have infinite {lon_c}/{lat_c} (file lines {rows}); "
                            "give finite decimal degrees or drop those rows"
                        )
                    ],
                )
            gdf = gpd.GeoDataFrame(df.drop(columns=[lon_c, lat_c]), geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
        elif p.suffix.lower() in (".zip", ".gz", ".7z", ".bz2", ".xz"):
            raise DataFileError(
                f"{layer_name}: {p.name!r} is compressed; extract the CSV or vector file and pass that file"
            )
        else:
            try:
                gdf = gpd.read_file(p, engine="pyogrio")
            except Exception as exc:  # pyogrio raises DataSourceError and others
                raise DataFileError(
                    f"{layer_name}: cannot read {str(p)!r} as a vector file ({exc}); give a CSV with lon/lat columns, "
                    "a GeoPackage, a GeoJSON or a shapefile"
                ) from exc
            if not isinstance(gdf, gpd.GeoDataFrame) or len(gdf) == 0:
                raise DataFileError(
                    f"{layer_name}: {p.name!r} has no point features; give a CSV with lon/lat columns, "
                    "a GeoPackage, a GeoJSON or a shapefile of points"
                )
    if "id" in gdf.columns:
        gdf["id"] = id_prefix + gdf["id"].astype("string")
    else:
        gdf["id"] = [f"{id_prefix}{i}" for i in range(len(gdf))]
    gdf = gdf.set_index(pd.Index(gdf["id"].to_numpy()))
    validate_layer(
        gdf,
        layer_name,
        required_columns=list(required_columns),
        geom_types=["Point"],
        id_column="id",
        bounds_wgs84=bounds_wgs84,
        allowed_values=allowed_values,
    )
    return gdf.to_crs(WGS84)


def support_bodies(
    territory: str = "herault",
    *,
    extra: gpd.GeoDataFrame | str | os.PathLike | None = None,
    dedupe_m: float = DEDUPE_M,
) -> gpd.GeoDataFrame:
    """Bodies that help firms go international, with a documented category.

    Built from three files of the territory, best source first:

    1. public higher-education sites (MESR, about 2017, ``Code département`` D034), with
       student counts; the site's MESR "Nature" sets the category (UFR, IUT, branch campus
       → university; IAE/ISEM → business_school; engineering schools; CNAM, ESPE,
       apprentice centre, continuing education → higher_education_other; observatory →
       research_institute); libraries, sports, health and orientation services are left out;
    2. main higher-education institutions (MESR, about 2025): adds Montpellier Business
       School (private); the university head offices duplicate sites of file 1;
    3. public establishments of the city of Montpellier (2014): Chambre de Commerce →
       chamber_of_commerce, Direction Régionale du Commerce Extérieur →
       foreign_trade_service, Chambre Régionale des Métiers → chamber_of_trades, Maison de
       l'Agriculture → chamber_of_agriculture, faculties and IUT → university, École
       Supérieure de Commerce → business_school, ENSCM and ENSAM → engineering_school,
       IRD, CEMAGREF, CEEMAT and CIHEAM → research_institute, art, architecture,
       teacher-training, notarial schools and CNAM → higher_education_other.

    A point is dropped when a better source has a point of the same category within
    ``dedupe_m`` (e.g. the 2014 Ecole Supérieure de Commerce and the 2025 MBS); the kept
    point lists the dropped ids in ``duplicates``. Points of one source are never merged.

    For a territory spec other than ``herault``, files 1 and 2 are read in the territory
    and a 150 km buffer around it (bodies beyond the border serve its firms too), and file
    3 is added when Montpellier is in that buffer and the Hérault files are installed (see
    :mod:`proximity.layers.national`).

    Parameters
    ----------
    territory : str
        Territory manifest name or spec (see :mod:`proximity.area`).
    extra : GeoDataFrame or path, optional
        The user's own bodies (see :func:`read_user_points` for the formats), with columns
        ``name`` and ``category`` (a key of :data:`CATEGORIES`), optionally ``capacity``,
        ``students``, ``source``, ``vintage``, ``caveat`` and ``id``. Their ids are
        prefixed with ``user:``.
    dedupe_m : float
        Distance in metres under which two sources' points of one category are one body.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points indexed by ``id``, sorted by category. Columns:

        - ``id`` (str): ``esr:<site code>``, ``esr_inst:<id>``, ``montpellier2014:<id>``
          or ``user:<id>``;
        - ``name`` (str); ``category`` (str, a key of :data:`CATEGORIES`);
        - ``capacity`` (float): relative weight of the body in scores, 1 by default;
        - ``students`` (float): enrolled students where known (higher education), else NaN;
        - ``source``, ``vintage`` (str, year of the data), ``caveat`` (str);
        - ``duplicates`` (str): ``;``-separated ids of other sources' points merged into it;
        - ``geometry`` (Point).

    Raises
    ------
    DataFileError
        A source file is missing or unreadable, or ``extra`` is a missing file.
    LayerValidationError
        ``extra`` is invalid (no CRS, missing ``name``/``category``, unknown category,
        out of bounds, duplicate ids…); the message lists every problem and the allowed
        categories.

    Examples
    --------
    >>> from proximity.layers import support_bodies
    >>> s = support_bodies()
    >>> "Montpellier Business School" in set(s["name"])
    True
    >>> s.loc[s["category"] == "foreign_trade_service", "name"].tolist()
    ['Direction Régionale du Commerce Extérieur']
    """
    if not np.isfinite(dedupe_m) or dedupe_m < 0:
        raise InputError(f"dedupe_m must be a distance in metres >= 0, got {dedupe_m!r}")
    from .national import is_spec, support_for

    if is_spec(territory):
        gdf = support_for(territory, dedupe_m=float(dedupe_m))
    else:
        stamp = tuple(str(datasets.path(k, territory)) for k in ("esr_sites", "montpellier_establishments"))
        gdf = _build(territory, float(dedupe_m), stamp).copy()
    box = bounds(territory)
    if extra is not None:
        user = read_user_points(
            extra,
            layer_name="support_bodies extra",
            required_columns=("name", "category"),
            allowed_values={"category": list(CATEGORIES)},
            bounds_wgs84=box,
            id_prefix="user:",
        )
        if len(user) > MAX_USER_BODIES:
            raise InputError(
                f"support_bodies extra: {len(user):,} bodies, more than the {MAX_USER_BODIES:,} supported: every score "
                f"times the trip from each of about 13,000 origins (population points and SMEs) to each body, "
                f"{len(user) * 13_000:,} pairs here; merge nearby bodies (e.g. one per commune and category with "
                "the summed capacity) or keep the most relevant ones"
            )
        user = user.copy()
        defaults = {
            "capacity": 1.0,
            "students": np.nan,
            "source": "user",
            "vintage": "",
            "caveat": "user-supplied",
            "duplicates": "",
        }
        for c, v in defaults.items():
            if c not in user.columns:
                user[c] = v
        user["capacity"] = pd.to_numeric(user["capacity"], errors="coerce")
        bad_cap = ~user["capacity"].between(0, MAX_CAPACITY)  # NaN, inf and 1e308 included
        if bad_cap.any():
            raise LayerValidationError(
                "support_bodies extra",
                [
                    (
                        f"column 'capacity': {int(bad_cap.sum())} row(s) have a missing, negative, infinite or absurd value "
                        f"(id {', '.join(map(repr, user.index[bad_cap][:5]))}: "
                        f"{', '.join(map(str, user.loc[bad_cap, 'capacity'].head(5).tolist()))}); "
                        f"use a relative weight from 0 to {MAX_CAPACITY:g} (default 1)"
                    )
                ],
            )
        user["students"] = pd.to_numeric(user["students"], errors="coerce").astype(float)
        for c in ("name", "source", "vintage", "caveat", "duplicates"):
            user[c] = user[c].astype("string").fillna("")
        gdf = pd.concat([gdf, user[list(COLUMNS)]])
        gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=WGS84)
    return validate_layer(
        gdf,
        "support_bodies",
        required_columns=COLUMNS,
        geom_types=["Point"],
        id_column="id",
        bounds_wgs84=box,
        allowed_values={"category": list(CATEGORIES)},
    )
