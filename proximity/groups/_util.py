"""Small helpers of the export-group modules: message formatting, number checks, tolerance."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InputError

_TOL = 1e-9


def _show(values: Iterable[Any], k: int = 5) -> str:
    vals = list(values)
    s = ", ".join(repr(v) for v in vals[:k])
    return s + (", ..." if len(vals) > k else "")


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False) -> None:
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not ok or not math.isfinite(float(value)) or value < minimum:
        kind = "an integer" if integer else "a finite number"
        raise InputError(f"{name} must be {kind} >= {minimum:g}, got {value!r}")
