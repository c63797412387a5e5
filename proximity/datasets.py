"""The default territory's input files: manifest, install, checksums, attributions.

The data files are never part of the repository. Each manifest
(``proximity/territories/<name>.toml``) names every file the package reads, with its
sha256, licence, attribution and upstream address. :func:`install` copies the files
from a local mirror folder (default ``../shared/data/raw`` next to a source checkout,
or ``$PROXIMITY_MIRROR``) or downloads them from upstream, checks every sha256 and
writes them atomically under :func:`data_dir`.

Two kinds of manifest:

- ``france.toml`` lists the **national** files once: the 2018 commune polygons of every
  département (one tarball), the département outlines, the COG tables, the national
  gateway and higher-education tables, and the Travel Mapping tarballs of France and of
  its neighbours (one entry each). They install into ``data_dir() / "france"``. Every
  territory built from a spec (``"33"``, ``"34,30,11"``, ``"epci:…"``, ``"region:76"``,
  ``"france"``; see :mod:`proximity.area`) reads them through the ``"france"`` manifest.
- a **local** manifest (``herault.toml``) lists a territory's own files and names its
  national manifest (``national = "france"``): its :class:`Manifest` holds both, so
  ``path("communes_cog", "herault")`` and ``path("travelmapping_fra", "herault")`` work.
  Local files install into ``data_dir() / "herault"``, national ones into
  ``data_dir() / "france"`` (shared by every territory); a national file already installed
  in the local folder by an older version (one folder per territory) is used where it is.

Examples
--------
>>> from proximity import datasets
>>> report = datasets.install("herault", target="installed", download=False)  # from the mirror
>>> report.total == len(datasets.load_manifest("herault").files)
True
>>> datasets.path("communes_polygons").name
'communes-34-herault.geojson'
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tempfile
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path

from .errors import ConfigError, DataFileError

__all__ = [
    "DataFile",
    "Manifest",
    "InstallReport",
    "load_manifest",
    "data_dir",
    "default_mirror",
    "install",
    "verify",
    "path",
    "actual_sha256",
    "attributions",
]


@dataclass(frozen=True)
class DataFile:
    """One input file of a territory, as listed in its manifest."""

    key: str
    path: str  # relative to the mirror root and to the installed territory folder
    sha256: str
    bytes: int
    licence: str
    attribution: str
    upstream: str
    caveat: str = ""
    fileset: str = ""  # key of the file set this file belongs to, "" for a single file
    home: str = ""  # manifest that lists the file (its install folder), "" = the territory's own


@dataclass(frozen=True)
class Manifest:
    """A territory's settings and the list of its input files."""

    name: str
    label: str
    departement: str
    crs: str
    bounds_wgs84: tuple[float, float, float, float]
    files: tuple[DataFile, ...]
    filesets: dict[str, str] = field(default_factory=dict)  # key -> folder prefix
    national: str = ""  # name of the national manifest merged into this one, "" if none

    def file(self, key: str) -> DataFile:
        for f in self.files:
            if f.key == key and not f.fileset:
                return f
        raise ConfigError(
            f"data key {key!r} is not in the {self.name!r} manifest; known keys: "
            + ", ".join(sorted({f.key for f in self.files if not f.fileset} | set(self.filesets)))
        )

    def sources(self) -> list[dict[str, str]]:
        """One row per source (single file or file set) with licence and attribution."""
        seen: dict[str, dict[str, str]] = {}
        for f in self.files:
            k = f.fileset or f.key
            if k not in seen:
                seen[k] = {
                    "key": k,
                    "path": self.filesets.get(k, f.path),
                    "licence": f.licence,
                    "attribution": f.attribution,
                    "caveat": f.caveat,
                    "files": "0",
                }
            seen[k]["files"] = str(int(seen[k]["files"]) + 1)
        return list(seen.values())


@dataclass
class InstallReport:
    """What :func:`install` did: counts of files copied, downloaded and already in place."""

    territory: str
    target: Path
    copied: int = 0
    downloaded: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.copied + self.downloaded + self.unchanged


