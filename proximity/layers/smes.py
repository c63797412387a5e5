"""SMEs: the real INSEE SIRENE establishment layout, and a seeded synthetic generator.

No firm register ships with the default territory. :func:`read_sirene` reads a user's
SIRENE extract unchanged (StockEtablissement, the Etalab geolocated SIRENE, or INSEE's
geolocation file joined on ``siret``). :func:`synthetic_smes` makes a labelled synthetic
population of establishments that follows the real structure: spread with population
and along roads, French sector mix, size bands skewed to small firms.
"""

from __future__ import annotations

import os
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .. import datasets
from ..errors import DataFileError, DataQualityWarning, InputError, LayerValidationError
from ..sources import read_wpt
from ._common import WGS84, bounds
from ._validate import validate_layer

__all__ = [
    "read_sirene",
    "resolve_smes",
    "synthetic_smes",
    "DEFAULT_SMES_PER_1000",
    "roads_from_travelmapping",
    "naf_section",
    "SIZE_BANDS",
    "NAF_SECTIONS",
    "SECTION_SHARES",
    "SIZE_SHARES",
    "COLUMNS",
]

#: INSEE headcount bands (``trancheEffectifsEtablissement``): code -> (label, min, max).
#: "NN" (no employee during the year, or not filled in) and "00" (no employee on 31
#: December) count as 0; the top band has no upper bound (max missing).
SIZE_BANDS: dict[str, tuple[str, int, int | None]] = {
    "NN": ("no employee (non-employer or not filled in)", 0, 0),
    "00": ("0 employees (on 31 December)", 0, 0),
    "01": ("1 or 2 employees", 1, 2),
    "02": ("3 to 5 employees", 3, 5),
    "03": ("6 to 9 employees", 6, 9),
    "11": ("10 to 19 employees", 10, 19),
    "12": ("20 to 49 employees", 20, 49),
    "21": ("50 to 99 employees", 50, 99),
    "22": ("100 to 199 employees", 100, 199),
    "31": ("200 to 249 employees", 200, 249),
    "32": ("250 to 499 employees", 250, 499),
    "41": ("500 to 999 employees", 500, 999),
    "42": ("1,000 to 1,999 employees", 1000, 1999),
    "51": ("2,000 to 4,999 employees", 2000, 4999),
    "52": ("5,000 to 9,999 employees", 5000, 9999),
    "53": ("10,000 employees or more", 10000, None),
}

#: NAF rév. 2 sections: letter -> (first division, last division, label).
NAF_SECTIONS: dict[str, tuple[int, int, str]] = {
    "A": (1, 3, "Agriculture, forestry and fishing"),
    "B": (5, 9, "Mining and quarrying"),
    "C": (10, 33, "Manufacturing"),
    "D": (35, 35, "Electricity, gas, steam and air conditioning supply"),
    "E": (36, 39, "Water supply, sewerage, waste management"),
    "F": (41, 43, "Construction"),
    "G": (45, 47, "Wholesale and retail trade, repair of motor vehicles"),
    "H": (49, 53, "Transportation and storage"),
    "I": (55, 56, "Accommodation and food service"),
    "J": (58, 63, "Information and communication"),
    "K": (64, 66, "Financial and insurance activities"),
    "L": (68, 68, "Real estate activities"),
    "M": (69, 75, "Professional, scientific and technical activities"),
    "N": (77, 82, "Administrative and support service activities"),
    "O": (84, 84, "Public administration and defence"),
    "P": (85, 85, "Education"),
    "Q": (86, 88, "Human health and social work"),
    "R": (90, 93, "Arts, entertainment and recreation"),
    "S": (94, 96, "Other service activities"),
    "T": (97, 98, "Activities of households as employers"),
    "U": (99, 99, "Extraterritorial organisations"),
}
_DIVISION_SECTION = {d: s for s, (a, b, _) in NAF_SECTIONS.items() for d in range(a, b + 1)}

#: Sector mix of the synthetic establishments: rounded approximations of the shares of
#: market-sector establishments with employees in France by NAF section (INSEE, REE /
#: Flores establishment counts and URSSAF employer counts, around 2020). Public
#: administration (O), households (T) and extraterritorial bodies (U) are left out.
SECTION_SHARES: dict[str, float] = {
    "A": 0.035,
    "B": 0.002,
    "C": 0.07,
    "D": 0.003,
    "E": 0.006,
    "F": 0.13,
    "G": 0.20,
    "H": 0.04,
    "I": 0.10,
    "J": 0.03,
    "K": 0.035,
    "L": 0.03,
    "M": 0.10,
    "N": 0.05,
    "P": 0.03,
    "Q": 0.07,
    "R": 0.02,
    "S": 0.049,
}

#: Headcount bands of synthetic establishments with employees (before the large-firm
#: share is set apart): rounded from the size distribution of French employer
#: establishments (INSEE Flores): about three quarters have 1-9 employees.
SIZE_SHARES: dict[str, float] = {
    "01": 0.38,
    "02": 0.22,
    "03": 0.14,
    "11": 0.12,
    "12": 0.085,
    "21": 0.027,
    "22": 0.013,
    "31": 0.003,
}
# split of the large (>= 250) establishments among the large bands
_LARGE_SPLIT = {"32": 0.60, "41": 0.25, "42": 0.10, "51": 0.05}

