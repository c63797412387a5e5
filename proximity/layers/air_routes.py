"""Airline routes of the airports (OpenFlights, June-2014 snapshot): where each airport flies to.

The OpenFlights route database (``routes.dat``, 67,663 airline routes) says which airports
are linked by a scheduled flight; it has no frequencies or seasons, so it measures the
*breadth* of an airport's network (how many destinations, in how many countries), not its
traffic. It is a June-2014 snapshot: every figure derived from it carries that date
(:data:`SNAPSHOT`, :data:`SNAPSHOT_LABEL`).

Rules
-----
- **Direct only**: routes with ``stops`` > 0 (11 rows of the file) are left out: a
  destination counts when a non-stop flight reaches it.
- **Codeshares count**: a row marked ``codeshare = Y`` is a flight operated by another
  airline and sold under this one's code; the flight exists, so its destination counts.
  Destinations are *distinct airports*, so a route sold by several airlines counts once
  (Montpellier → Rome-Fiumicino appears only as Air France and Alitalia codeshares and
  counts once).
- **Resolving endpoints**: an endpoint is the OpenFlights airport whose id the row gives;
  when the id is missing (``\\N``) or unknown, its code is looked up as an IATA code
  (3 letters) or an ICAO code (4 letters) in ``airports.dat``. An endpoint that stays
  unresolved is still a destination (named by its code) but has no country: it adds to
  ``destinations``, not to ``countries`` nor ``foreign_destinations``.
- **Joining the gateways**: an airport of the gateways layer is the OpenFlights airport
  with its IATA code, else (an ICAO-only airport) the one with its ICAO code. An airport
  absent from the routes has 0 destinations (not NaN).
- **Foreign**: in the airport table, a destination whose country (``airports.dat``)
  differs from the airport's own country; in the world reach of a territory's firms
  (:func:`proximity.accessibility.world_reach`), one outside :data:`HOME_COUNTRY`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from .. import datasets
from ..errors import DataFileError, MissingColumnError

__all__ = [
    "COUNT_COLUMNS",
    "ROUTE_COLUMNS",
    "HOME_COUNTRY",
    "SNAPSHOT",
    "SNAPSHOT_LABEL",
    "airport_destinations",
    "read_openflights_airports",
    "read_openflights_routes",
    "route_counts",
]

#: Date of the OpenFlights route data.
SNAPSHOT = "2014-06"
#: Country of the territories (as ``airports.dat`` spells it): world reach counts as
#: foreign what lies outside it, whichever airport (Geneva for Haute-Savoie) serves it.
HOME_COUNTRY = "France"
#: How maps and tables name the route data.
SNAPSHOT_LABEL = "airline routes of 2014"

_ROUTES = (
    "airline",
    "airline_id",
    "source",
    "source_id",
    "destination",
    "destination_id",
    "codeshare",
    "stops",
    "equipment",
)
_AIRPORTS = (
    "of_id",
    "name",
    "city",
    "country",
    "iata",
    "icao",
    "lat",
    "lon",
    "altitude",
    "timezone",
    "dst",
    "tz",
    "type",
    "source",
)

#: Columns of :func:`route_counts` (added to the gateways layer).
COUNT_COLUMNS = ("destinations", "countries", "foreign_destinations", "destination_codes", "destinations_by_country")

#: Columns of the long table of :func:`airport_destinations`.
ROUTE_COLUMNS = (
    "gateway_id",
    "destination",
    "destination_name",
    "destination_city",
    "destination_country",
    "foreign",
    "airlines",
    "codeshare_only",
)


def _read(p: Path, names: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(
            p, header=None, names=list(names), dtype=str, keep_default_na=False, na_values=[], encoding="utf-8"
        )
    except (OSError, ValueError) as exc:
        raise DataFileError(f"cannot read {p.name!r} ({exc}); reinstall it with `proximity data install`") from exc
    if df.shape[1] != len(names) or (len(df) and df.iloc[:, -1].isna().all()):
        raise DataFileError(f"{p.name!r} does not have the {len(names)} OpenFlights columns; is it the expected file?")
    return df.replace("\\N", "")


@lru_cache(maxsize=4)
def _airports_cached(p: str) -> pd.DataFrame:
    return _read(Path(p), _AIRPORTS)


@lru_cache(maxsize=4)
def _routes_cached(p: str) -> pd.DataFrame:
    return _read(Path(p), _ROUTES)


def read_openflights_airports(territory: str = "herault") -> pd.DataFrame:
    """``airports.dat`` as text columns (``of_id``, ``name``, ``city``, ``country``, ``iata``, ``icao``, …); ``\\N`` is ``""``.

    Examples
    --------
    >>> a = read_openflights_airports()
    >>> a.loc[a["iata"] == "MPL", ["of_id", "icao", "country"]].values.tolist()
    [['1359', 'LFMT', 'France']]
    """
    return _airports_cached(str(datasets.path("openflights_airports", territory))).copy()


def read_openflights_routes(territory: str = "herault") -> pd.DataFrame:
    """``routes.dat`` as text columns (``airline``, ``source``, ``source_id``, ``destination``, …, ``codeshare``, ``stops``).

    Examples
    --------
    >>> len(read_openflights_routes())
    67663
    """
    return _routes_cached(str(datasets.path("openflights_routes", territory))).copy()


def _resolve(codes: pd.Series, ids: pd.Series, airports: pd.DataFrame) -> pd.Series:
    """OpenFlights airport id of each endpoint (id if known, else IATA/ICAO code), or ``"code:<code>"``."""
    known = set(airports["of_id"])
    by_iata = airports[airports["iata"] != ""].drop_duplicates("iata").set_index("iata")["of_id"]
    by_icao = airports[airports["icao"] != ""].drop_duplicates("icao").set_index("icao")["of_id"]
    out = ids.where(ids.isin(known), "")
    by_code = codes.map(by_iata).where(codes.str.len() == 3, codes.map(by_icao))
    out = out.where(out != "", by_code.fillna(""))
    return out.where(out != "", "code:" + codes)


def airport_destinations(
    airports: pd.DataFrame,
    *,
    territory: str = "herault",
    routes: pd.DataFrame | None = None,
    openflights_airports: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The direct destinations of each airport: one row per (airport, destination airport).

    Parameters
    ----------
    airports : DataFrame
        Airports indexed by gateway id, with ``iata`` and ``icao`` columns (e.g. the
        airport rows of :func:`proximity.layers.gateways`; other rows are ignored when a
        ``kind`` column is present).
    territory : str
        Territory whose manifest gives the OpenFlights files.
    routes, openflights_airports : DataFrame, optional
        The OpenFlights tables (default: read from the territory's data); tests pass tiny ones.

    Returns
    -------
    DataFrame
        Columns :data:`ROUTE_COLUMNS`, sorted by gateway id and destination:
        ``gateway_id``; ``destination`` (IATA code, else ICAO code, else the route's code);
        ``destination_name``, ``destination_city``, ``destination_country`` (``""`` when
        the endpoint is not in ``airports.dat``); ``foreign`` (bool, the country differs
        from the origin's; False when unknown); ``airlines`` (number of distinct airline
        codes selling the route, codeshares included); ``codeshare_only`` (bool, every
        row of the route is a codeshare). Rules: see the module docstring.

    Raises
    ------
    MissingColumnError
        ``airports`` lacks ``iata`` or ``icao``.

    Examples
    --------
    >>> import pandas as pd
    >>> mpl = pd.DataFrame({"iata": ["MPL"], "icao": ["LFMT"]}, index=["airport:LFMT"])
    >>> d = airport_destinations(mpl)
    >>> len(d), d["destination_country"].nunique(), int(d["foreign"].sum())
    (20, 7, 12)
    """
    missing = [c for c in ("iata", "icao") if c not in airports.columns]
    if missing:
        raise MissingColumnError(
            f"airports lack column(s) {', '.join(missing)}; pass the airport rows of the gateways layer"
        )
    if "kind" in airports.columns:
        airports = airports[airports["kind"] == "airport"]
    of = read_openflights_airports(territory) if openflights_airports is None else openflights_airports.fillna("")
    r = read_openflights_routes(territory) if routes is None else routes.fillna("")
    r = r[pd.to_numeric(r["stops"], errors="coerce").fillna(0).eq(0)]  # direct flights only
    src = _resolve(r["source"], r["source_id"], of)
    dst = _resolve(r["destination"], r["destination_id"], of)

    iata = airports["iata"].astype("string").fillna("").str.strip()
    icao = airports["icao"].astype("string").fillna("").str.strip()
    by_iata = of[of["iata"] != ""].drop_duplicates("iata").set_index("iata")["of_id"]
    by_icao = of[of["icao"] != ""].drop_duplicates("icao").set_index("icao")["of_id"]
    of_id = iata.map(by_iata).where(iata != "", None)
    of_id = of_id.fillna(icao.map(by_icao).where(icao != "", None))
    # an airport unknown to airports.dat may still be in the routes under its IATA code
    of_id = of_id.fillna(("code:" + iata).where(iata != "", None)).dropna()
    gateway_of = pd.Series(of_id.index, index=of_id.to_numpy())
    gateway_of = gateway_of[~gateway_of.index.duplicated()]

    sel = src.isin(gateway_of.index).to_numpy()
    rows = pd.DataFrame(
        {
            "gateway_id": src[sel].map(gateway_of).to_numpy(),
            "of_origin": src[sel].to_numpy(),
            "dest_key": dst[sel].to_numpy(),
            "airline": r["airline"][sel].to_numpy(),
            "codeshare": r["codeshare"][sel].eq("Y").to_numpy(),
        }
    )
    rows = rows[rows["of_origin"] != rows["dest_key"]]
    info = of.set_index("of_id")
    info = info[~info.index.duplicated()]
    if rows.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    ROUTE_COLUMNS,
                    ("string", "string", "string", "string", "string", "bool", "int64", "bool"),
                    strict=True,
                )
            }
        )
    g = (
        rows.groupby(["gateway_id", "dest_key"], sort=True)
        .agg(airlines=("airline", "nunique"), codeshare_only=("codeshare", "all"), of_origin=("of_origin", "first"))
        .reset_index()
    )

    def field(keys: pd.Series, col: str) -> pd.Series:
        return keys.map(info[col]).fillna("")

    code = field(g["dest_key"], "iata")
    code = code.where(code != "", field(g["dest_key"], "icao"))
    code = code.where(code != "", g["dest_key"].str.removeprefix("code:"))
    country = field(g["dest_key"], "country")
    home = field(g["of_origin"], "country")
    out = pd.DataFrame(
        {
            "gateway_id": g["gateway_id"].astype("string"),
            "destination": code.astype("string"),
            "destination_name": field(g["dest_key"], "name").astype("string"),
            "destination_city": field(g["dest_key"], "city").astype("string"),
            "destination_country": country.astype("string"),
            "foreign": ((country != "") & (home != "") & (country != home)).astype(bool),
            "airlines": g["airlines"].astype("int64"),
            "codeshare_only": g["codeshare_only"].astype(bool),
        }
    )
    return out.sort_values(["gateway_id", "destination"], kind="stable").reset_index(drop=True)


