"""Atomic output writing: a file appears whole or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .errors import InputError

__all__ = ["atomic_path", "for_file", "write_csv", "write_gpkg", "write_json", "write_layer", "check_layer_format", "LAYER_FORMATS", "check_out_dir"]

#: File formats of :func:`write_layer`, by file extension.
LAYER_FORMATS = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV (lon/lat of a representative point)"}


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
        if c != geom and out[c].dtype == object:
            if out[c].map(lambda v: isinstance(v, (list, tuple, dict, set))).any():
                out[c] = out[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return out


def write_csv(df: pd.DataFrame, target: str | os.PathLike, **kw) -> Path:
    """Write a table as UTF-8 CSV atomically (geometry dropped, written as WKT-free lon/lat if points)."""
    if isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    with atomic_path(target) as tmp:
        df.to_csv(tmp, lineterminator="\n", **kw)
    return Path(target)


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], target: str | os.PathLike) -> Path:
    """Write one or several layers into one GeoPackage atomically."""
    with atomic_path(target) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return Path(target)


def write_json(obj, target: str | os.PathLike) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
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


def check_out_dir(out: str | os.PathLike) -> Path:
    """Create an output folder, or fail clearly when it is a file or not writable."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise InputError(f"output path {str(p)!r} is a file; pass a folder to --out")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {str(p)!r} ({exc.strerror}); choose a writable folder") from exc
    if not os.access(p, os.W_OK):
        raise InputError(f"output folder {str(p)!r} is not writable; choose a writable folder")
    return p
