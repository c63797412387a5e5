"""Safe output writing: a file appears whole or not at all, a folder holds one complete run.

- :func:`atomic_path` / ``write_*``: one file, written beside its target and renamed;
- :func:`staged_output`: a whole run's outputs, written into a temporary folder beside
  ``--out`` and moved in only when every stage succeeded (stale temporary folders of
  killed runs are removed, or finished when they were already complete);
- :func:`write_csv` neutralises spreadsheet formulas (OWASP "CSV injection") in every
  text cell; :func:`write_json` writes strict JSON (``null``, never ``NaN``);
- :func:`check_sidecar`: whether an ``.npz`` cache may be read back, by its JSON sidecar
  (the cache key and the file's sha256 recorded when it was written).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .datasets import sha256_file
from .errors import InputError

__all__ = [
    "atomic_path",
    "for_file",
    "write_csv",
    "write_gpkg",
    "write_json",
    "write_layer",
    "check_layer_format",
    "LAYER_FORMATS",
    "check_out_dir",
    "check_out_path",
    "staged_output",
    "clean_stale",
    "neutralise_formulas",
    "strict_json",
    "check_sidecar",
    "StaleCache",
]

#: File formats of :func:`write_layer`, by file extension.
LAYER_FORMATS = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".csv": "CSV (lon/lat of a representative point)",
}


class StaleCache(Exception):  # control flow between cache modules: callers warn, never raise it
    """A cache file its sidecar does not vouch for; the message says why (see :func:`check_sidecar`)."""


def check_sidecar(npz: Path, sidecar: Path, key: str, *, inputs: str) -> dict:
    """The JSON sidecar of the cache file ``npz``, when its ``key`` and ``npz_sha256`` match.

    Parameters
    ----------
    npz : Path
        The cache file.
    sidecar : Path
        Its JSON sidecar, written with it: ``{"key": ..., "npz_sha256": ..., ...}``.
    key : str
        The cache key expected from the current inputs, parameters and package version.
    inputs : str
        What the key is built from besides parameters and package version (``"input
        files"``, ``"archives"``), for the stale message.

    Returns
    -------
    dict
        The sidecar.

    Raises
    ------
    StaleCache
        With the reason, worded to follow "<what> cache <path>": a missing or unreadable
        sidecar, another key, or a file that cannot be read or whose sha256 differs. The
        callers turn it into a :class:`~proximity.errors.CacheWarning` and rebuild.
    """
    try:
        side = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StaleCache(f"has a missing or unreadable sidecar {sidecar.name} ({type(exc).__name__})") from exc
    if not isinstance(side, dict):
        raise StaleCache(f"has an unreadable sidecar {sidecar.name} (not a JSON object)")
    if side.get("key") != key:
        raise StaleCache(f"is stale (built from other {inputs}, parameters or package version)")
    try:
        digest = sha256_file(npz)
    except OSError as exc:
        raise StaleCache(f"cannot be read ({exc})") from exc
    if digest != side.get("npz_sha256"):
        raise StaleCache("is corrupt (its sha256 differs from the one recorded when it was written)")
    return side


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success only."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".part" + target.suffix, dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def for_file(gdf: pd.DataFrame) -> pd.DataFrame:
    """A copy whose columns GDAL can write: list, tuple and set cells joined with ``"; "``."""
    out = gdf.copy()
    geom = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for c in out.columns:
        if c != geom and out[c].dtype == object and out[c].map(lambda v: isinstance(v, (list, tuple, dict, set))).any():
            out[c] = out[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return out


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutral(v):
    if isinstance(v, str):
        formula = v.startswith(FORMULA_START)
        if "\r" in v:  # a bare CR is a line end for CSV readers but is not quoted by the writer
            v = v.replace("\r\n", "\n").replace("\r", "\n")
        return "'" + v if formula else v
    return v


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table whose text cells (and labels) cannot run as spreadsheet formulas.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
    prefixed with a single quote, as OWASP recommends; numbers are left alone. A carriage
    return inside a cell becomes a line feed (which the CSV writer quotes).
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or isinstance(col.dtype, (pd.StringDtype, pd.CategoricalDtype)):
            out[c] = col.astype(object).map(_neutral)
    out.columns = [_neutral(c) if isinstance(c, str) else c for c in out.columns]
    if out.index.dtype == object or isinstance(out.index.dtype, pd.StringDtype):
        out.index = pd.Index([_neutral(v) for v in out.index], name=_neutral(out.index.name))
    return out


def write_csv(df: pd.DataFrame, target: str | os.PathLike, **kw) -> Path:
    """Write a table as UTF-8 CSV atomically (geometry dropped), formulas neutralised."""
    if isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    df = neutralise_formulas(df)
    with atomic_path(target) as tmp:
        df.to_csv(tmp, lineterminator="\n", **kw)
    return Path(target)


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], target: str | os.PathLike) -> Path:
    """Write one or several layers into one GeoPackage atomically."""
    with atomic_path(target) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return Path(target)


def strict_json(obj):
    """``obj`` with every non-finite float (NaN, inf) and missing value as ``None``, numpy scalars as Python ones."""
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist())
    return obj


def write_json(obj, target: str | os.PathLike) -> Path:
    """Write strict JSON atomically: NaN and infinities become ``null`` (RFC 8259 has neither)."""
    text = json.dumps(strict_json(obj), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    with atomic_path(target) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(target)


def check_layer_format(target: str | os.PathLike) -> str:
    """The lower-case extension of ``target`` if :func:`write_layer` can write it, else :class:`InputError`."""
    suffix = Path(target).suffix.lower()
    if suffix not in LAYER_FORMATS:
        raise InputError(f"output file {str(target)!r}: unsupported extension {suffix!r}; use .gpkg, .geojson or .csv")
    return suffix


def write_layer(gdf: gpd.GeoDataFrame, target: str | os.PathLike, *, name: str = "layer") -> Path:
    """Write one layer atomically in the format its file extension names (:data:`LAYER_FORMATS`).

    ``.gpkg``: a GeoPackage layer called ``name``; ``.geojson``/``.json``: GeoJSON; ``.csv``:
    the attributes with ``lon``/``lat`` of a representative point of each geometry.

    Raises
    ------
    InputError
        The extension is not one of :data:`LAYER_FORMATS`.
    """
    suffix = check_layer_format(target)
    if suffix == ".gpkg":
        return write_gpkg({name: gdf}, target)
    if suffix == ".csv":
        pts = gdf.geometry.representative_point()
        return write_csv(gdf.assign(lon=pts.x, lat=pts.y), target, index=False)
    with atomic_path(target) as tmp:
        gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio")
    return Path(target)


def check_out_path(out: str | os.PathLike, *, option: str = "--out", folder: bool = True) -> Path:
    """Check an output path without writing anything: not empty, not a file, not under a file.

    Raises
    ------
    InputError
        The path is empty, is a file (when a folder is wanted) or a folder (when a file is
        wanted), or one of its parents is a file.
    """
    if str(out).strip() == "":
        raise InputError(f"{option} is empty; give a {'folder' if folder else 'file'} path (e.g. {option} out)")
    p = Path(out)
    if folder and p.exists() and not p.is_dir():
        raise InputError(f"{option} {str(p)!r} is a file; pass a folder")
    if not folder and p.is_dir():
        raise InputError(f"{option} {str(p)!r} is a folder; pass a file path")
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(
                    f"{option} {str(p)!r} lies under {str(parent)!r}, which is a file; choose another path"
                )
            break
    return p


def check_out_dir(out: str | os.PathLike, *, option: str = "--out") -> Path:
    """Create an output folder, or fail clearly when it is a file or not writable."""
    p = check_out_path(out, option=option)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{option}: cannot create output folder {str(p)!r} ({exc.strerror}); choose a writable folder"
        ) from exc
    if not os.access(p, os.W_OK):
        raise InputError(f"{option}: output folder {str(p)!r} is not writable; choose a writable folder")
    return p


# ---------------------------------------------------------------- staged runs
_STAGE = ".proximity-stage-"  # <parent>/.<name>.proximity-stage-<pid>-<random>: being written
_COMMIT = ".proximity-commit-"  # <parent>/.<name>.proximity-commit-<pid>-<random>: complete, being moved in
_MANIFEST = ".proximity-run-{command}.json"  # in the output folder: the files of its last run


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_of(name: str, marker: str) -> int | None:
    try:
        return int(name.split(marker, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _move_in(commit: Path, out: Path) -> None:
    """Move a complete staged run into ``out`` (idempotent: a killed move is finished by a rerun)."""
    info = json.loads((commit / ".proximity-commit.json").read_text(encoding="utf-8"))
    files, command = info["files"], info["command"]
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / _MANIFEST.format(command=command)
    old: list[str] = []
    if manifest.is_file():
        try:
            old = list(json.loads(manifest.read_text(encoding="utf-8")).get("files", []))
        except (OSError, ValueError, AttributeError):
            old = []
    for rel in files:
        src = commit / rel
        if src.exists() or src.is_symlink():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, out / rel)
    for rel in set(old) - set(files):  # files of the previous run that this one does not write
        p = out / rel
        if p.is_file() and out.resolve() in p.resolve().parents:
            p.unlink()
    tmp = manifest.with_name(manifest.name + ".part")
    tmp.write_text(json.dumps({"command": command, "date": info["date"], "files": files}, indent=1), encoding="utf-8")
    os.replace(tmp, manifest)
    shutil.rmtree(commit, ignore_errors=True)


def clean_stale(out: str | os.PathLike) -> list[Path]:
    """Remove what killed runs left beside (and in) an output folder; finish complete moves.

    A staging folder of a dead process is deleted; a complete run that was being moved in
    when its process died is moved in (so the folder holds that run, whole); hidden
    ``.*.part*`` files of killed atomic writes inside the folder are deleted.

    Returns
    -------
    list of Path
        What was removed or finished.
    """
    out = Path(os.path.abspath(out))  # "." and ".." resolved: the folder has a name and a parent
    parent = out.parent
    done: list[Path] = []
    if not parent.is_dir():
        return done
    prefix = "." + out.name
    for p in sorted(parent.iterdir()):
        if not p.name.startswith(prefix):
            continue
        for marker in (_COMMIT, _STAGE):
            if p.name.startswith(prefix + marker):
                pid = _pid_of(p.name, marker)
                if pid is not None and _alive(pid):
                    break
                if marker == _COMMIT and (p / ".proximity-commit.json").is_file():
                    _move_in(p, out)
                else:
                    shutil.rmtree(p, ignore_errors=True)
                done.append(p)
                break
    if out.is_dir():
        for p in out.rglob(".*.part*"):
            if p.is_file():
                p.unlink(missing_ok=True)
                done.append(p)
    return done


@contextmanager
def staged_output(out: str | os.PathLike, *, command: str, option: str = "--out") -> Iterator[Path]:
    """Write a run into a temporary folder beside ``out``; move it in only if all succeeded.

    Yields the staging folder (write every output of the run there). On success its
    files replace those of ``out`` (created if needed); files of the previous run of the
    same ``command`` that this run does not write are removed, other files are left
    alone. On any exception (including Ctrl-C) the staging folder is deleted and ``out``
    is untouched; after a SIGKILL, the next run beside ``out`` removes it
    (:func:`clean_stale`). A staged run that was complete when killed in the middle of
    the final move is finished by that next run.

    Raises
    ------
    InputError
        ``out`` is empty, a file, under a file, or its parent folder is not writable.
    """
    out = Path(os.path.abspath(check_out_path(out, option=option)))
    parent = out.parent
    created = [d for d in reversed([parent, *parent.parents]) if not d.exists()]  # removed again on failure
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clean_stale(out)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{_STAGE}{os.getpid()}-", dir=parent))
    except OSError as exc:
        for d in reversed(created):
            try:
                d.rmdir()
            except OSError:
                break
        raise InputError(
            f"{option}: cannot write beside {str(out)!r} ({exc.strerror or exc}); choose a writable folder"
        ) from exc
    committed = False
    try:
        yield stage
        files = _files_under(stage)
        info = {"command": command, "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "files": files}
        (stage / ".proximity-commit.json").write_text(json.dumps(info), encoding="utf-8")
        commit = stage.with_name(stage.name.replace(_STAGE, _COMMIT, 1))
        os.replace(stage, commit)
        committed = True
        if not out.exists():
            # the whole run appears at once: the commit folder becomes the output folder
            os.replace(commit, out)
            (out / ".proximity-commit.json").unlink()
            (out / _MANIFEST.format(command=command)).write_text(json.dumps(info, indent=1), encoding="utf-8")
        else:
            _move_in(commit, out)
    finally:
        if not committed:
            shutil.rmtree(stage, ignore_errors=True)
            for d in reversed(created):
                try:
                    d.rmdir()
                except OSError:
                    break
