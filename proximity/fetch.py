"""Real firms and real support bodies, one command away (needs the internet).

Two open registers complete the offline data of a territory:

* **Firms**: Etalab's geolocated SIRENE establishment files, one gzip CSV per
  département (:func:`fetch_smes`). Layout, as downloaded by Etalab's own scripts
  (``etalab/annuaire-entreprises-sirene-api``, ``db/init/10-get-last-siret-data.sh``)::

      {base}/geo_siret_{DEP}.csv.gz   DEP = 01…19, 2A, 2B, 21…95 (Paris: 75101…75120)
      base = https://files.data.gouv.fr/geo-sirene/last/dep/

  The columns are INSEE's StockEtablissement columns (``siren``, ``nic``, ``siret``,
  ``etatAdministratifEtablissement``, ``activitePrincipaleEtablissement``,
  ``trancheEffectifsEtablissement``, ``codeCommuneEtablissement``…) followed by
  Etalab's geocoding: ``longitude``, ``latitude``, ``geo_score``, ``geo_type``,
  ``geo_adresse``, ``geo_id``, ``geo_ligne``, ``geo_l4``, ``geo_l5``. Only active
  establishments (``etatAdministratifEtablissement == "A"``) are kept, with the columns of
  :data:`SIRENE_KEEP`. Licence Ouverte 2.0 (Etalab).
* **Support bodies**: the Annuaire de l'administration of service-public.fr (DILA), an
  Opendatasoft "explore v2.1" API (:func:`fetch_support`)::

      GET https://api-lannuaire.service-public.gouv.fr/api/explore/v2.1/catalog/datasets/
          api-lannuaire-administration/records?where=…&select=…&limit=100&offset=…

  answering ``{"total_count": n, "results": [record, …]}``; a record has ``id``, ``nom``,
  ``pivot`` (JSON list of ``{"type_service_local": …, "code_insee_commune": […]}``),
  ``adresse`` (JSON list of ``{"type_adresse", "numero_voie", "code_postal",
  "nom_commune", "longitude", "latitude"}``), ``code_insee_commune``, ``siret``,
  ``date_modification``… The kinds kept and their support-body category are
  :data:`DIRECTORY_CATEGORIES`. Licence Ouverte 2.0, attribution "Service-Public.fr / DILA".

Everything is stored under ``datasets.data_dir()/fetched`` (or ``$PROXIMITY_FETCH_DIR``) with a JSON provenance sidecar
(URL, download date, sha256, licence, attribution, row counts). Downloads stream in
blocks with a byte progress bar, resume with an HTTP ``Range`` request from a ``.part``
file kept in ``fetched/.staging`` and never leave a half file under a final name. Any
failure is one :class:`~proximity.errors.DownloadError` line; offline, it says that the
command needs the internet and how to pass a file instead.

The base addresses can be changed with ``base_url=`` / ``url=`` or the environment
variables ``PROXIMITY_SIRENE_URL`` and ``PROXIMITY_ANNUAIRE_URL`` (a mirror, a proxy).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import http.client
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, datasets
from .errors import DataFileError, DownloadError, InputError

__all__ = [
    "ANNUAIRE_ATTRIBUTION",
    "ANNUAIRE_LICENCE",
    "ANNUAIRE_URL",
    "DIRECTORY_CATEGORIES",
    "SIRENE_ATTRIBUTION",
    "SIRENE_BASE_URL",
    "SIRENE_KEEP",
    "SIRENE_LICENCE",
    "departements_of",
    "download",
    "fetch_smes",
    "fetch_support",
    "fetched_dir",
    "sirene_sources",
    "stored_smes",
    "stored_support",
]

#: Folder of Etalab's per-département geolocated SIRENE files (overridden by
#: ``$PROXIMITY_SIRENE_URL``).
SIRENE_BASE_URL = "https://files.data.gouv.fr/geo-sirene/last/dep/"
#: Records endpoint of the Annuaire de l'administration (overridden by ``$PROXIMITY_ANNUAIRE_URL``).
ANNUAIRE_URL = (
    "https://api-lannuaire.service-public.gouv.fr/api/explore/v2.1/catalog/datasets/"
    "api-lannuaire-administration/records"
)
SIRENE_LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab)"
SIRENE_ATTRIBUTION = (
    "INSEE, base Sirene des entreprises et de leurs établissements (SIREN, SIRET); "
    "géolocalisation Etalab (DINUM), files.data.gouv.fr/geo-sirene"
)
ANNUAIRE_LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab)"
ANNUAIRE_ATTRIBUTION = "Service-Public.fr / DILA, Annuaire de l'administration (api-lannuaire-administration)"

#: Columns of the geolocated SIRENE files kept in the stored register (those present).
SIRENE_KEEP = (
    "siren",
    "nic",
    "siret",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "etablissementSiege",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "codeCommuneEtablissement",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
    "longitude",
    "latitude",
    "geo_score",
    "geo_type",
)
_SIRENE_REQUIRED = (
    "siret",
    "etatAdministratifEtablissement",
    "activitePrincipaleEtablissement",
    "trancheEffectifsEtablissement",
    "codeCommuneEtablissement",
    "longitude",
    "latitude",
)

#: ``type_service_local`` of the directory (its "pivot") -> support-body category.
#: DIRECCTE is the pivot code still used for the regional DREETS (the former regional
#: directorate of foreign trade, see ``layers.CATEGORIES["foreign_trade_service"]``);
#: its departmental units (``direccte_ut``, ``ddets``: labour inspection, employment) are
#: not export support and are left out. Regional development agencies (e.g. AD'OCC) have
#: no pivot type in the directory: pass them with ``--support FILE``.
DIRECTORY_CATEGORIES: dict[str, str] = {
    "cci": "chamber_of_commerce",
    "chambre_metier": "chamber_of_trades",
    "chambre_agriculture": "chamber_of_agriculture",
    "direccte": "foreign_trade_service",
    "drddi": "customs_office",
    "bureau_de_douane": "customs_office",
}

_SMES_HINT = "pass your own SIRENE extract with --smes FILE (StockEtablissement layout) instead"
_SUPPORT_HINT = "pass your own support bodies with --support FILE (CSV with name, category, lat, lon) instead"
_DEP_RE = re.compile(r"^(0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5]|2A|2B|97[1-6])$")


# ---------------------------------------------------------------- places
def fetched_dir(target: str | os.PathLike | None = None) -> Path:
    """Folder of the fetched registers: ``target``, ``$PROXIMITY_FETCH_DIR`` or ``datasets.data_dir()/fetched``."""
    if target is not None:
        return Path(target)
    env = os.environ.get("PROXIMITY_FETCH_DIR")
    return Path(env).expanduser() if env else datasets.data_dir() / "fetched"


def _norm_dep(code: str) -> str:
    c = str(code).strip().upper()
    if c.isdigit() and len(c) == 1:
        c = "0" + c
    if not _DEP_RE.match(c):
        raise InputError(
            f"département {code!r} is not a French département code; use 01…95, 2A, 2B or 971…976 (e.g. 34)"
        )
    return c


def departements_of(territory: str | Sequence[str]) -> tuple[str, ...]:
    """The départements of a territory.

    Parameters
    ----------
    territory : str or sequence of str
        A territory manifest name (``"herault"`` → ``("34",)``), any territory spec of
        :mod:`proximity.area` (``"34,30"``, ``epci:…``, ``region:76``, ``france``), or a
        sequence of département codes.

    Returns
    -------
    tuple of str
        Two- or three-character codes, sorted, without duplicates.

    Examples
    --------
    >>> departements_of("herault")
    ('34',)
    >>> departements_of("34,30,2a")
    ('2A', '30', '34')
    """
    if not isinstance(territory, str):
        return tuple(sorted({_norm_dep(c) for c in territory}))
    try:
        return (datasets.load_manifest(territory).departement,)
    except InputError:
        pass
    from . import area

    return tuple(area.resolve(territory).departements)


def sirene_sources(departements: Iterable[str], *, base_url: str | None = None) -> dict[str, list[str]]:
    """The geolocated SIRENE file URLs of each département (Paris is split by arrondissement).

    Examples
    --------
    >>> sirene_sources(["34"], base_url="http://127.0.0.1:8000/dep")["34"]
    ['http://127.0.0.1:8000/dep/geo_siret_34.csv.gz']
    >>> len(sirene_sources(["75"])["75"])
    20
    """
    base = (base_url or os.environ.get("PROXIMITY_SIRENE_URL") or SIRENE_BASE_URL).rstrip("/") + "/"
    out: dict[str, list[str]] = {}
    for dep in departements:
        d = _norm_dep(dep)
        names = [f"751{i:02d}" for i in range(1, 21)] if d == "75" else [d]
        out[d] = [f"{base}geo_siret_{n}.csv.gz" for n in names]
    return out


# ---------------------------------------------------------------- download
def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(progress: Callable[..., Any] | None, **kw) -> Any:
    return progress(**kw) if progress is not None else _NoBar()


def _disk_error(p: Path, exc: OSError) -> DataFileError:
    why = exc.strerror or str(exc)
    return DataFileError(
        f"cannot write {str(p)!r} ({why}); free disk space there or point PROXIMITY_DATA_DIR to a larger disk, "
        "then rerun (the download resumes)"
    )


def _open(url: str, *, headers: dict[str, str], timeout_s: float, what: str, hint: str):
    # Audited: download() admits http(s) addresses only; the directory endpoint is ANNUAIRE_URL unless
    # the user passes url= or sets $PROXIMITY_ANNUAIRE_URL.
    req = urllib.request.Request(url, headers={"User-Agent": f"proximity/{__version__}", **headers})  # noqa: S310
    try:
        return urllib.request.urlopen(req, timeout=timeout_s)  # noqa: S310
    except urllib.error.HTTPError as exc:
        exc.close()
        fix = "check the address (--base-url) and the département code" if exc.code == 404 else "try again later"
        raise DownloadError(f"{what}: {url} answered HTTP {exc.code} {exc.reason}; {fix}, or {hint}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise DownloadError(
                f"{what}: {_host(url)} did not answer within {timeout_s:g} s; try again later, or {hint}"
            ) from None
        raise DownloadError(f"{what} needs internet: cannot reach {_host(url)} ({reason}); {hint}") from None


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    staging: str | os.PathLike | None = None,
    timeout_s: float = 60.0,
    chunk_bytes: int = 1 << 20,
    progress: Callable[..., Any] | None = None,
    what: str = "download",
    hint: str = "pass a local file instead",
) -> dict[str, Any]:
    """Stream ``url`` to ``dest``, resuming an interrupted transfer, atomically.

    Bytes go to ``staging/<name>.part`` (``staging`` defaults to ``dest``'s folder) in
    ``chunk_bytes`` blocks. If that file exists from an earlier attempt, the request asks
    for the rest with ``Range: bytes=<size>-``; a server answering 200 instead of 206
    restarts from zero. The file is renamed onto ``dest`` only once the announced length
    (``Content-Length``) has arrived, so ``dest`` is either absent or whole.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` address.
    dest : path
        Final file.
    staging : path, optional
        Folder of the resumable ``.part`` file.
    timeout_s : float
        Socket timeout for connecting and for each read.
    chunk_bytes : int
        Block size.
    progress : callable, optional
        A tqdm-like factory called with ``total``, ``initial``, ``unit="B"``… returning an
        object with ``update(n)`` and ``close()``.
    what, hint : str
        Start of the error messages, and the offline alternative they suggest.

    Returns
    -------
    dict
        ``url``, ``bytes``, ``sha256``, ``resumed_from`` (bytes already there), ``date``.

    Raises
    ------
    DownloadError
        Unreachable host (offline), HTTP error, timeout, interrupted or truncated transfer
        (the ``.part`` file is kept: rerun to resume).
    DataFileError
        The disk is full or not writable.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise InputError(f"{what}: {url!r} is not an http(s) address")
    dest = Path(dest)
    stage = Path(staging) if staging is not None else dest.parent
    try:
        stage.mkdir(parents=True, exist_ok=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(stage, exc) from exc
    part = stage / (dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = _open(url, headers=headers, timeout_s=timeout_s, what=what, hint=hint)
    except DownloadError as exc:
        if have and "HTTP 416" in str(exc):  # nothing left to send: the .part is stale; start again
            part.unlink()
            return download(
                url,
                dest,
                staging=staging,
                timeout_s=timeout_s,
                chunk_bytes=chunk_bytes,
                progress=progress,
                what=what,
                hint=hint,
            )
        raise
    with resp:
        start = have if (have and resp.status == 206) else 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        bar = _bar(progress, total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name)
        got = start
        try:
            fh = part.open("ab" if start else "wb")
            with fh:
                while True:
                    try:
                        block = resp.read1(chunk_bytes)  # what has arrived: a stall keeps it in the .part
                    except TimeoutError:
                        raise DownloadError(
                            f"{what}: {_host(url)} stopped sending for {timeout_s:g} s after {got:,} bytes; "
                            f"rerun the same command to resume, or {hint}"
                        ) from None
                    except (http.client.IncompleteRead, ConnectionError, OSError) as exc:
                        raise DownloadError(
                            f"{what}: transfer from {_host(url)} interrupted after {got:,} bytes ({exc.__class__.__name__}); "
                            f"rerun the same command to resume, or {hint}"
                        ) from None
                    if not block:
                        break
                    fh.write(block)
                    got += len(block)
                    bar.update(len(block))
        except DataFileError:
            raise
        except OSError as exc:  # the disk: full, read-only, gone (the .part keeps what was written)
            raise _disk_error(part, exc) from None
        finally:
            bar.close()
    if total is not None and got < total:
        raise DownloadError(
            f"{what}: transfer from {_host(url)} stopped after {got:,} of {total:,} bytes; "
            f"rerun the same command to resume, or {hint}"
        )
    try:
        os.replace(part, dest)
    except OSError as exc:
        raise _disk_error(dest, exc) from exc
    return {"url": url, "bytes": got, "sha256": _sha256(dest), "resumed_from": have if start else 0, "date": _now()}


# ---------------------------------------------------------------- SIRENE
def _filter_sirene(
    raw: Path, out_fh, *, first: bool, progress, chunk_rows: int, what: str, hint: str
) -> tuple[int, int, list[str]]:
    """Append the active establishments of one raw gzip CSV to ``out_fh``; return rows read, kept, columns."""
    read = kept = 0
    cols: list[str] = []
    bar = _bar(progress, total=None, unit="row", unit_scale=True, desc=f"{raw.name} (active rows)")
    try:
        header = pd.read_csv(raw, compression="gzip", dtype=str, nrows=0, encoding="utf-8").columns
        missing = [c for c in _SIRENE_REQUIRED if c not in header]
        if missing:
            raise DataFileError(
                f"{what}: {raw.name} lacks column(s) {', '.join(map(repr, missing))}: the geolocated SIRENE "
                f"layout has changed or the address is wrong; {hint}"
            )
        cols = [c for c in SIRENE_KEEP if c in header]
        reader = pd.read_csv(
            raw,
            compression="gzip",
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_rows,
            encoding="utf-8",
            usecols=cols,
        )  # only the kept columns become Python strings
        for i, chunk in enumerate(reader):
            read += len(chunk)
            act = chunk.loc[chunk["etatAdministratifEtablissement"].str.strip() == "A", cols]
            kept += len(act)
            try:
                act.to_csv(out_fh, header=first and i == 0, index=False, lineterminator="\n")
            except OSError as exc:
                raise _disk_error(Path(getattr(out_fh, "name", "output")), exc) from exc
            bar.update(len(chunk))
    except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DownloadError(
            f"{what}: {raw.name} is not a complete gzip CSV ({exc.__class__.__name__}: {exc}); it was deleted, "
            f"rerun the same command, or {hint}"
        ) from None
    finally:
        bar.close()
    return read, kept, cols


def fetch_smes(
    territory: str | Sequence[str] = "herault",
    *,
    base_url: str | None = None,
    target: str | os.PathLike | None = None,
    timeout_s: float = 60.0,
    keep_raw: bool = False,
    chunk_rows: int = 200_000,
    progress: Callable[..., Any] | None = None,
) -> list[Path]:
    """Download the geolocated SIRENE files of a territory's départements; keep active establishments.

    For each département (:func:`departements_of`), each file of :func:`sirene_sources`
    is streamed with :func:`download` into ``fetched/.staging``, read in chunks of
    ``chunk_rows`` rows, and its active establishments
    (``etatAdministratifEtablissement == "A"``, columns :data:`SIRENE_KEEP`) are written to
    ``fetched/sirene/sirene_<DEP>.csv.gz`` (atomically) with a sidecar
    ``sirene_<DEP>.json``: source URLs, download date, sha256 and size of each raw file and
    of the stored file, rows read and kept, licence and attribution. The raw files are
    deleted unless ``keep_raw``.

    Parameters
    ----------
    territory : str or sequence of str
        Territory name or département codes (see :func:`departements_of`).
    base_url : str, optional
        Folder of the ``geo_siret_<DEP>.csv.gz`` files (default :data:`SIRENE_BASE_URL`
        or ``$PROXIMITY_SIRENE_URL``).
    target : path, optional
        Folder of the fetched registers (default :func:`fetched_dir`).
    timeout_s : float
        Network timeout (connect and each read).
    keep_raw : bool
        Keep the downloaded gzip files in ``fetched/.staging``.
    chunk_rows : int
        Rows read at a time (memory stays bounded for a national file).
    progress : callable, optional
        tqdm-like factory for the byte and row bars.

    Returns
    -------
    list of Path
        The stored ``sirene_<DEP>.csv.gz`` files.

    Raises
    ------
    DownloadError
        Offline, HTTP error, timeout, truncated or corrupt transfer (one line, with the fix).
    DataFileError
        Disk full or not writable; the file's layout lacks the SIRENE columns.
    """
    deps = departements_of(territory)
    root = fetched_dir(target)
    stage = root / ".staging"
    what = "proximity data fetch smes"
    written = []
    for dep, urls in sirene_sources(deps, base_url=base_url).items():
        final = root / "sirene" / f"sirene_{dep}.csv.gz"
        raws = []
        for url in urls:
            raw = stage / url.rsplit("/", 1)[-1]
            info = download(url, raw, staging=stage, timeout_s=timeout_s, progress=progress, what=what, hint=_SMES_HINT)
            raws.append((raw, info))
        tmp = stage / (final.name + ".writing")
        read = kept = 0
        cols: list[str] = []
        try:
            with gzip.open(tmp, "wt", encoding="utf-8", newline="", compresslevel=1) as out_fh:  # speed over size
                for k, (raw, info) in enumerate(raws):
                    try:
                        r, n, c = _filter_sirene(
                            raw,
                            out_fh,
                            first=k == 0,
                            progress=progress,
                            chunk_rows=chunk_rows,
                            what=what,
                            hint=_SMES_HINT,
                        )
                    except DownloadError:
                        raw.unlink(missing_ok=True)
                        raise
                    info.update(rows_read=r, rows_active=n)
                    read, kept, cols = read + r, kept + n, cols or c
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except OSError as exc:
            if isinstance(exc, DataFileError):
                raise
            raise _disk_error(tmp, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        side = {
            "source": "SIRENE géolocalisé (Etalab)",
            "departement": dep,
            "downloaded": min(i["date"] for _, i in raws),
            "files": [dict(i.items()) for _, i in raws],
            "stored": final.name,
            "sha256": _sha256(final),
            "bytes": final.stat().st_size,
            "rows_read": read,
            "rows_active": kept,
            "columns": cols,
            "filter": "etatAdministratifEtablissement == 'A'",
            "licence": SIRENE_LICENCE,
            "attribution": SIRENE_ATTRIBUTION,
            "caveat": "exporter status is not in SIRENE (unknown); geocoding by Etalab (geo_score, geo_type)",
        }
        _write_json(final.with_suffix("").with_suffix(".json"), side)
        if not keep_raw:
            for raw, _ in raws:
                raw.unlink(missing_ok=True)
        written.append(final)
    return written


def _write_json(p: Path, obj: dict) -> None:
    tmp = p.with_name(p.name + ".writing")
    try:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _disk_error(p, exc) from exc


def _read_sidecar(p: Path) -> dict:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError(f"provenance file {str(p)!r} is missing or corrupt ({exc}); fetch again") from exc


def stored_smes(territory: str | Sequence[str] = "herault", *, target: str | os.PathLike | None = None) -> pd.DataFrame:
    """The fetched SIRENE register of a territory's départements, in the SIRENE layout.

    Checks each stored file's sha256 against its sidecar. The frame's ``attrs`` carry
    ``source_label`` (``"SIRENE (YYYY-MM-DD)"``, the earliest download date) and
    ``provenance`` (the sidecars), which :func:`proximity.layers.read_sirene` keeps.

    Raises
    ------
    DataFileError
        A département has not been fetched (the message gives the command), or a stored
        file does not match its checksum.
    """
    root = fetched_dir(target) / "sirene"
    frames, sides = [], []
    for dep in departements_of(territory):
        p = root / f"sirene_{dep}.csv.gz"
        side_p = root / f"sirene_{dep}.json"
        if not p.is_file() or not side_p.is_file():
            raise DataFileError(
                f"no fetched SIRENE register for département {dep} under {str(root)!r}; run "
                f"`proximity data fetch smes --territory {dep}` (needs internet) or pass --smes FILE"
            )
        side = _read_sidecar(side_p)
        if _sha256(p) != side.get("sha256"):
            raise DataFileError(f"{str(p)!r} does not match the sha256 of its provenance; fetch it again")
        frames.append(pd.read_csv(p, compression="gzip", dtype=str, keep_default_na=False))
        sides.append(side)
    df = pd.concat(frames, ignore_index=True)
    day = min(s["downloaded"] for s in sides)[:10]
    df.attrs["source_label"] = f"SIRENE ({day})"
    df.attrs["provenance"] = sides
    return df


# ---------------------------------------------------------------- directory
def _json_field(v: Any) -> list:
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return [v]
    if isinstance(v, str) and v.strip():
        try:
            out = json.loads(v)
        except ValueError:
            return []
        return out if isinstance(out, list) else [out] if isinstance(out, dict) else []
    return []


def _types(rec: dict) -> list[str]:
    return [str(p.get("type_service_local", "")) for p in _json_field(rec.get("pivot")) if isinstance(p, dict)]


def _lonlat(rec: dict) -> tuple[float, float] | None:
    addrs = [a for a in _json_field(rec.get("adresse")) if isinstance(a, dict)]
    addrs.sort(key=lambda a: a.get("type_adresse") != "Adresse")  # the physical address first
    for a in addrs:
        try:
            lon, lat = float(a["longitude"]), float(a["latitude"])
        except (KeyError, TypeError, ValueError):  # a missing, empty or non-numeric position
            continue
        if -180 <= lon <= 180 and -90 <= lat <= 90:
            return lon, lat
    return None


def _directory_query(dep: str) -> str:
    kinds = " OR ".join(f'pivot LIKE "{k}"' for k in DIRECTORY_CATEGORIES)
    return f'startswith(code_insee_commune, "{dep}") AND ({kinds})'


def fetch_support(
    territory: str | Sequence[str] = "herault",
    *,
    url: str | None = None,
    target: str | os.PathLike | None = None,
    timeout_s: float = 30.0,
    page_size: int = 100,
    progress: Callable[..., Any] | None = None,
) -> list[Path]:
    """Query the Annuaire de l'administration for the support bodies of a territory's départements.

    One query per département, paged by ``page_size`` (the API's maximum is 100)::

        where = startswith(code_insee_commune, "<DEP>") AND (pivot LIKE "cci" OR …)
        select = id,nom,pivot,adresse,code_insee_commune,siret,date_modification

    Records are kept when one of their ``pivot`` types is in :data:`DIRECTORY_CATEGORIES`
    (checked again here, whatever the server's matching) and their commune is in the
    département; the position is the physical address's longitude/latitude (records
    without one are counted and dropped). Stored as ``fetched/annuaire/annuaire_<DEP>.csv``
    (``id`` = ``annuaire:<id>``, ``name``, ``category``, ``type_service_local``,
    ``commune``, ``lon``, ``lat``, ``source``, ``vintage``, ``caveat``) with a sidecar
    ``annuaire_<DEP>.json`` (query, date, sha256, counts, licence, attribution).

    Parameters
    ----------
    territory : str or sequence of str
        The territory or its départements (see :func:`departements_of`).
    url : str, optional
        The API's records endpoint; default ``$PROXIMITY_ANNUAIRE_URL`` or
        :data:`ANNUAIRE_URL`.
    target : path, optional
        Folder of the fetched registers (see :func:`fetched_dir`).
    timeout_s : float
        Socket timeout for connecting and for each read.
    page_size : int
        Records per request, 1 to 100 (the API's limit).
    progress : callable, optional
        A tqdm-like factory (``total``, ``unit``, ``desc``…) returning an object with
        ``update(n)`` and ``close()``.

    Returns
    -------
    list of pathlib.Path
        The CSV files written, one per département.

    Raises
    ------
    InputError
        ``page_size`` out of range.
    DownloadError
        Offline, HTTP error, timeout, or an answer that is not the API's JSON.
    DataFileError
        Disk full or not writable.
    """
    if not 1 <= page_size <= 100:
        raise InputError(f"page_size must be 1…100 (the API's limit), got {page_size!r}")
    endpoint = url or os.environ.get("PROXIMITY_ANNUAIRE_URL") or ANNUAIRE_URL
    what = "proximity data fetch support"
    root = fetched_dir(target) / "annuaire"
    written = []
    for dep in departements_of(territory):
        where = _directory_query(dep)
        params: dict[str, Any] = {
            "where": where,
            "select": "id,nom,pivot,adresse,code_insee_commune,siret,date_modification",
            "limit": page_size,
            "offset": 0,
        }
        records: list[dict] = []
        total = None
        bar = _bar(progress, total=None, unit="record", desc=f"directory {dep}")
        try:
            while total is None or params["offset"] < total:
                q = f"{endpoint}?{urllib.parse.urlencode(params)}"
                with _open(
                    q, headers={"Accept": "application/json"}, timeout_s=timeout_s, what=what, hint=_SUPPORT_HINT
                ) as resp:
                    try:
                        body = json.loads(resp.read().decode("utf-8"))
                        page = body["results"]
                        total = int(body["total_count"])
                    except TimeoutError:
                        raise DownloadError(
                            f"{what}: {_host(endpoint)} stopped answering for {timeout_s:g} s; "
                            f"try again later, or {_SUPPORT_HINT}"
                        ) from None
                    except (ValueError, KeyError, TypeError, UnicodeDecodeError, http.client.IncompleteRead) as exc:
                        raise DownloadError(
                            f"{what}: {_host(endpoint)} did not answer with the directory's JSON ({exc.__class__.__name__}); "
                            f"check the address (--url), or {_SUPPORT_HINT}"
                        ) from None
                records += page
                bar.update(len(page))
                if not page:
                    break
                params["offset"] += len(page)
                if params["offset"] >= 10_000:  # the records endpoint's offset limit
                    break
        finally:
            bar.close()
        day = _now()
        rows, no_position = [], 0
        for rec in records:
            kinds = [t for t in _types(rec) if t in DIRECTORY_CATEGORIES]
            commune = str(rec.get("code_insee_commune") or "")
            if not kinds or not commune.startswith(dep):
                continue
            ll = _lonlat(rec)
            if ll is None:
                no_position += 1
                continue
            modified = str(rec.get("date_modification") or "")
            year = modified[6:10] if re.match(r"\d\d/\d\d/\d{4}", modified) else day[:4]
            rows.append(
                {
                    "id": f"annuaire:{rec.get('id')}",
                    "name": str(rec.get("nom") or "").strip(),
                    "category": DIRECTORY_CATEGORIES[kinds[0]],
                    "type_service_local": kinds[0],
                    "commune": commune,
                    "siret": str(rec.get("siret") or ""),
                    "lon": ll[0],
                    "lat": ll[1],
                    "source": "Annuaire de l'administration (service-public.fr, DILA)",
                    "vintage": year,
                    "caveat": f"fetched {day[:10]}; position of the directory's address",
                }
            )
        cols = [
            "id",
            "name",
            "category",
            "type_service_local",
            "commune",
            "siret",
            "lon",
            "lat",
            "source",
            "vintage",
            "caveat",
        ]
        df = pd.DataFrame(rows, columns=cols).drop_duplicates("id").sort_values("id", kind="stable")
        out = root / f"annuaire_{dep}.csv"
        tmp = root / (out.name + ".writing")
        try:
            root.mkdir(parents=True, exist_ok=True)
            df.to_csv(tmp, index=False, lineterminator="\n")
            os.replace(tmp, out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _disk_error(out, exc) from exc
        _write_json(
            root / f"annuaire_{dep}.json",
            {
                "source": "Annuaire de l'administration (api-lannuaire-administration)",
                "departement": dep,
                "url": endpoint,
                "where": where,
                "downloaded": day,
                "records": len(records),
                "kept": len(df),
                "without_position": no_position,
                "by_category": {k: int(v) for k, v in df["category"].value_counts().sort_index().items()},
                "mapping": DIRECTORY_CATEGORIES,
                "stored": out.name,
                "sha256": _sha256(out),
                "licence": ANNUAIRE_LICENCE,
                "attribution": ANNUAIRE_ATTRIBUTION,
            },
        )
        written.append(out)
    return written


def stored_support(
    territory: str | Sequence[str] = "herault", *, target: str | os.PathLike | None = None
) -> pd.DataFrame:
    """The fetched directory bodies of a territory's départements (columns of :func:`fetch_support`).

    ``attrs`` carry ``source_label`` (``"Annuaire de l'administration (YYYY-MM-DD)"``) and
    ``provenance`` (the sidecars).

    Raises
    ------
    DataFileError
        A département has not been fetched, or a stored file does not match its checksum.
    """
    root = fetched_dir(target) / "annuaire"
    frames, sides = [], []
    for dep in departements_of(territory):
        p, side_p = root / f"annuaire_{dep}.csv", root / f"annuaire_{dep}.json"
        if not p.is_file() or not side_p.is_file():
            raise DataFileError(
                f"no fetched directory of support bodies for département {dep} under {str(root)!r}; run "
                f"`proximity data fetch support --territory {dep}` (needs internet) or pass --support FILE"
            )
        side = _read_sidecar(side_p)
        if _sha256(p) != side.get("sha256"):
            raise DataFileError(f"{str(p)!r} does not match the sha256 of its provenance; fetch it again")
        frames.append(pd.read_csv(p, dtype={"commune": str, "siret": str, "vintage": str}, keep_default_na=False))
        sides.append(side)
    df = pd.concat(frames, ignore_index=True)
    df.attrs["source_label"] = f"Annuaire de l'administration ({min(s['downloaded'] for s in sides)[:10]})"
    df.attrs["provenance"] = sides
    return df
