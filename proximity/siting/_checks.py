"""Argument checks shared by the siting modules (numbers, CRSs, identifiers)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from ..errors import CRSError, InputError

WGS84 = "EPSG:4326"


_OD_COLUMNS = ("origin_id", "destination_id", "minutes")


def _show(x: Any) -> str:
    return repr(x.item() if isinstance(x, np.generic) else x)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _finite(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False, fix: str = "") -> float:
    """A finite real >= (or >) ``minimum``, as float; bools and NaN are refused."""
    if _is_number(value) and math.isfinite(float(value)):
        v = float(value)
        if v > minimum or (not strict and v == minimum):
            return v
    bound = f"{'>' if strict else '>='} {minimum:g}"
    raise InputError(f"{name} must be a finite number {bound}, got {_show(value)}" + (f"; {fix}" if fix else ""))


def _positive_int(name: str, value: Any, fix: str = "") -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1:
        return int(value)
    raise InputError(f"{name} must be an integer >= 1, got {_show(value)}" + (f"; {fix}" if fix else ""))


def _projected(crs: Any) -> pyproj.CRS:
    try:
        c = pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        raise CRSError(f"crs {crs!r} is not a CRS pyproj knows ({exc}); pass e.g. 'EPSG:2154'") from exc
    if not c.is_projected:
        raise CRSError(
            f"crs must be a projected CRS in metres (grid spacing and representative points are "
            f"computed in it), got {c.to_string()}; pass e.g. 'EPSG:2154' (Lambert-93) for France"
        )
    return c


def _ids_of(values: Any, name: str) -> pd.Index:
    """An index of unique identifiers from a list, an Index or the index of a (Geo)DataFrame/Series."""
    if isinstance(values, (pd.DataFrame, pd.Series)):
        index = values.index
    elif isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InputError(
            f"{name} must be an iterable of identifiers (or a GeoDataFrame whose index holds them), "
            f"got {type(values).__name__}"
        )
    else:
        index = values if isinstance(values, pd.Index) else pd.Index(list(values))
    if index.has_duplicates:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise InputError(f"{name} has repeated identifiers {dup}: pass each identifier once")
    if index.hasnans:
        raise InputError(f"{name} has missing identifiers: give every candidate or demand point an id")
    return index