def _source_root() -> Path | None:
    """The repository root when proximity runs from a source checkout, else None."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def data_dir() -> Path:
    """Folder where territories are installed.

    ``$PROXIMITY_DATA_DIR`` if set; else ``data/installed`` of the source checkout
    (git-ignored); else ``~/.local/share/proximity``.
    """
    env = os.environ.get("PROXIMITY_DATA_DIR")
    if env:
        return Path(env).expanduser()
    root = _source_root()
    if root is not None:
        return root / "data" / "installed"
    return Path.home() / ".local" / "share" / "proximity"


def default_mirror() -> Path | None:
    """``$PROXIMITY_MIRROR`` if set, else ``../shared/data/raw`` beside a checkout, if it exists."""
    env = os.environ.get("PROXIMITY_MIRROR")
    if env:
        return Path(env).expanduser()
    root = _source_root()
    for base in ([root] if root else []) + [Path.cwd()]:
        cand = base.parent / "shared" / "data" / "raw"
        if cand.is_dir():
            return cand
    return None


@lru_cache(maxsize=8)
def load_manifest(territory: str = "herault") -> Manifest:
    """Read and validate a manifest shipped with the package.

    A manifest that names a national manifest (``national = "france"``) gets its files
    too, after its own, marked with ``home`` (their install folder); a key listed in both
    is taken from the local manifest.
    """
    pkg = resources.files("proximity") / "territories"
    toml_file = pkg / f"{territory}.toml"
    if not toml_file.is_file():
        known = sorted(p.name[:-5] for p in pkg.iterdir() if p.name.endswith(".toml"))
        raise ConfigError(f"territory {territory!r} is unknown; known territories: {', '.join(known)}")
    doc = tomllib.loads(toml_file.read_text(encoding="utf-8"))
    t = doc.get("territory", {})
    files = [
        DataFile(**{k: entry[k] for k in DataFile.__dataclass_fields__ if k in entry}) for entry in doc.get("files", [])
    ]
    filesets: dict[str, str] = {}
    for fs in doc.get("filesets", []):
        filesets[fs["key"]] = fs["prefix"]
        listing = pkg / fs["list"]
        rows = csv.DictReader(listing.read_text(encoding="utf-8").splitlines(), delimiter=";")
        files.extend(
            DataFile(
                key=fs["key"] + ":" + row["path"],
                path=fs["prefix"] + row["path"],
                sha256=row["sha256"],
                bytes=int(row["bytes"]),
                licence=fs["licence"],
                attribution=fs["attribution"],
                upstream=fs["upstream_base"] + row["path"],
                caveat=fs.get("caveat", ""),
                fileset=fs["key"],
            )
            for row in rows
        )
    national = str(t.get("national", ""))
    if national:
        if national == territory:
            raise ConfigError(f"manifest {territory!r} names itself as its national manifest; remove `national`")
        nat = load_manifest(national)
        own = {f.key for f in files}
        own_sets = set(filesets)
        for f in nat.files:
            if f.key in own or (f.fileset and f.fileset in own_sets):
                continue
            files.append(replace(f, home=f.home or nat.name))
        for k, v in nat.filesets.items():
            filesets.setdefault(k, v)
    return Manifest(
        name=t["name"],
        label=t["label"],
        departement=t["departement"],
        crs=t["crs"],
        bounds_wgs84=tuple(t["bounds_wgs84"]),
        files=tuple(files),
        filesets=filesets,
        national=national,
    )


def _candidates(f: DataFile, territory: str, target: str | os.PathLike | None) -> list[Path]:
    """Where an installed file may be, best first.

    With ``target`` only there. Otherwise its home folder (``data_dir()/france`` for a
    national file) then, for a national file, the territory's own folder (installs made
    before the national manifest existed kept every file there).
    """
    if target is not None:
        return [Path(target) / f.path]
    base = data_dir()
    if f.home:
        return [base / f.home / f.path, base / territory / f.path]
    return [base / territory / f.path]


def _dest(f: DataFile, territory: str, target: str | os.PathLike | None) -> Path:
    if target is not None:
        return Path(target) / f.path
    return data_dir() / (f.home or territory) / f.path


def sha256_file(p: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    return _sha256(p)


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: sha256 of the files read by this process, keyed by (path, size, mtime, inode): each
#: installed file is hashed once per process when first used, and again if it changes.
_READ_SHA256: dict[tuple[str, int, int, int], str] = {}


def _verified(p: Path, f: DataFile) -> str:
    """The sha256 of an installed file as it is now; a mismatch with the manifest is an error."""
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino)
    got = _READ_SHA256.get(key)
    if got is None:
        got = _READ_SHA256[key] = _sha256(p)
    if got != f.sha256:
        raise DataFileError(
            f"data file {f.path!r} ({f.key}) is corrupt or was edited: sha256 {got[:12]}… instead of "
            f"{f.sha256[:12]}… in the manifest; run `proximity data install` to replace it"
        )
    return got


def actual_sha256(key: str, territory: str = "herault", *, target: str | os.PathLike | None = None) -> str:
    """The sha256 of an installed file as read (verified against the manifest), for provenance.

    For a file set, the sha256 of its listing: one ``<path>:<sha256>`` line per member.

    Parameters
    ----------
    key : str
        A file's or a file set's key in the territory's manifest.
    territory : str
        Name of the territory manifest.
    target : path, optional
        The installation folder; default :func:`data_dir` ``/ territory``.

    Returns
    -------
    str
        Hex sha256 of the file (or of the file set's listing) as it is on disk now.

    Raises
    ------
    DataFileError
        The file is missing or differs from the manifest.
    """
    man = load_manifest(territory)
    p = path(key, territory, target=target)
    if key in man.filesets:
        base = p
        for _ in Path(man.filesets[key]).parts:  # the folder holding the members' paths
            base = base.parent
        h = hashlib.sha256()
        for f in man.files:
            if f.fileset == key:
                h.update(f"{f.path}:{_verified(base / f.path, f)}\n".encode())
        return h.hexdigest()
    return _verified(p, man.file(key))


def _write_atomic_bytes(target: Path, writer: Callable[[Path], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fetch(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as r, dest.open("wb") as f:  # noqa: S310
            shutil.copyfileobj(r, f)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DataFileError(
            f"could not download {url} ({exc}); without internet, install from a local mirror "
            "with `proximity data install --mirror DIR`"
        ) from exc


def install(
    territory: str = "herault",
    *,
    mirror: str | os.PathLike | None = None,
    target: str | os.PathLike | None = None,
    download: bool | None = None,
    progress: Callable[[Iterator], Iterator] | None = None,
) -> InstallReport:
    """Install a territory's input files, checking every sha256.

    Parameters
    ----------
    territory : str
        Name of a manifest in ``proximity/territories``.
    mirror : path, optional
        Local folder laid out like the manifest's paths. Default: :func:`default_mirror`.
    target : path, optional
        Where to install (every file, national ones included). Default: the territory's
        own files in ``data_dir() / territory``, the national files in
        ``data_dir() / "france"`` (shared by every territory).
    download : bool, optional
        Download missing files from upstream. Default: only when no mirror is available.
    progress : callable, optional
        Wraps the iteration over files (e.g. ``tqdm``).

    Returns
    -------
    InstallReport

    Raises
    ------
    DataFileError
        A file is missing from the mirror, cannot be downloaded or has the wrong sha256;
        the message names the file. Files already installed stay in place.
    """
    man = load_manifest(territory)
    mirror_path = Path(mirror) if mirror is not None else default_mirror()
    if mirror is not None and not Path(mirror).is_dir():
        raise DataFileError(f"mirror folder {str(mirror)!r} does not exist; pass an existing folder to --mirror")
    if download is None:
        download = mirror_path is None
    dest = Path(target) if target is not None else data_dir() / territory
    dest.mkdir(parents=True, exist_ok=True)
    report = InstallReport(territory=territory, target=dest)
    files: Iterator[DataFile] = iter(man.files)
    if progress is not None:
        files = progress(files)
    for f in files:
        done = next(
            (
                c
                for c in _candidates(f, territory, target)
                if c.is_file() and c.stat().st_size == f.bytes and _sha256(c) == f.sha256
            ),
            None,
        )
        if done is not None:
            report.unchanged += 1
            continue
        out = _dest(f, territory, target)
        src = mirror_path / f.path if mirror_path is not None else None
        if src is not None and src.is_file():
            how = "copied"
            _write_atomic_bytes(out, partial(_copy_checked, src=src, f=f))
        elif download:
            how = "downloaded"
            _write_atomic_bytes(out, partial(_download_checked, f=f))
        else:
            where = f"mirror {str(mirror_path)!r}" if mirror_path else "no mirror folder"
            raise DataFileError(
                f"data file {f.path!r} is missing ({where}); put it in the mirror, pass --mirror DIR, "
                f"or run `proximity data install --download` with internet (upstream: {f.upstream})"
            )
        setattr(report, how, getattr(report, how) + 1)
    return report


def _copy_checked(tmp: Path, *, src: Path, f: DataFile) -> None:
    shutil.copyfile(src, tmp)
    _check(tmp, f, str(src))


def _download_checked(tmp: Path, *, f: DataFile) -> None:
    _fetch(f.upstream, tmp)
    _check(tmp, f, f.upstream)


def _check(p: Path, f: DataFile, origin: str) -> None:
    got = _sha256(p)
    if got != f.sha256:
        raise DataFileError(
            f"data file {f.path!r} from {origin} is corrupt or a different version: sha256 {got[:12]}… "
            f"instead of {f.sha256[:12]}…; replace it with the file named in the manifest (upstream: {f.upstream})"
        )


def verify(territory: str = "herault", *, target: str | os.PathLike | None = None) -> int:
    """Re-hash every installed file of a territory; return the number checked.

    Raises
    ------
    DataFileError
        A file is missing or its sha256 differs; the message names it.
    """
    man = load_manifest(territory)
    dest = Path(target) if target is not None else data_dir() / territory
    missing: list[str] = []
    corrupt: list[str] = []
    for f in man.files:
        p = next((c for c in _candidates(f, territory, target) if c.is_file()), None)
        if p is None:
            missing.append(f.path)
        elif p.stat().st_size != f.bytes or _sha256(p) != f.sha256:
            corrupt.append(f.path)
    if corrupt or missing:
        parts = []
        if corrupt:
            parts.append(f"{len(corrupt)} corrupt (wrong sha256): {', '.join(corrupt[:5])}")
        if missing:
            parts.append(f"{len(missing)} missing: {', '.join(missing[:5])}")
        raise DataFileError(f"installed data in {dest} is not valid: {'; '.join(parts)}; run `proximity data install`")
    return len(man.files)


def path(key: str, territory: str = "herault", *, target: str | os.PathLike | None = None) -> Path:
    """Path of an installed input file (or of a file set's folder) by manifest key.

    The file (every file of a set) is checked against the manifest's sha256 when first
    used by the process and again whenever it changes (size, modification time or inode),
    so a file edited in place is never used silently.

    Parameters
    ----------
    key : str
        A file's or a file set's key in the territory's manifest
        (``proximity/territories/<territory>.toml``).
    territory : str
        Name of the territory manifest.
    target : path, optional
        The installation folder; default :func:`data_dir` ``/ territory``.

    Returns
    -------
    pathlib.Path
        The installed file, or the file set's folder.

    Raises
    ------
    DataFileError
        The file is not installed, or its size or sha256 differs from the manifest (corrupt).
    """
    man = load_manifest(territory)
    dest = Path(target) if target is not None else data_dir() / territory
    if key in man.filesets:
        members = [f for f in man.files if f.fileset == key]
        home = members[0].home if members else ""
        for base in [dest] if target is not None else [data_dir() / (home or territory), dest]:
            if all((base / f.path).is_file() for f in members):
                for f in members:
                    _verified(base / f.path, f)
                return base / man.filesets[key]
        missing = [f.path for f in members if not (data_dir() / (home or territory) / f.path).is_file()]
        raise DataFileError(
            f"{len(missing)} file(s) of {key!r} are not installed (first: {missing[0]!r}); "
            f"run `proximity data install` with --territory {home or territory}"
        )
    f = man.file(key)
    p = next((c for c in _candidates(f, territory, target) if c.is_file()), None)
    if p is None:
        where = _dest(f, territory, target).parent
        raise DataFileError(
            f"data file {f.path!r} ({key}) is not installed in {where}; "
            f"run `proximity data install` with --territory {f.home or territory}"
        )
    if p.stat().st_size != f.bytes:
        raise DataFileError(
            f"data file {f.path!r} ({key}) has {p.stat().st_size} bytes instead of {f.bytes}: corrupt; "
            "run `proximity data install` to replace it"
        )
    _verified(p, f)
    return p


def attributions(territory: str = "herault", keys: list[str] | None = None) -> list[str]:
    """Distinct attribution lines of a territory's sources (all, or those of ``keys``)."""
    man = load_manifest(territory)
    out: list[str] = []
    for s in man.sources():
        if keys is not None and s["key"] not in keys:
            continue
        line = f"{s['attribution']} ({s['licence']})"
        if line not in out:
            out.append(line)
    return out