# A few common, real NAF rév. 2 codes per section with rough weights, for plausible codes.
_NAF_CODES: dict[str, dict[str, float]] = {
    "A": {"01.21Z": 4, "01.13Z": 1, "01.61Z": 1, "02.20Z": 0.5, "03.11Z": 0.5},
    "B": {"08.12Z": 1},
    "C": {"10.71C": 3, "11.02B": 2, "10.13B": 1, "25.62B": 1, "33.12Z": 1, "26.51B": 0.5, "21.20Z": 0.3, "18.12Z": 0.7},
    "D": {"35.11Z": 2, "35.14Z": 1},
    "E": {"38.11Z": 2, "37.00Z": 1, "38.32Z": 1},
    "F": {"43.21A": 2, "43.22A": 2, "41.20A": 1, "43.31Z": 1, "43.34Z": 1, "43.99C": 2},
    "G": {
        "47.11B": 1,
        "47.11D": 1,
        "47.11F": 0.3,
        "45.20A": 2,
        "46.90Z": 1,
        "47.71Z": 2,
        "47.73Z": 1.5,
        "46.34Z": 1,
        "46.46Z": 0.5,
        "47.30Z": 0.3,
    },
    "H": {"49.41A": 3, "52.29B": 1, "49.32Z": 1, "53.20Z": 0.5, "52.10B": 0.5},
    "I": {"56.10A": 5, "56.10C": 2, "56.30Z": 1.5, "55.10Z": 1.5, "55.30Z": 0.7},
    "J": {"62.01Z": 3, "62.02A": 2, "58.29C": 1, "63.12Z": 0.5, "59.11B": 0.5},
    "K": {"64.19Z": 3, "66.22Z": 2, "65.12Z": 0.5},
    "L": {"68.31Z": 3, "68.20B": 1, "68.32A": 1},
    "M": {"69.20Z": 3, "69.10Z": 2, "71.12B": 2, "70.22Z": 2, "73.11Z": 1, "72.19Z": 0.5, "74.10Z": 0.5, "75.00Z": 1},
    "N": {"78.20Z": 1, "81.21Z": 3, "82.11Z": 1, "77.11A": 0.5, "80.10Z": 1, "79.11Z": 1},
    "O": {"84.11Z": 1},
    "P": {"85.59A": 2, "85.53Z": 1, "85.51Z": 1},
    "Q": {"86.21Z": 2, "86.23Z": 1, "88.10A": 2, "87.10A": 1, "86.90D": 1},
    "R": {"93.12Z": 2, "90.01Z": 1, "93.29Z": 1},
    "S": {"96.02A": 3, "94.99Z": 1, "95.11Z": 0.5, "96.04Z": 1},
    "T": {"97.00Z": 1},
    "U": {"99.00Z": 1},
}

#: Probability that a synthetic establishment exports, by size (number of employees).
#: Assumption, shaped on French customs counts (about 130,000 exporting firms, the share
#: rising steeply with size): 1-9 → 4 %, 10-49 → 12 %, 50-249 → 28 %, >= 250 → 45 %.
EXPORTER_BY_SIZE = ((1, 0.04), (10, 0.12), (50, 0.28), (250, 0.45))
#: Multipliers of that probability by sector (manufacturing, wholesale trade (NAF 46),
#: agriculture (wine), information and professional services); others 1, local services lower.
EXPORTER_SECTOR_FACTOR = {
    "C": 2.5,
    "46": 2.2,
    "A": 1.5,
    "J": 1.4,
    "M": 1.3,
    "H": 1.3,
    "F": 0.4,
    "I": 0.3,
    "Q": 0.1,
    "P": 0.3,
    "S": 0.3,
    "L": 0.3,
}

COLUMNS = (
    "id",
    "name",
    "naf",
    "naf_section",
    "size_band",
    "size_label",
    "employees_min",
    "employees_max",
    "is_sme",
    "is_large",
    "exporter",
    "commune",
    "synthetic",
    "geometry",
)

# SIRENE columns
_SIRET = "siret"
_ETAT = "etatAdministratifEtablissement"
_NAF = "activitePrincipaleEtablissement"
_NAF_NOMENCLATURE = "nomenclatureActivitePrincipaleEtablissement"
_BAND = "trancheEffectifsEtablissement"
_COMMUNE = "codeCommuneEtablissement"
_LAMBERT = ("coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement")
_NAMES = (
    "denominationUsuelleEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUniteLegale",
    "nom_raison_sociale",
)
_LONLAT = (("x_longitude", "y_latitude"), ("longitude", "latitude"))
# projection of the Lambert/x-y coordinates of SIRENE outside metropolitan France (INSEE)
_DOM_EPSG = {"971": "EPSG:5490", "972": "EPSG:5490", "973": "EPSG:2972", "974": "EPSG:2975", "976": "EPSG:4471"}


def naf_section(naf: pd.Series) -> pd.Series:
    """NAF rév. 2 section letter (A–U) of NAF codes like ``"62.01Z"`` or ``"6201Z"``.

    Uses the official division → section table (:data:`NAF_SECTIONS`); unknown or
    malformed codes give a missing value.

    Examples
    --------
    >>> naf_section(pd.Series(["62.01Z", "1071C", "xx"])).tolist()
    ['J', 'C', <NA>]
    """
    div = pd.to_numeric(naf.astype("string").str.strip().str[:2], errors="coerce")
    return div.map(_DIVISION_SECTION).astype("string")


def _pad(s: pd.Series, width: int) -> pd.Series:
    """Zero-pad all-digit codes that lost their leading zeros (read as numbers, e.g. by a spreadsheet)."""
    t = s.astype("string").str.strip()
    digits = t.str.fullmatch(r"\d+").fillna(False)
    return t.where(~digits, t.str.zfill(width))


def _normalise_naf(naf: pd.Series) -> pd.Series:
    s = naf.astype("string").str.strip().str.upper()
    undotted = s.str.fullmatch(r"\d{4}[A-Z]")
    return s.where(~undotted.fillna(False), s.str[:2] + "." + s.str[2:])