def route_counts(destinations: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per airport: ``destinations``, ``countries``, ``foreign_destinations`` (int, 0 when absent), and the codes.

    Parameters
    ----------
    destinations : DataFrame
        The long table of :func:`airport_destinations`.
    index : Index
        Gateway ids to report (rows of other kinds or without routes get 0 and ``""``).

    Returns
    -------
    DataFrame
        Indexed by ``index``, columns :data:`COUNT_COLUMNS`. ``destination_codes`` is a
        space-separated, sorted string of the destination codes and
        ``destinations_by_country`` groups them by country, countries by decreasing number
        of destinations then name (``"France: AJA CDG; Italy: FCO"``; unknown countries as
        ``"?"``); strings, not lists, so that the table stays writable as CSV/GeoPackage.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame(
    ...     {
    ...         "gateway_id": ["a", "a"],
    ...         "destination": ["CDG", "LHR"],
    ...         "destination_country": ["France", "United Kingdom"],
    ...         "foreign": [False, True],
    ...     }
    ... )
    >>> route_counts(d, pd.Index(["a", "b"])).to_dict("list")["countries"]
    [2, 0]
    """
    g = destinations.groupby("gateway_id")
    known = destinations[destinations["destination_country"].fillna("") != ""]
    out = pd.DataFrame(index=index)
    out["destinations"] = g["destination"].nunique().reindex(index).fillna(0).astype("int64")
    out["countries"] = (
        known.groupby("gateway_id")["destination_country"].nunique().reindex(index).fillna(0).astype("int64")
    )
    out["foreign_destinations"] = (
        destinations[destinations["foreign"].astype(bool)]
        .groupby("gateway_id")["destination"]
        .nunique()
        .reindex(index)
        .fillna(0)
        .astype("int64")
    )
    codes = g["destination"].agg(lambda s: " ".join(sorted(set(s))))
    out["destination_codes"] = codes.reindex(index).fillna("").astype("string")
    by_country = {}
    for gid, grp in destinations.groupby("gateway_id"):
        per = grp.groupby(grp["destination_country"].fillna("").replace("", "?"))["destination"].agg(
            lambda s: sorted(set(s))
        )
        order = sorted(per.index, key=lambda c: (-len(per[c]), c))
        by_country[gid] = "; ".join(f"{c}: {' '.join(per[c])}" for c in order)
    out["destinations_by_country"] = pd.Series(by_country, dtype="string").reindex(index).fillna("").astype("string")
    return out