def _size_columns(band: pd.Series) -> pd.DataFrame:
    code = _pad(band, 2).replace("", "NN").fillna("NN")
    unknown = ~code.isin(list(SIZE_BANDS))
    code = code.mask(unknown, pd.NA)
    label = code.map({k: v[0] for k, v in SIZE_BANDS.items()})
    lo = code.map({k: v[1] for k, v in SIZE_BANDS.items()}).astype("Int64")
    hi = code.map({k: v[2] for k, v in SIZE_BANDS.items()}).astype("Int64")
    is_large = (lo >= 250).fillna(False).astype(bool)
    is_sme = (~is_large & code.notna()).astype(bool)
    return pd.DataFrame(
        {
            "size_band": code.astype("string"),
            "size_label": label.astype("string"),
            "employees_min": lo,
            "employees_max": hi,
            "is_sme": is_sme,
            "is_large": is_large,
        },
        index=band.index,
    )


def _bool_column(s: pd.Series) -> pd.Series:
    t = s.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[t.isin(["1", "true", "yes", "oui", "o", "y"])] = True
    out[t.isin(["0", "false", "no", "non", "n"])] = False
    return out


def _head_bytes(p: Path, n: int = 65536) -> bytes:
    """The first bytes of a file, or of the first member of a zip / the content of a gzip."""
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic[:4] == b"PK\x03\x04":
        import zipfile

        with zipfile.ZipFile(p) as z:
            names = [i for i in z.infolist() if not i.is_dir()]
            if not names:
                return b""
            with z.open(names[0]) as fh:
                return fh.read(n)
    if magic[:2] == b"\x1f\x8b":
        import gzip

        with gzip.open(p) as fh:
            return fh.read(n)
    with open(p, "rb") as fh:
        return fh.read(n)


def _sniff_sep(head: str) -> str:
    first = head.splitlines()[0] if head else ""
    return max([",", ";", "\t", "|"], key=first.count)


def _read_table(
    src: pd.DataFrame | str | os.PathLike,
    what: str,
    keep: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    chunksize: int = 500_000,
) -> pd.DataFrame:
    """Read a SIRENE CSV (any separator, optionally zipped) as strings, filtering chunk by chunk."""
    if isinstance(src, pd.DataFrame):
        df = src.copy()
        df.columns = [str(c) for c in df.columns]
        return keep(df) if keep is not None else df
    p = Path(src)
    if not p.is_file():
        raise DataFileError(f"{what} file {str(p)!r} does not exist; check the path")
    try:
        head = _head_bytes(p)
    except (OSError, ValueError) as exc:  # a corrupt zip or gzip
        raise DataFileError(
            f"cannot read {what} file {str(p)!r} ({exc}); give the CSV export (or its zip) unchanged"
        ) from exc
    if not head.strip():
        raise DataFileError(
            f"{what} file {p.name!r} is empty; give the StockEtablissement CSV export with its header line"
        )
    if b"\x00" in head:
        raise DataFileError(
            f"{what} file {p.name!r} is a binary file, not a CSV; give the StockEtablissement CSV export"
        )
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end of the sample
            raise DataFileError(
                f"{what} file {p.name!r} is not UTF-8 text (byte 0x{head[exc.start]:02x} at position {exc.start}, e.g. "
                "a Latin-1 or Windows-1252 export); re-save it as UTF-8 or use the INSEE file unchanged"
            ) from None
        text = head[: exc.start].decode("utf-8-sig")
    try:
        reader = pd.read_csv(
            p, sep=_sniff_sep(text), dtype=str, keep_default_na=False, encoding="utf-8-sig", chunksize=chunksize
        )
        parts = [keep(c) if keep is not None else c for c in reader]
    except UnicodeDecodeError:
        raise DataFileError(
            f"{what} file {p.name!r} is not UTF-8 text (e.g. a Latin-1 or Windows-1252 export); "
            "re-save it as UTF-8 or use the INSEE file unchanged"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataFileError(f"cannot read {what} file {str(p)!r} ({exc}); expected a CSV export") from exc
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _coordinates(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """Longitude/latitude of each row from whichever coordinate columns the layout has."""
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    used = []

    def num(col: str) -> np.ndarray:
        return pd.to_numeric(df[col].astype("string").str.replace(",", ".", regex=False), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )

    for xc, yc in _LONLAT:
        if xc in df.columns and yc in df.columns:
            x, y = num(xc), num(yc)
            fill = np.isnan(lon) & ~np.isnan(x) & ~np.isnan(y)
            lon[fill], lat[fill] = x[fill], y[fill]
            used.append(f"{xc}/{yc}")
    projected: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if "x" in df.columns and "y" in df.columns:
        epsg = df["epsg"].astype("string").str.strip() if "epsg" in df.columns else pd.Series("2154", index=df.index)
        projected.append((num("x"), num("y"), epsg.fillna("2154").to_numpy()))
        used.append("x/y")
    if all(c in df.columns for c in _LAMBERT):
        com = df[_COMMUNE].astype("string").str[:3] if _COMMUNE in df.columns else pd.Series("", index=df.index)
        crs = com.map(_DOM_EPSG).fillna("EPSG:2154").to_numpy()
        projected.append((num(_LAMBERT[0]), num(_LAMBERT[1]), crs))
        used.append("Lambert-93")
    for x, y, crs in projected:
        for code in pd.unique(crs):
            sel = np.isnan(lon) & ~np.isnan(x) & ~np.isnan(y) & (crs == code)
            if not sel.any():
                continue
            src = code if str(code).upper().startswith("EPSG:") else f"EPSG:{code}"
            try:
                tr = pyproj.Transformer.from_crs(src, WGS84, always_xy=True)
            except pyproj.exceptions.CRSError as exc:
                raise InputError(f"SIRENE coordinates: unknown projection {code!r} in column 'epsg' ({exc})") from exc
            lon[sel], lat[sel] = tr.transform(x[sel], y[sel])
    return lon, lat, ", ".join(used)


def read_sirene(
    path_or_df: pd.DataFrame | str | os.PathLike,
    *,
    territory: str | None = None,
    geolocation: pd.DataFrame | str | os.PathLike | None = None,
    active_only: bool = True,
) -> gpd.GeoDataFrame:
    """Read SIRENE establishments (INSEE layout, unchanged) as an SME point layer.

    Accepted layouts (CSV with ``,`` or ``;``, optionally zipped, or a DataFrame):

    - **StockEtablissement** (INSEE): ``siret``, ``etatAdministratifEtablissement``,
      ``activitePrincipaleEtablissement`` (NAF rév. 2, ``"62.01Z"``),
      ``trancheEffectifsEtablissement``, ``codeCommuneEtablissement``,
      ``denominationUsuelleEtablissement`` / ``enseigne1Etablissement``,
      ``coordonneeLambertAbscisseEtablissement`` / ``coordonneeLambertOrdonneeEtablissement``
      (Lambert-93 in metropolitan France; the INSEE UTM projections overseas);
    - the same with **geolocation columns**: ``x``/``y``/``epsg`` or
      ``x_longitude``/``y_latitude`` (INSEE géolocalisation), ``longitude``/``latitude``
      (Etalab géo-SIRENE);
    - StockEtablissement without coordinates plus ``geolocation=`` the INSEE file
      ``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques`` (``siret``, ``x``,
      ``y``, ``epsg``, ``y_latitude``, ``x_longitude``), joined on ``siret``.

    Every column is read as text, so SIRET and commune codes keep their leading zeros;
    all-digit SIRET, commune and band codes that lost them (a frame read with numbers, a
    spreadsheet export) are zero-padded back to 14, 5 and 2 digits.
    Large national files are read in chunks and filtered (active, territory) as they go.

    Parameters
    ----------
    path_or_df : DataFrame or path
        The establishments.
    territory : str, optional
        Keep establishments whose ``codeCommuneEtablissement`` is in the territory's
        département, and check coordinates against its plausible bounds.
    geolocation : DataFrame or path, optional
        INSEE geolocation file, joined on ``siret`` for rows without coordinates.
    active_only : bool
        Keep only active establishments (``etatAdministratifEtablissement == "A"``).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points indexed by ``id``. Columns :data:`COLUMNS`:

        - ``id`` (str): the 14-digit SIRET;
        - ``name`` (str): usual name or first sign (enseigne), else ``"SIRET <siret>"``;
        - ``naf`` (str): NAF rév. 2 code with its dot; ``naf_section`` (str): A–U, from
          the division → section table (missing for older nomenclatures);
        - ``size_band`` (str): INSEE headcount band code (empty → ``"NN"``),
          ``size_label``, ``employees_min``/``employees_max`` (Int64, max missing for
          10,000+), ``is_sme`` (fewer than 250 employees, non-employers included),
          ``is_large`` (250 or more);
        - ``exporter`` (boolean): from an ``exporter`` column if the input has one,
          else missing (unknown);
        - ``commune`` (str): INSEE commune code; ``synthetic`` (bool): False;
        - ``geometry`` (Point).

    Raises
    ------
    DataFileError
        A file is missing or unreadable.
    LayerValidationError
        Missing SIRENE columns or coordinates, no establishment left, duplicate SIRETs,
        coordinates outside the territory or swapped.

    Warns
    -----
    DataQualityWarning
        Some establishments have no coordinates (non-diffusible or not geocoded); they
        are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame(
    ...     {
    ...         "siret": ["00012345600018"],
    ...         "etatAdministratifEtablissement": ["A"],
    ...         "activitePrincipaleEtablissement": ["62.01Z"],
    ...         "trancheEffectifsEtablissement": ["11"],
    ...         "codeCommuneEtablissement": ["34172"],
    ...         "coordonneeLambertAbscisseEtablissement": ["770000"],
    ...         "coordonneeLambertOrdonneeEtablissement": ["6279000"],
    ...     }
    ... )
    >>> smes = read_sirene(rows, territory="herault")
    >>> smes.loc["00012345600018", ["naf_section", "size_label"]].tolist()
    ['J', '10 to 19 employees']
    """
    in_area: set[str] | None = None
    dep = None
    if territory is not None:
        from .national import is_spec

        if is_spec(territory):  # a spec: the communes of the territory
            from .. import area

            in_area = set(area.resolve(territory).communes.index)
            dep = ""
        else:
            dep = datasets.load_manifest(territory).departement

    def keep(chunk: pd.DataFrame) -> pd.DataFrame:
        if active_only and _ETAT in chunk.columns:
            chunk = chunk[chunk[_ETAT].astype("string").str.strip() == "A"]
        if _COMMUNE in chunk.columns:
            chunk = chunk.assign(**{_COMMUNE: _pad(chunk[_COMMUNE], 5)})
            if in_area is not None:
                chunk = chunk[chunk[_COMMUNE].isin(in_area).fillna(False)]
            elif dep is not None:
                chunk = chunk[chunk[_COMMUNE].str.startswith(dep).fillna(False)]
        return chunk

    df = _read_table(path_or_df, "SIRENE", keep)
    layer = "smes (SIRENE)"
    problems = []
    if "siret" not in df.columns and {"siren", "nic"} <= set(df.columns):
        df["siret"] = df["siren"].astype("string").str.zfill(9) + df["nic"].astype("string").str.zfill(5)
    required = [_SIRET, _NAF, _BAND] + ([_COMMUNE] if dep is not None else [])
    missing = [c for c in required if c not in df.columns]
    if missing:
        hint = ""
        if {"x", "y", "epsg"} <= set(df.columns) and _NAF not in df.columns:
            hint = (
                " (this looks like the INSEE geolocation file alone: give the StockEtablissement file, with "
                "its coordinate columns or joined to this file on siret)"
            )
        problems.append(
            f"missing SIRENE column(s) {', '.join(map(repr, missing))}{hint}; use the StockEtablissement "
            "layout unchanged"
        )
    if geolocation is not None and not problems:
        geo = _read_table(geolocation, "SIRENE geolocation")
        if _SIRET not in geo.columns:
            problems.append("the geolocation table has no 'siret' column; pass the INSEE geolocation file unchanged")
        else:
            cols = [c for c in ("x", "y", "epsg", "x_longitude", "y_latitude", "longitude", "latitude") if c in geo]
            geo = geo[[_SIRET, *cols]].drop_duplicates(_SIRET)
            df = df.drop(columns=[c for c in cols if c in df.columns]).merge(geo, on=_SIRET, how="left")
    has_coords = any(a in df.columns and b in df.columns for a, b in (*_LONLAT, ("x", "y"), _LAMBERT))
    if not has_coords:
        problems.append(
            "no coordinate columns (coordonneeLambertAbscisseEtablissement/"
            "coordonneeLambertOrdonneeEtablissement, x/y/epsg, x_longitude/y_latitude or "
            "longitude/latitude); use a geolocated SIRENE file, or join the INSEE geolocation file to it on siret"
        )
    if problems:
        raise LayerValidationError(layer, problems)
    if len(df) == 0:
        raise LayerValidationError(
            layer,
            [
                "no active establishment"
                + (f" in département {dep}" if dep else "")
                + " in the input; check the file and the territory"
            ],
        )

    lon, lat, used = _coordinates(df)
    located = ~(np.isnan(lon) | np.isnan(lat))
    if not located.all():
        warnings.warn(
            f"SIRENE: {int((~located).sum())} of {len(df)} establishments have no coordinates ({used}) "
            "and are dropped (non-diffusible or not geocoded)",
            DataQualityWarning,
            stacklevel=2,
        )
        df, lon, lat = df[located].reset_index(drop=True), lon[located], lat[located]
        if len(df) == 0:
            raise LayerValidationError(layer, ["no establishment has coordinates; use a geolocated SIRENE file"])

    siret = _pad(df[_SIRET], 14)
    naf = _normalise_naf(df[_NAF])
    section = naf_section(naf)
    rev2 = pd.Series(True, index=df.index)
    if _NAF_NOMENCLATURE in df.columns:
        rev2 = df[_NAF_NOMENCLATURE].astype("string").str.strip().isin(["NAFRev2", ""])
        section = section.where(rev2.to_numpy(), pd.NA)
    bad_naf = rev2 & naf.fillna("").ne("") & ~naf.fillna("").str.fullmatch(r"\d{2}\.\d{2}[A-Z]")
    if bad_naf.any():
        problems.append(
            f"column {_NAF!r}: {int(bad_naf.sum())} row(s) have a code that is not NAF rev. 2 "
            f"({', '.join(map(repr, pd.unique(naf[bad_naf])[:5]))}); use codes like '62.01Z' (or set "
            f"{_NAF_NOMENCLATURE!r} for older nomenclatures)"
        )
    band = _pad(df[_BAND], 2).fillna("")
    bad_band = band.ne("") & ~band.isin(list(SIZE_BANDS))
    if bad_band.any():
        problems.append(
            f"column {_BAND!r}: {int(bad_band.sum())} row(s) have an unknown headcount band "
            f"({', '.join(map(repr, pd.unique(band[bad_band])[:5]))}); use the INSEE codes {', '.join(SIZE_BANDS)}"
        )
    if problems:
        raise LayerValidationError(layer, problems)
    name = pd.Series(pd.NA, index=df.index, dtype="string")
    for c in _NAMES:
        if c in df.columns:
            v = df[c].astype("string").str.strip().replace({"": pd.NA})
            name = name.fillna(v)
    name = name.fillna("SIRET " + siret)
    out = pd.DataFrame({"id": siret, "name": name, "naf": naf, "naf_section": section}, index=df.index)
    out = out.join(_size_columns(df[_BAND]))
    out["exporter"] = (
        _bool_column(df["exporter"]) if "exporter" in df.columns else pd.Series(pd.NA, index=df.index, dtype="boolean")
    )
    out["commune"] = (
        df[_COMMUNE].astype("string") if _COMMUNE in df.columns else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    out["synthetic"] = False
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    gdf.index = pd.Index(gdf["id"].to_numpy())
    gdf = gdf[list(COLUMNS)]
    # where the firms come from, for every output ("SIRENE (date)" for a fetched register)
    if isinstance(path_or_df, pd.DataFrame):
        gdf.attrs.update(path_or_df.attrs)
    gdf.attrs.setdefault(
        "source_label",
        f"SIRENE extract ({Path(path_or_df).name})" if not isinstance(path_or_df, pd.DataFrame) else "SIRENE extract",
    )
    return validate_layer(
        gdf,
        layer,
        required_columns=COLUMNS,
        geom_types=["Point"],
        id_column="id",
        bounds_wgs84=bounds(territory) if territory is not None else None,
    )


def resolve_smes(
    value: str | os.PathLike | pd.DataFrame | None,
    territory: str = "herault",
    *,
    target: str | os.PathLike | None = None,
) -> pd.DataFrame | Path | None:
    """What ``--smes`` means: ``None`` (synthetic firms), ``"sirene"`` (the fetched register) or a file.

    ``"sirene"`` gives the register stored by ``proximity data fetch smes`` for the
    territory's départements (:func:`proximity.fetch.stored_smes`), checked against its
    sha256, as a frame in the SIRENE layout whose ``attrs["source_label"]`` is
    ``"SIRENE (<download date>)"``: :func:`read_sirene` (and ``load_territory(smes=...)``)
    keep that label, and every output says it instead of "synthetic". A path is returned
    as a :class:`~pathlib.Path` once checked to exist; a DataFrame is returned as is.

    Parameters
    ----------
    value : str, path, DataFrame or None
        The ``--smes`` value: ``None``, ``"sirene"`` (any case), a file or a frame.
    territory : str
        Territory whose départements the fetched register covers.
    target : path, optional
        Folder of the fetched data; default :func:`proximity.fetch.fetched_dir`'s.

    Returns
    -------
    DataFrame, Path or None
        ``value`` itself (``None`` or a frame), the fetched register, or the checked path.

    Raises
    ------
    DataFileError
        The register has not been fetched (the message gives the command), its checksum
        does not match, or the file does not exist.

    Examples
    --------
    >>> resolve_smes(None) is None
    True
    """
    if value is None or isinstance(value, pd.DataFrame):
        return value
    if str(value).strip().lower() == "sirene":
        from ..fetch import stored_smes

        return stored_smes(territory, target=target)
    p = Path(value)
    if not p.is_file():
        raise DataFileError(
            f"--smes {str(value)!r} is neither 'sirene' (the fetched register) nor an existing file; check the path"
        )
    return p


def roads_from_travelmapping(
    folder: str | os.PathLike | None = None, *, territory: str = "herault"
) -> gpd.GeoDataFrame:
    """Road centre lines from Travel Mapping ``.wpt`` route files: one LineString per route.

    Consecutive waypoints of a file (visible and hidden shaping points, in route order)
    form the line; routes with fewer than two points are skipped. Travel Mapping edges are
    straight segments between waypoints 0.3–9 km apart, so the lines are coarse.

    Parameters
    ----------
    folder : path, optional
        Folder searched recursively for ``*.wpt``. Default: the territory's installed
        Travel Mapping files (``datasets.path("travelmapping_wpt")``).
    territory : str
        Territory whose files to use when ``folder`` is None.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, indexed by ``id`` (the file name without ``.wpt``, e.g.
        ``fraocc.d000134``), with ``system`` (folder name, e.g. ``fraoccd34``),
        ``n_points`` and ``geometry``.

    Raises
    ------
    DataFileError
        The folder has no ``.wpt`` file, or a file is not a Travel Mapping file.

    Examples
    --------
    >>> roads = roads_from_travelmapping()
    >>> bool((roads.geom_type == "LineString").all())
    True
    """
    base = Path(folder) if folder is not None else datasets.path("travelmapping_wpt", territory)
    files = sorted(base.rglob("*.wpt"))
    if not files:
        raise DataFileError(f"no Travel Mapping .wpt file under {str(base)!r}; check the folder")
    ids, systems, npts, geoms = [], [], [], []
    for f in files:
        wps = read_wpt(f)
        if len(wps) < 2:
            continue
        ids.append(f.stem)
        systems.append(f.parent.name)
        npts.append(len(wps))
        geoms.append(shapely.linestrings([(w.lon, w.lat) for w in wps]))
    gdf = gpd.GeoDataFrame({"id": ids, "system": systems, "n_points": npts}, geometry=geoms, crs=WGS84)
    gdf.index = pd.Index(gdf["id"].to_numpy())
    return validate_layer(
        gdf, "roads (Travel Mapping)", required_columns=["id"], geom_types=["LineString"], id_column="id"
    )


def _check_shares(shares: Mapping[str, float], allowed: Sequence[str], what: str) -> dict[str, float]:
    bad = [k for k in shares if k not in allowed]
    if bad:
        raise InputError(f"{what}: unknown key(s) {', '.join(map(repr, bad))}; use {', '.join(allowed)}")
    vals = np.array([float(v) for v in shares.values()])
    if (vals < 0).any() or not np.isfinite(vals).all() or vals.sum() <= 0:
        raise InputError(f"{what}: shares must be finite, >= 0 and not all 0; got {dict(shares)!r}")
    return {k: float(v) / vals.sum() for k, v in shares.items()}


def _random_in_polygon(poly, k: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    out = np.empty((0, 2))
    for _ in range(1000):
        m = max(16, 4 * (k - len(out)))
        xy = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        out = np.vstack([out, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
        if len(out) >= k:
            return out[:k]
    rp = shapely.get_coordinates(poly.representative_point())  # a sliver polygon: its one safe point
    return np.repeat(rp, k, axis=0)


def _commune_rng(seed: int, code: str) -> np.random.Generator:
    """The random generator of one commune: seeded by ``seed`` and the commune code (CRC-32)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(str(code).encode("utf-8"))])


def _commune_roads(lines: np.ndarray, tree: shapely.STRtree, poly) -> np.ndarray:
    """The roads inside a commune as canonical line pieces (same roads, same pieces, same order).

    The pieces are merged, cleared of collinear vertices (0.5 m), snapped to a 1 cm grid and
    sorted, so that two networks holding the same roads (cut from different extents, split
    or densified differently) give the same pieces.
    """
    cand = tree.query(poly, predicate="intersects")
    if not cand.size:
        return np.array([], dtype=object)
    pieces = shapely.get_parts(shapely.intersection(lines[cand], poly))
    pieces = pieces[shapely.get_type_id(pieces) == 1] if pieces.size else pieces  # LineStrings only
    if not pieces.size:
        return pieces
    merged = shapely.line_merge(shapely.union_all(pieces))
    parts = shapely.get_parts(shapely.set_precision(shapely.simplify(merged, 0.5), 0.01))
    parts = parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)]
    if not parts.size:
        return parts
    parts = shapely.normalize(parts)
    order = np.argsort(shapely.to_wkb(parts, hex=True), kind="stable")
    return parts[order]


#: Synthetic SMEs per 1,000 inhabitants when no count is given (about 6,000 in Hérault,
#: 1,230,289 inhabitants). An assumption of the synthetic generator, not a statistic.
DEFAULT_SMES_PER_1000 = 4.9


def synthetic_smes(
    municipalities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    n: int | None = None,
    per_1000_inhabitants: float | None = None,
    seed: int = 0,
    large_share: float = 0.004,
    section_shares: Mapping[str, float] | None = None,
    population_column: str = "population",
    metric_crs: str = "EPSG:2154",
) -> gpd.GeoDataFrame:
    """A seeded synthetic population of establishments with employees, labelled synthetic.

    No firm register ships with the package; this generator follows the real structure so
    that accessibility results are plausible, not true. Firms are generated **commune by
    commune**, each commune with its own random generator seeded by ``seed`` and its code
    (CRC-32), so that a commune's firms are the same whatever territory it is loaded with
    (same count, same roads inside it → same firms, ids and attributes):

    1. **how many**: ``per_1000_inhabitants`` × population / 1,000 firms per commune
       (default :data:`DEFAULT_SMES_PER_1000`), rounded down or up at random with the
       commune's generator (the expected count is exact). With ``n`` instead, the ``n``
       firms are shared in proportion to population (largest remainders): the total is
       exactly ``n``, and a commune's count then depends on the territory.
    2. **where**: each firm at a uniformly random point along the roads inside its commune
       (road pieces clipped to the commune polygon, merged and put in a canonical order,
       chosen with probability proportional to their length); a commune without road gets
       uniform random points inside its polygon. ``placement`` says which ("road" or
       "polygon").
    3. **sector**: NAF section drawn with :data:`SECTION_SHARES` (rounded approximations of
       the sector mix of French market-sector establishments with employees, INSEE
       REE/Flores and URSSAF counts around 2020: trade G 20 %, construction F 13 %,
       accommodation and food I 10 %, professional services M 10 %, manufacturing C 7 %,
       health Q 7 %…); the NAF code is drawn from a few common real codes of the section
       (e.g. 01.21Z vine growing, 11.02B wine making, 46.34Z drinks wholesale, 62.01Z
       software, 56.10A restaurants).
    4. **size**: headcount band drawn with :data:`SIZE_SHARES` (about 74 % with 1–9
       employees, 21 % with 10–49, 4 % with 50–249), except a ``large_share`` of
       establishments with 250 or more (split 60/25/10/5 % among the 250–499, 500–999,
       1,000–1,999 and 2,000–4,999 bands). Size is drawn independently of sector.
    5. **exporter**: True with a probability rising with size (:data:`EXPORTER_BY_SIZE`:
       4, 12, 28, 45 %), multiplied by a sector factor (:data:`EXPORTER_SECTOR_FACTOR`:
       manufacturing × 2.5, wholesale NAF 46 × 2.2, agriculture × 1.5, local services
       below 1), capped at 0.95. These are assumptions, not statistics.

    The same inputs and ``seed`` give an identical frame; another seed gives another one.

    Parameters
    ----------
    municipalities : GeoDataFrame
        Commune polygons indexed by their code (e.g. :func:`municipalities`), with a
        ``population_column``.
    roads : GeoDataFrame
        Road centre lines (LineString or MultiLineString), any CRS, e.g. the edges of the
        territory's network or :func:`roads_from_travelmapping`.
    n : int, optional
        Total number of establishments (instead of a rate).
    per_1000_inhabitants : float, optional
        Establishments per 1,000 inhabitants (default :data:`DEFAULT_SMES_PER_1000` when
        ``n`` is not given either).
    seed : int
        Seed mixed with each commune code.
    large_share : float
        Share of establishments with 250 employees or more (default 0.4 %).
    section_shares : mapping, optional
        NAF section letter → weight, replacing :data:`SECTION_SHARES` (normalised).
    population_column : str
        Column of ``municipalities`` with the weights of the spatial draw.
    metric_crs : str
        Projected CRS (metres) in which points are placed.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points indexed by ``id`` (``"synthetic:34172-0001"`` …: commune code and
        number in the commune), sorted by commune, with the columns of :func:`read_sirene`
        (``name`` is ``"Synthetic firm 34172-0001"`` …, ``synthetic`` True, ``commune`` the
        municipality index) plus ``placement``.

    Raises
    ------
    InputError
        Bad ``n``, ``per_1000_inhabitants``, ``large_share`` or ``section_shares``; both
        ``n`` and a rate; no population.
    LayerValidationError
        ``municipalities`` or ``roads`` is not a valid layer (no CRS, wrong geometry type,
        missing population column…).

    Examples
    --------
    >>> from proximity.layers import municipalities, roads_from_travelmapping, synthetic_smes
    >>> firms = synthetic_smes(municipalities(), roads_from_travelmapping(), n=500, seed=1)
    >>> len(firms), bool(firms["synthetic"].all())
    (500, True)
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise InputError(f"n must be a positive integer number of firms, got {n!r}")
    if n is not None and per_1000_inhabitants is not None:
        raise InputError("give either n (a total) or per_1000_inhabitants (a rate), not both")
    rate = DEFAULT_SMES_PER_1000 if per_1000_inhabitants is None else per_1000_inhabitants
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not np.isfinite(rate) or rate <= 0:
        raise InputError(f"per_1000_inhabitants must be a positive number, got {per_1000_inhabitants!r}")
    if not 0 <= large_share < 1:
        raise InputError(f"large_share must be in [0, 1), got {large_share!r}")
    shares = _check_shares(
        section_shares if section_shares is not None else SECTION_SHARES, list(NAF_SECTIONS), "section_shares"
    )
    validate_layer(
        municipalities,
        "municipalities",
        required_columns=[population_column],
        geom_types=["Polygon", "MultiPolygon"],
        id_column=None,
    )
    validate_layer(roads, "roads", geom_types=["LineString", "MultiLineString"], id_column=None)
    pop = pd.to_numeric(municipalities[population_column], errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    if pop.sum() <= 0:
        raise InputError(f"municipalities[{population_column!r}] sums to 0; the firms cannot be spread")

    codes = municipalities.index.astype(str).to_numpy()
    order = np.argsort(codes, kind="stable")
    rngs = {codes[i]: _commune_rng(seed, codes[i]) for i in order}
    u = np.array([rngs[c].random() for c in codes])  # drawn in every mode: the rest of the stream is the same
    if n is not None:
        expect = n * pop / pop.sum()
        counts = np.floor(expect).astype(int)
        rest = int(n - counts.sum())
        if rest > 0:  # largest remainders, ties by code
            frac = expect - counts
            pick = np.lexsort((codes, -frac))[:rest]
            counts[pick] += 1
    else:
        expect = rate * pop / 1000.0
        counts = np.floor(expect).astype(int) + (u < expect - np.floor(expect))
    total = int(counts.sum())
    if total < 1:
        raise InputError(
            f"{rate:g} firms per 1,000 inhabitants of {pop.sum():,.0f} inhabitants gives no firm; raise the rate or give n"
        )

    polys = municipalities.geometry.to_crs(metric_crs).to_numpy()
    lines = shapely.get_parts(roads.geometry.to_crs(metric_crs).to_numpy())
    lines = lines[~shapely.is_empty(lines)]
    tree = shapely.STRtree(lines)
    letters = list(shares)
    p_section = [shares[s] for s in letters]
    small = np.array(list(SIZE_SHARES.values()))
    bands = list(SIZE_SHARES) + list(_LARGE_SPLIT)
    probs = np.concatenate(
        [small / small.sum() * (1 - large_share), np.array(list(_LARGE_SPLIT.values())) * large_share]
    )
    probs = probs / probs.sum()

    cols: dict[str, list] = {k: [] for k in ("id", "commune", "placement", "section", "naf", "band", "x", "y")}
    for i in order:
        k = int(counts[i])
        if k == 0:
            continue
        code = codes[i]
        rng = rngs[code]
        poly = polys[i]
        pieces = _commune_roads(lines, tree, poly)
        length = shapely.length(pieces) if pieces.size else np.array([])
        if length.size and length.sum() > 0:
            pick = rng.choice(len(pieces), size=k, p=length / length.sum())
            pts = shapely.line_interpolate_point(pieces[pick], rng.uniform(0, 1, k) * length[pick])
            xy = shapely.get_coordinates(pts)
            how = "road"
        else:
            xy = _random_in_polygon(poly, k, rng)
            how = "polygon"
        section = rng.choice(letters, size=k, p=p_section)
        naf = np.empty(k, dtype=object)
        for s in letters:  # fixed order: deterministic
            sel = np.flatnonzero(section == s)
            if sel.size:
                codes_s = list(_NAF_CODES[s])
                w = np.array([_NAF_CODES[s][c] for c in codes_s], dtype=float)
                naf[sel] = rng.choice(codes_s, size=sel.size, p=w / w.sum())
        band = rng.choice(bands, size=k, p=probs)
        cols["id"] += [f"{code}-{j:04d}" for j in range(1, k + 1)]
        cols["commune"] += [code] * k
        cols["placement"] += [how] * k
        cols["section"] += list(section)
        cols["naf"] += list(naf)
        cols["band"] += list(band)
        cols["x"] += list(xy[:, 0])
        cols["y"] += list(xy[:, 1])
        cols.setdefault("u_exp", []).extend(rng.random(k))

    section = np.array(cols["section"], dtype=object)
    naf = np.array(cols["naf"], dtype=object)
    size = _size_columns(pd.Series(cols["band"]))
    lo = size["employees_min"].to_numpy(dtype=float)
    p_exp = np.zeros(total)
    for threshold, pr in EXPORTER_BY_SIZE:
        p_exp[lo >= threshold] = pr
    factor = np.array([EXPORTER_SECTOR_FACTOR.get(s, 1.0) for s in section])
    wholesale = np.char.startswith(naf.astype(str), "46")
    factor[wholesale] = EXPORTER_SECTOR_FACTOR["46"]
    exporter = np.array(cols["u_exp"]) < np.minimum(p_exp * factor, 0.95)

    lon, lat = pyproj.Transformer.from_crs(metric_crs, WGS84, always_xy=True).transform(
        np.array(cols["x"], dtype=float), np.array(cols["y"], dtype=float)
    )
    out = pd.DataFrame(
        {
            "id": [f"synthetic:{s}" for s in cols["id"]],
            "name": [f"Synthetic firm {s}" for s in cols["id"]],
            "naf": pd.array(naf, dtype="string"),
            "naf_section": pd.array(section, dtype="string"),
        }
    )
    out = out.join(size)
    out["exporter"] = pd.array(exporter, dtype="boolean")
    out["commune"] = pd.array(cols["commune"], dtype="string")
    out["synthetic"] = True
    out["placement"] = pd.array(cols["placement"], dtype="string")
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    gdf.index = pd.Index(gdf["id"].to_numpy())
    box = tuple(municipalities.to_crs(WGS84).total_bounds)
    pad = 0.01
    return validate_layer(
        gdf[[*COLUMNS[:-1], "placement", "geometry"]],
        "smes (synthetic)",
        required_columns=COLUMNS,
        geom_types=["Point"],
        id_column="id",
        bounds_wgs84=(box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad),
    )
